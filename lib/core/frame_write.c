/* The frame builder (shmc_frame_*) and the segment writer (shmc_frame_write). */
#include "frame.h"

#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/mman.h>
#include <unistd.h>

#define XXH_STATIC_LINKING_ONLY /* XXH3_state_t on the stack */
#include <xxhash.h>

#include "codec.h"
#include "format.h"
#include "index.h"
#include "store.h"

typedef struct kept {
    void *ptr;
    void (*free_fn)(void *);
} kept;

typedef struct frame_col {
    shmc_column_desc d;       /* strings owned by the frame; d.categories -> &cat */
    shmc_column_desc cat;
    const char *what;         /* "column 'x'" for messages (owned) */
} frame_col;

struct shmc_frame {
    shmc_err err;
    uint64_t nrows;
    frame_col **cols;
    uint32_t ncols, cap;
    int64_t range_start, range_step;
    shmc_label range_name, columns_name;
    const uint8_t *meta;
    size_t meta_len;
    const char *freq;         /* row index frequency (owned), NULL if none */
    kept *kept;
    size_t nkept, kept_cap;
};

/* ======================================================================== */
/* Builder                                                                   */
/* ======================================================================== */

int shmc_frame_create(shmc_frame **out)
{
    if (!out) return SHMC_ERR_INVALID_ARG;
    shmc_frame *f = calloc(1, sizeof *f);
    if (!f) return SHMC_ERR_NOMEM;
    f->range_step = 1;
    *out = f;
    return SHMC_OK;
}

void shmc_frame_free(shmc_frame *f)
{
    if (!f) return;
    for (size_t i = f->nkept; i-- > 0;) f->kept[i].free_fn(f->kept[i].ptr);
    for (uint32_t i = 0; i < f->ncols; i++) free(f->cols[i]);
    free(f->kept);
    free(f->cols);
    free(f);
}

const char *shmc_frame_errmsg(const shmc_frame *f) { return f ? f->err.msg : "frame is NULL"; }
shmc_err *shmc_frame_err(shmc_frame *f) { return f ? &f->err : NULL; }

int shmc_frame_keep(shmc_frame *f, void *ptr, void (*free_fn)(void *))
{
    if (!f || !free_fn) return SHMC_ERR_INVALID_ARG;
    if (f->nkept == f->kept_cap) {
        size_t cap = f->kept_cap ? f->kept_cap * 2 : 16;
        kept *k = realloc(f->kept, cap * sizeof *k);
        RETURN_ERROR_IF(!k, &f->err, SHMC_ERR_NOMEM, "frame: out of memory");
        f->kept = k;
        f->kept_cap = cap;
    }
    f->kept[f->nkept++] = (kept){ptr, free_fn};
    return SHMC_OK;
}

void *shmc_frame_dup(shmc_frame *f, const void *src, size_t len)
{
    void *p = malloc(len ? len : 1);
    if (!p) { shmc_err_set(&f->err, SHMC_ERR_NOMEM, "frame: out of memory (%zu bytes)", len); return NULL; }
    if (len && src) memcpy(p, src, len);
    if (shmc_frame_keep(f, p, free) != SHMC_OK) { free(p); return NULL; }
    return p;
}

static const char *dup_cstr(shmc_frame *f, const char *s)
{
    return s ? shmc_frame_dup(f, s, strlen(s) + 1) : NULL;
}

int shmc_frame_set_nrows(shmc_frame *f, uint64_t nrows)
{
    if (!f) return SHMC_ERR_INVALID_ARG;
    RETURN_ERROR_IF(nrows > (uint64_t)INT64_MAX, &f->err, SHMC_ERR_INVALID_ARG, "nrows too large");
    f->nrows = nrows;
    return SHMC_OK;
}

uint64_t shmc_frame_nrows(const shmc_frame *f) { return f ? f->nrows : 0; }
uint32_t shmc_frame_ncolumns(const shmc_frame *f) { return f ? f->ncols : 0; }

static int label_check(shmc_err *e, const shmc_label *l, const char *what)
{
    RETURN_ERROR_IF(l->type < SHMC_LABEL_NONE || l->type > SHMC_LABEL_PICKLE, e,
                    SHMC_ERR_INVALID_ARG, "%s: label.type %d is not a shmc_label_type", what, l->type);
    RETURN_ERROR_IF((l->type == SHMC_LABEL_STR || l->type == SHMC_LABEL_PICKLE) && l->len && !l->str,
                    e, SHMC_ERR_INVALID_ARG, "%s: label.str is NULL with label.len %zu", what, l->len);
    RETURN_ERROR_IF(l->len > UINT32_MAX, e, SHMC_ERR_INVALID_ARG, "%s: label.len too large", what);
    return SHMC_OK;
}

static int label_copy(shmc_frame *f, shmc_label *dst, const shmc_label *src, const char *what)
{
    FORWARD_IF_ERROR(label_check(&f->err, src, what));
    *dst = *src;
    if (src->type == SHMC_LABEL_STR || src->type == SHMC_LABEL_PICKLE) {
        char *s = shmc_frame_dup(f, NULL, src->len + 1);   /* + NUL: usable as a C string */
        if (!s) return SHMC_ERR_NOMEM;
        if (src->len) memcpy(s, src->str, src->len);
        s[src->len] = '\0';
        dst->str = s;
    } else {
        dst->str = NULL;
        dst->len = 0;
    }
    return SHMC_OK;
}

int shmc_frame_set_range_index(shmc_frame *f, int64_t start, int64_t step, const shmc_label *name)
{
    if (!f) return SHMC_ERR_INVALID_ARG;
    RETURN_ERROR_IF(step == 0, &f->err, SHMC_ERR_INVALID_ARG, "range index: step is 0");
    f->range_start = start;
    f->range_step = step;
    shmc_label none = {0};
    return label_copy(f, &f->range_name, name ? name : &none, "range index name");
}

int shmc_frame_set_columns_name(shmc_frame *f, const shmc_label *name)
{
    if (!f) return SHMC_ERR_INVALID_ARG;
    shmc_label none = {0};
    return label_copy(f, &f->columns_name, name ? name : &none, "columns name");
}

int shmc_frame_set_meta(shmc_frame *f, const void *bytes, size_t len)
{
    if (!f) return SHMC_ERR_INVALID_ARG;
    RETURN_ERROR_IF(len && !bytes, &f->err, SHMC_ERR_INVALID_ARG, "meta: bytes is NULL");
    RETURN_ERROR_IF(len > UINT32_MAX, &f->err, SHMC_ERR_LIMIT, "meta: more than 4 GiB");
    if (!len) { f->meta = NULL; f->meta_len = 0; return SHMC_OK; }
    f->meta = shmc_frame_dup(f, bytes, len);
    if (!f->meta) return SHMC_ERR_NOMEM;
    f->meta_len = len;
    return SHMC_OK;
}

int shmc_frame_set_index_freq(shmc_frame *f, const char *freq)
{
    if (!f) return SHMC_ERR_INVALID_ARG;
    if (!freq || !*freq) { f->freq = NULL; return SHMC_OK; }
    RETURN_ERROR_IF(shmc_index_freq_check(freq, strlen(freq)), &f->err, SHMC_ERR_INVALID_ARG,
                    "index freq '%.40s': not 1..%d ASCII letters, digits, '-', '+' or '_'", freq,
                    SHMC_FREQ_MAX);
    f->freq = dup_cstr(f, freq);
    return f->freq ? SHMC_OK : SHMC_ERR_NOMEM;
}

/* Structural checks that need no row count (the buffers are checked at write). */
static int desc_check(shmc_err *e, const shmc_column_desc *d, const char *what, int is_dict)
{
    RETURN_ERROR_IF(d->kind < SHMC_KIND_BOOL || d->kind >= SHMC_KIND_COUNT_, e, SHMC_ERR_INVALID_ARG,
                    "%s: kind %d is not a shmc_kind", what, d->kind);
    RETURN_ERROR_IF(d->flags & ~(SHMC_COL_INDEX | SHMC_COL_ORDERED), e, SHMC_ERR_INVALID_ARG,
                    "%s: flags 0x%x has unknown or writer-only bits", what, d->flags);
    FORWARD_IF_ERROR(label_check(e, &d->label, what));
    int timed = d->kind == SHMC_KIND_DATETIME || d->kind == SHMC_KIND_TIMEDELTA;
    RETURN_ERROR_IF(timed && (d->unit < SHMC_UNIT_S || d->unit > SHMC_UNIT_NS), e,
                    SHMC_ERR_INVALID_ARG, "%s: unit %d is not s/ms/us/ns", what, d->unit);
    RETURN_ERROR_IF(d->tz && d->kind != SHMC_KIND_DATETIME, e, SHMC_ERR_INVALID_ARG,
                    "%s: tz given for a %s column", what, shmc_kind_name(d->kind));
    RETURN_ERROR_IF(d->mask && !shmc_kind_is_fixed(d->kind), e, SHMC_ERR_INVALID_ARG,
                    "%s: mask given for a %s column", what, shmc_kind_name(d->kind));
    if (d->kind == SHMC_KIND_CATEGORICAL) {
        RETURN_ERROR_IF(is_dict, e, SHMC_ERR_INVALID_ARG, "%s: categories are themselves categorical", what);
        RETURN_ERROR_IF(d->code_kind < SHMC_KIND_INT8 || d->code_kind > SHMC_KIND_INT64, e,
                        SHMC_ERR_INVALID_ARG, "%s: code_kind %d is not int8..int64", what, d->code_kind);
        RETURN_ERROR_IF(!d->categories, e, SHMC_ERR_INVALID_ARG, "%s: categories is NULL", what);
    }
    RETURN_ERROR_IF(is_dict && d->kind == SHMC_KIND_OBJECT, e, SHMC_ERR_INVALID_ARG,
                    "%s: object categories are not supported", what);
    if (d->kind == SHMC_KIND_OBJECT)
        RETURN_ERROR_IF(d->nblobs && (!d->blobs || !d->blob_lens), e, SHMC_ERR_INVALID_ARG,
                        "%s: blobs or blob_lens is NULL with nblobs %zu", what, d->nblobs);
    return SHMC_OK;
}

static int desc_copy(shmc_frame *f, shmc_column_desc *dst, const shmc_column_desc *src, const char *what)
{
    *dst = *src;
    FORWARD_IF_ERROR(label_copy(f, &dst->label, &src->label, what));
    if (src->dtype && !(dst->dtype = dup_cstr(f, src->dtype))) return SHMC_ERR_NOMEM;
    if (src->tz && !(dst->tz = dup_cstr(f, src->tz))) return SHMC_ERR_NOMEM;
    if (src->kind == SHMC_KIND_OBJECT && src->nblobs) {
        dst->blobs = shmc_frame_dup(f, src->blobs, src->nblobs * sizeof *src->blobs);
        dst->blob_lens = shmc_frame_dup(f, src->blob_lens, src->nblobs * sizeof *src->blob_lens);
        if (!dst->blobs || !dst->blob_lens) return SHMC_ERR_NOMEM;
    }
    return SHMC_OK;
}

static const char *describe(shmc_frame *f, const shmc_label *l, uint32_t idx)
{
    char buf[160];
    if (l->type == SHMC_LABEL_STR)
        snprintf(buf, sizeof buf, "column %u '%.*s'", idx, (int)(l->len > 100 ? 100 : l->len),
                 l->str ? l->str : "");
    else if (l->type == SHMC_LABEL_INT)
        snprintf(buf, sizeof buf, "column %u (label %lld)", idx, (long long)l->i);
    else snprintf(buf, sizeof buf, "column %u", idx);
    return dup_cstr(f, buf);
}

static int grow_cols(shmc_frame *f)
{
    if (f->ncols < f->cap) return SHMC_OK;
    RETURN_ERROR_IF(f->ncols >= UINT32_MAX / 4, &f->err, SHMC_ERR_LIMIT, "too many columns");
    uint32_t cap = f->cap ? f->cap * 2 : 16;
    frame_col **c = realloc(f->cols, cap * sizeof *c);
    RETURN_ERROR_IF(!c, &f->err, SHMC_ERR_NOMEM, "frame: out of memory");
    f->cols = c;
    f->cap = cap;
    return SHMC_OK;
}

int shmc_frame_add_column(shmc_frame *f, const shmc_column_desc *desc)
{
    if (!f) return SHMC_ERR_INVALID_ARG;
    RETURN_ERROR_IF(!desc, &f->err, SHMC_ERR_INVALID_ARG, "column %u: desc is NULL", f->ncols);
    const char *what = describe(f, &desc->label, f->ncols);
    if (!what) return SHMC_ERR_NOMEM;
    FORWARD_IF_ERROR(desc_check(&f->err, desc, what, 0));
    if (desc->kind == SHMC_KIND_CATEGORICAL)
        FORWARD_IF_ERROR(desc_check(&f->err, desc->categories, what, 1));
    FORWARD_IF_ERROR(grow_cols(f));
    frame_col *c = calloc(1, sizeof *c);
    RETURN_ERROR_IF(!c, &f->err, SHMC_ERR_NOMEM, "frame: out of memory");
    c->what = what;
    int rc = desc_copy(f, &c->d, desc, what);
    if (rc == SHMC_OK && desc->kind == SHMC_KIND_CATEGORICAL) {
        rc = desc_copy(f, &c->cat, desc->categories, what);
        c->cat.categories = NULL;
        c->d.categories = &c->cat;
    }
    if (rc != SHMC_OK) { free(c); return rc; }
    f->cols[f->ncols++] = c;
    return SHMC_OK;
}

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

/* One chunk to write. */
typedef struct wjob {
    const shmc_column_desc *d;
    uint32_t column, rowgroup;
    int role;
    uint64_t row_start, nrows;
    uint64_t raw_len;
    uint32_t typesize;
    uint8_t *enc;             /* compressed bytes (zstd path), or NULL */
    uint64_t stored_len;
    int codec, shuffled;
    uint64_t offset, xxh3;
    int status;
} wjob;

/* A column entry to write: user columns, then the dictionaries. */
typedef struct wcol {
    const shmc_column_desc *d;
    const char *what;
    uint64_t nrows, nrowgroups, null_count;
    uint32_t flags, dict_column;
} wcol;

typedef struct writer {
    shmc_frame *f;
    shmc_write_opts o;
    wcol *cols;
    uint32_t ncols;
    wjob *jobs;
    size_t njobs, jobs_cap;
    uint8_t *base;            /* the mapping being written */
    int fd;                   /* the same store for pwrite, or -1 */
    uint64_t done, total;     /* progress: raw bytes handled (of every phase), raw bytes */
    uint64_t phase_bytes;     /* raw bytes handled by all phases so far */
    unsigned phases;          /* 1 (place) or 2 (compress, then place) */
} writer;

/* Jobs run in batches of about this many raw bytes, so that progress is
 * reported while a large frame is written (from the calling thread). */
#define SHMC_BATCH_BYTES (64u << 20)

static uint64_t bit_get(const uint8_t *v, uint64_t i) { return (uint64_t)(v[i >> 3] >> (i & 7)) & 1u; }

/* Zero bits in [off, off + n) of an Arrow bitmap: the rows that are null. */
static uint64_t count_nulls_bits(const uint8_t *v, uint64_t off, uint64_t n)
{
    uint64_t ones = 0, i = 0;
    for (; i < n && ((off + i) & 7); i++) ones += bit_get(v, off + i);
    for (; i + 8 <= n; i += 8) ones += (uint64_t)__builtin_popcount((unsigned)v[(off + i) >> 3]);
    for (; i < n; i++) ones += bit_get(v, off + i);
    return n - ones;
}

static int64_t code_at(const void *codes, int code_kind, uint64_t i)
{
    switch (code_kind) {
    case SHMC_KIND_INT8: return ((const int8_t *)codes)[i];
    case SHMC_KIND_INT16: return ((const int16_t *)codes)[i];
    case SHMC_KIND_INT32: return ((const int32_t *)codes)[i];
    default: return ((const int64_t *)codes)[i];
    }
}

/* Missing values pandas sees in an unmasked float (NaN) or time (NaT) column. */
static uint64_t count_nan_nat(const shmc_column_desc *d, uint64_t n)
{
    uint64_t k = 0;
    if (d->mask || !d->values) return 0;
    if (d->kind == SHMC_KIND_FLOAT64)
        for (uint64_t i = 0; i < n; i++) { double x; memcpy(&x, (const char *)d->values + 8 * i, 8); k += x != x; }
    else if (d->kind == SHMC_KIND_FLOAT32)
        for (uint64_t i = 0; i < n; i++) { float x; memcpy(&x, (const char *)d->values + 4 * i, 4); k += x != x; }
    else if (d->kind == SHMC_KIND_DATETIME || d->kind == SHMC_KIND_TIMEDELTA)
        for (uint64_t i = 0; i < n; i++) { int64_t x; memcpy(&x, (const char *)d->values + 8 * i, 8); k += x == INT64_MIN; }
    return k;
}

/* Buffers present and consistent for n rows; counts nulls as pandas' isna() does. */
static int check_buffers(shmc_err *e, const shmc_column_desc *d, uint64_t n, const char *what,
                         uint64_t *nulls)
{
    *nulls = 0;
    if (shmc_kind_is_fixed(d->kind) || d->kind == SHMC_KIND_CATEGORICAL) {
        RETURN_ERROR_IF(n && !d->values, e, SHMC_ERR_INVALID_ARG, "%s: values is NULL", what);
        for (uint64_t i = 0; d->mask && i < n; i++) *nulls += d->mask[i] != 0;
        *nulls += count_nan_nat(d, n);
    }
    if (d->kind == SHMC_KIND_CATEGORICAL) {
        int64_t ncat = (int64_t)d->ncategories;
        for (uint64_t i = 0; i < n; i++) {
            int64_t c = code_at(d->values, d->code_kind, i);
            RETURN_ERROR_IF(c < -1 || c >= ncat, e, SHMC_ERR_INVALID_ARG,
                            "%s: code %lld at row %llu outside [-1, %lld)", what, (long long)c,
                            (unsigned long long)i, (long long)ncat);
            *nulls += c == -1;
        }
    }
    if (d->kind == SHMC_KIND_STRING) {
        RETURN_ERROR_IF(!d->offsets, e, SHMC_ERR_INVALID_ARG, "%s: offsets is NULL", what);
        RETURN_ERROR_IF(d->offsets[0] < 0, e, SHMC_ERR_INVALID_ARG, "%s: offsets[0] is negative", what);
        for (uint64_t i = 0; i < n; i++)
            RETURN_ERROR_IF(d->offsets[i + 1] < d->offsets[i], e, SHMC_ERR_INVALID_ARG,
                            "%s: offsets decrease at row %llu", what, (unsigned long long)i);
        RETURN_ERROR_IF(d->offsets[n] > d->offsets[0] && !d->data, e, SHMC_ERR_INVALID_ARG,
                        "%s: data is NULL", what);
        if (d->validity) *nulls = count_nulls_bits(d->validity, d->validity_offset, n);
    }
    return SHMC_OK;
}

static int plan_column(writer *w, uint32_t idx, const shmc_column_desc *d, uint64_t nrows,
                       const char *what, uint32_t flags)
{
    wcol *c = &w->cols[idx];
    uint64_t rpc = w->o.rows_per_chunk;
    c->d = d;
    c->what = what;
    c->nrows = nrows;
    c->nrowgroups = nrows / rpc + (nrows % rpc != 0);
    c->flags = flags;
    c->dict_column = UINT32_MAX;
    RETURN_ERROR_IF(c->nrowgroups > UINT32_MAX, &w->f->err, SHMC_ERR_LIMIT,
                    "%s: more than 2^32 row groups", what);
    if (d->kind == SHMC_KIND_OBJECT)
        RETURN_ERROR_IF(d->nblobs != c->nrowgroups, &w->f->err, SHMC_ERR_INVALID_ARG,
                        "%s: nblobs %zu but the frame has %llu row groups", what, d->nblobs,
                        (unsigned long long)c->nrowgroups);
    for (size_t i = 0; d->kind == SHMC_KIND_OBJECT && i < d->nblobs; i++)
        RETURN_ERROR_IF(d->blob_lens[i] && !d->blobs[i], &w->f->err, SHMC_ERR_INVALID_ARG,
                        "%s: blobs[%zu] is NULL with blob_lens %zu", what, i, d->blob_lens[i]);
    return check_buffers(&w->f->err, d, nrows, what, &c->null_count);
}

static int plan_columns(writer *w)
{
    shmc_frame *f = w->f;
    uint32_t ndict = 0;
    for (uint32_t i = 0; i < f->ncols; i++) ndict += f->cols[i]->d.kind == SHMC_KIND_CATEGORICAL;
    w->ncols = f->ncols + ndict;
    w->cols = calloc(w->ncols ? w->ncols : 1, sizeof *w->cols);
    RETURN_ERROR_IF(!w->cols, &f->err, SHMC_ERR_NOMEM, "writer: out of memory");
    uint32_t next_dict = f->ncols;
    for (uint32_t i = 0; i < f->ncols; i++) {
        const frame_col *fc = f->cols[i];
        FORWARD_IF_ERROR(plan_column(w, i, &fc->d, f->nrows, fc->what, fc->d.flags));
        if (fc->d.kind != SHMC_KIND_CATEGORICAL) continue;
        w->cols[i].dict_column = next_dict;
        FORWARD_IF_ERROR(plan_column(w, next_dict, &fc->cat, fc->d.ncategories, fc->what,
                                     SHMC_COL_DICTIONARY));
        next_dict++;
    }
    return SHMC_OK;
}

static uint64_t role_raw_len(const shmc_column_desc *d, int role, uint64_t row0, uint64_t n, uint32_t rg)
{
    switch (role) {
    case SHMC_ROLE_VALUES: return n * shmc_role_typesize(d->kind, d->code_kind, role);
    case SHMC_ROLE_MASK: return n;
    case SHMC_ROLE_OFFSETS: return (n + 1) * 8;
    case SHMC_ROLE_DATA: return (uint64_t)(d->offsets[row0 + n] - d->offsets[row0]);
    case SHMC_ROLE_VALIDITY: return (n + 7) / 8;
    default: return d->blob_lens[rg];
    }
}

static int role_present(const shmc_column_desc *d, int role, uint64_t row0, uint64_t n)
{
    if (!(shmc_kind_roles_allowed(d->kind) & (1u << role))) return 0;
    if (role == SHMC_ROLE_MASK) return d->mask != NULL;
    /* A row group without nulls stores no validity chunk (Arrow: no bitmap). */
    if (role == SHMC_ROLE_VALIDITY)
        return d->validity && count_nulls_bits(d->validity, d->validity_offset + row0, n) > 0;
    return 1;
}

static int push_job(writer *w, const wjob *j)
{
    if (w->njobs == w->jobs_cap) {
        size_t cap = w->jobs_cap ? w->jobs_cap * 2 : 64;
        wjob *p = realloc(w->jobs, cap * sizeof *p);
        RETURN_ERROR_IF(!p, &w->f->err, SHMC_ERR_NOMEM, "writer: out of memory");
        w->jobs = p;
        w->jobs_cap = cap;
    }
    RETURN_ERROR_IF(w->njobs >= UINT32_MAX, &w->f->err, SHMC_ERR_LIMIT, "more than 2^32 chunks");
    w->jobs[w->njobs++] = *j;
    return SHMC_OK;
}

/* Column by column, role by role, row group by row group: a raw column's row
 * groups end up adjacent, so the whole column is one view. */
static int plan_jobs(writer *w)
{
    uint64_t rpc = w->o.rows_per_chunk;
    for (uint32_t c = 0; c < w->ncols; c++) {
        const wcol *col = &w->cols[c];
        for (int role = 0; role < SHMC_ROLE_COUNT_; role++) {
            for (uint64_t rg = 0; rg < col->nrowgroups; rg++) {
                uint64_t row0 = rg * rpc, n = col->nrows - row0 < rpc ? col->nrows - row0 : rpc;
                if (!role_present(col->d, role, row0, n)) continue;
                wjob j = {.d = col->d, .column = c, .rowgroup = (uint32_t)rg, .role = role,
                          .row_start = row0, .nrows = n};
                j.raw_len = role_raw_len(col->d, role, row0, n, (uint32_t)rg);
                j.typesize = shmc_role_typesize(col->d->kind, col->d->code_kind, role);
                j.stored_len = j.raw_len;
                FORWARD_IF_ERROR(push_job(w, &j));
            }
        }
    }
    return SHMC_OK;
}

/* Source bytes of a chunk that needs no transformation, else NULL. */
static const uint8_t *job_direct(const wjob *j)
{
    const shmc_column_desc *d = j->d;
    switch (j->role) {
    case SHMC_ROLE_VALUES: return (const uint8_t *)d->values + j->row_start * j->typesize;
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
    if (j->role == SHMC_ROLE_OFFSETS) {
        int64_t base = d->offsets[j->row_start];
        for (uint64_t i = 0; i <= j->nrows; i++) {
            int64_t v = d->offsets[j->row_start + i] - base;
            memcpy(dst + 8 * i, &v, 8);
        }
        return;
    }
    memset(dst, 0, j->raw_len);   /* padding bits zero: output is deterministic */
    uint64_t off = d->validity_offset + j->row_start;
    for (uint64_t i = 0; i < j->nrows; i++)
        dst[i >> 3] |= (uint8_t)(bit_get(d->validity, off + i) << (i & 7));
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
    else j->status = shmc_codec_encode(src, j->raw_len, w->o.codec, w->o.level, shuffle, j->typesize,
                                       w->o.min_saving, j->enc, cap, &len, &j->codec, &j->shuffled, NULL);
    free(tmp);
    j->stored_len = len;
    if (j->status == SHMC_OK && j->codec == SHMC_CODEC_NONE) {
        free(j->enc);      /* stored raw: place it from the source like any raw chunk */
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
        w->phase_bytes += bytes;   /* each phase is its share of the raw bytes */
        w->done = w->phase_bytes / (w->phases ? w->phases : 1);
        if (w->o.progress) w->o.progress(w->o.progress_user, w->done, w->total);
    }
    return SHMC_OK;
}

static int compress_all(writer *w)
{
    for (size_t i = 0; i < w->njobs; i++) w->total += w->jobs[i].raw_len;
    w->phases = w->o.codec != SHMC_CODEC_NONE ? 2 : 1;   /* compress, then place */
    if (w->o.codec == SHMC_CODEC_NONE) return SHMC_OK;
    int rc = run_batches(w, encode_one);
    return rc == SHMC_OK || rc == SHMC_ERR_CANCELLED ? rc : job_error(w, rc, "compress");
}

/* Blocks small enough that the source block is still in L2 when XXH3 reads it
 * after the kernel copied it, large enough to amortise the system call. */
#define PWRITE_BLOCK ((size_t)256 * 1024)

/* pwrite len bytes at off, hashing the source as it goes. The kernel fills the
 * reserved tmpfs pages directly: no zeroing, no page-table work (that is what made
 * the mapped copy several times slower than memcpy). 0 on a short/failed write. */
static int pwrite_hash(int fd, const uint8_t *src, size_t len, uint64_t off, uint64_t *hash)
{
    XXH3_state_t st;
    XXH3_INITSTATE(&st);
    XXH3_64bits_reset(&st);
    for (size_t done = 0; done < len;) {
        size_t n = len - done < PWRITE_BLOCK ? len - done : PWRITE_BLOCK;
        ssize_t k = pwrite(fd, src + done, n, (off_t)(off + done));
        if (k <= 0) return 0;
        XXH3_64bits_update(&st, src + done, (size_t)k);
        done += (size_t)k;
    }
    *hash = XXH3_64bits_digest(&st);
    return 1;
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
    if (j->stored_len == 0) { j->xxh3 = shmc_hash(dst, 0); return SHMC_OK; }
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
    for (uint32_t i = 0; i < f->ncols; i++) ix->has_range &= !(f->cols[i]->d.flags & SHMC_COL_INDEX);
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
    }
    return SHMC_OK;
}

static void index_fill_chunks(writer *w, shmc_index *ix)
{
    for (size_t i = 0; i < w->njobs; i++) {
        const wjob *j = &w->jobs[i];
        ix->chunks[i] = (shmc_chunk_info){.column = j->column, .rowgroup = j->rowgroup, .role = j->role,
                                          .codec = j->codec, .shuffle = j->shuffled,
                                          .typesize = j->typesize, .offset = j->offset,
                                          .stored_len = j->stored_len, .raw_len = j->raw_len,
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

static void header_seal(uint8_t *h, int owned, uint64_t index_off, uint64_t index_len, uint64_t index_hash)
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
        if (n >= cap) { shmc_store_remove(&st, NULL);
            rc = shmc_err_set(&w->f->err, SHMC_ERR_INVALID_ARG, "name_out too small for '%s'", st.name); }
        else memcpy(name_out, st.name, n + 1);
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
    if (rc == SHMC_OK) rc = plan_columns(&w);
    if (rc == SHMC_OK) rc = plan_jobs(&w);
    if (rc == SHMC_OK) rc = compress_all(&w);
    if (rc == SHMC_OK) rc = index_build(&w, &ix);
    if (rc == SHMC_OK) rc = write_to_store(&w, &ix, dest, name_out, name_out_cap);
    free(ix.columns);
    free(ix.chunks);
    writer_free(&w);
    return rc;
}
