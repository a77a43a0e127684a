/* session_report.c: a DMARC outcome and the session's facts as one
 * report_obs (session_report.h). The words are RFC 9990's: results as in
 * RFC 8601, scope "mfrom" or "helo", override types of the
 * PolicyOverrideType list. */
#include "session_report.h"

#include <stdio.h>
#include <string.h>

#include "report_store.h"
#include "report_writer.h"

#define REPORT_TEXT_MAX (REPORT_STORE_MAX_FIELD + 1)

/* The domain of an address ("" for <>: the HELO name stands in, RFC 7208 2.4). */
static const char *domain_of(const char *addr, const char *helo)
{
	const char *at = addr != NULL ? strrchr(addr, '@') : NULL;
	if (at != NULL && at[1] != '\0')
		return at + 1;
	return helo != NULL && helo[0] != '\0' ? helo : NULL;
}

static const char *policy_word(enum signet_dmarc_policy p)
{
	return p == SIGNET_DMARC_POLICY_UNSET ? NULL : signet_dmarc_policy_name(p);
}

/* RFC 9990 PolicyOverrideType (RFC 7489's sampled_out for pct=). */
static const char *override_word(enum signet_dmarc_override o)
{
	switch (o) {
	case SIGNET_DMARC_OVERRIDE_TESTING: return "policy_test_mode";
	case SIGNET_DMARC_OVERRIDE_SAMPLED_OUT: return "sampled_out";
	case SIGNET_DMARC_OVERRIDE_ARC: return "trusted_forwarder";
	case SIGNET_DMARC_OVERRIDE_LOCAL: return "local_policy";
	default: return NULL;
	}
}

/* A record's text (not NUL-terminated) into buf; NULL when absent. */
static const char *text(struct signet_dmarc_text t, char *buf)
{
	if (t.len == 0)
		return NULL;
	size_t n = t.len < REPORT_TEXT_MAX - 1 ? t.len : REPORT_TEXT_MAX - 1;
	memcpy(buf, t.p, n);
	buf[n] = '\0';
	return buf;
}

static void policy_published(const struct signet_dmarc_record *r, enum signet_dmarc_mode mode,
			     struct report_policy *out, char *fo, char *rua)
{
	*out = (struct report_policy){
		.p = policy_word(r->p),
		.sp = policy_word(r->sp),
		.np = policy_word(r->np),
		.adkim = r->adkim == SIGNET_DMARC_STRICT ? "s" : "r",
		.aspf = r->aspf == SIGNET_DMARC_STRICT ? "s" : "r",
		.discovery = mode == SIGNET_DMARC_RFC7489 ? "psl" : "treewalk",
		.testing = r->t,
		.pct = mode == SIGNET_DMARC_RFC7489 ? (int)r->pct : -1,
		.fo = text(r->fo, fo),
		.rua = text(r->rua, rua),
	};
}

/* policy_evaluated: was an identifier of each kind aligned and passing? */
static void aligned(const struct signet_dmarc_outcome *o, bool *dkim, bool *spf)
{
	*dkim = *spf = false;
	for (size_t k = 0; k < o->nidents; k++) {
		if (o->idents[k].state != SIGNET_DMARC_ALIGNED)
			continue;
		if (o->idents[k].dkim)
			*dkim = true;
		else
			*spf = true;
	}
}

bool session_report_submit(struct report_writer *w, const struct session_report_facts *f)
{
	const struct signet_dmarc_outcome *o = f->dmarc;
	if (w == NULL || o == NULL || o->record == NULL || !o->record->usable ||
	    o->policy_domain == NULL || o->author_domain == NULL || f->source_ip == NULL)
		return false;
	char fo[REPORT_TEXT_MAX], rua[REPORT_TEXT_MAX];
	struct report_obs obs = {
		.day = report_store_day(f->now),
		.policy_domain = o->policy_domain,
		.source_ip = f->source_ip,
		.header_from = o->author_domain,
		.envelope_from = domain_of(f->mail_from, f->helo),
		.envelope_to = f->rcpt_domain,
		.dmarc_result = signet_dmarc_result_name(o->result),
		.disposition = o->disposition == SIGNET_DMARC_POLICY_UNSET
				       ? "none"
				       : signet_dmarc_policy_name(o->disposition),
		.override_type = override_word(o->override),
		.override_comment =
			o->override != SIGNET_DMARC_OVERRIDE_NONE ? f->override_comment : NULL,
	};
	for (size_t k = 0; k < f->ndkim && obs.ndkim < REPORT_STORE_MAX_DKIM; k++) {
		const struct signet_sig_result *r = f->dkim[k];
		if (r->d == NULL || r->d[0] == '\0')
			continue; /* no d= to report a result for */
		obs.dkim[obs.ndkim++] = (struct report_dkim){
			.domain = r->d,
			.selector = r->s != NULL && r->s[0] != '\0' ? r->s : NULL,
			.result = signet_result_name(r->result)};
	}
	if (f->spf != NULL) {
		obs.spf_domain = domain_of(f->spf->value, NULL);
		obs.spf_scope = f->spf->identity == SIGNET_SPF_HELO ? "helo" : "mfrom";
		obs.spf_result = signet_spf_result_name(f->spf->result);
	}
	aligned(o, &obs.dkim_aligned_pass, &obs.spf_aligned_pass);
	policy_published(o->record, f->mode, &obs.policy, fo, rua);
	return report_writer_submit(w, &obs);
}
