/* report_redis_codec.c: observations <-> Redis field strings
 * (report_redis_codec.h). Percent-encoding keeps '|' free as the field
 * separator, so any byte a field may hold round-trips. */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "report_redis_codec.h"

#define ROW_TAG "r1"
#define POLICY_TAG "p1"

/* ---- keys --------------------------------------------------------------- */

static enum signet_status key_fmt(char *out, size_t cap, int n)
{
	(void)out;
	if (n < 0 || (size_t)n >= cap)
		return SIGNET_ERR_LIMIT;
	return SIGNET_OK;
}

enum signet_status report_redis_key_domains(int64_t day, char *out, size_t cap)
{
	return key_fmt(out, cap,
		       snprintf(out, cap, REPORT_REDIS_PREFIX "%lld:domains", (long long)day));
}

enum signet_status report_redis_key_policy(int64_t day, char *out, size_t cap)
{
	return key_fmt(out, cap,
		       snprintf(out, cap, REPORT_REDIS_PREFIX "%lld:policy", (long long)day));
}

enum signet_status report_redis_key_rows(int64_t day, const char *domain, char *out, size_t cap)
{
	if (domain == NULL || strlen(domain) > REPORT_STORE_MAX_FIELD)
		return SIGNET_ERR_LIMIT;
	return key_fmt(
		out, cap,
		snprintf(out, cap, REPORT_REDIS_PREFIX "%lld:rows:%s", (long long)day, domain));
}

/* ---- encoding ----------------------------------------------------------- */

struct enc {
	char *p;
	size_t len, cap;
	bool over;
};

static void put_byte(struct enc *e, char c)
{
	if (e->len + 1 >= e->cap) {
		e->over = true;
		return;
	}
	e->p[e->len++] = c;
	e->p[e->len] = '\0';
}

static bool needs_escape(unsigned char c)
{
	return c < 0x20 || c == 0x7f || c == '%' || c == '|';
}

/* '|' then the field, escaped; NULL is empty. */
static void put_field(struct enc *e, const char *v)
{
	static const char hex[] = "0123456789ABCDEF";
	put_byte(e, '|');
	for (const unsigned char *s = (const unsigned char *)(v ? v : ""); *s; s++) {
		if (!needs_escape(*s)) {
			put_byte(e, (char)*s);
			continue;
		}
		put_byte(e, '%');
		put_byte(e, hex[*s >> 4]);
		put_byte(e, hex[*s & 15]);
	}
}

static enum signet_status check(const char *name, const char *v, bool required, size_t max,
				struct signet_error *err)
{
	if (v == NULL || *v == '\0')
		return required ? error_set(err, SIGNET_ERR_INVAL, "DMARC-RPT-01",
					    "observation without %s", name)
				: SIGNET_OK;
	if (strlen(v) > max)
		return error_set(err, SIGNET_ERR_LIMIT, "DMARC-RPT-01",
				 "%s longer than %zu bytes (REPORT_STORE_MAX_FIELD)", name, max);
	return SIGNET_OK;
}

#define F REPORT_STORE_MAX_FIELD

static enum signet_status check_row(const struct report_obs *o, struct signet_error *err)
{
	SIGNET_TRY(check("policy domain", o->policy_domain, true, F, err));
	SIGNET_TRY(check("source IP", o->source_ip, true, F, err));
	SIGNET_TRY(check("header_from", o->header_from, true, F, err));
	SIGNET_TRY(check("envelope_from", o->envelope_from, false, F, err));
	SIGNET_TRY(check("envelope_to", o->envelope_to, false, F, err));
	SIGNET_TRY(check("SPF domain", o->spf_domain, false, F, err));
	SIGNET_TRY(check("SPF scope", o->spf_scope, false, F, err));
	SIGNET_TRY(check("SPF result", o->spf_result, false, F, err));
	SIGNET_TRY(check("DMARC result", o->dmarc_result, true, F, err));
	SIGNET_TRY(check("disposition", o->disposition, true, F, err));
	SIGNET_TRY(check("override type", o->override_type, false, F, err));
	SIGNET_TRY(check("override comment", o->override_comment, false, F, err));
	if (o->ndkim > REPORT_STORE_MAX_DKIM)
		return error_set(err, SIGNET_ERR_LIMIT, "DMARC-RPT-01",
				 "%zu DKIM results, over REPORT_STORE_MAX_DKIM (%d)", o->ndkim,
				 REPORT_STORE_MAX_DKIM);
	for (size_t k = 0; k < o->ndkim; k++) {
		SIGNET_TRY(check("DKIM domain", o->dkim[k].domain, true, F, err));
		SIGNET_TRY(check("DKIM selector", o->dkim[k].selector, false, F, err));
		SIGNET_TRY(check("DKIM result", o->dkim[k].result, true, F, err));
	}
	return SIGNET_OK;
}

static enum signet_status finish(struct enc *e, struct signet_error *err)
{
	if (e->over)
		return error_set(err, SIGNET_ERR_LIMIT, "DMARC-RPT-01",
				 "encoded observation longer than its buffer (%zu bytes)", e->cap);
	return SIGNET_OK;
}

enum signet_status report_redis_encode_row(const struct report_obs *o, char *out, size_t cap,
					   struct signet_error *err)
{
	char n[24];
	struct enc e = {out, 0, cap, cap == 0};

	SIGNET_TRY(check_row(o, err));
	if (cap > 0)
		out[0] = '\0';
	for (const char *t = ROW_TAG; *t; t++)
		put_byte(&e, *t);
	put_field(&e, o->source_ip);
	put_field(&e, o->header_from);
	put_field(&e, o->envelope_from);
	put_field(&e, o->envelope_to);
	put_field(&e, o->spf_domain);
	put_field(&e, o->spf_scope);
	put_field(&e, o->spf_result);
	put_field(&e, o->dmarc_result);
	put_field(&e, o->dkim_aligned_pass ? "1" : "0");
	put_field(&e, o->spf_aligned_pass ? "1" : "0");
	put_field(&e, o->disposition);
	put_field(&e, o->override_type);
	put_field(&e, o->override_comment);
	snprintf(n, sizeof n, "%zu", o->ndkim);
	put_field(&e, n);
	for (size_t k = 0; k < o->ndkim; k++) {
		put_field(&e, o->dkim[k].domain);
		put_field(&e, o->dkim[k].selector);
		put_field(&e, o->dkim[k].result);
	}
	return finish(&e, err);
}

enum signet_status report_redis_encode_policy(const struct report_policy *p, char *out, size_t cap,
					      struct signet_error *err)
{
	char n[24];
	struct enc e = {out, 0, cap, cap == 0};

	SIGNET_TRY(check("p", p->p, false, F, err));
	SIGNET_TRY(check("sp", p->sp, false, F, err));
	SIGNET_TRY(check("np", p->np, false, F, err));
	SIGNET_TRY(check("adkim", p->adkim, false, F, err));
	SIGNET_TRY(check("aspf", p->aspf, false, F, err));
	SIGNET_TRY(check("discovery", p->discovery, false, F, err));
	SIGNET_TRY(check("fo", p->fo, false, F, err));
	SIGNET_TRY(check("rua", p->rua, false, REPORT_REDIS_MAX_RUA, err));
	if (cap > 0)
		out[0] = '\0';
	for (const char *t = POLICY_TAG; *t; t++)
		put_byte(&e, *t);
	put_field(&e, p->p);
	put_field(&e, p->sp);
	put_field(&e, p->np);
	put_field(&e, p->adkim);
	put_field(&e, p->aspf);
	put_field(&e, p->discovery);
	put_field(&e, p->testing ? "1" : "0");
	snprintf(n, sizeof n, "%d", p->pct < 0 ? -1 : p->pct);
	put_field(&e, n);
	put_field(&e, p->fo);
	put_field(&e, p->rua);
	return finish(&e, err);
}

/* ---- decoding ----------------------------------------------------------- */

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Splits buf at '|' (after the tag) and unescapes each field in place.
 * Fills f[0..*n); false: a bad tag, escape or too many fields. */
static bool split(char *buf, const char *tag, char **f, size_t max, size_t *n)
{
	size_t tl = strlen(tag);
	*n = 0;
	if (strncmp(buf, tag, tl) != 0 || buf[tl] != '|')
		return false;
	char *r = buf + tl + 1, *w = r;
	f[(*n)++] = w;
	for (; *r; r++) {
		if (*r == '|') {
			*w++ = '\0';
			if (*n == max)
				return false;
			f[(*n)++] = w;
		} else if (*r == '%') {
			int hi = hexval(r[1]), lo = hi < 0 ? -1 : hexval(r[2]);
			if (lo < 0)
				return false;
			*w++ = (char)(hi << 4 | lo);
			r += 2;
		} else {
			*w++ = *r;
		}
	}
	*w = '\0';
	return true;
}

static const char *opt(char *s)
{
	return *s ? s : NULL;
}

static bool flag(const char *s, bool *out)
{
	if (strcmp(s, "0") != 0 && strcmp(s, "1") != 0)
		return false;
	*out = s[0] == '1';
	return true;
}

#define ROW_FIXED 14

static enum signet_status bad(struct signet_error *err, const char *what)
{
	return error_set(err, SIGNET_ERR_SYNTAX, "DMARC-RPT-01",
			 "not a signet DMARC %s in Redis (format " ROW_TAG "/" POLICY_TAG ")",
			 what);
}

enum signet_status report_redis_decode_row(char *buf, struct report_obs *o,
					   struct signet_error *err)
{
	char *f[ROW_FIXED + 3 * REPORT_STORE_MAX_DKIM];
	size_t n;
	char *end;

	if (!split(buf, ROW_TAG, f, sizeof f / sizeof *f, &n) || n < ROW_FIXED)
		return bad(err, "row");
	unsigned long nd = strtoul(f[13], &end, 10);
	if (*f[13] == '\0' || *end || nd > REPORT_STORE_MAX_DKIM || n != ROW_FIXED + 3 * nd)
		return bad(err, "row");
	if (!flag(f[8], &o->dkim_aligned_pass) || !flag(f[9], &o->spf_aligned_pass))
		return bad(err, "row");
	o->source_ip = f[0];
	o->header_from = f[1];
	o->envelope_from = opt(f[2]);
	o->envelope_to = opt(f[3]);
	o->spf_domain = opt(f[4]);
	o->spf_scope = opt(f[5]);
	o->spf_result = opt(f[6]);
	o->dmarc_result = f[7];
	o->disposition = f[10];
	o->override_type = opt(f[11]);
	o->override_comment = opt(f[12]);
	o->ndkim = nd;
	for (size_t k = 0; k < nd; k++) {
		o->dkim[k].domain = f[ROW_FIXED + 3 * k];
		o->dkim[k].selector = opt(f[ROW_FIXED + 3 * k + 1]);
		o->dkim[k].result = f[ROW_FIXED + 3 * k + 2];
	}
	if (!*o->source_ip || !*o->header_from || !*o->dmarc_result || !*o->disposition)
		return bad(err, "row");
	return SIGNET_OK;
}

enum signet_status report_redis_decode_policy(char *buf, struct report_policy *p,
					      struct signet_error *err)
{
	char *f[10];
	size_t n;
	char *end;

	if (!split(buf, POLICY_TAG, f, 10, &n) || n != 10 || !flag(f[6], &p->testing))
		return bad(err, "policy");
	long pct = strtol(f[7], &end, 10);
	if (*f[7] == '\0' || *end || pct < -1 || pct > 100)
		return bad(err, "policy");
	p->p = opt(f[0]);
	p->sp = opt(f[1]);
	p->np = opt(f[2]);
	p->adkim = opt(f[3]);
	p->aspf = opt(f[4]);
	p->discovery = opt(f[5]);
	p->pct = (int)pct;
	p->fo = opt(f[8]);
	p->rua = opt(f[9]);
	return SIGNET_OK;
}
