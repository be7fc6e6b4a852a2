/* Fast check of an Arrow large_string layout over mapped segment bytes.
 *
 * Arrow trusts offsets and assumes valid UTF-8, and a hostile writer can produce
 * valid checksums, so a reader must check both before handing the buffers to Arrow.
 * Arrow's own full validation decodes string by string; this checks the offsets in
 * one pass and the whole data range as one UTF-8 text (8 ASCII bytes per step), then
 * that no string starts inside a multi-byte sequence: together that is equivalent to
 * every string being valid UTF-8. Null slots' bytes are checked too, so this is
 * stricter than Arrow: callers fall back to Arrow's validation when it fails. */
#include <stdint.h>
#include <string.h>

#include "shmchunk.h"

static int64_t load_i64(const uint8_t *p)
{
    int64_t v; /* offsets may sit at any byte offset of the mapping */
    memcpy(&v, p, sizeof v);
    return v;
}

static uint64_t load_u64(const uint8_t *p)
{
    uint64_t v;
    memcpy(&v, p, sizeof v);
    return v;
}

static int is_cont(uint8_t b) { return (b & 0xC0u) == 0x80u; }

/* Length of the valid UTF-8 sequence starting at p (p < end), 0 if invalid.
 * Rejects overlong forms, surrogates and code points above U+10FFFF. */
static size_t utf8_seq_len(const uint8_t *p, const uint8_t *end)
{
    uint8_t b = p[0];
    size_t avail = (size_t)(end - p);
    if (b < 0x80u) return 1;
    if (b >= 0xC2u && b <= 0xDFu) return (avail >= 2 && is_cont(p[1])) ? 2 : 0;
    if (b >= 0xE0u && b <= 0xEFu) {
        if (avail < 3 || !is_cont(p[1]) || !is_cont(p[2])) return 0;
        if (b == 0xE0u && p[1] < 0xA0u) return 0; /* overlong */
        if (b == 0xEDu && p[1] > 0x9Fu) return 0; /* surrogate */
        return 3;
    }
    if (b >= 0xF0u && b <= 0xF4u) {
        if (avail < 4 || !is_cont(p[1]) || !is_cont(p[2]) || !is_cont(p[3])) return 0;
        if (b == 0xF0u && p[1] < 0x90u) return 0; /* overlong */
        if (b == 0xF4u && p[1] > 0x8Fu) return 0; /* above U+10FFFF */
        return 4;
    }
    return 0;
}

#define ASCII_BLOCK 256 /* bytes OR-ed together before one branch: vectorises */

/* 1 if no byte of p[0, ASCII_BLOCK) has its high bit set. */
static int block_ascii(const uint8_t *p)
{
    uint64_t acc = 0;
    for (size_t i = 0; i < ASCII_BLOCK; i += 8) acc |= load_u64(p + i);
    return !(acc & 0x8080808080808080ull);
}

/* 1 if valid UTF-8; *ascii tells whether every byte was below 0x80. Text is
 * mostly ASCII: whole blocks are cleared at once, and only a block holding a
 * high bit is walked sequence by sequence (a sequence may run past its end). */
static int utf8_valid(const uint8_t *p, const uint8_t *end, int *ascii)
{
    *ascii = 1;
    while (p < end) {
        if ((size_t)(end - p) >= ASCII_BLOCK && block_ascii(p)) {
            p += ASCII_BLOCK;
            continue;
        }
        const uint8_t *stop = (size_t)(end - p) >= ASCII_BLOCK ? p + ASCII_BLOCK : end;
        while (p < stop) {
            if ((size_t)(end - p) >= 8 && !(load_u64(p) & 0x8080808080808080ull)) {
                p += 8;
                continue;
            }
            size_t n = utf8_seq_len(p, end);
            if (!n) return 0;
            if (n > 1) *ascii = 0;
            p += n;
        }
    }
    return 1;
}

/* Index of the first string whose offsets are out of order or out of range, or that
 * starts inside a multi-byte sequence; noffsets - 1 when none. */
static size_t first_bad_offset(const uint8_t *off, size_t noffsets, const uint8_t *d,
                               size_t data_len)
{
    int64_t prev = load_i64(off);
    for (size_t i = 1; i < noffsets; i++) {
        int64_t o = load_i64(off + i * 8);
        if (o < prev || (uint64_t)o > data_len) return i - 1;
        if (o > prev && is_cont(d[prev])) return i - 1; /* prev < o <= data_len here */
        prev = o;
    }
    return noffsets - 1;
}

/* Pure ASCII data has no multi-byte sequence to start inside: only order remains.
 * The caller has checked 0 <= first and last <= data_len, so offsets that never
 * decrease (as unsigned numbers: a negative one would exceed last) are all in
 * range. The borrow of a - b is computed with plain 64-bit operations so that the
 * loop vectorises without a 64-bit compare instruction and has no carried load. */
static int offsets_ordered(const uint8_t *off, size_t noffsets)
{
    uint64_t borrow = 0;
    for (size_t i = 1; i < noffsets; i++) {
        uint64_t a = (uint64_t)load_i64(off + i * 8), b = (uint64_t)load_i64(off + (i - 1) * 8);
        borrow |= (~a & b) | (~(a ^ b) & (a - b)); /* high bit set iff a < b */
    }
    return !(borrow >> 63);
}

/* Same verdict as first_bad_offset without a branch per string (hot path: ~4x faster). */
static int offsets_ok(const uint8_t *off, size_t noffsets, const uint8_t *d, size_t data_len)
{
    int64_t prev = load_i64(off);
    uint64_t bad = 0;
    for (size_t i = 1; i < noffsets; i++) {
        int64_t o = load_i64(off + i * 8);
        uint64_t in_range = (uint64_t)(o >= prev) & (uint64_t)((uint64_t)o <= data_len);
        /* index clamped so that a bad offset cannot read outside data */
        size_t at = in_range && o > prev ? (size_t)prev : 0;
        uint8_t b = data_len ? d[at] : 0;
        bad |= (in_range ^ 1u) | ((uint64_t)(o > prev) & (uint64_t)is_cont(b));
        prev = in_range ? o : prev;
    }
    return bad == 0;
}

static int first_bad(const uint8_t *off, size_t noffsets, const uint8_t *d, size_t data_len,
                     size_t *bad)
{
    *bad = first_bad_offset(off, noffsets, d, data_len);
    return SHMC_ERR_CORRUPT;
}

int shmc_strings_check(const void *offsets, size_t noffsets, const void *data, size_t data_len,
                       size_t *bad)
{
    const uint8_t *off = offsets, *d = data;
    size_t dummy;
    if (!bad) bad = &dummy;
    *bad = 0;
    if (!offsets || noffsets == 0 || (!data && data_len)) return SHMC_ERR_INVALID_ARG;
    int64_t first = load_i64(off), last = load_i64(off + (noffsets - 1) * 8);
    if (first < 0 || (uint64_t)first > data_len) return SHMC_ERR_CORRUPT;
    if ((uint64_t)last > data_len) return first_bad(off, noffsets, d, data_len, bad);
    int ascii = 1;
    /* Bytes outside [first, last] belong to no string; when last < first the order
     * check below fails anyway. */
    if (last > first && !utf8_valid(d + first, d + last, &ascii)) {
        *bad = noffsets - 1;
        return SHMC_ERR_CORRUPT;
    }
    int ok = ascii ? offsets_ordered(off, noffsets) : offsets_ok(off, noffsets, d, data_len);
    return ok ? SHMC_OK : first_bad(off, noffsets, d, data_len, bad);
}
