/* fuzz_dmarc.c: DMARC records (lib/dmarc_record.c), the record check
 * (lib/dmarc_check.c), the From parser (lib/rfc5322.c) and whole
 * evaluations (lib/dmarc.c) on hostile input. Input: a flags byte, then the
 * From field value up to the first '\n', then the TXT record every _dmarc
 * question is answered with. Invariants: the parser's notes point into the
 * record; the check's findings are bounded, printable, named, and an
 * unusable record is an error; From domains point into the field and fit
 * a DNS name; report destinations are DNS names and their authorization
 * names fit 253 octets; an evaluation ends within a fixed number of rounds,
 * asks at most SIGNET_DMARC_MAX_QUERIES questions of at most 260 octets,
 * and its outcome is consistent (a disposition only for pass/fail, idents
 * bounded). */
#include <stdlib.h>

#include <libpsl.h>

#include <signet/dmarc.h>
#include <signet/psl.h>
#include <signet/rfc5322.h>

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

static void findings(const struct signet_dmarc_check *c)
{
	FUZZ_CHECK(c->n <= SIGNET_DMARC_CHECK_MAX_FINDINGS && c->ndmarc <= c->ntxt);
	for (size_t k = 0; k < c->n; k++) {
		const struct signet_dmarc_finding *f = &c->f[k];
		FUZZ_CHECK(strcmp(signet_dmarc_check_code_name(f->code), "unknown") != 0);
		FUZZ_CHECK(f->severity <= SIGNET_DMARC_SEV_ERROR &&
			   f->severity <= signet_dmarc_check_worst(c));
		FUZZ_CHECK(f->severity == SIGNET_DMARC_SEV_INFO || f->fix != NULL);
		FUZZ_CHECK(k == 0 || c->f[k - 1].severity >= f->severity);
		for (const char *m = f->msg; *m; m++)
			FUZZ_CHECK(*m >= 0x20 && *m <= 0x7e);
	}
	if (c->ndmarc == 1 && !c->record.usable)
		FUZZ_CHECK(signet_dmarc_check_worst(c) == SIGNET_DMARC_SEV_ERROR);
}

/* signet_dmarc_record_check, signet_dmarc_answer_check (the record and the
 * From bytes as a second TXT record) and each rua URI's destination. */
static void check(const uint8_t *p, size_t n, const uint8_t *other, size_t olen)
{
	struct signet_dmarc_check *c = malloc(sizeof *c);
	struct signet_error err;
	FUZZ_CHECK(c != NULL);
	for (int mode = 0; mode < 2; mode++) {
		FUZZ_CHECK(signet_dmarc_record_check(p, n, (enum signet_dmarc_mode)mode, c, &err) ==
			   SIGNET_OK);
		findings(c);
		const struct signet_rr rr[2] = {{p, n, 0}, {other, olen, 0}};
		FUZZ_CHECK(signet_dmarc_answer_check(rr, 2, (enum signet_dmarc_mode)mode, c,
						     &err) == SIGNET_OK);
		findings(c);
	}
	struct signet_dmarc_dest d;
	enum signet_status st = signet_dmarc_report_dest("example.com", NULL, p, n, &d, &err);
	FUZZ_CHECK(st == SIGNET_OK || st == SIGNET_ERR_SYNTAX || st == SIGNET_ERR_LIMIT);
	if (st == SIGNET_OK)
		FUZZ_CHECK(d.host[0] != '\0' && strlen(d.auth_name) <= 253 &&
			   d.external ==
				   (strcmp(d.host, "example.com") != 0 &&
				    (strlen(d.host) < 12 ||
				     strcmp(d.host + strlen(d.host) - 12, ".example.com") != 0)));
	const struct signet_rr one = {p, n, 0};
	FUZZ_CHECK(signet_dmarc_report_auth(SIGNET_DNS_OK, &one, 1) ==
		   (signet_dmarc_is_record(p, n) ? SIGNET_DMARC_AUTH_YES : SIGNET_DMARC_AUTH_NO));
	free(c);
}

/* signet_rfc5322_from_domains (DMARC's author domain comes from it). */
static void from_parser(const uint8_t *p, size_t n)
{
	struct signet_rfc5322_domain out[4];
	struct signet_error err;
	size_t count = 0;
	enum signet_status st = signet_rfc5322_from_domains(p, n, out, 4, &count, &err);
	FUZZ_CHECK(st == SIGNET_OK || st == SIGNET_ERR_SYNTAX || st == SIGNET_ERR_LIMIT ||
		   st == SIGNET_ERR_NOMEM);
	if (st != SIGNET_OK)
		return;
	for (size_t k = 0; k < count && k < 4; k++)
		FUZZ_CHECK(out[k].p >= p && out[k].p + out[k].len <= p + n && out[k].len > 0 &&
			   out[k].len <= 253);
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
	check(rec, rlen, p, flen);
	from_parser(p, flen);
	evaluate(data[0], p, flen, rec, rlen);
	return 0;
}
