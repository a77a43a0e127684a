/* session_dmarc.h: DMARC (RFC 9989, or RFC 7489 with dmarc.discovery =
 * "psl") of one message that signetd checks, sans-I/O like session.c.
 *
 * The library evaluator takes all its inputs (From, DKIM passes, SPF) at
 * signet_dmarc_new, and DKIM is known only at end of message. So the
 * lookups are made early: at the first From header field a probe
 * evaluation (the From alone, no identifiers) asks the questions of the
 * author domain's policy discovery; their answers are kept here, per
 * message. At end of message the real evaluation runs and is answered
 * from what was kept; only questions the probe did not ask (the
 * organizational domains of DKIM and SPF domains for relaxed alignment,
 * or a walk the probe had not finished) go to DNS then. */
#ifndef SIGNETD_SESSION_DMARC_H
#define SIGNETD_SESSION_DMARC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <signet/arc.h>
#include <signet/dmarc.h>

#include "config.h"
#include "dns.h"
#include "metrics.h"

/* Lookups of one message: the probe's (a walk of at most
 * SIGNET_DMARC_WALK_MAX_LABELS names and an existence question) and the
 * evaluation's (at most SIGNET_DMARC_MAX_QUERIES, mostly the same names).
 * Past it a question is answered as a temporary failure. */
#define SESSION_DMARC_MAX_LOOKUPS 48
/* From fields kept for the evaluation: two are enough to say "several"
 * (SIGNET_DMARC_FROM_SEVERAL_FIELDS); the rest are only counted. */
#define SESSION_DMARC_MAX_FROM 2

struct session_dmarc;

/* NULL when out of memory. psl: for RFC 7489 mode, borrowed. */
struct session_dmarc *session_dmarc_new(enum signet_dmarc_mode mode, const struct signet_psl *psl);
void session_dmarc_free(struct session_dmarc *d);

/* A From field's value, in header order; the first starts the probe. */
void session_dmarc_from(struct session_dmarc *d, const uint8_t *value, size_t len);

/* The next lookup to start: index k (< SESSION_DMARC_MAX_LOOKUPS), name
 * (borrowed until free) and type (TXT; A for the existence question). */
bool session_dmarc_next_lookup(struct session_dmarc *d, size_t *k, const char **name,
			       enum signet_rrtype *type);
/* False when nobody waits for lookup k any more (its answer is ignored). */
bool session_dmarc_lookup_wanted(const struct session_dmarc *d, size_t k);
void session_dmarc_answer(struct session_dmarc *d, size_t k, const struct dns_answer *a);

/* What end of message knows. Strings borrowed for the call. */
struct session_dmarc_inputs {
	const struct signet_dmarc_dkim *dkim; /* passing signatures */
	size_t ndkim;
	enum signet_spf_result spf_result; /* of the MAIL FROM identity */
	const char *spf_domain;            /* NULL: no SPF check */
	bool trusted_arc;                  /* session_dmarc_arc_trusted */
};

/* Starts the evaluation (once). Its questions are answered from the kept
 * answers where possible; others are handed out as lookups. A problem
 * (out of memory, RFC 7489 mode without a list) leaves no outcome and is
 * said by session_dmarc_problem. */
void session_dmarc_evaluate(struct session_dmarc *d, const struct session_dmarc_inputs *in);
bool session_dmarc_started(const struct session_dmarc *d);
/* Started, and finished or given up. */
bool session_dmarc_done(const struct session_dmarc *d);
/* The outcome once done; NULL when there is none (session_dmarc_problem). */
const struct signet_dmarc_outcome *session_dmarc_outcome(const struct session_dmarc *d);
const char *session_dmarc_problem(const struct session_dmarc *d);

/* ---- decisions (one place: the log line, the reply and the metrics say
 * what these return) ---- */

enum session_dmarc_action {
	SESSION_DMARC_ACCEPT = 0, /* Authentication-Results only */
	SESSION_DMARC_QUARANTINE, /* accepted, marked in Authentication-Results (quarantine = header) */
	SESSION_DMARC_HOLD,       /* accepted into Postfix's hold queue (quarantine = hold) */
	SESSION_DMARC_REJECT,     /* 550 5.7.1 */
	SESSION_DMARC_TEMPFAIL, /* 451 4.4.3: temperror with on_temperror = tempfail */
};

struct session_dmarc_verdict {
	enum session_dmarc_action action;
	const char *why; /* static: for the log line */
};

/* What the outcome o (NULL: not evaluated) means for a message under cfg.
 * local: the message is local or authenticated (never enforced on).
 * can_hold: the MTA accepted SMFIF_QUARANTINE. */
struct session_dmarc_verdict session_dmarc_decide(const struct config_dmarc *cfg,
						  const struct signet_dmarc_outcome *o, bool local,
						  bool can_hold);

/* The SMTP text of a 550 for o ("Rejected by the DMARC policy of
 * example.com (p=reject)", and the From domain when it differs), into out. */
void session_dmarc_reject_text(const struct signet_dmarc_outcome *o, char *out, size_t cap);

/* "dmarc=fail (p=reject sp=quarantine dis=reject) header.from=example.com"
 * and the reason, for the log line; "" when o is NULL. */
void session_dmarc_describe(const struct signet_dmarc_outcome *o, char *out, size_t cap);

/* The log line's part: "; <session_dmarc_describe>: <v->why>", or
 * "; dmarc not evaluated: WHY"; "" when d is NULL (no DMARC check). */
void session_dmarc_log_line(const struct session_dmarc *d, const struct session_dmarc_verdict *v,
			    char *out, size_t cap);

/* The 451 text for a temperror: "DMARC policy lookup for example.org
 * failed, try again later". */
void session_dmarc_tempfail_text(const struct signet_dmarc_outcome *o, char *out, size_t cap);

/* The signetd_dmarc_actions_total label of action a; false for accept. */
bool session_dmarc_metric(enum session_dmarc_action a, enum metrics_dmarc_action *out);

/* The trusted_arc input of the DMARC request (RFC 9989 7.1 local policy,
 * RFC 8617 7.2): true when the ARC chain validated (pass) and the d= of
 * every ARC-Seal (instances 1..N) is listed in cfg->trusted_arc_sealers
 * (exact, case-insensitive, a final dot ignored; issue #16: "whose sealers
 * are all in"). sealers[k] is the d= of the ARC-Seal of instance k + 1;
 * struct signet_arc_result does not carry them, so the caller passes them
 * (nsealers must equal arc->instances). why: static, for the log. */
bool session_dmarc_arc_trusted(const struct config_dmarc *cfg, const struct signet_arc_result *arc,
			       const char *const *sealers, size_t nsealers, const char **why);

#endif
