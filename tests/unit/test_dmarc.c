/* test_dmarc.c: the DMARC evaluator (lib/dmarc.c, lib/dmarc_record.c)
 * against zones held in the test, answered in several orders. Test names
 * carry the DMARC-* IDs of shared/spec/roadmap.md (RFC 7489) and these
 * DMARC9-* IDs for what RFC 9989 changes (roadmap.md is read-only):
 *
 * DMARC9-WALK-01 DNS Tree Walk: the author domain, then one label fewer, or straight to seven
 *                labels from eight or more, down to one label: at most 8 names; it stops at a
 *                record with psd=n or psd=y (4.10).
 * DMARC9-WALK-02 The policy record is the author domain's, else its organizational domain's,
 *                else its PSD's; several DMARC records at one name are all discarded and the
 *                walk goes on (4.10 steps 2 and 6, 4.10.1).
 * DMARC9-PSD-01  Org domain: psd=n marks its domain; psd=y (not at the start) marks the domain
 *                one label below; else the record with the fewest labels; none: the domain
 *                itself (4.10.2).
 * DMARC9-NP-01   A record found above the author domain: np= when the author domain does not
 *                exist (NXDOMAIN, RFC 8020; 3.2.13), else sp=, else p= (4.7, 4.10.1).
 * DMARC9-T-01    t=y: the disposition is one step weaker (reject->quarantine->none) (4.7).
 * DMARC9-REC-01  pct, rf, ri are historic (9.3): ignored with a note; an absent p= is p=none,
 *                an invalid p=/sp=/np= is p=none with a valid rua=, else no policy (4.7,
 *                4.10.1); v=DMARC1 first, case-sensitive (4.7).
 * DMARC9-FROM-01 Zero or several author domains end validation (one domain written twice is
 *                one); a receiver MAY go forward with several (5.3.1).
 * DMARC9-SPF-01  Only an SPF pass of the MAIL FROM identity is an SPF identifier (4.4.2); for a
 *                null MAIL FROM that identity is postmaster@HELO (RFC 7208 2.4).
 * DMARC9-IDN-01  U-labels are converted to A-labels (5.3.1); names compare in lower case.
 * DMARC9-OVR-01  A trusted ARC sealer or local policy sets disposition none and says so
 *                (5.4 PolicyOverride).
 * DMARC9-REC-02 "Syntax errors in the remainder of the record MUST be discarded in favor of
 *                default values (if any) or ignored outright" (4.7): a part between ';' that
 *                is not tag=value is dropped with a note, the rest of the record stands.
 * DMARC9-FO-01   dmarc-fo = "0" / "1" / "d" / "s" / "d:s" / "s:d" (4.8); RFC 7489 6.4: any
 *                ':' list of 0, 1, d, s. An invalid fo= is ignored (default 0).
 * DMARC9-LIM-01  Our bounds: SIGNET_DMARC_MAX_QUERIES, _MAX_RECORD, _MAX_FROM_DOMAINS, _MAX_DKIM.
 * DMARC9-ORDER-01 The outcome does not depend on the order the answers come in.
 * (Sections: RFC 9989 = draft-ietf-dmarc-dmarcbis-41.)
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <cmocka.h>

#include <libpsl.h>

#include <signet/dmarc.h>
#include <signet/psl.h>

/* ---- a zone in memory -------------------------------------------------------- */

enum zkind { Z_TXT = 1, Z_TEMPFAIL, Z_EXISTS };

struct zrr {
	const char *name; /* "_dmarc.example.com" for TXT; "example.com" for Z_EXISTS */
	enum zkind kind;
	const char *txt;
};

/* How a round's open questions are answered. */
enum order { O_FORWARD = 0, O_REVERSE, O_ODD_EVEN, O_ORDERS };

struct in {
	const char *from[3]; /* From field values; NULL ends */
	const char *dkim[SIGNET_DMARC_MAX_DKIM + 2];
	const char *spf; /* SPF passed for this domain; NULL: no SPF identifier */
	enum signet_dmarc_mode mode;
	const struct signet_psl *psl;
	unsigned pct_draw;
	bool arc, local, each;
};

struct run {
	enum signet_dmarc_result result;
	enum signet_dmarc_from from;
	enum signet_dmarc_applied applied;
	enum signet_dmarc_policy policy, disposition;
	enum signet_dmarc_override override;
	char author[260], policy_domain[260], org[260], reason[400], aligned[400];
	char asked[2048]; /* question names in the order asked, ' '-separated */
	unsigned queries, max_open;
	enum signet_dmarc_ident_state states[SIGNET_DMARC_MAX_DKIM + 2];
	size_t nidents;
};

static void answer(struct signet_dmarc *d, const struct zrr *z, size_t nz,
		   const struct signet_dmarc_query *q)
{
	struct signet_rr rrs[16];
	size_t n = 0;
	bool temp = false;
	struct signet_error err;
	enum zkind want = q->type == SIGNET_DMARC_Q_TXT ? Z_TXT : Z_EXISTS;
	for (size_t k = 0; k < nz; k++) {
		if (strcasecmp(z[k].name, q->name) != 0)
			continue;
		temp |= z[k].kind == Z_TEMPFAIL;
		if (z[k].kind == want && n < 16) {
			const char *t = z[k].txt ? z[k].txt : "";
			rrs[n++] = (struct signet_rr){(const uint8_t *)t, strlen(t), 0};
		}
	}
	enum signet_dns_status st = temp ? SIGNET_DNS_TEMPFAIL
				    : n  ? SIGNET_DNS_OK
					 : SIGNET_DNS_NXDOMAIN;
	assert_int_equal(signet_dmarc_answer(d, q->id, st, rrs, n, &err), SIGNET_OK);
}

static void copy(char *dst, size_t cap, const char *s)
{
	snprintf(dst, cap, "%s", s ? s : "");
}

static void record_outcome(const struct signet_dmarc_outcome *o, struct run *r)
{
	r->result = o->result;
	r->from = o->from;
	r->applied = o->applied;
	r->policy = o->policy;
	r->disposition = o->disposition;
	r->override = o->override;
	copy(r->author, sizeof r->author, o->author_domain);
	copy(r->policy_domain, sizeof r->policy_domain, o->policy_domain);
	copy(r->org, sizeof r->org, o->org_domain);
	copy(r->reason, sizeof r->reason, o->reason);
	r->queries = o->queries;
	r->nidents = o->nidents;
	for (size_t k = 0; k < o->nidents; k++) {
		r->states[k] = o->idents[k].state;
		if (o->idents[k].state == SIGNET_DMARC_ALIGNED) {
			size_t l = strlen(r->aligned);
			snprintf(r->aligned + l, sizeof r->aligned - l, "%s%s:%s", l ? " " : "",
				 o->idents[k].dkim ? "dkim" : "spf", o->idents[k].domain);
		}
	}
}

static struct run eval_order(const struct zrr *z, size_t nz, const struct in *in, enum order ord)
{
	struct signet_dmarc_request req = {0};
	const uint8_t *from[3];
	size_t from_len[3];
	struct signet_dmarc_dkim dk[SIGNET_DMARC_MAX_DKIM + 2];
	struct run r;
	memset(&r, 0, sizeof r);
	for (; req.nfrom < 3 && in->from[req.nfrom]; req.nfrom++) {
		from[req.nfrom] = (const uint8_t *)in->from[req.nfrom];
		from_len[req.nfrom] = strlen(in->from[req.nfrom]);
	}
	req.from = from;
	req.from_len = from_len;
	for (; req.ndkim < SIGNET_DMARC_MAX_DKIM + 2 && in->dkim[req.ndkim]; req.ndkim++)
		dk[req.ndkim] = (struct signet_dmarc_dkim){in->dkim[req.ndkim], "sel"};
	req.dkim = dk;
	req.spf_result = in->spf ? SIGNET_SPF_PASS : SIGNET_SPF_NONE;
	req.spf_domain = in->spf;
	req.mode = in->mode;
	req.psl = in->psl;
	req.pct_draw = in->pct_draw;
	req.trusted_arc = in->arc;
	req.local_override = in->local;
	req.evaluate_each_from_domain = in->each;
	struct signet_dmarc *d = NULL;
	struct signet_error err;
	if (signet_dmarc_new(&req, &d, &err) != SIGNET_OK)
		fail_msg("signet_dmarc_new: %s", err.msg);
	for (int round = 0; !signet_dmarc_done(d); round++) {
		struct signet_dmarc_query qs[SIGNET_DMARC_MAX_QUERIES];
		size_t n = 0;
		assert_true(round < 3 * SIGNET_DMARC_MAX_QUERIES);
		while (n < SIGNET_DMARC_MAX_QUERIES && signet_dmarc_next_query(d, &qs[n])) {
			size_t l = strlen(r.asked);
			snprintf(r.asked + l, sizeof r.asked - l, "%s%s%s", l ? " " : "",
				 qs[n].type == SIGNET_DMARC_Q_EXISTS ? "?" : "", qs[n].name);
			n++;
		}
		assert_true(n > 0); /* not done, so something must be open */
		if (n > r.max_open)
			r.max_open = (unsigned)n;
		for (size_t k = 0; k < n; k++) {
			size_t i = ord == O_FORWARD   ? k
				   : ord == O_REVERSE ? n - 1 - k
				   : k < (n + 1) / 2  ? 2 * k
						      : 2 * (k - (n + 1) / 2) + 1;
			answer(d, z, nz, &qs[i]);
		}
	}
	record_outcome(signet_dmarc_outcome(d), &r);
	signet_dmarc_free(d);
	return r;
}

/* DMARC9-ORDER-01: every evaluation here runs in every order and must agree. */
static struct run eval(const struct zrr *z, size_t nz, const struct in *in)
{
	struct run first = eval_order(z, nz, in, O_FORWARD);
	for (int o = 1; o < O_ORDERS; o++) {
		struct run r = eval_order(z, nz, in, (enum order)o);
		assert_int_equal(r.result, first.result);
		assert_int_equal(r.disposition, first.disposition);
		assert_int_equal(r.applied, first.applied);
		assert_int_equal(r.queries, first.queries);
		assert_string_equal(r.reason, first.reason);
		assert_string_equal(r.policy_domain, first.policy_domain);
		assert_string_equal(r.org, first.org);
		assert_string_equal(r.aligned, first.aligned);
	}
	return first;
}

#define EVAL(zone, ...) eval(zone, sizeof zone / sizeof zone[0], &(struct in){__VA_ARGS__})

static void assert_contains(const char *hay, const char *needle)
{
	if (strstr(hay, needle) == NULL)
		fail_msg("'%s' does not contain '%s'", hay, needle);
}

#define FROM(s) .from = {s}
#define DKIM(...) .dkim = {__VA_ARGS__}

/* ---- tests ------------------------------------------------------------------- */

/* A list through libpsl's own loader, as the front ends load it. */
static struct signet_psl *small_psl(void)
{
	static const char list[] = "// ===BEGIN ICANN DOMAINS===\ncom\norg\nuk\nco.uk\n"
				   "jp\n*.kobe.jp\n!city.kobe.jp\n// ===END ICANN DOMAINS===\n";
	struct signet_psl *psl = NULL;
	struct signet_error err;
	FILE *f = tmpfile();
	assert_non_null(f);
	assert_int_equal(fwrite(list, 1, sizeof list - 1, f), sizeof list - 1);
	rewind(f);
	psl_ctx_t *ctx = psl_load_fp(f);
	fclose(f);
	assert_non_null(ctx);
	if (signet_psl_new(ctx, true, &psl, &err) != SIGNET_OK)
		fail_msg("psl: %s", err.msg);
	return psl;
}

/* DMARC9-WALK-01 (RFC 9989 4.10): "If x < 8, remove the left-most label ...
 * If x >= 8, remove ... labels ... until 7 labels remain": a 10-label name
 * queries itself, then 7, 6, ... 1 labels: 8 names, the RFC's bound. */
static void DMARC9_WALK_01_tree_walk_names(void **state)
{
	(void)state;
	static const struct zrr z[] = {{"_dmarc.example", Z_TXT, "v=DMARC1; p=reject"}};
	struct run r = EVAL(z, FROM("u@a.b.c.d.e.f.g.h.example.com"));
	assert_string_equal(
		r.asked,
		"_dmarc.a.b.c.d.e.f.g.h.example.com _dmarc.d.e.f.g.h.example.com "
		"_dmarc.e.f.g.h.example.com _dmarc.f.g.h.example.com _dmarc.g.h.example.com "
		"_dmarc.h.example.com _dmarc.example.com _dmarc.com");
	assert_int_equal(r.result, SIGNET_DMARC_NONE); /* _dmarc.example is not on the path */
	assert_int_equal(r.queries, 8);
	/* limit-1, limit, limit+1 labels: 7, 8, 8 names */
	static const struct zrr none[] = {{"_dmarc.nothing", Z_TXT, "x"}};
	assert_int_equal(EVAL(none, FROM("u@b.c.d.e.f.g.example")).queries, 7);
	assert_int_equal(EVAL(none, FROM("u@a.b.c.d.e.f.g.example")).queries, 8);
	r = EVAL(none, FROM("u@z.a.b.c.d.e.f.g.example"));
	assert_int_equal(r.queries, SIGNET_DMARC_WALK_MAX_LABELS);
	assert_contains(r.asked, "_dmarc.z.a.b.c.d.e.f.g.example _dmarc.b.c.d.e.f.g.example ");
	/* the author domain first; then the walk's 7 names at once */
	assert_int_equal(r.max_open, SIGNET_DMARC_WALK_MAX_LABELS - 1);
}

/* DMARC9-WALK-02 (RFC 9989 4.10.1): "The DMARC Policy Record to be applied
 * ... will be the record found at ... The Author Domain; The Organizational
 * Domain of the Author Domain; The Public Suffix Domain of the Author
 * Domain". A record in between is not used; TXT records without v=DMARC1
 * are discarded, and several DMARC records at one name are all discarded
 * (4.10 step 2) in RFC 9989 but end discovery in RFC 7489 (DMARC-DISC-02). */
static void DMARC9_WALK_02_author_org_psd(void **state)
{
	(void)state;
	static const struct zrr z[] = {
		{"_dmarc.mail.example.com", Z_TXT, "v=spf1 -all"},
		{"_dmarc.example.com", Z_TXT, "v=DMARC1; p=quarantine"},
		{"_dmarc.com", Z_TXT, "v=DMARC1; p=reject; psd=y"},
		{"_dmarc.mid.example.net", Z_TXT, "v=DMARC1; p=none"},
		{"_dmarc.example.net", Z_TXT, "v=DMARC1; p=reject"},
		{"_dmarc.two.example.org", Z_TXT, "v=DMARC1; p=reject"},
		{"_dmarc.two.example.org", Z_TXT, "v=DMARC1; p=none"},
		{"_dmarc.example.org", Z_TXT, "v=DMARC1; p=quarantine"},
		{"_dmarc.psd", Z_TXT, "v=DMARC1; p=reject; psd=y"},
	};
	struct run r = EVAL(z, FROM("u@a.mail.example.com"));
	assert_string_equal(r.asked, "_dmarc.a.mail.example.com _dmarc.mail.example.com "
				     "_dmarc.example.com _dmarc.com");
	assert_string_equal(r.policy_domain, "example.com"); /* org: one below the PSD */
	assert_int_equal(r.result, SIGNET_DMARC_FAIL);
	assert_int_equal(r.applied, SIGNET_DMARC_APPLIED_P); /* no sp=: p= (4.7 sp) */
	assert_int_equal(r.disposition, SIGNET_DMARC_POLICY_QUARANTINE);
	/* mid.example.net's record is neither the author's nor the org's */
	r = EVAL(z, FROM("u@a.mid.example.net"));
	assert_string_equal(r.policy_domain, "example.net");
	assert_int_equal(r.disposition, SIGNET_DMARC_POLICY_REJECT);
	/* no record at the org domain: the PSD's */
	r = EVAL(z, FROM("u@a.example.psd"));
	assert_string_equal(r.policy_domain, "psd");
	/* "DMARC1" is case-sensitive (4.7 v=): this is not a record */
	static const struct zrr lower[] = {{"_dmarc.example.org", Z_TXT, "v=dmarc1; p=reject"}};
	assert_int_equal(EVAL(lower, FROM("u@example.org")).result, SIGNET_DMARC_NONE);
	/* two records at the author domain: discarded, the walk goes on */
	r = EVAL(z, FROM("u@two.example.org"));
	assert_string_equal(r.policy_domain, "example.org");
	assert_int_equal(r.disposition, SIGNET_DMARC_POLICY_QUARANTINE);
	static const struct zrr two[] = {
		{"_dmarc.two.example", Z_TXT, "v=DMARC1; p=reject"},
		{"_dmarc.two.example", Z_TXT, "v=DMARC1; p=none"},
	};
	r = EVAL(two, FROM("u@two.example"));
	assert_int_equal(r.result, SIGNET_DMARC_NONE);
	assert_contains(r.reason, "several at its own name, all discarded");
	struct signet_psl *psl = small_psl();
	r = EVAL(z, FROM("u@two.example.org"), .mode = SIGNET_DMARC_RFC7489, .psl = psl);
	assert_int_equal(r.result, SIGNET_DMARC_NONE);
	assert_contains(r.reason, "several DMARC records at _dmarc.two.example.org");
	signet_psl_free(psl);
}

/* DMARC9-PSD-01 (RFC 9989 4.10.2): psd=y at "example" makes shop.example
 * the organizational domain of mail.shop.example, so d=evil.example is not
 * aligned; without psd= the record with the fewest labels ("example") is
 * the organizational domain of both, and it is. */
static void DMARC9_PSD_01_org_domain(void **state)
{
	(void)state;
	static const struct zrr psd_y[] = {
		{"_dmarc.example", Z_TXT, "v=DMARC1; p=reject; psd=y"},
		{"_dmarc.mail.shop.example", Z_TXT, "v=DMARC1; p=reject"},
	};
	struct run r =
		EVAL(psd_y, FROM("u@mail.shop.example"), DKIM("evil.example", "x.shop.example"));
	assert_int_equal(r.result, SIGNET_DMARC_PASS);
	assert_string_equal(r.org, "shop.example");
	assert_string_equal(r.aligned, "dkim:x.shop.example");
	assert_int_equal(r.states[0], SIGNET_DMARC_NOT_ALIGNED);
	assert_true(r.max_open > 1); /* the org walks ask in parallel */
	static const struct zrr psd_u[] = {
		{"_dmarc.example", Z_TXT, "v=DMARC1; p=reject"},
		{"_dmarc.mail.shop.example", Z_TXT, "v=DMARC1; p=reject"},
	};
	r = EVAL(psd_u, FROM("u@mail.shop.example"), DKIM("evil.example"));
	assert_string_equal(r.org, "example");
	assert_string_equal(r.aligned, "dkim:evil.example");
	/* psd=n stops the walk: mail.shop.example is its own org domain */
	static const struct zrr psd_n[] = {
		{"_dmarc.example", Z_TXT, "v=DMARC1; p=reject"},
		{"_dmarc.mail.shop.example", Z_TXT, "v=DMARC1; p=reject; psd=n"},
	};
	r = EVAL(psd_n, FROM("u@mail.shop.example"), DKIM("x.shop.example"));
	assert_string_equal(r.org, "mail.shop.example");
	assert_int_equal(r.result, SIGNET_DMARC_FAIL);
	/* psd=y at the walk's own start is not a boundary below it: the PSD
	 * shop.example is its own org domain, while a.shop.example, one label
	 * below the PSD, is another organization: not aligned */
	static const struct zrr self[] = {
		{"_dmarc.shop.example", Z_TXT, "v=DMARC1; p=reject; psd=y"}};
	r = EVAL(self, FROM("u@shop.example"), DKIM("a.shop.example"));
	assert_string_equal(r.org, "shop.example");
	assert_int_equal(r.result, SIGNET_DMARC_FAIL);
	/* no record anywhere above d=: its org domain is itself */
	static const struct zrr only[] = {{"_dmarc.a.example", Z_TXT, "v=DMARC1; p=reject"}};
	r = EVAL(only, FROM("u@a.example"), DKIM("b.a.example"));
	assert_string_equal(r.org, "a.example");
	assert_int_equal(r.result, SIGNET_DMARC_PASS);
}

/* DMARC9-NP-01 (RFC 9989 4.7 np=, sp=; 5.3): p= for the domain itself, sp=
 * for an existing subdomain, np= for one that does not exist (NXDOMAIN). */
static void DMARC9_NP_01_p_sp_np(void **state)
{
	(void)state;
	static const struct zrr z[] = {
		{"_dmarc.example.com", Z_TXT, "v=DMARC1; p=none; sp=quarantine; np=reject"},
		{"exists.example.com", Z_EXISTS, NULL},
		{"slow.example.com", Z_TEMPFAIL, NULL},
		{"_dmarc.org", Z_TXT, "v=DMARC1; p=quarantine; np=reject"},
		{"x.org", Z_EXISTS, NULL},
		{"_dmarc.net", Z_TXT, "v=DMARC1; p=quarantine; sp=none"},
	};
	struct {
		const char *from;
		enum signet_dmarc_result result;
		enum signet_dmarc_applied applied;
		enum signet_dmarc_policy disp;
	} t[] = {
		{"u@example.com", SIGNET_DMARC_FAIL, SIGNET_DMARC_APPLIED_P,
		 SIGNET_DMARC_POLICY_NONE},
		{"u@exists.example.com", SIGNET_DMARC_FAIL, SIGNET_DMARC_APPLIED_SP,
		 SIGNET_DMARC_POLICY_QUARANTINE},
		{"u@gone.example.com", SIGNET_DMARC_FAIL, SIGNET_DMARC_APPLIED_NP,
		 SIGNET_DMARC_POLICY_REJECT},
		{"u@slow.example.com", SIGNET_DMARC_TEMPERROR, SIGNET_DMARC_APPLIED_NONE,
		 SIGNET_DMARC_POLICY_UNSET},
		/* no sp=: an existing subdomain gets p= */
		{"u@x.org", SIGNET_DMARC_FAIL, SIGNET_DMARC_APPLIED_P,
		 SIGNET_DMARC_POLICY_QUARANTINE},
		/* no np=: a non-existent subdomain gets sp=, and nobody asks */
		{"u@gone.net", SIGNET_DMARC_FAIL, SIGNET_DMARC_APPLIED_SP,
		 SIGNET_DMARC_POLICY_NONE},
	};
	for (size_t k = 0; k < sizeof t / sizeof t[0]; k++) {
		struct run r = eval(z, sizeof z / sizeof z[0], &(struct in){.from = {t[k].from}});
		assert_int_equal(r.result, t[k].result);
		assert_int_equal(r.applied, t[k].applied);
		assert_int_equal(r.disposition, t[k].disp);
	}
	struct run r = EVAL(z, FROM("u@gone.net"));
	assert_null(strchr(r.asked, '?'));
	/* a pass never asks whether the domain exists */
	r = EVAL(z, FROM("u@gone.example.com"), DKIM("gone.example.com"));
	assert_int_equal(r.result, SIGNET_DMARC_PASS);
	assert_null(strchr(r.asked, '?'));
	r = EVAL(z, FROM("u@gone.example.com"));
	assert_contains(r.asked, "?gone.example.com");
}

/* DMARC-ALIGN-01, DMARC-ALIGN-02 (RFC 9989 4.4, RFC 7489 3.1.1, 3.1.2):
 * strict needs the same name, relaxed the same organizational domain, for
 * DKIM (adkim=) and SPF (aspf=) alike. */
static void DMARC_ALIGN_01_02_strict_relaxed(void **state)
{
	(void)state;
	static const struct zrr z[] = {
		{"_dmarc.example.com", Z_TXT, "v=DMARC1; p=reject"},
		{"_dmarc.s.example", Z_TXT, "v=DMARC1; p=reject; adkim=s; aspf=s"},
		{"_dmarc.ds.example", Z_TXT, "v=DMARC1; p=reject; adkim=s"},
	};
	struct {
		const char *from, *dkim, *spf;
		enum signet_dmarc_result result;
	} t[] = {
		{"u@example.com", "example.com", NULL, SIGNET_DMARC_PASS},
		{"u@example.com", "mail.example.com", NULL, SIGNET_DMARC_PASS},
		{"u@example.com", NULL, "bounce.example.com", SIGNET_DMARC_PASS},
		{"u@example.com", "example.net", "example.org", SIGNET_DMARC_FAIL},
		{"u@s.example", "s.example", NULL, SIGNET_DMARC_PASS},
		{"u@s.example", "m.s.example", NULL, SIGNET_DMARC_FAIL},
		{"u@s.example", NULL, "s.example", SIGNET_DMARC_PASS},
		{"u@s.example", NULL, "b.s.example", SIGNET_DMARC_FAIL},
		/* adkim=s, aspf relaxed */
		{"u@ds.example", "m.ds.example", NULL, SIGNET_DMARC_FAIL},
		{"u@ds.example", NULL, "b.ds.example", SIGNET_DMARC_PASS},
		{"u@ds.example", "m.ds.example", "b.ds.example", SIGNET_DMARC_PASS},
	};
	for (size_t k = 0; k < sizeof t / sizeof t[0]; k++) {
		struct run r = eval(
			z, sizeof z / sizeof z[0],
			&(struct in){.from = {t[k].from}, .dkim = {t[k].dkim}, .spf = t[k].spf});
		if (r.result != t[k].result)
			fail_msg("case %zu: %s, %s", k, signet_dmarc_result_name(r.result),
				 r.reason);
	}
	struct run r = EVAL(z, FROM("u@example.com"), DKIM("example.com", "x.example.com"),
			    .spf = "example.com");
	assert_string_equal(r.aligned, "dkim:example.com dkim:x.example.com spf:example.com");
	assert_contains(r.reason, "aligned: dkim example.com, dkim x.example.com, spf example.com");
}

/* DMARC9-SPF-01: an SPF result other than pass gives no SPF identifier. */
static void DMARC9_SPF_01_only_pass(void **state)
{
	(void)state;
	static const char *z_txt = "v=DMARC1; p=reject";
	struct signet_dmarc_request req = {0};
	const uint8_t *from[] = {(const uint8_t *)"u@example.com"};
	size_t len[] = {13};
	req.from = from;
	req.from_len = len;
	req.nfrom = 1;
	req.spf_domain = "example.com";
	enum signet_spf_result results[] = {
		SIGNET_SPF_NONE,      SIGNET_SPF_NEUTRAL,   SIGNET_SPF_FAIL, SIGNET_SPF_SOFTFAIL,
		SIGNET_SPF_TEMPERROR, SIGNET_SPF_PERMERROR, SIGNET_SPF_PASS};
	for (size_t k = 0; k < 7; k++) {
		struct signet_dmarc *d;
		struct signet_dmarc_query q;
		struct signet_error err;
		req.spf_result = results[k];
		assert_int_equal(signet_dmarc_new(&req, &d, &err), SIGNET_OK);
		assert_true(signet_dmarc_next_query(d, &q));
		struct signet_rr rr = {(const uint8_t *)z_txt, strlen(z_txt), 0};
		assert_int_equal(signet_dmarc_answer(d, q.id, SIGNET_DNS_OK, &rr, 1, &err),
				 SIGNET_OK);
		assert_true(signet_dmarc_done(d));
		const struct signet_dmarc_outcome *o = signet_dmarc_outcome(d);
		assert_int_equal(o->result, k == 6 ? SIGNET_DMARC_PASS : SIGNET_DMARC_FAIL);
		assert_int_equal(o->nidents, k == 6 ? 1 : 0);
		signet_dmarc_free(d);
	}
}

/* DMARC-FROM-01, DMARC-FROM-02, DMARC9-FROM-01 (RFC 9989 4.4; RFC 7489 6.6.1). */
static void DMARC_FROM_01_02_author_domain(void **state)
{
	(void)state;
	static const struct zrr z[] = {
		{"_dmarc.example.com", Z_TXT, "v=DMARC1; p=reject"},
		{"_dmarc.example.org", Z_TXT, "v=DMARC1; p=quarantine"},
	};
	struct run r = EVAL(z, .from = {NULL});
	assert_int_equal(r.from, SIGNET_DMARC_FROM_MISSING);
	assert_int_equal(r.result, SIGNET_DMARC_NONE);
	assert_int_equal(r.queries, 0);
	r = EVAL(z, .from = {"a@example.com", "b@example.com"});
	assert_int_equal(r.from, SIGNET_DMARC_FROM_SEVERAL_FIELDS);
	assert_contains(r.reason, "more than one From field");
	r = EVAL(z, FROM("undisclosed-recipients:;"));
	assert_int_equal(r.from, SIGNET_DMARC_FROM_UNPARSEABLE);
	r = EVAL(z, FROM("no at sign"));
	assert_int_equal(r.from, SIGNET_DMARC_FROM_UNPARSEABLE);
	assert_int_equal(r.queries, 0);
	/* one domain twice: evaluated once */
	r = EVAL(z, FROM("A <a@Example.COM>, b@example.com"));
	assert_int_equal(r.from, SIGNET_DMARC_FROM_OK);
	assert_string_equal(r.author, "example.com");
	assert_int_equal(r.result, SIGNET_DMARC_FAIL);
	/* RFC 9989 mode: different domains are not evaluated */
	r = EVAL(z, FROM("a@example.com, b@example.org"), DKIM("example.com"));
	assert_int_equal(r.from, SIGNET_DMARC_FROM_SEVERAL_DOMAINS);
	assert_int_equal(r.result, SIGNET_DMARC_NONE);
	assert_int_equal(r.queries, 0);
	/* 5.3.1 "MAY choose to go forward": each domain, the strictest failing */
	r = EVAL(z, FROM("a@example.com, b@example.org"), DKIM("example.com"), .each = true);
	assert_int_equal(r.from, SIGNET_DMARC_FROM_OK);
	assert_int_equal(r.result, SIGNET_DMARC_FAIL);
	assert_string_equal(r.author, "example.org");
	assert_int_equal(r.disposition, SIGNET_DMARC_POLICY_QUARANTINE);
}

/* DMARC-FROM-02 (RFC 7489 6.6.1): "apply the DMARC check using each of those
 * domains ... and apply the most strict policy selected among the checks
 * that fail". */
static void DMARC_FROM_02_rfc7489_strictest(void **state)
{
	(void)state;
	struct signet_psl *psl = small_psl();
	static const struct zrr z[] = {
		{"_dmarc.example.com", Z_TXT, "v=DMARC1; p=reject"},
		{"_dmarc.example.org", Z_TXT, "v=DMARC1; p=quarantine"},
	};
	struct run r = EVAL(z, FROM("a@example.org, b@example.com"), DKIM("example.org"),
			    .mode = SIGNET_DMARC_RFC7489, .psl = psl);
	assert_int_equal(r.result, SIGNET_DMARC_FAIL);
	assert_string_equal(r.author, "example.com");
	assert_int_equal(r.disposition, SIGNET_DMARC_POLICY_REJECT);
	r = EVAL(z, FROM("a@example.org, b@example.com"), DKIM("example.org", "example.com"),
		 .mode = SIGNET_DMARC_RFC7489, .psl = psl);
	assert_int_equal(r.result, SIGNET_DMARC_PASS);
	signet_psl_free(psl);
}

/* DMARC9-IDN-01, DMARC-ALIGN-03: U-labels become A-labels, case is folded. */
static void DMARC9_IDN_01_a_labels(void **state)
{
	(void)state;
	static const struct zrr z[] = {
		{"_dmarc.xn--bcher-kva.example", Z_TXT, "v=DMARC1; p=reject; adkim=s"}};
	struct run r = EVAL(z,
			    FROM("u@B\xc3\xbc"
				 "cher.example"),
			    DKIM("XN--BCHER-KVA.example"));
	assert_string_equal(r.author, "xn--bcher-kva.example");
	assert_string_equal(r.asked, "_dmarc.xn--bcher-kva.example");
	assert_int_equal(r.result, SIGNET_DMARC_PASS);
	r = EVAL(z, FROM("u@xn--bcher-kva.EXAMPLE"),
		 DKIM("b\xc3\xbc"
		      "cher.example"));
	assert_int_equal(r.result, SIGNET_DMARC_PASS);
	/* a d= that is not a domain name is an error of the caller */
	struct signet_dmarc_request req = {0};
	struct signet_dmarc_dkim dk = {"bad..name", NULL};
	struct signet_dmarc *d = NULL;
	struct signet_error err;
	req.dkim = &dk;
	req.ndkim = 1;
	assert_int_equal(signet_dmarc_new(&req, &d, &err), SIGNET_ERR_SYNTAX);
	assert_null(d);
}

/* DMARC-DISC-03: a temporary failure where it decides is temperror: the
 * policy walk, the author's or an identifier's org walk, the existence
 * question; where it does not (another identifier aligned), it is not. */
static void DMARC_DISC_03_temperror_each_lookup(void **state)
{
	(void)state;
	static const struct zrr walk[] = {
		{"_dmarc.a.example.com", Z_TEMPFAIL, NULL},
		{"_dmarc.example.com", Z_TXT, "v=DMARC1; p=reject"},
	};
	struct run r = EVAL(walk, FROM("u@a.example.com"), DKIM("a.example.com"));
	assert_int_equal(r.result, SIGNET_DMARC_TEMPERROR);
	assert_contains(r.reason, "lookup for a.example.com failed temporarily");
	static const struct zrr walk2[] = {
		{"_dmarc.example.com", Z_TEMPFAIL, NULL},
	};
	r = EVAL(walk2, FROM("u@a.example.com"));
	assert_int_equal(r.result, SIGNET_DMARC_TEMPERROR);
	static const struct zrr orgw[] = {
		{"_dmarc.example.com", Z_TXT, "v=DMARC1; p=reject"},
		{"_dmarc.com", Z_TEMPFAIL, NULL},
	};
	r = EVAL(orgw, FROM("u@example.com"), DKIM("mail.example.com"));
	assert_int_equal(r.result, SIGNET_DMARC_TEMPERROR);
	assert_int_equal(r.states[0], SIGNET_DMARC_ALIGN_TEMPERROR);
	static const struct zrr idw[] = {
		{"_dmarc.example.com", Z_TXT, "v=DMARC1; p=reject"},
		{"_dmarc.mail.example.com", Z_TEMPFAIL, NULL},
	};
	r = EVAL(idw, FROM("u@example.com"), DKIM("mail.example.com"));
	assert_int_equal(r.result, SIGNET_DMARC_TEMPERROR);
	/* the same failure does not matter when an identifier aligns strictly */
	r = EVAL(idw, FROM("u@example.com"), DKIM("mail.example.com", "example.com"));
	assert_int_equal(r.result, SIGNET_DMARC_PASS);
	static const struct zrr exists[] = {
		{"_dmarc.example.com", Z_TXT, "v=DMARC1; p=none; np=reject"},
		{"x.example.com", Z_TEMPFAIL, NULL},
	};
	r = EVAL(exists, FROM("u@x.example.com"));
	assert_int_equal(r.result, SIGNET_DMARC_TEMPERROR);
	assert_contains(r.reason, "existence lookup for x.example.com");
}

struct rec_case {
	const char *text;
	enum signet_dmarc_mode mode;
	bool usable;
	enum signet_dmarc_policy p;
	const char *why; /* reason (unusable) or a note's reason (usable); NULL: no note */
};

/* DMARC-REC-01/02/03, DMARC9-REC-01 (RFC 9989 4.7, 4.8, 4.10.1; RFC 7489 6.3, 6.6.3). */
static void DMARC_REC_01_02_03_DMARC9_REC_01_record_grammar(void **state)
{
	(void)state;
	const enum signet_dmarc_mode M9 = SIGNET_DMARC_RFC9989, M7 = SIGNET_DMARC_RFC7489;
	const struct rec_case t[] = {
		{"v=DMARC1; p=reject", M9, true, SIGNET_DMARC_POLICY_REJECT, NULL},
		{"v=DMARC1;p=Quarantine;", M9, true, SIGNET_DMARC_POLICY_QUARANTINE, NULL},
		{"v = DMARC1 ; p = none", M9, true, SIGNET_DMARC_POLICY_NONE, NULL},
		{"p=reject; v=DMARC1", M9, false, 0, "does not start with v=DMARC1"},
		{"v=DMARC1", M9, true, SIGNET_DMARC_POLICY_NONE, NULL}, /* 4.7 p=: absent is none */
		{"v=DMARC1", M7, false, 0, "p= is missing or invalid and rua= has no valid URI"},
		{"v=DMARC1; p=bogus", M9, false, 0, "p= is missing or invalid"},
		{"v=DMARC1; p=bogus; rua=mailto:r@example.com", M9, true, SIGNET_DMARC_POLICY_NONE,
		 "value is not none, quarantine or reject"},
		{"v=DMARC1; rua=mailto:r@example.com", M9, true, SIGNET_DMARC_POLICY_NONE, NULL},
		{"v=DMARC1; p=reject; sp=bad", M9, false, 0, "sp= or np= is invalid"},
		{"v=DMARC1; p=reject; np=bad", M9, false, 0, "sp= or np= is invalid"},
		{"v=DMARC1; p=reject; np=bad", M7, true, SIGNET_DMARC_POLICY_REJECT,
		 "unknown tag; ignored"},
		{"v=DMARC1; p=reject; p=none", M9, false, 0, "a tag given twice"},
		{"v=DMARC1; p=reject; V=DMARC1", M9, false, 0, "given twice"},
		{"v=DMARC1; p=reject; P=none", M9, false, 0, "given twice"},
		{"v=DMARC1; p", M9, true, SIGNET_DMARC_POLICY_NONE, "not a tag=value pair"},
		{"v=DMARC1; p=reject; x=1", M9, true, SIGNET_DMARC_POLICY_REJECT,
		 "unknown tag; ignored"},
		{"v=DMARC1; p=reject; adkim=x", M9, true, SIGNET_DMARC_POLICY_REJECT, "not r or s"},
		{"v=DMARC1; p=reject; psd=x", M9, true, SIGNET_DMARC_POLICY_REJECT,
		 "not y, n or u"},
		{"v=DMARC1; p=reject; t=x", M9, true, SIGNET_DMARC_POLICY_REJECT, "not y or n"},
		{"v=DMARC1; p=reject; fo=0:x", M9, true, SIGNET_DMARC_POLICY_REJECT, "d:s or s:d"},
		{"v=DMARC1; p=reject; fo=0:x", M7, true, SIGNET_DMARC_POLICY_REJECT, "':' list"},
		{"v=DMARC1; p=reject; rua=nope", M9, true, SIGNET_DMARC_POLICY_REJECT,
		 "no valid URI in the list"},
		{"v=DMARC1; p=reject; rua=mailto:a@x,bad", M9, true, SIGNET_DMARC_POLICY_REJECT,
		 "is not valid and is skipped"},
		{"v=DMARC1; p=reject; pct=50", M9, true, SIGNET_DMARC_POLICY_REJECT,
		 "removed by RFC 9989"},
		{"v=DMARC1; p=reject; pct=101", M7, true, SIGNET_DMARC_POLICY_REJECT, "0..100"},
		{"v=DMARC1; p=reject; ri=x", M7, true, SIGNET_DMARC_POLICY_REJECT, "32-bit"},
		{"v=DMARC1; p=reject; rf=iodef", M7, true, SIGNET_DMARC_POLICY_REJECT, "afrf"},
		{"v=DMARC1; p=reject; t=y", M7, true, SIGNET_DMARC_POLICY_REJECT, "unknown tag"},
	};
	for (size_t k = 0; k < sizeof t / sizeof t[0]; k++) {
		struct signet_dmarc_record r;
		struct signet_error err;
		assert_int_equal(signet_dmarc_record_parse((const uint8_t *)t[k].text,
							   strlen(t[k].text), t[k].mode, &r, &err),
				 SIGNET_OK);
		if (r.usable != t[k].usable)
			fail_msg("'%s': usable %d (%s)", t[k].text, r.usable,
				 r.reason ? r.reason : "");
		if (!t[k].usable) {
			assert_contains(r.reason, t[k].why);
			continue;
		}
		assert_int_equal(r.p, t[k].p);
		if (t[k].why == NULL) {
			assert_int_equal(r.nnotes, 0);
		} else {
			assert_true(r.nnotes > 0);
			assert_contains(r.notes[0].why, t[k].why);
		}
	}
	/* values exposed */
	struct signet_dmarc_record r;
	struct signet_error err;
	const char *full =
		"v=DMARC1; p=reject; sp=none; np=quarantine; adkim=s; aspf=s; psd=n; t=y; "
		"fo=d:s; rua=mailto:a@x.example,mailto:b@y.example!10m; ruf=mailto:f@x";
	assert_int_equal(signet_dmarc_record_parse((const uint8_t *)full, strlen(full),
						   SIGNET_DMARC_RFC9989, &r, &err),
			 SIGNET_OK);
	assert_true(r.usable);
	assert_int_equal(r.sp, SIGNET_DMARC_POLICY_NONE);
	assert_int_equal(r.np, SIGNET_DMARC_POLICY_QUARANTINE);
	assert_int_equal(r.adkim, SIGNET_DMARC_STRICT);
	assert_int_equal(r.aspf, SIGNET_DMARC_STRICT);
	assert_int_equal(r.psd, SIGNET_DMARC_PSD_N);
	assert_true(r.t);
	assert_int_equal(r.nrua, 2);
	assert_int_equal(r.nruf, 1);
	assert_int_equal(r.fo.len, 3);
	assert_int_equal(r.nnotes, 0);
	/* the note names the tag as written */
	const char *bad = "v=DMARC1; p=reject; Foo=1";
	assert_int_equal(signet_dmarc_record_parse((const uint8_t *)bad, strlen(bad),
						   SIGNET_DMARC_RFC9989, &r, &err),
			 SIGNET_OK);
	assert_int_equal(r.notes[0].tag.len, 3);
	assert_memory_equal(r.notes[0].tag.p, "Foo", 3);
	/* a NUL inside is a syntax error, truncated text too */
	const uint8_t nul[] = "v=DMARC1; p=re\0ject";
	assert_int_equal(
		signet_dmarc_record_parse(nul, sizeof nul - 1, SIGNET_DMARC_RFC9989, &r, &err),
		SIGNET_OK);
	assert_false(r.usable && r.p == SIGNET_DMARC_POLICY_REJECT);
	assert_int_equal(signet_dmarc_record_parse((const uint8_t *)"v=DMARC", 7,
						   SIGNET_DMARC_RFC9989, &r, &err),
			 SIGNET_OK);
	assert_false(r.usable);
}

/* DMARC9-REC-02, DMARC-REC-03 (RFC 9989 4.7: "Unknown tags MUST be ignored.
 * Syntax errors in the remainder of the record MUST be discarded in favor
 * of default values (if any) or ignored outright"; RFC 7489 6.3 the same
 * as a SHOULD): a broken part is dropped, the record stands. */
static void DMARC9_REC_02_DMARC_REC_03_broken_part_discarded(void **state)
{
	(void)state;
	static const struct {
		const char *text;
		enum signet_dmarc_mode mode;
		enum signet_dmarc_policy p, sp;
		size_t nrua;
		const char *broken; /* the part noted as not tag=value; NULL: none */
	} t[] = {
		{"v=DMARC1; p=reject; foo; rua=mailto:a@example.com", SIGNET_DMARC_RFC9989,
		 SIGNET_DMARC_POLICY_REJECT, 0, 1, "foo"},
		{"v=DMARC1; p=reject; =x", SIGNET_DMARC_RFC9989, SIGNET_DMARC_POLICY_REJECT, 0, 0,
		 "=x"},
		{"v=DMARC1; p=reject; 1x=y ; sp=none", SIGNET_DMARC_RFC9989,
		 SIGNET_DMARC_POLICY_REJECT, SIGNET_DMARC_POLICY_NONE, 0, "1x=y"},
		{"v=DMARC1; foo bar; p=quarantine", SIGNET_DMARC_RFC9989,
		 SIGNET_DMARC_POLICY_QUARANTINE, 0, 0, "foo bar"},
		{"v=DMARC1; p=reject;; sp=none;", SIGNET_DMARC_RFC9989, SIGNET_DMARC_POLICY_REJECT,
		 SIGNET_DMARC_POLICY_NONE, 0, NULL},
		{"v=DMARC1; p=reject; foo", SIGNET_DMARC_RFC7489, SIGNET_DMARC_POLICY_REJECT, 0, 0,
		 "foo"},
	};
	for (size_t k = 0; k < sizeof t / sizeof t[0]; k++) {
		struct signet_dmarc_record r;
		struct signet_error err;
		assert_int_equal(signet_dmarc_record_parse((const uint8_t *)t[k].text,
							   strlen(t[k].text), t[k].mode, &r, &err),
				 SIGNET_OK);
		if (!r.usable)
			fail_msg("'%s': not usable: %s", t[k].text, r.reason);
		assert_int_equal(r.p, t[k].p);
		assert_int_equal(r.sp, t[k].sp);
		assert_int_equal(r.nrua, t[k].nrua);
		if (t[k].broken == NULL) {
			for (size_t j = 0; j < r.nnotes; j++)
				assert_int_not_equal(r.notes[j].kind, SIGNET_DMARC_NOTE_BROKEN);
			continue;
		}
		assert_int_equal(r.nnotes, 1);
		assert_int_equal(r.notes[0].kind, SIGNET_DMARC_NOTE_BROKEN);
		assert_int_equal(r.notes[0].tag.len, strlen(t[k].broken));
		assert_memory_equal(r.notes[0].tag.p, t[k].broken, strlen(t[k].broken));
	}
	/* the control byte: its part is discarded with a note naming it */
	const char *ctl = "v=DMARC1; p=reject; rua=mailto:a@b\x01"
			  "c";
	struct signet_dmarc_record r;
	struct signet_error err;
	assert_int_equal(signet_dmarc_record_parse((const uint8_t *)ctl, strlen(ctl),
						   SIGNET_DMARC_RFC9989, &r, &err),
			 SIGNET_OK);
	assert_int_equal(r.nnotes, 1);
	assert_int_equal(r.notes[0].kind, SIGNET_DMARC_NOTE_BROKEN);
	assert_int_equal(r.rua.len, 0);
	/* SIGNET_MAX_TAGS counts parts: v= and 63 broken parts stand, 64 do not */
	char text[1024] = "v=DMARC1";
	for (int k = 0; k < SIGNET_MAX_TAGS - 1; k++)
		strcat(text, ";x");
	assert_int_equal(signet_dmarc_record_parse((const uint8_t *)text, strlen(text),
						   SIGNET_DMARC_RFC9989, &r, &err),
			 SIGNET_OK);
	assert_true(r.usable);
	assert_int_equal(r.nnotes, SIGNET_MAX_TAGS - 1);
	strcat(text, ";x");
	assert_int_equal(signet_dmarc_record_parse((const uint8_t *)text, strlen(text),
						   SIGNET_DMARC_RFC9989, &r, &err),
			 SIGNET_OK);
	assert_false(r.usable);
	assert_contains(r.reason, "SIGNET_MAX_TAGS");
}

/* DMARC9-FO-01 (RFC 9989 4.8 dmarc-fo; RFC 7489 6.4 dmarc-fo). */
static void DMARC9_FO_01_fo_values(void **state)
{
	(void)state;
	static const struct {
		const char *fo;
		bool ok9989, ok7489;
	} t[] = {
		{"0", true, true},      {"1", true, true},    {"d", true, true},
		{"s", true, true},      {"d:s", true, true},  {"s:d", true, true},
		{"D : S", true, true},  {"0:1", false, true}, {"1:d", false, true},
		{"0:d:s", false, true}, {"d:d", false, true}, {"d:s:0", false, true},
		{"", false, false},     {"x", false, false},  {"0:", false, false},
		{":1", false, false},   {"01", false, false},
	};
	for (size_t k = 0; k < sizeof t / sizeof t[0]; k++) {
		for (int m = 0; m < 2; m++) {
			enum signet_dmarc_mode mode =
				m ? SIGNET_DMARC_RFC7489 : SIGNET_DMARC_RFC9989;
			bool ok = m ? t[k].ok7489 : t[k].ok9989;
			char text[128];
			snprintf(text, sizeof text, "v=DMARC1; p=none; rua=mailto:a@x; fo=%s",
				 t[k].fo);
			struct signet_dmarc_record r;
			struct signet_error err;
			assert_int_equal(signet_dmarc_record_parse((const uint8_t *)text,
								   strlen(text), mode, &r, &err),
					 SIGNET_OK);
			assert_true(r.usable);
			if ((r.fo.len > 0) != ok)
				fail_msg("fo=%s in %s: %s", t[k].fo, m ? "RFC 7489" : "RFC 9989",
					 ok ? "rejected" : "accepted");
			if (!ok) {
				assert_int_equal(r.nnotes, 1);
				assert_int_equal(r.notes[0].kind, SIGNET_DMARC_NOTE_BAD_VALUE);
			}
		}
	}
}

/* DMARC-RES-01 (RFC 7489 3, 4.2; RFC 9989 4.4): pass when at least one
 * identifier passes aligned, DKIM or SPF; else fail. Each row is one mix. */
static void DMARC_RES_01_pass_needs_one_aligned(void **state)
{
	(void)state;
	static const struct zrr z[] = {{"_dmarc.example.com", Z_TXT, "v=DMARC1; p=reject"}};
	static const struct {
		const char *dkim[3], *spf;
		enum signet_dmarc_result result;
		const char *aligned;
	} t[] = {
		{{"example.com"}, NULL, SIGNET_DMARC_PASS, "dkim:example.com"},
		{{NULL}, "example.com", SIGNET_DMARC_PASS, "spf:example.com"},
		{{"example.com"},
		 "example.com",
		 SIGNET_DMARC_PASS,
		 "dkim:example.com spf:example.com"},
		{{"example.net", "s.example.com"}, NULL, SIGNET_DMARC_PASS, "dkim:s.example.com"},
		{{"example.net"}, "example.com", SIGNET_DMARC_PASS, "spf:example.com"},
		{{"example.com"}, "example.org", SIGNET_DMARC_PASS, "dkim:example.com"},
		{{"example.net", "example.org"}, "example.org", SIGNET_DMARC_FAIL, ""},
		{{NULL}, NULL, SIGNET_DMARC_FAIL, ""},
	};
	for (size_t k = 0; k < sizeof t / sizeof t[0]; k++) {
		struct run r = eval(z, sizeof z / sizeof z[0],
				    &(struct in){.from = {"u@example.com"},
						 .dkim = {t[k].dkim[0], t[k].dkim[1], t[k].dkim[2]},
						 .spf = t[k].spf});
		if (r.result != t[k].result || strcmp(r.aligned, t[k].aligned) != 0)
			fail_msg("case %zu: %s [%s]: %s", k, signet_dmarc_result_name(r.result),
				 r.aligned, r.reason);
		assert_int_equal(r.disposition, t[k].result == SIGNET_DMARC_FAIL
							? SIGNET_DMARC_POLICY_REJECT
							: SIGNET_DMARC_POLICY_NONE);
	}
}

/* DMARC-REC-04 (RFC 7489 6.3 sp=, 6.6.3; RFC 9989 4.7, 4.10.1): sp= applies
 * to an author domain whose record was found at its organizational domain;
 * the organizational domain itself gets p=; no sp= gives p=. Both modes. */
static void DMARC_REC_04_sp_for_subdomains(void **state)
{
	(void)state;
	struct signet_psl *psl = small_psl();
	static const struct zrr z[] = {
		{"_dmarc.example.com", Z_TXT, "v=DMARC1; p=reject; sp=quarantine"},
		{"_dmarc.nosp.com", Z_TXT, "v=DMARC1; p=quarantine"},
		{"_dmarc.own.example.com", Z_TXT, "v=DMARC1; p=none; sp=reject"},
	};
	static const struct {
		const char *from;
		enum signet_dmarc_applied applied;
		enum signet_dmarc_policy policy;
		const char *policy_domain;
	} t[] = {
		{"u@example.com", SIGNET_DMARC_APPLIED_P, SIGNET_DMARC_POLICY_REJECT,
		 "example.com"},
		{"u@a.example.com", SIGNET_DMARC_APPLIED_SP, SIGNET_DMARC_POLICY_QUARANTINE,
		 "example.com"},
		{"u@b.a.example.com", SIGNET_DMARC_APPLIED_SP, SIGNET_DMARC_POLICY_QUARANTINE,
		 "example.com"},
		{"u@x.nosp.com", SIGNET_DMARC_APPLIED_P, SIGNET_DMARC_POLICY_QUARANTINE,
		 "nosp.com"},
		/* its own record: p=, its sp= is for its subdomains only */
		{"u@own.example.com", SIGNET_DMARC_APPLIED_P, SIGNET_DMARC_POLICY_NONE,
		 "own.example.com"},
	};
	for (int m = 0; m < 2; m++) {
		for (size_t k = 0; k < sizeof t / sizeof t[0]; k++) {
			struct run r = eval(z, sizeof z / sizeof z[0],
					    &(struct in){.from = {t[k].from},
							 .mode = m ? SIGNET_DMARC_RFC7489
								   : SIGNET_DMARC_RFC9989,
							 .psl = psl});
			if (r.applied != t[k].applied || r.policy != t[k].policy ||
			    strcmp(r.policy_domain, t[k].policy_domain) != 0)
				fail_msg("%s (mode %d): applied %d policy %d at %s", t[k].from, m,
					 r.applied, r.policy, r.policy_domain);
		}
	}
	signet_psl_free(psl);
}

/* DMARC-ORG-02 (RFC 9989 4.10.2 replaces RFC 7489 3.2's PSL): one
 * org-domain interface behind both modes; where the published records agree
 * with the PSL, the tree walk and the PSL give the same organizational
 * domain and the same alignment. */
static void DMARC_ORG_02_tree_walk_and_psl_agree(void **state)
{
	(void)state;
	struct signet_psl *psl = small_psl();
	static const struct zrr z[] = {
		{"_dmarc.example.com", Z_TXT, "v=DMARC1; p=reject"},
		{"_dmarc.example.co.uk", Z_TXT, "v=DMARC1; p=reject"},
	};
	static const struct {
		const char *from, *dkim, *org;
		enum signet_dmarc_result result;
	} t[] = {
		{"u@a.b.example.com", "example.com", "example.com", SIGNET_DMARC_PASS},
		{"u@example.com", "m.example.com", "example.com", SIGNET_DMARC_PASS},
		{"u@a.example.co.uk", "b.example.co.uk", "example.co.uk", SIGNET_DMARC_PASS},
		{"u@example.com", "example.co.uk", "example.com", SIGNET_DMARC_FAIL},
	};
	for (size_t k = 0; k < sizeof t / sizeof t[0]; k++) {
		struct run r9 = eval(z, sizeof z / sizeof z[0],
				     &(struct in){.from = {t[k].from}, .dkim = {t[k].dkim}});
		struct run r7 = eval(z, sizeof z / sizeof z[0],
				     &(struct in){.from = {t[k].from},
						  .dkim = {t[k].dkim},
						  .mode = SIGNET_DMARC_RFC7489,
						  .psl = psl});
		assert_int_equal(r9.result, t[k].result);
		assert_int_equal(r7.result, t[k].result);
		assert_string_equal(r9.org, t[k].org);
		assert_string_equal(r7.org, t[k].org);
	}
	signet_psl_free(psl);
}

/* DMARC-REC-02 in an evaluation: an unusable record found is permerror. */
static void DMARC_REC_02_unusable_record_permerror(void **state)
{
	(void)state;
	static const struct zrr z[] = {{"_dmarc.example.com", Z_TXT, "v=DMARC1; p=bogus"}};
	struct run r = EVAL(z, FROM("u@example.com"));
	assert_int_equal(r.result, SIGNET_DMARC_PERMERROR);
	assert_contains(r.reason, "_dmarc.example.com: p= is missing or invalid");
	static const struct zrr none[] = {
		{"_dmarc.example.com", Z_TXT, "v=DMARC1; p=bogus; rua=mailto:a@example.com"}};
	r = EVAL(none, FROM("u@example.com"));
	assert_int_equal(r.result, SIGNET_DMARC_FAIL);
	assert_int_equal(r.disposition, SIGNET_DMARC_POLICY_NONE);
}

/* DMARC9-T-01 (RFC 9989 4.7 t=y): one step weaker. */
static void DMARC9_T_01_testing(void **state)
{
	(void)state;
	static const struct zrr z[] = {
		{"_dmarc.r.example", Z_TXT, "v=DMARC1; p=reject; t=y"},
		{"_dmarc.q.example", Z_TXT, "v=DMARC1; p=quarantine; t=y"},
		{"_dmarc.n.example", Z_TXT, "v=DMARC1; p=reject; t=n"},
	};
	struct run r = EVAL(z, FROM("u@r.example"));
	assert_int_equal(r.policy, SIGNET_DMARC_POLICY_REJECT);
	assert_int_equal(r.disposition, SIGNET_DMARC_POLICY_QUARANTINE);
	assert_int_equal(r.override, SIGNET_DMARC_OVERRIDE_TESTING);
	r = EVAL(z, FROM("u@q.example"));
	assert_int_equal(r.disposition, SIGNET_DMARC_POLICY_NONE);
	r = EVAL(z, FROM("u@n.example"));
	assert_int_equal(r.disposition, SIGNET_DMARC_POLICY_REJECT);
	assert_int_equal(r.override, SIGNET_DMARC_OVERRIDE_NONE);
	/* t= is not an RFC 7489 tag */
	struct signet_psl *psl = small_psl();
	static const struct zrr c[] = {{"_dmarc.example.com", Z_TXT, "v=DMARC1; p=reject; t=y"}};
	r = EVAL(c, FROM("u@example.com"), .mode = SIGNET_DMARC_RFC7489, .psl = psl);
	assert_int_equal(r.disposition, SIGNET_DMARC_POLICY_REJECT);
	signet_psl_free(psl);
}

/* DMARC-RES-02 (RFC 7489 6.6.4): the policy applies when the draw (0..99)
 * is below pct; otherwise the next weaker one. */
static void DMARC_RES_02_pct_sampling(void **state)
{
	(void)state;
	struct signet_psl *psl = small_psl();
	static const struct zrr z[] = {
		{"_dmarc.h.com", Z_TXT, "v=DMARC1; p=reject; pct=50"},
		{"_dmarc.z.com", Z_TXT, "v=DMARC1; p=quarantine; pct=0"},
		{"_dmarc.f.com", Z_TXT, "v=DMARC1; p=reject"},
	};
	struct {
		const char *from;
		unsigned draw;
		enum signet_dmarc_policy disp;
		enum signet_dmarc_override ovr;
	} t[] = {
		{"u@h.com", 49, SIGNET_DMARC_POLICY_REJECT, SIGNET_DMARC_OVERRIDE_NONE},
		{"u@h.com", 50, SIGNET_DMARC_POLICY_QUARANTINE, SIGNET_DMARC_OVERRIDE_SAMPLED_OUT},
		{"u@z.com", 0, SIGNET_DMARC_POLICY_NONE, SIGNET_DMARC_OVERRIDE_SAMPLED_OUT},
		{"u@f.com", 99, SIGNET_DMARC_POLICY_REJECT, SIGNET_DMARC_OVERRIDE_NONE},
	};
	for (size_t k = 0; k < sizeof t / sizeof t[0]; k++) {
		struct run r = eval(z, sizeof z / sizeof z[0],
				    &(struct in){.from = {t[k].from},
						 .mode = SIGNET_DMARC_RFC7489,
						 .psl = psl,
						 .pct_draw = t[k].draw});
		assert_int_equal(r.disposition, t[k].disp);
		assert_int_equal(r.override, t[k].ovr);
	}
	/* pct= means nothing in RFC 9989 mode */
	struct run r = EVAL(z, FROM("u@h.com"), .pct_draw = 99);
	assert_int_equal(r.disposition, SIGNET_DMARC_POLICY_REJECT);
	signet_psl_free(psl);
}

/* DMARC-DISC-01, DMARC-ORG-01 (RFC 7489 6.6.3, 3.2): _dmarc.<author>, then
 * _dmarc.<PSL org domain>, nothing between; relaxed alignment by the PSL. */
static void DMARC_DISC_01_psl_mode(void **state)
{
	(void)state;
	struct signet_psl *psl = small_psl();
	static const struct zrr z[] = {
		{"_dmarc.b.example.co.uk", Z_TXT, "v=DMARC1; p=none"}, /* skipped: not the org */
		{"_dmarc.example.co.uk", Z_TXT, "v=DMARC1; p=reject; sp=quarantine"},
		{"_dmarc.x.city.kobe.jp", Z_TXT, "v=DMARC1; p=reject"},
	};
	struct run r =
		EVAL(z, FROM("u@a.b.example.co.uk"), .mode = SIGNET_DMARC_RFC7489, .psl = psl);
	assert_string_equal(r.asked, "_dmarc.a.b.example.co.uk _dmarc.example.co.uk");
	assert_int_equal(r.applied, SIGNET_DMARC_APPLIED_SP);
	assert_int_equal(r.disposition, SIGNET_DMARC_POLICY_QUARANTINE);
	r = EVAL(z, FROM("u@a.b.example.co.uk"), DKIM("other.example.co.uk"),
		 .mode = SIGNET_DMARC_RFC7489, .psl = psl);
	assert_int_equal(r.result, SIGNET_DMARC_PASS);
	assert_string_equal(r.org, "example.co.uk");
	assert_int_equal(r.queries, 2); /* the PSL costs no query */
	/* wildcard and exception: a.kobe.jp is a suffix by *.kobe.jp,
	 * city.kobe.jp is registrable by !city.kobe.jp */
	r = EVAL(z, FROM("u@x.city.kobe.jp"), DKIM("y.city.kobe.jp"), .mode = SIGNET_DMARC_RFC7489,
		 .psl = psl);
	assert_string_equal(r.org, "city.kobe.jp");
	assert_int_equal(r.result, SIGNET_DMARC_PASS);
	r = EVAL(z, FROM("u@m.x.a.kobe.jp"), .mode = SIGNET_DMARC_RFC7489, .psl = psl);
	assert_string_equal(r.asked, "_dmarc.m.x.a.kobe.jp _dmarc.x.a.kobe.jp");
	/* no PSL: an error of the caller */
	struct signet_dmarc_request req = {.mode = SIGNET_DMARC_RFC7489};
	struct signet_dmarc *d = NULL;
	struct signet_error err;
	assert_int_equal(signet_dmarc_new(&req, &d, &err), SIGNET_ERR_INVAL);
	signet_psl_free(psl);
}

/* DMARC-ORG-01 (RFC 7489 3.2) against the official PSL test cases
 * (shared/testdata/psl/tests.txt, "input expected-registrable-domain") and
 * Debian's list, PRIVATE rules included (uk.com): in RFC 7489 mode the
 * second question is _dmarc.<organizational domain>, and none is asked
 * for a public suffix. */
static void DMARC_ORG_01_psl_test_cases(void **state)
{
	(void)state;
	FILE *tf = fopen(SIGNET_TESTDATA "/psl/tests.txt", "r");
	psl_ctx_t *ctx = psl_load_file(SIGNET_PSL_DEFAULT_FILE);
	if (tf == NULL || ctx == NULL) {
		if (tf)
			fclose(tf);
		psl_free(ctx);
		skip(); /* the list comes with Debian's publicsuffix package */
	}
	struct signet_psl *psl = NULL;
	struct signet_error err;
	assert_int_equal(signet_psl_new(ctx, true, &psl, &err), SIGNET_OK);
	static const struct zrr none[] = {{"_dmarc.invalid", Z_TXT, "x"}};
	char line[256], in[128], want[128], from[160], expect[400];
	size_t cases = 0;
	while (fgets(line, sizeof line, tf)) {
		if (sscanf(line, "%127s %127s", in, want) != 2 || strncmp(in, "//", 2) == 0 ||
		    strcmp(in, "null") == 0 || in[0] == '.')
			continue;
		bool ascii = true;
		for (char *c = in; *c; c++)
			ascii = ascii && (unsigned char)*c < 0x80;
		if (!ascii)
			continue; /* the same cases come again in punycode */
		for (char *c = in; *c; c++)
			*c = (char)(*c >= 'A' && *c <= 'Z' ? *c + 32 : *c);
		snprintf(from, sizeof from, "u@%s", in);
		struct run r = eval(
			none, 1,
			&(struct in){.from = {from}, .mode = SIGNET_DMARC_RFC7489, .psl = psl});
		if (strcmp(want, "null") == 0 || strcmp(want, in) == 0)
			snprintf(expect, sizeof expect, "_dmarc.%s", in);
		else
			snprintf(expect, sizeof expect, "_dmarc.%s _dmarc.%s", in, want);
		if (strcmp(r.asked, expect) != 0)
			fail_msg("%s: asked '%s', want '%s'", in, r.asked, expect);
		cases++;
	}
	fclose(tf);
	assert_true(cases >= 50);
	signet_psl_free(psl);
}

/* DMARC9-OVR-01: the caller's trusted ARC sealer or local policy. */
static void DMARC9_OVR_01_arc_and_local(void **state)
{
	(void)state;
	static const struct zrr z[] = {{"_dmarc.example.com", Z_TXT, "v=DMARC1; p=reject"}};
	struct run r = EVAL(z, FROM("u@example.com"), .arc = true);
	assert_int_equal(r.result, SIGNET_DMARC_FAIL);
	assert_int_equal(r.policy, SIGNET_DMARC_POLICY_REJECT);
	assert_int_equal(r.disposition, SIGNET_DMARC_POLICY_NONE);
	assert_int_equal(r.override, SIGNET_DMARC_OVERRIDE_ARC);
	assert_string_equal(signet_dmarc_override_name(r.override), "arc-override");
	r = EVAL(z, FROM("u@example.com"), .local = true);
	assert_int_equal(r.override, SIGNET_DMARC_OVERRIDE_LOCAL);
	r = EVAL(z, FROM("u@example.com"), DKIM("example.com"), .arc = true);
	assert_int_equal(r.result, SIGNET_DMARC_PASS);
	assert_int_equal(r.override, SIGNET_DMARC_OVERRIDE_NONE); /* nothing to override */
}

/* DMARC9-LIM-01: SIGNET_DMARC_MAX_QUERIES. Author example.com (2 names:
 * itself and com), each x.dN.org adds 2 and org 1: 2K+3 names. */
static void DMARC9_LIM_01_max_queries(void **state)
{
	(void)state;
	static const struct zrr z[] = {{"_dmarc.example.com", Z_TXT, "v=DMARC1; p=reject"}};
	static char names[16][32];
	struct in in = {.from = {"u@example.com"}};
	for (size_t k = 0; k < 16; k++) {
		snprintf(names[k], sizeof names[k], "x.d%zu.org", k);
		in.dkim[k] = names[k];
	}
	in.dkim[14] = NULL; /* K = 14: 31 names, limit-1 */
	struct run r = eval(z, 1, &in);
	assert_int_equal(r.queries, SIGNET_DMARC_MAX_QUERIES - 1);
	assert_int_equal(r.states[13], SIGNET_DMARC_NOT_ALIGNED);
	in.spf = "s.org"; /* one more: at the limit */
	r = eval(z, 1, &in);
	assert_int_equal(r.queries, SIGNET_DMARC_MAX_QUERIES);
	assert_int_equal(r.states[14], SIGNET_DMARC_NOT_ALIGNED);
	in.spf = NULL;
	in.dkim[14] = names[14]; /* K = 15: 33 wanted, the last not checked */
	r = eval(z, 1, &in);
	assert_int_equal(r.queries, SIGNET_DMARC_MAX_QUERIES);
	assert_int_equal(r.states[13], SIGNET_DMARC_NOT_ALIGNED);
	assert_int_equal(r.states[14], SIGNET_DMARC_NOT_CHECKED);
	assert_int_equal(r.result, SIGNET_DMARC_FAIL);
	/* an aligned identifier still counts when the budget is spent */
	in.dkim[15] = "example.com";
	r = eval(z, 1, &in);
	assert_int_equal(r.result, SIGNET_DMARC_PASS);
	/* the budget spent before the np= existence question: sp= applies
	 * (a.example.com: 3 names, K = 14: 28 + org = 32) */
	static const struct zrr np[] = {
		{"_dmarc.example.com", Z_TXT, "v=DMARC1; p=reject; sp=quarantine; np=none"}};
	in.from[0] = "u@a.example.com";
	in.dkim[14] = NULL;
	r = eval(np, 1, &in);
	assert_int_equal(r.queries, SIGNET_DMARC_MAX_QUERIES);
	assert_null(strchr(r.asked, '?'));
	assert_int_equal(r.applied, SIGNET_DMARC_APPLIED_SP);
	assert_int_equal(r.disposition, SIGNET_DMARC_POLICY_QUARANTINE);
	in.dkim[13] = NULL; /* 30 names: the question is asked, the domain does not exist */
	r = eval(np, 1, &in);
	assert_int_equal(r.applied, SIGNET_DMARC_APPLIED_NP);
}

/* DMARC9-LIM-01: SIGNET_DMARC_MAX_RECORD, at the limit and one over. */
static void DMARC9_LIM_01_max_record(void **state)
{
	(void)state;
	char text[SIGNET_DMARC_MAX_RECORD + 2];
	struct signet_dmarc_record r;
	struct signet_error err;
	const char *head = "v=DMARC1; p=reject; rua=mailto:";
	for (size_t len = SIGNET_DMARC_MAX_RECORD - 1; len <= SIGNET_DMARC_MAX_RECORD + 1; len++) {
		memset(text, 'a', len);
		memcpy(text, head, strlen(head));
		memcpy(text + len - 10, "@x.example", 10);
		assert_int_equal(signet_dmarc_record_parse((const uint8_t *)text, len,
							   SIGNET_DMARC_RFC9989, &r, &err),
				 SIGNET_OK);
		assert_int_equal(r.usable, len <= SIGNET_DMARC_MAX_RECORD);
		if (!r.usable)
			assert_contains(r.reason, "SIGNET_DMARC_MAX_RECORD");
	}
	/* through an evaluation: permerror */
	memset(text, 'a', SIGNET_DMARC_MAX_RECORD + 1);
	memcpy(text, head, strlen(head));
	text[SIGNET_DMARC_MAX_RECORD + 1] = '\0';
	struct zrr z[] = {{"_dmarc.example.com", Z_TXT, text}};
	struct run run = eval(z, 1, &(struct in){.from = {"u@example.com"}});
	assert_int_equal(run.result, SIGNET_DMARC_PERMERROR);
	assert_contains(run.reason, "SIGNET_DMARC_MAX_RECORD");
}

/* DMARC9-LIM-01: SIGNET_DMARC_MAX_FROM_DOMAINS mailboxes (7489 mode, where
 * several domains are evaluated), and SIGNET_DMARC_MAX_DKIM. */
static void DMARC9_LIM_01_max_from_and_dkim(void **state)
{
	(void)state;
	struct signet_psl *psl = small_psl();
	static const struct zrr z[] = {{"_dmarc.example.com", Z_TXT, "v=DMARC1; p=reject"}};
	char from[512];
	for (int n = SIGNET_DMARC_MAX_FROM_DOMAINS - 1; n <= SIGNET_DMARC_MAX_FROM_DOMAINS + 1;
	     n++) {
		from[0] = '\0';
		for (int k = 0; k < n; k++)
			snprintf(from + strlen(from), sizeof from - strlen(from),
				 "%su%d@d%d.example.com", k ? ", " : "", k, k);
		struct run r = eval(
			z, 1,
			&(struct in){.from = {from}, .mode = SIGNET_DMARC_RFC7489, .psl = psl});
		if (n <= SIGNET_DMARC_MAX_FROM_DOMAINS) {
			assert_int_equal(r.from, SIGNET_DMARC_FROM_OK);
			assert_int_equal(r.result, SIGNET_DMARC_FAIL);
		} else {
			assert_int_equal(r.from, SIGNET_DMARC_FROM_TOO_MANY);
			assert_int_equal(r.queries, 0);
		}
	}
	signet_psl_free(psl);
	struct signet_dmarc_dkim dk[SIGNET_DMARC_MAX_DKIM + 1];
	for (size_t k = 0; k <= SIGNET_DMARC_MAX_DKIM; k++)
		dk[k] = (struct signet_dmarc_dkim){"example.com", NULL};
	struct signet_dmarc_request req = {.dkim = dk, .ndkim = SIGNET_DMARC_MAX_DKIM};
	struct signet_dmarc *d = NULL;
	struct signet_error err;
	assert_int_equal(signet_dmarc_new(&req, &d, &err), SIGNET_OK);
	signet_dmarc_free(d);
	req.ndkim = SIGNET_DMARC_MAX_DKIM + 1;
	d = NULL;
	assert_int_equal(signet_dmarc_new(&req, &d, &err), SIGNET_ERR_LIMIT);
	assert_contains(err.msg, "SIGNET_DMARC_MAX_DKIM");
	assert_null(d);
}

/* The answer contract: unknown and repeated ids are misuse. */
static void DMARC_api_answer_ids(void **state)
{
	(void)state;
	struct signet_dmarc_request req = {0};
	const uint8_t *from[] = {(const uint8_t *)"u@example.com"};
	size_t len[] = {13};
	req.from = from;
	req.from_len = len;
	req.nfrom = 1;
	struct signet_dmarc *d = NULL;
	struct signet_dmarc_query q;
	struct signet_error err;
	assert_int_equal(signet_dmarc_new(&req, &d, &err), SIGNET_OK);
	assert_null(signet_dmarc_outcome(d));
	assert_true(signet_dmarc_next_query(d, &q));
	assert_false(signet_dmarc_next_query(d, &q)); /* handed out once */
	assert_int_equal(signet_dmarc_answer(d, q.id + 100, SIGNET_DNS_NXDOMAIN, NULL, 0, &err),
			 SIGNET_ERR_INVAL);
	assert_int_equal(signet_dmarc_answer(d, q.id, SIGNET_DNS_NXDOMAIN, NULL, 0, &err),
			 SIGNET_OK);
	assert_true(signet_dmarc_next_query(d, &q)); /* _dmarc.com */
	assert_string_equal(q.name, "_dmarc.com");
	assert_int_equal(signet_dmarc_answer(d, q.id, SIGNET_DNS_OK, NULL, 0, &err), SIGNET_OK);
	assert_true(signet_dmarc_done(d));
	assert_int_equal(signet_dmarc_outcome(d)->result, SIGNET_DMARC_NONE);
	assert_string_equal(signet_dmarc_result_name(SIGNET_DMARC_PERMERROR), "permerror");
	signet_dmarc_free(d);
	signet_dmarc_free(NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(DMARC9_WALK_01_tree_walk_names),
		cmocka_unit_test(DMARC9_WALK_02_author_org_psd),
		cmocka_unit_test(DMARC9_PSD_01_org_domain),
		cmocka_unit_test(DMARC9_NP_01_p_sp_np),
		cmocka_unit_test(DMARC_ALIGN_01_02_strict_relaxed),
		cmocka_unit_test(DMARC9_SPF_01_only_pass),
		cmocka_unit_test(DMARC_FROM_01_02_author_domain),
		cmocka_unit_test(DMARC_FROM_02_rfc7489_strictest),
		cmocka_unit_test(DMARC9_IDN_01_a_labels),
		cmocka_unit_test(DMARC_DISC_03_temperror_each_lookup),
		cmocka_unit_test(DMARC_REC_01_02_03_DMARC9_REC_01_record_grammar),
		cmocka_unit_test(DMARC9_REC_02_DMARC_REC_03_broken_part_discarded),
		cmocka_unit_test(DMARC9_FO_01_fo_values),
		cmocka_unit_test(DMARC_RES_01_pass_needs_one_aligned),
		cmocka_unit_test(DMARC_REC_04_sp_for_subdomains),
		cmocka_unit_test(DMARC_ORG_02_tree_walk_and_psl_agree),
		cmocka_unit_test(DMARC_REC_02_unusable_record_permerror),
		cmocka_unit_test(DMARC9_T_01_testing),
		cmocka_unit_test(DMARC_RES_02_pct_sampling),
		cmocka_unit_test(DMARC_DISC_01_psl_mode),
		cmocka_unit_test(DMARC_ORG_01_psl_test_cases),
		cmocka_unit_test(DMARC9_OVR_01_arc_and_local),
		cmocka_unit_test(DMARC9_LIM_01_max_queries),
		cmocka_unit_test(DMARC9_LIM_01_max_record),
		cmocka_unit_test(DMARC9_LIM_01_max_from_and_dkim),
		cmocka_unit_test(DMARC_api_answer_ids),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
