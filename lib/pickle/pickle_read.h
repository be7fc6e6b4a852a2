/* Internal: the restricted pickle reader. Parses protocols 2-5 into a graph of
 * values without executing anything: globals stay names, REDUCE / NEWOBJ /
 * BUILD are recorded. Strings and bytes point INTO the input (or into the
 * caller's out-of-band buffers); nothing is copied. All nodes live in one
 * arena, freed by one call. Memo references share nodes, so the result is a
 * DAG (a hostile stream can even make cycles through APPEND/SETITEM: walkers
 * must bound their own recursion). */
#ifndef SHMC_PICKLE_READ_H
#define SHMC_PICKLE_READ_H

#include <stddef.h>
#include <stdint.h>

#include "error.h"

typedef enum shmc_pk_type {
    SHMC_PK_NONE = 0,
    SHMC_PK_BOOL,
    SHMC_PK_INT, /* int64 in .i; SHMC_PK_F_UNSIGNED: value is .u in [2^63, 2^64) */
    SHMC_PK_FLOAT,
    SHMC_PK_STR,   /* UTF-8 as found in the stream (not validated) */
    SHMC_PK_BYTES, /* bytes, bytearray (F_BYTEARRAY), out-of-band buffer (F_OOB) */
    SHMC_PK_TUPLE,
    SHMC_PK_LIST,
    SHMC_PK_DICT, /* items are key0, value0, key1, value1, ... in stream order */
    SHMC_PK_SET,
    SHMC_PK_FROZENSET,
    SHMC_PK_GLOBAL, /* module + name; never imported */
    SHMC_PK_REDUCE, /* callable(*args), recorded */
    SHMC_PK_NEWOBJ, /* cls.__new__(cls, *args, **kwargs), recorded */
    SHMC_PK_TYPE_COUNT_
} shmc_pk_type;

#define SHMC_PK_F_BYTEARRAY 0x1u
#define SHMC_PK_F_OOB       0x2u
#define SHMC_PK_F_READONLY  0x4u
#define SHMC_PK_F_UNSIGNED  0x8u
#define SHMC_PK_F_HEAPITEMS 0x10u /* internal: list/dict/set items are malloc'd (grow in place) */

typedef struct shmc_pk_value shmc_pk_value;
struct shmc_pk_value {
    uint8_t type;    /* shmc_pk_type */
    uint8_t flags;   /* SHMC_PK_F_* */
    uint32_t depth;  /* container nesting below this node when it was last extended */
    uint64_t offset; /* byte offset of the opcode that made this value */
    /* Only the member of the node's type is allocated (a str node is 32 bytes):
     * never touch another one. */
    union {
        int64_t i;
        uint64_t u;
        double f;
        struct {
            const uint8_t *ptr;
            size_t len;
        } bytes; /* STR, BYTES */
        struct {
            shmc_pk_value **items;
            size_t len, cap;
        } seq; /* containers */
        struct {
            const uint8_t *module, *name;
            uint32_t module_len, name_len;
        } global;
        struct { /* REDUCE, NEWOBJ */
            shmc_pk_value *callable, *args, *kwargs;
            shmc_pk_value *state; /* set by BUILD (obj.__setstate__(state)), else NULL */
        } call;
    } v;
};

typedef struct shmc_pk_doc shmc_pk_doc; /* the arena and the parse result */

typedef struct shmc_pk_input {
    const uint8_t *buf;
    size_t len;
    const void *const *oob; /* NEXT_BUFFER sources, in order */
    const size_t *oob_lens;
    size_t noob;
} shmc_pk_input;

/* Fill zero fields of *lim with the defaults of shmchunk.h for an input of
 * input_len bytes. */
void shmc_pk_limits_resolve(shmc_pickle_limits *lim, const shmc_pickle_limits *given,
                            size_t input_len);

/* Parse one pickle (up to STOP; trailing bytes are an error). On success *doc
 * owns every node and *root is the unpickled value. On failure nothing is
 * returned and err names the byte offset and opcode: SHMC_ERR_PICKLE (malformed),
 * SHMC_ERR_UNSUPPORTED (PERSID, EXT*, INST/OBJ, protocol > 5),
 * SHMC_ERR_LIMIT (a shmc_pickle_limits bound, checked before allocating). */
int shmc_pk_parse(const shmc_pk_input *in, const shmc_pickle_limits *limits, shmc_pk_doc **doc,
                  shmc_pk_value **root, shmc_err *err);
/* NULL-tolerant. */
void shmc_pk_doc_free(shmc_pk_doc *doc);
/* Bytes the arena has handed out (for tests of the max_alloc limit). */
uint64_t shmc_pk_doc_allocated(const shmc_pk_doc *doc);

/* Name of an opcode byte ("BINUNICODE"), or "unknown". */
const char *shmc_pk_opcode_name(uint8_t op);
/* Name of a value type ("tuple", "global", ...). */
const char *shmc_pk_type_name(int type);

/* ---- small accessors for recognisers (all NULL-tolerant) ---------------- */
/* The BUILD state of a REDUCE/NEWOBJ node, else NULL. */
shmc_pk_value *shmc_pk_state(const shmc_pk_value *v);
/* Is v the global module.name? */
int shmc_pk_is_global(const shmc_pk_value *v, const char *module, const char *name);
/* Is v a STR equal to s? */
int shmc_pk_str_eq(const shmc_pk_value *v, const char *s);
/* Item i of a tuple/list, or NULL. */
shmc_pk_value *shmc_pk_item(const shmc_pk_value *v, size_t i);
/* Number of items shmc_pk_item can return: the length of a tuple/list, 0 for
 * anything else (a set, frozenset or dict too). The contract recognisers rely on:
 * i < shmc_pk_len(v) implies shmc_pk_item(v, i) != NULL. */
size_t shmc_pk_len(const shmc_pk_value *v);
/* Items of any container (pairs for a dict; sets and frozensets counted), 0 for
 * scalars. Not an index bound: use shmc_pk_len with shmc_pk_item. */
size_t shmc_pk_count(const shmc_pk_value *v);
/* Value for the str key `key` in a dict (last one wins, like Python), or NULL. */
shmc_pk_value *shmc_pk_dict_get(const shmc_pk_value *v, const char *key);
/* REDUCE/NEWOBJ node whose callable is the global module.name? */
int shmc_pk_is_call_of(const shmc_pk_value *v, const char *module, const char *name);

/* ---- the DataFrame recogniser (pickle_frame*.c) -------------------------- */
/* Where recognised columns go. shmc_frame_from_pickle uses the public frame
 * calls; tests pass a recorder to inspect each descriptor. Descriptors (and
 * their strings) are only valid during the call; buffers they point to live as
 * long as the input and the frame. */
typedef struct shmc_pf_sink {
    void *user;
    int (*set_nrows)(void *user, uint64_t nrows);
    int (*add_column)(void *user, const shmc_column_desc *desc);
    int (*set_range_index)(void *user, int64_t start, int64_t step, const shmc_label *name);
    int (*set_columns_name)(void *user, const shmc_label *name);
    /* Optional (NULL: not told): the row index's freq string, df.attrs as a
     * plain-value pickle; called only when there is one, after the columns. */
    int (*set_index_freq)(void *user, const char *freq);
    int (*set_meta)(void *user, const void *bytes, size_t len);
} shmc_pf_sink;

/* Recognise a DataFrame pickle; owned buffers are handed to `frame` (shmc_frame_keep)
 * and errors are reported on it. */
int shmc_pf_read(shmc_frame *frame, const shmc_pf_sink *sink, const shmc_pk_input *in,
                 const shmc_pickle_limits *limits);

#endif
