/* test_session_dmarc.c: signetd's DMARC of one message (daemon/
 * session_dmarc.c) without a session or DNS: the lookups the From header
 * starts (DMARC-SESS-01), answers kept and reused by the end-of-message
 * evaluation, the existence question as an A lookup (np=), temporary
 * failures; what an outcome means for the message under each setting
 * (DMARC-ENF-01..04); the reject text; and the trusted ARC sealer hook
 * (DMARC-ENF-05) with constructed ARC results. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "config.h"
#include "log.h"
#include "psl_load.h"
#include "session_dmarc.h"

/* ---- a resolver the test answers from a table ---- */

struct zone_entry {
	const char *name;
	enum signet_rrtype type;
	enum signet_dns_status status;
	const char *txt; /* NULL: no data */
};

static const struct zone_entry *zone_find(const struct zone_entry *z, const char *name,
					  enum signet_rrtype type)
{
	for (; z->name != NULL; z++)
		if (z->type == type && strcmp(z->name, name) == 0)
			return z;
	return NULL;
}

/* Answers every lookup handed out (NXDOMAIN when not in z) until none is
 * left; returns how many were answered. Names asked go into log. */
static size_t resolve(struct session_dmarc *d, const struct zone_entry *z, char *log, size_t cap)
{
	size_t k, n = 0;
	const char *name;
	enum signet_rrtype type;
	while (session_dmarc_next_lookup(d, &k, &name, &type)) {
		const struct zone_entry *e = zone_find(z, name, type);
		struct signet_rr rr = {0};
		struct dns_answer a = {.status = e ? e->status : SIGNET_DNS_NXDOMAIN};
		if (e != NULL && e->txt != NULL) {
			rr = (struct signet_rr){(const uint8_t *)e->txt, strlen(e->txt), 0};
			a.rrs = &rr;
			a.nrrs = 1;
		}
		if (log != NULL) {
			size_t len = strlen(log);
			snprintf(log + len, cap - len, "%s%s/%s", len ? " " : "", name,
				 signet_rrtype_name(type));
		}
		assert_true(session_dmarc_lookup_wanted(d, k));
		session_dmarc_answer(d, k, &a);
		n++;
	}
	return n;
}

static struct session_dmarc *dmarc_with_from(const char *from)
{
	struct session_dmarc *d = session_dmarc_new(SIGNET_DMARC_RFC9989, NULL);
	assert_non_null(d);
	session_dmarc_from(d, (const uint8_t *)from, strlen(from));
	return d;
}

static const struct zone_entry zone[] = {
	{"_dmarc.example.org", SIGNET_RR_TXT, SIGNET_DNS_OK, "v=DMARC1; p=reject"},
	{"_dmarc.example.net", SIGNET_RR_TXT, SIGNET_DNS_OK, "v=DMARC1; p=none; np=reject"},
	{"_dmarc.slow.example", SIGNET_RR_TXT, SIGNET_DNS_TEMPFAIL, NULL},
	{"_dmarc.example.co.uk", SIGNET_RR_TXT, SIGNET_DNS_OK, "v=DMARC1; p=none; sp=reject"},
	{NULL, 0, 0, NULL},
};

/* DMARC-SESS-01: the From header field starts the policy lookup; at end
 * of message the evaluation is answered from it, with no new lookup and
 * no wait. */
static void DMARC_SESS_01_from_header_starts_lookup_eom_reuses_it(void **state)
{
	(void)state;
	struct session_dmarc *d = dmarc_with_from(" Alice <alice@example.org>");
	char asked[512] = "";
	assert_int_equal(resolve(d, zone, asked, sizeof asked), 1);
	assert_string_equal(asked, "_dmarc.example.org/TXT");
	assert_false(session_dmarc_started(d));
	assert_false(session_dmarc_done(d));
	struct session_dmarc_inputs in = {.spf_result = SIGNET_SPF_FAIL,
					  .spf_domain = "spoof.example"};
	session_dmarc_evaluate(d, &in);
	assert_true(session_dmarc_done(d)); /* answered from what was kept */
	assert_int_equal(resolve(d, zone, NULL, 0), 0);
	const struct signet_dmarc_outcome *o = session_dmarc_outcome(d);
	assert_non_null(o);
	assert_int_equal(o->result, SIGNET_DMARC_FAIL);
	assert_int_equal(o->disposition, SIGNET_DMARC_POLICY_REJECT);
	assert_string_equal(o->author_domain, "example.org");
	session_dmarc_free(d);
}

/* DMARC-SESS-01: a lookup still in flight at end of message is waited for
 * (not asked twice); its answer completes the evaluation. An aligned DKIM
 * pass makes it pass. */
static void DMARC_SESS_01_lookup_in_flight_at_eom_is_waited_for(void **state)
{
	(void)state;
	struct session_dmarc *d = dmarc_with_from("a@example.org");
	size_t k;
	const char *name;
	enum signet_rrtype type;
	assert_true(session_dmarc_next_lookup(d, &k, &name, &type));
	assert_string_equal(name, "_dmarc.example.org");
	struct signet_dmarc_dkim dk = {"example.org", "s1"};
	struct session_dmarc_inputs in = {.dkim = &dk, .ndkim = 1, .spf_result = SIGNET_SPF_NONE};
	session_dmarc_evaluate(d, &in);
	assert_false(session_dmarc_done(d));
	size_t k2;
	assert_false(session_dmarc_next_lookup(d, &k2, &name, &type)); /* not asked twice */
	assert_true(session_dmarc_lookup_wanted(d, k));
	const char *rec = "v=DMARC1; p=reject";
	struct signet_rr rr = {(const uint8_t *)rec, strlen(rec), 0};
	struct dns_answer a = {.status = SIGNET_DNS_OK, .rrs = &rr, .nrrs = 1};
	session_dmarc_answer(d, k, &a);
	assert_true(session_dmarc_done(d));
	assert_false(session_dmarc_lookup_wanted(d, k));
	assert_int_equal(session_dmarc_outcome(d)->result, SIGNET_DMARC_PASS);
	session_dmarc_free(d);
}

/* RFC 9989 np=: the existence question goes out as an A lookup, and an
 * NXDOMAIN answer makes np= the policy. From the From header on, the walk
 * goes on to the organizational domain and the existence question is
 * asked too: nothing is left for end of message. */
static void DMARC_SESS_01_np_existence_asked_as_a_lookup(void **state)
{
	(void)state;
	struct session_dmarc *d = dmarc_with_from("x@gone.example.net");
	char asked[512] = "";
	(void)resolve(d, zone, asked, sizeof asked);
	assert_string_equal(asked, "_dmarc.gone.example.net/TXT _dmarc.example.net/TXT "
				   "_dmarc.net/TXT gone.example.net/A");
	struct session_dmarc_inputs in = {.spf_result = SIGNET_SPF_NONE};
	session_dmarc_evaluate(d, &in);
	assert_true(session_dmarc_done(d));
	assert_int_equal(resolve(d, zone, NULL, 0), 0);
	const struct signet_dmarc_outcome *o = session_dmarc_outcome(d);
	assert_int_equal(o->result, SIGNET_DMARC_FAIL);
	assert_int_equal(o->applied, SIGNET_DMARC_APPLIED_NP);
	assert_int_equal(o->disposition, SIGNET_DMARC_POLICY_REJECT);
	char text[256];
	session_dmarc_reject_text(o, text, sizeof text);
	assert_string_equal(text, "Rejected by the DMARC policy of example.net (np=reject) for "
				  "From domain gone.example.net");
	session_dmarc_free(d);
}

/* DMARC-ALIGN-02: a MAIL FROM domain that is not a domain name (an
 * address literal) cannot align; it does not keep the message out of
 * DMARC either: the p=reject failure stands. */
static void DMARC_ALIGN_02_mail_from_literal_does_not_evade(void **state)
{
	(void)state;
	static const char *const bad[] = {"[192.0.2.1]", "exa mple.org", "example..org"};
	for (size_t k = 0; k < sizeof bad / sizeof bad[0]; k++) {
		struct session_dmarc *d = dmarc_with_from("a@example.org");
		(void)resolve(d, zone, NULL, 0);
		struct session_dmarc_inputs in = {.spf_result = SIGNET_SPF_PASS,
						  .spf_domain = bad[k]};
		session_dmarc_evaluate(d, &in);
		(void)resolve(d, zone, NULL, 0);
		assert_true(session_dmarc_done(d));
		const struct signet_dmarc_outcome *o = session_dmarc_outcome(d);
		if (o == NULL)
			fail_msg("%s: no outcome: %s", bad[k], session_dmarc_problem(d));
		assert_int_equal(o->result, SIGNET_DMARC_FAIL);
		assert_int_equal(o->disposition, SIGNET_DMARC_POLICY_REJECT);
		session_dmarc_free(d);
	}
}

/* DMARC-DISC-01, DMARC-ORG-01 (dmarc.discovery = "psl", RFC 7489): the
 * author domain's record, then the organizational domain's from the
 * public suffix list (co.uk is a suffix: example.co.uk), asked from the
 * From header on; its sp= applies to the subdomain. */
static void DMARC_DISC_01_psl_mode_org_domain_from_the_list(void **state)
{
	(void)state;
	char path[] = "/tmp/signet-psl-XXXXXX";
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	static const char list[] =
		"// ===BEGIN ICANN DOMAINS===\nuk\nco.uk\norg\n// ===END ICANN DOMAINS===\n";
	assert_int_equal(write(fd, list, sizeof list - 1), (ssize_t)(sizeof list - 1));
	close(fd);
	bool unreadable;
	char why[256];
	struct signet_psl *psl = conf_psl_load(path, &unreadable, why, sizeof why);
	unlink(path);
	if (psl == NULL)
		fail_msg("list not loaded: %s", why);
	struct session_dmarc *d = session_dmarc_new(SIGNET_DMARC_RFC7489, psl);
	session_dmarc_from(d, (const uint8_t *)"a@mail.example.co.uk", 20);
	char asked[512] = "";
	(void)resolve(d, zone, asked, sizeof asked);
	assert_string_equal(asked, "_dmarc.mail.example.co.uk/TXT _dmarc.example.co.uk/TXT");
	struct session_dmarc_inputs in = {.spf_result = SIGNET_SPF_NONE};
	session_dmarc_evaluate(d, &in);
	assert_int_equal(resolve(d, zone, NULL, 0), 0);
	const struct signet_dmarc_outcome *o = session_dmarc_outcome(d);
	assert_non_null(o);
	assert_int_equal(o->result, SIGNET_DMARC_FAIL);
	assert_string_equal(o->policy_domain, "example.co.uk");
	assert_int_equal(o->applied, SIGNET_DMARC_APPLIED_SP);
	assert_int_equal(o->disposition, SIGNET_DMARC_POLICY_REJECT);
	session_dmarc_free(d);
	signet_psl_free(psl);
}

/* DMARC-DISC-03: a temporary DNS failure is temperror, kept like any answer. */
static void DMARC_DISC_03_tempfail_is_temperror(void **state)
{
	(void)state;
	struct session_dmarc *d = dmarc_with_from("a@slow.example");
	(void)resolve(d, zone, NULL, 0);
	struct session_dmarc_inputs in = {.spf_result = SIGNET_SPF_NONE};
	session_dmarc_evaluate(d, &in);
	(void)resolve(d, zone, NULL, 0);
	assert_true(session_dmarc_done(d));
	assert_int_equal(session_dmarc_outcome(d)->result, SIGNET_DMARC_TEMPERROR);
	session_dmarc_free(d);
}

/* No From field, or two: a result (none), no lookup; RFC 7489 mode without
 * a public suffix list: no outcome, and the problem says why. */
static void DMARC_FROM_01_missing_or_several_from_no_lookup(void **state)
{
	(void)state;
	struct session_dmarc_inputs in = {.spf_result = SIGNET_SPF_NONE};
	struct session_dmarc *d = session_dmarc_new(SIGNET_DMARC_RFC9989, NULL);
	session_dmarc_evaluate(d, &in);
	assert_true(session_dmarc_done(d));
	assert_int_equal(session_dmarc_outcome(d)->result, SIGNET_DMARC_NONE);
	assert_int_equal(session_dmarc_outcome(d)->from, SIGNET_DMARC_FROM_MISSING);
	session_dmarc_free(d);

	d = dmarc_with_from("a@example.org");
	session_dmarc_from(d, (const uint8_t *)"b@example.org", 13);
	session_dmarc_from(d, (const uint8_t *)"c@example.org", 13); /* counted, not kept */
	session_dmarc_evaluate(d, &in);
	(void)resolve(d, zone, NULL, 0);
	assert_true(session_dmarc_done(d));
	assert_int_equal(session_dmarc_outcome(d)->from, SIGNET_DMARC_FROM_SEVERAL_FIELDS);
	session_dmarc_free(d);

	d = session_dmarc_new(SIGNET_DMARC_RFC7489, NULL);
	session_dmarc_from(d, (const uint8_t *)"a@example.org", 13);
	session_dmarc_evaluate(d, &in);
	assert_true(session_dmarc_done(d));
	assert_null(session_dmarc_outcome(d));
	assert_non_null(strstr(session_dmarc_problem(d), "public suffix list"));
	/* the log line says so; no DMARC check at all: nothing */
	struct session_dmarc_verdict v = {SESSION_DMARC_ACCEPT, "not evaluated"};
	char line[256];
	session_dmarc_log_line(d, &v, line, sizeof line);
	assert_string_equal(line, "; dmarc not evaluated: dmarc.discovery = \"psl\" and no public "
				  "suffix list is loaded");
	session_dmarc_log_line(NULL, &v, line, sizeof line);
	assert_string_equal(line, "");
	session_dmarc_free(d);
}

/* ---- decisions ---- */

static struct config_dmarc cfg_default(void)
{
	struct config_dmarc c = {0};
	config_dmarc_defaults(&c);
	return c;
}

static struct signet_dmarc_outcome outcome(enum signet_dmarc_result r, enum signet_dmarc_policy dis)
{
	return (struct signet_dmarc_outcome){.result = r,
					     .author_domain = "example.org",
					     .policy_domain = "example.org",
					     .applied = SIGNET_DMARC_APPLIED_P,
					     .policy = dis,
					     .disposition = dis};
}

/* DMARC-ENF-01: a failure with disposition reject is rejected when
 * enforce is on (the default), accepted and marked when it is off; a
 * pass, none or permerror is never refused. */
static void DMARC_ENF_01_reject_only_when_enforced(void **state)
{
	(void)state;
	struct config_dmarc c = cfg_default();
	struct signet_dmarc_outcome o = outcome(SIGNET_DMARC_FAIL, SIGNET_DMARC_POLICY_REJECT);
	assert_int_equal(session_dmarc_decide(&c, &o, false, true).action, SESSION_DMARC_REJECT);
	c.enforce = false;
	struct session_dmarc_verdict v = session_dmarc_decide(&c, &o, false, true);
	assert_int_equal(v.action, SESSION_DMARC_ACCEPT);
	assert_non_null(strstr(v.why, "dmarc.enforce = false"));
	c.enforce = true;
	static const enum signet_dmarc_result others[] = {SIGNET_DMARC_PASS, SIGNET_DMARC_NONE,
							  SIGNET_DMARC_PERMERROR};
	for (size_t k = 0; k < 3; k++) {
		o = outcome(others[k], SIGNET_DMARC_POLICY_REJECT);
		assert_int_equal(session_dmarc_decide(&c, &o, false, true).action,
				 SESSION_DMARC_ACCEPT);
	}
	/* an override (t=y, pct, trusted ARC) moved the disposition: not refused */
	o = outcome(SIGNET_DMARC_FAIL, SIGNET_DMARC_POLICY_NONE);
	o.override = SIGNET_DMARC_OVERRIDE_ARC;
	v = session_dmarc_decide(&c, &o, false, true);
	assert_int_equal(v.action, SESSION_DMARC_ACCEPT);
	assert_non_null(strstr(v.why, "override"));
	/* not evaluated: nothing to decide */
	assert_int_equal(session_dmarc_decide(&c, NULL, false, true).action, SESSION_DMARC_ACCEPT);
	char text[256];
	o = outcome(SIGNET_DMARC_FAIL, SIGNET_DMARC_POLICY_REJECT);
	session_dmarc_reject_text(&o, text, sizeof text);
	assert_string_equal(text, "Rejected by the DMARC policy of example.org (p=reject)");
}

/* DMARC-ENF-02: disposition quarantine: marked only with quarantine =
 * "header" (the default); held with "hold" when enforced and the MTA
 * offered the quarantine action, marked otherwise. */
static void DMARC_ENF_02_quarantine_header_or_hold(void **state)
{
	(void)state;
	struct config_dmarc c = cfg_default();
	struct signet_dmarc_outcome o = outcome(SIGNET_DMARC_FAIL, SIGNET_DMARC_POLICY_QUARANTINE);
	assert_int_equal(session_dmarc_decide(&c, &o, false, true).action,
			 SESSION_DMARC_QUARANTINE);
	c.quarantine = CONFIG_QUARANTINE_HOLD;
	assert_int_equal(session_dmarc_decide(&c, &o, false, true).action, SESSION_DMARC_HOLD);
	struct session_dmarc_verdict v = session_dmarc_decide(&c, &o, false, false);
	assert_int_equal(v.action, SESSION_DMARC_QUARANTINE);
	assert_non_null(strstr(v.why, "did not offer"));
	c.enforce = false;
	assert_int_equal(session_dmarc_decide(&c, &o, false, true).action,
			 SESSION_DMARC_QUARANTINE);
}

/* DMARC-ENF-03: never enforced on local or authenticated mail. */
static void DMARC_ENF_03_never_on_local_or_authenticated(void **state)
{
	(void)state;
	struct config_dmarc c = cfg_default();
	c.quarantine = CONFIG_QUARANTINE_HOLD;
	c.on_temperror = CONFIG_TEMPFAIL;
	static const enum signet_dmarc_policy dis[] = {SIGNET_DMARC_POLICY_REJECT,
						       SIGNET_DMARC_POLICY_QUARANTINE};
	for (size_t k = 0; k < 2; k++) {
		struct signet_dmarc_outcome o = outcome(SIGNET_DMARC_FAIL, dis[k]);
		struct session_dmarc_verdict v = session_dmarc_decide(&c, &o, true, true);
		assert_int_equal(v.action, SESSION_DMARC_ACCEPT);
		assert_non_null(strstr(v.why, "local or authenticated"));
	}
	struct signet_dmarc_outcome o = outcome(SIGNET_DMARC_TEMPERROR, SIGNET_DMARC_POLICY_UNSET);
	assert_int_equal(session_dmarc_decide(&c, &o, true, true).action, SESSION_DMARC_ACCEPT);
}

/* DMARC-ENF-04: temperror is accepted (the default), or deferred with
 * on_temperror = "tempfail"; never rejected. */
static void DMARC_ENF_04_temperror_accept_or_tempfail(void **state)
{
	(void)state;
	struct config_dmarc c = cfg_default();
	struct signet_dmarc_outcome o = outcome(SIGNET_DMARC_TEMPERROR, SIGNET_DMARC_POLICY_UNSET);
	struct session_dmarc_verdict v = session_dmarc_decide(&c, &o, false, true);
	assert_int_equal(v.action, SESSION_DMARC_ACCEPT);
	assert_string_equal(v.why, "temperror, dmarc.on_temperror = accept");
	c.on_temperror = CONFIG_TEMPFAIL;
	assert_int_equal(session_dmarc_decide(&c, &o, false, true).action, SESSION_DMARC_TEMPFAIL);
}

/* DMARC-ENF-05: the trusted_arc input. Trusted only when the chain
 * passes and every sealer (instances 1..N) is listed (issue #16: "whose
 * sealers are all in"): one untrusted hop is enough to refuse, whether
 * newest or oldest; nor a failed or temperror chain, nor sealer domains
 * that do not match the chain. Case and a final dot do not matter. */
static void DMARC_ENF_05_trusted_arc_sealer_hook(void **state)
{
	(void)state;
	struct config_dmarc c = cfg_default();
	const char *why;
	struct signet_arc_result pass2 = {.result = SIGNET_RESULT_PASS, .instances = 2};
	const char *sealers[] = {"lists.example.com", "Google.COM."};
	assert_false(session_dmarc_arc_trusted(&c, &pass2, sealers, 2, &why));
	assert_string_equal(why, "no trusted_arc_sealers");
	char *list[] = {"google.com", "lists.example.com"};
	c.trusted_arc_sealers = list;
	c.n_trusted_arc_sealers = 2;
	assert_true(session_dmarc_arc_trusted(&c, &pass2, sealers, 2, &why));
	assert_string_equal(why, "every ARC sealer in trusted_arc_sealers");
	c.n_trusted_arc_sealers = 1; /* google.com only */
	assert_false(session_dmarc_arc_trusted(&c, &pass2, sealers, 2, &why));
	assert_string_equal(why, "an ARC sealer not in trusted_arc_sealers");
	const char *older[] = {"google.com", "lists.example.com"};
	assert_false(session_dmarc_arc_trusted(&c, &pass2, older, 2, &why));
	const char *unknown[] = {NULL, "google.com"};
	assert_false(session_dmarc_arc_trusted(&c, &pass2, unknown, 2, &why));
	c.n_trusted_arc_sealers = 2;
	const char *suffix[] = {"lists.example.com", "notgoogle.com"};
	assert_false(session_dmarc_arc_trusted(&c, &pass2, suffix, 2, &why));
	assert_false(session_dmarc_arc_trusted(&c, &pass2, sealers, 1, &why));
	assert_string_equal(why, "ARC sealer domains not known");
	static const enum signet_result bad[] = {SIGNET_RESULT_FAIL, SIGNET_RESULT_TEMPERROR,
						 SIGNET_RESULT_NONE};
	for (size_t k = 0; k < 3; k++) {
		struct signet_arc_result r = {.result = bad[k], .instances = 2};
		assert_false(session_dmarc_arc_trusted(&c, &r, sealers, 2, &why));
		assert_string_equal(why, "no passing ARC chain");
	}
	assert_false(session_dmarc_arc_trusted(&c, NULL, NULL, 0, NULL));
	/* the hook's answer, given to the evaluation, turns a reject into
	 * disposition none (arc-override), which is accepted */
	struct session_dmarc *d = dmarc_with_from("a@example.org");
	(void)resolve(d, zone, NULL, 0);
	struct session_dmarc_inputs in = {
		.spf_result = SIGNET_SPF_NONE,
		.trusted_arc = session_dmarc_arc_trusted(&c, &pass2, sealers, 2, NULL)};
	session_dmarc_evaluate(d, &in);
	const struct signet_dmarc_outcome *o = session_dmarc_outcome(d);
	assert_int_equal(o->result, SIGNET_DMARC_FAIL);
	assert_int_equal(o->override, SIGNET_DMARC_OVERRIDE_ARC);
	assert_int_equal(session_dmarc_decide(&c, o, false, true).action, SESSION_DMARC_ACCEPT);
	char line[512];
	session_dmarc_describe(o, line, sizeof line);
	assert_non_null(strstr(line, "dmarc=fail (p=reject sp=reject dis=none) header.from="
				     "example.org"));
	assert_non_null(strstr(line, "override arc-override"));
	session_dmarc_free(d);
}

int main(void)
{
	log_open(true, "mail", false);
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(DMARC_SESS_01_from_header_starts_lookup_eom_reuses_it),
		cmocka_unit_test(DMARC_SESS_01_lookup_in_flight_at_eom_is_waited_for),
		cmocka_unit_test(DMARC_SESS_01_np_existence_asked_as_a_lookup),
		cmocka_unit_test(DMARC_ALIGN_02_mail_from_literal_does_not_evade),
		cmocka_unit_test(DMARC_DISC_01_psl_mode_org_domain_from_the_list),
		cmocka_unit_test(DMARC_DISC_03_tempfail_is_temperror),
		cmocka_unit_test(DMARC_FROM_01_missing_or_several_from_no_lookup),
		cmocka_unit_test(DMARC_ENF_01_reject_only_when_enforced),
		cmocka_unit_test(DMARC_ENF_02_quarantine_header_or_hold),
		cmocka_unit_test(DMARC_ENF_03_never_on_local_or_authenticated),
		cmocka_unit_test(DMARC_ENF_04_temperror_accept_or_tempfail),
		cmocka_unit_test(DMARC_ENF_05_trusted_arc_sealer_hook),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
