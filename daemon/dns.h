/* dns.h: asynchronous lookups with libunbound: TXT for key records (RFC
 * 6376 3.6.2), and A, AAAA, MX, PTR, TXT for SPF (RFC 7208) through
 * dns_lookup, driven by one libevent loop. One resolver per loop (each with
 * its own cache); a per-lookup timeout turns a silent server into
 * SIGNET_DNS_TEMPFAIL. Callbacks run on the loop's thread. Optionally an
 * answer cache in front of libunbound (TTL-bounded; temporary failures are
 * never cached). Bounded for any caller (DKIM keys now, SPF and DMARC
 * later): DNS_MAX_INFLIGHT lookups per resolver, and lookups nobody waits
 * for any more cannot pile up (issue #19; see DNS_MAX_ABANDONED). */
#ifndef SIGNETD_DNS_H
#define SIGNETD_DNS_H

#include <stdbool.h>
#include <stddef.h>

#include <signet/spf.h> /* struct signet_rr, enum signet_rrtype */
#include <signet/verifier.h>

struct event_base;
struct dns_resolver;
struct dns_query;

/* Copied by dns_resolver_new (a fresh libunbound context may be made long
 * after, e.g. after a reload freed the config the strings came from). A
 * fresh context reads /etc/resolv.conf and trust_anchor_file again, after
 * signetd dropped privileges. */
struct dns_options {
	const char *const *forwarders; /* "127.0.0.1@5353"; NULL/0 = /etc/resolv.conf */
	size_t nforwarders;
	unsigned timeout_ms;           /* per lookup; 0 = 5000 */
	const char *trust_anchor_file; /* DNSSEC validation when set */
	/* Answer cache of this resolver (dnscache.h), which spares a repeated
	 * lookup libunbound's resolver-thread round trip: names held (0 = no
	 * cache), and the most seconds an answer with records is kept (the
	 * answer's TTL rules when shorter; 0 = DNS_CACHE_MAX_TTL). */
	unsigned cache_entries;
	unsigned cache_max_ttl;
	/* libunbound's own cache keeps nothing past a second: the key record
	 * check and key rotation must see what DNS holds now, not an answer
	 * (a negative one included) from an earlier round. */
	bool fresh;
};

#define DNS_CACHE_ENTRIES 1024     /* per loop */
#define DNS_CACHE_MAX_TTL 300      /* seconds */
#define DNS_CACHE_NEG_TTL 60       /* seconds: NXDOMAIN / NODATA, or their TTL if shorter */
#define DNS_CACHE_BYTES (1u << 20) /* names + records held per loop */

/* Issue #19: lookups of slow names (an attacker's name servers) must not
 * hold up the others. libunbound cannot cancel a query of a threaded
 * context (ub_cancel only drops its answer): one that timed out here, or
 * was cancelled, runs on for seconds, re-sent, holding one of the context's
 * outgoing ports. So:
 * - DNS_MAX_INFLIGHT: lookups a resolver has in libunbound at once, the
 *   abandoned ones counted; more wait (their timeout running) in order.
 * - DNS_MAX_ABANDONED: when this many abandoned lookups run in the current
 *   libunbound context, new lookups go to a fresh context and the old one
 *   is deleted, with its abandoned queries, once the lookups still waited
 *   for there are done (within the timeout). At most DNS_MAX_CONTEXTS per
 *   resolver (each is a thread with its own sockets and caches).
 * - DNS_UB_PORTS (libunbound outgoing-range, UDP sockets per context):
 *   above DNS_MAX_INFLIGHT, so a lookup never waits for a port (library
 *   default: 16, with which every lookup queued behind ten messages' slow
 *   ones). */
#define DNS_MAX_INFLIGHT 256
#define DNS_MAX_ABANDONED 64
#define DNS_MAX_CONTEXTS 4
#define DNS_UB_PORTS (DNS_MAX_INFLIGHT + 64)

/* Records of one answer handed over, per type: TXT DNS_MAX_RECORDS (the
 * rest ignored), others DNS_MAX_RRS (an SPF mx with more than 10 MX names
 * is permerror anyway; past 64 addresses of one name are ignored). */
#define DNS_MAX_RRS 64

/* What a lookup found. records[] are the TXT RRs, each RR's strings joined
 * with nothing between them (RFC 6376 3.6.2.2); borrowed for the callback.
 * rrs[] are the same answer as signet_rr (spf.h) for any type: A 4 bytes,
 * AAAA 16, MX and PTR the name as text without the final dot (the root
 * name, a null MX, is ""); RDATA that does not decode (a compression
 * pointer, a label past the end, a byte outside printable ASCII or a '.'
 * inside a label, a wrong A/AAAA size) is left out. */
struct dns_answer {
	enum signet_dns_status status;
	const struct signet_txt *records;
	size_t nrecords;
	const struct signet_rr *rrs;
	size_t nrrs;
	/* SIGNET_DNS_OK from the answer cache: records[] already parsed, for
	 * signet_verifier_answer_key (which takes its own reference); borrowed
	 * for the callback. NULL otherwise: use records[]. */
	struct signet_keyset *keys;
	bool secure;     /* DNSSEC-validated */
	uint32_t ttl;    /* SIGNET_DNS_OK from the network: the answer's TTL; 0 from the cache */
	const char *why; /* for TEMPFAIL/NXDOMAIN: "timeout after 5000 ms", "SERVFAIL", ... */
	unsigned elapsed_ms;
};

typedef void (*dns_txt_cb)(void *arg, const struct dns_answer *answer);

/* NULL on failure with err filled. */
struct dns_resolver *dns_resolver_new(struct event_base *base, const struct dns_options *opts,
				      char *err, size_t errlen);
/* Starts a lookup; cb is called exactly once, later (never from inside this
 * call), unless dns_cancel is called first, and at most the timeout after
 * this call (waiting for DNS_MAX_INFLIGHT included). NULL on failure (out of
 * memory). */
struct dns_query *dns_lookup_txt(struct dns_resolver *r, const char *name, dns_txt_cb cb,
				 void *arg);
/* dns_lookup_txt for any type the SPF evaluator asks (A, AAAA, MX, PTR,
 * TXT), under the same bounds and timeout. Only TXT answers go through the
 * answer cache (it is keyed by name). NULL on failure. */
struct dns_query *dns_lookup(struct dns_resolver *r, const char *name, enum signet_rrtype type,
			     dns_txt_cb cb, void *arg);
/* Cancels a lookup whose callback has not run; the callback will not run.
 * A lookup libunbound already works on counts as abandoned (above) until
 * libunbound is done with it. */
void dns_cancel(struct dns_query *q);
/* Cancels every pending lookup (callbacks not called) and frees. */
void dns_resolver_free(struct dns_resolver *r);

/* Splits TXT RDATA (a sequence of <length><bytes> character-strings) into
 * one joined string. Returns false on malformed RDATA (a length running past
 * the end). out gets at most cap bytes; *len the joined length. Exposed for
 * tests and fuzzing: DNS answers are hostile input. */
bool dns_txt_rdata_join(const unsigned char *rdata, size_t rdlen, unsigned char *out, size_t cap,
			size_t *len);

/* Decodes one RR's RDATA of type (A, AAAA, MX, PTR, TXT) into rr; MX and
 * PTR names and TXT text are written to out (cap bytes), rr->p points into
 * out or rdata. False when the RDATA is malformed (see struct dns_answer)
 * or does not fit. Exposed for tests: DNS answers are hostile input. */
bool dns_rr_decode(enum signet_rrtype type, const unsigned char *rdata, size_t rdlen, char *out,
		   size_t cap, struct signet_rr *rr);

/* An uncompressed wire-format domain name (RFC 1035 3.1) filling exactly
 * wire[0..len) as text without the final dot, NUL-terminated, into out
 * (cap bytes; 254 holds any name). False on a compression pointer or
 * label type, a label past the end, bytes after the root label, a name
 * over 253 characters, or a label byte that is a '.' or not printable. */
bool dns_name_decode(const unsigned char *wire, size_t len, char *out, size_t cap);

#endif
