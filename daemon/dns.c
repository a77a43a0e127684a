/* dns.c: libunbound TXT lookups on a libevent loop (dns.h). libunbound
 * resolves in a thread of its own and signals ub_fd(); the loop calls
 * ub_process() and our callback runs on the loop thread. Our own timer per
 * lookup bounds the wait (libunbound has no per-query timeout). */
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

#define DNS_MAX_RECORDS 16     /* TXT RRs looked at per name */
#define DNS_TYPE_TXT 16
#define DNS_CLASS_IN 1
#define MALFORMED_RDATA "malformed TXT RDATA" /* what the verifier gets instead */

struct dns_query {
	struct dns_resolver *r;
	struct dns_query *prev, *next;
	struct event *timer;
	int async_id;
	bool started;
	dns_txt_cb cb;
	void *arg;
	uint64_t t0_us; /* clock_us() when asked: dns_answer.elapsed_ms */
	char name[600];
};

struct dns_resolver {
	struct ub_ctx *ctx;
	struct dnscache *cache; /* NULL: none */
	struct event *ev;
	struct dns_query *pending;
	unsigned timeout_ms;
};


/* The TTL libunbound gives the answer (seconds it may still be kept). */
static uint32_t answer_ttl(const struct ub_result *res)
{
	return res->ttl > 0 ? (uint32_t)res->ttl : 0;
}


static void unlink_query(struct dns_query *q)
{
	struct dns_resolver *r = q->r;
	if (q->prev)
		q->prev->next = q->next;
	else
		r->pending = q->next;
	if (q->next)
		q->next->prev = q->prev;
	q->prev = q->next = NULL;
}

static void free_query(struct dns_query *q)
{
	if (q->timer)
		event_free(q->timer);
	free(q);
}

bool dns_txt_rdata_join(const unsigned char *rdata, size_t rdlen, unsigned char *out, size_t cap,
			size_t *len)
{
	size_t off = 0, n = 0;
	while (off < rdlen) {
		size_t sl = rdata[off++];
		if (sl > rdlen - off)
			return false;
		if (sl > cap - n)
			return false;
		memcpy(out + n, rdata + off, sl);
		n += sl;
		off += sl;
	}
	*len = n;
	return true;
}

static void deliver(struct dns_query *q, const struct dns_answer *a)
{
	unlink_query(q);
	dns_txt_cb cb = q->cb;
	void *arg = q->arg;
	free_query(q);
	cb(arg, a);
}

static void deliver_status(struct dns_query *q, enum signet_dns_status st, const char *why)
{
	struct dns_answer a = {.status = st, .why = why, .elapsed_ms = clock_ms_since(q->t0_us)};
	deliver(q, &a);
}

/* NXDOMAIN and NODATA are kept for their (negative) TTL, at most
 * DNS_CACHE_NEG_TTL; a temporary failure is never kept. */
static void cache_negative(struct dns_query *q, const struct ub_result *res, const char *why)
{
	if (q->r->cache != NULL)
		(void)dnscache_put(q->r->cache, q->name, SIGNET_DNS_NXDOMAIN, why, NULL, 0,
				   res->secure != 0, answer_ttl(res), clock_ms());
}

/* RFC 6376 6.1.2: NXDOMAIN and "no TXT" are permanent; SERVFAIL, timeout,
 * DNSSEC bogus are temporary. */
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
		snprintf(why, sizeof why, "DNS rcode %d%s", res->rcode, res->rcode == 2 ? " (SERVFAIL)" : "");
		deliver_status(q, SIGNET_DNS_TEMPFAIL, why);
		return;
	}
	if (!res->havedata) {
		cache_negative(q, res, "no TXT record (NODATA)");
		deliver_status(q, SIGNET_DNS_NXDOMAIN, "no TXT record (NODATA)");
		return;
	}
	struct signet_txt recs[DNS_MAX_RECORDS];
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
		if (!dns_txt_rdata_join((const unsigned char *)res->data[k], rdlen, bufs[n], rdlen, &len)) {
			/* Malformed RDATA: give the verifier an unusable record so it says why. */
			memcpy(bufs[n], MALFORMED_RDATA, sizeof MALFORMED_RDATA - 1);
			len = sizeof MALFORMED_RDATA - 1;
		}
		recs[n].p = bufs[n];
		recs[n].len = len;
		n++;
	}
	if (q->r->cache != NULL && n > 0 && complete)
		(void)dnscache_put(q->r->cache, q->name, SIGNET_DNS_OK, NULL, recs, n,
				   res->secure != 0, answer_ttl(res), clock_ms());
	struct dns_answer a = {.status = SIGNET_DNS_OK, .records = recs, .nrecords = n,
			       .secure = res->secure != 0, .elapsed_ms = clock_ms_since(q->t0_us)};
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
	struct dns_resolver *r = arg;
	(void)ub_process(r->ctx);
}

static void on_timeout(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	struct dns_query *q = arg;
	char why[64];
	(void)ub_cancel(q->r->ctx, q->async_id);
	snprintf(why, sizeof why, "timeout after %u ms", q->r->timeout_ms);
	deliver_status(q, SIGNET_DNS_TEMPFAIL, why);
}

/* A cached answer, if there is one: delivered (from the start timer, so
 * still not from inside dns_lookup_txt). */
static bool deliver_cached(struct dns_query *q)
{
	struct dnscache_answer c; /* about 8.5 KiB: loop threads have default stacks */
	if (q->r->cache == NULL || !dnscache_get(q->r->cache, q->name, clock_ms(), &c))
		return false;
	struct dns_answer a = {.status = c.status, .records = c.records, .nrecords = c.nrecords,
			       .keys = c.keys, .secure = c.secure, .why = c.why[0] ? c.why : NULL,
			       .elapsed_ms = clock_ms_since(q->t0_us)};
	deliver(q, &a);
	signet_keyset_unref(c.keys); /* a verifier that took it holds its own */
	return true;
}

/* Starting from a zero-delay timer keeps the "never called back from inside
 * dns_lookup_txt" promise even when ub_resolve_async fails at once, or the
 * answer is in the cache. */
static void on_start(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	struct dns_query *q = arg;
	struct dns_resolver *r = q->r;
	if (deliver_cached(q))
		return;
	q->started = true;
	int rc = ub_resolve_async(r->ctx, q->name, DNS_TYPE_TXT, DNS_CLASS_IN, q, ub_callback,
				  &q->async_id);
	if (rc != 0) {
		char why[160];
		snprintf(why, sizeof why, "resolver error: %s", ub_strerror(rc));
		deliver_status(q, SIGNET_DNS_TEMPFAIL, why);
		return;
	}
	event_free(q->timer);
	q->timer = evtimer_new(event_get_base(r->ev), on_timeout, q);
	struct timeval tv = {r->timeout_ms / 1000, (r->timeout_ms % 1000) * 1000};
	if (q->timer == NULL || evtimer_add(q->timer, &tv) != 0) {
		(void)ub_cancel(r->ctx, q->async_id);
		deliver_status(q, SIGNET_DNS_TEMPFAIL, "cannot arm lookup timer");
	}
}

struct dns_query *dns_lookup_txt(struct dns_resolver *r, const char *name, dns_txt_cb cb, void *arg)
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
	q->t0_us = clock_us();
	q->timer = evtimer_new(event_get_base(r->ev), on_start, q);
	struct timeval zero = {0, 0};
	if (q->timer == NULL || evtimer_add(q->timer, &zero) != 0) {
		free_query(q);
		return NULL;
	}
	q->next = r->pending;
	if (r->pending)
		r->pending->prev = q;
	r->pending = q;
	return q;
}

void dns_cancel(struct dns_query *q)
{
	if (q == NULL)
		return;
	if (q->started)
		(void)ub_cancel(q->r->ctx, q->async_id);
	unlink_query(q);
	free_query(q);
}

static int set_option(struct ub_ctx *ctx, const char *opt, unsigned long val, const char **what)
{
	char v[24];
	snprintf(v, sizeof v, "%lu", val);
	*what = opt;
	return ub_ctx_set_option(ctx, opt, v);
}

/* Issue #19. libunbound's library default gives a context 16 UDP ports
 * (outgoing-range); a lookup without a free port waits in a queue, and
 * lookups we stopped waiting for keep their port: ub_cancel in a threaded
 * context only drops the answer, the query runs on, re-sent. With
 * DNS_UB_PORTS a good lookup does not queue behind ten messages' worth of
 * slow ones. */
static int tune(struct ub_ctx *ctx, const char **what)
{
	return set_option(ctx, "outgoing-range:", DNS_UB_PORTS, what);
}

static bool configure(struct ub_ctx *ctx, const struct dns_options *o, char *err, size_t errlen)
{
	int rc = 0;
	const char *what = "";
	if (o->nforwarders == 0) {
		what = "/etc/resolv.conf";
		rc = ub_ctx_resolvconf(ctx, NULL);
	}
	for (size_t k = 0; rc == 0 && k < o->nforwarders; k++) {
		what = o->forwarders[k];
		rc = ub_ctx_set_fwd(ctx, o->forwarders[k]);
	}
	if (rc == 0 && o->trust_anchor_file != NULL) {
		what = o->trust_anchor_file;
		rc = ub_ctx_add_ta_file(ctx, o->trust_anchor_file);
	}
	if (rc == 0)
		rc = tune(ctx, &what);
	if (rc == 0) {
		what = "threads";
		rc = ub_ctx_async(ctx, 1);
	}
	if (rc != 0)
		snprintf(err, errlen, "DNS resolver setup (%s): %s", what, ub_strerror(rc));
	return rc == 0;
}

struct dns_resolver *dns_resolver_new(struct event_base *base, const struct dns_options *opts,
				      char *err, size_t errlen)
{
	struct dns_resolver *r = calloc(1, sizeof *r);
	if (r == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	r->timeout_ms = opts->timeout_ms ? opts->timeout_ms : 5000;
	if (opts->cache_entries > 0) {
		struct dnscache_limits lim = {
			.entries = opts->cache_entries,
			.bytes = DNS_CACHE_BYTES,
			.max_ttl = opts->cache_max_ttl ? opts->cache_max_ttl : DNS_CACHE_MAX_TTL,
			.neg_ttl = DNS_CACHE_NEG_TTL};
		r->cache = dnscache_new(&lim);
		if (r->cache == NULL) {
			snprintf(err, errlen, "out of memory (DNS answer cache)");
			free(r);
			return NULL;
		}
	}
	r->ctx = ub_ctx_create();
	if (r->ctx == NULL) {
		snprintf(err, errlen, "cannot create the libunbound context");
		dnscache_free(r->cache);
		free(r);
		return NULL;
	}
	if (!configure(r->ctx, opts, err, errlen)) {
		ub_ctx_delete(r->ctx);
		dnscache_free(r->cache);
		free(r);
		return NULL;
	}
	r->ev = event_new(base, ub_fd(r->ctx), EV_READ | EV_PERSIST, on_ub_fd, r);
	if (r->ev == NULL || event_add(r->ev, NULL) != 0) {
		snprintf(err, errlen, "cannot watch the resolver's descriptor: %s", strerror(errno));
		if (r->ev)
			event_free(r->ev);
		ub_ctx_delete(r->ctx);
		dnscache_free(r->cache);
		free(r);
		return NULL;
	}
	return r;
}

void dns_resolver_free(struct dns_resolver *r)
{
	if (r == NULL)
		return;
	while (r->pending != NULL)
		dns_cancel(r->pending);
	event_free(r->ev);
	ub_ctx_delete(r->ctx);
	dnscache_free(r->cache);
	free(r);
}
