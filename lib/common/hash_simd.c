/* XXH3-64 compiled for AVX2 with runtime selection.
 *
 * The distribution's libxxhash is built for baseline x86-64 (SSE2), where XXH3 runs
 * at ~9 GB/s here: checksum verification of a column is then most of a column access.
 * The AVX2 kernel is about twice as fast. XXH3 defines one value per input whatever
 * the vector width, so stored checksums do not change. Only this file is built for
 * AVX2; hash.c calls it after checking the CPU. */
#include "hash_simd.h"

#include <string.h>

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#define SHMC_HAVE_AVX2_BUILD 1
#if defined(__clang__)
#pragma clang attribute push(__attribute__((target("avx2"))), apply_to = function)
/* clang's target attribute does not define __AVX2__, so xxhash.h would not pull in
 * the AVX2 intrinsics by itself. */
#include <immintrin.h>
#else
#pragma GCC target("avx2")
#endif
#define XXH_INLINE_ALL
#define XXH_VECTOR 2 /* XXH_AVX2 */
#include <xxhash.h>
#include "copy_hash_blocks.h"
#endif

#ifdef SHMC_HAVE_AVX2_BUILD
static const uint8_t empty_input[1];

uint64_t shmc_hash_avx2(const void *p, size_t len)
{
    return XXH3_64bits(len ? p : empty_input, len);
}

uint64_t shmc_copy_hash_avx2(void *dst, const void *src, size_t len, size_t block)
{
    return copy_hash_blocks(dst, src, len, block);
}

int shmc_feed_hash_avx2(const void *src, size_t len, size_t block, shmc_hash_sink sink, void *user,
                        uint64_t *hash)
{
    return feed_hash_blocks(src, len, block, sink, user, hash);
}
#endif

#if defined(__clang__) && defined(SHMC_HAVE_AVX2_BUILD)
#pragma clang attribute pop
#endif

#ifdef SHMC_HAVE_AVX2_BUILD
int shmc_hash_avx2_usable(void)
{
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx2") ? 1 : 0;
}
#else
int shmc_hash_avx2_usable(void) { return 0; }
uint64_t shmc_hash_avx2(const void *p, size_t len)
{
    (void)p;
    (void)len;
    return 0;
}
uint64_t shmc_copy_hash_avx2(void *dst, const void *src, size_t len, size_t block)
{
    (void)dst;
    (void)src;
    (void)len;
    (void)block;
    return 0;
}
int shmc_feed_hash_avx2(const void *src, size_t len, size_t block, shmc_hash_sink sink, void *user,
                        uint64_t *hash)
{
    (void)src;
    (void)len;
    (void)block;
    (void)sink;
    (void)user;
    (void)hash;
    return 0;
}
#endif
