/* ar.h: Authentication-Results (RFC 8601) for the dkim, spf, arc and dmarc
 * methods: format our header, and recognize an existing header that claims
 * our authserv-id. */
#ifndef SIGNET_AR_H
#define SIGNET_AR_H

#include <signet/arc.h>
#include <signet/dmarc.h>
#include <signet/signet.h>
#include <signet/spf.h>
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

/* One SPF check for Authentication-Results (SPF-RES-02, RFC 7208 9.2,
 * RFC 8601 2.7.2): "spf=<result> [reason="..."] smtp.mailfrom=<value>" for
 * the MAIL FROM identity, "... smtp.helo=<value>" for HELO. Strings
 * borrowed for the call; reason NULL or "" for none (never written for a
 * pass). */
struct signet_ar_spf {
	enum signet_spf_result result;
	enum signet_spf_identity identity;
	const char *value; /* the sender checked (postmaster@HELO for <>), or the HELO name */
	const char *reason;
};

/* The ARC chain validation (ARC-AR-01, RFC 8617 6 and the IANA registry):
 * "arc=<none|pass|fail|temperror> [reason="..."] header.oldest-pass=<k>
 * smtp.remote-ip=<ip>"; oldest-pass only for a pass, remote-ip when given. */
struct signet_ar_arc {
	const struct signet_arc_result *result; /* borrowed for the call */
	const char *remote_ip;                  /* the SMTP client; NULL or "": not written */
};

/* The DMARC evaluation (DMARC-RES-03, RFC 9989 registry entries):
 * "dmarc=<result> (p=.. sp=.. dis=..[ <override>]) [reason="..."]
 * header.from=<author domain> [polrec.p=..] [polrec.domain=..]". The
 * comment is what Gmail writes (p and sp of the record, sp defaulting to
 * p; the disposition in effect); the override name follows dis= when one
 * moved it (e.g. "arc-override"). polrec.domain only when the record was
 * found elsewhere than at the author domain. */
struct signet_ar_dmarc {
	const struct signet_dmarc_outcome *outcome; /* borrowed for the call */
	const char *reason; /* NULL or "": the outcome's reason (never written for a pass) */
};

/* Everything one field holds (AR-POS-02: one field with all our methods):
 * the DKIM results (none: "dkim=none"), then the SPF checks in order, then
 * ARC and DMARC when given (NULL: not evaluated, nothing written). */
struct signet_ar_results {
	const struct signet_sig_result *const *dkim;
	size_t ndkim;
	const struct signet_ar_spf *spf;
	size_t nspf;
	const struct signet_ar_arc *arc;
	const struct signet_ar_dmarc *dmarc;
};

/* As signet_ar_format, for all of r; signet_ar_format(id, rs, n, ...) is
 * this with DKIM only. A NULL spf value, or an arc or dmarc member whose
 * result or outcome is NULL, is SIGNET_ERR_INVAL. */
SIGNET_API SIGNET_MUST_USE enum signet_status signet_ar_format_results(
	const char *authserv_id, const struct signet_ar_results *r, char *out, size_t cap,
	size_t *len, struct signet_error *err);

/* True when the value of an Authentication-Results field names authserv_id
 * (case-insensitive, RFC 8601 2.2 grammar: CFWS, comments, quoted-string,
 * optional version; AR-DEL-03). Unparseable values whose first token is
 * our id count as ours (AR-PARSE-02). */
SIGNET_API bool signet_ar_is_ours(const uint8_t *value, size_t len, const char *authserv_id);

#endif
