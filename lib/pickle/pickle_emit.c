/* Protocol-5 opcode emitter; see pickle_emit.h for the framing rules. */
#include "pickle_emit.h"

#include <stdlib.h>
#include <string.h>

#include "shmchunk.h"

#define FRAME_HEADER 9u

void shmc_pk_init(shmc_pk *pk) { memset(pk, 0, sizeof *pk); }

void shmc_pk_free(shmc_pk *pk)
{
    if (!pk) return;
    free(pk->buf);
    shmc_pk_init(pk);
}

uint8_t *shmc_pk_take(shmc_pk *pk, size_t *len)
{
    uint8_t *b = pk->buf;
    *len = pk->len;
    shmc_pk_init(pk);
    return b;
}

int shmc_pk_reserve(shmc_pk *pk, size_t n)
{
    if (pk->status) return pk->status;
    size_t limit = pk->max_len ? pk->max_len : SIZE_MAX / 2;
    if (n > limit || pk->len > limit - n) return pk->status = SHMC_ERR_LIMIT;
    size_t need = pk->len + n;
    if (need <= pk->cap) return SHMC_OK;
    size_t cap = pk->cap ? pk->cap : 4096;
    while (cap < need) cap = cap > limit / 2 ? limit : cap * 2;
    uint8_t *nb = realloc(pk->buf, cap);
    if (!nb) return pk->status = SHMC_ERR_NOMEM;
    pk->buf = nb;
    pk->cap = cap;
    return SHMC_OK;
}

static void put_le(uint8_t *p, uint64_t v, unsigned n)
{
    for (unsigned i = 0; i < n; i++) p[i] = (uint8_t)(v >> (8 * i));
}

static void commit_frame(shmc_pk *pk)
{
    if (!pk->in_frame) return;
    size_t payload = pk->len - pk->frame_start - FRAME_HEADER;
    if (payload == 0) {
        pk->len = pk->frame_start; /* an empty frame is legal but useless */
    } else {
        put_le(pk->buf + pk->frame_start + 1, payload, 8);
    }
    pk->in_frame = 0;
}

void shmc_pk_maybe_commit(shmc_pk *pk)
{
    if (pk->in_frame && pk->len - pk->frame_start - FRAME_HEADER >= SHMC_PK_FRAME_TARGET)
        commit_frame(pk);
}

/* Room for n framed bytes: opens a frame when none is open. Returns where to write. */
static uint8_t *framed(shmc_pk *pk, size_t n)
{
    if (pk->status) return NULL;
    shmc_pk_maybe_commit(pk);
    if (shmc_pk_reserve(pk, n + FRAME_HEADER) != SHMC_OK) return NULL;
    if (!pk->in_frame) {
        pk->frame_start = pk->len;
        pk->buf[pk->len] = SHMC_OP_FRAME;
        memset(pk->buf + pk->len + 1, 0, 8);
        pk->len += FRAME_HEADER;
        pk->in_frame = 1;
    }
    uint8_t *p = pk->buf + pk->len;
    pk->len += n;
    return p;
}

/* Room for a header and a large payload outside any frame (CPython's
 * write_large_bytes): ends the current frame first. */
static uint8_t *unframed(shmc_pk *pk, size_t n)
{
    if (pk->status) return NULL;
    commit_frame(pk);
    if (shmc_pk_reserve(pk, n) != SHMC_OK) return NULL;
    uint8_t *p = pk->buf + pk->len;
    pk->len += n;
    return p;
}

static uint8_t *room(shmc_pk *pk, size_t header, size_t payload)
{
    if (payload >= SHMC_PK_FRAME_TARGET) return unframed(pk, header + payload);
    return framed(pk, header + payload);
}

int shmc_pk_begin(shmc_pk *pk)
{
    if (shmc_pk_reserve(pk, 2) != SHMC_OK) return pk->status;
    pk->buf[pk->len++] = SHMC_OP_PROTO;
    pk->buf[pk->len++] = 5;
    return SHMC_OK;
}

int shmc_pk_end(shmc_pk *pk)
{
    if (shmc_pk_op(pk, SHMC_OP_STOP) != SHMC_OK) return pk->status;
    commit_frame(pk);
    return SHMC_OK;
}

int shmc_pk_op(shmc_pk *pk, uint8_t op)
{
    uint8_t *p = framed(pk, 1);
    if (!p) return pk->status;
    *p = op;
    return SHMC_OK;
}

int shmc_pk_none(shmc_pk *pk) { return shmc_pk_op(pk, SHMC_OP_NONE); }

int shmc_pk_bool(shmc_pk *pk, int v)
{
    return shmc_pk_op(pk, v ? SHMC_OP_NEWTRUE : SHMC_OP_NEWFALSE);
}

/* Bytes of v as a minimal little-endian two's complement number (pickle's encode_long). */
static unsigned long_bytes(int64_t v, uint8_t out[8])
{
    put_le(out, (uint64_t)v, 8);
    unsigned n = 8;
    while (n > 1) {
        uint8_t top = out[n - 1], next_sign = out[n - 2] & 0x80;
        if ((top == 0x00 && !next_sign) || (top == 0xff && next_sign)) n--;
        else break;
    }
    return n;
}

int shmc_pk_int(shmc_pk *pk, int64_t v)
{
    uint8_t *p;
    if (v >= 0 && v <= 0xff) {
        if (!(p = framed(pk, 2))) return pk->status;
        p[0] = SHMC_OP_BININT1;
        p[1] = (uint8_t)v;
    } else if (v >= 0 && v <= 0xffff) {
        if (!(p = framed(pk, 3))) return pk->status;
        p[0] = SHMC_OP_BININT2;
        put_le(p + 1, (uint64_t)v, 2);
    } else if (v >= INT32_MIN && v <= INT32_MAX) {
        if (!(p = framed(pk, 5))) return pk->status;
        p[0] = SHMC_OP_BININT;
        put_le(p + 1, (uint64_t)v, 4);
    } else {
        uint8_t b[8];
        unsigned n = long_bytes(v, b);
        if (!(p = framed(pk, 2 + n))) return pk->status;
        p[0] = SHMC_OP_LONG1;
        p[1] = (uint8_t)n;
        memcpy(p + 2, b, n);
    }
    return SHMC_OK;
}

int shmc_pk_uint(shmc_pk *pk, uint64_t v)
{
    if (v <= INT64_MAX) return shmc_pk_int(pk, (int64_t)v);
    uint8_t *p = framed(pk, 11);
    if (!p) return pk->status;
    p[0] = SHMC_OP_LONG1;
    p[1] = 9;
    put_le(p + 2, v, 8);
    p[10] = 0; /* the sign byte: positive */
    return SHMC_OK;
}

int shmc_pk_float(shmc_pk *pk, double v)
{
    uint64_t bits;
    memcpy(&bits, &v, sizeof bits);
    uint8_t *p = framed(pk, 9);
    if (!p) return pk->status;
    p[0] = SHMC_OP_BINFLOAT;
    for (unsigned i = 0; i < 8; i++) p[1 + i] = (uint8_t)(bits >> (56 - 8 * i)); /* big-endian */
    return SHMC_OK;
}

/* Shared by str and bytes: the short / 4-byte / 8-byte length forms. */
static int sized(shmc_pk *pk, uint8_t op1, uint8_t op4, uint8_t op8, const void *s, size_t len)
{
    uint8_t *p;
    if (len < 256) {
        if (!(p = room(pk, 2, len))) return pk->status;
        p[0] = op1;
        p[1] = (uint8_t)len;
        p += 2;
    } else if (len <= 0xffffffffu) {
        if (!(p = room(pk, 5, len))) return pk->status;
        p[0] = op4;
        put_le(p + 1, len, 4);
        p += 5;
    } else {
        if (!(p = room(pk, 9, len))) return pk->status;
        p[0] = op8;
        put_le(p + 1, len, 8);
        p += 9;
    }
    if (len) memcpy(p, s, len);
    return SHMC_OK;
}

int shmc_pk_str(shmc_pk *pk, const char *s, size_t len)
{
    return sized(pk, SHMC_OP_SHORT_BINUNICODE, SHMC_OP_BINUNICODE, SHMC_OP_BINUNICODE8, s, len);
}

int shmc_pk_cstr(shmc_pk *pk, const char *s) { return shmc_pk_str(pk, s, strlen(s)); }

int shmc_pk_bytes(shmc_pk *pk, const void *p, size_t len)
{
    return sized(pk, SHMC_OP_SHORT_BINBYTES, SHMC_OP_BINBYTES, SHMC_OP_BINBYTES8, p, len);
}

int shmc_pk_bytearray(shmc_pk *pk, size_t len, uint8_t **dst)
{
    uint8_t *p = room(pk, 9, len);
    *dst = NULL;
    if (!p) return pk->status;
    p[0] = SHMC_OP_BYTEARRAY8;
    put_le(p + 1, len, 8);
    *dst = p + 9;
    return SHMC_OK;
}

int shmc_pk_oob(shmc_pk *pk)
{
    uint8_t *p = framed(pk, 2);
    if (!p) return pk->status;
    p[0] = SHMC_OP_NEXT_BUFFER;
    p[1] = SHMC_OP_READONLY_BUFFER;
    return SHMC_OK;
}

int shmc_pk_global(shmc_pk *pk, const char *module, const char *qualname)
{
    shmc_pk_cstr(pk, module);
    shmc_pk_cstr(pk, qualname);
    return shmc_pk_op(pk, SHMC_OP_STACK_GLOBAL);
}

int shmc_pk_memoize(shmc_pk *pk, uint32_t *index)
{
    if (pk->memo_next == UINT32_MAX) return pk->status = SHMC_ERR_LIMIT;
    if (shmc_pk_op(pk, SHMC_OP_MEMOIZE) != SHMC_OK) return pk->status;
    if (index) *index = pk->memo_next;
    pk->memo_next++;
    return SHMC_OK;
}

int shmc_pk_get(shmc_pk *pk, uint32_t index)
{
    uint8_t *p;
    if (index < 256) {
        if (!(p = framed(pk, 2))) return pk->status;
        p[0] = SHMC_OP_BINGET;
        p[1] = (uint8_t)index;
    } else {
        if (!(p = framed(pk, 5))) return pk->status;
        p[0] = SHMC_OP_LONG_BINGET;
        put_le(p + 1, index, 4);
    }
    return SHMC_OK;
}

/* Length of the valid sequence at s (n bytes left), or 0 when invalid. */
static size_t utf8_seq(const uint8_t *s, size_t n)
{
    uint8_t c = s[0];
    size_t need;
    uint8_t lo = 0x80, hi = 0xbf; /* allowed range of the second byte */
    if (c < 0x80) return 1;
    if (c >= 0xc2 && c <= 0xdf) need = 2;
    else if (c >= 0xe0 && c <= 0xef) {
        need = 3;
        if (c == 0xe0) lo = 0xa0;
    } else if (c >= 0xf0 && c <= 0xf4) {
        need = 4;
        if (c == 0xf0) lo = 0x90;
        if (c == 0xf4) hi = 0x8f;
    } else return 0;
    if (n < need || s[1] < lo || s[1] > hi) return 0;
    for (size_t i = 2; i < need; i++)
        if ((s[i] & 0xc0) != 0x80) return 0;
    return need;
}

size_t shmc_utf8_check(const uint8_t *s, size_t len)
{
    size_t i = 0;
    while (i < len) {
        /* ASCII runs dominate real data: test 8 bytes at once. */
        while (i + 8 <= len) {
            uint64_t w;
            memcpy(&w, s + i, 8);
            if (w & 0x8080808080808080ull) break;
            i += 8;
        }
        if (i >= len) break;
        size_t k = utf8_seq(s + i, len - i);
        if (!k) return i + 1;
        i += k;
    }
    return 0;
}
