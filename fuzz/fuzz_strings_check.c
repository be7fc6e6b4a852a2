/* Differential target for shmc_strings_check (lib/core/strcheck.c), the gate in front of
 * Arrow for string buffers read from a segment: its vectorised verdict must equal a
 * plain string-by-string reference, and it must never read outside its buffers.
 *
 * Input: byte 0 = number of offsets - 1 (mod 64), byte 1 = first offset, then one
 * byte per further offset: a signed step from the previous one, except that 0x7F,
 * 0x80 and 0x81 stand for INT64_MAX, INT64_MIN and -1. The rest is the data. */
#include "fuzz_common.h"

/* Length of the well-formed UTF-8 sequence at s[0..n) (Unicode table 3-7), 0 if none. */
static size_t ref_seq(const uint8_t *s, size_t n)
{
    uint8_t b = s[0];
    if (b < 0x80) return 1;
    size_t len = b >= 0xC2 && b <= 0xDF   ? 2
                 : b >= 0xE0 && b <= 0xEF ? 3
                 : b >= 0xF0 && b <= 0xF4 ? 4
                                          : 0;
    if (!len || n < len) return 0;
    uint8_t lo = 0x80, hi = 0xBF; /* range of the second byte */
    if (b == 0xE0) lo = 0xA0;
    if (b == 0xED) hi = 0x9F;
    if (b == 0xF0) lo = 0x90;
    if (b == 0xF4) hi = 0x8F;
    if (s[1] < lo || s[1] > hi) return 0;
    for (size_t i = 2; i < len; i++)
        if (s[i] < 0x80 || s[i] > 0xBF) return 0;
    return len;
}

static int ref_utf8(const uint8_t *s, size_t n)
{
    for (size_t i = 0; i < n;) {
        size_t k = ref_seq(s + i, n - i);
        if (!k) return 0;
        i += k;
    }
    return 1;
}

/* SHMC_OK iff every offset is in [0, data_len], they never decrease, and every
 * string between two of them is well-formed UTF-8. */
static int reference(const int64_t *off, size_t n, const uint8_t *d, size_t len)
{
    for (size_t i = 0; i < n; i++)
        if (off[i] < 0 || (uint64_t)off[i] > len) return SHMC_ERR_CORRUPT;
    for (size_t i = 1; i < n; i++) {
        if (off[i] < off[i - 1]) return SHMC_ERR_CORRUPT;
        if (!ref_utf8(d + off[i - 1], (size_t)(off[i] - off[i - 1]))) return SHMC_ERR_CORRUPT;
    }
    return SHMC_OK;
}

static int64_t step_to(int64_t prev, uint8_t b)
{
    if (b == 0x7F) return INT64_MAX;
    if (b == 0x80) return INT64_MIN;
    if (b == 0x81) return -1;
    int64_t v; /* wrap like the hostile writer would, without signed overflow */
    uint64_t u = (uint64_t)prev + (uint64_t)(int64_t)(int8_t)b;
    memcpy(&v, &u, sizeof v);
    return v;
}

int LLVMFuzzerTestOneInput(const uint8_t *in, size_t size)
{
    if (size < 2) return 0;
    size_t n = (size_t)(in[0] % 64) + 1;
    if (size < 1 + n) return 0;
    int64_t off[64];
    off[0] = in[1];
    for (size_t i = 1; i < n; i++) off[i] = step_to(off[i - 1], in[1 + i]);
    size_t len = size - 1 - n;
    uint8_t *data = fuzz_aligned_copy(in + 1 + n, len);
    /* offsets one byte off alignment, as they may sit in a mapping */
    uint8_t *packed = malloc(n * 8 + 1);
    if (!data || !packed) {
        free(data);
        free(packed);
        return 0;
    }
    memcpy(packed + 1, off, n * 8);
    size_t bad = SIZE_MAX;
    int got = shmc_strings_check(packed + 1, n, len ? data : NULL, len, &bad);
    int want = reference(off, n, data, len);
    FUZZ_CHECK(got == want, "verdict %d, reference %d (%zu offsets, %zu data bytes)", got, want, n,
               len);
    FUZZ_CHECK(got == SHMC_OK || bad < n, "bad string index %zu of %zu", bad, n - 1);
    free(packed);
    free(data);
    return 0;
}
