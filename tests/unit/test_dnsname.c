/* test_dnsname.c: base/dnsname.c, the one DNS-name check (signetd's config,
 * the CLI, d=/s= of the signature parser): labels and names at their RFC
 * 1035 2.3.4 limits -1/=/+1, each problem with its offset, NUL, U-labels. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "dnsname.h"

static size_t at;

static enum dnsname_problem check_n(const char *s, size_t n, unsigned flags)
{
	at = 999;
	return dnsname_check((const uint8_t *)s, n, flags, &at);
}

static enum dnsname_problem check(const char *s, unsigned flags)
{
	return check_n(s, strlen(s), flags);
}

/* RFC 6376 3.5 "domain-name = sub-domain 1*("." sub-domain)"; selectors
 * likewise (3.1); '_' is allowed, as in real selectors. */
static void DKIM_SIG_06_dnsname_ok(void **state)
{
	(void)state;
	assert_int_equal(check("example.com", 0), DNSNAME_OK);
	assert_int_equal(check("s_1-2024.Example.COM", 0), DNSNAME_OK);
	assert_int_equal(check("localhost", 0), DNSNAME_OK);
	assert_int_equal(at, 0);
	assert_string_equal(dnsname_reason(DNSNAME_OK), "");
}

static void DKIM_SIG_06_dnsname_empty_labels(void **state)
{
	(void)state;
	assert_int_equal(check("", 0), DNSNAME_EMPTY);
	assert_int_equal(check(".example.com", 0), DNSNAME_EMPTY_LABEL);
	assert_int_equal(at, 0);
	assert_int_equal(check("example..com", 0), DNSNAME_EMPTY_LABEL);
	assert_int_equal(at, 8);
	assert_int_equal(check("example.com.", 0), DNSNAME_EMPTY_LABEL);
	assert_int_equal(at, 12);
	assert_string_equal(dnsname_reason(DNSNAME_EMPTY_LABEL),
			    "has an empty label (a leading, trailing or double dot)");
}

/* RFC 1035 2.3.4 "labels 63 octets or less": 62, 63, 64. */
static void DKIM_SIG_06_dnsname_label_limit(void **state)
{
	(void)state;
	char name[80];
	for (size_t n = DNSNAME_MAX_LABEL - 1; n <= DNSNAME_MAX_LABEL + 1; n++) {
		memset(name, 'a', n);
		memcpy(name + n, ".com", 5);
		assert_int_equal(check(name, 0),
				 n <= DNSNAME_MAX_LABEL ? DNSNAME_OK : DNSNAME_LABEL_TOO_LONG);
	}
	assert_int_equal(at, 0);
	assert_string_equal(dnsname_reason(DNSNAME_LABEL_TOO_LONG),
			    "has a label longer than 63 octets (RFC 1035 2.3.4)");
}

/* RFC 1035 2.3.4 "names 255 octets or less" on the wire: 253 written. */
static void DKIM_SIG_06_dnsname_name_limit(void **state)
{
	(void)state;
	char name[300];
	for (size_t n = DNSNAME_MAX - 1; n <= DNSNAME_MAX + 1; n++) {
		memset(name, 'a', n);
		for (size_t k = 50; k < n; k += 51)
			name[k] = '.'; /* labels of 50 */
		name[n] = '\0';
		assert_int_equal(check(name, 0), n <= DNSNAME_MAX ? DNSNAME_OK : DNSNAME_TOO_LONG);
	}
	assert_int_equal(at, DNSNAME_MAX);
}

static void DKIM_SIG_06_dnsname_bad_octets(void **state)
{
	(void)state;
	assert_int_equal(check("exa mple.com", 0), DNSNAME_BAD_CHAR);
	assert_int_equal(at, 3);
	assert_int_equal(check("*.example.com", 0), DNSNAME_BAD_CHAR);
	assert_int_equal(at, 0);
	assert_int_equal(check_n("exa\0mple.com", 12, 0), DNSNAME_BAD_CHAR); /* NUL inside */
	assert_int_equal(at, 3);
	assert_int_equal(check("example.com;", 0), DNSNAME_BAD_CHAR);
	assert_int_equal(at, 11);
}

/* DKIM-EAI-02: U-labels only with DNSNAME_UTF8; a UTF-8 label is not held
 * to 63 octets (its A-label is what DNS sees). */
static void DKIM_EAI_02_dnsname_u_labels(void **state)
{
	(void)state;
	assert_int_equal(check("b\xc3\xbc"
			       "cher.example",
			       0),
			 DNSNAME_NOT_ASCII);
	assert_int_equal(at, 1);
	assert_string_equal(dnsname_reason(DNSNAME_NOT_ASCII),
			    "is not ASCII; give the A-label form (xn--...)");
	assert_int_equal(check("b\xc3\xbc"
			       "cher.example",
			       DNSNAME_UTF8),
			 DNSNAME_OK);
	char name[100];
	for (size_t k = 0; k < 35; k++)
		memcpy(name + 2 * k, "\xc3\xbc", 2); /* 70 octets, 35 characters */
	memcpy(name + 70, ".de", 4);
	assert_int_equal(check(name, DNSNAME_UTF8), DNSNAME_OK);
	assert_int_equal(check("bad char\xc3\xbc.de", DNSNAME_UTF8), DNSNAME_BAD_CHAR);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(DKIM_SIG_06_dnsname_ok),
		cmocka_unit_test(DKIM_SIG_06_dnsname_empty_labels),
		cmocka_unit_test(DKIM_SIG_06_dnsname_label_limit),
		cmocka_unit_test(DKIM_SIG_06_dnsname_name_limit),
		cmocka_unit_test(DKIM_SIG_06_dnsname_bad_octets),
		cmocka_unit_test(DKIM_EAI_02_dnsname_u_labels),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
