/* The list-of-str fast path (shmc_frame_strings_from_pickle): a list of str/None
 * pickled by CPython at protocol 5 is scanned in one pass into Arrow buffers by its
 * own small opcode scanner (opcodes from pickle_ops.h); any other spelling falls back
 * to the generic parser and pf_strings (pickle_frame_numpy.c). Its own file because
 * the fast path reads the pickle's bytes, not the parsed value graph. */
#include <stdlib.h>
#include <string.h>

#include "format.h"
#include "pickle_ops.h"
#include "pickle_frame_int.h"

/* ---- lists of str/None ----------------------------------------------------
 * Python hands a string column to C as pickle.dumps(list, protocol=5). The fast
 * path below reads exactly what CPython's pickler writes for such a list in one
 * pass into three growing buffers (no per-string allocation); anything else
 * (other protocols' spellings, odd memo use) falls back to the generic parser. */
typedef struct pf_sbuf {
    int64_t *off;
    uint8_t *data, *valid;
    size_t n, ncap, dlen, dcap;
    int64_t *memo; /* memo index -> row (-1: the list itself) */
    size_t nmemo, mcap;
    uint64_t budget; /* bytes we may still allocate */
} pf_sbuf;

#define PF_BAIL (-1)

static int pf_sgrow(void **p, size_t *cap, size_t need, size_t elem, uint64_t *budget)
{
    if (need <= *cap) return SHMC_OK;
    size_t ncap = *cap ? *cap : 1024;
    while (ncap < need) {
        if (ncap > SIZE_MAX / 2 / elem) return PF_BAIL;
        ncap *= 2;
    }
    uint64_t add = (uint64_t)(ncap - *cap) * elem;
    if (add > *budget) return PF_BAIL;
    void *q = realloc(*p, ncap * elem);
    if (!q) return PF_BAIL;
    *budget -= add;
    *p = q;
    *cap = ncap;
    return SHMC_OK;
}

static int pf_spush(pf_sbuf *S, const uint8_t *ptr, size_t len, int valid)
{
    size_t old = S->ncap;
    if (S->n + 2 > S->ncap) {
        FORWARD_IF_ERROR(
            pf_sgrow((void **)&S->off, &S->ncap, S->n + 2, sizeof *S->off, &S->budget));
        if (S->valid || !valid) {
            uint8_t *v = realloc(S->valid, S->ncap / 8 + 1);
            if (!v) return PF_BAIL;
            if (!S->valid) memset(v, 0xFF, S->ncap / 8 + 1);
            else memset(v + old / 8 + 1, 0, S->ncap / 8 - old / 8);
            S->valid = v;
        }
    } else if (!valid && !S->valid) {
        S->valid = malloc(S->ncap / 8 + 1);
        if (!S->valid) return PF_BAIL;
        memset(S->valid, 0xFF, S->ncap / 8 + 1);
    }
    if (len > SIZE_MAX - S->dlen) return PF_BAIL;
    FORWARD_IF_ERROR(pf_sgrow((void **)&S->data, &S->dcap, S->dlen + len, 1, &S->budget));
    if (len) memcpy(S->data + S->dlen, ptr, len);
    S->dlen += len;
    if (S->valid) {
        if (valid) S->valid[S->n >> 3] |= (uint8_t)(1u << (S->n & 7));
        else S->valid[S->n >> 3] &= (uint8_t) ~(1u << (S->n & 7));
    }
    S->n++;
    S->off[S->n] = (int64_t)S->dlen;
    return SHMC_OK;
}

static int pf_smemo(pf_sbuf *S, uint64_t idx, int64_t row)
{
    if (idx != S->nmemo) return PF_BAIL; /* only the pickler's sequential numbering */
    FORWARD_IF_ERROR(
        pf_sgrow((void **)&S->memo, &S->mcap, S->nmemo + 1, sizeof *S->memo, &S->budget));
    S->memo[S->nmemo++] = row;
    return SHMC_OK;
}

static int pf_sget(pf_sbuf *S, uint64_t idx)
{
    if (idx >= S->nmemo || S->memo[idx] < 0) return PF_BAIL;
    size_t r = (size_t)S->memo[idx];
    size_t a = (size_t)S->off[r], b = (size_t)S->off[r + 1];
    int valid = !S->valid || shmc_bit_get(S->valid, r);
    if (!valid) return PF_BAIL;
    FORWARD_IF_ERROR(pf_sgrow((void **)&S->data, &S->dcap, S->dlen + (b - a), 1, &S->budget));
    return pf_spush(S, S->data + a, b - a, 1); /* data may have moved: copy from the new one */
}

/* Reads one item opcode at *pp; returns SHMC_OK, PF_BAIL, or 1 at APPENDS/APPEND/STOP. */
static int pf_sitem(pf_sbuf *S, const uint8_t **pp, const uint8_t *end, int *last_row_memoizable)
{
    const uint8_t *p = *pp;
    uint8_t op = *p++;
    uint64_t n = 0;
    unsigned w = op == SHMC_OP_SHORT_BINUNICODE ? 1
                 : op == SHMC_OP_BINUNICODE     ? 4
                 : op == SHMC_OP_BINUNICODE8    ? 8
                                                : 0;
    *last_row_memoizable = 0;
    if (w) {
        if ((size_t)(end - p) < w) return PF_BAIL;
        for (unsigned i = 0; i < w; i++) n |= (uint64_t)p[i] << (8 * i);
        p += w;
        if (n > (uint64_t)(end - p)) return PF_BAIL;
        FORWARD_IF_ERROR(pf_spush(S, p, (size_t)n, 1));
        *pp = p + n;
        *last_row_memoizable = 1;
        return SHMC_OK;
    }
    if (op == SHMC_OP_NONE) {
        *pp = p;
        return pf_spush(S, NULL, 0, 0);
    }
    if (op == SHMC_OP_BINGET || op == SHMC_OP_LONG_BINGET) {
        unsigned gw = op == SHMC_OP_BINGET ? 1 : 4;
        if ((size_t)(end - p) < gw) return PF_BAIL;
        for (unsigned i = 0; i < gw; i++) n |= (uint64_t)p[i] << (8 * i);
        *pp = p + gw;
        return pf_sget(S, n);
    }
    return PF_BAIL;
}

/* Memo opcodes after an item: MEMOIZE, BINPUT, LONG_BINPUT. */
static int pf_smemo_op(pf_sbuf *S, const uint8_t **pp, const uint8_t *end, int64_t row)
{
    const uint8_t *p = *pp;
    if (p >= end) return PF_BAIL;
    if (*p == SHMC_OP_MEMOIZE) {
        *pp = p + 1;
        return pf_smemo(S, S->nmemo, row);
    }
    if (*p == SHMC_OP_BINPUT && end - p >= 2) {
        *pp = p + 2;
        return pf_smemo(S, p[1], row);
    }
    if (*p == SHMC_OP_LONG_BINPUT && end - p >= 5) {
        *pp = p + 5;
        uint64_t idx =
            (uint64_t)p[1] | (uint64_t)p[2] << 8 | (uint64_t)p[3] << 16 | (uint64_t)p[4] << 24;
        return pf_smemo(S, idx, row);
    }
    return SHMC_OK;
}

static int pf_sframe(const uint8_t **pp, const uint8_t *end)
{
    while (end - *pp >= 9 && **pp == SHMC_OP_FRAME) {
        uint64_t n = 0;
        for (int i = 0; i < 8; i++) n |= (uint64_t)(*pp)[1 + i] << (8 * i);
        if (n > (uint64_t)(end - *pp - 9)) return PF_BAIL;
        *pp += 9;
    }
    return SHMC_OK;
}

static int pf_sbody(pf_sbuf *S, const uint8_t *p, const uint8_t *end)
{
    if (end - p < 3 || p[0] != SHMC_OP_PROTO || p[1] < 2 || p[1] > 5) return PF_BAIL;
    p += 2;
    FORWARD_IF_ERROR(pf_sframe(&p, end));
    if (p >= end || *p++ != SHMC_OP_EMPTY_LIST) return PF_BAIL;
    FORWARD_IF_ERROR(pf_smemo_op(S, &p, end, -1));
    int in_mark = 0, memoizable;
    for (;;) {
        FORWARD_IF_ERROR(pf_sframe(&p, end));
        if (p >= end) return PF_BAIL;
        uint8_t op = *p;
        if (op == SHMC_OP_STOP && !in_mark) return p + 1 == end ? SHMC_OK : PF_BAIL;
        if (op == SHMC_OP_MARK && !in_mark) {
            in_mark = 1;
            p++;
            continue;
        }
        if (op == SHMC_OP_APPENDS && in_mark) {
            in_mark = 0;
            p++;
            continue;
        }
        if (op == SHMC_OP_APPEND && !in_mark) {
            p++;
            continue;
        } /* single item was pushed just before */
        FORWARD_IF_ERROR(pf_sitem(S, &p, end, &memoizable));
        if (memoizable) FORWARD_IF_ERROR(pf_smemo_op(S, &p, end, (int64_t)S->n - 1));
        if (!in_mark && (p >= end || *p != SHMC_OP_APPEND)) return PF_BAIL;
    }
}

static int pf_strings_fast(shmc_frame *frame, const uint8_t *buf, size_t len,
                           shmc_column_desc *desc, uint64_t *nrows)
{
    pf_sbuf S;
    memset(&S, 0, sizeof S);
    shmc_pickle_limits lim;
    shmc_pk_limits_resolve(&lim, NULL, len);
    S.budget = lim.max_alloc;
    /* Size for the common case up front (untouched pages cost nothing): string
     * bytes never exceed the input unless memo references repeat them. */
    int st = pf_sgrow((void **)&S.off, &S.ncap, len / 16 + 2, sizeof *S.off, &S.budget);
    if (st == SHMC_OK) st = pf_sgrow((void **)&S.data, &S.dcap, len, 1, &S.budget);
    if (st == SHMC_OK)
        st = pf_sgrow((void **)&S.memo, &S.mcap, len / 16 + 2, sizeof *S.memo, &S.budget);
    if (st == SHMC_OK) {
        S.off[0] = 0;
        st = pf_sbody(&S, buf, buf + len);
    }
    free(S.memo);
    if (st == SHMC_OK && !S.data) st = (S.data = malloc(1)) ? SHMC_OK : PF_BAIL;
    if (st == SHMC_OK) st = shmc_frame_keep(frame, S.off, free) == SHMC_OK ? SHMC_OK : PF_BAIL;
    if (st != SHMC_OK) {
        free(S.off);
        free(S.data);
        free(S.valid);
        return PF_BAIL;
    }
    if (shmc_frame_keep(frame, S.data, free) != SHMC_OK) free(S.data), S.data = NULL;
    if (S.valid && shmc_frame_keep(frame, S.valid, free) != SHMC_OK) free(S.valid), S.valid = NULL;
    if (!S.data) return PF_BAIL;
    int missing = 0;
    for (size_t i = 0; S.valid && i < S.n && !missing; i++) missing = !shmc_bit_get(S.valid, i);
    desc->kind = SHMC_KIND_STRING;
    desc->offsets = S.off;
    desc->data = S.data;
    desc->validity = missing ? S.valid : NULL;
    desc->validity_offset = 0;
    *nrows = S.n;
    return SHMC_OK;
}

int shmc_frame_strings_from_pickle(shmc_frame *frame, const void *buf, size_t len,
                                   shmc_column_desc *desc, uint64_t *nrows_out)
{
    if (!frame) return SHMC_ERR_INVALID_ARG;
    shmc_err *err = shmc_frame_err(frame);
    RETURN_ERROR_IF(!buf || !desc || !nrows_out, err, SHMC_ERR_INVALID_ARG,
                    "strings pickle: NULL argument");
    if (pf_strings_fast(frame, buf, len, desc, nrows_out) == SHMC_OK) return SHMC_OK;
    pf_ctx C = {.frame = frame, .err = err, .sink = NULL};
    shmc_pk_limits_resolve(&C.lim, NULL, len);
    C.budget = C.lim.max_alloc;
    shmc_pk_input in = {buf, len, NULL, NULL, 0};
    shmc_pk_doc *doc;
    shmc_pk_value *root;
    FORWARD_IF_ERROR(shmc_pk_parse(&in, NULL, &doc, &root, err));
    int st;
    pf_col col;
    memset(&col, 0, sizeof col);
    if (root->type != SHMC_PK_LIST)
        st = pf_unsupported(&C, root, "a string column (a list of str/None is read)");
    else st = pf_strings(&C, root->v.seq.items, root->v.seq.len, &col);
    shmc_pk_doc_free(doc);
    FORWARD_IF_ERROR(st);
    desc->kind = SHMC_KIND_STRING;
    desc->offsets = col.d.offsets;
    desc->data = col.d.data;
    desc->validity = col.d.validity;
    desc->validity_offset = 0;
    *nrows_out = col.nrows;
    return SHMC_OK;
}
