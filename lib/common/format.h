/* Internal: segment format v1 -- header layout, constants, little-endian access,
 * and the format's tables and helpers (format.c; the public shmc_kind_itemsize and
 * shmc_kind_name live there too). The normative description is lib/FORMAT.md;
 * keep the two in step. */
#ifndef SHMC_FORMAT_H
#define SHMC_FORMAT_H

#include <stdint.h>
#include <string.h>

#include "shmchunk.h"

#if !defined(__BYTE_ORDER__) || __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "shmchunk v1 assumes a little-endian host (the format is little-endian)"
#endif

#define SHMC_MAGIC        "SHMCHNK\x01" /* 8 bytes, no NUL stored */
#define SHMC_MAGIC_LEN    8
#define SHMC_HEADER_SIZE  128u
#define SHMC_CHUNK_ALIGN  64u
#define SHMC_INDEX_ALIGN  8u
/* Written last; a reader refuses a header without it. */
#define SHMC_SEALED_MAGIC 0x44454C4145534D53ull /* "SMSEALED" read little-endian */

/* Byte offsets of the header fields (all little-endian). */
enum {
    SHMC_HDR_MAGIC = 0,         /* u8[8] */
    SHMC_HDR_VERSION = 8,       /* u16 */
    SHMC_HDR_HEADER_SIZE = 10,  /* u16 */
    SHMC_HDR_LAYOUT = 12,       /* u32 */
    SHMC_HDR_FLAGS = 16,        /* u32 */
    SHMC_HDR_RESERVED0 = 20,    /* u32, zero */
    SHMC_HDR_OWNER_PID = 24,    /* i64 */
    SHMC_HDR_OWNER_START = 32,  /* u64 */
    SHMC_HDR_CREATOR_UID = 40,  /* u32 */
    SHMC_HDR_RESERVED1 = 44,    /* u32, zero */
    SHMC_HDR_TOTAL_SIZE = 48,   /* u64 */
    SHMC_HDR_INDEX_OFFSET = 56, /* u64 */
    SHMC_HDR_INDEX_LEN = 64,    /* u64 */
    SHMC_HDR_INDEX_XXH3 = 72,   /* u64 */
    SHMC_HDR_CREATED_NS = 80,   /* u64 */
    SHMC_HDR_HEADER_XXH3 = 88,  /* u64, over the 128 bytes with this and SEALED zeroed */
    SHMC_HDR_RESERVED2 = 96,    /* u8[24], zero */
    SHMC_HDR_SEALED = 120       /* u64 SHMC_SEALED_MAGIC */
};

/* Format 2: one chunk record of the index's `chunk_table` bin, little-endian
 * (lib/FORMAT.md section 4). */
enum {
    SHMC_CREC_COLUMN = 0,      /* u32 */
    SHMC_CREC_ROWGROUP = 4,    /* u32 */
    SHMC_CREC_ROLE = 8,        /* u8 */
    SHMC_CREC_CODEC = 9,       /* u8 */
    SHMC_CREC_SHUFFLE = 10,    /* u8 */
    SHMC_CREC_RESERVED = 11,   /* u8, zero */
    SHMC_CREC_TYPESIZE = 12,   /* u32 */
    SHMC_CREC_OFFSET = 16,     /* u64 */
    SHMC_CREC_STORED_LEN = 24, /* u64 */
    SHMC_CREC_RAW_LEN = 32,    /* u64 */
    SHMC_CREC_XXH3 = 40,       /* u64 */
    SHMC_CREC_SIZE = 48
};

/* Header flags. */
#define SHMC_HDRF_OWNED 0x1u /* owner pid/start identify a process that will unlink it */

/* Derived from the layout constants above, so a build whose layout drifts is
 * refused by older readers instead of misread. */
#define SHMC_LAYOUT_SIGNATURE                                                                      \
    ((uint32_t)(0x53430000u ^ (SHMC_HEADER_SIZE << 4) ^ (SHMC_CHUNK_ALIGN << 12) ^                 \
                ((uint32_t)SHMC_HDR_SEALED << 20) ^ ((uint32_t)SHMC_HDR_HEADER_XXH3 << 8) ^        \
                ((uint32_t)SHMC_HDR_INDEX_OFFSET)))

/* Upper bound on the expansion of a compressed chunk: zstd's best case (an RLE
 * block of 128 KiB in 4 bytes) is below this ratio, so anything claiming more is
 * corrupt and never makes us allocate more than the input justifies. */
#define SHMC_MAX_EXPANSION 32768u

static inline uint16_t shmc_ld16(const uint8_t *p)
{
    uint16_t v;
    memcpy(&v, p, 2);
    return v;
}
static inline uint32_t shmc_ld32(const uint8_t *p)
{
    uint32_t v;
    memcpy(&v, p, 4);
    return v;
}
static inline uint64_t shmc_ld64(const uint8_t *p)
{
    uint64_t v;
    memcpy(&v, p, 8);
    return v;
}
static inline void shmc_st16(uint8_t *p, uint16_t v) { memcpy(p, &v, 2); }
static inline void shmc_st32(uint8_t *p, uint32_t v) { memcpy(p, &v, 4); }
static inline void shmc_st64(uint8_t *p, uint64_t v) { memcpy(p, &v, 8); }

/* Bit i of an Arrow bitmap (LSB first): validity, bool values. */
static inline unsigned shmc_bit_get(const uint8_t *bits, uint64_t i)
{
    return (unsigned)(bits[i >> 3] >> (i & 7)) & 1u;
}
static inline uint64_t shmc_align_up(uint64_t v, uint64_t a) { return (v + a - 1) / a * a; }

/* Header checksum: XXH3 of the 128 header bytes with the checksum and sealed
 * fields read as zero (so the sealed marker can be written after it). */
uint64_t shmc_header_hash(const uint8_t *hdr);

/* Kind helpers shared by writer and reader. */
int shmc_kind_is_fixed(int kind); /* bool .. timedelta */
/* Which roles a kind may store, and which every row group must have. */
uint32_t shmc_kind_roles_allowed(int kind);
uint32_t shmc_kind_roles_required(int kind);
/* Element size used for shuffle and for checking raw_len of a role. */
uint32_t shmc_role_typesize(int kind, int code_kind, int role);
/* A period column's dtype: "period[<freq>]", freq 1..63 of [A-Za-z0-9-]. */
int shmc_period_dtype_ok(const char *dtype);
/* An interval's bounds: int8 .. float64, datetime, timedelta (not bool). */
int shmc_interval_subtype_ok(int code_kind);
/* A sparse column's values: bool .. float64. */
int shmc_sparse_subtype_ok(int code_kind);

/* The zone-name rule of stored time zones (numpy `tz` and Arrow timestamp types):
 * the index of the first byte that breaks it, or len when the name keeps it. */
size_t shmc_zone_name_bad_byte(const char *tz, size_t len);

#endif
