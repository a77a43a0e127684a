/* keyrec.c: DKIM key records (RFC 6376 3.6.1, RFC 8463 4.2): the tags
 * decoded and checked, with reasons that name the usual paste mistakes
 * (for dnscheck). Key bytes are handed to crypto.c; this file does not
 * judge a record against a signature (h=, s=, t=s are the verifier's).
 * It also builds the parsed form of a whole answer (struct signet_keyset,
 * verifier.h) that the verifier uses and a caller may keep, and judges a
 * published record for dnscheck and signetd's DNS check (coded findings
 * that both only render: one judgment, two renderings). */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base64.h"
#include "crypto.h"
#include "error.h"
#include "keyrec.h"
#include "tags.h"

#define SPEC_KEY "RFC 6376 3.6.1"

static bool has_byte_pair(const uint8_t *p, size_t len, uint8_t a, uint8_t b)
{
	for (size_t k = 0; k + 1 < len; k++)
		if (p[k] == a && p[k + 1] == b)
			return true;
	return false;
}

static bool quoted(struct signet_span v)
{
	return v.len > 0 && (v.p[0] == '"' || v.p[v.len - 1] == '"');
}

/* A failure that a finding code of signet_keyrec_check names. */
static enum signet_status coded(enum signet_keyrec_code *why, enum signet_keyrec_code code,
				enum signet_status st)
{
	*why = code;
	return st;
}

/* DKIM-KEY-12: what people paste from zone files and web forms. Checked
 * before the grammar, whose offset-based message would say less. */
static enum signet_status paste_mistakes(const uint8_t *txt, size_t len,
					 enum signet_keyrec_code *why, struct signet_error *err)
{
	struct signet_span all = {txt, len};
	if (quoted(span_trim_fws(all)))
		return coded(why, SIGNET_KEYREC_QUOTES,
			     error_set(err, SIGNET_ERR_SYNTAX, SPEC_KEY,
				       "record contains quote characters (paste the value "
				       "without quotes)"));
	if (has_byte_pair(txt, len, '\\', ';'))
		return coded(why, SIGNET_KEYREC_BACKSLASH,
			     error_set(err, SIGNET_ERR_SYNTAX, SPEC_KEY,
				       "record contains backslash escapes"));
	return SIGNET_OK;
}

/* True when tag `name` is absent (`absent` is then the answer) or its
 * colon list holds one of the words w1, w2 (w2 may be NULL). */
static bool list_allows(const struct tag_list *l, const char *name, const char *w1, const char *w2)
{
	const struct tag *t = tag_list_find(l, name);
	struct signet_span item;
	size_t pos = 0;
	if (t == NULL)
		return true;
	while (tag_value_list_next(t->value, &pos, &item))
		if (span_eq_nocase(item, w1) || (w2 != NULL && span_eq_nocase(item, w2)))
			return true;
	return false;
}

static bool list_has(const struct tag_list *l, const char *name, const char *word)
{
	return tag_list_find(l, name) != NULL && list_allows(l, name, word, NULL);
}

/* k= (DKIM-KEY-04, RFC 8463 4.2): default rsa; 0 when unknown. */
static void key_type(const struct tag_list *l, struct signet_keyrec_info *info)
{
	const struct tag *k = tag_list_find(l, "k");
	struct signet_span v = k != NULL ? k->value : span_from_str("rsa");
	size_t n = v.len < sizeof info->k - 1 ? v.len : sizeof info->k - 1;
	for (size_t j = 0; j < n; j++)
		info->k[j] = (v.p[j] >= 0x20 && v.p[j] < 0x7f) ? (char)v.p[j] : '?';
	info->k[n] = '\0';
	if (span_eq_nocase(v, "rsa"))
		info->type = SIGNET_KEY_RSA;
	else if (span_eq_nocase(v, "ed25519"))
		info->type = SIGNET_KEY_ED25519;
	else
		info->type = 0;
}

/* Everything the tags say, before any check can stop us. */
static void fill_info(const struct tag_list *l, struct signet_keyrec_info *info)
{
	key_type(l, info);
	info->sha256_allowed = list_allows(l, "h", "sha256", NULL); /* DKIM-KEY-06 */
	info->email_allowed = list_allows(l, "s", "*", "email");    /* DKIM-KEY-07 */
	info->testing = list_has(l, "t", "y");                      /* DKIM-KEY-08 */
	info->strict = list_has(l, "t", "s");
	const struct tag *p = tag_list_find(l, "p");
	info->revoked = p != NULL && p->value.len == 0; /* DKIM-KEY-05 */
}

/* DKIM-KEY-12: a '"' can never be part of v=, k=, h=, s=, t= or p=; it is
 * a zone-file quote pasted along ("p=MIIB..." or "...\" \"..." between
 * two strings). n= notes may hold quotes. */
static enum signet_status check_quotes(const struct tag_list *l, enum signet_keyrec_code *why,
				       struct signet_error *err)
{
	static const char *const names[] = {"v", "k", "h", "s", "t", "p"};
	for (size_t k = 0; k < sizeof names / sizeof names[0]; k++) {
		const struct tag *t = tag_list_find(l, names[k]);
		if (t != NULL && memchr(t->value.p, '"', t->value.len) != NULL)
			return coded(why, SIGNET_KEYREC_QUOTES,
				     error_set(err, SIGNET_ERR_SYNTAX, SPEC_KEY,
					       "record contains quote characters (paste the "
					       "value without quotes)"));
	}
	return SIGNET_OK;
}

/* v=, k= and p= in the order that decides the reason. */
static enum signet_status check_record(const struct tag_list *l, struct keyrec *out,
				       struct signet_error *err)
{
	const struct tag *v = tag_list_find(l, "v");
	SIGNET_TRY(check_quotes(l, &out->why, err));
	/* DKIM-KEY-03: optional, but first and exactly "DKIM1" when present. */
	if (v != NULL &&
	    (v != &l->tags[0] || v->value.len != 5 || memcmp(v->value.p, "DKIM1", 5) != 0))
		return error_set(err, SIGNET_ERR_KEY, SPEC_KEY, "v= must be DKIM1 and come first");
	if (out->info.type == 0)
		return coded(&out->why, SIGNET_KEYREC_UNKNOWN_K,
			     error_set(err, SIGNET_ERR_KEY, SPEC_KEY, "unknown key type k=%s",
				       out->info.k));
	const struct tag *p = tag_list_find(l, "p");
	if (p == NULL)
		return error_set(err, SIGNET_ERR_SYNTAX, SPEC_KEY, "missing p=");
	out->p = p->value;
	if (out->info.revoked)
		return coded(&out->why, SIGNET_KEYREC_REVOKED,
			     error_set(err, SIGNET_ERR_KEY, SPEC_KEY, "key revoked"));
	/* base64 skips FWS, so spaces inside p= are fine (RFC 6376 3.6.1 key-p-tag). */
	struct signet_error b64err;
	if (base64_decode(p->value, out->key, sizeof out->key, &out->keylen, &b64err) != SIGNET_OK)
		return error_set(err, SIGNET_ERR_SYNTAX, SPEC_KEY, "bad base64 in p= (%s)",
				 b64err.msg);
	/* DKIM-ALG-03 (RFC 8463 4.2): the raw 32-byte key, no ASN.1. */
	if (out->info.type == SIGNET_KEY_ED25519 && out->keylen != 32)
		return error_set(err, SIGNET_ERR_KEY, "RFC 8463 4.2",
				 "ed25519 key must be 32 bytes");
	return SIGNET_OK;
}

enum signet_status keyrec_decode(const uint8_t *txt, size_t len, struct keyrec *out,
				 struct signet_error *err)
{
	struct tag_list tags;
	memset(out, 0, sizeof *out);
	out->info.sha256_allowed = true;
	out->info.email_allowed = true;
	/* DKIM-KEY-16 (RFC 6376 8.8): bound what we even look at. */
	if (len > SIGNET_MAX_KEY_RECORD)
		return error_set(err, SIGNET_ERR_LIMIT, SPEC_KEY,
				 "key record too large (%zu bytes, SIGNET_MAX_KEY_RECORD is %d)",
				 len, SIGNET_MAX_KEY_RECORD);
	SIGNET_TRY(paste_mistakes(txt, len, &out->why, err));
	SIGNET_TRY(tag_list_parse(txt, len, &tags, err));
	fill_info(&tags, &out->info);
	return check_record(&tags, out, err);
}

enum signet_status signet_keyrec_parse(const uint8_t *txt, size_t len,
				       struct signet_keyrec_info *info, struct signet_error *err)
{
	struct keyrec rec;
	struct pubkey *pk = NULL;
	if ((txt == NULL && len > 0) || info == NULL)
		return error_set(err, SIGNET_ERR_INVAL, NULL, "NULL argument");
	enum signet_status st = keyrec_decode(txt, len, &rec, err);
	if (st == SIGNET_OK) {
		st = crypto_pubkey_parse(rec.info.type, rec.key, rec.keylen, &pk, &rec.info.bits,
					 err);
		crypto_pubkey_free(pk);
	}
	*info = rec.info;
	return st;
}

enum signet_status signet_keyrec_matches(const uint8_t *txt, size_t len,
					 const struct signet_key *key, bool *match,
					 struct signet_error *err)
{
	struct keyrec rec;
	struct pubkey *pk = NULL;
	unsigned bits = 0;
	if ((txt == NULL && len > 0) || key == NULL || match == NULL)
		return error_set(err, SIGNET_ERR_INVAL, NULL, "NULL argument");
	*match = false;
	SIGNET_TRY(keyrec_decode(txt, len, &rec, err));
	SIGNET_TRY(crypto_pubkey_parse(rec.info.type, rec.key, rec.keylen, &pk, &bits, err));
	*match = crypto_pubkey_matches(pk, key);
	crypto_pubkey_free(pk);
	return SIGNET_OK;
}

/* ---- a whole answer, parsed (struct signet_keyset, verifier.h) ---- */

static void keyset_free(struct signet_keyset *ks)
{
	crypto_pubkey_free(ks->pk);
	free(ks);
}

/* One record: its info and key, or the reason it is unusable (in kerr). */
static enum signet_status keyset_record(struct keyrec *rec, const struct signet_txt *r,
					struct pubkey **pk, struct signet_error *kerr)
{
	unsigned bits = 0;
	enum signet_status st = keyrec_decode(r->p, r->len, rec, kerr);
	if (st == SIGNET_OK)
		st = crypto_pubkey_parse(rec->info.type, rec->key, rec->keylen, pk, &bits, kerr);
	rec->info.bits = bits;
	return st;
}

enum signet_status keyrec_keyset_build(const struct signet_txt *records, size_t n,
				       bool crypto_is_problem, struct signet_keyset **out,
				       struct signet_error *err)
{
	*out = NULL;
	if (records == NULL && n > 0)
		return error_set(err, SIGNET_ERR_INVAL, NULL, "NULL records");
	struct signet_keyset *ks = calloc(1, sizeof *ks);
	struct keyrec *rec = malloc(sizeof *rec); /* 4 KiB of decoded p=: not on the stack */
	if (ks == NULL || rec == NULL) {
		free(ks);
		free(rec);
		return error_set(err, SIGNET_ERR_NOMEM, NULL, "out of memory");
	}
	ks->refs = 1;
	ks->nrecords = n;
	for (size_t k = 0; k < n; k++) {
		struct signet_error kerr = {0};
		enum signet_status st = keyset_record(rec, &records[k], &ks->pk, &kerr);
		if (st == SIGNET_ERR_NOMEM || (st == SIGNET_ERR_CRYPTO && !crypto_is_problem)) {
			free(rec);
			keyset_free(ks);
			return error_set(err, st, kerr.spec, "%s", kerr.msg);
		}
		if (st == SIGNET_OK) {
			ks->info = rec->info; /* DKIM-KEY-02: the first usable record wins */
			break;
		}
		if (ks->problem[0] == '\0') /* keep the first record's problem */
			snprintf(ks->problem, sizeof ks->problem, "%s", kerr.msg);
	}
	free(rec);
	if (n == 0)
		snprintf(ks->problem, sizeof ks->problem, "no key record");
	*out = ks;
	return SIGNET_OK;
}

enum signet_status signet_keyset_parse(const struct signet_txt *records, size_t n,
				       struct signet_keyset **out, struct signet_error *err)
{
	if (out == NULL)
		return error_set(err, SIGNET_ERR_INVAL, NULL, "NULL argument");
	return keyrec_keyset_build(records, n, false, out, err);
}

struct signet_keyset *signet_keyset_ref(struct signet_keyset *ks)
{
	if (ks != NULL)
		ks->refs++;
	return ks;
}

void signet_keyset_unref(struct signet_keyset *ks)
{
	if (ks != NULL && --ks->refs == 0)
		keyset_free(ks);
}

/* ---- checking a published record (signet_keyrec_check) ---- */

static void finding(struct signet_keyrec_report *r, enum signet_keyrec_code code,
		    enum signet_keyrec_severity sev, const char *tag, const char *spec,
		    const char *fix, const char *fmt, ...) __attribute__((format(printf, 7, 8)));

static void finding(struct signet_keyrec_report *r, enum signet_keyrec_code code,
		    enum signet_keyrec_severity sev, const char *tag, const char *spec,
		    const char *fix, const char *fmt, ...)
{
	if (r->n >= SIGNET_KEYREC_MAX_FINDINGS)
		return; /* not reached: each code is added once */
	struct signet_keyrec_finding *f = &r->f[r->n++];
	*f = (struct signet_keyrec_finding){code, sev, tag, spec, fix, {0}};
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(f->msg, sizeof f->msg, fmt, ap);
	va_end(ap);
}

/* DKIM-KEY-12: which quote mistake, for a record the parser refused for
 * its quotes. */
static void quote_finding(const uint8_t *txt, size_t len, struct signet_keyrec_report *r)
{
	struct signet_span t = span_trim_fws((struct signet_span){txt, len});
	if (memmem(txt, len, "\" \"", 3) != NULL || memmem(txt, len, "\"\"", 2) != NULL)
		finding(r, SIGNET_KEYREC_QUOTES, SIGNET_KEYREC_PROBLEM, NULL, SPEC_KEY,
			"enter the bare value (no quotes); if your DNS host wants strings, give "
			"it the zone-file form from 'signet keygen'",
			"the value contains \"...\" \"...\" with the quotes stored as text: the "
			"zone-file form was pasted into a field that takes the bare value");
	else if (t.len >= 2 && t.p[0] == '"' && t.p[t.len - 1] == '"')
		finding(r, SIGNET_KEYREC_QUOTES, SIGNET_KEYREC_PROBLEM, NULL, SPEC_KEY,
			"enter the value without the surrounding quotes",
			"the value is surrounded by double quotes, which are stored as text");
	else
		finding(r, SIGNET_KEYREC_QUOTES, SIGNET_KEYREC_PROBLEM, NULL, SPEC_KEY,
			"remove the quotes from the value",
			"the value contains double quotes (\"), stored as text");
}

/* DKIM-KEY-12: a backslash is zone-file escaping (\; \" \DDD) stored as
 * text. A problem when the parser refused the record, else a warning (it
 * sits where it does no harm, e.g. in n=). */
static void backslash_finding(const uint8_t *txt, size_t len, bool usable,
			      struct signet_keyrec_report *r)
{
	if (memchr(txt, '\\', len) == NULL)
		return;
	finding(r, SIGNET_KEYREC_BACKSLASH, usable ? SIGNET_KEYREC_WARNING : SIGNET_KEYREC_PROBLEM,
		NULL, SPEC_KEY,
		"remove the backslashes: \\; is zone-file escaping, not part of the value",
		"the value contains a backslash (e.g. \\;), stored as text");
}

/* The parser's reason, with the section it cites. */
static void unusable(struct signet_keyrec_report *r, const char *tag,
		     const struct signet_error *kerr)
{
	finding(r, SIGNET_KEYREC_UNUSABLE, SIGNET_KEYREC_PROBLEM, tag, kerr->spec,
		"publish the record 'signet keygen' prints",
		"not a valid DKIM key record: %s%s%s%s", kerr->msg, kerr->spec ? " (" : "",
		kerr->spec ? kerr->spec : "", kerr->spec ? ")" : "");
}

/* A record keyrec_decode refused, with the finding that names why. */
static void refused(const struct keyrec *rec, const struct signet_error *kerr,
		    struct signet_keyrec_report *r)
{
	switch (rec->why) {
	case SIGNET_KEYREC_QUOTES:
	case SIGNET_KEYREC_BACKSLASH: return; /* quote_finding/backslash_finding said it */
	case SIGNET_KEYREC_REVOKED:
		finding(r, SIGNET_KEYREC_REVOKED, SIGNET_KEYREC_PROBLEM, "p", SPEC_KEY,
			"publish the record of a current key",
			"the key is revoked (empty p=, RFC 6376 3.6.1)");
		return;
	case SIGNET_KEYREC_UNKNOWN_K:
		finding(r, SIGNET_KEYREC_UNKNOWN_K, SIGNET_KEYREC_PROBLEM, "k", SPEC_KEY,
			"use k=rsa or k=ed25519", "unknown key type k=%s", rec->info.k);
		return;
	default: unusable(r, NULL, kerr);
	}
}

/* DKIM-KEY-14 (RFC 8301 3.2): verifiers refuse RSA keys under 1024 bits;
 * signers SHOULD use at least 2048. */
static void size_findings(const struct signet_keyrec_info *info, struct signet_keyrec_report *r)
{
	if (info->type == SIGNET_KEY_RSA && info->bits < SIGNET_KEYREC_GOOD_RSA_BITS)
		finding(r, SIGNET_KEYREC_RSA_SMALL, SIGNET_KEYREC_WARNING, "p", "RFC 8301 3.2",
			"make a 2048-bit key (signet keygen -b 2048) and publish it under a new "
			"selector",
			"the RSA key has %u bits; signers should use at least %d (RFC 8301 3.2)",
			info->bits, SIGNET_KEYREC_GOOD_RSA_BITS);
}

/* What the tags of a usable record say (DKIM-KEY-06, -07, -08). */
static void tag_findings(const struct signet_keyrec_info *info, struct signet_keyrec_report *r)
{
	if (!info->sha256_allowed)
		finding(r, SIGNET_KEYREC_NO_SHA256, SIGNET_KEYREC_PROBLEM, "h", "RFC 8301 3.1",
			"remove h= or make it h=sha256",
			"h= does not allow sha256, so no rsa-sha256 or ed25519-sha256 signature "
			"can pass (RFC 8301 3.1)");
	if (!info->email_allowed)
		finding(r, SIGNET_KEYREC_NO_EMAIL, SIGNET_KEYREC_PROBLEM, "s", SPEC_KEY,
			"remove s= or make it s=email", "s= does not allow email (RFC 6376 3.6.1)");
	if (info->testing)
		finding(r, SIGNET_KEYREC_TESTING, SIGNET_KEYREC_WARNING, "t", SPEC_KEY,
			"remove t=y from the record once testing is done",
			"t=y (testing): verifiers may treat the signed mail as unsigned (RFC 6376 "
			"3.6.1)");
	if (info->strict)
		finding(r, SIGNET_KEYREC_STRICT, SIGNET_KEYREC_INFO, "t", SPEC_KEY, NULL,
			"t=s: the i= domain of signatures must be exactly d=");
}

/* White space inside p= is legal (RFC 6376 3.6.1 key-p-tag allows FWS)
 * but is usually a paste error; its offset goes to r->at. */
static void p_space_finding(const uint8_t *txt, struct signet_span p,
			    struct signet_keyrec_report *r)
{
	for (size_t i = 1; i + 1 < p.len; i++) {
		if (is_wsp(p.p[i]) || p.p[i] == '\r' || p.p[i] == '\n') {
			r->at = (size_t)(p.p + i - txt);
			finding(r, SIGNET_KEYREC_P_SPACE, SIGNET_KEYREC_WARNING, "p", SPEC_KEY,
				"remove the white space from p=",
				"p= contains white space at octet %zu: allowed by RFC 6376 3.6.1 "
				"but usually a paste error",
				r->at);
			return;
		}
	}
}

static void key_findings(const struct signet_keyrec_info *info, const struct pubkey *pk,
			 const struct signet_key *key, struct signet_keyrec_report *r)
{
	if (info->type == SIGNET_KEY_ED25519)
		finding(r, SIGNET_KEYREC_KEY, SIGNET_KEYREC_INFO, "k", NULL, NULL, "k=ed25519");
	else
		finding(r, SIGNET_KEYREC_KEY, SIGNET_KEYREC_INFO, "k", NULL, NULL, "k=%s, %u bits",
			info->k, info->bits);
	if (key == NULL)
		return;
	if (crypto_pubkey_matches(pk, key))
		finding(r, SIGNET_KEYREC_MATCH, SIGNET_KEYREC_INFO, "p", NULL, NULL,
			"the public half of the private key");
	else
		finding(r, SIGNET_KEYREC_MISMATCH, SIGNET_KEYREC_PROBLEM, "p", NULL,
			"publish the record made from the private key",
			"the published key is not the public half of the private key");
}

/* The key in p=, judged: NULL in *pk when refused (a finding says why). */
static enum signet_status load_key(struct keyrec *rec, struct pubkey **pk,
				   struct signet_keyrec_report *r, struct signet_error *err)
{
	struct signet_error kerr = {0};
	enum signet_status st = crypto_pubkey_parse(rec->info.type, rec->key, rec->keylen, pk,
						    &rec->info.bits, &kerr);
	if (st == SIGNET_ERR_NOMEM)
		return error_set(err, st, kerr.spec, "%s", kerr.msg);
	if (st == SIGNET_OK)
		return SIGNET_OK;
	if (rec->info.type == SIGNET_KEY_RSA && rec->info.bits != 0 &&
	    rec->info.bits < SIGNET_MIN_RSA_BITS)
		finding(r, SIGNET_KEYREC_RSA_TOO_SMALL, SIGNET_KEYREC_PROBLEM, "p", "RFC 8301 3.2",
			"make a 2048-bit key (signet keygen -b 2048) and publish it under a new "
			"selector",
			"the RSA key has %u bits; verifiers refuse keys under %d (RFC 8301 3.2)",
			rec->info.bits, SIGNET_MIN_RSA_BITS);
	else
		unusable(r, "p", &kerr);
	return SIGNET_OK;
}

/* Findings in the order of the codes, so front ends print them alike. */
static int by_code(const void *a, const void *b)
{
	const struct signet_keyrec_finding *x = a, *y = b;
	return (x->code > y->code) - (x->code < y->code);
}

enum signet_status signet_keyrec_check(const uint8_t *txt, size_t len, const struct signet_key *key,
				       struct signet_keyrec_report *out, struct signet_error *err)
{
	if ((txt == NULL && len > 0) || out == NULL)
		return error_set(err, SIGNET_ERR_INVAL, NULL, "NULL argument");
	memset(out, 0, sizeof *out);
	struct keyrec *rec = malloc(sizeof *rec); /* 4 KiB of decoded p=: not on the stack */
	if (rec == NULL)
		return error_set(err, SIGNET_ERR_NOMEM, NULL, "out of memory");
	struct signet_error kerr = {0};
	struct pubkey *pk = NULL;
	enum signet_status st = SIGNET_OK;
	bool usable = keyrec_decode(txt, len, rec, &kerr) == SIGNET_OK;
	if (rec->why == SIGNET_KEYREC_QUOTES)
		quote_finding(txt, len, out);
	if (!usable)
		refused(rec, &kerr, out);
	else
		st = load_key(rec, &pk, out, err);
	backslash_finding(txt, len, usable, out);
	if (st == SIGNET_OK && pk != NULL) {
		size_findings(&rec->info, out);
		tag_findings(&rec->info, out);
		p_space_finding(txt, rec->p, out);
		key_findings(&rec->info, pk, key, out);
	}
	out->info = rec->info;
	qsort(out->f, out->n, sizeof out->f[0], by_code);
	crypto_pubkey_free(pk);
	free(rec);
	return st;
}

enum signet_keyrec_severity signet_keyrec_worst(const struct signet_keyrec_report *r)
{
	enum signet_keyrec_severity w = SIGNET_KEYREC_INFO;
	for (size_t k = 0; r != NULL && k < r->n; k++)
		if (r->f[k].severity > w)
			w = r->f[k].severity;
	return w;
}

const char *signet_keyrec_severity_name(enum signet_keyrec_severity s)
{
	switch (s) {
	case SIGNET_KEYREC_INFO: return "info";
	case SIGNET_KEYREC_WARNING: return "warning";
	case SIGNET_KEYREC_PROBLEM: return "problem";
	}
	return "problem";
}
