/* test_report_writer.c: signetd's DMARC observation writer
 * (daemon/report_writer.c) on a real SQLite file: everything submitted is
 * written and flushed at stop; a full queue drops and counts (the disk is
 * made "slow" by holding the store's write lock from here); a missing
 * directory is a clear error at start; the counters reach the metrics. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include <sqlite3.h>

#include "buf.h"
#include "log.h"
#include "metrics.h"
#include "report_writer.h"

static char dir[64];
static char path[128];

static int setup(void **state)
{
	(void)state;
	snprintf(dir, sizeof dir, "/tmp/signet-rw-XXXXXX");
	if (mkdtemp(dir) == NULL)
		return -1;
	snprintf(path, sizeof path, "%s/dmarc.db", dir);
	return 0;
}

static int teardown(void **state)
{
	char cmd[160];
	(void)state;
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
	return system(cmd) == 0 ? 0 : -1;
}

static struct report_obs sample(const char *ip)
{
	struct report_obs o = {
		.day = report_store_day((int64_t)time(NULL)),
		.policy_domain = "example.com",
		.source_ip = ip,
		.header_from = "example.com",
		.dkim = {{"example.com", "s1", "pass"}},
		.ndkim = 1,
		.spf_domain = "example.com",
		.spf_scope = "mfrom",
		.spf_result = "pass",
		.dmarc_result = "pass",
		.dkim_aligned_pass = true,
		.disposition = "none",
		.policy = {.p = "none", .pct = -1},
	};
	return o;
}

static sqlite3_int64 total_count(void)
{
	sqlite3 *db = NULL;
	sqlite3_stmt *st = NULL;
	sqlite3_int64 v = -1;
	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	assert_int_equal(
		sqlite3_prepare_v2(db, "SELECT coalesce(sum(count), 0) FROM rows", -1, &st, NULL),
		SQLITE_OK);
	if (sqlite3_step(st) == SQLITE_ROW)
		v = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	sqlite3_close(db);
	return v;
}

static char logpath[160];
static int saved_stderr = -1;

/* signetd's log goes to stderr, and stderr to a file of the test's until
 * log_restore. */
static void log_to_file(void)
{
	snprintf(logpath, sizeof logpath, "%s/log", dir);
	fflush(stderr);
	saved_stderr = dup(2);
	assert_true(saved_stderr >= 0);
	assert_non_null(freopen(logpath, "w", stderr));
	log_open(true, "mail", false);
}

static void log_restore(void)
{
	fflush(stderr);
	assert_true(dup2(saved_stderr, 2) >= 0);
	close(saved_stderr);
	saved_stderr = -1;
}

static int count_in_log(const char *needle)
{
	char line[512];
	int n = 0;
	FILE *f = fopen(logpath, "r");
	assert_non_null(f);
	while (fgets(line, sizeof line, f))
		if (strstr(line, needle))
			n++;
	fclose(f);
	return n;
}

static struct report_writer *start(size_t queue_max, struct metrics *m)
{
	struct report_writer_opts o = {.path = path, .queue_max = queue_max, .metrics = m};
	struct report_writer *w = NULL;
	struct signet_error err = {0};
	enum signet_status rc = report_writer_start(&o, &w, &err);
	if (rc != SIGNET_OK)
		print_message("start: %s\n", err.msg);
	assert_int_equal(rc, SIGNET_OK);
	return w;
}

/* DMARC-RPT-07: submitted observations are written; stop flushes the
 * queue. The submitter's strings need not outlive the call (copied). */
static void DMARC_RPT_07_submit_and_flush(void **state)
{
	(void)state;
	struct report_writer *w = start(0, NULL);
	for (int k = 0; k < 600; k++) {
		char ip[32];
		snprintf(ip, sizeof ip, "192.0.2.%d", k % 7);
		struct report_obs o = sample(ip);
		assert_true(report_writer_submit(w, &o));
		memset(ip, 'x', sizeof ip - 1); /* the copy must not see this */
	}
	struct report_writer_stats st;
	report_writer_stop(w);
	assert_int_equal(total_count(), 600);
	w = start(0, NULL);
	report_writer_stats(w, &st);
	assert_int_equal(st.recorded, 0);
	report_writer_stop(w);
}

static void wait_queue_empty(struct report_writer *w)
{
	struct report_writer_stats st;
	for (int k = 0; k < 2000; k++) {
		report_writer_stats(w, &st);
		if (st.queued == 0)
			return;
		usleep(1000);
	}
	fail_msg("the writer thread did not take the queue");
}

/* DMARC-RPT-08: a full queue drops (never blocks) and counts; what was
 * queued is written once the disk is back. The store's write lock is held
 * from here, so the thread waits as it would on a slow disk. */
static void DMARC_RPT_08_full_queue_drops_and_counts(void **state)
{
	(void)state;
	struct metrics *m = metrics_new();
	assert_non_null(m);
	log_to_file();
	struct report_writer *w = start(4, m);
	sqlite3 *db = NULL;
	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, NULL), SQLITE_OK);

	struct report_obs o = sample("192.0.2.1");
	assert_true(report_writer_submit(w, &o)); /* the thread takes it and waits */
	wait_queue_empty(w);
	for (int k = 0; k < 4; k++) /* REPORT_WRITER queue_max: all fit */
		assert_true(report_writer_submit(w, &o));
	struct timespec t0, t1;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (int k = 0; k < 3; k++) /* queue_max + 1 .. + 3: dropped, at once */
		assert_false(report_writer_submit(w, &o));
	clock_gettime(CLOCK_MONOTONIC, &t1);
	assert_true(t1.tv_sec - t0.tv_sec < 1);

	struct report_writer_stats st;
	report_writer_stats(w, &st);
	assert_int_equal(st.dropped, 3);
	assert_int_equal(st.queued, 4);
	/* One log line for the three drops (REPORT_WRITER_LOG_INTERVAL). */
	log_restore();
	assert_int_equal(count_in_log("observation(s) dropped"), 1);
	assert_int_equal(count_in_log("1 observation(s) dropped (queue full "
				      "(REPORT_WRITER_QUEUE_MAX)); mail is not affected"),
			 1);
	assert_int_equal(sqlite3_exec(db, "COMMIT", NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(db);
	report_writer_stop(w);
	assert_int_equal(total_count(), 5);

	struct signet_buf b;
	buf_init(&b, 1u << 20);
	assert_int_equal(metrics_render(m, &b), SIGNET_OK);
	assert_int_equal(buf_terminate(&b), SIGNET_OK);
	const char *text = (const char *)b.data;
	assert_non_null(strstr(text, "signetd_dmarc_observations_total{outcome=\"recorded\"} 5\n"));
	assert_non_null(strstr(text, "signetd_dmarc_observations_total{outcome=\"dropped\"} 3\n"));
	buf_free(&b);
	metrics_free(m);
}

/* DMARC-RPT-08: a write that fails (the store stays locked past
 * REPORT_STORE_BUSY_MS, as on a stuck disk) drops its batch and counts it;
 * later observations are written once the store is free. */
static void DMARC_RPT_08_failed_write_drops_batch(void **state)
{
	(void)state;
	struct report_writer *w = start(0, NULL);
	sqlite3 *db = NULL;
	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, NULL), SQLITE_OK);
	struct report_obs o = sample("192.0.2.1");
	assert_true(report_writer_submit(w, &o));
	assert_true(report_writer_submit(w, &o));
	struct report_writer_stats st = {0};
	for (int k = 0; k < (REPORT_STORE_BUSY_MS + 3000) / 10 && st.dropped == 0; k++) {
		usleep(10000);
		report_writer_stats(w, &st);
	}
	assert_int_equal(st.dropped, 2);
	assert_int_equal(st.recorded, 0);
	assert_int_equal(sqlite3_exec(db, "COMMIT", NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(db);
	assert_true(report_writer_submit(w, &o));
	report_writer_stop(w);
	assert_int_equal(total_count(), 1);
}

/* DMARC-RPT-08: a bad observation (over a limit) is dropped alone and
 * counted; the rest of its batch is written. */
static void DMARC_RPT_08_bad_observation_dropped_alone(void **state)
{
	(void)state;
	struct report_writer *w = start(0, NULL);
	struct report_obs o = sample("192.0.2.1");
	char big[REPORT_STORE_MAX_FIELD + 2];
	memset(big, 'a', sizeof big - 1);
	big[sizeof big - 1] = '\0';
	assert_true(report_writer_submit(w, &o));
	o.header_from = big;
	assert_true(report_writer_submit(w, &o));
	o.header_from = "example.com";
	assert_true(report_writer_submit(w, &o));
	/* More DKIM results than REPORT_STORE_MAX_DKIM: refused, not cut down. */
	for (size_t k = 0; k < REPORT_STORE_MAX_DKIM; k++)
		o.dkim[k] = (struct report_dkim){"example.com", "s", "pass"};
	o.ndkim = REPORT_STORE_MAX_DKIM + 1;
	assert_true(report_writer_submit(w, &o));
	o.ndkim = REPORT_STORE_MAX_DKIM;
	assert_true(report_writer_submit(w, &o));
	struct report_writer_stats st = {0};
	for (int k = 0; k < 2000 && st.recorded + st.dropped < 5; k++) {
		usleep(1000);
		report_writer_stats(w, &st);
	}
	assert_int_equal(st.recorded, 3);
	assert_int_equal(st.dropped, 2);
	report_writer_stop(w);
	assert_int_equal(total_count(), 3);
}

/* DMARC-RPT-04: a store in a missing directory fails at start, in words. */
static void DMARC_RPT_04_writer_missing_directory(void **state)
{
	(void)state;
	char p[160];
	snprintf(p, sizeof p, "%s/none/dmarc.db", dir);
	struct report_writer_opts o = {.path = p};
	struct report_writer *w = NULL;
	struct signet_error err = {0};
	assert_int_equal(report_writer_start(&o, &w, &err), SIGNET_ERR_INVAL);
	assert_null(w);
	assert_non_null(strstr(err.msg, "/none does not exist"));
	report_writer_stop(NULL);
}

/* A loopback TCP port that refuses connections: bound, never listening. */
static int refusing_port(int *fd)
{
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t len = sizeof sa;
	*fd = socket(AF_INET, SOCK_STREAM, 0);
	assert_true(*fd >= 0);
	assert_int_equal(bind(*fd, (struct sockaddr *)&sa, sizeof sa), 0);
	assert_int_equal(getsockname(*fd, (struct sockaddr *)&sa, &len), 0);
	return ntohs(sa.sin_port);
}

/* DMARC-RPT-01 (issue #15 "Fleets"): with redis { servers } and Redis
 * down, start does not wait for Redis, the SQLite store is not touched,
 * submissions return at once, every observation is dropped and counted,
 * and the log says so once. */
static void DMARC_RPT_01_redis_down_drops_and_counts(void **state)
{
	(void)state;
	int fd;
	char server[32], p[160];
	snprintf(server, sizeof server, "127.0.0.1:%d", refusing_port(&fd));
	snprintf(p, sizeof p, "%s/none/dmarc.db", dir); /* would fail if opened */
	const char *servers[] = {server};
	struct report_writer_opts o = {
		.path = p, .redis_servers = servers, .n_redis_servers = 1, .redis_timeout = 0.5};
	struct report_writer *w = NULL;
	struct signet_error err = {0};
	log_to_file();
	assert_int_equal(report_writer_start(&o, &w, &err), SIGNET_OK);
	struct report_obs obs = sample("192.0.2.1");
	for (int k = 0; k < 3; k++)
		assert_true(report_writer_submit(w, &obs));
	struct report_writer_stats st = {0};
	for (int k = 0; k < 500 && st.dropped < 3; k++) {
		usleep(10000);
		report_writer_stats(w, &st);
	}
	report_writer_stop(w);
	log_restore();
	close(fd);
	assert_int_equal(st.dropped, 3);
	assert_int_equal(st.recorded, 0);
	assert_int_equal(count_in_log("observation(s) dropped (Redis "), 1);
	struct stat sb;
	assert_int_not_equal(stat(p, &sb), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(DMARC_RPT_07_submit_and_flush, setup, teardown),
		cmocka_unit_test_setup_teardown(DMARC_RPT_08_full_queue_drops_and_counts, setup,
						teardown),
		cmocka_unit_test_setup_teardown(DMARC_RPT_08_failed_write_drops_batch, setup,
						teardown),
		cmocka_unit_test_setup_teardown(DMARC_RPT_08_bad_observation_dropped_alone, setup,
						teardown),
		cmocka_unit_test_setup_teardown(DMARC_RPT_01_redis_down_drops_and_counts, setup,
						teardown),
		cmocka_unit_test_setup_teardown(DMARC_RPT_04_writer_missing_directory, setup,
						teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
