/* Pickle writer: one column over the selected rows -> a 1-D array-like on the
 * unpickler's stack. Why each construct: see the comment on each emitter; all
 * were checked to behave the same on pandas 2.2 / numpy 1.26 and pandas 3.1 /
 * numpy 2.5 unless a comment says otherwise. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "format.h"
#include "pickle_write_int.h"
#include "shmchunk.h"
/* ------------------------------------------------------------------------ */
/* Intervals: pandas.arrays.IntervalArray.from_arrays(left, right, closed)   */
/* ------------------------------------------------------------------------ */
/* One bound role as the array its kind makes on its own (numpy numbers,
 * datetime64/timedelta64 views, a zoned DatetimeArray): from_arrays infers
 * interval[<that dtype>, closed] from it, the same on pandas 2.2 and 3.x. */
static int emit_bound(pw_writer *w, uint32_t col, const shmc_column_info *ci, int role,
                      const pw_run *runs, size_t nruns)
{
    shmc_column_info b = *ci;
    b.kind = ci->code_kind;
    if (b.kind == SHMC_KIND_DATETIME || b.kind == SHMC_KIND_TIMEDELTA)
        return pw_emit_time_role(w, col, &b, role, runs, nruns);
    fixed_ctx c = {.check = CHECK_NONE};
    return pw_emit_fixed(w, col, &b, role, pw_numpy_name(b.kind), shmc_kind_itemsize(b.kind), &c,
                         runs, nruns);
}

static const char *closed_name(uint32_t flags)
{
    int l = (flags & SHMC_COL_CLOSED_LEFT) != 0, r = (flags & SHMC_COL_CLOSED_RIGHT) != 0;
    return l && r ? "both" : l ? "left" : r ? "right" : "neither";
}

static int emit_interval(pw_writer *w, uint32_t col, const shmc_column_info *ci, const pw_run *runs,
                         size_t nruns)
{
    RETURN_ERROR_IF(!shmc_interval_subtype_ok(ci->code_kind), w->err, SHMC_ERR_CORRUPT,
                    "column %u: bad interval bound kind %d", col, ci->code_kind);
    pw_global(w, G_IVFROMARRAYS);
    FORWARD_IF_ERROR(emit_bound(w, col, ci, SHMC_ROLE_VALUES, runs, nruns));
    FORWARD_IF_ERROR(emit_bound(w, col, ci, SHMC_ROLE_RIGHT, runs, nruns));
    shmc_pk_cstr(&w->pk, closed_name(ci->flags));
    shmc_pk_op(&w->pk, SHMC_OP_TUPLE3);
    return shmc_pk_op(&w->pk, SHMC_OP_REDUCE);
}

/* ------------------------------------------------------------------------ */
/* Sparse: pandas.arrays.SparseArray(values, IntIndex(n, rows), fill)        */
/* ------------------------------------------------------------------------ */
/* A pass over the selected rows' entries: count them (checking the stored row
 * numbers: strictly increasing within the row group, inside it), then copy the
 * values or write the rows renumbered from the selection's first row. */
enum { SP_COUNT, SP_VALUES, SP_ROWS };

typedef struct sparse_ctx {
    int pass;
    const shmc_column_info *ci;
    size_t itemsize;
    uint64_t out_row; /* selected rows before this piece */
    uint64_t count;
    uint8_t *dst;
} sparse_ctx;

static int sparse_piece(pw_writer *w, void *vctx, const pw_piece *p)
{
    sparse_ctx *s = vctx;
    const uint8_t *rows, *vals = NULL;
    FORWARD_IF_ERROR(pw_chunk_bytes(w, p, &rows));
    uint64_t k = p->ci.raw_len / 4, lo = p->ci.row_start + p->lo, hi = p->ci.row_start + p->hi;
    if (s->pass == SP_VALUES) {
        pw_piece v;
        FORWARD_IF_ERROR(
            pw_find_piece(w, p->ci.column, s->ci, SHMC_ROLE_VALUES, p->ci.rowgroup, &v));
        RETURN_ERROR_IF(v.ci.raw_len != k * s->itemsize, w->err, SHMC_ERR_CORRUPT,
                        "chunk %u: %llu sparse values for %llu row numbers", v.id,
                        (unsigned long long)(v.ci.raw_len / s->itemsize), (unsigned long long)k);
        FORWARD_IF_ERROR(pw_chunk_bytes(w, &v, &vals));
    }
    int64_t prev = -1;
    for (uint64_t i = 0; i < k; i++) {
        int32_t r;
        memcpy(&r, rows + 4 * i, 4);
        RETURN_ERROR_IF(r <= prev || (uint64_t)r < p->ci.row_start ||
                            (uint64_t)r >= p->ci.row_start + p->ci.nrows,
                        w->err, SHMC_ERR_CORRUPT,
                        "chunk %u (column %u): sparse row number %d at entry %llu "
                        "is not after %lld inside its row group",
                        p->id, p->ci.column, r, (unsigned long long)i, (long long)prev);
        prev = r;
        if ((uint64_t)r < lo || (uint64_t)r >= hi) continue;
        if (s->pass == SP_VALUES)
            memcpy(s->dst + s->count * s->itemsize, vals + i * s->itemsize, s->itemsize);
        if (s->pass == SP_ROWS) {
            int32_t o = (int32_t)(s->out_row + ((uint64_t)r - lo));
            memcpy(s->dst + s->count * 4, &o, 4);
        }
        s->count++;
    }
    s->out_row += hi - lo;
    return SHMC_OK;
}

static int sparse_pass(pw_writer *w, uint32_t col, const shmc_column_info *ci, const pw_run *runs,
                       size_t nruns, sparse_ctx *s, int pass)
{
    s->pass = pass;
    s->count = s->out_row = 0;
    return pw_for_each_piece(w, col, ci, SHMC_ROLE_INDICES, runs, nruns, sparse_piece, s);
}

/* The fill value: the one row of the dictionary column, as a Python scalar. */
static int emit_fill(pw_writer *w, const shmc_column_info *ci)
{
    shmc_column_info dci;
    FORWARD_IF_ERROR(pw_column_info(w, ci->dict_column, &dci));
    RETURN_ERROR_IF(dci.kind != ci->code_kind || dci.nrows != 1, w->err, SHMC_ERR_CORRUPT,
                    "column %u: fill value column is not one row of the values' kind",
                    ci->dict_column);
    pw_piece p;
    const uint8_t *b;
    FORWARD_IF_ERROR(pw_find_piece(w, ci->dict_column, &dci, SHMC_ROLE_VALUES, 0, &p));
    size_t sz = shmc_kind_itemsize(dci.kind);
    RETURN_ERROR_IF(p.ci.raw_len != sz, w->err, SHMC_ERR_CORRUPT,
                    "chunk %u: fill value of %llu bytes", p.id, (unsigned long long)p.ci.raw_len);
    FORWARD_IF_ERROR(pw_chunk_bytes(w, &p, &b));
    uint64_t u = 0;
    memcpy(&u, b, sz); /* little-endian: the low bytes */
    if (dci.kind == SHMC_KIND_BOOL) return shmc_pk_bool(&w->pk, b[0] != 0);
    if (dci.kind == SHMC_KIND_FLOAT64) {
        double d;
        memcpy(&d, b, 8);
        return shmc_pk_float(&w->pk, d);
    }
    if (dci.kind == SHMC_KIND_FLOAT32) {
        float f;
        memcpy(&f, b, 4);
        return shmc_pk_float(&w->pk, f);
    }
    if (dci.kind >= SHMC_KIND_UINT8) {
        RETURN_ERROR_IF(u > INT64_MAX, w->err, SHMC_ERR_UNSUPPORTED,
                        "column %u: a uint64 fill value above 2^63-1 is not written",
                        ci->dict_column);
        return shmc_pk_int(&w->pk, (int64_t)u);
    }
    int shift = 64 - 8 * (int)sz; /* sign-extend */
    return shmc_pk_int(&w->pk, (int64_t)(u << shift) >> shift);
}

/* pandas' own pickle of a SparseArray, which pandas 2.2 and 3.x both load without a
 * warning: NEWOBJ(pandas.arrays.SparseArray) + BUILD {"_sparse_values": values,
 * "_sparse_index": IntIndex(length, rows), "_dtype": SparseDtype(numpy.dtype, fill)}
 * (SparseArray(values, IntIndex) is deprecated on 3.x, SparseArray.from_indices new
 * in 3.x). IntIndex (pandas._libs.sparse) is the class those pickles name; it checks
 * the rows again when built. In-band only. */
static int emit_sparse(pw_writer *w, uint32_t col, const shmc_column_info *ci, const pw_run *runs,
                       size_t nruns)
{
    RETURN_ERROR_IF(!shmc_sparse_subtype_ok(ci->code_kind), w->err, SHMC_ERR_CORRUPT,
                    "column %u: bad sparse value kind %d", col, ci->code_kind);
    sparse_ctx s = {.ci = ci, .itemsize = shmc_kind_itemsize(ci->code_kind)};
    FORWARD_IF_ERROR(sparse_pass(w, col, ci, runs, nruns, &s, SP_COUNT));
    uint64_t k = s.count, n = pw_runs_rows(runs, nruns);
    RETURN_ERROR_IF(n > INT32_MAX, w->err, SHMC_ERR_LIMIT, "column %u: %llu sparse rows", col,
                    (unsigned long long)n);
    pw_global(w, G_SPARSEARRAY);
    shmc_pk_op(&w->pk, SHMC_OP_EMPTY_TUPLE);
    shmc_pk_op(&w->pk, SHMC_OP_NEWOBJ);
    shmc_pk_op(&w->pk, SHMC_OP_EMPTY_DICT);
    shmc_pk_cstr(&w->pk, "_sparse_values");
    pw_global(w, G_FROMBUFFER);
    FORWARD_IF_ERROR(shmc_pk_bytearray(&w->pk, (size_t)(k * s.itemsize), &s.dst));
    FORWARD_IF_ERROR(sparse_pass(w, col, ci, runs, nruns, &s, SP_VALUES));
    if (ci->code_kind == SHMC_KIND_BOOL)
        for (uint64_t i = 0; i < k; i++) s.dst[i] = s.dst[i] != 0;
    pw_dtype(w, pw_numpy_name(ci->code_kind));
    shmc_pk_op(&w->pk, SHMC_OP_TUPLE2);
    shmc_pk_op(&w->pk, SHMC_OP_REDUCE);
    shmc_pk_op(&w->pk, SHMC_OP_SETITEM);
    shmc_pk_cstr(&w->pk, "_sparse_index");
    pw_global(w, G_INTINDEX);
    shmc_pk_int(&w->pk, (int64_t)n);
    pw_global(w, G_FROMBUFFER);
    FORWARD_IF_ERROR(shmc_pk_bytearray(&w->pk, (size_t)(k * 4), &s.dst));
    FORWARD_IF_ERROR(sparse_pass(w, col, ci, runs, nruns, &s, SP_ROWS));
    pw_dtype(w, "<i4");
    shmc_pk_op(&w->pk, SHMC_OP_TUPLE2);
    shmc_pk_op(&w->pk, SHMC_OP_REDUCE);
    shmc_pk_op(&w->pk, SHMC_OP_TUPLE2);
    shmc_pk_op(&w->pk, SHMC_OP_REDUCE);
    shmc_pk_op(&w->pk, SHMC_OP_SETITEM);
    shmc_pk_cstr(&w->pk, "_dtype");
    pw_global(w, G_SPARSEDTYPE);
    pw_dtype(w, pw_numpy_name(ci->code_kind));
    FORWARD_IF_ERROR(emit_fill(w, ci));
    shmc_pk_op(&w->pk, SHMC_OP_TUPLE2);
    shmc_pk_op(&w->pk, SHMC_OP_REDUCE);
    shmc_pk_op(&w->pk, SHMC_OP_SETITEM);
    return shmc_pk_op(&w->pk, SHMC_OP_BUILD);
}

/* Periods: pandas.arrays.PeriodArray(int64 ordinals, pandas.PeriodDtype(dtype)).
 * Both positional on pandas 2.2 and 3.x; integers given to PeriodArray itself are
 * ordinals (pandas.array(ints, PeriodDtype) reads them as years, and warns). The
 * dtype string was checked at open ("period[<freq>]", a safe alphabet). */
static int emit_period(pw_writer *w, uint32_t col, const shmc_column_info *ci, const pw_run *runs,
                       size_t nruns)
{
    RETURN_ERROR_IF(!shmc_period_dtype_ok(ci->dtype), w->err, SHMC_ERR_CORRUPT,
                    "column %u: period dtype is not \"period[<freq>]\"", col);
    fixed_ctx c = {.check = CHECK_NONE};
    pw_global(w, G_PERIODARRAY);
    FORWARD_IF_ERROR(pw_emit_fixed(w, col, ci, SHMC_ROLE_VALUES, "<i8", 8, &c, runs, nruns));
    pw_global(w, G_PERIODDTYPE);
    shmc_pk_cstr(&w->pk, ci->dtype);
    shmc_pk_op(&w->pk, SHMC_OP_TUPLE1);
    shmc_pk_op(&w->pk, SHMC_OP_REDUCE);
    shmc_pk_op(&w->pk, SHMC_OP_TUPLE2);
    return shmc_pk_op(&w->pk, SHMC_OP_REDUCE);
}

/* ------------------------------------------------------------------------ */
/* Categorical: pandas.Categorical.from_codes(codes, categories, ordered)    */
/* ------------------------------------------------------------------------ */
static int emit_categorical(pw_writer *w, uint32_t col, const shmc_column_info *ci,
                            const pw_run *runs, size_t nruns)
{
    const char *codes = pw_numpy_name(ci->code_kind);
    RETURN_ERROR_IF(ci->code_kind < SHMC_KIND_INT8 || ci->code_kind > SHMC_KIND_INT64, w->err,
                    SHMC_ERR_CORRUPT, "column %u: bad code kind %d", col, ci->code_kind);
    RETURN_ERROR_IF(ci->dict_column == col, w->err, SHMC_ERR_CORRUPT,
                    "column %u: is its own dictionary", col);
    shmc_column_info dci;
    FORWARD_IF_ERROR(pw_column_info(w, ci->dict_column, &dci));
    RETURN_ERROR_IF(dci.kind == SHMC_KIND_CATEGORICAL || dci.nrows > INT64_MAX, w->err,
                    SHMC_ERR_CORRUPT, "column %u: dictionary column %u is not a plain column", col,
                    ci->dict_column);
    fixed_ctx c = {.check = CHECK_CODES, .ncat = (int64_t)dci.nrows};
    pw_global(w, G_FROM_CODES);
    FORWARD_IF_ERROR(pw_emit_fixed(w, col, ci, SHMC_ROLE_VALUES, codes,
                                   shmc_kind_itemsize(ci->code_kind), &c, runs, nruns));
    pw_run all = {0, dci.nrows};
    FORWARD_IF_ERROR(pw_column(w, ci->dict_column, &dci, &all, dci.nrows ? 1 : 0));
    shmc_pk_bool(&w->pk, (ci->flags & SHMC_COL_ORDERED) != 0);
    shmc_pk_op(&w->pk, SHMC_OP_TUPLE3);
    return shmc_pk_op(&w->pk, SHMC_OP_REDUCE);
}

/* ------------------------------------------------------------------------ */
/* Strings: a list of str/None, then a constructor chosen by the dtype       */
/* ------------------------------------------------------------------------ */
typedef struct str_ctx {
    const shmc_column_info *ci;
    uint32_t col;
    uint32_t batch;  /* items since the last MARK */
    int nan_missing; /* "object[nan]": a missing row is NaN, not None */
} str_ctx;

static int string_rows(pw_writer *w, str_ctx *s, const pw_piece *p, const uint8_t *offb,
                       const uint8_t *data, uint64_t data_len, const uint8_t *valid)
{
    shmc_pk *pk = &w->pk;
    for (uint64_t r = p->lo; r < p->hi; r++) {
        if (s->batch == 0) shmc_pk_op(pk, SHMC_OP_MARK);
        if (valid && !shmc_bit_get(valid, r)) {
            if (s->nan_missing) shmc_pk_float(pk, (double)NAN);
            else shmc_pk_none(pk);
        } else {
            int64_t o0, o1;
            memcpy(&o0, offb + 8 * r, 8);
            memcpy(&o1, offb + 8 * r + 8, 8);
            RETURN_ERROR_IF(
                o0 < 0 || o1 < o0 || (uint64_t)o1 > data_len, w->err, SHMC_ERR_CORRUPT,
                "chunk %u (column %u): row %llu offsets [%lld, %lld) outside %llu bytes", p->id,
                s->col, (unsigned long long)(p->ci.row_start + r), (long long)o0, (long long)o1,
                (unsigned long long)data_len);
            size_t bad = shmc_utf8_check(data + o0, (size_t)(o1 - o0));
            RETURN_ERROR_IF(bad, w->err, SHMC_ERR_CORRUPT,
                            "column %u row %llu: invalid UTF-8 at data byte %lld", s->col,
                            (unsigned long long)(p->ci.row_start + r),
                            (long long)(o0 + (int64_t)bad - 1));
            shmc_pk_str(pk, (const char *)data + o0, (size_t)(o1 - o0));
        }
        if (++s->batch == SHMC_PK_APPENDS_BATCH) {
            shmc_pk_op(pk, SHMC_OP_APPENDS);
            s->batch = 0;
        }
    }
    return pk->status;
}

static int string_piece(pw_writer *w, void *vctx, const pw_piece *p)
{
    str_ctx *s = vctx;
    const uint8_t *offb, *data, *valid = NULL;
    RETURN_ERROR_IF(p->ci.raw_len / 8 != p->ci.nrows + 1 || p->ci.raw_len % 8, w->err,
                    SHMC_ERR_CORRUPT, "chunk %u (column %u): %llu offset bytes for %llu rows",
                    p->id, s->col, (unsigned long long)p->ci.raw_len,
                    (unsigned long long)p->ci.nrows);
    FORWARD_IF_ERROR(pw_chunk_bytes(w, p, &offb));
    pw_piece d, v;
    FORWARD_IF_ERROR(pw_find_piece(w, s->col, s->ci, SHMC_ROLE_DATA, p->ci.rowgroup, &d));
    FORWARD_IF_ERROR(pw_chunk_bytes(w, &d, &data));
    if ((s->ci->roles >> SHMC_ROLE_VALIDITY) & 1) {
        FORWARD_IF_ERROR(pw_find_piece(w, s->col, s->ci, SHMC_ROLE_VALIDITY, p->ci.rowgroup, &v));
    }
    if (((s->ci->roles >> SHMC_ROLE_VALIDITY) & 1) && v.id != PW_ABSENT) {
        RETURN_ERROR_IF(v.ci.raw_len < (p->ci.nrows + 7) / 8, w->err, SHMC_ERR_CORRUPT,
                        "chunk %u (column %u): validity of %llu bytes for %llu rows", v.id, s->col,
                        (unsigned long long)v.ci.raw_len, (unsigned long long)p->ci.nrows);
        FORWARD_IF_ERROR(pw_chunk_bytes(w, &v, &valid));
    }
    return string_rows(w, s, p, offb, data, d.ci.raw_len, valid);
}

static int emit_string_list(pw_writer *w, uint32_t col, const shmc_column_info *ci,
                            const pw_run *runs, size_t nruns, int nan_missing)
{
    str_ctx s = {ci, col, 0, nan_missing};
    shmc_pk_op(&w->pk, SHMC_OP_EMPTY_LIST);
    FORWARD_IF_ERROR(
        pw_for_each_piece(w, col, ci, SHMC_ROLE_OFFSETS, runs, nruns, string_piece, &s));
    if (s.batch) shmc_pk_op(&w->pk, SHMC_OP_APPENDS);
    return w->pk.status;
}

/* StringDtype("python", na_value=nan) spelt so that pandas 2.x can load it too:
 * StringDtype("python") + BUILD {"_na_value": numpy.nan}. pandas >= 2.3 takes the
 * state through StringDtype.__setstate__ (its own pickle back-compat path) and
 * gets the exact dtype (numpy.nan itself, since the dtype compares na_value with
 * `is`); pandas 2.2 has no such dtype and no __setstate__, keeps the attribute
 * unused and loads string[python] (missing = pd.NA): a documented degradation
 * instead of "StringDtype.__init__() takes 1 to 2 positional arguments". */
static int emit_str_python_dtype(pw_writer *w)
{
    shmc_pk *pk = &w->pk;
    pw_global(w, G_STRINGDTYPE);
    shmc_pk_cstr(pk, "python");
    shmc_pk_op(pk, SHMC_OP_TUPLE1);
    shmc_pk_op(pk, SHMC_OP_REDUCE);
    shmc_pk_op(pk, SHMC_OP_EMPTY_DICT);
    shmc_pk_cstr(pk, "_na_value");
    pw_global(w, G_NAN);
    shmc_pk_op(pk, SHMC_OP_SETITEM);
    return shmc_pk_op(pk, SHMC_OP_BUILD);
}

/* pandas.array(list, dtype) for the StringDtype("python", ...) dtypes and
 * "string[pyarrow]"; the NaN "str" family goes through Index(list, "str"), which
 * is str on pandas 3 and object on 2.x -- the natural string column of each
 * (pandas.array(list, "str") would make numpy '<U' strings of 'None' on 2.x).
 * An object dtype must be spelled out, or pandas 3 infers str from the strings;
 * "object[nan]" is an object column whose missing values are NaN. */
static int emit_strings(pw_writer *w, uint32_t col, const shmc_column_info *ci, const pw_run *runs,
                        size_t nruns)
{
    const char *d = ci->dtype ? ci->dtype : "";
    int na_string =
        !strcmp(d, "string") || !strcmp(d, "string[python]") || !strcmp(d, "string[pyarrow]");
    if (na_string || !strcmp(d, "str[python]")) {
        pw_global(w, G_PDARRAY);
        FORWARD_IF_ERROR(emit_string_list(w, col, ci, runs, nruns, 0));
        if (na_string) shmc_pk_cstr(&w->pk, d);
        else emit_str_python_dtype(w);
        shmc_pk_op(&w->pk, SHMC_OP_TUPLE2);
        return shmc_pk_op(&w->pk, SHMC_OP_REDUCE);
    }
    int nan_object = !strcmp(d, "object[nan]");
    pw_call_begin(w, G_INDEX);
    FORWARD_IF_ERROR(emit_string_list(w, col, ci, runs, nruns, nan_object));
    if (nan_object || !strcmp(d, "object") || !strcmp(d, "O")) pw_dtype(w, "O");
    else shmc_pk_cstr(&w->pk, "str");
    shmc_pk_bool(&w->pk, 0);
    shmc_pk_none(&w->pk);
    shmc_pk_bool(&w->pk, 0);
    return pw_call_end(w);
}

/* ------------------------------------------------------------------------ */
/* Opaque objects: pickle.loads of each row group's blob                     */
/* ------------------------------------------------------------------------ */
typedef struct obj_ctx {
    size_t npieces;
    int count_only;
    int object; /* object dtype: said to pandas.Series, or pandas 3 infers str (None -> NaN) */
} obj_ctx;

/* part = pickle.loads(blob)[lo:hi] (operator.getitem + slice when partial). */
static int object_piece(pw_writer *w, void *vctx, const pw_piece *p)
{
    obj_ctx *o = vctx;
    o->npieces++;
    if (o->count_only) return SHMC_OK;
    int partial = p->lo != 0 || p->hi != p->ci.nrows;
    const uint8_t *blob;
    FORWARD_IF_ERROR(pw_chunk_bytes(w, p, &blob));
    if (partial) pw_global(w, G_GETITEM);
    pw_global(w, G_LOADS);
    shmc_pk_bytes(&w->pk, blob, (size_t)p->ci.raw_len);
    shmc_pk_op(&w->pk, SHMC_OP_TUPLE1);
    shmc_pk_op(&w->pk, SHMC_OP_REDUCE);
    if (partial) {
        pw_global(w, G_SLICE);
        shmc_pk_int(&w->pk, (int64_t)p->lo);
        shmc_pk_int(&w->pk, (int64_t)p->hi);
        shmc_pk_op(&w->pk, SHMC_OP_TUPLE2);
        shmc_pk_op(&w->pk, SHMC_OP_REDUCE);
        shmc_pk_op(&w->pk, SHMC_OP_TUPLE2);
        shmc_pk_op(&w->pk, SHMC_OP_REDUCE);
    }
    return w->pk.status;
}

static int series_piece(pw_writer *w, void *vctx, const pw_piece *p)
{
    pw_call_begin(w, G_SERIES);
    FORWARD_IF_ERROR(object_piece(w, vctx, p));
    shmc_pk_none(&w->pk);
    if (((const obj_ctx *)vctx)->object) pw_dtype(w, "O");
    else shmc_pk_none(&w->pk);
    shmc_pk_none(&w->pk);
    shmc_pk_bool(&w->pk, 0);
    return pw_call_end(w);
}

/* One part is used as it is; several are joined by pandas.concat of Series
 * (the index it makes is dropped below), which keeps extension dtypes.
 * Object dtype is wrapped in Index(..., dtype('O')) so pandas 3 does not infer
 * str; other dtypes in pandas.array(...) so the DataFrame does not align. */
static int emit_objects(pw_writer *w, uint32_t col, const shmc_column_info *ci, const pw_run *runs,
                        size_t nruns)
{
    RETURN_ERROR_IF(!(w->flags & SHMC_PICKLE_OBJECTS), w->err, SHMC_ERR_PERMISSION,
                    "column %u: holds opaque pickles (loading them runs code); pass "
                    "SHMC_PICKLE_OBJECTS to emit them",
                    col);
    int object = !ci->dtype || !ci->dtype[0] || !strcmp(ci->dtype, "object");
    obj_ctx count = {0, 1, object}, emit = {0, 0, object};
    FORWARD_IF_ERROR(
        pw_for_each_piece(w, col, ci, SHMC_ROLE_PICKLE, runs, nruns, object_piece, &count));
    if (object) pw_call_begin(w, G_INDEX);
    else if (count.npieces > 1) pw_call_begin(w, G_PDARRAY);
    if (count.npieces == 0 && ci->nrowgroups == 0) {
        shmc_pk_op(&w->pk, SHMC_OP_EMPTY_LIST);
    } else if (count.npieces == 0) {
        /* No rows: blob[0:0] of the first row group keeps the exact dtype. */
        pw_piece p;
        FORWARD_IF_ERROR(pw_find_piece(w, col, ci, SHMC_ROLE_PICKLE, 0, &p));
        p.lo = p.hi = 0;
        FORWARD_IF_ERROR(object_piece(w, &emit, &p));
    } else if (count.npieces == 1) {
        FORWARD_IF_ERROR(
            pw_for_each_piece(w, col, ci, SHMC_ROLE_PICKLE, runs, nruns, object_piece, &emit));
    } else {
        pw_call_begin(w, G_CONCAT);
        shmc_pk_op(&w->pk, SHMC_OP_EMPTY_LIST);
        shmc_pk_op(&w->pk, SHMC_OP_MARK);
        FORWARD_IF_ERROR(
            pw_for_each_piece(w, col, ci, SHMC_ROLE_PICKLE, runs, nruns, series_piece, &emit));
        shmc_pk_op(&w->pk, SHMC_OP_APPENDS);
        pw_call_end(w);
    }
    if (object) {
        pw_dtype(w, "O");
        shmc_pk_bool(&w->pk, 0);
        shmc_pk_none(&w->pk);
        shmc_pk_bool(&w->pk, 0);
        return pw_call_end(w);
    }
    return count.npieces > 1 ? pw_call_end(w) : w->pk.status;
}

int pw_column(pw_writer *w, uint32_t col, const shmc_column_info *ci, const pw_run *runs,
              size_t nruns)
{
    switch (ci->kind) {
    case SHMC_KIND_BOOL:
    case SHMC_KIND_INT8:
    case SHMC_KIND_INT16:
    case SHMC_KIND_INT32:
    case SHMC_KIND_INT64:
    case SHMC_KIND_UINT8:
    case SHMC_KIND_UINT16:
    case SHMC_KIND_UINT32:
    case SHMC_KIND_UINT64:
    case SHMC_KIND_FLOAT32:
    case SHMC_KIND_FLOAT64: return pw_emit_numeric(w, col, ci, runs, nruns);
    case SHMC_KIND_DATETIME:
    case SHMC_KIND_TIMEDELTA: return pw_emit_time(w, col, ci, runs, nruns);
    case SHMC_KIND_CATEGORICAL: return emit_categorical(w, col, ci, runs, nruns);
    case SHMC_KIND_STRING: return emit_strings(w, col, ci, runs, nruns);
    case SHMC_KIND_OBJECT: return emit_objects(w, col, ci, runs, nruns);
    case SHMC_KIND_ARROW: return pw_emit_arrow(w, col, ci, runs, nruns);
    case SHMC_KIND_PERIOD: return emit_period(w, col, ci, runs, nruns);
    case SHMC_KIND_INTERVAL: return emit_interval(w, col, ci, runs, nruns);
    case SHMC_KIND_SPARSE: return emit_sparse(w, col, ci, runs, nruns);
    default:
        return shmc_err_set(w->err, SHMC_ERR_CORRUPT, "column %u: unknown kind %d", col, ci->kind);
    }
}
