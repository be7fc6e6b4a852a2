/* The names of the small vocabularies of shmchunk.h -- roles, time units, codecs,
 * owner states -- one table each, exported so that the CLI, Python and the
 * library's own messages print the same words and nobody keeps a copy.
 * (Kinds are named next to their item sizes, in format.c.) */
#include "shmchunk.h"

#define NAME_OF(table, v)                                                                          \
    ((v) >= 0 && (size_t)(v) < sizeof(table) / sizeof(table)[0] && (table)[v] ? (table)[v]         \
                                                                              : "unknown")

static const char *const role_names[SHMC_ROLE_COUNT_] = {
    [SHMC_ROLE_VALUES] = "values",     [SHMC_ROLE_MASK] = "mask",
    [SHMC_ROLE_OFFSETS] = "offsets",   [SHMC_ROLE_DATA] = "data",
    [SHMC_ROLE_VALIDITY] = "validity", [SHMC_ROLE_PICKLE] = "pickle",
    [SHMC_ROLE_RIGHT] = "right",       [SHMC_ROLE_INDICES] = "indices",
};

static const char *const unit_names[] = {
    [SHMC_UNIT_NONE] = "none", [SHMC_UNIT_S] = "s",   [SHMC_UNIT_MS] = "ms",
    [SHMC_UNIT_US] = "us",     [SHMC_UNIT_NS] = "ns",
};

static const char *const codec_names[] = {[SHMC_CODEC_NONE] = "none", [SHMC_CODEC_ZSTD] = "zstd"};

static const char *const owner_state_names[] = {
    [SHMC_OWNER_PERSISTENT] = "persistent",
    [SHMC_OWNER_ALIVE] = "alive",
    [SHMC_OWNER_DEAD] = "orphaned",
};

const char *shmc_role_name(int role) { return NAME_OF(role_names, role); }
const char *shmc_unit_name(int unit) { return NAME_OF(unit_names, unit); }
const char *shmc_codec_name(int codec) { return NAME_OF(codec_names, codec); }
const char *shmc_owner_state_name(int state) { return NAME_OF(owner_state_names, state); }
