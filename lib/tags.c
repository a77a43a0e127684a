/* tags.c: the one tag=value list parser (RFC 6376 3.2) for DKIM-Signature
 * values and key records. It checks the grammar, duplicates and the tag
 * count; it knows nothing about what any tag means (sig.c, keyrec.c do). */
#include <string.h>

#include "error.h"
#include "tags.h"

#define SPEC_TAGS "RFC 6376 3.2"

struct cursor {
	const uint8_t *p;
	size_t len;
	size_t pos;
};

/* ALPHA */
static bool is_alpha(uint8_t c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z');
}

/* ALNUMPUNC = ALPHA / DIGIT / "_" */
static bool is_alnumpunc(uint8_t c)
{
	return is_alpha(c) || (c >= '0' && c <= '9') || c == '_';
}

/* VALCHAR = %x21-3A / %x3C-7E (RFC 6376 3.2), plus the UTF-8 octets that
 * RFC 8616 5 admits in dkim-safe-char (DKIM-EAI-01). */
static bool is_valchar(uint8_t c)
{
	return (c >= 0x21 && c <= 0x3a) || (c >= 0x3c && c <= 0x7e) || c >= 0x80;
}

/* FWS = [*WSP CRLF] 1*WSP (RFC 6376 2.8). A bare LF stands for CRLF:
 * milters hand folded values over with bare LF. Consumes as much FWS as
 * there is (repeated folds are obs-FWS; harmless) and never a line break
 * that is not followed by WSP. */
static void fws(struct cursor *c)
{
	for (;;) {
		while (c->pos < c->len && is_wsp(c->p[c->pos]))
			c->pos++;
		size_t nl = 0;
		if (c->pos + 1 < c->len && c->p[c->pos] == '\r' && c->p[c->pos + 1] == '\n')
			nl = 2;
		else if (c->pos < c->len && c->p[c->pos] == '\n')
			nl = 1;
		if (nl == 0 || c->pos + nl >= c->len || !is_wsp(c->p[c->pos + nl]))
			return;
		c->pos += nl;
	}
}

/* tag-name = ALPHA *ALNUMPUNC */
static enum signet_status tag_name(struct cursor *c, struct signet_span *name,
				   struct signet_error *err)
{
	size_t start = c->pos;
	if (c->pos >= c->len || !is_alpha(c->p[c->pos]))
		return error_set(err, SIGNET_ERR_SYNTAX, SPEC_TAGS,
				 "tag name expected at offset %zu", c->pos);
	while (c->pos < c->len && is_alnumpunc(c->p[c->pos]))
		c->pos++;
	name->p = c->p + start;
	name->len = c->pos - start;
	return SIGNET_OK;
}

/* tag-value = [ tval *( 1*(WSP / FWS) tval ) ], read up to the ';' or the
 * end. raw keeps the surrounding FWS (RFC 6376 3.7), value does not. */
static enum signet_status tag_value(struct cursor *c, struct tag *t, struct signet_error *err)
{
	size_t start = c->pos, first = 0, last = 0;
	bool seen = false;
	while (c->pos < c->len && c->p[c->pos] != ';') {
		uint8_t b = c->p[c->pos];
		if (is_valchar(b)) {
			if (!seen)
				first = c->pos;
			seen = true;
			last = ++c->pos;
			continue;
		}
		size_t before = c->pos;
		fws(c);
		if (c->pos == before)
			return error_set(err, SIGNET_ERR_SYNTAX, SPEC_TAGS,
					 "invalid byte 0x%02x in value of %.*s= at offset %zu", b,
					 (int)(t->name.len > 32 ? 32 : t->name.len), t->name.p,
					 c->pos);
	}
	t->raw.p = c->p + start;
	t->raw.len = c->pos - start;
	t->value.p = c->p + (seen ? first : c->pos);
	t->value.len = seen ? last - first : 0;
	return SIGNET_OK;
}

static bool span_eq(struct signet_span a, struct signet_span b)
{
	return a.len == b.len && memcmp(a.p, b.p, a.len) == 0;
}

/* DKIM-TAG-03 (RFC 6376 3.2): a tag given twice invalidates the list. */
static enum signet_status check_duplicate(const struct tag_list *l, const struct tag *t, size_t off,
					  struct signet_error *err)
{
	for (size_t k = 0; k < l->count; k++)
		if (span_eq(l->tags[k].name, t->name))
			return error_set(err, SIGNET_ERR_SYNTAX, SPEC_TAGS,
					 "duplicate tag %.*s= at offset %zu",
					 (int)(t->name.len > 32 ? 32 : t->name.len), t->name.p,
					 off);
	return SIGNET_OK;
}

/* tag-spec = [FWS] tag-name [FWS] "=" [FWS] tag-value [FWS] */
static enum signet_status tag_spec(struct cursor *c, struct tag_list *l, struct signet_error *err)
{
	struct tag t;
	fws(c);
	size_t off = c->pos;
	SIGNET_TRY(tag_name(c, &t.name, err));
	fws(c);
	if (c->pos >= c->len || c->p[c->pos] != '=')
		return error_set(err, SIGNET_ERR_SYNTAX, SPEC_TAGS,
				 "'=' expected after tag name %.*s at offset %zu",
				 (int)(t.name.len > 32 ? 32 : t.name.len), t.name.p, c->pos);
	c->pos++;
	SIGNET_TRY(tag_value(c, &t, err));
	SIGNET_TRY(check_duplicate(l, &t, off, err));
	if (l->count >= SIGNET_MAX_TAGS)
		return error_set(err, SIGNET_ERR_LIMIT, SPEC_TAGS,
				 "more than SIGNET_MAX_TAGS (%d) tags", SIGNET_MAX_TAGS);
	l->tags[l->count++] = t;
	return SIGNET_OK;
}

/* tag-list = tag-spec *( ";" tag-spec ) [ ";" ]  (DKIM-TAG-01).
 * Input that is empty or FWS only gives an empty list (the callers then
 * report the missing tags, which says more than a grammar error). FWS after
 * the final ';' is accepted: key records are often written "...; p=x; ". */
enum signet_status tag_list_parse(const uint8_t *p, size_t len, struct tag_list *out,
				  struct signet_error *err)
{
	struct cursor c = {p, len, 0};
	out->count = 0;
	fws(&c);
	while (c.pos < c.len) {
		SIGNET_TRY(tag_spec(&c, out, err));
		if (c.pos < c.len) {
			/* tag_value stops only at ';' or at the end. */
			c.pos++;
			fws(&c);
		}
	}
	return SIGNET_OK;
}

const struct tag *tag_list_find(const struct tag_list *l, const char *name)
{
	struct signet_span n = span_from_str(name);
	for (size_t k = 0; k < l->count; k++)
		if (span_eq(l->tags[k].name, n))
			return &l->tags[k];
	return NULL;
}

/* A ':' inside an element is always encoded (=3A, DKIM-ERR-03), so a plain
 * split is right for every list in RFC 6376. */
bool tag_value_list_next(struct signet_span list, size_t *pos, struct signet_span *item)
{
	if (*pos > list.len)
		return false;
	const uint8_t *start = list.p + *pos;
	size_t rest = list.len - *pos;
	const uint8_t *colon = rest > 0 ? memchr(start, ':', rest) : NULL;
	size_t n = colon != NULL ? (size_t)(colon - start) : rest;
	struct signet_span raw = {start, n};
	*item = span_trim_fws(raw);
	*pos += n + 1;
	return true;
}
