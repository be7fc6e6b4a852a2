/* XXH3-64 built for AVX2, used by hash.c when the CPU has it (internal). */
#ifndef SHMC_HASH_SIMD_H
#define SHMC_HASH_SIMD_H
#include <stddef.h>
#include <stdint.h>

#include "hash.h"

/* 1 when the shmc_hash_avx2* functions may be called on this CPU. */
int shmc_hash_avx2_usable(void);
/* Same value as XXH3_64bits(p, len). */
uint64_t shmc_hash_avx2(const void *p, size_t len);
/* memcpy(dst, src, len) and XXH3_64bits of it, in cache-sized blocks. */
uint64_t shmc_copy_hash_avx2(void *dst, const void *src, size_t len, size_t block);
/* shmc_hash_feed's loop. */
int shmc_feed_hash_avx2(const void *src, size_t len, size_t block, shmc_hash_sink sink, void *user,
                        uint64_t *hash);
#endif
