/* keyrec.h (internal): a key record decoded for the verifier (RFC 6376
 * 3.6.1). The public signet_keyrec_parse wraps keyrec_decode. */
#ifndef SIGNET_LIB_KEYREC_H
#define SIGNET_LIB_KEYREC_H

#include <signet/keyrec.h>
#include "buf.h"

struct keyrec {
	struct signet_keyrec_info info;
	uint8_t key[SIGNET_MAX_KEY_RECORD]; /* decoded p= */
	size_t keylen;
};

/* Tag syntax (3.2), v= first and DKIM1 (DKIM-KEY-03), k= known, h=, s=, t=
 * flags, p= base64 (empty = revoked: SIGNET_ERR_KEY "key revoked"). Unknown
 * tags ignored (DKIM-KEY-10, -13). Records over SIGNET_MAX_KEY_RECORD →
 * SIGNET_ERR_LIMIT "key record too large". Errors carry the reason. Does not
 * touch OpenSSL (bits stays 0). */
SIGNET_MUST_USE enum signet_status keyrec_decode(const uint8_t *txt, size_t len, struct keyrec *out,
						 struct signet_error *err);

#endif
