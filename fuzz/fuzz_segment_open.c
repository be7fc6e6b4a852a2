/* Fuzz target: open a segment from a memory buffer and walk the whole index
 * through the public info calls, checking the promises the API makes about
 * what it returns (ids in range, chunks inside the segment, lookups agree);
 * then write the whole frame as a pickle (in band and out of band): the writer
 * faces chunk contents with valid checksums (the second pass fixes them), so
 * offsets, UTF-8, codes and indices must be checked before they are used. */
#include "fuzz_common.h"

static unsigned walk_column(shmc_segment *seg, const shmc_segment_info *si, uint32_t c)
{
    shmc_column_info ci;
    if (shmc_segment_column_info(seg, c, &ci) != SHMC_OK) return 0;
    unsigned s = fuzz_touch_label(&ci.label) + fuzz_touch_cstr(ci.dtype) + fuzz_touch_cstr(ci.tz);
    FUZZ_CHECK(ci.dtype != NULL, "column %u: dtype is NULL", c);
    FUZZ_CHECK(ci.first_chunk <= si->nchunks && ci.nchunks <= si->nchunks - ci.first_chunk,
               "column %u: chunks %u+%u beyond %u", c, ci.first_chunk, ci.nchunks, si->nchunks);
    FUZZ_CHECK(ci.dict_column == UINT32_MAX || ci.dict_column < si->ncolumns,
               "column %u: dictionary column %u of %u", c, ci.dict_column, si->ncolumns);
    for (int role = 0; role < SHMC_ROLE_COUNT_; role++) {
        const void *p;
        size_t len;
        if (shmc_segment_column_view(seg, c, role, &p, &len) == SHMC_OK && len) {
            const uint8_t *base;
            size_t total;
            FUZZ_CHECK(shmc_segment_data(seg, (const void **)&base, &total) == SHMC_OK, "data");
            FUZZ_CHECK((const uint8_t *)p >= base && len <= total &&
                           (size_t)((const uint8_t *)p - base) <= total - len,
                       "column %u role %d: view outside the segment", c, role);
        }
    }
    return s;
}

static void walk_chunk(shmc_segment *seg, const shmc_segment_info *si, uint32_t k)
{
    shmc_chunk_info ch;
    if (shmc_segment_chunk_info(seg, k, &ch) != SHMC_OK) return;
    FUZZ_CHECK(ch.column < si->ncolumns, "chunk %u: column %u of %u", k, ch.column, si->ncolumns);
    FUZZ_CHECK(ch.offset <= si->total_size && ch.stored_len <= si->total_size - ch.offset,
               "chunk %u: bytes %llu+%llu beyond segment size %llu", k,
               (unsigned long long)ch.offset, (unsigned long long)ch.stored_len,
               (unsigned long long)si->total_size);
    FUZZ_CHECK(ch.role >= 0 && ch.role < SHMC_ROLE_COUNT_, "chunk %u: role %d", k, ch.role);
    uint32_t found = UINT32_MAX;
    int rc = shmc_segment_chunk_find(seg, ch.column, ch.rowgroup, ch.role, &found);
    FUZZ_CHECK(rc == SHMC_OK && found == k, "chunk %u: find(%u, %u, %d) gave %d / %u", k, ch.column,
               ch.rowgroup, ch.role, rc, found);
}

static void walk(shmc_segment *seg)
{
    shmc_segment_info si;
    if (shmc_segment_info_get(seg, &si) != SHMC_OK) return;
    unsigned s = fuzz_touch_label(&si.range_name) + fuzz_touch_label(&si.columns_name) +
                 fuzz_touch_cstr(si.name);
    const void *p;
    size_t len;
    if (shmc_segment_meta(seg, &p, &len) == SHMC_OK && len) s += fuzz_touch(p, len);
    for (uint32_t c = 0; c < si.ncolumns; c++) s += walk_column(seg, &si, c);
    for (uint32_t k = 0; k < si.nchunks; k++) walk_chunk(seg, &si, k);
    /* ids just past the end must be refused, not read */
    shmc_column_info ci;
    shmc_chunk_info ch;
    FUZZ_CHECK(shmc_segment_column_info(seg, si.ncolumns, &ci) != SHMC_OK, "column past end");
    FUZZ_CHECK(shmc_segment_chunk_info(seg, si.nchunks, &ch) != SHMC_OK, "chunk past end");
    (void)s;
}

/* A failed write carries a message and leaves nothing to free; OOB ranges lie inside. */
static void pickle(shmc_segment *seg, size_t size, uint32_t flags)
{
    shmc_pickle_out out;
    int rc = shmc_pickle_write(seg, NULL, flags, &out);
    if (rc != SHMC_OK) {
        FUZZ_CHECK(out.bytes == NULL && out.nbuffers == 0, "failed write left output");
        FUZZ_CHECK(shmc_segment_errmsg(seg)[0] != '\0', "failed write without a message");
        return;
    }
    for (size_t i = 0; i < out.nbuffers; i++)
        FUZZ_CHECK(out.buffers[i].kind != SHMC_OOB_SEGMENT ||
                       (out.buffers[i].offset <= size &&
                        out.buffers[i].len <= size - out.buffers[i].offset),
                   "buffer %zu outside the segment", i);
    shmc_pickle_out_free(&out);
}

static void open_and_walk(const uint8_t *buf, size_t size, uint32_t flags)
{
    shmc_segment *seg = NULL;
    if (shmc_segment_create(&seg) != SHMC_OK) return;
    if (shmc_segment_open_buffer(seg, buf, size, flags) == SHMC_OK) {
        walk(seg);
        pickle(seg, size, 0);
        pickle(seg, size, SHMC_PICKLE_OOB);
    } else FUZZ_CHECK(shmc_segment_errmsg(seg)[0] != '\0', "failed open without a message");
    shmc_segment_free(seg);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    uint8_t *buf = fuzz_aligned_copy(data, size);
    if (!buf) return 0;
    open_and_walk(buf, size, 0); /* as found: checksums must stop mutations */
    fuzz_fix_checksums(buf, size);
    open_and_walk(buf, size, SHMC_OPEN_NO_VERIFY); /* and the index parser behind them */
    free(buf);
    return 0;
}
