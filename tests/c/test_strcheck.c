/* Tests of shmc_strings_check (lib/core/strcheck.c): offsets and UTF-8 of string buffers. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "shmchunk.h"

/* Offsets of the strings of `text` separated by '|' (the bars are left in the data
 * but not covered: each string ends before its bar). */
static size_t split(const char *text, int64_t *off, size_t cap)
{
    size_t n = 0, start = 0, len = strlen(text);
    for (size_t i = 0; i <= len && n + 1 < cap; i++) {
        if (i == len || text[i] == '|') {
            off[n++] = (int64_t)start;
            start = i + 1;
        }
    }
    return n;
}

static int check(const int64_t *off, size_t n, const char *data, size_t *bad)
{
    return shmc_strings_check(off, n, data, strlen(data), bad);
}

static void test_valid_text_accepted(void **state)
{
    (void)state;
    const char *data = "hello wonderful world"
                       "\xc3\xa9t\xc3\xa9"
                       "\xe2\x82\xac"
                       "\xf0\x9f\x98\x80";
    int64_t off[] = {0, 5, 5, 15, 21, 26, 29, 33};
    size_t bad = 99;
    assert_int_equal(check(off, 8, data, &bad), SHMC_OK);
    assert_int_equal(check(off, 1, data, NULL), SHMC_OK); /* zero strings */
}

static void test_offsets_rejected(void **state)
{
    (void)state;
    const char *data = "abcdef";
    int64_t down[] = {0, 4, 3, 6}, past[] = {0, 3, 7}, neg[] = {-1, 2};
    size_t bad = 99;
    assert_int_equal(check(down, 4, data, &bad), SHMC_ERR_CORRUPT);
    assert_int_equal(bad, 1);
    assert_int_equal(check(past, 3, data, &bad), SHMC_ERR_CORRUPT);
    assert_int_equal(bad, 1);
    assert_int_equal(check(neg, 2, data, &bad), SHMC_ERR_CORRUPT);
    int64_t mid_past[] = {0, 9, 6}; /* last offset fine, one in the middle past the end */
    assert_int_equal(check(mid_past, 3, data, &bad), SHMC_ERR_CORRUPT);
    assert_int_equal(bad, 0);
    const char *accented = "ab\xc3\xa9"
                           "cd"; /* not ASCII: the other offsets path */
    int64_t down_u[] = {0, 4, 2, 6}, past_u[] = {0, 9, 6};
    assert_int_equal(check(down_u, 4, accented, &bad), SHMC_ERR_CORRUPT);
    assert_int_equal(bad, 1);
    assert_int_equal(check(past_u, 3, accented, &bad), SHMC_ERR_CORRUPT);
    assert_int_equal(bad, 0);
    assert_int_equal(shmc_strings_check(NULL, 2, data, 6, &bad), SHMC_ERR_INVALID_ARG);
}

static void test_bad_utf8_rejected(void **state)
{
    (void)state;
    const char *cases[] = {
        "abcdefgh\x80",        /* lone continuation after an ASCII run */
        "ab\xc0\xafz",         /* overlong '/' */
        "ab\xe0\x80\xafz",     /* overlong 3-byte */
        "ab\xed\xa0\x80z",     /* surrogate */
        "ab\xf4\x90\x80\x80z", /* above U+10FFFF */
        "ab\xe2\x82",          /* truncated at the end */
        "ab\xffz",
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        int64_t off[] = {0, (int64_t)strlen(cases[i])};
        assert_int_equal(check(off, 2, cases[i], NULL), SHMC_ERR_CORRUPT);
    }
}

static void test_split_inside_a_character_rejected(void **state)
{
    (void)state;
    const char *data = "x\xc3\xa9y"; /* valid as a whole; a string may not start at byte 2 */
    int64_t off[] = {0, 2, 4};
    size_t bad = 99;
    assert_int_equal(check(off, 3, data, &bad), SHMC_ERR_CORRUPT);
    assert_int_equal(bad, 1);
    int64_t whole[] = {0, 1, 1, 3,
                       4}; /* the same bytes split at characters, with an empty string */
    assert_int_equal(check(whole, 5, data, &bad), SHMC_OK);
}

static void test_unaligned_offsets_and_gaps(void **state)
{
    (void)state;
    const char *data = "alpha|beta|\xc3\xa9t\xc3\xa9|x";
    int64_t off[8];
    size_t n = split(data, off, 8);
    assert_int_equal(n, 4);
    off[n] = (int64_t)strlen(data); /* n+1 offsets: the bars lie inside strings */
    uint8_t raw[8 * 8 + 1];
    memcpy(raw + 1, off, (n + 1) * 8); /* one byte off 8-alignment */
    assert_int_equal(shmc_strings_check(raw + 1, n + 1, data, strlen(data), NULL), SHMC_OK);
    raw[1 + 8 * 3] = 12; /* string 3 now starts on the second byte of the first e-acute */
    assert_int_equal(shmc_strings_check(raw + 1, n + 1, data, strlen(data), NULL),
                     SHMC_ERR_CORRUPT);
}

/* Long texts go through the 256-byte block path: a character straddling a block
 * boundary is fine, a bad byte deep in a later block is found, and negative or
 * huge offsets in the middle of an ASCII run are refused. */
static void test_long_text_blocks(void **state)
{
    (void)state;
    enum { LEN = 4096 };
    static char text[LEN + 1];
    memset(text, 'a', LEN);
    text[LEN] = '\0';
    int64_t off[] = {0, 100, 255, 257, 1000, LEN};
    text[255] = '\xc3'; /* e-acute across the boundary at byte 256 */
    text[256] = '\xa9';
    assert_int_equal(check(off, 6, text, NULL), SHMC_OK);
    text[3000] = '\xff';
    assert_int_equal(check(off, 6, text, NULL), SHMC_ERR_CORRUPT);
    text[3000] = 'a';
    text[255] = text[256] = 'b'; /* pure ASCII: the order-only path */
    int64_t neg_mid[] = {0, -1, LEN}, huge_mid[] = {0, INT64_MAX, LEN},
            min_mid[] = {0, INT64_MIN, LEN};
    size_t bad = 99;
    assert_int_equal(check(off, 6, text, &bad), SHMC_OK);
    assert_int_equal(check(neg_mid, 3, text, &bad), SHMC_ERR_CORRUPT);
    assert_int_equal(bad, 0);
    assert_int_equal(check(huge_mid, 3, text, &bad), SHMC_ERR_CORRUPT);
    assert_int_equal(check(min_mid, 3, text, &bad), SHMC_ERR_CORRUPT);
    int64_t many[LEN / 8 + 1];
    for (size_t i = 0; i <= LEN / 8; i++) many[i] = (int64_t)i * 8;
    assert_int_equal(check(many, LEN / 8 + 1, text, NULL), SHMC_OK);
    many[300] = many[299] - 1; /* one step back deep in a long vectorised run */
    assert_int_equal(check(many, LEN / 8 + 1, text, &bad), SHMC_ERR_CORRUPT);
    assert_int_equal(bad, 299);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_valid_text_accepted),
        cmocka_unit_test(test_offsets_rejected),
        cmocka_unit_test(test_bad_utf8_rejected),
        cmocka_unit_test(test_split_inside_a_character_rejected),
        cmocka_unit_test(test_unaligned_offsets_and_gaps),
        cmocka_unit_test(test_long_text_blocks),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
