#include "error.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static const char *const status_names[SHMC_STATUS_COUNT_] = {
    [SHMC_OK] = "no error",
    [SHMC_ERR_INVALID_ARG] = "invalid argument",
    [SHMC_ERR_NOMEM] = "out of memory",
    [SHMC_ERR_IO] = "input/output error",
    [SHMC_ERR_NOT_FOUND] = "segment or file not found",
    [SHMC_ERR_EXISTS] = "destination already exists",
    [SHMC_ERR_NOSPACE] = "no space left for the segment",
    [SHMC_ERR_PERMISSION] = "permission denied",
    [SHMC_ERR_BAD_NAME] = "invalid segment name",
    [SHMC_ERR_BAD_MAGIC] = "not a shmchunk segment (bad magic)",
    [SHMC_ERR_BAD_VERSION] = "unsupported segment format version",
    [SHMC_ERR_BAD_LAYOUT] = "segment layout signature mismatch",
    [SHMC_ERR_UNSEALED] = "segment is not sealed",
    [SHMC_ERR_TRUNCATED] = "segment is truncated",
    [SHMC_ERR_HEADER_CHECKSUM] = "header checksum mismatch",
    [SHMC_ERR_INDEX_CHECKSUM] = "index checksum mismatch",
    [SHMC_ERR_CHUNK_CHECKSUM] = "chunk checksum mismatch",
    [SHMC_ERR_CORRUPT] = "corrupt segment data",
    [SHMC_ERR_COMPRESSED] = "chunk is compressed (no zero-copy view)",
    [SHMC_ERR_RANGE] = "out of range",
    [SHMC_ERR_LIMIT] = "limit exceeded",
    [SHMC_ERR_UNSUPPORTED] = "unsupported construct",
    [SHMC_ERR_PICKLE] = "malformed pickle",
    [SHMC_ERR_CODEC] = "compression codec error",
    [SHMC_ERR_CANCELLED] = "cancelled by the caller",
};

const char *shmc_strerror(int status)
{
    if (status < 0 || status >= SHMC_STATUS_COUNT_ || !status_names[status])
        return "unknown status";
    return status_names[status];
}

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
    case ENOSPC: case EFBIG: case EDQUOT: return SHMC_ERR_NOSPACE;
    case EACCES: case EPERM: return SHMC_ERR_PERMISSION;
    case ENOMEM: return SHMC_ERR_NOMEM;
    case ENAMETOOLONG: case EINVAL: return SHMC_ERR_BAD_NAME;
    default: return SHMC_ERR_IO;
    }
}
