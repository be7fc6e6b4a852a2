/* The one hashing entry: XXH3-64 (seed 0) of a buffer, memcpy-while-hashing and
 * hashing a buffer while a caller's sink (the writer's pwrite) consumes it,
 * on the AVX2 kernel (hash_simd.c) when the CPU has it, else on libxxhash. Every
 * checksum of the library goes through here, so a faster kernel speeds up the
 * writer, the reader and the verifier at once. See hash.h. */
#include "hash.h"

#include <string.h>

#define XXH_STATIC_LINKING_ONLY /* XXH3_state_t on the stack: no malloc per copy */
#include <xxhash.h>

#include "copy_hash_blocks.h"
#include "hash_simd.h"
#include "shmchunk.h"

static const uint8_t empty_input[1];

/* -1 not yet known, 0 no, 1 yes. A benign race: every thread computes the same value. */
static int avx2_state = -1;

static int use_avx2(void)
{
    int s = __atomic_load_n(&avx2_state, __ATOMIC_RELAXED);
    if (s < 0) {
        s = shmc_hash_avx2_usable();
        __atomic_store_n(&avx2_state, s, __ATOMIC_RELAXED);
    }
    return s;
}

uint64_t shmc_hash(const void *p, size_t len)
{
    if (len >= 1024 && use_avx2()) return shmc_hash_avx2(p, len); /* same value, 2x faster */
    return XXH3_64bits(len ? p : empty_input, len);
}

SHMC_API uint64_t shmc_hash64(const void *buf, size_t len) { return shmc_hash(buf, len); }

/* Small enough that a copied block is still in L1/L2 when XXH3 reads it. */
#define COPY_HASH_BLOCK ((size_t)32 * 1024)

uint64_t shmc_copy_hash(void *dst, const void *src, size_t len)
{
    if (len <= COPY_HASH_BLOCK) {
        if (len) memcpy(dst, src, len);
        return shmc_hash(dst, len);
    }
    if (use_avx2()) return shmc_copy_hash_avx2(dst, src, len, COPY_HASH_BLOCK);
    return copy_hash_blocks(dst, src, len, COPY_HASH_BLOCK);
}

int shmc_hash_feed(const void *src, size_t len, size_t block, shmc_hash_sink sink, void *user,
                   uint64_t *hash)
{
    if (use_avx2()) return shmc_feed_hash_avx2(src, len, block, sink, user, hash);
    return feed_hash_blocks(src, len, block, sink, user, hash);
}
