/* names.c: the names of results, algorithms, canonicalizations and
 * status codes, and their parsers (signet.h). */
#include <string.h>

#include "buf.h"
#include "error.h"

const char *signet_version(void)
{
	return SIGNET_VERSION;
}

const char *signet_result_name(enum signet_result r)
{
	switch (r) {
	case SIGNET_RESULT_NONE: return "none";
	case SIGNET_RESULT_PASS: return "pass";
	case SIGNET_RESULT_FAIL: return "fail";
	case SIGNET_RESULT_NEUTRAL: return "neutral";
	case SIGNET_RESULT_POLICY: return "policy";
	case SIGNET_RESULT_PERMERROR: return "permerror";
	case SIGNET_RESULT_TEMPERROR: return "temperror";
	}
	return "permerror";
}

const char *signet_alg_name(enum signet_alg a)
{
	switch (a) {
	case SIGNET_ALG_RSA_SHA256: return "rsa-sha256";
	case SIGNET_ALG_ED25519_SHA256: return "ed25519-sha256";
	case SIGNET_ALG_RSA_SHA1: return "rsa-sha1";
	case SIGNET_ALG_UNKNOWN: break;
	}
	return "unknown";
}

const char *signet_canon_name(enum signet_canon c)
{
	return c == SIGNET_CANON_RELAXED ? "relaxed" : "simple";
}

const char *signet_status_name(enum signet_status s)
{
	switch (s) {
	case SIGNET_OK: return "ok";
	case SIGNET_ERR_NOMEM: return "out of memory";
	case SIGNET_ERR_LIMIT: return "limit exceeded";
	case SIGNET_ERR_INVAL: return "invalid argument";
	case SIGNET_ERR_STATE: return "call out of order";
	case SIGNET_ERR_SYNTAX: return "syntax error";
	case SIGNET_ERR_KEY: return "unusable key";
	case SIGNET_ERR_CRYPTO: return "crypto library error";
	}
	return "unknown status";
}

enum signet_alg signet_alg_parse(const char *s, size_t len)
{
	/* RFC 6376 3.5 a=: the grammar shows lower case; we accept any case as
	 * dkimpy and OpenDKIM do (DKIM-SIG-03). */
	struct signet_span sp = {(const uint8_t *)s, len};
	if (span_eq_nocase(sp, "rsa-sha256"))
		return SIGNET_ALG_RSA_SHA256;
	if (span_eq_nocase(sp, "ed25519-sha256"))
		return SIGNET_ALG_ED25519_SHA256;
	if (span_eq_nocase(sp, "rsa-sha1"))
		return SIGNET_ALG_RSA_SHA1;
	return SIGNET_ALG_UNKNOWN;
}

static bool canon_word(struct signet_span w, enum signet_canon *out)
{
	if (span_eq_nocase(w, "simple")) {
		*out = SIGNET_CANON_SIMPLE;
		return true;
	}
	if (span_eq_nocase(w, "relaxed")) {
		*out = SIGNET_CANON_RELAXED;
		return true;
	}
	return false;
}

enum signet_status signet_canon_parse(const char *s, size_t len, enum signet_canon *hdr,
				      enum signet_canon *body, struct signet_error *err)
{
	/* RFC 6376 3.5 c=: "header/body"; a lone algorithm is the header's and
	 * the body is simple (DKIM-SIG-05). */
	const char *slash = memchr(s, '/', len);
	struct signet_span h = {(const uint8_t *)s, slash ? (size_t)(slash - s) : len};
	*body = SIGNET_CANON_SIMPLE;
	if (!canon_word(h, hdr))
		return error_set(err, SIGNET_ERR_SYNTAX, "RFC 6376 3.5",
				 "unknown header canonicalization in c=");
	if (slash != NULL) {
		struct signet_span b = {(const uint8_t *)slash + 1, len - h.len - 1};
		if (!canon_word(b, body))
			return error_set(err, SIGNET_ERR_SYNTAX, "RFC 6376 3.5",
					 "unknown body canonicalization in c=");
	}
	return SIGNET_OK;
}
