/* The segment writer (shmc_frame_write): compresses the planned chunks (see
 * frame_build.c), reserves the segment in its store, places every chunk while
 * hashing it, writes the index and seals the header last, so a reader never
 * trusts a segment that is not complete. */
#include "frame_int.h"

#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/mman.h>
#include <unistd.h>

#include "codec.h"
#include "format.h"
#include "frame_arrow.h"
#include "hash.h"
#include "index.h"
#include "store.h"
#include "threadpool.h"

void shmc_write_opts_init(shmc_write_opts *o)
{
    if (!o) return;
    memset(o, 0, sizeof *o);
    o->rows_per_chunk = 1u << 20;
    o->codec = SHMC_CODEC_NONE;
    o->level = 1;
    o->shuffle = 1;
    o->min_saving = 0.10;
}

/* ======================================================================== */
/* Writer                                                                    */
/* ======================================================================== */

/* Jobs run in batches of about this many raw bytes, so that progress is
 * reported while a large frame is written (from the calling thread). */
#define SHMC_BATCH_BYTES (64u << 20)

/* Source bytes of a chunk that needs no transformation, else NULL. */
static const uint8_t *job_direct(const wjob *j)
{
    const shmc_column_desc *d = j->d;
    if (d->kind == SHMC_KIND_ARROW) return shmc_frame_arrow_direct(d, j->role, j->row_start);
    if (d->kind == SHMC_KIND_SPARSE) {
        uint64_t a, b;
        shmc_frame_sparse_span(d, j->row_start, j->nrows, &a, &b);
        return j->role == SHMC_ROLE_INDICES ? (const uint8_t *)(d->sparse_index + a)
                                            : (const uint8_t *)d->values + a * j->typesize;
    }
    switch (j->role) {
    case SHMC_ROLE_VALUES: return (const uint8_t *)d->values + j->row_start * j->typesize;
    case SHMC_ROLE_RIGHT: return (const uint8_t *)d->right + j->row_start * j->typesize;
    case SHMC_ROLE_MASK: return d->mask + j->row_start;
    case SHMC_ROLE_DATA: return d->data + d->offsets[j->row_start];
    case SHMC_ROLE_PICKLE: return d->blobs[j->rowgroup];
    default: return NULL;
    }
}

/* Materialise a rebased offsets or re-packed validity chunk into dst. */
static void job_transform(const wjob *j, uint8_t *dst)
{
    const shmc_column_desc *d = j->d;
    if (d->kind == SHMC_KIND_ARROW) {
        shmc_frame_arrow_transform(d, j->role, j->row_start, j->nrows, j->raw_len, dst);
        return;
    }
    if (j->role == SHMC_ROLE_OFFSETS) {
        int64_t base = d->offsets[j->row_start];
        for (uint64_t i = 0; i <= j->nrows; i++) {
            int64_t v = d->offsets[j->row_start + i] - base;
            memcpy(dst + 8 * i, &v, 8);
        }
        return;
    }
    memset(dst, 0, j->raw_len); /* padding bits zero: output is deterministic */
    uint64_t off = d->validity_offset + j->row_start;
    for (uint64_t i = 0; i < j->nrows; i++)
        dst[i >> 3] |= (uint8_t)(shmc_bit_get(d->validity, off + i) << (i & 7));
}

static int encode_one(void *user, size_t i)
{
    writer *w = user;
    wjob *j = &w->jobs[i];
    if (j->raw_len == 0) return SHMC_OK;
    const uint8_t *src = job_direct(j);
    uint8_t *tmp = NULL;
    if (!src) {
        if (!(tmp = malloc(j->raw_len))) return j->status = SHMC_ERR_NOMEM;
        job_transform(j, tmp);
        src = tmp;
    }
    size_t cap = shmc_codec_bound(j->raw_len, w->o.codec), len = 0;
    j->enc = malloc(cap ? cap : 1);
    int shuffle = w->o.shuffle && j->typesize > 1;
    if (!j->enc) j->status = SHMC_ERR_NOMEM;
    else
        j->status =
            shmc_codec_encode(src, j->raw_len, w->o.codec, w->o.level, shuffle, j->typesize,
                              w->o.min_saving, j->enc, cap, &len, &j->codec, &j->shuffled, NULL);
    free(tmp);
    j->stored_len = len;
    if (j->status == SHMC_OK && j->codec == SHMC_CODEC_NONE) {
        free(j->enc); /* stored raw: place it from the source like any raw chunk */
        j->enc = NULL;
        j->stored_len = j->raw_len;
    }
    return j->status;
}

static int job_error(writer *w, int status, const char *verb)
{
    for (size_t i = 0; i < w->njobs; i++) {
        const wjob *j = &w->jobs[i];
        if (j->status == SHMC_OK) continue;
        return shmc_err_set(&w->f->err, j->status, "%s: %s chunk %zu (row group %u, role %d): %s",
                            w->cols[j->column].what, verb, i, j->rowgroup, j->role,
                            shmc_strerror(j->status));
    }
    return shmc_err_set(&w->f->err, status, "%s failed: %s", verb, shmc_strerror(status));
}

typedef struct batch {
    writer *w;
    size_t first;
    shmc_task_fn fn;
} batch;

static int batch_task(void *user, size_t i)
{
    batch *b = user;
    return b->fn(b->w, b->first + i);
}

/* SHMC_ERR_CANCELLED when the caller's cancel callback says stop. */
static int cancel_check(writer *w, const char *where)
{
    RETURN_ERROR_IF(w->o.cancel && w->o.cancel(w->o.cancel_user), &w->f->err, SHMC_ERR_CANCELLED,
                    "write cancelled by the caller %s (%llu of %llu bytes done)", where,
                    (unsigned long long)w->done, (unsigned long long)w->total);
    return SHMC_OK;
}

/* fn over every job, a batch at a time, telling the progress callback and
 * asking the cancel callback before each batch. */
static int run_batches(writer *w, shmc_task_fn fn)
{
    for (size_t a = 0, end; a < w->njobs; a = end) {
        FORWARD_IF_ERROR(cancel_check(w, "between batches"));
        uint64_t bytes = 0;
        for (end = a; end < w->njobs && (end == a || bytes < SHMC_BATCH_BYTES); end++)
            bytes += w->jobs[end].raw_len;
        batch b = {w, a, fn};
        FORWARD_IF_ERROR(shmc_parallel_for(end - a, w->o.threads, batch_task, &b));
        w->phase_bytes += bytes; /* each phase is its share of the raw bytes */
        w->done = w->phase_bytes / (w->phases ? w->phases : 1);
        if (w->o.progress) w->o.progress(w->o.progress_user, w->done, w->total);
    }
    return SHMC_OK;
}

static int compress_all(writer *w)
{
    for (size_t i = 0; i < w->njobs; i++) w->total += w->jobs[i].raw_len;
    w->phases = w->o.codec != SHMC_CODEC_NONE ? 2 : 1; /* compress, then place */
    if (w->o.codec == SHMC_CODEC_NONE) return SHMC_OK;
    int rc = run_batches(w, encode_one);
    return rc == SHMC_OK || rc == SHMC_ERR_CANCELLED ? rc : job_error(w, rc, "compress");
}

/* Blocks small enough that the source block is still in L2 when XXH3 reads it
 * after the kernel copied it, large enough to amortise the system call. */
#define PWRITE_BLOCK ((size_t)256 * 1024)

typedef struct pwrite_target {
    int fd;
    uint64_t off;
} pwrite_target;

/* A shmc_hash_sink: all n bytes at the target's offset + at, or 0. */
static int pwrite_block(void *user, const uint8_t *p, size_t n, size_t at)
{
    const pwrite_target *t = user;
    for (size_t done = 0; done < n;) {
        ssize_t k = pwrite(t->fd, p + done, n - done, (off_t)(t->off + at + done));
        if (k <= 0) return 0;
        done += (size_t)k;
    }
    return 1;
}

/* pwrite len bytes at off, hashing the source as it goes (through the one hashing
 * entry, so on the AVX2 kernel when the CPU has it). The kernel fills the reserved
 * tmpfs pages directly: no zeroing, no page-table work (that is what made the mapped
 * copy several times slower than memcpy). 0 on a short/failed write. */
static int pwrite_hash(int fd, const uint8_t *src, size_t len, uint64_t off, uint64_t *hash)
{
    pwrite_target t = {fd, off};
    return shmc_hash_feed(src, len, PWRITE_BLOCK, pwrite_block, &t, hash);
}

/* The mapping is not pre-populated (see shmc_store_create): fault a range we are
 * about to write through it in one call rather than one trap per page. */
static void populate_write(uint8_t *p, size_t len)
{
#ifdef MADV_POPULATE_WRITE
    uintptr_t a = (uintptr_t)p & ~(uintptr_t)4095;
    if (len >= 65536) (void)madvise((void *)a, len + ((uintptr_t)p - a), MADV_POPULATE_WRITE);
#else
    (void)p;
    (void)len;
#endif
}

static int place_one(void *user, size_t i)
{
    writer *w = user;
    wjob *j = &w->jobs[i];
    uint8_t *dst = w->base + j->offset;
    if (j->stored_len == 0) {
        j->xxh3 = shmc_hash(dst, 0);
        return SHMC_OK;
    }
    const uint8_t *src = j->enc ? j->enc : job_direct(j);
    if (src && w->fd >= 0 && j->stored_len >= 65536 &&
        pwrite_hash(w->fd, src, (size_t)j->stored_len, j->offset, &j->xxh3))
        return SHMC_OK;
    populate_write(dst, (size_t)j->stored_len);
    if (src) j->xxh3 = shmc_copy_hash(dst, src, j->stored_len);
    else {
        job_transform(j, dst);
        j->xxh3 = shmc_hash(dst, j->stored_len);
    }
    return SHMC_OK;
}

static uint64_t layout(writer *w)
{
    uint64_t off = SHMC_HEADER_SIZE;
    for (size_t i = 0; i < w->njobs; i++) {
        off = shmc_align_up(off, SHMC_CHUNK_ALIGN);
        w->jobs[i].offset = off;
        off += w->jobs[i].stored_len;
    }
    return shmc_align_up(off, SHMC_INDEX_ALIGN);
}

/* Build the index description (infos point into the frame and the jobs). */
static int index_build(writer *w, shmc_index *ix)
{
    shmc_frame *f = w->f;
    memset(ix, 0, sizeof *ix);
    ix->nrows = f->nrows;
    ix->rows_per_chunk = w->o.rows_per_chunk;
    ix->has_range = 1;
    for (uint32_t i = 0; i < f->ncols; i++)
        ix->has_range &= !(f->cols[i]->d.flags & SHMC_COL_INDEX);
    ix->range_start = f->range_start;
    ix->range_step = f->range_step;
    ix->range_name = f->range_name;
    ix->columns_name = f->columns_name;
    ix->meta = f->meta;
    ix->meta_len = f->meta_len;
    ix->freq = f->freq;
    ix->columns = calloc(w->ncols ? w->ncols : 1, sizeof *ix->columns);
    ix->chunks = calloc(w->njobs ? w->njobs : 1, sizeof *ix->chunks);
    if (!ix->columns || !ix->chunks) {
        shmc_index_free(ix);
        return shmc_err_set(&f->err, SHMC_ERR_NOMEM, "writer: out of memory");
    }
    ix->ncolumns = w->ncols;
    ix->nchunks = (uint32_t)w->njobs;
    for (uint32_t i = 0; i < w->ncols; i++) {
        const wcol *c = &w->cols[i];
        shmc_column_info *ci = &ix->columns[i];
        ci->kind = c->d->kind;
        ci->flags = c->flags;
        ci->label = c->flags & SHMC_COL_DICTIONARY ? (shmc_label){0} : c->d->label;
        ci->dtype = c->d->dtype;
        ci->unit = c->d->unit;
        ci->tz = c->d->tz;
        ci->code_kind = c->d->code_kind;
        ci->dict_column = c->dict_column;
        ci->nrows = c->nrows;
        ci->null_count = c->null_count;
        ci->arrow = c->d->arrow;
    }
    return SHMC_OK;
}

static void index_fill_chunks(writer *w, shmc_index *ix)
{
    for (size_t i = 0; i < w->njobs; i++) {
        const wjob *j = &w->jobs[i];
        ix->chunks[i] = (shmc_chunk_info){.column = j->column,
                                          .rowgroup = j->rowgroup,
                                          .role = j->role,
                                          .codec = j->codec,
                                          .shuffle = j->shuffled,
                                          .typesize = j->typesize,
                                          .offset = j->offset,
                                          .stored_len = j->stored_len,
                                          .raw_len = j->raw_len,
                                          .xxh3 = j->xxh3};
    }
}

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* The provisional header names the writing process as owner even for a
 * persistent segment, so a writer killed mid-write (or while the space is still
 * being reserved: it is written first) leaves an orphan gc can remove; the final
 * header replaces it. */
static void header_begin(uint8_t *h, uint64_t total)
{
    uint64_t start = 0;
    shmc_proc_start_ticks(getpid(), &start);
    memset(h, 0, SHMC_HEADER_SIZE);
    memcpy(h + SHMC_HDR_MAGIC, SHMC_MAGIC, SHMC_MAGIC_LEN);
    shmc_st16(h + SHMC_HDR_VERSION, SHMC_FORMAT_VERSION);
    shmc_st16(h + SHMC_HDR_HEADER_SIZE, SHMC_HEADER_SIZE);
    shmc_st32(h + SHMC_HDR_LAYOUT, SHMC_LAYOUT_SIGNATURE);
    shmc_st64(h + SHMC_HDR_OWNER_PID, (uint64_t)getpid());
    shmc_st64(h + SHMC_HDR_OWNER_START, start);
    shmc_st32(h + SHMC_HDR_CREATOR_UID, (uint32_t)getuid());
    shmc_st64(h + SHMC_HDR_TOTAL_SIZE, total);
}

static void header_seal(uint8_t *h, int owned, uint64_t index_off, uint64_t index_len,
                        uint64_t index_hash)
{
    shmc_st32(h + SHMC_HDR_FLAGS, owned ? SHMC_HDRF_OWNED : 0);
    if (!owned) {
        shmc_st64(h + SHMC_HDR_OWNER_PID, 0);
        shmc_st64(h + SHMC_HDR_OWNER_START, 0);
    }
    shmc_st64(h + SHMC_HDR_INDEX_OFFSET, index_off);
    shmc_st64(h + SHMC_HDR_INDEX_LEN, index_len);
    shmc_st64(h + SHMC_HDR_INDEX_XXH3, index_hash);
    shmc_st64(h + SHMC_HDR_CREATED_NS, now_ns());
    shmc_st64(h + SHMC_HDR_HEADER_XXH3, shmc_header_hash(h));
    /* Everything above must be visible before a reader can see the marker. */
    atomic_thread_fence(memory_order_release);
    shmc_st64(h + SHMC_HDR_SEALED, SHMC_SEALED_MAGIC);
}

/* Copy chunks and the index into the mapped segment (its provisional header is
 * already there: see write_to_store), then seal it. */
static int fill_segment(writer *w, shmc_index *ix, shmc_buf *enc, uint64_t index_off)
{
    size_t measured = enc->len;
    int rc = run_batches(w, place_one);
    if (rc == SHMC_ERR_CANCELLED) return rc;
    if (rc != SHMC_OK) return job_error(w, rc, "copy");
    index_fill_chunks(w, ix);
    FORWARD_IF_ERROR(shmc_index_encode(ix, enc, &w->f->err));
    RETURN_ERROR_IF(enc->len != measured, &w->f->err, SHMC_ERR_CORRUPT,
                    "internal: index length changed from %zu to %zu", measured, enc->len);
    memcpy(w->base + index_off, enc->p, enc->len);
    header_seal(w->base, (w->o.flags & SHMC_WRITE_OWNED) != 0, index_off, enc->len,
                shmc_hash(enc->p, enc->len));
    if (w->o.progress && w->done < w->total) w->o.progress(w->o.progress_user, w->total, w->total);
    return SHMC_OK;
}

static int opts_check(writer *w, const shmc_write_opts *opts)
{
    if (opts) w->o = *opts;
    else shmc_write_opts_init(&w->o);
    shmc_err *e = &w->f->err;
    if (!w->o.rows_per_chunk) w->o.rows_per_chunk = 1u << 20;
    if (!w->o.level) w->o.level = 1;
    if (w->o.min_saving == 0) w->o.min_saving = 0.10;
    RETURN_ERROR_IF(w->o.codec != SHMC_CODEC_NONE && w->o.codec != SHMC_CODEC_ZSTD, e,
                    SHMC_ERR_INVALID_ARG, "opts.codec %d is not a shmc_codec", w->o.codec);
    RETURN_ERROR_IF(w->o.min_saving < 0 || w->o.min_saving >= 1, e, SHMC_ERR_INVALID_ARG,
                    "opts.min_saving %g is not in [0, 1)", w->o.min_saving);
    RETURN_ERROR_IF(w->o.threads < 0, e, SHMC_ERR_INVALID_ARG, "opts.threads is negative");
    RETURN_ERROR_IF(w->o.flags & ~SHMC_WRITE_OWNED, e, SHMC_ERR_INVALID_ARG,
                    "opts.flags 0x%x has unknown bits", w->o.flags);
    return SHMC_OK;
}

static int write_to_store(writer *w, shmc_index *ix, const char *dest, char *name_out, size_t cap)
{
    shmc_buf enc = {0};
    uint64_t index_off = layout(w);
    index_fill_chunks(w, ix);
    int rc = shmc_index_encode(ix, &enc, &w->f->err);
    shmc_store st;
    if (rc == SHMC_OK) rc = shmc_store_resolve(&st, dest, &w->f->err);
    uint64_t total = index_off + enc.len;
    uint8_t head[SHMC_HEADER_SIZE];
    header_begin(head, total);
    if (rc == SHMC_OK) rc = cancel_check(w, "before reserving the space");
    if (rc == SHMC_OK) rc = shmc_store_create(&st, total, head, sizeof head, &w->f->err);
    if (rc == SHMC_OK) {
        w->base = st.base;
        w->fd = shmc_store_write_fd(&st);
        rc = fill_segment(w, ix, &enc, index_off);
        if (w->fd >= 0) close(w->fd);
        w->fd = -1;
        shmc_store_close(&st);
        if (rc != SHMC_OK) shmc_store_remove(&st, NULL);
    }
    if (rc == SHMC_OK && name_out && cap) {
        size_t n = strlen(st.name);
        if (n >= cap) {
            shmc_store_remove(&st, NULL);
            rc = shmc_err_set(&w->f->err, SHMC_ERR_INVALID_ARG, "name_out too small for '%s'",
                              st.name);
        } else memcpy(name_out, st.name, n + 1);
    }
    shmc_buf_free(&enc);
    return rc;
}

static void writer_free(writer *w)
{
    for (size_t i = 0; i < w->njobs; i++) free(w->jobs[i].enc);
    free(w->jobs);
    free(w->cols);
}

int shmc_frame_write(shmc_frame *f, const char *dest, const shmc_write_opts *opts, char *name_out,
                     size_t name_out_cap)
{
    if (!f) return SHMC_ERR_INVALID_ARG;
    shmc_err_clear(&f->err);
    writer w = {.f = f, .fd = -1};
    shmc_index ix = {0};
    int rc = opts_check(&w, opts);
    if (rc == SHMC_OK) rc = shmc_frame_plan(&w);
    if (rc == SHMC_OK) rc = compress_all(&w);
    if (rc == SHMC_OK) rc = index_build(&w, &ix);
    if (rc == SHMC_OK) rc = write_to_store(&w, &ix, dest, name_out, name_out_cap);
    free(ix.columns);
    free(ix.chunks);
    writer_free(&w);
    return rc;
}
