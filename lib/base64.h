/* base64.h: RFC 4648 base64 as DKIM uses it (RFC 6376 2.4, 3.5 b=/bh=):
 * FWS inside the encoded text is skipped; anything else that is not the
 * alphabet, missing padding, or '=' in the middle is an error (we decide
 * strictness once: reject). */
#ifndef SIGNET_BASE64_H
#define SIGNET_BASE64_H

#include "buf.h"

SIGNET_MUST_USE enum signet_status base64_decode(struct signet_span in, uint8_t *out, size_t cap,
						 size_t *outlen, struct signet_error *err);
/* Appends the encoding of p[0..n) to out. */
SIGNET_MUST_USE enum signet_status base64_encode(const uint8_t *p, size_t n,
						 struct signet_buf *out);
/* Encodes into a fixed char array (NUL-terminated); LIMIT when too small. */
SIGNET_MUST_USE enum signet_status base64_encode_str(const uint8_t *p, size_t n, char *out,
						     size_t cap);

#endif
