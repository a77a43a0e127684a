/* test_txt.c: base/txt.c, the one joiner of TXT character-strings (RFC 1035
 * 3.3.14, RFC 6376 3.6.2.2) that signetd's resolver and the CLI share:
 * joins, lengths at the edges, a length octet past the end, the output cap. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "txt.h"

static uint8_t out[600];
static size_t len, n;
static struct signet_error err;

static enum signet_status join(const char *rdata, size_t rdlen, size_t cap)
{
	memset(&err, 0, sizeof err);
	len = n = 99;
	return txt_join((const uint8_t *)rdata, rdlen, out, cap, &len, &n, &err);
}

/* RFC 6376 3.6.2.2 "Strings in a TXT RR MUST be concatenated together before
 * use with no intervening whitespace." */
static void DKIM_KEY_01_txt_join_no_whitespace(void **state)
{
	(void)state;
	assert_int_equal(join("\x05v=DKI\x04M1; \x00\x03p=x", 16, sizeof out), SIGNET_OK);
	assert_int_equal(n, 4);
	assert_int_equal(len, 12);
	assert_memory_equal(out, "v=DKIM1; p=x", 12);
	assert_int_equal(join("", 0, sizeof out), SIGNET_OK); /* no strings at all */
	assert_int_equal(n, 0);
	assert_int_equal(len, 0);
	assert_int_equal(join("\x03"
			      "a\0b",
			      4, sizeof out),
			 SIGNET_OK); /* NUL is data */
	assert_memory_equal(out, "a\0b", 3);
}

/* RFC 1035 3.3 "<character-string> is a single length octet followed by that
 * number of characters": the last string at length-1, exactly, and +1. */
static void DKIM_KEY_01_txt_join_length_past_end(void **state)
{
	(void)state;
	static char rd[257];
	rd[0] = (char)255;
	memset(rd + 1, 'x', 256);
	assert_int_equal(join(rd, 256, sizeof out), SIGNET_OK); /* 255 octets, all there */
	assert_int_equal(len, 255);
	assert_int_equal(n, 1);
	assert_int_equal(join(rd, 255, sizeof out), SIGNET_ERR_SYNTAX); /* one short */
	assert_string_equal(err.msg, "TXT character-string 1 runs past the RDATA");
	assert_string_equal(err.spec, "RFC 1035 3.3.14");
	assert_int_equal(len, 99);                                      /* not set on error */
	assert_int_equal(join(rd, 257, sizeof out), SIGNET_ERR_SYNTAX); /* a 2nd length 'x' */
	assert_string_equal(err.msg, "TXT character-string 2 runs past the RDATA");
	assert_int_equal(join("\x02"
			      "ab\x05"
			      "abc",
			      7, sizeof out),
			 SIGNET_ERR_SYNTAX);
}

/* The output cap: joined text of cap-1, cap and cap+1 bytes. */
static void DKIM_KEY_01_txt_join_cap(void **state)
{
	(void)state;
	const char *rd = "\x02"
			 "ab\x03"
			 "cde";
	assert_int_equal(join(rd, 7, 6), SIGNET_OK);
	assert_int_equal(join(rd, 7, 5), SIGNET_OK);
	assert_int_equal(len, 5);
	assert_int_equal(join(rd, 7, 4), SIGNET_ERR_LIMIT);
	assert_string_equal(err.msg, "joined TXT record over 4 bytes");
	assert_int_equal(txt_join((const uint8_t *)rd, 7, out, 5, &len, NULL, NULL), SIGNET_OK);
}

/* txt_next: strings one by one, borrowed from the RDATA; *pos kept on error. */
static void DKIM_KEY_01_txt_next(void **state)
{
	(void)state;
	const uint8_t rd[] = "\x02"
			     "ab\x00\x09"
			     "c";
	size_t pos = 0;
	struct signet_span s;
	assert_int_equal(txt_next(rd, 6, &pos, &s), TXT_STRING);
	assert_ptr_equal(s.p, rd + 1);
	assert_int_equal(s.len, 2);
	assert_int_equal(txt_next(rd, 6, &pos, &s), TXT_STRING);
	assert_int_equal(s.len, 0);
	assert_int_equal(pos, 4);
	assert_int_equal(txt_next(rd, 6, &pos, &s), TXT_MALFORMED);
	assert_int_equal(pos, 4);
	pos = 3;
	assert_int_equal(txt_next(rd, 4, &pos, &s), TXT_STRING);
	assert_int_equal(txt_next(rd, 4, &pos, &s), TXT_END);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(DKIM_KEY_01_txt_join_no_whitespace),
		cmocka_unit_test(DKIM_KEY_01_txt_join_length_past_end),
		cmocka_unit_test(DKIM_KEY_01_txt_join_cap),
		cmocka_unit_test(DKIM_KEY_01_txt_next),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
