/* test_alloc_faults.c: every public constructor and append of libsignet
 * under allocation failure (issue #12; STYLE.md 8 "Make failures happen on
 * purpose"). Each scenario is a whole use of the API; it is run with the
 * 1st, 2nd, ... allocation failing (alloc_hook.c) until a run sees no
 * failure. A failed allocation must come back as SIGNET_ERR_NOMEM with err
 * filled, the objects made so far must still free cleanly (the ASan build's
 * leak check covers "nothing leaked"), and the run without a failure must
 * give the normal answer. Each scenario that reaches OpenSSL runs a second
 * time (ALLOC_FAULT_OPENSSL_*) with OpenSSL's allocations failed as well
 * (CRYPTO_set_mem_functions); see under_faults for what may come back then. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <cmocka.h>
#include <libpsl.h>

#include <signet/ar.h>
#include <signet/arc.h>
#include <signet/key.h>
#include <signet/keyrec.h>
#include <signet/message.h>
#include <signet/psl.h>
#include <signet/rfc5322.h>
#include <signet/signer.h>
#include <signet/spf.h>
#include <signet/verifier.h>

#include <openssl/crypto.h>

#include "alloc_hook.h"
#include "testutil.h"

#define FAULT_MAX_ALLOCS 10000 /* a scenario needing more is a test bug */
#define FAULT_MAX_KEYS 8

/* Inputs read before any allocation is failed (the test's own mallocs
 * are wrapped too, so none happen while armed). */
static struct {
	uint8_t *rsa_pem, *ed_pem, *signed_msg, *tampered_msg, *keys_text;
	size_t rsa_pem_len, ed_pem_len, signed_len, tampered_len;
	struct signet_key *rsa, *ed;
	struct signet_psl *psl;
	struct {
		const char *name;
		struct signet_txt txt;
	} keys[FAULT_MAX_KEYS];
	size_t nkeys;
} fx;

static const char unsigned_msg[] =
	"From: Joe SixPack <joe@football.example.com>\r\n"
	"To: Suzie Q <suzie@shopping.example.net>\r\n"
	"Subject: Is dinner ready?\r\n"
	"Date: Fri, 11 Jul 2003 21:00:37 -0700 (PDT)\r\n"
	"Message-ID: <20030712040037.46341.5F8J@football.example.com>\r\n"
	"\r\n"
	"Hi.\r\n"
	"\r\n"
	"We lost the game.  Are you hungry yet?\r\n"
	"\r\n"
	"Joe.\r\n";

static psl_ctx_t *psl_ctx; /* loaded once by setup */
static const char psl_text[] = "// ===BEGIN ICANN DOMAINS===\n"
			       "com\nuk\nco.uk\njp\n*.kawasaki.jp\n!city.kawasaki.jp\n"
			       "\xe5\x85\xac\xe5\x8f\xb8.cn\n"
			       "// ===END ICANN DOMAINS===\n"
			       "// ===BEGIN PRIVATE DOMAINS===\ngithub.io\n"
			       "// ===END PRIVATE DOMAINS===\n";

/* keys.txt: "name value" lines, '#' comments; values point into keys_text. */
static void keys_load(void)
{
	size_t len;
	fx.keys_text = read_testdata("rfc8463/keys.txt", &len);
	for (char *line = (char *)fx.keys_text; line != NULL && *line != '\0';) {
		char *end = strchr(line, '\n');
		if (end != NULL)
			*end = '\0';
		char *sp = strchr(line, ' ');
		if (line[0] != '#' && sp != NULL && fx.nkeys < FAULT_MAX_KEYS) {
			*sp = '\0';
			fx.keys[fx.nkeys].name = line;
			fx.keys[fx.nkeys].txt.p = (const uint8_t *)(sp + 1);
			fx.keys[fx.nkeys].txt.len = strlen(sp + 1);
			fx.nkeys++;
		}
		line = end != NULL ? end + 1 : NULL;
	}
	assert_int_equal(fx.nkeys, 2);
}

static int setup(void **state)
{
	(void)state;
	if (!testdata_present())
		return 0;
	fx.rsa_pem = read_testdata("rfc8463/rsa.key", &fx.rsa_pem_len);
	fx.ed_pem = read_testdata("rfc8463/ed25519.key", &fx.ed_pem_len);
	fx.signed_msg = read_testdata("rfc8463/signed.eml", &fx.signed_len);
	fx.tampered_msg = read_testdata("rfc8463/tampered-body.eml", &fx.tampered_len);
	fx.rsa = load_key("rfc8463/rsa.key");
	fx.ed = load_key("rfc8463/ed25519.key");
	keys_load();
	struct signet_error err = {0};
	/* libpsl loads the list (its allocations are its own, not wrapped);
	 * libsignet's wrapper around it is what runs under the hook. */
	FILE *m = fmemopen((void *)psl_text, sizeof psl_text - 1, "r");
	if (m == NULL || (psl_ctx = psl_load_fp(m)) == NULL)
		fail_msg("psl: libpsl could not load the test list");
	fclose(m);
	if (signet_psl_new(psl_ctx, false, &fx.psl, &err) != SIGNET_OK)
		fail_msg("psl: %s", err.msg);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	free(fx.rsa_pem);
	free(fx.ed_pem);
	free(fx.signed_msg);
	free(fx.tampered_msg);
	free(fx.keys_text);
	signet_key_free(fx.rsa);
	signet_key_free(fx.ed);
	signet_psl_free(fx.psl);
	psl_free(psl_ctx);
	print_message("# %zu distinct allocation sites failed on purpose:", alloc_hook_sites());
	for (size_t k = 0; k < alloc_hook_sites(); k++)
		print_message(" 0x%zx", alloc_hook_site(k));
	print_message("\n");
	return 0;
}

/* One use of the API; returns the first status that is not SIGNET_OK,
 * having freed what it made. SCENARIO_WRONG: it succeeded with the wrong
 * answer (a failed allocation swallowed). */
#define SCENARIO_WRONG ((enum signet_status)100)
typedef enum signet_status (*scenario_fn)(struct signet_error *err);

/* What is failed: libsignet's allocations only, or OpenSSL's as well.
 * FAULT_LIBSIGNET_ABSORBED: libsignet's only, for an API whose contract
 * turns a failed allocation into a result (SPF: temperror "out of
 * memory"); the scenario then checks the result is that one. */
enum fault_scope { FAULT_LIBSIGNET, FAULT_OPENSSL, FAULT_LIBSIGNET_ABSORBED };

/* Runs fn with allocation 1, 2, ... failing until a run has no failure.
 * A failure of libsignet's own allocations must come back as
 * SIGNET_ERR_NOMEM with err filled. OpenSSL 3.0 reports some of its own
 * allocation failures as its own errors (SIGNET_ERR_CRYPTO), and hides
 * others: EVP_PKEY_new_raw_public_key says "key setup failed", a verify
 * says "no match", EVP_PKEY_is_a says "no", EVP_PKEY_get_bits says 0. So
 * with OpenSSL's allocations failed too, a run may also end with
 * SIGNET_ERR_KEY or a wrong result (permerror, fail): those are counted
 * and printed, not failed. Every other outcome still fails the test, as do
 * a crash and (in the ASan build) a leak. */
static void under_faults(const char *name, scenario_fn fn, enum fault_scope scope)
{
	REQUIRE_TESTDATA();
	unsigned long n, hidden = 0;
	for (n = 1; n < FAULT_MAX_ALLOCS; n++) {
		struct signet_error err = {0};
		alloc_hook_openssl(scope == FAULT_OPENSSL);
		alloc_hook_arm(n);
		enum signet_status st = fn(&err);
		bool fired = alloc_hook_disarm();
		alloc_hook_openssl(false);
		if (!fired) {
			if (st != SIGNET_OK)
				fail_msg("%s: without a failure: status %d: %s", name, st, err.msg);
			break;
		}
		bool clean =
			st == SIGNET_ERR_NOMEM ||
			(scope == FAULT_OPENSSL && (st == SIGNET_ERR_CRYPTO || st == SIGNET_OK)) ||
			(scope == FAULT_LIBSIGNET_ABSORBED && st == SIGNET_OK);
		bool hid = scope == FAULT_OPENSSL && (st == SIGNET_ERR_KEY || st == SCENARIO_WRONG);
		if (!clean && !hid)
			fail_msg("%s: allocation %lu failed, status %d (%s): \"%s\"", name, n, st,
				 signet_status_name(st), err.msg);
		if (st != SIGNET_OK && st != SCENARIO_WRONG &&
		    (err.code != st || err.msg[0] == '\0'))
			fail_msg("%s: allocation %lu failed, err not filled: code %d \"%s\"", name,
				 n, err.code, err.msg);
		/* OpenSSL said so: then a wrong result or error is libsignet's. */
		if (hid && strstr(err.msg, "malloc failure") != NULL)
			fail_msg("%s: allocation %lu: OpenSSL reported it, but: %s", name, n,
				 err.msg);
		if (hid && hidden++ == 0)
			print_message("# %s: allocation %lu: OpenSSL hid the failure: %s\n", name,
				      n, err.msg);
	}
	assert_true(n > 1); /* the scenario allocates: otherwise it tests nothing */
	print_message("# %s%s: %lu allocations, each failed once", name,
		      scope == FAULT_OPENSSL ? " (with OpenSSL's)" : "", n - 1);
	print_message(hidden ? "; %lu hidden by OpenSSL\n" : "\n", hidden);
}

/* Returns early with the status of the first call that fails. */
#define TRY(expr)                                                                                  \
	do {                                                                                       \
		enum signet_status st_ = (expr);                                                   \
		if (st_ != SIGNET_OK) {                                                            \
			status = st_;                                                              \
			goto out;                                                                  \
		}                                                                                  \
	} while (0)

/* Feeds msg through the message splitter into h/ctx. */
static enum signet_status feed(const struct signet_message_handler *h, void *ctx,
			       const uint8_t *msg, size_t len, struct signet_error *err)
{
	enum signet_status status = SIGNET_OK;
	struct signet_message *m = NULL;
	TRY(signet_message_new(h, ctx, &m, err));
	/* Two chunks: a field cut in the middle is kept across feeds. */
	TRY(signet_message_feed(m, msg, len / 3, err));
	TRY(signet_message_feed(m, msg + len / 3, len - len / 3, err));
	TRY(signet_message_finish(m, err));
out:
	signet_message_free(m);
	return status;
}

/* signet_signer_new, _add (default and custom h=, both algorithms), every
 * header, end of headers, body, finish (signer.h). */
static enum signet_status sign_message(struct signet_error *err)
{
	static const struct signet_message_handler h = {tu_sign_header, tu_sign_eoh, tu_sign_body};
	const struct signet_sign_params ed = {.domain = "football.example.com",
					      .selector = "brisbane",
					      .key = fx.ed,
					      .hdr_canon = SIGNET_CANON_RELAXED,
					      .body_canon = SIGNET_CANON_RELAXED,
					      .timestamp = 1528637909};
	const struct signet_sign_params rsa = {.domain = "football.example.com",
					       .selector = "test",
					       .key = fx.rsa,
					       .hdr_canon = SIGNET_CANON_SIMPLE,
					       .body_canon = SIGNET_CANON_SIMPLE,
					       .headers = "from:to:subject:date",
					       .oversign = true,
					       .timestamp = 1528637909,
					       .expire = 1528637909 + 86400,
					       .auid = "joe@football.example.com"};
	enum signet_status status = SIGNET_OK;
	struct signet_signer *s = NULL;
	TRY(signet_signer_new(&s, err));
	TRY(signet_signer_add(s, &ed, err));
	TRY(signet_signer_add(s, &rsa, err));
	TRY(feed(&h, s, (const uint8_t *)unsigned_msg, sizeof unsigned_msg - 1, err));
	TRY(signet_signer_finish(s, err));
	if (signet_signer_count(s) != 2 || strstr(signet_signer_signature(s, 1), "h=") == NULL)
		status = SCENARIO_WRONG;
out:
	signet_signer_free(s);
	return status;
}

/* A custom h= of exactly 64 bytes, the capped buffer's first size: making
 * it a C string (signer.c, end of headers) is one more allocation. */
static enum signet_status sign_hlist_64(struct signet_error *err)
{
	static const struct signet_message_handler h = {tu_sign_header, tu_sign_eoh, tu_sign_body};
	static const char h64[] =
		"from:to:subject:date:message-id:x-aaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
	_Static_assert(sizeof h64 - 1 == 64, "h= of 64 bytes");
	const struct signet_sign_params ed = {.domain = "football.example.com",
					      .selector = "brisbane",
					      .key = fx.ed,
					      .hdr_canon = SIGNET_CANON_RELAXED,
					      .body_canon = SIGNET_CANON_RELAXED,
					      .headers = h64,
					      .timestamp = 1528637909};
	enum signet_status status = SIGNET_OK;
	struct signet_signer *s = NULL;
	TRY(signet_signer_new(&s, err));
	TRY(signet_signer_add(s, &ed, err));
	TRY(feed(&h, s, (const uint8_t *)unsigned_msg, sizeof unsigned_msg - 1, err));
	TRY(signet_signer_finish(s, err));
	if (signet_signer_count(s) != 1 || strstr(signet_signer_signature(s, 0), "x-aaaa") == NULL)
		status = SCENARIO_WRONG;
out:
	signet_signer_free(s);
	return status;
}

static const struct signet_txt *key_for(const char *name)
{
	for (size_t k = 0; k < fx.nkeys; k++)
		if (strcasecmp(fx.keys[k].name, name) == 0)
			return &fx.keys[k].txt;
	return NULL;
}

/* Answers every query: with records, or with key sets parsed here. */
static enum signet_status answer(struct signet_verifier *v, bool keysets, struct signet_error *err)
{
	enum signet_status status = SIGNET_OK;
	struct signet_query q;
	while (signet_verifier_next_query(v, &q)) {
		const struct signet_txt *txt = key_for(q.name);
		if (!keysets) {
			TRY(signet_verifier_answer(v, q.id,
						   txt ? SIGNET_DNS_OK : SIGNET_DNS_NXDOMAIN, txt,
						   txt ? 1 : 0, err));
			continue;
		}
		struct signet_keyset *ks = NULL;
		TRY(signet_keyset_parse(txt, txt ? 1 : 0, &ks, err));
		status = signet_verifier_answer_key(v, q.id, ks, err);
		signet_keyset_unref(ks); /* the verifier keeps its own reference */
		if (status != SIGNET_OK)
			goto out;
	}
out:
	return status;
}

/* A whole verification; *results gets "pass,fail,..." ("" on error). */
static enum signet_status verify(const uint8_t *msg, size_t len, bool explain, bool keysets,
				 char *results, size_t cap, struct signet_error *err)
{
	static const struct signet_message_handler h = {tu_ver_header, tu_ver_eoh, tu_ver_body};
	const struct signet_verify_options opts = {.explain = explain, .psl = fx.psl};
	enum signet_status status = SIGNET_OK;
	struct signet_verifier *v = NULL;
	results[0] = '\0';
	TRY(signet_verifier_new(&opts, &v, err));
	TRY(feed(&h, v, msg, len, err));
	TRY(answer(v, keysets, err));
	TRY(signet_verifier_finish(v, err));
	tu_results(v, results, cap);
	for (size_t k = 0; k < signet_verifier_count(v); k++) /* the first reason, for a message */
		if (signet_verifier_result(v, k)->reason[0] != '\0') {
			snprintf(err->msg, sizeof err->msg, "%s",
				 signet_verifier_result(v, k)->reason);
			break;
		}
out:
	signet_verifier_free(v);
	return status;
}

static enum signet_status verify_expect(const uint8_t *msg, size_t len, bool explain, bool keysets,
					const char *want, struct signet_error *err)
{
	char got[64];
	enum signet_status st = verify(msg, len, explain, keysets, got, sizeof got, err);
	if (st == SIGNET_OK && strcmp(got, want) != 0) {
		char why[sizeof err->msg];
		snprintf(why, sizeof why, "%s", err->msg);
		snprintf(err->msg, sizeof err->msg, "results %s, want %s (%.120s)", got, want, why);
		return SCENARIO_WRONG;
	}
	return st;
}

/* signet_verifier_new, _header, _end_of_headers, _answer, _body, _finish. */
static enum signet_status verify_signed(struct signet_error *err)
{
	return verify_expect(fx.signed_msg, fx.signed_len, false, false, "pass,pass", err);
}

/* The same with explain on: the steps and hash input are kept. */
static enum signet_status verify_signed_explain(struct signet_error *err)
{
	return verify_expect(fx.signed_msg, fx.signed_len, true, false, "pass,pass", err);
}

/* A changed body with explain on: the body search (explain.c) runs. */
static enum signet_status verify_tampered_explain(struct signet_error *err)
{
	return verify_expect(fx.tampered_msg, fx.tampered_len, true, false, "fail,fail", err);
}

/* signet_keyset_parse and signet_verifier_answer_key. */
static enum signet_status verify_keysets(struct signet_error *err)
{
	return verify_expect(fx.signed_msg, fx.signed_len, false, true, "pass,pass", err);
}

/* signet_key_parse (both types) and what a key writes (key.h). */
static enum signet_status key_parse_write(struct signet_error *err)
{
	enum signet_status status = SIGNET_OK;
	struct signet_key *rsa = NULL, *ed = NULL;
	char out[4096];
	size_t len;
	TRY(signet_key_parse(fx.rsa_pem, fx.rsa_pem_len, &rsa, err));
	TRY(signet_key_parse(fx.ed_pem, fx.ed_pem_len, &ed, err));
	TRY(signet_key_write_pem(rsa, out, sizeof out, &len, err));
	TRY(signet_key_dns_record(rsa, out, sizeof out, &len, err));
	TRY(signet_key_public_base64(ed, out, sizeof out, &len, err));
out:
	signet_key_free(rsa);
	signet_key_free(ed);
	return status;
}

/* The same for an Ed25519 key only: with OpenSSL's allocations failed, an
 * RSA PEM takes some 8,000 allocations (OpenSSL's decoders), 25 s a run. */
static enum signet_status key_parse_write_ed25519(struct signet_error *err)
{
	enum signet_status status = SIGNET_OK;
	struct signet_key *ed = NULL;
	char out[4096];
	size_t len;
	TRY(signet_key_parse(fx.ed_pem, fx.ed_pem_len, &ed, err));
	TRY(signet_key_write_pem(ed, out, sizeof out, &len, err));
	TRY(signet_key_dns_record(ed, out, sizeof out, &len, err));
	TRY(signet_key_public_base64(ed, out, sizeof out, &len, err));
out:
	signet_key_free(ed);
	return status;
}

/* signet_key_generate (ed25519: RSA generation is slow and allocates the same way). */
static enum signet_status key_generate(struct signet_error *err)
{
	enum signet_status status = SIGNET_OK;
	struct signet_key *k = NULL;
	TRY(signet_key_generate(SIGNET_KEY_ED25519, 0, &k, err));
out:
	signet_key_free(k);
	return status;
}

/* signet_keyrec_parse and signet_keyrec_matches (keyrec.h). */
static enum signet_status keyrec(struct signet_error *err)
{
	enum signet_status status = SIGNET_OK;
	struct signet_keyrec_info info;
	bool match = false;
	const struct signet_txt *rec = key_for("test._domainkey.football.example.com");
	TRY(signet_keyrec_parse(rec->p, rec->len, &info, err));
	TRY(signet_keyrec_matches(rec->p, rec->len, fx.rsa, &match, err));
	if (!match)
		status = SCENARIO_WRONG;
out:
	return status;
}

/* signet_keyrec_check (keyrec.h): the record judged against the key. */
static enum signet_status keyrec_check(struct signet_error *err)
{
	struct signet_keyrec_report r;
	const struct signet_txt *rec = key_for("test._domainkey.football.example.com");
	enum signet_status st = signet_keyrec_check(rec->p, rec->len, fx.rsa, &r, err);
	if (st == SIGNET_OK && signet_keyrec_worst(&r) == SIGNET_KEYREC_PROBLEM)
		st = SCENARIO_WRONG; /* the RFC 8463 key is 1024 bits: a warning, not a problem */
	return st;
}

/* signet_rfc5322_from_domains (rfc5322.h): a group, a display name, a
 * comment and a plain address. */
static enum signet_status from_domains(struct signet_error *err)
{
	static const char from[] = " Team: a@x.example, \"B\" <b@y.example>;, c@z.example (c)";
	struct signet_rfc5322_domain d[4];
	size_t n = 0;
	enum signet_status st =
		signet_rfc5322_from_domains((const uint8_t *)from, sizeof from - 1, d, 4, &n, err);
	if (st == SIGNET_OK && n != 3)
		st = SCENARIO_WRONG;
	return st;
}

/* One DNS answer of the SPF scenario below. */
struct spf_rr {
	const char *name;
	enum signet_rrtype type;
	const char *data; /* text, or 4 address bytes for A */
	size_t len;
};

/* The SPF evaluator (spf.h) through include, mx, a, exists (a void
 * lookup), a macro and exp=: 192.0.2.10 matches nothing, so the result is
 * fail with the explanation expanded. Names not listed are NXDOMAIN. */
static const struct spf_rr spf_zone[] = {
	{"example.com", SIGNET_RR_TXT,
	 "v=spf1 include:_spf.example.com mx a:mail.example.com ip4:198.51.100.0/24 "
	 "exists:%{i}.x.example.com -all exp=explain.example.com",
	 0},
	{"_spf.example.com", SIGNET_RR_TXT, "v=spf1 ip4:203.0.113.0/24 ~all", 0},
	{"example.com", SIGNET_RR_MX, "mx1.example.com", 0},
	{"mx1.example.com", SIGNET_RR_A, "\xcb\x00\x71\x05", 4},
	{"mail.example.com", SIGNET_RR_A, "\xcb\x00\x71\x06", 4},
	{"explain.example.com", SIGNET_RR_TXT, "%{s} may not send from %{i}", 0},
};

static enum signet_status spf_answer(struct signet_spf *s, const struct signet_spf_query *q,
				     struct signet_error *err)
{
	struct signet_rr rr[2];
	size_t n = 0;
	for (size_t k = 0; k < sizeof spf_zone / sizeof spf_zone[0] && n < 2; k++) {
		const struct spf_rr *z = &spf_zone[k];
		if (z->type != q->type || strcasecmp(z->name, q->name) != 0)
			continue;
		rr[n].p = (const uint8_t *)z->data;
		rr[n].len = z->len ? z->len : strlen(z->data);
		rr[n].pref = 10;
		n++;
	}
	return signet_spf_answer(s, q->id, n ? SIGNET_DNS_OK : SIGNET_DNS_NXDOMAIN, n ? rr : NULL,
				 n, err);
}

static enum signet_status spf(struct signet_error *err)
{
	const struct signet_spf_request req = {.ip = {192, 0, 2, 10},
					       .mail_from = "joe@example.com",
					       .helo = "mx.example.com",
					       .receiver = "mx.example.net",
					       .trace = true,
					       .default_explanation = "see %{d}"};
	enum signet_status status = SIGNET_OK;
	struct signet_spf *s = NULL;
	struct signet_spf_query q;
	TRY(signet_spf_new(&req, &s, err));
	while (!signet_spf_done(s)) {
		bool asked = false;
		while (signet_spf_next_query(s, &q)) {
			asked = true;
			TRY(spf_answer(s, &q, err));
		}
		if (!asked) { /* not done, nothing asked: the evaluator is stuck */
			status = SCENARIO_WRONG;
			goto out;
		}
	}
	/* spf.c's choices for out of memory after the start: the result
	 * temperror "out of memory"; a lost exp= text gives the default
	 * explanation; a lost trace line is dropped. */
	const struct signet_spf_outcome *o = signet_spf_outcome(s);
	bool fail = o != NULL && o->result == SIGNET_SPF_FAIL && o->explanation != NULL &&
		    (strstr(o->explanation, "192.0.2.10") != NULL ||
		     strcmp(o->explanation, "see example.com") == 0);
	bool nomem = o != NULL && o->result == SIGNET_SPF_TEMPERROR &&
		     strcmp(o->reason, "out of memory") == 0;
	if (!fail && !nomem) {
		snprintf(err->msg, sizeof err->msg, "result %s: %s",
			 o ? signet_spf_result_name(o->result) : "none", o ? o->reason : "");
		status = SCENARIO_WRONG;
	}
out:
	signet_spf_free(s);
	return status;
}

/* signet_psl_new (psl.h) on the list libpsl loaded in setup (not owned, so
 * a failure leaves it to us). */
static enum signet_status psl(struct signet_error *err)
{
	struct signet_psl *p = NULL;
	enum signet_status st = signet_psl_new(psl_ctx, false, &p, err);
	if (st == SIGNET_OK && !signet_psl_is_suffix(p, "co.uk", 5))
		st = SCENARIO_WRONG;
	signet_psl_free(p);
	return st;
}

/* signet_ar_format (ar.h), on the results of a verification made unarmed. */
static const struct signet_sig_result *ar_results[2];
static enum signet_status ar(struct signet_error *err)
{
	char out[2048];
	size_t len;
	return signet_ar_format("mx.example.net", ar_results, 2, out, sizeof out, &len, err);
}

#define FAULT_TEST_LIBSIGNET(fn)                                                                   \
	static void ALLOC_FAULT_##fn(void **state)                                                 \
	{                                                                                          \
		(void)state;                                                                       \
		under_faults(#fn, fn, FAULT_LIBSIGNET);                                            \
	}
#define FAULT_TEST(fn)                                                                             \
	FAULT_TEST_LIBSIGNET(fn)                                                                   \
	static void ALLOC_FAULT_OPENSSL_##fn(void **state)                                         \
	{                                                                                          \
		(void)state;                                                                       \
		under_faults(#fn, fn, FAULT_OPENSSL);                                              \
	}

/* ARC (arc.h): the message sealed (no chain: i=1), then the sealed
 * message validated (one query, answered) and sealed again (cv=pass). The
 * sealed text goes into a static buffer: no test allocation while armed. */
static enum signet_status arc_h(void *ctx, const uint8_t *n, size_t nl, const uint8_t *v, size_t vl,
				struct signet_error *e)
{
	return signet_arc_header(ctx, n, nl, v, vl, e);
}
static enum signet_status arc_eoh(void *ctx, struct signet_error *e)
{
	return signet_arc_end_of_headers(ctx, e);
}
static enum signet_status arc_b(void *ctx, const uint8_t *p, size_t l, struct signet_error *e)
{
	return signet_arc_body(ctx, p, l, e);
}

static enum signet_status arc_pass(const uint8_t *msg, size_t len, struct signet_arc_seal *out,
				   struct signet_arc **a, struct signet_error *err)
{
	static const struct signet_message_handler h = {arc_h, arc_eoh, arc_b};
	const struct signet_arc_seal_params p = {
		.domain = "football.example.com",
		.selector = "brisbane",
		.key = fx.ed,
		.authres = "relay.example; dkim=pass header.d=football.example.com",
		.timestamp = 1528637909};
	enum signet_status status = SIGNET_OK;
	TRY(signet_arc_new(NULL, a, err));
	TRY(feed(&h, *a, msg, len, err));
	struct signet_query q;
	while (signet_arc_next_query(*a, &q)) {
		const struct signet_txt *txt = key_for(q.name);
		TRY(signet_arc_answer(*a, q.id, txt ? SIGNET_DNS_OK : SIGNET_DNS_NXDOMAIN, txt,
				      txt ? 1 : 0, err));
	}
	TRY(signet_arc_finish(*a, err));
	TRY(signet_arc_seal(*a, &p, out, err));
out:
	return status;
}

static enum signet_status arc_seal_twice(struct signet_error *err)
{
	static char sealed[8192];
	struct signet_arc *a = NULL, *b = NULL;
	struct signet_arc_seal s1, s2;
	enum signet_status status = SIGNET_OK;
	TRY(arc_pass((const uint8_t *)unsigned_msg, sizeof unsigned_msg - 1, &s1, &a, err));
	int n = snprintf(
		sealed, sizeof sealed,
		"ARC-Seal:%s\r\nARC-Message-Signature:%s\r\nARC-Authentication-Results:%s\r\n%s",
		s1.as, s1.ams, s1.aar, unsigned_msg);
	if (n < 0 || (size_t)n >= sizeof sealed)
		fail_msg("arc: sealed message does not fit");
	TRY(arc_pass((const uint8_t *)sealed, (size_t)n, &s2, &b, err));
	if (signet_arc_result(b)->result != SIGNET_RESULT_PASS || strstr(s2.as, "cv=pass") == NULL)
		status = SCENARIO_WRONG;
out:
	signet_arc_free(a);
	signet_arc_free(b);
	return status;
}

static void ALLOC_FAULT_OPENSSL_key_parse_write_ed25519(void **state)
{
	(void)state;
	under_faults("key_parse_write_ed25519", key_parse_write_ed25519, FAULT_OPENSSL);
}

FAULT_TEST(sign_message)
FAULT_TEST_LIBSIGNET(sign_hlist_64)
FAULT_TEST(verify_signed)
FAULT_TEST(verify_signed_explain)
FAULT_TEST(verify_tampered_explain)
FAULT_TEST(verify_keysets)
FAULT_TEST_LIBSIGNET(key_parse_write)
FAULT_TEST(key_generate)
FAULT_TEST(keyrec)
FAULT_TEST(psl)
FAULT_TEST_LIBSIGNET(keyrec_check)
FAULT_TEST_LIBSIGNET(from_domains)
FAULT_TEST(arc_seal_twice)
static void ALLOC_FAULT_spf(void **state)
{
	(void)state;
	under_faults("spf", spf, FAULT_LIBSIGNET_ABSORBED);
}

/* ar_format allocates nothing today; it is run under the hook anyway so a
 * future allocation in it is covered (no "n > 1" requirement). */
static void ALLOC_FAULT_ar(void **state)
{
	(void)state;
	REQUIRE_TESTDATA();
	/* Both results pass: the same verification as verify_signed. */
	struct signet_verifier *v = NULL;
	static const struct signet_message_handler h = {tu_ver_header, tu_ver_eoh, tu_ver_body};
	struct signet_error err = {0};
	assert_int_equal(signet_verifier_new(NULL, &v, &err), SIGNET_OK);
	assert_int_equal(feed(&h, v, fx.signed_msg, fx.signed_len, &err), SIGNET_OK);
	assert_int_equal(answer(v, false, &err), SIGNET_OK);
	assert_int_equal(signet_verifier_finish(v, &err), SIGNET_OK);
	ar_results[0] = signet_verifier_result(v, 0);
	ar_results[1] = signet_verifier_result(v, 1);
	for (unsigned long n = 1;; n++) {
		alloc_hook_arm(n);
		enum signet_status st = ar(&err);
		bool fired = alloc_hook_disarm();
		if (!fired) {
			assert_int_equal(st, SIGNET_OK);
			break;
		}
		assert_int_equal(st, SIGNET_ERR_NOMEM);
	}
	signet_verifier_free(v);
}

/* The hook itself: without it, every test above could pass vacuously. */
static void ALLOC_FAULT_hook_fails_the_nth(void **state)
{
	(void)state;
	alloc_hook_arm(2);
	void *a = malloc(8), *b = calloc(1, 8), *c = realloc(NULL, 8);
	bool fired = alloc_hook_disarm();
	assert_non_null(a);
	assert_null(b);
	assert_non_null(c);
	assert_true(fired);
	assert_int_equal(alloc_hook_count(), 3);
	free(a);
	free(c);
	struct signet_signer *s = NULL;
	struct signet_error err = {0};
	alloc_hook_arm(1);
	assert_int_equal(signet_signer_new(&s, &err), SIGNET_ERR_NOMEM);
	assert_true(alloc_hook_disarm());
	assert_null(s);
}

int main(void)
{
	/* Before OpenSSL's first allocation, or it refuses. */
	if (!CRYPTO_set_mem_functions(alloc_hook_crypto_malloc, alloc_hook_crypto_realloc,
				      alloc_hook_crypto_free)) {
		fprintf(stderr, "CRYPTO_set_mem_functions refused\n");
		return 1;
	}
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(ALLOC_FAULT_hook_fails_the_nth),
		cmocka_unit_test(ALLOC_FAULT_sign_message),
		cmocka_unit_test(ALLOC_FAULT_sign_hlist_64),
		cmocka_unit_test(ALLOC_FAULT_verify_signed),
		cmocka_unit_test(ALLOC_FAULT_verify_signed_explain),
		cmocka_unit_test(ALLOC_FAULT_verify_tampered_explain),
		cmocka_unit_test(ALLOC_FAULT_verify_keysets),
		cmocka_unit_test(ALLOC_FAULT_key_parse_write),
		cmocka_unit_test(ALLOC_FAULT_key_generate),
		cmocka_unit_test(ALLOC_FAULT_keyrec),
		cmocka_unit_test(ALLOC_FAULT_psl),
		cmocka_unit_test(ALLOC_FAULT_keyrec_check),
		cmocka_unit_test(ALLOC_FAULT_from_domains),
		cmocka_unit_test(ALLOC_FAULT_spf),
		cmocka_unit_test(ALLOC_FAULT_ar),
		cmocka_unit_test(ALLOC_FAULT_arc_seal_twice),
		cmocka_unit_test(ALLOC_FAULT_OPENSSL_arc_seal_twice),
		cmocka_unit_test(ALLOC_FAULT_OPENSSL_sign_message),
		cmocka_unit_test(ALLOC_FAULT_OPENSSL_verify_signed),
		cmocka_unit_test(ALLOC_FAULT_OPENSSL_verify_signed_explain),
		cmocka_unit_test(ALLOC_FAULT_OPENSSL_verify_tampered_explain),
		cmocka_unit_test(ALLOC_FAULT_OPENSSL_verify_keysets),
		cmocka_unit_test(ALLOC_FAULT_OPENSSL_key_parse_write_ed25519),
		cmocka_unit_test(ALLOC_FAULT_OPENSSL_key_generate),
		cmocka_unit_test(ALLOC_FAULT_OPENSSL_keyrec),
		cmocka_unit_test(ALLOC_FAULT_OPENSSL_psl),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
