/* rotation_redis.h: the key rotation state of a fleet, kept in Redis
 * (issue #17 "In fleet mode the state lives in Redis, so every host
 * switches together"). One string key (rotation.redis_key, default
 * "signet_rotation") holds the text of the state file (rotation.h); every
 * change is an optimistic transaction (WATCH, GET, change, MULTI/SET/EXEC),
 * retried a bounded number of times when another host wrote in between,
 * and may carry writes to the key hashes in the same EXEC (the selector a
 * switch makes every host sign with; the key a retirement deletes). */
#ifndef SIGNET_CONF_ROTATION_REDIS_H
#define SIGNET_CONF_ROTATION_REDIS_H

#include <stdbool.h>
#include <stddef.h>

#include "diag.h"
#include "redis_client.h"
#include "rotation.h"

#define ROTATION_REDIS_MAX_TRIES 5    /* transactions lost to another host, then give up */
#define ROTATION_REDIS_MAX_WRITES 256 /* hash writes in one transaction */
#define ROTATION_REDIS_FIELD_MAX 320  /* "SELECTOR.DOMAIN" */

/* Reads the state at key (a missing key is no rotation). False with an
 * error in d (naming the server and key) on a Redis or parse failure. */
bool rotation_redis_load(struct redis_client *c, const char *key, struct rotation *r,
			 struct diags *d);

/* The hash writes a change asks for, done in the same EXEC as the state. */
struct rotation_redis_tx;
/* HSET hash field value / HDEL hash field: copies the strings. False (an
 * error in d) past ROTATION_REDIS_MAX_WRITES or out of memory. */
bool rotation_redis_hset(struct rotation_redis_tx *tx, const char *hash, const char *field,
			 const char *value, struct diags *d);
bool rotation_redis_hdel(struct rotation_redis_tx *tx, const char *hash, const char *field,
			 struct diags *d);

enum rotation_redis_change {
	ROT_REDIS_KEEP = 0, /* nothing to write */
	ROT_REDIS_WRITE,    /* write r (and the tx writes) */
	ROT_REDIS_ABORT,    /* give up; fn put the reason in d */
};
/* The change, applied to a fresh copy of the state on every try (so it
 * must depend on r alone, and keep side effects for after success). */
typedef enum rotation_redis_change (*rotation_redis_fn)(struct rotation *r,
							struct rotation_redis_tx *tx, void *arg,
							struct diags *d);

/* Runs fn in a transaction on key. True when it wrote or had nothing to
 * write: *out (may be NULL) is then the state as stored (caller frees).
 * False with an error in d: a Redis error, fn aborted, or another host
 * won ROTATION_REDIS_MAX_TRIES times in a row. */
bool rotation_redis_update(struct redis_client *c, const char *key, rotation_redis_fn fn, void *arg,
			   struct rotation *out, struct diags *d);

#endif
