/* fuzz_dmarc.c: DMARC records (lib/dmarc_record.c) and whole evaluations
 * (lib/dmarc.c) on hostile input. Input: a flags byte, then the From field
 * value up to the first '\n', then the TXT record every _dmarc question is
 * answered with. Invariants: the parser's notes point into the record; an
 * evaluation ends within a fixed number of rounds, asks at most
 * SIGNET_DMARC_MAX_QUERIES questions of at most 260 octets, and its
 * outcome is consistent (a disposition only for pass/fail, idents bounded). */
#include <libpsl.h>

#include <signet/dmarc.h>
#include <signet/psl.h>

#include "fuzz.h"

#define FUZZ_DMARC_ROUNDS (2 * SIGNET_DMARC_MAX_QUERIES + 2)

static void record(const uint8_t *p, size_t n)
{
	struct signet_dmarc_record r;
	struct signet_error err;
	for (int mode = 0; mode < 2; mode++) {
		FUZZ_CHECK(signet_dmarc_record_parse(p, n, (enum signet_dmarc_mode)mode, &r,
						     &err) == SIGNET_OK);
		FUZZ_CHECK(r.usable || r.reason != NULL);
		FUZZ_CHECK(!r.usable || r.p != SIGNET_DMARC_POLICY_UNSET);
		FUZZ_CHECK(r.pct <= 100 && r.nnotes <= SIGNET_MAX_TAGS);
		for (size_t k = 0; k < r.nnotes; k++) {
			const uint8_t *t = (const uint8_t *)r.notes[k].tag.p;
			FUZZ_CHECK(t >= p && t + r.notes[k].tag.len <= p + n && r.notes[k].why);
		}
	}
}

static struct signet_psl *psl(void)
{
	static struct signet_psl *l;
	static const char list[] = "// ===BEGIN ICANN DOMAINS===\ncom\norg\nuk\nco.uk\n"
				   "*.kobe.jp\n!city.kobe.jp\n// ===END ICANN DOMAINS===\n";
	struct signet_error err;
	if (l == NULL) {
		FILE *f = fmemopen((void *)list, sizeof list - 1, "r");
		FUZZ_CHECK(f != NULL);
		psl_ctx_t *ctx = psl_load_fp(f);
		fclose(f);
		FUZZ_CHECK(ctx != NULL && signet_psl_new(ctx, true, &l, &err) == SIGNET_OK);
	}
	return l;
}

static enum signet_dns_status status_for(uint8_t flags, unsigned k)
{
	if ((flags & 4) && k % 3 == 0)
		return SIGNET_DNS_TEMPFAIL;
	if ((flags & 8) && k % 2 == 0)
		return SIGNET_DNS_NXDOMAIN;
	return SIGNET_DNS_OK;
}

static void evaluate(uint8_t flags, const uint8_t *from, size_t flen, const uint8_t *rec,
		     size_t rlen)
{
	struct signet_dmarc_request req = {0};
	struct signet_dmarc_dkim dk[2] = {{"mail.example.com", "s"}, {"example.org", NULL}};
	struct signet_dmarc *d = NULL;
	struct signet_error err;
	req.mode = flags & 1 ? SIGNET_DMARC_RFC7489 : SIGNET_DMARC_RFC9989;
	req.psl = psl();
	req.from = &from;
	req.from_len = &flen;
	req.nfrom = 1;
	req.dkim = dk;
	req.ndkim = flags & 2 ? 2 : 0;
	req.spf_result = flags & 16 ? SIGNET_SPF_PASS : SIGNET_SPF_FAIL;
	req.spf_domain = "bounce.example.net";
	req.pct_draw = flags >> 1;
	req.trusted_arc = flags & 32;
	FUZZ_CHECK(signet_dmarc_new(&req, &d, &err) == SIGNET_OK);
	unsigned k = 0;
	for (int round = 0; !signet_dmarc_done(d); round++) {
		struct signet_dmarc_query q;
		bool asked = false;
		FUZZ_CHECK(round < FUZZ_DMARC_ROUNDS);
		while (signet_dmarc_next_query(d, &q)) {
			struct signet_rr rr = {rec, rlen, 0};
			enum signet_dns_status st = status_for(flags, ++k);
			asked = true;
			FUZZ_CHECK(q.name != NULL && strlen(q.name) <= 260);
			FUZZ_CHECK(signet_dmarc_answer(d, q.id, st, &rr, st == SIGNET_DNS_OK,
						       &err) == SIGNET_OK);
		}
		FUZZ_CHECK(asked || signet_dmarc_done(d));
	}
	const struct signet_dmarc_outcome *o = signet_dmarc_outcome(d);
	FUZZ_CHECK(o != NULL && o->reason != NULL && o->queries <= SIGNET_DMARC_MAX_QUERIES);
	FUZZ_CHECK(o->nidents <= SIGNET_DMARC_MAX_DKIM + 1);
	FUZZ_CHECK(o->disposition == SIGNET_DMARC_POLICY_UNSET || o->result == SIGNET_DMARC_PASS ||
		   o->result == SIGNET_DMARC_FAIL);
	FUZZ_CHECK((o->author_domain != NULL) == (o->from == SIGNET_DMARC_FROM_OK));
	signet_dmarc_free(d);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size == 0)
		return 0;
	const uint8_t *p = data + 1, *nl = memchr(p, '\n', size - 1);
	size_t flen = nl ? (size_t)(nl - p) : size - 1;
	const uint8_t *rec = nl ? nl + 1 : p + flen;
	size_t rlen = size - 1 - flen - (nl != NULL);
	record(rec, rlen);
	evaluate(data[0], p, flen, rec, rlen);
	return 0;
}
