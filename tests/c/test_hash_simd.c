/* Tests of lib/common/hash_simd.c: the AVX2 XXH3 gives libxxhash's values, via shmc_hash too. */
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
static const size_t lens[] = {0, 1, 3, 16, 17, 128, 129, 240, 241, 1023, 1024, 1025, 4095,
                              65536, 65537, 1000003, 3u << 20};

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

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_hash_matches_libxxhash),
        cmocka_unit_test(test_copy_hash_matches_and_copies),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
