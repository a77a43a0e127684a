/* test_keyrec.c: key records (lib/keyrec.c, RFC 6376 3.6.1, RFC 8463 4.2)
 * against the DKIM-KEY items of spec/dkim.md: keyrec_decode's tags and
 * reasons (paste mistakes included), the size limit, NUL and truncated
 * input; and the public signet_keyrec_parse / _matches with the RFC 8463
 * keys from the shared test data; signet_keyrec_check's coded findings, the
 * one judgment dnscheck and signetd's DNS check render. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include <openssl/evp.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>

#include "base64.h"
#include "keyrec.h"

/* RFC 8463 A.2 */
#define ED_P "11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo="
#define RSA_P                                                                                      \
	"MIGfMA0GCSqGSIb3DQEBAQUAA4GNADCBiQKBgQDkHlOQoBTzWRiGs5V6NpP3idY6Wk08a5qhdR6wy5bdOKb2jLQi" \
	"Y/"                                                                                       \
	"J16JYi0Qvx/byYzCNb3W91y3FutACDfzwQ/BC/e/"                                                 \
	"8uBsCR+yz1Lxj+PL6lHvqMKrM3rG4hstT5QjvHO9PzoxZyVYLz"                                       \
	"BfO2EeC3Ip3G+2kryOTIKT+l/K4w3QIDAQAB"

static struct keyrec rec;
static struct signet_error err;

static enum signet_status decode_n(const char *s, size_t n)
{
	memset(&err, 0, sizeof err);
	return keyrec_decode((const uint8_t *)s, n, &rec, &err);
}

static enum signet_status decode(const char *s)
{
	return decode_n(s, strlen(s));
}

static void assert_fails(const char *s, enum signet_status code, const char *reason)
{
	assert_int_equal(decode(s), code);
	assert_int_equal(err.code, code);
	assert_string_equal(err.msg, reason);
}

/* The defaults of RFC 6376 3.6.1 for a record with only p=. */
static void DKIM_KEY_04_defaults(void **state)
{
	(void)state;
	assert_int_equal(decode("p=" RSA_P), SIGNET_OK);
	assert_int_equal(rec.info.type, SIGNET_KEY_RSA);
	assert_string_equal(rec.info.k, "rsa");
	assert_true(rec.info.sha256_allowed);
	assert_true(rec.info.email_allowed);
	assert_false(rec.info.testing);
	assert_false(rec.info.strict);
	assert_false(rec.info.revoked);
	assert_int_equal(rec.info.bits, 0); /* keyrec_decode does not touch OpenSSL */
	assert_int_equal(rec.keylen, 162);
	assert_int_equal(rec.key[0], 0x30);
}

/* DKIM-KEY-03 "k=rsa; v=DKIM1; p=... → permerror; v=DKIM2 → permerror" */
static void DKIM_KEY_03_v_first_and_DKIM1(void **state)
{
	(void)state;
	const char *r = "v= must be DKIM1 and come first";
	assert_int_equal(decode("v=DKIM1; k=rsa; p=" RSA_P), SIGNET_OK);
	assert_fails("k=rsa; v=DKIM1; p=" RSA_P, SIGNET_ERR_KEY, r);
	assert_fails("v=DKIM2; p=" RSA_P, SIGNET_ERR_KEY, r);
	assert_fails("v=dkim1; p=" RSA_P, SIGNET_ERR_KEY, r);
	assert_fails("v=; p=" RSA_P, SIGNET_ERR_KEY, r);
	assert_int_equal(decode("  v = DKIM1 ;p=" RSA_P), SIGNET_OK); /* FWS is not the value */
}

/* DKIM-KEY-04 "k= default rsa; also ed25519" and unknown types. */
static void DKIM_KEY_04_key_types(void **state)
{
	(void)state;
	assert_int_equal(decode("v=DKIM1; k=ed25519; p=" ED_P), SIGNET_OK);
	assert_int_equal(rec.info.type, SIGNET_KEY_ED25519);
	assert_string_equal(rec.info.k, "ed25519");
	assert_int_equal(rec.keylen, 32);
	assert_int_equal(rec.key[0], 0xd7);
	assert_fails("v=DKIM1; k=dsa; p=" RSA_P, SIGNET_ERR_KEY, "unknown key type k=dsa");
	assert_int_equal(rec.info.type, 0);
	assert_string_equal(rec.info.k, "dsa");
	assert_fails("k=; p=" RSA_P, SIGNET_ERR_KEY, "unknown key type k=");
	/* k= as written is capped at 31 octets, non-ASCII shown as '?'. */
	assert_fails("k=abcdefghijklmnopqrstuvwxyz0123456789\xc3\xa9; p=" RSA_P, SIGNET_ERR_KEY,
		     "unknown key type k=abcdefghijklmnopqrstuvwxyz01234");
	assert_int_equal(decode("k=ED25519; p=" ED_P), SIGNET_OK);
	assert_int_equal(rec.info.type, SIGNET_KEY_ED25519);
}

/* DKIM-ALG-03 "k=ed25519, p = 32 raw bytes base64 (44 chars)"; DKIM-KEY-04
 * "a 33-byte ed25519 p= → permerror". */
static void DKIM_ALG_03_ed25519_length(void **state)
{
	(void)state;
	const char *r = "ed25519 key must be 32 bytes";
	/* 33 bytes, 31 bytes (base64 of 0x00 * n) */
	assert_fails("k=ed25519; p=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", SIGNET_ERR_KEY,
		     r);
	assert_fails("k=ed25519; p=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA==", SIGNET_ERR_KEY,
		     r);
	assert_int_equal(decode("k=ed25519; p=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="),
			 SIGNET_OK);
}

/* DKIM-KEY-05 "Empty p= means revoked → permerror key revoked: v=DKIM1; p= and p= (WSP only)" */
static void DKIM_KEY_05_revoked(void **state)
{
	(void)state;
	assert_fails("v=DKIM1; p=", SIGNET_ERR_KEY, "key revoked");
	assert_true(rec.info.revoked);
	assert_fails("v=DKIM1; p= \t", SIGNET_ERR_KEY, "key revoked");
	assert_true(rec.info.revoked);
	assert_fails("v=DKIM1; p=;", SIGNET_ERR_KEY, "key revoked");
	assert_fails("v=DKIM1; k=ed25519; p=\r\n\t", SIGNET_ERR_KEY, "key revoked");
	assert_int_equal(rec.info.type, SIGNET_KEY_ED25519);
	assert_fails("v=DKIM1; k=rsa", SIGNET_ERR_SYNTAX, "missing p=");
	assert_false(rec.info.revoked);
}

/* DKIM-KEY-06 "h= restricts acceptable hashes ... unknown names in it are ignored" */
static void DKIM_KEY_06_h_hashes(void **state)
{
	(void)state;
	assert_int_equal(decode("v=DKIM1; h=sha1; p=" RSA_P), SIGNET_OK);
	assert_false(rec.info.sha256_allowed);
	assert_int_equal(decode("v=DKIM1; h=sha1 : sha256; p=" RSA_P), SIGNET_OK);
	assert_true(rec.info.sha256_allowed);
	assert_int_equal(decode("v=DKIM1; h=sha512:foo; p=" RSA_P), SIGNET_OK);
	assert_false(rec.info.sha256_allowed);
	assert_int_equal(decode("v=DKIM1; h=SHA256; p=" RSA_P), SIGNET_OK);
	assert_true(rec.info.sha256_allowed);
}

/* DKIM-KEY-07 "s=foo → permerror; s=email:foo ok" (the flag; the verifier decides). */
static void DKIM_KEY_07_service_types(void **state)
{
	(void)state;
	assert_int_equal(decode("s=foo; p=" RSA_P), SIGNET_OK);
	assert_false(rec.info.email_allowed);
	assert_int_equal(decode("s=email:foo; p=" RSA_P), SIGNET_OK);
	assert_true(rec.info.email_allowed);
	assert_int_equal(decode("s=*; p=" RSA_P), SIGNET_OK);
	assert_true(rec.info.email_allowed);
	assert_int_equal(decode("s=; p=" RSA_P), SIGNET_OK);
	assert_false(rec.info.email_allowed);
}

/* DKIM-KEY-08 "t= flags (colon list; unknown flags ignored): y = testing; s = strict" */
static void DKIM_KEY_08_t_flags(void **state)
{
	(void)state;
	assert_int_equal(decode("t=y; p=" RSA_P), SIGNET_OK);
	assert_true(rec.info.testing);
	assert_false(rec.info.strict);
	assert_int_equal(decode("t=s; p=" RSA_P), SIGNET_OK);
	assert_false(rec.info.testing);
	assert_true(rec.info.strict);
	assert_int_equal(decode("t=y:s:x; p=" RSA_P), SIGNET_OK);
	assert_true(rec.info.testing);
	assert_true(rec.info.strict);
	assert_int_equal(decode("t=x:yy; p=" RSA_P), SIGNET_OK);
	assert_false(rec.info.testing);
	assert_false(rec.info.strict);
}

/* DKIM-KEY-10 "n=hello; zz=1 ok"; DKIM-KEY-13 "g=foo; p=... verifies" */
static void DKIM_KEY_10_13_unknown_tags_ignored(void **state)
{
	(void)state;
	assert_int_equal(decode("v=DKIM1; n=hello \"world\"; zz=1; g=foo; p=" ED_P "; k=ed25519"),
			 SIGNET_OK);
	assert_int_equal(rec.info.type, SIGNET_KEY_ED25519);
	assert_int_equal(rec.keylen, 32);
}

/* DKIM-KEY-12 "p=\"MIIB...\" with quotes inside the value → permerror, and
 * signet dnscheck names the quotes"; also backslash escapes, bad base64
 * and tag syntax. */
static void DKIM_KEY_12_syntax_and_paste_mistakes(void **state)
{
	(void)state;
	const char *q = "record contains quote characters (paste the value without quotes)";
	assert_fails("\"v=DKIM1; k=rsa; p=" RSA_P "\"", SIGNET_ERR_SYNTAX, q);
	assert_fails(" \"v=DKIM1; p=" ED_P "\" ", SIGNET_ERR_SYNTAX, q);
	assert_fails("v=DKIM1; p=\"" RSA_P "\"", SIGNET_ERR_SYNTAX, q);
	assert_fails("v=DKIM1; p=MIGfMA0GCSqGSIb3DQEBAQ\" \"UAA4GNADCBiQKBgQDk", SIGNET_ERR_SYNTAX,
		     q);
	assert_fails("v=\"DKIM1\"; p=" RSA_P, SIGNET_ERR_SYNTAX, q);
	assert_fails("v=DKIM1\\; k=rsa\\; p=" RSA_P, SIGNET_ERR_SYNTAX,
		     "record contains backslash escapes");
	assert_int_equal(decode("v=DKIM1; p=MIGX_BROKEN_fMA0"), SIGNET_ERR_SYNTAX);
	assert_string_equal(err.msg,
			    "bad base64 in p= (invalid base64 character 0x5f at offset 4)");
	assert_int_equal(decode("v=DKIM1; p=" RSA_P "="), SIGNET_ERR_SYNTAX);
	assert_fails("v=DKIM1; k rsa; p=" RSA_P, SIGNET_ERR_SYNTAX,
		     "'=' expected after tag name k at offset 11");
	assert_fails("v=DKIM1; p=" ED_P "; p=" ED_P, SIGNET_ERR_SYNTAX,
		     "duplicate tag p= at offset 57");
	assert_fails("", SIGNET_ERR_SYNTAX, "missing p=");
}

/* "spaces inside p= are legal FWS": base64 skips FWS (RFC 6376 3.6.1 key-p-tag). */
static void DKIM_KEY_12_spaces_inside_p(void **state)
{
	(void)state;
	assert_int_equal(decode("k=ed25519; p=11qYAYKxCrfVS/7TyWQHOg7h cvPapiMlrwIaaPcHURo="),
			 SIGNET_OK);
	assert_int_equal(rec.keylen, 32);
	assert_int_equal(decode("k=ed25519; p=11qYAYKxCrfVS/7TyWQ\r\n\tHOg7hcvPapiMlrwIaaPcHURo="),
			 SIGNET_OK);
	assert_int_equal(rec.keylen, 32);
}

/* Builds a record of exactly n bytes: an n= note pads a valid ed25519 record. */
static const char *record_of_size(size_t n)
{
	static char buf[SIGNET_MAX_KEY_RECORD + 16];
	const char *head = "v=DKIM1; k=ed25519; p=" ED_P "; n=";
	size_t h = strlen(head);
	assert_true(n > h && n < sizeof buf);
	memcpy(buf, head, h);
	memset(buf + h, 'x', n - h);
	buf[n] = '\0';
	return buf;
}

/* DKIM-KEY-16 "bound the TXT size we accept ... 10 KiB TXT → permerror key
 * record too large": SIGNET_MAX_KEY_RECORD at limit-1, limit, limit+1. */
static void DKIM_KEY_16_size_limit(void **state)
{
	(void)state;
	assert_int_equal(decode(record_of_size(SIGNET_MAX_KEY_RECORD - 1)), SIGNET_OK);
	assert_int_equal(decode(record_of_size(SIGNET_MAX_KEY_RECORD)), SIGNET_OK);
	assert_int_equal(rec.keylen, 32);
	assert_int_equal(decode(record_of_size(SIGNET_MAX_KEY_RECORD + 1)), SIGNET_ERR_LIMIT);
	assert_string_equal(err.msg,
			    "key record too large (4097 bytes, SIGNET_MAX_KEY_RECORD is 4096)");
	/* More than SIGNET_MAX_TAGS tags in a small record is a limit too. */
	char many[1024];
	size_t w = 0;
	for (int k = 0; k <= SIGNET_MAX_TAGS; k++)
		w += (size_t)snprintf(many + w, sizeof many - w, "x%d=;", k);
	assert_int_equal(decode(many), SIGNET_ERR_LIMIT);
}

/* Every parser gets a NUL in the middle. */
static void DKIM_KEY_12_nul_in_middle(void **state)
{
	(void)state;
	static const char in[] = "v=DKIM1; k=ed\0"
				 "25519; p=" ED_P;
	assert_int_equal(decode_n(in, sizeof in - 1), SIGNET_ERR_SYNTAX);
	assert_string_equal(err.msg, "invalid byte 0x00 in value of k= at offset 13");
	static const char in2[] =
		"v=DKIM1; k=ed25519; p=11qYAYKx\0CrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=";
	assert_int_equal(decode_n(in2, sizeof in2 - 1), SIGNET_ERR_SYNTAX);
}

/* Every truncation: never a crash or over-read; the reasons are the expected ones. */
static void DKIM_KEY_12_truncated_input(void **state)
{
	(void)state;
	static const char full[] = "v=DKIM1; k=ed25519; p=" ED_P;
	const size_t n = sizeof full - 1, pstart = n - strlen(ED_P);
	for (size_t len = 0; len <= n; len++) {
		char *copy = test_malloc(len ? len : 1);
		memcpy(copy, full, len);
		enum signet_status st = decode_n(copy, len);
		test_free(copy);
		if (len == n) {
			assert_int_equal(st, SIGNET_OK);
		} else if (len == pstart) {
			assert_int_equal(st, SIGNET_ERR_KEY); /* "p=": revoked */
			assert_string_equal(err.msg, "key revoked");
		} else {
			assert_int_not_equal(st, SIGNET_OK);
		}
	}
}

/* ---- public API, with crypto.c ---- */

static bool read_file(const char *name, char *buf, size_t cap, size_t *len)
{
	char path[512];
	snprintf(path, sizeof path, "%s/%s", SIGNET_TESTDATA, name);
	FILE *f = fopen(path, "rb");
	if (f == NULL)
		return false;
	*len = fread(buf, 1, cap - 1, f);
	fclose(f);
	buf[*len] = '\0';
	return true;
}

/* The TXT value for `name` in a keys file ("<name> <value>" lines). */
static bool key_value(const char *file, const char *name, char *out, size_t cap)
{
	static char text[16384];
	size_t len;
	if (!read_file(file, text, sizeof text, &len))
		return false;
	for (char *line = strtok(text, "\n"); line != NULL; line = strtok(NULL, "\n")) {
		size_t nl = strlen(name);
		if (strncmp(line, name, nl) == 0 && line[nl] == ' ') {
			snprintf(out, cap, "%s", line + nl + 1);
			return true;
		}
	}
	return false;
}

static void need_testdata(void)
{
	char buf[8];
	size_t len;
	if (!read_file("rfc8463/keys.txt", buf, sizeof buf, &len)) {
		printf("skipped: %s/rfc8463 is absent\n", SIGNET_TESTDATA);
		skip();
	}
}

static enum signet_status keyrec_parse_str(const char *s, struct signet_keyrec_info *info)
{
	memset(&err, 0, sizeof err);
	return signet_keyrec_parse((const uint8_t *)s, strlen(s), info, &err);
}

/* DKIM-ALG-03 "keys.txt parses" and DKIM-KEY-04 "SPKI ... for rsa": bits filled. */
static void DKIM_ALG_03_keyrec_parse_rfc8463_keys(void **state)
{
	(void)state;
	need_testdata();
	char v[2048];
	struct signet_keyrec_info info;
	assert_true(key_value("rfc8463/keys.txt", "brisbane._domainkey.football.example.com", v,
			      sizeof v));
	assert_int_equal(keyrec_parse_str(v, &info), SIGNET_OK);
	assert_int_equal(info.type, SIGNET_KEY_ED25519);
	assert_int_equal(info.bits, 256);
	assert_true(
		key_value("rfc8463/keys.txt", "test._domainkey.football.example.com", v, sizeof v));
	assert_int_equal(keyrec_parse_str(v, &info), SIGNET_OK);
	assert_int_equal(info.type, SIGNET_KEY_RSA);
	assert_int_equal(info.bits, 1024);
	/* keys-revoked.txt: empty ed25519 p=, corrupted RSA p=. */
	assert_true(key_value("rfc8463/keys-revoked.txt",
			      "brisbane._domainkey.football.example.com", v, sizeof v));
	assert_int_equal(keyrec_parse_str(v, &info), SIGNET_ERR_KEY);
	assert_string_equal(err.msg, "key revoked");
	assert_true(info.revoked);
	assert_true(key_value("rfc8463/keys-revoked.txt", "test._domainkey.football.example.com", v,
			      sizeof v));
	assert_int_equal(keyrec_parse_str(v, &info), SIGNET_ERR_SYNTAX);
	assert_int_equal(info.bits, 0);
	/* keys-testmode-sha1only.txt: the flags come through the public struct. */
	assert_true(key_value("rfc8463/keys-testmode-sha1only.txt",
			      "brisbane._domainkey.football.example.com", v, sizeof v));
	assert_int_equal(keyrec_parse_str(v, &info), SIGNET_OK);
	assert_false(info.sha256_allowed);
	assert_true(key_value("rfc8463/keys-testmode-sha1only.txt",
			      "test._domainkey.football.example.com", v, sizeof v));
	assert_int_equal(keyrec_parse_str(v, &info), SIGNET_OK);
	assert_true(info.testing);
	assert_int_equal(info.bits, 1024);
}

/* DKIM-KEY-15 via the public parse: a key that decodes but does not parse
 * as a public key is the crypto module's SIGNET_ERR_KEY. */
static void DKIM_KEY_15_keyrec_parse_bad_key(void **state)
{
	(void)state;
	struct signet_keyrec_info info;
	assert_int_equal(keyrec_parse_str("v=DKIM1; p=AAAAAAAA", &info), SIGNET_ERR_KEY);
	assert_int_equal(info.type, SIGNET_KEY_RSA);
	assert_int_equal(info.bits, 0);
	assert_int_equal(signet_keyrec_parse(NULL, 0, NULL, &err), SIGNET_ERR_INVAL);
}

static struct signet_key *load_key(const char *name)
{
	static char pem[8192];
	size_t len;
	struct signet_key *key = NULL;
	assert_true(read_file(name, pem, sizeof pem, &len));
	assert_int_equal(signet_key_parse((const uint8_t *)pem, len, &key, &err), SIGNET_OK);
	return key;
}

/* "True when the record's public key is the public half of key." */
static void DKIM_KEY_04_keyrec_matches_rfc8463(void **state)
{
	(void)state;
	need_testdata();
	char ed[256], rsa[1024];
	bool match = true;
	assert_true(key_value("rfc8463/keys.txt", "brisbane._domainkey.football.example.com", ed,
			      sizeof ed));
	assert_true(key_value("rfc8463/keys.txt", "test._domainkey.football.example.com", rsa,
			      sizeof rsa));
	struct signet_key *edkey = load_key("rfc8463/ed25519.key");
	struct signet_key *rsakey = load_key("rfc8463/rsa.key");
	assert_int_equal(
		signet_keyrec_matches((const uint8_t *)ed, strlen(ed), edkey, &match, &err),
		SIGNET_OK);
	assert_true(match);
	assert_int_equal(
		signet_keyrec_matches((const uint8_t *)rsa, strlen(rsa), rsakey, &match, &err),
		SIGNET_OK);
	assert_true(match);
	assert_int_equal(
		signet_keyrec_matches((const uint8_t *)ed, strlen(ed), rsakey, &match, &err),
		SIGNET_OK);
	assert_false(match);
	assert_int_equal(
		signet_keyrec_matches((const uint8_t *)rsa, strlen(rsa), edkey, &match, &err),
		SIGNET_OK);
	assert_false(match);
	match = true;
	assert_int_equal(signet_keyrec_matches((const uint8_t *)"p=", 2, edkey, &match, &err),
			 SIGNET_ERR_KEY);
	assert_false(match);
	signet_key_free(edkey);
	signet_key_free(rsakey);
}

/* ---- signet_keyrec_check: coded findings ---------------------------------- */

static struct signet_keyrec_report kr;

static void check_str(const char *s, const struct signet_key *key)
{
	memset(&err, 0, sizeof err);
	assert_int_equal(signet_keyrec_check((const uint8_t *)s, strlen(s), key, &kr, &err),
			 SIGNET_OK);
}

static const struct signet_keyrec_finding *find(enum signet_keyrec_code code)
{
	for (size_t k = 0; k < kr.n; k++)
		if (kr.f[k].code == code)
			return &kr.f[k];
	return NULL;
}

static void assert_finding(enum signet_keyrec_code code, enum signet_keyrec_severity sev,
			   const char *tag, const char *msg)
{
	const struct signet_keyrec_finding *f = find(code);
	assert_non_null(f);
	assert_int_equal(f->severity, sev);
	if (tag == NULL)
		assert_null(f->tag);
	else
		assert_string_equal(f->tag, tag);
	assert_string_equal(f->msg, msg);
	assert_true(sev == SIGNET_KEYREC_INFO || f->fix != NULL);
}

/* The record of a fresh RSA key of `bits` (the library's own generator). */
static const char *rsa_record(unsigned bits, struct signet_key **keyp)
{
	static char rec[2048];
	size_t len;
	struct signet_key *key = NULL;
	assert_int_equal(signet_key_generate(SIGNET_KEY_RSA, bits, &key, &err), SIGNET_OK);
	assert_int_equal(signet_key_dns_record(key, rec, sizeof rec, &len, &err), SIGNET_OK);
	if (keyp != NULL)
		*keyp = key;
	else
		signet_key_free(key);
	return rec;
}

/* "v=DKIM1; k=rsa; p=" with a 512-bit key, which signet cannot make
 * itself (OpenSSL directly: SubjectPublicKeyInfo, base64). */
static const char *rsa512_record(void)
{
	static char rec[512];
	char b64[256];
	EVP_PKEY *pk = EVP_RSA_gen(512);
	assert_non_null(pk);
	unsigned char *der = NULL;
	int n = i2d_PUBKEY(pk, &der);
	assert_true(n > 0);
	assert_int_equal(base64_encode_str(der, (size_t)n, b64, sizeof b64), SIGNET_OK);
	OPENSSL_free(der);
	EVP_PKEY_free(pk);
	snprintf(rec, sizeof rec, "v=DKIM1; k=rsa; p=%s", b64);
	return rec;
}

/* DKIM-KEY-14 (RFC 8301 3.2) "Verifiers MUST NOT consider signatures using
 * RSA keys of less than 1024 bits as valid signatures": a problem. */
static void DKIM_KEY_14_check_rsa_under_1024_is_problem(void **state)
{
	(void)state;
	check_str(rsa512_record(), NULL);
	assert_finding(SIGNET_KEYREC_RSA_TOO_SMALL, SIGNET_KEYREC_PROBLEM, "p",
		       "the RSA key has 512 bits; verifiers refuse keys under 1024 (RFC 8301 3.2)");
	assert_int_equal(kr.n, 1); /* no key in use: nothing else is judged */
	assert_int_equal(signet_keyrec_worst(&kr), SIGNET_KEYREC_PROBLEM);
}

/* RFC 8301 3.2 "Signers MUST use RSA keys of at least 1024 bits ... and
 * SHOULD use keys of at least 2048 bits": 1024 and 1536 warn, 2048 does not. */
static void DKIM_KEY_14_check_rsa_1024_to_2047_is_warning(void **state)
{
	(void)state;
	check_str("v=DKIM1; k=rsa; p=" RSA_P, NULL); /* 1024 bits: limit of the problem */
	assert_finding(SIGNET_KEYREC_RSA_SMALL, SIGNET_KEYREC_WARNING, "p",
		       "the RSA key has 1024 bits; signers should use at least 2048 (RFC 8301 "
		       "3.2)");
	assert_null(find(SIGNET_KEYREC_RSA_TOO_SMALL));
	assert_finding(SIGNET_KEYREC_KEY, SIGNET_KEYREC_INFO, "k", "k=rsa, 1024 bits");
	assert_int_equal(signet_keyrec_worst(&kr), SIGNET_KEYREC_WARNING);
	check_str(rsa_record(1536, NULL), NULL);
	assert_finding(SIGNET_KEYREC_RSA_SMALL, SIGNET_KEYREC_WARNING, "p",
		       "the RSA key has 1536 bits; signers should use at least 2048 (RFC 8301 "
		       "3.2)");
	check_str(rsa_record(2048, NULL), NULL); /* SIGNET_KEYREC_GOOD_RSA_BITS: no finding */
	assert_null(find(SIGNET_KEYREC_RSA_SMALL));
	assert_finding(SIGNET_KEYREC_KEY, SIGNET_KEYREC_INFO, "k", "k=rsa, 2048 bits");
	assert_int_equal(signet_keyrec_worst(&kr), SIGNET_KEYREC_INFO);
	check_str("v=DKIM1; k=ed25519; p=" ED_P, NULL); /* ed25519 has no size finding */
	assert_int_equal(kr.n, 1);
	assert_finding(SIGNET_KEYREC_KEY, SIGNET_KEYREC_INFO, "k", "k=ed25519");
}

/* DKIM-KEY-05 "An empty value means that this public key has been revoked". */
static void DKIM_KEY_05_check_revoked(void **state)
{
	(void)state;
	check_str("v=DKIM1; k=rsa; t=y; p=", NULL);
	assert_finding(SIGNET_KEYREC_REVOKED, SIGNET_KEYREC_PROBLEM, "p",
		       "the key is revoked (empty p=, RFC 6376 3.6.1)");
	assert_int_equal(kr.n, 1); /* t=y of a revoked key is not judged */
	assert_true(kr.info.revoked);
}

/* DKIM-KEY-04 "k= unknown: the record is unusable". */
static void DKIM_KEY_04_check_unknown_k(void **state)
{
	(void)state;
	check_str("v=DKIM1; k=dsa; p=" RSA_P, NULL);
	assert_finding(SIGNET_KEYREC_UNKNOWN_K, SIGNET_KEYREC_PROBLEM, "k",
		       "unknown key type k=dsa");
	assert_int_equal(kr.n, 1);
}

/* DKIM-KEY-06, -07, -08: h= without sha256 and s= without email can never
 * pass; t=y warns; t=s is worth knowing. */
static void DKIM_KEY_06_07_08_check_tags(void **state)
{
	(void)state;
	check_str("v=DKIM1; k=ed25519; h=sha1; s=tlsrpt; t=y:s; p=" ED_P, NULL);
	assert_int_equal(kr.info.type, SIGNET_KEY_ED25519);
	assert_finding(SIGNET_KEYREC_NO_SHA256, SIGNET_KEYREC_PROBLEM, "h",
		       "h= does not allow sha256, so no rsa-sha256 or ed25519-sha256 signature "
		       "can pass (RFC 8301 3.1)");
	assert_finding(SIGNET_KEYREC_NO_EMAIL, SIGNET_KEYREC_PROBLEM, "s",
		       "s= does not allow email (RFC 6376 3.6.1)");
	assert_finding(SIGNET_KEYREC_TESTING, SIGNET_KEYREC_WARNING, "t",
		       "t=y (testing): verifiers may treat the signed mail as unsigned (RFC 6376 "
		       "3.6.1)");
	assert_finding(SIGNET_KEYREC_STRICT, SIGNET_KEYREC_INFO, "t",
		       "t=s: the i= domain of signatures must be exactly d=");
	/* in the order of the codes */
	for (size_t k = 1; k < kr.n; k++)
		assert_true(kr.f[k - 1].code < kr.f[k].code);
	check_str("v=DKIM1; k=ed25519; h=sha1:sha256; s=*; t=x; p=" ED_P, NULL);
	assert_null(find(SIGNET_KEYREC_NO_SHA256));
	assert_null(find(SIGNET_KEYREC_NO_EMAIL));
	assert_null(find(SIGNET_KEYREC_TESTING));
	assert_null(find(SIGNET_KEYREC_STRICT));
}

/* DKIM-KEY-12: quotes and backslashes pasted from zone files, named by kind. */
static void DKIM_KEY_12_check_quotes_and_backslashes(void **state)
{
	(void)state;
	check_str("\"v=DKIM1; k=ed25519; p=" ED_P "\"", NULL);
	assert_finding(SIGNET_KEYREC_QUOTES, SIGNET_KEYREC_PROBLEM, NULL,
		       "the value is surrounded by double quotes, which are stored as text");
	assert_int_equal(kr.n, 1);
	check_str("v=DKIM1; k=rsa; p=MIGfMA0\" \"GCSqGSIb3DQEBAQUAA4GNADCBiQKBgQDkHlOQoBTzWRiGs5V",
		  NULL);
	assert_finding(SIGNET_KEYREC_QUOTES, SIGNET_KEYREC_PROBLEM, NULL,
		       "the value contains \"...\" \"...\" with the quotes stored as text: the "
		       "zone-file form was pasted into a field that takes the bare value");
	check_str("v=DKIM1; k=\"ed25519\"; p=" ED_P, NULL);
	assert_finding(SIGNET_KEYREC_QUOTES, SIGNET_KEYREC_PROBLEM, NULL,
		       "the value contains double quotes (\"), stored as text");
	check_str("v=DKIM1\\; k=ed25519\\; p=" ED_P, NULL);
	assert_finding(SIGNET_KEYREC_BACKSLASH, SIGNET_KEYREC_PROBLEM, NULL,
		       "the value contains a backslash (e.g. \\;), stored as text");
	assert_null(find(SIGNET_KEYREC_UNUSABLE)); /* the backslash is the reason */
	/* a quote in n= is a note; a backslash there still works: a warning */
	check_str("v=DKIM1; n=say \"hi\" \\o/; k=ed25519; p=" ED_P, NULL);
	assert_null(find(SIGNET_KEYREC_QUOTES));
	assert_finding(SIGNET_KEYREC_BACKSLASH, SIGNET_KEYREC_WARNING, NULL,
		       "the value contains a backslash (e.g. \\;), stored as text");
}

/* RFC 6376 3.6.1 key-p-tag allows FWS inside p=; legal, usually a paste. */
static void DKIM_KEY_12_check_space_inside_p(void **state)
{
	(void)state;
	check_str("v=DKIM1; k=ed25519; p=11qYAYKxCrfVS/7TyWQHOg7h cvPapiMlrwIaaPcHURo=", NULL);
	assert_finding(SIGNET_KEYREC_P_SPACE, SIGNET_KEYREC_WARNING, "p",
		       "p= contains white space at octet 46: allowed by RFC 6376 3.6.1 but "
		       "usually a paste error");
	assert_int_equal(kr.at, 46);
	check_str("v=DKIM1; k=ed25519; p= " ED_P " ", NULL); /* around p=: not inside */
	assert_null(find(SIGNET_KEYREC_P_SPACE));
}

/* Syntax the parser refuses is one UNUSABLE finding with the parser's reason. */
static void DKIM_KEY_03_check_unusable(void **state)
{
	(void)state;
	check_str("k=ed25519; v=DKIM1; p=" ED_P, NULL);
	assert_finding(SIGNET_KEYREC_UNUSABLE, SIGNET_KEYREC_PROBLEM, NULL,
		       "not a valid DKIM key record: v= must be DKIM1 and come first (RFC 6376 "
		       "3.6.1)");
	assert_int_equal(kr.n, 1);
	static const char nul[] = "v=DKIM1; k=ed\0"
				  "25519; p=" ED_P; /* NUL in the middle */
	memset(&err, 0, sizeof err);
	assert_int_equal(signet_keyrec_check((const uint8_t *)nul, sizeof nul - 1, NULL, &kr, &err),
			 SIGNET_OK);
	assert_int_equal(signet_keyrec_worst(&kr), SIGNET_KEYREC_PROBLEM);
	assert_int_equal(signet_keyrec_check(NULL, 1, NULL, &kr, &err), SIGNET_ERR_INVAL);
	assert_int_equal(signet_keyrec_check(NULL, 0, NULL, NULL, &err), SIGNET_ERR_INVAL);
	check_str("", NULL); /* empty: no p= */
	assert_finding(SIGNET_KEYREC_UNUSABLE, SIGNET_KEYREC_PROBLEM, NULL,
		       "not a valid DKIM key record: missing p= (RFC 6376 3.6.1)");
}

/* With a private key: MATCH (info) or MISMATCH (problem). */
static void DKIM_KEY_04_check_against_private_key(void **state)
{
	(void)state;
	struct signet_key *key = NULL, *other = NULL;
	char rec[2048];
	snprintf(rec, sizeof rec, "%s", rsa_record(2048, &key));
	(void)rsa_record(2048, &other);
	check_str(rec, key);
	assert_finding(SIGNET_KEYREC_MATCH, SIGNET_KEYREC_INFO, "p",
		       "the public half of the private key");
	assert_null(find(SIGNET_KEYREC_MISMATCH));
	check_str(rec, other);
	assert_finding(SIGNET_KEYREC_MISMATCH, SIGNET_KEYREC_PROBLEM, "p",
		       "the published key is not the public half of the private key");
	assert_null(find(SIGNET_KEYREC_MATCH));
	check_str("v=DKIM1; k=ed25519; p=" ED_P, key); /* another type: a mismatch */
	assert_non_null(find(SIGNET_KEYREC_MISMATCH));
	signet_key_free(key);
	signet_key_free(other);
}

static void keyrec_check_severity_names(void **state)
{
	(void)state;
	assert_string_equal(signet_keyrec_severity_name(SIGNET_KEYREC_PROBLEM), "problem");
	assert_string_equal(signet_keyrec_severity_name(SIGNET_KEYREC_WARNING), "warning");
	assert_string_equal(signet_keyrec_severity_name(SIGNET_KEYREC_INFO), "info");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(DKIM_KEY_04_defaults),
		cmocka_unit_test(DKIM_KEY_03_v_first_and_DKIM1),
		cmocka_unit_test(DKIM_KEY_04_key_types),
		cmocka_unit_test(DKIM_ALG_03_ed25519_length),
		cmocka_unit_test(DKIM_KEY_05_revoked),
		cmocka_unit_test(DKIM_KEY_06_h_hashes),
		cmocka_unit_test(DKIM_KEY_07_service_types),
		cmocka_unit_test(DKIM_KEY_08_t_flags),
		cmocka_unit_test(DKIM_KEY_10_13_unknown_tags_ignored),
		cmocka_unit_test(DKIM_KEY_12_syntax_and_paste_mistakes),
		cmocka_unit_test(DKIM_KEY_12_spaces_inside_p),
		cmocka_unit_test(DKIM_KEY_16_size_limit),
		cmocka_unit_test(DKIM_KEY_12_nul_in_middle),
		cmocka_unit_test(DKIM_KEY_12_truncated_input),
		cmocka_unit_test(DKIM_ALG_03_keyrec_parse_rfc8463_keys),
		cmocka_unit_test(DKIM_KEY_15_keyrec_parse_bad_key),
		cmocka_unit_test(DKIM_KEY_04_keyrec_matches_rfc8463),
		cmocka_unit_test(DKIM_KEY_14_check_rsa_under_1024_is_problem),
		cmocka_unit_test(DKIM_KEY_14_check_rsa_1024_to_2047_is_warning),
		cmocka_unit_test(DKIM_KEY_05_check_revoked),
		cmocka_unit_test(DKIM_KEY_04_check_unknown_k),
		cmocka_unit_test(DKIM_KEY_06_07_08_check_tags),
		cmocka_unit_test(DKIM_KEY_12_check_quotes_and_backslashes),
		cmocka_unit_test(DKIM_KEY_12_check_space_inside_p),
		cmocka_unit_test(DKIM_KEY_03_check_unusable),
		cmocka_unit_test(DKIM_KEY_04_check_against_private_key),
		cmocka_unit_test(keyrec_check_severity_names),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
