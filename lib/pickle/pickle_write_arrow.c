/* Pickle writer: SHMC_KIND_ARROW columns (pd.ArrowDtype, segment format 2) as
 *   pandas.arrays.ArrowExtensionArray(pyarrow.chunked_array([piece, ...], TYPE))
 * with one piece per row group of the selection:
 *   pyarrow.Array.from_buffers(TYPE, length, [validity|None, values], -1, offset)
 *   (var-width: [validity|None, offsets, data]; dictionaries: the indices wrapped in
 *   pyarrow.DictionaryArray.from_arrays(indices, dictionary, None, ordered), the
 *   dictionary Array emitted once and memoised).
 * Only stable public callables of pyarrow and pandas (lib/PICKLE.md says why each),
 * checked to load equal on pandas 2.2 / pyarrow 17 and pandas 3.1 / pyarrow 26.
 *
 * pyarrow trusts offsets and dictionary indices (a bad one reads out of bounds) and
 * strings' UTF-8, and a hostile segment can carry valid checksums: every chunk length,
 * offset, UTF-8 string and valid index is checked before a byte of the stream depends
 * on it. A piece of rows [lo, hi) of its chunk starts its buffers at row base = lo & ~7
 * so that bitmaps stay byte-sliced (from_buffers' offset = lo - base); var-width
 * offsets are rebased into the stream and only the data they cover is copied. */
#include <stdlib.h>
#include <string.h>

#include "arrow_format.h"
#include "error.h"
#include "format.h"
#include "pickle_write_int.h"
#include "shmchunk.h"

/* One column being written: its layout and the memo slots of what pieces share. */
typedef struct arrow_col {
    uint32_t col;
    const shmc_column_info *ci;
    shmc_arrow_layout l;
    shmc_arrow_rule rule; /* what each valid value keeps (times, date64, decimals) */
    int is_unsigned;      /* index format is an unsigned integer */
    uint32_t piece_type;  /* memo: the type of from_buffers (the indices' for a dictionary) */
    int dict;             /* pieces are dictionary indices */
    uint64_t ndict;       /* dictionary entries */
    uint32_t dict_memo;   /* memo: the dictionary Array */
} arrow_col;

/* The checked bytes of one piece: chunk views (or decoded scratch) by role. */
typedef struct arrow_bufs {
    const pw_piece *p; /* the primary piece: values, or offsets when var-width */
    pw_piece v, d;     /* validity (id PW_ABSENT if none), data (var-width) */
    const uint8_t *valid, *prim, *data;
    uint64_t base; /* first row the buffers hold */
} arrow_bufs;

/* ------------------------------------------------------------------------ */
/* Types                                                                     */
/* ------------------------------------------------------------------------ */
static const char *ts_unit(char c)
{
    switch (c) {
    case 's': return "s";
    case 'm': return "ms";
    case 'u': return "us";
    default: return "ns";
    }
}

/* pyarrow.decimal128/256(precision, scale) of "d:P,S[,BITS]" (checked by layout_of). */
static int emit_decimal(pw_writer *w, const char *fmt, const shmc_arrow_layout *l)
{
    char *end;
    long prec = strtol(fmt + 2, &end, 10);
    long scale = strtol(end + 1, &end, 10);
    pw_call_begin(w, l->width == 32 ? G_PA_DECIMAL256 : G_PA_DECIMAL128);
    shmc_pk_int(&w->pk, prec);
    shmc_pk_int(&w->pk, scale);
    return pw_call_end(w);
}

/* Push the pyarrow type of format `fmt` (a layout_of success). */
static int emit_type(pw_writer *w, const char *fmt, const shmc_arrow_layout *l)
{
    const char *alias = shmc_arrow_alias(fmt);
    if (alias) {
        pw_call_begin(w, G_PA_TYPE_FOR_ALIAS);
        shmc_pk_cstr(&w->pk, alias);
        return pw_call_end(w);
    }
    if (fmt[0] == 'd') return emit_decimal(w, fmt, l);
    if (fmt[0] == 'w') {
        pw_call_begin(w, G_PA_BINARY);
        shmc_pk_int(&w->pk, l->width);
        return pw_call_end(w);
    }
    /* "ts?:ZONE": the zone kept the zone-name rule at open (ASCII, no paths). */
    pw_call_begin(w, G_PA_TIMESTAMP);
    shmc_pk_cstr(&w->pk, ts_unit(fmt[2]));
    if (fmt[4]) shmc_pk_cstr(&w->pk, fmt + 4);
    else shmc_pk_none(&w->pk);
    return pw_call_end(w);
}

/* MEMOIZE the top of the stack into *memo and POP it: later pieces BINGET it. */
static int memo_pop(pw_writer *w, uint32_t *memo)
{
    FORWARD_IF_ERROR(shmc_pk_memoize(&w->pk, memo));
    return shmc_pk_op(&w->pk, SHMC_OP_POP);
}

static int layout_of(pw_writer *w, uint32_t col, const shmc_column_info *ci, arrow_col *a)
{
    const char *why;
    RETURN_ERROR_IF(ci->kind != SHMC_KIND_ARROW ||
                        shmc_arrow_layout_of(ci->arrow, &a->l, &why) != 0,
                    w->err, SHMC_ERR_CORRUPT, "column %u: Arrow format '%.40s': %s", col,
                    ci->arrow ? ci->arrow : "(none)",
                    ci->kind != SHMC_KIND_ARROW ? "not an Arrow column" : why);
    shmc_arrow_rule_of(ci->arrow, &a->rule);
    return SHMC_OK;
}

/* ------------------------------------------------------------------------ */
/* Checks: chunk lengths, offsets, UTF-8, dictionary indices                 */
/* ------------------------------------------------------------------------ */
static int check_len(pw_writer *w, const arrow_col *a, const pw_piece *c, uint64_t nrows)
{
    uint64_t want = 0;
    int rc = shmc_arrow_raw_len(&a->l, c->ci.role, nrows, &want);
    RETURN_ERROR_IF(rc < 0 || (rc > 0 && c->ci.raw_len != want), w->err, SHMC_ERR_CORRUPT,
                    "chunk %u (column %u, role %d): %llu bytes for %llu rows, need %llu", c->id,
                    a->col, c->ci.role, (unsigned long long)c->ci.raw_len,
                    (unsigned long long)nrows, (unsigned long long)want);
    return SHMC_OK;
}

static int row_valid(const uint8_t *valid, uint64_t r) { return !valid || shmc_bit_get(valid, r); }

static uint64_t load_off(const uint8_t *p, uint32_t width, uint64_t i)
{
    if (width == 4) {
        uint32_t v;
        memcpy(&v, p + 4 * i, 4);
        return v;
    }
    uint64_t v;
    memcpy(&v, p + 8 * i, 8);
    return v;
}

/* 0 when [s, s+n) is UTF-8 as Arrow means it, else 1 + the bad byte's offset.
 * shmc_utf8_check takes encoded surrogates (pickle's 'surrogatepass'); in text it
 * passed, 0xED is always a lead byte, and ED A0..BF is exactly a surrogate. */
static size_t arrow_utf8_bad(const uint8_t *s, size_t n)
{
    size_t bad = shmc_utf8_check(s, n);
    if (bad) return bad;
    for (size_t i = 0; i + 1 < n; i++)
        if (s[i] == 0xED && s[i + 1] >= 0xA0) return i + 1;
    return 0;
}

static int check_strings(pw_writer *w, const arrow_col *a, const arrow_bufs *b)
{
    for (uint64_t r = b->p->lo; r < b->p->hi; r++) {
        if (!row_valid(b->valid, r)) continue;
        uint64_t o0 = load_off(b->prim, a->l.width, r), o1 = load_off(b->prim, a->l.width, r + 1);
        size_t bad = arrow_utf8_bad(b->data + o0, (size_t)(o1 - o0));
        RETURN_ERROR_IF(bad, w->err, SHMC_ERR_CORRUPT,
                        "chunk %u (column %u): row %llu is not UTF-8 at data byte %llu", b->d.id,
                        a->col, (unsigned long long)(b->p->ci.row_start + r),
                        (unsigned long long)(o0 + bad - 1));
    }
    return SHMC_OK;
}

static int check_offsets(pw_writer *w, const arrow_col *a, const arrow_bufs *b)
{
    const pw_piece *p = b->p;
    uint64_t bad = 0;
    RETURN_ERROR_IF(
        shmc_arrow_offsets_check(b->prim, a->l.width, p->ci.nrows, b->d.ci.raw_len, &bad) != 0,
        w->err, SHMC_ERR_CORRUPT,
        "chunk %u (column %u): %u-byte offset of row %llu is %lld: not in order within "
        "[0, %llu] from 0 to the data length",
        p->id, a->col, a->l.width, (unsigned long long)(p->ci.row_start + bad),
        (long long)load_off(b->prim, a->l.width, bad), (unsigned long long)b->d.ci.raw_len);
    return a->l.utf8 ? check_strings(w, a, b) : SHMC_OK;
}

static int64_t load_index(const uint8_t *p, uint32_t width, int is_unsigned, uint64_t r)
{
    uint64_t u = 0;
    memcpy(&u, p + width * r, width); /* little-endian: the low bytes */
    if (is_unsigned || width == 8) return u > INT64_MAX ? -1 : (int64_t)u;
    int shift = 64 - 8 * (int)width; /* sign-extend */
    return (int64_t)(u << shift) >> shift;
}

static int check_indices(pw_writer *w, const arrow_col *a, const arrow_bufs *b)
{
    for (uint64_t r = b->p->lo; r < b->p->hi; r++) {
        if (!row_valid(b->valid, r)) continue;
        int64_t k = load_index(b->prim, a->l.width, a->is_unsigned, r);
        RETURN_ERROR_IF(k < 0 || (uint64_t)k >= a->ndict, w->err, SHMC_ERR_CORRUPT,
                        "chunk %u (column %u): dictionary index %lld at row %llu outside [0, %llu)",
                        b->p->id, a->col, (long long)k,
                        (unsigned long long)(b->p->ci.row_start + r), (unsigned long long)a->ndict);
    }
    return SHMC_OK;
}

/* Values pyarrow takes unlooked but Arrow's full validation refuses (as the Python
 * reader does): a time outside one day, a date64 between days, a decimal past its
 * precision would load as garbage (432000 s shown as 00:00:00). */
static int check_values(pw_writer *w, const arrow_col *a, const arrow_bufs *b)
{
    for (uint64_t r = b->p->lo; r < b->p->hi; r++) {
        if (!row_valid(b->valid, r)) continue;
        RETURN_ERROR_IF(!shmc_arrow_value_ok(&a->rule, a->l.width, b->prim + r * a->l.width),
                        w->err, SHMC_ERR_CORRUPT,
                        "chunk %u (column %u): row %llu (chunk byte %llu) is not %s of Arrow "
                        "format '%.40s'",
                        b->p->id, a->col, (unsigned long long)(b->p->ci.row_start + r),
                        (unsigned long long)(r * a->l.width), shmc_arrow_rule_name(&a->rule),
                        a->ci->arrow);
    }
    return SHMC_OK;
}

/* Find, length-check, read and content-check every chunk a piece uses. */
static int load_piece(pw_writer *w, const arrow_col *a, const pw_piece *p, arrow_bufs *b)
{
    memset(b, 0, sizeof *b);
    b->p = p;
    b->base = p->lo & ~(uint64_t)7;
    FORWARD_IF_ERROR(check_len(w, a, p, p->ci.nrows));
    FORWARD_IF_ERROR(pw_chunk_bytes(w, p, &b->prim));
    b->v.id = PW_ABSENT;
    if ((a->ci->roles >> SHMC_ROLE_VALIDITY) & 1)
        FORWARD_IF_ERROR(
            pw_find_piece(w, a->col, a->ci, SHMC_ROLE_VALIDITY, p->ci.rowgroup, &b->v));
    if (b->v.id != PW_ABSENT) {
        FORWARD_IF_ERROR(check_len(w, a, &b->v, p->ci.nrows));
        FORWARD_IF_ERROR(pw_chunk_bytes(w, &b->v, &b->valid));
    }
    if (a->l.shape == SHMC_ARROW_VAR) {
        FORWARD_IF_ERROR(pw_find_piece(w, a->col, a->ci, SHMC_ROLE_DATA, p->ci.rowgroup, &b->d));
        FORWARD_IF_ERROR(pw_chunk_bytes(w, &b->d, &b->data));
        FORWARD_IF_ERROR(check_offsets(w, a, b));
    }
    if (a->rule.kind != SHMC_ARROW_RULE_NONE) FORWARD_IF_ERROR(check_values(w, a, b));
    return a->dict ? check_indices(w, a, b) : SHMC_OK;
}

/* ------------------------------------------------------------------------ */
/* Buffers and pieces                                                        */
/* ------------------------------------------------------------------------ */
/* pyarrow.py_buffer over bytes [off, off+len) of chunk c: out of band when asked for
 * and the chunk is stored raw (a view of the segment), else a bytearray in the stream. */
static int emit_bytes(pw_writer *w, const pw_piece *c, const uint8_t *bytes, uint64_t off,
                      uint64_t len)
{
    pw_call_begin(w, G_PA_PY_BUFFER);
    if ((w->flags & SHMC_PICKLE_OOB) && c->ci.codec == SHMC_CODEC_NONE && len) {
        RETURN_ERROR_IF(bytes < w->base || (size_t)(bytes - w->base) > w->base_len, w->err,
                        SHMC_ERR_CORRUPT, "chunk %u: view outside the mapping", c->id);
        FORWARD_IF_ERROR(
            pw_oob_add(w, SHMC_OOB_SEGMENT, c->id, (uint64_t)(bytes - w->base) + off, len));
        shmc_pk_oob(&w->pk);
    } else {
        uint8_t *dst;
        FORWARD_IF_ERROR(shmc_pk_bytearray(&w->pk, (size_t)len, &dst));
        if (len) memcpy(dst, bytes + off, (size_t)len);
    }
    return pw_call_end(w);
}

/* Offsets of rows [base, hi] less offsets[base], and the data bytes they cover. */
static int emit_rebased(pw_writer *w, const arrow_col *a, const arrow_bufs *b)
{
    uint32_t width = a->l.width;
    uint64_t hi = b->p->hi, o0 = load_off(b->prim, width, b->base);
    uint8_t *dst;
    pw_call_begin(w, G_PA_PY_BUFFER);
    FORWARD_IF_ERROR(shmc_pk_bytearray(&w->pk, (size_t)((hi - b->base + 1) * width), &dst));
    for (uint64_t r = b->base; r <= hi; r++) {
        uint64_t v = load_off(b->prim, width, r) - o0;
        if (width == 4) {
            uint32_t v4 = (uint32_t)v;
            memcpy(dst + 4 * (r - b->base), &v4, 4);
        } else memcpy(dst + 8 * (r - b->base), &v, 8);
    }
    pw_call_end(w);
    return emit_bytes(w, &b->d, b->data, o0, load_off(b->prim, width, hi) - o0);
}

/* The values (or offsets + data) buffers of a piece. */
static int emit_payload(pw_writer *w, const arrow_col *a, const arrow_bufs *b)
{
    const pw_piece *p = b->p;
    if (a->l.shape == SHMC_ARROW_BITS)
        return emit_bytes(w, p, b->prim, b->base / 8, (p->hi - b->base + 7) / 8);
    if (a->l.shape == SHMC_ARROW_FIXED)
        return emit_bytes(w, p, b->prim, b->base * a->l.width, (p->hi - b->base) * a->l.width);
    int oob = (w->flags & SHMC_PICKLE_OOB) && p->ci.codec == SHMC_CODEC_NONE &&
              b->d.ci.codec == SHMC_CODEC_NONE;
    if (!oob) return emit_rebased(w, a, b);
    /* zero-copy: the offsets' slice over the whole data chunk, both views */
    FORWARD_IF_ERROR(
        emit_bytes(w, p, b->prim, b->base * a->l.width, (p->hi - b->base + 1) * a->l.width));
    return emit_bytes(w, &b->d, b->data, 0, b->d.ci.raw_len);
}

/* pyarrow.Array.from_buffers(TYPE, length, [validity, ...], -1, offset), wrapped in
 * DictionaryArray.from_arrays(indices, dictionary, None, ordered) for a dictionary. */
static int arrow_piece(pw_writer *w, void *vctx, const pw_piece *p)
{
    const arrow_col *a = vctx;
    arrow_bufs b;
    FORWARD_IF_ERROR(load_piece(w, a, p, &b));
    if (a->dict) pw_call_begin(w, G_PA_DICT_FROM_ARRAYS);
    pw_call_begin(w, G_PA_FROM_BUFFERS);
    shmc_pk_get(&w->pk, a->piece_type);
    shmc_pk_int(&w->pk, (int64_t)(p->hi - p->lo));
    shmc_pk_op(&w->pk, SHMC_OP_EMPTY_LIST);
    shmc_pk_op(&w->pk, SHMC_OP_MARK);
    if (b.valid)
        FORWARD_IF_ERROR(emit_bytes(w, &b.v, b.valid, b.base / 8, (p->hi - b.base + 7) / 8));
    else shmc_pk_none(&w->pk);
    FORWARD_IF_ERROR(emit_payload(w, a, &b));
    shmc_pk_op(&w->pk, SHMC_OP_APPENDS);
    shmc_pk_int(&w->pk, -1); /* null count: pyarrow counts when asked */
    shmc_pk_int(&w->pk, (int64_t)(p->lo - b.base));
    pw_call_end(w);
    if (!a->dict) return w->pk.status;
    shmc_pk_get(&w->pk, a->dict_memo);
    shmc_pk_none(&w->pk);
    shmc_pk_bool(&w->pk, (a->ci->flags & SHMC_COL_ORDERED) != 0);
    return pw_call_end(w);
}

/* Push [piece, ...] of a column's primary role over runs. */
static int emit_pieces(pw_writer *w, arrow_col *a, const pw_run *runs, size_t nruns)
{
    int role = a->l.shape == SHMC_ARROW_VAR ? SHMC_ROLE_OFFSETS : SHMC_ROLE_VALUES;
    shmc_pk_op(&w->pk, SHMC_OP_EMPTY_LIST);
    shmc_pk_op(&w->pk, SHMC_OP_MARK);
    FORWARD_IF_ERROR(pw_for_each_piece(w, a->col, a->ci, role, runs, nruns, arrow_piece, a));
    return shmc_pk_op(&w->pk, SHMC_OP_APPENDS);
}

/* ------------------------------------------------------------------------ */
/* Columns                                                                   */
/* ------------------------------------------------------------------------ */
/* The dictionary as one Array, memoised: pyarrow.concat_arrays([pieces]) over all its
 * rows (pyarrow.array([], TYPE) when it has none); *value_type receives the memo of
 * its type. */
static int emit_dictionary(pw_writer *w, arrow_col *a, uint32_t *value_type)
{
    shmc_column_info dci;
    FORWARD_IF_ERROR(pw_column_info(w, a->ci->dict_column, &dci));
    arrow_col d = {.col = a->ci->dict_column, .ci = &dci};
    FORWARD_IF_ERROR(layout_of(w, d.col, &dci, &d));
    RETURN_ERROR_IF(
        d.col == a->col || !(dci.flags & SHMC_COL_DICTIONARY) || dci.dict_column != UINT32_MAX,
        w->err, SHMC_ERR_CORRUPT, "column %u: column %u is not an Arrow dictionary", a->col, d.col);
    FORWARD_IF_ERROR(emit_type(w, dci.arrow, &d.l));
    FORWARD_IF_ERROR(memo_pop(w, &d.piece_type));
    *value_type = d.piece_type;
    a->ndict = dci.nrows;
    pw_run all = {0, dci.nrows};
    if (dci.nrows) {
        pw_call_begin(w, G_PA_CONCAT_ARRAYS);
        FORWARD_IF_ERROR(emit_pieces(w, &d, &all, 1));
    } else {
        pw_call_begin(w, G_PA_ARRAY);
        shmc_pk_op(&w->pk, SHMC_OP_EMPTY_LIST);
        shmc_pk_get(&w->pk, d.piece_type);
    }
    pw_call_end(w);
    return memo_pop(w, &a->dict_memo);
}

/* The column's full type, memoised into *memo; for a dictionary also the dictionary. */
static int emit_column_type(pw_writer *w, arrow_col *a, uint32_t *memo)
{
    FORWARD_IF_ERROR(emit_type(w, a->ci->arrow, &a->l));
    FORWARD_IF_ERROR(memo_pop(w, &a->piece_type));
    if (!a->dict) {
        *memo = a->piece_type;
        return SHMC_OK;
    }
    RETURN_ERROR_IF(!a->l.integer, w->err, SHMC_ERR_CORRUPT,
                    "column %u: dictionary indices of Arrow type %s", a->col, a->l.name);
    uint32_t value_type = 0;
    FORWARD_IF_ERROR(emit_dictionary(w, a, &value_type));
    pw_call_begin(w, G_PA_DICTIONARY);
    shmc_pk_get(&w->pk, a->piece_type);
    shmc_pk_get(&w->pk, value_type);
    shmc_pk_bool(&w->pk, (a->ci->flags & SHMC_COL_ORDERED) != 0);
    pw_call_end(w);
    return memo_pop(w, memo);
}

int pw_emit_arrow(pw_writer *w, uint32_t col, const shmc_column_info *ci, const pw_run *runs,
                  size_t nruns)
{
    arrow_col a = {.col = col, .ci = ci, .dict = ci->dict_column != UINT32_MAX};
    FORWARD_IF_ERROR(layout_of(w, col, ci, &a));
    a.is_unsigned = ci->arrow[0] >= 'A' && ci->arrow[0] <= 'Z';
    uint32_t type;
    FORWARD_IF_ERROR(emit_column_type(w, &a, &type));
    pw_call_begin(w, G_ARROW_EXT_ARRAY);
    pw_call_begin(w, G_PA_CHUNKED_ARRAY);
    FORWARD_IF_ERROR(emit_pieces(w, &a, runs, nruns));
    shmc_pk_get(&w->pk, type);
    pw_call_end(w);
    return pw_call_end(w);
}
