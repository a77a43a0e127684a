/* keyrec.h (internal): a key record decoded for the verifier (RFC 6376
 * 3.6.1). The public signet_keyrec_parse wraps keyrec_decode. */
#ifndef SIGNET_LIB_KEYREC_H
#define SIGNET_LIB_KEYREC_H

#include <signet/keyrec.h>
#include <signet/verifier.h>
#include "buf.h"

struct keyrec {
	struct signet_keyrec_info info;
	uint8_t key[SIGNET_MAX_KEY_RECORD]; /* decoded p= */
	size_t keylen;
	struct signet_span p;        /* p= as written, inside the decoded text */
	enum signet_keyrec_code why; /* on failure, when a finding code names it; else 0 */
};

/* Tag syntax (3.2), v= first and DKIM1 (DKIM-KEY-03), k= known, h=, s=, t=
 * flags, p= base64 (empty = revoked: SIGNET_ERR_KEY "key revoked"). Unknown
 * tags ignored (DKIM-KEY-10, -13). Records over SIGNET_MAX_KEY_RECORD →
 * SIGNET_ERR_LIMIT "key record too large". Errors carry the reason. Does not
 * touch OpenSSL (bits stays 0). */
SIGNET_MUST_USE enum signet_status keyrec_decode(const uint8_t *txt, size_t len, struct keyrec *out,
						 struct signet_error *err);

struct pubkey;

/* The parsed answer of verifier.h (struct signet_keyset): what the verifier
 * takes from the TXT records of one SIGNET_DNS_OK answer, decided once.
 * Nothing but refs changes after keyset_build. */
struct signet_keyset {
	size_t refs;                    /* plain count: one thread (verifier.h) */
	size_t nrecords;                /* TXT records in the answer */
	struct signet_keyrec_info info; /* the key in use; valid when pk != NULL */
	struct pubkey *pk;              /* first usable record's key (DKIM-KEY-02), owned */
	char problem[192];              /* pk == NULL: why (the first record's problem) */
};

/* Decodes records[0..n) as the verifier does for an answer (DKIM-KEY-02:
 * the first record that gives a usable key wins; otherwise the first
 * record's problem is kept, "no key record" when n is 0). *out has one
 * reference. SIGNET_ERR_NOMEM (nothing made) on no memory. An OpenSSL
 * failure loading a key is one more record problem when crypto_is_problem,
 * else SIGNET_ERR_CRYPTO (nothing made): a set that may be kept for other
 * messages must not keep a failure that says nothing about the records. */
SIGNET_MUST_USE enum signet_status keyrec_keyset_build(const struct signet_txt *records, size_t n,
						       bool crypto_is_problem,
						       struct signet_keyset **out,
						       struct signet_error *err);

#endif
