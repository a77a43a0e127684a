/* signet-bench: signs and verifies in-memory messages with libsignet's
 * public API (rsa-sha256 and ed25519-sha256, relaxed/relaxed) and prints
 * messages/s next to the speed of the raw OpenSSL primitives measured in
 * the same run, and body hashing MB/s next to SHA-256 MB/s. No network, no
 * files: the verifier's key queries are answered from the keys' own records. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/x509.h>

#include <signet/key.h>
#include <signet/signer.h>
#include <signet/verifier.h>

#define DOMAIN "bench.example"
#define PRIM_SECONDS 0.5       /* each primitive loop runs at least this long */
#define BODY_CHUNK (64 * 1024) /* body chunk size, as a milter receives it */
#define MAX_RECORD 2048        /* public key record of an RSA-2048 key fits */
#define MAX_SIZE (1024u * 1024 * 1024)

struct opts {
	size_t n;    /* messages */
	size_t size; /* body bytes per message */
	size_t big;  /* body bytes of the body-hashing message */
};

/* One key as the benchmark uses it: the signet key, its selector, and the
 * TXT record the verifier's query is answered with. */
struct bench_key {
	struct signet_key *key;
	const char *selector;
	char qname[128];
	char record[MAX_RECORD];
	size_t record_len;
};

/* A message: a few header fields and a slice of the shared body text. */
struct message {
	char subject[64], msgid[96];
	const uint8_t *body;
	size_t body_len;
};

/* The rates of one run. */
struct results {
	double sign_rsa, sign_ed, verify_rsa, verify_ed;                     /* messages/s */
	double prim_rsa_sign, prim_ed_sign, prim_rsa_verify, prim_ed_verify; /* ops/s */
	double spki_decode_us;                    /* d2i_PUBKEY of an RSA-2048 key record's p= */
	double body_relaxed, body_simple, sha256; /* MB/s */
};

static double now(void)
{
	struct timespec t;
	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t); /* robust on a shared machine */
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static void die(const char *what, const struct signet_error *err)
{
	fprintf(stderr, "signet-bench: %s: %s\n", what, err != NULL ? err->msg : "failed");
	exit(1);
}

static void die_ssl(const char *what)
{
	fprintf(stderr, "signet-bench: OpenSSL: %s failed\n", what);
	exit(1);
}

static void *xmalloc(size_t n)
{
	void *p = malloc(n);
	if (p == NULL) {
		fprintf(stderr, "signet-bench: out of memory\n");
		exit(1);
	}
	return p;
}

/* ---- input ---- */

static void usage(FILE *f)
{
	fprintf(f, "usage: signet-bench [-n MESSAGES] [-s BODY_BYTES] [-S BIG_BODY_BYTES]\n"
		   "  -n  messages signed and verified per algorithm (default 1000)\n"
		   "  -s  body size of each message (default 4096)\n"
		   "  -S  body size of the body-hashing message (default 10485760)\n");
}

static size_t parse_size(const char *s, const char *flag, size_t min)
{
	char *end;
	errno = 0;
	unsigned long long v = strtoull(s, &end, 10);
	if (errno != 0 || end == s || *end != '\0' || s[0] == '-' || v < min || v > MAX_SIZE) {
		fprintf(stderr, "signet-bench: %s wants a number from %zu to %u\n", flag, min,
			MAX_SIZE);
		exit(2);
	}
	return (size_t)v;
}

static struct opts parse_args(int argc, char **argv)
{
	struct opts o = {1000, 4096, 10u * 1024 * 1024};
	int c;
	while ((c = getopt(argc, argv, "n:s:S:h")) != -1) {
		switch (c) {
		case 'n': o.n = parse_size(optarg, "-n", 1); break;
		case 's': o.size = parse_size(optarg, "-s", 0); break;
		case 'S': o.big = parse_size(optarg, "-S", 1); break;
		case 'h': usage(stdout); exit(0);
		default: usage(stderr); exit(2);
		}
	}
	if (optind != argc) {
		usage(stderr);
		exit(2);
	}
	return o;
}

/* Plain text: words, single spaces, CRLF lines of about 72 columns, an
 * empty line between paragraphs; what a relaxed body hash sees most. */
static uint8_t *make_text(size_t len)
{
	static const char *const words[] = {
		"the",   "message",        "is",  "signed", "by",  "a",         "domain", "that",
		"takes", "responsibility", "for", "it",     "and", "verifiers", "check",  "DKIM"};
	uint8_t *t = xmalloc(len + 1);
	uint64_t s = 0x9E3779B97F4A7C15ULL;
	size_t k = 0, col = 0, lines = 0;
	while (k < len) {
		s ^= s << 13, s ^= s >> 7, s ^= s << 17;
		const char *w = words[s % (sizeof words / sizeof words[0])];
		size_t wl = strlen(w);
		const char *sep = " ";
		if (col + wl >= 72)
			sep = (++lines % 8 == 0) ? "\r\n\r\n" : "\r\n";
		for (size_t j = 0; j < wl && k < len; j++)
			t[k++] = (uint8_t)w[j];
		for (size_t j = 0; sep[j] != '\0' && k < len; j++)
			t[k++] = (uint8_t)sep[j];
		col = sep[0] == ' ' ? col + wl + 1 : 0;
	}
	return t;
}

/* n messages whose bodies are different slices of one text (memory O(size)). */
static struct message *make_messages(const struct opts *o, uint8_t **text)
{
	size_t pool = o->size + 64 * 1024;
	*text = make_text(pool);
	struct message *m = xmalloc(o->n * sizeof *m);
	for (size_t k = 0; k < o->n; k++) {
		snprintf(m[k].subject, sizeof m[k].subject, " Benchmark message %zu", k);
		snprintf(m[k].msgid, sizeof m[k].msgid, " <%zu.bench@" DOMAIN ">", k);
		m[k].body = *text + (k * 4099) % (pool - o->size + 1);
		m[k].body_len = o->size;
	}
	return m;
}

/* ---- libsignet: keys, signing, verifying ---- */

static void make_key(struct bench_key *k, enum signet_keytype type, const char *selector)
{
	struct signet_error err;
	if (signet_key_generate(type, 2048, &k->key, &err) != SIGNET_OK)
		die("key generation", &err);
	if (signet_key_dns_record(k->key, k->record, sizeof k->record, &k->record_len, &err) !=
	    SIGNET_OK)
		die("key record", &err);
	k->selector = selector;
	snprintf(k->qname, sizeof k->qname, "%s._domainkey." DOMAIN, selector);
}

/* Feeds the header fields of m (with a DKIM-Signature first if sig is not
 * NULL) to a signer (v NULL) or a verifier. */
typedef enum signet_status (*header_fn)(void *obj, const uint8_t *name, size_t nlen,
					const uint8_t *value, size_t vlen,
					struct signet_error *err);

static enum signet_status signer_header(void *obj, const uint8_t *n, size_t nl, const uint8_t *v,
					size_t vl, struct signet_error *err)
{
	return signet_signer_header(obj, n, nl, v, vl, err);
}

static enum signet_status verifier_header(void *obj, const uint8_t *n, size_t nl, const uint8_t *v,
					  size_t vl, struct signet_error *err)
{
	return signet_verifier_header(obj, n, nl, v, vl, err);
}

static void feed_headers(header_fn fn, void *obj, const struct message *m, const char *sig)
{
	const char *fields[][2] = {
		{"DKIM-Signature", sig},
		{"From", " Bench Sender <sender@" DOMAIN ">"},
		{"To", " Receiver <rcpt@example.net>"},
		{"Subject", m->subject},
		{"Date", " Wed, 25 Nov 2026 07:00:00 +0000"},
		{"Message-ID", m->msgid},
		{"MIME-Version", " 1.0"},
		{"Content-Type", " text/plain; charset=utf-8"},
	};
	struct signet_error err;
	for (size_t k = sig == NULL ? 1 : 0; k < sizeof fields / sizeof fields[0]; k++) {
		const char *name = fields[k][0], *value = fields[k][1];
		if (fn(obj, (const uint8_t *)name, strlen(name), (const uint8_t *)value,
		       strlen(value), &err) != SIGNET_OK)
			die("header", &err);
	}
}

/* Signs m with key (body canonicalization body, relaxed header), fed in
 * chunks; returns the DKIM-Signature value (caller frees). */
static char *sign_one(const struct bench_key *key, const struct message *m, enum signet_canon body)
{
	const size_t chunk = BODY_CHUNK;
	struct signet_error err;
	struct signet_signer *s;
	struct signet_sign_params p = {
		.domain = DOMAIN,
		.selector = key->selector,
		.key = key->key,
		.hdr_canon = SIGNET_CANON_RELAXED,
		.body_canon = body,
		.timestamp = (uint64_t)time(NULL),
	};
	if (signet_signer_new(&s, &err) != SIGNET_OK || signet_signer_add(s, &p, &err) != SIGNET_OK)
		die("signer", &err);
	feed_headers(signer_header, s, m, NULL);
	if (signet_signer_end_of_headers(s, &err) != SIGNET_OK)
		die("signer end of headers", &err);
	for (size_t off = 0; off < m->body_len; off += chunk) {
		size_t n = m->body_len - off < chunk ? m->body_len - off : chunk;
		if (signet_signer_body(s, m->body + off, n, &err) != SIGNET_OK)
			die("signer body", &err);
	}
	if (signet_signer_finish(s, &err) != SIGNET_OK || signet_signer_count(s) != 1)
		die("signer finish", &err);
	char *sig = strdup(signet_signer_signature(s, 0));
	if (sig == NULL)
		die("strdup", NULL);
	signet_signer_free(s);
	return sig;
}

/* Verifies m carrying sig; the key query is answered with key's record. */
static void verify_one(const struct bench_key *key, const struct message *m, const char *sig)
{
	struct signet_error err;
	struct signet_verifier *v;
	struct signet_verify_options o = {.now = (uint64_t)time(NULL)};
	if (signet_verifier_new(&o, &v, &err) != SIGNET_OK)
		die("verifier", &err);
	feed_headers(verifier_header, v, m, sig);
	if (signet_verifier_end_of_headers(v, &err) != SIGNET_OK)
		die("verifier end of headers", &err);
	struct signet_query q;
	while (signet_verifier_next_query(v, &q)) {
		struct signet_txt txt = {(const uint8_t *)key->record, key->record_len};
		bool ours = strcmp(q.name, key->qname) == 0;
		if (signet_verifier_answer(v, q.id, ours ? SIGNET_DNS_OK : SIGNET_DNS_NXDOMAIN,
					   &txt, ours ? 1 : 0, &err) != SIGNET_OK)
			die("verifier answer", &err);
	}
	if (signet_verifier_body(v, m->body, m->body_len, &err) != SIGNET_OK ||
	    signet_verifier_finish(v, &err) != SIGNET_OK)
		die("verifier", &err);
	const struct signet_sig_result *r = signet_verifier_result(v, 0);
	if (signet_verifier_count(v) != 1 || r->result != SIGNET_RESULT_PASS) {
		fprintf(stderr, "signet-bench: verification did not pass: %s (%s)\n",
			r != NULL ? signet_result_name(r->result) : "no result",
			r != NULL ? r->reason : "");
		exit(1);
	}
	signet_verifier_free(v);
}

/* Signs every message with key (signatures kept in sigs), then verifies
 * them; returns the two rates in messages/s. */
static void sign_verify(const struct bench_key *key, const struct message *m, size_t n,
			double *sign_rate, double *verify_rate)
{
	char **sigs = xmalloc(n * sizeof *sigs);
	double t0 = now();
	for (size_t k = 0; k < n; k++)
		sigs[k] = sign_one(key, &m[k], SIGNET_CANON_RELAXED);
	double t1 = now();
	for (size_t k = 0; k < n; k++)
		verify_one(key, &m[k], sigs[k]);
	double t2 = now();
	*sign_rate = (double)n / (t1 - t0);
	*verify_rate = (double)n / (t2 - t1);
	for (size_t k = 0; k < n; k++)
		free(sigs[k]);
	free(sigs);
}

/* Signs one message with a big body (ed25519: the signature itself costs
 * next to nothing) and returns the body MB/s, best of three. */
static double body_rate(const struct bench_key *ed, size_t big, enum signet_canon c)
{
	uint8_t *text = make_text(big);
	struct message m = {" Big body", " <big@" DOMAIN ">", text, big};
	double best = 1e300;
	for (int r = 0; r < 3; r++) {
		double t0 = now();
		free(sign_one(ed, &m, c));
		double t = now() - t0;
		if (t < best)
			best = t;
	}
	free(text);
	return (double)big / best / 1e6;
}

/* ---- OpenSSL primitives, measured directly ---- */

static EVP_PKEY *prim_key(const char *type)
{
	EVP_PKEY *k = strcmp(type, "RSA") == 0 ? EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048)
					       : EVP_PKEY_Q_keygen(NULL, NULL, type);
	if (k == NULL)
		die_ssl("key generation");
	return k;
}

/* What a DKIM signature signs: the hashed header block (RSA, with SHA-256
 * inside the signature) or its SHA-256 digest (ed25519, RFC 8463 3). */
static const EVP_MD *prim_md(EVP_PKEY *k, size_t *msglen)
{
	bool rsa = EVP_PKEY_is_a(k, "RSA");
	*msglen = rsa ? 600 : 32;
	return rsa ? EVP_sha256() : NULL;
}

static double prim_sign(EVP_PKEY *k)
{
	uint8_t msg[600] = {0}, sig[512];
	size_t msglen, siglen, ops = 0;
	const EVP_MD *md = prim_md(k, &msglen);
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	if (ctx == NULL)
		die_ssl("EVP_MD_CTX_new");
	double t0 = now(), t;
	do {
		siglen = sizeof sig;
		if (EVP_DigestSignInit(ctx, NULL, md, NULL, k) != 1 ||
		    EVP_DigestSign(ctx, sig, &siglen, msg, msglen) != 1)
			die_ssl("EVP_DigestSign");
		ops++;
	} while ((t = now() - t0) < PRIM_SECONDS);
	EVP_MD_CTX_free(ctx);
	return (double)ops / t;
}

static double prim_verify(EVP_PKEY *k)
{
	uint8_t msg[600] = {0}, sig[512];
	size_t msglen, siglen = sizeof sig, ops = 0;
	const EVP_MD *md = prim_md(k, &msglen);
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	if (ctx == NULL || EVP_DigestSignInit(ctx, NULL, md, NULL, k) != 1 ||
	    EVP_DigestSign(ctx, sig, &siglen, msg, msglen) != 1)
		die_ssl("EVP_DigestSign");
	double t0 = now(), t;
	do {
		if (EVP_DigestVerifyInit(ctx, NULL, md, NULL, k) != 1 ||
		    EVP_DigestVerify(ctx, sig, siglen, msg, msglen) != 1)
			die_ssl("EVP_DigestVerify");
		ops++;
	} while ((t = now() - t0) < PRIM_SECONDS);
	EVP_MD_CTX_free(ctx);
	return (double)ops / t;
}

/* Decoding an RSA SubjectPublicKeyInfo (what p= holds) costs more than the
 * RSA verification itself with OpenSSL 3's decoders: shown next to the
 * verify rows, in microseconds per key. */
static double prim_spki_decode(EVP_PKEY *k)
{
	unsigned char *der = NULL;
	int len = i2d_PUBKEY(k, &der);
	if (len <= 0)
		die_ssl("i2d_PUBKEY");
	size_t ops = 0;
	double t0 = now(), t;
	do {
		const unsigned char *q = der;
		EVP_PKEY *pk = d2i_PUBKEY(NULL, &q, len);
		if (pk == NULL)
			die_ssl("d2i_PUBKEY");
		EVP_PKEY_free(pk);
		ops++;
	} while ((t = now() - t0) < PRIM_SECONDS);
	OPENSSL_free(der);
	return t / (double)ops * 1e6;
}

/* SHA-256 over a buffer of len bytes, MB/s, best of three. */
static double prim_sha256(size_t len)
{
	uint8_t *buf = make_text(len), md[EVP_MAX_MD_SIZE];
	unsigned int mdlen;
	double best = 1e300;
	for (int r = 0; r < 3; r++) {
		double t0 = now();
		if (EVP_Digest(buf, len, md, &mdlen, EVP_sha256(), NULL) != 1)
			die_ssl("EVP_Digest");
		double t = now() - t0;
		if (t < best)
			best = t;
	}
	free(buf);
	return (double)len / best / 1e6;
}

static void primitives(struct results *r, size_t big)
{
	EVP_PKEY *rsa = prim_key("RSA"), *ed = prim_key("ED25519");
	r->prim_rsa_sign = prim_sign(rsa);
	r->prim_ed_sign = prim_sign(ed);
	r->prim_rsa_verify = prim_verify(rsa);
	r->prim_ed_verify = prim_verify(ed);
	r->spki_decode_us = prim_spki_decode(rsa);
	r->sha256 = prim_sha256(big);
	EVP_PKEY_free(rsa);
	EVP_PKEY_free(ed);
}

/* ---- report ---- */

static void row(const char *what, double ours, const char *unit, const char *prim_what, double prim)
{
	printf("%-26s %12.1f %-6s %-22s %12.1f %6.3f\n", what, ours, unit, prim_what, prim,
	       ours / prim);
}

static void report(const struct opts *o, const struct results *r)
{
	printf("signet-bench %s: %zu messages of %zu body bytes; big body %zu bytes; CPU time\n",
	       signet_version(), o->n, o->size, o->big);
	printf("%-26s %12s %-6s %-22s %12s %6s\n", "signet", "rate", "unit", "primitive (EVP)",
	       "rate", "ratio");
	row("sign rsa-sha256", r->sign_rsa, "msg/s", "RSA-2048 sign", r->prim_rsa_sign);
	row("sign ed25519-sha256", r->sign_ed, "msg/s", "Ed25519 sign", r->prim_ed_sign);
	row("verify rsa-sha256", r->verify_rsa, "msg/s", "RSA-2048 verify", r->prim_rsa_verify);
	row("verify ed25519-sha256", r->verify_ed, "msg/s", "Ed25519 verify", r->prim_ed_verify);
	row("body hash relaxed", r->body_relaxed, "MB/s", "SHA-256", r->sha256);
	row("body hash simple", r->body_simple, "MB/s", "SHA-256", r->sha256);
	printf("(each RSA verification also decodes its key record; libsignet reads the DER "
	       "itself, as OpenSSL's d2i_PUBKEY takes %.1f us here)\n",
	       r->spki_decode_us);
	printf("BENCH n=%zu size=%zu big=%zu sign_rsa=%.1f rsa_sign=%.1f sign_ed25519=%.1f "
	       "ed25519_sign=%.1f verify_rsa=%.1f rsa_verify=%.1f verify_ed25519=%.1f "
	       "ed25519_verify=%.1f rsa_spki_decode_us=%.1f body_relaxed_mbs=%.1f "
	       "body_simple_mbs=%.1f sha256_mbs=%.1f "
	       "ratio_sign_rsa=%.3f ratio_sign_ed25519=%.3f ratio_verify_rsa=%.3f "
	       "ratio_verify_ed25519=%.3f ratio_body_relaxed=%.3f ratio_body_simple=%.3f\n",
	       o->n, o->size, o->big, r->sign_rsa, r->prim_rsa_sign, r->sign_ed, r->prim_ed_sign,
	       r->verify_rsa, r->prim_rsa_verify, r->verify_ed, r->prim_ed_verify,
	       r->spki_decode_us, r->body_relaxed, r->body_simple, r->sha256,
	       r->sign_rsa / r->prim_rsa_sign, r->sign_ed / r->prim_ed_sign,
	       r->verify_rsa / r->prim_rsa_verify, r->verify_ed / r->prim_ed_verify,
	       r->body_relaxed / r->sha256, r->body_simple / r->sha256);
}

int main(int argc, char **argv)
{
	struct opts o = parse_args(argc, argv);
	struct results r;
	struct bench_key rsa, ed;
	make_key(&rsa, SIGNET_KEY_RSA, "rsa");
	make_key(&ed, SIGNET_KEY_ED25519, "ed");
	uint8_t *text;
	struct message *m = make_messages(&o, &text);
	sign_verify(&rsa, m, o.n, &r.sign_rsa, &r.verify_rsa);
	sign_verify(&ed, m, o.n, &r.sign_ed, &r.verify_ed);
	r.body_relaxed = body_rate(&ed, o.big, SIGNET_CANON_RELAXED);
	r.body_simple = body_rate(&ed, o.big, SIGNET_CANON_SIMPLE);
	primitives(&r, o.big);
	report(&o, &r);
	free(m);
	free(text);
	signet_key_free(rsa.key);
	signet_key_free(ed.key);
	return 0;
}
