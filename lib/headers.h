/* headers.h: the RFC 6376 5.4.2 selection of the fields named in h=
 * (bottom-up, each instance used once) from a header store
 * (base/header_store.h). Shared by the signer and the verifier. */
#ifndef SIGNET_HEADERS_H
#define SIGNET_HEADERS_H

#include "header_store.h"

/* Appends the canonical form of the fields named in names[0..n) to out,
 * each name taking the next unused instance from the bottom up (5.4.2,
 * DKIM-HDR-02); names with no instance left add nothing (DKIM-HDR-03).
 * Field skip (the signature being verified, DKIM-HDR-06) is never taken;
 * pass SIZE_MAX for none. */
SIGNET_MUST_USE enum signet_status header_select(const struct header_store *hs,
						 const struct signet_span *names, size_t n,
						 enum signet_canon c, size_t skip, struct signet_buf *out);

#endif
