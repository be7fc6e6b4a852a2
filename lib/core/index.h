/* Internal: the msgpack index of a segment -- encoder and a bounded decoder,
 * both on msgpack-c. msgpack-c trusts the counts it reads (it allocates
 * count * sizeof(msgpack_object) up front), so the decoder first walks the bytes
 * once itself: every length and count is checked against the bytes that remain
 * and the nesting depth is bounded before msgpack-c sees them. */
#ifndef SHMC_INDEX_H
#define SHMC_INDEX_H

#include <stddef.h>
#include <stdint.h>

#include "error.h"

#define SHMC_INDEX_MAX_DEPTH  16
/* Containers nest at most this deep, the top-level map being depth 0: a value
 * of an unknown key inside a column map or chunk array may itself nest
 * SHMC_INDEX_MAX_DEPTH deep. */
#define SHMC_INDEX_SCAN_DEPTH (SHMC_INDEX_MAX_DEPTH + 3)

typedef struct shmc_index {
    int version; /* format: decoder sets it; encoder writes 0 as SHMC_FORMAT_VERSION */
    uint64_t nrows;
    uint64_t rows_per_chunk;
    int has_range;
    int64_t range_start, range_step;
    shmc_label range_name;
    shmc_label columns_name;
    const uint8_t *meta; /* points into the index bytes (decoder) or caller (encoder) */
    size_t meta_len;
    const char *freq;          /* frequency of the row index (pandas freqstr), NULL if none;
                                      checked by shmc_index_freq_check */
    shmc_column_info *columns; /* encoder reads: kind flags label dtype unit tz code_kind
                                      dict_column nrows null_count arrow; the rest is derived */
    uint32_t ncolumns;
    shmc_chunk_info *chunks; /* encoder reads: column rowgroup role codec shuffle typesize
                                      offset stored_len raw_len xxh3 */
    uint32_t nchunks;
    char *arena; /* decoder: NUL-terminated copies of strings */
} shmc_index;

/* Growable byte buffer. */
typedef struct shmc_buf {
    uint8_t *p;
    size_t len, cap;
    int oom;
} shmc_buf;

void shmc_buf_free(shmc_buf *b);

/* Encode as format ix->version (0: SHMC_FORMAT_VERSION). Format 2 writes the
 * chunks as fixed 48-byte records (SHMC_CREC_*), format 1 as arrays with every
 * xxh3 a fixed 9-byte uint64: either way the index length does not depend on
 * chunk checksums (the writer sizes the segment before hashing). */
int shmc_index_encode(const shmc_index *ix, shmc_buf *out, shmc_err *err);

/* Walk one msgpack value over exactly `len` bytes without allocating: every
 * str/bin length and array/map count fits the bytes that remain, nesting stays
 * below SHMC_INDEX_SCAN_DEPTH, no ext type, no trailing bytes. *zone_bytes is
 * what msgpack-c will allocate for it: at most 24 * len on LP64 (each element
 * takes at least one byte, sizeof(msgpack_object) == 24). Errors are
 * SHMC_ERR_CORRUPT naming the index byte offset. */
int shmc_index_prescan(const uint8_t *p, size_t len, size_t *zone_bytes, shmc_err *err);

/* Decode `len` bytes into ix (allocates columns, chunks, arena; free with
 * shmc_index_free): shmc_index_prescan, then msgpack_unpack into a zone of the
 * size it found, then the msgpack objects into ix. Structural checks only;
 * semantic checks are the reader's. Allocation: the zone (<= 24 * len), the
 * arena (2 * len + 1), and columns/chunks arrays whose counts are bounded by
 * len / 14 and len / 11 (format 1) or len / 48 (format 2's chunk table). Errors are SHMC_ERR_CORRUPT naming the index byte
 * offset (scan) or the column/chunk entry (decode). */
int shmc_index_decode(const uint8_t *p, size_t len, shmc_index *ix, shmc_err *err);
void shmc_index_free(shmc_index *ix);

/* A stored index frequency (`freq`, a pandas freqstr such as "D", "2h", "W-SUN",
 * "QE-DEC") is 1..SHMC_FREQ_MAX bytes of ASCII letters, digits, '-', '+' and '_':
 * pandas parses it with to_offset, and nothing else can reach it. 0 if valid. */
#define SHMC_FREQ_MAX 32
int shmc_index_freq_check(const char *s, size_t len);

#endif
