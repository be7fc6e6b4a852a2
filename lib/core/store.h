/* Internal: segment storage backends (POSIX shm, regular file, caller buffer),
 * names, owner identity and liveness. Knows bytes, not the index. */
#ifndef SHMC_STORE_H
#define SHMC_STORE_H

#include <stddef.h>
#include <stdint.h>

#include "error.h"

#define SHMC_NAME_MAX 255  /* bytes of a shm name, without "shm:" */
#define SHMC_DEST_MAX 4096 /* "shm:NAME" or a path */

typedef struct shmc_store {
    int kind;                 /* shmc_backend (shmchunk.h) */
    char name[SHMC_DEST_MAX]; /* "shm:NAME", the path, or "<buffer>" */
    uint8_t *base;            /* mapping (or caller buffer) */
    size_t len;
    int mapped; /* base must be munmap'ed */
    /* Set by shmc_store_create: the descriptor it created (until shmc_store_close) and
     * the created object's identity, so that nothing later goes back through the name,
     * which someone may have swapped for a symlink or another file in the meantime. */
    int has_wfd, wfd;
    int created;
    uint64_t created_dev, created_ino;
    uint32_t obj_uid;  /* fstat of the opened descriptor: owner, */
    uint32_t obj_mode; /* permission bits, */
    int private_copy;  /* and whether base is a private copy (shmc_store_open) */
} shmc_store;

/* Resolve a destination: NULL or "shm:" -> fresh random shm name; "shm:NAME" ->
 * validated shm name; else a file path. Fills st->kind and st->name. */
int shmc_store_resolve(shmc_store *st, const char *dest, shmc_err *err);
/* Create the resolved destination with O_EXCL, mode 0600, write `head` (head_len
 * bytes, may be 0) at offset 0, then reserve `size` bytes and map it read-write.
 * The head goes first so that an object whose writer is killed while reserving
 * (which takes a while for a large segment) already names its owner for gc. */
int shmc_store_create(shmc_store *st, uint64_t size, const void *head, size_t head_len,
                      shmc_err *err);
/* A second read-write descriptor of a store made by shmc_store_create, for pwrite
 * (fills the reserved pages without a zeroing fault per page): a dup of the descriptor
 * create made, never a reopen by name. -1 for buffers, after shmc_store_close, or when
 * it cannot be duplicated: callers then write through the mapping. The caller closes it. */
int shmc_store_write_fd(const shmc_store *st);
/* Open "shm:NAME" (O_NOFOLLOW) or a path read-only and map it. Records the owner and
 * mode of the descriptor opened. An object of another uid, or one its group or others
 * may write, is read into private read-only memory instead of mapped shared, so its
 * bytes cannot change or vanish (SIGBUS) after the reader checked them. */
int shmc_store_open(shmc_store *st, const char *src, shmc_err *err);
/* Unmap (if mapped) and close the descriptor kept by shmc_store_create. */
void shmc_store_close(shmc_store *st);
/* Remove what st->name names (shm object or file). For a store made by
 * shmc_store_create, only while the name still refers to the object created (same
 * device and inode, not a symlink): else SHMC_ERR_PERMISSION and nothing is removed.
 * (A swap between that check and the unlink remains possible: POSIX has no unlink by
 * descriptor.) */
int shmc_store_remove(const shmc_store *st, shmc_err *err);

/* A fresh unguessable name "shmchunk-<uid>-<32 hex>". cap >= 64. */
int shmc_name_generate(char *out, size_t cap, shmc_err *err);
int shmc_name_check(const char *name, shmc_err *err);

/* Start time of a process in clock ticks after boot (/proc/<pid>/stat field 22). */
int shmc_proc_start_ticks(int64_t pid, uint64_t *ticks);
/* shmc_owner_state of (pid, start ticks). */
int shmc_owner_state_of(int64_t pid, uint64_t start);

#endif
