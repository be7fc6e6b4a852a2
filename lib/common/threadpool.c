/* A tiny parallel-for over pthreads (see threadpool.h), shared by the writer's
 * batches and the verifier: indexes are handed out in order and the lowest
 * failure is reported, so results do not depend on scheduling. */
#include "threadpool.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <unistd.h>

/* ------------------------------------------------------------------------ */
/* parallel_for                                                              */
/* ------------------------------------------------------------------------ */

typedef struct pfor {
    size_t n;
    shmc_task_fn fn;
    void *user;
    atomic_size_t next;      /* next index to hand out */
    atomic_size_t err_index; /* lowest failing index so far, n if none */
    pthread_mutex_t lock;
    int err;
} pfor;

/* Indexes are handed out in increasing order, so once index e failed every
 * index below e has already been handed out and will finish: skipping the
 * ones above e keeps the result (the lowest failure) deterministic. */
static void *pfor_worker(void *arg)
{
    pfor *p = arg;
    for (;;) {
        size_t i = atomic_fetch_add(&p->next, 1);
        if (i >= p->n || i > atomic_load(&p->err_index)) break;
        int r = p->fn(p->user, i);
        if (r == 0) continue;
        pthread_mutex_lock(&p->lock);
        if (i < atomic_load(&p->err_index)) {
            atomic_store(&p->err_index, i);
            p->err = r;
        }
        pthread_mutex_unlock(&p->lock);
    }
    return NULL;
}

static size_t pfor_workers(size_t n, int threads)
{
    long t = threads > 0 ? threads : sysconf(_SC_NPROCESSORS_ONLN);
    if (t < 1) t = 1;
    return (size_t)t < n ? (size_t)t : n;
}

int shmc_parallel_for(size_t n, int threads, shmc_task_fn fn, void *user)
{
    if (n == 0 || !fn) return 0;
    size_t workers = pfor_workers(n, threads);
    if (workers == 1) {
        for (size_t i = 0; i < n; i++) {
            int r = fn(user, i);
            if (r) return r;
        }
        return 0;
    }
    pfor p = {.n = n, .fn = fn, .user = user, .err = 0};
    atomic_init(&p.next, 0);
    atomic_init(&p.err_index, n);
    pthread_mutex_init(&p.lock, NULL);
    pthread_t *tids = calloc(workers - 1, sizeof *tids);
    size_t started = 0;
    /* if threads cannot be created, the calling thread simply does more of the work */
    while (tids && started < workers - 1 &&
           pthread_create(&tids[started], NULL, pfor_worker, &p) == 0)
        started++;
    pfor_worker(&p);
    for (size_t k = 0; k < started; k++) pthread_join(tids[k], NULL);
    free(tids);
    pthread_mutex_destroy(&p.lock);
    return p.err;
}
