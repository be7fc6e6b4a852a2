/* Pickle writer: the fixed-width buffers every column kind is made of --
 * numpy.frombuffer(buffer, numpy.dtype(name)) in band or out of band, with bools
 * and categorical codes checked as they are copied -- and the numeric, nullable
 * and datetime/timedelta columns that are nothing more. pickle_write_cols.c
 * builds the other kinds from these; calls go from there to here only. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "format.h"
#include "pickle_write_int.h"
#include "shmchunk.h"

uint64_t pw_runs_rows(const pw_run *runs, size_t nruns)
{
    uint64_t n = 0;
    for (size_t i = 0; i < nruns; i++) n += runs[i].stop - runs[i].start;
    return n;
}

/* ------------------------------------------------------------------------ */
/* Fixed-width buffers: numpy.frombuffer(buffer, numpy.dtype(name))          */
/* ------------------------------------------------------------------------ */

static int check_piece_len(pw_writer *w, const pw_piece *p, size_t itemsize)
{
    RETURN_ERROR_IF(p->ci.raw_len / itemsize != p->ci.nrows || p->ci.raw_len % itemsize, w->err,
                    SHMC_ERR_CORRUPT, "chunk %u (column %u): %llu bytes for %llu rows of %zu bytes",
                    p->id, p->ci.column, (unsigned long long)p->ci.raw_len,
                    (unsigned long long)p->ci.nrows, itemsize);
    return SHMC_OK;
}

static int64_t load_code(const uint8_t *b, size_t itemsize)
{
    switch (itemsize) {
    case 1: return (int8_t)b[0];
    case 2: {
        int16_t v;
        memcpy(&v, b, 2);
        return v;
    }
    case 4: {
        int32_t v;
        memcpy(&v, b, 4);
        return v;
    }
    default: {
        int64_t v;
        memcpy(&v, b, 8);
        return v;
    }
    }
}

/* The index of the first byte breaking ctx->check, or SIZE_MAX when all pass. */
static size_t first_bad(const fixed_ctx *c, const uint8_t *b, size_t n)
{
    if (c->check == CHECK_BOOL) {
        for (size_t i = 0; i < n; i++)
            if (b[i] > 1) return i;
    } else if (c->check == CHECK_CODES) {
        for (size_t i = 0; i + c->itemsize <= n; i += c->itemsize) {
            int64_t v = load_code(b + i, c->itemsize);
            if (v < -1 || v >= c->ncat) return i;
        }
    }
    return SIZE_MAX;
}

static int bad_codes(pw_writer *w, const pw_piece *p, size_t at, const fixed_ctx *c)
{
    return shmc_err_set(
        w->err, SHMC_ERR_CORRUPT, "chunk %u (column %u): code at row %llu outside [-1, %lld)",
        p->id, p->ci.column, (unsigned long long)(p->ci.row_start + p->lo + at / c->itemsize),
        (long long)c->ncat);
}

static int fill_piece(pw_writer *w, void *vctx, const pw_piece *p)
{
    fixed_ctx *c = vctx;
    size_t n = (size_t)(p->hi - p->lo) * c->itemsize;
    if (p->id == PW_ABSENT) { /* an unstored mask: nothing missing */
        memset(c->dst, 0, n);
        c->dst += n;
        return SHMC_OK;
    }
    FORWARD_IF_ERROR(check_piece_len(w, p, c->itemsize));
    if (p->ci.codec != SHMC_CODEC_NONE && p->lo == 0 && p->hi == p->ci.nrows) {
        /* The whole chunk: decode straight into the stream. */
        FORWARD_IF_ERROR(shmc_segment_chunk_decode(w->seg, p->id, c->dst, n));
    } else {
        const uint8_t *b;
        FORWARD_IF_ERROR(pw_chunk_bytes(w, p, &b));
        memcpy(c->dst, b + p->lo * c->itemsize, n);
    }
    if (c->check == CHECK_BOOL) {
        for (size_t i = 0; i < n; i++) c->dst[i] = c->dst[i] != 0; /* "nonzero = missing" */
    } else if (c->check == CHECK_CODES) {
        size_t at = first_bad(c, c->dst, n);
        if (at != SIZE_MAX) return bad_codes(w, p, at, c);
    }
    c->dst += n;
    return SHMC_OK;
}

static int collect_piece(pw_writer *w, void *vctx, const pw_piece *p)
{
    fixed_ctx *c = vctx;
    if (p->id == PW_ABSENT) { /* an unstored mask has no bytes to point at */
        c->need_inband = 1;
        return SHMC_OK;
    }
    FORWARD_IF_ERROR(check_piece_len(w, p, c->itemsize));
    uint64_t off = p->lo * c->itemsize, len = (p->hi - p->lo) * c->itemsize;
    int kind = SHMC_OOB_DECODED;
    if (p->ci.codec != SHMC_CODEC_NONE && c->check == CHECK_BOOL) {
        /* A compressed bool/mask chunk would reach the reader as decoded bytes
         * nobody checked (a stored 2 breaks value_counts): copy it in-band, where
         * fill_piece decodes and normalises it. */
        c->need_inband = 1;
        return SHMC_OK;
    }
    if (p->ci.codec == SHMC_CODEC_NONE) {
        const uint8_t *b;
        FORWARD_IF_ERROR(pw_chunk_bytes(w, p, &b)); /* verifies the checksum */
        size_t at = first_bad(c, b + off, (size_t)len);
        if (at != SIZE_MAX && c->check == CHECK_CODES) return bad_codes(w, p, at, c);
        if (at != SIZE_MAX) c->need_inband = 1;
        RETURN_ERROR_IF(b < w->base || (size_t)(b - w->base) > w->base_len, w->err,
                        SHMC_ERR_CORRUPT, "chunk %u: view outside the mapping", p->id);
        off += (uint64_t)(b - w->base);
        kind = SHMC_OOB_SEGMENT;
        shmc_oob_buffer *last = c->nbufs ? &c->bufs[c->nbufs - 1] : NULL;
        if (last && last->kind == SHMC_OOB_SEGMENT && last->offset + last->len == off) {
            last->len += len; /* adjacent raw chunks: one range */
            return SHMC_OK;
        }
    }
    return pw_oob_push(w, &c->bufs, &c->nbufs, &c->cap, (shmc_oob_buffer){kind, p->id, off, len});
}

static int emit_frombuffer_oob(pw_writer *w, const char *dtype)
{
    pw_global(w, G_FROMBUFFER);
    shmc_pk_oob(&w->pk);
    pw_dtype(w, dtype);
    shmc_pk_op(&w->pk, SHMC_OP_TUPLE2);
    return shmc_pk_op(&w->pk, SHMC_OP_REDUCE);
}

static int emit_fixed_oob(pw_writer *w, fixed_ctx *c, const char *dtype)
{
    for (size_t i = 0; i < c->nbufs; i++)
        FORWARD_IF_ERROR(
            pw_oob_add(w, c->bufs[i].kind, c->bufs[i].chunk, c->bufs[i].offset, c->bufs[i].len));
    if (c->nbufs == 1) return emit_frombuffer_oob(w, dtype);
    /* Several ranges (compressed or scattered row groups): one array again. */
    pw_global(w, G_CONCATENATE);
    shmc_pk_op(&w->pk, SHMC_OP_MARK);
    for (size_t i = 0; i < c->nbufs; i++) FORWARD_IF_ERROR(emit_frombuffer_oob(w, dtype));
    shmc_pk_op(&w->pk, SHMC_OP_TUPLE);
    shmc_pk_op(&w->pk, SHMC_OP_TUPLE1);
    return shmc_pk_op(&w->pk, SHMC_OP_REDUCE);
}

/* Push numpy.frombuffer(...) of one role of a column over runs. */
int pw_emit_fixed(pw_writer *w, uint32_t col, const shmc_column_info *ci, int role,
                  const char *dtype, size_t itemsize, fixed_ctx *c, const pw_run *runs,
                  size_t nruns)
{
    uint64_t nrows = pw_runs_rows(runs, nruns);
    RETURN_ERROR_IF(nrows > SIZE_MAX / 2 / itemsize, w->err, SHMC_ERR_LIMIT,
                    "column %u: %llu rows too many", col, (unsigned long long)nrows);
    c->itemsize = itemsize;
    if ((w->flags & SHMC_PICKLE_OOB) && nrows) {
        int st = pw_for_each_piece(w, col, ci, role, runs, nruns, collect_piece, c);
        if (st == SHMC_OK && !c->need_inband) st = emit_fixed_oob(w, c, dtype);
        free(c->bufs);
        c->bufs = NULL;
        if (st != SHMC_OK || !c->need_inband) return st;
    }
    pw_global(w, G_FROMBUFFER);
    FORWARD_IF_ERROR(shmc_pk_bytearray(&w->pk, (size_t)nrows * itemsize, &c->dst));
    FORWARD_IF_ERROR(pw_for_each_piece(w, col, ci, role, runs, nruns, fill_piece, c));
    pw_dtype(w, dtype);
    shmc_pk_op(&w->pk, SHMC_OP_TUPLE2);
    return shmc_pk_op(&w->pk, SHMC_OP_REDUCE);
}

/* ------------------------------------------------------------------------ */
/* Numbers, bools, datetimes                                                 */
/* ------------------------------------------------------------------------ */
const char *pw_numpy_name(int kind)
{
    static const char *const names[] = {
        [SHMC_KIND_BOOL] = "?",       [SHMC_KIND_INT8] = "i1",     [SHMC_KIND_INT16] = "<i2",
        [SHMC_KIND_INT32] = "<i4",    [SHMC_KIND_INT64] = "<i8",   [SHMC_KIND_UINT8] = "u1",
        [SHMC_KIND_UINT16] = "<u2",   [SHMC_KIND_UINT32] = "<u4",  [SHMC_KIND_UINT64] = "<u8",
        [SHMC_KIND_FLOAT32] = "<f4",  [SHMC_KIND_FLOAT64] = "<f8", [SHMC_KIND_DATETIME] = "<i8",
        [SHMC_KIND_TIMEDELTA] = "<i8"};
    return kind > 0 && kind <= SHMC_KIND_TIMEDELTA ? names[kind] : NULL;
}

static int is_nullable_name(const char *d)
{
    static const char *const names[] = {"Int8",    "Int16",   "Int32",  "Int64",
                                        "UInt8",   "UInt16",  "UInt32", "UInt64",
                                        "Float32", "Float64", "boolean"};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (d && !strcmp(d, names[i])) return 1;
    return 0;
}

/* pandas' masked arrays take (values, mask) positionally on every version. */
static int masked_class(const shmc_column_info *ci)
{
    int has_mask = (ci->roles >> SHMC_ROLE_MASK) & 1;
    if (!is_nullable_name(ci->dtype) && !(has_mask && ci->null_count)) return -1;
    if (ci->kind == SHMC_KIND_BOOL) return G_BOOLARRAY;
    if (ci->kind == SHMC_KIND_FLOAT32 || ci->kind == SHMC_KIND_FLOAT64) return G_FLOATARRAY;
    return G_INTARRAY;
}

int pw_emit_numeric(pw_writer *w, uint32_t col, const shmc_column_info *ci, const pw_run *runs,
                    size_t nruns)
{
    int cls = masked_class(ci);
    size_t itemsize = shmc_kind_itemsize(ci->kind);
    fixed_ctx c = {.check = ci->kind == SHMC_KIND_BOOL ? CHECK_BOOL : CHECK_NONE};
    if (cls < 0)
        return pw_emit_fixed(w, col, ci, SHMC_ROLE_VALUES, pw_numpy_name(ci->kind), itemsize, &c,
                             runs, nruns);
    pw_global(w, cls);
    FORWARD_IF_ERROR(pw_emit_fixed(w, col, ci, SHMC_ROLE_VALUES, pw_numpy_name(ci->kind), itemsize,
                                   &c, runs, nruns));
    if ((ci->roles >> SHMC_ROLE_MASK) & 1) {
        fixed_ctx m = {.check = CHECK_BOOL};
        FORWARD_IF_ERROR(pw_emit_fixed(w, col, ci, SHMC_ROLE_MASK, "?", 1, &m, runs, nruns));
    } else {
        pw_global(w, G_ZEROS); /* a nullable dtype without a stored mask: nothing missing */
        shmc_pk_int(&w->pk, (int64_t)pw_runs_rows(runs, nruns));
        pw_dtype(w, "?");
        shmc_pk_op(&w->pk, SHMC_OP_TUPLE2);
        shmc_pk_op(&w->pk, SHMC_OP_REDUCE);
    }
    shmc_pk_op(&w->pk, SHMC_OP_TUPLE2);
    return shmc_pk_op(&w->pk, SHMC_OP_REDUCE);
}

static const char *unit_name(int unit)
{
    switch (unit) {
    case SHMC_UNIT_S: return "s";
    case SHMC_UNIT_MS: return "ms";
    case SHMC_UNIT_US: return "us";
    case SHMC_UNIT_NS: return "ns";
    default: return NULL;
    }
}

/* Naive values: a datetime64/timedelta64 view, zero-copy. With a time zone:
 * pandas.array(int64 values, DatetimeTZDtype(unit, tz)) reads the integers as
 * UTC epoch on 2.2 and 3.x alike (datetime64 input would be taken as wall
 * time, and DatetimeArray(...) is deprecated on 2.2, gone on 3.x). */
int pw_emit_time_role(pw_writer *w, uint32_t col, const shmc_column_info *ci, int role,
                      const pw_run *runs, size_t nruns)
{
    const char *unit = unit_name(ci->unit);
    RETURN_ERROR_IF(!unit, w->err, SHMC_ERR_CORRUPT, "column %u: bad time unit %d", col, ci->unit);
    fixed_ctx c = {.check = CHECK_NONE};
    int tz = ci->kind == SHMC_KIND_DATETIME && ci->tz && ci->tz[0];
    if (!tz) {
        char dt[16];
        snprintf(dt, sizeof dt, "<%c8[%s]", ci->kind == SHMC_KIND_DATETIME ? 'M' : 'm', unit);
        return pw_emit_fixed(w, col, ci, role, dt, 8, &c, runs, nruns);
    }
    size_t bad = shmc_utf8_check((const uint8_t *)ci->tz, strlen(ci->tz));
    RETURN_ERROR_IF(bad, w->err, SHMC_ERR_CORRUPT, "column %u: time zone is not UTF-8", col);
    pw_global(w, G_PDARRAY);
    FORWARD_IF_ERROR(pw_emit_fixed(w, col, ci, role, "<i8", 8, &c, runs, nruns));
    pw_global(w, G_TZDTYPE);
    shmc_pk_cstr(&w->pk, unit);
    shmc_pk_cstr(&w->pk, ci->tz);
    shmc_pk_op(&w->pk, SHMC_OP_TUPLE2);
    shmc_pk_op(&w->pk, SHMC_OP_REDUCE);
    shmc_pk_op(&w->pk, SHMC_OP_TUPLE2);
    return shmc_pk_op(&w->pk, SHMC_OP_REDUCE);
}

int pw_emit_time(pw_writer *w, uint32_t col, const shmc_column_info *ci, const pw_run *runs,
                 size_t nruns)
{
    return pw_emit_time_role(w, col, ci, SHMC_ROLE_VALUES, runs, nruns);
}
