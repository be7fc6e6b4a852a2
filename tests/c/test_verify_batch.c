/* Tests of shmc_segment_chunks_verify: the batch (threaded for large sets) check
 * finds every flipped chunk, names the first one in array order, checks ranges. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "helpers_core.h"
#include "shmchunk.h"

typedef struct fixture {
    uint8_t *buf, *work;
    size_t len;
    uint32_t nchunks;
    uint32_t *all;
    shmc_chunk_info *ks;
} fixture;

#define NROWS 600000u

/* Two int64 columns of 4.8 MB each: large enough for the multi-threaded path. */
static shmc_frame *big_frame(int64_t *a, int64_t *b)
{
    shmc_frame *f = NULL;
    if (shmc_frame_create(&f) != SHMC_OK) return NULL;
    shmc_frame_set_nrows(f, NROWS);
    hc_fill(a, NROWS * sizeof *a, 3);
    hc_fill(b, NROWS * sizeof *b, 4);
    int64_t *cols[] = {a, b};
    const char *names[] = {"a", "b"};
    for (int i = 0; i < 2; i++) {
        shmc_column_desc d = {0};
        d.kind = SHMC_KIND_INT64;
        d.label = (shmc_label){SHMC_LABEL_STR, names[i], 1, 0};
        d.values = cols[i];
        if (shmc_frame_add_column(f, &d) != SHMC_OK) return NULL;
    }
    return f;
}

static int setup(void **state)
{
    fixture *fx = calloc(1, sizeof *fx);
    int64_t *a = malloc(NROWS * sizeof *a), *b = malloc(NROWS * sizeof *b);
    shmc_frame *f = a && b ? big_frame(a, b) : NULL;
    shmc_write_opts o;
    shmc_write_opts_init(&o);
    o.rows_per_chunk = 32768;
    o.threads = 1;
    if (!fx || !f || hc_write_to_buffer(f, &o, &fx->buf, &fx->len) != SHMC_OK) return -1;
    shmc_frame_free(f);
    free(a);
    free(b);
    fx->work = malloc(fx->len);
    shmc_segment *seg;
    shmc_segment_create(&seg);
    if (shmc_segment_open_buffer(seg, fx->buf, fx->len, SHMC_OPEN_NO_VERIFY) != SHMC_OK) return -1;
    shmc_segment_info info;
    shmc_segment_info_get(seg, &info);
    fx->nchunks = info.nchunks;
    fx->all = calloc(info.nchunks, sizeof *fx->all);
    fx->ks = calloc(info.nchunks, sizeof *fx->ks);
    for (uint32_t i = 0; i < info.nchunks; i++) {
        fx->all[i] = i;
        shmc_segment_chunk_info(seg, i, &fx->ks[i]);
    }
    shmc_segment_free(seg);
    *state = fx;
    return 0;
}

static int teardown(void **state)
{
    fixture *fx = *state;
    free(fx->buf);
    free(fx->work);
    free(fx->all);
    free(fx->ks);
    free(fx);
    return 0;
}

static shmc_segment *open_work(fixture *fx)
{
    shmc_segment *seg;
    shmc_segment_create(&seg);
    assert_int_equal(shmc_segment_open_buffer(seg, fx->work, fx->len, SHMC_OPEN_NO_VERIFY),
                     SHMC_OK);
    return seg;
}

static void test_pristine_passes(void **state)
{
    fixture *fx = *state;
    uint64_t total = 0;
    for (uint32_t i = 0; i < fx->nchunks; i++) total += fx->ks[i].stored_len;
    assert_true(total >= (4u << 20)); /* the threaded path is what is tested */
    memcpy(fx->work, fx->buf, fx->len);
    shmc_segment *seg = open_work(fx);
    assert_int_equal(shmc_segment_chunks_verify(seg, fx->all, fx->nchunks), SHMC_OK);
    assert_int_equal(shmc_segment_chunks_verify(seg, fx->all, 0), SHMC_OK);
    shmc_segment_free(seg);
}

/* A flipped bit anywhere in any chunk is found, and the message names that chunk. */
static void test_every_chunk_flip_found(void **state)
{
    fixture *fx = *state;
    for (uint32_t i = 0; i < fx->nchunks; i++) {
        if (fx->ks[i].stored_len == 0) continue;
        memcpy(fx->work, fx->buf, fx->len);
        uint64_t at = fx->ks[i].offset + (fx->ks[i].stored_len * (i % 7)) / 7;
        fx->work[at] ^= (uint8_t)(1u << (i % 8));
        shmc_segment *seg = open_work(fx);
        assert_int_equal(shmc_segment_chunks_verify(seg, fx->all, fx->nchunks),
                         SHMC_ERR_CHUNK_CHECKSUM);
        char want[32];
        snprintf(want, sizeof want, "chunk %u", i);
        assert_non_null(strstr(shmc_segment_errmsg(seg), want));
        shmc_segment_free(seg);
    }
}

static void test_first_bad_in_array_order(void **state)
{
    fixture *fx = *state;
    uint32_t a = 1, b = fx->nchunks - 2;
    memcpy(fx->work, fx->buf, fx->len);
    fx->work[fx->ks[a].offset] ^= 1;
    fx->work[fx->ks[b].offset] ^= 1;
    shmc_segment *seg = open_work(fx);
    uint32_t order[] = {0, b, a};
    assert_int_equal(shmc_segment_chunks_verify(seg, order, 3), SHMC_ERR_CHUNK_CHECKSUM);
    char want[32];
    snprintf(want, sizeof want, "chunk %u", b);
    assert_non_null(strstr(shmc_segment_errmsg(seg), want));
    uint32_t good[] = {0, a + 1};
    assert_int_equal(shmc_segment_chunks_verify(seg, good, 2), SHMC_OK);
    shmc_segment_free(seg);
}

static void test_bad_arguments(void **state)
{
    fixture *fx = *state;
    memcpy(fx->work, fx->buf, fx->len);
    shmc_segment *seg = open_work(fx);
    uint32_t out_of_range[] = {0, fx->nchunks};
    assert_int_equal(shmc_segment_chunks_verify(seg, out_of_range, 2), SHMC_ERR_RANGE);
    assert_int_equal(shmc_segment_chunks_verify(seg, NULL, 1), SHMC_ERR_INVALID_ARG);
    shmc_segment_free(seg);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_pristine_passes),
        cmocka_unit_test(test_every_chunk_flip_found),
        cmocka_unit_test(test_first_bad_in_array_order),
        cmocka_unit_test(test_bad_arguments),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
