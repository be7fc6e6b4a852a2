/* Writing SHMC_KIND_ARROW columns (segment format 2): Python hands over the Arrow
 * array's own buffers and its type's C data interface format string; the layout
 * (arrow_format.c) says which buffers exist. Fixed-width values and string/binary
 * data are copied as they are; offsets are rebased to 0 at each row group and
 * bitmaps (validity, boolean values) re-packed to start at bit 0 of it, so that a
 * reader can hand each row group to pyarrow.Array.from_buffers with offset 0. */
#include <string.h>

#include "arrow_format.h"
#include "format.h"
#include "frame_arrow.h"

static shmc_arrow_layout layout_of(const shmc_column_desc *d)
{
    shmc_arrow_layout l = {0};
    const char *why;
    (void)shmc_arrow_layout_of(d->arrow, &l, &why); /* checked by desc_check */
    return l;
}

int shmc_frame_arrow_desc_check(shmc_err *e, const shmc_column_desc *d, const char *what,
                                int is_dict)
{
    shmc_arrow_layout l;
    const char *why;
    RETURN_ERROR_IF(shmc_arrow_layout_of(d->arrow, &l, &why) != 0, e, SHMC_ERR_INVALID_ARG,
                    "%s: Arrow format '%.40s': %s", what, d->arrow ? d->arrow : "(null)", why);
    RETURN_ERROR_IF(d->mask || d->unit || d->tz, e, SHMC_ERR_INVALID_ARG,
                    "%s: an Arrow column has no mask, unit or tz (its format says them)", what);
    if (!d->categories) return SHMC_OK;
    RETURN_ERROR_IF(is_dict, e, SHMC_ERR_INVALID_ARG,
                    "%s: an Arrow dictionary is itself dictionary-encoded", what);
    RETURN_ERROR_IF(!l.integer, e, SHMC_ERR_INVALID_ARG,
                    "%s: dictionary indices of Arrow type %s, not an integer", what, l.name);
    RETURN_ERROR_IF(d->categories->kind != SHMC_KIND_ARROW, e, SHMC_ERR_INVALID_ARG,
                    "%s: the dictionary of an Arrow column is a %s column, not an Arrow one", what,
                    shmc_kind_name(d->categories->kind));
    return shmc_frame_arrow_desc_check(e, d->categories, what, 1);
}

static uint64_t count_zero_bits(const uint8_t *v, uint64_t off, uint64_t n)
{
    uint64_t ones = 0;
    for (uint64_t i = 0; i < n; i++) ones += shmc_bit_get(v, off + i);
    return n - ones;
}

static int64_t offset_at(const void *offsets, uint32_t width, uint64_t i)
{
    if (width == 4) {
        int32_t v;
        memcpy(&v, (const uint8_t *)offsets + 4 * i, 4);
        return v;
    }
    int64_t v;
    memcpy(&v, (const uint8_t *)offsets + 8 * i, 8);
    return v;
}

int shmc_frame_arrow_buffers_check(shmc_err *e, const shmc_column_desc *d, uint64_t n,
                                   const char *what, uint64_t *nulls)
{
    shmc_arrow_layout l = layout_of(d);
    *nulls = d->validity ? count_zero_bits(d->validity, d->validity_offset, n) : 0;
    if (l.shape != SHMC_ARROW_VAR) {
        RETURN_ERROR_IF(n && !d->values, e, SHMC_ERR_INVALID_ARG, "%s: values is NULL", what);
        return SHMC_OK;
    }
    RETURN_ERROR_IF(!d->offsets, e, SHMC_ERR_INVALID_ARG, "%s: offsets is NULL", what);
    RETURN_ERROR_IF(offset_at(d->offsets, l.width, 0) < 0, e, SHMC_ERR_INVALID_ARG,
                    "%s: offsets[0] is negative", what);
    for (uint64_t i = 0; i < n; i++)
        RETURN_ERROR_IF(offset_at(d->offsets, l.width, i + 1) < offset_at(d->offsets, l.width, i),
                        e, SHMC_ERR_INVALID_ARG, "%s: offsets decrease at row %llu", what,
                        (unsigned long long)i);
    RETURN_ERROR_IF(offset_at(d->offsets, l.width, n) > offset_at(d->offsets, l.width, 0) &&
                        !d->data,
                    e, SHMC_ERR_INVALID_ARG, "%s: data is NULL", what);
    return SHMC_OK;
}

int shmc_frame_arrow_role_present(const shmc_column_desc *d, int role, uint64_t row0, uint64_t n)
{
    shmc_arrow_layout l = layout_of(d);
    if (!(shmc_arrow_roles_allowed(&l) & (1u << role))) return 0;
    /* A row group without nulls stores no validity chunk (Arrow: no bitmap). */
    if (role == SHMC_ROLE_VALIDITY)
        return d->validity && count_zero_bits(d->validity, d->validity_offset + row0, n) > 0;
    return 1;
}

uint64_t shmc_frame_arrow_raw_len(const shmc_column_desc *d, int role, uint64_t row0, uint64_t n)
{
    shmc_arrow_layout l = layout_of(d);
    if (role == SHMC_ROLE_DATA)
        return (uint64_t)(offset_at(d->offsets, l.width, row0 + n) -
                          offset_at(d->offsets, l.width, row0));
    uint64_t want = 0;
    (void)shmc_arrow_raw_len(&l, role, n, &want); /* n <= nrows of buffers the caller holds */
    return want;
}

uint32_t shmc_frame_arrow_typesize(const shmc_column_desc *d, int role)
{
    shmc_arrow_layout l = layout_of(d);
    return shmc_arrow_typesize(&l, role);
}

const uint8_t *shmc_frame_arrow_direct(const shmc_column_desc *d, int role, uint64_t row0)
{
    shmc_arrow_layout l = layout_of(d);
    if (role == SHMC_ROLE_VALUES && l.shape == SHMC_ARROW_FIXED)
        return (const uint8_t *)d->values + row0 * l.width;
    if (role == SHMC_ROLE_DATA) return d->data + offset_at(d->offsets, l.width, row0);
    return NULL;
}

static void bits_repack(const uint8_t *src, uint64_t off, uint64_t n, uint64_t raw_len,
                        uint8_t *dst)
{
    memset(dst, 0, raw_len); /* padding bits zero: output is deterministic */
    for (uint64_t i = 0; i < n; i++)
        dst[i >> 3] |= (uint8_t)(shmc_bit_get(src, off + i) << (i & 7));
}

void shmc_frame_arrow_transform(const shmc_column_desc *d, int role, uint64_t row0, uint64_t n,
                                uint64_t raw_len, uint8_t *dst)
{
    shmc_arrow_layout l = layout_of(d);
    if (role == SHMC_ROLE_VALIDITY) {
        bits_repack(d->validity, d->validity_offset + row0, n, raw_len, dst);
        return;
    }
    if (role == SHMC_ROLE_VALUES) {
        bits_repack(d->values, d->values_bit_offset + row0, n, raw_len, dst);
        return;
    }
    int64_t base = offset_at(d->offsets, l.width, row0);
    for (uint64_t i = 0; i <= n; i++) {
        int64_t v = offset_at(d->offsets, l.width, row0 + i) - base;
        if (l.width == 4) {
            int32_t v32 = (int32_t)v;
            memcpy(dst + 4 * i, &v32, 4);
        } else memcpy(dst + 8 * i, &v, 8);
    }
}
