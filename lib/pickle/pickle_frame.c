/* The recogniser: a parsed pickle value graph -> shmc_frame columns.
 *
 * Recognised (pandas 1.5 .. 3.x, numpy 1.26 .. 2.x, protocols 2-5; details and
 * examples in lib/PICKLE.md):
 *   DataFrame   NEWOBJ(pandas[.core.frame].DataFrame) + BUILD {"_mgr"|"_data": manager}
 *   manager     REDUCE(BlockManager, (blocks, axes)), or NEWOBJ(BlockManager) +
 *               BUILD (axes, values, items, {"0.14.1": {"axes", "blocks": [{values, mgr_locs}]}})
 *   block       REDUCE(_unpickle_block | new_block, (values, placement, ndim));
 *               placement = slice(start, stop, step) or an integer ndarray
 *   ndarray     numpy[._]core.numeric._frombuffer(buf, dtype, shape, order) or
 *               numpy[._]core.multiarray._reconstruct + BUILD (1, shape, dtype, fortran, raw);
 *               2-D blocks are (columns, rows); Fortran order is gathered per column,
 *               big-endian data is swapped, both into owned buffers; otherwise the
 *               column points INTO the input
 *   extension   DatetimeArray / TimedeltaArray / Categorical / StringArray via
 *               __pyx_unpickle_NDArrayBacked + BUILD (dtype, ndarray, attrs);
 *               IntegerArray / FloatingArray / BooleanArray {_data, _mask};
 *               ArrowStringArray[NumpySemantics] {_pa_array: pyarrow.lib._restore_array(...), _dtype}
 *   index       _new_Index(RangeIndex | Index | Int64Index | ..., {...}),
 *               _new_DatetimeIndex(DatetimeIndex, {...}),
 *               _new_Index(MultiIndex, {levels, codes, names}): each level becomes one
 *               index column holding the level's values taken by its codes; as the
 *               columns axis, one tuple label per column and the names as one tuple
 *
 * dtype strings written to desc.dtype (what str(series.dtype) prints, so the
 * writer can rebuild the same pandas dtype):
 *   numpy: "bool" "int8".."int64" "uint8".."uint64" "float32" "float64"
 *          "datetime64[<unit>]" "timedelta64[<unit>]" (big-endian sources are swapped
 *          to native, so their dtype is the native one)
 *   "datetime64[<unit>, <tz>]" for DatetimeTZDtype, "category",
 *   "Int8".."Int64" "UInt8".."UInt64" "Float32" "Float64" "boolean",
 *   "object" (object column of str, missing values (if any) spelt None),
 *   "object[nan]" (the same with missing values spelt NaN; a column mixing both,
 *   or holding pd.NA, is refused: no dtype string brings it back exactly),
 *   "string[python]" (StringDtype python, na_value NA), "string[pyarrow]"
 *   (pyarrow, NA), "str" (pyarrow, na_value NaN: pandas 3 default, and pandas 2's
 *   "pyarrow_numpy"), "str[python]" (python storage, na_value NaN).
 */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "frame.h"
#include "pickle_ops.h"
#include "pickle_read.h"

#define PF_MAX_NEST 3   /* values -> categories -> values: deeper is not pandas */

typedef struct pf_ctx {
    shmc_frame *frame;
    shmc_err *err;
    const shmc_pf_sink *sink;
    shmc_pickle_limits lim;
    uint64_t budget;   /* bytes of owned buffers still allowed (max_alloc, like the parser) */
    uint64_t *pos;     /* per-block scratch, ncols entries each, allocated once per frame */
    struct pf_col *tmp;
} pf_ctx;

/* One recognised column (or index, or categories). Stable in memory while the
 * descriptor is in use, since desc.dtype / desc.categories point into it. */
typedef struct pf_col {
    shmc_column_desc d;
    shmc_column_desc cats;
    char dtype[80];
    char cat_dtype[80];
    char tz[64];
    char cat_tz[64];
    uint64_t nrows;
    int used;
    unsigned miss;   /* PF_MISS_* spellings seen in an object column of strings */
} pf_col;

/* How missing values of an object column of strings are spelt: pandas keeps
 * None and NaN apart, so the dtype string records which one the column uses. */
enum { PF_MISS_NONE = 1, PF_MISS_NAN = 2, PF_MISS_NA = 4 };

/* The numpy dtypes this reader accepts, one row per (kind, item size): the only
 * vocabulary of dtype codes. A dtype is looked up here when it is parsed, before
 * any data, shape or gather is touched, so every pf_dtype has an item size of 1,
 * 2, 4 or 8 (never 0, never wider than the 8-byte scratch that codes are read
 * into). Documented in lib/PICKLE.md ("Accepted numpy dtypes"). */
typedef struct pf_dtype_row {
    char kind;            /* numpy kind: b i u f M m O */
    uint8_t size;         /* item size in bytes */
    int shmc_kind;        /* SHMC_KIND_*, 0 for object arrays (items are a list) */
    const char *name;     /* str(numpy dtype); M/m add "[<unit>]" */
} pf_dtype_row;

static const pf_dtype_row pf_dtypes[] = {
    {'b', 1, SHMC_KIND_BOOL, "bool"},
    {'i', 1, SHMC_KIND_INT8, "int8"},       {'i', 2, SHMC_KIND_INT16, "int16"},
    {'i', 4, SHMC_KIND_INT32, "int32"},     {'i', 8, SHMC_KIND_INT64, "int64"},
    {'u', 1, SHMC_KIND_UINT8, "uint8"},     {'u', 2, SHMC_KIND_UINT16, "uint16"},
    {'u', 4, SHMC_KIND_UINT32, "uint32"},   {'u', 8, SHMC_KIND_UINT64, "uint64"},
    {'f', 4, SHMC_KIND_FLOAT32, "float32"}, {'f', 8, SHMC_KIND_FLOAT64, "float64"},
    {'M', 8, SHMC_KIND_DATETIME, "datetime64"}, {'m', 8, SHMC_KIND_TIMEDELTA, "timedelta64"},
    {'O', 8, 0, "object"},                  {'O', 4, 0, "object"},  /* 64- / 32-bit pickler */
};

typedef struct pf_dtype {
    char kind;            /* numpy kind: b i u f M m O (row->kind) */
    uint32_t itemsize;    /* row->size */
    const pf_dtype_row *row;
    int swap;             /* big-endian data on this little-endian reader */
    int unit;             /* M/m */
} pf_dtype;

typedef struct pf_arr {
    pf_dtype dt;
    int ndim;
    uint64_t dims[2];
    int fortran;
    const uint8_t *data;
    size_t nbytes;
    const shmc_pk_value *objs;   /* object arrays: list of items, C order */
    const shmc_pk_value *node;
} pf_arr;

/* ---- errors and memory --------------------------------------------------- */
static void pf_name(const shmc_pk_value *v, char *buf, size_t cap) {
    if (v && (v->type == SHMC_PK_REDUCE || v->type == SHMC_PK_NEWOBJ)) v = v->v.call.callable;
    if (v && v->type == SHMC_PK_GLOBAL) {
        snprintf(buf, cap, "%.*s.%.*s", (int)(v->v.global.module_len > 80 ? 80 : v->v.global.module_len),
                 (const char *)v->v.global.module,
                 (int)(v->v.global.name_len > 80 ? 80 : v->v.global.name_len),
                 (const char *)v->v.global.name);
        return;
    }
    snprintf(buf, cap, "%s", v ? shmc_pk_type_name(v->type) : "nothing");
}

__attribute__((format(printf, 4, 5))) static void pf_fail_(pf_ctx *C, int status,
                                                           const shmc_pk_value *at,
                                                           const char *fmt, ...) {
    char detail[360];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(detail, sizeof detail, fmt, ap);
    va_end(ap);
    shmc_err_set(C->err, status, "pickle byte %llu: %s", (unsigned long long)(at ? at->offset : 0),
                 detail);
}

/* Evaluates to the constant status (see pk_fail in pickle_read.c). */
#define pf_fail(C, status, at, ...) (pf_fail_((C), (status), (at), __VA_ARGS__), (status))

static int pf_unsupported(pf_ctx *C, const shmc_pk_value *v, const char *where) {
    char name[200];
    pf_name(v, name, sizeof name);
    return pf_fail(C, SHMC_ERR_UNSUPPORTED, v, "unsupported construct %s as %s", name, where);
}

/* Owned buffers are charged to max_alloc before they are allocated: a few
 * bytes of shape (a (10^12, 0) block, a huge RangeIndex) cannot buy memory. */
static int pf_own(pf_ctx *C, size_t size, void **out) {
    if (size > C->budget)
        return pf_fail(C, SHMC_ERR_LIMIT, NULL, "recogniser would allocate more than max_alloc=%llu bytes",
                       (unsigned long long)C->lim.max_alloc);
    C->budget -= size;
    void *p = malloc(size ? size : 1);
    if (!p) return pf_fail(C, SHMC_ERR_NOMEM, NULL, "out of memory (%zu bytes)", size);
    int st = shmc_frame_keep(C->frame, p, free);
    if (st != SHMC_OK) {
        free(p);
        return st;
    }
    *out = p;
    return SHMC_OK;
}

/* ---- globals ------------------------------------------------------------- */
static int pf_name_is(const shmc_pk_value *g, const char *name) {
    size_t n = strlen(name);
    return g && g->type == SHMC_PK_GLOBAL && g->v.global.name_len == n &&
           memcmp(g->v.global.name, name, n) == 0;
}

static int pf_module_prefix(const shmc_pk_value *g, const char *prefix) {
    size_t n = strlen(prefix);
    return g->v.global.module_len >= n && memcmp(g->v.global.module, prefix, n) == 0 &&
           (g->v.global.module_len == n || g->v.global.module[n] == '.');
}

/* A pandas class or function, wherever pandas keeps it this version. */
static int pf_pd(const shmc_pk_value *g, const char *name) {
    return pf_name_is(g, name) && pf_module_prefix(g, "pandas");
}

/* numpy.core.X / numpy._core.X (numpy 1 / numpy 2). */
static int pf_np(const shmc_pk_value *g, const char *sub, const char *name) {
    char a[64], b[64];
    snprintf(a, sizeof a, "numpy.core.%s", sub);
    snprintf(b, sizeof b, "numpy._core.%s", sub);
    return shmc_pk_is_global(g, a, name) || shmc_pk_is_global(g, b, name);
}

static int pf_builtin(const shmc_pk_value *g, const char *name) {
    return shmc_pk_is_global(g, "builtins", name) || shmc_pk_is_global(g, "__builtin__", name);
}

static const shmc_pk_value *pf_callee(const shmc_pk_value *v) {
    return v && (v->type == SHMC_PK_REDUCE || v->type == SHMC_PK_NEWOBJ) ? v->v.call.callable : NULL;
}

/* Argument i of a REDUCE/NEWOBJ (NULL for anything else: the union is not args). */
static const shmc_pk_value *pf_arg(const shmc_pk_value *v, size_t i) {
    return pf_callee(v) ? shmc_pk_item(v->v.call.args, i) : NULL;
}

static size_t pf_nargs(const shmc_pk_value *v) {
    return pf_callee(v) ? shmc_pk_len(v->v.call.args) : 0;
}

/* A list or tuple: what shmc_pk_len/shmc_pk_item index (not a set or dict). */
static int pf_is_list(const shmc_pk_value *v) {
    return v && (v->type == SHMC_PK_LIST || v->type == SHMC_PK_TUPLE);
}

static int pf_int(const shmc_pk_value *v, int64_t *out) {
    if (!v || (v->type != SHMC_PK_INT && v->type != SHMC_PK_BOOL) || (v->flags & SHMC_PK_F_UNSIGNED))
        return 0;
    *out = v->v.i;
    return 1;
}

static int pf_is_na(const shmc_pk_value *v) {
    return pf_pd(v, "NA");   /* pandas._libs.missing.NA, pandas.NA */
}

/* ---- bytes --------------------------------------------------------------- */
/* Protocol 2 spells bytes as _codecs.encode(<latin-1 text>, "latin1"). */
static int pf_latin1(pf_ctx *C, const shmc_pk_value *s, const uint8_t **ptr, size_t *len) {
    uint8_t *out;
    FORWARD_IF_ERROR(pf_own(C, s->v.bytes.len, (void **)&out));
    const uint8_t *p = s->v.bytes.ptr, *end = p + s->v.bytes.len;
    size_t n = 0;
    while (p < end) {
        if (*p < 0x80) {
            out[n++] = *p++;
        } else if ((*p == 0xC2 || *p == 0xC3) && p + 1 < end && (p[1] & 0xC0) == 0x80) {
            out[n++] = (uint8_t)(((p[0] & 0x1F) << 6) | (p[1] & 0x3F));
            p += 2;
        } else {
            return pf_fail(C, SHMC_ERR_PICKLE, s, "bytes spelt as text are not latin-1");
        }
    }
    *ptr = out;
    *len = n;
    return SHMC_OK;
}

static int pf_bytes(pf_ctx *C, const shmc_pk_value *v, const uint8_t **ptr, size_t *len, int nest) {
    if (v && v->type == SHMC_PK_BYTES) {
        *ptr = v->v.bytes.ptr;
        *len = v->v.bytes.len;
        return SHMC_OK;
    }
    const shmc_pk_value *f = pf_callee(v);
    size_t nargs = pf_nargs(v);
    if (f && v->type == SHMC_PK_REDUCE && nest < 3) {
        if (shmc_pk_is_global(f, "_codecs", "encode") && nargs == 2 &&
            pf_arg(v, 0)->type == SHMC_PK_STR && shmc_pk_str_eq(pf_arg(v, 1), "latin1"))
            return pf_latin1(C, pf_arg(v, 0), ptr, len);
        if ((pf_builtin(f, "bytes") || pf_builtin(f, "bytearray")) && nargs == 0) {
            *ptr = (const uint8_t *)"";
            *len = 0;
            return SHMC_OK;
        }
        if ((pf_builtin(f, "bytearray") || shmc_pk_is_global(f, "pyarrow.lib", "py_buffer")) && nargs == 1)
            return pf_bytes(C, pf_arg(v, 0), ptr, len, nest + 1);
    }
    return pf_unsupported(C, v, "a byte buffer");
}

/* ---- numpy dtypes -------------------------------------------------------- */
static int pf_unit(const uint8_t *p, size_t n) {
    if (n == 2 && !memcmp(p, "ns", 2)) return SHMC_UNIT_NS;
    if (n == 2 && !memcmp(p, "us", 2)) return SHMC_UNIT_US;
    if (n == 2 && !memcmp(p, "ms", 2)) return SHMC_UNIT_MS;
    if (n == 1 && p[0] == 's') return SHMC_UNIT_S;
    return 0;
}

static const char *pf_unit_name(int unit) {
    static const char *const n[] = {"", "s", "ms", "us", "ns"};
    return unit >= 0 && unit <= 4 ? n[unit] : "";
}

/* dtype state item 8 (datetimes): (metadata, (unit, num, den, events)). */
static int pf_dtype_unit(pf_ctx *C, const shmc_pk_value *state, pf_dtype *dt) {
    const shmc_pk_value *info = shmc_pk_item(shmc_pk_item(state, 8), 1);
    const uint8_t *u;
    size_t ul;
    int64_t num;
    if (!info) return pf_unsupported(C, state, "datetime dtype state");
    FORWARD_IF_ERROR(pf_bytes(C, shmc_pk_item(info, 0), &u, &ul, 0));
    dt->unit = pf_unit(u, ul);
    if (!dt->unit || !pf_int(shmc_pk_item(info, 1), &num) || num != 1)
        return pf_fail(C, SHMC_ERR_UNSUPPORTED, state,
                       "datetime unit '%.*s' (only s, ms, us, ns with multiplier 1)",
                       (int)(ul > 16 ? 16 : ul), (const char *)u);
    return SHMC_OK;
}

static const pf_dtype_row *pf_dtype_lookup(char kind, uint32_t size) {
    for (size_t i = 0; i < sizeof pf_dtypes / sizeof *pf_dtypes; i++)
        if (pf_dtypes[i].kind == kind && pf_dtypes[i].size == size) return &pf_dtypes[i];
    return NULL;
}

/* "<kind><digits>" (numpy's dtype code, 2-4 characters) -> a row of pf_dtypes. */
static const pf_dtype_row *pf_dtype_code(const uint8_t *s, size_t len) {
    uint32_t size = 0;
    if (len < 2 || len > 4) return NULL;
    for (size_t i = 1; i < len; i++) {
        if (s[i] < '0' || s[i] > '9') return NULL;
        size = size * 10 + (uint32_t)(s[i] - '0');
    }
    return pf_dtype_lookup((char)s[0], size);
}

static int pf_dtype_parse(pf_ctx *C, const shmc_pk_value *v, pf_dtype *dt) {
    memset(dt, 0, sizeof *dt);
    const shmc_pk_value *code = pf_arg(v, 0);
    if (!shmc_pk_is_global(pf_callee(v), "numpy", "dtype") || !code || code->type != SHMC_PK_STR)
        return pf_unsupported(C, v, "a numpy dtype");
    dt->row = pf_dtype_code(code->v.bytes.ptr, code->v.bytes.len);
    if (!dt->row)
        return pf_fail(C, SHMC_ERR_UNSUPPORTED, v, "numpy dtype '%.*s' (read: b1, i1/2/4/8, u1/2/4/8, "
                       "f4/8, M8, m8, O8)", (int)(code->v.bytes.len > 16 ? 16 : code->v.bytes.len),
                       (const char *)code->v.bytes.ptr);
    dt->kind = dt->row->kind;
    dt->itemsize = dt->row->size;
    const shmc_pk_value *order = shmc_pk_item(shmc_pk_state(v), 1);
    dt->swap = shmc_pk_str_eq(order, ">") && dt->itemsize > 1;
    if (dt->kind == 'M' || dt->kind == 'm') FORWARD_IF_ERROR(pf_dtype_unit(C, shmc_pk_state(v), dt));
    return SHMC_OK;
}

/* Kind and dtype string of a fixed-width numpy dtype (its pf_dtypes row). */
static int pf_fixed_kind(pf_ctx *C, const pf_dtype *dt, const shmc_pk_value *at, int *kind,
                         char *name, size_t cap) {
    *kind = dt->row ? dt->row->shmc_kind : 0;
    if (!*kind) return pf_fail(C, SHMC_ERR_UNSUPPORTED, at, "numpy dtype kind '%c' as fixed-width values",
                               dt->kind);
    if (dt->kind == 'M' || dt->kind == 'm')
        snprintf(name, cap, "%s[%s]", dt->row->name, pf_unit_name(dt->unit));
    else
        snprintf(name, cap, "%s", dt->row->name);
    return SHMC_OK;
}

/* ---- numpy arrays -------------------------------------------------------- */
static int pf_shape(pf_ctx *C, const shmc_pk_value *shape, pf_arr *a) {
    size_t n = shmc_pk_len(shape);
    if (!shape || shape->type != SHMC_PK_TUPLE || n < 1 || n > 2)
        return pf_unsupported(C, shape, "an array shape (1-D or 2-D)");
    a->ndim = (int)n;
    for (size_t i = 0; i < n; i++) {
        int64_t d;
        if (!pf_int(shmc_pk_item(shape, i), &d) || d < 0)
            return pf_fail(C, SHMC_ERR_PICKLE, shape, "array dimension is not a non-negative int");
        a->dims[i] = (uint64_t)d;
    }
    return SHMC_OK;
}

static int pf_arr_count(pf_ctx *C, const pf_arr *a, uint64_t *count) {
    uint64_t n = a->dims[0];
    if (a->ndim == 2) {
        if (a->dims[1] && n > UINT64_MAX / a->dims[1])
            return pf_fail(C, SHMC_ERR_PICKLE, a->node, "array shape overflows");
        n *= a->dims[1];
    }
    *count = n;
    return SHMC_OK;
}

/* Data length must match the shape exactly: nothing is read past what was checked. */
static int pf_arr_check(pf_ctx *C, pf_arr *a) {
    uint64_t count;
    FORWARD_IF_ERROR(pf_arr_count(C, a, &count));
    if (a->dt.kind == 'O') {
        if (!a->objs || a->objs->type != SHMC_PK_LIST || shmc_pk_len(a->objs) != count)
            return pf_fail(C, SHMC_ERR_PICKLE, a->node, "object array of %llu items holds %zu",
                           (unsigned long long)count, shmc_pk_len(a->objs));
        return SHMC_OK;
    }
    if (a->dt.itemsize && count > UINT64_MAX / a->dt.itemsize)
        return pf_fail(C, SHMC_ERR_PICKLE, a->node, "array size overflows");
    if (count * a->dt.itemsize != a->nbytes)
        return pf_fail(C, SHMC_ERR_PICKLE, a->node, "array of %llu x %u bytes has %zu bytes of data",
                       (unsigned long long)count, a->dt.itemsize, a->nbytes);
    return SHMC_OK;
}

static int pf_frombuffer(pf_ctx *C, const shmc_pk_value *v, pf_arr *a) {
    FORWARD_IF_ERROR(pf_dtype_parse(C, pf_arg(v, 1), &a->dt));
    if (a->dt.kind == 'O') return pf_unsupported(C, v, "an object array from a buffer");
    FORWARD_IF_ERROR(pf_bytes(C, pf_arg(v, 0), &a->data, &a->nbytes, 0));
    FORWARD_IF_ERROR(pf_shape(C, pf_arg(v, 2), a));
    a->fortran = shmc_pk_str_eq(pf_arg(v, 3), "F");
    return pf_arr_check(C, a);
}

static int pf_reconstruct(pf_ctx *C, const shmc_pk_value *v, pf_arr *a) {
    const shmc_pk_value *st = shmc_pk_state(v);
    if (!st || st->type != SHMC_PK_TUPLE || shmc_pk_len(st) != 5)
        return pf_unsupported(C, v, "an ndarray without its (version, shape, dtype, fortran, data) state");
    FORWARD_IF_ERROR(pf_shape(C, shmc_pk_item(st, 1), a));
    FORWARD_IF_ERROR(pf_dtype_parse(C, shmc_pk_item(st, 2), &a->dt));
    int64_t fortran = 0;
    pf_int(shmc_pk_item(st, 3), &fortran);
    a->fortran = fortran != 0;
    if (a->dt.kind == 'O') a->objs = shmc_pk_item(st, 4);
    else FORWARD_IF_ERROR(pf_bytes(C, shmc_pk_item(st, 4), &a->data, &a->nbytes, 0));
    return pf_arr_check(C, a);
}

static int pf_is_ndarray(const shmc_pk_value *v) {
    const shmc_pk_value *f = pf_callee(v);
    return v && v->type == SHMC_PK_REDUCE &&
           (pf_np(f, "numeric", "_frombuffer") || pf_np(f, "multiarray", "_reconstruct"));
}

static int pf_array(pf_ctx *C, const shmc_pk_value *v, pf_arr *a) {
    memset(a, 0, sizeof *a);
    a->node = v;
    if (v && v->type == SHMC_PK_REDUCE && pf_np(pf_callee(v), "numeric", "_frombuffer"))
        return pf_frombuffer(C, v, a);
    if (v && v->type == SHMC_PK_REDUCE && pf_np(pf_callee(v), "multiarray", "_reconstruct"))
        return pf_reconstruct(C, v, a);
    return pf_unsupported(C, v, "a numpy array");
}

static void pf_arr_rows(const pf_arr *a, uint64_t *k, uint64_t *n) {
    *k = a->ndim == 2 ? a->dims[0] : 1;
    *n = a->ndim == 2 ? a->dims[1] : a->dims[0];
}

static void pf_swap(uint8_t *p, size_t count, uint32_t size) {
    for (size_t i = 0; i < count; i++, p += size)
        for (uint32_t b = 0; b < size / 2; b++) {
            uint8_t t = p[b];
            p[b] = p[size - 1 - b];
            p[size - 1 - b] = t;
        }
}

/* Pointer to row j of a (k, n) C-ordered array (or of a one-row array): into
 * the input when native, else swapped into an owned buffer. */
static int pf_arr_row(pf_ctx *C, const pf_arr *a, uint64_t j, const void **out) {
    uint64_t k, n;
    pf_arr_rows(a, &k, &n);
    size_t s = a->dt.itemsize, bytes = (size_t)n * s;
    const uint8_t *row = a->data + (size_t)j * bytes;
    if (!a->dt.swap) {
        *out = row;
        return SHMC_OK;
    }
    uint8_t *copy;
    FORWARD_IF_ERROR(pf_own(C, bytes, (void **)&copy));
    memcpy(copy, row, bytes);
    pf_swap(copy, (size_t)n, (uint32_t)s);
    *out = copy;
    return SHMC_OK;
}

#define PF_TILE_ROWS 512

/* A Fortran-ordered (k, n) block holds frame row r as k adjacent values, so its
 * columns are strided: gather them all in one pass over tiles of rows (the tile
 * stays in cache while each column gets one contiguous run). */
static int pf_arr_gather(pf_ctx *C, const pf_arr *a, uint64_t k, uint64_t n, uint8_t **outs) {
    size_t s = a->dt.itemsize;
    for (uint64_t j = 0; j < k; j++) FORWARD_IF_ERROR(pf_own(C, (size_t)(n * s), (void **)&outs[j]));
    for (uint64_t r0 = 0; r0 < n; r0 += PF_TILE_ROWS) {
        uint64_t r1 = r0 + PF_TILE_ROWS < n ? r0 + PF_TILE_ROWS : n;
        for (uint64_t j = 0; j < k; j++) {
            const uint8_t *src = a->data + (size_t)((r0 * k + j) * s);
            uint8_t *dst = outs[j] + r0 * s;
            if (s == 8)
                for (uint64_t r = r0; r < r1; r++, src += k * 8, dst += 8) memcpy(dst, src, 8);
            else
                for (uint64_t r = r0; r < r1; r++, src += k * s, dst += s) memcpy(dst, src, s);
        }
    }
    if (a->dt.swap)
        for (uint64_t j = 0; j < k; j++) pf_swap(outs[j], (size_t)n, (uint32_t)s);
    return SHMC_OK;
}

/* ---- strings ------------------------------------------------------------- */
static int pf_missing(const shmc_pk_value *v) {
    return v->type == SHMC_PK_NONE || pf_is_na(v) || (v->type == SHMC_PK_FLOAT && isnan(v->v.f));
}

/* Object items (str / None / NaN / pd.NA) -> Arrow offsets + data + validity, two
 * passes (measure, fill), three allocations. */
static unsigned pf_miss_kind(const shmc_pk_value *v) {
    if (v->type == SHMC_PK_NONE) return PF_MISS_NONE;
    return v->type == SHMC_PK_FLOAT ? PF_MISS_NAN : PF_MISS_NA;
}

/* total += len for string bytes about to be allocated: memo references let a few
 * input bytes repeat one long string, so the sum is bounded by the budget before
 * it could wrap (and before any allocation). */
static int pf_add_len(pf_ctx *C, uint64_t *total, uint64_t len, const shmc_pk_value *at) {
    if (len > C->budget || *total > C->budget - len)
        return pf_fail(C, SHMC_ERR_LIMIT, at, "strings would take more than max_alloc=%llu bytes",
                       (unsigned long long)C->lim.max_alloc);
    *total += len;
    return SHMC_OK;
}

/* The three buffers of n strings of `total` bytes: offsets (the first one 0), data,
 * and a zeroed validity bitmap when some are null (NULL otherwise). */
static int pf_string_bufs(pf_ctx *C, uint64_t n, uint64_t total, uint64_t nulls, int64_t **off,
                          uint8_t **data, uint8_t **valid) {
    *valid = NULL;
    FORWARD_IF_ERROR(pf_own(C, (size_t)(n + 1) * sizeof **off, (void **)off));
    FORWARD_IF_ERROR(pf_own(C, (size_t)total, (void **)data));
    (*off)[0] = 0;
    if (!nulls) return SHMC_OK;
    FORWARD_IF_ERROR(pf_own(C, (size_t)(n + 7) / 8, (void **)valid));
    memset(*valid, 0, (size_t)(n + 7) / 8);
    return SHMC_OK;
}

static int pf_strings(pf_ctx *C, shmc_pk_value *const *items, uint64_t n, pf_col *col) {
    uint64_t total = 0, nulls = 0;
    col->miss = 0;
    for (uint64_t i = 0; i < n; i++) {
        const shmc_pk_value *it = items[i];
        if (it->type == SHMC_PK_STR) FORWARD_IF_ERROR(pf_add_len(C, &total, it->v.bytes.len, it));
        else if (pf_missing(it)) {
            nulls++;
            col->miss |= pf_miss_kind(it);
        } else
            return pf_fail(C, SHMC_ERR_UNSUPPORTED, it,
                           "object column row %llu holds a %s (only str/None/NaN are read; "
                           "other Python objects are not)", (unsigned long long)i,
                           shmc_pk_type_name(it->type));
    }
    int64_t *off;
    uint8_t *data, *valid;
    FORWARD_IF_ERROR(pf_string_bufs(C, n, total, nulls, &off, &data, &valid));
    uint64_t pos = 0;
    for (uint64_t i = 0; i < n; i++) {
        const shmc_pk_value *it = items[i];
        if (it->type == SHMC_PK_STR) {
            if (it->v.bytes.len) memcpy(data + pos, it->v.bytes.ptr, it->v.bytes.len);
            pos += it->v.bytes.len;
            if (valid) valid[i >> 3] |= (uint8_t)(1u << (i & 7));
        }
        off[i + 1] = (int64_t)pos;
    }
    col->d.kind = SHMC_KIND_STRING;
    col->d.offsets = off;
    col->d.data = data;
    col->d.validity = valid;
    col->nrows = n;
    return SHMC_OK;
}

/* ---- pyarrow ------------------------------------------------------------- */
static int pf_arrow_type(pf_ctx *C, const shmc_pk_value *t, int *large) {
    const shmc_pk_value *alias = pf_arg(t, 0);
    if (t && t->type == SHMC_PK_REDUCE && shmc_pk_is_global(pf_callee(t), "pyarrow.lib", "type_for_alias")) {
        if (shmc_pk_str_eq(alias, "large_string") || shmc_pk_str_eq(alias, "large_utf8")) {
            *large = 1;
            return SHMC_OK;
        }
        if (shmc_pk_str_eq(alias, "string") || shmc_pk_str_eq(alias, "utf8") ||
            shmc_pk_str_eq(alias, "str")) {
            *large = 0;
            return SHMC_OK;
        }
    }
    return pf_unsupported(C, t, "a pyarrow string type");
}

/* Check and (when needed) copy the offsets of an Arrow (large_)string array. */
static int pf_arrow_offsets(pf_ctx *C, const shmc_pk_value *at, const uint8_t *ob, size_t olen,
                            int large, uint64_t off, uint64_t n, size_t dlen, const int64_t **out) {
    size_t w = large ? 8 : 4;
    if (off + n + 1 < off || (off + n + 1) > olen / w)
        return pf_fail(C, SHMC_ERR_PICKLE, at, "arrow offsets buffer of %zu bytes is too short", olen);
    const uint8_t *p = ob + off * w;
    int64_t *o = NULL;
    int aligned = large && ((uintptr_t)p % 8) == 0;
    if (!aligned) FORWARD_IF_ERROR(pf_own(C, (size_t)(n + 1) * 8, (void **)&o));
    int64_t prev = 0;
    for (uint64_t i = 0; i <= n; i++) {
        int64_t x;
        if (large) memcpy(&x, p + i * 8, 8);
        else { int32_t y; memcpy(&y, p + i * 4, 4); x = y; }
        if (x < (i ? prev : 0) || (uint64_t)x > dlen)
            return pf_fail(C, SHMC_ERR_PICKLE, at, "arrow offset %llu is %lld (data %zu bytes)",
                           (unsigned long long)i, (long long)x, dlen);
        if (o) o[i] = x;
        prev = x;
    }
    *out = o ? o : (const int64_t *)(const void *)p;
    return SHMC_OK;
}

static int pf_arrow_array(pf_ctx *C, const shmc_pk_value *v, pf_col *col) {
    const shmc_pk_value *t = pf_arg(v, 0);
    if (!shmc_pk_is_global(pf_callee(v), "pyarrow.lib", "_restore_array") || shmc_pk_len(t) < 5)
        return pf_unsupported(C, v, "a pyarrow array");
    int large = 0;
    int64_t n, nulls, off;
    FORWARD_IF_ERROR(pf_arrow_type(C, shmc_pk_item(t, 0), &large));
    const shmc_pk_value *bufs = shmc_pk_item(t, 4);
    if (!pf_is_list(bufs)) return pf_unsupported(C, bufs, "pyarrow array buffers (a list is read)");
    if (!pf_int(shmc_pk_item(t, 1), &n) || !pf_int(shmc_pk_item(t, 2), &nulls) ||
        !pf_int(shmc_pk_item(t, 3), &off) || n < 0 || off < 0 || shmc_pk_len(bufs) != 3)
        return pf_fail(C, SHMC_ERR_PICKLE, v, "pyarrow array header is malformed");
    const uint8_t *vb = NULL, *ob, *db;
    size_t vlen = 0, olen, dlen;
    const shmc_pk_value *vnode = shmc_pk_item(bufs, 0);
    if (vnode->type != SHMC_PK_NONE) FORWARD_IF_ERROR(pf_bytes(C, vnode, &vb, &vlen, 0));
    FORWARD_IF_ERROR(pf_bytes(C, shmc_pk_item(bufs, 1), &ob, &olen, 0));
    FORWARD_IF_ERROR(pf_bytes(C, shmc_pk_item(bufs, 2), &db, &dlen, 0));
    if (vb && ((uint64_t)off + (uint64_t)n + 7) / 8 > vlen)
        return pf_fail(C, SHMC_ERR_PICKLE, v, "arrow validity buffer of %zu bytes is too short", vlen);
    /* null_count -1 means "not computed" (sliced arrays); no validity means none */
    if (!vb && nulls > 0)
        return pf_fail(C, SHMC_ERR_PICKLE, v, "arrow array has %lld nulls and no validity", (long long)nulls);
    if (!vb || nulls == 0) vb = NULL;
    const int64_t *o;
    FORWARD_IF_ERROR(pf_arrow_offsets(C, v, ob, olen, large, (uint64_t)off, (uint64_t)n, dlen, &o));
    col->d.kind = SHMC_KIND_STRING;
    col->d.offsets = o;
    col->d.data = dlen ? db : (const uint8_t *)"";
    col->d.validity = vb;
    col->d.validity_offset = vb ? (uint64_t)off : 0;
    col->nrows = (uint64_t)n;
    return SHMC_OK;
}

/* pyarrow ChunkedArray of exactly one chunk, or an Array. */
static int pf_arrow(pf_ctx *C, const shmc_pk_value *v, pf_col *col) {
    if (v && v->type == SHMC_PK_REDUCE && shmc_pk_is_global(pf_callee(v), "pyarrow.lib", "chunked_array")) {
        const shmc_pk_value *chunks = pf_arg(v, 0);
        if (shmc_pk_len(chunks) != 1)
            return pf_fail(C, SHMC_ERR_UNSUPPORTED, v, "pyarrow ChunkedArray of %zu chunks (1 is read)",
                           shmc_pk_len(chunks));
        v = shmc_pk_item(chunks, 0);
    }
    return pf_arrow_array(C, v, col);
}

/* ---- pandas dtypes ------------------------------------------------------- */
/* StringDtype: NEWOBJ + BUILD {storage[, na_value]} (pandas 1.5/2.x) or
 * REDUCE(StringDtype, (storage, na_value)) (pandas 3). */
static int pf_string_dtype(pf_ctx *C, const shmc_pk_value *v, char *out, size_t cap) {
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
    else if (shmc_pk_str_eq(storage, "python")) snprintf(out, cap, nan ? "str[python]" : "string[python]");
    else return pf_unsupported(C, storage, "a StringDtype storage");
    return SHMC_OK;
}

/* Time zone name from datetime.timezone.utc, pytz or zoneinfo objects. */
static int pf_tz_name(pf_ctx *C, const shmc_pk_value *v, char *out, size_t cap) {
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
        if (!shmc_pk_is_global(pf_callee(td), "datetime", "timedelta") || !pf_int(pf_arg(td, 0), &d) ||
            !pf_int(pf_arg(td, 1), &s) || !pf_int(pf_arg(td, 2), &us) || d || s || us)
            return pf_unsupported(C, v, "a time zone (fixed offsets other than UTC are not read)");
        snprintf(out, cap, "UTC");
    } else
        return pf_unsupported(C, v, "a time zone");
    if (key) {
        if (key->type != SHMC_PK_STR || key->v.bytes.len == 0 || key->v.bytes.len >= cap)
            return pf_unsupported(C, key, "a time zone name");
        memcpy(out, key->v.bytes.ptr, key->v.bytes.len);
        out[key->v.bytes.len] = '\0';
    }
    return SHMC_OK;
}

/* DatetimeTZDtype: state {"unit"|"_unit": str, "tz"|"_tz": tz object}. */
static int pf_tz_dtype(pf_ctx *C, const shmc_pk_value *v, char *tz, size_t cap, int *unit) {
    const shmc_pk_value *st = shmc_pk_state(v);
    const shmc_pk_value *u = shmc_pk_dict_get(st, "unit"), *z = shmc_pk_dict_get(st, "tz");
    if (!u) u = shmc_pk_dict_get(st, "_unit");
    if (!z) z = shmc_pk_dict_get(st, "_tz");
    if (!u || u->type != SHMC_PK_STR || !z) return pf_unsupported(C, v, "a DatetimeTZDtype");
    *unit = pf_unit(u->v.bytes.ptr, u->v.bytes.len);
    if (!*unit) return pf_unsupported(C, u, "a datetime unit");
    return pf_tz_name(C, z, tz, cap);
}

/* ---- values -> columns --------------------------------------------------- */
static int pf_values(pf_ctx *C, const shmc_pk_value *v, pf_col *cols, uint64_t k, int nest);
static int pf_index_col(pf_ctx *C, const shmc_pk_value *idx, pf_col *col, shmc_label *name, int nest);

/* numpy bools are one byte, but only 0 and 1 behave: a stored 2 prints True yet
 * breaks value_counts()/nunique(). Bool data from a pickle is checked, and when a
 * byte is neither 0 nor 1 the column is normalised (nonzero -> 1, as numpy's
 * truth value) into an owned copy; the common case stays a view. */
static int pf_bool_bytes(pf_ctx *C, const uint8_t **data, uint64_t n) {
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

static int pf_fixed_cols(pf_ctx *C, const pf_arr *a, pf_col *cols, uint64_t k) {
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

static int pf_ndarray_cols(pf_ctx *C, const shmc_pk_value *v, pf_col *cols, uint64_t k) {
    pf_arr a;
    FORWARD_IF_ERROR(pf_array(C, v, &a));
    return pf_fixed_cols(C, &a, cols, k);
}

static int pf_datetime_cols(pf_ctx *C, const shmc_pk_value *dtype, const shmc_pk_value *arr,
                            pf_col *cols, uint64_t k) {
    char tz[64] = "";
    int unit = 0;
    if (pf_pd(pf_callee(dtype), "DatetimeTZDtype"))
        FORWARD_IF_ERROR(pf_tz_dtype(C, dtype, tz, sizeof tz, &unit));
    FORWARD_IF_ERROR(pf_ndarray_cols(C, arr, cols, k));
    for (uint64_t j = 0; j < k && tz[0]; j++) {
        if (cols[j].d.kind != SHMC_KIND_DATETIME || cols[j].d.unit != unit)
            return pf_fail(C, SHMC_ERR_PICKLE, arr, "DatetimeTZDtype with a %s array", cols[j].dtype);
        snprintf(cols[j].tz, sizeof cols[j].tz, "%s", tz);
        cols[j].d.tz = cols[j].tz;
        snprintf(cols[j].dtype, sizeof cols[j].dtype, "datetime64[%s, %s]", pf_unit_name(unit), tz);
    }
    return SHMC_OK;
}

static int pf_categorical(pf_ctx *C, const shmc_pk_value *dtype, const shmc_pk_value *codes,
                          pf_col *col, int nest) {
    if (!pf_pd(pf_callee(dtype), "CategoricalDtype")) return pf_unsupported(C, dtype, "a CategoricalDtype");
    pf_col cats;
    memset(&cats, 0, sizeof cats);
    shmc_label ignored;
    const shmc_pk_value *cat_index = shmc_pk_dict_get(shmc_pk_state(dtype), "categories");
    FORWARD_IF_ERROR(pf_index_col(C, cat_index, &cats, &ignored, nest + 1));
    if (cats.d.kind == SHMC_KIND_CATEGORICAL) return pf_unsupported(C, dtype, "categories of a categorical");
    FORWARD_IF_ERROR(pf_ndarray_cols(C, codes, col, 1));
    int ck = col->d.kind;
    if (ck < SHMC_KIND_INT8 || ck > SHMC_KIND_INT64)
        return pf_fail(C, SHMC_ERR_PICKLE, codes, "categorical codes are %s, not signed ints", col->dtype);
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
static int pf_ndarray_backed(pf_ctx *C, const shmc_pk_value *v, pf_col *cols, uint64_t k, int nest) {
    const shmc_pk_value *cls = pf_arg(v, 0), *st = shmc_pk_state(v);
    const shmc_pk_value *dtype = shmc_pk_item(st, 0), *arr = shmc_pk_item(st, 1);
    if (!st || st->type != SHMC_PK_TUPLE || !arr) return pf_unsupported(C, v, "an NDArrayBacked state");
    if (pf_pd(cls, "DatetimeArray")) return pf_datetime_cols(C, dtype, arr, cols, k);
    if (pf_pd(cls, "TimedeltaArray")) return pf_ndarray_cols(C, arr, cols, k);
    if (k != 1)
        return pf_fail(C, SHMC_ERR_PICKLE, v, "1-D extension array placed in %llu columns",
                       (unsigned long long)k);
    if (pf_pd(cls, "Categorical")) return pf_categorical(C, dtype, arr, cols, nest);
    if (pf_pd(cls, "StringArray")) {
        FORWARD_IF_ERROR(pf_ndarray_cols(C, arr, cols, 1));
        if (cols->d.kind != SHMC_KIND_STRING) return pf_unsupported(C, arr, "StringArray data");
        return pf_string_dtype(C, dtype, cols->dtype, sizeof cols->dtype);
    }
    return pf_unsupported(C, cls, "a pandas array");
}

/* IntegerArray / FloatingArray / BooleanArray: {_data, _mask}. */
static int pf_masked(pf_ctx *C, const shmc_pk_value *v, pf_col *col, const char *what) {
    pf_arr mask;
    FORWARD_IF_ERROR(pf_ndarray_cols(C, shmc_pk_dict_get(shmc_pk_state(v), "_data"), col, 1));
    FORWARD_IF_ERROR(pf_array(C, shmc_pk_dict_get(shmc_pk_state(v), "_mask"), &mask));
    if (mask.dt.kind != 'b' || mask.dt.itemsize != 1 || mask.ndim != 1 || mask.dims[0] != col->nrows ||
        mask.nbytes != col->nrows)
        return pf_fail(C, SHMC_ERR_PICKLE, v, "%s mask is not a bool array of %llu rows", what,
                       (unsigned long long)col->nrows);
    col->d.mask = mask.data;
    FORWARD_IF_ERROR(pf_bool_bytes(C, &col->d.mask, col->nrows));
    const char *d = col->dtype;   /* numpy name of _data: int64, uint8, float32, bool */
    char nd[80];
    if (!strcmp(what, "BooleanArray") && col->d.kind == SHMC_KIND_BOOL) snprintf(nd, sizeof nd, "boolean");
    else if (!strcmp(what, "IntegerArray") && d[0] == 'i') snprintf(nd, sizeof nd, "Int%s", d + 3);
    else if (!strcmp(what, "IntegerArray") && d[0] == 'u') snprintf(nd, sizeof nd, "UInt%s", d + 4);
    else if (!strcmp(what, "FloatingArray") && d[0] == 'f') snprintf(nd, sizeof nd, "Float%s", d + 5);
    else return pf_fail(C, SHMC_ERR_PICKLE, v, "%s holds %s data", what, d);
    memcpy(col->dtype, nd, sizeof nd);
    return SHMC_OK;
}

static int pf_arrow_string_array(pf_ctx *C, const shmc_pk_value *v, pf_col *col) {
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

/* Any array a block, an Index or a dtype can hold -> k columns. */
static int pf_values(pf_ctx *C, const shmc_pk_value *v, pf_col *cols, uint64_t k, int nest) {
    if (nest > PF_MAX_NEST) return pf_unsupported(C, v, "deeply nested values");
    if (pf_is_ndarray(v)) return pf_ndarray_cols(C, v, cols, k);
    const shmc_pk_value *f = pf_callee(v);
    if (v && v->type == SHMC_PK_REDUCE && pf_pd(f, "__pyx_unpickle_NDArrayBacked"))
        return pf_ndarray_backed(C, v, cols, k, nest);
    if (v && v->type == SHMC_PK_NEWOBJ && k == 1) {
        if (pf_pd(f, "IntegerArray")) return pf_masked(C, v, cols, "IntegerArray");
        if (pf_pd(f, "FloatingArray")) return pf_masked(C, v, cols, "FloatingArray");
        if (pf_pd(f, "BooleanArray")) return pf_masked(C, v, cols, "BooleanArray");
        if (pf_pd(f, "ArrowStringArray") || pf_pd(f, "ArrowStringArrayNumpySemantics"))
            return pf_arrow_string_array(C, v, cols);
    }
    return pf_unsupported(C, v, "column values");
}

/* ---- labels and indexes -------------------------------------------------- */
/* Labels other than str/int/None (float, bool, bytes, tuples of these) become
 * SHMC_LABEL_PICKLE: a small self-contained protocol-3 pickle written here. */
typedef struct pf_lbuf {
    uint8_t b[1024];
    size_t n;
} pf_lbuf;

static int pf_lput(pf_lbuf *B, const void *p, size_t n) {
    if (n > sizeof B->b - B->n) return -1;
    memcpy(B->b + B->n, p, n);
    B->n += n;
    return 0;
}

static int pf_lput_bytes(pf_lbuf *B, uint8_t op, const void *p, size_t len) {
    if (len > sizeof B->b) return -1;
    uint8_t h[5] = {op, (uint8_t)len, (uint8_t)(len >> 8), 0, 0};
    return pf_lput(B, h, 5) || pf_lput(B, p, len);
}

static int pf_lput_blob(pf_lbuf *B, uint8_t op, const shmc_pk_value *v) {
    return pf_lput_bytes(B, op, v->v.bytes.ptr, v->v.bytes.len);
}

/* LONG1 of 8 bytes (9 with a zero for unsigned values >= 2^63). */
static int pf_lput_int(pf_lbuf *B, uint64_t u, int is_unsigned) {
    uint8_t t[10] = {SHMC_OP_LONG1, is_unsigned ? 9 : 8};
    for (int i = 0; i < 8; i++) t[2 + i] = (uint8_t)(u >> (8 * i));
    return pf_lput(B, t, 10) || (is_unsigned && pf_lput(B, "\0", 1));
}

static int pf_lput_float(pf_lbuf *B, double f) {
    uint8_t t[9] = {SHMC_OP_BINFLOAT};
    uint64_t u;
    memcpy(&u, &f, 8);
    for (int i = 0; i < 8; i++) t[1 + i] = (uint8_t)(u >> (56 - 8 * i));
    return pf_lput(B, t, 9);
}

static int pf_lput_value(pf_lbuf *B, const shmc_pk_value *v, int depth) {
    switch (v->type) {
    case SHMC_PK_NONE: return pf_lput(B, (const uint8_t[]){SHMC_OP_NONE}, 1);
    case SHMC_PK_BOOL: return pf_lput(B, (const uint8_t[]){v->v.i ? SHMC_OP_NEWTRUE : SHMC_OP_NEWFALSE}, 1);
    case SHMC_PK_INT: return pf_lput_int(B, v->v.u, (v->flags & SHMC_PK_F_UNSIGNED) != 0);
    case SHMC_PK_FLOAT: return pf_lput_float(B, v->v.f);
    case SHMC_PK_STR: return pf_lput_blob(B, SHMC_OP_BINUNICODE, v);
    case SHMC_PK_BYTES: return pf_lput_blob(B, SHMC_OP_BINBYTES, v);
    case SHMC_PK_TUPLE:
        if (depth > 8 || pf_lput(B, "(", 1)) return -1;
        for (size_t i = 0; i < v->v.seq.len; i++)
            if (pf_lput_value(B, v->v.seq.items[i], depth + 1)) return -1;
        return pf_lput(B, "t", 1);
    default: return -1;
    }
}

static int pf_lbuf_label(pf_ctx *C, const pf_lbuf *B, shmc_label *out) {
    char *p;
    FORWARD_IF_ERROR(pf_own(C, B->n, (void **)&p));
    memcpy(p, B->b, B->n);
    out->type = SHMC_LABEL_PICKLE;
    out->str = p;
    out->len = B->n;
    return SHMC_OK;
}

static int pf_label_pickle(pf_ctx *C, const shmc_pk_value *v, shmc_label *out) {
    pf_lbuf B = {.n = 0};
    if (pf_lput(&B, "\x80\x03", 2) || pf_lput_value(&B, v, 0) || pf_lput(&B, ".", 1))
        return pf_unsupported(C, v, "a label (str, int, None, float, bool, bytes or tuples of these, "
                                    "under 1 KiB)");
    return pf_lbuf_label(C, &B, out);
}

static int pf_label(pf_ctx *C, const shmc_pk_value *v, shmc_label *out) {
    memset(out, 0, sizeof *out);
    if (!v || v->type == SHMC_PK_NONE) return SHMC_OK;
    if (v->type == SHMC_PK_INT && !(v->flags & SHMC_PK_F_UNSIGNED)) {
        out->type = SHMC_LABEL_INT;
        out->i = v->v.i;
        return SHMC_OK;
    }
    if (v->type != SHMC_PK_STR) return pf_label_pickle(C, v, out);
    char *s;
    FORWARD_IF_ERROR(pf_own(C, v->v.bytes.len + 1, (void **)&s));
    memcpy(s, v->v.bytes.ptr, v->v.bytes.len);
    s[v->v.bytes.len] = '\0';
    out->type = SHMC_LABEL_STR;
    out->str = s;
    out->len = v->v.bytes.len;
    return SHMC_OK;
}

#define PF_MAX_LEVELS 64

typedef struct pf_index {
    int is_range;
    int64_t start, stop, step;
    shmc_label name;
    const shmc_pk_value *node;
    uint64_t nlevels;      /* MultiIndex: levels[] and names[]; 0 otherwise */
    pf_col *levels;
    shmc_label *names;
} pf_index;

static int pf_range_len(pf_ctx *C, const pf_index *ix, uint64_t *n) {
    if (ix->step == 0) return pf_fail(C, SHMC_ERR_PICKLE, ix->node, "RangeIndex step is 0");
    __int128 span = (__int128)ix->stop - ix->start;
    __int128 cnt = ix->step > 0 ? (span + ix->step - 1) / ix->step : (span + ix->step + 1) / ix->step;
    *n = cnt > 0 ? (uint64_t)cnt : 0;
    return SHMC_OK;
}

static int pf_multi_read(pf_ctx *C, const shmc_pk_value *d, pf_index *ix, int nest);

/* _new_Index(cls, {...}) / _new_DatetimeIndex(cls, {...}): a RangeIndex, or values. */
static int pf_index_read(pf_ctx *C, const shmc_pk_value *v, pf_index *ix, pf_col *col, int nest) {
    memset(ix, 0, sizeof *ix);
    ix->node = v;
    const shmc_pk_value *f = pf_callee(v), *cls = pf_arg(v, 0), *d = pf_arg(v, 1);
    if (!v || v->type != SHMC_PK_REDUCE || !(pf_pd(f, "_new_Index") || pf_pd(f, "_new_DatetimeIndex")) ||
        !d || d->type != SHMC_PK_DICT)
        return pf_unsupported(C, v, "an index");
    FORWARD_IF_ERROR(pf_label(C, shmc_pk_dict_get(d, "name"), &ix->name));
    if (pf_pd(cls, "RangeIndex")) {
        ix->is_range = 1;
        if (!pf_int(shmc_pk_dict_get(d, "start"), &ix->start) ||
            !pf_int(shmc_pk_dict_get(d, "stop"), &ix->stop) ||
            !pf_int(shmc_pk_dict_get(d, "step"), &ix->step))
            return pf_fail(C, SHMC_ERR_PICKLE, v, "RangeIndex without int start/stop/step");
        return SHMC_OK;
    }
    if (pf_pd(cls, "MultiIndex")) return pf_multi_read(C, d, ix, nest);
    static const char *const plain[] = {"Index", "Int64Index", "UInt64Index", "Float64Index",
                                        "NumericIndex", "DatetimeIndex", "TimedeltaIndex",
                                        "CategoricalIndex"};
    for (size_t i = 0; i < sizeof plain / sizeof *plain; i++)
        if (pf_pd(cls, plain[i])) return pf_values(C, shmc_pk_dict_get(d, "data"), col, 1, nest + 1);
    return pf_unsupported(C, cls, "an index class");
}

/* An index as one column (categories): RangeIndex materialised as int64. */
static int pf_index_col(pf_ctx *C, const shmc_pk_value *idx, pf_col *col, shmc_label *name, int nest) {
    if (pf_pd(pf_arg(idx, 0), "MultiIndex"))  /* read only as the row index */
        return pf_unsupported(C, pf_arg(idx, 0), "categories (a MultiIndex is read as the row index "
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
    for (uint64_t i = 0; i < n; i++) vals[i] = (int64_t)((uint64_t)ix.start + i * (uint64_t)ix.step);
    col->d.kind = SHMC_KIND_INT64;
    col->d.values = vals;
    col->nrows = n;
    snprintf(col->dtype, sizeof col->dtype, "int64");
    return SHMC_OK;
}

/* ---- MultiIndex levels ---------------------------------------------------- */
/* Code j of a 1-D integer codes array (any width, either byte order). The item
 * size comes from pf_dtypes (1, 2, 4 or 8), so it always fits b. */
static int64_t pf_code_at(const pf_arr *a, uint64_t j) {
    uint8_t b[8] = {0};
    uint32_t s = a->dt.itemsize;
    if (s > sizeof b) return INT64_MIN;   /* unreachable: refused by pf_dtype_parse */
    memcpy(b, a->data + (size_t)j * s, s);
    if (a->dt.swap) pf_swap(b, 1, s);
    if (s == 1) return (int8_t)b[0];
    if (s == 2) { int16_t v; memcpy(&v, b, 2); return v; }
    if (s == 4) { int32_t v; memcpy(&v, b, 4); return v; }
    int64_t v;
    memcpy(&v, b, 8);
    return v;
}

static int pf_codes(pf_ctx *C, const shmc_pk_value *v, uint64_t level, uint64_t nvals, pf_arr *a) {
    FORWARD_IF_ERROR(pf_array(C, v, a));
    if (a->ndim != 1 || a->dt.kind != 'i')
        return pf_fail(C, SHMC_ERR_PICKLE, v, "MultiIndex level %llu: codes are not a 1-D integer array",
                       (unsigned long long)level);
    for (uint64_t j = 0; j < a->dims[0]; j++) {
        int64_t c = pf_code_at(a, j);
        if (c < -1 || (c >= 0 && (uint64_t)c >= nvals))
            return pf_fail(C, SHMC_ERR_PICKLE, v, "MultiIndex level %llu: code %lld at row %llu is "
                           "outside its %llu values", (unsigned long long)level, (long long)c,
                           (unsigned long long)j, (unsigned long long)nvals);
    }
    return SHMC_OK;
}

static int pf_valid_bit(const shmc_column_desc *d, uint64_t i) {
    if (!d->validity) return 1;
    uint64_t b = d->validity_offset + i;
    return (d->validity[b >> 3] >> (b & 7)) & 1;
}

/* Strings of the level taken by codes; code -1 (a missing label) becomes a null,
 * which get_level_values() spells NaN in an object level. */
static int pf_take_strings(pf_ctx *C, const pf_col *lev, const pf_arr *a, pf_col *out) {
    const shmc_column_desc *d = &lev->d;
    uint64_t n = a->dims[0], total = 0, nulls = 0;
    for (uint64_t j = 0; j < n; j++) {
        int64_t c = pf_code_at(a, j);
        if (c < 0 || !pf_valid_bit(d, (uint64_t)c)) nulls++;
        else FORWARD_IF_ERROR(pf_add_len(C, &total, (uint64_t)(d->offsets[c + 1] - d->offsets[c]), a->node));
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
static int pf_missing_fill(const shmc_column_desc *d, uint8_t *slot, size_t s) {
    if (d->mask) return 1;
    if (d->kind == SHMC_KIND_FLOAT64) { double v = NAN; memcpy(slot, &v, 8); return 1; }
    if (d->kind == SHMC_KIND_FLOAT32) { float v = NAN; memcpy(slot, &v, 4); return 1; }
    if (d->kind == SHMC_KIND_DATETIME || d->kind == SHMC_KIND_TIMEDELTA) {
        int64_t nat = INT64_MIN;
        memcpy(slot, &nat, s);
        return 1;
    }
    return 0;
}

static int pf_take_fixed(pf_ctx *C, const pf_col *lev, const pf_arr *a, uint64_t level, pf_col *out) {
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
            return pf_fail(C, SHMC_ERR_UNSUPPORTED, a->node, "MultiIndex level %llu (%s) has a missing "
                           "label at row %llu, which pandas shows as NaN in another dtype; not read",
                           (unsigned long long)level, lev->dtype, (unsigned long long)j);
    }
    out->d.values = vals;
    out->d.mask = mask;
    return SHMC_OK;
}

/* One level: its values (an index pickle) taken by its codes, as get_level_values(). */
static int pf_level(pf_ctx *C, const shmc_pk_value *lv, const shmc_pk_value *cv, uint64_t level,
                    int nest, pf_col *out) {
    if (pf_pd(pf_arg(lv, 0), "CategoricalIndex"))
        return pf_unsupported(C, pf_arg(lv, 0), "a MultiIndex level (categorical levels are not read)");
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
    if (lev.d.kind == SHMC_KIND_CATEGORICAL || lev.d.kind == SHMC_KIND_OBJECT)
        return pf_unsupported(C, lv, "a MultiIndex level (categorical levels are not read)");
    return pf_take_fixed(C, &lev, &a, level, out);
}

/* The state of _new_Index(MultiIndex, d): its levels, codes and names lists, one
 * entry each per level, 1..PF_MAX_LEVELS levels. */
typedef struct pf_multi {
    const shmc_pk_value *levels, *codes, *names;
    uint64_t n;
} pf_multi;

static int pf_multi_parts(pf_ctx *C, const shmc_pk_value *d, const shmc_pk_value *at, pf_multi *m) {
    m->levels = shmc_pk_dict_get(d, "levels");
    m->codes = shmc_pk_dict_get(d, "codes");
    m->names = shmc_pk_dict_get(d, "names");
    const shmc_pk_value *parts[3] = {m->levels, m->codes, m->names};
    static const char *const what[3] = {"MultiIndex levels (a list is read)", "MultiIndex codes (a list is read)",
                                        "MultiIndex names (a list is read)"};
    for (int i = 0; i < 3; i++)
        if (parts[i] && !pf_is_list(parts[i])) return pf_unsupported(C, parts[i], what[i]);
    m->n = shmc_pk_len(m->levels);
    if (m->n == 0 || m->n > PF_MAX_LEVELS || shmc_pk_len(m->codes) != m->n ||
        (m->names && shmc_pk_len(m->names) != m->n))
        return pf_fail(C, SHMC_ERR_PICKLE, at, "MultiIndex with %llu levels, %llu codes and "
                       "%llu names (1..%d levels with one codes array and name each are read)",
                       (unsigned long long)m->n, (unsigned long long)shmc_pk_len(m->codes),
                       (unsigned long long)shmc_pk_len(m->names), PF_MAX_LEVELS);
    return SHMC_OK;
}

/* Every level must cover as many rows (or columns) as level 0. */
static int pf_level_rows(pf_ctx *C, const shmc_pk_value *at, uint64_t l, uint64_t rows, uint64_t rows0) {
    if (rows == rows0) return SHMC_OK;
    return pf_fail(C, SHMC_ERR_PICKLE, at, "MultiIndex level %llu has %llu labels, level 0 %llu",
                   (unsigned long long)l, (unsigned long long)rows, (unsigned long long)rows0);
}

static int pf_multi_read(pf_ctx *C, const shmc_pk_value *d, pf_index *ix, int nest) {
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

/* Row i of a materialised level as a pickled tuple item; -1 for what a column
 * label cannot be (a missing value, a datetime, ...). */
static int pf_lput_level_item(pf_lbuf *B, const pf_col *c, uint64_t i) {
    const shmc_column_desc *d = &c->d;
    if (d->kind == SHMC_KIND_STRING)
        return pf_valid_bit(d, i) ? pf_lput_bytes(B, SHMC_OP_BINUNICODE, d->data + d->offsets[i],
                                                  (size_t)(d->offsets[i + 1] - d->offsets[i]))
                                  : -1;
    if (d->mask && d->mask[i]) return -1;
    size_t s = shmc_kind_itemsize(d->kind);
    const uint8_t *p = (const uint8_t *)d->values + i * s;
    uint64_t u = 0;
    switch (d->kind) {
    case SHMC_KIND_BOOL: return pf_lput(B, p[0] ? "\x88" : "\x89", 1);
    case SHMC_KIND_INT8: return pf_lput_int(B, (uint64_t)(int64_t)(int8_t)p[0], 0);
    case SHMC_KIND_INT16: { int16_t v; memcpy(&v, p, 2); return pf_lput_int(B, (uint64_t)(int64_t)v, 0); }
    case SHMC_KIND_INT32: { int32_t v; memcpy(&v, p, 4); return pf_lput_int(B, (uint64_t)(int64_t)v, 0); }
    case SHMC_KIND_INT64: memcpy(&u, p, 8); return pf_lput_int(B, u, 0);
    case SHMC_KIND_UINT8: case SHMC_KIND_UINT16: case SHMC_KIND_UINT32: case SHMC_KIND_UINT64:
        memcpy(&u, p, s); /* little-endian: the low bytes */
        return pf_lput_int(B, u, u >> 63 != 0);
    case SHMC_KIND_FLOAT64: { double v; memcpy(&v, p, 8); return pf_lput_float(B, v); }
    case SHMC_KIND_FLOAT32: { float v; memcpy(&v, p, 4); return pf_lput_float(B, (double)v); }
    default: return -1;
    }
}

/* The level names as one tuple label (the columns name of a MultiIndex axis, as the
 * Python binding stores it); no name at all when every level is unnamed. */
static int pf_level_names(pf_ctx *C, const shmc_pk_value *names, shmc_label *out) {
    memset(out, 0, sizeof *out);
    size_t n = shmc_pk_len(names), named = 0;
    for (size_t l = 0; l < n; l++) named += shmc_pk_item(names, l)->type != SHMC_PK_NONE;
    if (!named) return SHMC_OK;
    pf_lbuf B = {.n = 0};
    int bad = pf_lput(&B, "\x80\x03(", 3);
    for (size_t l = 0; !bad && l < n; l++) bad = pf_lput_value(&B, shmc_pk_item(names, l), 1);
    if (bad || pf_lput(&B, "t.", 2))
        return pf_unsupported(C, names, "MultiIndex level names (str, int, None, float, bool)");
    return pf_lbuf_label(C, &B, out);
}

/* One level of a MultiIndex columns axis: the items of an object level as they are
 * (labels may mix types), or the materialised values of a typed level. */
typedef struct pf_label_level {
    shmc_pk_value *const *items;
    pf_col col;
    pf_arr codes;
} pf_label_level;

static int pf_label_level_read(pf_ctx *C, const shmc_pk_value *lv, const shmc_pk_value *cv,
                               uint64_t l, pf_label_level *out) {
    const shmc_pk_value *data = shmc_pk_dict_get(pf_arg(lv, 1), "data");
    uint64_t nvals = 0;
    int object_level = 0;
    if (pf_pd(pf_callee(lv), "_new_Index") && pf_pd(pf_arg(lv, 0), "Index") && pf_is_ndarray(data)) {
        pf_arr a;
        FORWARD_IF_ERROR(pf_array(C, data, &a));
        object_level = a.dt.kind == 'O' && a.ndim == 1;
        if (object_level) {
            out->items = a.dims[0] ? a.objs->v.seq.items : NULL;
            nvals = a.dims[0];
        }
    }
    if (!object_level) {
        shmc_label ignored;
        FORWARD_IF_ERROR(pf_index_col(C, lv, &out->col, &ignored, 1));
        nvals = out->col.nrows;
    }
    return pf_codes(C, cv, l, nvals, &out->codes);
}

/* MultiIndex column labels: one pickled tuple per column, each level's label taken
 * by its code, as the Python binding stores such labels. */
static int pf_multi_labels(pf_ctx *C, const shmc_pk_value *axis, shmc_label **labels, uint64_t *n,
                           shmc_label *axis_name) {
    *n = 0;
    const shmc_pk_value *d = pf_arg(axis, 1);
    if (!pf_pd(pf_callee(axis), "_new_Index") || !d || d->type != SHMC_PK_DICT)
        return pf_unsupported(C, axis, "column labels");
    pf_multi m;
    FORWARD_IF_ERROR(pf_multi_parts(C, d, axis, &m));
    uint64_t nl = m.n;
    pf_label_level *lv;
    FORWARD_IF_ERROR(pf_own(C, (size_t)nl * sizeof *lv, (void **)&lv));
    memset(lv, 0, (size_t)nl * sizeof *lv);
    for (uint64_t l = 0; l < nl; l++) {
        FORWARD_IF_ERROR(pf_label_level_read(C, shmc_pk_item(m.levels, l), shmc_pk_item(m.codes, l), l,
                                             &lv[l]));
        FORWARD_IF_ERROR(pf_level_rows(C, axis, l, lv[l].codes.dims[0], lv[0].codes.dims[0]));
    }
    *n = lv[0].codes.dims[0];
    FORWARD_IF_ERROR(pf_own(C, (size_t)(*n ? *n : 1) * sizeof **labels, (void **)labels));
    for (uint64_t i = 0; i < *n; i++) {
        pf_lbuf B = {.n = 0};
        int bad = pf_lput(&B, "\x80\x03(", 3);
        for (uint64_t l = 0; !bad && l < nl; l++) {
            int64_t c = pf_code_at(&lv[l].codes, i);
            bad = c < 0 ? -1
                : lv[l].items ? pf_lput_value(&B, lv[l].items[c], 1)
                              : pf_lput_level_item(&B, &lv[l].col, (uint64_t)c);
        }
        if (bad || pf_lput(&B, "t.", 2))
            return pf_fail(C, SHMC_ERR_UNSUPPORTED, axis, "column %llu: a MultiIndex label that is not "
                           "a tuple of str, int, float or bool (or over 1 KiB)", (unsigned long long)i);
        FORWARD_IF_ERROR(pf_lbuf_label(C, &B, &(*labels)[i]));
    }
    return pf_level_names(C, m.names, axis_name);
}

/* Column labels: the items of the columns Index (str or int). */
/* Labels straight from an object Index: each item as it is (mixed str/int/other). */
static int pf_object_labels(pf_ctx *C, const shmc_pk_value *axis, const pf_arr *a, shmc_label **labels,
                            uint64_t *n, shmc_label *axis_name) {
    FORWARD_IF_ERROR(pf_label(C, shmc_pk_dict_get(pf_arg(axis, 1), "name"), axis_name));
    *n = a->dims[0];
    FORWARD_IF_ERROR(pf_own(C, (size_t)(*n ? *n : 1) * sizeof **labels, (void **)labels));
    for (uint64_t i = 0; i < *n; i++) FORWARD_IF_ERROR(pf_label(C, a->objs->v.seq.items[i], &(*labels)[i]));
    return SHMC_OK;
}

static int pf_column_labels(pf_ctx *C, const shmc_pk_value *axis, shmc_label **labels, uint64_t *n,
                            shmc_label *axis_name) {
    if (pf_pd(pf_arg(axis, 0), "MultiIndex")) return pf_multi_labels(C, axis, labels, n, axis_name);
    const shmc_pk_value *data = shmc_pk_dict_get(pf_arg(axis, 1), "data");
    if (pf_pd(pf_callee(axis), "_new_Index") && pf_pd(pf_arg(axis, 0), "Index") && pf_is_ndarray(data)) {
        pf_arr a;
        FORWARD_IF_ERROR(pf_array(C, data, &a));
        if (a.dt.kind == 'O' && a.ndim == 1) return pf_object_labels(C, axis, &a, labels, n, axis_name);
    }
    pf_col lc;
    memset(&lc, 0, sizeof lc);
    FORWARD_IF_ERROR(pf_index_col(C, axis, &lc, axis_name, 0));
    *n = lc.nrows;
    FORWARD_IF_ERROR(pf_own(C, (size_t)(lc.nrows ? lc.nrows : 1) * sizeof **labels, (void **)labels));
    for (uint64_t i = 0; i < lc.nrows; i++) {
        shmc_label *l = &(*labels)[i];
        memset(l, 0, sizeof *l);
        if (lc.d.kind == SHMC_KIND_STRING) {
            if (!pf_valid_bit(&lc.d, i)) continue;
            size_t len = (size_t)(lc.d.offsets[i + 1] - lc.d.offsets[i]);
            char *s;
            FORWARD_IF_ERROR(pf_own(C, len + 1, (void **)&s));
            memcpy(s, lc.d.data + lc.d.offsets[i], len);
            s[len] = '\0';
            *l = (shmc_label){.type = SHMC_LABEL_STR, .str = s, .len = len};
        } else if (lc.d.kind == SHMC_KIND_INT64 || lc.d.kind == SHMC_KIND_INT32) {
            int64_t x;
            if (lc.d.kind == SHMC_KIND_INT64) memcpy(&x, (const uint8_t *)lc.d.values + i * 8, 8);
            else { int32_t y; memcpy(&y, (const uint8_t *)lc.d.values + i * 4, 4); x = y; }
            *l = (shmc_label){.type = SHMC_LABEL_INT, .i = x};
        } else {
            return pf_fail(C, SHMC_ERR_UNSUPPORTED, axis, "column labels of dtype %s (str or int are read)",
                           lc.dtype);
        }
    }
    return SHMC_OK;
}

/* ---- the block manager --------------------------------------------------- */
static int pf_placement(pf_ctx *C, const shmc_pk_value *p, uint64_t ncols, uint64_t *pos, uint64_t *k) {
    if (p && p->type == SHMC_PK_REDUCE && pf_builtin(pf_callee(p), "slice")) {
        int64_t a, b, s = 1;
        const shmc_pk_value *sv = pf_arg(p, 2);
        if (!pf_int(pf_arg(p, 0), &a) || !pf_int(pf_arg(p, 1), &b) ||
            (sv && sv->type != SHMC_PK_NONE && !pf_int(sv, &s)) || s <= 0 || a < 0 || b < a)
            return pf_fail(C, SHMC_ERR_UNSUPPORTED, p, "block placement slice is not a forward range");
        uint64_t cnt = ((uint64_t)(b - a) + (uint64_t)s - 1) / (uint64_t)s;
        if (cnt > ncols)
            return pf_fail(C, SHMC_ERR_PICKLE, p, "block placement beyond %llu columns",
                           (unsigned long long)ncols);
        for (uint64_t i = 0; i < cnt; i++) pos[i] = (uint64_t)a + i * (uint64_t)s;
        *k = cnt;
        return SHMC_OK;
    }
    pf_arr a;
    FORWARD_IF_ERROR(pf_array(C, p, &a));
    if (a.ndim != 1 || (a.dt.kind != 'i' && a.dt.kind != 'u') || (a.dt.itemsize != 8 && a.dt.itemsize != 4) ||
        a.dt.swap || a.dims[0] > ncols)
        return pf_unsupported(C, p, "a block placement array");
    for (uint64_t i = 0; i < a.dims[0]; i++) {
        int64_t x;
        if (a.dt.itemsize == 8) memcpy(&x, a.data + i * 8, 8);
        else { int32_t y; memcpy(&y, a.data + i * 4, 4); x = y; }
        pos[i] = (uint64_t)x;
    }
    *k = a.dims[0];
    return SHMC_OK;
}

/* Put a block's k columns at their places; each place is filled exactly once. */
static int pf_block(pf_ctx *C, const shmc_pk_value *values, const shmc_pk_value *placement,
                    pf_col *cols, uint64_t ncols) {
    uint64_t *pos = C->pos, k = 0;
    pf_col *tmp = C->tmp;
    FORWARD_IF_ERROR(pf_placement(C, placement, ncols, pos, &k));
    memset(tmp, 0, (size_t)k * sizeof *tmp);
    FORWARD_IF_ERROR(pf_values(C, values, tmp, k, 0));
    for (uint64_t j = 0; j < k; j++) {
        if (pos[j] >= ncols || cols[pos[j]].used)
            return pf_fail(C, SHMC_ERR_PICKLE, placement, "block places column %llu twice or out of range",
                           (unsigned long long)pos[j]);
        cols[pos[j]] = tmp[j];
        cols[pos[j]].used = 1;
    }
    return SHMC_OK;
}

static int pf_blocks_reduce(pf_ctx *C, const shmc_pk_value *blocks, pf_col *cols, uint64_t ncols) {
    for (size_t b = 0; b < shmc_pk_len(blocks); b++) {
        const shmc_pk_value *blk = shmc_pk_item(blocks, b);
        const shmc_pk_value *f = pf_callee(blk);
        if (!blk || blk->type != SHMC_PK_REDUCE || !(pf_pd(f, "_unpickle_block") || pf_pd(f, "new_block")))
            return pf_unsupported(C, blk, "a block");
        FORWARD_IF_ERROR(pf_block(C, pf_arg(blk, 0), pf_arg(blk, 1), cols, ncols));
    }
    return SHMC_OK;
}

static int pf_blocks_legacy(pf_ctx *C, const shmc_pk_value *blocks, pf_col *cols, uint64_t ncols) {
    for (size_t b = 0; b < shmc_pk_len(blocks); b++) {
        const shmc_pk_value *blk = shmc_pk_item(blocks, b);
        FORWARD_IF_ERROR(pf_block(C, shmc_pk_dict_get(blk, "values"), shmc_pk_dict_get(blk, "mgr_locs"),
                                  cols, ncols));
    }
    return SHMC_OK;
}

/* Find axes and blocks in either BlockManager form. */
static int pf_manager_parts(pf_ctx *C, const shmc_pk_value *mgr, const shmc_pk_value **axes,
                            const shmc_pk_value **blocks, int *legacy) {
    const shmc_pk_value *f = pf_callee(mgr);
    if (!pf_pd(f, "BlockManager")) return pf_unsupported(C, mgr, "a DataFrame manager");
    if (mgr->type == SHMC_PK_REDUCE && pf_nargs(mgr) >= 2) {
        *blocks = pf_arg(mgr, 0);
        *axes = pf_arg(mgr, 1);
        *legacy = 0;
        return SHMC_OK;
    }
    const shmc_pk_value *extra = shmc_pk_dict_get(shmc_pk_item(shmc_pk_state(mgr), 3), "0.14.1");
    if (!extra) return pf_unsupported(C, mgr, "a BlockManager state (no \"0.14.1\" form)");
    *axes = shmc_pk_dict_get(extra, "axes");
    *blocks = shmc_pk_dict_get(extra, "blocks");
    *legacy = 1;
    return SHMC_OK;
}

/* ---- emitting ------------------------------------------------------------ */
static void pf_label_text(const shmc_label *l, char *buf, size_t cap) {
    if (l->type == SHMC_LABEL_STR) snprintf(buf, cap, "'%.*s'", (int)(l->len > 60 ? 60 : l->len), l->str);
    else if (l->type == SHMC_LABEL_INT) snprintf(buf, cap, "%lld", (long long)l->i);
    else snprintf(buf, cap, "%s", l->type == SHMC_LABEL_NONE ? "None" : "(a pickled label)");
}

/* An object column of strings whose missing values are spelt more than one way
 * (None and NaN) or as pd.NA has no dtype string that brings it back exactly. */
static int pf_check_miss(pf_ctx *C, const pf_col *c, const shmc_label *label, const char *what,
                         uint64_t i, const shmc_pk_value *at) {
    unsigned m = c->miss;
    if (strcmp(c->dtype, "object") || (!(m & PF_MISS_NA) && m != (PF_MISS_NONE | PF_MISS_NAN)))
        return SHMC_OK;
    char name[80];
    pf_label_text(label, name, sizeof name);
    return pf_fail(C, SHMC_ERR_UNSUPPORTED, at,
                   "%s %llu (%s): object column of strings with missing values spelt %s; only "
                   "one of None or NaN is kept exactly (convert the column to one spelling, or "
                   "to a string dtype)", what, (unsigned long long)i, name,
                   (m & PF_MISS_NA) ? "pd.NA" : "both None and NaN");
}

static int pf_check_columns(pf_ctx *C, const pf_index *ix, const pf_col *icol, const pf_col *cols,
                            const shmc_label *labels, uint64_t ncols, const shmc_pk_value *mgr) {
    for (uint64_t i = 0; i < ix->nlevels; i++)
        FORWARD_IF_ERROR(pf_check_miss(C, &ix->levels[i], &ix->names[i], "index level", i, ix->node));
    if (!ix->is_range && !ix->nlevels)
        FORWARD_IF_ERROR(pf_check_miss(C, icol, &ix->name, "index", 0, ix->node));
    for (uint64_t i = 0; i < ncols; i++)
        FORWARD_IF_ERROR(pf_check_miss(C, &cols[i], &labels[i], "column", i, mgr));
    return SHMC_OK;
}

static int pf_emit_index(pf_ctx *C, const pf_index *ix, pf_col *icol, uint64_t nrows) {
    if (ix->is_range) return C->sink->set_range_index(C->sink->user, ix->start, ix->step, &ix->name);
    for (uint64_t i = 0; i < ix->nlevels; i++) {
        pf_col *l = &ix->levels[i];
        l->d.flags |= SHMC_COL_INDEX;
        l->d.label = ix->names[i];
        l->d.dtype = l->dtype;
        FORWARD_IF_ERROR(C->sink->add_column(C->sink->user, &l->d));
    }
    if (ix->nlevels) return SHMC_OK;
    if (icol->nrows != nrows)
        return pf_fail(C, SHMC_ERR_PICKLE, ix->node, "index has %llu rows, frame %llu",
                       (unsigned long long)icol->nrows, (unsigned long long)nrows);
    icol->d.flags |= SHMC_COL_INDEX;
    icol->d.label = ix->name;
    icol->d.dtype = icol->dtype;
    return C->sink->add_column(C->sink->user, &icol->d);
}

static int pf_emit_columns(pf_ctx *C, pf_col *cols, const shmc_label *labels, uint64_t ncols,
                           uint64_t nrows, const shmc_pk_value *mgr) {
    for (uint64_t i = 0; i < ncols; i++) {
        pf_col *c = &cols[i];
        if (!c->used)
            return pf_fail(C, SHMC_ERR_PICKLE, mgr, "no block holds column %llu", (unsigned long long)i);
        if (c->nrows != nrows)
            return pf_fail(C, SHMC_ERR_PICKLE, mgr, "column %llu has %llu rows, frame %llu",
                           (unsigned long long)i,
                           (unsigned long long)c->nrows, (unsigned long long)nrows);
        c->d.label = labels[i];
        c->d.dtype = c->dtype;
        if (c->d.tz) c->d.tz = c->tz;
        if (c->d.categories) {
            c->cats.dtype = c->cat_dtype;
            if (c->cats.tz) c->cats.tz = c->cat_tz;
            c->d.categories = &c->cats;
        }
        FORWARD_IF_ERROR(C->sink->add_column(C->sink->user, &c->d));
    }
    return SHMC_OK;
}

static int pf_dataframe(pf_ctx *C, const shmc_pk_value *root) {
    if (!root || root->type != SHMC_PK_NEWOBJ || !pf_pd(pf_callee(root), "DataFrame"))
        return pf_unsupported(C, root, "the pickled object (a pandas DataFrame is read)");
    const shmc_pk_value *mgr = shmc_pk_dict_get(shmc_pk_state(root), "_mgr"), *axes = NULL, *blocks = NULL;
    if (!mgr) mgr = shmc_pk_dict_get(shmc_pk_state(root), "_data");
    int legacy = 0;
    FORWARD_IF_ERROR(pf_manager_parts(C, mgr, &axes, &blocks, &legacy));
    if (shmc_pk_len(axes) != 2) return pf_unsupported(C, axes, "DataFrame axes (2 are read)");
    shmc_label *labels, colname;
    uint64_t ncols, nrows;
    FORWARD_IF_ERROR(pf_column_labels(C, shmc_pk_item(axes, 0), &labels, &ncols, &colname));
    pf_index ix;
    pf_col *icol, *cols;
    FORWARD_IF_ERROR(pf_own(C, sizeof *icol, (void **)&icol));
    memset(icol, 0, sizeof *icol);
    FORWARD_IF_ERROR(pf_index_read(C, shmc_pk_item(axes, 1), &ix, icol, 0));
    if (ix.is_range) FORWARD_IF_ERROR(pf_range_len(C, &ix, &nrows));
    else nrows = ix.nlevels ? ix.levels[0].nrows : icol->nrows;
    FORWARD_IF_ERROR(pf_own(C, (size_t)(ncols ? ncols : 1) * sizeof *cols, (void **)&cols));
    memset(cols, 0, (size_t)(ncols ? ncols : 1) * sizeof *cols);
    FORWARD_IF_ERROR(pf_own(C, (size_t)(ncols ? ncols : 1) * sizeof *C->pos, (void **)&C->pos));
    FORWARD_IF_ERROR(pf_own(C, (size_t)(ncols ? ncols : 1) * sizeof *C->tmp, (void **)&C->tmp));
    FORWARD_IF_ERROR(legacy ? pf_blocks_legacy(C, blocks, cols, ncols)
                            : pf_blocks_reduce(C, blocks, cols, ncols));
    FORWARD_IF_ERROR(pf_check_columns(C, &ix, icol, cols, labels, ncols, mgr));
    FORWARD_IF_ERROR(C->sink->set_nrows(C->sink->user, nrows));
    FORWARD_IF_ERROR(pf_emit_index(C, &ix, icol, nrows));
    FORWARD_IF_ERROR(C->sink->set_columns_name(C->sink->user, &colname));
    return pf_emit_columns(C, cols, labels, ncols, nrows, mgr);
}

int shmc_pf_read(shmc_frame *frame, const shmc_pf_sink *sink, const shmc_pk_input *in,
                 const shmc_pickle_limits *limits) {
    pf_ctx C = {.frame = frame, .err = shmc_frame_err(frame), .sink = sink};
    shmc_pk_limits_resolve(&C.lim, limits, in ? in->len : 0);
    C.budget = C.lim.max_alloc;
    shmc_pk_doc *doc;
    shmc_pk_value *root;
    FORWARD_IF_ERROR(shmc_pk_parse(in, limits, &doc, &root, C.err));
    int st = pf_dataframe(&C, root);
    shmc_pk_doc_free(doc);
    return st;
}

/* ---- the public entry points --------------------------------------------- */
static int pf_sink_nrows(void *u, uint64_t n) { return shmc_frame_set_nrows(u, n); }
static int pf_sink_add(void *u, const shmc_column_desc *d) { return shmc_frame_add_column(u, d); }
static int pf_sink_range(void *u, int64_t start, int64_t step, const shmc_label *name) {
    return shmc_frame_set_range_index(u, start, step, name);
}
static int pf_sink_colname(void *u, const shmc_label *name) { return shmc_frame_set_columns_name(u, name); }

int shmc_frame_from_pickle(shmc_frame *frame, const void *buf, size_t len, const void *const *oob,
                           const size_t *oob_lens, size_t noob, const shmc_pickle_limits *limits) {
    if (!frame) return SHMC_ERR_INVALID_ARG;
    RETURN_ERROR_IF(!buf && len, shmc_frame_err(frame), SHMC_ERR_INVALID_ARG, "pickle: buf is NULL");
    shmc_pf_sink sink = {frame, pf_sink_nrows, pf_sink_add, pf_sink_range, pf_sink_colname};
    shmc_pk_input in = {buf, len, oob, oob_lens, noob};
    return shmc_pf_read(frame, &sink, &in, limits);
}

/* ---- lists of str/None ----------------------------------------------------
 * Python hands a string column to C as pickle.dumps(list, protocol=5). The fast
 * path below reads exactly what CPython's pickler writes for such a list in one
 * pass into three growing buffers (no per-string allocation); anything else
 * (other protocols' spellings, odd memo use) falls back to the generic parser. */
typedef struct pf_sbuf {
    int64_t *off;
    uint8_t *data, *valid;
    size_t n, ncap, dlen, dcap;
    int64_t *memo;          /* memo index -> row (-1: the list itself) */
    size_t nmemo, mcap;
    uint64_t budget;        /* bytes we may still allocate */
} pf_sbuf;

#define PF_BAIL (-1)

static int pf_sgrow(void **p, size_t *cap, size_t need, size_t elem, uint64_t *budget) {
    if (need <= *cap) return SHMC_OK;
    size_t ncap = *cap ? *cap : 1024;
    while (ncap < need) {
        if (ncap > SIZE_MAX / 2 / elem) return PF_BAIL;
        ncap *= 2;
    }
    uint64_t add = (uint64_t)(ncap - *cap) * elem;
    if (add > *budget) return PF_BAIL;
    void *q = realloc(*p, ncap * elem);
    if (!q) return PF_BAIL;
    *budget -= add;
    *p = q;
    *cap = ncap;
    return SHMC_OK;
}

static int pf_spush(pf_sbuf *S, const uint8_t *ptr, size_t len, int valid) {
    size_t old = S->ncap;
    if (S->n + 2 > S->ncap) {
        FORWARD_IF_ERROR(pf_sgrow((void **)&S->off, &S->ncap, S->n + 2, sizeof *S->off, &S->budget));
        if (S->valid || !valid) {
            uint8_t *v = realloc(S->valid, S->ncap / 8 + 1);
            if (!v) return PF_BAIL;
            if (!S->valid) memset(v, 0xFF, S->ncap / 8 + 1);
            else memset(v + old / 8 + 1, 0, S->ncap / 8 - old / 8);
            S->valid = v;
        }
    } else if (!valid && !S->valid) {
        S->valid = malloc(S->ncap / 8 + 1);
        if (!S->valid) return PF_BAIL;
        memset(S->valid, 0xFF, S->ncap / 8 + 1);
    }
    if (len > SIZE_MAX - S->dlen) return PF_BAIL;
    FORWARD_IF_ERROR(pf_sgrow((void **)&S->data, &S->dcap, S->dlen + len, 1, &S->budget));
    if (len) memcpy(S->data + S->dlen, ptr, len);
    S->dlen += len;
    if (S->valid) {
        if (valid) S->valid[S->n >> 3] |= (uint8_t)(1u << (S->n & 7));
        else S->valid[S->n >> 3] &= (uint8_t)~(1u << (S->n & 7));
    }
    S->n++;
    S->off[S->n] = (int64_t)S->dlen;
    return SHMC_OK;
}

static int pf_smemo(pf_sbuf *S, uint64_t idx, int64_t row) {
    if (idx != S->nmemo) return PF_BAIL;   /* only the pickler's sequential numbering */
    FORWARD_IF_ERROR(pf_sgrow((void **)&S->memo, &S->mcap, S->nmemo + 1, sizeof *S->memo, &S->budget));
    S->memo[S->nmemo++] = row;
    return SHMC_OK;
}

static int pf_sget(pf_sbuf *S, uint64_t idx) {
    if (idx >= S->nmemo || S->memo[idx] < 0) return PF_BAIL;
    size_t r = (size_t)S->memo[idx];
    size_t a = (size_t)S->off[r], b = (size_t)S->off[r + 1];
    int valid = !S->valid || ((S->valid[r >> 3] >> (r & 7)) & 1);
    if (!valid) return PF_BAIL;
    FORWARD_IF_ERROR(pf_sgrow((void **)&S->data, &S->dcap, S->dlen + (b - a), 1, &S->budget));
    return pf_spush(S, S->data + a, b - a, 1);   /* data may have moved: copy from the new one */
}

/* Reads one item opcode at *pp; returns SHMC_OK, PF_BAIL, or 1 at APPENDS/APPEND/STOP. */
static int pf_sitem(pf_sbuf *S, const uint8_t **pp, const uint8_t *end, int *last_row_memoizable) {
    const uint8_t *p = *pp;
    uint8_t op = *p++;
    uint64_t n = 0;
    unsigned w = op == SHMC_OP_SHORT_BINUNICODE ? 1 : op == SHMC_OP_BINUNICODE ? 4 : op == SHMC_OP_BINUNICODE8 ? 8 : 0;
    *last_row_memoizable = 0;
    if (w) {
        if ((size_t)(end - p) < w) return PF_BAIL;
        for (unsigned i = 0; i < w; i++) n |= (uint64_t)p[i] << (8 * i);
        p += w;
        if (n > (uint64_t)(end - p)) return PF_BAIL;
        FORWARD_IF_ERROR(pf_spush(S, p, (size_t)n, 1));
        *pp = p + n;
        *last_row_memoizable = 1;
        return SHMC_OK;
    }
    if (op == SHMC_OP_NONE) {
        *pp = p;
        return pf_spush(S, NULL, 0, 0);
    }
    if (op == SHMC_OP_BINGET || op == SHMC_OP_LONG_BINGET) {
        unsigned gw = op == SHMC_OP_BINGET ? 1 : 4;
        if ((size_t)(end - p) < gw) return PF_BAIL;
        for (unsigned i = 0; i < gw; i++) n |= (uint64_t)p[i] << (8 * i);
        *pp = p + gw;
        return pf_sget(S, n);
    }
    return PF_BAIL;
}

/* Memo opcodes after an item: MEMOIZE, BINPUT, LONG_BINPUT. */
static int pf_smemo_op(pf_sbuf *S, const uint8_t **pp, const uint8_t *end, int64_t row) {
    const uint8_t *p = *pp;
    if (p >= end) return PF_BAIL;
    if (*p == SHMC_OP_MEMOIZE) {
        *pp = p + 1;
        return pf_smemo(S, S->nmemo, row);
    }
    if (*p == SHMC_OP_BINPUT && end - p >= 2) {
        *pp = p + 2;
        return pf_smemo(S, p[1], row);
    }
    if (*p == SHMC_OP_LONG_BINPUT && end - p >= 5) {
        *pp = p + 5;
        uint64_t idx = (uint64_t)p[1] | (uint64_t)p[2] << 8 | (uint64_t)p[3] << 16 | (uint64_t)p[4] << 24;
        return pf_smemo(S, idx, row);
    }
    return SHMC_OK;
}

static int pf_sframe(const uint8_t **pp, const uint8_t *end) {
    while (end - *pp >= 9 && **pp == SHMC_OP_FRAME) {
        uint64_t n = 0;
        for (int i = 0; i < 8; i++) n |= (uint64_t)(*pp)[1 + i] << (8 * i);
        if (n > (uint64_t)(end - *pp - 9)) return PF_BAIL;
        *pp += 9;
    }
    return SHMC_OK;
}

static int pf_sbody(pf_sbuf *S, const uint8_t *p, const uint8_t *end) {
    if (end - p < 3 || p[0] != SHMC_OP_PROTO || p[1] < 2 || p[1] > 5) return PF_BAIL;
    p += 2;
    FORWARD_IF_ERROR(pf_sframe(&p, end));
    if (p >= end || *p++ != SHMC_OP_EMPTY_LIST) return PF_BAIL;
    FORWARD_IF_ERROR(pf_smemo_op(S, &p, end, -1));
    int in_mark = 0, memoizable;
    for (;;) {
        FORWARD_IF_ERROR(pf_sframe(&p, end));
        if (p >= end) return PF_BAIL;
        uint8_t op = *p;
        if (op == SHMC_OP_STOP && !in_mark) return p + 1 == end ? SHMC_OK : PF_BAIL;
        if (op == SHMC_OP_MARK && !in_mark) { in_mark = 1; p++; continue; }
        if (op == SHMC_OP_APPENDS && in_mark) { in_mark = 0; p++; continue; }
        if (op == SHMC_OP_APPEND && !in_mark) { p++; continue; }   /* single item was pushed just before */
        FORWARD_IF_ERROR(pf_sitem(S, &p, end, &memoizable));
        if (memoizable) FORWARD_IF_ERROR(pf_smemo_op(S, &p, end, (int64_t)S->n - 1));
        if (!in_mark && (p >= end || *p != SHMC_OP_APPEND)) return PF_BAIL;
    }
}

static int pf_strings_fast(shmc_frame *frame, const uint8_t *buf, size_t len, shmc_column_desc *desc,
                           uint64_t *nrows) {
    pf_sbuf S;
    memset(&S, 0, sizeof S);
    shmc_pickle_limits lim;
    shmc_pk_limits_resolve(&lim, NULL, len);
    S.budget = lim.max_alloc;
    /* Size for the common case up front (untouched pages cost nothing): string
     * bytes never exceed the input unless memo references repeat them. */
    int st = pf_sgrow((void **)&S.off, &S.ncap, len / 16 + 2, sizeof *S.off, &S.budget);
    if (st == SHMC_OK) st = pf_sgrow((void **)&S.data, &S.dcap, len, 1, &S.budget);
    if (st == SHMC_OK) st = pf_sgrow((void **)&S.memo, &S.mcap, len / 16 + 2, sizeof *S.memo, &S.budget);
    if (st == SHMC_OK) {
        S.off[0] = 0;
        st = pf_sbody(&S, buf, buf + len);
    }
    free(S.memo);
    if (st == SHMC_OK && !S.data) st = (S.data = malloc(1)) ? SHMC_OK : PF_BAIL;
    if (st == SHMC_OK) st = shmc_frame_keep(frame, S.off, free) == SHMC_OK ? SHMC_OK : PF_BAIL;
    if (st != SHMC_OK) {
        free(S.off);
        free(S.data);
        free(S.valid);
        return PF_BAIL;
    }
    if (shmc_frame_keep(frame, S.data, free) != SHMC_OK) free(S.data), S.data = NULL;
    if (S.valid && shmc_frame_keep(frame, S.valid, free) != SHMC_OK) free(S.valid), S.valid = NULL;
    if (!S.data) return PF_BAIL;
    int missing = 0;
    for (size_t i = 0; S.valid && i < S.n && !missing; i++) missing = !((S.valid[i >> 3] >> (i & 7)) & 1);
    desc->kind = SHMC_KIND_STRING;
    desc->offsets = S.off;
    desc->data = S.data;
    desc->validity = missing ? S.valid : NULL;
    desc->validity_offset = 0;
    *nrows = S.n;
    return SHMC_OK;
}

int shmc_frame_strings_from_pickle(shmc_frame *frame, const void *buf, size_t len, shmc_column_desc *desc,
                                   uint64_t *nrows_out) {
    if (!frame) return SHMC_ERR_INVALID_ARG;
    shmc_err *err = shmc_frame_err(frame);
    RETURN_ERROR_IF(!buf || !desc || !nrows_out, err, SHMC_ERR_INVALID_ARG, "strings pickle: NULL argument");
    if (pf_strings_fast(frame, buf, len, desc, nrows_out) == SHMC_OK) return SHMC_OK;
    pf_ctx C = {.frame = frame, .err = err, .sink = NULL};
    shmc_pk_limits_resolve(&C.lim, NULL, len);
    C.budget = C.lim.max_alloc;
    shmc_pk_input in = {buf, len, NULL, NULL, 0};
    shmc_pk_doc *doc;
    shmc_pk_value *root;
    FORWARD_IF_ERROR(shmc_pk_parse(&in, NULL, &doc, &root, err));
    int st;
    pf_col col;
    memset(&col, 0, sizeof col);
    if (root->type != SHMC_PK_LIST)
        st = pf_unsupported(&C, root, "a string column (a list of str/None is read)");
    else
        st = pf_strings(&C, root->v.seq.items, root->v.seq.len, &col);
    shmc_pk_doc_free(doc);
    FORWARD_IF_ERROR(st);
    desc->kind = SHMC_KIND_STRING;
    desc->offsets = col.d.offsets;
    desc->data = col.d.data;
    desc->validity = col.d.validity;
    desc->validity_offset = 0;
    *nrows_out = col.nrows;
    return SHMC_OK;
}
