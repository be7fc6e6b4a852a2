/* Output files appear whole or not at all: bytes go to a temporary file in the
 * target's directory (same filesystem, so rename() is atomic), which is renamed
 * over the target only after everything was written and flushed. */
#include "cli.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* The temporary file in flight, so that Ctrl-C does not leave it behind. */
static char temp_path[PATH_MAX + 32];
static volatile sig_atomic_t temp_active;

static void on_signal(int sig)
{
    if (temp_active) unlink(temp_path);
    signal(sig, SIG_DFL);
    raise(sig);
}

static void guard_signals(void (*handler)(int))
{
    signal(SIGINT, handler);
    signal(SIGTERM, handler);
    signal(SIGHUP, handler);
}

int cli_write_all(int fd, const void *bytes, size_t len)
{
    const unsigned char *p = bytes;
    while (len > 0) {
        ssize_t n = write(fd, p, len);
        if (n < 0) {
            if (errno == EINTR) continue;
            return -1;
        }
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

/* Build DIR/.BASE.tmpXXXXXX next to path. */
static int make_temp_name(const char *path, char *out, size_t cap)
{
    const char *slash = strrchr(path, '/');
    size_t dirlen = slash ? (size_t)(slash - path) + 1 : 0;
    const char *base = slash ? slash + 1 : path;
    int n = snprintf(out, cap, "%.*s.%s.tmpXXXXXX", (int)dirlen, path, base);
    return (n < 0 || (size_t)n >= cap) ? -1 : 0;
}

static int write_temp(int fd, const void *bytes, size_t len)
{
    mode_t mask = umask(0);
    umask(mask);
    /* mkstemp makes 0600; an output file should get the usual 0666 & ~umask. */
    if (fchmod(fd, 0666 & ~mask) != 0) return -1;
    if (cli_write_all(fd, bytes, len) != 0) return -1;
    return fsync(fd);
}

int cli_output_write(const char *path, const void *bytes, size_t len, char *err, size_t errcap)
{
    if (strcmp(path, "-") == 0) {
        if (cli_write_all(STDOUT_FILENO, bytes, len) != 0) {
            snprintf(err, errcap, "cannot write to stdout: %s", strerror(errno));
            return -1;
        }
        return 0;
    }
    if (path[0] == '\0' || path[strlen(path) - 1] == '/' ||
        make_temp_name(path, temp_path, sizeof temp_path) != 0) {
        snprintf(err, errcap, "not a usable output file name");
        return -1;
    }
    guard_signals(on_signal);
    int fd = mkstemp(temp_path);
    if (fd < 0) {
        snprintf(err, errcap, "cannot create a temporary file next to it: %s", strerror(errno));
        guard_signals(SIG_DFL);
        return -1;
    }
    temp_active = 1;
    int rc = write_temp(fd, bytes, len);
    int saved = errno;
    if (close(fd) != 0 && rc == 0) {
        rc = -1;
        saved = errno;
    }
    if (rc == 0 && rename(temp_path, path) != 0) {
        rc = -1;
        saved = errno;
    }
    if (rc != 0) {
        unlink(temp_path);
        snprintf(err, errcap, "cannot write: %s", strerror(saved));
    }
    temp_active = 0;
    guard_signals(SIG_DFL);
    return rc;
}
