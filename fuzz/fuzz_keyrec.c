/* fuzz_keyrec.c: key records (lib/keyrec.c, RFC 6376 3.6.1) and the public
 * key decoder behind them (lib/crypto.c pubkey_parse: SPKI/PKCS#1 DER for
 * RSA, raw ed25519). A record is hostile DNS data. */
#include <signet/keyrec.h>

#include "crypto.h"
#include "fuzz.h"
#include "keyrec.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t *p = malloc(size ? size : 1);
	FUZZ_CHECK(p != NULL);
	if (size > 0)
		memcpy(p, data, size);

	/* Public entry point: decode + key check. */
	struct signet_keyrec_info info;
	struct signet_error err = {0};
	enum signet_status st = signet_keyrec_parse(p, size, &info, &err);
	FUZZ_CHECK(err.msg[sizeof err.msg - 1] == '\0');
	if (st != SIGNET_OK)
		FUZZ_CHECK(err.msg[0] != '\0');
	if (size > SIGNET_MAX_KEY_RECORD)
		FUZZ_CHECK(st == SIGNET_ERR_LIMIT);

	/* The verifier's path: keyrec_decode, then the DER/raw key itself. */
	static struct keyrec rec;
	struct signet_error derr = {0};
	if (keyrec_decode(p, size, &rec, &derr) == SIGNET_OK) {
		FUZZ_CHECK(rec.keylen <= sizeof rec.key);
		struct pubkey *pk = NULL;
		unsigned bits = 0;
		struct signet_error kerr = {0};
		if (crypto_pubkey_parse(rec.info.type, rec.key, rec.keylen, &pk, &bits, &kerr) ==
		    SIGNET_OK) {
			FUZZ_CHECK(pk != NULL);
			if (rec.info.type == SIGNET_KEY_RSA)
				FUZZ_CHECK(bits >= SIGNET_MIN_RSA_BITS &&
					   bits <= SIGNET_MAX_RSA_BITS);
			/* A garbage signature must be "no", never an error or a crash. */
			uint8_t digest[SIGNET_SHA256_LEN] = {0};
			bool ok = true;
			struct signet_error verr = {0};
			size_t sl = size < SIGNET_MAX_SIG_LEN ? size : SIGNET_MAX_SIG_LEN;
			if (crypto_pubkey_verify(pk, digest, p, sl, &ok, &verr) == SIGNET_OK)
				FUZZ_CHECK(!ok);
			crypto_pubkey_free(pk);
		}
	}
	/* The same bytes read as a raw DER key of each type. */
	for (int t = SIGNET_KEY_RSA; t <= SIGNET_KEY_ED25519; t++) {
		struct pubkey *pk = NULL;
		unsigned bits = 0;
		struct signet_error kerr = {0};
		if (crypto_pubkey_parse((enum signet_keytype)t, p, size, &pk, &bits, &kerr) ==
		    SIGNET_OK)
			crypto_pubkey_free(pk);
	}
	free(p);
	return 0;
}
