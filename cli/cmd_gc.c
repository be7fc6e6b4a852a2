/* shmchunk gc: remove this user's orphaned segments (owner process dead). */
#include "cli.h"

#include <getopt.h>
#include <inttypes.h>
#include <string.h>

static int report_removed(void *user, const shmc_shm_entry *e)
{
    (void)user;
    if (cli_verbosity < 0) return 0;
    char size[32];
    printf("removed shm:%s (%s, owner pid %" PRId64 " is gone)\n",
           cli_safe(e->name, strlen(e->name)), cli_human_size(e->size, size, sizeof size),
           e->owner_pid);
    return 0;
}

int cmd_gc(int argc, char **argv)
{
    static const struct option longopts[] = {{"help", no_argument, NULL, 'h'},
                                             {"quiet", no_argument, NULL, 'q'},
                                             {"verbose", no_argument, NULL, 'v'},
                                             {NULL, 0, NULL, 0}};
    const cli_parse p = {"gc", "", longopts};
    const char *arg;
    int done = -1;
    while (cli_next_opt(&p, argc, argv, &arg, &done) != -1) {}
    if (done >= 0) return done;
    if (argc - optind != 0) return cli_usage("gc", "takes no arguments");
    uint32_t removed = 0;
    int st = shmc_shm_gc(report_removed, NULL, &removed);
    if (cli_verbosity >= 0)
        printf("gc: removed %" PRIu32 " orphaned segment%s\n", removed, removed == 1 ? "" : "s");
    if (st != SHMC_OK) return cli_fail("gc", NULL, "%s", shmc_strerror(st));
    return CLI_OK;
}
