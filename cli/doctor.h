/* doctor.h: signet doctor's report (one line per finding: OK, WARN or
 * FAIL, with the fix) and its checks, one file per area. */
#ifndef SIGNET_CLI_DOCTOR_H
#define SIGNET_CLI_DOCTOR_H

#include <stdbool.h>
#include <stddef.h>

#include "config.h"
#include "keystore.h"

enum doctor_level { DOCTOR_OK = 0, DOCTOR_WARN, DOCTOR_FAIL };

struct doctor {
	unsigned count[3];          /* findings per level */
	const char *postfix_config; /* postconf -c DIR; NULL: Postfix's default */
	const char *server;         /* DNS server for the record checks; NULL: system resolver */
	const char *self;           /* this program, to run `signet dnscheck` */
	const char *const *ips;     /* --ip: this host's public addresses (SPF) */
	size_t nips;
};

/* Prints "LEVEL  AREA  message" and, when fix is not NULL, an indented
 * "fix: ..." line under it. */
void doctor_say(struct doctor *d, enum doctor_level lv, const char *area, const char *fix,
		const char *fmt, ...) __attribute__((format(printf, 5, 6)));

struct run_result;
/* Runs postconf [-c DIR] ARGS; false (with a FAIL finding) when it fails. */
bool doctor_postconf(struct doctor *d, const char *const *args, size_t nargs, struct run_result *r);
/* doctor_postfix.c: Postfix's milter wiring, read with postconf. */
void doctor_postfix(struct doctor *d, const struct signetd_config *cfg);
/* doctor_signetd.c: the daemon answers a milter negotiation on its socket;
 * the socket and key files are usable by the users that need them. */
void doctor_signetd(struct doctor *d, const struct signetd_config *cfg);
/* doctor_dns.c: each signing domain's key records, SPF and DMARC. */
void doctor_dns(struct doctor *d, const struct signetd_config *cfg);
/* doctor_send.c: one message to addr through the local Postfix, followed
 * in its log (maillog, or Postfix's maillog_file, or /var/log/mail.log);
 * with mailbox (a Maildir or an mbox file), the delivered copy is
 * verified. */
void doctor_send_test(struct doctor *d, const struct signetd_config *cfg, const char *addr,
		      const char *mailbox, const char *maillog);

#endif
