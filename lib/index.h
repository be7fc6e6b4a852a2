/* Internal: the msgpack index of a segment -- encoder and a bounded decoder.
 * The decoder walks the bytes itself: every length is checked against the bytes
 * that remain before anything is allocated (msgpack-c would trust it). */
#ifndef SHMC_INDEX_H
#define SHMC_INDEX_H

#include <stddef.h>
#include <stdint.h>

#include "error.h"

#define SHMC_INDEX_MAX_DEPTH 16

typedef struct shmc_index {
    uint64_t nrows;
    uint64_t rows_per_chunk;
    int has_range;
    int64_t range_start, range_step;
    shmc_label range_name;
    shmc_label columns_name;
    const uint8_t *meta;           /* points into the index bytes (decoder) or caller (encoder) */
    size_t meta_len;
    shmc_column_info *columns;     /* encoder reads: kind flags label dtype unit tz code_kind
                                      dict_column nrows null_count; the rest is derived */
    uint32_t ncolumns;
    shmc_chunk_info *chunks;       /* encoder reads: column rowgroup role codec shuffle typesize
                                      offset stored_len raw_len xxh3 */
    uint32_t nchunks;
    char *arena;                   /* decoder: NUL-terminated copies of strings */
} shmc_index;

/* Growable byte buffer. */
typedef struct shmc_buf {
    uint8_t *p;
    size_t len, cap;
    int oom;
} shmc_buf;

void shmc_buf_free(shmc_buf *b);

/* Encode. Every xxh3 is written as a fixed 9-byte uint64 so the index length does
 * not depend on chunk checksums (the writer sizes the segment before hashing). */
int shmc_index_encode(const shmc_index *ix, shmc_buf *out, shmc_err *err);

/* Decode `len` bytes into ix (allocates columns, chunks, arena; free with
 * shmc_index_free). Structural checks only; semantic checks are the reader's.
 * Errors are SHMC_ERR_CORRUPT naming the index byte offset. */
int shmc_index_decode(const uint8_t *p, size_t len, shmc_index *ix, shmc_err *err);
void shmc_index_free(shmc_index *ix);

#endif
