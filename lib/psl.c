/* psl.c: the Public Suffix List (psl.h) for DKIM-VER-17. Parses the list
 * from bytes into one open-addressing hash set of rule names (A-labels,
 * lower case, in one capped arena) and answers "is this domain exactly a
 * public suffix". No file I/O: the CLI and signetd read the file. */
#include <stdlib.h>
#include <string.h>

#include <signet/psl.h>

#include "buf.h"
#include "error.h"
#include "idna.h"

#define PSL_SPEC "publicsuffix.org/list"
#define PSL_NAME_MAX 253  /* RFC 1035 2.3.4, in presentation form without the final dot */
#define PSL_LABEL_MAX 63
#define PSL_MIN_SLOTS 1024 /* power of two */

/* Kinds of rule at one name (flags: "ck" may be both "ck" and "*.ck"). */
enum { RULE_EXACT = 1, RULE_WILDCARD = 2, RULE_EXCEPTION = 4 };

struct psl_slot {
	uint32_t off;  /* name in the arena */
	uint8_t len;   /* 1..PSL_NAME_MAX */
	uint8_t flags; /* 0 = empty slot */
};

struct signet_psl {
	struct signet_buf names; /* every name stored, back to back (no NULs) */
	struct psl_slot *slots;  /* nslots, a power of two, at most half used */
	size_t nslots, nused;
};

/* FNV-1a: the list is trusted configuration, not attacker input. */
static uint32_t name_hash(const char *s, size_t n)
{
	uint32_t h = 2166136261u;
	for (size_t k = 0; k < n; k++)
		h = (h ^ (uint8_t)s[k]) * 16777619u;
	return h;
}

/* The slot holding name, or the empty slot where it would go. */
static struct psl_slot *slot_for(const struct signet_psl *psl, const char *name, size_t n)
{
	size_t mask = psl->nslots - 1;
	for (size_t k = name_hash(name, n) & mask;; k = (k + 1) & mask) {
		struct psl_slot *s = &psl->slots[k];
		if (s->flags == 0 ||
		    (s->len == n && memcmp(psl->names.data + s->off, name, n) == 0))
			return s;
	}
}

static unsigned lookup(const struct signet_psl *psl, const char *name, size_t n)
{
	return slot_for(psl, name, n)->flags;
}

static enum signet_status grow(struct signet_psl *psl)
{
	size_t n = psl->nslots ? psl->nslots * 2 : PSL_MIN_SLOTS;
	struct psl_slot *old = psl->slots;
	size_t nold = psl->nslots;
	psl->slots = calloc(n, sizeof *psl->slots);
	if (psl->slots == NULL) {
		psl->slots = old;
		return SIGNET_ERR_NOMEM;
	}
	psl->nslots = n;
	for (size_t k = 0; k < nold; k++) {
		if (old[k].flags == 0)
			continue;
		const char *name = (const char *)psl->names.data + old[k].off;
		*slot_for(psl, name, old[k].len) = old[k];
	}
	free(old);
	return SIGNET_OK;
}

static enum signet_status insert(struct signet_psl *psl, const char *name, size_t n, unsigned flags)
{
	if ((psl->nused + 1) * 2 > psl->nslots)
		SIGNET_TRY(grow(psl));
	struct psl_slot *s = slot_for(psl, name, n);
	if (s->flags == 0) {
		size_t off = psl->names.len;
		SIGNET_TRY(buf_append(&psl->names, name, n));
		s->off = (uint32_t)off; /* the arena is capped far below 4 GiB */
		s->len = (uint8_t)n;
		psl->nused++;
	}
	s->flags |= (uint8_t)flags;
	return SIGNET_OK;
}

/* Letters, digits, '-' and UTF-8 octets (checked by idna_to_ascii) in
 * non-empty dot-separated labels. */
static bool name_chars_ok(struct signet_span s)
{
	if (s.len == 0 || s.p[0] == '.' || s.p[s.len - 1] == '.')
		return false;
	for (size_t k = 0; k < s.len; k++) {
		uint8_t c = s.p[k];
		bool ldh = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
			   (c >= '0' && c <= '9') || c == '-' || c >= 0x80;
		if (c == '.' ? s.p[k - 1] == '.' : !ldh)
			return false;
	}
	return true;
}

/* The A-label form of s in lower case into out; false if it is no name
 * (labels longer than 63 octets, the whole longer than 253). */
static bool a_form(struct signet_span s, char *out, size_t cap, size_t *n)
{
	struct signet_error ierr = {0};
	if (!name_chars_ok(s) || idna_to_ascii(s, out, cap, &ierr) != SIGNET_OK)
		return false;
	size_t len = strlen(out), label = 0;
	for (size_t k = 0; k < len; k++) {
		out[k] = (char)ascii_lower((uint8_t)out[k]);
		label = out[k] == '.' ? 0 : label + 1;
		if (label > PSL_LABEL_MAX)
			return false;
	}
	*n = len;
	return len <= PSL_NAME_MAX;
}

/* One rule (RFC-less format, PSL_SPEC): [!] or [*.] then a domain name. */
static enum signet_status rule(struct signet_span tok, unsigned long line, char *name, size_t *n,
			       unsigned *flags, struct signet_error *err)
{
	*flags = RULE_EXACT;
	if (tok.p[0] == '!') {
		*flags = RULE_EXCEPTION;
		tok.p++, tok.len--;
	} else if (tok.len >= 2 && tok.p[0] == '*' && tok.p[1] == '.') {
		*flags = RULE_WILDCARD;
		tok.p += 2, tok.len -= 2;
	}
	if (memchr(tok.p, '*', tok.len) != NULL)
		return error_set(err, SIGNET_ERR_SYNTAX, PSL_SPEC,
				 "line %lu: '*' may only be the whole leftmost label", line);
	if (!a_form(tok, name, IDNA_MAX_NAME, n))
		return error_set(err, SIGNET_ERR_SYNTAX, PSL_SPEC,
				 "line %lu: '%.*s' is not a domain name (letters, digits, '-', "
				 "UTF-8; labels of 1..63 octets)",
				 line, (int)(tok.len < 64 ? tok.len : 64), (const char *)tok.p);
	if (*flags == RULE_EXCEPTION && memchr(name, '.', *n) == NULL)
		return error_set(err, SIGNET_ERR_SYNTAX, PSL_SPEC,
				 "line %lu: an exception rule needs at least two labels", line);
	return SIGNET_OK;
}

static bool is_space(uint8_t c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\v' || c == '\f';
}

/* A "// ===BEGIN PRIVATE DOMAINS===" style marker line, whitespace after it ignored. */
static bool marker_is(struct signet_span line, const char *marker)
{
	size_t n = strlen(marker);
	if (line.len < n || memcmp(line.p, marker, n) != 0)
		return false;
	for (size_t k = n; k < line.len; k++)
		if (!is_space(line.p[k]))
			return false;
	return true;
}

/* Which rules count. The ICANN section holds TLDs and the names their
 * registries hand out below them (co.uk, *.ck): nobody can own such a name,
 * so a signature by it is the "implausible signing domain" of RFC 6376
 * 6.1.1. The PRIVATE section holds names that one company runs for its
 * customers (github.io, blogspot.com): that company can and may sign with
 * them, so those rules are checked for syntax but not used. Rules outside
 * both sections (a local list without markers) count. */
struct parse_state {
	struct signet_psl *psl;
	bool private_section;
	size_t icann, seen;
};

static enum signet_status parse_line(struct parse_state *ps, struct signet_span line,
				     unsigned long lineno, struct signet_error *err)
{
	if (memchr(line.p, '\0', line.len) != NULL)
		return error_set(err, SIGNET_ERR_SYNTAX, PSL_SPEC, "line %lu: NUL byte", lineno);
	if (line.len >= 2 && line.p[0] == '/' && line.p[1] == '/') {
		if (marker_is(line, "// ===BEGIN PRIVATE DOMAINS==="))
			ps->private_section = true;
		else if (marker_is(line, "// ===END PRIVATE DOMAINS==="))
			ps->private_section = false;
		return SIGNET_OK;
	}
	/* The format: "each line is only read up until the first whitespace". */
	size_t n = 0;
	while (n < line.len && !is_space(line.p[n]))
		n++;
	if (n == 0)
		return SIGNET_OK;
	if (++ps->seen > SIGNET_PSL_MAX_RULES)
		return error_set(err, SIGNET_ERR_LIMIT, PSL_SPEC,
				 "more than SIGNET_PSL_MAX_RULES (%d) rules", SIGNET_PSL_MAX_RULES);
	char name[IDNA_MAX_NAME];
	size_t nlen;
	unsigned flags;
	struct signet_span tok = {line.p, n};
	SIGNET_TRY(rule(tok, lineno, name, &nlen, &flags, err));
	if (ps->private_section)
		return SIGNET_OK;
	enum signet_status st = insert(ps->psl, name, nlen, flags);
	if (st == SIGNET_ERR_LIMIT)
		return error_set(err, st, PSL_SPEC, "rule names exceed %u bytes",
				 SIGNET_PSL_MAX_BYTES);
	if (st != SIGNET_OK)
		return error_set(err, st, NULL, "out of memory");
	ps->icann++;
	return SIGNET_OK;
}

static enum signet_status parse_all(struct parse_state *ps, const uint8_t *text, size_t len,
				    struct signet_error *err)
{
	size_t pos = 0;
	unsigned long lineno = 0;
	if (len >= 3 && memcmp(text, "\xef\xbb\xbf", 3) == 0)
		pos = 3; /* a UTF-8 byte order mark */
	while (pos < len) {
		const uint8_t *nl = memchr(text + pos, '\n', len - pos);
		size_t end = nl != NULL ? (size_t)(nl - text) : len;
		struct signet_span line = {text + pos, end - pos};
		SIGNET_TRY(parse_line(ps, line, ++lineno, err));
		pos = end + 1;
	}
	if (ps->icann == 0)
		return error_set(err, SIGNET_ERR_SYNTAX, PSL_SPEC,
				 "no ICANN rules: this is not a public suffix list");
	return SIGNET_OK;
}

enum signet_status signet_psl_parse(const uint8_t *text, size_t len, struct signet_psl **out,
				    struct signet_error *err)
{
	if (out == NULL || (text == NULL && len > 0))
		return error_set(err, SIGNET_ERR_INVAL, NULL, "signet_psl_parse: NULL argument");
	*out = NULL;
	if (len > SIGNET_PSL_MAX_BYTES)
		return error_set(err, SIGNET_ERR_LIMIT, PSL_SPEC,
				 "the list is larger than SIGNET_PSL_MAX_BYTES (%u)",
				 SIGNET_PSL_MAX_BYTES);
	struct signet_psl *psl = calloc(1, sizeof *psl);
	if (psl == NULL)
		return error_set(err, SIGNET_ERR_NOMEM, NULL, "out of memory");
	buf_init(&psl->names, SIGNET_PSL_MAX_BYTES);
	struct parse_state ps = {.psl = psl};
	enum signet_status st = parse_all(&ps, text, len, err);
	if (st != SIGNET_OK) {
		signet_psl_free(psl);
		return st;
	}
	*out = psl;
	return SIGNET_OK;
}

bool signet_psl_is_suffix(const struct signet_psl *psl, const char *domain, size_t len)
{
	if (psl == NULL || domain == NULL)
		return false;
	if (len > 0 && domain[len - 1] == '.')
		len--; /* the root label */
	char a[IDNA_MAX_NAME];
	size_t n;
	if (!a_form((struct signet_span){(const uint8_t *)domain, len}, a, sizeof a, &n))
		return false;
	/* An exception rule matching at any level wins over every other rule
	 * (the format's algorithm): the public suffix is then shorter. */
	for (size_t k = 0; k < n; k++)
		if ((k == 0 || a[k - 1] == '.') && (lookup(psl, a + k, n - k) & RULE_EXCEPTION))
			return false;
	if (lookup(psl, a, n) & RULE_EXACT)
		return true;
	const char *dot = memchr(a, '.', n);
	if (dot == NULL)
		return true; /* the implicit "*" rule: every TLD is a public suffix */
	size_t rest = n - (size_t)(dot + 1 - a);
	return (lookup(psl, dot + 1, rest) & RULE_WILDCARD) != 0;
}

size_t signet_psl_rules(const struct signet_psl *psl)
{
	return psl != NULL ? psl->nused : 0;
}

void signet_psl_free(struct signet_psl *psl)
{
	if (psl == NULL)
		return;
	buf_free(&psl->names);
	free(psl->slots);
	free(psl);
}
