/* Internal to the pickle writer (pickle_write*.c): the writer state and the
 * helpers its files share. Calls flow one way: pickle_write.c (frame, index,
 * labels; pickle_write_meta.c: freq, duplicate labels, attrs) -> pickle_write_cols.c
 * (one column; numpy buffers and numbers in pickle_write_fixed.c, Arrow columns in
 * pickle_write_arrow.c) -> pickle_write_sel.c (selection, chunks), and both writers
 * -> pickle_write_memo.c (globals, dtypes) -> pickle_emit.c. */
#ifndef SHMC_PICKLE_WRITE_INT_H
#define SHMC_PICKLE_WRITE_INT_H

#include <stddef.h>
#include <stdint.h>

#include "error.h"
#include "pickle_emit.h"
#include "shmchunk.h"

enum {
    G_FROMBUFFER,
    G_DTYPE,
    G_CONCATENATE,
    G_ZEROS,
    G_DATAFRAME,
    G_SERIES,
    G_CONCAT,
    G_INDEX,
    G_RANGEINDEX,
    G_FROM_ARRAYS,
    G_FROM_CODES,
    G_TZDTYPE,
    G_PDARRAY,
    G_STRINGDTYPE,
    G_INTARRAY,
    G_FLOATARRAY,
    G_BOOLARRAY,
    G_LOADS,
    G_GETITEM,
    G_SLICE,
    G_NAN,
    G_PERIODARRAY,
    G_PERIODDTYPE,
    G_IVFROMARRAYS,
    G_SPARSEARRAY,
    G_INTINDEX,
    G_SPARSEDTYPE,
    G_DTINDEX,
    G_TDINDEX,
    G_PARTIAL,
    G_SET_AXIS,
    G_WEEK,
    G_ARROW_EXT_ARRAY,
    G_PA_CHUNKED_ARRAY,
    G_PA_FROM_BUFFERS,
    G_PA_DICT_FROM_ARRAYS,
    G_PA_CONCAT_ARRAYS,
    G_PA_ARRAY,
    G_PA_PY_BUFFER,
    G_PA_TYPE_FOR_ALIAS,
    G_PA_TIMESTAMP,
    G_PA_DECIMAL128,
    G_PA_DECIMAL256,
    G_PA_BINARY,
    G_PA_DICTIONARY,
    G_COUNT
};

#define PW_MAX_DTYPES 32

/* Selected rows: sorted, disjoint, non-empty [start, stop) runs. */
typedef struct pw_run {
    uint64_t start, stop;
} pw_run;

typedef struct pw_writer {
    shmc_segment *seg;
    shmc_err *err;
    uint32_t flags;
    shmc_pk pk;
    shmc_segment_info info;
    const uint8_t *base; /* the mapping, for out-of-band offsets */
    size_t base_len;

    uint32_t *cols; /* data columns, in output order */
    size_t ncols;
    uint32_t *index_cols; /* SHMC_COL_INDEX columns, in id order */
    size_t nindex;
    pw_run *runs;
    size_t nruns;
    uint64_t nsel;     /* rows selected */
    uint64_t empty_at; /* no rows: where the empty range sits */

    uint32_t global_memo[G_COUNT]; /* memo index + 1; 0 = not emitted yet */
    struct {
        char name[24];
        uint32_t memo;
    } dtypes[PW_MAX_DTYPES];
    size_t ndtypes;

    shmc_oob_buffer *oob;
    size_t noob, oob_cap;
    uint8_t *scratch[SHMC_ROLE_COUNT_]; /* decoded chunks, one slot per role */
    size_t scratch_cap[SHMC_ROLE_COUNT_];
} pw_writer;

#define PW_ABSENT UINT32_MAX /* piece id of an optional role not stored for a row group */

/* One row group's part of a run: rows [lo, hi) of chunk `id`. */
typedef struct pw_piece {
    uint32_t id;
    shmc_chunk_info ci;
    uint64_t lo, hi;
} pw_piece;

/* pickle_write_memo.c: globals and dtypes, memoised on first use; a call is
 * pw_call_begin (global + MARK), its arguments, pw_call_end (TUPLE + REDUCE). */
int pw_global(pw_writer *w, int g);
int pw_dtype(pw_writer *w, const char *name);
int pw_call_begin(pw_writer *w, int g);
int pw_call_end(pw_writer *w);

/* pickle_write.c */
int pw_label(pw_writer *w, const shmc_label *lab, const char *what);

/* pickle_write_sel.c */
int pw_resolve(pw_writer *w, const shmc_selection *sel);
int pw_column_info(pw_writer *w, uint32_t col, shmc_column_info *ci);
int pw_find_piece(pw_writer *w, uint32_t col, const shmc_column_info *ci, int role, uint64_t rg,
                  pw_piece *p);
/* Call fn for each row-group piece of `role` of column `col` over runs. */
typedef int (*pw_piece_fn)(pw_writer *w, void *ctx, const pw_piece *p);
int pw_for_each_piece(pw_writer *w, uint32_t col, const shmc_column_info *ci, int role,
                      const pw_run *runs, size_t nruns, pw_piece_fn fn, void *ctx);
/* The raw bytes of a chunk: a checked view when stored raw, else decoded into
 * the scratch slot of its role. */
int pw_chunk_bytes(pw_writer *w, const pw_piece *p, const uint8_t **bytes);
/* Append b to a growing buffer list (the stream's, or a column's before it is merged). */
int pw_oob_push(pw_writer *w, shmc_oob_buffer **arr, size_t *n, size_t *cap, shmc_oob_buffer b);
int pw_oob_add(pw_writer *w, int kind, uint32_t chunk, uint64_t offset, uint64_t len);

/* pickle_write_cols.c: push the 1-D array-like of a column over runs. */
int pw_column(pw_writer *w, uint32_t col, const shmc_column_info *ci, const pw_run *runs,
              size_t nruns);

/* ---- pickle_write_fixed.c: fixed-width buffers, numbers, times ---- */
/* What the bytes of a fixed-width buffer must satisfy as they are copied. */
enum { CHECK_NONE, CHECK_BOOL, CHECK_CODES };

typedef struct fixed_ctx {
    size_t itemsize;
    int check;             /* CHECK_*: what the bytes must satisfy */
    int64_t ncat;          /* CHECK_CODES: codes in [-1, ncat) */
    uint8_t *dst;          /* in-band: where the next piece goes */
    shmc_oob_buffer *bufs; /* out-of-band: the pieces, adjacent ones merged */
    size_t nbufs, cap;
    int need_inband; /* a raw piece holds bools other than 0/1 */
} fixed_ctx;
uint64_t pw_runs_rows(const pw_run *runs, size_t nruns);
const char *pw_numpy_name(int kind);
int pw_emit_fixed(pw_writer *w, uint32_t col, const shmc_column_info *ci, int role,
                  const char *dtype, size_t itemsize, fixed_ctx *c, const pw_run *runs,
                  size_t nruns);
int pw_emit_numeric(pw_writer *w, uint32_t col, const shmc_column_info *ci, const pw_run *runs,
                    size_t nruns);
int pw_emit_time_role(pw_writer *w, uint32_t col, const shmc_column_info *ci, int role,
                      const pw_run *runs, size_t nruns);
int pw_emit_time(pw_writer *w, uint32_t col, const shmc_column_info *ci, const pw_run *runs,
                 size_t nruns);
/* pickle_write_arrow.c: a SHMC_KIND_ARROW column as an ArrowExtensionArray. */
int pw_emit_arrow(pw_writer *w, uint32_t col, const shmc_column_info *ci, const pw_run *runs,
                  size_t nruns);
/* pickle_write_meta.c: the index freq (a bracket around the index), duplicate
 * column labels (a bracket around the frame) and df.attrs (after the frame). */
int pw_freq_begin(pw_writer *w, const shmc_column_info *ci, const char **freq);
int pw_freq_end(pw_writer *w, const char *freq);
int pw_set_axis_begin(pw_writer *w);
int pw_set_axis_end(pw_writer *w);
int pw_attrs(pw_writer *w);

#endif
