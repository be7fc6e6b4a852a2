/* shmchunk ls [--json]: the shmchunk segments in shared memory. Entries are
 * collected and sorted by name so that the output is stable. */
#include "cli.h"

#include <getopt.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

enum { OPT_JSON = 256 };

typedef struct ls_entry {
    char *name;
    shmc_shm_entry e;
} ls_entry;

typedef struct ls_list {
    ls_entry *v;
    size_t n, cap;
    int oom;
} ls_list;

static int collect(void *user, const shmc_shm_entry *entry)
{
    ls_list *l = user;
    if (l->n == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 16;
        ls_entry *grown = realloc(l->v, cap * sizeof *grown);
        if (!grown) return l->oom = 1;
        l->v = grown;
        l->cap = cap;
    }
    char *name = strdup(entry->name ? entry->name : "");
    if (!name) return l->oom = 1;
    l->v[l->n].name = name;
    l->v[l->n].e = *entry;
    l->v[l->n].e.name = name;
    l->n++;
    return 0;
}

static int by_name(const void *a, const void *b)
{
    return strcmp(((const ls_entry *)a)->name, ((const ls_entry *)b)->name);
}

static const char *state_text(const shmc_shm_entry *e)
{
    return e->sealed ? shmc_owner_state_name(e->owner_state) : "unsealed";
}

static void print_text(const ls_list *l)
{
    if (l->n == 0) {
        if (cli_verbosity >= 0) fprintf(stderr, "no shmchunk segments in shared memory\n");
        return;
    }
    int width = 4; /* "NAME" */
    for (size_t i = 0; i < l->n; i++) {
        size_t w = 4 + strlen(cli_safe(l->v[i].name, strlen(l->v[i].name)));
        if (w > (size_t)width) width = w > 300 ? 300 : (int)w;
    }
    if (cli_verbosity >= 0)
        printf("%-*s  %12s  %6s  %8s  %s\n", width, "NAME", "SIZE", "UID", "PID", "STATE");
    for (size_t i = 0; i < l->n; i++) {
        const shmc_shm_entry *e = &l->v[i].e;
        char pid[24], name[1100];
        if (e->owner_pid) snprintf(pid, sizeof pid, "%" PRId64, e->owner_pid);
        else snprintf(pid, sizeof pid, "-");
        snprintf(name, sizeof name, "shm:%s", cli_safe(e->name, strlen(e->name)));
        printf("%-*s  %12" PRIu64 "  %6" PRIu32 "  %8s  %s\n", width, name, e->size, e->uid, pid,
               state_text(e));
    }
}

static void print_json(const ls_list *l)
{
    cli_json j;
    cli_json_init(&j, stdout);
    cli_json_begin_array(&j);
    for (size_t i = 0; i < l->n; i++) {
        const shmc_shm_entry *e = &l->v[i].e;
        cli_json_begin_object(&j);
        char name[1100];
        snprintf(name, sizeof name, "shm:%s", e->name); /* as every verb takes it */
        cli_json_field_cstr(&j, "name", name);
        cli_json_field_u64(&j, "size", e->size);
        cli_json_field_u64(&j, "uid", e->uid);
        cli_json_key(&j, "owner_pid");
        if (e->owner_pid) cli_json_i64(&j, e->owner_pid);
        else cli_json_null(&j);
        cli_json_field_cstr(&j, "state", shmc_owner_state_name(e->owner_state));
        cli_json_field_bool(&j, "sealed", e->sealed);
        cli_json_end_object(&j);
    }
    cli_json_end_array(&j);
    cli_json_finish(&j);
}

int cmd_ls(int argc, char **argv)
{
    static const struct option longopts[] = {{"json", no_argument, NULL, OPT_JSON},
                                             {"help", no_argument, NULL, 'h'},
                                             {"quiet", no_argument, NULL, 'q'},
                                             {"verbose", no_argument, NULL, 'v'},
                                             {NULL, 0, NULL, 0}};
    const cli_parse p = {"ls", "", longopts};
    const char *arg;
    int done = -1, c, json = 0;
    while ((c = cli_next_opt(&p, argc, argv, &arg, &done)) != -1)
        if (c == OPT_JSON) json = 1;
    if (done >= 0) return done;
    if (argc - optind != 0) return cli_usage("ls", "takes no arguments");
    ls_list l = {0};
    int st = shmc_shm_list(collect, &l);
    int rc = CLI_OK;
    if (l.oom) rc = cli_fail("ls", NULL, "out of memory");
    else if (st != SHMC_OK) rc = cli_fail("ls", "/dev/shm", "%s", shmc_strerror(st));
    else {
        if (l.n > 1) qsort(l.v, l.n, sizeof *l.v, by_name); /* qsort(NULL, 0) is UB */
        if (json) print_json(&l);
        else print_text(&l);
    }
    for (size_t i = 0; i < l.n; i++) free(l.v[i].name);
    free(l.v);
    return rc;
}
