/* test_signer.c: the signer (lib/signer.c): known answers from
 * ../shared/testdata/sign_vectors.tsv, header selection and oversigning,
 * folding, refusals, sign-then-verify round trips, and the A-label or
 * U-label form of d=, s= and i= (DKIM-EAI-04, with lib/idna.c's decoder). */
#include "testutil.h"

#include "base64.h"
#include "canon.h"
#include "crypto.h"
#include "headers.h"
#include "idna.h"
#include "sig.h"

static char results[256];

static const char *msg_crlf = "From: Joe <joe@example.com>\r\n"
			      "To: Sue <sue@example.net>\r\n"
			      "Subject: Hello\r\n"
			      "Date: Fri, 11 Jul 2003 21:00:37 -0700\r\n"
			      "Received: from x by y\r\n"
			      "\r\n"
			      "Hi  there.\r\n\r\n";

static struct signet_sign_params params(const struct signet_key *key)
{
	struct signet_sign_params p = {.domain = "example.com", .selector = "sel", .key = key,
				       .hdr_canon = SIGNET_CANON_RELAXED,
				       .body_canon = SIGNET_CANON_RELAXED, .timestamp = 1700000000};
	return p;
}

static char *sign_with(const struct signet_sign_params *p, const char *msg)
{
	struct signet_error err = {0};
	char *out = tu_sign(p, 1, (const uint8_t *)msg, strlen(msg), &err);
	if (out == NULL)
		fail_msg("sign: %s (%s)", err.msg, signet_status_name(err.code));
	return out;
}

/* "name value" line for the key's public record. */
static void keys_line(const struct signet_key *key, const char *name, char *out, size_t cap)
{
	char rec[1800];
	size_t len;
	struct signet_error err = {0};
	assert_int_equal(signet_key_dns_record(key, rec, sizeof rec, &len, &err), SIGNET_OK);
	snprintf(out, cap, "%s %s\n", name, rec);
}

/* The value of tag `tag` in the first DKIM-Signature of msg, FWS removed. */
static void tag_value(const char *msg, const char *tag, char *out, size_t cap)
{
	char pat[16];
	snprintf(pat, sizeof pat, "%s=", tag);
	const char *p = msg;
	/* the tag name preceded by WSP (folds end in a TAB) */
	while ((p = strstr(p, pat)) != NULL && p > msg && p[-1] != ' ' && p[-1] != '\t')
		p++;
	assert_non_null(p);
	p += strlen(pat);
	size_t n = 0;
	for (; *p != '\0' && *p != ';' && n + 1 < cap; p++) {
		if (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n') {
			if (p[0] == '\r' && p[1] == '\n' && p[2] != ' ' && p[2] != '\t')
				break; /* end of field */
			continue;
		}
		out[n++] = *p;
	}
	out[n] = '\0';
}

/* ---- known answers (sign_vectors.tsv) ---- */

struct store_ctx {
	struct header_store hs;
};

static enum signet_status kv_header(void *ctx, const uint8_t *n, size_t nl, const uint8_t *v,
				    size_t vl, struct signet_error *e)
{
	return header_store_add(&((struct store_ctx *)ctx)->hs, n, nl, v, vl, e);
}
static enum signet_status kv_eoh(void *ctx, struct signet_error *e)
{
	(void)ctx;
	(void)e;
	return SIGNET_OK;
}
static enum signet_status kv_body(void *ctx, const uint8_t *p, size_t l, struct signet_error *e)
{
	(void)ctx;
	(void)p;
	(void)l;
	(void)e;
	return SIGNET_OK;
}

/* b= of the template's n-th DKIM-Signature recomputed with the private key:
 * the hash input is the template's own selected fields and its header with
 * b= emptied (RFC 6376 3.7), so tag order and folding are the template's. */
static void resign_template(const char *tmpl_rel, int index, const char *key_rel, char *b64,
			    size_t cap)
{
	size_t len;
	uint8_t *msg = read_testdata(tmpl_rel, &len);
	struct store_ctx ctx;
	header_store_init(&ctx.hs);
	static const struct signet_message_handler h = {kv_header, kv_eoh, kv_body};
	struct signet_error err = {0};
	assert_int_equal(tu_feed(&h, &ctx, msg, len, 0, &err), SIGNET_OK);
	size_t field = SIZE_MAX;
	for (size_t k = 0, seen = 0; k < ctx.hs.count; k++)
		if (span_eq_nocase(header_name(&ctx.hs, k), "dkim-signature") && ++seen == (size_t)index)
			field = k;
	assert_true(field != SIZE_MAX);
	struct signet_span value = header_value(&ctx.hs, field);
	static struct dkim_sig sig;
	assert_int_equal(sig_parse(value.p, value.len, &sig, &err), SIGNET_OK);
	struct signet_buf in, stripped;
	buf_init(&in, 1 << 20);
	buf_init(&stripped, 1 << 20);
	assert_int_equal(header_select(&ctx.hs, sig.hnames, sig.nh, sig.hdr_canon, field, &in), SIGNET_OK);
	size_t pre = (size_t)(sig.b_raw.p - value.p);
	assert_int_equal(buf_append(&stripped, value.p, pre), SIGNET_OK);
	assert_int_equal(buf_append(&stripped, value.p + pre + sig.b_raw.len,
				    value.len - pre - sig.b_raw.len), SIGNET_OK);
	struct signet_span sv = {stripped.data, stripped.len};
	assert_int_equal(canon_header(sig.hdr_canon, header_raw_name(&ctx.hs, field), sv, &in), SIGNET_OK);
	struct hash *hs = NULL;
	uint8_t digest[SIGNET_SHA256_LEN], out[SIGNET_MAX_SIG_LEN];
	size_t outlen = 0;
	assert_int_equal(hash_new(&hs), SIGNET_OK);
	assert_int_equal(hash_update(hs, in.data, in.len - 2), SIGNET_OK);
	assert_int_equal(hash_final(hs, digest), SIGNET_OK);
	hash_free(hs);
	struct signet_key *key = load_key(key_rel);
	assert_int_equal(key_sign(key, digest, out, sizeof out, &outlen, &err), SIGNET_OK);
	assert_int_equal(base64_encode_str(out, outlen, b64, cap), SIGNET_OK);
	signet_key_free(key);
	buf_free(&in);
	buf_free(&stripped);
	header_store_free(&ctx.hs);
	free(msg);
}

static void DKIM_SIGN_01_known_answers(void **state)
{
	/* DKIM-SIGN-01: hash input = selected fields in h= order, then the new
	 * signature with b= empty and no trailing CRLF; RFC 8463 A.3 and the
	 * other sign vectors give the exact b=. DKIM-SIGN-05: ed25519 over SHA-256. */
	(void)state;
	REQUIRE_TESTDATA();
	size_t len;
	char *tsv = (char *)read_testdata("sign_vectors.tsv", &len);
	int checked = 0;
	char *save = NULL;
	strtok_r(tsv, "\n", &save); /* column names */
	for (char *line = strtok_r(NULL, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		char *f[12];
		char *s2 = NULL;
		int n = 0;
		for (char *t = strtok_r(line, "\t", &s2); t && n < 12; t = strtok_r(NULL, "\t", &s2))
			f[n++] = t;
		assert_int_equal(n, 12);
		if (strcmp(f[4], "rsa-sha1") == 0)
			continue; /* never signed (RFC 8301) */
		char tmpl[256], b64[1024];
		snprintf(tmpl, sizeof tmpl, "%s", f[10]);
		char *hash = strchr(tmpl, '#');
		assert_non_null(hash);
		*hash = '\0';
		resign_template(tmpl, atoi(hash + 1), f[1], b64, sizeof b64);
		if (strcmp(b64, f[9]) != 0)
			fail_msg("%s via %s: b= %s, expected %s", f[0], f[10], b64, f[9]);

		/* DKIM-SIGN-02: our own signer's bh= for the same input and c=. */
		struct signet_key *key = load_key(f[1]);
		struct signet_sign_params p = params(key);
		p.domain = f[2];
		p.selector = f[3];
		assert_int_equal(signet_canon_parse(f[5], strlen(f[5]), &p.hdr_canon, &p.body_canon, NULL),
				 SIGNET_OK);
		/* bh= does not depend on h=; drop the names our signer refuses
		 * (DKIM-HDR-05: some vectors sign Received). */
		char hl[1024] = "";
		char *s3 = NULL;
		for (char *nm = strtok_r(f[6], ":", &s3); nm; nm = strtok_r(NULL, ":", &s3)) {
			if (strcasecmp(nm, "received") == 0 || strcasecmp(nm, "return-path") == 0)
				continue;
			if (hl[0] != '\0')
				strcat(hl, ":");
			strncat(hl, nm, sizeof hl - strlen(hl) - 2);
		}
		p.headers = hl;
		p.timestamp = strtoull(f[7], NULL, 10);
		size_t mlen;
		char *msg = (char *)read_testdata(f[0], &mlen);
		char *signed_msg = sign_with(&p, msg);
		char bh[128];
		tag_value(signed_msg, "bh", bh, sizeof bh);
		if (strcmp(bh, f[8]) != 0)
			fail_msg("%s: bh= %s, expected %s", f[0], bh, f[8]);
		free(signed_msg);
		free(msg);
		signet_key_free(key);
		checked++;
	}
	assert_true(checked >= 19); /* 2 ed25519 + 17 rsa-sha256 rows */
	free(tsv);
}

static void DKIM_SIGN_02_body_hash(void **state)
{
	/* DKIM-SIGN-02: bh of signed.eml = 2jUSOH9NhtVGCQWNr9BrIAPreKQjO6Sn7XIkfJVOzv8= (relaxed). */
	(void)state;
	REQUIRE_TESTDATA();
	size_t len;
	char *msg = (char *)read_testdata("rfc8463/unsigned.eml", &len);
	struct signet_key *key = load_key("rfc8463/ed25519.key");
	struct signet_sign_params p = params(key);
	char *out = sign_with(&p, msg);
	char bh[128];
	tag_value(out, "bh", bh, sizeof bh);
	assert_string_equal(bh, "2jUSOH9NhtVGCQWNr9BrIAPreKQjO6Sn7XIkfJVOzv8=");
	free(out);
	free(msg);
	signet_key_free(key);
}

static void DKIM_SIGN_03_folded_below_78(void **state)
{
	/* DKIM-SIGN-03: every emitted line ≤ 78; self-verify with simple/simple. */
	(void)state;
	REQUIRE_TESTDATA();
	struct signet_key *key = load_key("rfc8463/rsa.key");
	struct signet_sign_params p = params(key);
	p.hdr_canon = p.body_canon = SIGNET_CANON_SIMPLE;
	p.auid = "someone.with.a.long.name@mail.example.com";
	char *out = sign_with(&p, msg_crlf);
	const char *end = strstr(out, "\r\nFrom:");
	for (const char *line = out; line < end;) {
		const char *eol = strstr(line, "\r\n");
		assert_true(eol - line <= 78);
		line = eol + 2;
	}
	char keys[2048];
	keys_line(key, "sel._domainkey.example.com", keys, sizeof keys);
	struct signet_verifier *v = tu_verify((uint8_t *)out, strlen(out), keys);
	assert_string_equal(tu_results(v, results, sizeof results), "pass");
	signet_verifier_free(v);
	free(out);
	signet_key_free(key);
}

static void DKIM_SIGN_04_small_rsa_refused(void **state)
{
	/* DKIM-SIGN-04: RSA signing keys ≥ 1024 bits: a 512-bit key is refused. */
	(void)state;
	REQUIRE_TESTDATA();
	size_t len;
	uint8_t *pem = read_testdata("opendkim/SMALLKEY.pem", &len);
	struct signet_key *key = NULL;
	struct signet_error err = {0};
	assert_int_not_equal(signet_key_parse(pem, len, &key, &err), SIGNET_OK);
	assert_null(key);
	assert_non_null(strstr(err.msg, "bits"));
	free(pem);
}

static void DKIM_SIGN_07_from_required_once(void **state)
{
	/* DKIM-SIGN-07: refuse to sign when From is absent or repeated. */
	(void)state;
	REQUIRE_TESTDATA();
	struct signet_key *key = load_key("rfc8463/ed25519.key");
	struct signet_sign_params p = params(key);
	struct signet_error err = {0};
	const char *none = "To: a@example.com\r\n\r\nx\r\n";
	assert_null(tu_sign(&p, 1, (const uint8_t *)none, strlen(none), &err));
	assert_non_null(strstr(err.msg, "no From"));
	const char *two = "From: a@example.com\r\nFrom: b@example.com\r\n\r\nx\r\n";
	assert_null(tu_sign(&p, 1, (const uint8_t *)two, strlen(two), &err));
	assert_non_null(strstr(err.msg, "2 From"));
	signet_key_free(key);
}

static void DKIM_SIGN_08_tags_written(void **state)
{
	/* DKIM-SIGN-08: t= always; x= only if configured and > t; never l=; i= only within d=. */
	(void)state;
	REQUIRE_TESTDATA();
	struct signet_key *key = load_key("rfc8463/ed25519.key");
	struct signet_sign_params p = params(key);
	char *out = sign_with(&p, msg_crlf);
	assert_non_null(strstr(out, " t=1700000000;"));
	assert_null(strstr(out, " x="));
	assert_null(strstr(out, " l="));
	assert_null(strstr(out, " i="));
	free(out);
	p.expire = 1700000000 + 86400;
	p.auid = "@sub.example.com";
	out = sign_with(&p, msg_crlf);
	assert_non_null(strstr(out, " x=1700086400;"));
	assert_non_null(strstr(out, " i=@sub.example.com;"));
	free(out);
	struct signet_signer *s = NULL;
	struct signet_error err = {0};
	assert_int_equal(signet_signer_new(&s, &err), SIGNET_OK);
	p.expire = p.timestamp;
	assert_int_equal(signet_signer_add(s, &p, &err), SIGNET_ERR_INVAL);
	p.expire = 0;
	p.auid = "joe@notexample.com";
	assert_int_equal(signet_signer_add(s, &p, &err), SIGNET_ERR_INVAL);
	assert_non_null(strstr(err.msg, "not within"));
	signet_signer_free(s);
	signet_key_free(key);
}

static void DKIM_SIGN_09_dual_signing(void **state)
{
	/* DKIM-SIGN-09: rsa-sha256 and ed25519-sha256 on one message, both pass. */
	(void)state;
	REQUIRE_TESTDATA();
	struct signet_key *rsa = load_key("rfc8463/rsa.key");
	struct signet_key *ed = load_key("rfc8463/ed25519.key");
	struct signet_sign_params p[2] = {params(rsa), params(ed)};
	p[0].domain = p[1].domain = "football.example.com";
	p[0].selector = "test";
	p[1].selector = "brisbane";
	struct signet_error err = {0};
	char *out = tu_sign(p, 2, (const uint8_t *)msg_crlf, strlen(msg_crlf), &err);
	assert_non_null(out);
	size_t klen;
	char *keys = (char *)read_testdata("rfc8463/keys.txt", &klen);
	struct signet_verifier *v = tu_verify((uint8_t *)out, strlen(out), keys);
	assert_string_equal(tu_results(v, results, sizeof results), "pass,pass");
	assert_string_equal(signet_verifier_result(v, 0)->a, "ed25519-sha256");
	assert_string_equal(signet_verifier_result(v, 1)->a, "rsa-sha256");
	signet_verifier_free(v);
	free(keys);
	free(out);
	signet_key_free(rsa);
	signet_key_free(ed);
}

static void DKIM_HDR_04_default_list_oversigned(void **state)
{
	/* DKIM-HDR-04: From always signed; recommended set when present; singletons oversigned. */
	(void)state;
	REQUIRE_TESTDATA();
	struct signet_key *key = load_key("rfc8463/ed25519.key");
	struct signet_sign_params p = params(key);
	char *out = sign_with(&p, msg_crlf);
	char h[512];
	tag_value(out, "h", h, sizeof h);
	assert_string_equal(h, "from:from:reply-to:subject:subject:date:date:to:to:cc:message-id:"
			       "mime-version:content-type");
	free(out);
	p.headers = "from:subject:x-custom";
	p.oversign = true;
	out = sign_with(&p, msg_crlf);
	tag_value(out, "h", h, sizeof h);
	assert_string_equal(h, "from:from:subject:subject:x-custom");
	free(out);
	p.headers = "to:subject:To";
	p.oversign = false;
	out = sign_with(&p, msg_crlf);
	tag_value(out, "h", h, sizeof h);
	assert_string_equal(h, "to:subject:to:from"); /* as written, From added */
	free(out);
	signet_key_free(key);
}

static void DKIM_HDR_05_relay_fields_never_signed(void **state)
{
	/* DKIM-HDR-05: never sign Return-Path, Received, Authentication-Results, DKIM-Signature, ARC-*. */
	(void)state;
	REQUIRE_TESTDATA();
	struct signet_key *key = load_key("rfc8463/ed25519.key");
	struct signet_sign_params p = params(key);
	char *out = sign_with(&p, msg_crlf);
	char h[512];
	tag_value(out, "h", h, sizeof h);
	assert_null(strstr(h, "received"));
	free(out);
	const char *bad[] = {"from:received", "from:Return-Path", "dkim-signature",
			     "from:authentication-results", "from:ARC-Seal"};
	struct signet_signer *s = NULL;
	struct signet_error err = {0};
	assert_int_equal(signet_signer_new(&s, &err), SIGNET_OK);
	for (size_t k = 0; k < sizeof bad / sizeof bad[0]; k++) {
		p.headers = bad[k];
		assert_int_equal(signet_signer_add(s, &p, &err), SIGNET_ERR_INVAL);
		assert_non_null(strstr(err.msg, "refusing to sign"));
	}
	signet_signer_free(s);
	signet_key_free(key);
}

static void DKIM_CANON_05_lf_and_crlf_same_signature(void **state)
{
	/* DKIM-CANON-05: LF and CRLF copies of a message give the same bh and b=. */
	(void)state;
	REQUIRE_TESTDATA();
	char lf[512];
	size_t n = 0;
	for (const char *c = msg_crlf; *c; c++)
		if (*c != '\r')
			lf[n++] = *c;
	lf[n] = '\0';
	struct signet_key *key = load_key("rfc8463/ed25519.key");
	struct signet_sign_params p = params(key);
	for (int c = 0; c < 2; c++) {
		p.hdr_canon = p.body_canon = c ? SIGNET_CANON_RELAXED : SIGNET_CANON_SIMPLE;
		char *a = sign_with(&p, msg_crlf), *b = sign_with(&p, lf);
		char ba[256], bb[256];
		tag_value(a, "b", ba, sizeof ba);
		tag_value(b, "b", bb, sizeof bb);
		assert_string_equal(ba, bb);
		tag_value(a, "bh", ba, sizeof ba);
		tag_value(b, "bh", bb, sizeof bb);
		assert_string_equal(ba, bb);
		free(a);
		free(b);
	}
	signet_key_free(key);
}

static void all_canonicalizations_round_trip(void **state)
{
	/* DKIM-SIG-05 via the signer: the four c= pairs each verify. */
	(void)state;
	REQUIRE_TESTDATA();
	struct signet_key *key = load_key("rfc8463/rsa.key");
	char keys[2048];
	keys_line(key, "sel._domainkey.example.com", keys, sizeof keys);
	for (int hc = 0; hc < 2; hc++) {
		for (int bc = 0; bc < 2; bc++) {
			struct signet_sign_params p = params(key);
			p.hdr_canon = (enum signet_canon)hc;
			p.body_canon = (enum signet_canon)bc;
			char *out = sign_with(&p, msg_crlf);
			struct signet_verifier *v = tu_verify((uint8_t *)out, strlen(out), keys);
			assert_string_equal(tu_results(v, results, sizeof results), "pass");
			signet_verifier_free(v);
			free(out);
		}
	}
	signet_key_free(key);
}

static void repeated_fields_signed_at_most_four_times(void **state)
{
	/* Bounds: 400 References fields do not make signing fail: the bottom
	 * four are signed (RFC 6376 5.4.2 lets a signer leave instances out),
	 * h= stays under SIGNET_MAX_H_NAMES, and the signature verifies. */
	(void)state;
	REQUIRE_TESTDATA();
	size_t cap = strlen(msg_crlf) + 400 * 40;
	char *msg = malloc(cap);
	assert_non_null(msg);
	msg[0] = '\0';
	for (int k = 0; k < 400; k++) {
		char line[64];
		snprintf(line, sizeof line, "References: <r%d@example.com>\r\n", k);
		strcat(msg, line);
	}
	strcat(msg, msg_crlf);
	struct signet_key *key = load_key("rfc8463/rsa.key");
	struct signet_sign_params p = params(key);
	char *out = sign_with(&p, msg);
	char h[1024];
	tag_value(out, "h", h, sizeof h);
	assert_non_null(strstr(h, "references:references:references:references:"));
	assert_null(strstr(h, "references:references:references:references:references"));
	char keys[2048];
	keys_line(key, "sel._domainkey.example.com", keys, sizeof keys);
	struct signet_verifier *v = tu_verify((uint8_t *)out, strlen(out), keys);
	assert_string_equal(tu_results(v, results, sizeof results), "pass");
	signet_verifier_free(v);
	/* A custom list longer than h= may be is refused when added. */
	char list[SIGNET_MAX_H_NAMES * 8];
	list[0] = '\0';
	for (int k = 0; k < SIGNET_MAX_H_NAMES; k++)
		strcat(list, k ? ":x-a" : "x-a");
	p.headers = list;
	struct signet_signer *s = NULL;
	struct signet_error err = {0};
	assert_int_equal(signet_signer_new(&s, &err), SIGNET_OK);
	assert_int_equal(signet_signer_add(s, &p, &err), SIGNET_ERR_INVAL);
	assert_non_null(strstr(err.msg, "more than 127 names"));
	signet_signer_free(s);
	free(out);
	free(msg);
	signet_key_free(key);
}

/* ---- DKIM-EAI-04: U-labels only in EAI messages --------------------------- */

#define UMLAUT_DOMAIN "b\xc3\xbc" "cher.example" /* bücher.example */
#define ALABEL_DOMAIN "xn--bcher-kva.example"

static const char *msg_ascii = "From: Joe <joe@" ALABEL_DOMAIN ">\r\n"
			       "To: Sue <sue@example.net>\r\n"
			       "Subject: plain\r\n"
			       "\r\n"
			       "Hi.\r\n";
static const char *msg_eai = "From: J\xc3\xb6rg <j\xc3\xb6rg@" UMLAUT_DOMAIN ">\r\n"
			     "To: Sue <sue@example.net>\r\n"
			     "Subject: Gr\xc3\xbc\xc3\x9f" "e\r\n"
			     "\r\n"
			     "Hi.\r\n";
/* 8-bit but not UTF-8 (Latin-1 "ü"): not an EAI message (RFC 6532 needs UTF-8). */
static const char *msg_latin1 = "From: Joe <joe@" ALABEL_DOMAIN ">\r\n"
				"Subject: Gr\xfc\xdf" "e\r\n"
				"\r\n"
				"Hi.\r\n";

/* Signs msg as domain/selector/auid, checks d=, s= and i= as written, and
 * verifies the result with our verifier (the key published at the A-label name). */
static void eai_case(const struct signet_key *key, const char *domain, const char *auid,
		     enum signet_idn_labels idn, const char *msg, const char *want_d,
		     const char *want_i)
{
	struct signet_sign_params p = params(key);
	p.domain = domain;
	p.selector = "sel";
	p.auid = auid;
	p.idn = idn;
	char *out = sign_with(&p, msg);
	char d[300], i[300], keys[2048];
	tag_value(out, "d", d, sizeof d);
	tag_value(out, "i", i, sizeof i);
	assert_string_equal(d, want_d);
	assert_string_equal(i, want_i);
	keys_line(key, "sel._domainkey." ALABEL_DOMAIN, keys, sizeof keys);
	struct signet_verifier *v = tu_verify((uint8_t *)out, strlen(out), keys);
	assert_string_equal(tu_results(v, results, sizeof results), "pass");
	signet_verifier_free(v);
	free(out);
}

static void DKIM_EAI_04_ulabels_only_in_eai_messages(void **state)
{
	/* DKIM-EAI-04 "We write U-labels only when the message already carries
	 * UTF-8 headers, else A-labels; configurable. Test: same config domain
	 * → A-label in an ASCII message, U-label in an EAI message." */
	(void)state;
	struct signet_key *key = NULL;
	struct signet_error err = {0};
	assert_int_equal(signet_key_generate(SIGNET_KEY_ED25519, 0, &key, &err), SIGNET_OK);
	static const char *const given[] = {ALABEL_DOMAIN, UMLAUT_DOMAIN};
	for (size_t k = 0; k < 2; k++) {
		char auid[64];
		snprintf(auid, sizeof auid, "j\xc3\xb6rg@mail.%s", given[k]);
		eai_case(key, given[k], auid, SIGNET_IDN_AUTO, msg_ascii, ALABEL_DOMAIN,
			 "j\xc3\xb6rg@mail." ALABEL_DOMAIN);
		eai_case(key, given[k], auid, SIGNET_IDN_AUTO, msg_eai, UMLAUT_DOMAIN,
			 "j\xc3\xb6rg@mail." UMLAUT_DOMAIN);
		eai_case(key, given[k], auid, SIGNET_IDN_ALABELS, msg_eai, ALABEL_DOMAIN,
			 "j\xc3\xb6rg@mail." ALABEL_DOMAIN);
		eai_case(key, given[k], auid, SIGNET_IDN_AUTO, msg_latin1, ALABEL_DOMAIN,
			 "j\xc3\xb6rg@mail." ALABEL_DOMAIN);
	}
	/* an ASCII domain is the same either way; ASCII case is kept */
	struct signet_sign_params p = params(key);
	p.domain = "Example.COM";
	char *out = sign_with(&p, msg_eai);
	char d[300];
	tag_value(out, "d", d, sizeof d);
	assert_string_equal(d, "Example.COM");
	free(out);
	/* s= too: a U-label selector in an ASCII message is written as its A-label */
	p.domain = ALABEL_DOMAIN;
	p.selector = "sch\xc3\xb6n";
	out = sign_with(&p, msg_ascii);
	tag_value(out, "s", d, sizeof d);
	assert_string_equal(d, "xn--schn-7qa");
	free(out);
	out = sign_with(&p, msg_eai);
	tag_value(out, "s", d, sizeof d);
	assert_string_equal(d, "sch\xc3\xb6n");
	free(out);
	signet_key_free(key);
}

static void expect_add_refused(const struct signet_key *key, const char *domain, const char *auid,
			       const char *msg)
{
	struct signet_sign_params p = params(key);
	p.domain = domain;
	p.auid = auid;
	struct signet_signer *s = NULL;
	struct signet_error err = {0};
	assert_int_equal(signet_signer_new(&s, &err), SIGNET_OK);
	assert_int_equal(signet_signer_add(s, &p, &err), SIGNET_ERR_INVAL);
	if (strstr(err.msg, msg) == NULL)
		fail_msg("'%s' does not contain '%s'", err.msg, msg);
	signet_signer_free(s);
}

static void DKIM_EAI_04_bad_names_refused(void **state)
{
	/* DKIM-EAI-04: a name without both forms is refused when added. */
	(void)state;
	struct signet_key *key = NULL;
	struct signet_error err = {0};
	assert_int_equal(signet_key_generate(SIGNET_KEY_ED25519, 0, &key, &err), SIGNET_OK);
	expect_add_refused(key, "b\xc3.example", NULL,
			   "d= b\xc3.example: domain is not valid UTF-8");
	expect_add_refused(key, "xn--.example", NULL, "'xn--' is not a valid A-label");
	expect_add_refused(key, "xn--abc-.example", NULL, "'xn--abc-' is not a valid A-label");
	expect_add_refused(key, "xn--99999999999.example", NULL, "is not a valid A-label");
	/* i= within d= compares A-label forms (DKIM-EAI-02) */
	expect_add_refused(key, ALABEL_DOMAIN, "joe@other.example", "not within d=");
	expect_add_refused(key, ALABEL_DOMAIN, "joe@", "not within d=");
	expect_add_refused(key, ALABEL_DOMAIN, "joe@xn--zz-.example", "i= domain");
	struct signet_sign_params p = params(key);
	p.idn = (enum signet_idn_labels)7;
	struct signet_signer *s = NULL;
	assert_int_equal(signet_signer_new(&s, &err), SIGNET_OK);
	assert_int_equal(signet_signer_add(s, &p, &err), SIGNET_ERR_INVAL);
	signet_signer_free(s);
	signet_key_free(key);
}

static void expect_ulabel(const char *in, const char *want)
{
	char out[IDNA_MAX_NAME];
	struct signet_error err = {0};
	if (idna_to_unicode(span_from_str(in), out, sizeof out, &err) != SIGNET_OK)
		fail_msg("%s: %s", in, err.msg);
	assert_string_equal(out, want);
}

static void DKIM_EAI_04_ulabel_known_answers(void **state)
{
	/* DKIM-EAI-04: the U-label form the signer writes (RFC 3492 6.2, the
	 * encoder's known answers in test_idna.c read backwards). */
	(void)state;
	expect_ulabel("xn--bcher-kva.example", "b\xc3\xbc" "cher.example");
	expect_ulabel("XN--BCHER-KVA.example", "b\xc3\xbc" "cher.example");
	expect_ulabel("xn--mnchen-3ya.de", "m\xc3\xbcnchen.de");
	expect_ulabel("xn--r8jz45g.xn--zckzah", "\xe4\xbe\x8b\xe3\x81\x88.\xe3\x83\x86\xe3\x82\xb9"
						"\xe3\x83\x88"); /* 例え.テスト */
	expect_ulabel("xn--tda", "\xc3\xbc");
	expect_ulabel("Example.COM", "Example.COM");
	char out[8];
	struct signet_error err = {0};
	/* U+1F4A9: Punycode decodes it, IDNA2008 disallows it (libidn2, issue #12) */
	assert_int_equal(idna_to_unicode(span_from_str("xn--ls8h.example"), out, sizeof out, &err),
			 SIGNET_ERR_SYNTAX);
	assert_int_equal(idna_to_unicode(span_from_str("xn--tda"), out, 2, &err), SIGNET_ERR_LIMIT);
	assert_int_equal(idna_to_unicode(span_from_str("xn--tda"), out, 3, &err), SIGNET_OK);
	assert_true(idna_has_utf8(span_from_str("Gr\xc3\xbc\xc3\x9f" "e")));
	assert_false(idna_has_utf8(span_from_str("plain")));
	assert_false(idna_has_utf8(span_from_str("Gr\xfc\xdf" "e")));
}

static void signer_misuse_is_an_error(void **state)
{
	(void)state;
	struct signet_signer *s = NULL;
	struct signet_error err = {0};
	assert_int_equal(signet_signer_new(&s, &err), SIGNET_OK);
	assert_int_equal(signet_signer_header(s, (const uint8_t *)"From", 4, (const uint8_t *)" a", 2, &err),
			 SIGNET_ERR_STATE);
	assert_int_equal(signet_signer_finish(s, &err), SIGNET_ERR_STATE);
	assert_int_equal(signet_signer_body(s, (const uint8_t *)"x", 1, &err), SIGNET_ERR_STATE);
	struct signet_sign_params p = {0};
	assert_int_equal(signet_signer_add(s, &p, &err), SIGNET_ERR_INVAL);
	assert_int_equal(signet_signer_count(s), 0);
	assert_null(signet_signer_signature(s, 0));
	signet_signer_free(s);
	signet_signer_free(NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(DKIM_SIGN_01_known_answers),
		cmocka_unit_test(DKIM_SIGN_02_body_hash),
		cmocka_unit_test(DKIM_SIGN_03_folded_below_78),
		cmocka_unit_test(DKIM_SIGN_04_small_rsa_refused),
		cmocka_unit_test(DKIM_SIGN_07_from_required_once),
		cmocka_unit_test(DKIM_SIGN_08_tags_written),
		cmocka_unit_test(DKIM_SIGN_09_dual_signing),
		cmocka_unit_test(DKIM_HDR_04_default_list_oversigned),
		cmocka_unit_test(DKIM_HDR_05_relay_fields_never_signed),
		cmocka_unit_test(DKIM_CANON_05_lf_and_crlf_same_signature),
		cmocka_unit_test(all_canonicalizations_round_trip),
		cmocka_unit_test(repeated_fields_signed_at_most_four_times),
		cmocka_unit_test(signer_misuse_is_an_error),
		cmocka_unit_test(DKIM_EAI_04_ulabels_only_in_eai_messages),
		cmocka_unit_test(DKIM_EAI_04_bad_names_refused),
		cmocka_unit_test(DKIM_EAI_04_ulabel_known_answers),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
