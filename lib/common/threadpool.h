/* Internal: a small thread pool for the writer's and verifier's batches. */
#ifndef SHMC_THREADPOOL_H
#define SHMC_THREADPOOL_H

#include <stddef.h>

/* Run fn(user, i) for i in [0, n) on up to `threads` threads (0 = online cores).
 * Returns the first non-zero fn result by index order (deterministic), else 0. */
typedef int (*shmc_task_fn)(void *user, size_t i);
int shmc_parallel_for(size_t n, int threads, shmc_task_fn fn, void *user);

#endif
