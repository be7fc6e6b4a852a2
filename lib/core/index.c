/* The segment's index: its encoder on msgpack-c's packer, and its decoder --
 * a bounded pre-scan of the raw bytes first, then msgpack-c into a zone of the
 * size the scan found, then the tree into shmc_index. The index comes from
 * shared memory anyone may have written, and msgpack-c trusts the counts it
 * reads, so nothing reaches msgpack-c before its lengths and depth are checked
 * (see index.h). */
#include "index.h"

#include <stdlib.h>
#include <string.h>

#include <msgpack.h>

#include "format.h"

/* ======================================================================== */
/* Encoder: msgpack-c's packer writing into a shmc_buf                       */
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
        if (!p) {
            b->oom = 1;
            return NULL;
        }
        b->p = p;
        b->cap = cap;
    }
    uint8_t *w = b->p + b->len;
    b->len += n;
    return w;
}

/* msgpack_packer_write: append to the shmc_buf in `data`. */
static int buf_write(void *data, const char *src, size_t n)
{
    uint8_t *w = buf_grow(data, n);
    if (!w) return -1;
    if (n) memcpy(w, src, n);
    return 0;
}

static void pack_str(msgpack_packer *pk, const void *s, size_t n)
{
    msgpack_pack_str(pk, n);
    msgpack_pack_str_body(pk, s, n);
}
static void pack_cstr(msgpack_packer *pk, const char *s) { pack_str(pk, s, strlen(s)); }
static void pack_bin(msgpack_packer *pk, const void *s, size_t n)
{
    msgpack_pack_bin(pk, n);
    msgpack_pack_bin_body(pk, s, n);
}
static void pack_key_uint(msgpack_packer *pk, const char *key, uint64_t v)
{
    pack_cstr(pk, key);
    msgpack_pack_uint64(pk, v);
}

/* Labels map onto msgpack types: none=nil, str=str, int=int, pickle=bin. */
static void pack_label(msgpack_packer *pk, const shmc_label *l)
{
    if (l->type == SHMC_LABEL_STR) pack_str(pk, l->str ? l->str : "", l->len);
    else if (l->type == SHMC_LABEL_INT) msgpack_pack_int64(pk, l->i);
    else if (l->type == SHMC_LABEL_PICKLE) pack_bin(pk, l->str, l->len);
    else msgpack_pack_nil(pk);
}

/* Format 2 leaves out `unit` and `nulls` when they are 0 (both optional): fewer
 * msgpack values, fewer msgpack-c objects to make at every open. Format 1
 * writes them always, as its writer did. */
static void pack_column(msgpack_packer *pk, const shmc_column_info *c, unsigned version,
                        uint64_t nrows)
{
    int has_dtype = c->dtype && *c->dtype, has_tz = c->tz != NULL, has_arrow = c->arrow != NULL;
    int is_cat = c->kind == SHMC_KIND_CATEGORICAL || c->kind == SHMC_KIND_SPARSE,
        is_iv = c->kind == SHMC_KIND_INTERVAL;
    int has_unit = version == 1 || c->unit != 0, has_nulls = version == 1 || c->null_count != 0;
    int has_flags = version == 1 || c->flags != 0;
    int has_nrows = version == 1 || (c->flags & SHMC_COL_DICTIONARY) || c->nrows != nrows;
    int has_dict = is_cat || (c->kind == SHMC_KIND_ARROW && c->dict_column != UINT32_MAX);
    msgpack_pack_map(pk, (size_t)(2 + has_flags + has_nrows + has_unit + has_nulls + has_dtype +
                                  has_tz + is_cat + is_iv + has_dict + has_arrow));
    pack_key_uint(pk, "kind", (uint64_t)c->kind);
    if (has_flags) pack_key_uint(pk, "flags", c->flags);
    pack_cstr(pk, "label");
    pack_label(pk, &c->label);
    if (has_unit) pack_key_uint(pk, "unit", (uint64_t)c->unit);
    if (has_nrows) pack_key_uint(pk, "nrows", c->nrows);
    if (has_nulls) pack_key_uint(pk, "nulls", c->null_count);
    if (has_dtype) {
        pack_cstr(pk, "dtype");
        pack_cstr(pk, c->dtype);
    }
    if (has_tz) {
        pack_cstr(pk, "tz");
        pack_cstr(pk, c->tz);
    }
    if (is_cat || is_iv) pack_key_uint(pk, "code_kind", (uint64_t)c->code_kind);
    if (has_dict) pack_key_uint(pk, "dict", c->dict_column);
    if (has_arrow) {
        pack_cstr(pk, "arrow");
        pack_cstr(pk, c->arrow);
    }
}

static void pack_chunk(msgpack_packer *pk, const shmc_chunk_info *k)
{
    msgpack_pack_array(pk, 10);
    msgpack_pack_uint64(pk, k->column);
    msgpack_pack_uint64(pk, k->rowgroup);
    msgpack_pack_uint64(pk, (uint64_t)k->role);
    msgpack_pack_uint64(pk, (uint64_t)k->codec);
    msgpack_pack_uint64(pk, (uint64_t)k->shuffle);
    msgpack_pack_uint64(pk, k->typesize);
    msgpack_pack_uint64(pk, k->offset);
    msgpack_pack_uint64(pk, k->stored_len);
    msgpack_pack_uint64(pk, k->raw_len);
    msgpack_pack_fix_uint64(pk, k->xxh3); /* always 9 bytes: see index.h */
}

/* Format 2: every chunk a fixed 48-byte little-endian record in one bin, so
 * that msgpack-c makes one object for all of them (FORMAT.md section 4). */
static void chunk_record_put(uint8_t *r, const shmc_chunk_info *k)
{
    shmc_st32(r + SHMC_CREC_COLUMN, k->column);
    shmc_st32(r + SHMC_CREC_ROWGROUP, k->rowgroup);
    r[SHMC_CREC_ROLE] = (uint8_t)k->role;
    r[SHMC_CREC_CODEC] = (uint8_t)k->codec;
    r[SHMC_CREC_SHUFFLE] = (uint8_t)k->shuffle;
    r[SHMC_CREC_RESERVED] = 0;
    shmc_st32(r + SHMC_CREC_TYPESIZE, k->typesize);
    shmc_st64(r + SHMC_CREC_OFFSET, k->offset);
    shmc_st64(r + SHMC_CREC_STORED_LEN, k->stored_len);
    shmc_st64(r + SHMC_CREC_RAW_LEN, k->raw_len);
    shmc_st64(r + SHMC_CREC_XXH3, k->xxh3);
}

static void pack_chunk_table(msgpack_packer *pk, const shmc_index *ix)
{
    pack_cstr(pk, "chunk_table");
    msgpack_pack_bin(pk, (size_t)ix->nchunks * SHMC_CREC_SIZE);
    for (uint32_t i = 0; i < ix->nchunks; i++) {
        uint8_t r[SHMC_CREC_SIZE];
        chunk_record_put(r, &ix->chunks[i]);
        msgpack_pack_bin_body(pk, r, sizeof r);
    }
}

/* Format 1 (kept so that a format-1 index re-encodes byte for byte). */
static void pack_chunk_arrays(msgpack_packer *pk, const shmc_index *ix)
{
    pack_cstr(pk, "chunks");
    msgpack_pack_array(pk, ix->nchunks);
    for (uint32_t i = 0; i < ix->nchunks; i++) pack_chunk(pk, &ix->chunks[i]);
}

static void pack_range(msgpack_packer *pk, const shmc_index *ix)
{
    pack_cstr(pk, "range");
    if (!ix->has_range) {
        msgpack_pack_nil(pk);
        return;
    }
    msgpack_pack_array(pk, 2);
    msgpack_pack_int64(pk, ix->range_start);
    msgpack_pack_int64(pk, ix->range_step);
}

int shmc_index_encode(const shmc_index *ix, shmc_buf *b, shmc_err *err)
{
    msgpack_packer pk;
    msgpack_packer_init(&pk, b, buf_write);
    b->len = 0;
    msgpack_pack_map(&pk, (size_t)(8 + (ix->meta_len > 0) + (ix->freq != NULL)));
    unsigned version = ix->version > 0 ? (unsigned)ix->version : SHMC_FORMAT_VERSION;
    pack_key_uint(&pk, "v", version);
    pack_key_uint(&pk, "nrows", ix->nrows);
    pack_key_uint(&pk, "rpc", ix->rows_per_chunk);
    pack_range(&pk, ix);
    pack_cstr(&pk, "range_name");
    pack_label(&pk, &ix->range_name);
    pack_cstr(&pk, "columns_name");
    pack_label(&pk, &ix->columns_name);
    if (ix->meta_len) {
        pack_cstr(&pk, "meta");
        pack_bin(&pk, ix->meta, ix->meta_len);
    }
    if (ix->freq) {
        pack_cstr(&pk, "freq");
        pack_cstr(&pk, ix->freq);
    }
    pack_cstr(&pk, "columns");
    msgpack_pack_array(&pk, ix->ncolumns);
    for (uint32_t i = 0; i < ix->ncolumns; i++)
        pack_column(&pk, &ix->columns[i], version, ix->nrows);
    if (version == 1) pack_chunk_arrays(&pk, ix);
    else pack_chunk_table(&pk, ix);
    RETURN_ERROR_IF(b->oom, err, SHMC_ERR_NOMEM, "index encoder: out of memory");
    return SHMC_OK;
}

/* ======================================================================== */
/* Bounded pre-scan: what msgpack-c would trust, checked first               */
/* ======================================================================== */

/* msgpack-c allocates count * sizeof(object) for a container before reading its
 * elements (msgpack-c issue 1013). The scan walks the bytes once, refuses any
 * length or count the remaining bytes cannot pay for and any nesting deeper than
 * SHMC_INDEX_SCAN_DEPTH, and adds up what msgpack-c will allocate. As every
 * element takes at least one byte (a pair two), that is at most
 * sizeof(msgpack_object) == 24 bytes per index byte on LP64. */
typedef struct scan {
    const uint8_t *base, *p, *end;
    shmc_err *err;
    size_t objects; /* bytes msgpack-c's zone will be asked for */
} scan;

static int scan_bad(scan *s, const char *what)
{
    return shmc_err_set(s->err, SHMC_ERR_CORRUPT, "index byte %zu: %s", (size_t)(s->p - s->base),
                        what);
}

static size_t scan_left(const scan *s) { return (size_t)(s->end - s->p); }

/* Big-endian length of n bytes after the tag. */
static int scan_len(scan *s, int n, uint64_t *v)
{
    if (scan_left(s) < (size_t)n) return scan_bad(s, "truncated value");
    uint64_t x = 0;
    for (int i = 0; i < n; i++) x = (x << 8) | s->p[i];
    s->p += n;
    *v = x;
    return SHMC_OK;
}

static int scan_skip(scan *s, uint64_t n, const char *what)
{
    if (n > scan_left(s)) return scan_bad(s, what);
    s->p += n;
    return SHMC_OK;
}

static int scan_value(scan *s, int depth);

static int scan_container(scan *s, uint64_t n, int is_map, int depth)
{
    if (depth >= SHMC_INDEX_SCAN_DEPTH) return scan_bad(s, "nesting too deep");
    if (n > scan_left(s) / (is_map ? 2 : 1))
        return scan_bad(s, "container count exceeds the index size");
    s->objects += (size_t)n * (is_map ? sizeof(msgpack_object_kv) : sizeof(msgpack_object));
    for (uint64_t i = 0; i < n * (is_map ? 2u : 1u); i++)
        FORWARD_IF_ERROR(scan_value(s, depth + 1));
    return SHMC_OK;
}

/* Tags with a length or count in the next 1, 2 or 4 bytes. */
static int scan_sized(scan *s, uint8_t t, int depth)
{
    static const struct {
        uint8_t tag, lenbytes;
        char what;
    } sized[] = {
        {0xc4, 1, 'b'}, {0xc5, 2, 'b'}, {0xc6, 4, 'b'}, {0xd9, 1, 'b'}, {0xda, 2, 'b'},
        {0xdb, 4, 'b'}, {0xdc, 2, 'a'}, {0xdd, 4, 'a'}, {0xde, 2, 'm'}, {0xdf, 4, 'm'},
    };
    for (size_t i = 0; i < sizeof sized / sizeof sized[0]; i++) {
        if (sized[i].tag != t) continue;
        uint64_t n = 0;
        FORWARD_IF_ERROR(scan_len(s, sized[i].lenbytes, &n));
        if (sized[i].what == 'b') return scan_skip(s, n, "string length exceeds the index size");
        return scan_container(s, n, sized[i].what == 'm', depth);
    }
    return scan_bad(s, "unsupported msgpack type");
}

/* Bytes after the tag of a fixed-size scalar, or -1. */
static int scalar_size(uint8_t t)
{
    if (t < 0x80 || t >= 0xe0 || t == 0xc0 || t == 0xc2 || t == 0xc3) return 0;
    if (t >= 0xcc && t <= 0xcf) return 1 << (t - 0xcc);
    if (t >= 0xd0 && t <= 0xd3) return 1 << (t - 0xd0);
    if (t == 0xca) return 4;
    if (t == 0xcb) return 8;
    return -1;
}

/* Ext types (0xc7-0xc9, 0xd4-0xd8) and 0xc1 are refused: the index has none. */
static int scan_value(scan *s, int depth)
{
    if (scan_left(s) < 1) return scan_bad(s, "unexpected end of index");
    uint8_t t = *s->p++;
    if (t < 0x80) return SHMC_OK; /* positive fixint, the most common value: nothing follows */
    if ((t & 0xe0) == 0xa0) return scan_skip(s, t & 0x1fu, "string length exceeds the index size");
    int sz = scalar_size(t);
    if (sz >= 0) return scan_skip(s, (uint64_t)sz, "truncated value");
    if ((t & 0xf0) == 0x80) return scan_container(s, t & 0x0fu, 1, depth);
    if ((t & 0xf0) == 0x90) return scan_container(s, t & 0x0fu, 0, depth);
    return scan_sized(s, t, depth);
}

int shmc_index_prescan(const uint8_t *p, size_t len, size_t *zone_bytes, shmc_err *err)
{
    scan s = {p, p, p + len, err, 0};
    FORWARD_IF_ERROR(scan_value(&s, 0));
    if (s.p != s.end) return scan_bad(&s, "trailing bytes after the index map");
    *zone_bytes = s.objects;
    return SHMC_OK;
}

/* ======================================================================== */
/* Decoder: msgpack-c's tree into shmc_index                                 */
/* ======================================================================== */

typedef struct dec {
    shmc_err *err;
    char *arena; /* NUL-terminated string copies */
    size_t arena_len;
    uint8_t *colseen; /* per column: which of kind, flags, label, nrows it had */
} dec;

static int dec_bad(dec *d, const char *where, uint64_t i, const char *what)
{
    return shmc_err_set(d->err, SHMC_ERR_CORRUPT, "index %s %llu: %s", where, (unsigned long long)i,
                        what);
}

static int obj_uint(const msgpack_object *o, uint64_t max, uint64_t *v)
{
    if (o->type != MSGPACK_OBJECT_POSITIVE_INTEGER || o->via.u64 > max) return -1;
    *v = o->via.u64;
    return 0;
}

static int obj_int(const msgpack_object *o, int64_t *v)
{
    if (o->type == MSGPACK_OBJECT_NEGATIVE_INTEGER) {
        *v = o->via.i64;
        return 0;
    }
    uint64_t u = 0;
    if (obj_uint(o, INT64_MAX, &u)) return -1;
    *v = (int64_t)u;
    return 0;
}

static int obj_small(const msgpack_object *o, int max, int *v)
{
    uint64_t u = 0;
    if (obj_uint(o, (uint64_t)max, &u)) return -1;
    *v = (int)u;
    return 0;
}

static int obj_u32(const msgpack_object *o, uint32_t *v)
{
    uint64_t u = 0;
    if (obj_uint(o, UINT32_MAX, &u)) return -1;
    *v = (uint32_t)u;
    return 0;
}

/* Copy into the arena with a NUL; the arena is sized so this cannot overflow:
 * every copied string is a distinct part of the index bytes. */
static const char *arena_put(dec *d, const char *s, size_t n)
{
    char *w = d->arena + d->arena_len;
    if (n) memcpy(w, s, n);
    w[n] = '\0';
    d->arena_len += n + 1;
    return w;
}

static int obj_string(dec *d, const msgpack_object *o, const char **out)
{
    if (o->type != MSGPACK_OBJECT_STR || memchr(o->via.str.ptr, 0, o->via.str.size)) return -1;
    *out = arena_put(d, o->via.str.ptr, o->via.str.size);
    return 0;
}

static int obj_label(dec *d, const msgpack_object *o, shmc_label *l)
{
    memset(l, 0, sizeof *l);
    if (o->type == MSGPACK_OBJECT_NIL) return 0;
    if (o->type == MSGPACK_OBJECT_STR) {
        l->type = SHMC_LABEL_STR;
        l->len = o->via.str.size;
        l->str = arena_put(d, o->via.str.ptr, l->len);
        return 0;
    }
    if (o->type == MSGPACK_OBJECT_BIN) {
        l->type = SHMC_LABEL_PICKLE;
        l->len = o->via.bin.size;
        l->str = arena_put(d, o->via.bin.ptr, l->len);
        return 0;
    }
    l->type = SHMC_LABEL_INT;
    return obj_int(o, &l->i);
}

static int key_is(const msgpack_object *k, const char *s)
{
    return k->type == MSGPACK_OBJECT_STR && strlen(s) == k->via.str.size &&
           memcmp(k->via.str.ptr, s, k->via.str.size) == 0;
}

/* One key of a column map; unknown keys are ignored. *seen collects the required ones. */
static int dec_column_key(dec *d, const msgpack_object_kv *kv, shmc_column_info *col,
                          uint32_t *seen)
{
    const msgpack_object *k = &kv->key, *v = &kv->val;
    if (key_is(k, "kind")) {
        *seen |= 1;
        return obj_small(v, SHMC_KIND_COUNT_, &col->kind);
    }
    if (key_is(k, "flags")) {
        *seen |= 2;
        return obj_u32(v, &col->flags);
    }
    if (key_is(k, "label")) {
        *seen |= 4;
        return obj_label(d, v, &col->label);
    }
    if (key_is(k, "nrows")) {
        *seen |= 8;
        return obj_uint(v, UINT64_MAX, &col->nrows);
    }
    if (key_is(k, "unit")) return obj_small(v, SHMC_UNIT_NS, &col->unit);
    if (key_is(k, "nulls")) return obj_uint(v, UINT64_MAX, &col->null_count);
    if (key_is(k, "dtype")) return obj_string(d, v, &col->dtype);
    if (key_is(k, "tz")) return obj_string(d, v, &col->tz);
    if (key_is(k, "code_kind")) return obj_small(v, SHMC_KIND_COUNT_, &col->code_kind);
    if (key_is(k, "dict")) return obj_u32(v, &col->dict_column);
    if (key_is(k, "arrow")) return obj_string(d, v, &col->arrow);
    return k->type == MSGPACK_OBJECT_STR ? 0 : -1;
}

static int dec_column(dec *d, const msgpack_object *o, uint32_t i, shmc_column_info *col)
{
    if (o->type != MSGPACK_OBJECT_MAP) return dec_bad(d, "column", i, "expected a map");
    memset(col, 0, sizeof *col);
    col->dtype = "";
    col->dict_column = UINT32_MAX;
    uint32_t seen = 0;
    for (uint32_t j = 0; j < o->via.map.size; j++) {
        const msgpack_object_kv *kv = &o->via.map.ptr[j];
        if (dec_column_key(d, kv, col, &seen))
            return dec_bad(d, "column", i,
                           "a key is not a string or a value has the wrong type or range");
    }
    if ((seen & 5) != 5) return dec_bad(d, "column", i, "entry lacks kind or label");
    d->colseen[i] = (uint8_t)seen; /* flags and nrows: once the version is known (col_defaults) */
    return SHMC_OK;
}

static int dec_chunk_fields(const msgpack_object *f, shmc_chunk_info *k)
{
    return obj_u32(&f[0], &k->column) || obj_u32(&f[1], &k->rowgroup) ||
           obj_small(&f[2], SHMC_ROLE_COUNT_ - 1, &k->role) ||
           obj_small(&f[3], SHMC_CODEC_ZSTD, &k->codec) || obj_small(&f[4], 1, &k->shuffle) ||
           obj_u32(&f[5], &k->typesize) || obj_uint(&f[6], UINT64_MAX, &k->offset) ||
           obj_uint(&f[7], UINT64_MAX, &k->stored_len) ||
           obj_uint(&f[8], UINT64_MAX, &k->raw_len) || obj_uint(&f[9], UINT64_MAX, &k->xxh3);
}

/* Fields past the tenth are ignored (FORMAT.md section 4). */
static int dec_chunk(dec *d, const msgpack_object *o, uint32_t i, shmc_chunk_info *k)
{
    if (o->type != MSGPACK_OBJECT_ARRAY) return dec_bad(d, "chunk", i, "expected an array");
    if (o->via.array.size < 10) return dec_bad(d, "chunk", i, "entry has fewer than 10 fields");
    memset(k, 0, sizeof *k);
    if (dec_chunk_fields(o->via.array.ptr, k))
        return dec_bad(d, "chunk", i, "a field has the wrong type or is out of range");
    return SHMC_OK;
}

/* A column entry has at least a kind and a label (14 bytes), a format-1 chunk ten
 * fields: min_bytes bounds the count by the index size before the array of entries
 * is allocated. */
static int dec_array(dec *d, const msgpack_object *o, size_t len, size_t min_bytes, size_t elem,
                     const char *what, void **out, uint32_t *n)
{
    if (*out) return dec_bad(d, what, 0, "duplicate key");
    if (o->type != MSGPACK_OBJECT_ARRAY) return dec_bad(d, what, 0, "expected an array");
    uint32_t cnt = o->via.array.size;
    if (cnt > len / min_bytes) return dec_bad(d, what, cnt, "count exceeds the index size");
    *out = calloc(cnt ? cnt : 1, elem);
    RETURN_ERROR_IF(!*out, d->err, SHMC_ERR_NOMEM, "index: no memory for %u %s entries", cnt, what);
    *n = cnt;
    return SHMC_OK;
}

static int dec_columns(dec *d, const msgpack_object *o, size_t len, shmc_index *ix)
{
    FORWARD_IF_ERROR(dec_array(d, o, len, 14, sizeof *ix->columns, "columns", (void **)&ix->columns,
                               &ix->ncolumns));
    d->colseen = calloc(ix->ncolumns ? ix->ncolumns : 1, 1);
    RETURN_ERROR_IF(!d->colseen, d->err, SHMC_ERR_NOMEM, "index: no memory for %u columns",
                    ix->ncolumns);
    for (uint32_t i = 0; i < ix->ncolumns; i++)
        FORWARD_IF_ERROR(dec_column(d, &o->via.array.ptr[i], i, &ix->columns[i]));
    return SHMC_OK;
}

static int dec_chunks(dec *d, const msgpack_object *o, size_t len, shmc_index *ix)
{
    FORWARD_IF_ERROR(
        dec_array(d, o, len, 11, sizeof *ix->chunks, "chunks", (void **)&ix->chunks, &ix->nchunks));
    for (uint32_t i = 0; i < ix->nchunks; i++)
        FORWARD_IF_ERROR(dec_chunk(d, &o->via.array.ptr[i], i, &ix->chunks[i]));
    return SHMC_OK;
}

/* k is zeroed already (calloc): a memset per record here was 72% of the decode of a
 * 65,536-chunk index (a `rep stos` each). */
static void chunk_record_get(const uint8_t *r, shmc_chunk_info *k)
{
    k->column = shmc_ld32(r + SHMC_CREC_COLUMN);
    k->rowgroup = shmc_ld32(r + SHMC_CREC_ROWGROUP);
    k->role = r[SHMC_CREC_ROLE];
    k->codec = r[SHMC_CREC_CODEC];
    k->shuffle = r[SHMC_CREC_SHUFFLE];
    k->typesize = shmc_ld32(r + SHMC_CREC_TYPESIZE);
    k->offset = shmc_ld64(r + SHMC_CREC_OFFSET);
    k->stored_len = shmc_ld64(r + SHMC_CREC_STORED_LEN);
    k->raw_len = shmc_ld64(r + SHMC_CREC_RAW_LEN);
    k->xxh3 = shmc_ld64(r + SHMC_CREC_XXH3);
}

/* The same ranges as dec_chunk_fields checks for a format-1 chunk array. */
static int chunk_record_bad(const uint8_t *r)
{
    return r[SHMC_CREC_ROLE] >= SHMC_ROLE_COUNT_ || r[SHMC_CREC_CODEC] > SHMC_CODEC_ZSTD ||
           r[SHMC_CREC_SHUFFLE] > 1 || r[SHMC_CREC_RESERVED] != 0;
}

static int dec_chunk_table(dec *d, const msgpack_object *o, shmc_index *ix)
{
    if (ix->chunks) return dec_bad(d, "chunk_table", 0, "duplicate key");
    if (o->type != MSGPACK_OBJECT_BIN) return dec_bad(d, "chunk_table", 0, "expected a bin");
    size_t n = o->via.bin.size / SHMC_CREC_SIZE;
    if (o->via.bin.size % SHMC_CREC_SIZE || n > UINT32_MAX)
        return dec_bad(d, "chunk_table", o->via.bin.size,
                       "length is not a whole number of 48-byte records");
    ix->chunks = calloc(n ? n : 1, sizeof *ix->chunks);
    RETURN_ERROR_IF(!ix->chunks, d->err, SHMC_ERR_NOMEM, "index: no memory for %zu chunk records",
                    n);
    ix->nchunks = (uint32_t)n;
    const uint8_t *r = (const uint8_t *)o->via.bin.ptr;
    for (uint32_t i = 0; i < ix->nchunks; i++, r += SHMC_CREC_SIZE) {
        if (chunk_record_bad(r))
            return dec_bad(d, "chunk", i, "role, codec, shuffle or reserved byte out of range");
        chunk_record_get(r, &ix->chunks[i]);
    }
    return SHMC_OK;
}

static int dec_range(const msgpack_object *o, shmc_index *ix)
{
    if (o->type == MSGPACK_OBJECT_NIL) {
        ix->has_range = 0;
        return 0;
    }
    if (o->type != MSGPACK_OBJECT_ARRAY || o->via.array.size != 2) return -1;
    ix->has_range = 1;
    return obj_int(&o->via.array.ptr[0], &ix->range_start) ||
           obj_int(&o->via.array.ptr[1], &ix->range_step);
}

static int dec_meta(const msgpack_object *o, shmc_index *ix)
{
    if (o->type != MSGPACK_OBJECT_BIN) return -1;
    ix->meta = (const uint8_t *)o->via.bin.ptr; /* msgpack_unpack refers into the index */
    ix->meta_len = o->via.bin.size;
    return 0;
}

int shmc_index_freq_check(const char *s, size_t len)
{
    if (!s || len == 0 || len > SHMC_FREQ_MAX) return -1;
    for (size_t i = 0; i < len; i++) {
        char c = s[i];
        int ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                 c == '-' || c == '+' || c == '_';
        if (!ok) return -1;
    }
    return 0;
}

/* `freq`: a str within shmc_index_freq_check; anything else is corrupt. */
static int dec_freq(dec *d, const msgpack_object *o, shmc_index *ix)
{
    if (o->type != MSGPACK_OBJECT_STR || shmc_index_freq_check(o->via.str.ptr, o->via.str.size))
        return -1;
    ix->freq = arena_put(d, o->via.str.ptr, o->via.str.size);
    return 0;
}

/* Scalar top-level keys: 0, -1 (wrong type or range), or 1 when `k` is not one of them. */
static int dec_top_scalar(dec *d, const msgpack_object *k, const msgpack_object *v, shmc_index *ix,
                          uint32_t *seen)
{
    if (key_is(k, "v")) {
        *seen |= 1;
        return obj_small(v, SHMC_FORMAT_VERSION, &ix->version) ||
                       ix->version < SHMC_FORMAT_VERSION_MIN
                   ? -1
                   : 0;
    }
    if (key_is(k, "nrows")) {
        *seen |= 2;
        return obj_uint(v, UINT64_MAX, &ix->nrows);
    }
    if (key_is(k, "rpc")) {
        *seen |= 4;
        return obj_uint(v, UINT64_MAX, &ix->rows_per_chunk);
    }
    if (key_is(k, "range")) return dec_range(v, ix);
    if (key_is(k, "range_name")) return obj_label(d, v, &ix->range_name);
    if (key_is(k, "columns_name")) return obj_label(d, v, &ix->columns_name);
    if (key_is(k, "meta")) return dec_meta(v, ix);
    if (key_is(k, "freq")) return dec_freq(d, v, ix);
    return k->type == MSGPACK_OBJECT_STR ? 1 : -1;
}

/* Format 2 leaves out `flags` when 0 and `nrows` of a non-dictionary column (the
 * frame's); format 1 has both in every column map. */
static int col_defaults(dec *d, shmc_index *ix)
{
    for (uint32_t i = 0; i < ix->ncolumns; i++) {
        shmc_column_info *col = &ix->columns[i];
        uint8_t s = d->colseen[i];
        if (!(s & 2) && ix->version == 1) return dec_bad(d, "column", i, "entry lacks flags");
        if (s & 8) continue;
        if (ix->version == 1 || (col->flags & SHMC_COL_DICTIONARY))
            return dec_bad(d, "column", i, "entry lacks nrows");
        col->nrows = ix->nrows;
    }
    return SHMC_OK;
}

static int dec_top(dec *d, const msgpack_object *root, size_t len, shmc_index *ix)
{
    if (root->type != MSGPACK_OBJECT_MAP)
        return shmc_err_set(d->err, SHMC_ERR_CORRUPT, "index: not a map");
    uint32_t seen = 0;
    for (uint32_t i = 0; i < root->via.map.size; i++) {
        const msgpack_object *k = &root->via.map.ptr[i].key, *v = &root->via.map.ptr[i].val;
        if (key_is(k, "columns")) {
            seen |= 8;
            FORWARD_IF_ERROR(dec_columns(d, v, len, ix));
            continue;
        }
        if (key_is(k, "chunks")) {
            seen |= 16;
            FORWARD_IF_ERROR(dec_chunks(d, v, len, ix));
            continue;
        }
        if (key_is(k, "chunk_table")) {
            seen |= 32;
            FORWARD_IF_ERROR(dec_chunk_table(d, v, ix));
            continue;
        }
        int r = dec_top_scalar(d, k, v, ix, &seen);
        if (r < 0)
            return dec_bad(d, "top-level entry", i,
                           "a key is not a string or a value has the wrong type or range");
    }
    RETURN_ERROR_IF((seen & 15) != 15, d->err, SHMC_ERR_CORRUPT,
                    "index lacks v, nrows, rpc or columns");
    /* Format 1 lists chunks as arrays, format 2 as one table; never both. */
    uint32_t want = ix->version == 1 ? 16 : 32;
    RETURN_ERROR_IF((seen & 48) != want, d->err, SHMC_ERR_CORRUPT,
                    "index of format %d needs `%s` and not `%s`", ix->version,
                    want == 16 ? "chunks" : "chunk_table", want == 16 ? "chunk_table" : "chunks");
    return col_defaults(d, ix);
}

/* Parse with msgpack-c into a zone sized by the pre-scan, so it never grows. */
static int dec_parse(const uint8_t *p, size_t len, size_t zone_bytes, msgpack_zone *zone,
                     msgpack_object *root, shmc_err *err)
{
    RETURN_ERROR_IF(!msgpack_zone_init(zone, zone_bytes + 64), err, SHMC_ERR_NOMEM,
                    "index: no memory for %zu bytes of msgpack objects", zone_bytes);
    size_t off = 0;
    msgpack_unpack_return r = msgpack_unpack((const char *)p, len, &off, zone, root);
    if (r == MSGPACK_UNPACK_SUCCESS && off == len) return SHMC_OK;
    msgpack_zone_destroy(zone);
    return shmc_err_set(err, r == MSGPACK_UNPACK_NOMEM_ERROR ? SHMC_ERR_NOMEM : SHMC_ERR_CORRUPT,
                        "index: msgpack-c refused the index (status %d at byte %zu)", (int)r, off);
}

int shmc_index_decode(const uint8_t *p, size_t len, shmc_index *ix, shmc_err *err)
{
    memset(ix, 0, sizeof *ix);
    size_t zone_bytes = 0;
    FORWARD_IF_ERROR(shmc_index_prescan(p, len, &zone_bytes, err));
    /* Every string copied is a distinct part of the index plus a NUL; each needs
     * at least one tag byte, so len * 2 + 1 always suffices. */
    dec d = {err, malloc(len * 2 + 1), 0, NULL};
    RETURN_ERROR_IF(!d.arena, err, SHMC_ERR_NOMEM, "index: no memory for %zu bytes", len);
    ix->arena = d.arena;
    msgpack_zone zone;
    msgpack_object root;
    int rc = dec_parse(p, len, zone_bytes, &zone, &root, err);
    if (rc == SHMC_OK) {
        rc = dec_top(&d, &root, len, ix);
        msgpack_zone_destroy(&zone);
    }
    free(d.colseen);
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
