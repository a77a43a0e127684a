/* dmarc_check.c: the lint of a published DMARC record (signet dmarc check):
 * what receivers make of the TXT records at a _dmarc name, as coded
 * findings with a severity and a sentence, and what a failure gets where.
 * It parses with lib/dmarc_record.c and does no DNS: the authorization
 * record of an external report destination is a name the caller asks. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "dmarc_record.h"
#include "dnsname.h"
#include "error.h"

#define SPEC_REC "RFC 9989 4.7"
#define SPEC_DISC "RFC 9989 4.10"
#define SPEC_7489 "RFC 7489 6.3"
#define SPEC_AUTH "RFC 9990 3"

static const char *const code_names[] = {
	[SIGNET_DMARC_CHECK_SEVERAL] = "several-records",
	[SIGNET_DMARC_CHECK_NOT_FIRST] = "v-not-first",
	[SIGNET_DMARC_CHECK_UNUSABLE] = "record-ignored",
	[SIGNET_DMARC_CHECK_BROKEN_PART] = "broken-part",
	[SIGNET_DMARC_CHECK_BAD_VALUE] = "bad-value",
	[SIGNET_DMARC_CHECK_P_SUBSTITUTED] = "policy-acts-as-none",
	[SIGNET_DMARC_CHECK_UNKNOWN_TAG] = "unknown-tag",
	[SIGNET_DMARC_CHECK_REMOVED_TAG] = "removed-tag",
	[SIGNET_DMARC_CHECK_P_MISSING] = "p-missing",
	[SIGNET_DMARC_CHECK_P_NOT_SECOND] = "p-not-second",
	[SIGNET_DMARC_CHECK_P_NONE_NO_RUA] = "p-none-no-rua",
	[SIGNET_DMARC_CHECK_P_NONE] = "p-none",
	[SIGNET_DMARC_CHECK_SP_WEAKER] = "sp-weaker",
	[SIGNET_DMARC_CHECK_NP_WEAKER] = "np-weaker",
	[SIGNET_DMARC_CHECK_PCT] = "pct-partial",
	[SIGNET_DMARC_CHECK_TESTING] = "testing",
	[SIGNET_DMARC_CHECK_RUA_NOT_MAILTO] = "rua-not-mailto",
	[SIGNET_DMARC_CHECK_RUF_NOT_MAILTO] = "ruf-not-mailto",
	[SIGNET_DMARC_CHECK_FO_WITHOUT_RUF] = "fo-without-ruf",
	[SIGNET_DMARC_CHECK_RUF_WITHOUT_FO] = "ruf-without-fo",
	[SIGNET_DMARC_CHECK_NO_RUA] = "no-rua",
	[SIGNET_DMARC_CHECK_STRICT_DKIM] = "adkim-strict",
	[SIGNET_DMARC_CHECK_STRICT_SPF] = "aspf-strict",
	[SIGNET_DMARC_CHECK_PSD] = "psd",
};

const char *signet_dmarc_check_code_name(enum signet_dmarc_check_code c)
{
	if ((size_t)c < sizeof code_names / sizeof code_names[0] && code_names[c] != NULL)
		return code_names[c];
	return "unknown";
}

const char *signet_dmarc_severity_name(enum signet_dmarc_severity s)
{
	switch (s) {
	case SIGNET_DMARC_SEV_ERROR: return "error";
	case SIGNET_DMARC_SEV_WARNING: return "warning";
	case SIGNET_DMARC_SEV_INFO: break;
	}
	return "info";
}

enum signet_dmarc_severity signet_dmarc_check_worst(const struct signet_dmarc_check *c)
{
	enum signet_dmarc_severity w = SIGNET_DMARC_SEV_INFO;
	for (size_t k = 0; c != NULL && k < c->n; k++)
		if (c->f[k].severity > w)
			w = c->f[k].severity;
	return w;
}

/* ---- findings ------------------------------------------------------------- */

static void add(struct signet_dmarc_check *c, enum signet_dmarc_check_code code,
		enum signet_dmarc_severity sev, const char *spec, const char *fix, const char *fmt,
		...) __attribute__((format(printf, 6, 7)));
static void add(struct signet_dmarc_check *c, enum signet_dmarc_check_code code,
		enum signet_dmarc_severity sev, const char *spec, const char *fix, const char *fmt,
		...)
{
	if (c->n == SIGNET_DMARC_CHECK_MAX_FINDINGS)
		return; /* not reached: see SIGNET_DMARC_CHECK_MAX_FINDINGS */
	struct signet_dmarc_finding *f = &c->f[c->n++];
	*f = (struct signet_dmarc_finding){code, sev, spec, fix, {0}};
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(f->msg, sizeof f->msg, fmt, ap);
	va_end(ap);
	for (char *p = f->msg; *p; p++) /* one printable line: record text may be hostile */
		if ((unsigned char)*p < 0x20 || (unsigned char)*p > 0x7e)
			*p = '?';
}

/* Record text quoted in a message: at most this many octets. */
#define QUOTE_MAX 60
static int qlen(struct signet_dmarc_text t)
{
	return (int)(t.len > QUOTE_MAX ? QUOTE_MAX : t.len);
}

/* A value that holds "x=" most likely lost its ';' ("p=reject rua=..."). */
static bool looks_like_missing_sep(struct signet_dmarc_text v)
{
	return memchr(v.p, '=', v.len) != NULL;
}

static void notes(struct signet_dmarc_check *c, enum signet_dmarc_mode mode)
{
	const struct signet_dmarc_record *r = &c->record;
	for (size_t k = 0; k < r->nnotes; k++) {
		const struct signet_dmarc_note *n = &r->notes[k];
		switch (n->kind) {
		case SIGNET_DMARC_NOTE_BROKEN:
			add(c, SIGNET_DMARC_CHECK_BROKEN_PART, SIGNET_DMARC_SEV_ERROR, SPEC_REC,
			    "write it as tag=value, or delete it",
			    "'%.*s' is not a tag=value pair: receivers discard it", qlen(n->tag),
			    n->tag.p);
			break;
		case SIGNET_DMARC_NOTE_BAD_VALUE:
			add(c, SIGNET_DMARC_CHECK_BAD_VALUE, SIGNET_DMARC_SEV_ERROR, SPEC_REC,
			    looks_like_missing_sep(n->value)
				    ? "put a ';' between the tags"
				    : "use one of the values the RFC defines for this tag",
			    "%.*s=%.*s: %s", qlen(n->tag), n->tag.p, qlen(n->value), n->value.p,
			    n->why);
			break;
		case SIGNET_DMARC_NOTE_REMOVED:
			add(c, SIGNET_DMARC_CHECK_REMOVED_TAG, SIGNET_DMARC_SEV_WARNING, SPEC_REC,
			    "delete it (t=y replaces pct=0 for testing)",
			    "%.*s= was removed by RFC 9989: RFC 9989 receivers ignore it (RFC 7489 "
			    "receivers still read it)",
			    qlen(n->tag), n->tag.p);
			break;
		case SIGNET_DMARC_NOTE_UNKNOWN:
			add(c, SIGNET_DMARC_CHECK_UNKNOWN_TAG, SIGNET_DMARC_SEV_WARNING, SPEC_REC,
			    "check the spelling, or delete it",
			    "%.*s= is not a DMARC tag%s: receivers ignore it", qlen(n->tag),
			    n->tag.p, mode == SIGNET_DMARC_RFC7489 ? " of RFC 7489" : "");
			break;
		}
	}
}

/* RFC 7489 6.3: "the v and p tags MUST be present and MUST appear in that
 * order"; RFC 9989 dropped the order. The text after v=DMARC1 and ';'. */
static bool p_second(const uint8_t *text, size_t len)
{
	const uint8_t *semi = memchr(text, ';', len);
	if (semi == NULL)
		return false;
	size_t k = (size_t)(semi - text) + 1;
	while (k < len && is_wsp(text[k]))
		k++;
	if (k >= len || (text[k] | 0x20) != 'p')
		return false;
	k++;
	while (k < len && is_wsp(text[k]))
		k++;
	return k < len && text[k] == '=';
}

static bool uris_all_mailto(struct signet_dmarc_text list)
{
	size_t start = 0;
	for (size_t k = 0; k <= list.len; k++) {
		if (k < list.len && list.p[k] != ',')
			continue;
		struct signet_span u = span_trim_fws(
			(struct signet_span){(const uint8_t *)list.p + start, k - start});
		start = k + 1;
		if (u.len < 7 || !span_eq_nocase((struct signet_span){u.p, 7}, "mailto:"))
			return false;
	}
	return true;
}

static int rank(enum signet_dmarc_policy p)
{
	return p == SIGNET_DMARC_POLICY_REJECT ? 3 : p == SIGNET_DMARC_POLICY_QUARANTINE ? 2 : 1;
}

/* RFC 9989 4.10.1 and 4.7 sp=, np=: the policy each kind of name gets. */
static void policies(struct signet_dmarc_check *c, enum signet_dmarc_mode mode)
{
	const struct signet_dmarc_record *r = &c->record;
	c->domain = r->p;
	c->subdomains = r->sp != SIGNET_DMARC_POLICY_UNSET ? r->sp : r->p;
	c->nonexistent = mode == SIGNET_DMARC_RFC9989 && r->np != SIGNET_DMARC_POLICY_UNSET
				 ? r->np
				 : c->subdomains;
}

/* p=none was substituted either for an absent p= (RFC 9989 4.7) or for an
 * invalid p=, sp= or np= (4.10.1); an invalid one has left a note. */
static bool policy_tag_invalid(const struct signet_dmarc_record *r)
{
	for (size_t k = 0; k < r->nnotes; k++) {
		struct signet_span t = {(const uint8_t *)r->notes[k].tag.p, r->notes[k].tag.len};
		if (r->notes[k].kind == SIGNET_DMARC_NOTE_BAD_VALUE &&
		    (span_eq_nocase(t, "p") || span_eq_nocase(t, "sp") || span_eq_nocase(t, "np")))
			return true;
	}
	return false;
}

static void policy_findings(struct signet_dmarc_check *c, enum signet_dmarc_mode mode)
{
	const struct signet_dmarc_record *r = &c->record;
	const char *pn = signet_dmarc_policy_name(r->p);
	if (r->p_substituted && !policy_tag_invalid(r))
		add(c, SIGNET_DMARC_CHECK_P_MISSING, SIGNET_DMARC_SEV_WARNING, SPEC_REC,
		    "add p=none, p=quarantine or p=reject",
		    "no p= tag: receivers read p=none (RFC 7489 receivers only because rua= "
		    "is valid; without it they ignore the record)");
	else if (r->p_substituted)
		add(c, SIGNET_DMARC_CHECK_P_SUBSTITUTED, SIGNET_DMARC_SEV_ERROR, "RFC 9989 4.10.1",
		    "fix the p=, sp= or np= value",
		    "a policy tag is missing or invalid, so receivers act as if the record said "
		    "p=none (it has a valid rua=)");
	if (r->p == SIGNET_DMARC_POLICY_NONE && r->nrua == 0)
		add(c, SIGNET_DMARC_CHECK_P_NONE_NO_RUA, SIGNET_DMARC_SEV_WARNING, SPEC_REC,
		    "add rua=mailto:ADDRESS to receive aggregate reports",
		    "p=none without rua=: the record asks for nothing and nobody receives "
		    "reports, so this monitoring is read by no one");
	if (r->p == SIGNET_DMARC_POLICY_NONE)
		add(c, SIGNET_DMARC_CHECK_P_NONE, SIGNET_DMARC_SEV_WARNING, SPEC_REC,
		    "once the reports show all your mail passing, move to p=quarantine, then "
		    "p=reject",
		    "p=none: mail that fails DMARC is delivered as usual; the record protects "
		    "nothing yet");
	if (r->sp != SIGNET_DMARC_POLICY_UNSET && rank(r->sp) < rank(r->p))
		add(c, SIGNET_DMARC_CHECK_SP_WEAKER, SIGNET_DMARC_SEV_WARNING, SPEC_REC,
		    "raise sp= to p=, or delete sp=",
		    "sp=%s is weaker than p=%s: forgers can use any subdomain instead",
		    signet_dmarc_policy_name(r->sp), pn);
	if (mode == SIGNET_DMARC_RFC9989 && r->np != SIGNET_DMARC_POLICY_UNSET &&
	    rank(r->np) < rank(c->subdomains))
		add(c, SIGNET_DMARC_CHECK_NP_WEAKER, SIGNET_DMARC_SEV_WARNING, SPEC_REC,
		    "raise np= to at least the subdomain policy, or delete np=",
		    "np=%s is weaker than the policy for existing subdomains (%s): names that do "
		    "not exist are the easiest to forge",
		    signet_dmarc_policy_name(r->np), signet_dmarc_policy_name(c->subdomains));
	if (mode == SIGNET_DMARC_RFC7489 && r->pct < 100)
		add(c, SIGNET_DMARC_CHECK_PCT, SIGNET_DMARC_SEV_WARNING, "RFC 7489 6.6.4",
		    "set pct=100 (or delete it); RFC 9989 removed pct= and uses t=y for testing",
		    "pct=%u: only %u%% of failing mail gets p=%s, the rest one step weaker", r->pct,
		    r->pct, pn);
	if (mode == SIGNET_DMARC_RFC9989 && r->t)
		add(c, SIGNET_DMARC_CHECK_TESTING, SIGNET_DMARC_SEV_WARNING, SPEC_REC,
		    "delete t=y when testing is over",
		    "t=y: testing; receivers are asked not to apply the policy as published "
		    "(signet applies one step weaker)");
}

static void report_findings(struct signet_dmarc_check *c)
{
	const struct signet_dmarc_record *r = &c->record;
	if (r->nrua > 0 && !uris_all_mailto(r->rua))
		add(c, SIGNET_DMARC_CHECK_RUA_NOT_MAILTO, SIGNET_DMARC_SEV_WARNING, "RFC 9989 4.7",
		    "use mailto: addresses",
		    "rua= has a URI that is not mailto:: receivers need only support mailto: and "
		    "ignore what they do not support");
	if (r->nruf > 0 && !uris_all_mailto(r->ruf))
		add(c, SIGNET_DMARC_CHECK_RUF_NOT_MAILTO, SIGNET_DMARC_SEV_WARNING, "RFC 9989 4.7",
		    "use mailto: addresses",
		    "ruf= has a URI that is not mailto:: receivers need only support mailto: and "
		    "ignore what they do not support");
	if (r->fo.len > 0 && r->nruf == 0)
		add(c, SIGNET_DMARC_CHECK_FO_WITHOUT_RUF, SIGNET_DMARC_SEV_WARNING, SPEC_REC,
		    "add ruf=mailto:ADDRESS, or delete fo=",
		    "fo= without a valid ruf=: receivers ignore fo=");
	if (r->nruf > 0 && r->fo.len == 0)
		add(c, SIGNET_DMARC_CHECK_RUF_WITHOUT_FO, SIGNET_DMARC_SEV_INFO, SPEC_REC, NULL,
		    "ruf= without fo=: failure reports (from the few receivers that send them) "
		    "only when both SPF and DKIM fail to align (fo=0)");
	if (r->nrua == 0 && r->p != SIGNET_DMARC_POLICY_NONE)
		add(c, SIGNET_DMARC_CHECK_NO_RUA, SIGNET_DMARC_SEV_INFO, "RFC 9990", NULL,
		    "no rua=: you will not see aggregate reports of who sends as your domain");
}

static void other_findings(struct signet_dmarc_check *c, enum signet_dmarc_mode mode)
{
	const struct signet_dmarc_record *r = &c->record;
	if (r->adkim == SIGNET_DMARC_STRICT)
		add(c, SIGNET_DMARC_CHECK_STRICT_DKIM, SIGNET_DMARC_SEV_INFO, "RFC 9989 4.4", NULL,
		    "adkim=s: a DKIM signature aligns only if its d= is exactly the From domain "
		    "(a signature by a parent or sibling domain does not count)");
	if (r->aspf == SIGNET_DMARC_STRICT)
		add(c, SIGNET_DMARC_CHECK_STRICT_SPF, SIGNET_DMARC_SEV_INFO, "RFC 9989 4.4", NULL,
		    "aspf=s: SPF aligns only if the MAIL FROM domain is exactly the From domain "
		    "(bounce addresses at a subdomain do not count)");
	if (mode == SIGNET_DMARC_RFC9989 && r->psd == SIGNET_DMARC_PSD_Y)
		add(c, SIGNET_DMARC_CHECK_PSD, SIGNET_DMARC_SEV_INFO, "RFC 9989 4.10.2", NULL,
		    "psd=y: this is a public suffix domain's record; organizational domains are "
		    "one label below it");
}

/* Most severe first, the order of the checks within one severity. */
static void sort(struct signet_dmarc_check *c)
{
	for (size_t i = 1; i < c->n; i++) {
		struct signet_dmarc_finding f = c->f[i];
		size_t j = i;
		while (j > 0 && c->f[j - 1].severity < f.severity) {
			c->f[j] = c->f[j - 1];
			j--;
		}
		c->f[j] = f;
	}
}

static void judge(struct signet_dmarc_check *c, const uint8_t *text, size_t len,
		  enum signet_dmarc_mode mode)
{
	struct signet_error perr;
	if (signet_dmarc_record_parse(text, len, mode, &c->record, &perr) != SIGNET_OK)
		return; /* not reached: the arguments were checked */
	const struct signet_dmarc_record *r = &c->record;
	if (!r->usable) {
		add(c, SIGNET_DMARC_CHECK_UNUSABLE, SIGNET_DMARC_SEV_ERROR, SPEC_DISC,
		    "fix the record as the other findings say", "receivers ignore this record: %s",
		    r->reason);
		notes(c, mode);
		sort(c);
		return;
	}
	policies(c, mode);
	notes(c, mode);
	if (mode == SIGNET_DMARC_RFC7489 && !p_second(text, len))
		add(c, SIGNET_DMARC_CHECK_P_NOT_SECOND, SIGNET_DMARC_SEV_WARNING, SPEC_7489,
		    "put p= right after v=DMARC1",
		    "p= does not follow v=DMARC1 directly: RFC 7489 requires that order and "
		    "strict RFC 7489 receivers may ignore the record");
	policy_findings(c, mode);
	report_findings(c);
	other_findings(c, mode);
	sort(c);
}

static void reset(struct signet_dmarc_check *c)
{
	memset(c, 0, sizeof *c);
}

enum signet_status signet_dmarc_record_check(const uint8_t *text, size_t len,
					     enum signet_dmarc_mode mode,
					     struct signet_dmarc_check *out,
					     struct signet_error *err)
{
	if (out == NULL || (text == NULL && len > 0))
		return error_set(err, SIGNET_ERR_INVAL, NULL,
				 "signet_dmarc_record_check: bad arguments");
	reset(out);
	out->ntxt = 1;
	out->ndmarc = signet_dmarc_is_record(text, len) ? 1 : 0;
	judge(out, text, len, mode);
	return SIGNET_OK;
}

/* A record that a person meant as DMARC but receivers skip: "DMARC1"
 * appears (any case) and it does not start with v=DMARC1 (" v=DMARC1",
 * "v=dmarc1", "p=reject; v=DMARC1"). */
static bool look_alike(const uint8_t *p, size_t len)
{
	for (size_t k = 0; k + 6 <= len; k++)
		if (span_eq_nocase((struct signet_span){p + k, 6}, "dmarc1"))
			return true;
	return false;
}

enum signet_status signet_dmarc_answer_check(const struct signet_rr *txt, size_t n,
					     enum signet_dmarc_mode mode,
					     struct signet_dmarc_check *out,
					     struct signet_error *err)
{
	if (out == NULL || (txt == NULL && n > 0))
		return error_set(err, SIGNET_ERR_INVAL, NULL,
				 "signet_dmarc_answer_check: bad arguments");
	if (n > SIGNET_DMARC_CHECK_MAX_TXT)
		return error_set(err, SIGNET_ERR_LIMIT, SPEC_DISC,
				 "more than SIGNET_DMARC_CHECK_MAX_TXT (%d) TXT records",
				 SIGNET_DMARC_CHECK_MAX_TXT);
	reset(out);
	out->ntxt = n;
	for (size_t k = 0; k < n; k++) {
		if (signet_dmarc_is_record(txt[k].p, txt[k].len)) {
			if (out->ndmarc++ == 0)
				out->which = k;
		} else if (look_alike(txt[k].p, txt[k].len)) {
			add(out, SIGNET_DMARC_CHECK_NOT_FIRST, SIGNET_DMARC_SEV_ERROR, SPEC_REC,
			    "start the record with exactly v=DMARC1;",
			    "TXT record %zu mentions DMARC1 but does not start with v=DMARC1 "
			    "(upper-case DMARC1, nothing before it): receivers skip it",
			    k + 1);
		}
	}
	if (out->ndmarc > 1)
		add(out, SIGNET_DMARC_CHECK_SEVERAL, SIGNET_DMARC_SEV_ERROR, SPEC_DISC,
		    "delete all but one v=DMARC1 record at this name",
		    "%zu records start with v=DMARC1: receivers discard them all, as if there "
		    "were none",
		    out->ndmarc);
	if (out->ndmarc == 1)
		judge(out, txt[out->which].p, txt[out->which].len, mode);
	else /* none, or several: none of them applies, so none is judged */
		sort(out);
	return SIGNET_OK;
}

/* ---- external report destinations ------------------------------------------ */

/* The host of a dmarc-uri: mailto: the domain after the last '@' (RFC 6068
 * addr-spec; a '?' starts the headers); otherwise the authority's host
 * (RFC 3986 3.2.2). A "!size" suffix (RFC 7489 6.4) is not part of it. */
static struct signet_span uri_host(struct signet_span u)
{
	size_t end = u.len;
	for (size_t k = 0; k < u.len; k++)
		if (u.p[k] == '!' || u.p[k] == '?') {
			end = k;
			break;
		}
	struct signet_span s = {u.p, end};
	if (s.len >= 7 && span_eq_nocase((struct signet_span){s.p, 7}, "mailto:")) {
		const uint8_t *at = NULL;
		for (size_t k = 7; k < s.len; k++)
			if (s.p[k] == '@')
				at = s.p + k;
		if (at == NULL)
			return (struct signet_span){s.p, 0};
		return (struct signet_span){at + 1, (size_t)(s.p + s.len - at - 1)};
	}
	const uint8_t *auth = NULL;
	for (size_t k = 0; k + 2 < s.len; k++)
		if (s.p[k] == ':' && s.p[k + 1] == '/' && s.p[k + 2] == '/') {
			auth = s.p + k + 3;
			break;
		}
	if (auth == NULL)
		return (struct signet_span){s.p, 0};
	size_t alen = (size_t)(s.p + s.len - auth), k = 0;
	const uint8_t *at = memchr(auth, '@', alen); /* userinfo@host */
	if (at != NULL && memchr(auth, '/', (size_t)(at - auth)) == NULL) {
		alen -= (size_t)(at + 1 - auth);
		auth = at + 1;
	}
	while (k < alen && auth[k] != '/' && auth[k] != ':')
		k++;
	return (struct signet_span){auth, k};
}

static bool within(const char *host, const char *org)
{
	size_t h = strlen(host), o = strlen(org);
	if (h == o)
		return strcmp(host, org) == 0;
	return h > o && host[h - o - 1] == '.' && strcmp(host + h - o, org) == 0;
}

enum signet_status signet_dmarc_report_dest(const char *policy_domain, const char *org_domain,
					    const uint8_t *uri, size_t len,
					    struct signet_dmarc_dest *out, struct signet_error *err)
{
	if (policy_domain == NULL || uri == NULL || out == NULL)
		return error_set(err, SIGNET_ERR_INVAL, NULL,
				 "signet_dmarc_report_dest: bad arguments");
	memset(out, 0, sizeof *out);
	struct signet_span host = uri_host(span_trim_fws((struct signet_span){uri, len}));
	if (host.len > 0 && host.p[host.len - 1] == '.')
		host.len--;
	if (host.len == 0 || dnsname_check(host.p, host.len, 0, NULL) != DNSNAME_OK)
		return error_set(err, SIGNET_ERR_SYNTAX, SPEC_AUTH,
				 "the report URI names no host that is a DNS name");
	for (size_t k = 0; k < host.len; k++)
		out->host[k] = (char)ascii_lower(host.p[k]);
	char org[SIGNET_DMARC_REPORT_NAME_MAX];
	snprintf(org, sizeof org, "%s", org_domain != NULL ? org_domain : policy_domain);
	for (char *p = org; *p; p++)
		*p = (char)ascii_lower((uint8_t)*p);
	out->external = !within(out->host, org);
	int w = snprintf(out->auth_name, sizeof out->auth_name, "%s._report._dmarc.%s",
			 policy_domain, out->host);
	if (w < 0 || (size_t)w > DNSNAME_MAX)
		return error_set(err, SIGNET_ERR_LIMIT, SPEC_AUTH,
				 "the authorization name would be longer than %d octets",
				 DNSNAME_MAX);
	return SIGNET_OK;
}

/* RFC 7489 7.1 step 5 (RFC 9990 3): authorized when a TXT record at the
 * name starts with v=DMARC1. */
enum signet_dmarc_auth signet_dmarc_report_auth(enum signet_dns_status st,
						const struct signet_rr *txt, size_t n)
{
	if (st == SIGNET_DNS_TEMPFAIL)
		return SIGNET_DMARC_AUTH_TEMPERROR;
	if (st != SIGNET_DNS_OK || txt == NULL)
		return SIGNET_DMARC_AUTH_NO;
	for (size_t k = 0; k < n; k++)
		if (signet_dmarc_is_record(txt[k].p, txt[k].len))
			return SIGNET_DMARC_AUTH_YES;
	return SIGNET_DMARC_AUTH_NO;
}
