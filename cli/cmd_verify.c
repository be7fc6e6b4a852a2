/* shmchunk verify SRC: every checksum and structure of a segment.
 * Bad chunks are listed on stdout, one line each (like `sha256sum -c` lists
 * FAILED files); the one-line verdict for the exit status goes to stderr. */
#include "cli.h"

#include <getopt.h>
#include <inttypes.h>
#include <string.h>

typedef struct verify_ctx {
    const char *src;
    shmc_segment *seg;
    uint32_t nbad;
} verify_ctx;

static void put_label(const shmc_label *label)
{
    char buf[32];
    size_t len;
    const char *text = cli_label_text(label, buf, sizeof buf, &len);
    if (label->type == SHMC_LABEL_STR) putchar('\'');
    cli_put_safe(stdout, text, len);
    if (label->type == SHMC_LABEL_STR) putchar('\'');
}

/* "SRC: chunk 12 (column 'price', row group 3, values): chunk checksum mismatch at byte ..." */
static void on_bad_chunk(void *user, uint32_t chunk, int status, const char *msg)
{
    verify_ctx *v = user;
    v->nbad++;
    cli_put_safe(stdout, v->src, strlen(v->src));
    printf(": chunk %" PRIu32, chunk);
    shmc_chunk_info k;
    shmc_column_info ci;
    int have = shmc_segment_chunk_info(v->seg, chunk, &k) == SHMC_OK;
    if (have && shmc_segment_column_info(v->seg, k.column, &ci) == SHMC_OK) {
        printf(" (column ");
        put_label(&ci.label);
        printf(", row group %" PRIu32 ", %s)", k.rowgroup, shmc_role_name(k.role));
    }
    printf(": %s", shmc_strerror(status));
    if (have && status == SHMC_ERR_CHUNK_CHECKSUM) {
        /* The index knows exactly where the damage is; that beats re-wording msg. */
        printf(" at byte %" PRIu64 " (%" PRIu64 " bytes, expected xxh3 %016" PRIx64 ")\n", k.offset,
               k.stored_len, k.xxh3);
        return;
    }
    if (msg && *msg) {
        size_t slen = strlen(v->src);
        if (strncmp(msg, v->src, slen) == 0 && msg[slen] == ':' && msg[slen + 1] == ' ')
            msg += slen + 2;
        fputs(": ", stdout);
        cli_put_safe(stdout, msg, strlen(msg));
    }
    putchar('\n');
}

int cmd_verify(int argc, char **argv)
{
    static const struct option longopts[] = {{"help", no_argument, NULL, 'h'},
                                             {"quiet", no_argument, NULL, 'q'},
                                             {"verbose", no_argument, NULL, 'v'},
                                             {NULL, 0, NULL, 0}};
    const cli_parse p = {"verify", "", longopts};
    const char *arg;
    int done = -1;
    while (cli_next_opt(&p, argc, argv, &arg, &done) != -1) {}
    if (done >= 0) return done;
    if (argc - optind != 1)
        return cli_usage("verify", "needs exactly one SRC (got %d)", argc - optind);
    verify_ctx v = {argv[optind], NULL, 0};
    shmc_segment_info info;
    int st = shmc_segment_create(&v.seg);
    if (st == SHMC_OK) st = shmc_segment_open(v.seg, v.src, 0);
    if (st == SHMC_OK) st = shmc_segment_info_get(v.seg, &info);
    if (st != SHMC_OK) {
        int rc = cli_fail("verify", v.src, "%s",
                          cli_detail(v.seg ? shmc_segment_errmsg(v.seg) : "", st));
        shmc_segment_free(v.seg);
        return rc;
    }
    fflush(stdout);
    st = shmc_segment_verify(v.seg, on_bad_chunk, &v);
    fflush(stdout);
    int rc = CLI_OK;
    if (st != SHMC_OK && v.nbad > 0)
        rc = cli_fail("verify", v.src, "%" PRIu32 " of %" PRIu32 " chunks bad", v.nbad,
                      info.nchunks);
    else if (st != SHMC_OK)
        rc = cli_fail("verify", v.src, "%s", cli_detail(shmc_segment_errmsg(v.seg), st));
    else if (cli_verbosity >= 0) printf("ok: %" PRIu32 " chunks verified\n", info.nchunks);
    shmc_segment_free(v.seg);
    return rc;
}
