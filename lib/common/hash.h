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

#endif
