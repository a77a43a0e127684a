/* ar.h: Authentication-Results (RFC 8601) for the dkim method: format our
 * header, and recognize an existing header that claims our authserv-id. */
#ifndef SIGNET_AR_H
#define SIGNET_AR_H

#include <signet/signet.h>
#include <signet/verifier.h>

/* True when authserv_id is a token we may emit (letters, digits, '.', '-',
 * non-empty; AR-SYN-03). */
SIGNET_API bool signet_ar_authserv_id_valid(const char *authserv_id);

/* Formats the value of an Authentication-Results field (the text after
 * "Authentication-Results:", starting with a space, folded with CRLF TAB
 * below 78 columns, no final CRLF): "<id>; dkim=<result> [reason=".."]
 * header.d= header.i= header.s= header.a= header.b=" per result, or
 * "<id>; dkim=none" when n == 0 (AR-SYN-02). header.b is lengthened past 8
 * characters until unique (AR-DKIM-04). Tag values are written whole,
 * whatever their length (a NULL tag pointer in a result reads as absent);
 * SIGNET_ERR_LIMIT when the field does not fit cap. */
SIGNET_API SIGNET_MUST_USE enum signet_status signet_ar_format(
	const char *authserv_id, const struct signet_sig_result *const *results, size_t n,
	char *out, size_t cap, size_t *len, struct signet_error *err);

/* True when the value of an Authentication-Results field names authserv_id
 * (case-insensitive, RFC 8601 2.2 grammar: CFWS, comments, quoted-string,
 * optional version; AR-DEL-03). Unparseable values whose first token is
 * our id count as ours (AR-PARSE-02). */
SIGNET_API bool signet_ar_is_ours(const uint8_t *value, size_t len, const char *authserv_id);

#endif
