/* test_dmarc_check.c: the lint of a published DMARC record
 * (lib/dmarc_check.c): which coded findings a record gets, their severity,
 * what each kind of name is protected by, and the external report
 * destination helpers. IDs (RFC 9989, RFC 9990; roadmap.md is read-only):
 *
 * DMARC9-CHK-01 Each finding code is given for the record that has the problem and
 *               not for a record without it; errors are what receivers ignore.
 * DMARC9-CHK-02 Several v=DMARC1 records at a name are all discarded (4.10); a TXT record
 *               that mentions DMARC1 without starting with v=DMARC1 is skipped (4.7).
 * DMARC9-CHK-03 The policy for the domain (p=), existing subdomains (sp=, else p=) and
 *               non-existent subdomains (np=, else sp=, else p=) (4.7, 4.10.1).
 * DMARC-RPT-01  External rua destinations need <policy-domain>._report._dmarc.<host> TXT
 *               starting with v=DMARC1 (RFC 9990 3, RFC 7489 7.1).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <signet/dmarc.h>

static const enum signet_dmarc_mode M9 = SIGNET_DMARC_RFC9989, M7 = SIGNET_DMARC_RFC7489;

static struct signet_dmarc_check *check(const char *text, enum signet_dmarc_mode mode)
{
	static struct signet_dmarc_check c;
	struct signet_error err;
	assert_int_equal(
		signet_dmarc_record_check((const uint8_t *)text, strlen(text), mode, &c, &err),
		SIGNET_OK);
	return &c;
}

static const struct signet_dmarc_finding *find(const struct signet_dmarc_check *c,
					       enum signet_dmarc_check_code code)
{
	for (size_t k = 0; k < c->n; k++)
		if (c->f[k].code == code)
			return &c->f[k];
	return NULL;
}

#define C(x) SIGNET_DMARC_CHECK_##x
#define E SIGNET_DMARC_SEV_ERROR
#define W SIGNET_DMARC_SEV_WARNING
#define I SIGNET_DMARC_SEV_INFO

/* DMARC9-CHK-01: the record with the problem gets the code (with its
 * severity and a message holding `msg`); the control record does not. */
static void DMARC9_CHK_01_codes(void **state)
{
	(void)state;
	static const char good[] = "v=DMARC1; p=reject; rua=mailto:d@example.com";
	static const struct {
		const char *text;
		enum signet_dmarc_mode mode;
		enum signet_dmarc_check_code code;
		enum signet_dmarc_severity sev;
		const char *msg;
		const char *control; /* a record without the problem; NULL: good */
	} t[] = {
		{"v=DMARC1; p=bogus", M9, C(UNUSABLE), E, "receivers ignore this record", NULL},
		{"v=DMARC1; p=reject; foo; rua=mailto:d@example.com", M9, C(BROKEN_PART), E,
		 "'foo' is not a tag=value pair", NULL},
		{"v=DMARC1; p=reject; adkim=x; rua=mailto:d@example.com", M9, C(BAD_VALUE), E,
		 "adkim=x", NULL},
		{"v=DMARC1; p=reject rua=mailto:d@example.com", M9, C(UNUSABLE), E, "p= is missing",
		 NULL},
		{"v=DMARC1; p=bogus; rua=mailto:d@example.com", M9, C(P_SUBSTITUTED), E,
		 "as if the record said p=none", NULL},
		{"v=DMARC1; p=reject; rua=mailto:d@example.com; ruaa=mailto:x@y", M9,
		 C(UNKNOWN_TAG), W, "ruaa= is not a DMARC tag", NULL},
		{"v=DMARC1; p=reject; rua=mailto:d@example.com; pct=50", M9, C(REMOVED_TAG), W,
		 "RFC 9989 receivers ignore it", NULL},
		{"v=DMARC1; rua=mailto:d@example.com", M9, C(P_MISSING), W, "no p= tag",
		 "v=DMARC1; p=none; rua=mailto:d@example.com"},
		{"v=DMARC1; rua=mailto:d@example.com", M7, C(P_MISSING), W, "no p= tag",
		 "v=DMARC1; p=bogus; rua=mailto:d@example.com"},
		{"v=DMARC1; p=none; sp=bogus; rua=mailto:d@example.com", M9, C(P_SUBSTITUTED), E,
		 "as if the record said p=none", "v=DMARC1; rua=mailto:d@example.com"},
		{"v=DMARC1; rua=mailto:d@example.com; p=reject", M7, C(P_NOT_SECOND), W,
		 "does not follow v=DMARC1", NULL},
		{"v=DMARC1; p=none", M9, C(P_NONE_NO_RUA), W, "read by no one",
		 "v=DMARC1; p=none; rua=mailto:d@example.com"},
		{"v=DMARC1; p=none; rua=mailto:d@example.com", M9, C(P_NONE), W,
		 "protects nothing yet", NULL},
		{"v=DMARC1; p=reject; sp=quarantine; rua=mailto:d@example.com", M9, C(SP_WEAKER), W,
		 "sp=quarantine is weaker than p=reject",
		 "v=DMARC1; p=quarantine; sp=reject; rua=mailto:d@example.com"},
		{"v=DMARC1; p=reject; np=none; rua=mailto:d@example.com", M9, C(NP_WEAKER), W,
		 "np=none is weaker", "v=DMARC1; p=reject; np=reject; rua=mailto:d@example.com"},
		{"v=DMARC1; p=reject; sp=none; np=quarantine; rua=mailto:d@example.com", M9,
		 C(SP_WEAKER), W, "sp=none", NULL},
		{"v=DMARC1; p=reject; pct=20; rua=mailto:d@example.com", M7, C(PCT), W,
		 "only 20% of failing mail",
		 "v=DMARC1; p=reject; pct=100; rua=mailto:d@example.com"},
		{"v=DMARC1; p=reject; t=y; rua=mailto:d@example.com", M9, C(TESTING), W, "t=y",
		 "v=DMARC1; p=reject; t=n; rua=mailto:d@example.com"},
		{"v=DMARC1; p=reject; rua=https://r.example/dmarc", M9, C(RUA_NOT_MAILTO), W,
		 "not mailto:", NULL},
		{"v=DMARC1; p=reject; rua=mailto:d@example.com; ruf=https://r.example/x", M9,
		 C(RUF_NOT_MAILTO), W, "ruf= has a URI", NULL},
		{"v=DMARC1; p=reject; rua=mailto:d@example.com; fo=1", M9, C(FO_WITHOUT_RUF), W,
		 "receivers ignore fo=",
		 "v=DMARC1; p=reject; rua=mailto:d@example.com; fo=1; ruf=mailto:f@example.com"},
		{"v=DMARC1; p=reject; rua=mailto:d@example.com; ruf=mailto:f@example.com", M9,
		 C(RUF_WITHOUT_FO), I, "fo=0",
		 "v=DMARC1; p=reject; rua=mailto:d@example.com; fo=1; ruf=mailto:f@example.com"},
		{"v=DMARC1; p=reject", M9, C(NO_RUA), I, "no rua=", NULL},
		{"v=DMARC1; p=reject; adkim=s; rua=mailto:d@example.com", M9, C(STRICT_DKIM), I,
		 "exactly the From domain", NULL},
		{"v=DMARC1; p=reject; aspf=s; rua=mailto:d@example.com", M9, C(STRICT_SPF), I,
		 "MAIL FROM domain", NULL},
		{"v=DMARC1; p=reject; psd=y; rua=mailto:d@example.com", M9, C(PSD), I,
		 "public suffix domain", NULL},
	};
	for (size_t k = 0; k < sizeof t / sizeof t[0]; k++) {
		const struct signet_dmarc_check *c = check(t[k].text, t[k].mode);
		const struct signet_dmarc_finding *f = find(c, t[k].code);
		if (f == NULL)
			fail_msg("'%s': no %s", t[k].text, signet_dmarc_check_code_name(t[k].code));
		assert_int_equal(f->severity, t[k].sev);
		if (strstr(f->msg, t[k].msg) == NULL)
			fail_msg("'%s': '%s' lacks '%s'", t[k].text, f->msg, t[k].msg);
		assert_true(f->severity == I || f->fix != NULL);
		assert_int_equal(signet_dmarc_check_worst(c) >= t[k].sev, true);
		c = check(t[k].control ? t[k].control : good, t[k].mode);
		if (find(c, t[k].code) != NULL)
			fail_msg("control '%s' has %s", t[k].control ? t[k].control : good,
				 signet_dmarc_check_code_name(t[k].code));
	}
	/* the good record: no finding at all, in both modes */
	assert_int_equal(check(good, M9)->n, 0);
	assert_int_equal(check(good, M7)->n, 0);
	/* findings come most severe first */
	const struct signet_dmarc_check *c = check("v=DMARC1; p=none; adkim=s; foo; ruaa=x", M9);
	for (size_t k = 1; k < c->n; k++)
		assert_true(c->f[k - 1].severity >= c->f[k].severity);
	assert_int_equal(c->f[0].severity, E);
	/* every code has a stable name */
	for (int code = C(SEVERAL); code <= C(PSD); code++)
		assert_string_not_equal(signet_dmarc_check_code_name(code), "unknown");
	assert_string_equal(signet_dmarc_severity_name(E), "error");
}

/* A value that swallowed the next tag: the fix says where the ';' goes. */
static void DMARC9_CHK_01_missing_separator_fix(void **state)
{
	(void)state;
	const struct signet_dmarc_check *c =
		check("v=DMARC1; p=reject; adkim=s aspf=s; rua=mailto:d@example.com", M9);
	const struct signet_dmarc_finding *f = find(c, C(BAD_VALUE));
	assert_non_null(f);
	assert_string_equal(f->fix, "put a ';' between the tags");
	/* hostile bytes never reach the message */
	static const uint8_t hostile[] = "v=DMARC1; p=reject; x\x1b[2J=\x01\xff; rua=mailto:a@b";
	struct signet_dmarc_check *cc = malloc(sizeof *cc);
	struct signet_error err;
	assert_non_null(cc);
	assert_int_equal(signet_dmarc_record_check(hostile, sizeof hostile - 1, M9, cc, &err),
			 SIGNET_OK);
	for (size_t k = 0; k < cc->n; k++)
		for (const char *p = cc->f[k].msg; *p; p++)
			assert_true(*p >= 0x20 && *p <= 0x7e);
	assert_int_equal(signet_dmarc_record_check(NULL, 3, M9, cc, &err), SIGNET_ERR_INVAL);
	free(cc);
}

/* DMARC9-CHK-02 (RFC 9989 4.10 step 2: several records are all discarded;
 * 4.7: v=DMARC1 first, DMARC1 case-sensitive). */
static void DMARC9_CHK_02_answer(void **state)
{
	(void)state;
	struct signet_dmarc_check *c = malloc(sizeof *c);
	struct signet_error err;
	assert_non_null(c);
#define RR(s)                                                                                      \
	{                                                                                          \
		(const uint8_t *)(s), sizeof(s) - 1, 0                                             \
	}
	const struct signet_rr one[] = {RR("google-site-verification=abc"),
					RR("v=DMARC1; p=reject; rua=mailto:d@example.com")};
	assert_int_equal(signet_dmarc_answer_check(one, 2, M9, c, &err), SIGNET_OK);
	assert_int_equal(c->ndmarc, 1);
	assert_int_equal(c->which, 1);
	assert_int_equal(c->n, 0);
	assert_int_equal(c->domain, SIGNET_DMARC_POLICY_REJECT);

	const struct signet_rr two[] = {RR("v=DMARC1; p=reject"), RR("v=DMARC1; p=none")};
	assert_int_equal(signet_dmarc_answer_check(two, 2, M9, c, &err), SIGNET_OK);
	assert_int_equal(c->ndmarc, 2);
	assert_non_null(find(c, C(SEVERAL)));
	assert_int_equal(c->domain, SIGNET_DMARC_POLICY_UNSET);
	assert_int_equal(signet_dmarc_check_worst(c), E);

	const struct signet_rr alike[] = {RR(" v=DMARC1; p=reject"), RR("v=dmarc1; p=reject"),
					  RR("p=reject; v=DMARC1"), RR("v=spf1 -all")};
	assert_int_equal(signet_dmarc_answer_check(alike, 4, M9, c, &err), SIGNET_OK);
	assert_int_equal(c->ndmarc, 0);
	size_t nf = 0;
	for (size_t k = 0; k < c->n; k++)
		nf += c->f[k].code == C(NOT_FIRST);
	assert_int_equal(nf, 3);
	assert_int_equal(signet_dmarc_answer_check(NULL, 0, M9, c, &err), SIGNET_OK);
	assert_int_equal(c->ndmarc, 0);
	assert_int_equal(c->n, 0);
	/* SIGNET_DMARC_CHECK_MAX_TXT at the limit and past it */
	struct signet_rr many[SIGNET_DMARC_CHECK_MAX_TXT + 1];
	for (size_t k = 0; k < SIGNET_DMARC_CHECK_MAX_TXT + 1; k++)
		many[k] = (struct signet_rr)RR("v=DMARC1; p=none");
	assert_int_equal(signet_dmarc_answer_check(many, SIGNET_DMARC_CHECK_MAX_TXT, M9, c, &err),
			 SIGNET_OK);
	assert_int_equal(c->ndmarc, SIGNET_DMARC_CHECK_MAX_TXT);
	assert_int_equal(
		signet_dmarc_answer_check(many, SIGNET_DMARC_CHECK_MAX_TXT + 1, M9, c, &err),
		SIGNET_ERR_LIMIT);
	free(c);
}

/* DMARC9-CHK-03 (RFC 9989 4.7 sp=, np=; 4.10.1). */
static void DMARC9_CHK_03_who_is_protected(void **state)
{
	(void)state;
	static const struct {
		const char *text;
		enum signet_dmarc_mode mode;
		enum signet_dmarc_policy d, s, n;
	} t[] = {
		{"v=DMARC1; p=reject", M9, SIGNET_DMARC_POLICY_REJECT, SIGNET_DMARC_POLICY_REJECT,
		 SIGNET_DMARC_POLICY_REJECT},
		{"v=DMARC1; p=reject; sp=none", M9, SIGNET_DMARC_POLICY_REJECT,
		 SIGNET_DMARC_POLICY_NONE, SIGNET_DMARC_POLICY_NONE},
		{"v=DMARC1; p=none; np=reject", M9, SIGNET_DMARC_POLICY_NONE,
		 SIGNET_DMARC_POLICY_NONE, SIGNET_DMARC_POLICY_REJECT},
		{"v=DMARC1; p=none; sp=quarantine; np=reject", M9, SIGNET_DMARC_POLICY_NONE,
		 SIGNET_DMARC_POLICY_QUARANTINE, SIGNET_DMARC_POLICY_REJECT},
		/* RFC 7489 has no np=: non-existent subdomains get sp= */
		{"v=DMARC1; p=none; sp=quarantine; np=reject", M7, SIGNET_DMARC_POLICY_NONE,
		 SIGNET_DMARC_POLICY_QUARANTINE, SIGNET_DMARC_POLICY_QUARANTINE},
		{"v=DMARC1; p=bogus", M9, SIGNET_DMARC_POLICY_UNSET, SIGNET_DMARC_POLICY_UNSET,
		 SIGNET_DMARC_POLICY_UNSET},
	};
	for (size_t k = 0; k < sizeof t / sizeof t[0]; k++) {
		const struct signet_dmarc_check *c = check(t[k].text, t[k].mode);
		if (c->domain != t[k].d || c->subdomains != t[k].s || c->nonexistent != t[k].n)
			fail_msg("'%s': %d %d %d", t[k].text, c->domain, c->subdomains,
				 c->nonexistent);
	}
}

/* DMARC-RPT-01 (RFC 9990 3, RFC 7489 7.1): the destination host, whether
 * it is outside the organizational domain, the name to ask, and the
 * judgment of the answer. */
static void DMARC_RPT_01_external_destinations(void **state)
{
	(void)state;
	static const struct {
		const char *policy, *org, *uri, *host;
		bool external;
		const char *auth;
	} t[] = {
		{"example.com", NULL, "mailto:d@example.com", "example.com", false, NULL},
		{"example.com", NULL, "mailto:d@Reports.Example.COM!10m", "reports.example.com",
		 false, NULL},
		{"example.com", NULL, "mailto:d@dmarc.vendor.net", "dmarc.vendor.net", true,
		 "example.com._report._dmarc.dmarc.vendor.net"},
		{"sub.example.com", "example.com", "mailto:d@example.com", "example.com", false,
		 NULL},
		{"sub.example.com", NULL, "mailto:d@example.com", "example.com", true,
		 "sub.example.com._report._dmarc.example.com"},
		{"example.com", NULL, "mailto:\"a@b\"@vendor.net?subject=x", "vendor.net", true,
		 "example.com._report._dmarc.vendor.net"},
		{"example.com", NULL, "https://user@collector.example.org:8443/r",
		 "collector.example.org", true, "example.com._report._dmarc.collector.example.org"},
		{"example.com", NULL, "mailto:d@notexample.com", "notexample.com", true,
		 "example.com._report._dmarc.notexample.com"},
	};
	for (size_t k = 0; k < sizeof t / sizeof t[0]; k++) {
		struct signet_dmarc_dest d;
		struct signet_error err;
		if (signet_dmarc_report_dest(t[k].policy, t[k].org, (const uint8_t *)t[k].uri,
					     strlen(t[k].uri), &d, &err) != SIGNET_OK)
			fail_msg("%s: %s", t[k].uri, err.msg);
		assert_string_equal(d.host, t[k].host);
		assert_int_equal(d.external, t[k].external);
		if (t[k].auth != NULL)
			assert_string_equal(d.auth_name, t[k].auth);
	}
	struct signet_dmarc_dest d;
	struct signet_error err;
	static const char *const bad[] = {"mailto:nobody", "mailto:a@", "mailto:a@b..c", "urn:x",
					  "mailto:a@exa mple.com"};
	for (size_t k = 0; k < sizeof bad / sizeof bad[0]; k++)
		assert_int_equal(signet_dmarc_report_dest("example.com", NULL,
							  (const uint8_t *)bad[k], strlen(bad[k]),
							  &d, &err),
				 SIGNET_ERR_SYNTAX);
	/* a name over 253 octets cannot be asked */
	char longhost[300] = "mailto:a@";
	for (int k = 0; k < 4; k++)
		strcat(longhost, "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.");
	strcat(longhost, "net");
	assert_int_equal(signet_dmarc_report_dest("example.com", NULL, (const uint8_t *)longhost,
						  strlen(longhost), &d, &err),
			 SIGNET_ERR_LIMIT);
	/* the answer */
	const struct signet_rr yes[] = {RR("something else"), RR("v=DMARC1")};
	const struct signet_rr no[] = {RR("v=DMARC2"), RR("v=spf1 -all")};
	assert_int_equal(signet_dmarc_report_auth(SIGNET_DNS_OK, yes, 2), SIGNET_DMARC_AUTH_YES);
	assert_int_equal(signet_dmarc_report_auth(SIGNET_DNS_OK, no, 2), SIGNET_DMARC_AUTH_NO);
	assert_int_equal(signet_dmarc_report_auth(SIGNET_DNS_OK, NULL, 0), SIGNET_DMARC_AUTH_NO);
	assert_int_equal(signet_dmarc_report_auth(SIGNET_DNS_NXDOMAIN, NULL, 0),
			 SIGNET_DMARC_AUTH_NO);
	assert_int_equal(signet_dmarc_report_auth(SIGNET_DNS_TEMPFAIL, NULL, 0),
			 SIGNET_DMARC_AUTH_TEMPERROR);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(DMARC9_CHK_01_codes),
		cmocka_unit_test(DMARC9_CHK_01_missing_separator_fix),
		cmocka_unit_test(DMARC9_CHK_02_answer),
		cmocka_unit_test(DMARC9_CHK_03_who_is_protected),
		cmocka_unit_test(DMARC_RPT_01_external_destinations),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
