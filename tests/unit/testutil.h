/* testutil.h: helpers shared by the unit tests: read testdata files, run a
 * whole message through the splitter into a signer or verifier, answer
 * key queries from a keys file. Test code only. */
#ifndef SIGNET_TESTUTIL_H
#define SIGNET_TESTUTIL_H

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <cmocka.h>

#include <signet/key.h>
#include <signet/message.h>
#include <signet/signer.h>
#include <signet/verifier.h>

#ifndef SIGNET_TESTDATA
#define SIGNET_TESTDATA "../shared/testdata"
#endif

static inline bool testdata_present(void)
{
	struct stat st;
	return stat(SIGNET_TESTDATA, &st) == 0 && S_ISDIR(st.st_mode);
}

/* Skips the test visibly when ../shared/testdata is absent. */
#define REQUIRE_TESTDATA()                                                                         \
	do {                                                                                       \
		if (!testdata_present()) {                                                         \
			print_message("SKIP: %s absent (public vectors not available)\n",          \
				      SIGNET_TESTDATA);                                            \
			skip();                                                                    \
		}                                                                                  \
	} while (0)

/* Reads a whole file (NUL-terminated for convenience); fails the test if absent. */
static inline uint8_t *read_file(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	if (f == NULL)
		fail_msg("cannot open %s", path);
	fseek(f, 0, SEEK_END);
	long n = ftell(f);
	fseek(f, 0, SEEK_SET);
	uint8_t *p = malloc((size_t)n + 1);
	assert_non_null(p);
	assert_int_equal(fread(p, 1, (size_t)n, f), (size_t)n);
	p[n] = '\0';
	fclose(f);
	*len = (size_t)n;
	return p;
}

static inline uint8_t *read_testdata(const char *rel, size_t *len)
{
	char path[1024];
	snprintf(path, sizeof path, "%s/%s", SIGNET_TESTDATA, rel);
	return read_file(path, len);
}

static inline struct signet_key *load_key(const char *rel)
{
	size_t len;
	uint8_t *pem = read_testdata(rel, &len);
	struct signet_key *key = NULL;
	struct signet_error err = {0};
	if (signet_key_parse(pem, len, &key, &err) != SIGNET_OK)
		fail_msg("key %s: %s", rel, err.msg);
	free(pem);
	return key;
}

/* Message splitter → signer / verifier glue. */
static inline enum signet_status tu_sign_header(void *ctx, const uint8_t *n, size_t nl,
						const uint8_t *v, size_t vl, struct signet_error *e)
{
	return signet_signer_header(ctx, n, nl, v, vl, e);
}
static inline enum signet_status tu_sign_eoh(void *ctx, struct signet_error *e)
{
	return signet_signer_end_of_headers(ctx, e);
}
static inline enum signet_status tu_sign_body(void *ctx, const uint8_t *p, size_t l,
					      struct signet_error *e)
{
	return signet_signer_body(ctx, p, l, e);
}
static inline enum signet_status tu_ver_header(void *ctx, const uint8_t *n, size_t nl,
					       const uint8_t *v, size_t vl, struct signet_error *e)
{
	return signet_verifier_header(ctx, n, nl, v, vl, e);
}
static inline enum signet_status tu_ver_eoh(void *ctx, struct signet_error *e)
{
	return signet_verifier_end_of_headers(ctx, e);
}
static inline enum signet_status tu_ver_body(void *ctx, const uint8_t *p, size_t l,
					     struct signet_error *e)
{
	return signet_verifier_body(ctx, p, l, e);
}

/* Feeds msg in chunks of `chunk` bytes (0 = all at once). */
static inline enum signet_status tu_feed(const struct signet_message_handler *h, void *ctx,
					 const uint8_t *msg, size_t len, size_t chunk,
					 struct signet_error *err)
{
	struct signet_message *m = NULL;
	enum signet_status st = signet_message_new(h, ctx, &m, err);
	if (st != SIGNET_OK)
		return st;
	if (chunk == 0)
		chunk = len ? len : 1;
	for (size_t off = 0; st == SIGNET_OK && off < len; off += chunk)
		st = signet_message_feed(m, msg + off, len - off < chunk ? len - off : chunk, err);
	if (st == SIGNET_OK)
		st = signet_message_finish(m, err);
	signet_message_free(m);
	return st;
}

/* Signs msg with the given params; returns "DKIM-Signature:<v>\r\n..." + msg
 * (malloc'd, NUL-terminated), or NULL with err set. */
static inline char *tu_sign(const struct signet_sign_params *params, size_t nparams,
			    const uint8_t *msg, size_t len, struct signet_error *err)
{
	struct signet_signer *s = NULL;
	static const struct signet_message_handler h = {tu_sign_header, tu_sign_eoh, tu_sign_body};
	if (signet_signer_new(&s, err) != SIGNET_OK)
		return NULL;
	for (size_t k = 0; k < nparams; k++)
		if (signet_signer_add(s, &params[k], err) != SIGNET_OK)
			goto fail;
	if (tu_feed(&h, s, msg, len, 0, err) != SIGNET_OK ||
	    signet_signer_finish(s, err) != SIGNET_OK)
		goto fail;
	size_t total = len + 1;
	for (size_t k = 0; k < signet_signer_count(s); k++)
		total += strlen(signet_signer_signature(s, k)) + 20;
	char *out = malloc(total);
	assert_non_null(out);
	out[0] = '\0';
	/* RFC 6376 5.6: new signatures go on top; the last added ends up first. */
	for (size_t k = signet_signer_count(s); k-- > 0;) {
		strcat(out, "DKIM-Signature:");
		strcat(out, signet_signer_signature(s, k));
		strcat(out, "\r\n");
	}
	size_t off = strlen(out);
	memcpy(out + off, msg, len);
	out[off + len] = '\0';
	signet_signer_free(s);
	return out;
fail:
	signet_signer_free(s);
	return NULL;
}

/* A keys file in the DESIGN.md format, parsed for answering queries. */
struct tu_keys {
	char *text;
};

/* Answers every query of v from keys text ("name value" lines; "#!temperror name"). */
static inline void tu_answer(struct signet_verifier *v, const char *keys)
{
	struct signet_query q;
	while (signet_verifier_next_query(v, &q)) {
		struct signet_txt recs[8];
		size_t n = 0;
		bool temp = false;
		const char *line = keys;
		while (line != NULL && *line != '\0') {
			const char *end = strchr(line, '\n');
			size_t ll = end ? (size_t)(end - line) : strlen(line);
			size_t nl = strlen(q.name);
			if (ll > 12 && strncmp(line, "#!temperror ", 12) == 0 && ll - 12 >= nl &&
			    strncasecmp(line + 12, q.name, nl) == 0)
				temp = true;
			else if (line[0] != '#' && ll > nl && strncasecmp(line, q.name, nl) == 0 &&
				 (line[nl] == ' ' || line[nl] == '\t') && n < 8) {
				const char *val = line + nl;
				while (*val == ' ' || *val == '\t')
					val++;
				size_t vl = ll - (size_t)(val - line);
				while (vl > 0 && (val[vl - 1] == '\r' || val[vl - 1] == ' '))
					vl--;
				recs[n].p = (const uint8_t *)val;
				recs[n].len = vl;
				n++;
			}
			line = end ? end + 1 : NULL;
		}
		struct signet_error err = {0};
		enum signet_dns_status st = temp ? SIGNET_DNS_TEMPFAIL
					    : n  ? SIGNET_DNS_OK
						 : SIGNET_DNS_NXDOMAIN;
		assert_int_equal(signet_verifier_answer(v, q.id, st, recs, n, &err), SIGNET_OK);
	}
}

/* Verifies msg with keys text; returns the verifier (finished) for inspection. */
static inline struct signet_verifier *tu_verify_opts(const uint8_t *msg, size_t len,
						     const char *keys,
						     const struct signet_verify_options *opts,
						     size_t chunk)
{
	struct signet_verifier *v = NULL;
	struct signet_error err = {0};
	static const struct signet_message_handler h = {tu_ver_header, tu_ver_eoh, tu_ver_body};
	assert_int_equal(signet_verifier_new(opts, &v, &err), SIGNET_OK);
	/* Feed headers first, answer, then the body: tu_feed does all, so answer
	 * after the whole message: the verifier accepts answers any time
	 * before finish. */
	struct signet_message *m = NULL;
	assert_int_equal(signet_message_new(&h, v, &m, &err), SIGNET_OK);
	if (chunk == 0)
		chunk = len ? len : 1;
	for (size_t off = 0; off < len; off += chunk)
		if (signet_message_feed(m, msg + off, len - off < chunk ? len - off : chunk,
					&err) != SIGNET_OK)
			fail_msg("feed: %s", err.msg);
	if (signet_message_finish(m, &err) != SIGNET_OK)
		fail_msg("finish message: %s", err.msg);
	signet_message_free(m);
	tu_answer(v, keys);
	if (signet_verifier_finish(v, &err) != SIGNET_OK)
		fail_msg("verifier finish: %s", err.msg);
	return v;
}

static inline struct signet_verifier *tu_verify(const uint8_t *msg, size_t len, const char *keys)
{
	return tu_verify_opts(msg, len, keys, NULL, 0);
}

/* "pass,fail,..." of all results, into out. */
static inline const char *tu_results(const struct signet_verifier *v, char *out, size_t cap)
{
	out[0] = '\0';
	size_t n = signet_verifier_count(v);
	if (n == 0)
		snprintf(out, cap, "none");
	for (size_t k = 0; k < n; k++) {
		size_t l = strlen(out);
		snprintf(out + l, cap - l, "%s%s", k ? "," : "",
			 signet_result_name(signet_verifier_result(v, k)->result));
	}
	return out;
}

#endif
