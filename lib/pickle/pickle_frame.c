/* The recogniser: a parsed pickle value graph -> shmc_frame columns.
 * This file holds the block managers, the checks before emitting and the entry
 * points; pickle_frame_int.h lists the files that hold the rest.
 *
 * Recognised (pandas 1.5 .. 3.x, numpy 1.26 .. 2.x, protocols 2-5; details and
 * examples in lib/PICKLE.md):
 *   DataFrame   NEWOBJ(pandas[.core.frame].DataFrame) + BUILD {"_mgr"|"_data": manager}
 *   manager     REDUCE(BlockManager, (blocks, axes)), or NEWOBJ(BlockManager) +
 *               BUILD (axes, values, items, {"0.14.1": {"axes", "blocks": [{values, mgr_locs}]}})
 *   block       REDUCE(_unpickle_block | new_block, (values, placement, ndim));
 *               placement = slice(start, stop, step) or an integer ndarray
 *   ndarray     numpy[._]core.numeric._frombuffer(buf, dtype, shape, order) or
 *               numpy[._]core.multiarray._reconstruct + BUILD (1, shape, dtype, fortran, raw);
 *               2-D blocks are (columns, rows); Fortran order is gathered per column,
 *               big-endian data is swapped, both into owned buffers; otherwise the
 *               column points INTO the input
 *   extension   DatetimeArray / TimedeltaArray / Categorical / StringArray / PeriodArray via
 *               __pyx_unpickle_NDArrayBacked + BUILD (dtype, ndarray, attrs);
 *               IntegerArray / FloatingArray / BooleanArray {_data, _mask};
 *               ArrowStringArray[NumpySemantics] {_pa_array: pyarrow.lib._restore_array(...), _dtype}
 *               ArrowExtensionArray {_pa_array: _restore_array(...), _dtype: ArrowDtype}
 *               -> SHMC_KIND_ARROW (pickle_frame_arrow.c);
 *               IntervalArray via __pyx_unpickle_IntervalMixin + BUILD ({_left, _right, _dtype},);
 *               SparseArray {_sparse_index: IntIndex(length, rows), _sparse_values, _dtype}
 *   index       _new_Index(RangeIndex | Index | Int64Index | ..., {...}),
 *               _new_DatetimeIndex(DatetimeIndex, {...}),
 *               _new_Index(MultiIndex, {levels, codes, names}): each level becomes one
 *               index column holding the level's values taken by its codes; as the
 *               columns axis, one tuple label per column and the names as one tuple
 *
 * dtype strings written to desc.dtype (what str(series.dtype) prints, so the
 * writer can rebuild the same pandas dtype):
 *   numpy: "bool" "int8".."int64" "uint8".."uint64" "float32" "float64"
 *          "datetime64[<unit>]" "timedelta64[<unit>]" (big-endian sources are swapped
 *          to native, so their dtype is the native one)
 *   "datetime64[<unit>, <tz>]" for DatetimeTZDtype, "category",
 *   "Int8".."Int64" "UInt8".."UInt64" "Float32" "Float64" "boolean",
 *   "object" (object column of str, missing values (if any) spelt None),
 *   "object[nan]" (the same with missing values spelt NaN; a column mixing both,
 *   or holding pd.NA, is refused: no dtype string brings it back exactly),
 *   "string[python]" (StringDtype python, na_value NA), "string[pyarrow]"
 *   (pyarrow, NA), "str" (pyarrow, na_value NaN: pandas 3 default, and pandas 2's
 *   "pyarrow_numpy"), "str[python]" (python storage, na_value NaN),
 *   "period[<freq>]" (PeriodDtype), "interval[<subtype>, <closed>]" (IntervalDtype),
 *   "Sparse[<subtype>, <fill>]" (SparseDtype), "<str(pyarrow type)>[pyarrow]" (ArrowDtype).
 */
#include <stdio.h>
#include <string.h>

#include "pickle_frame_int.h"

/* ---- the block manager --------------------------------------------------- */
static int pf_placement(pf_ctx *C, const shmc_pk_value *p, uint64_t ncols, uint64_t *pos,
                        uint64_t *k)
{
    if (p && p->type == SHMC_PK_REDUCE && pf_builtin(pf_callee(p), "slice")) {
        int64_t a, b, s = 1;
        const shmc_pk_value *sv = pf_arg(p, 2);
        if (!pf_int(pf_arg(p, 0), &a) || !pf_int(pf_arg(p, 1), &b) ||
            (sv && sv->type != SHMC_PK_NONE && !pf_int(sv, &s)) || s <= 0 || a < 0 || b < a)
            return pf_fail(C, SHMC_ERR_UNSUPPORTED, p,
                           "block placement slice is not a forward range");
        uint64_t cnt = ((uint64_t)(b - a) + (uint64_t)s - 1) / (uint64_t)s;
        if (cnt > ncols)
            return pf_fail(C, SHMC_ERR_PICKLE, p, "block placement beyond %llu columns",
                           (unsigned long long)ncols);
        for (uint64_t i = 0; i < cnt; i++) pos[i] = (uint64_t)a + i * (uint64_t)s;
        *k = cnt;
        return SHMC_OK;
    }
    pf_arr a;
    FORWARD_IF_ERROR(pf_array(C, p, &a));
    if (a.ndim != 1 || (a.dt.kind != 'i' && a.dt.kind != 'u') ||
        (a.dt.itemsize != 8 && a.dt.itemsize != 4) || a.dt.swap || a.dims[0] > ncols)
        return pf_unsupported(C, p, "a block placement array");
    for (uint64_t i = 0; i < a.dims[0]; i++) {
        int64_t x;
        if (a.dt.itemsize == 8) memcpy(&x, a.data + i * 8, 8);
        else {
            int32_t y;
            memcpy(&y, a.data + i * 4, 4);
            x = y;
        }
        pos[i] = (uint64_t)x;
    }
    *k = a.dims[0];
    return SHMC_OK;
}

static void pf_label_text(const shmc_label *l, char *buf, size_t cap);

/* A block's values failed: say which column (the first of a 2-D block) they were. */
static int pf_block_failed(pf_ctx *C, int st, const uint64_t *pos, uint64_t k, uint64_t ncols)
{
    char name[80] = "?";
    if (k && pos[0] < ncols && C->labels) pf_label_text(&C->labels[pos[0]], name, sizeof name);
    if (k)
        shmc_err_prefix(C->err, "column %llu %s%s: ", (unsigned long long)pos[0], name,
                        k > 1 ? " (a 2-D block)" : "");
    return st;
}

/* Put a block's k columns at their places; each place is filled exactly once. */
static int pf_block(pf_ctx *C, const shmc_pk_value *values, const shmc_pk_value *placement,
                    pf_col *cols, uint64_t ncols)
{
    uint64_t *pos = C->pos, k = 0;
    pf_col *tmp = C->tmp;
    FORWARD_IF_ERROR(pf_placement(C, placement, ncols, pos, &k));
    memset(tmp, 0, (size_t)k * sizeof *tmp);
    int st = pf_values(C, values, tmp, k, 0);
    if (st != SHMC_OK) return pf_block_failed(C, st, pos, k, ncols);
    for (uint64_t j = 0; j < k; j++) {
        if (pos[j] >= ncols || cols[pos[j]].used)
            return pf_fail(C, SHMC_ERR_PICKLE, placement,
                           "block places column %llu twice or out of range",
                           (unsigned long long)pos[j]);
        cols[pos[j]] = tmp[j];
        cols[pos[j]].used = 1;
    }
    return SHMC_OK;
}

static int pf_blocks_reduce(pf_ctx *C, const shmc_pk_value *blocks, pf_col *cols, uint64_t ncols)
{
    for (size_t b = 0; b < shmc_pk_len(blocks); b++) {
        const shmc_pk_value *blk = shmc_pk_item(blocks, b);
        const shmc_pk_value *f = pf_callee(blk);
        if (!blk || blk->type != SHMC_PK_REDUCE ||
            !(pf_pd(f, "_unpickle_block") || pf_pd(f, "new_block")))
            return pf_unsupported(C, blk, "a block");
        FORWARD_IF_ERROR(pf_block(C, pf_arg(blk, 0), pf_arg(blk, 1), cols, ncols));
    }
    return SHMC_OK;
}

static int pf_blocks_legacy(pf_ctx *C, const shmc_pk_value *blocks, pf_col *cols, uint64_t ncols)
{
    for (size_t b = 0; b < shmc_pk_len(blocks); b++) {
        const shmc_pk_value *blk = shmc_pk_item(blocks, b);
        FORWARD_IF_ERROR(pf_block(C, shmc_pk_dict_get(blk, "values"),
                                  shmc_pk_dict_get(blk, "mgr_locs"), cols, ncols));
    }
    return SHMC_OK;
}

/* Find axes and blocks in either BlockManager form. */
static int pf_manager_parts(pf_ctx *C, const shmc_pk_value *mgr, const shmc_pk_value **axes,
                            const shmc_pk_value **blocks, int *legacy)
{
    const shmc_pk_value *f = pf_callee(mgr);
    if (!pf_pd(f, "BlockManager")) return pf_unsupported(C, mgr, "a DataFrame manager");
    if (mgr->type == SHMC_PK_REDUCE && pf_nargs(mgr) >= 2) {
        *blocks = pf_arg(mgr, 0);
        *axes = pf_arg(mgr, 1);
        *legacy = 0;
        return SHMC_OK;
    }
    const shmc_pk_value *extra = shmc_pk_dict_get(shmc_pk_item(shmc_pk_state(mgr), 3), "0.14.1");
    if (!extra) return pf_unsupported(C, mgr, "a BlockManager state (no \"0.14.1\" form)");
    *axes = shmc_pk_dict_get(extra, "axes");
    *blocks = shmc_pk_dict_get(extra, "blocks");
    *legacy = 1;
    return SHMC_OK;
}

/* ---- emitting ------------------------------------------------------------ */
static void pf_label_text(const shmc_label *l, char *buf, size_t cap)
{
    if (l->type == SHMC_LABEL_STR)
        snprintf(buf, cap, "'%.*s'", (int)(l->len > 60 ? 60 : l->len), l->str);
    else if (l->type == SHMC_LABEL_INT) snprintf(buf, cap, "%lld", (long long)l->i);
    else snprintf(buf, cap, "%s", l->type == SHMC_LABEL_NONE ? "None" : "(a pickled label)");
}

/* An object column of strings whose missing values are spelt more than one way
 * (None and NaN) or as pd.NA has no dtype string that brings it back exactly. */
static int pf_check_miss(pf_ctx *C, const pf_col *c, const shmc_label *label, const char *what,
                         uint64_t i, const shmc_pk_value *at)
{
    unsigned m = c->miss;
    if (strcmp(c->dtype, "object") || (!(m & PF_MISS_NA) && m != (PF_MISS_NONE | PF_MISS_NAN)))
        return SHMC_OK;
    char name[80];
    pf_label_text(label, name, sizeof name);
    return pf_fail(C, SHMC_ERR_UNSUPPORTED, at,
                   "%s %llu (%s): object column of strings with missing values spelt %s; only "
                   "one of None or NaN is kept exactly (convert the column to one spelling, or "
                   "to a string dtype)",
                   what, (unsigned long long)i, name,
                   (m & PF_MISS_NA) ? "pd.NA" : "both None and NaN");
}

static int pf_check_columns(pf_ctx *C, const pf_index *ix, const pf_col *icol, const pf_col *cols,
                            const shmc_label *labels, uint64_t ncols, const shmc_pk_value *mgr)
{
    for (uint64_t i = 0; i < ix->nlevels; i++)
        FORWARD_IF_ERROR(
            pf_check_miss(C, &ix->levels[i], &ix->names[i], "index level", i, ix->node));
    if (!ix->is_range && !ix->nlevels)
        FORWARD_IF_ERROR(pf_check_miss(C, icol, &ix->name, "index", 0, ix->node));
    for (uint64_t i = 0; i < ncols; i++)
        FORWARD_IF_ERROR(pf_check_miss(C, &cols[i], &labels[i], "column", i, mgr));
    return SHMC_OK;
}

static int pf_emit_index(pf_ctx *C, const pf_index *ix, pf_col *icol, uint64_t nrows)
{
    if (ix->is_range)
        return C->sink->set_range_index(C->sink->user, ix->start, ix->step, &ix->name);
    for (uint64_t i = 0; i < ix->nlevels; i++) {
        pf_col *l = &ix->levels[i];
        l->d.flags |= SHMC_COL_INDEX;
        l->d.label = ix->names[i];
        l->d.dtype = pf_col_dtype(l);
        FORWARD_IF_ERROR(C->sink->add_column(C->sink->user, &l->d));
    }
    if (ix->nlevels) return SHMC_OK;
    if (icol->nrows != nrows)
        return pf_fail(C, SHMC_ERR_PICKLE, ix->node, "index has %llu rows, frame %llu",
                       (unsigned long long)icol->nrows, (unsigned long long)nrows);
    icol->d.flags |= SHMC_COL_INDEX;
    icol->d.label = ix->name;
    icol->d.dtype = pf_col_dtype(icol);
    return C->sink->add_column(C->sink->user, &icol->d);
}

static int pf_emit_columns(pf_ctx *C, pf_col *cols, const shmc_label *labels, uint64_t ncols,
                           uint64_t nrows, const shmc_pk_value *mgr)
{
    for (uint64_t i = 0; i < ncols; i++) {
        pf_col *c = &cols[i];
        if (!c->used)
            return pf_fail(C, SHMC_ERR_PICKLE, mgr, "no block holds column %llu",
                           (unsigned long long)i);
        if (c->nrows != nrows)
            return pf_fail(C, SHMC_ERR_PICKLE, mgr, "column %llu has %llu rows, frame %llu",
                           (unsigned long long)i, (unsigned long long)c->nrows,
                           (unsigned long long)nrows);
        c->d.label = labels[i];
        c->d.dtype = pf_col_dtype(c);
        if (c->d.tz) c->d.tz = c->tz;
        if (c->d.categories) {
            c->cats.dtype = c->cat_dtype;
            if (c->cats.tz) c->cats.tz = c->cat_tz;
            c->d.categories = &c->cats;
        }
        FORWARD_IF_ERROR(C->sink->add_column(C->sink->user, &c->d));
    }
    return SHMC_OK;
}

static int pf_dataframe(pf_ctx *C, const shmc_pk_value *root)
{
    if (!root || root->type != SHMC_PK_NEWOBJ || !pf_pd(pf_callee(root), "DataFrame"))
        return pf_unsupported(C, root, "the pickled object (a pandas DataFrame is read)");
    const shmc_pk_value *mgr = shmc_pk_dict_get(shmc_pk_state(root), "_mgr"), *axes = NULL,
                        *blocks = NULL;
    if (!mgr) mgr = shmc_pk_dict_get(shmc_pk_state(root), "_data");
    int legacy = 0;
    FORWARD_IF_ERROR(pf_manager_parts(C, mgr, &axes, &blocks, &legacy));
    if (shmc_pk_len(axes) != 2) return pf_unsupported(C, axes, "DataFrame axes (2 are read)");
    shmc_label *labels, colname;
    uint64_t ncols, nrows;
    FORWARD_IF_ERROR(pf_column_labels(C, shmc_pk_item(axes, 0), &labels, &ncols, &colname));
    C->labels = labels;
    pf_index ix;
    pf_col *icol, *cols;
    FORWARD_IF_ERROR(pf_own(C, sizeof *icol, (void **)&icol));
    memset(icol, 0, sizeof *icol);
    FORWARD_IF_ERROR(pf_index_read(C, shmc_pk_item(axes, 1), &ix, icol, 0));
    if (ix.is_range) FORWARD_IF_ERROR(pf_range_len(C, &ix, &nrows));
    else nrows = ix.nlevels ? ix.levels[0].nrows : icol->nrows;
    FORWARD_IF_ERROR(pf_own(C, (size_t)(ncols ? ncols : 1) * sizeof *cols, (void **)&cols));
    memset(cols, 0, (size_t)(ncols ? ncols : 1) * sizeof *cols);
    FORWARD_IF_ERROR(pf_own(C, (size_t)(ncols ? ncols : 1) * sizeof *C->pos, (void **)&C->pos));
    FORWARD_IF_ERROR(pf_own(C, (size_t)(ncols ? ncols : 1) * sizeof *C->tmp, (void **)&C->tmp));
    FORWARD_IF_ERROR(legacy ? pf_blocks_legacy(C, blocks, cols, ncols)
                            : pf_blocks_reduce(C, blocks, cols, ncols));
    FORWARD_IF_ERROR(pf_check_columns(C, &ix, icol, cols, labels, ncols, mgr));
    char freq[48];
    uint8_t *attrs;
    size_t attrs_len;
    FORWARD_IF_ERROR(pf_index_freq(C, &ix, icol, freq, sizeof freq));
    FORWARD_IF_ERROR(pf_attrs(C, shmc_pk_state(root), C->input_len, &attrs, &attrs_len));
    FORWARD_IF_ERROR(C->sink->set_nrows(C->sink->user, nrows));
    FORWARD_IF_ERROR(pf_emit_index(C, &ix, icol, nrows));
    FORWARD_IF_ERROR(C->sink->set_columns_name(C->sink->user, &colname));
    FORWARD_IF_ERROR(pf_emit_columns(C, cols, labels, ncols, nrows, mgr));
    if (freq[0] && C->sink->set_index_freq)
        FORWARD_IF_ERROR(C->sink->set_index_freq(C->sink->user, freq));
    if (attrs_len && C->sink->set_meta) return C->sink->set_meta(C->sink->user, attrs, attrs_len);
    return SHMC_OK;
}

int shmc_pf_read(shmc_frame *frame, const shmc_pf_sink *sink, const shmc_pk_input *in,
                 const shmc_pickle_limits *limits)
{
    pf_ctx C = {
        .frame = frame, .err = shmc_frame_err(frame), .sink = sink, .input_len = in ? in->len : 0};
    shmc_pk_limits_resolve(&C.lim, limits, in ? in->len : 0);
    C.budget = C.lim.max_alloc;
    shmc_pk_doc *doc;
    shmc_pk_value *root;
    FORWARD_IF_ERROR(shmc_pk_parse(in, limits, &doc, &root, C.err));
    int st = pf_dataframe(&C, root);
    shmc_pk_doc_free(doc);
    return st;
}

/* ---- the public entry points --------------------------------------------- */
static int pf_sink_nrows(void *u, uint64_t n) { return shmc_frame_set_nrows(u, n); }
static int pf_sink_add(void *u, const shmc_column_desc *d) { return shmc_frame_add_column(u, d); }
static int pf_sink_range(void *u, int64_t start, int64_t step, const shmc_label *name)
{
    return shmc_frame_set_range_index(u, start, step, name);
}
static int pf_sink_colname(void *u, const shmc_label *name)
{
    return shmc_frame_set_columns_name(u, name);
}
static int pf_sink_freq(void *u, const char *freq) { return shmc_frame_set_index_freq(u, freq); }
static int pf_sink_meta(void *u, const void *b, size_t n) { return shmc_frame_set_meta(u, b, n); }

int shmc_frame_from_pickle(shmc_frame *frame, const void *buf, size_t len, const void *const *oob,
                           const size_t *oob_lens, size_t noob, const shmc_pickle_limits *limits)
{
    if (!frame) return SHMC_ERR_INVALID_ARG;
    RETURN_ERROR_IF(!buf && len, shmc_frame_err(frame), SHMC_ERR_INVALID_ARG,
                    "pickle: buf is NULL");
    shmc_pf_sink sink = {frame,           pf_sink_nrows, pf_sink_add, pf_sink_range,
                         pf_sink_colname, pf_sink_freq,  pf_sink_meta};
    shmc_pk_input in = {buf, len, oob, oob_lens, noob};
    return shmc_pf_read(frame, &sink, &in, limits);
}
