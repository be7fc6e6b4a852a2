/* SHMC_KIND_ARROW columns (segment format 2): what the writer stores for each Arrow
 * layout (bit-packed bools re-packed from a bit offset, int32/int64 offsets rebased
 * per row group, validity bitmaps, dictionaries), what the reader refuses at open and
 * at verify in forged indexes, and what the pickle writer refuses to hand pyarrow from
 * forged segments whose checksums are right (bad offsets, UTF-8, dictionary indices,
 * short data). The writer's streams of honest segments: test_pickle_write.c. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "arrow_format.h"
#include "codec.h"
#include "format.h"
#include "hash.h"
#include "helpers_core.h"
#include "index.h"
#include "shmchunk.h"

#define N    21 /* rows */
#define RPC  8  /* rows per chunk: row groups of 8, 8, 5 */
#define SKIP 5  /* the Arrow arrays start SKIP rows into their buffers (a slice) */

static shmc_label lab(const char *s) { return (shmc_label){SHMC_LABEL_STR, s, strlen(s), 0}; }

static int bit(const uint8_t *v, uint64_t i) { return (v[i >> 3] >> (i & 7)) & 1; }
static void set_bit(uint8_t *v, uint64_t i, int on)
{
    if (on) v[i >> 3] |= (uint8_t)(1u << (i & 7));
}

/* Source buffers of the test frame, as pyarrow would hold a slice [SKIP, SKIP + N). */
typedef struct src {
    int64_t ints[SKIP + N];
    uint8_t valid[(SKIP + N + 7) / 8]; /* row r of the slice is bit SKIP + r */
    uint8_t bools[(SKIP + N + 7) / 8];
    int32_t offs[SKIP + N + 1];
    char data[8 * (SKIP + N)];
    int8_t codes[N];
    int64_t dict_offs[4];
    char dict_data[8];
    uint8_t dec[16 * N];
} src;

static int row_valid(uint64_t r) { return r % 3 != 1; }

static void fill(src *s)
{
    memset(s, 0, sizeof *s);
    int32_t pos = 0;
    for (int i = 0; i < SKIP + N; i++) {
        s->ints[i] = 1000 + i;
        set_bit(s->valid, (uint64_t)i, i < SKIP || row_valid((uint64_t)(i - SKIP)));
        set_bit(s->bools, (uint64_t)i, i % 2);
        s->offs[i] = pos;
        for (int k = 0; k < i % 4; k++) s->data[pos++] = (char)('a' + i % 26);
    }
    s->offs[SKIP + N] = pos;
    for (int i = 0; i < N; i++) s->codes[i] = (int8_t)(i % 3);
    memcpy(s->dict_offs, (int64_t[]){0, 1, 3, 6}, sizeof s->dict_offs);
    memcpy(s->dict_data, "xyyzzz", 6);
    hc_fill(s->dec, sizeof s->dec, 7);
}

static void add(shmc_frame *f, shmc_column_desc *d, const char *name, const char *arrow)
{
    d->kind = SHMC_KIND_ARROW;
    d->label = lab(name);
    d->arrow = arrow;
    assert_int_equal(shmc_frame_add_column(f, d), SHMC_OK);
}

static shmc_frame *arrow_frame(src *s)
{
    shmc_frame *f;
    assert_int_equal(shmc_frame_create(&f), SHMC_OK);
    shmc_frame_set_nrows(f, N);
    shmc_column_desc d = {.values = s->ints + SKIP, .validity = s->valid, .validity_offset = SKIP};
    add(f, &d, "i", "l");
    d = (shmc_column_desc){.values = s->bools, .values_bit_offset = SKIP};
    add(f, &d, "b", "b");
    d = (shmc_column_desc){.offsets = (const int64_t *)(s->offs + SKIP),
                           .data = (const uint8_t *)s->data,
                           .validity = s->valid,
                           .validity_offset = SKIP};
    add(f, &d, "s", "u");
    shmc_column_desc dict = {.kind = SHMC_KIND_ARROW,
                             .arrow = "U",
                             .offsets = s->dict_offs,
                             .data = (const uint8_t *)s->dict_data};
    d = (shmc_column_desc){
        .values = s->codes, .categories = &dict, .ncategories = 3, .flags = SHMC_COL_ORDERED};
    add(f, &d, "d", "c");
    d = (shmc_column_desc){.values = s->dec};
    add(f, &d, "dec", "d:38,10");
    return f;
}

static shmc_segment *write_open(shmc_frame *f, int codec, uint64_t rpc, uint8_t **buf)
{
    shmc_write_opts o;
    shmc_write_opts_init(&o);
    o.rows_per_chunk = rpc;
    o.codec = codec;
    o.min_saving = 0.01;
    size_t len = 0;
    assert_int_equal(hc_write_to_buffer(f, &o, buf, &len), SHMC_OK);
    shmc_segment *seg;
    shmc_segment_create(&seg);
    assert_int_equal(shmc_segment_open_buffer(seg, *buf, len, SHMC_OPEN_VERIFY_ALL), SHMC_OK);
    return seg;
}

static uint8_t *chunk(shmc_segment *seg, uint32_t col, uint32_t rg, int role, size_t *len)
{
    uint32_t id;
    if (shmc_segment_chunk_find(seg, col, rg, role, &id) != SHMC_OK) return NULL;
    shmc_chunk_info k;
    shmc_segment_chunk_info(seg, id, &k);
    uint8_t *p = malloc(k.raw_len + 1);
    assert_int_equal(shmc_segment_chunk_decode(seg, id, p, (size_t)k.raw_len), SHMC_OK);
    *len = (size_t)k.raw_len;
    return p;
}

/* Every row group of every column holds the slice's rows from bit/byte/offset 0. */
static void check_contents(shmc_segment *seg, const src *s)
{
    for (uint32_t rg = 0; rg < 3; rg++) {
        uint64_t r0 = rg * RPC, n = rg < 2 ? RPC : N - 2 * RPC;
        size_t len = 0;
        uint8_t *v = chunk(seg, 0, rg, SHMC_ROLE_VALUES, &len);
        assert_int_equal(len, n * 8);
        assert_memory_equal(v, s->ints + SKIP + r0, len);
        free(v);
        uint8_t *val = chunk(seg, 0, rg, SHMC_ROLE_VALIDITY, &len);
        assert_non_null(val); /* every row group has a null (rows 1, 4, 7, ...) */
        assert_int_equal(len, (n + 7) / 8);
        for (uint64_t i = 0; i < n; i++) assert_int_equal(bit(val, i), row_valid(r0 + i));
        for (uint64_t i = n; i < 8 * len; i++) assert_int_equal(bit(val, i), 0); /* padding zero */
        free(val);
        uint8_t *b = chunk(seg, 1, rg, SHMC_ROLE_VALUES, &len);
        assert_int_equal(len, (n + 7) / 8);
        for (uint64_t i = 0; i < n; i++) assert_int_equal(bit(b, i), bit(s->bools, SKIP + r0 + i));
        free(b);
        uint8_t *o = chunk(seg, 2, rg, SHMC_ROLE_OFFSETS, &len);
        assert_int_equal(len, (n + 1) * 4);
        for (uint64_t i = 0; i <= n; i++) {
            int32_t got;
            memcpy(&got, o + 4 * i, 4);
            assert_int_equal(got, s->offs[SKIP + r0 + i] - s->offs[SKIP + r0]);
        }
        free(o);
    }
}

static void check_infos(shmc_segment *seg)
{
    shmc_segment_info si;
    shmc_segment_info_get(seg, &si);
    assert_int_equal(si.format_version, 2);
    assert_int_equal(si.ncolumns, 6); /* 5 + the dictionary */
    shmc_column_info ci;
    shmc_segment_column_info(seg, 0, &ci);
    assert_int_equal(ci.kind, SHMC_KIND_ARROW);
    assert_string_equal(ci.arrow, "l");
    assert_int_equal(ci.null_count, 7); /* rows 1, 4, ..., 19 */
    assert_int_equal(ci.dict_column, UINT32_MAX);
    shmc_segment_column_info(seg, 3, &ci);
    assert_int_equal(ci.dict_column, 5);
    assert_true(ci.flags & SHMC_COL_ORDERED);
    shmc_segment_column_info(seg, 5, &ci);
    assert_true(ci.flags & SHMC_COL_DICTIONARY);
    assert_string_equal(ci.arrow, "U");
    assert_int_equal(ci.nrows, 3);
    shmc_segment_column_info(seg, 4, &ci);
    assert_string_equal(shmc_arrow_name(ci.arrow), "decimal128");
    assert_int_equal(ci.raw_bytes, 16 * N);
}

static void roundtrip(int codec)
{
    src *s = malloc(sizeof *s);
    fill(s);
    shmc_frame *f = arrow_frame(s);
    uint8_t *buf;
    shmc_segment *seg = write_open(f, codec, RPC, &buf);
    check_infos(seg);
    check_contents(seg, s);
    assert_int_equal(shmc_segment_verify(seg, NULL, NULL), SHMC_OK);
    shmc_segment_free(seg);
    shmc_frame_free(f);
    free(buf);
    free(s);
}

static void test_roundtrip_raw(void **state)
{
    (void)state;
    roundtrip(SHMC_CODEC_NONE);
}
static void test_roundtrip_zstd(void **state)
{
    (void)state;
    roundtrip(SHMC_CODEC_ZSTD);
}

/* Every frame is written as the library's format (2: the chunk table), with or
 * without Arrow columns, and says so in the header and the index. */
static void test_plain_frame_is_current_format(void **state)
{
    (void)state;
    shmc_frame *f = hc_mixed_frame(50);
    uint8_t *buf;
    shmc_segment *seg = write_open(f, SHMC_CODEC_NONE, 64, &buf);
    shmc_segment_info si;
    shmc_segment_info_get(seg, &si);
    assert_int_equal(si.format_version, SHMC_FORMAT_VERSION);
    assert_int_equal(shmc_ld16(buf + SHMC_HDR_VERSION), SHMC_FORMAT_VERSION);
    shmc_segment_free(seg);
    shmc_frame_free(f);
    free(buf);
}

static void test_writer_refuses(void **state)
{
    (void)state;
    shmc_frame *f;
    shmc_frame_create(&f);
    shmc_frame_set_nrows(f, 2);
    int64_t v[2] = {0};
    shmc_column_desc d = {.kind = SHMC_KIND_ARROW, .label = lab("x"), .arrow = "+l", .values = v};
    assert_int_equal(shmc_frame_add_column(f, &d), SHMC_ERR_INVALID_ARG);
    assert_non_null(strstr(shmc_frame_errmsg(f), "nested"));
    d.arrow = NULL;
    assert_int_equal(shmc_frame_add_column(f, &d), SHMC_ERR_INVALID_ARG);
    d = (shmc_column_desc){.kind = SHMC_KIND_INT64, .label = lab("x"), .arrow = "l", .values = v};
    assert_int_equal(shmc_frame_add_column(f, &d), SHMC_ERR_INVALID_ARG);
    shmc_column_desc dict = {.kind = SHMC_KIND_ARROW, .arrow = "l", .values = v};
    d = (shmc_column_desc){.kind = SHMC_KIND_ARROW,
                           .label = lab("x"),
                           .arrow = "g",
                           .values = v,
                           .categories = &dict,
                           .ncategories = 2};
    assert_int_equal(shmc_frame_add_column(f, &d), SHMC_ERR_INVALID_ARG); /* float indices */
    assert_non_null(strstr(shmc_frame_errmsg(f), "not an integer"));
    shmc_frame_free(f);
}

static void test_layout_table(void **state)
{
    (void)state;
    static const struct {
        const char *fmt, *name;
    } ok[] = {
        {"b", "bool"},
        {"e", "float16"},
        {"tsn:", "timestamp"},
        {"tsu:Europe/Paris", "timestamp"},
        {"tdD", "date32"},
        {"ttn", "time64"},
        {"tDm", "duration"},
        {"d:38,10", "decimal128"},
        {"d:5,-2,128", "decimal128"},
        {"d:76,3,256", "decimal256"},
        {"w:3", "fixed_size_binary"},
        {"Z", "large_binary"},
    };
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++)
        assert_string_equal(shmc_arrow_name(ok[i].fmt), ok[i].name);
    static const char *const bad[] = {"",         "n",      "+l",  "+s", "d:39,1", "d:0,0", "d:5",
                                      "d:5,1,64", "d:5,1x", "w:0", "w:", "ts",     "tsx:",  "tsu",
                                      "tsu:a\tb", "ll",     "tdX", "vu", NULL};
    for (size_t i = 0; bad[i]; i++) assert_null(shmc_arrow_name(bad[i]));
    assert_null(shmc_arrow_name(NULL));
    shmc_arrow_layout l;
    const char *why;
    assert_int_equal(shmc_arrow_layout_of("+m", &l, &why), -1);
    assert_non_null(strstr(why, "opaque pickle"));
}

/* ---- forged indexes ------------------------------------------------------ */

/* A sealed segment of header version hv whose index is ix over `area` bytes of chunks
 * (filled by the caller through *area_out before resealing with reseal()). */
static uint8_t *forge(const shmc_index *ix, int hv, size_t area, size_t *len)
{
    shmc_buf b = {0};
    assert_int_equal(shmc_index_encode(ix, &b, NULL), SHMC_OK);
    size_t io = SHMC_HEADER_SIZE + area;
    *len = io + b.len;
    uint8_t *p = calloc(1, *len);
    memcpy(p, SHMC_MAGIC, SHMC_MAGIC_LEN);
    shmc_st16(p + SHMC_HDR_VERSION, (uint16_t)hv);
    shmc_st16(p + SHMC_HDR_HEADER_SIZE, SHMC_HEADER_SIZE);
    shmc_st32(p + SHMC_HDR_LAYOUT, SHMC_LAYOUT_SIGNATURE);
    shmc_st64(p + SHMC_HDR_TOTAL_SIZE, *len);
    shmc_st64(p + SHMC_HDR_INDEX_OFFSET, io);
    shmc_st64(p + SHMC_HDR_INDEX_LEN, b.len);
    memcpy(p + io, b.p, b.len);
    shmc_st64(p + SHMC_HDR_INDEX_XXH3, shmc_hash(p + io, b.len));
    shmc_st64(p + SHMC_HDR_HEADER_XXH3, shmc_header_hash(p));
    shmc_st64(p + SHMC_HDR_SEALED, SHMC_SEALED_MAGIC);
    shmc_buf_free(&b);
    return p;
}

/* Open status of the forgery; *msg receives a copy of the message. */
static int open_forged(const shmc_index *ix, int hv, char *msg, size_t cap)
{
    size_t len;
    uint8_t *p = forge(ix, hv, 256, &len);
    shmc_segment *seg;
    shmc_segment_create(&seg);
    int rc = shmc_segment_open_buffer(seg, p, len, 0);
    snprintf(msg, cap, "%s", shmc_segment_errmsg(seg));
    shmc_segment_free(seg);
    free(p);
    return rc;
}

/* Column 0: 4 rows of Arrow `fmt`, one row group, chunks as given (xxh3 of zeros). */
typedef struct forgery {
    shmc_column_info cols[2];
    shmc_chunk_info ch[4];
    shmc_index ix;
} forgery;

static void forgery_init(forgery *g, int kind, const char *fmt)
{
    memset(g, 0, sizeof *g);
    g->cols[0] = (shmc_column_info){
        .kind = kind, .label = lab("a"), .nrows = 4, .arrow = fmt, .dict_column = UINT32_MAX};
    g->ix = (shmc_index){.version = 2,
                         .nrows = 4,
                         .has_range = 1,
                         .range_step = 1,
                         .rows_per_chunk = 4,
                         .columns = g->cols,
                         .ncolumns = 1,
                         .chunks = g->ch};
}

static void forgery_chunk(forgery *g, uint32_t col, int role, uint32_t typesize, uint64_t raw_len)
{
    uint64_t off = 128 + 64 * (uint64_t)g->ix.nchunks;
    g->ch[g->ix.nchunks++] = (shmc_chunk_info){.column = col,
                                               .role = role,
                                               .typesize = typesize,
                                               .offset = off,
                                               .stored_len = raw_len,
                                               .raw_len = raw_len,
                                               .xxh3 = 0};
}

static void expect(forgery *g, int hv, int status, const char *needle)
{
    char msg[512];
    assert_int_equal(open_forged(&g->ix, hv, msg, sizeof msg), status);
    if (needle && !strstr(msg, needle)) fail_msg("'%s' not in: %s", needle, msg);
}

/* pyarrow's names: each parameterless format's alias leads back to it, synonyms too, and
 * nothing else (parametrised or unknown names) is taken. */
static void test_alias_table(void **state)
{
    (void)state;
    static const char *const fmts[] = {
        "b", "c", "C", "s",   "S",   "i",   "I",   "l",   "L",   "e",   "f",   "g",   "u",
        "U", "z", "Z", "tdD", "tdm", "tts", "ttm", "ttu", "ttn", "tDs", "tDm", "tDu", "tDn"};
    for (size_t i = 0; i < sizeof fmts / sizeof fmts[0]; i++) {
        const char *a = shmc_arrow_alias(fmts[i]);
        assert_non_null(a);
        assert_string_equal(shmc_arrow_format_of_alias(a, strlen(a)), fmts[i]);
    }
    assert_string_equal(shmc_arrow_alias("e"), "halffloat");
    assert_string_equal(shmc_arrow_alias("tdD"), "date32[day]");
    assert_string_equal(shmc_arrow_format_of_alias("utf8", 4), "u");
    assert_string_equal(shmc_arrow_format_of_alias("float64", 7), "g");
    assert_string_equal(shmc_arrow_format_of_alias("int64xyz", 5), "l"); /* len bounds it */
    assert_null(shmc_arrow_format_of_alias("int6", 4));
    assert_null(shmc_arrow_format_of_alias("timestamp[ns]", 13));
    assert_null(shmc_arrow_format_of_alias("null", 4));
    assert_null(shmc_arrow_alias("tsn:"));
    assert_null(shmc_arrow_alias("d:10,2"));
    assert_null(shmc_arrow_alias(NULL));
    assert_null(shmc_arrow_format_of_alias(NULL, 0));
}

static void test_forged_arrow_columns(void **state)
{
    (void)state;
    forgery g;
    forgery_init(&g, SHMC_KIND_ARROW, "l");
    forgery_chunk(&g, 0, SHMC_ROLE_VALUES, 8, 32);
    expect(&g, 2, SHMC_OK, NULL); /* the honest one */
    g.ix.version = 1;
    expect(&g, 1, SHMC_ERR_CORRUPT, "format 1 segment"); /* Arrow in format 1 */
    g.ix.version = 2;
    expect(&g, 1, SHMC_ERR_CORRUPT, "index says format 2, header (byte 8) says 1");
    g.ch[0].typesize = 4;
    expect(&g, 2, SHMC_ERR_CORRUPT, "typesize");
    g.ch[0].typesize = 8;
    g.ch[0].raw_len = g.ch[0].stored_len = 16;
    expect(&g, 2, SHMC_ERR_CORRUPT, "raw_len 16");
    g.cols[0].arrow = "+l";
    expect(&g, 2, SHMC_ERR_CORRUPT, "nested");
    g.cols[0].arrow = NULL;
    expect(&g, 2, SHMC_ERR_CORRUPT, "Arrow format");
    g.cols[0].arrow = "d:99,1";
    expect(&g, 2, SHMC_ERR_CORRUPT, "not an Arrow format");
    g.cols[0].arrow = "tsu:a\x01z";
    expect(&g, 2, SHMC_ERR_CORRUPT, "not an Arrow format");
    g.cols[0].arrow = "tsu:dateutil//etc/passwd"; /* pandas would open the path */
    expect(&g, 2, SHMC_ERR_CORRUPT, "not an Arrow format");
    g.cols[0].arrow = "tsu:../../etc/passwd";
    expect(&g, 2, SHMC_ERR_CORRUPT, "not an Arrow format");

    forgery_init(&g, SHMC_KIND_INT64, "l"); /* Arrow note on a numpy kind */
    forgery_chunk(&g, 0, SHMC_ROLE_VALUES, 8, 32);
    expect(&g, 2, SHMC_ERR_CORRUPT, "an Arrow format on a int64 column");

    forgery_init(&g, SHMC_KIND_ARROW, "b"); /* bytes where bits belong */
    forgery_chunk(&g, 0, SHMC_ROLE_VALUES, 1, 4);
    expect(&g, 2, SHMC_ERR_CORRUPT, "need 1 bytes");

    forgery_init(&g, SHMC_KIND_ARROW, "u"); /* int64 offsets for "u" */
    forgery_chunk(&g, 0, SHMC_ROLE_OFFSETS, 8, 40);
    forgery_chunk(&g, 0, SHMC_ROLE_DATA, 1, 0);
    expect(&g, 2, SHMC_ERR_CORRUPT, "typesize");
    g.ch[0].typesize = 4;
    expect(&g, 2, SHMC_ERR_CORRUPT, "need 20 bytes");
    g.ix.nchunks = 1;
    g.ch[0].raw_len = g.ch[0].stored_len = 20;
    expect(&g, 2, SHMC_ERR_CORRUPT, "0 data chunks"); /* required role missing */

    forgery_init(&g, SHMC_KIND_ARROW, "l"); /* a mask is not Arrow's */
    forgery_chunk(&g, 0, SHMC_ROLE_VALUES, 8, 32);
    forgery_chunk(&g, 0, SHMC_ROLE_MASK, 1, 4);
    expect(&g, 2, SHMC_ERR_CORRUPT, "role not allowed");
}

static void test_forged_arrow_dictionary(void **state)
{
    (void)state;
    forgery g;
    forgery_init(&g, SHMC_KIND_ARROW, "i");
    g.cols[0].dict_column = 1;
    g.cols[1] = (shmc_column_info){.kind = SHMC_KIND_ARROW,
                                   .flags = SHMC_COL_DICTIONARY,
                                   .nrows = 2,
                                   .arrow = "l",
                                   .dict_column = UINT32_MAX};
    g.ix.ncolumns = 2;
    forgery_chunk(&g, 0, SHMC_ROLE_VALUES, 4, 16);
    forgery_chunk(&g, 1, SHMC_ROLE_VALUES, 8, 16);
    expect(&g, 2, SHMC_OK, NULL);
    g.cols[0].arrow = "f";
    expect(&g, 2, SHMC_ERR_CORRUPT, "dictionary indices of Arrow type float32");
    g.cols[0].arrow = "i";
    g.cols[1].flags = 0;
    g.cols[1].nrows = 4;
    g.ch[1].raw_len = g.ch[1].stored_len = 32;
    expect(&g, 2, SHMC_ERR_CORRUPT, "not an Arrow dictionary");
    g.cols[1].flags = SHMC_COL_DICTIONARY;
    g.cols[1].kind = SHMC_KIND_INT64;
    g.cols[1].arrow = NULL;
    expect(&g, 2, SHMC_ERR_CORRUPT, "not an Arrow dictionary");
    g.cols[0].dict_column = 7;
    expect(&g, 2, SHMC_ERR_CORRUPT, "not an Arrow dictionary");
}

/* Offsets are content: open takes them, verify refuses them naming the row. */
static void test_forged_arrow_offsets(void **state)
{
    (void)state;
    forgery g;
    forgery_init(&g, SHMC_KIND_ARROW, "u");
    forgery_chunk(&g, 0, SHMC_ROLE_OFFSETS, 4, 20);
    forgery_chunk(&g, 0, SHMC_ROLE_DATA, 1, 3);
    size_t len;
    uint8_t *p = forge(&g.ix, 2, 256, &len);
    const int32_t offs[5] = {0, 2, 1, 3, 3}; /* decreasing at row 2 */
    memcpy(p + 128, offs, sizeof offs);
    /* fix the chunk checksums: re-encode the index with them */
    g.ch[0].xxh3 = shmc_hash(p + 128, 20);
    g.ch[1].xxh3 = shmc_hash(p + 192, 3);
    free(p);
    p = forge(&g.ix, 2, 256, &len);
    memcpy(p + 128, offs, sizeof offs);
    shmc_segment *seg;
    shmc_segment_create(&seg);
    assert_int_equal(shmc_segment_open_buffer(seg, p, len, 0), SHMC_OK);
    assert_int_equal(shmc_segment_verify(seg, NULL, NULL), SHMC_ERR_CORRUPT);
    assert_non_null(strstr(shmc_segment_errmsg(seg), "4-byte offset of row 2"));
    shmc_segment_free(seg);
    free(p);
}

/* ---- the pickle writer over forged contents ------------------------------ */
/* Chunk i of g holds bytes[i] (checksums made right, as a hostile writer can): open must
 * take it; returns the status of shmc_pickle_write and its message in msg. */
static int pickle_forged(forgery *g, const void *const *bytes, char *msg, size_t cap)
{
    for (uint32_t i = 0; i < g->ix.nchunks; i++)
        g->ch[i].xxh3 = shmc_hash(bytes[i], (size_t)g->ch[i].raw_len);
    size_t len;
    uint8_t *p = forge(&g->ix, 2, 256, &len);
    for (uint32_t i = 0; i < g->ix.nchunks; i++)
        memcpy(p + g->ch[i].offset, bytes[i], (size_t)g->ch[i].raw_len);
    shmc_segment *seg;
    shmc_segment_create(&seg);
    if (shmc_segment_open_buffer(seg, p, len, 0) != SHMC_OK)
        fail_msg("open: %s", shmc_segment_errmsg(seg));
    shmc_pickle_out out = {0};
    int rc = shmc_pickle_write(seg, NULL, 0, &out);
    snprintf(msg, cap, "%s", shmc_segment_errmsg(seg));
    shmc_pickle_out_free(&out);
    shmc_segment_free(seg);
    free(p);
    return rc;
}

static void expect_pickle(forgery *g, const void *const *bytes, int status, const char *needle)
{
    char msg[512];
    assert_int_equal(pickle_forged(g, bytes, msg, sizeof msg), status);
    if (needle && !strstr(msg, needle)) fail_msg("'%s' not in: %s", needle, msg);
}

/* A 4-row "u" column: offsets + data (+ a validity bitmap). */
static void string_forgery(forgery *g, uint64_t data_len, int with_validity)
{
    forgery_init(g, SHMC_KIND_ARROW, "u");
    forgery_chunk(g, 0, SHMC_ROLE_OFFSETS, 4, 20);
    forgery_chunk(g, 0, SHMC_ROLE_DATA, 1, data_len);
    if (with_validity) forgery_chunk(g, 0, SHMC_ROLE_VALIDITY, 1, 1);
}

static void test_pickle_forged_bad_offsets(void **state)
{
    (void)state;
    forgery g;
    string_forgery(&g, 3, 0);
    const int32_t good[5] = {0, 1, 2, 3, 3};
    expect_pickle(&g, (const void *const[]){good, "abc"}, SHMC_OK, NULL); /* the honest one */
    const int32_t back[5] = {0, 2, 1, 3, 3};                              /* decreasing at row 2 */
    expect_pickle(&g, (const void *const[]){back, "abc"}, SHMC_ERR_CORRUPT,
                  "chunk 0 (column 0): 4-byte offset of row 2 is 1");
    const int32_t neg[5] = {0, -8, 2, 3, 3}; /* negative: pyarrow would read before the data */
    expect_pickle(&g, (const void *const[]){neg, "abc"}, SHMC_ERR_CORRUPT, "offset of row 1");
}

/* Data shorter than the offsets say: the last offset points past it. */
static void test_pickle_forged_short_data(void **state)
{
    (void)state;
    forgery g;
    string_forgery(&g, 2, 0);
    const int32_t offs[5] = {0, 1, 2, 3, 3};
    expect_pickle(&g, (const void *const[]){offs, "ab"}, SHMC_ERR_CORRUPT,
                  "offset of row 3 is 3: not in order within [0, 2]");
}

static void test_pickle_forged_bad_utf8(void **state)
{
    (void)state;
    forgery g;
    string_forgery(&g, 4, 1);
    const int32_t offs[5] = {0, 1, 2, 4, 4};
    const uint8_t all_valid = 0x0f, row1_null = 0x0d;
    expect_pickle(&g, (const void *const[]){offs, "a\xff\xc3\xa9", &all_valid}, SHMC_ERR_CORRUPT,
                  "chunk 1 (column 0): row 1 is not UTF-8 at data byte 1");
    /* a null row's bytes are not a string: Arrow ignores them, so do we */
    expect_pickle(&g, (const void *const[]){offs, "a\xff\xc3\xa9", &row1_null}, SHMC_OK, NULL);
    /* an encoded surrogate (pickle's surrogatepass takes it, Arrow does not) */
    const int32_t sur[5] = {0, 1, 4, 4, 4};
    string_forgery(&g, 4, 1);
    expect_pickle(&g, (const void *const[]){sur, "a\xed\xa0\x80", &all_valid}, SHMC_ERR_CORRUPT,
                  "row 1 is not UTF-8 at data byte 1");
}

/* Column 0: 4 int8 indices (+ validity), column 1: its dictionary of 2 int64. */
static void dict_forgery(forgery *g)
{
    forgery_init(g, SHMC_KIND_ARROW, "c");
    g->cols[0].dict_column = 1;
    g->cols[1] = (shmc_column_info){.kind = SHMC_KIND_ARROW,
                                    .flags = SHMC_COL_DICTIONARY,
                                    .nrows = 2,
                                    .arrow = "l",
                                    .dict_column = UINT32_MAX};
    g->ix.ncolumns = 2;
    forgery_chunk(g, 0, SHMC_ROLE_VALUES, 1, 4);
    forgery_chunk(g, 0, SHMC_ROLE_VALIDITY, 1, 1);
    forgery_chunk(g, 1, SHMC_ROLE_VALUES, 8, 16);
}

static void test_pickle_forged_dictionary_index(void **state)
{
    (void)state;
    forgery g;
    dict_forgery(&g);
    const int64_t dict[2] = {10, 20};
    const int8_t idx[4] = {0, 1, 5, 1}, neg[4] = {0, -1, 1, 1};
    const uint8_t all_valid = 0x0f, row2_null = 0x0b;
    expect_pickle(&g, (const void *const[]){idx, &all_valid, dict}, SHMC_ERR_CORRUPT,
                  "chunk 0 (column 0): dictionary index 5 at row 2 outside [0, 2)");
    expect_pickle(&g, (const void *const[]){neg, &all_valid, dict}, SHMC_ERR_CORRUPT,
                  "dictionary index -1 at row 1");
    /* a null row's index is never looked up */
    expect_pickle(&g, (const void *const[]){idx, &row2_null, dict}, SHMC_OK, NULL);
}

/* Values pyarrow.Array.from_buffers takes without a look but Arrow's full validation (and
 * the Python reader) refuses: pandas showed a time32[s] of 432000 as 00:00:00 and a
 * decimal(5, 2) of 2^127 with 39 digits. A null row's value is not looked at. */
static void put_i128(uint8_t *v, int64_t lo, int64_t hi)
{
    memcpy(v, &lo, 8);
    memcpy(v + 8, &hi, 8);
}

static void test_pickle_forged_time_date_decimal_out_of_range(void **state)
{
    (void)state;
    forgery g;
    forgery_init(&g, SHMC_KIND_ARROW, "tts");
    forgery_chunk(&g, 0, SHMC_ROLE_VALUES, 4, 16);
    forgery_chunk(&g, 0, SHMC_ROLE_VALIDITY, 1, 1);
    const int32_t t32[4] = {0, 86399, 432000, 7};
    const uint8_t all_valid = 0x0f, row2_null = 0x0b;
    expect_pickle(&g, (const void *const[]){t32, &all_valid}, SHMC_ERR_CORRUPT,
                  "chunk 0 (column 0): row 2 (chunk byte 8) is not a time of day within one day "
                  "of Arrow format 'tts'");
    expect_pickle(&g, (const void *const[]){t32, &row2_null}, SHMC_OK, NULL);
    const int32_t neg[4] = {0, -1, 1, 2};
    expect_pickle(&g, (const void *const[]){neg, &all_valid}, SHMC_ERR_CORRUPT, "row 1");

    forgery_init(&g, SHMC_KIND_ARROW, "tdm");
    forgery_chunk(&g, 0, SHMC_ROLE_VALUES, 8, 32);
    const int64_t days[4] = {0, -86400000, 86400000LL * 5, 86400001};
    expect_pickle(&g, (const void *const[]){days}, SHMC_ERR_CORRUPT,
                  "row 3 (chunk byte 24) is not a whole number of days");

    forgery_init(&g, SHMC_KIND_ARROW, "d:5,2");
    forgery_chunk(&g, 0, SHMC_ROLE_VALUES, 16, 64);
    uint8_t dec[64];
    put_i128(dec, 99999, 0);
    put_i128(dec + 16, -99999, -1);
    put_i128(dec + 32, 100000, 0);
    put_i128(dec + 48, 0, 0);
    expect_pickle(&g, (const void *const[]){dec}, SHMC_ERR_CORRUPT,
                  "row 2 (chunk byte 32) is not a decimal within its precision of Arrow format "
                  "'d:5,2'");
    put_i128(dec + 32, -100000, -1);
    expect_pickle(&g, (const void *const[]){dec}, SHMC_ERR_CORRUPT, "row 2");
    put_i128(dec + 32, 0, INT64_MIN); /* the minimum: its negation is 2^127 */
    expect_pickle(&g, (const void *const[]){dec}, SHMC_ERR_CORRUPT, "row 2");
    put_i128(dec + 32, 5, 0);
    expect_pickle(&g, (const void *const[]){dec}, SHMC_OK, NULL);

    /* the bounds at 38 and 76 digits: 10^38 - 1 = 0x4b3b4ca85a86c47a098a223fffffffff;
     * 10^76 (the rule's own limbs, 0x161bcca7...19510000000000000000000) and 10^76 - 1 */
    shmc_arrow_rule r;
    uint8_t v[32];
    shmc_arrow_rule_of("d:38,0", &r);
    put_i128(v, (int64_t)0x098a223fffffffffULL, (int64_t)0x4b3b4ca85a86c47aULL);
    assert_true(shmc_arrow_value_ok(&r, 16, v));
    put_i128(v, (int64_t)0x098a224000000000ULL, (int64_t)0x4b3b4ca85a86c47aULL);
    assert_false(shmc_arrow_value_ok(&r, 16, v));
    put_i128(v, (int64_t)0xf675ddc000000001ULL, (int64_t)0xb4c4b357a5793b85ULL); /* -(10^38-1) */
    assert_true(shmc_arrow_value_ok(&r, 16, v));
    put_i128(v, (int64_t)0xf675ddc000000000ULL, (int64_t)0xb4c4b357a5793b85ULL); /* -10^38 */
    assert_false(shmc_arrow_value_ok(&r, 16, v));
    shmc_arrow_rule_of("d:76,0,256", &r);
    memcpy(v, r.pow10, 32); /* 10^76 */
    assert_false(shmc_arrow_value_ok(&r, 32, v));
    for (size_t i = 0; i < 32 && v[i]-- == 0; i++) /* 10^76 - 1, borrowing */
        ;
    assert_int_equal(v[0], 0xff); /* 10^76 = 2^76 * 5^76: the borrow ran through 9 bytes */
    assert_true(shmc_arrow_value_ok(&r, 32, v));
    shmc_arrow_rule_of("ttn", &r);
    const int64_t day_ns = 86400000000000LL, last = day_ns - 1;
    assert_true(shmc_arrow_value_ok(&r, 8, (const uint8_t *)&last));
    assert_false(shmc_arrow_value_ok(&r, 8, (const uint8_t *)&day_ns));
    shmc_arrow_rule_of("l", &r);
    assert_int_equal(r.kind, SHMC_ARROW_RULE_NONE);
}

/* A bitmap or values chunk shorter than its rows never reaches the writer: open refuses
 * it (the writer checks again, as it does every length it slices by). */
static void test_pickle_forged_short_chunk(void **state)
{
    (void)state;
    forgery g;
    forgery_init(&g, SHMC_KIND_ARROW, "l");
    forgery_chunk(&g, 0, SHMC_ROLE_VALUES, 8, 24);
    expect(&g, 2, SHMC_ERR_CORRUPT, "raw_len 24 does not match the row count");
    forgery_init(&g, SHMC_KIND_ARROW, "b");
    forgery_chunk(&g, 0, SHMC_ROLE_VALUES, 1, 1);
    forgery_chunk(&g, 0, SHMC_ROLE_VALIDITY, 1, 0);
    expect(&g, 2, SHMC_ERR_CORRUPT, "raw_len 0 does not match the row count");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_roundtrip_raw),
        cmocka_unit_test(test_roundtrip_zstd),
        cmocka_unit_test(test_plain_frame_is_current_format),
        cmocka_unit_test(test_writer_refuses),
        cmocka_unit_test(test_layout_table),
        cmocka_unit_test(test_alias_table),
        cmocka_unit_test(test_forged_arrow_columns),
        cmocka_unit_test(test_forged_arrow_dictionary),
        cmocka_unit_test(test_forged_arrow_offsets),
        cmocka_unit_test(test_pickle_forged_bad_offsets),
        cmocka_unit_test(test_pickle_forged_short_data),
        cmocka_unit_test(test_pickle_forged_bad_utf8),
        cmocka_unit_test(test_pickle_forged_dictionary_index),
        cmocka_unit_test(test_pickle_forged_time_date_decimal_out_of_range),
        cmocka_unit_test(test_pickle_forged_short_chunk),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
