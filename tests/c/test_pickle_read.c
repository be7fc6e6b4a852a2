/* The restricted pickle parser: every opcode family, every limit, refusals,
 * truncated and garbled streams (no crash), and lists of str/None. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "frame.h"
#include "pickle_read.h"
#include "shmchunk.h"

typedef struct parsed {
    int status;
    shmc_pk_doc *doc;
    shmc_pk_value *root;
    shmc_err err;
} parsed;

static parsed *parse_lim(const void *buf, size_t len, const shmc_pickle_limits *lim)
{
    static parsed p;
    memset(&p, 0, sizeof p);
    shmc_pk_input in = {buf, len, NULL, NULL, 0};
    p.status = shmc_pk_parse(&in, lim, &p.doc, &p.root, &p.err);
    return &p;
}

#define PARSE(lit) parse_lim(lit, sizeof(lit) - 1, NULL)

static void done(parsed *p) { shmc_pk_doc_free(p->doc); }

static void expect_error(parsed *p, int status, const char *needle)
{
    assert_int_equal(p->status, status);
    assert_null(p->root);
    assert_null(p->doc);
    if (!strstr(p->err.msg, needle)) fail_msg("'%s' not in '%s'", needle, p->err.msg);
}

/* ---- opcode families ------------------------------------------------------ */
static void test_ints(void **s)
{
    (void)s;
    /* (BININT1 200, BININT2 40000, BININT -5, LONG1 -2 (1 byte), LONG1 2^63 (9 bytes), LONG4 2^40) */
    static const char pk[] = "\x80\x04(K\xc8M\x40\x9cJ\xfb\xff\xff\xff\x8a\x01\xfe"
                             "\x8a\x09\x00\x00\x00\x00\x00\x00\x00\x80\x00"
                             "\x8b\x06\x00\x00\x00"
                             "\x00\x00\x00\x00\x00\x01t.";
    parsed *p = PARSE(pk);
    assert_int_equal(p->status, SHMC_OK);
    assert_int_equal(p->root->type, SHMC_PK_TUPLE);
    assert_int_equal(shmc_pk_len(p->root), 6);
    assert_int_equal(shmc_pk_item(p->root, 0)->v.i, 200);
    assert_int_equal(shmc_pk_item(p->root, 1)->v.i, 40000);
    assert_int_equal(shmc_pk_item(p->root, 2)->v.i, -5);
    assert_int_equal(shmc_pk_item(p->root, 3)->v.i, -2);
    assert_true(shmc_pk_item(p->root, 4)->flags & SHMC_PK_F_UNSIGNED);
    assert_true(shmc_pk_item(p->root, 4)->v.u == (uint64_t)1 << 63);
    assert_int_equal(shmc_pk_item(p->root, 5)->v.i, (int64_t)1 << 40);
    done(p);
    static const char wide[] = "\x80\x04\x8a\x0a\x01\x02\x03\x04\x05\x06\x07\x08\x09\x0a.";
    expect_error(PARSE(wide), SHMC_ERR_UNSUPPORTED, "wider than 64 bits");
}

static void test_bools_none_float(void **s)
{
    (void)s;
    static const char pk[] = "\x80\x05\x88\x89N\x87.";
    parsed *p = PARSE(pk);
    assert_int_equal(p->status, SHMC_OK);
    assert_int_equal(shmc_pk_item(p->root, 0)->type, SHMC_PK_BOOL);
    assert_int_equal(shmc_pk_item(p->root, 0)->v.i, 1);
    assert_int_equal(shmc_pk_item(p->root, 1)->v.i, 0);
    assert_int_equal(shmc_pk_item(p->root, 2)->type, SHMC_PK_NONE);
    done(p);
    static const char f[] = "\x80\x05G\x3f\xf8\x00\x00\x00\x00\x00\x00.";
    p = PARSE(f);
    assert_int_equal(p->root->type, SHMC_PK_FLOAT);
    assert_true(p->root->v.f == 1.5);
    done(p);
}

static void test_strings_bytes(void **s)
{
    (void)s;
    static const char pk[] = "\x80\x05(\x8c\x02hiX\x03\x00\x00\x00"
                             "abc\x8d\x01\x00\x00\x00\x00\x00\x00\x00z"
                             "C\x02\x01\x02"
                             "B\x01\x00\x00\x00\x03"
                             "\x8e\x01\x00\x00\x00\x00\x00\x00\x00\x04"
                             "\x96\x02\x00\x00\x00\x00\x00\x00\x00\x05\x06t.";
    parsed *p = PARSE(pk);
    assert_int_equal(p->status, SHMC_OK);
    assert_true(shmc_pk_str_eq(shmc_pk_item(p->root, 0), "hi"));
    assert_true(shmc_pk_str_eq(shmc_pk_item(p->root, 1), "abc"));
    assert_true(shmc_pk_str_eq(shmc_pk_item(p->root, 2), "z"));
    /* no copy: the string points into the input */
    assert_ptr_equal(shmc_pk_item(p->root, 0)->v.bytes.ptr, (const uint8_t *)pk + 5);
    shmc_pk_value *b = shmc_pk_item(p->root, 3);
    assert_int_equal(b->type, SHMC_PK_BYTES);
    assert_int_equal(b->v.bytes.len, 2);
    assert_int_equal(b->v.bytes.ptr[1], 2);
    assert_int_equal(shmc_pk_item(p->root, 4)->v.bytes.ptr[0], 3);
    assert_int_equal(shmc_pk_item(p->root, 5)->v.bytes.ptr[0], 4);
    shmc_pk_value *ba = shmc_pk_item(p->root, 6);
    assert_true(ba->flags & SHMC_PK_F_BYTEARRAY);
    assert_int_equal(ba->v.bytes.ptr[1], 6);
    done(p);
    static const char big[] = "\x80\x05X\xff\xff\xff\xff"
                              "ab.";
    expect_error(PARSE(big), SHMC_ERR_PICKLE, "only");
}

static void test_containers(void **s)
{
    (void)s;
    /* ([1, 2, 3], {'a': 1, 'b': 2}, {7}, frozenset(), (), [4]) via every builder */
    static const char pk[] = "\x80\x04(]K\x01"
                             "a(K\x02K\x03"
                             "e}\x8c\x01"
                             "aK\x01s(\x8c\x01"
                             "bK\x02u"
                             "\x8f(K\x07\x90(\x91)(K\x04l"
                             "t.";
    parsed *p = PARSE(pk);
    assert_int_equal(p->status, SHMC_OK);
    assert_int_equal(shmc_pk_len(p->root), 6);
    shmc_pk_value *l = shmc_pk_item(p->root, 0), *d = shmc_pk_item(p->root, 1);
    assert_int_equal(l->type, SHMC_PK_LIST);
    assert_int_equal(shmc_pk_len(l), 3);
    assert_int_equal(shmc_pk_item(l, 2)->v.i, 3);
    assert_int_equal(d->type, SHMC_PK_DICT);
    assert_int_equal(shmc_pk_count(d), 2);
    assert_int_equal(shmc_pk_len(d), 0); /* not indexable: shmc_pk_item gives NULL */
    assert_int_equal(shmc_pk_dict_get(d, "b")->v.i, 2);
    assert_null(shmc_pk_dict_get(d, "c"));
    assert_int_equal(shmc_pk_item(p->root, 2)->type, SHMC_PK_SET);
    assert_int_equal(shmc_pk_count(shmc_pk_item(p->root, 2)), 1);
    assert_int_equal(shmc_pk_len(shmc_pk_item(p->root, 2)), 0);
    assert_int_equal(shmc_pk_item(p->root, 3)->type, SHMC_PK_FROZENSET);
    assert_int_equal(shmc_pk_item(p->root, 4)->type, SHMC_PK_TUPLE);
    assert_int_equal(shmc_pk_item(shmc_pk_item(p->root, 5), 0)->v.i, 4);
    done(p);
    /* a container from a mark on an otherwise empty stack */
    parsed *e = PARSE("\x80\x04(t.");
    assert_int_equal(e->status, SHMC_OK);
    assert_int_equal(shmc_pk_len(e->root), 0);
    done(e);
    static const char dict_mark[] = "\x80\x04(K\x01K\x02K\x03"
                                    "d.";
    expect_error(PARSE(dict_mark), SHMC_ERR_PICKLE, "odd number");
    /* APPEND to something that is not a list would call a method */
    static const char bad_append[] = "\x80\x04)K\x01"
                                     "a.";
    expect_error(PARSE(bad_append), SHMC_ERR_UNSUPPORTED, "APPEND");
}

static void test_tuples_n(void **s)
{
    (void)s;
    static const char pk[] = "\x80\x04K\x01\x85K\x01K\x02\x86K\x01K\x02K\x03\x87\x87.";
    parsed *p = PARSE(pk);
    assert_int_equal(p->status, SHMC_OK);
    assert_int_equal(shmc_pk_len(shmc_pk_item(p->root, 0)), 1);
    assert_int_equal(shmc_pk_len(shmc_pk_item(p->root, 1)), 2);
    assert_int_equal(shmc_pk_item(shmc_pk_item(p->root, 2), 2)->v.i, 3);
    done(p);
    static const char under[] = "\x80\x04K\x01\x87.";
    expect_error(PARSE(under), SHMC_ERR_PICKLE, "TUPLE3");
}

static void test_stack_ops(void **s)
{
    (void)s;
    /* K1 K2 POP -> K1; MARK K3 K4 POP_MARK; DUP -> (1, 1); MARK POP (pops the mark) */
    static const char pk[] = "\x80\x04K\x01K\x02"
                             "0(K\x03K\x04"
                             "1"
                             "2(0\x86.";
    parsed *p = PARSE(pk);
    assert_int_equal(p->status, SHMC_OK);
    assert_int_equal(shmc_pk_len(p->root), 2);
    assert_int_equal(shmc_pk_item(p->root, 0)->v.i, 1);
    assert_ptr_equal(shmc_pk_item(p->root, 0), shmc_pk_item(p->root, 1));
    done(p);
    expect_error(PARSE("\x80\x04"
                       "0."),
                 SHMC_ERR_PICKLE, "POP");
    expect_error(PARSE("\x80\x04"
                       "1."),
                 SHMC_ERR_PICKLE, "no MARK");
    expect_error(PARSE("\x80\x04K\x01K\x02."), SHMC_ERR_PICKLE, "STOP with 2 values");
    expect_error(PARSE("\x80\x04(K\x01."), SHMC_ERR_PICKLE, "marks");
    expect_error(PARSE("\x80\x04N.xx"), SHMC_ERR_PICKLE, "trailing");
}

static void test_memo(void **s)
{
    (void)s;
    /* MEMOIZE(0) BINPUT 1, LONG_BINPUT 2, PUT 3, then BINGET/LONG_BINGET/GET */
    static const char pk[] = "\x80\x04(\x8c\x01"
                             "a\x94\x8c\x01"
                             "bq\x01\x8c\x01"
                             "cr\x02\x00\x00\x00"
                             "\x8c\x01"
                             "dp3\n"
                             "h\x00j\x01\x00\x00\x00g2\ng3\nt.";
    parsed *p = PARSE(pk);
    assert_int_equal(p->status, SHMC_OK);
    assert_int_equal(shmc_pk_len(p->root), 8);
    assert_ptr_equal(shmc_pk_item(p->root, 4), shmc_pk_item(p->root, 0));
    assert_ptr_equal(shmc_pk_item(p->root, 5), shmc_pk_item(p->root, 1));
    assert_ptr_equal(shmc_pk_item(p->root, 6), shmc_pk_item(p->root, 2));
    assert_true(shmc_pk_str_eq(shmc_pk_item(p->root, 7), "d"));
    done(p);
    expect_error(PARSE("\x80\x04h\x05."), SHMC_ERR_PICKLE, "memo key 5");
    expect_error(PARSE("\x80\x04\x94."), SHMC_ERR_PICKLE, "underflow");
    expect_error(PARSE("\x80\x04Ngx\n."), SHMC_ERR_PICKLE, "memo key");
}

static void test_globals_calls(void **s)
{
    (void)s;
    /* GLOBAL m f; (STACK_GLOBAL m g)(1,) REDUCE; NEWOBJ; NEWOBJ_EX; BUILD */
    static const char pk[] = "\x80\x04(cmod\nfun\n"
                             "\x8c\x03mod\x8c\x01g\x93K\x01\x85R"
                             "\x8c\x01m\x8c\x01"
                             "C\x93)\x81}b"
                             "\x8c\x01m\x8c\x01"
                             "D\x93)}\x92t.";
    parsed *p = PARSE(pk);
    assert_int_equal(p->status, SHMC_OK);
    assert_true(shmc_pk_is_global(shmc_pk_item(p->root, 0), "mod", "fun"));
    shmc_pk_value *r = shmc_pk_item(p->root, 1);
    assert_int_equal(r->type, SHMC_PK_REDUCE);
    assert_true(shmc_pk_is_call_of(r, "mod", "g"));
    assert_int_equal(shmc_pk_item(r->v.call.args, 0)->v.i, 1);
    shmc_pk_value *n = shmc_pk_item(p->root, 2);
    assert_int_equal(n->type, SHMC_PK_NEWOBJ);
    assert_non_null(shmc_pk_state(n));
    assert_int_equal(shmc_pk_state(n)->type, SHMC_PK_DICT);
    shmc_pk_value *x = shmc_pk_item(p->root, 3);
    assert_true(shmc_pk_is_call_of(x, "m", "D"));
    assert_int_equal(x->v.call.kwargs->type, SHMC_PK_DICT);
    done(p);
    expect_error(PARSE("\x80\x04K\x01K\x02\x93."), SHMC_ERR_PICKLE, "STACK_GLOBAL needs two str");
    expect_error(PARSE("\x80\x04"
                       "cmod\nfu"),
                 SHMC_ERR_PICKLE, "not terminated");
    expect_error(PARSE("\x80\x04"
                       "cm\nC\n)\x81}b}b."),
                 SHMC_ERR_UNSUPPORTED, "second BUILD");
    expect_error(PARSE("\x80\x04)}b."), SHMC_ERR_UNSUPPORTED, "BUILD on a tuple");
}

static void test_buffers_frames(void **s)
{
    (void)s;
    static const char pk[] = "\x80\x05\x95\x04\x00\x00\x00\x00\x00\x00\x00\x97\x97\x98\x86.";
    uint8_t a[3] = {1, 2, 3}, b[1] = {9};
    const void *bufs[2] = {a, b};
    size_t lens[2] = {3, 1};
    shmc_pk_input in = {(const uint8_t *)pk, sizeof pk - 1, bufs, lens, 2};
    shmc_pk_doc *doc;
    shmc_pk_value *root;
    shmc_err err = {0};
    assert_int_equal(shmc_pk_parse(&in, NULL, &doc, &root, &err), SHMC_OK);
    shmc_pk_value *x = shmc_pk_item(root, 0), *y = shmc_pk_item(root, 1);
    assert_ptr_equal(x->v.bytes.ptr, a);
    assert_true(x->flags & SHMC_PK_F_OOB);
    assert_false(x->flags & SHMC_PK_F_READONLY);
    assert_ptr_equal(y->v.bytes.ptr, b);
    assert_true(y->flags & SHMC_PK_F_READONLY);
    shmc_pk_doc_free(doc);
    in.noob = 1;
    assert_int_equal(shmc_pk_parse(&in, NULL, &doc, &root, &err), SHMC_ERR_PICKLE);
    assert_non_null(strstr(err.msg, "NEXT_BUFFER"));
    assert_non_null(strstr(err.msg, "out-of-band buffer #1"));
    expect_error(PARSE("\x80\x05\x95\xff\x00\x00\x00\x00\x00\x00\x00N."), SHMC_ERR_PICKLE, "FRAME");
}

static void test_refusals(void **s)
{
    (void)s;
    expect_error(PARSE("\x80\x04P1\n."), SHMC_ERR_UNSUPPORTED, "pickle byte 2 (PERSID)");
    expect_error(PARSE("\x80\x04NQ."), SHMC_ERR_UNSUPPORTED, "BINPERSID");
    expect_error(PARSE("\x80\x04\x82\x01."), SHMC_ERR_UNSUPPORTED, "EXT1");
    expect_error(PARSE("\x80\x04\x83\x01\x00."), SHMC_ERR_UNSUPPORTED, "EXT2");
    expect_error(PARSE("\x80\x04(imod\ncls\n."), SHMC_ERR_UNSUPPORTED, "INST");
    expect_error(PARSE("\x80\x04(o."), SHMC_ERR_UNSUPPORTED, "OBJ");
    expect_error(PARSE("\x80\x06N."), SHMC_ERR_UNSUPPORTED, "protocol 6");
    expect_error(PARSE("\x80\x01N."), SHMC_ERR_UNSUPPORTED, "protocol 1");
    expect_error(PARSE("(lp0\n."), SHMC_ERR_UNSUPPORTED, "does not start with PROTO");
    expect_error(PARSE("\x80\x04I1\n."), SHMC_ERR_UNSUPPORTED, "text");
    expect_error(PARSE("\x80\x04\xff."), SHMC_ERR_PICKLE, "unknown opcode 0xff");
    expect_error(PARSE("\x80\x04N"), SHMC_ERR_PICKLE, "no STOP");
    expect_error(parse_lim("", 0, NULL), SHMC_ERR_UNSUPPORTED, "PROTO");
}

/* ---- limits --------------------------------------------------------------- */
static void test_limit_depth(void **s)
{
    (void)s;
    char pk[64];
    size_t n = 0;
    pk[n++] = '\x80', pk[n++] = 4;
    for (int i = 0; i < 10; i++) pk[n++] = ']';
    for (int i = 0; i < 9; i++) pk[n++] = 'a';
    pk[n++] = '.';
    shmc_pickle_limits lim = {.max_depth = 10};
    parsed *p = parse_lim(pk, n, &lim);
    assert_int_equal(p->status, SHMC_OK);
    assert_int_equal(p->root->depth, 10);
    done(p);
    lim.max_depth = 9;
    expect_error(parse_lim(pk, n, &lim), SHMC_ERR_LIMIT, "max_depth=9");
}

static void test_limit_memo(void **s)
{
    (void)s;
    static const char pk[] = "\x80\x04Nr\x10\x00\x00\x00."; /* LONG_BINPUT 16 */
    shmc_pickle_limits lim = {.max_memo = 17};
    parsed *p = parse_lim(pk, sizeof pk - 1, &lim);
    assert_int_equal(p->status, SHMC_OK);
    done(p);
    lim.max_memo = 16;
    expect_error(parse_lim(pk, sizeof pk - 1, &lim), SHMC_ERR_LIMIT, "max_memo=16");
    /* a huge memo index costs memory: refused by the default allocation budget */
    static const char huge[] = "\x80\x04Nr\xff\xff\xff\x00.";
    expect_error(PARSE(huge), SHMC_ERR_LIMIT, "max_alloc");
}

static void test_limit_items(void **s)
{
    (void)s;
    static const char pk[] = "\x80\x04](K\x01K\x02K\x03"
                             "e.";
    shmc_pickle_limits lim = {.max_items = 3};
    parsed *p = parse_lim(pk, sizeof pk - 1, &lim);
    assert_int_equal(p->status, SHMC_OK);
    done(p);
    lim.max_items = 2;
    expect_error(parse_lim(pk, sizeof pk - 1, &lim), SHMC_ERR_LIMIT, "max_items=2");
}

static void test_limit_alloc(void **s)
{
    (void)s;
    static const char pk[] = "\x80\x04](K\x01K\x02K\x03"
                             "e.";
    shmc_pickle_limits lim = {.max_alloc = 1000}; /* below one arena block */
    expect_error(parse_lim(pk, sizeof pk - 1, &lim), SHMC_ERR_LIMIT, "max_alloc=1000");
    lim.max_alloc = 1u << 20;
    parsed *p = parse_lim(pk, sizeof pk - 1, &lim);
    assert_int_equal(p->status, SHMC_OK);
    assert_true(shmc_pk_doc_allocated(p->doc) <= lim.max_alloc);
    assert_true(shmc_pk_doc_allocated(p->doc) > 0);
    done(p);
}

/* ---- hostile input -------------------------------------------------------- */
static uint8_t *load(const char *name, size_t *len)
{
    char path[512];
    snprintf(path, sizeof path, "%s/pickles/%s", SHMC_TEST_DATA, name);
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    uint8_t *b = malloc((size_t)n);
    assert_non_null(b);
    assert_int_equal(fread(b, 1, (size_t)n, f), (size_t)n);
    fclose(f);
    *len = (size_t)n;
    return b;
}

static int frame_read(const uint8_t *buf, size_t len)
{
    shmc_frame *fr;
    assert_int_equal(shmc_frame_create(&fr), SHMC_OK);
    int st = shmc_frame_from_pickle(fr, buf, len, NULL, NULL, 0, NULL);
    if (st) assert_true(strlen(shmc_frame_errmsg(fr)) > 0);
    shmc_frame_free(fr);
    return st;
}

/* Every prefix of a real pickle is refused (each is cut before STOP); a copy of
 * exactly the prefix length is used so ASan sees any read past it. */
static void test_truncated_every_offset(void **s)
{
    (void)s;
    const char *files[] = {"pd31_datetimes_p5.pkl", "pd15_categorical_p2.pkl",
                           "pd22_strings_p4.pkl"};
    for (size_t f = 0; f < 3; f++) {
        size_t len;
        uint8_t *buf = load(files[f], &len);
        assert_int_equal(frame_read(buf, len), SHMC_OK);
        for (size_t cut = 0; cut < len; cut++) {
            uint8_t *part = malloc(cut ? cut : 1);
            memcpy(part, buf, cut);
            assert_int_not_equal(frame_read(part, cut), SHMC_OK);
            free(part);
        }
        free(buf);
    }
}

/* Overwrite each byte with a few values: any status, no crash, no leak. */
static void test_garbled_every_offset(void **s)
{
    (void)s;
    const char *files[] = {"pd31_categorical_p5.pkl", "pd22_nullable_p3.pkl",
                           "pd15_index_dt_p2.pkl"};
    const uint8_t vals[] = {0x00, 0xff, 0x7f, 0x80};
    for (size_t f = 0; f < 3; f++) {
        size_t len;
        uint8_t *buf = load(files[f], &len);
        uint8_t *copy = malloc(len);
        for (size_t i = 0; i < len; i++)
            for (size_t v = 0; v < sizeof vals; v++) {
                memcpy(copy, buf, len);
                copy[i] = vals[v];
                frame_read(copy, len);
                copy[i] = (uint8_t)(buf[i] ^ 0x01);
                frame_read(copy, len);
            }
        free(copy);
        free(buf);
    }
}

/* 10^12 column labels claimed by a few bytes: refused by max_alloc, no huge
 * allocation attempted. */
static void test_hostile_range_columns(void **s)
{
    (void)s;
    size_t len;
    uint8_t *buf = load("hostile_range_columns_p5.pkl", &len);
    shmc_frame *fr;
    assert_int_equal(shmc_frame_create(&fr), SHMC_OK);
    assert_int_equal(shmc_frame_from_pickle(fr, buf, len, NULL, NULL, 0, NULL), SHMC_ERR_LIMIT);
    assert_non_null(strstr(shmc_frame_errmsg(fr), "max_alloc"));
    shmc_frame_free(fr);
    free(buf);
}

/* ---- lists of str/None ---------------------------------------------------- */
static void check_strlist(const shmc_column_desc *d, uint64_t n, const char *const *want,
                          size_t nwant)
{
    assert_int_equal(n, nwant);
    assert_int_equal(d->kind, SHMC_KIND_STRING);
    assert_int_equal(d->offsets[0], 0);
    for (size_t i = 0; i < nwant; i++) {
        int valid = !d->validity || ((d->validity[i >> 3] >> (i & 7)) & 1);
        assert_int_equal(valid, want[i] != NULL);
        size_t len = (size_t)(d->offsets[i + 1] - d->offsets[i]);
        if (!want[i]) {
            assert_int_equal(len, 0);
            continue;
        }
        assert_int_equal(len, strlen(want[i]));
        assert_memory_equal(d->data + d->offsets[i], want[i], len);
    }
}

static void test_strings_from_pickle(void **s)
{
    (void)s;
    char x300[301];
    memset(x300, 'x', 300);
    x300[300] = '\0';
    const char *const want[] = {
        "a", NULL, "ccc", "", "\xc3\xa9t\xc3\xa9", x300, "shared-object", "shared-object"};
    for (int proto = 2; proto <= 5; proto++) {
        char name[64];
        snprintf(name, sizeof name, "strlist_p%d.pkl", proto);
        size_t len;
        uint8_t *buf = load(name, &len);
        shmc_frame *fr;
        assert_int_equal(shmc_frame_create(&fr), SHMC_OK);
        shmc_column_desc d;
        memset(&d, 0, sizeof d);
        d.dtype = "object";
        uint64_t n = 0;
        assert_int_equal(shmc_frame_strings_from_pickle(fr, buf, len, &d, &n), SHMC_OK);
        free(buf); /* the column owns its bytes: the input may go */
        check_strlist(&d, n, want, 8);
        assert_string_equal(d.dtype, "object"); /* left alone */
        shmc_frame_free(fr);
    }
}

static void test_strings_from_pickle_big(void **s)
{
    (void)s;
    size_t len;
    uint8_t *buf = load("strlist_big_p5.pkl", &len);
    shmc_frame *fr;
    assert_int_equal(shmc_frame_create(&fr), SHMC_OK);
    shmc_column_desc d;
    memset(&d, 0, sizeof d);
    uint64_t n = 0;
    assert_int_equal(shmc_frame_strings_from_pickle(fr, buf, len, &d, &n), SHMC_OK);
    assert_int_equal(n, 2500);
    assert_non_null(d.validity);
    for (uint64_t i = 0; i < n; i++) {
        int valid = (d.validity[i >> 3] >> (i & 7)) & 1;
        assert_int_equal(valid, i % 7 != 3);
        if (!valid) continue;
        char w[32];
        snprintf(w, sizeof w, "s%llu", (unsigned long long)i);
        assert_int_equal(d.offsets[i + 1] - d.offsets[i], (int64_t)strlen(w));
        assert_memory_equal(d.data + d.offsets[i], w, strlen(w));
    }
    /* every prefix fails cleanly */
    for (size_t cut = 0; cut < len; cut += 97) {
        uint8_t *part = malloc(cut ? cut : 1);
        memcpy(part, buf, cut);
        assert_int_not_equal(shmc_frame_strings_from_pickle(fr, part, cut, &d, &n), SHMC_OK);
        free(part);
    }
    shmc_frame_free(fr);
    free(buf);
}

/* Lists the fast path does not expect (LIST from a MARK, a NaN item) go through
 * the generic parser and give the same layout. */
static void test_strings_from_pickle_generic(void **s)
{
    (void)s;
    shmc_frame *fr;
    assert_int_equal(shmc_frame_create(&fr), SHMC_OK);
    shmc_column_desc d;
    memset(&d, 0, sizeof d);
    uint64_t n = 0;
    static const char marked[] = "\x80\x04(\x8c\x01"
                                 "aN\x8c\x02"
                                 "bcl.";
    assert_int_equal(shmc_frame_strings_from_pickle(fr, marked, sizeof marked - 1, &d, &n),
                     SHMC_OK);
    const char *const w1[] = {"a", NULL, "bc"};
    check_strlist(&d, n, w1, 3);
    static const char nan[] = "\x80\x04](\x8c\x01"
                              "aG\x7f\xf8\x00\x00\x00\x00\x00\x00\x8c\x01"
                              "ze.";
    memset(&d, 0, sizeof d);
    assert_int_equal(shmc_frame_strings_from_pickle(fr, nan, sizeof nan - 1, &d, &n), SHMC_OK);
    const char *const w2[] = {"a", NULL, "z"};
    check_strlist(&d, n, w2, 3);
    static const char no_missing[] = "\x80\x05]\x94(\x8c\x01"
                                     "a\x94\x8c\x01"
                                     "be.";
    memset(&d, 0, sizeof d);
    assert_int_equal(shmc_frame_strings_from_pickle(fr, no_missing, sizeof no_missing - 1, &d, &n),
                     SHMC_OK);
    assert_null(d.validity); /* nothing missing */
    const char *const w3[] = {"a", "b"};
    check_strlist(&d, n, w3, 2);
    shmc_frame_free(fr);
}

static void test_strings_from_pickle_refused(void **s)
{
    (void)s;
    size_t len;
    uint8_t *buf = load("strlist_bad_p5.pkl", &len);
    shmc_frame *fr;
    assert_int_equal(shmc_frame_create(&fr), SHMC_OK);
    shmc_column_desc d;
    memset(&d, 0, sizeof d);
    uint64_t n = 0;
    assert_int_equal(shmc_frame_strings_from_pickle(fr, buf, len, &d, &n), SHMC_ERR_UNSUPPORTED);
    assert_non_null(strstr(shmc_frame_errmsg(fr), "row 1 holds a int"));
    static const char notlist[] = "\x80\x05K\x01.";
    assert_int_equal(shmc_frame_strings_from_pickle(fr, notlist, sizeof notlist - 1, &d, &n),
                     SHMC_ERR_UNSUPPORTED);
    assert_non_null(strstr(shmc_frame_errmsg(fr), "list of str/None"));
    shmc_frame_free(fr);
    free(buf);
}

/* A DataFrame pickle read end to end through the public frame API. */
static void test_from_pickle_public(void **s)
{
    (void)s;
    size_t len;
    uint8_t *buf = load("pd31_numeric_topickle.pkl", &len);
    shmc_frame *fr;
    assert_int_equal(shmc_frame_create(&fr), SHMC_OK);
    assert_int_equal(shmc_frame_from_pickle(fr, buf, len, NULL, NULL, 0, NULL), SHMC_OK);
    assert_int_equal(shmc_frame_nrows(fr), 5);
    assert_int_equal(shmc_frame_ncolumns(fr), 7);
    shmc_frame_free(fr);
    /* a non-DataFrame pickle is refused naming what it is */
    static const char lst[] = "\x80\x05]\x94.";
    assert_int_equal(shmc_frame_create(&fr), SHMC_OK);
    assert_int_equal(shmc_frame_from_pickle(fr, lst, sizeof lst - 1, NULL, NULL, 0, NULL),
                     SHMC_ERR_UNSUPPORTED);
    assert_non_null(strstr(shmc_frame_errmsg(fr), "unsupported construct list"));
    shmc_frame_free(fr);
    free(buf);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ints),
        cmocka_unit_test(test_bools_none_float),
        cmocka_unit_test(test_strings_bytes),
        cmocka_unit_test(test_containers),
        cmocka_unit_test(test_tuples_n),
        cmocka_unit_test(test_stack_ops),
        cmocka_unit_test(test_memo),
        cmocka_unit_test(test_globals_calls),
        cmocka_unit_test(test_buffers_frames),
        cmocka_unit_test(test_refusals),
        cmocka_unit_test(test_limit_depth),
        cmocka_unit_test(test_limit_memo),
        cmocka_unit_test(test_limit_items),
        cmocka_unit_test(test_limit_alloc),
        cmocka_unit_test(test_truncated_every_offset),
        cmocka_unit_test(test_garbled_every_offset),
        cmocka_unit_test(test_hostile_range_columns),
        cmocka_unit_test(test_strings_from_pickle),
        cmocka_unit_test(test_strings_from_pickle_big),
        cmocka_unit_test(test_strings_from_pickle_generic),
        cmocka_unit_test(test_strings_from_pickle_refused),
        cmocka_unit_test(test_from_pickle_public),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
