/* test_idna.c: A-labels (lib/idna.c) for DKIM query names and the i=/d=
 * comparison of internationalized signatures (RFC 8616, RFC 3492). */
#include "testutil.h"

#include "idna.h"

static void expect_alabel(const char *in, const char *want)
{
	char out[IDNA_MAX_NAME];
	struct signet_error err = {0};
	assert_int_equal(idna_to_ascii(span_from_str(in), out, sizeof out, &err), SIGNET_OK);
	assert_string_equal(out, want);
}

static void expect_refused(const uint8_t *in, size_t len, enum signet_status st)
{
	char out[IDNA_MAX_NAME];
	struct signet_error err = {0};
	struct signet_span s = {in, len};
	assert_int_equal(idna_to_ascii(s, out, sizeof out, &err), st);
	assert_true(err.msg[0] != '\0');
}

static void DKIM_EAI_02_punycode_known_answers(void **state)
{
	/* DKIM-EAI-02: the DNS query name is built from A-labels (RFC 3492 Punycode). */
	(void)state;
	expect_alabel("bücher.example", "xn--bcher-kva.example");
	expect_alabel("münchen.de", "xn--mnchen-3ya.de");
	expect_alabel("例え.テスト", "xn--r8jz45g.xn--zckzah");
	expect_alabel("ü", "xn--tda");
	/* ASCII labels, A-labels and case stay as written. */
	expect_alabel("Example.COM", "Example.COM");
	expect_alabel("xn--bcher-kva.example", "xn--bcher-kva.example");
	expect_alabel("sel.bücher.example", "sel.xn--bcher-kva.example");
}

static void bad_utf8_refused(void **state)
{
	(void)state;
	expect_refused((const uint8_t *)"b\xc3", 2, SIGNET_ERR_SYNTAX);             /* truncated */
	expect_refused((const uint8_t *)"\xc0\xaf.example", 10, SIGNET_ERR_SYNTAX); /* overlong */
	expect_refused((const uint8_t *)"\xed\xa0\x80", 3, SIGNET_ERR_SYNTAX);      /* surrogate */
	expect_refused((const uint8_t *)"\xf4\x90\x80\x80", 4, SIGNET_ERR_SYNTAX);  /* > U+10FFFF */
	expect_refused((const uint8_t *)"\xff", 1, SIGNET_ERR_SYNTAX);
}

static void limits(void **state)
{
	/* A label of 63 code points converts; 64 is over LABEL_MAX_CP; the output cap holds. */
	(void)state;
	char in[64 * 2 + 1];
	for (int k = 0; k < 64; k++)
		memcpy(in + 2 * k, "\xc3\xbc", 2);
	in[128] = '\0';
	char out[IDNA_MAX_NAME];
	struct signet_error err = {0};
	struct signet_span s = {(const uint8_t *)in, 126};
	assert_int_equal(idna_to_ascii(s, out, sizeof out, &err), SIGNET_OK);
	s.len = 128;
	assert_int_equal(idna_to_ascii(s, out, sizeof out, &err), SIGNET_ERR_LIMIT);
	s.len = 2;
	assert_int_equal(idna_to_ascii(s, out, 5, &err), SIGNET_ERR_LIMIT); /* "xn--tda" needs 8 */
	assert_int_equal(idna_to_ascii(s, out, 8, &err), SIGNET_OK);
	assert_string_equal(out, "xn--tda");
}

static void DKIM_EAI_02_verifier_queries_alabels(void **state)
{
	/* DKIM-EAI-02: d=bücher.example → query sel._domainkey.xn--bcher-kva.example; an i=
	 * in A-label form is within a U-label d=. */
	(void)state;
	const char *msg = "DKIM-Signature: v=1; a=rsa-sha256; d=b\xc3\xbc" "cher.example; s=sel;\r\n"
			  " i=@mail.xn--bcher-kva.example; h=from;\r\n"
			  " bh=47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=; b=AAAA\r\n"
			  "From: a@b\xc3\xbc" "cher.example\r\n\r\n";
	struct signet_verifier *v = NULL;
	struct signet_error err = {0};
	static const struct signet_message_handler h = {tu_ver_header, tu_ver_eoh, tu_ver_body};
	assert_int_equal(signet_verifier_new(NULL, &v, &err), SIGNET_OK);
	assert_int_equal(tu_feed(&h, v, (const uint8_t *)msg, strlen(msg), 0, &err), SIGNET_OK);
	struct signet_query q;
	assert_true(signet_verifier_next_query(v, &q));
	assert_string_equal(q.name, "sel._domainkey.xn--bcher-kva.example");
	signet_verifier_free(v);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(DKIM_EAI_02_punycode_known_answers),
		cmocka_unit_test(bad_utf8_refused),
		cmocka_unit_test(limits),
		cmocka_unit_test(DKIM_EAI_02_verifier_queries_alabels),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
