/* rotate_fleet.h: `signet rotate` in fleet mode (issue #17: "In fleet mode
 * the state lives in Redis, so every host switches together"). Fleet mode
 * is signetd.conf's dkim_signing.use_redis, or --redis URL: the rotation
 * state is the Redis key rotation.redis_key (conf/rotation_redis.h), the
 * new key goes to HSET key_prefix "SELECTOR.DOMAIN" (through signet keygen
 * --redis), and the selector every host signs with is the selector_prefix
 * hash, which signetd changes at the switch. cmd_rotate.c renders. */
#ifndef SIGNET_CLI_ROTATE_FLEET_H
#define SIGNET_CLI_ROTATE_FLEET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "rotation.h"

struct rotate_fleet; /* opaque: the connection and the names */

/* Command-line overrides (NULL: the config's, else the defaults). */
struct rotate_fleet_names {
	const char *url, *key_prefix, *selector_prefix;
};

/* Fleet mode: --redis given, or the config has dkim_signing.use_redis. */
bool rotate_fleet_wanted(const struct signetd_config *cfg, const char *url);

/* Connects to --redis URL, else the config's Redis servers. With
 * need_selectors (a rotation, not --status) a selector hash is required:
 * every host learns the selector to sign with from it. NULL after printing
 * why. */
struct rotate_fleet *rotate_fleet_open(const struct signetd_config *cfg,
				       const struct rotate_fleet_names *names, bool need_selectors);
void rotate_fleet_free(struct rotate_fleet *f);

/* "Redis 127.0.0.1:6379 key signet_rotation"; borrowed. */
const char *rotate_fleet_where(const struct rotate_fleet *f);
/* The state (printing why not). */
bool rotate_fleet_load(struct rotate_fleet *f, struct rotation *r);
/* The TXT value of e's key, read from Redis; false when it is not there. */
bool rotate_fleet_record(struct rotate_fleet *f, const struct rotation_entry *e, char *out,
			 size_t cap);

struct rotate_fleet_req {
	const char *domain, *type, *bits, *selector; /* type, bits, selector may be NULL */
	const char *config;                          /* passed on to signet keygen, or NULL */
	uint64_t now;
};
#define ROTATE_FLEET_RECORD_MAX 2048 /* the TXT value of a 4096-bit RSA key fits */
/* What a rotation made: the new selector and its record's TXT value. */
struct rotate_fleet_made {
	char selector[64];
	char value[ROTATE_FLEET_RECORD_MAX];
};
/* signet rotate -d DOMAIN: returns the exit code; on CLI_EXIT_OK, made. */
int rotate_fleet_rotate(struct rotate_fleet *f, const struct rotate_fleet_req *q,
			struct rotate_fleet_made *made);

#endif
