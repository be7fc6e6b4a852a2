/* Internal: error detail carried by every handle, and the macros that keep
 * error paths one line long (after zstd's error_private.h). */
#ifndef SHMC_ERROR_H
#define SHMC_ERROR_H

#include "shmchunk.h"

#define SHMC_ERRMSG_CAP 512

typedef struct shmc_err {
    int status;
    char msg[SHMC_ERRMSG_CAP];
} shmc_err;

/* Record status and a printf-style detail in e (e may be NULL); returns status
 * so that `return shmc_err_set(...)` reads naturally. */
int shmc_err_set(shmc_err *e, int status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Same, with ": <strerror(errno_value)>" appended. */
int shmc_err_errno(shmc_err *e, int status, int errno_value, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* Prefix the existing detail with more context ("column 'a': " + old). */
int shmc_err_prefix(shmc_err *e, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void shmc_err_clear(shmc_err *e);
/* Map an errno from open/ftruncate/fallocate/mmap to a status. */
int shmc_status_from_errno(int errno_value);

#define RETURN_ERROR_IF(cond, err, status, ...)                                                    \
    do {                                                                                           \
        if (cond) return shmc_err_set((err), (status), __VA_ARGS__);                               \
    } while (0)

#define FORWARD_IF_ERROR(expr)                                                                     \
    do {                                                                                           \
        int shmc_fwd_status_ = (expr);                                                             \
        if (shmc_fwd_status_ != SHMC_OK) return shmc_fwd_status_;                                  \
    } while (0)

#endif
