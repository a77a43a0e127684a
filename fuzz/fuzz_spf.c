/* fuzz_spf.c: SPF records and macros (lib/spf_record.c, spf_macro.c) and
 * whole evaluations (lib/spf.c) where every TXT answer is the fuzz input: a
 * record is hostile DNS data, and an include or redirect of it evaluates it
 * again, so loops, the limits of RFC 7208 4.6.4 and %{p} are all reached.
 * Invariants: parsing and expansion are bounded; an evaluation ends within
 * a fixed number of answer rounds with at most 11 counted terms and 3 void
 * lookups (the one over each limit ends it); every question is answerable. */
#include <arpa/inet.h>

#include <signet/spf.h>

#include "fuzz.h"
#include "spf_macro.h"
#include "spf_record.h"

#define FUZZ_SPF_ROUNDS 64

static void macros(const uint8_t *p, size_t n)
{
	static char out[SPF_MACRO_MAX + 1];
	struct spf_macro_ctx ctx = {"a@b.example", "a",         "b.example", "b.example",
				    "192.0.2.1",   "p.example", "in-addr",   "h.example",
				    "192.0.2.1",   "r.example", "0"};
	struct signet_span s = {p, n};
	const char *why = NULL;
	size_t len = 0;
	for (int exp = 0; exp < 2; exp++) {
		bool valid = spf_macro_valid(s, exp, &why);
		bool ok = spf_macro_expand(s, &ctx, exp, out, &len, &why);
		FUZZ_CHECK(!ok || len <= SPF_MACRO_MAX);
		FUZZ_CHECK(!ok || strlen(out) <= len); /* a NUL may come from the input */
		/* what the syntax accepts expands, unless it is too long */
		FUZZ_CHECK(!valid || ok || strstr(why, "SPF_MACRO_MAX") != NULL);
		if (ok) {
			spf_macro_fit_domain(out, &len);
			/* leading labels dropped until it fits, or one label is left */
			FUZZ_CHECK(len <= 253 || memchr(out, '.', len) == NULL);
		}
	}
	(void)spf_macro_domain_spec_valid(s, &why);
}

static void evaluate(const uint8_t *p, size_t n, uint8_t flags)
{
	struct signet_spf_request req = {0};
	struct signet_spf *s = NULL;
	struct signet_error err;
	static const uint8_t a4[4] = {192, 0, 2, 1};
	req.ipv6 = flags & 1;
	if (req.ipv6)
		FUZZ_CHECK(inet_pton(AF_INET6, "2001:db8::1", req.ip) == 1);
	else
		memcpy(req.ip, a4, 4);
	req.mail_from = flags & 2 ? "" : "user@example.com";
	req.helo = "mx.example.com";
	req.default_explanation = "%{i} %{s} %{p}";
	req.trace = flags & 4;
	FUZZ_CHECK(signet_spf_new(&req, &s, &err) == SIGNET_OK);
	unsigned k = 0;
	for (int round = 0; !signet_spf_done(s); round++) {
		struct signet_spf_query q;
		FUZZ_CHECK(round < FUZZ_SPF_ROUNDS);
		bool asked = false;
		while (signet_spf_next_query(s, &q)) {
			asked = true;
			struct signet_rr rr[2];
			size_t nrr = 0;
			enum signet_dns_status st = SIGNET_DNS_OK;
			k++;
			if ((flags & 8) && k % 7 == 0)
				st = SIGNET_DNS_TEMPFAIL;
			else if ((flags & 16) && k % 5 == 0)
				st = SIGNET_DNS_NXDOMAIN;
			else if (q.type == SIGNET_RR_TXT)
				rr[nrr++] = (struct signet_rr){p, n, 0};
			else if (q.type == SIGNET_RR_A)
				rr[nrr++] = (struct signet_rr){a4, 4, 0};
			else if (q.type == SIGNET_RR_MX) {
				rr[nrr++] = (struct signet_rr){(const uint8_t *)"mx1.example.com",
							       15, 1};
				rr[nrr++] = (struct signet_rr){(const uint8_t *)"mx.example.com",
							       14, 2};
			} else if (q.type == SIGNET_RR_PTR)
				rr[nrr++] = (struct signet_rr){(const uint8_t *)"mx.example.com",
							       14, 0};
			FUZZ_CHECK(q.name != NULL && strlen(q.name) <= 253);
			FUZZ_CHECK(signet_spf_answer(s, q.id, st, rr, nrr, &err) == SIGNET_OK);
		}
		FUZZ_CHECK(asked || signet_spf_done(s));
	}
	const struct signet_spf_outcome *o = signet_spf_outcome(s);
	FUZZ_CHECK(o != NULL && o->reason != NULL);
	FUZZ_CHECK(o->lookups <= SIGNET_SPF_MAX_DNS_TERMS + 1);
	FUZZ_CHECK(o->void_lookups <= SIGNET_SPF_MAX_VOID_LOOKUPS + 1);
	FUZZ_CHECK(o->explanation == NULL || o->result == SIGNET_SPF_FAIL);
	FUZZ_CHECK(o->ntrace <= SIGNET_SPF_MAX_TRACE);
	signet_spf_free(s);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size == 0)
		return 0;
	uint8_t flags = data[0];
	const uint8_t *p = data + 1;
	size_t n = size - 1;
	struct spf_record r;
	const char *why = NULL;
	struct signet_span bad = {NULL, 0};
	if (spf_record_is_spf(p, n) && spf_record_parse(p, n, &r, &why, &bad) == SIGNET_OK) {
		FUZZ_CHECK(r.nterms <= n / 2 + 1);
		for (size_t k = 0; k < r.nterms; k++)
			FUZZ_CHECK(r.terms[k].text.p >= p &&
				   r.terms[k].text.p + r.terms[k].text.len <= p + n);
		spf_record_free(&r);
	} else if (why != NULL) {
		FUZZ_CHECK(why[0] != '\0');
	}
	macros(p, n);
	evaluate(p, n, flags);
	return 0;
}
