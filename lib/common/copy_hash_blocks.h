/* Internal: the copy-while-hashing loops (memcpy, or a caller's sink such as pwrite),
 * as source included by hash.c (built for baseline x86-64, libxxhash) and by
 * hash_simd.c (built for AVX2 with XXH3 inlined). Each includes it after its own
 * <xxhash.h>, so one loop serves both builds.
 * Copying a block and hashing it right away hashes it while it is still in cache. */
#ifndef SHMC_COPY_HASH_BLOCKS_H
#define SHMC_COPY_HASH_BLOCKS_H

static uint64_t copy_hash_blocks(void *dst, const void *src, size_t len, size_t block)
{
    XXH3_state_t st;
    XXH3_INITSTATE(&st);
    XXH3_64bits_reset(&st);
    uint8_t *d = dst;
    const uint8_t *s = src;
    for (size_t off = 0; off < len; off += block) {
        size_t n = len - off < block ? len - off : block;
        memcpy(d + off, s + off, n);
        XXH3_64bits_update(&st, d + off, n);
    }
    return XXH3_64bits_digest(&st);
}

static int feed_hash_blocks(const void *src, size_t len, size_t block, shmc_hash_sink sink,
                            void *user, uint64_t *hash)
{
    XXH3_state_t st;
    XXH3_INITSTATE(&st);
    XXH3_64bits_reset(&st);
    const uint8_t *s = src;
    for (size_t off = 0; off < len; off += block) {
        size_t n = len - off < block ? len - off : block;
        if (!sink(user, s + off, n, off)) return 0;
        XXH3_64bits_update(&st, s + off, n);
    }
    *hash = XXH3_64bits_digest(&st);
    return 1;
}

#endif
