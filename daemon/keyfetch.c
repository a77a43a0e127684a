/* keyfetch.c: signing keys from Redis on a worker loop (keyfetch.h).
 *
 * Waiters hang on a fetch, not on a cache entry, so an entry can be
 * forgotten (eviction, a reload that changed the hash names) while its
 * fetch is in flight: the answer still reaches the messages that wait for
 * it. Callbacks to waiters are never made from inside a hiredis callback
 * or from keyfetch_get: finished fetches are queued and a zero-delay event
 * answers them, so a waiter may start a new request, or free its
 * connection, at any time.
 *
 * With a password (and/or a db), AUTH and SELECT are the first commands
 * of every connection (hiredis pipelines the HGETs behind them); an error
 * reply to either is that server's failure, as a refused connection is:
 * logged once, and the HGETs queued behind it fail with Redis's words. */
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>
#include <hiredis/adapters/libevent.h>
#include <hiredis/async.h>
#include <hiredis/hiredis.h>

#include <signet/key.h>

#include "clock.h"
#include "config.h"
#include "keyfetch.h"
#include "log.h"
#include "redis_client.h"

#define KEYFETCH_BUCKETS 4096 /* hash chains; entries may exceed it */
#define KEYFETCH_MIN_BACKOFF_MS 1000
#define KEYFETCH_ID_MAX (256 + SIGNET_MAX_SIGNERS * 64 + 2)

struct keyfetch_req {
	keyfetch_cb cb; /* NULL: cancelled */
	void *arg;
	struct keyfetch_req *next;
};

struct kf_entry;
struct kf_fetch;

/* One HGET of a key: the reply callback's privdata. */
struct kf_slot {
	struct kf_fetch *f;
	size_t j;
};

struct kf_fetch {
	struct keyfetch *kf;
	struct kf_entry *e; /* NULL once the entry is forgotten */
	struct kf_fetch *next_done;
	struct keyfetch_req *waiters;
	struct event *timer;
	char domain[256];
	size_t nsel;
	char selector[SIGNET_MAX_SIGNERS][64];
	char *pem[SIGNET_MAX_SIGNERS]; /* owned: the replies, NULL = nil */
	size_t pem_len[SIGNET_MAX_SIGNERS];
	struct kf_slot slot[SIGNET_MAX_SIGNERS];
	struct signkeys *answer; /* for the waiters (a reference), or NULL: err */
	unsigned outstanding;    /* replies awaited */
	bool by_prefix;          /* phase 1 asks selector_prefix */
	bool none;               /* selector_prefix has no field for the domain */
	bool failed;
	char err[300];
};

struct kf_entry {
	char id[KEYFETCH_ID_MAX];
	uint32_t hash;
	struct kf_entry *chain;         /* same bucket */
	struct kf_entry *newer, *older; /* use order: kf->newest first */
	struct signkeys *val;           /* the last answer, or NULL */
	uint64_t fetched_ms;            /* when val was fetched; 0: refresh now */
	struct kf_fetch *fetch;         /* in flight, or NULL */
	char domain[256];
	size_t nsel; /* 0: selector_prefix */
	char selector[SIGNET_MAX_SIGNERS][64];
};

struct keyfetch {
	struct event_base *base;
	struct event *ev_done;
	struct kf_fetch *done; /* finished, waiters to answer */
	struct kf_entry *buckets[KEYFETCH_BUCKETS];
	struct kf_entry *newest, *oldest;
	size_t nentries;
	/* the settings of the last keyfetch_get (copies: runtimes come and go) */
	const struct signetd_config *cfg; /* the last one seen: compared, never dereferenced */
	char servers[CONFIG_MAX_REDIS_SERVERS][80];
	size_t nservers;
	char key_prefix[257], selector_prefix[257];
	unsigned timeout_ms, refresh_ms;
	char username[REDIS_CLIENT_CRED_MAX], password[REDIS_CLIENT_CRED_MAX]; /* "": none */
	int db;
	char select_what[24]; /* "SELECT 3": how a refused SELECT is named */
	/* the connection */
	redisAsyncContext *ac;
	size_t server;        /* index of the server ac talks to (or tries next) */
	size_t ac_server;     /* index of the server ac talks to (mark_down moves server) */
	size_t round_fails;   /* servers failed in turn since a round began (or an answer) */
	bool down;            /* the last connection failed: logged once */
	uint64_t retry_at_ms; /* while down: no new connection before this */
	unsigned backoff_ms;
	char down_why[200];
};

/* ---- the cache ----------------------------------------------------------- */

static uint32_t fnv1a(const char *s)
{
	uint32_t h = 2166136261u;
	for (; *s; s++)
		h = (h ^ (uint8_t)*s) * 16777619u;
	return h;
}

/* "s1,s2@example.com", or "@example.com" with selector_prefix. */
static bool entry_id(const char *domain, const char *const *sel, size_t n, char *out, size_t cap)
{
	size_t len = 0;
	out[0] = '\0';
	for (size_t k = 0; k < n; k++) {
		int w = snprintf(out + len, cap - len, "%s%s", k ? "," : "", sel[k]);
		if (w < 0 || (size_t)w >= cap - len)
			return false;
		len += (size_t)w;
	}
	int w = snprintf(out + len, cap - len, "@%s", domain);
	return w > 0 && (size_t)w < cap - len;
}

static void unlink_use(struct keyfetch *kf, struct kf_entry *e)
{
	if (e->newer)
		e->newer->older = e->older;
	else
		kf->newest = e->older;
	if (e->older)
		e->older->newer = e->newer;
	else
		kf->oldest = e->newer;
	e->newer = e->older = NULL;
}

/* Puts e first in the use order (e may be new: not linked yet). */
static void mark_used(struct keyfetch *kf, struct kf_entry *e)
{
	if (kf->newest == e)
		return;
	if (e->newer != NULL || e->older != NULL || kf->oldest == e)
		unlink_use(kf, e);
	e->older = kf->newest;
	if (kf->newest)
		kf->newest->newer = e;
	kf->newest = e;
	if (kf->oldest == NULL)
		kf->oldest = e;
}

static struct kf_entry *find_entry(struct keyfetch *kf, const char *id, uint32_t h)
{
	for (struct kf_entry *e = kf->buckets[h % KEYFETCH_BUCKETS]; e != NULL; e = e->chain)
		if (e->hash == h && strcmp(e->id, id) == 0)
			return e;
	return NULL;
}

static void forget_entry(struct keyfetch *kf, struct kf_entry *e)
{
	struct kf_entry **p = &kf->buckets[e->hash % KEYFETCH_BUCKETS];
	while (*p != e)
		p = &(*p)->chain;
	*p = e->chain;
	unlink_use(kf, e);
	if (e->fetch != NULL)
		e->fetch->e = NULL; /* its waiters still get the answer */
	signkeys_unref(e->val);
	free(e);
	kf->nentries--;
}

static void forget_all(struct keyfetch *kf)
{
	while (kf->newest != NULL)
		forget_entry(kf, kf->newest);
}

static struct kf_entry *add_entry(struct keyfetch *kf, const char *id, uint32_t h,
				  const char *domain, const char *const *sel, size_t n)
{
	if (kf->nentries >= KEYFETCH_MAX_ENTRIES && kf->oldest != NULL)
		forget_entry(kf, kf->oldest);
	struct kf_entry *e = calloc(1, sizeof *e);
	if (e == NULL)
		return NULL;
	snprintf(e->id, sizeof e->id, "%s", id);
	e->hash = h;
	snprintf(e->domain, sizeof e->domain, "%s", domain);
	e->nsel = n;
	for (size_t k = 0; k < n; k++)
		snprintf(e->selector[k], sizeof e->selector[k], "%s", sel[k]);
	e->chain = kf->buckets[h % KEYFETCH_BUCKETS];
	kf->buckets[h % KEYFETCH_BUCKETS] = e;
	kf->nentries++;
	mark_used(kf, e);
	return e;
}

/* ---- the connection ------------------------------------------------------ */

/* Entries with keys to sign with (not those whose first fetch is in flight):
 * what goes on signing during an outage. */
static size_t cached_keys(const struct keyfetch *kf)
{
	size_t n = 0;
	for (const struct kf_entry *e = kf->newest; e != NULL; e = e->older)
		n += e->val != NULL;
	return n;
}

static void mark_down(struct keyfetch *kf, const char *why)
{
	uint64_t now = clock_ms();
	if (++kf->round_fails >= kf->nservers) {
		/* every server failed in turn: wait before the next round */
		kf->round_fails = 0;
		kf->backoff_ms = kf->backoff_ms ? kf->backoff_ms * 2 : KEYFETCH_MIN_BACKOFF_MS;
		if (kf->backoff_ms > KEYFETCH_MAX_BACKOFF_MS)
			kf->backoff_ms = KEYFETCH_MAX_BACKOFF_MS;
		kf->retry_at_ms = now + kf->backoff_ms;
	} else {
		kf->retry_at_ms = now; /* the next server, without waiting */
	}
	if (!kf->down) {
		size_t n = cached_keys(kf);
		log_msg(LOG_LVL_ERR,
			"Redis %s: %s: signing goes on with the %zu cached domain key%s; a "
			"domain not cached follows on_error.sign",
			kf->servers[kf->server], why, n, n == 1 ? "" : "s");
	}
	snprintf(kf->down_why, sizeof kf->down_why, "Redis %s: %s", kf->servers[kf->server], why);
	kf->down = true;
	if (kf->nservers > 1)
		kf->server = (kf->server + 1) % kf->nservers; /* the next one, next time */
}

/* A connection is not yet Redis: a server that accepts and never answers
 * stays down (its backoff grows, the outage is logged once); the first
 * reply ends the outage. */
static void on_connect(const redisAsyncContext *ac, int status)
{
	struct keyfetch *kf = ac->data;
	if (status != REDIS_OK) {
		kf->ac = NULL; /* hiredis frees it and fails its callbacks */
		mark_down(kf, ac->errstr);
	}
}

static void mark_answered(struct keyfetch *kf)
{
	if (kf->down)
		log_msg(LOG_LVL_INFO, "Redis %s: connected again; keys are fetched again",
			kf->servers[kf->ac_server]);
	kf->down = false;
	kf->round_fails = 0;
	kf->backoff_ms = 0;
}

static void on_disconnect(const redisAsyncContext *ac, int status)
{
	struct keyfetch *kf = ac->data;
	if (kf->ac == ac)
		kf->ac = NULL;
	if (status != REDIS_OK)
		mark_down(kf, ac->errstr[0] ? ac->errstr : "connection lost");
}

/* Drops the connection now: every command in flight is failed. */
static void drop_connection(struct keyfetch *kf, const char *why)
{
	redisAsyncContext *ac = kf->ac;
	if (ac == NULL)
		return;
	kf->ac = NULL; /* before the callbacks run: none may use it */
	mark_down(kf, why);
	ac->onDisconnect = NULL;
	redisAsyncFree(ac);
}

/* The reply to AUTH or SELECT (what names the command, never its
 * arguments): an error is the connection's failure, and every command
 * queued behind it fails with that reason. */
static void on_handshake_reply(redisAsyncContext *ac, void *reply, void *what)
{
	struct keyfetch *kf = ac->data;
	const redisReply *r = reply;
	if (r == NULL || kf->ac != ac || r->type == REDIS_REPLY_STATUS)
		return; /* NULL: the connection failed, its fetches say so */
	char why[200];
	if (r->type == REDIS_REPLY_ERROR)
		snprintf(why, sizeof why, "%s: %.*s", (const char *)what,
			 (int)(r->len > 150 ? 150 : r->len), r->str);
	else
		snprintf(why, sizeof why, "%s: unexpected reply (type %d)", (const char *)what,
			 r->type);
	drop_connection(kf, why);
}

/* AUTH [username] password, SELECT db: before anything else is sent. */
static bool send_handshake(struct keyfetch *kf, redisAsyncContext *ac)
{
	static char auth_what[] = "AUTH";
	struct redis_auth a = {kf->username[0] ? kf->username : NULL,
			       kf->password[0] ? kf->password : NULL, kf->db};
	const char *argv[3];
	int argc = redis_client_auth_argv(&a, argv);
	if (argc > 0 &&
	    redisAsyncCommandArgv(ac, on_handshake_reply, auth_what, argc, argv, NULL) != REDIS_OK)
		return false;
	if (kf->db <= 0)
		return true;
	snprintf(kf->select_what, sizeof kf->select_what, "SELECT %d", kf->db);
	return redisAsyncCommand(ac, on_handshake_reply, kf->select_what, "SELECT %d", kf->db) ==
	       REDIS_OK;
}

/* A connection to kf->server; NULL (err says why, marked down) when it
 * fails at once. */
static redisAsyncContext *connect_server(struct keyfetch *kf, char *err, size_t cap)
{
	char host[64];
	unsigned port;
	if (!config_redis_server(kf->servers[kf->server], host, sizeof host, &port)) {
		snprintf(err, cap, "Redis server '%s' is not ADDRESS:PORT",
			 kf->servers[kf->server]);
		mark_down(kf, "not ADDRESS:PORT");
		return NULL;
	}
	redisAsyncContext *ac = redisAsyncConnect(host, (int)port);
	if (ac == NULL || ac->err) {
		const char *why = ac ? ac->errstr : "out of memory";
		snprintf(err, cap, "Redis %s: %s", kf->servers[kf->server], why);
		mark_down(kf, why);
		if (ac)
			redisAsyncFree(ac);
		return NULL;
	}
	ac->data = kf;
	if (redisLibeventAttach(ac, kf->base) != REDIS_OK) {
		redisAsyncFree(ac);
		snprintf(err, cap, "Redis: cannot attach to the event loop");
		mark_down(kf, "cannot attach to the event loop");
		return NULL;
	}
	redisAsyncSetConnectCallback(ac, on_connect);
	redisAsyncSetDisconnectCallback(ac, on_disconnect);
	kf->ac = ac;
	kf->ac_server = kf->server;
	if (!send_handshake(kf, ac)) {
		snprintf(err, cap, "Redis %s: cannot send AUTH / SELECT", kf->servers[kf->server]);
		drop_connection(kf, "cannot send AUTH / SELECT");
		return NULL;
	}
	return ac;
}

static redisAsyncContext *connection(struct keyfetch *kf, char *err, size_t cap)
{
	if (kf->ac != NULL)
		return kf->ac;
	if (kf->nservers == 0) {
		snprintf(err, cap, "no Redis servers configured");
		return NULL;
	}
	if (kf->down && clock_ms() < kf->retry_at_ms) {
		snprintf(err, cap, "%s (next try in %u ms)", kf->down_why,
			 (unsigned)(kf->retry_at_ms - clock_ms()));
		return NULL;
	}
	/* a server that refuses at once: the next one of the round, now (each
	 * failure is marked down, and a round ends with round_fails at 0) */
	redisAsyncContext *ac;
	do
		ac = connect_server(kf, err, cap);
	while (ac == NULL && kf->round_fails > 0);
	return ac;
}

/* ---- fetches ------------------------------------------------------------- */

static void fetch_failed(struct kf_fetch *f, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static void fetch_failed(struct kf_fetch *f, const char *fmt, ...)
{
	if (f->failed)
		return; /* the first reason is the one */
	f->failed = true;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(f->err, sizeof f->err, fmt, ap);
	va_end(ap);
}

/* A selector as Redis gave it: RFC 6376 3.1 sub-domain labels. */
static bool selector_ok(const char *s, size_t len)
{
	if (len == 0 || len >= 64 || s[0] == '.' || s[len - 1] == '.')
		return false;
	for (size_t k = 0; k < len; k++) {
		char c = s[k];
		bool alnum =
			(c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
		if (!alnum && c != '-' && c != '_' && !(c == '.' && s[k + 1] != '.'))
			return false;
	}
	return true;
}

/* FLEET-KEYS-05: "no key in Redis: HGET KEYS s1.example.com, s2.example.com
 * are nil": every field asked (cut at the cap; the domain is once per
 * selector, as asked). */
static void nil_keys_why(const struct kf_fetch *f, char *why, size_t cap)
{
	int w = snprintf(why, cap, "no key in Redis: HGET %.60s", f->kf->key_prefix);
	size_t len = w > 0 && (size_t)w < cap ? (size_t)w : cap - 1;
	for (size_t j = 0; j < f->nsel && len < cap - 1; j++) {
		w = snprintf(why + len, cap - len, "%s %s.%s", j ? "," : "", f->selector[j],
			     f->domain);
		len = w > 0 && (size_t)w < cap - len ? len + (size_t)w : cap - 1;
	}
	if (len < cap - 1)
		snprintf(why + len, cap - len, " %s nil", f->nsel > 1 ? "are" : "is");
}

static struct signkeys *build_keys(struct kf_fetch *f)
{
	struct keyfetch *kf = f->kf;
	struct signkeys *k = signkeys_new(f->domain);
	if (k == NULL) {
		fetch_failed(f, "out of memory");
		return NULL;
	}
	if (f->none) {
		snprintf(k->why, sizeof k->why, "no selector for %.200s in Redis hash %.60s",
			 f->domain, kf->selector_prefix);
		return k;
	}
	for (size_t j = 0; j < f->nsel; j++) {
		if (f->pem[j] == NULL)
			continue;
		struct signet_error e = {0};
		struct signet_key *key = NULL;
		if (signet_key_parse((const uint8_t *)f->pem[j], f->pem_len[j], &key, &e) !=
		    SIGNET_OK) {
			fetch_failed(f, "Redis hash %s field %s.%s is not a usable private key: %s",
				     kf->key_prefix, f->selector[j], f->domain, e.msg);
			signkeys_unref(k);
			return NULL;
		}
		snprintf(k->selector[k->n], sizeof k->selector[k->n], "%s", f->selector[j]);
		k->key[k->n++] = key;
	}
	if (k->n == 0)
		nil_keys_why(f, k->why, sizeof k->why);
	return k;
}

/* The fetch is over: the entry takes the answer (an error keeps the keys
 * it had), and the waiters are answered from the loop. */
static void fetch_done(struct kf_fetch *f)
{
	struct keyfetch *kf = f->kf;
	event_del(f->timer);
	f->answer = f->failed ? NULL : build_keys(f);
	struct kf_entry *e = f->e;
	if (e != NULL) {
		e->fetch = NULL;
		e->fetched_ms = clock_ms(); /* an error is tried again after redis_refresh */
		if (f->answer != NULL) {
			signkeys_unref(e->val);
			e->val = signkeys_ref(f->answer);
		} else if (e->val != NULL) {
			log_msg(LOG_LVL_WARN, "keys of %s: %s; the cached keys go on signing",
				f->domain, f->err);
		} else {
			forget_entry(kf, e); /* nothing to keep: the next message asks again */
		}
	}
	f->e = NULL;
	f->next_done = kf->done;
	kf->done = f;
	event_active(kf->ev_done, EV_TIMEOUT, 0);
}

static void fetch_free(struct kf_fetch *f)
{
	for (size_t j = 0; j < SIGNET_MAX_SIGNERS; j++) {
		if (f->pem[j] != NULL) /* private key text (SECURITY.md) */
			explicit_bzero(f->pem[j], f->pem_len[j]);
		free(f->pem[j]);
	}
	while (f->waiters != NULL) {
		struct keyfetch_req *r = f->waiters;
		f->waiters = r->next;
		free(r);
	}
	signkeys_unref(f->answer);
	if (f->timer)
		event_free(f->timer);
	free(f);
}

static void answer_waiters(evutil_socket_t fd, short what, void *arg)
{
	(void)fd, (void)what;
	struct keyfetch *kf = arg;
	while (kf->done != NULL) {
		struct kf_fetch *f = kf->done;
		kf->done = f->next_done;
		for (struct keyfetch_req *r = f->waiters; r != NULL; r = r->next)
			if (r->cb != NULL) {
				keyfetch_cb cb = r->cb;
				r->cb = NULL;
				cb(r->arg, f->answer, f->answer ? NULL : f->err);
			}
		fetch_free(f);
	}
}

static void reply_done(struct kf_fetch *f)
{
	if (--f->outstanding == 0)
		fetch_done(f);
}

/* One HGET reply: a string (copied), nil, or a failure. */
static bool take_string(struct kf_fetch *f, const redisAsyncContext *ac, const redisReply *r,
			const char *what, char **out, size_t *len)
{
	*out = NULL;
	if (r == NULL) { /* the connection failed or was dropped */
		/* this connection's own error first: down may be an earlier
		 * outage's (it lasts until Redis answers, mark_answered) */
		const char *server = f->kf->servers[f->kf->ac_server];
		if (ac->err)
			fetch_failed(f, "Redis %s: %s", server, ac->errstr);
		else if (f->kf->down) /* dropped (no reply in time): down_why says so */
			fetch_failed(f, "%s", f->kf->down_why);
		else
			fetch_failed(f, "Redis %s: connection closed", server);
		return false;
	}
	mark_answered(f->kf);
	if (r->type == REDIS_REPLY_NIL)
		return true;
	if (r->type == REDIS_REPLY_ERROR) {
		fetch_failed(f, "Redis: HGET %s: %.*s", what, (int)(r->len > 200 ? 200 : r->len),
			     r->str);
		return false;
	}
	if (r->type != REDIS_REPLY_STRING) {
		fetch_failed(f, "Redis: HGET %s: not a string (reply type %d)", what, r->type);
		return false;
	}
	if (r->len > KEYFETCH_MAX_KEY_BYTES) {
		fetch_failed(f, "Redis: HGET %s: %zu bytes, over KEYFETCH_MAX_KEY_BYTES (%d)", what,
			     r->len, KEYFETCH_MAX_KEY_BYTES);
		return false;
	}
	if ((*out = malloc(r->len + 1)) == NULL) {
		fetch_failed(f, "out of memory");
		return false;
	}
	memcpy(*out, r->str, r->len);
	(*out)[r->len] = '\0';
	*len = r->len;
	return true;
}

static void on_key_reply(redisAsyncContext *ac, void *reply, void *privdata);

static bool ask_keys(struct kf_fetch *f)
{
	struct keyfetch *kf = f->kf;
	for (size_t j = 0; j < f->nsel; j++) {
		char field[64 + 1 + 256];
		snprintf(field, sizeof field, "%s.%s", f->selector[j], f->domain);
		f->slot[j] = (struct kf_slot){f, j};
		if (redisAsyncCommand(kf->ac, on_key_reply, &f->slot[j], "HGET %s %s",
				      kf->key_prefix, field) != REDIS_OK) {
			fetch_failed(f, "Redis: cannot send HGET");
			return false;
		}
		f->outstanding++;
	}
	return true;
}

static void on_key_reply(redisAsyncContext *ac, void *reply, void *privdata)
{
	const struct kf_slot *slot = privdata;
	struct kf_fetch *f = slot->f;
	size_t j = slot->j;
	char what[64 + 1 + 256 + 260];
	snprintf(what, sizeof what, "%s %s.%s", f->kf->key_prefix, f->selector[j], f->domain);
	if (!f->failed)
		(void)take_string(f, ac, reply, what, &f->pem[j], &f->pem_len[j]);
	reply_done(f);
}

static void on_selector_reply(redisAsyncContext *ac, void *reply, void *privdata)
{
	struct kf_fetch *f = privdata;
	char what[600], *sel = NULL;
	size_t len = 0;
	snprintf(what, sizeof what, "%s %s", f->kf->selector_prefix, f->domain);
	if (take_string(f, ac, reply, what, &sel, &len)) {
		if (sel == NULL) {
			f->none = true;
		} else if (!selector_ok(sel, len)) {
			fetch_failed(f, "Redis hash %s field %s: '%.63s' is not a selector",
				     f->kf->selector_prefix, f->domain, sel);
		} else {
			snprintf(f->selector[0], sizeof f->selector[0], "%s", sel);
			f->nsel = 1;
			if (f->kf->ac != NULL)
				(void)ask_keys(f);
			else
				fetch_failed(f, "Redis connection lost");
		}
	}
	free(sel);
	reply_done(f);
}

static void on_fetch_timeout(evutil_socket_t fd, short what, void *arg)
{
	(void)fd, (void)what;
	struct kf_fetch *f = arg;
	char why[80];
	snprintf(why, sizeof why, "no reply within %u ms", f->kf->timeout_ms);
	fetch_failed(f, "Redis %s: %s", f->kf->servers[f->kf->server], why);
	/* a server that does not answer one command answers none: all the
	 * commands in flight fail with it (their callbacks run now) */
	drop_connection(f->kf, why);
}

static struct keyfetch_req *add_waiter(struct kf_fetch *f, keyfetch_cb cb, void *arg)
{
	struct keyfetch_req *r = calloc(1, sizeof *r);
	if (r == NULL)
		return NULL;
	r->cb = cb;
	r->arg = arg;
	r->next = f->waiters;
	f->waiters = r;
	return r;
}

/* Starts a fetch for e, with a first waiter when cb is set (*req); the
 * fetch may be over (failed) on return: the waiter is answered from the
 * loop all the same. NULL (err says why) when nothing could be sent. */
static struct kf_fetch *start_fetch(struct keyfetch *kf, struct kf_entry *e, keyfetch_cb cb,
				    void *arg, struct keyfetch_req **req, char *err, size_t cap)
{
	redisAsyncContext *ac = connection(kf, err, cap);
	if (ac == NULL)
		return NULL;
	struct kf_fetch *f = calloc(1, sizeof *f);
	if (f == NULL || (f->timer = evtimer_new(kf->base, on_fetch_timeout, f)) == NULL) {
		free(f);
		snprintf(err, cap, "out of memory");
		return NULL;
	}
	f->kf = kf;
	f->e = e;
	if (cb != NULL && (*req = add_waiter(f, cb, arg)) == NULL) {
		event_free(f->timer);
		free(f);
		snprintf(err, cap, "out of memory");
		return NULL;
	}
	snprintf(f->domain, sizeof f->domain, "%s", e->domain);
	f->nsel = e->nsel;
	memcpy(f->selector, e->selector, sizeof f->selector);
	f->outstanding = 1; /* held while the commands are sent */
	if (e->nsel == 0) {
		f->by_prefix = true;
		if (redisAsyncCommand(ac, on_selector_reply, f, "HGET %s %s", kf->selector_prefix,
				      e->domain) == REDIS_OK)
			f->outstanding++;
		else
			fetch_failed(f, "Redis: cannot send HGET");
	} else {
		(void)ask_keys(f);
	}
	struct timeval tv = {kf->timeout_ms / 1000, (kf->timeout_ms % 1000) * 1000};
	evtimer_add(f->timer, &tv);
	e->fetch = f;
	reply_done(f); /* all sent (or failed: then it is done now) */
	return f;
}

/* ---- the API ------------------------------------------------------------- */

struct keyfetch *keyfetch_new(struct event_base *base)
{
	struct keyfetch *kf = calloc(1, sizeof *kf);
	if (kf == NULL)
		return NULL;
	kf->base = base;
	kf->ev_done = event_new(base, -1, 0, answer_waiters, kf);
	if (kf->ev_done == NULL) {
		free(kf);
		return NULL;
	}
	return kf;
}

void keyfetch_free(struct keyfetch *kf)
{
	if (kf == NULL)
		return;
	forget_all(kf);
	if (kf->ac != NULL) {
		redisAsyncContext *ac = kf->ac;
		kf->ac = NULL;
		ac->onDisconnect = NULL;
		/* the callbacks see NULL replies; their fetches land on done */
		kf->down = true; /* no "down" line at shutdown */
		redisAsyncFree(ac);
	}
	while (kf->done != NULL) {
		struct kf_fetch *f = kf->done;
		kf->done = f->next_done;
		fetch_free(f);
	}
	event_free(kf->ev_done);
	explicit_bzero(kf->password, sizeof kf->password);
	free(kf);
}

/* The settings of cfg, compared with those in use (by value: cfg's address
 * says only that a reload happened, or may have): other servers or hash
 * names forget the entries; a reload with the same ones refreshes them. */
static void take_settings(struct keyfetch *kf, const struct signetd_config *cfg)
{
	const struct config_signing *sg = &cfg->signing;
	const struct config_redis *r = config_signing_redis(cfg);
	/* other credentials are other servers: a new connection */
	bool same_servers = kf->cfg != NULL && kf->nservers == r->n_servers && kf->db == r->db &&
			    strcmp(kf->password, r->password ? r->password : "") == 0 &&
			    strcmp(kf->username, r->username ? r->username : "") == 0;
	for (size_t k = 0; same_servers && k < r->n_servers; k++)
		same_servers = strcmp(kf->servers[k], r->servers[k]) == 0;
	bool same =
		same_servers && strcmp(kf->key_prefix, sg->key_prefix) == 0 &&
		strcmp(kf->selector_prefix, sg->selector_prefix ? sg->selector_prefix : "") == 0;
	kf->timeout_ms = (unsigned)(r->timeout * 1000);
	kf->refresh_ms = (unsigned)(sg->redis_refresh * 1000);
	if (same && cfg == kf->cfg)
		return; /* no reload (or one at the same address, same names) */
	if (!same)
		forget_all(kf); /* fetches in flight still answer their waiters */
	else
		for (struct kf_entry *e = kf->newest; e != NULL; e = e->older)
			e->fetched_ms = 0; /* used until the refresh answers */
	if (!same_servers) {
		/* other servers: the old connection's fetches fail with it */
		if (kf->ac != NULL) {
			redisAsyncContext *ac = kf->ac;
			kf->ac = NULL;
			ac->onDisconnect = NULL;
			redisAsyncFree(ac);
		}
		kf->down = false;
		kf->server = 0;
		kf->round_fails = 0;
		kf->backoff_ms = 0;
	}
	kf->cfg = cfg;
	kf->nservers = r->n_servers;
	for (size_t k = 0; k < r->n_servers; k++)
		snprintf(kf->servers[k], sizeof kf->servers[k], "%s", r->servers[k]);
	snprintf(kf->password, sizeof kf->password, "%s", r->password ? r->password : "");
	snprintf(kf->username, sizeof kf->username, "%s", r->username ? r->username : "");
	kf->db = r->db;
	snprintf(kf->key_prefix, sizeof kf->key_prefix, "%s", sg->key_prefix);
	snprintf(kf->selector_prefix, sizeof kf->selector_prefix, "%s",
		 sg->selector_prefix ? sg->selector_prefix : "");
}

enum keyfetch_status keyfetch_get(struct keyfetch *kf, const struct signetd_config *cfg,
				  const char *domain, const char *const *selectors, size_t n,
				  keyfetch_cb cb, void *arg, struct keyfetch_req **req,
				  struct signkeys **keys, char *err, size_t errcap)
{
	*req = NULL;
	*keys = NULL;
	err[0] = '\0';
	/* every call, not only when cfg moves: a reloaded config may be
	 * allocated where a freed one was (the same pointer, other settings) */
	take_settings(kf, cfg);
	if (kf->selector_prefix[0] != '\0')
		n = 0; /* the selector is Redis's */
	char id[KEYFETCH_ID_MAX];
	if (n > SIGNET_MAX_SIGNERS || strlen(domain) > 253 ||
	    !entry_id(domain, selectors, n, id, sizeof id)) {
		snprintf(err, errcap, "keys of %s: too many or too long selectors", domain);
		return KEYFETCH_NOW;
	}
	uint32_t h = fnv1a(id);
	struct kf_entry *e = find_entry(kf, id, h);
	uint64_t now = clock_ms();
	if (e != NULL && e->val != NULL) {
		mark_used(kf, e);
		if (e->fetch == NULL && now - e->fetched_ms >= kf->refresh_ms) {
			char why[300];
			if (start_fetch(kf, e, NULL, NULL, NULL, why, sizeof why) == NULL)
				e->fetched_ms = now; /* down: try again after redis_refresh */
		}
		*keys = signkeys_ref(e->val);
		return KEYFETCH_NOW;
	}
	if (e == NULL && (e = add_entry(kf, id, h, domain, selectors, n)) == NULL) {
		snprintf(err, errcap, "out of memory");
		return KEYFETCH_NOW;
	}
	if (e->fetch != NULL) { /* the first fetch is in flight: wait for it too */
		if ((*req = add_waiter(e->fetch, cb, arg)) == NULL) {
			snprintf(err, errcap, "out of memory");
			return KEYFETCH_NOW;
		}
		return KEYFETCH_WAIT;
	}
	if (start_fetch(kf, e, cb, arg, req, err, errcap) == NULL) {
		forget_entry(kf, e);
		return KEYFETCH_NOW;
	}
	return KEYFETCH_WAIT;
}

void keyfetch_cancel(struct keyfetch_req *req)
{
	if (req != NULL)
		req->cb = NULL;
}

size_t keyfetch_cached(const struct keyfetch *kf)
{
	return kf->nentries;
}

bool keyfetch_redis_up(const struct keyfetch *kf)
{
	return kf->ac != NULL && !kf->down;
}
