/* dnscache.c: the key-record answer cache of dnscache.h. A fixed array of
 * entries, chained hash buckets over it, and a doubly linked LRU list; each
 * entry's name and record bytes in one allocation, and its records parsed
 * (a reference to a signet_keyset) once first asked for. No clock and no
 * I/O: the caller passes the time and decides what it asks. */
#include <stdlib.h>
#include <string.h>

#include "dnscache.h"

#define NIL UINT32_MAX

struct entry {
	unsigned char *block; /* name NUL, then the record bytes; NULL = free entry */
	size_t size;          /* bytes of block */
	size_t namelen;
	uint64_t expires_ms;
	uint32_t hash;
	uint32_t hnext;        /* next in the bucket chain, or in the free list */
	uint32_t lprev, lnext; /* LRU list: prev is more recently used */
	enum signet_dns_status status;
	bool secure;
	uint8_t nrecords;
	uint16_t lens[DNSCACHE_MAX_RECORDS];
	char why[DNSCACHE_WHY];
	struct signet_keyset *keys; /* the cache's reference; NULL until the first hit */
};

struct dnscache {
	struct dnscache_limits lim;
	struct entry *e;
	uint32_t *buckets; /* heads of the chains; nbuckets is a power of two */
	size_t nbuckets;
	uint32_t free_head;
	uint32_t mru, lru; /* ends of the LRU list */
	size_t count, bytes;
};

_Static_assert(DNSCACHE_MAX_RECORDS <= UINT8_MAX, "nrecords fits");
_Static_assert(DNSCACHE_MAX_DATA <= UINT16_MAX, "record lengths fit");

/* FNV-1a over the name's bytes. */
static uint32_t hash_name(const char *name, size_t len)
{
	uint32_t h = 2166136261u;
	for (size_t k = 0; k < len; k++)
		h = (h ^ (unsigned char)name[k]) * 16777619u;
	return h;
}

struct dnscache *dnscache_new(const struct dnscache_limits *lim)
{
	if (lim->entries == 0 || lim->bytes == 0 || lim->entries >= NIL / 2)
		return NULL;
	struct dnscache *c = calloc(1, sizeof *c);
	if (c == NULL)
		return NULL;
	c->lim = *lim;
	c->nbuckets = 1;
	while (c->nbuckets < 2 * lim->entries)
		c->nbuckets *= 2;
	c->e = calloc(lim->entries, sizeof *c->e);
	c->buckets = malloc(c->nbuckets * sizeof *c->buckets);
	if (c->e == NULL || c->buckets == NULL) {
		dnscache_free(c);
		return NULL;
	}
	for (size_t k = 0; k < c->nbuckets; k++)
		c->buckets[k] = NIL;
	for (size_t k = 0; k < lim->entries; k++)
		c->e[k].hnext = k + 1 < lim->entries ? (uint32_t)(k + 1) : NIL;
	c->free_head = 0;
	c->mru = c->lru = NIL;
	return c;
}

void dnscache_free(struct dnscache *c)
{
	if (c == NULL)
		return;
	if (c->e != NULL) {
		for (size_t k = 0; k < c->lim.entries; k++) {
			free(c->e[k].block);
			signet_keyset_unref(c->e[k].keys);
		}
	}
	free(c->e);
	free(c->buckets);
	free(c);
}

size_t dnscache_count(const struct dnscache *c)
{
	return c->count;
}

size_t dnscache_bytes(const struct dnscache *c)
{
	return c->bytes;
}

/* ---- the LRU list ---- */

static void lru_unlink(struct dnscache *c, uint32_t i)
{
	struct entry *e = &c->e[i];
	if (e->lprev != NIL)
		c->e[e->lprev].lnext = e->lnext;
	else
		c->mru = e->lnext;
	if (e->lnext != NIL)
		c->e[e->lnext].lprev = e->lprev;
	else
		c->lru = e->lprev;
	e->lprev = e->lnext = NIL;
}

static void lru_push(struct dnscache *c, uint32_t i)
{
	struct entry *e = &c->e[i];
	e->lprev = NIL;
	e->lnext = c->mru;
	if (c->mru != NIL)
		c->e[c->mru].lprev = i;
	c->mru = i;
	if (c->lru == NIL)
		c->lru = i;
}

/* ---- lookup and removal ---- */

static uint32_t find(const struct dnscache *c, const char *name, size_t len, uint32_t h)
{
	for (uint32_t i = c->buckets[h & (c->nbuckets - 1)]; i != NIL; i = c->e[i].hnext) {
		const struct entry *e = &c->e[i];
		if (e->hash == h && e->namelen == len && memcmp(e->block, name, len) == 0)
			return i;
	}
	return NIL;
}

static void drop(struct dnscache *c, uint32_t i)
{
	struct entry *e = &c->e[i];
	uint32_t *link = &c->buckets[e->hash & (c->nbuckets - 1)];
	while (*link != i)
		link = &c->e[*link].hnext;
	*link = e->hnext;
	lru_unlink(c, i);
	c->count--;
	c->bytes -= e->size;
	free(e->block);
	e->block = NULL;
	/* Messages that took a reference keep the set until they are done. */
	signet_keyset_unref(e->keys);
	e->keys = NULL;
	e->hnext = c->free_head;
	c->free_head = i;
}

bool dnscache_get(struct dnscache *c, const char *name, uint64_t now_ms,
		  struct dnscache_answer *out)
{
	size_t len = strlen(name);
	uint32_t h = hash_name(name, len);
	uint32_t i = find(c, name, len, h);
	if (i == NIL)
		return false;
	struct entry *e = &c->e[i];
	if (now_ms >= e->expires_ms) {
		drop(c, i);
		return false;
	}
	lru_unlink(c, i);
	lru_push(c, i);
	out->status = e->status;
	out->secure = e->secure;
	out->nrecords = e->nrecords;
	memcpy(out->why, e->why, sizeof out->why);
	const unsigned char *p = e->block + e->namelen + 1;
	size_t off = 0;
	for (size_t k = 0; k < e->nrecords; k++) {
		memcpy(out->data + off, p + off, e->lens[k]);
		out->records[k].p = out->data + off;
		out->records[k].len = e->lens[k];
		off += e->lens[k];
	}
	out->keys = NULL;
	if (e->status != SIGNET_DNS_OK)
		return true;
	if (e->keys == NULL) {
		struct signet_error err = {0};
		/* On failure (no memory, OpenSSL) nothing is kept: the caller
		 * gives the verifier the records, and the next hit tries again. */
		if (signet_keyset_parse(out->records, out->nrecords, &e->keys, &err) != SIGNET_OK)
			return true;
	}
	out->keys = signet_keyset_ref(e->keys);
	return true;
}

/* ---- insertion ---- */

/* Seconds the answer may be kept (0: not at all) and its record bytes. */
static uint32_t keep_for(const struct dnscache *c, enum signet_dns_status st,
			 const struct signet_txt *records, size_t n, uint32_t ttl, size_t *data)
{
	*data = 0;
	if (st == SIGNET_DNS_NXDOMAIN)
		return ttl < c->lim.neg_ttl ? ttl : c->lim.neg_ttl;
	if (st != SIGNET_DNS_OK || n == 0 || n > DNSCACHE_MAX_RECORDS)
		return 0;
	for (size_t k = 0; k < n; k++) {
		if (records[k].len > DNSCACHE_MAX_DATA - *data)
			return 0;
		*data += records[k].len;
	}
	return ttl < c->lim.max_ttl ? ttl : c->lim.max_ttl;
}

bool dnscache_put(struct dnscache *c, const char *name, enum signet_dns_status st, const char *why,
		  const struct signet_txt *records, size_t nrecords, bool secure, uint32_t ttl,
		  uint64_t now_ms)
{
	size_t len = strlen(name), data;
	uint32_t h = hash_name(name, len);
	uint32_t old = find(c, name, len, h);
	if (old != NIL)
		drop(c, old); /* the new answer replaces it, kept or not */
	uint32_t secs = keep_for(c, st, records, nrecords, ttl, &data);
	if (secs == 0 || len >= c->lim.bytes || data > c->lim.bytes - len - 1)
		return false;
	size_t size = len + 1 + data;
	while (c->count > 0 && (c->count == c->lim.entries || c->bytes + size > c->lim.bytes))
		drop(c, c->lru);
	unsigned char *block = malloc(size);
	if (block == NULL)
		return false;
	uint32_t i = c->free_head;
	struct entry *e = &c->e[i];
	c->free_head = e->hnext;
	memcpy(block, name, len + 1);
	size_t off = len + 1;
	for (size_t k = 0; k < nrecords && st == SIGNET_DNS_OK; k++) {
		if (records[k].len > 0)
			memcpy(block + off, records[k].p, records[k].len);
		e->lens[k] = (uint16_t)records[k].len;
		off += records[k].len;
	}
	e->block = block;
	e->keys = NULL; /* parsed on the first hit */
	e->size = size;
	e->namelen = len;
	e->expires_ms = now_ms + (uint64_t)secs * 1000;
	e->hash = h;
	e->status = st;
	e->secure = secure;
	e->nrecords = st == SIGNET_DNS_OK ? (uint8_t)nrecords : 0;
	e->why[0] = '\0';
	if (st != SIGNET_DNS_OK && why != NULL) {
		strncpy(e->why, why, sizeof e->why - 1);
		e->why[sizeof e->why - 1] = '\0';
	}
	uint32_t *head = &c->buckets[h & (c->nbuckets - 1)];
	e->hnext = *head;
	*head = i;
	lru_push(c, i);
	c->count++;
	c->bytes += size;
	return true;
}
