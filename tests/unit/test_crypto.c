/* test_crypto.c: lib/crypto.c: SHA-256, private keys (parse, generate,
 * write, DNS record), public keys from key records (size, exponent, DER
 * shape checks) and the two signature schemes, checked against the RFC 8463
 * A.3 signatures and keys (known answers from outside our code). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <cmocka.h>

#include "base64.h"
#include "crypto.h"

#ifndef SIGNET_TESTDATA
#define SIGNET_TESTDATA "../shared/testdata"
#endif

static bool testdata_present(void)
{
	struct stat st;
	return stat(SIGNET_TESTDATA, &st) == 0 && S_ISDIR(st.st_mode);
}

#define REQUIRE_TESTDATA()                                                                         \
	do {                                                                                       \
		if (!testdata_present()) {                                                         \
			print_message("SKIP: %s absent (public vectors not available)\n",          \
				      SIGNET_TESTDATA);                                            \
			skip();                                                                    \
		}                                                                                  \
	} while (0)

static uint8_t *read_testdata(const char *rel, size_t *len)
{
	char path[1024];
	snprintf(path, sizeof path, "%s/%s", SIGNET_TESTDATA, rel);
	FILE *f = fopen(path, "rb");
	if (f == NULL)
		fail_msg("cannot open %s", path);
	assert_int_equal(fseek(f, 0, SEEK_END), 0);
	long n = ftell(f);
	assert_true(n >= 0);
	assert_int_equal(fseek(f, 0, SEEK_SET), 0);
	uint8_t *p = malloc((size_t)n + 1);
	assert_non_null(p);
	assert_int_equal(fread(p, 1, (size_t)n, f), (size_t)n);
	p[n] = '\0';
	fclose(f);
	*len = (size_t)n;
	return p;
}

static struct signet_key *key_from_testdata(const char *rel)
{
	size_t len;
	uint8_t *data = read_testdata(rel, &len);
	struct signet_key *key = NULL;
	struct signet_error err = {0};
	if (signet_key_parse(data, len, &key, &err) != SIGNET_OK)
		fail_msg("%s: %s", rel, err.msg);
	free(data);
	return key;
}

static struct signet_key *key_from_str(const char *s, struct signet_error *err,
				       enum signet_status want)
{
	struct signet_key *key = NULL;
	assert_int_equal(signet_key_parse((const uint8_t *)s, strlen(s), &key, err), want);
	return key;
}

static size_t b64(const char *s, uint8_t *out, size_t cap)
{
	size_t n = 0;
	struct signet_error err = {0};
	assert_int_equal(base64_decode(span_from_str(s), out, cap, &n, &err), SIGNET_OK);
	return n;
}

static void sha256_str(const char *s, uint8_t out[SIGNET_SHA256_LEN])
{
	struct hash *h = NULL;
	assert_int_equal(crypto_hash_new(&h), SIGNET_OK);
	assert_int_equal(crypto_hash_update(h, s, strlen(s)), SIGNET_OK);
	assert_int_equal(crypto_hash_final(h, out), SIGNET_OK);
	crypto_hash_free(h);
}

static void hex(const uint8_t *p, size_t n, char *out)
{
	for (size_t k = 0; k < n; k++)
		snprintf(out + 2 * k, 3, "%02x", p[k]);
}

/* ---- RFC 8463 Appendix A.3 ------------------------------------------------
 * The header hash input of signed.eml (relaxed header canonicalization of
 * from, to, subject, date, message-id and the DKIM-Signature with b= empty;
 * the oversigned second from/subject/date add nothing), written out by hand.
 * Both signatures are deterministic, so signing this input with the A.1 keys
 * must give the b= values printed in the RFC. */
#define A3_FIELDS                                                                                  \
	"from:Joe SixPack <joe@football.example.com>\r\n"                                          \
	"to:Suzie Q <suzie@shopping.example.net>\r\n"                                              \
	"subject:Is dinner ready?\r\n"                                                             \
	"date:Fri, 11 Jul 2003 21:00:37 -0700 (PDT)\r\n"                                           \
	"message-id:<20030712040037.46341.5F8J@football.example.com>\r\n"
#define A3_SIG(a, s)                                                                               \
	"dkim-signature:v=1; a=" a "; c=relaxed/relaxed; d=football.example.com; "                 \
	"i=@football.example.com; q=dns/txt; s=" s "; t=1528637909; h=from : to : subject : "      \
	"date : message-id : from : subject : date; "                                              \
	"bh=2jUSOH9NhtVGCQWNr9BrIAPreKQjO6Sn7XIkfJVOzv8=; b="

static const char a3_rsa_input[] = A3_FIELDS A3_SIG("rsa-sha256", "test");
static const char a3_ed_input[] = A3_FIELDS A3_SIG("ed25519-sha256", "brisbane");
static const char a3_rsa_b[] =
	"F45dVWDfMbQDGHJFlXUNB2HKfbCeLRyhDXgFpEL8GwpsRe0IeIixNTe3DhCVlUrSjV4BwcVcOF6+"
	"FF3Zo9Rpo1tFOeS9"
	"mPYQTnGdaSGsgeefOsk2JzdA+L10TeYt9BgDfQNZtKdN1WO//KgIqXP7OdEFE4LjFYNcUxZQ4FADY+8=";
static const char a3_ed_b[] =
	"/gCrinpcQOoIfuHNQIbq4pgh9kyIK3AQUdt9OdqQehSwhEIug4D11BusFa3bT3FY5OsU7ZbnKELq+eXdp1Q1Dw==";
/* RFC 8463 A.2 key records (p= values). */
static const char a2_rsa_p[] = "MIGfMA0GCSqGSIb3DQEBAQUAA4GNADCBiQKBgQDkHlOQoBTzWRiGs5V6NpP3idY6Wk0"
			       "8a5qhdR6wy5bdOKb2jLQiY/J1"
			       "6JYi0Qvx/byYzCNb3W91y3FutACDfzwQ/BC/e/"
			       "8uBsCR+yz1Lxj+PL6lHvqMKrM3rG4hstT5QjvHO9PzoxZyVYLzBfO2"
			       "EeC3Ip3G+2kryOTIKT+l/K4w3QIDAQAB";
static const char a2_ed_p[] = "11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=";
/* The same RSA key as bare PKCS#1 RSAPublicKey (openssl rsa -RSAPublicKey_out). */
static const char a2_rsa_pkcs1[] = "MIGJAoGBAOQeU5CgFPNZGIazlXo2k/"
				   "eJ1jpaTTxrmqF1HrDLlt04pvaMtCJj8nXoliLRC/H9vJjMI1vdb3XLcW60AIN/"
				   "PBD8EL97/y4GwJH7LPUvGP48vqUe+owqszesbiGy1PlCO8c70/"
				   "OjFnJVgvMF87YR4Lcincb7aSvI5MgpP6X8rjDdAgMB"
				   "AAE=";

static struct pubkey *pub_from_b64(enum signet_keytype t, const char *s)
{
	uint8_t der[SIGNET_MAX_KEY_RECORD];
	size_t n = b64(s, der, sizeof der);
	struct pubkey *k = NULL;
	unsigned bits = 0;
	struct signet_error err = {0};
	if (crypto_pubkey_parse(t, der, n, &k, &bits, &err) != SIGNET_OK)
		fail_msg("pubkey_parse: %s", err.msg);
	return k;
}

static void expect_verify(const struct pubkey *k, const uint8_t *digest, const uint8_t *sig,
			  size_t siglen, bool want)
{
	bool ok = !want;
	struct signet_error err = {0};
	assert_int_equal(crypto_pubkey_verify(k, digest, sig, siglen, &ok, &err), SIGNET_OK);
	assert_int_equal(ok, want);
}

/* Streaming SHA-256: FIPS 180-2 "abc", in any split, cloned and reset. */
static void sha256_streaming_known_answer(void **state)
{
	(void)state;
	static const char abc_hex[] =
		"ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";
	uint8_t d[SIGNET_SHA256_LEN];
	char x[2 * SIGNET_SHA256_LEN + 1];
	struct hash *h = NULL, *c = NULL;
	assert_int_equal(crypto_hash_new(&h), SIGNET_OK);
	assert_int_equal(crypto_hash_update(h, "a", 1), SIGNET_OK);
	assert_int_equal(crypto_hash_update(h, "", 0), SIGNET_OK);
	assert_int_equal(crypto_hash_clone(h, &c), SIGNET_OK);
	assert_int_equal(crypto_hash_update(h, "bc", 2), SIGNET_OK);
	assert_int_equal(crypto_hash_final(h, d), SIGNET_OK);
	hex(d, sizeof d, x);
	assert_string_equal(x, abc_hex);
	/* the clone carries the state "a" on its own */
	assert_int_equal(crypto_hash_update(c, "b", 1), SIGNET_OK);
	assert_int_equal(crypto_hash_update(c, "c", 1), SIGNET_OK);
	assert_int_equal(crypto_hash_final(c, d), SIGNET_OK);
	hex(d, sizeof d, x);
	assert_string_equal(x, abc_hex);
	/* reset starts over */
	assert_int_equal(crypto_hash_reset(h), SIGNET_OK);
	assert_int_equal(crypto_hash_update(h, "abc", 3), SIGNET_OK);
	assert_int_equal(crypto_hash_final(h, d), SIGNET_OK);
	hex(d, sizeof d, x);
	assert_string_equal(x, abc_hex);
	crypto_hash_free(h);
	crypto_hash_free(c);
	crypto_hash_free(NULL);
}

/* DKIM-ALG-01 "rsa-sha256 = RSASSA-PKCS1-v1_5 with SHA-256 (3.3.1, 3.3.2)."
 * Known answer: RFC 8463 A.3's rsa-sha256 b= from the A.1 key (PKCS#1 PEM),
 * verified with the A.2 published key. */
static void DKIM_ALG_01_rsa_sha256_rfc8463_known_answer(void **state)
{
	(void)state;
	REQUIRE_TESTDATA();
	uint8_t d[SIGNET_SHA256_LEN], sig[SIGNET_MAX_SIG_LEN], want[SIGNET_MAX_SIG_LEN];
	char x[2 * SIGNET_SHA256_LEN + 1];
	sha256_str(a3_rsa_input, d);
	hex(d, sizeof d, x);
	assert_string_equal(x, "fed71e6d70fb123bb5c353adc42821b304b6b9d54fc867f304f7c61daaaa1111");

	struct signet_key *key = key_from_testdata("rfc8463/rsa.key");
	assert_int_equal(signet_key_type(key), SIGNET_KEY_RSA);
	assert_int_equal(signet_key_bits(key), 1024);
	assert_int_equal(signet_key_alg(key), SIGNET_ALG_RSA_SHA256);
	size_t siglen = 0;
	struct signet_error err = {0};
	assert_int_equal(crypto_key_sign(key, d, sig, sizeof sig, &siglen, &err), SIGNET_OK);
	size_t wantlen = b64(a3_rsa_b, want, sizeof want);
	assert_int_equal(siglen, 128);
	assert_memory_equal(sig, want, wantlen);

	struct pubkey *pub = pub_from_b64(SIGNET_KEY_RSA, a2_rsa_p);
	assert_true(crypto_pubkey_matches(pub, key));
	expect_verify(pub, d, want, wantlen, true);
	want[17] ^= 0x01;
	expect_verify(pub, d, want, wantlen, false);
	want[17] ^= 0x01;
	d[0] ^= 0x80;
	expect_verify(pub, d, want, wantlen, false);
	d[0] ^= 0x80;
	/* wrong-length signatures are a bad signature, not an error */
	expect_verify(pub, d, want, wantlen - 1, false);
	expect_verify(pub, d, want, 0, false);
	uint8_t longer[SIGNET_MAX_SIG_LEN + 1] = {0};
	memcpy(longer, want, wantlen);
	expect_verify(pub, d, longer, wantlen + 1, false);
	/* the buffer for the signature: limit-1 refused, limit fits */
	assert_int_equal(crypto_key_sign(key, d, sig, 127, &siglen, &err), SIGNET_ERR_LIMIT);
	assert_int_equal(crypto_key_sign(key, d, sig, 128, &siglen, &err), SIGNET_OK);
	assert_memory_equal(sig, want, 128);
	crypto_pubkey_free(pub);
	signet_key_free(key);
}

/* DKIM-SIGN-05 "compute the SHA-256 of the header hash input, then sign those
 * 32 bytes with pure Ed25519 (RFC 8032), not Ed25519ph and not the raw input
 * (RFC 8463 3)." The A.1 key is RFC 8032 7.1 test 1; dkimpy stores it as a
 * bare base64 seed, RFC 8463 as PKCS#8 PEM: both must give A.3's b=. */
static void DKIM_SIGN_05_ed25519_rfc8463_known_answer(void **state)
{
	(void)state;
	REQUIRE_TESTDATA();
	uint8_t d[SIGNET_SHA256_LEN], sig[SIGNET_MAX_SIG_LEN], want[SIGNET_MAX_SIG_LEN];
	char x[2 * SIGNET_SHA256_LEN + 1], pub64[64];
	sha256_str(a3_ed_input, d);
	hex(d, sizeof d, x);
	assert_string_equal(x, "48ce9a2c710ece1710ff156996b836a7f45470e43efe5643074d6e1690ed62e7");
	size_t wantlen = b64(a3_ed_b, want, sizeof want);
	assert_int_equal(wantlen, 64);
	struct pubkey *pub = pub_from_b64(SIGNET_KEY_ED25519, a2_ed_p);

	static const char *const files[] = {"dkimpy/rfc8032_7_1.key", "rfc8463/ed25519.key"};
	for (size_t f = 0; f < 2; f++) {
		struct signet_key *key = key_from_testdata(files[f]);
		struct signet_error err = {0};
		size_t siglen = 0, n = 0;
		assert_int_equal(signet_key_type(key), SIGNET_KEY_ED25519);
		assert_int_equal(signet_key_bits(key), 256);
		assert_int_equal(signet_key_alg(key), SIGNET_ALG_ED25519_SHA256);
		assert_int_equal(signet_key_public_base64(key, pub64, sizeof pub64, &n, &err),
				 SIGNET_OK);
		assert_string_equal(pub64, a2_ed_p);
		assert_int_equal(n, 44);
		assert_int_equal(crypto_key_sign(key, d, sig, 63, &siglen, &err), SIGNET_ERR_LIMIT);
		assert_int_equal(crypto_key_sign(key, d, sig, 64, &siglen, &err), SIGNET_OK);
		assert_int_equal(siglen, 64);
		assert_memory_equal(sig, want, 64);
		assert_true(crypto_pubkey_matches(pub, key));
		signet_key_free(key);
	}
	expect_verify(pub, d, want, 64, true);
	want[63] ^= 0x40;
	expect_verify(pub, d, want, 64, false);
	want[63] ^= 0x40;
	expect_verify(pub, d, want, 63, false);
	uint8_t d2[SIGNET_SHA256_LEN];
	sha256_str(a3_rsa_input, d2);
	expect_verify(pub, d2, want, 64, false);
	crypto_pubkey_free(pub);
}

/* dkimpy's own ed25519 test key: bare base64 with a trailing newline. */
static void ed25519_dkimpy_seed_with_newline(void **state)
{
	(void)state;
	REQUIRE_TESTDATA();
	size_t len;
	uint8_t *data = read_testdata("dkimpy/ed25519test.key", &len);
	assert_int_equal(data[len - 1], '\n');
	struct signet_key *a = NULL, *b = NULL;
	struct signet_error err = {0};
	assert_int_equal(signet_key_parse(data, len, &a, &err), SIGNET_OK);
	assert_int_equal(signet_key_parse(data, len - 1, &b, &err), SIGNET_OK);
	char pa[64], pb[64];
	size_t n;
	assert_int_equal(signet_key_public_base64(a, pa, sizeof pa, &n, &err), SIGNET_OK);
	assert_int_equal(signet_key_public_base64(b, pb, sizeof pb, &n, &err), SIGNET_OK);
	assert_string_equal(pa, pb);
	signet_key_free(a);
	signet_key_free(b);
	/* a seed one byte short or long is not a key */
	static const char s31[] = "nWGxne/9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyufw==";
	static const char s33[] = "nWGxne/9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2AA";
	assert_null(key_from_str(s31, &err, SIGNET_ERR_KEY));
	assert_string_equal(err.msg, "not a PEM private key (expected -----BEGIN PRIVATE KEY-----, "
				     "or the base64 of a 32-byte Ed25519 seed)");
	assert_null(key_from_str(s33, &err, SIGNET_ERR_KEY));
	free(data);
}

/* DKIM-KEY-04 "SPKI and PKCS#1 forms of the same key both verify." The DER
 * must be used up entirely: trailing bytes, a truncation or an inserted NUL
 * make it "does not parse". */
static void DKIM_KEY_04_spki_and_pkcs1_same_key(void **state)
{
	(void)state;
	uint8_t d[SIGNET_SHA256_LEN], sig[SIGNET_MAX_SIG_LEN];
	sha256_str(a3_rsa_input, d);
	size_t siglen = b64(a3_rsa_b, sig, sizeof sig);
	static const char *const forms[] = {a2_rsa_p, a2_rsa_pkcs1};
	for (size_t f = 0; f < 2; f++) {
		uint8_t der[300], bad[301];
		size_t n = b64(forms[f], der, sizeof der);
		struct pubkey *k = NULL;
		unsigned bits = 0;
		struct signet_error err = {0};
		assert_int_equal(crypto_pubkey_parse(SIGNET_KEY_RSA, der, n, &k, &bits, &err),
				 SIGNET_OK);
		assert_int_equal(bits, 1024);
		expect_verify(k, d, sig, siglen, true);
		crypto_pubkey_free(k);

		memcpy(bad, der, n);
		bad[n] = 0x00; /* one trailing byte */
		assert_int_equal(crypto_pubkey_parse(SIGNET_KEY_RSA, bad, n + 1, &k, &bits, &err),
				 SIGNET_ERR_KEY);
		assert_null(k);
		assert_int_equal(bits, 0);
		assert_string_equal(err.msg, "public key does not parse (expected RSA "
					     "SubjectPublicKeyInfo or RSAPublicKey DER)");
		assert_int_equal(crypto_pubkey_parse(SIGNET_KEY_RSA, der, n - 1, &k, &bits, &err),
				 SIGNET_ERR_KEY);
		memcpy(bad, der, n / 2);
		bad[n / 2] = 0x00; /* a NUL inserted in the middle */
		memcpy(bad + n / 2 + 1, der + n / 2, n - n / 2);
		assert_int_equal(crypto_pubkey_parse(SIGNET_KEY_RSA, bad, n + 1, &k, &bits, &err),
				 SIGNET_ERR_KEY);
		assert_null(k);
	}
}

/* DKIM-KEY-04 "For ed25519, p= is base64 of the raw 32-byte key (44 base64
 * characters), no ASN.1 (RFC 8463 4.2). ... a 33-byte ed25519 p= → permerror." */
static void DKIM_KEY_04_ed25519_exactly_32_bytes(void **state)
{
	(void)state;
	uint8_t raw[40];
	assert_int_equal(b64(a2_ed_p, raw, sizeof raw), 32);
	raw[32] = 0x00;
	struct pubkey *k = NULL;
	unsigned bits = 99;
	struct signet_error err = {0};
	assert_int_equal(crypto_pubkey_parse(SIGNET_KEY_ED25519, raw, 31, &k, &bits, &err),
			 SIGNET_ERR_KEY);
	assert_string_equal(err.msg, "ed25519 public key must be 32 bytes, not 31");
	assert_int_equal(bits, 0);
	assert_null(k);
	assert_int_equal(crypto_pubkey_parse(SIGNET_KEY_ED25519, raw, 33, &k, &bits, &err),
			 SIGNET_ERR_KEY);
	assert_string_equal(err.msg, "ed25519 public key must be 32 bytes, not 33");
	assert_int_equal(crypto_pubkey_parse(SIGNET_KEY_ED25519, raw, 0, &k, &bits, &err),
			 SIGNET_ERR_KEY);
	/* the SPKI wrapping of the same key is not the raw form */
	uint8_t spki[64];
	size_t n = b64("MCowBQYDK2VwAyEA11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=", spki,
		       sizeof spki);
	assert_int_equal(crypto_pubkey_parse(SIGNET_KEY_ED25519, spki, n, &k, &bits, &err),
			 SIGNET_ERR_KEY);
	assert_int_equal(crypto_pubkey_parse(SIGNET_KEY_ED25519, raw, 32, &k, &bits, &err),
			 SIGNET_OK);
	assert_int_equal(bits, 256);
	crypto_pubkey_free(k);
	crypto_pubkey_free(NULL);
}

/* ---- hand-made RSA public keys (moduli need not be real to be refused) ---- */

static size_t der_header(uint8_t *out, uint8_t tag, size_t len)
{
	size_t w = 0;
	out[w++] = tag;
	if (len < 0x80) {
		out[w++] = (uint8_t)len;
	} else if (len < 0x100) {
		out[w++] = 0x81;
		out[w++] = (uint8_t)len;
	} else {
		out[w++] = 0x82;
		out[w++] = (uint8_t)(len >> 8);
		out[w++] = (uint8_t)len;
	}
	return w;
}

/* INTEGER of big-endian magnitude p[0..n); a 0x00 is prefixed when the top
 * bit is set unless raw (raw lets a test write a negative number). */
static size_t der_integer(uint8_t *out, const uint8_t *p, size_t n, bool raw)
{
	bool pad = !raw && (p[0] & 0x80);
	size_t w = der_header(out, 0x02, n + pad);
	if (pad)
		out[w++] = 0x00;
	memcpy(out + w, p, n);
	return w + n;
}

/* RSAPublicKey { n, e } with an odd modulus of exactly `bits` bits. */
static size_t der_rsa_pkcs1(uint8_t *out, unsigned bits, const uint8_t *e, size_t elen, bool raw_e)
{
	uint8_t n[1100], body[1200];
	size_t nlen = (bits + 7) / 8;
	memset(n, 0xa5, nlen);
	n[0] = (uint8_t)(1u << ((bits - 1) % 8));
	n[nlen - 1] |= 0x01;
	size_t w = der_integer(body, n, nlen, false);
	w += der_integer(body + w, e, elen, raw_e);
	size_t h = der_header(out, 0x30, w);
	memcpy(out + h, body, w);
	return h + w;
}

/* SubjectPublicKeyInfo { rsaEncryption, NULL } around an RSAPublicKey. */
static size_t der_spki(uint8_t *out, const uint8_t *pkcs1, size_t len)
{
	static const uint8_t alg[] = {0x30, 0x0d, 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86,
				      0xf7, 0x0d, 0x01, 0x01, 0x01, 0x05, 0x00};
	uint8_t bits[1300];
	size_t b = der_header(bits, 0x03, len + 1);
	bits[b++] = 0x00; /* no unused bits */
	memcpy(bits + b, pkcs1, len);
	b += len;
	size_t h = der_header(out, 0x30, sizeof alg + b);
	memcpy(out + h, alg, sizeof alg);
	memcpy(out + h + sizeof alg, bits, b);
	return h + sizeof alg + b;
}

static const uint8_t e65537[] = {0x01, 0x00, 0x01};

/* Parses a made-up key of `bits` bits and exponent e in both DER forms. */
static void expect_rsa(unsigned bits, const uint8_t *e, size_t elen, bool raw_e,
		       enum signet_status want, unsigned want_bits, const char *want_msg)
{
	uint8_t pkcs1[1300], spki[1400];
	size_t n1 = der_rsa_pkcs1(pkcs1, bits, e, elen, raw_e);
	size_t n2 = der_spki(spki, pkcs1, n1);
	const uint8_t *forms[] = {pkcs1, spki};
	size_t lens[] = {n1, n2};
	for (size_t f = 0; f < 2; f++) {
		struct pubkey *k = NULL;
		unsigned got = 12345;
		struct signet_error err = {0};
		enum signet_status st =
			crypto_pubkey_parse(SIGNET_KEY_RSA, forms[f], lens[f], &k, &got, &err);
		if (st != want)
			fail_msg("%u bits, e[0]=%02x, form %zu: status %d (%s), want %d", bits,
				 e[0], f, st, err.msg, want);
		assert_int_equal(got, want_bits);
		if (want_msg != NULL)
			assert_string_equal(err.msg, want_msg);
		if (want == SIGNET_OK)
			assert_non_null(k);
		else
			assert_null(k);
		crypto_pubkey_free(k);
	}
}

/* DKIM-KEY-14 "RSA < 1024 bits → permerror "key too small"; 1024–4096 must
 * verify; > 4096 we refuse (permerror, cost bound) (RFC 8301 3.2). Test:
 * 512-bit and 8192-bit keys." Plus each limit at -1, 0, +1. */
static void DKIM_KEY_14_rsa_size_limits(void **state)
{
	(void)state;
	/* a real 512-bit key (openssl genrsa 512), SPKI */
	uint8_t der[200];
	size_t n = b64("MFwwDQYJKoZIhvcNAQEBBQADSwAwSAJBAKzkP9hNLgGbMvZ+USQLmBFzmFGkED74AwHhhGxN2sp"
		       "msffibRkVjO6IgNsuks3/uh8w5nv/UfsDLMviNTYZSJMCAwEAAQ==",
		       der, sizeof der);
	struct pubkey *k = NULL;
	unsigned bits = 0;
	struct signet_error err = {0};
	assert_int_equal(crypto_pubkey_parse(SIGNET_KEY_RSA, der, n, &k, &bits, &err),
			 SIGNET_ERR_KEY);
	assert_null(k);
	assert_int_equal(bits, 512);
	assert_string_equal(err.msg, "key too small (512 bits, RFC 8301 requires 1024)");
	assert_string_equal(err.spec, "RFC 8301 3.2");

	expect_rsa(512, e65537, 3, false, SIGNET_ERR_KEY, 512,
		   "key too small (512 bits, RFC 8301 requires 1024)");
	expect_rsa(8192, e65537, 3, false, SIGNET_ERR_KEY, 8192,
		   "key too large (8192 bits, limit 4096)");
	expect_rsa(1023, e65537, 3, false, SIGNET_ERR_KEY, 1023,
		   "key too small (1023 bits, RFC 8301 requires 1024)");
	expect_rsa(1024, e65537, 3, false, SIGNET_OK, 1024, NULL);
	expect_rsa(1025, e65537, 3, false, SIGNET_OK, 1025, NULL);
	expect_rsa(4095, e65537, 3, false, SIGNET_OK, 4095, NULL);
	expect_rsa(4096, e65537, 3, false, SIGNET_OK, 4096, NULL);
	expect_rsa(4097, e65537, 3, false, SIGNET_ERR_KEY, 4097,
		   "key too large (4097 bits, limit 4096)");
}

/* DKIM-KEY-15 "Refuse RSA keys with unreasonable public exponents (e.g. even,
 * 1, or larger than 2^32 (our bound)) and malformed DER before any crypto
 * call ... Test: key with e=1 → permerror." */
static void DKIM_KEY_15_rsa_exponent(void **state)
{
	(void)state;
	static const char msg[] = "unreasonable RSA public exponent (must be odd, 3 to 2^32)";
	static const uint8_t e1[] = {0x01}, e2[] = {0x02}, e3[] = {0x03}, e0[] = {0x00};
	static const uint8_t e65536[] = {0x01, 0x00, 0x00};
	static const uint8_t e2p32m1[] = {0xff, 0xff, 0xff, 0xff};       /* 2^32 - 1: limit */
	static const uint8_t e2p32[] = {0x01, 0x00, 0x00, 0x00, 0x00};   /* even */
	static const uint8_t e2p32p1[] = {0x01, 0x00, 0x00, 0x00, 0x01}; /* odd, past 2^32 */
	expect_rsa(1024, e1, 1, false, SIGNET_ERR_KEY, 1024, msg);
	expect_rsa(1024, e2, 1, false, SIGNET_ERR_KEY, 1024, msg);
	expect_rsa(1024, e0, 1, false, SIGNET_ERR_KEY, 1024, msg);
	expect_rsa(1024, e65536, 3, false, SIGNET_ERR_KEY, 1024, msg);
	expect_rsa(1024, e2p32, 5, false, SIGNET_ERR_KEY, 1024, msg);
	expect_rsa(1024, e2p32p1, 5, false, SIGNET_ERR_KEY, 1024, msg);
	/* OpenSSL 3.0 reads a negative INTEGER as its magnitude (0xfe → 254):
	 * the check applies to the value that would be used. */
	static const uint8_t eneg[] = {0xfe};
	expect_rsa(1024, eneg, 1, true, SIGNET_ERR_KEY, 1024, msg);
	expect_rsa(1024, e3, 1, false, SIGNET_OK, 1024, NULL);
	expect_rsa(1024, e65537, 3, false, SIGNET_OK, 1024, NULL);
	expect_rsa(1024, e2p32m1, 4, false, SIGNET_OK, 1024, NULL);
}

/* DKIM-KEY-15 "... and malformed DER before any crypto call; key records are
 * untrusted input." Every truncation, garbage, NULs, a non-RSA SPKI. */
static void DKIM_KEY_15_malformed_der(void **state)
{
	(void)state;
	uint8_t der[300];
	size_t n = b64(a2_rsa_p, der, sizeof der);
	struct pubkey *k = NULL;
	unsigned bits = 7;
	struct signet_error err = {0};
	for (size_t cut = 0; cut < n; cut++) {
		/* copy so ASan sees a read past the cut */
		uint8_t *p = malloc(cut ? cut : 1);
		assert_non_null(p);
		memcpy(p, der, cut);
		assert_int_equal(crypto_pubkey_parse(SIGNET_KEY_RSA, p, cut, &k, &bits, &err),
				 SIGNET_ERR_KEY);
		assert_null(k);
		assert_int_equal(bits, 0);
		free(p);
	}
	static const uint8_t garbage[] = "not DER at all, just text";
	assert_int_equal(
		crypto_pubkey_parse(SIGNET_KEY_RSA, garbage, sizeof garbage - 1, &k, &bits, &err),
		SIGNET_ERR_KEY);
	uint8_t zeros[162] = {0};
	assert_int_equal(crypto_pubkey_parse(SIGNET_KEY_RSA, zeros, sizeof zeros, &k, &bits, &err),
			 SIGNET_ERR_KEY);
	uint8_t big[SIGNET_MAX_KEY_RECORD + 1];
	memset(big, 0x30, sizeof big);
	assert_int_equal(crypto_pubkey_parse(SIGNET_KEY_RSA, big, sizeof big, &k, &bits, &err),
			 SIGNET_ERR_KEY);
	/* an EC (P-256) SubjectPublicKeyInfo published with k=rsa */
	n = b64("MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEAmYil1SgtW5S773pSyrNB9JRmQl83/8ByFUPbARMsuF"
		"sMIBfo/7EDZ5xFLoirlFU6rykPC3+6ilwxiwpQ7MJUQ==",
		der, sizeof der);
	assert_int_equal(crypto_pubkey_parse(SIGNET_KEY_RSA, der, n, &k, &bits, &err),
			 SIGNET_ERR_KEY);
	assert_string_equal(err.msg, "public key is not an RSA key (k=rsa)");
	assert_null(k);
	/* an even modulus is no RSA key */
	uint8_t pkcs1[300];
	n = der_rsa_pkcs1(pkcs1, 1024, e65537, 3, false);
	pkcs1[n - 6] &= 0xfe; /* last byte of n: before 02 03 01 00 01 */
	assert_int_equal(crypto_pubkey_parse(SIGNET_KEY_RSA, pkcs1, n, &k, &bits, &err),
			 SIGNET_ERR_KEY);
	assert_string_equal(err.msg, "RSA modulus is not valid");
	assert_int_equal(crypto_pubkey_parse((enum signet_keytype)9, pkcs1, n, &k, &bits, &err),
			 SIGNET_ERR_INVAL);
}

/* DKIM-SIGN-04 "RSA signing keys ≥ 1024 bits (refuse smaller); 2048 default
 * ... Test: keygen --bits 768 refused." Also 4096 is the top. */
static void DKIM_SIGN_04_refuse_small_rsa(void **state)
{
	(void)state;
	struct signet_key *key = NULL;
	struct signet_error err = {0};
	assert_int_equal(signet_key_generate(SIGNET_KEY_RSA, 768, &key, &err), SIGNET_ERR_KEY);
	assert_null(key);
	assert_string_equal(err.msg, "RSA key of 768 bits refused (RFC 8301: 1024 to 4096 bits; "
				     "2048 is the default)");
	assert_int_equal(signet_key_generate(SIGNET_KEY_RSA, 1023, &key, &err), SIGNET_ERR_KEY);
	assert_int_equal(signet_key_generate(SIGNET_KEY_RSA, 4097, &key, &err), SIGNET_ERR_KEY);
	assert_int_equal(signet_key_generate((enum signet_keytype)0, 0, &key, &err),
			 SIGNET_ERR_INVAL);
	assert_int_equal(signet_key_generate(SIGNET_KEY_RSA, 0, &key, &err), SIGNET_OK);
	assert_int_equal(signet_key_bits(key), 2048);
	signet_key_free(key);
	assert_int_equal(signet_key_generate(SIGNET_KEY_RSA, 1024, &key, &err), SIGNET_OK);
	assert_int_equal(signet_key_bits(key), 1024);
	signet_key_free(key);

	/* a 768-bit private key (openssl genrsa 768) is refused when loaded */
	static const char pem768[] =
		"-----BEGIN PRIVATE KEY-----\n"
		"MIIB5QIBADANBgkqhkiG9w0BAQEFAASCAc8wggHLAgEAAmEAqlAXNkvymZQr1b89\n"
		"wi8l6KI3g/cOyNifopYId9tElwbD8ywGNKkUoMZ+7ONouv/VgyOW4ATEUCbd7tXM\n"
		"ugK0Km1NPy1vgzEtbG+tsiH1jgavVoZ4vlTUZoXJW8PTte27AgMBAAECYEiHJOtt\n"
		"elmmvOggsecw9t7TvfqHypcDkS/G3sJT8Sizq9yxoc7pNiyle0XcLix8Z7ms0r8I\n"
		"bwlNWjh74z+VaOW+K8zhnV/3SUVcFOvs2SS40PtSwIV0r2mI3rkSwQvVEQIxANdH\n"
		"zr61IY9AujFXtdFNcL9sM4cAftbRPU/cgV231FiVaKOn1OGHRBMqZtG83yfi6QIx\n"
		"AMqG4oVt2ZJhfSXP8ubneFogPvEPhWJthT5+AAQ6rcsDK5COozM+i3Px40AlaE79\n"
		"AwIxALuw3W2jmfi9ZBf08o3iyHP8MAh5xBwiHSRtiVReG4KH8M0OXCmstwtGopIl\n"
		"6yFpUQIwPrRigBNR0MuUVte6ihlSnvzq3/IBR0dHgOC8GpMcagWyQFCZYO1VefGD\n"
		"fcHXONWHAjEAw8sdLF5xs6iow7vyP5xcXTM1eUKBXHWIzdarKFZZVacztXMBAyop\n"
		"AFrXhi41CAk5\n"
		"-----END PRIVATE KEY-----\n";
	assert_null(key_from_str(pem768, &err, SIGNET_ERR_KEY));
	assert_string_equal(err.msg, "RSA key of 768 bits refused (RFC 8301: 1024 to 4096 bits; "
				     "make a 2048-bit key)");
	assert_string_equal(err.spec, "RFC 8301 3.2");
}

static struct pubkey *pub_of(const struct signet_key *key, unsigned *bits)
{
	char p64[1024];
	size_t n = 0;
	struct signet_error err = {0};
	assert_int_equal(signet_key_public_base64(key, p64, sizeof p64, &n, &err), SIGNET_OK);
	assert_int_equal(strlen(p64), n);
	uint8_t der[800];
	size_t dl = b64(p64, der, sizeof der);
	struct pubkey *k = NULL;
	assert_int_equal(crypto_pubkey_parse(signet_key_type(key), der, dl, &k, bits, &err),
			 SIGNET_OK);
	return k;
}

/* DKIM-VER-06 "Verify RSA 1024..4096 (RFC 8301 3.2). Test: keys of 1024,
 * 2048, 3072, 4096 bits." */
static void DKIM_VER_06_rsa_1024_to_4096_verify(void **state)
{
	(void)state;
	static const unsigned sizes[] = {1024, 2048, 3072, 4096};
	uint8_t d[SIGNET_SHA256_LEN], sig[SIGNET_MAX_SIG_LEN];
	sha256_str("DKIM-VER-06", d);
	struct signet_key *prev = NULL;
	for (size_t i = 0; i < 4; i++) {
		struct signet_key *key = NULL;
		struct signet_error err = {0};
		assert_int_equal(signet_key_generate(SIGNET_KEY_RSA, sizes[i], &key, &err),
				 SIGNET_OK);
		assert_int_equal(signet_key_bits(key), sizes[i]);
		size_t siglen = 0;
		assert_int_equal(crypto_key_sign(key, d, sig, sizeof sig, &siglen, &err),
				 SIGNET_OK);
		assert_int_equal(siglen, sizes[i] / 8);
		unsigned bits = 0;
		struct pubkey *k = pub_of(key, &bits);
		assert_int_equal(bits, sizes[i]);
		expect_verify(k, d, sig, siglen, true);
		sig[siglen / 2] ^= 0x10;
		expect_verify(k, d, sig, siglen, false);
		assert_true(crypto_pubkey_matches(k, key));
		if (prev != NULL)
			assert_false(crypto_pubkey_matches(k, prev));
		crypto_pubkey_free(k);
		signet_key_free(prev);
		prev = key;
	}
	signet_key_free(prev);
}

/* signet_key_write_pem writes PKCS#8 that signet_key_parse reads back to the
 * same key; the buffer at limit-1 / limit. */
static void key_write_parse_round_trip(void **state)
{
	(void)state;
	static const enum signet_keytype types[] = {SIGNET_KEY_ED25519, SIGNET_KEY_RSA};
	for (size_t t = 0; t < 2; t++) {
		struct signet_key *key = NULL, *back = NULL;
		struct signet_error err = {0};
		assert_int_equal(signet_key_generate(types[t], 1024, &key, &err), SIGNET_OK);
		char pem[4096];
		size_t len = 0, len2 = 0;
		assert_int_equal(signet_key_write_pem(key, pem, sizeof pem, &len, &err), SIGNET_OK);
		assert_int_equal(strlen(pem), len);
		assert_memory_equal(pem, "-----BEGIN PRIVATE KEY-----\n", 28);
		assert_string_equal(pem + len - 26, "-----END PRIVATE KEY-----\n");
		char small[4096];
		memset(small, 'x', sizeof small);
		assert_int_equal(signet_key_write_pem(key, small, len, &len2, &err),
				 SIGNET_ERR_LIMIT);
		assert_int_equal(small[0], 'x'); /* nothing half-written */
		assert_int_equal(signet_key_write_pem(key, small, len + 1, &len2, &err), SIGNET_OK);
		assert_string_equal(small, pem);
		assert_int_equal(signet_key_parse((const uint8_t *)pem, len, &back, &err),
				 SIGNET_OK);
		assert_int_equal(signet_key_type(back), types[t]);
		assert_int_equal(signet_key_bits(back), signet_key_bits(key));
		unsigned bits;
		struct pubkey *k = pub_of(key, &bits);
		assert_true(crypto_pubkey_matches(k, back));
		crypto_pubkey_free(k);
		signet_key_free(key);
		signet_key_free(back);
	}
	signet_key_free(NULL);
}

/* The DNS record (RFC 6376 3.6.1, RFC 8463 4.2) of the RFC 8463 keys is
 * exactly the A.2 record; the buffer at limit-1 / limit. */
static void key_dns_record_format(void **state)
{
	(void)state;
	REQUIRE_TESTDATA();
	char rec[600], want[600];
	size_t len = 0;
	struct signet_error err = {0};
	struct signet_key *rsa = key_from_testdata("rfc8463/rsa.key");
	snprintf(want, sizeof want, "v=DKIM1; k=rsa; p=%s", a2_rsa_p);
	assert_int_equal(signet_key_dns_record(rsa, rec, sizeof rec, &len, &err), SIGNET_OK);
	assert_string_equal(rec, want);
	assert_int_equal(len, strlen(want));
	assert_int_equal(signet_key_dns_record(rsa, rec, len, &len, &err), SIGNET_ERR_LIMIT);
	assert_int_equal(signet_key_dns_record(rsa, rec, strlen(want) + 1, &len, &err), SIGNET_OK);
	assert_string_equal(rec, want);
	assert_int_equal(signet_key_dns_record(rsa, rec, 5, &len, &err), SIGNET_ERR_LIMIT);
	signet_key_free(rsa);

	struct signet_key *ed = key_from_testdata("rfc8463/ed25519.key");
	assert_int_equal(signet_key_dns_record(ed, rec, sizeof rec, &len, &err), SIGNET_OK);
	assert_string_equal(rec,
			    "v=DKIM1; k=ed25519; p=11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=");
	assert_int_equal(len, 66);
	assert_int_equal(signet_key_public_base64(ed, rec, 44, &len, &err), SIGNET_ERR_LIMIT);
	assert_int_equal(signet_key_public_base64(ed, rec, 45, &len, &err), SIGNET_OK);
	assert_string_equal(rec, a2_ed_p);
	signet_key_free(ed);
}

/* Private key files that are not usable get a message an administrator can act on. */
static void key_pem_error_messages(void **state)
{
	(void)state;
	struct signet_error err = {0};
	static const char not_pem[] =
		"not a PEM private key (expected -----BEGIN PRIVATE KEY-----)";
	static const char no_parse[] =
		"PEM private key does not parse (damaged or truncated base64?)";

	assert_null(
		key_from_str("-----BEGIN ENCRYPTED PRIVATE KEY-----\n"
			     "MIGbMFcGCSqGSIb3DQEFDTBKMCkGCSqGSIb3DQEFDDAcBAgUO5ptrbD6XgICCAAw\n"
			     "DAYIKoZIhvcNAgkFADAdBglghkgBZQMEASoEECJqrz+mHpXDrxcnRQ95R6sEQDlm\n"
			     "qV2AvS/NMcJkLG6v1uyzx4tfjFoHjnO02FjaNR8BwzCuma1euTtvleejjbkegUsj\n"
			     "h9Enz88yQ+jbSOaNVHk=\n"
			     "-----END ENCRYPTED PRIVATE KEY-----\n",
			     &err, SIGNET_ERR_KEY));
	assert_string_equal(err.msg, "encrypted private keys are not supported (decrypt it with "
				     "'openssl pkey -in KEY -out PLAIN')");
	assert_null(
		key_from_str("-----BEGIN RSA PRIVATE KEY-----\nProc-Type: 4,ENCRYPTED\n"
			     "DEK-Info: AES-128-CBC,00\n\nAAAA\n-----END RSA PRIVATE KEY-----\n",
			     &err, SIGNET_ERR_KEY));
	assert_memory_equal(err.msg, "encrypted private keys", 22);
	assert_null(key_from_str("-----BEGIN PUBLIC KEY-----\nMCowBQYDK2VwAyEA11qYAYKxCrfVS/7TyWQ"
				 "HOg7hcvPapiMlrwIaaPcHURo=\n-----END PUBLIC KEY-----\n",
				 &err, SIGNET_ERR_KEY));
	assert_string_equal(err.msg, "this is a public key or certificate, not a private key "
				     "(expected -----BEGIN PRIVATE KEY-----)");
	assert_null(key_from_str("-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAA\n"
				 "-----END OPENSSH PRIVATE KEY-----\n",
				 &err, SIGNET_ERR_KEY));
	assert_memory_equal(err.msg, "OpenSSH private keys are not supported", 38);
	assert_null(key_from_str("-----BEGIN X509 CRL-----\nAAAA\n-----END X509 CRL-----\n", &err,
				 SIGNET_ERR_KEY));
	assert_string_equal(err.msg, not_pem);
	/* an EC key parses but is not for DKIM */
	assert_null(
		key_from_str("-----BEGIN PRIVATE KEY-----\n"
			     "MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgzpp8ITylyXVqecQ9\n"
			     "tO2eQtAozSIlQkE23G9r46rB53qhRANCAASGTKmLEFEVeUCiHDI6tjMIpRC99UFq\n"
			     "Jw5n7AC1wd+JNf1keWPDFh1PuApx7TpuqZe4lLbcPg85sAkAiTvfanU0\n"
			     "-----END PRIVATE KEY-----\n",
			     &err, SIGNET_ERR_KEY));
	assert_string_equal(err.msg, "unsupported key type (only RSA and Ed25519)");
	/* damaged: truncated, a NUL in the middle, bad base64 */
	static const char ed_pem[] =
		"-----BEGIN PRIVATE KEY-----\n"
		"MC4CAQAwBQYDK2VwBCIEIJ1hsZ3v/VpguoRK9JLsLMREScVpezJpGXA7rAMcrn9g\n"
		"-----END PRIVATE KEY-----\n";
	struct signet_key *key = NULL;
	assert_int_equal(signet_key_parse((const uint8_t *)ed_pem, sizeof ed_pem - 1, &key, &err),
			 SIGNET_OK);
	signet_key_free(key);
	for (size_t cut = 11; cut < sizeof ed_pem - 2; cut += 7) {
		char *p = malloc(cut);
		assert_non_null(p);
		memcpy(p, ed_pem, cut);
		assert_int_equal(signet_key_parse((uint8_t *)p, cut, &key, &err), SIGNET_ERR_KEY);
		assert_null(key);
		free(p);
	}
	/* a public key block before the private key does not hide it */
	char both[512];
	snprintf(both, sizeof both,
		 "-----BEGIN PUBLIC KEY-----\nMCowBQYDK2VwAyEA11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrw"
		 "IaaPcHURo=\n-----END PUBLIC KEY-----\n%s",
		 ed_pem);
	key = key_from_str(both, &err, SIGNET_OK);
	assert_int_equal(signet_key_type(key), SIGNET_KEY_ED25519);
	signet_key_free(key);
	char withnul[sizeof ed_pem];
	memcpy(withnul, ed_pem, sizeof ed_pem);
	withnul[40] = '\0';
	assert_int_equal(signet_key_parse((uint8_t *)withnul, sizeof ed_pem - 1, &key, &err),
			 SIGNET_ERR_KEY);
	assert_string_equal(err.msg, no_parse);
	/* garbage and empty input */
	assert_null(key_from_str("hello world\n", &err, SIGNET_ERR_KEY));
	assert_memory_equal(err.msg, not_pem, strlen(not_pem) - 1);
	assert_null(key_from_str("", &err, SIGNET_ERR_KEY));
	assert_int_equal(signet_key_parse(NULL, 0, &key, &err), SIGNET_ERR_KEY);
	assert_int_equal(signet_key_parse(NULL, 1, &key, &err), SIGNET_ERR_INVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(sha256_streaming_known_answer),
		cmocka_unit_test(DKIM_ALG_01_rsa_sha256_rfc8463_known_answer),
		cmocka_unit_test(DKIM_SIGN_05_ed25519_rfc8463_known_answer),
		cmocka_unit_test(ed25519_dkimpy_seed_with_newline),
		cmocka_unit_test(DKIM_KEY_04_spki_and_pkcs1_same_key),
		cmocka_unit_test(DKIM_KEY_04_ed25519_exactly_32_bytes),
		cmocka_unit_test(DKIM_KEY_14_rsa_size_limits),
		cmocka_unit_test(DKIM_KEY_15_rsa_exponent),
		cmocka_unit_test(DKIM_KEY_15_malformed_der),
		cmocka_unit_test(DKIM_SIGN_04_refuse_small_rsa),
		cmocka_unit_test(DKIM_VER_06_rsa_1024_to_4096_verify),
		cmocka_unit_test(key_write_parse_round_trip),
		cmocka_unit_test(key_dns_record_format),
		cmocka_unit_test(key_pem_error_messages),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
