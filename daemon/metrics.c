/* metrics.c: counters, histograms and key health gauges, and their text
 * exposition (metrics.h). Counters are relaxed atomics: a scrape may see
 * one message's counters half updated, which Prometheus tolerates; nothing
 * on the mail path locks or allocates. No sockets: the HTTP listener is
 * metrics_http.c. */
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "metrics.h"

#define METRICS_NRESULTS (SIGNET_RESULT_TEMPERROR + 1)
#define METRICS_NDNS (SIGNET_DNS_TEMPFAIL + 1)
#define METRICS_NDMARC (SIGNET_DMARC_PERMERROR + 1)

/* Upper bounds in microseconds: 0.5 ms .. 10 s. */
static const uint64_t bucket_us[METRICS_NBUCKETS] = {
	500,    1000,   2500,   5000,    10000,   25000,   50000,
	100000, 250000, 500000, 1000000, 2500000, 5000000, 10000000,
};

struct hist {
	atomic_ullong bucket[METRICS_NBUCKETS + 1]; /* not cumulative; the last is +Inf */
	atomic_ullong sum_us;
};

struct key_entry {
	char *domain, *selector; /* owned */
	unsigned states;
};

struct rot_entry {
	char *domain, *selector; /* owned */
	const char *state;       /* static */
	uint64_t checked;
};

static void rot_free(struct rot_entry *v, size_t n);

struct metrics {
	atomic_ullong messages[METRICS_NACTIONS];
	atomic_ullong signatures[METRICS_NALGS];
	atomic_ullong results[METRICS_NRESULTS];
	atomic_ullong not_signed[POLICY_NREASONS];
	atomic_ullong arc_results[METRICS_NRESULTS], arc_seals[METRICS_NRESULTS];
	atomic_ullong dns[METRICS_NDNS];
	atomic_ullong dns_secure, dns_fast;
	atomic_ullong conn_events[METRICS_NCONN_EVENTS];
	atomic_ullong dmarc_obs[METRICS_NOBS];
	atomic_ullong key_answers[METRICS_NKEY_ANSWERS];
	atomic_ullong dmarc[METRICS_NDMARC];
	atomic_ullong dmarc_actions[METRICS_DMARC_NACTIONS];
	struct hist hist[METRICS_NHISTS];
	pthread_mutex_t lock; /* guards keys: the health check writes, a scrape reads */
	struct key_entry *keys;
	size_t nkeys;
	struct rot_entry *rot; /* guarded by lock too */
	size_t nrot;
	bool dynamic; /* from metrics_new */
};

static struct metrics process_metrics = {.lock = PTHREAD_MUTEX_INITIALIZER};

struct metrics *metrics_process(void)
{
	return &process_metrics;
}

struct metrics *metrics_new(void)
{
	struct metrics *m = calloc(1, sizeof *m);
	if (m == NULL)
		return NULL;
	pthread_mutex_init(&m->lock, NULL);
	m->dynamic = true;
	return m;
}

static void keys_free(struct key_entry *v, size_t n)
{
	for (size_t k = 0; k < n; k++) {
		free(v[k].domain);
		free(v[k].selector);
	}
	free(v);
}

void metrics_free(struct metrics *m)
{
	if (m == NULL)
		return;
	if (!m->dynamic) {
		/* The process's set is static; at exit only its key table goes. */
		pthread_mutex_lock(&m->lock);
		keys_free(m->keys, m->nkeys);
		m->keys = NULL;
		m->nkeys = 0;
		rot_free(m->rot, m->nrot);
		m->rot = NULL;
		m->nrot = 0;
		pthread_mutex_unlock(&m->lock);
		return;
	}
	keys_free(m->keys, m->nkeys);
	rot_free(m->rot, m->nrot);
	pthread_mutex_destroy(&m->lock);
	free(m);
}

/* ---- the mail path ------------------------------------------------------ */

static void inc(atomic_ullong *c)
{
	atomic_fetch_add_explicit(c, 1, memory_order_relaxed);
}

void metrics_message(struct metrics *m, enum metrics_action a)
{
	if ((unsigned)a < METRICS_NACTIONS)
		inc(&m->messages[a]);
}

void metrics_signature(struct metrics *m, enum metrics_alg alg)
{
	if ((unsigned)alg < METRICS_NALGS)
		inc(&m->signatures[alg]);
}

void metrics_verify_result(struct metrics *m, enum signet_result r)
{
	if ((unsigned)r < METRICS_NRESULTS)
		inc(&m->results[r]);
}

void metrics_key_answer(struct metrics *m, enum metrics_key_answer a)
{
	if ((unsigned)a < METRICS_NKEY_ANSWERS)
		atomic_fetch_add_explicit(&m->key_answers[a], 1, memory_order_relaxed);
}

void metrics_dmarc_observations(struct metrics *m, enum metrics_obs_outcome o, uint64_t n)
{
	if ((unsigned)o < METRICS_NOBS)
		atomic_fetch_add_explicit(&m->dmarc_obs[o], n, memory_order_relaxed);
}

void metrics_dmarc_result(struct metrics *m, enum signet_dmarc_result r)
{
	if ((unsigned)r < METRICS_NDMARC)
		inc(&m->dmarc[r]);
}

void metrics_dmarc_action(struct metrics *m, enum metrics_dmarc_action a)
{
	if ((unsigned)a < METRICS_DMARC_NACTIONS)
		inc(&m->dmarc_actions[a]);
}

void metrics_arc_result(struct metrics *m, enum signet_result r)
{
	if ((unsigned)r < METRICS_NRESULTS)
		inc(&m->arc_results[r]);
}

void metrics_arc_seal(struct metrics *m, enum signet_result cv)
{
	if ((unsigned)cv < METRICS_NRESULTS)
		inc(&m->arc_seals[cv]);
}

void metrics_conn_event(struct metrics *m, enum metrics_conn_event e)
{
	if ((unsigned)e < METRICS_NCONN_EVENTS)
		inc(&m->conn_events[e]);
}

void metrics_not_signed(struct metrics *m, enum policy_reason why)
{
	if (why == POLICY_SIGNED)
		return;
	inc(&m->not_signed[(unsigned)why < POLICY_NREASONS ? why : POLICY_OTHER]);
}

void metrics_observe(struct metrics *m, enum metrics_hist h, uint64_t usec)
{
	if ((unsigned)h >= METRICS_NHISTS)
		return;
	size_t b = 0;
	while (b < METRICS_NBUCKETS && usec > bucket_us[b]) /* le: upper bound inclusive */
		b++;
	inc(&m->hist[h].bucket[b]);
	atomic_fetch_add_explicit(&m->hist[h].sum_us, usec, memory_order_relaxed);
}

void metrics_dns(struct metrics *m, enum signet_dns_status st, bool secure, uint64_t usec)
{
	if ((unsigned)st < METRICS_NDNS)
		inc(&m->dns[st]);
	if (secure)
		inc(&m->dns_secure);
	if (usec < METRICS_FAST_ANSWER_US)
		inc(&m->dns_fast);
	metrics_observe(m, METRICS_DNS_SECONDS, usec);
}

/* ---- key health --------------------------------------------------------- */

enum signet_status metrics_key_health_set(struct metrics *m, const struct metrics_key_health *v,
					  size_t n)
{
	struct key_entry *nv = n ? calloc(n, sizeof *nv) : NULL;
	if (n > 0 && nv == NULL)
		return SIGNET_ERR_NOMEM;
	for (size_t k = 0; k < n; k++) {
		nv[k].domain = strdup(v[k].domain);
		nv[k].selector = strdup(v[k].selector);
		nv[k].states = v[k].states;
		if (nv[k].domain == NULL || nv[k].selector == NULL) {
			keys_free(nv, n);
			return SIGNET_ERR_NOMEM;
		}
	}
	pthread_mutex_lock(&m->lock);
	struct key_entry *old = m->keys;
	size_t nold = m->nkeys;
	m->keys = nv;
	m->nkeys = n;
	pthread_mutex_unlock(&m->lock);
	keys_free(old, nold);
	return SIGNET_OK;
}

/* ---- key rotation --------------------------------------------------------- */

static void rot_free(struct rot_entry *v, size_t n)
{
	for (size_t k = 0; v != NULL && k < n; k++)
		free(v[k].domain), free(v[k].selector);
	free(v);
}

enum signet_status metrics_rotation_set(struct metrics *m, const struct metrics_rotation *v,
					size_t n)
{
	struct rot_entry *nv = n ? calloc(n, sizeof *nv) : NULL;
	if (n > 0 && nv == NULL)
		return SIGNET_ERR_NOMEM;
	for (size_t k = 0; k < n; k++) {
		nv[k].domain = strdup(v[k].domain);
		nv[k].selector = strdup(v[k].selector);
		nv[k].state = v[k].state;
		nv[k].checked = v[k].checked;
		if (nv[k].domain == NULL || nv[k].selector == NULL) {
			rot_free(nv, n);
			return SIGNET_ERR_NOMEM;
		}
	}
	pthread_mutex_lock(&m->lock);
	struct rot_entry *old = m->rot;
	size_t nold = m->nrot;
	m->rot = nv;
	m->nrot = n;
	pthread_mutex_unlock(&m->lock);
	rot_free(old, nold);
	return SIGNET_OK;
}

/* ---- exposition (text format 0.0.4) ------------------------------------- */

struct out {
	struct signet_buf *b;
	enum signet_status st; /* the first error; later writes are skipped */
};

static void put(struct out *o, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void put(struct out *o, const char *fmt, ...)
{
	char line[512];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(line, sizeof line, fmt, ap);
	va_end(ap);
	if (o->st != SIGNET_OK)
		return;
	if (n < 0 || (size_t)n >= sizeof line)
		o->st = SIGNET_ERR_LIMIT; /* only our own fixed text goes through here */
	else
		o->st = buf_append(o->b, line, (size_t)n);
}

/* A label value: backslash, double quote and line feed escaped (0.0.4). */
static void put_label(struct out *o, const char *s)
{
	for (; *s != '\0' && o->st == SIGNET_OK; s++) {
		const char *e = *s == '\\'   ? "\\\\"
				: *s == '"'  ? "\\\""
				: *s == '\n' ? "\\n"
					     : NULL;
		o->st = e ? buf_append_str(o->b, e) : buf_append(o->b, s, 1);
	}
}

static void head(struct out *o, const char *name, const char *type, const char *help)
{
	put(o, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

static unsigned long long get(atomic_ullong *c)
{
	return atomic_load_explicit(c, memory_order_relaxed);
}

static void counter_set(struct out *o, const char *name, const char *label,
			const char *const *values, atomic_ullong *c, size_t n)
{
	for (size_t k = 0; k < n; k++)
		if (values[k] != NULL)
			put(o, "%s{%s=\"%s\"} %llu\n", name, label, values[k], get(&c[k]));
}

static void histogram(struct out *o, const char *name, const char *help, struct hist *h)
{
	head(o, name, "histogram", help);
	unsigned long long cum = 0;
	for (size_t b = 0; b < METRICS_NBUCKETS; b++) {
		cum += get(&h->bucket[b]);
		put(o, "%s_bucket{le=\"%g\"} %llu\n", name, (double)bucket_us[b] / 1e6, cum);
	}
	cum += get(&h->bucket[METRICS_NBUCKETS]);
	/* _count is the +Inf bucket by construction (each bucket read once). */
	put(o, "%s_bucket{le=\"+Inf\"} %llu\n%s_sum %.6f\n%s_count %llu\n", name, cum, name,
	    (double)get(&h->sum_us) / 1e6, name, cum);
}

static void key_health(struct out *o, struct metrics *m)
{
	static const char *const states[METRICS_KEY_NSTATES] = {
		"ok",      "missing", "mismatch", "revoked",
		"testing", "weak",    "multiple", "lookup_failed",
	};
	head(o, "signetd_key_health", "gauge",
	     "Published key record state per configured selector (1 = in that state), from the "
	     "last DNS check");
	pthread_mutex_lock(&m->lock);
	for (size_t k = 0; k < m->nkeys; k++) {
		for (unsigned s = 0; s < METRICS_KEY_NSTATES; s++) {
			put(o, "signetd_key_health{domain=\"");
			put_label(o, m->keys[k].domain);
			put(o, "\",selector=\"");
			put_label(o, m->keys[k].selector);
			put(o, "\",state=\"%s\"} %u\n", states[s], (m->keys[k].states >> s) & 1u);
		}
	}
	pthread_mutex_unlock(&m->lock);
}

static void rotation(struct out *o, struct metrics *m)
{
	head(o, "signetd_key_rotation", "gauge",
	     "Selectors in key rotation and their state (pending, wrong, published, active, "
	     "retiring, retired), from the last rotation check");
	pthread_mutex_lock(&m->lock);
	for (size_t k = 0; k < m->nrot; k++) {
		put(o, "signetd_key_rotation{domain=\"");
		put_label(o, m->rot[k].domain);
		put(o, "\",selector=\"");
		put_label(o, m->rot[k].selector);
		put(o, "\",state=\"%s\"} 1\n", m->rot[k].state);
	}
	pthread_mutex_unlock(&m->lock);
	head(o, "signetd_key_rotation_checked_seconds", "gauge",
	     "Unix time of the last DNS check of a selector in key rotation (0: never)");
	pthread_mutex_lock(&m->lock);
	for (size_t k = 0; k < m->nrot; k++) {
		put(o, "signetd_key_rotation_checked_seconds{domain=\"");
		put_label(o, m->rot[k].domain);
		put(o, "\",selector=\"");
		put_label(o, m->rot[k].selector);
		put(o, "\"} %llu\n", (unsigned long long)m->rot[k].checked);
	}
	pthread_mutex_unlock(&m->lock);
}

static void counters(struct out *o, struct metrics *m)
{
	static const char *const actions[METRICS_NACTIONS] = {"signed", "verified", "passed",
							      "deferred", "rejected"};
	static const char *const algs[METRICS_NALGS] = {"rsa-sha256", "ed25519-sha256"};
	static const char *const results[METRICS_NRESULTS] = {
		[SIGNET_RESULT_NONE] = "none",           [SIGNET_RESULT_PASS] = "pass",
		[SIGNET_RESULT_FAIL] = "fail",           [SIGNET_RESULT_NEUTRAL] = "neutral",
		[SIGNET_RESULT_POLICY] = "policy",       [SIGNET_RESULT_PERMERROR] = "permerror",
		[SIGNET_RESULT_TEMPERROR] = "temperror",
	};
	static const char *const dns[METRICS_NDNS] = {
		[SIGNET_DNS_OK] = "ok",
		[SIGNET_DNS_NXDOMAIN] = "nxdomain",
		[SIGNET_DNS_TEMPFAIL] = "tempfail",
	};
	static const char *const conn_events[METRICS_NCONN_EVENTS] = {
		[METRICS_CONN_MAX] = "max",
		[METRICS_CONN_FD_LIMIT] = "fd_limit",
		[METRICS_CONN_IDLE_TIMEOUT] = "idle_timeout",
		[METRICS_CONN_PACKET_TIMEOUT] = "packet_timeout",
	};
	static const char *const dmarc[METRICS_NDMARC] = {
		[SIGNET_DMARC_NONE] = "none",           [SIGNET_DMARC_PASS] = "pass",
		[SIGNET_DMARC_FAIL] = "fail",           [SIGNET_DMARC_TEMPERROR] = "temperror",
		[SIGNET_DMARC_PERMERROR] = "permerror",
	};
	static const char *const dmarc_actions[METRICS_DMARC_NACTIONS] = {
		[METRICS_DMARC_REJECT] = "reject",
		[METRICS_DMARC_QUARANTINE] = "quarantine",
		[METRICS_DMARC_HOLD] = "hold",
		[METRICS_DMARC_TEMPFAIL] = "tempfail",
	};
	const char *reasons[POLICY_NREASONS] = {NULL}; /* POLICY_SIGNED is not a reason */
	for (unsigned k = POLICY_SIGNED + 1; k < POLICY_NREASONS; k++)
		reasons[k] = policy_reason_label((enum policy_reason)k);
	head(o, "signetd_messages_total", "counter", "Messages by what signetd did at their end");
	counter_set(o, "signetd_messages_total", "action", actions, m->messages, METRICS_NACTIONS);
	head(o, "signetd_signatures_signed_total", "counter", "DKIM-Signature fields added");
	counter_set(o, "signetd_signatures_signed_total", "alg", algs, m->signatures,
		    METRICS_NALGS);
	head(o, "signetd_verify_results_total", "counter",
	     "Verified signatures by result; none = a message without any signature");
	counter_set(o, "signetd_verify_results_total", "result", results, m->results,
		    METRICS_NRESULTS);
	static const char *const arc_results[METRICS_NRESULTS] = {
		[SIGNET_RESULT_NONE] = "none",
		[SIGNET_RESULT_PASS] = "pass",
		[SIGNET_RESULT_FAIL] = "fail",
		[SIGNET_RESULT_TEMPERROR] = "temperror",
	};
	static const char *const cvs[METRICS_NRESULTS] = {
		[SIGNET_RESULT_NONE] = "none",
		[SIGNET_RESULT_PASS] = "pass",
		[SIGNET_RESULT_FAIL] = "fail",
	};
	head(o, "signetd_arc_results_total", "counter",
	     "ARC chains of verified messages by result (RFC 8617)");
	counter_set(o, "signetd_arc_results_total", "result", arc_results, m->arc_results,
		    METRICS_NRESULTS);
	head(o, "signetd_arc_seals_total", "counter", "ARC sets added, by their cv=");
	counter_set(o, "signetd_arc_seals_total", "cv", cvs, m->arc_seals, METRICS_NRESULTS);
	head(o, "signetd_not_signed_total", "counter",
	     "Messages verified instead of signed, by reason");
	counter_set(o, "signetd_not_signed_total", "reason", reasons, m->not_signed,
		    POLICY_NREASONS);
	head(o, "signetd_dmarc_results_total", "counter", "DMARC evaluations by result");
	counter_set(o, "signetd_dmarc_results_total", "result", dmarc, m->dmarc, METRICS_NDMARC);
	head(o, "signetd_dmarc_actions_total", "counter",
	     "DMARC dispositions applied: reject (550), quarantine (marked), hold (hold queue), "
	     "tempfail (451 on temperror)");
	counter_set(o, "signetd_dmarc_actions_total", "action", dmarc_actions, m->dmarc_actions,
		    METRICS_DMARC_NACTIONS);
	head(o, "signetd_dns_lookups_total", "counter", "Key record lookups by answer");
	counter_set(o, "signetd_dns_lookups_total", "status", dns, m->dns, METRICS_NDNS);
	head(o, "signetd_dns_secure_total", "counter", "Key record answers validated by DNSSEC");
	put(o, "signetd_dns_secure_total %llu\n", get(&m->dns_secure));
	head(o, "signetd_dns_fast_answers_total", "counter",
	     "Key record lookups answered in under 1 ms (approximates resolver cache hits)");
	put(o, "signetd_dns_fast_answers_total %llu\n", get(&m->dns_fast));
	head(o, "signetd_connection_limits_total", "counter",
	     "MTA connections refused or closed by a connection bound (signetd.conf(5) "
	     "connections)");
	counter_set(o, "signetd_connection_limits_total", "event", conn_events, m->conn_events,
		    METRICS_NCONN_EVENTS);
	static const char *const obs[METRICS_NOBS] = {"recorded", "dropped"};
	head(o, "signetd_dmarc_observations_total", "counter",
	     "DMARC report observations written to the report store or dropped (queue full, "
	     "disk slow or full)");
	counter_set(o, "signetd_dmarc_observations_total", "outcome", obs, m->dmarc_obs,
		    METRICS_NOBS);
	static const char *const answers[METRICS_NKEY_ANSWERS] = {"cached", "fetched", "none",
								  "error"};
	head(o, "signetd_redis_key_answers_total", "counter",
	     "Signing keys from Redis (dkim_signing.use_redis) by answer, per message");
	counter_set(o, "signetd_redis_key_answers_total", "answer", answers, m->key_answers,
		    METRICS_NKEY_ANSWERS);
}

enum signet_status metrics_render(struct metrics *m, struct signet_buf *b)
{
	struct out o = {b, SIGNET_OK};
	head(&o, "signetd_build_info", "gauge", "signetd version");
	put(&o, "signetd_build_info{version=\"");
	put_label(&o, signet_version());
	put(&o, "\"} 1\n");
	counters(&o, m);
	histogram(&o, "signetd_sign_seconds",
		  "Time spent signing a message (headers, body hash, signatures)",
		  &m->hist[METRICS_SIGN_SECONDS]);
	histogram(&o, "signetd_verify_seconds",
		  "Time spent verifying a message, with end-of-message waits for key lookups",
		  &m->hist[METRICS_VERIFY_SECONDS]);
	histogram(&o, "signetd_dns_lookup_seconds", "Key record lookup time",
		  &m->hist[METRICS_DNS_SECONDS]);
	key_health(&o, m);
	rotation(&o, m);
	return o.st;
}
