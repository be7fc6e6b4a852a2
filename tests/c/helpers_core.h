/* Shared helpers for the core (format / writer / reader) CMocka suites. */
#ifndef SHMC_HELPERS_CORE_H
#define SHMC_HELPERS_CORE_H

#include <stddef.h>
#include <stdint.h>

#include "shmchunk.h"

/* A unique "shm:NAME" for this process and counter. */
void hc_shm_name(char *out, size_t cap, const char *tag);
/* A unique file path under $TMPDIR (or /tmp). */
void hc_tmp_path(char *out, size_t cap, const char *tag);
/* Read a whole file into malloc'd memory. */
uint8_t *hc_read_file(const char *path, size_t *len);
int hc_write_file(const char *path, const void *p, size_t len);

/* Deterministic pseudo-random bytes (xorshift), for payloads. */
void hc_fill(void *p, size_t len, uint64_t seed);

/* Write `frame` to a malloc'd buffer via a temporary file; returns SHMC status. */
int hc_write_to_buffer(shmc_frame *frame, const shmc_write_opts *opts, uint8_t **buf, size_t *len);
/* Write `frame` to a buffer (*buf, the caller frees it) and open it with every check:
 * the segment, or NULL when either step fails. */
shmc_segment *hc_open_written(shmc_frame *frame, const shmc_write_opts *opts, uint8_t **buf);

/* A frame with one column of every kind over n rows (buffers owned by the frame).
 * Column order: see hc_mixed_names. */
shmc_frame *hc_mixed_frame(uint64_t n);
extern const char *const hc_mixed_names[];
extern const unsigned hc_mixed_ncols;

/* Reassemble column `col` role `role` of a segment by decoding each row group
 * into one malloc'd buffer (concatenated raw bytes). */
uint8_t *hc_decode_role(shmc_segment *seg, uint32_t col, int role, size_t *len);

#endif
