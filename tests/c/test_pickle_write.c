/* The protocol-5 pickle writer: opcode encodings of the emitter, then the
 * streams shmc_pickle_write makes for selections of real segments, read back
 * by a small test-side unpickler that builds a tree of values (calls are
 * recorded, never made) so that each test can check what would be called
 * with which bytes. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "helpers_core.h"
#include "pickle_emit.h"
#include "shmchunk.h"

/* ------------------------------------------------------------------------ */
/* A test-side unpickler: values as a tree                                   */
/* ------------------------------------------------------------------------ */
typedef enum {
    V_MARK,
    V_NONE,
    V_BOOL,
    V_INT,
    V_FLOAT,
    V_STR,
    V_BYTES,
    V_BYTEARRAY,
    V_LIST,
    V_TUPLE,
    V_DICT,
    V_GLOBAL,
    V_CALL,
    V_OOB
} vkind;

typedef struct val {
    vkind k;
    int64_t i; /* INT, BOOL, OOB: buffer number */
    double f;
    const uint8_t *p; /* STR / BYTES / BYTEARRAY payload (points into the stream) */
    size_t len;
    char name[96];      /* GLOBAL: "module qualname" */
    struct val **items; /* LIST / TUPLE / DICT (k, v, k, v...) / CALL (callable, args) */
    size_t n, cap;
    int readonly;
    struct val *state; /* BUILD state, if any */
} val;

typedef struct pv {
    val **all; /* every value, for freeing */
    size_t nall, capall;
    val **stack;
    size_t sp, capstack;
    val **memo;
    size_t nmemo, capmemo;
    size_t noob;
    size_t nframes, max_frame;
    int large_unframed; /* count of ops written outside frames */
} pv;

static void *grow(void *p, size_t *cap, size_t need, size_t elem)
{
    if (need <= *cap) return p;
    size_t c = *cap ? *cap * 2 : 16;
    while (c < need) c *= 2;
    void *q = realloc(p, c * elem);
    assert_non_null(q);
    *cap = c;
    return q;
}

static val *pv_new(pv *u, vkind k)
{
    val *v = calloc(1, sizeof *v);
    assert_non_null(v);
    v->k = k;
    u->all = grow(u->all, &u->capall, u->nall + 1, sizeof *u->all);
    u->all[u->nall++] = v;
    return v;
}

static void v_add(val *c, val *item)
{
    c->items = grow(c->items, &c->cap, c->n + 1, sizeof *c->items);
    c->items[c->n++] = item;
}

static void push(pv *u, val *v)
{
    u->stack = grow(u->stack, &u->capstack, u->sp + 1, sizeof *u->stack);
    u->stack[u->sp++] = v;
}

static val *pop(pv *u)
{
    assert_true(u->sp > 0);
    return u->stack[--u->sp];
}

/* Pop everything above the topmost MARK (and the MARK) into container c. */
static void pop_mark(pv *u, val *c)
{
    size_t m = u->sp;
    while (m > 0 && u->stack[m - 1]->k != V_MARK) m--;
    assert_true(m > 0);
    for (size_t i = m; i < u->sp; i++) v_add(c, u->stack[i]);
    u->sp = m - 1;
}

static uint64_t le(const uint8_t *p, unsigned n)
{
    uint64_t v = 0;
    for (unsigned i = 0; i < n; i++) v |= (uint64_t)p[i] << (8 * i);
    return v;
}

static void pv_free(pv *u)
{
    for (size_t i = 0; i < u->nall; i++) {
        free(u->all[i]->items);
        free(u->all[i]);
    }
    free(u->all);
    free(u->stack);
    free(u->memo);
    memset(u, 0, sizeof *u);
}

static val *sized(pv *u, vkind k, const uint8_t *s, size_t *i, size_t len, unsigned lenbytes)
{
    assert_true(*i + lenbytes <= len);
    uint64_t n = le(s + *i, lenbytes);
    *i += lenbytes;
    assert_true(n <= len - *i);
    val *v = pv_new(u, k);
    v->p = s + *i;
    v->len = (size_t)n;
    *i += (size_t)n;
    return v;
}

/* Load a stream; checks the framing rule of the pure-Python unpickler (no
 * opcode crosses a frame end) on the way. Returns the root value. */
static val *pv_load(pv *u, const uint8_t *s, size_t len)
{
    memset(u, 0, sizeof *u);
    size_t i = 0, frame_end = 0;
    assert_true(len >= 2);
    assert_int_equal(s[0], 0x80);
    assert_int_equal(s[1], 5);
    i = 2;
    for (;;) {
        assert_true(i < len);
        size_t start = i;
        uint8_t op = s[i++];
        val *v;
        int in_frame = start < frame_end;
        switch (op) {
        case SHMC_OP_FRAME:
            assert_false(in_frame);
            assert_true(i + 8 <= len);
            frame_end = i + 8 + (size_t)le(s + i, 8);
            assert_true(frame_end <= len);
            u->nframes++;
            if (frame_end - i - 8 > u->max_frame) u->max_frame = frame_end - i - 8;
            i += 8;
            continue;
        case SHMC_OP_MARK: push(u, pv_new(u, V_MARK)); break;
        case SHMC_OP_STOP: {
            assert_int_equal(u->sp, 1);
            assert_int_equal(i, len);
            assert_true(i <= frame_end || !in_frame);
            return u->stack[0];
        }
        case SHMC_OP_NONE: push(u, pv_new(u, V_NONE)); break;
        case SHMC_OP_NEWTRUE:
        case SHMC_OP_NEWFALSE:
            v = pv_new(u, V_BOOL);
            v->i = op == SHMC_OP_NEWTRUE;
            push(u, v);
            break;
        case SHMC_OP_BININT1:
            v = pv_new(u, V_INT);
            v->i = s[i];
            i += 1;
            push(u, v);
            break;
        case SHMC_OP_BININT2:
            v = pv_new(u, V_INT);
            v->i = (int64_t)le(s + i, 2);
            i += 2;
            push(u, v);
            break;
        case SHMC_OP_BININT:
            v = pv_new(u, V_INT);
            v->i = (int32_t)le(s + i, 4);
            i += 4;
            push(u, v);
            break;
        case SHMC_OP_LONG1: {
            unsigned n = s[i++];
            assert_true(n >= 1 && n <= 8);
            uint64_t x = le(s + i, n);
            if (n < 8 && (s[i + n - 1] & 0x80)) x |= ~(uint64_t)0 << (8 * n);
            v = pv_new(u, V_INT);
            v->i = (int64_t)x;
            i += n;
            push(u, v);
            break;
        }
        case SHMC_OP_BINFLOAT: {
            uint64_t b = 0;
            for (int k = 0; k < 8; k++) b = b << 8 | s[i + (size_t)k];
            v = pv_new(u, V_FLOAT);
            memcpy(&v->f, &b, 8);
            i += 8;
            push(u, v);
            break;
        }
        case SHMC_OP_SHORT_BINUNICODE: push(u, sized(u, V_STR, s, &i, len, 1)); break;
        case SHMC_OP_BINUNICODE: push(u, sized(u, V_STR, s, &i, len, 4)); break;
        case SHMC_OP_BINUNICODE8: push(u, sized(u, V_STR, s, &i, len, 8)); break;
        case SHMC_OP_SHORT_BINBYTES: push(u, sized(u, V_BYTES, s, &i, len, 1)); break;
        case SHMC_OP_BINBYTES: push(u, sized(u, V_BYTES, s, &i, len, 4)); break;
        case SHMC_OP_BINBYTES8: push(u, sized(u, V_BYTES, s, &i, len, 8)); break;
        case SHMC_OP_BYTEARRAY8: push(u, sized(u, V_BYTEARRAY, s, &i, len, 8)); break;
        case SHMC_OP_NEXT_BUFFER:
            v = pv_new(u, V_OOB);
            v->i = (int64_t)u->noob++;
            push(u, v);
            break;
        case SHMC_OP_READONLY_BUFFER:
            assert_true(u->sp > 0);
            u->stack[u->sp - 1]->readonly = 1;
            break;
        case SHMC_OP_EMPTY_LIST: push(u, pv_new(u, V_LIST)); break;
        case SHMC_OP_POP: (void)pop(u); break;
        case SHMC_OP_EMPTY_DICT: push(u, pv_new(u, V_DICT)); break;
        case SHMC_OP_EMPTY_TUPLE: push(u, pv_new(u, V_TUPLE)); break;
        case SHMC_OP_APPENDS:
        case SHMC_OP_SETITEMS: {
            val tmp = {0};
            pop_mark(u, &tmp);
            val *c = u->stack[u->sp - 1];
            assert_int_equal(c->k, op == SHMC_OP_APPENDS ? V_LIST : V_DICT);
            if (op == SHMC_OP_SETITEMS) assert_int_equal(tmp.n % 2, 0);
            for (size_t k = 0; k < tmp.n; k++) v_add(c, tmp.items[k]);
            free(tmp.items);
            break;
        }
        case SHMC_OP_SETITEM: {
            val *value = pop(u), *key = pop(u);
            assert_true(u->sp > 0);
            assert_int_equal(u->stack[u->sp - 1]->k, V_DICT);
            v_add(u->stack[u->sp - 1], key);
            v_add(u->stack[u->sp - 1], value);
            break;
        }
        case SHMC_OP_BUILD: {
            val *st = pop(u);
            assert_true(u->sp > 0);
            assert_null(u->stack[u->sp - 1]->state); /* one BUILD per object */
            u->stack[u->sp - 1]->state = st;
            break;
        }
        case SHMC_OP_TUPLE:
            v = pv_new(u, V_TUPLE);
            pop_mark(u, v);
            push(u, v);
            break;
        case SHMC_OP_TUPLE1:
        case SHMC_OP_TUPLE2:
        case SHMC_OP_TUPLE3: {
            size_t n = (size_t)(op - SHMC_OP_TUPLE1 + 1);
            assert_true(u->sp >= n);
            v = pv_new(u, V_TUPLE);
            for (size_t k = u->sp - n; k < u->sp; k++) v_add(v, u->stack[k]);
            u->sp -= n;
            push(u, v);
            break;
        }
        case SHMC_OP_STACK_GLOBAL: {
            val *name = pop(u), *mod = pop(u);
            assert_int_equal(name->k, V_STR);
            assert_int_equal(mod->k, V_STR);
            v = pv_new(u, V_GLOBAL);
            snprintf(v->name, sizeof v->name, "%.*s %.*s", (int)mod->len, mod->p, (int)name->len,
                     name->p);
            push(u, v);
            break;
        }
        case SHMC_OP_NEWOBJ: /* cls.__new__(cls, *args): a call of cls here too */
        case SHMC_OP_REDUCE: {
            val *args = pop(u), *fn = pop(u);
            assert_int_equal(args->k, V_TUPLE);
            v = pv_new(u, V_CALL);
            v_add(v, fn);
            v_add(v, args);
            push(u, v);
            break;
        }
        case SHMC_OP_NEWOBJ_EX: { /* cls.__new__(cls, *args, **kwargs): (cls, args, kwargs) */
            val *kw = pop(u), *args = pop(u), *cls = pop(u);
            assert_int_equal(args->k, V_TUPLE);
            assert_int_equal(kw->k, V_DICT);
            v = pv_new(u, V_CALL);
            v_add(v, cls);
            v_add(v, args);
            v_add(v, kw);
            push(u, v);
            break;
        }
        case SHMC_OP_MEMOIZE:
            assert_true(u->sp > 0);
            u->memo = grow(u->memo, &u->capmemo, u->nmemo + 1, sizeof *u->memo);
            u->memo[u->nmemo++] = u->stack[u->sp - 1];
            break;
        case SHMC_OP_BINGET:
        case SHMC_OP_LONG_BINGET: {
            size_t k = op == SHMC_OP_BINGET ? s[i] : (size_t)le(s + i, 4);
            i += op == SHMC_OP_BINGET ? 1 : 4;
            assert_true(k < u->nmemo);
            push(u, u->memo[k]);
            break;
        }
        default: fail_msg("unexpected opcode 0x%02x at %zu", op, start);
        }
        assert_true(i <= len);
        if (in_frame) assert_true(i <= frame_end); /* never straddles */
        else u->large_unframed++;
    }
}

/* ---- navigating the tree ------------------------------------------------- */
static const char *call_name(const val *v)
{
    if (!v || v->k != V_CALL || v->items[0]->k != V_GLOBAL) return "";
    return v->items[0]->name;
}

static val *arg(const val *call, size_t i)
{
    assert_int_equal(call->k, V_CALL);
    assert_true(i < call->items[1]->n);
    return call->items[1]->items[i];
}

static size_t nargs(const val *call) { return call->items[1]->n; }

static int str_is(const val *v, const char *s)
{
    return v && v->k == V_STR && v->len == strlen(s) && !memcmp(v->p, s, v->len);
}

/* The value of dict key `label` (a str key). */
static val *dict_get(const val *d, const char *label)
{
    assert_int_equal(d->k, V_DICT);
    for (size_t i = 0; i + 1 < d->n; i += 2)
        if (str_is(d->items[i], label)) return d->items[i + 1];
    fail_msg("no column '%s'", label);
    return NULL;
}

typedef struct stream {
    shmc_pickle_out out;
    pv u;
    val *root;
    val *data;     /* the dict passed to DataFrame */
    val *set_axis; /* partial(DataFrame.set_axis, axis=1)(frame, labels), if used */
    val *attrs;    /* the BUILD state of the result (df.attrs), if any */
} stream;

static void load_stream(stream *st)
{
    st->root = pv_load(&st->u, st->out.bytes, st->out.len);
    st->attrs = st->root->state;
    if (st->root->k == V_CALL && st->root->items[0]->k == V_CALL) { /* duplicate labels */
        st->set_axis = st->root;
        st->root = arg(st->set_axis, 0);
    }
    assert_string_equal(call_name(st->root), "pandas DataFrame");
    assert_int_equal(nargs(st->root), 5);
    st->data = arg(st->root, 0);
    assert_int_equal(st->data->k, V_DICT);
    assert_int_equal(arg(st->root, 3)->k, V_NONE);
    assert_int_equal(arg(st->root, 4)->k, V_BOOL);
    assert_int_equal(arg(st->root, 4)->i, 0); /* copy=False */
}

static void stream_free(stream *st)
{
    pv_free(&st->u);
    shmc_pickle_out_free(&st->out);
}

/* ------------------------------------------------------------------------ */
/* Emitter: opcode encodings                                                 */
/* ------------------------------------------------------------------------ */
/* Emit one value inside PROTO + frame; returns the bytes after the FRAME header. */
static const uint8_t *emit_one(shmc_pk *pk, size_t *n)
{
    shmc_pk_end(pk);
    assert_int_equal(pk->status, SHMC_OK);
    assert_int_equal(pk->buf[2], SHMC_OP_FRAME);
    assert_int_equal(le(pk->buf + 3, 8), pk->len - 11);
    *n = pk->len - 11 - 1; /* without STOP */
    assert_int_equal(pk->buf[pk->len - 1], SHMC_OP_STOP);
    return pk->buf + 11;
}

static void test_emit_ints(void **state)
{
    (void)state;
    struct {
        int64_t v;
        uint8_t bytes[12];
        size_t n;
    } cases[] = {
        {0, {'K', 0}, 2},
        {255, {'K', 0xff}, 2},
        {256, {'M', 0x00, 0x01}, 3},
        {65535, {'M', 0xff, 0xff}, 3},
        {65536, {'J', 0x00, 0x00, 0x01, 0x00}, 5},
        {-1, {'J', 0xff, 0xff, 0xff, 0xff}, 5},
        {INT32_MIN, {'J', 0x00, 0x00, 0x00, 0x80}, 5},
        {(int64_t)INT32_MAX + 1, {0x8a, 5, 0x00, 0x00, 0x00, 0x80, 0x00}, 7},
        {(int64_t)INT32_MIN - 1, {0x8a, 5, 0xff, 0xff, 0xff, 0x7f, 0xff}, 7},
        {INT64_MAX, {0x8a, 8, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f}, 10},
        {INT64_MIN, {0x8a, 8, 0, 0, 0, 0, 0, 0, 0, 0x80}, 10},
        {(int64_t)1 << 40, {0x8a, 6, 0, 0, 0, 0, 0, 0x01}, 8},
    };
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        shmc_pk pk;
        shmc_pk_init(&pk);
        shmc_pk_begin(&pk);
        shmc_pk_int(&pk, cases[c].v);
        size_t n;
        const uint8_t *b = emit_one(&pk, &n);
        assert_int_equal(n, cases[c].n);
        assert_memory_equal(b, cases[c].bytes, n);
        pv u;
        val *v = pv_load(&u, pk.buf, pk.len);
        assert_int_equal(v->k, V_INT);
        assert_true(v->i == cases[c].v);
        pv_free(&u);
        shmc_pk_free(&pk);
    }
}

static void test_emit_scalars(void **state)
{
    (void)state;
    shmc_pk pk;
    shmc_pk_init(&pk);
    shmc_pk_begin(&pk);
    shmc_pk_float(&pk, 1.5);
    size_t n;
    const uint8_t *b = emit_one(&pk, &n);
    static const uint8_t f15[] = {'G', 0x3f, 0xf8, 0, 0, 0, 0, 0, 0}; /* big-endian IEEE */
    assert_int_equal(n, sizeof f15);
    assert_memory_equal(b, f15, n);
    shmc_pk_free(&pk);

    shmc_pk_init(&pk);
    shmc_pk_begin(&pk);
    shmc_pk_op(&pk, SHMC_OP_MARK);
    shmc_pk_none(&pk);
    shmc_pk_bool(&pk, 1);
    shmc_pk_bool(&pk, 0);
    shmc_pk_oob(&pk);
    shmc_pk_op(&pk, SHMC_OP_TUPLE);
    b = emit_one(&pk, &n);
    static const uint8_t seq[] = {'(', 'N', 0x88, 0x89, 0x97, 0x98, 't'};
    assert_int_equal(n, sizeof seq);
    assert_memory_equal(b, seq, n);
    shmc_pk_free(&pk);
}

static void check_sized(size_t len, uint8_t op, unsigned lenbytes, int framed)
{
    char *s = malloc(len + 1);
    assert_non_null(s);
    memset(s, 'x', len);
    shmc_pk pk;
    shmc_pk_init(&pk);
    shmc_pk_begin(&pk);
    shmc_pk_str(&pk, s, len);
    shmc_pk_end(&pk);
    assert_int_equal(pk.status, SHMC_OK);
    size_t at = framed ? 11 : 2;
    if (!framed) assert_int_equal(pk.buf[2], op); /* big payload: no FRAME before it */
    assert_int_equal(pk.buf[at], op);
    assert_int_equal(le(pk.buf + at + 1, lenbytes), len);
    assert_memory_equal(pk.buf + at + 1 + lenbytes, s, len);
    pv u;
    val *v = pv_load(&u, pk.buf, pk.len);
    assert_int_equal(v->k, V_STR);
    assert_int_equal(v->len, len);
    if (!framed) assert_true(u.large_unframed >= 1);
    pv_free(&u);
    shmc_pk_free(&pk);
    free(s);
}

static void test_emit_str_forms(void **state)
{
    (void)state;
    check_sized(0, SHMC_OP_SHORT_BINUNICODE, 1, 1);
    check_sized(255, SHMC_OP_SHORT_BINUNICODE, 1, 1);
    check_sized(256, SHMC_OP_BINUNICODE, 4, 1);
    check_sized(SHMC_PK_FRAME_TARGET - 1, SHMC_OP_BINUNICODE, 4, 1);
    check_sized(SHMC_PK_FRAME_TARGET, SHMC_OP_BINUNICODE, 4, 0);
    check_sized(300000, SHMC_OP_BINUNICODE, 4, 0);

    shmc_pk pk;
    shmc_pk_init(&pk);
    shmc_pk_begin(&pk);
    shmc_pk_bytes(&pk, "ab", 2);
    uint8_t *dst;
    shmc_pk_bytearray(&pk, 3, &dst);
    memcpy(dst, "xyz", 3);
    size_t n;
    const uint8_t *b = emit_one(&pk, &n);
    static const uint8_t want[] = {'C', 2, 'a', 'b', 0x96, 3, 0, 0, 0, 0, 0, 0, 0, 'x', 'y', 'z'};
    assert_int_equal(n, sizeof want);
    assert_memory_equal(b, want, n);
    shmc_pk_free(&pk);
}

static void test_emit_framing(void **state)
{
    (void)state;
    shmc_pk pk;
    shmc_pk_init(&pk);
    shmc_pk_begin(&pk);
    shmc_pk_op(&pk, SHMC_OP_EMPTY_LIST);
    const size_t n = 200000;
    for (size_t i = 0; i < n; i++) {
        if (i % 1000 == 0) shmc_pk_op(&pk, SHMC_OP_MARK);
        shmc_pk_int(&pk, (int64_t)i);
        if (i % 1000 == 999) shmc_pk_op(&pk, SHMC_OP_APPENDS);
    }
    uint8_t *dst;
    shmc_pk_bytearray(&pk, 100000, &dst); /* big: written between frames */
    memset(dst, 7, 100000);
    shmc_pk_op(&pk, SHMC_OP_TUPLE2);
    shmc_pk_end(&pk);
    assert_int_equal(pk.status, SHMC_OK);
    pv u;
    val *v = pv_load(&u, pk.buf, pk.len);
    assert_int_equal(v->k, V_TUPLE);
    assert_int_equal(v->items[0]->n, n);
    assert_int_equal(v->items[0]->items[123456]->i, 123456);
    assert_int_equal(v->items[1]->len, 100000);
    assert_true(u.nframes >= 10);                         /* ~1 MB of ints */
    assert_true(u.max_frame < SHMC_PK_FRAME_TARGET + 16); /* target + one opcode */
    assert_int_equal(u.large_unframed, 1);                /* only the bytearray */
    pv_free(&u);
    shmc_pk_free(&pk);
}

static void test_emit_memo(void **state)
{
    (void)state;
    shmc_pk pk;
    shmc_pk_init(&pk);
    shmc_pk_begin(&pk);
    shmc_pk_op(&pk, SHMC_OP_EMPTY_LIST);
    shmc_pk_op(&pk, SHMC_OP_MARK);
    for (int i = 0; i < 300; i++) {
        uint32_t idx = 99;
        shmc_pk_int(&pk, i * 7);
        shmc_pk_memoize(&pk, &idx);
        assert_int_equal(idx, i);
    }
    size_t before = pk.len;
    shmc_pk_get(&pk, 5);
    assert_int_equal(pk.len - before, 2);
    assert_int_equal(pk.buf[before], SHMC_OP_BINGET);
    before = pk.len;
    shmc_pk_get(&pk, 299);
    assert_int_equal(pk.len - before, 5);
    assert_int_equal(pk.buf[before], SHMC_OP_LONG_BINGET);
    assert_int_equal(le(pk.buf + before + 1, 4), 299);
    shmc_pk_op(&pk, SHMC_OP_APPENDS);
    shmc_pk_global(&pk, "numpy", "frombuffer");
    shmc_pk_op(&pk, SHMC_OP_TUPLE2);
    shmc_pk_end(&pk);
    pv u;
    val *v = pv_load(&u, pk.buf, pk.len);
    val *list = v->items[0];
    assert_int_equal(list->n, 302);
    assert_int_equal(list->items[300]->i, 35);
    assert_int_equal(list->items[301]->i, 299 * 7);
    assert_string_equal(v->items[1]->name, "numpy frombuffer");
    pv_free(&u);
    shmc_pk_free(&pk);
}

static void test_emit_limit_sticky(void **state)
{
    (void)state;
    shmc_pk pk;
    shmc_pk_init(&pk);
    pk.max_len = 64;
    shmc_pk_begin(&pk);
    char s[100] = {0};
    assert_int_equal(shmc_pk_str(&pk, s, sizeof s), SHMC_ERR_LIMIT);
    size_t len = pk.len;
    assert_int_equal(shmc_pk_none(&pk), SHMC_ERR_LIMIT); /* sticky, writes nothing */
    assert_int_equal(pk.len, len);
    shmc_pk_free(&pk);
}

static void test_utf8_check(void **state)
{
    (void)state;
    struct {
        const char *s;
        size_t bad;
    } cases[] = {
        {"", 0},
        {"plain ascii, long enough for the 8-byte path", 0},
        {"caf\xc3\xa9", 0},
        {"\xe2\x82\xac", 0},
        {"\xf0\x9f\x98\x80", 0},
        {"\xf4\x8f\xbf\xbf", 0}, /* U+10FFFF */
        {"\xed\xa0\x80", 0},     /* lone surrogate: pickle uses surrogatepass */
        {"abc\x80", 4},          /* stray continuation byte */
        {"\xc0\xaf", 1},
        {"\xc1\xbf", 1},         /* overlong */
        {"\xe0\x80\xaf", 1},     /* overlong 3-byte */
        {"\xf0\x80\x80\xaf", 1}, /* overlong 4-byte */
        {"\xf4\x90\x80\x80", 1}, /* > U+10FFFF */
        {"\xf5\x80\x80\x80", 1},
        {"\xff", 1},
        {"12345678\xe2\x82", 9}, /* truncated after the fast path */
        {"ok\xe2\x28\xa1", 3},   /* bad continuation */
    };
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++)
        assert_int_equal(shmc_utf8_check((const uint8_t *)cases[c].s, strlen(cases[c].s)),
                         cases[c].bad);
}

/* ------------------------------------------------------------------------ */
/* Segments to write from                                                    */
/* ------------------------------------------------------------------------ */
#define NROWS 10
#define RPC   4 /* row groups of 4, 4, 2 rows */

enum {
    C_I64,
    C_F64,
    C_BOOL,
    C_NINT,
    C_STR,
    C_CAT,
    C_TZ,
    C_NAIVE,
    C_OBJ,
    C_DICT /* the categories */
};

static int64_t g_i64[NROWS];
static double g_f64[NROWS];
static uint8_t g_bool[NROWS];
static int32_t g_nint[NROWS];
static uint8_t g_nmask[NROWS];
static int8_t g_codes[NROWS];
static int64_t g_ts[NROWS];
static const char *const g_strs[NROWS] = {
    "a", "", NULL, "caf\xc3\xa9", "\xf0\x9f\x98\x80", "xyz", "0123456789", NULL, "q", "last"};
static char g_sdata[256];
static int64_t g_soff[NROWS + 1];
static uint8_t g_svalid[2];
static const char g_blob0[] = "blob-zero", g_blob1[] = "blob-one", g_blob2[] = "blob-two";

static shmc_label slab(const char *s) { return (shmc_label){SHMC_LABEL_STR, s, strlen(s), 0}; }

static void fill_data(void)
{
    size_t at = 0;
    memset(g_svalid, 0, sizeof g_svalid);
    for (int i = 0; i < NROWS; i++) {
        g_i64[i] = i == 9 ? INT64_MAX : (int64_t)i * 1000 - 3;
        g_f64[i] = i * 0.5;
        g_bool[i] = (uint8_t)(i % 3 == 0);
        g_nint[i] = i * 11;
        g_nmask[i] = (uint8_t)(i % 4 == 1);
        g_codes[i] = (int8_t)(i % 4 == 2 ? -1 : i % 3);
        g_ts[i] = (int64_t)i * 1000000000 + 17;
        g_soff[i] = (int64_t)at;
        if (g_strs[i]) {
            memcpy(g_sdata + at, g_strs[i], strlen(g_strs[i]));
            at += strlen(g_strs[i]);
            g_svalid[i / 8] |= (uint8_t)(1u << (i % 8));
        }
    }
    g_soff[NROWS] = (int64_t)at;
}

static void add(shmc_frame *f, shmc_column_desc d)
{
    assert_int_equal(shmc_frame_add_column(f, &d), SHMC_OK);
}

/* The test frame: every kind but one object column only when `objects`. */
static shmc_frame *make_frame(int objects, const char *bad_string)
{
    fill_data();
    if (bad_string) memcpy(g_sdata + g_soff[5], bad_string, 3); /* row 5 "xyz" */
    shmc_frame *f = NULL;
    assert_int_equal(shmc_frame_create(&f), SHMC_OK);
    shmc_frame_set_nrows(f, NROWS);
    add(f, (shmc_column_desc){.kind = SHMC_KIND_INT64, .label = slab("i64"), .values = g_i64});
    add(f, (shmc_column_desc){.kind = SHMC_KIND_FLOAT64, .label = slab("f64"), .values = g_f64});
    add(f, (shmc_column_desc){
               .kind = SHMC_KIND_BOOL, .label = {SHMC_LABEL_INT, NULL, 0, -7}, .values = g_bool});
    add(f, (shmc_column_desc){.kind = SHMC_KIND_INT32,
                              .label = slab("nint"),
                              .dtype = "Int32",
                              .values = g_nint,
                              .mask = g_nmask});
    add(f, (shmc_column_desc){.kind = SHMC_KIND_STRING,
                              .label = slab("s"),
                              .dtype = "str",
                              .offsets = g_soff,
                              .data = (const uint8_t *)g_sdata,
                              .validity = g_svalid});
    static const char cats[] = "lowmidhigh";
    static const int64_t cat_off[] = {0, 3, 6, 10};
    static shmc_column_desc dict = {.kind = SHMC_KIND_STRING,
                                    .dtype = "object",
                                    .offsets = cat_off,
                                    .data = (const uint8_t *)cats};
    add(f, (shmc_column_desc){.kind = SHMC_KIND_CATEGORICAL,
                              .label = slab("cat"),
                              .flags = SHMC_COL_ORDERED,
                              .values = g_codes,
                              .code_kind = SHMC_KIND_INT8,
                              .categories = &dict,
                              .ncategories = 3});
    add(f, (shmc_column_desc){.kind = SHMC_KIND_DATETIME,
                              .label = slab("tz"),
                              .unit = SHMC_UNIT_NS,
                              .tz = "Europe/Paris",
                              .values = g_ts});
    add(f, (shmc_column_desc){.kind = SHMC_KIND_DATETIME,
                              .label = slab("naive"),
                              .unit = SHMC_UNIT_MS,
                              .values = g_ts});
    if (objects) {
        static const void *blobs[] = {g_blob0, g_blob1, g_blob2};
        static const size_t lens[] = {sizeof g_blob0 - 1, sizeof g_blob1 - 1, sizeof g_blob2 - 1};
        add(f, (shmc_column_desc){.kind = SHMC_KIND_OBJECT,
                                  .label = slab("obj"),
                                  .dtype = "object",
                                  .blobs = blobs,
                                  .blob_lens = lens,
                                  .nblobs = 3});
    }
    shmc_label name = slab("rows");
    shmc_frame_set_range_index(f, 100, 3, &name);
    return f;
}

typedef struct fixture {
    uint8_t *buf;
    size_t len;
    shmc_segment *seg;
    uint32_t ids[16]; /* column id by C_* */
} fixture;

static void open_fixture_rpc(fixture *fx, shmc_frame *f, int codec, uint32_t open_flags,
                             uint64_t rpc)
{
    shmc_write_opts o;
    shmc_write_opts_init(&o);
    o.rows_per_chunk = rpc;
    o.codec = codec;
    o.min_saving = 0.0001; /* keep zstd even for tiny chunks when it saves anything */
    assert_int_equal(hc_write_to_buffer(f, &o, &fx->buf, &fx->len), SHMC_OK);
    shmc_frame_free(f);
    assert_int_equal(shmc_segment_create(&fx->seg), SHMC_OK);
    assert_int_equal(shmc_segment_open_buffer(fx->seg, fx->buf, fx->len, open_flags), SHMC_OK);
    /* Find columns by label: the writer decides where dictionaries go. */
    shmc_segment_info in;
    assert_int_equal(shmc_segment_info_get(fx->seg, &in), SHMC_OK);
    static const char *const names[] = {"i64", "f64", "", "nint", "s", "cat", "tz", "naive", "obj"};
    for (uint32_t c = 0; c < in.ncolumns; c++) {
        shmc_column_info ci;
        assert_int_equal(shmc_segment_column_info(fx->seg, c, &ci), SHMC_OK);
        if (ci.flags & SHMC_COL_DICTIONARY) fx->ids[C_DICT] = c;
        else if (ci.label.type == SHMC_LABEL_INT) fx->ids[C_BOOL] = c;
        for (int k = 0; k < 9; k++)
            if (ci.label.type == SHMC_LABEL_STR && ci.label.len == strlen(names[k]) &&
                !memcmp(ci.label.str, names[k], ci.label.len))
                fx->ids[k] = c;
    }
}

static void open_fixture(fixture *fx, shmc_frame *f, int codec, uint32_t open_flags)
{
    open_fixture_rpc(fx, f, codec, open_flags, RPC);
}

static void close_fixture(fixture *fx)
{
    shmc_segment_free(fx->seg);
    free(fx->buf);
}

/* ---- checks of one column's value ---------------------------------------- */
/* Bytes of a numpy.frombuffer call (in-band) after checking its dtype. */
static const uint8_t *inband_array(const val *v, const char *dtype, size_t *len)
{
    assert_string_equal(call_name(v), "numpy frombuffer");
    assert_int_equal(nargs(v), 2);
    val *buf = arg(v, 0), *dt = arg(v, 1);
    assert_int_equal(buf->k, V_BYTEARRAY);
    assert_string_equal(call_name(dt), "numpy dtype");
    assert_true(str_is(arg(dt, 0), dtype));
    *len = buf->len;
    return buf->p;
}

static void check_fixed_inband(const val *v, const char *dtype, const void *want, size_t itemsize,
                               uint64_t a, uint64_t b)
{
    size_t len;
    const uint8_t *p = inband_array(v, dtype, &len);
    assert_int_equal(len, (b - a) * itemsize);
    assert_memory_equal(p, (const uint8_t *)want + a * itemsize, len);
}

/* The strings of a str/None list against g_strs[a..b). */
static void check_string_list(const val *list, uint64_t a, uint64_t b)
{
    assert_int_equal(list->k, V_LIST);
    assert_int_equal(list->n, b - a);
    for (uint64_t r = a; r < b; r++) {
        const val *s = list->items[r - a];
        if (!g_strs[r]) {
            assert_int_equal(s->k, V_NONE);
        } else {
            assert_int_equal(s->k, V_STR);
            assert_int_equal(s->len, strlen(g_strs[r]));
            assert_memory_equal(s->p, g_strs[r], s->len);
        }
    }
}

static void check_index_range(const stream *st, int64_t start, int64_t stop)
{
    val *ix = arg(st->root, 1);
    assert_string_equal(call_name(ix), "pandas RangeIndex");
    assert_int_equal(arg(ix, 0)->i, start);
    assert_int_equal(arg(ix, 1)->i, stop);
    assert_int_equal(arg(ix, 2)->i, 3);
    assert_true(str_is(arg(ix, 5), "rows"));
}

/* Every column of the test frame over rows [a, b), in-band. */
static void check_all_inband(const stream *st, uint64_t a, uint64_t b, int objects)
{
    check_fixed_inband(dict_get(st->data, "i64"), "<i8", g_i64, 8, a, b);
    check_fixed_inband(dict_get(st->data, "f64"), "<f8", g_f64, 8, a, b);
    /* the int label -7 */
    int found = 0;
    for (size_t i = 0; i + 1 < st->data->n; i += 2)
        if (st->data->items[i]->k == V_INT && st->data->items[i]->i == -7) {
            check_fixed_inband(st->data->items[i + 1], "?", g_bool, 1, a, b);
            found = 1;
        }
    assert_true(found);

    val *n = dict_get(st->data, "nint");
    assert_string_equal(call_name(n), "pandas.arrays IntegerArray");
    check_fixed_inband(arg(n, 0), "<i4", g_nint, 4, a, b);
    check_fixed_inband(arg(n, 1), "?", g_nmask, 1, a, b);

    val *s = dict_get(st->data, "s");
    assert_string_equal(call_name(s), "pandas Index"); /* "str": Index(list, "str") */
    check_string_list(arg(s, 0), a, b);
    assert_true(str_is(arg(s, 1), "str"));

    val *c = dict_get(st->data, "cat");
    assert_string_equal(call_name(c), "pandas Categorical.from_codes");
    check_fixed_inband(arg(c, 0), "i1", g_codes, 1, a, b);
    val *cats = arg(c, 1);
    assert_string_equal(call_name(cats), "pandas Index");
    assert_int_equal(arg(cats, 0)->n, 3);
    assert_true(str_is(arg(cats, 0)->items[2], "high"));
    assert_string_equal(call_name(arg(cats, 1)), "numpy dtype"); /* object dtype spelled out */
    assert_true(str_is(arg(arg(cats, 1), 0), "O"));
    assert_int_equal(arg(c, 2)->k, V_BOOL);
    assert_int_equal(arg(c, 2)->i, 1); /* ordered */

    val *tz = dict_get(st->data, "tz");
    assert_string_equal(call_name(tz), "pandas array");
    check_fixed_inband(arg(tz, 0), "<i8", g_ts, 8, a, b); /* int64: UTC epoch */
    assert_string_equal(call_name(arg(tz, 1)), "pandas DatetimeTZDtype");
    assert_true(str_is(arg(arg(tz, 1), 0), "ns"));
    assert_true(str_is(arg(arg(tz, 1), 1), "Europe/Paris"));
    check_fixed_inband(dict_get(st->data, "naive"), "<M8[ms]", g_ts, 8, a, b);
    if (objects) assert_string_equal(call_name(dict_get(st->data, "obj")), "pandas Index");
}

static void write_ok(fixture *fx, const shmc_selection *sel, uint32_t flags, stream *st)
{
    memset(st, 0, sizeof *st);
    int rc = shmc_pickle_write(fx->seg, sel, flags, &st->out);
    if (rc != SHMC_OK) fail_msg("shmc_pickle_write: %s", shmc_segment_errmsg(fx->seg));
    load_stream(st);
}

/* ------------------------------------------------------------------------ */
/* Writer tests                                                              */
/* ------------------------------------------------------------------------ */
static void test_write_all_inband(void **state)
{
    (void)state;
    fixture fx;
    open_fixture(&fx, make_frame(1, NULL), SHMC_CODEC_NONE, 0);
    stream st;
    write_ok(&fx, NULL, SHMC_PICKLE_OBJECTS, &st);
    assert_int_equal(st.data->n, 2 * 9);
    check_all_inband(&st, 0, NROWS, 1);
    check_index_range(&st, 100, 100 + 3 * NROWS);
    assert_int_equal(st.out.nbuffers, 0);
    assert_int_equal(st.u.noob, 0);
    /* the columns axis: the dict's label objects again, through the memo */
    val *cols = arg(st.root, 2);
    assert_int_equal(cols->k, V_LIST);
    assert_int_equal(cols->n, 9);
    for (size_t i = 0; i < 9; i++) assert_ptr_equal(cols->items[i], st.data->items[2 * i]);
    /* the object column: pickle.loads of the three blobs, joined through pandas.concat */
    val *o = dict_get(st.data, "obj");
    val *cat = arg(o, 0);
    assert_string_equal(call_name(cat), "pandas concat");
    val *parts = arg(cat, 0);
    assert_int_equal(parts->n, 3);
    val *loads = arg(parts->items[1], 0);
    assert_string_equal(call_name(loads), "pickle loads");
    assert_int_equal(arg(loads, 0)->k, V_BYTES);
    assert_memory_equal(arg(loads, 0)->p, g_blob1, sizeof g_blob1 - 1);
    /* one numpy.frombuffer / numpy.dtype('<i8') global for the whole stream: memoised */
    size_t nglobals = 0;
    for (size_t i = 0; i < st.u.nall; i++)
        if (st.u.all[i]->k == V_GLOBAL && !strcmp(st.u.all[i]->name, "numpy frombuffer"))
            nglobals++;
    assert_int_equal(nglobals, 1);
    stream_free(&st);
    close_fixture(&fx);
}

/* Rows cut inside row groups, raw and compressed, in-band. */
static void test_write_rows_inside_rowgroups(void **state)
{
    (void)state;
    static const uint64_t ranges[][2] = {{3, 9}, {1, 2}, {4, 8}, {9, 10}, {0, 10}, {5, 0}};
    for (int codec = 0; codec <= 1; codec++) {
        fixture fx;
        open_fixture(&fx, make_frame(1, NULL), codec ? SHMC_CODEC_ZSTD : SHMC_CODEC_NONE, 0);
        for (size_t r = 0; r < sizeof ranges / sizeof ranges[0]; r++) {
            shmc_selection sel = {.row_start = ranges[r][0], .row_stop = ranges[r][1]};
            uint64_t b = ranges[r][1] ? ranges[r][1] : NROWS;
            stream st;
            write_ok(&fx, &sel, SHMC_PICKLE_OBJECTS, &st);
            check_all_inband(&st, ranges[r][0], b, 1);
            check_index_range(&st, 100 + 3 * (int64_t)ranges[r][0], 100 + 3 * (int64_t)b);
            /* object column cut inside a row group: operator.getitem(loads(blob), slice) */
            val *o = arg(dict_get(st.data, "obj"), 0);
            if (ranges[r][0] == 3 && b == 9) {
                val *parts = arg(o, 0);
                assert_int_equal(parts->n, 3);
                val *first = arg(parts->items[0], 0);
                assert_string_equal(call_name(first), "operator getitem");
                val *sl = arg(first, 1);
                assert_string_equal(call_name(sl), "builtins slice");
                assert_int_equal(arg(sl, 0)->i, 3);
                assert_int_equal(arg(sl, 1)->i, 4);
                assert_string_equal(call_name(arg(parts->items[1], 0)), "pickle loads");
            }
            if (ranges[r][0] == 1 && b == 2) assert_string_equal(call_name(o), "operator getitem");
            stream_free(&st);
        }
        close_fixture(&fx);
    }
}

/* Out-of-band, raw: one segment range per column holding exactly its bytes. */
static void test_write_oob_raw(void **state)
{
    (void)state;
    fixture fx;
    /* 8 rows of int64 fill a 64-byte aligned chunk: adjacent row groups */
    open_fixture_rpc(&fx, make_frame(0, NULL), SHMC_CODEC_NONE, 0, 8);
    shmc_selection sel = {.row_start = 2, .row_stop = 9};
    stream st;
    write_ok(&fx, &sel, SHMC_PICKLE_OOB, &st);
    assert_int_equal(st.u.noob, st.out.nbuffers);
    val *v = dict_get(st.data, "i64");
    assert_string_equal(call_name(v), "numpy frombuffer");
    val *b = arg(v, 0);
    assert_int_equal(b->k, V_OOB);
    assert_true(b->readonly);
    const shmc_oob_buffer *ob = &st.out.buffers[b->i];
    assert_int_equal(ob->kind, SHMC_OOB_SEGMENT);
    assert_int_equal(ob->len, 7 * 8); /* rows 2..9 over two row groups: one range */
    assert_true(ob->offset + ob->len <= fx.len);
    assert_memory_equal(fx.buf + ob->offset, &g_i64[2], ob->len);
    assert_int_equal(ob->offset % 8, 0);
    /* nullable: both values and mask out-of-band */
    /* 7 bytes of mask in 8-row chunks padded to 64 bytes: one range per row
     * group, joined by numpy.concatenate */
    val *n = dict_get(st.data, "nint");
    val *mask = arg(n, 1);
    assert_string_equal(call_name(mask), "numpy concatenate");
    val *parts = arg(mask, 0);
    assert_int_equal(parts->n, 2);
    const shmc_oob_buffer *m0 = &st.out.buffers[arg(parts->items[0], 0)->i];
    const shmc_oob_buffer *m1 = &st.out.buffers[arg(parts->items[1], 0)->i];
    assert_int_equal(m0->len, 6);
    assert_int_equal(m1->len, 1);
    assert_memory_equal(fx.buf + m0->offset, &g_nmask[2], 6);
    assert_memory_equal(fx.buf + m1->offset, &g_nmask[8], 1);
    /* strings are always in-band str objects */
    check_string_list(arg(dict_get(st.data, "s"), 0), 2, 9);
    /* every buffer is used once, in order */
    for (size_t i = 0, k = 0; i < st.u.nall; i++)
        if (st.u.all[i]->k == V_OOB) assert_int_equal(st.u.all[i]->i, (int64_t)k++);
    stream_free(&st);
    close_fixture(&fx);
}

/* Out-of-band, compressed: one DECODED buffer per chunk, joined by numpy.concatenate. */
static void test_write_oob_compressed(void **state)
{
    (void)state;
    fixture fx;
    open_fixture(&fx, make_frame(0, NULL), SHMC_CODEC_ZSTD, 0);
    shmc_selection sel = {.columns = &fx.ids[C_I64], .ncolumns = 1, .row_start = 3, .row_stop = 9};
    stream st;
    write_ok(&fx, &sel, SHMC_PICKLE_OOB, &st);
    val *v = dict_get(st.data, "i64");
    int joined = !strcmp(call_name(v), "numpy concatenate");
    /* gather the pieces as the Python side would: decode, slice, concatenate */
    uint8_t got[NROWS * 8];
    size_t at = 0;
    for (size_t i = 0; i < st.out.nbuffers; i++) {
        const shmc_oob_buffer *ob = &st.out.buffers[i];
        if (ob->kind == SHMC_OOB_SEGMENT) {
            memcpy(got + at, fx.buf + ob->offset, ob->len);
        } else {
            shmc_chunk_info ci;
            assert_int_equal(shmc_segment_chunk_info(fx.seg, ob->chunk, &ci), SHMC_OK);
            uint8_t *raw = malloc(ci.raw_len);
            assert_int_equal(shmc_segment_chunk_decode(fx.seg, ob->chunk, raw, ci.raw_len),
                             SHMC_OK);
            assert_true(ob->offset + ob->len <= ci.raw_len);
            memcpy(got + at, raw + ob->offset, ob->len);
            free(raw);
        }
        at += ob->len;
    }
    assert_int_equal(at, 6 * 8);
    assert_memory_equal(got, &g_i64[3], at);
    assert_true(joined == (st.out.nbuffers > 1));
    if (joined) assert_int_equal(arg(v, 0)->n, st.out.nbuffers);
    stream_free(&st);
    close_fixture(&fx);
}

/* Chunk ids: their columns x their row groups; scattered row groups give an
 * explicit Index of the range labels. */
static void test_write_chunk_selection(void **state)
{
    (void)state;
    fixture fx;
    open_fixture(&fx, make_frame(0, NULL), SHMC_CODEC_NONE, 0);
    uint32_t a, b, dictchunk;
    assert_int_equal(shmc_segment_chunk_find(fx.seg, fx.ids[C_F64], 2, SHMC_ROLE_VALUES, &a),
                     SHMC_OK);
    assert_int_equal(shmc_segment_chunk_find(fx.seg, fx.ids[C_I64], 0, SHMC_ROLE_VALUES, &b),
                     SHMC_OK);
    assert_int_equal(
        shmc_segment_chunk_find(fx.seg, fx.ids[C_DICT], 0, SHMC_ROLE_OFFSETS, &dictchunk), SHMC_OK);
    uint32_t ids[] = {a, b, b, dictchunk};
    shmc_selection sel = {.chunks = ids, .nchunks = 4};
    stream st;
    write_ok(&fx, &sel, 0, &st);
    assert_int_equal(st.data->n, 4); /* i64 and f64 only: the dictionary chunk adds nothing */
    const uint8_t *p;
    size_t len;
    p = inband_array(dict_get(st.data, "i64"), "<i8", &len);
    assert_int_equal(len, 6 * 8); /* rows 0-3 and 8-9 */
    assert_memory_equal(p, &g_i64[0], 32);
    assert_memory_equal(p + 32, &g_i64[8], 16);
    val *ix = arg(st.root, 1);
    assert_string_equal(call_name(ix), "pandas Index");
    p = inband_array(arg(ix, 0), "<i8", &len);
    int64_t want[] = {100, 103, 106, 109, 124, 127};
    assert_memory_equal(p, want, sizeof want);
    assert_true(str_is(arg(ix, 3), "rows"));
    stream_free(&st);

    /* one chunk: that column over its row group only */
    shmc_selection one = {.chunks = &a, .nchunks = 1};
    write_ok(&fx, &one, SHMC_PICKLE_OOB, &st);
    assert_int_equal(st.data->n, 2);
    assert_int_equal(st.out.nbuffers, 1);
    assert_memory_equal(fx.buf + st.out.buffers[0].offset, &g_f64[8], 16);
    check_index_range(&st, 124, 130);
    stream_free(&st);
    close_fixture(&fx);
}

static void test_write_empty_selections(void **state)
{
    (void)state;
    fixture fx;
    open_fixture(&fx, make_frame(0, NULL), SHMC_CODEC_NONE, 0);
    uint32_t none = 0;
    /* no columns */
    shmc_selection nocols = {.columns = &none, .ncolumns = 0};
    stream st;
    write_ok(&fx, &nocols, 0, &st);
    assert_int_equal(st.data->n, 0);
    check_index_range(&st, 100, 130);
    val *cols = arg(st.root, 2);
    assert_string_equal(call_name(cols), "pandas Index");
    assert_int_equal(arg(cols, 0)->n, 0);
    stream_free(&st);
    /* no rows: every column, zero-length arrays, even out-of-band */
    shmc_selection norows = {.row_start = 4, .row_stop = 4};
    write_ok(&fx, &norows, SHMC_PICKLE_OOB, &st);
    assert_int_equal(st.out.nbuffers, 0);
    check_all_inband(&st, 4, 4, 0);
    check_index_range(&st, 112, 112);
    stream_free(&st);
    /* no chunks */
    shmc_selection nochunks = {.chunks = &none, .nchunks = 0};
    write_ok(&fx, &nochunks, 0, &st);
    assert_int_equal(st.data->n, 0);
    check_index_range(&st, 100, 100);
    stream_free(&st);
    close_fixture(&fx);
    /* no rows of an object column: blob[0:0] of its first row group keeps its dtype */
    open_fixture(&fx, make_frame(1, NULL), SHMC_CODEC_NONE, 0);
    write_ok(&fx, &norows, SHMC_PICKLE_OBJECTS, &st);
    val *o = arg(dict_get(st.data, "obj"), 0);
    assert_string_equal(call_name(o), "operator getitem");
    assert_memory_equal(arg(arg(o, 0), 0)->p, g_blob0, sizeof g_blob0 - 1);
    assert_int_equal(arg(arg(o, 1), 0)->i, 0);
    assert_int_equal(arg(arg(o, 1), 1)->i, 0);
    stream_free(&st);
    close_fixture(&fx);
}

static void test_write_index_columns(void **state)
{
    (void)state;
    fill_data();
    for (int nidx = 1; nidx <= 2; nidx++) {
        shmc_frame *f = NULL;
        assert_int_equal(shmc_frame_create(&f), SHMC_OK);
        shmc_frame_set_nrows(f, NROWS);
        add(f, (shmc_column_desc){.kind = SHMC_KIND_FLOAT64, .label = slab("x"), .values = g_f64});
        add(f, (shmc_column_desc){.kind = SHMC_KIND_INT64,
                                  .flags = SHMC_COL_INDEX,
                                  .label = slab("k"),
                                  .values = g_i64});
        if (nidx == 2)
            add(f, (shmc_column_desc){.kind = SHMC_KIND_STRING,
                                      .flags = SHMC_COL_INDEX,
                                      .offsets = g_soff,
                                      .data = (const uint8_t *)g_sdata,
                                      .validity = g_svalid});
        shmc_label cn = slab("cols");
        shmc_frame_set_columns_name(f, &cn);
        fixture fx;
        open_fixture(&fx, f, SHMC_CODEC_NONE, 0);
        shmc_selection sel = {.row_start = 1, .row_stop = 7};
        stream st;
        write_ok(&fx, &sel, 0, &st);
        assert_int_equal(st.data->n, 2);
        val *ix = arg(st.root, 1);
        if (nidx == 1) {
            assert_string_equal(call_name(ix), "pandas Index");
            check_fixed_inband(arg(ix, 0), "<i8", g_i64, 8, 1, 7);
            assert_true(str_is(arg(ix, 3), "k"));
        } else {
            assert_string_equal(call_name(ix), "pandas MultiIndex.from_arrays");
            val *arrays = arg(ix, 0), *names = arg(ix, 2);
            assert_int_equal(arrays->n, 2);
            check_fixed_inband(arrays->items[0], "<i8", g_i64, 8, 1, 7);
            check_string_list(arg(arrays->items[1], 0), 1, 7);
            assert_true(str_is(names->items[0], "k"));
            assert_int_equal(names->items[1]->k, V_NONE);
        }
        val *cols = arg(st.root, 2);
        assert_string_equal(call_name(cols), "pandas Index");
        assert_true(str_is(arg(cols, 3), "cols"));
        /* an index column cannot be selected as data */
        uint32_t k = 1;
        shmc_selection bad = {.columns = &k, .ncolumns = 1};
        shmc_pickle_out out;
        shmc_column_info ci;
        assert_int_equal(shmc_segment_column_info(fx.seg, 1, &ci), SHMC_OK);
        if (ci.flags & SHMC_COL_INDEX)
            assert_int_equal(shmc_pickle_write(fx.seg, &bad, 0, &out), SHMC_ERR_INVALID_ARG);
        stream_free(&st);
        close_fixture(&fx);
    }
}

static void expect_error(fixture *fx, const shmc_selection *sel, uint32_t flags, int status,
                         const char *needle)
{
    shmc_pickle_out out;
    memset(&out, 0xab, sizeof out);
    assert_int_equal(shmc_pickle_write(fx->seg, sel, flags, &out), status);
    assert_null(out.bytes); /* zeroed on failure: nothing to free */
    assert_int_equal(out.nbuffers, 0);
    const char *msg = shmc_segment_errmsg(fx->seg);
    if (!strstr(msg, needle)) fail_msg("error '%s' lacks '%s'", msg, needle);
    shmc_pickle_out_free(&out);
}

static void test_write_errors(void **state)
{
    (void)state;
    fixture fx;
    open_fixture(&fx, make_frame(1, NULL), SHMC_CODEC_NONE, 0);
    uint32_t col = 99;
    shmc_selection s1 = {.columns = &col, .ncolumns = 1};
    expect_error(&fx, &s1, 0, SHMC_ERR_RANGE, "column 99");
    shmc_selection s2 = {.row_start = 3, .row_stop = 11};
    expect_error(&fx, &s2, 0, SHMC_ERR_RANGE, "rows [3, 11)");
    shmc_selection s3 = {.row_start = 7, .row_stop = 6};
    expect_error(&fx, &s3, 0, SHMC_ERR_RANGE, "rows");
    uint32_t chunk = 100000;
    shmc_selection s4 = {.chunks = &chunk, .nchunks = 1};
    expect_error(&fx, &s4, 0, SHMC_ERR_RANGE, "chunk 100000");
    expect_error(&fx, NULL, 0x80, SHMC_ERR_INVALID_ARG, "flags");
    /* object chunks run code when loaded: refused without the flag */
    expect_error(&fx, NULL, 0, SHMC_ERR_PERMISSION, "SHMC_PICKLE_OBJECTS");
    shmc_selection dict = {.columns = &fx.ids[C_DICT], .ncolumns = 1};
    expect_error(&fx, &dict, 0, SHMC_ERR_INVALID_ARG, "dictionary");
    assert_int_equal(shmc_pickle_write(fx.seg, NULL, 0, NULL), SHMC_ERR_INVALID_ARG);
    assert_int_equal(shmc_pickle_write(NULL, NULL, 0, NULL), SHMC_ERR_INVALID_ARG);
    shmc_pickle_out_free(NULL);
    /* and the handle still works afterwards */
    stream st;
    write_ok(&fx, NULL, SHMC_PICKLE_OBJECTS, &st);
    stream_free(&st);
    close_fixture(&fx);
}

/* Index freq, duplicate labels and df.attrs (pickle_write_meta.c). */
static const char plain_attrs[] = "\x80\x04}\x8c\x01kK\x01s.";             /* {"k": 1} */
static const char code_attrs[] = "\x80\x04}\x8c\x01kcbuiltins\nprint\ns."; /* {"k": print} */

static shmc_frame *meta_frame(const char *freq, const char *meta, size_t meta_len)
{
    fill_data();
    shmc_frame *f = NULL;
    assert_int_equal(shmc_frame_create(&f), SHMC_OK);
    shmc_frame_set_nrows(f, NROWS);
    add(f, (shmc_column_desc){.kind = SHMC_KIND_FLOAT64, .label = slab("x"), .values = g_f64});
    add(f, (shmc_column_desc){.kind = SHMC_KIND_INT64, .label = slab("x"), .values = g_i64});
    add(f, (shmc_column_desc){.kind = SHMC_KIND_DATETIME,
                              .unit = SHMC_UNIT_NS,
                              .flags = SHMC_COL_INDEX,
                              .label = slab("t"),
                              .values = g_i64});
    assert_int_equal(shmc_frame_set_index_freq(f, freq), SHMC_OK);
    assert_int_equal(shmc_frame_set_meta(f, meta, meta_len), SHMC_OK);
    return f;
}

static void test_write_meta(void **state)
{
    (void)state;
    fixture fx;
    open_fixture(&fx, meta_frame("-2W-MON", plain_attrs, sizeof plain_attrs - 1), SHMC_CODEC_NONE,
                 0);
    const char *freq = NULL;
    assert_int_equal(shmc_segment_index_freq(fx.seg, &freq), SHMC_OK);
    assert_string_equal(freq, "-2W-MON");
    stream st;
    write_ok(&fx, NULL, 0, &st);
    /* two columns labelled "x": a dict keyed 0, 1, then set_axis(labels, axis=1) */
    assert_non_null(st.set_axis);
    val *partial = st.set_axis->items[0];
    assert_string_equal(call_name(partial), "functools partial");
    assert_string_equal(partial->state->items[0]->name, "pandas DataFrame.set_axis");
    assert_int_equal(dict_get(partial->state->items[2], "axis")->i, 1);
    assert_int_equal(st.data->n, 4);
    assert_int_equal(st.data->items[0]->i, 0);
    assert_int_equal(st.data->items[2]->i, 1);
    val *labels = arg(st.set_axis, 1);
    assert_int_equal(labels->n, 2);
    assert_true(str_is(labels->items[0], "x") && str_is(labels->items[1], "x"));
    /* the index: DatetimeIndex.__new__(DatetimeIndex, (Index(...),), {"freq": "-2W-MON"}) */
    val *ix = arg(st.root, 1);
    assert_string_equal(call_name(ix), "pandas DatetimeIndex");
    assert_string_equal(call_name(arg(ix, 0)), "pandas Index");
    assert_true(str_is(dict_get(ix->items[2], "freq"), "-2W-MON"));
    /* attrs: BUILD {"_typ": "dataframe", "_attrs": {"k": 1}} on the result */
    assert_non_null(st.attrs);
    assert_true(str_is(dict_get(st.attrs, "_typ"), "dataframe"));
    assert_int_equal(dict_get(dict_get(st.attrs, "_attrs"), "k")->i, 1);
    stream_free(&st);
    /* rows of two runs follow no frequency: a plain Index */
    uint32_t chunks[] = {0, 2};
    shmc_selection two = {.chunks = chunks, .nchunks = 2};
    write_ok(&fx, &two, 0, &st);
    assert_string_equal(call_name(arg(st.root, 1)), "pandas Index");
    stream_free(&st);
    close_fixture(&fx);
    /* attrs that would run code: refused without SHMC_PICKLE_OBJECTS, pickle.loads with it */
    open_fixture(&fx, meta_frame(NULL, code_attrs, sizeof code_attrs - 1), SHMC_CODEC_NONE, 0);
    assert_int_equal(shmc_segment_index_freq(fx.seg, &freq), SHMC_OK);
    assert_string_equal(freq, "");
    expect_error(&fx, NULL, 0, SHMC_ERR_PERMISSION, "df.attrs");
    write_ok(&fx, NULL, SHMC_PICKLE_OBJECTS, &st);
    assert_string_equal(call_name(dict_get(st.attrs, "_attrs")), "pickle loads");
    stream_free(&st);
    close_fixture(&fx);
    /* freq strings pandas would not parse, or that are not text, never get in */
    shmc_frame *f = NULL;
    assert_int_equal(shmc_frame_create(&f), SHMC_OK);
    static const char *const bad[] = {"D;x", "<DateOffset: days=1>", "dateutil/../x",
                                      "123456789012345678901234567890123", "D\n"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
        assert_int_equal(shmc_frame_set_index_freq(f, bad[i]), SHMC_ERR_INVALID_ARG);
    shmc_frame_free(f);
}

/* Invalid UTF-8 in the segment is an error naming column, row and byte, never a
 * stream that would fail inside Python. */
static void test_write_invalid_utf8(void **state)
{
    (void)state;
    static const char *const bad[] = {"\xff\x41\x42", "a\xc3(", "\xe0\x80\xaf"};
    for (size_t k = 0; k < 3; k++) {
        fixture fx;
        open_fixture(&fx, make_frame(0, bad[k]), SHMC_CODEC_NONE, 0);
        uint32_t sc = fx.ids[C_STR];
        shmc_selection sel = {.columns = &sc, .ncolumns = 1};
        expect_error(&fx, &sel, 0, SHMC_ERR_CORRUPT, "row 5");
        shmc_selection ok = {.columns = &sc, .ncolumns = 1, .row_start = 0, .row_stop = 5};
        stream st;
        write_ok(&fx, &ok, 0, &st); /* rows before it are fine */
        stream_free(&st);
        close_fixture(&fx);
    }
}

/* A corrupted raw chunk is caught by its checksum; with verification off, a
 * bad categorical code is still caught before it reaches pandas. */
static void test_write_corrupt_chunks(void **state)
{
    (void)state;
    fixture fx;
    open_fixture(&fx, make_frame(0, NULL), SHMC_CODEC_NONE, 0);
    uint32_t id;
    shmc_chunk_info ci;
    assert_int_equal(shmc_segment_chunk_find(fx.seg, fx.ids[C_CAT], 1, SHMC_ROLE_VALUES, &id),
                     SHMC_OK);
    assert_int_equal(shmc_segment_chunk_info(fx.seg, id, &ci), SHMC_OK);
    fx.buf[ci.offset + 1] = 77; /* code 77 of 3 categories, row 5 */
    uint32_t c = fx.ids[C_CAT];
    shmc_selection sel = {.columns = &c, .ncolumns = 1};
    shmc_pickle_out out;
    assert_int_equal(shmc_pickle_write(fx.seg, &sel, 0, &out), SHMC_ERR_CHUNK_CHECKSUM);
    assert_int_equal(shmc_pickle_write(fx.seg, &sel, SHMC_PICKLE_OOB, &out),
                     SHMC_ERR_CHUNK_CHECKSUM);
    close_fixture(&fx);

    for (int oob = 0; oob <= 1; oob++) {
        open_fixture(&fx, make_frame(0, NULL), SHMC_CODEC_NONE, SHMC_OPEN_NO_VERIFY);
        fx.buf[ci.offset + 1] = 77;
        expect_error(&fx, &sel, oob ? SHMC_PICKLE_OOB : 0, SHMC_ERR_CORRUPT, "row 5");
        close_fixture(&fx);
    }
}

/* Bools that are not 0/1 (a mask says "nonzero = missing") are normalised:
 * in-band while copying; out-of-band by falling back to in-band. */
static void test_write_mask_normalised(void **state)
{
    (void)state;
    for (int oob = 0; oob <= 1; oob++) {
        fixture fx;
        open_fixture(&fx, make_frame(0, NULL), SHMC_CODEC_NONE, SHMC_OPEN_NO_VERIFY);
        uint32_t id;
        shmc_chunk_info ci;
        assert_int_equal(shmc_segment_chunk_find(fx.seg, fx.ids[C_NINT], 0, SHMC_ROLE_MASK, &id),
                         SHMC_OK);
        assert_int_equal(shmc_segment_chunk_info(fx.seg, id, &ci), SHMC_OK);
        fx.buf[ci.offset + 1] = 0x40; /* row 1 was 1 */
        uint32_t c = fx.ids[C_NINT];
        shmc_selection sel = {.columns = &c, .ncolumns = 1};
        stream st;
        write_ok(&fx, &sel, oob ? SHMC_PICKLE_OOB : 0, &st);
        val *n = dict_get(st.data, "nint");
        check_fixed_inband(arg(n, 1), "?", g_nmask, 1, 0, NROWS);
        if (oob) assert_true(st.out.nbuffers > 0); /* values still zero-copy */
        stream_free(&st);
        close_fixture(&fx);
    }
}

/* Compressed bool values and masks holding 2 (stored so by a foreign writer):
 * out-of-band, such a chunk used to go to the reader as a decoded buffer nobody
 * checked; now it is copied in-band and normalised like a raw one. */
static void test_write_compressed_bools_normalised(void **state)
{
    (void)state;
    enum { n = 4096 };
    static uint8_t b[n], mask[n], want_b[n], want_m[n];
    static int8_t v[n];
    for (int i = 0; i < n; i++) {
        b[i] = (uint8_t)(i % 7 == 0 ? 2 : i % 2);
        mask[i] = (uint8_t)(i % 5 == 0 ? 2 : 0);
        want_b[i] = b[i] != 0;
        want_m[i] = mask[i] != 0;
        v[i] = (int8_t)(i % 100);
    }
    shmc_frame *f = NULL;
    assert_int_equal(shmc_frame_create(&f), SHMC_OK);
    shmc_frame_set_nrows(f, n);
    add(f, (shmc_column_desc){.kind = SHMC_KIND_BOOL, .label = slab("b"), .values = b});
    add(f, (shmc_column_desc){.kind = SHMC_KIND_INT8,
                              .label = slab("m"),
                              .dtype = "Int8",
                              .values = v,
                              .mask = mask});
    fixture fx;
    open_fixture_rpc(&fx, f, SHMC_CODEC_ZSTD, 0, n);
    shmc_segment_info in;
    assert_int_equal(shmc_segment_info_get(fx.seg, &in), SHMC_OK);
    for (uint32_t c = 0; c < in.nchunks; c++) {
        shmc_chunk_info ci;
        assert_int_equal(shmc_segment_chunk_info(fx.seg, c, &ci), SHMC_OK);
        assert_int_equal(ci.codec, SHMC_CODEC_ZSTD); /* else the raw path is tested */
    }
    stream st;
    write_ok(&fx, NULL, SHMC_PICKLE_OOB, &st);
    check_fixed_inband(dict_get(st.data, "b"), "?", want_b, 1, 0, n);
    check_fixed_inband(arg(dict_get(st.data, "m"), 1), "?", want_m, 1, 0, n);
    stream_free(&st);
    close_fixture(&fx);
}

/* Every byte of every chunk flipped in turn, checksums off: each write either
 * succeeds or fails with a status and a message -- never a crash (run under
 * ASan/UBSan) -- and a success is still a well-formed stream. */
static void test_write_flipped_bytes(void **state)
{
    (void)state;
    for (int codec = 0; codec <= 1; codec++) {
        fixture fx;
        open_fixture(&fx, make_frame(1, NULL), codec ? SHMC_CODEC_ZSTD : SHMC_CODEC_NONE,
                     SHMC_OPEN_NO_VERIFY);
        shmc_segment_info in;
        assert_int_equal(shmc_segment_info_get(fx.seg, &in), SHMC_OK);
        size_t ok = 0, failed = 0;
        for (uint32_t c = 0; c < in.nchunks; c++) {
            shmc_chunk_info ci;
            assert_int_equal(shmc_segment_chunk_info(fx.seg, c, &ci), SHMC_OK);
            for (uint64_t b = ci.offset; b < ci.offset + ci.stored_len; b++) {
                uint8_t keep = fx.buf[b];
                fx.buf[b] = (uint8_t)(keep ^ (b % 2 ? 0x80 : 0x41));
                for (uint32_t flags = 0; flags <= 1; flags++) {
                    shmc_pickle_out out;
                    int rc = shmc_pickle_write(fx.seg, NULL, flags | SHMC_PICKLE_OBJECTS, &out);
                    if (rc == SHMC_OK) {
                        pv u;
                        pv_load(&u, out.bytes, out.len);
                        pv_free(&u);
                        ok++;
                    } else {
                        assert_true(shmc_segment_errmsg(fx.seg)[0] != '\0');
                        assert_null(out.bytes);
                        failed++;
                    }
                    shmc_pickle_out_free(&out);
                }
                fx.buf[b] = keep;
            }
        }
        assert_true(ok > 0);     /* flipped values are just other values */
        assert_true(failed > 0); /* flipped offsets, codes, UTF-8, zstd frames are caught */
        close_fixture(&fx);
    }
}

/* Many columns and rows: SETITEMS / APPENDS batches of 1000, frames throughout. */
static void test_write_large(void **state)
{
    (void)state;
    const uint64_t n = 20000;
    const uint32_t ncols = 1200;
    int64_t *v = malloc(n * 8);
    int64_t *off = malloc((n + 1) * 8);
    char *data = malloc(n * 8);
    char(*names)[16] = malloc(ncols * sizeof *names);
    assert_true(v && off && data && names);
    off[0] = 0;
    for (uint64_t i = 0; i < n; i++) {
        v[i] = (int64_t)(i * i);
        int l = snprintf(data + off[i], 8, "r%llu", (unsigned long long)i);
        off[i + 1] = off[i] + l;
    }
    shmc_frame *f = NULL;
    assert_int_equal(shmc_frame_create(&f), SHMC_OK);
    shmc_frame_set_nrows(f, n);
    add(f, (shmc_column_desc){.kind = SHMC_KIND_STRING,
                              .label = slab("s"),
                              .dtype = "object",
                              .offsets = off,
                              .data = (const uint8_t *)data});
    for (uint32_t c = 1; c < ncols; c++) {
        snprintf(names[c], sizeof names[c], "c%u", c);
        add(f, (shmc_column_desc){.kind = SHMC_KIND_INT64, .label = slab(names[c]), .values = v});
    }
    fixture fx;
    open_fixture_rpc(&fx, f, SHMC_CODEC_NONE, 0, 1 << 20);
    stream st;
    write_ok(&fx, NULL, SHMC_PICKLE_OOB, &st);
    assert_int_equal(st.data->n, 2 * ncols);
    assert_int_equal(st.out.nbuffers, ncols - 1);
    val *s = dict_get(st.data, "s");
    assert_int_equal(arg(s, 0)->n, n);
    assert_true(str_is(arg(s, 0)->items[4321], "r4321"));
    assert_true(st.u.nframes >= 2);
    stream_free(&st);
    close_fixture(&fx);
    free(v);
    free(off);
    free(data);
    free(names);
}

/* How each string dtype is rebuilt: "object[nan]" spells missing rows NaN,
 * "object" None; "str[python]" is StringDtype("python") + BUILD {"_na_value":
 * numpy.nan}, which pandas 2.2 can load too. */
static void test_write_string_dtypes(void **state)
{
    (void)state;
    fill_data();
    shmc_frame *f = NULL;
    assert_int_equal(shmc_frame_create(&f), SHMC_OK);
    shmc_frame_set_nrows(f, NROWS);
    static const char *const dtypes[] = {"object[nan]", "object", "str[python]"};
    for (int k = 0; k < 3; k++)
        add(f, (shmc_column_desc){.kind = SHMC_KIND_STRING,
                                  .label = slab(dtypes[k]),
                                  .dtype = dtypes[k],
                                  .offsets = g_soff,
                                  .data = (const uint8_t *)g_sdata,
                                  .validity = g_svalid});
    fixture fx;
    open_fixture(&fx, f, SHMC_CODEC_ZSTD, 0);
    stream st;
    write_ok(&fx, NULL, 0, &st);
    val *nan = dict_get(st.data, "object[nan]"), *none = dict_get(st.data, "object");
    assert_string_equal(call_name(nan), "pandas Index");
    assert_string_equal(call_name(arg(nan, 1)), "numpy dtype");
    assert_true(str_is(arg(arg(nan, 1), 0), "O"));
    const val *items = arg(nan, 0);
    assert_int_equal(items->n, NROWS);
    for (int r = 0; r < NROWS; r++) {
        if (g_strs[r]) assert_true(str_is(items->items[r], g_strs[r]));
        else assert_true(items->items[r]->k == V_FLOAT && isnan(items->items[r]->f));
    }
    assert_string_equal(call_name(none), "pandas Index");
    check_string_list(arg(none, 0), 0, NROWS);
    val *py = dict_get(st.data, "str[python]");
    assert_string_equal(call_name(py), "pandas array");
    check_string_list(arg(py, 0), 0, NROWS);
    val *dt = arg(py, 1);
    assert_string_equal(call_name(dt), "pandas StringDtype");
    assert_int_equal(nargs(dt), 1);
    assert_true(str_is(arg(dt, 0), "python"));
    assert_non_null(dt->state);
    assert_int_equal(dt->state->n, 2);
    assert_true(str_is(dt->state->items[0], "_na_value"));
    assert_string_equal(dt->state->items[1]->name, "numpy nan");
    stream_free(&st);
    close_fixture(&fx);
}

/* Issue 15: a period column is PeriodArray(<i8 ordinals, PeriodDtype("period[...]")),
 * over rows cut inside row groups, raw and compressed. */
static void test_write_period(void **state)
{
    (void)state;
    for (int codec = 0; codec <= 1; codec++) {
        fill_data();
        shmc_frame *f = NULL;
        assert_int_equal(shmc_frame_create(&f), SHMC_OK);
        shmc_frame_set_nrows(f, NROWS);
        add(f, (shmc_column_desc){.kind = SHMC_KIND_PERIOD,
                                  .label = slab("p"),
                                  .dtype = "period[Q-DEC]",
                                  .values = g_i64});
        fixture fx;
        open_fixture(&fx, f, codec, 0);
        shmc_selection sel = {.row_start = 1, .row_stop = 9};
        stream st;
        write_ok(&fx, &sel, 0, &st);
        val *p = dict_get(st.data, "p");
        assert_string_equal(call_name(p), "pandas.arrays PeriodArray");
        assert_int_equal(nargs(p), 2);
        check_fixed_inband(arg(p, 0), "<i8", g_i64, 8, 1, 9);
        assert_string_equal(call_name(arg(p, 1)), "pandas PeriodDtype");
        assert_true(str_is(arg(arg(p, 1), 0), "period[Q-DEC]"));
        stream_free(&st);
        close_fixture(&fx);
    }
}

/* Issue 15: an interval column is IntervalArray.from_arrays(left, right, closed): numbers
 * as numpy arrays, a zoned datetime subtype through pandas.array(int64, DatetimeTZDtype). */
static void test_write_interval(void **state)
{
    (void)state;
    fill_data();
    shmc_frame *f = NULL;
    assert_int_equal(shmc_frame_create(&f), SHMC_OK);
    shmc_frame_set_nrows(f, NROWS);
    add(f, (shmc_column_desc){.kind = SHMC_KIND_INTERVAL,
                              .label = slab("iv"),
                              .code_kind = SHMC_KIND_FLOAT64,
                              .values = g_f64,
                              .right = g_f64,
                              .flags = SHMC_COL_CLOSED_LEFT});
    add(f, (shmc_column_desc){.kind = SHMC_KIND_INTERVAL,
                              .label = slab("it"),
                              .code_kind = SHMC_KIND_DATETIME,
                              .unit = SHMC_UNIT_NS,
                              .tz = "UTC",
                              .values = g_ts,
                              .right = g_ts});
    fixture fx;
    open_fixture(&fx, f, SHMC_CODEC_ZSTD, 0);
    shmc_selection sel = {.row_start = 2, .row_stop = 7};
    stream st;
    write_ok(&fx, &sel, 0, &st);
    val *iv = dict_get(st.data, "iv"), *it = dict_get(st.data, "it");
    assert_string_equal(call_name(iv), "pandas.arrays IntervalArray.from_arrays");
    assert_int_equal(nargs(iv), 3);
    check_fixed_inband(arg(iv, 0), "<f8", g_f64, 8, 2, 7);
    check_fixed_inband(arg(iv, 1), "<f8", g_f64, 8, 2, 7);
    assert_true(str_is(arg(iv, 2), "left"));
    assert_true(str_is(arg(it, 2), "neither"));
    assert_string_equal(call_name(arg(it, 1)), "pandas array");
    check_fixed_inband(arg(arg(it, 1), 0), "<i8", g_ts, 8, 2, 7);
    assert_string_equal(call_name(arg(arg(it, 1), 1)), "pandas DatetimeTZDtype");
    stream_free(&st);
    close_fixture(&fx);
}

/* Issue 15: a sparse column is pandas' own SparseArray state; rows cut inside row
 * groups keep the entries in them, renumbered from the selection's first row. */
static void test_write_sparse(void **state)
{
    (void)state;
    static int32_t rows[] = {1, 3, 4, 8, 9};
    static int64_t vals[] = {10, 30, 40, 80, 90}, fill = -1;
    shmc_column_desc fd = {.kind = SHMC_KIND_INT64, .values = &fill};
    for (int codec = 0; codec <= 1; codec++) {
        shmc_frame *f = NULL;
        assert_int_equal(shmc_frame_create(&f), SHMC_OK);
        shmc_frame_set_nrows(f, NROWS);
        add(f, (shmc_column_desc){.kind = SHMC_KIND_SPARSE,
                                  .label = slab("sp"),
                                  .code_kind = SHMC_KIND_INT64,
                                  .values = vals,
                                  .sparse_index = rows,
                                  .nsparse = 5,
                                  .categories = &fd,
                                  .ncategories = 1});
        fixture fx;
        open_fixture(&fx, f, codec, 0);
        shmc_selection sel = {.row_start = 3, .row_stop = 9}; /* rows 3..8: entries 3, 4, 8 */
        stream st;
        write_ok(&fx, &sel, 0, &st);
        val *sp = dict_get(st.data, "sp");
        assert_string_equal(call_name(sp), "pandas.arrays SparseArray");
        assert_int_equal(nargs(sp), 0);
        assert_non_null(sp->state);
        check_fixed_inband(dict_get(sp->state, "_sparse_values"), "<i8", vals, 8, 1, 4);
        val *ix = dict_get(sp->state, "_sparse_index");
        assert_string_equal(call_name(ix), "pandas._libs.sparse IntIndex");
        assert_int_equal(arg(ix, 0)->k, V_INT);
        assert_int_equal(arg(ix, 0)->i, 6);
        static const int32_t want[] = {0, 1, 5}; /* rows 3, 4, 8 from row 3 */
        check_fixed_inband(arg(ix, 1), "<i4", want, 4, 0, 3);
        val *dt = dict_get(sp->state, "_dtype");
        assert_string_equal(call_name(dt), "pandas SparseDtype");
        assert_string_equal(call_name(arg(dt, 0)), "numpy dtype");
        assert_int_equal(arg(dt, 1)->k, V_INT);
        assert_int_equal(arg(dt, 1)->i, -1);
        stream_free(&st);
        close_fixture(&fx);
    }
}

/* ------------------------------------------------------------------------ */
/* Arrow columns (SHMC_KIND_ARROW)                                           */
/* ------------------------------------------------------------------------ */
/* pandas.arrays.ArrowExtensionArray(pyarrow.chunked_array([pieces], TYPE)), a piece
 * pyarrow.Array.from_buffers(TYPE, n, [validity|None, ...], -1, offset) per row group:
 * each test reads the values back out of the pieces' buffers, row by row. */
#define AN   21
#define ARPC 8 /* row groups of 8, 8, 5 */

enum { AC_INT, AC_BOOL, AC_STR, AC_LSTR, AC_DICT, AC_DEC, AC_TS, AC_COUNT };
static const char *const a_names[AC_COUNT] = {"i", "b", "s", "ls", "d", "dec", "ts"};

static struct {
    int64_t ints[AN], ts[AN];
    uint8_t valid[3], bvalid[3], bits[3];
    int32_t soff[AN + 1];
    int64_t loff[AN + 1];
    char sdata[4 * AN], ldata[5 * AN];
    int8_t codes[AN];
    int64_t doff[4];
    uint8_t dec[16 * AN];
} A;

static int a_row_valid(int c, uint64_t r)
{
    if (c == AC_INT || c == AC_STR || c == AC_DICT || c == AC_TS) return r % 3 != 1;
    if (c == AC_BOOL) return r != 17 && r != 19; /* only row group 2 has nulls */
    return 1;
}

static void a_set(uint8_t *v, uint64_t i, int on)
{
    if (on) v[i >> 3] |= (uint8_t)(1u << (i & 7));
}

static void a_fill(void)
{
    memset(&A, 0, sizeof A);
    int32_t sp = 0;
    int64_t lp = 0;
    for (int r = 0; r < AN; r++) {
        A.ints[r] = 1000 + r;
        A.ts[r] = (int64_t)r * 1000003;
        a_set(A.valid, (uint64_t)r, a_row_valid(AC_INT, (uint64_t)r));
        a_set(A.bvalid, (uint64_t)r, a_row_valid(AC_BOOL, (uint64_t)r));
        a_set(A.bits, (uint64_t)r, r % 2);
        A.soff[r] = sp;
        A.loff[r] = lp;
        for (int k = 0; k < r % 4; k++) A.sdata[sp++] = (char)('a' + r % 26);
        for (int k = 0; k < r % 5; k++) A.ldata[lp++] = (char)('A' + r % 26);
        A.codes[r] = (int8_t)(r % 3);
    }
    A.soff[AN] = sp;
    A.loff[AN] = lp;
    memcpy(A.doff, (int64_t[]){0, 1, 3, 6}, sizeof A.doff);
    hc_fill(A.dec, sizeof A.dec, 3);
    for (int r = 0; r < AN; r++) /* within 38 digits (|v| < 2^112), odd rows negative */
        memset(A.dec + 16 * r + 14, r % 2 ? 0xff : 0, 2);
}

static void a_add(shmc_frame *f, shmc_column_desc d, int c, const char *fmt)
{
    d.kind = SHMC_KIND_ARROW;
    d.label = slab(a_names[c]);
    d.arrow = fmt;
    assert_int_equal(shmc_frame_add_column(f, &d), SHMC_OK);
}

static shmc_frame *a_frame(void)
{
    a_fill();
    shmc_frame *f;
    assert_int_equal(shmc_frame_create(&f), SHMC_OK);
    shmc_frame_set_nrows(f, AN);
    a_add(f, (shmc_column_desc){.values = A.ints, .validity = A.valid}, AC_INT, "l");
    a_add(f, (shmc_column_desc){.values = A.bits, .validity = A.bvalid}, AC_BOOL, "b");
    a_add(f,
          (shmc_column_desc){.offsets = (const int64_t *)A.soff,
                             .data = (const uint8_t *)A.sdata,
                             .validity = A.valid},
          AC_STR, "u");
    a_add(f, (shmc_column_desc){.offsets = A.loff, .data = (const uint8_t *)A.ldata}, AC_LSTR, "U");
    static shmc_column_desc dict = {.kind = SHMC_KIND_ARROW, .arrow = "U"};
    dict.offsets = A.doff;
    dict.data = (const uint8_t *)"xyyzzz";
    a_add(f,
          (shmc_column_desc){.values = A.codes,
                             .validity = A.valid,
                             .categories = &dict,
                             .ncategories = 3,
                             .flags = SHMC_COL_ORDERED},
          AC_DICT, "c");
    a_add(f, (shmc_column_desc){.values = A.dec}, AC_DEC, "d:38,10");
    a_add(f, (shmc_column_desc){.values = A.ts, .validity = A.valid}, AC_TS, "tsu:UTC");
    return f;
}

typedef struct abuf {
    const uint8_t *p;
    size_t len;
    int oob;
} abuf;

/* The bytes of pyarrow.py_buffer(x): in the stream, or the segment range it names. */
static abuf a_buf(const stream *st, const fixture *fx, const val *v)
{
    assert_string_equal(call_name(v), "pyarrow py_buffer");
    const val *b = arg(v, 0);
    if (b->k == V_BYTEARRAY) return (abuf){b->p, b->len, 0};
    assert_int_equal(b->k, V_OOB);
    assert_true(b->readonly);
    const shmc_oob_buffer *o = &st->out.buffers[b->i];
    assert_int_equal(o->kind, SHMC_OOB_SEGMENT);
    assert_true(o->offset + o->len <= fx->len);
    return (abuf){fx->buf + o->offset, (size_t)o->len, 1};
}

static int a_bit(abuf b, uint64_t i)
{
    assert_true(i / 8 < b.len);
    return (b.p[i >> 3] >> (i & 7)) & 1;
}

static void a_check_str(abuf offs, abuf data, unsigned width, uint64_t i, const char *want,
                        size_t n)
{
    assert_true((i + 2) * width <= offs.len);
    uint64_t o0 = le(offs.p + i * width, width), o1 = le(offs.p + (i + 1) * width, width);
    assert_true(o0 <= o1 && o1 <= data.len);
    assert_int_equal(o1 - o0, n);
    assert_memory_equal(data.p + o0, want, n);
}

/* Row `row` of the frame against slot i of a piece's buffers (bufs: validity, ...). */
static void a_check_row(const stream *st, const fixture *fx, int c, const val *bufs, uint64_t i,
                        uint64_t row)
{
    const val *vb = bufs->items[0];
    int valid = vb->k == V_NONE ? 1 : a_bit(a_buf(st, fx, vb), i);
    assert_int_equal(valid, a_row_valid(c, row));
    if (!valid) return;
    abuf b1 = a_buf(st, fx, bufs->items[1]);
    char want[8];
    switch (c) {
    case AC_INT: assert_int_equal(le(b1.p + 8 * i, 8), A.ints[row]); break;
    case AC_TS: assert_int_equal(le(b1.p + 8 * i, 8), A.ts[row]); break;
    case AC_BOOL: assert_int_equal(a_bit(b1, i), row % 2); break;
    case AC_DEC: assert_memory_equal(b1.p + 16 * i, A.dec + 16 * row, 16); break;
    case AC_DICT: assert_int_equal((int8_t)b1.p[i], A.codes[row]); break;
    case AC_STR:
        memset(want, (char)('a' + row % 26), sizeof want);
        a_check_str(b1, a_buf(st, fx, bufs->items[2]), 4, i, want, row % 4);
        break;
    default:
        memset(want, (char)('A' + row % 26), sizeof want);
        a_check_str(b1, a_buf(st, fx, bufs->items[2]), 8, i, want, row % 5);
    }
}

static const char *const a_alias[AC_COUNT] = {"int64", "bool", "string", "large_string", "int8"};

/* TYPE of column c: type_for_alias(name), decimal128(38, 10), timestamp("us", "UTC"). */
static void a_check_piece_type(int c, const val *t)
{
    if (c == AC_DEC) {
        assert_string_equal(call_name(t), "pyarrow decimal128");
        assert_int_equal(arg(t, 0)->i, 38);
        assert_int_equal(arg(t, 1)->i, 10);
    } else if (c == AC_TS) {
        assert_string_equal(call_name(t), "pyarrow timestamp");
        assert_true(str_is(arg(t, 0), "us") && str_is(arg(t, 1), "UTC"));
    } else {
        assert_string_equal(call_name(t), "pyarrow type_for_alias");
        assert_true(str_is(arg(t, 0), a_alias[c]));
    }
}

/* The dictionary: concat_arrays([from_buffers(large_string, 3, [None, offs, data])]). */
static void a_check_dictionary(const stream *st, const fixture *fx, const val *d)
{
    assert_string_equal(call_name(d), "pyarrow concat_arrays");
    const val *list = arg(d, 0);
    assert_int_equal(list->n, 1);
    const val *p = list->items[0];
    assert_string_equal(call_name(p), "pyarrow Array.from_buffers");
    assert_true(str_is(arg(arg(p, 0), 0), "large_string"));
    assert_int_equal(arg(p, 1)->i, 3);
    const val *bufs = arg(p, 2);
    assert_int_equal(bufs->items[0]->k, V_NONE);
    abuf o = a_buf(st, fx, bufs->items[1]), dd = a_buf(st, fx, bufs->items[2]);
    a_check_str(o, dd, 8, 0, "x", 1);
    a_check_str(o, dd, 8, 1, "yy", 2);
    a_check_str(o, dd, 8, 2, "zzz", 3);
}

/* The pieces of column c after checking its ArrowExtensionArray and TYPE. */
static const val *a_pieces(const stream *st, int c)
{
    const val *v = dict_get(st->data, a_names[c]);
    assert_string_equal(call_name(v), "pandas.arrays ArrowExtensionArray");
    const val *ca = arg(v, 0);
    assert_string_equal(call_name(ca), "pyarrow chunked_array");
    const val *type = arg(ca, 1);
    if (c == AC_DICT) {
        assert_string_equal(call_name(type), "pyarrow dictionary");
        a_check_piece_type(c, arg(type, 0));
        assert_true(str_is(arg(arg(type, 1), 0), "large_string"));
        assert_int_equal(arg(type, 2)->i, 1); /* ordered */
    } else a_check_piece_type(c, type);
    return arg(ca, 0);
}

/* Pieces from k on hold rows [a, b), one per row group touched: returns the next k. */
static size_t a_check_run(const stream *st, const fixture *fx, int c, const val *pieces, size_t k,
                          uint64_t a, uint64_t b)
{
    uint64_t row = a;
    for (; row < b; k++) {
        assert_true(k < pieces->n);
        const val *p = pieces->items[k];
        if (c == AC_DICT) {
            assert_string_equal(call_name(p), "pyarrow DictionaryArray.from_arrays");
            a_check_dictionary(st, fx, arg(p, 1));
            assert_int_equal(arg(p, 2)->k, V_NONE);
            assert_int_equal(arg(p, 3)->i, 1);
            p = arg(p, 0);
        }
        assert_string_equal(call_name(p), "pyarrow Array.from_buffers");
        assert_int_equal(nargs(p), 5);
        a_check_piece_type(c, arg(p, 0));
        int64_t n = arg(p, 1)->i, off = arg(p, 4)->i;
        assert_int_equal(arg(p, 3)->i, -1);
        assert_true(off >= 0 && off < 8 && n > 0);
        assert_int_equal((row - (uint64_t)off) % ARPC % 8, 0); /* buffers start on a byte */
        assert_true(row + (uint64_t)n <= b && (row + (uint64_t)n - 1) / ARPC == row / ARPC);
        for (int64_t i = 0; i < n; i++)
            a_check_row(st, fx, c, arg(p, 2), (uint64_t)(off + i), row + (uint64_t)i);
        row += (uint64_t)n;
    }
    assert_int_equal(row, b);
    return k;
}

/* Column c over rows [a, b): the type, one piece per row group touched, every row. */
static void a_check_column(const stream *st, const fixture *fx, int c, uint64_t a, uint64_t b)
{
    const val *pieces = a_pieces(st, c);
    assert_int_equal(a_check_run(st, fx, c, pieces, 0, a, b), pieces->n);
    size_t want = a == b ? 0 : (size_t)((b - 1) / ARPC - a / ARPC + 1);
    assert_int_equal(pieces->n, want);
}

static void a_check_all(const stream *st, const fixture *fx, uint64_t a, uint64_t b)
{
    for (int c = 0; c < AC_COUNT; c++) a_check_column(st, fx, c, a, b);
}

/* Chunks of the segment stored compressed. */
static uint32_t a_compressed(const fixture *fx)
{
    shmc_segment_info in;
    shmc_segment_info_get(fx->seg, &in);
    uint32_t n = 0;
    for (uint32_t i = 0; i < in.nchunks; i++) {
        shmc_chunk_info k;
        shmc_segment_chunk_info(fx->seg, i, &k);
        n += k.codec != SHMC_CODEC_NONE;
    }
    return n;
}

static void a_open(fixture *fx, int codec)
{
    open_fixture_rpc(fx, a_frame(), codec, 0, ARPC);
    if (codec == SHMC_CODEC_NONE) assert_int_equal(a_compressed(fx), 0);
    else assert_true(a_compressed(fx) >= 4);
}

/* Every path in band: fixed, bits, 32/64-bit offsets (rebased: a piece's data only),
 * dictionary, validity present, absent in some row groups, or never stored. */
static void test_write_arrow_inband(void **state)
{
    (void)state;
    for (int codec = SHMC_CODEC_NONE; codec <= SHMC_CODEC_ZSTD; codec += SHMC_CODEC_ZSTD) {
        fixture fx;
        a_open(&fx, codec);
        stream st;
        write_ok(&fx, NULL, 0, &st);
        a_check_all(&st, &fx, 0, AN);
        /* row group 0 of "b" stores no validity: None */
        const val *p0 = arg(arg(dict_get(st.data, "b"), 0), 0)->items[0];
        assert_int_equal(arg(p0, 2)->items[0]->k, V_NONE);
        stream_free(&st);
        close_fixture(&fx);
    }
}

/* Runs cutting row groups anywhere: from_buffers' offset is lo % 8, buffers byte-sliced;
 * the offsets of a var-width piece are rebased to its first byte of data. */
static void test_write_arrow_rows(void **state)
{
    (void)state;
    static const uint64_t cuts[][2] = {{5, 19}, {9, 10}, {13, 21}, {0, 8}, {7, 7}};
    for (int codec = SHMC_CODEC_NONE; codec <= SHMC_CODEC_ZSTD; codec += SHMC_CODEC_ZSTD) {
        fixture fx;
        a_open(&fx, codec);
        for (size_t k = 0; k < sizeof cuts / sizeof cuts[0]; k++) {
            shmc_selection sel = {.row_start = cuts[k][0], .row_stop = cuts[k][1]};
            stream st;
            write_ok(&fx, &sel, 0, &st);
            a_check_all(&st, &fx, cuts[k][0], cuts[k][1]);
            stream_free(&st);
        }
        /* rows [13, 21) of "ls": the piece of row group 1 starts at row 8 (13 & ~7) */
        shmc_selection sel = {.row_start = 13, .row_stop = 21};
        stream st;
        write_ok(&fx, &sel, 0, &st);
        const val *p = arg(arg(dict_get(st.data, "ls"), 0), 0)->items[0];
        assert_int_equal(arg(p, 4)->i, 5);
        abuf o = a_buf(&st, &fx, arg(p, 2)->items[1]), d = a_buf(&st, &fx, arg(p, 2)->items[2]);
        assert_int_equal(o.len, 8 * (16 - 8 + 1)); /* rows 8..16 of the frame */
        assert_int_equal(le(o.p, 8), 0);           /* rebased */
        assert_int_equal(d.len, (size_t)(A.loff[16] - A.loff[8]));
        stream_free(&st);
        close_fixture(&fx);
    }
}

/* A chunk selection: its columns over its row groups, here two runs (row groups 0, 2). */
static void test_write_arrow_chunks(void **state)
{
    (void)state;
    fixture fx;
    a_open(&fx, SHMC_CODEC_NONE);
    uint32_t col = UINT32_MAX, ids[2];
    shmc_segment_info in;
    shmc_segment_info_get(fx.seg, &in);
    for (uint32_t c = 0; c < in.ncolumns; c++) {
        shmc_column_info ci;
        shmc_segment_column_info(fx.seg, c, &ci);
        if (ci.label.len == 1 && ci.label.str[0] == 'd') col = c;
    }
    assert_int_equal(shmc_segment_chunk_find(fx.seg, col, 0, SHMC_ROLE_VALUES, &ids[0]), SHMC_OK);
    assert_int_equal(shmc_segment_chunk_find(fx.seg, col, 2, SHMC_ROLE_VALUES, &ids[1]), SHMC_OK);
    shmc_selection sel = {.chunks = ids, .nchunks = 2};
    stream st;
    write_ok(&fx, &sel, 0, &st);
    assert_int_equal(st.data->n, 2); /* one column */
    const val *pieces = a_pieces(&st, AC_DICT);
    size_t k = a_check_run(&st, &fx, AC_DICT, pieces, 0, 0, ARPC);
    assert_int_equal(a_check_run(&st, &fx, AC_DICT, pieces, k, 2 * ARPC, AN), pieces->n);
    assert_int_equal(pieces->n, 2);
    /* the dictionary is built once: every piece names the same memoised value */
    assert_ptr_equal(arg(pieces->items[0], 1), arg(pieces->items[1], 1));
    stream_free(&st);
    close_fixture(&fx);
}

/* Out of band: raw chunks as segment ranges (var-width: the offsets' slice over the
 * whole data chunk), compressed ones in the stream; the values read back the same. */
static void test_write_arrow_oob(void **state)
{
    (void)state;
    for (int codec = SHMC_CODEC_NONE; codec <= SHMC_CODEC_ZSTD; codec += SHMC_CODEC_ZSTD) {
        fixture fx;
        a_open(&fx, codec);
        shmc_selection sel = {.row_start = 3, .row_stop = 20};
        stream st;
        write_ok(&fx, &sel, SHMC_PICKLE_OOB, &st);
        a_check_all(&st, &fx, 3, 20);
        assert_int_equal(st.u.noob, st.out.nbuffers);
        const val *p = arg(arg(dict_get(st.data, "s"), 0), 0)->items[1]; /* row group 1 */
        abuf d = a_buf(&st, &fx, arg(p, 2)->items[2]);
        if (codec == SHMC_CODEC_NONE) {
            assert_true(st.out.nbuffers > 0);
            assert_true(d.oob);
            assert_int_equal(d.len, (size_t)(A.soff[16] - A.soff[8])); /* the whole chunk */
            assert_true(a_buf(&st, &fx, arg(p, 2)->items[1]).oob);
        } else { /* compressed chunks: their decoded bytes go in the stream */
            const val *ip = arg(arg(dict_get(st.data, "i"), 0), 0)->items[1];
            assert_false(a_buf(&st, &fx, arg(ip, 2)->items[1]).oob); /* "i" compresses */
            for (size_t i = 0; i < st.out.nbuffers; i++)
                assert_int_equal(st.out.buffers[i].kind, SHMC_OOB_SEGMENT);
        }
        stream_free(&st);
        close_fixture(&fx);
    }
}

/* No rows: an empty list of pieces, the type all the same (the dtype survives). */
static void test_write_arrow_empty(void **state)
{
    (void)state;
    fixture fx;
    a_open(&fx, SHMC_CODEC_NONE);
    shmc_selection sel = {.row_start = 4, .row_stop = 4};
    stream st;
    write_ok(&fx, &sel, 0, &st);
    a_check_all(&st, &fx, 4, 4);
    stream_free(&st);
    close_fixture(&fx);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_emit_ints),
        cmocka_unit_test(test_emit_scalars),
        cmocka_unit_test(test_emit_str_forms),
        cmocka_unit_test(test_emit_framing),
        cmocka_unit_test(test_emit_memo),
        cmocka_unit_test(test_emit_limit_sticky),
        cmocka_unit_test(test_utf8_check),
        cmocka_unit_test(test_write_all_inband),
        cmocka_unit_test(test_write_rows_inside_rowgroups),
        cmocka_unit_test(test_write_oob_raw),
        cmocka_unit_test(test_write_oob_compressed),
        cmocka_unit_test(test_write_chunk_selection),
        cmocka_unit_test(test_write_empty_selections),
        cmocka_unit_test(test_write_index_columns),
        cmocka_unit_test(test_write_errors),
        cmocka_unit_test(test_write_invalid_utf8),
        cmocka_unit_test(test_write_corrupt_chunks),
        cmocka_unit_test(test_write_mask_normalised),
        cmocka_unit_test(test_write_compressed_bools_normalised),
        cmocka_unit_test(test_write_flipped_bytes),
        cmocka_unit_test(test_write_large),
        cmocka_unit_test(test_write_string_dtypes),
        cmocka_unit_test(test_write_period),
        cmocka_unit_test(test_write_interval),
        cmocka_unit_test(test_write_sparse),
        cmocka_unit_test(test_write_meta),
        cmocka_unit_test(test_write_arrow_inband),
        cmocka_unit_test(test_write_arrow_rows),
        cmocka_unit_test(test_write_arrow_chunks),
        cmocka_unit_test(test_write_arrow_oob),
        cmocka_unit_test(test_write_arrow_empty),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
