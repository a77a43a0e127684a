/* rfc5322.h (internal): the one RFC 5322 lexer of libsignet: CFWS (3.2.2)
 * for anyone in lib/ skipping comments (ar.c). The address grammar (3.4),
 * which gives the domains of a From field, is public: signet/rfc5322.h.
 * Bytes in, spans out: no allocation but one token array per call. */
#ifndef SIGNET_LIB_RFC5322_H
#define SIGNET_LIB_RFC5322_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "error.h"

#include <signet/rfc5322.h> /* signet_rfc5322_from_domains: the address grammar */

/* rfc5322_cfws flags. Strict (0): what 3.2.2 allows, nesting bounded. */
#define RFC5322_LENIENT                                                                            \
	1u /* skip comments however deep and whatever they hold (NUL):
			      for readers that must see what the most lenient reader
			      sees, as AR removal does (AR-PARSE-02) */

/* CFWS = (1*([FWS] comment) [FWS]) / FWS (3.2.2), from *pos: white space,
 * CR, LF and comments are skipped and *pos moves to the first other octet.
 * SIGNET_ERR_SYNTAX on a comment that never closes or (strict) holds a NUL;
 * SIGNET_ERR_LIMIT (strict) when comments nest deeper than
 * SIGNET_RFC5322_MAX_COMMENT_DEPTH. On error *pos is at the comment's '('. */
SIGNET_MUST_USE enum signet_status rfc5322_cfws(const uint8_t *p, size_t len, size_t *pos,
						unsigned flags, struct signet_error *err);

/* field-name = 1*ftext, ftext = %d33-57 / %d59-126 (RFC 5322 3.6.8): no
 * WSP, no ':'. For the names in DKIM and ARC h= lists. */
bool rfc5322_field_name_ok(const uint8_t *p, size_t len);

#endif
