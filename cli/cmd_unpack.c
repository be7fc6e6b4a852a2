/* shmchunk unpack SRC OUTPUT.pkl: a segment (or a selection of it) -> a pickle that
 * pandas.read_pickle() loads, written by the library's protocol-5 writer. */
#include "cli.h"

#include <getopt.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

enum { OPT_COLUMNS = 256, OPT_CHUNKS, OPT_ROWS, OPT_ALLOW_PICKLE };

typedef struct unpack_args {
    const char *src, *output;
    const char *columns, *chunks, *rows;
    uint32_t flags;
} unpack_args;

/* Storage behind a shmc_selection. */
typedef struct selection_buf {
    uint32_t *ids;
    size_t n, cap;
} selection_buf;

static int ids_push(selection_buf *b, uint32_t id)
{
    if (b->n == b->cap) {
        size_t cap = b->cap ? b->cap * 2 : 16;
        uint32_t *grown = realloc(b->ids, cap * sizeof *grown);
        if (!grown) return -1;
        b->ids = grown;
        b->cap = cap;
    }
    b->ids[b->n++] = id;
    return 0;
}

static int parse_args(int argc, char **argv, unpack_args *a)
{
    static const struct option longopts[] = {{"columns", required_argument, NULL, OPT_COLUMNS},
                                             {"chunks", required_argument, NULL, OPT_CHUNKS},
                                             {"rows", required_argument, NULL, OPT_ROWS},
                                             {"allow-pickle", no_argument, NULL, OPT_ALLOW_PICKLE},
                                             {"help", no_argument, NULL, 'h'},
                                             {"quiet", no_argument, NULL, 'q'},
                                             {"verbose", no_argument, NULL, 'v'},
                                             {NULL, 0, NULL, 0}};
    const cli_parse p = {"unpack", "", longopts};
    const char *arg;
    int done = -1, c;
    while ((c = cli_next_opt(&p, argc, argv, &arg, &done)) != -1) {
        switch (c) {
        case OPT_COLUMNS: a->columns = arg; break;
        case OPT_CHUNKS: a->chunks = arg; break;
        case OPT_ROWS: a->rows = arg; break;
        case OPT_ALLOW_PICKLE: a->flags |= SHMC_PICKLE_OBJECTS; break;
        default: return cli_usage("unpack", "unexpected option");
        }
    }
    if (done >= 0) return done;
    if (argc - optind != 2)
        return cli_usage("unpack", "needs SRC and OUTPUT.pkl (got %d argument%s)", argc - optind,
                         argc - optind == 1 ? "" : "s");
    if (a->chunks && (a->columns || a->rows))
        return cli_usage("unpack", "--chunks selects whole row groups of columns; "
                                   "it cannot be combined with --columns or --rows");
    a->src = argv[optind];
    a->output = argv[optind + 1];
    if (!*a->output) return cli_usage("unpack", "OUTPUT.pkl is an empty string");
    return -1;
}

static int is_data_column(const shmc_column_info *ci)
{
    return !(ci->flags & (SHMC_COL_INDEX | SHMC_COL_DICTIONARY));
}

/* Add every data column whose label text equals name[0..len). */
static int match_column(shmc_segment *seg, uint32_t ncols, const char *name, size_t len,
                        selection_buf *out)
{
    int found = 0;
    for (uint32_t c = 0; c < ncols; c++) {
        shmc_column_info ci;
        if (shmc_segment_column_info(seg, c, &ci) != SHMC_OK || !is_data_column(&ci)) continue;
        char buf[32];
        size_t tlen;
        const char *text = cli_label_text(&ci.label, buf, sizeof buf, &tlen);
        if (ci.label.type == SHMC_LABEL_PICKLE || tlen != len || memcmp(text, name, len) != 0)
            continue;
        if (ids_push(out, c) != 0) return -1;
        found = 1;
    }
    return found ? 0 : 1;
}

/* Next label of a --columns list into out (NUL-terminated, at most strlen(s) bytes):
 * labels are separated by commas; a backslash before a comma or a backslash makes it
 * part of the label (a\,b is the label "a,b"). Returns where the following label
 * starts, or NULL after the last one. */
static const char *next_label(const char *s, char *out, size_t *len)
{
    size_t n = 0;
    for (; *s && *s != ','; s++) {
        if (*s == '\\' && (s[1] == ',' || s[1] == '\\')) s++;
        out[n++] = *s;
    }
    out[n] = '\0';
    *len = n;
    return *s == ',' ? s + 1 : NULL;
}

static int resolve_columns(shmc_segment *seg, const unpack_args *a, selection_buf *out)
{
    shmc_segment_info info;
    int st = shmc_segment_info_get(seg, &info);
    if (st != SHMC_OK)
        return cli_fail("unpack", a->src, "%s", cli_detail(shmc_segment_errmsg(seg), st));
    char *label = malloc(strlen(a->columns) + 1);
    if (!label) return cli_fail("unpack", a->src, "out of memory");
    int rc = CLI_OK;
    for (const char *s = a->columns; s && rc == CLI_OK;) {
        size_t len;
        s = next_label(s, label, &len);
        int found = match_column(seg, info.ncolumns, label, len, out);
        if (found < 0) rc = cli_fail("unpack", a->src, "out of memory");
        else if (found > 0) rc = cli_fail("unpack", a->src, "no column '%s'", label);
    }
    free(label);
    return rc;
}

static int parse_chunks(shmc_segment *seg, const unpack_args *a, selection_buf *out)
{
    shmc_segment_info info;
    int st = shmc_segment_info_get(seg, &info);
    if (st != SHMC_OK)
        return cli_fail("unpack", a->src, "%s", cli_detail(shmc_segment_errmsg(seg), st));
    char *copy = strdup(a->chunks);
    if (!copy) return cli_fail("unpack", a->src, "out of memory");
    int rc = CLI_OK;
    char *save = NULL;
    for (char *tok = strtok_r(copy, ",", &save); tok && rc == CLI_OK;
         tok = strtok_r(NULL, ",", &save)) {
        uint64_t id;
        if (cli_parse_u64(tok, &id) != 0)
            rc = cli_usage("unpack", "--chunks: '%s' is not a chunk id", tok);
        else if (id >= info.nchunks)
            rc = cli_fail("unpack", a->src,
                          "chunk %" PRIu64 " out of range (the segment has %" PRIu32 " chunks)", id,
                          info.nchunks);
        else if (ids_push(out, (uint32_t)id) != 0) rc = cli_fail("unpack", a->src, "out of memory");
    }
    if (rc == CLI_OK && out->n == 0)
        rc = cli_usage("unpack", "--chunks needs at least one chunk id");
    free(copy);
    return rc;
}

/* START:STOP with either side optional, like a Python slice without a step. */
static int parse_rows(shmc_segment *seg, const unpack_args *a, shmc_selection *sel)
{
    const char *colon = strchr(a->rows, ':');
    if (!colon) return cli_usage("unpack", "--rows wants START:STOP, not '%s'", a->rows);
    char start_s[32] = "", stop_s[32] = "";
    size_t slen = (size_t)(colon - a->rows);
    if (slen >= sizeof start_s || strlen(colon + 1) >= sizeof stop_s)
        return cli_usage("unpack", "--rows: '%s' is not START:STOP", a->rows);
    memcpy(start_s, a->rows, slen);
    strcpy(stop_s, colon + 1);
    shmc_segment_info info;
    int st = shmc_segment_info_get(seg, &info);
    if (st != SHMC_OK)
        return cli_fail("unpack", a->src, "%s", cli_detail(shmc_segment_errmsg(seg), st));
    uint64_t start = 0, stop = info.nrows;
    if ((*start_s && cli_parse_u64(start_s, &start) != 0) ||
        (*stop_s && cli_parse_u64(stop_s, &stop) != 0))
        return cli_usage("unpack", "--rows: '%s' is not START:STOP (non-negative integers)",
                         a->rows);
    if (start > stop || stop > info.nrows)
        return cli_fail("unpack", a->src,
                        "rows %" PRIu64 ":%" PRIu64 " out of range (the frame has %" PRIu64
                        " rows)",
                        start, stop, info.nrows);
    /* row_stop 0 means "to the end", so an empty range is spelled as nrows:nrows. */
    if (start == stop) start = stop = info.nrows;
    sel->row_start = start;
    sel->row_stop = stop;
    return CLI_OK;
}

static int build_selection(shmc_segment *seg, const unpack_args *a, shmc_selection *sel,
                           selection_buf *buf)
{
    memset(sel, 0, sizeof *sel);
    int rc = CLI_OK;
    if (a->chunks) {
        if ((rc = parse_chunks(seg, a, buf)) != CLI_OK) return rc;
        sel->chunks = buf->ids;
        sel->nchunks = buf->n;
        return CLI_OK;
    }
    if (a->columns) {
        if ((rc = resolve_columns(seg, a, buf)) != CLI_OK) return rc;
        sel->columns = buf->ids;
        sel->ncolumns = buf->n;
    }
    if (a->rows) rc = parse_rows(seg, a, sel);
    return rc;
}

/* Refuse object columns up front with advice in CLI terms (the library's message
 * speaks of its flag), naming the first such column in the selection. */
static int check_objects(shmc_segment *seg, const unpack_args *a, const shmc_selection *sel)
{
    shmc_segment_info info;
    if (a->flags & SHMC_PICKLE_OBJECTS || shmc_segment_info_get(seg, &info) != SHMC_OK)
        return CLI_OK;
    size_t n = sel->chunks ? sel->nchunks : sel->columns ? sel->ncolumns : info.ncolumns;
    for (size_t i = 0; i < n; i++) {
        uint32_t col = (uint32_t)i;
        shmc_chunk_info k;
        if (sel->chunks) {
            if (shmc_segment_chunk_info(seg, sel->chunks[i], &k) != SHMC_OK) continue;
            col = k.column;
        } else if (sel->columns) col = sel->columns[i];
        shmc_column_info ci;
        if (shmc_segment_column_info(seg, col, &ci) != SHMC_OK || ci.kind != SHMC_KIND_OBJECT)
            continue;
        char buf[32];
        size_t len;
        const char *label = cli_label_text(&ci.label, buf, sizeof buf, &len);
        return cli_fail("unpack", a->src,
                        "column '%.*s' holds Python objects (loading them runs code); "
                        "pass --allow-pickle if you trust this segment",
                        (int)len, label);
    }
    return CLI_OK;
}

static int write_pickle(shmc_segment *seg, const unpack_args *a, const shmc_selection *sel)
{
    shmc_pickle_out out;
    memset(&out, 0, sizeof out);
    int st = shmc_pickle_write(seg, sel, a->flags, &out);
    if (st != SHMC_OK)
        return cli_fail("unpack", a->src, "%s", cli_detail(shmc_segment_errmsg(seg), st));
    char err[512];
    int rc = cli_output_write(a->output, out.bytes, out.len, err, sizeof err);
    if (rc != 0) cli_fail("unpack", a->output, "%s", err);
    else if (cli_verbosity > 0 && strcmp(a->output, "-") != 0)
        fprintf(stderr, "wrote %zu bytes to %s\n", out.len, a->output);
    shmc_pickle_out_free(&out);
    return rc == 0 ? CLI_OK : CLI_FAIL;
}

int cmd_unpack(int argc, char **argv)
{
    unpack_args a;
    memset(&a, 0, sizeof a);
    int rc = parse_args(argc, argv, &a);
    if (rc >= 0) return rc;
    if (strcmp(a.output, "-") == 0 && isatty(STDOUT_FILENO))
        return cli_fail("unpack", "-", "refusing to write a binary pickle to a terminal");
    shmc_segment *seg = NULL;
    int st = shmc_segment_create(&seg);
    if (st == SHMC_OK) st = shmc_segment_open(seg, a.src, 0);
    if (st != SHMC_OK) {
        rc = cli_fail("unpack", a.src, "%s", cli_detail(seg ? shmc_segment_errmsg(seg) : "", st));
        shmc_segment_free(seg);
        return rc;
    }
    selection_buf buf = {0};
    shmc_selection sel;
    rc = build_selection(seg, &a, &sel, &buf);
    if (rc == CLI_OK) rc = check_objects(seg, &a, &sel);
    if (rc == CLI_OK) rc = write_pickle(seg, &a, &sel);
    free(buf.ids);
    shmc_segment_free(seg);
    return rc;
}
