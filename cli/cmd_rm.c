/* shmchunk rm [--force] NAME...: remove segments. Every name is tried; the exit status
 * is 1 if any of them could not be removed. A segment whose owner process is alive is
 * refused without --force: the owner removes it itself, and workers may still attach. */
#include "cli.h"

#include <getopt.h>
#include <inttypes.h>
#include <string.h>

enum { OPT_FORCE = 'f' };

/* CLI_OK when name may be removed; else reports why not (not found: with the hint of
 * the library's message, e.g. "did you mean shm:NAME?"). Unreadable segments (half
 * written, damaged) are left to shmc_segment_unlink, which removes only segments. */
static int rm_check(const char *name, int force)
{
    shmc_segment *seg = NULL;
    shmc_segment_info info;
    int st = shmc_segment_create(&seg);
    if (st == SHMC_OK) st = shmc_segment_open(seg, name, SHMC_OPEN_NO_VERIFY);
    if (st == SHMC_OK) st = shmc_segment_info_get(seg, &info);
    int rc = CLI_OK;
    if (st == SHMC_ERR_NOT_FOUND || st == SHMC_ERR_BAD_NAME)
        rc = cli_fail("rm", name, "%s", cli_detail(seg ? shmc_segment_errmsg(seg) : "", st));
    else if (st == SHMC_OK && info.owner_state == SHMC_OWNER_ALIVE && !force)
        rc = cli_fail("rm", name,
                      "its owner (pid %" PRId64 ") is alive and removes it when it "
                      "closes; --force removes it now",
                      info.owner_pid);
    shmc_segment_free(seg);
    return rc;
}

int cmd_rm(int argc, char **argv)
{
    static const struct option longopts[] = {{"force", no_argument, NULL, OPT_FORCE},
                                             {"help", no_argument, NULL, 'h'},
                                             {"quiet", no_argument, NULL, 'q'},
                                             {"verbose", no_argument, NULL, 'v'},
                                             {NULL, 0, NULL, 0}};
    const cli_parse p = {"rm", "f", longopts};
    const char *arg;
    int done = -1, c, force = 0;
    while ((c = cli_next_opt(&p, argc, argv, &arg, &done)) != -1)
        if (c == OPT_FORCE) force = 1;
    if (done >= 0) return done;
    if (argc - optind < 1) return cli_usage("rm", "needs at least one NAME");
    int rc = CLI_OK;
    for (int i = optind; i < argc; i++) {
        const char *name = argv[i];
        if (rm_check(name, force) != CLI_OK) {
            rc = CLI_FAIL;
            continue;
        }
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
