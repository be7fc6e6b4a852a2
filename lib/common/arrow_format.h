/* Internal: the Arrow types a SHMC_KIND_ARROW column may hold (format 2), read from
 * their Arrow C data interface format strings, and the buffers each one stores.
 * lib/FORMAT.md section 3a is the normative list; arrow_format.c is its one table. */
#ifndef SHMC_ARROW_FORMAT_H
#define SHMC_ARROW_FORMAT_H

#include <stddef.h>
#include <stdint.h>

typedef enum shmc_arrow_shape {
    SHMC_ARROW_FIXED = 1, /* validity + values of `width` bytes a row */
    SHMC_ARROW_BITS = 2,  /* validity + values bit-packed (Arrow boolean) */
    SHMC_ARROW_VAR = 3    /* validity + offsets of `width` (4 or 8) bytes + data */
} shmc_arrow_shape;

typedef struct shmc_arrow_layout {
    int shape;        /* shmc_arrow_shape */
    uint32_t width;   /* FIXED: bytes a value; VAR: bytes an offset; BITS: 0 */
    int utf8;         /* VAR: the data is UTF-8 ("u", "U") */
    int integer;      /* FIXED signed/unsigned integer: may index a dictionary */
    const char *name; /* "int64", "timestamp", "decimal128", ... */
} shmc_arrow_layout;

/* 0 and *out when `fmt` is a type stored natively, else -1 and *why: "a nested Arrow
 * type (list, struct, map, union) is stored as an opaque pickle" or "not an Arrow
 * format this version stores natively". fmt may be NULL (-1). */
int shmc_arrow_layout_of(const char *fmt, shmc_arrow_layout *out, const char **why);
/* Roles (bit 1 << role) the layout may store, and those every row group must have. */
uint32_t shmc_arrow_roles_allowed(const shmc_arrow_layout *l);
uint32_t shmc_arrow_roles_required(const shmc_arrow_layout *l);
/* typesize of a chunk of `role` (shuffle element size): width for values/offsets, else 1. */
uint32_t shmc_arrow_typesize(const shmc_arrow_layout *l, int role);
/* raw_len of `role` over n rows: 1 with *want set; 0 when free (data); -1 when the size
 * overflows 64 bits. */
int shmc_arrow_raw_len(const shmc_arrow_layout *l, int role, uint64_t n, uint64_t *want);
/* Offsets chunk of a VAR column over n rows (n + 1 offsets of `width` bytes, any
 * alignment): first 0, non-decreasing, last == data_len. 0 when good, else -1 and *bad
 * the offending offset's index. */
int shmc_arrow_offsets_check(const uint8_t *raw, uint32_t width, uint64_t n, uint64_t data_len,
                             uint64_t *bad);

/* pyarrow's name of a format without parameters: str(type), what pyarrow pickles a type
 * as and pyarrow.type_for_alias takes ("int64", "halffloat", "date32[day]",
 * "duration[ms]", "large_string", ...); NULL for any other format (timestamps,
 * decimals, fixed-size binary are pickled through their own constructors). */
const char *shmc_arrow_alias(const char *fmt);
/* The format of a type_for_alias name (len bytes, not NUL-terminated) when it is one of
 * the names above or a synonym pyarrow also takes ("utf8", "float64", "boolean", "i8"),
 * else NULL. The two directions read the one table in arrow_format.c. */
const char *shmc_arrow_format_of_alias(const char *alias, size_t len);

/* What Arrow's full validation asks of each value beyond its buffers' sizes, which
 * pyarrow.Array.from_buffers does not check (pandas then shows a time32[s] of 432000 as
 * 00:00:00, a decimal past its precision as more digits than its type has): a time32/
 * time64 in [0, one day), a date64 a whole number of days, a decimal below 10^precision
 * in magnitude. Other formats have no rule. */
enum {
    SHMC_ARROW_RULE_NONE = 0,
    SHMC_ARROW_RULE_TIME_OF_DAY,
    SHMC_ARROW_RULE_WHOLE_DAYS,
    SHMC_ARROW_RULE_DECIMAL
};
typedef struct shmc_arrow_rule {
    int kind;          /* SHMC_ARROW_RULE_* */
    int64_t per_day;   /* TIME_OF_DAY, WHOLE_DAYS: the format's units in one day */
    uint64_t pow10[4]; /* DECIMAL: 10^precision, little-endian 64-bit limbs */
} shmc_arrow_rule;
/* The rule of `fmt`, a format layout_of accepted. */
void shmc_arrow_rule_of(const char *fmt, shmc_arrow_rule *r);
/* 1 when the value at v (width bytes, little-endian: the layout's width) keeps rule r. */
int shmc_arrow_value_ok(const shmc_arrow_rule *r, uint32_t width, const uint8_t *v);
/* "a time of day within one day", ...: for messages. */
const char *shmc_arrow_rule_name(const shmc_arrow_rule *r);

#endif
