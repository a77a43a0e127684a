/* verifier.h: streaming DKIM verifier (RFC 6376 6, RFC 8301, RFC 8463).
 * Feed header fields, end of headers; answer the key queries it asks (in
 * any order, before or during the body); feed the body; finish; read one
 * result per DKIM-Signature. It never does DNS itself. */
#ifndef SIGNET_VERIFIER_H
#define SIGNET_VERIFIER_H

#include <signet/signet.h>

struct signet_verifier;

/* l= (body length) policy (RFC 6376 8.2). */
enum signet_l_policy {
	SIGNET_L_HONOUR = 0,      /* the RFC's reading: verify the first l= octets; the
				   * unsigned rest is named in notes */
	SIGNET_L_POLICY_UNSIGNED, /* content after l= → result policy, "content after l= is unsigned" */
};

struct signet_verify_options {
	uint64_t now;                 /* unix time for x= and t= checks (the core has no clock) */
	enum signet_l_policy l_policy;
	bool explain;                 /* keep the canonical header input and steps for --explain */
};

/* DNS outcome for a key query (RFC 6376 6.1.2). */
enum signet_dns_status {
	SIGNET_DNS_OK = 0,   /* records given (TXT strings of each RR joined, 3.6.2.2) */
	SIGNET_DNS_NXDOMAIN, /* no such name or no TXT: permerror "no key" */
	SIGNET_DNS_TEMPFAIL, /* timeout, SERVFAIL: temperror */
};

struct signet_txt {
	const uint8_t *p;
	size_t len;
};

struct signet_query {
	unsigned id;       /* pass back to signet_verifier_answer */
	const char *name;  /* "<s>._domainkey.<d>", borrowed until free */
};

/* One step of the evaluation, for --explain. */
struct signet_step {
	const char *name; /* "tags", "key", "key check", "body hash", "header hash", "signature" */
	bool ok;
	char detail[320];
};

#define SIGNET_MAX_STEPS 8

struct signet_sig_result {
	enum signet_result result;
	char reason[192];      /* one human line; "" for pass */
	char notes[192];       /* extra facts: "multiple key records", "test mode", ... */
	/* Tag values as written (NUL-terminated copies, "" when absent). b is
	 * the b= value with whitespace removed. */
	char d[256], s[256], i[256], a[32], b[700], bh[128];
	enum signet_alg alg;
	enum signet_canon hdr_canon, body_canon;
	unsigned key_bits;     /* 0 when no key was decoded */
	bool testing;          /* key t=y: treat like unsigned (RFC 6376 3.6.1) */
	bool has_l;
	uint64_t l;
	uint64_t body_length;  /* canonical body octets seen */
	char bh_computed[64];  /* base64 of the computed body hash, "" if not reached */
	/* explain only: the exact header hash input (canonicalized fields and
	 * the signature with b= emptied), borrowed until free. */
	const uint8_t *hash_input;
	size_t hash_input_len;
	struct signet_step steps[SIGNET_MAX_STEPS];
	size_t nsteps;
};

/* opts may be NULL (now = 0: x=/t= not checked). */
SIGNET_API SIGNET_MUST_USE enum signet_status
signet_verifier_new(const struct signet_verify_options *opts, struct signet_verifier **out,
		    struct signet_error *err);

/* One header field in message order (see signet_signer_header). */
SIGNET_API SIGNET_MUST_USE enum signet_status
signet_verifier_header(struct signet_verifier *v, const uint8_t *name, size_t nlen,
		       const uint8_t *value, size_t vlen, struct signet_error *err);

/* Parses every DKIM-Signature (at most SIGNET_MAX_SIGNATURES evaluated)
 * and prepares the key queries. */
SIGNET_API SIGNET_MUST_USE enum signet_status
signet_verifier_end_of_headers(struct signet_verifier *v, struct signet_error *err);

/* Next key query not yet handed out; false when none is left. One query
 * per distinct name (DKIM-VER-12). */
SIGNET_API bool signet_verifier_next_query(struct signet_verifier *v, struct signet_query *q);

/* The answer to query id: n TXT records (ignored unless SIGNET_DNS_OK). */
SIGNET_API SIGNET_MUST_USE enum signet_status
signet_verifier_answer(struct signet_verifier *v, unsigned id, enum signet_dns_status st,
		       const struct signet_txt *records, size_t n, struct signet_error *err);

SIGNET_API SIGNET_MUST_USE enum signet_status
signet_verifier_body(struct signet_verifier *v, const uint8_t *p, size_t len, struct signet_error *err);

/* Ends the body and decides every result. A query still unanswered makes
 * its signatures temperror "key lookup not answered". */
SIGNET_API SIGNET_MUST_USE enum signet_status
signet_verifier_finish(struct signet_verifier *v, struct signet_error *err);

/* After finish: number of results (one per evaluated signature, header
 * order), each result, and how many signatures were not evaluated because
 * of SIGNET_MAX_SIGNATURES. */
SIGNET_API size_t signet_verifier_count(const struct signet_verifier *v);
SIGNET_API const struct signet_sig_result *signet_verifier_result(const struct signet_verifier *v,
								   size_t idx);
SIGNET_API size_t signet_verifier_unchecked(const struct signet_verifier *v);

SIGNET_API void signet_verifier_free(struct signet_verifier *v);

#endif
