/* test_buf.c: the capped buffer and span helpers (base/buf.c): the cap at
 * limit-1, limit and limit+1, termination at the cap, FWS trimming and the
 * case-insensitive comparisons. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "buf.h"

enum { MAX = 16 };

static void fill(struct signet_buf *b, size_t n)
{
	uint8_t bytes[64];
	memset(bytes, 'x', sizeof bytes);
	assert_int_equal(buf_append(b, bytes, n), SIGNET_OK);
}

/* "SIGNET_ERR_LIMIT past max ... b unchanged on error" (buf.h) */
static void buf_cap_limit_minus_1(void **state)
{
	(void)state;
	struct signet_buf b;
	buf_init(&b, MAX);
	fill(&b, MAX - 1);
	assert_int_equal(b.len, MAX - 1);
	assert_int_equal(buf_append_byte(&b, 'y'), SIGNET_OK);
	assert_int_equal(b.len, MAX);
	assert_int_equal(b.data[MAX - 1], 'y');
	buf_free(&b);
}

static void buf_cap_at_limit(void **state)
{
	(void)state;
	struct signet_buf b;
	buf_init(&b, MAX);
	fill(&b, MAX);
	assert_int_equal(b.len, MAX);
	assert_int_equal(buf_append_byte(&b, 'y'), SIGNET_ERR_LIMIT);
	assert_int_equal(b.len, MAX);
	assert_int_equal(buf_append(&b, "", 0), SIGNET_OK); /* nothing is never too much */
	buf_free(&b);
}

static void buf_cap_limit_plus_1(void **state)
{
	(void)state;
	struct signet_buf b;
	buf_init(&b, MAX);
	uint8_t bytes[MAX + 1];
	memset(bytes, 'z', sizeof bytes);
	assert_int_equal(buf_append(&b, bytes, MAX + 1), SIGNET_ERR_LIMIT);
	assert_int_equal(b.len, 0);
	assert_null(b.data);
	fill(&b, 3);
	assert_int_equal(buf_append(&b, bytes, MAX - 2), SIGNET_ERR_LIMIT);
	assert_int_equal(b.len, 3); /* unchanged on error */
	assert_memory_equal(b.data, "xxx", 3);
	buf_free(&b);
}

/* Length arithmetic is overflow-checked: n near SIZE_MAX must not wrap. */
static void buf_append_huge_length(void **state)
{
	(void)state;
	struct signet_buf b;
	buf_init(&b, SIZE_MAX);
	fill(&b, 2);
	assert_int_equal(buf_append(&b, "x", SIZE_MAX - 1), SIGNET_ERR_LIMIT);
	assert_int_equal(b.len, 2);
	buf_free(&b);
}

/* "Makes data NUL-terminated (not counted in len)"; must work at the cap. */
static void buf_terminate_at_cap(void **state)
{
	(void)state;
	struct signet_buf b;
	buf_init(&b, MAX);
	assert_int_equal(buf_terminate(&b), SIGNET_OK);
	assert_int_equal(b.len, 0);
	assert_int_equal(b.data[0], '\0');
	fill(&b, MAX);
	assert_int_equal(buf_terminate(&b), SIGNET_OK);
	assert_int_equal(b.len, MAX);
	assert_int_equal(b.data[MAX], '\0');
	assert_int_equal(strlen((char *)b.data), MAX);
	buf_free(&b);
}

static void buf_append_str_and_reset(void **state)
{
	(void)state;
	struct signet_buf b;
	buf_init(&b, 1000);
	assert_int_equal(buf_append_str(&b, "abc"), SIGNET_OK);
	assert_int_equal(buf_append_str(&b, "def"), SIGNET_OK);
	assert_int_equal(b.len, 6);
	assert_memory_equal(b.data, "abcdef", 6);
	buf_reset(&b);
	assert_int_equal(b.len, 0);
	/* Growth past the first 64-byte allocation keeps the old bytes. */
	for (int k = 0; k < 200; k++)
		assert_int_equal(buf_append_byte(&b, (uint8_t)k), SIGNET_OK);
	for (int k = 0; k < 200; k++)
		assert_int_equal(b.data[k], (uint8_t)k);
	buf_free(&b);
	assert_null(b.data);
	assert_int_equal(b.len, 0);
	buf_free(&b); /* twice is harmless */
}

/* "Trims WSP and CR/LF (FWS) on both ends." */
static void span_trim_fws_both_ends(void **state)
{
	(void)state;
	static const uint8_t in[] = " \t\r\n a \t b\r\n\t ";
	struct signet_span s = {in, sizeof in - 1};
	struct signet_span t = span_trim_fws(s);
	assert_int_equal(t.len, 5);
	assert_memory_equal(t.p, "a \t b", 5);
	struct signet_span all = {in, 4};
	assert_int_equal(span_trim_fws(all).len, 0);
	struct signet_span empty = {in, 0};
	assert_int_equal(span_trim_fws(empty).len, 0);
	/* VT and NBSP are not WSP. */
	static const uint8_t vt[] = "\v a\xa0";
	struct signet_span v = {vt, 4};
	assert_int_equal(span_trim_fws(v).len, 4);
}

static void span_eq_nocase_ascii_only(void **state)
{
	(void)state;
	assert_true(span_eq_nocase(span_from_str("FROM"), "from"));
	assert_true(span_eq_nocase(span_from_str("From"), "fROM"));
	assert_false(span_eq_nocase(span_from_str("from "), "from"));
	assert_false(span_eq_nocase(span_from_str("fro"), "from"));
	assert_false(span_eq_nocase(span_from_str(""), "from"));
	assert_true(span_eq_nocase(span_from_str(""), ""));
	assert_false(span_eq_nocase(span_from_str("x"), ""));
	/* A span with a NUL is never equal to a C string that ends there. */
	static const uint8_t fr0[] = {'f', 'r', 0};
	assert_false(span_eq_nocase((struct signet_span){fr0, 3}, "fr"));
	assert_true(span_eq_nocase((struct signet_span){fr0, 2}, "FR"));
	/* Only ASCII letters fold: 0xC4 ('Ä' in Latin-1) is not 0xE4. */
	assert_false(span_eq_nocase(span_from_str("\xc4"), "\xe4"));
	/* NUL in the middle is compared, not a terminator. */
	static const uint8_t a[] = {'a', 0, 'b'}, b2[] = {'A', 0, 'c'};
	struct signet_span sa = {a, 3}, sb = {b2, 3};
	assert_false(span_eq_nocase_span(sa, sb));
	sb.len = 2;
	sa.len = 2;
	assert_true(span_eq_nocase_span(sa, sb));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(buf_cap_limit_minus_1),
		cmocka_unit_test(buf_cap_at_limit),
		cmocka_unit_test(buf_cap_limit_plus_1),
		cmocka_unit_test(buf_append_huge_length),
		cmocka_unit_test(buf_terminate_at_cap),
		cmocka_unit_test(buf_append_str_and_reset),
		cmocka_unit_test(span_trim_fws_both_ends),
		cmocka_unit_test(span_eq_nocase_ascii_only),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
