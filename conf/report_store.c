/* report_store.c: the DMARC aggregate-report store in one SQLite file
 * (report_store.h). Rows are aggregated on write with an UPSERT; absent
 * optional fields are stored as '' so that they take part in the row key
 * (NULLs never collide in a UNIQUE index). It does no DNS, mail or XML. */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sqlite3.h>

#include "error.h"
#include "report_store.h"

/* The DKIM results of a row are one key column: "d s r" per signature,
 * joined by ';' (neither appears in a domain, selector or result word). */
#define DKIM_TEXT_MAX (REPORT_STORE_MAX_DKIM * (3 * REPORT_STORE_MAX_FIELD + 3))

struct report_store {
	sqlite3 *db;
	sqlite3_stmt *add_row, *add_policy;
	unsigned retention_days;
	char path[PATH_MAX];
};

static const char schema_sql[] =
	"CREATE TABLE IF NOT EXISTS rows("
	" day INTEGER NOT NULL, domain TEXT NOT NULL, source_ip TEXT NOT NULL,"
	" header_from TEXT NOT NULL, envelope_from TEXT NOT NULL, envelope_to TEXT NOT NULL,"
	" dkim TEXT NOT NULL, spf_domain TEXT NOT NULL, spf_scope TEXT NOT NULL,"
	" spf_result TEXT NOT NULL, dmarc_result TEXT NOT NULL, dkim_aligned INTEGER NOT NULL,"
	" spf_aligned INTEGER NOT NULL, disposition TEXT NOT NULL, override_type TEXT NOT NULL,"
	" override_comment TEXT NOT NULL, count INTEGER NOT NULL,"
	" PRIMARY KEY(day, domain, source_ip, header_from, envelope_from, envelope_to, dkim,"
	"  spf_domain, spf_scope, spf_result, dmarc_result, dkim_aligned, spf_aligned,"
	"  disposition, override_type, override_comment)) WITHOUT ROWID;"
	"CREATE TABLE IF NOT EXISTS policy("
	" day INTEGER NOT NULL, domain TEXT NOT NULL, p TEXT, sp TEXT, np TEXT, adkim TEXT,"
	" aspf TEXT, discovery TEXT, testing INTEGER NOT NULL, pct INTEGER NOT NULL, fo TEXT,"
	" rua TEXT, PRIMARY KEY(day, domain)) WITHOUT ROWID;"
	"CREATE TABLE IF NOT EXISTS sent("
	" report_id TEXT NOT NULL, rcpt TEXT NOT NULL, day INTEGER NOT NULL,"
	" state INTEGER NOT NULL, attempts INTEGER NOT NULL,"
	" PRIMARY KEY(report_id, rcpt)) WITHOUT ROWID;";

static const char add_row_sql[] =
	"INSERT INTO rows VALUES(?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11,?12,?13,?14,?15,?16,?17)"
	" ON CONFLICT DO UPDATE SET count = count + ?17";

static const char add_policy_sql[] =
	"INSERT OR REPLACE INTO policy VALUES(?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11,?12)";

int64_t report_store_day(int64_t t)
{
	return t >= 0 ? t / 86400 : -((-t + 86399) / 86400);
}

int64_t report_store_day_start(int64_t day)
{
	return day * 86400;
}

static enum signet_status db_error(const struct report_store *s, struct signet_error *err,
				   const char *what)
{
	return error_set(err, SIGNET_ERR_STATE, NULL, "%s %s: %s", what, s->path,
			 sqlite3_errmsg(s->db));
}

static enum signet_status exec(struct report_store *s, const char *sql, struct signet_error *err,
			       const char *what)
{
	if (sqlite3_exec(s->db, sql, NULL, NULL, NULL) != SQLITE_OK)
		return db_error(s, err, what);
	return SIGNET_OK;
}

/* The file is created here, not by SQLite, so that its mode is ours
 * (SQLite gives the -wal and -shm files the database file's mode). A
 * missing or unwritable directory is said in words. */
static enum signet_status create_file(const char *path, struct signet_error *err)
{
	char dir[PATH_MAX];
	int fd = open(path, O_WRONLY | O_CREAT | O_NOFOLLOW | O_CLOEXEC, REPORT_STORE_FILE_MODE);
	if (fd >= 0) {
		close(fd);
		return SIGNET_OK;
	}
	int e = errno;
	snprintf(dir, sizeof dir, "%s", path);
	char *d = dirname(dir);
	struct stat st;
	if (e == ENOENT && stat(d, &st) != 0)
		return error_set(err, SIGNET_ERR_INVAL, NULL,
				 "cannot create %s: directory %s does not exist", path, d);
	return error_set(err, SIGNET_ERR_INVAL, NULL, "cannot create %s: %s", path, strerror(e));
}

static enum signet_status schema(struct report_store *s, bool read_only, struct signet_error *err)
{
	sqlite3_stmt *st = NULL;
	int version = 0;

	if (sqlite3_prepare_v2(s->db, "PRAGMA user_version", -1, &st, NULL) != SQLITE_OK)
		return db_error(s, err, "cannot read");
	if (sqlite3_step(st) == SQLITE_ROW)
		version = sqlite3_column_int(st, 0);
	sqlite3_finalize(st);
	if (version > REPORT_STORE_SCHEMA)
		return error_set(err, SIGNET_ERR_STATE, NULL,
				 "%s has schema version %d; this signet knows %d (a newer signet "
				 "wrote it)",
				 s->path, version, REPORT_STORE_SCHEMA);
	if (version == REPORT_STORE_SCHEMA || read_only)
		return version == REPORT_STORE_SCHEMA
			       ? SIGNET_OK
			       : error_set(err, SIGNET_ERR_STATE, NULL,
					   "%s is not a DMARC report store (no schema)", s->path);
	SIGNET_TRY(exec(s, "BEGIN IMMEDIATE", err, "cannot write"));
	if (sqlite3_exec(s->db, schema_sql, NULL, NULL, NULL) != SQLITE_OK ||
	    sqlite3_exec(s->db, "PRAGMA user_version = 1", NULL, NULL, NULL) != SQLITE_OK) {
		enum signet_status rc = db_error(s, err, "cannot create the tables in");
		sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
		return rc;
	}
	return exec(s, "COMMIT", err, "cannot write");
}

static enum signet_status open_db(struct report_store *s, const struct report_store_opts *o,
				  struct signet_error *err)
{
	int flags = o->read_only ? SQLITE_OPEN_READONLY : SQLITE_OPEN_READWRITE;
	struct stat st;

	if (o->read_only && stat(s->path, &st) != 0)
		return error_set(err, SIGNET_ERR_INVAL, NULL, "cannot open %s: %s", s->path,
				 strerror(errno));
	if (!o->read_only)
		SIGNET_TRY(create_file(s->path, err));
	if (sqlite3_open_v2(s->path, &s->db, flags | SQLITE_OPEN_NOFOLLOW, NULL) != SQLITE_OK)
		return db_error(s, err, "cannot open");
	sqlite3_busy_timeout(s->db, REPORT_STORE_BUSY_MS);
	/* WAL: the reporter reads while signetd writes. synchronous = NORMAL
	 * syncs at checkpoints only: a power cut may lose the last batches of
	 * report data, never the file's consistency (SQLite's WAL docs). */
	if (!o->read_only)
		SIGNET_TRY(exec(s, "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL", err,
				"cannot open"));
	SIGNET_TRY(schema(s, o->read_only, err));
	if (o->read_only)
		return SIGNET_OK;
	if (sqlite3_prepare_v2(s->db, add_row_sql, -1, &s->add_row, NULL) != SQLITE_OK ||
	    sqlite3_prepare_v2(s->db, add_policy_sql, -1, &s->add_policy, NULL) != SQLITE_OK)
		return db_error(s, err, "cannot prepare statements for");
	return report_store_prune(s, o->today, err);
}

enum signet_status report_store_open(const char *path, const struct report_store_opts *o,
				     struct report_store **out, struct signet_error *err)
{
	*out = NULL;
	if (path == NULL || *path == '\0')
		return error_set(err, SIGNET_ERR_INVAL, NULL, "no report store file given");
	if (strlen(path) >= PATH_MAX)
		return error_set(err, SIGNET_ERR_LIMIT, NULL, "report store path over PATH_MAX");
	if (o->retention_days > REPORT_STORE_MAX_RETENTION_DAYS)
		return error_set(err, SIGNET_ERR_LIMIT, NULL,
				 "retention_days %u is more than REPORT_STORE_MAX_RETENTION_DAYS "
				 "(%u)",
				 o->retention_days, REPORT_STORE_MAX_RETENTION_DAYS);
	struct report_store *s = calloc(1, sizeof *s);
	if (s == NULL)
		return error_set(err, SIGNET_ERR_NOMEM, NULL, "out of memory");
	snprintf(s->path, sizeof s->path, "%s", path);
	s->retention_days = o->retention_days ? o->retention_days : REPORT_STORE_RETENTION_DAYS;
	enum signet_status rc = open_db(s, o, err);
	if (rc != SIGNET_OK) {
		report_store_close(s);
		return rc;
	}
	*out = s;
	return SIGNET_OK;
}

void report_store_close(struct report_store *s)
{
	if (s == NULL)
		return;
	sqlite3_finalize(s->add_row);
	sqlite3_finalize(s->add_policy);
	sqlite3_close(s->db);
	free(s);
}

enum signet_status report_store_begin(struct report_store *s, struct signet_error *err)
{
	return exec(s, "BEGIN IMMEDIATE", err, "cannot write");
}

enum signet_status report_store_commit(struct report_store *s, struct signet_error *err)
{
	if (sqlite3_exec(s->db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK) {
		enum signet_status rc = db_error(s, err, "cannot write");
		report_store_rollback(s);
		return rc;
	}
	return SIGNET_OK;
}

void report_store_rollback(struct report_store *s)
{
	if (!sqlite3_get_autocommit(s->db))
		sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
}

enum signet_status report_store_prune(struct report_store *s, int64_t today,
				      struct signet_error *err)
{
	static const char *const sql[] = {"DELETE FROM rows WHERE day < ?1",
					  "DELETE FROM policy WHERE day < ?1",
					  "DELETE FROM sent WHERE day < ?1"};
	for (size_t k = 0; k < sizeof sql / sizeof sql[0]; k++) {
		sqlite3_stmt *st = NULL;
		if (sqlite3_prepare_v2(s->db, sql[k], -1, &st, NULL) != SQLITE_OK)
			return db_error(s, err, "cannot prune");
		sqlite3_bind_int64(st, 1, today - (int64_t)s->retention_days);
		int rc = sqlite3_step(st);
		sqlite3_finalize(st);
		if (rc != SQLITE_DONE)
			return db_error(s, err, "cannot prune");
	}
	return SIGNET_OK;
}

/* ---- writing ------------------------------------------------------------ */

static enum signet_status field(const char *name, const char *v, bool required,
				struct signet_error *err)
{
	if (v == NULL || *v == '\0')
		return required ? error_set(err, SIGNET_ERR_INVAL, NULL, "observation without %s",
					    name)
				: SIGNET_OK;
	if (strlen(v) > REPORT_STORE_MAX_FIELD)
		return error_set(err, SIGNET_ERR_LIMIT, NULL,
				 "%s is longer than REPORT_STORE_MAX_FIELD (%d bytes)", name,
				 REPORT_STORE_MAX_FIELD);
	return SIGNET_OK;
}

static bool dkim_word(const char *v)
{
	for (const unsigned char *p = (const unsigned char *)v; *p; p++)
		if (*p <= 0x20 || *p == ';' || *p == 0x7f)
			return false;
	return true;
}

static enum signet_status dkim_text(const struct report_obs *o, char *out, size_t cap,
				    struct signet_error *err)
{
	size_t used = 0;

	out[0] = '\0';
	if (o->ndkim > REPORT_STORE_MAX_DKIM)
		return error_set(err, SIGNET_ERR_LIMIT, NULL,
				 "%zu DKIM results, more than REPORT_STORE_MAX_DKIM (%d)", o->ndkim,
				 REPORT_STORE_MAX_DKIM);
	for (size_t k = 0; k < o->ndkim; k++) {
		const struct report_dkim *d = &o->dkim[k];
		const char *sel = d->selector && *d->selector ? d->selector : "-";
		SIGNET_TRY(field("DKIM domain", d->domain, true, err));
		SIGNET_TRY(field("DKIM selector", d->selector, false, err));
		SIGNET_TRY(field("DKIM result", d->result, true, err));
		if (!dkim_word(d->domain) || !dkim_word(sel) || !dkim_word(d->result))
			return error_set(err, SIGNET_ERR_SYNTAX, NULL,
					 "DKIM domain, selector or result with a space, ';' or a "
					 "control byte");
		int n = snprintf(out + used, cap - used, "%s%s %s %s", k ? ";" : "", d->domain, sel,
				 d->result);
		if (n < 0 || (size_t)n >= cap - used)
			return error_set(err, SIGNET_ERR_LIMIT, NULL, "DKIM results too long");
		used += (size_t)n;
	}
	return SIGNET_OK;
}

static const char *opt(const char *v)
{
	return v ? v : "";
}

static enum signet_status check_obs(const struct report_obs *o, struct signet_error *err)
{
	SIGNET_TRY(field("policy domain", o->policy_domain, true, err));
	SIGNET_TRY(field("source IP", o->source_ip, true, err));
	SIGNET_TRY(field("header_from", o->header_from, true, err));
	SIGNET_TRY(field("envelope_from", o->envelope_from, false, err));
	SIGNET_TRY(field("envelope_to", o->envelope_to, false, err));
	SIGNET_TRY(field("SPF domain", o->spf_domain, false, err));
	SIGNET_TRY(field("SPF scope", o->spf_scope, false, err));
	SIGNET_TRY(field("SPF result", o->spf_result, false, err));
	SIGNET_TRY(field("DMARC result", o->dmarc_result, true, err));
	SIGNET_TRY(field("disposition", o->disposition, true, err));
	SIGNET_TRY(field("override type", o->override_type, false, err));
	SIGNET_TRY(field("override comment", o->override_comment, false, err));
	const struct report_policy *p = &o->policy;
	SIGNET_TRY(field("p", p->p, false, err));
	SIGNET_TRY(field("sp", p->sp, false, err));
	SIGNET_TRY(field("np", p->np, false, err));
	SIGNET_TRY(field("adkim", p->adkim, false, err));
	SIGNET_TRY(field("aspf", p->aspf, false, err));
	SIGNET_TRY(field("discovery", p->discovery, false, err));
	SIGNET_TRY(field("fo", p->fo, false, err));
	/* rua= may be longer than a name: the record's own cap bounds it. */
	if (p->rua && strlen(p->rua) > 2048)
		return error_set(err, SIGNET_ERR_LIMIT, NULL, "rua longer than 2048 bytes");
	return SIGNET_OK;
}

static void bind_text(sqlite3_stmt *st, int i, const char *v)
{
	sqlite3_bind_text(st, i, v, -1, SQLITE_STATIC);
}

static void bind_opt(sqlite3_stmt *st, int i, const char *v)
{
	if (v)
		sqlite3_bind_text(st, i, v, -1, SQLITE_STATIC);
	else
		sqlite3_bind_null(st, i);
}

static enum signet_status step_done(struct report_store *s, sqlite3_stmt *st,
				    struct signet_error *err)
{
	int rc = sqlite3_step(st);
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	return rc == SQLITE_DONE ? SIGNET_OK : db_error(s, err, "cannot write");
}

static enum signet_status add_policy(struct report_store *s, const struct report_obs *o,
				     struct signet_error *err)
{
	const struct report_policy *p = &o->policy;
	sqlite3_stmt *st = s->add_policy;
	sqlite3_bind_int64(st, 1, o->day);
	bind_text(st, 2, o->policy_domain);
	bind_opt(st, 3, p->p);
	bind_opt(st, 4, p->sp);
	bind_opt(st, 5, p->np);
	bind_opt(st, 6, p->adkim);
	bind_opt(st, 7, p->aspf);
	bind_opt(st, 8, p->discovery);
	sqlite3_bind_int(st, 9, p->testing);
	sqlite3_bind_int(st, 10, p->pct);
	bind_opt(st, 11, p->fo);
	bind_opt(st, 12, p->rua);
	return step_done(s, st, err);
}

enum signet_status report_store_add(struct report_store *s, const struct report_obs *o,
				    struct signet_error *err)
{
	return report_store_add_count(s, o, 1, err);
}

enum signet_status report_store_add_count(struct report_store *s, const struct report_obs *o,
					  uint64_t n, struct signet_error *err)
{
	char dkim[DKIM_TEXT_MAX];
	sqlite3_stmt *st = s->add_row;

	if (st == NULL)
		return error_set(err, SIGNET_ERR_STATE, NULL, "%s is open read-only", s->path);
	SIGNET_TRY(check_obs(o, err));
	SIGNET_TRY(dkim_text(o, dkim, sizeof dkim, err));
	sqlite3_bind_int64(st, 1, o->day);
	bind_text(st, 2, o->policy_domain);
	bind_text(st, 3, o->source_ip);
	bind_text(st, 4, o->header_from);
	bind_text(st, 5, opt(o->envelope_from));
	bind_text(st, 6, opt(o->envelope_to));
	bind_text(st, 7, dkim);
	bind_text(st, 8, opt(o->spf_domain));
	bind_text(st, 9, opt(o->spf_scope));
	bind_text(st, 10, opt(o->spf_result));
	bind_text(st, 11, o->dmarc_result);
	sqlite3_bind_int(st, 12, o->dkim_aligned_pass);
	sqlite3_bind_int(st, 13, o->spf_aligned_pass);
	bind_text(st, 14, o->disposition);
	bind_text(st, 15, opt(o->override_type));
	bind_text(st, 16, opt(o->override_comment));
	if (n == 0 || n > INT64_MAX) {
		sqlite3_reset(st);
		sqlite3_clear_bindings(st);
		return error_set(err, SIGNET_ERR_LIMIT, NULL, "message count %llu out of range",
				 (unsigned long long)n);
	}
	sqlite3_bind_int64(st, 17, (sqlite3_int64)n);
	SIGNET_TRY(step_done(s, st, err));
	return add_policy(s, o, err);
}

/* ---- reading ------------------------------------------------------------ */

enum signet_status report_store_domains(struct report_store *s, int64_t day,
					report_store_domain_cb cb, void *arg,
					struct signet_error *err)
{
	sqlite3_stmt *st = NULL;
	int rc;

	if (sqlite3_prepare_v2(s->db, "SELECT DISTINCT domain FROM rows WHERE day = ?1 ORDER BY 1",
			       -1, &st, NULL) != SQLITE_OK)
		return db_error(s, err, "cannot read");
	sqlite3_bind_int64(st, 1, day);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW)
		if (cb(arg, (const char *)sqlite3_column_text(st, 0)) != 0) {
			rc = SQLITE_DONE;
			break;
		}
	sqlite3_finalize(st);
	return rc == SQLITE_DONE ? SIGNET_OK : db_error(s, err, "cannot read");
}

static const char *col(sqlite3_stmt *st, int i)
{
	const char *v = (const char *)sqlite3_column_text(st, i);
	return v && *v ? v : NULL;
}

static enum signet_status read_policy(struct report_store *s, int64_t day, const char *domain,
				      sqlite3_stmt **pst, struct report_policy *p,
				      struct signet_error *err)
{
	if (sqlite3_prepare_v2(s->db,
			       "SELECT p, sp, np, adkim, aspf, discovery, testing, pct, fo, rua"
			       " FROM policy WHERE day = ?1 AND domain = ?2",
			       -1, pst, NULL) != SQLITE_OK)
		return db_error(s, err, "cannot read");
	sqlite3_bind_int64(*pst, 1, day);
	sqlite3_bind_text(*pst, 2, domain, -1, SQLITE_STATIC);
	memset(p, 0, sizeof *p);
	p->pct = -1;
	if (sqlite3_step(*pst) != SQLITE_ROW)
		return SIGNET_OK;
	p->p = col(*pst, 0);
	p->sp = col(*pst, 1);
	p->np = col(*pst, 2);
	p->adkim = col(*pst, 3);
	p->aspf = col(*pst, 4);
	p->discovery = col(*pst, 5);
	p->testing = sqlite3_column_int(*pst, 6) != 0;
	p->pct = sqlite3_column_int(*pst, 7);
	p->fo = col(*pst, 8);
	p->rua = col(*pst, 9);
	return SIGNET_OK;
}

/* Splits "d s r;d s r" (written by dkim_text) in place. */
static void dkim_split(char *text, struct report_obs *o)
{
	o->ndkim = 0;
	for (char *save = NULL, *e = strtok_r(text, ";", &save);
	     e && o->ndkim < REPORT_STORE_MAX_DKIM; e = strtok_r(NULL, ";", &save)) {
		char *sp1 = strchr(e, ' ');
		char *sp2 = sp1 ? strchr(sp1 + 1, ' ') : NULL;
		if (sp2 == NULL)
			continue;
		*sp1 = *sp2 = '\0';
		struct report_dkim *d = &o->dkim[o->ndkim++];
		d->domain = e;
		d->selector = strcmp(sp1 + 1, "-") == 0 ? NULL : sp1 + 1;
		d->result = sp2 + 1;
	}
}

static void row_from(sqlite3_stmt *st, char *dkim, size_t cap, struct report_obs *o)
{
	o->source_ip = col(st, 0);
	o->header_from = col(st, 1);
	o->envelope_from = col(st, 2);
	o->envelope_to = col(st, 3);
	snprintf(dkim, cap, "%s", (const char *)sqlite3_column_text(st, 4));
	dkim_split(dkim, o);
	o->spf_domain = col(st, 5);
	o->spf_scope = col(st, 6);
	o->spf_result = col(st, 7);
	o->dmarc_result = col(st, 8);
	o->dkim_aligned_pass = sqlite3_column_int(st, 9) != 0;
	o->spf_aligned_pass = sqlite3_column_int(st, 10) != 0;
	o->disposition = col(st, 11);
	o->override_type = col(st, 12);
	o->override_comment = col(st, 13);
	o->count = (uint64_t)sqlite3_column_int64(st, 14);
}

enum signet_status report_store_rows(struct report_store *s, int64_t day, const char *domain,
				     report_store_row_cb cb, void *arg, struct signet_error *err)
{
	sqlite3_stmt *pst = NULL, *st = NULL;
	struct report_obs o = {.day = day, .policy_domain = domain};
	char dkim[DKIM_TEXT_MAX];
	int rc = SQLITE_ERROR;

	enum signet_status sr = read_policy(s, day, domain, &pst, &o.policy, err);
	if (sr != SIGNET_OK)
		goto out;
	if (sqlite3_prepare_v2(s->db,
			       "SELECT source_ip, header_from, envelope_from, envelope_to, dkim,"
			       " spf_domain, spf_scope, spf_result, dmarc_result, dkim_aligned,"
			       " spf_aligned, disposition, override_type, override_comment, count"
			       " FROM rows WHERE day = ?1 AND domain = ?2 ORDER BY 1, 2, 3, 4, 5,"
			       " 6, 7, 8, 9, 10, 11, 12, 13, 14",
			       -1, &st, NULL) != SQLITE_OK)
		goto out;
	sqlite3_bind_int64(st, 1, day);
	sqlite3_bind_text(st, 2, domain, -1, SQLITE_STATIC);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		row_from(st, dkim, sizeof dkim, &o);
		if (cb(arg, &o) != 0) {
			rc = SQLITE_DONE;
			break;
		}
	}
	if (rc != SQLITE_DONE)
		sr = db_error(s, err, "cannot read");
out:
	if (sr == SIGNET_OK && st == NULL)
		sr = db_error(s, err, "cannot read");
	sqlite3_finalize(st);
	sqlite3_finalize(pst);
	return sr;
}

/* ---- report states ------------------------------------------------------ */

enum signet_status report_store_state(struct report_store *s, const char *report_id,
				      const char *rcpt, enum report_state *state,
				      struct signet_error *err)
{
	sqlite3_stmt *st = NULL;
	*state = REPORT_STATE_NONE;
	if (sqlite3_prepare_v2(s->db, "SELECT state FROM sent WHERE report_id = ?1 AND rcpt = ?2",
			       -1, &st, NULL) != SQLITE_OK)
		return db_error(s, err, "cannot read");
	bind_text(st, 1, report_id);
	bind_text(st, 2, rcpt);
	int rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		*state = (enum report_state)sqlite3_column_int(st, 0);
	sqlite3_finalize(st);
	return rc == SQLITE_ROW || rc == SQLITE_DONE ? SIGNET_OK : db_error(s, err, "cannot read");
}

enum signet_status report_store_set_state(struct report_store *s, const char *report_id,
					  int64_t day, const char *rcpt, enum report_state state,
					  struct signet_error *err)
{
	sqlite3_stmt *st = NULL;
	if (sqlite3_prepare_v2(s->db,
			       "INSERT INTO sent VALUES(?1, ?2, ?3, ?4, 1) ON CONFLICT DO UPDATE"
			       " SET state = excluded.state, attempts = attempts + 1",
			       -1, &st, NULL) != SQLITE_OK)
		return db_error(s, err, "cannot write");
	bind_text(st, 1, report_id);
	bind_text(st, 2, rcpt);
	sqlite3_bind_int64(st, 3, day);
	sqlite3_bind_int(st, 4, (int)state);
	int rc = sqlite3_step(st);
	sqlite3_finalize(st);
	return rc == SQLITE_DONE ? SIGNET_OK : db_error(s, err, "cannot write");
}

enum signet_status report_store_sent_count(struct report_store *s, int64_t day, const char *rcpt,
					   unsigned *n, struct signet_error *err)
{
	sqlite3_stmt *st = NULL;
	*n = 0;
	if (sqlite3_prepare_v2(
		    s->db, "SELECT count(*) FROM sent WHERE day = ?1 AND rcpt = ?2 AND state = ?3",
		    -1, &st, NULL) != SQLITE_OK)
		return db_error(s, err, "cannot read");
	sqlite3_bind_int64(st, 1, day);
	bind_text(st, 2, rcpt);
	sqlite3_bind_int(st, 3, REPORT_STATE_SENT);
	int rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		*n = (unsigned)sqlite3_column_int(st, 0);
	sqlite3_finalize(st);
	return rc == SQLITE_ROW ? SIGNET_OK : db_error(s, err, "cannot read");
}
