/* dnscache.h: a bounded cache of key-record TXT answers (name -> status,
 * records, DNSSEC flag) with a per-entry expiry and LRU eviction, so that a
 * repeated key lookup skips libunbound's resolver-thread round trip. Next to
 * an answer with records it keeps those records parsed (a signet_keyset,
 * made on the first hit), so a hit also skips decoding the key. Pure: no
 * I/O, no clock (the caller passes the time), no locking (one per event
 * loop, like the key sets' reference counts). It never keeps a temporary
 * failure. */
#ifndef SIGNETD_DNSCACHE_H
#define SIGNETD_DNSCACHE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <signet/verifier.h>

#define DNSCACHE_MAX_RECORDS 16 /* TXT RRs kept per name (as dns.c looks at) */
#define DNSCACHE_MAX_DATA 8192  /* record bytes per name; a larger answer is not kept */
#define DNSCACHE_WHY 64         /* the reason text of a negative answer, truncated */

struct dnscache_limits {
	size_t entries;   /* names held at most (>= 1) */
	size_t bytes;     /* name + record bytes held at most, over all entries */
	uint32_t max_ttl; /* seconds an answer with records is kept at most */
	uint32_t neg_ttl; /* seconds NXDOMAIN / NODATA is kept at most */
};

/* A cached answer, copied out: valid whatever happens to the cache later. */
struct dnscache_answer {
	enum signet_dns_status status; /* SIGNET_DNS_OK or SIGNET_DNS_NXDOMAIN */
	bool secure;
	/* SIGNET_DNS_OK: the records parsed, a reference of the caller's own
	 * (signet_keyset_unref when done; it stays valid after the entry is
	 * evicted, expired or replaced). NULL for NXDOMAIN, or when parsing ran
	 * out of memory or OpenSSL failed (the records are then the answer). */
	struct signet_keyset *keys;
	size_t nrecords;
	struct signet_txt records[DNSCACHE_MAX_RECORDS]; /* point into data[] */
	char why[DNSCACHE_WHY];                          /* "" for an answer with records */
	unsigned char data[DNSCACHE_MAX_DATA];
};

struct dnscache;

/* NULL when out of memory or a limit is 0. */
struct dnscache *dnscache_new(const struct dnscache_limits *lim);
/* Drops the cache's references to the key sets too: those a caller still
 * holds stay valid. */
void dnscache_free(struct dnscache *c);

/* A live entry for name (exact bytes) at now_ms: copied to *out, made most
 * recently used, true. An answer with records is parsed on its first hit
 * and the set kept with the entry (not counted in the byte limit: at most
 * one per entry); out->keys is a new reference to it. An expired entry is
 * dropped: false. */
bool dnscache_get(struct dnscache *c, const char *name, uint64_t now_ms,
		  struct dnscache_answer *out);

/* Keeps an answer for min(ttl, limit) seconds from now_ms, where the limit
 * is max_ttl for SIGNET_DNS_OK with records and neg_ttl for NXDOMAIN (which
 * covers NODATA). An older entry for name is replaced (or dropped, if the
 * new answer is not kept). Not kept: TEMPFAIL, ttl 0, OK without records,
 * more than DNSCACHE_MAX_RECORDS records or DNSCACHE_MAX_DATA bytes, an
 * entry bigger than the byte limit, no memory. Least recently used entries
 * are evicted to make room. Returns whether it was kept. */
bool dnscache_put(struct dnscache *c, const char *name, enum signet_dns_status st, const char *why,
		  const struct signet_txt *records, size_t nrecords, bool secure, uint32_t ttl,
		  uint64_t now_ms);

size_t dnscache_count(const struct dnscache *c);
size_t dnscache_bytes(const struct dnscache *c);

#endif
