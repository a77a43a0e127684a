/* rotation_watch.c: the rotation checks of the running daemon
 * (rotation_watch.h). One round: load the state file (signet rotate may
 * have added a selector since the last round), look up each selector that
 * waits for DNS, judge each answer, then let rotation.h step every entry
 * with the clock, save, log and reload on a switch. Runs on the main loop,
 * which only waits on signals and DNS. */
#include "rotation_watch.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <event2/event.h>

#include <signet/key.h>
#include <signet/keyrec.h>

#include "config.h"
#include "fileread.h"
#include "log.h"
#include "metrics.h"
#include "rotation.h"
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

static struct signet_key *load_key(const char *path, char *why, size_t cap)
{
	struct fileread_file f;
	struct fileread_error e;
	struct signet_key *key = NULL;
	struct signet_error err = {0};
	if (fileread(path, FILEREAD_CAP(FILEREAD_MAX_KEY), &f, &e) != FILEREAD_OK) {
		snprintf(why, cap, "%.200s", e.why);
		return NULL;
	}
	if (signet_key_parse(f.data, f.len, &key, &err) != SIGNET_OK) {
		snprintf(why, cap, "%s: %s", path, err.msg);
		key = NULL;
	}
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
	struct signet_key *key = load_key(e->path, it->problem, sizeof it->problem);
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
	w->running = false;
	arm(w, next);
}

static void finish(struct rotation_watch *w)
{
	const struct signetd_config *cfg = w->rt->cfg;
	uint64_t now = (uint64_t)time(NULL), after = (uint64_t)cfg->rotation_retire_after;
	bool changed = false, reload = false;
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
	bool ok = rotation_load(state_path(w->rt->cfg), &w->st, &d);
	if (!ok)
		log_msg(LOG_LVL_ERR, "key rotation: %s", d.n ? d.v[0].msg : "state not readable");
	diags_free(&d);
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
		w->st.n == 1 ? "" : "s", state_path(w->rt->cfg), w->nitems);
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
	runtime_unref(w->rt);
	if (w->timer)
		event_free(w->timer);
	dns_resolver_free(w->dns);
	free(w);
}
