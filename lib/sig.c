/* sig.c: the DKIM-Signature field (RFC 6376 3.5). sig_parse checks a
 * received value as far as it can without the message, the key or the
 * clock; sig_format / sig_append_b write the signer's field, folded.
 * Hashing, key lookup and time checks are the verifier's and signer's. */
#include <string.h>

#include "base64.h"
#include "dnsname.h"
#include "error.h"
#include "rfc5322.h"
#include "idna.h"
#include "sig.h"

#define SPEC_SIG "RFC 6376 3.5"
#define SPEC_VER "RFC 6376 6.1.1"
#define MAX_LINE 78         /* RFC 5322 2.1.1: lines SHOULD be at most 78 characters */
#define HEADER_NAME_COLS 15 /* strlen("DKIM-Signature:") */

/* Copies v into a short printable string for a reason: non-printable and
 * non-ASCII octets become '?', long values end in "...". */
static const char *show(struct signet_span v, char out[40])
{
	size_t n = 0;
	for (; n < v.len && n < 32; n++)
		out[n] = (v.p[n] >= 0x20 && v.p[n] < 0x7f) ? (char)v.p[n] : '?';
	if (n < v.len) {
		memcpy(out + n, "...", 3);
		n += 3;
	}
	out[n] = '\0';
	return out;
}

static struct signet_span tag_value_of(const struct tag_list *l, const char *name, bool *has)
{
	const struct tag *t = tag_list_find(l, name);
	struct signet_span none = {(const uint8_t *)"", 0};
	if (has != NULL)
		*has = t != NULL;
	return t != NULL ? t->value : none;
}

static bool is_digit(uint8_t c)
{
	return c >= '0' && c <= '9';
}

/* 1*DIGIT into a uint64_t without overflow (DKIM-SIG-09, -11). */
static enum signet_status decimal(struct signet_span v, const char *tag, size_t max_digits,
				  uint64_t *out, struct signet_error *err)
{
	uint64_t n = 0;
	if (v.len == 0)
		return error_set(err, SIGNET_ERR_SYNTAX, SPEC_SIG, "%s= is not a number", tag);
	for (size_t k = 0; k < v.len; k++)
		if (!is_digit(v.p[k]))
			return error_set(err, SIGNET_ERR_SYNTAX, SPEC_SIG, "%s= is not a number",
					 tag);
	if (v.len > max_digits)
		return error_set(err, SIGNET_ERR_SYNTAX, SPEC_SIG, "%s= too large", tag);
	for (size_t k = 0; k < v.len; k++) {
		uint64_t d = (uint64_t)(v.p[k] - '0');
		if (n > (UINT64_MAX - d) / 10)
			return error_set(err, SIGNET_ERR_SYNTAX, SPEC_SIG, "%s= too large", tag);
		n = n * 10 + d;
	}
	*out = n;
	return SIGNET_OK;
}

/* domain-name / selector = sub-domain *( "." sub-domain ) (RFC 6376 3.5,
 * DKIM-SIG-06), U-labels allowed (DKIM-EAI-02): the one DNS-name check. */
static bool domain_ok(struct signet_span v)
{
	return dnsname_check(v.p, v.len, DNSNAME_UTF8, NULL) == DNSNAME_OK;
}

/* DKIM-SIG-07 (RFC 6376 3.5 h=, 5.4): names with FWS around the colons;
 * From must be among them. */
static enum signet_status sig_h(struct dkim_sig *out, struct signet_error *err)
{
	size_t pos = 0;
	bool from = false;
	struct signet_span name;
	char tmp[40];
	out->nh = 0;
	while (tag_value_list_next(out->h, &pos, &name)) {
		if (!rfc5322_field_name_ok(name.p, name.len))
			return error_set(err, SIGNET_ERR_SYNTAX, SPEC_SIG,
					 "invalid field name \"%s\" in h=", show(name, tmp));
		if (out->nh >= SIGNET_MAX_H_NAMES)
			return error_set(err, SIGNET_ERR_SYNTAX, SPEC_SIG,
					 "h= lists more than SIGNET_MAX_H_NAMES (%d) names",
					 SIGNET_MAX_H_NAMES);
		out->hnames[out->nh++] = name;
		from = from || span_eq_nocase(name, "from");
	}
	if (!from)
		return error_set(err, SIGNET_ERR_SYNTAX, SPEC_SIG, "h= does not include From");
	return SIGNET_OK;
}

/* DKIM-SIG-04: b= and bh= are base64 with FWS inside. */
static enum signet_status sig_base64(struct signet_span v, const char *tag, uint8_t *dst,
				     size_t cap, size_t *len, struct signet_error *err)
{
	struct signet_error tmp;
	enum signet_status st = base64_decode(v, dst, cap, len, &tmp);
	if (st == SIGNET_ERR_LIMIT)
		return error_set(err, SIGNET_ERR_SYNTAX, SPEC_SIG, "%s= is longer than %zu bytes",
				 tag, cap);
	if (st != SIGNET_OK || *len == 0)
		return error_set(err, SIGNET_ERR_SYNTAX, SPEC_SIG, "bad base64 in %s=", tag);
	return SIGNET_OK;
}

/* sub equals parent or is below it on a label boundary, ignoring case. */
static bool domain_within(struct signet_span sub, struct signet_span parent)
{
	if (sub.len == parent.len)
		return span_eq_nocase_span(sub, parent);
	if (sub.len < parent.len + 1 || sub.p[sub.len - parent.len - 1] != '.')
		return false;
	struct signet_span tail = {sub.p + sub.len - parent.len, parent.len};
	return span_eq_nocase_span(tail, parent);
}

/* DKIM-SIG-08 (RFC 6376 3.5 i=): the domain after the last '@' equals d=
 * or is a subdomain of it, on a label boundary, ignoring case. The local
 * part (dkim-quoted-printable, UTF-8 under RFC 8616) is not decoded.
 * DKIM-EAI-02: with U-labels on either side the A-label forms are compared. */
static enum signet_status sig_i(struct dkim_sig *out, struct signet_error *err)
{
	size_t at = out->i.len;
	while (at > 0 && out->i.p[at - 1] != '@')
		at--;
	if (at == 0)
		return error_set(err, SIGNET_ERR_SYNTAX, SPEC_SIG, "i= has no @");
	struct signet_span dom = {out->i.p + at, out->i.len - at};
	if (!domain_ok(dom))
		return error_set(err, SIGNET_ERR_SYNTAX, SPEC_SIG, "i= has an invalid domain");
	bool within;
	if (idna_is_unicode(dom) || idna_is_unicode(out->d)) {
		char a[IDNA_MAX_NAME], b[IDNA_MAX_NAME];
		struct signet_error ierr = {0};
		if (idna_to_ascii(dom, a, sizeof a, &ierr) != SIGNET_OK ||
		    idna_to_ascii(out->d, b, sizeof b, &ierr) != SIGNET_OK)
			return error_set(err, SIGNET_ERR_SYNTAX, "RFC 8616 5", "%s", ierr.msg);
		within = domain_within(span_from_str(a), span_from_str(b));
	} else {
		within = domain_within(dom, out->d);
	}
	if (!within)
		return error_set(err, SIGNET_ERR_SYNTAX, SPEC_SIG, "i= is not within d=");
	out->auid_domain = dom;
	return SIGNET_OK;
}

/* DKIM-SIG-10, DKIM-ERR-03: q= is a colon list of methods; a ':' inside a
 * method's argument is encoded (=3A), so a plain split is right. Unknown
 * methods are ignored; "dns" alone is RFC 4871's spelling of dns/txt. */
static enum signet_status sig_q(const struct dkim_sig *out, struct signet_error *err)
{
	size_t pos = 0;
	struct signet_span m;
	while (tag_value_list_next(out->q, &pos, &m))
		if (span_eq_nocase(m, "dns/txt") || span_eq_nocase(m, "dns"))
			return SIGNET_OK;
	return error_set(err, SIGNET_ERR_SYNTAX, SPEC_SIG, "q= does not include dns/txt");
}

/* DKIM-SIG-09, -11: t=, x=, l= as unsigned decimals. */
static enum signet_status sig_numbers(struct dkim_sig *out, struct signet_error *err)
{
	struct signet_span v = tag_value_of(&out->tags, "t", &out->has_t);
	if (out->has_t)
		SIGNET_TRY(decimal(v, "t", 20, &out->t, err));
	v = tag_value_of(&out->tags, "x", &out->has_x);
	if (out->has_x)
		SIGNET_TRY(decimal(v, "x", 20, &out->x, err));
	if (out->has_t && out->has_x && out->x <= out->t)
		return error_set(err, SIGNET_ERR_SYNTAX, SPEC_SIG, "x= is not after t=");
	v = tag_value_of(&out->tags, "l", &out->has_l);
	if (out->has_l)
		SIGNET_TRY(decimal(v, "l", 76, &out->l, err));
	return SIGNET_OK;
}

/* Spans of the tags we report even when a later check fails. */
static void sig_spans(struct dkim_sig *out)
{
	out->a = tag_value_of(&out->tags, "a", NULL);
	out->d = tag_value_of(&out->tags, "d", NULL);
	out->s = tag_value_of(&out->tags, "s", NULL);
	out->i = tag_value_of(&out->tags, "i", &out->has_i);
	out->h = tag_value_of(&out->tags, "h", NULL);
	out->q = tag_value_of(&out->tags, "q", NULL);
	out->z = tag_value_of(&out->tags, "z", NULL);
	out->auid_domain = out->d;
	const struct tag *b = tag_list_find(&out->tags, "b");
	if (b != NULL)
		out->b_raw = b->raw;
}

/* DKIM-SIG-01, -02 (RFC 6376 6.1.1): v= first, then the other required tags. */
static enum signet_status sig_required(const struct dkim_sig *out, struct signet_error *err)
{
	static const char *const required[] = {"a", "b", "bh", "d", "h", "s"};
	char tmp[40];
	const struct tag *v = tag_list_find(&out->tags, "v");
	if (v == NULL)
		return error_set(err, SIGNET_ERR_SYNTAX, SPEC_VER, "missing required tag v=");
	if (v->value.len != 1 || v->value.p[0] != '1')
		return error_set(err, SIGNET_ERR_SYNTAX, SPEC_VER, "incompatible version v=%s",
				 show(v->value, tmp));
	for (size_t k = 0; k < sizeof required / sizeof required[0]; k++)
		if (tag_list_find(&out->tags, required[k]) == NULL)
			return error_set(err, SIGNET_ERR_SYNTAX, SPEC_VER,
					 "missing required tag %s=", required[k]);
	return SIGNET_OK;
}

/* The checks after the algorithm, in the order that decides the reason. */
static enum signet_status sig_rest(struct dkim_sig *out, struct signet_error *err)
{
	bool has;
	struct signet_span v = tag_value_of(&out->tags, "c", &has);
	if (has)
		SIGNET_TRY(signet_canon_parse((const char *)v.p, v.len, &out->hdr_canon,
					      &out->body_canon, err));
	if (!domain_ok(out->d))
		return error_set(err, SIGNET_ERR_SYNTAX, SPEC_SIG, "invalid domain in d=");
	if (!domain_ok(out->s))
		return error_set(err, SIGNET_ERR_SYNTAX, SPEC_SIG, "invalid selector in s=");
	SIGNET_TRY(sig_h(out, err));
	SIGNET_TRY(sig_base64(tag_value_of(&out->tags, "bh", NULL), "bh", out->bh, sizeof out->bh,
			      &out->bh_len, err));
	SIGNET_TRY(sig_base64(tag_value_of(&out->tags, "b", NULL), "b", out->b, sizeof out->b,
			      &out->b_len, err));
	if (out->has_i)
		SIGNET_TRY(sig_i(out, err));
	SIGNET_TRY(sig_numbers(out, err));
	if (tag_list_find(&out->tags, "q") != NULL)
		SIGNET_TRY(sig_q(out, err));
	/* DKIM-SIG-12: z= is diagnostic only and never makes the signature invalid. */
	return SIGNET_OK;
}

enum signet_status sig_parse(const uint8_t *value, size_t len, struct dkim_sig *out,
			     struct signet_error *err)
{
	char tmp[40];
	memset(out, 0, sizeof *out);
	enum signet_status st = tag_list_parse(value, len, &out->tags, err);
	if (st != SIGNET_OK) {
		/* Too many tags is a fault of the signature, not of our call: a
		 * permerror like any other (sig.h contract). */
		if (err != NULL)
			err->code = SIGNET_ERR_SYNTAX;
		return SIGNET_ERR_SYNTAX;
	}
	sig_spans(out);
	SIGNET_TRY(sig_required(out, err));
	/* DKIM-SIG-03 (RFC 6376 3.3.4, 3.5): an algorithm we do not know. */
	out->alg = signet_alg_parse((const char *)out->a.p, out->a.len);
	if (out->alg == SIGNET_ALG_UNKNOWN)
		return error_set(err, SIGNET_ERR_SYNTAX, SPEC_SIG, "unsupported algorithm %s",
				 show(out->a, tmp));
	return sig_rest(out, err);
}

/* ---- Formatting (the signer) ---- */

/* A value we write must be tag-value text: VALCHAR and no ';' (RFC 6376
 * 3.2), so nothing a caller passes can break the header. */
static bool valtext_ok(const char *s)
{
	if (s == NULL || *s == '\0')
		return false;
	for (const unsigned char *p = (const unsigned char *)s; *p != '\0'; p++)
		if (!((*p >= 0x21 && *p <= 0x7e && *p != ';') || *p >= 0x80))
			return false;
	return true;
}

/* Columns used on out's last line; out holds the field value only, so a
 * first line starts after "DKIM-Signature:". */
static size_t current_col(const struct signet_buf *out)
{
	size_t k = out->len;
	while (k > 0 && out->data[k - 1] != '\n')
		k--;
	return k == 0 ? HEADER_NAME_COLS + out->len : out->len - k;
}

static enum signet_status fold(struct signet_buf *out)
{
	return buf_append(out, "\r\n\t", 3);
}

/* Appends the separator before an n-column token: " ", or a fold when the
 * token would pass the line limit (DKIM-SIGN-03: folds only between tags). */
static enum signet_status put_sep(struct signet_buf *out, size_t n)
{
	if (current_col(out) + 1 + n > MAX_LINE)
		return fold(out);
	return buf_append_byte(out, ' ');
}

static enum signet_status put_token(struct signet_buf *out, const char *tok, size_t n)
{
	SIGNET_TRY(put_sep(out, n));
	return buf_append(out, tok, n);
}

static enum signet_status put_tag(struct signet_buf *out, const char *name, const char *val)
{
	char tok[512];
	size_t nl = strlen(name), vl = strlen(val);
	if (vl > sizeof tok - nl - 2)
		return SIGNET_ERR_LIMIT;
	memcpy(tok, name, nl);
	tok[nl] = '=';
	memcpy(tok + nl + 1, val, vl);
	tok[nl + 1 + vl] = ';';
	return put_token(out, tok, nl + vl + 2);
}

static enum signet_status put_number(struct signet_buf *out, const char *name, uint64_t v)
{
	char digits[24];
	size_t n = sizeof digits - 1;
	digits[n] = '\0';
	do {
		digits[--n] = (char)('0' + v % 10);
		v /= 10;
	} while (v != 0);
	return put_tag(out, name, digits + n);
}

/* h= folded after a ':' when the next name does not fit (DKIM-SIGN-03).
 * Names are ftext without ';' (RFC 5322 3.6.8, RFC 6376 3.2). */
static enum signet_status put_h(struct signet_buf *out, const char *h)
{
	const char *p = h;
	for (bool first = true; first || *p != '\0'; first = false) {
		size_t n = 0;
		while (p[n] != '\0' && p[n] != ':') {
			if ((unsigned char)p[n] < 33 || (unsigned char)p[n] > 126 || p[n] == ';')
				return SIGNET_ERR_INVAL;
			n++;
		}
		bool last = p[n] == '\0';
		if (n == 0)
			return SIGNET_ERR_INVAL;
		if (first) {
			/* "h=" stays on the line of the first name. */
			SIGNET_TRY(put_sep(out, 2 + n + 1));
			SIGNET_TRY(buf_append(out, "h=", 2));
		} else if (current_col(out) + n + 1 > MAX_LINE) {
			SIGNET_TRY(fold(out));
		}
		SIGNET_TRY(buf_append(out, p, n));
		SIGNET_TRY(buf_append_byte(out, last ? ';' : ':'));
		p += n + !last;
		if (!last && *p == '\0')
			return SIGNET_ERR_INVAL;
	}
	return SIGNET_OK;
}

static bool b64text_ok(const char *s)
{
	if (s == NULL || *s == '\0')
		return false;
	for (; *s != '\0'; s++)
		if (!((*s >= 'A' && *s <= 'Z') || (*s >= 'a' && *s <= 'z') ||
		      (*s >= '0' && *s <= '9') || *s == '+' || *s == '/' || *s == '='))
			return false;
	return true;
}

/* Appends base64 text, folding inside it so that each line keeps room for
 * `tail` more columns after the last character. */
static enum signet_status put_b64(struct signet_buf *out, const char *b64, size_t tail)
{
	size_t col = current_col(out), n = strlen(b64), k = 0;
	bool fresh = false; /* just folded: the line takes at least one character */
	while (k < n) {
		/* The characters that fit on this line; the last one of b64 also
		 * needs room for the tail, else it starts the next line. */
		size_t room = col < MAX_LINE ? MAX_LINE - col : 0, run = n - k;
		if (run > room)
			run = room;
		else if (run + tail > room)
			run--;
		if (run == 0 && !fresh) {
			SIGNET_TRY(fold(out));
			col = 1, fresh = true;
			continue;
		}
		run = run > 0 ? run : 1;
		SIGNET_TRY(buf_append(out, b64 + k, run));
		col += run, k += run, fresh = false;
	}
	return SIGNET_OK;
}

static bool fields_ok(const struct sig_fields *f)
{
	if (f->alg != SIGNET_ALG_RSA_SHA256 && f->alg != SIGNET_ALG_ED25519_SHA256)
		return false; /* RFC 8301 3.1: never sign rsa-sha1 */
	if (f->d == NULL || f->s == NULL || f->h == NULL)
		return false;
	if (!domain_ok(span_from_str(f->d)) || !domain_ok(span_from_str(f->s)))
		return false;
	if (f->i != NULL && !valtext_ok(f->i))
		return false;
	if (f->x != 0 && f->x <= f->t)
		return false; /* DKIM-SIG-11 */
	return b64text_ok(f->bh);
}

static const char *canon_pair(enum signet_canon h, enum signet_canon b)
{
	if (h == SIGNET_CANON_RELAXED)
		return b == SIGNET_CANON_RELAXED ? "relaxed/relaxed" : "relaxed/simple";
	return b == SIGNET_CANON_RELAXED ? "simple/relaxed" : "simple/simple";
}

/* Tag order v a c d s t [x] [i] h bh b (DKIM-SIGN-08: t= always, x= and
 * i= only when given, never l=). */
static enum signet_status format_tags(const struct sig_fields *f, struct signet_buf *out)
{
	SIGNET_TRY(put_tag(out, "v", "1"));
	SIGNET_TRY(put_tag(out, "a", signet_alg_name(f->alg)));
	SIGNET_TRY(put_tag(out, "c", canon_pair(f->hdr_canon, f->body_canon)));
	SIGNET_TRY(put_tag(out, "d", f->d));
	SIGNET_TRY(put_tag(out, "s", f->s));
	SIGNET_TRY(put_number(out, "t", f->t));
	if (f->x != 0)
		SIGNET_TRY(put_number(out, "x", f->x));
	if (f->i != NULL)
		SIGNET_TRY(put_tag(out, "i", f->i));
	SIGNET_TRY(put_h(out, f->h));
	/* bh= whole on one line when it fits, else folded inside the base64. */
	SIGNET_TRY(put_sep(out, 3 + strlen(f->bh) + 1));
	SIGNET_TRY(buf_append(out, "bh=", 3));
	SIGNET_TRY(put_b64(out, f->bh, 1));
	SIGNET_TRY(buf_append_byte(out, ';'));
	/* "b=" with room for one base64 character after it (sig_append_b). */
	SIGNET_TRY(put_sep(out, 3));
	return buf_append(out, "b=", 2);
}

enum signet_status sig_format(const struct sig_fields *f, struct signet_buf *out)
{
	if (!fields_ok(f))
		return SIGNET_ERR_INVAL;
	size_t start = out->len;
	enum signet_status st = format_tags(f, out);
	if (st != SIGNET_OK)
		out->len = start;
	return st;
}

enum signet_status sig_append_b(struct signet_buf *out, const char *b64)
{
	if (!b64text_ok(b64))
		return SIGNET_ERR_INVAL;
	size_t start = out->len;
	enum signet_status st = put_b64(out, b64, 0);
	if (st != SIGNET_OK)
		out->len = start;
	return st;
}
