/* One label (a column name, an index name) -> shmc_label: str, int and None as
 * they are, anything else plain (float, bool, bytes, tuples) as a small protocol-3
 * pickle written here. Its own file because index names, the columns name and
 * every column label go through it. */
#include <string.h>

#include "pickle_ops.h"
#include "pickle_frame_int.h"

/* ---- labels and indexes -------------------------------------------------- */
int pf_lput(pf_lbuf *B, const void *p, size_t n)
{
    if (n > sizeof B->b - B->n) return -1;
    memcpy(B->b + B->n, p, n);
    B->n += n;
    return 0;
}

int pf_lput_bytes(pf_lbuf *B, uint8_t op, const void *p, size_t len)
{
    if (len > sizeof B->b) return -1;
    uint8_t h[5] = {op, (uint8_t)len, (uint8_t)(len >> 8), 0, 0};
    return pf_lput(B, h, 5) || pf_lput(B, p, len);
}

static int pf_lput_blob(pf_lbuf *B, uint8_t op, const shmc_pk_value *v)
{
    return pf_lput_bytes(B, op, v->v.bytes.ptr, v->v.bytes.len);
}

/* LONG1 of 8 bytes (9 with a zero for unsigned values >= 2^63). */
int pf_lput_int(pf_lbuf *B, uint64_t u, int is_unsigned)
{
    uint8_t t[10] = {SHMC_OP_LONG1, is_unsigned ? 9 : 8};
    for (int i = 0; i < 8; i++) t[2 + i] = (uint8_t)(u >> (8 * i));
    return pf_lput(B, t, 10) || (is_unsigned && pf_lput(B, "\0", 1));
}

int pf_lput_float(pf_lbuf *B, double f)
{
    uint8_t t[9] = {SHMC_OP_BINFLOAT};
    uint64_t u;
    memcpy(&u, &f, 8);
    for (int i = 0; i < 8; i++) t[1 + i] = (uint8_t)(u >> (56 - 8 * i));
    return pf_lput(B, t, 9);
}

int pf_lput_value(pf_lbuf *B, const shmc_pk_value *v, int depth)
{
    switch (v->type) {
    case SHMC_PK_NONE: return pf_lput(B, (const uint8_t[]){SHMC_OP_NONE}, 1);
    case SHMC_PK_BOOL:
        return pf_lput(B, (const uint8_t[]){v->v.i ? SHMC_OP_NEWTRUE : SHMC_OP_NEWFALSE}, 1);
    case SHMC_PK_INT: return pf_lput_int(B, v->v.u, (v->flags & SHMC_PK_F_UNSIGNED) != 0);
    case SHMC_PK_FLOAT: return pf_lput_float(B, v->v.f);
    case SHMC_PK_STR: return pf_lput_blob(B, SHMC_OP_BINUNICODE, v);
    case SHMC_PK_BYTES: return pf_lput_blob(B, SHMC_OP_BINBYTES, v);
    case SHMC_PK_TUPLE:
        if (depth > 8 || pf_lput(B, (const uint8_t[]){SHMC_OP_MARK}, 1)) return -1;
        for (size_t i = 0; i < v->v.seq.len; i++)
            if (pf_lput_value(B, v->v.seq.items[i], depth + 1)) return -1;
        return pf_lput(B, (const uint8_t[]){SHMC_OP_TUPLE}, 1);
    default: return -1;
    }
}

int pf_lbuf_label(pf_ctx *C, const pf_lbuf *B, shmc_label *out)
{
    char *p;
    FORWARD_IF_ERROR(pf_own(C, B->n, (void **)&p));
    memcpy(p, B->b, B->n);
    out->type = SHMC_LABEL_PICKLE;
    out->str = p;
    out->len = B->n;
    return SHMC_OK;
}

static int pf_label_pickle(pf_ctx *C, const shmc_pk_value *v, shmc_label *out)
{
    pf_lbuf B = {.n = 0};
    if (pf_lput(&B, (const uint8_t[]){SHMC_OP_PROTO, 3}, 2) || pf_lput_value(&B, v, 0) ||
        pf_lput(&B, (const uint8_t[]){SHMC_OP_STOP}, 1))
        return pf_unsupported(C, v,
                              "a label (str, int, None, float, bool, bytes or tuples of these, "
                              "under 1 KiB)");
    return pf_lbuf_label(C, &B, out);
}

int pf_label(pf_ctx *C, const shmc_pk_value *v, shmc_label *out)
{
    memset(out, 0, sizeof *out);
    if (!v || v->type == SHMC_PK_NONE) return SHMC_OK;
    if (v->type == SHMC_PK_INT && !(v->flags & SHMC_PK_F_UNSIGNED)) {
        out->type = SHMC_LABEL_INT;
        out->i = v->v.i;
        return SHMC_OK;
    }
    if (v->type != SHMC_PK_STR) return pf_label_pickle(C, v, out);
    char *s;
    FORWARD_IF_ERROR(pf_own(C, v->v.bytes.len + 1, (void **)&s));
    memcpy(s, v->v.bytes.ptr, v->v.bytes.len);
    s[v->v.bytes.len] = '\0';
    out->type = SHMC_LABEL_STR;
    out->str = s;
    out->len = v->v.bytes.len;
    return SHMC_OK;
}
