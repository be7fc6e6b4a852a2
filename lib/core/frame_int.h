/* Internal: what the frame builder (frame_build.c) and the segment writer
 * (frame_write.c) share -- the frame itself, the writer's plan of columns and
 * chunks, and the one step that crosses between them: the builder plans a write
 * (checks the columns' buffers, lists the chunks), the writer carries it out.
 * Nothing else includes this; other parts of the library use frame.h. */
#ifndef SHMC_FRAME_INT_H
#define SHMC_FRAME_INT_H

#include <stddef.h>
#include <stdint.h>

#include "frame.h"

typedef struct kept {
    void *ptr;
    void (*free_fn)(void *);
} kept;

typedef struct frame_col {
    shmc_column_desc d; /* strings owned by the frame; d.categories -> &cat */
    shmc_column_desc cat;
    const char *what; /* "column 'x'" for messages (owned) */
} frame_col;

struct shmc_frame {
    shmc_err err;
    uint64_t nrows;
    frame_col **cols;
    uint32_t ncols, cap;
    int64_t range_start, range_step;
    shmc_label range_name, columns_name;
    const uint8_t *meta;
    size_t meta_len;
    const char *freq; /* row index frequency (owned), NULL if none */
    kept *kept;
    size_t nkept, kept_cap;
};

/* ======================================================================== */
/* A write in progress                                                       */
/* ======================================================================== */

/* One chunk to write. */
typedef struct wjob {
    const shmc_column_desc *d;
    uint32_t column, rowgroup;
    int role;
    uint64_t row_start, nrows;
    uint64_t raw_len;
    uint32_t typesize;
    uint8_t *enc; /* compressed bytes (zstd path), or NULL */
    uint64_t stored_len;
    int codec, shuffled;
    uint64_t offset, xxh3;
    int status;
} wjob;

/* A column entry to write: user columns, then the dictionaries. */
typedef struct wcol {
    const shmc_column_desc *d;
    const char *what;
    uint64_t nrows, nrowgroups, null_count;
    uint32_t flags, dict_column;
} wcol;

typedef struct writer {
    shmc_frame *f;
    shmc_write_opts o;
    wcol *cols;
    uint32_t ncols;
    wjob *jobs;
    size_t njobs, jobs_cap;
    uint8_t *base;        /* the mapping being written */
    int fd;               /* the same store for pwrite, or -1 */
    uint64_t done, total; /* progress: raw bytes handled (of every phase), raw bytes */
    uint64_t phase_bytes; /* raw bytes handled by all phases so far */
    unsigned phases;      /* 1 (place) or 2 (compress, then place) */
} writer;

/* Plan a write of w->f under w->o (frame_build.c): the column entries (user
 * columns, then the categoricals' dictionaries) with their buffers checked and
 * nulls counted, then one job per stored chunk, in segment order. Errors are
 * set on the frame. */
int shmc_frame_plan(writer *w);

/* The entries of a sparse column in rows [row0, row0 + n): [*a, *b) of its index
 * (the builder sizes the chunks with it, the writer points at them). */
void shmc_frame_sparse_span(const shmc_column_desc *d, uint64_t row0, uint64_t n, uint64_t *a,
                            uint64_t *b);

#endif
