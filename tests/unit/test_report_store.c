/* test_report_store.c: the DMARC aggregate-report store (conf/report_store.c)
 * on a real SQLite file in a temporary directory: aggregation on write,
 * retention, schema version, file mode, limits, report states, and the
 * errors for a missing or unwritable directory. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include <sqlite3.h>

#include "report_store.h"

static char dir[64];
static char path[128];

static int setup(void **state)
{
	(void)state;
	snprintf(dir, sizeof dir, "/tmp/signet-rs-XXXXXX");
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

static struct report_obs sample(int64_t day)
{
	struct report_obs o = {
		.day = day,
		.policy_domain = "example.com",
		.source_ip = "192.0.2.1",
		.header_from = "example.com",
		.envelope_from = "bounce.example.com",
		.envelope_to = "example.net",
		.dkim = {{"example.com", "s1", "pass"}, {"other.example", NULL, "fail"}},
		.ndkim = 2,
		.spf_domain = "bounce.example.com",
		.spf_scope = "mfrom",
		.spf_result = "pass",
		.dmarc_result = "pass",
		.dkim_aligned_pass = true,
		.spf_aligned_pass = true,
		.disposition = "none",
		.policy = {.p = "reject",
			   .sp = "quarantine",
			   .adkim = "r",
			   .aspf = "s",
			   .discovery = "treewalk",
			   .pct = -1,
			   .rua = "mailto:d@example.com"},
	};
	return o;
}

static struct report_store *open_store(int64_t today, unsigned retention)
{
	struct report_store_opts o = {.retention_days = retention, .today = today};
	struct report_store *s = NULL;
	struct signet_error err = {0};
	enum signet_status rc = report_store_open(path, &o, &s, &err);
	if (rc != SIGNET_OK)
		print_message("open: %s\n", err.msg);
	assert_int_equal(rc, SIGNET_OK);
	return s;
}

static void add(struct report_store *s, const struct report_obs *o)
{
	struct signet_error err = {0};
	enum signet_status rc = report_store_add(s, o, &err);
	if (rc != SIGNET_OK)
		print_message("add: %s\n", err.msg);
	assert_int_equal(rc, SIGNET_OK);
}

struct collected {
	size_t nrows;
	uint64_t counts[8];
	char ips[8][64];
	char dkim[8][256];
	char policy[128];
};

static int collect_row(void *arg, const struct report_obs *r)
{
	struct collected *c = arg;
	if (c->nrows < 8) {
		c->counts[c->nrows] = r->count;
		snprintf(c->ips[c->nrows], sizeof c->ips[0], "%s", r->source_ip);
		size_t used = 0;
		for (size_t k = 0; k < r->ndkim; k++)
			used += (size_t)snprintf(c->dkim[c->nrows] + used, sizeof c->dkim[0] - used,
						 "%s/%s/%s,", r->dkim[k].domain,
						 r->dkim[k].selector ? r->dkim[k].selector
								     : "(none)",
						 r->dkim[k].result);
		snprintf(c->policy, sizeof c->policy, "p=%s sp=%s np=%s aspf=%s pct=%d rua=%s",
			 r->policy.p, r->policy.sp, r->policy.np ? r->policy.np : "(none)",
			 r->policy.aspf, r->policy.pct, r->policy.rua);
	}
	c->nrows++;
	return 0;
}

static struct collected rows_of(struct report_store *s, int64_t day, const char *domain)
{
	struct collected c;
	struct signet_error err = {0};
	memset(&c, 0, sizeof c);
	assert_int_equal(report_store_rows(s, day, domain, collect_row, &c, &err), SIGNET_OK);
	return c;
}

/* DMARC-RPT-02: one row per day x policy domain x source x result tuple,
 * with a count (aggregated on write). */
static void DMARC_RPT_02_aggregated_on_write(void **state)
{
	(void)state;
	struct report_store *s = open_store(100, 0);
	struct report_obs o = sample(100);
	add(s, &o);
	add(s, &o);
	add(s, &o);
	o.source_ip = "192.0.2.2";
	add(s, &o);
	o.spf_result = "fail"; /* another result from the same source: another row */
	add(s, &o);
	struct collected c = rows_of(s, 100, "example.com");
	assert_int_equal(c.nrows, 3);
	assert_string_equal(c.ips[0], "192.0.2.1");
	assert_int_equal(c.counts[0], 3);
	assert_int_equal(c.counts[1] + c.counts[2], 2);
	assert_string_equal(c.dkim[0], "example.com/s1/pass,other.example/(none)/fail,");
	assert_string_equal(c.policy, "p=reject sp=quarantine np=(none) aspf=s pct=-1 "
				      "rua=mailto:d@example.com");
	/* Another day is another report. */
	assert_int_equal(rows_of(s, 101, "example.com").nrows, 0);
	report_store_close(s);
}

static int collect_domain(void *arg, const char *d)
{
	char *out = arg;
	strcat(out, d);
	strcat(out, ",");
	return 0;
}

/* DMARC-RPT-02: the reporter asks which domains have data for a day. */
/* report_store_add_count (signet dmarc report --redis, issue #15 "Fleets"):
 * n messages in one UPSERT, added to what is there; 0 and over INT64_MAX refused. */
static void DMARC_RPT_01_add_count(void **state)
{
	(void)state;
	struct report_store *s = open_store(20000, 0);
	struct report_obs o = sample(20000);
	struct signet_error err = {0};
	add(s, &o);
	assert_int_equal(report_store_add_count(s, &o, 40, &err), SIGNET_OK); /* the UPSERT */
	assert_int_equal(report_store_add_count(s, &o, 1, &err), SIGNET_OK);
	assert_int_equal(report_store_add_count(s, &o, 0, &err), SIGNET_ERR_LIMIT);
	assert_int_equal(report_store_add_count(s, &o, (uint64_t)INT64_MAX + 1, &err),
			 SIGNET_ERR_LIMIT);
	struct collected c = {0};
	assert_int_equal(report_store_rows(s, 20000, "example.com", collect_row, &c, &err),
			 SIGNET_OK);
	assert_int_equal(c.nrows, 1);
	assert_int_equal(c.counts[0], 42);
	report_store_close(s);
}

static void DMARC_RPT_02_domains_of_a_day(void **state)
{
	(void)state;
	struct report_store *s = open_store(100, 0);
	struct report_obs o = sample(100);
	char got[256] = "";
	struct signet_error err = {0};
	o.policy_domain = "b.example";
	add(s, &o);
	o.policy_domain = "a.example";
	add(s, &o);
	o.day = 99;
	o.policy_domain = "c.example";
	add(s, &o);
	assert_int_equal(report_store_domains(s, 100, collect_domain, got, &err), SIGNET_OK);
	assert_string_equal(got, "a.example,b.example,");
	report_store_close(s);
}

/* DMARC-RPT-03: bounded retention: days before today - retention_days are
 * pruned when the store is opened; the day at the limit is kept. */
static void DMARC_RPT_03_retention(void **state)
{
	(void)state;
	struct report_store *s = open_store(100, 0);
	struct report_obs o = sample(100);
	add(s, &o);
	o.day = 69;
	add(s, &o);
	o.day = 70;
	add(s, &o);
	report_store_close(s);
	s = open_store(100, 30); /* keeps days >= 70 */
	assert_int_equal(rows_of(s, 69, "example.com").nrows, 0);
	assert_int_equal(rows_of(s, 70, "example.com").nrows, 1);
	assert_int_equal(rows_of(s, 100, "example.com").nrows, 1);
	report_store_close(s);
	s = open_store(100, 1);
	assert_int_equal(rows_of(s, 70, "example.com").nrows, 0);
	assert_int_equal(rows_of(s, 100, "example.com").nrows, 1);
	report_store_close(s);
}

static void DMARC_RPT_03_retention_limit(void **state)
{
	(void)state;
	struct report_store_opts o = {.retention_days = REPORT_STORE_MAX_RETENTION_DAYS + 1};
	struct report_store *s = NULL;
	struct signet_error err = {0};
	assert_int_equal(report_store_open(path, &o, &s, &err), SIGNET_ERR_LIMIT);
	assert_non_null(strstr(err.msg, "REPORT_STORE_MAX_RETENTION_DAYS"));
	assert_null(s);
	o.retention_days = REPORT_STORE_MAX_RETENTION_DAYS;
	assert_int_equal(report_store_open(path, &o, &s, &err), SIGNET_OK);
	report_store_close(s);
}

static sqlite3_int64 query_int(const char *sql)
{
	sqlite3 *db = NULL;
	sqlite3_stmt *st = NULL;
	sqlite3_int64 v = -1;
	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK);
	if (sqlite3_step(st) == SQLITE_ROW)
		v = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	sqlite3_close(db);
	return v;
}

/* DMARC-RPT-04: one file, WAL mode, mode 0640, schema version in
 * PRAGMA user_version; a newer version is refused, not misread. */
static void DMARC_RPT_04_file_wal_mode_schema(void **state)
{
	(void)state;
	struct stat st;
	mode_t old = umask(022);
	struct report_store *s = open_store(100, 0);
	umask(old);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, REPORT_STORE_FILE_MODE);
	report_store_close(s);
	assert_int_equal(query_int("PRAGMA user_version"), REPORT_STORE_SCHEMA);
	sqlite3 *db = NULL;
	sqlite3_stmt *q = NULL;
	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(db, "PRAGMA journal_mode", -1, &q, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_step(q), SQLITE_ROW);
	assert_string_equal((const char *)sqlite3_column_text(q, 0), "wal");
	sqlite3_finalize(q);
	assert_int_equal(sqlite3_exec(db, "PRAGMA user_version = 2", NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(db);

	struct report_store_opts o = {.today = 100};
	struct signet_error err = {0};
	assert_int_equal(report_store_open(path, &o, &s, &err), SIGNET_ERR_STATE);
	assert_non_null(strstr(err.msg, "schema version 2"));
}

/* DMARC-RPT-04: a missing or unwritable directory is a clear error. */
static void DMARC_RPT_04_missing_or_readonly_directory(void **state)
{
	(void)state;
	struct report_store_opts o = {.today = 100};
	struct report_store *s = NULL;
	struct signet_error err = {0};
	char p[160];
	snprintf(p, sizeof p, "%s/nodir/dmarc.db", dir);
	assert_int_equal(report_store_open(p, &o, &s, &err), SIGNET_ERR_INVAL);
	assert_null(s);
	char want[512];
	snprintf(want, sizeof want, "cannot create %s: directory %s/nodir does not exist", p, dir);
	assert_string_equal(err.msg, want);

	/* /sys refuses new files even to root (a read-only directory). */
	assert_int_equal(report_store_open("/sys/signet-dmarc.db", &o, &s, &err), SIGNET_ERR_INVAL);
	assert_null(s);
	assert_string_equal(err.msg, "cannot create /sys/signet-dmarc.db: Permission denied");

	/* Read-only open of a file that is not there. */
	o.read_only = true;
	assert_int_equal(report_store_open(path, &o, &s, &err), SIGNET_ERR_INVAL);
	assert_non_null(strstr(err.msg, "No such file or directory"));
}

/* DMARC-RPT-05: each field is capped (REPORT_STORE_MAX_FIELD): at the limit
 * it is kept, one byte over it is refused; DKIM results likewise. */
static void DMARC_RPT_05_field_and_dkim_limits(void **state)
{
	(void)state;
	struct report_store *s = open_store(100, 0);
	struct report_obs o = sample(100);
	struct signet_error err = {0};
	char big[REPORT_STORE_MAX_FIELD + 2];
	memset(big, 'a', sizeof big - 1);
	big[sizeof big - 1] = '\0';
	o.header_from = big; /* 256 bytes */
	assert_int_equal(report_store_add(s, &o, &err), SIGNET_ERR_LIMIT);
	assert_string_equal(err.msg,
			    "header_from is longer than REPORT_STORE_MAX_FIELD (255 bytes)");
	big[REPORT_STORE_MAX_FIELD] = '\0'; /* 255 */
	add(s, &o);

	o = sample(100);
	for (size_t k = 0; k < REPORT_STORE_MAX_DKIM; k++)
		o.dkim[k] = (struct report_dkim){"example.com", "s", "pass"};
	o.ndkim = REPORT_STORE_MAX_DKIM;
	add(s, &o);
	o.ndkim = REPORT_STORE_MAX_DKIM + 1;
	assert_int_equal(report_store_add(s, &o, &err), SIGNET_ERR_LIMIT);
	assert_non_null(strstr(err.msg, "REPORT_STORE_MAX_DKIM"));

	o = sample(100);
	o.dkim[0].selector = "s1;x";
	assert_int_equal(report_store_add(s, &o, &err), SIGNET_ERR_SYNTAX);
	o = sample(100);
	o.source_ip = NULL;
	assert_int_equal(report_store_add(s, &o, &err), SIGNET_ERR_INVAL);
	assert_string_equal(err.msg, "observation without source IP");
	report_store_close(s);
}

/* DMARC-RPT-06: report states per report id and destination; the daily
 * cap counts reports sent, not failed ones. */
static void DMARC_RPT_06_report_states(void **state)
{
	(void)state;
	struct report_store *s = open_store(100, 0);
	struct signet_error err = {0};
	enum report_state st;
	unsigned n;
	assert_int_equal(report_store_state(s, "r1", "a@x", &st, &err), SIGNET_OK);
	assert_int_equal(st, REPORT_STATE_NONE);
	assert_int_equal(report_store_set_state(s, "r1", 99, "a@x", REPORT_STATE_FAILED, &err),
			 SIGNET_OK);
	assert_int_equal(report_store_state(s, "r1", "a@x", &st, &err), SIGNET_OK);
	assert_int_equal(st, REPORT_STATE_FAILED);
	assert_int_equal(report_store_sent_count(s, 99, "a@x", &n, &err), SIGNET_OK);
	assert_int_equal(n, 0);
	assert_int_equal(report_store_set_state(s, "r1", 99, "a@x", REPORT_STATE_SENT, &err),
			 SIGNET_OK);
	assert_int_equal(report_store_set_state(s, "r2", 99, "a@x", REPORT_STATE_SENT, &err),
			 SIGNET_OK);
	assert_int_equal(report_store_sent_count(s, 99, "a@x", &n, &err), SIGNET_OK);
	assert_int_equal(n, 2);
	assert_int_equal(report_store_sent_count(s, 99, "b@x", &n, &err), SIGNET_OK);
	assert_int_equal(n, 0);
	report_store_close(s);
	assert_int_equal(query_int("SELECT attempts FROM sent WHERE report_id = 'r1'"), 2);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(DMARC_RPT_02_aggregated_on_write, setup, teardown),
		cmocka_unit_test_setup_teardown(DMARC_RPT_02_domains_of_a_day, setup, teardown),
		cmocka_unit_test_setup_teardown(DMARC_RPT_01_add_count, setup, teardown),
		cmocka_unit_test_setup_teardown(DMARC_RPT_03_retention, setup, teardown),
		cmocka_unit_test_setup_teardown(DMARC_RPT_03_retention_limit, setup, teardown),
		cmocka_unit_test_setup_teardown(DMARC_RPT_04_file_wal_mode_schema, setup, teardown),
		cmocka_unit_test_setup_teardown(DMARC_RPT_04_missing_or_readonly_directory, setup,
						teardown),
		cmocka_unit_test_setup_teardown(DMARC_RPT_05_field_and_dkim_limits, setup,
						teardown),
		cmocka_unit_test_setup_teardown(DMARC_RPT_06_report_states, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
