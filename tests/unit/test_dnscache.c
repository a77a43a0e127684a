/* test_dnscache.c: signetd's key-record answer cache (daemon/dnscache.c):
 * hits copy records, DNSSEC flag and reason exactly; expiry at min(TTL,
 * limit) to the millisecond; negative answers for a shorter time; temporary
 * failures never kept; the entry and byte bounds at limit-1, limit, limit+1
 * with least-recently-used eviction. The records parsed once (a
 * signet_keyset): every hit hands out the same set, which outlives its
 * entry while a message holds it (run under ASan). The clock is the test's
 * own. */
#include "testutil.h"

#include "dnscache.h"

static struct signet_txt txt(const char *s, size_t n)
{
	return (struct signet_txt){(const uint8_t *)s, n};
}

static struct dnscache *mk(size_t entries, size_t bytes, uint32_t max_ttl, uint32_t neg_ttl)
{
	struct dnscache_limits lim = {entries, bytes, max_ttl, neg_ttl};
	struct dnscache *c = dnscache_new(&lim);
	assert_non_null(c);
	return c;
}

static bool put_ok(struct dnscache *c, const char *name, const char *rec, uint32_t ttl,
		   uint64_t now)
{
	struct signet_txt r = txt(rec, strlen(rec));
	return dnscache_put(c, name, SIGNET_DNS_OK, NULL, &r, 1, false, ttl, now);
}

static bool has(struct dnscache *c, const char *name, uint64_t now)
{
	static struct dnscache_answer a;
	bool hit = dnscache_get(c, name, now, &a);
	if (hit)
		signet_keyset_unref(a.keys); /* the reference every hit hands out */
	return hit;
}

/* Records (with a NUL inside and an empty one), secure flag and status come
 * back byte for byte, in a copy that outlives the entry. */
static void dnscache_hit_copies_answer(void **state)
{
	(void)state;
	struct dnscache *c = mk(4, 4096, 300, 60);
	struct signet_txt recs[3] = {txt("v=DKIM1; p=AB\0CD", 16), txt("", 0), txt("x", 1)};
	assert_false(has(c, "s._domainkey.example.com", 0));
	assert_true(dnscache_put(c, "s._domainkey.example.com", SIGNET_DNS_OK, "ignored", recs, 3,
				 true, 100, 1000));
	static struct dnscache_answer a;
	assert_true(dnscache_get(c, "s._domainkey.example.com", 1000, &a));
	dnscache_free(c); /* the copy stays valid */
	assert_int_equal(a.status, SIGNET_DNS_OK);
	assert_true(a.secure);
	assert_int_equal(a.nrecords, 3);
	assert_int_equal(a.records[0].len, 16);
	assert_memory_equal(a.records[0].p, "v=DKIM1; p=AB\0CD", 16);
	assert_int_equal(a.records[1].len, 0);
	assert_int_equal(a.records[2].len, 1);
	assert_memory_equal(a.records[2].p, "x", 1);
	assert_string_equal(a.why, "");
	assert_non_null(a.keys); /* parsed, though no record is usable */
	signet_keyset_unref(a.keys);
}

/* Names match as exact bytes; other names miss. */
static void dnscache_names_exact(void **state)
{
	(void)state;
	struct dnscache *c = mk(8, 4096, 300, 60);
	assert_true(put_ok(c, "a._domainkey.example.com", "v=DKIM1; p=A", 60, 0));
	assert_true(has(c, "a._domainkey.example.com", 0));
	assert_false(has(c, "a._domainkey.example.co", 0));
	assert_false(has(c, "a._domainkey.example.com.", 0));
	assert_false(has(c, "b._domainkey.example.com", 0));
	dnscache_free(c);
}

/* Kept for the answer's TTL when under the limit: a hit at TTL - 1 ms, a
 * miss (and the entry gone) at TTL. */
static void dnscache_ttl_from_answer(void **state)
{
	(void)state;
	struct dnscache *c = mk(8, 4096, 300, 60);
	assert_true(put_ok(c, "n", "r", 10, 5000));
	assert_true(has(c, "n", 5000 + 9999));
	assert_false(has(c, "n", 5000 + 10000));
	assert_int_equal(dnscache_count(c), 0);
	assert_int_equal(dnscache_bytes(c), 0);
	assert_false(has(c, "n", 5000 + 9999)); /* dropped for good */
	dnscache_free(c);
}

/* A TTL over max_ttl is cut to max_ttl (limit - 1, limit, limit + 1). */
static void dnscache_ttl_capped(void **state)
{
	(void)state;
	struct dnscache *c = mk(8, 4096, 300, 60);
	static const uint32_t ttls[] = {299, 300, 301, 86400};
	static const uint64_t kept_ms[] = {299000, 300000, 300000, 300000};
	for (size_t k = 0; k < 4; k++) {
		assert_true(put_ok(c, "n", "r", ttls[k], 0));
		assert_true(has(c, "n", kept_ms[k] - 1));
		assert_false(has(c, "n", kept_ms[k]));
	}
	dnscache_free(c);
}

/* NXDOMAIN (and NODATA, reported as NXDOMAIN) is kept at most neg_ttl, with
 * its reason; TEMPFAIL and a TTL of 0 are never kept. */
static void dnscache_negative_and_tempfail(void **state)
{
	(void)state;
	struct dnscache *c = mk(8, 4096, 300, 60);
	assert_true(
		dnscache_put(c, "nx", SIGNET_DNS_NXDOMAIN, "NXDOMAIN", NULL, 0, false, 3600, 0));
	static struct dnscache_answer a;
	assert_true(dnscache_get(c, "nx", 59999, &a));
	assert_int_equal(a.status, SIGNET_DNS_NXDOMAIN);
	assert_int_equal(a.nrecords, 0);
	assert_null(a.keys); /* nothing to parse */
	assert_string_equal(a.why, "NXDOMAIN");
	assert_false(has(c, "nx", 60000));
	assert_true(dnscache_put(c, "nd", SIGNET_DNS_NXDOMAIN, "no TXT record (NODATA)", NULL, 0,
				 false, 5, 0));
	assert_true(dnscache_get(c, "nd", 4999, &a));
	assert_null(a.keys);
	assert_string_equal(a.why, "no TXT record (NODATA)");
	assert_false(has(c, "nd", 5000));
	assert_false(
		dnscache_put(c, "tf", SIGNET_DNS_TEMPFAIL, "SERVFAIL", NULL, 0, false, 300, 0));
	assert_false(has(c, "tf", 0));
	assert_false(put_ok(c, "z", "r", 0, 0));
	assert_false(has(c, "z", 0));
	struct signet_txt r = txt("r", 1);
	assert_false(dnscache_put(c, "none", SIGNET_DNS_OK, NULL, &r, 0, false, 300, 0));
	assert_int_equal(dnscache_count(c), 0);
	dnscache_free(c);
}

/* A new answer replaces the old one; one that is not kept (TEMPFAIL) drops
 * it, so a stale key is not served after the name changed. */
static void dnscache_replace(void **state)
{
	(void)state;
	struct dnscache *c = mk(8, 4096, 300, 60);
	assert_true(put_ok(c, "n", "old", 300, 0));
	assert_true(put_ok(c, "n", "new!", 300, 10));
	assert_int_equal(dnscache_count(c), 1);
	assert_int_equal(dnscache_bytes(c), 2 + 4);
	static struct dnscache_answer a;
	assert_true(dnscache_get(c, "n", 20, &a));
	assert_memory_equal(a.records[0].p, "new!", 4);
	signet_keyset_unref(a.keys);
	assert_false(dnscache_put(c, "n", SIGNET_DNS_TEMPFAIL, "timeout", NULL, 0, false, 300, 30));
	assert_false(has(c, "n", 30));
	assert_int_equal(dnscache_count(c), 0);
	dnscache_free(c);
}

/* Entry bound 3: a fourth name evicts the least recently used one (a get
 * counts as a use). */
static void dnscache_entry_limit_lru(void **state)
{
	(void)state;
	struct dnscache *c = mk(3, 4096, 300, 60);
	assert_true(put_ok(c, "a", "1", 300, 0));
	assert_true(put_ok(c, "b", "2", 300, 0));
	assert_true(put_ok(c, "c", "3", 300, 0)); /* limit - 1 -> limit */
	assert_int_equal(dnscache_count(c), 3);
	assert_true(has(c, "a", 1));              /* b is now the least recently used */
	assert_true(put_ok(c, "d", "4", 300, 2)); /* limit + 1 */
	assert_int_equal(dnscache_count(c), 3);
	assert_false(has(c, "b", 3));
	assert_true(has(c, "a", 3));
	assert_true(has(c, "c", 3));
	assert_true(has(c, "d", 3));
	dnscache_free(c);
}

/* Byte bound 20 (name + NUL + records): an entry of 19, 20 and 21 bytes
 * alone; a second entry evicts the first when both do not fit. */
static void dnscache_byte_limit(void **state)
{
	(void)state;
	struct dnscache *c = mk(8, 20, 300, 60);
	assert_true(put_ok(c, "n", "12345678901234567", 300, 0)); /* 2 + 17 = 19 */
	assert_int_equal(dnscache_bytes(c), 19);
	assert_true(put_ok(c, "n", "123456789012345678", 300, 0)); /* 20 */
	assert_int_equal(dnscache_bytes(c), 20);
	assert_false(put_ok(c, "n", "1234567890123456789", 300, 0)); /* 21 */
	assert_int_equal(dnscache_bytes(c), 0);
	assert_true(put_ok(c, "a", "123456789", 300, 0)); /* 11 */
	assert_true(put_ok(c, "b", "1234567", 300, 0));   /* 9: 20 in all */
	assert_int_equal(dnscache_count(c), 2);
	assert_true(put_ok(c, "c", "1", 300, 0)); /* 3 more: a goes */
	assert_false(has(c, "a", 0));
	assert_true(has(c, "b", 0));
	assert_true(has(c, "c", 0));
	assert_int_equal(dnscache_bytes(c), 12);
	assert_false(put_ok(c, "a-name-as-long-as-the-limit", "", 300, 0));
	dnscache_free(c);
}

/* Per answer: DNSCACHE_MAX_RECORDS records and DNSCACHE_MAX_DATA bytes at
 * most (limit, limit + 1). */
static void dnscache_answer_limits(void **state)
{
	(void)state;
	struct dnscache *c = mk(8, 1u << 20, 300, 60);
	static char big[DNSCACHE_MAX_DATA + 1];
	memset(big, 'k', sizeof big);
	struct signet_txt r = txt(big, DNSCACHE_MAX_DATA);
	assert_true(dnscache_put(c, "max", SIGNET_DNS_OK, NULL, &r, 1, false, 300, 0));
	static struct dnscache_answer a;
	assert_true(dnscache_get(c, "max", 0, &a));
	assert_int_equal(a.records[0].len, DNSCACHE_MAX_DATA);
	assert_memory_equal(a.records[0].p, big, DNSCACHE_MAX_DATA);
	signet_keyset_unref(a.keys);
	r.len = DNSCACHE_MAX_DATA + 1;
	assert_false(dnscache_put(c, "over", SIGNET_DNS_OK, NULL, &r, 1, false, 300, 0));
	struct signet_txt many[DNSCACHE_MAX_RECORDS + 1];
	for (size_t k = 0; k < DNSCACHE_MAX_RECORDS + 1; k++)
		many[k] = txt(big, k);
	assert_true(dnscache_put(c, "16", SIGNET_DNS_OK, NULL, many, DNSCACHE_MAX_RECORDS, false,
				 300, 0));
	assert_true(dnscache_get(c, "16", 0, &a));
	assert_int_equal(a.nrecords, DNSCACHE_MAX_RECORDS);
	for (size_t k = 0; k < DNSCACHE_MAX_RECORDS; k++)
		assert_int_equal(a.records[k].len, k);
	signet_keyset_unref(a.keys);
	assert_false(dnscache_put(c, "17", SIGNET_DNS_OK, NULL, many, DNSCACHE_MAX_RECORDS + 1,
				  false, 300, 0));
	dnscache_free(c);
}

/* Many names through a small cache: the bounds hold and every entry still
 * present answers with its own record. */
static void dnscache_churn(void **state)
{
	(void)state;
	struct dnscache *c = mk(16, 300, 300, 60);
	char name[32], rec[32];
	for (unsigned k = 0; k < 5000; k++) {
		snprintf(name, sizeof name, "s%u._domainkey.d%u", k % 97, k % 13);
		snprintf(rec, sizeof rec, "v=DKIM1; p=%u", k % 97 * 13 + k % 13);
		(void)put_ok(c, name, rec, 1 + k % 50, k);
		assert_true(dnscache_count(c) <= 16);
		assert_true(dnscache_bytes(c) <= 300);
		static struct dnscache_answer a;
		if (dnscache_get(c, name, k, &a)) {
			assert_int_equal(a.records[0].len, strlen(rec));
			assert_memory_equal(a.records[0].p, rec, strlen(rec));
			signet_keyset_unref(a.keys);
		}
	}
	dnscache_free(c);
}

static void dnscache_new_rejects_zero(void **state)
{
	(void)state;
	struct dnscache_limits zero_entries = {0, 100, 300, 60}, zero_bytes = {1, 0, 300, 60};
	assert_null(dnscache_new(&zero_entries));
	assert_null(dnscache_new(&zero_bytes));
	dnscache_free(NULL);
}

/* ---- the parsed records ---- */

#define KNAME "sel._domainkey.example.com"

struct signed_msg {
	struct signet_key *key;
	char record[1024]; /* its key record */
	char *msg;         /* a message it signed (d=example.com s=sel) */
};

static void signed_msg_make(struct signed_msg *m, enum signet_keytype type, const char *body)
{
	struct signet_error err = {0};
	size_t len;
	assert_int_equal(signet_key_generate(type, 1024, &m->key, &err), SIGNET_OK);
	assert_int_equal(signet_key_dns_record(m->key, m->record, sizeof m->record, &len, &err),
			 SIGNET_OK);
	struct signet_sign_params p = {.domain = "example.com",
				       .selector = "sel",
				       .key = m->key,
				       .hdr_canon = SIGNET_CANON_RELAXED,
				       .body_canon = SIGNET_CANON_RELAXED};
	char text[256];
	snprintf(text, sizeof text, "From: a@example.com\r\nSubject: s\r\n\r\n%s\r\n", body);
	m->msg = tu_sign(&p, 1, (const uint8_t *)text, strlen(text), &err);
	if (m->msg == NULL)
		fail_msg("sign: %s", err.msg);
}

static void signed_msg_free(struct signed_msg *m)
{
	signet_key_free(m->key);
	free(m->msg);
}

static bool put_record(struct dnscache *c, const char *rec, uint64_t now)
{
	return put_ok(c, KNAME, rec, 300, now);
}

/* A verifier past end of headers (its body not yet fed) whose one key query
 * got ks, as signetd's session does with a cache hit. */
static struct signet_verifier *started(const char *msg, struct signet_keyset *ks)
{
	struct signet_verifier *v = NULL;
	struct signet_error err = {0};
	struct signet_query q;
	const char *body = strstr(msg, "\r\n\r\n") + 4;
	static const struct signet_message_handler h = {tu_ver_header, tu_ver_eoh, tu_ver_body};
	assert_int_equal(signet_verifier_new(NULL, &v, &err), SIGNET_OK);
	assert_int_equal(tu_feed(&h, v, (const uint8_t *)msg, (size_t)(body - msg), 0, &err),
			 SIGNET_OK);
	assert_true(signet_verifier_next_query(v, &q));
	assert_string_equal(q.name, KNAME);
	assert_int_equal(signet_verifier_answer_key(v, q.id, ks, &err), SIGNET_OK);
	return v;
}

/* Feeds the rest of msg, finishes, frees; the one result. */
static enum signet_result finished(struct signet_verifier *v, const char *msg, char *reason,
				   size_t cap)
{
	struct signet_error err = {0};
	const char *body = strstr(msg, "\r\n\r\n") + 4;
	assert_int_equal(signet_verifier_body(v, (const uint8_t *)body, strlen(body), &err),
			 SIGNET_OK);
	assert_int_equal(signet_verifier_finish(v, &err), SIGNET_OK);
	assert_int_equal(signet_verifier_count(v), 1);
	const struct signet_sig_result *r = signet_verifier_result(v, 0);
	enum signet_result res = r->result;
	if (reason != NULL)
		snprintf(reason, cap, "%s", r->reason);
	signet_verifier_free(v);
	return res;
}

/* Every hit hands out the same parsed set (a reference each), which gives
 * the verifier the key: pass. The set is not counted in the byte bound.
 * An unusable record is parsed too, to the same reason as its bytes give. */
static void dnscache_parsed_hit_same_object(void **state)
{
	(void)state;
	struct signed_msg m;
	signed_msg_make(&m, SIGNET_KEY_RSA, "body");
	struct dnscache *c = mk(4, 4096, 300, 60);
	assert_true(put_record(c, m.record, 0));
	size_t bytes = dnscache_bytes(c);
	static struct dnscache_answer a1, a2;
	assert_true(dnscache_get(c, KNAME, 1, &a1));
	assert_true(dnscache_get(c, KNAME, 2, &a2));
	assert_non_null(a1.keys);
	assert_ptr_equal(a1.keys, a2.keys);
	assert_int_equal(dnscache_bytes(c), bytes);
	assert_int_equal(dnscache_count(c), 1);
	struct signet_verifier *v1 = started(m.msg, a1.keys), *v2 = started(m.msg, a2.keys);
	signet_keyset_unref(a1.keys);
	signet_keyset_unref(a2.keys);
	assert_int_equal(finished(v1, m.msg, NULL, 0), SIGNET_RESULT_PASS);
	assert_int_equal(finished(v2, m.msg, NULL, 0), SIGNET_RESULT_PASS);
	/* DKIM-KEY-05 from the cache: the same reason as from the bytes. */
	assert_true(put_record(c, "v=DKIM1; k=rsa; p=", 3));
	assert_true(dnscache_get(c, KNAME, 4, &a1));
	char reason[192], want[192];
	assert_int_equal(finished(started(m.msg, a1.keys), m.msg, reason, sizeof reason),
			 SIGNET_RESULT_PERMERROR);
	signet_keyset_unref(a1.keys);
	char keys[256];
	snprintf(keys, sizeof keys, "%s v=DKIM1; k=rsa; p=", KNAME);
	struct signet_verifier *v = tu_verify((const uint8_t *)m.msg, strlen(m.msg), keys);
	snprintf(want, sizeof want, "%s", signet_verifier_result(v, 0)->reason);
	signet_verifier_free(v);
	assert_string_equal(reason, want);
	assert_non_null(strstr(reason, "key revoked"));
	dnscache_free(c);
	signed_msg_free(&m);
}

/* The entry goes while messages still use its set (LRU eviction by the
 * entry bound and by the byte bound, expiry, replacement, a TEMPFAIL that
 * drops it, the cache freed): they finish with the key, and the set is
 * freed with the last of them. ASan reports a use after free or a leak. */
static void dnscache_parsed_evicted_while_referenced(void **state)
{
	(void)state;
	struct signed_msg m;
	signed_msg_make(&m, SIGNET_KEY_ED25519, "body");
	for (int how = 0; how < 6; how++) {
		struct dnscache *c = mk(2, how == 1 ? 2 * strlen(m.record) : 4096, 300, 60);
		assert_true(put_record(c, m.record, 0));
		static struct dnscache_answer a;
		assert_true(dnscache_get(c, KNAME, 1, &a));
		struct signet_verifier *v = started(m.msg, a.keys);
		signet_keyset_unref(a.keys); /* as dns.c does after the callback */
		switch (how) {
		case 0: /* entry bound 2: two more names evict it */
			assert_true(put_ok(c, "x", "1", 300, 2));
			assert_true(put_ok(c, "y", "2", 300, 3));
			break;
		case 1: /* byte bound: a record as large as ours pushes it out */
			assert_true(put_ok(c, "big", m.record, 300, 2));
			break;
		case 2: /* expired: dropped by the next get */
			assert_false(has(c, KNAME, 300000));
			break;
		case 3: assert_true(put_record(c, "v=DKIM1; k=ed25519; p=", 2)); break;
		case 4:
			assert_false(dnscache_put(c, KNAME, SIGNET_DNS_TEMPFAIL, "SERVFAIL", NULL,
						  0, false, 300, 2));
			break;
		default: dnscache_free(c); c = NULL;
		}
		if (c != NULL)
			assert_false(has(c, KNAME, 1) && how != 3);
		assert_int_equal(finished(v, m.msg, NULL, 0), SIGNET_RESULT_PASS);
		dnscache_free(c);
	}
	signed_msg_free(&m);
}

/* A changed record replaces the parsed set: a message in flight keeps the
 * old key, a new hit gets a new set with the new key. */
static void dnscache_parsed_replaced_record(void **state)
{
	(void)state;
	struct signed_msg old, new;
	signed_msg_make(&old, SIGNET_KEY_ED25519, "old");
	signed_msg_make(&new, SIGNET_KEY_ED25519, "new");
	struct dnscache *c = mk(4, 4096, 300, 60);
	assert_true(put_record(c, old.record, 0));
	static struct dnscache_answer a, b;
	assert_true(dnscache_get(c, KNAME, 1, &a));
	struct signet_verifier *in_flight = started(old.msg, a.keys);
	assert_true(put_record(c, new.record, 2));
	assert_true(dnscache_get(c, KNAME, 3, &b));
	assert_ptr_not_equal(a.keys, b.keys); /* both alive: distinct objects */
	assert_int_equal(finished(in_flight, old.msg, NULL, 0), SIGNET_RESULT_PASS);
	assert_int_equal(finished(started(new.msg, b.keys), new.msg, NULL, 0), SIGNET_RESULT_PASS);
	assert_int_equal(finished(started(new.msg, a.keys), new.msg, NULL, 0), SIGNET_RESULT_FAIL);
	signet_keyset_unref(a.keys);
	signet_keyset_unref(b.keys);
	dnscache_free(c);
	signed_msg_free(&old);
	signed_msg_free(&new);
}

/* DNS-STARVE-05 (issue #19): "never cache a local timeout as an answer for
 * longer than a short negative TTL". A timeout (SIGNET_DNS_TEMPFAIL, the
 * reason dns.c gives) is not kept at any TTL, so the next message asks
 * again; what a slow name finally answers, NXDOMAIN or NODATA, is kept
 * min(TTL, neg_ttl): TTL neg_ttl-1, neg_ttl and neg_ttl+1 expire at
 * neg_ttl-1, neg_ttl and neg_ttl seconds, to the millisecond. */
static void DNS_STARVE_05_timeout_never_kept_negative_ttl_bounded(void **state)
{
	(void)state;
	const uint32_t neg = 60;
	struct dnscache *c = mk(8, 4096, 300, neg);
	const uint32_t ttls[] = {0, 1, neg - 1, neg, neg + 1, 300, UINT32_MAX};
	for (size_t k = 0; k < sizeof ttls / sizeof ttls[0]; k++) {
		assert_false(dnscache_put(c, "slow", SIGNET_DNS_TEMPFAIL, "timeout after 5000 ms",
					  NULL, 0, false, ttls[k], 1000));
		assert_false(has(c, "slow", 1000));
		assert_int_equal(dnscache_count(c), 0);
	}
	const uint32_t nx_ttl[] = {neg - 1, neg, neg + 1};
	const uint64_t kept_ms[] = {(neg - 1) * 1000u, neg * 1000u, neg * 1000u};
	for (size_t k = 0; k < 3; k++) {
		assert_true(dnscache_put(c, "slow", SIGNET_DNS_NXDOMAIN, "NXDOMAIN", NULL, 0, false,
					 nx_ttl[k], 5000));
		assert_true(has(c, "slow", 5000 + kept_ms[k] - 1));
		assert_false(has(c, "slow", 5000 + kept_ms[k]));
	}
	assert_int_equal(dnscache_count(c), 0);
	dnscache_free(c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(dnscache_hit_copies_answer),
		cmocka_unit_test(dnscache_names_exact),
		cmocka_unit_test(dnscache_ttl_from_answer),
		cmocka_unit_test(dnscache_ttl_capped),
		cmocka_unit_test(dnscache_negative_and_tempfail),
		cmocka_unit_test(dnscache_replace),
		cmocka_unit_test(dnscache_entry_limit_lru),
		cmocka_unit_test(dnscache_byte_limit),
		cmocka_unit_test(dnscache_answer_limits),
		cmocka_unit_test(dnscache_churn),
		cmocka_unit_test(dnscache_new_rejects_zero),
		cmocka_unit_test(dnscache_parsed_hit_same_object),
		cmocka_unit_test(dnscache_parsed_evicted_while_referenced),
		cmocka_unit_test(dnscache_parsed_replaced_record),
		cmocka_unit_test(DNS_STARVE_05_timeout_never_kept_negative_ttl_bounded),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
