/* idna.h: domain names to A-label form (RFC 5890, IDNA2008 with the
 * UTS #46 mapping, through libidn2) for DNS queries and comparisons
 * (RFC 8616 5, DKIM-EAI-02), and back to U-labels for a signer writing an
 * EAI message (DKIM-EAI-04). A name with UTF-8 is mapped (case folded,
 * NFC, full-width forms to ASCII: "Bücher.example" and
 * "BÜCHER.example" both give "xn--bcher-kva.example") and validated
 * (disallowed code points, hyphen and bidi rules); an ASCII name is a DNS
 * name already and stays as written. */
#ifndef SIGNET_IDNA_H
#define SIGNET_IDNA_H

#include "buf.h"

#define IDNA_MAX_NAME 1024    /* bytes of input or output; DNS names are at most 253 */
#define IDNA_MAX_LABEL 63     /* octets of one label (RFC 1035 2.3.4) */
#define IDNA_MAX_DNS_NAME 253 /* octets of a name without its final dot (RFC 1035 2.3.4) */

/* Writes the A-label form of name into out (NUL-terminated). A name that
 * is all ASCII is copied as written (A-labels too: a lookup of a bad one
 * just finds nothing); a NUL anywhere is SIGNET_ERR_SYNTAX. A name with UTF-8 goes through libidn2
 * (IDN2_NONTRANSITIONAL, idna.c says why): invalid UTF-8,
 * a NUL, or a label IDNA2008 refuses is SIGNET_ERR_SYNTAX naming the label
 * and libidn2's reason; an A-label over IDNA_MAX_LABEL octets, a result
 * over IDNA_MAX_DNS_NAME (libidn2 checks both), input over IDNA_MAX_NAME or
 * no room in cap is SIGNET_ERR_LIMIT. */
SIGNET_MUST_USE enum signet_status idna_to_ascii(struct signet_span name, char *out, size_t cap,
						 struct signet_error *err);
/* True when the span has any byte >= 0x80. */
bool idna_is_unicode(struct signet_span name);

/* Writes the U-label form of name into out (NUL-terminated): each "xn--"
 * label (any case) decoded to UTF-8, other labels as written. An A-label
 * must be the IDNA2008 A-label of what it decodes to (RFC 5890 2.3.2.1,
 * RFC 5891 5.4: decode, encode again, compare): one that does not decode,
 * decodes to nothing or to ASCII, or holds a code point IDNA2008
 * disallows is SIGNET_ERR_SYNTAX, and so is a NUL anywhere; no room or
 * input over IDNA_MAX_NAME is
 * SIGNET_ERR_LIMIT. */
SIGNET_MUST_USE enum signet_status idna_to_unicode(struct signet_span name, char *out, size_t cap,
						   struct signet_error *err);

/* True when s is valid UTF-8 (RFC 3629) with at least one non-ASCII
 * character: text of an internationalized (EAI) header field (RFC 6532). */
bool idna_has_utf8(struct signet_span s);

#endif
