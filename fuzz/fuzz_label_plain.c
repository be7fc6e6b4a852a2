/* Fuzz target: shmc_pickle_plain, the gate every pickled label and df.attrs blob
 * passes before Python loads it (issue 12: memory corruption through BUILD /
 * SETITEM on numpy objects, exponential expansion through memo references).
 * With default and with tight limits it must never crash or hang, refuse with a
 * message, keep its output within the limits, and whatever it accepts must parse
 * back, with the restricted reader, into plain values only (no global, no call)
 * that are no bigger than the limits allowed -- and re-encode to the same bytes. */
#include "fuzz_common.h"
#include "pickle_read.h"

typedef struct tally {
    uint64_t nodes;
    int plain;
} tally;

/* Count the output's values as a tree; any global or call makes it not plain. The
 * output has no memo references (nothing shared), so this walk is the tree. */
static void walk(const shmc_pk_value *v, uint32_t depth, tally *t)
{
    t->nodes++;
    if (depth > 1100 || t->nodes > ((uint64_t)1 << 24)) {
        t->plain = 0;
        return;
    }
    switch (v->type) {
    case SHMC_PK_GLOBAL:
    case SHMC_PK_REDUCE:
    case SHMC_PK_NEWOBJ: t->plain = 0; return;
    case SHMC_PK_TUPLE:
    case SHMC_PK_LIST:
    case SHMC_PK_DICT:
    case SHMC_PK_SET:
    case SHMC_PK_FROZENSET:
        for (size_t i = 0; i < v->v.seq.len && t->plain; i++) walk(v->v.seq.items[i], depth + 1, t);
        return;
    case SHMC_PK_BYTES:
        if (v->flags & (SHMC_PK_F_OOB | SHMC_PK_F_READONLY)) t->plain = 0;
        return;
    default: return;
    }
}

/* FRAME headers (9 bytes per frame; a payload of 64 KiB or more ends one) plus PROTO and STOP. */
static uint64_t framing_bound(uint64_t bytes) { return 9 * (2 * (bytes / 65536) + 2) + 3; }

static void check_output(const shmc_pickle_out *out, const shmc_plain_limits *lim)
{
    FUZZ_CHECK(out->bytes && out->len >= 3 && !out->buffers && !out->nbuffers, "bad output");
    FUZZ_CHECK(out->len <= lim->max_bytes + framing_bound(lim->max_bytes),
               "output of %zu bytes for max_bytes=%llu", out->len,
               (unsigned long long)lim->max_bytes);
    shmc_pk_input in = {out->bytes, out->len, NULL, NULL, 0};
    shmc_pk_doc *doc = NULL;
    shmc_pk_value *root = NULL;
    shmc_err err;
    memset(&err, 0, sizeof err);
    int rc = shmc_pk_parse(&in, NULL, &doc, &root, &err);
    FUZZ_CHECK(rc == SHMC_OK, "output does not parse: %s", err.msg);
    tally t = {0, 1};
    walk(root, 0, &t);
    FUZZ_CHECK(t.plain, "output holds a value that is not plain");
    FUZZ_CHECK(t.nodes <= lim->max_nodes, "output has %llu values for max_nodes=%llu",
               (unsigned long long)t.nodes, (unsigned long long)lim->max_nodes);
    shmc_pk_doc_free(doc);
}

/* Plain output is its own plain form: the second pass gives the same bytes. */
static void check_fixed_point(const shmc_pickle_out *out, const shmc_plain_limits *lim)
{
    shmc_pickle_out again;
    char msg[512];
    int rc = shmc_pickle_plain(out->bytes, out->len, lim, &again, msg, sizeof msg);
    FUZZ_CHECK(rc == SHMC_OK, "re-encoding refused: %s", msg);
    FUZZ_CHECK(again.len == out->len && !memcmp(again.bytes, out->bytes, out->len),
               "re-encoding differs (%zu vs %zu bytes)", again.len, out->len);
    shmc_pickle_out_free(&again);
}

static void run(const uint8_t *data, size_t size, const shmc_plain_limits *given)
{
    shmc_pickle_out out;
    char msg[512];
    int rc = shmc_pickle_plain(data, size, given, &out, msg, sizeof msg);
    if (rc != SHMC_OK) {
        FUZZ_CHECK(msg[0] != '\0', "status %d without a message", rc);
        FUZZ_CHECK(!out.bytes && !out.len, "output left on failure");
        return;
    }
    /* the limits in force: those given, or the documented defaults */
    shmc_plain_limits lim = {
        .max_nodes = given && given->max_nodes ? given->max_nodes : 256 + (uint64_t)size,
        .max_bytes = given && given->max_bytes ? given->max_bytes : 16384 + 4 * (uint64_t)size,
        .max_depth = given && given->max_depth ? given->max_depth : 64,
    };
    check_output(&out, &lim);
    /* the output as input: its own limits must let it through */
    shmc_plain_limits roomy = {lim.max_nodes, lim.max_bytes + 4 * out.len, lim.max_depth};
    check_fixed_point(&out, &roomy);
    shmc_pickle_out_free(&out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    uint8_t *buf = fuzz_aligned_copy(data, size); /* the reader points into its input */
    if (!buf) return 0;
    run(buf, size, NULL);
    shmc_plain_limits tight = {.max_nodes = 50, .max_bytes = 600, .max_depth = 4};
    run(buf, size, &tight);
    free(buf);
    return 0;
}
