/* test_spf.c: the SPF evaluator (lib/spf.c, spf_macro.c, spf_record.c)
 * against a zone held in the test: requirement IDs of shared/spec/roadmap.md
 * (SPF-*). The whole OpenSPF RFC 7208 suite runs through `signet spf` in
 * tests/integration/test_spf_suite.py. */
#include <arpa/inet.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <cmocka.h>

#include <signet/spf.h>

#include "spf_macro.h"

/* ---- a zone in memory ---------------------------------------------------- */

struct rr {
	const char *name;
	enum signet_rrtype type; /* 0: TIMEOUT for the name */
	const char *data;        /* TXT text, address text, MX/PTR name */
	uint16_t pref;
};

struct run {
	enum signet_spf_result result;
	char explanation[256];
	char reason[400];
	unsigned lookups, voids;
	unsigned max_open; /* most questions open at once */
};

static void answer(struct signet_spf *s, const struct rr *zone, size_t nz,
		   const struct signet_spf_query *q)
{
	struct signet_rr rrs[64];
	uint8_t addr[64][16];
	size_t n = 0;
	bool exists = false, timeout = false;
	struct signet_error err;
	for (size_t k = 0; k < nz; k++) {
		if (strcasecmp(zone[k].name, q->name) != 0)
			continue;
		exists = true;
		if (zone[k].type == 0)
			timeout = true;
		if (zone[k].type != q->type || n == 64)
			continue;
		if (q->type == SIGNET_RR_A || q->type == SIGNET_RR_AAAA) {
			int af = q->type == SIGNET_RR_A ? AF_INET : AF_INET6;
			assert_int_equal(inet_pton(af, zone[k].data, addr[n]), 1);
			rrs[n] = (struct signet_rr){addr[n], af == AF_INET ? 4u : 16u, 0};
		} else {
			rrs[n] = (struct signet_rr){(const uint8_t *)zone[k].data,
						    strlen(zone[k].data), zone[k].pref};
		}
		n++;
	}
	enum signet_dns_status st = timeout && n == 0 ? SIGNET_DNS_TEMPFAIL
				    : !exists         ? SIGNET_DNS_NXDOMAIN
						      : SIGNET_DNS_OK;
	assert_int_equal(signet_spf_answer(s, q->id, st, rrs, n, &err), SIGNET_OK);
}

static struct run check(const struct rr *zone, size_t nz, const char *ip, const char *mail_from,
			const char *helo)
{
	struct signet_spf_request req = {0};
	struct signet_spf *s;
	struct signet_error err;
	struct run r;
	memset(&r, 0, sizeof r);
	req.ipv6 = strchr(ip, ':') != NULL;
	assert_int_equal(inet_pton(req.ipv6 ? AF_INET6 : AF_INET, ip, req.ip), 1);
	req.mail_from = mail_from;
	req.helo = helo;
	req.default_explanation = "DEFAULT";
	assert_int_equal(signet_spf_new(&req, &s, &err), SIGNET_OK);
	for (int guard = 0; !signet_spf_done(s); guard++) {
		struct signet_spf_query qs[32];
		unsigned n = 0;
		assert_true(guard < 200);
		while (n < 32 && signet_spf_next_query(s, &qs[n]))
			n++;
		assert_true(n > 0); /* not done: a question must be open */
		if (n > r.max_open)
			r.max_open = n;
		/* Answer in reverse order: the result must not depend on it. */
		for (unsigned k = n; k-- > 0;)
			answer(s, zone, nz, &qs[k]);
	}
	const struct signet_spf_outcome *o = signet_spf_outcome(s);
	assert_non_null(o);
	r.result = o->result;
	snprintf(r.explanation, sizeof r.explanation, "%s", o->explanation ? o->explanation : "");
	snprintf(r.reason, sizeof r.reason, "%s", o->reason);
	r.lookups = o->lookups;
	r.voids = o->void_lookups;
	signet_spf_free(s);
	return r;
}

#define CHECK(zone, ip, from, helo) check(zone, sizeof(zone) / sizeof((zone)[0]), ip, from, helo)

/* ---- tests ---------------------------------------------------------------- */

/* SPF-MAC-01 (RFC 7208 7.4): the RFC's own examples, for
 * strong-bad@email.example.com from 192.0.2.3. */
static void SPF_MAC_01_rfc_examples(void **state)
{
	(void)state;
	static const struct {
		const char *in, *out;
	} ex[] = {
		{"%{s}", "strong-bad@email.example.com"},
		{"%{o}", "email.example.com"},
		{"%{d}", "email.example.com"},
		{"%{d4}", "email.example.com"},
		{"%{d3}", "email.example.com"},
		{"%{d2}", "example.com"},
		{"%{d1}", "com"},
		{"%{dr}", "com.example.email"},
		{"%{d2r}", "example.email"},
		{"%{l}", "strong-bad"},
		{"%{l-}", "strong.bad"},
		{"%{lr}", "strong-bad"},
		{"%{lr-}", "bad.strong"},
		{"%{l1r-}", "strong"},
		{"%{ir}.%{v}._spf.%{d2}", "3.2.0.192.in-addr._spf.example.com"},
		{"%{lr-}.lp._spf.%{d2}", "bad.strong.lp._spf.example.com"},
		{"%{ir}.%{v}.%{l1r-}.lp._spf.%{d2}",
		 "3.2.0.192.in-addr.strong.lp._spf.example.com"},
		{"%{d2}.trusted-domains.example.net", "example.com.trusted-domains.example.net"},
		{"%{S}", "strong-bad%40email.example.com"},
		{"%%%_%-", "% %20"},
	};
	struct spf_macro_ctx ctx = {"strong-bad@email.example.com",
				    "strong-bad",
				    "email.example.com",
				    "email.example.com",
				    "192.0.2.3",
				    NULL,
				    "in-addr",
				    "mx.example.org",
				    "192.0.2.3",
				    "unknown",
				    "0"};
	static char out[SPF_MACRO_MAX + 1];
	for (size_t k = 0; k < sizeof ex / sizeof ex[0]; k++) {
		size_t len;
		const char *why = NULL;
		struct signet_span in = {(const uint8_t *)ex[k].in, strlen(ex[k].in)};
		assert_true(spf_macro_expand(in, &ctx, false, out, &len, &why));
		assert_string_equal(out, ex[k].out);
	}
}

/* SPF-MAC-02, SPF-MAC-01: bad macros are syntax errors; c, r, t only in exp=. */
static void SPF_MAC_02_macro_syntax(void **state)
{
	(void)state;
	static const char *bad[] = {"%", "%x", "%{", "%{d", "%{x}", "%{d0}", "%{c}", "a%(ir)b"};
	const char *why;
	for (size_t k = 0; k < sizeof bad / sizeof bad[0]; k++) {
		struct signet_span in = {(const uint8_t *)bad[k], strlen(bad[k])};
		assert_false(spf_macro_valid(in, false, &why));
	}
	struct signet_span c = {(const uint8_t *)"%{c} %{r} %{t}", 14};
	assert_true(spf_macro_valid(c, true, &why));
	assert_false(spf_macro_valid(c, false, &why));
	assert_string_equal(why,
			    "the c, r and t macros are allowed in exp= text only (RFC 7208 7.1)");
}

/* SPF-MAC-03 (RFC 7208 7.3): %{i} of an IPv6 client is 32 dot-separated
 * nibbles; %{v} is "ip6". */
static void SPF_MAC_03_ipv6_nibbles(void **state)
{
	(void)state;
	static const struct rr zone[] = {
		{"example.com", SIGNET_RR_TXT, "v=spf1 -all exp=e.example.com", 0},
		{"e.example.com", SIGNET_RR_TXT, "%{ir}.%{v}", 0},
	};
	struct run r = CHECK(zone, "2001:db8::cb01", "a@example.com", "h.example.com");
	assert_int_equal(r.result, SIGNET_SPF_FAIL);
	assert_string_equal(r.explanation,
			    "1.0.B.C.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.B.D.0.1.0.0.2.ip6");
}

/* SPF-MAC-04 (RFC 7208 7.3): a long expansion drops leading labels until it
 * is at most 253 octets. */
static void SPF_MAC_04_long_expansion_truncated(void **state)
{
	(void)state;
	char name[600];
	size_t len;
	memset(name, 0, sizeof name);
	for (int k = 0; k < 40; k++)
		strcat(name, "abcdefghi.");
	strcat(name, "example.com.");
	len = strlen(name);
	spf_macro_fit_domain(name, &len);
	assert_true(len <= 253);
	assert_int_equal(len, strlen(name));
	assert_string_equal(name + len - 12, ".example.com");
	assert_int_equal(name[0], 'a');
}

/* SPF-LOOK-02 (RFC 7208 4.5): one record is used; two are permerror; none
 * is none; "v=spf10" is not an SPF record. */
static void SPF_LOOK_02_record_selection(void **state)
{
	(void)state;
	static const struct rr two[] = {
		{"example.com", SIGNET_RR_TXT, "v=spf1 +all", 0},
		{"example.com", SIGNET_RR_TXT, "v=spf1 -all", 0},
	};
	static const struct rr other[] = {
		{"example.com", SIGNET_RR_TXT, "v=spf10 +all", 0},
		{"example.com", SIGNET_RR_TXT, "google-site-verification=x", 0},
	};
	assert_int_equal(CHECK(two, "192.0.2.1", "a@example.com", "h").result,
			 SIGNET_SPF_PERMERROR);
	assert_int_equal(CHECK(other, "192.0.2.1", "a@example.com", "h").result, SIGNET_SPF_NONE);
}

/* SPF-LOOK-03 (RFC 7208 4.4): a temporary DNS failure is temperror. */
static void SPF_LOOK_03_temperror(void **state)
{
	(void)state;
	static const struct rr zone[] = {{"example.com", 0, NULL, 0}};
	struct run r = CHECK(zone, "192.0.2.1", "a@example.com", "h");
	assert_int_equal(r.result, SIGNET_SPF_TEMPERROR);
}

/* SPF-ID-01, SPF-ID-02 (RFC 7208 2.4, 4.3): a null sender is checked as
 * postmaster@HELO; a missing local part is "postmaster". */
static void SPF_ID_01_null_sender_uses_helo(void **state)
{
	(void)state;
	static const struct rr zone[] = {
		{"mx.example.org", SIGNET_RR_TXT, "v=spf1 -all exp=e.example.org", 0},
		{"e.example.org", SIGNET_RR_TXT, "%{s} %{l}", 0},
	};
	struct run r = CHECK(zone, "192.0.2.1", "", "mx.example.org");
	assert_int_equal(r.result, SIGNET_SPF_FAIL);
	assert_string_equal(r.explanation, "postmaster@mx.example.org postmaster");
	r = CHECK(zone, "192.0.2.1", "@mx.example.org", "h.example.com");
	assert_string_equal(r.explanation, "postmaster@mx.example.org postmaster");
}

/* SPF-LIM-01 (RFC 7208 4.6.4): ten DNS-querying terms are allowed, the
 * eleventh is permerror and named. */
static void SPF_LIM_01_ten_lookups(void **state)
{
	(void)state;
	static const struct rr ten[] = {
		{"example.com", SIGNET_RR_TXT,
		 "v=spf1 a:a1.example.com a:a2.example.com a:a3.example.com a:a4.example.com "
		 "a:a5.example.com a:a6.example.com a:a7.example.com a:a8.example.com "
		 "a:a9.example.com a:a10.example.com -all",
		 0},
	};
	static const struct rr eleven[] = {
		{"example.com", SIGNET_RR_TXT,
		 "v=spf1 a:a1.example.com a:a2.example.com a:a3.example.com a:a4.example.com "
		 "a:a5.example.com a:a6.example.com a:a7.example.com a:a8.example.com "
		 "a:a9.example.com a:a10.example.com a:a11.example.com -all",
		 0},
	};
	/* the names have addresses (not the client's): no void lookups */
	struct rr z10[12], z11[13];
	char names[11][32];
	for (int k = 0; k < 11; k++) {
		snprintf(names[k], sizeof names[k], "a%d.example.com", k + 1);
		z11[k + 1] = (struct rr){names[k], SIGNET_RR_A, "198.51.100.1", 0};
		if (k < 10)
			z10[k + 1] = z11[k + 1];
	}
	z10[0] = ten[0];
	z11[0] = eleven[0];
	struct run r = check(z10, 11, "192.0.2.1", "a@example.com", "h");
	assert_int_equal(r.result, SIGNET_SPF_FAIL);
	assert_int_equal(r.lookups, 10);
	r = check(z11, 12, "192.0.2.1", "a@example.com", "h");
	assert_int_equal(r.result, SIGNET_SPF_PERMERROR);
	assert_string_equal(r.reason, "a:a11.example.com is DNS-querying term 11: more than 10 "
				      "(RFC 7208 4.6.4)");
}

/* SPF-LIM-03 (RFC 7208 4.6.4): two void lookups are allowed, the third is
 * permerror. */
static void SPF_LIM_03_void_lookups(void **state)
{
	(void)state;
	static const struct rr two[] = {
		{"example.com", SIGNET_RR_TXT, "v=spf1 a:n1.example.com a:n2.example.com ?all", 0}};
	static const struct rr three[] = {
		{"example.com", SIGNET_RR_TXT,
		 "v=spf1 a:n1.example.com a:n2.example.com a:n3.example.com ?all", 0}};
	struct run r = CHECK(two, "192.0.2.1", "a@example.com", "h");
	assert_int_equal(r.result, SIGNET_SPF_NEUTRAL);
	assert_int_equal(r.voids, 2);
	r = CHECK(three, "192.0.2.1", "a@example.com", "h");
	assert_int_equal(r.result, SIGNET_SPF_PERMERROR);
	assert_string_equal(r.reason,
			    "n3.example.com is void lookup 3: more than 2 (RFC 7208 4.6.4)");
}

/* SPF-LIM-02 (RFC 7208 4.6.4): an mx with more than ten names is permerror;
 * the address lookups of its names are asked all at once. */
static void SPF_LIM_02_mx_names_in_parallel(void **state)
{
	(void)state;
	char names[11][32];
	struct rr zone[24];
	size_t nz = 0;
	zone[nz++] = (struct rr){"example.com", SIGNET_RR_TXT, "v=spf1 mx -all", 0};
	for (int k = 0; k < 11; k++) {
		snprintf(names[k], sizeof names[k], "mx%d.example.com", k);
		zone[nz++] = (struct rr){names[k], SIGNET_RR_A,
					 k == 9 ? "192.0.2.9" : "198.51.100.1", 0};
	}
	for (int k = 0; k < 10; k++)
		zone[nz++] = (struct rr){"example.com", SIGNET_RR_MX, names[k], (uint16_t)k};
	struct run r = check(zone, nz, "192.0.2.9", "a@example.com", "h");
	assert_int_equal(r.result, SIGNET_SPF_PASS);
	assert_int_equal(r.max_open, 10);
	zone[nz++] = (struct rr){"example.com", SIGNET_RR_MX, names[10], 10};
	r = check(zone, nz, "192.0.2.9", "a@example.com", "h");
	assert_int_equal(r.result, SIGNET_SPF_PERMERROR);
}

/* SPF-EVAL-04 (RFC 7208 5.2): include passes on pass, does not match on
 * fail, is permerror when the target has no record. */
static void SPF_EVAL_04_include(void **state)
{
	(void)state;
	static const struct rr zone[] = {
		{"example.com", SIGNET_RR_TXT, "v=spf1 include:i.example.net ~all", 0},
		{"i.example.net", SIGNET_RR_TXT, "v=spf1 ip4:192.0.2.0/24 -all", 0},
		{"none.example.com", SIGNET_RR_TXT, "v=spf1 include:no.example.net -all", 0},
	};
	assert_int_equal(CHECK(zone, "192.0.2.77", "a@example.com", "h").result, SIGNET_SPF_PASS);
	assert_int_equal(CHECK(zone, "198.51.100.1", "a@example.com", "h").result,
			 SIGNET_SPF_SOFTFAIL);
	assert_int_equal(CHECK(zone, "192.0.2.1", "a@none.example.com", "h").result,
			 SIGNET_SPF_PERMERROR);
}

/* SPF-EVAL-05 (RFC 7208 6.1): redirect applies when nothing matched and is
 * ignored when "all" is present. */
static void SPF_EVAL_05_redirect(void **state)
{
	(void)state;
	static const struct rr zone[] = {
		{"example.com", SIGNET_RR_TXT, "v=spf1 redirect=r.example.net", 0},
		{"r.example.net", SIGNET_RR_TXT, "v=spf1 ip4:192.0.2.0/24 -all", 0},
		{"all.example.com", SIGNET_RR_TXT, "v=spf1 ?all redirect=r.example.net", 0},
	};
	assert_int_equal(CHECK(zone, "192.0.2.7", "a@example.com", "h").result, SIGNET_SPF_PASS);
	assert_int_equal(CHECK(zone, "198.51.100.7", "a@example.com", "h").result, SIGNET_SPF_FAIL);
	assert_int_equal(CHECK(zone, "192.0.2.7", "a@all.example.com", "h").result,
			 SIGNET_SPF_NEUTRAL);
}

/* SPF-CIDR-01 (RFC 7208 5.6): CIDR lengths, and out-of-range ones are
 * permerror. */
static void SPF_CIDR_01_lengths(void **state)
{
	(void)state;
	static const struct rr zone[] = {
		{"example.com", SIGNET_RR_TXT, "v=spf1 ip4:192.0.2.0/25 ip6:2001:db8::/33 -all", 0},
		{"bad.example.com", SIGNET_RR_TXT, "v=spf1 ip4:192.0.2.0/33 -all", 0},
		{"bad6.example.com", SIGNET_RR_TXT, "v=spf1 a//129 -all", 0},
	};
	assert_int_equal(CHECK(zone, "192.0.2.127", "a@example.com", "h").result, SIGNET_SPF_PASS);
	assert_int_equal(CHECK(zone, "192.0.2.128", "a@example.com", "h").result, SIGNET_SPF_FAIL);
	assert_int_equal(CHECK(zone, "2001:db8:7fff::1", "a@example.com", "h").result,
			 SIGNET_SPF_PASS);
	assert_int_equal(CHECK(zone, "2001:db8:8000::1", "a@example.com", "h").result,
			 SIGNET_SPF_FAIL);
	assert_int_equal(CHECK(zone, "192.0.2.1", "a@bad.example.com", "h").result,
			 SIGNET_SPF_PERMERROR);
	assert_int_equal(CHECK(zone, "192.0.2.1", "a@bad6.example.com", "h").result,
			 SIGNET_SPF_PERMERROR);
}

/* SPF-EVAL-07 (RFC 7208 4.6.1, 6): a syntax error anywhere is permerror,
 * even after a matching term; unknown modifiers are ignored. */
static void SPF_EVAL_07_syntax_anywhere(void **state)
{
	(void)state;
	static const struct rr zone[] = {
		{"example.com", SIGNET_RR_TXT, "v=spf1 +all foo:bar", 0},
		{"mod.example.com", SIGNET_RR_TXT, "v=spf1 foo=%{d} +all", 0},
		{"dup.example.com", SIGNET_RR_TXT,
		 "v=spf1 exp=a.example.com exp=b.example.com +all", 0},
	};
	assert_int_equal(CHECK(zone, "192.0.2.1", "a@example.com", "h").result,
			 SIGNET_SPF_PERMERROR);
	assert_int_equal(CHECK(zone, "192.0.2.1", "a@mod.example.com", "h").result,
			 SIGNET_SPF_PASS);
	assert_int_equal(CHECK(zone, "192.0.2.1", "a@dup.example.com", "h").result,
			 SIGNET_SPF_PERMERROR);
}

/* SPF-EVAL-01 (RFC 7208 4.6.2): terms left to right, the first match decides
 * with its qualifier; SPF-EVAL-02 (4.7): no match and no redirect is neutral. */
static void SPF_EVAL_01_first_match_decides(void **state)
{
	(void)state;
	static const struct rr zone[] = {
		{"example.com", SIGNET_RR_TXT, "v=spf1 ~ip4:192.0.2.1 -ip4:192.0.2.0/24 +all", 0},
		{"nomatch.example.com", SIGNET_RR_TXT, "v=spf1 ip4:198.51.100.0/24", 0},
	};
	assert_int_equal(CHECK(zone, "192.0.2.1", "a@example.com", "h").result,
			 SIGNET_SPF_SOFTFAIL);
	assert_int_equal(CHECK(zone, "192.0.2.2", "a@example.com", "h").result, SIGNET_SPF_FAIL);
	assert_int_equal(CHECK(zone, "203.0.113.9", "a@example.com", "h").result, SIGNET_SPF_PASS);
}

static void SPF_EVAL_02_no_match_is_neutral(void **state)
{
	(void)state;
	static const struct rr zone[] = {
		{"nomatch.example.com", SIGNET_RR_TXT, "v=spf1 ip4:198.51.100.0/24", 0},
	};
	struct run r = CHECK(zone, "192.0.2.2", "a@nomatch.example.com", "h");
	assert_int_equal(r.result, SIGNET_SPF_NEUTRAL);
	assert_string_equal(r.reason, "no term matched and there is no redirect= (RFC 7208 4.7)");
}

/* SPF-EVAL-03 (RFC 7208 5.1-5.7): every mechanism matches what it should. */
static void SPF_EVAL_03_every_mechanism(void **state)
{
	(void)state;
	static const struct rr zone[] = {
		{"a.example", SIGNET_RR_TXT, "v=spf1 a -all", 0},
		{"a.example", SIGNET_RR_A, "192.0.2.10", 0},
		{"mx.example", SIGNET_RR_TXT, "v=spf1 mx:a.example -all", 0},
		{"a.example", SIGNET_RR_MX, "a.example", 10},
		{"ptr.example", SIGNET_RR_TXT, "v=spf1 ptr:a.example -all", 0},
		{"10.2.0.192.in-addr.arpa", SIGNET_RR_PTR, "host.a.example", 0},
		{"host.a.example", SIGNET_RR_A, "192.0.2.10", 0},
		{"ex.example", SIGNET_RR_TXT, "v=spf1 exists:%{ir}.list.example -all", 0},
		{"10.2.0.192.list.example", SIGNET_RR_A, "127.0.0.2", 0},
		{"ip6.example", SIGNET_RR_TXT, "v=spf1 ip6:2001:db8::/32 -all", 0},
	};
	static const char *const senders[] = {"a@a.example", "a@mx.example", "a@ptr.example",
					      "a@ex.example"};
	for (size_t k = 0; k < 4; k++) {
		assert_int_equal(CHECK(zone, "192.0.2.10", senders[k], "h").result,
				 SIGNET_SPF_PASS);
		assert_int_equal(CHECK(zone, "192.0.2.11", senders[k], "h").result,
				 SIGNET_SPF_FAIL);
	}
	assert_int_equal(CHECK(zone, "2001:db8::1", "a@ip6.example", "h").result, SIGNET_SPF_PASS);
	assert_int_equal(CHECK(zone, "2001:db9::1", "a@ip6.example", "h").result, SIGNET_SPF_FAIL);
}

/* SPF-EVAL-06 (RFC 7208 6.2): exp= explains a fail only; an exp= whose TXT
 * is missing or has a syntax error is ignored (the default is used). */
static void SPF_EVAL_06_exp_only_on_fail(void **state)
{
	(void)state;
	static const struct rr zone[] = {
		{"example.com", SIGNET_RR_TXT, "v=spf1 ?ip4:192.0.2.1 -all exp=e.example.com", 0},
		{"e.example.com", SIGNET_RR_TXT, "%{i} may not send as %{d}", 0},
		{"bad.example.com", SIGNET_RR_TXT, "v=spf1 -all exp=b.example.com", 0},
		{"b.example.com", SIGNET_RR_TXT, "100%", 0},
		{"gone.example.com", SIGNET_RR_TXT, "v=spf1 -all exp=nothere.example.com", 0},
	};
	struct run r = CHECK(zone, "192.0.2.9", "a@example.com", "h");
	assert_int_equal(r.result, SIGNET_SPF_FAIL);
	assert_string_equal(r.explanation, "192.0.2.9 may not send as example.com");
	r = CHECK(zone, "192.0.2.1", "a@example.com", "h");
	assert_int_equal(r.result, SIGNET_SPF_NEUTRAL);
	assert_string_equal(r.explanation, ""); /* none outside fail */
	assert_string_equal(CHECK(zone, "192.0.2.9", "a@bad.example.com", "h").explanation,
			    "DEFAULT");
	assert_string_equal(CHECK(zone, "192.0.2.9", "a@gone.example.com", "h").explanation,
			    "DEFAULT");
}

/* SPF-LOOK-01 (RFC 7208 3.1, 4.4): the record is looked up as TXT only. */
static void SPF_LOOK_01_txt_only(void **state)
{
	(void)state;
	struct signet_spf_request req = {0};
	struct signet_spf *s;
	struct signet_error err;
	struct signet_spf_query q;
	req.ip[0] = 192;
	req.mail_from = "a@example.com";
	assert_int_equal(signet_spf_new(&req, &s, &err), SIGNET_OK);
	assert_true(signet_spf_next_query(s, &q));
	assert_int_equal(q.type, SIGNET_RR_TXT);
	assert_string_equal(q.name, "example.com");
	signet_spf_free(s);
}

/* SPF-LIM-04 (RFC 7208 4.6.4): the check is bounded: the evaluator has no
 * clock, so its bound is the questions it asks, each under the caller's
 * timeout. A worst-case record (ten mx with ten names each, and ptr) asks at
 * most 1 + 10 * (1 + 10) + 1 + 10 questions before it ends. */
static void SPF_LIM_04_questions_bounded(void **state)
{
	(void)state;
	struct rr zone[64];
	char names[10][32];
	size_t nz = 0;
	zone[nz++] = (struct rr){"example.com", SIGNET_RR_TXT,
				 "v=spf1 mx mx mx mx mx mx mx mx mx ptr mx -all", 0};
	for (int k = 0; k < 10; k++) {
		snprintf(names[k], sizeof names[k], "mx%d.example.com", k);
		zone[nz++] = (struct rr){"example.com", SIGNET_RR_MX, names[k], (uint16_t)k};
		zone[nz++] = (struct rr){names[k], SIGNET_RR_A, "198.51.100.1", 0};
	}
	struct signet_spf_request req = {0};
	struct signet_spf *s;
	struct signet_error err;
	unsigned asked = 0;
	req.ip[0] = 192;
	req.ip[3] = 1;
	req.mail_from = "a@example.com";
	assert_int_equal(signet_spf_new(&req, &s, &err), SIGNET_OK);
	while (!signet_spf_done(s)) {
		struct signet_spf_query qs[32];
		unsigned n = 0;
		while (n < 32 && signet_spf_next_query(s, &qs[n]))
			n++;
		assert_true(n > 0);
		asked += n;
		for (unsigned k = 0; k < n; k++)
			answer(s, zone, nz, &qs[k]);
	}
	assert_true(asked <= 1 + 10 * 11 + 1 + 10);
	assert_int_equal(signet_spf_outcome(s)->result, SIGNET_SPF_PERMERROR);
	signet_spf_free(s);
}

/* The API: an unknown id is refused; late answers after the result are
 * ignored; a domain that cannot be checked gives none without a question. */
static void spf_api_misuse(void **state)
{
	(void)state;
	struct signet_spf_request req = {0};
	struct signet_spf *s;
	struct signet_error err;
	struct signet_spf_query q;
	req.ip[0] = 192;
	req.mail_from = "a@example.com";
	assert_int_equal(signet_spf_new(&req, &s, &err), SIGNET_OK);
	assert_true(signet_spf_next_query(s, &q));
	assert_false(signet_spf_next_query(s, &q)); /* one question, handed out once */
	assert_null(signet_spf_outcome(s));
	assert_int_equal(signet_spf_answer(s, q.id + 7, SIGNET_DNS_NXDOMAIN, NULL, 0, &err),
			 SIGNET_ERR_INVAL);
	assert_int_equal(signet_spf_answer(s, q.id, SIGNET_DNS_NXDOMAIN, NULL, 0, &err), SIGNET_OK);
	assert_true(signet_spf_done(s));
	assert_int_equal(signet_spf_outcome(s)->result, SIGNET_SPF_NONE);
	assert_int_equal(signet_spf_answer(s, q.id, SIGNET_DNS_NXDOMAIN, NULL, 0, &err), SIGNET_OK);
	signet_spf_free(s);
	req.mail_from = "a@localhost";
	assert_int_equal(signet_spf_new(&req, &s, &err), SIGNET_OK);
	assert_true(signet_spf_done(s));
	assert_false(signet_spf_next_query(s, &q));
	assert_int_equal(signet_spf_outcome(s)->result, SIGNET_SPF_NONE);
	signet_spf_free(s);
	signet_spf_free(NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(SPF_MAC_01_rfc_examples),
		cmocka_unit_test(SPF_MAC_02_macro_syntax),
		cmocka_unit_test(SPF_MAC_03_ipv6_nibbles),
		cmocka_unit_test(SPF_MAC_04_long_expansion_truncated),
		cmocka_unit_test(SPF_LOOK_02_record_selection),
		cmocka_unit_test(SPF_LOOK_03_temperror),
		cmocka_unit_test(SPF_ID_01_null_sender_uses_helo),
		cmocka_unit_test(SPF_LIM_01_ten_lookups),
		cmocka_unit_test(SPF_LIM_03_void_lookups),
		cmocka_unit_test(SPF_LIM_02_mx_names_in_parallel),
		cmocka_unit_test(SPF_EVAL_04_include),
		cmocka_unit_test(SPF_EVAL_05_redirect),
		cmocka_unit_test(SPF_CIDR_01_lengths),
		cmocka_unit_test(SPF_EVAL_07_syntax_anywhere),
		cmocka_unit_test(SPF_EVAL_01_first_match_decides),
		cmocka_unit_test(SPF_EVAL_02_no_match_is_neutral),
		cmocka_unit_test(SPF_EVAL_03_every_mechanism),
		cmocka_unit_test(SPF_EVAL_06_exp_only_on_fail),
		cmocka_unit_test(SPF_LOOK_01_txt_only),
		cmocka_unit_test(SPF_LIM_04_questions_bounded),
		cmocka_unit_test(spf_api_misuse),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
