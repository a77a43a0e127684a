/* report_writer.c: the bounded queue and the writer thread in front of the
 * DMARC report store (report_writer.h). Submitters take the lock only to
 * put a pointer in the ring; the thread takes up to REPORT_WRITER_BATCH_MAX
 * at a time and writes them in one transaction outside the lock. */
#include <hiredis/hiredis.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>

#include "config.h"
#include "error.h"
#include "log.h"
#include "metrics.h"
#include "redis_client.h"
#include "report_redis_codec.h"
#include "report_writer.h"

/* The Redis backend (issue #15 "Fleets"): only the writer thread uses it. */
struct redis_backend {
	char **servers; /* owned copies */
	size_t n;
	struct timeval timeout;
	char *username, *password; /* owned or NULL: AUTH after connecting */
	int db;                    /* SELECT after connecting when > 0 */
	redisContext *ctx;         /* NULL: not connected */
	const char *server;        /* the one ctx talks to */
	time_t next_try;           /* no connect before this */
	unsigned backoff;          /* seconds; doubles up to REPORT_WRITER_REDIS_BACKOFF_MAX */
	long long ttl;             /* EXPIRE of every key: the retention window */
	char *row, *policy;        /* REPORT_REDIS_MAX_ROW, REPORT_REDIS_MAX_POLICY bytes */
	bool was_down;             /* log "reachable again" once */
};

struct report_writer {
	struct report_store *store; /* NULL with Redis */
	struct redis_backend *redis;
	struct metrics *metrics;
	pthread_t thread;
	pthread_mutex_t lock;
	pthread_cond_t wake;
	struct report_obs **ring; /* queue_max slots; owned */
	size_t queue_max, head, count;
	bool stopping;
	uint64_t recorded, dropped;
	/* rate-limited log of drops (guarded by lock) */
	time_t last_log;
	uint64_t unlogged;
	int64_t pruned_day;
};

/* ---- copying an observation into one allocation ------------------------- */

struct packer {
	char *p;
	size_t left;
};

static size_t len0(const char *s)
{
	return s ? strlen(s) + 1 : 0;
}

static const char *pack(struct packer *k, const char *s)
{
	if (s == NULL)
		return NULL;
	size_t n = strlen(s) + 1;
	char *out = k->p;
	memcpy(out, s, n);
	k->p += n;
	k->left -= n;
	return out;
}

#define OBS_STRINGS(o, X)                                                                          \
	X((o)->policy_domain);                                                                     \
	X((o)->source_ip);                                                                         \
	X((o)->header_from);                                                                       \
	X((o)->envelope_from);                                                                     \
	X((o)->envelope_to);                                                                       \
	X((o)->spf_domain);                                                                        \
	X((o)->spf_scope);                                                                         \
	X((o)->spf_result);                                                                        \
	X((o)->dmarc_result);                                                                      \
	X((o)->disposition);                                                                       \
	X((o)->override_type);                                                                     \
	X((o)->override_comment);                                                                  \
	X((o)->policy.p);                                                                          \
	X((o)->policy.sp);                                                                         \
	X((o)->policy.np);                                                                         \
	X((o)->policy.adkim);                                                                      \
	X((o)->policy.aspf);                                                                       \
	X((o)->policy.discovery);                                                                  \
	X((o)->policy.fo);                                                                         \
	X((o)->policy.rua)

static struct report_obs *obs_copy(const struct report_obs *src)
{
	size_t ndkim = src->ndkim < REPORT_STORE_MAX_DKIM ? src->ndkim : REPORT_STORE_MAX_DKIM;
	size_t total = 0;
#define ADD_LEN(s) total += len0(s)
	OBS_STRINGS(src, ADD_LEN);
	for (size_t k = 0; k < ndkim; k++)
		total += len0(src->dkim[k].domain) + len0(src->dkim[k].selector) +
			 len0(src->dkim[k].result);
#undef ADD_LEN
	struct report_obs *o = malloc(sizeof *o + total);
	if (o == NULL)
		return NULL;
	/* ndkim stays as given: over REPORT_STORE_MAX_DKIM the store refuses
	 * the observation (logged, counted), rather than a cut-down row. */
	*o = *src;
	struct packer k = {(char *)(o + 1), total};
#define PACK(s) s = pack(&k, s)
	OBS_STRINGS(o, PACK);
	for (size_t d = 0; d < ndkim; d++) {
		PACK(o->dkim[d].domain);
		PACK(o->dkim[d].selector);
		PACK(o->dkim[d].result);
	}
#undef PACK
	return o;
}

/* ---- counting and logging drops ----------------------------------------- */

/* Called with the lock held. */
static void dropped_locked(struct report_writer *w, uint64_t n, const char *why)
{
	time_t now = time(NULL);

	w->dropped += n;
	w->unlogged += n;
	if (w->metrics)
		metrics_dmarc_observations(w->metrics, METRICS_OBS_DROPPED, n);
	if (w->last_log != 0 && now - w->last_log < REPORT_WRITER_LOG_INTERVAL)
		return;
	log_msg(LOG_LVL_WARN,
		"DMARC report data: %llu observation(s) dropped (%s); mail is not affected",
		(unsigned long long)w->unlogged, why);
	w->unlogged = 0;
	w->last_log = now;
}

bool report_writer_submit(struct report_writer *w, const struct report_obs *obs)
{
	struct report_obs *o = obs_copy(obs);

	pthread_mutex_lock(&w->lock);
	if (o == NULL || w->stopping || w->count == w->queue_max) {
		dropped_locked(w, 1,
			       o == NULL     ? "out of memory"
			       : w->stopping ? "signetd is stopping"
					     : "queue full (REPORT_WRITER_QUEUE_MAX)");
		pthread_mutex_unlock(&w->lock);
		free(o);
		return false;
	}
	w->ring[(w->head + w->count) % w->queue_max] = o;
	w->count++;
	pthread_cond_signal(&w->wake);
	pthread_mutex_unlock(&w->lock);
	return true;
}

void report_writer_stats(struct report_writer *w, struct report_writer_stats *out)
{
	pthread_mutex_lock(&w->lock);
	out->recorded = w->recorded;
	out->dropped = w->dropped;
	out->queued = w->count;
	pthread_mutex_unlock(&w->lock);
}

/* ---- the Redis backend (writer thread only) ------------------------------ */

static void redis_down(struct redis_backend *r, const char *why, struct signet_error *err)
{
	if (r->ctx) {
		redisFree(r->ctx);
		r->ctx = NULL;
	}
	r->backoff = r->backoff == 0 ? 1 : r->backoff * 2;
	if (r->backoff > REPORT_WRITER_REDIS_BACKOFF_MAX)
		r->backoff = REPORT_WRITER_REDIS_BACKOFF_MAX;
	r->next_try = time(NULL) + (time_t)r->backoff;
	r->was_down = true;
	error_set(err, SIGNET_ERR_STATE, NULL, "Redis %s (next try in %us)", why, r->backoff);
}

/* The first server of redis.servers that accepts a connection. */
static bool redis_connect(struct redis_backend *r, struct signet_error *err)
{
	char host[64], last[REDIS_CLIENT_ERROR_MAX + 96] = "unreachable",
						     hs[REDIS_CLIENT_ERROR_MAX];
	struct redis_auth auth = {r->username, r->password, r->db};
	unsigned port;

	if (r->ctx)
		return true;
	if (time(NULL) < r->next_try) {
		error_set(err, SIGNET_ERR_STATE, NULL, "Redis unreachable (next try in %lds)",
			  (long)(r->next_try - time(NULL)));
		return false;
	}
	for (size_t k = 0; k < r->n; k++) {
		if (!config_redis_server(r->servers[k], host, sizeof host, &port))
			continue;
		redisContext *c = redisConnectWithTimeout(host, (int)port, r->timeout);
		bool up = c != NULL && c->err == 0 && redisSetTimeout(c, r->timeout) == REDIS_OK;
		if (up && redis_client_handshake(c, &auth, hs, sizeof hs)) {
			r->ctx = c;
			r->server = r->servers[k];
			r->backoff = 0;
			if (r->was_down)
				log_msg(LOG_LVL_INFO, "DMARC report data: Redis %s reachable again",
					r->server);
			r->was_down = false;
			return true;
		}
		snprintf(last, sizeof last, "%s: %s", r->servers[k],
			 up  ? hs
			 : c ? c->errstr
			     : "out of memory");
		if (c)
			redisFree(c);
	}
	redis_down(r, last, err);
	return false;
}

/* Queues the commands of one observation: its row + 1, the day's policy
 * and domain list, the expiry of the three keys. 0: queued; -1: a bad
 * observation (err says why); -2: Redis failed. */
static int redis_append(struct redis_backend *r, const struct report_obs *o,
			struct signet_error *err)
{
	char krows[REPORT_REDIS_MAX_KEY], kpol[REPORT_REDIS_MAX_KEY], kdom[REPORT_REDIS_MAX_KEY];

	if (report_redis_encode_row(o, r->row, REPORT_REDIS_MAX_ROW, err) != SIGNET_OK ||
	    report_redis_encode_policy(&o->policy, r->policy, REPORT_REDIS_MAX_POLICY, err) !=
		    SIGNET_OK)
		return -1;
	if (report_redis_key_rows(o->day, o->policy_domain, krows, sizeof krows) != SIGNET_OK ||
	    report_redis_key_policy(o->day, kpol, sizeof kpol) != SIGNET_OK ||
	    report_redis_key_domains(o->day, kdom, sizeof kdom) != SIGNET_OK) {
		error_set(err, SIGNET_ERR_LIMIT, NULL, "Redis key too long");
		return -1;
	}
	bool ok = redisAppendCommand(r->ctx, "HINCRBY %s %s 1", krows, r->row) == REDIS_OK &&
		  redisAppendCommand(r->ctx, "HSET %s %s %s", kpol, o->policy_domain, r->policy) ==
			  REDIS_OK &&
		  redisAppendCommand(r->ctx, "SADD %s %s", kdom, o->policy_domain) == REDIS_OK &&
		  redisAppendCommand(r->ctx, "EXPIRE %s %lld", krows, r->ttl) == REDIS_OK &&
		  redisAppendCommand(r->ctx, "EXPIRE %s %lld", kpol, r->ttl) == REDIS_OK &&
		  redisAppendCommand(r->ctx, "EXPIRE %s %lld", kdom, r->ttl) == REDIS_OK;
	return ok ? 0 : -2;
}

#define REDIS_CMDS_PER_OBS 6

/* One pipeline for the batch; returns how many observations Redis counted.
 * A connection error or timeout drops the rest of the batch (and the
 * connection: the next batch reconnects after the backoff). */
static size_t redis_write_batch(struct redis_backend *r, struct report_obs **batch, size_t n,
				struct signet_error *err)
{
	bool queued[REPORT_WRITER_BATCH_MAX];
	size_t ok = 0;

	if (!redis_connect(r, err))
		return 0;
	for (size_t k = 0; k < n; k++) {
		struct signet_error e = {0};
		int rc = redis_append(r, batch[k], &e);
		queued[k] = rc == 0;
		if (rc == -1)
			log_msg(LOG_LVL_WARN, "DMARC report data: observation dropped: %s", e.msg);
		if (rc == -2) {
			redis_down(r, "write failed", err);
			return 0;
		}
	}
	for (size_t k = 0; k < n; k++) {
		if (!queued[k])
			continue;
		bool counted = false;
		for (int c = 0; c < REDIS_CMDS_PER_OBS; c++) {
			redisReply *reply = NULL;
			if (redisGetReply(r->ctx, (void **)&reply) != REDIS_OK) {
				char why[160];
				snprintf(why, sizeof why, "%s: %s", r->server, r->ctx->errstr);
				redis_down(r, why, err);
				return ok;
			}
			if (c == 0)
				counted = reply->type == REDIS_REPLY_INTEGER;
			if (reply->type == REDIS_REPLY_ERROR)
				error_set(err, SIGNET_ERR_STATE, NULL, "Redis %s: %s", r->server,
					  reply->str);
			freeReplyObject(reply);
		}
		ok += counted;
	}
	return ok;
}

static void redis_free(struct redis_backend *r)
{
	if (r == NULL)
		return;
	if (r->ctx)
		redisFree(r->ctx);
	for (size_t k = 0; k < r->n; k++)
		free(r->servers[k]);
	if (r->password != NULL)
		explicit_bzero(r->password, strlen(r->password));
	free(r->password), free(r->username);
	free(r->servers), free(r->row), free(r->policy), free(r);
}

static struct redis_backend *redis_new(const struct report_writer_opts *o)
{
	struct redis_backend *r = calloc(1, sizeof *r);
	if (r == NULL)
		return NULL;
	r->servers = calloc(o->n_redis_servers, sizeof *r->servers);
	r->row = malloc(REPORT_REDIS_MAX_ROW);
	r->policy = malloc(REPORT_REDIS_MAX_POLICY);
	if (!r->servers || !r->row || !r->policy) {
		redis_free(r);
		return NULL;
	}
	for (; r->n < o->n_redis_servers; r->n++)
		if ((r->servers[r->n] = strdup(o->redis_servers[r->n])) == NULL) {
			redis_free(r);
			return NULL;
		}
	if ((o->redis_password != NULL && (r->password = strdup(o->redis_password)) == NULL) ||
	    (o->redis_username != NULL && (r->username = strdup(o->redis_username)) == NULL)) {
		redis_free(r);
		return NULL;
	}
	r->db = o->redis_db;
	double t = o->redis_timeout > 0 ? o->redis_timeout : CONFIG_DEFAULT_REDIS_TIMEOUT;
	r->timeout.tv_sec = (time_t)t;
	r->timeout.tv_usec = (suseconds_t)((t - (double)(time_t)t) * 1e6);
	unsigned days = o->retention_days ? o->retention_days : REPORT_STORE_RETENTION_DAYS;
	r->ttl = (long long)(days + 1) * 86400; /* the day itself, then the window */
	return r;
}

/* ---- the thread --------------------------------------------------------- */

/* Writes batch[0..n) in one transaction; returns how many were written
 * (all or none: a failed commit rolls back the batch). */
static size_t write_batch(struct report_writer *w, struct report_obs **batch, size_t n,
			  struct signet_error *err)
{
	size_t bad = 0;

	if (report_store_begin(w->store, err) != SIGNET_OK)
		return 0;
	for (size_t k = 0; k < n; k++)
		if (report_store_add(w->store, batch[k], err) != SIGNET_OK) {
			/* One bad observation (a limit, a syntax) is dropped alone. */
			log_msg(LOG_LVL_WARN, "DMARC report store: observation dropped: %s",
				err->msg);
			bad++;
		}
	if (report_store_commit(w->store, err) != SIGNET_OK)
		return 0;
	return n - bad;
}

static void prune_daily(struct report_writer *w)
{
	struct signet_error err = {0};
	int64_t today = report_store_day((int64_t)time(NULL));

	if (today == w->pruned_day || w->store == NULL)
		return;
	w->pruned_day = today;
	if (report_store_prune(w->store, today, &err) != SIGNET_OK)
		log_msg(LOG_LVL_WARN, "DMARC report store: %s", err.msg);
}

static void *writer_main(void *arg)
{
	struct report_writer *w = arg;
	struct report_obs *batch[REPORT_WRITER_BATCH_MAX];

	for (;;) {
		size_t n = 0;
		pthread_mutex_lock(&w->lock);
		while (w->count == 0 && !w->stopping)
			pthread_cond_wait(&w->wake, &w->lock);
		if (w->count == 0 && w->stopping) {
			pthread_mutex_unlock(&w->lock);
			return NULL;
		}
		while (n < REPORT_WRITER_BATCH_MAX && w->count > 0) {
			batch[n++] = w->ring[w->head];
			w->head = (w->head + 1) % w->queue_max;
			w->count--;
		}
		pthread_mutex_unlock(&w->lock);

		struct signet_error err = {0};
		prune_daily(w);
		size_t ok = w->redis ? redis_write_batch(w->redis, batch, n, &err)
				     : write_batch(w, batch, n, &err);
		for (size_t k = 0; k < n; k++)
			free(batch[k]);
		pthread_mutex_lock(&w->lock);
		w->recorded += ok;
		if (w->metrics && ok)
			metrics_dmarc_observations(w->metrics, METRICS_OBS_RECORDED, ok);
		if (ok < n)
			dropped_locked(w, n - ok, err.msg[0] ? err.msg : "write failed");
		pthread_mutex_unlock(&w->lock);
	}
}

enum signet_status report_writer_start(const struct report_writer_opts *o,
				       struct report_writer **out, struct signet_error *err)
{
	struct report_store_opts so = {.retention_days = o->retention_days,
				       .today = report_store_day((int64_t)time(NULL))};
	struct report_writer *w = calloc(1, sizeof *w);

	*out = NULL;
	if (w == NULL)
		return error_set(err, SIGNET_ERR_NOMEM, NULL, "out of memory");
	w->queue_max = o->queue_max ? o->queue_max : REPORT_WRITER_QUEUE_MAX;
	w->metrics = o->metrics;
	w->pruned_day = so.today;
	w->ring = calloc(w->queue_max, sizeof *w->ring);
	if (w->ring && o->n_redis_servers > 0)
		w->redis = redis_new(o);
	enum signet_status rc = w->ring == NULL || (o->n_redis_servers > 0 && w->redis == NULL)
					? error_set(err, SIGNET_ERR_NOMEM, NULL, "out of memory")
				: w->redis ? SIGNET_OK
					   : report_store_open(o->path, &so, &w->store, err);
	if (rc != SIGNET_OK) {
		redis_free(w->redis);
		free(w->ring);
		free(w);
		return rc;
	}
	pthread_mutex_init(&w->lock, NULL);
	pthread_cond_init(&w->wake, NULL);
	if (pthread_create(&w->thread, NULL, writer_main, w) != 0) {
		report_store_close(w->store);
		redis_free(w->redis);
		pthread_mutex_destroy(&w->lock);
		pthread_cond_destroy(&w->wake);
		free(w->ring);
		free(w);
		return error_set(err, SIGNET_ERR_NOMEM, NULL,
				 "cannot start the DMARC report writer thread");
	}
	*out = w;
	return SIGNET_OK;
}

void report_writer_stop(struct report_writer *w)
{
	if (w == NULL)
		return;
	pthread_mutex_lock(&w->lock);
	w->stopping = true;
	pthread_cond_signal(&w->wake);
	pthread_mutex_unlock(&w->lock);
	pthread_join(w->thread, NULL);
	report_store_close(w->store);
	redis_free(w->redis);
	pthread_mutex_destroy(&w->lock);
	pthread_cond_destroy(&w->wake);
	free(w->ring);
	free(w);
}
