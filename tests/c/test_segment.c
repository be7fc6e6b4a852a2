/* Backends, names, permissions, space reservation, owners, list and gc. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/wait.h>
#include <unistd.h>

#include "format.h"
#include "helpers_core.h"
#include "store.h"
#include "shmchunk.h"

/* A small frame: one int64 column of n rows. */
static int64_t small_values[100];

static shmc_frame *small_frame(void)
{
    for (int i = 0; i < 100; i++) small_values[i] = i * 11;
    shmc_frame *f;
    shmc_frame_create(&f);
    shmc_frame_set_nrows(f, 100);
    shmc_column_desc d = {0};
    d.kind = SHMC_KIND_INT64;
    d.label = (shmc_label){SHMC_LABEL_STR, "x", 1, 0};
    d.values = small_values;
    shmc_frame_add_column(f, &d);
    return f;
}

static int write_small(const char *dest, uint32_t flags, char *name, size_t cap)
{
    shmc_frame *f = small_frame();
    shmc_write_opts o;
    shmc_write_opts_init(&o);
    o.flags = flags;
    int rc = shmc_frame_write(f, dest, &o, name, cap);
    shmc_frame_free(f);
    return rc;
}

static int shm_exists(const char *dest)
{
    char path[400];
    snprintf(path, sizeof path, "/dev/shm/%s", dest + 4);
    return access(path, F_OK) == 0;
}

static void test_name_validation(void **s)
{
    (void)s;
    char longname[SHMC_NAME_MAX + 2];
    memset(longname, 'a', sizeof longname);
    longname[SHMC_NAME_MAX + 1] = '\0';
    const char *bad[] = {"",    "/",           "..",  ".",  ".hidden", "a/b",
                         "a b", "caf\xc3\xa9", "x\n", "a*", longname};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        assert_int_equal(shmc_name_validate(bad[i]), SHMC_ERR_BAD_NAME);
    assert_int_equal(shmc_name_validate(NULL), SHMC_ERR_BAD_NAME);
    longname[SHMC_NAME_MAX] = '\0';
    const char *good[] = {"a", "shmchunk-0-abc", "A.b_c-9", longname};
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++)
        assert_int_equal(shmc_name_validate(good[i]), SHMC_OK);
}

static void test_write_bad_name(void **s)
{
    (void)s;
    const char *bad[] = {"shm:..", "shm:a/b", "shm:/x", "shm:.x", ""};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        assert_int_equal(write_small(bad[i], 0, NULL, 0), SHMC_ERR_BAD_NAME);
    shmc_segment *seg;
    shmc_segment_create(&seg);
    assert_int_equal(shmc_segment_open(seg, "shm:a/b", 0), SHMC_ERR_BAD_NAME);
    assert_int_equal(shmc_segment_open(seg, "shm:", 0), SHMC_ERR_BAD_NAME);
    shmc_segment_free(seg);
}

static void test_generated_name(void **s)
{
    (void)s;
    char a[300], b[300], prefix[64];
    assert_int_equal(write_small(NULL, 0, a, sizeof a), SHMC_OK);
    assert_int_equal(write_small("shm:", 0, b, sizeof b), SHMC_OK);
    snprintf(prefix, sizeof prefix, "shm:shmchunk-%u-", (unsigned)getuid());
    assert_memory_equal(a, prefix, strlen(prefix));
    assert_int_equal(strlen(a), strlen(prefix) + 32);
    assert_string_not_equal(a, b);
    assert_int_equal(shmc_name_validate(a + 4), SHMC_OK);
    assert_int_equal(shmc_segment_unlink(a), SHMC_OK);
    assert_int_equal(shmc_segment_unlink(b + 4), SHMC_OK); /* bare NAME form */
    assert_false(shm_exists(a));
    assert_false(shm_exists(b));
}

static void test_mode_0600(void **s)
{
    (void)s;
    mode_t old = umask(0);
    char shm[256], file[256], path[400];
    hc_shm_name(shm, sizeof shm, "mode");
    hc_tmp_path(file, sizeof file, "mode");
    assert_int_equal(write_small(shm, 0, NULL, 0), SHMC_OK);
    assert_int_equal(write_small(file, 0, NULL, 0), SHMC_OK);
    umask(old);
    struct stat sb;
    snprintf(path, sizeof path, "/dev/shm/%s", shm + 4);
    assert_int_equal(stat(path, &sb), 0);
    assert_int_equal(sb.st_mode & 07777, 0600);
    assert_int_equal(stat(file, &sb), 0);
    assert_int_equal(sb.st_mode & 07777, 0600);
    assert_int_equal(shmc_segment_unlink(shm), SHMC_OK);
    assert_int_equal(shmc_segment_unlink(file), SHMC_OK);
}

static void test_exists_on_clash(void **s)
{
    (void)s;
    char dest[256];
    for (int k = 0; k < 2; k++) {
        if (k == 0) hc_shm_name(dest, sizeof dest, "clash");
        else hc_tmp_path(dest, sizeof dest, "clash");
        assert_int_equal(write_small(dest, 0, NULL, 0), SHMC_OK);
        assert_int_equal(write_small(dest, 0, NULL, 0), SHMC_ERR_EXISTS);
        shmc_segment *seg; /* the first one is untouched */
        shmc_segment_create(&seg);
        assert_int_equal(shmc_segment_open(seg, dest, SHMC_OPEN_VERIFY_ALL), SHMC_OK);
        shmc_segment_free(seg);
        assert_int_equal(shmc_segment_unlink(dest), SHMC_OK);
    }
}

/* A reservation larger than the whole of /dev/shm fails at once with NOSPACE
 * and leaves nothing behind. */
static void test_nospace_shm(void **s)
{
    (void)s;
    struct statvfs vfs;
    assert_int_equal(statvfs("/dev/shm", &vfs), 0);
    uint64_t too_big = (uint64_t)vfs.f_blocks * vfs.f_frsize * 2 + (1ull << 30);
    shmc_store st;
    shmc_err err = {0};
    char dest[256];
    hc_shm_name(dest, sizeof dest, "nospace");
    assert_int_equal(shmc_store_resolve(&st, dest, &err), SHMC_OK);
    assert_int_equal(shmc_store_create(&st, too_big, NULL, 0, &err), SHMC_ERR_NOSPACE);
    assert_non_null(strstr(err.msg, "reserve"));
    assert_false(shm_exists(dest));
}

/* In a child limited by RLIMIT_FSIZE, writing a file segment is NOSPACE. */
static void test_nospace_rlimit_file(void **s)
{
    (void)s;
    char dest[256];
    hc_tmp_path(dest, sizeof dest, "fsize");
    pid_t pid = fork();
    if (pid == 0) {
        signal(SIGXFSZ, SIG_IGN);
        struct rlimit rl = {1024, 1024};
        setrlimit(RLIMIT_FSIZE, &rl);
        _exit(write_small(dest, 0, NULL, 0));
    }
    int st;
    waitpid(pid, &st, 0);
    assert_true(WIFEXITED(st));
    assert_int_equal(WEXITSTATUS(st), SHMC_ERR_NOSPACE);
    assert_int_not_equal(access(dest, F_OK), 0);
}

static void test_open_not_found_and_empty(void **s)
{
    (void)s;
    shmc_segment *seg;
    shmc_segment_create(&seg);
    assert_int_equal(shmc_segment_open(seg, "shm:shmc-test-does-not-exist", 0), SHMC_ERR_NOT_FOUND);
    assert_int_equal(shmc_segment_open(seg, "/nonexistent/dir/x.seg", 0), SHMC_ERR_NOT_FOUND);
    char path[256];
    hc_tmp_path(path, sizeof path, "empty");
    assert_int_equal(hc_write_file(path, "", 0), 0);
    assert_int_equal(shmc_segment_open(seg, path, 0), SHMC_ERR_TRUNCATED);
    assert_non_null(strstr(shmc_segment_errmsg(seg), path));
    unlink(path);
    shmc_segment_free(seg);
}

/* Opening something that is not a regular file never blocks and never maps it. */
static void test_open_fifo_and_dir(void **s)
{
    (void)s;
    char path[256];
    hc_tmp_path(path, sizeof path, "fifo");
    assert_int_equal(mkfifo(path, 0600), 0);
    shmc_segment *seg;
    shmc_segment_create(&seg);
    assert_int_equal(shmc_segment_open(seg, path, 0), SHMC_ERR_INVALID_ARG);
    assert_non_null(strstr(shmc_segment_errmsg(seg), "not a regular file"));
    unlink(path);
    assert_int_equal(shmc_segment_open(seg, "/tmp", 0), SHMC_ERR_INVALID_ARG);
    shmc_segment_free(seg);
}

/* A segment file cut short on disk (a partial copy) is TRUNCATED, naming the file. */
static void test_truncated_file(void **s)
{
    (void)s;
    char path[256];
    hc_tmp_path(path, sizeof path, "trunc");
    assert_int_equal(write_small(path, 0, NULL, 0), SHMC_OK);
    struct stat sb;
    assert_int_equal(stat(path, &sb), 0);
    shmc_segment *seg;
    shmc_segment_create(&seg);
    off_t cuts[] = {sb.st_size - 1, sb.st_size / 2, 200, 100, 4};
    for (size_t i = 0; i < sizeof cuts / sizeof cuts[0]; i++) {
        assert_int_equal(truncate(path, cuts[i]), 0);
        assert_int_equal(shmc_segment_open(seg, path, 0), SHMC_ERR_TRUNCATED);
        assert_non_null(strstr(shmc_segment_errmsg(seg), path));
    }
    shmc_segment_free(seg);
    unlink(path);
}

/* Open `src` and return its info (asserting success). */
static shmc_segment_info open_info(shmc_segment *seg, const char *src)
{
    shmc_segment_info info;
    assert_int_equal(shmc_segment_open(seg, src, 0), SHMC_OK);
    assert_int_equal(shmc_segment_info_get(seg, &info), SHMC_OK);
    return info;
}

/* The facts a caller decides trust from come from the descriptor mapped: our own 0600
 * shm object is mapped shared; a file anyone else may write is copied. */
static void test_open_records_descriptor_facts(void **s)
{
    (void)s;
    char shm[256], file[256];
    hc_shm_name(shm, sizeof shm, "facts");
    hc_tmp_path(file, sizeof file, "facts");
    assert_int_equal(write_small(shm, 0, NULL, 0), SHMC_OK);
    assert_int_equal(write_small(file, 0, NULL, 0), SHMC_OK);
    shmc_segment *seg;
    shmc_segment_create(&seg);
    shmc_segment_info info = open_info(seg, shm);
    assert_int_equal(info.backend, SHMC_BACKEND_SHM);
    assert_int_equal(info.object_uid, geteuid());
    assert_int_equal(info.object_mode, 0600);
    assert_int_equal(info.private_copy, 0);
    info = open_info(seg, file);
    assert_int_equal(info.backend, SHMC_BACKEND_FILE);
    assert_int_equal(info.object_mode, 0600);
    assert_int_equal(info.private_copy, 0);
    assert_int_equal(chmod(file, 0620), 0); /* group may write: copied */
    info = open_info(seg, file);
    assert_int_equal(info.object_mode, 0620);
    assert_int_equal(info.private_copy, 1);
    shmc_segment_free(seg);
    assert_int_equal(shmc_segment_unlink(shm), SHMC_OK);
    unlink(file);
}

static void test_buffer_facts(void **s)
{
    (void)s;
    uint8_t *buf;
    size_t len;
    shmc_frame *f = small_frame();
    assert_int_equal(hc_write_to_buffer(f, NULL, &buf, &len), SHMC_OK);
    shmc_frame_free(f);
    shmc_segment *seg;
    shmc_segment_create(&seg);
    shmc_segment_info info;
    assert_int_equal(shmc_segment_open_buffer(seg, buf, len, 0), SHMC_OK);
    assert_int_equal(shmc_segment_info_get(seg, &info), SHMC_OK);
    assert_int_equal(info.backend, SHMC_BACKEND_BUFFER);
    assert_int_equal(info.object_uid, UINT32_MAX);
    assert_int_equal(info.private_copy, 0);
    shmc_segment_free(seg);
    free(buf);
}

/* A segment of another uid is read into private memory: its owner truncating and
 * rewriting the file afterwards changes nothing we read and cannot SIGBUS us. */
static void test_foreign_file_is_private_copy(void **s)
{
    (void)s;
    if (geteuid() != 0) skip(); /* needs chown */
    char file[256];
    hc_tmp_path(file, sizeof file, "foreign");
    assert_int_equal(write_small(file, 0, NULL, 0), SHMC_OK);
    assert_int_equal(chown(file, 65534, 65534), 0);
    assert_int_equal(chmod(file, 0644), 0);
    shmc_segment *seg;
    shmc_segment_create(&seg);
    shmc_segment_info info = open_info(seg, file);
    assert_int_equal(info.object_uid, 65534);
    assert_int_equal(info.object_mode, 0644);
    assert_int_equal(info.private_copy, 1);
    uint32_t chunk;
    assert_int_equal(shmc_segment_chunk_find(seg, 0, 0, SHMC_ROLE_VALUES, &chunk), SHMC_OK);
    size_t n = 0;
    uint8_t *whole = hc_read_file(file, &n);
    memset(whole, 0x41, n);
    assert_int_equal(hc_write_file(file, whole, n), 0); /* rewritten in place... */
    assert_int_equal(truncate(file, 0), 0);             /* ...then cut to nothing */
    free(whole);
    const void *p;
    size_t len;
    assert_int_equal(shmc_segment_chunk_view(seg, chunk, &p, &len), SHMC_OK);
    assert_int_equal(len, sizeof small_values);
    assert_memory_equal(p, small_values, len);
    assert_int_equal(shmc_segment_verify(seg, NULL, NULL), SHMC_OK);
    shmc_segment_free(seg);
    unlink(file);
}

/* "shm:NAME" never follows a symlink planted in /dev/shm. */
static void test_shm_symlink_refused(void **s)
{
    (void)s;
    char shm[256], link[256], target[400], lpath[400];
    hc_shm_name(shm, sizeof shm, "target");
    hc_shm_name(link, sizeof link, "link");
    assert_int_equal(write_small(shm, 0, NULL, 0), SHMC_OK);
    snprintf(target, sizeof target, "/dev/shm/%s", shm + 4);
    snprintf(lpath, sizeof lpath, "/dev/shm/%s", link + 4);
    assert_int_equal(symlink(target, lpath), 0);
    shmc_segment *seg;
    shmc_segment_create(&seg);
    assert_int_not_equal(shmc_segment_open(seg, link, 0), SHMC_OK);
    shmc_segment_free(seg);
    unlink(lpath);
    assert_int_equal(shmc_segment_unlink(shm), SHMC_OK);
}

static void test_unlink_rules(void **s)
{
    (void)s;
    assert_int_equal(shmc_segment_unlink("shm:shmc-test-nope-nope"), SHMC_ERR_NOT_FOUND);
    assert_int_equal(shmc_segment_unlink("shm:../etc"), SHMC_ERR_BAD_NAME);
    char path[256];
    hc_tmp_path(path, sizeof path, "notseg");
    assert_int_equal(hc_write_file(path,
                                   "hello, not a segment at all "
                                   "..............................................................."
                                   ".......................................................",
                                   130),
                     0);
    assert_int_equal(shmc_segment_unlink(path), SHMC_ERR_BAD_MAGIC);
    assert_int_equal(access(path, F_OK), 0); /* a non-segment file is never deleted */
    unlink(path);
    /* Nor another program's shared memory. */
    char shm[256];
    hc_shm_name(shm, sizeof shm, "foreign");
    int fd = shm_open(shm + 4, O_RDWR | O_CREAT | O_EXCL, 0600);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, "not a segment", 13), 13);
    close(fd);
    assert_int_equal(shmc_segment_unlink(shm), SHMC_ERR_BAD_MAGIC);
    assert_true(shm_exists(shm));
    shm_unlink(shm + 4);
}

static void test_owner_alive_and_persistent(void **s)
{
    (void)s;
    char owned[256], pers[256];
    hc_shm_name(owned, sizeof owned, "owned");
    hc_shm_name(pers, sizeof pers, "pers");
    assert_int_equal(write_small(owned, SHMC_WRITE_OWNED, NULL, 0), SHMC_OK);
    assert_int_equal(write_small(pers, 0, NULL, 0), SHMC_OK);
    shmc_segment *seg;
    shmc_segment_create(&seg);
    shmc_segment_info info;
    assert_int_equal(shmc_segment_open(seg, owned, 0), SHMC_OK);
    shmc_segment_info_get(seg, &info);
    assert_int_equal(info.owner_state, SHMC_OWNER_ALIVE);
    assert_int_equal(info.owner_pid, getpid());
    uint64_t start;
    assert_int_equal(shmc_proc_start_ticks(getpid(), &start), SHMC_OK);
    assert_int_equal(info.owner_start, start);
    assert_int_equal(info.creator_uid, getuid());
    uint64_t id1 = info.identity;
    assert_int_equal(shmc_segment_open(seg, pers, 0), SHMC_OK);
    shmc_segment_info_get(seg, &info);
    assert_int_equal(info.owner_state, SHMC_OWNER_PERSISTENT);
    assert_int_equal(info.owner_pid, 0);
    assert_int_not_equal(info.identity, id1);
    shmc_segment_free(seg);
    /* A reused pid with another start time is not the owner. */
    assert_int_equal(shmc_owner_state_of(getpid(), start + 1), SHMC_OWNER_DEAD);
    /* An unknown start time (no /proc at write) never makes a live owner dead. */
    assert_int_equal(shmc_owner_state_of(getpid(), 0), SHMC_OWNER_ALIVE);
    assert_int_equal(shmc_owner_state_of(-5, 1), SHMC_OWNER_DEAD);
    shmc_segment_unlink(owned);
    shmc_segment_unlink(pers);
}

typedef struct seen {
    const char *names[3];
    int found[3], sealed[3], state[3];
} seen;

static int on_entry(void *user, const shmc_shm_entry *e)
{
    seen *sn = user;
    for (int i = 0; i < 3; i++)
        if (sn->names[i] && strcmp(e->name, sn->names[i] + 4) == 0) {
            sn->found[i]++;
            sn->sealed[i] = e->sealed;
            sn->state[i] = e->owner_state;
        }
    return 0;
}

/* A child writes an owned segment and exits; another child dies before sealing. */
static void child_segments(const char *dead, const char *unsealed)
{
    pid_t pid = fork();
    if (pid == 0) _exit(write_small(dead, SHMC_WRITE_OWNED, NULL, 0));
    int st;
    waitpid(pid, &st, 0);
    assert_int_equal(WEXITSTATUS(st), 0);
    pid = fork();
    if (pid == 0) {
        shmc_store s2;
        shmc_err e = {0};
        uint64_t ticks = 0;
        uint8_t head[SHMC_HEADER_SIZE] = {0};
        shmc_proc_start_ticks(getpid(), &ticks);
        memcpy(head, SHMC_MAGIC, SHMC_MAGIC_LEN);
        shmc_st64(head + SHMC_HDR_OWNER_PID, (uint64_t)getpid());
        shmc_st64(head + SHMC_HDR_OWNER_START, ticks);
        /* the head is all a writer killed while reserving has written */
        if (shmc_store_resolve(&s2, unsealed, &e) ||
            shmc_store_create(&s2, 4096, head, sizeof head, &e))
            _exit(1);
        _exit(0); /* "crash" before sealing */
    }
    waitpid(pid, &st, 0);
    assert_int_equal(WEXITSTATUS(st), 0);
}

static void test_list_and_gc(void **s)
{
    (void)s;
    char dead[256], alive[256], unsealed[256], pers[256];
    hc_shm_name(dead, sizeof dead, "dead");
    hc_shm_name(alive, sizeof alive, "alive");
    hc_shm_name(unsealed, sizeof unsealed, "unsealed");
    hc_shm_name(pers, sizeof pers, "persist");
    child_segments(dead, unsealed);
    assert_int_equal(write_small(alive, SHMC_WRITE_OWNED, NULL, 0), SHMC_OK);
    assert_int_equal(write_small(pers, 0, NULL, 0), SHMC_OK);
    seen sn = {{dead, alive, unsealed}, {0}, {0}, {0}};
    assert_int_equal(shmc_shm_list(on_entry, &sn), SHMC_OK);
    assert_int_equal(sn.found[0], 1);
    assert_int_equal(sn.state[0], SHMC_OWNER_DEAD);
    assert_int_equal(sn.sealed[0], 1);
    assert_int_equal(sn.state[1], SHMC_OWNER_ALIVE);
    assert_int_equal(sn.sealed[2], 0);
    assert_int_equal(sn.state[2], SHMC_OWNER_DEAD);
    uint32_t removed = 0;
    assert_int_equal(shmc_shm_gc(NULL, NULL, &removed), SHMC_OK);
    assert_true(removed >= 2);
    assert_false(shm_exists(dead));
    assert_false(shm_exists(unsealed));
    assert_true(shm_exists(alive));
    assert_true(shm_exists(pers));
    shmc_segment_unlink(alive);
    shmc_segment_unlink(pers);
}

static void test_failed_write_leaves_nothing(void **s)
{
    (void)s;
    char dest[256], tiny[8];
    hc_shm_name(dest, sizeof dest, "tiny");
    assert_int_equal(write_small(dest, 0, tiny, sizeof tiny), SHMC_ERR_INVALID_ARG);
    assert_false(shm_exists(dest));
}

/* Issue 12 #10: the writer's second descriptor (shmc_store_write_fd) reopened the new
 * file by name, and the clean-up deleted by name. Swap the path for a symlink to an
 * outside file after create: nothing is written to it; then for the symlink and for
 * another regular file: neither is removed. */
static void test_store_swap_after_create(void **s)
{
    (void)s;
    char dir[] = "/tmp/shmc-swap-XXXXXX", path[64], moved[64], victim[64];
    assert_non_null(mkdtemp(dir));
    snprintf(path, sizeof path, "%s/seg", dir);
    snprintf(moved, sizeof moved, "%s/seg.moved", dir);
    snprintf(victim, sizeof victim, "%s/victim", dir);
    assert_int_equal(hc_write_file(victim, "VICTIM", 6), 0);
    shmc_store st;
    assert_int_equal(shmc_store_resolve(&st, path, NULL), SHMC_OK);
    assert_int_equal(shmc_store_create(&st, 4096, "HEAD", 4, NULL), SHMC_OK);
    assert_int_equal(rename(path, moved), 0);
    assert_int_equal(symlink(victim, path), 0);
    int fd = shmc_store_write_fd(&st);
    assert_true(fd >= 0);
    assert_int_equal(pwrite(fd, "XY", 2, 0), 2);
    close(fd);
    size_t n;
    uint8_t *v = hc_read_file(victim, &n);
    assert_non_null(v);
    assert_memory_equal(v, "VICTIM", 6); /* the outside file was not opened for writing */
    free(v);
    v = hc_read_file(moved, &n);
    assert_memory_equal(v, "XYAD", 4); /* the write went to the file created */
    free(v);
    shmc_store_close(&st);
    shmc_err e = {0};
    assert_int_equal(shmc_store_remove(&st, &e), SHMC_ERR_PERMISSION);
    assert_non_null(strstr(e.msg, "not removed"));
    struct stat sb;
    assert_int_equal(lstat(path, &sb), 0);
    assert_true(S_ISLNK(sb.st_mode));
    assert_int_equal(unlink(path), 0);
    assert_int_equal(link(victim, path), 0); /* another regular file under the name */
    assert_int_equal(shmc_store_remove(&st, NULL), SHMC_ERR_PERMISSION);
    assert_int_equal(lstat(path, &sb), 0);
    assert_int_equal(unlink(path), 0);
    assert_int_equal(rename(moved, path), 0); /* the original back: removed */
    assert_int_equal(shmc_store_remove(&st, NULL), SHMC_OK);
    assert_int_not_equal(lstat(path, &sb), 0);
    unlink(victim);
    rmdir(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_name_validation),
        cmocka_unit_test(test_write_bad_name),
        cmocka_unit_test(test_generated_name),
        cmocka_unit_test(test_mode_0600),
        cmocka_unit_test(test_exists_on_clash),
        cmocka_unit_test(test_nospace_shm),
        cmocka_unit_test(test_nospace_rlimit_file),
        cmocka_unit_test(test_open_not_found_and_empty),
        cmocka_unit_test(test_open_fifo_and_dir),
        cmocka_unit_test(test_truncated_file),
        cmocka_unit_test(test_open_records_descriptor_facts),
        cmocka_unit_test(test_buffer_facts),
        cmocka_unit_test(test_foreign_file_is_private_copy),
        cmocka_unit_test(test_shm_symlink_refused),
        cmocka_unit_test(test_unlink_rules),
        cmocka_unit_test(test_owner_alive_and_persistent),
        cmocka_unit_test(test_list_and_gc),
        cmocka_unit_test(test_failed_write_leaves_nothing),
        cmocka_unit_test(test_store_swap_after_create),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
