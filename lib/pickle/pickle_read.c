/* The restricted pickle reader: a stack machine that records instead of calling.
 *
 * Every length read from the stream is checked against the bytes left before it
 * is used, and every allocation is checked against shmc_pickle_limits before it
 * is made, so a hostile stream costs at most max_alloc bytes and one pass. */
#include "pickle_read.h"

#include "pickle_ops.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- arena --------------------------------------------------------------- */
typedef struct pk_block {
    struct pk_block *next;
    size_t used, cap;
    _Alignas(8) unsigned char data[];
} pk_block;

struct shmc_pk_doc {
    pk_block *head;
    shmc_pk_value **heap; /* list/dict/set nodes whose items are malloc'd */
    size_t nheap, heapcap;
    uint64_t allocated; /* arena + scratch (stack, marks, memo) bytes charged */
    uint64_t max_alloc;
};

#define PK_BLOCK_MIN ((size_t)64 * 1024)

void shmc_pk_doc_free(shmc_pk_doc *doc)
{
    if (!doc) return;
    for (size_t i = 0; i < doc->nheap; i++) free(doc->heap[i]->v.seq.items);
    free(doc->heap);
    pk_block *b = doc->head;
    while (b) {
        pk_block *next = b->next;
        free(b);
        b = next;
    }
    free(doc);
}

uint64_t shmc_pk_doc_allocated(const shmc_pk_doc *doc) { return doc ? doc->allocated : 0; }

/* ---- parser state -------------------------------------------------------- */
typedef struct pk_parser {
    const shmc_pk_input *in;
    const uint8_t *p, *end;
    shmc_pickle_limits lim;
    shmc_pk_doc *doc;
    shmc_err *err;
    shmc_pk_value **stack;
    size_t sp, scap;
    size_t *marks;
    size_t nmarks, mcap;
    shmc_pk_value **memo;
    size_t memo_cap;
    uint64_t memo_len; /* distinct keys set, like len(Unpickler.memo) */
    size_t next_oob;
    uint64_t op_off;
    uint8_t op;
} pk_parser;

__attribute__((format(printf, 3, 4))) static void pk_fail_(pk_parser *P, int status,
                                                           const char *fmt, ...)
{
    char detail[320];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(detail, sizeof detail, fmt, ap);
    va_end(ap);
    shmc_err_set(P->err, status, "pickle byte %llu (%s): %s", (unsigned long long)P->op_off,
                 shmc_pk_opcode_name(P->op), detail);
}

/* Evaluates to the (constant) status, so the compiler sees that error paths
 * never return SHMC_OK and outputs are set on the success path. */
#define pk_fail(P, status, ...) (pk_fail_((P), (status), __VA_ARGS__), (status))

/* Charge `bytes` to the allocation budget before allocating them. */
static int pk_charge(pk_parser *P, size_t bytes)
{
    shmc_pk_doc *d = P->doc;
    if (bytes > d->max_alloc || d->allocated > d->max_alloc - bytes)
        return pk_fail(P, SHMC_ERR_LIMIT, "reader would allocate more than max_alloc=%llu bytes",
                       (unsigned long long)d->max_alloc);
    d->allocated += bytes;
    return SHMC_OK;
}

static int pk_alloc(pk_parser *P, size_t size, void **out)
{
    size = (size + 7u) & ~(size_t)7u; /* nodes are 48 bytes: keep them dense */
    pk_block *b = P->doc->head;
    if (!b || b->cap - b->used < size) {
        size_t cap = size > PK_BLOCK_MIN ? size : PK_BLOCK_MIN;
        FORWARD_IF_ERROR(pk_charge(P, cap + sizeof(pk_block)));
        b = malloc(sizeof(pk_block) + cap);
        if (!b) return pk_fail(P, SHMC_ERR_NOMEM, "out of memory (%zu bytes)", cap);
        b->cap = cap;
        b->used = 0;
        b->next = P->doc->head;
        P->doc->head = b;
    }
    *out = b->data + b->used;
    b->used += size;
    return SHMC_OK;
}

/* Grow a scratch array (stack, marks, memo) to hold at least `need` elements. */
static int pk_grow(pk_parser *P, void **arr, size_t *cap, size_t need, size_t elem)
{
    if (need <= *cap) return SHMC_OK;
    size_t ncap = *cap ? *cap : 64;
    while (ncap < need) ncap *= 2;
    if (ncap > SIZE_MAX / elem) return pk_fail(P, SHMC_ERR_LIMIT, "array too large");
    FORWARD_IF_ERROR(pk_charge(P, (ncap - *cap) * elem));
    void *n = realloc(*arr, ncap * elem);
    if (!n) return pk_fail(P, SHMC_ERR_NOMEM, "out of memory (%zu bytes)", ncap * elem);
    *arr = n;
    *cap = ncap;
    return SHMC_OK;
}

/* Bytes of a node of `type`: the header and its own union member only. */
static size_t pk_node_size(int type)
{
    const shmc_pk_value *z = NULL;
    size_t head = offsetof(shmc_pk_value, v);
    switch (type) {
    case SHMC_PK_STR:
    case SHMC_PK_BYTES: return head + sizeof z->v.bytes;
    case SHMC_PK_GLOBAL: return head + sizeof z->v.global;
    case SHMC_PK_REDUCE:
    case SHMC_PK_NEWOBJ: return head + sizeof z->v.call;
    case SHMC_PK_TUPLE:
    case SHMC_PK_LIST:
    case SHMC_PK_DICT:
    case SHMC_PK_SET:
    case SHMC_PK_FROZENSET: return head + sizeof z->v.seq;
    default: return head + sizeof z->v.i;
    }
}

static int pk_new(pk_parser *P, int type, shmc_pk_value **out)
{
    void *mem;
    size_t size = pk_node_size(type);
    FORWARD_IF_ERROR(pk_alloc(P, size, &mem));
    shmc_pk_value *v = mem;
    memset(v, 0, size);
    v->type = (uint8_t)type;
    v->offset = P->op_off;
    *out = v;
    return SHMC_OK;
}

/* ---- stack --------------------------------------------------------------- */
static size_t pk_fence(const pk_parser *P) { return P->nmarks ? P->marks[P->nmarks - 1] : 0; }

static int pk_push(pk_parser *P, shmc_pk_value *v)
{
    FORWARD_IF_ERROR(pk_grow(P, (void **)&P->stack, &P->scap, P->sp + 1, sizeof(shmc_pk_value *)));
    P->stack[P->sp++] = v;
    return SHMC_OK;
}

static int pk_pop(pk_parser *P, shmc_pk_value **out)
{
    if (P->sp <= pk_fence(P)) return pk_fail(P, SHMC_ERR_PICKLE, "stack underflow");
    *out = P->stack[--P->sp];
    return SHMC_OK;
}

static int pk_top(pk_parser *P, shmc_pk_value **out)
{
    if (P->sp <= pk_fence(P)) return pk_fail(P, SHMC_ERR_PICKLE, "stack underflow");
    *out = P->stack[P->sp - 1];
    return SHMC_OK;
}

/* Pop the topmost mark: the items above it are stack[*first .. sp). */
static int pk_pop_mark(pk_parser *P, size_t *first)
{
    if (!P->nmarks) return pk_fail(P, SHMC_ERR_PICKLE, "no MARK on the stack");
    *first = P->marks[--P->nmarks];
    return SHMC_OK;
}

/* ---- containers ---------------------------------------------------------- */
static int pk_note_child(pk_parser *P, shmc_pk_value *parent, const shmc_pk_value *child)
{
    if (child->depth + 1 > parent->depth) parent->depth = child->depth + 1;
    if (parent->depth > P->lim.max_depth)
        return pk_fail(P, SHMC_ERR_LIMIT, "nesting depth exceeds max_depth=%u", P->lim.max_depth);
    return SHMC_OK;
}

/* Lists, dicts and sets grow by APPENDS batches: realloc (in place for big
 * arrays) so abandoned copies do not pile up as they would in the arena. */
static int pk_seq_grow_heap(pk_parser *P, shmc_pk_value *c, size_t need)
{
    size_t ncap = c->v.seq.cap ? c->v.seq.cap + c->v.seq.cap / 2 : 8;
    if (ncap < need) ncap = need;
    if (ncap > P->lim.max_items) ncap = (size_t)P->lim.max_items;
    if (ncap > SIZE_MAX / sizeof(shmc_pk_value *)) ncap = need;
    shmc_pk_doc *d = P->doc;
    if (!(c->flags & SHMC_PK_F_HEAPITEMS))
        FORWARD_IF_ERROR(pk_grow(P, (void **)&d->heap, &d->heapcap, d->nheap + 1, sizeof *d->heap));
    FORWARD_IF_ERROR(pk_charge(P, (ncap - c->v.seq.cap) * sizeof(shmc_pk_value *)));
    void *mem = realloc(c->v.seq.items, ncap * sizeof(shmc_pk_value *));
    if (!mem) return pk_fail(P, SHMC_ERR_NOMEM, "out of memory (%zu items)", ncap);
    if (!(c->flags & SHMC_PK_F_HEAPITEMS)) {
        c->flags |= SHMC_PK_F_HEAPITEMS;
        d->heap[d->nheap++] = c;
    }
    c->v.seq.items = mem;
    c->v.seq.cap = ncap;
    return SHMC_OK;
}

static int pk_seq_reserve(pk_parser *P, shmc_pk_value *c, size_t need)
{
    if (need > P->lim.max_items)
        return pk_fail(P, SHMC_ERR_LIMIT, "container of %zu items exceeds max_items=%llu", need,
                       (unsigned long long)P->lim.max_items);
    if (need <= c->v.seq.cap) return SHMC_OK;
    if (need > SIZE_MAX / sizeof(shmc_pk_value *))
        return pk_fail(P, SHMC_ERR_LIMIT, "too many items");
    if (c->type == SHMC_PK_TUPLE || c->type == SHMC_PK_FROZENSET) {
        /* immutable: filled once, exactly, from the arena */
        void *mem;
        FORWARD_IF_ERROR(pk_alloc(P, need * sizeof(shmc_pk_value *), &mem));
        c->v.seq.items = mem;
        c->v.seq.cap = need;
        return SHMC_OK;
    }
    return pk_seq_grow_heap(P, c, need);
}

static int pk_seq_extend(pk_parser *P, shmc_pk_value *c, shmc_pk_value *const *items, size_t n)
{
    if (n > SIZE_MAX - c->v.seq.len) return pk_fail(P, SHMC_ERR_LIMIT, "too many items");
    FORWARD_IF_ERROR(pk_seq_reserve(P, c, c->v.seq.len + n));
    for (size_t i = 0; i < n; i++) {
        FORWARD_IF_ERROR(pk_note_child(P, c, items[i]));
        c->v.seq.items[c->v.seq.len++] = items[i];
    }
    return SHMC_OK;
}

static int pk_new_container(pk_parser *P, int type, shmc_pk_value **out)
{
    FORWARD_IF_ERROR(pk_new(P, type, out));
    (*out)->depth = 1;
    return SHMC_OK;
}

/* Build a container of `type` from the items above the topmost mark. */
static int pk_from_mark(pk_parser *P, int type)
{
    size_t first;
    FORWARD_IF_ERROR(pk_pop_mark(P, &first));
    size_t n = P->sp - first;
    if (type == SHMC_PK_DICT && n % 2)
        return pk_fail(P, SHMC_ERR_PICKLE, "odd number of items (%zu) for a dict", n);
    shmc_pk_value *c;
    FORWARD_IF_ERROR(pk_new_container(P, type, &c));
    FORWARD_IF_ERROR(pk_seq_extend(P, c, P->stack + first, n));
    P->sp = first;
    return pk_push(P, c);
}

static int pk_tuple_n(pk_parser *P, size_t n)
{
    if (P->sp - pk_fence(P) < n) return pk_fail(P, SHMC_ERR_PICKLE, "stack underflow");
    shmc_pk_value *c;
    FORWARD_IF_ERROR(pk_new_container(P, SHMC_PK_TUPLE, &c));
    FORWARD_IF_ERROR(pk_seq_extend(P, c, P->stack + P->sp - n, n));
    P->sp -= n;
    return pk_push(P, c);
}

/* APPEND(S) / SETITEM(S) / ADDITEMS: extend the container below the items.
 * Only real list/dict/set nodes: on other objects Python would call methods. */
static int pk_extend_below(pk_parser *P, int want, int from_mark, size_t n)
{
    size_t first;
    if (from_mark) {
        FORWARD_IF_ERROR(pk_pop_mark(P, &first));
        n = P->sp - first;
    } else {
        if (P->sp - pk_fence(P) < n) return pk_fail(P, SHMC_ERR_PICKLE, "stack underflow");
        first = P->sp - n;
    }
    if (first <= pk_fence(P)) return pk_fail(P, SHMC_ERR_PICKLE, "stack underflow");
    shmc_pk_value *c = P->stack[first - 1];
    if (c->type != want)
        return pk_fail(P, SHMC_ERR_UNSUPPORTED, "target is a %s, not a %s (would call a method)",
                       shmc_pk_type_name(c->type), shmc_pk_type_name(want));
    if (want == SHMC_PK_DICT && n % 2)
        return pk_fail(P, SHMC_ERR_PICKLE, "odd number of items (%zu) for SETITEMS", n);
    FORWARD_IF_ERROR(pk_seq_extend(P, c, P->stack + first, n));
    P->sp = first;
    return SHMC_OK;
}

/* ---- reading operands ---------------------------------------------------- */
static int pk_need(pk_parser *P, uint64_t n)
{
    if (n > (uint64_t)(P->end - P->p))
        return pk_fail(P, SHMC_ERR_PICKLE, "needs %llu bytes, only %zu left", (unsigned long long)n,
                       (size_t)(P->end - P->p));
    return SHMC_OK;
}

static uint64_t pk_le(const uint8_t *p, unsigned n)
{
    uint64_t v = 0;
    for (unsigned i = 0; i < n; i++) v |= (uint64_t)p[i] << (8 * i);
    return v;
}

static int pk_read_uint(pk_parser *P, unsigned width, uint64_t *out)
{
    FORWARD_IF_ERROR(pk_need(P, width));
    *out = pk_le(P->p, width);
    P->p += width;
    return SHMC_OK;
}

/* A length-prefixed payload: `width`-byte length, then that many bytes. */
static int pk_read_blob(pk_parser *P, unsigned width, const uint8_t **ptr, size_t *len)
{
    uint64_t n;
    FORWARD_IF_ERROR(pk_read_uint(P, width, &n));
    FORWARD_IF_ERROR(pk_need(P, n));
    *ptr = P->p;
    *len = (size_t)n;
    P->p += n;
    return SHMC_OK;
}

static int pk_push_blob(pk_parser *P, int type, unsigned width, uint8_t flags)
{
    const uint8_t *ptr;
    size_t len;
    FORWARD_IF_ERROR(pk_read_blob(P, width, &ptr, &len));
    shmc_pk_value *v;
    FORWARD_IF_ERROR(pk_new(P, type, &v));
    v->flags = flags;
    v->v.bytes.ptr = ptr;
    v->v.bytes.len = len;
    return pk_push(P, v);
}

static int pk_push_int(pk_parser *P, int64_t i, uint8_t flags)
{
    shmc_pk_value *v;
    FORWARD_IF_ERROR(pk_new(P, SHMC_PK_INT, &v));
    v->v.i = i;
    v->flags = flags;
    return pk_push(P, v);
}

static int pk_push_simple(pk_parser *P, int type, int64_t i)
{
    shmc_pk_value *v;
    FORWARD_IF_ERROR(pk_new(P, type, &v));
    v->v.i = i;
    return pk_push(P, v);
}

static int pk_binint(pk_parser *P, unsigned width)
{
    uint64_t u;
    FORWARD_IF_ERROR(pk_read_uint(P, width, &u));
    int64_t i = width == 4 ? (int64_t)(int32_t)(uint32_t)u : (int64_t)u;
    return pk_push_int(P, i, 0);
}

/* LONG1/LONG4: little-endian two's complement. 64 bits, or an unsigned value
 * below 2^64 written with a ninth zero byte; anything wider is refused. */
static int pk_long(pk_parser *P, unsigned width)
{
    const uint8_t *b;
    size_t n;
    FORWARD_IF_ERROR(pk_read_blob(P, width, &b, &n));
    if (n == 0) return pk_push_int(P, 0, 0);
    if (n > 9 || (n == 9 && b[8] != 0))
        return pk_fail(P, SHMC_ERR_UNSUPPORTED, "integer of %zu bytes is wider than 64 bits", n);
    uint64_t u = pk_le(b, (unsigned)(n > 8 ? 8 : n));
    if (n == 9) return pk_push_int(P, (int64_t)u, (u >> 63) ? SHMC_PK_F_UNSIGNED : 0);
    if (n < 8 && (b[n - 1] & 0x80)) u |= ~(uint64_t)0 << (8 * n);
    return pk_push_int(P, (int64_t)u, 0);
}

static int pk_binfloat(pk_parser *P)
{
    FORWARD_IF_ERROR(pk_need(P, 8));
    uint64_t u = 0;
    for (int i = 0; i < 8; i++) u = (u << 8) | P->p[i];
    P->p += 8;
    shmc_pk_value *v;
    FORWARD_IF_ERROR(pk_new(P, SHMC_PK_FLOAT, &v));
    memcpy(&v->v.f, &u, sizeof u);
    return pk_push(P, v);
}

/* ---- memo ---------------------------------------------------------------- */
static int pk_memo_put(pk_parser *P, uint64_t idx)
{
    shmc_pk_value *top;
    FORWARD_IF_ERROR(pk_top(P, &top));
    if (idx >= P->lim.max_memo)
        return pk_fail(P, SHMC_ERR_LIMIT, "memo index %llu exceeds max_memo=%llu",
                       (unsigned long long)idx, (unsigned long long)P->lim.max_memo);
    size_t old = P->memo_cap;
    FORWARD_IF_ERROR(
        pk_grow(P, (void **)&P->memo, &P->memo_cap, (size_t)idx + 1, sizeof(shmc_pk_value *)));
    if (P->memo_cap > old) memset(P->memo + old, 0, (P->memo_cap - old) * sizeof *P->memo);
    if (!P->memo[idx]) P->memo_len++;
    P->memo[idx] = top;
    return SHMC_OK;
}

static int pk_memo_get(pk_parser *P, uint64_t idx)
{
    if (idx >= P->memo_cap || !P->memo[idx])
        return pk_fail(P, SHMC_ERR_PICKLE, "memo key %llu is not defined", (unsigned long long)idx);
    return pk_push(P, P->memo[idx]);
}

static int pk_memo_op(pk_parser *P, unsigned width, int put)
{
    uint64_t idx;
    FORWARD_IF_ERROR(pk_read_uint(P, width, &idx));
    return put ? pk_memo_put(P, idx) : pk_memo_get(P, idx);
}

/* Text PUT/GET: a decimal number ending with '\n'. */
static int pk_memo_text(pk_parser *P, int put)
{
    const uint8_t *nl = memchr(P->p, '\n', (size_t)(P->end - P->p));
    if (!nl) return pk_fail(P, SHMC_ERR_PICKLE, "missing newline");
    uint64_t idx = 0;
    if (nl == P->p) return pk_fail(P, SHMC_ERR_PICKLE, "empty memo key");
    for (const uint8_t *q = P->p; q < nl; q++) {
        if (*q < '0' || *q > '9' || idx > UINT32_MAX)
            return pk_fail(P, SHMC_ERR_PICKLE, "bad memo key");
        idx = idx * 10 + (uint64_t)(*q - '0');
    }
    P->p = nl + 1;
    return put ? pk_memo_put(P, idx) : pk_memo_get(P, idx);
}

/* ---- globals and calls --------------------------------------------------- */
static int pk_push_global(pk_parser *P, const uint8_t *m, size_t ml, const uint8_t *n, size_t nl)
{
    shmc_pk_value *v;
    if (ml > 4096 || nl > 4096)
        return pk_fail(P, SHMC_ERR_UNSUPPORTED, "global name longer than 4096 bytes");
    FORWARD_IF_ERROR(pk_new(P, SHMC_PK_GLOBAL, &v));
    v->v.global.module = m;
    v->v.global.module_len = (uint32_t)ml;
    v->v.global.name = n;
    v->v.global.name_len = (uint32_t)nl;
    return pk_push(P, v);
}

static int pk_global_text(pk_parser *P)
{
    size_t left = (size_t)(P->end - P->p);
    const uint8_t *nl1 = memchr(P->p, '\n', left);
    if (!nl1) return pk_fail(P, SHMC_ERR_PICKLE, "GLOBAL module is not terminated");
    const uint8_t *name = nl1 + 1;
    const uint8_t *nl2 = memchr(name, '\n', (size_t)(P->end - name));
    if (!nl2) return pk_fail(P, SHMC_ERR_PICKLE, "GLOBAL name is not terminated");
    const uint8_t *mod = P->p;
    P->p = nl2 + 1;
    return pk_push_global(P, mod, (size_t)(nl1 - mod), name, (size_t)(nl2 - name));
}

static int pk_stack_global(pk_parser *P)
{
    shmc_pk_value *name, *mod;
    FORWARD_IF_ERROR(pk_pop(P, &name));
    FORWARD_IF_ERROR(pk_pop(P, &mod));
    if (mod->type != SHMC_PK_STR || name->type != SHMC_PK_STR)
        return pk_fail(P, SHMC_ERR_PICKLE, "STACK_GLOBAL needs two str, got %s and %s",
                       shmc_pk_type_name(mod->type), shmc_pk_type_name(name->type));
    return pk_push_global(P, mod->v.bytes.ptr, mod->v.bytes.len, name->v.bytes.ptr,
                          name->v.bytes.len);
}

/* REDUCE, NEWOBJ (nargs 2) and NEWOBJ_EX (nargs 3): record, never call. */
static int pk_call(pk_parser *P, int type, int nargs)
{
    shmc_pk_value *kwargs = NULL, *args, *callable, *v;
    if (nargs == 3) FORWARD_IF_ERROR(pk_pop(P, &kwargs));
    FORWARD_IF_ERROR(pk_pop(P, &args));
    FORWARD_IF_ERROR(pk_pop(P, &callable));
    FORWARD_IF_ERROR(pk_new(P, type, &v));
    v->v.call.callable = callable;
    v->v.call.args = args;
    v->v.call.kwargs = kwargs;
    FORWARD_IF_ERROR(pk_note_child(P, v, callable));
    FORWARD_IF_ERROR(pk_note_child(P, v, args));
    if (kwargs) FORWARD_IF_ERROR(pk_note_child(P, v, kwargs));
    return pk_push(P, v);
}

static int pk_build(pk_parser *P)
{
    shmc_pk_value *state, *obj;
    FORWARD_IF_ERROR(pk_pop(P, &state));
    FORWARD_IF_ERROR(pk_top(P, &obj));
    if (obj->type != SHMC_PK_REDUCE && obj->type != SHMC_PK_NEWOBJ)
        return pk_fail(P, SHMC_ERR_UNSUPPORTED,
                       "BUILD on a %s (only on objects made by REDUCE/NEWOBJ)",
                       shmc_pk_type_name(obj->type));
    if (obj->v.call.state)
        return pk_fail(P, SHMC_ERR_UNSUPPORTED, "second BUILD on the %s made at byte %llu",
                       shmc_pk_type_name(obj->type), (unsigned long long)obj->offset);
    obj->v.call.state = state;
    return pk_note_child(P, obj, state);
}

/* ---- buffers and frames -------------------------------------------------- */
static int pk_next_buffer(pk_parser *P)
{
    if (P->next_oob >= P->in->noob)
        return pk_fail(P, SHMC_ERR_PICKLE, "out-of-band buffer #%zu was not supplied (%zu given)",
                       P->next_oob, P->in->noob);
    const void *ptr = P->in->oob[P->next_oob];
    size_t len = P->in->oob_lens[P->next_oob];
    if (!ptr && len) return pk_fail(P, SHMC_ERR_INVALID_ARG, "out-of-band buffer is NULL");
    if (!ptr) ptr = ""; /* empty: a real address, so views of it can be offset by 0 */
    P->next_oob++;
    shmc_pk_value *v;
    FORWARD_IF_ERROR(pk_new(P, SHMC_PK_BYTES, &v));
    v->flags = SHMC_PK_F_OOB;
    v->v.bytes.ptr = ptr;
    v->v.bytes.len = len;
    return pk_push(P, v);
}

static int pk_readonly_buffer(pk_parser *P)
{
    shmc_pk_value *top;
    FORWARD_IF_ERROR(pk_top(P, &top));
    if (top->type != SHMC_PK_BYTES)
        return pk_fail(P, SHMC_ERR_PICKLE, "READONLY_BUFFER on a %s", shmc_pk_type_name(top->type));
    top->flags |= SHMC_PK_F_READONLY;
    return SHMC_OK;
}

/* FRAME only announces how many bytes follow; opcodes are read from the input
 * directly, so it is validated and skipped. */
static int pk_frame(pk_parser *P)
{
    uint64_t n;
    FORWARD_IF_ERROR(pk_read_uint(P, 8, &n));
    return pk_need(P, n);
}

static int pk_proto(pk_parser *P)
{
    uint64_t v;
    FORWARD_IF_ERROR(pk_read_uint(P, 1, &v));
    if (v < 2 || v > 5)
        return pk_fail(P, SHMC_ERR_UNSUPPORTED, "pickle protocol %llu (only 2-5 are read)",
                       (unsigned long long)v);
    return SHMC_OK;
}

static int pk_pop_op(pk_parser *P)
{
    if (P->sp > pk_fence(P)) {
        P->sp--;
        return SHMC_OK;
    }
    size_t first;
    return pk_pop_mark(P, &first);
}

static int pk_mark(pk_parser *P)
{
    FORWARD_IF_ERROR(pk_grow(P, (void **)&P->marks, &P->mcap, P->nmarks + 1, sizeof(size_t)));
    P->marks[P->nmarks++] = P->sp;
    return SHMC_OK;
}

static int pk_dup(pk_parser *P)
{
    shmc_pk_value *top;
    FORWARD_IF_ERROR(pk_top(P, &top));
    return pk_push(P, top);
}

static int pk_new_empty(pk_parser *P, int type)
{
    shmc_pk_value *c;
    FORWARD_IF_ERROR(pk_new_container(P, type, &c));
    return pk_push(P, c);
}

/* ---- dispatch ------------------------------------------------------------ */
static int pk_refuse(pk_parser *P, const char *why)
{
    return pk_fail(P, SHMC_ERR_UNSUPPORTED, "%s", why);
}

static int pk_step_data(pk_parser *P, uint8_t op)
{
    switch (op) {
    case SHMC_OP_NONE: return pk_push_simple(P, SHMC_PK_NONE, 0);
    case SHMC_OP_NEWTRUE: return pk_push_simple(P, SHMC_PK_BOOL, 1);
    case SHMC_OP_NEWFALSE: return pk_push_simple(P, SHMC_PK_BOOL, 0);
    case SHMC_OP_BININT: return pk_binint(P, 4);
    case SHMC_OP_BININT1: return pk_binint(P, 1);
    case SHMC_OP_BININT2: return pk_binint(P, 2);
    case SHMC_OP_LONG1: return pk_long(P, 1);
    case SHMC_OP_LONG4: return pk_long(P, 4);
    case SHMC_OP_BINFLOAT: return pk_binfloat(P);
    case SHMC_OP_SHORT_BINUNICODE: return pk_push_blob(P, SHMC_PK_STR, 1, 0);
    case SHMC_OP_BINUNICODE: return pk_push_blob(P, SHMC_PK_STR, 4, 0);
    case SHMC_OP_BINUNICODE8: return pk_push_blob(P, SHMC_PK_STR, 8, 0);
    case SHMC_OP_SHORT_BINSTRING:
        return pk_push_blob(P, SHMC_PK_STR, 1, 0); /* Python 2 str, read as ASCII str */
    case SHMC_OP_BINSTRING: return pk_push_blob(P, SHMC_PK_STR, 4, 0);
    case SHMC_OP_SHORT_BINBYTES: return pk_push_blob(P, SHMC_PK_BYTES, 1, 0);
    case SHMC_OP_BINBYTES: return pk_push_blob(P, SHMC_PK_BYTES, 4, 0);
    case SHMC_OP_BINBYTES8: return pk_push_blob(P, SHMC_PK_BYTES, 8, 0);
    case SHMC_OP_BYTEARRAY8: return pk_push_blob(P, SHMC_PK_BYTES, 8, SHMC_PK_F_BYTEARRAY);
    case SHMC_OP_NEXT_BUFFER: return pk_next_buffer(P);
    case SHMC_OP_READONLY_BUFFER: return pk_readonly_buffer(P);
    default: return -1;
    }
}

static int pk_step_struct(pk_parser *P, uint8_t op)
{
    switch (op) {
    case SHMC_OP_MARK: return pk_mark(P);
    case SHMC_OP_POP: return pk_pop_op(P);
    case SHMC_OP_POP_MARK: {
        size_t f;
        FORWARD_IF_ERROR(pk_pop_mark(P, &f));
        P->sp = f;
        return SHMC_OK;
    }
    case SHMC_OP_DUP: return pk_dup(P);
    case SHMC_OP_EMPTY_TUPLE: return pk_new_empty(P, SHMC_PK_TUPLE);
    case SHMC_OP_EMPTY_LIST: return pk_new_empty(P, SHMC_PK_LIST);
    case SHMC_OP_EMPTY_DICT: return pk_new_empty(P, SHMC_PK_DICT);
    case SHMC_OP_EMPTY_SET: return pk_new_empty(P, SHMC_PK_SET);
    case SHMC_OP_TUPLE: return pk_from_mark(P, SHMC_PK_TUPLE);
    case SHMC_OP_LIST: return pk_from_mark(P, SHMC_PK_LIST);
    case SHMC_OP_DICT: return pk_from_mark(P, SHMC_PK_DICT);
    case SHMC_OP_FROZENSET: return pk_from_mark(P, SHMC_PK_FROZENSET);
    case SHMC_OP_TUPLE1: return pk_tuple_n(P, 1);
    case SHMC_OP_TUPLE2: return pk_tuple_n(P, 2);
    case SHMC_OP_TUPLE3: return pk_tuple_n(P, 3);
    case SHMC_OP_APPEND: return pk_extend_below(P, SHMC_PK_LIST, 0, 1);
    case SHMC_OP_APPENDS: return pk_extend_below(P, SHMC_PK_LIST, 1, 0);
    case SHMC_OP_SETITEM: return pk_extend_below(P, SHMC_PK_DICT, 0, 2);
    case SHMC_OP_SETITEMS: return pk_extend_below(P, SHMC_PK_DICT, 1, 0);
    case SHMC_OP_ADDITEMS: return pk_extend_below(P, SHMC_PK_SET, 1, 0);
    default: return -1;
    }
}

static int pk_step_other(pk_parser *P, uint8_t op)
{
    switch (op) {
    case SHMC_OP_MEMOIZE: return pk_memo_put(P, P->memo_len);
    case SHMC_OP_BINPUT: return pk_memo_op(P, 1, 1);
    case SHMC_OP_LONG_BINPUT: return pk_memo_op(P, 4, 1);
    case SHMC_OP_BINGET: return pk_memo_op(P, 1, 0);
    case SHMC_OP_LONG_BINGET: return pk_memo_op(P, 4, 0);
    case SHMC_OP_PUT: return pk_memo_text(P, 1);
    case SHMC_OP_GET: return pk_memo_text(P, 0);
    case SHMC_OP_GLOBAL: return pk_global_text(P);
    case SHMC_OP_STACK_GLOBAL: return pk_stack_global(P);
    case SHMC_OP_REDUCE: return pk_call(P, SHMC_PK_REDUCE, 2);
    case SHMC_OP_NEWOBJ: return pk_call(P, SHMC_PK_NEWOBJ, 2);
    case SHMC_OP_NEWOBJ_EX: return pk_call(P, SHMC_PK_NEWOBJ, 3);
    case SHMC_OP_BUILD: return pk_build(P);
    case SHMC_OP_FRAME: return pk_frame(P);
    case SHMC_OP_PROTO: return pk_proto(P);
    case SHMC_OP_PERSID:
    case SHMC_OP_BINPERSID: return pk_refuse(P, "persistent ids are not supported");
    case SHMC_OP_EXT1:
    case SHMC_OP_EXT2:
    case SHMC_OP_EXT4: return pk_refuse(P, "extension registry codes are not supported");
    case SHMC_OP_INST:
    case SHMC_OP_OBJ:
        return pk_refuse(P, "INST/OBJ (protocol 0/1 instance creation) are not supported");
    case SHMC_OP_INT:
    case SHMC_OP_LONG:
    case SHMC_OP_FLOAT:
    case SHMC_OP_STRING:
    case SHMC_OP_UNICODE: return pk_refuse(P, "protocol-0 text values are not supported");
    default: return pk_fail(P, SHMC_ERR_PICKLE, "unknown opcode 0x%02x", op);
    }
}

static int pk_step(pk_parser *P, uint8_t op)
{
    int st = pk_step_data(P, op);
    if (st != -1) return st;
    st = pk_step_struct(P, op);
    if (st != -1) return st;
    return pk_step_other(P, op);
}

static int pk_run(pk_parser *P, shmc_pk_value **root)
{
    P->op_off = 0;
    P->op = SHMC_OP_PROTO;
    if (P->p == P->end || *P->p != SHMC_OP_PROTO)
        return pk_fail(P, SHMC_ERR_UNSUPPORTED,
                       "stream does not start with PROTO (protocol 0/1 or not a pickle)");
    for (;;) {
        if (P->p >= P->end) return pk_fail(P, SHMC_ERR_PICKLE, "truncated: no STOP opcode");
        P->op_off = (uint64_t)(P->p - P->in->buf);
        P->op = *P->p++;
        if (P->op == SHMC_OP_STOP) break;
        FORWARD_IF_ERROR(pk_step(P, P->op));
    }
    if (P->nmarks || P->sp != 1)
        return pk_fail(P, SHMC_ERR_PICKLE, "STOP with %zu values and %zu marks on the stack", P->sp,
                       P->nmarks);
    if (P->p != P->end)
        return pk_fail(P, SHMC_ERR_PICKLE, "%zu trailing bytes after STOP",
                       (size_t)(P->end - P->p));
    *root = P->stack[0];
    return SHMC_OK;
}

int shmc_pk_parse(const shmc_pk_input *in, const shmc_pickle_limits *limits, shmc_pk_doc **doc,
                  shmc_pk_value **root, shmc_err *err)
{
    RETURN_ERROR_IF(!in || !doc || !root || (!in->buf && in->len) ||
                        (in->noob && (!in->oob || !in->oob_lens)),
                    err, SHMC_ERR_INVALID_ARG, "pickle: NULL argument");
    *doc = NULL;
    *root = NULL;
    pk_parser P = {.in = in, .p = in->buf, .end = in->buf + in->len, .err = err};
    shmc_err local;
    if (!P.err) P.err = &local;
    shmc_pk_limits_resolve(&P.lim, limits, in->len);
    P.doc = calloc(1, sizeof *P.doc);
    RETURN_ERROR_IF(!P.doc, err, SHMC_ERR_NOMEM, "pickle: out of memory");
    P.doc->max_alloc = P.lim.max_alloc;
    /* the stack always exists, so "the items above a mark" is never NULL + 0 */
    int st = pk_grow(&P, (void **)&P.stack, &P.scap, 1, sizeof *P.stack);
    if (st == SHMC_OK) st = pk_run(&P, root);
    free(P.stack);
    free(P.marks);
    free(P.memo);
    if (st != SHMC_OK) {
        shmc_pk_doc_free(P.doc);
        *root = NULL;
        return st;
    }
    *doc = P.doc;
    return SHMC_OK;
}
