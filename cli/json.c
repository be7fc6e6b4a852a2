/* A tiny streaming JSON writer for --json. Strings from segments are untrusted
 * bytes: they are escaped, and invalid UTF-8 becomes U+FFFD so the output always
 * parses. */
#include "cli.h"

#include <inttypes.h>
#include <math.h>
#include <string.h>

void cli_json_init(cli_json *j, FILE *f)
{
    memset(j, 0, sizeof *j);
    j->f = f;
}

/* Separator before a value or key at the current level. */
static void sep(cli_json *j)
{
    if (j->after_key) {
        j->after_key = 0;
        return;
    }
    if (j->need_comma[j->depth]) fputc(',', j->f);
    j->need_comma[j->depth] = 1;
}

static void open_level(cli_json *j, char c)
{
    sep(j);
    fputc(c, j->f);
    if (j->depth + 1 < (int)(sizeof j->need_comma / sizeof j->need_comma[0])) j->depth++;
    j->need_comma[j->depth] = 0;
}

static void close_level(cli_json *j, char c)
{
    if (j->depth > 0) j->depth--;
    fputc(c, j->f);
}

void cli_json_begin_object(cli_json *j) { open_level(j, '{'); }
void cli_json_end_object(cli_json *j) { close_level(j, '}'); }
void cli_json_begin_array(cli_json *j) { open_level(j, '['); }
void cli_json_end_array(cli_json *j) { close_level(j, ']'); }

/* Length of the valid UTF-8 sequence at s (1..4), or 0 if invalid. */
static size_t utf8_len(const unsigned char *s, size_t n)
{
    unsigned char c = s[0];
    size_t need;
    uint32_t min, cp;
    if (c < 0x80) return 1;
    if ((c & 0xe0) == 0xc0) {
        need = 2;
        min = 0x80;
        cp = c & 0x1fu;
    } else if ((c & 0xf0) == 0xe0) {
        need = 3;
        min = 0x800;
        cp = c & 0x0fu;
    } else if ((c & 0xf8) == 0xf0) {
        need = 4;
        min = 0x10000;
        cp = c & 0x07u;
    } else return 0;
    if (n < need) return 0;
    for (size_t i = 1; i < need; i++) {
        if ((s[i] & 0xc0) != 0x80) return 0;
        cp = (cp << 6) | (s[i] & 0x3fu);
    }
    if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return 0;
    return need;
}

static void put_escaped(FILE *f, const unsigned char *s, size_t len)
{
    fputc('"', f);
    for (size_t i = 0; i < len;) {
        unsigned char c = s[i];
        if (c == '"' || c == '\\') {
            fputc('\\', f);
            fputc(c, f);
            i++;
            continue;
        }
        if (c < 0x20 || c == 0x7f) {
            fprintf(f, "\\u%04x", c);
            i++;
            continue;
        }
        size_t n = utf8_len(s + i, len - i);
        if (n == 0) {
            fputs("\\ufffd", f);
            i++;
            continue;
        }
        fwrite(s + i, 1, n, f);
        i += n;
    }
    fputc('"', f);
}

void cli_json_key(cli_json *j, const char *key)
{
    sep(j);
    put_escaped(j->f, (const unsigned char *)key, strlen(key));
    fputc(':', j->f);
    j->after_key = 1;
}

void cli_json_string(cli_json *j, const char *s, size_t len)
{
    sep(j);
    put_escaped(j->f, (const unsigned char *)(s ? s : ""), s ? len : 0);
}

void cli_json_cstr(cli_json *j, const char *s)
{
    if (!s) {
        cli_json_null(j);
        return;
    }
    cli_json_string(j, s, strlen(s));
}

void cli_json_u64(cli_json *j, uint64_t v)
{
    sep(j);
    fprintf(j->f, "%" PRIu64, v);
}
void cli_json_i64(cli_json *j, int64_t v)
{
    sep(j);
    fprintf(j->f, "%" PRId64, v);
}
void cli_json_bool(cli_json *j, int v)
{
    sep(j);
    fputs(v ? "true" : "false", j->f);
}
void cli_json_null(cli_json *j)
{
    sep(j);
    fputs("null", j->f);
}

void cli_json_double(cli_json *j, double v)
{
    sep(j);
    /* JSON has no NaN or Infinity. */
    if (isfinite(v)) fprintf(j->f, "%.6g", v);
    else fputs("null", j->f);
}

void cli_json_finish(cli_json *j) { fputc('\n', j->f); }

void cli_json_field_cstr(cli_json *j, const char *key, const char *s)
{
    cli_json_key(j, key);
    cli_json_cstr(j, s);
}

void cli_json_field_u64(cli_json *j, const char *key, uint64_t v)
{
    cli_json_key(j, key);
    cli_json_u64(j, v);
}

void cli_json_field_i64(cli_json *j, const char *key, int64_t v)
{
    cli_json_key(j, key);
    cli_json_i64(j, v);
}

void cli_json_field_double(cli_json *j, const char *key, double v)
{
    cli_json_key(j, key);
    cli_json_double(j, v);
}

void cli_json_field_bool(cli_json *j, const char *key, int v)
{
    cli_json_key(j, key);
    cli_json_bool(j, v);
}
