/* crypto.h: the only door to OpenSSL (EVP API, OpenSSL 3): SHA-256,
 * public keys from key records, signing and verifying. crypto.c also
 * implements the public signet_key_* functions. */
#ifndef SIGNET_CRYPTO_H
#define SIGNET_CRYPTO_H

#include <signet/key.h>
#include "buf.h"

#define SIGNET_SHA256_LEN 32
#define SIGNET_MAX_SIG_LEN 512 /* 4096-bit RSA */

struct hash; /* streaming SHA-256 */
SIGNET_MUST_USE enum signet_status crypto_hash_new(struct hash **out);
SIGNET_MUST_USE enum signet_status crypto_hash_update(struct hash *h, const void *p, size_t n);
/* Writes the digest; h may be reused after hash_reset. */
SIGNET_MUST_USE enum signet_status crypto_hash_final(struct hash *h,
						     uint8_t out[SIGNET_SHA256_LEN]);
SIGNET_MUST_USE enum signet_status crypto_hash_reset(struct hash *h);
SIGNET_MUST_USE enum signet_status crypto_hash_clone(const struct hash *h, struct hash **out);
void crypto_hash_free(struct hash *h);

struct pubkey;
/* From a key record's decoded p=: RSA as SubjectPublicKeyInfo DER or bare
 * PKCS#1 RSAPublicKey (DKIM-KEY-04); ed25519 as 32 raw bytes (RFC 8463 4.2).
 * Checks before use (DKIM-KEY-14, -15): RSA 1024..4096 bits, odd exponent
 * 3..2^32. Problems are SIGNET_ERR_KEY with the reason ("key too small
 * (512 bits)", "public key does not parse", ...). *bits gets the size even
 * when it is refused for size (0 if it did not parse). */
SIGNET_MUST_USE enum signet_status crypto_pubkey_parse(enum signet_keytype type, const uint8_t *p,
						       size_t len, struct pubkey **out,
						       unsigned *bits, struct signet_error *err);
/* Verifies sig over the SHA-256 digest of the header hash input:
 * RSASSA-PKCS1-v1_5 with SHA-256 (RFC 6376 3.3.1), or pure Ed25519 over the
 * 32 digest bytes (RFC 8463 3). *ok false on a bad signature (not an error). */
SIGNET_MUST_USE enum signet_status crypto_pubkey_verify(const struct pubkey *k,
							const uint8_t digest[SIGNET_SHA256_LEN],
							const uint8_t *sig, size_t siglen, bool *ok,
							struct signet_error *err);
/* True when k is the public half of key. */
bool crypto_pubkey_matches(const struct pubkey *k, const struct signet_key *key);
void crypto_pubkey_free(struct pubkey *k);

/* Signs the SHA-256 digest of the header hash input (same schemes as above). */
SIGNET_MUST_USE enum signet_status crypto_key_sign(const struct signet_key *key,
						   const uint8_t digest[SIGNET_SHA256_LEN],
						   uint8_t *sig, size_t cap, size_t *siglen,
						   struct signet_error *err);

#endif
