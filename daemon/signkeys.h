/* signkeys.h: the signing keys of one domain as Redis gave them
 * (keyfetch.h fetches them; session.c signs with them). A plain
 * reference-counted value, no I/O, so the session stays sans-I/O. */
#ifndef SIGNETD_SIGNKEYS_H
#define SIGNETD_SIGNKEYS_H

#include <stddef.h>

#include <signet/signer.h>

struct signet_key;

/* What Redis gave for one domain: the keys found (n may be 0: Redis has
 * none, why says what was asked). Reference counted: a message signing
 * with them holds one; single-threaded (one worker). */
struct signkeys {
	int refs;
	char domain[256];
	size_t n;
	char selector[SIGNET_MAX_SIGNERS][64];
	struct signet_key *key[SIGNET_MAX_SIGNERS]; /* owned */
	char why[300]; /* n == 0: "no key in Redis: HGET dkim_keys s1.example.com is nil" */
};

/* A new value with one reference, n = 0; NULL when out of memory. */
struct signkeys *signkeys_new(const char *domain);
struct signkeys *signkeys_ref(struct signkeys *k); /* NULL is a no-op */
/* Drops a reference; the last frees the keys (wiped). NULL is a no-op. */
void signkeys_unref(struct signkeys *k);

#endif
