/* dmarc.h: DMARC (RFC 9989, with an RFC 7489 mode) as a sans-I/O evaluator.
 * Give it the From field value(s), the passing DKIM signatures' d= and the
 * SPF result with its domain; it asks for the TXT records of _dmarc names
 * (and, for np=, whether the author domain exists) the way the SPF
 * evaluator asks for its answers, and the caller answers by id, in any
 * order. It never does DNS, reads no clock or random source (the pct= draw
 * is an input) and keeps no global state.
 *
 *   signet_dmarc_new(&req, &d, &err);
 *   while (!signet_dmarc_done(d)) {
 *           while (signet_dmarc_next_query(d, &q))  ... start q ...
 *           ... for each answer: signet_dmarc_answer(d, q.id, status, rrs, n, &err);
 *   }
 *   out = signet_dmarc_outcome(d);
 */
#ifndef SIGNET_DMARC_H
#define SIGNET_DMARC_H

#include <signet/signet.h>
#include <signet/psl.h>
#include <signet/spf.h> /* enum signet_spf_result, struct signet_rr */

struct signet_dmarc;

/* Limits. SIGNET_DMARC_WALK_MAX_LABELS is RFC 9989's (4.10: a walk queries
 * at most 8 names); the others are ours. */
#define SIGNET_DMARC_WALK_MAX_LABELS 8 /* names one DNS Tree Walk queries */
/* Distinct questions per evaluation; an identifier whose walk would pass
 * it is SIGNET_DMARC_NOT_CHECKED (not aligned). */
#define SIGNET_DMARC_MAX_QUERIES 32
#define SIGNET_DMARC_MAX_RECORD 2048 /* a DMARC record (its TXT strings joined); longer: rejected */
#define SIGNET_DMARC_MAX_FROM_DOMAINS 8 /* mailboxes in the From field; more: no evaluation */
#define SIGNET_DMARC_MAX_DKIM 16        /* passing DKIM identifiers given (SIGNET_MAX_SIGNATURES) */

/* RFC 9989 (default): DNS Tree Walk, t=, np=, psd=; pct/rf/ri ignored.
 * RFC 7489: _dmarc.<author> then _dmarc.<PSL organizational domain>; pct,
 * rf, ri parsed; t, np, psd ignored (unknown tags in RFC 7489). */
enum signet_dmarc_mode { SIGNET_DMARC_RFC9989 = 0, SIGNET_DMARC_RFC7489 };

/* The results of RFC 8601 2.7.1 / RFC 7489 11.2 for dmarc=. */
enum signet_dmarc_result {
	SIGNET_DMARC_NONE = 0, /* no policy, or no usable author domain */
	SIGNET_DMARC_PASS,
	SIGNET_DMARC_FAIL,
	SIGNET_DMARC_TEMPERROR, /* a lookup that decides the result failed temporarily */
	SIGNET_DMARC_PERMERROR, /* the policy record found is improperly formatted (RFC 9989 9.2) */
};

enum signet_dmarc_policy {
	SIGNET_DMARC_POLICY_UNSET = 0, /* tag absent (or invalid and ignored) */
	SIGNET_DMARC_POLICY_NONE,
	SIGNET_DMARC_POLICY_QUARANTINE,
	SIGNET_DMARC_POLICY_REJECT,
};

enum signet_dmarc_align { SIGNET_DMARC_RELAXED = 0, SIGNET_DMARC_STRICT };
enum signet_dmarc_psd { SIGNET_DMARC_PSD_U = 0, SIGNET_DMARC_PSD_Y, SIGNET_DMARC_PSD_N };

/* Bytes of a record: borrowed from the text the record was parsed from. */
struct signet_dmarc_text {
	const char *p;
	size_t len;
};

/* A tag ignored (unknown, invalid value, not in this mode): the tag as
 * written and a static reason ("value is not none, quarantine or reject").
 * A part between ';' that is not tag=value (RFC 9989 4.7: discarded) is a
 * note too, its whole text (trimmed) as the tag. */
enum signet_dmarc_note_kind {
	SIGNET_DMARC_NOTE_BAD_VALUE = 0, /* a known tag, value invalid: its default is used */
	SIGNET_DMARC_NOTE_UNKNOWN,       /* not a tag of this mode: ignored */
	SIGNET_DMARC_NOTE_REMOVED,       /* RFC 9989 mode: pct, rf, ri (historic): ignored */
	SIGNET_DMARC_NOTE_BROKEN,        /* not tag=value: discarded (RFC 9989 4.7) */
};
struct signet_dmarc_note {
	struct signet_dmarc_text tag;
	struct signet_dmarc_text value; /* as written; empty for BROKEN */
	enum signet_dmarc_note_kind kind;
	const char *why;
};

/* A parsed DMARC record (RFC 9989 4.7; RFC 7489 6.3). usable false: the
 * record is rejected and reason says why. Texts and notes borrow from the
 * parsed text (for a record in an outcome: valid until signet_dmarc_free). */
struct signet_dmarc_record {
	bool usable;
	const char *reason; /* static; rejected: why; usable: NULL or why p= is none */
	bool p_substituted; /* p= absent (RFC 9989) or invalid with a valid rua=: p=none */
	enum signet_dmarc_policy p, sp, np;
	enum signet_dmarc_align adkim, aspf;       /* default relaxed */
	enum signet_dmarc_psd psd;                 /* default u */
	bool t;                                    /* t=y: testing (RFC 9989 mode) */
	unsigned pct;                              /* RFC 7489 mode: 0..100, default 100 */
	uint32_t ri;                               /* RFC 7489 mode: default 86400 */
	struct signet_dmarc_text rua, ruf, fo, rf; /* as written; len 0 when absent */
	size_t nrua, nruf;                         /* syntactically valid URIs in rua, ruf */
	struct signet_dmarc_note notes[SIGNET_MAX_TAGS];
	size_t nnotes;
};

/* True when text starts with "v=DMARC1" followed by WSP, ';' or its end
 * (RFC 9989 4.7, RFC 7489 6.6.3: other TXT records are discarded). */
SIGNET_API bool signet_dmarc_is_record(const uint8_t *text, size_t len);

/* Parses one record for mode into *out (overwritten). A record that is not
 * usable is a result in out (usable false, reason), not an error; only bad
 * arguments are SIGNET_ERR_INVAL. out borrows from text. */
SIGNET_API SIGNET_MUST_USE enum signet_status signet_dmarc_record_parse(
	const uint8_t *text, size_t len, enum signet_dmarc_mode mode,
	struct signet_dmarc_record *out, struct signet_error *err);

/* A passing DKIM signature: d= and s= as in the signature (U-labels or
 * A-labels, any case). */
struct signet_dmarc_dkim {
	const char *domain;
	const char *selector; /* for reports; may be NULL */
};

/* Why the author domain could not be had (RFC 9989 4.4, RFC 7489 6.6.1). */
enum signet_dmarc_from {
	SIGNET_DMARC_FROM_OK = 0,
	SIGNET_DMARC_FROM_MISSING,        /* no From field */
	SIGNET_DMARC_FROM_SEVERAL_FIELDS, /* more than one From field (RFC 5322 3.6) */
	SIGNET_DMARC_FROM_UNPARSEABLE,    /* no mailbox, a syntax error, a bad domain */
	SIGNET_DMARC_FROM_SEVERAL_DOMAINS, /* RFC 9989 mode: mailboxes of different domains (5.3.1) */
	SIGNET_DMARC_FROM_TOO_MANY,        /* more than SIGNET_DMARC_MAX_FROM_DOMAINS mailboxes */
};

/* How the disposition was moved off the policy. */
enum signet_dmarc_override {
	SIGNET_DMARC_OVERRIDE_NONE = 0,
	SIGNET_DMARC_OVERRIDE_TESTING,     /* t=y (RFC 9989): one step weaker */
	SIGNET_DMARC_OVERRIDE_SAMPLED_OUT, /* pct= (RFC 7489 6.6.4): one step weaker */
	SIGNET_DMARC_OVERRIDE_ARC,         /* caller's trusted ARC sealer: none ("arc-override") */
	SIGNET_DMARC_OVERRIDE_LOCAL,       /* caller's local policy: none */
};

/* Which tag of the record gave the policy. */
enum signet_dmarc_applied {
	SIGNET_DMARC_APPLIED_NONE = 0,
	SIGNET_DMARC_APPLIED_P,
	SIGNET_DMARC_APPLIED_SP,
	SIGNET_DMARC_APPLIED_NP
};

struct signet_dmarc_request {
	enum signet_dmarc_mode mode;
	const struct signet_psl *psl; /* RFC 7489 mode: required, borrowed until free */
	/* The value of each From field in the header (nfrom of them). */
	const uint8_t *const *from;
	const size_t *from_len;
	size_t nfrom;
	const struct signet_dmarc_dkim *dkim; /* passing signatures only */
	size_t ndkim;                         /* at most SIGNET_DMARC_MAX_DKIM */
	/* The SPF result for the MAIL FROM identity and its domain: the MAIL
	 * FROM domain, or the HELO domain when MAIL FROM was null (RFC 7208
	 * 2.4 makes postmaster@HELO the MAIL FROM identity then). Not a
	 * separate HELO check. NULL domain: no SPF identifier. */
	enum signet_spf_result spf_result;
	const char *spf_domain;
	unsigned pct_draw; /* RFC 7489 mode: a uniform draw in 0..99; the policy applies if < pct */
	/* RFC 9989 5.3.1: several From domains end DMARC validation, but "the
	 * Mail Receiver MAY choose to go forward": true evaluates each and
	 * keeps the strictest failing policy (RFC 7489 6.6.1, always done in
	 * RFC 7489 mode). */
	bool evaluate_each_from_domain;
	bool trusted_arc; /* the caller trusts the ARC chain's sealer: a fail gets disposition none */
	bool local_override; /* the caller's local policy: a fail gets disposition none */
};

/* Questions: TXT at a _dmarc name, or whether the author domain exists
 * (RFC 9989 np=, non-existent per RFC 8020 (3.2.13): answer
 * SIGNET_DNS_NXDOMAIN if a query for the name (A, AAAA, MX, ...) said
 * NXDOMAIN, SIGNET_DNS_OK otherwise; no records needed). The existence
 * question is asked only for a fail whose record (found above the author
 * domain) has np=. Questions of one DNS Tree Walk after the first may be
 * handed out together (at most 8). */
enum signet_dmarc_qtype { SIGNET_DMARC_Q_TXT = 0, SIGNET_DMARC_Q_EXISTS };

struct signet_dmarc_query {
	unsigned id;
	const char *name; /* borrowed until signet_dmarc_free */
	enum signet_dmarc_qtype type;
};

/* One identifier checked for alignment (RFC 9989 4.4). */
enum signet_dmarc_ident_state {
	SIGNET_DMARC_ALIGNED = 0,
	SIGNET_DMARC_NOT_ALIGNED,
	SIGNET_DMARC_ALIGN_TEMPERROR,
	SIGNET_DMARC_NOT_CHECKED
};
struct signet_dmarc_ident {
	bool dkim;            /* DKIM d= (else SPF) */
	const char *domain;   /* lower-case A-labels */
	const char *selector; /* DKIM only; may be NULL */
	enum signet_dmarc_ident_state state;
	bool strict_match; /* equal to the author domain */
};

struct signet_dmarc_outcome {
	enum signet_dmarc_result result;
	enum signet_dmarc_from from;
	const char *author_domain;                /* lower-case A-labels; NULL when from != OK */
	const char *policy_domain;                /* where the record was found; NULL when none */
	const struct signet_dmarc_record *record; /* the policy record; NULL when none */
	const char *org_domain;                   /* the author's, when it was needed; else NULL */
	enum signet_dmarc_applied applied;        /* p, sp or np */
	enum signet_dmarc_policy policy;          /* that tag's value */
	enum signet_dmarc_policy disposition; /* NONE, QUARANTINE or REJECT (UNSET: no policy) */
	enum signet_dmarc_override override;
	const struct signet_dmarc_ident *idents; /* for the deciding author domain */
	size_t nidents;
	unsigned queries;   /* distinct questions asked */
	const char *reason; /* one human line */
};

/* Starts an evaluation for req (copied: the strings need not outlive the
 * call). SIGNET_ERR_INVAL (RFC 7489 mode without psl, NULL arrays),
 * SIGNET_ERR_LIMIT (ndkim > SIGNET_DMARC_MAX_DKIM), SIGNET_ERR_SYNTAX (a
 * DKIM or SPF domain that is not a domain name), SIGNET_ERR_NOMEM. A From
 * problem is a result (none, from set), finished with no question. */
SIGNET_API SIGNET_MUST_USE enum signet_status signet_dmarc_new(
	const struct signet_dmarc_request *req, struct signet_dmarc **out,
	struct signet_error *err);

/* The next question not yet handed out; false when there is none now. */
SIGNET_API bool signet_dmarc_next_query(struct signet_dmarc *d, struct signet_dmarc_query *q);

/* Answers question id: OK with n records (TXT: the strings of each RR
 * joined, RFC 9989 4.5; n = 0: no data), NXDOMAIN, or TEMPFAIL. rrs are
 * read during the call only. An unknown or already answered id is
 * SIGNET_ERR_INVAL, SIGNET_ERR_NOMEM leaves the question open; an answer
 * after the outcome is known is ignored. */
SIGNET_API SIGNET_MUST_USE enum signet_status signet_dmarc_answer(
	struct signet_dmarc *d, unsigned id, enum signet_dns_status status,
	const struct signet_rr *rrs, size_t n, struct signet_error *err);

SIGNET_API bool signet_dmarc_done(const struct signet_dmarc *d);

/* The outcome once done (NULL before); strings borrowed until free. */
SIGNET_API const struct signet_dmarc_outcome *signet_dmarc_outcome(const struct signet_dmarc *d);

/* "none", "pass", "fail", "temperror", "permerror". */
SIGNET_API const char *signet_dmarc_result_name(enum signet_dmarc_result r);
/* "none", "quarantine", "reject"; "unset". */
SIGNET_API const char *signet_dmarc_policy_name(enum signet_dmarc_policy p);
/* "none", "testing", "sampled-out", "arc-override", "local-override". */
SIGNET_API const char *signet_dmarc_override_name(enum signet_dmarc_override o);

SIGNET_API void signet_dmarc_free(struct signet_dmarc *d);

/* ---- checking a published record (signet dmarc check) ----------------------
 * One judgment for every front end (lib/dmarc_check.c): what receivers make
 * of the TXT records at a _dmarc name, as coded findings that callers only
 * render. Bytes in, findings out; the external-report authorization record
 * is a DNS question the caller asks (signet_dmarc_report_dest). */

enum signet_dmarc_severity {
	SIGNET_DMARC_SEV_INFO = 0, /* worth knowing, nothing to fix */
	SIGNET_DMARC_SEV_WARNING,  /* receivers use the record, but it should change */
	SIGNET_DMARC_SEV_ERROR,    /* receivers ignore the record, or a part of it */
};

/* Stable codes (their names, signet_dmarc_check_code_name, are in --json).
 * "per part" codes may come once for each tag or part; the others once. */
enum signet_dmarc_check_code {
	SIGNET_DMARC_CHECK_SEVERAL = 1,    /* error: several v=DMARC1 records: all ignored */
	SIGNET_DMARC_CHECK_NOT_FIRST,      /* error: a TXT record mentions DMARC1 without
					   * starting with v=DMARC1 (per record) */
	SIGNET_DMARC_CHECK_UNUSABLE,       /* error: receivers ignore the record (why) */
	SIGNET_DMARC_CHECK_BROKEN_PART,    /* error: not tag=value, discarded (per part) */
	SIGNET_DMARC_CHECK_BAD_VALUE,      /* error: invalid value, ignored (per tag) */
	SIGNET_DMARC_CHECK_P_SUBSTITUTED,  /* error: invalid p/sp/np, valid rua: acts as p=none */
	SIGNET_DMARC_CHECK_UNKNOWN_TAG,    /* warning: not a tag of this mode, ignored (per tag) */
	SIGNET_DMARC_CHECK_REMOVED_TAG,    /* warning: pct, rf, ri in RFC 9989 mode (per tag) */
	SIGNET_DMARC_CHECK_P_MISSING,      /* warning: no p=: RFC 9989 reads p=none */
	SIGNET_DMARC_CHECK_P_NOT_SECOND,   /* warning: RFC 7489 6.3 wants p= right after v= */
	SIGNET_DMARC_CHECK_P_NONE_NO_RUA,  /* warning: p=none and no rua: nobody sees anything */
	SIGNET_DMARC_CHECK_P_NONE,         /* warning: p=none: failing mail is delivered as usual */
	SIGNET_DMARC_CHECK_SP_WEAKER,      /* warning: sp= weaker than p= */
	SIGNET_DMARC_CHECK_NP_WEAKER,      /* warning: np= weaker than sp= (or p=) */
	SIGNET_DMARC_CHECK_PCT,            /* warning: RFC 7489 pct < 100 */
	SIGNET_DMARC_CHECK_TESTING,        /* warning: RFC 9989 t=y */
	SIGNET_DMARC_CHECK_RUA_NOT_MAILTO, /* warning: receivers need only support mailto: */
	SIGNET_DMARC_CHECK_RUF_NOT_MAILTO, /* warning: the same for ruf */
	SIGNET_DMARC_CHECK_FO_WITHOUT_RUF, /* warning: fo= is ignored without ruf= */
	SIGNET_DMARC_CHECK_RUF_WITHOUT_FO, /* info: ruf= with the default fo=0 */
	SIGNET_DMARC_CHECK_NO_RUA,         /* info: a policy that acts, but no aggregate reports */
	SIGNET_DMARC_CHECK_STRICT_DKIM,    /* info: adkim=s */
	SIGNET_DMARC_CHECK_STRICT_SPF,     /* info: aspf=s */
	SIGNET_DMARC_CHECK_PSD,            /* info: psd=y, a public suffix domain's record */
};
/* Per-part codes come at most once per ';'-separated part (SIGNET_MAX_TAGS),
 * the rest once, and every TXT record at most once: never truncated. */
#define SIGNET_DMARC_CHECK_MAX_FINDINGS (2 * SIGNET_MAX_TAGS + 24)
#define SIGNET_DMARC_CHECK_MAX_TXT SIGNET_MAX_TAGS /* TXT records looked at; more: LIMIT */

struct signet_dmarc_finding {
	enum signet_dmarc_check_code code;
	enum signet_dmarc_severity severity;
	const char *spec; /* "RFC 9989 4.7", NULL if none; static */
	const char *fix;  /* a generic fix, NULL for info; static */
	char msg[256];    /* one sentence in plain words, no trailing period */
};

struct signet_dmarc_check {
	size_t ntxt;   /* TXT records given */
	size_t ndmarc; /* of them, records starting with v=DMARC1 (0: no policy) */
	size_t which;  /* the first DMARC record's index; judged only when ndmarc == 1 */
	/* The record checked, parsed: borrows the text. usable false: ignored. */
	struct signet_dmarc_record record;
	/* RFC 9989 4.10.1, 4.7: what a DMARC failure gets at the domain
	 * itself (p=), its existing subdomains (sp=, else p=) and its
	 * non-existent subdomains (np=, else sp=, else p=; RFC 9989 mode)
	 * when found by the walk; UNSET when receivers ignore the record. */
	enum signet_dmarc_policy domain, subdomains, nonexistent;
	size_t n; /* findings, most severe first, then in record order */
	struct signet_dmarc_finding f[SIGNET_DMARC_CHECK_MAX_FINDINGS];
};

/* Judges one record (TXT strings joined) for mode into *out (overwritten;
 * large: about 40 KiB, so callers allocate it). out borrows text. Bad
 * records are findings; SIGNET_ERR_INVAL (NULL arguments) only. */
SIGNET_API SIGNET_MUST_USE enum signet_status signet_dmarc_record_check(
	const uint8_t *text, size_t len, enum signet_dmarc_mode mode,
	struct signet_dmarc_check *out, struct signet_error *err);

/* Judges the TXT records at one _dmarc name as receivers see them (RFC
 * 9989 4.10: only records starting with v=DMARC1 count; several are all
 * discarded): ndmarc, NOT_FIRST for look-alikes, SEVERAL, and, when there is
 * exactly one DMARC record, the checks of signet_dmarc_record_check. SIGNET_ERR_LIMIT
 * over SIGNET_DMARC_CHECK_MAX_TXT records, SIGNET_ERR_INVAL. */
SIGNET_API SIGNET_MUST_USE enum signet_status signet_dmarc_answer_check(
	const struct signet_rr *txt, size_t n, enum signet_dmarc_mode mode,
	struct signet_dmarc_check *out, struct signet_error *err);

/* The worst severity among the findings; INFO when there are none. */
SIGNET_API enum signet_dmarc_severity signet_dmarc_check_worst(const struct signet_dmarc_check *c);
/* "error", "warning", "info". */
SIGNET_API const char *signet_dmarc_severity_name(enum signet_dmarc_severity s);
/* "several-records", "p-none-no-rua", ...: stable, for --json. */
SIGNET_API const char *signet_dmarc_check_code_name(enum signet_dmarc_check_code c);

/* ---- external report destinations (RFC 9990 3, RFC 7489 7.1) ---------------
 * A rua= destination outside the policy domain's organizational domain
 * takes reports only if it publishes "v=DMARC1" at
 * <policy-domain>._report._dmarc.<destination-host>. */

#define SIGNET_DMARC_REPORT_NAME_MAX 254 /* a DNS name as written (253) and NUL */

struct signet_dmarc_dest {
	char host[SIGNET_DMARC_REPORT_NAME_MAX];      /* the URI's host, lower case */
	bool external;                                /* not org_domain nor under it */
	char auth_name[SIGNET_DMARC_REPORT_NAME_MAX]; /* external: the TXT name to ask */
};

/* For one URI of a rua= list (as written, "mailto:r@example.net!10m"):
 * the destination host (mailto: the domain after '@'; other schemes: the
 * authority's host) and, when it is outside org_domain (the policy
 * domain's organizational domain; the policy domain itself when not
 * known), the authorization name built on policy_domain. SIGNET_ERR_SYNTAX:
 * no host that is a DNS name; SIGNET_ERR_LIMIT: the authorization name
 * would pass 253 octets (no receiver can ask it); SIGNET_ERR_INVAL. */
SIGNET_API SIGNET_MUST_USE enum signet_status signet_dmarc_report_dest(
	const char *policy_domain, const char *org_domain, const uint8_t *uri, size_t len,
	struct signet_dmarc_dest *out, struct signet_error *err);

enum signet_dmarc_auth {
	SIGNET_DMARC_AUTH_YES = 0,   /* a TXT record there starts with v=DMARC1 */
	SIGNET_DMARC_AUTH_NO,        /* none does (or no such name): reports are not sent */
	SIGNET_DMARC_AUTH_TEMPERROR, /* the lookup failed temporarily: not known */
};

/* The answer to the authorization question (status, and for OK the TXT
 * records with their strings joined). */
SIGNET_API enum signet_dmarc_auth signet_dmarc_report_auth(enum signet_dns_status st,
							   const struct signet_rr *txt, size_t n);

#endif
