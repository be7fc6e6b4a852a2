/* What segment_read.c (checks, queries) and segment_access.c (open, views,
 * decodes, verification) share of a segment reader (internal). */
#ifndef SHMC_SEGMENT_INT_H
#define SHMC_SEGMENT_INT_H

#include "arrow_format.h"
#include "error.h"
#include "index.h"
#include "shmchunk.h"
#include "store.h"

struct shmc_segment {
    shmc_err err;
    shmc_store st;
    uint32_t open_flags;
    int is_open;
    uint32_t hdr_flags, uid;
    int version; /* header format_version: 1 or 2 */
    int64_t owner_pid;
    uint64_t owner_start, total, index_off, index_len, created_ns, identity;
    uint64_t nrowgroups, raw_bytes, stored_bytes;
    uint64_t max_decoded; /* shmc_segment_limit_set: survives open_prepare */
    shmc_index ix;
};

/* SHMC_ERR_INVALID_ARG unless the segment is open. */
int shmc_segment_need_open(shmc_segment *seg);
/* SHMC_ERR_INVALID_ARG unless chunk is a chunk id of the open segment. */
int shmc_segment_chunk_range(shmc_segment *seg, uint32_t chunk);
/* The error naming the segment, chunk, column, role and byte offset. */
int shmc_segment_chunk_err(shmc_segment *seg, int status, uint32_t id, const char *why);
/* The header checks of open (magic, version, layout, seal, checksum), again. */
int shmc_segment_header_check(shmc_segment *seg);
/* Unmap and forget the index (open again or free). */
void shmc_segment_unmap(shmc_segment *seg);
/* Open's steps, in this order: the header fields into seg, then the index checks. */
int shmc_segment_header_load(shmc_segment *seg);
int shmc_segment_index_check(shmc_segment *seg);
/* The Arrow layout of an SHMC_KIND_ARROW column (checked at open): 1, else 0. */
int shmc_segment_arrow_layout(const shmc_column_info *ci, shmc_arrow_layout *l);

#endif
