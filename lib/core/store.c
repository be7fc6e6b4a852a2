/* Where a segment's bytes live: POSIX shared memory, a regular file or a
 * caller's buffer, behind one shmc_store, so the writer and the reader never
 * care which. Also the names (checked, generated, and the one rule that says
 * which backend a source names), the owner's identity (pid plus start time, so
 * a reused pid is not mistaken for the owner), and header peeking for list, gc
 * and unlink. Objects another user can change are read into a private copy,
 * and removal checks the name still refers to what was examined. */
#include "store.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include "format.h"

#define SHM_PREFIX     "shm:"
#define SHM_PREFIX_LEN 4
#define SHM_DIR        "/dev/shm"

/* ---- names ------------------------------------------------------------- */

static int name_char_ok(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
           c == '_' || c == '.';
}

int shmc_name_check(const char *name, shmc_err *err)
{
    RETURN_ERROR_IF(!name || !*name, err, SHMC_ERR_BAD_NAME, "shared-memory name is empty");
    size_t n = strnlen(name, SHMC_NAME_MAX + 1);
    RETURN_ERROR_IF(n > SHMC_NAME_MAX, err, SHMC_ERR_BAD_NAME,
                    "shared-memory name longer than %d bytes", SHMC_NAME_MAX);
    /* A leading dot would allow "." and ".." and hide the entry from ls. */
    RETURN_ERROR_IF(name[0] == '.', err, SHMC_ERR_BAD_NAME,
                    "shared-memory name '%s' starts with '.'", name);
    for (size_t i = 0; i < n; i++)
        RETURN_ERROR_IF(!name_char_ok(name[i]), err, SHMC_ERR_BAD_NAME,
                        "shared-memory name has a character other than [A-Za-z0-9._-] at byte %zu",
                        i);
    return SHMC_OK;
}

int shmc_name_validate(const char *name) { return shmc_name_check(name, NULL); }

int shmc_name_generate(char *out, size_t cap, shmc_err *err)
{
    uint8_t rnd[16];
    size_t got = 0;
    while (got < sizeof rnd) {
        ssize_t r = getrandom(rnd + got, sizeof rnd - got, 0);
        if (r < 0 && errno == EINTR) continue;
        if (r < 0) return shmc_err_errno(err, SHMC_ERR_IO, errno, "getrandom");
        got += (size_t)r;
    }
    int n = snprintf(out, cap, "shmchunk-%u-", (unsigned)getuid());
    RETURN_ERROR_IF(n < 0 || (size_t)n + 33 > cap, err, SHMC_ERR_INVALID_ARG,
                    "name buffer too small");
    for (size_t i = 0; i < sizeof rnd; i++) snprintf(out + (size_t)n + 2 * i, 3, "%02x", rnd[i]);
    return SHMC_OK;
}

/* ---- owner identity ---------------------------------------------------- */

int shmc_proc_start_ticks(int64_t pid, uint64_t *ticks)
{
    char path[64], buf[1024];
    snprintf(path, sizeof path, "/proc/%lld/stat", (long long)pid);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return SHMC_ERR_NOT_FOUND;
    ssize_t n = read(fd, buf, sizeof buf - 1);
    close(fd);
    if (n <= 0) return SHMC_ERR_NOT_FOUND;
    buf[n] = '\0';
    /* comm (field 2) may hold spaces and ')': fields resume after the LAST ')'. */
    char *p = strrchr(buf, ')');
    if (!p) return SHMC_ERR_IO;
    p++;
    for (int field = 3; field < 22; field++) { /* skip fields 3..21 */
        p = strchr(p + 1, ' ');
        if (!p) return SHMC_ERR_IO;
    }
    unsigned long long v = 0;
    if (sscanf(p, " %llu", &v) != 1) return SHMC_ERR_IO;
    *ticks = v;
    return SHMC_OK;
}

int shmc_owner_state_of(int64_t pid, uint64_t start)
{
    if (pid == 0) return SHMC_OWNER_PERSISTENT;
    if (pid < 0 || pid > INT32_MAX) return SHMC_OWNER_DEAD;
    if (kill((pid_t)pid, 0) != 0 && errno == ESRCH) return SHMC_OWNER_DEAD;
    /* The pid may have been reused: the start time tells the owner apart. When
     * either start time is unknown (no /proc), err towards alive: gc must never
     * remove a segment whose owner may still be running. */
    uint64_t now = 0;
    if (start == 0 || shmc_proc_start_ticks(pid, &now) != SHMC_OK) return SHMC_OWNER_ALIVE;
    return now == start ? SHMC_OWNER_ALIVE : SHMC_OWNER_DEAD;
}

/* ---- backends ---------------------------------------------------------- */

static const char *shm_name_of(const shmc_store *st) { return st->name + SHM_PREFIX_LEN; }

int shmc_store_resolve(shmc_store *st, const char *dest, shmc_err *err)
{
    memset(st, 0, sizeof *st);
    if (!dest || strcmp(dest, SHM_PREFIX) == 0) {
        char name[96];
        FORWARD_IF_ERROR(shmc_name_generate(name, sizeof name, err));
        st->kind = SHMC_BACKEND_SHM;
        snprintf(st->name, sizeof st->name, SHM_PREFIX "%s", name);
        return SHMC_OK;
    }
    if (strncmp(dest, SHM_PREFIX, SHM_PREFIX_LEN) == 0) {
        FORWARD_IF_ERROR(shmc_name_check(dest + SHM_PREFIX_LEN, err));
        st->kind = SHMC_BACKEND_SHM;
        snprintf(st->name, sizeof st->name, "%s", dest);
        return SHMC_OK;
    }
    RETURN_ERROR_IF(!*dest, err, SHMC_ERR_BAD_NAME, "empty destination path");
    RETURN_ERROR_IF(strlen(dest) >= sizeof st->name, err, SHMC_ERR_BAD_NAME, "path too long");
    st->kind = SHMC_BACKEND_FILE;
    snprintf(st->name, sizeof st->name, "%s", dest);
    return SHMC_OK;
}

/* errno -> status, where EINVAL from a file call is not a naming problem. */
static int io_status(int e)
{
    int s = shmc_status_from_errno(e);
    return s == SHMC_ERR_BAD_NAME && e == EINVAL ? SHMC_ERR_IO : s;
}

static int open_fd(const shmc_store *st, int oflag, mode_t mode)
{
    if (st->kind == SHMC_BACKEND_SHM) return shm_open(shm_name_of(st), oflag, mode);
    return open(st->name, oflag | O_CLOEXEC, mode);
}

/* The identity of the object just created through fd, for shmc_store_remove. */
static int created_record(shmc_store *st, int fd, shmc_err *err)
{
    struct stat sb;
    if (fstat(fd, &sb) != 0) return shmc_err_errno(err, SHMC_ERR_IO, errno, "%s: fstat", st->name);
    st->created = 1;
    st->created_dev = (uint64_t)sb.st_dev;
    st->created_ino = (uint64_t)sb.st_ino;
    return SHMC_OK;
}

/* The path a name resolves to in the file system ("/dev/shm/NAME" for shm). */
static const char *fs_path(const shmc_store *st, char *buf, size_t cap)
{
    if (st->kind != SHMC_BACKEND_SHM) return st->name;
    snprintf(buf, cap, SHM_DIR "/%s", shm_name_of(st));
    return buf;
}

/* Does path (not followed if a symlink) still name the regular file (dev, ino)? */
static int same_object(const char *path, uint64_t dev, uint64_t ino)
{
    struct stat sb;
    return lstat(path, &sb) == 0 && S_ISREG(sb.st_mode) && (uint64_t)sb.st_dev == dev &&
           (uint64_t)sb.st_ino == ino;
}

static int reserve(int fd, uint64_t size, const char *name, shmc_err *err)
{
    RETURN_ERROR_IF(size > (uint64_t)INT64_MAX, err, SHMC_ERR_NOSPACE, "%s: size too large", name);
    /* Reserve every page now: a later write to a page tmpfs cannot supply is SIGBUS. */
    int rc = posix_fallocate(fd, 0, (off_t)size);
    if (rc == EOPNOTSUPP || rc == EINVAL) rc = ftruncate(fd, (off_t)size) == 0 ? 0 : errno;
    if (rc != 0)
        return shmc_err_errno(err, io_status(rc), rc, "%s: cannot reserve %llu bytes", name,
                              (unsigned long long)size);
    return SHMC_OK;
}

static int write_head(int fd, const void *head, size_t len, const char *name, shmc_err *err)
{
    if (len == 0) return SHMC_OK;
    ssize_t k = pwrite(fd, head, len, 0);
    if (k == (ssize_t)len) return SHMC_OK;
    int e = k < 0 ? errno : ENOSPC;
    return shmc_err_errno(err, io_status(e), e, "%s: cannot write the first %zu bytes", name, len);
}

int shmc_store_create(shmc_store *st, uint64_t size, const void *head, size_t head_len,
                      shmc_err *err)
{
    RETURN_ERROR_IF(size == 0 || size > SIZE_MAX || head_len > size || (head_len && !head), err,
                    SHMC_ERR_INVALID_ARG, "bad segment size or head");
    int fd = open_fd(st, O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW, 0600);
    if (fd < 0)
        return shmc_err_errno(err, shmc_status_from_errno(errno), errno, "%s: create", st->name);
    /* umask can only narrow 0600, but an inherited ACL default could widen it. */
    int rc = fchmod(fd, 0600) == 0
                 ? created_record(st, fd, err)
                 : shmc_err_errno(err, SHMC_ERR_IO, errno, "%s: fchmod", st->name);
    if (rc == SHMC_OK) rc = write_head(fd, head, head_len, st->name, err);
    if (rc == SHMC_OK) rc = reserve(fd, size, st->name, err);
    if (rc == SHMC_OK) {
        /* Not MAP_POPULATE: that makes the kernel zero every page before we overwrite
         * it. Raw chunks go in with pwrite (shmc_store_write_fd), which fills reserved
         * pages without zeroing or mapping them; the writer populates the ranges it
         * does write through this mapping (MADV_POPULATE_WRITE). */
        void *p = mmap(NULL, (size_t)size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
        if (p == MAP_FAILED)
            rc = shmc_err_errno(err, shmc_status_from_errno(errno), errno, "%s: mmap", st->name);
        else {
            st->base = p;
            st->len = (size_t)size;
            st->mapped = 1;
        }
    }
    if (rc != SHMC_OK) {
        shmc_store_remove(st, NULL);
        close(fd);
        return rc;
    }
    st->wfd = fd; /* kept for shmc_store_write_fd: never reopened by name */
    st->has_wfd = 1;
    return SHMC_OK;
}

int shmc_store_write_fd(const shmc_store *st)
{
    if (!st->has_wfd) return -1;
    return fcntl(st->wfd, F_DUPFD_CLOEXEC, 0);
}

/* Bytes someone other than the caller may change: another uid's object (its owner can
 * rewrite or truncate it, whatever its mode says today), or one its group or others may
 * write (an ACL granting write to a named user shows as S_IWGRP, the ACL mask). */
static int needs_private_copy(const struct stat *sb)
{
    return sb->st_uid != geteuid() || (sb->st_mode & (S_IWGRP | S_IWOTH)) != 0;
}

static int map_shared(shmc_store *st, int fd, size_t len, shmc_err *err)
{
    void *p = mmap(NULL, len, PROT_READ, MAP_SHARED, fd, 0);
    if (p == MAP_FAILED)
        return shmc_err_errno(err, shmc_status_from_errno(errno), errno, "%s: mmap", st->name);
    st->base = p;
    return SHMC_OK;
}

/* pread all of [0, len) into p; a short read means the object shrank meanwhile. */
static int read_all(const shmc_store *st, int fd, uint8_t *p, size_t len, shmc_err *err)
{
    size_t done = 0;
    while (done < len) {
        size_t want = len - done > ((size_t)1 << 30) ? (size_t)1 << 30 : len - done;
        ssize_t k = pread(fd, p + done, want, (off_t)done);
        if (k < 0 && errno == EINTR) continue;
        if (k < 0)
            return shmc_err_errno(err, SHMC_ERR_IO, errno, "%s: read at byte %zu", st->name, done);
        RETURN_ERROR_IF(k == 0, err, SHMC_ERR_TRUNCATED,
                        "%s: shrank to %zu of %zu bytes while being read", st->name, done, len);
        done += (size_t)k;
    }
    return SHMC_OK;
}

/* Anonymous memory filled by pread, then made read-only: nobody else can reach it. */
static int map_private_copy(shmc_store *st, int fd, size_t len, shmc_err *err)
{
    void *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED)
        return shmc_err_errno(err, SHMC_ERR_NOMEM, errno,
                              "%s: no memory for a private copy of %zu bytes", st->name, len);
    int rc = read_all(st, fd, p, len, err);
    if (rc == SHMC_OK && mprotect(p, len, PROT_READ) != 0)
        rc = shmc_err_errno(err, SHMC_ERR_IO, errno, "%s: mprotect", st->name);
    if (rc != SHMC_OK) {
        munmap(p, len);
        return rc;
    }
    st->base = p;
    st->private_copy = 1;
    return SHMC_OK;
}

static int map_opened(shmc_store *st, int fd, shmc_err *err)
{
    struct stat sb;
    if (fstat(fd, &sb) != 0) return shmc_err_errno(err, SHMC_ERR_IO, errno, "%s: fstat", st->name);
    RETURN_ERROR_IF(!S_ISREG(sb.st_mode), err, SHMC_ERR_INVALID_ARG, "%s: not a regular file",
                    st->name);
    RETURN_ERROR_IF((uint64_t)sb.st_size > SIZE_MAX, err, SHMC_ERR_NOMEM, "%s: too large to map",
                    st->name);
    st->obj_uid = (uint32_t)sb.st_uid;
    st->obj_mode = (uint32_t)(sb.st_mode & 07777);
    if (sb.st_size == 0) return SHMC_OK;
    size_t len = (size_t)sb.st_size;
    int rc =
        needs_private_copy(&sb) ? map_private_copy(st, fd, len, err) : map_shared(st, fd, len, err);
    if (rc == SHMC_OK) {
        st->len = len;
        st->mapped = 1;
    }
    return rc;
}

static int shm_present(const char *name)
{
    if (shmc_name_check(name, NULL) != SHMC_OK) return 0;
    int fd = shm_open(name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK, 0);
    if (fd >= 0) close(fd);
    return fd >= 0 || errno == EACCES;
}

static int file_present(const char *path) { return access(path, F_OK) == 0 || errno == EACCES; }

static int is_bare(const char *src)
{
    return strncmp(src, SHM_PREFIX, SHM_PREFIX_LEN) != 0 && !strchr(src, '/');
}

/* The one naming rule of every source (open, unlink; the CLI and Python alike):
 * "shm:NAME" is shared memory, anything with a '/' is a path, and a bare NAME is
 * whichever of shm:NAME and ./NAME exists -- both is ambiguous, neither not found. */
static int source_resolve(shmc_store *st, const char *src, shmc_err *err)
{
    if (!is_bare(src)) return shmc_store_resolve(st, src, err);
    int in_shm = shm_present(src), here = file_present(src);
    RETURN_ERROR_IF(in_shm && here, err, SHMC_ERR_BAD_NAME,
                    "'%s' is both shm:%s and a file here: say shm:%s or ./%s", src, src, src, src);
    RETURN_ERROR_IF(!in_shm && !here, err, SHMC_ERR_NOT_FOUND,
                    "'%s': no shared memory shm:%s and no file ./%s", src, src, src);
    if (!in_shm) return shmc_store_resolve(st, src, err);
    RETURN_ERROR_IF(strlen(src) + SHM_PREFIX_LEN >= sizeof st->name, err, SHMC_ERR_BAD_NAME,
                    "name too long");
    char full[SHMC_DEST_MAX];
    snprintf(full, sizeof full, SHM_PREFIX "%s", src);
    return shmc_store_resolve(st, full, err);
}

/* Not found: name the other namespace's object when it exists. */
static int not_found(const shmc_store *st, shmc_err *err)
{
    const char *base = strrchr(st->name, '/');
    base = base ? base + 1 : st->name;
    if (st->kind == SHMC_BACKEND_FILE && shm_present(base))
        return shmc_err_set(err, SHMC_ERR_NOT_FOUND, "%s: not found (did you mean shm:%s?)",
                            st->name, base);
    if (st->kind == SHMC_BACKEND_SHM && file_present(shm_name_of(st)))
        return shmc_err_set(err, SHMC_ERR_NOT_FOUND, "%s: not found (did you mean ./%s?)", st->name,
                            shm_name_of(st));
    return shmc_err_set(err, SHMC_ERR_NOT_FOUND, "%s: not found", st->name);
}

int shmc_store_open(shmc_store *st, const char *src, shmc_err *err)
{
    RETURN_ERROR_IF(!src, err, SHMC_ERR_INVALID_ARG, "source is NULL");
    RETURN_ERROR_IF(strcmp(src, SHM_PREFIX) == 0, err, SHMC_ERR_BAD_NAME, "'shm:' without a name");
    FORWARD_IF_ERROR(source_resolve(st, src, err));
    /* A FIFO must not hang us; a symlink has no business among shm names. */
    int nofollow = st->kind == SHMC_BACKEND_SHM ? O_NOFOLLOW : 0;
    int fd = open_fd(st, O_RDONLY | O_NONBLOCK | O_NOCTTY | nofollow, 0);
    if (fd < 0 && errno == ENOENT) return not_found(st, err);
    if (fd < 0) return shmc_err_errno(err, io_status(errno), errno, "%s: open", st->name);
    int rc = map_opened(st, fd, err);
    close(fd);
    return rc;
}

void shmc_store_close(shmc_store *st)
{
    if (st->has_wfd) close(st->wfd);
    st->has_wfd = 0;
    if (st->mapped && st->base) munmap(st->base, st->len);
    st->base = NULL;
    st->len = 0;
    st->mapped = 0;
    st->private_copy = 0;
}

int shmc_store_remove(const shmc_store *st, shmc_err *err)
{
    int r;
    char path[SHMC_DEST_MAX + 16];
    if (st->created &&
        !same_object(fs_path(st, path, sizeof path), st->created_dev, st->created_ino))
        return shmc_err_set(
            err, SHMC_ERR_PERMISSION,
            "%s: no longer the object this process created (replaced?): not removed", st->name);
    if (st->kind == SHMC_BACKEND_SHM) r = shm_unlink(shm_name_of(st));
    else if (st->kind == SHMC_BACKEND_FILE) r = unlink(st->name);
    else return SHMC_OK;
    if (r != 0)
        return shmc_err_errno(err, shmc_status_from_errno(errno), errno, "%s: unlink", st->name);
    return SHMC_OK;
}

/* ---- header peeking (list, gc, unlink) --------------------------------- */

typedef struct peeked {
    int is_segment, sealed;
    uint64_t size;
    uint32_t uid;
    int64_t owner_pid;
    uint64_t owner_start;
    uint64_t dev, ino; /* of the descriptor peeked: the unlink checks the name still has them */
} peeked;

/* Read a header through a descriptor without mapping: another uid's or a
 * half-written object must not be able to fault us. */
static int peek_fd(int fd, peeked *pk)
{
    memset(pk, 0, sizeof *pk);
    struct stat sb;
    uint8_t h[SHMC_HEADER_SIZE];
    if (fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode)) return SHMC_ERR_IO;
    if (pread(fd, h, sizeof h, 0) != (ssize_t)sizeof h) return SHMC_OK;
    if (memcmp(h, SHMC_MAGIC, SHMC_MAGIC_LEN) != 0) return SHMC_OK;
    pk->is_segment = 1;
    pk->size = (uint64_t)sb.st_size;
    pk->dev = (uint64_t)sb.st_dev;
    pk->ino = (uint64_t)sb.st_ino;
    pk->uid = (uint32_t)sb.st_uid;
    pk->owner_pid = (int64_t)shmc_ld64(h + SHMC_HDR_OWNER_PID);
    pk->owner_start = shmc_ld64(h + SHMC_HDR_OWNER_START);
    pk->sealed = shmc_ld64(h + SHMC_HDR_SEALED) == SHMC_SEALED_MAGIC &&
                 shmc_ld64(h + SHMC_HDR_HEADER_XXH3) == shmc_header_hash(h);
    return SHMC_OK;
}

static int peek_shm(const char *name, peeked *pk)
{
    int fd = shm_open(name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK, 0);
    if (fd < 0) return shmc_status_from_errno(errno);
    int rc = peek_fd(fd, pk);
    close(fd);
    return rc;
}

/* Unlink what was peeked, only if the name still refers to it: a swap since the
 * peek (another file, a symlink) is refused with SHMC_ERR_PERMISSION. */
static int unlink_checked(const char *name, int is_shm, const peeked *pk)
{
    char path[SHMC_NAME_MAX + 16];
    const char *fs = name;
    if (is_shm) {
        snprintf(path, sizeof path, SHM_DIR "/%s", name);
        fs = path;
    }
    if (!same_object(fs, pk->dev, pk->ino)) return SHMC_ERR_PERMISSION;
    int r = is_shm ? shm_unlink(name) : unlink(name);
    return r == 0 ? SHMC_OK : shmc_status_from_errno(errno);
}

int shmc_segment_unlink(const char *name)
{
    RETURN_ERROR_IF(!name, NULL, SHMC_ERR_INVALID_ARG, "name is NULL");
    shmc_store st;
    FORWARD_IF_ERROR(source_resolve(&st, name, NULL));
    name = st.name;
    if (st.kind == SHMC_BACKEND_SHM) {
        const char *n = shm_name_of(&st);
        peeked pk;
        FORWARD_IF_ERROR(peek_shm(n, &pk));
        /* Another program's shared memory is not ours to remove, whatever its name. */
        if (!pk.is_segment) return SHMC_ERR_BAD_MAGIC;
        if (pk.uid != (uint32_t)getuid()) return SHMC_ERR_PERMISSION;
        return unlink_checked(n, 1, &pk);
    }
    int fd = open(name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
    if (fd < 0) return io_status(errno);
    peeked pk;
    int rc = peek_fd(fd, &pk);
    close(fd);
    FORWARD_IF_ERROR(rc);
    /* Never delete a file that is not a segment: a typo must not cost data. */
    if (!pk.is_segment) return SHMC_ERR_BAD_MAGIC;
    return unlink_checked(name, 0, &pk);
}

/* ---- listing and gc ---------------------------------------------------- */

typedef int (*entry_fn)(void *user, const shmc_shm_entry *e);

static int walk_shm(entry_fn fn, void *user)
{
    DIR *d = opendir(SHM_DIR);
    if (!d) return shmc_status_from_errno(errno) == SHMC_ERR_NOT_FOUND ? SHMC_OK : SHMC_ERR_IO;
    struct dirent *de;
    int rc = SHMC_OK;
    while ((de = readdir(d)) != NULL) {
        if (de->d_name[0] == '.' || shmc_name_check(de->d_name, NULL) != SHMC_OK) continue;
        peeked pk;
        if (peek_shm(de->d_name, &pk) != SHMC_OK || !pk.is_segment) continue;
        shmc_shm_entry e = {de->d_name,     pk.size,
                            pk.uid,         pk.owner_pid,
                            pk.owner_start, shmc_owner_state_of(pk.owner_pid, pk.owner_start),
                            pk.sealed};
        if (fn(user, &e) != 0) break;
    }
    closedir(d);
    return rc;
}

int shmc_shm_list(shmc_shm_list_fn fn, void *user)
{
    RETURN_ERROR_IF(!fn, NULL, SHMC_ERR_INVALID_ARG, "fn is NULL");
    return walk_shm(fn, user);
}

typedef struct gc_ctx {
    shmc_shm_list_fn fn;
    void *user;
    uint32_t removed;
} gc_ctx;

static int gc_one(void *user, const shmc_shm_entry *e)
{
    gc_ctx *g = user;
    if (e->uid != (uint32_t)getuid() || e->owner_pid == 0 || e->owner_state != SHMC_OWNER_DEAD)
        return 0;
    if (shm_unlink(e->name) != 0) return 0;
    g->removed++;
    return g->fn ? g->fn(g->user, e) : 0;
}

int shmc_shm_gc(shmc_shm_list_fn fn, void *user, uint32_t *removed)
{
    gc_ctx g = {fn, user, 0};
    int rc = walk_shm(gc_one, &g);
    if (removed) *removed = g.removed;
    return rc;
}
