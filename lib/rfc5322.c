/* rfc5322.c: the RFC 5322 lexer (rfc5322.h): CFWS and comments (3.2.2),
 * quoted strings (3.2.4), atoms (3.2.3), and the address grammar (3.4)
 * over the tokens, one function per ABNF rule. It reads header field
 * values only: no unfolding of whole messages, no I/O. UTF-8 is atext
 * (RFC 6532 3.2). */
#include <stdlib.h>
#include <string.h>

#include "dnsname.h"
#include "rfc5322.h"

#define SPEC_5322 "RFC 5322 3.4"
#define SPEC_CFWS "RFC 5322 3.2.2"
#define SPAN_TEXT_MAX 60 /* octets of the input quoted in a message */

/* ---- lexical tokens (3.2) ---------------------------------------------- */

/* FWS and the CR/LF of folded lines (2.2.3, 3.2.2). */
static bool is_fws(uint8_t c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/* comment = "(" *([FWS] ccontent) [FWS] ")"; ccontent = ctext /
 * quoted-pair / comment (3.2.2). p[*pos] is '('. NUL is neither ctext nor
 * obs-ctext; RFC5322_LENIENT skips it and any depth (the nesting is a
 * counter, not recursion, so depth costs nothing but the limit). */
static enum signet_status comment(const uint8_t *p, size_t len, size_t *pos, unsigned flags,
				  struct signet_error *err)
{
	bool strict = !(flags & RFC5322_LENIENT);
	size_t depth = 0, k = *pos;
	do {
		if (k >= len)
			return error_set(err, SIGNET_ERR_SYNTAX, SPEC_CFWS,
					 "comment not closed (missing ')')");
		uint8_t c = p[k++];
		if (c == '\0' && strict)
			return error_set(err, SIGNET_ERR_SYNTAX, SPEC_CFWS, "NUL inside a comment");
		if (c == '\\' && k < len) /* quoted-pair (3.2.1) */
			k++;
		else if (c == '(' && ++depth > SIGNET_RFC5322_MAX_COMMENT_DEPTH && strict)
			return error_set(
				err, SIGNET_ERR_LIMIT, SPEC_CFWS,
				"comments nested deeper than SIGNET_RFC5322_MAX_COMMENT_DEPTH "
				"(%d)",
				SIGNET_RFC5322_MAX_COMMENT_DEPTH);
		else if (c == ')')
			depth--;
	} while (depth > 0);
	*pos = k;
	return SIGNET_OK;
}

enum signet_status rfc5322_cfws(const uint8_t *p, size_t len, size_t *pos, unsigned flags,
				struct signet_error *err)
{
	while (*pos < len) {
		if (is_fws(p[*pos]))
			(*pos)++;
		else if (p[*pos] == '(')
			SIGNET_TRY(comment(p, len, pos, flags, err));
		else
			break;
	}
	return SIGNET_OK;
}

enum tok_type { T_ATOM = 1, T_QSTR, T_DLIT, T_SPECIAL };

struct tok {
	enum tok_type t;
	const uint8_t *p;
	size_t len;
};

struct lexer {
	const uint8_t *p;
	size_t len, pos;
	struct tok *toks;
	size_t n;
	struct signet_error *err;
};

/* atext (3.2.3) plus '.' (a dot-atom is one token) and UTF-8 (RFC 6532 3.2). */
static bool is_atext(uint8_t c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       c >= 0x80 || (c != 0 && strchr("!#$%&'*+-/=?^_`{|}~.", c) != NULL);
}

static enum signet_status emit(struct lexer *lx, enum tok_type t, size_t start)
{
	if (lx->n >= SIGNET_RFC5322_MAX_TOKENS)
		return error_set(lx->err, SIGNET_ERR_LIMIT, SPEC_5322,
				 "more than SIGNET_RFC5322_MAX_TOKENS (%d) tokens",
				 SIGNET_RFC5322_MAX_TOKENS);
	lx->toks[lx->n++] = (struct tok){t, lx->p + start, lx->pos - start};
	return SIGNET_OK;
}

/* quoted-string = [CFWS] DQUOTE *([FWS] qcontent) [FWS] DQUOTE (3.2.4), or
 * domain-literal = "[" *([FWS] dtext) [FWS] "]" (3.4.1), with quoted-pairs.
 * p[pos] is the opening octet. */
static enum signet_status quoted_string(struct lexer *lx, uint8_t close, enum tok_type t)
{
	const char *what = t == T_QSTR ? "quoted string" : "domain literal";
	size_t start = lx->pos++;
	for (; lx->pos < lx->len && lx->p[lx->pos] != close; lx->pos++) {
		if (lx->p[lx->pos] == '\0')
			return error_set(lx->err, SIGNET_ERR_SYNTAX, SPEC_5322, "NUL inside a %s",
					 what);
		if (lx->p[lx->pos] == '\\' && lx->pos + 1 < lx->len)
			lx->pos++;
	}
	if (lx->pos >= lx->len)
		return error_set(lx->err, SIGNET_ERR_SYNTAX, SPEC_5322,
				 "%s not closed (missing '%c')", what, close);
	lx->pos++;
	return emit(lx, t, start);
}

/* One token (or CFWS, which makes none) at lx->pos. */
static enum signet_status token(struct lexer *lx)
{
	uint8_t c = lx->p[lx->pos];
	size_t start = lx->pos;
	if (is_fws(c) || c == '(')
		return rfc5322_cfws(lx->p, lx->len, &lx->pos, 0, lx->err);
	if (c == '"')
		return quoted_string(lx, '"', T_QSTR);
	if (c == '[')
		return quoted_string(lx, ']', T_DLIT);
	if (c != 0 && strchr("<>@,;:", c) != NULL) {
		lx->pos++;
		return emit(lx, T_SPECIAL, start);
	}
	if (!is_atext(c))
		return error_set(
			lx->err, SIGNET_ERR_SYNTAX, SPEC_5322,
			c >= 0x20 && c < 0x7f ? "unexpected '%c'" : "unexpected byte 0x%02x", c);
	while (lx->pos < lx->len && is_atext(lx->p[lx->pos]))
		lx->pos++;
	return emit(lx, T_ATOM, start);
}

static enum signet_status lex(struct lexer *lx)
{
	while (lx->pos < lx->len)
		SIGNET_TRY(token(lx));
	return SIGNET_OK;
}

/* ---- the address grammar (3.4) over tokens ------------------------------ */

struct parse {
	const struct tok *t;
	size_t n;
	struct signet_rfc5322_domain *out; /* cap entries */
	size_t cap, found;
	struct signet_error *err;
};

static bool is_special(const struct tok *t, char c)
{
	return t->t == T_SPECIAL && t->p[0] == (uint8_t)c;
}

/* The source text of tokens [a, b) for messages, at most SPAN_TEXT_MAX. */
static int span_text(const struct parse *ps, size_t a, size_t b, const char **p)
{
	if (a >= b) {
		*p = "";
		return 0;
	}
	*p = (const char *)ps->t[a].p;
	size_t len = (size_t)(ps->t[b - 1].p + ps->t[b - 1].len - ps->t[a].p);
	return len > SPAN_TEXT_MAX ? SPAN_TEXT_MAX : (int)len;
}

/* dot-atom-text = 1*atext *("." 1*atext) (3.2.3): no empty atoms; as a
 * domain no longer than a DNS name (DNSNAME_MAX, RFC 1035 2.3.4). */
static bool dot_atom(const struct tok *t)
{
	if (t->len == 0 || t->len > DNSNAME_MAX || t->p[0] == '.' || t->p[t->len - 1] == '.')
		return false;
	for (size_t k = 0; k + 1 < t->len; k++)
		if (t->p[k] == '.' && t->p[k + 1] == '.')
			return false;
	return true;
}

/* A word of a local-part or display-name: atom or quoted-string (3.2.5). */
static bool is_word(const struct tok *t)
{
	return t->t == T_ATOM || t->t == T_QSTR;
}

/* addr-spec = local-part "@" domain (3.4.1), tokens [a, b); the domain
 * must be a dot-atom (a domain-literal has no domain to sign or align). */
static enum signet_status addr_spec(struct parse *ps, size_t a, size_t b)
{
	const char *txt;
	int tl = span_text(ps, a, b, &txt);
	size_t at = SIZE_MAX;
	for (size_t k = a; k < b; k++)
		if (is_special(&ps->t[k], '@'))
			at = k;
	if (at == SIZE_MAX)
		return error_set(ps->err, SIGNET_ERR_SYNTAX, SPEC_5322, "no '@' in '%.*s'", tl,
				 txt);
	if (at == a)
		return error_set(ps->err, SIGNET_ERR_SYNTAX, SPEC_5322,
				 "no local part before '@' in '%.*s'", tl, txt);
	for (size_t k = a; k < at; k++) /* local-part: dot-atom, quoted-string, obs words */
		if (!is_word(&ps->t[k]))
			return error_set(ps->err, SIGNET_ERR_SYNTAX, SPEC_5322,
					 "'%.*s' is not a local part", span_text(ps, a, at, &txt),
					 txt);
	if (at + 2 != b || (ps->t[at + 1].t != T_ATOM && ps->t[at + 1].t != T_DLIT))
		return error_set(ps->err, SIGNET_ERR_SYNTAX, SPEC_5322,
				 "no domain after '@' in '%.*s'", tl, txt);
	const struct tok *d = &ps->t[at + 1];
	if (d->t == T_DLIT)
		return error_set(ps->err, SIGNET_ERR_SYNTAX, SPEC_5322,
				 "address literal %.*s has no domain name", (int)d->len, d->p);
	if (!dot_atom(d))
		return error_set(ps->err, SIGNET_ERR_SYNTAX, SPEC_5322,
				 "'%.*s' is not a domain name", (int)d->len, d->p);
	if (ps->found < ps->cap)
		ps->out[ps->found] = (struct signet_rfc5322_domain){d->p, d->len};
	ps->found++;
	return SIGNET_OK;
}

/* mailbox = name-addr / addr-spec; name-addr = [display-name] angle-addr;
 * angle-addr = [CFWS] "<" addr-spec ">" [CFWS] / obs-angle-addr, whose
 * obs-route is "@a,@b:" (3.4, 4.4). Tokens [a, b). */
static enum signet_status mailbox(struct parse *ps, size_t a, size_t b)
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
		return error_set(ps->err, SIGNET_ERR_SYNTAX, SPEC_5322, "'<' without '>' in '%.*s'",
				 tl, txt);
	if (gt + 1 != b)
		return error_set(ps->err, SIGNET_ERR_SYNTAX, SPEC_5322, "text after '>' in '%.*s'",
				 tl, txt);
	for (size_t k = a; k < lt; k++) /* display-name = phrase (3.2.5) */
		if (!is_word(&ps->t[k]))
			return error_set(ps->err, SIGNET_ERR_SYNTAX, SPEC_5322,
					 "'%.*s' is not a display name", span_text(ps, a, lt, &txt),
					 txt);
	size_t s = lt + 1;
	if (s < gt && is_special(&ps->t[s], '@')) { /* obs-route */
		while (s < gt && !is_special(&ps->t[s], ':'))
			s++;
		s++;
	}
	if (s >= gt)
		return error_set(ps->err, SIGNET_ERR_SYNTAX, SPEC_5322,
				 "empty address <> in '%.*s'", tl, txt);
	return addr_spec(ps, s, gt);
}

/* The end of one list element starting at i: a ',' or ';' outside <>, or
 * the ':' that makes it a group (a ':' before any '<' or '@'). */
static size_t element_end(const struct parse *ps, size_t i, bool *is_group)
{
	unsigned depth = 0;
	bool seen = false;
	*is_group = false;
	for (; i < ps->n; i++) {
		const struct tok *t = &ps->t[i];
		if (is_special(t, '<'))
			depth++, seen = true;
		else if (is_special(t, '>') && depth > 0)
			depth--;
		else if (depth == 0 && is_special(t, '@'))
			seen = true;
		else if (depth == 0 && !seen && is_special(t, ':'))
			*is_group = true;
		else if (depth == 0 && (is_special(t, ',') || is_special(t, ';')))
			return i;
		if (*is_group)
			return i;
	}
	return i;
}

/* mailbox-list = (mailbox *("," mailbox)) / obs-mbox-list (3.4, 4.4:
 * empty elements), from *i up to `stop` (';' in a group, 0 at the top
 * where a group may come instead of a mailbox). */
static enum signet_status mailbox_list(struct parse *ps, size_t *i, char stop);

/* group = display-name ":" [group-list] ";" [CFWS] (3.4); *i is at the ':'.
 * "undisclosed-recipients:;" holds no mailbox. */
static enum signet_status group(struct parse *ps, size_t *i)
{
	(*i)++;
	SIGNET_TRY(mailbox_list(ps, i, ';'));
	if (*i >= ps->n)
		return error_set(ps->err, SIGNET_ERR_SYNTAX, SPEC_5322,
				 "group without its closing ';'");
	(*i)++;
	return SIGNET_OK;
}

static enum signet_status mailbox_list(struct parse *ps, size_t *i, char stop)
{
	while (*i < ps->n) {
		if (stop && is_special(&ps->t[*i], stop))
			return SIGNET_OK;
		if (is_special(&ps->t[*i], ';'))
			return error_set(ps->err, SIGNET_ERR_SYNTAX, SPEC_5322, "unexpected ';'");
		if (is_special(&ps->t[*i], ',')) {
			(*i)++;
			continue;
		}
		bool is_group;
		size_t end = element_end(ps, *i, &is_group);
		if (is_group && stop != 0)
			return error_set(ps->err, SIGNET_ERR_SYNTAX, SPEC_5322,
					 "a group inside a group");
		if (is_group) {
			*i = end;
			SIGNET_TRY(group(ps, i));
			continue;
		}
		SIGNET_TRY(mailbox(ps, *i, end));
		*i = end;
	}
	return SIGNET_OK;
}

/* address-list = (address *("," address)) / obs-addr-list;
 * address = mailbox / group (3.4). */
static enum signet_status address_list(struct parse *ps)
{
	size_t i = 0;
	SIGNET_TRY(mailbox_list(ps, &i, 0));
	if (i < ps->n)
		return error_set(ps->err, SIGNET_ERR_SYNTAX, SPEC_5322, "unexpected '%.*s'",
				 (int)ps->t[i].len, ps->t[i].p);
	return SIGNET_OK;
}

enum signet_status signet_rfc5322_from_domains(const uint8_t *value, size_t len,
					       struct signet_rfc5322_domain *out, size_t cap,
					       size_t *n, struct signet_error *err)
{
	if ((value == NULL && len > 0) || (out == NULL && cap > 0) || n == NULL)
		return error_set(err, SIGNET_ERR_INVAL, NULL, "NULL argument");
	*n = 0;
	/* a token takes at least one octet */
	struct tok *toks =
		malloc((len < SIGNET_RFC5322_MAX_TOKENS ? len + 1 : SIGNET_RFC5322_MAX_TOKENS) *
		       sizeof *toks);
	if (toks == NULL)
		return error_set(err, SIGNET_ERR_NOMEM, NULL, "out of memory");
	struct lexer lx = {value, len, 0, toks, 0, err};
	enum signet_status st = lex(&lx);
	struct parse ps = {toks, lx.n, out, cap, 0, err};
	if (st == SIGNET_OK)
		st = address_list(&ps);
	*n = ps.found;
	free(toks);
	return st;
}

bool rfc5322_field_name_ok(const uint8_t *p, size_t len)
{
	if (len == 0)
		return false;
	for (size_t k = 0; k < len; k++)
		if (p[k] < 33 || p[k] > 126 || p[k] == ':')
			return false;
	return true;
}
