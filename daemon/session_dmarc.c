/* session_dmarc.c: one message's DMARC in signetd (session_dmarc.h): the
 * From fields, a probe evaluation that fetches the author domain's policy
 * records while the message arrives, the answers kept per message, the
 * evaluation at end of message, and what its outcome means for the
 * message (reject, hold, mark, accept, defer). The DNS itself is the
 * caller's (session.c hands the lookups to server.c). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "log.h"
#include "session_dmarc.h"

/* One question, asked by the probe, the evaluation or both; its answer
 * kept (the TXT strings copied) for whoever asks it next. */
struct dm_lookup {
	char *name; /* owned */
	enum signet_dmarc_qtype type;
	bool handed_out, answered;
	bool probe_waits, eval_waits;
	unsigned probe_id, eval_id;
	enum signet_dns_status status;
	struct signet_rr *rrs; /* owned, with each p */
	size_t nrrs;
};

struct session_dmarc {
	enum signet_dmarc_mode mode;
	const struct signet_psl *psl;
	uint8_t *from[SESSION_DMARC_MAX_FROM]; /* owned copies */
	size_t from_len[SESSION_DMARC_MAX_FROM];
	size_t nfrom; /* From fields seen (only the first SESSION_DMARC_MAX_FROM kept) */
	struct signet_dmarc *probe, *eval;
	bool started;
	char problem[224]; /* "" or why there is no outcome */
	struct dm_lookup lookups[SESSION_DMARC_MAX_LOOKUPS];
	size_t n;
};

struct session_dmarc *session_dmarc_new(enum signet_dmarc_mode mode, const struct signet_psl *psl)
{
	struct session_dmarc *d = calloc(1, sizeof *d);
	if (d != NULL) {
		d->mode = mode;
		d->psl = psl;
	}
	return d;
}

static void lookup_free(struct dm_lookup *l)
{
	for (size_t k = 0; k < l->nrrs; k++)
		free((void *)l->rrs[k].p);
	free(l->rrs);
	free(l->name);
}

void session_dmarc_free(struct session_dmarc *d)
{
	if (d == NULL)
		return;
	for (size_t k = 0; k < d->n; k++)
		lookup_free(&d->lookups[k]);
	for (size_t k = 0; k < SESSION_DMARC_MAX_FROM; k++)
		free(d->from[k]);
	signet_dmarc_free(d->probe);
	signet_dmarc_free(d->eval);
	free(d);
}

/* ---- questions and kept answers ---- */

static struct dm_lookup *lookup_find(struct session_dmarc *d, const char *name,
				     enum signet_dmarc_qtype type)
{
	for (size_t k = 0; k < d->n; k++)
		if (d->lookups[k].type == type && strcasecmp(d->lookups[k].name, name) == 0)
			return &d->lookups[k];
	return NULL;
}

/* Gives evaluator e the answer kept in l (or status alone when l is NULL). */
static void deliver(struct session_dmarc *d, struct signet_dmarc *e, unsigned id,
		    const struct dm_lookup *l, enum signet_dns_status status)
{
	struct signet_error err = {0};
	if (signet_dmarc_answer(e, id, l ? l->status : status, l ? l->rrs : NULL, l ? l->nrrs : 0,
				&err) != SIGNET_OK) {
		log_msg(LOG_LVL_WARN, "DMARC answer not taken: %s", err.msg);
		if (e == d->eval)
			snprintf(d->problem, sizeof d->problem, "answer not taken: %s", err.msg);
	}
}

/* Evaluator e (the probe or the evaluation) asks q: answered now from a
 * kept answer, or noted on the lookup that will bring it (a new one if
 * nobody asked yet). Past SESSION_DMARC_MAX_LOOKUPS: a temporary failure. */
static void ask(struct session_dmarc *d, struct signet_dmarc *e, const struct signet_dmarc_query *q)
{
	bool is_eval = e == d->eval;
	struct dm_lookup *l = lookup_find(d, q->name, q->type);
	if (l == NULL && d->n < SESSION_DMARC_MAX_LOOKUPS) {
		l = &d->lookups[d->n];
		*l = (struct dm_lookup){.type = q->type, .name = strdup(q->name)};
		if (l->name == NULL)
			l = NULL;
		else
			d->n++;
	}
	if (l == NULL) {
		log_msg(LOG_LVL_DEBUG, "DMARC lookup %s not made: over SESSION_DMARC_MAX_LOOKUPS",
			q->name);
		deliver(d, e, q->id, NULL, SIGNET_DNS_TEMPFAIL);
	} else if (l->answered) {
		deliver(d, e, q->id, l, SIGNET_DNS_OK);
	} else if (is_eval) {
		l->eval_waits = true;
		l->eval_id = q->id;
	} else {
		l->probe_waits = true;
		l->probe_id = q->id;
	}
}

/* Takes e's questions until it has none now (an answer kept may bring
 * the next one at once). */
static void pull(struct session_dmarc *d, struct signet_dmarc *e)
{
	struct signet_dmarc_query q;
	while (e != NULL && !signet_dmarc_done(e) && signet_dmarc_next_query(e, &q))
		ask(d, e, &q);
}

static void request_base(const struct session_dmarc *d, struct signet_dmarc_request *req)
{
	size_t nkept = d->nfrom < SESSION_DMARC_MAX_FROM ? d->nfrom : SESSION_DMARC_MAX_FROM;
	*req = (struct signet_dmarc_request){
		.mode = d->mode,
		.psl = d->psl,
		.from = (const uint8_t *const *)d->from,
		.from_len = d->from_len,
		.nfrom = nkept,
		.spf_result = SIGNET_SPF_NONE,
		/* RFC 9989 5.3.1 lets a receiver go on with several From
		 * domains: the strictest failing policy is kept, so a second
		 * mailbox cannot take a spoofed domain out of DMARC. */
		.evaluate_each_from_domain = true,
	};
}

void session_dmarc_from(struct session_dmarc *d, const uint8_t *value, size_t len)
{
	size_t k = d->nfrom++;
	if (k >= SESSION_DMARC_MAX_FROM)
		return;
	d->from[k] = malloc(len ? len : 1);
	if (d->from[k] == NULL) {
		snprintf(d->problem, sizeof d->problem, "out of memory");
		return;
	}
	memcpy(d->from[k], value, len);
	d->from_len[k] = len;
	if (k != 0 || d->started)
		return;
	/* The probe: the From alone, so the author domain's policy discovery
	 * is asked now and overlaps the rest of the message. */
	struct signet_dmarc_request req;
	struct signet_error err = {0};
	request_base(d, &req);
	if (signet_dmarc_new(&req, &d->probe, &err) != SIGNET_OK) {
		log_msg(LOG_LVL_DEBUG, "DMARC policy not fetched early: %s", err.msg);
		d->probe = NULL;
		return;
	}
	pull(d, d->probe);
}

bool session_dmarc_next_lookup(struct session_dmarc *d, size_t *k, const char **name,
			       enum signet_rrtype *type)
{
	for (size_t j = 0; j < d->n && !session_dmarc_done(d); j++) {
		struct dm_lookup *l = &d->lookups[j];
		if (l->handed_out || l->answered)
			continue;
		l->handed_out = true;
		*k = j;
		*name = l->name;
		/* RFC 9989 np=: whether the author domain exists (RFC 8020:
		 * NXDOMAIN says it does not); an A question tells. */
		*type = l->type == SIGNET_DMARC_Q_EXISTS ? SIGNET_RR_A : SIGNET_RR_TXT;
		return true;
	}
	return false;
}

bool session_dmarc_lookup_wanted(const struct session_dmarc *d, size_t k)
{
	/* A probe's lookup stays wanted after the probe: the evaluation asks
	 * the same names, and a cancelled one would never be answered. */
	return k < d->n && !d->lookups[k].answered && !session_dmarc_done(d);
}

static bool keep_answer(struct dm_lookup *l, const struct dns_answer *a)
{
	l->status = a->status;
	if (a->status != SIGNET_DNS_OK || l->type != SIGNET_DMARC_Q_TXT || a->nrrs == 0)
		return true;
	l->rrs = calloc(a->nrrs, sizeof *l->rrs);
	if (l->rrs == NULL)
		return false;
	for (size_t k = 0; k < a->nrrs; k++) {
		uint8_t *p = malloc(a->rrs[k].len ? a->rrs[k].len : 1);
		if (p == NULL)
			return false;
		memcpy(p, a->rrs[k].p, a->rrs[k].len);
		l->rrs[l->nrrs++] = (struct signet_rr){.p = p, .len = a->rrs[k].len};
	}
	return true;
}

void session_dmarc_answer(struct session_dmarc *d, size_t k, const struct dns_answer *a)
{
	if (k >= d->n || d->lookups[k].answered)
		return;
	struct dm_lookup *l = &d->lookups[k];
	l->answered = true;
	if (a->status != SIGNET_DNS_OK)
		log_msg(LOG_LVL_DEBUG, "DMARC lookup %s: %s", l->name, a->why ? a->why : "");
	if (!keep_answer(l, a)) {
		/* What could not be kept is a temporary failure, never a
		 * shorter record set. */
		for (size_t j = 0; j < l->nrrs; j++)
			free((void *)l->rrs[j].p);
		free(l->rrs);
		l->rrs = NULL;
		l->nrrs = 0;
		l->status = SIGNET_DNS_TEMPFAIL;
	}
	if (l->probe_waits && d->probe != NULL && !signet_dmarc_done(d->probe)) {
		l->probe_waits = false;
		deliver(d, d->probe, l->probe_id, l, SIGNET_DNS_OK);
		pull(d, d->probe);
	}
	if (l->eval_waits && d->eval != NULL) {
		l->eval_waits = false;
		deliver(d, d->eval, l->eval_id, l, SIGNET_DNS_OK);
		pull(d, d->eval);
	}
}

void session_dmarc_evaluate(struct session_dmarc *d, const struct session_dmarc_inputs *in)
{
	if (d->started)
		return;
	d->started = true;
	if (d->problem[0] != '\0')
		return;
	struct signet_dmarc_request req;
	struct signet_error err = {0};
	request_base(d, &req);
	req.dkim = in->dkim;
	req.ndkim = in->ndkim;
	req.spf_result = in->spf_result;
	req.spf_domain = in->spf_domain;
	req.trusted_arc = in->trusted_arc;
	if (d->mode == SIGNET_DMARC_RFC7489 && d->psl == NULL) {
		snprintf(d->problem, sizeof d->problem,
			 "dmarc.discovery = \"psl\" and no public suffix list is loaded");
		return;
	}
	enum signet_status st = signet_dmarc_new(&req, &d->eval, &err);
	if (st == SIGNET_ERR_SYNTAX && req.spf_domain != NULL) {
		/* An SPF identifier the DMARC evaluator does not take as a
		 * domain name (the SPF evaluator gives none for such a MAIL
		 * FROM, so this is defence in depth) cannot align, and must
		 * not take the message out of DMARC: go on without it. */
		log_msg(LOG_LVL_DEBUG, "DMARC without the SPF identifier: %s", err.msg);
		req.spf_domain = NULL;
		req.spf_result = SIGNET_SPF_NONE;
		st = signet_dmarc_new(&req, &d->eval, &err);
	}
	if (st != SIGNET_OK) {
		d->eval = NULL;
		snprintf(d->problem, sizeof d->problem, "%s", err.msg);
		return;
	}
	pull(d, d->eval);
}

bool session_dmarc_started(const struct session_dmarc *d)
{
	return d->started;
}

bool session_dmarc_done(const struct session_dmarc *d)
{
	return d->started &&
	       (d->eval == NULL || d->problem[0] != '\0' || signet_dmarc_done(d->eval));
}

const struct signet_dmarc_outcome *session_dmarc_outcome(const struct session_dmarc *d)
{
	if (d->eval == NULL || d->problem[0] != '\0')
		return NULL;
	return signet_dmarc_outcome(d->eval);
}

const char *session_dmarc_problem(const struct session_dmarc *d)
{
	return d->problem[0] ? d->problem : NULL;
}

/* ---- decisions ---- */

struct session_dmarc_verdict session_dmarc_decide(const struct config_dmarc *cfg,
						  const struct signet_dmarc_outcome *o, bool local,
						  bool can_hold)
{
	typedef struct session_dmarc_verdict V;
	if (o == NULL)
		return (V){SESSION_DMARC_ACCEPT, "not evaluated"};
	if (local)
		return (V){SESSION_DMARC_ACCEPT, "local or authenticated mail: not enforced"};
	if (o->result == SIGNET_DMARC_TEMPERROR) {
		if (cfg->on_temperror == CONFIG_TEMPFAIL)
			return (V){SESSION_DMARC_TEMPFAIL,
				   "temperror, dmarc.on_temperror = tempfail"};
		return (V){SESSION_DMARC_ACCEPT, "temperror, dmarc.on_temperror = accept"};
	}
	if (o->result != SIGNET_DMARC_FAIL)
		return (V){SESSION_DMARC_ACCEPT, "no failure"};
	if (o->disposition == SIGNET_DMARC_POLICY_REJECT) {
		if (!cfg->enforce)
			return (V){SESSION_DMARC_ACCEPT,
				   "disposition reject, not enforced (dmarc.enforce = false)"};
		return (V){SESSION_DMARC_REJECT, "disposition reject (dmarc.enforce)"};
	}
	if (o->disposition == SIGNET_DMARC_POLICY_QUARANTINE) {
		if (cfg->quarantine != CONFIG_QUARANTINE_HOLD)
			return (V){SESSION_DMARC_QUARANTINE,
				   "disposition quarantine, marked (dmarc.quarantine = header)"};
		if (!cfg->enforce)
			return (V){SESSION_DMARC_QUARANTINE,
				   "disposition quarantine, marked (dmarc.enforce = false)"};
		if (!can_hold)
			return (V){SESSION_DMARC_QUARANTINE,
				   "disposition quarantine, marked (the MTA did not offer the "
				   "quarantine action)"};
		return (V){SESSION_DMARC_HOLD,
			   "disposition quarantine, held (dmarc.quarantine = hold)"};
	}
	return (V){SESSION_DMARC_ACCEPT,
		   o->override ? "disposition none by an override" : "disposition none"};
}

static const char *applied_tag(enum signet_dmarc_applied a)
{
	return a == SIGNET_DMARC_APPLIED_SP ? "sp" : a == SIGNET_DMARC_APPLIED_NP ? "np" : "p";
}

void session_dmarc_reject_text(const struct signet_dmarc_outcome *o, char *out, size_t cap)
{
	const char *pd = o->policy_domain ? o->policy_domain : "?";
	const char *author = o->author_domain ? o->author_domain : "?";
	if (strcmp(pd, author) == 0)
		snprintf(out, cap, "Rejected by the DMARC policy of %s (%s=reject)", pd,
			 applied_tag(o->applied));
	else
		snprintf(out, cap,
			 "Rejected by the DMARC policy of %s (%s=reject) for From domain %s", pd,
			 applied_tag(o->applied), author);
}

void session_dmarc_describe(const struct signet_dmarc_outcome *o, char *out, size_t cap)
{
	out[0] = '\0';
	if (o == NULL)
		return;
	const struct signet_dmarc_record *r = o->record;
	char pol[96] = "";
	if (r != NULL)
		snprintf(pol, sizeof pol, " (p=%s sp=%s dis=%s)", signet_dmarc_policy_name(r->p),
			 signet_dmarc_policy_name(r->sp ? r->sp : r->p),
			 signet_dmarc_policy_name(o->disposition));
	snprintf(out, cap, "dmarc=%s%s header.from=%s (%s%s%s)",
		 signet_dmarc_result_name(o->result), pol,
		 o->author_domain ? o->author_domain : "-", o->reason ? o->reason : "",
		 o->override ? "; override " : "",
		 o->override ? signet_dmarc_override_name(o->override) : "");
}

/* RFC 3463 X.4.3 (the caller's 4.4.3): a directory (DNS) server failure. */
void session_dmarc_tempfail_text(const struct signet_dmarc_outcome *o, char *out, size_t cap)
{
	snprintf(out, cap, "DMARC policy lookup for %s failed, try again later",
		 o->author_domain ? o->author_domain : "the From domain");
}

void session_dmarc_log_line(const struct session_dmarc *d, const struct session_dmarc_verdict *v,
			    char *out, size_t cap)
{
	char line[900];
	out[0] = '\0';
	if (d == NULL)
		return;
	const struct signet_dmarc_outcome *o = session_dmarc_outcome(d);
	if (o == NULL) {
		snprintf(out, cap, "; dmarc not evaluated: %s",
			 d->problem[0] ? d->problem : "no outcome");
		return;
	}
	session_dmarc_describe(o, line, sizeof line);
	snprintf(out, cap, "; %s: %s", line, v->why);
}

bool session_dmarc_metric(enum session_dmarc_action a, enum metrics_dmarc_action *out)
{
	switch (a) {
	case SESSION_DMARC_QUARANTINE: *out = METRICS_DMARC_QUARANTINE; return true;
	case SESSION_DMARC_HOLD: *out = METRICS_DMARC_HOLD; return true;
	case SESSION_DMARC_REJECT: *out = METRICS_DMARC_REJECT; return true;
	case SESSION_DMARC_TEMPFAIL: *out = METRICS_DMARC_TEMPFAIL; return true;
	case SESSION_DMARC_ACCEPT: break;
	}
	return false;
}

/* Equal as domain names: case-insensitive, a final dot on either ignored. */
static bool same_domain(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);
	la -= la > 0 && a[la - 1] == '.';
	lb -= lb > 0 && b[lb - 1] == '.';
	return la == lb && strncasecmp(a, b, la) == 0;
}

bool session_dmarc_arc_trusted(const struct config_dmarc *cfg, const struct signet_arc_result *arc,
			       const char *const *sealers, size_t nsealers, const char **why)
{
	const char *w = "no trusted_arc_sealers";
	bool ok = false;
	if (cfg->n_trusted_arc_sealers == 0)
		w = "no trusted_arc_sealers";
	else if (arc == NULL || arc->result != SIGNET_RESULT_PASS || arc->instances == 0)
		w = "no passing ARC chain";
	else if (sealers == NULL || nsealers != arc->instances)
		w = "ARC sealer domains not known";
	else {
		/* issue #16: every sealer of the chain must be trusted, not only
		 * the newest: an untrusted hop could have changed what the
		 * trusted ones vouch for. */
		ok = true;
		for (size_t i = 0; ok && i < nsealers; i++) {
			bool listed = false;
			for (size_t k = 0;
			     !listed && sealers[i] != NULL && k < cfg->n_trusted_arc_sealers; k++)
				listed = same_domain(sealers[i], cfg->trusted_arc_sealers[k]);
			ok = listed;
		}
		w = ok ? "every ARC sealer in trusted_arc_sealers"
		       : "an ARC sealer not in trusted_arc_sealers";
	}
	if (why != NULL)
		*why = w;
	return ok;
}
