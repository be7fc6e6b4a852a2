/* Internal: the frame builder's accessors for other parts of the library
 * (the pickle reader fills a frame and reports errors on it). */
#ifndef SHMC_FRAME_H
#define SHMC_FRAME_H

#include "error.h"

/* The frame's error slot: set it with shmc_err_set() before returning a status
 * from a function that works on a frame. */
shmc_err *shmc_frame_err(shmc_frame *frame);

/* Copy len bytes into memory owned by the frame (freed by shmc_frame_free);
 * src NULL gives uninitialised memory of len bytes.
 * NULL on allocation failure (the frame's error is set). */
void *shmc_frame_dup(shmc_frame *frame, const void *src, size_t len);

#endif
