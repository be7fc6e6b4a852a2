/* shmchunk rm NAME...: remove segments. Every name is tried; the exit status is 1
 * if any of them could not be removed. */
#include "cli.h"

#include <getopt.h>
#include <string.h>

int cmd_rm(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"help", no_argument, NULL, 'h'}, {"quiet", no_argument, NULL, 'q'},
        {"verbose", no_argument, NULL, 'v'}, {NULL, 0, NULL, 0}};
    const cli_parse p = {"rm", "", longopts};
    const char *arg;
    int done = -1;
    while (cli_next_opt(&p, argc, argv, &arg, &done) != -1) {}
    if (done >= 0) return done;
    if (argc - optind < 1) return cli_usage("rm", "needs at least one NAME");
    int rc = CLI_OK;
    for (int i = optind; i < argc; i++) {
        const char *name = argv[i];
        int st = shmc_segment_unlink(name);
        if (st != SHMC_OK) {
            rc = cli_fail("rm", name, "%s", shmc_strerror(st));
            continue;
        }
        if (cli_verbosity >= 0) {
            fputs("removed ", stdout);
            cli_put_safe(stdout, name, strlen(name));
            putchar('\n');
        }
    }
    return rc;
}
