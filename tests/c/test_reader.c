/* Reader API: info, column/chunk info, find, views, decode, verify, limits,
 * descriptor validation on the writer side. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "helpers_core.h"
#include "shmchunk.h"

static shmc_label lab(const char *s) { return (shmc_label){SHMC_LABEL_STR, s, strlen(s), 0}; }

/* Frame of `ncols` float64 columns "c<i>" with value i*1000+row. */
static shmc_frame *float_frame(uint32_t ncols, uint64_t nrows)
{
    shmc_frame *f;
    shmc_frame_create(&f);
    shmc_frame_set_nrows(f, nrows);
    for (uint32_t c = 0; c < ncols; c++) {
        double *v = malloc(nrows * 8 + 8);
        for (uint64_t r = 0; r < nrows; r++) v[r] = c * 1000.0 + (double)r;
        shmc_frame_keep(f, v, free);
        char name[32];
        snprintf(name, sizeof name, "c%u", c);
        shmc_column_desc d = {0};
        d.kind = SHMC_KIND_FLOAT64;
        d.label = lab(name);
        d.values = v;
        assert_int_equal(shmc_frame_add_column(f, &d), SHMC_OK);
    }
    return f;
}

static shmc_segment *open_frame(shmc_frame *f, uint64_t rpc, int codec, uint8_t **buf,
                                uint32_t flags)
{
    shmc_write_opts o;
    shmc_write_opts_init(&o);
    o.rows_per_chunk = rpc;
    o.codec = codec;
    size_t len;
    assert_int_equal(hc_write_to_buffer(f, &o, buf, &len), SHMC_OK);
    shmc_segment *seg;
    shmc_segment_create(&seg);
    assert_int_equal(shmc_segment_open_buffer(seg, *buf, len, flags), SHMC_OK);
    return seg;
}

static void test_empty_frame(void **s)
{
    (void)s;
    shmc_frame *f;
    shmc_frame_create(&f);
    uint8_t *buf;
    shmc_segment *seg = open_frame(f, 0, SHMC_CODEC_NONE, &buf, SHMC_OPEN_VERIFY_ALL);
    shmc_segment_info info;
    assert_int_equal(shmc_segment_info_get(seg, &info), SHMC_OK);
    assert_int_equal(info.nrows, 0);
    assert_int_equal(info.ncolumns, 0);
    assert_int_equal(info.nchunks, 0);
    assert_int_equal(info.rows_per_chunk, 1u << 20);
    assert_int_equal(info.has_range_index, 1);
    assert_int_equal(info.range_step, 1);
    shmc_column_info ci;
    assert_int_equal(shmc_segment_column_info(seg, 0, &ci), SHMC_ERR_RANGE);
    assert_int_equal(shmc_segment_verify(seg, NULL, NULL), SHMC_OK);
    shmc_segment_free(seg);
    free(buf);
    shmc_frame_free(f);
}

static void test_thousand_columns(void **s)
{
    (void)s;
    shmc_frame *f = float_frame(1000, 100);
    uint8_t *buf;
    shmc_segment *seg = open_frame(f, 32, SHMC_CODEC_NONE, &buf, 0);
    shmc_segment_info info;
    shmc_segment_info_get(seg, &info);
    assert_int_equal(info.ncolumns, 1000);
    assert_int_equal(info.nchunks, 4000);
    for (uint32_t c = 0; c < 1000; c += 111) {
        shmc_column_info ci;
        assert_int_equal(shmc_segment_column_info(seg, c, &ci), SHMC_OK);
        char name[32];
        snprintf(name, sizeof name, "c%u", c);
        assert_int_equal(ci.label.len, strlen(name));
        assert_memory_equal(ci.label.str, name, ci.label.len);
        assert_int_equal(ci.first_chunk, c * 4);
        const void *p;
        size_t len;
        assert_int_equal(shmc_segment_column_view(seg, c, SHMC_ROLE_VALUES, &p, &len), SHMC_OK);
        assert_int_equal(len, 800);
        const double *d = p;
        for (int r = 0; r < 100; r++) assert_true(d[r] == c * 1000.0 + r);
    }
    shmc_segment_free(seg);
    free(buf);
    shmc_frame_free(f);
}

static void test_chunk_info_rowgroups(void **s)
{
    (void)s;
    shmc_frame *f = float_frame(2, 100);
    uint8_t *buf;
    shmc_segment *seg = open_frame(f, 32, SHMC_CODEC_NONE, &buf, 0);
    uint32_t id;
    assert_int_equal(shmc_segment_chunk_find(seg, 1, 3, SHMC_ROLE_VALUES, &id), SHMC_OK);
    assert_int_equal(id, 7);
    shmc_chunk_info k;
    assert_int_equal(shmc_segment_chunk_info(seg, id, &k), SHMC_OK);
    assert_int_equal(k.column, 1);
    assert_int_equal(k.rowgroup, 3);
    assert_int_equal(k.row_start, 96);
    assert_int_equal(k.nrows, 4); /* 100 = 3 * 32 + 4 */
    assert_int_equal(k.raw_len, 32);
    assert_int_equal(k.offset % 64, 0);
    assert_int_equal(k.codec, SHMC_CODEC_NONE);
    assert_int_equal(shmc_segment_chunk_find(seg, 1, 4, SHMC_ROLE_VALUES, &id), SHMC_ERR_RANGE);
    assert_int_equal(shmc_segment_chunk_find(seg, 1, 0, SHMC_ROLE_MASK, &id), SHMC_ERR_RANGE);
    assert_int_equal(shmc_segment_chunk_find(seg, 2, 0, SHMC_ROLE_VALUES, &id), SHMC_ERR_RANGE);
    assert_int_equal(shmc_segment_chunk_info(seg, 8, &k), SHMC_ERR_RANGE);
    const void *p;
    size_t len;
    assert_int_equal(shmc_segment_chunk_view(seg, 8, &p, &len), SHMC_ERR_RANGE);
    assert_int_equal(shmc_segment_chunk_verify(seg, UINT32_MAX), SHMC_ERR_RANGE);
    double out[32];
    assert_int_equal(shmc_segment_chunk_decode(seg, 99, out, 8), SHMC_ERR_RANGE);
    assert_int_equal(shmc_segment_chunk_decode(seg, 0, out, 255), SHMC_ERR_INVALID_ARG);
    assert_non_null(strstr(shmc_segment_errmsg(seg), "dst_len"));
    assert_int_equal(shmc_segment_chunk_decode(seg, 0, out, 256), SHMC_OK);
    assert_true(out[31] == 31.0);
    shmc_segment_free(seg);
    free(buf);
    shmc_frame_free(f);
}

static void test_views_zero_copy(void **s)
{
    (void)s;
    shmc_frame *f = float_frame(3, 1000);
    uint8_t *buf;
    shmc_segment *seg = open_frame(f, 64, SHMC_CODEC_NONE, &buf, 0);
    const void *p, *col;
    size_t len, clen;
    assert_int_equal(shmc_segment_chunk_view(seg, 17, &p, &len), SHMC_OK);
    assert_true((const uint8_t *)p >= buf &&
                (const uint8_t *)p < buf + 1000000); /* in the buffer */
    assert_int_equal(len, 64 * 8);
    assert_true(((const double *)p)[0] == 1000.0 + 64);
    assert_int_equal(shmc_segment_column_view(seg, 1, SHMC_ROLE_VALUES, &col, &clen), SHMC_OK);
    assert_int_equal(clen, 8000);
    assert_ptr_equal((const uint8_t *)col + 64 * 8, p);
    assert_int_equal(shmc_segment_column_view(seg, 1, SHMC_ROLE_MASK, &col, &clen), SHMC_ERR_RANGE);
    assert_int_equal(shmc_segment_column_view(seg, 3, SHMC_ROLE_VALUES, &col, &clen),
                     SHMC_ERR_RANGE);
    shmc_segment_free(seg);
    free(buf);
    shmc_frame_free(f);
}

/* Row groups that are not a multiple of 64 bytes are padded apart: no column view. */
static void test_column_view_not_adjacent(void **s)
{
    (void)s;
    shmc_frame *f = float_frame(1, 100);
    uint8_t *buf;
    shmc_segment *seg = open_frame(f, 10, SHMC_CODEC_NONE, &buf, 0);
    const void *p;
    size_t len;
    assert_int_equal(shmc_segment_column_view(seg, 0, SHMC_ROLE_VALUES, &p, &len),
                     SHMC_ERR_COMPRESSED);
    assert_non_null(strstr(shmc_segment_errmsg(seg), "adjacent"));
    assert_int_equal(shmc_segment_chunk_view(seg, 9, &p, &len), SHMC_OK);
    assert_int_equal(len, 80);
    shmc_segment_free(seg);
    free(buf);
    shmc_frame_free(f);
}

static void test_compressed_no_view(void **s)
{
    (void)s;
    shmc_frame *f = float_frame(2, 4096); /* very compressible */
    uint8_t *buf;
    shmc_segment *seg = open_frame(f, 1024, SHMC_CODEC_ZSTD, &buf, 0);
    shmc_segment_info info;
    shmc_segment_info_get(seg, &info);
    assert_true(info.stored_bytes < info.raw_bytes / 2);
    shmc_chunk_info k;
    shmc_segment_chunk_info(seg, 0, &k);
    assert_int_equal(k.codec, SHMC_CODEC_ZSTD);
    assert_int_equal(k.shuffle, 1);
    assert_int_equal(k.typesize, 8);
    const void *p;
    size_t len;
    assert_int_equal(shmc_segment_chunk_view(seg, 0, &p, &len), SHMC_ERR_COMPRESSED);
    assert_int_equal(shmc_segment_column_view(seg, 0, SHMC_ROLE_VALUES, &p, &len),
                     SHMC_ERR_COMPRESSED);
    double *d = malloc(8192);
    assert_int_equal(shmc_segment_chunk_decode(seg, 5, d, 8192), SHMC_OK);
    assert_true(d[0] == 1000.0 + 1024);
    free(d);
    shmc_segment_free(seg);
    free(buf);
    shmc_frame_free(f);
}

/* Random bytes do not compress: stored raw, and viewable. */
static void test_incompressible_stored_raw(void **s)
{
    (void)s;
    shmc_frame *f;
    shmc_frame_create(&f);
    shmc_frame_set_nrows(f, 4096);
    uint64_t *v = malloc(4096 * 8);
    hc_fill(v, 4096 * 8, 5);
    shmc_frame_keep(f, v, free);
    shmc_column_desc d = {.kind = SHMC_KIND_UINT64, .values = v};
    shmc_frame_add_column(f, &d);
    uint8_t *buf;
    shmc_segment *seg = open_frame(f, 4096, SHMC_CODEC_ZSTD, &buf, 0);
    shmc_chunk_info k;
    shmc_segment_chunk_info(seg, 0, &k);
    assert_int_equal(k.codec, SHMC_CODEC_NONE);
    assert_int_equal(k.shuffle, 0);
    const void *p;
    size_t len;
    assert_int_equal(shmc_segment_chunk_view(seg, 0, &p, &len), SHMC_OK);
    assert_memory_equal(p, v, 4096 * 8);
    shmc_segment_free(seg);
    free(buf);
    shmc_frame_free(f);
}

/* The mapping of a shm segment is read-only: a write faults. */
static void test_view_is_read_only(void **s)
{
    (void)s;
    shmc_frame *f = float_frame(1, 64);
    char dest[256];
    hc_shm_name(dest, sizeof dest, "ro");
    assert_int_equal(shmc_frame_write(f, dest, NULL, NULL, 0), SHMC_OK);
    shmc_frame_free(f);
    shmc_segment *seg;
    shmc_segment_create(&seg);
    assert_int_equal(shmc_segment_open(seg, dest, 0), SHMC_OK);
    const void *p;
    size_t len;
    assert_int_equal(shmc_segment_chunk_view(seg, 0, &p, &len), SHMC_OK);
    pid_t pid = fork();
    if (pid == 0) {
        signal(SIGSEGV, SIG_DFL); /* cmocka catches it otherwise */
        ((volatile uint8_t *)(uintptr_t)p)[0] = 1;
        _exit(0);
    }
    int st;
    waitpid(pid, &st, 0);
    assert_true(WIFSIGNALED(st));
    assert_int_equal(WTERMSIG(st), SIGSEGV);
    shmc_segment_free(seg);
    shmc_segment_unlink(dest);
}

static void test_labels_range_meta(void **s)
{
    (void)s;
    shmc_frame *f = float_frame(0, 10);
    int64_t iv[10] = {0};
    shmc_column_desc d = {.kind = SHMC_KIND_INT64, .values = iv};
    d.label = (shmc_label){SHMC_LABEL_INT, NULL, 0, -42};
    shmc_frame_add_column(f, &d);
    d.label = (shmc_label){SHMC_LABEL_PICKLE, "\x80\x05N.", 4, 0};
    shmc_frame_add_column(f, &d);
    d.label = (shmc_label){SHMC_LABEL_NONE, NULL, 0, 0};
    shmc_frame_add_column(f, &d);
    shmc_label rn = lab("idx");
    assert_int_equal(shmc_frame_set_range_index(f, 100, -3, &rn), SHMC_OK);
    shmc_label cn = {SHMC_LABEL_INT, NULL, 0, 7};
    assert_int_equal(shmc_frame_set_columns_name(f, &cn), SHMC_OK);
    assert_int_equal(shmc_frame_set_meta(f, "{\"a\": 1}", 8), SHMC_OK);
    assert_int_equal(shmc_frame_set_range_index(f, 0, 0, NULL), SHMC_ERR_INVALID_ARG);
    uint8_t *buf;
    shmc_segment *seg = open_frame(f, 0, SHMC_CODEC_NONE, &buf, 0);
    shmc_segment_info info;
    shmc_segment_info_get(seg, &info);
    assert_int_equal(info.has_range_index, 1);
    assert_int_equal(info.range_start, 100);
    assert_int_equal(info.range_step, -3);
    assert_int_equal(info.range_name.type, SHMC_LABEL_STR);
    assert_string_equal(info.range_name.str, "idx");
    assert_int_equal(info.columns_name.type, SHMC_LABEL_INT);
    assert_int_equal(info.columns_name.i, 7);
    assert_string_equal(info.name, "<buffer>");
    shmc_column_info ci;
    shmc_segment_column_info(seg, 0, &ci);
    assert_int_equal(ci.label.type, SHMC_LABEL_INT);
    assert_int_equal(ci.label.i, -42);
    shmc_segment_column_info(seg, 1, &ci);
    assert_int_equal(ci.label.type, SHMC_LABEL_PICKLE);
    assert_int_equal(ci.label.len, 4);
    assert_memory_equal(ci.label.str, "\x80\x05N.", 4);
    shmc_segment_column_info(seg, 2, &ci);
    assert_int_equal(ci.label.type, SHMC_LABEL_NONE);
    assert_string_equal(ci.dtype, "");
    assert_null(ci.tz);
    const void *m;
    size_t ml;
    assert_int_equal(shmc_segment_meta(seg, &m, &ml), SHMC_OK);
    assert_int_equal(ml, 8);
    assert_memory_equal(m, "{\"a\": 1}", 8);
    shmc_segment_free(seg);
    free(buf);
    shmc_frame_free(f);
}

/* Labels are copied exactly: no NUL needed after them, empty ones may be NULL. */
static void test_label_exact_buffers(void **s)
{
    (void)s;
    shmc_frame *f = float_frame(0, 4);
    double v[4] = {1, 2, 3, 4};
    char *name = malloc(3); /* "abc" without a NUL: ASan catches any over-read */
    memcpy(name, "abc", 3);
    shmc_column_desc d = {
        .kind = SHMC_KIND_FLOAT64, .values = v, .label = {SHMC_LABEL_STR, name, 3, 0}};
    assert_int_equal(shmc_frame_add_column(f, &d), SHMC_OK);
    free(name); /* the frame copied it */
    d.label = (shmc_label){SHMC_LABEL_STR, NULL, 0, 0};
    assert_int_equal(shmc_frame_add_column(f, &d), SHMC_OK);
    d.label = (shmc_label){SHMC_LABEL_STR, NULL, 2, 0};
    assert_int_equal(shmc_frame_add_column(f, &d), SHMC_ERR_INVALID_ARG);
    uint8_t *buf;
    shmc_segment *seg = open_frame(f, 0, SHMC_CODEC_NONE, &buf, 0);
    shmc_column_info ci;
    shmc_segment_column_info(seg, 0, &ci);
    assert_int_equal(ci.label.len, 3);
    assert_string_equal(ci.label.str, "abc");
    shmc_segment_column_info(seg, 1, &ci);
    assert_int_equal(ci.label.type, SHMC_LABEL_STR);
    assert_int_equal(ci.label.len, 0);
    shmc_segment_free(seg);
    free(buf);
    shmc_frame_free(f);
}

static void test_index_column_no_range(void **s)
{
    (void)s;
    shmc_frame *f = float_frame(1, 10);
    int64_t iv[10] = {0};
    shmc_column_desc d = {.kind = SHMC_KIND_INT64, .values = iv, .flags = SHMC_COL_INDEX};
    shmc_frame_add_column(f, &d);
    uint8_t *buf;
    shmc_segment *seg = open_frame(f, 0, SHMC_CODEC_NONE, &buf, 0);
    shmc_segment_info info;
    shmc_segment_info_get(seg, &info);
    assert_int_equal(info.has_range_index, 0);
    shmc_column_info ci;
    shmc_segment_column_info(seg, 1, &ci);
    assert_true(ci.flags & SHMC_COL_INDEX);
    shmc_segment_free(seg);
    free(buf);
    shmc_frame_free(f);
}

static void test_int_dictionary(void **s)
{
    (void)s;
    shmc_frame *f;
    shmc_frame_create(&f);
    shmc_frame_set_nrows(f, 6);
    int32_t cats[3] = {10, 20, 30};
    int8_t codes[6] = {0, 1, 2, -1, 2, 0};
    shmc_column_desc dict = {.kind = SHMC_KIND_INT32, .values = cats};
    shmc_column_desc d = {.kind = SHMC_KIND_CATEGORICAL,
                          .values = codes,
                          .code_kind = SHMC_KIND_INT8,
                          .categories = &dict,
                          .ncategories = 3};
    d.label = lab("k");
    assert_int_equal(shmc_frame_add_column(f, &d), SHMC_OK);
    uint8_t *buf;
    shmc_segment *seg = open_frame(f, 4, SHMC_CODEC_NONE, &buf, 0);
    shmc_column_info ci, di;
    shmc_segment_column_info(seg, 0, &ci);
    assert_int_equal(ci.dict_column, 1);
    assert_int_equal(ci.null_count, 1);
    assert_false(ci.flags & SHMC_COL_ORDERED);
    shmc_segment_column_info(seg, 1, &di);
    assert_int_equal(di.kind, SHMC_KIND_INT32);
    assert_int_equal(di.nrows, 3);
    assert_int_equal(di.nrowgroups, 1);
    const void *p;
    size_t len;
    assert_int_equal(shmc_segment_column_view(seg, 1, SHMC_ROLE_VALUES, &p, &len), SHMC_OK);
    assert_int_equal(len, 12);
    assert_memory_equal(p, cats, 12);
    shmc_segment_free(seg);
    free(buf);
    shmc_frame_free(f);
}

/* Same frame and options give the same bytes after the header, for any thread count. */
static void test_deterministic(void **s)
{
    (void)s;
    shmc_frame *f = hc_mixed_frame(700);
    uint8_t *a, *b;
    size_t la, lb;
    shmc_write_opts o;
    shmc_write_opts_init(&o);
    o.rows_per_chunk = 64;
    o.codec = SHMC_CODEC_ZSTD;
    o.threads = 1;
    assert_int_equal(hc_write_to_buffer(f, &o, &a, &la), SHMC_OK);
    o.threads = 2;
    assert_int_equal(hc_write_to_buffer(f, &o, &b, &lb), SHMC_OK);
    assert_int_equal(la, lb);
    assert_memory_equal(a + 128, b + 128, la - 128);
    assert_memory_equal(a, b, 80); /* header up to created_ns */
    free(a);
    free(b);
    shmc_frame_free(f);
}

static void test_no_verify_flag(void **s)
{
    (void)s;
    shmc_frame *f = float_frame(1, 64);
    uint8_t *buf;
    shmc_segment *seg = open_frame(f, 0, SHMC_CODEC_NONE, &buf, 0);
    shmc_chunk_info k;
    shmc_segment_chunk_info(seg, 0, &k);
    buf[k.offset] ^= 1;
    const void *p;
    size_t len;
    assert_int_equal(shmc_segment_chunk_view(seg, 0, &p, &len), SHMC_ERR_CHUNK_CHECKSUM);
    shmc_segment_info info;
    shmc_segment_info_get(seg, &info);
    assert_int_equal(shmc_segment_open_buffer(seg, buf, info.total_size, SHMC_OPEN_NO_VERIFY),
                     SHMC_OK);
    assert_int_equal(shmc_segment_chunk_view(seg, 0, &p, &len), SHMC_OK);
    assert_int_equal(shmc_segment_chunk_verify(seg, 0), SHMC_ERR_CHUNK_CHECKSUM);
    assert_int_equal(shmc_segment_open_buffer(seg, buf, info.total_size, 0x80),
                     SHMC_ERR_INVALID_ARG);
    assert_int_equal(shmc_segment_info_get(seg, &info), SHMC_ERR_INVALID_ARG); /* not open */
    shmc_segment_free(seg);
    free(buf);
    shmc_frame_free(f);
}

/* Bad descriptors are refused with the field and the column named. */
static void expect_add_error(shmc_column_desc *d, const char *field)
{
    shmc_frame *f;
    shmc_frame_create(&f);
    shmc_frame_set_nrows(f, 4);
    d->label = lab("bad_col");
    assert_int_equal(shmc_frame_add_column(f, d), SHMC_ERR_INVALID_ARG);
    assert_non_null(strstr(shmc_frame_errmsg(f), "bad_col"));
    assert_non_null(strstr(shmc_frame_errmsg(f), field));
    assert_int_equal(shmc_frame_ncolumns(f), 0);
    shmc_frame_free(f);
}

static void test_add_column_validation(void **s)
{
    (void)s;
    int64_t v[4] = {0};
    uint8_t m[4] = {0};
    int64_t off[5] = {0, 1, 2, 3, 4};
    shmc_column_desc d = {.kind = 99};
    expect_add_error(&d, "kind");
    d = (shmc_column_desc){.kind = SHMC_KIND_DATETIME, .values = v};
    expect_add_error(&d, "unit");
    d = (shmc_column_desc){.kind = SHMC_KIND_STRING, .offsets = off, .mask = m};
    expect_add_error(&d, "mask");
    d = (shmc_column_desc){.kind = SHMC_KIND_INT64, .values = v, .tz = "UTC"};
    expect_add_error(&d, "tz");
    d = (shmc_column_desc){
        .kind = SHMC_KIND_CATEGORICAL, .values = v, .code_kind = SHMC_KIND_FLOAT64};
    expect_add_error(&d, "code_kind");
    d = (shmc_column_desc){
        .kind = SHMC_KIND_CATEGORICAL, .values = v, .code_kind = SHMC_KIND_INT64};
    expect_add_error(&d, "categories");
    d = (shmc_column_desc){.kind = SHMC_KIND_INT64, .values = v, .flags = SHMC_COL_DICTIONARY};
    expect_add_error(&d, "flags");
}

static void expect_write_error(shmc_column_desc *d, uint64_t nrows, const char *field)
{
    shmc_frame *f;
    shmc_frame_create(&f);
    shmc_frame_set_nrows(f, nrows);
    d->label = lab("wcol");
    assert_int_equal(shmc_frame_add_column(f, d), SHMC_OK);
    char dest[256];
    hc_tmp_path(dest, sizeof dest, "bad");
    shmc_write_opts o;
    shmc_write_opts_init(&o);
    o.rows_per_chunk = 2;
    assert_int_equal(shmc_frame_write(f, dest, &o, NULL, 0), SHMC_ERR_INVALID_ARG);
    assert_non_null(strstr(shmc_frame_errmsg(f), "wcol"));
    assert_non_null(strstr(shmc_frame_errmsg(f), field));
    assert_int_not_equal(access(dest, F_OK), 0);
    shmc_frame_free(f);
}

static void test_write_validation(void **s)
{
    (void)s;
    int64_t off[5] = {0, 3, 2, 4, 4};
    int8_t codes[4] = {0, 1, 3, -1};
    int32_t cats[3] = {1, 2, 3};
    shmc_column_desc dict = {.kind = SHMC_KIND_INT32, .values = cats};
    shmc_column_desc d = {
        .kind = SHMC_KIND_STRING, .offsets = off, .data = (const uint8_t *)"abcd"};
    expect_write_error(&d, 4, "offsets decrease");
    d = (shmc_column_desc){.kind = SHMC_KIND_CATEGORICAL,
                           .values = codes,
                           .code_kind = SHMC_KIND_INT8,
                           .categories = &dict,
                           .ncategories = 3};
    expect_write_error(&d, 4, "code 3");
    d = (shmc_column_desc){.kind = SHMC_KIND_INT64};
    expect_write_error(&d, 4, "values");
    const void *blobs[1] = {"x"};
    size_t lens[1] = {1};
    d = (shmc_column_desc){
        .kind = SHMC_KIND_OBJECT, .blobs = blobs, .blob_lens = lens, .nblobs = 1};
    expect_write_error(&d, 4, "nblobs");
}

static void test_bad_opts(void **s)
{
    (void)s;
    shmc_frame *f = float_frame(1, 8);
    shmc_write_opts o;
    shmc_write_opts_init(&o);
    o.codec = 7;
    assert_int_equal(shmc_frame_write(f, "shm:", &o, NULL, 0), SHMC_ERR_INVALID_ARG);
    assert_non_null(strstr(shmc_frame_errmsg(f), "codec"));
    shmc_write_opts_init(&o);
    o.min_saving = 1.5;
    assert_int_equal(shmc_frame_write(f, "shm:", &o, NULL, 0), SHMC_ERR_INVALID_ARG);
    shmc_frame_free(f);
}

static void test_kind_helpers(void **s)
{
    (void)s;
    assert_int_equal(shmc_kind_itemsize(SHMC_KIND_INT16), 2);
    assert_int_equal(shmc_kind_itemsize(SHMC_KIND_DATETIME), 8);
    assert_int_equal(shmc_kind_itemsize(SHMC_KIND_STRING), 0);
    assert_int_equal(shmc_kind_itemsize(0), 0);
    assert_string_equal(shmc_kind_name(SHMC_KIND_CATEGORICAL), "categorical");
    assert_string_equal(shmc_kind_name(1000), "unknown");
}

static void on_progress(void *user, uint64_t done, uint64_t total)
{
    uint64_t *last = user; /* done, total, calls */
    assert_true(done <= total);
    assert_true(done >= last[0]);
    last[0] = done;
    last[1] = total;
    last[2]++;
}

/* The total is the frame's raw bytes, compressed or not (a bar must not say twice
 * the frame's size when zstd adds a phase). */
static void test_progress_called(void **s)
{
    (void)s;
    shmc_frame *f = float_frame(1, 9u << 20); /* 72 MiB: two batches of jobs */
    for (int codec = SHMC_CODEC_NONE; codec <= SHMC_CODEC_ZSTD; codec++) {
        uint64_t last[3] = {0, 0, 0};
        shmc_write_opts o;
        shmc_write_opts_init(&o);
        o.progress_user = last;
        o.progress = on_progress;
        o.rows_per_chunk = 1u << 20;
        o.codec = codec;
        uint8_t *buf;
        size_t len;
        assert_int_equal(hc_write_to_buffer(f, &o, &buf, &len), SHMC_OK);
        assert_int_equal(last[0], last[1]);
        assert_int_equal(last[1], (9u << 20) * 8); /* raw bytes */
        assert_true(last[2] >= 2);
        free(buf);
    }
    shmc_frame_free(f);
}

/* Says stop on its Nth call (counting in user[0]). */
static int cancel_on_call(void *user)
{
    int *calls = user;
    return ++calls[0] >= calls[1];
}

/* Cancelling from the callback stops the write at once, with its own status, and
 * leaves nothing behind: not before the space is reserved, nor mid-copy. */
static void test_cancel_removes_everything(void **s)
{
    (void)s;
    shmc_frame *f = float_frame(1, 9u << 20); /* two batches to place */
    for (int when = 1; when <= 3; when++) {
        char shm[128], path[256];
        hc_shm_name(shm, sizeof shm, "cancel");
        hc_tmp_path(path, sizeof path, "cancel");
        const char *dests[] = {shm, path};
        for (int d = 0; d < 2; d++) {
            int calls[2] = {0, when};
            shmc_write_opts o;
            shmc_write_opts_init(&o);
            o.cancel = cancel_on_call;
            o.cancel_user = calls;
            assert_int_equal(shmc_frame_write(f, dests[d], &o, NULL, 0), SHMC_ERR_CANCELLED);
            assert_int_equal(calls[0], when); /* asked no further once told to stop */
            assert_non_null(strstr(shmc_frame_errmsg(f), "cancelled"));
            shmc_segment *seg;
            assert_int_equal(shmc_segment_create(&seg), SHMC_OK);
            assert_int_equal(shmc_segment_open(seg, dests[d], 0), SHMC_ERR_NOT_FOUND);
            shmc_segment_free(seg);
        }
    }
    shmc_frame_free(f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_empty_frame),
        cmocka_unit_test(test_thousand_columns),
        cmocka_unit_test(test_chunk_info_rowgroups),
        cmocka_unit_test(test_views_zero_copy),
        cmocka_unit_test(test_column_view_not_adjacent),
        cmocka_unit_test(test_compressed_no_view),
        cmocka_unit_test(test_incompressible_stored_raw),
        cmocka_unit_test(test_view_is_read_only),
        cmocka_unit_test(test_labels_range_meta),
        cmocka_unit_test(test_label_exact_buffers),
        cmocka_unit_test(test_index_column_no_range),
        cmocka_unit_test(test_int_dictionary),
        cmocka_unit_test(test_deterministic),
        cmocka_unit_test(test_no_verify_flag),
        cmocka_unit_test(test_add_column_validation),
        cmocka_unit_test(test_write_validation),
        cmocka_unit_test(test_bad_opts),
        cmocka_unit_test(test_kind_helpers),
        cmocka_unit_test(test_progress_called),
        cmocka_unit_test(test_cancel_removes_everything),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
