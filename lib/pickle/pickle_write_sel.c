/* Pickle writer: which columns and rows a selection means, and access to the
 * chunks that hold them. Everything read from the index is checked before use. */
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "pickle_write_int.h"
#include "shmchunk.h"

/* zstd cannot expand a frame by more than about 1:32768; a larger claim is a
 * corrupt index, and must not become a giant allocation. */
#define PW_MAX_RATIO ((uint64_t)1 << 16)

int pw_column_info(pw_writer *w, uint32_t col, shmc_column_info *ci)
{
    RETURN_ERROR_IF(col >= w->info.ncolumns, w->err, SHMC_ERR_RANGE,
                    "pickle writer: column %u out of range (segment has %u)", col,
                    w->info.ncolumns);
    return shmc_segment_column_info(w->seg, col, ci);
}

static int is_data_column(const shmc_column_info *ci)
{
    return !(ci->flags & (SHMC_COL_INDEX | SHMC_COL_DICTIONARY));
}

static int find_index_columns(pw_writer *w)
{
    w->index_cols = malloc((w->info.ncolumns ? w->info.ncolumns : 1) * sizeof *w->index_cols);
    RETURN_ERROR_IF(!w->index_cols, w->err, SHMC_ERR_NOMEM, "pickle writer: no memory");
    for (uint32_t c = 0; c < w->info.ncolumns; c++) {
        shmc_column_info ci;
        FORWARD_IF_ERROR(pw_column_info(w, c, &ci));
        if (ci.flags & SHMC_COL_INDEX) w->index_cols[w->nindex++] = c;
    }
    return SHMC_OK;
}

static int resolve_columns(pw_writer *w, const shmc_selection *sel)
{
    int all = !sel || !sel->columns;
    size_t n = all ? w->info.ncolumns : sel->ncolumns;
    RETURN_ERROR_IF(!all && n > ((size_t)1 << 32), w->err, SHMC_ERR_LIMIT,
                    "pickle writer: %zu columns selected", n);
    w->cols = malloc((n ? n : 1) * sizeof *w->cols);
    RETURN_ERROR_IF(!w->cols, w->err, SHMC_ERR_NOMEM, "pickle writer: no memory for %zu columns",
                    n);
    for (size_t i = 0; i < n; i++) {
        uint32_t c = all ? (uint32_t)i : sel->columns[i];
        shmc_column_info ci;
        FORWARD_IF_ERROR(pw_column_info(w, c, &ci));
        if (all && !is_data_column(&ci)) continue;
        RETURN_ERROR_IF(!is_data_column(&ci), w->err, SHMC_ERR_INVALID_ARG,
                        "pickle writer: column %u is an index or dictionary column, not data", c);
        w->cols[w->ncols++] = c;
    }
    uint64_t start = sel ? sel->row_start : 0;
    uint64_t stop = sel && sel->row_stop ? sel->row_stop : w->info.nrows;
    RETURN_ERROR_IF(stop > w->info.nrows || start > stop, w->err, SHMC_ERR_RANGE,
                    "pickle writer: rows [%llu, %llu) outside the frame's %llu rows",
                    (unsigned long long)start, (unsigned long long)stop,
                    (unsigned long long)w->info.nrows);
    w->runs = malloc(sizeof *w->runs);
    RETURN_ERROR_IF(!w->runs, w->err, SHMC_ERR_NOMEM, "pickle writer: no memory");
    if (start < stop) {
        w->runs[0] = (pw_run){start, stop};
        w->nruns = 1;
    }
    w->nsel = stop - start;
    w->empty_at = start;
    return SHMC_OK;
}

static int cmp_run(const void *a, const void *b)
{
    const pw_run *x = a, *y = b;
    return x->start < y->start ? -1 : x->start > y->start;
}

/* Record the chunk's row group as a run and (for a data column) its column. */
static int note_chunk(pw_writer *w, uint32_t id, uint8_t *colmark)
{
    shmc_chunk_info ch;
    shmc_column_info ci;
    FORWARD_IF_ERROR(shmc_segment_chunk_info(w->seg, id, &ch));
    FORWARD_IF_ERROR(pw_column_info(w, ch.column, &ci));
    if (ci.flags & SHMC_COL_DICTIONARY) return SHMC_OK; /* comes with its categorical */
    RETURN_ERROR_IF(ch.row_start > w->info.nrows || ch.nrows > w->info.nrows - ch.row_start, w->err,
                    SHMC_ERR_CORRUPT, "chunk %u: rows [%llu, +%llu) beyond %llu rows", id,
                    (unsigned long long)ch.row_start, (unsigned long long)ch.nrows,
                    (unsigned long long)w->info.nrows);
    if (ch.nrows) w->runs[w->nruns++] = (pw_run){ch.row_start, ch.row_start + ch.nrows};
    if (is_data_column(&ci)) colmark[ch.column] = 1;
    return SHMC_OK;
}

/* Sort runs, drop duplicates, merge touching ones; overlapping runs of one
 * row group must agree exactly, else the index is lying. */
static int merge_runs(pw_writer *w)
{
    qsort(w->runs, w->nruns, sizeof *w->runs, cmp_run);
    size_t n = 0;
    for (size_t i = 0; i < w->nruns; i++) {
        pw_run r = w->runs[i];
        if (n && r.start < w->runs[n - 1].stop) {
            RETURN_ERROR_IF(r.stop > w->runs[n - 1].stop, w->err, SHMC_ERR_CORRUPT,
                            "pickle writer: row groups overlap at row %llu",
                            (unsigned long long)r.start);
            continue;
        }
        if (n && r.start == w->runs[n - 1].stop) w->runs[n - 1].stop = r.stop;
        else w->runs[n++] = r;
    }
    w->nruns = n;
    w->nsel = 0;
    for (size_t i = 0; i < n; i++) w->nsel += w->runs[i].stop - w->runs[i].start;
    return SHMC_OK;
}

static int resolve_chunks(pw_writer *w, const shmc_selection *sel)
{
    uint32_t nc = w->info.ncolumns;
    uint8_t *colmark = calloc(nc ? nc : 1, 1);
    w->cols = malloc((nc ? nc : 1) * sizeof *w->cols);
    w->runs = malloc((sel->nchunks ? sel->nchunks : 1) * sizeof *w->runs);
    int st = (!colmark || !w->cols || !w->runs)
                 ? shmc_err_set(w->err, SHMC_ERR_NOMEM, "pickle writer: no memory for %zu chunks",
                                sel->nchunks)
                 : SHMC_OK;
    for (size_t i = 0; st == SHMC_OK && i < sel->nchunks; i++) {
        if (sel->chunks[i] >= w->info.nchunks)
            st = shmc_err_set(w->err, SHMC_ERR_RANGE,
                              "pickle writer: chunk %u out of range (segment has %u)",
                              sel->chunks[i], w->info.nchunks);
        else st = note_chunk(w, sel->chunks[i], colmark);
    }
    for (uint32_t c = 0; st == SHMC_OK && c < nc; c++)
        if (colmark[c]) w->cols[w->ncols++] = c;
    free(colmark);
    if (st == SHMC_OK) st = merge_runs(w);
    return st;
}

int pw_resolve(pw_writer *w, const shmc_selection *sel)
{
    const void *base;
    FORWARD_IF_ERROR(shmc_segment_info_get(w->seg, &w->info));
    FORWARD_IF_ERROR(shmc_segment_data(w->seg, &base, &w->base_len));
    w->base = base;
    FORWARD_IF_ERROR(find_index_columns(w));
    if (sel && sel->chunks) return resolve_chunks(w, sel);
    return resolve_columns(w, sel);
}

/* ------------------------------------------------------------------------ */
/* Pieces and chunk bytes                                                    */
/* ------------------------------------------------------------------------ */
int pw_find_piece(pw_writer *w, uint32_t col, const shmc_column_info *ci, int role, uint64_t rg,
                  pw_piece *p)
{
    RETURN_ERROR_IF(rg >= ci->nrowgroups, w->err, SHMC_ERR_CORRUPT,
                    "column %u: row group %llu missing (column has %llu)", col,
                    (unsigned long long)rg, (unsigned long long)ci->nrowgroups);
    int st = shmc_segment_chunk_find(w->seg, col, rg, role, &p->id);
    if (st == SHMC_ERR_RANGE && (role == SHMC_ROLE_MASK || role == SHMC_ROLE_VALIDITY)) {
        /* Writers store a mask / validity chunk only for row groups with missing
         * values: an absent one means "nothing missing here". */
        shmc_err_clear(w->err);
        uint64_t rpc = w->info.rows_per_chunk, start = rg * rpc;
        RETURN_ERROR_IF(!rpc || start / rpc != rg || start >= ci->nrows, w->err, SHMC_ERR_CORRUPT,
                        "column %u: row group %llu has no rows", col, (unsigned long long)rg);
        memset(&p->ci, 0, sizeof p->ci);
        p->id = PW_ABSENT;
        p->ci = (shmc_chunk_info){.column = col,
                                  .rowgroup = (uint32_t)rg,
                                  .role = role,
                                  .row_start = start,
                                  .nrows = ci->nrows - start < rpc ? ci->nrows - start : rpc};
        return SHMC_OK;
    }
    FORWARD_IF_ERROR(st);
    FORWARD_IF_ERROR(shmc_segment_chunk_info(w->seg, p->id, &p->ci));
    RETURN_ERROR_IF(p->ci.column != col || p->ci.role != role || p->ci.row_start > ci->nrows ||
                        p->ci.nrows > ci->nrows - p->ci.row_start,
                    w->err, SHMC_ERR_CORRUPT,
                    "chunk %u (column %u, row group %llu): inconsistent index entry", p->id, col,
                    (unsigned long long)rg);
    return SHMC_OK;
}

int pw_for_each_piece(pw_writer *w, uint32_t col, const shmc_column_info *ci, int role,
                      const pw_run *runs, size_t nruns, pw_piece_fn fn, void *ctx)
{
    uint64_t rpc = w->info.rows_per_chunk;
    for (size_t r = 0; r < nruns; r++) {
        uint64_t a = runs[r].start, b = runs[r].stop;
        RETURN_ERROR_IF(b > ci->nrows, w->err, SHMC_ERR_CORRUPT,
                        "column %u: rows up to %llu wanted, it has %llu", col,
                        (unsigned long long)b, (unsigned long long)ci->nrows);
        uint64_t rg = rpc ? a / rpc : 0;
        while (a < b) {
            pw_piece p;
            FORWARD_IF_ERROR(pw_find_piece(w, col, ci, role, rg++, &p));
            uint64_t end = p.ci.row_start + p.ci.nrows;
            RETURN_ERROR_IF(p.ci.row_start > a, w->err, SHMC_ERR_CORRUPT,
                            "chunk %u: starts at row %llu, row %llu has no chunk", p.id,
                            (unsigned long long)p.ci.row_start, (unsigned long long)a);
            if (end <= a) continue;
            p.lo = a - p.ci.row_start;
            p.hi = (b < end ? b : end) - p.ci.row_start;
            FORWARD_IF_ERROR(fn(w, ctx, &p));
            a = p.ci.row_start + p.hi;
        }
    }
    return SHMC_OK;
}

int pw_chunk_bytes(pw_writer *w, const pw_piece *p, const uint8_t **bytes)
{
    RETURN_ERROR_IF(p->id == PW_ABSENT, w->err, SHMC_ERR_CORRUPT,
                    "column %u: row group %u has no chunk of role %d", p->ci.column, p->ci.rowgroup,
                    p->ci.role);
    if (p->ci.codec == SHMC_CODEC_NONE) {
        const void *v;
        size_t len;
        FORWARD_IF_ERROR(shmc_segment_chunk_view(w->seg, p->id, &v, &len));
        RETURN_ERROR_IF(len != p->ci.raw_len, w->err, SHMC_ERR_CORRUPT,
                        "chunk %u: view of %zu bytes, index says %llu", p->id, len,
                        (unsigned long long)p->ci.raw_len);
        *bytes = v;
        return SHMC_OK;
    }
    int role = p->ci.role;
    RETURN_ERROR_IF(p->ci.raw_len / PW_MAX_RATIO > p->ci.stored_len || p->ci.raw_len > SIZE_MAX / 2,
                    w->err, SHMC_ERR_CORRUPT, "chunk %u: claims %llu raw bytes from %llu stored",
                    p->id, (unsigned long long)p->ci.raw_len, (unsigned long long)p->ci.stored_len);
    size_t need = (size_t)p->ci.raw_len;
    if (need > w->scratch_cap[role]) {
        free(w->scratch[role]);
        w->scratch[role] = malloc(need);
        w->scratch_cap[role] = w->scratch[role] ? need : 0;
        RETURN_ERROR_IF(!w->scratch[role], w->err, SHMC_ERR_NOMEM,
                        "chunk %u: no memory to decode %zu bytes", p->id, need);
    }
    FORWARD_IF_ERROR(shmc_segment_chunk_decode(w->seg, p->id, w->scratch[role], need));
    *bytes = w->scratch[role];
    return SHMC_OK;
}

int pw_oob_push(pw_writer *w, shmc_oob_buffer **arr, size_t *n, size_t *cap, shmc_oob_buffer b)
{
    if (*n == *cap) {
        size_t ncap = *cap ? *cap * 2 : 16;
        shmc_oob_buffer *nb = realloc(*arr, ncap * sizeof *nb);
        RETURN_ERROR_IF(!nb, w->err, SHMC_ERR_NOMEM, "pickle writer: no memory for buffers");
        *arr = nb;
        *cap = ncap;
    }
    (*arr)[(*n)++] = b;
    return SHMC_OK;
}

int pw_oob_add(pw_writer *w, int kind, uint32_t chunk, uint64_t offset, uint64_t len)
{
    return pw_oob_push(w, &w->oob, &w->noob, &w->oob_cap,
                       (shmc_oob_buffer){kind, chunk, offset, len});
}
