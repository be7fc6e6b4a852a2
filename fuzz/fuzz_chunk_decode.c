/* Fuzz target: open a segment from a memory buffer, then verify and decode every
 * chunk into a buffer of exactly raw_len bytes, and view the raw ones. Run once
 * with verification (checksums must catch mutated chunks; odd-sized inputs open
 * with SHMC_OPEN_NO_VERIFY | SHMC_OPEN_VERIFY_DECODES, where decodes alone check)
 * and once, after the header/index checksums are recomputed, with
 * SHMC_OPEN_NO_VERIFY so mutated payloads reach the decoders. */
#include "fuzz_common.h"

/* Larger outputs are legal (zstd expands up to SHMC_MAX_EXPANSION) but only slow
 * the fuzzer down; the size checks are exercised below regardless. */
#define FUZZ_MAX_RAW ((uint64_t)16 << 20)

static void decode_chunk(shmc_segment *seg, uint32_t k, uint32_t flags)
{
    shmc_chunk_info ch;
    if (shmc_segment_chunk_info(seg, k, &ch) != SHMC_OK) return;
    int vrc = shmc_segment_chunk_verify(seg, k);
    /* a wrong-size destination is refused before anything is written */
    uint8_t small[8];
    size_t wrong = ch.raw_len == sizeof small ? sizeof small - 1 : sizeof small;
    FUZZ_CHECK(shmc_segment_chunk_decode(seg, k, small, wrong) != SHMC_OK,
               "chunk %u: decode into %zu bytes accepted, raw_len %llu", k, wrong,
               (unsigned long long)ch.raw_len);
    if (ch.raw_len > FUZZ_MAX_RAW) return;
    size_t n = (size_t)ch.raw_len;
    uint8_t *dst = malloc(n ? n : 1);
    if (!dst) return;
    int rc = shmc_segment_chunk_decode(seg, k, dst, n);
    if ((!(flags & SHMC_OPEN_NO_VERIFY) || (flags & SHMC_OPEN_VERIFY_DECODES)) && vrc != SHMC_OK)
        FUZZ_CHECK(rc != SHMC_OK, "chunk %u: fails verify (%d) but decodes", k, vrc);
    if (rc == SHMC_OK && n) fuzz_touch(dst, n); /* fully initialised? (MSan would say) */
    const void *p;
    size_t len;
    int view = shmc_segment_chunk_view(seg, k, &p, &len);
    if (view == SHMC_OK) {
        FUZZ_CHECK(ch.codec == SHMC_CODEC_NONE, "chunk %u: view of codec %d", k, ch.codec);
        FUZZ_CHECK(len == ch.stored_len, "chunk %u: view %zu bytes, stored %llu", k, len,
                   (unsigned long long)ch.stored_len);
        if (len) fuzz_touch(p, len);
        if (rc == SHMC_OK && !ch.shuffle)
            FUZZ_CHECK(len == n && memcmp(p, dst, n) == 0, "chunk %u: view != decode", k);
    } else if (ch.codec != SHMC_CODEC_NONE) {
        FUZZ_CHECK(view == SHMC_ERR_COMPRESSED, "chunk %u: view of compressed gave %d", k, view);
    }
    free(dst);
}

static void on_bad(void *user, uint32_t chunk, int status, const char *msg)
{
    (void)chunk;
    FUZZ_CHECK(status != SHMC_OK && msg != NULL, "bad-chunk callback with status %d", status);
    fuzz_touch_cstr(msg);
    ++*(unsigned *)user;
}

static void open_and_decode(const uint8_t *buf, size_t size, uint32_t flags)
{
    shmc_segment *seg = NULL;
    if (shmc_segment_create(&seg) != SHMC_OK) return;
    shmc_segment_info si;
    if (shmc_segment_open_buffer(seg, buf, size, flags) == SHMC_OK &&
        shmc_segment_info_get(seg, &si) == SHMC_OK) {
        for (uint32_t k = 0; k < si.nchunks; k++) decode_chunk(seg, k, flags);
        unsigned bad = 0;
        int rc = shmc_segment_verify(seg, on_bad, &bad);
        FUZZ_CHECK(bad == 0 || rc != SHMC_OK, "verify OK but %u bad chunks reported", bad);
    }
    shmc_segment_free(seg);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    uint8_t *buf = fuzz_aligned_copy(data, size);
    if (!buf) return 0;
    open_and_decode(buf, size, size & 1 ? SHMC_OPEN_NO_VERIFY | SHMC_OPEN_VERIFY_DECODES : 0);
    fuzz_fix_checksums(buf, size);
    open_and_decode(buf, size, SHMC_OPEN_NO_VERIFY);
    free(buf);
    return 0;
}
