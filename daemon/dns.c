/* dns.c: libunbound lookups (TXT, and A/AAAA/MX/PTR for SPF) on a libevent loop (dns.h). libunbound
 * resolves in a thread of its own and signals ub_fd(); the loop calls
 * ub_process() and our callback runs on the loop thread. Our own timer per
 * lookup bounds the wait (libunbound has no per-query timeout). A lookup we
 * stop waiting for stays counted until libunbound is done with it, and a
 * context holding too many of them is replaced and deleted (dns.h). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <event2/event.h>
#include <unbound.h>

#include "clock.h"
#include "dns.h"
#include "dnscache.h"
#include "log.h"
#include "txt.h"

#define DNS_MAX_RECORDS 16    /* TXT RRs looked at per name */
#define DNS_NAME_TEXT_MAX 253 /* RFC 1035 2.3.4 (255 octets on the wire), as text */
#define DNS_NAME_BUF (DNS_NAME_TEXT_MAX + 1)
#define DNS_CLASS_IN 1
#define MALFORMED_RDATA "malformed TXT RDATA" /* what the verifier gets instead */

enum qstate {
	Q_NEW,       /* its start timer has not fired yet */
	Q_WAITING,   /* DNS_MAX_INFLIGHT reached: waits for a slot, its timeout running */
	Q_RUNNING,   /* in libunbound; the caller waits for it */
	Q_ABANDONED, /* in libunbound; nobody waits (timed out or cancelled) */
};

struct qlist {
	struct dns_query *head;
	size_t n;
};

/* One libunbound context: its own thread, mesh, caches and sockets. */
struct dns_ctx {
	struct dns_resolver *r;
	struct dns_ctx *next;
	struct ub_ctx *ub;
	struct event *ev;       /* ub_fd() readable */
	struct qlist running;   /* Q_RUNNING */
	struct qlist abandoned; /* Q_ABANDONED: freed with the context at the latest */
	bool retired;           /* no new lookups; deleted once running is empty */
};

struct dns_query {
	struct dns_resolver *r;
	struct dns_ctx *c;  /* Q_RUNNING, Q_ABANDONED */
	struct qlist *list; /* the list it is in */
	struct dns_query *prev, *next;
	struct event *timer;
	int async_id;
	enum qstate state;
	dns_txt_cb cb;
	void *arg;
	enum signet_rrtype type;
	uint64_t t0_us; /* clock_us() when asked: dns_answer.elapsed_ms */
	char name[600];
};

struct dns_resolver {
	struct event_base *base;
	struct dns_ctx *cur;  /* new lookups go here; then the retired ones */
	struct dns_ctx *ctxs; /* all contexts, cur among them */
	unsigned nctx;
	struct dnscache *cache; /* NULL: none */
	struct event *ev_pump;  /* deferred work: reap retired contexts, start waiting lookups */
	struct qlist starting;  /* Q_NEW */
	struct qlist waiting;   /* Q_WAITING, oldest first */
	size_t inflight;        /* Q_RUNNING + Q_ABANDONED over all contexts */
	unsigned timeout_ms;
	char **forwarders; /* owned copies: a context may be made after a reload */
	size_t nforwarders;
	char *trust_anchor_file;
	bool fresh; /* dns_options.fresh */
};

/* The TTL libunbound gives the answer (seconds it may still be kept). */
static uint32_t answer_ttl(const struct ub_result *res)
{
	return res->ttl > 0 ? (uint32_t)res->ttl : 0;
}

/* ---- query lists (unordered except waiting: appended at the tail) ---- */

static void ql_append(struct qlist *l, struct dns_query *q)
{
	q->list = l;
	q->next = NULL;
	q->prev = NULL;
	if (l->head == NULL) {
		l->head = q;
	} else {
		struct dns_query *t = l->head->prev; /* head->prev is the tail */
		t->next = q;
		q->prev = t;
	}
	l->head->prev = q;
	l->n++;
}

static void ql_remove(struct dns_query *q)
{
	struct qlist *l = q->list;
	if (l == NULL)
		return;
	if (q == l->head)
		l->head = q->next;
	else
		q->prev->next = q->next;
	if (q->next != NULL)
		q->next->prev = q->prev;
	else if (l->head != NULL)
		l->head->prev = q->prev; /* q was the tail */
	q->prev = q->next = NULL;
	q->list = NULL;
	l->n--;
}

static void free_query(struct dns_query *q)
{
	ql_remove(q);
	if (q->timer)
		event_free(q->timer);
	free(q);
}

/* Reaping and starting wait for the loop: never inside ub_process() of the
 * context being deleted, never inside a caller's call. */
static void pump_later(struct dns_resolver *r)
{
	event_active(r->ev_pump, EV_TIMEOUT, 0);
}

/* libsignet's joiner (base/txt.c), the one the CLI uses too. */
bool dns_txt_rdata_join(const unsigned char *rdata, size_t rdlen, unsigned char *out, size_t cap,
			size_t *len)
{
	return txt_join(rdata, rdlen, out, cap, len, NULL, NULL) == SIGNET_OK;
}

/* The query is done with: out of its list and libunbound's count, freed.
 * Its callback (none once abandoned) is the caller's to run. */
static void finish(struct dns_query *q)
{
	struct dns_resolver *r = q->r;
	if (q->state == Q_RUNNING || q->state == Q_ABANDONED) {
		r->inflight--;
		pump_later(r); /* a slot for a waiting lookup; maybe a context to reap */
	}
	free_query(q);
}

static void deliver(struct dns_query *q, const struct dns_answer *a)
{
	dns_txt_cb cb = q->cb;
	void *arg = q->arg;
	finish(q);
	if (cb != NULL)
		cb(arg, a);
}

static void deliver_status(struct dns_query *q, enum signet_dns_status st, const char *why)
{
	struct dns_answer a = {.status = st, .why = why, .elapsed_ms = clock_ms_since(q->t0_us)};
	deliver(q, &a);
}

bool dns_name_decode(const unsigned char *wire, size_t len, char *out, size_t cap)
{
	size_t pos = 0, n = 0;
	if (cap == 0)
		return false;
	for (;;) {
		if (pos >= len)
			return false; /* no root label */
		size_t lab = wire[pos++];
		if (lab == 0)
			break;
		/* RFC 1035 4.1.4: 11xxxxxx is a pointer, 01/10 other label types;
		 * libunbound hands names uncompressed. */
		if (lab > 63 || lab > len - pos)
			return false;
		if (n + (n > 0) + lab > DNS_NAME_TEXT_MAX || n + (n > 0) + lab >= cap)
			return false;
		if (n > 0)
			out[n++] = '.';
		for (size_t k = 0; k < lab; k++) {
			unsigned char c = wire[pos + k];
			if (c <= 0x20 || c >= 0x7f || c == '.')
				return false;
			out[n++] = (char)c;
		}
		pos += lab;
	}
	if (pos != len)
		return false; /* bytes after the name */
	out[n] = '\0';
	return true;
}

bool dns_rr_decode(enum signet_rrtype type, const unsigned char *rdata, size_t rdlen, char *out,
		   size_t cap, struct signet_rr *rr)
{
	*rr = (struct signet_rr){0};
	switch (type) {
	case SIGNET_RR_A:
	case SIGNET_RR_AAAA:
		if (rdlen != (type == SIGNET_RR_A ? 4u : 16u))
			return false;
		rr->p = rdata;
		rr->len = rdlen;
		return true;
	case SIGNET_RR_MX: /* RFC 1035 3.3.9: PREFERENCE (16 bits), EXCHANGE */
		if (rdlen < 3 || !dns_name_decode(rdata + 2, rdlen - 2, out, cap))
			return false;
		rr->pref = (uint16_t)(rdata[0] << 8 | rdata[1]);
		break;
	case SIGNET_RR_PTR: /* RFC 1035 3.3.12: PTRDNAME */
		if (!dns_name_decode(rdata, rdlen, out, cap))
			return false;
		break;
	case SIGNET_RR_TXT: {
		size_t len = 0;
		if (!dns_txt_rdata_join(rdata, rdlen, (unsigned char *)out, cap, &len) || len > cap)
			return false;
		rr->p = (const uint8_t *)out;
		rr->len = len;
		return true;
	}
	default: return false;
	}
	rr->p = (const uint8_t *)out;
	rr->len = strlen(out);
	return true;
}

/* NXDOMAIN and NODATA are kept for their (negative) TTL, at most
 * DNS_CACHE_NEG_TTL; a temporary failure is never kept. The cache is keyed
 * by name: only TXT answers go in. */
static void cache_negative(struct dns_query *q, const struct ub_result *res, const char *why)
{
	if (q->r->cache != NULL && q->type == SIGNET_RR_TXT)
		(void)dnscache_put(q->r->cache, q->name, SIGNET_DNS_NXDOMAIN, why, NULL, 0,
				   res->secure != 0, answer_ttl(res), clock_ms());
}

/* RFC 6376 6.1.2: NXDOMAIN and "no TXT" are permanent; SERVFAIL, timeout,
 * DNSSEC bogus are temporary. An abandoned lookup's answer (it came after
 * the timeout) still goes to the cache: the message's retry finds it. */
static void deliver_txt(struct dns_query *q, struct ub_result *res);
static void deliver_typed(struct dns_query *q, struct ub_result *res);

static void deliver_result(struct dns_query *q, struct ub_result *res)
{
	char why[160];
	if (res->bogus) {
		snprintf(why, sizeof why, "DNSSEC validation failed: %s",
			 res->why_bogus ? res->why_bogus : "bogus");
		deliver_status(q, SIGNET_DNS_TEMPFAIL, why);
		return;
	}
	if (res->nxdomain) {
		cache_negative(q, res, "NXDOMAIN");
		deliver_status(q, SIGNET_DNS_NXDOMAIN, "NXDOMAIN");
		return;
	}
	if (res->rcode != 0) {
		snprintf(why, sizeof why, "DNS rcode %d%s", res->rcode,
			 res->rcode == 2 ? " (SERVFAIL)" : "");
		deliver_status(q, SIGNET_DNS_TEMPFAIL, why);
		return;
	}
	if (!res->havedata) {
		snprintf(why, sizeof why, "no %s record (NODATA)", signet_rrtype_name(q->type));
		cache_negative(q, res, why);
		deliver_status(q, SIGNET_DNS_NXDOMAIN, why);
		return;
	}
	if (q->type == SIGNET_RR_TXT)
		deliver_txt(q, res);
	else
		deliver_typed(q, res);
}

/* A/AAAA point into libunbound's answer; MX and PTR names are decoded into
 * one buffer. RDATA that does not decode is left out (dns.h). */
static void deliver_typed(struct dns_query *q, struct ub_result *res)
{
	struct signet_rr rrs[DNS_MAX_RRS];
	size_t n = 0;
	char *names = NULL;
	bool named = q->type == SIGNET_RR_MX || q->type == SIGNET_RR_PTR;
	if (named && (names = malloc((size_t)DNS_MAX_RRS * DNS_NAME_BUF)) == NULL) {
		deliver_status(q, SIGNET_DNS_TEMPFAIL, "out of memory");
		return;
	}
	for (size_t k = 0; res->data[k] != NULL && n < DNS_MAX_RRS; k++) {
		char *out = named ? names + n * DNS_NAME_BUF : NULL;
		if (dns_rr_decode(q->type, (const unsigned char *)res->data[k], (size_t)res->len[k],
				  out, named ? DNS_NAME_BUF : 0, &rrs[n]))
			n++;
	}
	struct dns_answer a = {.status = SIGNET_DNS_OK,
			       .rrs = rrs,
			       .nrrs = n,
			       .secure = res->secure != 0,
			       .elapsed_ms = clock_ms_since(q->t0_us)};
	deliver(q, &a);
	free(names);
}

/* The TXT records (joined) as records[] and as rrs[]. */
static void deliver_txt(struct dns_query *q, struct ub_result *res)
{
	struct signet_txt recs[DNS_MAX_RECORDS];
	struct signet_rr rrs[DNS_MAX_RECORDS];
	unsigned char *bufs[DNS_MAX_RECORDS] = {0};
	size_t n = 0;
	bool complete = true; /* false: out of memory, do not cache what we have */
	for (size_t k = 0; res->data[k] != NULL && n < DNS_MAX_RECORDS; k++) {
		size_t rdlen = (size_t)res->len[k], len = 0;
		/* Room for the RR's bytes or the malformed-RDATA text, whichever
		 * is longer (a 1-byte RDATA can be malformed). */
		bufs[n] = malloc(rdlen + sizeof MALFORMED_RDATA);
		if (bufs[n] == NULL) {
			complete = false;
			break;
		}
		if (!dns_txt_rdata_join((const unsigned char *)res->data[k], rdlen, bufs[n], rdlen,
					&len)) {
			/* Malformed RDATA: give the verifier an unusable record so it says why. */
			memcpy(bufs[n], MALFORMED_RDATA, sizeof MALFORMED_RDATA - 1);
			len = sizeof MALFORMED_RDATA - 1;
		}
		recs[n].p = bufs[n];
		recs[n].len = len;
		rrs[n] = (struct signet_rr){.p = bufs[n], .len = len};
		n++;
	}
	if (q->r->cache != NULL && n > 0 && complete)
		(void)dnscache_put(q->r->cache, q->name, SIGNET_DNS_OK, NULL, recs, n,
				   res->secure != 0, answer_ttl(res), clock_ms());
	struct dns_answer a = {.status = SIGNET_DNS_OK,
			       .records = recs,
			       .nrecords = n,
			       .rrs = rrs,
			       .nrrs = n,
			       .secure = res->secure != 0,
			       .ttl = answer_ttl(res),
			       .elapsed_ms = clock_ms_since(q->t0_us)};
	deliver(q, &a);
	for (size_t k = 0; k < n; k++)
		free(bufs[k]);
}

static void ub_callback(void *arg, int err, struct ub_result *res)
{
	struct dns_query *q = arg;
	if (err != 0) {
		char why[160];
		snprintf(why, sizeof why, "resolver error: %s", ub_strerror(err));
		deliver_status(q, SIGNET_DNS_TEMPFAIL, why);
	} else {
		deliver_result(q, res);
	}
	ub_resolve_free(res);
}

static void on_ub_fd(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	struct dns_ctx *c = arg;
	(void)ub_process(c->ub);
}

/* ---- libunbound contexts ---- */

static int set_option(struct ub_ctx *ctx, const char *opt, unsigned long val, const char **what)
{
	char v[24];
	snprintf(v, sizeof v, "%lu", val);
	*what = opt;
	return ub_ctx_set_option(ctx, opt, v);
}

/* Issue #19. libunbound's library default gives a context 16 UDP ports
 * (outgoing-range); a lookup without a free port waits in a queue, and
 * lookups we stopped waiting for keep their port. With more ports than
 * DNS_MAX_INFLIGHT lookups (abandoned ones counted) a lookup never waits
 * for one. */
static int tune(struct ub_ctx *ctx, const char **what)
{
	return set_option(ctx, "outgoing-range:", DNS_UB_PORTS, what);
}

static bool configure(struct dns_resolver *r, struct ub_ctx *ctx, char *err, size_t errlen)
{
	int rc = 0;
	const char *what = "";
	if (r->nforwarders == 0) {
		what = "/etc/resolv.conf";
		rc = ub_ctx_resolvconf(ctx, NULL);
	}
	for (size_t k = 0; rc == 0 && k < r->nforwarders; k++) {
		what = r->forwarders[k];
		rc = ub_ctx_set_fwd(ctx, r->forwarders[k]);
	}
	if (rc == 0 && r->trust_anchor_file != NULL) {
		what = r->trust_anchor_file;
		rc = ub_ctx_add_ta_file(ctx, r->trust_anchor_file);
	}
	if (rc == 0)
		rc = tune(ctx, &what);
	if (rc == 0 && r->fresh)
		rc = set_option(ctx, "cache-max-ttl:", 1, &what);
	if (rc == 0 && r->fresh)
		rc = set_option(ctx, "cache-max-negative-ttl:", 1, &what);
	if (rc == 0) {
		what = "threads";
		rc = ub_ctx_async(ctx, 1);
	}
	if (rc != 0)
		snprintf(err, errlen, "DNS resolver setup (%s): %s", what, ub_strerror(rc));
	return rc == 0;
}

static struct dns_ctx *ctx_new(struct dns_resolver *r, char *err, size_t errlen)
{
	struct dns_ctx *c = calloc(1, sizeof *c);
	if (c == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	c->r = r;
	c->ub = ub_ctx_create();
	if (c->ub == NULL) {
		snprintf(err, errlen, "cannot create the libunbound context");
		free(c);
		return NULL;
	}
	if (!configure(r, c->ub, err, errlen)) {
		ub_ctx_delete(c->ub);
		free(c);
		return NULL;
	}
	c->ev = event_new(r->base, ub_fd(c->ub), EV_READ | EV_PERSIST, on_ub_fd, c);
	if (c->ev == NULL || event_add(c->ev, NULL) != 0) {
		snprintf(err, errlen, "cannot watch the resolver's descriptor: %s",
			 strerror(errno));
		if (c->ev)
			event_free(c->ev);
		ub_ctx_delete(c->ub);
		free(c);
		return NULL;
	}
	c->next = r->ctxs;
	r->ctxs = c;
	r->nctx++;
	return c;
}

/* Deleting the context is the one way to stop its queries: libunbound's
 * thread exits and takes the abandoned lookups with it. Lookups still
 * running here (only at dns_resolver_free) get no callback. */
static void ctx_free(struct dns_resolver *r, struct dns_ctx *c)
{
	struct dns_ctx **link = &r->ctxs;
	while (*link != c)
		link = &(*link)->next;
	*link = c->next;
	r->nctx--;
	event_free(c->ev);
	ub_ctx_delete(c->ub);
	struct qlist *lists[] = {&c->running, &c->abandoned};
	for (size_t k = 0; k < 2; k++) {
		while (lists[k]->head != NULL) {
			r->inflight--;
			free_query(lists[k]->head);
		}
	}
	free(c);
}

/* DNS_MAX_ABANDONED lookups nobody waits for are running in the current
 * context: new lookups go to a fresh one, and this one is deleted (with
 * them) once the lookups still waited for are done or timed out, within
 * dns.timeout. Without room for another context (DNS_MAX_CONTEXTS) they
 * stay, counted in DNS_MAX_INFLIGHT, until libunbound gives up on them. */
static void maybe_retire(struct dns_resolver *r, struct dns_ctx *c)
{
	if (c != r->cur || c->abandoned.n < DNS_MAX_ABANDONED || r->nctx >= DNS_MAX_CONTEXTS)
		return;
	char err[160];
	struct dns_ctx *fresh = ctx_new(r, err, sizeof err);
	if (fresh == NULL) {
		log_msg(LOG_LVL_WARN, "DNS: cannot start a fresh resolver context: %s", err);
		return;
	}
	c->retired = true;
	r->cur = fresh;
	log_msg(LOG_LVL_INFO,
		"DNS: %zu lookups timed out or cancelled are still running in libunbound "
		"(DNS_MAX_ABANDONED %d): new lookups use a fresh resolver context, the old "
		"one is deleted once its %zu pending lookups are done",
		c->abandoned.n, DNS_MAX_ABANDONED, c->running.n);
	pump_later(r);
}

/* The caller stops waiting; libunbound goes on (ub_cancel cannot stop a
 * query of a threaded context), so the query stays counted until its answer
 * comes or its context is deleted. */
static void abandon(struct dns_query *q)
{
	ql_remove(q);
	ql_append(&q->c->abandoned, q);
	q->state = Q_ABANDONED;
	q->cb = NULL;
	q->arg = NULL;
	if (q->timer) {
		event_free(q->timer);
		q->timer = NULL;
	}
	maybe_retire(q->r, q->c);
	pump_later(q->r); /* its retired context may be done with */
}

static void on_timeout(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	struct dns_query *q = arg;
	char why[128];
	if (q->state == Q_WAITING) {
		snprintf(why, sizeof why,
			 "timeout after %u ms (not started: DNS_MAX_INFLIGHT %d lookups running)",
			 q->r->timeout_ms, DNS_MAX_INFLIGHT);
		deliver_status(q, SIGNET_DNS_TEMPFAIL, why);
		return;
	}
	snprintf(why, sizeof why, "timeout after %u ms", q->r->timeout_ms);
	struct dns_answer a = {
		.status = SIGNET_DNS_TEMPFAIL, .why = why, .elapsed_ms = clock_ms_since(q->t0_us)};
	dns_txt_cb cb = q->cb;
	void *cbarg = q->arg;
	abandon(q);
	cb(cbarg, &a);
}

static void start_running(struct dns_query *q)
{
	struct dns_resolver *r = q->r;
	struct dns_ctx *c = r->cur;
	int rc = ub_resolve_async(c->ub, q->name, (int)q->type, DNS_CLASS_IN, q, ub_callback,
				  &q->async_id);
	if (rc != 0) {
		char why[160];
		snprintf(why, sizeof why, "resolver error: %s", ub_strerror(rc));
		deliver_status(q, SIGNET_DNS_TEMPFAIL, why);
		return;
	}
	q->state = Q_RUNNING;
	q->c = c;
	ql_append(&c->running, q);
	r->inflight++;
}

static void on_pump(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	struct dns_resolver *r = arg;
	for (struct dns_ctx *c = r->ctxs, *next; c != NULL; c = next) {
		next = c->next;
		if (c->retired && c->running.n == 0)
			ctx_free(r, c);
	}
	while (r->waiting.head != NULL && r->inflight < DNS_MAX_INFLIGHT) {
		struct dns_query *q = r->waiting.head;
		ql_remove(q);
		start_running(q);
	}
}

/* A cached answer, if there is one: delivered (from the start timer, so
 * still not from inside dns_lookup_txt). */
static bool deliver_cached(struct dns_query *q)
{
	struct dnscache_answer c; /* about 8.5 KiB: loop threads have default stacks */
	if (q->r->cache == NULL || q->type != SIGNET_RR_TXT ||
	    !dnscache_get(q->r->cache, q->name, clock_ms(), &c))
		return false;
	struct signet_rr rrs[DNS_MAX_RECORDS];
	size_t n = c.nrecords < DNS_MAX_RECORDS ? c.nrecords : DNS_MAX_RECORDS;
	for (size_t k = 0; k < n; k++)
		rrs[k] = (struct signet_rr){.p = c.records[k].p, .len = c.records[k].len};
	struct dns_answer a = {.status = c.status,
			       .records = c.records,
			       .nrecords = c.nrecords,
			       .rrs = rrs,
			       .nrrs = n,
			       .keys = c.keys,
			       .secure = c.secure,
			       .why = c.why[0] ? c.why : NULL,
			       .elapsed_ms = clock_ms_since(q->t0_us)};
	deliver(q, &a);
	signet_keyset_unref(c.keys); /* a verifier that took it holds its own */
	return true;
}

/* Starting from a zero-delay timer keeps the "never called back from inside
 * dns_lookup_txt" promise even when ub_resolve_async fails at once, or the
 * answer is in the cache. The timeout runs from here, waiting included. */
static void on_start(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	struct dns_query *q = arg;
	struct dns_resolver *r = q->r;
	ql_remove(q);
	if (deliver_cached(q))
		return;
	event_free(q->timer);
	q->timer = evtimer_new(r->base, on_timeout, q);
	struct timeval tv = {r->timeout_ms / 1000, (r->timeout_ms % 1000) * 1000};
	if (q->timer == NULL || evtimer_add(q->timer, &tv) != 0) {
		deliver_status(q, SIGNET_DNS_TEMPFAIL, "cannot arm lookup timer");
		return;
	}
	if (r->inflight >= DNS_MAX_INFLIGHT || r->waiting.head != NULL) {
		q->state = Q_WAITING;
		ql_append(&r->waiting, q);
		return;
	}
	start_running(q);
}

struct dns_query *dns_lookup_txt(struct dns_resolver *r, const char *name, dns_txt_cb cb, void *arg)
{
	return dns_lookup(r, name, SIGNET_RR_TXT, cb, arg);
}

struct dns_query *dns_lookup(struct dns_resolver *r, const char *name, enum signet_rrtype type,
			     dns_txt_cb cb, void *arg)
{
	struct dns_query *q = calloc(1, sizeof *q);
	if (q == NULL)
		return NULL;
	size_t n = strlen(name);
	if (n >= sizeof q->name) {
		free(q);
		return NULL;
	}
	memcpy(q->name, name, n + 1);
	q->r = r;
	q->cb = cb;
	q->arg = arg;
	q->type = type;
	q->state = Q_NEW;
	q->t0_us = clock_us();
	q->timer = evtimer_new(r->base, on_start, q);
	struct timeval zero = {0, 0};
	if (q->timer == NULL || evtimer_add(q->timer, &zero) != 0) {
		free_query(q);
		return NULL;
	}
	ql_append(&r->starting, q);
	return q;
}

void dns_cancel(struct dns_query *q)
{
	if (q == NULL)
		return;
	if (q->state == Q_RUNNING)
		abandon(q);
	else
		free_query(q);
}

static bool copy_options(struct dns_resolver *r, const struct dns_options *o)
{
	r->fresh = o->fresh;
	if (o->nforwarders > 0) {
		r->forwarders = calloc(o->nforwarders, sizeof *r->forwarders);
		if (r->forwarders == NULL)
			return false;
	}
	for (; r->nforwarders < o->nforwarders; r->nforwarders++) {
		r->forwarders[r->nforwarders] = strdup(o->forwarders[r->nforwarders]);
		if (r->forwarders[r->nforwarders] == NULL)
			return false;
	}
	if (o->trust_anchor_file != NULL) {
		r->trust_anchor_file = strdup(o->trust_anchor_file);
		if (r->trust_anchor_file == NULL)
			return false;
	}
	return true;
}

struct dns_resolver *dns_resolver_new(struct event_base *base, const struct dns_options *opts,
				      char *err, size_t errlen)
{
	struct dns_resolver *r = calloc(1, sizeof *r);
	if (r == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	r->base = base;
	r->timeout_ms = opts->timeout_ms ? opts->timeout_ms : 5000;
	if (!copy_options(r, opts)) {
		snprintf(err, errlen, "out of memory");
		dns_resolver_free(r);
		return NULL;
	}
	if (opts->cache_entries > 0) {
		struct dnscache_limits lim = {.entries = opts->cache_entries,
					      .bytes = DNS_CACHE_BYTES,
					      .max_ttl = opts->cache_max_ttl ? opts->cache_max_ttl
									     : DNS_CACHE_MAX_TTL,
					      .neg_ttl = DNS_CACHE_NEG_TTL};
		r->cache = dnscache_new(&lim);
		if (r->cache == NULL) {
			snprintf(err, errlen, "out of memory (DNS answer cache)");
			dns_resolver_free(r);
			return NULL;
		}
	}
	r->ev_pump = event_new(base, -1, 0, on_pump, r);
	if (r->ev_pump == NULL) {
		snprintf(err, errlen, "cannot create an event");
		dns_resolver_free(r);
		return NULL;
	}
	r->cur = ctx_new(r, err, errlen);
	if (r->cur == NULL) {
		dns_resolver_free(r);
		return NULL;
	}
	return r;
}

void dns_resolver_free(struct dns_resolver *r)
{
	if (r == NULL)
		return;
	while (r->starting.head != NULL)
		free_query(r->starting.head);
	while (r->waiting.head != NULL)
		free_query(r->waiting.head);
	while (r->ctxs != NULL)
		ctx_free(r, r->ctxs);
	if (r->ev_pump)
		event_free(r->ev_pump);
	dnscache_free(r->cache);
	for (size_t k = 0; k < r->nforwarders; k++)
		free(r->forwarders[k]);
	free(r->forwarders);
	free(r->trust_anchor_file);
	free(r);
}
