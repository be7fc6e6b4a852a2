/* shmchunk CLI entry point: global options, verb dispatch, usage text, diagnostics
 * and the option-parsing helpers every verb uses. */
#include "cli.h"

#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

int cli_verbosity = 0;

typedef struct cli_verb {
    const char *name;
    int (*run)(int argc, char **argv);
    const char *synopsis;
    const char *help;
} cli_verb;

static const cli_verb verbs[] = {
    {"pack", cmd_pack,
     "pack INPUT.pkl DEST [--zstd[=LEVEL]] [--shuffle|--no-shuffle] [--rows-per-chunk N]\n"
     "              [--threads N] [--name-only]",
     "Write the DataFrame pickled in INPUT.pkl (DataFrame.to_pickle(); '-' = stdin) into a\n"
     "new persistent segment DEST: 'shm:NAME' (shared memory; 'shm:' alone picks a random\n"
     "name) or a file path. DEST must not exist.\n"
     "  --zstd[=LEVEL]       compress chunks with zstd (default level 1; shuffle on)\n"
     "  --shuffle            byte-shuffle fixed-width chunks before compressing\n"
     "  --no-shuffle         do not shuffle\n"
     "  --rows-per-chunk N   rows per row group (default 1048576)\n"
     "  --threads N          compression threads (default: all cores)\n"
     "  --name-only          print only the name of the created segment\n"},
    {"unpack", cmd_unpack,
     "unpack SRC OUTPUT.pkl [--columns A,B] [--chunks 0,3,7] [--rows START:STOP]\n"
     "              [--allow-pickle]",
     "Write the segment SRC (or a part of it) as a pickle that pandas.read_pickle() loads.\n"
     "OUTPUT '-' = stdout. The file is written under a temporary name, then renamed.\n"
     "  --columns A,B        only these columns (labels; int labels by their decimal text;\n"
     "                       '\\,' is a comma inside a label, '\\\\' a backslash)\n"
     "  --chunks 0,3,7       only these chunks: their columns x their row groups\n"
     "  --rows START:STOP    only rows [START, STOP) (either bound may be omitted)\n"
     "  --allow-pickle       include opaque object columns (loading them runs code)\n"},
    {"info", cmd_info, "info SRC [--json]",
     "Describe a segment: rows, row groups, columns (kind, dtype, unit, tz, nulls),\n"
     "sizes and compression ratios, owner, creator uid, creation time, identity.\n"
     "With -v also every chunk. --json prints the same as JSON (see shmchunk(1)).\n"},
    {"verify", cmd_verify, "verify SRC",
     "Check the header, the index and every chunk's checksum, and that every chunk\n"
     "decodes. Prints 'ok: N chunks verified', or one line per bad chunk and exits 1.\n"},
    {"ls", cmd_ls, "ls [--json]",
     "List shmchunk segments in shared memory: name, size, uid, owner pid, state\n"
     "(persistent, alive or orphaned) and whether the segment is sealed.\n"},
    {"rm", cmd_rm, "rm [--force] NAME...",
     "Remove segments: 'shm:NAME' in shared memory, or a segment file path.\n"
     "A segment whose owner process is alive is refused unless --force is given.\n"
     "  -f, --force     remove it even though its owner is alive\n"},
    {"gc", cmd_gc, "gc",
     "Remove this user's owned segments whose owner process has died (orphans).\n"
     "Persistent segments (made by 'pack') and other users' segments are never touched.\n"},
};
#define NVERBS (sizeof verbs / sizeof verbs[0])

static const cli_verb *verb_find(const char *name)
{
    for (size_t i = 0; i < NVERBS; i++)
        if (strcmp(verbs[i].name, name) == 0) return &verbs[i];
    return NULL;
}

void cli_print_usage(FILE *f, const char *verb)
{
    const cli_verb *v = verb ? verb_find(verb) : NULL;
    if (v) {
        fprintf(f, "usage: shmchunk [-q|-v] %s\n\n%s", v->synopsis, v->help);
        return;
    }
    fprintf(f, "usage: shmchunk [-q|-v] [--help] [--version] VERB [ARGS]\n\n"
               "Share one pandas DataFrame read-only through one shared-memory segment.\n\n");
    for (size_t i = 0; i < NVERBS; i++) fprintf(f, "  shmchunk %s\n", verbs[i].synopsis);
    fprintf(f, "\nSRC/DEST: 'shm:NAME' for shared memory, anything else is a file path; a bare\n"
               "NAME as SRC is whichever of shm:NAME and ./NAME exists (both: an error).\n"
               "  -q, --quiet     print only what was asked for (and errors)\n"
               "  -v, --verbose   more detail\n"
               "Exit status: 0 ok, 1 bad input or corrupt data, 2 usage error.\n"
               "'shmchunk VERB --help' describes a verb; see also shmchunk(1).\n");
}

static int vreport(const char *verb, const char *file, const char *fmt, va_list ap)
{
    char detail[1024];
    vsnprintf(detail, sizeof detail, fmt, ap);
    fputs("shmchunk: ", stderr);
    if (verb) fprintf(stderr, "%s: ", verb);
    if (file) {
        cli_put_safe(stderr, file, strlen(file));
        fputs(": ", stderr);
    }
    /* Library messages often start with the file name already: say it once. */
    const char *d = detail;
    size_t flen = file ? strlen(file) : 0;
    if (file && strncmp(d, file, flen) == 0 && d[flen] == ':' && d[flen + 1] == ' ') d += flen + 2;
    cli_put_safe(stderr, d, strlen(d));
    fputc('\n', stderr);
    return CLI_FAIL;
}

int cli_fail(const char *verb, const char *file, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vreport(verb, file, fmt, ap);
    va_end(ap);
    return CLI_FAIL;
}

int cli_usage(const char *verb, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vreport(verb, NULL, fmt, ap);
    va_end(ap);
    fprintf(stderr, "Try 'shmchunk %s%s--help'.\n", verb ? verb : "", verb ? " " : "");
    return CLI_USAGE;
}

const char *cli_detail(const char *errmsg, int status)
{
    return (errmsg && *errmsg) ? errmsg : shmc_strerror(status);
}

void cli_reset_opts(void)
{
    optind = 0; /* glibc: 0 re-initialises getopt completely (permutation state) */
    opterr = 0; /* we print our own messages */
}

/* Spelling of the option getopt just stopped at, for error messages. */
static const char *bad_option(char **argv, int argc)
{
    static char shortbuf[3];
    const char *a = (optind >= 1 && optind <= argc) ? argv[optind - 1] : NULL;
    if (optopt && (!a || strncmp(a, "--", 2) != 0)) {
        shortbuf[0] = '-';
        shortbuf[1] = (char)optopt;
        shortbuf[2] = '\0';
        return shortbuf;
    }
    return a ? a : "?";
}

int cli_next_opt(const cli_parse *p, int argc, char **argv, const char **arg, int *done)
{
    char shortopts[64];
    snprintf(shortopts, sizeof shortopts, ":hqv%s", p->shortopts ? p->shortopts : "");
    for (;;) {
        int c = getopt_long(argc, argv, shortopts, p->longopts, NULL);
        *arg = optarg;
        switch (c) {
        case 'h':
            cli_print_usage(stdout, p->verb);
            *done = CLI_OK;
            return -1;
        case 'q': cli_verbosity = -1; continue;
        case 'v': cli_verbosity++; continue;
        case '?': {
            const char *a = bad_option(argv, argc);
            /* getopt reports a known long option given "=value" by setting optopt. */
            if (optopt && strncmp(a, "--", 2) == 0)
                *done =
                    cli_usage(p->verb, "option '%.*s' takes no argument", (int)strcspn(a, "="), a);
            else *done = cli_usage(p->verb, "unknown option '%s'", a);
            return -1;
        }
        case ':':
            *done = cli_usage(p->verb, "option '%s' needs an argument", bad_option(argv, argc));
            return -1;
        default: return c;
        }
    }
}

int cli_parse_u64(const char *s, uint64_t *out)
{
    if (!s || *s < '0' || *s > '9') return -1;
    errno = 0;
    char *end = NULL;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno || *end) return -1;
    *out = (uint64_t)v;
    return 0;
}

int cli_parse_int(const char *s, long lo, long hi, long *out)
{
    if (!s || !*s) return -1;
    errno = 0;
    char *end = NULL;
    long v = strtol(s, &end, 10);
    if (errno || *end || v < lo || v > hi) return -1;
    *out = v;
    return 0;
}

static int print_version(void)
{
    printf("shmchunk %s (libshmchunk %s, segment format %d)\n", SHMC_VERSION_STRING, shmc_version(),
           SHMC_FORMAT_VERSION);
    return CLI_OK;
}

/* Global options come before the verb; -q/-v are also accepted after it. */
int main(int argc, char **argv)
{
    int i = 1;
    for (; i < argc && argv[i][0] == '-' && argv[i][1]; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            cli_print_usage(stdout, NULL);
            return CLI_OK;
        }
        if (!strcmp(a, "-V") || !strcmp(a, "--version")) return print_version();
        if (!strcmp(a, "-q") || !strcmp(a, "--quiet")) cli_verbosity = -1;
        else if (!strcmp(a, "-v") || !strcmp(a, "--verbose")) cli_verbosity++;
        else if (!strcmp(a, "--")) {
            i++;
            break;
        } else return cli_usage(NULL, "unknown option '%s'", a);
    }
    if (i >= argc) {
        cli_print_usage(stderr, NULL);
        return CLI_USAGE;
    }
    if (!strcmp(argv[i], "help")) {
        if (i + 1 < argc && !verb_find(argv[i + 1]))
            return cli_usage(NULL, "unknown verb '%s'", cli_safe(argv[i + 1], strlen(argv[i + 1])));
        cli_print_usage(stdout, i + 1 < argc ? argv[i + 1] : NULL);
        return CLI_OK;
    }
    const cli_verb *v = verb_find(argv[i]);
    if (!v) return cli_usage(NULL, "unknown verb '%s'", cli_safe(argv[i], strlen(argv[i])));
    cli_reset_opts();
    return v->run(argc - i, argv + i);
}
