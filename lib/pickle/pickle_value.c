/* The parsed value graph of the restricted reader, read: names of opcodes and
 * value types for messages, the accessors the recogniser and the plain-value
 * re-encoder walk the graph with, and the default limits. Apart from the parser
 * (pickle_read.c) because nothing here parses: every function only reads nodes
 * the parser finished. */
#include "pickle_read.h"

#include "pickle_ops.h"

#include <stddef.h>
#include <string.h>

void shmc_pk_limits_resolve(shmc_pickle_limits *lim, const shmc_pickle_limits *given,
                            size_t input_len)
{
    shmc_pickle_limits z = {0};
    if (!given) given = &z;
    lim->max_depth = given->max_depth ? given->max_depth : 256;
    lim->max_memo = given->max_memo ? given->max_memo : (uint64_t)1 << 24;
    lim->max_items = given->max_items ? given->max_items : (uint64_t)1 << 31;
    uint64_t def = (uint64_t)input_len > (UINT64_MAX - ((uint64_t)64 << 20)) / 4
                       ? UINT64_MAX
                       : 4 * (uint64_t)input_len + ((uint64_t)64 << 20);
    lim->max_alloc = given->max_alloc ? given->max_alloc : def;
}

/* ---- names --------------------------------------------------------------- */
const char *shmc_pk_opcode_name(uint8_t op)
{
#define OP_NAME_(name, byte) [byte] = #name,
    static const char *const names[256] = {SHMC_PICKLE_OPS(OP_NAME_)};
#undef OP_NAME_
    return names[op] ? names[op] : "unknown";
}

const char *shmc_pk_type_name(int type)
{
    static const char *const names[SHMC_PK_TYPE_COUNT_] = {
        "None", "bool", "int", "float",     "str",    "bytes",  "tuple",
        "list", "dict", "set", "frozenset", "global", "reduce", "newobj"};
    return type >= 0 && type < SHMC_PK_TYPE_COUNT_ ? names[type] : "unknown";
}

/* ---- accessors ----------------------------------------------------------- */
static int pk_bytes_eq(const uint8_t *p, size_t len, const char *s)
{
    size_t n = strlen(s);
    return n == len && (n == 0 || memcmp(p, s, n) == 0);
}

int shmc_pk_is_global(const shmc_pk_value *v, const char *module, const char *name)
{
    return v && v->type == SHMC_PK_GLOBAL &&
           pk_bytes_eq(v->v.global.module, v->v.global.module_len, module) &&
           pk_bytes_eq(v->v.global.name, v->v.global.name_len, name);
}

int shmc_pk_str_eq(const shmc_pk_value *v, const char *s)
{
    return v && v->type == SHMC_PK_STR && pk_bytes_eq(v->v.bytes.ptr, v->v.bytes.len, s);
}

/* The one place that decides what is indexable: shmc_pk_len and shmc_pk_item
 * both go through it, so i < shmc_pk_len(v) always gives a non-NULL item. */
static int pk_is_indexable(const shmc_pk_value *v)
{
    return v && (v->type == SHMC_PK_TUPLE || v->type == SHMC_PK_LIST);
}

shmc_pk_value *shmc_pk_item(const shmc_pk_value *v, size_t i)
{
    return pk_is_indexable(v) && i < v->v.seq.len ? v->v.seq.items[i] : NULL;
}

size_t shmc_pk_len(const shmc_pk_value *v) { return pk_is_indexable(v) ? v->v.seq.len : 0; }

size_t shmc_pk_count(const shmc_pk_value *v)
{
    if (!v || v->type < SHMC_PK_TUPLE || v->type > SHMC_PK_FROZENSET) return 0;
    return v->type == SHMC_PK_DICT ? v->v.seq.len / 2 : v->v.seq.len;
}

shmc_pk_value *shmc_pk_dict_get(const shmc_pk_value *v, const char *key)
{
    if (!v || v->type != SHMC_PK_DICT) return NULL;
    for (size_t i = v->v.seq.len; i >= 2; i -= 2)
        if (shmc_pk_str_eq(v->v.seq.items[i - 2], key)) return v->v.seq.items[i - 1];
    return NULL;
}

shmc_pk_value *shmc_pk_state(const shmc_pk_value *v)
{
    return v && (v->type == SHMC_PK_REDUCE || v->type == SHMC_PK_NEWOBJ) ? v->v.call.state : NULL;
}

int shmc_pk_is_call_of(const shmc_pk_value *v, const char *module, const char *name)
{
    return v && (v->type == SHMC_PK_REDUCE || v->type == SHMC_PK_NEWOBJ) &&
           shmc_pk_is_global(v->v.call.callable, module, name);
}

_Static_assert(offsetof(shmc_pk_value, v) + sizeof(((shmc_pk_value *)0)->v.bytes) == 32,
               "str nodes are the reader's main memory cost");
