/* rotation.h: key rotation that waits for DNS (issue #17). The selectors of
 * each rotated domain and the state of each, kept in a small text file that
 * `signet rotate` writes and signetd advances, and the one place that
 * decides each step from what DNS showed and the time:
 *
 *   pending --record matches--> published --TTL passed, still matches--> active
 *      ^  |                        |                                      |
 *      |  +--record wrong--> wrong |<-- record gone or wrong              | (the next
 *      +---------------------------+                                      |  one switches)
 *                                                 retired <--retire_after-- retiring
 *
 * A new selector signs only once its record has been seen matching the key
 * for at least the record's TTL (caches holding an older answer for the
 * name, negative ones included, have expired by then); the selector it
 * replaces stays published for retire_after so mail in flight still
 * verifies, then its record should be replaced with a revoked one (p=).
 * Times are arguments: the step is a pure function of state, observation
 * and clock. */
#ifndef SIGNETD_ROTATION_H
#define SIGNETD_ROTATION_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "diag.h"

#define ROTATION_DEFAULT_STATE "/var/lib/signet/rotation.state"
#define ROTATION_DEFAULT_REDIS_KEY "signet_rotation" /* rotation.redis_key (fleet mode) */
#define ROTATION_DEFAULT_RETIRE_AFTER (7u * 86400)   /* seconds the old record stays valid */
#define ROTATION_MAX_ENTRIES 4096                    /* selectors in one state file */
#define ROTATION_MAX_FILE (1024u * 1024)             /* bytes of the state file */
#define ROTATION_MAX_WAIT (2u * 86400)               /* a TTL above this is waited for this long */
#define ROTATION_NOTE_MAX 256                        /* the problem of a wrong record, as logged */
#define ROTATION_PATH_MAX 4096
/* The path field of a key kept in Redis (fleet mode, rotation_redis.h):
 * "redis:HASH", the key being HGET HASH "SELECTOR.DOMAIN". */
#define ROTATION_REDIS_PATH "redis:"

enum rotation_state {
	ROT_PENDING = 0, /* key made, no matching record seen yet */
	ROT_WRONG,       /* a record is published at the selector, but not this key's */
	ROT_PUBLISHED,   /* the record matches since `since`; switch at wait_until */
	ROT_ACTIVE,      /* signs */
	ROT_RETIRING,    /* replaced at `since`; its record stays until retire_after */
	ROT_RETIRED,     /* not loaded; its record should be revoked (p=) */
};

struct rotation_entry {
	char domain[254]; /* lower case, no trailing dot */
	char selector[64];
	enum rotation_state state;
	uint64_t since;               /* unix time the entry entered its state */
	uint64_t wait_until;          /* ROT_PUBLISHED: the earliest switch */
	uint64_t checked;             /* last DNS observation (0: never) */
	char path[ROTATION_PATH_MAX]; /* the private key file, or "redis:HASH" */
	char note[ROTATION_NOTE_MAX]; /* ROT_WRONG: what is wrong with the record */
};

struct rotation {
	struct rotation_entry *v; /* owned */
	size_t n, cap;
};

/* What DNS showed for a selector's record. */
enum rotation_obs_kind {
	ROT_OBS_MATCH = 0, /* one record, sound, this key's public key */
	ROT_OBS_WRONG,     /* a record, but a problem (problem says which) */
	ROT_OBS_ABSENT,    /* NXDOMAIN or no TXT record */
	ROT_OBS_TEMPFAIL,  /* no answer: nothing is decided */
};
struct rotation_obs {
	enum rotation_obs_kind kind;
	uint32_t ttl;        /* ROT_OBS_MATCH: the answer's TTL */
	const char *problem; /* ROT_OBS_WRONG */
};

enum rotation_event {
	ROT_EV_NONE = 0,
	ROT_EV_SEEN,     /* -> published: the record matches, waiting for its TTL */
	ROT_EV_WRONG,    /* -> wrong (or still wrong with a new problem) */
	ROT_EV_GONE,     /* published/wrong -> pending: the record went away */
	ROT_EV_SWITCHED, /* -> active; the previous active one -> retiring */
	ROT_EV_RETIRED,  /* retiring -> retired */
};

void rotation_init(struct rotation *r);
void rotation_free(struct rotation *r);

/* "pending", "wrong", "published", "active", "retiring", "retired". */
const char *rotation_state_name(enum rotation_state s);

/* Reads the state file. A missing file is an empty state (true); a file
 * that cannot be read or parsed adds errors naming file:line to d (false). */
bool rotation_load(const char *path, struct rotation *r, struct diags *d);
/* The same from text (a state kept in Redis): name is used in errors
 * ("NAME:LINE: ..."). More than ROTATION_MAX_FILE bytes, a NUL byte or a
 * malformed line is an error (false, r empty); empty text is no rotation. */
bool rotation_parse(const char *text, size_t len, const char *name, struct rotation *r,
		    struct diags *d);
/* The text rotation_parse reads back (the state file's format): malloc'd,
 * NUL-terminated, caller frees; NULL with an error in d when it would pass
 * ROTATION_MAX_FILE or memory runs out. */
char *rotation_format(const struct rotation *r, size_t *len, struct diags *d);
/* Writes the state file atomically (a temporary file in the same
 * directory, fsync, rename), mode 0640. False with an error in d. */
bool rotation_save(const char *path, const struct rotation *r, struct diags *d);

/* Adds a pending selector (signet rotate). False (with an error in d) when
 * the domain already has one pending, published or wrong (one rotation at
 * a time), the selector exists, or ROTATION_MAX_ENTRIES is reached. */
bool rotation_add_pending(struct rotation *r, const char *domain, const char *selector,
			  const char *path, uint64_t now, struct diags *d);
/* Records the key that signs today as the domain's active one, when the
 * domain has no entry yet (signet rotate on a domain signetd.conf signs). */
bool rotation_adopt_active(struct rotation *r, const char *domain, const char *selector,
			   const char *path, uint64_t now, struct diags *d);

/* Advances entry idx (pending, wrong or published) by what DNS showed at
 * now. A switch makes the domain's active entry retiring. */
enum rotation_event rotation_observe(struct rotation *r, size_t idx, const struct rotation_obs *o,
				     uint64_t now);
/* Time alone: retiring entries older than retire_after become retired.
 * Calls on_retired(entry, arg) for each (may be NULL); returns how many. */
size_t rotation_tick(struct rotation *r, uint64_t now, uint64_t retire_after,
		     void (*on_retired)(const struct rotation_entry *e, void *arg), void *arg);

/* The Redis hash holding e's key ("redis:HASH" path), or NULL (a file). */
const char *rotation_key_hash(const struct rotation_entry *e);

/* A new dated selector for a key of type ("rsa" or "ed25519") made at now:
 * "ed20261207", then "ed20261207b" .. "ed20261207z" while taken(sel, arg)
 * says a name is in use. False when all 26 are taken. */
bool rotation_dated_selector(const char *type, uint64_t now,
			     bool (*taken)(const char *sel, void *arg), void *arg, char *out,
			     size_t cap);

/* The entry that signs for domain (ROT_ACTIVE), or NULL. */
const struct rotation_entry *rotation_active(const struct rotation *r, const char *domain);
/* Whether entry idx is still waiting for DNS (pending, wrong, published). */
bool rotation_waits_for_dns(const struct rotation_entry *e);

#endif
