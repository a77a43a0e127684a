/* report_store.h: the DMARC aggregate-report store (issue #15, RFC 9990):
 * one SQLite file that signetd's report writer adds observations to and
 * `signet dmarc report` reads, aggregated on write (one row per day x
 * policy domain x source x result tuple, with a count) and pruned to a
 * retention window. It also keeps the state of each report sent, so a run
 * repeated for the same day sends nothing twice. No threads, no network:
 * the caller decides when to write (daemon/report_writer.c batches). */
#ifndef SIGNET_REPORT_STORE_H
#define SIGNET_REPORT_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <signet/signet.h>

#define REPORT_STORE_DEFAULT_PATH "/var/lib/signet/dmarc.db" /* dmarc.reports.db */

/* Limits (doc/SECURITY.md, "DMARC reports"). */
/* DKIM results per observation: as many as the verifier reports (DKIM-VER-04). */
#define REPORT_STORE_MAX_DKIM SIGNET_MAX_SIGNATURES
#define REPORT_STORE_MAX_FIELD 255     /* bytes in a name, IP or word; longer: SIGNET_ERR_LIMIT */
#define REPORT_STORE_RETENTION_DAYS 30 /* default reports.retention_days */
#define REPORT_STORE_MAX_RETENTION_DAYS 3660
#define REPORT_STORE_BUSY_MS 5000   /* SQLite busy timeout: the reporter and the writer share it */
#define REPORT_STORE_FILE_MODE 0640 /* the store holds who mailed whom: not world-readable */
#define REPORT_STORE_SCHEMA 1       /* PRAGMA user_version of the tables below */

/* One DKIM signature's result (RFC 9990 auth_results/dkim). */
struct report_dkim {
	const char *domain;   /* d= */
	const char *selector; /* s=; may be NULL */
	const char *result;   /* RFC 8601 word: pass, fail, neutral, ... */
};

/* The policy record that applied, as published (RFC 9990 policy_published).
 * Words as in the record; NULL when the tag was absent. */
struct report_policy {
	const char *p, *sp, *np;  /* none, quarantine, reject */
	const char *adkim, *aspf; /* r, s */
	const char *discovery;    /* "treewalk" (RFC 9989) or "psl" (RFC 7489) */
	bool testing;             /* t=y */
	int pct;                  /* RFC 7489 pct=; -1 when absent */
	const char *fo;           /* RFC 7489 fo=; NULL when absent */
	const char *rua;          /* the rua= value as written; NULL when absent */
};

/* One evaluated message. Strings are borrowed for the call. */
struct report_obs {
	int64_t day;               /* UTC days since 1970-01-01 (report_store_day) */
	const char *policy_domain; /* where the record was found: the report is about it */
	const char *source_ip;     /* text form */
	const char *header_from;   /* author domain */
	const char *envelope_from; /* MAIL FROM domain (HELO domain when null); may be NULL */
	const char *envelope_to;   /* first RCPT TO domain; may be NULL */
	struct report_dkim dkim[REPORT_STORE_MAX_DKIM];
	size_t ndkim;
	const char *spf_domain;       /* may be NULL: no SPF identifier */
	const char *spf_scope;        /* "mfrom" or "helo" */
	const char *spf_result;       /* RFC 7208 word */
	const char *dmarc_result;     /* pass, fail, none, temperror, permerror */
	bool dkim_aligned_pass;       /* policy_evaluated/dkim */
	bool spf_aligned_pass;        /* policy_evaluated/spf */
	const char *disposition;      /* none, quarantine, reject (pass in RFC 9990 when passed) */
	const char *override_type;    /* local_policy, sampled_out, ...; NULL when none */
	const char *override_comment; /* may be NULL */
	struct report_policy policy;
	uint64_t count; /* read side: messages in the row; ignored on add (1) */
};

struct report_store;

struct report_store_opts {
	unsigned retention_days; /* 0: REPORT_STORE_RETENTION_DAYS */
	int64_t today;           /* UTC day number; rows older than the window are pruned */
	bool read_only;          /* do not create, prune or write observations (sent state still) */
};

/* UTC day number of a unix time, and the unix time a day starts. */
int64_t report_store_day(int64_t unix_time);
int64_t report_store_day_start(int64_t day);

/* Opens (creating with mode REPORT_STORE_FILE_MODE unless read_only) the
 * store at path, sets WAL mode and the busy timeout, creates or checks the
 * schema (a newer user_version is SIGNET_ERR_STATE) and prunes days before
 * today - retention_days. Errors name the file and say why ("cannot create
 * /x/dmarc.db: directory /x does not exist"). *out is the caller's:
 * report_store_close. */
SIGNET_MUST_USE enum signet_status report_store_open(const char *path,
						     const struct report_store_opts *o,
						     struct report_store **out,
						     struct signet_error *err);
void report_store_close(struct report_store *s);

/* Transactions for batches (the writer wraps each batch). */
SIGNET_MUST_USE enum signet_status report_store_begin(struct report_store *s,
						      struct signet_error *err);
SIGNET_MUST_USE enum signet_status report_store_commit(struct report_store *s,
						       struct signet_error *err);
void report_store_rollback(struct report_store *s);

/* Adds one message: count + 1 on its row (UPSERT), and the day's published
 * policy of its domain (the last one seen wins). SIGNET_ERR_INVAL: a
 * required field missing; SIGNET_ERR_LIMIT: a field over
 * REPORT_STORE_MAX_FIELD or ndkim over REPORT_STORE_MAX_DKIM;
 * SIGNET_ERR_SYNTAX: a DKIM domain or selector with a space, ';' or a
 * control byte (they are the row key's separators). */
SIGNET_MUST_USE enum signet_status report_store_add(struct report_store *s,
						    const struct report_obs *obs,
						    struct signet_error *err);

/* The same for n messages at once (n 1..INT64_MAX): `signet dmarc report
 * --redis` loads the counts it reads from Redis (issue #15 "Fleets"). */
SIGNET_MUST_USE enum signet_status report_store_add_count(struct report_store *s,
							  const struct report_obs *obs, uint64_t n,
							  struct signet_error *err);

/* Deletes rows and sent states of days before today - retention_days. */
SIGNET_MUST_USE enum signet_status report_store_prune(struct report_store *s, int64_t today,
						      struct signet_error *err);

/* Read side. Callbacks get borrowed strings, valid during the call; a
 * non-zero return stops the walk (the function then returns SIGNET_OK). */
typedef int (*report_store_domain_cb)(void *arg, const char *domain);
typedef int (*report_store_row_cb)(void *arg, const struct report_obs *row);

/* The policy domains with data on day, sorted. */
SIGNET_MUST_USE enum signet_status report_store_domains(struct report_store *s, int64_t day,
							report_store_domain_cb cb, void *arg,
							struct signet_error *err);
/* The rows of domain on day, sorted by source IP; row->policy is the
 * day's published policy. */
SIGNET_MUST_USE enum signet_status report_store_rows(struct report_store *s, int64_t day,
						     const char *domain, report_store_row_cb cb,
						     void *arg, struct signet_error *err);

/* The state of one report sent to one destination (report id x rcpt). */
enum report_state { REPORT_STATE_NONE = 0, REPORT_STATE_SENT, REPORT_STATE_FAILED };
SIGNET_MUST_USE enum signet_status report_store_state(struct report_store *s, const char *report_id,
						      const char *rcpt, enum report_state *state,
						      struct signet_error *err);
SIGNET_MUST_USE enum signet_status report_store_set_state(struct report_store *s,
							  const char *report_id, int64_t day,
							  const char *rcpt, enum report_state st,
							  struct signet_error *err);
/* Reports in state sent to rcpt for day (the daily cap per destination). */
SIGNET_MUST_USE enum signet_status report_store_sent_count(struct report_store *s, int64_t day,
							   const char *rcpt, unsigned *n,
							   struct signet_error *err);

#endif
