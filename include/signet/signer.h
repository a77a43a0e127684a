/* signer.h: streaming DKIM signer (RFC 6376 5, RFC 8463). Feed header
 * fields, end of headers, body chunks, finish; take the DKIM-Signature
 * values to insert at the top of the message (RFC 6376 5.6). Several
 * signatures (e.g. RSA and ed25519) share one pass over the body. */
#ifndef SIGNET_SIGNER_H
#define SIGNET_SIGNER_H

#include <signet/signet.h>
#include <signet/key.h>

struct signet_signer;

/* DKIM-EAI-04 (RFC 8616 5): how d=, s= and the domain of i= are written.
 * The names may be given as U-labels or A-labels either way. */
enum signet_idn_labels {
	SIGNET_IDN_AUTO = 0, /* U-labels when a header field of the message already
			      * holds UTF-8 (an EAI message, RFC 6532), else A-labels */
	SIGNET_IDN_ALABELS,  /* always A-labels (for verifiers that know no U-labels) */
};

struct signet_sign_params {
	const char *domain;           /* d= (required) */
	const char *selector;         /* s= (required) */
	const struct signet_key *key; /* borrowed; must outlive the signer */
	enum signet_canon hdr_canon;  /* c= header part */
	enum signet_canon body_canon; /* c= body part */
	/* Colon-separated field names to sign, or NULL for the default set
	 * (DKIM-HDR-04) with From, Subject, Date, To, Cc, Reply-To, Message-ID,
	 * MIME-Version and Content-Type oversigned. A custom list goes into h=
	 * as written (rspamd style "from:to:from"), From added if missing. */
	const char *headers;
	bool oversign;              /* custom list: each name once more than present
				      * (or as often as listed, if more) */
	uint64_t timestamp;         /* t= (always written) */
	uint64_t expire;            /* x=; 0 = none; must be > timestamp */
	const char *auid;           /* i=; NULL = none; must be within d= */
	enum signet_idn_labels idn; /* DKIM-EAI-04; the local part of i= is kept as given */
};

SIGNET_API SIGNET_MUST_USE enum signet_status signet_signer_new(struct signet_signer **out,
								struct signet_error *err);

/* Adds a signature to make. Before the first header. Refuses rsa-sha1,
 * RSA keys under 1024 bits, x= <= t=, i= outside d= (RFC 8301, 6376 3.5),
 * and names that have no A-label or U-label form (invalid UTF-8, a bad
 * "xn--" label; RFC 5890).
 * Strings are copied. At most SIGNET_MAX_SIGNERS. */
SIGNET_API SIGNET_MUST_USE enum signet_status signet_signer_add(struct signet_signer *s,
								const struct signet_sign_params *p,
								struct signet_error *err);

/* One header field in message order: name as written, value = the bytes
 * after the colon (leading space and folding kept; LF or CRLF), no final
 * line end. Fields are kept (bounded) until end of headers. */
SIGNET_API SIGNET_MUST_USE enum signet_status signet_signer_header(struct signet_signer *s,
								   const uint8_t *name, size_t nlen,
								   const uint8_t *value,
								   size_t vlen,
								   struct signet_error *err);

/* Refuses (SIGNET_ERR_SYNTAX) a message without exactly one From
 * (DKIM-SIGN-07). */
SIGNET_API SIGNET_MUST_USE enum signet_status signet_signer_end_of_headers(
	struct signet_signer *s, struct signet_error *err);

/* Body bytes, any chunking, CRLF or bare LF. */
SIGNET_API SIGNET_MUST_USE enum signet_status signet_signer_body(struct signet_signer *s,
								 const uint8_t *p, size_t len,
								 struct signet_error *err);

SIGNET_API SIGNET_MUST_USE enum signet_status signet_signer_finish(struct signet_signer *s,
								   struct signet_error *err);

/* After finish: the number of signatures made (as added) and each one's
 * field value, the text after "DKIM-Signature:", starting with a space,
 * folded with CRLF TAB below 78 columns, no final CRLF. Borrowed until
 * signet_signer_free. */
SIGNET_API size_t signet_signer_count(const struct signet_signer *s);
SIGNET_API const char *signet_signer_signature(const struct signet_signer *s, size_t idx);

SIGNET_API void signet_signer_free(struct signet_signer *s);

#endif
