/* Writer round trips: every column kind, every codec, every backend. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "helpers_core.h"
#include "shmchunk.h"

#define RPC 64

static const int fixed_kinds[] = {
    SHMC_KIND_BOOL,    SHMC_KIND_INT8,     SHMC_KIND_INT16,    SHMC_KIND_INT32,  SHMC_KIND_INT64,
    SHMC_KIND_UINT8,   SHMC_KIND_UINT16,   SHMC_KIND_UINT32,   SHMC_KIND_UINT64, SHMC_KIND_FLOAT32,
    SHMC_KIND_FLOAT64, SHMC_KIND_DATETIME, SHMC_KIND_TIMEDELTA};
#define NFIXED (sizeof fixed_kinds / sizeof fixed_kinds[0])

static void check_label(shmc_segment *seg, uint32_t c, const char *name)
{
    shmc_column_info ci;
    assert_int_equal(shmc_segment_column_info(seg, c, &ci), SHMC_OK);
    assert_int_equal(ci.label.type, SHMC_LABEL_STR);
    assert_int_equal(ci.label.len, strlen(name));
    assert_memory_equal(ci.label.str, name, strlen(name));
}

static void check_fixed(shmc_segment *seg, uint64_t n)
{
    for (unsigned i = 0; i < NFIXED; i++) {
        check_label(seg, i, hc_mixed_names[i]);
        shmc_column_info ci;
        shmc_segment_column_info(seg, i, &ci);
        assert_int_equal(ci.kind, fixed_kinds[i]);
        size_t sz = shmc_kind_itemsize(fixed_kinds[i]), len = 0;
        uint8_t *want = malloc(n * sz + 1);
        hc_fill(want, n * sz, i + 1);
        if (fixed_kinds[i] == SHMC_KIND_BOOL)
            for (uint64_t r = 0; r < n; r++) want[r] &= 1;
        uint8_t *got = hc_decode_role(seg, i, SHMC_ROLE_VALUES, &len);
        assert_non_null(got);
        assert_int_equal(len, n * sz);
        if (len) assert_memory_equal(got, want, len);
        free(got);
        free(want);
        if (fixed_kinds[i] == SHMC_KIND_DATETIME) {
            assert_string_equal(ci.tz, "Europe/Paris");
            assert_int_equal(ci.unit, SHMC_UNIT_NS);
        }
        if (fixed_kinds[i] == SHMC_KIND_TIMEDELTA) assert_int_equal(ci.unit, SHMC_UNIT_US);
    }
}

static void check_categorical(shmc_segment *seg, uint64_t n)
{
    uint32_t c = NFIXED;
    shmc_column_info ci, di;
    assert_int_equal(shmc_segment_column_info(seg, c, &ci), SHMC_OK);
    assert_int_equal(ci.kind, SHMC_KIND_CATEGORICAL);
    assert_int_equal(ci.code_kind, SHMC_KIND_INT16);
    assert_true(ci.flags & SHMC_COL_ORDERED);
    assert_int_equal(shmc_segment_column_info(seg, ci.dict_column, &di), SHMC_OK);
    assert_true(di.flags & SHMC_COL_DICTIONARY);
    assert_int_equal(di.kind, SHMC_KIND_STRING);
    assert_int_equal(di.nrows, 3);
    size_t len;
    uint8_t *codes = hc_decode_role(seg, c, SHMC_ROLE_VALUES, &len);
    assert_int_equal(len, n * 2);
    uint64_t nulls = 0;
    for (uint64_t i = 0; i < n; i++) {
        int16_t v;
        memcpy(&v, codes + 2 * i, 2);
        assert_int_equal(v, i % 4 == 3 ? -1 : (int)(i % 3));
        nulls += v == -1;
    }
    assert_int_equal(ci.null_count, nulls);
    free(codes);
    uint8_t *data = hc_decode_role(seg, ci.dict_column, SHMC_ROLE_DATA, &len);
    assert_int_equal(len, 12);
    assert_memory_equal(data, "redgreenblue", 12);
    free(data);
}

/* The expected string of row i (see helpers_core.c add_strings). */
static uint64_t str_len(uint64_t i) { return i % 5 == 4 ? 0 : i % 4; }

static void check_string_rg(shmc_segment *seg, uint32_t c, uint64_t rg, uint64_t n)
{
    uint64_t r0 = rg * RPC, m = n - r0 < RPC ? n - r0 : RPC;
    uint32_t id;
    shmc_chunk_info k;
    assert_int_equal(shmc_segment_chunk_find(seg, c, rg, SHMC_ROLE_OFFSETS, &id), SHMC_OK);
    shmc_segment_chunk_info(seg, id, &k);
    assert_int_equal(k.raw_len, (m + 1) * 8);
    int64_t *off = malloc((size_t)k.raw_len);
    assert_int_equal(shmc_segment_chunk_decode(seg, id, off, (size_t)k.raw_len), SHMC_OK);
    assert_int_equal(off[0], 0);
    assert_int_equal(shmc_segment_chunk_find(seg, c, rg, SHMC_ROLE_DATA, &id), SHMC_OK);
    shmc_segment_chunk_info(seg, id, &k);
    assert_int_equal(k.raw_len, (uint64_t)off[m]);
    uint8_t *data = malloc((size_t)k.raw_len + 1);
    assert_int_equal(shmc_segment_chunk_decode(seg, id, data, (size_t)k.raw_len), SHMC_OK);
    for (uint64_t i = 0; i < m; i++) {
        uint64_t row = r0 + i;
        assert_int_equal(off[i + 1] - off[i], (int64_t)str_len(row));
        for (uint64_t j = 0; j < str_len(row); j++)
            assert_int_equal(data[off[i] + (int64_t)j], 'a' + (row + j) % 26);
    }
    int has_null = 0;
    for (uint64_t i = 0; i < m; i++) has_null |= (r0 + i) % 5 == 4;
    int rc = shmc_segment_chunk_find(seg, c, rg, SHMC_ROLE_VALIDITY, &id);
    assert_int_equal(rc, has_null ? SHMC_OK : SHMC_ERR_RANGE);
    if (has_null) {
        uint8_t bits[RPC / 8];
        assert_int_equal(shmc_segment_chunk_decode(seg, id, bits, (m + 7) / 8), SHMC_OK);
        for (uint64_t i = 0; i < m; i++)
            assert_int_equal((bits[i >> 3] >> (i & 7)) & 1, (r0 + i) % 5 != 4);
    }
    free(off);
    free(data);
}

static void check_strings(shmc_segment *seg, uint64_t n)
{
    uint32_t c = NFIXED + 1;
    check_label(seg, c, "s");
    shmc_column_info ci;
    shmc_segment_column_info(seg, c, &ci);
    assert_string_equal(ci.dtype, "str");
    assert_int_equal(ci.null_count, (n + 0) / 5);
    for (uint64_t rg = 0; rg < ci.nrowgroups; rg++) check_string_rg(seg, c, rg, n);
}

static void check_nullable_and_object(shmc_segment *seg, uint64_t n)
{
    uint32_t c = NFIXED + 2;
    size_t len;
    uint8_t *m = hc_decode_role(seg, c, SHMC_ROLE_MASK, &len);
    assert_int_equal(len, n);
    for (uint64_t i = 0; i < n; i++) assert_int_equal(m[i] != 0, i % 7 == 0);
    free(m);
    shmc_column_info ci;
    shmc_segment_column_info(seg, c, &ci);
    assert_string_equal(ci.dtype, "Int64");
    assert_int_equal(ci.null_count, (n + 6) / 7);
    c++;
    shmc_segment_column_info(seg, c, &ci);
    assert_int_equal(ci.kind, SHMC_KIND_OBJECT);
    for (uint64_t rg = 0; rg < ci.nrowgroups; rg++) {
        uint32_t id;
        shmc_chunk_info k;
        assert_int_equal(shmc_segment_chunk_find(seg, c, rg, SHMC_ROLE_PICKLE, &id), SHMC_OK);
        shmc_segment_chunk_info(seg, id, &k);
        assert_int_equal(k.raw_len, 10 + rg);
        uint8_t got[64], want[64];
        hc_fill(want, (size_t)k.raw_len, 77 + rg);
        assert_int_equal(shmc_segment_chunk_decode(seg, id, got, (size_t)k.raw_len), SHMC_OK);
        assert_memory_equal(got, want, (size_t)k.raw_len);
    }
}

static void check_mixed(shmc_segment *seg, uint64_t n)
{
    shmc_segment_info info;
    assert_int_equal(shmc_segment_info_get(seg, &info), SHMC_OK);
    assert_int_equal(info.nrows, n);
    assert_int_equal(info.rows_per_chunk, RPC);
    assert_int_equal(info.ncolumns, NFIXED + 5); /* + cat, s, nint, obj, dictionary */
    assert_int_equal(info.nrowgroups, (n + RPC - 1) / RPC);
    check_fixed(seg, n);
    check_categorical(seg, n);
    check_strings(seg, n);
    check_nullable_and_object(seg, n);
    assert_int_equal(shmc_segment_verify(seg, NULL, NULL), SHMC_OK);
}

static void roundtrip(const char *dest_kind, int codec, int shuffle, uint64_t n)
{
    shmc_frame *f = hc_mixed_frame(n);
    assert_non_null(f);
    shmc_write_opts o;
    shmc_write_opts_init(&o);
    o.rows_per_chunk = RPC;
    o.codec = codec;
    o.shuffle = shuffle;
    o.threads = 2;
    char dest[256], name[300];
    shmc_segment *seg;
    assert_int_equal(shmc_segment_create(&seg), SHMC_OK);
    if (strcmp(dest_kind, "buffer") == 0) {
        uint8_t *buf;
        size_t len;
        assert_int_equal(hc_write_to_buffer(f, &o, &buf, &len), SHMC_OK);
        assert_int_equal(shmc_segment_open_buffer(seg, buf, len, 0), SHMC_OK);
        check_mixed(seg, n);
        shmc_segment_free(seg);
        free(buf);
        shmc_frame_free(f);
        return;
    }
    if (strcmp(dest_kind, "shm") == 0) hc_shm_name(dest, sizeof dest, "rt");
    else hc_tmp_path(dest, sizeof dest, "rt");
    int rc = shmc_frame_write(f, dest, &o, name, sizeof name);
    assert_int_equal(rc, SHMC_OK);
    assert_string_equal(name, dest);
    assert_int_equal(shmc_segment_open(seg, name, 0), SHMC_OK);
    check_mixed(seg, n);
    shmc_segment_free(seg);
    assert_int_equal(shmc_segment_unlink(name), SHMC_OK);
    shmc_frame_free(f);
}

/* One round trip per backend, codec and shape: roundtrip(where, codec, shuffle, nrows). */
#define ROUNDTRIP_TEST(name, ...)                                                                  \
    static void name(void **s)                                                                     \
    {                                                                                              \
        (void)s;                                                                                   \
        roundtrip(__VA_ARGS__);                                                                    \
    }
ROUNDTRIP_TEST(test_raw_shm, "shm", SHMC_CODEC_NONE, 0, 1000)
ROUNDTRIP_TEST(test_raw_file, "file", SHMC_CODEC_NONE, 0, 1000)
ROUNDTRIP_TEST(test_raw_buffer, "buffer", SHMC_CODEC_NONE, 0, 1000)
ROUNDTRIP_TEST(test_zstd_shm, "shm", SHMC_CODEC_ZSTD, 0, 1000)
ROUNDTRIP_TEST(test_zstd_shuffle_file, "file", SHMC_CODEC_ZSTD, 1, 1000)
ROUNDTRIP_TEST(test_zstd_shuffle_buffer, "buffer", SHMC_CODEC_ZSTD, 1, 1000)
ROUNDTRIP_TEST(test_one_row, "buffer", SHMC_CODEC_NONE, 0, 1)
ROUNDTRIP_TEST(test_one_row_zstd, "buffer", SHMC_CODEC_ZSTD, 1, 1)
ROUNDTRIP_TEST(test_exact_rowgroups, "buffer", SHMC_CODEC_NONE, 0, 4 * RPC)
ROUNDTRIP_TEST(test_zero_rows, "buffer", SHMC_CODEC_ZSTD, 1, 0)

/* Strings without nulls: no validity bitmap given, or one with every bit set.
 * Either way no validity chunk is stored and offsets are re-based per row group. */
static void test_strings_without_nulls(void **s)
{
    (void)s;
    enum { N = 150 };
    int64_t off[N + 1];
    uint8_t data[5 + N * 2], allvalid[(N + 5 + 7) / 8];
    memset(allvalid, 0xff, sizeof allvalid);
    off[0] = 5;
    for (int i = 0; i < N; i++) {
        data[off[i]] = (uint8_t)('A' + i % 26);
        data[off[i] + 1] = (uint8_t)('a' + i % 26);
        off[i + 1] = off[i] + 1 + (i % 2);
    }
    shmc_frame *f;
    shmc_frame_create(&f);
    shmc_frame_set_nrows(f, N);
    shmc_column_desc d = {.kind = SHMC_KIND_STRING, .offsets = off, .data = data};
    shmc_frame_add_column(f, &d);
    d.validity = allvalid;
    d.validity_offset = 5;
    shmc_frame_add_column(f, &d);
    uint8_t *buf;
    shmc_write_opts o;
    shmc_write_opts_init(&o);
    o.rows_per_chunk = 64;
    shmc_segment *seg = hc_open_written(f, &o, &buf);
    assert_non_null(seg);
    for (uint32_t c = 0; c < 2; c++) {
        shmc_column_info ci;
        shmc_segment_column_info(seg, c, &ci);
        assert_int_equal(ci.null_count, 0);
        assert_int_equal(ci.roles, (1u << SHMC_ROLE_OFFSETS) | (1u << SHMC_ROLE_DATA));
        assert_int_equal(ci.nchunks, 6);
        uint32_t id;
        assert_int_equal(shmc_segment_chunk_find(seg, c, 2, SHMC_ROLE_OFFSETS, &id), SHMC_OK);
        const void *p;
        size_t plen;
        assert_int_equal(shmc_segment_chunk_view(seg, id, &p, &plen), SHMC_OK);
        assert_int_equal(plen, (N - 128 + 1) * 8);
        const int64_t *o2 = p;
        assert_int_equal(o2[0], 0);
        assert_int_equal(o2[N - 128], off[N] - off[128]);
        assert_int_equal(shmc_segment_chunk_find(seg, c, 2, SHMC_ROLE_DATA, &id), SHMC_OK);
        assert_int_equal(shmc_segment_chunk_view(seg, id, &p, &plen), SHMC_OK);
        assert_int_equal(plen, (size_t)(off[N] - off[128]));
        assert_memory_equal(p, data + off[128], plen);
    }
    shmc_segment_free(seg);
    free(buf);
    shmc_frame_free(f);
}

/* Issue 15: a period column round-trips as int64 ordinals with its dtype, counts
 * NaT as missing, and is refused without a "period[<freq>]" dtype or with a mask. */
static void test_period(void **s)
{
    (void)s;
    enum { N = 150 };
    int64_t v[N];
    for (int i = 0; i < N; i++) v[i] = i % 7 == 3 ? INT64_MIN : 18262 + i;
    shmc_frame *f;
    shmc_frame_create(&f);
    shmc_frame_set_nrows(f, N);
    shmc_column_desc d = {.kind = SHMC_KIND_PERIOD, .values = v};
    assert_int_equal(shmc_frame_add_column(f, &d), SHMC_ERR_INVALID_ARG); /* no dtype */
    assert_non_null(strstr(shmc_frame_errmsg(f), "period[<freq>]"));
    d.dtype = "period[D";
    assert_int_equal(shmc_frame_add_column(f, &d), SHMC_ERR_INVALID_ARG);
    d.dtype = "period[D]";
    d.mask = (const uint8_t *)v;
    assert_int_equal(shmc_frame_add_column(f, &d), SHMC_ERR_INVALID_ARG);
    d.mask = NULL;
    assert_int_equal(shmc_frame_add_column(f, &d), SHMC_OK);
    uint8_t *buf;
    shmc_write_opts o;
    shmc_write_opts_init(&o);
    o.rows_per_chunk = 64;
    o.codec = SHMC_CODEC_ZSTD;
    shmc_segment *seg = hc_open_written(f, &o, &buf);
    assert_non_null(seg);
    shmc_column_info ci;
    assert_int_equal(shmc_segment_column_info(seg, 0, &ci), SHMC_OK);
    assert_int_equal(ci.kind, SHMC_KIND_PERIOD);
    assert_string_equal(shmc_kind_name(ci.kind), "period");
    assert_int_equal(shmc_kind_itemsize(ci.kind), 8);
    assert_string_equal(ci.dtype, "period[D]");
    assert_int_equal(ci.roles, 1u << SHMC_ROLE_VALUES);
    assert_int_equal(ci.null_count, (N + 3) / 7);
    size_t got_len = 0;
    uint8_t *got = hc_decode_role(seg, 0, SHMC_ROLE_VALUES, &got_len);
    assert_int_equal(got_len, sizeof v);
    assert_memory_equal(got, v, sizeof v);
    free(got);
    shmc_segment_free(seg);
    free(buf);
    shmc_frame_free(f);
}

/* Issue 15: an interval column stores left bounds as values and right ones as the
 * right role, the closed ends as flags; refused without right bounds, with a bool or
 * string subtype, closed flags on another kind, or a zone on a float subtype. */
static void test_interval(void **s)
{
    (void)s;
    enum { N = 150 };
    double l[N], r[N];
    for (int i = 0; i < N; i++) {
        l[i] = i % 9 == 4 ? NAN : i * 0.25;
        r[i] = i % 9 == 4 ? NAN : i * 0.25 + 2;
    }
    shmc_frame *f;
    shmc_frame_create(&f);
    shmc_frame_set_nrows(f, N);
    shmc_column_desc d = {.kind = SHMC_KIND_INTERVAL,
                          .code_kind = SHMC_KIND_FLOAT64,
                          .values = l,
                          .flags = SHMC_COL_CLOSED_LEFT | SHMC_COL_CLOSED_RIGHT};
    assert_int_equal(shmc_frame_add_column(f, &d), SHMC_OK); /* checked at write: */
    d.right = r;
    d.code_kind = SHMC_KIND_BOOL;
    assert_int_equal(shmc_frame_add_column(f, &d), SHMC_ERR_INVALID_ARG);
    d.code_kind = SHMC_KIND_FLOAT64;
    d.tz = "UTC";
    assert_int_equal(shmc_frame_add_column(f, &d), SHMC_ERR_INVALID_ARG);
    d.tz = NULL;
    shmc_column_desc bad = {.kind = SHMC_KIND_FLOAT64, .values = l, .flags = SHMC_COL_CLOSED_LEFT};
    assert_int_equal(shmc_frame_add_column(f, &bad), SHMC_ERR_INVALID_ARG);
    uint8_t *buf;
    size_t len;
    shmc_write_opts o;
    shmc_write_opts_init(&o);
    o.rows_per_chunk = 64;
    assert_int_equal(hc_write_to_buffer(f, &o, &buf, &len),
                     SHMC_ERR_INVALID_ARG); /* right is NULL */
    shmc_frame_free(f);
    shmc_frame_create(&f);
    shmc_frame_set_nrows(f, N);
    assert_int_equal(shmc_frame_add_column(f, &d), SHMC_OK);
    o.codec = SHMC_CODEC_ZSTD;
    shmc_segment *seg = hc_open_written(f, &o, &buf);
    assert_non_null(seg);
    shmc_column_info ci;
    assert_int_equal(shmc_segment_column_info(seg, 0, &ci), SHMC_OK);
    assert_int_equal(ci.kind, SHMC_KIND_INTERVAL);
    assert_string_equal(shmc_kind_name(ci.kind), "interval");
    assert_string_equal(shmc_role_name(SHMC_ROLE_RIGHT), "right");
    assert_int_equal(ci.code_kind, SHMC_KIND_FLOAT64);
    assert_int_equal(ci.flags, SHMC_COL_CLOSED_LEFT | SHMC_COL_CLOSED_RIGHT);
    assert_int_equal(ci.roles, (1u << SHMC_ROLE_VALUES) | (1u << SHMC_ROLE_RIGHT));
    assert_int_equal(ci.nchunks, 6);
    assert_int_equal(ci.null_count, (N + 4) / 9);
    size_t n1 = 0, n2 = 0;
    uint8_t *gl = hc_decode_role(seg, 0, SHMC_ROLE_VALUES, &n1),
            *gr = hc_decode_role(seg, 0, SHMC_ROLE_RIGHT, &n2);
    assert_int_equal(n1, sizeof l);
    assert_int_equal(n2, sizeof r);
    assert_memory_equal(gl, l, sizeof l);
    assert_memory_equal(gr, r, sizeof r);
    free(gl);
    free(gr);
    shmc_segment_free(seg);
    free(buf);
    shmc_frame_free(f);
}

/* Issue 15: a sparse column stores, per row group, the values and int32 frame row
 * numbers that fall in it, and its fill value as a one-row dictionary; unsorted or
 * out-of-range rows, a fill of another kind and a missing fill are refused. */
static void test_sparse(void **s)
{
    (void)s;
    enum { N = 150, K = 20 };
    double vals[K], fillv = NAN, zero = 0;
    int32_t rows[K];
    for (int i = 0; i < K; i++) {
        rows[i] = 3 + 7 * i; /* rows 3 .. 136: 2-3 per row group of 64 */
        vals[i] = i % 4 == 1 ? NAN : i * 0.5;
    }
    shmc_column_desc fill = {.kind = SHMC_KIND_FLOAT64, .values = &fillv};
    shmc_column_desc d = {.kind = SHMC_KIND_SPARSE,
                          .code_kind = SHMC_KIND_FLOAT64,
                          .values = vals,
                          .sparse_index = rows,
                          .nsparse = K,
                          .ncategories = 1};
    shmc_frame *f;
    shmc_frame_create(&f);
    shmc_frame_set_nrows(f, N);
    assert_int_equal(shmc_frame_add_column(f, &d), SHMC_ERR_INVALID_ARG); /* no fill value */
    shmc_column_desc ifill = {.kind = SHMC_KIND_INT64, .values = &zero};
    d.categories = &ifill;
    assert_int_equal(shmc_frame_add_column(f, &d), SHMC_ERR_INVALID_ARG); /* fill of another kind */
    d.categories = &fill;
    d.code_kind = SHMC_KIND_DATETIME;
    assert_int_equal(shmc_frame_add_column(f, &d), SHMC_ERR_INVALID_ARG); /* not bool..float64 */
    d.code_kind = SHMC_KIND_FLOAT64;
    rows[5] = rows[4]; /* not increasing */
    assert_int_equal(shmc_frame_add_column(f, &d), SHMC_OK);
    uint8_t *buf;
    size_t len;
    shmc_write_opts o;
    shmc_write_opts_init(&o);
    o.rows_per_chunk = 64;
    assert_int_equal(hc_write_to_buffer(f, &o, &buf, &len), SHMC_ERR_INVALID_ARG);
    assert_non_null(strstr(shmc_frame_errmsg(f), "sparse_index[5]"));
    shmc_frame_free(f);
    rows[5] = 3 + 7 * 5;
    shmc_frame_create(&f);
    shmc_frame_set_nrows(f, N);
    assert_int_equal(shmc_frame_add_column(f, &d), SHMC_OK);
    o.codec = SHMC_CODEC_ZSTD;
    shmc_segment *seg = hc_open_written(f, &o, &buf);
    assert_non_null(seg);
    shmc_column_info ci, fi;
    assert_int_equal(shmc_segment_column_info(seg, 0, &ci), SHMC_OK);
    assert_int_equal(ci.kind, SHMC_KIND_SPARSE);
    assert_string_equal(shmc_kind_name(ci.kind), "sparse");
    assert_string_equal(shmc_role_name(SHMC_ROLE_INDICES), "indices");
    assert_int_equal(ci.code_kind, SHMC_KIND_FLOAT64);
    assert_int_equal(ci.roles, (1u << SHMC_ROLE_VALUES) | (1u << SHMC_ROLE_INDICES));
    assert_int_equal(ci.null_count, 5 + (N - K)); /* NaN values + the fill's rows */
    assert_int_equal(shmc_segment_column_info(seg, ci.dict_column, &fi), SHMC_OK);
    assert_true(fi.flags & SHMC_COL_DICTIONARY);
    assert_int_equal(fi.nrows, 1);
    size_t n1 = 0, n2 = 0;
    uint8_t *gv = hc_decode_role(seg, 0, SHMC_ROLE_VALUES, &n1),
            *gr = hc_decode_role(seg, 0, SHMC_ROLE_INDICES, &n2);
    assert_int_equal(n1, sizeof vals);
    assert_int_equal(n2, sizeof rows);
    assert_memory_equal(gv, vals, sizeof vals);
    assert_memory_equal(gr, rows, sizeof rows);
    uint32_t id; /* row group 1 (rows 64..127): entries 9..17 */
    assert_int_equal(shmc_segment_chunk_find(seg, 0, 1, SHMC_ROLE_INDICES, &id), SHMC_OK);
    shmc_chunk_info k;
    assert_int_equal(shmc_segment_chunk_info(seg, id, &k), SHMC_OK);
    assert_int_equal(k.raw_len, 4 * 9);
    free(gv);
    free(gr);
    shmc_segment_free(seg);
    free(buf);
    shmc_frame_free(f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_period),
        cmocka_unit_test(test_sparse),
        cmocka_unit_test(test_interval),
        cmocka_unit_test(test_raw_shm),
        cmocka_unit_test(test_raw_file),
        cmocka_unit_test(test_raw_buffer),
        cmocka_unit_test(test_zstd_shm),
        cmocka_unit_test(test_zstd_shuffle_file),
        cmocka_unit_test(test_zstd_shuffle_buffer),
        cmocka_unit_test(test_one_row),
        cmocka_unit_test(test_one_row_zstd),
        cmocka_unit_test(test_exact_rowgroups),
        cmocka_unit_test(test_zero_rows),
        cmocka_unit_test(test_strings_without_nulls),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
