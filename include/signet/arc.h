/* arc.h: ARC (RFC 8617), sans-I/O. One object per message validates the
 * ARC chain it carries (5.2) and, if asked, seals it with one more ARC set
 * (5.1). Feed header fields, end of headers; answer the key queries; feed
 * the body; finish; read the result; optionally seal. No DNS, no clock. */
#ifndef SIGNET_ARC_H
#define SIGNET_ARC_H

#include <signet/key.h>
#include <signet/keyset.h>
#include <signet/signet.h>
#include <signet/verifier.h> /* signet_query, signet_dns_status, SIGNET_REASON_MAX */

/* ARC-SET-02 (RFC 8617 4.2.1): i= runs 1..50; a chain with more sets
 * fails, and a message with 50 sets cannot be sealed again. */
#define SIGNET_ARC_MAX_INSTANCES 50
/* The Authentication-Results payload a sealer copies into its AAR. */
#define SIGNET_ARC_MAX_AAR 16384

struct signet_arc;

struct signet_arc_options {
	uint64_t now; /* unix time for AMS x= (0: not checked) */
};

/* The chain validation status (ARC-VAL-01): NONE (no ARC set), PASS, FAIL,
 * or TEMPERROR (a key lookup failed temporarily: try again; RFC 8617 has no
 * such cv, so a sealer refuses to seal it). */
struct signet_arc_result {
	enum signet_result result;
	char reason[SIGNET_REASON_MAX]; /* one line; "" for pass and none */
	unsigned instances;             /* N, the sets found (0 when none or malformed) */
	/* ARC-VAL-02 (RFC 8617 5.2 step 5): with result pass, the lowest
	 * instance k such that the AMS of k..N all verify; 0 when all of them
	 * do (the message is as the first sealer saw it), or no chain. */
	unsigned oldest_pass;
};

SIGNET_API SIGNET_MUST_USE enum signet_status signet_arc_new(const struct signet_arc_options *opts,
							     struct signet_arc **out,
							     struct signet_error *err);

/* One header field in message order (as signet_verifier_header). */
SIGNET_API SIGNET_MUST_USE enum signet_status signet_arc_header(struct signet_arc *a,
								const uint8_t *name, size_t nlen,
								const uint8_t *value, size_t vlen,
								struct signet_error *err);

/* Finds the ARC sets, checks the structure and prepares the key queries. */
SIGNET_API SIGNET_MUST_USE enum signet_status signet_arc_end_of_headers(struct signet_arc *a,
									struct signet_error *err);

/* Key queries, as for the verifier: next one not handed out (false when
 * none is left; q->name borrowed until free), and its answer. */
SIGNET_API bool signet_arc_next_query(struct signet_arc *a, struct signet_query *q);
SIGNET_API SIGNET_MUST_USE enum signet_status signet_arc_answer(struct signet_arc *a, unsigned id,
								enum signet_dns_status st,
								const struct signet_txt *records,
								size_t n, struct signet_error *err);

/* Body bytes, any chunking, CRLF or bare LF. Besides the hashes the AMS
 * need, the relaxed body hash a seal needs is always computed (one more
 * SHA-256 pass when no AMS uses relaxed/relaxed). */
SIGNET_API SIGNET_MUST_USE enum signet_status signet_arc_body(struct signet_arc *a,
							      const uint8_t *p, size_t len,
							      struct signet_error *err);

/* Ends the body and decides the chain. An unanswered query is temperror. */
SIGNET_API SIGNET_MUST_USE enum signet_status signet_arc_finish(struct signet_arc *a,
								struct signet_error *err);

/* After finish; borrowed until signet_arc_free. NULL before. */
SIGNET_API const struct signet_arc_result *signet_arc_result(const struct signet_arc *a);

/* ARC-VAL-03: the d= of the ARC-Seal of instance i (1..instances): who
 * vouched for the chain, for a receiver's list of trusted sealers (DMARC,
 * RFC 8617 7.2). Only for a chain that passed (every seal verified); *d is
 * borrowed until signet_arc_free, not NUL-terminated, as written in the
 * field. False (and *d NULL) otherwise. */
SIGNET_API bool signet_arc_sealer(const struct signet_arc *a, unsigned i, const uint8_t **d,
				  size_t *len);

struct signet_arc_seal_params {
	const char *domain;           /* d= (required) */
	const char *selector;         /* s= (required) */
	const struct signet_key *key; /* borrowed for the call; rsa-sha256 or ed25519-sha256 */
	/* ARC-AAR-01: our Authentication-Results payload, "authserv-id;
	 * method=result ..." (the text after "Authentication-Results:"), at
	 * most SIGNET_ARC_MAX_AAR bytes, no CR or LF except CRLF WSP folding. */
	const char *authres;
	/* Colon-separated AMS h= list, or NULL for the default set (DKIM's
	 * default names present in the message, no ARC field). ARC header
	 * fields are refused: RFC 8617 4.1.2 forbids ARC-Seal, and signing the
	 * others adds nothing the seal does not cover. */
	const char *headers;
	uint64_t timestamp; /* t= of the AMS and the AS */
	/* The chain result the caller got for this message before changing it
	 * (a mailing list: the arc= of its own inbound Authentication-Results),
	 * or SIGNET_RESULT_NONE (0) to use this object's result alone. FAIL
	 * always seals cv=fail. PASS overrides only a failure of the newest
	 * AMS (the part a change to the message breaks, 5.2 step 4): when the
	 * set structure, the cv= values or any ARC-Seal fail here, or a seal's
	 * key lookup failed, the chain is sealed cv=fail all the same. */
	enum signet_result upstream;
};

/* ARC-SEAL-01 (RFC 8617 5.1): after finish, makes set N+1 with cv= from
 * this object's own result (none for N = 0, pass, fail; never pass for a
 * failed chain; see upstream for a message changed since it arrived).
 * aar, ams and as get the three field values (the text after the colon,
 * starting with a space, CRLF-folded, no final CRLF), borrowed until free,
 * to be added above the existing fields. When the newest seal already
 * says cv=fail nothing is added (RFC 8617 5.1.2) and all three are NULL.
 * Errors: SIGNET_ERR_STATE before finish, or for a temperror chain (unless
 * upstream is PASS and every seal verified); SIGNET_ERR_INVAL for bad
 * params (d=, s=, no key, an AMS h= naming an ARC field, an authres with a
 * bare CR or LF); SIGNET_ERR_LIMIT with SIGNET_ARC_MAX_INSTANCES sets, an
 * authres over SIGNET_ARC_MAX_AAR, or a message over a header limit. Once
 * it succeeds it cannot be called again (SIGNET_ERR_STATE); after an error
 * it may be. */
struct signet_arc_seal {
	const char *aar, *ams, *as;
	/* What the new set says, for the caller's log and counters without
	 * reading the fields again: its i= and cv= (NONE, PASS or FAIL);
	 * 0 and NONE when nothing was added. */
	unsigned instance;
	enum signet_result cv;
};

SIGNET_API SIGNET_MUST_USE enum signet_status signet_arc_seal(
	struct signet_arc *a, const struct signet_arc_seal_params *p, struct signet_arc_seal *out,
	struct signet_error *err);

SIGNET_API void signet_arc_free(struct signet_arc *a);

#endif
