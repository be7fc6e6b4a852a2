/* Internal: the chunk codec (byte shuffle, zstd).
 * Pure functions over caller buffers; no segment knowledge. */
#ifndef SHMC_CODEC_H
#define SHMC_CODEC_H

#include <stddef.h>
#include <stdint.h>
#include "error.h"

/* Worst-case stored size of `len` raw bytes under `codec`. */
size_t shmc_codec_bound(size_t len, int codec);

/* Encode len bytes of src into dst (dst_cap >= shmc_codec_bound(len, codec)).
 * typesize > 1 with shuffle != 0 byte-shuffles first (needs a scratch of len
 * bytes, allocated internally per call or per thread). When compression does not
 * save at least min_saving (fraction), the chunk is stored raw: *codec_used =
 * SHMC_CODEC_NONE and *shuffled = 0, dst holds a plain copy. Deterministic. */
int shmc_codec_encode(const void *src, size_t len, int codec, int level, int shuffle,
                      uint32_t typesize, double min_saving, void *dst, size_t dst_cap,
                      size_t *dst_len, int *codec_used, int *shuffled, shmc_err *err);

/* Decode exactly raw_len bytes into dst. Anything else -- a frame that claims
 * another size, trailing garbage, a decoder error -- is SHMC_ERR_CORRUPT. */
int shmc_codec_decode(const void *src, size_t src_len, int codec, int shuffled, uint32_t typesize,
                      void *dst, size_t raw_len, shmc_err *err);

/* The same for stored bytes others may change while we read them (a shared mapping):
 * src is copied into private memory -- hashed while copied when want_hash is not NULL,
 * SHMC_ERR_CHUNK_CHECKSUM ("checksum mismatch") when the copy does not hash to
 * *want_hash -- and decoded from that copy, so the bytes decoded are the bytes hashed
 * and the decoder never reads memory that can change under it. An unshuffled raw
 * chunk is copied (and hashed) straight into dst. */
int shmc_codec_decode_shared(const void *src, size_t src_len, const uint64_t *want_hash, int codec,
                             int shuffled, uint32_t typesize, void *dst, size_t raw_len,
                             shmc_err *err);

void shmc_shuffle(const void *src, void *dst, size_t len, uint32_t typesize);
void shmc_unshuffle(const void *src, void *dst, size_t len, uint32_t typesize);

#endif
