/* Shared by the fuzz targets (header-only: each target is one translation unit). */
#ifndef SHMC_FUZZ_COMMON_H
#define SHMC_FUZZ_COMMON_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <xxhash.h>

#include "format.h"
#include "shmchunk.h"

/* A broken promise of the public API is a finding: abort so libFuzzer saves it. */
#define FUZZ_CHECK(cond, ...)                                                                      \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fprintf(stderr, "fuzz: %s:%d: check failed: %s: ", __FILE__, __LINE__, #cond);         \
            fprintf(stderr, __VA_ARGS__);                                                          \
            fputc('\n', stderr);                                                                   \
            abort();                                                                               \
        }                                                                                          \
    } while (0)

/* A copy of the input in 64-byte aligned memory of exactly `size` bytes, as a
 * real mapping would be aligned, while ASan still sees a one-byte over-read. */
static inline uint8_t *fuzz_aligned_copy(const uint8_t *data, size_t size)
{
    void *p = NULL;
    if (posix_memalign(&p, SHMC_CHUNK_ALIGN, size ? size : 1) != 0) return NULL;
    if (size) memcpy(p, data, size);
    return p;
}

/* Mutated bytes almost never carry valid checksums, so a fuzzer would stop at
 * the checksum checks. Recompute the index and header checksums in place (when
 * the header says where the index is) so mutations reach the index parser. */
static inline void fuzz_fix_checksums(uint8_t *buf, size_t size)
{
    if (size < SHMC_HEADER_SIZE) return;
    uint64_t off = shmc_ld64(buf + SHMC_HDR_INDEX_OFFSET);
    uint64_t len = shmc_ld64(buf + SHMC_HDR_INDEX_LEN);
    if (off <= size && len <= size - off)
        shmc_st64(buf + SHMC_HDR_INDEX_XXH3, XXH3_64bits(buf + off, (size_t)len));
    shmc_st64(buf + SHMC_HDR_HEADER_XXH3, shmc_header_hash(buf));
}

/* Read every byte of a label so ASan checks the pointer and length. */
static inline unsigned fuzz_touch(const void *p, size_t len)
{
    const volatile uint8_t *b = p;
    unsigned s = 0;
    for (size_t i = 0; i < len; i++) s += b[i];
    return s;
}

static inline unsigned fuzz_touch_label(const shmc_label *l)
{
    if ((l->type == SHMC_LABEL_STR || l->type == SHMC_LABEL_PICKLE) && l->len)
        return fuzz_touch(l->str, l->len);
    return 0;
}

static inline unsigned fuzz_touch_cstr(const char *s) { return s ? fuzz_touch(s, strlen(s)) : 0; }

#endif
