/* Internal to the recogniser (pickle_frame*.c): the state it threads through, what
 * a recognised column, dtype, array and index look like, and the functions its
 * files share. Files and what each reads, lowest first (calls flow down only):
 *   pickle_frame_numpy.c    errors, memory, globals, bytes, numpy dtypes (pf_dtypes)
 *                           and arrays, object items -> strings
 *   pickle_frame_label.c    one label value -> shmc_label (a small pickle if needed)
 *   pickle_frame_arrow.c    pyarrow arrays and types (_restore_array) -> Arrow columns
 *   pickle_frame_arrays.c   arrays and dtypes with nothing nested (numpy-backed,
 *                           masked, pyarrow strings, interval/sparse parts)
 *   pickle_frame_pandas.c   pandas arrays and dtypes, Index and MultiIndex values (one
 *                           file: categories are an Index and an Index holds an array)
 *   pickle_frame_columns.c  the columns axis -> column labels
 *   pickle_frame_meta.c     the index freq and df.attrs
 *   pickle_frame.c          block managers, checks, the entry points
 *   pickle_frame_strlist.c  the list-of-str fast path (its own opcode scanner) */
#ifndef SHMC_PICKLE_FRAME_INT_H
#define SHMC_PICKLE_FRAME_INT_H

#include <stddef.h>
#include <stdint.h>

#include "frame.h"
#include "pickle_read.h"

#define PF_MAX_NEST 3 /* values -> categories -> values: deeper is not pandas */

typedef struct pf_ctx {
    shmc_frame *frame;
    shmc_err *err;
    const shmc_pf_sink *sink;
    shmc_pickle_limits lim;
    uint64_t budget; /* bytes of owned buffers still allowed (max_alloc, like the parser) */
    uint64_t *pos;   /* per-block scratch, ncols entries each, allocated once per frame */
    struct pf_col *tmp;
    size_t input_len;         /* bytes of the pickle: scales the df.attrs limits */
    const shmc_label *labels; /* column labels, once read: errors in a block name its column */
} pf_ctx;

/* One recognised column (or index, or categories). Stable in memory while the
 * descriptor is in use, since desc.dtype / desc.categories point into it. */
typedef struct pf_col {
    shmc_column_desc d;
    shmc_column_desc cats;
    char dtype[80];
    char cat_dtype[80];
    char tz[64];
    char cat_tz[64];
    const char *odtype; /* owned dtype string used instead of dtype[] when set (Arrow) */
    uint64_t nrows;
    int used;
    unsigned miss; /* PF_MISS_* spellings seen in an object column of strings */
} pf_col;

/* How missing values of an object column of strings are spelt: pandas keeps
 * None and NaN apart, so the dtype string records which one the column uses. */
enum { PF_MISS_NONE = 1, PF_MISS_NAN = 2, PF_MISS_NA = 4 };

/* The numpy dtypes this reader accepts, one row per (kind, item size): the only
 * vocabulary of dtype codes. A dtype is looked up here when it is parsed, before
 * any data, shape or gather is touched, so every pf_dtype has an item size of 1,
 * 2, 4 or 8 (never 0, never wider than the 8-byte scratch that codes are read
 * into). Documented in lib/PICKLE.md ("Accepted numpy dtypes"). */
typedef struct pf_dtype_row {
    char kind;        /* numpy kind: b i u f M m O */
    uint8_t size;     /* item size in bytes */
    int shmc_kind;    /* SHMC_KIND_*, 0 for object arrays (items are a list) */
    const char *name; /* str(numpy dtype); M/m add "[<unit>]" */
} pf_dtype_row;

typedef struct pf_dtype {
    char kind;         /* numpy kind: b i u f M m O (row->kind) */
    uint32_t itemsize; /* row->size */
    const pf_dtype_row *row;
    int swap; /* big-endian data on this little-endian reader */
    int unit; /* M/m */
} pf_dtype;

typedef struct pf_arr {
    pf_dtype dt;
    int ndim;
    uint64_t dims[2];
    int fortran;
    const uint8_t *data;
    size_t nbytes;
    const shmc_pk_value *objs; /* object arrays: list of items, C order */
    const shmc_pk_value *node;
} pf_arr;

/* Labels other than str/int/None (float, bool, bytes, tuples of these) become
 * SHMC_LABEL_PICKLE: a small self-contained protocol-3 pickle written by
 * pickle_frame_label.c into this buffer. */
typedef struct pf_lbuf {
    uint8_t b[1024];
    size_t n;
} pf_lbuf;

#define PF_MAX_LEVELS 64

typedef struct pf_index {
    int is_range;
    int64_t start, stop, step;
    shmc_label name;
    const shmc_pk_value *node;
    uint64_t nlevels; /* MultiIndex: levels[] and names[]; 0 otherwise */
    pf_col *levels;
    shmc_label *names;
} pf_index;

/* The state of _new_Index(MultiIndex, d): its levels, codes and names lists, one
 * entry each per level, 1..PF_MAX_LEVELS levels. */
typedef struct pf_multi {
    const shmc_pk_value *levels, *codes, *names;
    uint64_t n;
} pf_multi;

/* Evaluates to the constant status (see pk_fail in pickle_read.c). */
#define pf_fail(C, status, at, ...) (pf_fail_((C), (status), (at), __VA_ARGS__), (status))

/* pickle_frame_numpy.c */
void pf_fail_(pf_ctx *C, int status, const shmc_pk_value *at, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
int pf_unsupported(pf_ctx *C, const shmc_pk_value *v, const char *where);
int pf_own(pf_ctx *C, size_t size, void **out);
int pf_pd(const shmc_pk_value *g, const char *name);
int pf_builtin(const shmc_pk_value *g, const char *name);
const shmc_pk_value *pf_callee(const shmc_pk_value *v);
const shmc_pk_value *pf_arg(const shmc_pk_value *v, size_t i);
size_t pf_nargs(const shmc_pk_value *v);
int pf_is_list(const shmc_pk_value *v);
int pf_int(const shmc_pk_value *v, int64_t *out);
int pf_bytes(pf_ctx *C, const shmc_pk_value *v, const uint8_t **ptr, size_t *len, int nest);
int pf_unit(const uint8_t *p, size_t n);
const char *pf_unit_name(int unit);
int pf_dtype_parse(pf_ctx *C, const shmc_pk_value *v, pf_dtype *dt);
int pf_fixed_kind(pf_ctx *C, const pf_dtype *dt, const shmc_pk_value *at, int *kind, char *name,
                  size_t cap);
int pf_is_ndarray(const shmc_pk_value *v);
int pf_array(pf_ctx *C, const shmc_pk_value *v, pf_arr *a);
void pf_arr_rows(const pf_arr *a, uint64_t *k, uint64_t *n);
void pf_swap(uint8_t *p, size_t count, uint32_t size);
int pf_arr_row(pf_ctx *C, const pf_arr *a, uint64_t j, const void **out);
int pf_arr_gather(pf_ctx *C, const pf_arr *a, uint64_t k, uint64_t n, uint8_t **outs);
int pf_add_len(pf_ctx *C, uint64_t *total, uint64_t len, const shmc_pk_value *at);
int pf_string_bufs(pf_ctx *C, uint64_t n, uint64_t total, uint64_t nulls, int64_t **off,
                   uint8_t **data, uint8_t **valid);
int pf_strings(pf_ctx *C, shmc_pk_value *const *items, uint64_t n, pf_col *col);
int pf_valid_bit(const shmc_column_desc *d, uint64_t i);

/* pickle_frame_label.c */
int pf_lput(pf_lbuf *B, const void *p, size_t n);
int pf_lput_bytes(pf_lbuf *B, uint8_t op, const void *p, size_t len);
int pf_lput_int(pf_lbuf *B, uint64_t u, int is_unsigned);
int pf_lput_float(pf_lbuf *B, double f);
int pf_lput_value(pf_lbuf *B, const shmc_pk_value *v, int depth);
int pf_lbuf_label(pf_ctx *C, const pf_lbuf *B, shmc_label *out);
int pf_label(pf_ctx *C, const shmc_pk_value *v, shmc_label *out);

/* pickle_frame_pandas.c */
int pf_values(pf_ctx *C, const shmc_pk_value *v, pf_col *cols, uint64_t k, int nest);
int pf_range_len(pf_ctx *C, const pf_index *ix, uint64_t *n);
int pf_index_read(pf_ctx *C, const shmc_pk_value *v, pf_index *ix, pf_col *col, int nest);
int pf_index_col(pf_ctx *C, const shmc_pk_value *idx, pf_col *col, shmc_label *name, int nest);
int64_t pf_code_at(const pf_arr *a, uint64_t j);
int pf_codes(pf_ctx *C, const shmc_pk_value *v, uint64_t level, uint64_t nvals, pf_arr *a);
int pf_multi_parts(pf_ctx *C, const shmc_pk_value *d, const shmc_pk_value *at, pf_multi *m);
int pf_level_rows(pf_ctx *C, const shmc_pk_value *at, uint64_t l, uint64_t rows, uint64_t rows0);

/* pickle_frame_columns.c */
int pf_column_labels(pf_ctx *C, const shmc_pk_value *axis, shmc_label **labels, uint64_t *n,
                     shmc_label *axis_name);

/* ---- pickle_frame_arrow.c: pd.ArrowDtype arrays ---- */
int pf_pa_unchunk(pf_ctx *C, const shmc_pk_value **v);
int pf_pa_strings(pf_ctx *C, const shmc_pk_value *v, shmc_column_desc *d, uint64_t *n,
                  uint32_t *width);
int pf_arrow_extension(pf_ctx *C, const shmc_pk_value *v, pf_col *col);
static inline const char *pf_col_dtype(const pf_col *c) { return c->odtype ? c->odtype : c->dtype; }

/* ---- pickle_frame_arrays.c: arrays and dtypes with nothing nested ---- */
int pf_arrow_string_array(pf_ctx *C, const shmc_pk_value *v, pf_col *col);
int pf_string_dtype(pf_ctx *C, const shmc_pk_value *v, char *out, size_t cap);
int pf_ndarray_cols(pf_ctx *C, const shmc_pk_value *v, pf_col *cols, uint64_t k);
int pf_datetime_cols(pf_ctx *C, const shmc_pk_value *dtype, const shmc_pk_value *arr, pf_col *cols,
                     uint64_t k);
int pf_period(pf_ctx *C, const shmc_pk_value *dtype, const shmc_pk_value *arr, pf_col *col);
int pf_masked(pf_ctx *C, const shmc_pk_value *v, pf_col *col, const char *what);
int pf_closed(pf_ctx *C, const shmc_pk_value *dt, uint32_t *flags);
int pf_closed_name(pf_ctx *C, const shmc_pk_value *closed, const shmc_pk_value *at,
                   uint32_t *flags);
int pf_interval_of(pf_ctx *C, const shmc_pk_value *at, const pf_col *b, uint32_t flags,
                   pf_col *col);
int pf_sparse_index(pf_ctx *C, const shmc_pk_value *v, uint64_t nvals, int64_t *length,
                    const int32_t **rows);
int pf_fill(pf_ctx *C, const shmc_pk_value *dt, int kind, void **out, char *text, size_t cap);
/* pickle_frame_meta.c */
int pf_index_freq(pf_ctx *C, const pf_index *ix, const pf_col *icol, char *out, size_t cap);
int pf_attrs(pf_ctx *C, const shmc_pk_value *state, size_t input_len, uint8_t **out, size_t *len);

#endif
