/* keyrec.h: DKIM key records (RFC 6376 3.6.1, RFC 8463 4.2), parsed and
 * checked. The verifier uses this internally; dnscheck uses it to explain
 * what is wrong with a published record. */
#ifndef SIGNET_KEYREC_H
#define SIGNET_KEYREC_H

#include <signet/signet.h>
#include <signet/key.h>

/* What a record says. Pointers are not kept: everything is copied. */
struct signet_keyrec_info {
	enum signet_keytype type;   /* k= (default rsa); 0 if unknown k= */
	bool revoked;               /* p= empty (RFC 6376 3.6.1) */
	bool testing;               /* t=y */
	bool strict;                /* t=s: i= domain must equal d= */
	bool sha256_allowed;        /* h= absent or lists sha256 */
	bool email_allowed;         /* s= absent, "*" or "email" */
	unsigned bits;              /* RSA modulus bits / 256; 0 if not decoded */
	char k[32];                 /* k= as written (for messages) */
};

/* Parses a record (TXT strings already joined). On a syntax or semantic
 * problem returns SIGNET_ERR_SYNTAX or SIGNET_ERR_KEY with msg the reason
 * ("key revoked", "v= must be first and DKIM1", ...); info is filled as far
 * as it got. Does not judge h=/s=/t= against a signature. */
SIGNET_API SIGNET_MUST_USE enum signet_status
signet_keyrec_parse(const uint8_t *txt, size_t len, struct signet_keyrec_info *info,
		    struct signet_error *err);

/* True when the record's public key is the public half of key. */
SIGNET_API SIGNET_MUST_USE enum signet_status
signet_keyrec_matches(const uint8_t *txt, size_t len, const struct signet_key *key, bool *match,
		      struct signet_error *err);

#endif
