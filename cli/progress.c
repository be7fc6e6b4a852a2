/* A progress bar on stderr. Drawn only when stderr is a terminal and the user did
 * not ask for quiet: pipes and log files must never receive carriage returns. */
#include "cli.h"

#include <pthread.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

struct cli_progress {
    const char *what;
    pthread_mutex_t lock; /* the library may report from its compression threads */
    double last_draw;
    int drawn;
};

static double now_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

cli_progress *cli_progress_start(const char *what)
{
    if (cli_verbosity < 0 || !isatty(STDERR_FILENO)) return NULL;
    cli_progress *p = calloc(1, sizeof *p);
    if (!p) return NULL;
    p->what = what;
    pthread_mutex_init(&p->lock, NULL);
    return p;
}

static void draw(cli_progress *p, uint64_t done, uint64_t total)
{
    enum { WIDTH = 30 };
    double frac = total ? (double)done / (double)total : 1.0;
    if (frac > 1.0) frac = 1.0;
    int fill = (int)(frac * WIDTH);
    char bar[WIDTH + 1];
    for (int i = 0; i < WIDTH; i++) bar[i] = i < fill ? '#' : '.';
    bar[WIDTH] = '\0';
    char a[32], b[32];
    fprintf(stderr, "\r%s [%s] %3d%% %s / %s ", p->what, bar, (int)(frac * 100.0),
            cli_human_size(done, a, sizeof a), cli_human_size(total, b, sizeof b));
    fflush(stderr);
    p->drawn = 1;
}

void cli_progress_update(void *progress, uint64_t done, uint64_t total)
{
    cli_progress *p = progress;
    if (!p) return;
    /* Skip rather than wait: a worker thread must never stall on the bar. */
    if (pthread_mutex_trylock(&p->lock) != 0) return;
    double t = now_seconds();
    if (t - p->last_draw >= 0.1 || done >= total) {
        p->last_draw = t;
        draw(p, done, total);
    }
    pthread_mutex_unlock(&p->lock);
}

void cli_progress_finish(cli_progress *p)
{
    if (!p) return;
    if (p->drawn) fputs("\r\033[K", stderr);
    pthread_mutex_destroy(&p->lock);
    free(p);
}
