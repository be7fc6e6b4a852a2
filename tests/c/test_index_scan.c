/* The bounded pre-scan in front of msgpack-c (lib/core/index.c): hostile lengths,
 * counts and nesting are refused before msgpack-c allocates anything, and what
 * it will allocate is bounded by 24 bytes per index byte. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include <msgpack.h>

#include "index.h"
#include "shmchunk.h"

static int scan(const uint8_t *p, size_t len, size_t *zone, shmc_err *err)
{
    memset(err, 0, sizeof *err);
    *zone = 0;
    return shmc_index_prescan(p, len, zone, err);
}

static void expect_refused(const uint8_t *p, size_t len, const char *what)
{
    shmc_err err;
    size_t zone;
    assert_int_equal(scan(p, len, &zone, &err), SHMC_ERR_CORRUPT);
    if (!strstr(err.msg, what)) fail_msg("'%s' lacks '%s'", err.msg, what);
    assert_non_null(strstr(err.msg, "index byte"));
}

/* ---- format 2: the chunk table ------------------------------------------ */

static const shmc_chunk_info two_chunks[2] = {
    {.column = 0,
     .rowgroup = 0,
     .role = SHMC_ROLE_VALUES,
     .typesize = 8,
     .offset = 128,
     .stored_len = 80,
     .raw_len = 80,
     .xxh3 = 0x0123456789abcdefULL},
    {.column = 0,
     .rowgroup = 1,
     .role = SHMC_ROLE_VALUES,
     .codec = SHMC_CODEC_ZSTD,
     .shuffle = 1,
     .typesize = 8,
     .offset = 256,
     .stored_len = 17,
     .raw_len = 80,
     .xxh3 = 0xfedcba9876543210ULL},
};

/* An index of one int64 column in two row groups, encoded as format `version`. */
static void encode_two_chunks(int version, shmc_buf *b)
{
    shmc_column_info col = {.kind = SHMC_KIND_INT64, .nrows = 20};
    shmc_index ix = {.version = version,
                     .nrows = 20,
                     .rows_per_chunk = 10,
                     .columns = &col,
                     .ncolumns = 1,
                     .chunks = (shmc_chunk_info *)two_chunks,
                     .nchunks = 2};
    shmc_err err = {0};
    memset(b, 0, sizeof *b);
    assert_int_equal(shmc_index_encode(&ix, b, &err), SHMC_OK);
}

static void expect_decoded(const shmc_buf *b, int version)
{
    shmc_index ix;
    shmc_err err = {0};
    assert_int_equal(shmc_index_decode(b->p, b->len, &ix, &err), SHMC_OK);
    assert_int_equal(ix.version, version);
    assert_int_equal(ix.nchunks, 2);
    for (int i = 0; i < 2; i++) {
        const shmc_chunk_info *k = &ix.chunks[i], *e = &two_chunks[i];
        assert_true(k->column == e->column && k->rowgroup == e->rowgroup && k->role == e->role);
        assert_true(k->codec == e->codec && k->shuffle == e->shuffle && k->typesize == e->typesize);
        assert_true(k->offset == e->offset && k->stored_len == e->stored_len &&
                    k->raw_len == e->raw_len);
        assert_true(k->xxh3 == e->xxh3);
    }
    shmc_index_free(&ix);
}

static void expect_decode_refused(const shmc_buf *b, const char *what)
{
    shmc_index ix;
    shmc_err err = {0};
    assert_int_equal(shmc_index_decode(b->p, b->len, &ix, &err), SHMC_ERR_CORRUPT);
    if (!strstr(err.msg, what)) fail_msg("'%s' lacks '%s'", err.msg, what);
}

/* Where the bin of 96 record bytes starts (after 0xc4 0x60). */
static uint8_t *table_at(shmc_buf *b)
{
    for (size_t i = 0; i + 2 <= b->len; i++)
        if (b->p[i] == 0xc4 && b->p[i + 1] == 96) return b->p + i + 2;
    fail_msg("no chunk table in the index");
    return NULL;
}

/* Format 2 leaves out a plain column's flags (0) and nrows (the frame's); the decoder
 * fills them in. A dictionary keeps its nrows, and format 1 needs both keys. */
static int encode_col(int version, const shmc_column_info *col, shmc_buf *b)
{
    shmc_index ix = {.version = version,
                     .nrows = 20,
                     .rows_per_chunk = 10,
                     .columns = (shmc_column_info *)col,
                     .ncolumns = 1,
                     .chunks = (shmc_chunk_info *)two_chunks,
                     .nchunks = 2};
    shmc_err err = {0};
    memset(b, 0, sizeof *b);
    return shmc_index_encode(&ix, b, &err);
}

/* How many times the index holds `key` as a msgpack fixstr. */
static int key_count(const shmc_buf *b, const char *key)
{
    uint8_t pat[16];
    size_t n = strlen(key);
    pat[0] = (uint8_t)(0xa0 | n);
    memcpy(pat + 1, key, n);
    int count = 0;
    for (const uint8_t *at = b->p; (at = memmem(at, b->len - (size_t)(at - b->p), pat, n + 1));
         at++)
        count++;
    return count;
}

static void test_column_defaults_format2(void **state)
{
    (void)state;
    shmc_column_info plain = {.kind = SHMC_KIND_INT64, .nrows = 20};
    shmc_buf b;
    assert_int_equal(encode_col(0, &plain, &b), SHMC_OK);
    assert_int_equal(key_count(&b, "flags"), 0);
    assert_int_equal(key_count(&b, "nrows"), 1); /* the frame's only */
    shmc_index ix;
    shmc_err err = {0};
    assert_int_equal(shmc_index_decode(b.p, b.len, &ix, &err), SHMC_OK);
    assert_int_equal(ix.columns[0].flags, 0);
    assert_int_equal(ix.columns[0].nrows, 20);
    shmc_index_free(&ix);
    shmc_buf_free(&b);
    /* a dictionary of 3 rows: its nrows is written and read back */
    shmc_column_info dict = {.kind = SHMC_KIND_INT64, .nrows = 3, .flags = SHMC_COL_DICTIONARY};
    assert_int_equal(encode_col(0, &dict, &b), SHMC_OK);
    assert_int_equal(key_count(&b, "nrows"), 2);
    assert_int_equal(shmc_index_decode(b.p, b.len, &ix, &err), SHMC_OK);
    assert_int_equal(ix.columns[0].nrows, 3);
    shmc_index_free(&ix);
    shmc_buf_free(&b);
    /* format 1 writes both keys; without them a format-1 index is refused */
    assert_int_equal(encode_col(1, &plain, &b), SHMC_OK);
    assert_int_equal(key_count(&b, "flags"), 1);
    uint8_t *f = memmem(b.p, b.len,
                        "\xa5"
                        "flags",
                        6);
    f[1] = 'F'; /* an unknown key now: "flags" is missing */
    expect_decode_refused(&b, "lacks flags");
    shmc_buf_free(&b);
}

static void test_chunk_table_round_trip(void **state)
{
    (void)state;
    shmc_buf b;
    encode_two_chunks(0, &b); /* 0: the library's format, 2 */
    expect_decoded(&b, SHMC_FORMAT_VERSION);
    assert_int_equal(SHMC_FORMAT_VERSION, 2);
    assert_non_null(table_at(&b));
    shmc_buf_free(&b);
    encode_two_chunks(1, &b); /* format 1 still encodes and decodes as arrays */
    expect_decoded(&b, 1);
    shmc_buf_free(&b);
}

static void test_chunk_table_refusals(void **state)
{
    (void)state;
    shmc_buf b;
    encode_two_chunks(0, &b);
    table_at(&b)[11] = 1; /* reserved byte of record 0 */
    expect_decode_refused(&b, "reserved byte");
    table_at(&b)[11] = 0;
    table_at(&b)[48 + 8] = SHMC_ROLE_COUNT_; /* role of record 1 */
    expect_decode_refused(&b, "chunk 1:");
    table_at(&b)[48 + 8] = SHMC_ROLE_VALUES;
    table_at(&b)[-1] = 95; /* a bin one byte short of two records; the index ends one byte early */
    b.len -= 1;
    expect_decode_refused(&b, "48-byte records");
    shmc_buf_free(&b);
}

/* A format-2 index with format-1 chunk arrays (or the reverse) is refused. */
static void test_chunk_keys_follow_the_version(void **state)
{
    (void)state;
    shmc_buf b;
    encode_two_chunks(1, &b);
    for (size_t i = 0; i + 3 <= b.len; i++) /* "v": 1 -> 2 */
        if (b.p[i] == 0xa1 && b.p[i + 1] == 'v' && b.p[i + 2] == 1) b.p[i + 2] = 2;
    expect_decode_refused(&b, "needs `chunk_table`");
    shmc_buf_free(&b);
    encode_two_chunks(2, &b);
    for (size_t i = 0; i + 3 <= b.len; i++)
        if (b.p[i] == 0xa1 && b.p[i + 1] == 'v' && b.p[i + 2] == 2) b.p[i + 2] = 1;
    expect_decode_refused(&b, "needs `chunks`");
    shmc_buf_free(&b);
}

static void test_counts_beyond_the_bytes(void **state)
{
    (void)state;
    const uint8_t arr32[] = {0xdd, 0xff, 0xff, 0xff, 0xff, 0xc0, 0xc0};
    expect_refused(arr32, sizeof arr32, "container count exceeds");
    const uint8_t map16[] = {0xde, 0x80, 0x00, 0xa1, 'k', 0xc0};
    expect_refused(map16, sizeof map16, "container count exceeds");
    const uint8_t map_odd[] = {0x81, 0xc0}; /* one pair needs two bytes */
    expect_refused(map_odd, sizeof map_odd, "container count exceeds");
    const uint8_t str32[] = {0xdb, 0x00, 0x00, 0x10, 0x00, 'a', 'b'};
    expect_refused(str32, sizeof str32, "string length exceeds");
    const uint8_t bin8[] = {0xc4, 0x05, 1, 2};
    expect_refused(bin8, sizeof bin8, "string length exceeds");
    const uint8_t u64[] = {0xcf, 1, 2, 3};
    expect_refused(u64, sizeof u64, "truncated");
    const uint8_t hdr[] = {0xdc, 0x00};
    expect_refused(hdr, sizeof hdr, "truncated");
}

static void test_types_and_trailing_bytes(void **state)
{
    (void)state;
    const uint8_t ext8[] = {0x91, 0xc7, 0x01, 0x05, 0x00};
    expect_refused(ext8, sizeof ext8, "unsupported msgpack type");
    const uint8_t fixext[] = {0xd4, 0x01, 0x00};
    expect_refused(fixext, sizeof fixext, "unsupported msgpack type");
    const uint8_t never[] = {0xc1};
    expect_refused(never, sizeof never, "unsupported msgpack type");
    const uint8_t trailing[] = {0x80, 0x00};
    expect_refused(trailing, sizeof trailing, "trailing bytes");
    expect_refused(trailing, 0, "unexpected end");
}

static void test_nesting_depth(void **state)
{
    (void)state;
    uint8_t nest[SHMC_INDEX_SCAN_DEPTH + 2];
    shmc_err err;
    size_t zone;
    /* containers at depths 0 .. SCAN_DEPTH - 1, the last one empty: accepted */
    memset(nest, 0x91, SHMC_INDEX_SCAN_DEPTH - 1);
    nest[SHMC_INDEX_SCAN_DEPTH - 1] = 0x90;
    assert_int_equal(scan(nest, SHMC_INDEX_SCAN_DEPTH, &zone, &err), SHMC_OK);
    /* one more level: refused, whatever msgpack-c's own stack would allow */
    memset(nest, 0x91, SHMC_INDEX_SCAN_DEPTH);
    nest[SHMC_INDEX_SCAN_DEPTH] = 0x90;
    expect_refused(nest, SHMC_INDEX_SCAN_DEPTH + 1, "nesting too deep");
}

/* The zone msgpack-c gets is what its objects need: at most 24 bytes per index byte. */
static void test_zone_bound(void **state)
{
    (void)state;
    uint8_t nils[3 + 1000];
    nils[0] = 0xdc, nils[1] = 0x03, nils[2] = 0xe8; /* array16 of 1000 */
    memset(nils + 3, 0xc0, 1000);
    shmc_err err;
    size_t zone;
    assert_int_equal(scan(nils, sizeof nils, &zone, &err), SHMC_OK);
    assert_int_equal(zone, 1000 * sizeof(msgpack_object));
    assert_true(zone <= 24 * sizeof nils);
    uint8_t pairs[3 + 1000];
    pairs[0] = 0xde, pairs[1] = 0x01, pairs[2] = 0xf4; /* map16 of 500 nil: nil */
    memset(pairs + 3, 0xc0, 1000);
    assert_int_equal(scan(pairs, sizeof pairs, &zone, &err), SHMC_OK);
    assert_int_equal(zone, 500 * sizeof(msgpack_object_kv));
    assert_true(zone <= 24 * sizeof pairs);
}

/* A well-formed index still decodes through msgpack-c after the scan. */
/* The optional `freq` key round-trips; a freq outside [A-Za-z0-9+-_]{1,32} (one
 * a hostile writer encoded, bypassing shmc_frame_set_index_freq) is corrupt. */
static void test_freq_key(void **state)
{
    (void)state;
    static const char *const freqs[] = {"-2W-MON", "D;import os", "<DateOffset: days=1>",
                                        "123456789012345678901234567890123", ""};
    for (size_t i = 0; i < sizeof freqs / sizeof *freqs; i++) {
        shmc_column_info col = {.kind = SHMC_KIND_INT64, .nrows = 20};
        shmc_index ix = {.nrows = 20,
                         .rows_per_chunk = 10,
                         .columns = &col,
                         .ncolumns = 1,
                         .chunks = (shmc_chunk_info *)two_chunks,
                         .nchunks = 2,
                         .freq = freqs[i]};
        shmc_buf b = {0};
        shmc_err err = {0};
        assert_int_equal(shmc_index_encode(&ix, &b, &err), SHMC_OK);
        shmc_index out;
        if (i == 0) {
            assert_int_equal(shmc_index_decode(b.p, b.len, &out, &err), SHMC_OK);
            assert_string_equal(out.freq, "-2W-MON");
            shmc_index_free(&out);
        } else {
            expect_decode_refused(&b, "top-level entry");
        }
        shmc_buf_free(&b);
    }
}

static void test_decode_after_scan(void **state)
{
    (void)state;
    shmc_column_info col = {.kind = SHMC_KIND_INT64,
                            .label = {SHMC_LABEL_INT, NULL, 0, -7},
                            .nrows = 4,
                            .dtype = "int64"};
    shmc_chunk_info ch = {.role = SHMC_ROLE_VALUES,
                          .typesize = 8,
                          .offset = 128,
                          .stored_len = 32,
                          .raw_len = 32,
                          .xxh3 = 0x0123456789abcdefull};
    shmc_index ix = {.nrows = 4,
                     .rows_per_chunk = 4,
                     .has_range = 1,
                     .range_start = -5,
                     .range_step = 2,
                     .columns = &col,
                     .ncolumns = 1,
                     .chunks = &ch,
                     .nchunks = 1};
    shmc_buf b = {0};
    shmc_err err = {0};
    assert_int_equal(shmc_index_encode(&ix, &b, &err), SHMC_OK);
    shmc_index out;
    assert_int_equal(shmc_index_decode(b.p, b.len, &out, &err), SHMC_OK);
    assert_int_equal(out.ncolumns, 1);
    assert_int_equal(out.columns[0].label.type, SHMC_LABEL_INT);
    assert_int_equal(out.columns[0].label.i, -7);
    assert_string_equal(out.columns[0].dtype, "int64");
    assert_int_equal(out.chunks[0].xxh3, 0x0123456789abcdefull);
    assert_int_equal(out.range_start, -5);
    shmc_index_free(&out);
    shmc_buf_free(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_counts_beyond_the_bytes),
        cmocka_unit_test(test_types_and_trailing_bytes),
        cmocka_unit_test(test_nesting_depth),
        cmocka_unit_test(test_zone_bound),
        cmocka_unit_test(test_decode_after_scan),
        cmocka_unit_test(test_freq_key),
        cmocka_unit_test(test_chunk_table_round_trip),
        cmocka_unit_test(test_chunk_table_refusals),
        cmocka_unit_test(test_chunk_keys_follow_the_version),
        cmocka_unit_test(test_column_defaults_format2),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
