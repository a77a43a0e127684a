/* evaluate.c: runs DKIM, SPF, DMARC and ARC on one message for `signet
 * verify` and `signet arc seal` (see evaluate.h). One pass over the
 * message feeds the DKIM verifier and the ARC validator and keeps the From
 * fields; key queries are answered at the end of the header, SPF and DMARC
 * after the body (DMARC needs the DKIM and SPF results). Questions are
 * answered one at a time from the ZONEFILE or the resolver. */
#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <signet/ar.h>
#include <signet/message.h>
#include <signet/psl.h>

#include "error.h" /* SIGNET_TRY, error_set (base/) */
#include "evaluate.h"

#define EVAL_MAX_KEY_RECORDS 16 /* TXT records handed on per key name (as verify's) */

/* ---- DNS ------------------------------------------------------------ */

/* A DKIM or ARC key: TXT at name (NODATA is "no key", RFC 6376 6.1.2).
 * *a is filled in DNS mode (the caller frees it); txt points into it or
 * into the zone. */
static bool key_lookup(const struct eval_dns *d, const char *name, struct signet_txt *txt,
		       size_t *n, enum signet_dns_status *st, struct dns_answer *a)
{
	a->rr = NULL;
	a->n = 0;
	if (d->zone != NULL) {
		*st = keysfile_lookup(d->zone, name, txt, EVAL_MAX_KEY_RECORDS, n);
		if (*n > EVAL_MAX_KEY_RECORDS)
			*n = EVAL_MAX_KEY_RECORDS;
		return true;
	}
	if (!dns_txt(d->r, name, a))
		return false;
	for (*n = 0; *n < a->n && *n < EVAL_MAX_KEY_RECORDS; (*n)++)
		txt[*n] = (struct signet_txt){a->rr[*n].data, a->rr[*n].len};
	*st = a->status;
	return true;
}

/* Records of type at name into rr (up to EVAL_MAX_ANSWER). */
static bool rr_lookup(const struct eval_dns *d, const char *name, enum signet_rrtype type,
		      struct signet_rr *rr, size_t *n, enum signet_dns_status *st,
		      struct dns_answer *a)
{
	a->rr = NULL;
	a->n = 0;
	a->why[0] = '\0';
	if (d->zone != NULL) {
		*st = zonefile_lookup(d->zone, name, type, rr, EVAL_MAX_ANSWER, n);
		if (*n > EVAL_MAX_ANSWER)
			*n = EVAL_MAX_ANSWER;
		return true;
	}
	if (!dns_query(d->r, name, dns_query_type(type), a))
		return false;
	for (*n = 0; *n < a->n && *n < EVAL_MAX_ANSWER; (*n)++)
		rr[*n] = (struct signet_rr){a->rr[*n].data, a->rr[*n].len, a->rr[*n].pref};
	*st = a->n == 0 ? a->status : SIGNET_DNS_OK;
	return true;
}

/* ---- DKIM and ARC: the message pass ---------------------------------- */

static bool name_is(const uint8_t *name, size_t nlen, const char *want)
{
	size_t wl = strlen(want);

	while (nlen > 0 && (name[nlen - 1] == ' ' || name[nlen - 1] == '\t'))
		nlen--;
	return nlen == wl && strncasecmp((const char *)name, want, wl) == 0;
}

/* The field is bounded by the message parser (SIGNET_MAX_HEADER_FIELD). */
static enum signet_status keep_from(struct evaluation *ev, const uint8_t *value, size_t vlen,
				    struct signet_error *err)
{
	size_t k = ev->nfrom++;

	if (k >= EVAL_MAX_FROM_FIELDS)
		return SIGNET_OK; /* counted: several From fields already */
	if ((ev->from[k] = malloc(vlen + 1)) == NULL)
		return error_set(err, SIGNET_ERR_NOMEM, NULL, "out of memory");
	memcpy(ev->from[k], value, vlen);
	ev->from[k][vlen] = '\0';
	ev->from_len[k] = vlen;
	return SIGNET_OK;
}

/* The value of tag in a tag-list (display only: --explain's ARC sets). */
static void tag_copy(const uint8_t *v, size_t len, const char *tag, char *out, size_t cap)
{
	size_t tl = strlen(tag), k = 0;

	out[0] = '\0';
	while (k < len) {
		while (k < len && (v[k] == ' ' || v[k] == '\t' || v[k] == '\r' || v[k] == '\n'))
			k++;
		size_t start = k;
		while (k < len && v[k] != ';')
			k++;
		size_t end = k++, t = start;
		while (t < end && v[t] != '=' && v[t] != ' ' && v[t] != '\t')
			t++;
		if (t - start != tl || strncasecmp((const char *)v + start, tag, tl) != 0)
			continue;
		while (t < end && v[t] != '=')
			t++;
		size_t o = 0;
		for (t++; t < end && o + 1 < cap; t++)
			if (v[t] != ' ' && v[t] != '\t' && v[t] != '\r' && v[t] != '\n')
				out[o++] = (char)v[t];
		out[o] = '\0';
		return;
	}
}

static void keep_arc_seal(struct evaluation *ev, const uint8_t *value, size_t vlen)
{
	char inst[16];

	if (ev->nsets >= SIGNET_ARC_MAX_INSTANCES)
		return;
	struct eval_arc_set *s = &ev->sets[ev->nsets++];
	tag_copy(value, vlen, "i", inst, sizeof inst);
	s->i = (unsigned)strtoul(inst, NULL, 10);
	tag_copy(value, vlen, "d", s->d, sizeof s->d);
	tag_copy(value, vlen, "s", s->s, sizeof s->s);
	tag_copy(value, vlen, "cv", s->cv, sizeof s->cv);
}

static enum signet_status on_header(void *ctx, const uint8_t *name, size_t nlen,
				    const uint8_t *value, size_t vlen, struct signet_error *err)
{
	struct evaluation *ev = ctx;

	SIGNET_TRY(signet_verifier_header(ev->v, name, nlen, value, vlen, err));
	if (ev->arc != NULL)
		SIGNET_TRY(signet_arc_header(ev->arc, name, nlen, value, vlen, err));
	if (value != NULL && ev->o.dmarc && name_is(name, nlen, "from"))
		SIGNET_TRY(keep_from(ev, value, vlen, err));
	if (value != NULL && ev->arc != NULL && name_is(name, nlen, "arc-seal"))
		keep_arc_seal(ev, value, vlen);
	return SIGNET_OK;
}

static enum signet_status answer_keys(struct evaluation *ev, bool arc, struct signet_error *err)
{
	struct signet_txt txt[EVAL_MAX_KEY_RECORDS];
	struct signet_query q;
	struct dns_answer a;
	enum signet_dns_status st;
	enum signet_status rc;
	size_t n;

	while (arc ? signet_arc_next_query(ev->arc, &q) : signet_verifier_next_query(ev->v, &q)) {
		if (!key_lookup(&ev->dns, q.name, txt, &n, &st, &a))
			return SIGNET_ERR_NOMEM;
		rc = arc ? signet_arc_answer(ev->arc, q.id, st, txt, n, err)
			 : signet_verifier_answer(ev->v, q.id, st, txt, n, err);
		if (ev->dns.zone == NULL)
			dns_answer_free(&a);
		if (rc != SIGNET_OK)
			return rc;
	}
	return SIGNET_OK;
}

static enum signet_status on_eoh(void *ctx, struct signet_error *err)
{
	struct evaluation *ev = ctx;

	SIGNET_TRY(signet_verifier_end_of_headers(ev->v, err));
	SIGNET_TRY(answer_keys(ev, false, err));
	if (ev->arc == NULL)
		return SIGNET_OK;
	SIGNET_TRY(signet_arc_end_of_headers(ev->arc, err));
	return answer_keys(ev, true, err);
}

static enum signet_status on_body(void *ctx, const uint8_t *p, size_t len, struct signet_error *err)
{
	struct evaluation *ev = ctx;

	SIGNET_TRY(signet_verifier_body(ev->v, p, len, err));
	if (ev->arc != NULL)
		SIGNET_TRY(signet_arc_body(ev->arc, p, len, err));
	return SIGNET_OK;
}

/* ---- options -------------------------------------------------------- */

void eval_options_init(struct eval_opts *o)
{
	memset(o, 0, sizeof *o);
	o->vo.now = (uint64_t)time(NULL);
	/* The daemon's default (verify.l_policy): unsigned content after l= is
	 * the l= attack (RFC 6376 8.2). */
	o->vo.l_policy = SIGNET_L_POLICY_UNSIGNED;
	o->mode = SIGNET_DMARC_RFC9989;
	o->psl_file = SIGNET_PSL_DEFAULT_FILE; /* DKIM-VER-17, as signetd's default */
}

bool eval_options_load_psl(struct eval_opts *o, struct signet_psl **psl)
{
	*psl = psl_load(o->psl_file);
	o->vo.psl = o->psl = *psl;
	o->pct_draw = arc4random_uniform(100); /* RFC 7489 6.6.4 */
	if (o->mode == SIGNET_DMARC_RFC7489 && *psl == NULL) {
		cli_err("--rfc7489 needs the public suffix list (--psl FILE)");
		return false;
	}
	return true;
}

/* ---- the message ---------------------------------------------------- */

bool eval_start(struct evaluation *ev, const struct eval_opts *o, const struct eval_dns *dns)
{
	static const struct signet_message_handler h = {on_header, on_eoh, on_body};
	struct signet_arc_options ao = {o->vo.now};
	struct signet_error err = {0};

	memset(ev, 0, sizeof *ev);
	ev->o = *o;
	ev->dns = *dns;
	if (signet_verifier_new(&ev->o.vo, &ev->v, &err) != SIGNET_OK ||
	    (o->arc && signet_arc_new(&ao, &ev->arc, &err) != SIGNET_OK) ||
	    signet_message_new(&h, ev, &ev->m, &err) != SIGNET_OK) {
		cli_err("cannot verify: %s", err.msg);
		return false;
	}
	return true;
}

bool eval_feed(struct evaluation *ev, const uint8_t *p, size_t len)
{
	struct signet_error err = {0};

	if (signet_message_feed(ev->m, p, len, &err) == SIGNET_OK)
		return true;
	cli_err("cannot verify: %s", err.msg[0] ? err.msg : "out of memory or DNS failure");
	return false;
}

/* ---- SPF ------------------------------------------------------------ */

static bool spf_answer(struct evaluation *ev, struct signet_spf *s,
		       const struct signet_spf_query *q)
{
	static struct signet_rr rr[EVAL_MAX_ANSWER];
	struct signet_error err = {0};
	enum signet_dns_status st;
	struct dns_answer a;
	size_t n;

	if (!rr_lookup(&ev->dns, q->name, q->type, rr, &n, &st, &a))
		return false;
	enum signet_status rc = signet_spf_answer(s, q->id, st, rr, n, &err);
	if (ev->dns.zone == NULL)
		dns_answer_free(&a);
	if (rc != SIGNET_OK)
		cli_err("spf: %s", err.msg);
	return rc == SIGNET_OK;
}

static bool spf_run(struct evaluation *ev, enum signet_spf_identity id, struct signet_spf **out)
{
	struct signet_spf_request req = {0};
	struct signet_error err = {0};

	req.ipv6 = strchr(ev->o.ip, ':') != NULL;
	if (inet_pton(req.ipv6 ? AF_INET6 : AF_INET, ev->o.ip, req.ip) != 1) {
		cli_err("--ip '%s' is not an IPv4 or IPv6 address", ev->o.ip);
		return false;
	}
	req.mail_from = ev->o.mail_from;
	req.helo = ev->o.helo;
	req.identity = id;
	req.now = ev->o.vo.now;
	req.trace = ev->o.spf_trace;
	if (signet_spf_new(&req, out, &err) != SIGNET_OK) {
		cli_err("spf: %s", err.msg);
		return false;
	}
	while (!signet_spf_done(*out)) {
		struct signet_spf_query q;
		bool asked = false;

		/* One at a time here; signetd asks them in parallel. */
		while (signet_spf_next_query(*out, &q)) {
			asked = true;
			if (!spf_answer(ev, *out, &q))
				return false;
		}
		if (!asked && !signet_spf_done(*out)) {
			cli_err("spf: the evaluator waits for an answer it did not ask for");
			return false;
		}
	}
	return true;
}

/* ---- DMARC ---------------------------------------------------------- */

static struct eval_dmarc_query *dq_log(struct evaluation *ev, const struct signet_dmarc_query *q)
{
	if (ev->ndq >= SIGNET_DMARC_MAX_QUERIES)
		return NULL;
	struct eval_dmarc_query *l = &ev->dq[ev->ndq++];
	snprintf(l->name, sizeof l->name, "%s", q->name);
	l->type = q->type;
	return l;
}

/* Existence (RFC 8020): any answer but NXDOMAIN means the name exists. In
 * DNS mode, dns.c reports NODATA as NXDOMAIN with n = 0; its why text
 * tells them apart. */
static enum signet_dns_status exists_lookup(struct evaluation *ev, const char *name)
{
	static struct signet_rr rr[EVAL_MAX_ANSWER];
	enum signet_dns_status st;
	struct dns_answer a;
	size_t n;

	if (!rr_lookup(&ev->dns, name, SIGNET_RR_A, rr, &n, &st, &a))
		return SIGNET_DNS_TEMPFAIL;
	if (ev->dns.zone == NULL) {
		if (st == SIGNET_DNS_NXDOMAIN && strstr(a.why, "(NXDOMAIN)") == NULL)
			st = SIGNET_DNS_OK;
		dns_answer_free(&a);
	}
	return st;
}

static bool dmarc_answer(struct evaluation *ev, const struct signet_dmarc_query *q)
{
	static struct signet_rr rr[EVAL_MAX_ANSWER];
	struct eval_dmarc_query *l = dq_log(ev, q);
	struct signet_error err = {0};
	enum signet_dns_status st;
	struct dns_answer a = {0};
	size_t n = 0;

	if (q->type == SIGNET_DMARC_Q_EXISTS)
		st = exists_lookup(ev, q->name);
	else if (!rr_lookup(&ev->dns, q->name, SIGNET_RR_TXT, rr, &n, &st, &a))
		return false;
	if (l != NULL) {
		l->status = st;
		l->n = n;
		if (n > 0) {
			size_t len = rr[0].len < sizeof l->txt - 1 ? rr[0].len : sizeof l->txt - 1;
			memcpy(l->txt, rr[0].p, len);
			l->txt[len] = '\0';
			l->cut = len < rr[0].len;
		}
	}
	enum signet_status rc = signet_dmarc_answer(ev->dmarc, q->id, st, rr, n, &err);
	if (ev->dns.zone == NULL)
		dns_answer_free(&a);
	if (rc != SIGNET_OK)
		cli_err("dmarc: %s", err.msg);
	return rc == SIGNET_OK;
}

/* The passing DKIM identifiers DMARC may align (RFC 9989 4.4). */
static size_t passing_dkim(const struct evaluation *ev, struct signet_dmarc_dkim *out)
{
	size_t n = signet_verifier_count(ev->v), k = 0;

	for (size_t i = 0; i < n && k < SIGNET_DMARC_MAX_DKIM; i++) {
		const struct signet_sig_result *r = signet_verifier_result(ev->v, i);
		if (r->result == SIGNET_RESULT_PASS && r->d != NULL)
			out[k++] = (struct signet_dmarc_dkim){r->d, r->s};
	}
	return k;
}

static bool dmarc_run(struct evaluation *ev)
{
	struct signet_dmarc_dkim dkim[SIGNET_DMARC_MAX_DKIM];
	const uint8_t *from[EVAL_MAX_FROM_FIELDS];
	struct signet_dmarc_request req = {0};
	struct signet_error err = {0};
	const struct signet_spf_outcome *spf = eval_spf(ev, false);

	for (size_t k = 0; k < ev->nfrom && k < EVAL_MAX_FROM_FIELDS; k++)
		from[k] = ev->from[k];
	req.mode = ev->o.mode;
	req.psl = ev->o.psl;
	req.from = from;
	req.from_len = ev->from_len;
	req.nfrom = ev->nfrom < EVAL_MAX_FROM_FIELDS ? ev->nfrom : EVAL_MAX_FROM_FIELDS;
	req.dkim = dkim;
	req.ndkim = passing_dkim(ev, dkim);
	if (spf != NULL) {
		req.spf_result = spf->result;
		req.spf_domain = spf->domain;
	}
	req.pct_draw = ev->o.pct_draw;
	if (signet_dmarc_new(&req, &ev->dmarc, &err) != SIGNET_OK) {
		/* A DKIM or SPF domain that is not a domain name: no DMARC
		 * result, said in the output rather than a failed command. */
		snprintf(ev->dmarc_error, sizeof ev->dmarc_error, "%s", err.msg);
		signet_dmarc_free(ev->dmarc);
		ev->dmarc = NULL;
		return err.code != SIGNET_ERR_NOMEM;
	}
	while (!signet_dmarc_done(ev->dmarc)) {
		struct signet_dmarc_query q;
		bool asked = false;

		while (signet_dmarc_next_query(ev->dmarc, &q)) {
			asked = true;
			if (!dmarc_answer(ev, &q))
				return false;
		}
		if (!asked && !signet_dmarc_done(ev->dmarc)) {
			cli_err("dmarc: the evaluator waits for an answer it did not ask for");
			return false;
		}
	}
	return true;
}

bool eval_finish(struct evaluation *ev)
{
	struct signet_error err = {0};

	if (signet_message_finish(ev->m, &err) != SIGNET_OK ||
	    signet_verifier_finish(ev->v, &err) != SIGNET_OK ||
	    (ev->arc != NULL && signet_arc_finish(ev->arc, &err) != SIGNET_OK)) {
		cli_err("cannot verify: %s", err.msg);
		return false;
	}
	if (ev->o.ip != NULL && ev->o.mail_from != NULL &&
	    !spf_run(ev, SIGNET_SPF_MAILFROM, &ev->spf_mfrom))
		return false;
	if (ev->o.ip != NULL && ev->o.helo != NULL && !spf_run(ev, SIGNET_SPF_HELO, &ev->spf_helo))
		return false;
	return !ev->o.dmarc || dmarc_run(ev);
}

void eval_free(struct evaluation *ev)
{
	signet_message_free(ev->m);
	signet_verifier_free(ev->v);
	signet_arc_free(ev->arc);
	signet_spf_free(ev->spf_mfrom);
	signet_spf_free(ev->spf_helo);
	signet_dmarc_free(ev->dmarc);
	for (size_t k = 0; k < ev->nfrom && k < EVAL_MAX_FROM_FIELDS; k++)
		free(ev->from[k]);
	memset(ev, 0, sizeof *ev);
}

const struct signet_spf_outcome *eval_spf(const struct evaluation *ev, bool helo)
{
	const struct signet_spf *s = helo ? ev->spf_helo : ev->spf_mfrom;

	return s != NULL ? signet_spf_outcome(s) : NULL;
}

const struct signet_dmarc_outcome *eval_dmarc(const struct evaluation *ev)
{
	return ev->dmarc != NULL ? signet_dmarc_outcome(ev->dmarc) : NULL;
}

const struct signet_arc_result *eval_arc(const struct evaluation *ev)
{
	return ev->arc != NULL ? signet_arc_result(ev->arc) : NULL;
}

/* ---- Authentication-Results ------------------------------------------ */

static void ar_spf(const struct signet_spf_outcome *o, struct signet_ar_spf *out)
{
	out->result = o->result;
	out->identity = o->identity;
	out->value = o->identity == SIGNET_SPF_HELO ? o->domain : o->sender;
	out->reason = o->result == SIGNET_SPF_PASS ? NULL : o->reason;
}

bool eval_format_ar(const struct evaluation *ev, const char *authserv_id, char *out, size_t cap)
{
	const struct signet_sig_result *res[SIGNET_MAX_SIGNATURES];
	struct signet_ar_spf spf[2];
	struct signet_ar_results r = {res, 0, spf, 0, NULL, NULL};
	struct signet_error err = {0};
	size_t len;

	r.ndkim = signet_verifier_count(ev->v);
	for (size_t i = 0; i < r.ndkim && i < SIGNET_MAX_SIGNATURES; i++)
		res[i] = signet_verifier_result(ev->v, i);
	if (eval_spf(ev, false) != NULL)
		ar_spf(eval_spf(ev, false), &spf[r.nspf++]);
	if (eval_spf(ev, true) != NULL)
		ar_spf(eval_spf(ev, true), &spf[r.nspf++]);
	struct signet_ar_arc arc = {eval_arc(ev), ev->o.ip};
	struct signet_ar_dmarc dmarc = {eval_dmarc(ev), NULL};
	if (arc.result != NULL)
		r.arc = &arc;
	if (dmarc.outcome != NULL)
		r.dmarc = &dmarc;
	if (signet_ar_format_results(authserv_id, &r, out, cap, &len, &err) != SIGNET_OK) {
		cli_err("cannot format Authentication-Results: %s", err.msg);
		return false;
	}
	return true;
}
