/* keyset.h: a key query's answer parsed once (struct signet_keyset), to be
 * handed to many verifiers (signet_verifier_answer_key, verifier.h). It
 * parses TXT records; it does no DNS itself. */
#ifndef SIGNET_KEYSET_H
#define SIGNET_KEYSET_H

#include <signet/signet.h>

/* One TXT record: the strings of one RR joined (RFC 6376 3.6.2.2), any
 * bytes, borrowed for the call it is passed to. */
struct signet_txt {
	const uint8_t *p;
	size_t len;
};

/* An answer's records, parsed once for many messages.
 *
 * signet_verifier_answer decodes the TXT records for each message: tags,
 * base64, DER, and OpenSSL's key loading. A caller that keeps answers (signetd
 * keeps them per event loop) can parse them once into a key set and hand the
 * same set to every verifier that asks for that name. A set holds what the
 * verifier takes from a SIGNET_DNS_OK answer: the number of records, the
 * tags and public key of the first usable record (DKIM-KEY-02), or, when
 * none is usable, the first record's problem. Records are judged by the same
 * code either way, so the results and reasons are the same byte for byte
 * as with signet_verifier_answer on those records. Every check is made: v=,
 * k=, h=, s=, t=, an empty p= (revoked), key size and exponent, several
 * records, record size. The set keeps no pointer into records.
 *
 * Lifetime: a set is reference counted. signet_keyset_parse returns it with
 * one reference, the caller's. Each verifier it is given to takes a reference
 * of its own and drops it in signet_verifier_free, so the caller may unref
 * its own reference (e.g. on a cache eviction) while messages still use the
 * set: it is freed when the last reference is dropped. Once parsed, a set
 * does not change (only its count does), so any number of verifiers may use
 * it at once. The count is not atomic: a set, and every verifier holding
 * it, must stay on one thread.
 *
 * Parses records[0..n) (n may be 0: an answer without records). Returns
 * SIGNET_OK with *out (a record that is unusable is a result, not an error),
 * or SIGNET_ERR_NOMEM, or SIGNET_ERR_CRYPTO when OpenSSL fails to load a
 * key that passed every check. Both say nothing about the records; *out is
 * then NULL and the caller should use signet_verifier_answer, which makes
 * such a failure that one message's problem. */
struct signet_keyset;

SIGNET_API SIGNET_MUST_USE enum signet_status signet_keyset_parse(const struct signet_txt *records,
								  size_t n,
								  struct signet_keyset **out,
								  struct signet_error *err);

/* Adds a reference and returns ks. NULL is returned as is. */
SIGNET_API struct signet_keyset *signet_keyset_ref(struct signet_keyset *ks);

/* Drops a reference; the last one frees the set. NULL is a no-op. */
SIGNET_API void signet_keyset_unref(struct signet_keyset *ks);

#endif
