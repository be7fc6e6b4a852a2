#include "index.h"

#include <stdlib.h>
#include <string.h>

#include "codec.h"
#include "format.h"

/* ======================================================================== */
/* Kind tables (shared by writer and reader)                                 */
/* ======================================================================== */

static const struct {
    const char *name;
    size_t itemsize;
} kind_table[SHMC_KIND_COUNT_] = {
    [SHMC_KIND_BOOL] = {"bool", 1},       [SHMC_KIND_INT8] = {"int8", 1},
    [SHMC_KIND_INT16] = {"int16", 2},     [SHMC_KIND_INT32] = {"int32", 4},
    [SHMC_KIND_INT64] = {"int64", 8},     [SHMC_KIND_UINT8] = {"uint8", 1},
    [SHMC_KIND_UINT16] = {"uint16", 2},   [SHMC_KIND_UINT32] = {"uint32", 4},
    [SHMC_KIND_UINT64] = {"uint64", 8},   [SHMC_KIND_FLOAT32] = {"float32", 4},
    [SHMC_KIND_FLOAT64] = {"float64", 8}, [SHMC_KIND_DATETIME] = {"datetime", 8},
    [SHMC_KIND_TIMEDELTA] = {"timedelta", 8}, [SHMC_KIND_CATEGORICAL] = {"categorical", 0},
    [SHMC_KIND_STRING] = {"string", 0},   [SHMC_KIND_OBJECT] = {"object", 0},
};

static int kind_valid(int kind) { return kind >= SHMC_KIND_BOOL && kind < SHMC_KIND_COUNT_; }

size_t shmc_kind_itemsize(int kind) { return kind_valid(kind) ? kind_table[kind].itemsize : 0; }

const char *shmc_kind_name(int kind) { return kind_valid(kind) ? kind_table[kind].name : "unknown"; }

int shmc_kind_is_fixed(int kind) { return kind >= SHMC_KIND_BOOL && kind <= SHMC_KIND_TIMEDELTA; }

#define ROLE(r) (1u << (r))

uint32_t shmc_kind_roles_allowed(int kind)
{
    if (shmc_kind_is_fixed(kind)) return ROLE(SHMC_ROLE_VALUES) | ROLE(SHMC_ROLE_MASK);
    if (kind == SHMC_KIND_CATEGORICAL) return ROLE(SHMC_ROLE_VALUES);
    if (kind == SHMC_KIND_STRING)
        return ROLE(SHMC_ROLE_OFFSETS) | ROLE(SHMC_ROLE_DATA) | ROLE(SHMC_ROLE_VALIDITY);
    if (kind == SHMC_KIND_OBJECT) return ROLE(SHMC_ROLE_PICKLE);
    return 0;
}

uint32_t shmc_kind_roles_required(int kind)
{
    if (kind == SHMC_KIND_STRING) return ROLE(SHMC_ROLE_OFFSETS) | ROLE(SHMC_ROLE_DATA);
    if (kind == SHMC_KIND_OBJECT) return ROLE(SHMC_ROLE_PICKLE);
    return kind_valid(kind) ? ROLE(SHMC_ROLE_VALUES) : 0;
}

uint32_t shmc_role_typesize(int kind, int code_kind, int role)
{
    if (role == SHMC_ROLE_VALUES)
        return (uint32_t)shmc_kind_itemsize(kind == SHMC_KIND_CATEGORICAL ? code_kind : kind);
    if (role == SHMC_ROLE_OFFSETS) return 8;
    return 1;
}

uint64_t shmc_header_hash(const uint8_t *hdr)
{
    uint8_t tmp[SHMC_HEADER_SIZE];
    memcpy(tmp, hdr, sizeof tmp);
    memset(tmp + SHMC_HDR_HEADER_XXH3, 0, 8);
    memset(tmp + SHMC_HDR_SEALED, 0, 8);
    return shmc_hash(tmp, sizeof tmp);
}

/* ======================================================================== */
/* Encoder                                                                   */
/* ======================================================================== */

void shmc_buf_free(shmc_buf *b)
{
    free(b->p);
    memset(b, 0, sizeof *b);
}

static uint8_t *buf_grow(shmc_buf *b, size_t n)
{
    if (b->oom) return NULL;
    if (b->cap - b->len < n) {
        size_t cap = b->cap ? b->cap : 4096;
        while (cap - b->len < n) cap *= 2;
        uint8_t *p = realloc(b->p, cap);
        if (!p) { b->oom = 1; return NULL; }
        b->p = p;
        b->cap = cap;
    }
    uint8_t *w = b->p + b->len;
    b->len += n;
    return w;
}

static void put_bytes(shmc_buf *b, const void *src, size_t n)
{
    uint8_t *w = buf_grow(b, n);
    if (w && n) memcpy(w, src, n);
}

static void put_be(shmc_buf *b, uint8_t tag, uint64_t v, int nbytes)
{
    uint8_t t[9];
    t[0] = tag;
    for (int i = 0; i < nbytes; i++) t[1 + i] = (uint8_t)(v >> (8 * (nbytes - 1 - i)));
    put_bytes(b, t, (size_t)nbytes + 1);
}

static void put_uint(shmc_buf *b, uint64_t v)
{
    if (v < 128) { uint8_t c = (uint8_t)v; put_bytes(b, &c, 1); }
    else if (v <= UINT8_MAX) put_be(b, 0xcc, v, 1);
    else if (v <= UINT16_MAX) put_be(b, 0xcd, v, 2);
    else if (v <= UINT32_MAX) put_be(b, 0xce, v, 4);
    else put_be(b, 0xcf, v, 8);
}

static void put_int(shmc_buf *b, int64_t v)
{
    if (v >= 0) { put_uint(b, (uint64_t)v); return; }
    if (v >= -32) { uint8_t c = (uint8_t)(0xe0 | (uint8_t)(v + 32)); put_bytes(b, &c, 1); }
    else if (v >= INT8_MIN) put_be(b, 0xd0, (uint64_t)v & 0xff, 1);
    else if (v >= INT16_MIN) put_be(b, 0xd1, (uint64_t)v & 0xffff, 2);
    else if (v >= INT32_MIN) put_be(b, 0xd2, (uint64_t)v & 0xffffffff, 4);
    else put_be(b, 0xd3, (uint64_t)v, 8);
}

static void put_hdr(shmc_buf *b, uint8_t fix, uint8_t fixmax, uint8_t t8, uint8_t t16,
                    uint8_t t32, uint64_t n)
{
    if (fix && n <= fixmax) { uint8_t c = (uint8_t)(fix | n); put_bytes(b, &c, 1); }
    else if (t8 && n <= UINT8_MAX) put_be(b, t8, n, 1);
    else if (n <= UINT16_MAX) put_be(b, t16, n, 2);
    else put_be(b, t32, n, 4);
}

static void put_str(shmc_buf *b, const char *s, size_t n)
{
    put_hdr(b, 0xa0, 31, 0xd9, 0xda, 0xdb, n);
    put_bytes(b, s, n);
}
static void put_cstr(shmc_buf *b, const char *s) { put_str(b, s, strlen(s)); }
static void put_bin(shmc_buf *b, const void *s, size_t n)
{
    put_hdr(b, 0, 0, 0xc4, 0xc5, 0xc6, n);
    put_bytes(b, s, n);
}
static void put_array(shmc_buf *b, uint32_t n) { put_hdr(b, 0x90, 15, 0, 0xdc, 0xdd, n); }
static void put_map(shmc_buf *b, uint32_t n) { put_hdr(b, 0x80, 15, 0, 0xde, 0xdf, n); }
static void put_nil(shmc_buf *b) { uint8_t c = 0xc0; put_bytes(b, &c, 1); }

/* Labels map onto msgpack types: none=nil, str=str, int=int, pickle=bin. */
static void put_label(shmc_buf *b, const shmc_label *l)
{
    if (l->type == SHMC_LABEL_STR) put_str(b, l->str ? l->str : "", l->len);
    else if (l->type == SHMC_LABEL_INT) put_int(b, l->i);
    else if (l->type == SHMC_LABEL_PICKLE) put_bin(b, l->str, l->len);
    else put_nil(b);
}

static void put_column(shmc_buf *b, const shmc_column_info *c)
{
    int has_dtype = c->dtype && *c->dtype, has_tz = c->tz != NULL;
    int is_cat = c->kind == SHMC_KIND_CATEGORICAL;
    put_map(b, (uint32_t)(6 + has_dtype + has_tz + 2 * is_cat));
    put_cstr(b, "kind"); put_uint(b, (uint64_t)c->kind);
    put_cstr(b, "flags"); put_uint(b, c->flags);
    put_cstr(b, "label"); put_label(b, &c->label);
    put_cstr(b, "unit"); put_uint(b, (uint64_t)c->unit);
    put_cstr(b, "nrows"); put_uint(b, c->nrows);
    put_cstr(b, "nulls"); put_uint(b, c->null_count);
    if (has_dtype) { put_cstr(b, "dtype"); put_cstr(b, c->dtype); }
    if (has_tz) { put_cstr(b, "tz"); put_cstr(b, c->tz); }
    if (is_cat) {
        put_cstr(b, "code_kind"); put_uint(b, (uint64_t)c->code_kind);
        put_cstr(b, "dict"); put_uint(b, c->dict_column);
    }
}

static void put_chunk(shmc_buf *b, const shmc_chunk_info *k)
{
    put_array(b, 10);
    put_uint(b, k->column);
    put_uint(b, k->rowgroup);
    put_uint(b, (uint64_t)k->role);
    put_uint(b, (uint64_t)k->codec);
    put_uint(b, (uint64_t)k->shuffle);
    put_uint(b, k->typesize);
    put_uint(b, k->offset);
    put_uint(b, k->stored_len);
    put_uint(b, k->raw_len);
    put_be(b, 0xcf, k->xxh3, 8);
}

int shmc_index_encode(const shmc_index *ix, shmc_buf *b, shmc_err *err)
{
    b->len = 0;
    put_map(b, 8 + (ix->meta_len > 0));
    put_cstr(b, "v"); put_uint(b, SHMC_FORMAT_VERSION);
    put_cstr(b, "nrows"); put_uint(b, ix->nrows);
    put_cstr(b, "rpc"); put_uint(b, ix->rows_per_chunk);
    put_cstr(b, "range");
    if (ix->has_range) { put_array(b, 2); put_int(b, ix->range_start); put_int(b, ix->range_step); }
    else put_nil(b);
    put_cstr(b, "range_name"); put_label(b, &ix->range_name);
    put_cstr(b, "columns_name"); put_label(b, &ix->columns_name);
    if (ix->meta_len) { put_cstr(b, "meta"); put_bin(b, ix->meta, ix->meta_len); }
    put_cstr(b, "columns"); put_array(b, ix->ncolumns);
    for (uint32_t i = 0; i < ix->ncolumns; i++) put_column(b, &ix->columns[i]);
    put_cstr(b, "chunks"); put_array(b, ix->nchunks);
    for (uint32_t i = 0; i < ix->nchunks; i++) put_chunk(b, &ix->chunks[i]);
    RETURN_ERROR_IF(b->oom, err, SHMC_ERR_NOMEM, "index encoder: out of memory");
    return SHMC_OK;
}

/* ======================================================================== */
/* Bounded decoder                                                           */
/* ======================================================================== */

typedef struct cur {
    const uint8_t *base, *p, *end;
    shmc_err *err;
    char *arena;      /* NUL-terminated string copies */
    size_t arena_len, arena_cap;
} cur;

static int bad(cur *c, const char *what)
{
    return shmc_err_set(c->err, SHMC_ERR_CORRUPT, "index byte %zu: %s", (size_t)(c->p - c->base), what);
}

static size_t left(const cur *c) { return (size_t)(c->end - c->p); }

static int take_be(cur *c, int n, uint64_t *v)
{
    if (left(c) < (size_t)n) return bad(c, "truncated value");
    uint64_t x = 0;
    for (int i = 0; i < n; i++) x = (x << 8) | c->p[i];
    c->p += n;
    *v = x;
    return SHMC_OK;
}

static int peek(cur *c, uint8_t *tag)
{
    if (left(c) < 1) return bad(c, "unexpected end of index");
    *tag = *c->p;
    return SHMC_OK;
}

static int rd_uint(cur *c, uint64_t *v)
{
    uint8_t t = 0;
    FORWARD_IF_ERROR(peek(c, &t));
    if (t < 0x80) { c->p++; *v = t; return SHMC_OK; }
    if (t >= 0xcc && t <= 0xcf) { c->p++; return take_be(c, 1 << (t - 0xcc), v); }
    return bad(c, "expected an unsigned integer");
}

static int rd_int(cur *c, int64_t *v)
{
    uint8_t t = 0;
    FORWARD_IF_ERROR(peek(c, &t));
    uint64_t u = 0;
    if (t >= 0xe0) { c->p++; *v = (int8_t)t; return SHMC_OK; }
    if (t >= 0xd0 && t <= 0xd3) {
        int n = 1 << (t - 0xd0);
        c->p++;
        FORWARD_IF_ERROR(take_be(c, n, &u));
        if (n < 8) {   /* sign-extend */
            uint64_t sign = 1ull << (8 * n - 1);
            u = (u ^ sign) - sign;
        }
        *v = (int64_t)u;
        return SHMC_OK;
    }
    FORWARD_IF_ERROR(rd_uint(c, &u));
    if (u > INT64_MAX) return bad(c, "integer out of int64 range");
    *v = (int64_t)u;
    return SHMC_OK;
}

static int rd_u32(cur *c, uint32_t *v, const char *what)
{
    uint64_t u = 0;
    FORWARD_IF_ERROR(rd_uint(c, &u));
    if (u > UINT32_MAX) return bad(c, what);
    *v = (uint32_t)u;
    return SHMC_OK;
}

static int rd_small(cur *c, int *v, int max, const char *what)
{
    uint64_t u = 0;
    FORWARD_IF_ERROR(rd_uint(c, &u));
    if (u > (uint64_t)max) return bad(c, what);
    *v = (int)u;
    return SHMC_OK;
}

/* Container header: the count must be payable by the bytes that remain
 * (each element takes at least min_elem bytes). */
static int rd_container(cur *c, int is_map, uint64_t *n)
{
    uint8_t t = 0;
    FORWARD_IF_ERROR(peek(c, &t));
    uint8_t fix = is_map ? 0x80 : 0x90, t16 = is_map ? 0xde : 0xdc;
    c->p++;
    if ((t & 0xf0) == fix) *n = t & 0x0f;
    else if (t == t16) FORWARD_IF_ERROR(take_be(c, 2, n));
    else if (t == t16 + 1) FORWARD_IF_ERROR(take_be(c, 4, n));
    else { c->p--; return bad(c, is_map ? "expected a map" : "expected an array"); }
    if (*n > left(c) / (is_map ? 2 : 1)) return bad(c, "container count exceeds the index size");
    return SHMC_OK;
}

/* A str or bin: pointer into the index, length checked against what remains. */
static int rd_raw(cur *c, int want_bin, const uint8_t **s, size_t *n)
{
    uint8_t t = 0;
    FORWARD_IF_ERROR(peek(c, &t));
    uint64_t len = 0;
    c->p++;
    if (!want_bin && (t & 0xe0) == 0xa0) len = t & 0x1f;
    else if (t == (want_bin ? 0xc4 : 0xd9)) FORWARD_IF_ERROR(take_be(c, 1, &len));
    else if (t == (want_bin ? 0xc5 : 0xda)) FORWARD_IF_ERROR(take_be(c, 2, &len));
    else if (t == (want_bin ? 0xc6 : 0xdb)) FORWARD_IF_ERROR(take_be(c, 4, &len));
    else { c->p--; return bad(c, want_bin ? "expected bin" : "expected a string"); }
    if (len > left(c)) return bad(c, "string length exceeds the index size");
    *s = c->p;
    *n = (size_t)len;
    c->p += len;
    return SHMC_OK;
}

/* Copy into the arena with a NUL; the arena is sized so this cannot overflow. */
static const char *arena_put(cur *c, const uint8_t *s, size_t n)
{
    char *d = c->arena + c->arena_len;
    memcpy(d, s, n);
    d[n] = '\0';
    c->arena_len += n + 1;
    return d;
}

static int rd_string(cur *c, const char **out)
{
    const uint8_t *s = NULL;
    size_t n = 0;
    FORWARD_IF_ERROR(rd_raw(c, 0, &s, &n));
    if (memchr(s, 0, n)) return bad(c, "string holds a NUL byte");
    *out = arena_put(c, s, n);
    return SHMC_OK;
}

static int rd_label(cur *c, shmc_label *l)
{
    uint8_t t = 0;
    FORWARD_IF_ERROR(peek(c, &t));
    memset(l, 0, sizeof *l);
    const uint8_t *s = NULL;
    if (t == 0xc0) { c->p++; l->type = SHMC_LABEL_NONE; return SHMC_OK; }
    if ((t & 0xe0) == 0xa0 || (t >= 0xd9 && t <= 0xdb)) {
        FORWARD_IF_ERROR(rd_raw(c, 0, &s, &l->len));
        l->type = SHMC_LABEL_STR;
        l->str = arena_put(c, s, l->len);
        return SHMC_OK;
    }
    if (t >= 0xc4 && t <= 0xc6) {
        FORWARD_IF_ERROR(rd_raw(c, 1, &s, &l->len));
        l->type = SHMC_LABEL_PICKLE;
        l->str = arena_put(c, s, l->len);
        return SHMC_OK;
    }
    l->type = SHMC_LABEL_INT;
    return rd_int(c, &l->i);
}

/* Skip one value of any type (forward compatibility: unknown keys). */
static int skip(cur *c, int depth)
{
    if (depth > SHMC_INDEX_MAX_DEPTH) return bad(c, "nesting too deep");
    uint8_t t = 0;
    FORWARD_IF_ERROR(peek(c, &t));
    uint64_t n = 0, v = 0;
    const uint8_t *s = NULL;
    size_t sl = 0;
    if (t < 0x80 || t >= 0xe0 || t == 0xc0 || t == 0xc2 || t == 0xc3) { c->p++; return SHMC_OK; }
    if ((t & 0xe0) == 0xa0 || (t >= 0xd9 && t <= 0xdb)) return rd_raw(c, 0, &s, &sl);
    if (t >= 0xc4 && t <= 0xc6) return rd_raw(c, 1, &s, &sl);
    if ((t >= 0xcc && t <= 0xcf) || (t >= 0xd0 && t <= 0xd3) || t == 0xca || t == 0xcb) {
        c->p++;
        int sz = t == 0xca ? 4 : t == 0xcb ? 8 : 1 << ((t - (t >= 0xd0 ? 0xd0 : 0xcc)));
        return take_be(c, sz, &v);
    }
    int is_map = (t & 0xf0) == 0x80 || t == 0xde || t == 0xdf;
    if (!is_map && !((t & 0xf0) == 0x90 || t == 0xdc || t == 0xdd)) return bad(c, "unsupported msgpack type");
    FORWARD_IF_ERROR(rd_container(c, is_map, &n));
    for (uint64_t i = 0; i < n * (is_map ? 2u : 1u); i++) FORWARD_IF_ERROR(skip(c, depth + 1));
    return SHMC_OK;
}

static int key_is(const uint8_t *k, size_t n, const char *s) { return strlen(s) == n && memcmp(k, s, n) == 0; }

static int rd_column(cur *c, shmc_column_info *col)
{
    uint64_t n = 0;
    FORWARD_IF_ERROR(rd_container(c, 1, &n));
    memset(col, 0, sizeof *col);
    col->dtype = "";
    col->dict_column = UINT32_MAX;
    uint32_t seen = 0;
    for (uint64_t i = 0; i < n; i++) {
        const uint8_t *k = NULL;
        size_t kl = 0;
        FORWARD_IF_ERROR(rd_raw(c, 0, &k, &kl));
        if (key_is(k, kl, "kind")) { FORWARD_IF_ERROR(rd_small(c, &col->kind, SHMC_KIND_COUNT_, "bad kind")); seen |= 1; }
        else if (key_is(k, kl, "flags")) { FORWARD_IF_ERROR(rd_u32(c, &col->flags, "bad flags")); seen |= 2; }
        else if (key_is(k, kl, "label")) { FORWARD_IF_ERROR(rd_label(c, &col->label)); seen |= 4; }
        else if (key_is(k, kl, "unit")) FORWARD_IF_ERROR(rd_small(c, &col->unit, SHMC_UNIT_NS, "bad unit"));
        else if (key_is(k, kl, "nrows")) { FORWARD_IF_ERROR(rd_uint(c, &col->nrows)); seen |= 8; }
        else if (key_is(k, kl, "nulls")) FORWARD_IF_ERROR(rd_uint(c, &col->null_count));
        else if (key_is(k, kl, "dtype")) FORWARD_IF_ERROR(rd_string(c, &col->dtype));
        else if (key_is(k, kl, "tz")) FORWARD_IF_ERROR(rd_string(c, &col->tz));
        else if (key_is(k, kl, "code_kind")) FORWARD_IF_ERROR(rd_small(c, &col->code_kind, SHMC_KIND_COUNT_, "bad code_kind"));
        else if (key_is(k, kl, "dict")) FORWARD_IF_ERROR(rd_u32(c, &col->dict_column, "bad dict column"));
        else FORWARD_IF_ERROR(skip(c, 1));
    }
    if (seen != 15) return bad(c, "column entry lacks kind, flags, label or nrows");
    return SHMC_OK;
}

static int rd_chunk(cur *c, shmc_chunk_info *k)
{
    uint64_t n = 0;
    FORWARD_IF_ERROR(rd_container(c, 0, &n));
    if (n < 10) return bad(c, "chunk entry has fewer than 10 fields");
    memset(k, 0, sizeof *k);
    FORWARD_IF_ERROR(rd_u32(c, &k->column, "bad chunk column"));
    FORWARD_IF_ERROR(rd_u32(c, &k->rowgroup, "bad chunk row group"));
    FORWARD_IF_ERROR(rd_small(c, &k->role, SHMC_ROLE_COUNT_ - 1, "bad chunk role"));
    FORWARD_IF_ERROR(rd_small(c, &k->codec, SHMC_CODEC_ZSTD, "bad chunk codec"));
    FORWARD_IF_ERROR(rd_small(c, &k->shuffle, 1, "bad chunk shuffle flag"));
    FORWARD_IF_ERROR(rd_u32(c, &k->typesize, "bad chunk typesize"));
    FORWARD_IF_ERROR(rd_uint(c, &k->offset));
    FORWARD_IF_ERROR(rd_uint(c, &k->stored_len));
    FORWARD_IF_ERROR(rd_uint(c, &k->raw_len));
    FORWARD_IF_ERROR(rd_uint(c, &k->xxh3));
    for (uint64_t i = 10; i < n; i++) FORWARD_IF_ERROR(skip(c, 1));
    return SHMC_OK;
}

static int rd_columns(cur *c, shmc_index *ix)
{
    uint64_t n = 0;
    FORWARD_IF_ERROR(rd_container(c, 0, &n));
    if (ix->columns) return bad(c, "duplicate 'columns' key");
    /* A column entry has four required keys: it cannot be shorter than 16 bytes. */
    if (n > left(c) / 16) return bad(c, "column count exceeds the index size");
    ix->columns = calloc(n ? n : 1, sizeof *ix->columns);
    RETURN_ERROR_IF(!ix->columns, c->err, SHMC_ERR_NOMEM, "index: no memory for %llu columns",
                    (unsigned long long)n);
    ix->ncolumns = (uint32_t)n;
    for (uint64_t i = 0; i < n; i++) FORWARD_IF_ERROR(rd_column(c, &ix->columns[i]));
    return SHMC_OK;
}

static int rd_chunks(cur *c, shmc_index *ix)
{
    uint64_t n = 0;
    FORWARD_IF_ERROR(rd_container(c, 0, &n));
    if (ix->chunks) return bad(c, "duplicate 'chunks' key");
    if (n > left(c) / 11) return bad(c, "chunk count exceeds the index size");
    ix->chunks = calloc(n ? n : 1, sizeof *ix->chunks);
    RETURN_ERROR_IF(!ix->chunks, c->err, SHMC_ERR_NOMEM, "index: no memory for %llu chunks",
                    (unsigned long long)n);
    ix->nchunks = (uint32_t)n;
    for (uint64_t i = 0; i < n; i++) FORWARD_IF_ERROR(rd_chunk(c, &ix->chunks[i]));
    return SHMC_OK;
}

static int rd_range(cur *c, shmc_index *ix)
{
    uint8_t t = 0;
    FORWARD_IF_ERROR(peek(c, &t));
    if (t == 0xc0) { c->p++; ix->has_range = 0; return SHMC_OK; }
    uint64_t n = 0;
    FORWARD_IF_ERROR(rd_container(c, 0, &n));
    if (n != 2) return bad(c, "'range' is not [start, step]");
    ix->has_range = 1;
    FORWARD_IF_ERROR(rd_int(c, &ix->range_start));
    return rd_int(c, &ix->range_step);
}

static int rd_top_key(cur *c, shmc_index *ix, const uint8_t *k, size_t kl, uint32_t *seen)
{
    uint64_t v;
    if (key_is(k, kl, "v")) {
        FORWARD_IF_ERROR(rd_uint(c, &v));
        if (v != SHMC_FORMAT_VERSION) return bad(c, "index version differs from header version");
        *seen |= 1;
    } else if (key_is(k, kl, "nrows")) { FORWARD_IF_ERROR(rd_uint(c, &ix->nrows)); *seen |= 2; }
    else if (key_is(k, kl, "rpc")) { FORWARD_IF_ERROR(rd_uint(c, &ix->rows_per_chunk)); *seen |= 4; }
    else if (key_is(k, kl, "columns")) { FORWARD_IF_ERROR(rd_columns(c, ix)); *seen |= 8; }
    else if (key_is(k, kl, "chunks")) { FORWARD_IF_ERROR(rd_chunks(c, ix)); *seen |= 16; }
    else if (key_is(k, kl, "range")) FORWARD_IF_ERROR(rd_range(c, ix));
    else if (key_is(k, kl, "range_name")) FORWARD_IF_ERROR(rd_label(c, &ix->range_name));
    else if (key_is(k, kl, "columns_name")) FORWARD_IF_ERROR(rd_label(c, &ix->columns_name));
    else if (key_is(k, kl, "meta")) FORWARD_IF_ERROR(rd_raw(c, 1, &ix->meta, &ix->meta_len));
    else FORWARD_IF_ERROR(skip(c, 1));
    return SHMC_OK;
}

int shmc_index_decode(const uint8_t *p, size_t len, shmc_index *ix, shmc_err *err)
{
    memset(ix, 0, sizeof *ix);
    cur c = {p, p, p + len, err, NULL, 0, 0};
    /* Every string copied is a substring of the index plus a NUL; each needs at
     * least one tag byte, so len * 2 + 1 always suffices. */
    c.arena_cap = len * 2 + 1;
    c.arena = malloc(c.arena_cap);
    RETURN_ERROR_IF(!c.arena, err, SHMC_ERR_NOMEM, "index: no memory for %zu bytes", len);
    ix->arena = c.arena;
    uint64_t n = 0;
    uint32_t seen = 0;
    int rc = rd_container(&c, 1, &n);
    for (uint64_t i = 0; rc == SHMC_OK && i < n; i++) {
        const uint8_t *k = NULL;
        size_t kl = 0;
        rc = rd_raw(&c, 0, &k, &kl);
        if (rc == SHMC_OK) rc = rd_top_key(&c, ix, k, kl, &seen);
    }
    if (rc == SHMC_OK && seen != 31) rc = bad(&c, "index lacks v, nrows, rpc, columns or chunks");
    if (rc == SHMC_OK && c.p != c.end) rc = bad(&c, "trailing bytes after the index map");
    if (rc != SHMC_OK) shmc_index_free(ix);
    return rc;
}

void shmc_index_free(shmc_index *ix)
{
    free(ix->columns);
    free(ix->chunks);
    free(ix->arena);
    memset(ix, 0, sizeof *ix);
}
