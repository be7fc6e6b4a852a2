/* pandas arrays -> columns where arrays nest: the dispatch over every array the
 * recogniser knows (pf_values), NDArrayBacked extension arrays, categoricals,
 * intervals and sparse arrays, and the values of an Index or a MultiIndex. One
 * file because the recursion is: a categorical's categories are an Index, and an
 * Index holds any of these arrays. The leaves (arrays and dtypes with nothing
 * nested) are in pickle_frame_arrays.c. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "format.h"
#include "pickle_frame_int.h"

/* ---- values -> columns --------------------------------------------------- */

static int pf_categorical(pf_ctx *C, const shmc_pk_value *dtype, const shmc_pk_value *codes,
                          pf_col *col, int nest)
{
    if (!pf_pd(pf_callee(dtype), "CategoricalDtype"))
        return pf_unsupported(C, dtype, "a CategoricalDtype");
    pf_col cats;
    memset(&cats, 0, sizeof cats);
    shmc_label ignored;
    const shmc_pk_value *cat_index = shmc_pk_dict_get(shmc_pk_state(dtype), "categories");
    FORWARD_IF_ERROR(pf_index_col(C, cat_index, &cats, &ignored, nest + 1));
    if (cats.d.kind == SHMC_KIND_CATEGORICAL || cats.d.kind == SHMC_KIND_INTERVAL ||
        cats.d.kind == SHMC_KIND_ARROW)
        return pf_unsupported(C, dtype,
                              "categories of a categorical (categorical, interval or Arrow "
                              "categories)");
    FORWARD_IF_ERROR(pf_ndarray_cols(C, codes, col, 1));
    int ck = col->d.kind;
    if (ck < SHMC_KIND_INT8 || ck > SHMC_KIND_INT64)
        return pf_fail(C, SHMC_ERR_PICKLE, codes, "categorical codes are %s, not signed ints",
                       col->dtype);
    col->cats = cats.d;
    memcpy(col->cat_dtype, cats.dtype, sizeof col->cat_dtype);
    memcpy(col->cat_tz, cats.tz, sizeof col->cat_tz);
    col->cats.dtype = col->cat_dtype;
    col->cats.tz = cats.d.tz ? col->cat_tz : NULL;
    col->d.kind = SHMC_KIND_CATEGORICAL;
    col->d.code_kind = ck;
    col->d.categories = &col->cats;
    col->d.ncategories = cats.nrows;
    const shmc_pk_value *ordered = shmc_pk_dict_get(shmc_pk_state(dtype), "ordered");
    if (ordered && ordered->type == SHMC_PK_BOOL && ordered->v.i) col->d.flags |= SHMC_COL_ORDERED;
    snprintf(col->dtype, sizeof col->dtype, "category");
    return SHMC_OK;
}

/* __pyx_unpickle_NDArrayBacked(cls, checksum, None) + BUILD (dtype, ndarray, attrs). */
static int pf_ndarray_backed(pf_ctx *C, const shmc_pk_value *v, pf_col *cols, uint64_t k, int nest)
{
    const shmc_pk_value *cls = pf_arg(v, 0), *st = shmc_pk_state(v);
    const shmc_pk_value *dtype = shmc_pk_item(st, 0), *arr = shmc_pk_item(st, 1);
    if (!st || st->type != SHMC_PK_TUPLE || !arr)
        return pf_unsupported(C, v, "an NDArrayBacked state");
    if (pf_pd(cls, "DatetimeArray")) return pf_datetime_cols(C, dtype, arr, cols, k);
    if (pf_pd(cls, "TimedeltaArray")) return pf_ndarray_cols(C, arr, cols, k);
    if (k != 1)
        return pf_fail(C, SHMC_ERR_PICKLE, v, "1-D extension array placed in %llu columns",
                       (unsigned long long)k);
    if (pf_pd(cls, "Categorical")) return pf_categorical(C, dtype, arr, cols, nest);
    if (pf_pd(cls, "PeriodArray")) return pf_period(C, dtype, arr, cols);
    if (pf_pd(cls, "StringArray")) {
        FORWARD_IF_ERROR(pf_ndarray_cols(C, arr, cols, 1));
        if (cols->d.kind != SHMC_KIND_STRING) return pf_unsupported(C, arr, "StringArray data");
        return pf_string_dtype(C, dtype, cols->dtype, sizeof cols->dtype);
    }
    return pf_unsupported(C, cls, "a pandas array");
}

/* IntervalArray: REDUCE(__pyx_unpickle_IntervalMixin, (IntervalArray, checksum, None)) +
 * BUILD ({_left, _right, _dtype},) on pandas 2.2 and 3.x; each bound is any array
 * pf_values reads (ndarray, zoned DatetimeArray). */
static int pf_interval(pf_ctx *C, const shmc_pk_value *v, pf_col *col, int nest)
{
    const shmc_pk_value *st = shmc_pk_state(v);
    if (st && st->type == SHMC_PK_TUPLE && shmc_pk_len(st) == 1) st = shmc_pk_item(st, 0);
    if (!pf_pd(pf_arg(v, 0), "IntervalArray") || !st || st->type != SHMC_PK_DICT)
        return pf_unsupported(C, v, "an IntervalArray");
    uint32_t flags = 0;
    FORWARD_IF_ERROR(pf_closed(C, shmc_pk_dict_get(st, "_dtype"), &flags));
    pf_col b[2];
    memset(b, 0, sizeof b);
    FORWARD_IF_ERROR(pf_values(C, shmc_pk_dict_get(st, "_left"), &b[0], 1, nest + 1));
    FORWARD_IF_ERROR(pf_values(C, shmc_pk_dict_get(st, "_right"), &b[1], 1, nest + 1));
    return pf_interval_of(C, v, b, flags, col);
}

/* An IntervalIndex: REDUCE(_new_IntervalIndex, (IntervalIndex, {left: Index, right:
 * Index, closed: str, name})) on pandas 2.2 and 3.x; the bounds are any Index
 * pf_index_col reads. */
static int pf_interval_index(pf_ctx *C, const shmc_pk_value *v, pf_col *col, int nest)
{
    const shmc_pk_value *d = pf_arg(v, 1);
    uint32_t flags = 0;
    FORWARD_IF_ERROR(pf_closed_name(C, shmc_pk_dict_get(d, "closed"), v, &flags));
    pf_col b[2];
    memset(b, 0, sizeof b);
    shmc_label unused;
    FORWARD_IF_ERROR(pf_index_col(C, shmc_pk_dict_get(d, "left"), &b[0], &unused, nest + 1));
    FORWARD_IF_ERROR(pf_index_col(C, shmc_pk_dict_get(d, "right"), &b[1], &unused, nest + 1));
    return pf_interval_of(C, v, b, flags, col);
}

/* SparseArray: NEWOBJ + BUILD {_sparse_index, _sparse_values, _dtype} (pandas 2.2, 3.x). */
static int pf_sparse(pf_ctx *C, const shmc_pk_value *v, pf_col *col, int nest)
{
    const shmc_pk_value *st = shmc_pk_state(v);
    pf_col vals;
    memset(&vals, 0, sizeof vals);
    FORWARD_IF_ERROR(pf_values(C, shmc_pk_dict_get(st, "_sparse_values"), &vals, 1, nest + 1));
    if (!shmc_sparse_subtype_ok(vals.d.kind) || vals.d.mask)
        return pf_fail(C, SHMC_ERR_UNSUPPORTED, v,
                       "sparse values %s (bool, int or float values are read)", vals.dtype);
    int64_t length = 0;
    const int32_t *rows = NULL;
    uint64_t n = vals.nrows;
    FORWARD_IF_ERROR(pf_sparse_index(C, shmc_pk_dict_get(st, "_sparse_index"), n, &length, &rows));
    char fill[40];
    void *fbuf;
    FORWARD_IF_ERROR(
        pf_fill(C, shmc_pk_dict_get(st, "_dtype"), vals.d.kind, &fbuf, fill, sizeof fill));
    col->cats = (shmc_column_desc){.kind = vals.d.kind, .values = fbuf};
    memcpy(col->cat_dtype, vals.dtype, sizeof col->cat_dtype);
    col->cats.dtype = col->cat_dtype;
    col->d.kind = SHMC_KIND_SPARSE;
    col->d.code_kind = vals.d.kind;
    col->d.values = vals.d.values;
    col->d.sparse_index = rows;
    col->d.nsparse = n;
    col->d.categories = &col->cats;
    col->d.ncategories = 1;
    col->nrows = (uint64_t)length;
    snprintf(col->dtype, sizeof col->dtype, "Sparse[%.30s, %s]", vals.dtype, fill);
    return SHMC_OK;
}

/* Any array a block, an Index or a dtype can hold -> k columns. */
int pf_values(pf_ctx *C, const shmc_pk_value *v, pf_col *cols, uint64_t k, int nest)
{
    if (nest > PF_MAX_NEST) return pf_unsupported(C, v, "deeply nested values");
    if (pf_is_ndarray(v)) return pf_ndarray_cols(C, v, cols, k);
    const shmc_pk_value *f = pf_callee(v);
    if (v && v->type == SHMC_PK_REDUCE && pf_pd(f, "__pyx_unpickle_NDArrayBacked"))
        return pf_ndarray_backed(C, v, cols, k, nest);
    if (v && v->type == SHMC_PK_REDUCE && pf_pd(f, "__pyx_unpickle_IntervalMixin") && k == 1)
        return pf_interval(C, v, cols, nest);
    if (v && v->type == SHMC_PK_NEWOBJ && k == 1) {
        if (pf_pd(f, "IntegerArray")) return pf_masked(C, v, cols, "IntegerArray");
        if (pf_pd(f, "FloatingArray")) return pf_masked(C, v, cols, "FloatingArray");
        if (pf_pd(f, "BooleanArray")) return pf_masked(C, v, cols, "BooleanArray");
        if (pf_pd(f, "SparseArray")) return pf_sparse(C, v, cols, nest);
        if (pf_pd(f, "ArrowStringArray") || pf_pd(f, "ArrowStringArrayNumpySemantics"))
            return pf_arrow_string_array(C, v, cols);
        if (pf_pd(f, "ArrowExtensionArray")) return pf_arrow_extension(C, v, cols);
    }
    return pf_unsupported(C, v, "column values");
}

int pf_range_len(pf_ctx *C, const pf_index *ix, uint64_t *n)
{
    if (ix->step == 0) return pf_fail(C, SHMC_ERR_PICKLE, ix->node, "RangeIndex step is 0");
    __int128 span = (__int128)ix->stop - ix->start;
    __int128 cnt =
        ix->step > 0 ? (span + ix->step - 1) / ix->step : (span + ix->step + 1) / ix->step;
    *n = cnt > 0 ? (uint64_t)cnt : 0;
    return SHMC_OK;
}

static int pf_multi_read(pf_ctx *C, const shmc_pk_value *d, pf_index *ix, int nest);

/* _new_Index(cls, {...}) / _new_DatetimeIndex(cls, {...}) / _new_IntervalIndex(cls,
 * {...}): a RangeIndex, or values. */
int pf_index_read(pf_ctx *C, const shmc_pk_value *v, pf_index *ix, pf_col *col, int nest)
{
    memset(ix, 0, sizeof *ix);
    ix->node = v;
    /* an IntervalIndex's bounds are indexes: a stream can make one its own bound */
    if (nest > PF_MAX_NEST) return pf_unsupported(C, v, "deeply nested indexes");
    const shmc_pk_value *f = pf_callee(v), *cls = pf_arg(v, 0), *d = pf_arg(v, 1);
    int iv = pf_pd(f, "_new_IntervalIndex");
    if (!v || v->type != SHMC_PK_REDUCE ||
        !(iv || pf_pd(f, "_new_Index") || pf_pd(f, "_new_DatetimeIndex") ||
          pf_pd(f, "_new_TimedeltaIndex")) ||
        !d || d->type != SHMC_PK_DICT)
        return pf_unsupported(C, v, "an index");
    FORWARD_IF_ERROR(pf_label(C, shmc_pk_dict_get(d, "name"), &ix->name));
    if (iv) {
        if (!pf_pd(cls, "IntervalIndex")) return pf_unsupported(C, cls, "an interval index class");
        return pf_interval_index(C, v, col, nest);
    }
    if (pf_pd(cls, "RangeIndex")) {
        ix->is_range = 1;
        if (!pf_int(shmc_pk_dict_get(d, "start"), &ix->start) ||
            !pf_int(shmc_pk_dict_get(d, "stop"), &ix->stop) ||
            !pf_int(shmc_pk_dict_get(d, "step"), &ix->step))
            return pf_fail(C, SHMC_ERR_PICKLE, v, "RangeIndex without int start/stop/step");
        return SHMC_OK;
    }
    if (pf_pd(cls, "MultiIndex")) return pf_multi_read(C, d, ix, nest);
    static const char *const plain[] = {"Index",          "Int64Index",       "UInt64Index",
                                        "Float64Index",   "NumericIndex",     "DatetimeIndex",
                                        "TimedeltaIndex", "CategoricalIndex", "PeriodIndex"};
    for (size_t i = 0; i < sizeof plain / sizeof *plain; i++)
        if (pf_pd(cls, plain[i]))
            return pf_values(C, shmc_pk_dict_get(d, "data"), col, 1, nest + 1);
    return pf_unsupported(C, cls, "an index class");
}

/* An index as one column (categories): RangeIndex materialised as int64. */
int pf_index_col(pf_ctx *C, const shmc_pk_value *idx, pf_col *col, shmc_label *name, int nest)
{
    if (pf_pd(pf_arg(idx, 0), "MultiIndex")) /* read only as the row index */
        return pf_unsupported(C, pf_arg(idx, 0),
                              "categories (a MultiIndex is read as the row index "
                              "or as column labels)");
    pf_index ix;
    FORWARD_IF_ERROR(pf_index_read(C, idx, &ix, col, nest));
    *name = ix.name;
    if (!ix.is_range) return SHMC_OK;
    uint64_t n;
    int64_t *vals;
    FORWARD_IF_ERROR(pf_range_len(C, &ix, &n));
    if (n > SIZE_MAX / 8) return pf_fail(C, SHMC_ERR_LIMIT, idx, "RangeIndex too long");
    FORWARD_IF_ERROR(pf_own(C, (size_t)n * 8, (void **)&vals));
    /* i < n keeps every value inside [start, stop): computed modulo 2^64 so the
     * intermediate product (3 * 2^62 from -2^63) cannot overflow */
    for (uint64_t i = 0; i < n; i++)
        vals[i] = (int64_t)((uint64_t)ix.start + i * (uint64_t)ix.step);
    col->d.kind = SHMC_KIND_INT64;
    col->d.values = vals;
    col->nrows = n;
    snprintf(col->dtype, sizeof col->dtype, "int64");
    return SHMC_OK;
}

/* ---- MultiIndex levels ---------------------------------------------------- */
/* Code j of a 1-D integer codes array (any width, either byte order). The item
 * size comes from pf_dtypes (1, 2, 4 or 8), so it always fits b. */
int64_t pf_code_at(const pf_arr *a, uint64_t j)
{
    uint8_t b[8] = {0};
    uint32_t s = a->dt.itemsize;
    if (s > sizeof b) return INT64_MIN; /* unreachable: refused by pf_dtype_parse */
    memcpy(b, a->data + (size_t)j * s, s);
    if (a->dt.swap) pf_swap(b, 1, s);
    if (s == 1) return (int8_t)b[0];
    if (s == 2) {
        int16_t v;
        memcpy(&v, b, 2);
        return v;
    }
    if (s == 4) {
        int32_t v;
        memcpy(&v, b, 4);
        return v;
    }
    int64_t v;
    memcpy(&v, b, 8);
    return v;
}

int pf_codes(pf_ctx *C, const shmc_pk_value *v, uint64_t level, uint64_t nvals, pf_arr *a)
{
    FORWARD_IF_ERROR(pf_array(C, v, a));
    if (a->ndim != 1 || a->dt.kind != 'i')
        return pf_fail(C, SHMC_ERR_PICKLE, v,
                       "MultiIndex level %llu: codes are not a 1-D integer array",
                       (unsigned long long)level);
    for (uint64_t j = 0; j < a->dims[0]; j++) {
        int64_t c = pf_code_at(a, j);
        if (c < -1 || (c >= 0 && (uint64_t)c >= nvals))
            return pf_fail(C, SHMC_ERR_PICKLE, v,
                           "MultiIndex level %llu: code %lld at row %llu is "
                           "outside its %llu values",
                           (unsigned long long)level, (long long)c, (unsigned long long)j,
                           (unsigned long long)nvals);
    }
    return SHMC_OK;
}

/* Strings of the level taken by codes; code -1 (a missing label) becomes a null,
 * which get_level_values() spells NaN in an object level. */
static int pf_take_strings(pf_ctx *C, const pf_col *lev, const pf_arr *a, pf_col *out)
{
    const shmc_column_desc *d = &lev->d;
    uint64_t n = a->dims[0], total = 0, nulls = 0;
    for (uint64_t j = 0; j < n; j++) {
        int64_t c = pf_code_at(a, j);
        if (c < 0 || !pf_valid_bit(d, (uint64_t)c)) nulls++;
        else
            FORWARD_IF_ERROR(
                pf_add_len(C, &total, (uint64_t)(d->offsets[c + 1] - d->offsets[c]), a->node));
    }
    int64_t *off;
    uint8_t *data, *valid;
    FORWARD_IF_ERROR(pf_string_bufs(C, n, total, nulls, &off, &data, &valid));
    uint64_t pos = 0;
    for (uint64_t j = 0; j < n; j++) {
        int64_t c = pf_code_at(a, j);
        if (c >= 0 && pf_valid_bit(d, (uint64_t)c)) {
            size_t len = (size_t)(d->offsets[c + 1] - d->offsets[c]);
            if (len) memcpy(data + pos, d->data + d->offsets[c], len);
            pos += len;
            if (valid) valid[j >> 3] |= (uint8_t)(1u << (j & 7));
        }
        off[j + 1] = (int64_t)pos;
    }
    out->d.offsets = off;
    out->d.data = data;
    out->d.validity = valid;
    out->d.validity_offset = 0;
    if (nulls && !strcmp(out->dtype, "object")) {
        out->miss |= PF_MISS_NAN;
        if (out->miss == PF_MISS_NAN) snprintf(out->dtype, sizeof out->dtype, "object[nan]");
    }
    return SHMC_OK;
}

/* What a missing label (code -1) becomes in a fixed-width level: NaN, NaT, or a
 * masked slot; 0 for int and bool levels, where get_level_values() changes the
 * dtype (float, object), so no column type brings the index back exactly. */
static int pf_missing_fill(const shmc_column_desc *d, uint8_t *slot, size_t s)
{
    if (d->mask) return 1;
    if (d->kind == SHMC_KIND_FLOAT64) {
        double v = NAN;
        memcpy(slot, &v, 8);
        return 1;
    }
    if (d->kind == SHMC_KIND_FLOAT32) {
        float v = NAN;
        memcpy(slot, &v, 4);
        return 1;
    }
    if (d->kind == SHMC_KIND_DATETIME || d->kind == SHMC_KIND_TIMEDELTA ||
        d->kind == SHMC_KIND_PERIOD) {
        int64_t nat = INT64_MIN;
        memcpy(slot, &nat, s);
        return 1;
    }
    return 0;
}

static int pf_take_fixed(pf_ctx *C, const pf_col *lev, const pf_arr *a, uint64_t level, pf_col *out)
{
    const shmc_column_desc *d = &lev->d;
    size_t s = shmc_kind_itemsize(d->kind);
    uint64_t n = a->dims[0];
    if (!s || n > SIZE_MAX / s) return pf_unsupported(C, a->node, "a MultiIndex level");
    uint8_t *vals, *mask = NULL;
    FORWARD_IF_ERROR(pf_own(C, (size_t)n * s, (void **)&vals));
    if (d->mask) FORWARD_IF_ERROR(pf_own(C, (size_t)n, (void **)&mask));
    for (uint64_t j = 0; j < n; j++) {
        int64_t c = pf_code_at(a, j);
        if (c >= 0) {
            memcpy(vals + j * s, (const uint8_t *)d->values + (size_t)c * s, s);
            if (mask) mask[j] = d->mask[c];
            continue;
        }
        memset(vals + j * s, 0, s);
        if (mask) mask[j] = 1;
        if (!pf_missing_fill(d, vals + j * s, s))
            return pf_fail(
                C, SHMC_ERR_UNSUPPORTED, a->node,
                "MultiIndex level %llu (%s) has a missing "
                "label at row %llu, which pandas shows as NaN in another dtype; not read",
                (unsigned long long)level, lev->dtype, (unsigned long long)j);
    }
    out->d.values = vals;
    out->d.mask = mask;
    return SHMC_OK;
}

/* One level: its values (an index pickle) taken by its codes, as get_level_values(). */
static int pf_level(pf_ctx *C, const shmc_pk_value *lv, const shmc_pk_value *cv, uint64_t level,
                    int nest, pf_col *out)
{
    if (pf_pd(pf_arg(lv, 0), "CategoricalIndex"))
        return pf_unsupported(C, pf_arg(lv, 0),
                              "a MultiIndex level (categorical levels are not read)");
    pf_col lev;
    shmc_label ignored;
    memset(&lev, 0, sizeof lev);
    FORWARD_IF_ERROR(pf_index_col(C, lv, &lev, &ignored, nest + 1));
    pf_arr a;
    FORWARD_IF_ERROR(pf_codes(C, cv, level, lev.nrows, &a));
    *out = lev;
    out->nrows = a.dims[0];
    if (lev.d.tz) out->d.tz = out->tz;
    if (lev.d.kind == SHMC_KIND_STRING) return pf_take_strings(C, &lev, &a, out);
    if (lev.d.kind == SHMC_KIND_CATEGORICAL || lev.d.kind == SHMC_KIND_OBJECT ||
        lev.d.kind == SHMC_KIND_ARROW)
        return pf_unsupported(C, lv,
                              "a MultiIndex level (categorical and Arrow levels are not read)");
    return pf_take_fixed(C, &lev, &a, level, out);
}

int pf_multi_parts(pf_ctx *C, const shmc_pk_value *d, const shmc_pk_value *at, pf_multi *m)
{
    m->levels = shmc_pk_dict_get(d, "levels");
    m->codes = shmc_pk_dict_get(d, "codes");
    m->names = shmc_pk_dict_get(d, "names");
    const shmc_pk_value *parts[3] = {m->levels, m->codes, m->names};
    static const char *const what[3] = {"MultiIndex levels (a list is read)",
                                        "MultiIndex codes (a list is read)",
                                        "MultiIndex names (a list is read)"};
    for (int i = 0; i < 3; i++)
        if (parts[i] && !pf_is_list(parts[i])) return pf_unsupported(C, parts[i], what[i]);
    m->n = shmc_pk_len(m->levels);
    if (m->n == 0 || m->n > PF_MAX_LEVELS || shmc_pk_len(m->codes) != m->n ||
        (m->names && shmc_pk_len(m->names) != m->n))
        return pf_fail(C, SHMC_ERR_PICKLE, at,
                       "MultiIndex with %llu levels, %llu codes and "
                       "%llu names (1..%d levels with one codes array and name each are read)",
                       (unsigned long long)m->n, (unsigned long long)shmc_pk_len(m->codes),
                       (unsigned long long)shmc_pk_len(m->names), PF_MAX_LEVELS);
    return SHMC_OK;
}

/* Every level must cover as many rows (or columns) as level 0. */
int pf_level_rows(pf_ctx *C, const shmc_pk_value *at, uint64_t l, uint64_t rows, uint64_t rows0)
{
    if (rows == rows0) return SHMC_OK;
    return pf_fail(C, SHMC_ERR_PICKLE, at, "MultiIndex level %llu has %llu labels, level 0 %llu",
                   (unsigned long long)l, (unsigned long long)rows, (unsigned long long)rows0);
}

static int pf_multi_read(pf_ctx *C, const shmc_pk_value *d, pf_index *ix, int nest)
{
    pf_multi m;
    FORWARD_IF_ERROR(pf_multi_parts(C, d, ix->node, &m));
    uint64_t n = m.n;
    FORWARD_IF_ERROR(pf_own(C, (size_t)n * sizeof *ix->levels, (void **)&ix->levels));
    FORWARD_IF_ERROR(pf_own(C, (size_t)n * sizeof *ix->names, (void **)&ix->names));
    memset(ix->levels, 0, (size_t)n * sizeof *ix->levels);
    for (uint64_t i = 0; i < n; i++) {
        FORWARD_IF_ERROR(pf_label(C, m.names ? shmc_pk_item(m.names, i) : NULL, &ix->names[i]));
        FORWARD_IF_ERROR(pf_level(C, shmc_pk_item(m.levels, i), shmc_pk_item(m.codes, i), i, nest,
                                  &ix->levels[i]));
        FORWARD_IF_ERROR(pf_level_rows(C, ix->node, i, ix->levels[i].nrows, ix->levels[0].nrows));
    }
    ix->nlevels = n;
    return SHMC_OK;
}
