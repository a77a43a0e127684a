/* report_writer.h: signetd's DMARC observation writer (issue #15). Worker
 * loops hand each evaluated message to report_writer_submit, which copies
 * it into a bounded queue and returns at once; one thread drains the queue
 * into the report store (conf/report_store.h) in transactions. A full
 * queue, a slow disk or a failed write drops observations (counted in
 * metrics and logged at most once per REPORT_WRITER_LOG_INTERVAL), never
 * mail. Stopping flushes what is queued. */
#ifndef SIGNETD_REPORT_WRITER_H
#define SIGNETD_REPORT_WRITER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <signet/signet.h>

#include "report_store.h"

struct metrics;

/* Limits (doc/SECURITY.md, "DMARC reports"). */
#define REPORT_WRITER_QUEUE_MAX 4096  /* observations waiting to be written; more are dropped */
#define REPORT_WRITER_BATCH_MAX 256   /* observations per transaction */
#define REPORT_WRITER_LOG_INTERVAL 60 /* seconds between two "dropped" log lines */
/* Redis (redis { servers }): after a failed connect or write the writer
 * waits 1 s, then twice as long each time up to this, before it tries
 * again; batches in between are dropped (and counted). */
#define REPORT_WRITER_REDIS_BACKOFF_MAX 30 /* seconds */

struct report_writer_opts {
	const char *path; /* the store file (dmarc.reports.db); unused with Redis */
	/* redis { servers } (issue #15 "Fleets"): when n_redis_servers > 0 the
	 * thread writes to the first of them that answers (report_redis_codec.h)
	 * instead of the SQLite store, with the synchronous hiredis API and
	 * redis_timeout (seconds) on the connect and each reply. */
	const char *const *redis_servers; /* "ADDRESS:PORT" / "[IPV6]:PORT"; copied */
	size_t n_redis_servers;
	double redis_timeout;
	/* redis.username / password / db: AUTH and SELECT on each connect
	 * (copied; NULL password: no AUTH) */
	const char *redis_username, *redis_password;
	int redis_db;
	unsigned retention_days; /* 0: REPORT_STORE_RETENTION_DAYS */
	size_t queue_max;        /* 0: REPORT_WRITER_QUEUE_MAX */
	struct metrics *metrics; /* borrowed; NULL: not counted */
};

struct report_writer;

/* Opens the store (its errors: the file, and why) and starts the thread.
 * With Redis, nothing is connected here: the thread connects (and
 * reconnects) itself, so a Redis that is down never stops signetd. */
SIGNET_MUST_USE enum signet_status report_writer_start(const struct report_writer_opts *o,
						       struct report_writer **out,
						       struct signet_error *err);

/* Copies obs and queues it; never blocks on I/O. false: dropped (queue
 * full, out of memory, or stopping), and counted. Thread-safe. */
bool report_writer_submit(struct report_writer *w, const struct report_obs *obs);

/* Counts since start: written to the store, dropped, waiting now. */
struct report_writer_stats {
	uint64_t recorded, dropped;
	size_t queued;
};
void report_writer_stats(struct report_writer *w, struct report_writer_stats *out);

/* Writes what is queued, stops the thread, closes the store. NULL: no-op. */
void report_writer_stop(struct report_writer *w);

#endif
