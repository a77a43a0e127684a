/* test_report_parse.c: cli/report_parse.c (one DMARC aggregate report from
 * XML, expat) on its own: both formats, every truncation, a NUL in the
 * middle, foreign-namespace elements, and the limits' exact messages. The
 * file-level cases (samples, containers, bombs) are in
 * tests/integration/test_dmarc_digest.py. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "report_parse.h"

static const char rfc9990[] =
	"<feedback xmlns=\"urn:ietf:params:xml:ns:dmarc-2.0\"><version>1.0</version>"
	"<report_metadata><org_name>Sample Reporter</org_name><report_id>3v98</report_id>"
	"<date_range><begin>302832000</begin><end>302918399</end></date_range>"
	"</report_metadata><policy_published><domain>example.com</domain><p>quarantine</p>"
	"</policy_published><record><row><source_ip>2001:DB8:0::7</source_ip><count>123</count>"
	"<policy_evaluated><disposition>pass</disposition><dkim>pass</dkim><spf>fail</spf>"
	"</policy_evaluated></row><identifiers><header_from>example.com</header_from>"
	"</identifiers><auth_results><dkim><domain>example.com</domain><result>pass</result>"
	"<selector>abc123</selector></dkim><spf><domain>example.com</domain><result>fail</result>"
	"</spf></auth_results></record></feedback>";

static bool parse(const char *xml, size_t len, struct report **r, char *why)
{
	return report_parse((const uint8_t *)xml, len, r, why, 512);
}

/* DMARC-DIGEST-01: RFC 9990's namespace; source_ip normalized (inet_ntop). */
static void DMARC_DIGEST_01_rfc9990_namespace(void **state)
{
	struct report *r;
	char why[512];

	(void)state;
	assert_true(parse(rfc9990, strlen(rfc9990), &r, why));
	assert_int_equal(r->format, REPORT_RFC9990);
	assert_string_equal(r->org_name, "Sample Reporter");
	assert_int_equal(r->begin, 302832000);
	assert_string_equal(r->p, "quarantine");
	assert_int_equal(r->nrecords, 1);
	assert_string_equal(r->records[0].source_ip, "2001:db8::7");
	assert_int_equal(r->records[0].count, 123);
	assert_true(r->records[0].dkim_aligned);
	assert_false(r->records[0].spf_aligned);
	assert_int_equal(r->records[0].nauth, 2);
	assert_string_equal(r->records[0].auth[0].selector, "abc123");
	assert_int_equal(r->nnotes, 0);
	report_free(r);
}

/* Every prefix that stops before </feedback> is refused, with a reason,
 * never a crash or a partial report (STYLE 8: truncated input). */
static void DMARC_DIGEST_02_every_truncation_refused(void **state)
{
	size_t full = strlen(rfc9990);
	struct report *r;
	char why[512];

	(void)state;
	for (size_t n = 0; n < full; n++) {
		why[0] = '\0';
		assert_false(parse(rfc9990, n, &r, why));
		assert_null(r);
		assert_true(why[0] != '\0');
	}
}

/* A NUL in the middle is not well-formed XML. */
static void DMARC_DIGEST_02_nul_in_the_middle(void **state)
{
	char buf[sizeof(rfc9990)];
	struct report *r;
	char why[512];

	(void)state;
	memcpy(buf, rfc9990, sizeof(buf));
	buf[200] = '\0';
	assert_false(parse(buf, sizeof(buf) - 1, &r, why));
	assert_non_null(strstr(why, "not well-formed XML (line 1, column 201)"));
}

/* Elements in another namespace are not DMARC's, whatever their local name
 * (an RFC 9990 <extensions> child may reuse one). */
static void DMARC_DIGEST_02_foreign_namespace_ignored(void **state)
{
	static const char xml[] =
		"<feedback xmlns:x=\"urn:example\"><report_metadata><x:org_name>not me</x:org_name>"
		"<org_name>o</org_name><report_id>1</report_id></report_metadata>"
		"<x:record><row><source_ip>192.0.2.1</source_ip><count>5</count></row></x:record>"
		"<record><row><source_ip>192.0.2.2</source_ip><count>2</count></row></record>"
		"</feedback>";
	struct report *r;
	char why[512];

	(void)state;
	assert_true(parse(xml, strlen(xml), &r, why));
	assert_string_equal(r->org_name, "o");
	assert_int_equal(r->nrecords, 1);
	assert_int_equal(r->messages, 2);
	assert_int_equal(r->format, REPORT_RFC7489);
	report_free(r);
}

/* REPORT_MAX_COUNT: at the limit read, one over refused with the value. */
static void DMARC_DIGEST_03_count_limit(void **state)
{
	char xml[1024];
	struct report *r;
	char why[512];
	const char *fmt = "<feedback><report_metadata><org_name>o</org_name><report_id>1"
			  "</report_id></report_metadata><record><row><source_ip>192.0.2.1"
			  "</source_ip><count>%llu</count></row></record></feedback>";

	(void)state;
	snprintf(xml, sizeof(xml), fmt, (unsigned long long)REPORT_MAX_COUNT);
	assert_true(parse(xml, strlen(xml), &r, why));
	assert_int_equal(r->messages, REPORT_MAX_COUNT);
	report_free(r);
	snprintf(xml, sizeof(xml), fmt, (unsigned long long)REPORT_MAX_COUNT + 1);
	assert_false(parse(xml, strlen(xml), &r, why));
	assert_string_equal(why, "<count> '1000000000001' is not a number up to 1000000000000");
	snprintf(xml, sizeof(xml), "%s",
		 "<feedback><report_metadata><org_name>o</org_name>"
		 "<report_id>1</report_id></report_metadata><record><row>"
		 "<count>-1</count></row></record></feedback>");
	assert_false(parse(xml, strlen(xml), &r, why));
	assert_string_equal(why, "<count> '-1' is not a number");
}

/* REPORT_MAX_AUTH: 32 results in one <auth_results> read, 33 refused. */
static void DMARC_DIGEST_03_auth_limit(void **state)
{
	static char xml[8192];
	struct report *r;
	char why[512];

	(void)state;
	for (int n = REPORT_MAX_AUTH; n <= REPORT_MAX_AUTH + 1; n++) {
		size_t len =
			(size_t)sprintf(xml, "<feedback><report_metadata><org_name>o</org_name>"
					     "<report_id>1</report_id></report_metadata>"
					     "<record><row><source_ip>192.0.2.1</source_ip>"
					     "</row><auth_results>");
		for (int i = 0; i < n; i++)
			len += (size_t)sprintf(xml + len, "<dkim><domain>d%d</domain></dkim>", i);
		len += (size_t)sprintf(xml + len, "</auth_results></record></feedback>");
		bool ok = parse(xml, len, &r, why);
		if (n == REPORT_MAX_AUTH) {
			assert_true(ok);
			assert_int_equal(r->records[0].nauth, REPORT_MAX_AUTH);
			report_free(r);
		} else {
			assert_false(ok);
			assert_string_equal(why,
					    "record 1: more than REPORT_MAX_AUTH (32) results in "
					    "<auth_results>");
		}
	}
}

/* What reaches a terminal: C0 controls, DEL and UTF-8 C1 controls become '?'; other UTF-8
 * (U+00A0 is C2 A0) stays. */
static void DMARC_DIGEST_02_sanitize_controls(void **state)
{
	char s[] = "a\x1b[31mb\tc\x7f\xc2\x9b"
		   "1m\xc2\xa0"
		   "d\xc2";

	(void)state;
	report_sanitize(s);
	assert_string_equal(s, "a?[31mb?c??1m\xc2\xa0"
			       "d\xc2");
	report_sanitize(NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(DMARC_DIGEST_01_rfc9990_namespace),
		cmocka_unit_test(DMARC_DIGEST_02_every_truncation_refused),
		cmocka_unit_test(DMARC_DIGEST_02_nul_in_the_middle),
		cmocka_unit_test(DMARC_DIGEST_02_foreign_namespace_ignored),
		cmocka_unit_test(DMARC_DIGEST_03_count_limit),
		cmocka_unit_test(DMARC_DIGEST_03_auth_limit),
		cmocka_unit_test(DMARC_DIGEST_02_sanitize_controls),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
