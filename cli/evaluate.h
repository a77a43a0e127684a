/* evaluate.h: the receiving-side checks of one message for `signet verify`
 * and `signet arc seal`: DKIM (every signature), SPF (MAIL FROM and HELO
 * identities), DMARC (RFC 9989, or RFC 7489 with the PSL) and ARC (RFC
 * 8617), run with libsignet against one DNS source (a ZONEFILE/KEYSFILE or
 * the resolver). It keeps every result for the renderers (verify_render.h)
 * and for the sealer; it prints nothing but errors. The judgments are the
 * library's: this file only feeds it and answers its questions. */
#ifndef SIGNET_CLI_EVALUATE_H
#define SIGNET_CLI_EVALUATE_H

#include <signet/arc.h>
#include <signet/dmarc.h>
#include <signet/spf.h>
#include <signet/verifier.h>

#include "cli.h"

/* From fields kept for DMARC: two already make "several From fields"
 * (RFC 5322 3.6); the others are counted, not kept. */
#define EVAL_MAX_FROM_FIELDS 4
/* TXT bytes of one _dmarc answer kept for --explain (the rest is cut). */
#define EVAL_MAX_SHOWN_TXT 512
/* Records passed on from one DNS answer (as signet spf's SPF_MAX_ANSWER). */
#define EVAL_MAX_ANSWER 1024

/* Where the answers come from: zone (a ZONEFILE; also the DKIM keys) or
 * the resolver r. Exactly one is set; both borrowed. */
struct eval_dns {
	struct zonefile *zone;
	struct dns_resolver *r;
};

struct eval_opts {
	struct signet_verify_options vo; /* DKIM (vo.now is also ARC's and SPF's clock) */
	/* SPF: ip NULL means no SPF check. mail_from: the MAIL FROM identity
	 * ("" null sender, checked as postmaster@HELO), NULL: not checked;
	 * helo: the HELO identity is checked too when given. */
	const char *ip, *mail_from, *helo;
	bool spf_trace; /* keep the SPF term trace (--explain, --json) */
	bool dmarc;     /* evaluate DMARC */
	enum signet_dmarc_mode mode;
	const struct signet_psl *psl; /* RFC 7489 mode: the organizational domain */
	unsigned pct_draw;            /* RFC 7489 pct=: a draw in 0..99 */
	bool arc;                     /* validate the ARC chain */
	const char *psl_file;         /* --psl: the list to load ("": none), borrowed */
};

/* The defaults of `signet verify` and `signet arc seal`, as signetd's:
 * every check off, vo.now the current time, content after l= makes the
 * result policy (verify.l_policy = unsigned: the l= attack, RFC 6376
 * 8.2), DMARC as RFC 9989, Debian's public suffix list (DKIM-VER-17). */
void eval_options_init(struct eval_opts *o);
/* After the options are parsed: loads psl_file into *psl (the caller's:
 * signet_psl_free; NULL, with a warning, when it cannot be read: the
 * check of d= is off), points vo.psl and psl at it, and draws pct_draw
 * (RFC 7489 6.6.4). False after printing why when RFC 7489 mode has no
 * list to compute organizational domains with. */
bool eval_options_load_psl(struct eval_opts *o, struct signet_psl **psl);

/* One DMARC question and what came back (for --explain). */
struct eval_dmarc_query {
	char name[256];
	enum signet_dmarc_qtype type;
	enum signet_dns_status status;
	size_t n;                     /* records in the answer (TXT: all, not only DMARC ones) */
	char txt[EVAL_MAX_SHOWN_TXT]; /* the first record, cut (TXT questions) */
	bool cut;
};

/* One ARC set as written (display only; the chain is judged by the lib). */
struct eval_arc_set {
	unsigned i;
	char d[256], s[64], cv[16];
};

struct evaluation {
	struct eval_opts o;
	struct eval_dns dns;
	struct signet_message *m;
	struct signet_verifier *v;
	struct signet_arc *arc;
	struct signet_spf *spf_mfrom, *spf_helo; /* NULL when not checked */
	struct signet_dmarc *dmarc;              /* NULL when not evaluated */
	char dmarc_error[SIGNET_REASON_MAX];     /* DMARC could not start: why */
	uint8_t *from[EVAL_MAX_FROM_FIELDS];
	size_t from_len[EVAL_MAX_FROM_FIELDS];
	size_t nfrom; /* From fields seen (may exceed EVAL_MAX_FROM_FIELDS) */
	struct eval_dmarc_query dq[SIGNET_DMARC_MAX_QUERIES];
	size_t ndq;
	struct eval_arc_set sets[SIGNET_ARC_MAX_INSTANCES];
	size_t nsets;
};

/* Starts every check (DKIM verifier, ARC object). False after printing why. */
bool eval_start(struct evaluation *ev, const struct eval_opts *o, const struct eval_dns *dns);
/* The message, in chunks of any size (CRLF or LF). */
bool eval_feed(struct evaluation *ev, const uint8_t *p, size_t len);
/* End of message: finishes DKIM and ARC, then runs SPF and DMARC. False
 * after printing why (a local error: no memory, DNS resolver failure). */
bool eval_finish(struct evaluation *ev);
void eval_free(struct evaluation *ev);

/* The results (NULL when not checked). */
const struct signet_spf_outcome *eval_spf(const struct evaluation *ev, bool helo);
const struct signet_dmarc_outcome *eval_dmarc(const struct evaluation *ev);
const struct signet_arc_result *eval_arc(const struct evaluation *ev);

/* The Authentication-Results value signetd would write for these results
 * (the text after the colon, CRLF-folded). False after printing why. */
bool eval_format_ar(const struct evaluation *ev, const char *authserv_id, char *out, size_t cap);

#endif
