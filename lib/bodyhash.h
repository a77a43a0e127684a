/* bodyhash.h: body hashes shared between signatures. One canonicalizer and
 * SHA-256 per distinct (canonicalization, l=) pair, fed once per body
 * chunk, however many signatures need it (DESIGN.md; RFC 8463 6 dual
 * signing costs one body pass). */
#ifndef SIGNET_BODYHASH_H
#define SIGNET_BODYHASH_H

#include "canon.h"
#include "crypto.h"

struct bodyhash {
	struct canon_body cb;
	struct hash *h;
	uint8_t digest[SIGNET_SHA256_LEN];
};

struct bodyhash_set {
	struct bodyhash *items[SIGNET_MAX_SIGNATURES];
	size_t n;
	bool final;
};

void bodyhash_set_init(struct bodyhash_set *set);
/* Index of the hash for (c, limit), added if new. limit UINT64_MAX = whole body. */
SIGNET_MUST_USE enum signet_status bodyhash_set_add(struct bodyhash_set *set, enum signet_canon c,
						    uint64_t limit, size_t *idx,
						    struct signet_error *err);
SIGNET_MUST_USE enum signet_status bodyhash_set_update(struct bodyhash_set *set, const uint8_t *p,
						       size_t len, struct signet_error *err);
SIGNET_MUST_USE enum signet_status bodyhash_set_final(struct bodyhash_set *set,
						      struct signet_error *err);
void bodyhash_set_free(struct bodyhash_set *set);

#endif
