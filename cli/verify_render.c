/* verify_render.c: the SPF, DMARC and ARC parts of `signet verify`'s
 * output (verify_render.h). The walk-through follows the order an
 * administrator checks by hand: SPF, each DKIM signature (cmd_verify.c),
 * DMARC discovery, the record and its tags, alignment of each identifier,
 * policy and disposition, then the ARC sets. */
#include <string.h>

#include <signet/ar.h>

#include "verify_render.h"

#define RENDER_MAX_AR 16384 /* an Authentication-Results field (SIGNET_ARC_MAX_AAR) */

static const char *mode_name(enum signet_dmarc_mode m)
{
	return m == SIGNET_DMARC_RFC7489 ? "RFC 7489, public suffix list"
					 : "RFC 9989, DNS tree walk";
}

static const char *align_name(enum signet_dmarc_align a)
{
	return a == SIGNET_DMARC_STRICT ? "strict" : "relaxed";
}

static const char *applied_name(enum signet_dmarc_applied a)
{
	switch (a) {
	case SIGNET_DMARC_APPLIED_P: return "p";
	case SIGNET_DMARC_APPLIED_SP: return "sp";
	case SIGNET_DMARC_APPLIED_NP: return "np";
	default: return NULL;
	}
}

static const char *state_name(enum signet_dmarc_ident_state s)
{
	switch (s) {
	case SIGNET_DMARC_ALIGNED: return "aligned";
	case SIGNET_DMARC_NOT_ALIGNED: return "not aligned";
	case SIGNET_DMARC_ALIGN_TEMPERROR: return "temperror";
	default: return "not checked";
	}
}

/* ---- text ------------------------------------------------------------ */

void render_spf_explain(const struct evaluation *ev)
{
	const struct signet_spf_outcome *o;

	for (int helo = 0; helo < 2; helo++) {
		if ((o = eval_spf(ev, helo)) == NULL)
			continue;
		printf("SPF (RFC 7208), %s identity: ", helo ? "HELO" : "MAIL FROM");
		spf_print_text(o, true);
	}
}

static void spf_summary(const struct evaluation *ev)
{
	const struct signet_spf_outcome *o;

	for (int helo = 0; helo < 2; helo++)
		if ((o = eval_spf(ev, helo)) != NULL)
			printf("spf: %s (%s %s%s%s)\n", signet_spf_result_name(o->result),
			       helo ? "helo" : "mailfrom", helo ? o->domain : o->sender,
			       o->result == SIGNET_SPF_PASS ? "" : ": ",
			       o->result == SIGNET_SPF_PASS ? "" : o->reason);
}

static void dmarc_query_line(const struct eval_dmarc_query *q)
{
	if (q->type == SIGNET_DMARC_Q_EXISTS) {
		printf("    does %s exist (np=, RFC 8020)? %s\n", q->name,
		       q->status == SIGNET_DNS_NXDOMAIN ? "no (NXDOMAIN)"
		       : q->status == SIGNET_DNS_OK     ? "yes"
							: "lookup failed temporarily");
		return;
	}
	printf("    %s TXT: ", q->name);
	if (q->status == SIGNET_DNS_TEMPFAIL)
		puts("temporary failure (timeout or SERVFAIL)");
	else if (q->status == SIGNET_DNS_NXDOMAIN)
		puts("no such name (NXDOMAIN)");
	else if (q->n == 0)
		puts("no TXT record");
	else
		printf("%zu %s, first: \"%s\"%s\n", q->n, cli_plural(q->n, "record", "records"),
		       q->txt, q->cut ? " [...]" : "");
}

static const char *policy_words(enum signet_dmarc_policy p)
{
	switch (p) {
	case SIGNET_DMARC_POLICY_NONE: return "none: monitor only, deliver as usual";
	case SIGNET_DMARC_POLICY_QUARANTINE: return "quarantine: treat failing mail as suspicious";
	case SIGNET_DMARC_POLICY_REJECT: return "reject: refuse failing mail";
	default: return "not given";
	}
}

static void text_tag(const char *tag, const struct signet_dmarc_text *t, const char *meaning)
{
	if (t->len > 0)
		printf("      %s=%.*s: %s\n", tag, (int)t->len, t->p, meaning);
}

static void dmarc_record_tags(const struct signet_dmarc_record *r, enum signet_dmarc_mode mode)
{
	printf("      p=%s%s\n", policy_words(r->p),
	       r->p_substituted ? " (substituted: see above)" : "");
	if (r->sp != SIGNET_DMARC_POLICY_UNSET)
		printf("      sp=%s (subdomains)\n", policy_words(r->sp));
	if (mode == SIGNET_DMARC_RFC9989 && r->np != SIGNET_DMARC_POLICY_UNSET)
		printf("      np=%s (non-existent subdomains)\n", policy_words(r->np));
	printf("      adkim=%s: DKIM d= must %s\n", r->adkim == SIGNET_DMARC_STRICT ? "s" : "r",
	       r->adkim == SIGNET_DMARC_STRICT ? "equal the From domain"
					       : "share the From domain's organizational domain");
	printf("      aspf=%s: the MAIL FROM domain must %s\n",
	       r->aspf == SIGNET_DMARC_STRICT ? "s" : "r",
	       r->aspf == SIGNET_DMARC_STRICT ? "equal the From domain"
					      : "share the From domain's organizational domain");
	if (mode == SIGNET_DMARC_RFC9989) {
		if (r->t)
			printf("      t=y: testing; the policy is applied one step weaker\n");
		if (r->psd != SIGNET_DMARC_PSD_U)
			printf("      psd=%s: %s\n", r->psd == SIGNET_DMARC_PSD_Y ? "y" : "n",
			       r->psd == SIGNET_DMARC_PSD_Y ? "a public suffix domain's record"
							    : "the organizational domain's record");
	} else {
		printf("      pct=%u: the policy applies to %u%% of failing mail\n", r->pct,
		       r->pct);
	}
	text_tag("rua", &r->rua, "aggregate reports go there");
	text_tag("ruf", &r->ruf, "failure reports go there");
	text_tag("fo", &r->fo, "failure reporting options");
	for (size_t k = 0; k < r->nnotes && k < SIGNET_MAX_TAGS; k++)
		printf("      ignored %.*s: %s\n", (int)r->notes[k].tag.len, r->notes[k].tag.p,
		       r->notes[k].why);
}

static void dmarc_alignment(const struct signet_dmarc_outcome *o)
{
	const struct signet_dmarc_record *r = o->record;

	printf("  alignment with %s:\n", o->author_domain);
	if (o->nidents == 0)
		printf("    no passing DKIM signature and no SPF pass to align\n");
	for (size_t k = 0; k < o->nidents; k++) {
		const struct signet_dmarc_ident *id = &o->idents[k];
		enum signet_dmarc_align mode = r == NULL  ? SIGNET_DMARC_RELAXED
					       : id->dkim ? r->adkim
							  : r->aspf;
		printf("    %s%s%s%s: %s (%s", id->dkim ? "dkim d=" : "spf ", id->domain,
		       id->selector ? " s=" : "", id->selector ? id->selector : "",
		       state_name(id->state), align_name(mode));
		if (id->state == SIGNET_DMARC_ALIGNED)
			printf(": %s", id->strict_match ? "equal to the From domain"
							: "same organizational domain");
		else if (id->state == SIGNET_DMARC_NOT_ALIGNED)
			printf(": %s", mode == SIGNET_DMARC_STRICT
					       ? "not equal to the From domain"
					       : "another organizational domain");
		puts(")");
	}
}

static void dmarc_explain(const struct evaluation *ev, const struct signet_dmarc_outcome *o)
{
	printf("DMARC (%s):\n", mode_name(ev->o.mode));
	printf("  author domain (From): %s\n", o->author_domain ? o->author_domain : "(none)");
	if (ev->ndq > 0)
		printf("  discovery (%u %s):\n", o->queries,
		       cli_plural(o->queries, "question", "questions"));
	for (size_t k = 0; k < ev->ndq; k++)
		dmarc_query_line(&ev->dq[k]);
	if (o->record != NULL) {
		printf("  record at _dmarc.%s: %s\n", o->policy_domain,
		       o->record->usable ? "usable" : "rejected");
		if (o->record->reason != NULL)
			printf("    %s\n", o->record->reason);
		if (o->record->usable)
			dmarc_record_tags(o->record, ev->o.mode);
	}
	if (o->org_domain != NULL)
		printf("  organizational domain: %s\n", o->org_domain);
	if (o->author_domain != NULL)
		dmarc_alignment(o);
	printf("  result: %s\n", signet_dmarc_result_name(o->result));
	if (applied_name(o->applied) != NULL)
		printf("  policy: %s (from %s=)\n", signet_dmarc_policy_name(o->policy),
		       applied_name(o->applied));
	if (o->disposition != SIGNET_DMARC_POLICY_UNSET)
		printf("  disposition: %s%s%s\n", signet_dmarc_policy_name(o->disposition),
		       o->override ? ", moved by " : "",
		       o->override ? signet_dmarc_override_name(o->override) : "");
	printf("  why: %s\n", o->reason);
}

static void dmarc_text(const struct evaluation *ev, bool explain)
{
	const struct signet_dmarc_outcome *o = eval_dmarc(ev);

	if (o == NULL) {
		if (ev->o.dmarc)
			printf("dmarc: not evaluated (%s)\n", ev->dmarc_error);
		return;
	}
	if (explain) {
		dmarc_explain(ev, o);
		return;
	}
	printf("dmarc: %s", signet_dmarc_result_name(o->result));
	if (o->author_domain != NULL)
		printf(" header.from=%s", o->author_domain);
	if (applied_name(o->applied) != NULL)
		printf(" policy=%s", signet_dmarc_policy_name(o->policy));
	if (o->disposition != SIGNET_DMARC_POLICY_UNSET)
		printf(" disposition=%s", signet_dmarc_policy_name(o->disposition));
	printf(" (%s)\n", o->reason);
}

/* A passing chain's AMS i, from oldest_pass (ARC-VAL-02: AMS k..N verify,
 * k - 1 does not, older ones are not checked). libsignet keeps no per-set
 * results for a failed chain: its reason names the set that failed. */
static const char *ams_words(const struct signet_arc_result *a, unsigned i)
{
	if (a->oldest_pass == 0 || i >= a->oldest_pass)
		return "verified";
	return i + 1 == a->oldest_pass ? "does not verify"
				       : "not checked (a newer one does not verify)";
}

static void arc_explain(const struct evaluation *ev, const struct signet_arc_result *a)
{
	printf("ARC (RFC 8617): %zu %s\n", ev->nsets, cli_plural(ev->nsets, "set", "sets"));
	for (size_t k = 0; k < ev->nsets; k++) {
		const struct eval_arc_set *s = &ev->sets[k];
		if (s->i == 0)
			fputs("  set i=?", stdout); /* no usable i= in this ARC-Seal */
		else
			printf("  set i=%u", s->i);
		printf(": d=%s s=%s cv=%s", s->d, s->s, s->cv[0] ? s->cv : "?");
		if (a->result == SIGNET_RESULT_PASS)
			printf("; ARC-Seal verified; ARC-Message-Signature %s", ams_words(a, s->i));
		putchar('\n');
	}
	printf("  chain: %s\n", signet_result_name(a->result));
	if (a->result == SIGNET_RESULT_PASS && a->oldest_pass == 0)
		printf("  oldest pass: 0 (every ARC-Message-Signature verifies: the message is as "
		       "the first sealer saw it)\n");
	else if (a->result == SIGNET_RESULT_PASS)
		printf("  oldest pass: i=%u (the ARC-Message-Signatures from i=%u on verify)\n",
		       a->oldest_pass, a->oldest_pass);
	if (a->reason[0] != '\0')
		printf("  why: %s\n", a->reason);
}

void render_checks_text(const struct evaluation *ev, bool explain)
{
	const struct signet_arc_result *a = eval_arc(ev);

	if (!explain)
		spf_summary(ev);
	dmarc_text(ev, explain);
	if (a == NULL)
		return;
	if (explain) {
		arc_explain(ev, a);
		return;
	}
	printf("arc: %s", signet_result_name(a->result));
	if (a->instances > 0)
		printf(" (%u %s, oldest pass %u)", a->instances,
		       cli_plural(a->instances, "set", "sets"), a->oldest_pass);
	if (a->reason[0] != '\0')
		printf(" (%s)", a->reason);
	putchar('\n');
}

/* ---- JSON ------------------------------------------------------------ */

static void json_str_or_null(const char *s)
{
	if (s != NULL)
		json_string(stdout, s);
	else
		fputs("null", stdout);
}

static void json_policy(enum signet_dmarc_policy p)
{
	if (p == SIGNET_DMARC_POLICY_UNSET)
		fputs("null", stdout);
	else
		printf("\"%s\"", signet_dmarc_policy_name(p));
}

static void json_ident(const struct signet_dmarc_ident *id)
{
	printf("{\"method\":\"%s\",\"domain\":", id->dkim ? "dkim" : "spf");
	json_string(stdout, id->domain);
	if (id->dkim) {
		fputs(",\"selector\":", stdout);
		json_str_or_null(id->selector);
	}
	printf(",\"state\":\"%s\"}", state_name(id->state));
}

static void json_dmarc(const struct evaluation *ev, const struct signet_dmarc_outcome *o)
{
	printf("{\"result\":\"%s\",\"mode\":\"%s\",\"policy\":",
	       signet_dmarc_result_name(o->result),
	       ev->o.mode == SIGNET_DMARC_RFC7489 ? "rfc7489" : "rfc9989");
	json_policy(applied_name(o->applied) ? o->policy : SIGNET_DMARC_POLICY_UNSET);
	fputs(",\"applied\":", stdout);
	json_str_or_null(applied_name(o->applied));
	fputs(",\"disposition\":", stdout);
	json_policy(o->disposition);
	fputs(",\"override\":", stdout);
	json_str_or_null(o->override ? signet_dmarc_override_name(o->override) : NULL);
	fputs(",\"header_from\":", stdout);
	json_str_or_null(o->author_domain);
	fputs(",\"policy_domain\":", stdout);
	json_str_or_null(o->policy_domain);
	fputs(",\"org_domain\":", stdout);
	json_str_or_null(o->org_domain);
	fputs(",\"aligned\":[", stdout);
	for (size_t k = 0, n = 0; k < o->nidents; k++)
		if (o->idents[k].state == SIGNET_DMARC_ALIGNED) {
			fputs(n++ ? "," : "", stdout);
			json_ident(&o->idents[k]);
		}
	fputs("],\"identifiers\":[", stdout);
	for (size_t k = 0; k < o->nidents; k++) {
		fputs(k ? "," : "", stdout);
		json_ident(&o->idents[k]);
	}
	fputs("],\"queried\":[", stdout);
	for (size_t k = 0; k < ev->ndq; k++) {
		fputs(k ? "," : "", stdout);
		json_string(stdout, ev->dq[k].name);
	}
	printf("],\"queries\":%u,\"reason\":", o->queries);
	json_string(stdout, o->reason);
	putchar('}');
}

static void json_arc(const struct evaluation *ev, const struct signet_arc_result *a)
{
	printf("{\"result\":\"%s\",\"reason\":", signet_result_name(a->result));
	json_string(stdout, a->reason);
	printf(",\"oldest_pass\":%u,\"sets\":%u,\"cv\":[", a->oldest_pass, a->instances);
	for (size_t k = 0; k < ev->nsets; k++) {
		fputs(k ? "," : "", stdout);
		json_string(stdout, ev->sets[k].cv);
	}
	fputs("]}", stdout);
}

void render_checks_json(const struct evaluation *ev)
{
	const struct signet_spf_outcome *s = eval_spf(ev, false), *h = eval_spf(ev, true);
	const struct signet_dmarc_outcome *d = eval_dmarc(ev);
	const struct signet_arc_result *a = eval_arc(ev);

	fputs("{\"spf\":", stdout);
	if (s != NULL)
		spf_print_json(s);
	else
		fputs("null", stdout);
	if (h != NULL) {
		fputs(",\"spf_helo\":", stdout);
		spf_print_json(h);
	}
	fputs(",\"dmarc\":", stdout);
	if (d != NULL) {
		json_dmarc(ev, d);
	} else if (ev->o.dmarc) {
		fputs("{\"result\":null,\"reason\":", stdout);
		json_string(stdout, ev->dmarc_error);
		putchar('}');
	} else {
		fputs("null", stdout);
	}
	fputs(",\"arc\":", stdout);
	if (a != NULL)
		json_arc(ev, a);
	else
		fputs("null", stdout);
	fputs("}\n", stdout);
}

/* ---- Authentication-Results ------------------------------------------ */

bool render_ar(const struct evaluation *ev, const char *authserv_id)
{
	static char ar[RENDER_MAX_AR];

	if (!eval_format_ar(ev, authserv_id, ar, sizeof ar))
		return false;
	fputs("Authentication-Results:", stdout);
	for (const char *p = ar; *p != '\0'; p++)
		if (*p != '\r')
			putchar(*p);
	putchar('\n');
	return true;
}
