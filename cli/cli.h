/* Internal to the shmchunk CLI: exit codes, diagnostics, option parsing helpers,
 * and the pieces each verb shares (progress bar, atomic output, JSON writer).
 * The CLI uses only the public library header. */
#ifndef SHMC_CLI_H
#define SHMC_CLI_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "shmchunk.h"

enum cli_exit { CLI_OK = 0, CLI_FAIL = 1, CLI_USAGE = 2 };

/* Return a failing shmc status from the enclosing function. */
#define FORWARD_STATUS(expr)                                                                       \
    do {                                                                                           \
        int cli_fwd_st_ = (expr);                                                                  \
        if (cli_fwd_st_ != SHMC_OK) return cli_fwd_st_;                                            \
    } while (0)

/* -1 quiet, 0 normal, 1+ verbose; set by -q / -v anywhere on the command line. */
extern int cli_verbosity;

/* "shmchunk: VERB: FILE: detail" on stderr (FILE may be NULL); returns CLI_FAIL. */
int cli_fail(const char *verb, const char *file, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* "shmchunk: VERB: detail" plus a hint to --help; returns CLI_USAGE. */
int cli_usage(const char *verb, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Detail text for a failed library call: the handle's message, else the status name. */
const char *cli_detail(const char *errmsg, int status);

/* Print bytes that came from a segment or a pickle (labels, names) so that control
 * characters cannot drive the terminal: they are shown as \xNN. */
void cli_put_safe(FILE *f, const char *s, size_t len);
/* Same, as a NUL-terminated string; returns a static buffer (truncated to ~1 KiB). */
const char *cli_safe(const char *s, size_t len);

/* Option parsing shared by the verbs (getopt_long underneath). */
struct option;
typedef struct cli_parse {
    const char *verb;
    const char *shortopts; /* always includes "hqv" handling */
    const struct option *longopts;
} cli_parse;
/* Next option as getopt_long returns it; handles -h/--help (prints usage, *done = CLI_OK),
 * -q/-v (adjust cli_verbosity), unknown options and missing arguments (*done = CLI_USAGE).
 * Returns -1 at the end or when *done was set. */
int cli_next_opt(const cli_parse *p, int argc, char **argv, const char **arg, int *done);
/* Reset getopt before a verb parses its arguments. */
void cli_reset_opts(void);

int cli_parse_u64(const char *s, uint64_t *out); /* decimal, no sign, no junk */
int cli_parse_int(const char *s, long lo, long hi, long *out);

/* Usage text of a verb (for --help and errors). */
void cli_print_usage(FILE *f, const char *verb);

/* "1.5 MiB" style size into buf. */
const char *cli_human_size(uint64_t bytes, char *buf, size_t cap);
/* Text of a label for output and for matching --columns: str as is, int as decimal,
 * None as "None", a pickled label as "<pickled label>". Returns bytes and length. */
const char *cli_label_text(const shmc_label *label, char *buf, size_t cap, size_t *len);

/* ---- verbs ---- */
int cmd_pack(int argc, char **argv);
int cmd_unpack(int argc, char **argv);
int cmd_info(int argc, char **argv);
int cmd_verify(int argc, char **argv);
int cmd_ls(int argc, char **argv);
int cmd_rm(int argc, char **argv);
int cmd_gc(int argc, char **argv);

/* ---- progress.c: a bar on stderr, only when stderr is a terminal ---- */
typedef struct cli_progress cli_progress;
cli_progress *cli_progress_start(const char *what); /* NULL when no bar is wanted */
/* Matches shmc_write_opts.progress; may be called from several threads. */
void cli_progress_update(void *progress, uint64_t done, uint64_t total);
void cli_progress_finish(cli_progress *p); /* NULL-tolerant; clears the line */

/* ---- output.c: write to a temporary name next to the target, then rename ---- */
/* Write len bytes to path ("-" = stdout) so that the file either appears whole or
 * not at all. Returns 0, or -1 with a message in err. */
int cli_output_write(const char *path, const void *bytes, size_t len, char *err, size_t errcap);
/* Write all of len bytes to fd, retrying short writes and EINTR. */
int cli_write_all(int fd, const void *bytes, size_t len);

/* ---- json.c: a tiny streaming JSON writer ---- */
typedef struct cli_json {
    FILE *f;
    int depth;
    int need_comma[32]; /* per nesting level: something was already written */
    int after_key;      /* the next value follows "key": */
} cli_json;
void cli_json_init(cli_json *j, FILE *f);
void cli_json_begin_object(cli_json *j);
void cli_json_end_object(cli_json *j);
void cli_json_begin_array(cli_json *j);
void cli_json_end_array(cli_json *j);
void cli_json_key(cli_json *j, const char *key);
void cli_json_string(cli_json *j, const char *s, size_t len); /* invalid UTF-8 -> U+FFFD */
void cli_json_cstr(cli_json *j, const char *s);               /* NULL -> null */
void cli_json_u64(cli_json *j, uint64_t v);
void cli_json_i64(cli_json *j, int64_t v);
void cli_json_double(cli_json *j, double v);
void cli_json_bool(cli_json *j, int v);
void cli_json_null(cli_json *j);
void cli_json_finish(cli_json *j); /* final newline */
/* "key": value, the pair every --json object is made of. */
void cli_json_field_cstr(cli_json *j, const char *key, const char *s);
void cli_json_field_u64(cli_json *j, const char *key, uint64_t v);
void cli_json_field_i64(cli_json *j, const char *key, int64_t v);
void cli_json_field_double(cli_json *j, const char *key, double v);
void cli_json_field_bool(cli_json *j, const char *key, int v);

#endif
