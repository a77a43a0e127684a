/* health.c: the published key records against the private keys (health.h).
 * A round starts one TXT lookup per selector on a libevent loop and judges
 * each answer as it comes with libsignet's record check (signet_keyrec_check,
 * the same judgment as `signet dnscheck`), rendering its findings. The
 * periodic check runs on the server's main loop (it only waits on DNS). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#include <signet/key.h>
#include <signet/keyrec.h>

#include "health.h"
#include "log.h"
#include "metrics.h"
#include "runtime.h"

#define HEALTH_RECORD_MAX 2048 /* the record to publish (RSA-4096 fits) */
#define HEALTH_RETRY_OFF 60    /* seconds: with health_interval = 0, look again after a reload */

struct item {
	struct round *rd;
	const struct keystore_key *k;
	struct dns_query *q;
	char name[600];
	unsigned states; /* enum metrics_key_state bits judge() found */
};

struct round {
	struct item *items;
	size_t n, pending;
	struct diags d;
	void (*done)(struct round *rd);
	void *owner;
};

void health_dns_options(const struct signetd_config *cfg, struct dns_options *out)
{
	*out = (struct dns_options){
		.forwarders = (const char *const *)cfg->dns_forwarders,
		.nforwarders = cfg->n_dns_forwarders,
		.timeout_ms = (unsigned)(cfg->dns_timeout * 1000.0),
		.trust_anchor_file = cfg->dns_trust_anchor_file,
		.fresh = true,
	};
}

/* "publish NAME IN TXT "v=DKIM1; ..."" for messages. */
static void publish_fix(const struct keystore_key *k, const char *name, char *out, size_t cap)
{
	char rec[HEALTH_RECORD_MAX];
	size_t len;
	struct signet_error err = {0};
	if (signet_key_dns_record(k->key, rec, sizeof rec, &len, &err) != SIGNET_OK)
		snprintf(out, cap, "publish the public key of %s at %s (signet keygen prints it)",
			 k->path, name);
	else
		snprintf(out, cap, "publish %s. IN TXT \"%s\"", name, rec);
}

#define FINDING(d, lvl, k, name, what, ...)                                                        \
	diags_add(d, lvl, "DNS check: %s (domain %s, selector %s, key %s) " what, name,            \
		  (k)->domain, (k)->selector, (k)->path, __VA_ARGS__)

/* The metrics state a finding sets (metrics.h): a problem other than
 * revocation makes the record unusable, which is counted as a mismatch. */
static unsigned state_of(const struct signet_keyrec_finding *f)
{
	switch (f->code) {
	case SIGNET_KEYREC_REVOKED: return METRICS_KEY_REVOKED;
	case SIGNET_KEYREC_TESTING: return METRICS_KEY_TESTING;
	case SIGNET_KEYREC_RSA_SMALL: return METRICS_KEY_WEAK;
	case SIGNET_KEYREC_RSA_TOO_SMALL: return METRICS_KEY_WEAK | METRICS_KEY_MISMATCH;
	default: return f->severity == SIGNET_KEYREC_PROBLEM ? METRICS_KEY_MISMATCH : 0;
	}
}

static bool has_code(const struct signet_keyrec_report *r, enum signet_keyrec_code code)
{
	for (size_t k = 0; k < r->n; k++)
		if (r->f[k].code == code)
			return true;
	return false;
}

/* One finding of libsignet's record check, rendered: problems are errors,
 * warnings warnings, info is not logged. A problem's fix is the record
 * to publish (publish_fix), which says more than the generic one. */
static void render(struct diags *d, const struct keystore_key *k, const char *name,
		   const struct signet_keyrec_finding *f, const char *fix)
{
	if (f->severity == SIGNET_KEYREC_INFO)
		return;
	if (f->code == SIGNET_KEYREC_REVOKED)
		FINDING(d, DIAG_ERROR, k, name,
			"is revoked (empty p=); fix: %s, or remove the "
			"selector from dkim_signing",
			fix);
	else if (f->severity == SIGNET_KEYREC_PROBLEM && f->code != SIGNET_KEYREC_RSA_TOO_SMALL)
		FINDING(d, DIAG_ERROR, k, name, "is not usable: %s; fix: %s", f->msg, fix);
	else
		FINDING(d, f->severity == SIGNET_KEYREC_PROBLEM ? DIAG_ERROR : DIAG_WARNING, k,
			name, "%s; fix: %s", f->msg, f->fix);
}

/* One TXT record of a key that is looked at (signet_keyrec_check judges
 * it); *match when it holds the key's public half or is reported here. */
static void judge_record(struct diags *d, const struct keystore_key *k, const char *name,
			 const struct signet_txt *t, const char *fix, bool *match, unsigned *states)
{
	struct signet_keyrec_report rep;
	struct signet_error err = {0};
	*match = true; /* reported here: no mismatch on top */
	if (signet_keyrec_check(t->p, t->len, k->key, &rep, &err) != SIGNET_OK) {
		*states |= METRICS_KEY_LOOKUP_FAILED;
		FINDING(d, DIAG_WARNING, k, name, "could not be checked: %s; fix: %s", err.msg,
			"retry");
		return;
	}
	if (has_code(&rep, SIGNET_KEYREC_MISMATCH)) {
		*match = false; /* another key's record: judge() reports when none matches */
		return;
	}
	for (size_t i = 0; i < rep.n; i++) {
		*states |= state_of(&rep.f[i]);
		render(d, k, name, &rep.f[i], fix);
	}
}

/* One answer: missing, several records, none matching. */
static void judge(struct diags *d, const struct keystore_key *k, const char *name,
		  const struct dns_answer *a, unsigned *states)
{
	char fix[HEALTH_RECORD_MAX + 700];
	publish_fix(k, name, fix, sizeof fix);
	if (a->status == SIGNET_DNS_TEMPFAIL) {
		*states |= METRICS_KEY_LOOKUP_FAILED;
		FINDING(d, DIAG_WARNING, k, name, "could not be checked: %s; fix: %s",
			a->why ? a->why : "temporary DNS failure",
			"check dns.forwarders and retry");
		return;
	}
	if (a->status == SIGNET_DNS_NXDOMAIN || a->nrecords == 0) {
		*states |= METRICS_KEY_MISSING;
		FINDING(d, DIAG_ERROR, k, name, "has no key record (%s); fix: %s",
			a->why ? a->why : "no TXT record", fix);
		return;
	}
	if (a->nrecords > 1)
		*states |= METRICS_KEY_MULTIPLE;
	if (a->nrecords > 1)
		FINDING(d, DIAG_WARNING, k, name,
			"has %zu TXT records; verifiers may use any of "
			"them; fix: keep only %s",
			a->nrecords, "the one that matches the key");
	bool any = false;
	for (size_t i = 0; i < a->nrecords; i++) {
		bool match;
		judge_record(d, k, name, &a->records[i], fix, &match, states);
		any |= match;
	}
	if (!any)
		*states |= METRICS_KEY_MISMATCH;
	if (!any)
		FINDING(d, DIAG_ERROR, k, name,
			"does not match the private key; fix: %s (or "
			"configure the key file that record was made from)",
			fix);
}

static void on_answer(void *arg, const struct dns_answer *a)
{
	struct item *it = arg;
	struct round *rd = it->rd;
	it->q = NULL;
	judge(&rd->d, it->k, it->name, a, &it->states);
	if ((it->states & (METRICS_KEY_MISSING | METRICS_KEY_MISMATCH | METRICS_KEY_REVOKED |
			   METRICS_KEY_LOOKUP_FAILED)) == 0)
		it->states |= METRICS_KEY_OK;
	if (--rd->pending == 0)
		rd->done(rd);
}

static void round_free(struct round *rd)
{
	if (rd == NULL)
		return;
	for (size_t k = 0; k < rd->n; k++)
		dns_cancel(rd->items[k].q);
	free(rd->items);
	diags_free(&rd->d);
	free(rd);
}

/* Starts the lookups; rd->done runs when every answer is in (at once,
 * later, when there is nothing to look up). NULL on out of memory. */
static struct round *round_start(struct dns_resolver *r, const struct keystore *ks,
				 void (*done)(struct round *), void *owner)
{
	struct round *rd = calloc(1, sizeof *rd);
	size_t n = keystore_count(ks);
	if (rd == NULL || (n > 0 && (rd->items = calloc(n, sizeof *rd->items)) == NULL)) {
		free(rd);
		return NULL;
	}
	diags_init(&rd->d);
	rd->done = done;
	rd->owner = owner;
	for (size_t k = 0; k < n; k++) {
		const struct keystore_key *key = keystore_at(ks, k);
		if (strcmp(key->domain, "*") == 0)
			continue; /* a fallback key for any domain: no one name to check */
		struct item *it = &rd->items[rd->n++];
		it->rd = rd;
		it->k = key;
		snprintf(it->name, sizeof it->name, "%s._domainkey.%s", key->selector, key->domain);
		rd->pending++;
		it->q = dns_lookup_txt(r, it->name, on_answer, it);
		if (it->q == NULL) {
			diags_add(&rd->d, DIAG_WARNING,
				  "DNS check: %s could not be looked up (out of "
				  "memory)",
				  it->name);
			rd->pending--;
		}
	}
	return rd;
}

/* ---- once (signetd -t --check-dns) -------------------------------------- */

static void once_done(struct round *rd)
{
	event_base_loopexit(rd->owner, NULL);
}

bool health_check_once(const struct signetd_config *cfg, const struct keystore *ks, struct diags *d,
		       size_t *nchecked, char *err, size_t errlen)
{
	struct dns_options o;
	health_dns_options(cfg, &o);
	struct event_base *base = event_base_new();
	struct dns_resolver *r = base ? dns_resolver_new(base, &o, err, errlen) : NULL;
	struct round *rd = r ? round_start(r, ks, once_done, base) : NULL;
	bool ok = rd != NULL;
	if (base == NULL || (r != NULL && rd == NULL))
		snprintf(err, errlen, "out of memory");
	if (ok && rd->pending > 0)
		event_base_dispatch(base);
	if (ok) {
		*nchecked = rd->n;
		for (size_t k = 0; k < rd->d.n; k++)
			diags_add(d, rd->d.v[k].level, "%s", rd->d.v[k].msg);
	}
	round_free(rd);
	dns_resolver_free(r);
	if (base)
		event_base_free(base);
	return ok;
}

/* ---- periodic (the running daemon) -------------------------------------- */

struct health {
	struct event_base *base;
	struct dns_resolver *dns;
	struct event *timer;
	health_runtime_fn get;
	void *arg;
	struct runtime *rt; /* held while a round runs: the keys it looks at */
	struct round *rd;
};

static void arm(struct health *h, double seconds)
{
	struct timeval tv = {(time_t)seconds,
			     (suseconds_t)((seconds - (double)(time_t)seconds) * 1e6)};
	if (evtimer_add(h->timer, &tv) != 0)
		log_msg(LOG_LVL_ERR, "DNS check: cannot arm the timer; periodic checks stop");
}

/* signetd_key_health: this round's states replace the last round's. */
static void publish_states(const struct round *rd)
{
	struct metrics_key_health *v = rd->n ? calloc(rd->n, sizeof *v) : NULL;
	enum signet_status st = rd->n > 0 && v == NULL ? SIGNET_ERR_NOMEM : SIGNET_OK;
	for (size_t k = 0; v != NULL && k < rd->n; k++)
		v[k] = (struct metrics_key_health){rd->items[k].k->domain, rd->items[k].k->selector,
						   rd->items[k].states};
	if (st == SIGNET_OK)
		st = metrics_key_health_set(metrics_process(), v, rd->n);
	if (st != SIGNET_OK)
		log_msg(LOG_LVL_WARN, "DNS check: out of memory; key health metrics not updated");
	free(v);
}

static void periodic_done(struct round *rd)
{
	struct health *h = rd->owner;
	publish_states(rd);
	for (size_t k = 0; k < rd->d.n; k++)
		log_msg(LOG_LVL_WARN, "%s", rd->d.v[k].msg);
	if (rd->d.n == 0 && rd->n == 1)
		log_msg(LOG_LVL_INFO, "DNS check: the key record of 1 selector matches its key");
	else if (rd->d.n == 0)
		log_msg(LOG_LVL_INFO,
			"DNS check: the key records of %zu selectors match their keys", rd->n);
	double next = h->rt->cfg->dns_health_interval;
	runtime_unref(h->rt);
	h->rt = NULL;
	h->rd = NULL;
	round_free(rd);
	arm(h, next > 0 ? next : HEALTH_RETRY_OFF);
}

static void on_timer(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	struct health *h = arg;
	h->rt = h->get(h->arg);
	if (h->rt == NULL || h->rt->cfg->dns_health_interval <= 0) {
		runtime_unref(h->rt);
		h->rt = NULL;
		arm(h, HEALTH_RETRY_OFF);
		return;
	}
	h->rd = round_start(h->dns, h->rt->keys, periodic_done, h);
	if (h->rd == NULL) {
		log_msg(LOG_LVL_ERR, "DNS check: out of memory");
		double next = h->rt->cfg->dns_health_interval;
		runtime_unref(h->rt);
		h->rt = NULL;
		arm(h, next);
	} else if (h->rd->pending == 0) {
		periodic_done(h->rd);
	}
}

struct health *health_new(struct event_base *base, const struct dns_options *dns,
			  health_runtime_fn get, void *arg, char *err, size_t errlen)
{
	struct health *h = calloc(1, sizeof *h);
	if (h == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	h->base = base;
	h->get = get;
	h->arg = arg;
	h->dns = dns_resolver_new(base, dns, err, errlen);
	h->timer = h->dns ? evtimer_new(base, on_timer, h) : NULL;
	if (h->timer == NULL) {
		if (h->dns != NULL)
			snprintf(err, errlen, "out of memory");
		health_free(h);
		return NULL;
	}
	arm(h, 0);
	return h;
}

void health_free(struct health *h)
{
	if (h == NULL)
		return;
	round_free(h->rd);
	runtime_unref(h->rt);
	if (h->timer)
		event_free(h->timer);
	dns_resolver_free(h->dns);
	free(h);
}
