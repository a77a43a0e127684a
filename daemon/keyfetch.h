/* keyfetch.h: signing keys kept in Redis, read the way rspamd reads them
 * (dkim_signing.use_redis; rspamd's lualib/lua_dkim_tools.lua
 * sign_using_redis): with selector_prefix, HGET selector_prefix DOMAIN
 * gives the selector; then HGET key_prefix "SELECTOR.DOMAIN" gives the
 * private key (PEM). One fetcher per worker loop, talking to Redis with
 * hiredis's libevent adapter, so a worker never waits on Redis.
 *
 * Keys are cached per (domain, selectors) and used for
 * dkim_signing.redis_refresh; an older entry is still used while a fetch
 * in the background replaces it. When Redis cannot be reached the cached
 * keys go on signing (logged once per outage, and once when it is back);
 * only a domain never fetched gets an error, which the session turns into
 * on_error.sign. Every fetch is bounded by the Redis timeout; a server
 * that fails is followed at once by the next one configured, and once
 * every server has failed in turn a new round waits for a backoff (1 s
 * doubling to KEYFETCH_MAX_BACKOFF_MS; fetches in between fail at once).
 * An outage ends when Redis answers, not when a connection opens. */
#ifndef SIGNETD_KEYFETCH_H
#define SIGNETD_KEYFETCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "signkeys.h"

struct event_base;
struct signetd_config;

#define KEYFETCH_MAX_ENTRIES 10000 /* cached domains per worker; the least used goes */
#define KEYFETCH_MAX_KEY_BYTES CONFIG_MAX_REDIS_KEY_BYTES /* one key's value (config.h) */
#define KEYFETCH_MAX_BACKOFF_MS 30000 /* the longest wait before connecting again */

struct keyfetch;
struct keyfetch_req;

/* Called once per request (unless cancelled), from the worker loop, never
 * from inside keyfetch_get: keys borrowed for the call (take a reference to
 * keep them), or NULL with error saying why (Redis unreachable, a reply
 * that is not a key, ...). */
typedef void (*keyfetch_cb)(void *arg, struct signkeys *keys, const char *error);

struct keyfetch *keyfetch_new(struct event_base *base);
/* Fails what is waiting (callbacks are not called) and closes Redis. */
void keyfetch_free(struct keyfetch *kf);

enum keyfetch_status {
	KEYFETCH_NOW,  /* answered: *keys (a reference for the caller) or error */
	KEYFETCH_WAIT, /* *req is pending: cb will be called, or keyfetch_cancel */
};

/* The keys of domain for selectors[0..n) (n == 0: the selector comes from
 * cfg's selector_prefix). cfg gives the servers, hash names, timeout and
 * refresh; a different cfg than the last call's (a reload) marks every
 * entry for a refresh and, when the servers or hash names changed, forgets
 * them. On KEYFETCH_NOW with *keys NULL, err holds the reason. */
enum keyfetch_status keyfetch_get(struct keyfetch *kf, const struct signetd_config *cfg,
				  const char *domain, const char *const *selectors, size_t n,
				  keyfetch_cb cb, void *arg, struct keyfetch_req **req,
				  struct signkeys **keys, char *err, size_t errcap);

/* The caller goes away: cb will not be called for req. */
void keyfetch_cancel(struct keyfetch_req *req);

/* For tests and metrics: cached entries, and whether Redis is thought up. */
size_t keyfetch_cached(const struct keyfetch *kf);
bool keyfetch_redis_up(const struct keyfetch *kf);

#endif
