/* shmc_microbench -- throughput of the core paths against memcpy.
 *
 *   shmc_microbench [BYTES] [THREADS]
 *
 * BYTES (default 1 GiB; suffixes K, M, G) of float64/int64 columns are packed
 * to POSIX shared memory raw and with zstd-1 + shuffle, decoded back, and a
 * 1,000-column segment is opened repeatedly to time the header + index path. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <time.h>

#include "error.h"
#include "hash.h"
#include "shmchunk.h"

#define NCOLS 16
#define RPC   (1u << 20)

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static uint64_t parse_size(const char *s)
{
    char *end;
    double v = strtod(s, &end);
    if (*end == 'K' || *end == 'k') v *= 1024.0;
    else if (*end == 'M' || *end == 'm') v *= 1024.0 * 1024.0;
    else if (*end == 'G' || *end == 'g') v *= 1024.0 * 1024.0 * 1024.0;
    return (uint64_t)v;
}

static double gbps(uint64_t bytes, double secs) { return (double)bytes / secs / 1e9; }

/* Realistic-ish numeric data: prices on a random walk, counters, categories-like ints. */
static void fill_column(void *p, uint64_t nrows, int col)
{
    uint64_t x = 0x9E3779B97F4A7C15ull * ((uint64_t)col + 1u);
    if (col % 2 == 0) {
        double *d = p, v = 100.0;
        for (uint64_t i = 0; i < nrows; i++) {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            v += (double)((int64_t)(x % 2001) - 1000) * 0.0001;
            d[i] = (double)(int64_t)(v * 100.0) / 100.0;
        }
    } else {
        int64_t *d = p;
        for (uint64_t i = 0; i < nrows; i++) {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            d[i] = (int64_t)(i * 3 + x % 17);
        }
    }
}

static shmc_frame *numeric_frame(uint64_t nrows, int ncols, void **cols)
{
    shmc_frame *f;
    if (shmc_frame_create(&f) != SHMC_OK) return NULL;
    shmc_frame_set_nrows(f, nrows);
    for (int c = 0; c < ncols; c++) {
        char name[16];
        snprintf(name, sizeof name, "c%d", c);
        shmc_column_desc d = {0};
        d.kind = c % 2 == 0 ? SHMC_KIND_FLOAT64 : SHMC_KIND_INT64;
        d.label = (shmc_label){SHMC_LABEL_STR, name, strlen(name), 0};
        d.values = cols[c];
        if (shmc_frame_add_column(f, &d) != SHMC_OK) {
            shmc_frame_free(f);
            return NULL;
        }
    }
    return f;
}

static int pack(shmc_frame *f, int codec, int threads, char *name, size_t cap, double *secs)
{
    shmc_write_opts o;
    shmc_write_opts_init(&o);
    o.rows_per_chunk = RPC;
    o.codec = codec;
    o.shuffle = 1;
    o.level = 1;
    o.threads = threads;
    double t0 = now_s();
    int rc = shmc_frame_write(f, "shm:", &o, name, cap);
    *secs = now_s() - t0;
    if (rc != SHMC_OK) fprintf(stderr, "pack: %s: %s\n", shmc_strerror(rc), shmc_frame_errmsg(f));
    return rc;
}

/* Packs are timed best of REPS: on a virtual machine the first touch of guest
 * memory the host has not backed yet costs more than the kernel's own page work
 * (here 1.6 vs 4.4 GB/s for the same pwrite), and that is not the writer's speed. */
#define REPS 2

static int pack_best(shmc_frame *f, int codec, int threads, char *name, size_t cap, double *best)
{
    *best = 1e300;
    for (int r = 0; r < REPS; r++) {
        double secs;
        FORWARD_IF_ERROR(pack(f, codec, threads, name, cap, &secs));
        if (secs < *best) *best = secs;
        if (r + 1 < REPS) shmc_segment_unlink(name);
    }
    return SHMC_OK;
}

/* memcpy into freshly allocated pages, best of REPS (see pack_best). */
static double fresh_copy_secs(const uint8_t *src, uint64_t bytes)
{
    double best = 1e300;
    for (int r = 0; r < REPS; r++) {
        uint8_t *cold = malloc(bytes);
        if (!cold) return 0;
        double t0 = now_s();
        memcpy(cold, src, bytes);
        double t = now_s() - t0;
        __asm__ volatile("" ::"r"(cold) : "memory"); /* the copy is used */
        free(cold);
        if (t < best) best = t;
    }
    return best;
}

static int decode_all(const char *name, uint8_t *dst, uint64_t cap, double *secs, uint64_t *stored)
{
    shmc_segment *seg;
    shmc_segment_create(&seg);
    int rc = shmc_segment_open(seg, name, 0);
    shmc_segment_info info;
    if (rc == SHMC_OK) rc = shmc_segment_info_get(seg, &info);
    double t0 = now_s();
    uint64_t off = 0;
    for (uint32_t i = 0; rc == SHMC_OK && i < info.nchunks; i++) {
        shmc_chunk_info k;
        shmc_segment_chunk_info(seg, i, &k);
        if (off + k.raw_len > cap) {
            rc = SHMC_ERR_RANGE;
            break;
        }
        rc = shmc_segment_chunk_decode(seg, i, dst + off, (size_t)k.raw_len);
        off += k.raw_len;
    }
    *secs = now_s() - t0;
    if (rc == SHMC_OK) *stored = info.stored_bytes;
    else fprintf(stderr, "decode: %s: %s\n", shmc_strerror(rc), shmc_segment_errmsg(seg));
    shmc_segment_free(seg);
    return rc;
}

/* Best of several opens of a 1,000-column segment: header + index checks. */
/* shmc_segment_open of a raw segment of ncols columns x nrows rows in row groups
 * of rpc rows, best of 50: the index decode and the checks of every column and
 * chunk. Two shapes: many columns (1000 x 1 row group) and many chunks
 * (16 x 4096 row groups). */
static int open_index_bench(int ncols, uint64_t nrows, uint64_t rpc, double *best_ms,
                            uint64_t *index_len, uint32_t *nchunks)
{
    void **cols = malloc((size_t)ncols * sizeof *cols);
    double *data = calloc(nrows, sizeof(double));
    for (int c = 0; c < ncols; c++) cols[c] = data;
    shmc_frame *f = numeric_frame(nrows, ncols, cols);
    char name[300];
    shmc_write_opts o;
    shmc_write_opts_init(&o);
    o.rows_per_chunk = rpc;
    o.threads = 1;
    int rc = f ? shmc_frame_write(f, "shm:", &o, name, sizeof name) : SHMC_ERR_NOMEM;
    *best_ms = 1e9;
    for (int rep = 0; rc == SHMC_OK && rep < 50; rep++) {
        shmc_segment *seg;
        shmc_segment_create(&seg);
        double t0 = now_s();
        rc = shmc_segment_open(seg, name, 0);
        double ms = (now_s() - t0) * 1e3;
        if (ms < *best_ms) *best_ms = ms;
        shmc_segment_info info;
        if (rc == SHMC_OK && shmc_segment_info_get(seg, &info) == SHMC_OK) {
            *index_len = info.index_len;
            *nchunks = info.nchunks;
        }
        shmc_segment_free(seg);
    }
    if (f) shmc_segment_unlink(name);
    shmc_frame_free(f);
    free(data);
    free(cols);
    return rc;
}

static int open_index_report(void)
{
    static const struct {
        int ncols;
        uint64_t nrows, rpc;
    } shapes[] = {{1000, 1000, 1000}, {16, 4096 * 64, 64}};
    for (size_t i = 0; i < sizeof shapes / sizeof shapes[0]; i++) {
        double ms;
        uint64_t index_len = 0;
        uint32_t nchunks = 0;
        if (open_index_bench(shapes[i].ncols, shapes[i].nrows, shapes[i].rpc, &ms, &index_len,
                             &nchunks) != SHMC_OK)
            return 1;
        printf("open + index, %d columns x %llu row groups (%u chunks): %.3f ms (best of 50; index "
               "%llu bytes)\n",
               shapes[i].ncols, (unsigned long long)(shapes[i].nrows / shapes[i].rpc), nchunks, ms,
               (unsigned long long)index_len);
    }
    return 0;
}

int main(int argc, char **argv)
{
    uint64_t bytes = argc > 1 ? parse_size(argv[1]) : (1ull << 30);
    int threads = argc > 2 ? atoi(argv[2]) : 0;
    uint64_t nrows = bytes / 8 / NCOLS;
    bytes = nrows * 8 * NCOLS;
    void *cols[NCOLS];
    uint8_t *all = malloc(bytes), *dst = malloc(bytes);
    if (!all || !dst || nrows == 0) {
        fprintf(stderr, "cannot allocate %llu bytes\n", (unsigned long long)bytes);
        return 1;
    }
    for (int c = 0; c < NCOLS; c++) {
        cols[c] = all + (uint64_t)c * nrows * 8;
        fill_column(cols[c], nrows, c);
    }
    double t_cold = fresh_copy_secs(all, bytes); /* fresh pages: what a new segment costs too */
    if (t_cold == 0) return 1;
    memset(dst, 1, bytes); /* fault the pages in: measure copying, not the kernel */
    printf("frame: %d columns x %llu rows = %.3f GB, rows_per_chunk %u, threads %d (0 = all)\n",
           NCOLS, (unsigned long long)nrows, (double)bytes / 1e9, RPC, threads);

    double t0 = now_s();
    memcpy(dst, all, bytes);
    double t_memcpy = now_s() - t0;
    t0 = now_s();
    volatile uint64_t h = shmc_hash(all, bytes);
    (void)h;
    double t_hash = now_s() - t0;
    printf("memcpy              %7.2f GB/s  (into fresh pages: %.2f GB/s)\n", gbps(bytes, t_memcpy),
           gbps(bytes, t_cold));
    printf("XXH3-64             %7.2f GB/s\n", gbps(bytes, t_hash));

    shmc_frame *f = numeric_frame(nrows, NCOLS, cols);
    char name[300];
    double t_raw, t_zstd, t_dec;
    uint64_t stored = 0;
    if (!f || pack_best(f, SHMC_CODEC_NONE, threads, name, sizeof name, &t_raw) != SHMC_OK)
        return 1;
    shmc_segment_unlink(name);
    printf(
        "raw pack to shm     %7.2f GB/s  (%.2f x memcpy, %.2f x memcpy to fresh pages; includes\n"
        "                                reservation, page population and hashing; packs and\n"
        "                                fresh-page copies: best of %d)\n",
        gbps(bytes, t_raw), t_memcpy / t_raw, t_cold / t_raw, REPS);
    if (pack_best(f, SHMC_CODEC_ZSTD, threads, name, sizeof name, &t_zstd) != SHMC_OK) return 1;
    if (decode_all(name, dst, bytes, &t_dec, &stored) != SHMC_OK) return 1;
    shmc_segment_unlink(name);
    printf("zstd-1+shuffle pack %7.2f GB/s  ratio %.2f (%.3f GB stored)\n", gbps(bytes, t_zstd),
           (double)bytes / (double)stored, (double)stored / 1e9);
    printf("zstd-1+shuffle dec  %7.2f GB/s  (one thread, checksum verified)\n", gbps(bytes, t_dec));
    if (memcmp(dst, all, bytes) != 0) {
        fprintf(stderr, "decode mismatch\n");
        return 1;
    }
    long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
    if (threads == 0 && ncpu > 1) {
        double t_raw1, t_zstd1; /* the same packs on one thread: how pack scales with cores */
        if (pack_best(f, SHMC_CODEC_NONE, 1, name, sizeof name, &t_raw1) != SHMC_OK) return 1;
        shmc_segment_unlink(name);
        if (pack_best(f, SHMC_CODEC_ZSTD, 1, name, sizeof name, &t_zstd1) != SHMC_OK) return 1;
        shmc_segment_unlink(name);
        printf("pack on 1 thread    raw %.2f GB/s, zstd %.2f GB/s: %ld threads are %.2fx, %.2fx "
               "faster\n",
               gbps(bytes, t_raw1), gbps(bytes, t_zstd1), ncpu, t_raw1 / t_raw, t_zstd1 / t_zstd);
    }
    shmc_frame_free(f);

    if (open_index_report() != 0) return 1;
    free(all);
    free(dst);
    return 0;
}
