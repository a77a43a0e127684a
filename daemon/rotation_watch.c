/* rotation_watch.c: the rotation checks of the running daemon
 * (rotation_watch.h). One round: load the state file (signet rotate may
 * have added a selector since the last round), look up each selector that
 * waits for DNS, judge each answer, then let rotation.h step every entry
 * with the clock, save, log and reload on a switch. Runs on the main loop,
 * which only waits on signals and DNS.
 * Fleet mode (dkim_signing.use_redis, issue #17): the state is in Redis
 * (conf/rotation_redis.h), read and written synchronously from this main
 * loop (never a worker's); the steps are applied to the state as stored at
 * the write, atomically, with the switch's HSET selector_prefix and the
 * retirement's HDEL key_prefix in the same EXEC; a host that sees another
 * host's switch reloads too. A Redis failure is logged once and the round
 * is taken again next interval. */
#include "rotation_watch.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/types.h>
#include <time.h>

#include <event2/event.h>

#include <signet/key.h>
#include <signet/keyrec.h>

#include "config.h"
#include "fileread.h"
#include "log.h"
#include "metrics.h"
#include "redis_client.h"
#include "rotation.h"
#include "rotation_redis.h"
#include "runtime.h"

#define WATCH_IDLE_RECHECK 3600.0 /* seconds: with dns.health_interval = 0, state file re-read */

struct watch_item {
	struct rotation_watch *w;
	size_t idx; /* in w->st */
	struct dns_query *q;
	char name[330];
	struct rotation_obs obs;
	char problem[ROTATION_NOTE_MAX];
	bool answered;
};

struct rotation_watch {
	struct event_base *base;
	struct dns_resolver *dns;
	struct event *timer;
	rotation_runtime_fn get;
	rotation_changed_fn changed;
	void *arg;
	struct runtime *rt; /* held while a round runs */
	struct rotation st;
	struct watch_item *items;
	size_t nitems, pending;
	bool running;
	/* fleet mode */
	struct redis_client *redis; /* this round's connection (main loop only) */
	bool redis_failing;         /* an error was logged; the next success says so */
	bool warned_selectors;      /* "needs selector_prefix" was logged */
	bool other_switched;        /* this round's state has another host's switch */
	char *last_active;          /* "domain selector\n" of every active entry, last round */
};

static void arm(struct rotation_watch *w, double seconds)
{
	struct timeval tv = {(time_t)seconds, 0};
	if (evtimer_add(w->timer, &tv) != 0)
		log_msg(LOG_LVL_ERR, "key rotation: cannot arm the timer; checks stop");
}

static const char *state_path(const struct signetd_config *cfg)
{
	return cfg->rotation_state != NULL ? cfg->rotation_state : ROTATION_DEFAULT_STATE;
}

static struct signet_key *parse_key(const uint8_t *p, size_t len, const char *name, char *why,
				    size_t cap)
{
	struct signet_key *key = NULL;
	struct signet_error err = {0};
	if (signet_key_parse(p, len, &key, &err) != SIGNET_OK) {
		snprintf(why, cap, "%.100s: %.150s", name, err.msg);
		key = NULL;
	}
	return key;
}

/* Fleet mode: HGET hash "SELECTOR.DOMAIN". */
static struct signet_key *redis_key(struct rotation_watch *w, const struct rotation_entry *e,
				    const char *hash, char *why, size_t cap)
{
	char field[ROTATION_REDIS_FIELD_MAX], *pem = NULL;
	size_t len = 0;
	snprintf(field, sizeof field, "%s.%s", e->selector, e->domain);
	enum redis_result r = w->redis == NULL
				      ? REDIS_R_ERROR
				      : redis_client_hget(w->redis, hash, field, FILEREAD_MAX_KEY,
							  "FILEREAD_MAX_KEY", &pem, &len);
	if (r != REDIS_R_OK) {
		snprintf(why, cap, "%s",
			 r == REDIS_R_MISSING ? "not in Redis (HGET key_prefix SELECTOR.DOMAIN)"
			 : w->redis           ? redis_client_error(w->redis)
					      : "no Redis connection");
		return NULL;
	}
	struct signet_key *key = parse_key((const uint8_t *)pem, len, field, why, cap);
	explicit_bzero(pem, len);
	free(pem);
	return key;
}

static struct signet_key *load_key(const char *path, char *why, size_t cap)
{
	struct fileread_file f;
	struct fileread_error e;
	if (fileread(path, FILEREAD_CAP(FILEREAD_MAX_KEY), &f, &e) != FILEREAD_OK) {
		snprintf(why, cap, "%.200s", e.why);
		return NULL;
	}
	struct signet_key *key = parse_key(f.data, f.len, path, why, cap);
	fileread_free(&f);
	return key;
}

/* One record against the key: NULL when it holds this key and nothing is
 * wrong with it; else the problem (signet_keyrec_check's judgment). */
static const char *judge_record(const struct signet_txt *t, const struct signet_key *key, char *buf,
				size_t cap)
{
	struct signet_keyrec_report rep;
	struct signet_error err = {0};
	if (signet_keyrec_check(t->p, t->len, key, &rep, &err) != SIGNET_OK) {
		snprintf(buf, cap, "cannot be checked: %s", err.msg);
		return buf;
	}
	for (size_t k = 0; k < rep.n; k++) {
		if (rep.f[k].code == SIGNET_KEYREC_MISMATCH) {
			snprintf(buf, cap, "the record holds another key than the new key file");
			return buf;
		}
		if (rep.f[k].severity == SIGNET_KEYREC_PROBLEM) {
			snprintf(buf, cap, "%s", rep.f[k].msg);
			return buf;
		}
	}
	return NULL;
}

static void judge(struct watch_item *it, const struct dns_answer *a)
{
	const struct rotation_entry *e = &it->w->st.v[it->idx];
	it->obs = (struct rotation_obs){.kind = ROT_OBS_TEMPFAIL};
	if (a->status == SIGNET_DNS_TEMPFAIL)
		return;
	if (a->status == SIGNET_DNS_NXDOMAIN || a->nrecords == 0) {
		it->obs.kind = ROT_OBS_ABSENT;
		return;
	}
	it->obs.kind = ROT_OBS_WRONG;
	it->obs.problem = it->problem;
	if (a->nrecords > 1) {
		snprintf(it->problem, sizeof it->problem,
			 "%zu TXT records; verifiers may use any of them: keep only the new key's",
			 a->nrecords);
		return;
	}
	const char *hash = rotation_key_hash(e);
	struct signet_key *key = hash ? redis_key(it->w, e, hash, it->problem, sizeof it->problem)
				      : load_key(e->path, it->problem, sizeof it->problem);
	if (key == NULL) {
		it->obs.kind = ROT_OBS_TEMPFAIL; /* our file, not DNS: nothing decided */
		log_msg(LOG_LVL_WARN, "key rotation: %s selector %s: cannot read its key: %s",
			e->domain, e->selector, it->problem);
		return;
	}
	if (judge_record(&a->records[0], key, it->problem, sizeof it->problem) == NULL)
		it->obs = (struct rotation_obs){.kind = ROT_OBS_MATCH, .ttl = a->ttl};
	signet_key_free(key);
}

static void finish(struct rotation_watch *w);

static void on_answer(void *arg, const struct dns_answer *a)
{
	struct watch_item *it = arg;
	it->q = NULL;
	judge(it, a);
	it->answered = true;
	if (--it->w->pending == 0)
		finish(it->w);
}

static void log_event(const struct rotation_entry *e, enum rotation_event ev,
		      const struct rotation *st, uint64_t retire_after)
{
	char when[32];
	time_t t = (time_t)e->wait_until;
	struct tm tm;
	switch (ev) {
	case ROT_EV_SEEN:
		gmtime_r(&t, &tm);
		strftime(when, sizeof when, "%Y-%m-%d %H:%M:%S UTC", &tm);
		log_msg(LOG_LVL_INFO,
			"key rotation: %s selector %s: the record matches the key; switching at %s "
			"(after its TTL)",
			e->domain, e->selector, when);
		break;
	case ROT_EV_WRONG:
		log_msg(LOG_LVL_WARN,
			"key rotation: %s selector %s: the published record is wrong: %s; fix: "
			"signet dnscheck -d %s -s %s -k %s",
			e->domain, e->selector, e->note, e->domain, e->selector, e->path);
		break;
	case ROT_EV_GONE:
		log_msg(LOG_LVL_WARN,
			"key rotation: %s selector %s: the record is gone again; waiting for it",
			e->domain, e->selector);
		break;
	case ROT_EV_SWITCHED:
		for (size_t k = 0; k < st->n; k++)
			if (st->v[k].state == ROT_RETIRING && st->v[k].since == e->since &&
			    strcmp(st->v[k].domain, e->domain) == 0)
				log_msg(LOG_LVL_INFO,
					"key rotation: %s now signs with selector %s (was %s); "
					"keep "
					"%s._domainkey.%s published for %.0f more days",
					e->domain, e->selector, st->v[k].selector,
					st->v[k].selector, e->domain,
					(double)retire_after / 86400.0);
		break;
	default: break;
	}
}

static void on_retired(const struct rotation_entry *e, void *arg)
{
	(void)arg;
	log_msg(LOG_LVL_WARN,
		"key rotation: %s selector %s retired: signetd no longer loads it; replace its "
		"record with a revoked one: %s._domainkey.%s. IN TXT \"v=DKIM1; p=\"",
		e->domain, e->selector, e->selector, e->domain);
}

static void publish_metrics(const struct rotation *st)
{
	struct metrics_rotation *v = st->n ? calloc(st->n, sizeof *v) : NULL;
	if (st->n > 0 && v == NULL)
		return;
	for (size_t k = 0; k < st->n; k++)
		v[k] = (struct metrics_rotation){st->v[k].domain, st->v[k].selector,
						 rotation_state_name(st->v[k].state),
						 st->v[k].checked};
	if (metrics_rotation_set(metrics_process(), v, st->n) != SIGNET_OK)
		log_msg(LOG_LVL_WARN, "key rotation: out of memory; metrics not updated");
	free(v);
}

static void end_round(struct rotation_watch *w)
{
	double next = w->rt != NULL && w->rt->cfg->dns_health_interval > 0
			      ? w->rt->cfg->dns_health_interval
			      : WATCH_IDLE_RECHECK;
	runtime_unref(w->rt);
	w->rt = NULL;
	free(w->items);
	w->items = NULL;
	w->nitems = 0;
	rotation_free(&w->st);
	redis_client_free(w->redis);
	w->redis = NULL;
	w->other_switched = false;
	w->running = false;
	arm(w, next);
}

/* ---- fleet mode: the state in Redis ---------------------------------------- */

static bool fleet(const struct signetd_config *cfg)
{
	return cfg->signing.use_redis;
}

static const char *redis_key_of(const struct signetd_config *cfg)
{
	return cfg->rotation_redis_key != NULL ? cfg->rotation_redis_key
					       : ROTATION_DEFAULT_REDIS_KEY;
}

/* Logged once until Redis answers again (each round retries). */
static void redis_trouble(struct rotation_watch *w, const char *why)
{
	if (!w->redis_failing)
		log_msg(LOG_LVL_ERR,
			"key rotation: %s; the state stays as it is in Redis, checked again every "
			"dns.health_interval (this is logged once until Redis answers)",
			why);
	w->redis_failing = true;
}

static void redis_fine(struct rotation_watch *w)
{
	if (w->redis_failing)
		log_msg(LOG_LVL_INFO, "key rotation: Redis %s answers again",
			redis_client_server(w->redis));
	w->redis_failing = false;
}

/* "domain selector\n" of every active entry: what the fleet signs with. */
static char *active_list(const struct rotation *st)
{
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);
	if (f == NULL)
		return NULL;
	for (size_t k = 0; k < st->n; k++)
		if (st->v[k].state == ROT_ACTIVE)
			fprintf(f, "%s %s\n", st->v[k].domain, st->v[k].selector);
	if (fclose(f) != 0) {
		free(text);
		return NULL;
	}
	return text;
}

/* Whether the active selectors differ from the last look (not on the
 * first); remembers these. */
static bool active_changed(struct rotation_watch *w, const struct rotation *st)
{
	char *now = active_list(st);
	if (now == NULL)
		return false;
	bool changed = w->last_active != NULL && strcmp(now, w->last_active) != 0;
	free(w->last_active);
	w->last_active = now;
	return changed;
}

static bool fleet_load(struct rotation_watch *w, struct rotation *st)
{
	const struct signetd_config *cfg = w->rt->cfg;
	const struct config_redis *r = config_signing_redis(cfg);
	char why[REDIS_CLIENT_ERROR_MAX];
	struct redis_auth auth = redis_client_auth_of(r);
	w->redis = redis_client_connect((const char *const *)r->servers, r->n_servers, r->timeout,
					&auth, why, sizeof why);
	if (w->redis == NULL) {
		redis_trouble(w, why);
		return false;
	}
	struct diags d;
	diags_init(&d);
	bool ok = rotation_redis_load(w->redis, redis_key_of(cfg), st, &d);
	if (!ok)
		redis_trouble(w, d.n ? d.v[0].msg : "the state cannot be read");
	else
		redis_fine(w);
	diags_free(&d);
	if (ok && active_changed(w, st))
		w->other_switched = true; /* another host switched since our last round */
	return ok;
}

/* What one transaction try did, logged only once it is stored. */
struct fleet_step {
	struct rotation_watch *w;
	uint64_t now, after;
	enum rotation_event *ev; /* per item */
	struct rotation_entry *retired;
	size_t nretired;
	struct diags *d;
};

static ssize_t find_entry(const struct rotation *r, const struct rotation_entry *e)
{
	for (size_t k = 0; k < r->n; k++)
		if (strcasecmp(r->v[k].domain, e->domain) == 0 &&
		    strcasecmp(r->v[k].selector, e->selector) == 0)
			return (ssize_t)k;
	return -1;
}

static void fleet_retired(const struct rotation_entry *e, void *arg)
{
	struct fleet_step *fs = arg;
	fs->retired[fs->nretired++] = *e;
}

/* The switch: every host signs with the new selector (selector_prefix). */
static bool fleet_observe(struct fleet_step *fs, struct rotation *r, struct rotation_redis_tx *tx,
			  bool *changed)
{
	struct rotation_watch *w = fs->w;
	const char *sp = w->rt->cfg->signing.selector_prefix;
	for (size_t k = 0; k < w->nitems; k++) {
		struct watch_item *it = &w->items[k];
		ssize_t idx = it->answered ? find_entry(r, &w->st.v[it->idx]) : -1;
		fs->ev[k] = ROT_EV_NONE;
		if (idx < 0)
			continue; /* gone, or not answered */
		uint64_t before = r->v[idx].checked;
		fs->ev[k] = rotation_observe(r, (size_t)idx, &it->obs, fs->now);
		*changed |= fs->ev[k] != ROT_EV_NONE || r->v[idx].checked != before;
		if (fs->ev[k] == ROT_EV_SWITCHED &&
		    !rotation_redis_hset(tx, sp, r->v[idx].domain, r->v[idx].selector, fs->d))
			return false;
	}
	return true;
}

/* The retirement: signetd stops loading the key (HDEL key_prefix). */
static bool fleet_retire(struct fleet_step *fs, struct rotation *r, struct rotation_redis_tx *tx,
			 bool *changed)
{
	fs->nretired = 0;
	*changed |= rotation_tick(r, fs->now, fs->after, fleet_retired, fs) > 0;
	for (size_t k = 0; k < fs->nretired; k++) {
		const struct rotation_entry *e = &fs->retired[k];
		const char *hash = rotation_key_hash(e);
		char field[ROTATION_REDIS_FIELD_MAX];
		snprintf(field, sizeof field, "%s.%s", e->selector, e->domain);
		if (hash != NULL && !rotation_redis_hdel(tx, hash, field, fs->d))
			return false;
	}
	return true;
}

static enum rotation_redis_change fleet_change(struct rotation *r, struct rotation_redis_tx *tx,
					       void *arg, struct diags *d)
{
	struct fleet_step *fs = arg;
	bool changed = false;
	fs->d = d;
	fs->retired = realloc(fs->retired, (r->n ? r->n : 1) * sizeof *fs->retired);
	if (fs->retired == NULL) {
		diags_add(d, DIAG_ERROR, "out of memory");
		return ROT_REDIS_ABORT;
	}
	if (!fleet_observe(fs, r, tx, &changed) || !fleet_retire(fs, r, tx, &changed))
		return ROT_REDIS_ABORT;
	return changed ? ROT_REDIS_WRITE : ROT_REDIS_KEEP;
}

/* The steps, applied to the state as it is in Redis at the write; logged,
 * and the keys reloaded, once stored. */
static void fleet_finish(struct rotation_watch *w, uint64_t now, uint64_t after)
{
	const struct signetd_config *cfg = w->rt->cfg;
	struct fleet_step fs = {.w = w, .now = now, .after = after};
	struct rotation out;
	struct diags d;
	bool own = false;
	fs.ev = calloc(w->nitems ? w->nitems : 1, sizeof *fs.ev);
	diags_init(&d);
	bool ok = fs.ev != NULL &&
		  rotation_redis_update(w->redis, redis_key_of(cfg), fleet_change, &fs, &out, &d);
	if (!ok) {
		redis_trouble(w, d.n ? d.v[0].msg : "out of memory");
	} else {
		for (size_t k = 0; k < w->nitems; k++) {
			ssize_t idx = find_entry(&out, &w->st.v[w->items[k].idx]);
			if (idx >= 0 && fs.ev[k] != ROT_EV_NONE)
				log_event(&out.v[idx], fs.ev[k], &out, after);
			own |= fs.ev[k] == ROT_EV_SWITCHED;
		}
		for (size_t k = 0; k < fs.nretired; k++)
			on_retired(&fs.retired[k], NULL);
		/* a host that lost the race to the switch sees it here */
		if (active_changed(w, &out) && !own)
			w->other_switched = true;
		own |= fs.nretired > 0;
		publish_metrics(&out);
		rotation_free(&out);
	}
	diags_free(&d);
	free(fs.ev);
	free(fs.retired);
	if (w->other_switched)
		log_msg(LOG_LVL_INFO,
			"key rotation: another signetd switched a selector (the Redis "
			"state); reloading so that this one signs with it too");
	if (own || w->other_switched)
		w->changed(w->arg);
}

static void finish(struct rotation_watch *w)
{
	const struct signetd_config *cfg = w->rt->cfg;
	uint64_t now = (uint64_t)time(NULL), after = (uint64_t)cfg->rotation_retire_after;
	bool changed = false, reload = false;
	if (w->redis != NULL) {
		fleet_finish(w, now, after);
		end_round(w);
		return;
	}
	for (size_t k = 0; k < w->nitems; k++) {
		struct watch_item *it = &w->items[k];
		if (!it->answered)
			continue;
		uint64_t before = w->st.v[it->idx].checked;
		enum rotation_event ev = rotation_observe(&w->st, it->idx, &it->obs, now);
		changed |= ev != ROT_EV_NONE || w->st.v[it->idx].checked != before;
		reload |= ev == ROT_EV_SWITCHED;
		log_event(&w->st.v[it->idx], ev, &w->st, after);
	}
	size_t retired = rotation_tick(&w->st, now, after, on_retired, NULL);
	changed |= retired > 0;
	reload |= retired > 0;
	struct diags d;
	diags_init(&d);
	if (changed && !rotation_save(state_path(cfg), &w->st, &d))
		log_msg(LOG_LVL_ERR, "key rotation: %s (the step is taken again next round)",
			d.n ? d.v[0].msg : "cannot save the state");
	else if (reload)
		w->changed(w->arg);
	diags_free(&d);
	publish_metrics(&w->st);
	end_round(w);
}

/* Fleet mode switches by HSET selector_prefix: without it nothing is
 * checked (logged once); signet rotate refuses to start such a rotation. */
static bool selectors_known(struct rotation_watch *w)
{
	if (w->rt->cfg->signing.selector_prefix != NULL || w->st.n == 0)
		return true;
	if (!w->warned_selectors)
		log_msg(LOG_LVL_WARN,
			"key rotation: the Redis state lists %zu selector%s, but "
			"dkim_signing.selector_prefix is not set: every signetd learns the "
			"selector to sign with from that hash, so nothing is switched; set "
			"selector_prefix = \"DKIM_SELECTORS\"; in dkim_signing",
			w->st.n, w->st.n == 1 ? "" : "s");
	w->warned_selectors = true;
	return false;
}

static void start_round(struct rotation_watch *w)
{
	struct diags d;
	w->rt = w->get(w->arg);
	if (w->rt == NULL) {
		arm(w, WATCH_IDLE_RECHECK);
		return;
	}
	w->running = true;
	diags_init(&d);
	bool ok = fleet(w->rt->cfg) ? fleet_load(w, &w->st)
				    : rotation_load(state_path(w->rt->cfg), &w->st, &d);
	if (!ok && !fleet(w->rt->cfg))
		log_msg(LOG_LVL_ERR, "key rotation: %s", d.n ? d.v[0].msg : "state not readable");
	diags_free(&d);
	if (fleet(w->rt->cfg) && (!ok || !selectors_known(w))) {
		end_round(w); /* logged; the next round tries again */
		return;
	}
	w->items = ok && w->st.n ? calloc(w->st.n, sizeof *w->items) : NULL;
	for (size_t k = 0; w->items != NULL && k < w->st.n; k++) {
		const struct rotation_entry *e = &w->st.v[k];
		if (!rotation_waits_for_dns(e))
			continue;
		struct watch_item *it = &w->items[w->nitems++];
		*it = (struct watch_item){.w = w, .idx = k};
		snprintf(it->name, sizeof it->name, "%s._domainkey.%s", e->selector, e->domain);
		w->pending++;
		it->q = dns_lookup_txt(w->dns, it->name, on_answer, it);
		if (it->q == NULL)
			w->pending--;
	}
	log_msg(LOG_LVL_DEBUG, "key rotation: %zu selector%s in %s, %zu waiting for DNS", w->st.n,
		w->st.n == 1 ? "" : "s",
		fleet(w->rt->cfg) ? redis_key_of(w->rt->cfg) : state_path(w->rt->cfg), w->nitems);
	if (w->pending == 0)
		finish(w);
}

static void on_timer(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	struct rotation_watch *w = arg;
	if (!w->running)
		start_round(w);
}

struct rotation_watch *rotation_watch_new(struct event_base *base, const struct dns_options *dns,
					  rotation_runtime_fn get, rotation_changed_fn changed,
					  void *arg, char *err, size_t errlen)
{
	struct rotation_watch *w = calloc(1, sizeof *w);
	if (w == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	w->base = base;
	w->get = get;
	w->changed = changed;
	w->arg = arg;
	rotation_init(&w->st);
	w->dns = dns_resolver_new(base, dns, err, errlen);
	w->timer = w->dns ? evtimer_new(base, on_timer, w) : NULL;
	if (w->timer == NULL) {
		rotation_watch_free(w);
		return NULL;
	}
	arm(w, 0);
	return w;
}

void rotation_watch_kick(struct rotation_watch *w)
{
	if (w != NULL && !w->running)
		arm(w, 0);
}

void rotation_watch_free(struct rotation_watch *w)
{
	if (w == NULL)
		return;
	for (size_t k = 0; k < w->nitems; k++)
		dns_cancel(w->items[k].q);
	free(w->items);
	rotation_free(&w->st);
	redis_client_free(w->redis);
	free(w->last_active);
	runtime_unref(w->rt);
	if (w->timer)
		event_free(w->timer);
	dns_resolver_free(w->dns);
	free(w);
}
