/* dmarc.c: DMARC evaluation (RFC 9989 4.10, 5.3; RFC 7489 6.6 in that mode)
 * over a cache of DNS answers. Every answer re-runs the whole evaluation
 * from the cache (a few dozen string compares), so the result depends only
 * on the answers, never on their order; what is missing becomes a question.
 * Policy discovery walks one name at a time (it stops at the first record);
 * the organizational-domain walks of RFC 9989 4.10.2 ask all their names at
 * once, in parallel, since they rarely stop early. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <signet/dmarc.h>
#include <signet/rfc5322.h>

#include "dmarc_record.h"
#include "dnsname.h"
#include "error.h"
#include "idna.h"

#define NAME_CAP (DNSNAME_MAX + 1)
#define QNAME_CAP (NAME_CAP + 7) /* "_dmarc." */

struct entry {
	char name[QNAME_CAP];
	enum signet_dmarc_qtype type;
	unsigned id;
	bool issued, answered;
	enum signet_dns_status st;
	size_t ndmarc; /* TXT: records starting v=DMARC1 */
	char *text;    /* the one DMARC record, owned */
	struct signet_dmarc_record rec;
};

/* Where a step stands: an answer is still missing, a lookup failed, the
 * query budget is spent, or it is known. */
enum step { S_OK = 0, S_PENDING, S_TEMPFAIL, S_LIMIT };

struct ident {
	bool dkim;
	char domain[NAME_CAP];
	char *selector; /* owned; NULL for SPF */
};

struct author {
	char domain[NAME_CAP];
	char org[NAME_CAP];
	bool have_org;
	bool discarded; /* several DMARC records at the author domain (RFC 9989 4.10) */
	enum signet_dmarc_result result;
	struct entry *rec_entry;
	char policy_domain[NAME_CAP];
	enum signet_dmarc_applied applied;
	enum signet_dmarc_policy policy, disposition;
	enum signet_dmarc_override override;
	struct signet_dmarc_ident idents[SIGNET_DMARC_MAX_DKIM + 1]; /* views of d->idents */
	size_t nidents;
	char reason[300];
};

struct signet_dmarc {
	struct signet_dmarc_request req;
	struct entry q[SIGNET_DMARC_MAX_QUERIES];
	size_t nq;
	unsigned next_id;
	struct ident idents[SIGNET_DMARC_MAX_DKIM + 1]; /* DKIM then SPF, as given */
	size_t nidents;
	struct author authors[SIGNET_DMARC_MAX_FROM_DOMAINS];
	size_t nauthors;
	enum signet_dmarc_from from;
	bool done;
	size_t decided; /* the author whose evaluation is the outcome */
	struct signet_dmarc_outcome out;
	char reason[400];
};

const char *signet_dmarc_result_name(enum signet_dmarc_result r)
{
	switch (r) {
	case SIGNET_DMARC_NONE: return "none";
	case SIGNET_DMARC_PASS: return "pass";
	case SIGNET_DMARC_FAIL: return "fail";
	case SIGNET_DMARC_TEMPERROR: return "temperror";
	case SIGNET_DMARC_PERMERROR: return "permerror";
	}
	return "unknown";
}

const char *signet_dmarc_policy_name(enum signet_dmarc_policy p)
{
	switch (p) {
	case SIGNET_DMARC_POLICY_NONE: return "none";
	case SIGNET_DMARC_POLICY_QUARANTINE: return "quarantine";
	case SIGNET_DMARC_POLICY_REJECT: return "reject";
	case SIGNET_DMARC_POLICY_UNSET: break;
	}
	return "unset";
}

const char *signet_dmarc_override_name(enum signet_dmarc_override o)
{
	switch (o) {
	case SIGNET_DMARC_OVERRIDE_TESTING: return "testing";
	case SIGNET_DMARC_OVERRIDE_SAMPLED_OUT: return "sampled-out";
	case SIGNET_DMARC_OVERRIDE_ARC: return "arc-override";
	case SIGNET_DMARC_OVERRIDE_LOCAL: return "local-override";
	case SIGNET_DMARC_OVERRIDE_NONE: break;
	}
	return "none";
}

static void say(char *buf, size_t cap, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void say(char *buf, size_t cap, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(buf, cap, fmt, ap);
	va_end(ap);
	for (char *c = buf; *c; c++) /* one printable line: record text may be hostile */
		if ((unsigned char)*c < 0x20 || (unsigned char)*c > 0x7e)
			*c = '?';
}

/* ---- the answer cache ------------------------------------------------------ */

/* The entry for (type, name), made (a question) if new. S_LIMIT when the
 * budget of SIGNET_DMARC_MAX_QUERIES is spent; *e is set for S_OK only. */
static enum step need(struct signet_dmarc *d, enum signet_dmarc_qtype type, const char *name,
		      struct entry **e)
{
	char qname[QNAME_CAP];
	snprintf(qname, sizeof qname, "%s%s", type == SIGNET_DMARC_Q_TXT ? "_dmarc." : "", name);
	for (size_t k = 0; k < d->nq; k++) {
		if (d->q[k].type != type || strcmp(d->q[k].name, qname) != 0)
			continue;
		if (!d->q[k].answered)
			return S_PENDING;
		*e = &d->q[k];
		return d->q[k].st == SIGNET_DNS_TEMPFAIL ? S_TEMPFAIL : S_OK;
	}
	if (d->nq == SIGNET_DMARC_MAX_QUERIES)
		return S_LIMIT;
	struct entry *n = &d->q[d->nq++];
	memset(n, 0, sizeof *n);
	memcpy(n->name, qname, sizeof qname);
	n->type = type;
	n->id = ++d->next_id;
	return S_PENDING;
}

static enum step worst(enum step a, enum step b)
{
	return a > b ? a : b; /* LIMIT > TEMPFAIL > PENDING > OK */
}

/* ---- names ----------------------------------------------------------------- */

static size_t labels(const char *n)
{
	size_t c = 1;
	for (; *n; n++)
		c += *n == '.';
	return c;
}

/* The suffix of n with k labels (k <= labels(n)). */
static const char *suffix(const char *n, size_t k)
{
	size_t drop = labels(n) - k;
	while (drop-- > 0)
		n = strchr(n, '.') + 1;
	return n;
}

/* RFC 9989 4.10 (DMARC9-WALK-01): the names a DNS Tree Walk from d queries:
 * d; then, while more than one label is left, one label fewer, or straight
 * to seven labels from eight or more. At most SIGNET_DMARC_WALK_MAX_LABELS. */
static size_t walk_names(const char *d, const char *out[SIGNET_DMARC_WALK_MAX_LABELS])
{
	size_t n = 0, x = labels(d);
	out[n++] = d;
	while (x > 1) {
		x = x >= SIGNET_DMARC_WALK_MAX_LABELS ? SIGNET_DMARC_WALK_MAX_LABELS - 1 : x - 1;
		out[n++] = suffix(d, x);
	}
	return n;
}

/* ---- organizational domains (RFC 9989 4.10.2) --------------------------------- */

/* The one DMARC record at e, if any (RFC 9989 4.10 steps 2, 6: other TXT
 * records are discarded, and so are several DMARC records at one name). */
static const struct entry *record_at(const struct entry *e)
{
	return e->type == SIGNET_DMARC_Q_TXT && e->ndmarc == 1 ? e : NULL;
}

static bool valid_at(const struct entry *e)
{
	return record_at(e) != NULL && e->rec.usable;
}

struct walk {
	const char *org;             /* the organizational domain */
	const struct entry *org_rec; /* a valid record at org, if the walk saw one */
	const char *psd;             /* the psd=y domain that set org, if any */
	const struct entry *psd_rec;
};

/* DMARC9-WALK-01, DMARC9-PSD-01: walk from dom (RFC 9989 4.10: stop at a
 * record with psd=n or psd=y) and pick the organizational domain (4.10.2):
 * psd=n marks its domain; psd=y (not at dom itself) marks the domain one
 * label below; else the valid record with the fewest labels; no record:
 * dom itself. All names are asked at once (at most 8, the RFC's bound), in
 * parallel; answers past the stop are not used. */
static enum step org_walk(struct signet_dmarc *d, const char *dom, struct walk *w)
{
	const char *names[SIGNET_DMARC_WALK_MAX_LABELS];
	struct entry *es[SIGNET_DMARC_WALK_MAX_LABELS];
	enum step st[SIGNET_DMARC_WALK_MAX_LABELS];
	size_t n = walk_names(dom, names);
	for (size_t k = 0; k < n; k++)
		st[k] = need(d, SIGNET_DMARC_Q_TXT, names[k], &es[k]);
	*w = (struct walk){dom, NULL, NULL, NULL};
	for (size_t k = 0; k < n; k++) {
		if (st[k] != S_OK)
			return st[k];
		if (!valid_at(es[k]))
			continue;
		w->org = names[k]; /* fewest labels so far */
		w->org_rec = es[k];
		if (es[k]->rec.psd == SIGNET_DMARC_PSD_N)
			return S_OK;
		if (es[k]->rec.psd == SIGNET_DMARC_PSD_Y) {
			if (k > 0) {
				w->org = suffix(dom, labels(names[k]) + 1);
				w->org_rec =
					valid_at(es[k - 1]) && strcmp(names[k - 1], w->org) == 0
						? es[k - 1]
						: NULL;
				w->psd = names[k];
				w->psd_rec = es[k];
			}
			return S_OK;
		}
	}
	return S_OK;
}

static enum step org_domain(struct signet_dmarc *d, const char *dom, const char **org)
{
	if (d->req.mode == SIGNET_DMARC_RFC7489) {
		*org = signet_psl_org_domain(d->req.psl, dom, strlen(dom)); /* DMARC-ORG-01 */
		return S_OK;
	}
	struct walk w;
	enum step st = org_walk(d, dom, &w);
	*org = w.org;
	return st;
}

/* ---- policy discovery ---------------------------------------------------------- */

enum found { F_NONE, F_FOUND, F_MULTIPLE };

static enum found take(struct author *a, struct entry *e, const char *name)
{
	snprintf(a->policy_domain, sizeof a->policy_domain, "%s", name);
	if (e->ndmarc > 1)
		return F_MULTIPLE;
	a->rec_entry = e;
	return F_FOUND;
}

/* DMARC9-WALK-02 (RFC 9989 4.10.1): the record at the author domain; else
 * the one at its organizational domain; else at its public suffix domain
 * (psd=y). Records on the way that are neither are not used (4.7 sp=). */
static enum step discover_9989(struct signet_dmarc *d, struct author *a, enum found *f)
{
	struct entry *e = NULL;
	enum step st = need(d, SIGNET_DMARC_Q_TXT, a->domain, &e);
	*f = F_NONE;
	if (st != S_OK)
		return st;
	a->discarded = e->ndmarc > 1; /* 4.10 step 2: all discarded, the walk goes on */
	if (record_at(e)) {
		*f = take(a, e, a->domain);
		return S_OK;
	}
	struct walk w;
	if ((st = org_walk(d, a->domain, &w)) != S_OK)
		return st;
	if (w.org_rec != NULL && strcmp(w.org, a->domain) != 0)
		*f = take(a, (struct entry *)w.org_rec, w.org);
	else if (w.psd_rec != NULL)
		*f = take(a, (struct entry *)w.psd_rec, w.psd);
	return S_OK;
}

/* DMARC-DISC-01, DMARC-DISC-02 (RFC 7489 6.6.3): _dmarc.<author>, then
 * _dmarc.<PSL organizational domain>; several records end discovery. */
static enum step discover_7489(struct signet_dmarc *d, struct author *a, enum found *f)
{
	const char *names[2] = {a->domain,
				signet_psl_org_domain(d->req.psl, a->domain, strlen(a->domain))};
	size_t n = strcmp(names[0], names[1]) == 0 ? 1 : 2;
	*f = F_NONE;
	for (size_t k = 0; k < n; k++) {
		struct entry *e = NULL;
		enum step st = need(d, SIGNET_DMARC_Q_TXT, names[k], &e);
		if (st != S_OK)
			return st;
		if (e->ndmarc > 0) {
			*f = take(a, e, names[k]);
			return S_OK;
		}
	}
	return S_OK;
}

static enum step discover(struct signet_dmarc *d, struct author *a, enum found *f)
{
	return d->req.mode == SIGNET_DMARC_RFC9989 ? discover_9989(d, a, f)
						   : discover_7489(d, a, f);
}

/* ---- alignment ------------------------------------------------------------- */

/* DMARC-ALIGN-01/02/03 (RFC 9989 4.4, 4.10.2): strict is equality
 * of the lower-case A-label names; relaxed is equal organizational domains. */
static enum step align_one(struct signet_dmarc *d, struct author *a, struct signet_dmarc_ident *id,
			   enum signet_dmarc_align mode)
{
	id->strict_match = strcmp(id->domain, a->domain) == 0;
	if (id->strict_match) {
		id->state = SIGNET_DMARC_ALIGNED;
		return S_OK;
	}
	id->state = SIGNET_DMARC_NOT_ALIGNED;
	if (mode == SIGNET_DMARC_STRICT)
		return S_OK;
	const char *org_a = NULL, *org_i = NULL;
	enum step st = worst(org_domain(d, a->domain, &org_a), org_domain(d, id->domain, &org_i));
	if (st == S_TEMPFAIL)
		id->state = SIGNET_DMARC_ALIGN_TEMPERROR;
	else if (st == S_LIMIT)
		id->state = SIGNET_DMARC_NOT_CHECKED;
	if (st != S_OK)
		return st;
	snprintf(a->org, sizeof a->org, "%s", org_a);
	a->have_org = true;
	if (strcmp(org_a, org_i) == 0)
		id->state = SIGNET_DMARC_ALIGNED;
	return S_OK;
}

/* Every identifier is checked (no stopping at the first aligned one), so
 * the list and the questions do not depend on which answer came first. */
static enum step align_all(struct signet_dmarc *d, struct author *a,
			   const struct signet_dmarc_record *r)
{
	enum step st = S_OK;
	a->nidents = d->nidents;
	for (size_t k = 0; k < d->nidents; k++) {
		struct signet_dmarc_ident *id = &a->idents[k];
		*id = (struct signet_dmarc_ident){d->idents[k].dkim, d->idents[k].domain,
						  d->idents[k].selector, SIGNET_DMARC_NOT_ALIGNED,
						  false};
		enum step s = align_one(d, a, id, id->dkim ? r->adkim : r->aspf);
		if (s != S_LIMIT) /* a spent budget leaves that identifier not checked */
			st = worst(st, s);
	}
	return st;
}

/* ---- policy and disposition ------------------------------------------------- */

static void set_applied(struct author *a, enum signet_dmarc_applied which,
			enum signet_dmarc_policy p)
{
	a->applied = which;
	a->policy = p;
}

/* DMARC9-NP-01 (RFC 9989 4.10.1 and 4.7 sp=, np=): the author domain's
 * own record gives p=; a record found above it gives np= when the author
 * domain does not exist (NXDOMAIN, RFC 8020) and np= is set, else sp=,
 * else p=. RFC 7489 mode: sp= for a record at the organizational domain.
 * The existence question is asked only for a fail, where it matters. */
static enum step choose_policy(struct signet_dmarc *d, struct author *a,
			       const struct signet_dmarc_record *r, bool failed)
{
	if (strcmp(a->policy_domain, a->domain) == 0) {
		set_applied(a, SIGNET_DMARC_APPLIED_P, r->p);
		return S_OK;
	}
	if (d->req.mode == SIGNET_DMARC_RFC9989 && r->np != SIGNET_DMARC_POLICY_UNSET && failed) {
		struct entry *e = NULL;
		enum step st = need(d, SIGNET_DMARC_Q_EXISTS, a->domain, &e);
		if (st == S_PENDING || st == S_TEMPFAIL)
			return st;
		if (st == S_OK && e->st == SIGNET_DNS_NXDOMAIN) { /* S_LIMIT: not known, sp=/p= */
			set_applied(a, SIGNET_DMARC_APPLIED_NP, r->np);
			return S_OK;
		}
	}
	if (r->sp != SIGNET_DMARC_POLICY_UNSET)
		set_applied(a, SIGNET_DMARC_APPLIED_SP, r->sp);
	else
		set_applied(a, SIGNET_DMARC_APPLIED_P, r->p);
	return S_OK;
}

/* DMARC9-T-01 (RFC 9989 4.7 t=y: one step weaker), DMARC-RES-02 (RFC 7489
 * 6.6.4 pct=), DMARC9-OVR-01 (RFC 9989 5.4: a receiver that deviates says
 * why, the PolicyOverride of aggregate reports; the caller decides). */
static void disposition(const struct signet_dmarc *d, struct author *a,
			const struct signet_dmarc_record *r)
{
	a->disposition = a->policy;
	a->override = SIGNET_DMARC_OVERRIDE_NONE;
	if (a->result != SIGNET_DMARC_FAIL) {
		a->disposition = SIGNET_DMARC_POLICY_NONE;
		return;
	}
	if (d->req.mode == SIGNET_DMARC_RFC9989 && r->t) {
		a->disposition = dmarc_policy_weaker(a->policy);
		a->override = SIGNET_DMARC_OVERRIDE_TESTING;
	} else if (d->req.mode == SIGNET_DMARC_RFC7489 && d->req.pct_draw >= r->pct) {
		a->disposition = dmarc_policy_weaker(a->policy);
		a->override = SIGNET_DMARC_OVERRIDE_SAMPLED_OUT;
	}
	if (d->req.trusted_arc || d->req.local_override) {
		a->disposition = SIGNET_DMARC_POLICY_NONE;
		a->override = d->req.trusted_arc ? SIGNET_DMARC_OVERRIDE_ARC
						 : SIGNET_DMARC_OVERRIDE_LOCAL;
	}
}

static void idents_text(const struct author *a, char *buf, size_t cap)
{
	size_t used = 0;
	buf[0] = '\0';
	for (size_t k = 0; k < a->nidents && used < cap; k++) {
		const struct signet_dmarc_ident *id = &a->idents[k];
		if (id->state != SIGNET_DMARC_ALIGNED)
			continue;
		int w = snprintf(buf + used, cap - used, "%s%s %s", used ? ", " : "",
				 id->dkim ? "dkim" : "spf", id->domain);
		if (w > 0)
			used += (size_t)w;
	}
}

static void fill_result(const struct signet_dmarc *d, struct author *a)
{
	char al[200];
	if (a->result == SIGNET_DMARC_PASS) {
		idents_text(a, al, sizeof al);
		say(a->reason, sizeof a->reason, "aligned: %s", al);
	} else if (a->result == SIGNET_DMARC_TEMPERROR) {
		say(a->reason, sizeof a->reason,
		    "no identifier aligned and an organizational-domain lookup failed temporarily");
	} else {
		say(a->reason, sizeof a->reason, "no aligned passing identifier%s; %s=%s",
		    d->nidents == 0 ? " (none given)" : "",
		    a->applied == SIGNET_DMARC_APPLIED_NP   ? "np"
		    : a->applied == SIGNET_DMARC_APPLIED_SP ? "sp"
							    : "p",
		    signet_dmarc_policy_name(a->policy));
	}
}

/* One author domain, from the cache. S_OK: a->result is final. */
static enum step evaluate(struct signet_dmarc *d, struct author *a)
{
	enum found f;
	enum step st = discover(d, a, &f);
	if (st == S_PENDING)
		return st;
	if (st != S_OK) { /* S_LIMIT cannot happen: discovery is asked first (<= 16 names) */
		a->result = SIGNET_DMARC_TEMPERROR;
		say(a->reason, sizeof a->reason, "DMARC record lookup for %s %s", a->domain,
		    st == S_LIMIT ? "passed SIGNET_DMARC_MAX_QUERIES" : "failed temporarily");
		return S_OK;
	}
	if (f != F_FOUND) {
		a->result = SIGNET_DMARC_NONE;
		if (f == F_MULTIPLE)
			say(a->reason, sizeof a->reason, "several DMARC records at _dmarc.%s",
			    a->policy_domain);
		else
			say(a->reason, sizeof a->reason, "no DMARC record for %s%s", a->domain,
			    a->discarded ? " (several at its own name, all discarded)" : "");
		return S_OK;
	}
	const struct signet_dmarc_record *r = &a->rec_entry->rec;
	if (!r->usable) {
		a->result = SIGNET_DMARC_PERMERROR;
		say(a->reason, sizeof a->reason, "DMARC record at _dmarc.%s: %s", a->policy_domain,
		    r->reason);
		return S_OK;
	}
	st = align_all(d, a, r);
	if (st == S_PENDING)
		return st;
	bool any_aligned = false, any_temp = false;
	for (size_t k = 0; k < a->nidents; k++) {
		any_aligned |= a->idents[k].state == SIGNET_DMARC_ALIGNED;
		any_temp |= a->idents[k].state == SIGNET_DMARC_ALIGN_TEMPERROR;
	}
	a->result = any_aligned ? SIGNET_DMARC_PASS
		    : any_temp  ? SIGNET_DMARC_TEMPERROR
				: SIGNET_DMARC_FAIL;
	st = choose_policy(d, a, r, a->result == SIGNET_DMARC_FAIL);
	if (st == S_PENDING)
		return st;
	if (st != S_OK) {
		a->result = SIGNET_DMARC_TEMPERROR;
		say(a->reason, sizeof a->reason, "existence lookup for %s failed temporarily (np=)",
		    a->domain);
		return S_OK;
	}
	disposition(d, a, r);
	fill_result(d, a);
	return S_OK;
}

/* RFC 7489 6.6.1 (DMARC-FROM-02): with several author domains, the
 * strictest failing policy wins; then temperror, permerror, pass, none. */
static int rank(const struct author *a)
{
	switch (a->result) {
	case SIGNET_DMARC_FAIL: return 10 + (int)a->disposition;
	case SIGNET_DMARC_TEMPERROR: return 4;
	case SIGNET_DMARC_PERMERROR: return 3;
	case SIGNET_DMARC_PASS: return 2;
	case SIGNET_DMARC_NONE: return 1;
	}
	return 0;
}

static void run(struct signet_dmarc *d)
{
	if (d->done)
		return;
	bool pending = false;
	for (size_t k = 0; k < d->nauthors; k++) {
		struct author *a = &d->authors[k];
		a->rec_entry = NULL;
		a->have_org = false;
		a->discarded = false;
		pending |= evaluate(d, a) == S_PENDING;
	}
	if (pending)
		return;
	d->decided = 0;
	for (size_t k = 1; k < d->nauthors; k++)
		if (rank(&d->authors[k]) > rank(&d->authors[d->decided]))
			d->decided = k;
	d->done = true;
}

/* ---- the caller's side ------------------------------------------------------- */

/* Keeps the one DMARC record of a TXT answer (a copy, parsed); counts them
 * (RFC 9989 4.10 step 2). e is unchanged on SIGNET_ERR_NOMEM. */
static enum signet_status store_txt(const struct signet_dmarc *d, struct entry *e,
				    const struct signet_rr *rrs, size_t n, struct signet_error *err)
{
	const struct signet_rr *one = NULL;
	size_t count = 0;
	for (size_t k = 0; k < n; k++)
		if (signet_dmarc_is_record(rrs[k].p, rrs[k].len)) {
			count++;
			one = &rrs[k];
		}
	if (count == 1) {
		size_t len =
			one->len > SIGNET_DMARC_MAX_RECORD ? SIGNET_DMARC_MAX_RECORD + 1 : one->len;
		if ((e->text = malloc(len + 1)) == NULL)
			return error_set(err, SIGNET_ERR_NOMEM, NULL, "out of memory");
		memcpy(e->text, one->p, len);
		e->text[len] = '\0';
		SIGNET_TRY(signet_dmarc_record_parse((const uint8_t *)e->text, len, d->req.mode,
						     &e->rec, err));
	}
	e->ndmarc = count;
	return SIGNET_OK;
}

enum signet_status signet_dmarc_answer(struct signet_dmarc *d, unsigned id,
				       enum signet_dns_status status, const struct signet_rr *rrs,
				       size_t n, struct signet_error *err)
{
	if (d == NULL || (n > 0 && rrs == NULL))
		return error_set(err, SIGNET_ERR_INVAL, NULL, "signet_dmarc_answer: bad arguments");
	if (d->done)
		return SIGNET_OK;
	struct entry *e = NULL;
	for (size_t k = 0; k < d->nq && e == NULL; k++)
		if (d->q[k].id == id && d->q[k].issued && !d->q[k].answered)
			e = &d->q[k];
	if (e == NULL)
		return error_set(err, SIGNET_ERR_INVAL, NULL,
				 "signet_dmarc_answer: no open question %u", id);
	if (status == SIGNET_DNS_OK && e->type == SIGNET_DMARC_Q_TXT)
		SIGNET_TRY(store_txt(d, e, rrs, n, err));
	e->answered = true;
	e->st = status;
	run(d);
	return SIGNET_OK;
}

bool signet_dmarc_next_query(struct signet_dmarc *d, struct signet_dmarc_query *q)
{
	for (size_t k = 0; d != NULL && !d->done && k < d->nq; k++)
		if (!d->q[k].issued) {
			d->q[k].issued = true;
			q->id = d->q[k].id;
			q->name = d->q[k].name;
			q->type = d->q[k].type;
			return true;
		}
	return false;
}

bool signet_dmarc_done(const struct signet_dmarc *d)
{
	return d == NULL || d->done;
}

static const char *from_reason(enum signet_dmarc_from f)
{
	switch (f) {
	case SIGNET_DMARC_FROM_MISSING: return "no From field (RFC 5322 3.6)";
	case SIGNET_DMARC_FROM_SEVERAL_FIELDS:
		return "more than one From field (RFC 5322 3.6): no single author domain";
	case SIGNET_DMARC_FROM_UNPARSEABLE: return "no usable mailbox domain in From";
	case SIGNET_DMARC_FROM_SEVERAL_DOMAINS:
		return "From has mailboxes of different domains: not evaluated (RFC 9989 5.3.1)";
	case SIGNET_DMARC_FROM_TOO_MANY:
		return "From has more than SIGNET_DMARC_MAX_FROM_DOMAINS (8) mailboxes";
	case SIGNET_DMARC_FROM_OK: break;
	}
	return "";
}

const struct signet_dmarc_outcome *signet_dmarc_outcome(const struct signet_dmarc *d)
{
	if (d == NULL || !d->done)
		return NULL;
	struct signet_dmarc_outcome *o = (struct signet_dmarc_outcome *)&d->out;
	memset(o, 0, sizeof *o);
	o->from = d->from;
	o->queries = (unsigned)d->nq;
	if (d->from != SIGNET_DMARC_FROM_OK) {
		o->result = SIGNET_DMARC_NONE;
		o->reason = from_reason(d->from);
		return o;
	}
	const struct author *a = &d->authors[d->decided];
	o->result = a->result;
	o->author_domain = a->domain;
	o->reason = a->reason;
	o->org_domain = a->have_org ? a->org : NULL;
	if (a->rec_entry != NULL) {
		o->policy_domain = a->policy_domain;
		o->record = &a->rec_entry->rec;
	}
	if (a->result == SIGNET_DMARC_PASS || a->result == SIGNET_DMARC_FAIL) {
		o->applied = a->applied;
		o->policy = a->policy;
		o->disposition = a->disposition;
		o->override = a->override;
	}
	o->nidents = a->nidents;
	o->idents = a->nidents ? a->idents : NULL;
	return o;
}

/* ---- set-up ------------------------------------------------------------------ */

/* DMARC-ALIGN-03, DMARC9-IDN-01: names compare as lower-case A-labels
 * (RFC 9989 5.3.1: U-labels become A-labels, RFC 5890 2.3; lib/idna.c). */
static bool normalize(struct signet_span in, char out[NAME_CAP])
{
	char buf[IDNA_MAX_NAME];
	struct signet_error e;
	if (in.len > 0 && in.p[in.len - 1] == '.')
		in.len--; /* one final dot: the same name */
	if (idna_to_ascii(in, buf, sizeof buf, &e) != SIGNET_OK)
		return false;
	size_t len = strlen(buf);
	if (dnsname_check((const uint8_t *)buf, len, 0, NULL) != DNSNAME_OK)
		return false;
	for (size_t k = 0; k < len; k++)
		out[k] = (char)ascii_lower((uint8_t)buf[k]);
	out[len] = '\0';
	return true;
}

static enum signet_status add_ident(struct signet_dmarc *d, bool dkim, const char *domain,
				    const char *selector, struct signet_error *err)
{
	struct ident *id = &d->idents[d->nidents];
	if (domain == NULL || !normalize(span_from_str(domain), id->domain))
		return error_set(err, SIGNET_ERR_SYNTAX, "RFC 9989 4.4",
				 "%s identifier is not a domain name", dkim ? "DKIM d=" : "SPF");
	id->dkim = dkim;
	id->selector = NULL;
	if (selector != NULL && (id->selector = strdup(selector)) == NULL)
		return error_set(err, SIGNET_ERR_NOMEM, NULL, "out of memory");
	d->nidents++;
	return SIGNET_OK;
}

static enum signet_status idents_setup(struct signet_dmarc *d, const struct signet_dmarc_request *r,
				       struct signet_error *err)
{
	for (size_t k = 0; k < r->ndkim; k++)
		SIGNET_TRY(add_ident(d, true, r->dkim[k].domain, r->dkim[k].selector, err));
	/* DMARC9-SPF-01: only an SPF pass for the MAIL FROM identity counts
	 * (RFC 9989 4.4.2; with a null MAIL FROM that identity is the HELO name,
	 * RFC 7208 2.4). */
	if (r->spf_result == SIGNET_SPF_PASS && r->spf_domain != NULL && r->spf_domain[0] != '\0')
		SIGNET_TRY(add_ident(d, false, r->spf_domain, NULL, err));
	return SIGNET_OK;
}

/* DMARC-FROM-01/02, DMARC9-FROM-01 (RFC 9989 4.4, 5.3.1; RFC 7489 6.6.1). */
static enum signet_status authors_setup(struct signet_dmarc *d,
					const struct signet_dmarc_request *r,
					struct signet_error *err)
{
	if (r->nfrom == 0)
		return (d->from = SIGNET_DMARC_FROM_MISSING), SIGNET_OK;
	if (r->nfrom > 1)
		return (d->from = SIGNET_DMARC_FROM_SEVERAL_FIELDS), SIGNET_OK;
	struct signet_rfc5322_domain doms[SIGNET_DMARC_MAX_FROM_DOMAINS];
	size_t n = 0;
	struct signet_error perr;
	enum signet_status st = signet_rfc5322_from_domains(
		r->from[0], r->from_len[0], doms, SIGNET_DMARC_MAX_FROM_DOMAINS, &n, &perr);
	if (st == SIGNET_ERR_NOMEM || st == SIGNET_ERR_INVAL)
		return error_set(err, st, NULL, "From: %s", perr.msg);
	if (st != SIGNET_OK || n == 0)
		return (d->from = SIGNET_DMARC_FROM_UNPARSEABLE), SIGNET_OK;
	if (n > SIGNET_DMARC_MAX_FROM_DOMAINS)
		return (d->from = SIGNET_DMARC_FROM_TOO_MANY), SIGNET_OK;
	for (size_t k = 0; k < n; k++) {
		char dom[NAME_CAP];
		if (!normalize((struct signet_span){doms[k].p, doms[k].len}, dom))
			return (d->from = SIGNET_DMARC_FROM_UNPARSEABLE), SIGNET_OK;
		bool seen = false;
		for (size_t j = 0; j < d->nauthors && !seen; j++)
			seen = strcmp(d->authors[j].domain, dom) == 0;
		if (!seen)
			memcpy(d->authors[d->nauthors++].domain, dom, NAME_CAP);
	}
	if (d->nauthors > 1 && r->mode == SIGNET_DMARC_RFC9989 && !r->evaluate_each_from_domain)
		d->from = SIGNET_DMARC_FROM_SEVERAL_DOMAINS;
	return SIGNET_OK;
}

static bool request_ok(const struct signet_dmarc_request *r)
{
	if (r->mode != SIGNET_DMARC_RFC9989 && r->mode != SIGNET_DMARC_RFC7489)
		return false;
	if (r->mode == SIGNET_DMARC_RFC7489 && r->psl == NULL)
		return false;
	if (r->nfrom > 0 && (r->from == NULL || r->from_len == NULL || r->from[0] == NULL))
		return false;
	return r->ndkim == 0 || r->dkim != NULL;
}

enum signet_status signet_dmarc_new(const struct signet_dmarc_request *req,
				    struct signet_dmarc **out, struct signet_error *err)
{
	if (req == NULL || out == NULL || !request_ok(req))
		return error_set(err, SIGNET_ERR_INVAL, NULL,
				 "signet_dmarc_new: bad arguments (RFC 7489 mode needs a PSL)");
	*out = NULL;
	if (req->ndkim > SIGNET_DMARC_MAX_DKIM)
		return error_set(err, SIGNET_ERR_LIMIT, NULL,
				 "%zu DKIM identifiers: more than SIGNET_DMARC_MAX_DKIM (%d)",
				 req->ndkim, SIGNET_DMARC_MAX_DKIM);
	struct signet_dmarc *d = calloc(1, sizeof *d);
	if (d == NULL)
		return error_set(err, SIGNET_ERR_NOMEM, NULL, "out of memory");
	d->req = *req;
	d->req.from = NULL; /* not kept: read here only */
	d->req.from_len = NULL;
	d->req.dkim = NULL;
	d->req.spf_domain = NULL;
	enum signet_status st = idents_setup(d, req, err);
	if (st == SIGNET_OK)
		st = authors_setup(d, req, err);
	if (st != SIGNET_OK) {
		signet_dmarc_free(d);
		return st;
	}
	if (d->from != SIGNET_DMARC_FROM_OK)
		d->done = true;
	else
		run(d);
	*out = d;
	return SIGNET_OK;
}

void signet_dmarc_free(struct signet_dmarc *d)
{
	if (d == NULL)
		return;
	for (size_t k = 0; k < d->nq; k++)
		free(d->q[k].text);
	for (size_t k = 0; k < d->nidents; k++)
		free(d->idents[k].selector);
	free(d);
}
