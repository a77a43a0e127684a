/* keyrec.c: DKIM key records (RFC 6376 3.6.1, RFC 8463 4.2): the tags
 * decoded and checked, with reasons that name the usual paste mistakes
 * (for dnscheck). Key bytes are handed to crypto.c; this file does not
 * judge a record against a signature (h=, s=, t=s are the verifier's).
 * It also builds the parsed form of a whole answer (struct signet_keyset,
 * verifier.h) that the verifier uses and a caller may keep. */
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

/* DKIM-KEY-12: what people paste from zone files and web forms. Checked
 * before the grammar, whose offset-based message would say less. */
static enum signet_status paste_mistakes(const uint8_t *txt, size_t len, struct signet_error *err)
{
	struct signet_span all = {txt, len};
	if (quoted(span_trim_fws(all)))
		return error_set(
		    err, SIGNET_ERR_SYNTAX, SPEC_KEY,
		    "record contains quote characters (paste the value without quotes)");
	if (has_byte_pair(txt, len, '\\', ';'))
		return error_set(err, SIGNET_ERR_SYNTAX, SPEC_KEY,
				 "record contains backslash escapes");
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
static enum signet_status check_quotes(const struct tag_list *l, struct signet_error *err)
{
	static const char *const names[] = {"v", "k", "h", "s", "t", "p"};
	for (size_t k = 0; k < sizeof names / sizeof names[0]; k++) {
		const struct tag *t = tag_list_find(l, names[k]);
		if (t != NULL && memchr(t->value.p, '"', t->value.len) != NULL)
			return error_set(err, SIGNET_ERR_SYNTAX, SPEC_KEY,
					 "record contains quote characters (paste the value "
					 "without quotes)");
	}
	return SIGNET_OK;
}

/* v=, k= and p= in the order that decides the reason. */
static enum signet_status check_record(const struct tag_list *l, struct keyrec *out,
				       struct signet_error *err)
{
	const struct tag *v = tag_list_find(l, "v");
	SIGNET_TRY(check_quotes(l, err));
	/* DKIM-KEY-03: optional, but first and exactly "DKIM1" when present. */
	if (v != NULL &&
	    (v != &l->tags[0] || v->value.len != 5 || memcmp(v->value.p, "DKIM1", 5) != 0))
		return error_set(err, SIGNET_ERR_KEY, SPEC_KEY, "v= must be DKIM1 and come first");
	if (out->info.type == 0)
		return error_set(err, SIGNET_ERR_KEY, SPEC_KEY, "unknown key type k=%s",
				 out->info.k);
	const struct tag *p = tag_list_find(l, "p");
	if (p == NULL)
		return error_set(err, SIGNET_ERR_SYNTAX, SPEC_KEY, "missing p=");
	if (out->info.revoked)
		return error_set(err, SIGNET_ERR_KEY, SPEC_KEY, "key revoked");
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
	SIGNET_TRY(paste_mistakes(txt, len, err));
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
		st = pubkey_parse(rec.info.type, rec.key, rec.keylen, &pk, &rec.info.bits, err);
		pubkey_free(pk);
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
	SIGNET_TRY(pubkey_parse(rec.info.type, rec.key, rec.keylen, &pk, &bits, err));
	*match = pubkey_matches(pk, key);
	pubkey_free(pk);
	return SIGNET_OK;
}

/* ---- a whole answer, parsed (struct signet_keyset, verifier.h) ---- */

static void keyset_free(struct signet_keyset *ks)
{
	pubkey_free(ks->pk);
	free(ks);
}

/* One record: its info and key, or the reason it is unusable (in kerr). */
static enum signet_status keyset_record(struct keyrec *rec, const struct signet_txt *r,
					struct pubkey **pk, struct signet_error *kerr)
{
	unsigned bits = 0;
	enum signet_status st = keyrec_decode(r->p, r->len, rec, kerr);
	if (st == SIGNET_OK)
		st = pubkey_parse(rec->info.type, rec->key, rec->keylen, pk, &bits, kerr);
	rec->info.bits = bits;
	return st;
}

enum signet_status keyset_build(const struct signet_txt *records, size_t n,
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
	return keyset_build(records, n, false, out, err);
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
