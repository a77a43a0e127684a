/* keystore.h: signetd's key store: every configured private key loaded once at
 * start (and on SIGHUP, as a new store swapped in whole), each problem
 * reported with the file, the problem and the exact fix, permissions
 * checked for the user the daemon will run as. The store is immutable and
 * reference-counted, so worker threads share it read-only. */
#ifndef SIGNETD_KEYS_H
#define SIGNETD_KEYS_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include <signet/key.h>

#include "config.h"
#include "diag.h"
#include "fileread.h"

#define KEYS_MAX_FILE FILEREAD_MAX_KEY /* bytes of one key file (64 KiB; a 4096-bit RSA PEM is ~3.3 KB) */
#define KEYS_MAX_FALLBACK 100000 /* files the fallback path template may match */
#define KEYS_MAX_GROUP_NAMES 64  /* gr_mem names of a key file's group looked at */

struct keystore;

struct keystore_key {
	const char *domain;   /* lower case; "*" for a fallback key without $domain */
	const char *selector;
	const char *path;
	const struct signet_key *key;
	bool fallback;        /* from dkim_signing.path (try_fallback), not domain { } */
};

/* Whose permissions count: the config's user (getpwnam) with the config's
 * group or the user's primary group plus its supplementary groups
 * (getgrouplist), as the daemon will run after setgid/initgroups/setuid;
 * without `user`, the current effective ids. */
struct keys_identity {
	bool known;       /* false: the user does not exist (reported) */
	uid_t uid;
	gid_t gids[256];
	size_t ngids;
	char name[64];    /* user name, or "uid N" */
};

/* Resolves the identity the daemon will check keys for; errors (unknown
 * user or group) go to d. */
void keys_identity(const struct signetd_config *cfg, struct keys_identity *id, struct diags *d);

/* Loads every key of cfg: domain { } keys, and with try_fallback and a
 * top-level path the files its template matches ($selector = the
 * top-level selector; $domain = any name, found with glob(3)). Problems go
 * to d; any error makes the load fail (SIGNET_ERR_KEY, *out NULL) so a
 * reload keeps the old store. A key file others may read or write (mode
 * 0644, 0666), or whose group holds users other than the daemon user, is an
 * error (SECURITY.md, "Private key files"). Warnings (group-readable by the
 * daemon user's own group, 1024-bit RSA) do not fail the load.
 * *out holds one reference: keystore_free. */
SIGNET_MUST_USE enum signet_status keystore_load(const struct signetd_config *cfg,
						 struct keystore **out, struct diags *d);

/* Checks and parses one key file as keystore_load does (for the CLI's
 * `signet policy`/config checks and tests). where: "file:line:col: " or "".
 * alg: the configured algorithm or SIGNET_ALG_UNKNOWN. NULL on error. */
struct signet_key *keys_load_file(const struct keys_identity *id, const char *path,
				  const char *domain, const char *selector, enum signet_alg alg,
				  const char *where, struct diags *d);

/* Another reference (thread-safe). */
struct keystore *keystore_ref(struct keystore *ks);
/* Drops a reference; the last frees the store and wipes the keys. NULL is a no-op. */
void keystore_free(struct keystore *ks);

/* The domain { } keys of domain (ASCII case-insensitive, trailing dot
 * ignored; no wildcards, no parent domains: policy.c does eSLD): *n keys
 * in configuration order, borrowed for the store's life; NULL if none. */
const struct keystore_key *keystore_find(const struct keystore *ks, const char *domain, size_t *n);
/* The fallback key for domain: the file the template gave for exactly this
 * domain, else the template-without-$domain key ("*"); NULL if none. */
const struct keystore_key *keystore_find_fallback(const struct keystore *ks, const char *domain);
/* All keys (domain { } ones first), e.g. for logging at start. */
size_t keystore_count(const struct keystore *ks);
const struct keystore_key *keystore_at(const struct keystore *ks, size_t idx);

#endif
