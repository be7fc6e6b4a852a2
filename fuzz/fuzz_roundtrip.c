/* Fuzz target: build a small frame from the fuzz bytes (kinds, sizes, options
 * and values all chosen by the bytes), write it to a uniquely named shared-memory
 * segment, reopen it, decode every chunk and compare it with what went in; write
 * it again with another thread count and check the bytes after the header are
 * identical (output is deterministic). The segment is always unlinked. */
#include <unistd.h>

#include "fuzz_common.h"

#define MAX_ROWS 600
#define MAX_COLS 5

typedef struct src {
    const uint8_t *p;
    size_t len, pos;
} src;

/* Bytes run out gracefully: afterwards every draw is 0. */
static uint8_t take8(src *s) { return s->pos < s->len ? s->p[s->pos++] : 0; }
static uint32_t take16(src *s) { return (uint32_t)take8(s) | (uint32_t)take8(s) << 8; }
static void take_bytes(src *s, uint8_t *out, size_t n)
{
    for (size_t i = 0; i < n; i++) out[i] = take8(s);
}

/* Everything one column's descriptor borrows, so it can be freed afterwards. */
typedef struct col {
    shmc_column_desc d, dict;
    char label[16];
    uint8_t *values, *mask, *data, *validity, *dict_values;
    int64_t *offsets;
    void **blobs;
    size_t *blob_lens;
    size_t nblobs;
} col;

static const int fixed_kinds[] = {
    SHMC_KIND_BOOL,    SHMC_KIND_INT8,     SHMC_KIND_INT16,    SHMC_KIND_INT32,  SHMC_KIND_INT64,
    SHMC_KIND_UINT8,   SHMC_KIND_UINT16,   SHMC_KIND_UINT32,   SHMC_KIND_UINT64, SHMC_KIND_FLOAT32,
    SHMC_KIND_FLOAT64, SHMC_KIND_DATETIME, SHMC_KIND_TIMEDELTA};
#define NFIXED (sizeof fixed_kinds / sizeof fixed_kinds[0])

static void make_fixed(src *s, col *c, uint64_t nrows, int kind)
{
    size_t isz = shmc_kind_itemsize(kind), n = (size_t)nrows * isz;
    c->d.kind = kind;
    c->values = calloc(1, n + 1);
    take_bytes(s, c->values, n);
    if (kind == SHMC_KIND_BOOL)
        for (size_t i = 0; i < n; i++) c->values[i] &= 1;
    if (kind == SHMC_KIND_DATETIME || kind == SHMC_KIND_TIMEDELTA) {
        c->d.unit = 1 + take8(s) % 4;
        if (kind == SHMC_KIND_DATETIME && (take8(s) & 1)) c->d.tz = "Europe/Paris";
    }
    c->d.values = c->values;
    if (take8(s) & 1) { /* nullable: 0/1 mask */
        c->mask = calloc(1, (size_t)nrows + 1);
        for (size_t i = 0; i < nrows; i++) c->mask[i] = take8(s) & 1;
        c->d.mask = c->mask;
    }
}

/* String buffers into (offsets, data, validity); returns the data length. */
static void make_strings(src *s, shmc_column_desc *d, uint64_t nrows, int64_t **offsets,
                         uint8_t **data, uint8_t **validity)
{
    int64_t base = take8(s) % 5; /* offsets[0] may be nonzero */
    *offsets = calloc((size_t)nrows + 1, sizeof **offsets);
    (*offsets)[0] = base;
    for (size_t i = 0; i < nrows; i++) (*offsets)[i + 1] = (*offsets)[i] + take8(s) % 9;
    size_t dlen = (size_t)(*offsets)[nrows];
    *data = calloc(1, dlen + 1);
    for (size_t i = 0; i < dlen; i++) (*data)[i] = (uint8_t)('a' + take8(s) % 26);
    d->kind = SHMC_KIND_STRING;
    d->offsets = *offsets;
    d->data = *data;
    if (take8(s) & 1) {
        d->validity_offset = take8(s) % 8;
        size_t bits = (size_t)nrows + d->validity_offset;
        *validity = calloc(1, bits / 8 + 1);
        take_bytes(s, *validity, bits / 8 + 1);
        d->validity = *validity;
    }
}

static void make_categorical(src *s, col *c, uint64_t nrows)
{
    static const int code_kinds[] = {SHMC_KIND_INT8, SHMC_KIND_INT16, SHMC_KIND_INT32,
                                     SHMC_KIND_INT64};
    uint64_t ncat = 1 + take8(s) % 20;
    int ck = code_kinds[take8(s) % 4];
    size_t isz = shmc_kind_itemsize(ck);
    c->values = calloc(1, (size_t)nrows * isz + 1);
    for (size_t i = 0; i < nrows; i++) {
        int64_t code = (int64_t)(take8(s) % (ncat + 1)) - 1; /* -1 = missing */
        memcpy(c->values + i * isz, &code, isz);             /* little-endian truncation */
    }
    c->d.kind = SHMC_KIND_CATEGORICAL;
    c->d.code_kind = ck;
    c->d.values = c->values;
    if (take8(s) & 1) c->d.flags |= SHMC_COL_ORDERED;
    /* dictionary: distinct int64 or string values */
    if (take8(s) & 1) {
        c->dict_values = calloc(ncat, 8);
        for (size_t i = 0; i < ncat; i++) {
            int64_t v = (int64_t)i * 7 - 3;
            memcpy(c->dict_values + i * 8, &v, 8);
        }
        c->dict.kind = SHMC_KIND_INT64;
        c->dict.values = c->dict_values;
    } else {
        c->dict_values = NULL;
        int64_t *off = calloc(ncat + 1, sizeof *off);
        uint8_t *data = malloc(ncat * 4 + 1);
        for (size_t i = 0; i < ncat; i++) { /* "k<i>" is distinct */
            int n = snprintf((char *)data + off[i], 5, "k%zu", i);
            off[i + 1] = off[i] + n;
        }
        c->offsets = off;
        c->data = data;
        c->dict.kind = SHMC_KIND_STRING;
        c->dict.offsets = off;
        c->dict.data = data;
    }
    c->d.categories = &c->dict;
    c->d.ncategories = ncat;
}

static void make_object(src *s, col *c, uint64_t nrows, uint64_t rpc)
{
    c->nblobs = (size_t)((nrows + rpc - 1) / rpc);
    c->blobs = calloc(c->nblobs + 1, sizeof *c->blobs);
    c->blob_lens = calloc(c->nblobs + 1, sizeof *c->blob_lens);
    for (size_t g = 0; g < c->nblobs; g++) {
        c->blob_lens[g] = take8(s) % 40;
        c->blobs[g] = malloc(c->blob_lens[g] + 1);
        take_bytes(s, c->blobs[g], c->blob_lens[g]);
    }
    c->d.kind = SHMC_KIND_OBJECT;
    c->d.blobs = (const void *const *)c->blobs;
    c->d.blob_lens = c->blob_lens;
    c->d.nblobs = c->nblobs;
}

/* Arrow columns (format 2), with this target's own idea of each format's width
 * (0 = bit-packed bool; negative = offsets of that many bytes). */
static const struct {
    const char *fmt;
    int width;
} arrow_formats[] = {
    {"l", 8},   {"s", 2}, {"e", 2},  {"tsu:UTC", 8}, {"d:10,2", 16},
    {"w:3", 3}, {"b", 0}, {"u", -4}, {"U", -8},      {"z", -4},
};

static void make_arrow(src *s, col *c, uint64_t nrows)
{
    size_t f = take8(s) % (sizeof arrow_formats / sizeof arrow_formats[0]), n = (size_t)nrows;
    int width = arrow_formats[f].width;
    c->d.kind = SHMC_KIND_ARROW;
    c->d.arrow = arrow_formats[f].fmt;
    if (width < 0) { /* offsets (base may be nonzero) + data, in c->values / c->data */
        size_t w = (size_t)-width, dlen = take8(s) % 5;
        c->values = calloc(n + 1, w);
        for (size_t i = 0; i <= n; i++) {
            if (i) dlen += take8(s) % 9;
            int64_t v = (int64_t)dlen;
            memcpy(c->values + i * w, &v, w); /* little-endian truncation */
        }
        c->data = calloc(1, dlen + 1);
        take_bytes(s, c->data, dlen);
        c->d.offsets = (const int64_t *)(const void *)c->values;
        c->d.data = c->data;
    } else {
        size_t bytes = width ? n * (size_t)width : n / 8 + 2;
        c->values = calloc(1, bytes + 1);
        take_bytes(s, c->values, bytes);
        c->d.values = c->values;
        if (!width) c->d.values_bit_offset = take8(s) % 8;
    }
    if (take8(s) & 1) {
        c->d.validity_offset = take8(s) % 8;
        size_t bits = n + c->d.validity_offset;
        c->validity = calloc(1, bits / 8 + 1);
        take_bytes(s, c->validity, bits / 8 + 1);
        c->d.validity = c->validity;
    }
}

static int arrow_width(const char *fmt)
{
    for (size_t f = 0; f < sizeof arrow_formats / sizeof arrow_formats[0]; f++)
        if (strcmp(fmt, arrow_formats[f].fmt) == 0) return arrow_formats[f].width;
    return 1;
}

static void make_column(src *s, col *c, uint32_t i, uint64_t nrows, uint64_t rpc)
{
    memset(c, 0, sizeof *c);
    snprintf(c->label, sizeof c->label, "c%u", i);
    c->d.label.type = SHMC_LABEL_STR;
    c->d.label.str = c->label;
    c->d.label.len = strlen(c->label);
    uint8_t pick = take8(s);
    if (pick >= 250) {
        make_arrow(s, c, nrows);
        return;
    } /* rare: older inputs keep their meaning */
    pick = (uint8_t)(pick % (NFIXED + 3));
    if (pick < NFIXED) make_fixed(s, c, nrows, fixed_kinds[pick]);
    else if (pick == NFIXED) make_strings(s, &c->d, nrows, &c->offsets, &c->data, &c->validity);
    else if (pick == NFIXED + 1) make_categorical(s, c, nrows);
    else make_object(s, c, nrows, rpc);
}

static void free_column(col *c)
{
    free(c->values), free(c->mask), free(c->data), free(c->validity), free(c->dict_values);
    free(c->offsets);
    for (size_t g = 0; g < c->nblobs; g++) free(c->blobs[g]);
    free(c->blobs), free(c->blob_lens);
}

/* ---- comparison ---------------------------------------------------------- */

static int64_t arrow_offset(const shmc_column_desc *d, size_t w, uint64_t i)
{
    int64_t v = 0;
    if (w == 4) {
        int32_t x;
        memcpy(&x, (const uint8_t *)d->offsets + 4 * i, 4);
        v = x;
    } else memcpy(&v, (const uint8_t *)d->offsets + 8 * i, 8);
    return v;
}

/* Values, offsets and data of an Arrow column (validity: as for strings), or NULL. */
static uint8_t *expected_arrow(const shmc_column_desc *d, int role, uint64_t r0, uint64_t n,
                               size_t *len)
{
    int width = arrow_width(d->arrow);
    size_t w = (size_t)(width < 0 ? -width : width);
    uint8_t *out = NULL;
    if (role == SHMC_ROLE_VALUES && width > 0) {
        *len = (size_t)n * w;
        out = malloc(*len + 1);
        memcpy(out, (const uint8_t *)d->values + r0 * w, *len);
    } else if (role == SHMC_ROLE_VALUES && width == 0) {
        *len = (size_t)(n + 7) / 8;
        out = calloc(1, *len + 1);
        for (uint64_t k = 0; k < n; k++) {
            uint64_t b = d->values_bit_offset + r0 + k;
            out[k / 8] |=
                (uint8_t)((((const uint8_t *)d->values)[b / 8] >> (b % 8) & 1) << (k % 8));
        }
    } else if (role == SHMC_ROLE_OFFSETS && width < 0) {
        *len = (size_t)(n + 1) * w;
        out = malloc(*len);
        for (uint64_t k = 0; k <= n; k++) {
            int64_t v = arrow_offset(d, w, r0 + k) - arrow_offset(d, w, r0);
            memcpy(out + k * w, &v, w);
        }
    } else if (role == SHMC_ROLE_DATA && width < 0) {
        int64_t a = arrow_offset(d, w, r0);
        *len = (size_t)(arrow_offset(d, w, r0 + n) - a);
        out = malloc(*len + 1);
        memcpy(out, d->data + a, *len);
    }
    return out;
}

/* The raw bytes a chunk of `d` (role, rows [r0, r0+n), row group g) must hold. */
static uint8_t *expected_chunk(const shmc_column_desc *d, int role, uint64_t r0, uint64_t n,
                               uint32_t g, size_t *len)
{
    size_t isz = d->kind == SHMC_KIND_CATEGORICAL ? shmc_kind_itemsize(d->code_kind)
                                                  : shmc_kind_itemsize(d->kind);
    uint8_t *out = NULL;
    if (d->kind == SHMC_KIND_ARROW && role != SHMC_ROLE_VALIDITY)
        return expected_arrow(d, role, r0, n, len);
    switch (role) {
    case SHMC_ROLE_VALUES:
        *len = (size_t)n * isz;
        out = malloc(*len + 1);
        memcpy(out, (const uint8_t *)d->values + r0 * isz, *len);
        break;
    case SHMC_ROLE_MASK:
        *len = (size_t)n;
        out = malloc(*len + 1);
        memcpy(out, d->mask + r0, *len);
        break;
    case SHMC_ROLE_OFFSETS:
        *len = (size_t)(n + 1) * 8;
        out = malloc(*len);
        for (uint64_t k = 0; k <= n; k++) {
            int64_t v = d->offsets[r0 + k] - d->offsets[r0];
            memcpy(out + k * 8, &v, 8);
        }
        break;
    case SHMC_ROLE_DATA:
        *len = (size_t)(d->offsets[r0 + n] - d->offsets[r0]);
        out = malloc(*len + 1);
        memcpy(out, d->data + d->offsets[r0], *len);
        break;
    case SHMC_ROLE_VALIDITY: /* bits compared one by one by the caller */
        *len = (size_t)(n + 7) / 8;
        out = calloc(1, *len + 1);
        for (uint64_t k = 0; k < n; k++) {
            uint64_t b = d->validity_offset + r0 + k;
            int valid = d->validity ? (d->validity[b / 8] >> (b % 8)) & 1 : 1;
            out[k / 8] |= (uint8_t)(valid << (k % 8));
        }
        break;
    case SHMC_ROLE_PICKLE:
        *len = d->blob_lens[g];
        out = malloc(*len + 1);
        memcpy(out, d->blobs[g], *len);
        break;
    }
    return out;
}

static int bits_equal(const uint8_t *a, const uint8_t *b, uint64_t n)
{
    for (uint64_t k = 0; k < n; k++)
        if (((a[k / 8] ^ b[k / 8]) >> (k % 8)) & 1) return 0;
    return 1;
}

static void compare_chunk(shmc_segment *seg, uint32_t k, const shmc_column_desc *d)
{
    shmc_chunk_info ch;
    FUZZ_CHECK(shmc_segment_chunk_info(seg, k, &ch) == SHMC_OK, "chunk_info %u", k);
    size_t want_len = 0;
    uint8_t *want = expected_chunk(d, ch.role, ch.row_start, ch.nrows, ch.rowgroup, &want_len);
    FUZZ_CHECK(want != NULL, "chunk %u: unexpected role %d for kind %d", k, ch.role, d->kind);
    FUZZ_CHECK(ch.raw_len == want_len, "chunk %u (role %d, %llu rows): raw_len %llu, want %zu", k,
               ch.role, (unsigned long long)ch.nrows, (unsigned long long)ch.raw_len, want_len);
    uint8_t *got = malloc(want_len + 1);
    int rc = shmc_segment_chunk_decode(seg, k, got, want_len);
    FUZZ_CHECK(rc == SHMC_OK, "chunk %u: decode: %s", k, shmc_segment_errmsg(seg));
    if (ch.role == SHMC_ROLE_VALIDITY)
        FUZZ_CHECK(bits_equal(got, want, ch.nrows), "chunk %u: validity differs", k);
    else
        FUZZ_CHECK(memcmp(got, want, want_len) == 0, "chunk %u (column %u role %d): bytes differ",
                   k, ch.column, ch.role);
    free(got), free(want);
}

static void compare_column(shmc_segment *seg, uint32_t c, const shmc_column_desc *d, uint64_t nrows)
{
    shmc_column_info ci;
    FUZZ_CHECK(shmc_segment_column_info(seg, c, &ci) == SHMC_OK, "column_info %u", c);
    FUZZ_CHECK(ci.kind == d->kind, "column %u: kind %d, wrote %d", c, ci.kind, d->kind);
    FUZZ_CHECK(ci.nrows == nrows, "column %u: %llu rows, wrote %llu", c,
               (unsigned long long)ci.nrows, (unsigned long long)nrows);
    if (d->label.type == SHMC_LABEL_STR)
        FUZZ_CHECK(ci.label.type == SHMC_LABEL_STR && ci.label.len == d->label.len &&
                       memcmp(ci.label.str, d->label.str, d->label.len) == 0,
                   "column %u: label differs", c);
    if ((d->kind == SHMC_KIND_DATETIME || d->kind == SHMC_KIND_TIMEDELTA))
        FUZZ_CHECK(ci.unit == d->unit, "column %u: unit %d, wrote %d", c, ci.unit, d->unit);
    if (d->tz) FUZZ_CHECK(ci.tz && strcmp(ci.tz, d->tz) == 0, "column %u: tz differs", c);
    if (d->arrow)
        FUZZ_CHECK(ci.arrow && strcmp(ci.arrow, d->arrow) == 0, "column %u: arrow differs", c);
    for (uint32_t k = ci.first_chunk; k < ci.first_chunk + ci.nchunks; k++)
        compare_chunk(seg, k, d);
    if (d->kind == SHMC_KIND_CATEGORICAL) {
        FUZZ_CHECK(ci.code_kind == d->code_kind, "column %u: code kind", c);
        FUZZ_CHECK(ci.dict_column != UINT32_MAX, "column %u: no dictionary", c);
        compare_column(seg, ci.dict_column, d->categories, d->ncategories);
    }
}

/* Data columns are the ones without SHMC_COL_INDEX / SHMC_COL_DICTIONARY, in
 * the order they were added. */
static void compare_segment(shmc_segment *seg, col *cols, uint32_t ncols, uint64_t nrows)
{
    shmc_segment_info si;
    FUZZ_CHECK(shmc_segment_info_get(seg, &si) == SHMC_OK, "info");
    FUZZ_CHECK(si.nrows == nrows, "nrows %llu, wrote %llu", (unsigned long long)si.nrows,
               (unsigned long long)nrows);
    uint32_t next = 0;
    for (uint32_t c = 0; c < si.ncolumns; c++) {
        shmc_column_info ci;
        FUZZ_CHECK(shmc_segment_column_info(seg, c, &ci) == SHMC_OK, "column_info %u", c);
        if (ci.flags & (SHMC_COL_INDEX | SHMC_COL_DICTIONARY)) continue;
        FUZZ_CHECK(next < ncols, "more data columns than written");
        compare_column(seg, c, &cols[next++].d, nrows);
    }
    FUZZ_CHECK(next == ncols, "%u data columns, wrote %u", next, ncols);
    FUZZ_CHECK(shmc_segment_verify(seg, NULL, NULL) == SHMC_OK, "verify: %s",
               shmc_segment_errmsg(seg));
}

/* ---- write, reopen ------------------------------------------------------- */

static unsigned long fuzz_seq;

/* Writes to a fresh shm name; returns the opened segment or NULL (writer refused). */
static shmc_segment *write_and_open(shmc_frame *f, const shmc_write_opts *o, char *name, size_t cap)
{
    snprintf(name, cap, "shm:shmchunk-fuzz-%ld-%lu", (long)getpid(), ++fuzz_seq);
    int rc = shmc_frame_write(f, name, o, NULL, 0);
    FUZZ_CHECK(rc == SHMC_OK || rc == SHMC_ERR_NOSPACE, "write %s: %s: %s", name, shmc_strerror(rc),
               shmc_frame_errmsg(f));
    if (rc != SHMC_OK) return NULL;
    shmc_segment *seg = NULL;
    FUZZ_CHECK(shmc_segment_create(&seg) == SHMC_OK, "segment_create");
    rc = shmc_segment_open(seg, name, 0);
    FUZZ_CHECK(rc == SHMC_OK, "reopen %s: %s", name, shmc_segment_errmsg(seg));
    return seg;
}

static void check_deterministic(shmc_segment *a, shmc_segment *b)
{
    const uint8_t *pa, *pb;
    size_t la, lb;
    FUZZ_CHECK(shmc_segment_data(a, (const void **)&pa, &la) == SHMC_OK, "data");
    FUZZ_CHECK(shmc_segment_data(b, (const void **)&pb, &lb) == SHMC_OK, "data");
    FUZZ_CHECK(la == lb, "sizes %zu vs %zu with other thread counts", la, lb);
    FUZZ_CHECK(memcmp(pa + SHMC_HEADER_SIZE, pb + SHMC_HEADER_SIZE, la - SHMC_HEADER_SIZE) == 0,
               "bytes after the header differ between thread counts");
}

static void roundtrip(shmc_frame *f, col *cols, uint32_t ncols, uint64_t nrows, shmc_write_opts *o)
{
    char n1[96], n2[96];
    shmc_segment *a = write_and_open(f, o, n1, sizeof n1);
    if (!a) return;
    compare_segment(a, cols, ncols, nrows);
    o->threads = o->threads == 1 ? 2 : 1;
    shmc_segment *b = write_and_open(f, o, n2, sizeof n2);
    if (b) check_deterministic(a, b);
    shmc_segment_free(a);
    shmc_segment_free(b);
    FUZZ_CHECK(shmc_segment_unlink(n1) == SHMC_OK, "unlink %s", n1);
    if (b) FUZZ_CHECK(shmc_segment_unlink(n2) == SHMC_OK, "unlink %s", n2);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    src s = {data, size, 0};
    uint64_t nrows = take16(&s) % (MAX_ROWS + 1);
    shmc_write_opts o;
    shmc_write_opts_init(&o);
    o.rows_per_chunk = (uint64_t)1 << (take8(&s) % 9);    /* 1 .. 256 */
    if (take8(&s) & 1) o.rows_per_chunk += take8(&s) % 7; /* not a power of two */
    uint8_t opt = take8(&s);
    o.codec = opt & 1 ? SHMC_CODEC_ZSTD : SHMC_CODEC_NONE;
    o.shuffle = (opt >> 1) & 1;
    o.level = 1 + (opt >> 2) % 3;
    o.threads = 1 + (opt >> 4) % 2;
    o.min_saving = (opt >> 6) == 3 ? 0.0001 : 0.0; /* 0 = the default 0.10 */
    uint32_t ncols = 1 + take8(&s) % MAX_COLS;

    shmc_frame *f = NULL;
    if (shmc_frame_create(&f) != SHMC_OK) return 0;
    FUZZ_CHECK(shmc_frame_set_nrows(f, nrows) == SHMC_OK, "set_nrows %llu",
               (unsigned long long)nrows);
    col cols[MAX_COLS];
    for (uint32_t i = 0; i < ncols; i++) {
        make_column(&s, &cols[i], i, nrows, o.rows_per_chunk);
        FUZZ_CHECK(shmc_frame_add_column(f, &cols[i].d) == SHMC_OK, "add column %u (kind %d): %s",
                   i, cols[i].d.kind, shmc_frame_errmsg(f));
    }
    roundtrip(f, cols, ncols, nrows, &o);
    shmc_frame_free(f);
    for (uint32_t i = 0; i < ncols; i++) free_column(&cols[i]);
    return 0;
}
