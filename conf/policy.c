/* policy.c: who is signed and with which key (see policy.h), following
 * rspamd's dkim_signing (lualib/lua_dkim_tools.lua prepare_dkim_signing):
 * eligibility, envelope and From checks, the signing domain, mismatch
 * checks, then the key: exact domain, eSLD, fallback. Plus a small RFC 5322
 * address parser for From. Pure: no I/O, no globals. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "policy.h"

/* ---- RFC 5322 From addresses -------------------------------------------- */

enum tok_type { T_ATOM = 1, T_QSTR, T_DLIT, T_SPECIAL };

struct tok {
	enum tok_type t;
	const char *p;
	size_t len;
};

#define MAX_TOKENS 4096

struct lexer {
	const char *p;
	size_t len, pos;
	struct tok *toks;
	size_t n;
	char *why;
	size_t whycap;
};

/* atext (RFC 5322 3.2.3) plus '.' (dot-atoms come as one token) and UTF-8
 * (RFC 6532 3.2). */
static bool is_atext(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       c >= 0x80 || (c != 0 && strchr("!#$%&'*+-/=?^_`{|}~.", c) != NULL);
}

static bool lex_fail(struct lexer *lx, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static bool lex_fail(struct lexer *lx, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(lx->why, lx->whycap, fmt, ap);
	va_end(ap);
	return false;
}

/* comment = "(" *([FWS] ccontent) [FWS] ")", nested, with quoted-pairs (3.2.2). */
static bool comment(struct lexer *lx)
{
	unsigned depth = 0;
	do {
		if (lx->pos >= lx->len)
			return lex_fail(lx, "comment not closed (missing ')')");
		char c = lx->p[lx->pos++];
		if (c == '\\' && lx->pos < lx->len)
			lx->pos++;
		else if (c == '(')
			depth++;
		else if (c == ')')
			depth--;
	} while (depth > 0);
	return true;
}

/* quoted-string or domain-literal, with quoted-pairs. */
static bool delimited(struct lexer *lx, char close, enum tok_type t)
{
	size_t start = lx->pos++;
	while (lx->pos < lx->len && lx->p[lx->pos] != close) {
		if (lx->p[lx->pos] == '\\')
			lx->pos++;
		lx->pos++;
	}
	if (lx->pos >= lx->len)
		return lex_fail(lx, "%s not closed (missing '%c')",
				t == T_QSTR ? "quoted string" : "domain literal", close);
	lx->pos++;
	lx->toks[lx->n++] = (struct tok){t, lx->p + start, lx->pos - start};
	return true;
}

static bool lex(struct lexer *lx)
{
	while (lx->pos < lx->len) {
		unsigned char c = (unsigned char)lx->p[lx->pos];
		if (lx->n >= MAX_TOKENS)
			return lex_fail(lx, "more than %d tokens", MAX_TOKENS);
		if (c == ' ' || c == '\t' || c == '\r' || c == '\n') {
			lx->pos++;
		} else if (c == '(') {
			if (!comment(lx))
				return false;
		} else if (c == '"') {
			if (!delimited(lx, '"', T_QSTR))
				return false;
		} else if (c == '[') {
			if (!delimited(lx, ']', T_DLIT))
				return false;
		} else if (strchr("<>@,;:", c) != NULL && c != 0) {
			lx->toks[lx->n++] = (struct tok){T_SPECIAL, lx->p + lx->pos, 1};
			lx->pos++;
		} else if (is_atext(c)) {
			size_t start = lx->pos;
			while (lx->pos < lx->len && is_atext((unsigned char)lx->p[lx->pos]))
				lx->pos++;
			lx->toks[lx->n++] = (struct tok){T_ATOM, lx->p + start, lx->pos - start};
		} else {
			return lex_fail(lx, c >= 0x20 && c < 0x7f ? "unexpected '%c'"
								: "unexpected byte 0x%02x",
					c);
		}
	}
	return true;
}

static bool is_special(const struct tok *t, char c)
{
	return t->t == T_SPECIAL && t->p[0] == c;
}

struct parse {
	const struct tok *t;
	size_t n;
	struct policy_addrs *out;
	char *why;
	size_t whycap;
};

static bool pfail(struct parse *ps, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static bool pfail(struct parse *ps, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(ps->why, ps->whycap, fmt, ap);
	va_end(ap);
	return false;
}

/* The source text of tokens [a, b) for messages, cut at 60 bytes. */
static int span_text(const struct parse *ps, size_t a, size_t b, const char **p)
{
	if (a >= b) {
		*p = "";
		return 0;
	}
	*p = ps->t[a].p;
	size_t len = (size_t)(ps->t[b - 1].p + ps->t[b - 1].len - ps->t[a].p);
	return len > 60 ? 60 : (int)len;
}

/* dot-atom domain (3.4.1): labels not empty. */
static bool domain_ok(const struct tok *t)
{
	if (t->len == 0 || t->len > 253 || t->p[0] == '.' || t->p[t->len - 1] == '.')
		return false;
	for (size_t k = 0; k + 1 < t->len; k++)
		if (t->p[k] == '.' && t->p[k + 1] == '.')
			return false;
	return true;
}

/* addr-spec = local-part "@" domain (3.4.1), tokens [a, b). */
static bool addr_spec(struct parse *ps, size_t a, size_t b)
{
	const char *txt;
	int tl = span_text(ps, a, b, &txt);
	size_t at = SIZE_MAX;
	for (size_t k = a; k < b; k++)
		if (is_special(&ps->t[k], '@'))
			at = k;
	if (at == SIZE_MAX)
		return pfail(ps, "no '@' in '%.*s'", tl, txt);
	if (at == a)
		return pfail(ps, "no local part before '@' in '%.*s'", tl, txt);
	for (size_t k = a; k < at; k++) /* local-part: dot-atom, quoted-string, obs words */
		if (ps->t[k].t != T_ATOM && ps->t[k].t != T_QSTR)
			return pfail(ps, "'%.*s' is not a local part", (int)(ps->t[at - 1].p +
				     ps->t[at - 1].len - ps->t[a].p), ps->t[a].p);
	if (at + 2 != b || (ps->t[at + 1].t != T_ATOM && ps->t[at + 1].t != T_DLIT))
		return pfail(ps, "no domain after '@' in '%.*s'", tl, txt);
	const struct tok *d = &ps->t[at + 1];
	if (d->t == T_DLIT)
		return pfail(ps, "address literal %.*s has no domain to sign for", (int)d->len, d->p);
	if (!domain_ok(d))
		return pfail(ps, "'%.*s' is not a domain name", (int)d->len, d->p);
	if (ps->out->n < POLICY_MAX_ADDRS) {
		char *out = ps->out->domain[ps->out->n];
		for (size_t k = 0; k < d->len; k++)
			out[k] = (char)(d->p[k] >= 'A' && d->p[k] <= 'Z' ? d->p[k] + 32 : d->p[k]);
		out[d->len] = '\0';
	}
	ps->out->n++;
	return true;
}

/* mailbox = name-addr / addr-spec; name-addr = [display-name] angle-addr;
 * angle-addr may carry an obs-route "@a,@b:" (4.4). Tokens [a, b). */
static bool mailbox(struct parse *ps, size_t a, size_t b)
{
	size_t lt = SIZE_MAX, gt = SIZE_MAX;
	for (size_t k = a; k < b; k++) {
		if (lt == SIZE_MAX && is_special(&ps->t[k], '<'))
			lt = k;
		else if (lt != SIZE_MAX && is_special(&ps->t[k], '>'))
			gt = k;
	}
	if (lt == SIZE_MAX)
		return addr_spec(ps, a, b);
	const char *txt;
	int tl = span_text(ps, a, b, &txt);
	if (gt == SIZE_MAX)
		return pfail(ps, "'<' without '>' in '%.*s'", tl, txt);
	if (gt + 1 != b)
		return pfail(ps, "text after '>' in '%.*s'", tl, txt);
	for (size_t k = a; k < lt; k++) /* display-name = phrase (3.2.5) */
		if (ps->t[k].t != T_ATOM && ps->t[k].t != T_QSTR)
			return pfail(ps, "'%.*s' is not a display name", (int)(ps->t[lt - 1].p +
				     ps->t[lt - 1].len - ps->t[a].p), ps->t[a].p);
	size_t s = lt + 1;
	if (s < gt && is_special(&ps->t[s], '@')) { /* obs-route */
		while (s < gt && !is_special(&ps->t[s], ':'))
			s++;
		s++;
	}
	if (s >= gt)
		return pfail(ps, "empty address <> in '%.*s'", tl, txt);
	return addr_spec(ps, s, gt);
}

/* The end of one list element starting at i: a ',' or ';' outside <>, or
 * the ':' that makes it a group. */
static size_t element_end(const struct parse *ps, size_t i, bool *group)
{
	unsigned depth = 0;
	bool seen = false;
	*group = false;
	for (; i < ps->n; i++) {
		const struct tok *t = &ps->t[i];
		if (is_special(t, '<'))
			depth++, seen = true;
		else if (is_special(t, '>') && depth > 0)
			depth--;
		else if (depth == 0 && is_special(t, '@'))
			seen = true;
		else if (depth == 0 && !seen && is_special(t, ':'))
			*group = true;
		else if (depth == 0 && (is_special(t, ',') || is_special(t, ';')))
			return i;
		if (*group)
			return i; /* the ':' of a group */
	}
	return i;
}

/* mailbox-list or group-list from i up to `stop` (';' in a group, 0 at top). */
static bool list(struct parse *ps, size_t *i, char stop)
{
	while (*i < ps->n) {
		if (stop && is_special(&ps->t[*i], stop))
			return true;
		if (is_special(&ps->t[*i], ';'))
			return pfail(ps, "unexpected ';'");
		if (is_special(&ps->t[*i], ',')) { /* obs-mbox-list: empty elements */
			(*i)++;
			continue;
		}
		bool group;
		size_t end = element_end(ps, *i, &group);
		if (group && stop == 0) { /* group = display-name ":" [group-list] ";" (3.4) */
			*i = end + 1;
			if (!list(ps, i, ';'))
				return false;
			if (*i >= ps->n)
				return pfail(ps, "group without its closing ';'");
			(*i)++;
			continue;
		}
		if (group)
			return pfail(ps, "a group inside a group");
		if (!mailbox(ps, *i, end))
			return false;
		*i = end;
	}
	return true;
}

bool policy_from_addrs(const char *value, size_t len, struct policy_addrs *out, char *why,
		       size_t whycap)
{
	memset(out, 0, sizeof *out);
	if (len > POLICY_MAX_FIELD) {
		snprintf(why, whycap, "longer than POLICY_MAX_FIELD (%d bytes)", POLICY_MAX_FIELD);
		return false;
	}
	/* a token takes at least one byte */
	struct tok *toks = malloc((len < MAX_TOKENS ? len + 1 : MAX_TOKENS) * sizeof *toks);
	if (toks == NULL) {
		snprintf(why, whycap, "out of memory");
		return false;
	}
	struct lexer lx = {value, len, 0, toks, 0, why, whycap};
	bool ok = lex(&lx);
	struct parse ps = {toks, lx.n, out, why, whycap};
	size_t i = 0;
	if (ok)
		ok = list(&ps, &i, 0);
	if (ok && i < lx.n)
		ok = pfail(&ps, "unexpected '%.*s'", (int)toks[i].len, toks[i].p);
	free(toks);
	return ok;
}

/* ---- the decision ------------------------------------------------------- */

struct facts {
	const struct signetd_config *cfg;
	const struct config_signing *sg;
	const struct keystore *ks;
	char client[64];     /* for messages */
	bool non_smtp, is_local, in_networks;
	const char *auth;    /* NULL when not authenticated */
	enum { VIA_AUTH = 1, VIA_NETWORKS, VIA_LOCAL } via;
	char hdom[256];      /* From domain */
	char edom[256];      /* envelope domain, "" if none */
	char udom[256];      /* auth user's domain, "" if none */
	bool env_empty;
};

static bool no(struct policy_decision *out, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static bool no(struct policy_decision *out, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(out->reason, sizeof out->reason, fmt, ap);
	va_end(ap);
	out->sign = false;
	out->code = POLICY_OTHER; /* callers with a more precise code set it after */
	return false;
}

const char *policy_reason_label(enum policy_reason r)
{
	static const char *const names[POLICY_NREASONS] = {
		[POLICY_SIGNED] = "signed",
		[POLICY_NOT_LOCAL_NOT_AUTH] = "not_local_not_authenticated",
		[POLICY_NO_KEY] = "no_key",
		[POLICY_FROM_MISSING] = "from_missing",
		[POLICY_FROM_REPEATED] = "from_repeated",
		[POLICY_MISMATCH] = "mismatch",
		[POLICY_OTHER] = "other",
	};
	return (unsigned)r < POLICY_NREASONS ? names[r] : "other";
}

static void copy_lower(char *out, size_t cap, const char *s, size_t len)
{
	if (len >= cap)
		len = 0; /* too long to be a domain: treated as none */
	for (size_t k = 0; k < len; k++)
		out[k] = (char)(s[k] >= 'A' && s[k] <= 'Z' ? s[k] + 32 : s[k]);
	out[len] = '\0';
	if (len > 0 && out[len - 1] == '.')
		out[len - 1] = '\0';
}

/* The domain after the last '@' of an address, lower case; "" if none. */
static void addr_domain(const char *addr, char *out, size_t cap)
{
	out[0] = '\0';
	if (addr == NULL)
		return;
	size_t len = strlen(addr);
	if (len >= 2 && addr[0] == '<' && addr[len - 1] == '>')
		addr++, len -= 2;
	const char *at = NULL;
	for (size_t k = 0; k < len; k++)
		if (addr[k] == '@')
			at = addr + k;
	if (at != NULL)
		copy_lower(out, cap, at + 1, len - (size_t)(at + 1 - addr));
}

static void client_text(const struct policy_facts *f, char *out, size_t cap)
{
	snprintf(out, cap, "(unknown address)");
	if (f->client_addr != NULL && f->client_addr[0] != '\0') {
		snprintf(out, cap, "%s", f->client_addr);
	} else if (f->client_sa != NULL && f->client_sa->sa_family == AF_INET) {
		inet_ntop(AF_INET, &((const struct sockaddr_in *)f->client_sa)->sin_addr, out,
			  (socklen_t)cap);
	} else if (f->client_sa != NULL && f->client_sa->sa_family == AF_INET6) {
		inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)f->client_sa)->sin6_addr, out,
			  (socklen_t)cap);
	}
}

/* Eligibility, in rspamd's order: authenticated, sign_networks, local. */
static bool eligible(struct facts *x, const struct policy_facts *f, struct policy_decision *out)
{
	const struct config_signing *sg = x->sg;
	if (f->client_addr != NULL) {
		x->is_local = cidr_list_match_str(&x->cfg->local_addrs, f->client_addr);
		x->in_networks = cidr_list_match_str(&sg->sign_networks, f->client_addr);
	} else if (f->client_sa != NULL) {
		x->is_local = cidr_list_match_sa(&x->cfg->local_addrs, f->client_sa);
		x->in_networks = cidr_list_match_sa(&sg->sign_networks, f->client_sa);
	}
	if (f->non_smtp) { /* MILTER-PFX-01: sendmail(1)/pickup mail is local */
		x->non_smtp = x->is_local = true;
		x->in_networks = false;
		snprintf(x->client, sizeof x->client, "non-SMTP");
	}
	if (x->auth && sg->sign_authenticated)
		x->via = VIA_AUTH;
	else if (x->in_networks)
		x->via = VIA_NETWORKS;
	else if (x->is_local && sg->sign_local)
		x->via = VIA_LOCAL;
	if (x->via != 0)
		return true;
	const char *where = f->non_smtp ? "the non-SMTP submission" : x->client;
	if (x->auth && x->is_local)
		return no(out, "sender authenticated as %s but sign_authenticated is off, and %s "
			       "is local but sign_local is off",
			  x->auth, where);
	if (x->auth)
		return no(out, "sender authenticated as %s but sign_authenticated is off, and "
			       "client %s is not in local_addrs",
			  x->auth, x->client);
	if (x->is_local)
		return no(out, f->non_smtp ? "%s is local but sign_local is off"
					   : "client %s is in local_addrs but sign_local is off",
			  where);
	no(out, "sender not authenticated and client %s not in local_addrs", x->client);
	out->code = POLICY_NOT_LOCAL_NOT_AUTH;
	return false;
}

/* DKIM-SIGN-07 (RFC 6376 5.4, RFC 5322 3.6): exactly one From with one
 * mailbox that has a domain. */
static bool from_domain(struct facts *x, const struct policy_facts *f,
			struct policy_decision *out)
{
	if (f->n_from == 0 || f->from == NULL) {
		no(out, "From header missing");
		out->code = POLICY_FROM_MISSING;
		return false;
	}
	if (f->n_from > 1) {
		no(out, "From header repeated (%zu From fields)", f->n_from);
		out->code = POLICY_FROM_REPEATED;
		return false;
	}
	const char *v = f->from[0] ? f->from[0] : "";
	size_t len = f->from_len ? f->from_len[0] : strlen(v);
	struct policy_addrs a;
	char why[200];
	if (!policy_from_addrs(v, len, &a, why, sizeof why))
		return no(out, "From header has no parseable address: %s", why);
	if (a.n == 0)
		return no(out, "From header has no address");
	if (a.n > 1)
		return no(out, "From header has %zu addresses", a.n);
	snprintf(x->hdom, sizeof x->hdom, "%s", a.domain[0]);
	return true;
}

/* The eSLD without a public suffix list: the nearest configured domain
 * that d is within (domain { } or fallback keys), else the last two labels. */
static void esld(const struct keystore *ks, const char *d, char *out, size_t cap)
{
	size_t n;
	for (const char *p = d; p != NULL; p = strchr(p, '.') ? strchr(p, '.') + 1 : NULL) {
		const struct keystore_key *fb = keystore_find_fallback(ks, p);
		if (keystore_find(ks, p, &n) != NULL ||
		    (fb != NULL && strcmp(fb->domain, p) == 0)) {
			snprintf(out, cap, "%s", p);
			return;
		}
	}
	const char *last = strrchr(d, '.');
	const char *two = d;
	if (last != NULL)
		for (const char *p = d; p < last; p++)
			if (*p == '.')
				two = p + 1;
	snprintf(out, cap, "%s", two);
}

static bool same_domain(const struct facts *x, const char *a, const char *b)
{
	char ea[256], eb[256];
	if (!x->sg->use_esld)
		return strcmp(a, b) == 0;
	esld(x->ks, a, ea, sizeof ea);
	esld(x->ks, b, eb, sizeof eb);
	return strcmp(ea, eb) == 0;
}

static const char *source_name(enum config_use_domain u)
{
	return u == USE_DOMAIN_ENVELOPE ? "the envelope sender"
	       : u == USE_DOMAIN_AUTH	? "the authenticated user"
					: "the From header";
}

static bool signing_domain(struct facts *x, enum config_use_domain *mode, char *dom, size_t cap,
			   struct policy_decision *out)
{
	const struct config_signing *sg = x->sg;
	*mode = sg->use_domain;
	if (x->via == VIA_NETWORKS && sg->use_domain_sign_networks)
		*mode = sg->use_domain_sign_networks;
	else if (x->is_local && sg->use_domain_sign_local)
		*mode = sg->use_domain_sign_local;
	if (*mode == USE_DOMAIN_ENVELOPE && x->edom[0] == '\0')
		return no(out, "use_domain = envelope but the envelope sender has no domain");
	if (*mode == USE_DOMAIN_AUTH && x->udom[0] == '\0')
		return no(out, x->auth ? "use_domain = auth but auth user %s has no domain"
				       : "use_domain = auth but the sender is not authenticated%s",
			  x->auth ? x->auth : "");
	snprintf(dom, cap, "%s", *mode == USE_DOMAIN_ENVELOPE ? x->edom
				 : *mode == USE_DOMAIN_AUTH   ? x->udom
							      : x->hdom);
	return true;
}

/* rspamd's sanity checks: envelope vs From, and the auth user's domain. */
static bool mismatch_checks(const struct facts *x, enum config_use_domain mode, const char *dom,
			    struct policy_decision *out)
{
	const struct config_signing *sg = x->sg;
	if (x->edom[0] && !sg->allow_hdrfrom_mismatch && !same_domain(x, x->hdom, x->edom) &&
	    !(sg->allow_hdrfrom_mismatch_local && x->is_local) &&
	    !(sg->allow_hdrfrom_mismatch_sign_networks && x->via == VIA_NETWORKS))
		return no(out, "envelope sender domain %s differs from From domain %s and "
			       "allow_hdrfrom_mismatch is off",
			  x->edom, x->hdom);
	if (x->auth && !sg->allow_username_mismatch) {
		if (x->udom[0] == '\0')
			return no(out, "auth user %s has no domain and allow_username_mismatch is "
				       "off",
				  x->auth);
		if (!same_domain(x, x->udom, dom))
			return no(out, "auth user %s's domain differs from %s domain %s and "
				       "allow_username_mismatch is off",
				  x->auth,
				  mode == USE_DOMAIN_ENVELOPE ? "envelope"
				  : mode == USE_DOMAIN_AUTH   ? "auth"
							      : "From",
				  dom);
	}
	return true;
}

static void take_keys(struct policy_decision *out, const char *d, const struct keystore_key *k,
		      size_t n)
{
	snprintf(out->domain, sizeof out->domain, "%s", d);
	out->nsigs = 0;
	for (size_t j = 0; j < n && out->nsigs < SIGNET_MAX_SIGNERS; j++)
		out->sigs[out->nsigs++] = (struct policy_sig){k[j].selector, k[j].key, k[j].path};
	out->sign = true;
}

/* The key: the domain's own, then (use_esld) a parent's, then the fallback. */
static bool find_keys(const struct facts *x, const char *dom, struct policy_decision *out)
{
	size_t n;
	const struct keystore_key *k = keystore_find(x->ks, dom, &n);
	const char *p = dom;
	while (k == NULL && x->sg->use_esld && (p = strchr(p, '.')) != NULL)
		k = keystore_find(x->ks, ++p, &n);
	if (k != NULL) {
		take_keys(out, k->domain, k, n);
		return true;
	}
	if (!x->sg->try_fallback)
		return false;
	k = keystore_find_fallback(x->ks, dom);
	for (p = dom; (k == NULL || strcmp(k->domain, "*") == 0) && x->sg->use_esld &&
		      (p = strchr(p, '.')) != NULL;) {
		const struct keystore_key *pk = keystore_find_fallback(x->ks, ++p);
		if (pk != NULL && strcmp(pk->domain, "*") != 0)
			k = pk;
	}
	if (k == NULL)
		return false;
	char d[256];
	if (strcmp(k->domain, "*") != 0)
		snprintf(d, sizeof d, "%s", k->domain);
	else if (x->sg->use_esld)
		esld(x->ks, dom, d, sizeof d);
	else
		snprintf(d, sizeof d, "%s", dom);
	take_keys(out, d, k, 1);
	return true;
}

static void sign_reason(const struct facts *x, enum config_use_domain mode,
			struct policy_decision *out)
{
	char sels[200] = "";
	for (size_t k = 0; k < out->nsigs; k++)
		snprintf(sels + strlen(sels), sizeof sels - strlen(sels), "%s%s", k ? ", " : "",
			 out->sigs[k].selector);
	const char *via = x->via == VIA_AUTH ? "sender authenticated as "
			  : x->via == VIA_NETWORKS ? "client in sign_networks: "
			  : x->non_smtp		   ? "local submission: "
						   : "client in local_addrs: ";
	snprintf(out->reason, sizeof out->reason, "%s%s; d=%s (from %s), selector%s %s", via,
		 x->via == VIA_AUTH ? x->auth : x->client, out->domain, source_name(mode),
		 out->nsigs > 1 ? "s" : "", sels);
}

enum signet_status policy_decide(const struct signetd_config *cfg, const struct keystore *ks,
				 const struct policy_facts *f, struct policy_decision *out)
{
	if (out == NULL)
		return SIGNET_ERR_INVAL;
	memset(out, 0, sizeof *out);
	if (cfg == NULL || f == NULL) {
		snprintf(out->reason, sizeof out->reason, "internal error: no config or facts");
		out->code = POLICY_OTHER;
		return SIGNET_ERR_INVAL;
	}
	struct facts x = {.cfg = cfg, .sg = &cfg->signing, .ks = ks};
	x.auth = f->auth_user != NULL && f->auth_user[0] != '\0' ? f->auth_user : NULL;
	client_text(f, x.client, sizeof x.client);
	if (!x.sg->enabled) {
		no(out, "signing is off (dkim_signing.enabled = false)");
		return SIGNET_OK;
	}
	if (!eligible(&x, f, out))
		return SIGNET_OK;
	x.env_empty = f->env_from != NULL &&
		      (f->env_from[0] == '\0' || strcmp(f->env_from, "<>") == 0);
	if (x.env_empty && !x.sg->allow_envfrom_empty) {
		no(out, "empty envelope sender (MAIL FROM:<>) and allow_envfrom_empty is off");
		return SIGNET_OK;
	}
	if (!from_domain(&x, f, out))
		return SIGNET_OK;
	addr_domain(f->env_from, x.edom, sizeof x.edom);
	addr_domain(x.auth, x.udom, sizeof x.udom);
	enum config_use_domain mode;
	char dom[256];
	if (!signing_domain(&x, &mode, dom, sizeof dom, out))
		return SIGNET_OK;
	if (!mismatch_checks(&x, mode, dom, out)) {
		out->code = POLICY_MISMATCH;
		return SIGNET_OK;
	}
	if (!find_keys(&x, dom, out)) {
		no(out, "no key for domain %s (from %s)", dom, source_name(mode));
		out->code = POLICY_NO_KEY;
		return SIGNET_OK;
	}
	sign_reason(&x, mode, out);
	return SIGNET_OK;
}
