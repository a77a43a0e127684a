/* report_writer.c: the bounded queue and the writer thread in front of the
 * DMARC report store (report_writer.h). Submitters take the lock only to
 * put a pointer in the ring; the thread takes up to REPORT_WRITER_BATCH_MAX
 * at a time and writes them in one transaction outside the lock. */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "error.h"
#include "log.h"
#include "metrics.h"
#include "report_writer.h"

struct report_writer {
	struct report_store *store;
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
		"DMARC report store: %llu observation(s) dropped (%s); mail is not affected",
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

	if (today == w->pruned_day)
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
		size_t ok = write_batch(w, batch, n, &err);
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
	enum signet_status rc = w->ring ? report_store_open(o->path, &so, &w->store, err)
					: error_set(err, SIGNET_ERR_NOMEM, NULL, "out of memory");
	if (rc != SIGNET_OK) {
		free(w->ring);
		free(w);
		return rc;
	}
	pthread_mutex_init(&w->lock, NULL);
	pthread_cond_init(&w->wake, NULL);
	if (pthread_create(&w->thread, NULL, writer_main, w) != 0) {
		report_store_close(w->store);
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
	pthread_mutex_destroy(&w->lock);
	pthread_cond_destroy(&w->wake);
	free(w->ring);
	free(w);
}
