/* Tests of lib/core/codec.c (shuffle, zstd encode/decode), lib/common/hash.c
 * (XXH3 hashing, copy-while-hashing) and lib/common/threadpool.c (parallel_for). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <pthread.h>
#include <time.h>
#include <xxhash.h>
#include <zstd.h>

#include "codec.h"
#include "hash.h"
#include "helpers_core.h"
#include "threadpool.h"

/* Slowly varying int64 values: compressible, and much more so once shuffled. */
static void fill_ramp(uint8_t *p, size_t len)
{
    for (size_t i = 0; i < len; i++) {
        size_t elem = i / 8, byte = i % 8;
        uint64_t v = 1000000 + elem * 3;
        p[i] = (uint8_t)(v >> (8 * byte));
    }
}

/* ---------------------------------------------------------------- shuffle */

static void test_shuffle_roundtrip_all_typesizes(void **state)
{
    (void)state;
    const size_t lens[] = {0, 1, 2, 3, 7, 8, 15, 16, 17, 63, 64, 65, 255, 1000, 4097};
    for (uint32_t ts = 1; ts <= 16; ts++) {
        for (size_t k = 0; k < sizeof lens / sizeof lens[0]; k++) {
            size_t len = lens[k];
            uint8_t *src = malloc(len + 1), *mid = malloc(len + 1), *back = malloc(len + 1);
            hc_fill(src, len, ts * 1000 + len);
            memset(mid, 0xAA, len + 1);
            memset(back, 0x55, len + 1);
            shmc_shuffle(src, mid, len, ts);
            shmc_unshuffle(mid, back, len, ts);
            assert_memory_equal(src, back, len);
            assert_int_equal(mid[len], 0xAA); /* nothing written past len */
            assert_int_equal(back[len], 0x55);
            free(src), free(mid), free(back);
        }
    }
}

static void test_shuffle_layout_and_tail(void **state)
{
    (void)state;
    /* 3 elements of typesize 4 plus a 2-byte tail */
    const uint8_t src[14] = {0, 1, 2, 3, 10, 11, 12, 13, 20, 21, 22, 23, 98, 99};
    const uint8_t want[14] = {0, 10, 20, 1, 11, 21, 2, 12, 22, 3, 13, 23, 98, 99};
    uint8_t out[14];
    shmc_shuffle(src, out, sizeof src, 4);
    assert_memory_equal(out, want, sizeof want);
    /* generic path (typesize 3), checked against the definition */
    uint8_t s3[20], o3[20];
    hc_fill(s3, sizeof s3, 7);
    shmc_shuffle(s3, o3, sizeof s3, 3);
    size_t n = sizeof s3 / 3;
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < 3; j++) assert_int_equal(o3[j * n + i], s3[i * 3 + j]);
    assert_memory_equal(o3 + n * 3, s3 + n * 3, sizeof s3 - n * 3);
}

/* ---------------------------------------------------------------- zstd */

typedef struct encoded {
    uint8_t *buf;
    size_t len;
    int codec, shuffled;
} encoded;

static encoded encode_ok(const void *src, size_t len, int shuffle, uint32_t ts, double min_saving)
{
    encoded e = {0};
    size_t cap = shmc_codec_bound(len, SHMC_CODEC_ZSTD);
    assert_true(cap >= len);
    e.buf = malloc(cap ? cap : 1);
    shmc_err err = {0};
    int rc = shmc_codec_encode(src, len, SHMC_CODEC_ZSTD, 3, shuffle, ts, min_saving, e.buf, cap,
                               &e.len, &e.codec, &e.shuffled, &err);
    assert_int_equal(rc, SHMC_OK);
    assert_true(e.len <= cap);
    return e;
}

static void decode_expect(const encoded *e, uint32_t ts, const uint8_t *want, size_t len)
{
    uint8_t *out = malloc(len ? len : 1);
    shmc_err err = {0};
    int rc = shmc_codec_decode(e->buf, e->len, e->codec, e->shuffled, ts, out, len, &err);
    assert_int_equal(rc, SHMC_OK);
    assert_memory_equal(out, want, len);
    free(out);
}

static void test_zstd_roundtrip(void **state)
{
    (void)state;
    const size_t lens[] = {8, 100, 4096, 65536 + 13, 1 << 20};
    for (size_t k = 0; k < sizeof lens / sizeof lens[0]; k++) {
        size_t len = lens[k];
        uint8_t *src = malloc(len);
        fill_ramp(src, len);
        for (int shuffle = 0; shuffle <= 1; shuffle++) {
            encoded e = encode_ok(src, len, shuffle, 8, 0.1);
            if (len >= 4096) {
                assert_int_equal(e.codec, SHMC_CODEC_ZSTD);
                assert_int_equal(e.shuffled, shuffle);
                assert_true(e.len < len / 2);
            }
            decode_expect(&e, 8, src, len);
            free(e.buf);
        }
        free(src);
    }
}

static void test_shuffle_helps_ramp(void **state)
{
    (void)state;
    size_t len = 1 << 16;
    uint8_t *src = malloc(len);
    fill_ramp(src, len);
    encoded plain = encode_ok(src, len, 0, 8, 0.0);
    encoded shuf = encode_ok(src, len, 1, 8, 0.0);
    assert_true(shuf.len < plain.len);
    free(plain.buf), free(shuf.buf), free(src);
}

static void test_zstd_deterministic(void **state)
{
    (void)state;
    size_t len = 200000;
    uint8_t *src = malloc(len);
    fill_ramp(src, len);
    encoded a = encode_ok(src, len, 1, 4, 0.1);
    encoded b = encode_ok(src, len, 1, 4, 0.1);
    assert_int_equal(a.len, b.len);
    assert_memory_equal(a.buf, b.buf, a.len);
    free(a.buf), free(b.buf), free(src);
}

static void test_raw_fallback_incompressible(void **state)
{
    (void)state;
    size_t len = 100000;
    uint8_t *src = malloc(len);
    hc_fill(src, len, 42);
    encoded e = encode_ok(src, len, 1, 8, 0.1);
    assert_int_equal(e.codec, SHMC_CODEC_NONE);
    assert_int_equal(e.shuffled, 0);
    assert_int_equal(e.len, len);
    assert_memory_equal(e.buf, src, len);
    decode_expect(&e, 8, src, len);
    free(e.buf), free(src);
}

static void test_min_saving_threshold(void **state)
{
    (void)state;
    /* half random, half zeros: compresses to a bit over 50% */
    size_t len = 100000;
    uint8_t *src = calloc(1, len);
    hc_fill(src, len / 2, 9);
    encoded lax = encode_ok(src, len, 0, 1, 0.3);
    assert_int_equal(lax.codec, SHMC_CODEC_ZSTD);
    assert_true(lax.len <= len - (size_t)(0.3 * (double)len));
    encoded strict = encode_ok(src, len, 0, 1, 0.6);
    assert_int_equal(strict.codec, SHMC_CODEC_NONE);
    assert_int_equal(strict.len, len);
    free(lax.buf), free(strict.buf), free(src);
}

static void test_codec_none_copies(void **state)
{
    (void)state;
    uint8_t src[100], dst[100];
    hc_fill(src, sizeof src, 3);
    size_t dlen = 0;
    int used = -1, shuf = -1;
    shmc_err err = {0};
    assert_int_equal(shmc_codec_bound(100, SHMC_CODEC_NONE), 100);
    assert_int_equal(shmc_codec_encode(src, sizeof src, SHMC_CODEC_NONE, 0, 1, 8, 0.1, dst,
                                       sizeof dst, &dlen, &used, &shuf, &err),
                     SHMC_OK);
    assert_int_equal(used, SHMC_CODEC_NONE);
    assert_int_equal(shuf, 0);
    assert_int_equal(dlen, 100);
    assert_memory_equal(src, dst, 100);
    /* a raw chunk whose stored size differs from raw_len is corrupt */
    assert_int_equal(shmc_codec_decode(src, 99, SHMC_CODEC_NONE, 0, 1, dst, 100, &err),
                     SHMC_ERR_CORRUPT);
    assert_int_equal(err.status, SHMC_ERR_CORRUPT);
    assert_non_null(strstr(err.msg, "99"));
    /* unknown codec in the index */
    assert_int_equal(shmc_codec_decode(src, 100, 7, 0, 1, dst, 100, &err), SHMC_ERR_CORRUPT);
    assert_int_equal(
        shmc_codec_encode(src, 100, 7, 0, 0, 1, 0.1, dst, 100, &dlen, &used, &shuf, &err),
        SHMC_ERR_INVALID_ARG);
}

static void test_zero_length(void **state)
{
    (void)state;
    uint8_t dst[64];
    size_t dlen = 99;
    int used = -1, shuf = -1;
    shmc_err err = {0};
    assert_int_equal(shmc_codec_encode(NULL, 0, SHMC_CODEC_ZSTD, 1, 1, 8, 0.1, dst, sizeof dst,
                                       &dlen, &used, &shuf, &err),
                     SHMC_OK);
    assert_int_equal(dlen, 0);
    assert_int_equal(used, SHMC_CODEC_NONE);
    assert_int_equal(shmc_codec_decode(NULL, 0, SHMC_CODEC_NONE, 0, 8, NULL, 0, &err), SHMC_OK);
    /* a genuine zstd frame of 0 bytes decodes to 0 bytes */
    size_t z = ZSTD_compress(dst, sizeof dst, "", 0, 1);
    assert_false(ZSTD_isError(z));
    assert_int_equal(shmc_codec_decode(dst, z, SHMC_CODEC_ZSTD, 0, 1, NULL, 0, &err), SHMC_OK);
    /* ... but not to 1 byte */
    uint8_t one;
    assert_int_equal(shmc_codec_decode(dst, z, SHMC_CODEC_ZSTD, 0, 1, &one, 1, &err),
                     SHMC_ERR_CORRUPT);
    assert_int_equal(shmc_hash(NULL, 0), XXH3_64bits("", 0));
    assert_int_equal(shmc_copy_hash(NULL, NULL, 0), XXH3_64bits("", 0));
}

/* A valid zstd frame of `len` ramp bytes made directly with libzstd. */
static size_t make_frame(uint8_t *dst, size_t cap, const uint8_t *src, size_t len, int with_size)
{
    ZSTD_CCtx *c = ZSTD_createCCtx();
    ZSTD_CCtx_setParameter(c, ZSTD_c_contentSizeFlag, with_size);
    size_t z;
    if (with_size) {
        z = ZSTD_compress2(c, dst, cap, src, len);
    } else { /* streaming without a pledged size leaves the size out of the header */
        ZSTD_outBuffer out = {dst, cap, 0};
        ZSTD_inBuffer in = {src, len, 0};
        z = ZSTD_compressStream2(c, &out, &in, ZSTD_e_end);
        assert_int_equal(z, 0);
        z = out.pos;
    }
    ZSTD_freeCCtx(c);
    assert_false(ZSTD_isError(z));
    return z;
}

static void expect_corrupt(const void *src, size_t src_len, size_t raw_len, const char *needle)
{
    uint8_t *out = malloc(raw_len + 16);
    shmc_err err = {0};
    int rc = shmc_codec_decode(src, src_len, SHMC_CODEC_ZSTD, 0, 1, out, raw_len, &err);
    assert_int_equal(rc, SHMC_ERR_CORRUPT);
    assert_int_equal(err.status, SHMC_ERR_CORRUPT);
    if (needle && !strstr(err.msg, needle)) fail_msg("message '%s' lacks '%s'", err.msg, needle);
    free(out);
}

static void test_decode_rejects_bad_frames(void **state)
{
    (void)state;
    size_t len = 10000, cap = ZSTD_compressBound(len) * 2 + 64;
    uint8_t *src = malloc(len), *frame = malloc(cap), *buf = malloc(cap);
    fill_ramp(src, len);
    size_t z = make_frame(frame, cap, src, len, 1);

    /* wrong raw_len, both ways: message gives expected and found sizes */
    expect_corrupt(frame, z, len - 1, "9999");
    expect_corrupt(frame, z, len + 1, "10000");
    /* truncated */
    expect_corrupt(frame, z - 1, len, NULL);
    expect_corrupt(frame, 3, len, NULL);
    expect_corrupt(frame, z / 2, len, NULL);
    /* garbage */
    hc_fill(buf, 500, 11);
    expect_corrupt(buf, 500, len, NULL);
    /* garbage after a valid magic */
    memcpy(buf, frame, 4);
    expect_corrupt(buf, 500, len, NULL);
    /* two frames back to back, each declaring len */
    memcpy(buf, frame, z);
    memcpy(buf + z, frame, z);
    expect_corrupt(buf, 2 * z, len, "trailing");
    /* and the same bytes claiming 2*len: still one frame's size */
    expect_corrupt(buf, 2 * z, 2 * len, NULL);
    /* trailing garbage */
    memcpy(buf, frame, z);
    buf[z] = 0;
    expect_corrupt(buf, z + 1, len, "trailing");
    /* content size absent from the frame header */
    size_t z2 = make_frame(buf, cap, src, len, 0);
    assert_int_equal(ZSTD_getFrameContentSize(buf, z2), ZSTD_CONTENTSIZE_UNKNOWN);
    expect_corrupt(buf, z2, len, "content size");
    /* a corrupted payload byte (the block data, not the header) */
    memcpy(buf, frame, z);
    buf[z - 3] ^= 0xFF;
    uint8_t *out = malloc(len);
    shmc_err err = {0};
    int rc = shmc_codec_decode(buf, z, SHMC_CODEC_ZSTD, 0, 1, out, len, &err);
    /* zstd may not notice every flip without a checksum, but it must never overflow */
    assert_true(rc == SHMC_OK || rc == SHMC_ERR_CORRUPT);
    /* the untouched frame still decodes */
    assert_int_equal(shmc_codec_decode(frame, z, SHMC_CODEC_ZSTD, 0, 1, out, len, &err), SHMC_OK);
    assert_memory_equal(out, src, len);
    free(out), free(src), free(frame), free(buf);
}

/* ---------------------------------------------------------------- hashing */

/* fn agrees with XXH3_64bits on every length 0, step, 2*step, ... up to cap. */
static void check_is_xxh3(uint64_t (*fn)(const void *, size_t), uint8_t *buf, size_t cap,
                          size_t step, uint64_t seed)
{
    hc_fill(buf, cap, seed);
    for (size_t n = 0; n <= cap; n += step) assert_int_equal(fn(buf, n), XXH3_64bits(buf, n));
}

static void test_hash_is_xxh3(void **state)
{
    (void)state;
    uint8_t buf[1000];
    check_is_xxh3(shmc_hash, buf, sizeof buf, 37, 5);
    assert_int_not_equal(shmc_hash(buf, 100), shmc_hash(buf + 1, 100));
}

/* The public export is the format's checksum: XXH3-64 on every path (SIMD or not). */
static void test_public_hash64_is_xxh3(void **state)
{
    (void)state;
    uint8_t buf[5000];
    check_is_xxh3(shmc_hash64, buf, sizeof buf, 313, 9);
    assert_int_equal(shmc_hash64(NULL, 0), 0x2D06800538D394C2ULL);
}

static void test_copy_hash_matches_hash(void **state)
{
    (void)state;
    size_t max = (1 << 18) + 100;
    uint8_t *src = malloc(max + 16), *dst = malloc(max + 16);
    hc_fill(src, max + 16, 77);
    const size_t lens[] = {1,     2,         3,         15,     16,        17,    63,
                           64,    65,        240,       241,    1000,      32767, 32768,
                           32769, 65536 - 1, 65536 + 1, 100000, (1 << 18), max};
    for (size_t a = 0; a < 8; a++) {        /* source alignment */
        for (size_t b = 0; b < 8; b += 3) { /* destination alignment */
            for (size_t k = 0; k < sizeof lens / sizeof lens[0]; k++) {
                size_t len = lens[k];
                memset(dst, 0, max + 16);
                uint64_t h = shmc_copy_hash(dst + b, src + a, len);
                assert_int_equal(h, shmc_hash(src + a, len));
                assert_memory_equal(dst + b, src + a, len);
                if (b) assert_int_equal(dst[b - 1], 0);
                assert_int_equal(dst[b + len], 0);
            }
        }
    }
    free(src), free(dst);
}

/* ---------------------------------------------------------------- parallel_for */

typedef struct counts {
    size_t n;
    _Atomic int *hits;
    size_t fail_a, fail_b; /* indexes that fail (n = none) */
} counts;

static int count_task(void *user, size_t i)
{
    counts *c = user;
    c->hits[i]++;
    if (i == c->fail_a) return 100 + (int)(i % 50);
    if (i == c->fail_b) return 200;
    return 0;
}

static void test_parallel_for_every_index_once(void **state)
{
    (void)state;
    const int threads[] = {0, 1, 2, 3, 8, 64};
    const size_t ns[] = {1, 2, 7, 1000, 10007};
    for (size_t t = 0; t < sizeof threads / sizeof threads[0]; t++) {
        for (size_t k = 0; k < sizeof ns / sizeof ns[0]; k++) {
            size_t n = ns[k];
            counts c = {n, calloc(n, sizeof(_Atomic int)), n, n};
            assert_int_equal(shmc_parallel_for(n, threads[t], count_task, &c), 0);
            for (size_t i = 0; i < n; i++) assert_int_equal(c.hits[i], 1);
            free((void *)c.hits);
        }
    }
    assert_int_equal(shmc_parallel_for(0, 4, count_task, NULL), 0);
}

/* Index 3 fails only after index 5 has started, and 5 fails after 3 has: in
 * time the later index fails last, yet the result must be the lower index's. */
typedef struct race {
    _Atomic int hits[500];
    _Atomic int started5, failed3;
    int threads;
} race;

static void sleep_ms(long ms)
{
    struct timespec ts = {0, ms * 1000000L};
    nanosleep(&ts, NULL);
}

static int race_task(void *user, size_t i)
{
    race *r = user;
    r->hits[i]++;
    if (i == 3) {
        for (int t = 0; r->threads > 1 && !r->started5 && t < 2000; t++) sleep_ms(1);
        r->failed3 = 1;
        return 100;
    }
    if (i == 5) {
        r->started5 = 1;
        for (int t = 0; !r->failed3 && t < 2000; t++) sleep_ms(1);
        sleep_ms(2);
        return 200;
    }
    return 0;
}

static void test_parallel_for_error_order(void **state)
{
    (void)state;
    for (int rep = 0; rep < 5; rep++) {
        for (int threads = 1; threads <= 4; threads++) {
            race *r = calloc(1, sizeof *r);
            r->threads = threads;
            assert_int_equal(shmc_parallel_for(500, threads, race_task, r), 100);
            /* every index up to the first failure ran exactly once; none ran twice */
            for (size_t i = 0; i <= 3; i++) assert_int_equal(r->hits[i], 1);
            for (size_t i = 0; i < 500; i++) assert_true(r->hits[i] <= 1);
            if (threads > 1) assert_int_equal(r->hits[5], 1); /* the race really happened */
            free(r);
        }
    }
    /* failure at the last index only: everything runs */
    size_t n = 300;
    counts c = {n, calloc(n, sizeof(_Atomic int)), n - 1, n};
    assert_int_equal(shmc_parallel_for(n, 4, count_task, &c), 100 + (int)((n - 1) % 50));
    for (size_t i = 0; i < n; i++) assert_int_equal(c.hits[i], 1);
    free((void *)c.hits);
}

/* Encode/decode from many threads at once share the context pool safely. */
typedef struct mt_job {
    uint8_t *src;
    size_t len;
} mt_job;

static int mt_roundtrip_task(void *user, size_t i)
{
    mt_job *j = user;
    size_t len = j->len - i * 97;
    size_t cap = shmc_codec_bound(len, SHMC_CODEC_ZSTD);
    uint8_t *enc = malloc(cap), *dec = malloc(len);
    size_t elen;
    int used, shuf, bad = 0;
    shmc_err err = {0};
    bad |= shmc_codec_encode(j->src, len, SHMC_CODEC_ZSTD, 1 + (int)(i % 3), (int)(i & 1),
                             (uint32_t)(1 + i % 8), 0.1, enc, cap, &elen, &used, &shuf, &err);
    bad |= shmc_codec_decode(enc, elen, used, shuf, (uint32_t)(1 + i % 8), dec, len, &err);
    bad |= memcmp(dec, j->src, len) != 0;
    free(enc), free(dec);
    return bad ? 1 : 0;
}

static void test_codec_threads(void **state)
{
    (void)state;
    mt_job j = {malloc(300000), 300000};
    fill_ramp(j.src, j.len);
    assert_int_equal(shmc_parallel_for(64, 4, mt_roundtrip_task, &j), 0);
    free(j.src);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_shuffle_roundtrip_all_typesizes),
        cmocka_unit_test(test_shuffle_layout_and_tail),
        cmocka_unit_test(test_zstd_roundtrip),
        cmocka_unit_test(test_shuffle_helps_ramp),
        cmocka_unit_test(test_zstd_deterministic),
        cmocka_unit_test(test_raw_fallback_incompressible),
        cmocka_unit_test(test_min_saving_threshold),
        cmocka_unit_test(test_codec_none_copies),
        cmocka_unit_test(test_zero_length),
        cmocka_unit_test(test_decode_rejects_bad_frames),
        cmocka_unit_test(test_hash_is_xxh3),
        cmocka_unit_test(test_public_hash64_is_xxh3),
        cmocka_unit_test(test_copy_hash_matches_hash),
        cmocka_unit_test(test_parallel_for_every_index_once),
        cmocka_unit_test(test_parallel_for_error_order),
        cmocka_unit_test(test_codec_threads),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
