/* report_xml.h: the XML of one DMARC aggregate report (RFC 9990, or the
 * RFC 7489 Appendix C form) written to a stdio stream, from the rows of the
 * report store. Every text is escaped (& < > " ') and bytes XML 1.0 cannot
 * carry (control bytes, invalid UTF-8) become '?'. No I/O of its own
 * beyond the stream; no DNS, no mail. */
#ifndef SIGNET_REPORT_XML_H
#define SIGNET_REPORT_XML_H

#include <stdint.h>
#include <stdio.h>

#include "report_store.h"

enum report_format {
	REPORT_FORMAT_RFC9990 = 0, /* urn:ietf:params:xml:ns:dmarc-2.0, np, testing, ... */
	REPORT_FORMAT_RFC7489,     /* no namespace; pct and fo; validates against Appendix C */
};

struct report_meta {
	const char *org_name;
	const char *email; /* the reporter's contact address */
	const char *report_id;
	int64_t begin, end; /* unix seconds, inclusive */
	const char *domain; /* the policy domain */
};

/* <feedback>, report_metadata and policy_published. */
void report_xml_head(FILE *f, enum report_format fmt, const struct report_meta *m,
		     const struct report_policy *p);
/* One <record> for a store row. */
void report_xml_record(FILE *f, enum report_format fmt, const struct report_obs *r);
/* </feedback>. */
void report_xml_tail(FILE *f);
/* s escaped as element text. */
void report_xml_text(FILE *f, const char *s);

#endif
