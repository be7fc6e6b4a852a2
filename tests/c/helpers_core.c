#include "helpers_core.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static unsigned hc_counter;

void hc_shm_name(char *out, size_t cap, const char *tag)
{
    snprintf(out, cap, "shm:shmc-test-%s-%d-%u", tag, (int)getpid(), hc_counter++);
}

void hc_tmp_path(char *out, size_t cap, const char *tag)
{
    const char *dir = getenv("TMPDIR");
    snprintf(out, cap, "%s/shmc-test-%s-%d-%u.seg", dir && *dir ? dir : "/tmp", tag, (int)getpid(),
             hc_counter++);
}

uint8_t *hc_read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    uint8_t *p = malloc(n > 0 ? (size_t)n : 1);
    if (p && n > 0 && fread(p, 1, (size_t)n, f) != (size_t)n) {
        free(p);
        p = NULL;
    }
    fclose(f);
    *len = n > 0 ? (size_t)n : 0;
    return p;
}

int hc_write_file(const char *path, const void *p, size_t len)
{
    FILE *f = fopen(path, "wb");
    if (!f) return -1;
    size_t w = fwrite(p, 1, len, f);
    fclose(f);
    return w == len ? 0 : -1;
}

void hc_fill(void *p, size_t len, uint64_t seed)
{
    uint64_t x = seed * 0x9E3779B97F4A7C15ull + 1;
    uint8_t *b = p;
    for (size_t i = 0; i < len; i++) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        b[i] = (uint8_t)x;
    }
}

int hc_write_to_buffer(shmc_frame *frame, const shmc_write_opts *opts, uint8_t **buf, size_t *len)
{
    char path[256];
    hc_tmp_path(path, sizeof path, "buf");
    int rc = shmc_frame_write(frame, path, opts, NULL, 0);
    if (rc != SHMC_OK) return rc;
    *buf = hc_read_file(path, len);
    unlink(path);
    return *buf ? SHMC_OK : SHMC_ERR_IO;
}

shmc_segment *hc_open_written(shmc_frame *frame, const shmc_write_opts *opts, uint8_t **buf)
{
    size_t len;
    shmc_segment *seg = NULL;
    *buf = NULL;
    if (hc_write_to_buffer(frame, opts, buf, &len) != SHMC_OK || shmc_segment_create(&seg))
        return NULL;
    if (shmc_segment_open_buffer(seg, *buf, len, SHMC_OPEN_VERIFY_ALL) == SHMC_OK) return seg;
    shmc_segment_free(seg);
    return NULL;
}

const char *const hc_mixed_names[] = {"b",   "i8",  "i16", "i32", "i64", "u8", "u16",  "u32", "u64",
                                      "f32", "f64", "ts",  "td",  "cat", "s",  "nint", "obj"};
const unsigned hc_mixed_ncols = sizeof hc_mixed_names / sizeof hc_mixed_names[0];

static void *owned(shmc_frame *f, size_t len)
{
    void *p = calloc(1, len ? len : 1);
    shmc_frame_keep(f, p, free);
    return p;
}

static shmc_label lab(const char *s) { return (shmc_label){SHMC_LABEL_STR, s, strlen(s), 0}; }

static void add_fixed(shmc_frame *f, int kind, const char *name, uint64_t n, uint64_t seed)
{
    shmc_column_desc d = {0};
    d.kind = kind;
    d.label = lab(name);
    size_t sz = shmc_kind_itemsize(kind);
    uint8_t *v = owned(f, n * sz);
    hc_fill(v, n * sz, seed);
    if (kind == SHMC_KIND_BOOL)
        for (uint64_t i = 0; i < n; i++) v[i] &= 1;
    if (kind == SHMC_KIND_DATETIME) {
        d.unit = SHMC_UNIT_NS;
        d.tz = "Europe/Paris";
    }
    if (kind == SHMC_KIND_TIMEDELTA) d.unit = SHMC_UNIT_US;
    d.values = v;
    shmc_frame_add_column(f, &d);
}

static void add_categorical(shmc_frame *f, uint64_t n)
{
    static const char cats[] = "redgreenblue";
    static const int64_t cat_off[] = {0, 3, 8, 12};
    shmc_column_desc dict = {0};
    dict.kind = SHMC_KIND_STRING;
    dict.offsets = cat_off;
    dict.data = (const uint8_t *)cats;
    int16_t *codes = owned(f, n * 2);
    for (uint64_t i = 0; i < n; i++) codes[i] = (int16_t)(i % 4 == 3 ? -1 : (int64_t)(i % 3));
    shmc_column_desc d = {0};
    d.kind = SHMC_KIND_CATEGORICAL;
    d.flags = SHMC_COL_ORDERED;
    d.label = lab("cat");
    d.values = codes;
    d.code_kind = SHMC_KIND_INT16;
    d.categories = &dict;
    d.ncategories = 3;
    shmc_frame_add_column(f, &d);
}

/* Strings with a nonzero offsets[0] and validity_offset 3, every 5th null. */
static void add_strings(shmc_frame *f, uint64_t n)
{
    int64_t *off = owned(f, (n + 1) * 8);
    uint8_t *data = owned(f, 7 + n * 4);
    uint8_t *val = owned(f, (n + 3 + 7) / 8 + 1);
    off[0] = 7;
    for (uint64_t i = 0; i < n; i++) {
        uint64_t l = i % 5 == 4 ? 0 : i % 4;
        for (uint64_t k = 0; k < l; k++) data[(size_t)off[i] + k] = (uint8_t)('a' + (i + k) % 26);
        off[i + 1] = off[i] + (int64_t)l;
        if (i % 5 != 4) val[(i + 3) >> 3] |= (uint8_t)(1u << ((i + 3) & 7));
    }
    shmc_column_desc d = {0};
    d.kind = SHMC_KIND_STRING;
    d.label = lab("s");
    d.dtype = "str";
    d.offsets = off;
    d.data = data;
    d.validity = val;
    d.validity_offset = 3;
    shmc_frame_add_column(f, &d);
}

static void add_nullable(shmc_frame *f, uint64_t n)
{
    int64_t *v = owned(f, n * 8);
    uint8_t *m = owned(f, n);
    for (uint64_t i = 0; i < n; i++) {
        v[i] = (int64_t)i * 3;
        m[i] = i % 7 == 0;
    }
    shmc_column_desc d = {0};
    d.kind = SHMC_KIND_INT64;
    d.label = lab("nint");
    d.dtype = "Int64";
    d.values = v;
    d.mask = m;
    shmc_frame_add_column(f, &d);
}

static void add_object(shmc_frame *f, uint64_t n, uint64_t rpc)
{
    size_t nb = (size_t)(n / rpc + (n % rpc != 0));
    const void **blobs = owned(f, nb * sizeof *blobs);
    size_t *lens = owned(f, nb * sizeof *lens);
    for (size_t i = 0; i < nb; i++) {
        lens[i] = 10 + i;
        uint8_t *b = owned(f, lens[i]);
        hc_fill(b, lens[i], 77 + i);
        blobs[i] = b;
    }
    shmc_column_desc d = {0};
    d.kind = SHMC_KIND_OBJECT;
    d.label = lab("obj");
    d.blobs = blobs;
    d.blob_lens = lens;
    d.nblobs = nb;
    shmc_frame_add_column(f, &d);
}

/* Row groups of 64 rows in the mixed frame. */
#define HC_MIXED_RPC 64

shmc_frame *hc_mixed_frame(uint64_t n)
{
    shmc_frame *f = NULL;
    if (shmc_frame_create(&f) != SHMC_OK) return NULL;
    shmc_frame_set_nrows(f, n);
    static const int kinds[] = {SHMC_KIND_BOOL,     SHMC_KIND_INT8,    SHMC_KIND_INT16,
                                SHMC_KIND_INT32,    SHMC_KIND_INT64,   SHMC_KIND_UINT8,
                                SHMC_KIND_UINT16,   SHMC_KIND_UINT32,  SHMC_KIND_UINT64,
                                SHMC_KIND_FLOAT32,  SHMC_KIND_FLOAT64, SHMC_KIND_DATETIME,
                                SHMC_KIND_TIMEDELTA};
    for (unsigned i = 0; i < sizeof kinds / sizeof kinds[0]; i++)
        add_fixed(f, kinds[i], hc_mixed_names[i], n, i + 1);
    add_categorical(f, n);
    add_strings(f, n);
    add_nullable(f, n);
    add_object(f, n, HC_MIXED_RPC);
    return f;
}

uint8_t *hc_decode_role(shmc_segment *seg, uint32_t col, int role, size_t *len)
{
    shmc_column_info ci;
    if (shmc_segment_column_info(seg, col, &ci) != SHMC_OK) return NULL;
    size_t total = 0;
    uint8_t *out = malloc(1);
    for (uint64_t rg = 0; rg < ci.nrowgroups; rg++) {
        uint32_t id;
        shmc_chunk_info k;
        if (shmc_segment_chunk_find(seg, col, rg, role, &id) != SHMC_OK) continue;
        shmc_segment_chunk_info(seg, id, &k);
        out = realloc(out, total + (size_t)k.raw_len + 1);
        if (shmc_segment_chunk_decode(seg, id, out + total, (size_t)k.raw_len) != SHMC_OK) {
            free(out);
            return NULL;
        }
        total += (size_t)k.raw_len;
    }
    *len = total;
    return out;
}
