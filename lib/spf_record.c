/* spf_record.c: parsing an SPF record (RFC 7208 4.6.1 terms, 5 mechanisms,
 * 6 modifiers). Grammar functions are named after the ABNF rules. */
#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>

#include "spf_macro.h"
#include "spf_record.h"

bool spf_record_is_spf(const uint8_t *p, size_t len)
{
	static const char v[] = "v=spf1";
	if (len < 6)
		return false;
	for (size_t k = 0; k < 6; k++)
		if (ascii_lower(p[k]) != (uint8_t)v[k])
			return false;
	return len == 6 || p[6] == ' ';
}

static bool span_is(struct signet_span s, const char *word)
{
	return s.len == strlen(word) && span_eq_nocase(s, word);
}

/* A decimal of at most maxdig digits without a leading zero (ip4-cidr-length
 * and ip6-cidr-length: "0" / %x31-39 0*1DIGIT, 0*2DIGIT). */
static bool cidr_number(struct signet_span s, unsigned max, unsigned *out)
{
	unsigned v = 0;
	if (s.len == 0 || s.len > 3 || (s.p[0] == '0' && s.len > 1))
		return false;
	for (size_t k = 0; k < s.len; k++) {
		if (s.p[k] < '0' || s.p[k] > '9')
			return false;
		v = v * 10 + (unsigned)(s.p[k] - '0');
	}
	*out = v;
	return v <= max;
}

/* Splits a trailing "/N" (or "//N" for IPv6) off *s. Returns 1 when found
 * and valid, 0 when absent, -1 when present and out of range. */
static int cidr_suffix(struct signet_span *s, bool dual6, unsigned max, unsigned *out)
{
	size_t k = s->len;
	while (k > 0 && s->p[k - 1] >= '0' && s->p[k - 1] <= '9')
		k--;
	if (k == s->len || k == 0 || s->p[k - 1] != '/')
		return 0;
	bool two = k >= 2 && s->p[k - 2] == '/';
	if (two != dual6)
		return 0;
	struct signet_span num = {s->p + k, s->len - k};
	s->len = k - (dual6 ? 2 : 1);
	return cidr_number(num, max, out) ? 1 : -1;
}

/* ip4-network: a dotted quad, each part 0..255 without leading zeros. */
static bool ip4_network(struct signet_span s, uint8_t out[4])
{
	size_t k = 0;
	for (int part = 0; part < 4; part++) {
		size_t start = k;
		unsigned v = 0;
		while (k < s.len && s.p[k] >= '0' && s.p[k] <= '9' && k - start < 3)
			v = v * 10 + (unsigned)(s.p[k++] - '0');
		if (k == start || v > 255 || (s.p[start] == '0' && k - start > 1))
			return false;
		out[part] = (uint8_t)v;
		if (part < 3 && (k >= s.len || s.p[k++] != '.'))
			return false;
	}
	return k == s.len;
}

static bool ip6_network(struct signet_span s, uint8_t out[16])
{
	char buf[64];
	if (s.len == 0 || s.len >= sizeof buf || memchr(s.p, ':', s.len) == NULL)
		return false;
	memcpy(buf, s.p, s.len);
	buf[s.len] = '\0';
	return inet_pton(AF_INET6, buf, out) == 1;
}

struct parse {
	struct spf_record *r;
	const char *why;
	struct signet_span bad;
};

static enum signet_status syntax(struct parse *ps, struct signet_span term, const char *why)
{
	ps->why = why;
	ps->bad = term;
	return SIGNET_ERR_SYNTAX;
}

/* name = ALPHA *( ALPHA / DIGIT / "-" / "_" / "." ) followed by "=":
 * the term is a modifier (4.6.1). */
static bool modifier_name(struct signet_span t, size_t *eq)
{
	uint8_t c = t.len ? ascii_lower(t.p[0]) : 0;
	if (c < 'a' || c > 'z')
		return false;
	for (size_t k = 1; k < t.len; k++) {
		c = ascii_lower(t.p[k]);
		if (c == '=') {
			*eq = k;
			return true;
		}
		if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_' ||
		      c == '.'))
			return false;
	}
	return false;
}

/* modifier = redirect / explanation / unknown-modifier (6) */
static enum signet_status modifier(struct parse *ps, struct signet_span t, size_t eq)
{
	struct signet_span name = {t.p, eq}, value = {t.p + eq + 1, t.len - eq - 1};
	const char *why;
	struct spf_record *r = ps->r;
	bool redirect = span_is(name, "redirect"), exp = span_is(name, "exp");
	if (redirect || exp) {
		if (redirect ? r->has_redirect : r->has_exp)
			return syntax(ps, t,
				      redirect ? "redirect= given twice (RFC 7208 6)"
					       : "exp= given twice (RFC 7208 6)");
		if (!spf_macro_domain_spec_valid(value, &why))
			return syntax(ps, t, why);
		if (redirect) {
			r->has_redirect = true;
			r->redirect = value;
			r->redirect_text = t;
		} else {
			r->has_exp = true;
			r->exp = value;
		}
		return SIGNET_OK;
	}
	/* unknown-modifier = name "=" macro-string: ignored, but checked (6) */
	if (!spf_macro_valid(value, false, &why))
		return syntax(ps, t, why);
	return SIGNET_OK;
}

/* The mechanism name before ":" or "/" and what follows it. */
static struct signet_span mech_name(struct signet_span t, struct signet_span *rest)
{
	size_t k = 0;
	while (k < t.len && t.p[k] != ':' && t.p[k] != '/')
		k++;
	*rest = (struct signet_span){t.p + k, t.len - k};
	return (struct signet_span){t.p, k};
}

/* a / mx: [ ":" domain-spec ] [ dual-cidr-length ] */
static enum signet_status a_or_mx(struct parse *ps, struct signet_span t, struct signet_span rest,
				  struct spf_term *term)
{
	const char *why;
	term->cidr4 = 32;
	term->cidr6 = 128;
	if (cidr_suffix(&rest, true, 128, &term->cidr6) < 0)
		return syntax(ps, t, "IPv6 CIDR length out of range 0..128 (RFC 7208 5.6)");
	if (cidr_suffix(&rest, false, 32, &term->cidr4) < 0)
		return syntax(ps, t, "IPv4 CIDR length out of range 0..32 (RFC 7208 5.6)");
	if (rest.len == 0)
		return SIGNET_OK;
	if (rest.p[0] != ':')
		return syntax(ps, t, "':' domain-spec or a CIDR length expected (RFC 7208 5.3)");
	term->domain = (struct signet_span){rest.p + 1, rest.len - 1};
	if (!spf_macro_domain_spec_valid(term->domain, &why))
		return syntax(ps, t, why);
	return SIGNET_OK;
}

/* include, exists: ":" domain-spec (required); ptr: [ ":" domain-spec ] */
static enum signet_status domain_arg(struct parse *ps, struct signet_span t,
				     struct signet_span rest, bool required, struct spf_term *term)
{
	const char *why;
	if (rest.len == 0 && !required)
		return SIGNET_OK;
	if (rest.len == 0 || rest.p[0] != ':')
		return syntax(ps, t,
			      required ? "':' domain-spec required (RFC 7208 5.2, 5.7)"
				       : "no CIDR length allowed here (RFC 7208 5.5)");
	term->domain = (struct signet_span){rest.p + 1, rest.len - 1};
	if (!spf_macro_domain_spec_valid(term->domain, &why))
		return syntax(ps, t, why);
	return SIGNET_OK;
}

/* ip4 / ip6: ":" network [ cidr-length ] */
static enum signet_status ip_arg(struct parse *ps, struct signet_span t, struct signet_span rest,
				 bool six, struct spf_term *term)
{
	if (rest.len == 0 || rest.p[0] != ':')
		return syntax(ps, t, "':' address required (RFC 7208 5.6)");
	struct signet_span net = {rest.p + 1, rest.len - 1};
	unsigned *cidr = six ? &term->cidr6 : &term->cidr4;
	*cidr = six ? 128 : 32;
	if (cidr_suffix(&net, false, six ? 128 : 32, cidr) < 0)
		return syntax(ps, t,
			      six ? "IPv6 CIDR length out of range 0..128 (RFC 7208 5.6)"
				  : "IPv4 CIDR length out of range 0..32 (RFC 7208 5.6)");
	if (six ? !ip6_network(net, term->addr) : !ip4_network(net, term->addr))
		return syntax(ps, t,
			      six ? "not an IPv6 address (RFC 7208 5.6)"
				  : "not an IPv4 address (RFC 7208 5.6)");
	return SIGNET_OK;
}

/* directive = [ qualifier ] mechanism (4.6.1, 5) */
static enum signet_status directive(struct parse *ps, struct signet_span t, struct spf_term *term)
{
	struct signet_span body = t, rest;
	memset(term, 0, sizeof *term);
	term->text = t;
	term->qualifier = '+';
	if (strchr("+-~?", t.p[0]) != NULL) {
		term->qualifier = t.p[0];
		body = (struct signet_span){t.p + 1, t.len - 1};
	}
	struct signet_span name = mech_name(body, &rest);
	if (span_is(name, "all")) {
		term->mech = SPF_ALL;
		ps->r->has_all = true;
		return rest.len == 0 ? SIGNET_OK
				     : syntax(ps, t, "'all' takes no argument (RFC 7208 5.1)");
	}
	if (span_is(name, "include")) {
		term->mech = SPF_INCLUDE;
		return domain_arg(ps, t, rest, true, term);
	}
	if (span_is(name, "exists")) {
		term->mech = SPF_EXISTS;
		return domain_arg(ps, t, rest, true, term);
	}
	if (span_is(name, "ptr")) {
		term->mech = SPF_PTR;
		return domain_arg(ps, t, rest, false, term);
	}
	if (span_is(name, "a") || span_is(name, "mx")) {
		term->mech = span_is(name, "a") ? SPF_A : SPF_MX;
		return a_or_mx(ps, t, rest, term);
	}
	if (span_is(name, "ip4") || span_is(name, "ip6")) {
		bool six = span_is(name, "ip6");
		term->mech = six ? SPF_IP6 : SPF_IP4;
		return ip_arg(ps, t, rest, six, term);
	}
	return syntax(ps, t, "unknown mechanism (RFC 7208 5)");
}

enum signet_status spf_record_parse(const uint8_t *text, size_t len, struct spf_record *r,
				    const char **why, struct signet_span *bad)
{
	struct parse ps = {r, NULL, {NULL, 0}};
	size_t nterms = 0;
	memset(r, 0, sizeof *r);
	for (size_t k = 0; k < len; k++) {
		if (text[k] > 0x7e || (text[k] < 0x20)) {
			*why = text[k] > 0x7e
				       ? "non-ASCII byte in the SPF record (RFC 7208 3)"
				       : "control character in the SPF record (RFC 7208 4.6.1)";
			*bad = (struct signet_span){text, len};
			return SIGNET_ERR_SYNTAX;
		}
		nterms += text[k] != ' ' && (k == 0 || text[k - 1] == ' ');
	}
	r->terms = calloc(nterms ? nterms : 1, sizeof *r->terms);
	if (r->terms == NULL)
		return SIGNET_ERR_NOMEM;
	/* terms = *( 1*SP ( directive / modifier ) ); the version is term 0 */
	enum signet_status st = SIGNET_OK;
	for (size_t k = 6; k < len && st == SIGNET_OK;) {
		while (k < len && text[k] == ' ')
			k++;
		size_t start = k;
		while (k < len && text[k] != ' ')
			k++;
		if (k == start)
			break;
		struct signet_span t = {text + start, k - start};
		size_t eq;
		if (modifier_name(t, &eq))
			st = modifier(&ps, t, eq);
		else if ((st = directive(&ps, t, &r->terms[r->nterms])) == SIGNET_OK)
			r->nterms++;
	}
	if (st != SIGNET_OK) {
		*why = ps.why;
		*bad = ps.bad;
		spf_record_free(r);
	}
	return st;
}

void spf_record_free(struct spf_record *r)
{
	free(r->terms);
	memset(r, 0, sizeof *r);
}
