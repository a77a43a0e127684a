/* dnsname.h (internal): is this text a DNS name DKIM can use as d=, s= or a
 * configured domain (RFC 6376 3.5 sub-domain, RFC 1035 2.3.4 sizes), and if
 * not, why. The one check of signetd's config, the CLI and the signature
 * parser. Bytes in, a reason out: libc, buf.h and error.h only. */
#ifndef SIGNET_LIB_DNSNAME_H
#define SIGNET_LIB_DNSNAME_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "error.h"

#define DNSNAME_MAX 253      /* RFC 1035 2.3.4: 255 octets on the wire, 253 written */
#define DNSNAME_MAX_LABEL 63 /* RFC 1035 2.3.4 */

/* Flags. Without DNSNAME_UTF8, octets >= 0x80 are DNSNAME_NOT_ASCII. */
#define DNSNAME_UTF8                                                                               \
	1u /* U-labels allowed (DKIM-EAI-02): a label with UTF-8 is
			   not held to DNSNAME_MAX_LABEL, its A-label is what DNS sees */

enum dnsname_problem {
	DNSNAME_OK = 0,
	DNSNAME_EMPTY,          /* no octets */
	DNSNAME_TOO_LONG,       /* over DNSNAME_MAX octets as written */
	DNSNAME_EMPTY_LABEL,    /* leading, trailing or double dot */
	DNSNAME_LABEL_TOO_LONG, /* an ASCII label over DNSNAME_MAX_LABEL */
	DNSNAME_BAD_CHAR,       /* not a letter, digit, '-', '_' or '.' */
	DNSNAME_NOT_ASCII,      /* an octet >= 0x80 without DNSNAME_UTF8 */
};

/* Letters, digits, '-' and '_' (underscore: seen in real selectors and
 * rspamd configs) in dot-separated labels. *at (may be NULL) is the offset
 * of the octet or label at fault. */
enum dnsname_problem dnsname_check(const uint8_t *p, size_t len, unsigned flags, size_t *at);

/* The problem as a phrase to follow the name: "has an empty label (a
 * leading, trailing or double dot)". Static; "" for DNSNAME_OK. */
const char *dnsname_reason(enum dnsname_problem pr);

#endif
