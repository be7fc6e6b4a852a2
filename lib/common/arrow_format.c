/* The Arrow types shmchunk stores natively (SHMC_KIND_ARROW, segment format 2),
 * keyed by their Arrow C data interface format strings: one table says which
 * formats are known and what buffers each has, and the writer, the reader's open
 * checks, verify and `shmchunk info` all ask it. Parametrised formats (timestamp
 * zone, decimal precision/scale, fixed-size binary width) are checked by hand. */
#include "arrow_format.h"

#include "format.h"

#include <stdlib.h>
#include <string.h>

#include "shmchunk.h"

#define ROLE(r) (1u << (r))

/* Formats without parameters. */
static const struct {
    const char *fmt;
    shmc_arrow_layout l;
    const char *alias; /* pyarrow's str(type): what pyarrow pickles and type_for_alias takes */
} fixed_formats[] = {
    {"b", {SHMC_ARROW_BITS, 0, 0, 0, "bool"}, "bool"},
    {"c", {SHMC_ARROW_FIXED, 1, 0, 1, "int8"}, "int8"},
    {"C", {SHMC_ARROW_FIXED, 1, 0, 1, "uint8"}, "uint8"},
    {"s", {SHMC_ARROW_FIXED, 2, 0, 1, "int16"}, "int16"},
    {"S", {SHMC_ARROW_FIXED, 2, 0, 1, "uint16"}, "uint16"},
    {"i", {SHMC_ARROW_FIXED, 4, 0, 1, "int32"}, "int32"},
    {"I", {SHMC_ARROW_FIXED, 4, 0, 1, "uint32"}, "uint32"},
    {"l", {SHMC_ARROW_FIXED, 8, 0, 1, "int64"}, "int64"},
    {"L", {SHMC_ARROW_FIXED, 8, 0, 1, "uint64"}, "uint64"},
    {"e", {SHMC_ARROW_FIXED, 2, 0, 0, "float16"}, "halffloat"},
    {"f", {SHMC_ARROW_FIXED, 4, 0, 0, "float32"}, "float"},
    {"g", {SHMC_ARROW_FIXED, 8, 0, 0, "float64"}, "double"},
    {"u", {SHMC_ARROW_VAR, 4, 1, 0, "string"}, "string"},
    {"U", {SHMC_ARROW_VAR, 8, 1, 0, "large_string"}, "large_string"},
    {"z", {SHMC_ARROW_VAR, 4, 0, 0, "binary"}, "binary"},
    {"Z", {SHMC_ARROW_VAR, 8, 0, 0, "large_binary"}, "large_binary"},
    {"tdD", {SHMC_ARROW_FIXED, 4, 0, 0, "date32"}, "date32[day]"},
    {"tdm", {SHMC_ARROW_FIXED, 8, 0, 0, "date64"}, "date64[ms]"},
    {"tts", {SHMC_ARROW_FIXED, 4, 0, 0, "time32"}, "time32[s]"},
    {"ttm", {SHMC_ARROW_FIXED, 4, 0, 0, "time32"}, "time32[ms]"},
    {"ttu", {SHMC_ARROW_FIXED, 8, 0, 0, "time64"}, "time64[us]"},
    {"ttn", {SHMC_ARROW_FIXED, 8, 0, 0, "time64"}, "time64[ns]"},
    {"tDs", {SHMC_ARROW_FIXED, 8, 0, 0, "duration"}, "duration[s]"},
    {"tDm", {SHMC_ARROW_FIXED, 8, 0, 0, "duration"}, "duration[ms]"},
    {"tDu", {SHMC_ARROW_FIXED, 8, 0, 0, "duration"}, "duration[us]"},
    {"tDn", {SHMC_ARROW_FIXED, 8, 0, 0, "duration"}, "duration[ns]"},
};

/* Other names pyarrow.type_for_alias takes for the formats above. */
static const struct {
    const char *alias, *fmt;
} alias_synonyms[] = {
    {"boolean", "b"},  {"i1", "c"},      {"u1", "C"},        {"i2", "s"},         {"u2", "S"},
    {"i4", "i"},       {"u4", "I"},      {"i8", "l"},        {"u8", "L"},         {"float16", "e"},
    {"f2", "e"},       {"float32", "f"}, {"f4", "f"},        {"float64", "g"},    {"f8", "g"},
    {"str", "u"},      {"utf8", "u"},    {"large_str", "U"}, {"large_utf8", "U"}, {"date32", "tdD"},
    {"date64", "tdm"},
};

/* Longest accepted format string (a timestamp's zone name is at most 255 bytes). */
#define ARROW_FORMAT_MAX 300

/* Decimal digits at *p, at most max_digits of them, into *v; advances *p. */
static int parse_uint(const char **p, int max_digits, unsigned long *v)
{
    const char *s = *p;
    int n = 0;
    *v = 0;
    while (*s >= '0' && *s <= '9' && n < max_digits)
        *v = *v * 10 + (unsigned long)(*s++ - '0'), n++;
    if (n == 0 || (*s >= '0' && *s <= '9')) return -1;
    *p = s;
    return 0;
}

/* "d:P,S" or "d:P,S,BITS" (BITS 128 or 256), 1 <= P <= 38 or 76, |S| < 100. */
static int decimal_layout(const char *s, shmc_arrow_layout *out)
{
    unsigned long prec = 0, scale = 0, bits = 128;
    if (parse_uint(&s, 2, &prec) || *s++ != ',') return -1;
    if (*s == '-') s++;
    if (parse_uint(&s, 2, &scale)) return -1;
    if (*s == ',' && (s++, parse_uint(&s, 3, &bits))) return -1;
    if (*s || (bits != 128 && bits != 256) || prec < 1 || prec > (bits == 128 ? 38u : 76u))
        return -1;
    *out = (shmc_arrow_layout){SHMC_ARROW_FIXED, (uint32_t)bits / 8, 0, 0,
                               bits == 128 ? "decimal128" : "decimal256"};
    return 0;
}

/* "w:N", 1 <= N <= 2^20. */
static int fixed_binary_layout(const char *s, shmc_arrow_layout *out)
{
    unsigned long n = 0;
    if (parse_uint(&s, 7, &n) || *s || n < 1 || n > (1ul << 20)) return -1;
    *out = (shmc_arrow_layout){SHMC_ARROW_FIXED, (uint32_t)n, 0, 0, "fixed_size_binary"};
    return 0;
}

/* "ts?:ZONE" with ? in s/m/u/n; ZONE empty (naive) or a name that keeps the
 * zone-name rule of numpy time zones (format.c): pandas hands it to zone lookups. */
static int timestamp_layout(const char *s, shmc_arrow_layout *out)
{
    if (!s[0] || !strchr("smun", s[0]) || s[1] != ':') return -1;
    size_t len = strlen(s + 2);
    if (shmc_zone_name_bad_byte(s + 2, len) != len) return -1;
    *out = (shmc_arrow_layout){SHMC_ARROW_FIXED, 8, 0, 0, "timestamp"};
    return 0;
}

int shmc_arrow_layout_of(const char *fmt, shmc_arrow_layout *out, const char **why)
{
    static const char *nested =
        "a nested Arrow type (list, struct, map, union) is stored as an opaque pickle";
    const char *unknown = "not an Arrow format this version stores natively";
    *why = unknown;
    if (!fmt || strnlen(fmt, ARROW_FORMAT_MAX + 1) > ARROW_FORMAT_MAX) return -1;
    for (size_t i = 0; i < sizeof fixed_formats / sizeof fixed_formats[0]; i++)
        if (strcmp(fmt, fixed_formats[i].fmt) == 0) {
            *out = fixed_formats[i].l;
            return 0;
        }
    int rc = -1;
    if (strncmp(fmt, "d:", 2) == 0) rc = decimal_layout(fmt + 2, out);
    else if (strncmp(fmt, "w:", 2) == 0) rc = fixed_binary_layout(fmt + 2, out);
    else if (strncmp(fmt, "ts", 2) == 0) rc = timestamp_layout(fmt + 2, out);
    else if (fmt[0] == '+') *why = nested;
    return rc;
}

const char *shmc_arrow_name(const char *format)
{
    shmc_arrow_layout l;
    const char *why;
    return shmc_arrow_layout_of(format, &l, &why) == 0 ? l.name : NULL;
}

uint32_t shmc_arrow_roles_allowed(const shmc_arrow_layout *l)
{
    return shmc_arrow_roles_required(l) | ROLE(SHMC_ROLE_VALIDITY);
}

uint32_t shmc_arrow_roles_required(const shmc_arrow_layout *l)
{
    if (l->shape == SHMC_ARROW_VAR) return ROLE(SHMC_ROLE_OFFSETS) | ROLE(SHMC_ROLE_DATA);
    return ROLE(SHMC_ROLE_VALUES);
}

uint32_t shmc_arrow_typesize(const shmc_arrow_layout *l, int role)
{
    if (role == SHMC_ROLE_VALUES && l->shape == SHMC_ARROW_FIXED) return l->width;
    if (role == SHMC_ROLE_OFFSETS) return l->width;
    return 1;
}

int shmc_arrow_raw_len(const shmc_arrow_layout *l, int role, uint64_t n, uint64_t *want)
{
    uint64_t count = n;
    switch (role) {
    case SHMC_ROLE_VALIDITY: *want = n / 8 + (n % 8 != 0); return 1;
    case SHMC_ROLE_VALUES:
        if (l->shape == SHMC_ARROW_BITS) {
            *want = n / 8 + (n % 8 != 0);
            return 1;
        }
        break;
    case SHMC_ROLE_OFFSETS:
        if (__builtin_add_overflow(n, 1, &count)) return -1;
        break;
    default: return 0;
    }
    return __builtin_mul_overflow(count, (uint64_t)l->width, want) ? -1 : 1;
}

static uint64_t load_offset(const uint8_t *p, uint32_t width)
{
    if (width == 4) {
        int32_t v;
        memcpy(&v, p, 4);
        return v < 0 ? UINT64_MAX : (uint64_t)v;
    }
    int64_t v;
    memcpy(&v, p, 8);
    return v < 0 ? UINT64_MAX : (uint64_t)v;
}

int shmc_arrow_offsets_check(const uint8_t *raw, uint32_t width, uint64_t n, uint64_t data_len,
                             uint64_t *bad)
{
    uint64_t prev = 0;
    for (uint64_t i = 0; i <= n; i++) {
        uint64_t v = load_offset(raw + (size_t)i * width, width);
        if ((i == 0 && v != 0) || v < prev || v > data_len || (i == n && v != data_len)) {
            *bad = i;
            return -1;
        }
        prev = v;
    }
    return 0;
}

const char *shmc_arrow_alias(const char *fmt)
{
    for (size_t i = 0; fmt && i < sizeof fixed_formats / sizeof fixed_formats[0]; i++)
        if (strcmp(fmt, fixed_formats[i].fmt) == 0) return fixed_formats[i].alias;
    return NULL;
}

static int alias_eq(const char *name, const char *alias, size_t len)
{
    return strlen(name) == len && memcmp(name, alias, len) == 0;
}

const char *shmc_arrow_format_of_alias(const char *alias, size_t len)
{
    for (size_t i = 0; alias && i < sizeof fixed_formats / sizeof fixed_formats[0]; i++)
        if (alias_eq(fixed_formats[i].alias, alias, len)) return fixed_formats[i].fmt;
    for (size_t i = 0; alias && i < sizeof alias_synonyms / sizeof alias_synonyms[0]; i++)
        if (alias_eq(alias_synonyms[i].alias, alias, len)) return alias_synonyms[i].fmt;
    return NULL;
}

/* ---- value rules ---------------------------------------------------------- */
/* Formats of the table above whose values Arrow's full validation bounds by the day. */
static const struct {
    const char *fmt;
    int rule;        /* SHMC_ARROW_RULE_* */
    int64_t per_day; /* the format's units in one day */
} day_rules[] = {
    {"tdm", SHMC_ARROW_RULE_WHOLE_DAYS, 86400000},
    {"tts", SHMC_ARROW_RULE_TIME_OF_DAY, 86400},
    {"ttm", SHMC_ARROW_RULE_TIME_OF_DAY, 86400000},
    {"ttu", SHMC_ARROW_RULE_TIME_OF_DAY, 86400000000LL},
    {"ttn", SHMC_ARROW_RULE_TIME_OF_DAY, 86400000000000LL},
};

static void limbs_mul10(uint64_t x[4])
{
    unsigned __int128 carry = 0;
    for (int i = 0; i < 4; i++) {
        unsigned __int128 t = (unsigned __int128)x[i] * 10 + carry;
        x[i] = (uint64_t)t;
        carry = t >> 64;
    }
}

void shmc_arrow_rule_of(const char *fmt, shmc_arrow_rule *r)
{
    memset(r, 0, sizeof *r);
    for (size_t i = 0; fmt && i < sizeof day_rules / sizeof day_rules[0]; i++)
        if (strcmp(fmt, day_rules[i].fmt) == 0) {
            r->kind = day_rules[i].rule;
            r->per_day = day_rules[i].per_day;
            return;
        }
    if (!fmt || strncmp(fmt, "d:", 2) != 0) return;
    unsigned long prec = strtoul(fmt + 2, NULL, 10); /* 1..76: layout_of checked it */
    r->kind = SHMC_ARROW_RULE_DECIMAL;
    r->pow10[0] = 1;
    for (unsigned long k = 0; k < prec && k < 76; k++) limbs_mul10(r->pow10);
}

/* |v| < 10^precision, v little-endian two's complement of width (16 or 32) bytes. */
static int decimal_fits(const uint64_t pow10[4], uint32_t width, const uint8_t *v)
{
    uint64_t x[4] = {0};
    size_t n = width / 8;
    memcpy(x, v, n * 8);
    if (x[n - 1] >> 63) { /* negative: negate over its n limbs (the minimum becomes 2^(64n-1)) */
        unsigned __int128 c = 1;
        for (size_t i = 0; i < n; i++) {
            c += (uint64_t)~x[i];
            x[i] = (uint64_t)c;
            c >>= 64;
        }
    }
    for (size_t i = 4; i-- > 0;)
        if (x[i] != pow10[i]) return x[i] < pow10[i];
    return 0; /* 10^precision itself has one digit too many */
}

int shmc_arrow_value_ok(const shmc_arrow_rule *r, uint32_t width, const uint8_t *v)
{
    int64_t x = 0;
    if (r->kind == SHMC_ARROW_RULE_DECIMAL)
        return width >= 16 && width <= 32 && decimal_fits(r->pow10, width, v);
    if (r->kind == SHMC_ARROW_RULE_NONE) return 1;
    if (width == 4) {
        int32_t y;
        memcpy(&y, v, 4);
        x = y;
    } else memcpy(&x, v, 8);
    if (r->kind == SHMC_ARROW_RULE_TIME_OF_DAY) return x >= 0 && x < r->per_day;
    return x % r->per_day == 0;
}

const char *shmc_arrow_rule_name(const shmc_arrow_rule *r)
{
    switch (r->kind) {
    case SHMC_ARROW_RULE_TIME_OF_DAY: return "a time of day within one day";
    case SHMC_ARROW_RULE_WHOLE_DAYS: return "a whole number of days";
    case SHMC_ARROW_RULE_DECIMAL: return "a decimal within its precision";
    default: return "any value";
    }
}
