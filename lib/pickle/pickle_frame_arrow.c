/* pd.ArrowDtype columns (pandas.arrays.ArrowExtensionArray) -> SHMC_KIND_ARROW column
 * descriptors, exactly as Python's writer (python/shmchunk/_arrow.py) makes them for
 * the same column. A pyarrow array pickles as
 *   pyarrow.lib._restore_array((TYPE, length, null_count, offset, [buffers], [children],
 *                               dictionary))
 * and its type as type_for_alias(str(type)), timestamp(unit[, tz]), decimal128(p, s),
 * decimal256(p, s), binary(width) or dictionary(index, value, ordered). The type
 * becomes its Arrow C data interface format string ("tsn:Europe/Paris", "d:10,2",
 * "w:5") and arrow_format.c (the one table) says whether it is stored natively and
 * which buffers it has; every length, offset and buffer size is checked here against
 * that layout before a descriptor points into the pickle. Nothing is executed. */
#include <stdio.h>
#include <string.h>

#include "arrow_format.h"
#include "pickle_frame_int.h"

#define PA_FMT_CAP 320 /* > ARROW_FORMAT_MAX of arrow_format.c: longer is refused there */

/* A pyarrow type: its format (of the indices when dictionary-encoded), the values'
 * format of a dictionary, and pyarrow's str(type) (what str(ArrowDtype) prints). */
typedef struct pa_type {
    char fmt[PA_FMT_CAP], vfmt[PA_FMT_CAP], str[2 * PA_FMT_CAP];
    int dict, ordered;
    shmc_arrow_layout l, vl;
} pa_type;

/* One _restore_array tuple's header. */
typedef struct pa_arr {
    const shmc_pk_value *node, *bufs;
    uint64_t n, off;
    int64_t nulls;
} pa_arr;

static int pa_call(const shmc_pk_value *v, const char *name)
{
    return v && v->type == SHMC_PK_REDUCE && shmc_pk_is_global(pf_callee(v), "pyarrow.lib", name);
}

static int pa_is_nested(const shmc_pk_value *t)
{
    static const char *const nested[] = {
        "list_", "large_list", "list_view",   "large_list_view", "fixed_size_list", "struct",
        "map_",  "union",      "dense_union", "sparse_union",    "run_end_encoded"};
    for (size_t i = 0; i < sizeof nested / sizeof *nested; i++)
        if (pa_call(t, nested[i])) return 1;
    return 0;
}

/* Check fmt against the one format table. */
static int pa_layout(pf_ctx *C, const shmc_pk_value *t, const char *fmt, shmc_arrow_layout *l)
{
    const char *why;
    if (shmc_arrow_layout_of(fmt, l, &why) == 0) return SHMC_OK;
    return pf_fail(C, SHMC_ERR_UNSUPPORTED, t, "pyarrow type of Arrow format '%.60s': %s", fmt,
                   why);
}

static int pa_alias(pf_ctx *C, const shmc_pk_value *t, pa_type *o)
{
    const shmc_pk_value *a = pf_arg(t, 0);
    if (!a || a->type != SHMC_PK_STR) return pf_unsupported(C, t, "a pyarrow type alias");
    const char *fmt = shmc_arrow_format_of_alias((const char *)a->v.bytes.ptr, a->v.bytes.len);
    if (!fmt)
        return pf_fail(C, SHMC_ERR_UNSUPPORTED, t,
                       "pyarrow type '%.*s' is not an Arrow type stored natively "
                       "(FORMAT.md section 3a lists them)",
                       (int)(a->v.bytes.len > 60 ? 60 : a->v.bytes.len), a->v.bytes.ptr);
    snprintf(o->fmt, sizeof o->fmt, "%s", fmt);
    snprintf(o->str, sizeof o->str, "%s", shmc_arrow_alias(fmt));
    return SHMC_OK;
}

/* timestamp(unit[, tz]): unit s/ms/us/ns, tz None or a zone name. */
static int pa_timestamp(pf_ctx *C, const shmc_pk_value *t, pa_type *o)
{
    const shmc_pk_value *u = pf_arg(t, 0), *tz = pf_nargs(t) > 1 ? pf_arg(t, 1) : NULL;
    int unit = u && u->type == SHMC_PK_STR ? pf_unit(u->v.bytes.ptr, u->v.bytes.len) : 0;
    if (!unit || pf_nargs(t) > 2 || (tz && tz->type != SHMC_PK_NONE && tz->type != SHMC_PK_STR))
        return pf_unsupported(C, t, "a pyarrow timestamp type (unit, tz)");
    size_t len = tz && tz->type == SHMC_PK_STR ? tz->v.bytes.len : 0;
    const char *zp = len ? (const char *)tz->v.bytes.ptr : "";
    if (len > 255 || memchr(zp, 0, len)) /* never truncated: the zone-name rule sees it all */
        return pf_unsupported(C, tz, "a time zone name (1..255 bytes, no NUL)");
    int zl = (int)len;
    snprintf(o->fmt, sizeof o->fmt, "ts%c:%.*s", "smun"[unit - 1], zl, zp);
    snprintf(o->str, sizeof o->str, zl ? "timestamp[%s, tz=%.*s]" : "timestamp[%s]",
             pf_unit_name(unit), zl, zp);
    return SHMC_OK;
}

static int pa_decimal(pf_ctx *C, const shmc_pk_value *t, int bits, pa_type *o)
{
    int64_t p, s;
    if (pf_nargs(t) != 2 || !pf_int(pf_arg(t, 0), &p) || !pf_int(pf_arg(t, 1), &s) || p < 1 ||
        p > 76 || s < -99 || s > 99)
        return pf_unsupported(C, t, "a pyarrow decimal type (precision, scale)");
    snprintf(o->fmt, sizeof o->fmt, bits == 256 ? "d:%lld,%lld,256" : "d:%lld,%lld", (long long)p,
             (long long)s);
    snprintf(o->str, sizeof o->str, "decimal%d(%lld, %lld)", bits, (long long)p, (long long)s);
    return SHMC_OK;
}

/* binary(width): -1 is variable-size binary, else fixed_size_binary. */
static int pa_binary(pf_ctx *C, const shmc_pk_value *t, pa_type *o)
{
    int64_t w;
    if (pf_nargs(t) != 1 || !pf_int(pf_arg(t, 0), &w) || w < -1 || w == 0 || w > (1 << 20))
        return pf_unsupported(C, t, "a pyarrow binary type (width)");
    if (w == -1) {
        snprintf(o->fmt, sizeof o->fmt, "z");
        snprintf(o->str, sizeof o->str, "binary");
    } else {
        snprintf(o->fmt, sizeof o->fmt, "w:%lld", (long long)w);
        snprintf(o->str, sizeof o->str, "fixed_size_binary[%lld]", (long long)w);
    }
    return SHMC_OK;
}

/* A type that is not a dictionary: o->fmt, o->str and o->l. */
static int pa_plain_type(pf_ctx *C, const shmc_pk_value *t, pa_type *o)
{
    int st;
    if (pa_call(t, "type_for_alias")) st = pa_alias(C, t, o);
    else if (pa_call(t, "timestamp")) st = pa_timestamp(C, t, o);
    else if (pa_call(t, "decimal128")) st = pa_decimal(C, t, 128, o);
    else if (pa_call(t, "decimal256")) st = pa_decimal(C, t, 256, o);
    else if (pa_call(t, "binary")) st = pa_binary(C, t, o);
    else if (pa_call(t, "dictionary"))
        return pf_fail(C, SHMC_ERR_UNSUPPORTED, t,
                       "a pyarrow dictionary whose values or "
                       "indices are a dictionary");
    else if (pa_is_nested(t))
        return pf_fail(
            C, SHMC_ERR_UNSUPPORTED, t,
            "pyarrow type %.*s(...): a nested Arrow type (list, struct, map, union) "
            "has no native layout; `shmchunk pack` does not read it (Python's "
            "writer stores it as an opaque pickle)",
            (int)(pf_callee(t)->v.global.name_len > 40 ? 40 : pf_callee(t)->v.global.name_len),
            pf_callee(t)->v.global.name);
    else return pf_unsupported(C, t, "a pyarrow type");
    FORWARD_IF_ERROR(st);
    return pa_layout(C, t, o->fmt, &o->l);
}

/* Any type a column may hold: a plain one, or dictionary(index, value, ordered). */
static int pa_type_read(pf_ctx *C, const shmc_pk_value *t, pa_type *o)
{
    memset(o, 0, sizeof *o);
    if (!pa_call(t, "dictionary")) return pa_plain_type(C, t, o);
    const shmc_pk_value *ord = pf_arg(t, 2);
    pa_type v;
    if (pf_nargs(t) != 3 || !ord || (ord->type != SHMC_PK_BOOL && ord->type != SHMC_PK_INT))
        return pf_unsupported(C, t, "a pyarrow dictionary type (index, value, ordered)");
    FORWARD_IF_ERROR(pa_plain_type(C, pf_arg(t, 0), o));
    if (!o->l.integer)
        return pf_fail(C, SHMC_ERR_UNSUPPORTED, t,
                       "pyarrow dictionary indices of type %s (an integer type is read)", o->str);
    memset(&v, 0, sizeof v);
    FORWARD_IF_ERROR(pa_plain_type(C, pf_arg(t, 1), &v));
    o->dict = 1;
    o->ordered = ord->v.i != 0;
    o->vl = v.l;
    memcpy(o->vfmt, v.fmt, sizeof o->vfmt);
    char idx[PA_FMT_CAP];
    memcpy(idx, o->str, sizeof idx);
    snprintf(o->str, sizeof o->str, "dictionary<values=%.*s, indices=%s, ordered=%d>",
             PA_FMT_CAP - 60, v.str, idx, o->ordered);
    return SHMC_OK;
}

static int pa_type_eq(const pa_type *a, const pa_type *b)
{
    return !strcmp(a->fmt, b->fmt) && a->dict == b->dict &&
           (!a->dict || (!strcmp(a->vfmt, b->vfmt) && a->ordered == b->ordered));
}

/* ArrowDtype: NEWOBJ + BUILD {"_storage"|"storage": "pyarrow", "pyarrow_dtype": TYPE}. */
static int pa_dtype(pf_ctx *C, const shmc_pk_value *dt, pa_type *o)
{
    const shmc_pk_value *st = shmc_pk_state(dt);
    const shmc_pk_value *storage = shmc_pk_dict_get(st, "_storage");
    if (!storage) storage = shmc_pk_dict_get(st, "storage");
    if (!pf_pd(pf_callee(dt), "ArrowDtype") || (storage && !shmc_pk_str_eq(storage, "pyarrow")))
        return pf_unsupported(C, dt, "an ArrowDtype");
    const shmc_pk_value *t = shmc_pk_dict_get(st, "pyarrow_dtype");
    if (!t) return pf_unsupported(C, dt, "an ArrowDtype (no pyarrow_dtype)");
    return pa_type_read(C, t, o);
}

/* The tuple of _restore_array: 7 items, length, null_count (-1: not counted) and
 * offset in range, no children, a dictionary exactly when the type has one. */
static int pa_header(pf_ctx *C, const shmc_pk_value *t, int dict, pa_arr *a)
{
    int64_t n, nulls, off;
    const shmc_pk_value *kids = shmc_pk_item(t, 5), *d = shmc_pk_item(t, 6);
    a->node = t;
    a->bufs = shmc_pk_item(t, 4);
    if (!t || t->type != SHMC_PK_TUPLE || shmc_pk_len(t) != 7)
        return pf_unsupported(C, t, "a pyarrow array state (7 items)");
    if (!pf_is_list(a->bufs))
        return pf_unsupported(C, a->bufs, "pyarrow array buffers (a list is read)");
    if (!pf_int(shmc_pk_item(t, 1), &n) || !pf_int(shmc_pk_item(t, 2), &nulls) ||
        !pf_int(shmc_pk_item(t, 3), &off) || n < 0 || off < 0 || nulls < -1 || nulls > n)
        return pf_fail(C, SHMC_ERR_PICKLE, t,
                       "pyarrow array length, null_count or offset is not an int in range "
                       "(length >= 0, -1 <= null_count <= length, offset >= 0)");
    if (!pf_is_list(kids) || shmc_pk_len(kids) != 0)
        return pf_fail(C, SHMC_ERR_PICKLE, t, "pyarrow array of a flat type has child arrays");
    if (dict != (d && d->type != SHMC_PK_NONE))
        return pf_fail(C, SHMC_ERR_PICKLE, t, "pyarrow array %s a dictionary its type %s",
                       dict ? "lacks" : "has", dict ? "needs" : "does not have");
    a->n = (uint64_t)n;
    a->off = (uint64_t)off;
    a->nulls = nulls;
    return SHMC_OK;
}

/* Buffer i: bytes (ptr, len); None gives ptr NULL. */
static int pa_buf(pf_ctx *C, const pa_arr *a, size_t i, const uint8_t **p, size_t *len)
{
    const shmc_pk_value *b = shmc_pk_item(a->bufs, i);
    *p = NULL;
    *len = 0;
    if (b && b->type == SHMC_PK_NONE) return SHMC_OK;
    return pf_bytes(C, b, p, len, 0);
}

/* Does a buffer of len bytes hold (off + n) items of `bits` bits? Overflow-safe. */
static int pa_fits(uint64_t off, uint64_t n, uint64_t bits, size_t len)
{
    uint64_t rows, total;
    if (__builtin_add_overflow(off, n, &rows) || __builtin_mul_overflow(rows, bits, &total))
        return 0;
    return total / 8 + (total % 8 != 0) <= len;
}

static int pa_short(pf_ctx *C, const pa_arr *a, const char *what, size_t len)
{
    return pf_fail(C, SHMC_ERR_PICKLE, a->node,
                   "pyarrow %s buffer of %zu bytes is too short for %llu rows at offset %llu", what,
                   len, (unsigned long long)a->n, (unsigned long long)a->off);
}

static int pa_validity(pf_ctx *C, const pa_arr *a, shmc_column_desc *d)
{
    const uint8_t *p;
    size_t len;
    FORWARD_IF_ERROR(pa_buf(C, a, 0, &p, &len));
    if (p && !pa_fits(a->off, a->n, 1, len)) return pa_short(C, a, "validity", len);
    if (!p && a->nulls > 0)
        return pf_fail(C, SHMC_ERR_PICKLE, a->node, "pyarrow array has %lld nulls and no validity",
                       (long long)a->nulls);
    d->validity = p && a->nulls != 0 ? p : NULL; /* as Python's writer: no nulls, no bitmap */
    d->validity_offset = d->validity ? a->off : 0;
    return SHMC_OK;
}

/* Offsets off..off+n of `w` bytes: non-negative, non-decreasing, within the data. */
static int pa_offsets(pf_ctx *C, const pa_arr *a, const uint8_t *p, uint32_t w, size_t dlen)
{
    int64_t prev = 0;
    for (uint64_t i = 0; i <= a->n; i++) {
        const uint8_t *q = p + (size_t)(a->off + i) * w;
        int64_t x;
        int32_t y;
        if (w == 8) memcpy(&x, q, 8);
        else memcpy(&y, q, 4), x = y;
        if (x < prev || (uint64_t)x > dlen)
            return pf_fail(C, SHMC_ERR_PICKLE, a->node,
                           "pyarrow offset %llu is %lld (previous %lld, data %zu bytes)",
                           (unsigned long long)(a->off + i), (long long)x, (long long)prev, dlen);
        prev = x;
    }
    return SHMC_OK;
}

static int pa_var(pf_ctx *C, const pa_arr *a, const shmc_arrow_layout *l, shmc_column_desc *d)
{
    static const int64_t zero = 0;
    const uint8_t *ob, *db;
    size_t olen, dlen;
    FORWARD_IF_ERROR(pa_buf(C, a, 1, &ob, &olen));
    FORWARD_IF_ERROR(pa_buf(C, a, 2, &db, &dlen));
    if (!ob && a->n == 0) ob = (const uint8_t *)&zero, olen = sizeof zero;
    if (!ob || !pa_fits(a->off, a->n + 1, 8 * l->width, olen))
        return pa_short(C, a, "offsets", olen);
    FORWARD_IF_ERROR(pa_offsets(C, a, ob, l->width, dlen));
    d->offsets = (const int64_t *)(const void *)(ob + a->off * l->width); /* read by memcpy */
    d->data = db ? db : (const uint8_t *)"";
    return SHMC_OK;
}

static int pa_values(pf_ctx *C, const pa_arr *a, const shmc_arrow_layout *l, shmc_column_desc *d)
{
    const uint8_t *p;
    size_t len;
    FORWARD_IF_ERROR(pa_buf(C, a, 1, &p, &len));
    if (!p && a->n == 0) p = (const uint8_t *)"", len = 0;
    uint64_t bits = l->shape == SHMC_ARROW_BITS ? 1 : 8 * (uint64_t)l->width;
    if (!p || !pa_fits(a->off, a->n, bits, len)) return pa_short(C, a, "values", len);
    if (l->shape == SHMC_ARROW_BITS) {
        d->values = p;
        d->values_bit_offset = a->off;
    } else d->values = a->n ? p + a->off * l->width : p;
    return SHMC_OK;
}

/* The buffers of an array of layout l (its indices' for a dictionary) -> d. */
static int pa_buffers(pf_ctx *C, const pa_arr *a, const shmc_arrow_layout *l, shmc_column_desc *d)
{
    size_t want = l->shape == SHMC_ARROW_VAR ? 3 : 2;
    if (shmc_pk_len(a->bufs) != want)
        return pf_fail(C, SHMC_ERR_PICKLE, a->node,
                       "pyarrow array of Arrow %s has %zu buffers (%zu expected)", l->name,
                       shmc_pk_len(a->bufs), want);
    FORWARD_IF_ERROR(pa_validity(C, a, d));
    if (l->shape == SHMC_ARROW_VAR) return pa_var(C, a, l, d);
    return pa_values(C, a, l, d);
}

static int pa_own_str(pf_ctx *C, const char *s, const char **out)
{
    char *p;
    FORWARD_IF_ERROR(pf_own(C, strlen(s) + 1, (void **)&p));
    memcpy(p, s, strlen(s) + 1);
    *out = p;
    return SHMC_OK;
}

static int64_t pa_index_at(const shmc_column_desc *d, const char *fmt, uint32_t w, uint64_t i)
{
    const uint8_t *p = (const uint8_t *)d->values + (size_t)i * w;
    uint64_t u = 0;
    memcpy(&u, p, w); /* little-endian */
    int is_signed = fmt[0] >= 'a';
    if (is_signed && w < 8 && (u >> (8 * w - 1)) & 1) u |= ~(uint64_t)0 << (8 * w);
    if (!is_signed && w == 8 && u > (uint64_t)INT64_MAX) return -1;
    return (int64_t)u;
}

/* Every valid row's index inside the dictionary (the writer does not look). */
static int pa_indices(pf_ctx *C, const pa_arr *a, const pa_type *t, const shmc_column_desc *d,
                      uint64_t ndict)
{
    for (uint64_t i = 0; i < a->n; i++) {
        if (!pf_valid_bit(d, i)) continue;
        int64_t x = pa_index_at(d, t->fmt, t->l.width, i);
        if (x < 0 || (uint64_t)x >= ndict)
            return pf_fail(C, SHMC_ERR_PICKLE, a->node,
                           "pyarrow dictionary index at row %llu is %lld, outside its %llu values",
                           (unsigned long long)i, (long long)x, (unsigned long long)ndict);
    }
    return SHMC_OK;
}

/* The dictionary (values) of a dictionary-encoded array -> col->cats. */
static int pa_dictionary(pf_ctx *C, const pa_arr *a, const pa_type *t, pf_col *col)
{
    pa_arr da;
    FORWARD_IF_ERROR(pa_header(C, shmc_pk_item(a->node, 6), 0, &da));
    pa_type vt;
    FORWARD_IF_ERROR(pa_type_read(C, shmc_pk_item(da.node, 0), &vt));
    if (vt.dict || strcmp(vt.fmt, t->vfmt))
        return pf_fail(C, SHMC_ERR_PICKLE, da.node,
                       "pyarrow dictionary values are %s, the type says '%s'", vt.str, t->vfmt);
    memset(&col->cats, 0, sizeof col->cats);
    col->cats.kind = SHMC_KIND_ARROW;
    FORWARD_IF_ERROR(pa_own_str(C, vt.fmt, &col->cats.arrow));
    FORWARD_IF_ERROR(pa_buffers(C, &da, &vt.l, &col->cats));
    FORWARD_IF_ERROR(pa_indices(C, a, t, &col->d, da.n));
    col->d.categories = &col->cats;
    col->d.ncategories = da.n;
    if (t->ordered) col->d.flags |= SHMC_COL_ORDERED;
    return SHMC_OK;
}

/* pyarrow ChunkedArray of exactly one chunk, or an Array (pandas combines chunks
 * before pickling an ArrowExtensionArray, 2.2 and 3.x). */
int pf_pa_unchunk(pf_ctx *C, const shmc_pk_value **v)
{
    if (!pa_call(*v, "chunked_array")) return SHMC_OK;
    const shmc_pk_value *chunks = pf_arg(*v, 0);
    if (shmc_pk_len(chunks) != 1)
        return pf_fail(C, SHMC_ERR_UNSUPPORTED, *v,
                       "pyarrow ChunkedArray of %zu chunks (1 is read)", shmc_pk_len(chunks));
    *v = shmc_pk_item(chunks, 0);
    return SHMC_OK;
}

/* *pa (an Array, or a ChunkedArray of one) -> the _restore_array call; its type -> got. */
static int pa_restore(pf_ctx *C, const shmc_pk_value **pa, pa_type *got)
{
    FORWARD_IF_ERROR(pf_pa_unchunk(C, pa));
    if (!pa_call(*pa, "_restore_array") || pf_nargs(*pa) != 1)
        return pf_unsupported(C, *pa, "a pyarrow array");
    return pa_type_read(C, shmc_pk_item(pf_arg(*pa, 0), 0), got);
}

/* ArrowStringArray's array (pyarrow string or large_string), checked as any Arrow
 * column is: d gets its validity, offsets (*width bytes each) and data. */
int pf_pa_strings(pf_ctx *C, const shmc_pk_value *v, shmc_column_desc *d, uint64_t *n,
                  uint32_t *width)
{
    pa_type t;
    pa_arr a;
    FORWARD_IF_ERROR(pa_restore(C, &v, &t));
    if (t.dict || !t.l.utf8)
        return pf_fail(C, SHMC_ERR_UNSUPPORTED, v, "pyarrow %s array (a string type is read)",
                       t.str);
    FORWARD_IF_ERROR(pa_header(C, pf_arg(v, 0), 0, &a));
    FORWARD_IF_ERROR(pa_buffers(C, &a, &t.l, d));
    *n = a.n;
    *width = t.l.width;
    return SHMC_OK;
}

/* ArrowExtensionArray: NEWOBJ + BUILD {_pa_array | _data: array, _dtype: ArrowDtype}. */
int pf_arrow_extension(pf_ctx *C, const shmc_pk_value *v, pf_col *col)
{
    const shmc_pk_value *st = shmc_pk_state(v), *pa = shmc_pk_dict_get(st, "_pa_array");
    pa_type want, got;
    if (!pa) pa = shmc_pk_dict_get(st, "_data");
    FORWARD_IF_ERROR(pa_dtype(C, shmc_pk_dict_get(st, "_dtype"), &want));
    FORWARD_IF_ERROR(pa_restore(C, &pa, &got));
    const shmc_pk_value *t = pf_arg(pa, 0);
    if (!pa_type_eq(&want, &got))
        return pf_fail(C, SHMC_ERR_PICKLE, pa, "ArrowDtype is %.200s but the array is %.200s",
                       want.str, got.str);
    pa_arr a;
    FORWARD_IF_ERROR(pa_header(C, t, got.dict, &a));
    col->d.kind = SHMC_KIND_ARROW;
    FORWARD_IF_ERROR(pa_own_str(C, got.fmt, &col->d.arrow));
    FORWARD_IF_ERROR(pa_buffers(C, &a, &got.l, &col->d));
    if (got.dict) FORWARD_IF_ERROR(pa_dictionary(C, &a, &got, col));
    char dt[sizeof got.str + 16];
    snprintf(dt, sizeof dt, "%s[pyarrow]", got.str);
    FORWARD_IF_ERROR(pa_own_str(C, dt, &col->odtype));
    snprintf(col->dtype, sizeof col->dtype, "%.*s", (int)sizeof col->dtype - 1, dt);
    col->nrows = a.n;
    return SHMC_OK;
}
