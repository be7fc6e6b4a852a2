/* The chunk codec: byte shuffle and zstd with reusable contexts. See codec.h
 * for the contract. */
#include "codec.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <zstd.h>

#include "hash.h"

/* ------------------------------------------------------------------------ */
/* Byte shuffle                                                              */
/* ------------------------------------------------------------------------ */

/* Always inlined so that calls with a literal typesize become fixed-stride
 * loops the compiler can unroll and vectorise (the 2/4/8 fast paths). */
static inline __attribute__((always_inline)) void shuffle_body(const uint8_t *src, uint8_t *dst,
                                                               size_t n, size_t ts)
{
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < ts; j++) dst[j * n + i] = src[i * ts + j];
}

static inline __attribute__((always_inline)) void unshuffle_body(const uint8_t *src, uint8_t *dst,
                                                                 size_t n, size_t ts)
{
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < ts; j++) dst[i * ts + j] = src[j * n + i];
}

void shmc_shuffle(const void *src, void *dst, size_t len, uint32_t typesize)
{
    const uint8_t *s = src;
    uint8_t *d = dst;
    if (len == 0) return;
    size_t ts = typesize ? typesize : 1, n = len / ts, body = n * ts;
    switch (ts) {
    case 1: body = 0; break; /* identity: the tail copy below does it all */
    case 2: shuffle_body(s, d, n, 2); break;
    case 4: shuffle_body(s, d, n, 4); break;
    case 8: shuffle_body(s, d, n, 8); break;
    default: shuffle_body(s, d, n, ts); break;
    }
    if (len > body) memcpy(d + body, s + body, len - body);
}

void shmc_unshuffle(const void *src, void *dst, size_t len, uint32_t typesize)
{
    const uint8_t *s = src;
    uint8_t *d = dst;
    if (len == 0) return;
    size_t ts = typesize ? typesize : 1, n = len / ts, body = n * ts;
    switch (ts) {
    case 1: body = 0; break;
    case 2: unshuffle_body(s, d, n, 2); break;
    case 4: unshuffle_body(s, d, n, 4); break;
    case 8: unshuffle_body(s, d, n, 8); break;
    default: unshuffle_body(s, d, n, ts); break;
    }
    if (len > body) memcpy(d + body, s + body, len - body);
}

/* ------------------------------------------------------------------------ */
/* Workspaces: zstd contexts + shuffle scratch, pooled                       */
/* ------------------------------------------------------------------------ */

/* A pool rather than thread-local storage: pool threads come and go, and the
 * main thread never runs TLS destructors, so TLS contexts would leak at exit.
 * Everything idle sits in the pool, which a library destructor empties. */
typedef struct workspace {
    ZSTD_CCtx *cctx;
    ZSTD_DCtx *dctx;
    void *scratch;
    size_t scratch_cap;
    void *stage; /* private copy of stored bytes read from shared memory */
    size_t stage_cap;
    struct workspace *next;
} workspace;

#define POOL_MAX 64 /* beyond this many idle workspaces, free instead of keeping */

static pthread_mutex_t pool_lock = PTHREAD_MUTEX_INITIALIZER;
static workspace *pool_head;
static size_t pool_count;

static void workspace_free(workspace *w)
{
    if (!w) return;
    ZSTD_freeCCtx(w->cctx);
    ZSTD_freeDCtx(w->dctx);
    free(w->scratch);
    free(w->stage);
    free(w);
}

static workspace *workspace_acquire(void)
{
    pthread_mutex_lock(&pool_lock);
    workspace *w = pool_head;
    if (w) {
        pool_head = w->next;
        pool_count--;
    }
    pthread_mutex_unlock(&pool_lock);
    if (!w) w = calloc(1, sizeof *w);
    return w;
}

static void workspace_release(workspace *w)
{
    if (!w) return;
    pthread_mutex_lock(&pool_lock);
    int keep = pool_count < POOL_MAX;
    if (keep) {
        w->next = pool_head;
        pool_head = w;
        pool_count++;
    }
    pthread_mutex_unlock(&pool_lock);
    if (!keep) workspace_free(w);
}

__attribute__((destructor)) static void workspace_pool_drain(void)
{
    pthread_mutex_lock(&pool_lock);
    workspace *w = pool_head;
    pool_head = NULL;
    pool_count = 0;
    pthread_mutex_unlock(&pool_lock);
    while (w) {
        workspace *next = w->next;
        workspace_free(w);
        w = next;
    }
}

/* A buffer of at least len bytes in *buf (capacity *cap), kept for the next call. */
static void *grow_keep(void **buf, size_t *cap, size_t len)
{
    if (*cap >= len && *buf) return *buf;
    free(*buf);
    *buf = malloc(len ? len : 1);
    *cap = *buf ? len : 0;
    return *buf;
}

static void *workspace_scratch(workspace *w, size_t len)
{
    return grow_keep(&w->scratch, &w->scratch_cap, len);
}

/* ------------------------------------------------------------------------ */
/* Encode                                                                    */
/* ------------------------------------------------------------------------ */

size_t shmc_codec_bound(size_t len, int codec)
{
    if (codec != SHMC_CODEC_ZSTD) return len;
    size_t b = ZSTD_compressBound(len);
    /* the raw fallback also lands in dst, so never below len */
    return b > len ? b : len;
}

static int store_raw(const void *src, size_t len, void *dst, size_t dst_cap, size_t *dst_len,
                     int *codec_used, int *shuffled, shmc_err *err)
{
    RETURN_ERROR_IF(dst_cap < len, err, SHMC_ERR_INVALID_ARG,
                    "codec: destination holds %zu bytes, raw chunk needs %zu", dst_cap, len);
    if (len) memcpy(dst, src, len);
    *dst_len = len;
    *codec_used = SHMC_CODEC_NONE;
    *shuffled = 0;
    return SHMC_OK;
}

/* Does a compressed size of clen for len raw bytes save at least min_saving? */
static int worth_keeping(size_t clen, size_t len, double min_saving)
{
    if (!(min_saving > 0.0)) min_saving = 0.0; /* also catches NaN */
    if (min_saving > 1.0) min_saving = 1.0;
    if (clen >= len) return 0;
    return (double)(len - clen) >= min_saving * (double)len;
}

static int zstd_compress_ws(workspace *w, const void *src, size_t len, int level, void *dst,
                            size_t dst_cap, size_t *clen, shmc_err *err)
{
    if (!w->cctx) w->cctx = ZSTD_createCCtx();
    RETURN_ERROR_IF(!w->cctx, err, SHMC_ERR_NOMEM, "codec: cannot create a zstd context");
    /* reset parameters every time: the context is shared across callers, and the
     * output must depend on (data, level) only */
    ZSTD_CCtx_reset(w->cctx, ZSTD_reset_session_and_parameters);
    size_t r = ZSTD_CCtx_setParameter(w->cctx, ZSTD_c_compressionLevel, level);
    if (!ZSTD_isError(r)) r = ZSTD_CCtx_setParameter(w->cctx, ZSTD_c_contentSizeFlag, 1);
    if (!ZSTD_isError(r)) r = ZSTD_compress2(w->cctx, dst, dst_cap, src, len);
    RETURN_ERROR_IF(ZSTD_isError(r), err, SHMC_ERR_CODEC, "codec: zstd level %d on %zu bytes: %s",
                    level, len, ZSTD_getErrorName(r));
    *clen = r;
    return SHMC_OK;
}

int shmc_codec_encode(const void *src, size_t len, int codec, int level, int shuffle,
                      uint32_t typesize, double min_saving, void *dst, size_t dst_cap,
                      size_t *dst_len, int *codec_used, int *shuffled, shmc_err *err)
{
    RETURN_ERROR_IF(!dst_len || !codec_used || !shuffled || (len && (!src || !dst)), err,
                    SHMC_ERR_INVALID_ARG, "codec: NULL argument");
    RETURN_ERROR_IF(codec != SHMC_CODEC_NONE && codec != SHMC_CODEC_ZSTD, err, SHMC_ERR_INVALID_ARG,
                    "codec: unknown codec %d", codec);
    if (codec == SHMC_CODEC_NONE || len == 0)
        return store_raw(src, len, dst, dst_cap, dst_len, codec_used, shuffled, err);

    workspace *w = workspace_acquire();
    RETURN_ERROR_IF(!w, err, SHMC_ERR_NOMEM, "codec: out of memory for a workspace");
    int do_shuffle = shuffle && typesize > 1 && len >= typesize;
    const void *in = src;
    int rc = SHMC_OK;
    if (do_shuffle) {
        void *tmp = workspace_scratch(w, len);
        if (!tmp) rc = shmc_err_set(err, SHMC_ERR_NOMEM, "codec: no %zu-byte shuffle scratch", len);
        else shmc_shuffle(src, tmp, len, typesize), in = tmp;
    }
    size_t clen = 0;
    if (rc == SHMC_OK) rc = zstd_compress_ws(w, in, len, level, dst, dst_cap, &clen, err);
    workspace_release(w);
    FORWARD_IF_ERROR(rc);
    if (!worth_keeping(clen, len, min_saving))
        return store_raw(src, len, dst, dst_cap, dst_len, codec_used, shuffled, err);
    *dst_len = clen;
    *codec_used = SHMC_CODEC_ZSTD;
    *shuffled = do_shuffle;
    return SHMC_OK;
}

/* ------------------------------------------------------------------------ */
/* Decode                                                                    */
/* ------------------------------------------------------------------------ */

/* One standard zstd frame spanning all of src that declares exactly raw_len.
 * Checked before decompressing so hostile sizes never drive work or memory. */
static int zstd_frame_check(const void *src, size_t src_len, size_t raw_len, shmc_err *err)
{
    RETURN_ERROR_IF(src_len < 4, err, SHMC_ERR_CORRUPT,
                    "zstd chunk: %zu stored bytes, too short for a frame", src_len);
    uint32_t magic;
    memcpy(&magic, src, 4);
    RETURN_ERROR_IF(magic != ZSTD_MAGICNUMBER, err, SHMC_ERR_CORRUPT,
                    "zstd chunk: bad frame magic 0x%08x", (unsigned)magic);
    unsigned long long fcs = ZSTD_getFrameContentSize(src, src_len);
    RETURN_ERROR_IF(fcs == ZSTD_CONTENTSIZE_ERROR, err, SHMC_ERR_CORRUPT,
                    "zstd chunk: unreadable frame header");
    RETURN_ERROR_IF(fcs == ZSTD_CONTENTSIZE_UNKNOWN, err, SHMC_ERR_CORRUPT,
                    "zstd chunk: frame has no content size (expected %zu bytes)", raw_len);
    RETURN_ERROR_IF(fcs != (unsigned long long)raw_len, err, SHMC_ERR_CORRUPT,
                    "zstd chunk: frame content size %llu, expected raw length %zu", fcs, raw_len);
    size_t flen = ZSTD_findFrameCompressedSize(src, src_len);
    RETURN_ERROR_IF(ZSTD_isError(flen), err, SHMC_ERR_CORRUPT,
                    "zstd chunk: truncated or malformed frame (%zu stored bytes): %s", src_len,
                    ZSTD_getErrorName(flen));
    RETURN_ERROR_IF(flen != src_len, err, SHMC_ERR_CORRUPT,
                    "zstd chunk: frame is %zu bytes but %zu are stored (trailing data)", flen,
                    src_len);
    return SHMC_OK;
}

static int zstd_decompress_ws(workspace *w, const void *src, size_t src_len, void *dst,
                              size_t raw_len, shmc_err *err)
{
    if (!w->dctx) w->dctx = ZSTD_createDCtx();
    RETURN_ERROR_IF(!w->dctx, err, SHMC_ERR_NOMEM, "codec: cannot create a zstd context");
    ZSTD_DCtx_reset(w->dctx, ZSTD_reset_session_and_parameters);
    size_t r = ZSTD_decompressDCtx(w->dctx, dst, raw_len, src, src_len);
    RETURN_ERROR_IF(ZSTD_isError(r), err, SHMC_ERR_CORRUPT,
                    "zstd chunk: decoding %zu stored bytes failed: %s", src_len,
                    ZSTD_getErrorName(r));
    RETURN_ERROR_IF(r != raw_len, err, SHMC_ERR_CORRUPT,
                    "zstd chunk: decoded %zu bytes, expected %zu", r, raw_len);
    return SHMC_OK;
}

static int decode_raw(const void *src, size_t src_len, int shuffled, uint32_t typesize, void *dst,
                      size_t raw_len, shmc_err *err)
{
    RETURN_ERROR_IF(src_len != raw_len, err, SHMC_ERR_CORRUPT,
                    "raw chunk: %zu stored bytes, expected raw length %zu", src_len, raw_len);
    if (raw_len == 0) return SHMC_OK;
    if (shuffled && typesize > 1) shmc_unshuffle(src, dst, raw_len, typesize);
    else memcpy(dst, src, raw_len);
    return SHMC_OK;
}

/* A zstd chunk (codec already known to be zstd) with workspace w. */
static int decode_zstd_ws(workspace *w, const void *src, size_t src_len, int shuffled,
                          uint32_t typesize, void *dst, size_t raw_len, shmc_err *err)
{
    FORWARD_IF_ERROR(zstd_frame_check(src, src_len, raw_len, err));
    int unshuf = shuffled && typesize > 1 && raw_len >= typesize;
    void *out = dst;
    if (unshuf && !(out = workspace_scratch(w, raw_len)))
        return shmc_err_set(err, SHMC_ERR_NOMEM, "codec: no %zu-byte unshuffle scratch", raw_len);
    FORWARD_IF_ERROR(zstd_decompress_ws(w, src, src_len, out, raw_len, err));
    if (unshuf) shmc_unshuffle(out, dst, raw_len, typesize);
    return SHMC_OK;
}

static int decode_args_check(const void *src, size_t src_len, int codec, void *dst, size_t raw_len,
                             shmc_err *err)
{
    RETURN_ERROR_IF((src_len && !src) || (raw_len && !dst), err, SHMC_ERR_INVALID_ARG,
                    "codec: NULL buffer");
    RETURN_ERROR_IF(codec != SHMC_CODEC_NONE && codec != SHMC_CODEC_ZSTD, err, SHMC_ERR_CORRUPT,
                    "chunk: unknown codec %d", codec);
    return SHMC_OK;
}

int shmc_codec_decode(const void *src, size_t src_len, int codec, int shuffled, uint32_t typesize,
                      void *dst, size_t raw_len, shmc_err *err)
{
    FORWARD_IF_ERROR(decode_args_check(src, src_len, codec, dst, raw_len, err));
    if (codec == SHMC_CODEC_NONE)
        return decode_raw(src, src_len, shuffled, typesize, dst, raw_len, err);
    workspace *w = workspace_acquire();
    RETURN_ERROR_IF(!w, err, SHMC_ERR_NOMEM, "codec: out of memory for a workspace");
    int rc = decode_zstd_ws(w, src, src_len, shuffled, typesize, dst, raw_len, err);
    workspace_release(w);
    return rc;
}

/* Copy src into dst, hashing while copying when want_hash is set. */
static int copy_checked(void *dst, const void *src, size_t len, const uint64_t *want_hash,
                        shmc_err *err)
{
    if (!want_hash) {
        if (len) memcpy(dst, src, len);
        return SHMC_OK;
    }
    RETURN_ERROR_IF(shmc_copy_hash(dst, src, len) != *want_hash, err, SHMC_ERR_CHUNK_CHECKSUM,
                    "checksum mismatch");
    return SHMC_OK;
}

int shmc_codec_decode_shared(const void *src, size_t src_len, const uint64_t *want_hash, int codec,
                             int shuffled, uint32_t typesize, void *dst, size_t raw_len,
                             shmc_err *err)
{
    FORWARD_IF_ERROR(decode_args_check(src, src_len, codec, dst, raw_len, err));
    int plain = codec == SHMC_CODEC_NONE && !(shuffled && typesize > 1);
    if (plain) { /* the copy into dst is the decode: hash while copying */
        RETURN_ERROR_IF(src_len != raw_len, err, SHMC_ERR_CORRUPT,
                        "raw chunk: %zu stored bytes, expected raw length %zu", src_len, raw_len);
        return copy_checked(dst, src, raw_len, want_hash, err);
    }
    workspace *w = workspace_acquire();
    RETURN_ERROR_IF(!w, err, SHMC_ERR_NOMEM, "codec: out of memory for a workspace");
    void *stage = grow_keep(&w->stage, &w->stage_cap, src_len);
    int rc = stage ? copy_checked(stage, src, src_len, want_hash, err)
                   : shmc_err_set(err, SHMC_ERR_NOMEM, "codec: no %zu-byte staging copy", src_len);
    if (rc == SHMC_OK && codec == SHMC_CODEC_NONE)
        rc = decode_raw(stage, src_len, shuffled, typesize, dst, raw_len, err);
    else if (rc == SHMC_OK)
        rc = decode_zstd_ws(w, stage, src_len, shuffled, typesize, dst, raw_len, err);
    workspace_release(w);
    return rc;
}
