/* The columns axis -> one label per column: the items of an Index (str, int, or
 * anything else as a pickled label), or for a MultiIndex one tuple label per column
 * with the level names as the columns name. Apart from the index reader
 * (pickle_frame_pandas.c) because column labels become labels, not a column. */
#include <string.h>

#include "pickle_ops.h"
#include "pickle_frame_int.h"

/* Row i of a materialised level as a pickled tuple item; -1 for what a column
 * label cannot be (a missing value, a datetime, ...). */
static int pf_lput_level_item(pf_lbuf *B, const pf_col *c, uint64_t i)
{
    const shmc_column_desc *d = &c->d;
    if (d->kind == SHMC_KIND_STRING)
        return pf_valid_bit(d, i) ? pf_lput_bytes(B, SHMC_OP_BINUNICODE, d->data + d->offsets[i],
                                                  (size_t)(d->offsets[i + 1] - d->offsets[i]))
                                  : -1;
    if (d->mask && d->mask[i]) return -1;
    size_t s = shmc_kind_itemsize(d->kind);
    const uint8_t *p = (const uint8_t *)d->values + i * s;
    uint64_t u = 0;
    switch (d->kind) {
    case SHMC_KIND_BOOL:
        return pf_lput(B, (const uint8_t[]){p[0] ? SHMC_OP_NEWTRUE : SHMC_OP_NEWFALSE}, 1);
    case SHMC_KIND_INT8: return pf_lput_int(B, (uint64_t)(int64_t)(int8_t)p[0], 0);
    case SHMC_KIND_INT16: {
        int16_t v;
        memcpy(&v, p, 2);
        return pf_lput_int(B, (uint64_t)(int64_t)v, 0);
    }
    case SHMC_KIND_INT32: {
        int32_t v;
        memcpy(&v, p, 4);
        return pf_lput_int(B, (uint64_t)(int64_t)v, 0);
    }
    case SHMC_KIND_INT64: memcpy(&u, p, 8); return pf_lput_int(B, u, 0);
    case SHMC_KIND_UINT8:
    case SHMC_KIND_UINT16:
    case SHMC_KIND_UINT32:
    case SHMC_KIND_UINT64:
        memcpy(&u, p, s); /* little-endian: the low bytes */
        return pf_lput_int(B, u, u >> 63 != 0);
    case SHMC_KIND_FLOAT64: {
        double v;
        memcpy(&v, p, 8);
        return pf_lput_float(B, v);
    }
    case SHMC_KIND_FLOAT32: {
        float v;
        memcpy(&v, p, 4);
        return pf_lput_float(B, (double)v);
    }
    default: return -1;
    }
}

/* The level names as one tuple label (the columns name of a MultiIndex axis, as the
 * Python binding stores it); no name at all when every level is unnamed. */
static int pf_level_names(pf_ctx *C, const shmc_pk_value *names, shmc_label *out)
{
    memset(out, 0, sizeof *out);
    size_t n = shmc_pk_len(names), named = 0;
    for (size_t l = 0; l < n; l++) named += shmc_pk_item(names, l)->type != SHMC_PK_NONE;
    if (!named) return SHMC_OK;
    pf_lbuf B = {.n = 0};
    int bad = pf_lput(&B, (const uint8_t[]){SHMC_OP_PROTO, 3, SHMC_OP_MARK}, 3);
    for (size_t l = 0; !bad && l < n; l++) bad = pf_lput_value(&B, shmc_pk_item(names, l), 1);
    if (bad || pf_lput(&B, (const uint8_t[]){SHMC_OP_TUPLE, SHMC_OP_STOP}, 2))
        return pf_unsupported(C, names, "MultiIndex level names (str, int, None, float, bool)");
    return pf_lbuf_label(C, &B, out);
}

/* One level of a MultiIndex columns axis: the items of an object level as they are
 * (labels may mix types), or the materialised values of a typed level. */
typedef struct pf_label_level {
    shmc_pk_value *const *items;
    pf_col col;
    pf_arr codes;
} pf_label_level;

static int pf_label_level_read(pf_ctx *C, const shmc_pk_value *lv, const shmc_pk_value *cv,
                               uint64_t l, pf_label_level *out)
{
    const shmc_pk_value *data = shmc_pk_dict_get(pf_arg(lv, 1), "data");
    uint64_t nvals = 0;
    int object_level = 0;
    if (pf_pd(pf_callee(lv), "_new_Index") && pf_pd(pf_arg(lv, 0), "Index") &&
        pf_is_ndarray(data)) {
        pf_arr a;
        FORWARD_IF_ERROR(pf_array(C, data, &a));
        object_level = a.dt.kind == 'O' && a.ndim == 1;
        if (object_level) {
            out->items = a.dims[0] ? a.objs->v.seq.items : NULL;
            nvals = a.dims[0];
        }
    }
    if (!object_level) {
        shmc_label ignored;
        FORWARD_IF_ERROR(pf_index_col(C, lv, &out->col, &ignored, 1));
        nvals = out->col.nrows;
    }
    return pf_codes(C, cv, l, nvals, &out->codes);
}

/* MultiIndex column labels: one pickled tuple per column, each level's label taken
 * by its code, as the Python binding stores such labels. */
static int pf_multi_labels(pf_ctx *C, const shmc_pk_value *axis, shmc_label **labels, uint64_t *n,
                           shmc_label *axis_name)
{
    *n = 0;
    const shmc_pk_value *d = pf_arg(axis, 1);
    if (!pf_pd(pf_callee(axis), "_new_Index") || !d || d->type != SHMC_PK_DICT)
        return pf_unsupported(C, axis, "column labels");
    pf_multi m;
    FORWARD_IF_ERROR(pf_multi_parts(C, d, axis, &m));
    uint64_t nl = m.n;
    pf_label_level *lv;
    FORWARD_IF_ERROR(pf_own(C, (size_t)nl * sizeof *lv, (void **)&lv));
    memset(lv, 0, (size_t)nl * sizeof *lv);
    for (uint64_t l = 0; l < nl; l++) {
        FORWARD_IF_ERROR(
            pf_label_level_read(C, shmc_pk_item(m.levels, l), shmc_pk_item(m.codes, l), l, &lv[l]));
        FORWARD_IF_ERROR(pf_level_rows(C, axis, l, lv[l].codes.dims[0], lv[0].codes.dims[0]));
    }
    *n = lv[0].codes.dims[0];
    FORWARD_IF_ERROR(pf_own(C, (size_t)(*n ? *n : 1) * sizeof **labels, (void **)labels));
    for (uint64_t i = 0; i < *n; i++) {
        pf_lbuf B = {.n = 0};
        int bad = pf_lput(&B, (const uint8_t[]){SHMC_OP_PROTO, 3, SHMC_OP_MARK}, 3);
        for (uint64_t l = 0; !bad && l < nl; l++) {
            int64_t c = pf_code_at(&lv[l].codes, i);
            bad = c < 0         ? -1
                  : lv[l].items ? pf_lput_value(&B, lv[l].items[c], 1)
                                : pf_lput_level_item(&B, &lv[l].col, (uint64_t)c);
        }
        if (bad || pf_lput(&B, (const uint8_t[]){SHMC_OP_TUPLE, SHMC_OP_STOP}, 2))
            return pf_fail(C, SHMC_ERR_UNSUPPORTED, axis,
                           "column %llu: a MultiIndex label that is not "
                           "a tuple of str, int, float or bool (or over 1 KiB)",
                           (unsigned long long)i);
        FORWARD_IF_ERROR(pf_lbuf_label(C, &B, &(*labels)[i]));
    }
    return pf_level_names(C, m.names, axis_name);
}

/* Column labels: the items of the columns Index (str or int). */
/* Labels straight from an object Index: each item as it is (mixed str/int/other). */
static int pf_object_labels(pf_ctx *C, const shmc_pk_value *axis, const pf_arr *a,
                            shmc_label **labels, uint64_t *n, shmc_label *axis_name)
{
    FORWARD_IF_ERROR(pf_label(C, shmc_pk_dict_get(pf_arg(axis, 1), "name"), axis_name));
    *n = a->dims[0];
    FORWARD_IF_ERROR(pf_own(C, (size_t)(*n ? *n : 1) * sizeof **labels, (void **)labels));
    for (uint64_t i = 0; i < *n; i++)
        FORWARD_IF_ERROR(pf_label(C, a->objs->v.seq.items[i], &(*labels)[i]));
    return SHMC_OK;
}

int pf_column_labels(pf_ctx *C, const shmc_pk_value *axis, shmc_label **labels, uint64_t *n,
                     shmc_label *axis_name)
{
    if (pf_pd(pf_arg(axis, 0), "MultiIndex")) return pf_multi_labels(C, axis, labels, n, axis_name);
    const shmc_pk_value *data = shmc_pk_dict_get(pf_arg(axis, 1), "data");
    if (pf_pd(pf_callee(axis), "_new_Index") && pf_pd(pf_arg(axis, 0), "Index") &&
        pf_is_ndarray(data)) {
        pf_arr a;
        FORWARD_IF_ERROR(pf_array(C, data, &a));
        if (a.dt.kind == 'O' && a.ndim == 1)
            return pf_object_labels(C, axis, &a, labels, n, axis_name);
    }
    pf_col lc;
    memset(&lc, 0, sizeof lc);
    FORWARD_IF_ERROR(pf_index_col(C, axis, &lc, axis_name, 0));
    *n = lc.nrows;
    FORWARD_IF_ERROR(
        pf_own(C, (size_t)(lc.nrows ? lc.nrows : 1) * sizeof **labels, (void **)labels));
    for (uint64_t i = 0; i < lc.nrows; i++) {
        shmc_label *l = &(*labels)[i];
        memset(l, 0, sizeof *l);
        if (lc.d.kind == SHMC_KIND_STRING) {
            if (!pf_valid_bit(&lc.d, i)) continue;
            size_t len = (size_t)(lc.d.offsets[i + 1] - lc.d.offsets[i]);
            char *s;
            FORWARD_IF_ERROR(pf_own(C, len + 1, (void **)&s));
            memcpy(s, lc.d.data + lc.d.offsets[i], len);
            s[len] = '\0';
            *l = (shmc_label){.type = SHMC_LABEL_STR, .str = s, .len = len};
        } else if (lc.d.kind == SHMC_KIND_INT64 || lc.d.kind == SHMC_KIND_INT32) {
            int64_t x;
            if (lc.d.kind == SHMC_KIND_INT64) memcpy(&x, (const uint8_t *)lc.d.values + i * 8, 8);
            else {
                int32_t y;
                memcpy(&y, (const uint8_t *)lc.d.values + i * 4, 4);
                x = y;
            }
            *l = (shmc_label){.type = SHMC_LABEL_INT, .i = x};
        } else {
            return pf_fail(C, SHMC_ERR_UNSUPPORTED, axis,
                           "column labels of dtype %s (str or int are read)", lc.dtype);
        }
    }
    return SHMC_OK;
}
