/* Internal: the one hashing entry of the library (XXH3-64, seed 0). Callers never
 * use libxxhash directly, so every checksum takes the AVX2 kernel when the CPU
 * has it (hash_simd.c) and gets the same value either way. */
#ifndef SHMC_HASH_H
#define SHMC_HASH_H

#include <stddef.h>
#include <stdint.h>

/* XXH3-64 of a buffer (seed 0), and memcpy that hashes while it copies. */
uint64_t shmc_hash(const void *p, size_t len);
uint64_t shmc_copy_hash(void *dst, const void *src, size_t len);

/* XXH3-64 of src[0, len) taken in blocks of `block` (> 0) bytes, with
 * sink(user, p, n, off) called on each block just before it is hashed (the block
 * is then still in cache: the writer pwrites it). A sink returns 1 when it consumed
 * all n bytes, 0 to stop. Returns 1 with *hash set, or 0 when a sink stopped. */
typedef int (*shmc_hash_sink)(void *user, const uint8_t *p, size_t n, size_t off);
int shmc_hash_feed(const void *src, size_t len, size_t block, shmc_hash_sink sink, void *user,
                   uint64_t *hash);

#endif
