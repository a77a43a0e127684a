/* test_keyfetch.c: signetd's Redis key fetcher (daemon/keyfetch.c) against
 * a fake Redis served by the same event loop: a listening socket on
 * 127.0.0.1, a RESP reader for arrays of bulk strings and a table of
 * scripted replies per "HGET hash field" (a string, nil, an error, an
 * integer, a value over KEYFETCH_MAX_KEY_BYTES, no answer, a closed
 * connection). The fake exists only here, in the unit test of the code
 * that talks to Redis; tests/integration/test_redis_keys.py runs the real
 * redis-server behind Postfix. Requirement IDs: FLEET-KEYS-01 config,
 * -02 signing with Redis keys, -03 refresh and switch, -04 outage, -05 no
 * key, -06 bad value, -07 limits and timeouts; REDIS-AUTH-04 AUTH and
 * SELECT first on each connection. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <cmocka.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/listener.h>

#include <signet/key.h>

#include "clock.h"
#include "config.h"
#include "diag.h"
#include "keyfetch.h"
#include "log.h"
#include "signkeys.h"

#define WAIT_MS 3000 /* bound on any wait for a callback in these tests */
#define FAKE_MAX_RULES 16
#define FAKE_MAX_CONNS 8

static char g_pem[2][4096]; /* two ed25519 private keys */
static char g_dir[64];

/* ---- the fake Redis -------------------------------------------------------- */

enum fake_kind { F_BULK, F_NIL, F_ERR, F_INT, F_SILENT, F_CLOSE, F_STATUS_OK };

struct fake_rule {
	char cmd[320]; /* "HGET hash field"; a field "*" matches any field */
	enum fake_kind kind;
	const char *val; /* F_BULK, F_ERR: borrowed */
	size_t len;
};

struct fake {
	struct event_base *base;
	struct evconnlistener *lis;
	struct bufferevent *conns[FAKE_MAX_CONNS];
	bool stalled[FAKE_MAX_CONNS]; /* a command went unanswered: so do all after it */
	unsigned port;
	unsigned accepts, commands;
	char last[320]; /* the last command */
	char log[2048]; /* every command, each followed by '|' (cut at the size) */
	struct fake_rule rules[FAKE_MAX_RULES];
	size_t nrules;
};

static void fake_rule(struct fake *fk, const char *cmd, enum fake_kind kind, const char *val,
		      size_t len)
{
	assert_true(fk->nrules < FAKE_MAX_RULES);
	struct fake_rule *r = &fk->rules[fk->nrules++];
	snprintf(r->cmd, sizeof r->cmd, "%s", cmd);
	r->kind = kind;
	r->val = val;
	r->len = val != NULL && len == 0 ? strlen(val) : len;
}

static const struct fake_rule *fake_match(const struct fake *fk, const char *cmd)
{
	for (size_t k = fk->nrules; k-- > 0;) { /* the last rule given wins */
		const struct fake_rule *r = &fk->rules[k];
		size_t n = strlen(r->cmd);
		if (strcmp(r->cmd, cmd) == 0 ||
		    (n > 0 && r->cmd[n - 1] == '*' && strncmp(r->cmd, cmd, n - 1) == 0))
			return r;
	}
	return NULL;
}

static void fake_drop(struct fake *fk, struct bufferevent *bev)
{
	for (size_t k = 0; k < FAKE_MAX_CONNS; k++)
		if (fk->conns[k] == bev)
			fk->conns[k] = NULL;
	bufferevent_free(bev);
}

/* Redis answers in order: once one command is left unanswered (F_SILENT,
 * a hung server), the commands after it on that connection are too. */
static bool *fake_stalled(struct fake *fk, const struct bufferevent *bev)
{
	for (size_t k = 0; k < FAKE_MAX_CONNS; k++)
		if (fk->conns[k] == bev)
			return &fk->stalled[k];
	fail_msg("not a fake connection");
	return NULL;
}

/* One RESP array of bulk strings from the front of in, joined by spaces
 * into cmd: 1 taken, 0 need more, -1 not RESP. */
static int resp_command(struct evbuffer *in, char *cmd, size_t cap)
{
	size_t avail = evbuffer_get_length(in);
	const char *p = (const char *)evbuffer_pullup(in, -1);
	if (avail == 0)
		return 0;
	if (p[0] != '*')
		return -1;
	char *end;
	size_t off = 1, o = 0;
	const char *nl = memchr(p, '\n', avail);
	if (nl == NULL)
		return 0;
	long nargs = strtol(p + 1, &end, 10);
	off = (size_t)(nl - p) + 1;
	cmd[0] = '\0';
	for (long a = 0; a < nargs; a++) {
		if (off >= avail)
			return 0;
		if (p[off] != '$')
			return -1;
		nl = memchr(p + off, '\n', avail - off);
		if (nl == NULL)
			return 0;
		long len = strtol(p + off + 1, &end, 10);
		off = (size_t)(nl - p) + 1;
		if (len < 0 || off + (size_t)len + 2 > avail)
			return 0;
		int w = snprintf(cmd + o, cap - o, "%s%.*s", a ? " " : "", (int)len, p + off);
		if (w > 0 && (size_t)w < cap - o)
			o += (size_t)w;
		off += (size_t)len + 2;
	}
	evbuffer_drain(in, off);
	return 1;
}

static bool fake_reply(struct fake *fk, struct bufferevent *bev, const char *cmd)
{
	struct evbuffer *out = bufferevent_get_output(bev);
	const struct fake_rule *r = fake_match(fk, cmd);
	bool *stalled = fake_stalled(fk, bev);
	if (*stalled)
		return true;
	if (r == NULL) {
		evbuffer_add_printf(out, "-ERR the test has no reply for %s\r\n", cmd);
		return true;
	}
	switch (r->kind) {
	case F_BULK:
		evbuffer_add_printf(out, "$%zu\r\n", r->len);
		evbuffer_add(out, r->val, r->len);
		evbuffer_add(out, "\r\n", 2);
		return true;
	case F_NIL: evbuffer_add_printf(out, "$-1\r\n"); return true;
	case F_ERR: evbuffer_add_printf(out, "-%s\r\n", r->val); return true;
	case F_INT: evbuffer_add_printf(out, ":42\r\n"); return true;
	case F_STATUS_OK: evbuffer_add_printf(out, "+OK\r\n"); return true;
	case F_SILENT: *stalled = true; return true;
	case F_CLOSE: fake_drop(fk, bev); return false;
	}
	return true;
}

static void fake_read(struct bufferevent *bev, void *arg)
{
	struct fake *fk = arg;
	char cmd[320];
	int got;
	while ((got = resp_command(bufferevent_get_input(bev), cmd, sizeof cmd)) == 1) {
		fk->commands++;
		snprintf(fk->last, sizeof fk->last, "%s", cmd);
		size_t used = strlen(fk->log);
		snprintf(fk->log + used, sizeof fk->log - used, "%s|", cmd);
		if (!fake_reply(fk, bev, cmd))
			return; /* closed */
	}
	if (got < 0)
		fake_drop(fk, bev);
}

static void fake_event(struct bufferevent *bev, short what, void *arg)
{
	if (what & (BEV_EVENT_EOF | BEV_EVENT_ERROR))
		fake_drop(arg, bev);
}

static void fake_accept(struct evconnlistener *lis, evutil_socket_t fd, struct sockaddr *sa,
			int salen, void *arg)
{
	(void)lis, (void)sa, (void)salen;
	struct fake *fk = arg;
	fk->accepts++;
	struct bufferevent *bev = bufferevent_socket_new(fk->base, fd, BEV_OPT_CLOSE_ON_FREE);
	assert_non_null(bev);
	size_t k = 0;
	while (k < FAKE_MAX_CONNS && fk->conns[k] != NULL)
		k++;
	assert_true(k < FAKE_MAX_CONNS);
	fk->conns[k] = bev;
	fk->stalled[k] = false;
	bufferevent_setcb(bev, fake_read, NULL, fake_event, fk);
	bufferevent_enable(bev, EV_READ | EV_WRITE);
}

static void fake_start(struct fake *fk, struct event_base *base)
{
	memset(fk, 0, sizeof *fk);
	fk->base = base;
	struct sockaddr_in sin = {.sin_family = AF_INET, .sin_port = 0};
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	fk->lis = evconnlistener_new_bind(base, fake_accept, fk,
					  LEV_OPT_CLOSE_ON_FREE | LEV_OPT_REUSEABLE, 16,
					  (struct sockaddr *)&sin, sizeof sin);
	assert_non_null(fk->lis);
	struct sockaddr_in got;
	socklen_t glen = sizeof got;
	assert_int_equal(
		getsockname(evconnlistener_get_fd(fk->lis), (struct sockaddr *)&got, &glen), 0);
	fk->port = ntohs(got.sin_port);
}

/* Redis goes away: the listener and every connection close. */
static void fake_stop(struct fake *fk)
{
	for (size_t k = 0; k < FAKE_MAX_CONNS; k++)
		if (fk->conns[k] != NULL)
			fake_drop(fk, fk->conns[k]);
	if (fk->lis != NULL)
		evconnlistener_free(fk->lis);
	fk->lis = NULL;
}

/* A loopback port nothing listens on (bound, then closed). */
static unsigned closed_port(void)
{
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in sin = {.sin_family = AF_INET, .sin_port = 0};
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	socklen_t len = sizeof sin;
	assert_int_equal(bind(fd, (struct sockaddr *)&sin, sizeof sin), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&sin, &len), 0);
	close(fd);
	return ntohs(sin.sin_port);
}

/* ---- the fixture: a loop, a fake, a fetcher, a config ---------------------- */

struct fx {
	struct event_base *base;
	struct event *tick; /* EVLOOP_ONCE never blocks for long */
	struct fake fk;
	struct keyfetch *kf;
	struct signetd_config *cfg;
};

static void on_tick(evutil_socket_t fd, short what, void *arg)
{
	(void)fd, (void)what, (void)arg;
}

/* A config as signetd.conf(5) has it: redis { servers; timeout },
 * dkim_signing { use_redis; key_prefix; selector_prefix; redis_refresh }. */
static struct signetd_config *config_redis_text(const char *servers, const char *redis,
						const char *signing, const char *timeout)
{
	char text[1024];
	snprintf(text, sizeof text,
		 "redis { servers = [%s]; timeout = %s; %s }\n"
		 "dkim_signing { use_redis = true; redis_refresh = 1s; %s }\n",
		 servers, timeout, redis, signing);
	struct diags d;
	diags_init(&d);
	struct signetd_config *cfg = NULL;
	if (config_parse("t.conf", (const uint8_t *)text, strlen(text), &cfg, &d) != SIGNET_OK) {
		diags_print(&d, stderr, "  ");
		fail_msg("config did not load: %s", text);
	}
	diags_free(&d);
	return cfg;
}

static struct signetd_config *config_servers(const char *servers, const char *signing,
					     const char *timeout)
{
	return config_redis_text(servers, "", signing, timeout);
}

static struct signetd_config *config_for(unsigned port, const char *signing, const char *timeout)
{
	char servers[64];
	snprintf(servers, sizeof servers, "\"127.0.0.1:%u\"", port);
	return config_servers(servers, signing, timeout);
}

#define BY_PREFIX "key_prefix = \"KEYS\"; selector_prefix = \"SELS\";"
#define BY_CONFIG "key_prefix = \"KEYS\";"

static void fx_open(struct fx *x, const char *signing, const char *timeout)
{
	memset(x, 0, sizeof *x);
	x->base = event_base_new();
	assert_non_null(x->base);
	x->tick = event_new(x->base, -1, EV_PERSIST, on_tick, NULL);
	struct timeval tv = {0, 10000};
	assert_int_equal(event_add(x->tick, &tv), 0);
	fake_start(&x->fk, x->base);
	x->kf = keyfetch_new(x->base);
	assert_non_null(x->kf);
	x->cfg = config_for(x->fk.port, signing, timeout);
}

static void fx_close(struct fx *x)
{
	keyfetch_free(x->kf);
	fake_stop(&x->fk);
	config_free(x->cfg);
	event_free(x->tick);
	event_base_free(x->base);
}

/* What one request got. */
struct got {
	unsigned calls;
	struct signkeys *keys; /* a reference */
	char err[400];
	uint64_t at_ms;
	/* re-entrancy: the callback asks for this domain again */
	struct keyfetch *kf;
	const struct signetd_config *cfg;
	const char *again;
	enum keyfetch_status again_st;
	struct signkeys *again_keys;
	struct keyfetch_req *again_req;
	struct got *again_got;
};

static void got_free(struct got *g)
{
	signkeys_unref(g->keys);
	signkeys_unref(g->again_keys);
	memset(g, 0, sizeof *g);
}

static void on_keys(void *arg, struct signkeys *keys, const char *error);

static enum keyfetch_status get(struct fx *x, const char *domain, const char *const *sels, size_t n,
				struct got *g, struct keyfetch_req **req)
{
	struct keyfetch_req *r = NULL;
	struct signkeys *keys = NULL;
	char err[400];
	enum keyfetch_status st = keyfetch_get(x->kf, x->cfg, domain, sels, n, on_keys, g, &r,
					       &keys, err, sizeof err);
	if (req != NULL)
		*req = r;
	if (st == KEYFETCH_NOW) {
		assert_null(r);
		g->calls++;
		g->keys = keys;
		snprintf(g->err, sizeof g->err, "%s", keys ? "" : err);
		g->at_ms = clock_ms();
	} else {
		assert_non_null(r);
		assert_null(keys);
	}
	return st;
}

static void on_keys(void *arg, struct signkeys *keys, const char *error)
{
	struct got *g = arg;
	g->calls++;
	g->keys = signkeys_ref(keys);
	snprintf(g->err, sizeof g->err, "%s", keys ? "" : (error ? error : "(null)"));
	g->at_ms = clock_ms();
	assert_true(keys != NULL || error != NULL);
	if (g->again != NULL) {
		char err[400];
		g->again_st = keyfetch_get(g->kf, g->cfg, g->again, NULL, 0, on_keys, g->again_got,
					   &g->again_req, &g->again_keys, err, sizeof err);
	}
}

/* Runs the loop until every g[k] has been called or ms passed. */
static void run_until(struct fx *x, struct got *const *g, size_t n, unsigned ms)
{
	uint64_t end = clock_ms() + ms;
	for (;;) {
		bool all = true;
		for (size_t k = 0; k < n; k++)
			all = all && g[k]->calls > 0;
		if (all || clock_ms() >= end)
			return;
		assert_int_not_equal(event_base_loop(x->base, EVLOOP_ONCE), -1);
	}
}

static void run_for(struct fx *x, unsigned ms)
{
	uint64_t end = clock_ms() + ms;
	while (clock_ms() < end)
		assert_int_not_equal(event_base_loop(x->base, EVLOOP_ONCE), -1);
}

/* The answer to one request, waiting for it if it waits. */
static void fetch(struct fx *x, const char *domain, const char *const *sels, size_t n,
		  struct got *g)
{
	memset(g, 0, sizeof *g);
	if (get(x, domain, sels, n, g, NULL) == KEYFETCH_WAIT)
		run_until(x, (struct got *const[]){g}, 1, WAIT_MS);
	assert_int_equal(g->calls, 1);
}

static void assert_err_has(const struct got *g, const char *want)
{
	assert_null(g->keys);
	if (strstr(g->err, want) == NULL)
		fail_msg("error '%s' does not say '%s'", g->err, want);
}

/* ---- log capture (log.c writes to stderr) ---------------------------------- */

static char g_log[16384];
static int g_saved_stderr = -1;

static void log_start(void)
{
	char path[128];
	snprintf(path, sizeof path, "%s/log", g_dir);
	fflush(stderr);
	g_saved_stderr = dup(2);
	assert_non_null(freopen(path, "w", stderr));
}

static void log_end(void)
{
	char path[128];
	snprintf(path, sizeof path, "%s/log", g_dir);
	fflush(stderr);
	assert_int_not_equal(dup2(g_saved_stderr, 2), -1);
	close(g_saved_stderr);
	FILE *f = fopen(path, "r");
	assert_non_null(f);
	size_t n = fread(g_log, 1, sizeof g_log - 1, f);
	g_log[n] = '\0';
	fclose(f);
}

static unsigned count_of(const char *hay, const char *needle)
{
	unsigned n = 0;
	for (const char *p = hay; (p = strstr(p, needle)) != NULL; p += strlen(needle))
		n++;
	return n;
}

/* ---- setup ----------------------------------------------------------------- */

static int group_setup(void **state)
{
	(void)state;
	for (size_t k = 0; k < 2; k++) {
		struct signet_error err = {0};
		struct signet_key *key = NULL;
		size_t len;
		if (signet_key_generate(SIGNET_KEY_ED25519, 0, &key, &err) != SIGNET_OK ||
		    signet_key_write_pem(key, g_pem[k], sizeof g_pem[k], &len, &err) != SIGNET_OK)
			return -1;
		signet_key_free(key);
	}
	strcpy(g_dir, "/tmp/signet-keyfetch-XXXXXX");
	if (mkdtemp(g_dir) == NULL)
		return -1;
	log_open(true, "mail", false);
	return 0;
}

static int group_teardown(void **state)
{
	(void)state;
	char cmd[128];
	snprintf(cmd, sizeof cmd, "rm -rf %s", g_dir);
	return system(cmd) == 0 ? 0 : -1;
}

/* ---- FLEET-KEYS-02, -03: selector_prefix, the cache, the refresh ----------- */

/* FLEET-KEYS-02: rspamd's lookup: HGET selector_prefix DOMAIN gives the
 * selector, HGET key_prefix "SELECTOR.DOMAIN" the key. FLEET-KEYS-03: the
 * answer is cached for redis_refresh (no command reaches Redis), then the
 * stale value still answers at once while a background HGET refreshes it,
 * and a selector switched in Redis is what the next call gets. */
static void FLEET_KEYS_02_03_selector_prefix_cache_and_refresh(void **state)
{
	(void)state;
	struct fx x;
	fx_open(&x, BY_PREFIX, "1s");
	fake_rule(&x.fk, "HGET SELS example.com", F_BULK, "s2024", 0);
	fake_rule(&x.fk, "HGET KEYS s2024.example.com", F_BULK, g_pem[0], 0);
	fake_rule(&x.fk, "HGET KEYS s2025.example.com", F_BULK, g_pem[1], 0);
	struct got g;
	memset(&g, 0, sizeof g);
	assert_int_equal(get(&x, "example.com", NULL, 0, &g, NULL), KEYFETCH_WAIT);
	assert_int_equal(g.calls, 0); /* never from inside keyfetch_get */
	run_until(&x, (struct got *const[]){&g}, 1, WAIT_MS);
	assert_int_equal(g.calls, 1);
	assert_non_null(g.keys);
	assert_int_equal(g.keys->n, 1);
	assert_string_equal(g.keys->selector[0], "s2024");
	assert_string_equal(g.keys->domain, "example.com");
	assert_int_equal(x.fk.commands, 2);
	assert_int_equal(x.fk.accepts, 1);
	assert_int_equal(keyfetch_cached(x.kf), 1);
	assert_true(keyfetch_redis_up(x.kf));
	got_free(&g);

	/* cached: answered now, nothing asked of Redis */
	assert_int_equal(get(&x, "example.com", NULL, 0, &g, NULL), KEYFETCH_NOW);
	assert_non_null(g.keys);
	assert_string_equal(g.keys->selector[0], "s2024");
	run_for(&x, 50);
	assert_int_equal(x.fk.commands, 2);
	got_free(&g);

	/* the selector is switched in Redis; after redis_refresh (1 s) the
	 * stale value answers now and a background fetch asks again */
	fake_rule(&x.fk, "HGET SELS example.com", F_BULK, "s2025", 0);
	usleep(1100 * 1000);
	assert_int_equal(get(&x, "example.com", NULL, 0, &g, NULL), KEYFETCH_NOW);
	assert_string_equal(g.keys->selector[0], "s2024");
	got_free(&g);
	run_for(&x, 200);
	assert_int_equal(x.fk.commands, 4);
	assert_string_equal(x.fk.last, "HGET KEYS s2025.example.com");
	assert_int_equal(get(&x, "example.com", NULL, 0, &g, NULL), KEYFETCH_NOW);
	assert_string_equal(g.keys->selector[0], "s2025");
	got_free(&g);
	assert_int_equal(x.fk.commands, 4);
	assert_int_equal(x.fk.accepts, 1); /* one connection throughout */
	fx_close(&x);
}

/* FLEET-KEYS-03: a refresh that fails (an error reply, a value that is no
 * key) keeps the keys the entry had, logged; a refresh that finds no
 * selector any more (nil) replaces them: the domain is no longer signed. */
static void FLEET_KEYS_03_failed_refresh_keeps_the_cached_keys(void **state)
{
	(void)state;
	struct fx x;
	fx_open(&x, BY_PREFIX, "1s");
	fake_rule(&x.fk, "HGET SELS example.com", F_BULK, "s1", 0);
	fake_rule(&x.fk, "HGET KEYS s1.example.com", F_BULK, g_pem[0], 0);
	struct got g;
	fetch(&x, "example.com", NULL, 0, &g);
	got_free(&g);
	fake_rule(&x.fk, "HGET KEYS s1.example.com", F_BULK, "not a key", 0);
	usleep(1100 * 1000);
	log_start();
	assert_int_equal(get(&x, "example.com", NULL, 0, &g, NULL), KEYFETCH_NOW);
	got_free(&g);
	run_for(&x, 200);
	log_end();
	assert_int_equal(x.fk.commands, 4);
	if (strstr(g_log, "keys of example.com: Redis hash KEYS field s1.example.com is not a "
			  "usable private key") == NULL ||
	    strstr(g_log, "the cached keys go on signing") == NULL)
		fail_msg("log: %s", g_log);
	assert_int_equal(get(&x, "example.com", NULL, 0, &g, NULL), KEYFETCH_NOW);
	assert_int_equal(g.keys->n, 1);
	assert_string_equal(g.keys->selector[0], "s1");
	got_free(&g);
	run_for(&x, 50);
	assert_int_equal(x.fk.commands, 4); /* tried again after redis_refresh only */
	/* the selector removed: the next refresh says so, and that stands */
	fake_rule(&x.fk, "HGET SELS example.com", F_NIL, NULL, 0);
	usleep(1100 * 1000);
	assert_int_equal(get(&x, "example.com", NULL, 0, &g, NULL), KEYFETCH_NOW);
	assert_int_equal(g.keys->n, 1); /* the stale value, this once */
	got_free(&g);
	run_for(&x, 200);
	assert_int_equal(get(&x, "example.com", NULL, 0, &g, NULL), KEYFETCH_NOW);
	assert_int_equal(g.keys->n, 0);
	assert_string_equal(g.keys->why, "no selector for example.com in Redis hash SELS");
	got_free(&g);
	fx_close(&x);
}

/* FLEET-KEYS-02, -05: without selector_prefix, one HGET per configured
 * selector; a nil one is left out, all nil is "no key" (n == 0, why). */
static void FLEET_KEYS_02_05_configured_selectors(void **state)
{
	(void)state;
	struct fx x;
	fx_open(&x, BY_CONFIG, "1s");
	fake_rule(&x.fk, "HGET KEYS *", F_NIL, NULL, 0);
	fake_rule(&x.fk, "HGET KEYS s1.example.com", F_NIL, NULL, 0);
	fake_rule(&x.fk, "HGET KEYS s2.example.com", F_BULK, g_pem[1], 0);
	const char *sels[] = {"s1", "s2"};
	struct got g;
	fetch(&x, "example.com", sels, 2, &g);
	assert_non_null(g.keys);
	assert_int_equal(g.keys->n, 1);
	assert_string_equal(g.keys->selector[0], "s2");
	assert_int_equal(x.fk.commands, 2);
	got_free(&g);

	fetch(&x, "example.org", sels, 2, &g);
	assert_non_null(g.keys);
	assert_int_equal(g.keys->n, 0);
	assert_string_equal(g.keys->why,
			    "no key in Redis: HGET KEYS s1.example.org, s2.example.org are nil");
	assert_int_equal(x.fk.commands, 4);
	got_free(&g);
	/* the same domain with other selectors is another entry */
	const char *one[] = {"s2"};
	fetch(&x, "example.com", one, 1, &g);
	assert_int_equal(g.keys->n, 1);
	assert_int_equal(x.fk.commands, 5);
	assert_int_equal(keyfetch_cached(x.kf), 3);
	got_free(&g);
	fx_close(&x);
}

/* ---- FLEET-KEYS-05, -06, -07: what Redis may answer ------------------------- */

/* FLEET-KEYS-05: no selector for the domain: n == 0, why names the hash. */
static void FLEET_KEYS_05_nil_selector_names_the_hash(void **state)
{
	(void)state;
	struct fx x;
	fx_open(&x, BY_PREFIX, "1s");
	fake_rule(&x.fk, "HGET SELS example.com", F_NIL, NULL, 0);
	struct got g;
	fetch(&x, "example.com", NULL, 0, &g);
	assert_non_null(g.keys);
	assert_int_equal(g.keys->n, 0);
	assert_string_equal(g.keys->why, "no selector for example.com in Redis hash SELS");
	assert_int_equal(x.fk.commands, 1);
	got_free(&g);
	fx_close(&x);
}

/* FLEET-KEYS-06: a selector value that is not RFC 6376 3.1 labels, up to
 * 63 bytes, is refused with hash and field named; 63 bytes is a selector. */
static void FLEET_KEYS_06_invalid_selector_values(void **state)
{
	(void)state;
	char s63[64], s64[65], field[128];
	memset(s63, 'a', 63), s63[63] = '\0';
	memset(s64, 'a', 64), s64[64] = '\0';
	const char *bad[] = {"a b", "../x", s64, "", "a..b", "x\r\ny"};
	for (size_t k = 0; k < sizeof bad / sizeof bad[0]; k++) {
		struct fx x;
		fx_open(&x, BY_PREFIX, "1s");
		fake_rule(&x.fk, "HGET SELS example.com", F_BULK, bad[k], strlen(bad[k]));
		struct got g;
		fetch(&x, "example.com", NULL, 0, &g);
		assert_err_has(&g, "Redis hash SELS field example.com: '");
		assert_err_has(&g, "' is not a selector");
		assert_int_equal(x.fk.commands, 1); /* no key asked with it */
		assert_int_equal(keyfetch_cached(x.kf), 0);
		got_free(&g);
		fx_close(&x);
	}
	struct fx x;
	fx_open(&x, BY_PREFIX, "1s");
	fake_rule(&x.fk, "HGET SELS example.com", F_BULK, s63, 0);
	snprintf(field, sizeof field, "HGET KEYS %s.example.com", s63);
	fake_rule(&x.fk, field, F_BULK, g_pem[0], 0);
	struct got g;
	fetch(&x, "example.com", NULL, 0, &g);
	assert_non_null(g.keys);
	assert_string_equal(g.keys->selector[0], s63);
	got_free(&g);
	fx_close(&x);
}

/* FLEET-KEYS-06: an error reply's text, an integer, a value that is no
 * private key: errors naming what was asked. */
static void FLEET_KEYS_06_error_integer_and_not_a_key(void **state)
{
	(void)state;
	struct fx x;
	fx_open(&x, BY_PREFIX, "1s");
	fake_rule(&x.fk, "HGET SELS a.example", F_ERR,
		  "WRONGTYPE Operation against a key holding the wrong kind of value", 0);
	fake_rule(&x.fk, "HGET SELS b.example", F_INT, NULL, 0);
	fake_rule(&x.fk, "HGET SELS c.example", F_BULK, "s1", 0);
	fake_rule(&x.fk, "HGET KEYS s1.c.example", F_BULK, "-----BEGIN PRIVATE KEY-----\nxx\n", 0);
	fake_rule(&x.fk, "HGET SELS d.example", F_BULK, "s1", 0);
	fake_rule(&x.fk, "HGET KEYS s1.d.example", F_ERR, "ERR something broke", 0);
	struct got g;
	fetch(&x, "a.example", NULL, 0, &g);
	assert_err_has(&g, "HGET SELS a.example: WRONGTYPE Operation against a key");
	got_free(&g);
	fetch(&x, "b.example", NULL, 0, &g);
	assert_err_has(&g, "HGET SELS b.example: not a string");
	got_free(&g);
	fetch(&x, "c.example", NULL, 0, &g);
	assert_err_has(&g, "Redis hash KEYS field s1.c.example is not a usable private key");
	got_free(&g);
	fetch(&x, "d.example", NULL, 0, &g);
	assert_err_has(&g, "HGET KEYS s1.d.example: ERR something broke");
	got_free(&g);
	/* errors are not cached, and Redis is up all along */
	assert_int_equal(keyfetch_cached(x.kf), 0);
	assert_true(keyfetch_redis_up(x.kf));
	assert_int_equal(x.fk.accepts, 1);
	fx_close(&x);
}

/* FLEET-KEYS-07: KEYFETCH_MAX_KEY_BYTES: one byte over is refused by name;
 * at the limit the value is read (and then found not to be a key). */
static void FLEET_KEYS_07_key_value_bound(void **state)
{
	(void)state;
	size_t big = KEYFETCH_MAX_KEY_BYTES + 1;
	char *v = malloc(big);
	assert_non_null(v);
	memset(v, 'A', big);
	struct fx x;
	fx_open(&x, BY_CONFIG, "1s");
	fake_rule(&x.fk, "HGET KEYS over.example.com", F_BULK, v, big);
	fake_rule(&x.fk, "HGET KEYS at.example.com", F_BULK, v, big - 1);
	struct got g;
	fetch(&x, "example.com", (const char *[]){"over"}, 1, &g);
	assert_err_has(&g, "65537 bytes, over KEYFETCH_MAX_KEY_BYTES (65536)");
	got_free(&g);
	fetch(&x, "example.com", (const char *[]){"at"}, 1, &g);
	assert_err_has(&g, "Redis hash KEYS field at.example.com is not a usable private key");
	got_free(&g);
	fx_close(&x);
	free(v);
}

/* FLEET-KEYS-04: the server closes the connection instead of answering:
 * an error, and the next fetch connects again after the backoff. */
static void FLEET_KEYS_04_connection_closed_by_server(void **state)
{
	(void)state;
	struct fx x;
	fx_open(&x, BY_PREFIX, "1s");
	fake_rule(&x.fk, "HGET SELS example.com", F_CLOSE, NULL, 0);
	struct got g;
	log_start();
	fetch(&x, "example.com", NULL, 0, &g);
	log_end();
	assert_err_has(&g, "Redis 127.0.0.1:");
	assert_false(keyfetch_redis_up(x.kf));
	assert_int_equal(count_of(g_log, "signing goes on with the 0 cached domain keys"), 1);
	got_free(&g);
	fx_close(&x);
}

/* ---- REDIS-AUTH-04: AUTH and SELECT ---------------------------------------- */

/* x's config with redis { password, username, db } (redis is that text). */
static void fx_auth(struct fx *x, const char *redis)
{
	char servers[64];
	snprintf(servers, sizeof servers, "\"127.0.0.1:%u\"", x->fk.port);
	config_free(x->cfg);
	x->cfg = config_redis_text(servers, redis, BY_CONFIG, "1s");
}

/* REDIS-AUTH-04: rspamd's password, username and db: AUTH USER PASSWORD
 * and SELECT DB are the first commands of the connection, in that order,
 * then the HGETs; the key read from database 3 signs. Without a username
 * AUTH has the password alone. */
static void REDIS_AUTH_04_auth_and_select_come_first(void **state)
{
	(void)state;
	struct fx x;
	fx_open(&x, BY_CONFIG, "1s");
	fx_auth(&x, "password = \"pw\"; username = \"signet\"; db = 3;");
	fake_rule(&x.fk, "AUTH signet pw", F_STATUS_OK, NULL, 0);
	fake_rule(&x.fk, "SELECT 3", F_STATUS_OK, NULL, 0);
	fake_rule(&x.fk, "HGET KEYS s1.example.com", F_BULK, g_pem[0], 0);
	const char *sel[] = {"s1"};
	struct got g;
	fetch(&x, "example.com", sel, 1, &g);
	assert_non_null(g.keys);
	assert_int_equal(g.keys->n, 1);
	assert_string_equal(x.fk.log, "AUTH signet pw|SELECT 3|HGET KEYS s1.example.com|");
	assert_true(keyfetch_redis_up(x.kf));
	got_free(&g);
	/* the password alone, database 0: no SELECT */
	fx_auth(&x, "password = \"pw2\";");
	x.fk.log[0] = '\0';
	fake_rule(&x.fk, "AUTH pw2", F_STATUS_OK, NULL, 0);
	fetch(&x, "example.com", sel, 1, &g); /* other credentials: a new connection */
	assert_non_null(g.keys);
	assert_string_equal(x.fk.log, "AUTH pw2|HGET KEYS s1.example.com|");
	assert_int_equal(x.fk.accepts, 2);
	got_free(&g);
	fx_close(&x);
}

/* REDIS-AUTH-04: an error reply to AUTH is the connection's failure: every
 * fetch queued behind it fails with Redis's words (never with a key the
 * server sent after it), the outage is logged once, without the password,
 * and the next fetch waits for the backoff (no new connection). */
static void REDIS_AUTH_04_auth_refused_fails_the_fetches(void **state)
{
	(void)state;
	struct fx x;
	fx_open(&x, BY_CONFIG, "1s");
	fx_auth(&x, "password = \"wrong-secret\";");
	fake_rule(&x.fk, "AUTH wrong-secret", F_ERR,
		  "WRONGPASS invalid username-password pair or user is disabled.", 0);
	fake_rule(&x.fk, "HGET KEYS *", F_BULK, g_pem[0], 0); /* what a broken server might send */
	const char *s1[] = {"s1"}, *s2[] = {"s2"};
	struct got a, b, c;
	memset(&a, 0, sizeof a);
	memset(&b, 0, sizeof b);
	log_start();
	assert_int_equal(get(&x, "a.example", s1, 1, &a, NULL), KEYFETCH_WAIT);
	assert_int_equal(get(&x, "b.example", s2, 1, &b, NULL), KEYFETCH_WAIT);
	run_until(&x, (struct got *const[]){&a, &b}, 2, WAIT_MS);
	fetch(&x, "c.example", s1, 1, &c);
	log_end();
	char want[200];
	snprintf(want, sizeof want,
		 "Redis 127.0.0.1:%u: AUTH: WRONGPASS invalid username-password pair or user is "
		 "disabled.",
		 x.fk.port);
	assert_int_equal(a.calls, 1);
	assert_int_equal(b.calls, 1);
	assert_null(a.keys);
	assert_null(b.keys);
	assert_string_equal(a.err, want);
	assert_string_equal(b.err, want);
	assert_err_has(&c, want);
	assert_err_has(&c, "next try in");
	assert_int_equal(x.fk.accepts, 1);
	assert_false(keyfetch_redis_up(x.kf));
	assert_int_equal(count_of(g_log, "AUTH: WRONGPASS"), 1);
	assert_int_equal(count_of(g_log, "wrong-secret"), 0);
	assert_int_equal(keyfetch_cached(x.kf), 0);
	got_free(&a), got_free(&b), got_free(&c);
	fx_close(&x);
}

/* REDIS-AUTH-04: SELECT refused (a db the server does not have) likewise:
 * "SELECT 20: ERR DB index is out of range", never a key from database 0. */
static void REDIS_AUTH_04_select_refused(void **state)
{
	(void)state;
	struct fx x;
	fx_open(&x, BY_CONFIG, "1s");
	fx_auth(&x, "db = 20;");
	fake_rule(&x.fk, "SELECT 20", F_ERR, "ERR DB index is out of range", 0);
	fake_rule(&x.fk, "HGET KEYS *", F_BULK, g_pem[0], 0);
	const char *s1[] = {"s1"};
	struct got g;
	fetch(&x, "example.com", s1, 1, &g);
	char want[160];
	snprintf(want, sizeof want, "Redis 127.0.0.1:%u: SELECT 20: ERR DB index is out of range",
		 x.fk.port);
	assert_null(g.keys);
	assert_string_equal(g.err, want);
	assert_string_equal(x.fk.log, "SELECT 20|HGET KEYS s1.example.com|");
	assert_false(keyfetch_redis_up(x.kf));
	got_free(&g);
	fx_close(&x);
}

/* ---- FLEET-KEYS-07: timeouts and backoff ------------------------------------ */

/* FLEET-KEYS-07: a server that accepts and never answers: the waiter gets
 * an error within the Redis timeout (200 ms) plus slack; the next fetch
 * fails at once (backoff) without connecting; after the backoff (1 s) a
 * new connection is made. The outage is logged once, not per attempt. */
static void FLEET_KEYS_07_silent_server_timeout_and_backoff(void **state)
{
	(void)state;
	struct fx x;
	fx_open(&x, BY_PREFIX, "0.2s");
	fake_rule(&x.fk, "HGET SELS *", F_SILENT, NULL, 0);
	struct got g;
	memset(&g, 0, sizeof g);
	log_start();
	uint64_t t0 = clock_ms();
	assert_int_equal(get(&x, "example.com", NULL, 0, &g, NULL), KEYFETCH_WAIT);
	run_until(&x, (struct got *const[]){&g}, 1, WAIT_MS);
	uint64_t took = g.at_ms - t0;
	assert_int_equal(g.calls, 1);
	assert_err_has(&g, "no reply within 200 ms");
	print_message("    the hung server's error came after %llu ms (timeout 200 ms)\n",
		      (unsigned long long)took);
	assert_true(took >= 150 && took < 1000);
	assert_int_equal(x.fk.accepts, 1);
	got_free(&g);

	/* in the backoff: fails now, no new connection */
	t0 = clock_ms();
	assert_int_equal(get(&x, "example.org", NULL, 0, &g, NULL), KEYFETCH_NOW);
	assert_err_has(&g, "next try in");
	assert_true(clock_ms() - t0 < 50);
	got_free(&g);
	run_for(&x, 100);
	assert_int_equal(x.fk.accepts, 1);

	/* after the backoff: a new connection, and (still silent) a timeout */
	usleep(1000 * 1000);
	fetch(&x, "example.org", NULL, 0, &g);
	assert_err_has(&g, "no reply within 200 ms");
	assert_int_equal(x.fk.accepts, 2);
	got_free(&g);
	log_end();
	if (count_of(g_log, "signing goes on with the") != 1 ||
	    count_of(g_log, "connected again") != 0)
		fail_msg("the outage is not logged once:\n%s", g_log);
	fx_close(&x);
}

/* FLEET-KEYS-04: an outage (no reply in time), then after the backoff a
 * connection that the server closes: the error is this connection's
 * ("closed"), not the earlier outage's reason, though the outage lasts
 * (and is logged once) until Redis answers. */
static void FLEET_KEYS_04_error_names_this_connections_failure(void **state)
{
	(void)state;
	struct fx x;
	fx_open(&x, BY_PREFIX, "0.2s");
	fake_rule(&x.fk, "HGET SELS *", F_SILENT, NULL, 0);
	struct got g;
	log_start();
	fetch(&x, "example.com", NULL, 0, &g);
	assert_err_has(&g, "no reply within 200 ms");
	got_free(&g);
	fake_rule(&x.fk, "HGET SELS *", F_CLOSE, NULL, 0);
	usleep(1100 * 1000);
	fetch(&x, "example.com", NULL, 0, &g);
	log_end();
	assert_int_equal(x.fk.accepts, 2);
	assert_err_has(&g, "Redis 127.0.0.1:");
	if (strstr(g.err, "closed") == NULL || strstr(g.err, "no reply") != NULL)
		fail_msg("error: %s", g.err);
	assert_int_equal(count_of(g_log, "signing goes on with the"), 1);
	got_free(&g);
	fx_close(&x);
}

/* FLEET-KEYS-04: nothing listens: a never-fetched domain fails quickly; a
 * cached one still answers at once during the outage, also once its
 * refresh is due; the outage is logged once; when Redis is back, it is
 * logged and fetched again. */
static void FLEET_KEYS_04_outage_keeps_cached_keys(void **state)
{
	(void)state;
	struct fx x;
	fx_open(&x, BY_PREFIX, "1s");
	fake_rule(&x.fk, "HGET SELS example.com", F_BULK, "s1", 0);
	fake_rule(&x.fk, "HGET KEYS s1.example.com", F_BULK, g_pem[0], 0);
	struct got g;
	fetch(&x, "example.com", NULL, 0, &g);
	assert_non_null(g.keys);
	got_free(&g);

	log_start();
	fake_stop(&x.fk); /* Redis goes away */
	run_for(&x, 100);
	assert_false(keyfetch_redis_up(x.kf));
	uint64_t t0 = clock_ms();
	fetch(&x, "example.org", NULL, 0, &g);
	assert_true(clock_ms() - t0 < 500);
	assert_err_has(&g, "Redis 127.0.0.1:");
	got_free(&g);
	assert_int_equal(get(&x, "example.com", NULL, 0, &g, NULL), KEYFETCH_NOW);
	assert_non_null(g.keys);
	got_free(&g);
	/* refresh due and backoff over: the cached keys still answer now; the
	 * refresh finds nothing listening */
	usleep(1100 * 1000);
	assert_int_equal(get(&x, "example.com", NULL, 0, &g, NULL), KEYFETCH_NOW);
	assert_non_null(g.keys);
	assert_string_equal(g.keys->selector[0], "s1");
	got_free(&g);
	run_for(&x, 200);
	fetch(&x, "example.org", NULL, 0, &g);
	assert_null(g.keys);
	got_free(&g);
	assert_int_equal(get(&x, "example.com", NULL, 0, &g, NULL), KEYFETCH_NOW);
	assert_non_null(g.keys);
	got_free(&g);
	log_end();
	if (count_of(g_log, "signing goes on with the 1 cached domain key;") != 1)
		fail_msg("the outage is not logged once:\n%s", g_log);
	assert_int_equal(keyfetch_cached(x.kf), 1);
	fx_close(&x);
}

/* FLEET-KEYS-04: a closed port from the start: an error, quickly. */
static void FLEET_KEYS_04_nothing_listening(void **state)
{
	(void)state;
	struct fx x;
	fx_open(&x, BY_PREFIX, "1s");
	config_free(x.cfg);
	x.cfg = config_for(closed_port(), BY_PREFIX, "1s");
	struct got g;
	log_start();
	uint64_t t0 = clock_ms();
	fetch(&x, "example.com", NULL, 0, &g);
	log_end();
	assert_true(clock_ms() - t0 < 500);
	assert_err_has(&g, "Redis 127.0.0.1:");
	assert_err_has(&g, "refused");
	assert_int_equal(count_of(g_log, "signing goes on with the 0 cached domain keys"), 1);
	assert_int_equal(keyfetch_cached(x.kf), 0);
	got_free(&g);
	fx_close(&x);
}

/* FLEET-KEYS-04: with two servers, one that refuses does not hold the
 * next fetch up: the next server is asked at once (the backoff is for a
 * round of servers that all failed). The fetch whose connection failed
 * fails with it (hiredis reports a refused connect after it was made). */
static void FLEET_KEYS_04_next_server_at_once(void **state)
{
	(void)state;
	struct fx x;
	fx_open(&x, BY_PREFIX, "1s");
	fake_rule(&x.fk, "HGET SELS example.com", F_BULK, "s1", 0);
	fake_rule(&x.fk, "HGET KEYS s1.example.com", F_BULK, g_pem[0], 0);
	char servers[80];
	snprintf(servers, sizeof servers, "\"127.0.0.1:%u\", \"127.0.0.1:%u\"", closed_port(),
		 x.fk.port);
	config_free(x.cfg);
	x.cfg = config_servers(servers, BY_PREFIX, "1s");
	struct got g;
	log_start();
	uint64_t t0 = clock_ms();
	fetch(&x, "example.com", NULL, 0, &g);
	if (g.keys == NULL) {
		assert_err_has(&g, "refused");
		got_free(&g);
		fetch(&x, "example.com", NULL, 0, &g);
	}
	log_end();
	if (g.keys == NULL)
		fail_msg("no keys: %s\n%s", g.err, g_log);
	assert_true(clock_ms() - t0 < 500);
	assert_int_equal(x.fk.accepts, 1);
	got_free(&g);
	fx_close(&x);

	/* both refuse: each is tried once (the second at once), then the
	 * backoff holds the round that follows */
	fx_open(&x, BY_PREFIX, "1s");
	unsigned a = closed_port(), b = closed_port();
	char name_a[32], name_b[32];
	snprintf(servers, sizeof servers, "\"127.0.0.1:%u\", \"127.0.0.1:%u\"", a, b);
	snprintf(name_a, sizeof name_a, "Redis 127.0.0.1:%u: ", a);
	snprintf(name_b, sizeof name_b, "Redis 127.0.0.1:%u: ", b);
	config_free(x.cfg);
	x.cfg = config_servers(servers, BY_PREFIX, "1s");
	log_start();
	fetch(&x, "example.com", NULL, 0, &g);
	assert_err_has(&g, name_a);
	assert_err_has(&g, "refused");
	got_free(&g);
	fetch(&x, "example.com", NULL, 0, &g);
	assert_err_has(&g, name_b);
	assert_err_has(&g, "refused");
	got_free(&g);
	fetch(&x, "example.com", NULL, 0, &g);
	log_end();
	assert_err_has(&g, "next try in");
	assert_int_equal(count_of(g_log, "signing goes on with the"), 1);
	got_free(&g);
	fx_close(&x);
}

/* ---- waiters ------------------------------------------------------------------ */

/* FLEET-KEYS-02: several messages for one domain while its first fetch is
 * in flight: one HGET pair, every waiter answered; a cancelled one is not
 * called. */
static void FLEET_KEYS_02_waiters_share_one_fetch_and_cancel(void **state)
{
	(void)state;
	struct fx x;
	fx_open(&x, BY_PREFIX, "1s");
	fake_rule(&x.fk, "HGET SELS example.com", F_BULK, "s1", 0);
	fake_rule(&x.fk, "HGET KEYS s1.example.com", F_BULK, g_pem[0], 0);
	struct got g[4];
	struct keyfetch_req *req[4];
	memset(g, 0, sizeof g);
	for (size_t k = 0; k < 4; k++)
		assert_int_equal(get(&x, "example.com", NULL, 0, &g[k], &req[k]), KEYFETCH_WAIT);
	keyfetch_cancel(req[2]);
	run_until(&x, (struct got *const[]){&g[0], &g[1], &g[3]}, 3, WAIT_MS);
	run_for(&x, 50);
	for (size_t k = 0; k < 4; k++) {
		assert_int_equal(g[k].calls, k == 2 ? 0 : 1);
		if (k != 2)
			assert_string_equal(g[k].keys->selector[0], "s1");
		got_free(&g[k]);
	}
	assert_int_equal(x.fk.commands, 2);
	fx_close(&x);
}

/* A waiter's callback asks again (the next message on its connection):
 * for the domain just fetched it is answered at once, for another it
 * waits and is called later. */
static void FLEET_KEYS_02_callback_may_ask_again(void **state)
{
	(void)state;
	struct fx x;
	fx_open(&x, BY_PREFIX, "1s");
	fake_rule(&x.fk, "HGET SELS *", F_BULK, "s1", 0);
	fake_rule(&x.fk, "HGET KEYS *", F_BULK, g_pem[0], 0);
	struct got a, b, later;
	memset(&a, 0, sizeof a);
	memset(&b, 0, sizeof b);
	memset(&later, 0, sizeof later);
	a.kf = b.kf = x.kf;
	a.cfg = b.cfg = x.cfg;
	a.again = "example.com";
	b.again = "example.org";
	b.again_got = &later;
	assert_int_equal(get(&x, "example.com", NULL, 0, &a, NULL), KEYFETCH_WAIT);
	assert_int_equal(get(&x, "example.com", NULL, 0, &b, NULL), KEYFETCH_WAIT);
	run_until(&x, (struct got *const[]){&a, &b}, 2, WAIT_MS);
	assert_int_equal(a.again_st, KEYFETCH_NOW);
	assert_non_null(a.again_keys);
	assert_string_equal(a.again_keys->domain, "example.com");
	assert_int_equal(b.again_st, KEYFETCH_WAIT);
	assert_int_equal(later.calls, 0);
	run_until(&x, (struct got *const[]){&later}, 1, WAIT_MS);
	assert_int_equal(later.calls, 1);
	assert_string_equal(later.keys->domain, "example.org");
	got_free(&a);
	got_free(&b);
	got_free(&later);
	fx_close(&x);
}

/* ---- FLEET-KEYS-01: a reload ------------------------------------------------------ */

/* FLEET-KEYS-01: a new config with the same Redis settings keeps the cache
 * (answered now) and refreshes it; another key_prefix forgets it. */
static void FLEET_KEYS_01_reload_keeps_or_forgets_the_cache(void **state)
{
	(void)state;
	struct fx x;
	fx_open(&x, BY_PREFIX, "1s");
	fake_rule(&x.fk, "HGET SELS example.com", F_BULK, "s1", 0);
	fake_rule(&x.fk, "HGET KEYS s1.example.com", F_BULK, g_pem[0], 0);
	fake_rule(&x.fk, "HGET OTHER s1.example.com", F_BULK, g_pem[1], 0);
	struct got g;
	fetch(&x, "example.com", NULL, 0, &g);
	got_free(&g);
	assert_int_equal(x.fk.commands, 2);

	struct signetd_config *same = config_for(x.fk.port, BY_PREFIX, "1s");
	config_free(x.cfg);
	x.cfg = same;
	assert_int_equal(get(&x, "example.com", NULL, 0, &g, NULL), KEYFETCH_NOW);
	assert_non_null(g.keys);
	got_free(&g);
	run_for(&x, 200);
	assert_int_equal(x.fk.commands, 4); /* refreshed in the background */
	assert_int_equal(keyfetch_cached(x.kf), 1);

	struct signetd_config *other =
		config_for(x.fk.port, "key_prefix = \"OTHER\"; selector_prefix = \"SELS\";", "1s");
	config_free(x.cfg);
	x.cfg = other;
	memset(&g, 0, sizeof g);
	assert_int_equal(get(&x, "example.com", NULL, 0, &g, NULL), KEYFETCH_WAIT);
	assert_int_equal(keyfetch_cached(x.kf), 1); /* the new entry, in flight */
	run_until(&x, (struct got *const[]){&g}, 1, WAIT_MS);
	assert_non_null(g.keys);
	assert_string_equal(x.fk.last, "HGET OTHER s1.example.com");
	got_free(&g);
	fx_close(&x);
}

/* A reload while a fetch is in flight: its waiter (a message of the old
 * config) still gets keys, not an error: the connection is not dropped
 * when only the hash names changed. */
static void FLEET_KEYS_01_reload_does_not_fail_fetches_in_flight(void **state)
{
	(void)state;
	struct fx x;
	fx_open(&x, BY_PREFIX, "1s");
	fake_rule(&x.fk, "HGET SELS *", F_BULK, "s1", 0);
	fake_rule(&x.fk, "HGET KEYS *", F_BULK, g_pem[0], 0);
	fake_rule(&x.fk, "HGET OTHER *", F_BULK, g_pem[1], 0);
	struct got a, b;
	memset(&a, 0, sizeof a);
	memset(&b, 0, sizeof b);
	assert_int_equal(get(&x, "example.com", NULL, 0, &a, NULL), KEYFETCH_WAIT);
	struct signetd_config *other =
		config_for(x.fk.port, "key_prefix = \"OTHER\"; selector_prefix = \"SELS\";", "1s");
	config_free(x.cfg);
	x.cfg = other;
	assert_int_equal(get(&x, "example.org", NULL, 0, &b, NULL), KEYFETCH_WAIT);
	run_until(&x, (struct got *const[]){&a, &b}, 2, WAIT_MS);
	if (a.keys == NULL)
		fail_msg("the fetch in flight failed: %s", a.err);
	assert_non_null(b.keys);
	assert_int_equal(x.fk.accepts, 1);
	got_free(&a);
	got_free(&b);
	fx_close(&x);
}

/* FLEET-KEYS-01: a reloaded config may be allocated where the freed one
 * was: the same pointer with another key_prefix is still a new config
 * (the settings are compared, not the address). */
static void FLEET_KEYS_01_reload_at_the_same_address(void **state)
{
	(void)state;
	struct fx x;
	fx_open(&x, BY_PREFIX, "1s");
	fake_rule(&x.fk, "HGET SELS example.com", F_BULK, "s1", 0);
	fake_rule(&x.fk, "HGET KEYS s1.example.com", F_BULK, g_pem[0], 0);
	fake_rule(&x.fk, "HGET OTHER s1.example.com", F_BULK, g_pem[1], 0);
	struct got g;
	fetch(&x, "example.com", NULL, 0, &g);
	got_free(&g);
	/* the new config in the old one's place */
	free(x.cfg->signing.key_prefix);
	x.cfg->signing.key_prefix = strdup("OTHER");
	assert_non_null(x.cfg->signing.key_prefix);
	memset(&g, 0, sizeof g);
	assert_int_equal(get(&x, "example.com", NULL, 0, &g, NULL), KEYFETCH_WAIT);
	run_until(&x, (struct got *const[]){&g}, 1, WAIT_MS);
	assert_non_null(g.keys);
	assert_string_equal(x.fk.last, "HGET OTHER s1.example.com");
	got_free(&g);
	/* and the same settings again: answered from the cache, nothing sent */
	unsigned before = x.fk.commands;
	assert_int_equal(get(&x, "example.com", NULL, 0, &g, NULL), KEYFETCH_NOW);
	got_free(&g);
	run_for(&x, 50);
	assert_int_equal(x.fk.commands, before);
	fx_close(&x);
}

/* ---- FLEET-KEYS-07: bounds and teardown --------------------------------------- */

/* KEYFETCH_MAX_ENTRIES: the cache stops there; the least recently used
 * entry is the one that goes. */
static void FLEET_KEYS_07_cache_bounded_lru(void **state)
{
	(void)state;
	struct fx x;
	fx_open(&x, BY_CONFIG, "5s");
	fake_rule(&x.fk, "HGET KEYS *", F_NIL, NULL, 0);
	const char *sel[] = {"s1"};
	static struct got g[1000];
	char name[64];
	for (size_t base = 0; base < KEYFETCH_MAX_ENTRIES; base += 1000) {
		memset(g, 0, sizeof g);
		for (size_t k = 0; k < 1000; k++) {
			snprintf(name, sizeof name, "d%zu.example", base + k);
			assert_int_equal(get(&x, name, sel, 1, &g[k], NULL), KEYFETCH_WAIT);
		}
		struct got *all[1000];
		for (size_t k = 0; k < 1000; k++)
			all[k] = &g[k];
		run_until(&x, all, 1000, 10000);
		for (size_t k = 0; k < 1000; k++) {
			assert_int_equal(g[k].calls, 1);
			assert_int_equal(g[k].keys->n, 0);
			got_free(&g[k]);
		}
	}
	assert_int_equal(keyfetch_cached(x.kf), KEYFETCH_MAX_ENTRIES);
	struct got one;
	memset(&one, 0, sizeof one);
	assert_int_equal(get(&x, "d0.example", sel, 1, &one, NULL), KEYFETCH_NOW); /* used */
	got_free(&one);
	snprintf(name, sizeof name, "d%d.example", KEYFETCH_MAX_ENTRIES);
	fetch(&x, name, sel, 1, &one); /* one more */
	got_free(&one);
	assert_int_equal(keyfetch_cached(x.kf), KEYFETCH_MAX_ENTRIES);
	assert_int_equal(get(&x, "d0.example", sel, 1, &one, NULL), KEYFETCH_NOW);
	got_free(&one);
	assert_int_equal(get(&x, "d2.example", sel, 1, &one, NULL), KEYFETCH_NOW);
	got_free(&one);
	assert_int_equal(get(&x, "d1.example", sel, 1, &one, NULL), KEYFETCH_WAIT); /* gone */
	run_until(&x, (struct got *const[]){&one}, 1, WAIT_MS);
	got_free(&one);
	assert_int_equal(keyfetch_cached(x.kf), KEYFETCH_MAX_ENTRIES);
	fx_close(&x);
}

/* FLEET-KEYS-07: too many selectors or a domain over 253 bytes: an error
 * at once, nothing sent. */
static void FLEET_KEYS_07_request_bounds(void **state)
{
	(void)state;
	struct fx x;
	fx_open(&x, BY_CONFIG, "1s");
	char domain[300];
	memset(domain, 'a', 254), domain[254] = '\0';
	const char *sels[SIGNET_MAX_SIGNERS + 1];
	for (size_t k = 0; k <= SIGNET_MAX_SIGNERS; k++)
		sels[k] = "s1";
	struct got g;
	memset(&g, 0, sizeof g);
	assert_int_equal(get(&x, domain, sels, 1, &g, NULL), KEYFETCH_NOW);
	assert_err_has(&g, "too many or too long selectors");
	got_free(&g);
	assert_int_equal(get(&x, "example.com", sels, SIGNET_MAX_SIGNERS + 1, &g, NULL),
			 KEYFETCH_NOW);
	assert_err_has(&g, "too many or too long selectors");
	got_free(&g);
	run_for(&x, 50);
	assert_int_equal(x.fk.commands, 0);
	fx_close(&x);
}

/* keyfetch_free with fetches in flight and waiters: no callback, no leak
 * (the ASan build checks the leak). */
static void FLEET_KEYS_07_free_with_fetches_in_flight(void **state)
{
	(void)state;
	struct fx x;
	fx_open(&x, BY_PREFIX, "1s");
	fake_rule(&x.fk, "HGET SELS a.example", F_SILENT, NULL, 0);
	fake_rule(&x.fk, "HGET SELS b.example", F_BULK, "s1", 0);
	fake_rule(&x.fk, "HGET KEYS s1.b.example", F_SILENT, NULL, 0);
	fake_rule(&x.fk, "HGET SELS c.example", F_ERR, "ERR no", 0);
	struct got g[4];
	memset(g, 0, sizeof g);
	/* c's selector is an error, b's selector comes and its key is asked
	 * after a's selector, on which the server hangs */
	assert_int_equal(get(&x, "c.example", NULL, 0, &g[3], NULL), KEYFETCH_WAIT);
	assert_int_equal(get(&x, "b.example", NULL, 0, &g[2], NULL), KEYFETCH_WAIT);
	assert_int_equal(get(&x, "a.example", NULL, 0, &g[0], NULL), KEYFETCH_WAIT);
	assert_int_equal(get(&x, "a.example", NULL, 0, &g[1], NULL), KEYFETCH_WAIT);
	/* run until b's key is asked and c's error is in (its waiter answered
	 * from the loop, or not yet) */
	uint64_t end = clock_ms() + WAIT_MS;
	while (x.fk.commands < 4 && clock_ms() < end)
		assert_int_not_equal(event_base_loop(x.base, EVLOOP_ONCE), -1);
	assert_int_equal(x.fk.commands, 4);
	unsigned before = g[3].calls;
	keyfetch_free(x.kf);
	x.kf = NULL;
	run_for(&x, 100);
	for (size_t k = 0; k < 3; k++)
		if (g[k].calls != 0)
			fail_msg("waiter %zu called: %s", k, g[k].err);
	assert_int_equal(g[3].calls, before);
	for (size_t k = 0; k < 4; k++)
		got_free(&g[k]);
	fx_close(&x);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(FLEET_KEYS_02_03_selector_prefix_cache_and_refresh),
		cmocka_unit_test(FLEET_KEYS_03_failed_refresh_keeps_the_cached_keys),
		cmocka_unit_test(FLEET_KEYS_02_05_configured_selectors),
		cmocka_unit_test(FLEET_KEYS_05_nil_selector_names_the_hash),
		cmocka_unit_test(FLEET_KEYS_06_invalid_selector_values),
		cmocka_unit_test(FLEET_KEYS_06_error_integer_and_not_a_key),
		cmocka_unit_test(FLEET_KEYS_07_key_value_bound),
		cmocka_unit_test(FLEET_KEYS_04_connection_closed_by_server),
		cmocka_unit_test(REDIS_AUTH_04_auth_and_select_come_first),
		cmocka_unit_test(REDIS_AUTH_04_auth_refused_fails_the_fetches),
		cmocka_unit_test(REDIS_AUTH_04_select_refused),
		cmocka_unit_test(FLEET_KEYS_07_silent_server_timeout_and_backoff),
		cmocka_unit_test(FLEET_KEYS_04_outage_keeps_cached_keys),
		cmocka_unit_test(FLEET_KEYS_04_nothing_listening),
		cmocka_unit_test(FLEET_KEYS_04_error_names_this_connections_failure),
		cmocka_unit_test(FLEET_KEYS_04_next_server_at_once),
		cmocka_unit_test(FLEET_KEYS_02_waiters_share_one_fetch_and_cancel),
		cmocka_unit_test(FLEET_KEYS_02_callback_may_ask_again),
		cmocka_unit_test(FLEET_KEYS_01_reload_keeps_or_forgets_the_cache),
		cmocka_unit_test(FLEET_KEYS_01_reload_does_not_fail_fetches_in_flight),
		cmocka_unit_test(FLEET_KEYS_01_reload_at_the_same_address),
		cmocka_unit_test(FLEET_KEYS_07_cache_bounded_lru),
		cmocka_unit_test(FLEET_KEYS_07_request_bounds),
		cmocka_unit_test(FLEET_KEYS_07_free_with_fetches_in_flight),
	};
	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
