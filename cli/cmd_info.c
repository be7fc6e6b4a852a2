/* shmchunk info SRC [--json]: what a segment holds and how it is stored. */
#include "cli.h"

#include <getopt.h>
#include <inttypes.h>
#include <string.h>
#include <time.h>

enum { OPT_JSON = 256 };

static double ratio(uint64_t raw, uint64_t stored)
{
    return stored ? (double)raw / (double)stored : 1.0;
}

static const char *column_role(const shmc_column_info *ci)
{
    if (ci->flags & SHMC_COL_INDEX) return "index";
    if (ci->flags & SHMC_COL_DICTIONARY) return "dictionary";
    return "data";
}

static const char *label_type_name(int type)
{
    switch (type) {
    case SHMC_LABEL_NONE: return "none";
    case SHMC_LABEL_STR: return "str";
    case SHMC_LABEL_INT: return "int";
    default: return "pickle";
    }
}

/* UTC ISO-8601 time of a CLOCK_REALTIME nanosecond count. */
static const char *iso_time(uint64_t ns, char *buf, size_t cap)
{
    time_t secs = (time_t)(ns / 1000000000u);
    struct tm tm;
    if (!gmtime_r(&secs, &tm) || strftime(buf, cap, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
        snprintf(buf, cap, "?");
    return buf;
}

static void owner_text(const shmc_segment_info *info, char *buf, size_t cap)
{
    if (info->owner_state == SHMC_OWNER_PERSISTENT) snprintf(buf, cap, "persistent");
    else
        snprintf(buf, cap, "pid %" PRId64 " (%s)", info->owner_pid,
                 shmc_owner_state_name(info->owner_state));
}

static const char *backend_name(int backend)
{
    switch (backend) {
    case SHMC_BACKEND_SHM: return "shm";
    case SHMC_BACKEND_FILE: return "file";
    case SHMC_BACKEND_BUFFER: return "buffer";
    default: return "?";
    }
}

/* ---------------------------------------------------------------- text ---- */

static void print_header_text(const shmc_segment_info *info)
{
    char a[32], b[32], c[32], owner[64], when[40];
    owner_text(info, owner, sizeof owner);
    printf("segment      %s\n", cli_safe(info->name, strlen(info->name)));
    printf("rows         %" PRIu64 "\n", info->nrows);
    printf("row groups   %" PRIu64 " of %" PRIu64 " rows\n", info->nrowgroups,
           info->rows_per_chunk);
    printf("chunks       %" PRIu32 "\n", info->nchunks);
    printf("bytes        %s raw, %s stored, ratio %.2f, segment %s\n",
           cli_human_size(info->raw_bytes, a, sizeof a),
           cli_human_size(info->stored_bytes, b, sizeof b),
           ratio(info->raw_bytes, info->stored_bytes),
           cli_human_size(info->total_size, c, sizeof c));
    printf("owner        %s\n", owner);
    printf("uid          %" PRIu32 "\n", info->creator_uid);
    printf("opened       %s owned by uid %" PRIu32 ", mode %04" PRIo32 ", %s\n",
           backend_name(info->backend), info->object_uid, info->object_mode,
           info->private_copy ? "private copy (another uid's, or writable by others)"
                              : "mapped shared");
    printf("created      %s\n", iso_time(info->created_ns, when, sizeof when));
    printf("identity     %016" PRIx64 "\n", info->identity);
    printf("format       %" PRIu32 "\n", info->format_version);
    if (info->has_range_index)
        printf("index        RangeIndex(start=%" PRId64 ", step=%" PRId64 ")\n", info->range_start,
               info->range_step);
    else printf("index        stored as columns (role 'index' below)\n");
}

/* Column table: widths come from a first pass so labels of any length line up. */
typedef struct col_widths {
    int label, kind, dtype, tz;
} col_widths;

/* "arrow[timestamp tsu:UTC]"; dictionary-encoded: "arrow[dictionary int32 i]". */
static void arrow_kind_text(const shmc_column_info *ci, char *buf, size_t cap)
{
    const char *name = shmc_arrow_name(ci->arrow);
    snprintf(buf, cap, "arrow[%s%s %s]%s", ci->dict_column != UINT32_MAX ? "dictionary " : "",
             name ? name : "?", cli_safe(ci->arrow, strlen(ci->arrow)),
             (ci->flags & SHMC_COL_ORDERED) ? ",ordered" : "");
}

/* An interval column's closed side from its SHMC_COL_CLOSED_* flags. */
static const char *closed_name(uint32_t flags)
{
    int l = (flags & SHMC_COL_CLOSED_LEFT) != 0, r = (flags & SHMC_COL_CLOSED_RIGHT) != 0;
    return l && r ? "both" : l ? "left" : r ? "right" : "neither";
}

static void kind_text(const shmc_column_info *ci, char *buf, size_t cap)
{
    if (ci->kind == SHMC_KIND_CATEGORICAL)
        snprintf(buf, cap, "categorical[%s]%s", shmc_kind_name(ci->code_kind),
                 (ci->flags & SHMC_COL_ORDERED) ? ",ordered" : "");
    else if (ci->kind == SHMC_KIND_ARROW) arrow_kind_text(ci, buf, cap);
    else if (ci->kind == SHMC_KIND_OBJECT && ci->arrow) /* why it is opaque */
        snprintf(buf, cap, "object[Arrow %s: nested, pickled]",
                 cli_safe(ci->arrow, strlen(ci->arrow)));
    else if (ci->kind == SHMC_KIND_SPARSE)
        snprintf(buf, cap, "sparse[%s]", shmc_kind_name(ci->code_kind));
    else if (ci->kind == SHMC_KIND_INTERVAL)
        snprintf(buf, cap, "interval[%s,%s]", shmc_kind_name(ci->code_kind),
                 closed_name(ci->flags));
    else snprintf(buf, cap, "%s", shmc_kind_name(ci->kind));
}

static const char *label_cell(const shmc_column_info *ci, char *buf, size_t cap)
{
    char tmp[32];
    size_t len;
    const char *text = cli_label_text(&ci->label, tmp, sizeof tmp, &len);
    const char *safe = cli_safe(text, len);
    if (ci->label.type == SHMC_LABEL_STR) snprintf(buf, cap, "'%s'", safe);
    else snprintf(buf, cap, "%s", safe);
    return buf;
}

static int max_int(int a, size_t b) { return (size_t)a > b ? a : (int)(b > 60 ? 60 : b); }

static void widen(col_widths *w, const shmc_column_info *ci)
{
    char buf[1100], kind[96];
    kind_text(ci, kind, sizeof kind);
    w->label = max_int(w->label, strlen(label_cell(ci, buf, sizeof buf)));
    w->kind = max_int(w->kind, strlen(kind));
    w->dtype = max_int(w->dtype, strlen(*ci->dtype ? cli_safe(ci->dtype, strlen(ci->dtype)) : "-"));
    w->tz = max_int(w->tz, strlen(ci->tz ? cli_safe(ci->tz, strlen(ci->tz)) : "-"));
}

static void print_column_text(uint32_t id, const shmc_column_info *ci, const col_widths *w)
{
    char label[1100], kind[96], dtype[1100], raw[32], stored[32], chunks[48];
    kind_text(ci, kind, sizeof kind);
    label_cell(ci, label, sizeof label);
    snprintf(dtype, sizeof dtype, "%s", *ci->dtype ? cli_safe(ci->dtype, strlen(ci->dtype)) : "-");
    if (ci->nchunks == 0) snprintf(chunks, sizeof chunks, "-");
    else if (ci->nchunks == 1) snprintf(chunks, sizeof chunks, "%" PRIu32, ci->first_chunk);
    else
        snprintf(chunks, sizeof chunks, "%" PRIu32 "-%" PRIu32, ci->first_chunk,
                 ci->first_chunk + ci->nchunks - 1);
    printf("  %4" PRIu32 "  %-10s  %-*s  %-*s  %-*s  %-4s  %-*s  %10" PRIu64
           "  %10s  %10s  %6.2f  %s\n",
           id, column_role(ci), w->label, label, w->kind, kind, w->dtype, dtype,
           ci->unit ? shmc_unit_name(ci->unit) : "-", w->tz,
           ci->tz ? cli_safe(ci->tz, strlen(ci->tz)) : "-", ci->null_count,
           cli_human_size(ci->raw_bytes, raw, sizeof raw),
           cli_human_size(ci->stored_bytes, stored, sizeof stored),
           ratio(ci->raw_bytes, ci->stored_bytes), chunks);
}

static int print_columns_text(shmc_segment *seg, uint32_t ncolumns)
{
    col_widths w = {5, 4, 5, 2};
    shmc_column_info ci;
    for (uint32_t c = 0; c < ncolumns; c++) {
        FORWARD_STATUS(shmc_segment_column_info(seg, c, &ci));
        widen(&w, &ci);
    }
    printf("columns      %" PRIu32 "\n", ncolumns);
    printf("  %4s  %-10s  %-*s  %-*s  %-*s  %-4s  %-*s  %10s  %10s  %10s  %6s  %s\n", "ID", "ROLE",
           w.label, "LABEL", w.kind, "KIND", w.dtype, "DTYPE", "UNIT", w.tz, "TZ", "NULLS", "RAW",
           "STORED", "RATIO", "CHUNKS");
    for (uint32_t c = 0; c < ncolumns; c++) {
        FORWARD_STATUS(shmc_segment_column_info(seg, c, &ci));
        print_column_text(c, &ci, &w);
    }
    return SHMC_OK;
}

static void print_chunk_text(uint32_t id, const shmc_chunk_info *k)
{
    printf("  %6" PRIu32 "  %6" PRIu32 "  %6" PRIu32 "  %-8s  %-5s  %-7s  %10" PRIu64 "  %10" PRIu64
           "  %6.2f  %12" PRIu64 "  %016" PRIx64 "\n",
           id, k->column, k->rowgroup, shmc_role_name(k->role), shmc_codec_name(k->codec),
           k->shuffle ? "yes" : "no", k->raw_len, k->stored_len, ratio(k->raw_len, k->stored_len),
           k->offset, k->xxh3);
}

static int info_text(shmc_segment *seg, const shmc_segment_info *info)
{
    print_header_text(info);
    FORWARD_STATUS(print_columns_text(seg, info->ncolumns));
    if (cli_verbosity <= 0) return SHMC_OK;
    printf("chunk list\n  %6s  %6s  %6s  %-8s  %-5s  %-7s  %10s  %10s  %6s  %12s  %s\n", "ID",
           "COLUMN", "GROUP", "ROLE", "CODEC", "SHUFFLE", "RAW", "STORED", "RATIO", "OFFSET",
           "XXH3");
    for (uint32_t k = 0; k < info->nchunks; k++) {
        shmc_chunk_info ki;
        int st = shmc_segment_chunk_info(seg, k, &ki);
        if (st != SHMC_OK) return st;
        print_chunk_text(k, &ki);
    }
    return SHMC_OK;
}

/* ---------------------------------------------------------------- json ---- */

static void json_label(cli_json *j, const shmc_label *label)
{
    if (label->type == SHMC_LABEL_STR) cli_json_string(j, label->str, label->len);
    else if (label->type == SHMC_LABEL_INT) cli_json_i64(j, label->i);
    else cli_json_null(j);
}

static void json_header(cli_json *j, const shmc_segment_info *info)
{
    char when[40], ident[24];
    cli_json_field_cstr(j, "name", info->name);
    cli_json_field_u64(j, "format_version", info->format_version);
    cli_json_field_u64(j, "rows", info->nrows);
    cli_json_field_u64(j, "rows_per_chunk", info->rows_per_chunk);
    cli_json_field_u64(j, "row_groups", info->nrowgroups);
    cli_json_field_u64(j, "nchunks", info->nchunks);
    cli_json_field_u64(j, "total_size", info->total_size);
    cli_json_field_u64(j, "raw_bytes", info->raw_bytes);
    cli_json_field_u64(j, "stored_bytes", info->stored_bytes);
    cli_json_field_double(j, "ratio", ratio(info->raw_bytes, info->stored_bytes));
    cli_json_key(j, "owner");
    cli_json_begin_object(j);
    cli_json_key(j, "pid");
    if (info->owner_state == SHMC_OWNER_PERSISTENT) cli_json_null(j);
    else cli_json_i64(j, info->owner_pid);
    cli_json_field_cstr(j, "state", shmc_owner_state_name(info->owner_state));
    cli_json_end_object(j);
    cli_json_field_u64(j, "uid", info->creator_uid);
    cli_json_key(j, "opened");
    cli_json_begin_object(j);
    cli_json_field_cstr(j, "backend", backend_name(info->backend));
    cli_json_field_u64(j, "object_uid", info->object_uid);
    cli_json_field_u64(j, "object_mode", info->object_mode);
    cli_json_field_bool(j, "private_copy", info->private_copy);
    cli_json_end_object(j);
    cli_json_field_u64(j, "created_ns", info->created_ns);
    cli_json_field_cstr(j, "created", iso_time(info->created_ns, when, sizeof when));
    snprintf(ident, sizeof ident, "%016" PRIx64, info->identity);
    cli_json_field_cstr(j, "identity", ident);
    cli_json_key(j, "index");
    cli_json_begin_object(j);
    cli_json_field_cstr(j, "type", info->has_range_index ? "range" : "columns");
    if (info->has_range_index) {
        cli_json_field_i64(j, "start", info->range_start);
        cli_json_field_i64(j, "step", info->range_step);
        cli_json_key(j, "name");
        json_label(j, &info->range_name);
    }
    cli_json_end_object(j);
    cli_json_key(j, "columns_name");
    json_label(j, &info->columns_name);
}

static void json_column(cli_json *j, uint32_t id, const shmc_column_info *ci)
{
    cli_json_begin_object(j);
    cli_json_field_u64(j, "id", id);
    cli_json_key(j, "label");
    json_label(j, &ci->label);
    cli_json_field_cstr(j, "label_type", label_type_name(ci->label.type));
    cli_json_field_cstr(j, "role", column_role(ci));
    cli_json_field_cstr(j, "kind", shmc_kind_name(ci->kind));
    cli_json_field_cstr(j, "dtype", *ci->dtype ? ci->dtype : NULL);
    cli_json_field_cstr(j, "unit", ci->unit ? shmc_unit_name(ci->unit) : NULL);
    cli_json_field_cstr(j, "tz", ci->tz);
    if (ci->kind == SHMC_KIND_CATEGORICAL) {
        cli_json_field_cstr(j, "code_kind", shmc_kind_name(ci->code_kind));
        cli_json_field_bool(j, "ordered", (ci->flags & SHMC_COL_ORDERED) != 0);
        cli_json_field_u64(j, "categories_column", ci->dict_column);
    }
    if (ci->arrow) {
        cli_json_field_cstr(j, "arrow", ci->arrow);
        cli_json_field_cstr(j, "arrow_type", shmc_arrow_name(ci->arrow));
    }
    if (ci->kind == SHMC_KIND_ARROW && ci->dict_column != UINT32_MAX) {
        cli_json_field_bool(j, "ordered", (ci->flags & SHMC_COL_ORDERED) != 0);
        cli_json_field_u64(j, "dictionary_column", ci->dict_column);
    }
    if (ci->kind == SHMC_KIND_SPARSE) {
        cli_json_field_cstr(j, "code_kind", shmc_kind_name(ci->code_kind));
        cli_json_field_u64(j, "fill_column", ci->dict_column);
    }
    if (ci->kind == SHMC_KIND_INTERVAL) {
        cli_json_field_cstr(j, "code_kind", shmc_kind_name(ci->code_kind));
        cli_json_field_cstr(j, "closed", closed_name(ci->flags));
    }
    cli_json_field_u64(j, "rows", ci->nrows);
    cli_json_field_u64(j, "nulls", ci->null_count);
    cli_json_field_u64(j, "raw_bytes", ci->raw_bytes);
    cli_json_field_u64(j, "stored_bytes", ci->stored_bytes);
    cli_json_field_double(j, "ratio", ratio(ci->raw_bytes, ci->stored_bytes));
    cli_json_field_u64(j, "first_chunk", ci->first_chunk);
    cli_json_field_u64(j, "nchunks", ci->nchunks);
    cli_json_end_object(j);
}

static void json_chunk(cli_json *j, uint32_t id, const shmc_chunk_info *k)
{
    char hash[24];
    snprintf(hash, sizeof hash, "%016" PRIx64, k->xxh3);
    cli_json_begin_object(j);
    cli_json_field_u64(j, "id", id);
    cli_json_field_u64(j, "column", k->column);
    cli_json_field_u64(j, "row_group", k->rowgroup);
    cli_json_field_cstr(j, "role", shmc_role_name(k->role));
    cli_json_field_cstr(j, "codec", shmc_codec_name(k->codec));
    cli_json_field_bool(j, "shuffle", k->shuffle);
    cli_json_field_u64(j, "offset", k->offset);
    cli_json_field_u64(j, "raw_bytes", k->raw_len);
    cli_json_field_u64(j, "stored_bytes", k->stored_len);
    cli_json_field_u64(j, "row_start", k->row_start);
    cli_json_field_u64(j, "rows", k->nrows);
    cli_json_field_cstr(j, "xxh3", hash);
    cli_json_end_object(j);
}

/* Everything is fetched before printing so that a failure prints nothing half-done. */
static int info_json(shmc_segment *seg, const shmc_segment_info *info)
{
    shmc_column_info ci;
    shmc_chunk_info ki;
    for (uint32_t c = 0; c < info->ncolumns; c++)
        FORWARD_STATUS(shmc_segment_column_info(seg, c, &ci));
    if (cli_verbosity > 0)
        for (uint32_t k = 0; k < info->nchunks; k++)
            FORWARD_STATUS(shmc_segment_chunk_info(seg, k, &ki));
    cli_json j;
    cli_json_init(&j, stdout);
    cli_json_begin_object(&j);
    json_header(&j, info);
    cli_json_key(&j, "columns");
    cli_json_begin_array(&j);
    for (uint32_t c = 0; c < info->ncolumns; c++) {
        shmc_segment_column_info(seg, c, &ci);
        json_column(&j, c, &ci);
    }
    cli_json_end_array(&j);
    if (cli_verbosity > 0) {
        cli_json_key(&j, "chunks");
        cli_json_begin_array(&j);
        for (uint32_t k = 0; k < info->nchunks; k++) {
            shmc_segment_chunk_info(seg, k, &ki);
            json_chunk(&j, k, &ki);
        }
        cli_json_end_array(&j);
    }
    cli_json_end_object(&j);
    cli_json_finish(&j);
    return SHMC_OK;
}

int cmd_info(int argc, char **argv)
{
    static const struct option longopts[] = {{"json", no_argument, NULL, OPT_JSON},
                                             {"help", no_argument, NULL, 'h'},
                                             {"quiet", no_argument, NULL, 'q'},
                                             {"verbose", no_argument, NULL, 'v'},
                                             {NULL, 0, NULL, 0}};
    const cli_parse p = {"info", "", longopts};
    const char *arg;
    int done = -1, c, json = 0;
    while ((c = cli_next_opt(&p, argc, argv, &arg, &done)) != -1)
        if (c == OPT_JSON) json = 1;
    if (done >= 0) return done;
    if (argc - optind != 1)
        return cli_usage("info", "needs exactly one SRC (got %d)", argc - optind);
    const char *src = argv[optind];
    shmc_segment *seg = NULL;
    shmc_segment_info info;
    int st = shmc_segment_create(&seg);
    if (st == SHMC_OK) st = shmc_segment_open(seg, src, 0);
    if (st == SHMC_OK) st = shmc_segment_info_get(seg, &info);
    if (st == SHMC_OK) st = json ? info_json(seg, &info) : info_text(seg, &info);
    int rc = CLI_OK;
    if (st != SHMC_OK)
        rc = cli_fail("info", src, "%s", cli_detail(seg ? shmc_segment_errmsg(seg) : "", st));
    shmc_segment_free(seg);
    return rc;
}
