/* The recogniser's base (the rest is listed in pickle_frame_int.h): errors and owned
 * memory, global names, bytes in every protocol's spelling, the accepted numpy dtypes
 * (pf_dtypes, the one table of dtype codes) and ndarrays (frombuffer and _reconstruct,
 * C and Fortran order, byte swapping), and object items of str/None/NaN turned into
 * Arrow string buffers. Split from pickle_frame.c so each file holds one job. */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "format.h"
#include "pickle_frame_int.h"

/* The accepted numpy dtypes (pf_dtype_row, in pickle_frame_int.h, says what a row is). */
static const pf_dtype_row pf_dtypes[] = {
    {'b', 1, SHMC_KIND_BOOL, "bool"},
    {'i', 1, SHMC_KIND_INT8, "int8"},
    {'i', 2, SHMC_KIND_INT16, "int16"},
    {'i', 4, SHMC_KIND_INT32, "int32"},
    {'i', 8, SHMC_KIND_INT64, "int64"},
    {'u', 1, SHMC_KIND_UINT8, "uint8"},
    {'u', 2, SHMC_KIND_UINT16, "uint16"},
    {'u', 4, SHMC_KIND_UINT32, "uint32"},
    {'u', 8, SHMC_KIND_UINT64, "uint64"},
    {'f', 4, SHMC_KIND_FLOAT32, "float32"},
    {'f', 8, SHMC_KIND_FLOAT64, "float64"},
    {'M', 8, SHMC_KIND_DATETIME, "datetime64"},
    {'m', 8, SHMC_KIND_TIMEDELTA, "timedelta64"},
    {'O', 8, 0, "object"},
    {'O', 4, 0, "object"}, /* 64- / 32-bit pickler */
};

/* ---- errors and memory --------------------------------------------------- */
static void pf_name(const shmc_pk_value *v, char *buf, size_t cap)
{
    if (v && (v->type == SHMC_PK_REDUCE || v->type == SHMC_PK_NEWOBJ)) v = v->v.call.callable;
    if (v && v->type == SHMC_PK_GLOBAL) {
        snprintf(buf, cap, "%.*s.%.*s",
                 (int)(v->v.global.module_len > 80 ? 80 : v->v.global.module_len),
                 (const char *)v->v.global.module,
                 (int)(v->v.global.name_len > 80 ? 80 : v->v.global.name_len),
                 (const char *)v->v.global.name);
        return;
    }
    snprintf(buf, cap, "%s", v ? shmc_pk_type_name(v->type) : "nothing");
}

void pf_fail_(pf_ctx *C, int status, const shmc_pk_value *at, const char *fmt, ...)
{
    char detail[360];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(detail, sizeof detail, fmt, ap);
    va_end(ap);
    shmc_err_set(C->err, status, "pickle byte %llu: %s", (unsigned long long)(at ? at->offset : 0),
                 detail);
}

int pf_unsupported(pf_ctx *C, const shmc_pk_value *v, const char *where)
{
    char name[200];
    pf_name(v, name, sizeof name);
    return pf_fail(C, SHMC_ERR_UNSUPPORTED, v, "unsupported construct %s as %s", name, where);
}

/* Owned buffers are charged to max_alloc before they are allocated: a few
 * bytes of shape (a (10^12, 0) block, a huge RangeIndex) cannot buy memory. */
int pf_own(pf_ctx *C, size_t size, void **out)
{
    if (size > C->budget)
        return pf_fail(C, SHMC_ERR_LIMIT, NULL,
                       "recogniser would allocate more than max_alloc=%llu bytes",
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
static int pf_name_is(const shmc_pk_value *g, const char *name)
{
    size_t n = strlen(name);
    return g && g->type == SHMC_PK_GLOBAL && g->v.global.name_len == n &&
           memcmp(g->v.global.name, name, n) == 0;
}

static int pf_module_prefix(const shmc_pk_value *g, const char *prefix)
{
    size_t n = strlen(prefix);
    return g->v.global.module_len >= n && memcmp(g->v.global.module, prefix, n) == 0 &&
           (g->v.global.module_len == n || g->v.global.module[n] == '.');
}

/* A pandas class or function, wherever pandas keeps it this version. */
int pf_pd(const shmc_pk_value *g, const char *name)
{
    return pf_name_is(g, name) && pf_module_prefix(g, "pandas");
}

/* numpy.core.X / numpy._core.X (numpy 1 / numpy 2). */
static int pf_np(const shmc_pk_value *g, const char *sub, const char *name)
{
    char a[64], b[64];
    snprintf(a, sizeof a, "numpy.core.%s", sub);
    snprintf(b, sizeof b, "numpy._core.%s", sub);
    return shmc_pk_is_global(g, a, name) || shmc_pk_is_global(g, b, name);
}

int pf_builtin(const shmc_pk_value *g, const char *name)
{
    return shmc_pk_is_global(g, "builtins", name) || shmc_pk_is_global(g, "__builtin__", name);
}

const shmc_pk_value *pf_callee(const shmc_pk_value *v)
{
    return v && (v->type == SHMC_PK_REDUCE || v->type == SHMC_PK_NEWOBJ) ? v->v.call.callable
                                                                         : NULL;
}

/* Argument i of a REDUCE/NEWOBJ (NULL for anything else: the union is not args). */
const shmc_pk_value *pf_arg(const shmc_pk_value *v, size_t i)
{
    return pf_callee(v) ? shmc_pk_item(v->v.call.args, i) : NULL;
}

size_t pf_nargs(const shmc_pk_value *v) { return pf_callee(v) ? shmc_pk_len(v->v.call.args) : 0; }

/* A list or tuple: what shmc_pk_len/shmc_pk_item index (not a set or dict). */
int pf_is_list(const shmc_pk_value *v)
{
    return v && (v->type == SHMC_PK_LIST || v->type == SHMC_PK_TUPLE);
}

int pf_int(const shmc_pk_value *v, int64_t *out)
{
    if (!v || (v->type != SHMC_PK_INT && v->type != SHMC_PK_BOOL) ||
        (v->flags & SHMC_PK_F_UNSIGNED))
        return 0;
    *out = v->v.i;
    return 1;
}

static int pf_is_na(const shmc_pk_value *v)
{
    return pf_pd(v, "NA"); /* pandas._libs.missing.NA, pandas.NA */
}

/* ---- bytes --------------------------------------------------------------- */
/* Protocol 2 spells bytes as _codecs.encode(<latin-1 text>, "latin1"). */
static int pf_latin1(pf_ctx *C, const shmc_pk_value *s, const uint8_t **ptr, size_t *len)
{
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

int pf_bytes(pf_ctx *C, const shmc_pk_value *v, const uint8_t **ptr, size_t *len, int nest)
{
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
        if ((pf_builtin(f, "bytearray") || shmc_pk_is_global(f, "pyarrow.lib", "py_buffer")) &&
            nargs == 1)
            return pf_bytes(C, pf_arg(v, 0), ptr, len, nest + 1);
    }
    return pf_unsupported(C, v, "a byte buffer");
}

/* ---- numpy dtypes -------------------------------------------------------- */
int pf_unit(const uint8_t *p, size_t n)
{
    if (n == 2 && !memcmp(p, "ns", 2)) return SHMC_UNIT_NS;
    if (n == 2 && !memcmp(p, "us", 2)) return SHMC_UNIT_US;
    if (n == 2 && !memcmp(p, "ms", 2)) return SHMC_UNIT_MS;
    if (n == 1 && p[0] == 's') return SHMC_UNIT_S;
    return 0;
}

const char *pf_unit_name(int unit)
{
    static const char *const n[] = {"", "s", "ms", "us", "ns"};
    return unit >= 0 && unit <= 4 ? n[unit] : "";
}

/* dtype state item 8 (datetimes): (metadata, (unit, num, den, events)). */
static int pf_dtype_unit(pf_ctx *C, const shmc_pk_value *state, pf_dtype *dt)
{
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

static const pf_dtype_row *pf_dtype_lookup(char kind, uint32_t size)
{
    for (size_t i = 0; i < sizeof pf_dtypes / sizeof *pf_dtypes; i++)
        if (pf_dtypes[i].kind == kind && pf_dtypes[i].size == size) return &pf_dtypes[i];
    return NULL;
}

/* "<kind><digits>" (numpy's dtype code, 2-4 characters) -> a row of pf_dtypes. */
static const pf_dtype_row *pf_dtype_code(const uint8_t *s, size_t len)
{
    uint32_t size = 0;
    if (len < 2 || len > 4) return NULL;
    for (size_t i = 1; i < len; i++) {
        if (s[i] < '0' || s[i] > '9') return NULL;
        size = size * 10 + (uint32_t)(s[i] - '0');
    }
    return pf_dtype_lookup((char)s[0], size);
}

int pf_dtype_parse(pf_ctx *C, const shmc_pk_value *v, pf_dtype *dt)
{
    memset(dt, 0, sizeof *dt);
    const shmc_pk_value *code = pf_arg(v, 0);
    if (!shmc_pk_is_global(pf_callee(v), "numpy", "dtype") || !code || code->type != SHMC_PK_STR)
        return pf_unsupported(C, v, "a numpy dtype");
    dt->row = pf_dtype_code(code->v.bytes.ptr, code->v.bytes.len);
    if (!dt->row)
        return pf_fail(C, SHMC_ERR_UNSUPPORTED, v,
                       "numpy dtype '%.*s' (read: b1, i1/2/4/8, u1/2/4/8, "
                       "f4/8, M8, m8, O8)",
                       (int)(code->v.bytes.len > 16 ? 16 : code->v.bytes.len),
                       (const char *)code->v.bytes.ptr);
    dt->kind = dt->row->kind;
    dt->itemsize = dt->row->size;
    const shmc_pk_value *order = shmc_pk_item(shmc_pk_state(v), 1);
    dt->swap = shmc_pk_str_eq(order, ">") && dt->itemsize > 1;
    if (dt->kind == 'M' || dt->kind == 'm')
        FORWARD_IF_ERROR(pf_dtype_unit(C, shmc_pk_state(v), dt));
    return SHMC_OK;
}

/* Kind and dtype string of a fixed-width numpy dtype (its pf_dtypes row). */
int pf_fixed_kind(pf_ctx *C, const pf_dtype *dt, const shmc_pk_value *at, int *kind, char *name,
                  size_t cap)
{
    *kind = dt->row ? dt->row->shmc_kind : 0;
    if (!*kind)
        return pf_fail(C, SHMC_ERR_UNSUPPORTED, at, "numpy dtype kind '%c' as fixed-width values",
                       dt->kind);
    if (dt->kind == 'M' || dt->kind == 'm')
        snprintf(name, cap, "%s[%s]", dt->row->name, pf_unit_name(dt->unit));
    else snprintf(name, cap, "%s", dt->row->name);
    return SHMC_OK;
}

/* ---- numpy arrays -------------------------------------------------------- */
static int pf_shape(pf_ctx *C, const shmc_pk_value *shape, pf_arr *a)
{
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

static int pf_arr_count(pf_ctx *C, const pf_arr *a, uint64_t *count)
{
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
static int pf_arr_check(pf_ctx *C, pf_arr *a)
{
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
        return pf_fail(C, SHMC_ERR_PICKLE, a->node,
                       "array of %llu x %u bytes has %zu bytes of data", (unsigned long long)count,
                       a->dt.itemsize, a->nbytes);
    return SHMC_OK;
}

static int pf_frombuffer(pf_ctx *C, const shmc_pk_value *v, pf_arr *a)
{
    FORWARD_IF_ERROR(pf_dtype_parse(C, pf_arg(v, 1), &a->dt));
    if (a->dt.kind == 'O') return pf_unsupported(C, v, "an object array from a buffer");
    FORWARD_IF_ERROR(pf_bytes(C, pf_arg(v, 0), &a->data, &a->nbytes, 0));
    FORWARD_IF_ERROR(pf_shape(C, pf_arg(v, 2), a));
    a->fortran = shmc_pk_str_eq(pf_arg(v, 3), "F");
    return pf_arr_check(C, a);
}

static int pf_reconstruct(pf_ctx *C, const shmc_pk_value *v, pf_arr *a)
{
    const shmc_pk_value *st = shmc_pk_state(v);
    if (!st || st->type != SHMC_PK_TUPLE || shmc_pk_len(st) != 5)
        return pf_unsupported(
            C, v, "an ndarray without its (version, shape, dtype, fortran, data) state");
    FORWARD_IF_ERROR(pf_shape(C, shmc_pk_item(st, 1), a));
    FORWARD_IF_ERROR(pf_dtype_parse(C, shmc_pk_item(st, 2), &a->dt));
    int64_t fortran = 0;
    pf_int(shmc_pk_item(st, 3), &fortran);
    a->fortran = fortran != 0;
    if (a->dt.kind == 'O') a->objs = shmc_pk_item(st, 4);
    else FORWARD_IF_ERROR(pf_bytes(C, shmc_pk_item(st, 4), &a->data, &a->nbytes, 0));
    return pf_arr_check(C, a);
}

int pf_is_ndarray(const shmc_pk_value *v)
{
    const shmc_pk_value *f = pf_callee(v);
    return v && v->type == SHMC_PK_REDUCE &&
           (pf_np(f, "numeric", "_frombuffer") || pf_np(f, "multiarray", "_reconstruct"));
}

int pf_array(pf_ctx *C, const shmc_pk_value *v, pf_arr *a)
{
    memset(a, 0, sizeof *a);
    a->node = v;
    if (v && v->type == SHMC_PK_REDUCE && pf_np(pf_callee(v), "numeric", "_frombuffer"))
        return pf_frombuffer(C, v, a);
    if (v && v->type == SHMC_PK_REDUCE && pf_np(pf_callee(v), "multiarray", "_reconstruct"))
        return pf_reconstruct(C, v, a);
    return pf_unsupported(C, v, "a numpy array");
}

void pf_arr_rows(const pf_arr *a, uint64_t *k, uint64_t *n)
{
    *k = a->ndim == 2 ? a->dims[0] : 1;
    *n = a->ndim == 2 ? a->dims[1] : a->dims[0];
}

void pf_swap(uint8_t *p, size_t count, uint32_t size)
{
    for (size_t i = 0; i < count; i++, p += size)
        for (uint32_t b = 0; b < size / 2; b++) {
            uint8_t t = p[b];
            p[b] = p[size - 1 - b];
            p[size - 1 - b] = t;
        }
}

/* Pointer to row j of a (k, n) C-ordered array (or of a one-row array): into
 * the input when native, else swapped into an owned buffer. */
int pf_arr_row(pf_ctx *C, const pf_arr *a, uint64_t j, const void **out)
{
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
int pf_arr_gather(pf_ctx *C, const pf_arr *a, uint64_t k, uint64_t n, uint8_t **outs)
{
    size_t s = a->dt.itemsize;
    for (uint64_t j = 0; j < k; j++)
        FORWARD_IF_ERROR(pf_own(C, (size_t)(n * s), (void **)&outs[j]));
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
static int pf_missing(const shmc_pk_value *v)
{
    return v->type == SHMC_PK_NONE || pf_is_na(v) || (v->type == SHMC_PK_FLOAT && isnan(v->v.f));
}

/* Object items (str / None / NaN / pd.NA) -> Arrow offsets + data + validity, two
 * passes (measure, fill), three allocations. */
static unsigned pf_miss_kind(const shmc_pk_value *v)
{
    if (v->type == SHMC_PK_NONE) return PF_MISS_NONE;
    return v->type == SHMC_PK_FLOAT ? PF_MISS_NAN : PF_MISS_NA;
}

/* total += len for string bytes about to be allocated: memo references let a few
 * input bytes repeat one long string, so the sum is bounded by the budget before
 * it could wrap (and before any allocation). */
int pf_add_len(pf_ctx *C, uint64_t *total, uint64_t len, const shmc_pk_value *at)
{
    if (len > C->budget || *total > C->budget - len)
        return pf_fail(C, SHMC_ERR_LIMIT, at, "strings would take more than max_alloc=%llu bytes",
                       (unsigned long long)C->lim.max_alloc);
    *total += len;
    return SHMC_OK;
}

/* The three buffers of n strings of `total` bytes: offsets (the first one 0), data,
 * and a zeroed validity bitmap when some are null (NULL otherwise). */
int pf_string_bufs(pf_ctx *C, uint64_t n, uint64_t total, uint64_t nulls, int64_t **off,
                   uint8_t **data, uint8_t **valid)
{
    *valid = NULL;
    FORWARD_IF_ERROR(pf_own(C, (size_t)(n + 1) * sizeof **off, (void **)off));
    FORWARD_IF_ERROR(pf_own(C, (size_t)total, (void **)data));
    (*off)[0] = 0;
    if (!nulls) return SHMC_OK;
    FORWARD_IF_ERROR(pf_own(C, (size_t)(n + 7) / 8, (void **)valid));
    memset(*valid, 0, (size_t)(n + 7) / 8);
    return SHMC_OK;
}

int pf_strings(pf_ctx *C, shmc_pk_value *const *items, uint64_t n, pf_col *col)
{
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
                           "other Python objects are not)",
                           (unsigned long long)i, shmc_pk_type_name(it->type));
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

/* Row i of an Arrow validity bitmap (at validity_offset); no bitmap: valid. */
int pf_valid_bit(const shmc_column_desc *d, uint64_t i)
{
    return !d->validity || shmc_bit_get(d->validity, d->validity_offset + i);
}
