/* test_arc.c: lib/arc.c and lib/arc_sig.c (RFC 8617): the field parsers,
 * chain validation, sealing, the named limits and the state machine. Keys
 * are generated (ed25519; one RSA test); ValiMail's suite runs in
 * tests/integration/test_arc_suite.py. */
#include "testutil.h"
#include <signet/arc.h>
#include "arc_sig.h"

#define BASE_MSG                                                                                   \
	"From: Alice <alice@example.com>\r\n"                                                      \
	"To: bob@example.net\r\n"                                                                  \
	"Subject: hello\r\n"                                                                       \
	"Date: Mon, 7 Dec 2026 10:00:00 +0000\r\n"                                                 \
	"Message-ID: <1@example.com>\r\n"                                                          \
	"\r\n"                                                                                     \
	"Hello Bob.\r\n"

#define AUTHRES "relay.example.org; spf=pass smtp.mailfrom=example.com"

static struct signet_key *ed_key, *rsa_key;
static char ed_rec[256], rsa_rec[1024];

static int setup(void **state)
{
	(void)state;
	struct signet_error err = {0};
	size_t len;
	if (signet_key_generate(SIGNET_KEY_ED25519, 0, &ed_key, &err) != SIGNET_OK ||
	    signet_key_generate(SIGNET_KEY_RSA, 1024, &rsa_key, &err) != SIGNET_OK ||
	    signet_key_dns_record(ed_key, ed_rec, sizeof ed_rec, &len, &err) != SIGNET_OK ||
	    signet_key_dns_record(rsa_key, rsa_rec, sizeof rsa_rec, &len, &err) != SIGNET_OK)
		return -1;
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	signet_key_free(ed_key);
	signet_key_free(rsa_key);
	return 0;
}

static enum signet_status h_header(void *ctx, const uint8_t *n, size_t nl, const uint8_t *v,
				   size_t vl, struct signet_error *e)
{
	return signet_arc_header(ctx, n, nl, v, vl, e);
}

static enum signet_status h_eoh(void *ctx, struct signet_error *e)
{
	return signet_arc_end_of_headers(ctx, e);
}

static enum signet_status h_body(void *ctx, const uint8_t *p, size_t l, struct signet_error *e)
{
	return signet_arc_body(ctx, p, l, e);
}

enum answer { ANSWER_KEY, ANSWER_NONE, ANSWER_NXDOMAIN };

static struct signet_arc_options run_opts; /* now = 0 unless a test sets it */

/* Runs msg through a new object (chunk bytes at a time, 0 = at once),
 * answering every query with rec as ans says; finished. */
static struct signet_arc *run_chunked(const char *msg, const char *rec, enum answer ans,
				      size_t chunk)
{
	static const struct signet_message_handler h = {h_header, h_eoh, h_body};
	struct signet_arc *a = NULL;
	struct signet_error err = {0};
	assert_int_equal(signet_arc_new(&run_opts, &a, &err), SIGNET_OK);
	if (tu_feed(&h, a, (const uint8_t *)msg, strlen(msg), chunk, &err) != SIGNET_OK)
		fail_msg("feed: %s", err.msg);
	struct signet_query q;
	while (ans != ANSWER_NONE && signet_arc_next_query(a, &q)) {
		struct signet_txt t = {(const uint8_t *)rec, strlen(rec)};
		assert_int_equal(
			signet_arc_answer(a, q.id,
					  ans == ANSWER_KEY ? SIGNET_DNS_OK : SIGNET_DNS_NXDOMAIN,
					  &t, 1, &err),
			SIGNET_OK);
	}
	assert_int_equal(signet_arc_finish(a, &err), SIGNET_OK);
	return a;
}

static struct signet_arc *run(const char *msg, const char *rec)
{
	return run_chunked(msg, rec, ANSWER_KEY, 0);
}

static struct signet_arc_seal_params params(const struct signet_key *key, const char *authres)
{
	return (struct signet_arc_seal_params){.domain = "example.org",
					       .selector = "sel",
					       .key = key,
					       .authres = authres,
					       .timestamp = 12345};
}

/* The three new fields above msg (malloc'd). */
static char *prepend(const struct signet_arc_seal *s, const char *msg)
{
	size_t n = strlen(s->aar) + strlen(s->ams) + strlen(s->as) + strlen(msg) + 128;
	char *out = malloc(n);
	assert_non_null(out);
	snprintf(out, n,
		 "ARC-Seal:%s\r\nARC-Message-Signature:%s\r\nARC-Authentication-Results:%s\r\n%s",
		 s->as, s->ams, s->aar, msg);
	return out;
}

/* s with each fold (CRLF WSP) turned back into one space. */
static void unfold(char *s)
{
	char *w = s;
	for (const char *r = s; *r != '\0'; r++) {
		if (r[0] == '\r' && r[1] == '\n' && (r[2] == ' ' || r[2] == '\t')) {
			*w++ = ' ';
			r += 2;
			continue;
		}
		*w++ = *r;
	}
	*w = '\0';
}

/* Validates msg and seals it with key/rec (upstream: the caller's earlier
 * result); returns the sealed message; as_out gets the AS unfolded. */
static char *seal_up(const char *msg, const struct signet_key *key, const char *rec,
		     enum signet_result upstream, char *as_out, size_t as_cap)
{
	struct signet_arc *a = run(msg, rec);
	struct signet_arc_seal_params p = params(key, AUTHRES);
	p.upstream = upstream;
	struct signet_arc_seal s;
	struct signet_error err = {0};
	if (signet_arc_seal(a, &p, &s, &err) != SIGNET_OK)
		fail_msg("seal: %s", err.msg);
	assert_non_null(s.aar);
	/* instance and cv say what the AS says */
	char want[32];
	snprintf(want, sizeof want, "i=%u;", s.instance);
	assert_non_null(strstr(s.aar, want));
	snprintf(want, sizeof want, "cv=%s;", signet_result_name(s.cv));
	assert_non_null(strstr(s.as, want));
	/* dkimpy (arc_verify) finds the AMS and AS of instance N by " i=N;" in
	 * the raw field: a fold before i= must be CRLF SP, not CRLF TAB. */
	snprintf(want, sizeof want, " i=%u;", s.instance);
	assert_non_null(strstr(s.ams, want));
	assert_non_null(strstr(s.as, want));
	if (as_out != NULL) {
		snprintf(as_out, as_cap, "%s", s.as);
		unfold(as_out);
	}
	char *out = prepend(&s, msg);
	signet_arc_free(a);
	return out;
}

static char *seal_msg(const char *msg, const struct signet_key *key, const char *rec, char *as_out,
		      size_t as_cap)
{
	return seal_up(msg, key, rec, SIGNET_RESULT_NONE, as_out, as_cap);
}

static char *replace(const char *msg, const char *from, const char *to)
{
	const char *at = strstr(msg, from);
	assert_non_null(at);
	size_t n = strlen(msg) - strlen(from) + strlen(to) + 1;
	char *out = malloc(n);
	assert_non_null(out);
	snprintf(out, n, "%.*s%s%s", (int)(at - msg), msg, to, at + strlen(from));
	return out;
}

static void expect(const char *msg, enum signet_result res, const char *reason)
{
	struct signet_arc *a = run(msg, ed_rec);
	const struct signet_arc_result *r = signet_arc_result(a);
	assert_non_null(r);
	assert_int_equal(r->result, res);
	if (reason != NULL)
		assert_string_equal(r->reason, reason);
	signet_arc_free(a);
}

/* ARC-SET-02 (RFC 8617 4.2.1): "i=" values run 1..50. */
static void ARC_SET_02_instance_limit(void **state)
{
	(void)state;
	struct signet_error err = {0};
	unsigned i = 0;
	assert_int_equal(arc_instance(ARC_AAR, (const uint8_t *)"i=49; x", 7, &i, &err), SIGNET_OK);
	assert_int_equal(i, 49);
	assert_int_equal(arc_instance(ARC_AAR, (const uint8_t *)"i=50; x", 7, &i, &err), SIGNET_OK);
	assert_int_equal(i, SIGNET_ARC_MAX_INSTANCES);
	assert_int_equal(arc_instance(ARC_AAR, (const uint8_t *)"i=51; x", 7, &i, &err),
			 SIGNET_ERR_SYNTAX);
	assert_string_equal(err.msg, "ARC-Authentication-Results i=51 is outside "
				     "1..SIGNET_ARC_MAX_INSTANCES (50)");
	assert_string_equal(err.spec, "RFC 8617 4.2.1");
	assert_int_equal(arc_instance(ARC_AS, (const uint8_t *)"i=0; a=x", 8, &i, &err),
			 SIGNET_ERR_SYNTAX);
	assert_int_equal(arc_instance(ARC_AMS, (const uint8_t *)"i=1x", 4, &i, &err),
			 SIGNET_ERR_SYNTAX);
	assert_string_equal(err.msg, "ARC-Message-Signature i= is not a number");
	assert_int_equal(arc_instance(ARC_AMS, (const uint8_t *)"a=1", 3, &i, &err),
			 SIGNET_ERR_SYNTAX);
	assert_string_equal(err.msg, "ARC-Message-Signature has no i=");
	/* A long run of digits is refused before it can overflow. */
	assert_int_equal(
		arc_instance(ARC_AS, (const uint8_t *)"i=99999999999999999999999", 25, &i, &err),
		SIGNET_ERR_SYNTAX);
}

/* ARC-AAR-01 (RFC 8617 4.1.1): "i" [FWS] "=" [FWS] instance [FWS] ";". */
static void ARC_AAR_01_instance_prefix(void **state)
{
	(void)state;
	struct signet_error err = {0};
	unsigned i = 0;
	static const uint8_t spaced[] = " i = 2 ; relay.example; spf=pass";
	assert_int_equal(arc_instance(ARC_AAR, spaced, sizeof spaced - 1, &i, &err), SIGNET_OK);
	assert_int_equal(i, 2);
	assert_int_equal(arc_instance(ARC_AAR, (const uint8_t *)"i=1 relay", 9, &i, &err),
			 SIGNET_ERR_SYNTAX);
	assert_string_equal(err.msg, "ARC-Authentication-Results i= is not followed by ';'");
	assert_int_equal(arc_instance(ARC_AAR, (const uint8_t *)"relay; i=1;", 11, &i, &err),
			 SIGNET_ERR_SYNTAX);
	assert_string_equal(err.msg, "ARC-Authentication-Results does not start with i=");
	/* Truncated, and a NUL in the middle. */
	assert_int_equal(arc_instance(ARC_AAR, (const uint8_t *)"i=", 2, &i, &err),
			 SIGNET_ERR_SYNTAX);
	assert_int_equal(arc_instance(ARC_AAR,
				      (const uint8_t *)"i=\0"
						       "1;",
				      5, &i, &err),
			 SIGNET_ERR_SYNTAX);
	assert_int_equal(arc_instance(ARC_AAR, (const uint8_t *)"", 0, &i, &err),
			 SIGNET_ERR_SYNTAX);
}

#define AMS_TAGS "i=1; a=rsa-sha256; d=example.org; s=sel; bh=AAAA; b=AAAA; "

/* ARC-AMS-01 (RFC 8617 4.1.2): h= must not name ARC-Seal; an empty name
 * selects nothing (the suite's ams_fields_h_mis_hdr). */
static void ARC_AMS_01_h_rules(void **state)
{
	(void)state;
	struct arc_sig *s = malloc(sizeof *s);
	struct signet_error err = {0};
	static const char ok[] = AMS_TAGS "h=from::to";
	assert_int_equal(arc_sig_parse(ARC_AMS, (const uint8_t *)ok, sizeof ok - 1, s, &err),
			 SIGNET_OK);
	assert_int_equal(s->nh, 2);
	assert_int_equal(s->hdr_canon,
			 SIGNET_CANON_RELAXED); /* no c=: the suite's ams_fields_c_na */
	static const char as_in_h[] = AMS_TAGS "h=from:ARC-Seal";
	assert_int_equal(
		arc_sig_parse(ARC_AMS, (const uint8_t *)as_in_h, sizeof as_in_h - 1, s, &err),
		SIGNET_ERR_SYNTAX);
	assert_string_equal(err.msg, "ARC-Message-Signature h= includes ARC-Seal");
	static const char no_h[] = AMS_TAGS;
	assert_int_equal(arc_sig_parse(ARC_AMS, (const uint8_t *)no_h, sizeof no_h - 1, s, &err),
			 SIGNET_ERR_SYNTAX);
	assert_string_equal(err.msg, "ARC-Message-Signature is missing required tag h=");
	static const char sha1[] = "i=1; a=rsa-sha1; d=example.org; s=sel; bh=AAAA; b=AAAA; h=from";
	assert_int_equal(arc_sig_parse(ARC_AMS, (const uint8_t *)sha1, sizeof sha1 - 1, s, &err),
			 SIGNET_ERR_SYNTAX);
	assert_string_equal(err.spec, "RFC 8301 3.1");
	static const char nul[] = AMS_TAGS "h=fr\0om";
	assert_int_equal(arc_sig_parse(ARC_AMS, (const uint8_t *)nul, sizeof nul - 1, s, &err),
			 SIGNET_ERR_SYNTAX);
	free(s);
}

#define AS_TAGS "i=1; a=ed25519-sha256; d=example.org; s=sel; b=AAAA; "

/* ARC-AS-01, ARC-CV-01 (RFC 8617 4.1.3): no h=; cv= none/pass/fail as written. */
static void ARC_AS_01_no_h_and_cv(void **state)
{
	(void)state;
	struct arc_sig *s = malloc(sizeof *s);
	struct signet_error err = {0};
	static const char ok[] = AS_TAGS "cv=none";
	assert_int_equal(arc_sig_parse(ARC_AS, (const uint8_t *)ok, sizeof ok - 1, s, &err),
			 SIGNET_OK);
	assert_int_equal(s->cv, ARC_CV_NONE);
	assert_int_equal(s->alg, SIGNET_ALG_ED25519_SHA256);
	static const char h[] = AS_TAGS "cv=none; h=from";
	assert_int_equal(arc_sig_parse(ARC_AS, (const uint8_t *)h, sizeof h - 1, s, &err),
			 SIGNET_ERR_SYNTAX);
	assert_string_equal(err.msg, "ARC-Seal has an h= tag");
	static const char upper[] = AS_TAGS "cv=Pass";
	assert_int_equal(arc_sig_parse(ARC_AS, (const uint8_t *)upper, sizeof upper - 1, s, &err),
			 SIGNET_ERR_SYNTAX);
	assert_string_equal(err.msg, "ARC-Seal has an invalid cv=");
	static const char none[] = AS_TAGS;
	assert_int_equal(arc_sig_parse(ARC_AS, (const uint8_t *)none, sizeof none - 1, s, &err),
			 SIGNET_ERR_SYNTAX);
	assert_string_equal(err.msg, "ARC-Seal is missing required tag cv=");
	free(s);
}

/* ARC-VAL-01 (RFC 8617 5.2 step 1): no ARC set, cv none; no key asked. */
static void ARC_VAL_01_no_chain_is_none(void **state)
{
	(void)state;
	struct signet_arc *a = run_chunked(BASE_MSG, ed_rec, ANSWER_NONE, 0);
	const struct signet_arc_result *r = signet_arc_result(a);
	assert_int_equal(r->result, SIGNET_RESULT_NONE);
	assert_int_equal(r->instances, 0);
	struct signet_query q;
	assert_false(signet_arc_next_query(a, &q));
	signet_arc_free(a);
}

/* ARC-SEAL-01, ARC-CV-01: i=1 says cv=none, i=2 cv=pass; both validate. */
static void ARC_SEAL_01_seal_and_validate(void **state)
{
	(void)state;
	char as[1024];
	char *m1 = seal_msg(BASE_MSG, ed_key, ed_rec, as, sizeof as);
	assert_non_null(strstr(as, " a=ed25519-sha256; b="));
	assert_non_null(strstr(as, "; cv=none; d=example.org; i=1; s=sel; t=12345"));
	assert_non_null(strstr(m1, "ARC-Authentication-Results: i=1; " AUTHRES "\r\n"));
	char *flat = strdup(m1);
	unfold(flat);
	assert_non_null(strstr(flat, "c=relaxed/relaxed; d=example.org;"));
	free(flat);
	/* Whole, byte by byte: the same result (the body streams). */
	for (size_t chunk = 0; chunk <= 1; chunk++) {
		struct signet_arc *a = run_chunked(m1, ed_rec, ANSWER_KEY, chunk);
		const struct signet_arc_result *r = signet_arc_result(a);
		assert_int_equal(r->result, SIGNET_RESULT_PASS);
		assert_string_equal(r->reason, "");
		assert_int_equal(r->instances, 1);
		assert_int_equal(r->oldest_pass, 0);
		signet_arc_free(a);
	}
	char *m2 = seal_msg(m1, ed_key, ed_rec, as, sizeof as);
	assert_non_null(strstr(as, "; cv=pass; d=example.org; i=2;"));
	struct signet_arc *a = run(m2, ed_rec);
	assert_int_equal(signet_arc_result(a)->result, SIGNET_RESULT_PASS);
	assert_int_equal(signet_arc_result(a)->instances, 2);
	signet_arc_free(a);
	free(m1);
	free(m2);
}

/* ARC-SEAL-01 with rsa-sha256. */
static void ARC_SEAL_01_rsa_sha256(void **state)
{
	(void)state;
	char as[1024];
	char *m1 = seal_msg(BASE_MSG, rsa_key, rsa_rec, as, sizeof as);
	assert_non_null(strstr(as, " a=rsa-sha256; b="));
	struct signet_arc *a = run(m1, rsa_rec);
	assert_int_equal(signet_arc_result(a)->result, SIGNET_RESULT_PASS);
	signet_arc_free(a);
	/* The same chain against the ed25519 record: the key type does not match. */
	a = run(m1, ed_rec);
	assert_int_equal(signet_arc_result(a)->result, SIGNET_RESULT_FAIL);
	assert_string_equal(signet_arc_result(a)->reason,
			    "ARC-Message-Signature i=1: key type does not match a=");
	signet_arc_free(a);
	free(m1);
}

/* ARC-VAL-01 (5.2 step 4): the newest AMS covers the body. */
static void ARC_VAL_01_body_change_fails(void **state)
{
	(void)state;
	char *m1 = seal_msg(BASE_MSG, ed_key, ed_rec, NULL, 0);
	char *bad = replace(m1, "Hello Bob.", "Hello Eve.");
	expect(bad, SIGNET_RESULT_FAIL, "ARC-Message-Signature i=1: body hash did not verify");
	free(bad);
	free(m1);
}

/* RFC 6376 3.5 x= (ARC-AMS-01: DKIM-Signature syntax): with a clock, an
 * expired newest AMS fails before any key is used; without one, x= is
 * not checked (here the signature then fails: x= was added after signing). */
static void ARC_AMS_01_expired(void **state)
{
	(void)state;
	char *m1 = seal_msg(BASE_MSG, ed_key, ed_rec, NULL, 0);
	char *x = replace(m1, "ARC-Message-Signature: a=", "ARC-Message-Signature: x=100; a=");
	run_opts.now = 101;
	expect(x, SIGNET_RESULT_FAIL, "ARC-Message-Signature expired (x=)");
	run_opts.now = 100;
	expect(x, SIGNET_RESULT_FAIL, "ARC-Message-Signature i=1: signature did not verify");
	run_opts.now = 0;
	expect(x, SIGNET_RESULT_FAIL, "ARC-Message-Signature i=1: signature did not verify");
	free(x);
	free(m1);
}

/* ARC-AS-02 (RFC 8617 5.1.1): the seal covers the AAR, which the AMS does not. */
static void ARC_AS_02_aar_change_fails(void **state)
{
	(void)state;
	char *m1 = seal_msg(BASE_MSG, ed_key, ed_rec, NULL, 0);
	char *bad = replace(m1, "spf=pass", "spf=fail");
	expect(bad, SIGNET_RESULT_FAIL, "ARC-Seal i=1: signature did not verify");
	free(bad);
	free(m1);
}

/* ARC-VAL-02 (5.2 step 5): a list that validated the chain, changed the
 * Subject and sealed (upstream pass) leaves it passing, oldest-pass 2. */
static void ARC_VAL_02_oldest_pass(void **state)
{
	(void)state;
	char *m1 = seal_msg(BASE_MSG, ed_key, ed_rec, NULL, 0);
	char *changed = replace(m1, "Subject: hello", "Subject: [list] hello");
	char *m2 = seal_up(changed, ed_key, ed_rec, SIGNET_RESULT_PASS, NULL, 0);
	struct signet_arc *a = run(m2, ed_rec);
	assert_int_equal(signet_arc_result(a)->result, SIGNET_RESULT_PASS);
	assert_int_equal(signet_arc_result(a)->oldest_pass, 2);
	signet_arc_free(a);
	char *m2b = seal_msg(m1, ed_key, ed_rec, NULL, 0);
	a = run(m2b, ed_rec);
	assert_int_equal(signet_arc_result(a)->result, SIGNET_RESULT_PASS);
	assert_int_equal(signet_arc_result(a)->oldest_pass, 0);
	signet_arc_free(a);
	free(m1);
	free(changed);
	free(m2);
	free(m2b);
}

/* ARC-VAL-03: the d= of each ARC-Seal, i=1..N, of a chain that passed
 * (who vouched for it: RFC 8617 7.2); nothing for a failed chain or an
 * instance out of range. */
static void ARC_VAL_03_sealer_domains(void **state)
{
	(void)state;
	char *m1 = seal_msg(BASE_MSG, ed_key, ed_rec, NULL, 0);
	struct signet_arc *a = run(m1, ed_rec);
	struct signet_arc_seal_params p = params(ed_key, AUTHRES);
	p.domain = "Lists.Example.NET";
	struct signet_arc_seal s;
	struct signet_error err = {0};
	assert_int_equal(signet_arc_seal(a, &p, &s, &err), SIGNET_OK);
	char *m2 = prepend(&s, m1);
	signet_arc_free(a);
	a = run(m2, ed_rec);
	assert_int_equal(signet_arc_result(a)->result, SIGNET_RESULT_PASS);
	const uint8_t *d;
	size_t len;
	assert_true(signet_arc_sealer(a, 1, &d, &len));
	assert_int_equal(len, strlen("example.org"));
	assert_memory_equal(d, "example.org", len);
	assert_true(signet_arc_sealer(a, 2, &d, &len));
	assert_int_equal(len, strlen("Lists.Example.NET"));
	assert_memory_equal(d, "Lists.Example.NET", len);
	assert_false(signet_arc_sealer(a, 0, &d, &len));
	assert_false(signet_arc_sealer(a, 3, &d, &len));
	assert_null(d);
	signet_arc_free(a);
	/* a broken chain vouches for nothing */
	char *broken = replace(m2, "Hello Bob.", "Hello Eve.");
	a = run(broken, ed_rec);
	assert_int_equal(signet_arc_result(a)->result, SIGNET_RESULT_FAIL);
	assert_false(signet_arc_sealer(a, 1, &d, &len));
	assert_null(d);
	assert_int_equal(len, 0);
	signet_arc_free(a);
	/* no chain, and before finish */
	a = run(BASE_MSG, ed_rec);
	assert_false(signet_arc_sealer(a, 1, &d, &len));
	signet_arc_free(a);
	assert_int_equal(signet_arc_new(&run_opts, &a, &err), SIGNET_OK);
	assert_false(signet_arc_sealer(a, 1, &d, &len));
	signet_arc_free(a);
	free(broken);
	free(m2);
	free(m1);
}

/* ARC-SEAL-01: the caller's earlier pass covers a change to the message
 * (the newest AMS), never a broken seal; its fail always wins. */
static void ARC_SEAL_01_upstream(void **state)
{
	(void)state;
	char as[1024];
	char *m1 = seal_msg(BASE_MSG, ed_key, ed_rec, NULL, 0);
	char *changed = replace(m1, "Subject: hello", "Subject: [list] hello");
	char *m = seal_up(changed, ed_key, ed_rec, SIGNET_RESULT_NONE, as, sizeof as);
	assert_non_null(strstr(as, "cv=fail"));
	free(m);
	m = seal_up(changed, ed_key, ed_rec, SIGNET_RESULT_PASS, as, sizeof as);
	assert_non_null(strstr(as, "cv=pass"));
	free(m);
	char *seal_broken = replace(changed, "spf=pass", "spf=fail");
	m = seal_up(seal_broken, ed_key, ed_rec, SIGNET_RESULT_PASS, as, sizeof as);
	assert_non_null(strstr(as, "cv=fail"));
	free(m);
	m = seal_up(m1, ed_key, ed_rec, SIGNET_RESULT_FAIL, as, sizeof as);
	assert_non_null(strstr(as, "cv=fail"));
	free(m);
	struct signet_arc *a = run(m1, ed_rec);
	struct signet_arc_seal_params p = params(ed_key, AUTHRES);
	struct signet_arc_seal s;
	struct signet_error err = {0};
	p.upstream = SIGNET_RESULT_TEMPERROR;
	assert_int_equal(signet_arc_seal(a, &p, &s, &err), SIGNET_ERR_INVAL);
	signet_arc_free(a);
	free(seal_broken);
	free(changed);
	free(m1);
}

/* ARC-SEAL-01 (RFC 8617 5.1.2): a chain that fails here is sealed with
 * cv=fail, never pass; after a cv=fail seal nothing more is added. */
static void ARC_SEAL_01_failed_chain(void **state)
{
	(void)state;
	char as[1024];
	char *m1 = seal_msg(BASE_MSG, ed_key, ed_rec, NULL, 0);
	char *broken = replace(m1, "Hello Bob.", "Hello Eve.");
	char *m2 = seal_msg(broken, ed_key, ed_rec, as, sizeof as);
	assert_non_null(strstr(as, "; cv=fail; d=example.org; i=2;"));
	expect(m2, SIGNET_RESULT_FAIL, "the newest ARC-Seal says cv=fail");
	struct signet_arc *a = run(m2, ed_rec);
	struct signet_arc_seal_params p = params(ed_key, AUTHRES);
	struct signet_arc_seal s;
	struct signet_error err = {0};
	assert_int_equal(signet_arc_seal(a, &p, &s, &err), SIGNET_OK);
	assert_null(s.aar);
	assert_null(s.ams);
	assert_null(s.as);
	signet_arc_free(a);
	free(m1);
	free(broken);
	free(m2);
}

/* ARC-SET-02 (4.2.1, 5.2 step 3): one of each per instance, no gaps. */
static void ARC_SET_02_structure(void **state)
{
	(void)state;
	char *m1 = seal_msg(BASE_MSG, ed_key, ed_rec, NULL, 0);
	char *m2 = seal_msg(m1, ed_key, ed_rec, NULL, 0);
	char *dup = replace(m1, "ARC-Seal:", "ARC-Message-Signature: i=1; a=x\r\nARC-Seal:");
	expect(dup, SIGNET_RESULT_FAIL, "two ARC-Message-Signature fields with i=1");
	char *no_aar = replace(m1, "ARC-Authentication-Results: i=1;", "X-Old: i=1;");
	expect(no_aar, SIGNET_RESULT_FAIL, "ARC set 1 has no ARC-Authentication-Results");
	char *gap =
		replace(m2, "ARC-Authentication-Results: i=1;", "ARC-Authentication-Results: i=3;");
	expect(gap, SIGNET_RESULT_FAIL, "ARC set 1 has no ARC-Authentication-Results");
	char *cv = replace(m2, "cv=pass", "cv=none");
	expect(cv, SIGNET_RESULT_FAIL, "ARC-Seal i=2 has cv=none, not pass");
	free(m1);
	free(m2);
	free(dup);
	free(no_aar);
	free(gap);
	free(cv);
}

/* ARC-SET-02: 49 and 50 sets validate and 50 can be made; a 51st is
 * SIGNET_ERR_LIMIT; an i=51 field fails the chain. */
static void ARC_SET_02_fifty_sets(void **state)
{
	(void)state;
	char *m = strdup(BASE_MSG);
	for (unsigned n = 1; n <= SIGNET_ARC_MAX_INSTANCES; n++) {
		char *next = seal_msg(m, ed_key, ed_rec, NULL, 0);
		free(m);
		m = next;
	}
	struct signet_arc *a = run(m, ed_rec);
	const struct signet_arc_result *r = signet_arc_result(a);
	assert_int_equal(r->result, SIGNET_RESULT_PASS);
	assert_int_equal(r->instances, SIGNET_ARC_MAX_INSTANCES);
	struct signet_arc_seal_params p = params(ed_key, AUTHRES);
	struct signet_arc_seal s;
	struct signet_error err = {0};
	assert_int_equal(signet_arc_seal(a, &p, &s, &err), SIGNET_ERR_LIMIT);
	assert_string_equal(err.msg,
			    "the message has SIGNET_ARC_MAX_INSTANCES (50) ARC sets already");
	signet_arc_free(a);
	char *over = replace(m, "ARC-Authentication-Results: i=50;",
			     "ARC-Authentication-Results: i=51;");
	expect(over, SIGNET_RESULT_FAIL,
	       "ARC-Authentication-Results i=51 is outside 1..SIGNET_ARC_MAX_INSTANCES (50)");
	free(over);
	free(m);
}

/* A key lookup that is not answered (or fails temporarily) is temperror,
 * and such a chain is not sealed; NXDOMAIN is a fail. */
static void ARC_VAL_01_key_answers(void **state)
{
	(void)state;
	char *m1 = seal_msg(BASE_MSG, ed_key, ed_rec, NULL, 0);
	struct signet_arc *a = run_chunked(m1, ed_rec, ANSWER_NONE, 0);
	assert_int_equal(signet_arc_result(a)->result, SIGNET_RESULT_TEMPERROR);
	assert_string_equal(signet_arc_result(a)->reason,
			    "ARC-Message-Signature i=1: key lookup not answered");
	struct signet_arc_seal_params p = params(ed_key, AUTHRES);
	struct signet_arc_seal s;
	struct signet_error err = {0};
	assert_int_equal(signet_arc_seal(a, &p, &s, &err), SIGNET_ERR_STATE);
	signet_arc_free(a);
	a = run_chunked(m1, ed_rec, ANSWER_NXDOMAIN, 0);
	assert_int_equal(signet_arc_result(a)->result, SIGNET_RESULT_FAIL);
	assert_string_equal(signet_arc_result(a)->reason,
			    "ARC-Message-Signature i=1: no usable key");
	signet_arc_free(a);
	free(m1);
}

/* ARC-AAR-01: the payload is checked; its bound SIGNET_ARC_MAX_AAR. */
static void ARC_AAR_01_payload_checks(void **state)
{
	(void)state;
	struct signet_arc *a = run(BASE_MSG, ed_rec);
	struct signet_arc_seal s;
	struct signet_error err = {0};
	struct signet_arc_seal_params p = params(ed_key, NULL);
	assert_int_equal(signet_arc_seal(a, &p, &s, &err), SIGNET_ERR_INVAL);
	p.authres = "relay.example;\nspf=pass";
	assert_int_equal(signet_arc_seal(a, &p, &s, &err), SIGNET_ERR_INVAL);
	assert_string_equal(err.msg, "Authentication-Results payload has a bare CR or LF");
	p.authres = "  ";
	assert_int_equal(signet_arc_seal(a, &p, &s, &err), SIGNET_ERR_INVAL);
	char *big = malloc(SIGNET_ARC_MAX_AAR + 2);
	memset(big, 'x', SIGNET_ARC_MAX_AAR + 1);
	big[SIGNET_ARC_MAX_AAR + 1] = '\0';
	p.authres = big;
	assert_int_equal(signet_arc_seal(a, &p, &s, &err), SIGNET_ERR_LIMIT);
	p.headers = "from:ARC-Seal";
	p.authres = AUTHRES;
	assert_int_equal(signet_arc_seal(a, &p, &s, &err), SIGNET_ERR_INVAL);
	assert_string_equal(err.msg, "the AMS must not sign ARC header fields");
	p.headers = "from:subject";
	p.domain = "bad domain";
	assert_int_equal(signet_arc_seal(a, &p, &s, &err), SIGNET_ERR_INVAL);
	/* At the limit, with CRLF folding: accepted. */
	p.domain = "example.org";
	big[SIGNET_ARC_MAX_AAR] = '\0';
	memcpy(big, "relay.example;\r\n spf=pass ", 26);
	p.authres = big;
	assert_int_equal(signet_arc_seal(a, &p, &s, &err), SIGNET_OK);
	char *ams = strdup(s.ams);
	unfold(ams);
	assert_non_null(strstr(ams, " h=from:subject;"));
	free(ams);
	char *m = prepend(&s, BASE_MSG);
	expect(m, SIGNET_RESULT_PASS, "");
	free(m);
	free(big);
	signet_arc_free(a);
}

/* RFC 5322 2.1.1: a long AMS h= is folded (after a ':'); b= never is, so
 * only its line passes 78 columns. The folded seal validates. */
static void ARC_SEAL_01_long_h_folded(void **state)
{
	(void)state;
	char list[2048] = "from:to:subject:date:message-id";
	for (int k = 0; k < 60; k++) {
		char name[32];
		snprintf(name, sizeof name, ":x-list-header-%02d", k);
		strcat(list, name);
	}
	struct signet_arc *a = run(BASE_MSG, ed_rec);
	struct signet_arc_seal_params p = params(ed_key, AUTHRES);
	p.headers = list;
	struct signet_arc_seal s;
	struct signet_error err = {0};
	assert_int_equal(signet_arc_seal(a, &p, &s, &err), SIGNET_OK);
	size_t col = strlen("ARC-Message-Signature:"), lines = 1;
	for (const char *c = s.ams; *c != '\0'; c++) {
		if (*c == '\n') {
			col = 0;
			lines++;
		} else if (++col > 78 && strstr(c - col + 1, "b=") != c - col + 2) {
			fail_msg("line %zu passes 78 columns: %.40s", lines, c - col + 1);
		}
	}
	assert_true(lines > 10);
	char *m = prepend(&s, BASE_MSG);
	expect(m, SIGNET_RESULT_PASS, "");
	free(m);
	signet_arc_free(a);
}

/* ARC-SEAL-01, interop: whatever h= makes the AMS fold before i=, the
 * fold is CRLF SP, so " i=N;" is in the raw field (dkimpy's arc_verify
 * finds the set's AMS that way; with CRLF TAB it gave up). Every length of
 * h= from 1 to 40 names, so some fold falls right before i=. */
static void ARC_SEAL_01_i_after_fold_keeps_its_space(void **state)
{
	(void)state;
	char list[1024] = "from";
	bool folded_before_i = false;
	for (int k = 0; k < 40; k++) {
		struct signet_arc *a = run(BASE_MSG, ed_rec);
		struct signet_arc_seal_params p = params(ed_key, AUTHRES);
		p.headers = list;
		struct signet_arc_seal s;
		struct signet_error err = {0};
		assert_int_equal(signet_arc_seal(a, &p, &s, &err), SIGNET_OK);
		assert_non_null(strstr(s.ams, " i=1;"));
		assert_non_null(strstr(s.as, " i=1;"));
		assert_null(strstr(s.ams, "\ti=1;"));
		folded_before_i |= strstr(s.ams, "\n i=1;") != NULL;
		char *m = prepend(&s, BASE_MSG);
		expect(m, SIGNET_RESULT_PASS, "");
		free(m);
		signet_arc_free(a);
		strcat(list, k % 2 ? ":to" : ":subject");
	}
	assert_true(folded_before_i); /* the case this test is about was reached */
}

/* State machine: each step once, in order. */
static void ARC_API_state(void **state)
{
	(void)state;
	struct signet_arc *a = NULL;
	struct signet_error err = {0};
	struct signet_arc_seal s;
	struct signet_arc_seal_params p = params(ed_key, AUTHRES);
	assert_int_equal(signet_arc_new(NULL, &a, &err), SIGNET_OK);
	assert_null(signet_arc_result(a));
	assert_int_equal(signet_arc_body(a, (const uint8_t *)"x", 1, &err), SIGNET_ERR_STATE);
	assert_int_equal(signet_arc_finish(a, &err), SIGNET_ERR_STATE);
	assert_int_equal(signet_arc_seal(a, &p, &s, &err), SIGNET_ERR_STATE);
	assert_int_equal(signet_arc_end_of_headers(a, &err), SIGNET_OK);
	assert_int_equal(signet_arc_end_of_headers(a, &err), SIGNET_ERR_STATE);
	assert_int_equal(
		signet_arc_header(a, (const uint8_t *)"X", 1, (const uint8_t *)"y", 1, &err),
		SIGNET_ERR_STATE);
	assert_int_equal(signet_arc_answer(a, 0, SIGNET_DNS_OK, NULL, 0, &err), SIGNET_ERR_INVAL);
	assert_int_equal(signet_arc_finish(a, &err), SIGNET_OK);
	assert_int_equal(signet_arc_finish(a, &err), SIGNET_ERR_STATE);
	assert_int_equal(signet_arc_seal(a, &p, &s, &err), SIGNET_OK);
	assert_int_equal(signet_arc_seal(a, &p, &s, &err), SIGNET_ERR_STATE);
	signet_arc_free(a);
	signet_arc_free(NULL);
	/* A query answered twice. */
	char *m1 = seal_msg(BASE_MSG, ed_key, ed_rec, NULL, 0);
	struct signet_arc *b = run(m1, ed_rec);
	assert_int_equal(signet_arc_answer(b, 0, SIGNET_DNS_OK, NULL, 0, &err), SIGNET_ERR_STATE);
	signet_arc_free(b);
	free(m1);
}

/* "X-Big:" with a value making name + value n bytes, above msg. */
static char *with_big_field(const char *msg, size_t n)
{
	size_t vlen = n - 5, len = strlen(msg);
	char *out = malloc(6 + vlen + 2 + len + 1);
	assert_non_null(out);
	memcpy(out, "X-Big:", 6);
	memset(out + 6, 'a', vlen);
	memcpy(out + 6 + vlen, "\r\n", 2);
	memcpy(out + 8 + vlen, msg, len + 1);
	return out;
}

/* SIGNET_MAX_HEADER_FIELD through the header store: a field of exactly the
 * limit is kept and the chain passes; one byte more and the field is
 * dropped, so the chain cannot be judged (fail, saying why) nor sealed. */
static void ARC_VAL_01_header_limit(void **state)
{
	(void)state;
	char *m1 = seal_msg(BASE_MSG, ed_key, ed_rec, NULL, 0);
	char *at = with_big_field(m1, SIGNET_MAX_HEADER_FIELD);
	expect(at, SIGNET_RESULT_PASS, "");
	char *over = with_big_field(m1, SIGNET_MAX_HEADER_FIELD + 1);
	struct signet_arc *a = run(over, ed_rec);
	assert_int_equal(signet_arc_result(a)->result, SIGNET_RESULT_FAIL);
	assert_string_equal(signet_arc_result(a)->reason,
			    "header field of 65537 bytes (limit 65536)");
	struct signet_arc_seal_params p = params(ed_key, AUTHRES);
	struct signet_arc_seal s;
	struct signet_error err = {0};
	assert_int_equal(signet_arc_seal(a, &p, &s, &err), SIGNET_ERR_LIMIT);
	assert_string_equal(err.msg, "not sealed: header field of 65537 bytes (limit 65536)");
	signet_arc_free(a);
	free(m1);
	free(at);
	free(over);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(ARC_SET_02_instance_limit),
		cmocka_unit_test(ARC_AAR_01_instance_prefix),
		cmocka_unit_test(ARC_AMS_01_h_rules),
		cmocka_unit_test(ARC_AS_01_no_h_and_cv),
		cmocka_unit_test(ARC_VAL_01_no_chain_is_none),
		cmocka_unit_test(ARC_SEAL_01_seal_and_validate),
		cmocka_unit_test(ARC_SEAL_01_rsa_sha256),
		cmocka_unit_test(ARC_VAL_01_body_change_fails),
		cmocka_unit_test(ARC_AMS_01_expired),
		cmocka_unit_test(ARC_AS_02_aar_change_fails),
		cmocka_unit_test(ARC_VAL_02_oldest_pass),
		cmocka_unit_test(ARC_VAL_03_sealer_domains),
		cmocka_unit_test(ARC_SEAL_01_upstream),
		cmocka_unit_test(ARC_SEAL_01_failed_chain),
		cmocka_unit_test(ARC_SET_02_structure),
		cmocka_unit_test(ARC_SET_02_fifty_sets),
		cmocka_unit_test(ARC_VAL_01_key_answers),
		cmocka_unit_test(ARC_AAR_01_payload_checks),
		cmocka_unit_test(ARC_SEAL_01_long_h_folded),
		cmocka_unit_test(ARC_SEAL_01_i_after_fold_keeps_its_space),
		cmocka_unit_test(ARC_API_state),
		cmocka_unit_test(ARC_VAL_01_header_limit),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
