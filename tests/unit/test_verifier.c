/* test_verifier.c: the verifier (lib/verifier.c) against RFC 8463 A.3,
 * RFC 6376 Appendix A, and messages signed here, one test per requirement
 * of spec/dkim.md section 7 and the key checks of section 3. */
#include <signet/ar.h>

#include "testutil.h"

#define LONG_LABEL "llllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllll" /* 64 */

static char results[256];

static char *keys_text(const char *rel)
{
	size_t len;
	return (char *)read_testdata(rel, &len);
}

static void expect(const char *msg_rel, const char *keys_rel, const char *want)
{
	size_t len;
	uint8_t *msg = read_testdata(msg_rel, &len);
	char *keys = keys_text(keys_rel);
	struct signet_verifier *v = tu_verify(msg, len, keys);
	assert_string_equal(tu_results(v, results, sizeof results), want);
	signet_verifier_free(v);
	free(keys);
	free(msg);
}

/* A message signed here with the RFC 8463 keys (rsa + ed25519), t = 1000. */
static char *sign_rfc8463(const char *msg, const struct signet_sign_params *extra)
{
	struct signet_key *rsa = load_key("rfc8463/rsa.key");
	struct signet_key *ed = load_key("rfc8463/ed25519.key");
	struct signet_sign_params p = {
		.domain = "football.example.com",
		.selector = "test",
		.key = rsa,
		.hdr_canon = SIGNET_CANON_RELAXED,
		.body_canon = SIGNET_CANON_RELAXED,
		.timestamp = 1000,
	};
	if (extra != NULL) {
		p = *extra;
		p.key = extra->key == NULL ? rsa : ed;
	}
	struct signet_error err = {0};
	char *out = tu_sign(&p, 1, (const uint8_t *)msg, strlen(msg), &err);
	if (out == NULL)
		fail_msg("sign: %s", err.msg);
	signet_key_free(rsa);
	signet_key_free(ed);
	return out;
}

static const char *plain_msg = "From: Joe <joe@football.example.com>\r\n"
			       "To: Suzie <suzie@shopping.example.net>\r\n"
			       "Subject: dinner\r\n"
			       "\r\n"
			       "Hi.\r\n";

static struct signet_verifier *verify_str(const char *msg, const char *keys)
{
	return tu_verify((const uint8_t *)msg, strlen(msg), keys);
}

static void DKIM_VER_01_each_signature_independent(void **state)
{
	/* DKIM-VER-01: evaluate each DKIM-Signature independently; pass + fail → "pass,fail". */
	(void)state;
	REQUIRE_TESTDATA();
	expect("rfc8463/signed.eml", "rfc8463/keys.txt", "pass,pass");
	expect("rfc8463/signed.eml", "rfc8463/keys-testmode-sha1only.txt", "permerror,pass");
}

static void DKIM_VER_02_body_hash_mismatch(void **state)
{
	/* DKIM-VER-02: body hash mismatch → fail "body hash did not verify". */
	(void)state;
	REQUIRE_TESTDATA();
	size_t len;
	uint8_t *msg = read_testdata("rfc8463/tampered-body.eml", &len);
	char *keys = keys_text("rfc8463/keys.txt");
	struct signet_verifier *v = tu_verify(msg, len, keys);
	assert_int_equal(signet_verifier_count(v), 2);
	for (size_t k = 0; k < 2; k++) {
		assert_int_equal(signet_verifier_result(v, k)->result, SIGNET_RESULT_FAIL);
		assert_string_equal(signet_verifier_result(v, k)->reason,
				    "body hash did not verify");
	}
	signet_verifier_free(v);
	free(keys);
	free(msg);
}

static void DKIM_VER_03_signature_mismatch(void **state)
{
	/* DKIM-VER-03: signature mismatch → fail "signature did not verify". */
	(void)state;
	REQUIRE_TESTDATA();
	size_t len;
	uint8_t *msg = read_testdata("rfc8463/tampered-subject.eml", &len);
	char *keys = keys_text("rfc8463/keys.txt");
	struct signet_verifier *v = tu_verify(msg, len, keys);
	assert_int_equal(signet_verifier_result(v, 0)->result, SIGNET_RESULT_FAIL);
	assert_string_equal(signet_verifier_result(v, 0)->reason, "signature did not verify");
	signet_verifier_free(v);
	free(keys);
	free(msg);
}

static void DKIM_HDR_03_oversigned_from_added(void **state)
{
	/* DKIM-HDR-03: an instance added above an oversigned field breaks the signature. */
	(void)state;
	REQUIRE_TESTDATA();
	expect("rfc8463/added-from.eml", "rfc8463/keys.txt", "fail,fail");
}

static void DKIM_VER_04_at_most_16_signatures(void **state)
{
	/* DKIM-VER-04: at most 16 signatures verified, the rest reported "not checked". */
	(void)state;
	REQUIRE_TESTDATA();
	char *signed_msg = sign_rfc8463(plain_msg, NULL);
	const char *sig_end = strstr(signed_msg, "\r\nFrom:");
	assert_non_null(sig_end);
	size_t siglen = (size_t)(sig_end - signed_msg) + 2;
	size_t cap = siglen * 20 + strlen(plain_msg) + 1;
	char *many = malloc(cap);
	many[0] = '\0';
	for (int k = 0; k < 20; k++)
		strncat(many, signed_msg, siglen);
	strcat(many, plain_msg);
	char *keys = keys_text("rfc8463/keys.txt");
	struct signet_verifier *v = verify_str(many, keys);
	assert_int_equal(signet_verifier_count(v), SIGNET_MAX_SIGNATURES);
	assert_int_equal(signet_verifier_unchecked(v), 4);
	for (size_t k = 0; k < signet_verifier_count(v); k++)
		assert_int_equal(signet_verifier_result(v, k)->result, SIGNET_RESULT_PASS);
	signet_verifier_free(v);
	free(keys);
	free(many);
	free(signed_msg);
}

static void DKIM_VER_05_rsa_sha1_never_passes(void **state)
{
	/* DKIM-VER-05: rsa-sha1 → permerror "rsa-sha1 not acceptable (RFC 8301)". */
	(void)state;
	REQUIRE_TESTDATA();
	const char *msg =
		"DKIM-Signature: v=1; a=rsa-sha1; d=football.example.com; s=test; h=from;\r\n"
		"  bh=2jmj7l5rSw0yVb/vlWAYkK/YBwk=; b=AAAA\r\n"
		"From: a@example.com\r\n\r\n";
	char *keys = keys_text("rfc8463/keys.txt");
	struct signet_verifier *v = verify_str(msg, keys);
	free(keys);
	const struct signet_sig_result *r = signet_verifier_result(v, 0);
	assert_int_equal(r->result, SIGNET_RESULT_PERMERROR);
	assert_non_null(strstr(r->reason, "rsa-sha1"));
	assert_non_null(strstr(r->reason, "RFC 8301"));
	signet_verifier_free(v);
}

static void DKIM_VER_07_timestamp_in_future(void **state)
{
	/* DKIM-VER-07: t= more than 300 s in the future → permerror. */
	(void)state;
	REQUIRE_TESTDATA();
	char *msg = sign_rfc8463(plain_msg, NULL); /* t=1000 */
	char *keys = keys_text("rfc8463/keys.txt");
	struct signet_verify_options o = {.now = 1000 - 301};
	struct signet_verifier *v = tu_verify_opts((uint8_t *)msg, strlen(msg), keys, &o, 0);
	assert_int_equal(signet_verifier_result(v, 0)->result, SIGNET_RESULT_PERMERROR);
	assert_non_null(strstr(signet_verifier_result(v, 0)->reason, "future"));
	signet_verifier_free(v);
	o.now = 1000 - 300;
	v = tu_verify_opts((uint8_t *)msg, strlen(msg), keys, &o, 0);
	assert_int_equal(signet_verifier_result(v, 0)->result, SIGNET_RESULT_PASS);
	signet_verifier_free(v);
	free(keys);
	free(msg);
}

static void DKIM_SIG_11_expired(void **state)
{
	/* DKIM-SIG-11: now > x → permerror "signature expired". */
	(void)state;
	REQUIRE_TESTDATA();
	struct signet_sign_params p = {.domain = "football.example.com",
				       .selector = "test",
				       .hdr_canon = SIGNET_CANON_RELAXED,
				       .timestamp = 1000,
				       .expire = 2000};
	char *msg = sign_rfc8463(plain_msg, &p);
	char *keys = keys_text("rfc8463/keys.txt");
	struct signet_verify_options o = {.now = 2001};
	struct signet_verifier *v = tu_verify_opts((uint8_t *)msg, strlen(msg), keys, &o, 0);
	assert_int_equal(signet_verifier_result(v, 0)->result, SIGNET_RESULT_PERMERROR);
	assert_non_null(strstr(signet_verifier_result(v, 0)->reason, "signature expired"));
	signet_verifier_free(v);
	o.now = 2000;
	v = tu_verify_opts((uint8_t *)msg, strlen(msg), keys, &o, 0);
	assert_int_equal(signet_verifier_result(v, 0)->result, SIGNET_RESULT_PASS);
	signet_verifier_free(v);
	free(keys);
	free(msg);
}

static void DKIM_VER_09_key_problem_reported_first(void **state)
{
	/* DKIM-VER-09: a signature with both a bad key and a bad body hash reports the key problem. */
	(void)state;
	REQUIRE_TESTDATA();
	expect("rfc8463/tampered-body.eml", "rfc8463/keys-revoked.txt", "permerror,permerror");
	size_t len;
	uint8_t *msg = read_testdata("rfc8463/tampered-body.eml", &len);
	char *keys = keys_text("rfc8463/keys-revoked.txt");
	struct signet_verifier *v = tu_verify(msg, len, keys);
	assert_non_null(strstr(signet_verifier_result(v, 0)->reason, "revoked"));
	signet_verifier_free(v);
	free(keys);
	free(msg);
}

static void DKIM_VER_11_third_party_signature(void **state)
{
	/* DKIM-VER-11: a signature whose d= is unrelated to From still gets a result. */
	(void)state;
	REQUIRE_TESTDATA();
	const char *msg = "From: someone@elsewhere.example\r\nSubject: x\r\n\r\nbody\r\n";
	char *signed_msg = sign_rfc8463(msg, NULL);
	char *keys = keys_text("rfc8463/keys.txt");
	struct signet_verifier *v = verify_str(signed_msg, keys);
	assert_string_equal(tu_results(v, results, sizeof results), "pass");
	assert_string_equal(signet_verifier_result(v, 0)->d, "football.example.com");
	signet_verifier_free(v);
	free(keys);
	free(signed_msg);
}

static void DKIM_VER_12_one_query_per_key(void **state)
{
	/* DKIM-VER-12: two signatures with the same selector → one lookup. */
	(void)state;
	REQUIRE_TESTDATA();
	char *once = sign_rfc8463(plain_msg, NULL);
	char *twice = sign_rfc8463(once, NULL);
	struct signet_verifier *v = NULL;
	struct signet_error err = {0};
	static const struct signet_message_handler h = {tu_ver_header, tu_ver_eoh, tu_ver_body};
	assert_int_equal(signet_verifier_new(NULL, &v, &err), SIGNET_OK);
	assert_int_equal(tu_feed(&h, v, (uint8_t *)twice, strlen(twice), 0, &err), SIGNET_OK);
	struct signet_query q;
	assert_true(signet_verifier_next_query(v, &q));
	assert_string_equal(q.name, "test._domainkey.football.example.com");
	assert_false(signet_verifier_next_query(v, &q));
	signet_verifier_free(v);
	free(once);
	free(twice);
}

static void DKIM_VER_13_bad_keys_distinct_reasons(void **state)
{
	/* DKIM-VER-13: key parse failure, wrong key type, key too small: permerror, distinct reasons. */
	(void)state;
	REQUIRE_TESTDATA();
	char *msg = sign_rfc8463(plain_msg, NULL);
	const char *cases[] = {
		"test._domainkey.football.example.com v=DKIM1; k=rsa; p=AAAAAAAA",
		"test._domainkey.football.example.com v=DKIM1; k=ed25519; "
		"p=11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=",
		"test._domainkey.football.example.com v=DKIM1; k=rsa; p=",
		"test._domainkey.football.example.com v=DKIM1; k=rsa; "
		"p="
		"MFwwDQYJKoZIhvcNAQEBBQADSwAwSAJBAL6cAqbTJDWAMnICn0HP2JpR2aUK1YtmbEYLZFf8HJYZFS8EO7"
		"zvAWUpHDiFctji2rM0TN/bVtc+mp9ikqbE+z0CAwEAAQ==",
	};
	char reasons[4][192];
	for (size_t k = 0; k < 4; k++) {
		struct signet_verifier *v = verify_str(msg, cases[k]);
		assert_int_equal(signet_verifier_result(v, 0)->result, SIGNET_RESULT_PERMERROR);
		snprintf(reasons[k], sizeof reasons[k], "%s", signet_verifier_result(v, 0)->reason);
		signet_verifier_free(v);
	}
	assert_non_null(strstr(reasons[1], "does not match"));
	assert_non_null(strstr(reasons[2], "revoked"));
	assert_non_null(strstr(reasons[3], "small"));
	for (size_t a = 0; a < 4; a++)
		for (size_t b = a + 1; b < 4; b++)
			assert_string_not_equal(reasons[a], reasons[b]);
	free(msg);
}

static void DKIM_VER_14_multiple_from_noted(void **state)
{
	/* DKIM-VER-14: a second From above a non-oversigned signed one: pass + note "multiple From fields". */
	(void)state;
	REQUIRE_TESTDATA();
	struct signet_sign_params p = {.domain = "football.example.com",
				       .selector = "test",
				       .hdr_canon = SIGNET_CANON_RELAXED,
				       .timestamp = 1000,
				       .headers = "from:to:subject"};
	char *msg = sign_rfc8463(plain_msg, &p);
	char *keys = keys_text("rfc8463/keys.txt");
	/* Put a forged From right after the signature. */
	char *at = strstr(msg, "From: Joe");
	size_t head = (size_t)(at - msg);
	char *forged = malloc(strlen(msg) + 64);
	memcpy(forged, msg, head);
	strcpy(forged + head, "From: evil@attacker.example\r\n");
	strcat(forged, at);
	struct signet_verifier *v = verify_str(forged, keys);
	assert_int_equal(signet_verifier_result(v, 0)->result, SIGNET_RESULT_PASS);
	assert_non_null(strstr(signet_verifier_result(v, 0)->notes, "multiple From fields"));
	signet_verifier_free(v);
	free(forged);
	free(keys);
	free(msg);
}

static void DKIM_VER_15_one_pass_is_enough(void **state)
{
	/* DKIM-VER-15: fail,pass message: the pass stands, with its d=. */
	(void)state;
	REQUIRE_TESTDATA();
	char *msg = sign_rfc8463(plain_msg, NULL);
	char *keys = keys_text("rfc8463/keys.txt");
	/* A second, broken signature on top. */
	char *both = malloc(strlen(msg) + 256);
	strcpy(both,
	       "DKIM-Signature: v=1; a=rsa-sha256; d=football.example.com; s=test; h=from;\r\n"
	       " bh=47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=; b=AAAA\r\n");
	strcat(both, msg);
	struct signet_verifier *v = verify_str(both, keys);
	assert_string_equal(tu_results(v, results, sizeof results), "fail,pass");
	assert_string_equal(signet_verifier_result(v, 1)->d, "football.example.com");
	signet_verifier_free(v);
	free(both);
	free(keys);
	free(msg);
}

static void DKIM_KEY_02_several_records(void **state)
{
	/* DKIM-KEY-02: several TXT RRs: first usable one, with "multiple key records" noted. */
	(void)state;
	REQUIRE_TESTDATA();
	char *msg = sign_rfc8463(plain_msg, NULL);
	char *good = keys_text("rfc8463/keys.txt");
	char *line = strstr(good, "test._domainkey");
	char *keys = malloc(strlen(line) + 128);
	strcpy(keys, "test._domainkey.football.example.com garbage record\n");
	strcat(keys, line);
	struct signet_verifier *v = verify_str(msg, keys);
	assert_int_equal(signet_verifier_result(v, 0)->result, SIGNET_RESULT_PASS);
	assert_non_null(strstr(signet_verifier_result(v, 0)->notes, "multiple key records"));
	signet_verifier_free(v);
	free(keys);
	free(good);
	free(msg);
}

static void DKIM_KEY_11_nxdomain_and_tempfail(void **state)
{
	/* DKIM-KEY-11: NXDOMAIN → permerror "no key for signature"; timeout/SERVFAIL → temperror. */
	(void)state;
	REQUIRE_TESTDATA();
	char *msg = sign_rfc8463(plain_msg, NULL);
	struct signet_verifier *v = verify_str(msg, "");
	assert_int_equal(signet_verifier_result(v, 0)->result, SIGNET_RESULT_PERMERROR);
	assert_non_null(strstr(signet_verifier_result(v, 0)->reason, "no key for signature"));
	signet_verifier_free(v);
	v = verify_str(msg, "#!temperror test._domainkey.football.example.com\n");
	assert_int_equal(signet_verifier_result(v, 0)->result, SIGNET_RESULT_TEMPERROR);
	signet_verifier_free(v);
	free(msg);
}

static void DKIM_KEY_08_testing_and_strict(void **state)
{
	/* DKIM-KEY-08: t=y reported as test mode; t=s with i= in a subdomain → permerror. */
	(void)state;
	REQUIRE_TESTDATA();
	expect("rfc8463/signed.eml", "rfc8463/keys-testmode-sha1only.txt", "permerror,pass");
	size_t len;
	uint8_t *m = read_testdata("rfc8463/signed.eml", &len);
	char *keys = keys_text("rfc8463/keys-testmode-sha1only.txt");
	struct signet_verifier *v = tu_verify(m, len, keys);
	assert_true(signet_verifier_result(v, 1)->testing);
	assert_non_null(strstr(signet_verifier_result(v, 1)->notes, "test mode"));
	signet_verifier_free(v);
	free(keys);
	free(m);
	struct signet_sign_params p = {.domain = "football.example.com",
				       .selector = "test",
				       .hdr_canon = SIGNET_CANON_RELAXED,
				       .timestamp = 1000,
				       .auid = "joe@mail.football.example.com"};
	char *msg = sign_rfc8463(plain_msg, &p);
	char *good = keys_text("rfc8463/keys.txt");
	char *rsa = strstr(good, "test._domainkey");
	char strict[1024];
	snprintf(strict, sizeof strict, "test._domainkey.football.example.com v=DKIM1; t=s; %s",
		 strstr(rsa, "k=rsa"));
	v = verify_str(msg, strict);
	assert_int_equal(signet_verifier_result(v, 0)->result, SIGNET_RESULT_PERMERROR);
	assert_non_null(strstr(signet_verifier_result(v, 0)->reason, "t=s"));
	signet_verifier_free(v);
	free(good);
	free(msg);
}

static void DKIM_SIG_09_l_tag(void **state)
{
	/* DKIM-SIG-09: l= covers the first octets; extra content is noted (honour) or policy. */
	(void)state;
	REQUIRE_TESTDATA();
	expect("opendkim/t-test28.eml", "opendkim/keys.txt", "pass");
	size_t len;
	uint8_t *msg = read_testdata("opendkim/t-test28.eml", &len);
	char *keys = keys_text("opendkim/keys.txt");
	struct signet_verifier *v = tu_verify(msg, len, keys);
	const struct signet_sig_result *r = signet_verifier_result(v, 0);
	assert_true(r->has_l);
	assert_non_null(strstr(r->notes, "after l= are unsigned"));
	signet_verifier_free(v);
	struct signet_verify_options o = {.l_policy = SIGNET_L_POLICY_UNSIGNED};
	v = tu_verify_opts(msg, len, keys, &o, 0);
	assert_int_equal(signet_verifier_result(v, 0)->result, SIGNET_RESULT_POLICY);
	assert_non_null(
		strstr(signet_verifier_result(v, 0)->reason, "content after l= is unsigned"));
	signet_verifier_free(v);
	free(keys);
	free(msg);
}

static void DKIM_SIG_13_simple_folded_b(void **state)
{
	/* DKIM-SIG-13: simple/simple with b= folded over lines verifies; b= value and its FWS are emptied. */
	(void)state;
	REQUIRE_TESTDATA();
	struct signet_sign_params p = {
		.domain = "football.example.com", .selector = "test", .timestamp = 1000};
	char *msg = sign_rfc8463(plain_msg, &p);
	char *keys = keys_text("rfc8463/keys.txt");
	assert_non_null(strstr(msg, "c=simple/simple"));
	struct signet_verifier *v = verify_str(msg, keys);
	assert_string_equal(tu_results(v, results, sizeof results), "pass");
	signet_verifier_free(v);
	free(keys);
	free(msg);
}

static void DKIM_HDR_08_absent_names_legal(void **state)
{
	/* DKIM-HDR-08: names in h= absent from the message are legal: h=from:x-absent verifies. */
	(void)state;
	REQUIRE_TESTDATA();
	struct signet_sign_params p = {.domain = "football.example.com",
				       .selector = "test",
				       .hdr_canon = SIGNET_CANON_RELAXED,
				       .timestamp = 1000,
				       .headers = "from:x-absent:x-absent"};
	char *msg = sign_rfc8463(plain_msg, &p);
	assert_non_null(strstr(msg, "x-absent"));
	char *keys = keys_text("rfc8463/keys.txt");
	struct signet_verifier *v = verify_str(msg, keys);
	assert_string_equal(tu_results(v, results, sizeof results), "pass");
	signet_verifier_free(v);
	free(keys);
	free(msg);
}

static void DKIM_CANON_15_rfc6376_appendix_a(void **state)
{
	/* DKIM-CANON-15: RFC 6376 Appendix A verifies only with errata 3192 and 4926 applied. */
	(void)state;
	REQUIRE_TESTDATA();
	expect("rfc6376/signed-errata-corrected.eml", "rfc6376/keys.txt", "pass");
	expect("rfc6376/signed-double-space-body.eml", "rfc6376/keys.txt", "fail");
}

static void DKIM_CANON_06_any_chunking(void **state)
{
	/* DKIM-CANON-06: same results whatever the chunking (1-byte and odd chunks). */
	(void)state;
	REQUIRE_TESTDATA();
	size_t len;
	uint8_t *msg = read_testdata("rfc8463/signed.eml", &len);
	char *keys = keys_text("rfc8463/keys.txt");
	size_t chunks[] = {1, 2, 3, 7, 64, 1000};
	for (size_t k = 0; k < sizeof chunks / sizeof chunks[0]; k++) {
		struct signet_verifier *v = tu_verify_opts(msg, len, keys, NULL, chunks[k]);
		assert_string_equal(tu_results(v, results, sizeof results), "pass,pass");
		signet_verifier_free(v);
	}
	free(keys);
	free(msg);
}

static void DKIM_ERR_05_pass_carries_d(void **state)
{
	/* DKIM-ERR-05: the result of a pass always carries d= (SDID) for later stages. */
	(void)state;
	REQUIRE_TESTDATA();
	size_t len;
	uint8_t *msg = read_testdata("rfc8463/signed.eml", &len);
	char *keys = keys_text("rfc8463/keys.txt");
	struct signet_verifier *v = tu_verify(msg, len, keys);
	for (size_t k = 0; k < 2; k++) {
		assert_int_equal(signet_verifier_result(v, k)->result, SIGNET_RESULT_PASS);
		assert_string_equal(signet_verifier_result(v, k)->d, "football.example.com");
	}
	assert_string_equal(signet_verifier_result(v, 0)->a, "ed25519-sha256");
	assert_string_equal(signet_verifier_result(v, 1)->s, "test");
	signet_verifier_free(v);
	free(keys);
	free(msg);
}

/* The explain data of result k (explain was on: never NULL). */
static const struct signet_sig_explain *X(const struct signet_verifier *v, size_t k)
{
	const struct signet_sig_explain *x = signet_verifier_explain(v, k);
	assert_non_null(x);
	return x;
}

static void explain_keeps_steps_and_input(void **state)
{
	/* verify --explain relies on the steps and the header hash input. */
	(void)state;
	REQUIRE_TESTDATA();
	size_t len;
	uint8_t *msg = read_testdata("rfc8463/signed.eml", &len);
	char *keys = keys_text("rfc8463/keys.txt");
	struct signet_verify_options o = {.explain = true};
	struct signet_verifier *v = tu_verify_opts(msg, len, keys, &o, 0);
	const struct signet_sig_result *r = signet_verifier_result(v, 0);
	const struct signet_sig_explain *x = X(v, 0);
	assert_int_equal(x->nsteps, 6);
	assert_string_equal(x->steps[0].name, "tags");
	assert_string_equal(x->steps[5].name, "signature");
	assert_string_equal(r->bh_computed, "2jUSOH9NhtVGCQWNr9BrIAPreKQjO6Sn7XIkfJVOzv8=");
	assert_non_null(x->hash_input);
	assert_memory_equal(x->hash_input, "from:Joe SixPack <joe@football.example.com>\r\n", 45);
	signet_verifier_free(v);
	free(keys);
	free(msg);
}

/* ---- explain: where a body changed (signet verify --explain) ---- */

/* Signs a message with body (body canonicalization bc), replaces the
 * signed body with tail, verifies with explain in chunks of `chunk` bytes. */
static struct signet_verifier *explain_run(enum signet_canon bc, const char *body, const char *tail,
					   size_t chunk, char **signed_out)
{
	struct signet_sign_params p = {.domain = "football.example.com",
				       .selector = "test",
				       .hdr_canon = SIGNET_CANON_RELAXED,
				       .body_canon = bc,
				       .timestamp = 1000};
	char msg[1024];
	snprintf(msg, sizeof msg, "From: Joe <joe@football.example.com>\r\nSubject: x\r\n\r\n%s",
		 body);
	char *sig = sign_rfc8463(msg, &p);
	char *hdr_end = strstr(sig, "\r\n\r\n");
	assert_non_null(hdr_end);
	size_t hl = (size_t)(hdr_end - sig) + 4;
	size_t tl = strlen(tail);
	char *rx = malloc(hl + tl + 1);
	memcpy(rx, sig, hl);
	memcpy(rx + hl, tail, tl + 1);
	char *keys = keys_text("rfc8463/keys.txt");
	struct signet_verify_options o = {.explain = true};
	struct signet_verifier *v = tu_verify_opts((uint8_t *)rx, hl + tl, keys, &o, chunk);
	free(keys);
	free(rx);
	if (signed_out != NULL)
		*signed_out = sig;
	else
		free(sig);
	return v;
}

static void assert_line(const struct signet_explain_line *l, const char *want)
{
	assert_int_equal(l->len, strlen(want));
	assert_memory_equal(l->p, want, l->len);
	assert_false(l->cut);
}

static void DKIM_VER_02_explain_footer_added(void **state)
{
	/* DKIM-VER-02: body hash mismatch → fail; with explain, the longest signed
	 * prefix (2 lines, 23 octets) and the lines added after it, at any chunking. */
	(void)state;
	REQUIRE_TESTDATA();
	static const size_t chunks[] = {0, 1, 2, 3, 7};
	for (size_t c = 0; c < sizeof chunks / sizeof chunks[0]; c++) {
		for (int bc = SIGNET_CANON_SIMPLE; bc <= SIGNET_CANON_RELAXED; bc++) {
			struct signet_verifier *v =
				explain_run((enum signet_canon)bc, "Hi all,\r\ndinner at 8.\r\n",
					    "Hi all,\r\ndinner at 8.\r\n\r\n-- \r\nList "
					    "footer\r\nunsubscribe\r\n",
					    chunks[c], NULL);
			const struct signet_sig_result *r = signet_verifier_result(v, 0);
			assert_int_equal(r->result, SIGNET_RESULT_FAIL);
			assert_string_equal(r->reason, "body hash did not verify");
			assert_true(X(v, 0)->body.searched);
			assert_true(X(v, 0)->body.prefix_found);
			assert_int_equal(X(v, 0)->body.prefix_lines, 2);
			assert_int_equal(X(v, 0)->body.prefix_bytes, 23);
			assert_int_equal(X(v, 0)->body.total_lines, 6);
			assert_int_equal(X(v, 0)->body.nadded, 3);
			assert_line(&X(v, 0)->body.added[0], "");
			assert_line(&X(v, 0)->body.added[1],
				    bc == SIGNET_CANON_SIMPLE ? "-- " : "--");
			assert_line(&X(v, 0)->body.added[2], "List footer");
			assert_null(X(v, 0)->body.transform);
			signet_verifier_free(v);
		}
	}
}

static void DKIM_VER_02_explain_empty_signed_body(void **state)
{
	/* DKIM-VER-02: a footer added to an empty signed body: the prefix is 0 lines
	 * (simple's empty body is one CRLF, relaxed's is nothing, RFC 6376 3.4.3/3.4.4). */
	(void)state;
	REQUIRE_TESTDATA();
	for (int bc = SIGNET_CANON_SIMPLE; bc <= SIGNET_CANON_RELAXED; bc++) {
		struct signet_verifier *v =
			explain_run((enum signet_canon)bc, "", "footer\r\n", 0, NULL);
		assert_non_null(signet_verifier_result(v, 0));
		assert_true(X(v, 0)->body.prefix_found);
		assert_int_equal(X(v, 0)->body.prefix_lines, 0);
		assert_int_equal(X(v, 0)->body.total_lines, 1);
		assert_int_equal(X(v, 0)->body.nadded, 1);
		assert_line(&X(v, 0)->body.added[0], "footer");
		signet_verifier_free(v);
	}
}

static void DKIM_VER_02_explain_changed_inside(void **state)
{
	/* DKIM-VER-02: a changed first line: no prefix matches; the first received
	 * lines are shown; a NUL inside a line is kept as a byte. */
	(void)state;
	REQUIRE_TESTDATA();
	struct signet_verifier *v =
		explain_run(SIGNET_CANON_RELAXED, "a\r\nb\r\n", "A\r\nb\r\n", 0, NULL);
	assert_non_null(signet_verifier_result(v, 0));
	assert_true(X(v, 0)->body.searched);
	assert_false(X(v, 0)->body.prefix_found);
	assert_int_equal(X(v, 0)->body.total_lines, 2);
	assert_int_equal(X(v, 0)->body.nadded, 2);
	assert_line(&X(v, 0)->body.added[0], "A");
	signet_verifier_free(v);
	/* A NUL in the middle (the message parser passes body bytes through). */
	static const char tail[] = "a\0z\r\n";
	struct signet_sign_params p = {.domain = "football.example.com",
				       .selector = "test",
				       .hdr_canon = SIGNET_CANON_RELAXED,
				       .body_canon = SIGNET_CANON_RELAXED,
				       .timestamp = 1000};
	char *sig = sign_rfc8463("From: a@football.example.com\r\n\r\nq\r\n", &p);
	size_t hl = (size_t)(strstr(sig, "\r\n\r\n") - sig) + 4;
	char *rx = malloc(hl + sizeof tail);
	memcpy(rx, sig, hl);
	memcpy(rx + hl, tail, sizeof tail - 1);
	char *keys = keys_text("rfc8463/keys.txt");
	struct signet_verify_options o = {.explain = true};
	v = tu_verify_opts((uint8_t *)rx, hl + sizeof tail - 1, keys, &o, 0);
	assert_non_null(signet_verifier_result(v, 0));
	assert_int_equal(X(v, 0)->body.added[0].len, 3);
	assert_memory_equal(X(v, 0)->body.added[0].p, "a\0z", 3);
	signet_verifier_free(v);
	free(keys);
	free(rx);
	free(sig);
}

static void DKIM_VER_02_explain_line_cut_at_limit(void **state)
{
	/* Bounds: an added line of SIGNET_EXPLAIN_LINE_MAX - 1, MAX, MAX + 1 bytes:
	 * kept whole, kept whole, cut to MAX with cut set; at most
	 * SIGNET_EXPLAIN_LINES lines are kept. */
	(void)state;
	REQUIRE_TESTDATA();
	static const size_t lens[] = {SIGNET_EXPLAIN_LINE_MAX - 1, SIGNET_EXPLAIN_LINE_MAX,
				      SIGNET_EXPLAIN_LINE_MAX + 1};
	for (size_t k = 0; k < 3; k++) {
		char tail[600];
		size_t n = 0;
		memcpy(tail, "x\r\n", 3), n = 3;
		memset(tail + n, 'f', lens[k]), n += lens[k];
		memcpy(tail + n, "\r\n1\r\n2\r\n3\r\n", 12);
		struct signet_verifier *v =
			explain_run(SIGNET_CANON_SIMPLE, "x\r\n", tail, 0, NULL);
		assert_non_null(signet_verifier_result(v, 0));
		assert_int_equal(X(v, 0)->body.prefix_lines, 1);
		assert_int_equal(X(v, 0)->body.total_lines, 5);
		assert_int_equal(X(v, 0)->body.nadded, SIGNET_EXPLAIN_LINES);
		assert_int_equal(X(v, 0)->body.added[0].len,
				 k < 2 ? lens[k] : SIGNET_EXPLAIN_LINE_MAX);
		assert_int_equal(X(v, 0)->body.added[0].cut, k == 2);
		assert_line(&X(v, 0)->body.added[2], "2");
		signet_verifier_free(v);
	}
}

static void DKIM_VER_02_explain_relay_changes(void **state)
{
	/* DKIM-VER-02: the relay change that, undone, restores bh= is named; with
	 * relaxed, whitespace changes are not even a mismatch. */
	(void)state;
	REQUIRE_TESTDATA();
	static const struct {
		enum signet_canon bc;
		const char *body, *rx, *want;
	} rows[] = {
		{SIGNET_CANON_SIMPLE, "Hi all,\r\n\tJoe\r\n", "Hi all,  \r\n\tJoe\t\r\n",
		 "trailing whitespace stripped"},
		{SIGNET_CANON_SIMPLE, "Hi all,\r\n\tJoe\r\n", "Hi all,\r\n        Joe\r\n",
		 "leading spaces turned back into tabs"},
		{SIGNET_CANON_SIMPLE, "Hi all,\r\n\tJoe\r\n", "Hi all,\r\r\n\tJoe\r\r\n",
		 "bare CRs"},
		{SIGNET_CANON_RELAXED, "Hi all,\r\n\tJoe\r\n", "Hi all,\r\r\n\tJoe\r\r\n",
		 "bare CRs"},
		{SIGNET_CANON_RELAXED, "Hi all,\r\n.Joe\r\n", "Hi all,\r\n..Joe\r\n",
		 "dot-stuffing"},
		{SIGNET_CANON_SIMPLE, "Hi all,\r\nJoe\r\n", "Hi all,\r\nJoe!\r\n", NULL},
		/* relaxed ignores trailing WSP: tabs expanded are one SP either way */
		{SIGNET_CANON_RELAXED, "Hi all,\r\n", "Hi all,\r\nX\r\n", NULL},
	};
	for (size_t k = 0; k < sizeof rows / sizeof rows[0]; k++) {
		struct signet_verifier *v =
			explain_run(rows[k].bc, rows[k].body, rows[k].rx, 1, NULL);
		const struct signet_sig_result *r = signet_verifier_result(v, 0);
		assert_int_equal(r->result, SIGNET_RESULT_FAIL);
		if (rows[k].want == NULL) {
			assert_null(X(v, 0)->body.transform);
		} else {
			assert_non_null(X(v, 0)->body.transform);
			if (strstr(X(v, 0)->body.transform, rows[k].want) == NULL)
				fail_msg("row %zu: %s", k, X(v, 0)->body.transform);
		}
		signet_verifier_free(v);
	}
}

static void DKIM_VER_02_explain_only_on_request(void **state)
{
	/* Explain costs nothing unless asked: without it, or when bh= matches,
	 * body.searched stays false. */
	(void)state;
	REQUIRE_TESTDATA();
	struct signet_verifier *v = explain_run(SIGNET_CANON_RELAXED, "a\r\n", "a\r\n", 0, NULL);
	assert_int_equal(signet_verifier_result(v, 0)->result, SIGNET_RESULT_PASS);
	assert_false(X(v, 0)->body.searched);
	signet_verifier_free(v);
	char *sig = NULL;
	v = explain_run(SIGNET_CANON_RELAXED, "a\r\n", "b\r\n", 0, &sig);
	signet_verifier_free(v);
	size_t hl = (size_t)(strstr(sig, "\r\n\r\n") - sig) + 4;
	memcpy(sig + hl, "b", 1);
	char *keys = keys_text("rfc8463/keys.txt");
	v = tu_verify((uint8_t *)sig, strlen(sig), keys);
	assert_int_equal(signet_verifier_result(v, 0)->result, SIGNET_RESULT_FAIL);
	assert_null(signet_verifier_explain(v, 0)); /* explain off: nothing kept */
	signet_verifier_free(v);
	free(keys);
	free(sig);
}

static void DKIM_SIG_12_z_diff_explained(void **state)
{
	/* DKIM-SIG-12: "z= copied header fields ... are diagnostic only ...
	 * `signet verify --explain` prints a diff with z= when present." */
	(void)state;
	static const char msg[] =
		"DKIM-Signature: v=1; a=rsa-sha256; d=example.com; s=s; h=from:subject;\r\n"
		" z=From:a@example.com|Subject:hello=20=7C=20world|To:b@x\r\n"
		"  .example|X-Gone:1|Date:Mon;\r\n"
		" bh=47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=; b=AAAA\r\n"
		"From: a@example.com\r\n"
		"Subject: hello |\r\n world\r\n"
		"To: c@x.example\r\n"
		"Date: Tue\r\n"
		"Date: Mon\r\n"
		"\r\n";
	struct signet_verify_options o = {.explain = true};
	struct signet_verifier *v = tu_verify_opts((const uint8_t *)msg, sizeof msg - 1, "", &o, 0);
	const struct signet_sig_result *r = signet_verifier_result(v, 0);
	assert_int_equal(r->result, SIGNET_RESULT_PERMERROR); /* no key: z= decides nothing */
	const struct signet_sig_explain *x = X(v, 0);
	assert_true(x->has_z);
	assert_int_equal(x->nz_fields, 5);
	assert_int_equal(x->nzdiff, 2);
	assert_string_equal(x->zdiff[0].name, "To");
	assert_string_equal(x->zdiff[0].signed_value, "b@x.example");
	assert_string_equal(x->zdiff[0].received, "c@x.example");
	assert_false(x->zdiff[0].missing);
	assert_string_equal(x->zdiff[1].name, "X-Gone");
	assert_true(x->zdiff[1].missing);
	signet_verifier_free(v);
	/* Without explain, z= is not looked at; garbage z= changes nothing. */
	v = tu_verify_opts((const uint8_t *)msg, sizeof msg - 1, "", NULL, 0);
	assert_null(signet_verifier_explain(v, 0));
	signet_verifier_free(v);
}

static void DKIM_SIG_12_z_diff_bounded(void **state)
{
	/* Bounds: at most SIGNET_EXPLAIN_ZDIFFS differences kept, the rest counted;
	 * a truncated "=4" escape and a field without ':' do not crash. */
	(void)state;
	static const char msg[] =
		"DKIM-Signature: v=1; a=rsa-sha256; d=example.com; s=s; h=from;\r\n"
		" z=A:1|B:2|C:3|D:4|E:5|F:6|nocolon|G:=4;\r\n"
		" bh=47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=; b=AAAA\r\n"
		"From: a@example.com\r\n"
		"\r\n";
	struct signet_verify_options o = {.explain = true};
	struct signet_verifier *v = tu_verify_opts((const uint8_t *)msg, sizeof msg - 1, "", &o, 1);
	const struct signet_sig_explain *x = X(v, 0);
	assert_int_equal(x->nz_fields, 7);
	assert_int_equal(x->nzdiff, SIGNET_EXPLAIN_ZDIFFS);
	assert_int_equal(x->zdiff_more, 3);
	signet_verifier_free(v);
}

static void DKIM_SIG_12_z_diff_value_cut_says_so(void **state)
{
	/* Bounds: a z= copy of 238, 239 (the most signed_value holds) and 240
	 * bytes: the first two whole, the third cut to end in "..." (it was cut
	 * silently). */
	(void)state;
	for (size_t n = sizeof(((struct signet_zdiff *)0)->signed_value) - 2;
	     n <= sizeof(((struct signet_zdiff *)0)->signed_value); n++) {
		char val[300], msg[1024];
		memset(val, 'v', n);
		val[n] = '\0';
		snprintf(msg, sizeof msg,
			 "DKIM-Signature: v=1; a=rsa-sha256; d=example.com; s=s; h=from;\r\n"
			 " z=X-Long:%s;\r\n"
			 " bh=47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=; b=AAAA\r\n"
			 "From: a@example.com\r\nX-Long: changed\r\n\r\n",
			 val);
		struct signet_verify_options o = {.explain = true};
		struct signet_verifier *v =
			tu_verify_opts((const uint8_t *)msg, strlen(msg), "", &o, 0);
		const struct signet_sig_explain *x = X(v, 0);
		assert_int_equal(x->nzdiff, 1);
		const char *got = x->zdiff[0].signed_value;
		if (n < sizeof x->zdiff[0].signed_value) {
			assert_string_equal(got, val);
		} else {
			assert_int_equal(strlen(got), sizeof x->zdiff[0].signed_value - 1);
			assert_memory_equal(got, val, strlen(got) - 3);
			assert_string_equal(got + strlen(got) - 3, "...");
		}
		signet_verifier_free(v);
	}
}

static void header_limit_gives_result(void **state)
{
	/* Bounds: a field over SIGNET_MAX_HEADER_FIELD → permerror naming the limit, no error. */
	(void)state;
	size_t big = SIGNET_MAX_HEADER_FIELD + 10;
	char *msg = malloc(big + 512);
	strcpy(msg, "DKIM-Signature: v=1; a=rsa-sha256; d=example.com; s=s; h=from;\r\n"
		    " bh=47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=; b=AAAA\r\n"
		    "From: a@example.com\r\nX-Big: ");
	size_t off = strlen(msg);
	memset(msg + off, 'a', big);
	strcpy(msg + off + big, "\r\n\r\nbody\r\n");
	struct signet_verifier *v = verify_str(msg, "");
	assert_int_equal(signet_verifier_result(v, 0)->result, SIGNET_RESULT_PERMERROR);
	assert_non_null(strstr(signet_verifier_result(v, 0)->reason, "limit"));
	signet_verifier_free(v);
	free(msg);
}

static void api_misuse_is_an_error(void **state)
{
	/* STYLE 4: calls out of order return SIGNET_ERR_STATE, never crash. */
	(void)state;
	struct signet_verifier *v = NULL;
	struct signet_error err = {0};
	assert_int_equal(signet_verifier_new(NULL, &v, &err), SIGNET_OK);
	assert_int_equal(signet_verifier_body(v, (const uint8_t *)"x", 1, &err), SIGNET_ERR_STATE);
	assert_int_equal(signet_verifier_finish(v, &err), SIGNET_ERR_STATE);
	assert_int_equal(signet_verifier_end_of_headers(v, &err), SIGNET_OK);
	assert_int_equal(signet_verifier_answer(v, 7, SIGNET_DNS_OK, NULL, 0, &err),
			 SIGNET_ERR_INVAL);
	assert_int_equal(signet_verifier_finish(v, &err), SIGNET_OK);
	assert_int_equal(signet_verifier_count(v), 0);
	assert_null(signet_verifier_result(v, 0));
	signet_verifier_free(v);
	signet_verifier_free(NULL);
}

/* ---- a parsed key set (signet_keyset_parse, signet_verifier_answer_key) ----
 * Each case verifies a message twice: once with the TXT records through
 * signet_verifier_answer, once with the same records parsed into a set
 * through signet_verifier_answer_key. Every result must be the same bytes
 * (result, reason, notes, key bits, steps, ...), and the expected results
 * are asserted too, so two paths that broke alike still fail. */

/* RFC 8463 A.2's p= values, the RSA one also as bare PKCS#1 (DKIM-KEY-04). */
#define A2_RSA_P                                                                                   \
	"MIGfMA0GCSqGSIb3DQEBAQUAA4GNADCBiQKBgQDkHlOQoBTzWRiGs5V6NpP3idY6Wk08a5qhdR6wy5bdOKb2jLQ"  \
	"iY/J16JYi0Qvx/byYzCNb3W91y3FutACDfzwQ/BC/e/8uBsCR+yz1Lxj+PL6lHvqMKrM3rG4hstT5QjvHO9Pzox"  \
	"ZyVYLzBfO2EeC3Ip3G+2kryOTIKT+l/K4w3QIDAQAB"
#define A2_RSA_PKCS1                                                                               \
	"MIGJAoGBAOQeU5CgFPNZGIazlXo2k/eJ1jpaTTxrmqF1HrDLlt04pvaMtCJj8nXoliLRC/H9vJjMI1vdb3XLcW6"  \
	"0AIN/PBD8EL97/y4GwJH7LPUvGP48vqUe+owqszesbiGy1PlCO8c70/OjFnJVgvMF87YR4Lcincb7aSvI5MgpP6"  \
	"X8rjDdAgMBAAE="
/* The A.2 modulus with e = 1 (DKIM-KEY-15). */
#define A2_RSA_E1                                                                                  \
	"MIGHAoGBAOQeU5CgFPNZGIazlXo2k/eJ1jpaTTxrmqF1HrDLlt04pvaMtCJj8nXoliLRC/H9vJjMI1vdb3XLcW6"  \
	"0AIN/PBD8EL97/y4GwJH7LPUvGP48vqUe+owqszesbiGy1PlCO8c70/OjFnJVgvMF87YR4Lcincb7aSvI5MgpP6"  \
	"X8rjDdAgEB"
#define A2_ED_P "11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo="
#define RSA_512                                                                                    \
	"MFwwDQYJKoZIhvcNAQEBBQADSwAwSAJBAL6cAqbTJDWAMnICn0HP2JpR2aUK1YtmbEYLZFf8HJYZFS8EO7zvAWUp" \
	"HDiFctji2rM0TN/bVtc+mp9ikqbE+z0CAwEAAQ=="
#define T_NAME "test._domainkey.football.example.com"
#define B_NAME "brisbane._domainkey.football.example.com"

#define KS_MAX_RECS 8

/* The records for name in keys text ("name value" lines, as tu_answer reads
 * them); SIGNET_DNS_NXDOMAIN when there are none. */
static enum signet_dns_status ks_records(const char *keys, const char *name,
					 struct signet_txt *recs, size_t *n)
{
	size_t nl = strlen(name);
	*n = 0;
	for (const char *line = keys; line != NULL && *line != '\0';) {
		const char *end = strchr(line, '\n');
		size_t ll = end ? (size_t)(end - line) : strlen(line);
		if (ll > nl && strncasecmp(line, name, nl) == 0 && line[nl] == ' ') {
			assert_true(*n < KS_MAX_RECS);
			recs[*n].p = (const uint8_t *)line + nl + 1;
			recs[*n].len = ll - nl - 1;
			(*n)++;
		}
		line = end ? end + 1 : NULL;
	}
	return *n > 0 ? SIGNET_DNS_OK : SIGNET_DNS_NXDOMAIN;
}

static struct signet_verifier *ks_fed(const char *msg, const struct signet_verify_options *o)
{
	struct signet_verifier *v = NULL;
	struct signet_error err = {0};
	static const struct signet_message_handler h = {tu_ver_header, tu_ver_eoh, tu_ver_body};
	assert_int_equal(signet_verifier_new(o, &v, &err), SIGNET_OK);
	assert_int_equal(tu_feed(&h, v, (const uint8_t *)msg, strlen(msg), 0, &err), SIGNET_OK);
	return v;
}

/* Answers every query of v: records through signet_verifier_answer, or
 * parsed into a set (dropped by the caller at once: the verifier keeps its
 * own reference). */
static void ks_answer(struct signet_verifier *v, const char *keys, bool parsed)
{
	struct signet_query q;
	struct signet_error err = {0};
	while (signet_verifier_next_query(v, &q)) {
		struct signet_txt recs[KS_MAX_RECS];
		size_t n;
		enum signet_dns_status st = ks_records(keys, q.name, recs, &n);
		if (!parsed || st != SIGNET_DNS_OK) {
			assert_int_equal(signet_verifier_answer(v, q.id, st, recs, n, &err),
					 SIGNET_OK);
			continue;
		}
		struct signet_keyset *ks = NULL;
		if (signet_keyset_parse(recs, n, &ks, &err) != SIGNET_OK)
			fail_msg("signet_keyset_parse: %s", err.msg);
		assert_int_equal(signet_verifier_answer_key(v, q.id, ks, &err), SIGNET_OK);
		signet_keyset_unref(ks);
	}
}

static struct signet_verifier *ks_verify(const char *msg, const char *keys, bool parsed,
					 const struct signet_verify_options *o)
{
	struct signet_verifier *v = ks_fed(msg, o);
	struct signet_error err = {0};
	ks_answer(v, keys, parsed);
	assert_int_equal(signet_verifier_finish(v, &err), SIGNET_OK);
	return v;
}

/* The results of both ways, byte for byte (explain's hash_input points into
 * each verifier: compared by content). */
static void ks_same(const struct signet_verifier *a, const struct signet_verifier *b)
{
	assert_int_equal(signet_verifier_count(a), signet_verifier_count(b));
	for (size_t k = 0; k < signet_verifier_count(a); k++) {
		struct signet_sig_result ra = *signet_verifier_result(a, k);
		struct signet_sig_result rb = *signet_verifier_result(b, k);
		assert_string_equal(ra.reason, rb.reason);
		assert_string_equal(ra.notes, rb.notes);
		/* the tag values are each verifier's own strings: compared by content */
		const char **sa[] = {&ra.d, &ra.s, &ra.i, &ra.a, &ra.b, &ra.bh};
		const char **sb[] = {&rb.d, &rb.s, &rb.i, &rb.a, &rb.b, &rb.bh};
		for (size_t t = 0; t < sizeof sa / sizeof sa[0]; t++) {
			assert_string_equal(*sa[t], *sb[t]);
			*sa[t] = *sb[t] = NULL;
		}
		assert_memory_equal(&ra, &rb, sizeof ra);
		const struct signet_sig_explain *xa = signet_verifier_explain(a, k);
		const struct signet_sig_explain *xb = signet_verifier_explain(b, k);
		assert_true((xa == NULL) == (xb == NULL));
		if (xa == NULL)
			continue;
		static struct signet_sig_explain ea, eb;
		ea = *xa, eb = *xb;
		assert_int_equal(ea.hash_input_len, eb.hash_input_len);
		if (ea.hash_input_len > 0)
			assert_memory_equal(ea.hash_input, eb.hash_input, ea.hash_input_len);
		ea.hash_input = eb.hash_input = NULL;
		assert_memory_equal(&ea, &eb, sizeof ea);
	}
}

/* Both ways; the results ("pass,permerror") must be want, and the reason of
 * result `which` must contain reason (NULL: not checked). */
static void ks_case(const char *msg, const char *keys, const char *want, size_t which,
		    const char *reason)
{
	struct signet_verifier *a = ks_verify(msg, keys, false, NULL);
	struct signet_verifier *b = ks_verify(msg, keys, true, NULL);
	ks_same(a, b);
	if (strcmp(tu_results(b, results, sizeof results), want) != 0)
		fail_msg("keys \"%.80s...\": %s, want %s", keys, results, want);
	if (reason != NULL && strstr(signet_verifier_result(b, which)->reason, reason) == NULL &&
	    strstr(signet_verifier_result(b, which)->notes, reason) == NULL)
		fail_msg("keys \"%.80s...\": reason \"%s\" notes \"%s\", want \"%s\"", keys,
			 signet_verifier_result(b, which)->reason,
			 signet_verifier_result(b, which)->notes, reason);
	signet_verifier_free(a);
	signet_verifier_free(b);
}

/* RFC 8463 A.3 (brisbane ed25519 first, then test rsa), and the A.2 keys. */
static char *ks_rfc8463_msg(void)
{
	size_t len;
	return (char *)read_testdata("rfc8463/signed.eml", &len);
}

static void DKIM_KEY_03_to_15_parsed_set_same_results(void **state)
{
	/* DKIM-KEY-03..-15 through a parsed set: each check on the TXT record
	 * gives the same result and reason as with the record's bytes. */
	(void)state;
	REQUIRE_TESTDATA();
	static const struct {
		const char *keys, *want;
		size_t which;
		const char *reason;
	} cases[] = {
		/* the published keys */
		{B_NAME " v=DKIM1; k=ed25519; p=" A2_ED_P "\n" T_NAME
			" v=DKIM1; k=rsa; p=" A2_RSA_P,
		 "pass,pass", 0, NULL},
		/* DKIM-KEY-04: k= defaults to rsa, PKCS#1 accepted; no ed25519 key: NXDOMAIN */
		{T_NAME " v=DKIM1; p=" A2_RSA_PKCS1, "permerror,pass", 0, "no key for signature"},
		/* DKIM-KEY-03: v= not first; v=DKIM2 */
		{B_NAME " v=DKIM2; k=ed25519; p=" A2_ED_P "\n" T_NAME
			" k=rsa; v=DKIM1; p=" A2_RSA_P,
		 "permerror,permerror", 1, "v= must be DKIM1 and come first"},
		/* DKIM-KEY-04: unknown k= */
		{B_NAME " v=DKIM1; k=dsa; p=" A2_ED_P "\n" T_NAME " v=DKIM1; k=rsa; p=" A2_RSA_P,
		 "permerror,pass", 0, "unknown key type k=dsa"},
		/* DKIM-KEY-05: empty p= (also only WSP) is revoked */
		{B_NAME " v=DKIM1; k=ed25519; p= \n" T_NAME " v=DKIM1; k=rsa; p=",
		 "permerror,permerror", 1, "key revoked"},
		/* DKIM-KEY-06: h= without sha256; unknown names ignored */
		{B_NAME " v=DKIM1; k=ed25519; h=sha1:sha256:foo; p=" A2_ED_P "\n" T_NAME
			" v=DKIM1; h=sha1; p=" A2_RSA_P,
		 "pass,permerror", 1, "key h= does not allow sha256"},
		/* DKIM-KEY-07: s= without * or email; email among unknown types */
		{B_NAME " v=DKIM1; k=ed25519; s=email:foo; p=" A2_ED_P "\n" T_NAME
			" v=DKIM1; s=foo; p=" A2_RSA_P,
		 "pass,permerror", 1, "key s= does not allow email"},
		/* DKIM-KEY-08: t=y is test mode; t=s passes with i= equal to d= */
		{B_NAME " v=DKIM1; k=ed25519; t=s:zz; p=" A2_ED_P "\n" T_NAME
			" v=DKIM1; t=y; p=" A2_RSA_P,
		 "pass,pass", 1, "test mode"},
		/* DKIM-KEY-09: each key under the other's name */
		{B_NAME " v=DKIM1; k=rsa; p=" A2_RSA_P "\n" T_NAME
			" v=DKIM1; k=ed25519; p=" A2_ED_P,
		 "permerror,permerror", 0, "key type k=rsa does not match a=ed25519-sha256"},
		/* DKIM-KEY-10, -13: unknown tags, n= and g= ignored */
		{B_NAME " v=DKIM1; n=hello; zz=1; k=ed25519; p=" A2_ED_P "\n" T_NAME
			" v=DKIM1; g=foo; k=rsa; n=\"quoted\"; p=" A2_RSA_P,
		 "pass,pass", 0, NULL},
		/* DKIM-KEY-12: quotes pasted along; bad base64; tag syntax */
		{B_NAME " v=DKIM1; k=ed25519; p=11qY!AYKx\n" T_NAME " v=DKIM1; p=\"" A2_RSA_P "\"",
		 "permerror,permerror", 1, "quote characters"},
		{B_NAME " v=DKIM1; k=ed25519; ;; p\n" T_NAME " garbage record",
		 "permerror,permerror", 0, "unusable"},
		/* DKIM-KEY-14: too small; DKIM-ALG-03: ed25519 key of 33 bytes */
		{B_NAME
		 " v=DKIM1; k=ed25519; p=11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURoA\n" T_NAME
		 " v=DKIM1; p=" RSA_512,
		 "permerror,permerror", 1, "key too small (512 bits"},
		/* DKIM-KEY-15: e = 1; a key that does not parse */
		{B_NAME " v=DKIM1; k=rsa; p=AAAAAAAA\n" T_NAME " v=DKIM1; p=" A2_RSA_E1,
		 "permerror,permerror", 1, "unreasonable RSA public exponent"},
	};
	char *msg = ks_rfc8463_msg();
	for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++)
		ks_case(msg, cases[k].keys, cases[k].want, cases[k].which, cases[k].reason);
	free(msg);
}

static void DKIM_KEY_08_parsed_set_strict(void **state)
{
	/* DKIM-KEY-08 through a parsed set: t=s with i= in a subdomain of d=. */
	(void)state;
	REQUIRE_TESTDATA();
	struct signet_sign_params p = {.domain = "football.example.com",
				       .selector = "test",
				       .hdr_canon = SIGNET_CANON_RELAXED,
				       .timestamp = 1000,
				       .auid = "joe@mail.football.example.com"};
	char *msg = sign_rfc8463(plain_msg, &p);
	ks_case(msg, T_NAME " v=DKIM1; t=y:s; p=" A2_RSA_P, "permerror", 0, "t=s requires i=");
	ks_case(msg, T_NAME " v=DKIM1; t=y; p=" A2_RSA_P, "pass", 0, "test mode");
	free(msg);
}

static void DKIM_KEY_16_parsed_set_too_large(void **state)
{
	/* DKIM-KEY-16 through a parsed set: a record over SIGNET_MAX_KEY_RECORD
	 * (limit, limit + 1) with the key at its end. */
	(void)state;
	REQUIRE_TESTDATA();
	char *msg = sign_rfc8463(plain_msg, NULL);
	static const char head[] = T_NAME " v=DKIM1; n=", tail[] = "; p=" A2_RSA_P;
	static char keys[sizeof head + SIGNET_MAX_KEY_RECORD + sizeof tail];
	size_t fixed = strlen(tail) - 1 + strlen("v=DKIM1; n=") + 1; /* record bytes but n= */
	for (size_t extra = 0; extra < 2; extra++) {
		size_t pad = SIGNET_MAX_KEY_RECORD + extra - fixed;
		memcpy(keys, head, sizeof head - 1);
		memset(keys + sizeof head - 1, 'x', pad);
		memcpy(keys + sizeof head - 1 + pad, tail, sizeof tail);
		assert_int_equal(strlen(keys) - strlen(T_NAME " "), SIGNET_MAX_KEY_RECORD + extra);
		ks_case(msg, keys, extra ? "permerror" : "pass", 0,
			extra ? "key record too large" : NULL);
	}
	free(msg);
}

static void DKIM_KEY_02_parsed_set_several_records(void **state)
{
	/* DKIM-KEY-02 through a parsed set: the first usable record wins and
	 * "multiple key records" is noted; with none usable the first record's
	 * problem is the reason; an answer without records is "no TXT record". */
	(void)state;
	REQUIRE_TESTDATA();
	char *msg = ks_rfc8463_msg();
	ks_case(msg,
		T_NAME " garbage record\n" T_NAME " v=DKIM1; p=" A2_RSA_P "\n" B_NAME
		       " v=DKIM1; k=ed25519; p=\n" B_NAME " v=DKIM1; k=ed25519; p=" A2_ED_P
		       "\n" B_NAME " v=DKIM1; k=rsa; p=" A2_RSA_P,
		"pass,pass", 1, "multiple key records");
	ks_case(msg, T_NAME " v=DKIM1; p=" A2_RSA_P "\n" T_NAME " v=DKIM1; p=", "permerror,pass", 1,
		"multiple key records");
	ks_case(msg, T_NAME " v=DKIM1; p=\n" T_NAME " k=dsa; p=" A2_RSA_P "\n" T_NAME " x",
		"permerror,permerror", 1, "unusable: key revoked");
	/* An answer with no records: the verifier says so either way. */
	struct signet_verifier *a = ks_fed(msg, NULL), *b = ks_fed(msg, NULL);
	struct signet_error err = {0};
	struct signet_keyset *ks = NULL;
	assert_int_equal(signet_keyset_parse(NULL, 0, &ks, &err), SIGNET_OK);
	struct signet_query qa, qb;
	while (signet_verifier_next_query(a, &qa)) {
		assert_true(signet_verifier_next_query(b, &qb));
		assert_int_equal(signet_verifier_answer(a, qa.id, SIGNET_DNS_OK, NULL, 0, &err),
				 SIGNET_OK);
		assert_int_equal(signet_verifier_answer_key(b, qb.id, ks, &err), SIGNET_OK);
	}
	signet_keyset_unref(ks);
	assert_int_equal(signet_verifier_finish(a, &err), SIGNET_OK);
	assert_int_equal(signet_verifier_finish(b, &err), SIGNET_OK);
	ks_same(a, b);
	assert_string_equal(tu_results(b, results, sizeof results), "permerror,permerror");
	assert_non_null(strstr(signet_verifier_result(b, 0)->reason, "no TXT record"));
	signet_verifier_free(a);
	signet_verifier_free(b);
	free(msg);
}

static void parsed_set_same_steps_in_explain(void **state)
{
	/* --explain through a parsed set: the same steps (key bits, "several
	 * records") and header hash input. */
	(void)state;
	REQUIRE_TESTDATA();
	char *msg = ks_rfc8463_msg();
	const char *keys = B_NAME " v=DKIM1; k=ed25519; p=" A2_ED_P "\n" T_NAME " junk\n" T_NAME
				  " v=DKIM1; k=rsa; p=" A2_RSA_P;
	struct signet_verify_options o = {.explain = true};
	struct signet_verifier *a = ks_verify(msg, keys, false, &o);
	struct signet_verifier *b = ks_verify(msg, keys, true, &o);
	ks_same(a, b);
	const struct signet_sig_result *r = signet_verifier_result(b, 1);
	assert_int_equal(r->result, SIGNET_RESULT_PASS);
	assert_int_equal(r->key_bits, 1024);
	assert_true(X(b, 1)->hash_input_len > 0);
	assert_true(X(b, 1)->nsteps >= 2);
	assert_non_null(strstr(X(b, 1)->steps[1].detail, "several records"));
	signet_verifier_free(a);
	signet_verifier_free(b);
	free(msg);
}

static void parsed_set_shared_by_messages_in_flight(void **state)
{
	/* One set for several messages at once; the caller's reference goes
	 * (as a cache eviction does) while they are still in flight: each
	 * keeps it until freed (ASan checks the lifetime). */
	(void)state;
	REQUIRE_TESTDATA();
	char *msg = sign_rfc8463(plain_msg, NULL);
	char *bad = sign_rfc8463("From: Joe <joe@football.example.com>\r\n\r\nother\r\n", NULL);
	char *tampered = strstr(bad, "other");
	tampered[0] = 'O'; /* body hash fails: the set is not what decides */
	struct signet_txt rec = {(const uint8_t *)"v=DKIM1; k=rsa; p=" A2_RSA_P,
				 strlen("v=DKIM1; k=rsa; p=" A2_RSA_P)};
	struct signet_keyset *ks = NULL;
	struct signet_error err = {0};
	assert_int_equal(signet_keyset_parse(&rec, 1, &ks, &err), SIGNET_OK);
	struct signet_verifier *v[4];
	for (size_t k = 0; k < 4; k++) {
		v[k] = ks_fed(k == 2 ? bad : msg, NULL);
		struct signet_query q;
		assert_true(signet_verifier_next_query(v[k], &q));
		assert_int_equal(signet_verifier_answer_key(v[k], q.id, ks, &err), SIGNET_OK);
	}
	assert_ptr_equal(signet_keyset_ref(ks), ks);
	signet_keyset_unref(ks);
	signet_keyset_unref(ks);    /* the caller's: the verifiers hold theirs */
	signet_verifier_free(v[3]); /* one ends before the others finish */
	for (size_t k = 0; k < 3; k++) {
		assert_int_equal(signet_verifier_finish(v[k], &err), SIGNET_OK);
		assert_int_equal(signet_verifier_result(v[k], 0)->result,
				 k == 2 ? SIGNET_RESULT_FAIL : SIGNET_RESULT_PASS);
		assert_int_equal(signet_verifier_result(v[k], 0)->key_bits, 1024);
		signet_verifier_free(v[k]);
	}
	free(bad);
	free(msg);
}

static void parsed_set_api_misuse(void **state)
{
	/* STYLE 4: NULL arguments, unknown ids and a second answer are errors;
	 * a refused answer takes no reference. */
	(void)state;
	REQUIRE_TESTDATA();
	struct signet_error err = {0};
	struct signet_keyset *ks = NULL;
	struct signet_txt rec = {(const uint8_t *)"v=DKIM1; p=", 11};
	assert_int_equal(signet_keyset_parse(NULL, 1, &ks, &err), SIGNET_ERR_INVAL);
	assert_null(ks);
	assert_int_equal(signet_keyset_parse(&rec, 1, NULL, &err), SIGNET_ERR_INVAL);
	assert_int_equal(signet_keyset_parse(&rec, 1, &ks, &err), SIGNET_OK);
	char *msg = sign_rfc8463(plain_msg, NULL);
	struct signet_verifier *v = ks_fed(msg, NULL);
	struct signet_query q;
	assert_true(signet_verifier_next_query(v, &q));
	assert_int_equal(signet_verifier_answer_key(v, q.id, NULL, &err), SIGNET_ERR_INVAL);
	assert_int_equal(signet_verifier_answer_key(v, q.id + 1, ks, &err), SIGNET_ERR_INVAL);
	assert_int_equal(signet_verifier_answer_key(v, q.id, ks, &err), SIGNET_OK);
	assert_int_equal(signet_verifier_answer_key(v, q.id, ks, &err), SIGNET_ERR_STATE);
	assert_int_equal(signet_verifier_answer(v, q.id, SIGNET_DNS_OK, &rec, 1, &err),
			 SIGNET_ERR_STATE);
	signet_keyset_unref(ks);
	assert_int_equal(signet_verifier_finish(v, &err), SIGNET_OK);
	assert_int_equal(signet_verifier_result(v, 0)->result, SIGNET_RESULT_PERMERROR);
	assert_non_null(strstr(signet_verifier_result(v, 0)->reason, "key revoked"));
	signet_verifier_free(v);
	signet_keyset_unref(NULL);
	assert_null(signet_keyset_ref(NULL));
	free(msg);
}

/* ---- tag values and reasons are never cut silently (issue #12) ---- */

/* A DKIM-Signature for d with i= auid (bh= of the empty body, b= junk). */
static char *long_tags_msg(const char *d, const char *auid)
{
	static const char fmt[] = "DKIM-Signature: v=1; a=rsa-sha256; d=%s; s=s;\r\n"
				  " i=%s; h=from;\r\n"
				  " bh=47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=; b=AAAA\r\n"
				  "From: a@example.com\r\n\r\n";
	size_t n = sizeof fmt + strlen(d) + strlen(auid);
	char *m = malloc(n);
	assert_non_null(m);
	snprintf(m, n, fmt, d, auid);
	return m;
}

static void DKIM_SIG_08_long_i_and_d_whole(void **state)
{
	/* DKIM-SIG-08 (RFC 6376 3.5 i=): "The domain part of the address MUST be
	 * the same as, or a subdomain of, the value of the d= tag." A 312-byte i=
	 * and a 194-byte d= are kept whole in the result and in header.i of the
	 * Authentication-Results (i= was cut at 255 bytes, and lost its @domain). */
	(void)state;
	char d[200], auid[320], keys[300];
	snprintf(d, sizeof d, "%.60s.%.60s.%.60s.example.com", LONG_LABEL, LONG_LABEL, LONG_LABEL);
	assert_int_equal(strlen(d), 194);
	memset(auid, 'u', 312 - 1 - strlen(d));
	snprintf(auid + 312 - 1 - strlen(d), sizeof auid - (312 - 1 - strlen(d)), "@%s", d);
	assert_int_equal(strlen(auid), 312);
	snprintf(keys, sizeof keys, "#!temperror s._domainkey.%s\n", d);
	char *msg = long_tags_msg(d, auid);
	struct signet_verify_options o = {.explain = true};
	struct signet_verifier *v = tu_verify_opts((const uint8_t *)msg, strlen(msg), keys, &o, 0);
	const struct signet_sig_result *r = signet_verifier_result(v, 0);
	assert_int_equal(r->result, SIGNET_RESULT_TEMPERROR); /* parsed: i= is within d= */
	assert_string_equal(r->i, auid);
	assert_string_equal(r->d, d);
	assert_string_equal(r->b, "AAAA");
	assert_string_equal(r->bh, "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=");
	char ar[4096], want[400];
	size_t len = 0;
	struct signet_error err = {0};
	assert_int_equal(signet_ar_format("mx.example.org", &r, 1, ar, sizeof ar, &len, &err),
			 SIGNET_OK);
	snprintf(want, sizeof want, "\theader.i=%s\r\n", auid); /* one word on its own line */
	if (strstr(ar, want) == NULL)
		fail_msg("no whole header.i in: %s", ar);
	/* The explain steps quote d= bounded, with "...", never cut silently. */
	const struct signet_sig_explain *x = X(v, 0);
	char quoted[SIGNET_QUOTE_MAX + 8];
	snprintf(quoted, sizeof quoted, " d=%.*s... ", SIGNET_QUOTE_MAX - 3, d);
	if (strstr(x->steps[0].detail, quoted) == NULL)
		fail_msg("step: %s", x->steps[0].detail);
	signet_verifier_free(v);
	free(msg);
}

static void DKIM_ERR_reason_quotes_name_bounded(void **state)
{
	/* Bounds: a reason quotes at most SIGNET_QUOTE_MAX bytes of input: a key
	 * name of SIGNET_QUOTE_MAX - 1 and SIGNET_QUOTE_MAX bytes whole, one of
	 * SIGNET_QUOTE_MAX + 1 cut to end in "..." (not silently). */
	(void)state;
	for (size_t name_len = SIGNET_QUOTE_MAX - 1; name_len <= SIGNET_QUOTE_MAX + 1; name_len++) {
		/* "s._domainkey." (13) + d; d = x{m} "." y{40} ".example.com" */
		char d[128], name[160], want[SIGNET_REASON_MAX];
		size_t m = name_len - 13 - 53;
		snprintf(d, sizeof d, "%.*s.%.40s.example.com", (int)m, LONG_LABEL, LONG_LABEL);
		snprintf(name, sizeof name, "s._domainkey.%s", d);
		assert_int_equal(strlen(name), name_len);
		char auid[130];
		snprintf(auid, sizeof auid, "@%s", d);
		char *msg = long_tags_msg(d, auid);
		struct signet_verifier *v = tu_verify((const uint8_t *)msg, strlen(msg), "");
		const struct signet_sig_result *r = signet_verifier_result(v, 0);
		if (name_len <= SIGNET_QUOTE_MAX)
			snprintf(want, sizeof want, "no key for signature (no TXT record at %s)",
				 name);
		else
			snprintf(want, sizeof want,
				 "no key for signature (no TXT record at %.*s...)",
				 SIGNET_QUOTE_MAX - 3, name);
		assert_string_equal(r->reason, want);
		signet_verifier_free(v);
		free(msg);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(DKIM_VER_01_each_signature_independent),
		cmocka_unit_test(DKIM_VER_02_body_hash_mismatch),
		cmocka_unit_test(DKIM_VER_03_signature_mismatch),
		cmocka_unit_test(DKIM_HDR_03_oversigned_from_added),
		cmocka_unit_test(DKIM_VER_04_at_most_16_signatures),
		cmocka_unit_test(DKIM_VER_05_rsa_sha1_never_passes),
		cmocka_unit_test(DKIM_VER_07_timestamp_in_future),
		cmocka_unit_test(DKIM_SIG_11_expired),
		cmocka_unit_test(DKIM_VER_09_key_problem_reported_first),
		cmocka_unit_test(DKIM_VER_11_third_party_signature),
		cmocka_unit_test(DKIM_VER_12_one_query_per_key),
		cmocka_unit_test(DKIM_VER_13_bad_keys_distinct_reasons),
		cmocka_unit_test(DKIM_VER_14_multiple_from_noted),
		cmocka_unit_test(DKIM_VER_15_one_pass_is_enough),
		cmocka_unit_test(DKIM_KEY_02_several_records),
		cmocka_unit_test(DKIM_KEY_11_nxdomain_and_tempfail),
		cmocka_unit_test(DKIM_KEY_08_testing_and_strict),
		cmocka_unit_test(DKIM_SIG_09_l_tag),
		cmocka_unit_test(DKIM_SIG_13_simple_folded_b),
		cmocka_unit_test(DKIM_HDR_08_absent_names_legal),
		cmocka_unit_test(DKIM_CANON_15_rfc6376_appendix_a),
		cmocka_unit_test(DKIM_CANON_06_any_chunking),
		cmocka_unit_test(DKIM_ERR_05_pass_carries_d),
		cmocka_unit_test(explain_keeps_steps_and_input),
		cmocka_unit_test(DKIM_VER_02_explain_footer_added),
		cmocka_unit_test(DKIM_VER_02_explain_empty_signed_body),
		cmocka_unit_test(DKIM_VER_02_explain_changed_inside),
		cmocka_unit_test(DKIM_VER_02_explain_line_cut_at_limit),
		cmocka_unit_test(DKIM_VER_02_explain_relay_changes),
		cmocka_unit_test(DKIM_VER_02_explain_only_on_request),
		cmocka_unit_test(DKIM_SIG_12_z_diff_explained),
		cmocka_unit_test(DKIM_SIG_12_z_diff_bounded),
		cmocka_unit_test(header_limit_gives_result),
		cmocka_unit_test(api_misuse_is_an_error),
		cmocka_unit_test(DKIM_KEY_03_to_15_parsed_set_same_results),
		cmocka_unit_test(DKIM_KEY_08_parsed_set_strict),
		cmocka_unit_test(DKIM_KEY_16_parsed_set_too_large),
		cmocka_unit_test(DKIM_KEY_02_parsed_set_several_records),
		cmocka_unit_test(parsed_set_same_steps_in_explain),
		cmocka_unit_test(parsed_set_shared_by_messages_in_flight),
		cmocka_unit_test(parsed_set_api_misuse),
		cmocka_unit_test(DKIM_SIG_08_long_i_and_d_whole),
		cmocka_unit_test(DKIM_ERR_reason_quotes_name_bounded),
		cmocka_unit_test(DKIM_SIG_12_z_diff_value_cut_says_so),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
