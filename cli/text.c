/* Text helpers shared by the verbs: names of library enums, sizes, labels, and
 * terminal-safe printing of bytes that come from untrusted segments. */
#include "cli.h"

#include <inttypes.h>
#include <string.h>

void cli_put_safe(FILE *f, const char *s, size_t len)
{
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        /* Control bytes (and DEL) could move the cursor or retitle the terminal. */
        if (c < 0x20 || c == 0x7f) fprintf(f, "\\x%02x", c);
        else fputc(c, f);
    }
}

const char *cli_safe(const char *s, size_t len)
{
    static char buf[1100];
    size_t o = 0;
    for (size_t i = 0; i < len && o + 5 < 1024; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c < 0x20 || c == 0x7f) o += (size_t)snprintf(buf + o, sizeof buf - o, "\\x%02x", c);
        else buf[o++] = (char)c;
    }
    buf[o] = '\0';
    return buf;
}

const char *cli_human_size(uint64_t bytes, char *buf, size_t cap)
{
    static const char *const units[] = {"B", "KiB", "MiB", "GiB", "TiB", "PiB"};
    double v = (double)bytes;
    size_t u = 0;
    while (v >= 1024.0 && u + 1 < sizeof units / sizeof units[0]) {
        v /= 1024.0;
        u++;
    }
    if (u == 0) snprintf(buf, cap, "%" PRIu64 " B", bytes);
    else snprintf(buf, cap, "%.1f %s", v, units[u]);
    return buf;
}

const char *cli_label_text(const shmc_label *label, char *buf, size_t cap, size_t *len)
{
    switch (label->type) {
    case SHMC_LABEL_STR: *len = label->str ? label->len : 0; return label->str ? label->str : "";
    case SHMC_LABEL_INT: snprintf(buf, cap, "%" PRId64, label->i); break;
    case SHMC_LABEL_NONE: snprintf(buf, cap, "None"); break;
    default: snprintf(buf, cap, "<pickled label>"); break;
    }
    *len = strlen(buf);
    return buf;
}
