/* The recogniser's leaves: one pandas or pyarrow array, or one dtype, turned into
 * column descriptors with nothing nested inside it -- numpy-backed arrays and
 * their dtypes (bool, numbers, datetimes with zones, periods), masked arrays,
 * ArrowStringArray (its pyarrow array read by pickle_frame_arrow.c, offsets widened
 * here), interval bounds' closed side and a sparse array's Int/BlockIndex and fill value. pickle_frame_pandas.c dispatches to these and
 * recurses where arrays nest; calls go from there to here only. */
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include "format.h"
#include "pickle_frame_int.h"

/* A pyarrow string array (read and checked by pickle_frame_arrow.c) as a string
 * column: int32 offsets widened, misaligned int64 ones copied, into owned int64. */
static int pf_arrow(pf_ctx *C, const shmc_pk_value *v, pf_col *col)
{
    uint32_t w;
    FORWARD_IF_ERROR(pf_pa_strings(C, v, &col->d, &col->nrows, &w));
    const uint8_t *p = (const uint8_t *)(const void *)col->d.offsets;
    col->d.kind = SHMC_KIND_STRING;
    if (w == 8 && (uintptr_t)p % 8 == 0) return SHMC_OK;
    int64_t *o;
    FORWARD_IF_ERROR(pf_own(C, (size_t)(col->nrows + 1) * 8, (void **)&o));
    for (uint64_t i = 0; i <= col->nrows; i++) {
        int32_t y;
        if (w == 8) memcpy(&o[i], p + i * 8, 8);
        else memcpy(&y, p + i * 4, 4), o[i] = y;
    }
    col->d.offsets = o;
    return SHMC_OK;
}

/* StringDtype: NEWOBJ + BUILD {storage[, na_value]} (pandas 1.5/2.x) or
 * REDUCE(StringDtype, (storage, na_value)) (pandas 3). */
int pf_string_dtype(pf_ctx *C, const shmc_pk_value *v, char *out, size_t cap)
{
    if (!pf_pd(pf_callee(v), "StringDtype")) return pf_unsupported(C, v, "a pandas StringDtype");
    const shmc_pk_value *storage = shmc_pk_dict_get(shmc_pk_state(v), "storage");
    const shmc_pk_value *na = shmc_pk_dict_get(shmc_pk_state(v), "_na_value");
    if (!storage) storage = pf_arg(v, 0);
    if (!na) na = shmc_pk_dict_get(shmc_pk_state(v), "na_value");
    if (!na) na = pf_arg(v, 1);
    int nan = na && na->type == SHMC_PK_FLOAT && isnan(na->v.f);
    if (shmc_pk_str_eq(storage, "pyarrow_numpy") || (shmc_pk_str_eq(storage, "pyarrow") && nan))
        snprintf(out, cap, "str");
    else if (shmc_pk_str_eq(storage, "pyarrow")) snprintf(out, cap, "string[pyarrow]");
    else if (shmc_pk_str_eq(storage, "python"))
        snprintf(out, cap, nan ? "str[python]" : "string[python]");
    else return pf_unsupported(C, storage, "a StringDtype storage");
    return SHMC_OK;
}

/* Time zone name from datetime.timezone.utc, pytz or zoneinfo objects. */
static int pf_tz_name(pf_ctx *C, const shmc_pk_value *v, char *out, size_t cap)
{
    const shmc_pk_value *f = pf_callee(v), *key = NULL;
    if (v && v->type == SHMC_PK_STR) key = v;
    else if (shmc_pk_is_global(f, "pytz", "_UTC")) key = NULL, snprintf(out, cap, "UTC");
    else if (shmc_pk_is_global(f, "pytz", "_p")) key = pf_arg(v, 0);
    else if (shmc_pk_is_global(f, "zoneinfo", "ZoneInfo._unpickle")) key = pf_arg(v, 0);
    else if (f && f->type == SHMC_PK_REDUCE && pf_builtin(pf_callee(f), "getattr") &&
             shmc_pk_is_global(pf_arg(f, 0), "zoneinfo", "ZoneInfo") &&
             shmc_pk_str_eq(pf_arg(f, 1), "_unpickle"))
        key = pf_arg(v, 0);
    else if (shmc_pk_is_global(f, "datetime", "timezone") && pf_nargs(v) == 1) {
        const shmc_pk_value *td = pf_arg(v, 0);
        int64_t d = 1, s = 1, us = 1;
        if (!shmc_pk_is_global(pf_callee(td), "datetime", "timedelta") ||
            !pf_int(pf_arg(td, 0), &d) || !pf_int(pf_arg(td, 1), &s) ||
            !pf_int(pf_arg(td, 2), &us) || d || s || us)
            return pf_unsupported(C, v, "a time zone (fixed offsets other than UTC are not read)");
        snprintf(out, cap, "UTC");
    } else return pf_unsupported(C, v, "a time zone");
    if (key) {
        if (key->type != SHMC_PK_STR || key->v.bytes.len == 0 || key->v.bytes.len >= cap)
            return pf_unsupported(C, key, "a time zone name");
        memcpy(out, key->v.bytes.ptr, key->v.bytes.len);
        out[key->v.bytes.len] = '\0';
    }
    return SHMC_OK;
}

/* DatetimeTZDtype: state {"unit"|"_unit": str, "tz"|"_tz": tz object}. */
static int pf_tz_dtype(pf_ctx *C, const shmc_pk_value *v, char *tz, size_t cap, int *unit)
{
    const shmc_pk_value *st = shmc_pk_state(v);
    const shmc_pk_value *u = shmc_pk_dict_get(st, "unit"), *z = shmc_pk_dict_get(st, "tz");
    if (!u) u = shmc_pk_dict_get(st, "_unit");
    if (!z) z = shmc_pk_dict_get(st, "_tz");
    if (!u || u->type != SHMC_PK_STR || !z) return pf_unsupported(C, v, "a DatetimeTZDtype");
    *unit = pf_unit(u->v.bytes.ptr, u->v.bytes.len);
    if (!*unit) return pf_unsupported(C, u, "a datetime unit");
    return pf_tz_name(C, z, tz, cap);
}

/* numpy bools are one byte, but only 0 and 1 behave: a stored 2 prints True yet
 * breaks value_counts()/nunique(). Bool data from a pickle is checked, and when a
 * byte is neither 0 nor 1 the column is normalised (nonzero -> 1, as numpy's
 * truth value) into an owned copy; the common case stays a view. */
static int pf_bool_bytes(pf_ctx *C, const uint8_t **data, uint64_t n)
{
    const uint8_t *p = *data;
    uint64_t i = 0;
    while (i < n && p[i] <= 1) i++;
    if (i == n) return SHMC_OK;
    uint8_t *copy;
    FORWARD_IF_ERROR(pf_own(C, (size_t)n, (void **)&copy));
    for (uint64_t j = 0; j < n; j++) copy[j] = p[j] != 0;
    *data = copy;
    return SHMC_OK;
}

static int pf_fixed_cols(pf_ctx *C, const pf_arr *a, pf_col *cols, uint64_t k)
{
    uint64_t ak, n;
    pf_arr_rows(a, &ak, &n);
    if (ak != k)
        return pf_fail(C, SHMC_ERR_PICKLE, a->node, "block array has %llu rows for %llu columns",
                       (unsigned long long)ak, (unsigned long long)k);
    if (a->dt.kind == 'O') {
        for (uint64_t j = 0; j < k; j++) {
            pf_col *c = &cols[j];
            FORWARD_IF_ERROR(pf_strings(C, n ? a->objs->v.seq.items + j * n : NULL, n, c));
            snprintf(c->dtype, sizeof c->dtype, c->miss == PF_MISS_NAN ? "object[nan]" : "object");
        }
        return SHMC_OK;
    }
    /* the dtype is checked before anything is gathered or copied */
    int kind;
    char name[80];
    FORWARD_IF_ERROR(pf_fixed_kind(C, &a->dt, a->node, &kind, name, sizeof name));
    uint8_t **gathered = NULL;
    if (a->fortran && k > 1) {
        FORWARD_IF_ERROR(pf_own(C, (size_t)k * sizeof *gathered, (void **)&gathered));
        FORWARD_IF_ERROR(pf_arr_gather(C, a, k, n, gathered));
    }
    for (uint64_t j = 0; j < k; j++) {
        pf_col *c = &cols[j];
        c->d.kind = kind;
        memcpy(c->dtype, name, sizeof name);
        if (!gathered) FORWARD_IF_ERROR(pf_arr_row(C, a, j, &c->d.values));
        else c->d.values = gathered[j];
        if (kind == SHMC_KIND_BOOL) {
            const uint8_t *b = c->d.values;
            FORWARD_IF_ERROR(pf_bool_bytes(C, &b, n));
            c->d.values = b;
        }
        c->d.unit = a->dt.unit;
        c->nrows = n;
    }
    return SHMC_OK;
}

int pf_ndarray_cols(pf_ctx *C, const shmc_pk_value *v, pf_col *cols, uint64_t k)
{
    pf_arr a;
    FORWARD_IF_ERROR(pf_array(C, v, &a));
    return pf_fixed_cols(C, &a, cols, k);
}

int pf_datetime_cols(pf_ctx *C, const shmc_pk_value *dtype, const shmc_pk_value *arr, pf_col *cols,
                     uint64_t k)
{
    char tz[64] = "";
    int unit = 0;
    if (pf_pd(pf_callee(dtype), "DatetimeTZDtype"))
        FORWARD_IF_ERROR(pf_tz_dtype(C, dtype, tz, sizeof tz, &unit));
    FORWARD_IF_ERROR(pf_ndarray_cols(C, arr, cols, k));
    for (uint64_t j = 0; j < k && tz[0]; j++) {
        if (cols[j].d.kind != SHMC_KIND_DATETIME || cols[j].d.unit != unit)
            return pf_fail(C, SHMC_ERR_PICKLE, arr, "DatetimeTZDtype with a %s array",
                           cols[j].dtype);
        snprintf(cols[j].tz, sizeof cols[j].tz, "%s", tz);
        cols[j].d.tz = cols[j].tz;
        snprintf(cols[j].dtype, sizeof cols[j].dtype, "datetime64[%s, %s]", pf_unit_name(unit), tz);
    }
    return SHMC_OK;
}

/* PeriodDtype: REDUCE(pandas[.core.dtypes.dtypes].PeriodDtype, ("period[<freq>]",)) on
 * pandas 2.2 and 3.x; a bare freq ("D") is taken too. Written as "period[<freq>]",
 * checked against the segment's vocabulary (shmc_period_dtype_ok) here, at read. */
static int pf_period_dtype(pf_ctx *C, const shmc_pk_value *v, char *out, size_t cap)
{
    const shmc_pk_value *a = pf_arg(v, 0);
    if (!v || v->type != SHMC_PK_REDUCE || !pf_pd(pf_callee(v), "PeriodDtype") || !a ||
        a->type != SHMC_PK_STR || a->v.bytes.len > 70)
        return pf_unsupported(C, v, "a PeriodDtype");
    int whole = a->v.bytes.len > 7 && !memcmp(a->v.bytes.ptr, "period[", 7);
    snprintf(out, cap, whole ? "%.*s" : "period[%.*s]", (int)a->v.bytes.len,
             (const char *)a->v.bytes.ptr);
    if (!shmc_period_dtype_ok(out)) return pf_unsupported(C, a, "a period frequency");
    return SHMC_OK;
}

/* PeriodArray: NDArrayBacked state (PeriodDtype, int64 ordinals, attrs). */
int pf_period(pf_ctx *C, const shmc_pk_value *dtype, const shmc_pk_value *arr, pf_col *col)
{
    char name[80];
    FORWARD_IF_ERROR(pf_period_dtype(C, dtype, name, sizeof name));
    FORWARD_IF_ERROR(pf_ndarray_cols(C, arr, col, 1));
    if (col->d.kind != SHMC_KIND_INT64)
        return pf_fail(C, SHMC_ERR_PICKLE, arr, "PeriodArray ordinals are %s, not int64",
                       col->dtype);
    col->d.kind = SHMC_KIND_PERIOD;
    memcpy(col->dtype, name, sizeof name);
    return SHMC_OK;
}

/* IntegerArray / FloatingArray / BooleanArray: {_data, _mask}. */
int pf_masked(pf_ctx *C, const shmc_pk_value *v, pf_col *col, const char *what)
{
    pf_arr mask;
    FORWARD_IF_ERROR(pf_ndarray_cols(C, shmc_pk_dict_get(shmc_pk_state(v), "_data"), col, 1));
    FORWARD_IF_ERROR(pf_array(C, shmc_pk_dict_get(shmc_pk_state(v), "_mask"), &mask));
    if (mask.dt.kind != 'b' || mask.dt.itemsize != 1 || mask.ndim != 1 ||
        mask.dims[0] != col->nrows || mask.nbytes != col->nrows)
        return pf_fail(C, SHMC_ERR_PICKLE, v, "%s mask is not a bool array of %llu rows", what,
                       (unsigned long long)col->nrows);
    col->d.mask = mask.data;
    FORWARD_IF_ERROR(pf_bool_bytes(C, &col->d.mask, col->nrows));
    const char *d = col->dtype; /* numpy name of _data: int64, uint8, float32, bool */
    char nd[80];
    if (!strcmp(what, "BooleanArray") && col->d.kind == SHMC_KIND_BOOL)
        snprintf(nd, sizeof nd, "boolean");
    else if (!strcmp(what, "IntegerArray") && d[0] == 'i') snprintf(nd, sizeof nd, "Int%s", d + 3);
    else if (!strcmp(what, "IntegerArray") && d[0] == 'u') snprintf(nd, sizeof nd, "UInt%s", d + 4);
    else if (!strcmp(what, "FloatingArray") && d[0] == 'f')
        snprintf(nd, sizeof nd, "Float%s", d + 5);
    else return pf_fail(C, SHMC_ERR_PICKLE, v, "%s holds %s data", what, d);
    memcpy(col->dtype, nd, sizeof nd);
    return SHMC_OK;
}

int pf_arrow_string_array(pf_ctx *C, const shmc_pk_value *v, pf_col *col)
{
    const shmc_pk_value *pa = shmc_pk_dict_get(shmc_pk_state(v), "_pa_array");
    if (!pa) pa = shmc_pk_dict_get(shmc_pk_state(v), "_data");
    FORWARD_IF_ERROR(pf_arrow(C, pa, col));
    const shmc_pk_value *dt = shmc_pk_dict_get(shmc_pk_state(v), "_dtype");
    if (!dt) {
        snprintf(col->dtype, sizeof col->dtype, "string[pyarrow]");
        return SHMC_OK;
    }
    return pf_string_dtype(C, dt, col->dtype, sizeof col->dtype);
}

/* IntervalDtype: NEWOBJ + BUILD {subtype, closed} -> the SHMC_COL_CLOSED_* flags. */
/* An interval's closed side, the str `closed` (at: where to point when it is missing). */
int pf_closed_name(pf_ctx *C, const shmc_pk_value *closed, const shmc_pk_value *at, uint32_t *flags)
{
    static const struct {
        const char *name;
        uint32_t flags;
    } ends[] = {{"left", SHMC_COL_CLOSED_LEFT},
                {"right", SHMC_COL_CLOSED_RIGHT},
                {"both", SHMC_COL_CLOSED_LEFT | SHMC_COL_CLOSED_RIGHT},
                {"neither", 0}};
    for (size_t i = 0; i < sizeof ends / sizeof ends[0]; i++)
        if (shmc_pk_str_eq(closed, ends[i].name)) {
            *flags = ends[i].flags;
            return SHMC_OK;
        }
    return pf_unsupported(C, closed ? closed : at, "an interval's closed side");
}

/* IntervalDtype: NEWOBJ + BUILD {closed, subtype}. */
int pf_closed(pf_ctx *C, const shmc_pk_value *dt, uint32_t *flags)
{
    if (!pf_pd(pf_callee(dt), "IntervalDtype")) return pf_unsupported(C, dt, "an IntervalDtype");
    return pf_closed_name(C, shmc_pk_dict_get(shmc_pk_state(dt), "closed"), dt, flags);
}

/* Both bounds: the same fixed kind (not bool), unit, zone and length, no mask. */
static int pf_bounds_match(pf_ctx *C, const shmc_pk_value *at, const pf_col *l, const pf_col *r)
{
    if (!shmc_interval_subtype_ok(l->d.kind) || l->d.mask || r->d.mask || l->d.kind != r->d.kind ||
        l->d.unit != r->d.unit || strcmp(l->tz, r->tz) || l->nrows != r->nrows)
        return pf_fail(C, SHMC_ERR_UNSUPPORTED, at,
                       "interval bounds %s and %s (numbers, datetimes "
                       "or timedeltas of one dtype are read)",
                       l->dtype, r->dtype);
    return SHMC_OK;
}

/* An interval column from its two bounds (b[0] left, b[1] right) and closed flags. */
int pf_interval_of(pf_ctx *C, const shmc_pk_value *at, const pf_col *b, uint32_t flags, pf_col *col)
{
    FORWARD_IF_ERROR(pf_bounds_match(C, at, &b[0], &b[1]));
    col->d.kind = SHMC_KIND_INTERVAL;
    col->d.code_kind = b[0].d.kind;
    col->d.unit = b[0].d.unit;
    col->d.values = b[0].d.values;
    col->d.right = b[1].d.values;
    col->d.flags |= flags;
    memcpy(col->tz, b[0].tz, sizeof col->tz);
    col->d.tz = b[0].d.tz ? col->tz : NULL;
    col->nrows = b[0].nrows;
    uint32_t c = flags & (SHMC_COL_CLOSED_LEFT | SHMC_COL_CLOSED_RIGHT);
    snprintf(col->dtype, sizeof col->dtype, "interval[%.40s, %s]", b[0].dtype,
             c == SHMC_COL_CLOSED_LEFT    ? "left"
             : c == SHMC_COL_CLOSED_RIGHT ? "right"
             : c                          ? "both"
                                          : "neither");
    return SHMC_OK;
}

/* A 1-D little-endian int32 array (sparse row numbers, block starts and lengths). */
static int pf_i32_array(pf_ctx *C, const shmc_pk_value *v, const char *what, pf_arr *a)
{
    FORWARD_IF_ERROR(pf_array(C, v, a));
    if (a->ndim != 1 || a->dt.kind != 'i' || a->dt.itemsize != 4 || a->dt.swap ||
        a->nbytes != a->dims[0] * 4)
        return pf_fail(C, SHMC_ERR_UNSUPPORTED, a->node, "%s: a 1-D int32 array is read", what);
    return SHMC_OK;
}

static int32_t pf_i32_at(const pf_arr *a, uint64_t i)
{
    int32_t r;
    memcpy(&r, a->data + 4 * i, 4);
    return r;
}

/* IntIndex(length, rows): rows strictly increasing inside [0, length), copied when
 * misaligned. */
static int pf_int_rows(pf_ctx *C, const shmc_pk_value *v, int64_t length, const int32_t **rows,
                       uint64_t *n)
{
    pf_arr a;
    FORWARD_IF_ERROR(pf_i32_array(C, pf_arg(v, 1), "sparse row numbers", &a));
    int32_t *copy = NULL;
    if ((uintptr_t)a.data % 4) FORWARD_IF_ERROR(pf_own(C, (size_t)a.nbytes, (void **)&copy));
    for (uint64_t i = 0; i < a.dims[0]; i++) {
        int32_t r = pf_i32_at(&a, i), prev = i ? pf_i32_at(&a, i - 1) : -1;
        if (r <= prev || r >= length)
            return pf_fail(C, SHMC_ERR_PICKLE, v,
                           "sparse row number %d at entry %llu is not after %d "
                           "and below %lld",
                           r, (unsigned long long)i, prev, (long long)length);
        if (copy) copy[i] = r;
    }
    *rows = copy ? copy : (const int32_t *)(const void *)a.data;
    *n = a.dims[0];
    return SHMC_OK;
}

/* BlockIndex(length, blocs, blengths): runs of rows, each non-empty, after the one
 * before and inside [0, length); their sum must be `want` (the values read) before
 * the row numbers are written out. */
static int pf_block_rows(pf_ctx *C, const shmc_pk_value *v, int64_t length, uint64_t want,
                         const int32_t **rows, uint64_t *n)
{
    pf_arr at, len;
    FORWARD_IF_ERROR(pf_i32_array(C, pf_arg(v, 1), "sparse block starts", &at));
    FORWARD_IF_ERROR(pf_i32_array(C, pf_arg(v, 2), "sparse block lengths", &len));
    if (at.dims[0] != len.dims[0])
        return pf_fail(C, SHMC_ERR_PICKLE, v, "%llu sparse block starts for %llu lengths",
                       (unsigned long long)at.dims[0], (unsigned long long)len.dims[0]);
    int64_t end = 0, total = 0;
    for (uint64_t j = 0; j < at.dims[0]; j++) {
        int64_t b = pf_i32_at(&at, j), l = pf_i32_at(&len, j);
        if (b < end || l <= 0 || b + l > length)
            return pf_fail(C, SHMC_ERR_PICKLE, v,
                           "sparse block %llu [%lld, +%lld) is not after %lld, non-empty "
                           "and below %lld",
                           (unsigned long long)j, (long long)b, (long long)l, (long long)end,
                           (long long)length);
        end = b + l;
        total += l; /* <= length <= INT32_MAX */
    }
    if ((uint64_t)total != want)
        return pf_fail(C, SHMC_ERR_PICKLE, v, "sparse blocks hold %lld rows for %llu values",
                       (long long)total, (unsigned long long)want);
    int32_t *out;
    FORWARD_IF_ERROR(pf_own(C, (size_t)total * 4 + 4, (void **)&out));
    for (uint64_t j = 0, k = 0; j < at.dims[0]; j++)
        for (int32_t b = pf_i32_at(&at, j), i = 0; i < pf_i32_at(&len, j); i++) out[k++] = b + i;
    *rows = out;
    *n = (uint64_t)total;
    return SHMC_OK;
}

/* A SparseArray's index as int32 row numbers, one per value (`nvals` were read):
 * REDUCE(pandas._libs.sparse.IntIndex, (length, rows)) or BlockIndex(length, blocs,
 * blengths) (SparseArray(kind="block"), expanded: pandas compares the two kinds
 * equal, and the column comes back with an IntIndex). */
int pf_sparse_index(pf_ctx *C, const shmc_pk_value *v, uint64_t nvals, int64_t *length,
                    const int32_t **rows)
{
    int block = v && v->type == SHMC_PK_REDUCE && pf_pd(pf_callee(v), "BlockIndex");
    if (!v || v->type != SHMC_PK_REDUCE || !(block || pf_pd(pf_callee(v), "IntIndex")) ||
        pf_nargs(v) != (block ? 3u : 2u) || !pf_int(pf_arg(v, 0), length) || *length < 0 ||
        *length > INT32_MAX)
        return pf_unsupported(
            C, v, "a sparse index (IntIndex(length, rows), BlockIndex(length, blocs, blengths))");
    uint64_t n = 0;
    if (block) FORWARD_IF_ERROR(pf_block_rows(C, v, *length, nvals, rows, &n));
    else FORWARD_IF_ERROR(pf_int_rows(C, v, *length, rows, &n));
    if (n != nvals)
        return pf_fail(C, SHMC_ERR_PICKLE, v, "sparse index names %llu rows for %llu values",
                       (unsigned long long)n, (unsigned long long)nvals);
    return SHMC_OK;
}

/* SparseDtype's fill value (NEWOBJ + BUILD {_dtype, _fill_value}) as one value of
 * `kind` in an owned buffer; *text is how pandas prints it in the dtype. */
int pf_fill(pf_ctx *C, const shmc_pk_value *dt, int kind, void **out, char *text, size_t cap)
{
    const shmc_pk_value *f = shmc_pk_dict_get(shmc_pk_state(dt), "_fill_value");
    if (!pf_pd(pf_callee(dt), "SparseDtype") || !f) return pf_unsupported(C, dt, "a SparseDtype");
    size_t sz = shmc_kind_itemsize(kind);
    FORWARD_IF_ERROR(pf_own(C, 8, out));
    int isf = kind == SHMC_KIND_FLOAT32 || kind == SHMC_KIND_FLOAT64;
    if (kind == SHMC_KIND_BOOL && f->type == SHMC_PK_BOOL) {
        *(uint8_t *)*out = f->v.i != 0;
        snprintf(text, cap, f->v.i ? "True" : "False");
    } else if (isf && (f->type == SHMC_PK_FLOAT ||
                       (f->type == SHMC_PK_INT && !(f->flags & SHMC_PK_F_UNSIGNED)))) {
        double d = f->type == SHMC_PK_FLOAT ? f->v.f : (double)f->v.i;
        if (kind == SHMC_KIND_FLOAT32 && isfinite(d) && fabs(d) > FLT_MAX)
            return pf_unsupported(C, f, "a sparse fill value (outside float32)");
        float g = (float)d; /* in range, infinite or NaN: defined */
        if (kind == SHMC_KIND_FLOAT64) memcpy(*out, &d, 8);
        else memcpy(*out, &g, 4);
        /* |d| < 1e16 first: casting a larger double to int64 is undefined */
        if (isnan(d)) snprintf(text, cap, "nan");
        else snprintf(text, cap, fabs(d) < 1e16 && d == (double)(int64_t)d ? "%.1f" : "%.17g", d);
    } else if (!isf && kind != SHMC_KIND_BOOL && f->type == SHMC_PK_INT &&
               !(f->flags & SHMC_PK_F_UNSIGNED)) {
        int64_t x = f->v.i;
        int is_u = kind >= SHMC_KIND_UINT8;
        int bits = 8 * (int)sz;
        int fits = is_u ? x >= 0 && (bits == 64 || x < ((int64_t)1 << bits))
                        : bits == 64 ||
                              (x >= -((int64_t)1 << (bits - 1)) && x < ((int64_t)1 << (bits - 1)));
        if (!fits) return pf_unsupported(C, f, "a sparse fill value (outside the values' dtype)");
        memcpy(*out, &x, sz); /* little-endian: the low bytes */
        snprintf(text, cap, "%lld", (long long)x);
    } else
        return pf_unsupported(C, f,
                              "a sparse fill value (bool, int or float of the values' dtype)");
    return SHMC_OK;
}
