/* signet.h: status codes, errors, results and limits shared by every part
 * of libsignet. The library is sans-I/O: it never opens files, sockets or
 * DNS, never prints and keeps no global state. */
#ifndef SIGNET_SIGNET_H
#define SIGNET_SIGNET_H

#include <stddef.h>
#include <stdint.h>
#include <stdbool.h>

#if defined(__GNUC__)
#define SIGNET_API __attribute__((visibility("default")))
#define SIGNET_MUST_USE __attribute__((warn_unused_result))
#else
#define SIGNET_API
#define SIGNET_MUST_USE
#endif

/* Limits. Each is a named bound with a reason; hitting one is
 * SIGNET_ERR_LIMIT (an error) or a permerror/policy result (about a
 * signature), never a silent truncation. */
#define SIGNET_MAX_SIGNATURES 16      /* verified per message (RFC 6376 4.2, 6.1 allow a bound) */
#define SIGNET_MAX_HEADER_FIELD 65536 /* one header field, name + value (OpenSMTPD uses 64 KiB) */
#define SIGNET_MAX_HEADER_FIELDS 1000 /* fields kept per message; more → SIGNET_ERR_LIMIT */
#define SIGNET_MAX_HEADER_BYTES (1024 * 1024) /* all header fields together */
#define SIGNET_MAX_TAGS 64                    /* tags in one tag-list (a DKIM signature has ~12) */
#define SIGNET_MAX_H_NAMES 128                /* field names in h= */
#define SIGNET_MAX_KEY_RECORD 4096            /* TXT record bytes accepted (DKIM-KEY-16) */
#define SIGNET_MAX_RSA_BITS 4096              /* larger keys refused (RFC 8301 3.2; cost bound) */
#define SIGNET_MIN_RSA_BITS 1024              /* smaller keys never pass (RFC 8301 3.2) */
#define SIGNET_MAX_SIGNERS 8                  /* signatures one signer adds */
#define SIGNET_FUTURE_SKEW 300                /* seconds t= may lie in the future (DKIM-VER-07) */

/* An error: the call could not do its job. Results about a message are not
 * errors (see enum signet_result). */
enum signet_status {
	SIGNET_OK = 0,
	SIGNET_ERR_NOMEM,  /* allocation failed */
	SIGNET_ERR_LIMIT,  /* a named limit was hit; msg names it */
	SIGNET_ERR_INVAL,  /* bad argument or API misuse */
	SIGNET_ERR_STATE,  /* call out of order (e.g. body before end of headers) */
	SIGNET_ERR_SYNTAX, /* input does not follow the grammar */
	SIGNET_ERR_KEY,    /* key unusable (wrong type, too small, not PEM) */
	SIGNET_ERR_CRYPTO, /* OpenSSL failed */
};

/* Filled by every call that can fail. spec names the rule (e.g. "RFC 6376
 * 3.5") or is NULL; msg is a one-line human reason, always NUL-terminated. */
struct signet_error {
	enum signet_status code;
	const char *spec;
	char msg[192];
};

/* Per-signature outcome, the words of RFC 8601 2.7.1. */
enum signet_result {
	SIGNET_RESULT_NONE = 0,
	SIGNET_RESULT_PASS,
	SIGNET_RESULT_FAIL,
	SIGNET_RESULT_NEUTRAL,
	SIGNET_RESULT_POLICY,
	SIGNET_RESULT_PERMERROR,
	SIGNET_RESULT_TEMPERROR,
};

enum signet_canon { SIGNET_CANON_SIMPLE = 0, SIGNET_CANON_RELAXED };

enum signet_alg {
	SIGNET_ALG_UNKNOWN = 0,
	SIGNET_ALG_RSA_SHA256,
	SIGNET_ALG_ED25519_SHA256,
	SIGNET_ALG_RSA_SHA1, /* recognized, never signed, never passes (RFC 8301) */
};

/* "pass", "fail", ... as in RFC 8601. Never NULL. */
SIGNET_API const char *signet_result_name(enum signet_result r);
/* "rsa-sha256", "ed25519-sha256", "rsa-sha1", or "unknown". */
SIGNET_API const char *signet_alg_name(enum signet_alg a);
/* "simple" or "relaxed". */
SIGNET_API const char *signet_canon_name(enum signet_canon c);
/* Parses "rsa-sha256" etc. (ASCII case-insensitive); SIGNET_ALG_UNKNOWN if not known. */
SIGNET_API enum signet_alg signet_alg_parse(const char *s, size_t len);
/* Parses "relaxed/simple", "relaxed" (body then simple, RFC 6376 3.5 c=). */
SIGNET_API SIGNET_MUST_USE enum signet_status signet_canon_parse(const char *s, size_t len,
								 enum signet_canon *hdr,
								 enum signet_canon *body,
								 struct signet_error *err);
/* "ok", "out of memory", ... for a status code. Never NULL. */
SIGNET_API const char *signet_status_name(enum signet_status s);
/* libsignet's version string. */
SIGNET_API const char *signet_version(void);

#endif
