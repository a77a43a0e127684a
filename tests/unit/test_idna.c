/* test_idna.c: A-labels and U-labels (lib/idna.c, on libidn2) for DKIM
 * query names and the i=/d= comparison of internationalized signatures
 * (RFC 8616, RFC 5890/5891, UTS #46): known answers, the mapping,
 * labels IDNA2008 refuses, A-labels that are not, and the length limits. */
#include "testutil.h"

#include "idna.h"

static void expect_alabel(const char *in, const char *want)
{
	char out[IDNA_MAX_NAME];
	struct signet_error err = {0};
	if (idna_to_ascii(span_from_str(in), out, sizeof out, &err) != SIGNET_OK)
		fail_msg("%s: %s", in, err.msg);
	assert_string_equal(out, want);
}

static void expect_refused(const uint8_t *in, size_t len, enum signet_status st, const char *msg)
{
	char out[IDNA_MAX_NAME];
	struct signet_error err = {0};
	struct signet_span s = {in, len};
	assert_int_equal(idna_to_ascii(s, out, sizeof out, &err), st);
	if (strstr(err.msg, msg) == NULL)
		fail_msg("error '%s' does not contain '%s'", err.msg, msg);
}

static void expect_not_alabel(const char *in, const char *msg)
{
	char out[IDNA_MAX_NAME];
	struct signet_error err = {0};
	assert_int_equal(idna_to_unicode(span_from_str(in), out, sizeof out, &err),
			 SIGNET_ERR_SYNTAX);
	if (strstr(err.msg, msg) == NULL)
		fail_msg("%s: error '%s' does not contain '%s'", in, err.msg, msg);
	assert_string_equal(err.spec, "RFC 5890 2.3.2.1");
}

static void DKIM_EAI_02_punycode_known_answers(void **state)
{
	/* DKIM-EAI-02: the DNS query name is built from A-labels (RFC 3492 Punycode). */
	(void)state;
	expect_alabel("bücher.example", "xn--bcher-kva.example");
	expect_alabel("münchen.de", "xn--mnchen-3ya.de");
	expect_alabel("例え.テスト", "xn--r8jz45g.xn--zckzah");
	expect_alabel("ü", "xn--tda");
	/* ASCII names, A-labels included, stay as written. */
	expect_alabel("Example.COM", "Example.COM");
	expect_alabel("xn--bcher-kva.example", "xn--bcher-kva.example");
	expect_alabel("sel._domainkey.example", "sel._domainkey.example");
	expect_alabel("sel.bücher.example", "sel.xn--bcher-kva.example");
}

static void IDNA_uts46_mapping(void **state)
{
	/* UTS #46 4 (Processing), step 1: map. Upper case folds, a decomposed
	 * name is the precomposed one (NFC), full-width forms are ASCII; in a
	 * name with UTF-8 the ASCII labels are lower-cased too. */
	(void)state;
	expect_alabel("Bücher.example", "xn--bcher-kva.example");
	expect_alabel("BÜCHER.EXAMPLE", "xn--bcher-kva.example");
	expect_alabel("bu\xcc\x88"
		      "cher.example",
		      "xn--bcher-kva.example"); /* u + U+0308 */
	expect_alabel("\xef\xbc\xa1\xef\xbc\xa2.bücher.example", "ab.xn--bcher-kva.example");
	expect_alabel("Sel.Bücher.Example.", "sel.xn--bcher-kva.example.");
}

static void IDNA_nontransitional(void **state)
{
	/* IDN2_NONTRANSITIONAL (UTS #46 4.1, the deviations): ß stays ß, as in
	 * IDNA2008; transitional processing would query fass.de instead. */
	(void)state;
	expect_alabel("faß.de", "xn--fa-hia.de");
	expect_alabel("FASS.de", "FASS.de");
}

static void IDNA_invalid_labels_refused(void **state)
{
	/* RFC 5891 5.4 / RFC 5892: what IDNA2008 does not allow in a U-label
	 * is an error that names the name and libidn2's reason. */
	(void)state;
	expect_refused((const uint8_t *)"\xf0\x9f\x92\xa9.example", 11, SIGNET_ERR_SYNTAX,
		       "is not a valid internationalized domain name: string contains a "
		       "disallowed character");
	expect_refused((const uint8_t *)"-b\xc3\xbc"
					"cher.example",
		       15, SIGNET_ERR_SYNTAX, "hyphen");
	expect_refused((const uint8_t *)"ab--c\xc3\xbc.example", 15, SIGNET_ERR_SYNTAX,
		       "two hyphens");
	expect_refused((const uint8_t *)"\xcc\x88"
					"a.example",
		       11, SIGNET_ERR_SYNTAX,
		       "is not a valid internationalized domain name"); /* leading U+0308 */
	expect_refused((const uint8_t *)"b\xc3\xbc\0cher.example", 14, SIGNET_ERR_SYNTAX,
		       "NUL in a domain name");
}

static void IDNA_nul_in_ascii_name_refused(void **state)
{
	/* fuzz_idna found it: an ASCII name was copied as written, NUL and
	 * all, so the C string a query name is built from ended early. */
	(void)state;
	expect_refused((const uint8_t *)"xn--abc\0.example", 16, SIGNET_ERR_SYNTAX,
		       "NUL in a domain name");
	expect_refused((const uint8_t *)"\0", 1, SIGNET_ERR_SYNTAX, "NUL in a domain name");
	char out[IDNA_MAX_NAME];
	struct signet_error err = {0};
	struct signet_span s = {(const uint8_t *)"example\0.com", 12};
	assert_int_equal(idna_to_unicode(s, out, sizeof out, &err), SIGNET_ERR_SYNTAX);
	assert_string_equal(err.msg, "NUL in a domain name");
}

static void bad_utf8_refused(void **state)
{
	(void)state;
	static const char msg[] = "domain is not valid UTF-8";
	expect_refused((const uint8_t *)"b\xc3", 2, SIGNET_ERR_SYNTAX, msg); /* truncated */
	expect_refused((const uint8_t *)"\xc0\xaf.example", 10, SIGNET_ERR_SYNTAX,
		       msg);                                                        /* overlong */
	expect_refused((const uint8_t *)"\xed\xa0\x80", 3, SIGNET_ERR_SYNTAX, msg); /* surrogate */
	expect_refused((const uint8_t *)"\xf4\x90\x80\x80", 4, SIGNET_ERR_SYNTAX,
		       msg); /* > U+10FFFF */
	expect_refused((const uint8_t *)"\xff", 1, SIGNET_ERR_SYNTAX, msg);
}

static void IDNA_MAX_LABEL_limit(void **state)
{
	/* IDNA_MAX_LABEL (RFC 1035 2.3.4): "ü" + 55 x "a" is an A-label of 63
	 * octets; one "a" more makes 64, refused. */
	(void)state;
	char in[80] = "\xc3\xbc";
	memset(in + 2, 'a', 55);
	in[57] = '\0';
	char out[IDNA_MAX_NAME];
	struct signet_error err = {0};
	assert_int_equal(idna_to_ascii(span_from_str(in), out, sizeof out, &err), SIGNET_OK);
	assert_int_equal(strlen(out), 63);
	strcat(in, "a");
	assert_int_equal(idna_to_ascii(span_from_str(in), out, sizeof out, &err), SIGNET_ERR_LIMIT);
	assert_non_null(strstr(err.msg, "': a label of the A-label form is longer than "
					"IDNA_MAX_LABEL (63) octets"));
}

/* "ü." (A-label "xn--tda.", 8 octets) + 3 x (61 x "a" + ".") + tail x "a". */
static void long_name(char *in, size_t tail)
{
	strcpy(in, "\xc3\xbc.");
	for (int k = 0; k < 3; k++) {
		size_t n = strlen(in);
		memset(in + n, 'a', 61);
		strcpy(in + n + 61, ".");
	}
	size_t n = strlen(in);
	memset(in + n, 'a', tail);
	in[n + tail] = '\0';
}

static void IDNA_MAX_DNS_NAME_limit(void **state)
{
	/* IDNA_MAX_DNS_NAME (RFC 1035 2.3.4): an A-label form of 253 octets
	 * converts, with or without the final dot; 254 is refused. */
	(void)state;
	char in[400], out[IDNA_MAX_NAME];
	struct signet_error err = {0};
	long_name(in, 59);
	assert_int_equal(idna_to_ascii(span_from_str(in), out, sizeof out, &err), SIGNET_OK);
	assert_int_equal(strlen(out), 253);
	strcat(in, ".");
	assert_int_equal(idna_to_ascii(span_from_str(in), out, sizeof out, &err), SIGNET_OK);
	long_name(in, 60);
	assert_int_equal(idna_to_ascii(span_from_str(in), out, sizeof out, &err), SIGNET_ERR_LIMIT);
	assert_non_null(strstr(err.msg, "': the A-label form is longer than IDNA_MAX_DNS_NAME "
					"(253) octets"));
	assert_string_equal(err.spec, "RFC 1035 2.3.4");
}

static void IDNA_MAX_NAME_and_cap(void **state)
{
	/* Input over IDNA_MAX_NAME and an output buffer without room: LIMIT. */
	(void)state;
	char in[IDNA_MAX_NAME + 2], out[IDNA_MAX_NAME];
	struct signet_error err = {0};
	memset(in, 'a', sizeof in);
	memcpy(in, "\xc3\xbc.", 3);
	struct signet_span s = {(const uint8_t *)in, IDNA_MAX_NAME};
	assert_int_equal(idna_to_ascii(s, out, sizeof out, &err), SIGNET_ERR_LIMIT);
	assert_non_null(strstr(err.msg, "IDNA_MAX_NAME"));
	assert_int_equal(idna_to_unicode(s, out, sizeof out, &err), SIGNET_ERR_LIMIT);
	s.len = 2;
	assert_int_equal(idna_to_ascii(s, out, 7, &err), SIGNET_ERR_LIMIT); /* "xn--tda" needs 8 */
	assert_int_equal(idna_to_ascii(s, out, 8, &err), SIGNET_OK);
	assert_string_equal(out, "xn--tda");
	assert_int_equal(idna_to_ascii(s, out, 0, &err), SIGNET_ERR_LIMIT);
}

static void IDNA_to_unicode_checks_alabels(void **state)
{
	/* RFC 5890 2.3.2.1, RFC 5891 5.4: an "xn--" label is an A-label only
	 * if it decodes to a valid U-label that encodes back to it. */
	(void)state;
	char out[IDNA_MAX_NAME];
	struct signet_error err = {0};
	assert_int_equal(
		idna_to_unicode(span_from_str("XN--BCHER-KVA.Example"), out, sizeof out, &err),
		SIGNET_OK);
	assert_string_equal(out, "b\xc3\xbc"
				 "cher.Example");
	assert_int_equal(idna_to_unicode(span_from_str("xn--fa-hia.de"), out, sizeof out, &err),
			 SIGNET_OK);
	assert_string_equal(out, "fa\xc3\x9f.de");
	expect_not_alabel("xn--zzzz.example", "'xn--zzzz' is not a valid A-label");
	expect_not_alabel("xn--abc.example", "'xn--abc' is not a valid A-label"); /* C1 controls */
	/* decodes to "bu" U+0308 "cher", whose A-label (NFC first) is xn--bcher-kva */
	expect_not_alabel("xn--bucher-xyd", "is not the A-label of what it decodes to");
	expect_not_alabel("xn--a", "'xn--a' is not a valid A-label");
	expect_not_alabel("xn--", "'xn--' is not a valid A-label");
	expect_not_alabel("xn--ls8h.example", "'xn--ls8h' is not a valid A-label"); /* U+1F4A9 */
	assert_int_equal(idna_to_unicode(span_from_str("xn--Bcher-kva"), out, sizeof out, &err),
			 SIGNET_OK); /* A-labels are matched in lower case */
	assert_string_equal(out, "b\xc3\xbc"
				 "cher");
	char label[80] = "xn--";
	memset(label + 4, 'a', 60);
	label[64] = '\0';
	expect_not_alabel(label, "at most IDNA_MAX_LABEL (63) octets");
}

/* UTS #46 4.1: a label that mapping turns into "xn--..." must be a valid
 * A-label. "xn-<U+00AD>-mBA" maps (the soft hyphen removed, lower case) to
 * "xn--mba", which is no A-label: refused, as idna_to_unicode refuses it
 * (fuzz_idna found the two disagreeing). A real A-label beside a U-label
 * still converts. */
static void IDNA_mapped_alabel_checked(void **state)
{
	(void)state;
	char out[IDNA_MAX_NAME];
	struct signet_error err = {0};
	static const char bad[] = "xnxn\xc3\x9f"
				  "a.xn+xn..xn-\xc2\xad-mBA";
	struct signet_span s = {(const uint8_t *)bad, sizeof bad - 1};
	assert_int_equal(idna_to_ascii(s, out, sizeof out, &err), SIGNET_ERR_SYNTAX);
	assert_string_equal(err.msg, "'xn--mba' is not a valid A-label: A-label roundtrip failed");
	static const char mixed[] = "b\xc3\xbc"
				    "cher.xn--bcher-kva.example";
	s = (struct signet_span){(const uint8_t *)mixed, sizeof mixed - 1};
	assert_int_equal(idna_to_ascii(s, out, sizeof out, &err), SIGNET_OK);
	assert_string_equal(out, "xn--bcher-kva.xn--bcher-kva.example");
}

static void DKIM_EAI_02_verifier_queries_alabels(void **state)
{
	/* DKIM-EAI-02: d=bücher.example → query sel._domainkey.xn--bcher-kva.example; an i=
	 * in A-label form is within a U-label d=. */
	(void)state;
	const char *msg = "DKIM-Signature: v=1; a=rsa-sha256; d=b\xc3\xbc"
			  "cher.example; s=sel;\r\n"
			  " i=@mail.xn--bcher-kva.example; h=from;\r\n"
			  " bh=47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=; b=AAAA\r\n"
			  "From: a@b\xc3\xbc"
			  "cher.example\r\n\r\n";
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
		cmocka_unit_test(IDNA_uts46_mapping),
		cmocka_unit_test(IDNA_nontransitional),
		cmocka_unit_test(IDNA_invalid_labels_refused),
		cmocka_unit_test(IDNA_nul_in_ascii_name_refused),
		cmocka_unit_test(IDNA_mapped_alabel_checked),
		cmocka_unit_test(bad_utf8_refused),
		cmocka_unit_test(IDNA_MAX_LABEL_limit),
		cmocka_unit_test(IDNA_MAX_DNS_NAME_limit),
		cmocka_unit_test(IDNA_MAX_NAME_and_cap),
		cmocka_unit_test(IDNA_to_unicode_checks_alabels),
		cmocka_unit_test(DKIM_EAI_02_verifier_queries_alabels),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
