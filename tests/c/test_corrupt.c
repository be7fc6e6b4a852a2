/* Hostile and damaged segments: every error path of shmc_segment_open and of
 * chunk access returns its specific status, never crashes. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "codec.h"
#include "format.h"
#include "hash.h"
#include "helpers_core.h"
#include "index.h"
#include "shmchunk.h"

typedef struct fixture {
    uint8_t *buf;
    size_t len;
    uint8_t *work;
} fixture;

static int setup_codec(void **state, int codec)
{
    fixture *fx = calloc(1, sizeof *fx);
    shmc_frame *f = hc_mixed_frame(300);
    shmc_write_opts o;
    shmc_write_opts_init(&o);
    o.rows_per_chunk = 64;
    o.codec = codec;
    o.threads = 1;
    if (hc_write_to_buffer(f, &o, &fx->buf, &fx->len) != SHMC_OK) return -1;
    shmc_frame_free(f);
    fx->work = malloc(fx->len);
    *state = fx;
    return 0;
}
static int setup_raw(void **state) { return setup_codec(state, SHMC_CODEC_NONE); }
static int setup_zstd(void **state) { return setup_codec(state, SHMC_CODEC_ZSTD); }

static int teardown(void **state)
{
    fixture *fx = *state;
    free(fx->buf);
    free(fx->work);
    free(fx);
    return 0;
}

static int open_bytes(const uint8_t *p, size_t len, uint32_t flags)
{
    shmc_segment *seg;
    shmc_segment_create(&seg);
    int rc = shmc_segment_open_buffer(seg, p, len, flags);
    if (rc != SHMC_OK) assert_true(strlen(shmc_segment_errmsg(seg)) > 0);
    shmc_segment_free(seg);
    return rc;
}

static void fresh(fixture *fx) { memcpy(fx->work, fx->buf, fx->len); }
static uint64_t hdr64(const uint8_t *p, int off) { return shmc_ld64(p + off); }

/* Recompute index and header checksums after an edit (a forger's segment). */
static void reseal(uint8_t *p)
{
    uint64_t io = hdr64(p, SHMC_HDR_INDEX_OFFSET), il = hdr64(p, SHMC_HDR_INDEX_LEN);
    shmc_st64(p + SHMC_HDR_INDEX_XXH3, shmc_hash(p + io, (size_t)il));
    shmc_st64(p + SHMC_HDR_HEADER_XXH3, shmc_header_hash(p));
}

static void test_pristine_opens(void **state)
{
    fixture *fx = *state;
    assert_int_equal(open_bytes(fx->buf, fx->len, SHMC_OPEN_VERIFY_ALL), SHMC_OK);
}

static void test_bad_magic(void **state)
{
    fixture *fx = *state;
    fresh(fx);
    memcpy(fx->work, "PK\x03\x04xxxx", 8);
    assert_int_equal(open_bytes(fx->work, fx->len, 0), SHMC_ERR_BAD_MAGIC);
}

static void test_bad_version(void **state)
{
    fixture *fx = *state;
    fresh(fx);
    shmc_st16(fx->work + SHMC_HDR_VERSION, SHMC_FORMAT_VERSION + 1);
    reseal(fx->work);
    assert_int_equal(open_bytes(fx->work, fx->len, 0), SHMC_ERR_BAD_VERSION);
}

static void test_bad_layout(void **state)
{
    fixture *fx = *state;
    fresh(fx);
    shmc_st32(fx->work + SHMC_HDR_LAYOUT, SHMC_LAYOUT_SIGNATURE ^ 0x100u);
    reseal(fx->work);
    assert_int_equal(open_bytes(fx->work, fx->len, 0), SHMC_ERR_BAD_LAYOUT);
    fresh(fx);
    shmc_st16(fx->work + SHMC_HDR_HEADER_SIZE, 256);
    reseal(fx->work);
    assert_int_equal(open_bytes(fx->work, fx->len, 0), SHMC_ERR_BAD_LAYOUT);
}

static void test_unsealed(void **state)
{
    fixture *fx = *state;
    fresh(fx);
    memset(fx->work + SHMC_HDR_SEALED, 0, 8);
    assert_int_equal(open_bytes(fx->work, fx->len, 0), SHMC_ERR_UNSEALED);
}

/* Cut the segment at the start, inside and at the end of every region. */
static void test_truncated_everywhere(void **state)
{
    fixture *fx = *state;
    uint64_t io = hdr64(fx->buf, SHMC_HDR_INDEX_OFFSET), il = hdr64(fx->buf, SHMC_HDR_INDEX_LEN);
    size_t cuts[] = {0,
                     1,
                     7,
                     8,
                     64,
                     127,
                     128,
                     129,
                     200,
                     (size_t)io / 2,
                     (size_t)io - 1,
                     (size_t)io,
                     (size_t)(io + il / 2),
                     (size_t)(io + il - 1),
                     fx->len - 1};
    for (size_t i = 0; i < sizeof cuts / sizeof cuts[0]; i++) {
        uint8_t *p = malloc(cuts[i] + 1);
        memcpy(p, fx->buf, cuts[i]);
        assert_int_equal(open_bytes(p, cuts[i], 0), SHMC_ERR_TRUNCATED);
        free(p);
    }
    assert_int_equal(io + il, fx->len);
}

/* Each header byte flipped gives the status of the field it belongs to. */
static void test_header_every_byte(void **state)
{
    fixture *fx = *state;
    for (int b = 0; b < (int)SHMC_HEADER_SIZE; b++) {
        fresh(fx);
        fx->work[b] ^= 0x20;
        int want = b < 8                  ? SHMC_ERR_BAD_MAGIC
                   : b < 10               ? SHMC_ERR_BAD_VERSION
                   : b < 16               ? SHMC_ERR_BAD_LAYOUT
                   : b >= SHMC_HDR_SEALED ? SHMC_ERR_UNSEALED
                                          : SHMC_ERR_HEADER_CHECKSUM;
        assert_int_equal(open_bytes(fx->work, fx->len, 0), want);
    }
}

static void test_index_every_byte(void **state)
{
    fixture *fx = *state;
    uint64_t io = hdr64(fx->buf, SHMC_HDR_INDEX_OFFSET), il = hdr64(fx->buf, SHMC_HDR_INDEX_LEN);
    for (uint64_t b = io; b < io + il; b++) {
        fresh(fx);
        fx->work[b] ^= 0x01;
        assert_int_equal(open_bytes(fx->work, fx->len, 0), SHMC_ERR_INDEX_CHECKSUM);
    }
}

/* A forger who recomputes the checksums still cannot make the reader misbehave:
 * every single-byte change of the index is either harmless or CORRUPT. */
static void test_index_forged_every_byte(void **state)
{
    fixture *fx = *state;
    uint64_t io = hdr64(fx->buf, SHMC_HDR_INDEX_OFFSET), il = hdr64(fx->buf, SHMC_HDR_INDEX_LEN);
    static const uint8_t vals[] = {0x00, 0xff, 0xdd, 0xcf, 0x7f};
    unsigned corrupt = 0;
    for (uint64_t b = io; b < io + il; b++) {
        for (size_t v = 0; v < sizeof vals; v++) {
            fresh(fx);
            if (fx->work[b] == vals[v]) continue;
            fx->work[b] = vals[v];
            reseal(fx->work);
            int rc = open_bytes(fx->work, fx->len, SHMC_OPEN_VERIFY_ALL);
            assert_true(rc == SHMC_OK || rc == SHMC_ERR_CORRUPT || rc == SHMC_ERR_CHUNK_CHECKSUM);
            corrupt += rc != SHMC_OK;
        }
    }
    assert_true(corrupt > il); /* most edits must be caught */
}

/* A msgpack array claiming 2^32-1 entries in a tiny index: refused, no giant allocation. */
static void test_index_hostile_count(void **state)
{
    fixture *fx = *state;
    static const uint8_t idx[] = {0x85, 0xa1, 'v', 0x01, 0xa5, 'n',  'r',  'o',  'w', 's',
                                  0x00, 0xa3, 'r', 'p',  'c',  0x01, 0xa7, 'c',  'o', 'l',
                                  'u',  'm',  'n', 's',  0xdd, 0xff, 0xff, 0xff, 0xff};
    size_t len = SHMC_HEADER_SIZE + sizeof idx;
    uint8_t *p = calloc(1, len);
    memcpy(p, fx->buf, SHMC_HEADER_SIZE);
    memcpy(p + SHMC_HEADER_SIZE, idx, sizeof idx);
    shmc_st64(p + SHMC_HDR_TOTAL_SIZE, len);
    shmc_st64(p + SHMC_HDR_INDEX_OFFSET, SHMC_HEADER_SIZE);
    shmc_st64(p + SHMC_HDR_INDEX_LEN, sizeof idx);
    reseal(p);
    assert_int_equal(open_bytes(p, len, 0), SHMC_ERR_CORRUPT);
    free(p);
}

static void test_index_outside_segment(void **state)
{
    fixture *fx = *state;
    fresh(fx);
    shmc_st64(fx->work + SHMC_HDR_INDEX_OFFSET, fx->len - 4);
    shmc_st64(fx->work + SHMC_HDR_HEADER_XXH3, shmc_header_hash(fx->work));
    assert_int_equal(open_bytes(fx->work, fx->len, 0), SHMC_ERR_CORRUPT);
    fresh(fx);
    shmc_st64(fx->work + SHMC_HDR_INDEX_LEN, UINT64_MAX - 8);
    shmc_st64(fx->work + SHMC_HDR_HEADER_XXH3, shmc_header_hash(fx->work));
    assert_int_equal(open_bytes(fx->work, fx->len, 0), SHMC_ERR_CORRUPT);
}

typedef struct bad_log {
    uint32_t n, last;
    int status;
} bad_log;

static void on_bad(void *user, uint32_t chunk, int status, const char *msg)
{
    bad_log *l = user;
    l->n++;
    l->last = chunk;
    l->status = status;
    assert_non_null(strstr(msg, "chunk"));
}

/* One flipped byte in chunk i: exactly chunk i is reported, with CHUNK_CHECKSUM. */
static void test_each_chunk_flipped(void **state)
{
    fixture *fx = *state;
    shmc_segment *seg;
    shmc_segment_create(&seg);
    assert_int_equal(shmc_segment_open_buffer(seg, fx->buf, fx->len, 0), SHMC_OK);
    shmc_segment_info info;
    shmc_segment_info_get(seg, &info);
    shmc_chunk_info *ks = calloc(info.nchunks, sizeof *ks);
    for (uint32_t i = 0; i < info.nchunks; i++) shmc_segment_chunk_info(seg, i, &ks[i]);
    shmc_segment_free(seg);
    for (uint32_t i = 0; i < info.nchunks; i++) {
        if (ks[i].stored_len == 0) continue;
        fresh(fx);
        fx->work[ks[i].offset + ks[i].stored_len / 2] ^= 0x40;
        shmc_segment_create(&seg);
        assert_int_equal(shmc_segment_open_buffer(seg, fx->work, fx->len, 0), SHMC_OK);
        bad_log l = {0};
        assert_int_equal(shmc_segment_verify(seg, on_bad, &l), SHMC_ERR_CHUNK_CHECKSUM);
        assert_int_equal(l.n, 1);
        assert_int_equal(l.last, i);
        assert_int_equal(shmc_segment_chunk_verify(seg, i), SHMC_ERR_CHUNK_CHECKSUM);
        assert_non_null(strstr(shmc_segment_errmsg(seg), "chunk"));
        uint8_t *dst = malloc((size_t)ks[i].raw_len + 1);
        assert_int_equal(shmc_segment_chunk_decode(seg, i, dst, (size_t)ks[i].raw_len),
                         SHMC_ERR_CHUNK_CHECKSUM);
        free(dst);
        if (i + 1 < info.nchunks) assert_int_equal(shmc_segment_chunk_verify(seg, i + 1), SHMC_OK);
        shmc_segment_free(seg);
        assert_int_equal(open_bytes(fx->work, fx->len, SHMC_OPEN_VERIFY_ALL),
                         SHMC_ERR_CHUNK_CHECKSUM);
    }
    free(ks);
}

/* SHMC_OPEN_NO_VERIFY | SHMC_OPEN_VERIFY_DECODES (the Python binding's flags): views
 * are left unchecked for the caller, but a decode still checks what it decodes, so
 * bytes changed after the caller's check are refused, not decoded (issue 12). */
static void test_verify_decodes_flag(void **state)
{
    fixture *fx = *state;
    fresh(fx);
    shmc_segment *seg;
    shmc_segment_create(&seg);
    uint32_t flags = SHMC_OPEN_NO_VERIFY | SHMC_OPEN_VERIFY_DECODES;
    assert_int_equal(shmc_segment_open_buffer(seg, fx->work, fx->len, flags), SHMC_OK);
    shmc_chunk_info k;
    assert_int_equal(shmc_segment_chunk_info(seg, 0, &k), SHMC_OK);
    assert_true(k.stored_len > 0);
    uint8_t *dst = malloc((size_t)k.raw_len);
    assert_int_equal(shmc_segment_chunk_verify(seg, 0), SHMC_OK); /* the caller's check */
    fx->work[k.offset + k.stored_len / 2] ^= 0x40;                /* then the bytes change */
    assert_int_equal(shmc_segment_chunk_decode(seg, 0, dst, (size_t)k.raw_len),
                     SHMC_ERR_CHUNK_CHECKSUM);
    assert_non_null(
        strstr(shmc_segment_errmsg(seg), "chunk 0 (column 0 'b', row group 0, values)"));
    if (k.codec == SHMC_CODEC_NONE) {
        const void *p;
        size_t n;
        assert_int_equal(shmc_segment_chunk_view(seg, 0, &p, &n),
                         SHMC_OK); /* views: the caller's */
    }
    shmc_segment_free(seg);
    /* NO_VERIFY alone decodes the changed bytes as they are (a raw chunk) */
    shmc_segment_create(&seg);
    assert_int_equal(shmc_segment_open_buffer(seg, fx->work, fx->len, SHMC_OPEN_NO_VERIFY),
                     SHMC_OK);
    if (k.codec == SHMC_CODEC_NONE)
        assert_int_equal(shmc_segment_chunk_decode(seg, 0, dst, (size_t)k.raw_len), SHMC_OK);
    assert_int_equal(shmc_segment_open_buffer(seg, fx->work, fx->len, 0x8), SHMC_ERR_INVALID_ARG);
    shmc_segment_free(seg);
    free(dst);
}

/* Garbage in a compressed chunk whose checksum was forged: decode says CORRUPT
 * (or succeeds when the damage happens to decode to raw_len bytes), never overflows. */
static void test_compressed_payload_forged(void **state)
{
    fixture *fx = *state;
    shmc_segment *seg;
    shmc_segment_create(&seg);
    assert_int_equal(shmc_segment_open_buffer(seg, fx->buf, fx->len, 0), SHMC_OK);
    shmc_segment_info info;
    shmc_segment_info_get(seg, &info);
    unsigned compressed = 0, caught = 0;
    for (uint32_t i = 0; i < info.nchunks; i++) {
        shmc_chunk_info k;
        shmc_segment_chunk_info(seg, i, &k);
        if (k.codec == SHMC_CODEC_NONE) continue;
        compressed++;
        for (uint64_t b = 0; b < k.stored_len; b += 3) {
            fresh(fx);
            fx->work[k.offset + b] ^= 0x5a;
            shmc_segment *s2;
            shmc_segment_create(&s2);
            assert_int_equal(shmc_segment_open_buffer(s2, fx->work, fx->len, SHMC_OPEN_NO_VERIFY),
                             SHMC_OK);
            uint8_t *dst = malloc((size_t)k.raw_len + 1);
            int rc = shmc_segment_chunk_decode(s2, i, dst, (size_t)k.raw_len);
            assert_true(rc == SHMC_OK || rc == SHMC_ERR_CORRUPT);
            caught += rc == SHMC_ERR_CORRUPT;
            free(dst);
            shmc_segment_free(s2);
        }
    }
    shmc_segment_free(seg);
    assert_true(compressed > 0);
    assert_true(caught > 0);
}

/* Replace a chunk's checksum in the index: format 2 keeps it as 8 little-endian
 * bytes in the chunk's 48-byte record of `chunk_table` (lib/FORMAT.md). */
static void patch_chunk_hash(uint8_t *p, uint64_t old, uint64_t new_hash)
{
    uint64_t io = hdr64(p, SHMC_HDR_INDEX_OFFSET), il = hdr64(p, SHMC_HDR_INDEX_LEN);
    uint8_t pat[8], rep[8];
    shmc_st64(pat, old);
    shmc_st64(rep, new_hash);
    for (uint64_t b = io; b + 8 <= io + il; b++)
        if (memcmp(p + b, pat, 8) == 0) {
            memcpy(p + b, rep, 8);
            reseal(p);
            return;
        }
    fail_msg("chunk hash not found in the index");
}

/* String offsets that point past the data, with every checksum forged: the
 * chunk opens and views, but verify names it CORRUPT. */
static void test_forged_string_offsets(void **state)
{
    fixture *fx = *state;
    fresh(fx);
    shmc_segment *seg;
    shmc_segment_create(&seg);
    assert_int_equal(shmc_segment_open_buffer(seg, fx->work, fx->len, 0), SHMC_OK);
    uint32_t id;
    assert_int_equal(shmc_segment_chunk_find(seg, 14, 1, SHMC_ROLE_OFFSETS, &id), SHMC_OK);
    shmc_chunk_info k;
    shmc_segment_chunk_info(seg, id, &k);
    shmc_segment_free(seg);
    int64_t bad = 1 << 20;
    memcpy(fx->work + k.offset + 16, &bad, 8);
    patch_chunk_hash(fx->work, k.xxh3, shmc_hash(fx->work + k.offset, (size_t)k.stored_len));
    shmc_segment_create(&seg);
    assert_int_equal(shmc_segment_open_buffer(seg, fx->work, fx->len, 0), SHMC_OK);
    assert_int_equal(shmc_segment_chunk_verify(seg, id), SHMC_OK);
    bad_log l = {0};
    assert_int_equal(shmc_segment_verify(seg, on_bad, &l), SHMC_ERR_CORRUPT);
    assert_int_equal(l.n, 1);
    assert_int_equal(l.last, id);
    assert_non_null(strstr(shmc_segment_errmsg(seg), "offset"));
    assert_non_null(strstr(shmc_segment_errmsg(seg), "'s'"));
    shmc_segment_free(seg);
}

/* A sealed segment whose index is `ix` and whose chunk area is `area` zero bytes. */
static uint8_t *forge(const shmc_index *ix, size_t area, size_t *len)
{
    shmc_buf b = {0};
    assert_int_equal(shmc_index_encode(ix, &b, NULL), SHMC_OK);
    size_t io = SHMC_HEADER_SIZE + area;
    *len = io + b.len;
    uint8_t *p = calloc(1, *len);
    memcpy(p, SHMC_MAGIC, SHMC_MAGIC_LEN);
    shmc_st16(p + SHMC_HDR_VERSION,
              (uint16_t)(ix->version ? ix->version : SHMC_FORMAT_VERSION)); /* as the index says */
    shmc_st16(p + SHMC_HDR_HEADER_SIZE, SHMC_HEADER_SIZE);
    shmc_st32(p + SHMC_HDR_LAYOUT, SHMC_LAYOUT_SIGNATURE);
    shmc_st64(p + SHMC_HDR_TOTAL_SIZE, *len);
    shmc_st64(p + SHMC_HDR_INDEX_OFFSET, io);
    shmc_st64(p + SHMC_HDR_INDEX_LEN, b.len);
    memcpy(p + io, b.p, b.len);
    shmc_st64(p + SHMC_HDR_SEALED, SHMC_SEALED_MAGIC);
    reseal(p);
    shmc_buf_free(&b);
    return p;
}

/* Forge a segment of ix (see forge), open it with flags, free it: the status. */
static int open_forged(const shmc_index *ix, size_t area, uint32_t flags)
{
    size_t len;
    uint8_t *p = forge(ix, area, &len);
    int rc = open_bytes(p, len, flags);
    free(p);
    return rc;
}

/* A range-indexed frame of 4 rows in one row group over these columns and chunks. */
static shmc_index index_of(shmc_column_info *cols, uint32_t ncols, shmc_chunk_info *ch,
                           uint32_t nch)
{
    return (shmc_index){.nrows = 4,
                        .has_range = 1,
                        .range_step = 1,
                        .rows_per_chunk = 4,
                        .columns = cols,
                        .ncolumns = ncols,
                        .chunks = ch,
                        .nchunks = nch};
}

/* Forged indexes that are well-formed msgpack but lie about sizes. */
static void test_forged_sizes(void **state)
{
    (void)state;
    shmc_column_info col = {.kind = SHMC_KIND_INT64, .label = {SHMC_LABEL_STR, "x", 1, 0}};
    shmc_chunk_info ch = {.role = SHMC_ROLE_VALUES, .typesize = 8, .offset = 128};
    shmc_index ix = index_of(&col, 1, &ch, 1);
    col.nrows = 4;
    ch.raw_len = ch.stored_len = 32;
    ch.xxh3 = shmc_hash((const uint8_t[32]){0}, 32);
    assert_int_equal(open_forged(&ix, 64, SHMC_OPEN_VERIFY_ALL), SHMC_OK); /* the honest one */
    /* 2^61 rows in one row group of "0 bytes": the size product overflows to 0. */
    ix.nrows = col.nrows = ix.rows_per_chunk = 1ull << 61;
    ch.raw_len = ch.stored_len = 0;
    assert_int_equal(open_forged(&ix, 64, 0), SHMC_ERR_CORRUPT);
    /* A chunk running past the index. */
    ix.nrows = col.nrows = ix.rows_per_chunk = 4;
    ch.raw_len = ch.stored_len = 32;
    ch.offset = 64 * 3;
    assert_int_equal(open_forged(&ix, 64, 0), SHMC_ERR_CORRUPT);
    /* A misaligned chunk, a chunk inside the header, a compressed claim of 1 TB from 32 bytes. */
    ch.offset = 130;
    assert_int_equal(open_forged(&ix, 64, 0), SHMC_ERR_CORRUPT);
    ch.offset = 64;
    assert_int_equal(open_forged(&ix, 64, 0), SHMC_ERR_CORRUPT);
    ch.offset = 128;
    ch.codec = SHMC_CODEC_ZSTD;
    col.kind = SHMC_KIND_OBJECT;
    ch.role = SHMC_ROLE_PICKLE;
    ch.typesize = 1;
    ch.raw_len = 1ull << 40;
    assert_int_equal(open_forged(&ix, 64, 0), SHMC_ERR_CORRUPT);
    /* A datetime without a unit. */
    col = (shmc_column_info){.kind = SHMC_KIND_DATETIME, .nrows = 4};
    ch = (shmc_chunk_info){
        .role = SHMC_ROLE_VALUES, .typesize = 8, .offset = 128, .raw_len = 32, .stored_len = 32};
    ch.xxh3 = shmc_hash((const uint8_t[32]){0}, 32);
    assert_int_equal(open_forged(&ix, 64, 0), SHMC_ERR_CORRUPT);
    col.unit = SHMC_UNIT_MS;
    assert_int_equal(open_forged(&ix, 64, SHMC_OPEN_VERIFY_ALL), SHMC_OK);
    /* A categorical whose dictionary is itself. */
    col = (shmc_column_info){
        .kind = SHMC_KIND_CATEGORICAL, .code_kind = SHMC_KIND_INT8, .dict_column = 0, .nrows = 4};
    ch = (shmc_chunk_info){
        .role = SHMC_ROLE_VALUES, .typesize = 1, .offset = 128, .raw_len = 4, .stored_len = 4};
    assert_int_equal(open_forged(&ix, 64, 0), SHMC_ERR_CORRUPT);
}

/* Issue 12 #6: a dictionary column's row count is not tied to the frame's. With
 * nrows = rows_per_chunk = 2^64-1, 8 * (nrows + 1) wrapped to 0, a 0-byte offsets
 * chunk passed, and verify read offsets far past it (ASan heap-buffer-overflow). */
static void test_dictionary_rows_unbounded(void **state)
{
    (void)state;
    shmc_column_info col = {
        .kind = SHMC_KIND_STRING, .flags = SHMC_COL_DICTIONARY, .nrows = UINT64_MAX};
    shmc_chunk_info ch[2] = {
        {.role = SHMC_ROLE_OFFSETS, .typesize = 8, .offset = 128},
        {.role = SHMC_ROLE_DATA, .typesize = 1, .offset = 128},
    };
    ch[0].xxh3 = ch[1].xxh3 = shmc_hash(NULL, 0);
    shmc_index ix = {.nrows = 0,
                     .has_range = 1,
                     .range_step = 1,
                     .rows_per_chunk = UINT64_MAX,
                     .columns = &col,
                     .ncolumns = 1,
                     .chunks = ch,
                     .nchunks = 2};
    size_t len;
    uint8_t *p = forge(&ix, 64, &len);
    shmc_segment *seg;
    shmc_segment_create(&seg);
    assert_int_equal(shmc_segment_open_buffer(seg, p, len, 0), SHMC_ERR_CORRUPT);
    assert_non_null(strstr(shmc_segment_errmsg(seg), "column 0 (categories)"));
    assert_non_null(strstr(shmc_segment_errmsg(seg), "18446744073709551615 rows"));
    free(p);
    /* A 1-byte kind: 1 * (2^64-1) used to equal the "any length" marker. */
    col.kind = SHMC_KIND_BOOL;
    ch[0] = (shmc_chunk_info){.role = SHMC_ROLE_VALUES,
                              .typesize = 1,
                              .offset = 128,
                              .raw_len = 5,
                              .stored_len = 5,
                              .xxh3 = shmc_hash((const uint8_t[5]){0}, 5)};
    ix.nchunks = 1;
    p = forge(&ix, 64, &len);
    assert_int_equal(shmc_segment_open_buffer(seg, p, len, 0), SHMC_ERR_CORRUPT);
    assert_non_null(strstr(shmc_segment_errmsg(seg), "column 0 (categories)"));
    free(p);
    /* The largest legal row count still must match raw_len, and the message says so. */
    col.nrows = (uint64_t)INT64_MAX;
    ix.rows_per_chunk = (uint64_t)INT64_MAX;
    p = forge(&ix, 64, &len);
    assert_int_equal(shmc_segment_open_buffer(seg, p, len, 0), SHMC_ERR_CORRUPT);
    assert_non_null(strstr(shmc_segment_errmsg(seg),
                           "chunk 0 (column 0 (categories), row group 0, values) at byte 128"));
    assert_non_null(strstr(shmc_segment_errmsg(seg), "raw_len 5"));
    free(p);
    /* 2^63-1 string rows: 8 * (n + 1) overflows, refused as unstorable. */
    col.kind = SHMC_KIND_STRING;
    ch[0] = (shmc_chunk_info){
        .role = SHMC_ROLE_OFFSETS, .typesize = 8, .offset = 128, .xxh3 = shmc_hash(NULL, 0)};
    ix.nchunks = 2;
    p = forge(&ix, 64, &len);
    assert_int_equal(shmc_segment_open_buffer(seg, p, len, 0), SHMC_ERR_CORRUPT);
    assert_non_null(strstr(shmc_segment_errmsg(seg), "cannot be stored"));
    free(p);
    shmc_segment_free(seg);
}

/* More row groups than a chunk's 32-bit row-group field can name. */
static void test_rowgroups_beyond_u32(void **state)
{
    (void)state;
    shmc_index ix = {.nrows = 1ull << 40, .has_range = 1, .range_step = 1, .rows_per_chunk = 1};
    size_t len;
    uint8_t *p = forge(&ix, 64, &len);
    shmc_segment *seg;
    shmc_segment_create(&seg);
    assert_int_equal(shmc_segment_open_buffer(seg, p, len, 0), SHMC_ERR_CORRUPT);
    assert_non_null(strstr(shmc_segment_errmsg(seg), "2^32-1 row groups"));
    shmc_segment_free(seg);
    free(p);
}

/* Issue 12: pandas hands a stored zone name "dateutil/<path>" to dateutil, which opens
 * the file it names, and `shmchunk unpack` copied the name into its pickle. A zone
 * name must be IANA-style; the refusal names the column and the byte. */
static int open_with_zone(shmc_segment *seg, const char *tz)
{
    shmc_column_info col = {.kind = SHMC_KIND_DATETIME,
                            .unit = SHMC_UNIT_NS,
                            .nrows = 4,
                            .tz = tz,
                            .label = {SHMC_LABEL_STR, "when", 4, 0}};
    shmc_chunk_info ch = {.role = SHMC_ROLE_VALUES,
                          .typesize = 8,
                          .offset = 128,
                          .raw_len = 32,
                          .stored_len = 32,
                          .xxh3 = shmc_hash((const uint8_t[32]){0}, 32)};
    shmc_index ix = index_of(&col, 1, &ch, 1);
    size_t len;
    uint8_t *p = forge(&ix, 64, &len);
    int rc = shmc_segment_open_buffer(seg, p, len, SHMC_OPEN_VERIFY_ALL);
    free(p);
    return rc;
}

static void test_time_zone_names(void **state)
{
    (void)state;
    static const char *const good[] = {
        "UTC",       "Europe/Berlin",          "America/Argentina/Cordoba", "Etc/GMT+5",
        "UTC+01:00", "dateutil/Europe/Berlin", "America/Port-au-Prince",    ""};
    static const struct {
        const char *tz, *why;
    } bad[] = {
        {"dateutil/../../etc/passwd", "byte 9 (0x2e)"},
        {"/etc/passwd", "byte 0 (0x2f)"},
        {"dateutil//etc/passwd", "byte 9 (0x2f)"},
        {"Europe/Berlin/", "byte 13 (0x2f)"},
        {"UTC\n", "byte 3 (0x0a)"},
        {"Europe/Ber lin", "byte 10 (0x20)"},
    };
    shmc_segment *seg;
    shmc_segment_create(&seg);
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++)
        assert_int_equal(open_with_zone(seg, good[i]), SHMC_OK);
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        assert_int_equal(open_with_zone(seg, bad[i].tz), SHMC_ERR_CORRUPT);
        const char *msg = shmc_segment_errmsg(seg);
        assert_non_null(strstr(msg, "column 0 'when': time zone"));
        assert_non_null(strstr(msg, bad[i].why));
    }
    char longest[257];
    memset(longest, 'A', 256);
    longest[256] = '\0';
    assert_int_equal(open_with_zone(seg, longest), SHMC_ERR_CORRUPT);
    assert_non_null(strstr(shmc_segment_errmsg(seg), "256 bytes, more than 255"));
    longest[255] = '\0';
    assert_int_equal(open_with_zone(seg, longest), SHMC_OK);
    shmc_segment_free(seg);
}

/* An object column of `groups` row groups whose zstd chunks (stored_len bytes each,
 * content never decoded here) claim raw_len bytes each. */
static uint8_t *forge_expanding(uint32_t groups, uint64_t stored_len, uint64_t raw_len, size_t *len)
{
    static shmc_column_info col;
    static shmc_chunk_info ch[4];
    col = (shmc_column_info){
        .kind = SHMC_KIND_OBJECT, .label = {SHMC_LABEL_STR, "blob", 4, 0}, .nrows = groups};
    uint64_t stride = (stored_len + 63) / 64 * 64;
    for (uint32_t g = 0; g < groups; g++)
        ch[g] = (shmc_chunk_info){.rowgroup = g,
                                  .role = SHMC_ROLE_PICKLE,
                                  .codec = SHMC_CODEC_ZSTD,
                                  .typesize = 1,
                                  .offset = 128 + g * stride,
                                  .stored_len = stored_len,
                                  .raw_len = raw_len};
    shmc_index ix = {.nrows = groups,
                     .has_range = 1,
                     .range_step = 1,
                     .rows_per_chunk = 1,
                     .columns = &col,
                     .ncolumns = 1,
                     .chunks = ch,
                     .nchunks = groups};
    return forge(&ix, (size_t)(groups * stride), len);
}

/* Issue 12: 32768x expansion let a small segment demand ~32 GB with no caller cap. By
 * default a segment may decode to max(1 GiB, 1024 x its size): 64 KiB stored that claim
 * 2 GiB are refused at open, naming the chunk, column and sizes. */
static void test_decoded_default_cap(void **state)
{
    (void)state;
    size_t len;
    uint8_t *p = forge_expanding(1, 65536, 65536ull * 32768, &len);
    shmc_segment *seg;
    shmc_segment_create(&seg);
    assert_int_equal(shmc_segment_open_buffer(seg, p, len, 0), SHMC_ERR_LIMIT);
    const char *m = shmc_segment_errmsg(seg);
    assert_non_null(strstr(m, "chunk 0 (column 0 'blob', row group 0, pickle) at byte 128"));
    assert_non_null(strstr(m, "decodes to 2147483648 bytes from 65536 stored"));
    assert_non_null(strstr(m, "limit of 1073741824 bytes"));
    shmc_segment_free(seg);
    free(p);
    p = forge_expanding(1, 64, 64ull * 32768, &len); /* 2 MiB: within the default */
    assert_int_equal(open_bytes(p, len, 0), SHMC_OK);
    free(p);
}

/* The caller's cap counts the sum over chunks, names the chunk that crosses it, stays
 * set across opens, and SHMC_DECODED_UNLIMITED lifts it. */
static void test_decoded_cap_set(void **state)
{
    (void)state;
    size_t len;
    uint8_t *p = forge_expanding(2, 64, 2u << 20, &len);
    shmc_segment *seg;
    shmc_segment_create(&seg);
    assert_int_equal(shmc_segment_limit_set(seg, 3u << 20), SHMC_OK);
    assert_int_equal(shmc_segment_open_buffer(seg, p, len, 0), SHMC_ERR_LIMIT);
    assert_non_null(
        strstr(shmc_segment_errmsg(seg), "chunk 1 (column 0 'blob', row group 1, pickle)"));
    assert_non_null(strstr(shmc_segment_errmsg(seg), "limit of 3145728 bytes (set by the caller"));
    assert_int_equal(shmc_segment_open_buffer(seg, p, len, 0), SHMC_ERR_LIMIT); /* still set */
    assert_int_equal(shmc_segment_limit_set(seg, 4u << 20), SHMC_OK);
    assert_int_equal(shmc_segment_open_buffer(seg, p, len, 0), SHMC_OK);
    shmc_segment_info si;
    shmc_segment_info_get(seg, &si);
    assert_int_equal(si.raw_bytes, 4u << 20);
    free(p);
    p = forge_expanding(1, 65536, 65536ull * 32768, &len);
    assert_int_equal(shmc_segment_limit_set(seg, SHMC_DECODED_UNLIMITED), SHMC_OK);
    assert_int_equal(shmc_segment_open_buffer(seg, p, len, 0), SHMC_OK);
    assert_int_equal(shmc_segment_limit_set(NULL, 1), SHMC_ERR_INVALID_ARG);
    shmc_segment_free(seg);
    free(p);
}

/* A writer of the shared bytes flipping one byte of a compressed chunk, as the
 * owner of a foreign 0644 file can. */
typedef struct flipper {
    uint8_t *byte;
    int stop;
} flipper;

static void *flip_loop(void *arg)
{
    flipper *f = arg;
    while (!__atomic_load_n(&f->stop, __ATOMIC_RELAXED)) {
        uint8_t v = __atomic_load_n(f->byte, __ATOMIC_RELAXED);
        __atomic_store_n(f->byte, (uint8_t)(v ^ 0x5a), __ATOMIC_RELAXED);
    }
    return NULL;
}

/* The zstd chunk with the most stored bytes. */
static uint32_t biggest_zstd_chunk(shmc_segment *seg, shmc_chunk_info *out)
{
    shmc_segment_info si;
    shmc_segment_info_get(seg, &si);
    uint32_t best = UINT32_MAX;
    for (uint32_t i = 0; i < si.nchunks; i++) {
        shmc_chunk_info k;
        shmc_segment_chunk_info(seg, i, &k);
        if (k.codec == SHMC_CODEC_ZSTD && (best == UINT32_MAX || k.stored_len > out->stored_len)) {
            best = i;
            *out = k;
        }
    }
    assert_int_not_equal(best, UINT32_MAX);
    return best;
}

/* Issue 12: zstd decoded straight from the shared mapping after hashing it, so bytes
 * changed between the hash and the decode were decoded unchecked. Now the decoder reads
 * a private copy hashed while copied: every decode either fails its checksum or gives
 * exactly the original bytes, never another error nor other content. */
static void test_decode_reads_what_it_hashed(void **state)
{
    fixture *fx = *state;
    fresh(fx);
    shmc_segment *seg;
    shmc_segment_create(&seg);
    assert_int_equal(shmc_segment_open_buffer(seg, fx->work, fx->len, 0), SHMC_OK);
    shmc_chunk_info k = {0};
    uint32_t id = biggest_zstd_chunk(seg, &k);
    size_t n = (size_t)k.raw_len;
    uint8_t *good = malloc(n), *dst = malloc(n);
    assert_int_equal(shmc_segment_chunk_decode(seg, id, good, n), SHMC_OK);
    flipper f = {fx->work + k.offset + k.stored_len / 2, 0};
    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, flip_loop, &f), 0);
    unsigned ok = 0, refused = 0, wrong = 0;
    /* At least 20000 decodes, and on a loaded machine (where the flipper may not get
     * a core for a while) on until one overlapped a flip, for up to 60 s. */
    time_t deadline = time(NULL) + 60;
    for (int i = 0; i < 20000 || (refused == 0 && time(NULL) < deadline); i++) {
        int rc = shmc_segment_chunk_decode(seg, id, dst, n);
        if (rc == SHMC_OK) memcmp(dst, good, n) == 0 ? ok++ : wrong++;
        else rc == SHMC_ERR_CHUNK_CHECKSUM ? refused++ : wrong++;
    }
    __atomic_store_n(&f.stop, 1, __ATOMIC_RELAXED);
    pthread_join(t, NULL);
    print_message("decodes: %u exact, %u checksum refusals, %u wrong\n", ok, refused, wrong);
    assert_int_equal(wrong, 0);
    assert_true(refused > 0); /* the flipper did run */
    free(good);
    free(dst);
    shmc_segment_free(seg);
}

/* verify() on a handle opened before the damage sees it in the header and index. */
static void test_verify_rechecks_open_handle(void **state)
{
    fixture *fx = *state;
    uint64_t io = hdr64(fx->buf, SHMC_HDR_INDEX_OFFSET);
    int offs[] = {0, 9, 30, 50, 90, 121, -1, -2};
    int want[] = {SHMC_ERR_BAD_MAGIC,       SHMC_ERR_BAD_VERSION,     SHMC_ERR_HEADER_CHECKSUM,
                  SHMC_ERR_HEADER_CHECKSUM, SHMC_ERR_HEADER_CHECKSUM, SHMC_ERR_UNSEALED,
                  SHMC_ERR_INDEX_CHECKSUM,  SHMC_ERR_HEADER_CHECKSUM};
    for (size_t i = 0; i < sizeof offs / sizeof offs[0]; i++) {
        fresh(fx);
        shmc_segment *seg;
        shmc_segment_create(&seg);
        assert_int_equal(shmc_segment_open_buffer(seg, fx->work, fx->len, 0), SHMC_OK);
        if (offs[i] >= 0) fx->work[offs[i]] ^= 0x04;
        else fx->work[io + 3] ^= 0x04;
        if (offs[i] == -2) reseal(fx->work); /* a consistent but different segment */
        assert_int_equal(shmc_segment_verify(seg, NULL, NULL), want[i]);
        shmc_segment_free(seg);
    }
}

/* A range-indexed frame of 4 rows holding `col` alone, stored as one raw 32-byte values
 * chunk of zeros (*ch, with its checksum). */
static shmc_index one_chunk_index(shmc_column_info *col, shmc_chunk_info *ch)
{
    *ch = (shmc_chunk_info){
        .role = SHMC_ROLE_VALUES, .typesize = 8, .offset = 128, .raw_len = 32, .stored_len = 32};
    ch->xxh3 = shmc_hash((const uint8_t[32]){0}, 32);
    return index_of(col, 1, ch, 1);
}

/* The row index is the range or the INDEX columns, exactly one: a segment with neither
 * (pandas cannot build a RangeIndex of step 0: readers and the pickle writer failed late,
 * naming nothing) or with both is refused at open. */
static void test_forged_row_index(void **state)
{
    (void)state;
    shmc_column_info col = {
        .kind = SHMC_KIND_INT64, .label = {SHMC_LABEL_STR, "x", 1, 0}, .nrows = 4};
    shmc_chunk_info ch;
    shmc_index ix = one_chunk_index(&col, &ch);
    assert_int_equal(open_forged(&ix, 64, SHMC_OPEN_VERIFY_ALL), SHMC_OK); /* range */
    ix.has_range = 0;
    assert_int_equal(open_forged(&ix, 64, 0), SHMC_ERR_CORRUPT); /* neither */
    col.flags = SHMC_COL_INDEX;
    assert_int_equal(open_forged(&ix, 64, SHMC_OPEN_VERIFY_ALL), SHMC_OK); /* an INDEX column */
    ix.has_range = 1;
    assert_int_equal(open_forged(&ix, 64, 0), SHMC_ERR_CORRUPT); /* both */
}

/* A period column opens only with a "period[<freq>]" dtype and 8-byte values. */
static void test_forged_period(void **state)
{
    (void)state;
    shmc_column_info col = {.kind = SHMC_KIND_PERIOD,
                            .label = {SHMC_LABEL_STR, "p", 1, 0},
                            .nrows = 4,
                            .dtype = "period[Q-DEC]"};
    shmc_chunk_info ch;
    shmc_index ix = one_chunk_index(&col, &ch);
    static const char *const bad[] = {"",
                                      "period",
                                      "period[]",
                                      "period[D",
                                      "period[D]x",
                                      "period[D;]",
                                      "period[dateutil/../x]",
                                      "period[ D]",
                                      "int64"};
    assert_int_equal(open_forged(&ix, 64, SHMC_OPEN_VERIFY_ALL), SHMC_OK); /* the honest one */
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        col.dtype = bad[i];
        assert_int_equal(open_forged(&ix, 64, 0), SHMC_ERR_CORRUPT);
    }
    col.dtype = NULL; /* no dtype key at all */
    assert_int_equal(open_forged(&ix, 64, 0), SHMC_ERR_CORRUPT);
    col.dtype = "period[D]"; /* 4-byte values of a period column */
    ch.typesize = 4;
    ch.raw_len = ch.stored_len = 16;
    assert_int_equal(open_forged(&ix, 64, 0), SHMC_ERR_CORRUPT);
    ch.typesize = 8; /* a mask role on a period column */
    ch.raw_len = ch.stored_len = 32;
    ch.role = SHMC_ROLE_MASK;
    assert_int_equal(open_forged(&ix, 64, 0), SHMC_ERR_CORRUPT);
}

/* An interval column: two 8-byte bound roles of a valid subtype; closed-end flags
 * only on intervals; never the dictionary of a categorical. */
static void test_forged_interval(void **state)
{
    (void)state;
    shmc_column_info col[2] = {{.kind = SHMC_KIND_INTERVAL,
                                .label = {SHMC_LABEL_STR, "i", 1, 0},
                                .nrows = 4,
                                .code_kind = SHMC_KIND_FLOAT64,
                                .flags = SHMC_COL_CLOSED_LEFT}};
    shmc_chunk_info ch[2] = {
        {.role = SHMC_ROLE_VALUES, .typesize = 8, .offset = 128, .raw_len = 32, .stored_len = 32},
        {.role = SHMC_ROLE_RIGHT, .typesize = 8, .offset = 192, .raw_len = 32, .stored_len = 32}};
    ch[0].xxh3 = ch[1].xxh3 = shmc_hash((const uint8_t[32]){0}, 32);
    shmc_index ix = index_of(col, 1, ch, 2);
    assert_int_equal(open_forged(&ix, 128, SHMC_OPEN_VERIFY_ALL), SHMC_OK); /* the honest one */
    static const int bad_kinds[] = {0,
                                    SHMC_KIND_BOOL,
                                    SHMC_KIND_CATEGORICAL,
                                    SHMC_KIND_STRING,
                                    SHMC_KIND_OBJECT,
                                    SHMC_KIND_PERIOD,
                                    SHMC_KIND_INTERVAL,
                                    99};
    for (size_t i = 0; i < sizeof bad_kinds / sizeof bad_kinds[0]; i++) {
        col[0].code_kind = bad_kinds[i];
        assert_int_equal(open_forged(&ix, 128, 0), SHMC_ERR_CORRUPT);
    }
    col[0].code_kind = SHMC_KIND_DATETIME; /* a datetime subtype without a unit */
    assert_int_equal(open_forged(&ix, 128, 0), SHMC_ERR_CORRUPT);
    col[0].unit = SHMC_UNIT_US;
    assert_int_equal(open_forged(&ix, 128, 0), SHMC_OK);
    ix.nchunks = 1; /* the right bounds missing */
    assert_int_equal(open_forged(&ix, 128, 0), SHMC_ERR_CORRUPT);
    ix.nchunks = 2;
    ch[1].raw_len = ch[1].stored_len = 16; /* right bounds of 2 rows for 4 */
    assert_int_equal(open_forged(&ix, 128, 0), SHMC_ERR_CORRUPT);
    ch[1].raw_len = ch[1].stored_len = 32;
    col[0] =
        (shmc_column_info){.kind = SHMC_KIND_FLOAT64, .nrows = 4, .flags = SHMC_COL_CLOSED_RIGHT};
    ix.nchunks = 1; /* closed flags on a float column */
    assert_int_equal(open_forged(&ix, 128, 0), SHMC_ERR_CORRUPT);
    col[0].flags = 0;
    ch[0].role = SHMC_ROLE_RIGHT; /* a right role on a float column */
    assert_int_equal(open_forged(&ix, 128, 0), SHMC_ERR_CORRUPT);
    /* a categorical whose dictionary is an interval column */
    col[0] = (shmc_column_info){
        .kind = SHMC_KIND_CATEGORICAL, .code_kind = SHMC_KIND_INT64, .dict_column = 1, .nrows = 4};
    col[1] = (shmc_column_info){.kind = SHMC_KIND_INTERVAL,
                                .code_kind = SHMC_KIND_FLOAT64,
                                .nrows = 0,
                                .flags = SHMC_COL_DICTIONARY};
    ch[0].role = SHMC_ROLE_VALUES;
    ix.ncolumns = 2;
    assert_int_equal(open_forged(&ix, 128, 0), SHMC_ERR_CORRUPT);
    col[1].kind = SHMC_KIND_FLOAT64; /* the same with a float dictionary opens */
    assert_int_equal(open_forged(&ix, 128, 0), SHMC_OK);
}

/* A sparse column: per row group as many int32 row numbers as values, at most one
 * per row, whole entries; its fill value a one-row dictionary of the values' kind. */
static void test_forged_sparse(void **state)
{
    (void)state;
    shmc_column_info col[2] = {{.kind = SHMC_KIND_SPARSE,
                                .label = {SHMC_LABEL_STR, "s", 1, 0},
                                .nrows = 4,
                                .code_kind = SHMC_KIND_INT64,
                                .dict_column = 1},
                               {.kind = SHMC_KIND_INT64, .nrows = 1, .flags = SHMC_COL_DICTIONARY}};
    shmc_chunk_info ch[3] = {{.column = 0,
                              .role = SHMC_ROLE_VALUES,
                              .typesize = 8,
                              .offset = 128,
                              .raw_len = 16,
                              .stored_len = 16},
                             {.column = 0,
                              .role = SHMC_ROLE_INDICES,
                              .typesize = 4,
                              .offset = 192,
                              .raw_len = 8,
                              .stored_len = 8},
                             {.column = 1,
                              .role = SHMC_ROLE_VALUES,
                              .typesize = 8,
                              .offset = 256,
                              .raw_len = 8,
                              .stored_len = 8}};
    for (int i = 0; i < 3; i++)
        ch[i].xxh3 = shmc_hash((const uint8_t[64]){0}, (size_t)ch[i].raw_len);
    shmc_index ix = index_of(col, 2, ch, 3);
    assert_int_equal(open_forged(&ix, 192, SHMC_OPEN_VERIFY_ALL), SHMC_OK); /* the honest one */
    ch[1].raw_len = ch[1].stored_len = 4; /* 1 row number for 2 values */
    ch[1].xxh3 = shmc_hash((const uint8_t[4]){0}, 4);
    assert_int_equal(open_forged(&ix, 192, 0), SHMC_ERR_CORRUPT);
    ch[0].raw_len = ch[0].stored_len = 40; /* 5 values in a row group of 4 rows */
    ch[1].raw_len = ch[1].stored_len = 20;
    assert_int_equal(open_forged(&ix, 192, 0), SHMC_ERR_CORRUPT);
    ch[0].raw_len = ch[0].stored_len = 12; /* 1.5 values */
    ch[1].raw_len = ch[1].stored_len = 8;
    assert_int_equal(open_forged(&ix, 192, 0), SHMC_ERR_CORRUPT);
    ch[0].raw_len = ch[0].stored_len = 16;
    col[1].nrows = 2; /* a fill "value" of two rows */
    ch[2].raw_len = ch[2].stored_len = 16;
    assert_int_equal(open_forged(&ix, 192, 0), SHMC_ERR_CORRUPT);
    col[1].nrows = 1;
    ch[2].raw_len = ch[2].stored_len = 8;
    col[1].kind = SHMC_KIND_FLOAT64; /* fill of another kind */
    assert_int_equal(open_forged(&ix, 192, 0), SHMC_ERR_CORRUPT);
    col[1].kind = SHMC_KIND_INT64;
    col[0].code_kind = SHMC_KIND_STRING; /* values of a kind sparse does not store */
    assert_int_equal(open_forged(&ix, 192, 0), SHMC_ERR_CORRUPT);
    col[0].code_kind = SHMC_KIND_INT64;
    col[0].dict_column = 0; /* its own fill column */
    assert_int_equal(open_forged(&ix, 192, 0), SHMC_ERR_CORRUPT);
}

/* Sparse row numbers out of order, every checksum forged: the segment opens (its
 * contents are not read at open), and the pickle writer refuses it when it reads
 * the chunk, naming the entry -- never a pandas array built from it. */
static void test_forged_sparse_rows(void **state)
{
    (void)state;
    int32_t rows[] = {1, 2, 3};
    int64_t vals[] = {10, 20, 30}, fill = 0;
    shmc_column_desc fd = {.kind = SHMC_KIND_INT64, .values = &fill};
    shmc_column_desc d = {.kind = SHMC_KIND_SPARSE,
                          .code_kind = SHMC_KIND_INT64,
                          .values = vals,
                          .sparse_index = rows,
                          .nsparse = 3,
                          .categories = &fd,
                          .ncategories = 1,
                          .label = {SHMC_LABEL_STR, "s", 1, 0}};
    shmc_frame *f;
    assert_int_equal(shmc_frame_create(&f), SHMC_OK);
    shmc_frame_set_nrows(f, 5);
    assert_int_equal(shmc_frame_add_column(f, &d), SHMC_OK);
    uint8_t *p;
    size_t len;
    assert_int_equal(hc_write_to_buffer(f, NULL, &p, &len), SHMC_OK);
    shmc_frame_free(f);
    shmc_segment *seg;
    shmc_segment_create(&seg);
    assert_int_equal(shmc_segment_open_buffer(seg, p, len, 0), SHMC_OK);
    uint32_t id;
    shmc_chunk_info k;
    assert_int_equal(shmc_segment_chunk_find(seg, 0, 0, SHMC_ROLE_INDICES, &id), SHMC_OK);
    assert_int_equal(shmc_segment_chunk_info(seg, id, &k), SHMC_OK);
    shmc_segment_free(seg);
    int32_t bad[] = {2, 1, 3};
    memcpy(p + k.offset, bad, sizeof bad);
    patch_chunk_hash(p, k.xxh3, shmc_hash(p + k.offset, sizeof bad));
    shmc_segment_create(&seg);
    assert_int_equal(shmc_segment_open_buffer(seg, p, len, SHMC_OPEN_VERIFY_ALL), SHMC_OK);
    shmc_pickle_out out = {0};
    assert_int_equal(shmc_pickle_write(seg, NULL, 0, &out), SHMC_ERR_CORRUPT);
    assert_non_null(strstr(shmc_segment_errmsg(seg), "sparse row number 1 at entry 1"));
    shmc_pickle_out_free(&out);
    shmc_segment_free(seg);
    free(p);
}

int main(void)
{
    const struct CMUnitTest raw[] = {
        cmocka_unit_test(test_forged_sparse_rows),
        cmocka_unit_test(test_forged_sparse),
        cmocka_unit_test(test_forged_interval),
        cmocka_unit_test(test_forged_row_index),
        cmocka_unit_test(test_forged_period),
        cmocka_unit_test(test_pristine_opens),
        cmocka_unit_test(test_bad_magic),
        cmocka_unit_test(test_bad_version),
        cmocka_unit_test(test_bad_layout),
        cmocka_unit_test(test_unsealed),
        cmocka_unit_test(test_truncated_everywhere),
        cmocka_unit_test(test_header_every_byte),
        cmocka_unit_test(test_index_every_byte),
        cmocka_unit_test(test_index_forged_every_byte),
        cmocka_unit_test(test_index_hostile_count),
        cmocka_unit_test(test_forged_sizes),
        cmocka_unit_test(test_dictionary_rows_unbounded),
        cmocka_unit_test(test_rowgroups_beyond_u32),
        cmocka_unit_test(test_time_zone_names),
        cmocka_unit_test(test_decoded_default_cap),
        cmocka_unit_test(test_decoded_cap_set),
        cmocka_unit_test(test_index_outside_segment),
        cmocka_unit_test(test_each_chunk_flipped),
        cmocka_unit_test(test_forged_string_offsets),
        cmocka_unit_test(test_verify_rechecks_open_handle),
        cmocka_unit_test(test_verify_decodes_flag),
    };
    const struct CMUnitTest zstd[] = {
        cmocka_unit_test(test_pristine_opens),
        cmocka_unit_test(test_each_chunk_flipped),
        cmocka_unit_test(test_compressed_payload_forged),
        cmocka_unit_test(test_decode_reads_what_it_hashed),
        cmocka_unit_test(test_verify_decodes_flag),
        cmocka_unit_test(test_forged_string_offsets),
    };
    int fails = cmocka_run_group_tests_name("raw", raw, setup_raw, teardown);
    fails += cmocka_run_group_tests_name("zstd", zstd, setup_zstd, teardown);
    return fails;
}
