/* arc_sig.c: the ARC header fields (RFC 8617 4.1): the AAR's "i=N;"
 * prefix, and the AMS and AS tag lists, with the one tag-list parser
 * (tags.c). It checks what needs no message, key or clock; hashing and
 * the chain rules are arc.c's. */
#include <string.h>

#include "arc_sig.h"
#include "base64.h"
#include "dnsname.h"
#include "error.h"
#include "rfc5322.h"

#define SPEC_SET "RFC 8617 4.2.1"
#define SPEC_AAR "RFC 8617 4.1.1"
#define SPEC_AMS "RFC 8617 4.1.2"
#define SPEC_AS "RFC 8617 4.1.3"
#define INSTANCE_DIGITS 2 /* "50" */

static const char *kind_name(enum arc_kind kind)
{
	return kind == ARC_AAR   ? "ARC-Authentication-Results"
	       : kind == ARC_AMS ? "ARC-Message-Signature"
				 : "ARC-Seal";
}

static bool is_digit(uint8_t c)
{
	return c >= '0' && c <= '9';
}

/* 1*DIGIT, at most max_digits, into *out. */
static bool decimal(struct signet_span v, size_t max_digits, uint64_t *out)
{
	uint64_t n = 0;
	if (v.len == 0 || v.len > max_digits)
		return false;
	for (size_t k = 0; k < v.len; k++) {
		if (!is_digit(v.p[k]))
			return false;
		n = n * 10 + (uint64_t)(v.p[k] - '0');
	}
	*out = n;
	return true;
}

/* ARC-SET-02: instance = 1*2DIGIT, 1..SIGNET_ARC_MAX_INSTANCES. */
static enum signet_status instance_value(enum arc_kind kind, struct signet_span v, unsigned *out,
					 struct signet_error *err)
{
	uint64_t n = 0;
	if (!decimal(v, INSTANCE_DIGITS + 1, &n))
		return error_set(err, SIGNET_ERR_SYNTAX, SPEC_SET, "%s i= is not a number",
				 kind_name(kind));
	if (n < 1 || n > SIGNET_ARC_MAX_INSTANCES)
		return error_set(err, SIGNET_ERR_SYNTAX, SPEC_SET,
				 "%s i=%llu is outside 1..SIGNET_ARC_MAX_INSTANCES (%d)",
				 kind_name(kind), (unsigned long long)n, SIGNET_ARC_MAX_INSTANCES);
	*out = (unsigned)n;
	return SIGNET_OK;
}

static size_t skip_fws(const uint8_t *p, size_t len, size_t k)
{
	while (k < len && (is_wsp(p[k]) || p[k] == '\r' || p[k] == '\n'))
		k++;
	return k;
}

/* ARC-AAR-01 (RFC 8617 4.1.1): arc-authres-header = "i" [FWS] "=" [FWS]
 * instance [FWS] ";" authres-payload. */
static enum signet_status aar_instance(const uint8_t *p, size_t len, unsigned *out,
				       struct signet_error *err)
{
	size_t k = skip_fws(p, len, 0);
	if (k == len || p[k] != 'i')
		return error_set(err, SIGNET_ERR_SYNTAX, SPEC_AAR,
				 "ARC-Authentication-Results does not start with i=");
	k = skip_fws(p, len, k + 1);
	if (k == len || p[k] != '=')
		return error_set(err, SIGNET_ERR_SYNTAX, SPEC_AAR,
				 "ARC-Authentication-Results does not start with i=");
	k = skip_fws(p, len, k + 1);
	size_t start = k;
	while (k < len && is_digit(p[k]))
		k++;
	struct signet_span v = {p + start, k - start};
	SIGNET_TRY(instance_value(ARC_AAR, v, out, err));
	k = skip_fws(p, len, k);
	if (k == len || p[k] != ';')
		return error_set(err, SIGNET_ERR_SYNTAX, SPEC_AAR,
				 "ARC-Authentication-Results i= is not followed by ';'");
	return SIGNET_OK;
}

enum signet_status arc_instance(enum arc_kind kind, const uint8_t *value, size_t len, unsigned *out,
				struct signet_error *err)
{
	if (kind == ARC_AAR)
		return aar_instance(value, len, out, err);
	struct tag_list tags;
	struct signet_error terr = {0};
	if (tag_list_parse(value, len, &tags, &terr) != SIGNET_OK)
		return error_set(err, SIGNET_ERR_SYNTAX, SPEC_SET, "%s: %s", kind_name(kind),
				 terr.msg);
	const struct tag *i = tag_list_find(&tags, "i");
	if (i == NULL)
		return error_set(err, SIGNET_ERR_SYNTAX, SPEC_SET, "%s has no i=", kind_name(kind));
	return instance_value(kind, i->value, out, err);
}

static struct signet_span value_of(const struct arc_sig *s, const char *name, bool *has)
{
	const struct tag *t = tag_list_find(&s->tags, name);
	if (has != NULL)
		*has = t != NULL;
	return t != NULL ? t->value : (struct signet_span){(const uint8_t *)"", 0};
}

static enum signet_status required(const struct arc_sig *s, const char *const *names, size_t n,
				   struct signet_error *err)
{
	for (size_t k = 0; k < n; k++)
		if (tag_list_find(&s->tags, names[k]) == NULL)
			return error_set(
				err, SIGNET_ERR_SYNTAX, s->kind == ARC_AMS ? SPEC_AMS : SPEC_AS,
				"%s is missing required tag %s=", kind_name(s->kind), names[k]);
	return SIGNET_OK;
}

/* a=: only the algorithms DKIM accepts (RFC 8617 4.1.2 refers to RFC
 * 6376 3.5; rsa-sha1 never passes, RFC 8301 3.1). Case-sensitive, as the
 * grammar writes them. */
static enum signet_status arc_alg(struct arc_sig *s, struct signet_error *err)
{
	struct signet_span a = value_of(s, "a", NULL);
	if (a.len == 10 && memcmp(a.p, "rsa-sha256", 10) == 0)
		s->alg = SIGNET_ALG_RSA_SHA256;
	else if (a.len == 14 && memcmp(a.p, "ed25519-sha256", 14) == 0)
		s->alg = SIGNET_ALG_ED25519_SHA256;
	else if (a.len == 8 && memcmp(a.p, "rsa-sha1", 8) == 0)
		return error_set(err, SIGNET_ERR_SYNTAX, "RFC 8301 3.1",
				 "%s a=rsa-sha1 is not acceptable", kind_name(s->kind));
	else
		return error_set(err, SIGNET_ERR_SYNTAX, SPEC_AMS,
				 "%s has an unknown a=", kind_name(s->kind));
	return SIGNET_OK;
}

static enum signet_status arc_base64(const struct arc_sig *s, const char *tag, uint8_t *dst,
				     size_t cap, size_t *len, struct signet_error *err)
{
	struct signet_error tmp;
	struct signet_span v = value_of(s, tag, NULL);
	if (base64_decode(v, dst, cap, len, &tmp) != SIGNET_OK || *len == 0)
		return error_set(err, SIGNET_ERR_SYNTAX, SPEC_AMS,
				 "%s has bad base64 in %s=", kind_name(s->kind), tag);
	return SIGNET_OK;
}

static enum signet_status arc_names(const struct arc_sig *s, struct signet_error *err)
{
	if (dnsname_check(s->d.p, s->d.len, DNSNAME_UTF8, NULL) != DNSNAME_OK)
		return error_set(err, SIGNET_ERR_SYNTAX, SPEC_AMS,
				 "%s has an invalid d=", kind_name(s->kind));
	if (dnsname_check(s->s.p, s->s.len, DNSNAME_UTF8, NULL) != DNSNAME_OK)
		return error_set(err, SIGNET_ERR_SYNTAX, SPEC_AMS,
				 "%s has an invalid s=", kind_name(s->kind));
	return SIGNET_OK;
}

/* ARC-AMS-01: h= as in DKIM, except that it need not name From, may be
 * empty (the suite's ams_fields_h_empty passes), and must not name
 * ARC-Seal (RFC 8617 4.1.2). */
static enum signet_status ams_h(struct arc_sig *s, struct signet_error *err)
{
	struct signet_span h = value_of(s, "h", NULL), name;
	size_t pos = 0;
	s->nh = 0;
	if (span_trim_fws(h).len == 0)
		return SIGNET_OK;
	while (tag_value_list_next(h, &pos, &name)) {
		/* "from::to": an empty name selects no field. RFC 6376's h=
		 * grammar has no empty name, but the suite's ams_fields_h_mis_hdr
		 * expects a pass, and skipping it signs exactly what is hashed. */
		if (name.len == 0)
			continue;
		if (!rfc5322_field_name_ok(name.p, name.len))
			return error_set(err, SIGNET_ERR_SYNTAX, SPEC_AMS,
					 "ARC-Message-Signature h= has an invalid field name");
		if (span_eq_nocase(name, "arc-seal"))
			return error_set(err, SIGNET_ERR_SYNTAX, SPEC_AMS,
					 "ARC-Message-Signature h= includes ARC-Seal");
		if (s->nh == SIGNET_MAX_H_NAMES)
			return error_set(err, SIGNET_ERR_SYNTAX, SPEC_AMS,
					 "h= lists more than SIGNET_MAX_H_NAMES (%d) names",
					 SIGNET_MAX_H_NAMES);
		s->hnames[s->nh++] = name;
	}
	return SIGNET_OK;
}

static enum signet_status numbers(struct arc_sig *s, struct signet_error *err)
{
	bool has;
	uint64_t t;
	struct signet_span v = value_of(s, "t", &has);
	if (has && !decimal(v, 20, &t))
		return error_set(err, SIGNET_ERR_SYNTAX, SPEC_AMS, "%s t= is not a number",
				 kind_name(s->kind));
	v = value_of(s, "x", &s->has_x);
	if (s->has_x && !decimal(v, 20, &s->x))
		return error_set(err, SIGNET_ERR_SYNTAX, SPEC_AMS, "%s x= is not a number",
				 kind_name(s->kind));
	v = value_of(s, "l", &s->has_l);
	if (s->has_l && !decimal(v, 19, &s->l))
		return error_set(err, SIGNET_ERR_SYNTAX, SPEC_AMS, "%s l= is not a number",
				 kind_name(s->kind));
	return SIGNET_OK;
}

static enum signet_status ams_parse(struct arc_sig *s, struct signet_error *err)
{
	static const char *const req[] = {"i", "a", "b", "bh", "d", "h", "s"};
	bool has;
	SIGNET_TRY(required(s, req, sizeof req / sizeof req[0], err));
	SIGNET_TRY(arc_alg(s, err));
	/* c= absent means simple/simple (RFC 6376 3.5; the suite's ams_fields_c_na). */
	s->hdr_canon = s->body_canon = SIGNET_CANON_RELAXED;
	struct signet_span c = value_of(s, "c", &has);
	if (has)
		SIGNET_TRY(signet_canon_parse((const char *)c.p, c.len, &s->hdr_canon,
					      &s->body_canon, err));
	SIGNET_TRY(arc_names(s, err));
	SIGNET_TRY(ams_h(s, err));
	SIGNET_TRY(arc_base64(s, "bh", s->bh, sizeof s->bh, &s->bh_len, err));
	SIGNET_TRY(arc_base64(s, "b", s->b, sizeof s->b, &s->b_len, err));
	return numbers(s, err);
}

/* ARC-CV-01 (RFC 8617 4.1.3): cv= none / fail / pass, as written. */
static enum signet_status as_cv(struct arc_sig *s, struct signet_error *err)
{
	struct signet_span cv = value_of(s, "cv", NULL);
	if (cv.len == 4 && memcmp(cv.p, "none", 4) == 0)
		s->cv = ARC_CV_NONE;
	else if (cv.len == 4 && memcmp(cv.p, "pass", 4) == 0)
		s->cv = ARC_CV_PASS;
	else if (cv.len == 4 && memcmp(cv.p, "fail", 4) == 0)
		s->cv = ARC_CV_FAIL;
	else
		return error_set(err, SIGNET_ERR_SYNTAX, SPEC_AS, "ARC-Seal has an invalid cv=");
	return SIGNET_OK;
}

static enum signet_status as_parse(struct arc_sig *s, struct signet_error *err)
{
	static const char *const req[] = {"i", "a", "b", "cv", "d", "s"};
	SIGNET_TRY(required(s, req, sizeof req / sizeof req[0], err));
	/* ARC-AS-01 (RFC 8617 4.1.3): no h= (the suite's as_fields_h_present). */
	if (tag_list_find(&s->tags, "h") != NULL)
		return error_set(err, SIGNET_ERR_SYNTAX, SPEC_AS, "ARC-Seal has an h= tag");
	SIGNET_TRY(arc_alg(s, err));
	SIGNET_TRY(as_cv(s, err));
	s->hdr_canon = s->body_canon = SIGNET_CANON_RELAXED;
	SIGNET_TRY(arc_names(s, err));
	SIGNET_TRY(arc_base64(s, "b", s->b, sizeof s->b, &s->b_len, err));
	return numbers(s, err);
}

enum signet_status arc_sig_parse(enum arc_kind kind, const uint8_t *value, size_t len,
				 struct arc_sig *out, struct signet_error *err)
{
	memset(out, 0, sizeof *out);
	out->kind = kind;
	SIGNET_TRY(arc_instance(kind, value, len, &out->instance, err));
	if (kind == ARC_AAR)
		return SIGNET_OK;
	struct signet_error terr = {0};
	if (tag_list_parse(value, len, &out->tags, &terr) != SIGNET_OK)
		return error_set(err, SIGNET_ERR_SYNTAX, SPEC_AMS, "%s: %s", kind_name(kind),
				 terr.msg);
	out->d = value_of(out, "d", NULL);
	out->s = value_of(out, "s", NULL);
	const struct tag *b = tag_list_find(&out->tags, "b");
	if (b != NULL)
		out->b_raw = b->raw;
	return kind == ARC_AMS ? ams_parse(out, err) : as_parse(out, err);
}
