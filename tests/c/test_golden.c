/* Golden segments: files written by the e645094 build (its own hand-written
 * msgpack codec; tools/make_golden_segments.py) must keep opening, with the same
 * contents, after the index moved onto msgpack-c -- and today's encoder must
 * write their index back byte for byte. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "format.h"
#include "helpers_core.h"
#include "index.h"
#include "shmchunk.h"

#define GOLDEN(name) SHMC_TEST_DATA "/golden/" name
#define NROWS        100

typedef struct expect_col {
    const char *label; /* str label, or NULL for the others */
    int kind;
    const char *dtype;
    int unit;
    const char *tz;
} expect_col;

/* The data columns of tools/make_golden_segments.py, in frame order. */
static const expect_col data_cols[] = {
    {"b", SHMC_KIND_BOOL, "bool", 0, NULL},
    {"i8", SHMC_KIND_INT8, "int8", 0, NULL},
    {"i16", SHMC_KIND_INT16, "int16", 0, NULL},
    {"i32", SHMC_KIND_INT32, "int32", 0, NULL},
    {"i64", SHMC_KIND_INT64, "int64", 0, NULL},
    {"u8", SHMC_KIND_UINT8, "uint8", 0, NULL},
    {"u16", SHMC_KIND_UINT16, "uint16", 0, NULL},
    {"u32", SHMC_KIND_UINT32, "uint32", 0, NULL},
    {"u64", SHMC_KIND_UINT64, "uint64", 0, NULL},
    {"f32", SHMC_KIND_FLOAT32, "float32", 0, NULL},
    {"f64", SHMC_KIND_FLOAT64, "float64", 0, NULL},
    {"dt", SHMC_KIND_DATETIME, "datetime64[us, Europe/Paris]", SHMC_UNIT_US, "Europe/Paris"},
    {"dts", SHMC_KIND_DATETIME, "datetime64[s]", SHMC_UNIT_S, NULL},
    {"td", SHMC_KIND_TIMEDELTA, "timedelta64[ms]", SHMC_UNIT_MS, NULL},
    {"cat", SHMC_KIND_CATEGORICAL, "category", 0, NULL},
    {"s", SHMC_KIND_STRING, "string[pyarrow]", 0, NULL},
    {"n", SHMC_KIND_INT64, "Int64", 0, NULL},
    {NULL, SHMC_KIND_FLOAT64, "float64", 0, NULL}, /* label 7 */
    {NULL, SHMC_KIND_OBJECT, "object", 0, NULL},   /* label ("t", 1), pickled */
};
#define NDATA (sizeof data_cols / sizeof data_cols[0])

static shmc_segment *open_golden(const char *path)
{
    shmc_segment *seg = NULL;
    assert_int_equal(shmc_segment_create(&seg), SHMC_OK);
    int rc = shmc_segment_open(seg, path, SHMC_OPEN_VERIFY_ALL);
    if (rc != SHMC_OK) fail_msg("%s: %s", path, shmc_segment_errmsg(seg));
    assert_int_equal(shmc_segment_verify(seg, NULL, NULL), SHMC_OK);
    return seg;
}

static void check_col(shmc_segment *seg, uint32_t id, const expect_col *e)
{
    shmc_column_info c;
    assert_int_equal(shmc_segment_column_info(seg, id, &c), SHMC_OK);
    assert_int_equal(c.kind, e->kind);
    assert_string_equal(c.dtype, e->dtype);
    assert_int_equal(c.unit, e->unit);
    if (e->tz) assert_string_equal(c.tz, e->tz);
    else assert_null(c.tz);
    assert_int_equal(c.nrows, NROWS);
    assert_int_equal(c.nrowgroups, 2);
    if (!e->label) return;
    assert_int_equal(c.label.type, SHMC_LABEL_STR);
    assert_int_equal(c.label.len, strlen(e->label));
    assert_memory_equal(c.label.str, e->label, c.label.len);
}

/* Data column i of the file sits at id i + first (1 with a stored index). */
static void check_columns(shmc_segment *seg, uint32_t first)
{
    for (uint32_t i = 0; i < NDATA; i++) check_col(seg, i + first, &data_cols[i]);
    shmc_column_info c;
    assert_int_equal(shmc_segment_column_info(seg, first + 17, &c), SHMC_OK);
    assert_int_equal(c.label.type, SHMC_LABEL_INT);
    assert_int_equal(c.label.i, 7);
    assert_int_equal(shmc_segment_column_info(seg, first + 18, &c), SHMC_OK);
    assert_int_equal(c.label.type, SHMC_LABEL_PICKLE);
    assert_true(c.label.len > 2 && (uint8_t)c.label.str[0] == 0x80); /* PROTO */
    assert_int_equal(shmc_segment_column_info(seg, first + 16, &c), SHMC_OK);
    assert_int_equal(c.null_count, 20); /* every fifth row */
    assert_int_equal(shmc_segment_column_info(seg, first + 14, &c), SHMC_OK);
    assert_true(c.flags & SHMC_COL_ORDERED);
    assert_int_equal(c.code_kind, SHMC_KIND_INT8);
    shmc_column_info dict;
    assert_int_equal(shmc_segment_column_info(seg, c.dict_column, &dict), SHMC_OK);
    assert_true(dict.flags & SHMC_COL_DICTIONARY);
    assert_int_equal(dict.nrows, 3);
}

static void check_values(shmc_segment *seg, uint32_t first)
{
    size_t len = 0;
    int64_t *i64 = (int64_t *)hc_decode_role(seg, first + 4, SHMC_ROLE_VALUES, &len);
    assert_int_equal(len, NROWS * 8);
    for (int64_t r = 0; r < NROWS; r++) assert_true(i64[r] == r * 1000000000000);
    free(i64);
    uint64_t *u64 = (uint64_t *)hc_decode_role(seg, first + 8, SHMC_ROLE_VALUES, &len);
    for (uint64_t r = 0; r < NROWS; r++) assert_true(u64[r] == r << 57);
    free(u64);
    uint8_t *mask = hc_decode_role(seg, first + 16, SHMC_ROLE_MASK, &len);
    assert_int_equal(len, NROWS);
    for (int r = 0; r < NROWS; r++) assert_int_equal(mask[r] != 0, r % 5 == 0);
    free(mask);
    char *data = (char *)hc_decode_role(seg, first + 15, SHMC_ROLE_DATA, &len);
    assert_memory_equal(data, "s1\xc3\xa9s2\xc3\xa9", 8); /* row 0 is missing: no bytes */
    free(data);
}

static void check_chunks_codec(shmc_segment *seg, int want_zstd)
{
    shmc_segment_info info;
    assert_int_equal(shmc_segment_info_get(seg, &info), SHMC_OK);
    int any_zstd = 0;
    for (uint32_t k = 0; k < info.nchunks; k++) {
        shmc_chunk_info ch;
        assert_int_equal(shmc_segment_chunk_info(seg, k, &ch), SHMC_OK);
        any_zstd |= ch.codec == SHMC_CODEC_ZSTD;
    }
    assert_int_equal(any_zstd, want_zstd);
}

static void check_meta(shmc_segment *seg)
{
    const void *meta = NULL;
    size_t len = 0;
    assert_int_equal(shmc_segment_meta(seg, &meta, &len), SHMC_OK);
    assert_true(len > 6);
    assert_non_null(memmem(meta, len, "golden", 6));
}

static void test_raw_range_index(void **state)
{
    (void)state;
    shmc_segment *seg = open_golden(GOLDEN("v1_raw.shmc"));
    shmc_segment_info info;
    assert_int_equal(shmc_segment_info_get(seg, &info), SHMC_OK);
    assert_int_equal(info.nrows, NROWS);
    assert_int_equal(info.rows_per_chunk, 64);
    assert_int_equal(info.ncolumns, NDATA + 1); /* + the categories */
    assert_true(info.has_range_index);
    assert_int_equal(info.range_start, 10);
    assert_int_equal(info.range_step, 3);
    assert_int_equal(info.range_name.type, SHMC_LABEL_STR);
    assert_memory_equal(info.range_name.str, "rid", 3);
    assert_int_equal(info.columns_name.type, SHMC_LABEL_NONE);
    check_columns(seg, 0);
    check_values(seg, 0);
    check_chunks_codec(seg, 0);
    check_meta(seg);
    shmc_segment_free(seg);
}

static void test_zstd_stored_index(void **state)
{
    (void)state;
    shmc_segment *seg = open_golden(GOLDEN("v1_zstd.shmc"));
    shmc_segment_info info;
    assert_int_equal(shmc_segment_info_get(seg, &info), SHMC_OK);
    assert_int_equal(info.ncolumns, NDATA + 2); /* + the index + the categories */
    assert_false(info.has_range_index);
    assert_int_equal(info.columns_name.type, SHMC_LABEL_INT);
    assert_int_equal(info.columns_name.i, 5);
    shmc_column_info ix;
    assert_int_equal(shmc_segment_column_info(seg, 0, &ix), SHMC_OK);
    assert_true(ix.flags & SHMC_COL_INDEX);
    assert_int_equal(ix.kind, SHMC_KIND_STRING);
    assert_int_equal(ix.label.type, SHMC_LABEL_NONE);
    check_columns(seg, 1);
    check_values(seg, 1);
    check_chunks_codec(seg, 1);
    check_meta(seg);
    shmc_segment_free(seg);
}

/* Decoding the old index and encoding it again gives the same bytes. */
static void reencode(const char *path)
{
    size_t len = 0;
    uint8_t *p = hc_read_file(path, &len);
    assert_non_null(p);
    uint64_t off = shmc_ld64(p + SHMC_HDR_INDEX_OFFSET), n = shmc_ld64(p + SHMC_HDR_INDEX_LEN);
    assert_true(off + n == len);
    shmc_index ix;
    shmc_err err = {0};
    assert_int_equal(shmc_index_decode(p + off, (size_t)n, &ix, &err), SHMC_OK);
    shmc_buf b = {0};
    assert_int_equal(shmc_index_encode(&ix, &b, &err), SHMC_OK);
    assert_int_equal(b.len, n);
    assert_memory_equal(b.p, p + off, n);
    shmc_buf_free(&b);
    shmc_index_free(&ix);
    free(p);
}

static void test_index_bytes_identical(void **state)
{
    (void)state;
    reencode(GOLDEN("v1_raw.shmc"));
    reencode(GOLDEN("v1_zstd.shmc"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_raw_range_index),
        cmocka_unit_test(test_zstd_stored_index),
        cmocka_unit_test(test_index_bytes_identical),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
