/* shmc_pickle_plain: which pickled labels / attrs are plain values, what the
 * re-encoding looks like, what is refused (naming the construct and the byte),
 * and the bounds on work and output however memo references share values. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <cmocka.h>

#include "pickle_read.h"
#include "shmchunk.h"

typedef struct plain_run {
    int status;
    shmc_pickle_out out;
    char msg[512];
} plain_run;

static plain_run run_lim(const void *buf, size_t len, const shmc_plain_limits *lim)
{
    plain_run r;
    memset(&r, 0, sizeof r);
    r.status = shmc_pickle_plain(buf, len, lim, &r.out, r.msg, sizeof r.msg);
    return r;
}

#define RUN(lit) run_lim(lit, sizeof(lit) - 1, NULL)

static void expect_refused(plain_run *r, int status, const char *needle)
{
    assert_int_equal(r->status, status);
    assert_null(r->out.bytes);
    if (!strstr(r->msg, needle)) fail_msg("'%s' not in '%s'", needle, r->msg);
}

/* No value in the output may be anything but a plain one. */
static int all_plain(const shmc_pk_value *v, int depth)
{
    if (depth > 200) return 0;
    switch (v->type) {
    case SHMC_PK_GLOBAL:
    case SHMC_PK_REDUCE:
    case SHMC_PK_NEWOBJ: return 0;
    case SHMC_PK_TUPLE:
    case SHMC_PK_LIST:
    case SHMC_PK_DICT:
    case SHMC_PK_SET:
    case SHMC_PK_FROZENSET:
        for (size_t i = 0; i < v->v.seq.len; i++)
            if (!all_plain(v->v.seq.items[i], depth + 1)) return 0;
        return 1;
    default: return 1;
    }
}

/* Accepted: the output parses to plain values, and re-encoding it again gives the same bytes. */
static void expect_plain_lim(plain_run *r, const shmc_plain_limits *lim)
{
    if (r->status != SHMC_OK) fail_msg("refused (%d): %s", r->status, r->msg);
    assert_string_equal(r->msg, "");
    assert_null(r->out.buffers);
    shmc_pk_input in = {r->out.bytes, r->out.len, NULL, NULL, 0};
    shmc_pk_doc *doc = NULL;
    shmc_pk_value *root = NULL;
    shmc_err err = {0};
    assert_int_equal(shmc_pk_parse(&in, NULL, &doc, &root, &err), SHMC_OK);
    assert_true(all_plain(root, 0));
    shmc_pk_doc_free(doc);
    plain_run again = run_lim(r->out.bytes, r->out.len, lim);
    assert_int_equal(again.status, SHMC_OK);
    assert_int_equal(again.out.len, r->out.len);
    assert_memory_equal(again.out.bytes, r->out.bytes, r->out.len);
    shmc_pickle_out_free(&again.out);
}

static void expect_plain(plain_run *r) { expect_plain_lim(r, NULL); }

/* ---- accepted ------------------------------------------------------------- */
static void test_tuple_exact_output(void **s)
{
    (void)s;
    /* pickle.dumps(('a', None), protocol=5): memoised, TUPLE2 */
    plain_run r = RUN("\x80\x05\x95\x08\x00\x00\x00\x00\x00\x00\x00\x8c\x01"
                      "a\x94N\x86\x94.");
    expect_plain(&r);
    static const char want[] = "\x80\x05\x95\x07\x00\x00\x00\x00\x00\x00\x00(\x8c\x01"
                               "aNt.";
    assert_int_equal(r.out.len, sizeof want - 1);
    assert_memory_equal(r.out.bytes, want, sizeof want - 1);
    shmc_pickle_out_free(&r.out);
    assert_null(r.out.bytes);
}

static void test_accepts_containers_and_scalars(void **s)
{
    (void)s;
    static const struct {
        const char *pk;
        size_t len;
    } ok[] = {
#define P(lit) {lit, sizeof(lit) - 1}
        P("\x80\x05\x95\x17\x00\x00\x00\x00\x00\x00\x00}\x94\x8c\x01k\x94]\x94(K\x01G@\x04\x00\x00"
          "\x00\x00\x00\x00"
          "es."), /* {'k': [1, 2.5]} */
        P("\x80\x05\x95\t\x00\x00\x00\x00\x00\x00\x00\x8f\x94(K\x01K\x02\x90."), /* {1, 2} */
        P("\x80\x05\x95\x04\x00\x00\x00\x00\x00\x00\x00(\x91\x94."),             /* frozenset() */
        P("\x80\x05\x96\x01\x00\x00\x00\x00\x00\x00\x00x."),      /* bytearray(b'x') */
        P("\x80\x05\x8a\t\xff\xff\xff\xff\xff\xff\xff\xff\x00."), /* 2**64 - 1 */
        P("\x80\x05\x8a\x08\x00\x00\x00\x00\x00\x00\x00\x80."),   /* -2**63 */
        P("\x80\x05\x8c\x03\xed\xa0\x80."),                       /* '\ud800' */
        P("\x80\x05"
          "C\x03"
          "a\x00"
          "b."),
        P("\x80\x05\x88."),
        P("\x80\x05N."),
        P("\x80\x05)."),
        P("\x80\x05]."),
        P("\x80\x05}."),
        P("\x80\x05\x8f."),
        P("\x80\x05}((K\x01\x8c\x01"
          "at(K\x02\x91u."), /* {(1, 'a'): frozenset({2})} */
        P("\x80\x03X\x02\x00\x00\x00hiB\x01\x00\x00\x00"
          "b\x86."), /* protocol 3 */
#undef P
    };
    for (size_t i = 0; i < sizeof ok / sizeof *ok; i++) {
        plain_run r = run_lim(ok[i].pk, ok[i].len, NULL);
        if (r.status != SHMC_OK) fail_msg("case %zu refused: %s", i, r.msg);
        expect_plain(&r);
        shmc_pickle_out_free(&r.out);
    }
}

static void test_unsigned_int_re_encoded(void **s)
{
    (void)s;
    plain_run r = RUN("\x80\x05\x8a\t\xff\xff\xff\xff\xff\xff\xff\xff\x00.");
    static const char want[] = "\x80\x05\x95\x0c\x00\x00\x00\x00\x00\x00\x00"
                               "\x8a\x09\xff\xff\xff\xff\xff\xff\xff\xff\x00.";
    assert_int_equal(r.status, SHMC_OK);
    assert_int_equal(r.out.len, sizeof want - 1);
    assert_memory_equal(r.out.bytes, want, sizeof want - 1);
    shmc_pickle_out_free(&r.out);
}

/* ---- refused -------------------------------------------------------------- */
/* numpy.dtype('V8') with BUILD state: the first half of issue 12's finding 2. */
static const char dtype_build[] = "\x80\x04\x8c\x05numpy\x8c\x05"
                                  "dtype\x93\x94\x8c\x02V8\x85R"
                                  "(K\x03\x8c\x01|N\x8c\x01"
                                  "f\x85}\x8c\x01"
                                  "fh\x00\x8c\x02u8\x85RJ\x00\x00\x10\x00\x86s"
                                  "K\x08K\x01K\x10tb.";

static void test_refuses_dtype_build(void **s)
{
    (void)s;
    plain_run r = RUN(dtype_build);
    expect_refused(&r, SHMC_ERR_UNSUPPORTED,
                   "numpy.dtype(...) with BUILD state is not a plain value");
    if (!strstr(r.msg, "pickle byte 23:")) fail_msg("not the REDUCE at byte 23: %s", r.msg);
}

static void test_refuses_globals_and_calls(void **s)
{
    (void)s;
    plain_run r = RUN("\x80\x05\x8c\x08"
                      "builtins\x8c\x03int\x93.");
    expect_refused(&r, SHMC_ERR_UNSUPPORTED, "pickle byte 17: the global builtins.int");
    r = RUN("\x80\x04"
            "c__builtin__\nset\n]\x85R."); /* protocol-2 set: a call */
    expect_refused(&r, SHMC_ERR_UNSUPPORTED, "__builtin__.set(...)");
    /* the refusal inside a container names the inner construct */
    r = RUN("\x80\x05(K\x01\x8c\x02os\x8c\x06system\x93\x8c\x02id\x85Rt.");
    expect_refused(&r, SHMC_ERR_UNSUPPORTED, "os.system(...) is not a plain value");
}

static void test_refuses_what_python_would_not_load_as_plain(void **s)
{
    (void)s;
    plain_run r = RUN("\x80\x05}(]K\x01u."); /* {[]: 1} */
    expect_refused(&r, SHMC_ERR_UNSUPPORTED, "a list as a dict key or set item");
    r = RUN("\x80\x05\x8f(}\x90."); /* {{}} */
    expect_refused(&r, SHMC_ERR_UNSUPPORTED, "a dict as a dict key");
    r = RUN("\x80\x05\x8c\x02\xc3\x28."); /* str that is not UTF-8 */
    expect_refused(&r, SHMC_ERR_UNSUPPORTED, "not UTF-8");
    r = RUN("\x80\x05\x96\x01\x00\x00\x00\x00\x00\x00\x00x\x98."); /* read-only bytearray */
    expect_refused(&r, SHMC_ERR_UNSUPPORTED, "memoryview");
    r = RUN("\x80\x05]\x94h\x00"
            "a."); /* l = []; l.append(l) */
    expect_refused(&r, SHMC_ERR_UNSUPPORTED, "a list that contains itself");
    r = RUN("\x80\x05\x8a\x0a\x00\x00\x00\x00\x00\x00\x00\x00\x01\x00."); /* 2**72 */
    expect_refused(&r, SHMC_ERR_UNSUPPORTED, "wider than 64 bits");
}

static void test_malformed_and_arguments(void **s)
{
    (void)s;
    plain_run r = RUN("\x80\x05K\x01");
    expect_refused(&r, SHMC_ERR_PICKLE, "no STOP");
    r = run_lim(NULL, 0, NULL);
    assert_int_not_equal(r.status, SHMC_OK);
    assert_int_equal(shmc_pickle_plain("\x80\x05N.", 4, NULL, NULL, NULL, 0), SHMC_ERR_INVALID_ARG);
    shmc_pickle_out out;
    assert_int_equal(shmc_pickle_plain("\x80\x05N.", 4, NULL, &out, NULL, 0), SHMC_OK);
    shmc_pickle_out_free(&out);
    shmc_pickle_out_free(NULL);
}

/* ---- bounds --------------------------------------------------------------- */
/* 'a' memoised, then `levels` tuples of `width` references to the one below: width^levels leaves. */
static size_t make_dag(uint8_t *o, int levels, int width, int wrap_in_call)
{
    size_t n = 0;
    o[n++] = 0x80;
    o[n++] = 4;
    if (wrap_in_call) {
        memcpy(o + n, "\x8c\x02os\x8c\x06system\x93", 13);
        n += 13;
    }
    memcpy(o + n,
           "\x8c\x01"
           "a\x94"
           "0",
           5);
    n += 5;
    for (int l = 0; l < levels; l++) {
        o[n++] = '(';
        for (int i = 0; i < width; i++) {
            o[n++] = 'h';
            o[n++] = (uint8_t)l;
        }
        o[n++] = 't';
        o[n++] = 0x94;
        o[n++] = '0';
    }
    o[n++] = 'h';
    o[n++] = (uint8_t)levels;
    if (wrap_in_call) {
        o[n++] = 0x85;
        o[n++] = 'R';
    }
    o[n++] = '.';
    return n;
}

static void test_dag_is_bounded(void **s)
{
    (void)s;
    static uint8_t buf[4096];
    size_t n = make_dag(buf, 8, 100, 0); /* 10^16 leaves in ~1.6 KB */
    assert_true(n < 1700);
    clock_t t0 = clock();
    plain_run r = run_lim(buf, n, NULL);
    double secs = (double)(clock() - t0) / CLOCKS_PER_SEC;
    expect_refused(&r, SHMC_ERR_LIMIT, "max_nodes=");
    assert_true(secs < 1.0);
    /* the same tree, small enough: accepted, and as big as a tree as it says */
    n = make_dag(buf, 2, 10, 0);
    r = run_lim(buf, n, NULL);
    expect_plain(&r);
    shmc_pk_input in = {r.out.bytes, r.out.len, NULL, NULL, 0};
    shmc_pk_doc *doc = NULL;
    shmc_pk_value *root = NULL;
    shmc_err err = {0};
    assert_int_equal(shmc_pk_parse(&in, NULL, &doc, &root, &err), SHMC_OK);
    assert_int_equal(shmc_pk_len(root), 10);
    assert_int_equal(shmc_pk_len(shmc_pk_item(root, 9)), 10);
    shmc_pk_doc_free(doc);
    shmc_pickle_out_free(&r.out);
}

static void test_dag_counted_through_a_refusal(void **s)
{
    (void)s;
    /* os.system(DAG): too big matters more than not plain -- a caller that would fall
     * back to pickle.loads for a value that is not plain must not get this one */
    static uint8_t buf[4096];
    size_t n = make_dag(buf, 8, 100, 1);
    plain_run r = run_lim(buf, n, NULL);
    expect_refused(&r, SHMC_ERR_LIMIT, "max_nodes=");
}

static void test_node_limit_is_exact(void **s)
{
    (void)s;
    static const char three[] = "\x80\x05(K\x01K\x02K\x03t."; /* (1, 2, 3): four values */
    shmc_plain_limits lim = {.max_nodes = 4};
    plain_run r = run_lim(three, sizeof three - 1, &lim);
    expect_plain(&r);
    shmc_pickle_out_free(&r.out);
    lim.max_nodes = 3;
    r = run_lim(three, sizeof three - 1, &lim);
    expect_refused(&r, SHMC_ERR_LIMIT, "max_nodes=3");
}

static void test_bytes_limit(void **s)
{
    (void)s;
    /* a 1000-byte str referenced 1000 times: 1 MB of output from ~3 KB */
    size_t cap = 8192, n = 0;
    uint8_t *b = malloc(cap);
    assert_non_null(b);
    memcpy(b, "\x80\x04X\xe8\x03\x00\x00", 7);
    n = 7;
    memset(b + n, 'x', 1000);
    n += 1000;
    memcpy(b + n,
           "\x94"
           "0(",
           3);
    n += 3;
    for (int i = 0; i < 1000; i++) {
        b[n++] = 'h';
        b[n++] = 0;
    }
    memcpy(b + n, "t.", 2);
    n += 2;
    plain_run r = run_lim(b, n, NULL); /* default: 16 KiB + 4 * input */
    expect_refused(&r, SHMC_ERR_LIMIT, "max_bytes=");
    shmc_plain_limits lim = {.max_bytes = 2u << 20};
    r = run_lim(b, n, &lim);
    expect_plain(&r);
    assert_true(r.out.len > 1000u * 1000u && r.out.len < (2u << 20));
    shmc_pickle_out_free(&r.out);
    free(b);
}

static void test_depth_limit(void **s)
{
    (void)s;
    uint8_t b[512];
    size_t n = 0;
    b[n++] = 0x80;
    b[n++] = 5;
    for (int i = 0; i < 70; i++) b[n++] = '(';
    b[n++] = 'N';
    for (int i = 0; i < 70; i++) b[n++] = 't';
    b[n++] = '.';
    plain_run r = run_lim(b, n, NULL); /* default 64 */
    expect_refused(&r, SHMC_ERR_LIMIT, "max_depth=64");
    shmc_plain_limits lim = {.max_depth = 100};
    r = run_lim(b, n, &lim);
    expect_plain_lim(&r, &lim);
    shmc_pickle_out_free(&r.out);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_tuple_exact_output),
        cmocka_unit_test(test_accepts_containers_and_scalars),
        cmocka_unit_test(test_unsigned_int_re_encoded),
        cmocka_unit_test(test_refuses_dtype_build),
        cmocka_unit_test(test_refuses_globals_and_calls),
        cmocka_unit_test(test_refuses_what_python_would_not_load_as_plain),
        cmocka_unit_test(test_malformed_and_arguments),
        cmocka_unit_test(test_dag_is_bounded),
        cmocka_unit_test(test_dag_counted_through_a_refusal),
        cmocka_unit_test(test_node_limit_is_exact),
        cmocka_unit_test(test_bytes_limit),
        cmocka_unit_test(test_depth_limit),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
