/* Tests of lib/common/hash_simd.c and hash.c: the AVX2 XXH3 gives libxxhash's values,
 * via shmc_hash, shmc_copy_hash and shmc_hash_feed too. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <xxhash.h>

#include "hash.h"
#include "hash_simd.h"
#include "helpers_core.h"

/* Lengths around XXH3's internal boundaries (stripes 64, blocks 1024, buffers 256). */
static const size_t lens[] = {0,    1,    3,    16,   17,    128,   129,     240,     241,
                              1023, 1024, 1025, 4095, 65536, 65537, 1000003, 3u << 20};

static void test_hash_matches_libxxhash(void **state)
{
    (void)state;
    size_t max = 3u << 20;
    uint8_t *buf = malloc(max + 1);
    assert_non_null(buf);
    hc_fill(buf, max + 1, 7);
    for (size_t i = 0; i < sizeof lens / sizeof *lens; i++) {
        uint64_t want = XXH3_64bits(buf + 1, lens[i]); /* unaligned start */
        assert_true(shmc_hash(buf + 1, lens[i]) == want);
        if (shmc_hash_avx2_usable()) assert_true(shmc_hash_avx2(buf + 1, lens[i]) == want);
    }
    free(buf);
}

static void test_copy_hash_matches_and_copies(void **state)
{
    (void)state;
    size_t max = 3u << 20;
    uint8_t *src = malloc(max), *dst = malloc(max);
    assert_non_null(src);
    assert_non_null(dst);
    hc_fill(src, max, 11);
    for (size_t i = 0; i < sizeof lens / sizeof *lens; i++) {
        memset(dst, 0, max);
        assert_true(shmc_copy_hash(dst, src, lens[i]) == XXH3_64bits(src, lens[i]));
        if (lens[i]) assert_memory_equal(dst, src, lens[i]);
        if (shmc_hash_avx2_usable())
            assert_true(shmc_copy_hash_avx2(dst, src, lens[i], 4096) == XXH3_64bits(src, lens[i]));
    }
    free(src);
    free(dst);
}

/* A sink that copies each block to where it belongs and fails at block `stop_at`. */
typedef struct feed_sink {
    uint8_t *dst;
    size_t calls, stop_at;
} feed_sink;

static int copy_sink(void *user, const uint8_t *p, size_t n, size_t off)
{
    feed_sink *s = user;
    if (s->calls++ == s->stop_at) return 0;
    memcpy(s->dst + off, p, n);
    return 1;
}

/* The writer's pwrite path hashes through shmc_hash_feed: same value as XXH3 of the
 * whole buffer for every block size, every byte handed to the sink once, in order;
 * a sink that stops makes it return 0 and leave the hash alone. */
static void test_hash_feed_matches_and_feeds(void **state)
{
    (void)state;
    size_t max = 3u << 20, blocks[] = {1, 4096, 256u << 10};
    uint8_t *src = malloc(max), *dst = malloc(max);
    assert_non_null(src);
    assert_non_null(dst);
    hc_fill(src, max, 13);
    for (size_t b = 0; b < sizeof blocks / sizeof *blocks; b++) {
        for (size_t i = 0; i < sizeof lens / sizeof *lens; i++) {
            if (blocks[b] == 1 && lens[i] > 70000) continue; /* one call per byte: keep it short */
            memset(dst, 0, max);
            feed_sink s = {dst, 0, SIZE_MAX};
            uint64_t h = 0;
            assert_int_equal(shmc_hash_feed(src, lens[i], blocks[b], copy_sink, &s, &h), 1);
            assert_true(h == XXH3_64bits(src, lens[i]));
            if (lens[i]) assert_memory_equal(dst, src, lens[i]);
            assert_int_equal(s.calls, (lens[i] + blocks[b] - 1) / blocks[b]);
        }
    }
    feed_sink s = {dst, 0, 2};
    uint64_t h = 42;
    assert_int_equal(shmc_hash_feed(src, 65536, 4096, copy_sink, &s, &h), 0);
    assert_int_equal(s.calls, 3);
    assert_true(h == 42);
    free(src);
    free(dst);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_hash_matches_libxxhash),
        cmocka_unit_test(test_copy_hash_matches_and_copies),
        cmocka_unit_test(test_hash_feed_matches_and_feeds),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
