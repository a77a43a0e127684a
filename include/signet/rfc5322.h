/* rfc5322.h: the domains of a From field (RFC 5322 3.6.2, 3.4), as the
 * signing policy needs them today and DMARC will for the author domain
 * (RFC 7489 3.1): libsignet's one RFC 5322 lexer, for callers outside lib/. */
#ifndef SIGNET_RFC5322_H
#define SIGNET_RFC5322_H

#include <signet/signet.h>

#define SIGNET_RFC5322_MAX_COMMENT_DEPTH 32 /* nested comments; deeper: SIGNET_ERR_LIMIT */
#define SIGNET_RFC5322_MAX_TOKENS 4096      /* tokens of one field; more: SIGNET_ERR_LIMIT */

/* One mailbox's domain as written: borrowed from the field value (valid
 * while it is), not lower-cased, UTF-8 (RFC 6532) left as is. */
struct signet_rfc5322_domain {
	const uint8_t *p;
	size_t len;
};

/* address-list (3.4) of a From field value: mailboxes ("Name <u@d>",
 * u@d, obs-route), groups ("team: a@x, b@y;"; "undisclosed:;" holds none),
 * comments, quoted strings, empty elements (obs-mbox-list). Every mailbox
 * must have a dot-atom domain of at most 253 octets (no address literal).
 * Fills out[0..min(*n, cap)) and sets *n to the number of mailboxes, which
 * may exceed cap (nothing is dropped silently: the caller sees it). One
 * mailbox gives *n == 1, which is what DMARC requires; with several, all
 * their domains are reported. out may be NULL when cap is 0.
 * SIGNET_ERR_SYNTAX with the reason ("no '@' in 'undisclosed'"),
 * SIGNET_ERR_LIMIT (the limits above), SIGNET_ERR_NOMEM, SIGNET_ERR_INVAL. */
SIGNET_API SIGNET_MUST_USE enum signet_status signet_rfc5322_from_domains(
	const uint8_t *value, size_t len, struct signet_rfc5322_domain *out, size_t cap, size_t *n,
	struct signet_error *err);

#endif
