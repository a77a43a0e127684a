/* ucl.c: the UCL subset parser (see ucl.h). A recursive-descent reader over
 * one span per file, tracking line and column as it goes; includes come in
 * through the caller's callback and are parsed into the current object.
 * It does not expand variables, glob include paths or load other macros. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ucl.h"

enum dup_strategy { DUP_APPEND = 0, DUP_MERGE, DUP_REWRITE, DUP_ERROR };

/* One file being read. parent is the file that included it. */
struct src {
	const char *name; /* borrowed from doc->files */
	const uint8_t *p;
	size_t len, pos;
	unsigned line;
	size_t line_start;
	unsigned priority;
	enum dup_strategy dup;
	const struct src *parent;
	unsigned inc_line, inc_col; /* where parent included it */
	size_t depth;               /* include depth: 0 for the main file */
};

struct parser {
	struct ucl_opts o;
	struct diags *d;
	struct ucl_doc *doc;
	size_t depth; /* open containers */
	size_t nincludes;
	size_t total_input;
};

struct pos {
	unsigned line, col;
};

static void node_free(struct ucl_node *n);

/* ---- errors ------------------------------------------------------------ */

static struct pos here(const struct src *s)
{
	return (struct pos){s->line, (unsigned)(s->pos - s->line_start) + 1};
}

static enum signet_status fail_at(struct parser *ps, const struct src *s, struct pos at,
				  enum signet_status code, const char *fmt, ...)
	__attribute__((format(printf, 5, 6)));

static enum signet_status fail_at(struct parser *ps, const struct src *s, struct pos at,
				  enum signet_status code, const char *fmt, ...)
{
	char what[512], chain[1024] = "";
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(what, sizeof what, fmt, ap);
	va_end(ap);
	size_t off = 0;
	for (const struct src *p = s; p->parent != NULL && off < sizeof chain; p = p->parent) {
		int n = snprintf(chain + off, sizeof chain - off, " (included from %s:%u:%u)",
				 p->parent->name, p->inc_line, p->inc_col);
		if (n < 0)
			break;
		off += (size_t)n;
	}
	diags_add(ps->d, DIAG_ERROR, "%s:%u:%u: %s%s", s->name, at.line, at.col, what, chain);
	return code;
}

#define FAIL(ps, s, at, ...) fail_at(ps, s, at, SIGNET_ERR_SYNTAX, __VA_ARGS__)

static enum signet_status nomem(struct parser *ps, const struct src *s)
{
	return fail_at(ps, s, here(s), SIGNET_ERR_NOMEM, "out of memory");
}

/* A character for messages: printable as itself, else as a byte value. */
static const char *show(uint8_t c, char buf[8])
{
	if (c >= 0x21 && c < 0x7f)
		snprintf(buf, 8, "'%c'", c);
	else if (c == '\n')
		snprintf(buf, 8, "newline");
	else
		snprintf(buf, 8, "0x%02x", c);
	return buf;
}

/* ---- reading ----------------------------------------------------------- */

static bool at_end(const struct src *s)
{
	return s->pos >= s->len;
}

static uint8_t cur(const struct src *s)
{
	return s->pos < s->len ? s->p[s->pos] : 0;
}

static uint8_t peek(const struct src *s, size_t k)
{
	return s->pos + k < s->len ? s->p[s->pos + k] : 0;
}

static void adv(struct src *s)
{
	if (s->pos >= s->len)
		return;
	if (s->p[s->pos] == '\n') {
		s->line++;
		s->line_start = s->pos + 1;
	}
	s->pos++;
}

static bool is_space(uint8_t c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

static bool is_alpha(uint8_t c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static bool is_digit(uint8_t c)
{
	return c >= '0' && c <= '9';
}

/* Unquoted keys: letters, digits and the punctuation domain names, paths
 * and rspamd's keys use. UTF-8 bytes are let through. */
static bool is_key_char(uint8_t c)
{
	return is_alpha(c) || is_digit(c) || c >= 0x80 ||
	       (c != 0 && strchr("_-./$@*+%~!", c) != NULL);
}

/* Unquoted values run until white space or a separator. */
static bool is_atom_end(uint8_t c)
{
	return is_space(c) || c == ';' || c == ',' || c == ']' || c == '}' || c == 0;
}

/* Comments: '#' and '//' to the end of the line, nested slash-star ones. */
static enum signet_status comment(struct parser *ps, struct src *s, bool *was)
{
	*was = false;
	if (cur(s) == '#' || (cur(s) == '/' && peek(s, 1) == '/')) {
		while (!at_end(s) && cur(s) != '\n')
			adv(s);
		*was = true;
		return SIGNET_OK;
	}
	if (!(cur(s) == '/' && peek(s, 1) == '*'))
		return SIGNET_OK;
	struct pos open = here(s);
	unsigned level = 0;
	while (!at_end(s)) {
		if (cur(s) == '/' && peek(s, 1) == '*') {
			level++;
			adv(s), adv(s);
		} else if (cur(s) == '*' && peek(s, 1) == '/') {
			adv(s), adv(s);
			if (--level == 0) {
				*was = true;
				return SIGNET_OK;
			}
		} else {
			adv(s);
		}
	}
	return FAIL(ps, s, open, "comment opened here is not closed (missing '*/')");
}

/* Skips white space and comments; newlines too when lines is true.
 * *newline tells whether a line end was crossed. */
static enum signet_status skip(struct parser *ps, struct src *s, bool lines, bool *newline)
{
	if (newline)
		*newline = false;
	for (;;) {
		uint8_t c = cur(s);
		if (at_end(s))
			return SIGNET_OK;
		if (c == ' ' || c == '\t' || c == '\r') {
			adv(s);
		} else if (c == '\n') {
			if (!lines)
				return SIGNET_OK;
			if (newline)
				*newline = true;
			adv(s);
		} else {
			bool was;
			SIGNET_TRY(comment(ps, s, &was));
			if (!was)
				return SIGNET_OK;
		}
	}
}

/* ---- nodes ------------------------------------------------------------- */

static struct ucl_node *node_new(enum ucl_type t, const struct src *s, struct pos at)
{
	struct ucl_node *n = calloc(1, sizeof *n);
	if (n == NULL)
		return NULL;
	n->type = t;
	n->file = s->name;
	n->line = at.line;
	n->col = at.col;
	n->priority = s->priority;
	return n;
}

static void node_free(struct ucl_node *n)
{
	while (n != NULL) {
		struct ucl_node *next = n->next;
		for (size_t k = 0; k < n->nkids; k++)
			node_free(n->kids[k]);
		free(n->kids);
		free(n->key);
		free(n->str);
		free(n);
		n = next;
	}
}

static bool kid_add(struct ucl_node *parent, struct ucl_node *kid)
{
	if (parent->nkids == parent->capkids) {
		size_t ncap = parent->capkids ? parent->capkids * 2 : 4;
		struct ucl_node **v = realloc(parent->kids, ncap * sizeof *v);
		if (v == NULL)
			return false;
		parent->kids = v;
		parent->capkids = ncap;
	}
	parent->kids[parent->nkids++] = kid;
	return true;
}

const struct ucl_node *ucl_find(const struct ucl_node *obj, const char *key)
{
	if (obj == NULL || obj->type != UCL_OBJECT)
		return NULL;
	for (size_t k = 0; k < obj->nkids; k++)
		if (strcmp(obj->kids[k]->key, key) == 0)
			return obj->kids[k];
	return NULL;
}

size_t ucl_count(const struct ucl_node *n)
{
	size_t c = 0;
	for (; n != NULL; n = n->next)
		c++;
	return c;
}

const char *ucl_type_name(enum ucl_type t)
{
	switch (t) {
	case UCL_NULL: return "null";
	case UCL_OBJECT: return "object";
	case UCL_ARRAY: return "array";
	case UCL_STRING: return "string";
	case UCL_INT: return "integer";
	case UCL_FLOAT: return "number";
	case UCL_BOOL: return "boolean";
	case UCL_TIME: return "time";
	}
	return "unknown";
}

static size_t kid_index(const struct ucl_node *obj, const char *key)
{
	for (size_t k = 0; k < obj->nkids; k++)
		if (strcmp(obj->kids[k]->key, key) == 0)
			return k;
	return SIZE_MAX;
}

static enum signet_status insert(struct parser *ps, const struct src *s, struct ucl_node *obj,
				 struct ucl_node *n);

/* duplicate=merge: the members of n go into the object old (libucl's merge). */
static enum signet_status merge_into(struct parser *ps, const struct src *s, struct ucl_node *old,
				     struct ucl_node *n)
{
	enum signet_status st = SIGNET_OK;
	for (size_t k = 0; k < n->nkids; k++) {
		if (st == SIGNET_OK)
			st = insert(ps, s, old, n->kids[k]);
		else
			node_free(n->kids[k]);
	}
	n->nkids = 0;
	node_free(n);
	return st;
}

/* Adds the keyed value n to obj, following libucl for a key already there:
 * the same priority makes an implicit array (rspamd relies on it), a higher
 * one replaces, a lower one is dropped; .include(duplicate=...) changes it. */
static enum signet_status insert(struct parser *ps, const struct src *s, struct ucl_node *obj,
				 struct ucl_node *n)
{
	size_t k = kid_index(obj, n->key);
	if (k == SIZE_MAX) {
		if (!kid_add(obj, n)) {
			node_free(n);
			return nomem(ps, s);
		}
		return SIGNET_OK;
	}
	struct ucl_node *old = obj->kids[k];
	if (s->dup == DUP_ERROR) {
		struct pos at = {n->line, n->col};
		node_free(n);
		return FAIL(ps, s, at, "duplicate key '%s' (first given at %s:%u:%u)", old->key,
			    old->file, old->line, old->col);
	}
	if (s->dup == DUP_MERGE && old->type == UCL_OBJECT && n->type == UCL_OBJECT &&
	    old->next == NULL)
		return merge_into(ps, s, old, n);
	if (s->dup == DUP_REWRITE || n->priority > old->priority) {
		obj->kids[k] = n;
		node_free(old);
		return SIGNET_OK;
	}
	if (n->priority < old->priority) {
		node_free(n);
		return SIGNET_OK;
	}
	while (old->next != NULL)
		old = old->next;
	old->next = n;
	return SIGNET_OK;
}

/* ---- strings ----------------------------------------------------------- */

struct sbuf {
	char *p;
	size_t len, cap, max;
};

/* false: out of memory or past max (told apart by len + n > max). */
static bool sb_add(struct sbuf *b, const void *p, size_t n)
{
	if (n > b->max || b->len > b->max - n)
		return false;
	if (b->len + n + 1 > b->cap) {
		size_t ncap = b->cap ? b->cap : 32;
		while (ncap < b->len + n + 1)
			ncap *= 2;
		char *np = realloc(b->p, ncap);
		if (np == NULL)
			return false;
		b->p = np;
		b->cap = ncap;
	}
	memcpy(b->p + b->len, p, n);
	b->len += n;
	b->p[b->len] = '\0';
	return true;
}

static enum signet_status sb_fail(struct parser *ps, const struct src *s, struct sbuf *b, size_t n,
				  struct pos open)
{
	bool limit = n > b->max || b->len > b->max - n;
	free(b->p);
	b->p = NULL;
	if (limit)
		return fail_at(ps, s, open, SIGNET_ERR_LIMIT,
			       "string longer than UCL_MAX_STRING (%zu bytes)", b->max);
	return nomem(ps, s);
}

#define SB_ADD(ps, s, b, p, n, open)                                                               \
	do {                                                                                       \
		if (!sb_add(b, p, n))                                                              \
			return sb_fail(ps, s, b, n, open);                                         \
	} while (0)

static int hexval(uint8_t c)
{
	if (is_digit(c))
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

static bool hex4(const struct src *s, size_t at, unsigned *out)
{
	unsigned v = 0;
	for (size_t k = 0; k < 4; k++) {
		int h = at + k < s->len ? hexval(s->p[at + k]) : -1;
		if (h < 0)
			return false;
		v = v * 16 + (unsigned)h;
	}
	*out = v;
	return true;
}

static size_t utf8_encode(unsigned cp, uint8_t out[4])
{
	if (cp < 0x80) {
		out[0] = (uint8_t)cp;
		return 1;
	}
	if (cp < 0x800) {
		out[0] = (uint8_t)(0xc0 | (cp >> 6));
		out[1] = (uint8_t)(0x80 | (cp & 0x3f));
		return 2;
	}
	if (cp < 0x10000) {
		out[0] = (uint8_t)(0xe0 | (cp >> 12));
		out[1] = (uint8_t)(0x80 | ((cp >> 6) & 0x3f));
		out[2] = (uint8_t)(0x80 | (cp & 0x3f));
		return 3;
	}
	out[0] = (uint8_t)(0xf0 | (cp >> 18));
	out[1] = (uint8_t)(0x80 | ((cp >> 12) & 0x3f));
	out[2] = (uint8_t)(0x80 | ((cp >> 6) & 0x3f));
	out[3] = (uint8_t)(0x80 | (cp & 0x3f));
	return 4;
}

/* \uXXXX, with a UTF-16 surrogate pair as two escapes (JSON, RFC 8259 7).
 * At entry s is on the 'u'. */
static enum signet_status escape_u(struct parser *ps, struct src *s, struct sbuf *b,
				   struct pos open)
{
	struct pos at = here(s);
	unsigned cp, lo;
	if (!hex4(s, s->pos + 1, &cp))
		return FAIL(ps, s, at, "\\u must be followed by 4 hex digits");
	for (int k = 0; k < 5; k++)
		adv(s);
	if (cp >= 0xdc00 && cp <= 0xdfff)
		return FAIL(ps, s, at, "\\u%04X is a lone low surrogate", cp);
	if (cp >= 0xd800 && cp <= 0xdbff) {
		if (!(cur(s) == '\\' && peek(s, 1) == 'u' && hex4(s, s->pos + 2, &lo) &&
		      lo >= 0xdc00 && lo <= 0xdfff))
			return FAIL(ps, s, at, "\\u%04X is a high surrogate without its low half",
				    cp);
		for (int k = 0; k < 6; k++)
			adv(s);
		cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
	}
	uint8_t u[4];
	size_t n = utf8_encode(cp, u);
	SB_ADD(ps, s, b, u, n, open);
	return SIGNET_OK;
}

/* One escape of a double-quoted string; s is on the backslash. */
static enum signet_status escape(struct parser *ps, struct src *s, struct sbuf *b, struct pos open)
{
	static const char from[] = "nrtbf\"\\/", to[] = "\n\r\t\b\f\"\\/";
	struct pos at = here(s);
	adv(s);
	uint8_t c = cur(s);
	if (at_end(s))
		return FAIL(ps, s, open, "string opened here is not closed (missing '\"')");
	if (c == 'u')
		return escape_u(ps, s, b, open);
	const char *f = strchr(from, c);
	if (f == NULL || c == 0) {
		char sh[8];
		return FAIL(ps, s, at, "unknown escape '\\' followed by %s in a string",
			    show(c, sh));
	}
	SB_ADD(ps, s, b, &to[f - from], 1, open);
	adv(s);
	return SIGNET_OK;
}

/* "..." with \n \r \t \b \f \" \\ \/ \uXXXX; a raw line end is an error. */
static enum signet_status dq_string(struct parser *ps, struct src *s, struct sbuf *b)
{
	struct pos open = here(s);
	adv(s);
	for (;;) {
		if (at_end(s))
			return FAIL(ps, s, open, "string opened here is not closed (missing '\"')");
		uint8_t c = cur(s);
		if (c == '"') {
			adv(s);
			return b->p != NULL || sb_add(b, "", 0) ? SIGNET_OK : nomem(ps, s);
		}
		if (c == '\\') {
			SIGNET_TRY(escape(ps, s, b, open));
			continue;
		}
		if (c == '\n')
			return FAIL(ps, s, open,
				    "string opened here is not closed on its line (missing '\"'; "
				    "use \\n or a <<EOD heredoc for several lines)");
		SB_ADD(ps, s, b, &c, 1, open);
		adv(s);
	}
}

/* '...': only \' is an escape; other backslashes are kept (libucl). */
static enum signet_status sq_string(struct parser *ps, struct src *s, struct sbuf *b)
{
	struct pos open = here(s);
	adv(s);
	for (;;) {
		if (at_end(s))
			return FAIL(ps, s, open,
				    "string opened here is not closed (missing \"'\")");
		uint8_t c = cur(s);
		if (c == '\'') {
			adv(s);
			return b->p != NULL || sb_add(b, "", 0) ? SIGNET_OK : nomem(ps, s);
		}
		if (c == '\\' && peek(s, 1) == '\'') {
			adv(s);
			c = '\'';
		}
		SB_ADD(ps, s, b, &c, 1, open);
		adv(s);
	}
}

/* <<EOD newline ... newline EOD: the text between, without the last line end.
 * The terminator is capital letters and stands alone on its line. */
static enum signet_status heredoc(struct parser *ps, struct src *s, struct sbuf *b)
{
	struct pos open = here(s);
	adv(s), adv(s);
	size_t t0 = s->pos;
	while (cur(s) >= 'A' && cur(s) <= 'Z')
		adv(s);
	size_t tlen = s->pos - t0;
	const uint8_t *term = s->p + t0;
	if (cur(s) == '\r')
		adv(s);
	if (tlen == 0 || cur(s) != '\n')
		return FAIL(ps, s, open,
			    "heredoc must be '<<' then capital letters then a line end (<<EOD)");
	adv(s);
	for (;;) {
		if (at_end(s))
			return FAIL(ps, s, open,
				    "heredoc <<%.*s opened here has no closing %.*s line",
				    (int)tlen, (const char *)term, (int)tlen, (const char *)term);
		size_t ls = s->pos, le = ls;
		while (le < s->len && s->p[le] != '\n')
			le++;
		if (le - ls >= tlen && memcmp(s->p + ls, term, tlen) == 0 &&
		    (ls + tlen == le || strchr("\r \t;,}]", s->p[ls + tlen]) != NULL)) {
			while (s->pos < ls + tlen)
				adv(s);
			if (b->len > 0 && b->p[b->len - 1] == '\n')
				b->len--; /* the line end before the terminator is not content */
			if (b->len > 0 && b->p[b->len - 1] == '\r')
				b->len--;
			if (b->p == NULL && !sb_add(b, "", 0))
				return nomem(ps, s);
			b->p[b->len] = '\0';
			return SIGNET_OK;
		}
		size_t n = le < s->len ? le + 1 - ls : le - ls;
		SB_ADD(ps, s, b, s->p + ls, n, open);
		while (s->pos < ls + n)
			adv(s);
	}
}

/* ---- atoms: numbers, booleans, null, unquoted strings ------------------- */

struct suffix {
	const char *name;
	double mult;
	enum ucl_type type; /* UCL_TIME, or UCL_INT for sizes */
};

static const struct suffix suffixes[] = {
	{"k", 1e3, UCL_INT},        {"kb", 1024.0, UCL_INT}, {"m", 1e6, UCL_INT},
	{"mb", 1048576.0, UCL_INT}, {"g", 1e9, UCL_INT},     {"gb", 1073741824.0, UCL_INT},
	{"ms", 0.001, UCL_TIME},    {"s", 1, UCL_TIME},      {"min", 60, UCL_TIME},
	{"h", 3600, UCL_TIME},      {"d", 86400, UCL_TIME},  {"w", 604800, UCL_TIME},
	{"y", 31536000, UCL_TIME},
};

static bool word_eq(const uint8_t *p, size_t n, const char *w)
{
	if (strlen(w) != n)
		return false;
	for (size_t k = 0; k < n; k++) {
		uint8_t c = p[k] >= 'A' && p[k] <= 'Z' ? (uint8_t)(p[k] + 32) : p[k];
		if (c != (uint8_t)w[k])
			return false;
	}
	return true;
}

/* Scans [+-]digits[.digits][e[+-]digits] or 0x hex; returns the length, 0 if
 * not a number. *is_float tells which. */
static size_t number_span(const uint8_t *p, size_t n, bool *is_float, bool *is_hex)
{
	size_t k = 0;
	*is_float = *is_hex = false;
	if (k < n && (p[k] == '-' || p[k] == '+'))
		k++;
	if (k + 1 < n && p[k] == '0' && (p[k + 1] | 0x20) == 'x') {
		size_t h = k + 2;
		while (h < n && hexval(p[h]) >= 0)
			h++;
		*is_hex = true;
		return h > k + 2 ? h : 0;
	}
	size_t d0 = k;
	while (k < n && is_digit(p[k]))
		k++;
	if (k == d0)
		return 0;
	if (k < n && p[k] == '.') {
		size_t f0 = ++k;
		while (k < n && is_digit(p[k]))
			k++;
		if (k == f0)
			return 0;
		*is_float = true;
	}
	if (k < n && (p[k] | 0x20) == 'e') {
		size_t e = k + 1;
		if (e < n && (p[e] == '-' || p[e] == '+'))
			e++;
		size_t e0 = e;
		while (e < n && is_digit(p[e]))
			e++;
		if (e > e0) {
			k = e;
			*is_float = true;
		}
	}
	return k;
}

/* Classifies an atom as number (with suffix), time, or not a number (false). */
static bool atom_number(const uint8_t *p, size_t n, struct ucl_node *out, bool *range)
{
	bool is_float, is_hex;
	char tmp[64];
	*range = false;
	size_t k = number_span(p, n, &is_float, &is_hex);
	if (k == 0 || k >= sizeof tmp)
		return false;
	const struct suffix *suf = NULL;
	if (k < n) {
		for (size_t j = 0; j < sizeof suffixes / sizeof suffixes[0] && !is_hex; j++)
			if (word_eq(p + k, n - k, suffixes[j].name))
				suf = &suffixes[j];
		if (suf == NULL)
			return false; /* "1.2.3", "127.0.0.1", "5x": a string */
	}
	memcpy(tmp, p, k);
	tmp[k] = '\0';
	char *end;
	if (is_float || (suf != NULL && suf->type == UCL_TIME)) {
		double v = strtod(tmp, &end);
		out->type = suf != NULL && suf->type == UCL_TIME ? UCL_TIME : UCL_FLOAT;
		out->v.d = v * (suf ? suf->mult : 1);
		return true;
	}
	errno = 0;
	long long v = strtoll(tmp, &end, is_hex ? 16 : 10);
	if (errno == ERANGE) {
		*range = true;
		return false;
	}
	if (suf != NULL) {
		double m = (double)v * suf->mult;
		if (m > 9.2e18 || m < -9.2e18) {
			*range = true;
			return false;
		}
		v = (long long)m;
	}
	out->type = UCL_INT;
	out->v.i = v;
	return true;
}

/* An unquoted value (read up to an atom end, or also ')' in macro
 * arguments): boolean, null, number, time, or else a string. */
static enum signet_status atom(struct parser *ps, struct src *s, struct ucl_node *n, bool in_args)
{
	struct pos at = here(s);
	size_t a = s->pos;
	while (!is_atom_end(cur(s)) && !(in_args && cur(s) == ')'))
		adv(s);
	const uint8_t *p = s->p + a;
	size_t len = s->pos - a;
	bool range;
	if (len > ps->o.max_string)
		return fail_at(ps, s, at, SIGNET_ERR_LIMIT,
			       "string longer than UCL_MAX_STRING (%zu bytes)", ps->o.max_string);
	if (word_eq(p, len, "true") || word_eq(p, len, "yes") || word_eq(p, len, "on")) {
		n->type = UCL_BOOL;
		n->v.b = true;
	} else if (word_eq(p, len, "false") || word_eq(p, len, "no") || word_eq(p, len, "off")) {
		n->type = UCL_BOOL;
		n->v.b = false;
	} else if (word_eq(p, len, "null")) {
		n->type = UCL_NULL;
	} else if (!atom_number(p, len, n, &range)) {
		if (range)
			return FAIL(ps, s, at, "number %.*s is out of range", (int)len,
				    (const char *)p);
		n->type = UCL_STRING;
		n->str = malloc(len + 1);
		if (n->str == NULL)
			return nomem(ps, s);
		memcpy(n->str, p, len);
		n->str[len] = '\0';
		n->len = len;
	}
	return SIGNET_OK;
}

/* ---- values, arrays, objects ------------------------------------------- */

static enum signet_status value(struct parser *ps, struct src *s, struct ucl_node **out,
				const char *key);
static enum signet_status value_in(struct parser *ps, struct src *s, struct ucl_node **out,
				   const char *key, bool in_args);
static enum signet_status object_body(struct parser *ps, struct src *s, struct ucl_node *obj,
				      bool braced, struct pos open, const char *what);

static enum signet_status open_container(struct parser *ps, const struct src *s, struct pos at)
{
	if (ps->depth + 1 > ps->o.max_depth)
		return fail_at(ps, s, at, SIGNET_ERR_LIMIT,
			       "objects and arrays nested deeper than UCL_MAX_DEPTH (%zu)",
			       ps->o.max_depth);
	ps->depth++;
	return SIGNET_OK;
}

static enum signet_status string_value(struct parser *ps, struct src *s, struct ucl_node *n)
{
	struct sbuf b = {NULL, 0, 0, ps->o.max_string};
	enum signet_status st;
	if (cur(s) == '"')
		st = dq_string(ps, s, &b);
	else if (cur(s) == '\'')
		st = sq_string(ps, s, &b);
	else
		st = heredoc(ps, s, &b);
	if (st != SIGNET_OK) {
		free(b.p);
		return st;
	}
	n->type = UCL_STRING;
	n->str = b.p;
	n->len = b.len;
	return SIGNET_OK;
}

/* After an array element: ',' or ';' or a line end, or the closing ']'. */
static enum signet_status array_sep(struct parser *ps, struct src *s, struct pos open,
				    const char *key)
{
	bool nl;
	SIGNET_TRY(skip(ps, s, true, &nl));
	if (cur(s) == ',' || cur(s) == ';') {
		adv(s);
		return SIGNET_OK;
	}
	if (cur(s) == ']' || nl)
		return SIGNET_OK;
	if (at_end(s))
		return FAIL(ps, s, open, "expected ']' to close '%s' opened here",
			    key ? key : "array");
	char sh[8];
	return FAIL(ps, s, here(s), "expected ',' or ']' in the array opened at %u:%u, found %s",
		    open.line, open.col, show(cur(s), sh));
}

static enum signet_status array(struct parser *ps, struct src *s, struct ucl_node *arr,
				const char *key)
{
	struct pos open = here(s);
	SIGNET_TRY(open_container(ps, s, open));
	adv(s);
	for (;;) {
		SIGNET_TRY(skip(ps, s, true, NULL));
		if (at_end(s))
			return FAIL(ps, s, open, "expected ']' to close '%s' opened here",
				    key ? key : "array");
		if (cur(s) == ']') {
			adv(s);
			ps->depth--;
			return SIGNET_OK;
		}
		struct ucl_node *el = NULL;
		SIGNET_TRY(value(ps, s, &el, key));
		if (!kid_add(arr, el)) {
			node_free(el);
			return nomem(ps, s);
		}
		SIGNET_TRY(array_sep(ps, s, open, key));
	}
}

/* Any value at s: object, array, string, heredoc or atom. *out is new. */
static enum signet_status value(struct parser *ps, struct src *s, struct ucl_node **out,
				const char *key)
{
	return value_in(ps, s, out, key, false);
}

static enum signet_status value_in(struct parser *ps, struct src *s, struct ucl_node **out,
				   const char *key, bool in_args)
{
	struct pos at = here(s);
	uint8_t c = cur(s);
	char sh[8];
	struct ucl_node *n = node_new(UCL_NULL, s, at);
	if (n == NULL)
		return nomem(ps, s);
	enum signet_status st;
	if (c == '{') {
		n->type = UCL_OBJECT;
		st = open_container(ps, s, at);
		if (st == SIGNET_OK) {
			adv(s);
			st = object_body(ps, s, n, true, at, key ? key : "object");
			ps->depth--;
		}
	} else if (c == '[') {
		n->type = UCL_ARRAY;
		st = array(ps, s, n, key);
	} else if (c == '"' || c == '\'' || (c == '<' && peek(s, 1) == '<')) {
		st = string_value(ps, s, n);
	} else if (at_end(s) || is_atom_end(c) || c == '=') {
		st = at_end(s) ? FAIL(ps, s, at,
				      "expected a value for '%s', found the end of the file",
				      key ? key : "array element")
			       : FAIL(ps, s, at, "expected a value for '%s', found %s",
				      key ? key : "array element", show(c, sh));
	} else {
		st = atom(ps, s, n, in_args);
	}
	if (st != SIGNET_OK) {
		node_free(n);
		return st;
	}
	*out = n;
	return SIGNET_OK;
}

/* A key: quoted, or letters, digits and _-./$@*+%~! */
static enum signet_status key(struct parser *ps, struct src *s, char **out)
{
	struct pos at = here(s);
	struct sbuf b = {NULL, 0, 0, ps->o.max_string};
	enum signet_status st = SIGNET_OK;
	char sh[8];
	if (cur(s) == '"')
		st = dq_string(ps, s, &b);
	else if (cur(s) == '\'')
		st = sq_string(ps, s, &b);
	else if (!is_key_char(cur(s)))
		return FAIL(ps, s, at, "expected a key, found %s", show(cur(s), sh));
	else {
		size_t a = s->pos;
		while (is_key_char(cur(s)))
			adv(s);
		if (!sb_add(&b, s->p + a, s->pos - a))
			return sb_fail(ps, s, &b, s->pos - a, at);
	}
	if (st != SIGNET_OK) {
		free(b.p);
		return st;
	}
	if (b.len == 0 || memchr(b.p, '\0', b.len) != NULL) {
		free(b.p);
		return FAIL(ps, s, at, b.len == 0 ? "empty key" : "key contains a NUL byte");
	}
	*out = b.p;
	return SIGNET_OK;
}

/* After a scalar value: ';' or ',' or a line end, or the end of the object. */
static enum signet_status value_sep(struct parser *ps, struct src *s, const char *k)
{
	bool nl;
	char sh[8];
	SIGNET_TRY(skip(ps, s, false, &nl));
	if (cur(s) == ';' || cur(s) == ',') {
		adv(s);
		return SIGNET_OK;
	}
	if (at_end(s) || cur(s) == '\n' || cur(s) == '}' || cur(s) == ']')
		return SIGNET_OK; /* the enclosing object reports a stray ']' */
	return FAIL(ps, s, here(s), "expected ';' or a new line after the value of '%s', found %s",
		    k, show(cur(s), sh));
}

static enum signet_status keyed_value(struct parser *ps, struct src *s, const char *k,
				      struct ucl_node **out);

/* `key name { ... }` is `key { name { ... } }` (libucl nested keys). */
static enum signet_status nested_key(struct parser *ps, struct src *s, struct ucl_node *name,
				     struct ucl_node **out)
{
	struct ucl_node *obj = node_new(UCL_OBJECT, s, (struct pos){name->line, name->col});
	if (obj == NULL) {
		node_free(name);
		return nomem(ps, s);
	}
	struct ucl_node *inner = NULL;
	enum signet_status st = keyed_value(ps, s, name->str, &inner);
	if (st == SIGNET_OK) {
		inner->key = name->str;
		inner->line = name->line;
		inner->col = name->col;
		name->str = NULL;
		st = insert(ps, s, obj, inner);
	}
	node_free(name);
	if (st != SIGNET_OK) {
		node_free(obj);
		return st;
	}
	*out = obj;
	return SIGNET_OK;
}

/* What follows a key: [= or :] value, or a value directly. */
static enum signet_status keyed_value(struct parser *ps, struct src *s, const char *k,
				      struct ucl_node **out)
{
	SIGNET_TRY(skip(ps, s, true, NULL));
	bool assigned = false;
	if (cur(s) == '=' || cur(s) == ':') {
		assigned = true;
		adv(s);
		SIGNET_TRY(skip(ps, s, true, NULL));
	}
	if (!assigned && (at_end(s) || cur(s) == ';' || cur(s) == '}' || cur(s) == ','))
		return FAIL(ps, s, here(s), "key '%s' has no value", k);
	SIGNET_TRY(value(ps, s, out, k));
	if ((*out)->type == UCL_OBJECT || (*out)->type == UCL_ARRAY)
		return SIGNET_OK;
	enum signet_status st = SIGNET_OK;
	if (!assigned && (*out)->type == UCL_STRING) {
		struct src save = *s;
		st = skip(ps, s, true, NULL);
		if (st == SIGNET_OK && cur(s) == '{')
			return nested_key(ps, s, *out, out);
		if (st == SIGNET_OK)
			*s = save;
	}
	if (st == SIGNET_OK)
		st = value_sep(ps, s, k);
	if (st != SIGNET_OK) {
		node_free(*out);
		*out = NULL;
	}
	return st;
}

static enum signet_status include(struct parser *ps, struct src *s, struct ucl_node *obj);

static enum signet_status member(struct parser *ps, struct src *s, struct ucl_node *obj)
{
	struct pos at = here(s);
	char *k = NULL;
	SIGNET_TRY(key(ps, s, &k));
	struct ucl_node *n = NULL;
	enum signet_status st = keyed_value(ps, s, k, &n);
	if (st != SIGNET_OK) {
		free(k);
		return st;
	}
	n->key = k;
	n->line = at.line;
	n->col = at.col;
	return insert(ps, s, obj, n);
}

/* Members until '}' (braced) or the end of the file. */
static enum signet_status object_body(struct parser *ps, struct src *s, struct ucl_node *obj,
				      bool braced, struct pos open, const char *what)
{
	char sh[8];
	for (;;) {
		SIGNET_TRY(skip(ps, s, true, NULL));
		if (at_end(s)) {
			if (!braced)
				return SIGNET_OK;
			return FAIL(ps, s, here(s), "expected '}' to close '%s' opened at %u:%u",
				    what, open.line, open.col);
		}
		uint8_t c = cur(s);
		if (c == '}') {
			if (!braced)
				return FAIL(ps, s, here(s), "unexpected '}' (no object is open)");
			adv(s);
			return SIGNET_OK;
		}
		if (c == ';' || c == ',') {
			adv(s);
			continue;
		}
		if (c == ']')
			return FAIL(ps, s, here(s), "unexpected %s in '%s' opened at %u:%u",
				    show(c, sh), what, open.line, open.col);
		if (c == '.' && is_alpha(peek(s, 1)))
			SIGNET_TRY(include(ps, s, obj));
		else
			SIGNET_TRY(member(ps, s, obj));
	}
}

/* A file: members, or one braced object, then the end. */
static enum signet_status file_body(struct parser *ps, struct src *s, struct ucl_node *obj)
{
	SIGNET_TRY(skip(ps, s, true, NULL));
	if (cur(s) != '{')
		return object_body(ps, s, obj, false, here(s), s->name);
	struct pos open = here(s);
	adv(s);
	SIGNET_TRY(object_body(ps, s, obj, true, open, "top-level object"));
	SIGNET_TRY(skip(ps, s, true, NULL));
	char sh[8];
	if (!at_end(s))
		return FAIL(ps, s, here(s), "unexpected %s after the top-level object",
			    show(cur(s), sh));
	return SIGNET_OK;
}

/* ---- .include ----------------------------------------------------------- */

struct include_args {
	bool try_;
	unsigned priority;
	enum dup_strategy dup;
};

static enum signet_status include_arg(struct parser *ps, struct src *s, struct include_args *a)
{
	struct pos at = here(s);
	char *k = NULL;
	SIGNET_TRY(key(ps, s, &k));
	enum signet_status sk = skip(ps, s, true, NULL);
	if (sk != SIGNET_OK) {
		free(k); /* fuzz_ucl: an unclosed comment after the name leaked it */
		return sk;
	}
	struct ucl_node *v = NULL;
	enum signet_status st = SIGNET_OK;
	if (cur(s) != '=')
		st = FAIL(ps, s, here(s), "expected '=' after include parameter '%s'", k);
	else {
		adv(s);
		st = skip(ps, s, true, NULL);
		if (st == SIGNET_OK)
			st = value_in(ps, s, &v, k, true);
	}
	if (st != SIGNET_OK) {
		free(k);
		return st;
	}
	if (strcmp(k, "try") == 0 && v->type == UCL_BOOL)
		a->try_ = v->v.b;
	else if (strcmp(k, "priority") == 0 && v->type == UCL_INT && v->v.i >= 0 && v->v.i <= 15)
		a->priority = (unsigned)v->v.i;
	else if (strcmp(k, "duplicate") == 0 && v->type == UCL_STRING &&
		 (strcmp(v->str, "append") == 0 || strcmp(v->str, "merge") == 0 ||
		  strcmp(v->str, "rewrite") == 0 || strcmp(v->str, "error") == 0))
		a->dup = v->str[0] == 'a'   ? DUP_APPEND
			 : v->str[0] == 'm' ? DUP_MERGE
			 : v->str[0] == 'r' ? DUP_REWRITE
					    : DUP_ERROR;
	else if (strcmp(k, "try") == 0 || strcmp(k, "priority") == 0 || strcmp(k, "duplicate") == 0)
		st = FAIL(ps, s, at,
			  "bad value for include parameter '%s' (try = true|false; priority = "
			  "0..15; duplicate = append|merge|rewrite|error)",
			  k);
	else
		st = FAIL(ps, s, at,
			  "include parameter '%s' is not supported (only try, priority, duplicate)",
			  k);
	node_free(v);
	free(k);
	return st;
}

static enum signet_status include_args(struct parser *ps, struct src *s, struct include_args *a)
{
	struct pos open = here(s);
	adv(s);
	for (;;) {
		SIGNET_TRY(skip(ps, s, true, NULL));
		if (cur(s) == ')') {
			adv(s);
			return SIGNET_OK;
		}
		if (at_end(s))
			return FAIL(ps, s, open,
				    "expected ')' to close the parameters opened here");
		SIGNET_TRY(include_arg(ps, s, a));
		SIGNET_TRY(skip(ps, s, true, NULL));
		if (cur(s) == ',')
			adv(s);
	}
}

/* The included path: absolute, or relative to the including file's directory. */
static char *join_path(const char *including, const char *path)
{
	const char *slash = strrchr(including, '/');
	size_t dlen = path[0] == '/' || slash == NULL ? 0 : (size_t)(slash - including) + 1;
	size_t plen = strlen(path);
	char *out = malloc(dlen + plen + 1);
	if (out == NULL)
		return NULL;
	memcpy(out, including, dlen);
	memcpy(out + dlen, path, plen + 1);
	return out;
}

static bool doc_add_file(struct ucl_doc *doc, char *name)
{
	char **v = realloc(doc->files, (doc->nfiles + 1) * sizeof *v);
	if (v == NULL)
		return false;
	doc->files = v;
	doc->files[doc->nfiles++] = name;
	return true;
}

static enum signet_status include_loop(struct parser *ps, const struct src *s, struct pos at,
				       const char *name)
{
	for (const struct src *p = s; p != NULL; p = p->parent)
		if (strcmp(p->name, name) == 0)
			return FAIL(ps, s, at,
				    "include loop: %s is already being read (it includes "
				    "itself, directly or through other files)",
				    name);
	return SIGNET_OK;
}

static enum signet_status include_limits(struct parser *ps, const struct src *s, struct pos at)
{
	if (s->depth + 1 > ps->o.max_include_depth)
		return fail_at(ps, s, at, SIGNET_ERR_LIMIT,
			       "includes nested deeper than UCL_MAX_INCLUDE_DEPTH (%zu)",
			       ps->o.max_include_depth);
	if (ps->nincludes + 1 > ps->o.max_includes)
		return fail_at(ps, s, at, SIGNET_ERR_LIMIT,
			       "more than UCL_MAX_INCLUDES (%zu) includes", ps->o.max_includes);
	if (ps->o.include == NULL)
		return fail_at(ps, s, at, SIGNET_ERR_INVAL, ".include is not available here");
	return SIGNET_OK;
}

/* Reads the included text through the callback and parses it into obj. */
static enum signet_status include_file(struct parser *ps, struct src *s, struct ucl_node *obj,
				       const char *path, const struct include_args *a,
				       struct pos at)
{
	SIGNET_TRY(include_limits(ps, s, at));
	ps->nincludes++;
	struct ucl_include_result r = {0};
	enum ucl_include_status ist = ps->o.include(ps->o.include_ctx, path, a->try_, &r);
	if (ist == UCL_INCLUDE_NOT_FOUND && a->try_) {
		free(r.text), free(r.canonical);
		return SIGNET_OK;
	}
	if (ist != UCL_INCLUDE_OK) {
		free(r.text), free(r.canonical);
		return fail_at(ps, s, at, SIGNET_ERR_INVAL, "cannot include %s: %s", path,
			       r.why[0] ? r.why : "failed");
	}
	char *name = r.canonical != NULL ? r.canonical : strdup(path);
	enum signet_status st = name == NULL ? nomem(ps, s) : include_loop(ps, s, at, name);
	if (st == SIGNET_OK && r.len > ps->o.max_input)
		st = fail_at(ps, s, at, SIGNET_ERR_LIMIT,
			     "%s: %zu bytes is larger than UCL_MAX_INPUT (%zu bytes)", name, r.len,
			     ps->o.max_input);
	if (st == SIGNET_OK && r.len > ps->o.max_total_input - ps->total_input)
		st = fail_at(ps, s, at, SIGNET_ERR_LIMIT,
			     "all files together are larger than UCL_MAX_TOTAL_INPUT (%zu bytes)",
			     ps->o.max_total_input);
	if (st == SIGNET_OK && !doc_add_file(ps->doc, name))
		st = nomem(ps, s);
	if (st != SIGNET_OK) {
		free(name), free(r.text);
		return st;
	}
	ps->total_input += r.len;
	struct src sub = {.name = name,
			  .p = r.text,
			  .len = r.len,
			  .line = 1,
			  .priority = a->priority,
			  .dup = a->dup,
			  .parent = s,
			  .inc_line = at.line,
			  .inc_col = at.col,
			  .depth = s->depth + 1};
	const uint8_t *nul = r.len ? memchr(r.text, '\0', r.len) : NULL;
	if (nul != NULL) {
		while (sub.pos < (size_t)(nul - r.text))
			adv(&sub);
		st = FAIL(ps, &sub, here(&sub), "NUL byte in the file");
	} else {
		st = file_body(ps, &sub, obj);
	}
	free(r.text);
	return st;
}

/* .include "path", .include(try=true,priority=N,duplicate=merge) "path",
 * .try_include "path" (libucl macros). */
static enum signet_status include(struct parser *ps, struct src *s, struct ucl_node *obj)
{
	struct pos at = here(s);
	adv(s);
	size_t a = s->pos;
	while (is_alpha(cur(s)) || cur(s) == '_')
		adv(s);
	struct include_args args = {false, s->priority, s->dup};
	const uint8_t *m = s->p + a;
	size_t mlen = s->pos - a;
	if (word_eq(m, mlen, "try_include"))
		args.try_ = true;
	else if (!word_eq(m, mlen, "include"))
		return FAIL(ps, s, at, "unknown macro '.%.*s' (only .include and .try_include)",
			    (int)mlen, (const char *)m);
	if (cur(s) == '(')
		SIGNET_TRY(include_args(ps, s, &args));
	SIGNET_TRY(skip(ps, s, false, NULL));
	struct ucl_node *p = NULL;
	if (at_end(s) || cur(s) == '\n' || cur(s) == ';')
		return FAIL(ps, s, here(s), ".include needs a file name");
	SIGNET_TRY(value(ps, s, &p, ".include"));
	enum signet_status st = SIGNET_OK;
	char *path = NULL;
	if (p->type != UCL_STRING || memchr(p->str, '\0', p->len) != NULL)
		st = FAIL(ps, s, at, ".include needs a file name (a string)");
	else if ((path = join_path(s->name, p->str)) == NULL)
		st = nomem(ps, s);
	node_free(p);
	if (st == SIGNET_OK)
		st = include_file(ps, s, obj, path, &args, at);
	free(path);
	if (st != SIGNET_OK)
		return st;
	return value_sep(ps, s, ".include");
}

/* ---- entry -------------------------------------------------------------- */

static void opts_defaults(struct ucl_opts *o, const struct ucl_opts *in)
{
	memset(o, 0, sizeof *o);
	if (in != NULL)
		*o = *in;
	if (o->max_depth == 0)
		o->max_depth = UCL_MAX_DEPTH;
	if (o->max_include_depth == 0)
		o->max_include_depth = UCL_MAX_INCLUDE_DEPTH;
	if (o->max_includes == 0)
		o->max_includes = UCL_MAX_INCLUDES;
	if (o->max_input == 0)
		o->max_input = UCL_MAX_INPUT;
	if (o->max_total_input == 0)
		o->max_total_input = UCL_MAX_TOTAL_INPUT;
	if (o->max_string == 0)
		o->max_string = UCL_MAX_STRING;
}

void ucl_doc_free(struct ucl_doc *doc)
{
	if (doc == NULL)
		return;
	node_free(doc->root);
	for (size_t k = 0; k < doc->nfiles; k++)
		free(doc->files[k]);
	free(doc->files);
	free(doc);
}

static enum signet_status parse_main(struct parser *ps, const char *name, const uint8_t *text,
				     size_t len)
{
	char *copy = strdup(name);
	if (copy == NULL || !doc_add_file(ps->doc, copy)) {
		free(copy);
		diags_add(ps->d, DIAG_ERROR, "%s: out of memory", name);
		return SIGNET_ERR_NOMEM;
	}
	struct src s = {.name = copy, .p = text, .len = len, .line = 1};
	if (len > ps->o.max_input)
		return fail_at(ps, &s, here(&s), SIGNET_ERR_LIMIT,
			       "%zu bytes is larger than UCL_MAX_INPUT (%zu bytes)", len,
			       ps->o.max_input);
	ps->total_input = len;
	const uint8_t *nul = len ? memchr(text, '\0', len) : NULL;
	if (nul != NULL) {
		while (s.pos < (size_t)(nul - text))
			adv(&s);
		return FAIL(ps, &s, here(&s), "NUL byte in the file");
	}
	ps->doc->root = node_new(UCL_OBJECT, &s, here(&s));
	if (ps->doc->root == NULL)
		return nomem(ps, &s);
	ps->depth = 1;
	return file_body(ps, &s, ps->doc->root);
}

enum signet_status ucl_parse(const struct ucl_opts *opts, const char *name, const uint8_t *text,
			     size_t len, struct ucl_doc **out, struct diags *d)
{
	*out = NULL;
	if (name == NULL || (text == NULL && len > 0)) {
		diags_add(d, DIAG_ERROR, "ucl_parse: NULL argument");
		return SIGNET_ERR_INVAL;
	}
	struct parser ps = {.d = d};
	opts_defaults(&ps.o, opts);
	ps.doc = calloc(1, sizeof *ps.doc);
	if (ps.doc == NULL) {
		diags_add(d, DIAG_ERROR, "%s: out of memory", name);
		return SIGNET_ERR_NOMEM;
	}
	enum signet_status st = parse_main(&ps, name, text, len);
	if (st != SIGNET_OK) {
		ucl_doc_free(ps.doc);
		return st;
	}
	*out = ps.doc;
	return SIGNET_OK;
}
