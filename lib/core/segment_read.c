/* The segment reader (shmc_segment_*): the checks open runs (header, index,
 * every column and chunk) and the queries of an open segment. Opening, views,
 * decodes and verification are in segment_access.c, which calls into this file;
 * what both see of a segment is in segment_int.h. */
#include "segment_read.h"
#include "segment_int.h"

#include <stdarg.h>
#include <stdio.h>
#include <sys/mman.h>
#include <stdlib.h>
#include <string.h>

#include "arrow_format.h"
#include "codec.h"
#include "format.h"
#include "hash.h"
#include "index.h"
#include "store.h"
#include "threadpool.h"

shmc_err *shmc_segment_err(shmc_segment *seg) { return seg ? &seg->err : NULL; }

int shmc_segment_create(shmc_segment **out)
{
    if (!out) return SHMC_ERR_INVALID_ARG;
    *out = calloc(1, sizeof **out);
    return *out ? SHMC_OK : SHMC_ERR_NOMEM;
}

void shmc_segment_unmap(shmc_segment *seg)
{
    shmc_store_close(&seg->st);
    shmc_index_free(&seg->ix);
    seg->is_open = 0;
}

void shmc_segment_free(shmc_segment *seg)
{
    if (!seg) return;
    shmc_segment_unmap(seg);
    free(seg);
}

const char *shmc_segment_errmsg(const shmc_segment *seg)
{
    return seg ? seg->err.msg : "segment is NULL";
}

/* ---- messages ------------------------------------------------------------ */

/* "column 3 'price'" into buf. */
static const char *col_name(const shmc_segment *seg, uint32_t c, char *buf, size_t cap)
{
    const shmc_column_info *ci = c < seg->ix.ncolumns ? &seg->ix.columns[c] : NULL;
    if (ci && ci->label.type == SHMC_LABEL_STR)
        snprintf(buf, cap, "column %u '%.*s'", c, (int)(ci->label.len > 80 ? 80 : ci->label.len),
                 ci->label.str);
    else if (ci && ci->label.type == SHMC_LABEL_INT)
        snprintf(buf, cap, "column %u (label %lld)", c, (long long)ci->label.i);
    else if (ci && (ci->flags & SHMC_COL_DICTIONARY))
        snprintf(buf, cap, "column %u (categories)", c);
    else snprintf(buf, cap, "column %u", c);
    return buf;
}

/* Error naming the segment, chunk, column, role and byte offset. */
int shmc_segment_chunk_err(shmc_segment *seg, int status, uint32_t id, const char *why)
{
    const shmc_chunk_info *k = &seg->ix.chunks[id];
    char cn[128];
    return shmc_err_set(&seg->err, status, "%s: chunk %u (%s, row group %u, %s) at byte %llu: %s",
                        seg->st.name, id, col_name(seg, k->column, cn, sizeof cn), k->rowgroup,
                        shmc_role_name(k->role), (unsigned long long)k->offset, why);
}

/* ---- header -------------------------------------------------------------- */

int shmc_segment_header_check(shmc_segment *seg)
{
    const uint8_t *h = seg->st.base;
    size_t len = seg->st.len;
    shmc_err *e = &seg->err;
    const char *n = seg->st.name;
    RETURN_ERROR_IF(len < SHMC_MAGIC_LEN, e, SHMC_ERR_TRUNCATED,
                    "%s: %zu bytes, shorter than the magic", n, len);
    RETURN_ERROR_IF(memcmp(h, SHMC_MAGIC, SHMC_MAGIC_LEN) != 0, e, SHMC_ERR_BAD_MAGIC,
                    "%s: bytes 0-7 are not the shmchunk magic", n);
    RETURN_ERROR_IF(len < SHMC_HEADER_SIZE, e, SHMC_ERR_TRUNCATED,
                    "%s: %zu bytes, shorter than the %u-byte header", n, len, SHMC_HEADER_SIZE);
    uint16_t v = shmc_ld16(h + SHMC_HDR_VERSION);
    RETURN_ERROR_IF(v < SHMC_FORMAT_VERSION_MIN || v > SHMC_FORMAT_VERSION, e, SHMC_ERR_BAD_VERSION,
                    "%s: format version %u at byte %d, this library reads %d to %d", n, v,
                    SHMC_HDR_VERSION, SHMC_FORMAT_VERSION_MIN, SHMC_FORMAT_VERSION);
    RETURN_ERROR_IF(shmc_ld16(h + SHMC_HDR_HEADER_SIZE) != SHMC_HEADER_SIZE ||
                        shmc_ld32(h + SHMC_HDR_LAYOUT) != SHMC_LAYOUT_SIGNATURE,
                    e, SHMC_ERR_BAD_LAYOUT,
                    "%s: header size %u / layout signature 0x%08x, expected %u / 0x%08x", n,
                    shmc_ld16(h + SHMC_HDR_HEADER_SIZE), shmc_ld32(h + SHMC_HDR_LAYOUT),
                    SHMC_HEADER_SIZE, SHMC_LAYOUT_SIGNATURE);
    RETURN_ERROR_IF(shmc_ld64(h + SHMC_HDR_SEALED) != SHMC_SEALED_MAGIC, e, SHMC_ERR_UNSEALED,
                    "%s: no sealed marker at byte %d (writer unfinished or dead)", n,
                    SHMC_HDR_SEALED);
    RETURN_ERROR_IF(
        shmc_ld64(h + SHMC_HDR_HEADER_XXH3) != shmc_header_hash(h), e, SHMC_ERR_HEADER_CHECKSUM,
        "%s: header checksum (byte %d) does not match bytes 0-127", n, SHMC_HDR_HEADER_XXH3);
    return SHMC_OK;
}

int shmc_segment_header_load(shmc_segment *seg)
{
    const uint8_t *h = seg->st.base;
    shmc_err *e = &seg->err;
    const char *n = seg->st.name;
    seg->version = shmc_ld16(h + SHMC_HDR_VERSION); /* in range: header_check */
    seg->hdr_flags = shmc_ld32(h + SHMC_HDR_FLAGS);
    seg->owner_pid = (int64_t)shmc_ld64(h + SHMC_HDR_OWNER_PID);
    seg->owner_start = shmc_ld64(h + SHMC_HDR_OWNER_START);
    seg->uid = shmc_ld32(h + SHMC_HDR_CREATOR_UID);
    seg->total = shmc_ld64(h + SHMC_HDR_TOTAL_SIZE);
    seg->index_off = shmc_ld64(h + SHMC_HDR_INDEX_OFFSET);
    seg->index_len = shmc_ld64(h + SHMC_HDR_INDEX_LEN);
    seg->created_ns = shmc_ld64(h + SHMC_HDR_CREATED_NS);
    seg->identity = shmc_ld64(h + SHMC_HDR_HEADER_XXH3);
    RETURN_ERROR_IF(seg->total > seg->st.len, e, SHMC_ERR_TRUNCATED,
                    "%s: header says %llu bytes, only %zu present", n,
                    (unsigned long long)seg->total, seg->st.len);
    RETURN_ERROR_IF(seg->index_off < SHMC_HEADER_SIZE || seg->index_off > seg->total ||
                        seg->index_len > seg->total - seg->index_off,
                    e, SHMC_ERR_CORRUPT,
                    "%s: index [%llu, +%llu) outside the segment of %llu bytes", n,
                    (unsigned long long)seg->index_off, (unsigned long long)seg->index_len,
                    (unsigned long long)seg->total);
    const uint8_t *ip = h + seg->index_off;
    RETURN_ERROR_IF(shmc_hash(ip, (size_t)seg->index_len) != shmc_ld64(h + SHMC_HDR_INDEX_XXH3), e,
                    SHMC_ERR_INDEX_CHECKSUM,
                    "%s: index checksum mismatch (index at byte %llu, %llu bytes)", n,
                    (unsigned long long)seg->index_off, (unsigned long long)seg->index_len);
    return SHMC_OK;
}

/* ---- index validation ------------------------------------------------------ */

static uint64_t ceil_div(uint64_t a, uint64_t b) { return a / b + (a % b != 0); }

/* SHMC_ERR_CORRUPT "<segment>: column 3 'price': <why>". The column's name is
 * formatted only here, on failure: open checks every column of the index. */
#if defined(__GNUC__)
__attribute__((format(printf, 3, 4)))
#endif
static int
column_err(shmc_segment *seg, uint32_t c, const char *fmt, ...)
{
    char why[256], cn[128];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(why, sizeof why, fmt, ap);
    va_end(ap);
    return shmc_err_set(&seg->err, SHMC_ERR_CORRUPT, "%s: %s: %s", seg->st.name,
                        col_name(seg, c, cn, sizeof cn), why);
}

#define COLUMN_ERROR_IF(cond, ...)                                                                 \
    do {                                                                                           \
        if (cond) return column_err(seg, c, __VA_ARGS__);                                          \
    } while (0)

static int column_check_dict(shmc_segment *seg, uint32_t c, const shmc_column_info *ci)
{
    COLUMN_ERROR_IF(ci->code_kind < SHMC_KIND_INT8 || ci->code_kind > SHMC_KIND_INT64,
                    "code_kind %d is not int8..int64", ci->code_kind);
    uint32_t d = ci->dict_column;
    COLUMN_ERROR_IF(d >= seg->ix.ncolumns || !(seg->ix.columns[d].flags & SHMC_COL_DICTIONARY) ||
                        seg->ix.columns[d].kind == SHMC_KIND_CATEGORICAL ||
                        seg->ix.columns[d].kind == SHMC_KIND_OBJECT ||
                        seg->ix.columns[d].kind == SHMC_KIND_INTERVAL,
                    "dictionary column %u is not a dictionary", d);
    return SHMC_OK;
}

/* A column's time zone against the zone-name rule (shmc_zone_name_bad_byte), naming
 * the byte that breaks it. */
static int tz_check(shmc_segment *seg, uint32_t c, const shmc_column_info *ci)
{
    if (!ci->tz) return SHMC_OK;
    size_t len = strlen(ci->tz), bad = shmc_zone_name_bad_byte(ci->tz, len);
    if (bad == len) return SHMC_OK;
    char shown[84], why[96];
    size_t n = len < 80 ? len : 80;
    for (size_t i = 0; i < n; i++)
        shown[i] = ci->tz[i] >= 0x20 && ci->tz[i] < 0x7f ? ci->tz[i] : '?';
    snprintf(shown + n, sizeof shown - n, "%s", n < len ? "..." : "");
    if (len > 255) snprintf(why, sizeof why, "%zu bytes, more than 255", len);
    else
        snprintf(why, sizeof why,
                 "byte %zu (0x%02x) is not a letter, digit, '_+-:' or a '/' between two parts", bad,
                 (unsigned)(unsigned char)ci->tz[bad]);
    return column_err(
        seg, c,
        "time zone \"%s\" is not a zone name: %s (pandas would open dateutil/<path> as a file)",
        shown, why);
}

/* The Arrow layout of an SHMC_KIND_ARROW column (checked at open): 1, else 0. */
int shmc_segment_arrow_layout(const shmc_column_info *ci, shmc_arrow_layout *l)
{
    const char *why;
    return ci->kind == SHMC_KIND_ARROW && shmc_arrow_layout_of(ci->arrow, l, &why) == 0;
}

/* Format 2: the `arrow` key of an Arrow column names a type stored natively; a
 * dictionary-encoded one has integer indices and a dictionary that is an Arrow
 * DICTIONARY column without a dictionary of its own. Any other kind may carry
 * `arrow` only as a note (object: the type Python pickled). */
static int arrow_check(shmc_segment *seg, uint32_t c, const shmc_column_info *ci)
{
    shmc_arrow_layout l;
    const char *why = "";
    COLUMN_ERROR_IF(ci->kind == SHMC_KIND_ARROW && seg->version < 2,
                    "an Arrow column in a format %d segment", seg->version);
    COLUMN_ERROR_IF(ci->arrow && ci->kind != SHMC_KIND_ARROW && ci->kind != SHMC_KIND_OBJECT,
                    "an Arrow format on a %s column", shmc_kind_name(ci->kind));
    if (ci->kind != SHMC_KIND_ARROW) return SHMC_OK;
    COLUMN_ERROR_IF(shmc_arrow_layout_of(ci->arrow, &l, &why) != 0, "Arrow format '%.40s': %s",
                    ci->arrow ? ci->arrow : "(none)", why);
    uint32_t d = ci->dict_column;
    if (d == UINT32_MAX) return SHMC_OK;
    COLUMN_ERROR_IF(!l.integer, "dictionary indices of Arrow type %s", l.name);
    COLUMN_ERROR_IF((ci->flags & SHMC_COL_DICTIONARY) || d >= seg->ix.ncolumns ||
                        !(seg->ix.columns[d].flags & SHMC_COL_DICTIONARY) ||
                        seg->ix.columns[d].kind != SHMC_KIND_ARROW ||
                        seg->ix.columns[d].dict_column != UINT32_MAX,
                    "dictionary column %u is not an Arrow dictionary", d);
    return SHMC_OK;
}

/* A sparse column: values of bool..float64 and a one-row dictionary of that kind
 * holding the fill value. */
static int column_check_sparse(shmc_segment *seg, uint32_t c, const shmc_column_info *ci)
{
    COLUMN_ERROR_IF(!shmc_sparse_subtype_ok(ci->code_kind),
                    "sparse code_kind %d is not bool..float64", ci->code_kind);
    COLUMN_ERROR_IF(seg->ix.rows_per_chunk > (uint64_t)INT32_MAX + 1 ||
                        ci->nrows > (uint64_t)INT32_MAX + 1,
                    "sparse row numbers are int32: %llu rows", (unsigned long long)ci->nrows);
    uint32_t d = ci->dict_column;
    COLUMN_ERROR_IF(d >= seg->ix.ncolumns || !(seg->ix.columns[d].flags & SHMC_COL_DICTIONARY) ||
                        seg->ix.columns[d].kind != ci->code_kind || seg->ix.columns[d].nrows != 1,
                    "fill value column %u is not a one-row dictionary of the values' kind", d);
    return SHMC_OK;
}

static int column_check(shmc_segment *seg, uint32_t c)
{
    shmc_column_info *ci = &seg->ix.columns[c];
    COLUMN_ERROR_IF(ci->kind < SHMC_KIND_BOOL || ci->kind >= SHMC_KIND_COUNT_, "kind %d unknown",
                    ci->kind);
    COLUMN_ERROR_IF(ci->kind == SHMC_KIND_INTERVAL && !shmc_interval_subtype_ok(ci->code_kind),
                    "interval code_kind %d is not int8..float64, datetime or timedelta",
                    ci->code_kind);
    uint32_t closed = SHMC_COL_CLOSED_LEFT | SHMC_COL_CLOSED_RIGHT;
    COLUMN_ERROR_IF((ci->flags & closed) && ci->kind != SHMC_KIND_INTERVAL,
                    "closed-end flags 0x%x on a %s column", ci->flags & closed,
                    shmc_kind_name(ci->kind));
    int bound = ci->kind == SHMC_KIND_INTERVAL ? ci->code_kind : ci->kind;
    int timed = bound == SHMC_KIND_DATETIME || bound == SHMC_KIND_TIMEDELTA;
    COLUMN_ERROR_IF(timed && (ci->unit < SHMC_UNIT_S || ci->unit > SHMC_UNIT_NS),
                    "time unit %d is not s/ms/us/ns", ci->unit);
    FORWARD_IF_ERROR(tz_check(seg, c, ci));
    int is_dict = (ci->flags & SHMC_COL_DICTIONARY) != 0;
    COLUMN_ERROR_IF(!is_dict && ci->nrows != seg->ix.nrows, "%llu rows, frame has %llu",
                    (unsigned long long)ci->nrows, (unsigned long long)seg->ix.nrows);
    /* A dictionary's row count is not tied to the frame's: bound it the same way. */
    COLUMN_ERROR_IF(ci->nrows > (uint64_t)INT64_MAX, "%llu rows, more than 2^63-1",
                    (unsigned long long)ci->nrows);
    COLUMN_ERROR_IF(ci->null_count > ci->nrows, "more nulls than rows");
    ci->nrowgroups = ceil_div(ci->nrows, seg->ix.rows_per_chunk);
    COLUMN_ERROR_IF(ci->nrowgroups > UINT32_MAX, "too many row groups");
    FORWARD_IF_ERROR(arrow_check(seg, c, ci));
    if (ci->kind == SHMC_KIND_ARROW) return SHMC_OK;
    COLUMN_ERROR_IF(ci->kind == SHMC_KIND_PERIOD && !shmc_period_dtype_ok(ci->dtype),
                    "period column's dtype \"%.80s\" is not \"period[<freq>]\"",
                    ci->dtype ? ci->dtype : "(none)");
    if (ci->kind == SHMC_KIND_CATEGORICAL) return column_check_dict(seg, c, ci);
    if (ci->kind == SHMC_KIND_SPARSE) return column_check_sparse(seg, c, ci);
    ci->dict_column = UINT32_MAX;
    return SHMC_OK;
}

/* The raw_len a role must have for n rows: 1 with *want set, 0 when the role's
 * length is free (data, pickle), -1 when no buffer can hold n rows (n + 1 or the
 * product overflows). A forged huge row count is thus refused, never wrapped
 * around to a small length or to "free". */
static int expected_raw(const shmc_column_info *ci, int role, uint64_t n, uint64_t *want)
{
    uint64_t elem = 1, count = n;
    shmc_arrow_layout l;
    if (shmc_segment_arrow_layout(ci, &l)) return shmc_arrow_raw_len(&l, role, n, want);
    if (ci->kind == SHMC_KIND_SPARSE) return 0; /* bounded by sparse_raw_check */
    switch (role) {
    case SHMC_ROLE_VALUES:
    case SHMC_ROLE_RIGHT: elem = shmc_role_typesize(ci->kind, ci->code_kind, role); break;
    case SHMC_ROLE_MASK: break;
    case SHMC_ROLE_OFFSETS:
        elem = 8;
        if (__builtin_add_overflow(n, 1, &count)) return -1;
        break;
    case SHMC_ROLE_VALIDITY: *want = n / 8 + (n % 8 != 0); return 1;
    default: return 0;
    }
    return __builtin_mul_overflow(count, elem, want) ? -1 : 1;
}

/* raw_len against the chunk's row count, naming both. */
static int raw_len_check(shmc_segment *seg, uint32_t id, const shmc_column_info *ci)
{
    const shmc_chunk_info *k = &seg->ix.chunks[id];
    uint64_t want = 0;
    int fixed = expected_raw(ci, k->role, k->nrows, &want);
    char why[160];
    if (fixed < 0) {
        snprintf(why, sizeof why, "%llu rows cannot be stored (the size overflows)",
                 (unsigned long long)k->nrows);
        return shmc_segment_chunk_err(seg, SHMC_ERR_CORRUPT, id, why);
    }
    if (fixed == 0 || k->raw_len == want) return SHMC_OK;
    snprintf(
        why, sizeof why, "raw_len %llu does not match the row count (%llu rows need %llu bytes)",
        (unsigned long long)k->raw_len, (unsigned long long)k->nrows, (unsigned long long)want);
    return shmc_segment_chunk_err(seg, SHMC_ERR_CORRUPT, id, why);
}

/* A sparse chunk holds at most one entry per row of its row group, whole entries. */
static int sparse_raw_check(shmc_segment *seg, uint32_t id, const shmc_column_info *ci)
{
    const shmc_chunk_info *k = &seg->ix.chunks[id];
    uint64_t elem = shmc_role_typesize(ci->kind, ci->code_kind, k->role);
    if (elem && k->raw_len % elem == 0 && k->raw_len / elem <= k->nrows) return SHMC_OK;
    char why[160];
    snprintf(
        why, sizeof why, "raw_len %llu is not a whole number of at most %llu entries of %llu bytes",
        (unsigned long long)k->raw_len, (unsigned long long)k->nrows, (unsigned long long)elem);
    return shmc_segment_chunk_err(seg, SHMC_ERR_CORRUPT, id, why);
}

/* Per row group, a sparse column has as many row numbers as values. */
static int sparse_pairs_check(shmc_segment *seg, const shmc_column_info *ci)
{
    if (ci->kind != SHMC_KIND_SPARSE) return SHMC_OK;
    uint32_t isz = shmc_role_typesize(ci->kind, ci->code_kind, SHMC_ROLE_VALUES);
    for (uint64_t g = 0; g < ci->nrowgroups; g++) {
        uint32_t v = ci->first_chunk + (uint32_t)g, x = v + (uint32_t)ci->nrowgroups;
        if (seg->ix.chunks[v].raw_len / isz != seg->ix.chunks[x].raw_len / 4)
            return shmc_segment_chunk_err(seg, SHMC_ERR_CORRUPT, x,
                                          "sparse row numbers and values differ in count");
    }
    return SHMC_OK;
}

/* The decoded-size cap in force for this segment (see shmc_segment_limit_set). */
static uint64_t decoded_cap(const shmc_segment *seg)
{
    if (seg->max_decoded != SHMC_DECODED_DEFAULT) return seg->max_decoded;
    uint64_t scaled;
    if (__builtin_mul_overflow(seg->total, SHMC_DECODED_RATIO, &scaled)) return UINT64_MAX;
    return scaled > SHMC_DECODED_FLOOR ? scaled : SHMC_DECODED_FLOOR;
}

/* Count chunk id's raw_len in the segment's decoded size, within the cap. */
static int decoded_add(shmc_segment *seg, uint32_t id)
{
    const shmc_chunk_info *k = &seg->ix.chunks[id];
    uint64_t sum, cap = decoded_cap(seg);
    if (!__builtin_add_overflow(seg->raw_bytes, k->raw_len, &sum) && sum <= cap) {
        seg->raw_bytes = sum;
        return SHMC_OK;
    }
    char why[320];
    snprintf(why, sizeof why,
             "decodes to %llu bytes from %llu stored, which takes the segment's decoded size past "
             "the limit of %llu bytes (%s; shmc_segment_limit_set)",
             (unsigned long long)k->raw_len, (unsigned long long)k->stored_len,
             (unsigned long long)cap,
             seg->max_decoded ? "set by the caller" : "default: max(1 GiB, 1024 x segment size)");
    return shmc_segment_chunk_err(seg, SHMC_ERR_LIMIT, id, why);
}

/* Roles and typesizes by kind, or by Arrow layout for an Arrow column. */
static uint32_t roles_allowed(const shmc_column_info *ci)
{
    shmc_arrow_layout l;
    return shmc_segment_arrow_layout(ci, &l) ? shmc_arrow_roles_allowed(&l)
                                             : shmc_kind_roles_allowed(ci->kind);
}

static uint32_t roles_required(const shmc_column_info *ci)
{
    shmc_arrow_layout l;
    return shmc_segment_arrow_layout(ci, &l) ? shmc_arrow_roles_required(&l)
                                             : shmc_kind_roles_required(ci->kind);
}

static uint32_t role_typesize(const shmc_column_info *ci, int role)
{
    shmc_arrow_layout l;
    return shmc_segment_arrow_layout(ci, &l) ? shmc_arrow_typesize(&l, role)
                                             : shmc_role_typesize(ci->kind, ci->code_kind, role);
}

static int chunk_check(shmc_segment *seg, uint32_t id, uint64_t *prev_end)
{
    shmc_chunk_info *k = &seg->ix.chunks[id];
    const shmc_column_info *ci = &seg->ix.columns[k->column];
    uint64_t rpc = seg->ix.rows_per_chunk;
    if (k->rowgroup >= ci->nrowgroups)
        return shmc_segment_chunk_err(seg, SHMC_ERR_CORRUPT, id, "row group out of range");
    if (!(roles_allowed(ci) & (1u << k->role)))
        return shmc_segment_chunk_err(seg, SHMC_ERR_CORRUPT, id,
                                      "role not allowed for the column's kind");
    k->row_start = (uint64_t)k->rowgroup * rpc;
    k->nrows = ci->nrows - k->row_start < rpc ? ci->nrows - k->row_start : rpc;
    if (k->typesize != role_typesize(ci, k->role))
        return shmc_segment_chunk_err(seg, SHMC_ERR_CORRUPT, id,
                                      "typesize does not match the role");
    if (k->codec == SHMC_CODEC_NONE && (k->shuffle || k->stored_len != k->raw_len))
        return shmc_segment_chunk_err(seg, SHMC_ERR_CORRUPT, id,
                                      "raw chunk with stored_len != raw_len or shuffle");
    if (k->codec != SHMC_CODEC_NONE && k->raw_len / SHMC_MAX_EXPANSION > k->stored_len)
        return shmc_segment_chunk_err(seg, SHMC_ERR_CORRUPT, id,
                                      "raw_len implausibly large for stored_len");
    FORWARD_IF_ERROR(raw_len_check(seg, id, ci));
    if (ci->kind == SHMC_KIND_SPARSE) FORWARD_IF_ERROR(sparse_raw_check(seg, id, ci));
    if (k->offset % SHMC_CHUNK_ALIGN || k->offset < *prev_end || k->offset > seg->index_off ||
        k->stored_len > seg->index_off - k->offset)
        return shmc_segment_chunk_err(
            seg, SHMC_ERR_CORRUPT, id,
            "stored bytes outside the chunk area, misaligned or overlapping");
    if (k->raw_len > SIZE_MAX / 2)
        return shmc_segment_chunk_err(seg, SHMC_ERR_CORRUPT, id, "raw_len too large");
    *prev_end = k->offset + k->stored_len;
    FORWARD_IF_ERROR(decoded_add(seg, id));
    seg->stored_bytes += k->stored_len;
    return SHMC_OK;
}

/* The chunks of column c start at *next: strictly ordered by (role, row
 * group), and every required role present in every row group. */
static int column_chunks(shmc_segment *seg, uint32_t c, uint32_t *next, uint64_t *prev_end)
{
    shmc_column_info *ci = &seg->ix.columns[c];
    uint64_t count[SHMC_ROLE_COUNT_] = {0};
    int64_t last = -1;
    ci->first_chunk = *next;
    for (; *next < seg->ix.nchunks && seg->ix.chunks[*next].column == c; (*next)++) {
        const shmc_chunk_info *k = &seg->ix.chunks[*next];
        int64_t key = (int64_t)k->role * ((int64_t)UINT32_MAX + 1) + k->rowgroup;
        if (key <= last)
            return shmc_segment_chunk_err(seg, SHMC_ERR_CORRUPT, *next,
                                          "chunks out of order or duplicated");
        last = key;
        FORWARD_IF_ERROR(chunk_check(seg, *next, prev_end));
        count[k->role]++;
        ci->roles |= 1u << k->role;
        ci->raw_bytes += k->raw_len;
        ci->stored_bytes += k->stored_len;
    }
    ci->nchunks = *next - ci->first_chunk;
    for (int r = 0; r < SHMC_ROLE_COUNT_; r++) {
        char cn[128];
        RETURN_ERROR_IF((roles_required(ci) & (1u << r)) && count[r] != ci->nrowgroups, &seg->err,
                        SHMC_ERR_CORRUPT, "%s: %s: %llu %s chunks for %llu row groups",
                        seg->st.name, col_name(seg, c, cn, sizeof cn), (unsigned long long)count[r],
                        shmc_role_name(r), (unsigned long long)ci->nrowgroups);
    }
    return sparse_pairs_check(seg, ci);
}

/* The row index is either the range or the INDEX columns: exactly one of them (a
 * frame with neither has no index pandas can build; with both, readers would disagree). */
static int row_index_check(shmc_segment *seg)
{
    const shmc_index *ix = &seg->ix;
    uint32_t nindex = 0;
    for (uint32_t c = 0; c < ix->ncolumns; c++)
        nindex += (ix->columns[c].flags & (SHMC_COL_INDEX | SHMC_COL_DICTIONARY)) == SHMC_COL_INDEX;
    RETURN_ERROR_IF(!ix->has_range && nindex == 0, &seg->err, SHMC_ERR_CORRUPT,
                    "%s: no row index: the range is nil and no column is flagged INDEX",
                    seg->st.name);
    RETURN_ERROR_IF(ix->has_range && nindex > 0, &seg->err, SHMC_ERR_CORRUPT,
                    "%s: a range row index and %u INDEX columns", seg->st.name, nindex);
    return SHMC_OK;
}

int shmc_segment_index_check(shmc_segment *seg)
{
    shmc_index *ix = &seg->ix;
    unsigned hv = shmc_ld16(seg->st.base + SHMC_HDR_VERSION);
    RETURN_ERROR_IF((unsigned)ix->version != hv, &seg->err, SHMC_ERR_CORRUPT,
                    "%s: index says format %d, header (byte %d) says %u", seg->st.name, ix->version,
                    SHMC_HDR_VERSION, hv);
    RETURN_ERROR_IF(ix->rows_per_chunk == 0, &seg->err, SHMC_ERR_CORRUPT, "%s: rows_per_chunk is 0",
                    seg->st.name);
    RETURN_ERROR_IF(ix->nrows > (uint64_t)INT64_MAX, &seg->err, SHMC_ERR_CORRUPT,
                    "%s: nrows too large", seg->st.name);
    RETURN_ERROR_IF(ix->has_range && ix->range_step == 0, &seg->err, SHMC_ERR_CORRUPT,
                    "%s: range index step is 0", seg->st.name);
    RETURN_ERROR_IF(ix->version != seg->version, &seg->err, SHMC_ERR_CORRUPT,
                    "%s: index format version %d, header says %d", seg->st.name, ix->version,
                    seg->version);
    seg->nrowgroups = ceil_div(ix->nrows, ix->rows_per_chunk);
    /* Chunks number their row group in 32 bits: more row groups cannot be stored. */
    RETURN_ERROR_IF(seg->nrowgroups > UINT32_MAX, &seg->err, SHMC_ERR_CORRUPT,
                    "%s: %llu rows in row groups of %llu make more than 2^32-1 row groups",
                    seg->st.name, (unsigned long long)ix->nrows,
                    (unsigned long long)ix->rows_per_chunk);
    for (uint32_t c = 0; c < ix->ncolumns; c++) FORWARD_IF_ERROR(column_check(seg, c));
    FORWARD_IF_ERROR(row_index_check(seg));
    uint32_t next = 0;
    uint64_t prev_end = SHMC_HEADER_SIZE;
    for (uint32_t c = 0; c < ix->ncolumns; c++)
        FORWARD_IF_ERROR(column_chunks(seg, c, &next, &prev_end));
    if (next < ix->nchunks)
        return shmc_err_set(&seg->err, SHMC_ERR_CORRUPT,
                            "%s: chunk %u: column %u out of order or out of range", seg->st.name,
                            next, ix->chunks[next].column);
    return SHMC_OK;
}

/* ---- queries ------------------------------------------------------------- */

int shmc_segment_need_open(shmc_segment *seg)
{
    if (!seg) return SHMC_ERR_INVALID_ARG;
    RETURN_ERROR_IF(!seg->is_open, &seg->err, SHMC_ERR_INVALID_ARG, "segment is not open");
    return SHMC_OK;
}

int shmc_segment_info_get(shmc_segment *seg, shmc_segment_info *out)
{
    FORWARD_IF_ERROR(shmc_segment_need_open(seg));
    RETURN_ERROR_IF(!out, &seg->err, SHMC_ERR_INVALID_ARG, "out is NULL");
    memset(out, 0, sizeof *out);
    out->format_version = (uint32_t)seg->ix.version;
    out->flags = seg->hdr_flags;
    out->nrows = seg->ix.nrows;
    out->rows_per_chunk = seg->ix.rows_per_chunk;
    out->nrowgroups = seg->nrowgroups;
    out->ncolumns = seg->ix.ncolumns;
    out->nchunks = seg->ix.nchunks;
    out->total_size = seg->total;
    out->index_offset = seg->index_off;
    out->index_len = seg->index_len;
    out->raw_bytes = seg->raw_bytes;
    out->stored_bytes = seg->stored_bytes;
    out->owner_pid = seg->owner_pid;
    out->owner_start = seg->owner_start;
    out->creator_uid = seg->uid;
    out->created_ns = seg->created_ns;
    out->identity = seg->identity;
    out->owner_state = shmc_owner_state_of(seg->owner_pid, seg->owner_start);
    out->has_range_index = seg->ix.has_range;
    out->range_start = seg->ix.range_start;
    out->range_step = seg->ix.range_step;
    out->range_name = seg->ix.range_name;
    out->columns_name = seg->ix.columns_name;
    out->name = seg->st.name;
    out->backend = seg->st.kind;
    int buffer = seg->st.kind == SHMC_BACKEND_BUFFER;
    out->object_uid = buffer ? UINT32_MAX : seg->st.obj_uid;
    out->object_mode = buffer ? 0 : seg->st.obj_mode;
    out->private_copy = seg->st.private_copy;
    return SHMC_OK;
}

int shmc_segment_data(shmc_segment *seg, const void **ptr, size_t *len)
{
    FORWARD_IF_ERROR(shmc_segment_need_open(seg));
    RETURN_ERROR_IF(!ptr || !len, &seg->err, SHMC_ERR_INVALID_ARG, "ptr or len is NULL");
    *ptr = seg->st.base;
    *len = (size_t)seg->total;
    return SHMC_OK;
}

int shmc_segment_meta(shmc_segment *seg, const void **ptr, size_t *len)
{
    FORWARD_IF_ERROR(shmc_segment_need_open(seg));
    RETURN_ERROR_IF(!ptr || !len, &seg->err, SHMC_ERR_INVALID_ARG, "ptr or len is NULL");
    *ptr = seg->ix.meta;
    *len = seg->ix.meta_len;
    return SHMC_OK;
}

int shmc_segment_index_freq(shmc_segment *seg, const char **freq)
{
    FORWARD_IF_ERROR(shmc_segment_need_open(seg));
    RETURN_ERROR_IF(!freq, &seg->err, SHMC_ERR_INVALID_ARG, "freq is NULL");
    *freq = seg->ix.freq ? seg->ix.freq : "";
    return SHMC_OK;
}

int shmc_segment_column_info(shmc_segment *seg, uint32_t column, shmc_column_info *out)
{
    FORWARD_IF_ERROR(shmc_segment_need_open(seg));
    RETURN_ERROR_IF(!out, &seg->err, SHMC_ERR_INVALID_ARG, "out is NULL");
    RETURN_ERROR_IF(column >= seg->ix.ncolumns, &seg->err, SHMC_ERR_RANGE,
                    "%s: column %u out of range (%u columns)", seg->st.name, column,
                    seg->ix.ncolumns);
    *out = seg->ix.columns[column];
    return SHMC_OK;
}

int shmc_segment_chunk_range(shmc_segment *seg, uint32_t chunk)
{
    FORWARD_IF_ERROR(shmc_segment_need_open(seg));
    RETURN_ERROR_IF(chunk >= seg->ix.nchunks, &seg->err, SHMC_ERR_RANGE,
                    "%s: chunk %u out of range (%u chunks)", seg->st.name, chunk, seg->ix.nchunks);
    return SHMC_OK;
}

int shmc_segment_chunk_info(shmc_segment *seg, uint32_t chunk, shmc_chunk_info *out)
{
    FORWARD_IF_ERROR(shmc_segment_chunk_range(seg, chunk));
    RETURN_ERROR_IF(!out, &seg->err, SHMC_ERR_INVALID_ARG, "out is NULL");
    *out = seg->ix.chunks[chunk];
    return SHMC_OK;
}

int shmc_segment_chunk_find(shmc_segment *seg, uint32_t column, uint64_t rowgroup, int role,
                            uint32_t *chunk)
{
    FORWARD_IF_ERROR(shmc_segment_need_open(seg));
    RETURN_ERROR_IF(!chunk, &seg->err, SHMC_ERR_INVALID_ARG, "chunk is NULL");
    RETURN_ERROR_IF(column >= seg->ix.ncolumns, &seg->err, SHMC_ERR_RANGE,
                    "%s: column %u out of range", seg->st.name, column);
    const shmc_column_info *ci = &seg->ix.columns[column];
    /* Chunks of a column are sorted by (role, row group): binary search. */
    uint32_t lo = ci->first_chunk, hi = ci->first_chunk + ci->nchunks;
    while (lo < hi) {
        uint32_t mid = lo + (hi - lo) / 2;
        const shmc_chunk_info *k = &seg->ix.chunks[mid];
        if (k->role < role || (k->role == role && k->rowgroup < rowgroup)) lo = mid + 1;
        else hi = mid;
    }
    if (lo < ci->first_chunk + ci->nchunks && seg->ix.chunks[lo].role == role &&
        seg->ix.chunks[lo].rowgroup == rowgroup) {
        *chunk = lo;
        return SHMC_OK;
    }
    char cn[128];
    return shmc_err_set(&seg->err, SHMC_ERR_RANGE, "%s: %s has no %s chunk in row group %llu",
                        seg->st.name, col_name(seg, column, cn, sizeof cn), shmc_role_name(role),
                        (unsigned long long)rowgroup);
}
