/* spf_macro.c: SPF macro-string syntax and expansion (RFC 7208 7). The
 * grammar functions are named after the ABNF rules of 7.1. */
#include <string.h>

#include "spf_macro.h"

/* delimiter = "." / "-" / "+" / "," / "/" / "_" / "=" */
static bool is_delimiter(uint8_t c)
{
	return c != 0 && strchr(".-+,/_=", c) != NULL;
}

static bool is_digit(uint8_t c)
{
	return c >= '0' && c <= '9';
}

static bool is_alpha(uint8_t c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

/* macro-letter = "s" / "l" / "o" / "d" / "i" / "p" / "h" / "c" / "r" / "t" / "v",
 * case-insensitive (an upper-case letter asks for URL escaping, 7.3). */
static bool macro_letter(uint8_t c, bool exp)
{
	uint8_t l = ascii_lower(c);
	if (l != 0 && strchr("slodiphv", l) != NULL)
		return true;
	return exp && l != 0 && strchr("crt", l) != NULL;
}

struct macro {
	uint8_t letter;  /* as written */
	unsigned digits; /* 0: all parts */
	bool reverse;
	char delims[8]; /* "" means "." */
	size_t end;     /* offset after the closing brace */
};

/* "%{" macro-letter transformers *delimiter "}" at s[k] == '%', s[k+1] == '{'.
 * transformers = *DIGIT [ "r" ]; a DIGIT value must be nonzero (7.3). */
static bool macro_expand_rule(struct signet_span s, size_t k, bool exp, struct macro *m,
			      const char **why)
{
	size_t pos = k + 2, nd = 0;
	memset(m, 0, sizeof *m);
	if (pos >= s.len || !macro_letter(s.p[pos], exp)) {
		*why = pos < s.len && macro_letter(s.p[pos], true)
			       ? "the c, r and t macros are allowed in exp= text only (RFC 7208 "
				 "7.1)"
			       : "unknown macro letter (RFC 7208 7.1)";
		return false;
	}
	m->letter = s.p[pos++];
	for (; pos < s.len && is_digit(s.p[pos]); pos++) {
		if (m->digits < 1000)
			m->digits = m->digits * 10 + (unsigned)(s.p[pos] - '0');
		nd++;
	}
	if (nd > 0 && m->digits == 0) {
		*why = "a macro's digit transformer must be nonzero (RFC 7208 7.3)";
		return false;
	}
	if (pos < s.len && ascii_lower(s.p[pos]) == 'r') {
		m->reverse = true;
		pos++;
	}
	size_t nl = 0;
	for (; pos < s.len && is_delimiter(s.p[pos]); pos++)
		if (nl + 1 < sizeof m->delims && strchr(m->delims, s.p[pos]) == NULL)
			m->delims[nl++] = (char)s.p[pos];
	if (pos >= s.len || s.p[pos] != '}') {
		*why = "malformed macro: '}' expected (RFC 7208 7.1)";
		return false;
	}
	m->end = pos + 1;
	return true;
}

/* macro-string = *( macro-expand / macro-literal ) */
bool spf_macro_valid(struct signet_span s, bool exp, const char **why)
{
	struct macro m;
	for (size_t k = 0; k < s.len;) {
		uint8_t c = s.p[k];
		if (c != '%') {
			/* macro-literal = %x21-24 / %x26-7E; exp= text may hold spaces too (6.2) */
			if ((c < 0x21 && !(exp && c == ' ')) || c > 0x7e) {
				*why = "character not allowed in a macro-string (RFC 7208 7.1)";
				return false;
			}
			k++;
			continue;
		}
		if (k + 1 < s.len &&
		    (s.p[k + 1] == '%' || s.p[k + 1] == '_' || s.p[k + 1] == '-')) {
			k += 2;
			continue;
		}
		if (k + 1 >= s.len || s.p[k + 1] != '{') {
			*why = "'%' must start %{...}, %%, %_ or %- (RFC 7208 7.1)";
			return false;
		}
		if (!macro_expand_rule(s, k, exp, &m, why))
			return false;
		k = m.end;
	}
	return true;
}

bool spf_macro_uses_p(struct signet_span s)
{
	for (size_t k = 0; k + 2 < s.len; k++) {
		if (s.p[k] == '%' && s.p[k + 1] == '%') {
			k++;
			continue;
		}
		if (s.p[k] == '%' && s.p[k + 1] == '{' && ascii_lower(s.p[k + 2]) == 'p')
			return true;
	}
	return false;
}

static bool is_alnum(uint8_t c)
{
	return is_alpha(c) || is_digit(c);
}

/* toplabel = ( *alphanum ALPHA *alphanum ) /
 *            ( 1*alphanum "-" *( alphanum / "-" ) alphanum ) */
static bool toplabel(const uint8_t *p, size_t len)
{
	bool alpha = false, hyphen = false;
	if (len == 0)
		return false;
	for (size_t k = 0; k < len; k++) {
		if (p[k] == '-')
			hyphen = true;
		else if (!is_alnum(p[k]))
			return false;
		alpha = alpha || is_alpha(p[k]);
	}
	if (!hyphen)
		return alpha;
	return is_alnum(p[0]) && is_alnum(p[len - 1]);
}

/* Does s end in a macro-expand ("%{...}", "%%", "%_", "%-")? Scans from the
 * start, since "%%}" is a literal brace after an escaped percent. */
static bool ends_in_macro_expand(struct signet_span s)
{
	size_t last_end = 0;
	bool any = false;
	struct macro m;
	const char *why;
	for (size_t k = 0; k < s.len;) {
		if (s.p[k] != '%' || k + 1 >= s.len) {
			k++;
			continue;
		}
		if (s.p[k + 1] == '{' && macro_expand_rule(s, k, true, &m, &why))
			k = m.end;
		else
			k += 2;
		last_end = k;
		any = true;
	}
	return any && last_end == s.len;
}

/* domain-spec = macro-string domain-end
 * domain-end  = ( "." toplabel [ "." ] ) / macro-expand */
bool spf_macro_domain_spec_valid(struct signet_span s, const char **why)
{
	if (s.len == 0) {
		*why = "empty domain-spec (RFC 7208 7.1)";
		return false;
	}
	if (!spf_macro_valid(s, false, why))
		return false;
	if (ends_in_macro_expand(s))
		return true;
	size_t end = s.len;
	if (s.p[end - 1] == '.')
		end--;
	size_t dot = end;
	while (dot > 0 && s.p[dot - 1] != '.')
		dot--;
	if (dot == 0 || !toplabel(s.p + dot, end - dot)) {
		*why = "domain-spec does not end in a valid top-level label (RFC 7208 7.1)";
		return false;
	}
	return true;
}

struct out {
	char *p;
	size_t len;
	bool full;
};

static void put(struct out *o, const char *s, size_t n)
{
	if (o->full || n > SPF_MACRO_MAX - o->len) {
		o->full = true;
		return;
	}
	memcpy(o->p + o->len, s, n);
	o->len += n;
}

/* RFC 7208 7.3: an upper-case macro letter URL-escapes its value: every
 * character outside RFC 3986's unreserved set becomes %XX. */
static void put_escaped(struct out *o, const char *s, size_t n, bool escape)
{
	static const char hex[] = "0123456789ABCDEF";
	if (!escape) {
		put(o, s, n);
		return;
	}
	for (size_t k = 0; k < n; k++) {
		uint8_t c = (uint8_t)s[k];
		if (is_alnum(c) || c == '-' || c == '.' || c == '_' || c == '~') {
			put(o, s + k, 1);
		} else {
			char e[3] = {'%', hex[c >> 4], hex[c & 15]};
			put(o, e, 3);
		}
	}
}

#define SPF_MACRO_PARTS 256 /* parts of one value kept for a transformer */

/* One %{...}: split the value on the delimiters, reverse if asked, keep the
 * rightmost digits parts, join with "." (7.3). */
static void expand_one(struct out *o, const char *value, const struct macro *m)
{
	const char *delims = m->delims[0] ? m->delims : ".";
	size_t vlen = strlen(value);
	bool escape = m->letter >= 'A' && m->letter <= 'Z';
	if (m->digits == 0 && !m->reverse && strcmp(delims, ".") == 0) {
		put_escaped(o, value, vlen, escape);
		return;
	}
	struct signet_span parts[SPF_MACRO_PARTS];
	size_t n = 0, start = 0;
	for (size_t k = 0; k <= vlen; k++) {
		if (k < vlen && strchr(delims, value[k]) == NULL)
			continue;
		if (n == SPF_MACRO_PARTS) { /* the rest is one last part */
			parts[n - 1].len = vlen - (size_t)(parts[n - 1].p - (const uint8_t *)value);
			break;
		}
		parts[n].p = (const uint8_t *)value + start;
		parts[n++].len = k - start;
		start = k + 1;
	}
	if (m->reverse)
		for (size_t a = 0, b = n - 1; a < b; a++, b--) {
			struct signet_span t = parts[a];
			parts[a] = parts[b];
			parts[b] = t;
		}
	size_t first = m->digits > 0 && m->digits < n ? n - m->digits : 0;
	for (size_t k = first; k < n; k++) {
		if (k > first)
			put(o, ".", 1);
		put_escaped(o, (const char *)parts[k].p, parts[k].len, escape);
	}
}

static const char *letter_value(const struct spf_macro_ctx *ctx, uint8_t letter)
{
	switch (ascii_lower(letter)) {
	case 's': return ctx->s;
	case 'l': return ctx->l;
	case 'o': return ctx->o;
	case 'd': return ctx->d;
	case 'i': return ctx->i;
	case 'p': return ctx->p ? ctx->p : "unknown";
	case 'v': return ctx->v;
	case 'h': return ctx->h;
	case 'c': return ctx->c;
	case 'r': return ctx->r;
	case 't': return ctx->t;
	default: return "";
	}
}

bool spf_macro_expand(struct signet_span s, const struct spf_macro_ctx *ctx, bool exp,
		      char out[SPF_MACRO_MAX + 1], size_t *outlen, const char **why)
{
	struct out o = {out, 0, false};
	struct macro m;
	for (size_t k = 0; k < s.len && !o.full;) {
		if (s.p[k] != '%') {
			size_t run = k;
			while (run < s.len && s.p[run] != '%')
				run++;
			put(&o, (const char *)s.p + k, run - k);
			k = run;
			continue;
		}
		uint8_t next = k + 1 < s.len ? s.p[k + 1] : 0;
		if (next == '%' || next == '_' || next == '-') {
			put(&o, next == '%' ? "%" : next == '_' ? " " : "%20", next == '-' ? 3 : 1);
			k += 2;
			continue;
		}
		if (next != '{' || !macro_expand_rule(s, k, exp, &m, why)) {
			if (next != '{')
				*why = "'%' must start %{...}, %%, %_ or %- (RFC 7208 7.1)";
			return false;
		}
		const char *v = letter_value(ctx, m.letter);
		expand_one(&o, v ? v : "", &m);
		k = m.end;
	}
	if (o.full) {
		*why = "macro expansion longer than SPF_MACRO_MAX (8192)";
		return false;
	}
	out[o.len] = '\0';
	*outlen = o.len;
	return true;
}

void spf_macro_fit_domain(char *name, size_t *len)
{
	if (*len > 0 && name[*len - 1] == '.')
		name[--*len] = '\0';
	size_t drop = 0;
	while (*len - drop > 253) {
		const char *dot = memchr(name + drop, '.', *len - drop);
		if (dot == NULL)
			break; /* one label over 253: left for the name check to refuse */
		drop = (size_t)(dot - name) + 1;
	}
	if (drop > 0) {
		memmove(name, name + drop, *len - drop + 1);
		*len -= drop;
	}
}
