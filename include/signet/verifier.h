/* verifier.h: streaming DKIM verifier (RFC 6376 6, RFC 8301, RFC 8463).
 * Feed header fields, end of headers; answer the key queries it asks (in
 * any order, before or during the body); feed the body; finish; read one
 * result per DKIM-Signature. It never does DNS itself. */
#ifndef SIGNET_VERIFIER_H
#define SIGNET_VERIFIER_H

#include <signet/keyset.h>
#include <signet/signet.h>

struct signet_verifier;

/* l= (body length) policy (RFC 6376 8.2). */
enum signet_l_policy {
	SIGNET_L_HONOUR = 0, /* the RFC's reading: verify the first l= octets; the
				   * unsigned rest is named in notes */
	SIGNET_L_POLICY_UNSIGNED, /* content after l= → result policy, "content after l= is unsigned" */
};

struct signet_psl; /* psl.h */

struct signet_verify_options {
	uint64_t now; /* unix time for x= and t= checks (the core has no clock) */
	enum signet_l_policy l_policy;
	bool explain; /* keep steps, body and z= findings and the header hash
				       * input (signet_verifier_explain) */
	/* DKIM-VER-17: the public suffix list, borrowed (it must outlive the
	 * verifier); NULL = no check. */
	const struct signet_psl *psl;
};

/* DNS outcome for a key query (RFC 6376 6.1.2). */
enum signet_dns_status {
	SIGNET_DNS_OK = 0,   /* records given (TXT strings of each RR joined, 3.6.2.2) */
	SIGNET_DNS_NXDOMAIN, /* no such name or no TXT: permerror "no key" */
	SIGNET_DNS_TEMPFAIL, /* timeout, SERVFAIL: temperror */
};

struct signet_query {
	unsigned id;      /* pass back to signet_verifier_answer */
	const char *name; /* "<s>._domainkey.<d>", borrowed until free */
};

/* Text we write into results (reason, notes, steps) is bounded; where it
 * quotes input (a DNS name, a tag value), the quote is at most
 * SIGNET_QUOTE_MAX bytes of it, and a longer one is cut and ends in "...".
 * Text that would still not fit its array ends in "..." too: a result
 * never cuts anything silently. */
#define SIGNET_REASON_MAX 192 /* reason[] and notes[], with the NUL */
#define SIGNET_QUOTE_MAX 96   /* input bytes quoted in one reason or step, "..." included */
#define SIGNET_STEP_MAX 512   /* signet_step.detail, with the NUL */

/* One step of the evaluation, for --explain. */
struct signet_step {
	const char *name; /* "tags", "key", "key check", "body hash", "header hash", "signature" */
	bool ok;
	char detail[SIGNET_STEP_MAX];
};

#define SIGNET_MAX_STEPS 8

/* Explain mode, body hash mismatch: where the body changed. The search
 * runs on the canonical body while it streams (the SHA-256 state is cloned
 * at each canonical line end and compared with bh=), so it costs time
 * linear in the body and no memory that grows with it. */
#define SIGNET_EXPLAIN_LINES 3      /* lines kept after the matching prefix */
#define SIGNET_EXPLAIN_LINE_MAX 200 /* bytes kept of each (the rest is cut, and cut says so) */

struct signet_explain_line {
	uint8_t p[SIGNET_EXPLAIN_LINE_MAX]; /* canonical bytes without the CRLF; any byte */
	size_t len;
	bool cut; /* the line was longer than SIGNET_EXPLAIN_LINE_MAX */
};

struct signet_body_explain {
	bool searched;         /* explain was on and bh= did not match the body */
	bool prefix_found;     /* the first prefix_lines canonical lines hash to bh= */
	uint64_t prefix_lines; /* lines (and octets) of that prefix; with a simple body */
	uint64_t prefix_bytes; /*   canonicalization an empty signed body counts as 0 lines */
	uint64_t total_lines;  /* canonical lines (and octets) received, up to l= */
	uint64_t total_bytes;
	/* The lines right after the prefix (those added after signing), or the
	 * first lines of the body when no prefix matched. */
	struct signet_explain_line added[SIGNET_EXPLAIN_LINES];
	size_t nadded;
	/* A relay change that, undone on the received body, gives bh=: a
	 * static string, e.g. "trailing whitespace stripped from each line";
	 * NULL if none of those tried does. Tried: trailing whitespace
	 * stripped and leading spaces turned back into tabs (simple body
	 * only: relaxed already ignores both), bare CRs removed, and a doubled
	 * leading dot undone (dot-stuffing left in). */
	const char *transform;
};

/* Explain mode, z= present (RFC 6376 3.5): the copied header fields
 * (dkim-quoted-printable decoded) that differ from the received ones.
 * Control bytes are shown as '?'; a value longer than its array is cut
 * and ends in "...". */
#define SIGNET_EXPLAIN_ZDIFFS 4

struct signet_zdiff {
	char name[64];          /* field name as copied */
	char signed_value[240]; /* decoded z= copy */
	char received[240];     /* the received field's value, unfolded; "" if absent */
	bool missing;           /* no received field of that name */
};

/* The result of one signature: small, and the same with or without explain.
 *
 * d, s, i, a, b and bh are the tag values as written, NUL-terminated and
 * never NULL ("" when the tag is absent or the signature could not be
 * parsed far enough), whole whatever their length. They cannot contain NUL
 * (tag-list grammar, RFC 6376 3.2), so strlen() is their length. b is the
 * b= value with whitespace removed. They are borrowed: valid until
 * signet_verifier_free. */
struct signet_sig_result {
	enum signet_result result;
	char reason[SIGNET_REASON_MAX]; /* one human line; "" for pass */
	char notes[SIGNET_REASON_MAX];  /* extra facts: "multiple key records", "test mode", ... */
	const char *d, *s, *i, *a, *b, *bh;
	enum signet_alg alg;
	enum signet_canon hdr_canon, body_canon;
	unsigned key_bits;  /* 0 when no key was decoded */
	bool testing;       /* key t=y: treat like unsigned (RFC 6376 3.6.1) */
	bool public_suffix; /* DKIM-VER-17: d= is a public suffix (notes say so too) */
	bool has_l;
	uint64_t l;
	uint64_t body_length; /* canonical body octets seen */
	char bh_computed[64]; /* base64 of the computed body hash (our text), "" if not reached */
};

/* What --explain shows of one signature (signet_verifier_explain). */
struct signet_sig_explain {
	struct signet_step steps[SIGNET_MAX_STEPS];
	size_t nsteps;
	/* The exact header hash input (canonicalized fields and the signature
	 * with b= emptied), borrowed until signet_verifier_free; NULL when the
	 * header hash was not reached. */
	const uint8_t *hash_input;
	size_t hash_input_len;
	/* See struct signet_body_explain (body.searched false when the body
	 * hash matched). */
	struct signet_body_explain body;
	/* When z= is present: has_z, how many copied fields there were
	 * (nz_fields), and those that differ (nzdiff, at most
	 * SIGNET_EXPLAIN_ZDIFFS; zdiff_more counts the rest). */
	bool has_z;
	size_t nz_fields;
	struct signet_zdiff zdiff[SIGNET_EXPLAIN_ZDIFFS];
	size_t nzdiff, zdiff_more;
};

/* opts may be NULL (now = 0: x=/t= not checked). */
SIGNET_API SIGNET_MUST_USE enum signet_status signet_verifier_new(
	const struct signet_verify_options *opts, struct signet_verifier **out,
	struct signet_error *err);

/* One header field in message order (see signet_signer_header). */
SIGNET_API SIGNET_MUST_USE enum signet_status signet_verifier_header(
	struct signet_verifier *v, const uint8_t *name, size_t nlen, const uint8_t *value,
	size_t vlen, struct signet_error *err);

/* Parses every DKIM-Signature (at most SIGNET_MAX_SIGNATURES evaluated)
 * and prepares the key queries. */
SIGNET_API SIGNET_MUST_USE enum signet_status signet_verifier_end_of_headers(
	struct signet_verifier *v, struct signet_error *err);

/* Next key query not yet handed out; false when none is left. One query
 * per distinct name (DKIM-VER-12). */
SIGNET_API bool signet_verifier_next_query(struct signet_verifier *v, struct signet_query *q);

/* The answer to query id: n TXT records (ignored unless SIGNET_DNS_OK). */
SIGNET_API SIGNET_MUST_USE enum signet_status signet_verifier_answer(
	struct signet_verifier *v, unsigned id, enum signet_dns_status st,
	const struct signet_txt *records, size_t n, struct signet_error *err);

/* The answer to query id as a parsed set: the same as signet_verifier_answer
 * with SIGNET_DNS_OK and the records keys was parsed from. The verifier
 * takes its own reference (until signet_verifier_free); the caller keeps its
 * own. SIGNET_ERR_INVAL for an unknown id or NULL keys, SIGNET_ERR_STATE if
 * the query was answered already. */
SIGNET_API SIGNET_MUST_USE enum signet_status signet_verifier_answer_key(struct signet_verifier *v,
									 unsigned id,
									 struct signet_keyset *keys,
									 struct signet_error *err);

SIGNET_API SIGNET_MUST_USE enum signet_status signet_verifier_body(struct signet_verifier *v,
								   const uint8_t *p, size_t len,
								   struct signet_error *err);

/* Ends the body and decides every result. A query still unanswered makes
 * its signatures temperror "key lookup not answered". */
SIGNET_API SIGNET_MUST_USE enum signet_status signet_verifier_finish(struct signet_verifier *v,
								     struct signet_error *err);

/* After finish: number of results (one per evaluated signature, header
 * order), each result (borrowed until signet_verifier_free), and how many signatures were not evaluated because
 * of SIGNET_MAX_SIGNATURES. */
SIGNET_API size_t signet_verifier_count(const struct signet_verifier *v);
SIGNET_API const struct signet_sig_result *signet_verifier_result(const struct signet_verifier *v,
								  size_t idx);
SIGNET_API size_t signet_verifier_unchecked(const struct signet_verifier *v);

/* After finish: what explain found for result idx, borrowed until
 * signet_verifier_free; NULL when explain was off or idx is out of range. */
SIGNET_API const struct signet_sig_explain *signet_verifier_explain(const struct signet_verifier *v,
								    size_t idx);

SIGNET_API void signet_verifier_free(struct signet_verifier *v);

#endif
