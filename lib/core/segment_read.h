/* Internal: reader-side accessors for other parts of the library. */
#ifndef SHMC_SEGMENT_READ_H
#define SHMC_SEGMENT_READ_H

#include "error.h"

/* The segment's error slot (the pickle writer reports its errors here). */
shmc_err *shmc_segment_err(shmc_segment *seg);

#endif
