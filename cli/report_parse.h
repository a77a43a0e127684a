/* report_parse.h: one DMARC aggregate report (RFC 7489 Appendix C, RFC 9990
 * namespace urn:ietf:params:xml:ns:dmarc-2.0) from XML bytes to a struct,
 * with expat. No I/O and no printing: the caller has the bytes and words
 * the messages. Deviations seen in real reports (no <version>, no <spf>, a
 * stray start tag around <feedback>) are tolerated and listed as notes. */
#ifndef SIGNET_REPORT_PARSE_H
#define SIGNET_REPORT_PARSE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Limits (doc/signet.1 "dmarc digest", doc/SECURITY.md). */
#define REPORT_MAX_RECORDS 65536       /* <record> elements in one report */
#define REPORT_MAX_XML_DEPTH 32        /* nested elements; a report needs 5 */
#define REPORT_MAX_TEXT 1024           /* bytes of text in one element */
#define REPORT_MAX_AUTH 32             /* <dkim> plus <spf> in one <auth_results> */
#define REPORT_MAX_COUNT 1000000000000 /* one <count>; 65536 of them fit in 64 bits */
#define REPORT_MAX_NOTES 8             /* kinds of deviation noted per report */

enum report_format { REPORT_RFC7489 = 0, REPORT_RFC9990 };

/* One <dkim> or <spf> of <auth_results>. Strings are owned by the report;
 * selector/scope may be NULL. */
struct report_auth {
	bool is_dkim;
	char *domain;
	char *selector; /* dkim: <selector>; spf: <scope> */
	char *result;
};

/* One <record>: a source IP (normalized by inet_ntop), a message count,
 * policy_evaluated (aligned results as the receiver judged them) and the
 * raw results. Strings owned by the report; may be NULL when absent. */
struct report_record {
	char *source_ip;
	uint64_t count;
	char *disposition;
	char *override;    /* policy_evaluated <reason><type> (the first), e.g. "mailing_list" */
	bool dkim_aligned; /* policy_evaluated <dkim> is "pass" */
	bool spf_aligned;  /* policy_evaluated <spf> is "pass" */
	char *header_from;
	char *envelope_from;
	struct report_auth *auth;
	size_t nauth;
};

struct report {
	enum report_format format;
	char *org_name;
	char *report_id;
	uint64_t begin, end; /* date_range, unix seconds */
	char *domain;        /* policy_published <domain> */
	char *p;             /* policy_published <p>; NULL when absent */
	struct report_record *records;
	size_t nrecords;
	uint64_t messages;                   /* sum of the counts */
	const char *notes[REPORT_MAX_NOTES]; /* static strings: tolerated deviations */
	size_t nnotes;
};

/* Parses len bytes of XML. On success returns true and *out (free with
 * report_free). Otherwise returns false and why (NUL-terminated, at most
 * whylen bytes) says what is wrong: "not well-formed XML (line 3, column 2):
 * mismatched tag", "more than REPORT_MAX_RECORDS (65536) records". No DTD
 * or entity declaration is accepted (billion laughs, external entities). */
bool report_parse(const uint8_t *xml, size_t len, struct report **out, char *why, size_t whylen)
	__attribute__((warn_unused_result));

/* Replaces, in place, each byte a terminal could act on with '?': C0
 * controls (tab and newline included), DEL, and C1 controls (U+0080..U+009F,
 * UTF-8 C2 80..C2 9F, one '?' each, the string shortened). Every text value
 * of a report and every origin built from an archive or attachment name
 * goes through it before it can reach a terminal. */
void report_sanitize(char *s);

/* Frees a report; NULL is a no-op. */
void report_free(struct report *r);

#endif
