/* shmchunk pack INPUT.pkl DEST: a DataFrame pickle -> a persistent segment.
 * The input is mapped read-only so numeric buffers go from the page cache straight
 * into the segment writer without an intermediate copy. */
#include "cli.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

enum { OPT_ZSTD = 256, OPT_SHUFFLE, OPT_NO_SHUFFLE, OPT_ROWS, OPT_THREADS, OPT_NAME_ONLY };

typedef struct pack_args {
    const char *input, *dest;
    shmc_write_opts opts;
    int shuffle_set;
    int name_only;
} pack_args;

typedef struct input_buf {
    void *ptr;
    size_t len;
    int mapped;
} input_buf;

static void input_release(input_buf *in)
{
    if (in->mapped) munmap(in->ptr, in->len);
    else free(in->ptr);
    memset(in, 0, sizeof *in);
}

/* A stream larger than physical memory cannot be a pickle we could pack (the
 * frame must fit in memory twice over); stop there instead of at the allocator. */
static size_t stream_limit(void)
{
    long pages = sysconf(_SC_PHYS_PAGES), page = sysconf(_SC_PAGESIZE);
    if (pages <= 0 || page <= 0) return (size_t)1 << 34;
    return (size_t)pages * (size_t)page;
}

/* Pipes and terminals cannot be mapped: read them to the end. */
static int read_stream(int fd, input_buf *in, char *err, size_t cap)
{
    size_t len = 0, alloc = 1 << 16, limit = stream_limit();
    unsigned char *buf = malloc(alloc);
    for (;;) {
        if (!buf) return snprintf(err, cap, "out of memory reading the input"), -1;
        if (len == alloc) {
            if (alloc >= limit) {
                free(buf);
                return snprintf(err, cap, "input is larger than this machine's memory (%zu bytes)",
                                limit),
                       -1;
            }
            unsigned char *grown = realloc(buf, alloc * 2);
            if (!grown) {
                free(buf);
                buf = NULL;
                continue;
            }
            buf = grown;
            alloc *= 2;
        }
        ssize_t n = read(fd, buf + len, alloc - len);
        if (n == 0) break;
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) {
            snprintf(err, cap, "cannot read: %s", strerror(errno));
            free(buf);
            return -1;
        }
        len += (size_t)n;
    }
    in->ptr = buf;
    in->len = len;
    return 0;
}

static int input_load(const char *path, input_buf *in, char *err, size_t cap)
{
    int fd = strcmp(path, "-") == 0 ? STDIN_FILENO : open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return snprintf(err, cap, "%s", strerror(errno)), -1;
    struct stat st;
    int rc = -1;
    if (fstat(fd, &st) != 0) snprintf(err, cap, "%s", strerror(errno));
    else if (S_ISDIR(st.st_mode)) snprintf(err, cap, "is a directory");
    else if (S_ISREG(st.st_mode) && st.st_size > 0) {
        in->len = (size_t)st.st_size;
        in->ptr = mmap(NULL, in->len, PROT_READ, MAP_PRIVATE, fd, 0);
        if (in->ptr == MAP_FAILED) snprintf(err, cap, "cannot map: %s", strerror(errno));
        else in->mapped = 1, rc = 0;
    } else rc = read_stream(fd, in, err, cap);
    if (fd != STDIN_FILENO) close(fd);
    if (rc == 0 && in->len == 0) {
        snprintf(err, cap, "empty input, not a pickle");
        input_release(in);
        rc = -1;
    }
    return rc;
}

static int parse_args(int argc, char **argv, pack_args *a)
{
    static const struct option longopts[] = {{"zstd", optional_argument, NULL, OPT_ZSTD},
                                             {"shuffle", no_argument, NULL, OPT_SHUFFLE},
                                             {"no-shuffle", no_argument, NULL, OPT_NO_SHUFFLE},
                                             {"rows-per-chunk", required_argument, NULL, OPT_ROWS},
                                             {"threads", required_argument, NULL, OPT_THREADS},
                                             {"name-only", no_argument, NULL, OPT_NAME_ONLY},
                                             {"help", no_argument, NULL, 'h'},
                                             {"quiet", no_argument, NULL, 'q'},
                                             {"verbose", no_argument, NULL, 'v'},
                                             {NULL, 0, NULL, 0}};
    const cli_parse p = {"pack", "", longopts};
    const char *arg;
    int done = -1, c;
    long level = 0, threads = 0;
    while ((c = cli_next_opt(&p, argc, argv, &arg, &done)) != -1) {
        switch (c) {
        case OPT_ZSTD:
            a->opts.codec = SHMC_CODEC_ZSTD;
            if (arg && cli_parse_int(arg, 1, 22, &level) != 0)
                return cli_usage("pack", "--zstd level must be 1..22, not '%s'", arg);
            a->opts.level = arg ? (int)level : 1;
            break;
        case OPT_SHUFFLE:
            a->opts.shuffle = 1;
            a->shuffle_set = 1;
            break;
        case OPT_NO_SHUFFLE:
            a->opts.shuffle = 0;
            a->shuffle_set = 1;
            break;
        case OPT_ROWS:
            if (cli_parse_u64(arg, &a->opts.rows_per_chunk) != 0 || a->opts.rows_per_chunk == 0)
                return cli_usage("pack", "--rows-per-chunk needs a positive integer, not '%s'",
                                 arg);
            break;
        case OPT_THREADS:
            if (cli_parse_int(arg, 0, 4096, &threads) != 0)
                return cli_usage("pack", "--threads needs an integer 0..4096, not '%s'", arg);
            a->opts.threads = (int)threads;
            break;
        case OPT_NAME_ONLY: a->name_only = 1; break;
        default: return cli_usage("pack", "unexpected option");
        }
    }
    if (done >= 0) return done;
    if (argc - optind != 2)
        return cli_usage("pack", "needs INPUT.pkl and DEST (got %d argument%s)", argc - optind,
                         argc - optind == 1 ? "" : "s");
    a->input = argv[optind];
    a->dest = argv[optind + 1];
    /* --zstd means "compress well by default": shuffle unless told otherwise. */
    if (a->opts.codec == SHMC_CODEC_ZSTD && !a->shuffle_set) a->opts.shuffle = 1;
    return -1;
}

/* A file DEST must not exist; shared-memory names are checked for shape here and
 * for existence by the writer's O_EXCL. Failing early avoids parsing a big input. */
static int check_dest(const char *dest)
{
    struct stat st;
    if (strncmp(dest, "shm:", 4) == 0) {
        if (dest[4] && shmc_name_validate(dest + 4) != SHMC_OK)
            return cli_fail("pack", dest, "%s", shmc_strerror(SHMC_ERR_BAD_NAME));
        return CLI_OK;
    }
    if (strcmp(dest, "-") == 0)
        return cli_fail("pack", dest,
                        "a segment cannot be written to stdout; give a file or shm:NAME");
    if (lstat(dest, &st) == 0)
        return cli_fail("pack", dest, "already exists (refusing to overwrite)");
    return CLI_OK;
}

static void print_summary(const pack_args *a, const char *name)
{
    if (a->name_only) {
        printf("%s\n", name);
        return;
    }
    if (cli_verbosity < 0) return;
    shmc_segment *seg = NULL;
    shmc_segment_info info;
    if (shmc_segment_create(&seg) != SHMC_OK || shmc_segment_open(seg, name, 0) != SHMC_OK ||
        shmc_segment_info_get(seg, &info) != SHMC_OK) {
        printf("%s\n", name);
        shmc_segment_free(seg);
        return;
    }
    char raw[32], stored[32];
    printf("%s: %" PRIu64 " rows, %" PRIu32 " chunks, %s stored (%s raw, ratio %.2f)\n", name,
           info.nrows, info.nchunks, cli_human_size(info.stored_bytes, stored, sizeof stored),
           cli_human_size(info.raw_bytes, raw, sizeof raw),
           info.stored_bytes ? (double)info.raw_bytes / (double)info.stored_bytes : 1.0);
    shmc_segment_free(seg);
}

/* Ctrl-C while writing would leave a half-written segment that nobody owns: hold the
 * signals during the write and, if one came, remove what was written before dying. */
static int write_guarded(shmc_frame *frame, const pack_args *a, char *name, size_t cap)
{
    sigset_t block, old, pending;
    sigemptyset(&block);
    sigaddset(&block, SIGINT);
    sigaddset(&block, SIGTERM);
    sigaddset(&block, SIGHUP);
    sigprocmask(SIG_BLOCK, &block, &old);
    int st = shmc_frame_write(frame, a->dest, &a->opts, name, cap);
    sigpending(&pending);
    if (st == SHMC_OK && (sigismember(&pending, SIGINT) || sigismember(&pending, SIGTERM) ||
                          sigismember(&pending, SIGHUP)))
        shmc_segment_unlink(name);
    sigprocmask(SIG_SETMASK, &old, NULL);
    return st;
}

static int pack_frame(const pack_args *a, const input_buf *in)
{
    shmc_frame *frame = NULL;
    int st = shmc_frame_create(&frame);
    if (st != SHMC_OK) return cli_fail("pack", a->input, "%s", shmc_strerror(st));
    st = shmc_frame_from_pickle(frame, in->ptr, in->len, NULL, NULL, 0, NULL);
    if (st != SHMC_OK) {
        cli_fail("pack", a->input, "%s", cli_detail(shmc_frame_errmsg(frame), st));
        shmc_frame_free(frame);
        return CLI_FAIL;
    }
    char name[4096 + 8] = "";
    shmc_write_opts opts = a->opts;
    cli_progress *bar = cli_progress_start("pack");
    opts.progress = bar ? cli_progress_update : NULL;
    opts.progress_user = bar;
    pack_args guarded = *a;
    guarded.opts = opts;
    st = write_guarded(frame, &guarded, name, sizeof name);
    cli_progress_finish(bar);
    if (st == SHMC_ERR_EXISTS) cli_fail("pack", a->dest, "already exists (refusing to overwrite)");
    else if (st != SHMC_OK)
        cli_fail("pack", a->dest, "%s", cli_detail(shmc_frame_errmsg(frame), st));
    else print_summary(a, name);
    shmc_frame_free(frame);
    return st == SHMC_OK ? CLI_OK : CLI_FAIL;
}

int cmd_pack(int argc, char **argv)
{
    pack_args a;
    memset(&a, 0, sizeof a);
    shmc_write_opts_init(&a.opts);
    a.opts.flags = 0; /* persistent: lives until 'shmchunk rm' */
    int rc = parse_args(argc, argv, &a);
    if (rc >= 0) return rc;
    if ((rc = check_dest(a.dest)) != CLI_OK) return rc;
    input_buf in = {0};
    char err[512];
    if (input_load(a.input, &in, err, sizeof err) != 0) return cli_fail("pack", a.input, "%s", err);
    rc = pack_frame(&a, &in);
    input_release(&in);
    return rc;
}
