/* dmarc_record.c: the DMARC record (RFC 9989 4.7 and its tag registry;
 * RFC 7489 6.3, 6.4 in that mode) read with the one tag-list parser
 * (lib/tags.c). It judges one record; finding records is lib/dmarc.c's. */
#include <string.h>

#include "dmarc_record.h"
#include "error.h"
#include "tags.h"

static struct signet_dmarc_text text_of(struct signet_span s)
{
	return (struct signet_dmarc_text){(const char *)s.p, s.len};
}

static bool span_is_wsp_or_end(const uint8_t *p, size_t len, size_t k)
{
	while (k < len && is_wsp(p[k]))
		k++;
	return k == len || p[k] == ';';
}

/* RFC 9989 4.7 (RFC 7489 6.4 dmarc-version): "v" *WSP "=" *WSP "DMARC1",
 * the value case-sensitive (%x44 %x4d ...), then the end or a ';'. */
bool signet_dmarc_is_record(const uint8_t *p, size_t len)
{
	size_t k = 0;
	if (p == NULL || len < 1 || p[0] != 'v')
		return false;
	k = 1;
	while (k < len && is_wsp(p[k]))
		k++;
	if (k == len || p[k] != '=')
		return false;
	k++;
	while (k < len && is_wsp(p[k]))
		k++;
	if (len - k < 6 || memcmp(p + k, "DMARC1", 6) != 0)
		return false;
	return span_is_wsp_or_end(p, len, k + 6);
}

static bool is_alpha(uint8_t c)
{
	return (c | 0x20) >= 'a' && (c | 0x20) <= 'z';
}
static bool is_digit(uint8_t c)
{
	return c >= '0' && c <= '9';
}

/* RFC 3986 3.1 scheme ":" then something; RFC 7489 6.4 "!" 1*DIGIT [kmgt]. */
bool dmarc_uri_valid(struct signet_span u, const char **why)
{
	size_t k = 0;
	if (u.len == 0 || !is_alpha(u.p[0])) {
		*why = "a URI starts with a scheme (RFC 3986 3.1)";
		return false;
	}
	while (k < u.len && (is_alpha(u.p[k]) || is_digit(u.p[k]) || u.p[k] == '+' ||
			     u.p[k] == '-' || u.p[k] == '.'))
		k++;
	if (k == u.len || u.p[k] != ':' || k + 1 == u.len) {
		*why = "a URI is scheme ':' and more (RFC 3986 3)";
		return false;
	}
	size_t bang = u.len;
	for (size_t j = k + 1; j < u.len; j++) {
		if (u.p[j] <= ' ' || u.p[j] >= 0x7f || u.p[j] == ',') {
			*why = "a URI has no space, control, non-ASCII octet or ','";
			return false;
		}
		if (u.p[j] == '!' && bang == u.len)
			bang = j;
	}
	if (bang < u.len) { /* "!" 1*DIGIT [ "k" / "m" / "g" / "t" ] */
		size_t j = bang + 1, digits = 0;
		while (j < u.len && is_digit(u.p[j]))
			j++, digits++;
		if (j < u.len && strchr("kmgtKMGT", u.p[j]) != NULL)
			j++;
		if (digits == 0 || j != u.len) {
			*why = "a size after '!' is digits and one of k, m, g, t";
			return false;
		}
	}
	return true;
}

enum signet_dmarc_policy dmarc_policy_weaker(enum signet_dmarc_policy p)
{
	if (p == SIGNET_DMARC_POLICY_REJECT)
		return SIGNET_DMARC_POLICY_QUARANTINE;
	if (p == SIGNET_DMARC_POLICY_QUARANTINE)
		return SIGNET_DMARC_POLICY_NONE;
	return p;
}

static void note_kind(struct signet_dmarc_record *r, struct signet_span tag,
		      struct signet_span value, enum signet_dmarc_note_kind kind, const char *why)
{
	if (r->nnotes < SIGNET_MAX_TAGS) /* one note per part at most: never full */
		r->notes[r->nnotes++] =
			(struct signet_dmarc_note){text_of(tag), text_of(value), kind, why};
}

/* A known tag whose value is invalid. */
static void note(struct signet_dmarc_record *r, const struct tag *t, const char *why)
{
	note_kind(r, t->name, t->value, SIGNET_DMARC_NOTE_BAD_VALUE, why);
}

/* p, sp, np: "none" / "quarantine" / "reject", case-insensitive (ABNF). */
static enum signet_dmarc_policy policy_value(struct signet_span v)
{
	if (span_eq_nocase(v, "none"))
		return SIGNET_DMARC_POLICY_NONE;
	if (span_eq_nocase(v, "quarantine"))
		return SIGNET_DMARC_POLICY_QUARANTINE;
	if (span_eq_nocase(v, "reject"))
		return SIGNET_DMARC_POLICY_REJECT;
	return SIGNET_DMARC_POLICY_UNSET;
}

/* A comma-separated list of dmarc-uri (rua, ruf); counts the valid ones. */
static size_t uri_list(struct signet_dmarc_record *r, const struct tag *t)
{
	struct signet_span v = t->value;
	size_t start = 0, valid = 0;
	const char *why = NULL;
	bool bad = false;
	for (size_t k = 0; k <= v.len; k++) {
		if (k < v.len && v.p[k] != ',')
			continue;
		struct signet_span u = span_trim_fws((struct signet_span){v.p + start, k - start});
		if (dmarc_uri_valid(u, &why))
			valid++;
		else
			bad = true;
		start = k + 1;
	}
	if (bad)
		note(r, t,
		     valid ? "a URI in the list is not valid and is skipped"
			   : "no valid URI in the list");
	return valid;
}

/* fo, RFC 7489 6.4: ( "0" / "1" / "d" / "s" ) *(*WSP ":" *WSP ( "0" / "1" /
 * "d" / "s" )). RFC 9989 4.8 narrows it: dmarc-fo = "0" / "1" / "d" / "s" /
 * "d:s" / "s:d" ("0" and "1" stand alone; "0:d", "1:s", "d:d" are invalid).
 * ABNF strings are case-insensitive; WSP around ':' is kept from RFC 7489. */
static bool fo_valid(struct signet_span v, enum signet_dmarc_mode mode)
{
	size_t pos = 0, n = 0;
	struct signet_span item;
	uint8_t first = 0;
	while (tag_value_list_next(v, &pos, &item)) {
		if (item.len != 1 || strchr("01dsDS", item.p[0]) == NULL)
			return false;
		uint8_t c = (uint8_t)(item.p[0] | 0x20);
		if (mode == SIGNET_DMARC_RFC9989 &&
		    (n > 1 || (n == 1 && (first == '0' || first == '1' || c == '0' || c == '1' ||
					  c == first))))
			return false;
		first = n == 0 ? c : first;
		n++;
	}
	return true;
}

static bool number(struct signet_span v, size_t maxdigits, uint32_t *out)
{
	uint64_t n = 0;
	if (v.len == 0 || v.len > maxdigits)
		return false;
	for (size_t k = 0; k < v.len; k++) {
		if (!is_digit(v.p[k]))
			return false;
		n = n * 10 + (v.p[k] - '0');
	}
	if (n > UINT32_MAX)
		return false;
	*out = (uint32_t)n;
	return true;
}

static bool yn(struct signet_span v, bool *out)
{
	if (span_eq_nocase(v, "y"))
		return (*out = true), true;
	if (span_eq_nocase(v, "n"))
		return (*out = false), true;
	return false;
}

static bool align_value(struct signet_span v, enum signet_dmarc_align *out)
{
	if (span_eq_nocase(v, "r"))
		return (*out = SIGNET_DMARC_RELAXED), true;
	if (span_eq_nocase(v, "s"))
		return (*out = SIGNET_DMARC_STRICT), true;
	return false;
}

struct policy_tags {
	bool p_bad, sp_bad, np_bad; /* present with an invalid value */
};

static void tag_policy(struct signet_dmarc_record *r, const struct tag *t,
		       enum signet_dmarc_policy *slot, bool *bad)
{
	*slot = policy_value(t->value);
	if (*slot == SIGNET_DMARC_POLICY_UNSET) {
		*bad = true;
		note(r, t, "value is not none, quarantine or reject");
	}
}

/* Tags both modes know (RFC 9989 4.7 registry; RFC 7489 6.3). */
static bool tag_common(struct signet_dmarc_record *r, const struct tag *t, struct policy_tags *pt,
		       enum signet_dmarc_mode mode)
{
	struct signet_span n = t->name, v = t->value;
	if (span_eq_nocase(n, "p"))
		tag_policy(r, t, &r->p, &pt->p_bad);
	else if (span_eq_nocase(n, "sp"))
		tag_policy(r, t, &r->sp, &pt->sp_bad);
	else if (span_eq_nocase(n, "adkim") || span_eq_nocase(n, "aspf")) {
		enum signet_dmarc_align *a = span_eq_nocase(n, "adkim") ? &r->adkim : &r->aspf;
		if (!align_value(v, a))
			note(r, t, "value is not r or s; relaxed is used");
	} else if (span_eq_nocase(n, "rua")) {
		r->rua = text_of(v);
		r->nrua = uri_list(r, t);
	} else if (span_eq_nocase(n, "ruf")) {
		r->ruf = text_of(v);
		r->nruf = uri_list(r, t);
	} else if (span_eq_nocase(n, "fo")) {
		if (fo_valid(v, mode))
			r->fo = text_of(v);
		else
			note(r, t,
			     mode == SIGNET_DMARC_RFC9989
				     ? "value is not 0, 1, d, s, d:s or s:d (RFC 9989 4.8); 0 is "
				       "used"
				     : "value is not a ':' list of 0, 1, d, s; 0 is used");
	} else
		return false;
	return true;
}

/* RFC 9989 4.7: np, psd, t are new; pct, rf, ri are gone (ignored). */
static bool tag_9989(struct signet_dmarc_record *r, const struct tag *t, struct policy_tags *pt)
{
	struct signet_span n = t->name, v = t->value;
	bool y;
	if (span_eq_nocase(n, "np"))
		tag_policy(r, t, &r->np, &pt->np_bad);
	else if (span_eq_nocase(n, "psd")) {
		if (span_eq_nocase(v, "u"))
			r->psd = SIGNET_DMARC_PSD_U;
		else if (yn(v, &y))
			r->psd = y ? SIGNET_DMARC_PSD_Y : SIGNET_DMARC_PSD_N;
		else
			note(r, t, "value is not y, n or u; u is used");
	} else if (span_eq_nocase(n, "t")) {
		if (yn(v, &y))
			r->t = y;
		else
			note(r, t, "value is not y or n; n is used");
	} else if (span_eq_nocase(n, "pct") || span_eq_nocase(n, "rf") || span_eq_nocase(n, "ri"))
		note_kind(r, n, v, SIGNET_DMARC_NOTE_REMOVED, "removed by RFC 9989; ignored");
	else
		return false;
	return true;
}

/* RFC 7489 6.3: pct (0..100), rf (afrf), ri (32-bit seconds). */
static bool tag_7489(struct signet_dmarc_record *r, const struct tag *t)
{
	struct signet_span n = t->name, v = t->value;
	uint32_t num;
	if (span_eq_nocase(n, "pct")) {
		if (number(v, 3, &num) && num <= 100)
			r->pct = num;
		else
			note(r, t, "value is not an integer 0..100; 100 is used");
	} else if (span_eq_nocase(n, "ri")) {
		if (number(v, 10, &num))
			r->ri = num;
		else
			note(r, t, "value is not a 32-bit integer; 86400 is used");
	} else if (span_eq_nocase(n, "rf")) {
		size_t pos = 0;
		struct signet_span item;
		bool ok = true;
		while (tag_value_list_next(v, &pos, &item))
			ok = ok && span_eq_nocase(item, "afrf");
		if (ok)
			r->rf = text_of(v);
		else
			note(r, t, "value names a format other than afrf; afrf is used");
	} else
		return false;
	return true;
}

/* Tag names are case-insensitive in the DMARC ABNF ("p" is a quoted
 * string), so "P=" after "p=" is a second p=. */
static bool given_before(const struct tag *tags, size_t k)
{
	for (size_t j = 0; j < k; j++)
		if (span_eq_nocase_span(tags[j].name, tags[k].name))
			return true;
	return false;
}

static void defaults(struct signet_dmarc_record *r)
{
	memset(r, 0, sizeof *r);
	r->pct = 100;
	r->ri = 86400;
}

static void reject_record(struct signet_dmarc_record *r, const char *why)
{
	r->usable = false;
	r->reason = why;
}

/* RFC 9989 4.10.1 (RFC 7489 6.6.3 for p= and sp=): an invalid p=, sp= or
 * np= gives p=none when rua= names a valid URI, and no DMARC processing
 * otherwise. An absent p= is p=none in RFC 9989 (4.7 p=), the same invalid
 * case in RFC 7489. */
static void policy_validity(struct signet_dmarc_record *r, const struct policy_tags *pt,
			    enum signet_dmarc_mode mode)
{
	bool absent = r->p == SIGNET_DMARC_POLICY_UNSET && !pt->p_bad;
	if (absent && mode == SIGNET_DMARC_RFC9989 && !pt->sp_bad && !pt->np_bad) {
		r->p = SIGNET_DMARC_POLICY_NONE;
		r->p_substituted = true;
		r->reason = "p= is absent: treated as p=none (RFC 9989 4.7)";
		return;
	}
	bool bad = r->p == SIGNET_DMARC_POLICY_UNSET || pt->sp_bad || pt->np_bad;
	if (!bad)
		return;
	if (r->nrua == 0) {
		reject_record(r, r->p == SIGNET_DMARC_POLICY_UNSET
					 ? "p= is missing or invalid and rua= has no valid URI"
					 : "sp= or np= is invalid and rua= has no valid URI");
		return;
	}
	r->p = SIGNET_DMARC_POLICY_NONE;
	r->sp = r->np = SIGNET_DMARC_POLICY_UNSET;
	r->p_substituted = true;
	r->reason = "a policy tag is missing or invalid; rua= is valid: acts as p=none";
}

/* DMARC-REC-03, DMARC9-REC-02 (RFC 9989 4.7: "Syntax errors in the
 * remainder of the record MUST be discarded in favor of default values (if
 * any) or ignored outright"; RFC 7489 6.3 says SHOULD): each ';'-separated
 * part after v=DMARC1 is read on its own with the one tag-spec grammar
 * (lib/tags.c). A part that is not a tag=value pair is dropped with a note
 * (its text as the tag); empty parts (";;") are skipped. A value holds no
 * ';' (VALCHAR excludes it), so the split never cuts one. A tag given twice
 * still invalidates the record, as in the DKIM tag-list it inherits (RFC
 * 6376 3.2). */
static enum signet_status tag_pairs(const uint8_t *text, size_t len, struct signet_dmarc_record *r,
				    struct tag *tags, size_t *ntags)
{
	size_t start = 0, n = 0, parts = 0;
	for (size_t k = 0; k <= len; k++) {
		if (k < len && text[k] != ';')
			continue;
		struct signet_span part =
			span_trim_fws((struct signet_span){text + start, k - start});
		start = k + 1;
		if (part.len == 0)
			continue;
		struct tag_list one;
		struct signet_error perr;
		if (parts++ == SIGNET_MAX_TAGS) /* parts, not tags: one note each at most */
			return SIGNET_ERR_LIMIT;
		if (tag_list_parse(part.p, part.len, &one, &perr) != SIGNET_OK || one.count != 1) {
			note_kind(r, part, (struct signet_span){part.p, 0},
				  SIGNET_DMARC_NOTE_BROKEN,
				  "not a tag=value pair; ignored (RFC 9989 4.7)");
			continue;
		}
		tags[n++] = one.tags[0];
	}
	*ntags = n;
	return SIGNET_OK;
}

enum signet_status signet_dmarc_record_parse(const uint8_t *text, size_t len,
					     enum signet_dmarc_mode mode,
					     struct signet_dmarc_record *r,
					     struct signet_error *err)
{
	if (r == NULL || (text == NULL && len > 0))
		return error_set(err, SIGNET_ERR_INVAL, NULL,
				 "signet_dmarc_record_parse: bad arguments");
	defaults(r);
	if (len > SIGNET_DMARC_MAX_RECORD) {
		reject_record(r, "longer than SIGNET_DMARC_MAX_RECORD (2048) octets");
		return SIGNET_OK;
	}
	if (!signet_dmarc_is_record(text, len)) {
		reject_record(r, "does not start with v=DMARC1 (RFC 9989 4.7)");
		return SIGNET_OK;
	}
	struct tag tags[SIGNET_MAX_TAGS];
	size_t ntags = 0;
	if (tag_pairs(text, len, r, tags, &ntags) != SIGNET_OK) {
		reject_record(r, "more than SIGNET_MAX_TAGS (64) tags");
		return SIGNET_OK;
	}
	struct policy_tags pt = {0};
	r->usable = true;
	for (size_t k = 1; k < ntags; k++) {
		const struct tag *t = &tags[k];
		if (given_before(tags, k)) {
			reject_record(r, "a tag given twice (in any case; RFC 6376 3.2)");
			return SIGNET_OK;
		}
		if (tag_common(r, t, &pt, mode))
			continue;
		if (mode == SIGNET_DMARC_RFC9989 ? tag_9989(r, t, &pt) : tag_7489(r, t))
			continue;
		note_kind(r, t->name, t->value, SIGNET_DMARC_NOTE_UNKNOWN, "unknown tag; ignored");
	}
	policy_validity(r, &pt, mode);
	return SIGNET_OK;
}
