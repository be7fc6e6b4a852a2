/* Status codes and error detail. Errors are values: every function returns an
 * int status (one list, SHMC_STATUS_LIST in shmchunk.h, gives each its message
 * and name), and the detail -- what was wrong and where -- goes into the
 * handle's shmc_err, so a caller, the CLI and Python all report the same words
 * without the library printing or keeping global state. */
#include "error.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#define STATUS_MESSAGE_(name, value, message) [name] = message,
#define STATUS_NAME_(name, value, message)    [name] = #name,
static const char *const status_messages[SHMC_STATUS_COUNT_] = {SHMC_STATUS_LIST(STATUS_MESSAGE_)};
static const char *const status_names[SHMC_STATUS_COUNT_] = {SHMC_STATUS_LIST(STATUS_NAME_)};
#undef STATUS_MESSAGE_
#undef STATUS_NAME_

static int status_known(int status) { return status >= 0 && status < SHMC_STATUS_COUNT_; }

const char *shmc_strerror(int status)
{
    return status_known(status) ? status_messages[status] : "unknown status";
}

const char *shmc_status_name(int status)
{
    return status_known(status) ? status_names[status] : NULL;
}

int shmc_status_count(void) { return SHMC_STATUS_COUNT_; }

const char *shmc_version(void) { return SHMC_VERSION_STRING; }

static int err_vset(shmc_err *e, int status, const char *fmt, va_list ap)
{
    if (!e) return status;
    e->status = status;
    vsnprintf(e->msg, sizeof e->msg, fmt, ap);
    return status;
}

int shmc_err_set(shmc_err *e, int status, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    err_vset(e, status, fmt, ap);
    va_end(ap);
    return status;
}

int shmc_err_errno(shmc_err *e, int status, int errno_value, const char *fmt, ...)
{
    if (!e) return status;
    va_list ap;
    va_start(ap, fmt);
    err_vset(e, status, fmt, ap);
    va_end(ap);
    size_t used = strlen(e->msg);
    snprintf(e->msg + used, sizeof e->msg - used, ": %s", strerror(errno_value));
    return status;
}

int shmc_err_prefix(shmc_err *e, const char *fmt, ...)
{
    if (!e) return SHMC_OK;
    char old[SHMC_ERRMSG_CAP];
    memcpy(old, e->msg, sizeof old);
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(e->msg, sizeof e->msg, fmt, ap);
    va_end(ap);
    if (n >= 0 && (size_t)n < sizeof e->msg)
        snprintf(e->msg + n, sizeof e->msg - (size_t)n, "%s", old);
    return e->status;
}

void shmc_err_clear(shmc_err *e)
{
    if (!e) return;
    e->status = SHMC_OK;
    e->msg[0] = '\0';
}

int shmc_status_from_errno(int errno_value)
{
    switch (errno_value) {
    case ENOENT: return SHMC_ERR_NOT_FOUND;
    case EEXIST: return SHMC_ERR_EXISTS;
    case ENOSPC:
    case EFBIG:
    case EDQUOT: return SHMC_ERR_NOSPACE;
    case EACCES:
    case EPERM: return SHMC_ERR_PERMISSION;
    case ENOMEM: return SHMC_ERR_NOMEM;
    case ENAMETOOLONG:
    case EINVAL: return SHMC_ERR_BAD_NAME;
    default: return SHMC_ERR_IO;
    }
}
