/* The DataFrame recogniser against real pickles from pandas 1.5.3, 2.2.3 and
 * 3.1.1 at protocols 2-5 (tests/data/pickles, made by tools/make_pickle_fixtures.py).
 * Values follow the generator's formulas of the row number i. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <dirent.h>

#include "frame.h"
#include "helpers_core.h"
#include "pickle_read.h"
#include "shmchunk.h"

#define N       5
#define MAXCOLS 32

typedef struct rec_col {
    shmc_column_desc d, cats;
    char dtype[80], cat_dtype[80], tz[64], label[64];
} rec_col;

typedef struct rec {
    uint64_t nrows;
    int has_range;
    int64_t start, step;
    char range_name[64], columns_name[64];
    int columns_name_type;
    shmc_label columns_name_label; /* points into the frame's owned memory */
    rec_col cols[MAXCOLS];
    int ncols;
    char freq[48];
    const uint8_t *meta; /* df.attrs as a plain pickle (the frame owns it) */
    size_t meta_len;
} rec;

static void copy_label(char *dst, size_t cap, const shmc_label *l)
{
    if (l->type == SHMC_LABEL_STR) snprintf(dst, cap, "%.*s", (int)l->len, l->str);
    else if (l->type == SHMC_LABEL_INT) snprintf(dst, cap, "#%lld", (long long)l->i);
    else dst[0] = '\0';
}

static int rec_nrows(void *u, uint64_t n)
{
    ((rec *)u)->nrows = n;
    return SHMC_OK;
}
static int rec_range(void *u, int64_t a, int64_t s, const shmc_label *name)
{
    rec *r = u;
    r->has_range = 1;
    r->start = a;
    r->step = s;
    copy_label(r->range_name, sizeof r->range_name, name);
    return SHMC_OK;
}
static int rec_colname(void *u, const shmc_label *name)
{
    rec *r = u;
    r->columns_name_type = name->type;
    r->columns_name_label = *name;
    copy_label(r->columns_name, sizeof r->columns_name, name);
    return SHMC_OK;
}
static int rec_freq(void *u, const char *f)
{
    snprintf(((rec *)u)->freq, sizeof((rec *)u)->freq, "%s", f);
    return SHMC_OK;
}
static int rec_meta(void *u, const void *b, size_t n)
{
    ((rec *)u)->meta = b;
    ((rec *)u)->meta_len = n;
    return SHMC_OK;
}
static int rec_add(void *u, const shmc_column_desc *d)
{
    rec *r = u;
    if (r->ncols >= MAXCOLS) return SHMC_ERR_LIMIT;
    rec_col *c = &r->cols[r->ncols++];
    c->d = *d;
    snprintf(c->dtype, sizeof c->dtype, "%s", d->dtype ? d->dtype : "");
    snprintf(c->tz, sizeof c->tz, "%s", d->tz ? d->tz : "");
    copy_label(c->label, sizeof c->label, &d->label);
    if (d->categories) {
        c->cats = *d->categories;
        snprintf(c->cat_dtype, sizeof c->cat_dtype, "%s",
                 d->categories->dtype ? d->categories->dtype : "");
    }
    return SHMC_OK;
}

static uint8_t *load(const char *name, size_t *len)
{
    char path[512];
    snprintf(path, sizeof path, "%s/pickles/%s", SHMC_TEST_DATA, name);
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    uint8_t *b = malloc((size_t)n + 1);
    assert_non_null(b);
    assert_int_equal(fread(b, 1, (size_t)n, f), (size_t)n);
    fclose(f);
    *len = (size_t)n;
    return b;
}

/* Read a fixture with the recorder; the frame keeps owned buffers alive. */
typedef struct run {
    uint8_t *buf;
    size_t len;
    shmc_frame *frame;
    rec r;
    int status;
    char msg[512];
} run;

static int run_file(run *x, const char *name)
{
    memset(x, 0, sizeof *x);
    x->buf = load(name, &x->len);
    if (!x->buf) return 0;
    assert_int_equal(shmc_frame_create(&x->frame), SHMC_OK);
    shmc_pf_sink sink = {&x->r, rec_nrows, rec_add, rec_range, rec_colname, rec_freq, rec_meta};
    shmc_pk_input in = {x->buf, x->len, NULL, NULL, 0};
    x->status = shmc_pf_read(x->frame, &sink, &in, NULL);
    snprintf(x->msg, sizeof x->msg, "%s", shmc_frame_errmsg(x->frame));
    if (x->status) print_message("%s: %s\n", name, x->msg);
    return 1;
}

static void run_free(run *x)
{
    shmc_frame_free(x->frame);
    free(x->buf);
}

static rec_col *col(rec *r, const char *label)
{
    for (int i = 0; i < r->ncols; i++)
        if (!strcmp(r->cols[i].label, label)) return &r->cols[i];
    fail_msg("no column '%s'", label);
    return NULL;
}

static int64_t i64_at(const void *p, size_t i)
{
    int64_t v;
    memcpy(&v, (const uint8_t *)p + 8 * i, 8);
    return v;
}
static int32_t i32_at(const void *p, size_t i)
{
    int32_t v;
    memcpy(&v, (const uint8_t *)p + 4 * i, 4);
    return v;
}
static double f64_at(const void *p, size_t i)
{
    double v;
    memcpy(&v, (const uint8_t *)p + 8 * i, 8);
    return v;
}
static float f32_at(const void *p, size_t i)
{
    float v;
    memcpy(&v, (const uint8_t *)p + 4 * i, 4);
    return v;
}
static int8_t i8_at(const void *p, size_t i) { return ((const int8_t *)p)[i]; }

/* i seconds in a column's unit (pandas 3 infers s/us where 2.x said ns). */
static int64_t secs(const rec_col *c, int64_t i)
{
    static const int64_t per[] = {0, 1, 1000, 1000000, 1000000000};
    return i * per[c->d.unit];
}

static void check_kind(rec_col *c, int kind, const char *dtype)
{
    assert_int_equal(c->d.kind, kind);
    assert_string_equal(c->dtype, dtype);
}

/* A string column: NULL in want[] means missing. */
static void check_strings(const shmc_column_desc *d, const char *const *want, size_t n)
{
    assert_int_equal(d->kind, SHMC_KIND_STRING);
    for (size_t i = 0; i < n; i++) {
        uint64_t b = i + d->validity_offset;
        int valid = !d->validity || ((d->validity[b >> 3] >> (b & 7)) & 1);
        if (!want[i]) {
            assert_false(valid);
            continue;
        }
        assert_true(valid);
        int64_t a = i64_at(d->offsets, i), e = i64_at(d->offsets, i + 1);
        assert_int_equal((size_t)(e - a), strlen(want[i]));
        assert_memory_equal(d->data + a, want[i], strlen(want[i]));
    }
}

static const char *const TAGS[] = {"pd15", "pd22", "pd31"};

/* Call fn for every version x protocol fixture of a case that exists; want of them. */
static void each_n(const char *cas, void (*fn)(run *x, const char *tag, int proto), int want)
{
    int seen = 0;
    for (size_t t = 0; t < 3; t++)
        for (int p = 2; p <= 5; p++) {
            char name[128];
            snprintf(name, sizeof name, "%s_%s_p%d.pkl", TAGS[t], cas, p);
            run x;
            if (!run_file(&x, name)) continue;
            seen++;
            fn(&x, TAGS[t], p);
            run_free(&x);
        }
    assert_int_equal(seen, want);
}

static void each(const char *cas, void (*fn)(run *x, const char *tag, int proto))
{
    each_n(cas, fn, 12);
}

static void ok_range(run *x, int ncols)
{
    assert_int_equal(x->status, SHMC_OK);
    assert_int_equal(x->r.nrows, N);
    assert_int_equal(x->r.ncols, ncols);
}

static void numeric_fn(run *x, const char *tag, int proto)
{
    (void)tag, (void)proto;
    ok_range(x, 7);
    assert_true(x->r.has_range);
    assert_int_equal(x->r.start, 0);
    assert_int_equal(x->r.step, 1);
    rec_col *c = col(&x->r, "i64"), *f = col(&x->r, "f64"), *i32 = col(&x->r, "i32"),
            *b = col(&x->r, "b");
    rec_col *u8 = col(&x->r, "u8"), *f32 = col(&x->r, "f32"), *be = col(&x->r, "be");
    check_kind(c, SHMC_KIND_INT64, "int64");
    check_kind(f, SHMC_KIND_FLOAT64, "float64");
    check_kind(i32, SHMC_KIND_INT32, "int32");
    check_kind(b, SHMC_KIND_BOOL, "bool");
    check_kind(u8, SHMC_KIND_UINT8, "uint8");
    check_kind(f32, SHMC_KIND_FLOAT32, "float32");
    check_kind(be, SHMC_KIND_INT32, "int32");
    assert_string_equal(x->r.cols[0].label, "i64"); /* column order kept */
    assert_string_equal(x->r.cols[6].label, "be");
    for (int i = 0; i < N; i++) {
        assert_int_equal(i64_at(c->d.values, (size_t)i), i * 3 - 7);
        assert_true(f64_at(f->d.values, (size_t)i) == i * 0.5);
        assert_int_equal(i32_at(i32->d.values, (size_t)i), i - 2);
        assert_int_equal(((const uint8_t *)b->d.values)[i], i % 2 == 0);
        assert_int_equal(((const uint8_t *)u8->d.values)[i], i + 250);
        assert_true(f32_at(f32->d.values, (size_t)i) == (float)(i * 0.25));
        assert_int_equal(i32_at(be->d.values, (size_t)i), i * 1000);
    }
    /* protocol 3+ carries raw bytes: native columns are views of the input */
    if (proto >= 3) {
        const uint8_t *p = c->d.values;
        assert_true(p >= x->buf && p < x->buf + x->len);
    }
}

static void wide_f_fn(run *x, const char *tag, int proto)
{
    (void)tag, (void)proto;
    ok_range(x, 3);
    const char *names[] = {"x", "y", "z"};
    for (int c = 0; c < 3; c++) {
        rec_col *k = col(&x->r, names[c]);
        check_kind(k, SHMC_KIND_FLOAT64, "float64");
        for (int i = 0; i < N; i++) assert_true(f64_at(k->d.values, (size_t)i) == i * 3 + c);
    }
}

static void wide_c_fn(run *x, const char *tag, int proto)
{
    (void)tag, (void)proto;
    ok_range(x, 3);
    const char *names[] = {"x", "y", "z"};
    for (int c = 0; c < 3; c++) {
        rec_col *k = col(&x->r, names[c]);
        for (int i = 0; i < N; i++) assert_true(f64_at(k->d.values, (size_t)i) == i * (c + 1.0));
    }
}

/* The first of two columns, an INDEX column labelled `label` (checked). */
static rec_col *row_index(run *x, const char *label)
{
    ok_range(x, 2);
    rec_col *ix = &x->r.cols[0];
    assert_true(ix->d.flags & SHMC_COL_INDEX);
    assert_string_equal(ix->label, label);
    return ix;
}

static void index_int_fn(run *x, const char *tag, int proto)
{
    (void)tag, (void)proto;
    rec_col *ix = row_index(x, "key");
    assert_false(x->r.has_range);
    check_kind(ix, SHMC_KIND_INT64, "int64");
    for (int i = 0; i < N; i++) assert_int_equal(i64_at(ix->d.values, (size_t)i), i * 10 + 1);
    assert_false(col(&x->r, "v")->d.flags & SHMC_COL_INDEX);
}

static void index_range_fn(run *x, const char *tag, int proto)
{
    (void)tag, (void)proto;
    ok_range(x, 1);
    assert_true(x->r.has_range);
    assert_int_equal(x->r.start, 10);
    assert_int_equal(x->r.step, 2);
    assert_string_equal(x->r.range_name, "r");
}

static void index_dt_fn(run *x, const char *tag, int proto)
{
    (void)proto;
    rec_col *ix = row_index(x, "day");
    assert_int_equal(ix->d.kind, SHMC_KIND_DATETIME);
    assert_string_equal(ix->dtype, !strcmp(tag, "pd31") ? "datetime64[us]" : "datetime64[ns]");
    for (int i = 0; i < N; i++)
        assert_int_equal(i64_at(ix->d.values, (size_t)i), secs(ix, i * 86400LL));
}

static void datetimes_fn(run *x, const char *tag, int proto)
{
    (void)proto;
    ok_range(x, 5);
    rec_col *nv = col(&x->r, "naive"), *utc = col(&x->r, "utc"), *par = col(&x->r, "paris");
    rec_col *td = col(&x->r, "td"), *nat = col(&x->r, "nat");
    check_kind(nv, SHMC_KIND_DATETIME, "datetime64[ns]");
    check_kind(utc, SHMC_KIND_DATETIME, "datetime64[ns, UTC]");
    assert_string_equal(utc->tz, "UTC");
    check_kind(par, SHMC_KIND_DATETIME, "datetime64[ns, Europe/Paris]");
    assert_string_equal(par->tz, "Europe/Paris");
    check_kind(td, SHMC_KIND_TIMEDELTA,
               !strcmp(tag, "pd31") ? "timedelta64[us]" : "timedelta64[ns]");
    assert_string_equal(nv->tz, "");
    for (int i = 0; i < N; i++) {
        int64_t want = i * 1000000000LL;
        assert_int_equal(i64_at(nv->d.values, (size_t)i), want);
        assert_int_equal(i64_at(utc->d.values, (size_t)i), want);
        /* wall time in Paris (UTC+1 in January) stored as UTC */
        assert_int_equal(i64_at(par->d.values, (size_t)i), want - 3600LL * 1000000000LL);
        assert_int_equal(i64_at(td->d.values, (size_t)i), secs(td, i));
        assert_int_equal(i64_at(nat->d.values, (size_t)i), i == 1 ? INT64_MIN : secs(nat, i));
    }
}

static void categorical_fn(run *x, const char *tag, int proto)
{
    (void)tag, (void)proto;
    ok_range(x, 2);
    rec_col *cs = col(&x->r, "cs"), *ci = col(&x->r, "ci");
    check_kind(cs, SHMC_KIND_CATEGORICAL, "category");
    assert_true(cs->d.flags & SHMC_COL_ORDERED);
    assert_int_equal(cs->d.code_kind, SHMC_KIND_INT8);
    assert_int_equal(cs->d.ncategories, 3);
    const char *const cats[] = {"c", "b", "a"};
    check_strings(&cs->cats, cats, 3);
    const int8_t codes[] = {1, 2, -1, 1, 0};
    for (int i = 0; i < N; i++) assert_int_equal(i8_at(cs->d.values, (size_t)i), codes[i]);
    check_kind(ci, SHMC_KIND_CATEGORICAL, "category");
    assert_false(ci->d.flags & SHMC_COL_ORDERED);
    assert_int_equal(ci->cats.kind, SHMC_KIND_INT64);
    assert_string_equal(ci->cat_dtype, "int64");
    for (int i = 0; i < 3; i++) assert_int_equal(i64_at(ci->cats.values, (size_t)i), 10 * (i + 1));
    const int8_t icodes[] = {0, 1, 0, 2, 1};
    for (int i = 0; i < N; i++) assert_int_equal(i8_at(ci->d.values, (size_t)i), icodes[i]);
}

static void nullable_fn(run *x, const char *tag, int proto)
{
    (void)tag, (void)proto;
    ok_range(x, 4);
    rec_col *a = col(&x->r, "Int64"), *u = col(&x->r, "UInt8"), *f = col(&x->r, "Float64");
    rec_col *b = col(&x->r, "boolean");
    check_kind(a, SHMC_KIND_INT64, "Int64");
    check_kind(u, SHMC_KIND_UINT8, "UInt8");
    check_kind(f, SHMC_KIND_FLOAT64, "Float64");
    check_kind(b, SHMC_KIND_BOOL, "boolean");
    const uint8_t ma[] = {0, 1, 0, 0, 1}, mu[] = {0, 0, 1, 0, 0}, mf[] = {0, 1, 0, 0, 0},
                  mb[] = {0, 0, 1, 0, 0};
    assert_memory_equal(a->d.mask, ma, N);
    assert_memory_equal(u->d.mask, mu, N);
    assert_memory_equal(f->d.mask, mf, N);
    assert_memory_equal(b->d.mask, mb, N);
    assert_int_equal(i64_at(a->d.values, 3), 4);
    assert_int_equal(((const uint8_t *)u->d.values)[4], 5);
    assert_true(f64_at(f->d.values, 4) == 3.5);
    assert_int_equal(((const uint8_t *)b->d.values)[0], 1);
    assert_int_equal(((const uint8_t *)b->d.values)[1], 0);
}

static void strings_fn(run *x, const char *tag, int proto)
{
    (void)proto;
    int v3 = !strcmp(tag, "pd31"), v15 = !strcmp(tag, "pd15");
    ok_range(x, v3 ? 7 : v15 ? 3 : 5);
    const char *const obj[] = {"a", NULL, "ccc", NULL, "\xc3\xa9t\xc3\xa9"};
    const char *const ext[] = {"a", NULL, "ccc", "", "\xc3\xa9t\xc3\xa9"};
    rec_col *o = col(&x->r, "obj"), *on = col(&x->r, "obj_nan");
    check_kind(o, SHMC_KIND_STRING, "object"); /* missing spelt None */
    check_strings(&o->d, obj, N);
    check_kind(on, SHMC_KIND_STRING, "object[nan]"); /* missing spelt NaN */
    check_strings(&on->d, obj, N);
    rec_col *py = col(&x->r, "py");
    check_kind(py, SHMC_KIND_STRING, "string[python]");
    check_strings(&py->d, ext, N);
    if (!v15) {
        rec_col *pa = col(&x->r, "pa");
        check_kind(pa, SHMC_KIND_STRING, "string[pyarrow]");
        check_strings(&pa->d, ext, N);
        rec_col *np = col(&x->r, "pa_np"); /* pandas 2 "pyarrow_numpy", pandas 3 str */
        check_kind(np, SHMC_KIND_STRING, "str");
        check_strings(&np->d, ext, N);
    }
    if (v3) {
        rec_col *s = col(&x->r, "str"), *sp = col(&x->r, "strpy");
        check_kind(s, SHMC_KIND_STRING, "str");
        check_strings(&s->d, ext, N);
        check_kind(sp, SHMC_KIND_STRING, "str[python]");
        check_strings(&sp->d, ext, N);
    }
}

static void index_str_fn(run *x, const char *tag, int proto)
{
    (void)proto;
    rec_col *ix = row_index(x, "s");
    check_kind(ix, SHMC_KIND_STRING, !strcmp(tag, "pd31") ? "str" : "object");
    const char *const want[] = {"r0", "r1", "r2", "r3", "r4"};
    check_strings(&ix->d, want, N);
}

/* MultiIndex rows: one index column per level, each the level's values taken by
 * its codes; a missing label (code -1) is a null string / NaN. */
static void index_multi_fn(run *x, const char *tag, int proto)
{
    (void)proto;
    ok_range(x, 4);
    assert_false(x->r.has_range);
    rec_col *k = &x->r.cols[0], *t = &x->r.cols[1], *h = &x->r.cols[2], *v = &x->r.cols[3];
    for (int i = 0; i < 3; i++) assert_true(x->r.cols[i].d.flags & SHMC_COL_INDEX);
    assert_false(v->d.flags & SHMC_COL_INDEX);
    assert_string_equal(k->label, "k");
    assert_string_equal(t->label, "t");
    assert_int_equal(h->d.label.type, SHMC_LABEL_NONE);
    check_kind(k, SHMC_KIND_STRING, "object[nan]");
    const char *const keys[] = {"k1", "k0", "k1", "k0", NULL};
    check_strings(&k->d, keys, N);
    check_kind(t, SHMC_KIND_DATETIME,
               !strcmp(tag, "pd31") ? "datetime64[us, UTC]" : "datetime64[ns, UTC]");
    assert_string_equal(t->tz, "UTC");
    check_kind(h, SHMC_KIND_FLOAT64, "float64");
    for (int i = 0; i < N; i++) {
        assert_int_equal(i64_at(t->d.values, (size_t)i), secs(t, 1600000000LL + i));
        if (i == 2) assert_true(isnan(f64_at(h->d.values, 2)));
        else assert_true(f64_at(h->d.values, (size_t)i) == 0.5 * i);
        assert_int_equal(i64_at(v->d.values, (size_t)i), 3 * i);
    }
}

static void index_cat_fn(run *x, const char *tag, int proto)
{
    (void)tag, (void)proto;
    rec_col *ix = row_index(x, "c");
    check_kind(ix, SHMC_KIND_CATEGORICAL, "category");
    const char *const cats[] = {"x", "y"};
    check_strings(&ix->cats, cats, 2);
    for (int i = 0; i < N; i++) assert_int_equal(i8_at(ix->d.values, (size_t)i), i % 2);
}

static void labels_fn(run *x, const char *tag, int proto)
{
    (void)tag, (void)proto;
    ok_range(x, 2);
    assert_int_equal(x->r.cols[0].d.label.type, SHMC_LABEL_INT);
    assert_int_equal(x->r.cols[0].d.label.i, 7);
    assert_int_equal(x->r.cols[1].d.label.i, -3);
    assert_int_equal(x->r.columns_name_type, SHMC_LABEL_STR);
    assert_string_equal(x->r.columns_name, "cols");
}

static void empty_fn(run *x, const char *tag, int proto)
{
    (void)proto;
    assert_int_equal(x->status, SHMC_OK);
    assert_int_equal(x->r.nrows, 0);
    if (!strcmp(tag, "pd15")) { /* pandas 1.5's DataFrame() has an empty object Index */
        assert_int_equal(x->r.ncols, 1);
        assert_true(x->r.cols[0].d.flags & SHMC_COL_INDEX);
        check_kind(&x->r.cols[0], SHMC_KIND_STRING, "object");
    } else {
        assert_int_equal(x->r.ncols, 0);
        assert_true(x->r.has_range);
    }
}

/* Zero rows, every kind: the same kinds and dtype strings as with rows. */
static void zero_rows_fn(run *x, const char *tag, int proto)
{
    (void)proto;
    int v3 = !strcmp(tag, "pd31"), v15 = !strcmp(tag, "pd15");
    assert_int_equal(x->status, SHMC_OK);
    assert_int_equal(x->r.nrows, 0);
    assert_int_equal(x->r.ncols, (v3 ? 6 : v15 ? 2 : 4) + 2 + 4 + 5);
    check_kind(col(&x->r, "obj"), SHMC_KIND_STRING, "object");
    check_kind(col(&x->r, "py"), SHMC_KIND_STRING, "string[python]");
    check_kind(col(&x->r, "cs"), SHMC_KIND_CATEGORICAL, "category");
    assert_int_equal(col(&x->r, "cs")->d.ncategories, 3);
    check_kind(col(&x->r, "Int64"), SHMC_KIND_INT64, "Int64");
    check_kind(col(&x->r, "boolean"), SHMC_KIND_BOOL, "boolean");
    check_kind(col(&x->r, "utc"), SHMC_KIND_DATETIME, "datetime64[ns, UTC]");
    if (v3) check_kind(col(&x->r, "str"), SHMC_KIND_STRING, "str");
}

/* Parse a SHMC_LABEL_PICKLE label with the reader itself. */
static shmc_pk_value *label_value(const shmc_label *l, shmc_pk_doc **doc)
{
    assert_int_equal(l->type, SHMC_LABEL_PICKLE);
    shmc_pk_input in = {(const uint8_t *)l->str, l->len, NULL, NULL, 0};
    shmc_pk_value *root;
    shmc_err err = {0};
    assert_int_equal(shmc_pk_parse(&in, NULL, doc, &root, &err), SHMC_OK);
    return root;
}

static void labels_mixed_fn(run *x, const char *tag, int proto)
{
    (void)tag, (void)proto;
    ok_range(x, 6);
    const shmc_label *l[6];
    for (int i = 0; i < 6; i++) l[i] = &x->r.cols[i].d.label;
    assert_int_equal(l[0]->type, SHMC_LABEL_STR);
    assert_int_equal(l[1]->type, SHMC_LABEL_INT);
    assert_int_equal(l[1]->i, 1);
    assert_int_equal(l[4]->type, SHMC_LABEL_NONE);
    shmc_pk_doc *doc;
    shmc_pk_value *v = label_value(l[2], &doc);
    assert_int_equal(v->type, SHMC_PK_FLOAT);
    assert_true(v->v.f == 2.5);
    shmc_pk_doc_free(doc);
    v = label_value(l[3], &doc);
    assert_int_equal(v->type, SHMC_PK_TUPLE);
    assert_true(shmc_pk_str_eq(shmc_pk_item(v, 0), "x"));
    assert_int_equal(shmc_pk_item(v, 1)->v.i, -1);
    shmc_pk_doc_free(doc);
    v = label_value(l[5], &doc);
    assert_int_equal(v->type, SHMC_PK_BOOL);
    assert_int_equal(v->v.i, 1);
    shmc_pk_doc_free(doc);
}

/* A pickled tuple label equal to (s, i). */
static void check_tuple_label(const shmc_label *l, const char *s, int64_t i)
{
    shmc_pk_doc *doc;
    shmc_pk_value *v = label_value(l, &doc);
    assert_int_equal(v->type, SHMC_PK_TUPLE);
    assert_int_equal(shmc_pk_len(v), 2);
    assert_true(shmc_pk_str_eq(shmc_pk_item(v, 0), s));
    assert_int_equal(shmc_pk_item(v, 1)->type, SHMC_PK_INT);
    assert_int_equal(shmc_pk_item(v, 1)->v.i, i);
    shmc_pk_doc_free(doc);
}

/* MultiIndex column labels become tuple labels, the level names one tuple name. */
static void columns_multi_fn(run *x, const char *tag, int proto)
{
    (void)tag, (void)proto;
    ok_range(x, 3);
    check_tuple_label(&x->r.cols[0].d.label, "a", 1);
    check_tuple_label(&x->r.cols[1].d.label, "a", 2);
    check_tuple_label(&x->r.cols[2].d.label, "b", -3);
    for (int i = 0; i < N; i++)
        assert_true(f64_at(x->r.cols[2].d.values, (size_t)i) == 3.0 * i + 2);
    shmc_pk_doc *doc;
    shmc_pk_value *names = label_value(&x->r.columns_name_label, &doc);
    assert_int_equal(names->type, SHMC_PK_TUPLE);
    assert_true(shmc_pk_str_eq(shmc_pk_item(names, 0), "letter"));
    assert_int_equal(shmc_pk_item(names, 1)->type, SHMC_PK_NONE);
    shmc_pk_doc_free(doc);
}

static void pyobj_fn(run *x, const char *tag, int proto)
{
    (void)tag, (void)proto;
    assert_int_equal(x->status, SHMC_ERR_UNSUPPORTED);
    assert_non_null(strstr(x->msg, "object column row 0 holds a int"));
}

/* Refused before the first frame call: nothing reached the recorder. */
static void untouched(const run *x)
{
    assert_int_equal(x->r.ncols, 0);
    assert_int_equal(x->r.nrows, 0);
    assert_false(x->r.has_range);
}

/* An object column of strings refused for how it spells missing values: the
 * message names the column and the spelling, and nothing was recorded. */
static void refused_spelling(const run *x, const char *column, const char *spelling)
{
    assert_int_equal(x->status, SHMC_ERR_UNSUPPORTED);
    assert_non_null(strstr(x->msg, column));
    assert_non_null(strstr(x->msg, spelling));
    untouched(x);
}

static void mixnull_fn(run *x, const char *tag, int proto)
{
    (void)tag, (void)proto;
    refused_spelling(x, "column 1 ('mix')", "both None and NaN");
}

static void na_fn(run *x, const char *tag, int proto)
{
    (void)tag, (void)proto;
    refused_spelling(x, "column 0 ('na')", "spelt pd.NA");
}

/* ---- index freq, df.attrs, duplicate labels (pandas 2.2 and 3.1 only) ---- */
static void each_meta(const char *cas, void (*fn)(run *x, const char *tag, int proto))
{
    int seen = 0;
    for (size_t t = 1; t < 3; t++)
        for (int p = 2; p <= 5; p++) {
            char name[128];
            snprintf(name, sizeof name, "%s_%s_p%d.pkl", TAGS[t], cas, p);
            run x;
            if (!run_file(&x, name)) continue;
            seen++;
            fn(&x, TAGS[t], p);
            run_free(&x);
        }
    assert_int_equal(seen, 8);
}

static void freq_is(run *x, const char *want, int kind, const char *name)
{
    assert_int_equal(x->status, SHMC_OK);
    assert_int_equal(x->r.nrows, N);
    assert_int_equal(x->r.ncols, 2);
    assert_int_equal(x->r.cols[0].d.kind, kind);
    assert_true(x->r.cols[0].d.flags & SHMC_COL_INDEX);
    assert_string_equal(x->r.cols[0].label, name);
    assert_string_equal(x->r.freq, want);
}

static void freq_day_fn(run *x, const char *t, int p)
{
    (void)t, (void)p;
    freq_is(x, "D", SHMC_KIND_DATETIME, "t");
}
static void freq_bday_fn(run *x, const char *t, int p)
{
    (void)t, (void)p;
    freq_is(x, "B", SHMC_KIND_DATETIME, "");
}
static void freq_td_fn(run *x, const char *t, int p)
{
    (void)t, (void)p;
    freq_is(x, "h", SHMC_KIND_TIMEDELTA, "d");
}
static void freq_week_fn(run *x, const char *t, int p)
{
    (void)t, (void)p;
    freq_is(x, "-2W-MON", SHMC_KIND_DATETIME, "");
    assert_string_equal(x->r.cols[0].tz, "UTC");
}

/* df.attrs arrive as a plain-value pickle: {"src": "x", "n": [1, 2.5, None], "nested": {...}} */
static void attrs_fn(run *x, const char *t, int p)
{
    (void)t, (void)p;
    assert_int_equal(x->status, SHMC_OK);
    assert_string_equal(x->r.freq, "");
    assert_non_null(x->r.meta);
    shmc_pk_input in = {x->r.meta, x->r.meta_len, NULL, NULL, 0};
    shmc_pk_doc *doc;
    shmc_pk_value *root;
    shmc_err err;
    assert_int_equal(shmc_pk_parse(&in, NULL, &doc, &root, &err), SHMC_OK);
    assert_int_equal(root->type, SHMC_PK_DICT);
    assert_int_equal(shmc_pk_count(root), 3);
    const shmc_pk_value *src = shmc_pk_dict_get(root, "src"), *n = shmc_pk_dict_get(root, "n");
    assert_int_equal(src->type, SHMC_PK_STR);
    assert_memory_equal(src->v.bytes.ptr, "x", 1);
    assert_int_equal(shmc_pk_len(n), 3);
    assert_int_equal(shmc_pk_item(n, 2)->type, SHMC_PK_NONE);
    shmc_pk_doc_free(doc);
}

static void dup_fn(run *x, const char *t, int p)
{
    (void)t, (void)p;
    ok_range(x, 2);
    assert_string_equal(x->r.cols[0].label, "x");
    assert_string_equal(x->r.cols[1].label, "x");
    assert_int_equal(x->r.cols[0].d.kind, SHMC_KIND_INT64);
    assert_int_equal(x->r.cols[1].d.kind, SHMC_KIND_FLOAT64);
}

static void refuse_attrs_fn(run *x, const char *t, int p)
{
    (void)t, (void)p;
    assert_int_equal(x->status, SHMC_ERR_UNSUPPORTED);
    assert_non_null(strstr(x->msg, "df.attrs"));
    assert_non_null(strstr(x->msg, "_unpickle_timestamp"));
    assert_int_equal(x->r.nrows, 0); /* refused before anything reached the frame */
    assert_int_equal(x->r.ncols, 0);
}

static void refuse_freq_fn(run *x, const char *t, int p)
{
    (void)t, (void)p;
    assert_int_equal(x->status, SHMC_ERR_UNSUPPORTED);
    assert_non_null(strstr(x->msg, "CustomBusinessDay"));
    assert_non_null(strstr(x->msg, "index freq"));
    assert_int_equal(x->r.ncols, 0);
}

static void test_meta_freq(void **s)
{
    (void)s;
    each_meta("meta_freq_day", freq_day_fn);
    each_meta("meta_freq_bday", freq_bday_fn);
    each_meta("meta_freq_td", freq_td_fn);
    each_meta("meta_freq_week", freq_week_fn);
}
static void test_meta_attrs(void **s)
{
    (void)s;
    each_meta("meta_attrs", attrs_fn);
}
static void test_meta_dup(void **s)
{
    (void)s;
    each_meta("meta_dup", dup_fn);
}
static void test_refuse_meta(void **s)
{
    (void)s;
    each_meta("refuse_attrs", refuse_attrs_fn);
    each_meta("refuse_freq", refuse_freq_fn);
}

static void test_numeric(void **s)
{
    (void)s;
    each("numeric", numeric_fn);
}
static void test_wide_f(void **s)
{
    (void)s;
    each("wide_f", wide_f_fn);
}
static void test_wide_c(void **s)
{
    (void)s;
    each("wide_c", wide_c_fn);
}
static void test_index_int(void **s)
{
    (void)s;
    each("index_int", index_int_fn);
}
static void test_index_range(void **s)
{
    (void)s;
    each("index_range", index_range_fn);
}
static void test_index_dt(void **s)
{
    (void)s;
    each("index_dt", index_dt_fn);
}
static void test_datetimes(void **s)
{
    (void)s;
    each("datetimes", datetimes_fn);
}
static void test_categorical(void **s)
{
    (void)s;
    each("categorical", categorical_fn);
}
static void test_nullable(void **s)
{
    (void)s;
    each("nullable", nullable_fn);
}
static void test_strings(void **s)
{
    (void)s;
    each("strings", strings_fn);
}
static void test_labels_mixed(void **s)
{
    (void)s;
    each("labels_mixed", labels_mixed_fn);
}
static void test_empty(void **s)
{
    (void)s;
    each("empty", empty_fn);
}
static void test_zero_rows(void **s)
{
    (void)s;
    each("zero_rows", zero_rows_fn);
}
static void test_index_str(void **s)
{
    (void)s;
    each("index_str", index_str_fn);
}
static void test_index_multi(void **s)
{
    (void)s;
    each("index_multi", index_multi_fn);
}
static void test_index_cat(void **s)
{
    (void)s;
    each("index_cat", index_cat_fn);
}

/* The old BlockManager __getstate__ form; "a" and "c" share one int64 block
 * placed by an index array [0, 2]. */
static void test_legacy_manager(void **s)
{
    (void)s;
    for (int p = 2; p <= 5; p++) {
        char name[64];
        snprintf(name, sizeof name, "pd15_legacy_p%d.pkl", p);
        run x;
        assert_true(run_file(&x, name));
        ok_range(&x, 4);
        rec_col *a = col(&x.r, "a"), *b = col(&x.r, "b"), *c = col(&x.r, "c"), *t = col(&x.r, "t");
        assert_string_equal(x.r.cols[2].label, "c");
        check_kind(a, SHMC_KIND_INT64, "int64");
        check_kind(t, SHMC_KIND_DATETIME, "datetime64[ns, UTC]");
        for (int i = 0; i < N; i++) {
            assert_int_equal(i64_at(a->d.values, (size_t)i), 2 * i);
            assert_true(f64_at(b->d.values, (size_t)i) == 0.5 * i);
            assert_int_equal(i64_at(c->d.values, (size_t)i), 3 * i);
            assert_int_equal(i64_at(t->d.values, (size_t)i), i * 1000000000LL);
        }
        run_free(&x);
    }
}

/* pyarrow's pickle of a sliced "string" array: int32 offsets widened, array
 * offset 2 applied to offsets and validity. */
static void test_arrow_sliced(void **s)
{
    (void)s;
    const char *const want[] = {"a", NULL, "ccc", "", "\xc3\xa9t\xc3\xa9"};
    for (int p = 2; p <= 5; p++) {
        char name[64];
        snprintf(name, sizeof name, "pd31_arrow_sliced_p%d.pkl", p);
        run x;
        assert_true(run_file(&x, name));
        ok_range(&x, 1);
        rec_col *c = col(&x.r, "s");
        check_kind(c, SHMC_KIND_STRING, "str");
        assert_int_equal(c->d.validity_offset, 2);
        assert_int_equal(i64_at(c->d.offsets, 0), 3); /* "zz" "y" before the slice */
        check_strings(&c->d, want, N);
        run_free(&x);
    }
}

/* Protocol 5 with out-of-band buffers: columns are views of the caller's buffers. */
static void test_oob(void **s)
{
    (void)s;
    for (size_t t = 0; t < 3; t++) {
        char name[64];
        const void *bufs[8];
        size_t lens[8], nb = 0;
        uint8_t *owned[8];
        for (; nb < 8; nb++) {
            snprintf(name, sizeof name, "%s_oob_p5.oob%zu", TAGS[t], nb);
            if (!(owned[nb] = load(name, &lens[nb]))) break;
            bufs[nb] = owned[nb];
        }
        assert_true(nb >= 2);
        snprintf(name, sizeof name, "%s_oob_p5.pkl", TAGS[t]);
        size_t len;
        uint8_t *buf = load(name, &len);
        assert_non_null(buf);
        shmc_frame *fr;
        assert_int_equal(shmc_frame_create(&fr), SHMC_OK);
        rec r;
        memset(&r, 0, sizeof r);
        shmc_pf_sink sink = {&r, rec_nrows, rec_add, rec_range, rec_colname, rec_freq, rec_meta};
        shmc_pk_input in = {buf, len, bufs, lens, nb};
        assert_int_equal(shmc_pf_read(fr, &sink, &in, NULL), SHMC_OK);
        rec_col *f = col(&r, "f"), *g = col(&r, "g"), *n = col(&r, "n");
        int inside = 0;
        for (size_t i = 0; i < nb; i++)
            inside |= (const uint8_t *)f->d.values >= owned[i] &&
                      (const uint8_t *)f->d.values < owned[i] + lens[i];
        assert_true(inside);
        check_kind(n, SHMC_KIND_INT64, "Int64");
        for (int i = 0; i < N; i++) {
            assert_true(f64_at(f->d.values, (size_t)i) == 0.5 * i);
            assert_true(f64_at(g->d.values, (size_t)i) == 2.5 * i);
            assert_int_equal(n->d.mask[i], i == 1);
        }
        /* one buffer short: refused, naming the opcode */
        in.noob = nb - 1;
        assert_int_equal(shmc_pf_read(fr, &sink, &in, NULL), SHMC_ERR_PICKLE);
        assert_non_null(strstr(shmc_frame_errmsg(fr), "NEXT_BUFFER"));
        shmc_frame_free(fr);
        free(buf);
        for (size_t i = 0; i < nb; i++) free(owned[i]);
    }
}

/* Every accepted fixture is a frame the writer accepts; what comes back out of
 * the segment keeps kinds, dtype strings and values. */
static void test_written_segment(void **s)
{
    (void)s;
    char dir[512];
    snprintf(dir, sizeof dir, "%s/pickles", SHMC_TEST_DATA);
    DIR *d = opendir(dir);
    assert_non_null(d);
    struct dirent *e;
    int written = 0;
    while ((e = readdir(d))) {
        if (strncmp(e->d_name, "pd", 2) || !strstr(e->d_name, ".pkl") ||
            strstr(e->d_name, "refuse") || strstr(e->d_name, "oob"))
            continue;
        size_t len;
        uint8_t *buf = load(e->d_name, &len);
        shmc_frame *fr;
        assert_int_equal(shmc_frame_create(&fr), SHMC_OK);
        int rc = shmc_frame_from_pickle(fr, buf, len, NULL, NULL, 0, NULL);
        if (rc) fail_msg("%s: %s", e->d_name, shmc_frame_errmsg(fr));
        uint8_t *seg_bytes;
        size_t seg_len;
        rc = hc_write_to_buffer(fr, NULL, &seg_bytes, &seg_len);
        if (rc) fail_msg("%s: write: %s", e->d_name, shmc_frame_errmsg(fr));
        shmc_segment *seg;
        assert_int_equal(shmc_segment_create(&seg), SHMC_OK);
        assert_int_equal(shmc_segment_open_buffer(seg, seg_bytes, seg_len, SHMC_OPEN_VERIFY_ALL),
                         SHMC_OK);
        shmc_segment_info info;
        assert_int_equal(shmc_segment_info_get(seg, &info), SHMC_OK);
        int none = strstr(e->d_name, "_empty_") || strstr(e->d_name, "_zero_rows_");
        assert_int_equal(info.nrows, none ? 0 : strstr(e->d_name, "_sparse_int_") ? 4 : N);
        if (strstr(e->d_name, "_numeric_")) {
            shmc_column_info ci;
            assert_int_equal(shmc_segment_column_info(seg, 0, &ci), SHMC_OK);
            assert_string_equal(ci.dtype, "int64");
            size_t vlen;
            uint8_t *v = hc_decode_role(seg, 0, SHMC_ROLE_VALUES, &vlen);
            assert_int_equal(vlen, N * 8);
            for (int i = 0; i < N; i++) assert_int_equal(i64_at(v, (size_t)i), i * 3 - 7);
            free(v);
        }
        if (strstr(e->d_name, "_nullable_")) {
            shmc_column_info ci;
            assert_int_equal(shmc_segment_column_info(seg, 0, &ci), SHMC_OK);
            assert_string_equal(ci.dtype, "Int64");
            assert_int_equal(ci.null_count, 2);
        }
        shmc_segment_free(seg);
        free(seg_bytes);
        shmc_frame_free(fr);
        free(buf);
        written++;
    }
    closedir(d);
    assert_true(written >= 150);
}

/* ---- hostile inputs (issue 12; tests/regressions/pickle_read, made by
 * tools/make_hostile_pickles.py): each is refused with a message naming the
 * construct and its byte offset, or read with the values pandas would show. */
static int run_regression(run *x, const char *name)
{
    char rel[256];
    snprintf(rel, sizeof rel, "../../regressions/pickle_read/%s", name);
    return run_file(x, rel);
}

static void test_hostile_refused(void **s)
{
    (void)s;
    static const struct {
        const char *file;
        int status;
        const char *msg;
    } cases[] = {
        {"multiindex-codes-dtype-i999-stack-overflow", SHMC_ERR_UNSUPPORTED,
         "pickle byte 3013: numpy dtype 'i999'"},
        {"masked-mask-dtype-b0-reads-past-empty-bytes", SHMC_ERR_UNSUPPORTED,
         "pickle byte 2407: numpy dtype 'b0'"},
        {"fortran-block-dtype-i0-gather-hang", SHMC_ERR_UNSUPPORTED,
         "pickle byte 206: numpy dtype 'i0'"},
        {"frozenset-as-reduce-args-null-item", SHMC_ERR_UNSUPPORTED,
         "pickle byte 207: unsupported construct _codecs.encode as a byte buffer"},
        {"frozenset-as-arrow-buffers-null-item", SHMC_ERR_UNSUPPORTED,
         "pickle byte 299: unsupported construct frozenset as pyarrow array buffers"},
        {"frozenset-as-multiindex-names-null-item", SHMC_ERR_UNSUPPORTED,
         "pickle byte 969: unsupported construct frozenset as MultiIndex names"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        run x;
        assert_true(run_regression(&x, cases[i].file));
        if (x.status != cases[i].status || !strstr(x.msg, cases[i].msg))
            fail_msg("%s: status %d, message '%s'; want %d, '%s'", cases[i].file, x.status, x.msg,
                     cases[i].status, cases[i].msg);
        assert_int_equal(x.r.ncols, 0); /* refused before the first column */
        run_free(&x);
    }
}

/* Level 1 is RangeIndex(-2**63, 2**63 - 1, 2**62) taken by codes [3, 2]. */
static void test_hostile_range_level(void **s)
{
    (void)s;
    run x;
    assert_true(run_regression(&x, "rangeindex-level-int64-min-step-2e62-overflow"));
    assert_int_equal(x.status, SHMC_OK);
    rec_col *n = col(&x.r, "n");
    check_kind(n, SHMC_KIND_INT64, "int64");
    assert_int_equal(i64_at(n->d.values, 0), (int64_t)1 << 62);
    assert_int_equal(i64_at(n->d.values, 1), 0);
    run_free(&x);
}

/* Bool bytes 2 and 255 and a mask byte 2 come out as 1 (numpy's truth value). */
static void test_hostile_bools(void **s)
{
    (void)s;
    run x;
    assert_true(run_regression(&x, "bool-values-and-mask-bytes-not-0-1"));
    assert_int_equal(x.status, SHMC_OK);
    rec_col *b = col(&x.r, "b"), *m = col(&x.r, "m");
    check_kind(b, SHMC_KIND_BOOL, "bool");
    static const uint8_t want_b[3] = {1, 0, 1}, want_m[3] = {0, 1, 0};
    assert_memory_equal(b->d.values, want_b, 3);
    check_kind(m, SHMC_KIND_INT64, "Int64");
    assert_memory_equal(m->d.mask, want_m, 3);
    run_free(&x);
}

/* Sparse[int64] [0, 0, 1, 0] (refused until issue 15): one stored value at row 2. */
static void test_sparse_int(void **s)
{
    (void)s;
    run x;
    assert_true(run_file(&x, "pd31_sparse_int_p5.pkl"));
    assert_int_equal(x.status, SHMC_OK);
    rec_col *a = col(&x.r, "a");
    check_kind(a, SHMC_KIND_SPARSE, "Sparse[int64, 0]");
    assert_int_equal(a->d.nsparse, 1);
    assert_int_equal(a->d.sparse_index[0], 2);
    assert_int_equal(i64_at(a->d.values, 0), 1);
    assert_int_equal(i64_at(a->cats.values, 0), 0);
    run_free(&x);
}

/* Issue 15: Sparse[float64, nan], Sparse[int64, 0], Sparse[bool, False] (pandas 2.2, 3.1). */
static void sparse_fn(run *x, const char *tag, int proto)
{
    (void)tag, (void)proto;
    ok_range(x, 3);
    rec_col *sf = col(&x->r, "sf"), *si = col(&x->r, "si"), *sb = col(&x->r, "sb");
    check_kind(sf, SHMC_KIND_SPARSE, "Sparse[float64, nan]");
    check_kind(si, SHMC_KIND_SPARSE, "Sparse[int64, 0]");
    check_kind(sb, SHMC_KIND_SPARSE, "Sparse[bool, False]");
    assert_int_equal(sf->d.code_kind, SHMC_KIND_FLOAT64);
    assert_true(isnan(f64_at(sf->cats.values, 0)));
    assert_int_equal(sf->d.nsparse, 3);
    for (int k = 0; k < 3; k++) {
        assert_int_equal(sf->d.sparse_index[k], 2 * k);
        assert_true(f64_at(sf->d.values, (size_t)k) == 2 * k * 1.5);
    }
    assert_int_equal(si->d.nsparse, 2);
    assert_int_equal(si->d.sparse_index[0], 1);
    assert_int_equal(si->d.sparse_index[1], 4);
    assert_int_equal(i64_at(si->d.values, 1), 28);
    assert_int_equal(i64_at(si->cats.values, 0), 0);
    assert_int_equal(sb->d.nsparse, 2);
    assert_int_equal(sb->d.sparse_index[1], 3);
    assert_int_equal(((const uint8_t *)sb->cats.values)[0], 0);
}

static void test_sparse(void **s)
{
    (void)s;
    each_n("sparse", sparse_fn, 8);
}

/* Issue 15: SparseArray(kind="block") (pandas 2.2, 3.1): the blocks become row numbers. */
static void sparse_block_fn(run *x, const char *tag, int proto)
{
    (void)tag, (void)proto;
    ok_range(x, 2);
    rec_col *sb = col(&x->r, "sb"), *si = col(&x->r, "si");
    check_kind(sb, SHMC_KIND_SPARSE, "Sparse[float64, nan]");
    check_kind(si, SHMC_KIND_SPARSE, "Sparse[int64, 0]");
    static const int32_t rows_b[] = {0, 1, 3, 4}, rows_i[] = {1, 4};
    assert_int_equal(sb->d.nsparse, 4);
    for (int k = 0; k < 4; k++) {
        assert_int_equal(sb->d.sparse_index[k], rows_b[k]);
        assert_true(f64_at(sb->d.values, (size_t)k) == rows_b[k] * 1.5);
    }
    assert_int_equal(si->d.nsparse, 2);
    for (int k = 0; k < 2; k++) assert_int_equal(si->d.sparse_index[k], rows_i[k]);
    assert_int_equal(i64_at(si->d.values, 1), 28);
}

static void test_sparse_block(void **s)
{
    (void)s;
    each_n("sparse_block", sparse_block_fn, 8);
}

/* Issue 15: a PeriodIndex row index (period[M], ordinals 600 + i). */
static void index_period_fn(run *x, const char *tag, int proto)
{
    (void)tag, (void)proto;
    rec_col *ix = row_index(x, "p");
    check_kind(ix, SHMC_KIND_PERIOD, "period[M]");
    for (int i = 0; i < N; i++) assert_int_equal(i64_at(ix->d.values, (size_t)i), 600 + i);
}

static void test_index_period(void **s)
{
    (void)s;
    each_n("index_period", index_period_fn, 8);
}

/* Issue 15: an IntervalIndex row index ([i, i + 1], int64, closed both). */
static void index_interval_fn(run *x, const char *tag, int proto)
{
    (void)tag, (void)proto;
    rec_col *ix = row_index(x, "iv");
    check_kind(ix, SHMC_KIND_INTERVAL, "interval[int64, both]");
    assert_int_equal(ix->d.code_kind, SHMC_KIND_INT64);
    assert_int_equal(ix->d.flags & (SHMC_COL_CLOSED_LEFT | SHMC_COL_CLOSED_RIGHT),
                     SHMC_COL_CLOSED_LEFT | SHMC_COL_CLOSED_RIGHT);
    for (int i = 0; i < N; i++) {
        assert_int_equal(i64_at(ix->d.values, (size_t)i), i);
        assert_int_equal(i64_at(ix->d.right, (size_t)i), i + 1);
    }
}

static void test_index_interval(void **s)
{
    (void)s;
    each_n("index_interval", index_interval_fn, 8);
}

/* A fixture with `find` replaced by `repl` (same length) at its first place: the
 * recogniser refuses it with `status` and a message holding `why`. */
static void expect_patched_refused(const char *file, const void *find, const void *repl, size_t n,
                                   int status, const char *why)
{
    run x;
    memset(&x, 0, sizeof x);
    x.buf = load(file, &x.len);
    uint8_t *at = memmem(x.buf, x.len, find, n);
    assert_non_null(at);
    memcpy(at, repl, n);
    assert_int_equal(shmc_frame_create(&x.frame), SHMC_OK);
    shmc_pf_sink sink = {&x.r, rec_nrows, rec_add, rec_range, rec_colname, NULL, NULL};
    shmc_pk_input in = {x.buf, x.len, NULL, NULL, 0};
    assert_int_equal(shmc_pf_read(x.frame, &sink, &in, NULL), status);
    if (!strstr(shmc_frame_errmsg(x.frame), why))
        fail_msg("'%s' lacks '%s'", shmc_frame_errmsg(x.frame), why);
    run_free(&x);
}

/* Row numbers out of order are refused before anything is stored. */
static void test_sparse_unsorted(void **s)
{
    (void)s;
    /* one entry: make the array claim the row beyond the length (4) */
    expect_patched_refused("pd31_sparse_int_p5.pkl", "\x02\0\0\0", "\x09\0\0\0", 4, SHMC_ERR_PICKLE,
                           "sparse row number 9");
}

/* Malformed block indexes, each refused before a row number is written: a block that
 * overlaps the one before, an empty one, one past the length, and blocks that hold
 * more rows than there are values. (sb: blocs [0, 3], blengths [2, 2], length 5.) */
static void test_sparse_block_hostile(void **s)
{
    (void)s;
    static const struct {
        const char *find, *repl, *why;
    } cases[] = {
        {"\0\0\0\0\3\0\0\0", "\0\0\0\0\1\0\0\0", "sparse block 1 [1, +2) is not after 2"},
        {"\2\0\0\0\2\0\0\0", "\2\0\0\0\0\0\0\0", "sparse block 1 [3, +0)"},
        {"\0\0\0\0\3\0\0\0", "\0\0\0\0\4\0\0\0", "below 5"},
        {"\2\0\0\0\2\0\0\0", "\1\0\0\0\2\0\0\0", "sparse blocks hold 3 rows for 4 values"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        expect_patched_refused("pd31_sparse_block_p5.pkl", cases[i].find, cases[i].repl, 8,
                               SHMC_ERR_PICKLE, cases[i].why);
}

/* Issue 15: period[D] / period[M] (pandas 2.2 and 3.1 fixtures, protocols 2-5). */
static void periods_fn(run *x, const char *tag, int proto)
{
    (void)tag, (void)proto;
    ok_range(x, 2);
    rec_col *pd_ = col(&x->r, "pd"), *pm = col(&x->r, "pm");
    check_kind(pd_, SHMC_KIND_PERIOD, "period[D]");
    check_kind(pm, SHMC_KIND_PERIOD, "period[M]");
    for (int i = 0; i < N; i++) {
        assert_int_equal(i64_at(pd_->d.values, (size_t)i), i == 2 ? INT64_MIN : 18262 + i);
        assert_int_equal(i64_at(pm->d.values, (size_t)i), i == 3 ? INT64_MIN : 600 + i);
    }
}

static void test_periods(void **s)
{
    (void)s;
    each_n("periods", periods_fn, 8);
}

/* Issue 15: interval[int64, right], [float64, both], [datetime64[ns], left], [.., UTC], neither. */
static void intervals_fn(run *x, const char *tag, int proto)
{
    (void)tag, (void)proto;
    ok_range(x, 4);
    const uint32_t both = SHMC_COL_CLOSED_LEFT | SHMC_COL_CLOSED_RIGHT;
    rec_col *ii = col(&x->r, "ii"), *if_ = col(&x->r, "if"), *it = col(&x->r, "it"),
            *iz = col(&x->r, "iz");
    check_kind(ii, SHMC_KIND_INTERVAL, "interval[int64, right]");
    check_kind(if_, SHMC_KIND_INTERVAL, "interval[float64, both]");
    check_kind(it, SHMC_KIND_INTERVAL, "interval[datetime64[ns], left]");
    check_kind(iz, SHMC_KIND_INTERVAL, "interval[datetime64[ns, UTC], neither]");
    assert_int_equal(ii->d.flags & both, SHMC_COL_CLOSED_RIGHT);
    assert_int_equal(if_->d.flags & both, both);
    assert_int_equal(it->d.flags & both, SHMC_COL_CLOSED_LEFT);
    assert_int_equal(iz->d.flags & both, 0);
    assert_int_equal(ii->d.code_kind, SHMC_KIND_INT64);
    assert_int_equal(if_->d.code_kind, SHMC_KIND_FLOAT64);
    assert_int_equal(it->d.code_kind, SHMC_KIND_DATETIME);
    assert_int_equal(it->d.unit, SHMC_UNIT_NS);
    assert_string_equal(iz->tz, "UTC");
    for (int i = 0; i < N; i++) {
        assert_int_equal(i64_at(ii->d.values, (size_t)i), i);
        assert_int_equal(i64_at(ii->d.right, (size_t)i), 2 * i + 1);
        if (i == 1) assert_true(isnan(f64_at(if_->d.values, 1)) && isnan(f64_at(if_->d.right, 1)));
        else {
            assert_true(f64_at(if_->d.values, (size_t)i) == i * 0.5);
            assert_true(f64_at(if_->d.right, (size_t)i) == i * 0.5 + 1);
        }
        int64_t l = i == 3 ? INT64_MIN : i * 1000000000LL,
                r = i == 3 ? INT64_MIN : l + 1000000000LL;
        assert_int_equal(i64_at(it->d.values, (size_t)i), l);
        assert_int_equal(i64_at(it->d.right, (size_t)i), r);
        assert_int_equal(i64_at(iz->d.values, (size_t)i), l);
        assert_int_equal(i64_at(iz->d.right, (size_t)i), r);
    }
}

static void test_intervals(void **s)
{
    (void)s;
    each_n("intervals", intervals_fn, 8);
}

/* An IntervalDtype whose closed side is not one of the four is refused by name. */
static void test_interval_bad_closed(void **s)
{
    (void)s;
    expect_patched_refused("pd22_intervals_p5.pkl", "\x8c\x07neither", "\x8c\x07nEither", 9,
                           SHMC_ERR_UNSUPPORTED, "an interval's closed side");
}

/* A frequency outside the segment's vocabulary is refused, naming the construct. */
static void test_period_bad_freq(void **s)
{
    (void)s;
    expect_patched_refused("pd31_periods_p5.pkl", "period[D]", "period[;]", 9, SHMC_ERR_UNSUPPORTED,
                           "a period frequency");
}

static void test_labels(void **s)
{
    (void)s;
    each("labels", labels_fn);
}
static void test_columns_multi(void **s)
{
    (void)s;
    each("columns_multi", columns_multi_fn);
}
static void test_refuse_pyobj(void **s)
{
    (void)s;
    each("refuse_pyobj", pyobj_fn);
}
static void test_refuse_mixnull(void **s)
{
    (void)s;
    each("refuse_mixnull", mixnull_fn);
}
static void test_refuse_na(void **s)
{
    (void)s;
    each("refuse_na", na_fn);
}

/* ---- pd.ArrowDtype columns (issue 15): SHMC_KIND_ARROW descriptors as Python's
 * writer makes them; fixtures arrow_* of pandas 2.2 and 3.1, row 1 null. */
static int valid_at(const shmc_column_desc *d, uint64_t i)
{
    uint64_t b = d->validity_offset + i;
    return !d->validity || ((d->validity[b >> 3] >> (b & 7)) & 1);
}

static void check_arrow(rec_col *c, const char *fmt, const char *dtype)
{
    assert_int_equal(c->d.kind, SHMC_KIND_ARROW);
    assert_non_null(c->d.arrow);
    assert_string_equal(c->d.arrow, fmt);
    assert_string_equal(c->dtype, dtype);
    assert_null(c->d.mask);
    assert_null(c->d.tz);
    assert_int_equal(c->d.unit, 0);
}

/* Row 1 is the only null (validity present) or there are none (no validity). */
static void check_null_row1(const shmc_column_desc *d, size_t n)
{
    assert_non_null(d->validity);
    for (size_t i = 0; i < n; i++) assert_int_equal(valid_at(d, i), i != 1);
}

/* Fixed-width value i as a little-endian signed integer of w bytes. */
static int64_t int_at(const void *p, size_t i, size_t w)
{
    uint64_t u = 0;
    memcpy(&u, (const uint8_t *)p + i * w, w);
    if (w < 8 && (u >> (8 * w - 1)) & 1) u |= ~(uint64_t)0 << (8 * w);
    return (int64_t)u;
}

/* Variable-size value i of an Arrow column (offsets of `w` bytes). */
static void check_var(const shmc_column_desc *d, size_t i, size_t w, const char *want)
{
    int64_t a = int_at(d->offsets, i, w), e = int_at(d->offsets, i + 1, w);
    assert_int_equal((size_t)(e - a), strlen(want));
    assert_memory_equal(d->data + a, want, strlen(want));
}

static void arrow_num_fn(run *x, const char *tag, int proto)
{
    (void)tag, (void)proto;
    static const struct {
        const char *label, *fmt;
        size_t w;
        int64_t mul, add;
    } ints[] = {{"int8", "c", 1, 3, -7},  {"int16", "s", 2, 3, -7}, {"int32", "i", 4, 3, -7},
                {"int64", "l", 8, 3, -7}, {"uint8", "C", 1, 3, 0},  {"uint16", "S", 2, 3, 0},
                {"uint32", "I", 4, 3, 0}, {"uint64", "L", 8, 3, 0}};
    ok_range(x, 13);
    for (size_t k = 0; k < sizeof ints / sizeof *ints; k++) {
        rec_col *c = col(&x->r, ints[k].label);
        char dt[40];
        snprintf(dt, sizeof dt, "%s[pyarrow]", ints[k].label);
        check_arrow(c, ints[k].fmt, dt);
        check_null_row1(&c->d, N);
        for (size_t i = 0; i < N; i++)
            if (i != 1)
                assert_int_equal(int_at(c->d.values, i, ints[k].w),
                                 (int64_t)i * ints[k].mul + ints[k].add);
    }
    rec_col *h = col(&x->r, "float16"), *f = col(&x->r, "float32"), *g = col(&x->r, "float64");
    check_arrow(h, "e", "halffloat[pyarrow]");
    check_arrow(f, "f", "float[pyarrow]");
    check_arrow(g, "g", "double[pyarrow]");
    assert_int_equal(int_at(h->d.values, 2, 2), 0x3c00); /* 1.0 in binary16 */
    for (size_t i = 0; i < N; i++)
        if (i != 1) {
            assert_true(f32_at(f->d.values, i) == 0.5f * (float)i);
            assert_true(f64_at(g->d.values, i) == 0.5 * (double)i);
        }
    rec_col *b = col(&x->r, "bool"), *nn = col(&x->r, "nonull");
    check_arrow(b, "b", "bool[pyarrow]");
    check_null_row1(&b->d, N);
    for (size_t i = 0; i < N; i++) {
        uint64_t bit = b->d.values_bit_offset + i;
        if (i != 1)
            assert_int_equal((((const uint8_t *)b->d.values)[bit >> 3] >> (bit & 7)) & 1,
                             i % 2 == 0);
    }
    check_arrow(nn, "l", "int64[pyarrow]");
    assert_null(nn->d.validity); /* no nulls: no bitmap, as Python's writer */
    for (size_t i = 0; i < N; i++) assert_int_equal(i64_at(nn->d.values, i), (int64_t)i);
}

static void test_arrow_num(void **s)
{
    (void)s;
    each_n("arrow_num", arrow_num_fn, 8);
}

static void arrow_time_fn(run *x, const char *tag, int proto)
{
    (void)tag, (void)proto;
    static const char *const units[] = {"s", "ms", "us", "ns"};
    ok_range(x, 18);
    for (size_t u = 0; u < 4; u++) {
        char label[16], fmt[40], dt[64];
        char c = "smun"[u];
        snprintf(label, sizeof label, "ts_%s", units[u]);
        snprintf(fmt, sizeof fmt, "ts%c:", c);
        snprintf(dt, sizeof dt, "timestamp[%s][pyarrow]", units[u]);
        check_arrow(col(&x->r, label), fmt, dt);
        snprintf(label, sizeof label, "tz_%s", units[u]);
        snprintf(fmt, sizeof fmt, "ts%c:Europe/Paris", c);
        snprintf(dt, sizeof dt, "timestamp[%s, tz=Europe/Paris][pyarrow]", units[u]);
        rec_col *tz = col(&x->r, label);
        check_arrow(tz, fmt, dt);
        check_null_row1(&tz->d, N);
        assert_int_equal(i64_at(tz->d.values, 4), 4000);
        snprintf(label, sizeof label, "du_%s", units[u]);
        snprintf(fmt, sizeof fmt, "tD%c", c);
        snprintf(dt, sizeof dt, "duration[%s][pyarrow]", units[u]);
        rec_col *du = col(&x->r, label);
        check_arrow(du, fmt, dt);
        assert_int_equal(i64_at(du->d.values, 3), 21);
    }
    rec_col *d32 = col(&x->r, "date32"), *d64 = col(&x->r, "date64");
    check_arrow(d32, "tdD", "date32[day][pyarrow]");
    check_arrow(d64, "tdm", "date64[ms][pyarrow]");
    assert_int_equal(i32_at(d32->d.values, 4), 40);
    assert_int_equal(i64_at(d64->d.values, 2), 2 * 86400000LL);
    check_arrow(col(&x->r, "time32s"), "tts", "time32[s][pyarrow]");
    check_arrow(col(&x->r, "time32ms"), "ttm", "time32[ms][pyarrow]");
    check_arrow(col(&x->r, "time64us"), "ttu", "time64[us][pyarrow]");
    rec_col *t = col(&x->r, "time64ns");
    check_arrow(t, "ttn", "time64[ns][pyarrow]");
    assert_int_equal(i64_at(t->d.values, 3), 3000);
}

static void test_arrow_time(void **s)
{
    (void)s;
    each_n("arrow_time", arrow_time_fn, 8);
}

static void arrow_var_fn(run *x, const char *tag, int proto)
{
    (void)tag, (void)proto;
    static const char *const strs[] = {"s0", NULL, "s2", "\xc3\xa9t\xc3\xa9", "s4"};
    ok_range(x, 9);
    rec_col *d1 = col(&x->r, "dec128"), *d2 = col(&x->r, "dec256");
    check_arrow(d1, "d:10,2", "decimal128(10, 2)[pyarrow]");
    check_arrow(d2, "d:40,5,256", "decimal256(40, 5)[pyarrow]");
    for (size_t i = 0; i < N; i++) {
        if (i == 1) continue;
        assert_int_equal(int_at(d1->d.values, 2 * i, 8), 125 * (int64_t)i); /* low word */
        assert_int_equal(int_at(d2->d.values, 4 * i, 8), 125000 * (int64_t)i);
    }
    static const struct {
        const char *label, *fmt, *dtype;
        size_t w;
    } var[] = {{"string", "u", "string[pyarrow]", 4},
               {"large_string", "U", "large_string[pyarrow]", 8},
               {"binary", "z", "binary[pyarrow]", 4},
               {"large_binary", "Z", "large_binary[pyarrow]", 8}};
    for (size_t k = 0; k < 4; k++) {
        rec_col *c = col(&x->r, var[k].label);
        check_arrow(c, var[k].fmt, var[k].dtype);
        check_null_row1(&c->d, N);
        for (size_t i = 0; i < N; i++) {
            char b[8];
            snprintf(b, sizeof b, "b%zu", i);
            if (i != 1)
                check_var(&c->d, i, var[k].w,
                          var[k].fmt[0] == 'z' || var[k].fmt[0] == 'Z' ? b : strs[i]);
        }
    }
    rec_col *w = col(&x->r, "fsb");
    check_arrow(w, "w:3", "fixed_size_binary[3][pyarrow]");
    assert_memory_equal((const uint8_t *)w->d.values + 3 * 4, "\x04\x04\x04", 3);
    rec_col *d8 = col(&x->r, "dict8"), *d32 = col(&x->r, "dict32o");
    check_arrow(d8, "c", "dictionary<values=string, indices=int8, ordered=0>[pyarrow]");
    assert_int_equal(d8->d.ncategories, 2);
    assert_int_equal(d8->d.flags & SHMC_COL_ORDERED, 0);
    assert_int_equal(d8->cats.kind, SHMC_KIND_ARROW);
    assert_string_equal(d8->cats.arrow, "u");
    assert_null(d8->cats.categories);
    check_var(&d8->cats, 0, 4, "x");
    check_var(&d8->cats, 1, 4, "y");
    check_null_row1(&d8->d, N);
    static const int64_t codes[] = {0, -1, 1, 0, 1};
    for (size_t i = 0; i < N; i++)
        if (i != 1) assert_int_equal(int_at(d8->d.values, i, 1), codes[i]);
    check_arrow(d32, "i", "dictionary<values=string, indices=int32, ordered=1>[pyarrow]");
    assert_int_equal(d32->d.flags & SHMC_COL_ORDERED, SHMC_COL_ORDERED);
    assert_int_equal(d32->d.ncategories, 2);
    check_var(&d32->cats, 1, 4, "hi");
    assert_int_equal(i32_at(d32->d.values, 3), 1);
}

static void test_arrow_var(void **s)
{
    (void)s;
    each_n("arrow_var", arrow_var_fn, 8);
}

/* df.iloc[3:] of 8 rows (row 4 null). pandas' own pickles hold the slice copied to
 * offset 0; the arrow_offset fixtures hold pyarrow's pickle of the sliced arrays
 * (offset 3), applied to validity, bits, fixed-width values, offsets and indices. */
static void check_eight(run *x, uint64_t off)
{
    ok_range(x, 4);
    assert_int_equal(x->r.start, 3);
    rec_col *i64 = col(&x->r, "i64"), *b = col(&x->r, "bool"), *st = col(&x->r, "string"),
            *d = col(&x->r, "dict");
    check_arrow(i64, "l", "int64[pyarrow]");
    check_arrow(b, "b", "bool[pyarrow]");
    check_arrow(st, "u", "string[pyarrow]");
    check_arrow(d, "i", "dictionary<values=string, indices=int32, ordered=0>[pyarrow]");
    for (size_t i = 0; i < N; i++) {
        int64_t j = (int64_t)i + 3;
        assert_int_equal(valid_at(&i64->d, i), j != 4);
        assert_int_equal(valid_at(&b->d, i), j != 4);
        assert_int_equal(valid_at(&st->d, i), j != 4);
        assert_int_equal(valid_at(&d->d, i), j != 4);
        if (j == 4) continue;
        assert_int_equal(i64_at(i64->d.values, i), 3 * j - 7);
        uint64_t bit = b->d.values_bit_offset + i;
        assert_int_equal((((const uint8_t *)b->d.values)[bit >> 3] >> (bit & 7)) & 1, j % 3 == 0);
        char want[8];
        snprintf(want, sizeof want, "s%lld", (long long)j);
        check_var(&st->d, i, 4, want);
        int64_t code = int_at(d->d.values, i, 4); /* dictionary_encode: int32 indices */
        check_var(&d->cats, (size_t)code, 4, j % 3 == 0 ? "a" : j % 3 == 1 ? "b" : "c");
    }
    assert_int_equal(b->d.values_bit_offset, off);
    assert_int_equal(b->d.validity_offset, off);
    assert_int_equal(st->d.validity_offset, off);
    assert_int_equal(d->d.validity_offset, off);
    if (off) assert_int_equal(i32_at(st->d.offsets, 0), 6); /* "s0" "s1" "s2" before */
}

static void arrow_slice_fn(run *x, const char *tag, int proto)
{
    (void)tag, (void)proto;
    check_eight(x, 0);
}

static void arrow_offset_fn(run *x, const char *tag, int proto)
{
    (void)tag, (void)proto;
    check_eight(x, 3);
}

static void test_arrow_slice(void **s)
{
    (void)s;
    each_n("arrow_slice", arrow_slice_fn, 8);
}

static void test_arrow_offset(void **s)
{
    (void)s;
    each_n("arrow_offset", arrow_offset_fn, 8);
}

static void arrow_empty_fn(run *x, const char *tag, int proto)
{
    (void)tag, (void)proto;
    assert_int_equal(x->status, SHMC_OK);
    assert_int_equal(x->r.nrows, 0);
    assert_int_equal(x->r.ncols, 9);
    for (int i = 0; i < x->r.ncols; i++) {
        assert_int_equal(x->r.cols[i].d.kind, SHMC_KIND_ARROW);
        assert_null(x->r.cols[i].d.validity);
    }
    assert_int_equal(col(&x->r, "dict8")->d.ncategories, 2); /* the dictionary stays */
}

static void test_arrow_empty(void **s)
{
    (void)s;
    each_n("arrow_empty", arrow_empty_fn, 8);
}

/* A ChunkedArray of one chunk is read; the same array node as two columns too. */
static void test_arrow_chunked_and_shared(void **s)
{
    (void)s;
    run x;
    assert_true(run_regression(&x, "arrow-chunked-one-chunk"));
    assert_int_equal(x.status, SHMC_OK);
    check_arrow(col(&x.r, "a"), "l", "int64[pyarrow]");
    for (size_t i = 0; i < 4; i++) assert_int_equal(i64_at(col(&x.r, "a")->d.values, i), i + 1);
    run_free(&x);
    assert_true(run_regression(&x, "arrow-same-array-two-columns"));
    assert_int_equal(x.status, SHMC_OK);
    assert_ptr_equal(col(&x.r, "a")->d.values, col(&x.r, "b")->d.values);
    run_free(&x);
}

/* Malformed Arrow arrays (tools/make_hostile_pickles.py arrow): each refused, the
 * message naming the column, the byte offset and the construct. */
static void expect_arrow_refused(const char *file, int status, const char *msg)
{
    run x;
    assert_true(run_regression(&x, file));
    if (x.status != status || !strstr(x.msg, msg))
        fail_msg("%s: status %d, message '%s'; want %d, '%s'", file, x.status, x.msg, status, msg);
    assert_int_equal(x.r.ncols, 0);
    run_free(&x);
}

static void test_arrow_bad_buffer_count(void **s)
{
    (void)s;
    expect_arrow_refused("arrow-three-buffers-for-int64", SHMC_ERR_PICKLE,
                         "column 0 'a': pickle byte 307: pyarrow array of Arrow int64 has 3 "
                         "buffers (2 expected)");
}

static void test_arrow_short_buffer(void **s)
{
    (void)s;
    expect_arrow_refused("arrow-values-buffer-short", SHMC_ERR_PICKLE,
                         "column 0 'a': pickle byte 288: pyarrow values buffer of 16 bytes is too "
                         "short for 4 rows at offset 0");
}

static void test_arrow_offset_overflow(void **s)
{
    (void)s;
    expect_arrow_refused("arrow-offset-2e63-wraps-buffer-size", SHMC_ERR_PICKLE,
                         "column 0 'a': pickle byte 312: pyarrow values buffer of 32 bytes is too "
                         "short for 4 rows at offset 9223372036854775807");
}

static void test_arrow_huge_length(void **s)
{
    (void)s;
    expect_arrow_refused("arrow-length-2e62", SHMC_ERR_PICKLE,
                         "column 0 'a': pickle byte 312: pyarrow values buffer of 32 bytes is too "
                         "short for 4611686018427387904 rows");
}

static void test_arrow_offsets_decrease(void **s)
{
    (void)s;
    expect_arrow_refused("arrow-string-offsets-decrease", SHMC_ERR_PICKLE,
                         "column 0 'a': pickle byte 300: pyarrow offset 2 is 1 (previous 2");
}

static void test_arrow_offset_past_data(void **s)
{
    (void)s;
    expect_arrow_refused("arrow-large-binary-offset-past-data", SHMC_ERR_PICKLE,
                         "column 0 'a': pickle byte 326: pyarrow offset 4 is 99 (previous 3, data "
                         "4 bytes)");
}

static void test_arrow_dtype_mismatch(void **s)
{
    (void)s;
    expect_arrow_refused("arrow-dtype-int32-array-int64", SHMC_ERR_PICKLE,
                         "column 0 'a': pickle byte 308: ArrowDtype is int32 but the array is "
                         "int64");
}

static void test_arrow_dictionary_float_indices(void **s)
{
    (void)s;
    expect_arrow_refused("arrow-dictionary-float-indices", SHMC_ERR_UNSUPPORTED,
                         "column 0 'a': pickle byte 462: pyarrow dictionary indices of type "
                         "double (an integer type is read)");
}

static void test_arrow_dictionary_index_range(void **s)
{
    (void)s;
    expect_arrow_refused("arrow-dictionary-index-out-of-range", SHMC_ERR_PICKLE,
                         "column 0 'a': pickle byte 358: pyarrow dictionary index at row 2 is 5, "
                         "outside its 2 values");
}

static void test_arrow_dictionary_of_dictionary(void **s)
{
    (void)s;
    expect_arrow_refused("arrow-dictionary-of-dictionary", SHMC_ERR_UNSUPPORTED,
                         "column 0 'a': pickle byte 305: a pyarrow dictionary whose values or "
                         "indices are a dictionary");
}

static void test_arrow_nested_type(void **s)
{
    (void)s;
    expect_arrow_refused("arrow-nested-list-type", SHMC_ERR_UNSUPPORTED,
                         "column 0 'a': pickle byte 478: pyarrow type list_(...): a nested Arrow "
                         "type (list, struct, map, union)");
}

static void test_arrow_nulls_without_validity(void **s)
{
    (void)s;
    expect_arrow_refused("arrow-nulls-without-validity", SHMC_ERR_PICKLE,
                         "column 0 'a': pickle byte 304: pyarrow array has 1 nulls and no "
                         "validity");
}

static void test_arrow_chunked_two(void **s)
{
    (void)s;
    expect_arrow_refused("arrow-chunked-two-chunks", SHMC_ERR_UNSUPPORTED,
                         "column 0 'a': pickle byte 336: pyarrow ChunkedArray of 2 chunks");
}

static void test_arrow_zone_too_long(void **s)
{
    (void)s;
    expect_arrow_refused("arrow-timestamp-zone-300-bytes", SHMC_ERR_UNSUPPORTED,
                         "column 0 'a': pickle byte 244: unsupported construct str as a time zone "
                         "name (1..255 bytes, no NUL)");
}

static void test_arrow_type_without_layout(void **s)
{
    (void)s;
    expect_arrow_refused("arrow-type-null", SHMC_ERR_UNSUPPORTED,
                         "column 0 'a': pickle byte 348: pyarrow type 'null' is not an Arrow type "
                         "stored natively");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_numeric),
        cmocka_unit_test(test_wide_f),
        cmocka_unit_test(test_wide_c),
        cmocka_unit_test(test_index_int),
        cmocka_unit_test(test_index_range),
        cmocka_unit_test(test_index_dt),
        cmocka_unit_test(test_datetimes),
        cmocka_unit_test(test_categorical),
        cmocka_unit_test(test_nullable),
        cmocka_unit_test(test_strings),
        cmocka_unit_test(test_labels),
        cmocka_unit_test(test_index_str),
        cmocka_unit_test(test_index_multi),
        cmocka_unit_test(test_index_cat),
        cmocka_unit_test(test_legacy_manager),
        cmocka_unit_test(test_labels_mixed),
        cmocka_unit_test(test_empty),
        cmocka_unit_test(test_zero_rows),
        cmocka_unit_test(test_oob),
        cmocka_unit_test(test_arrow_sliced),
        cmocka_unit_test(test_written_segment),
        cmocka_unit_test(test_columns_multi),
        cmocka_unit_test(test_refuse_pyobj),
        cmocka_unit_test(test_refuse_mixnull),
        cmocka_unit_test(test_refuse_na),
        cmocka_unit_test(test_meta_freq),
        cmocka_unit_test(test_meta_attrs),
        cmocka_unit_test(test_meta_dup),
        cmocka_unit_test(test_refuse_meta),
        cmocka_unit_test(test_hostile_refused),
        cmocka_unit_test(test_hostile_range_level),
        cmocka_unit_test(test_hostile_bools),
        cmocka_unit_test(test_sparse_int),
        cmocka_unit_test(test_sparse),
        cmocka_unit_test(test_sparse_block),
        cmocka_unit_test(test_sparse_block_hostile),
        cmocka_unit_test(test_index_period),
        cmocka_unit_test(test_index_interval),
        cmocka_unit_test(test_sparse_unsorted),
        cmocka_unit_test(test_periods),
        cmocka_unit_test(test_period_bad_freq),
        cmocka_unit_test(test_intervals),
        cmocka_unit_test(test_interval_bad_closed),
        cmocka_unit_test(test_arrow_num),
        cmocka_unit_test(test_arrow_time),
        cmocka_unit_test(test_arrow_var),
        cmocka_unit_test(test_arrow_slice),
        cmocka_unit_test(test_arrow_offset),
        cmocka_unit_test(test_arrow_empty),
        cmocka_unit_test(test_arrow_chunked_and_shared),
        cmocka_unit_test(test_arrow_bad_buffer_count),
        cmocka_unit_test(test_arrow_short_buffer),
        cmocka_unit_test(test_arrow_offset_overflow),
        cmocka_unit_test(test_arrow_huge_length),
        cmocka_unit_test(test_arrow_offsets_decrease),
        cmocka_unit_test(test_arrow_offset_past_data),
        cmocka_unit_test(test_arrow_dtype_mismatch),
        cmocka_unit_test(test_arrow_dictionary_float_indices),
        cmocka_unit_test(test_arrow_dictionary_index_range),
        cmocka_unit_test(test_arrow_dictionary_of_dictionary),
        cmocka_unit_test(test_arrow_nested_type),
        cmocka_unit_test(test_arrow_nulls_without_validity),
        cmocka_unit_test(test_arrow_chunked_two),
        cmocka_unit_test(test_arrow_zone_too_long),
        cmocka_unit_test(test_arrow_type_without_layout),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
