/* keyrec.h: DKIM key records (RFC 6376 3.6.1, RFC 8463 4.2), parsed and
 * checked. The verifier uses this internally; dnscheck uses it to explain
 * what is wrong with a published record. */
#ifndef SIGNET_KEYREC_H
#define SIGNET_KEYREC_H

#include <signet/signet.h>
#include <signet/key.h>

/* What a record says. Pointers are not kept: everything is copied. */
struct signet_keyrec_info {
	enum signet_keytype type; /* k= (default rsa); 0 if unknown k= */
	bool revoked;             /* p= empty (RFC 6376 3.6.1) */
	bool testing;             /* t=y */
	bool strict;              /* t=s: i= domain must equal d= */
	bool sha256_allowed;      /* h= absent or lists sha256 */
	bool email_allowed;       /* s= absent, "*" or "email" */
	unsigned bits;            /* RSA modulus bits / 256; 0 if not decoded */
	char k[32];               /* k= as written (for messages) */
};

/* Parses a record (TXT strings already joined). On a syntax or semantic
 * problem returns SIGNET_ERR_SYNTAX or SIGNET_ERR_KEY with msg the reason
 * ("key revoked", "v= must be first and DKIM1", ...); info is filled as far
 * as it got. Does not judge h=/s=/t= against a signature. */
SIGNET_API SIGNET_MUST_USE enum signet_status signet_keyrec_parse(const uint8_t *txt, size_t len,
								  struct signet_keyrec_info *info,
								  struct signet_error *err);

/* True when the record's public key is the public half of key. */
SIGNET_API SIGNET_MUST_USE enum signet_status signet_keyrec_matches(const uint8_t *txt, size_t len,
								    const struct signet_key *key,
								    bool *match,
								    struct signet_error *err);

/* ---- checking a published record (dnscheck, signetd's DNS check) ----------
 * One judgment for every front end: what is wrong or worth knowing about a
 * record, as coded findings that callers only render. */

enum signet_keyrec_severity {
	SIGNET_KEYREC_INFO = 0, /* worth showing, nothing to fix */
	SIGNET_KEYREC_WARNING,  /* works, but should be fixed */
	SIGNET_KEYREC_PROBLEM,  /* verifiers fail or misread the signatures */
};

/* Each code is reported at most once per record. */
enum signet_keyrec_code {
	SIGNET_KEYREC_QUOTES = 1,    /* problem: '"' stored as text (DKIM-KEY-12) */
	SIGNET_KEYREC_BACKSLASH,     /* problem: '\' stored as text (DKIM-KEY-12) */
	SIGNET_KEYREC_UNUSABLE,      /* problem: the record does not parse; msg why */
	SIGNET_KEYREC_REVOKED,       /* problem: p= empty (RFC 6376 3.6.1) */
	SIGNET_KEYREC_UNKNOWN_K,     /* problem: k= not rsa/ed25519 (RFC 6376 3.6.1) */
	SIGNET_KEYREC_RSA_TOO_SMALL, /* problem: < SIGNET_MIN_RSA_BITS (RFC 8301 3.2) */
	SIGNET_KEYREC_RSA_SMALL,     /* warning: < SIGNET_KEYREC_GOOD_RSA_BITS (RFC 8301 3.2) */
	SIGNET_KEYREC_NO_SHA256,     /* problem: h= without sha256 (RFC 8301 3.1) */
	SIGNET_KEYREC_NO_EMAIL,      /* problem: s= without email or * (RFC 6376 3.6.1) */
	SIGNET_KEYREC_TESTING,       /* warning: t=y (RFC 6376 3.6.1) */
	SIGNET_KEYREC_STRICT,        /* info: t=s, i= must be d= exactly (RFC 6376 3.6.1) */
	SIGNET_KEYREC_P_SPACE,       /* warning: white space inside p= (legal, usually a paste) */
	SIGNET_KEYREC_MISMATCH,      /* problem: not the public half of the given key */
	SIGNET_KEYREC_KEY,           /* info: the key type and size ("k=rsa, 2048 bits") */
	SIGNET_KEYREC_MATCH,         /* info: the public half of the given key */
};
#define SIGNET_KEYREC_MAX_FINDINGS 15    /* one per code: the array never truncates */
#define SIGNET_KEYREC_GOOD_RSA_BITS 2048 /* RFC 8301 3.2: signers SHOULD use >= 2048 */

struct signet_keyrec_finding {
	enum signet_keyrec_code code;
	enum signet_keyrec_severity severity;
	const char *tag;  /* the tag concerned ("p", "t", ...), NULL for the whole record; static */
	const char *spec; /* "RFC 8301 3.2", NULL if none; static */
	const char *fix;  /* a generic fix, NULL for info; static */
	char msg[192];    /* one sentence, no trailing period */
};

struct signet_keyrec_report {
	struct signet_keyrec_info info; /* as signet_keyrec_parse fills it */
	size_t at;                      /* SIGNET_KEYREC_P_SPACE: offset of the space */
	size_t n;                       /* findings, in the order of the codes */
	struct signet_keyrec_finding f[SIGNET_KEYREC_MAX_FINDINGS];
};

/* Examines one record (TXT strings already joined) and, when key is not
 * NULL, whether it holds key's public half. A bad record is findings, not
 * an error: returns SIGNET_ERR_INVAL (NULL argument) or SIGNET_ERR_NOMEM
 * (nothing judged) only. A record that does not give a usable key (quotes,
 * UNUSABLE, REVOKED, UNKNOWN_K, RSA_TOO_SMALL) says only that: the other
 * tags describe no key in use. Findings come in the order of the codes. */
SIGNET_API SIGNET_MUST_USE enum signet_status signet_keyrec_check(const uint8_t *txt, size_t len,
								  const struct signet_key *key,
								  struct signet_keyrec_report *out,
								  struct signet_error *err);

/* The worst severity in a report; SIGNET_KEYREC_INFO when it has none. */
SIGNET_API enum signet_keyrec_severity signet_keyrec_worst(const struct signet_keyrec_report *r);

/* "problem", "warning", "info". */
SIGNET_API const char *signet_keyrec_severity_name(enum signet_keyrec_severity s);

#endif
