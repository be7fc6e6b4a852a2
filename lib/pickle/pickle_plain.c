/* Plain values: the one place that decides which pickled labels and df.attrs
 * can be loaded without running anything, and re-encodes them so that they are.
 *
 * Why a re-encoding and not a filtering Unpickler: Unpickler.find_class governs
 * only the globals a stream names, not what BUILD and SETITEM then do to the
 * objects it was allowed to make (numpy.dtype's __setstate__ and numpy.void's
 * __setitem__ read and wrote memory at chosen offsets that way). Here the
 * restricted reader parses the stream into a graph without calling anything, the
 * graph is checked, and the output holds value opcodes only: whoever loads the
 * output has nothing to look up and nothing to call.
 *
 * Memo references make the graph a DAG (8 nested tuples of 100 references each
 * are 10^16 leaves in 1.6 KB): the walk counts every visit, however it was
 * reached, and every byte it would emit, and stops at the limits, so the work
 * here and the size of the value that comes out are both bounded. Two passes of
 * one walk: the first checks -- and keeps counting past a construct that is not
 * plain, so that a caller who falls back to the full unpickler still learns that
 * the value is too big to walk -- and the second emits. */
#include "pickle_plain.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pickle_read.h"
#include "shmchunk.h"

#define PLAIN_DEPTH_CAP  1024u
#define PLAIN_NODE_BYTES 11u /* the longest encoding of a scalar (LONG1 of 9 bytes) */

typedef struct plain_walk {
    shmc_pk *pk; /* NULL in the checking pass */
    shmc_plain_limits lim;
    uint64_t nodes, bytes;
    shmc_err *err;
    int refused; /* something not plain was found (detail in err) */
    const shmc_pk_value *path[PLAIN_DEPTH_CAP + 1]; /* the values being walked, by depth */
} plain_walk;

static uint64_t sat_add(uint64_t a, uint64_t b) { return a > UINT64_MAX - b ? UINT64_MAX : a + b; }

static void plain_limits_resolve(shmc_plain_limits *lim, const shmc_plain_limits *given, size_t len)
{
    shmc_plain_limits z = {0};
    if (!given) given = &z;
    uint64_t n = (uint64_t)len, n4 = n > UINT64_MAX / 4 ? UINT64_MAX : 4 * n;
    lim->max_nodes = given->max_nodes ? given->max_nodes : sat_add(256, n);
    lim->max_bytes = given->max_bytes ? given->max_bytes : sat_add(16384, n4);
    lim->max_depth = !given->max_depth                    ? 64
                     : given->max_depth > PLAIN_DEPTH_CAP ? PLAIN_DEPTH_CAP
                                                          : given->max_depth;
}

static unsigned long long at(const shmc_pk_value *v) { return (unsigned long long)v->offset; }

/* Record the first construct that is not plain; the checking pass goes on counting. */
__attribute__((format(printf, 3, 4), noinline)) static int
plain_refuse(plain_walk *W, const shmc_pk_value *v, const char *fmt, ...)
{
    if (W->refused) return SHMC_OK;
    char what[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    W->refused = 1;
    shmc_err_set(W->err, SHMC_ERR_UNSUPPORTED, "pickle byte %llu: %s is not a plain value", at(v),
                 what);
    return SHMC_OK;
}

/* "module.name" of a global, else the type of the value. */
static void plain_name(const shmc_pk_value *v, char *buf, size_t cap)
{
    if (v && v->type == SHMC_PK_GLOBAL) {
        int ml = v->v.global.module_len > 100 ? 100 : (int)v->v.global.module_len;
        int nl = v->v.global.name_len > 100 ? 100 : (int)v->v.global.name_len;
        snprintf(buf, cap, "%.*s.%.*s", ml, (const char *)v->v.global.module, nl,
                 (const char *)v->v.global.name);
    } else {
        snprintf(buf, cap, "a %s", v ? shmc_pk_type_name(v->type) : "missing value");
    }
}

/* Is v one of the values being walked (then it contains itself)? */
static int plain_on_path(const plain_walk *W, const shmc_pk_value *v, uint32_t depth)
{
    for (uint32_t d = 0; d < depth && d <= PLAIN_DEPTH_CAP; d++)
        if (W->path[d] == v) return 1;
    return 0;
}

/* One visit of one value: charged against the limits in the checking pass. */
static int plain_count(plain_walk *W, const shmc_pk_value *v, uint32_t depth)
{
    if (W->pk) return SHMC_OK;
    RETURN_ERROR_IF(++W->nodes > W->lim.max_nodes, W->err, SHMC_ERR_LIMIT,
                    "the value has more than max_nodes=%llu parts, each visit through a shared "
                    "reference counted (reached at the value made at pickle byte %llu)",
                    (unsigned long long)W->lim.max_nodes, at(v));
    RETURN_ERROR_IF(depth > W->lim.max_depth, W->err, SHMC_ERR_LIMIT,
                    "pickle byte %llu: %s nested deeper than max_depth=%u", at(v),
                    shmc_pk_type_name(v->type), W->lim.max_depth);
    uint64_t payload = v->type == SHMC_PK_STR || v->type == SHMC_PK_BYTES ? v->v.bytes.len : 0;
    W->bytes = sat_add(W->bytes, sat_add(PLAIN_NODE_BYTES, payload));
    RETURN_ERROR_IF(W->bytes > W->lim.max_bytes, W->err, SHMC_ERR_LIMIT,
                    "the value would take more than max_bytes=%llu bytes (reached at the value "
                    "made at pickle byte %llu)",
                    (unsigned long long)W->lim.max_bytes, at(v));
    return SHMC_OK;
}

static int plain_scalar(plain_walk *W, const shmc_pk_value *v)
{
    if (!W->pk) return SHMC_OK;
    switch (v->type) {
    case SHMC_PK_NONE: return shmc_pk_none(W->pk);
    case SHMC_PK_BOOL: return shmc_pk_bool(W->pk, v->v.i != 0);
    case SHMC_PK_INT:
        return v->flags & SHMC_PK_F_UNSIGNED ? shmc_pk_uint(W->pk, v->v.u)
                                             : shmc_pk_int(W->pk, v->v.i);
    default: return shmc_pk_float(W->pk, v->v.f);
    }
}

static int plain_bytes(plain_walk *W, const shmc_pk_value *v, int key)
{
    const uint8_t *p = v->v.bytes.ptr;
    size_t n = v->v.bytes.len;
    if (v->flags & SHMC_PK_F_OOB) return plain_refuse(W, v, "an out-of-band buffer");
    if (!(v->flags & SHMC_PK_F_BYTEARRAY)) return W->pk ? shmc_pk_bytes(W->pk, p, n) : SHMC_OK;
    /* READONLY_BUFFER on a bytearray makes a memoryview */
    if (v->flags & SHMC_PK_F_READONLY)
        return plain_refuse(W, v, "a read-only bytearray (memoryview)");
    if (key) return plain_refuse(W, v, "a bytearray as a dict key or set item (unhashable)");
    if (!W->pk) return SHMC_OK;
    uint8_t *dst;
    FORWARD_IF_ERROR(shmc_pk_bytearray(W->pk, n, &dst));
    if (n) memcpy(dst, p, n);
    return SHMC_OK;
}

static int plain_str(plain_walk *W, const shmc_pk_value *v)
{
    size_t n = v->v.bytes.len;
    size_t bad = n ? shmc_utf8_check(v->v.bytes.ptr, n) : 0;
    if (bad) return plain_refuse(W, v, "a str that is not UTF-8 (its byte %zu)", bad - 1);
    return W->pk ? shmc_pk_str(W->pk, (const char *)v->v.bytes.ptr, n) : SHMC_OK;
}

/* Containers: EMPTY_x MARK items CLOSE (tuple: MARK items TUPLE; frozenset: MARK items
 * FROZENSET), the forms CPython's pickler writes. */
static const uint8_t plain_empty_op[SHMC_PK_TYPE_COUNT_] = {
    [SHMC_PK_TUPLE] = SHMC_OP_EMPTY_TUPLE,
    [SHMC_PK_LIST] = SHMC_OP_EMPTY_LIST,
    [SHMC_PK_DICT] = SHMC_OP_EMPTY_DICT,
    [SHMC_PK_SET] = SHMC_OP_EMPTY_SET,
};
static const uint8_t plain_close_op[SHMC_PK_TYPE_COUNT_] = {
    [SHMC_PK_TUPLE] = SHMC_OP_TUPLE,         [SHMC_PK_LIST] = SHMC_OP_APPENDS,
    [SHMC_PK_DICT] = SHMC_OP_SETITEMS,       [SHMC_PK_SET] = SHMC_OP_ADDITEMS,
    [SHMC_PK_FROZENSET] = SHMC_OP_FROZENSET,
};

static int plain_open(plain_walk *W, int t, size_t n)
{
    if (!W->pk) return SHMC_OK;
    if (t == SHMC_PK_TUPLE) return shmc_pk_op(W->pk, n ? SHMC_OP_MARK : SHMC_OP_EMPTY_TUPLE);
    if (t != SHMC_PK_FROZENSET) shmc_pk_op(W->pk, plain_empty_op[t]);
    return n || t == SHMC_PK_FROZENSET ? shmc_pk_op(W->pk, SHMC_OP_MARK) : W->pk->status;
}

static int plain_close(plain_walk *W, int t, size_t n)
{
    if (!W->pk || (!n && t != SHMC_PK_FROZENSET)) return SHMC_OK;
    return shmc_pk_op(W->pk, plain_close_op[t]);
}

/* Must the i-th item of a container of type t be hashable? */
static int plain_item_is_key(int t, size_t i, int key)
{
    return t == SHMC_PK_SET || t == SHMC_PK_FROZENSET || (t == SHMC_PK_DICT && i % 2 == 0) ||
           (t == SHMC_PK_TUPLE && key);
}

static int plain_visit(plain_walk *W, const shmc_pk_value *v, uint32_t depth, int key);

static int plain_container(plain_walk *W, const shmc_pk_value *v, uint32_t depth, int key)
{
    int t = v->type;
    size_t n = v->v.seq.len;
    if (key && t != SHMC_PK_TUPLE && t != SHMC_PK_FROZENSET)
        plain_refuse(W, v, "a %s as a dict key or set item (unhashable)", shmc_pk_type_name(t));
    FORWARD_IF_ERROR(plain_open(W, t, n));
    for (size_t i = 0; i < n; i++)
        FORWARD_IF_ERROR(
            plain_visit(W, v->v.seq.items[i], depth + 1, plain_item_is_key(t, i, key)));
    return plain_close(W, t, n);
}

/* REDUCE / NEWOBJ (and the BUILD state they carry): never plain. What the call
 * would receive is still counted. */
__attribute__((noinline)) static int plain_refuse_named(plain_walk *W, const shmc_pk_value *v)
{
    char name[224];
    int call = v->type == SHMC_PK_REDUCE || v->type == SHMC_PK_NEWOBJ;
    plain_name(call ? v->v.call.callable : v, name, sizeof name);
    if (!call) return plain_refuse(W, v, "the global %s", name);
    return plain_refuse(W, v, "%s(...)%s", name, v->v.call.state ? " with BUILD state" : "");
}

static int plain_call(plain_walk *W, const shmc_pk_value *v, uint32_t depth)
{
    plain_refuse_named(W, v);
    const shmc_pk_value *parts[] = {v->v.call.callable, v->v.call.args, v->v.call.kwargs,
                                    v->v.call.state};
    for (size_t i = 0; i < sizeof parts / sizeof *parts; i++)
        if (parts[i]) FORWARD_IF_ERROR(plain_visit(W, parts[i], depth + 1, 0));
    return SHMC_OK;
}

static int plain_visit(plain_walk *W, const shmc_pk_value *v, uint32_t depth, int key)
{
    /* A cycle (a list appended to itself) is not a tree: not plain, and not too big
     * for pickle.loads, which keeps it a cycle. Looked for only where a cycle must be. */
    if (!W->pk && depth > W->lim.max_depth && plain_on_path(W, v, depth)) {
        /* Charged like any visit: a container of many references to an ancestor,
         * reached through many shared paths, would otherwise cost its items times
         * the path length on every visit, uncounted. */
        RETURN_ERROR_IF(++W->nodes > W->lim.max_nodes, W->err, SHMC_ERR_LIMIT,
                        "the value has more than max_nodes=%llu parts, each visit through a "
                        "shared reference counted (reached at the value made at pickle byte %llu)",
                        (unsigned long long)W->lim.max_nodes, at(v));
        return plain_refuse(W, v, "a %s that contains itself", shmc_pk_type_name(v->type));
    }
    FORWARD_IF_ERROR(plain_count(W, v, depth));
    W->path[depth] = v; /* depth <= max_depth <= PLAIN_DEPTH_CAP: plain_count checked */
    switch (v->type) {
    case SHMC_PK_NONE:
    case SHMC_PK_BOOL:
    case SHMC_PK_INT:
    case SHMC_PK_FLOAT: return plain_scalar(W, v);
    case SHMC_PK_STR: return plain_str(W, v);
    case SHMC_PK_BYTES: return plain_bytes(W, v, key);
    case SHMC_PK_TUPLE:
    case SHMC_PK_LIST:
    case SHMC_PK_DICT:
    case SHMC_PK_SET:
    case SHMC_PK_FROZENSET: return plain_container(W, v, depth, key);
    case SHMC_PK_REDUCE:
    case SHMC_PK_NEWOBJ: return plain_call(W, v, depth);
    default: return plain_refuse_named(W, v);
    }
}

int shmc_plain_emit_value(shmc_pk *pk, const shmc_pk_value *root, size_t len,
                          const shmc_plain_limits *limits, shmc_err *err)
{
    plain_walk *W = calloc(1, sizeof *W); /* 8 KiB of path: not on the caller's stack */
    RETURN_ERROR_IF(!W, err, SHMC_ERR_NOMEM, "plain value: out of memory");
    W->err = err;
    plain_limits_resolve(&W->lim, limits, len);
    int st = plain_visit(W, root, 0, 0);
    if (st == SHMC_OK && W->refused) st = SHMC_ERR_UNSUPPORTED;
    if (st == SHMC_OK) {
        W->pk = pk;
        st = plain_visit(W, root, 0, 0);
        if (st != SHMC_OK)
            shmc_err_set(err, st, "plain value: the output exceeds memory (%zu bytes so far)",
                         pk->len);
    }
    free(W);
    return st;
}

int shmc_plain_emit(shmc_pk *pk, const uint8_t *buf, size_t len, const shmc_plain_limits *limits,
                    shmc_err *err)
{
    shmc_pk_input in = {buf, len, NULL, NULL, 0};
    shmc_pk_doc *doc = NULL;
    shmc_pk_value *root = NULL;
    FORWARD_IF_ERROR(shmc_pk_parse(&in, NULL, &doc, &root, err));
    int st = shmc_plain_emit_value(pk, root, len, limits, err);
    shmc_pk_doc_free(doc);
    return st;
}

int shmc_pickle_plain(const void *buf, size_t len, const shmc_plain_limits *limits,
                      shmc_pickle_out *out, char *errmsg, size_t errcap)
{
    shmc_err err;
    shmc_err_clear(&err);
    int st =
        out ? SHMC_OK : shmc_err_set(&err, SHMC_ERR_INVALID_ARG, "shmc_pickle_plain: out is NULL");
    shmc_pk pk;
    shmc_pk_init(&pk);
    if (out) {
        memset(out, 0, sizeof *out);
        shmc_pk_begin(&pk);
        st = shmc_plain_emit(&pk, buf, len, limits, &err);
    }
    if (st == SHMC_OK && shmc_pk_end(&pk) != SHMC_OK)
        st = shmc_err_set(&err, pk.status, "plain value: the output exceeds memory");
    if (st == SHMC_OK) out->bytes = shmc_pk_take(&pk, &out->len);
    shmc_pk_free(&pk);
    if (errmsg && errcap) snprintf(errmsg, errcap, "%s", st == SHMC_OK ? "" : err.msg);
    return st;
}
