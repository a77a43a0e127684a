/* key.h: private signing keys: load from PEM, generate, write PEM, and the
 * public DNS record (RFC 6376 3.6.1, RFC 8463 4.2). OpenSSL stays behind
 * this opaque type. Key material is wiped when freed. */
#ifndef SIGNET_KEY_H
#define SIGNET_KEY_H

#include <signet/signet.h>

struct signet_key;

enum signet_keytype { SIGNET_KEY_RSA = 1, SIGNET_KEY_ED25519 };

/* Parses a private key: PEM (PKCS#8, "RSA PRIVATE KEY" PKCS#1, ed25519
 * "PRIVATE KEY"), or a bare base64 ed25519 seed of 32 bytes (the form
 * dkimpy writes). RSA keys outside 1024..4096 bits are refused with
 * SIGNET_ERR_KEY (RFC 8301 3.2). *out is owned by the caller: signet_key_free. */
SIGNET_API SIGNET_MUST_USE enum signet_status signet_key_parse(const uint8_t *data, size_t len,
							       struct signet_key **out,
							       struct signet_error *err);

/* Generates a key. bits is used for RSA only (1024..4096, 0 = 2048). */
SIGNET_API SIGNET_MUST_USE enum signet_status signet_key_generate(enum signet_keytype type,
								  unsigned bits,
								  struct signet_key **out,
								  struct signet_error *err);

/* Writes the private key as PKCS#8 PEM into out (cap bytes, NUL-terminated);
 * *len gets the length without the NUL. SIGNET_ERR_LIMIT if cap is short. */
SIGNET_API SIGNET_MUST_USE enum signet_status signet_key_write_pem(const struct signet_key *key,
								   char *out, size_t cap,
								   size_t *len,
								   struct signet_error *err);

/* The public key record value, e.g. "v=DKIM1; k=rsa; p=MIIB..." (SPKI DER
 * for RSA, raw 32 bytes for ed25519), NUL-terminated in out. */
SIGNET_API SIGNET_MUST_USE enum signet_status signet_key_dns_record(const struct signet_key *key,
								    char *out, size_t cap,
								    size_t *len,
								    struct signet_error *err);

/* The base64 of the public key alone (the p= value). */
SIGNET_API SIGNET_MUST_USE enum signet_status signet_key_public_base64(const struct signet_key *key,
								       char *out, size_t cap,
								       size_t *len,
								       struct signet_error *err);

SIGNET_API enum signet_keytype signet_key_type(const struct signet_key *key);
/* RSA modulus size; 256 for ed25519. */
SIGNET_API unsigned signet_key_bits(const struct signet_key *key);
/* The signing algorithm this key makes: rsa-sha256 or ed25519-sha256. */
SIGNET_API enum signet_alg signet_key_alg(const struct signet_key *key);
/* Frees and wipes. NULL is a no-op. */
SIGNET_API void signet_key_free(struct signet_key *key);

#endif
