/* Internal: plain values (pickle_plain.c), shared by shmc_pickle_plain and the
 * pickle writer's labels so that there is one definition of "plain". */
#ifndef SHMC_PICKLE_PLAIN_H
#define SHMC_PICKLE_PLAIN_H

#include <stddef.h>
#include <stdint.h>

#include "error.h"
#include "pickle_emit.h"

/* Parse the pickle [buf, buf+len), check that it is a plain value within
 * `limits` (NULL: defaults), and emit the value's opcodes onto `pk` (no PROTO,
 * no STOP). Nothing is emitted unless the whole value is plain. Statuses as
 * shmc_pickle_plain; err receives the detail. */
int shmc_plain_emit(shmc_pk *pk, const uint8_t *buf, size_t len, const shmc_plain_limits *limits,
                    shmc_err *err);

/* The same for a value already parsed (a part of a larger pickle, such as a
 * DataFrame's attrs); `len` scales the default limits as the input length does. */
struct shmc_pk_value;
int shmc_plain_emit_value(shmc_pk *pk, const struct shmc_pk_value *root, size_t len,
                          const shmc_plain_limits *limits, shmc_err *err);

#endif
