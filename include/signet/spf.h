/* spf.h: SPF (RFC 7208) check_host() as a sans-I/O evaluator. Give it the
 * client address, MAIL FROM and HELO; it asks for the DNS answers it needs
 * (TXT, A, AAAA, MX, PTR) the way the DKIM verifier asks for keys, and the
 * caller answers them, in any order. Several questions may be outstanding
 * at once (the addresses of the MX hosts of one mx mechanism, the names of
 * a PTR answer) so a caller can resolve them in parallel. It never does DNS,
 * reads no clock and keeps no global state.
 *
 *   signet_spf_new(&req, &spf, &err);
 *   while (!signet_spf_done(spf)) {
 *           while (signet_spf_next_query(spf, &q))  ... start q ...
 *           ... for each answer: signet_spf_answer(spf, q.id, status, rrs, n, &err);
 *   }
 *   out = signet_spf_outcome(spf);
 */
#ifndef SIGNET_SPF_H
#define SIGNET_SPF_H

#include <signet/signet.h>
#include <signet/verifier.h> /* enum signet_dns_status */

struct signet_spf;

/* Limits (RFC 7208 4.6.4). Crossing one is permerror with the term and the
 * limit named in the reason. */
#define SIGNET_SPF_MAX_DNS_TERMS 10   /* include, a, mx, ptr, exists, redirect per check */
#define SIGNET_SPF_MAX_VOID_LOOKUPS 2 /* answers with no records (NXDOMAIN or NODATA) */
#define SIGNET_SPF_MAX_NAMES 10       /* MX names of one mx (more: permerror); PTR names used */
/* Our own bounds, not the RFC's: an SPF record (its TXT strings joined)
 * longer than this is permerror; an explanation that expands to more is
 * dropped (the default explanation is used); trace lines past the count are
 * counted, not kept. */
#define SIGNET_SPF_MAX_RECORD 4096
#define SIGNET_SPF_MAX_EXPLANATION 1024
#define SIGNET_SPF_MAX_TRACE 256

/* The results of RFC 7208 2.6. */
enum signet_spf_result {
	SIGNET_SPF_NONE = 0,
	SIGNET_SPF_NEUTRAL,
	SIGNET_SPF_PASS,
	SIGNET_SPF_FAIL,
	SIGNET_SPF_SOFTFAIL,
	SIGNET_SPF_TEMPERROR,
	SIGNET_SPF_PERMERROR,
};

/* Which identity is checked (RFC 7208 2.3, 2.4). */
enum signet_spf_identity { SIGNET_SPF_MAILFROM = 0, SIGNET_SPF_HELO };

/* DNS record types the evaluator asks for (RFC 1035 numbers). */
enum signet_rrtype {
	SIGNET_RR_A = 1,
	SIGNET_RR_PTR = 12,
	SIGNET_RR_MX = 15,
	SIGNET_RR_TXT = 16,
	SIGNET_RR_AAAA = 28,
};

struct signet_spf_request {
	bool ipv6;             /* ip holds 16 bytes (IPv6) or the first 4 (IPv4) */
	uint8_t ip[16];        /* an IPv4-mapped IPv6 address is checked as IPv4 */
	const char *mail_from; /* the address, without <>; "" or NULL: null sender */
	const char *helo;      /* HELO/EHLO name; may be NULL for a MAIL FROM check */
	enum signet_spf_identity identity;
	/* Explanation for a fail when the record has no usable exp= (RFC 7208
	 * 6.2); NULL: none. Expanded like exp= text (%{s}, %{i}, ...). */
	const char *default_explanation;
	const char *receiver; /* %{r}: the checking host's name; NULL: "unknown" */
	uint64_t now;         /* %{t}: seconds since the epoch */
	bool trace;           /* keep a line per term evaluated (for --explain) */
};

struct signet_spf_query {
	unsigned id;      /* pass back to signet_spf_answer */
	const char *name; /* borrowed until the query is answered */
	enum signet_rrtype type;
};

/* One record of an answer. TXT: the character-strings joined (RFC 7208
 * 3.3); A: 4 bytes; AAAA: 16 bytes; MX: the exchange name (text, pref set);
 * PTR: the name (text). A record of the wrong size for A/AAAA is ignored. */
struct signet_rr {
	const uint8_t *p;
	size_t len;
	uint16_t pref; /* MX only */
};

struct signet_spf_outcome {
	enum signet_spf_result result;
	enum signet_spf_identity identity;
	const char *domain;       /* the domain checked (of MAIL FROM or HELO) */
	const char *sender;       /* <sender> as checked: "postmaster@HELO" for a null sender */
	unsigned lookups;         /* DNS-querying terms counted (SIGNET_SPF_MAX_DNS_TERMS) */
	unsigned void_lookups;    /* empty answers counted (SIGNET_SPF_MAX_VOID_LOOKUPS) */
	const char *mechanism;    /* the term that decided, as written; NULL if none did */
	const char *explanation;  /* fail only (exp= or the default); NULL otherwise */
	const char *reason;       /* one human line: why this result */
	const char *const *trace; /* ntrace lines when req.trace; else NULL */
	size_t ntrace;
	size_t trace_dropped; /* lines past SIGNET_SPF_MAX_TRACE, not kept */
};

/* Starts check_host() for req (copied: the strings need not outlive the
 * call). A domain that cannot be checked (not a multi-label name, RFC 7208
 * 4.3) gives a finished evaluation with result none and no query. */
SIGNET_API SIGNET_MUST_USE enum signet_status signet_spf_new(const struct signet_spf_request *req,
							     struct signet_spf **out,
							     struct signet_error *err);

/* The next question not yet handed out; false when there is none now (the
 * evaluation may still wait for answers to questions handed out before). */
SIGNET_API bool signet_spf_next_query(struct signet_spf *s, struct signet_spf_query *q);

/* Answers question id: status OK with n records (n = 0: no data),
 * NXDOMAIN, or TEMPFAIL. rrs are read during the call only. An unknown or
 * already answered id is SIGNET_ERR_INVAL. */
SIGNET_API SIGNET_MUST_USE enum signet_status signet_spf_answer(struct signet_spf *s, unsigned id,
								enum signet_dns_status status,
								const struct signet_rr *rrs,
								size_t n, struct signet_error *err);

SIGNET_API bool signet_spf_done(const struct signet_spf *s);

/* The outcome, once done (NULL before); strings borrowed until free. */
SIGNET_API const struct signet_spf_outcome *signet_spf_outcome(const struct signet_spf *s);

/* "pass", "fail", "softfail", "neutral", "none", "temperror", "permerror". */
SIGNET_API const char *signet_spf_result_name(enum signet_spf_result r);

/* "A", "AAAA", "MX", "PTR", "TXT"; "?" for another value. */
SIGNET_API const char *signet_rrtype_name(enum signet_rrtype t);

SIGNET_API void signet_spf_free(struct signet_spf *s);

#endif
