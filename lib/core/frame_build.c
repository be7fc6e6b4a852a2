/* The frame builder: a shmc_frame collects column descriptions (copied, with
 * their labels and strings, into memory the frame owns) and frame-level labels
 * and metadata, checking each as it is added; and, when the frame is written,
 * the plan of the write -- buffers checked against the row count, nulls counted,
 * one job per chunk -- which frame_write.c then carries out. */
#include "frame_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "format.h"
#include "frame_arrow.h"
#include "index.h"

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
    if (!p) {
        shmc_err_set(&f->err, SHMC_ERR_NOMEM, "frame: out of memory (%zu bytes)", len);
        return NULL;
    }
    if (len && src) memcpy(p, src, len);
    if (shmc_frame_keep(f, p, free) != SHMC_OK) {
        free(p);
        return NULL;
    }
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
                    SHMC_ERR_INVALID_ARG, "%s: label.type %d is not a shmc_label_type", what,
                    l->type);
    RETURN_ERROR_IF(
        (l->type == SHMC_LABEL_STR || l->type == SHMC_LABEL_PICKLE) && l->len && !l->str, e,
        SHMC_ERR_INVALID_ARG, "%s: label.str is NULL with label.len %zu", what, l->len);
    RETURN_ERROR_IF(l->len > UINT32_MAX, e, SHMC_ERR_INVALID_ARG, "%s: label.len too large", what);
    return SHMC_OK;
}

static int label_copy(shmc_frame *f, shmc_label *dst, const shmc_label *src, const char *what)
{
    FORWARD_IF_ERROR(label_check(&f->err, src, what));
    *dst = *src;
    if (src->type == SHMC_LABEL_STR || src->type == SHMC_LABEL_PICKLE) {
        char *s = shmc_frame_dup(f, NULL, src->len + 1); /* + NUL: usable as a C string */
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
    if (!len) {
        f->meta = NULL;
        f->meta_len = 0;
        return SHMC_OK;
    }
    f->meta = shmc_frame_dup(f, bytes, len);
    if (!f->meta) return SHMC_ERR_NOMEM;
    f->meta_len = len;
    return SHMC_OK;
}

int shmc_frame_set_index_freq(shmc_frame *f, const char *freq)
{
    if (!f) return SHMC_ERR_INVALID_ARG;
    if (!freq || !*freq) {
        f->freq = NULL;
        return SHMC_OK;
    }
    RETURN_ERROR_IF(shmc_index_freq_check(freq, strlen(freq)), &f->err, SHMC_ERR_INVALID_ARG,
                    "index freq '%.40s': not 1..%d ASCII letters, digits, '-', '+' or '_'", freq,
                    SHMC_FREQ_MAX);
    f->freq = dup_cstr(f, freq);
    return f->freq ? SHMC_OK : SHMC_ERR_NOMEM;
}

/* A sparse column: its values' kind, and a fill value of that kind (one row). */
static int sparse_desc_check(shmc_err *e, const shmc_column_desc *d, const char *what)
{
    RETURN_ERROR_IF(!shmc_sparse_subtype_ok(d->code_kind), e, SHMC_ERR_INVALID_ARG,
                    "%s: sparse code_kind %d is not bool..float64", what, d->code_kind);
    RETURN_ERROR_IF(!d->categories || d->ncategories != 1 || d->categories->kind != d->code_kind ||
                        !d->categories->values || d->categories->mask,
                    e, SHMC_ERR_INVALID_ARG,
                    "%s: a sparse column needs its fill value as categories: "
                    "one row of its code_kind, no mask",
                    what);
    RETURN_ERROR_IF(d->nsparse && (!d->values || !d->sparse_index), e, SHMC_ERR_INVALID_ARG,
                    "%s: values or sparse_index is NULL with nsparse %llu", what,
                    (unsigned long long)d->nsparse);
    return SHMC_OK;
}

/* Structural checks that need no row count (the buffers are checked at write). */
static int desc_check(shmc_err *e, const shmc_column_desc *d, const char *what, int is_dict)
{
    RETURN_ERROR_IF(d->kind < SHMC_KIND_BOOL || d->kind >= SHMC_KIND_COUNT_, e,
                    SHMC_ERR_INVALID_ARG, "%s: kind %d is not a shmc_kind", what, d->kind);
    uint32_t closed =
        d->kind == SHMC_KIND_INTERVAL ? SHMC_COL_CLOSED_LEFT | SHMC_COL_CLOSED_RIGHT : 0;
    RETURN_ERROR_IF(d->flags & ~(SHMC_COL_INDEX | SHMC_COL_ORDERED | closed), e,
                    SHMC_ERR_INVALID_ARG, "%s: flags 0x%x has unknown or writer-only bits", what,
                    d->flags);
    FORWARD_IF_ERROR(label_check(e, &d->label, what));
    /* An interval's bounds carry the time unit and zone of their kind. */
    int bound = d->kind == SHMC_KIND_INTERVAL ? d->code_kind : d->kind;
    RETURN_ERROR_IF(d->kind == SHMC_KIND_INTERVAL && !shmc_interval_subtype_ok(d->code_kind), e,
                    SHMC_ERR_INVALID_ARG,
                    "%s: interval code_kind %d is not int8..float64, datetime or "
                    "timedelta",
                    what, d->code_kind);
    RETURN_ERROR_IF(is_dict && (d->kind == SHMC_KIND_INTERVAL || d->kind == SHMC_KIND_SPARSE), e,
                    SHMC_ERR_INVALID_ARG, "%s: %s categories are not supported", what,
                    shmc_kind_name(d->kind));
    if (d->kind == SHMC_KIND_SPARSE) FORWARD_IF_ERROR(sparse_desc_check(e, d, what));
    int timed = bound == SHMC_KIND_DATETIME || bound == SHMC_KIND_TIMEDELTA;
    RETURN_ERROR_IF(timed && (d->unit < SHMC_UNIT_S || d->unit > SHMC_UNIT_NS), e,
                    SHMC_ERR_INVALID_ARG, "%s: unit %d is not s/ms/us/ns", what, d->unit);
    RETURN_ERROR_IF(d->tz && bound != SHMC_KIND_DATETIME, e, SHMC_ERR_INVALID_ARG,
                    "%s: tz given for a %s column", what, shmc_kind_name(d->kind));
    RETURN_ERROR_IF(d->mask && !shmc_kind_is_fixed(d->kind), e, SHMC_ERR_INVALID_ARG,
                    "%s: mask given for a %s column", what, shmc_kind_name(d->kind));
    if (d->kind == SHMC_KIND_CATEGORICAL) {
        RETURN_ERROR_IF(is_dict, e, SHMC_ERR_INVALID_ARG,
                        "%s: categories are themselves categorical", what);
        RETURN_ERROR_IF(d->code_kind < SHMC_KIND_INT8 || d->code_kind > SHMC_KIND_INT64, e,
                        SHMC_ERR_INVALID_ARG, "%s: code_kind %d is not int8..int64", what,
                        d->code_kind);
        RETURN_ERROR_IF(!d->categories, e, SHMC_ERR_INVALID_ARG, "%s: categories is NULL", what);
    }
    RETURN_ERROR_IF(
        d->kind == SHMC_KIND_PERIOD && !shmc_period_dtype_ok(d->dtype), e, SHMC_ERR_INVALID_ARG,
        "%s: a period column needs dtype \"period[<freq>]\" (freq 1..63 of [A-Za-z0-9-]), "
        "not \"%.80s\"",
        what, d->dtype ? d->dtype : "(null)");
    RETURN_ERROR_IF(is_dict && d->kind == SHMC_KIND_OBJECT, e, SHMC_ERR_INVALID_ARG,
                    "%s: object categories are not supported", what);
    if (d->kind == SHMC_KIND_OBJECT)
        RETURN_ERROR_IF(d->nblobs && (!d->blobs || !d->blob_lens), e, SHMC_ERR_INVALID_ARG,
                        "%s: blobs or blob_lens is NULL with nblobs %zu", what, d->nblobs);
    RETURN_ERROR_IF(d->arrow && d->kind != SHMC_KIND_ARROW && d->kind != SHMC_KIND_OBJECT, e,
                    SHMC_ERR_INVALID_ARG, "%s: an Arrow format given for a %s column", what,
                    shmc_kind_name(d->kind));
    if (d->kind == SHMC_KIND_ARROW) return shmc_frame_arrow_desc_check(e, d, what, is_dict);
    return SHMC_OK;
}

/* A categorical, a sparse column (its fill value) or a dictionary-encoded Arrow column:
 * written with a dictionary column. */
static int has_dictionary(const shmc_column_desc *d)
{
    return d->kind == SHMC_KIND_CATEGORICAL || d->kind == SHMC_KIND_SPARSE ||
           (d->kind == SHMC_KIND_ARROW && d->categories);
}

static int desc_copy(shmc_frame *f, shmc_column_desc *dst, const shmc_column_desc *src,
                     const char *what)
{
    *dst = *src;
    FORWARD_IF_ERROR(label_copy(f, &dst->label, &src->label, what));
    if (src->dtype && !(dst->dtype = dup_cstr(f, src->dtype))) return SHMC_ERR_NOMEM;
    if (src->tz && !(dst->tz = dup_cstr(f, src->tz))) return SHMC_ERR_NOMEM;
    if (src->arrow && !(dst->arrow = dup_cstr(f, src->arrow))) return SHMC_ERR_NOMEM;
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
    if (desc->kind == SHMC_KIND_CATEGORICAL || desc->kind == SHMC_KIND_SPARSE)
        FORWARD_IF_ERROR(desc_check(&f->err, desc->categories, what, 1));
    FORWARD_IF_ERROR(grow_cols(f));
    frame_col *c = calloc(1, sizeof *c);
    RETURN_ERROR_IF(!c, &f->err, SHMC_ERR_NOMEM, "frame: out of memory");
    c->what = what;
    int rc = desc_copy(f, &c->d, desc, what);
    if (rc == SHMC_OK && has_dictionary(desc)) {
        rc = desc_copy(f, &c->cat, desc->categories, what);
        c->cat.categories = NULL;
        c->d.categories = &c->cat;
    }
    if (rc != SHMC_OK) {
        free(c);
        return rc;
    }
    f->cols[f->ncols++] = c;
    return SHMC_OK;
}

/* ======================================================================== */
/* Plan of a write                                                           */
/* ======================================================================== */

/* Zero bits in [off, off + n) of an Arrow bitmap: the rows that are null. */
static uint64_t count_nulls_bits(const uint8_t *v, uint64_t off, uint64_t n)
{
    uint64_t ones = 0, i = 0;
    for (; i < n && ((off + i) & 7); i++) ones += shmc_bit_get(v, off + i);
    for (; i + 8 <= n; i += 8) ones += (uint64_t)__builtin_popcount((unsigned)v[(off + i) >> 3]);
    for (; i < n; i++) ones += shmc_bit_get(v, off + i);
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

/* Missing values pandas sees in an unmasked float (NaN) or time (NaT) column
 * (an interval is missing where its left bound is). */
static uint64_t count_nan_nat(const shmc_column_desc *d, uint64_t n)
{
    uint64_t k = 0;
    if (d->mask || !d->values) return 0;
    int kind = d->kind == SHMC_KIND_INTERVAL ? d->code_kind : d->kind;
    if (kind == SHMC_KIND_FLOAT64)
        for (uint64_t i = 0; i < n; i++) {
            double x;
            memcpy(&x, (const char *)d->values + 8 * i, 8);
            k += x != x;
        }
    else if (kind == SHMC_KIND_FLOAT32)
        for (uint64_t i = 0; i < n; i++) {
            float x;
            memcpy(&x, (const char *)d->values + 4 * i, 4);
            k += x != x;
        }
    else if (kind == SHMC_KIND_DATETIME || kind == SHMC_KIND_TIMEDELTA || kind == SHMC_KIND_PERIOD)
        for (uint64_t i = 0; i < n; i++) {
            int64_t x;
            memcpy(&x, (const char *)d->values + 8 * i, 8);
            k += x == INT64_MIN;
        }
    return k;
}

void shmc_frame_sparse_span(const shmc_column_desc *d, uint64_t row0, uint64_t n, uint64_t *a,
                            uint64_t *b)
{
    uint64_t bounds[2] = {row0, row0 + n}, out[2];
    for (int k = 0; k < 2; k++) {
        uint64_t lo = 0, hi = d->nsparse; /* first entry whose row >= bounds[k] */
        while (lo < hi) {
            uint64_t mid = lo + (hi - lo) / 2;
            if ((uint64_t)d->sparse_index[mid] < bounds[k]) lo = mid + 1;
            else hi = mid;
        }
        out[k] = lo;
    }
    *a = out[0];
    *b = out[1];
}

static int is_nan_at(const void *p, int kind, uint64_t i)
{
    if (kind == SHMC_KIND_FLOAT64) {
        double x;
        memcpy(&x, (const char *)p + 8 * i, 8);
        return x != x;
    }
    if (kind == SHMC_KIND_FLOAT32) {
        float x;
        memcpy(&x, (const char *)p + 4 * i, 4);
        return x != x;
    }
    return 0;
}

/* Sorted, in range, int32-addressable; nulls = NaN values + the fill's rows if NaN. */
static int check_sparse(shmc_err *e, const shmc_column_desc *d, uint64_t n, const char *what,
                        uint64_t *nulls)
{
    RETURN_ERROR_IF(n > (uint64_t)INT32_MAX + 1, e, SHMC_ERR_LIMIT,
                    "%s: %llu rows: sparse row numbers are int32", what, (unsigned long long)n);
    RETURN_ERROR_IF(d->nsparse > n, e, SHMC_ERR_INVALID_ARG, "%s: nsparse %llu for %llu rows", what,
                    (unsigned long long)d->nsparse, (unsigned long long)n);
    for (uint64_t i = 0; i < d->nsparse; i++) {
        int64_t r = d->sparse_index[i], prev = i ? d->sparse_index[i - 1] : -1;
        RETURN_ERROR_IF(r <= prev || (uint64_t)r >= n, e, SHMC_ERR_INVALID_ARG,
                        "%s: sparse_index[%llu] = %lld is not after %lld and below %llu", what,
                        (unsigned long long)i, (long long)r, (long long)prev,
                        (unsigned long long)n);
        *nulls += (uint64_t)is_nan_at(d->values, d->code_kind, i);
    }
    if (is_nan_at(d->categories->values, d->code_kind, 0)) *nulls += n - d->nsparse;
    return SHMC_OK;
}

/* Buffers present and consistent for n rows; counts nulls as pandas' isna() does. */
static int check_buffers(shmc_err *e, const shmc_column_desc *d, uint64_t n, const char *what,
                         uint64_t *nulls)
{
    *nulls = 0;
    if (d->kind == SHMC_KIND_ARROW) return shmc_frame_arrow_buffers_check(e, d, n, what, nulls);
    RETURN_ERROR_IF(d->kind == SHMC_KIND_INTERVAL && n && !d->right, e, SHMC_ERR_INVALID_ARG,
                    "%s: right is NULL", what);
    if (d->kind == SHMC_KIND_SPARSE) return check_sparse(e, d, n, what, nulls);
    if (shmc_kind_is_fixed(d->kind) || d->kind == SHMC_KIND_CATEGORICAL ||
        d->kind == SHMC_KIND_PERIOD || d->kind == SHMC_KIND_INTERVAL) {
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
        RETURN_ERROR_IF(d->offsets[0] < 0, e, SHMC_ERR_INVALID_ARG, "%s: offsets[0] is negative",
                        what);
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
    for (uint32_t i = 0; i < f->ncols; i++) ndict += has_dictionary(&f->cols[i]->d) ? 1u : 0u;
    w->ncols = f->ncols + ndict;
    w->cols = calloc(w->ncols ? w->ncols : 1, sizeof *w->cols);
    RETURN_ERROR_IF(!w->cols, &f->err, SHMC_ERR_NOMEM, "writer: out of memory");
    uint32_t next_dict = f->ncols;
    for (uint32_t i = 0; i < f->ncols; i++) {
        const frame_col *fc = f->cols[i];
        FORWARD_IF_ERROR(plan_column(w, i, &fc->d, f->nrows, fc->what, fc->d.flags));
        if (!has_dictionary(&fc->d)) continue;
        w->cols[i].dict_column = next_dict;
        FORWARD_IF_ERROR(
            plan_column(w, next_dict, &fc->cat, fc->d.ncategories, fc->what, SHMC_COL_DICTIONARY));
        next_dict++;
    }
    return SHMC_OK;
}

static uint64_t role_raw_len(const shmc_column_desc *d, int role, uint64_t row0, uint64_t n,
                             uint32_t rg)
{
    if (d->kind == SHMC_KIND_ARROW) return shmc_frame_arrow_raw_len(d, role, row0, n);
    if (d->kind == SHMC_KIND_SPARSE) { /* the entries that fall in the row group */
        uint64_t a, b;
        shmc_frame_sparse_span(d, row0, n, &a, &b);
        return (b - a) * shmc_role_typesize(d->kind, d->code_kind, role);
    }
    switch (role) {
    case SHMC_ROLE_VALUES:
    case SHMC_ROLE_RIGHT: return n * shmc_role_typesize(d->kind, d->code_kind, role);
    case SHMC_ROLE_MASK: return n;
    case SHMC_ROLE_OFFSETS: return (n + 1) * 8;
    case SHMC_ROLE_DATA: return (uint64_t)(d->offsets[row0 + n] - d->offsets[row0]);
    case SHMC_ROLE_VALIDITY: return (n + 7) / 8;
    default: return d->blob_lens[rg];
    }
}

static int role_present(const shmc_column_desc *d, int role, uint64_t row0, uint64_t n)
{
    if (d->kind == SHMC_KIND_ARROW) return shmc_frame_arrow_role_present(d, role, row0, n);
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
                wjob j = {.d = col->d,
                          .column = c,
                          .rowgroup = (uint32_t)rg,
                          .role = role,
                          .row_start = row0,
                          .nrows = n};
                j.raw_len = role_raw_len(col->d, role, row0, n, (uint32_t)rg);
                j.typesize = col->d->kind == SHMC_KIND_ARROW
                                 ? shmc_frame_arrow_typesize(col->d, role)
                                 : shmc_role_typesize(col->d->kind, col->d->code_kind, role);
                j.stored_len = j.raw_len;
                FORWARD_IF_ERROR(push_job(w, &j));
            }
        }
    }
    return SHMC_OK;
}

int shmc_frame_plan(writer *w)
{
    FORWARD_IF_ERROR(plan_columns(w));
    return plan_jobs(w);
}
