/* report_xml.c: DMARC aggregate report XML (report_xml.h). Element order
 * follows the RFC 7489 Appendix C schema for that form, and the RFC 9990
 * example report (report_metadata, policy_published, record) for the
 * default form; tests check both (tests/integration/test_dmarc_report.py). */
#include <arpa/inet.h>
#include <string.h>

#include "report_xml.h"

#define RFC9990_NS "urn:ietf:params:xml:ns:dmarc-2.0"

/* Length of the valid UTF-8 sequence at p (n bytes left), 0 if invalid. */
static size_t utf8_len(const unsigned char *p, size_t n)
{
	size_t len = p[0] >= 0xf0 ? 4 : p[0] >= 0xe0 ? 3 : p[0] >= 0xc2 ? 2 : 0;
	if (len == 0 || p[0] > 0xf4 || len > n)
		return 0;
	for (size_t k = 1; k < len; k++)
		if ((p[k] & 0xc0) != 0x80)
			return 0;
	if ((p[0] == 0xe0 && p[1] < 0xa0) || (p[0] == 0xf0 && p[1] < 0x90) ||
	    (p[0] == 0xed && p[1] >= 0xa0) || (p[0] == 0xf4 && p[1] >= 0x90))
		return 0; /* overlong, surrogate, above U+10FFFF */
	return len;
}

void report_xml_text(FILE *f, const char *s)
{
	const unsigned char *p = (const unsigned char *)(s ? s : "");
	size_t n = strlen((const char *)p);

	for (size_t k = 0; k < n;) {
		unsigned char c = p[k];
		size_t ul;
		switch (c) {
		case '&': fputs("&amp;", f); break;
		case '<': fputs("&lt;", f); break;
		case '>': fputs("&gt;", f); break;
		case '"': fputs("&quot;", f); break;
		case '\'': fputs("&apos;", f); break;
		default:
			if (c >= 0x80 && (ul = utf8_len(p + k, n - k)) > 0) {
				fwrite(p + k, 1, ul, f);
				k += ul;
				continue;
			}
			/* XML 1.0 (2.2 Char): no control bytes but tab, LF, CR. */
			fputc(c >= 0x80 || c == 0x7f ||
					      (c < 0x20 && c != '\t' && c != '\n' && c != '\r')
				      ? '?'
				      : c,
			      f);
		}
		k++;
	}
}

static void elem(FILE *f, int depth, const char *name, const char *text)
{
	fprintf(f, "%*s<%s>", depth * 2, "", name);
	report_xml_text(f, text);
	fprintf(f, "</%s>\n", name);
}

static void opt_elem(FILE *f, int depth, const char *name, const char *text)
{
	if (text != NULL && *text != '\0')
		elem(f, depth, name, text);
}

static void metadata(FILE *f, enum report_format fmt, const struct report_meta *m)
{
	fputs("  <report_metadata>\n", f);
	elem(f, 2, "org_name", m->org_name);
	elem(f, 2, "email", m->email);
	elem(f, 2, "report_id", m->report_id);
	fprintf(f,
		"    <date_range>\n      <begin>%lld</begin>\n      <end>%lld</end>\n"
		"    </date_range>\n",
		(long long)m->begin, (long long)m->end);
	if (fmt == REPORT_FORMAT_RFC9990)
		elem(f, 2, "generator", "signet " SIGNET_VERSION);
	fputs("  </report_metadata>\n", f);
}

/* RFC 7489 Appendix C: domain, adkim?, aspf?, p, sp?, pct, fo (pct and fo
 * are required there: the defaults 100 and 0 when the record had none). */
static void policy_7489(FILE *f, const struct report_meta *m, const struct report_policy *p)
{
	char pct[16];
	snprintf(pct, sizeof pct, "%d", p->pct >= 0 ? p->pct : 100);
	elem(f, 2, "domain", m->domain);
	opt_elem(f, 2, "adkim", p->adkim);
	opt_elem(f, 2, "aspf", p->aspf);
	elem(f, 2, "p", p->p ? p->p : "none");
	/* Required by the schema; absent sp= means p= applies (RFC 7489 6.3). */
	elem(f, 2, "sp", p->sp ? p->sp : p->p ? p->p : "none");
	elem(f, 2, "pct", pct);
	elem(f, 2, "fo", p->fo ? p->fo : "0");
}

/* RFC 9990: the order of its example report (domain, p, sp, np, testing,
 * discovery_method), with adkim and aspf after np. */
static void policy_9990(FILE *f, const struct report_meta *m, const struct report_policy *p)
{
	elem(f, 2, "domain", m->domain);
	elem(f, 2, "p", p->p ? p->p : "none");
	opt_elem(f, 2, "sp", p->sp);
	opt_elem(f, 2, "np", p->np);
	opt_elem(f, 2, "adkim", p->adkim);
	opt_elem(f, 2, "aspf", p->aspf);
	elem(f, 2, "testing", p->testing ? "y" : "n");
	opt_elem(f, 2, "discovery_method", p->discovery);
}

void report_xml_head(FILE *f, enum report_format fmt, const struct report_meta *m,
		     const struct report_policy *p)
{
	fputs("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n", f);
	if (fmt == REPORT_FORMAT_RFC9990)
		fputs("<feedback xmlns=\"" RFC9990_NS "\">\n  <version>1.0</version>\n", f);
	else
		fputs("<feedback>\n  <version>1.0</version>\n", f);
	metadata(f, fmt, m);
	fputs("  <policy_published>\n", f);
	if (fmt == REPORT_FORMAT_RFC9990)
		policy_9990(f, m, p);
	else
		policy_7489(f, m, p);
	fputs("  </policy_published>\n", f);
}

static void policy_evaluated(FILE *f, enum report_format fmt, const struct report_obs *r)
{
	const char *disp = r->disposition;
	/* RFC 9990 adds "pass" for a message that passed DMARC. */
	if (fmt == REPORT_FORMAT_RFC9990 && r->dmarc_result && strcmp(r->dmarc_result, "pass") == 0)
		disp = "pass";
	fputs("      <policy_evaluated>\n", f);
	elem(f, 4, "disposition", disp);
	elem(f, 4, "dkim", r->dkim_aligned_pass ? "pass" : "fail");
	elem(f, 4, "spf", r->spf_aligned_pass ? "pass" : "fail");
	if (r->override_type != NULL) {
		fputs("        <reason>\n", f);
		elem(f, 5, "type", r->override_type);
		opt_elem(f, 5, "comment", r->override_comment);
		fputs("        </reason>\n", f);
	}
	fputs("      </policy_evaluated>\n", f);
}

static void auth_results(FILE *f, enum report_format fmt, const struct report_obs *r)
{
	fputs("    <auth_results>\n", f);
	for (size_t k = 0; k < r->ndkim; k++) {
		const struct report_dkim *d = &r->dkim[k];
		fputs("      <dkim>\n", f);
		elem(f, 4, "domain", d->domain);
		if (fmt == REPORT_FORMAT_RFC7489)
			opt_elem(f, 4, "selector", d->selector);
		elem(f, 4, "result", d->result);
		if (fmt == REPORT_FORMAT_RFC9990)
			opt_elem(f, 4, "selector", d->selector);
		fputs("      </dkim>\n", f);
	}
	/* Both schemas want one <spf>; without an SPF identifier it is the
	 * author domain with result none. */
	fputs("      <spf>\n", f);
	elem(f, 4, "domain", r->spf_domain ? r->spf_domain : r->header_from);
	elem(f, 4, "scope", r->spf_scope ? r->spf_scope : "mfrom");
	elem(f, 4, "result", r->spf_result ? r->spf_result : "none");
	fputs("      </spf>\n", f);
	fputs("    </auth_results>\n", f);
}

/* RFC 7489 Appendix C's IPAddress pattern takes IPv6 only as eight full
 * groups ("2001:db8:0:0:0:0:0:1"), not in the RFC 5952 form we store. */
static void source_ip(FILE *f, enum report_format fmt, const char *ip)
{
	unsigned char a[16];
	char full[48];
	if (fmt != REPORT_FORMAT_RFC7489 || strchr(ip, ':') == NULL ||
	    inet_pton(AF_INET6, ip, a) != 1) {
		elem(f, 3, "source_ip", ip);
		return;
	}
	for (int k = 0, o = 0; k < 8; k++)
		o += snprintf(full + o, sizeof full - (size_t)o, k ? ":%x" : "%x",
			      (unsigned)(a[2 * k] << 8 | a[2 * k + 1]));
	elem(f, 3, "source_ip", full);
}

void report_xml_record(FILE *f, enum report_format fmt, const struct report_obs *r)
{
	fputs("  <record>\n    <row>\n", f);
	source_ip(f, fmt, r->source_ip);
	fprintf(f, "      <count>%llu</count>\n", (unsigned long long)r->count);
	policy_evaluated(f, fmt, r);
	fputs("    </row>\n    <identifiers>\n", f);
	opt_elem(f, 3, "envelope_to", r->envelope_to);
	/* RFC 7489's schema requires envelope_from: "" when unknown. */
	elem(f, 3, "envelope_from", r->envelope_from ? r->envelope_from : "");
	elem(f, 3, "header_from", r->header_from);
	fputs("    </identifiers>\n", f);
	auth_results(f, fmt, r);
	fputs("  </record>\n", f);
}

void report_xml_tail(FILE *f)
{
	fputs("</feedback>\n", f);
}
