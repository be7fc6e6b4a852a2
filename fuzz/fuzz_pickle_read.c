/* Fuzz target: the restricted pickle reader, through both public entry points
 * (a DataFrame pickle, and a list of str/None), with and without out-of-band
 * buffers and with tight limits. What it accepts must be a frame the writer's
 * checks accept too; and every buffer a recognised column points at is read in
 * full (the recogniser's own sink), so a descriptor claiming more bytes than
 * its buffer holds is an ASan finding even though the frame is never written. */
#include "arrow_format.h"
#include "fuzz_common.h"
#include "pickle_read.h"

static void check_frame(shmc_frame *frame)
{
    uint32_t nc = shmc_frame_ncolumns(frame);
    (void)shmc_frame_nrows(frame);
    FUZZ_CHECK(nc < (1u << 24), "implausible column count %u", nc);
    fuzz_touch_cstr(shmc_frame_errmsg(frame));
}

static void read_frame(const uint8_t *data, size_t size, const void *const *oob,
                       const size_t *oob_lens, size_t noob, const shmc_pickle_limits *lim)
{
    shmc_frame *frame = NULL;
    if (shmc_frame_create(&frame) != SHMC_OK) return;
    int rc = shmc_frame_from_pickle(frame, data, size, oob, oob_lens, noob, lim);
    if (rc == SHMC_OK) check_frame(frame);
    else FUZZ_CHECK(shmc_frame_errmsg(frame)[0] != '\0', "pickle error %d without message", rc);
    shmc_frame_free(frame);
}

static void check_strings(const shmc_column_desc *d, uint64_t nrows)
{
    FUZZ_CHECK(d->kind == SHMC_KIND_STRING, "kind %d", d->kind);
    FUZZ_CHECK(d->offsets != NULL, "no offsets for %llu rows", (unsigned long long)nrows);
    for (uint64_t i = 0; i < nrows; i++)
        FUZZ_CHECK(d->offsets[i] <= d->offsets[i + 1], "offsets decrease at row %llu",
                   (unsigned long long)i);
    int64_t len = d->offsets[nrows] - d->offsets[0];
    if (len > 0) fuzz_touch(d->data + d->offsets[0], (size_t)len);
    if (d->validity && nrows) fuzz_touch(d->validity, (size_t)((nrows + 7) / 8));
}

static void read_strings(const uint8_t *data, size_t size)
{
    shmc_frame *frame = NULL;
    if (shmc_frame_create(&frame) != SHMC_OK) return;
    shmc_column_desc d;
    memset(&d, 0, sizeof d);
    uint64_t nrows = 0;
    if (shmc_frame_strings_from_pickle(frame, data, size, &d, &nrows) == SHMC_OK) {
        check_strings(&d, nrows);
        /* the column the reader made is one the frame accepts */
        d.label.type = SHMC_LABEL_STR;
        d.label.str = "s";
        d.label.len = 1;
        FUZZ_CHECK(shmc_frame_set_nrows(frame, nrows) == SHMC_OK, "set_nrows");
        FUZZ_CHECK(shmc_frame_add_column(frame, &d) == SHMC_OK, "string column refused: %s",
                   shmc_frame_errmsg(frame));
    }
    shmc_frame_free(frame);
}

/* ---- every byte a descriptor promises ------------------------------------ */
static void touch_bools(const uint8_t *b, uint64_t n, const char *what)
{
    for (uint64_t i = 0; i < n; i++)
        FUZZ_CHECK(b[i] <= 1, "%s byte %llu is %u (the reader hands out 0/1 only)", what,
                   (unsigned long long)i, b[i]);
}

static int64_t arrow_int(const void *p, uint64_t i, uint32_t w)
{
    uint64_t u = 0;
    memcpy(&u, (const uint8_t *)p + i * w, w);
    if (w < 8 && (u >> (8 * w - 1)) & 1) u |= ~(uint64_t)0 << (8 * w);
    return (int64_t)u;
}

static int arrow_valid(const shmc_column_desc *d, uint64_t i)
{
    uint64_t b = d->validity_offset + i;
    return !d->validity || ((d->validity[b >> 3] >> (b & 7)) & 1);
}

/* An Arrow column: a format the table knows, every buffer byte its layout promises,
 * offsets ordered, valid dictionary indices inside the dictionary. */
static void touch_arrow(const shmc_column_desc *d, uint64_t n)
{
    shmc_arrow_layout l;
    const char *why;
    FUZZ_CHECK(shmc_arrow_layout_of(d->arrow, &l, &why) == 0, "Arrow format refused: %s", why);
    if (d->validity && n)
        fuzz_touch(d->validity + d->validity_offset / 8,
                   (size_t)((d->validity_offset % 8 + n + 7) / 8));
    if (l.shape == SHMC_ARROW_BITS && n)
        fuzz_touch((const uint8_t *)d->values + d->values_bit_offset / 8,
                   (size_t)((d->values_bit_offset % 8 + n + 7) / 8));
    if (l.shape == SHMC_ARROW_FIXED && n) fuzz_touch(d->values, (size_t)(n * l.width));
    if (l.shape == SHMC_ARROW_VAR) {
        FUZZ_CHECK(d->offsets != NULL && d->data != NULL, "Arrow %s without offsets/data", l.name);
        for (uint64_t i = 0; i < n; i++)
            FUZZ_CHECK(arrow_int(d->offsets, i, l.width) <= arrow_int(d->offsets, i + 1, l.width),
                       "Arrow offsets decrease at row %llu", (unsigned long long)i);
        int64_t a = arrow_int(d->offsets, 0, l.width), e = arrow_int(d->offsets, n, l.width);
        FUZZ_CHECK(a >= 0, "Arrow offset 0 is %lld", (long long)a);
        if (e > a) fuzz_touch(d->data + a, (size_t)(e - a));
    }
    for (uint64_t i = 0; d->categories && i < n; i++)
        if (arrow_valid(d, i)) {
            int64_t x = arrow_int(d->values, i, l.width);
            FUZZ_CHECK(l.integer && x >= 0 && (uint64_t)x < d->ncategories,
                       "Arrow dictionary index %lld at row %llu (%llu values)", (long long)x,
                       (unsigned long long)i, (unsigned long long)d->ncategories);
        }
}

static void touch_desc(const shmc_column_desc *d, uint64_t n, int depth)
{
    fuzz_touch_label(&d->label);
    fuzz_touch_cstr(d->dtype);
    fuzz_touch_cstr(d->tz);
    if (d->kind == SHMC_KIND_STRING) {
        FUZZ_CHECK(d->offsets != NULL, "string column without offsets");
        for (uint64_t i = 0; i < n; i++)
            FUZZ_CHECK(d->offsets[i] <= d->offsets[i + 1], "offsets decrease at row %llu",
                       (unsigned long long)i);
        if (n && d->offsets[n] > d->offsets[0])
            fuzz_touch(d->data + d->offsets[0], (size_t)(d->offsets[n] - d->offsets[0]));
        if (d->validity && n)
            fuzz_touch(d->validity + d->validity_offset / 8,
                       (size_t)((d->validity_offset % 8 + n + 7) / 8));
        return;
    }
    if (d->kind == SHMC_KIND_ARROW) touch_arrow(d, n);
    int vk = d->kind == SHMC_KIND_CATEGORICAL ? d->code_kind : d->kind;
    size_t s = shmc_kind_itemsize(vk);
    if (s && n) fuzz_touch(d->values, (size_t)n * s);
    if (vk == SHMC_KIND_BOOL && n) touch_bools(d->values, n, "bool value");
    if (d->mask && n) {
        fuzz_touch(d->mask, (size_t)n); /* every byte readable first, then 0/1 */
        touch_bools(d->mask, n, "mask");
    }
    if (d->categories && depth < 2) touch_desc(d->categories, d->ncategories, depth + 1);
}

typedef struct touch_sink {
    uint64_t nrows;
} touch_sink;

static int touch_nrows(void *u, uint64_t n)
{
    ((touch_sink *)u)->nrows = n;
    return SHMC_OK;
}
static int touch_add(void *u, const shmc_column_desc *d)
{
    touch_desc(d, ((touch_sink *)u)->nrows, 0);
    return SHMC_OK;
}
static int touch_range(void *u, int64_t a, int64_t s, const shmc_label *name)
{
    (void)u, (void)a, (void)s;
    fuzz_touch_label(name);
    return SHMC_OK;
}
static int touch_colname(void *u, const shmc_label *name)
{
    (void)u;
    fuzz_touch_label(name);
    return SHMC_OK;
}

static int touch_freq(void *u, const char *freq)
{
    (void)u;
    size_t n = strlen(freq); /* NUL-terminated, 1..32 of [A-Za-z0-9+-_]: the frame's rules */
    if (n == 0 || n > 32 ||
        strspn(freq, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
                     "0123456789+-_") != n)
        abort();
    return SHMC_OK;
}
static int touch_meta(void *u, const void *b, size_t n)
{
    (void)u;
    fuzz_touch(b, n);
    return SHMC_OK;
}

static void read_touching(const uint8_t *data, size_t size)
{
    shmc_frame *frame = NULL;
    if (shmc_frame_create(&frame) != SHMC_OK) return;
    touch_sink t = {0};
    shmc_pf_sink sink = {&t,         touch_nrows, touch_add, touch_range, touch_colname,
                         touch_freq, touch_meta};
    shmc_pk_input in = {data, size, NULL, NULL, 0};
    (void)shmc_pf_read(frame, &sink, &in, NULL);
    shmc_frame_free(frame);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* exact-size copy: the reader keeps pointers into its input */
    uint8_t *buf = fuzz_aligned_copy(data, size);
    if (!buf) return 0;
    shmc_pickle_limits none;
    memset(&none, 0, sizeof none);
    read_frame(buf, size, NULL, NULL, 0, &none);
    static const uint8_t b0[64], b1[3] = {1, 2, 3};
    const void *oob[2] = {b0, b1};
    const size_t oob_lens[2] = {sizeof b0, sizeof b1};
    shmc_pickle_limits tight = {
        .max_depth = 8, .max_memo = 64, .max_items = 1000, .max_alloc = 1 << 20};
    read_frame(buf, size, oob, oob_lens, 2, &tight);
    read_strings(buf, size);
    read_touching(buf, size);
    free(buf);
    return 0;
}
