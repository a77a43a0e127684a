/* idna.h: domain names to A-label form (RFC 5890, Punycode RFC 3492) for
 * DNS queries and comparisons (RFC 8616 5, DKIM-EAI-02), and back to
 * U-labels for a signer writing an EAI message (DKIM-EAI-04). Labels that are
 * ASCII stay as written; a label with UTF-8 becomes "xn--" + Punycode of
 * its code points. No Unicode mapping or normalization is done (a signer's
 * U-label is hashed and looked up as written, RFC 8616). */
#ifndef SIGNET_IDNA_H
#define SIGNET_IDNA_H

#include "buf.h"

#define IDNA_MAX_NAME 1024 /* bytes of output; DNS names are at most 253 */

/* Writes the A-label form of name into out (NUL-terminated). Invalid UTF-8
 * and names too long are SIGNET_ERR_SYNTAX / SIGNET_ERR_LIMIT. */
SIGNET_MUST_USE enum signet_status idna_to_ascii(struct signet_span name, char *out, size_t cap,
						 struct signet_error *err);
/* True when the span has any byte >= 0x80. */
bool idna_is_unicode(struct signet_span name);

/* Writes the U-label form of name into out (NUL-terminated): each "xn--"
 * label decoded to UTF-8 (RFC 3492 6.2), other labels as written. A label
 * that does not decode, decodes to ASCII only, or does not encode back to
 * itself is SIGNET_ERR_SYNTAX (RFC 5890 2.3.2.1); no room SIGNET_ERR_LIMIT. */
SIGNET_MUST_USE enum signet_status idna_to_unicode(struct signet_span name, char *out, size_t cap,
						   struct signet_error *err);

/* True when s is valid UTF-8 (RFC 3629) with at least one non-ASCII
 * character: text of an internationalized (EAI) header field (RFC 6532). */
bool idna_has_utf8(struct signet_span s);

#endif
