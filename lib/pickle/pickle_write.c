/* The protocol-5 pickle writer: a selection of a segment -> a stream that
 * pickle.loads turns into a DataFrame through public pandas/numpy callables.
 *
 * Shape of the stream (every callable is called with positional arguments
 * only, because REDUCE cannot pass keywords):
 *   pandas.DataFrame({label: array, ...}, index, columns, None, False)
 * copy=False keeps one block per column, so out-of-band arrays stay views.
 * Arrays are numpy.frombuffer(buffer, numpy.dtype(...)) over a BYTEARRAY8
 * (in-band: writable after loading) or over NEXT_BUFFER + READONLY_BUFFER
 * (out-of-band: read-only views of the segment). Globals and dtypes are
 * memoised so each appears once. The choices made for each kind, and why they
 * load identically on pandas 2.2 and 3.x, are noted where they are emitted. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "pickle_emit.h"
#include "pickle_plain.h"
#include "pickle_read.h"
#include "pickle_write_int.h"
#include "segment_read.h"
#include "shmchunk.h"

/* ------------------------------------------------------------------------ */
/* Labels                                                                    */
/* ------------------------------------------------------------------------ */
/* A pickled label of plain values (pickle_plain.c) is written as those values:
 * loading the output then runs nothing. Any other pickled label runs code stored
 * in the segment when loaded, like an object chunk. A label too big to walk, or
 * malformed, is an error either way. */
static int pw_pickled_label(pw_writer *w, const shmc_label *lab, const char *what)
{
    RETURN_ERROR_IF(!lab->str && lab->len, w->err, SHMC_ERR_CORRUPT, "%s: empty pickle label",
                    what);
    int st = shmc_plain_emit(&w->pk, (const uint8_t *)lab->str, lab->len, NULL, w->err);
    if (st != SHMC_ERR_UNSUPPORTED) {
        if (st != SHMC_OK) shmc_err_prefix(w->err, "%s: pickled label: ", what);
        return st;
    }
    char why[SHMC_ERRMSG_CAP];
    snprintf(why, sizeof why, "%s", w->err->msg);
    RETURN_ERROR_IF(!(w->flags & SHMC_PICKLE_OBJECTS), w->err, SHMC_ERR_PERMISSION,
                    "%s: label is a pickle that runs code when loaded (%s); pass "
                    "SHMC_PICKLE_OBJECTS to emit it",
                    what, why);
    shmc_err_clear(w->err);
    pw_global(w, G_LOADS);
    shmc_pk_bytes(&w->pk, lab->str, lab->len);
    shmc_pk_op(&w->pk, SHMC_OP_TUPLE1);
    return shmc_pk_op(&w->pk, SHMC_OP_REDUCE);
}

int pw_label(pw_writer *w, const shmc_label *lab, const char *what)
{
    switch (lab->type) {
    case SHMC_LABEL_NONE: return shmc_pk_none(&w->pk);
    case SHMC_LABEL_INT: return shmc_pk_int(&w->pk, lab->i);
    case SHMC_LABEL_STR: {
        size_t bad =
            lab->str || !lab->len ? shmc_utf8_check((const uint8_t *)lab->str, lab->len) : 1;
        RETURN_ERROR_IF(bad, w->err, SHMC_ERR_CORRUPT, "%s: label is not valid UTF-8 (byte %zu)",
                        what, bad ? bad - 1 : 0);
        return shmc_pk_str(&w->pk, lab->str, lab->len);
    }
    case SHMC_LABEL_PICKLE: return pw_pickled_label(w, lab, what);
    default:
        return shmc_err_set(w->err, SHMC_ERR_CORRUPT, "%s: unknown label type %d", what, lab->type);
    }
}

/* ------------------------------------------------------------------------ */
/* Index                                                                     */
/* ------------------------------------------------------------------------ */
/* RangeIndex sliced by one run; the labels of several runs as an int64 Index. */
static int emit_range_index(pw_writer *w)
{
    const shmc_segment_info *in = &w->info;
    if (w->nruns <= 1) {
        uint64_t a = w->nruns ? w->runs[0].start : w->empty_at, b = w->nruns ? w->runs[0].stop : a;
        pw_call_begin(w, G_RANGEINDEX);
        /* Unsigned arithmetic: wraps like int64 would, without UB. */
        shmc_pk_int(&w->pk, (int64_t)((uint64_t)in->range_start + a * (uint64_t)in->range_step));
        shmc_pk_int(&w->pk, (int64_t)((uint64_t)in->range_start + b * (uint64_t)in->range_step));
        shmc_pk_int(&w->pk, in->range_step);
        shmc_pk_none(&w->pk);
        shmc_pk_bool(&w->pk, 0);
        FORWARD_IF_ERROR(pw_label(w, &in->range_name, "range index name"));
        return pw_call_end(w);
    }
    pw_call_begin(w, G_INDEX);
    pw_global(w, G_FROMBUFFER);
    uint8_t *dst;
    FORWARD_IF_ERROR(shmc_pk_bytearray(&w->pk, w->nsel * 8, &dst));
    for (size_t r = 0; r < w->nruns; r++)
        for (uint64_t row = w->runs[r].start; row < w->runs[r].stop; row++, dst += 8) {
            uint64_t v = (uint64_t)in->range_start + row * (uint64_t)in->range_step;
            memcpy(dst, &v, 8);
        }
    pw_dtype(w, "<i8");
    shmc_pk_op(&w->pk, SHMC_OP_TUPLE2);
    shmc_pk_op(&w->pk, SHMC_OP_REDUCE);
    shmc_pk_none(&w->pk);
    shmc_pk_bool(&w->pk, 0);
    FORWARD_IF_ERROR(pw_label(w, &in->range_name, "range index name"));
    return pw_call_end(w);
}

static int emit_index(pw_writer *w)
{
    if (w->nindex == 0) return emit_range_index(w);
    if (w->nindex == 1) {
        shmc_column_info ci;
        const char *freq;
        FORWARD_IF_ERROR(pw_column_info(w, w->index_cols[0], &ci));
        FORWARD_IF_ERROR(pw_freq_begin(w, &ci, &freq));
        pw_call_begin(w, G_INDEX);
        FORWARD_IF_ERROR(pw_column(w, w->index_cols[0], &ci, w->runs, w->nruns));
        shmc_pk_none(&w->pk);
        shmc_pk_bool(&w->pk, 0);
        FORWARD_IF_ERROR(pw_label(w, &ci.label, "index name"));
        shmc_pk_bool(&w->pk, 0); /* tupleize_cols: keep tuple values as they are */
        pw_call_end(w);
        return pw_freq_end(w, freq);
    }
    pw_global(w, G_FROM_ARRAYS);
    shmc_pk_op(&w->pk, SHMC_OP_EMPTY_LIST);
    shmc_pk_op(&w->pk, SHMC_OP_MARK);
    for (size_t i = 0; i < w->nindex; i++) {
        shmc_column_info ci;
        FORWARD_IF_ERROR(pw_column_info(w, w->index_cols[i], &ci));
        FORWARD_IF_ERROR(pw_column(w, w->index_cols[i], &ci, w->runs, w->nruns));
    }
    shmc_pk_op(&w->pk, SHMC_OP_APPENDS);
    shmc_pk_none(&w->pk);
    shmc_pk_op(&w->pk, SHMC_OP_EMPTY_LIST);
    shmc_pk_op(&w->pk, SHMC_OP_MARK);
    for (size_t i = 0; i < w->nindex; i++) {
        shmc_column_info ci;
        FORWARD_IF_ERROR(pw_column_info(w, w->index_cols[i], &ci));
        FORWARD_IF_ERROR(pw_label(w, &ci.label, "index level name"));
    }
    shmc_pk_op(&w->pk, SHMC_OP_APPENDS);
    shmc_pk_op(&w->pk, SHMC_OP_TUPLE3);
    return shmc_pk_op(&w->pk, SHMC_OP_REDUCE);
}

/* ------------------------------------------------------------------------ */
/* The frame                                                                 */
/* ------------------------------------------------------------------------ */
/* dict keys must be distinct, or pandas would give both columns one array: a
 * selection holding one label twice is built from a dict keyed by position and
 * given its labels by DataFrame.set_axis (pickle_write_meta.c). */
static int label_cmp(const void *pa, const void *pb)
{
    const shmc_label *a = *(const shmc_label *const *)pa, *b = *(const shmc_label *const *)pb;
    if (a->type != b->type) return a->type < b->type ? -1 : 1;
    if (a->type == SHMC_LABEL_INT) return a->i < b->i ? -1 : a->i > b->i;
    if (a->type == SHMC_LABEL_NONE) return 0;
    size_t n = a->len < b->len ? a->len : b->len;
    int c = n ? memcmp(a->str, b->str, n) : 0;
    if (c) return c;
    return a->len < b->len ? -1 : a->len > b->len;
}

/* *dup = 1 when two labels are the same value (pickled ones: the same bytes). */
static int find_duplicate_labels(pw_writer *w, const shmc_label *labels, int *dup)
{
    *dup = 0;
    if (w->ncols < 2) return SHMC_OK;
    const shmc_label **p = malloc(w->ncols * sizeof *p);
    RETURN_ERROR_IF(!p, w->err, SHMC_ERR_NOMEM, "pickle writer: no memory for %zu labels",
                    w->ncols);
    for (size_t i = 0; i < w->ncols; i++) p[i] = &labels[i];
    qsort(p, w->ncols, sizeof *p, label_cmp);
    for (size_t i = 1; i < w->ncols && !*dup; i++) *dup = !label_cmp(&p[i - 1], &p[i]);
    free(p);
    return SHMC_OK;
}

/* The dtype pandas gives df[[]]: that of the frame's labels. "str" is str on
 * pandas 3 and object on 2.x, as each version types an axis of strings. */
static int empty_axis_dtype(pw_writer *w)
{
    int all_int = 1, all_str = 1;
    for (uint32_t c = 0; c < w->info.ncolumns; c++) {
        shmc_column_info ci;
        FORWARD_IF_ERROR(pw_column_info(w, c, &ci));
        if (ci.flags & (SHMC_COL_INDEX | SHMC_COL_DICTIONARY)) continue;
        all_int &= ci.label.type == SHMC_LABEL_INT;
        all_str &= ci.label.type == SHMC_LABEL_STR;
    }
    if (all_int) return shmc_pk_cstr(&w->pk, "int64"); /* also no columns at all: RangeIndex(0) */
    if (all_str) return shmc_pk_cstr(&w->pk, "str");
    return pw_dtype(w, "O");
}

/* The columns axis: a plain list of labels, or pandas.Index(labels, ..., name) when
 * there is a name, no column, or a pickled label (tuples among them): a DataFrame
 * given a list of tuples keeps them as an object Index, Index() makes the
 * MultiIndex they were. */
static int emit_axis_label(pw_writer *w, const shmc_label *labels, const uint32_t *label_memo,
                           size_t i)
{
    if (label_memo) return shmc_pk_get(&w->pk, label_memo[i]);
    char what[48];
    snprintf(what, sizeof what, "column %u", w->cols[i]);
    return pw_label(w, &labels[i], what);
}

static int emit_columns_axis(pw_writer *w, const shmc_label *labels, const uint32_t *label_memo,
                             int pickled_labels)
{
    const shmc_label *name = &w->info.columns_name;
    if (w->ncols == 0 || name->type != SHMC_LABEL_NONE || pickled_labels) {
        pw_call_begin(w, G_INDEX);
        shmc_pk_op(&w->pk, SHMC_OP_EMPTY_LIST);
        if (w->ncols) shmc_pk_op(&w->pk, SHMC_OP_MARK);
        for (size_t i = 0; i < w->ncols; i++)
            FORWARD_IF_ERROR(emit_axis_label(w, labels, label_memo, i));
        if (w->ncols) shmc_pk_op(&w->pk, SHMC_OP_APPENDS);
        if (w->ncols) shmc_pk_none(&w->pk);
        else FORWARD_IF_ERROR(empty_axis_dtype(w));
        shmc_pk_bool(&w->pk, 0);
        FORWARD_IF_ERROR(pw_label(w, name, "columns name"));
        return pw_call_end(w);
    }
    shmc_pk_op(&w->pk, SHMC_OP_EMPTY_LIST);
    for (size_t i = 0; i < w->ncols; i++) {
        if (i % SHMC_PK_APPENDS_BATCH == 0) shmc_pk_op(&w->pk, SHMC_OP_MARK);
        FORWARD_IF_ERROR(emit_axis_label(w, labels, label_memo, i));
        if (i % SHMC_PK_APPENDS_BATCH == SHMC_PK_APPENDS_BATCH - 1 || i + 1 == w->ncols)
            shmc_pk_op(&w->pk, SHMC_OP_APPENDS);
    }
    return w->pk.status;
}

static int emit_frame(pw_writer *w)
{
    shmc_column_info *infos = calloc(w->ncols ? w->ncols : 1, sizeof *infos);
    shmc_label *labels = calloc(w->ncols ? w->ncols : 1, sizeof *labels);
    uint32_t *memo = calloc(w->ncols ? w->ncols : 1, sizeof *memo);
    int st = (!infos || !labels || !memo)
                 ? shmc_err_set(w->err, SHMC_ERR_NOMEM, "pickle writer: no memory for %zu columns",
                                w->ncols)
                 : SHMC_OK;
    for (size_t i = 0; st == SHMC_OK && i < w->ncols; i++) {
        st = pw_column_info(w, w->cols[i], &infos[i]);
        if (st == SHMC_OK) labels[i] = infos[i].label;
    }
    int dup = 0;
    if (st == SHMC_OK) st = find_duplicate_labels(w, labels, &dup);
    if (st == SHMC_OK && dup) st = pw_set_axis_begin(w);
    if (st == SHMC_OK) {
        pw_call_begin(w, G_DATAFRAME);
        shmc_pk_op(&w->pk, SHMC_OP_EMPTY_DICT);
    }
    for (size_t i = 0; st == SHMC_OK && i < w->ncols; i++) {
        if (i % SHMC_PK_APPENDS_BATCH == 0) shmc_pk_op(&w->pk, SHMC_OP_MARK);
        char what[48];
        snprintf(what, sizeof what, "column %u", w->cols[i]);
        st = dup ? shmc_pk_int(&w->pk, (int64_t)i) : pw_label(w, &labels[i], what);
        if (st == SHMC_OK && !dup) st = shmc_pk_memoize(&w->pk, &memo[i]);
        if (st == SHMC_OK) st = pw_column(w, w->cols[i], &infos[i], w->runs, w->nruns);
        if (st == SHMC_OK &&
            (i % SHMC_PK_APPENDS_BATCH == SHMC_PK_APPENDS_BATCH - 1 || i + 1 == w->ncols))
            st = shmc_pk_op(&w->pk, SHMC_OP_SETITEMS);
    }
    if (st == SHMC_OK) st = emit_index(w);
    int pickled = 0;
    for (size_t i = 0; i < w->ncols; i++) pickled |= labels[i].type == SHMC_LABEL_PICKLE;
    if (st == SHMC_OK && !dup) st = emit_columns_axis(w, labels, memo, pickled);
    if (st == SHMC_OK && dup) shmc_pk_none(&w->pk); /* columns: the dict's positions */
    if (st == SHMC_OK) {
        shmc_pk_none(&w->pk);
        shmc_pk_bool(&w->pk, 0);
        st = pw_call_end(w);
    }
    if (st == SHMC_OK && dup) st = emit_columns_axis(w, labels, NULL, pickled);
    if (st == SHMC_OK && dup) st = pw_set_axis_end(w);
    if (st == SHMC_OK) st = pw_attrs(w);
    free(infos);
    free(labels);
    free(memo);
    return st;
}

/* ------------------------------------------------------------------------ */
/* Entry points                                                              */
/* ------------------------------------------------------------------------ */
static void writer_free(pw_writer *w)
{
    shmc_pk_free(&w->pk);
    free(w->cols);
    free(w->index_cols);
    free(w->runs);
    free(w->oob);
    for (int i = 0; i < SHMC_ROLE_COUNT_; i++) free(w->scratch[i]);
}

int shmc_pickle_write(shmc_segment *seg, const shmc_selection *sel, uint32_t flags,
                      shmc_pickle_out *out)
{
    if (!seg) return SHMC_ERR_INVALID_ARG;
    shmc_err *err = shmc_segment_err(seg);
    shmc_err_clear(err);
    RETURN_ERROR_IF(!out, err, SHMC_ERR_INVALID_ARG, "shmc_pickle_write: out is NULL");
    memset(out, 0, sizeof *out);
    RETURN_ERROR_IF(flags & ~(SHMC_PICKLE_OOB | SHMC_PICKLE_OBJECTS), err, SHMC_ERR_INVALID_ARG,
                    "shmc_pickle_write: unknown flags 0x%x", flags);
    pw_writer w;
    memset(&w, 0, sizeof w);
    w.seg = seg;
    w.err = err;
    w.flags = flags;
    shmc_pk_init(&w.pk);
    int st = pw_resolve(&w, sel);
    if (st == SHMC_OK) {
        shmc_pk_begin(&w.pk);
        st = emit_frame(&w);
    }
    if (st == SHMC_OK) shmc_pk_end(&w.pk);
    if (st == SHMC_OK && w.pk.status)
        st = shmc_err_set(err, w.pk.status,
                          "pickle writer: stream exceeds memory (%zu bytes so far)", w.pk.len);
    if (st != SHMC_OK && err->status == SHMC_OK)
        shmc_err_set(err, st, "pickle writer: %s", shmc_strerror(st));
    if (st == SHMC_OK) {
        out->bytes = shmc_pk_take(&w.pk, &out->len);
        out->buffers = w.oob;
        out->nbuffers = w.noob;
        w.oob = NULL;
    }
    writer_free(&w);
    return st;
}

void shmc_pickle_out_free(shmc_pickle_out *out)
{
    if (!out) return;
    free(out->bytes);
    free(out->buffers);
    memset(out, 0, sizeof *out);
}
