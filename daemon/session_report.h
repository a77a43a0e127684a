/* session_report.h: one DMARC-evaluated message as an observation for the
 * aggregate reports (issue #15, RFC 9990 "record"): the facts the session
 * has at end of message, turned into conf/report_store.h's report_obs and
 * handed to the report writer (which never blocks; a full queue drops and
 * counts). */
#ifndef SIGNETD_SESSION_REPORT_H
#define SIGNETD_SESSION_REPORT_H

#include <stddef.h>

#include <signet/ar.h>
#include <signet/dmarc.h>
#include <signet/verifier.h>

struct report_writer;

struct session_report_facts {
	const struct signet_dmarc_outcome *dmarc; /* the evaluation; NULL: nothing to record */
	enum signet_dmarc_mode mode;
	const char *source_ip;   /* the SMTP client; NULL: not recorded */
	const char *mail_from;   /* MAIL FROM address ("" for <>) */
	const char *rcpt_domain; /* the first RCPT TO\'s domain; NULL: not known */
	const char *helo;        /* the HELO name */
	const struct signet_sig_result *const *dkim; /* every signature's result */
	size_t ndkim;
	const struct signet_ar_spf *spf; /* the MAIL FROM check; NULL: none */
	const char *override_comment;    /* e.g. "arc-override: sealed by ..."; NULL none */
	long long now;                   /* unix time of the message */
};

/* Builds the observation and submits it; false when nothing was recorded
 * (no policy record: RFC 9990 reports go to a domain's rua only; or the
 * writer dropped it). */
bool session_report_submit(struct report_writer *w, const struct session_report_facts *f);

#endif
