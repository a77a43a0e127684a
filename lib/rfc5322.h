/* rfc5322.h (internal): the one RFC 5322 lexer of libsignet and its
 * callers: CFWS (3.2.2) for anyone skipping comments (ar.c), and the
 * address grammar (3.4) that gives the domains of a From field (3.6.2) for
 * the signing policy and, later, DMARC's author domain (RFC 7489 3.1).
 * Bytes in, spans out: no allocation but one token array per call. */
#ifndef SIGNET_LIB_RFC5322_H
#define SIGNET_LIB_RFC5322_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "error.h"

#define RFC5322_MAX_COMMENT_DEPTH 32 /* nested comments "((..))": deeper is refused */
#define RFC5322_MAX_TOKENS 4096      /* atoms, strings and specials of one field */
#define RFC5322_MAX_ADDRS 16         /* domains kept; more mailboxes are counted */

/* rfc5322_cfws flags. Strict (0): what 3.2.2 allows, nesting bounded. */
#define RFC5322_LENIENT 1u /* skip comments however deep and whatever they hold (NUL):
			      for readers that must see what the most lenient reader
			      sees, as AR removal does (AR-PARSE-02) */

/* CFWS = (1*([FWS] comment) [FWS]) / FWS (3.2.2), from *pos: white space,
 * CR, LF and comments are skipped and *pos moves to the first other octet.
 * SIGNET_ERR_SYNTAX on a comment that never closes or (strict) holds a NUL;
 * SIGNET_ERR_LIMIT (strict) when comments nest deeper than
 * RFC5322_MAX_COMMENT_DEPTH. On error *pos is at the comment's '('. */
SIGNET_MUST_USE enum signet_status rfc5322_cfws(const uint8_t *p, size_t len, size_t *pos,
						unsigned flags, struct signet_error *err);

/* The mailboxes of a From field value. */
struct rfc5322_addrs {
	size_t n;                                      /* mailboxes (may exceed the array) */
	struct signet_span domain[RFC5322_MAX_ADDRS]; /* each one's domain as written: borrowed
							  from the value; UTF-8 left as is */
};

/* address-list (3.4) of a From field value: mailboxes ("Name <u@d>",
 * u@d, obs-route), groups ("team: a@x, b@y;", "undisclosed:;" holds none),
 * comments, quoted strings; empty elements (obs-mbox-list). Every mailbox
 * must have a dot-atom domain (no address literal). A value with one
 * mailbox gives n == 1; DMARC wants exactly that, and with several all
 * their domains are here. SIGNET_ERR_SYNTAX with the reason ("no '@' in
 * 'undisclosed'"), SIGNET_ERR_LIMIT (RFC5322_MAX_TOKENS), SIGNET_ERR_NOMEM. */
SIGNET_MUST_USE enum signet_status rfc5322_from_domains(const uint8_t *value, size_t len,
							struct rfc5322_addrs *out,
							struct signet_error *err);

#endif
