/* test_sig.c: the DKIM-Signature field (lib/sig.c): sig_parse against the
 * DKIM-SIG items of spec/dkim.md (required tags, versions, algorithms, c=,
 * h=, i=, l=, q=, t=/x=, z=, b= raw span), the order of the checks, limits,
 * NUL and truncated input; and sig_format/sig_append_b (folding, parse-back). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "base64.h"
#include "sig.h"

#define BH_EMPTY "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU="

/* The tags of a valid signature, in order; tests drop or replace one. */
static const char *const base_names[] = {"v", "a", "c", "d", "s", "t", "h", "bh", "b"};
static const char *const base_values[] = {"1",       "rsa-sha256", "relaxed/relaxed", "example.com",
					  "sel",     "1700000000", "from:to:subject", BH_EMPTY,
					  "dGVzdA=="};

static struct dkim_sig sig; /* big: keep it off the stack */
static struct signet_error err;
static char text[8192];

/* Builds the base signature without tag `drop` and with `name` set to
 * `value` (replacing it or appended at the end); NULLs to skip either. */
static const char *build(const char *drop, const char *name, const char *value)
{
	size_t w = 0;
	bool replaced = false;
	text[0] = '\0';
	for (size_t k = 0; k < sizeof base_names / sizeof base_names[0]; k++) {
		const char *v = base_values[k];
		if (drop != NULL && strcmp(drop, base_names[k]) == 0)
			continue;
		if (name != NULL && strcmp(name, base_names[k]) == 0) {
			v = value;
			replaced = true;
		}
		w += (size_t)snprintf(text + w, sizeof text - w, "%s%s=%s", w ? "; " : "",
				      base_names[k], v);
	}
	if (name != NULL && !replaced)
		w += (size_t)snprintf(text + w, sizeof text - w, "; %s=%s", name, value);
	assert_true(w < sizeof text);
	return text;
}

static enum signet_status parse(const char *s)
{
	memset(&err, 0, sizeof err);
	return sig_parse((const uint8_t *)s, strlen(s), &sig, &err);
}

static void assert_span(struct signet_span sp, const char *want)
{
	assert_int_equal(sp.len, strlen(want));
	assert_memory_equal(sp.p, want, sp.len);
}

static void assert_permerror(const char *s, const char *reason)
{
	assert_int_equal(parse(s), SIGNET_ERR_SYNTAX);
	assert_int_equal(err.code, SIGNET_ERR_SYNTAX);
	assert_string_equal(err.msg, reason);
}

/* A complete signature parses into every field. */
static void DKIM_SIG_01_valid_signature_fields(void **state)
{
	(void)state;
	assert_int_equal(parse(build(NULL, "i", "joe@mail.example.com")), SIGNET_OK);
	assert_int_equal(sig.alg, SIGNET_ALG_RSA_SHA256);
	assert_span(sig.a, "rsa-sha256");
	assert_span(sig.d, "example.com");
	assert_span(sig.s, "sel");
	assert_span(sig.i, "joe@mail.example.com");
	assert_span(sig.auid_domain, "mail.example.com");
	assert_true(sig.has_i);
	assert_int_equal(sig.hdr_canon, SIGNET_CANON_RELAXED);
	assert_int_equal(sig.body_canon, SIGNET_CANON_RELAXED);
	assert_int_equal(sig.nh, 3);
	assert_span(sig.hnames[0], "from");
	assert_span(sig.hnames[2], "subject");
	assert_int_equal(sig.bh_len, 32);
	assert_int_equal(sig.bh[0], 0xe3);
	assert_int_equal(sig.b_len, 4);
	assert_memory_equal(sig.b, "test", 4);
	assert_span(sig.b_raw, "dGVzdA==");
	assert_true(sig.has_t);
	assert_int_equal(sig.t, 1700000000);
	assert_false(sig.has_x);
	assert_false(sig.has_l);
	assert_int_equal(sig.q.len, 0);
	assert_int_equal(sig.z.len, 0);
}

/* DKIM-SIG-01 "Required: v, a, b, bh, d, h, s. Missing any → permerror
 * missing required tag X" */
static void DKIM_SIG_01_missing_required_tags(void **state)
{
	(void)state;
	static const char *const req[] = {"v", "a", "b", "bh", "d", "h", "s"};
	for (size_t k = 0; k < sizeof req / sizeof req[0]; k++) {
		char want[64];
		snprintf(want, sizeof want, "missing required tag %s=", req[k]);
		assert_permerror(build(req[k], NULL, NULL), want);
	}
	/* c= and t= are optional. */
	assert_int_equal(parse(build("c", NULL, NULL)), SIGNET_OK);
	assert_int_equal(sig.hdr_canon, SIGNET_CANON_SIMPLE);
	assert_int_equal(sig.body_canon, SIGNET_CANON_SIMPLE);
	assert_int_equal(parse(build("t", NULL, NULL)), SIGNET_OK);
	assert_false(sig.has_t);
	/* DKIM-TAG-02: the tag name is case-sensitive, "D=" is not d=. */
	assert_permerror("v=1; a=rsa-sha256; D=example.com; s=x; h=from; bh=" BH_EMPTY
			 "; b=dGVzdA==",
			 "missing required tag d=");
}

/* DKIM-SIG-02 "v= must be 1; other values → permerror incompatible version" */
static void DKIM_SIG_02_version(void **state)
{
	(void)state;
	assert_permerror(build(NULL, "v", "2"), "incompatible version v=2");
	assert_permerror(build(NULL, "v", "1.0"), "incompatible version v=1.0");
	assert_permerror(build(NULL, "v", ""), "incompatible version v=");
	assert_permerror(build(NULL, "v", "01"), "incompatible version v=01");
	assert_int_equal(parse(build(NULL, "v", " 1 ")), SIGNET_OK); /* FWS is not the value */
}

/* DKIM-SIG-03 "a=rsa-sha512 → permerror ... we accept case-insensitively" */
static void DKIM_SIG_03_algorithms(void **state)
{
	(void)state;
	assert_permerror(build(NULL, "a", "rsa-sha512"), "unsupported algorithm rsa-sha512");
	assert_int_equal(sig.alg, SIGNET_ALG_UNKNOWN);
	assert_span(sig.d, "example.com"); /* kept for the report */
	assert_span(sig.s, "sel");
	assert_int_equal(parse(build(NULL, "a", "RSA-SHA256")), SIGNET_OK);
	assert_int_equal(sig.alg, SIGNET_ALG_RSA_SHA256);
	assert_int_equal(parse(build(NULL, "a", "ed25519-sha256")), SIGNET_OK);
	assert_int_equal(sig.alg, SIGNET_ALG_ED25519_SHA256);
	/* rsa-sha1 is parsed; refusing it is the verifier's (RFC 8301). */
	assert_int_equal(parse(build(NULL, "a", "rsa-sha1")), SIGNET_OK);
	assert_int_equal(sig.alg, SIGNET_ALG_RSA_SHA1);
	/* Non-printable bytes never reach the reason as they are. */
	assert_permerror(build(NULL, "a", "rsa-\xc3\xa9"), "unsupported algorithm rsa-??");
}

/* DKIM-VER-09 "the first failure decides the reason": tag syntax → v →
 * required tags → a → the others. */
static void DKIM_VER_09_order_of_checks(void **state)
{
	(void)state;
	assert_permerror("v=2; a=x", "incompatible version v=2");
	assert_permerror("v=1; a=x; d=example.com", "missing required tag b=");
	assert_permerror(build(NULL, "a", "x-y"), "unsupported algorithm x-y");
	assert_permerror("v=2; v=1", "duplicate tag v= at offset 5");
	/* c= is checked before h=, h= before b=. */
	build(NULL, "c", "fancy");
	strcat(text, "; h=to");
	assert_permerror(text, "duplicate tag h= at offset 144");
	assert_permerror(build(NULL, "c", "fancy"), "unknown header canonicalization in c=");
	build("c", "h", "to");
	strcat(text, "; c=fancy");
	assert_permerror(text, "unknown header canonicalization in c=");
}

/* DKIM-SIG-04 "b= and bh= are base64; FWS inside is ignored; invalid base64 → permerror" */
static void DKIM_SIG_04_base64_tags(void **state)
{
	(void)state;
	assert_int_equal(parse(build(NULL, "b", "dG\r\n\tVz\r\n dA\r\n\t==")), SIGNET_OK);
	assert_int_equal(sig.b_len, 4);
	assert_memory_equal(sig.b, "test", 4);
	assert_permerror(build(NULL, "bh", "abc$"), "bad base64 in bh=");
	assert_permerror(build(NULL, "b", "dGVzdA="), "bad base64 in b=");
	assert_permerror(build(NULL, "b", ""), "bad base64 in b=");
	assert_permerror(build(NULL, "bh", ""), "bad base64 in bh=");
}

/* b= at most SIGNET_MAX_RSA_BITS/8 bytes, bh= at most 64: limit-1, limit, limit+1. */
static void DKIM_SIG_04_base64_limits(void **state)
{
	(void)state;
	static uint8_t raw[600];
	static char enc[1000];
	memset(raw, 0x5a, sizeof raw);
	const size_t bmax = SIGNET_MAX_RSA_BITS / 8;
	for (size_t n = bmax - 1; n <= bmax + 1; n++) {
		assert_int_equal(base64_encode_str(raw, n, enc, sizeof enc), SIGNET_OK);
		if (n <= bmax) {
			assert_int_equal(parse(build(NULL, "b", enc)), SIGNET_OK);
			assert_int_equal(sig.b_len, n);
		} else {
			assert_permerror(build(NULL, "b", enc), "b= is longer than 512 bytes");
		}
	}
	for (size_t n = 63; n <= 65; n++) {
		assert_int_equal(base64_encode_str(raw, n, enc, sizeof enc), SIGNET_OK);
		if (n <= 64) {
			assert_int_equal(parse(build(NULL, "bh", enc)), SIGNET_OK);
			assert_int_equal(sig.bh_len, n);
		} else {
			assert_permerror(build(NULL, "bh", enc), "bh= is longer than 64 bytes");
		}
	}
}

/* DKIM-SIG-05 "c=relaxed means relaxed/simple ... unknown algorithm → permerror" */
static void DKIM_SIG_05_canonicalization(void **state)
{
	(void)state;
	assert_int_equal(parse(build(NULL, "c", "relaxed")), SIGNET_OK);
	assert_int_equal(sig.hdr_canon, SIGNET_CANON_RELAXED);
	assert_int_equal(sig.body_canon, SIGNET_CANON_SIMPLE);
	assert_int_equal(parse(build(NULL, "c", "simple/relaxed")), SIGNET_OK);
	assert_int_equal(sig.hdr_canon, SIGNET_CANON_SIMPLE);
	assert_int_equal(sig.body_canon, SIGNET_CANON_RELAXED);
	assert_permerror(build(NULL, "c", "relaxed/foo"), "unknown body canonicalization in c=");
	assert_permerror(build(NULL, "c", ""), "unknown header canonicalization in c=");
}

/* DKIM-SIG-06 "d= is a domain name (SDID); s= is a selector that may contain dots" */
static void DKIM_SIG_06_domain_and_selector(void **state)
{
	(void)state;
	assert_int_equal(parse(build(NULL, "s", "2024.eu")), SIGNET_OK);
	assert_span(sig.s, "2024.eu");
	assert_int_equal(parse(build(NULL, "s", "sel_1-a")), SIGNET_OK);
	assert_int_equal(parse(build(NULL, "d", "Example.COM")), SIGNET_OK);
	assert_span(sig.d, "Example.COM"); /* DKIM-TAG-06: kept as written */
	assert_permerror(build(NULL, "d", ""), "invalid domain in d=");
	assert_permerror(build(NULL, "d", "example..com"), "invalid domain in d=");
	assert_permerror(build(NULL, "d", ".example.com"), "invalid domain in d=");
	assert_permerror(build(NULL, "d", "exa mple.com"), "invalid domain in d=");
	assert_permerror(build(NULL, "d", "example.com/x"), "invalid domain in d=");
	assert_permerror(build(NULL, "s", "a..b"), "invalid selector in s=");
	assert_permerror(build(NULL, "s", "a@b"), "invalid selector in s=");
	/* An ASCII label is at most 63 octets. */
	char lab[80];
	memset(lab, 'a', 63);
	strcpy(lab + 63, ".com");
	assert_int_equal(parse(build(NULL, "d", lab)), SIGNET_OK);
	memset(lab, 'a', 64);
	strcpy(lab + 64, ".com");
	assert_permerror(build(NULL, "d", lab), "invalid domain in d=");
	/* RFC 1035 2.3.4: a name is 253 octets written (base/dnsname.c, the one
	 * DNS-name check); 254 is refused here rather than at the DNS lookup. */
	char dom[260];
	for (size_t n = 253; n <= 254; n++) {
		memset(dom, 'a', n);
		for (size_t k = 50; k < n; k += 51)
			dom[k] = '.';
		dom[n] = '\0';
		if (n == 253)
			assert_int_equal(parse(build(NULL, "d", dom)), SIGNET_OK);
		else
			assert_permerror(build(NULL, "d", dom), "invalid domain in d=");
	}
}

/* DKIM-SIG-07 "h=to:subject → permerror; h=FROM : to ok" */
static void DKIM_SIG_07_h_must_include_from(void **state)
{
	(void)state;
	assert_permerror(build(NULL, "h", "to:subject"), "h= does not include From");
	assert_permerror(build(NULL, "h", "from-x:to"), "h= does not include From");
	assert_int_equal(parse(build(NULL, "h", "FROM : to")), SIGNET_OK);
	assert_int_equal(sig.nh, 2);
	assert_span(sig.hnames[0], "FROM");
	assert_span(sig.hnames[1], "to");
	/* Folded as in maildkim good_83176: FWS before and after the colons. */
	assert_int_equal(parse(build(NULL, "h", "from:to\r\n\t:subject:\r\n date")), SIGNET_OK);
	assert_int_equal(sig.nh, 4);
	assert_span(sig.hnames[2], "subject");
	assert_span(sig.hnames[3], "date");
	/* Names are field names: no empty ones, no WSP inside. */
	assert_permerror(build(NULL, "h", "from::to"), "invalid field name \"\" in h=");
	assert_permerror(build(NULL, "h", "from:to:"), "invalid field name \"\" in h=");
	assert_permerror(build(NULL, "h", "from:x y"), "invalid field name \"x y\" in h=");
	assert_permerror(build(NULL, "h", "from:\xc3\xa9"), "invalid field name \"??\" in h=");
}

/* SIGNET_MAX_H_NAMES at limit-1, limit and limit+1. */
static void DKIM_SIG_07_h_names_limit(void **state)
{
	(void)state;
	static char h[2048];
	for (size_t n = SIGNET_MAX_H_NAMES - 1; n <= SIGNET_MAX_H_NAMES + 1; n++) {
		size_t w = (size_t)snprintf(h, sizeof h, "from");
		for (size_t k = 1; k < n; k++)
			w += (size_t)snprintf(h + w, sizeof h - w, ":x%zu", k);
		if (n <= SIGNET_MAX_H_NAMES) {
			assert_int_equal(parse(build(NULL, "h", h)), SIGNET_OK);
			assert_int_equal(sig.nh, n);
		} else {
			assert_permerror(build(NULL, "h", h),
					 "h= lists more than SIGNET_MAX_H_NAMES (128) names");
		}
	}
}

/* DKIM-SIG-08 "d=example.com, i=@mail.example.com ok; i=@example.org →
 * permerror; i=@notexample.com → permerror" */
static void DKIM_SIG_08_i_within_d(void **state)
{
	(void)state;
	assert_int_equal(parse(build(NULL, "i", "@mail.example.com")), SIGNET_OK);
	assert_span(sig.auid_domain, "mail.example.com");
	assert_int_equal(parse(build(NULL, "i", "user@EXAMPLE.com")), SIGNET_OK);
	assert_span(sig.auid_domain, "EXAMPLE.com");
	assert_int_equal(parse(build(NULL, "i", "@example.com")), SIGNET_OK);
	assert_permerror(build(NULL, "i", "@example.org"), "i= is not within d=");
	assert_permerror(build(NULL, "i", "@notexample.com"), "i= is not within d=");
	assert_permerror(build(NULL, "i", "@com"), "i= is not within d=");
	assert_permerror(build(NULL, "i", "user"), "i= has no @");
	assert_permerror(build(NULL, "i", "user@"), "i= has an invalid domain");
	/* The domain is after the LAST '@'; the local part is not decoded. */
	assert_int_equal(parse(build(NULL, "i", "\"a@b\"@sub.example.com")), SIGNET_OK);
	assert_span(sig.auid_domain, "sub.example.com");
	assert_permerror(build(NULL, "i", "a@example.com@evil.org"), "i= is not within d=");
	assert_int_equal(parse(build(NULL, "i", "first=2Elast@example.com")), SIGNET_OK);
	/* No i=: the AUID domain is d=. */
	assert_int_equal(parse(build(NULL, NULL, NULL)), SIGNET_OK);
	assert_false(sig.has_i);
	assert_span(sig.auid_domain, "example.com");
}

/* DKIM-EAI-03 "The local part of i= may be UTF-8 in EAI messages" (and
 * DKIM-EAI-02: U-labels in d= and i=). */
static void DKIM_EAI_03_utf8_local_part(void **state)
{
	(void)state;
	assert_int_equal(parse(build(NULL, "i", "jos\xc3\xa9@example.com")), SIGNET_OK);
	assert_span(sig.i, "jos\xc3\xa9@example.com");
	assert_span(sig.auid_domain, "example.com");
	build(NULL, "d",
	      "b\xc3\xbc"
	      "cher.example");
	strcat(text, "; i=@mail.B\xc3\xbc"
		     "cher.example");
	assert_int_equal(parse(text), SIGNET_OK);
	assert_span(sig.d, "b\xc3\xbc"
			   "cher.example");
	assert_span(sig.auid_domain, "mail.B\xc3\xbc"
				     "cher.example");
}

/* DKIM-SIG-09 "l= is a decimal count (at most 76 digits)": values that do not
 * fit 64 bits are refused (no message is that big). */
static void DKIM_SIG_09_l_tag(void **state)
{
	(void)state;
	assert_int_equal(parse(build(NULL, "l", "5")), SIGNET_OK);
	assert_true(sig.has_l);
	assert_int_equal(sig.l, 5);
	assert_int_equal(parse(build(NULL, "l", "0")), SIGNET_OK);
	assert_int_equal(sig.l, 0);
	assert_int_equal(parse(build(NULL, "l", "18446744073709551615")), SIGNET_OK);
	assert_int_equal(sig.l, UINT64_MAX);
	assert_permerror(build(NULL, "l", "18446744073709551616"), "l= too large");
	char digits[80];
	memset(digits, '0', 76);
	digits[75] = '7';
	digits[76] = '\0';
	assert_int_equal(parse(build(NULL, "l", digits)), SIGNET_OK); /* 76 digits, small value */
	assert_int_equal(sig.l, 7);
	memset(digits, '0', 77);
	digits[77] = '\0';
	assert_permerror(build(NULL, "l", digits), "l= too large");
	assert_permerror(build(NULL, "l", "12a"), "l= is not a number");
	assert_permerror(build(NULL, "l", "-1"), "l= is not a number");
	assert_permerror(build(NULL, "l", ""), "l= is not a number");
	assert_permerror(build(NULL, "l", "1 2"), "l= is not a number");
}

/* DKIM-SIG-10 "q=dns/txt:foo ok, q=foo → permerror; q=dns accepted as dns/txt" */
static void DKIM_SIG_10_q_methods(void **state)
{
	(void)state;
	assert_int_equal(parse(build(NULL, "q", "dns/txt")), SIGNET_OK);
	assert_span(sig.q, "dns/txt");
	assert_int_equal(parse(build(NULL, "q", "dns/txt:foo")), SIGNET_OK);
	assert_int_equal(parse(build(NULL, "q", "dns")), SIGNET_OK);
	assert_int_equal(parse(build(NULL, "q", "DNS/TXT")), SIGNET_OK);
	/* maildkim corpus good_83176: unknown methods around dns/txt are ignored. */
	assert_int_equal(parse(build(NULL, "q", "foo/bar:dns/txt:exam/ple")), SIGNET_OK);
	assert_int_equal(parse(build(NULL, "q", "foo : dns/txt")), SIGNET_OK);
	assert_permerror(build(NULL, "q", "foo"), "q= does not include dns/txt");
	assert_permerror(build(NULL, "q", ""), "q= does not include dns/txt");
	assert_permerror(build(NULL, "q", "dns/txtx"), "q= does not include dns/txt");
}

/* DKIM-ERR-03 "split q= on unencoded ':' only: q=dns/txt:foo/a=3Ab parses
 * to two methods" (erratum 4810). */
static void DKIM_ERR_03_q_encoded_colon(void **state)
{
	(void)state;
	assert_int_equal(parse(build(NULL, "q", "dns/txt:foo/a=3Ab")), SIGNET_OK);
	assert_int_equal(parse(build(NULL, "q", "foo/a=3Ab:dns/txt")), SIGNET_OK);
	/* "=3A" is not a separator: this is one method, "foo/x=3Adns/txt". */
	assert_permerror(build(NULL, "q", "foo/x=3Adns/txt"), "q= does not include dns/txt");
}

/* DKIM-SIG-11 "t=100 x=50 → permerror; 12-digit t parses" */
static void DKIM_SIG_11_t_and_x(void **state)
{
	(void)state;
	assert_int_equal(parse(build(NULL, "t", "100000000000")), SIGNET_OK); /* 12 digits */
	assert_int_equal(sig.t, 100000000000ULL);
	assert_int_equal(parse(build(NULL, "x", "1700000001")), SIGNET_OK);
	assert_true(sig.has_x);
	assert_int_equal(sig.x, 1700000001);
	assert_permerror(build(NULL, "x", "1700000000"), "x= is not after t=");
	assert_permerror(build(NULL, "x", "50"), "x= is not after t=");
	assert_int_equal(parse(build("t", "x", "50")), SIGNET_OK); /* x without t */
	assert_int_equal(parse(build(NULL, "t", "18446744073709551615")), SIGNET_OK);
	assert_permerror(build(NULL, "t", "18446744073709551616"), "t= too large");
	assert_permerror(build(NULL, "t", "123456789012345678901"), "t= too large");
	assert_permerror(build(NULL, "x", "99999999999999999999"), "x= too large");
	assert_permerror(build(NULL, "t", "+5"), "t= is not a number");
	assert_permerror(build(NULL, "x", ""), "x= is not a number");
}

/* DKIM-SIG-12 "garbage z= still passes" */
static void DKIM_SIG_12_z_never_invalidates(void **state)
{
	(void)state;
	assert_int_equal(parse(build(NULL, "z", "|||=ZZ:::\xff|From:x")), SIGNET_OK);
	assert_span(sig.z, "|||=ZZ:::\xff|From:x");
	assert_int_equal(parse(build(NULL, "z", "")), SIGNET_OK);
}

/* DKIM-SIG-13 "with the value of b= emptied (... the base64 and the FWS in it go)" */
static void DKIM_SIG_13_b_raw_span(void **state)
{
	(void)state;
	const char *s =
		"v=1; a=rsa-sha256; b= dG\r\n\tVz dA== ; d=example.com; s=x; h=from; bh=" BH_EMPTY;
	assert_int_equal(parse(s), SIGNET_OK);
	assert_ptr_equal(sig.b_raw.p, s + 21);
	assert_span(sig.b_raw, " dG\r\n\tVz dA== ");
	assert_int_equal(sig.b_len, 4);
}

/* DKIM-SIG-14 "Tag order inside the header is free" */
static void DKIM_SIG_14_tag_order_free(void **state)
{
	(void)state;
	assert_int_equal(parse("bh=" BH_EMPTY "; b=dGVzdA==; h=from; s=x; d=example.com; "
			       "a=ed25519-sha256; v=1"),
			 SIGNET_OK);
	assert_int_equal(sig.alg, SIGNET_ALG_ED25519_SHA256);
	assert_span(sig.s, "x");
}

/* DKIM-TAG-03 and -05 through sig_parse; more than SIGNET_MAX_TAGS tags is
 * a permerror too (SIGNET_ERR_SYNTAX), never an API error. */
static void DKIM_TAG_03_sig_duplicates_and_tag_limit(void **state)
{
	(void)state;
	assert_int_equal(parse(build(NULL, "d", "example.com; d=example.com")), SIGNET_ERR_SYNTAX);
	assert_non_null(strstr(err.msg, "duplicate tag d="));
	assert_permerror("v=1; d example.com", "'=' expected after tag name d at offset 7");
	static char s[4096];
	size_t w = (size_t)snprintf(s, sizeof s, "%s", build(NULL, NULL, NULL));
	/* The base has 9 tags: fill up to the limit, then one more. */
	for (size_t k = 9; k < SIGNET_MAX_TAGS; k++)
		w += (size_t)snprintf(s + w, sizeof s - w, "; x%zu=1", k);
	assert_int_equal(parse(s), SIGNET_OK);
	snprintf(s + w, sizeof s - w, "; y=1");
	assert_permerror(s, "more than SIGNET_MAX_TAGS (64) tags");
}

/* Every parser gets a NUL in the middle. */
static void DKIM_SIG_nul_in_middle(void **state)
{
	(void)state;
	const char *s = build(NULL, NULL, NULL);
	size_t n = strlen(s);
	char *copy = test_malloc(n);
	memcpy(copy, s, n);
	copy[10] = '\0'; /* inside a=rsa-sha256 */
	assert_int_equal(sig_parse((const uint8_t *)copy, n, &sig, &err), SIGNET_ERR_SYNTAX);
	assert_string_equal(err.msg, "invalid byte 0x00 in value of a= at offset 10");
	test_free(copy);
}

/* Every truncation of a valid signature: no crash, no over-read (exact-size
 * copies under ASan), and only the complete value is OK. */
static void DKIM_SIG_truncated_input(void **state)
{
	(void)state;
	const char *s = build(NULL, NULL, NULL);
	size_t n = strlen(s);
	for (size_t len = 0; len <= n; len++) {
		char *copy = test_malloc(len ? len : 1);
		memcpy(copy, s, len);
		enum signet_status st = sig_parse((const uint8_t *)copy, len, &sig, &err);
		/* Only the full value and the cut to "b=dGVz" (a whole
		 * base64 quantum) parse; every other cut is a permerror. */
		assert_int_equal(st, len == n || len == n - 4 ? SIGNET_OK : SIGNET_ERR_SYNTAX);
		test_free(copy);
	}
}

/* Reads the value of the n-th DKIM-Signature field of a message file
 * (without the field's final CRLF) into buf. */
static bool read_sig_field(const char *path, int nth, char *buf, size_t cap, size_t *len)
{
	FILE *f = fopen(path, "rb");
	if (f == NULL)
		return false;
	static char msg[65536];
	size_t n = fread(msg, 1, sizeof msg - 1, f);
	fclose(f);
	msg[n] = '\0';
	const char *p = msg;
	for (int k = 0; k <= nth; k++) {
		p = strstr(k == 0 ? p : p + 1, "DKIM-Signature:");
		if (p == NULL)
			return false;
	}
	p += strlen("DKIM-Signature:");
	const char *e = p;
	while ((e = strchr(e, '\n')) != NULL && (e[1] == ' ' || e[1] == '\t'))
		e++;
	if (e == NULL)
		return false;
	if (e > p && e[-1] == '\r')
		e--;
	*len = (size_t)(e - p);
	if (*len > cap)
		return false;
	memcpy(buf, p, *len);
	return true;
}

/* Known signatures from the public test data parse: RFC 8463 A.3 and
 * maildkim good_83176 (q=foo/bar:dns/txt:exam/ple, folded h=). */
static void DKIM_SIG_testdata_signatures(void **state)
{
	(void)state;
	static char v[8192];
	size_t len;
	char path[512];
	snprintf(path, sizeof path, "%s/rfc8463/signed.eml", SIGNET_TESTDATA);
	if (!read_sig_field(path, 0, v, sizeof v, &len)) {
		printf("skipped: %s not readable\n", path);
		skip();
	}
	assert_int_equal(sig_parse((const uint8_t *)v, len, &sig, &err), SIGNET_OK);
	assert_int_equal(sig.alg, SIGNET_ALG_ED25519_SHA256);
	assert_span(sig.s, "brisbane");
	assert_span(sig.d, "football.example.com");
	assert_int_equal(sig.b_len, 64);
	assert_int_equal(sig.bh_len, 32);
	assert_true(read_sig_field(path, 1, v, sizeof v, &len));
	assert_int_equal(sig_parse((const uint8_t *)v, len, &sig, &err), SIGNET_OK);
	assert_int_equal(sig.alg, SIGNET_ALG_RSA_SHA256);
	assert_int_equal(sig.b_len, 128);
	snprintf(path, sizeof path, "%s/maildkim/corpus/good_83176.eml", SIGNET_TESTDATA);
	assert_true(read_sig_field(path, 0, v, sizeof v, &len));
	assert_int_equal(sig_parse((const uint8_t *)v, len, &sig, &err), SIGNET_OK);
	assert_int_equal(sig.alg, SIGNET_ALG_RSA_SHA1);
	assert_span(sig.q, "foo/bar:dns/txt:exam/ple");
	assert_int_equal(sig.nh, 4);
	assert_span(sig.hnames[1], "to");
	assert_span(sig.hnames[2], "subject");
}

/* ---- sig_format / sig_append_b ---- */

/* Every line of "DKIM-Signature:" + value is at most 78 columns; folds are
 * CRLF TAB; no bare CR or LF. */
static void assert_lines_fit(const struct signet_buf *b)
{
	size_t col = strlen("DKIM-Signature:");
	for (size_t k = 0; k < b->len; k++) {
		if (b->data[k] == '\r') {
			assert_true(k + 2 < b->len);
			assert_int_equal(b->data[k + 1], '\n');
			assert_int_equal(b->data[k + 2], '\t');
			assert_true(col <= 78);
			col = 0;
			k++;
			continue;
		}
		assert_int_not_equal(b->data[k], '\n');
		col++;
	}
	assert_true(col <= 78);
}

static const struct sig_fields base_fields = {
	.alg = SIGNET_ALG_RSA_SHA256,
	.hdr_canon = SIGNET_CANON_RELAXED,
	.body_canon = SIGNET_CANON_RELAXED,
	.d = "example.com",
	.s = "sel",
	.i = NULL,
	.t = 1700000000,
	.x = 0,
	.h = "from:to:subject",
	.bh = BH_EMPTY,
};

/* DKIM-SIGN-03 "Output header folded below 78 columns ... between tags or
 * inside b=/bh= base64": exact bytes for a short signature. */
static void DKIM_SIGN_03_format_exact(void **state)
{
	(void)state;
	struct signet_buf b;
	buf_init(&b, SIGNET_MAX_HEADER_FIELD);
	assert_int_equal(sig_format(&base_fields, &b), SIGNET_OK);
	const char *want = " v=1; a=rsa-sha256; c=relaxed/relaxed; d=example.com; s=sel;\r\n"
			   "\tt=1700000000; h=from:to:subject;\r\n"
			   "\tbh=" BH_EMPTY "; b=";
	assert_int_equal(b.len, strlen(want));
	assert_memory_equal(b.data, want, b.len);
	assert_lines_fit(&b);
	buf_free(&b);
}

/* DKIM-SIGN-03 with long h=, i= and x=, then sig_append_b with a 4096-bit
 * signature: every line fits, b= is never followed by a fold, and the
 * result parses back to the same values (DKIM-SIGN-08: t= always). */
static void DKIM_SIGN_03_format_parse_back(void **state)
{
	(void)state;
	static uint8_t sigbytes[512];
	static char b64[800];
	for (size_t k = 0; k < sizeof sigbytes; k++)
		sigbytes[k] = (uint8_t)(k * 7);
	assert_int_equal(base64_encode_str(sigbytes, sizeof sigbytes, b64, sizeof b64), SIGNET_OK);
	struct sig_fields f = base_fields;
	f.alg = SIGNET_ALG_ED25519_SHA256;
	f.hdr_canon = SIGNET_CANON_SIMPLE;
	f.d = "mail.a-rather-long-subdomain.example-organisation.example";
	f.s = "selector-2024-01.eu";
	f.i = "someone@mail.a-rather-long-subdomain.example-organisation.example";
	f.x = 1700604800;
	f.h = "from:from:reply-to:subject:subject:date:date:to:to:cc:cc:message-id:message-id:"
	      "mime-version:mime-version:content-type:content-type:content-transfer-encoding:"
	      "in-reply-to:references:list-id:list-unsubscribe:list-unsubscribe-post";
	struct signet_buf b;
	buf_init(&b, SIGNET_MAX_HEADER_FIELD);
	assert_int_equal(sig_format(&f, &b), SIGNET_OK);
	assert_int_equal(b.data[b.len - 2], 'b');
	assert_int_equal(b.data[b.len - 1], '=');
	assert_lines_fit(&b);
	assert_int_equal(sig_append_b(&b, b64), SIGNET_OK);
	assert_lines_fit(&b);
	const uint8_t *bpos = NULL;
	for (size_t k = 0; k + 3 < b.len; k++)
		if (memcmp(b.data + k, " b=", 3) == 0 || memcmp(b.data + k, "\tb=", 3) == 0)
			bpos = b.data + k + 3;
	assert_non_null(bpos);
	assert_int_not_equal(*bpos, '\r'); /* never a fold right after "b=" */
	assert_int_equal(sig_parse(b.data, b.len, &sig, &err), SIGNET_OK);
	assert_int_equal(sig.alg, SIGNET_ALG_ED25519_SHA256);
	assert_int_equal(sig.hdr_canon, SIGNET_CANON_SIMPLE);
	assert_int_equal(sig.body_canon, SIGNET_CANON_RELAXED);
	assert_span(sig.d, f.d);
	assert_span(sig.s, f.s);
	assert_span(sig.i, f.i);
	assert_int_equal(sig.t, f.t);
	assert_int_equal(sig.x, f.x);
	assert_false(sig.has_l);
	assert_int_equal(sig.nh, 23);
	assert_span(sig.hnames[22], "list-unsubscribe-post");
	assert_int_equal(sig.bh_len, 32);
	assert_int_equal(sig.b_len, 512);
	assert_memory_equal(sig.b, sigbytes, 512);
	buf_free(&b);
}

/* sig_append_b continues the column of the last line, also when the value
 * so far is one line (first line starts after "DKIM-Signature:"). */
static void DKIM_SIGN_03_append_b_columns(void **state)
{
	(void)state;
	struct signet_buf b;
	buf_init(&b, 4096);
	assert_int_equal(buf_append_str(&b, " b="), SIGNET_OK); /* column 18 */
	assert_int_equal(sig_append_b(&b, "QUJD"
					  "QUJD"
					  "QUJD"
					  "QUJD"
					  "QUJD"
					  "QUJD"
					  "QUJD"
					  "QUJD"
					  "QUJD"
					  "QUJD"
					  "QUJD"
					  "QUJD"
					  "QUJD"
					  "QUJD"
					  "QUJD"
					  "QUJD"),
			 SIGNET_OK);
	assert_lines_fit(&b);
	/* 78 - 18 = 60 characters on the first line, then a fold. */
	assert_memory_equal(b.data + 3 + 60, "\r\n\t", 3);
	assert_int_equal(b.len, 3 + 64 + 3);
	assert_int_equal(sig_append_b(&b, "not base64!"), SIGNET_ERR_INVAL);
	assert_int_equal(sig_append_b(&b, ""), SIGNET_ERR_INVAL);
	assert_int_equal(b.len, 3 + 64 + 3);
	buf_free(&b);
}

/* Nothing a caller passes can break the header: bad fields are INVAL and
 * the buffer is left as it was. RFC 8301 3.1: never sign rsa-sha1. */
static void DKIM_SIGN_04_format_refuses_bad_fields(void **state)
{
	(void)state;
	struct signet_buf b;
	buf_init(&b, 4096);
	struct sig_fields f = base_fields;
	f.alg = SIGNET_ALG_RSA_SHA1;
	assert_int_equal(sig_format(&f, &b), SIGNET_ERR_INVAL);
	f = base_fields;
	f.d = "example.com; h=to";
	assert_int_equal(sig_format(&f, &b), SIGNET_ERR_INVAL);
	f = base_fields;
	f.s = "sel\r\nBcc: x";
	assert_int_equal(sig_format(&f, &b), SIGNET_ERR_INVAL);
	f = base_fields;
	f.h = "from::to";
	assert_int_equal(sig_format(&f, &b), SIGNET_ERR_INVAL);
	f.h = "from:to:";
	assert_int_equal(sig_format(&f, &b), SIGNET_ERR_INVAL);
	f.h = "from;x";
	assert_int_equal(sig_format(&f, &b), SIGNET_ERR_INVAL);
	f.h = "";
	assert_int_equal(sig_format(&f, &b), SIGNET_ERR_INVAL);
	f = base_fields;
	f.x = f.t; /* DKIM-SIG-11: x must be after t */
	assert_int_equal(sig_format(&f, &b), SIGNET_ERR_INVAL);
	f = base_fields;
	f.bh = "abc$";
	assert_int_equal(sig_format(&f, &b), SIGNET_ERR_INVAL);
	f = base_fields;
	f.i = "a b@example.com";
	assert_int_equal(sig_format(&f, &b), SIGNET_ERR_INVAL);
	assert_int_equal(b.len, 0);
	buf_free(&b);
	/* A buffer cap hit half-way leaves the buffer unchanged. */
	buf_init(&b, 40);
	assert_int_equal(buf_append_str(&b, "xy"), SIGNET_OK);
	assert_int_equal(sig_format(&base_fields, &b), SIGNET_ERR_LIMIT);
	assert_int_equal(b.len, 2);
	buf_free(&b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(DKIM_SIG_01_valid_signature_fields),
		cmocka_unit_test(DKIM_SIG_01_missing_required_tags),
		cmocka_unit_test(DKIM_SIG_02_version),
		cmocka_unit_test(DKIM_SIG_03_algorithms),
		cmocka_unit_test(DKIM_VER_09_order_of_checks),
		cmocka_unit_test(DKIM_SIG_04_base64_tags),
		cmocka_unit_test(DKIM_SIG_04_base64_limits),
		cmocka_unit_test(DKIM_SIG_05_canonicalization),
		cmocka_unit_test(DKIM_SIG_06_domain_and_selector),
		cmocka_unit_test(DKIM_SIG_07_h_must_include_from),
		cmocka_unit_test(DKIM_SIG_07_h_names_limit),
		cmocka_unit_test(DKIM_SIG_08_i_within_d),
		cmocka_unit_test(DKIM_EAI_03_utf8_local_part),
		cmocka_unit_test(DKIM_SIG_09_l_tag),
		cmocka_unit_test(DKIM_SIG_10_q_methods),
		cmocka_unit_test(DKIM_ERR_03_q_encoded_colon),
		cmocka_unit_test(DKIM_SIG_11_t_and_x),
		cmocka_unit_test(DKIM_SIG_12_z_never_invalidates),
		cmocka_unit_test(DKIM_SIG_13_b_raw_span),
		cmocka_unit_test(DKIM_SIG_14_tag_order_free),
		cmocka_unit_test(DKIM_TAG_03_sig_duplicates_and_tag_limit),
		cmocka_unit_test(DKIM_SIG_nul_in_middle),
		cmocka_unit_test(DKIM_SIG_truncated_input),
		cmocka_unit_test(DKIM_SIG_testdata_signatures),
		cmocka_unit_test(DKIM_SIGN_03_format_exact),
		cmocka_unit_test(DKIM_SIGN_03_format_parse_back),
		cmocka_unit_test(DKIM_SIGN_03_append_b_columns),
		cmocka_unit_test(DKIM_SIGN_04_format_refuses_bad_fields),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
