/* Internal: the writer's handling of SHMC_KIND_ARROW columns (frame_arrow.c), called
 * from the generic writer at each step where a column's buffers are looked at. */
#ifndef SHMC_FRAME_ARROW_H
#define SHMC_FRAME_ARROW_H

#include <stdint.h>

#include "error.h"

/* Descriptor checks that need no row count (shmc_frame_add_column). */
int shmc_frame_arrow_desc_check(shmc_err *e, const shmc_column_desc *d, const char *what,
                                int is_dict);
/* Buffers present and offsets non-decreasing for n rows; *nulls = validity zero bits. */
int shmc_frame_arrow_buffers_check(shmc_err *e, const shmc_column_desc *d, uint64_t n,
                                   const char *what, uint64_t *nulls);
/* A role of rows [row0, row0 + n): stored at all, its raw_len, its typesize. */
int shmc_frame_arrow_role_present(const shmc_column_desc *d, int role, uint64_t row0, uint64_t n);
uint64_t shmc_frame_arrow_raw_len(const shmc_column_desc *d, int role, uint64_t row0, uint64_t n);
uint32_t shmc_frame_arrow_typesize(const shmc_column_desc *d, int role);
/* Source bytes of a chunk copied as they are (fixed-width values, data), else NULL:
 * then shmc_frame_arrow_transform writes its raw_len bytes (rebased offsets, bitmaps
 * re-packed to start at bit 0 of the row group, padding bits zero). */
const uint8_t *shmc_frame_arrow_direct(const shmc_column_desc *d, int role, uint64_t row0);
void shmc_frame_arrow_transform(const shmc_column_desc *d, int role, uint64_t row0, uint64_t n,
                                uint64_t raw_len, uint8_t *dst);

#endif
