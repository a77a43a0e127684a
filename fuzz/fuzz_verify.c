/* fuzz_verify.c: a whole verify run (lib/message.c → lib/verifier.c, then
 * lib/ar.c formatting the results), as the CLI and signetd drive it.
 * Input: [flags][chunk seed] message bytes, then optionally "\0KEYS\0" and
 * key lines "<query name> <record>" (the format of testdata keys.txt; a line
 * "<query name>" alone is a record-less answer).
 * flags bits 0-1: 0 keys from the input (a name with no line: NXDOMAIN),
 * 1 the fixed valid RFC 8463 A.2 records (so signed seeds reach the
 * signature check), 2 TEMPFAIL, 3 no answer at all; bit 2: answer after the
 * body instead of at end of headers; bit 3: l= policy "unsigned"; bit 4: explain;
 * bit 5: now = 0 (no time checks) instead of a fixed clock; bit 6: verify a
 * second time with every SIGNET_DNS_OK answer parsed into a signet_keyset
 * (signet_verifier_answer_key, as signetd does with a cached answer) and
 * require the same results byte for byte. It checks the run never fails on
 * message content and every result is well-formed. */
#include <signet/ar.h>
#include <signet/message.h>
#include <signet/verifier.h>

#include <strings.h>

#include "fuzz.h"

#define KEYS_SEP "\0KEYS\0"
#define KEYS_SEP_LEN 6

/* RFC 8463 A.2, the keys of ../shared/testdata/rfc8463/signed.eml. */
static const char *const fixed_keys[][2] = {
	{"brisbane._domainkey.football.example.com",
	 "v=DKIM1; k=ed25519; p=11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo="},
	{"test._domainkey.football.example.com",
	 "v=DKIM1; k=rsa; "
	 "p=MIGfMA0GCSqGSIb3DQEBAQUAA4GNADCBiQKBgQDkHlOQoBTzWRiGs5V6NpP3idY6Wk08a5qh"
	 "dR6wy5bdOKb2jLQiY/J16JYi0Qvx/byYzCNb3W91y3FutACDfzwQ/BC/e/"
	 "8uBsCR+yz1Lxj+PL6lHvqMKrM3rG4hst"
	 "T5QjvHO9PzoxZyVYLzBfO2EeC3Ip3G+2kryOTIKT+l/K4w3QIDAQAB"},
};

struct run {
	struct signet_verifier *v;
	int mode;    /* flags bits 0-1 */
	bool late;   /* answer after the body */
	bool parsed; /* answers with records go through signet_keyset_parse */
	const uint8_t *keys;
	size_t klen;
};

static void answer_all(const struct run *r);

static enum signet_status on_header(void *ctx, const uint8_t *n, size_t nl, const uint8_t *v,
				    size_t vl, struct signet_error *e)
{
	return signet_verifier_header(((struct run *)ctx)->v, n, nl, v, vl, e);
}
static enum signet_status on_eoh(void *ctx, struct signet_error *e)
{
	struct run *r = ctx;
	enum signet_status st = signet_verifier_end_of_headers(r->v, e);
	/* As signetd does: answers may come before the body. */
	if (st == SIGNET_OK && !r->late)
		answer_all(r);
	return st;
}
static enum signet_status on_body(void *ctx, const uint8_t *p, size_t l, struct signet_error *e)
{
	return signet_verifier_body(((struct run *)ctx)->v, p, l, e);
}

static bool name_is(const uint8_t *p, size_t n, const char *name)
{
	size_t nl = strlen(name);
	if (n < nl || (n > nl && p[nl] != ' ' && p[nl] != '\t'))
		return false;
	for (size_t k = 0; k < nl; k++)
		if ((p[k] | 0x20) != (name[k] | 0x20))
			return false;
	return true;
}

/* An answer with records: the bytes, or parsed into a set the verifier
 * keeps a reference to (ours is dropped at once, as dns.c does). A set that
 * cannot be made (no memory, OpenSSL) falls back to the bytes, as signetd. */
static void answer_records(const struct run *r, unsigned id, const struct signet_txt *recs,
			   size_t n)
{
	struct signet_error err = {0};
	struct signet_keyset *ks = NULL;
	if (r->parsed && signet_keyset_parse(recs, n, &ks, &err) == SIGNET_OK) {
		FUZZ_CHECK(ks != NULL);
		FUZZ_CHECK(signet_verifier_answer_key(r->v, id, ks, &err) == SIGNET_OK);
		signet_keyset_unref(ks);
		return;
	}
	FUZZ_CHECK(ks == NULL);
	FUZZ_CHECK(signet_verifier_answer(r->v, id, SIGNET_DNS_OK, recs, n, &err) == SIGNET_OK);
}

/* Answers query q from the key lines keys[0..klen). */
static void answer_from_input(const struct run *r, const struct signet_query *q)
{
	const uint8_t *keys = r->keys;
	size_t klen = r->klen;
	struct signet_txt recs[8];
	size_t n = 0;
	bool named = false;
	for (size_t off = 0; off < klen;) {
		const uint8_t *nlp = memchr(keys + off, '\n', klen - off);
		size_t ll = nlp ? (size_t)(nlp - keys - off) : klen - off;
		const uint8_t *line = keys + off;
		if (name_is(line, ll, q->name)) {
			named = true;
			size_t k = strlen(q->name);
			while (k < ll && (line[k] == ' ' || line[k] == '\t'))
				k++;
			if (k < ll && n < 8)
				recs[n++] = (struct signet_txt){line + k, ll - k};
		}
		off += ll + 1;
	}
	struct signet_error err = {0};
	if (named)
		answer_records(r, q->id, recs, n);
	else
		FUZZ_CHECK(signet_verifier_answer(r->v, q->id, SIGNET_DNS_NXDOMAIN, recs, n,
						  &err) == SIGNET_OK);
}

static void answer_all(const struct run *r)
{
	struct signet_verifier *v = r->v;
	struct signet_query q;
	while (signet_verifier_next_query(v, &q)) {
		FUZZ_CHECK(q.name != NULL && strlen(q.name) < 600);
		struct signet_error err = {0};
		if (r->mode == 0) {
			answer_from_input(r, &q);
		} else if (r->mode == 1) {
			struct signet_txt rec = {(const uint8_t *)fixed_keys[1][1],
						 strlen(fixed_keys[1][1])};
			for (size_t k = 0; k < 2; k++)
				if (strcasecmp(q.name, fixed_keys[k][0]) == 0)
					rec = (struct signet_txt){(const uint8_t *)fixed_keys[k][1],
								  strlen(fixed_keys[k][1])};
			answer_records(r, q.id, &rec, 1);
		} else if (r->mode == 2) {
			FUZZ_CHECK(signet_verifier_answer(v, q.id, SIGNET_DNS_TEMPFAIL, NULL, 0,
							  &err) == SIGNET_OK);
		}
	}
}

/* The value of header.i in an Authentication-Results value: unfolded
 * (RFC 5322 2.2.3), a quoted-string unescaped. False when there is none. */
static bool ar_header_i(const char *ar, size_t len, char *out, size_t cap)
{
	static char flat[65536];
	size_t n = 0;
	for (size_t k = 0; k < len && n < sizeof flat - 1; k++) {
		if (ar[k] == '\r' && k + 1 < len && ar[k + 1] == '\n') {
			k++; /* a fold between words leaves its TAB as the space */
			continue;
		}
		flat[n++] = ar[k] == '\t' ? ' ' : ar[k];
	}
	flat[n] = '\0';
	const char *p = strstr(flat, " header.i=");
	if (p == NULL)
		return false;
	p += strlen(" header.i=");
	size_t o = 0;
	if (*p == '"') {
		for (p++; *p != '\0' && *p != '"' && o < cap - 1; p++) {
			if (*p == '\\' && p[1] != '\0')
				p++;
			out[o++] = *p;
		}
	} else {
		while (*p != '\0' && *p != ' ' && *p != ';' && o < cap - 1)
			out[o++] = *p++;
	}
	out[o] = '\0';
	return true;
}

static bool ascii(const char *s)
{
	for (; *s != '\0'; s++)
		if ((unsigned char)*s >= 0x80)
			return false;
	return true;
}

/* AR-DKIM-04, DKIM-SIG-08: for a signature that parsed (so i= was checked
 * to be within d=), the AR's header.i ends with "@" + d= or a subdomain of
 * d=: a long i= is never cut (it once lost its "@domain" at 255 bytes).
 * ASCII only: U-labels are compared after IDNA (RFC 8616), not as text. */
static void check_header_i(const struct signet_sig_result *r)
{
	bool parsed = r->result == SIGNET_RESULT_PASS || r->result == SIGNET_RESULT_FAIL ||
		      r->result == SIGNET_RESULT_POLICY || r->result == SIGNET_RESULT_TEMPERROR;
	if (!parsed || r->d[0] == '\0' || !ascii(r->d) || !ascii(r->i))
		return;
	static char ar[65536], hi[16384];
	size_t len = 0;
	struct signet_error err = {0};
	if (signet_ar_format("mx.example.org", &r, 1, ar, sizeof ar, &len, &err) != SIGNET_OK)
		return;
	FUZZ_CHECK(ar_header_i(ar, len, hi, sizeof hi));
	const char *at = strrchr(hi, '@');
	FUZZ_CHECK(at != NULL);
	size_t dl = strlen(r->d), hl = strlen(at + 1);
	const char *tail = at + 1 + hl - (hl >= dl ? dl : 0);
	if (hl < dl || strcasecmp(tail, r->d) != 0 || (hl > dl && tail[-1] != '.')) {
		fprintf(stderr, "header.i=%s does not end in d=%s\n", hi, r->d);
		abort();
	}
}

static void check_results(const struct signet_verifier *v)
{
	size_t n = signet_verifier_count(v);
	FUZZ_CHECK(n <= SIGNET_MAX_SIGNATURES);
	const struct signet_sig_result *rs[SIGNET_MAX_SIGNATURES];
	for (size_t k = 0; k < n; k++) {
		const struct signet_sig_result *r = signet_verifier_result(v, k);
		FUZZ_CHECK(r != NULL);
		FUZZ_CHECK(r->result >= SIGNET_RESULT_PASS && r->result <= SIGNET_RESULT_TEMPERROR);
		FUZZ_CHECK(memchr(r->reason, 0, sizeof r->reason) != NULL);
		FUZZ_CHECK(r->d != NULL && r->s != NULL && r->i != NULL && r->a != NULL &&
			   r->b != NULL && r->bh != NULL);
		/* A pass has no reason; anything else says why (DKIM-ERR-*). */
		if ((r->result == SIGNET_RESULT_PASS) != (r->reason[0] == '\0')) {
			fprintf(stderr, "result %s with reason \"%s\"\n",
				signet_result_name(r->result), r->reason);
			abort();
		}
		const struct signet_sig_explain *x = signet_verifier_explain(v, k);
		FUZZ_CHECK(x == NULL || x->nsteps <= SIGNET_MAX_STEPS);
		check_header_i(r);
		rs[k] = r;
	}
	FUZZ_CHECK(signet_verifier_result(v, n) == NULL);
	static char ar[65536];
	size_t len = 0;
	struct signet_error err = {0};
	enum signet_status st =
		signet_ar_format("mx.example.org", rs, n, ar, sizeof ar, &len, &err);
	FUZZ_CHECK(st == SIGNET_OK || st == SIGNET_ERR_LIMIT);
	if (st == SIGNET_OK) {
		FUZZ_CHECK(len < sizeof ar && ar[len] == '\0');
		/* What we write must be recognized as ours when we strip forgeries. */
		FUZZ_CHECK(signet_ar_is_ours((const uint8_t *)ar, len, "mx.example.org"));
	}
}

/* The two runs of flags bit 6 gave the same results, byte for byte (the
 * explain hash input points into each verifier: compared by content). */
static void check_same(const struct signet_verifier *a, const struct signet_verifier *b)
{
	FUZZ_CHECK(signet_verifier_count(a) == signet_verifier_count(b));
	FUZZ_CHECK(signet_verifier_unchecked(a) == signet_verifier_unchecked(b));
	for (size_t k = 0; k < signet_verifier_count(a); k++) {
		static struct signet_sig_result ra, rb;
		ra = *signet_verifier_result(a, k);
		rb = *signet_verifier_result(b, k);
		/* tag values are each verifier's own strings: compared by content */
		const char **sa[] = {&ra.d, &ra.s, &ra.i, &ra.a, &ra.b, &ra.bh};
		const char **sb[] = {&rb.d, &rb.s, &rb.i, &rb.a, &rb.b, &rb.bh};
		for (size_t t = 0; t < sizeof sa / sizeof sa[0]; t++) {
			FUZZ_CHECK(strcmp(*sa[t], *sb[t]) == 0);
			*sa[t] = *sb[t] = NULL;
		}
		const struct signet_sig_explain *xa = signet_verifier_explain(a, k);
		const struct signet_sig_explain *xb = signet_verifier_explain(b, k);
		FUZZ_CHECK((xa == NULL) == (xb == NULL));
		if (xa != NULL) {
			static struct signet_sig_explain ea, eb;
			ea = *xa, eb = *xb;
			FUZZ_CHECK(ea.hash_input_len == eb.hash_input_len);
			FUZZ_CHECK(ea.hash_input_len == 0 ||
				   memcmp(ea.hash_input, eb.hash_input, ea.hash_input_len) == 0);
			ea.hash_input = eb.hash_input = NULL;
			FUZZ_CHECK(memcmp(&ea, &eb, sizeof ea) == 0);
		}
		if (memcmp(&ra, &rb, sizeof ra) != 0) {
			fprintf(stderr, "bytes: %s \"%s\" [%s] / parsed: %s \"%s\" [%s]\n",
				signet_result_name(ra.result), ra.reason, ra.notes,
				signet_result_name(rb.result), rb.reason, rb.notes);
			abort();
		}
	}
}

/* One verification of msg (chunk sizes from seed); finished, for checking. */
static struct signet_verifier *verify(struct run *r, const struct signet_verify_options *opts,
				      const uint8_t *seed, const uint8_t *msg, size_t mlen)
{
	struct fuzz_rng rng;
	fuzz_rng_init(&rng, seed, 2);
	struct signet_message *m = NULL;
	struct signet_error err = {0};
	static const struct signet_message_handler h = {on_header, on_eoh, on_body};
	FUZZ_CHECK(signet_verifier_new(opts, &r->v, &err) == SIGNET_OK);
	FUZZ_CHECK(signet_message_new(&h, r, &m, &err) == SIGNET_OK);
	for (size_t off = 0; off < mlen;) {
		size_t n = fuzz_chunk(&rng, mlen - off);
		/* Message content is never an error: limits become results. */
		FUZZ_CHECK(signet_message_feed(m, msg + off, n, &err) == SIGNET_OK);
		off += n;
	}
	FUZZ_CHECK(signet_message_finish(m, &err) == SIGNET_OK);
	signet_message_free(m);
	if (r->late)
		answer_all(r);
	FUZZ_CHECK(signet_verifier_finish(r->v, &err) == SIGNET_OK);
	check_results(r->v);
	return r->v;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 2)
		return 0;
	uint8_t flags = data[0];
	const uint8_t *msg = data + 2;
	size_t mlen = size - 2;
	const uint8_t *keys = NULL;
	size_t klen = 0;
	for (size_t k = 0; k + KEYS_SEP_LEN <= mlen; k++) {
		if (memcmp(msg + k, KEYS_SEP, KEYS_SEP_LEN) == 0) {
			keys = msg + k + KEYS_SEP_LEN;
			klen = mlen - k - KEYS_SEP_LEN;
			mlen = k;
			break;
		}
	}
	struct signet_verify_options opts = {
		.now = (flags & 32) ? 0 : 1700000000,
		.l_policy = (flags & 8) ? SIGNET_L_POLICY_UNSIGNED : SIGNET_L_HONOUR,
		.explain = (flags & 16) != 0,
	};
	struct run r = {.mode = flags & 3, .late = (flags & 4) != 0, .keys = keys, .klen = klen};
	struct signet_verifier *v = verify(&r, &opts, data, msg, mlen);
	if (flags & 64) {
		struct run p = r;
		p.parsed = true;
		struct signet_verifier *pv = verify(&p, &opts, data, msg, mlen);
		check_same(v, pv);
		signet_verifier_free(pv);
	}
	signet_verifier_free(v);
	return 0;
}
