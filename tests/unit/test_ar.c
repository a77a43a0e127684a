/* test_ar.c: lib/ar.c: the Authentication-Results value we format (golden
 * strings, folding, quoting, header.b lengthening) and the recognition of a
 * field that claims our authserv-id (RFC 8601 2.2 grammar, malformed and
 * truncated input, NUL bytes). Results are filled by hand here. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <signet/ar.h>

#define ID "mx.example.com"
#define PREFIX_LEN 23 /* "Authentication-Results:" */

static struct signet_sig_result R[6];

static void set(struct signet_sig_result *r, enum signet_result res, enum signet_alg alg,
		unsigned bits, const char *d, const char *i, const char *s, const char *b,
		const char *reason)
{
	memset(r, 0, sizeof *r);
	r->result = res;
	r->alg = alg;
	r->key_bits = bits;
	/* tag values are borrowed, as from a verifier: R[k] keeps copies here */
	static char pool[6][4][2048];
	char(*own)[2048] = pool[r - R];
	const char *src[4] = {d, i, s, b};
	for (size_t k = 0; k < 4; k++) {
		assert_true(strlen(src[k]) < sizeof own[k]);
		memcpy(own[k], src[k], strlen(src[k]) + 1);
	}
	r->d = own[0];
	r->i = own[1];
	r->s = own[2];
	r->b = own[3];
	snprintf(r->reason, sizeof r->reason, "%s", reason);
	r->a = alg == SIGNET_ALG_UNKNOWN ? "" : signet_alg_name(alg);
}

static bool is_ours_str(const char *v, const char *id)
{
	/* exact-size copy, so ASan catches a read past len */
	size_t n = strlen(v);
	uint8_t *p = malloc(n ? n : 1);
	assert_non_null(p);
	memcpy(p, v, n);
	bool ours = signet_ar_is_ours(p, n, id);
	free(p);
	return ours;
}

/* AR-SYN-09: every line <= 78 octets (the first with the field name), a
 * fold is CRLF TAB, never two spaces or a space before a fold. */
static void check_lines(const char *v)
{
	size_t col = PREFIX_LEN;
	assert_int_equal(v[0], ' ');
	for (const char *c = v; *c != '\0'; c++) {
		if (*c == '\r') {
			assert_int_equal(c[1], '\n');
			assert_int_equal(c[2], '\t');
			assert_int_not_equal(c[-1], ' ');
			assert_int_not_equal(c[3], ' ');
			col = 0;
			c++;
			continue;
		}
		assert_int_not_equal(*c, '\n');
		col++;
		if (col > 78)
			fail_msg("line longer than 78 octets in: %s", v);
	}
}

/* Formats R[0..n), checks the lines and that the result reads back as ours. */
static const char *fmt(size_t n, char *out, size_t cap, bool long_words)
{
	const struct signet_sig_result *rs[6] = {0}; /* n may be 0 */
	for (size_t k = 0; k < n; k++)
		rs[k] = &R[k];
	size_t len = 0;
	struct signet_error err = {0};
	if (signet_ar_format(ID, rs, n, out, cap, &len, &err) != SIGNET_OK)
		fail_msg("format: %s", err.msg);
	assert_int_equal(strlen(out), len);
	if (!long_words)
		check_lines(out);
	assert_true(is_ours_str(out, ID));
	assert_true(is_ours_str(out, "MX.EXAMPLE.COM"));
	assert_false(is_ours_str(out, "example.com"));
	return out;
}

/* Unfolds: CRLF TAB becomes the single space a fold replaced. */
static void unfold(const char *in, char *out)
{
	while (*in != '\0') {
		if (in[0] == '\r' && in[1] == '\n' && in[2] == '\t') {
			*out++ = ' ';
			in += 3;
		} else {
			*out++ = *in++;
		}
	}
	*out = '\0';
}

#define B1 "AbCdEfGhIjKlMnOpQrStUvWxYz0123456789+abcdEFGH=="

/* AR-SYN-01 "Shape: `Authentication-Results: <authserv-id> [<version>] ;
 * <method>=<result> [reason=...] [ptype.prop=value ...] [; ...]` (2.2)." */
static void AR_SYN_01_one_pass_golden(void **state)
{
	(void)state;
	char out[1024];
	set(&R[0], SIGNET_RESULT_PASS, SIGNET_ALG_RSA_SHA256, 2048, "example.com", "", "sel", B1,
	    "");
	assert_string_equal(
		fmt(1, out, sizeof out, false),
		" mx.example.com; dkim=pass (2048-bit key)\r\n"
		"\theader.d=example.com header.i=@example.com header.s=sel header.a=rsa-sha256\r\n"
		"\theader.b=AbCdEfGh");
}

/* AR-SYN-02 "unsigned message → `dkim=none`, never bare `none`." */
static void AR_SYN_02_unsigned_is_dkim_none(void **state)
{
	(void)state;
	char out[64];
	assert_string_equal(fmt(0, out, sizeof out, false), " mx.example.com; dkim=none");
	size_t len = 0;
	struct signet_error err = {0};
	assert_int_equal(signet_ar_format("a", NULL, 0, out, sizeof out, &len, &err), SIGNET_OK);
	assert_string_equal(out, " a; dkim=none");
	/* the output buffer at limit-1, limit, limit+1 (12 octets + NUL) */
	assert_int_equal(signet_ar_format("a", NULL, 0, out, 13, &len, &err), SIGNET_ERR_LIMIT);
	assert_string_equal(err.spec, "RFC 8601 2.2");
	assert_int_equal(signet_ar_format("a", NULL, 0, out, 14, &len, &err), SIGNET_OK);
	assert_int_equal(len, 13);
	assert_int_equal(signet_ar_format("a", NULL, 0, out, 15, &len, &err), SIGNET_OK);
	assert_int_equal(signet_ar_format("a", NULL, 0, out, 0, &len, &err), SIGNET_ERR_LIMIT);
}

/* AR-SYN-03 "we only emit a hostname-like token (letters, digits, `.`, `-`);
 * config with anything else is refused ... Test: `authserv_id = "my host"`." */
static void AR_SYN_03_authserv_id_token(void **state)
{
	(void)state;
	assert_true(signet_ar_authserv_id_valid("mx.example.com"));
	assert_true(signet_ar_authserv_id_valid("MX-1.Example.COM"));
	assert_true(signet_ar_authserv_id_valid("a"));
	assert_false(signet_ar_authserv_id_valid("my host"));
	assert_false(signet_ar_authserv_id_valid(""));
	assert_false(signet_ar_authserv_id_valid(NULL));
	assert_false(signet_ar_authserv_id_valid("mx;evil"));
	assert_false(signet_ar_authserv_id_valid("\"mx\""));
	assert_false(signet_ar_authserv_id_valid("mx(c)"));
	assert_false(signet_ar_authserv_id_valid("mx\r\nX-Evil: 1"));
	assert_false(signet_ar_authserv_id_valid("h\xc3\xa4st"));
	char out[64];
	size_t len = 0;
	struct signet_error err = {0};
	assert_int_equal(signet_ar_format("my host", NULL, 0, out, sizeof out, &len, &err),
			 SIGNET_ERR_INVAL);
	assert_int_equal(signet_ar_format(NULL, NULL, 0, out, sizeof out, &len, &err),
			 SIGNET_ERR_INVAL);
}

/* AR-SYN-04 "Test: `mx.example.com 1; dkim=pass` parses with id
 * `mx.example.com` and version 1." AR-SYN-05 "methods may carry a version
 * `dkim/1` ... Parser accepts it." We never print either. */
static void AR_SYN_04_05_versions(void **state)
{
	(void)state;
	assert_true(is_ours_str("mx.example.com 1; dkim=pass", ID));
	assert_true(is_ours_str("mx.example.com (c) 1 (d); dkim=pass", ID));
	assert_true(is_ours_str("mx.example.com; dkim/1=pass", ID));
	assert_false(is_ours_str("mx.example.com1; dkim=pass", ID));
	char out[256];
	set(&R[0], SIGNET_RESULT_PASS, SIGNET_ALG_ED25519_SHA256, 256, "example.com", "", "s", "x",
	    "");
	fmt(1, out, sizeof out, false);
	assert_null(strstr(out, "dkim/"));
	assert_memory_equal(out, " mx.example.com; ", 17);
}

/* AR-SYN-06 "`reason=` comes right after the result and before the
 * properties; its value must be quoted when it has spaces or specials." */
static void AR_SYN_06_reason_quoted(void **state)
{
	(void)state;
	char out[1024];
	set(&R[0], SIGNET_RESULT_FAIL, SIGNET_ALG_ED25519_SHA256, 256, "example.com", "", "s", "",
	    "signature verification failed");
	assert_string_equal(fmt(1, out, sizeof out, false),
			    " mx.example.com; dkim=fail\r\n"
			    "\treason=\"signature verification failed\" header.d=example.com\r\n"
			    "\theader.i=@example.com header.s=s header.a=ed25519-sha256");
	/* '\' escaped, '"' made '\'' (Mail::AuthenticationResults reads no
	 * quoted-pairs); CR LF (a header injection) dropped; controls made '?' */
	set(&R[0], SIGNET_RESULT_PERMERROR, SIGNET_ALG_UNKNOWN, 0, "", "", "", "",
	    "bad \"tag\" \\ here\r\nX-Evil: 1\x01");
	assert_string_equal(fmt(1, out, sizeof out, false),
			    " mx.example.com; dkim=permerror\r\n"
			    "\treason=\"bad 'tag' \\\\ hereX-Evil: 1?\"");
	/* a pass carries no reason */
	set(&R[0], SIGNET_RESULT_PASS, SIGNET_ALG_UNKNOWN, 0, "", "", "", "", "should not appear");
	assert_string_equal(fmt(1, out, sizeof out, false), " mx.example.com; dkim=pass");
}

/* AR-SYN-07 "`header.i=@example.com` and `header.i=user@example.com` are
 * legal unquoted ... A value containing `;`, `(`, `"`, space or other
 * specials must be quoted. Test: i= with a quoted local part `"a b"@example.com`." */
static void AR_SYN_07_values_quoted_when_needed(void **state)
{
	(void)state;
	char out[1024];
	set(&R[0], SIGNET_RESULT_PASS, SIGNET_ALG_UNKNOWN, 0, "example.com", "user@example.com",
	    "s", "", "");
	assert_string_equal(fmt(1, out, sizeof out, false),
			    " mx.example.com; dkim=pass header.d=example.com\r\n"
			    "\theader.i=user@example.com header.s=s");
	set(&R[0], SIGNET_RESULT_PASS, SIGNET_ALG_UNKNOWN, 0, "example.com", "\"a b\"@example.com",
	    "", "", "");
	assert_string_equal(fmt(1, out, sizeof out, false),
			    " mx.example.com; dkim=pass header.d=example.com\r\n"
			    "\theader.i=\"\\\"a b\\\"@example.com\"");
	set(&R[0], SIGNET_RESULT_FAIL, SIGNET_ALG_UNKNOWN, 0, "a;b(c", "", "sel ector",
	    "/a+b=", "");
	assert_string_equal(fmt(1, out, sizeof out, false),
			    " mx.example.com; dkim=fail header.d=\"a;b(c\"\r\n"
			    "\theader.i=\"@a;b(c\" header.s=\"sel ector\" header.b=\"/a+b=\"");
	/* AR-SYN-10: a UTF-8 (EAI) i= is emitted as received, unquoted */
	set(&R[0], SIGNET_RESULT_PASS, SIGNET_ALG_UNKNOWN, 0, "example.com",
	    "j\xc3\xb6rg@example.com", "", "", "");
	assert_string_equal(fmt(1, out, sizeof out, false),
			    " mx.example.com; dkim=pass header.d=example.com\r\n"
			    "\theader.i=j\xc3\xb6rg@example.com");
	/* a folded tag value from a message never breaks the field */
	set(&R[0], SIGNET_RESULT_FAIL, SIGNET_ALG_UNKNOWN, 0, "exa\r\n mple.com", "", "", "", "");
	assert_string_equal(fmt(1, out, sizeof out, false),
			    " mx.example.com; dkim=fail header.d=\"exa mple.com\"\r\n"
			    "\theader.i=\"@exa mple.com\"");
}

/* AR-SYN-08 "Comments `( ... )` (CFWS) may appear between tokens ... Test:
 * parser skips nested comments `(a (b) c)`." */
static void AR_SYN_08_nested_comments(void **state)
{
	(void)state;
	assert_true(is_ours_str("(a (b) c) mx.example.com; dkim=pass", ID));
	assert_true(is_ours_str("(a (b (c)) \\) d) mx.example.com;", ID));
	assert_false(is_ours_str("(a (b) c mx.example.com; dkim=pass", ID));
	assert_false(is_ours_str("(mx.example.com) other.example; dkim=pass", ID));
}

/* AR-SYN-09 "folded at < 78 columns between resinfo items and between
 * properties, never inside a token ... Test: 5 signatures → every line ≤ 78
 * octets, unfolds to the same text." */
static void AR_SYN_09_fold_five_signatures(void **state)
{
	(void)state;
	char out[4096], flat[4096];
	for (size_t k = 0; k < 5; k++) {
		char d[32], b[16];
		snprintf(d, sizeof d, "sub%zu.example.com", k);
		snprintf(b, sizeof b, "Sig%zuAbcdefghij", k);
		set(&R[k], k % 2 ? SIGNET_RESULT_FAIL : SIGNET_RESULT_PASS, SIGNET_ALG_RSA_SHA256,
		    2048, d, "", "selector2024", b, k % 2 ? "signature did not verify" : "");
	}
	fmt(5, out, sizeof out, false);
	unfold(out, flat);
	assert_string_equal(
		flat,
		" mx.example.com;"
		" dkim=pass (2048-bit key) header.d=sub0.example.com header.i=@sub0.example.com"
		" header.s=selector2024 header.a=rsa-sha256 header.b=Sig0Abcd;"
		" dkim=fail (2048-bit key) reason=\"signature did not verify\""
		" header.d=sub1.example.com header.i=@sub1.example.com"
		" header.s=selector2024 header.a=rsa-sha256 header.b=Sig1Abcd;"
		" dkim=pass (2048-bit key) header.d=sub2.example.com header.i=@sub2.example.com"
		" header.s=selector2024 header.a=rsa-sha256 header.b=Sig2Abcd;"
		" dkim=fail (2048-bit key) reason=\"signature did not verify\""
		" header.d=sub3.example.com header.i=@sub3.example.com"
		" header.s=selector2024 header.a=rsa-sha256 header.b=Sig3Abcd;"
		" dkim=pass (2048-bit key) header.d=sub4.example.com header.i=@sub4.example.com"
		" header.s=selector2024 header.a=rsa-sha256 header.b=Sig4Abcd");
	assert_string_equal(
		out,
		" mx.example.com; dkim=pass (2048-bit key)\r\n"
		"\theader.d=sub0.example.com header.i=@sub0.example.com header.s=selector2024\r\n"
		"\theader.a=rsa-sha256 header.b=Sig0Abcd; dkim=fail (2048-bit key)\r\n"
		"\treason=\"signature did not verify\" header.d=sub1.example.com\r\n"
		"\theader.i=@sub1.example.com header.s=selector2024 header.a=rsa-sha256\r\n"
		"\theader.b=Sig1Abcd; dkim=pass (2048-bit key) header.d=sub2.example.com\r\n"
		"\theader.i=@sub2.example.com header.s=selector2024 header.a=rsa-sha256\r\n"
		"\theader.b=Sig2Abcd; dkim=fail (2048-bit key) reason=\"signature did not "
		"verify\"\r\n"
		"\theader.d=sub3.example.com header.i=@sub3.example.com header.s=selector2024\r\n"
		"\theader.a=rsa-sha256 header.b=Sig3Abcd; dkim=pass (2048-bit key)\r\n"
		"\theader.d=sub4.example.com header.i=@sub4.example.com header.s=selector2024\r\n"
		"\theader.a=rsa-sha256 header.b=Sig4Abcd");
	/* a word longer than a line stays whole on its own line */
	char longd[200];
	memset(longd, 'a', 100);
	memcpy(longd + 100, ".example", 9);
	set(&R[0], SIGNET_RESULT_PASS, SIGNET_ALG_UNKNOWN, 0, longd, "x@y", "", "", "");
	fmt(1, out, sizeof out, true);
	snprintf(flat, sizeof flat, " mx.example.com; dkim=pass\r\n\theader.d=%s\r\n\theader.i=x@y",
		 longd);
	assert_string_equal(out, flat);
}

/* AR-DKIM-01 "One `dkim=` resinfo per DKIM-Signature evaluated, in header
 * order (top first). Test: 3 signatures → 3 `dkim=` items in order." */
static void AR_DKIM_01_one_item_per_signature_in_order(void **state)
{
	(void)state;
	char out[2048];
	set(&R[0], SIGNET_RESULT_PERMERROR, SIGNET_ALG_UNKNOWN, 0, "c.example", "", "", "", "x");
	set(&R[1], SIGNET_RESULT_PASS, SIGNET_ALG_UNKNOWN, 0, "a.example", "", "", "", "");
	set(&R[2], SIGNET_RESULT_FAIL, SIGNET_ALG_UNKNOWN, 0, "b.example", "", "", "", "y");
	fmt(3, out, sizeof out, false);
	const char *p1 = strstr(out, "dkim=permerror"), *p2 = strstr(out, "dkim=pass"),
		   *p3 = strstr(out, "dkim=fail");
	assert_non_null(p1);
	assert_non_null(p2);
	assert_non_null(p3);
	assert_true(p1 < p2 && p2 < p3);
	assert_null(strstr(p3 + 1, "dkim="));
	assert_string_equal(
		out, " mx.example.com; dkim=permerror reason=\"x\"\r\n"
		     "\theader.d=c.example header.i=@c.example; dkim=pass header.d=a.example\r\n"
		     "\theader.i=@a.example; dkim=fail reason=\"y\" header.d=b.example\r\n"
		     "\theader.i=@b.example");
}

/* AR-DKIM-02 "Result words ... Test: one fixture per word, checking the exact token." */
static void AR_DKIM_02_result_words(void **state)
{
	(void)state;
	static const struct {
		enum signet_result r;
		const char *want;
	} rows[] = {
		{SIGNET_RESULT_PASS, " mx.example.com; dkim=pass"},
		{SIGNET_RESULT_FAIL, " mx.example.com; dkim=fail"},
		{SIGNET_RESULT_NEUTRAL, " mx.example.com; dkim=neutral"},
		{SIGNET_RESULT_POLICY, " mx.example.com; dkim=policy"},
		{SIGNET_RESULT_TEMPERROR, " mx.example.com; dkim=temperror"},
		{SIGNET_RESULT_PERMERROR, " mx.example.com; dkim=permerror"},
		{SIGNET_RESULT_NONE, " mx.example.com; dkim=none"},
	};
	char out[256];
	for (size_t k = 0; k < sizeof rows / sizeof rows[0]; k++) {
		set(&R[0], rows[k].r, SIGNET_ALG_UNKNOWN, 0, "", "", "", "", "");
		assert_string_equal(fmt(1, out, sizeof out, false), rows[k].want);
	}
}

/* AR-DKIM-04 "`header.i` = i= value, or `@` + d= when the signature had no
 * i=; ... `header.b` = the first 8 characters (more when needed to be unique
 * among the signatures in this message) ... Test: two signatures by the same
 * d= whose b= share the first 8 chars → we lengthen header.b until they differ." */
static void AR_DKIM_04_header_i_and_unique_b(void **state)
{
	(void)state;
	char out[2048];
	set(&R[0], SIGNET_RESULT_PASS, SIGNET_ALG_UNKNOWN, 0, "example.com", "", "",
	    "ABCDEFGHIJ1xyz", "");
	set(&R[1], SIGNET_RESULT_PASS, SIGNET_ALG_UNKNOWN, 0, "example.com", "@mail.example.com",
	    "", "ABCDEFGHIJ2xyz", "");
	set(&R[2], SIGNET_RESULT_PASS, SIGNET_ALG_UNKNOWN, 0, "example.com", "", "",
	    "ABCDEFGH+other", "");
	assert_string_equal(
		fmt(3, out, sizeof out, false),
		" mx.example.com; dkim=pass header.d=example.com\r\n"
		"\theader.i=@example.com header.b=ABCDEFGHIJ1; dkim=pass header.d=example.com\r\n"
		"\theader.i=@mail.example.com header.b=ABCDEFGHIJ2; dkim=pass\r\n"
		"\theader.d=example.com header.i=@example.com header.b=ABCDEFGH+");
	/* exactly 8 in common → 9; a b= shorter than 8 stays whole; identical b= stay whole */
	set(&R[0], SIGNET_RESULT_PASS, SIGNET_ALG_UNKNOWN, 0, "", "", "", "12345678a", "");
	set(&R[1], SIGNET_RESULT_PASS, SIGNET_ALG_UNKNOWN, 0, "", "", "", "12345678b", "");
	set(&R[2], SIGNET_RESULT_PASS, SIGNET_ALG_UNKNOWN, 0, "", "", "", "1234567", "");
	set(&R[3], SIGNET_RESULT_PASS, SIGNET_ALG_UNKNOWN, 0, "", "", "", "zzzzzzzzzz", "");
	set(&R[4], SIGNET_RESULT_PASS, SIGNET_ALG_UNKNOWN, 0, "", "", "", "zzzzzzzzzz", "");
	assert_string_equal(
		fmt(5, out, sizeof out, false),
		" mx.example.com; dkim=pass header.b=12345678a;\r\n"
		"\tdkim=pass header.b=12345678b; dkim=pass header.b=1234567; dkim=pass\r\n"
		"\theader.b=zzzzzzzz; dkim=pass header.b=zzzzzzzz");
	/* one signature: 7, 8 and 9 characters of b= give 7, 8, 8 */
	static const char *const bs[] = {"1234567", "12345678", "123456789"};
	static const char *const want[] = {" mx.example.com; dkim=pass header.b=1234567",
					   " mx.example.com; dkim=pass header.b=12345678",
					   " mx.example.com; dkim=pass header.b=12345678"};
	for (size_t k = 0; k < 3; k++) {
		set(&R[0], SIGNET_RESULT_PASS, SIGNET_ALG_UNKNOWN, 0, "", "", "", bs[k], "");
		assert_string_equal(fmt(1, out, sizeof out, false), want[k]);
	}
}

/* AR-DKIM-05 "Property order we print: `header.d header.i header.s header.a
 * header.b` ... Test: golden string." */
static void AR_DKIM_05_property_order(void **state)
{
	(void)state;
	char out[1024];
	set(&R[0], SIGNET_RESULT_PASS, SIGNET_ALG_ED25519_SHA256, 256, "d.example", "u@d.example",
	    "s1", "bbbbbbbbbbbb", "");
	assert_string_equal(
		fmt(1, out, sizeof out, false),
		" mx.example.com; dkim=pass header.d=d.example\r\n"
		"\theader.i=u@d.example header.s=s1 header.a=ed25519-sha256 header.b=bbbbbbbb");
}

/* AR-DKIM-06 "For signatures we could not parse at all (no d=), omit the
 * properties we do not know rather than printing empty values. Test:
 * DKIM-Signature with only `v=1` → `dkim=permerror reason="..."` with no `header.d=`." */
static void AR_DKIM_06_omit_empty_properties(void **state)
{
	(void)state;
	char out[256];
	set(&R[0], SIGNET_RESULT_PERMERROR, SIGNET_ALG_UNKNOWN, 0, "", "", "", "",
	    "missing required tag d=");
	assert_string_equal(
		fmt(1, out, sizeof out, false),
		" mx.example.com; dkim=permerror\r\n\treason=\"missing required tag d=\"");
	assert_null(strstr(out, "header."));
	/* a= known, nothing else */
	set(&R[0], SIGNET_RESULT_PERMERROR, SIGNET_ALG_RSA_SHA1, 0, "", "", "", "", "");
	assert_string_equal(fmt(1, out, sizeof out, false),
			    " mx.example.com; dkim=permerror header.a=rsa-sha1");
}

/* AR-DKIM-07 "Key in testing mode (t=y): result is printed as is, with
 * comment `(test mode)` ... Test: t=y fixture → `dkim=pass (test mode) ...`." */
static void AR_DKIM_07_test_mode_comment(void **state)
{
	(void)state;
	char out[1024];
	set(&R[0], SIGNET_RESULT_PASS, SIGNET_ALG_ED25519_SHA256, 256, "example.com", "", "", "",
	    "");
	R[0].testing = true;
	assert_string_equal(fmt(1, out, sizeof out, false),
			    " mx.example.com; dkim=pass (test mode)\r\n"
			    "\theader.d=example.com header.i=@example.com header.a=ed25519-sha256");
	/* with an RSA key both facts share one comment (SpamAssassin reads one) */
	set(&R[0], SIGNET_RESULT_PASS, SIGNET_ALG_RSA_SHA256, 1024, "example.com", "", "", "", "");
	R[0].testing = true;
	assert_string_equal(fmt(1, out, sizeof out, false),
			    " mx.example.com; dkim=pass (1024-bit key; test mode)\r\n"
			    "\theader.d=example.com header.i=@example.com header.a=rsa-sha256");
}

/* AR-DKIM-08 "Comment with key size for RSA (`(2048-bit key)`) ... Test:
 * golden string." AR-INTEROP-03 "no comment glued to [a value]." */
static void AR_DKIM_08_key_size_comment(void **state)
{
	(void)state;
	char out[1024];
	set(&R[0], SIGNET_RESULT_FAIL, SIGNET_ALG_RSA_SHA256, 4096, "example.com", "", "", "", "");
	assert_string_equal(fmt(1, out, sizeof out, false),
			    " mx.example.com; dkim=fail (4096-bit key)\r\n"
			    "\theader.d=example.com header.i=@example.com header.a=rsa-sha256");
	/* no key decoded, or an ed25519 key: no size comment */
	set(&R[0], SIGNET_RESULT_TEMPERROR, SIGNET_ALG_RSA_SHA256, 0, "", "", "", "", "");
	assert_string_equal(fmt(1, out, sizeof out, false),
			    " mx.example.com; dkim=temperror header.a=rsa-sha256");
	set(&R[0], SIGNET_RESULT_PASS, SIGNET_ALG_ED25519_SHA256, 256, "", "", "", "", "");
	assert_string_equal(fmt(1, out, sizeof out, false),
			    " mx.example.com; dkim=pass header.a=ed25519-sha256");
	assert_null(strstr(out, "("));
}

/* AR-DEL-01 "every existing AR header whose authserv-id equals ours
 * (case-insensitive, after skipping CFWS) is removed." AR-DEL-02 "AR
 * headers with other authserv-ids are kept." (the matching part) */
static void AR_DEL_01_matching(void **state)
{
	(void)state;
	assert_true(is_ours_str("MX.Example.COM; dkim=pass", ID));
	assert_true(is_ours_str(" \t\r\n\tmx.example.com; dkim=pass", ID));
	assert_true(is_ours_str("mx.example.com; dkim=pass", "MX.EXAMPLE.COM"));
	assert_false(is_ours_str("mx.other.example; dkim=pass", ID));
	assert_false(is_ours_str("mx.example.com; dkim=pass", ""));
	assert_false(signet_ar_is_ours((const uint8_t *)"mx.example.com;", 15, NULL));
	assert_false(signet_ar_is_ours(NULL, 0, ID));
}

/* AR-DEL-03 "leading CFWS and comments, quoted-string form, the id followed
 * by a version number (`mx.example.com 1;`) or by a comment
 * (`mx.example.com (Postfix);`), and the id followed directly by `;` ... a
 * substring or prefix match is also a bug (`mx.example.com.evil.test`).
 * Test: those six variants, forged ones removed, look-alikes kept." */
static void AR_DEL_03_six_variants(void **state)
{
	(void)state;
	assert_false(is_ours_str("mx.example.com.evil.test; dkim=pass", ID));
	assert_true(is_ours_str("MX.Example.COM 1; dkim=pass", ID));
	assert_true(is_ours_str("mx.example.com (Postfix); dkim=pass", ID));
	assert_true(is_ours_str("\"mx.example.com\"; dkim=pass", ID));
	assert_true(is_ours_str(" (c) mx.example.com; dkim=pass", ID));
	assert_true(is_ours_str("mx.example.com; dkim=pass", ID));
	/* more look-alikes */
	assert_false(is_ours_str("mx.example.co; dkim=pass", ID));
	assert_false(is_ours_str("xmx.example.com; dkim=pass", ID));
	assert_false(is_ours_str("mx.example.com-evil; dkim=pass", ID));
	assert_false(is_ours_str("evil.mx.example.com; dkim=pass", ID));
	assert_false(is_ours_str("\"mx.example.com.evil\"; dkim=pass", ID));
	assert_false(is_ours_str("\"mx.example.co\"; dkim=pass", ID));
	assert_false(is_ours_str("\"mx.example.com \"; dkim=pass", ID));
}

/* AR-DEL-01 "every existing AR header whose authserv-id equals ours
 * (case-insensitive, after skipping CFWS) is removed"; RFC 8601 2.5: the
 * authserv-id names a host, so "mx.example.com." (the root's dot) and any
 * case of it are ours too, as token or quoted-string; a second dot or more
 * labels are not. Either side may carry the dot (authserv_id is config). */
static void AR_DEL_01_trailing_dot_is_ours(void **state)
{
	(void)state;
	assert_true(is_ours_str("mx.example.com.; dkim=pass", ID));
	assert_true(is_ours_str("MX.Example.COM.; dkim=pass", ID));
	assert_true(is_ours_str("mx.example.com. 1 (c); dkim=pass", ID));
	assert_true(is_ours_str("\"mx.example.com.\"; dkim=pass", ID));
	assert_true(is_ours_str("\"MX.EXAMPLE.COM.\"; dkim=pass", ID));
	assert_true(is_ours_str("mx.example.com.", ID)); /* truncated (AR-PARSE-02) */
	assert_true(is_ours_str("\"mx.example.com.", ID));
	assert_true(is_ours_str("mx.example.com; dkim=pass", "mx.example.com."));
	assert_true(is_ours_str("mx.example.com.; dkim=pass", "MX.EXAMPLE.COM."));
	assert_true(is_ours_str("\"mx.example.com\"; dkim=pass", "mx.example.com."));
	/* look-alikes stay */
	assert_false(is_ours_str("mx.example.com..; dkim=pass", ID));
	assert_false(is_ours_str("\"mx.example.com..\"; dkim=pass", ID));
	assert_false(is_ours_str("\"mx.example.com.x\"; dkim=pass", ID));
	assert_false(is_ours_str("mx.example.com.evil.; dkim=pass", ID));
	assert_false(is_ours_str("mx.example.co.; dkim=pass", ID));
	assert_false(is_ours_str(".; dkim=pass", ID));
	assert_false(is_ours_str("x.; dkim=pass", "x.."));
}

/* AR-PARSE-01 "Parser handles CFWS everywhere RFC 5322 allows, nested
 * comments, quoted strings with escapes, folded lines." */
static void AR_PARSE_01_cfws_quoted_folded(void **state)
{
	(void)state;
	assert_true(
		is_ours_str("\r\n\t(one (two) \\( three)\r\n mx.example.com\r\n\t; dkim=pass", ID));
	assert_true(is_ours_str("\"mx.exa\\mple.com\"; dkim=pass", ID));
	assert_true(is_ours_str("\"mx.example\r\n.com\"; dkim=pass", ID));
	assert_true(is_ours_str("(\"not an id\") mx.example.com;", ID));
	assert_false(is_ours_str("\"mx.example.com\\\"\"; dkim=pass", ID));
	assert_true(is_ours_str("mx.example.com; foo=bar x.y=z; dkim=pass", ID));
}

/* AR-PARSE-02 "Malformed AR headers from outside never crash or abort;
 * unparseable ones with a prefix that looks like our id are removed (safer).
 * Test: `mx.example.com;;;(` is removed." Plus every truncation and NULs. */
static void AR_PARSE_02_malformed_truncated_nul(void **state)
{
	(void)state;
	assert_true(is_ours_str("mx.example.com;;;(", ID));
	assert_true(is_ours_str("mx.example.com", ID));
	assert_true(is_ours_str("mx.example.com/evil; dkim=pass", ID));
	assert_true(is_ours_str("\"mx.example.com", ID));   /* unterminated quoted-string */
	assert_true(is_ours_str("\"mx.example.com\\", ID)); /* cut inside a quoted-pair */
	assert_false(is_ours_str("\"mx.example.co\\", ID));
	assert_false(is_ours_str("", ID));
	assert_false(is_ours_str("   (((", ID));
	assert_false(is_ours_str(";;;", ID));
	assert_false(is_ours_str("\\", ID));
	assert_false(is_ours_str("(\\", ID));
	assert_false(is_ours_str("\"", ID));
	/* each prefix: ours once the whole id is there, never a read past len */
	static const char full[] = " (a (b)) mx.example.com (Postfix) 1; dkim=pass";
	size_t id_end = strstr(full, ID) - full + strlen(ID);
	for (size_t cut = 0; cut <= sizeof full - 1; cut++) {
		uint8_t *p = malloc(cut ? cut : 1);
		assert_non_null(p);
		memcpy(p, full, cut);
		assert_int_equal(signet_ar_is_ours(p, cut, ID), cut >= id_end);
		free(p);
	}
	static const char quoted[] = "\"mx.example.com\"; dkim=pass";
	for (size_t cut = 0; cut <= sizeof quoted - 1; cut++) {
		uint8_t *p = malloc(cut ? cut : 1);
		assert_non_null(p);
		memcpy(p, quoted, cut);
		assert_int_equal(signet_ar_is_ours(p, cut, ID), cut >= 15);
		free(p);
	}
	/* NUL bytes: inside a comment skipped; after the id it ends the token;
	 * inside the id or before it, no match */
	static const uint8_t n1[] = "(\0) mx.example.com; dkim=pass";
	static const uint8_t n2[] = "mx.example.com\0; dkim=pass";
	static const uint8_t n3[] = "mx.exa\0mple.com; dkim=pass";
	static const uint8_t n4[] = "\0mx.example.com; dkim=pass";
	static const uint8_t n5[] = "\"mx.example\0.com\"; dkim=pass";
	assert_true(signet_ar_is_ours(n1, sizeof n1 - 1, ID));
	assert_true(signet_ar_is_ours(n2, sizeof n2 - 1, ID));
	assert_false(signet_ar_is_ours(n3, sizeof n3 - 1, ID));
	assert_false(signet_ar_is_ours(n4, sizeof n4 - 1, ID));
	assert_false(signet_ar_is_ours(n5, sizeof n5 - 1, ID));
}

/* signet_ar_format: argument checks and the output cap at limit-1 / limit. */
static void ar_format_limits(void **state)
{
	(void)state;
	char out[1024], small[1024];
	set(&R[0], SIGNET_RESULT_PASS, SIGNET_ALG_RSA_SHA256, 2048, "example.com", "", "sel", B1,
	    "");
	size_t len = strlen(fmt(1, out, sizeof out, false)), got = 0;
	const struct signet_sig_result *rs[2] = {&R[0], NULL};
	struct signet_error err = {0};
	assert_int_equal(signet_ar_format(ID, rs, 1, small, len, &got, &err), SIGNET_ERR_LIMIT);
	assert_int_equal(signet_ar_format(ID, rs, 1, small, len + 1, &got, &err), SIGNET_OK);
	assert_string_equal(small, out);
	assert_int_equal(got, len);
	assert_int_equal(signet_ar_format(ID, rs, 2, small, sizeof small, &got, &err),
			 SIGNET_ERR_INVAL);
	assert_int_equal(signet_ar_format(ID, NULL, 1, small, sizeof small, &got, &err),
			 SIGNET_ERR_INVAL);
	assert_int_equal(signet_ar_format(ID, rs, 1, NULL, 10, &got, &err), SIGNET_ERR_INVAL);
	/* long fields still format (one word per line) */
	static char lb[700], ls[256], ld[256];
	memset(lb, 'B', sizeof lb - 1);
	memset(R[0].reason, '"', sizeof R[0].reason - 1);
	memset(ls, '\\', sizeof ls - 1);
	memset(ld, 'd', sizeof ld - 1);
	R[0].b = lb, R[0].s = ls, R[0].d = ld;
	R[0].result = SIGNET_RESULT_FAIL;
	char big[4096];
	fmt(1, big, sizeof big, true);
	size_t bl = strlen(big);
	assert_string_equal(big + bl - 18, " header.b=BBBBBBBB");
	char reason[400] = "\treason=\"";
	for (size_t k = 0; k < sizeof R[0].reason - 1; k++)
		strcat(reason, "'");
	strcat(reason, "\"\r\n");
	assert_non_null(strstr(big, reason));
	char sel[600] = "\theader.s=\"";
	for (size_t k = 0; k < sizeof ls - 1; k++)
		strcat(sel, "\\\\");
	strcat(sel, "\"");
	assert_non_null(strstr(big, sel));
}

/* AR-DKIM-04 (RFC 8601 2.7.1, RFC 6376 3.5): header.i is the whole i=, whatever
 * its length: a 312-byte i= ends with its "@" + d= (it was cut at 255 bytes). */
static void AR_DKIM_04_long_i_whole(void **state)
{
	(void)state;
	char auid[320], want[340], out[4096];
	memset(auid, 'u', 299);
	snprintf(auid + 299, sizeof auid - 299, "@example.com");
	assert_int_equal(strlen(auid), 311);
	set(&R[0], SIGNET_RESULT_PASS, SIGNET_ALG_RSA_SHA256, 2048, "example.com", auid, "sel", B1,
	    "");
	fmt(1, out, sizeof out, true);
	snprintf(want, sizeof want, "\theader.i=%s\r\n", auid);
	if (strstr(out, want) == NULL)
		fail_msg("no whole header.i in: %s", out);
}

/* A result built by hand may leave tag pointers NULL: read as absent
 * (AR-DKIM-06: no property), never dereferenced. */
static void AR_DKIM_06_null_tags_are_absent(void **state)
{
	(void)state;
	char out[1024];
	memset(&R[0], 0, sizeof R[0]);
	R[0].result = SIGNET_RESULT_NONE;
	fmt(1, out, sizeof out, false);
	assert_string_equal(out, " mx.example.com; dkim=none");
}

/* Formats the DKIM results R[0..n) and the SPF checks sp[0..nspf). */
static const char *fmt_spf(size_t n, const struct signet_ar_spf *sp, size_t nspf, char *out,
			   size_t cap)
{
	const struct signet_sig_result *rs[6] = {0};
	for (size_t k = 0; k < n; k++)
		rs[k] = &R[k];
	struct signet_ar_results r = {.dkim = rs, .ndkim = n, .spf = sp, .nspf = nspf};
	size_t len = 0;
	struct signet_error err = {0};
	if (signet_ar_format_results(ID, &r, out, cap, &len, &err) != SIGNET_OK)
		fail_msg("format: %s", err.msg);
	assert_int_equal(strlen(out), len);
	check_lines(out);
	assert_true(is_ours_str(out, ID));
	return out;
}

/* SPF-RES-02 (RFC 7208 9.2): "AR `spf=<result> smtp.mailfrom=<addr>` (and
 * `smtp.helo=` for HELO checks)"; AR-POS-02: in the one field, after dkim. */
static void SPF_RES_02_mailfrom_after_dkim(void **state)
{
	(void)state;
	char out[1024];
	set(&R[0], SIGNET_RESULT_PASS, SIGNET_ALG_ED25519_SHA256, 0, "example.com", "", "sel", B1,
	    "");
	struct signet_ar_spf sp = {.result = SIGNET_SPF_PASS,
				   .identity = SIGNET_SPF_MAILFROM,
				   .value = "alice@example.com",
				   .reason = "matched ip4:192.0.2.0/24"};
	assert_string_equal(fmt_spf(1, &sp, 1, out, sizeof out),
			    " mx.example.com; dkim=pass header.d=example.com\r\n"
			    "\theader.i=@example.com header.s=sel header.a=ed25519-sha256 "
			    "header.b=AbCdEfGh;\r\n"
			    "\tspf=pass smtp.mailfrom=alice@example.com");
}

/* SPF-RES-02: both identities, no signature (dkim=none stays, AR-SYN-02);
 * a result other than pass carries its reason as a quoted-string. */
static void SPF_RES_02_helo_and_reason(void **state)
{
	(void)state;
	char out[1024];
	struct signet_ar_spf sp[2] = {
		{.result = SIGNET_SPF_PERMERROR,
		 .identity = SIGNET_SPF_MAILFROM,
		 .value = "postmaster@mail.example.org",
		 .reason = "more than 10 DNS lookups"},
		{.result = SIGNET_SPF_NONE,
		 .identity = SIGNET_SPF_HELO,
		 .value = "mail.example.org"},
	};
	assert_string_equal(fmt_spf(0, sp, 2, out, sizeof out),
			    " mx.example.com; dkim=none; spf=permerror\r\n"
			    "\treason=\"more than 10 DNS lookups\" "
			    "smtp.mailfrom=postmaster@mail.example.org;\r\n"
			    "\tspf=none smtp.helo=mail.example.org");
}

/* SPF-RES-02, AR-SYN-07: a MAIL FROM that is not a dot-atom address (from
 * the network: spaces, quotes, a CR) is one quoted-string, never a way out
 * of the field; a NULL identity is refused. */
static void SPF_RES_02_hostile_mailfrom_quoted(void **state)
{
	(void)state;
	char out[1024];
	struct signet_ar_spf sp = {.result = SIGNET_SPF_FAIL,
				   .identity = SIGNET_SPF_MAILFROM,
				   .value = "\"a b\\\"\r\n; dkim=pass\"@example.com"};
	assert_string_equal(fmt_spf(0, &sp, 1, out, sizeof out),
			    " mx.example.com; dkim=none; spf=fail\r\n"
			    "\tsmtp.mailfrom=\"\\\"a b\\\\\\\"; dkim=pass\\\"@example.com\"");
	sp.value = NULL;
	struct signet_ar_results r = {.spf = &sp, .nspf = 1};
	size_t len = 0;
	struct signet_error err = {0};
	assert_int_equal(signet_ar_format_results(ID, &r, out, sizeof out, &len, &err),
			 SIGNET_ERR_INVAL);
	assert_int_equal(signet_ar_format_results(ID, NULL, out, sizeof out, &len, &err),
			 SIGNET_ERR_INVAL);
}

/* ARC-AR-01 (RFC 8617 6, IANA registry): arc=pass with header.oldest-pass
 * and smtp.remote-ip, after SPF (an IPv6 address holds ':', a tspecial, so
 * it is a quoted-string: RFC 8601 2.2 value); a fail carries its reason and
 * no oldest-pass; no remote IP, no smtp.remote-ip. */
static void ARC_AR_01_arc_resinfo(void **state)
{
	(void)state;
	char out[1024], flat[1024];
	struct signet_arc_result ar = {
		.result = SIGNET_RESULT_PASS, .instances = 2, .oldest_pass = 2};
	struct signet_ar_arc arc = {.result = &ar, .remote_ip = "2001:db8::25"};
	struct signet_ar_spf sp = {.result = SIGNET_SPF_FAIL,
				   .identity = SIGNET_SPF_MAILFROM,
				   .value = "list@lists.example.org"};
	struct signet_ar_results r = {.spf = &sp, .nspf = 1, .arc = &arc};
	size_t len = 0;
	struct signet_error err = {0};
	assert_int_equal(signet_ar_format_results(ID, &r, out, sizeof out, &len, &err), SIGNET_OK);
	check_lines(out);
	unfold(out, flat);
	assert_string_equal(flat, " mx.example.com; dkim=none; spf=fail "
				  "smtp.mailfrom=list@lists.example.org; arc=pass "
				  "header.oldest-pass=2 smtp.remote-ip=\"2001:db8::25\"");
	ar = (struct signet_arc_result){.result = SIGNET_RESULT_FAIL, .instances = 1};
	snprintf(ar.reason, sizeof ar.reason, "ARC-Seal i=1 does not verify");
	arc.remote_ip = NULL;
	r = (struct signet_ar_results){.arc = &arc};
	assert_int_equal(signet_ar_format_results(ID, &r, out, sizeof out, &len, &err), SIGNET_OK);
	unfold(out, flat);
	assert_string_equal(flat, " mx.example.com; dkim=none; arc=fail "
				  "reason=\"ARC-Seal i=1 does not verify\"");
	arc.result = NULL;
	assert_int_equal(signet_ar_format_results(ID, &r, out, sizeof out, &len, &err),
			 SIGNET_ERR_INVAL);
}

/* DMARC-RES-03 (RFC 9989 registry: header.from, polrec.p, polrec.domain):
 * Gmail's comment "(p=.. sp=.. dis=..)", sp defaulting to p, the override
 * named after dis=, the reason for a failure, polrec.domain only when the
 * record sat above the author domain. */
static void DMARC_RES_03_dmarc_resinfo(void **state)
{
	(void)state;
	char out[1024], flat[1024];
	struct signet_dmarc_record rec = {.usable = true, .p = SIGNET_DMARC_POLICY_REJECT};
	struct signet_dmarc_outcome o = {.result = SIGNET_DMARC_PASS,
					 .author_domain = "example.com",
					 .policy_domain = "example.com",
					 .record = &rec,
					 .policy = SIGNET_DMARC_POLICY_REJECT,
					 .disposition = SIGNET_DMARC_POLICY_NONE};
	struct signet_ar_dmarc d = {.outcome = &o};
	struct signet_ar_results r = {.dmarc = &d};
	size_t len = 0;
	struct signet_error err = {0};
	assert_int_equal(signet_ar_format_results(ID, &r, out, sizeof out, &len, &err), SIGNET_OK);
	check_lines(out);
	unfold(out, flat);
	assert_string_equal(flat, " mx.example.com; dkim=none; dmarc=pass (p=reject sp=reject "
				  "dis=none) header.from=example.com polrec.p=reject");

	rec.sp = SIGNET_DMARC_POLICY_QUARANTINE;
	o = (struct signet_dmarc_outcome){.result = SIGNET_DMARC_FAIL,
					  .author_domain = "news.example.com",
					  .policy_domain = "example.com",
					  .record = &rec,
					  .policy = SIGNET_DMARC_POLICY_QUARANTINE,
					  .disposition = SIGNET_DMARC_POLICY_NONE,
					  .override = SIGNET_DMARC_OVERRIDE_ARC,
					  .reason = "no aligned identifier"};
	d.reason = "arc-override: sealed by lists.example.org";
	assert_int_equal(signet_ar_format_results(ID, &r, out, sizeof out, &len, &err), SIGNET_OK);
	check_lines(out);
	unfold(out, flat);
	assert_string_equal(flat,
			    " mx.example.com; dkim=none; dmarc=fail (p=reject sp=quarantine "
			    "dis=none arc-override) reason=\"arc-override: sealed by "
			    "lists.example.org\" header.from=news.example.com polrec.p=reject "
			    "polrec.domain=example.com");
	d.reason = NULL;
	assert_int_equal(signet_ar_format_results(ID, &r, out, sizeof out, &len, &err), SIGNET_OK);
	unfold(out, flat);
	assert_non_null(strstr(flat, "dis=none arc-override) reason=\"no aligned identifier\" "));

	/* No record: no comment, no polrec; no author domain: no header.from. */
	o = (struct signet_dmarc_outcome){.result = SIGNET_DMARC_NONE,
					  .from = SIGNET_DMARC_FROM_SEVERAL_FIELDS,
					  .reason = "several From fields"};
	assert_int_equal(signet_ar_format_results(ID, &r, out, sizeof out, &len, &err), SIGNET_OK);
	unfold(out, flat);
	assert_string_equal(
		flat, " mx.example.com; dkim=none; dmarc=none reason=\"several From fields\"");
	d.outcome = NULL;
	assert_int_equal(signet_ar_format_results(ID, &r, out, sizeof out, &len, &err),
			 SIGNET_ERR_INVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(AR_SYN_01_one_pass_golden),
		cmocka_unit_test(AR_SYN_02_unsigned_is_dkim_none),
		cmocka_unit_test(AR_SYN_03_authserv_id_token),
		cmocka_unit_test(AR_SYN_04_05_versions),
		cmocka_unit_test(AR_SYN_06_reason_quoted),
		cmocka_unit_test(AR_SYN_07_values_quoted_when_needed),
		cmocka_unit_test(AR_SYN_08_nested_comments),
		cmocka_unit_test(AR_SYN_09_fold_five_signatures),
		cmocka_unit_test(AR_DKIM_01_one_item_per_signature_in_order),
		cmocka_unit_test(AR_DKIM_02_result_words),
		cmocka_unit_test(AR_DKIM_04_header_i_and_unique_b),
		cmocka_unit_test(AR_DKIM_05_property_order),
		cmocka_unit_test(AR_DKIM_06_omit_empty_properties),
		cmocka_unit_test(AR_DKIM_07_test_mode_comment),
		cmocka_unit_test(AR_DKIM_08_key_size_comment),
		cmocka_unit_test(AR_DEL_01_matching),
		cmocka_unit_test(AR_DEL_03_six_variants),
		cmocka_unit_test(AR_DEL_01_trailing_dot_is_ours),
		cmocka_unit_test(AR_PARSE_01_cfws_quoted_folded),
		cmocka_unit_test(AR_PARSE_02_malformed_truncated_nul),
		cmocka_unit_test(ar_format_limits),
		cmocka_unit_test(AR_DKIM_04_long_i_whole),
		cmocka_unit_test(AR_DKIM_06_null_tags_are_absent),
		cmocka_unit_test(SPF_RES_02_mailfrom_after_dkim),
		cmocka_unit_test(SPF_RES_02_helo_and_reason),
		cmocka_unit_test(SPF_RES_02_hostile_mailfrom_quoted),
		cmocka_unit_test(ARC_AR_01_arc_resinfo),
		cmocka_unit_test(DMARC_RES_03_dmarc_resinfo),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
