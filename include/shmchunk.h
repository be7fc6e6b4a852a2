/*
 * shmchunk.h -- share one DataFrame, read-only, through one shared-memory segment.
 *
 * MODEL
 *   A *frame* is a row count and an ordered list of *columns*. A column has a kind
 *   (bool, ints, floats, datetime/timedelta, categorical, string, opaque object, or an
 *   Arrow array of a type named by its Arrow format string), a label, and up to a few
 *   physical buffers (values, mask, offsets, data, validity, pickle). The rows are cut into *row groups* of `rows_per_chunk` rows; one buffer
 *   of one column over one row group is a *chunk*. Chunks have dense ids.
 *
 *   A writer describes a frame with shmc_frame_* calls (the frame borrows the
 *   caller's buffers) and writes it once with shmc_frame_write() into a *segment*:
 *   a POSIX shared-memory object ("shm:NAME"), a regular file (any other path), or
 *   -- for readers only -- a caller's memory buffer. The segment holds a fixed
 *   header, the chunks (64-byte aligned, column by column) and a msgpack index.
 *   Readers open it with shmc_segment_open*() and view or decode chunks.
 *   The byte layout is specified in lib/FORMAT.md.
 *
 * PROMISES
 *   - A sealed segment never changes. A reader maps it PROT_READ: a view returned
 *     by shmc_segment_chunk_view() is read-only by the operating system.
 *   - Bytes that someone else could change under a reader are read once: when the
 *     opened object belongs to another uid, or its group or others may write it,
 *     shmc_segment_open() copies it into private read-only memory before checking
 *     it (shmc_segment_info.private_copy), so what was validated is what is read
 *     and truncating the object cannot fault the reader. A "shm:" name is opened
 *     with O_NOFOLLOW.
 *   - Everything read from a segment or a pickle is untrusted. Every offset,
 *     length and count is checked before use; hostile bytes produce an error
 *     status and a message naming the chunk, column and byte offset, never a
 *     crash, a hang or an allocation larger than the input justifies. Sizes are
 *     derived in overflow-safe arithmetic, and a segment's total decoded size is
 *     capped at open (shmc_segment_limit_set; SHMC_ERR_LIMIT).
 *   - Each stored chunk, the index and the header carry an XXH3-64 checksum. The
 *     header and index are checked at open; a chunk is checked when it is viewed
 *     or decoded unless SHMC_OPEN_NO_VERIFY was given (decodes are checked all
 *     the same with SHMC_OPEN_VERIFY_DECODES). A decode reads a private
 *     copy of the stored bytes, hashed while copied: what is decoded is what was
 *     checked, even if the shared bytes change meanwhile (a view cannot promise
 *     this: it shows the shared bytes as they are).
 *   - A writer creates with O_EXCL and mode 0600, reserves all space up front (a
 *     full /dev/shm is SHMC_ERR_NOSPACE, not a SIGBUS later), writes the "sealed"
 *     marker last, and removes the half-written segment on any error. After the
 *     create it never goes back through the name to write, and removes only while
 *     the name still refers to the file it created.
 *   - Output is deterministic: the same frame and options give the same bytes
 *     (apart from owner pid/start time, uid and creation time in the header),
 *     whatever the number of compression threads.
 *
 * CAVEATS
 *   - A handle (shmc_frame, shmc_segment) is not thread-safe; use one per thread.
 *     Separate handles on the same segment are independent.
 *   - Opaque object chunks hold pickle bytes made by Python. This library never
 *     interprets them; unpickling them runs code, so callers must only do so for
 *     segments they trust -- decided from shmc_segment_info's backend, object_uid
 *     and object_mode (the descriptor mapped), never from creator_uid alone (the
 *     header says what its writer chose) and never for a file (whoever copies a
 *     file owns the copy).
 *   - A segment the caller owns and nobody else may write is mapped shared: if the
 *     owner itself changes or truncates it under a reader, reads may fail or fault.
 *   - A segment "owned" by a process records its pid and start time; the library
 *     does not unlink it by itself. Owners call shmc_segment_unlink(); orphans of
 *     dead owners are found by shmc_shm_list() and removed by shmc_shm_gc().
 *
 * ERRORS
 *   Every function that can fail returns an int status: SHMC_OK (0) or one of
 *   shmc_status. shmc_strerror() names the code; the handle's errmsg function
 *   gives the detail of the last failure on that handle.
 */
#ifndef SHMCHUNK_H
#define SHMCHUNK_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define SHMC_VERSION_MAJOR    0
#define SHMC_VERSION_MINOR    1
#define SHMC_VERSION_PATCH    0
/* The one place the version is written: CMakeLists.txt and Python read these. */
#define SHMC_VERSION_STR_(x)  #x
#define SHMC_VERSION_XSTR_(x) SHMC_VERSION_STR_(x)
#define SHMC_VERSION_STRING                                                                        \
    SHMC_VERSION_XSTR_(SHMC_VERSION_MAJOR)                                                         \
    "." SHMC_VERSION_XSTR_(SHMC_VERSION_MINOR) "." SHMC_VERSION_XSTR_(SHMC_VERSION_PATCH)
/* Segment format version written by this library, and the oldest it reads
 * (lib/FORMAT.md: format 2 stores the chunk records as one fixed-width table and
 * adds SHMC_KIND_ARROW columns; format 1 segments still open). */
#define SHMC_FORMAT_VERSION     2
#define SHMC_FORMAT_VERSION_MIN 1

#if defined(__GNUC__)
#define SHMC_API __attribute__((visibility("default")))
#else
#define SHMC_API
#endif

/* ------------------------------------------------------------------------ */
/* Status codes                                                              */
/* ------------------------------------------------------------------------ */
/* The one list of status codes: X(NAME, value, message). It makes the enum
 * below, shmc_strerror()'s messages and shmc_status_name(); Python reads the
 * names from the library. Add a code at the end, never renumber. */
#define SHMC_STATUS_LIST(X)                                                                        \
    X(SHMC_OK, 0, "no error")                                                                      \
    X(SHMC_ERR_INVALID_ARG, 1, "invalid argument") /* caller passed something unusable */          \
    X(SHMC_ERR_NOMEM, 2, "out of memory")   /* allocation failed or a limit on memory was hit */   \
    X(SHMC_ERR_IO, 3, "input/output error") /* a system call failed (detail: errno) */             \
    X(SHMC_ERR_NOT_FOUND, 4, "segment or file not found")                                          \
    X(SHMC_ERR_EXISTS, 5, "destination already exists")     /* O_EXCL */                           \
    X(SHMC_ERR_NOSPACE, 6, "no space left for the segment") /* /dev/shm or disk full */            \
    X(SHMC_ERR_PERMISSION, 7, "permission denied")          /* access denied, or another uid's */  \
    X(SHMC_ERR_BAD_NAME, 8, "invalid segment name")         /* invalid shared-memory name */       \
    X(SHMC_ERR_BAD_MAGIC, 9, "not a shmchunk segment (bad magic)")                                 \
    X(SHMC_ERR_BAD_VERSION, 10, "unsupported segment format version")                              \
    X(SHMC_ERR_BAD_LAYOUT, 11, "segment layout signature mismatch")                                \
    X(SHMC_ERR_UNSEALED, 12, "segment is not sealed") /* writer not finished (or died) */          \
    X(SHMC_ERR_TRUNCATED, 13, "segment is truncated") /* shorter than its header says */           \
    X(SHMC_ERR_HEADER_CHECKSUM, 14, "header checksum mismatch")                                    \
    X(SHMC_ERR_INDEX_CHECKSUM, 15, "index checksum mismatch")                                      \
    X(SHMC_ERR_CHUNK_CHECKSUM, 16, "chunk checksum mismatch")                                      \
    X(SHMC_ERR_CORRUPT, 17, "corrupt segment data") /* structurally invalid index or chunk */      \
    X(SHMC_ERR_COMPRESSED, 18, "chunk is compressed (no zero-copy view)")                          \
    X(SHMC_ERR_RANGE, 19, "out of range")   /* chunk id, column, row or buffer out of range */     \
    X(SHMC_ERR_LIMIT, 20, "limit exceeded") /* input exceeds a configured limit */                 \
    X(SHMC_ERR_UNSUPPORTED, 21, "unsupported construct") /* not handled by this version */         \
    X(SHMC_ERR_PICKLE, 22, "malformed pickle")                                                     \
    X(SHMC_ERR_CODEC, 23, "compression codec error") /* (de)compression failure */                 \
    X(SHMC_ERR_CANCELLED, 24,                                                                      \
      "cancelled by the caller") /* the caller's cancel callback asked to stop */

#define SHMC_STATUS_ENUM_(name, value, message) name = value,
typedef enum shmc_status { SHMC_STATUS_LIST(SHMC_STATUS_ENUM_) SHMC_STATUS_COUNT_ } shmc_status;
#undef SHMC_STATUS_ENUM_

/* Name of a status code ("checksum mismatch in chunk", ...). Never NULL. */
SHMC_API const char *shmc_strerror(int status);
/* Enumerator name of a status code ("SHMC_ERR_CHUNK_CHECKSUM"), NULL when it is
 * not one; codes run from 0 to shmc_status_count() - 1. */
SHMC_API const char *shmc_status_name(int status);
SHMC_API int shmc_status_count(void);
/* Library version string, e.g. "0.1.0". */
SHMC_API const char *shmc_version(void);

/* ------------------------------------------------------------------------ */
/* Column model                                                              */
/* ------------------------------------------------------------------------ */
typedef enum shmc_kind {
    SHMC_KIND_BOOL = 1, /* 1 byte per row, 0 or 1 */
    SHMC_KIND_INT8,
    SHMC_KIND_INT16,
    SHMC_KIND_INT32,
    SHMC_KIND_INT64,
    SHMC_KIND_UINT8,
    SHMC_KIND_UINT16,
    SHMC_KIND_UINT32,
    SHMC_KIND_UINT64,
    SHMC_KIND_FLOAT32,
    SHMC_KIND_FLOAT64,
    SHMC_KIND_DATETIME,    /* int64 since epoch in `unit`, optional tz; NaT = INT64_MIN */
    SHMC_KIND_TIMEDELTA,   /* int64 in `unit`; NaT = INT64_MIN */
    SHMC_KIND_CATEGORICAL, /* values = codes of `code_kind` (-1 = missing) + a dictionary column */
    SHMC_KIND_STRING,      /* Arrow large_string: int64 offsets + UTF-8 data + validity bitmap */
    SHMC_KIND_OBJECT,      /* one opaque pickle blob per row group, made by Python */
    SHMC_KIND_ARROW,       /* format 2: an Arrow array in Arrow's own buffer layout, its type an
                                Arrow C data interface format string (`arrow`, see
                                shmc_arrow_name): validity bitmap + values (bit-packed for "b"),
                                or validity + int32/int64 offsets + data; dictionary-encoded when
                                it has a dictionary column (`categories`) */
    SHMC_KIND_PERIOD,      /* int64 period ordinals (NaT = INT64_MIN); the frequency is in
                                `dtype`, which is required: "period[<freq>]", freq 1..63 bytes
                                of [A-Za-z0-9-] (pandas' freqstr: "D", "M", "Q-DEC", "2h") */
    SHMC_KIND_INTERVAL,    /* two bounds per row: values = left, right = right, both of the
                                subtype `code_kind` (int8 .. float64, datetime with its unit and
                                optional tz, timedelta); missing = NaN / NaT in both; which ends
                                are closed: SHMC_COL_CLOSED_LEFT / SHMC_COL_CLOSED_RIGHT */
    SHMC_KIND_SPARSE,      /* the rows that differ from a fill value: values = those values, of
                                `code_kind` (bool .. float64), indices = their int32 row numbers
                                (in the frame, strictly increasing); the fill value is a one-row
                                dictionary column of `code_kind` */
    SHMC_KIND_COUNT_
} shmc_kind;

/* Width in bytes of one value of a fixed-width kind (bool .. timedelta, period), else 0. */
SHMC_API size_t shmc_kind_itemsize(int kind);
/* Short name: "bool", "int64", "datetime", "categorical", "string", ..., "arrow" */
SHMC_API const char *shmc_kind_name(int kind);
/* The Arrow type an Arrow C data interface format string names when shmchunk stores
 * it natively (SHMC_KIND_ARROW): "int64", "float16", "bool", "timestamp", "date32",
 * "time64", "duration", "decimal128", "fixed_size_binary", "string", "large_binary", ...
 * NULL for any other format (nested types "+l", "+s", "+m", ... are stored as opaque
 * pickles; views, intervals, null are not supported). `format` may be NULL. */
SHMC_API const char *shmc_arrow_name(const char *format);

typedef enum shmc_time_unit {
    SHMC_UNIT_NONE = 0,
    SHMC_UNIT_S = 1,
    SHMC_UNIT_MS = 2,
    SHMC_UNIT_US = 3,
    SHMC_UNIT_NS = 4
} shmc_time_unit;
/* "none", "s", "ms", "us", "ns"; "unknown" for anything else. Never NULL. */
SHMC_API const char *shmc_unit_name(int unit);

/* Physical buffer roles. A chunk is one role of one column over one row group. */
typedef enum shmc_role {
    SHMC_ROLE_VALUES = 0, /* fixed-width values, categorical codes, Arrow values (bits for "b") */
    SHMC_ROLE_MASK = 1,   /* nullable kinds: 1 byte per row, nonzero = missing */
    SHMC_ROLE_OFFSETS =
        2, /* string: nrows+1 int64 (Arrow: int32 or int64), first is 0 in the row group */
    SHMC_ROLE_DATA = 3,     /* string: UTF-8 bytes (Arrow binary: any bytes) */
    SHMC_ROLE_VALIDITY = 4, /* string, Arrow: bitmap, bit i (LSB first) = row i valid */
    SHMC_ROLE_PICKLE = 5,   /* object: opaque pickle bytes of the row group */
    SHMC_ROLE_RIGHT = 6,    /* interval: right bounds, laid out as values */
    SHMC_ROLE_INDICES = 7,  /* sparse: int32 row numbers of the stored values in this row group */
    SHMC_ROLE_COUNT_
} shmc_role;
/* "values", "mask", "offsets", "data", "validity", "pickle", "right", "indices"; "unknown" otherwise. */
SHMC_API const char *shmc_role_name(int role);

/* Column flags. */
#define SHMC_COL_INDEX        0x1u /* part of the frame's index, not a data column */
#define SHMC_COL_ORDERED      0x2u /* categorical: ordered categories */
#define SHMC_COL_DICTIONARY   0x4u /* the categories of a categorical column (set by the writer) */
/* Interval columns only: which ends are closed. Both = "both", none = "neither". */
#define SHMC_COL_CLOSED_LEFT  0x8u
#define SHMC_COL_CLOSED_RIGHT 0x10u

/* A label: a column name, an index name. Python pickles labels it cannot say
 * as str/int/None and passes SHMC_LABEL_PICKLE bytes. */
typedef enum shmc_label_type {
    SHMC_LABEL_NONE = 0,
    SHMC_LABEL_STR = 1,
    SHMC_LABEL_INT = 2,
    SHMC_LABEL_PICKLE = 3
} shmc_label_type;

typedef struct shmc_label {
    int type;        /* shmc_label_type */
    const char *str; /* STR: UTF-8 bytes; PICKLE: pickle bytes (not NUL-terminated) */
    size_t len;
    int64_t i; /* INT */
} shmc_label;

/* Describes one column to the writer. Zero-initialise, then fill in what the
 * kind needs. Buffers are borrowed: they must stay valid until shmc_frame_write()
 * returns or the frame is freed. Every buffer covers the frame's nrows rows,
 * except the dictionary of a categorical, which has `ncategories` rows. */
typedef struct shmc_column_desc {
    int kind;       /* shmc_kind */
    uint32_t flags; /* SHMC_COL_* */
    shmc_label label;
    const char *dtype; /* optional: pandas dtype string as Python saw it
                                  ("Int64", "str", "string[pyarrow]", ...), NUL-terminated */
    int unit;          /* datetime / timedelta: shmc_time_unit */
    const char *tz;    /* datetime: time zone name, or NULL */

    const void *values;  /* fixed-width kinds: nrows * itemsize; categorical: codes */
    const uint8_t *mask; /* optional for fixed-width kinds: nrows bytes, nonzero = missing */

    const int64_t *offsets;   /* string: nrows+1 offsets into data; offsets[0] may be nonzero */
    const uint8_t *data;      /* string: UTF-8 bytes */
    const uint8_t *validity;  /* string: optional Arrow bitmap (NULL = no missing values) */
    uint64_t validity_offset; /* bit offset of row 0 in validity (Arrow slices) */

    int code_kind; /* categorical: SHMC_KIND_INT8 .. INT64; interval: the bounds' kind;
                                  sparse: the values' kind (bool .. float64) */
    const struct shmc_column_desc
        *categories; /* categorical: dictionary column (any non-categorical kind) */
    uint64_t ncategories;

    const void *const *blobs; /* object: one pickle blob per row group */
    const size_t *blob_lens;
    size_t nblobs; /* must equal the number of row groups at write time */

    /* SHMC_KIND_ARROW (format 2). `arrow` is the Arrow C data interface format string of
     * the array's type (of its indices when it is dictionary-encoded); shmc_arrow_name()
     * must know it. Buffers as Arrow holds them: `values` (fixed width: at row 0; "b":
     * the bitmap, row 0 at bit `values_bit_offset`), or `offsets` (int32 for "u"/"z",
     * int64 for "U"/"Z", at row 0; offsets[0] may be nonzero) and `data`; `validity` and
     * `validity_offset` as for strings. Dictionary-encoded: `categories` is the
     * dictionary, itself a non-dictionary SHMC_KIND_ARROW column of `ncategories` rows,
     * and SHMC_COL_ORDERED may be set. For SHMC_KIND_OBJECT, `arrow` may name the Arrow
     * type of a column Python stored opaque (a nested type): shown by `shmchunk info`. */
    const char *arrow;
    uint64_t values_bit_offset;
    const void *right; /* interval: nrows right bounds (values holds the left ones) */

    /* sparse: values holds nsparse values of code_kind at the rows sparse_index names
     * (int32, strictly increasing, < nrows); categories a one-row column of code_kind
     * holding the fill value (ncategories = 1) */
    const int32_t *sparse_index;
    uint64_t nsparse;
} shmc_column_desc;

/* ------------------------------------------------------------------------ */
/* Writing: the frame                                                        */
/* ------------------------------------------------------------------------ */
typedef struct shmc_frame shmc_frame;

/* @return SHMC_OK or SHMC_ERR_NOMEM. */
SHMC_API int shmc_frame_create(shmc_frame **out);
/* NULL-tolerant. Frees what the frame owns (see shmc_frame_keep). */
SHMC_API void shmc_frame_free(shmc_frame *frame);
/* Detail of the last failure on this frame ("" if none). Never NULL. */
SHMC_API const char *shmc_frame_errmsg(const shmc_frame *frame);

SHMC_API int shmc_frame_set_nrows(shmc_frame *frame, uint64_t nrows);
SHMC_API uint64_t shmc_frame_nrows(const shmc_frame *frame);
/* Copies the descriptor (and its label/dtype/tz strings and category descriptor),
 * not the buffers. @return SHMC_ERR_INVALID_ARG naming the field when inconsistent. */
SHMC_API int shmc_frame_add_column(shmc_frame *frame, const shmc_column_desc *desc);
SHMC_API uint32_t shmc_frame_ncolumns(const shmc_frame *frame);
/* The default index is RangeIndex(0, nrows, 1) with no name. When the frame has
 * SHMC_COL_INDEX columns, they are the index instead. */
SHMC_API int shmc_frame_set_range_index(shmc_frame *frame, int64_t start, int64_t step,
                                        const shmc_label *name);
/* Column-axis name (DataFrame.columns.name). */
SHMC_API int shmc_frame_set_columns_name(shmc_frame *frame, const shmc_label *name);
/* Opaque user metadata (Python stores df.attrs here). Copied. */
SHMC_API int shmc_frame_set_meta(shmc_frame *frame, const void *bytes, size_t len);
/* Frequency of the row index (a pandas freqstr: "D", "2h", "B", "W-SUN", "QE-DEC";
 * NULL or "" for none), stored as the index key `freq`. 1..32 ASCII letters, digits,
 * '-', '+' or '_', else SHMC_ERR_INVALID_ARG; readers refuse any other as corrupt.
 * It describes the row index column: readers apply it to a single DATETIME or
 * TIMEDELTA index column and check that the values follow it. Copied. */
SHMC_API int shmc_frame_set_index_freq(shmc_frame *frame, const char *freq);
/* Hand memory to the frame: it is released with free_fn(ptr) by shmc_frame_free(). */
SHMC_API int shmc_frame_keep(shmc_frame *frame, void *ptr, void (*free_fn)(void *));

typedef enum shmc_codec { SHMC_CODEC_NONE = 0, SHMC_CODEC_ZSTD = 1 } shmc_codec;
/* "none", "zstd"; "unknown" otherwise. */
SHMC_API const char *shmc_codec_name(int codec);

/* Write flags. */
#define SHMC_WRITE_OWNED 0x1u /* record this process as owner (else persistent) */

typedef struct shmc_write_opts {
    uint64_t rows_per_chunk; /* 0 = default (1 << 20); a power of two keeps columns contiguous */
    int codec;               /* shmc_codec */
    int level;               /* zstd level; 0 = default (1) */
    int shuffle;             /* byte-shuffle fixed-width chunks before zstd: 1 on, 0 off */
    int threads;             /* compression threads; 0 = all cores */
    uint32_t flags;          /* SHMC_WRITE_* */
    double min_saving;       /* keep a compressed chunk only if it saves this fraction; 0 = 0.10 */
    /* Called from the calling thread after each batch: total_bytes is the frame's raw
     * bytes (compressed or not); done_bytes grows to it (with zstd, compressing and
     * placing each count for half). */
    void (*progress)(void *user, uint64_t done_bytes, uint64_t total_bytes);
    void *progress_user;
    /* Polled from the calling thread before each batch of about 64 MB (and before the
     * space is reserved); nonzero stops the write with SHMC_ERR_CANCELLED and, as for
     * any error, removes what was written. Python uses it to honour Ctrl-C promptly. */
    int (*cancel)(void *user);
    void *cancel_user;
} shmc_write_opts;

/* Fill opts with the defaults above. */
SHMC_API void shmc_write_opts_init(shmc_write_opts *opts);

/* Write the frame to `dest`: "shm:NAME" (POSIX shared memory), or a file path.
 * dest NULL or "shm:" makes an unguessable name "shmchunk-<uid>-<random>".
 * The name actually used ("shm:NAME" or the path) is copied to name_out
 * (NUL-terminated) when name_out is not NULL.
 * @return SHMC_OK; SHMC_ERR_EXISTS, SHMC_ERR_NOSPACE, SHMC_ERR_BAD_NAME,
 *         SHMC_ERR_INVALID_ARG (frame inconsistent), SHMC_ERR_IO, ... -- in every
 *         error case nothing is left behind at dest. */
SHMC_API int shmc_frame_write(shmc_frame *frame, const char *dest, const shmc_write_opts *opts,
                              char *name_out, size_t name_out_cap);

/* ------------------------------------------------------------------------ */
/* Reading: the segment                                                      */
/* ------------------------------------------------------------------------ */
typedef struct shmc_segment shmc_segment;

#define SHMC_OPEN_NO_VERIFY      0x1u /* do not check chunk checksums on view/decode */
#define SHMC_OPEN_VERIFY_ALL     0x2u /* check every chunk at open */
/* With SHMC_OPEN_NO_VERIFY: views stay unchecked (the caller checks them once, e.g.
 * with shmc_segment_chunks_verify), but every decode still checks the bytes it
 * decodes, hashed while they are copied -- a check made earlier cannot vouch for
 * shared bytes changed since. Without SHMC_OPEN_NO_VERIFY decodes check anyway. */
#define SHMC_OPEN_VERIFY_DECODES 0x4u

/* @return SHMC_OK or SHMC_ERR_NOMEM. */
SHMC_API int shmc_segment_create(shmc_segment **out);
/* NULL-tolerant; unmaps. Views obtained from the segment die with it. */
SHMC_API void shmc_segment_free(shmc_segment *seg);
SHMC_API const char *shmc_segment_errmsg(const shmc_segment *seg);

/* Open "shm:NAME" or a file path, read-only. Checks magic, version, layout,
 * sealed marker, sizes, header and index checksums, and the index structure.
 * Naming rule of every source: "shm:NAME" is shared memory, anything with a '/'
 * a path, a bare NAME whichever of shm:NAME and ./NAME exists (both:
 * SHMC_ERR_BAD_NAME; neither: SHMC_ERR_NOT_FOUND). shmc_segment_info's name is
 * the resolved one. A source not found names the other one when it exists
 * ("did you mean shm:NAME?") in the errmsg.
 * @return SHMC_OK, SHMC_ERR_NOT_FOUND, SHMC_ERR_BAD_MAGIC, SHMC_ERR_BAD_VERSION,
 *         SHMC_ERR_BAD_LAYOUT, SHMC_ERR_UNSEALED, SHMC_ERR_TRUNCATED,
 *         SHMC_ERR_HEADER_CHECKSUM, SHMC_ERR_INDEX_CHECKSUM, SHMC_ERR_CORRUPT, ... */
SHMC_API int shmc_segment_open(shmc_segment *seg, const char *src, uint32_t flags);
/* Same checks over a caller's buffer (not copied; must outlive the segment). */
SHMC_API int shmc_segment_open_buffer(shmc_segment *seg, const void *buf, size_t len,
                                      uint32_t flags);

typedef enum shmc_owner_state {
    SHMC_OWNER_PERSISTENT = 0, /* no owner: lives until removed */
    SHMC_OWNER_ALIVE = 1,      /* owner process (pid + start time) is running */
    SHMC_OWNER_DEAD = 2        /* owner died: orphaned */
} shmc_owner_state;
/* "persistent", "alive", "orphaned"; "unknown" otherwise. */
SHMC_API const char *shmc_owner_state_name(int state);

/* Where a reader's bytes come from (shmc_segment_info.backend). */
typedef enum shmc_backend {
    SHMC_BACKEND_NONE = 0,
    SHMC_BACKEND_SHM = 1,
    SHMC_BACKEND_FILE = 2,
    SHMC_BACKEND_BUFFER = 3
} shmc_backend;

typedef struct shmc_segment_info {
    uint32_t format_version;
    uint32_t flags;
    uint64_t nrows;
    uint64_t rows_per_chunk;
    uint64_t nrowgroups; /* ceil(nrows / rows_per_chunk) */
    uint32_t ncolumns;   /* all column entries: data, index and dictionary columns */
    uint32_t nchunks;
    uint64_t total_size; /* bytes of the segment */
    uint64_t index_offset, index_len;
    uint64_t raw_bytes;    /* sum of chunk raw lengths */
    uint64_t stored_bytes; /* sum of chunk stored lengths */
    int64_t owner_pid;     /* 0 = persistent */
    uint64_t owner_start;  /* owner's start time in clock ticks after boot */
    uint32_t creator_uid;
    uint64_t created_ns; /* CLOCK_REALTIME at write */
    uint64_t identity;   /* differs between any two segments ever written (XXH3 of header) */
    int owner_state;     /* shmc_owner_state, computed at the call */
    int has_range_index; /* no SHMC_COL_INDEX columns: RangeIndex(range_start, +step) */
    int64_t range_start, range_step;
    shmc_label range_name;
    shmc_label columns_name;
    const char *name; /* "shm:NAME", the path, or "<buffer>" */
    /* Facts about the object actually opened, from fstat of the descriptor that was
     * mapped (never a path looked up again, never the header's word). A caller deciding
     * whether to run a segment's pickles decides from these: see README "Trust". */
    int backend;          /* shmc_backend */
    uint32_t object_uid;  /* owner of the opened object; UINT32_MAX for a buffer */
    uint32_t object_mode; /* its permission bits (st_mode & 07777); 0 for a buffer */
    int private_copy;     /* 1: the bytes were copied into private read-only memory at
                                 open (the object belongs to another uid, or its group or
                                 others may write it), so nobody can change or truncate what
                                 was validated; 0: the object is mapped shared */
} shmc_segment_info;

SHMC_API int shmc_segment_info_get(shmc_segment *seg, shmc_segment_info *out);
/* Base address and size of the mapping (read-only memory). */
SHMC_API int shmc_segment_data(shmc_segment *seg, const void **ptr, size_t *len);
/* User metadata set by shmc_frame_set_meta (len 0 if none). */
SHMC_API int shmc_segment_meta(shmc_segment *seg, const void **ptr, size_t *len);
/* Row index frequency set by shmc_frame_set_index_freq: a NUL-terminated string
 * owned by the handle, "" if none; checked at open (FORMAT.md, key `freq`). */
SHMC_API int shmc_segment_index_freq(shmc_segment *seg, const char **freq);

typedef struct shmc_column_info {
    int kind;
    uint32_t flags;
    shmc_label label;  /* strings point into the segment's index; valid until free */
    const char *dtype; /* "" if none */
    int unit;
    const char *tz;       /* NULL if none */
    int code_kind;        /* categorical: the codes' kind; interval: the bounds' kind */
    uint32_t dict_column; /* categorical: column id of the dictionary, else UINT32_MAX */
    uint64_t nrows;       /* frame nrows, or ncategories for a dictionary column */
    uint64_t nrowgroups;
    uint32_t roles;       /* bit (1u << role) set for each stored role */
    uint32_t first_chunk; /* chunk ids of this column are first_chunk .. +nchunks-1 */
    uint32_t nchunks;
    uint64_t raw_bytes, stored_bytes;
    uint64_t null_count; /* rows missing as pandas' isna() counts them: mask, validity,
                                 code -1, and NaN / NaT in unmasked float / time columns */
    const char *arrow;   /* SHMC_KIND_ARROW: Arrow format string of the type (of the
                                 indices when dict_column is set); OBJECT: the Arrow type
                                 Python stored opaque, if any; else NULL */
} shmc_column_info;

SHMC_API int shmc_segment_column_info(shmc_segment *seg, uint32_t column, shmc_column_info *out);

typedef struct shmc_chunk_info {
    uint32_t column;
    uint32_t rowgroup;
    int role;          /* shmc_role */
    int codec;         /* shmc_codec */
    int shuffle;       /* byte shuffle applied before compression */
    uint32_t typesize; /* shuffle element size */
    uint64_t offset;   /* from the start of the segment */
    uint64_t stored_len;
    uint64_t raw_len;
    uint64_t row_start; /* first row of the row group */
    uint64_t nrows;     /* rows in the row group */
    uint64_t xxh3;      /* XXH3-64 of the stored bytes */
} shmc_chunk_info;

SHMC_API int shmc_segment_chunk_info(shmc_segment *seg, uint32_t chunk, shmc_chunk_info *out);
/* Chunk id of (column, row group, role). @return SHMC_ERR_RANGE if absent. */
SHMC_API int shmc_segment_chunk_find(shmc_segment *seg, uint32_t column, uint64_t rowgroup,
                                     int role, uint32_t *chunk);
/* Zero-copy view of a raw chunk (checked unless SHMC_OPEN_NO_VERIFY).
 * @return SHMC_ERR_COMPRESSED for a compressed chunk, SHMC_ERR_CHUNK_CHECKSUM. */
SHMC_API int shmc_segment_chunk_view(shmc_segment *seg, uint32_t chunk, const void **ptr,
                                     size_t *len);
/* One view over every row group of a column's role, when all those chunks are raw and
 * adjacent (always so for raw fixed-width columns). @return SHMC_ERR_COMPRESSED otherwise. */
SHMC_API int shmc_segment_column_view(shmc_segment *seg, uint32_t column, int role,
                                      const void **ptr, size_t *len);
/* Decode a chunk (raw or compressed) into dst, which must hold exactly raw_len bytes.
 * @return SHMC_ERR_INVALID_ARG if dst_len != raw_len, SHMC_ERR_CORRUPT when the payload
 * does not decode to exactly raw_len bytes, SHMC_ERR_CHUNK_CHECKSUM. */
SHMC_API int shmc_segment_chunk_decode(shmc_segment *seg, uint32_t chunk, void *dst,
                                       size_t dst_len);
/* Check one chunk's checksum. */
SHMC_API int shmc_segment_chunk_verify(shmc_segment *seg, uint32_t chunk);
/* Check the checksums of n chunks, on several threads when they are large.
 * @return SHMC_ERR_CHUNK_CHECKSUM naming the first bad chunk in array order, SHMC_ERR_RANGE. */
SHMC_API int shmc_segment_chunks_verify(shmc_segment *seg, const uint32_t *chunks, size_t n);
/* Check an Arrow large_string layout (e.g. over a segment's offsets and data chunks):
 * noffsets int64 offsets (any alignment), non-decreasing, within [0, data_len], and the
 * bytes they cover valid UTF-8 with no string starting inside a multi-byte sequence.
 * Stricter than Arrow: bytes of null slots are checked too. @return SHMC_OK,
 * SHMC_ERR_CORRUPT (*bad = index of the offending string) or SHMC_ERR_INVALID_ARG. */
SHMC_API int shmc_strings_check(const void *offsets, size_t noffsets, const void *data,
                                size_t data_len, size_t *bad);

/* Check everything: header, index, every chunk's checksum and that it decodes.
 * on_bad (may be NULL) is called once per bad chunk with its status and a message;
 * the walk continues. @return SHMC_OK or the first error status. */
typedef void (*shmc_bad_chunk_fn)(void *user, uint32_t chunk, int status, const char *msg);
SHMC_API int shmc_segment_verify(shmc_segment *seg, shmc_bad_chunk_fn on_bad, void *user);

/* ------------------------------------------------------------------------ */
/* Shared-memory management                                                  */
/* ------------------------------------------------------------------------ */
/* Remove "shm:NAME" or a file path holding a segment (a bare NAME: the rule of
 * shmc_segment_open). Removes it whoever owns it; the CLI's rm asks for --force
 * when the owner is alive.
 * @return SHMC_ERR_NOT_FOUND, SHMC_ERR_BAD_NAME, SHMC_ERR_PERMISSION. */
SHMC_API int shmc_segment_unlink(const char *name);
/* Is `name` acceptable as a shared-memory name (without "shm:")? SHMC_OK or SHMC_ERR_BAD_NAME. */
SHMC_API int shmc_name_validate(const char *name);

typedef struct shmc_shm_entry {
    const char *name; /* without "shm:" */
    uint64_t size;
    uint32_t uid;
    int64_t owner_pid;
    uint64_t owner_start;
    int owner_state; /* shmc_owner_state */
    int sealed;
} shmc_shm_entry;

/* Call fn for every shmchunk segment in shared memory (recognised by header, not name).
 * fn returns 0 to continue. */
typedef int (*shmc_shm_list_fn)(void *user, const shmc_shm_entry *entry);
SHMC_API int shmc_shm_list(shmc_shm_list_fn fn, void *user);
/* Remove owned segments of the current uid whose owner is dead; never persistent or
 * foreign ones. fn (may be NULL) is told each one removed. *removed counts them. */
SHMC_API int shmc_shm_gc(shmc_shm_list_fn fn, void *user, uint32_t *removed);
/* XXH3-64 (seed 0) of len bytes: the checksum the format uses for chunks, the index and
 * the header (see lib/FORMAT.md). For callers that copy a segment elsewhere (shmchunk.dask
 * streams one to another host) and check each piece, or rewrite a copy's owner fields and
 * then its header_xxh3. buf may be NULL when len is 0. */
SHMC_API uint64_t shmc_hash64(const void *buf, size_t len);

/* ------------------------------------------------------------------------ */
/* Pickle bridge                                                             */
/* ------------------------------------------------------------------------ */
/* Limits for the restricted pickle reader; zero fields take defaults. */
typedef struct shmc_pickle_limits {
    uint32_t max_depth; /* nesting of containers (default 256) */
    uint64_t max_memo;  /* memo entries (default 1 << 24) */
    uint64_t max_items; /* elements in one container (default 1 << 31) */
    uint64_t max_alloc; /* bytes the reader may allocate (default 4 * input + 64 MiB) */
} shmc_pickle_limits;

/* Read a pickle (protocol 2-5) of a pandas DataFrame -- DataFrame.to_pickle() or
 * pickle.dump(df) by pandas 1.5 .. 3.x -- into `frame`, without executing anything.
 * Array buffers may point into `buf`, which must outlive the frame.
 * Out-of-band buffers (NEXT_BUFFER) are taken from oob/oob_lens in order.
 * @return SHMC_ERR_PICKLE (malformed, with byte offset), SHMC_ERR_UNSUPPORTED (naming
 *         the construct and offset), SHMC_ERR_LIMIT. */
SHMC_API int shmc_frame_from_pickle(shmc_frame *frame, const void *buf, size_t len,
                                    const void *const *oob, const size_t *oob_lens, size_t noob,
                                    const shmc_pickle_limits *limits);

/* Read the pickle of a list of str/None (how Python hands a string column to C)
 * into string buffers owned by `frame`; fills desc->offsets, data, validity
 * (validity NULL when nothing is missing) and sets desc->kind = SHMC_KIND_STRING.
 * *nrows_out receives the list length. Other desc fields are left alone. */
SHMC_API int shmc_frame_strings_from_pickle(shmc_frame *frame, const void *buf, size_t len,
                                            shmc_column_desc *desc, uint64_t *nrows_out);

/* What to write: a set of columns over a set of rows. */
typedef struct shmc_selection {
    const uint32_t *columns; /* data column ids (not index/dictionary ones); NULL = all */
    size_t ncolumns;
    const uint32_t *chunks; /* alternatively: chunk ids; their columns x their row groups */
    size_t nchunks;         /* used when chunks != NULL; then columns and rows are ignored */
    uint64_t row_start;     /* rows [row_start, row_stop); row_stop 0 = nrows */
    uint64_t row_stop;
} shmc_selection;

#define SHMC_PICKLE_OOB 0x1u /* array data as out-of-band buffers (PickleBuffer protocol 5) */
#define SHMC_PICKLE_OBJECTS                                                                        \
    0x2u /* allow emitting opaque object chunks and pickled labels other
                                      than plain values (they run code when loaded); a plain pickled
                                      label (see shmc_pickle_plain) is written as its value */

typedef enum shmc_oob_kind {
    SHMC_OOB_SEGMENT = 0, /* bytes [offset, offset+len) of the segment mapping */
    SHMC_OOB_DECODED = 1  /* decode `chunk`, then take [offset, offset+len) of its raw bytes
                                 (never a bool or mask chunk: those are written in-band as 0/1) */
} shmc_oob_kind;

typedef struct shmc_oob_buffer {
    int kind;       /* shmc_oob_kind */
    uint32_t chunk; /* first chunk concerned */
    uint64_t offset;
    uint64_t len;
} shmc_oob_buffer;

typedef struct shmc_pickle_out {
    uint8_t *bytes; /* the protocol-5 stream */
    size_t len;
    shmc_oob_buffer *buffers; /* OOB mode: what to pass as pickle.loads(..., buffers=) in order */
    size_t nbuffers;
} shmc_pickle_out;

/* Emit a protocol-5 pickle that pickle.loads / pandas.read_pickle turn into the
 * selected DataFrame, using public callables only (numpy.frombuffer, numpy.dtype,
 * pandas.DataFrame, pandas.Categorical.from_codes, ...). Loads on pandas 2.x and 3.x.
 * Free the result with shmc_pickle_out_free. Errors are reported on `seg`. */
SHMC_API int shmc_pickle_write(shmc_segment *seg, const shmc_selection *sel, uint32_t flags,
                               shmc_pickle_out *out);
/* NULL-tolerant; zeroes *out. */
SHMC_API void shmc_pickle_out_free(shmc_pickle_out *out);

/* Bounds of shmc_pickle_plain; zero fields take the defaults (len = input bytes). */
typedef struct shmc_plain_limits {
    uint64_t max_nodes; /* values visited, every visit through a shared (memo) reference
                             counted: the size of the value as a tree (default 256 + len) */
    uint64_t max_bytes; /* bytes of the value's output encoding, framing aside
                             (default 16384 + 4 * len) */
    uint32_t max_depth; /* container nesting (default 64; values above 1024 mean 1024) */
} shmc_plain_limits;

/* Re-encode a pickled *plain value* -- a column label, df.attrs -- as a pickle
 * that names no global and calls nothing, so pickle.loads of the output runs no
 * code whatever the input was.
 *
 * Plain values: None, bool, int (-2^63 .. 2^64-1), float, str (valid UTF-8, lone
 * surrogates allowed as pickle allows them), bytes, bytearray, and tuple, list,
 * dict, set, frozenset of plain values (dict keys and set items hashable ones:
 * no list, dict, set or bytearray among them). Anything else -- a global such as
 * numpy.dtype, any REDUCE/NEWOBJ/BUILD, a wider int, a cycle -- is refused, not
 * converted: numpy scalars, datetimes and Timestamps are not plain.
 *
 * The input is parsed by the restricted reader (nothing is imported or called)
 * as a graph; memo references make it a DAG. The output is that DAG expanded
 * into a tree (shared references come back as copies), so the work and the
 * output are bounded by `limits` -- every visit counts, however it was reached --
 * and a small hostile pickle cannot expand into a huge value. The output holds
 * only PROTO, FRAME, MARK, the value opcodes, EMPTY_TUPLE/LIST/DICT/SET, TUPLE,
 * APPENDS, SETITEMS, ADDITEMS, FROZENSET and STOP; out->buffers is NULL.
 *
 * @return SHMC_ERR_UNSUPPORTED: valid pickle, not a plain value (errmsg names the
 *         construct, e.g. "numpy.dtype(...)", and its byte offset);
 *         SHMC_ERR_LIMIT: a bound of `limits` (or of the reader) was reached;
 *         SHMC_ERR_PICKLE: malformed; SHMC_ERR_NOMEM.
 * errmsg (may be NULL) receives a NUL-terminated detail of up to errcap bytes.
 * Free the output with shmc_pickle_out_free. */
SHMC_API int shmc_pickle_plain(const void *buf, size_t len, const shmc_plain_limits *limits,
                               shmc_pickle_out *out, char *errmsg, size_t errcap);

/* ------------------------------------------------------------------------ */
/* Decoded-size limit                                                        */
/* ------------------------------------------------------------------------ */

/* A compressed chunk may claim up to 32768 times its stored size (zstd's best case),
 * so a small foreign segment could otherwise make a reader allocate and decode tens of
 * gigabytes. Every open therefore caps the total decoded size of a segment -- the sum
 * of all chunks' raw_len, shmc_segment_info.raw_bytes -- and refuses a segment over
 * the cap with SHMC_ERR_LIMIT, naming the chunk, column, row group, byte offset and
 * the sizes. The default (max_decoded 0) is the larger of SHMC_DECODED_FLOOR (1 GiB)
 * and SHMC_DECODED_RATIO (1024) times the segment's size: a 1 MB segment may decode
 * to 1 GiB, a 100 MB one to 100 GiB. SHMC_DECODED_UNLIMITED lifts the cap (the 32768x
 * bound of the format remains). */
#define SHMC_DECODED_DEFAULT   0ull
#define SHMC_DECODED_UNLIMITED UINT64_MAX
#define SHMC_DECODED_FLOOR     (1ull << 30)
#define SHMC_DECODED_RATIO     1024ull

/* Set the cap (bytes) that the next shmc_segment_open* on this handle enforces; it
 * stays set for later opens of the same handle. An open handle is not re-checked.
 * @return SHMC_OK or SHMC_ERR_INVALID_ARG (seg NULL). */
SHMC_API int shmc_segment_limit_set(shmc_segment *seg, uint64_t max_decoded);

#ifdef __cplusplus
}
#endif
#endif /* SHMCHUNK_H */
