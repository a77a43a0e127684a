/* verifier.c: the streaming DKIM verifier (verifier.h, RFC 6376 6). At end
 * of headers every DKIM-Signature is parsed and its key query prepared;
 * the body streams through the shared body hashes; finish checks, for each
 * signature in the order of RFC 6376 6.1 (DKIM-VER-09): tags, key, body
 * hash, header signature. The first failure decides the reason. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <signet/psl.h>
#include <signet/verifier.h>

#include "base64.h"
#include "bodyhash.h"
#include "canon.h"
#include "crypto.h"
#include "error.h"
#include "explain.h"
#include "headers.h"
#include "idna.h"
#include "keyrec.h"
#include "sig.h"

#define QNAME_MAX 600 /* "<s>._domainkey.<d>": two domain names and the label */

enum verifier_state { V_HEADERS, V_BODY, V_DONE };

struct vquery {
	char name[QNAME_MAX];
	bool handed_out, answered;
	enum signet_dns_status st;
	size_t nrecords;
	struct signet_keyset *keys; /* SIGNET_DNS_OK: the answer parsed (a reference), or
				     * NULL when that ran out of memory */
};

struct vsig {
	size_t field;        /* index in the header store */
	struct dkim_sig sig; /* spans into the header store */
	bool decided;        /* result final before the key is needed */
	size_t query;
	size_t bodyhash;
	struct signet_buf input; /* explain: header hash input */
	struct body_explain *ex; /* explain: where the body changed; NULL when off */
	struct signet_sig_result r;
	char *strings;                /* owns the strings r.d, r.s, ... point to */
	struct signet_sig_explain *x; /* explain: steps and findings; NULL when off */
};

struct signet_verifier {
	struct signet_verify_options opts;
	enum verifier_state state;
	struct header_store hs;
	struct vsig *sigs[SIGNET_MAX_SIGNATURES];
	size_t nsigs, unchecked;
	struct vquery queries[SIGNET_MAX_SIGNATURES];
	size_t nqueries;
	struct bodyhash_set bodies;
};

enum signet_status signet_verifier_new(const struct signet_verify_options *opts,
				       struct signet_verifier **out, struct signet_error *err)
{
	struct signet_verifier *v = calloc(1, sizeof *v);
	if (v == NULL)
		return error_set(err, SIGNET_ERR_NOMEM, NULL, "out of memory");
	if (opts != NULL)
		v->opts = *opts;
	header_store_init(&v->hs);
	bodyhash_set_init(&v->bodies);
	*out = v;
	return SIGNET_OK;
}

void signet_verifier_free(struct signet_verifier *v)
{
	if (v == NULL)
		return;
	for (size_t k = 0; k < v->nsigs; k++) {
		buf_free(&v->sigs[k]->input);
		explain_free(v->sigs[k]->ex);
		free(v->sigs[k]->strings);
		free(v->sigs[k]->x);
		free(v->sigs[k]);
	}
	for (size_t k = 0; k < v->nqueries; k++)
		signet_keyset_unref(v->queries[k].keys);
	header_store_free(&v->hs);
	bodyhash_set_free(&v->bodies);
	free(v);
}

enum signet_status signet_verifier_header(struct signet_verifier *v, const uint8_t *name,
					  size_t nlen, const uint8_t *value, size_t vlen,
					  struct signet_error *err)
{
	if (v->state != V_HEADERS)
		return error_set(err, SIGNET_ERR_STATE, NULL, "header after end of headers");
	enum signet_status st = header_store_add(&v->hs, name, nlen, value, vlen, err);
	/* Over a limit the field is dropped and every signature will say so. */
	return st == SIGNET_ERR_LIMIT ? SIGNET_OK : st;
}

/* A string that did not fit cap (vsnprintf said so) ends in "..." instead
 * of being cut silently; the cut never splits a UTF-8 sequence. */
static void mark_cut(char *out, size_t cap)
{
	size_t k = cap - 4;
	while (k > 0 && ((uint8_t)out[k] & 0xc0) == 0x80)
		k--;
	memcpy(out + k, "...", 4);
}

static void vformat(char *out, size_t cap, const char *fmt, va_list ap)
{
	int n = vsnprintf(out, cap, fmt, ap);
	if (n > 0 && (size_t)n >= cap)
		mark_cut(out, cap);
}

/* Input quoted in a reason or step: at most SIGNET_QUOTE_MAX bytes of s,
 * and a longer s cut (not inside a UTF-8 sequence) to end in "...". */
struct quote {
	char s[SIGNET_QUOTE_MAX + 1];
};

static const char *quote(struct quote *q, const char *s)
{
	size_t n = strlen(s);
	if (n <= SIGNET_QUOTE_MAX)
		return s;
	memcpy(q->s, s, SIGNET_QUOTE_MAX + 1);
	mark_cut(q->s, sizeof q->s);
	return q->s;
}

static void step(struct vsig *vs, const char *name, bool ok, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

/* Explain only: one step of the evaluation. */
static void step(struct vsig *vs, const char *name, bool ok, const char *fmt, ...)
{
	struct signet_sig_explain *x = vs->x;
	if (x == NULL || x->nsteps == SIGNET_MAX_STEPS)
		return;
	struct signet_step *s = &x->steps[x->nsteps++];
	s->name = name;
	s->ok = ok;
	va_list ap;
	va_start(ap, fmt);
	vformat(s->detail, sizeof s->detail, fmt, ap);
	va_end(ap);
}

static void decide(struct vsig *vs, enum signet_result res, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void decide(struct vsig *vs, enum signet_result res, const char *fmt, ...)
{
	va_list ap;
	vs->r.result = res;
	va_start(ap, fmt);
	vformat(vs->r.reason, sizeof vs->r.reason, fmt, ap);
	va_end(ap);
	vs->decided = true;
}

static void add_note(struct signet_sig_result *r, const char *note)
{
	size_t len = strlen(r->notes); /* < sizeof r->notes: snprintf gets room for the NUL */
	int n = snprintf(r->notes + len, sizeof r->notes - len, "%s%s", len ? "; " : "", note);
	if (n > 0 && (size_t)n >= sizeof r->notes - len)
		mark_cut(r->notes, sizeof r->notes);
}

/* One tag value into the strings block: NUL-terminated, whole. Tag values
 * hold no NUL (VALCHAR, RFC 6376 3.2), so the copy reads back whole. */
static const char *put_string(char **at, struct signet_span v)
{
	char *s = *at;
	if (v.len > 0)
		memcpy(s, v.p, v.len);
	s[v.len] = '\0';
	*at += v.len + 1;
	return s;
}

/* The tag values of the result (struct signet_sig_result: whole, borrowed
 * until free), copied into one block the vsig owns. */
static enum signet_status fill_report(struct vsig *vs, struct signet_error *err)
{
	struct signet_sig_result *r = &vs->r;
	const struct dkim_sig *s = &vs->sig;
	const struct tag *bh_tag = tag_list_find(&s->tags, "bh");
	struct signet_span bh = bh_tag != NULL ? bh_tag->value : (struct signet_span){NULL, 0};
	/* Each span lies inside the field value, so the sum cannot overflow. */
	size_t need = s->d.len + s->s.len + s->i.len + s->a.len + s->b_raw.len + bh.len + 6;
	char *at = vs->strings = malloc(need);
	if (at == NULL)
		return error_set(err, SIGNET_ERR_NOMEM, NULL, "out of memory");
	r->d = put_string(&at, s->d);
	r->s = put_string(&at, s->s);
	r->i = put_string(&at, s->i);
	r->a = put_string(&at, s->a);
	r->bh = put_string(&at, bh);
	/* b= with all whitespace removed, for header.b (RFC 6008). */
	char *b = at;
	for (size_t k = 0; k < s->b_raw.len; k++)
		if (!is_wsp(s->b_raw.p[k]) && s->b_raw.p[k] != '\r' && s->b_raw.p[k] != '\n')
			*at++ = (char)s->b_raw.p[k];
	*at = '\0';
	r->b = b;
	r->alg = s->alg;
	r->hdr_canon = s->hdr_canon;
	r->body_canon = s->body_canon;
	r->has_l = s->has_l;
	r->l = s->l;
	return SIGNET_OK;
}

static void format_time(uint64_t t, char *out, size_t cap)
{
	time_t tt = (time_t)t;
	struct tm tm;
	if (t > (uint64_t)253402300799ULL || gmtime_r(&tt, &tm) == NULL ||
	    strftime(out, cap, "%Y-%m-%d %H:%M:%S UTC", &tm) == 0)
		snprintf(out, cap, "%llu", (unsigned long long)t);
}

/* RFC 6376 6.1.1 checks that need no key: algorithm and times. */
static void check_without_key(struct signet_verifier *v, struct vsig *vs)
{
	const struct dkim_sig *s = &vs->sig;
	char when[64];
	if (v->opts.now == 0)
		return;
	if (s->has_x && v->opts.now > s->x) {
		format_time(s->x, when, sizeof when);
		decide(vs, SIGNET_RESULT_PERMERROR, "signature expired at %s", when);
		return;
	}
	/* DKIM-VER-07: t= more than SIGNET_FUTURE_SKEW seconds ahead. */
	if (s->has_t && s->t > v->opts.now && s->t - v->opts.now > SIGNET_FUTURE_SKEW) {
		format_time(s->t, when, sizeof when);
		decide(vs, SIGNET_RESULT_PERMERROR, "timestamp in the future (t= %s)", when);
	}
}

static enum signet_status add_query(struct signet_verifier *v, struct vsig *vs,
				    struct signet_error *err)
{
	char name[QNAME_MAX], sel[IDNA_MAX_NAME], dom[IDNA_MAX_NAME];
	const struct dkim_sig *s = &vs->sig;
	struct signet_error ierr = {0};
	/* DKIM-EAI-02 (RFC 8616 5): the query uses A-labels. */
	if (idna_to_ascii(s->s, sel, sizeof sel, &ierr) != SIGNET_OK ||
	    idna_to_ascii(s->d, dom, sizeof dom, &ierr) != SIGNET_OK) {
		decide(vs, SIGNET_RESULT_PERMERROR, "bad s= or d=: %s", ierr.msg);
		return SIGNET_OK;
	}
	size_t sl = strlen(sel), dl = strlen(dom);
	static const char mid[] = "._domainkey.";
	if (sl + sizeof mid - 1 + dl + 1 > sizeof name) {
		decide(vs, SIGNET_RESULT_PERMERROR, "s= and d= make a DNS name that is too long");
		return SIGNET_OK;
	}
	/* RFC 6376 3.6.2.1: <selector>._domainkey.<domain> */
	memcpy(name, sel, sl);
	memcpy(name + sl, mid, sizeof mid - 1);
	memcpy(name + sl + sizeof mid - 1, dom, dl + 1);
	for (size_t k = 0; k < v->nqueries; k++) {
		if (strcasecmp(v->queries[k].name, name) == 0) {
			vs->query = k; /* DKIM-VER-12: one lookup per distinct key */
			return SIGNET_OK;
		}
	}
	if (v->nqueries == SIGNET_MAX_SIGNATURES)
		return error_set(err, SIGNET_ERR_LIMIT, NULL, "too many key queries");
	struct vquery *q = &v->queries[v->nqueries];
	memcpy(q->name, name, strlen(name) + 1);
	vs->query = v->nqueries++;
	return SIGNET_OK;
}

static enum signet_status prepare_sig(struct signet_verifier *v, size_t field,
				      struct signet_error *err)
{
	struct vsig *vs = calloc(1, sizeof *vs);
	if (vs == NULL)
		return error_set(err, SIGNET_ERR_NOMEM, NULL, "out of memory");
	v->sigs[v->nsigs++] = vs;
	vs->field = field;
	buf_init(&vs->input, SIGNET_MAX_HEADER_BYTES * 2);
	if (v->opts.explain && (vs->x = calloc(1, sizeof *vs->x)) == NULL)
		return error_set(err, SIGNET_ERR_NOMEM, NULL, "out of memory");
	struct signet_span value = header_store_value(&v->hs, field);
	struct signet_error perr = {0};
	enum signet_status st = sig_parse(value.p, value.len, &vs->sig, &perr);
	SIGNET_TRY(fill_report(vs, err));
	if (st == SIGNET_ERR_NOMEM)
		return error_set(err, st, NULL, "out of memory");
	if (st != SIGNET_OK) {
		/* DKIM-VER-09: tag syntax and required tags come first. */
		decide(vs, SIGNET_RESULT_PERMERROR, "%s", perr.msg);
		step(vs, "tags", false, "%s", perr.msg);
		return SIGNET_OK;
	}
	struct quote qa, qd, qs;
	step(vs, "tags", true,
	     "v=1 a=%s c=%s/%s d=%s s=%s, %zu header names in h=", quote(&qa, vs->r.a),
	     signet_canon_name(vs->sig.hdr_canon), signet_canon_name(vs->sig.body_canon),
	     quote(&qd, vs->r.d), quote(&qs, vs->r.s), vs->sig.nh);
	/* DKIM-VER-17 (RFC 6376 6.1.1): d= "com" or "co.uk" is implausible. The
	 * signature is still verified; the note keeps DMARC from aligning on it. */
	if (v->opts.psl != NULL &&
	    signet_psl_is_suffix(v->opts.psl, (const char *)vs->sig.d.p, vs->sig.d.len)) {
		vs->r.public_suffix = true;
		add_note(&vs->r, SIGNET_PSL_NOTE);
	}
	if (v->hs.over_limit) {
		decide(vs, SIGNET_RESULT_PERMERROR, "message exceeds a header limit: %s",
		       v->hs.over_limit_reason);
		return SIGNET_OK;
	}
	check_without_key(v, vs);
	if (vs->decided)
		return SIGNET_OK;
	SIGNET_TRY(add_query(v, vs, err));
	if (vs->decided)
		return SIGNET_OK;
	uint64_t limit = vs->sig.has_l ? vs->sig.l : UINT64_MAX;
	SIGNET_TRY(bodyhash_set_add(&v->bodies, vs->sig.body_canon, limit, &vs->bodyhash, err));
	if (!v->opts.explain || vs->sig.bh_len != SIGNET_SHA256_LEN)
		return SIGNET_OK;
	return explain_new(vs->sig.body_canon, limit, vs->sig.bh, &vs->ex, err);
}

enum signet_status signet_verifier_end_of_headers(struct signet_verifier *v,
						  struct signet_error *err)
{
	if (v->state != V_HEADERS)
		return error_set(err, SIGNET_ERR_STATE, NULL, "end of headers given twice");
	struct signet_span dkim = span_from_str("DKIM-Signature");
	/* DKIM-VER-01: top to bottom, each signature on its own. */
	for (size_t k = 0; k < v->hs.count; k++) {
		if (!v->hs.fields[k].has_colon ||
		    !span_eq_nocase_span(header_store_name(&v->hs, k), dkim))
			continue;
		if (v->nsigs == SIGNET_MAX_SIGNATURES) {
			v->unchecked++; /* DKIM-VER-04: reported, not verified */
			continue;
		}
		SIGNET_TRY(prepare_sig(v, k, err));
	}
	v->state = V_BODY;
	return SIGNET_OK;
}

bool signet_verifier_next_query(struct signet_verifier *v, struct signet_query *q)
{
	for (size_t k = 0; k < v->nqueries; k++) {
		if (!v->queries[k].handed_out) {
			v->queries[k].handed_out = true;
			q->id = (unsigned)k;
			q->name = v->queries[k].name;
			return true;
		}
	}
	return false;
}

/* The query an answer is for, once. */
static enum signet_status answer_query(struct signet_verifier *v, unsigned id, struct vquery **q,
				       struct signet_error *err)
{
	if (id >= v->nqueries)
		return error_set(err, SIGNET_ERR_INVAL, NULL, "no query with id %u", id);
	*q = &v->queries[id];
	if ((*q)->answered)
		return error_set(err, SIGNET_ERR_STATE, NULL, "query %u answered twice", id);
	(*q)->answered = true;
	return SIGNET_OK;
}

enum signet_status signet_verifier_answer(struct signet_verifier *v, unsigned id,
					  enum signet_dns_status st,
					  const struct signet_txt *records, size_t n,
					  struct signet_error *err)
{
	struct vquery *q = NULL;
	SIGNET_TRY(answer_query(v, id, &q, err));
	q->st = st;
	if (st != SIGNET_DNS_OK)
		return SIGNET_OK;
	q->nrecords = n;
	/* The records decoded as signet_keyset_parse does, so both ways of
	 * answering judge them with the same code; an OpenSSL failure stays a
	 * problem of this message's record. */
	return keyrec_keyset_build(records, n, true, &q->keys, err);
}

enum signet_status signet_verifier_answer_key(struct signet_verifier *v, unsigned id,
					      struct signet_keyset *keys, struct signet_error *err)
{
	if (keys == NULL)
		return error_set(err, SIGNET_ERR_INVAL, NULL, "NULL key set");
	struct vquery *q = NULL;
	SIGNET_TRY(answer_query(v, id, &q, err));
	q->st = SIGNET_DNS_OK;
	q->nrecords = keys->nrecords;
	q->keys = signet_keyset_ref(keys);
	return SIGNET_OK;
}

enum signet_status signet_verifier_body(struct signet_verifier *v, const uint8_t *p, size_t len,
					struct signet_error *err)
{
	if (v->state != V_BODY)
		return error_set(err, SIGNET_ERR_STATE, NULL, "body before end of headers");
	SIGNET_TRY(bodyhash_set_update(&v->bodies, p, len, err));
	for (size_t k = 0; k < v->nsigs; k++)
		if (v->sigs[k]->ex != NULL)
			SIGNET_TRY(explain_update(v->sigs[k]->ex, p, len, err));
	return SIGNET_OK;
}

/* RFC 6376 6.1.2: the key record against the signature. */
static bool check_key(struct vsig *vs, const struct vquery *q)
{
	const struct dkim_sig *s = &vs->sig;
	struct quote qn, qa;
	const char *name = quote(&qn, q->name);
	if (!q->answered) {
		decide(vs, SIGNET_RESULT_TEMPERROR, "key lookup not answered (%s)", name);
	} else if (q->st == SIGNET_DNS_TEMPFAIL) {
		decide(vs, SIGNET_RESULT_TEMPERROR,
		       "key unavailable: DNS lookup of %s failed temporarily", name);
	} else if (q->st == SIGNET_DNS_NXDOMAIN || q->nrecords == 0) {
		decide(vs, SIGNET_RESULT_PERMERROR, "no key for signature (no TXT record at %s)",
		       name);
	} else if (q->keys == NULL || q->keys->pk == NULL) {
		decide(vs, SIGNET_RESULT_PERMERROR, "key record at %s unusable: %s", name,
		       q->keys != NULL ? q->keys->problem : "");
	}
	if (vs->decided) {
		step(vs, "key", false, "%s", vs->r.reason);
		return false;
	}
	const struct signet_keyrec_info *k = &q->keys->info;
	vs->r.key_bits = k->bits;
	/* RFC 8301 3.1, judged once the key is in hand (the order of RFC 6376
	 * 6.1.2 as dkimpy and Mail::DKIM apply it): a DNS failure for an
	 * rsa-sha1 signature stays temperror. */
	if (s->alg == SIGNET_ALG_RSA_SHA1) {
		decide(vs, SIGNET_RESULT_PERMERROR, "rsa-sha1 is not acceptable (RFC 8301)");
		step(vs, "key check", false, "%s", vs->r.reason);
		return false;
	}
	vs->r.testing = k->testing;
	step(vs, "key", true, "TXT at %s: k=%s, %u bits%s", name, k->k[0] ? k->k : "rsa", k->bits,
	     q->nrecords > 1 ? " (several records; the first usable one taken)" : "");
	bool rsa_alg = s->alg == SIGNET_ALG_RSA_SHA256;
	if ((k->type == SIGNET_KEY_RSA) != rsa_alg)
		decide(vs, SIGNET_RESULT_PERMERROR, "key type k=%s does not match a=%s",
		       k->k[0] ? k->k : "rsa", quote(&qa, vs->r.a));
	else if (!k->sha256_allowed)
		decide(vs, SIGNET_RESULT_PERMERROR, "key h= does not allow sha256");
	else if (!k->email_allowed)
		decide(vs, SIGNET_RESULT_PERMERROR, "key s= does not allow email");
	else if (k->strict && !span_eq_nocase_span(s->auid_domain, s->d))
		decide(vs, SIGNET_RESULT_PERMERROR,
		       "key t=s requires i= in d= exactly, not a subdomain");
	if (vs->decided) {
		step(vs, "key check", false, "%s", vs->r.reason);
		return false;
	}
	step(vs, "key check", true, "k=, h=, s= and t= flags accept this signature%s",
	     k->testing ? " (t=y: the domain is testing DKIM)" : "");
	if (q->nrecords > 1)
		add_note(&vs->r, "multiple key records");
	if (k->testing)
		add_note(&vs->r, "test mode");
	return true;
}

static bool check_body(struct signet_verifier *v, struct vsig *vs)
{
	const struct bodyhash *bh = v->bodies.items[vs->bodyhash];
	const struct dkim_sig *s = &vs->sig;
	vs->r.body_length = bh->cb.total;
	if (base64_encode_str(bh->digest, sizeof bh->digest, vs->r.bh_computed,
			      sizeof vs->r.bh_computed) != SIGNET_OK)
		vs->r.bh_computed[0] = '\0';
	if (s->has_l && s->l > bh->cb.total) {
		decide(vs, SIGNET_RESULT_FAIL, "body is shorter than l=%llu (%llu octets)",
		       (unsigned long long)s->l, (unsigned long long)bh->cb.total);
	} else if (s->bh_len != sizeof bh->digest || memcmp(s->bh, bh->digest, s->bh_len) != 0) {
		decide(vs, SIGNET_RESULT_FAIL, "body hash did not verify");
		if (vs->ex != NULL && vs->x != NULL)
			vs->x->body = vs->ex->r; /* explain: where the body changed */
	}
	struct quote qbh;
	step(vs, "body hash", !vs->decided, "bh=%s, computed %s over %llu canonical octets%s: %s",
	     quote(&qbh, vs->r.bh), vs->r.bh_computed,
	     (unsigned long long)(s->has_l && s->l < bh->cb.total ? s->l : bh->cb.total),
	     s->has_l ? " (l= limited)" : "", vs->decided ? "MISMATCH" : "match");
	return !vs->decided;
}

/* RFC 6376 3.7: selected fields, then this field with b= emptied, no CRLF. */
static enum signet_status header_input(struct signet_verifier *v, struct vsig *vs,
				       struct signet_buf *out)
{
	const struct dkim_sig *s = &vs->sig;
	SIGNET_TRY(headers_select(&v->hs, s->hnames, s->nh, s->hdr_canon, vs->field, out));
	struct signet_span value = header_store_value(&v->hs, vs->field);
	size_t pre = (size_t)(s->b_raw.p - value.p);
	size_t post = pre + s->b_raw.len;
	struct signet_buf stripped;
	buf_init(&stripped, SIGNET_MAX_HEADER_FIELD);
	enum signet_status st = buf_append(&stripped, value.p, pre);
	if (st == SIGNET_OK)
		st = buf_append(&stripped, value.p + post, value.len - post);
	if (st == SIGNET_OK) {
		struct signet_span sv = {stripped.data, stripped.len};
		st = canon_header(s->hdr_canon, header_store_raw_name(&v->hs, vs->field), sv, out);
	}
	buf_free(&stripped);
	if (st == SIGNET_OK)
		out->len -= 2; /* DKIM-SIG-13: no CRLF after the signature field */
	return st;
}

static enum signet_status check_signature(struct signet_verifier *v, struct vsig *vs,
					  const struct vquery *q, struct signet_error *err)
{
	uint8_t digest[SIGNET_SHA256_LEN];
	struct hash *h = NULL;
	struct signet_buf *in = &vs->input;
	enum signet_status st = header_input(v, vs, in);
	if (st == SIGNET_OK)
		st = crypto_hash_new(&h);
	if (st == SIGNET_OK)
		st = crypto_hash_update(h, in->data, in->len);
	if (st == SIGNET_OK)
		st = crypto_hash_final(h, digest);
	crypto_hash_free(h);
	if (st != SIGNET_OK)
		return error_set(err, st, NULL, "header hashing failed");
	step(vs, "header hash", true, "%zu octets of canonical header input (%zu names in h=)",
	     in->len, vs->sig.nh);
	if (vs->x != NULL) {
		vs->x->hash_input = in->data;
		vs->x->hash_input_len = in->len;
	} else {
		buf_free(in);
	}
	bool ok = false;
	SIGNET_TRY(crypto_pubkey_verify(q->keys->pk, digest, vs->sig.b, vs->sig.b_len, &ok, err));
	if (!ok)
		decide(vs, SIGNET_RESULT_FAIL, "signature did not verify");
	step(vs, "signature", ok,
	     ok ? "b= verified with the public key" : "b= does not verify with the public key");
	return SIGNET_OK;
}

/* RFC 6376 8.2: what the content after l= means, by policy. */
static void apply_l_policy(struct signet_verifier *v, struct vsig *vs)
{
	const struct bodyhash *bh = v->bodies.items[vs->bodyhash];
	if (!vs->sig.has_l || bh->cb.total <= vs->sig.l)
		return;
	unsigned long long extra = (unsigned long long)(bh->cb.total - vs->sig.l);
	if (v->opts.l_policy == SIGNET_L_POLICY_UNSIGNED) {
		decide(vs, SIGNET_RESULT_POLICY, "content after l= is unsigned (%llu octets)",
		       extra);
	} else {
		char note[96];
		snprintf(note, sizeof note, "%llu octets after l= are unsigned", extra);
		add_note(&vs->r, note);
	}
}

struct zctx {
	const struct header_store *hs;
	size_t skip; /* the DKIM-Signature itself */
};

/* The idx-th received field named name, top down (explain_z's callback). */
static bool received_field(void *ctx, const uint8_t *name, size_t nlen, size_t idx,
			   struct signet_span *value)
{
	const struct zctx *z = ctx;
	struct signet_span want = {name, nlen};
	for (size_t k = 0; k < z->hs->count; k++) {
		if (k == z->skip || !z->hs->fields[k].has_colon ||
		    !span_eq_nocase_span(header_store_name(z->hs, k), want))
			continue;
		if (idx-- == 0) {
			*value = header_store_value(z->hs, k);
			return true;
		}
	}
	return false;
}

static enum signet_status finish_sig(struct signet_verifier *v, struct vsig *vs,
				     struct signet_error *err)
{
	/* explain, z= (RFC 6376 3.5): which copied fields differ now. */
	if (vs->x != NULL && vs->sig.z.len > 0) {
		struct zctx z = {&v->hs, vs->field};
		explain_z(vs->sig.z, received_field, &z, vs->x);
	}
	if (vs->decided)
		return SIGNET_OK;
	const struct vquery *q = &v->queries[vs->query];
	if (!check_key(vs, q) || !check_body(v, vs))
		return SIGNET_OK;
	SIGNET_TRY(check_signature(v, vs, q, err));
	if (vs->decided)
		return SIGNET_OK;
	vs->r.result = SIGNET_RESULT_PASS;
	apply_l_policy(v, vs);
	/* DKIM-VER-14: a second From is an attack unless From was oversigned. */
	if (header_store_count(&v->hs, span_from_str("from")) > 1)
		add_note(&vs->r, "multiple From fields");
	return SIGNET_OK;
}

enum signet_status signet_verifier_finish(struct signet_verifier *v, struct signet_error *err)
{
	if (v->state != V_BODY)
		return error_set(err, SIGNET_ERR_STATE, NULL,
				 "finish before end of headers, or twice");
	SIGNET_TRY(bodyhash_set_final(&v->bodies, err));
	for (size_t k = 0; k < v->nsigs; k++)
		if (v->sigs[k]->ex != NULL)
			SIGNET_TRY(explain_final(v->sigs[k]->ex, err));
	for (size_t k = 0; k < v->nsigs; k++)
		SIGNET_TRY(finish_sig(v, v->sigs[k], err));
	v->state = V_DONE;
	return SIGNET_OK;
}

size_t signet_verifier_count(const struct signet_verifier *v)
{
	return v->state == V_DONE ? v->nsigs : 0;
}

const struct signet_sig_result *signet_verifier_result(const struct signet_verifier *v, size_t idx)
{
	if (v->state != V_DONE || idx >= v->nsigs)
		return NULL;
	return &v->sigs[idx]->r;
}

size_t signet_verifier_unchecked(const struct signet_verifier *v)
{
	return v->unchecked;
}

const struct signet_sig_explain *signet_verifier_explain(const struct signet_verifier *v,
							 size_t idx)
{
	if (v->state != V_DONE || idx >= v->nsigs)
		return NULL;
	return v->sigs[idx]->x;
}
