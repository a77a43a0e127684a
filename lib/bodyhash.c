/* bodyhash.c: shared body hashes (bodyhash.h). */
#include <stdlib.h>

#include "bodyhash.h"
#include "error.h"

void bodyhash_set_init(struct bodyhash_set *set)
{
	set->n = 0;
	set->final = false;
}

static enum signet_status sink_hash(void *ctx, const uint8_t *p, size_t len)
{
	return hash_update(ctx, p, len);
}

enum signet_status bodyhash_set_add(struct bodyhash_set *set, enum signet_canon c, uint64_t limit,
				    size_t *idx, struct signet_error *err)
{
	for (size_t k = 0; k < set->n; k++) {
		if (set->items[k]->cb.c == c && set->items[k]->cb.limit == limit) {
			*idx = k;
			return SIGNET_OK;
		}
	}
	if (set->n == SIGNET_MAX_SIGNATURES)
		return error_set(err, SIGNET_ERR_LIMIT, NULL, "more than %d body hashes",
				 SIGNET_MAX_SIGNATURES);
	struct bodyhash *bh = calloc(1, sizeof *bh);
	if (bh == NULL)
		return error_set(err, SIGNET_ERR_NOMEM, NULL, "out of memory");
	enum signet_status st = hash_new(&bh->h);
	if (st != SIGNET_OK) {
		free(bh);
		return error_set(err, st, NULL, st == SIGNET_ERR_NOMEM ? "out of memory"
								 : "cannot create SHA-256 context");
	}
	canon_body_init(&bh->cb, c, limit, sink_hash, bh->h);
	*idx = set->n;
	set->items[set->n++] = bh;
	return SIGNET_OK;
}

enum signet_status bodyhash_set_update(struct bodyhash_set *set, const uint8_t *p, size_t len,
				       struct signet_error *err)
{
	for (size_t k = 0; k < set->n; k++)
		if (canon_body_update(&set->items[k]->cb, p, len) != SIGNET_OK)
			return error_set(err, SIGNET_ERR_CRYPTO, NULL, "body hashing failed");
	return SIGNET_OK;
}

enum signet_status bodyhash_set_final(struct bodyhash_set *set, struct signet_error *err)
{
	if (set->final)
		return SIGNET_OK;
	for (size_t k = 0; k < set->n; k++) {
		struct bodyhash *bh = set->items[k];
		if (canon_body_final(&bh->cb) != SIGNET_OK || hash_final(bh->h, bh->digest) != SIGNET_OK)
			return error_set(err, SIGNET_ERR_CRYPTO, NULL, "body hashing failed");
	}
	set->final = true;
	return SIGNET_OK;
}

void bodyhash_set_free(struct bodyhash_set *set)
{
	for (size_t k = 0; k < set->n; k++) {
		hash_free(set->items[k]->h);
		free(set->items[k]);
	}
	set->n = 0;
}
