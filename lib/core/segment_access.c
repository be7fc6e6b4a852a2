/* Opening a segment and reading its chunks: shmc_segment_open (map, then the
 * checks of segment_read.c, then verification when asked), verification (one
 * chunk, a batch on the thread pool, the whole segment), zero-copy views, and
 * decodes into the caller's memory -- checked against the stored XXH3 while
 * copied when the segment was opened with SHMC_OPEN_VERIFY_DECODES. Apart from
 * segment_read.c (the checks and the queries) so that calls flow one way: this
 * file uses those, never the reverse. */
#include "segment_read.h"
#include "segment_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "arrow_format.h"
#include "codec.h"
#include "format.h"
#include "hash.h"
#include "store.h"
#include "threadpool.h"

/* ---- open ------------------------------------------------------------------ */

static int open_mapped(shmc_segment *seg, uint32_t flags)
{
    seg->open_flags = flags;
    int rc = shmc_segment_header_check(seg);
    if (rc == SHMC_OK) rc = shmc_segment_header_load(seg);
    if (rc == SHMC_OK) {
        rc = shmc_index_decode(seg->st.base + seg->index_off, (size_t)seg->index_len, &seg->ix,
                               &seg->err);
        if (rc != SHMC_OK) shmc_err_prefix(&seg->err, "%s: ", seg->st.name);
    }
    if (rc == SHMC_OK) rc = shmc_segment_index_check(seg);
    if (rc == SHMC_OK) seg->is_open = 1;
    if (rc == SHMC_OK && (flags & SHMC_OPEN_VERIFY_ALL)) rc = shmc_segment_verify(seg, NULL, NULL);
    if (rc != SHMC_OK) shmc_segment_unmap(seg);
    return rc;
}

int shmc_segment_limit_set(shmc_segment *seg, uint64_t max_decoded)
{
    if (!seg) return SHMC_ERR_INVALID_ARG;
    seg->max_decoded = max_decoded;
    return SHMC_OK;
}

static int open_prepare(shmc_segment *seg, uint32_t flags)
{
    if (!seg) return SHMC_ERR_INVALID_ARG;
    shmc_segment_unmap(seg);
    uint64_t max_decoded = seg->max_decoded;
    memset(seg, 0, sizeof *seg);
    seg->max_decoded = max_decoded;
    uint32_t known = SHMC_OPEN_NO_VERIFY | SHMC_OPEN_VERIFY_ALL | SHMC_OPEN_VERIFY_DECODES;
    RETURN_ERROR_IF(flags & ~known, &seg->err, SHMC_ERR_INVALID_ARG,
                    "open flags 0x%x has unknown bits", flags);
    return SHMC_OK;
}

int shmc_segment_open(shmc_segment *seg, const char *src, uint32_t flags)
{
    FORWARD_IF_ERROR(open_prepare(seg, flags));
    FORWARD_IF_ERROR(shmc_store_open(&seg->st, src, &seg->err));
    return open_mapped(seg, flags);
}

int shmc_segment_open_buffer(shmc_segment *seg, const void *buf, size_t len, uint32_t flags)
{
    FORWARD_IF_ERROR(open_prepare(seg, flags));
    RETURN_ERROR_IF(!buf && len, &seg->err, SHMC_ERR_INVALID_ARG, "buffer is NULL");
    seg->st.kind = SHMC_BACKEND_BUFFER;
    snprintf(seg->st.name, sizeof seg->st.name, "<buffer>");
    seg->st.base = (uint8_t *)(uintptr_t)buf; /* never written through: see PROT_READ promise */
    seg->st.len = len;
    return open_mapped(seg, flags);
}

/* ---- chunk access -------------------------------------------------------- */

static int chunk_hash_ok(shmc_segment *seg, uint32_t id)
{
    const shmc_chunk_info *k = &seg->ix.chunks[id];
    if (shmc_hash(seg->st.base + k->offset, (size_t)k->stored_len) == k->xxh3) return SHMC_OK;
    return shmc_segment_chunk_err(seg, SHMC_ERR_CHUNK_CHECKSUM, id, "checksum mismatch");
}

int shmc_segment_chunk_verify(shmc_segment *seg, uint32_t chunk)
{
    FORWARD_IF_ERROR(shmc_segment_chunk_range(seg, chunk));
    return chunk_hash_ok(seg, chunk);
}

/* Ask the kernel to map a chunk's pages in one call before hashing it: cheaper than
 * taking the read faults one by one during the hash (Linux >= 5.14; elsewhere, or on
 * any error, the hash simply takes the faults). */
static void populate_read(const uint8_t *p, size_t len)
{
#ifdef MADV_POPULATE_READ
    uintptr_t page = 4096, a = (uintptr_t)p & ~(page - 1);
    if (len >= 16 * page) (void)madvise((void *)a, len + ((uintptr_t)p - a), MADV_POPULATE_READ);
#else
    (void)p;
    (void)len;
#endif
}

typedef struct verify_job {
    const shmc_segment *seg;
    const uint32_t *ids;
} verify_job;

/* Thread body: no error state is touched here (seg->err is not thread-safe);
 * the caller reports the first bad chunk. */
static int verify_job_one(void *user, size_t i)
{
    const verify_job *j = user;
    const shmc_chunk_info *k = &j->seg->ix.chunks[j->ids[i]];
    const uint8_t *p = j->seg->st.base + k->offset;
    populate_read(p, (size_t)k->stored_len);
    return shmc_hash(p, (size_t)k->stored_len) == k->xxh3 ? 0 : 1;
}

int shmc_segment_chunks_verify(shmc_segment *seg, const uint32_t *chunks, size_t n)
{
    FORWARD_IF_ERROR(shmc_segment_need_open(seg));
    RETURN_ERROR_IF(n && !chunks, &seg->err, SHMC_ERR_INVALID_ARG, "chunks is NULL");
    uint64_t bytes = 0;
    for (size_t i = 0; i < n; i++) {
        FORWARD_IF_ERROR(shmc_segment_chunk_range(seg, chunks[i]));
        bytes += seg->ix.chunks[chunks[i]].stored_len;
    }
    /* Threads only pay off for a few MB: below that, thread start-up dominates. */
    int threads = bytes >= ((uint64_t)4 << 20) ? 0 : 1;
    verify_job job = {.seg = seg, .ids = chunks};
    if (shmc_parallel_for(n, threads, verify_job_one, &job) == 0) return SHMC_OK;
    for (size_t i = 0; i < n; i++) FORWARD_IF_ERROR(chunk_hash_ok(seg, chunks[i])); /* names it */
    return SHMC_OK;
}

static int maybe_verify(shmc_segment *seg, uint32_t id)
{
    return (seg->open_flags & SHMC_OPEN_NO_VERIFY) ? SHMC_OK : chunk_hash_ok(seg, id);
}

int shmc_segment_chunk_view(shmc_segment *seg, uint32_t chunk, const void **ptr, size_t *len)
{
    FORWARD_IF_ERROR(shmc_segment_chunk_range(seg, chunk));
    RETURN_ERROR_IF(!ptr || !len, &seg->err, SHMC_ERR_INVALID_ARG, "ptr or len is NULL");
    const shmc_chunk_info *k = &seg->ix.chunks[chunk];
    if (k->codec != SHMC_CODEC_NONE)
        return shmc_segment_chunk_err(seg, SHMC_ERR_COMPRESSED, chunk, "compressed: decode it");
    FORWARD_IF_ERROR(maybe_verify(seg, chunk));
    *ptr = seg->st.base + k->offset;
    *len = (size_t)k->raw_len;
    return SHMC_OK;
}

int shmc_segment_column_view(shmc_segment *seg, uint32_t column, int role, const void **ptr,
                             size_t *len)
{
    FORWARD_IF_ERROR(shmc_segment_need_open(seg));
    RETURN_ERROR_IF(!ptr || !len, &seg->err, SHMC_ERR_INVALID_ARG, "ptr or len is NULL");
    RETURN_ERROR_IF(column >= seg->ix.ncolumns, &seg->err, SHMC_ERR_RANGE,
                    "%s: column %u out of range", seg->st.name, column);
    const shmc_column_info *ci = &seg->ix.columns[column];
    uint32_t first;
    if (ci->nrowgroups == 0) {
        *ptr = seg->st.base;
        *len = 0;
        return SHMC_OK;
    }
    FORWARD_IF_ERROR(shmc_segment_chunk_find(seg, column, 0, role, &first));
    uint64_t total = 0;
    for (uint32_t rg = 0; rg < ci->nrowgroups; rg++) {
        uint32_t id = first + rg;
        const shmc_chunk_info *k = &seg->ix.chunks[id];
        if (id >= ci->first_chunk + ci->nchunks || k->role != role || k->rowgroup != rg)
            return shmc_segment_chunk_err(seg, SHMC_ERR_RANGE, first,
                                          "role missing in some row group");
        if (k->codec != SHMC_CODEC_NONE)
            return shmc_segment_chunk_err(seg, SHMC_ERR_COMPRESSED, id, "compressed: decode it");
        if (k->offset != seg->ix.chunks[first].offset + total)
            return shmc_segment_chunk_err(seg, SHMC_ERR_COMPRESSED, id,
                                          "not adjacent to the previous row group");
        FORWARD_IF_ERROR(maybe_verify(seg, id));
        total += k->raw_len;
    }
    *ptr = seg->st.base + seg->ix.chunks[first].offset;
    *len = (size_t)total;
    return SHMC_OK;
}

/* Decode a chunk into dst. The mapping is shared and may change while we read it:
 * the stored bytes are copied into private memory first (hashed while copied when
 * verify is set), and the decoder reads that copy -- so what is decoded is what was
 * hashed, never bytes changed between the check and the decode. */
static int decode_into(shmc_segment *seg, uint32_t id, void *dst, int verify)
{
    const shmc_chunk_info *k = &seg->ix.chunks[id];
    const uint8_t *src = seg->st.base + k->offset;
    int rc =
        shmc_codec_decode_shared(src, (size_t)k->stored_len, verify ? &k->xxh3 : NULL, k->codec,
                                 k->shuffle, k->typesize, dst, (size_t)k->raw_len, &seg->err);
    if (rc == SHMC_OK) return SHMC_OK;
    if (rc == SHMC_ERR_CHUNK_CHECKSUM)
        return shmc_segment_chunk_err(seg, rc, id, "checksum mismatch");
    char why[SHMC_ERRMSG_CAP];
    snprintf(why, sizeof why, "does not decode to %llu bytes (%.400s)",
             (unsigned long long)k->raw_len, seg->err.msg);
    return shmc_segment_chunk_err(seg, rc, id, why);
}

int shmc_segment_chunk_decode(shmc_segment *seg, uint32_t chunk, void *dst, size_t dst_len)
{
    FORWARD_IF_ERROR(shmc_segment_chunk_range(seg, chunk));
    const shmc_chunk_info *k = &seg->ix.chunks[chunk];
    if (dst_len != k->raw_len) {
        char why[96];
        snprintf(why, sizeof why, "dst_len %zu but raw_len is %llu", dst_len,
                 (unsigned long long)k->raw_len);
        return shmc_segment_chunk_err(seg, SHMC_ERR_INVALID_ARG, chunk, why);
    }
    RETURN_ERROR_IF(!dst && dst_len, &seg->err, SHMC_ERR_INVALID_ARG, "dst is NULL");
    uint32_t f = seg->open_flags;
    return decode_into(seg, chunk, dst,
                       !(f & SHMC_OPEN_NO_VERIFY) || (f & SHMC_OPEN_VERIFY_DECODES));
}

/* Offsets of an Arrow string/binary column: int32 or int64, as its layout says
 * (open checked raw_len == width * (nrows + 1)). */
static int arrow_offsets_ok(shmc_segment *seg, uint32_t id, const uint8_t *raw,
                            const shmc_arrow_layout *l, uint64_t data_len)
{
    const shmc_chunk_info *k = &seg->ix.chunks[id];
    uint64_t bad = 0;
    if (k->raw_len / l->width <= k->nrows)
        return shmc_segment_chunk_err(seg, SHMC_ERR_CORRUPT, id,
                                      "offsets chunk too short for its rows");
    if (shmc_arrow_offsets_check(raw, l->width, k->nrows, data_len, &bad) == 0) return SHMC_OK;
    char why[160];
    snprintf(why, sizeof why,
             "%u-byte offset of row %llu: not 0 first, decreasing, past the data length "
             "%llu or not ending at it",
             l->width, (unsigned long long)(k->row_start + bad), (unsigned long long)data_len);
    return shmc_segment_chunk_err(seg, SHMC_ERR_CORRUPT, id, why);
}

/* String offsets are data the consumer indexes with: check them here so that
 * verify (and the CLI) can vouch for a segment, not just for its checksums. */
static int offsets_ok(shmc_segment *seg, uint32_t id, const uint8_t *raw)
{
    const shmc_chunk_info *k = &seg->ix.chunks[id];
    uint32_t data_id;
    if (shmc_segment_chunk_find(seg, k->column, k->rowgroup, SHMC_ROLE_DATA, &data_id) != SHMC_OK)
        return shmc_segment_chunk_err(seg, SHMC_ERR_CORRUPT, id, "no data chunk for these offsets");
    uint64_t data_len = seg->ix.chunks[data_id].raw_len;
    shmc_arrow_layout l;
    const char *why;
    /* a string column's offsets are those of Arrow's large_string: int64 */
    if (!shmc_segment_arrow_layout(&seg->ix.columns[k->column], &l))
        shmc_arrow_layout_of("U", &l, &why);
    return arrow_offsets_ok(seg, id, raw, &l, data_len);
}

/* Checksum, then a trial decode of a compressed chunk, then content checks. A
 * chunk whose content is checked is decoded (copied) and hashed in one pass, so the
 * verdict is about the bytes hashed. */
static int verify_one(shmc_segment *seg, uint32_t id, void **scratch, size_t *cap)
{
    const shmc_chunk_info *k = &seg->ix.chunks[id];
    if (k->codec == SHMC_CODEC_NONE && k->role != SHMC_ROLE_OFFSETS) return chunk_hash_ok(seg, id);
    if (*cap < k->raw_len) {
        void *p = realloc(*scratch, (size_t)k->raw_len);
        RETURN_ERROR_IF(!p, &seg->err, SHMC_ERR_NOMEM, "verify: no memory for %llu bytes",
                        (unsigned long long)k->raw_len);
        *scratch = p;
        *cap = (size_t)k->raw_len;
    }
    FORWARD_IF_ERROR(decode_into(seg, id, *scratch, 1));
    return k->role == SHMC_ROLE_OFFSETS ? offsets_ok(seg, id, *scratch) : SHMC_OK;
}

/* The bytes are shared: re-check the header and index a handle opened earlier,
 * so that verify vouches for the segment as it is now. */
static int recheck_header_index(shmc_segment *seg)
{
    FORWARD_IF_ERROR(shmc_segment_header_check(seg));
    const uint8_t *h = seg->st.base;
    RETURN_ERROR_IF(shmc_ld64(h + SHMC_HDR_HEADER_XXH3) != seg->identity, &seg->err,
                    SHMC_ERR_HEADER_CHECKSUM, "%s: header changed since the segment was opened",
                    seg->st.name);
    RETURN_ERROR_IF(shmc_hash(h + seg->index_off, (size_t)seg->index_len) !=
                        shmc_ld64(h + SHMC_HDR_INDEX_XXH3),
                    &seg->err, SHMC_ERR_INDEX_CHECKSUM,
                    "%s: index checksum mismatch (index at byte %llu, %llu bytes)", seg->st.name,
                    (unsigned long long)seg->index_off, (unsigned long long)seg->index_len);
    return SHMC_OK;
}

int shmc_segment_verify(shmc_segment *seg, shmc_bad_chunk_fn on_bad, void *user)
{
    FORWARD_IF_ERROR(shmc_segment_need_open(seg));
    FORWARD_IF_ERROR(recheck_header_index(seg));
    void *scratch = NULL;
    size_t cap = 0;
    shmc_err first = {0};
    for (uint32_t i = 0; i < seg->ix.nchunks; i++) {
        int rc = verify_one(seg, i, &scratch, &cap);
        if (rc == SHMC_OK) continue;
        if (first.status == SHMC_OK) first = seg->err;
        if (on_bad) on_bad(user, i, rc, seg->err.msg);
    }
    free(scratch);
    seg->err = first; /* the detail of the first bad chunk, like the status */
    return first.status;
}
