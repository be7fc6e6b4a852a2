/* The format's tables and helpers (see format.h): which kinds exist, how big
 * their items are and what they are called, which roles each kind stores, and
 * the header checksum. The writer, the reader, the store and the pickle layer
 * all take them from here, so they agree by construction and nobody keeps a
 * second copy of a table. */
#include "format.h"

#include <string.h>

#include "hash.h"

/* ======================================================================== */
/* Kind tables (shared by writer and reader)                                 */
/* ======================================================================== */

static const struct {
    const char *name;
    size_t itemsize;
} kind_table[SHMC_KIND_COUNT_] = {
    [SHMC_KIND_BOOL] = {"bool", 1},           [SHMC_KIND_INT8] = {"int8", 1},
    [SHMC_KIND_INT16] = {"int16", 2},         [SHMC_KIND_INT32] = {"int32", 4},
    [SHMC_KIND_INT64] = {"int64", 8},         [SHMC_KIND_UINT8] = {"uint8", 1},
    [SHMC_KIND_UINT16] = {"uint16", 2},       [SHMC_KIND_UINT32] = {"uint32", 4},
    [SHMC_KIND_UINT64] = {"uint64", 8},       [SHMC_KIND_FLOAT32] = {"float32", 4},
    [SHMC_KIND_FLOAT64] = {"float64", 8},     [SHMC_KIND_DATETIME] = {"datetime", 8},
    [SHMC_KIND_TIMEDELTA] = {"timedelta", 8}, [SHMC_KIND_CATEGORICAL] = {"categorical", 0},
    [SHMC_KIND_STRING] = {"string", 0},       [SHMC_KIND_OBJECT] = {"object", 0},
    [SHMC_KIND_ARROW] = {"arrow", 0},         [SHMC_KIND_PERIOD] = {"period", 8},
    [SHMC_KIND_INTERVAL] = {"interval", 0},   [SHMC_KIND_SPARSE] = {"sparse", 0},
};

static int kind_valid(int kind) { return kind >= SHMC_KIND_BOOL && kind < SHMC_KIND_COUNT_; }

size_t shmc_kind_itemsize(int kind) { return kind_valid(kind) ? kind_table[kind].itemsize : 0; }

int shmc_interval_subtype_ok(int code_kind)
{
    return code_kind >= SHMC_KIND_INT8 && code_kind <= SHMC_KIND_TIMEDELTA;
}

int shmc_sparse_subtype_ok(int code_kind)
{
    return code_kind >= SHMC_KIND_BOOL && code_kind <= SHMC_KIND_FLOAT64;
}

int shmc_period_dtype_ok(const char *dtype)
{
    static const char pre[] = "period[";
    if (!dtype || strncmp(dtype, pre, sizeof pre - 1)) return 0;
    const char *f = dtype + sizeof pre - 1;
    size_t n = strspn(f, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-");
    return n >= 1 && n <= 63 && f[n] == ']' && f[n + 1] == '\0';
}

const char *shmc_kind_name(int kind)
{
    return kind_valid(kind) ? kind_table[kind].name : "unknown";
}

int shmc_kind_is_fixed(int kind) { return kind >= SHMC_KIND_BOOL && kind <= SHMC_KIND_TIMEDELTA; }

#define ROLE(r) (1u << (r))

uint32_t shmc_kind_roles_allowed(int kind)
{
    if (shmc_kind_is_fixed(kind)) return ROLE(SHMC_ROLE_VALUES) | ROLE(SHMC_ROLE_MASK);
    if (kind == SHMC_KIND_CATEGORICAL) return ROLE(SHMC_ROLE_VALUES);
    if (kind == SHMC_KIND_STRING)
        return ROLE(SHMC_ROLE_OFFSETS) | ROLE(SHMC_ROLE_DATA) | ROLE(SHMC_ROLE_VALIDITY);
    if (kind == SHMC_KIND_OBJECT) return ROLE(SHMC_ROLE_PICKLE);
    if (kind == SHMC_KIND_PERIOD) return ROLE(SHMC_ROLE_VALUES);
    if (kind == SHMC_KIND_INTERVAL) return ROLE(SHMC_ROLE_VALUES) | ROLE(SHMC_ROLE_RIGHT);
    if (kind == SHMC_KIND_SPARSE) return ROLE(SHMC_ROLE_VALUES) | ROLE(SHMC_ROLE_INDICES);
    if (kind == SHMC_KIND_ARROW) /* which of them: the column's Arrow layout (arrow_format.h) */
        return ROLE(SHMC_ROLE_VALUES) | ROLE(SHMC_ROLE_OFFSETS) | ROLE(SHMC_ROLE_DATA) |
               ROLE(SHMC_ROLE_VALIDITY);
    return 0;
}

uint32_t shmc_kind_roles_required(int kind)
{
    if (kind == SHMC_KIND_STRING) return ROLE(SHMC_ROLE_OFFSETS) | ROLE(SHMC_ROLE_DATA);
    if (kind == SHMC_KIND_OBJECT) return ROLE(SHMC_ROLE_PICKLE);
    if (kind == SHMC_KIND_ARROW) return 0; /* the column's Arrow layout says */
    if (kind == SHMC_KIND_INTERVAL) return ROLE(SHMC_ROLE_VALUES) | ROLE(SHMC_ROLE_RIGHT);
    if (kind == SHMC_KIND_SPARSE) return ROLE(SHMC_ROLE_VALUES) | ROLE(SHMC_ROLE_INDICES);
    return kind_valid(kind) ? ROLE(SHMC_ROLE_VALUES) : 0;
}

uint32_t shmc_role_typesize(int kind, int code_kind, int role)
{
    int by_code =
        kind == SHMC_KIND_CATEGORICAL || kind == SHMC_KIND_INTERVAL || kind == SHMC_KIND_SPARSE;
    if (role == SHMC_ROLE_VALUES || role == SHMC_ROLE_RIGHT)
        return (uint32_t)shmc_kind_itemsize(by_code ? code_kind : kind);
    if (role == SHMC_ROLE_OFFSETS) return 8;
    if (role == SHMC_ROLE_INDICES) return 4;
    return 1;
}

uint64_t shmc_header_hash(const uint8_t *hdr)
{
    uint8_t tmp[SHMC_HEADER_SIZE];
    memcpy(tmp, hdr, sizeof tmp);
    memset(tmp + SHMC_HDR_HEADER_XXH3, 0, 8);
    memset(tmp + SHMC_HDR_SEALED, 0, 8);
    return shmc_hash(tmp, sizeof tmp);
}

/* Byte of a stored time-zone name that breaks the zone-name rule (FORMAT.md, "tz"), or
 * len when it keeps it. pandas hands "dateutil/<path>" to dateutil, which opens any file
 * it names. The rule: at most 255 bytes, parts of [A-Za-z0-9_+:-] joined by single '/'
 * -- IANA keys ("Europe/Paris"), fixed offsets ("UTC+01:00"), "dateutil/"-prefixed or
 * not. No '.', so no ".." part; no leading '/', so no absolute path. An empty name
 * means no zone (every reader treats it so). */
size_t shmc_zone_name_bad_byte(const char *tz, size_t len)
{
    if (len > 255) return 0;
    for (size_t i = 0; i < len; i++) {
        unsigned char ch = (unsigned char)tz[i];
        int part = (ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') ||
                   (ch >= '0' && ch <= '9') || ch == '_' || ch == '+' || ch == ':' || ch == '-';
        int joint = ch == '/' && i > 0 && i + 1 < len && tz[i - 1] != '/';
        if (!part && !joint) return i;
    }
    return len;
}
