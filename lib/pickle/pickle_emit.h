/* Internal: a protocol-5 pickle opcode emitter over a growable buffer.
 *
 * Framing follows CPython's pickler: opcodes are grouped into FRAMEs of about
 * 64 KiB, an opcode never straddles two frames, and payloads of 64 KiB or more
 * (big str, bytes, bytearray) are written outside any frame so that the pure
 * Python unpickler, which refuses a read crossing a frame end, accepts us too.
 *
 * Errors are sticky: after the first failure every call returns the same
 * status and writes nothing, so callers may emit a run of opcodes and check
 * once. The only failure is running out of memory (or the size limit). */
#ifndef SHMC_PICKLE_EMIT_H
#define SHMC_PICKLE_EMIT_H

#include <stddef.h>
#include <stdint.h>

#include "pickle_ops.h"

#define SHMC_PK_FRAME_TARGET  ((size_t)64 * 1024)
#define SHMC_PK_APPENDS_BATCH 1000u

/* Opcodes: SHMC_OP_* of pickle_ops.h. */

typedef struct shmc_pk {
    uint8_t *buf;
    size_t len, cap;
    size_t max_len;     /* refuse to grow past this (SHMC_ERR_LIMIT); 0 = SIZE_MAX/2 */
    size_t frame_start; /* offset of the open FRAME opcode */
    int in_frame;
    uint32_t memo_next; /* index the next MEMOIZE will use */
    int status;         /* sticky shmc_status */
} shmc_pk;

void shmc_pk_init(shmc_pk *pk);
void shmc_pk_free(shmc_pk *pk);
/* Hand the finished bytes to the caller (free() them); the emitter is reset. */
uint8_t *shmc_pk_take(shmc_pk *pk, size_t *len);

/* PROTO 5. */
int shmc_pk_begin(shmc_pk *pk);
/* STOP, then close the last frame. */
int shmc_pk_end(shmc_pk *pk);

/* A one-byte opcode with no argument. */
int shmc_pk_op(shmc_pk *pk, uint8_t op);
int shmc_pk_none(shmc_pk *pk);
int shmc_pk_bool(shmc_pk *pk, int v);
/* Smallest of BININT1 / BININT2 / BININT / LONG1. */
int shmc_pk_int(shmc_pk *pk, int64_t v);
/* An unsigned value: shmc_pk_int below 2^63, else LONG1 of 9 bytes. */
int shmc_pk_uint(shmc_pk *pk, uint64_t v);
int shmc_pk_float(shmc_pk *pk, double v);
/* A str from UTF-8 bytes the caller has validated. */
int shmc_pk_str(shmc_pk *pk, const char *s, size_t len);
/* A NUL-terminated ASCII name (module, attribute, dtype string). */
int shmc_pk_cstr(shmc_pk *pk, const char *s);
int shmc_pk_bytes(shmc_pk *pk, const void *p, size_t len);
/* BYTEARRAY8 header of `len` bytes; *dst receives where to write the payload.
 * The pointer is valid until the next emitter call. */
int shmc_pk_bytearray(shmc_pk *pk, size_t len, uint8_t **dst);
/* NEXT_BUFFER READONLY_BUFFER: the next out-of-band buffer, read-only. */
int shmc_pk_oob(shmc_pk *pk);
/* STACK_GLOBAL of module.qualname. */
int shmc_pk_global(shmc_pk *pk, const char *module, const char *qualname);
/* MEMOIZE the top of the stack; *index (may be NULL) receives its memo index. */
int shmc_pk_memoize(shmc_pk *pk, uint32_t *index);
/* BINGET / LONG_BINGET. */
int shmc_pk_get(shmc_pk *pk, uint32_t index);

/* Ensure room for `n` more bytes without growing again; for hot loops. */
int shmc_pk_reserve(shmc_pk *pk, size_t n);
/* Close the current frame if it has reached the target size. Call between
 * complete opcodes only. */
void shmc_pk_maybe_commit(shmc_pk *pk);

/* Is [s, s+len) UTF-8 as pickle's BINUNICODE loader accepts it ('surrogatepass':
 * encoded surrogates allowed; overlong forms, truncated sequences and code points
 * above U+10FFFF refused)? Returns 0 if valid, else 1 + offset of the bad byte. */
size_t shmc_utf8_check(const uint8_t *s, size_t len);

#endif
