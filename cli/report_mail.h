/* report_mail.h: what turns a report's XML into mail (RFC 9990 / RFC 7489
 * 7.2): the rua= destinations with their !size limits, gzip (zlib), the
 * MIME message with the RFC subject and attachment name, and the hand-off
 * to sendmail(1). Prints its own errors (CLI). */
#ifndef SIGNET_REPORT_MAIL_H
#define SIGNET_REPORT_MAIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define REPORT_MAIL_SENDMAIL "/usr/sbin/sendmail" /* Postfix's; --sendmail for tests */
#define REPORT_MAIL_MAX_RUA 8    /* mailto: URIs used from one rua=; more are ignored */
#define REPORT_MAIL_MAX_ADDR 254 /* an address (RFC 5321 4.5.3.1.3 path, less <>) */
#define REPORT_MAIL_MAX_XML (64u * 1024 * 1024) /* one report's XML; more: not sent */

/* One rua= destination. */
struct report_dest {
	char addr[REPORT_MAIL_MAX_ADDR + 1]; /* local@domain, %-decoded */
	const char *domain;                  /* points into addr */
	uint64_t max_size;                   /* !size in bytes; 0: no limit */
};

/* Parses rua= (comma-separated URIs, RFC 7489 6.3 / RFC 9989 4.7): the
 * mailto: ones, at most cap. Others (not mailto, bad address, bad size)
 * are skipped with a line in why (one per skipped URI, appended; why may
 * be NULL). Returns the number kept. */
size_t report_rua_parse(const char *rua, struct report_dest *out, size_t cap, char *why,
			size_t whycap);

struct signet_psl;
/* True when no authorization record is needed for dest (RFC 7489 7.1,
 * RFC 9990): with a public suffix list, the two have the same
 * organizational domain (RFC 7489 3.2, PRIVATE rules included, so
 * x.github.io and github.io differ); without one (psl NULL), dest is the
 * policy domain or below it. Names compare case-insensitively. */
bool report_dest_internal(const struct signet_psl *psl, const char *policy_domain,
			  const char *dest_domain);

/* gzip of len bytes, inner_name in the gzip header, mtime 0 (the same
 * report gzips to the same bytes). *out malloc'd. false after printing. */
bool report_gzip(const char *inner_name, const uint8_t *p, size_t len, uint8_t **out,
		 size_t *outlen);

struct report_mail {
	const char *from, *to;
	const char *submitter; /* the reporter's domain (Subject "Submitter:") */
	const char *domain;    /* the policy domain */
	const char *report_id;
	const char *filename; /* the attachment's name, RFC 9990 convention */
	const uint8_t *gz;
	size_t gzlen;
	int64_t date; /* unix seconds for Date: */
	int64_t begin, end;
};

/* The whole message, LF line ends (sendmail -i and .eml files), malloc'd
 * and NUL-terminated. NULL after printing why (out of memory). */
char *report_mail_build(const struct report_mail *m, size_t *len);

/* Runs `sendmail -i -f FROM -- RCPT` with msg on its stdin. true: exit 0. */
bool report_mail_send(const char *sendmail, const char *from, const char *rcpt, const char *msg,
		      size_t len);

#endif
