/* Internal: reader-side accessors for other parts of the library. */
#ifndef SHMC_READER_H
#define SHMC_READER_H

#include "error.h"

/* The segment's error slot (the pickle writer reports its errors here). */
shmc_err *shmc_segment_err(shmc_segment *seg);

#endif
