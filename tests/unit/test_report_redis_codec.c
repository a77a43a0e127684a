/* test_report_redis_codec.c: the Redis format of DMARC observations
 * (conf/report_redis_codec.c, DMARC-RPT-01, issue #15 "Fleets"): round
 * trips with every byte a field may hold, key names, limits, and bad
 * input read back from Redis. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "report_redis_codec.h"

static char row[REPORT_REDIS_MAX_ROW];
static char pol[REPORT_REDIS_MAX_POLICY];

static struct report_obs sample(void)
{
	struct report_obs o = {
		.day = 20000,
		.policy_domain = "example.com",
		.source_ip = "2001:db8::1",
		.header_from = "example.com",
		.envelope_from = "bounce.example.com",
		.envelope_to = NULL,
		.dkim = {{"example.com", "sel|1", "pass"}, {"other.example", NULL, "fail"}},
		.ndkim = 2,
		.spf_domain = "bounce.example.com",
		.spf_scope = "mfrom",
		.spf_result = "pass",
		.dmarc_result = "pass",
		.dkim_aligned_pass = true,
		.spf_aligned_pass = false,
		.disposition = "none",
		.override_type = "local_policy",
		.override_comment = "100% | trusted\tforwarder",
	};
	return o;
}

static void test_dmarc_rpt_01_redis_row_round_trip(void **state)
{
	(void)state;
	struct signet_error err = {0};
	struct report_obs o = sample(), r = {0};
	assert_int_equal(report_redis_encode_row(&o, row, sizeof row, &err), SIGNET_OK);
	/* the separators inside fields are escaped: exactly 13 + 1 + 6 of them */
	size_t bars = 0;
	for (const char *p = row; *p; p++)
		bars += *p == '|';
	assert_int_equal(bars, 14 + 6);
	assert_int_equal(report_redis_decode_row(row, &r, &err), SIGNET_OK);
	assert_string_equal(r.source_ip, "2001:db8::1");
	assert_string_equal(r.header_from, "example.com");
	assert_string_equal(r.envelope_from, "bounce.example.com");
	assert_null(r.envelope_to);
	assert_string_equal(r.spf_scope, "mfrom");
	assert_string_equal(r.spf_result, "pass");
	assert_string_equal(r.dmarc_result, "pass");
	assert_true(r.dkim_aligned_pass);
	assert_false(r.spf_aligned_pass);
	assert_string_equal(r.disposition, "none");
	assert_string_equal(r.override_type, "local_policy");
	assert_string_equal(r.override_comment, "100% | trusted\tforwarder");
	assert_int_equal(r.ndkim, 2);
	assert_string_equal(r.dkim[0].selector, "sel|1");
	assert_string_equal(r.dkim[1].domain, "other.example");
	assert_null(r.dkim[1].selector);
	assert_string_equal(r.dkim[1].result, "fail");
}

/* Two observations that differ in one field are two fields (two rows). */
static void test_dmarc_rpt_01_redis_row_distinct(void **state)
{
	(void)state;
	struct signet_error err = {0};
	static char other[REPORT_REDIS_MAX_ROW];
	struct report_obs a = sample(), b = sample();
	b.spf_aligned_pass = true;
	assert_int_equal(report_redis_encode_row(&a, row, sizeof row, &err), SIGNET_OK);
	assert_int_equal(report_redis_encode_row(&b, other, sizeof other, &err), SIGNET_OK);
	assert_string_not_equal(row, other);
	b = sample();
	assert_int_equal(report_redis_encode_row(&b, other, sizeof other, &err), SIGNET_OK);
	assert_string_equal(row, other);
}

static void test_dmarc_rpt_01_redis_policy_round_trip(void **state)
{
	(void)state;
	struct signet_error err = {0};
	struct report_policy p = {.p = "reject",
				  .sp = NULL,
				  .np = "quarantine",
				  .adkim = "s",
				  .aspf = "r",
				  .discovery = "treewalk",
				  .testing = true,
				  .pct = -1,
				  .fo = "1:d",
				  .rua = "mailto:a@x.example,mailto:b@y"},
			     r = {0};
	assert_int_equal(report_redis_encode_policy(&p, pol, sizeof pol, &err), SIGNET_OK);
	assert_int_equal(report_redis_decode_policy(pol, &r, &err), SIGNET_OK);
	assert_string_equal(r.p, "reject");
	assert_null(r.sp);
	assert_string_equal(r.np, "quarantine");
	assert_string_equal(r.adkim, "s");
	assert_string_equal(r.discovery, "treewalk");
	assert_true(r.testing);
	assert_int_equal(r.pct, -1);
	assert_string_equal(r.fo, "1:d");
	assert_string_equal(r.rua, "mailto:a@x.example,mailto:b@y");
	p.pct = 50, p.testing = false;
	assert_int_equal(report_redis_encode_policy(&p, pol, sizeof pol, &err), SIGNET_OK);
	assert_int_equal(report_redis_decode_policy(pol, &r, &err), SIGNET_OK);
	assert_int_equal(r.pct, 50);
	assert_false(r.testing);
}

static void test_dmarc_rpt_01_redis_keys(void **state)
{
	(void)state;
	char k[REPORT_REDIS_MAX_KEY], big[REPORT_STORE_MAX_FIELD + 2];
	assert_int_equal(report_redis_key_domains(20000, k, sizeof k), SIGNET_OK);
	assert_string_equal(k, "signet:dmarc:20000:domains");
	assert_int_equal(report_redis_key_policy(20000, k, sizeof k), SIGNET_OK);
	assert_string_equal(k, "signet:dmarc:20000:policy");
	assert_int_equal(report_redis_key_rows(20000, "example.com", k, sizeof k), SIGNET_OK);
	assert_string_equal(k, "signet:dmarc:20000:rows:example.com");
	memset(big, 'a', sizeof big - 1);
	big[sizeof big - 1] = '\0';
	assert_int_equal(report_redis_key_rows(1, big, k, sizeof k), SIGNET_ERR_LIMIT);
	assert_int_equal(report_redis_key_rows(1, "x.example", k, 10), SIGNET_ERR_LIMIT);
}

/* The limits report_store_add has, and a buffer too small. */
static void test_dmarc_rpt_01_redis_encode_limits(void **state)
{
	(void)state;
	struct signet_error err = {0};
	char big[REPORT_STORE_MAX_FIELD + 2], at[REPORT_STORE_MAX_FIELD + 1];
	memset(big, 'a', sizeof big - 1), big[sizeof big - 1] = '\0';
	memset(at, 'a', sizeof at - 1), at[sizeof at - 1] = '\0';
	struct report_obs o = sample();
	o.header_from = at; /* exactly REPORT_STORE_MAX_FIELD: accepted */
	assert_int_equal(report_redis_encode_row(&o, row, sizeof row, &err), SIGNET_OK);
	o.header_from = big;
	assert_int_equal(report_redis_encode_row(&o, row, sizeof row, &err), SIGNET_ERR_LIMIT);
	o = sample();
	o.ndkim = REPORT_STORE_MAX_DKIM + 1;
	assert_int_equal(report_redis_encode_row(&o, row, sizeof row, &err), SIGNET_ERR_LIMIT);
	o = sample();
	o.dmarc_result = NULL;
	assert_int_equal(report_redis_encode_row(&o, row, sizeof row, &err), SIGNET_ERR_INVAL);
	o = sample();
	assert_int_equal(report_redis_encode_row(&o, row, 20, &err), SIGNET_ERR_LIMIT);
	/* every field at its limit, all escaped, all DKIM slots: fits the named bound */
	char esc[REPORT_STORE_MAX_FIELD + 1];
	memset(esc, '|', sizeof esc - 1), esc[sizeof esc - 1] = '\0';
	struct report_obs m = {.policy_domain = esc,
			       .source_ip = esc,
			       .header_from = esc,
			       .envelope_from = esc,
			       .envelope_to = esc,
			       .spf_domain = esc,
			       .spf_scope = esc,
			       .spf_result = esc,
			       .dmarc_result = esc,
			       .disposition = esc,
			       .override_type = esc,
			       .override_comment = esc,
			       .ndkim = REPORT_STORE_MAX_DKIM};
	for (size_t k = 0; k < REPORT_STORE_MAX_DKIM; k++)
		m.dkim[k] = (struct report_dkim){esc, esc, esc};
	assert_int_equal(report_redis_encode_row(&m, row, sizeof row, &err), SIGNET_OK);
	struct report_obs r = {0};
	assert_int_equal(report_redis_decode_row(row, &r, &err), SIGNET_OK);
	assert_int_equal(r.ndkim, REPORT_STORE_MAX_DKIM);
	assert_string_equal(r.dkim[REPORT_STORE_MAX_DKIM - 1].result, esc);
}

/* What another program (or an older format) left in Redis: an error, no crash. */
static void test_dmarc_rpt_01_redis_decode_bad(void **state)
{
	(void)state;
	static const char *const bad[] = {
		"",
		"r2|1.2.3.4|a|||||pass|pass|0|0|none|||0",
		"r1|1.2.3.4|a|||||pass|pass|0|0|none|||",   /* no DKIM count */
		"r1|1.2.3.4|a|||||pass|pass|0|0|none|||1",  /* count 1, no triple */
		"r1|1.2.3.4|a|||||pass|pass|2|0|none|||0",  /* flag not 0/1 */
		"r1|1.2.3.4|a|||||pass|pass|0|0|none|||0|", /* one field too many */
		"r1|1.2.3.4|a|||||pass|pass|0|0|none|%4|||0",
		"r1|1.2.3.4|a|||||pass|pass|0|0|none|%zz||0",
		"r1||a|||||pass|pass|0|0|none|||0", /* no source IP */
		"r1|1.2.3.4|a|||||pass|pass|0|0|none|||99",
	};
	struct signet_error err = {0};
	for (size_t k = 0; k < sizeof bad / sizeof *bad; k++) {
		struct report_obs r = {0};
		snprintf(row, sizeof row, "%s", bad[k]);
		assert_int_equal(report_redis_decode_row(row, &r, &err), SIGNET_ERR_SYNTAX);
	}
	snprintf(row, sizeof row, "%s", "r1|1.2.3.4|a|||||pass|pass|0|0|none|||0");
	struct report_obs r = {0};
	assert_int_equal(report_redis_decode_row(row, &r, &err), SIGNET_OK);
	static const char *const badp[] = {"p1|reject", "p1|||||||0|101||", "p1||||||2|0||",
					   "x1|||||||0|-1||", "p1|||||||0|x||"};
	for (size_t k = 0; k < sizeof badp / sizeof *badp; k++) {
		struct report_policy p = {0};
		snprintf(pol, sizeof pol, "%s", badp[k]);
		assert_int_equal(report_redis_decode_policy(pol, &p, &err), SIGNET_ERR_SYNTAX);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_dmarc_rpt_01_redis_row_round_trip),
		cmocka_unit_test(test_dmarc_rpt_01_redis_row_distinct),
		cmocka_unit_test(test_dmarc_rpt_01_redis_policy_round_trip),
		cmocka_unit_test(test_dmarc_rpt_01_redis_keys),
		cmocka_unit_test(test_dmarc_rpt_01_redis_encode_limits),
		cmocka_unit_test(test_dmarc_rpt_01_redis_decode_bad),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
