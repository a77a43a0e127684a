/* dmarc_record.h: the pieces of the DMARC record grammar (RFC 9989 4.7,
 * RFC 7489 6.4) that the evaluator needs besides signet_dmarc_record_parse
 * (include/signet/dmarc.h). Internal to libsignet. */
#ifndef SIGNET_DMARC_RECORD_H
#define SIGNET_DMARC_RECORD_H

#include <signet/dmarc.h>

#include "buf.h"

/* dmarc-uri (RFC 7489 6.4; RFC 9989 4.7 keeps the "!size" suffix only to
 * ignore it): a URI with a scheme, no WSP or ','; *why says what is wrong. */
bool dmarc_uri_valid(struct signet_span uri, const char **why);

/* The policy one step weaker (reject -> quarantine -> none): RFC 9989 t=y,
 * RFC 7489 6.6.4 pct sampling. */
enum signet_dmarc_policy dmarc_policy_weaker(enum signet_dmarc_policy p);

#endif
