/* test_limits.c: every named bound on hostile input (doc/SECURITY.md
 * "What we bound"), at limit-1, at the limit and at limit+1, through the
 * verifier as the CLI and signetd use it, plus the DNS TXT RDATA joiner of
 * signetd. Over a limit the result is a permerror whose reason names the
 * limit, never an error of the call and never an unbounded allocation.
 * Parser-level limit tests stay with their modules (test_tags, test_sig,
 * test_keyrec, test_crypto); these check the whole path. */
#include "testutil.h"

#include "base64.h"
#include "dns.h"

/* Unsigned key query answers: NXDOMAIN for every name. */
#define NO_KEY "no key for signature (no TXT record at s._domainkey.example.com)"
/* The empty body's SHA-256 (relaxed: empty; simple: CRLF differs, we use relaxed). */
#define BH_EMPTY "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU="

struct field {
	const char *name;
	const uint8_t *value;
	size_t vlen;
};

static const char *sig_value(void)
{
	return " v=1; a=rsa-sha256; c=relaxed/relaxed; d=example.com; s=s; h=from; bh=" BH_EMPTY
	       "; b=AAAA";
}

/* Runs the verifier over fields (in order) and an empty body; every query
 * gets n records recs (NXDOMAIN when n is 0). Returns the finished verifier. */
static struct signet_verifier *run(const struct field *f, size_t nf, const struct signet_txt *recs,
				   size_t n)
{
	struct signet_verifier *v = NULL;
	struct signet_error err = {0};
	assert_int_equal(signet_verifier_new(NULL, &v, &err), SIGNET_OK);
	for (size_t k = 0; k < nf; k++)
		assert_int_equal(signet_verifier_header(v, (const uint8_t *)f[k].name,
							strlen(f[k].name), f[k].value, f[k].vlen,
							&err),
				 SIGNET_OK);
	assert_int_equal(signet_verifier_end_of_headers(v, &err), SIGNET_OK);
	struct signet_query q;
	while (signet_verifier_next_query(v, &q))
		assert_int_equal(signet_verifier_answer(v, q.id,
							n ? SIGNET_DNS_OK : SIGNET_DNS_NXDOMAIN,
							recs, n, &err),
				 SIGNET_OK);
	assert_int_equal(signet_verifier_finish(v, &err), SIGNET_OK);
	return v;
}

static struct field str_field(const char *name, const char *value)
{
	return (struct field){name, (const uint8_t *)value, strlen(value)};
}

static void expect_one(struct signet_verifier *v, enum signet_result res, const char *reason)
{
	assert_int_equal(signet_verifier_count(v), 1);
	const struct signet_sig_result *r = signet_verifier_result(v, 0);
	if (strcmp(r->reason, reason) != 0)
		fail_msg("reason \"%s\", want \"%s\"", r->reason, reason);
	assert_int_equal(r->result, res);
	signet_verifier_free(v);
}

/* A signature, From, and one field "X-Big" of total (name + value) size. */
static struct signet_verifier *with_field_of(size_t size)
{
	uint8_t *big = malloc(size);
	assert_non_null(big);
	memset(big, 'a', size);
	struct field f[3] = {str_field("DKIM-Signature", sig_value()),
			     str_field("From", " a@example.com"),
			     {"X-Big", big, size - strlen("X-Big")}};
	struct signet_verifier *v = run(f, 3, NULL, 0);
	free(big);
	return v;
}

static void LIMIT_header_field_size(void **state)
{
	/* SIGNET_MAX_HEADER_FIELD (65536): one field, name + value. */
	(void)state;
	expect_one(with_field_of(SIGNET_MAX_HEADER_FIELD - 1), SIGNET_RESULT_PERMERROR, NO_KEY);
	expect_one(with_field_of(SIGNET_MAX_HEADER_FIELD), SIGNET_RESULT_PERMERROR, NO_KEY);
	expect_one(with_field_of(SIGNET_MAX_HEADER_FIELD + 1), SIGNET_RESULT_PERMERROR,
		   "message exceeds a header limit: header field of 65537 bytes (limit 65536)");
}

static struct signet_verifier *with_fields(size_t total)
{
	struct field *f = calloc(total, sizeof *f);
	assert_non_null(f);
	f[0] = str_field("DKIM-Signature", sig_value());
	f[1] = str_field("From", " a@example.com");
	for (size_t k = 2; k < total; k++)
		f[k] = str_field("Received", " x");
	struct signet_verifier *v = run(f, total, NULL, 0);
	free(f);
	return v;
}

static void LIMIT_header_field_count(void **state)
{
	/* SIGNET_MAX_HEADER_FIELDS (1000) fields kept per message. */
	(void)state;
	expect_one(with_fields(SIGNET_MAX_HEADER_FIELDS - 1), SIGNET_RESULT_PERMERROR, NO_KEY);
	expect_one(with_fields(SIGNET_MAX_HEADER_FIELDS), SIGNET_RESULT_PERMERROR, NO_KEY);
	expect_one(with_fields(SIGNET_MAX_HEADER_FIELDS + 1), SIGNET_RESULT_PERMERROR,
		   "message exceeds a header limit: more than 1000 header fields (limit 1000)");
}

/* Fields whose names and values add up to total bytes. */
static struct signet_verifier *with_header_bytes(size_t total)
{
	struct field f[40];
	size_t nf = 0, used = 0;
	f[nf++] = str_field("DKIM-Signature", sig_value());
	f[nf++] = str_field("From", " a@example.com");
	for (size_t k = 0; k < nf; k++)
		used += strlen(f[k].name) + f[k].vlen;
	uint8_t *fill = malloc(SIGNET_MAX_HEADER_FIELD);
	assert_non_null(fill);
	memset(fill, 'b', SIGNET_MAX_HEADER_FIELD);
	while (used < total) {
		size_t chunk = total - used < SIGNET_MAX_HEADER_FIELD ? total - used
								      : SIGNET_MAX_HEADER_FIELD;
		assert_true(chunk > 1 && nf < 40);
		f[nf++] = (struct field){"X", fill, chunk - 1};
		used += chunk;
	}
	assert_int_equal(used, total);
	struct signet_verifier *v = run(f, nf, NULL, 0);
	free(fill);
	return v;
}

static void LIMIT_header_bytes(void **state)
{
	/* SIGNET_MAX_HEADER_BYTES (1 MiB): all names and values together. */
	(void)state;
	expect_one(with_header_bytes(SIGNET_MAX_HEADER_BYTES - 1), SIGNET_RESULT_PERMERROR, NO_KEY);
	expect_one(with_header_bytes(SIGNET_MAX_HEADER_BYTES), SIGNET_RESULT_PERMERROR, NO_KEY);
	expect_one(
		with_header_bytes(SIGNET_MAX_HEADER_BYTES + 1), SIGNET_RESULT_PERMERROR,
		"message exceeds a header limit: header block over 1048576 bytes (limit 1048576)");
}

static void with_signatures(size_t n, size_t want_count, size_t want_unchecked)
{
	struct field f[SIGNET_MAX_SIGNATURES + 3];
	for (size_t k = 0; k < n; k++)
		f[k] = str_field("DKIM-Signature", sig_value());
	f[n] = str_field("From", " a@example.com");
	struct signet_verifier *v = run(f, n + 1, NULL, 0);
	assert_int_equal(signet_verifier_count(v), want_count);
	assert_int_equal(signet_verifier_unchecked(v), want_unchecked);
	for (size_t k = 0; k < want_count; k++)
		assert_string_equal(signet_verifier_result(v, k)->reason, NO_KEY);
	signet_verifier_free(v);
}

static void DKIM_VER_04_signatures_verified(void **state)
{
	/* DKIM-VER-04 "Bound the work: at most 16 signatures verified, the rest
	 * reported "not checked"" (SIGNET_MAX_SIGNATURES): 15, 16, 17. */
	(void)state;
	with_signatures(SIGNET_MAX_SIGNATURES - 1, SIGNET_MAX_SIGNATURES - 1, 0);
	with_signatures(SIGNET_MAX_SIGNATURES, SIGNET_MAX_SIGNATURES, 0);
	with_signatures(SIGNET_MAX_SIGNATURES + 1, SIGNET_MAX_SIGNATURES, 1);
}

static struct signet_verifier *with_h_names(size_t n)
{
	static char value[8192];
	int w = snprintf(value, sizeof value,
			 " v=1; a=rsa-sha256; c=relaxed/relaxed; d=example.com; s=s; bh=" BH_EMPTY
			 "; b=AAAA; h=from");
	for (size_t k = 1; k < n; k++)
		w += snprintf(value + w, sizeof value - (size_t)w, ":x%zu", k);
	struct field f[2] = {str_field("DKIM-Signature", value),
			     str_field("From", " a@example.com")};
	return run(f, 2, NULL, 0);
}

static void LIMIT_h_names(void **state)
{
	/* SIGNET_MAX_H_NAMES (128) field names in h=. */
	(void)state;
	expect_one(with_h_names(SIGNET_MAX_H_NAMES - 1), SIGNET_RESULT_PERMERROR, NO_KEY);
	expect_one(with_h_names(SIGNET_MAX_H_NAMES), SIGNET_RESULT_PERMERROR, NO_KEY);
	expect_one(with_h_names(SIGNET_MAX_H_NAMES + 1), SIGNET_RESULT_PERMERROR,
		   "h= lists more than SIGNET_MAX_H_NAMES (128) names");
}

/* The signature's 8 tags plus extra unknown ones up to n tags. */
static struct signet_verifier *with_sig_tags(size_t n)
{
	static char value[4096];
	int w = snprintf(value, sizeof value, "%s", sig_value());
	for (size_t k = 8; k < n; k++)
		w += snprintf(value + w, sizeof value - (size_t)w, "; x%zu=", k);
	struct field f[2] = {str_field("DKIM-Signature", value),
			     str_field("From", " a@example.com")};
	return run(f, 2, NULL, 0);
}

static void LIMIT_sig_tags(void **state)
{
	/* SIGNET_MAX_TAGS (64) tags in a DKIM-Signature. */
	(void)state;
	expect_one(with_sig_tags(SIGNET_MAX_TAGS - 1), SIGNET_RESULT_PERMERROR, NO_KEY);
	expect_one(with_sig_tags(SIGNET_MAX_TAGS), SIGNET_RESULT_PERMERROR, NO_KEY);
	expect_one(with_sig_tags(SIGNET_MAX_TAGS + 1), SIGNET_RESULT_PERMERROR,
		   "more than SIGNET_MAX_TAGS (64) tags");
}

/* The RFC 8463 ed25519 key; the signature below is not made with it. */
#define ED_RECORD "v=DKIM1; k=ed25519; p=11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo="
#define ED_SIG                                                                                     \
	" v=1; a=ed25519-sha256; c=relaxed/relaxed; d=example.com; s=s; h=from; bh=" BH_EMPTY "; " \
	"b=/"                                                                                      \
	"gCrinpcQOoIfuHNQIbq4pgh9kyIK3AQUdt9OdqQehSwhEIug4D11BusFa3bT3FY5OsU7ZbnKELq+eXdp1Q1Dw=="

static struct signet_verifier *with_record(const char *sig, const uint8_t *rec, size_t len)
{
	struct field f[2] = {str_field("DKIM-Signature", sig), str_field("From", " a@example.com")};
	struct signet_txt txt = {rec, len};
	return run(f, 2, &txt, 1);
}

/* ED_RECORD padded with an unknown tag (ignored, DKIM-KEY-10) to size bytes. */
static struct signet_verifier *with_record_of(size_t size)
{
	uint8_t *rec = malloc(size);
	assert_non_null(rec);
	size_t n = strlen(ED_RECORD "; n=");
	memcpy(rec, ED_RECORD "; n=", n);
	memset(rec + n, 'n', size - n);
	struct signet_verifier *v = with_record(ED_SIG, rec, size);
	free(rec);
	return v;
}

static void LIMIT_key_record_size(void **state)
{
	/* DKIM-KEY-16 "bound the TXT size we accept (e.g. 4 KiB)":
	 * SIGNET_MAX_KEY_RECORD (4096) bytes of one joined TXT record. */
	(void)state;
	expect_one(with_record_of(SIGNET_MAX_KEY_RECORD - 1), SIGNET_RESULT_FAIL,
		   "signature did not verify");
	expect_one(with_record_of(SIGNET_MAX_KEY_RECORD), SIGNET_RESULT_FAIL,
		   "signature did not verify");
	expect_one(with_record_of(SIGNET_MAX_KEY_RECORD + 1), SIGNET_RESULT_PERMERROR,
		   "key record at s._domainkey.example.com unusable: "
		   "key record too large (4097 bytes, SIGNET_MAX_KEY_RECORD is 4096)");
}

static struct signet_verifier *with_key_tags(size_t n)
{
	char rec[2048];
	int w = snprintf(rec, sizeof rec, "%s", ED_RECORD); /* 3 tags */
	for (size_t k = 3; k < n; k++)
		w += snprintf(rec + w, sizeof rec - (size_t)w, "; x%zu=", k);
	return with_record(ED_SIG, (const uint8_t *)rec, (size_t)w);
}

static void LIMIT_key_record_tags(void **state)
{
	/* SIGNET_MAX_TAGS (64) tags in a key record. */
	(void)state;
	expect_one(with_key_tags(SIGNET_MAX_TAGS - 1), SIGNET_RESULT_FAIL,
		   "signature did not verify");
	expect_one(with_key_tags(SIGNET_MAX_TAGS), SIGNET_RESULT_FAIL, "signature did not verify");
	expect_one(with_key_tags(SIGNET_MAX_TAGS + 1), SIGNET_RESULT_PERMERROR,
		   "key record at s._domainkey.example.com unusable: "
		   "more than SIGNET_MAX_TAGS (64) tags");
}

/* DER length octets, minimal form (the key reader is strict DER). */
static size_t der_len(uint8_t *out, size_t len)
{
	if (len < 0x80) {
		out[0] = (uint8_t)len;
		return 1;
	}
	if (len < 0x100) {
		out[0] = 0x81;
		out[1] = (uint8_t)len;
		return 2;
	}
	out[0] = 0x82;
	out[1] = (uint8_t)(len >> 8);
	out[2] = (uint8_t)len;
	return 3;
}

/* A PKCS#1 RSAPublicKey (DKIM-KEY-04 accepts it bare) with an odd modulus
 * of exactly bits bits and e = 65537, as a key record. */
static char *rsa_record(unsigned bits)
{
	size_t nbytes = (bits + 7) / 8;
	uint8_t n[1 + SIGNET_MAX_RSA_BITS / 8 + 1];
	n[0] = 0; /* INTEGER sign octet */
	memset(n + 1, 0xA5, nbytes);
	unsigned top = bits - 8 * (unsigned)(nbytes - 1); /* bits in the first octet, 1..8 */
	n[1] = (uint8_t)(1u << (top - 1));
	n[nbytes] |= 1;
	bool sign = (n[1] & 0x80) != 0;
	const uint8_t *np = sign ? n : n + 1;
	size_t nlen = sign ? nbytes + 1 : nbytes;
	uint8_t der[1024], inner[1024];
	size_t w = 0;
	inner[w++] = 0x02;
	w += der_len(inner + w, nlen);
	memcpy(inner + w, np, nlen);
	w += nlen;
	memcpy(inner + w, "\x02\x03\x01\x00\x01", 5);
	w += 5;
	size_t d = 0;
	der[d++] = 0x30;
	d += der_len(der + d, w);
	memcpy(der + d, inner, w);
	d += w;
	char *rec = malloc(2048);
	assert_non_null(rec);
	int p = snprintf(rec, 2048, "v=DKIM1; k=rsa; p=");
	assert_int_equal(base64_encode_str(der, d, rec + p, 2048 - (size_t)p), SIGNET_OK);
	return rec;
}

static void expect_rsa_bits(unsigned bits, enum signet_result res, const char *reason)
{
	char *rec = rsa_record(bits);
	expect_one(with_record(sig_value(), (const uint8_t *)rec, strlen(rec)), res, reason);
	free(rec);
}

static void DKIM_KEY_14_rsa_bits(void **state)
{
	/* DKIM-KEY-14 "Key sizes: RSA < 1024 bits → permerror "key too small";
	 * 1024–4096 must verify; > 4096 we refuse (permerror, cost bound)."
	 * Checked before any crypto; inside the range the (made-up) key is
	 * used and the signature fails. */
	(void)state;
	expect_rsa_bits(1023, SIGNET_RESULT_PERMERROR,
			"key record at s._domainkey.example.com unusable: "
			"key too small (1023 bits, RFC 8301 requires 1024)");
	expect_rsa_bits(1024, SIGNET_RESULT_FAIL, "signature did not verify");
	expect_rsa_bits(1025, SIGNET_RESULT_FAIL, "signature did not verify");
	expect_rsa_bits(4095, SIGNET_RESULT_FAIL, "signature did not verify");
	expect_rsa_bits(4096, SIGNET_RESULT_FAIL, "signature did not verify");
	expect_rsa_bits(4097, SIGNET_RESULT_PERMERROR,
			"key record at s._domainkey.example.com unusable: "
			"key too large (4097 bits, limit 4096)");
}

/* ---- DNS answers: signetd's TXT RDATA joiner (daemon/dns.c) ---- */

static void join_is(const char *rdata, size_t rdlen, size_t cap, bool ok, const char *want,
		    size_t wlen)
{
	unsigned char out[600];
	size_t len = 12345;
	assert_true(cap <= sizeof out);
	assert_int_equal(dns_txt_rdata_join((const unsigned char *)rdata, rdlen, out, cap, &len),
			 ok);
	if (ok) {
		assert_int_equal(len, wlen);
		assert_memory_equal(out, want, wlen);
	} else {
		assert_int_equal(len, 12345); /* untouched on failure */
	}
}

static void DKIM_KEY_01_txt_strings_joined(void **state)
{
	/* DKIM-KEY-01 "a TXT RR made of several character-strings is joined
	 * with no separator (3.6.2.1, 3.6.2.2)"; NUL bytes are data. */
	(void)state;
	join_is("", 0, 16, true, "", 0);
	join_is("\x03"
		"abc",
		4, 16, true, "abc", 3);
	join_is("\x02"
		"ab"
		"\x01"
		"c",
		5, 16, true, "abc", 3);
	join_is("\x00\x00", 2, 16, true, "", 0);
	join_is("\x03"
		"a\0c"
		"\x01"
		"d",
		6, 16, true, "a\0cd", 4);
}

static void LIMIT_dns_rdata_malformed(void **state)
{
	/* Malformed RDATA: a length running past the end, by one byte and by
	 * many, in the first and in a later string; never a read past rdlen. */
	(void)state;
	join_is("\x03"
		"ab",
		3, 16, false, NULL, 0);
	join_is("\x03"
		"abc",
		4, 16, true, "abc", 3);
	join_is("\xff"
		"a",
		2, 600, false, NULL, 0);
	join_is("\x01"
		"a"
		"\x02"
		"b",
		4, 16, false, NULL, 0);
	join_is("\x01"
		"a"
		"\x01",
		3, 16, false, NULL, 0);
	/* Exact-size copy: ASan catches one byte too far. */
	unsigned char *p = malloc(2);
	memcpy(p,
	       "\x01"
	       "a",
	       2);
	unsigned char out[4];
	size_t len = 0;
	assert_true(dns_txt_rdata_join(p, 2, out, sizeof out, &len));
	assert_int_equal(len, 1);
	assert_false(dns_txt_rdata_join(p, 1, out, sizeof out, &len));
	free(p);
}

static void LIMIT_dns_rdata_cap(void **state)
{
	/* The output cap: a joined length of cap-1 and cap fits, cap+1 is refused. */
	(void)state;
	join_is("\x02"
		"ab"
		"\x02"
		"cd",
		6, 5, true, "abcd", 4);
	join_is("\x02"
		"ab"
		"\x02"
		"cd",
		6, 4, true, "abcd", 4);
	join_is("\x02"
		"ab"
		"\x02"
		"cd",
		6, 3, false, NULL, 0);
}

static void LIMIT_dns_answer_size(void **state)
{
	/* The largest TXT RR (RDLENGTH 65535: 255 strings of 255 bytes and one
	 * of 254) joins to 65279 bytes; the verifier refuses it as a key record
	 * over SIGNET_MAX_KEY_RECORD with that reason, without decoding it. */
	(void)state;
	size_t rdlen = 65535;
	unsigned char *rdata = malloc(rdlen), *out = malloc(rdlen);
	assert_non_null(rdata);
	assert_non_null(out);
	size_t off = 0, joined = 0;
	while (off < rdlen) {
		size_t sl = rdlen - off - 1 < 255 ? rdlen - off - 1 : 255;
		rdata[off++] = (unsigned char)sl;
		memset(rdata + off, 'p', sl);
		off += sl;
		joined += sl;
	}
	assert_int_equal(joined, 65279);
	size_t len = 0;
	assert_true(dns_txt_rdata_join(rdata, rdlen, out, rdlen, &len));
	assert_int_equal(len, joined);
	expect_one(with_record(sig_value(), out, len), SIGNET_RESULT_PERMERROR,
		   "key record at s._domainkey.example.com unusable: "
		   "key record too large (65279 bytes, SIGNET_MAX_KEY_RECORD is 4096)");
	free(rdata);
	free(out);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(LIMIT_header_field_size),
		cmocka_unit_test(LIMIT_header_field_count),
		cmocka_unit_test(LIMIT_header_bytes),
		cmocka_unit_test(DKIM_VER_04_signatures_verified),
		cmocka_unit_test(LIMIT_h_names),
		cmocka_unit_test(LIMIT_sig_tags),
		cmocka_unit_test(LIMIT_key_record_size),
		cmocka_unit_test(LIMIT_key_record_tags),
		cmocka_unit_test(DKIM_KEY_14_rsa_bits),
		cmocka_unit_test(DKIM_KEY_01_txt_strings_joined),
		cmocka_unit_test(LIMIT_dns_rdata_malformed),
		cmocka_unit_test(LIMIT_dns_rdata_cap),
		cmocka_unit_test(LIMIT_dns_answer_size),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
