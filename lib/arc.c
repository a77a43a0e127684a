/* arc.c: ARC chain validation (RFC 8617 5.2) and sealing (5.1), sans-I/O
 * (arc.h). Fields are kept until end of headers, where the sets are found
 * and the structure checked; the body streams through the shared body
 * hashes; finish verifies the newest AMS and every AS. Parsing of the
 * fields is arc_sig.c's, canonicalization canon.c's, crypto crypto.c's. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <signet/arc.h>

#include "arc_sig.h"
#include "base64.h"
#include "bodyhash.h"
#include "canon.h"
#include "crypto.h"
#include "dnsname.h"
#include "error.h"
#include "headers.h"
#include "idna.h"
#include "keyrec.h"

#define SPEC_SEAL "RFC 8617 5.1"
#define QNAME_MAX 600 /* "<s>._domainkey.<d>" */
#define MAX_LINE 78   /* RFC 5322 2.1.1 */

enum arc_state { A_HEADERS, A_BODY, A_DONE, A_SEALED };

struct aquery {
	char name[QNAME_MAX];
	bool handed_out, answered;
	enum signet_dns_status st;
	size_t nrecords;
	struct signet_keyset *keys; /* owned reference; NULL unless DNS_OK */
};

/* One signature to verify (an AMS or an AS). */
struct acheck {
	struct arc_sig sig;
	size_t field;
	bool usable; /* parsed and asked for: may be verified */
	size_t query;
	size_t bodyhash; /* AMS */
};

struct aset {
	size_t field[3]; /* by enum arc_kind; SIZE_MAX when absent */
	struct acheck ams, as;
};

struct signet_arc {
	struct signet_arc_options opts;
	enum arc_state state;
	struct header_store hs;
	struct bodyhash_set bodies;
	size_t seal_body;  /* relaxed whole-body hash for sealing */
	struct aset *sets; /* [nsets], made at end of headers; NULL without ARC */
	unsigned nsets;
	unsigned n;             /* highest instance seen (0: none) */
	bool decided;           /* result known at end of headers */
	bool newest_cv_fail;    /* the newest seal says cv=fail (5.1.2) */
	bool seals_valid;       /* structure, cv= and every AS verified */
	struct aquery *queries; /* [2 * nsets]: one per AMS and AS at most */
	size_t nqueries;
	struct signet_arc_result r;
	struct signet_buf out[3]; /* sealed AAR, AMS, AS */
};

static const char *const field_names[3] = {"ARC-Authentication-Results", "ARC-Message-Signature",
					   "ARC-Seal"};

enum signet_status signet_arc_new(const struct signet_arc_options *opts, struct signet_arc **out,
				  struct signet_error *err)
{
	struct signet_arc *a = calloc(1, sizeof *a);
	if (a == NULL)
		return error_set(err, SIGNET_ERR_NOMEM, NULL, "out of memory");
	if (opts != NULL)
		a->opts = *opts;
	header_store_init(&a->hs);
	bodyhash_set_init(&a->bodies);
	for (size_t k = 0; k < 3; k++)
		buf_init(&a->out[k], SIGNET_ARC_MAX_AAR + 4096);
	*out = a;
	return SIGNET_OK;
}

void signet_arc_free(struct signet_arc *a)
{
	if (a == NULL)
		return;
	for (size_t k = 0; k < a->nqueries; k++)
		signet_keyset_unref(a->queries[k].keys);
	for (size_t k = 0; k < 3; k++)
		buf_free(&a->out[k]);
	header_store_free(&a->hs);
	bodyhash_set_free(&a->bodies);
	free(a->sets);
	free(a->queries);
	free(a);
}

enum signet_status signet_arc_header(struct signet_arc *a, const uint8_t *name, size_t nlen,
				     const uint8_t *value, size_t vlen, struct signet_error *err)
{
	if (a->state != A_HEADERS)
		return error_set(err, SIGNET_ERR_STATE, NULL, "header after end of headers");
	enum signet_status st = header_store_add(&a->hs, name, nlen, value, vlen, err);
	/* Over a limit the field is dropped and the chain fails, saying so. */
	return st == SIGNET_ERR_LIMIT ? SIGNET_OK : st;
}

static void decide(struct signet_arc *a, enum signet_result res, const char *reason)
{
	if (a->decided)
		return;
	a->decided = true;
	a->r.result = res;
	size_t n = strlen(reason);
	if (n >= sizeof a->r.reason) {
		n = sizeof a->r.reason - 4;
		memcpy(a->r.reason + n, "...", 4);
	} else {
		a->r.reason[n] = '\0';
	}
	memcpy(a->r.reason, reason, n);
}

static int field_kind(const struct header_store *hs, size_t k)
{
	struct signet_span name = header_store_name(hs, k);
	for (int kind = 0; kind < 3; kind++)
		if (span_eq_nocase(name, field_names[kind]))
			return kind;
	return -1;
}

/* The sets and queries, one set per instance up to the highest valid one
 * (a message without ARC allocates nothing, one with N sets ~13 KiB each). */
static enum signet_status alloc_sets(struct signet_arc *a, struct signet_error *err)
{
	unsigned high = 0;
	bool any = false;
	for (size_t k = 0; k < a->hs.count; k++) {
		int kind = a->hs.fields[k].has_colon ? field_kind(&a->hs, k) : -1;
		if (kind < 0)
			continue;
		struct signet_span v = header_store_value(&a->hs, k);
		unsigned i = 0;
		any = true;
		if (arc_instance((enum arc_kind)kind, v.p, v.len, &i, NULL) == SIGNET_OK &&
		    i > high)
			high = i;
	}
	if (!any)
		return SIGNET_OK;
	a->nsets = high > 0 ? high : 1;
	a->sets = calloc(a->nsets, sizeof *a->sets);
	a->queries = calloc(2 * (size_t)a->nsets, sizeof *a->queries);
	if (a->sets == NULL || a->queries == NULL)
		return error_set(err, SIGNET_ERR_NOMEM, NULL, "out of memory");
	for (unsigned s = 0; s < a->nsets; s++)
		for (int kind = 0; kind < 3; kind++)
			a->sets[s].field[kind] = SIZE_MAX;
	return SIGNET_OK;
}

/* ARC-SET-01, -02 (RFC 8617 4.2.1, 5.2 step 3): every ARC field has a
 * valid instance, none is repeated, and 1..N each have all three. */
static void find_sets(struct signet_arc *a)
{
	char why[SIGNET_REASON_MAX];
	for (size_t k = 0; k < a->hs.count; k++) {
		int kind = a->hs.fields[k].has_colon ? field_kind(&a->hs, k) : -1;
		if (kind < 0)
			continue;
		struct signet_span v = header_store_value(&a->hs, k);
		struct signet_error e = {0};
		unsigned i = 0;
		if (a->n == 0)
			a->n = 1; /* there is a chain, even if this field is broken */
		if (arc_instance((enum arc_kind)kind, v.p, v.len, &i, &e) != SIGNET_OK) {
			decide(a, SIGNET_RESULT_FAIL, e.msg);
			continue;
		}
		if (a->sets[i - 1].field[kind] != SIZE_MAX) {
			snprintf(why, sizeof why, "two %s fields with i=%u", field_names[kind], i);
			decide(a, SIGNET_RESULT_FAIL, why);
		}
		a->sets[i - 1].field[kind] = k;
		if (i > a->n)
			a->n = i;
	}
	for (unsigned i = 1; i <= a->n; i++)
		for (int kind = 0; kind < 3; kind++)
			if (a->sets[i - 1].field[kind] == SIZE_MAX) {
				snprintf(why, sizeof why, "ARC set %u has no %s", i,
					 field_names[kind]);
				decide(a, SIGNET_RESULT_FAIL, why);
			}
}

static enum signet_status add_query(struct signet_arc *a, struct acheck *c,
				    struct signet_error *err)
{
	char name[QNAME_MAX], sel[IDNA_MAX_NAME], dom[IDNA_MAX_NAME];
	struct signet_error ierr = {0};
	if (idna_to_ascii(c->sig.s, sel, sizeof sel, &ierr) != SIGNET_OK ||
	    idna_to_ascii(c->sig.d, dom, sizeof dom, &ierr) != SIGNET_OK)
		return SIGNET_OK; /* not usable: fails if it must be verified */
	int w = snprintf(name, sizeof name, "%s._domainkey.%s", sel, dom);
	if (w < 0 || (size_t)w >= sizeof name)
		return SIGNET_OK;
	for (size_t k = 0; k < a->nqueries; k++)
		if (strcasecmp(a->queries[k].name, name) == 0) {
			c->query = k;
			c->usable = true;
			return SIGNET_OK;
		}
	/* Cannot happen: each set asks for its AMS and its AS at most. */
	if (a->nqueries == 2 * (size_t)a->nsets)
		return error_set(err, SIGNET_ERR_LIMIT, NULL, "too many ARC key queries");
	memcpy(a->queries[a->nqueries].name, name, (size_t)w + 1);
	c->query = a->nqueries++;
	c->usable = true;
	return SIGNET_OK;
}

/* Parses one AMS or AS; a problem makes the chain fail when must is set. */
static enum signet_status prepare(struct signet_arc *a, struct acheck *c, enum arc_kind kind,
				  size_t field, bool must, struct signet_error *err)
{
	struct signet_span v = header_store_value(&a->hs, field);
	struct signet_error e = {0};
	c->field = field;
	if (arc_sig_parse(kind, v.p, v.len, &c->sig, &e) != SIGNET_OK) {
		if (must)
			decide(a, SIGNET_RESULT_FAIL, e.msg);
		return SIGNET_OK;
	}
	if (kind == ARC_AMS) {
		uint64_t limit = c->sig.has_l ? c->sig.l : UINT64_MAX;
		if (bodyhash_set_add(&a->bodies, c->sig.body_canon, limit, &c->bodyhash, &e) !=
		    SIGNET_OK) {
			if (must || e.code != SIGNET_ERR_LIMIT)
				return error_set(err, e.code, NULL, "%s", e.msg);
			return SIGNET_OK; /* an older AMS over the body-hash bound: not checked */
		}
		if (c->sig.has_x && a->opts.now != 0 && a->opts.now > c->sig.x) {
			if (must)
				decide(a, SIGNET_RESULT_FAIL, "ARC-Message-Signature expired (x=)");
			return SIGNET_OK;
		}
	}
	return add_query(a, c, err);
}

/* ARC-CV-01 (RFC 8617 5.2 steps 2, 3): the newest cv=fail fails the chain;
 * i=1 says none, later ones pass. */
static void check_cv(struct signet_arc *a)
{
	char why[SIGNET_REASON_MAX];
	for (unsigned i = a->n; i >= 1; i--) {
		const struct arc_sig *s = &a->sets[i - 1].as.sig;
		enum arc_cv want = i == 1 ? ARC_CV_NONE : ARC_CV_PASS;
		if (s->cv == ARC_CV_FAIL) {
			snprintf(why, sizeof why, "ARC-Seal i=%u says cv=fail", i);
			decide(a, SIGNET_RESULT_FAIL, why);
		} else if (s->cv != want) {
			snprintf(why, sizeof why, "ARC-Seal i=%u has cv=%s, not %s", i,
				 s->cv == ARC_CV_NONE ? "none" : "pass", i == 1 ? "none" : "pass");
			decide(a, SIGNET_RESULT_FAIL, why);
		}
	}
}

static enum signet_status prepare_chain(struct signet_arc *a, struct signet_error *err)
{
	struct aset *newest = &a->sets[a->n - 1];
	/* The newest AS first: a seal that already says cv=fail ends it (5.2 step 2). */
	if (newest->field[ARC_AS] != SIZE_MAX) {
		struct signet_span v = header_store_value(&a->hs, newest->field[ARC_AS]);
		struct signet_error e = {0};
		struct arc_sig *tmp = &newest->as.sig;
		if (arc_sig_parse(ARC_AS, v.p, v.len, tmp, &e) == SIGNET_OK &&
		    tmp->cv == ARC_CV_FAIL && tmp->instance == a->n) {
			a->newest_cv_fail = true;
			decide(a, SIGNET_RESULT_FAIL, "the newest ARC-Seal says cv=fail");
		}
	}
	if (a->decided)
		return SIGNET_OK;
	SIGNET_TRY(prepare(a, &newest->ams, ARC_AMS, newest->field[ARC_AMS], true, err));
	for (unsigned i = a->n; i >= 1; i--)
		SIGNET_TRY(prepare(a, &a->sets[i - 1].as, ARC_AS, a->sets[i - 1].field[ARC_AS],
				   true, err));
	if (!a->decided)
		check_cv(a);
	/* ARC-VAL-02: the older AMS, for oldest-pass only. */
	for (unsigned i = a->n - 1; i >= 1 && !a->decided; i--)
		SIGNET_TRY(prepare(a, &a->sets[i - 1].ams, ARC_AMS, a->sets[i - 1].field[ARC_AMS],
				   false, err));
	return SIGNET_OK;
}

enum signet_status signet_arc_end_of_headers(struct signet_arc *a, struct signet_error *err)
{
	if (a->state != A_HEADERS)
		return error_set(err, SIGNET_ERR_STATE, NULL, "end of headers given twice");
	a->state = A_BODY;
	SIGNET_TRY(
		bodyhash_set_add(&a->bodies, SIGNET_CANON_RELAXED, UINT64_MAX, &a->seal_body, err));
	SIGNET_TRY(alloc_sets(a, err));
	if (a->sets != NULL)
		find_sets(a);
	a->r.instances = a->decided ? 0 : a->n;
	/* A field dropped at a header limit may have been an ARC field: the
	 * chain cannot be judged, and none would be a claim we cannot make. */
	if (a->hs.over_limit)
		decide(a, SIGNET_RESULT_FAIL, a->hs.over_limit_reason);
	if (a->n == 0)
		decide(a, SIGNET_RESULT_NONE, ""); /* ARC-VAL-01: no ARC set */
	if (a->decided)
		return SIGNET_OK;
	return prepare_chain(a, err);
}

bool signet_arc_next_query(struct signet_arc *a, struct signet_query *q)
{
	for (size_t k = 0; k < a->nqueries; k++)
		if (!a->queries[k].handed_out) {
			a->queries[k].handed_out = true;
			q->id = (unsigned)k;
			q->name = a->queries[k].name;
			return true;
		}
	return false;
}

enum signet_status signet_arc_answer(struct signet_arc *a, unsigned id, enum signet_dns_status st,
				     const struct signet_txt *records, size_t n,
				     struct signet_error *err)
{
	if (id >= a->nqueries)
		return error_set(err, SIGNET_ERR_INVAL, NULL, "no query with id %u", id);
	struct aquery *q = &a->queries[id];
	if (q->answered)
		return error_set(err, SIGNET_ERR_STATE, NULL, "query %u answered twice", id);
	q->answered = true;
	q->st = st;
	if (st != SIGNET_DNS_OK)
		return SIGNET_OK;
	q->nrecords = n;
	return keyrec_keyset_build(records, n, true, &q->keys, err);
}

enum signet_status signet_arc_body(struct signet_arc *a, const uint8_t *p, size_t len,
				   struct signet_error *err)
{
	if (a->state != A_BODY)
		return error_set(err, SIGNET_ERR_STATE, NULL, "body before end of headers");
	return bodyhash_set_update(&a->bodies, p, len, err);
}

/* The key of c's query, judged as the DKIM verifier does (RFC 6376 6.1.2). */
static bool check_key(struct signet_arc *a, const struct acheck *c, const char **why, bool *temp)
{
	const struct aquery *q = &a->queries[c->query];
	*temp = false;
	if (!q->answered || q->st == SIGNET_DNS_TEMPFAIL) {
		*temp = true;
		*why = q->answered ? "key lookup failed temporarily" : "key lookup not answered";
		return false;
	}
	if (q->st == SIGNET_DNS_NXDOMAIN || q->nrecords == 0 || q->keys == NULL ||
	    q->keys->pk == NULL) {
		*why = "no usable key";
		return false;
	}
	const struct signet_keyrec_info *k = &q->keys->info;
	if ((k->type == SIGNET_KEY_RSA) != (c->sig.alg == SIGNET_ALG_RSA_SHA256))
		*why = "key type does not match a=";
	else if (!k->sha256_allowed)
		*why = "key h= does not allow sha256";
	else if (!k->email_allowed)
		*why = "key s= does not allow email";
	else
		return true;
	return false;
}

/* Appends field k canonicalized with c, and without b='s value when strip. */
static enum signet_status add_field(const struct header_store *hs, size_t k, enum signet_canon c,
				    struct signet_span b_raw, bool strip, struct signet_buf *out)
{
	struct signet_span value = header_store_value(hs, k);
	if (!strip)
		return canon_header(c, header_store_raw_name(hs, k), value, out);
	struct signet_buf tmp;
	buf_init(&tmp, SIGNET_MAX_HEADER_FIELD);
	size_t pre = (size_t)(b_raw.p - value.p), post = pre + b_raw.len;
	enum signet_status st = buf_append(&tmp, value.p, pre);
	if (st == SIGNET_OK)
		st = buf_append(&tmp, value.p + post, value.len - post);
	if (st == SIGNET_OK)
		st = canon_header(c, header_store_raw_name(hs, k),
				  (struct signet_span){tmp.data, tmp.len}, out);
	buf_free(&tmp);
	if (st == SIGNET_OK)
		out->len -= 2; /* RFC 6376 3.7: no CRLF after the signature field */
	return st;
}

/* ARC-AS-02 (RFC 8617 5.1.1): AAR, AMS, AS of instances 1..i, relaxed; the
 * AS of i with b= emptied and no final CRLF. */
static enum signet_status seal_input(const struct signet_arc *a, unsigned inst,
				     struct signet_buf *out)
{
	for (unsigned i = 1; i <= inst; i++) {
		const struct aset *s = &a->sets[i - 1];
		SIGNET_TRY(add_field(&a->hs, s->field[ARC_AAR], SIGNET_CANON_RELAXED,
				     (struct signet_span){0}, false, out));
		SIGNET_TRY(add_field(&a->hs, s->field[ARC_AMS], SIGNET_CANON_RELAXED,
				     (struct signet_span){0}, false, out));
		SIGNET_TRY(add_field(&a->hs, s->field[ARC_AS], SIGNET_CANON_RELAXED,
				     s->as.sig.b_raw, i == inst, out));
	}
	return SIGNET_OK;
}

/* ARC-AMS-01: the DKIM header hash input (RFC 6376 3.7). */
static enum signet_status ams_input(const struct signet_arc *a, const struct acheck *c,
				    struct signet_buf *out)
{
	SIGNET_TRY(
		headers_select(&a->hs, c->sig.hnames, c->sig.nh, c->sig.hdr_canon, c->field, out));
	return add_field(&a->hs, c->field, c->sig.hdr_canon, c->sig.b_raw, true, out);
}

static enum signet_status digest_of(const struct signet_buf *in, uint8_t d[SIGNET_SHA256_LEN])
{
	struct hash *h = NULL;
	enum signet_status st = crypto_hash_new(&h);
	if (st == SIGNET_OK)
		st = crypto_hash_update(h, in->data, in->len);
	if (st == SIGNET_OK)
		st = crypto_hash_final(h, d);
	crypto_hash_free(h);
	return st;
}

/* Verifies one AMS (with its body hash) or AS; *ok false with *why. */
static enum signet_status verify(struct signet_arc *a, const struct acheck *c, unsigned inst,
				 bool *ok, const char **why, bool *temp, struct signet_error *err)
{
	*ok = false;
	*temp = false;
	if (!c->usable) {
		*why = "not usable";
		return SIGNET_OK;
	}
	if (!check_key(a, c, why, temp))
		return SIGNET_OK;
	if (c->sig.kind == ARC_AMS) {
		const struct bodyhash *bh = a->bodies.items[c->bodyhash];
		if ((c->sig.has_l && c->sig.l > bh->cb.total) ||
		    c->sig.bh_len != SIGNET_SHA256_LEN ||
		    memcmp(c->sig.bh, bh->digest, SIGNET_SHA256_LEN) != 0) {
			*why = "body hash did not verify";
			return SIGNET_OK;
		}
	}
	struct signet_buf in;
	uint8_t d[SIGNET_SHA256_LEN];
	buf_init(&in, SIGNET_MAX_HEADER_BYTES * 2);
	enum signet_status st =
		c->sig.kind == ARC_AMS ? ams_input(a, c, &in) : seal_input(a, inst, &in);
	if (st == SIGNET_OK)
		st = digest_of(&in, d);
	buf_free(&in);
	if (st != SIGNET_OK)
		return error_set(err, st, NULL, "ARC header hashing failed");
	SIGNET_TRY(crypto_pubkey_verify(a->queries[c->query].keys->pk, d, c->sig.b, c->sig.b_len,
					ok, err));
	if (!*ok)
		*why = "signature did not verify";
	return SIGNET_OK;
}

static void fail_with(struct signet_arc *a, const char *what, unsigned i, const char *why,
		      bool temp)
{
	char reason[SIGNET_REASON_MAX];
	snprintf(reason, sizeof reason, "%s i=%u: %s", what, i, why);
	decide(a, temp ? SIGNET_RESULT_TEMPERROR : SIGNET_RESULT_FAIL, reason);
}

/* ARC-VAL-02 (5.2 step 5): the lowest k with AMS k..N all verifying; 0
 * when all do. */
static enum signet_status oldest_pass(struct signet_arc *a, struct signet_error *err)
{
	unsigned oldest = a->n;
	for (unsigned i = a->n - 1; i >= 1; i--) {
		bool ok, temp;
		const char *why;
		SIGNET_TRY(verify(a, &a->sets[i - 1].ams, i, &ok, &why, &temp, err));
		if (!ok)
			break;
		oldest = i;
	}
	a->r.oldest_pass = oldest == 1 ? 0 : oldest;
	return SIGNET_OK;
}

/* RFC 8617 5.2 steps 4-7. Every AS is verified even when the newest AMS
 * fails: seals_valid tells a sealer whether a chain the caller saw pass
 * before changing the message (signet_arc_seal_params.upstream) is intact. */
static enum signet_status validate(struct signet_arc *a, struct signet_error *err)
{
	bool ams_ok, ok, temp, ams_temp;
	const char *ams_why, *why;
	SIGNET_TRY(verify(a, &a->sets[a->n - 1].ams, a->n, &ams_ok, &ams_why, &ams_temp, err));
	a->seals_valid = true;
	for (unsigned i = a->n; i >= 1 && a->seals_valid; i--) {
		SIGNET_TRY(verify(a, &a->sets[i - 1].as, i, &ok, &why, &temp, err));
		if (!ok) {
			a->seals_valid = false;
			if (ams_ok)
				fail_with(a, "ARC-Seal", i, why, temp);
		}
	}
	if (!ams_ok) {
		fail_with(a, "ARC-Message-Signature", a->n, ams_why, ams_temp);
		return SIGNET_OK;
	}
	if (!a->seals_valid)
		return SIGNET_OK;
	SIGNET_TRY(oldest_pass(a, err));
	decide(a, SIGNET_RESULT_PASS, "");
	return SIGNET_OK;
}

enum signet_status signet_arc_finish(struct signet_arc *a, struct signet_error *err)
{
	if (a->state != A_BODY)
		return error_set(err, SIGNET_ERR_STATE, NULL,
				 "finish before end of headers, or twice");
	SIGNET_TRY(bodyhash_set_final(&a->bodies, err));
	if (!a->decided)
		SIGNET_TRY(validate(a, err));
	a->state = A_DONE;
	return SIGNET_OK;
}

const struct signet_arc_result *signet_arc_result(const struct signet_arc *a)
{
	return a->state >= A_DONE ? &a->r : NULL;
}

bool signet_arc_sealer(const struct signet_arc *a, unsigned i, const uint8_t **d, size_t *len)
{
	*d = NULL;
	*len = 0;
	if (a->state < A_DONE || a->r.result != SIGNET_RESULT_PASS || i < 1 || i > a->n)
		return false;
	/* A pass verified every AS (validate), so each one's d= was parsed. */
	*d = a->sets[i - 1].as.sig.d.p;
	*len = a->sets[i - 1].as.sig.d.len;
	return true;
}

/* ------------------------------------------------------------------ */
/* Sealing (RFC 8617 5.1).                                            */

/* RFC 8617 4.1.2: ARC fields are not signed by the AMS we make. */
static const char *const default_headers[] = {
	"from",           "reply-to",     "subject",
	"date",           "to",           "cc",
	"in-reply-to",    "references",   "message-id",
	"mime-version",   "content-type", "content-transfer-encoding",
	"dkim-signature",
};

static bool is_arc_name(struct signet_span n)
{
	return span_eq_nocase(n, "arc-seal") || span_eq_nocase(n, "arc-message-signature") ||
	       span_eq_nocase(n, "arc-authentication-results");
}

/* The h= list: the caller's (checked) or the default names present.
 * Fills err only for a bad name (seal_hlist fills it always). */
static enum signet_status hlist_build(const struct signet_arc *a, const char *list,
				      struct signet_buf *h, struct signet_error *err)
{
	if (list == NULL) {
		for (size_t k = 0; k < sizeof default_headers / sizeof default_headers[0]; k++) {
			if (header_store_count(&a->hs, span_from_str(default_headers[k])) == 0)
				continue;
			if (h->len > 0)
				SIGNET_TRY(buf_append_byte(h, ':'));
			SIGNET_TRY(buf_append_str(h, default_headers[k]));
		}
		return SIGNET_OK;
	}
	struct signet_span all = span_from_str(list), name;
	size_t pos = 0;
	while (tag_value_list_next(all, &pos, &name)) {
		bool ok = name.len > 0;
		for (size_t k = 0; k < name.len; k++)
			ok = ok && name.p[k] > 32 && name.p[k] < 127 && name.p[k] != ':' &&
			     name.p[k] != ';';
		if (!ok)
			return error_set(err, SIGNET_ERR_INVAL, SPEC_SEAL,
					 "bad field name in headers");
		if (is_arc_name(name))
			return error_set(err, SIGNET_ERR_INVAL, "RFC 8617 4.1.2",
					 "the AMS must not sign ARC header fields");
		if (h->len > 0)
			SIGNET_TRY(buf_append_byte(h, ':'));
		for (size_t k = 0; k < name.len; k++)
			SIGNET_TRY(buf_append_byte(h, ascii_lower(name.p[k])));
	}
	return SIGNET_OK;
}

static enum signet_status seal_hlist(const struct signet_arc *a, const char *list,
				     struct signet_buf *h, struct signet_error *err)
{
	enum signet_status st = hlist_build(a, list, h, err);
	if (st == SIGNET_ERR_NOMEM || st == SIGNET_ERR_LIMIT)
		return error_set(err, st, SPEC_SEAL, "AMS h=: %s", signet_status_name(st));
	return st;
}

/* ARC-AAR-01: the payload holds no CR or LF but as CRLF WSP folding, and
 * no NUL; at most SIGNET_ARC_MAX_AAR bytes. */
static enum signet_status check_authres(const char *s, struct signet_error *err)
{
	if (s == NULL)
		return error_set(err, SIGNET_ERR_INVAL, SPEC_SEAL,
				 "no Authentication-Results payload");
	size_t n = strlen(s);
	if (n > SIGNET_ARC_MAX_AAR)
		return error_set(err, SIGNET_ERR_LIMIT, SPEC_SEAL,
				 "Authentication-Results payload over SIGNET_ARC_MAX_AAR (%d)",
				 SIGNET_ARC_MAX_AAR);
	for (size_t k = 0; k < n; k++) {
		if (s[k] == '\r' && s[k + 1] == '\n' && (s[k + 2] == ' ' || s[k + 2] == '\t'))
			k++;
		else if (s[k] == '\r' || s[k] == '\n')
			return error_set(err, SIGNET_ERR_INVAL, SPEC_SEAL,
					 "Authentication-Results payload has a bare CR or LF");
	}
	size_t k = 0;
	while (s[k] == ' ' || s[k] == '\t')
		k++;
	if (s[k] == '\0')
		return error_set(err, SIGNET_ERR_INVAL, SPEC_SEAL,
				 "empty Authentication-Results payload");
	return SIGNET_OK;
}

static bool name_ok(const char *s)
{
	return s != NULL && dnsname_check((const uint8_t *)s, strlen(s), 0, NULL) == DNSNAME_OK;
}

/* One "tag=value" into a field value being built: "; " before all but the
 * first, a CRLF SP fold instead of the space when the line would pass
 * MAX_LINE. SP, not TAB: dkimpy's arc_verify looks for " i=N;" in the raw
 * field, and the AS and AMS are relaxed, so b= does not depend on it.
 * *col is the current column. */
static enum signet_status put_tag(struct signet_buf *out, size_t *col, const char *tag,
				  const char *val)
{
	size_t w = strlen(tag) + 1 + strlen(val) + 1;
	if (out->len > 0) {
		SIGNET_TRY(buf_append_byte(out, ';'));
		(*col)++;
		if (*col + 1 + w > MAX_LINE) {
			SIGNET_TRY(buf_append_str(out, "\r\n "));
			*col = 1;
		} else {
			SIGNET_TRY(buf_append_byte(out, ' '));
			(*col)++;
		}
	} else {
		SIGNET_TRY(buf_append_byte(out, ' '));
		(*col)++;
	}
	SIGNET_TRY(buf_append_str(out, tag));
	SIGNET_TRY(buf_append_byte(out, '='));
	*col += strlen(tag) + 1;
	/* RFC 5322 2.1.1: a long h= is folded after a ':' (FWS is allowed
	 * around its names, RFC 6376 3.5) when the next name and its ':' or
	 * ';' would pass MAX_LINE; other values have no ':'. */
	for (const char *v = val; *v != '\0'; v++) {
		SIGNET_TRY(buf_append_byte(out, (uint8_t)*v));
		(*col)++;
		if (*v == ':' && *col + strcspn(v + 1, ":") + 1 > MAX_LINE) {
			SIGNET_TRY(buf_append_str(out, "\r\n "));
			*col = 1;
		}
	}
	return SIGNET_OK;
}

struct seal_tag {
	const char *name, *value; /* value NULL: this is b= */
};

/* Tags in the given (alphabetical, the suite's standard form) order,
 * folded between tags and inside h=, never inside b=: the AS hashes the
 * new AMS as written, and a fold inside its b= leaves a space in the
 * relaxed form. That seal would be as valid, but not the suite's: its
 * expected AS b= is over an AMS with b= on one line (dkimpy's standard
 * form). A 4096-bit b= (684 octets) fits RFC 5322's 998. b64 NULL: b=
 * empty, the form that is hashed. */
static enum signet_status format_tags(const struct seal_tag *t, size_t n, const char *b64,
				      size_t name_cols, struct signet_buf *out)
{
	size_t col = name_cols;
	buf_reset(out);
	for (size_t k = 0; k < n; k++) {
		const char *v = t[k].value != NULL ? t[k].value : b64 != NULL ? b64 : "";
		SIGNET_TRY(put_tag(out, &col, t[k].name, v));
	}
	return SIGNET_OK;
}

/* Signs in[], which ends with the field being made (b= empty, no CRLF). */
static enum signet_status sign_input(const struct signet_key *key, const struct signet_buf *in,
				     struct signet_buf *b64, struct signet_error *err)
{
	uint8_t d[SIGNET_SHA256_LEN], sig[SIGNET_MAX_SIG_LEN];
	size_t siglen = 0;
	enum signet_status st = digest_of(in, d);
	if (st != SIGNET_OK)
		return error_set(err, st, NULL, "hashing the seal input failed");
	SIGNET_TRY(crypto_key_sign(key, d, sig, sizeof sig, &siglen, err));
	if (base64_encode(sig, siglen, b64) != SIGNET_OK || buf_terminate(b64) != SIGNET_OK)
		return error_set(err, SIGNET_ERR_NOMEM, NULL, "out of memory");
	return SIGNET_OK;
}

/* Canonicalizes a field we made (relaxed) into in; the last one without
 * its CRLF. */
static enum signet_status add_made(struct signet_buf *in, const char *name,
				   const struct signet_buf *value, bool last)
{
	SIGNET_TRY(canon_header(SIGNET_CANON_RELAXED, span_from_str(name),
				(struct signet_span){value->data, value->len}, in));
	if (last)
		in->len -= 2;
	return SIGNET_OK;
}

/* An error of a call that does not fill err (buffers, canon, base64):
 * out of memory or a buffer's cap, said with what we were making. */
static enum signet_status seal_fail(struct signet_error *err, enum signet_status st,
				    const char *what)
{
	return error_set(err, st, SPEC_SEAL, "%s: %s", what, signet_status_name(st));
}

/* Makes field value out[kind] from tags: format with b= empty, hash
 * prefix + it, sign, format again with b=. */
static enum signet_status make_signed(struct signet_arc *a, enum arc_kind kind,
				      const struct seal_tag *t, size_t n, struct signet_buf *in,
				      const struct signet_key *key, struct signet_error *err)
{
	struct signet_buf *out = &a->out[kind], b64;
	size_t cols = strlen(field_names[kind]) + 1;
	enum signet_status st = format_tags(t, n, NULL, cols, out);
	if (st == SIGNET_OK)
		st = add_made(in, field_names[kind], out, true);
	if (st != SIGNET_OK)
		return seal_fail(err, st, field_names[kind]);
	buf_init(&b64, SIGNET_MAX_SIG_LEN * 2);
	st = sign_input(key, in, &b64, err); /* fills err */
	if (st == SIGNET_OK) {
		st = format_tags(t, n, (const char *)b64.data, cols, out);
		if (st == SIGNET_OK)
			st = buf_terminate(out);
		if (st != SIGNET_OK)
			st = seal_fail(err, st, field_names[kind]);
	}
	buf_free(&b64);
	return st;
}

/* The AMS h= names (spans into h) and the body hash in base64, into bh. */
static enum signet_status ams_parts(struct signet_arc *a, const char *list, struct signet_buf *h,
				    struct signet_span *names, size_t *nh, struct signet_buf *bh,
				    struct signet_error *err)
{
	SIGNET_TRY(seal_hlist(a, list, h, err)); /* fills err */
	const struct bodyhash *body = a->bodies.items[a->seal_body];
	enum signet_status st = base64_encode(body->digest, SIGNET_SHA256_LEN, bh);
	if (st == SIGNET_OK)
		st = buf_terminate(bh);
	if (st == SIGNET_OK)
		st = buf_terminate(h);
	if (st != SIGNET_OK)
		return seal_fail(err, st, "ARC-Message-Signature");
	struct signet_span all = {h->data, h->len}, one;
	size_t pos = 0;
	*nh = 0;
	while (h->len > 0 && tag_value_list_next(all, &pos, &one)) {
		if (*nh == SIGNET_MAX_H_NAMES)
			return error_set(err, SIGNET_ERR_LIMIT, SPEC_SEAL,
					 "more than SIGNET_MAX_H_NAMES (%d) names in h=",
					 SIGNET_MAX_H_NAMES);
		names[(*nh)++] = one;
	}
	return SIGNET_OK;
}

static enum signet_status make_ams(struct signet_arc *a, const struct signet_arc_seal_params *p,
				   const char *inst, const char *ts, struct signet_error *err)
{
	struct signet_buf h, in, bh;
	struct signet_span names[SIGNET_MAX_H_NAMES];
	size_t nh = 0;
	buf_init(&h, SIGNET_MAX_HEADER_FIELD);
	buf_init(&in, SIGNET_MAX_HEADER_BYTES * 2);
	buf_init(&bh, 64);
	enum signet_status st = ams_parts(a, p->headers, &h, names, &nh, &bh, err);
	if (st == SIGNET_OK) {
		st = headers_select(&a->hs, names, nh, SIGNET_CANON_RELAXED, SIZE_MAX, &in);
		if (st != SIGNET_OK)
			st = seal_fail(err, st, "ARC-Message-Signature");
	}
	if (st == SIGNET_OK) {
		const struct seal_tag t[] = {
			{"a", signet_alg_name(signet_key_alg(p->key))},
			{"b", NULL},
			{"bh", (const char *)bh.data},
			{"c", "relaxed/relaxed"},
			{"d", p->domain},
			{"h", h.len ? (const char *)h.data : ""},
			{"i", inst},
			{"s", p->selector},
			{"t", ts},
		};
		st = make_signed(a, ARC_AMS, t, sizeof t / sizeof t[0], &in, p->key, err);
	}
	buf_free(&h);
	buf_free(&in);
	buf_free(&bh);
	return st;
}

/* ARC-AS-02 (5.1.1): the existing sets whole, 1..N, then the new AAR and
 * AMS; a chain that failed is sealed over the new set alone (5.1.2). */
static enum signet_status as_prefix(const struct signet_arc *a, bool fail, struct signet_buf *in)
{
	for (unsigned i = 1; !fail && i <= a->n; i++)
		for (int kind = 0; kind < 3; kind++)
			SIGNET_TRY(add_field(&a->hs, a->sets[i - 1].field[kind],
					     SIGNET_CANON_RELAXED, (struct signet_span){0}, false,
					     in));
	SIGNET_TRY(add_made(in, field_names[ARC_AAR], &a->out[ARC_AAR], false));
	return add_made(in, field_names[ARC_AMS], &a->out[ARC_AMS], false);
}

static enum signet_status make_as(struct signet_arc *a, const struct signet_arc_seal_params *p,
				  const char *inst, const char *ts, const char *cv,
				  struct signet_error *err)
{
	struct signet_buf in;
	buf_init(&in, SIGNET_MAX_HEADER_BYTES * 2);
	enum signet_status st = as_prefix(a, strcmp(cv, "fail") == 0, &in);
	if (st != SIGNET_OK) {
		st = seal_fail(err, st, "ARC-Seal");
	} else {
		const struct seal_tag t[] = {
			{"a", signet_alg_name(signet_key_alg(p->key))},
			{"b", NULL},
			{"cv", cv},
			{"d", p->domain},
			{"i", inst},
			{"s", p->selector},
			{"t", ts},
		};
		st = make_signed(a, ARC_AS, t, sizeof t / sizeof t[0], &in, p->key, err);
	}
	buf_free(&in);
	return st;
}

static enum signet_status seal_check(const struct signet_arc *a,
				     const struct signet_arc_seal_params *p,
				     struct signet_error *err)
{
	if (a->state != A_DONE)
		return error_set(err, SIGNET_ERR_STATE, NULL, "seal before finish, or twice");
	if (p != NULL && p->upstream != SIGNET_RESULT_NONE && p->upstream != SIGNET_RESULT_PASS &&
	    p->upstream != SIGNET_RESULT_FAIL)
		return error_set(err, SIGNET_ERR_INVAL, SPEC_SEAL,
				 "upstream must be none, pass or fail");
	if (a->r.result == SIGNET_RESULT_TEMPERROR &&
	    !(p != NULL && p->upstream == SIGNET_RESULT_PASS && a->seals_valid))
		return error_set(err, SIGNET_ERR_STATE, SPEC_SEAL,
				 "the chain could not be validated (temperror): not sealed");
	if (p == NULL || p->key == NULL || !name_ok(p->domain) || !name_ok(p->selector))
		return error_set(err, SIGNET_ERR_INVAL, SPEC_SEAL, "seal needs a key, d= and s=");
	/* A field dropped at a header limit could be an ARC set we would skip
	 * or one the AMS would have to sign: we cannot seal what we lost. */
	if (a->hs.over_limit)
		return error_set(err, SIGNET_ERR_LIMIT, SPEC_SEAL, "not sealed: %s",
				 a->hs.over_limit_reason);
	struct signet_buf h;
	buf_init(&h, SIGNET_MAX_HEADER_FIELD);
	enum signet_status st = seal_hlist(a, p->headers, &h, err);
	buf_free(&h);
	SIGNET_TRY(st);
	if (a->n >= SIGNET_ARC_MAX_INSTANCES)
		return error_set(err, SIGNET_ERR_LIMIT, "RFC 8617 4.2.1",
				 "the message has SIGNET_ARC_MAX_INSTANCES (%d) ARC sets already",
				 SIGNET_ARC_MAX_INSTANCES);
	return check_authres(p->authres, err);
}

enum signet_status signet_arc_seal(struct signet_arc *a, const struct signet_arc_seal_params *p,
				   struct signet_arc_seal *out, struct signet_error *err)
{
	*out = (struct signet_arc_seal){NULL, NULL, NULL, 0, SIGNET_RESULT_NONE};
	SIGNET_TRY(seal_check(a, p, err));
	if (a->newest_cv_fail) {
		a->state = A_SEALED;
		return SIGNET_OK; /* RFC 8617 5.1.2: nothing more is added to a failed chain */
	}
	/* ARC-SEAL-01: cv= is our own result; a failed chain never seals as
	 * pass. The caller's earlier pass is taken only where the message may
	 * have changed since: the newest AMS; never over a broken seal. */
	bool pass = a->r.result == SIGNET_RESULT_PASS ||
		    (p->upstream == SIGNET_RESULT_PASS && a->seals_valid);
	if (p->upstream == SIGNET_RESULT_FAIL)
		pass = false;
	const char *cv = a->n == 0 ? "none" : pass ? "pass" : "fail";
	char inst[8], ts[24];
	snprintf(inst, sizeof inst, "%u", a->n + 1);
	snprintf(ts, sizeof ts, "%llu", (unsigned long long)p->timestamp);
	const char *payload = p->authres;
	while (*payload == ' ' || *payload == '\t')
		payload++;
	struct signet_buf *aar = &a->out[ARC_AAR];
	buf_reset(aar); /* an earlier call may have failed half-way */
	if (buf_append_str(aar, " i=") != SIGNET_OK || buf_append_str(aar, inst) != SIGNET_OK ||
	    buf_append_str(aar, "; ") != SIGNET_OK || buf_append_str(aar, payload) != SIGNET_OK ||
	    buf_terminate(aar) != SIGNET_OK)
		return error_set(err, SIGNET_ERR_NOMEM, NULL, "out of memory");
	SIGNET_TRY(make_ams(a, p, inst, ts, err));
	SIGNET_TRY(make_as(a, p, inst, ts, cv, err));
	a->state = A_SEALED;
	out->aar = (const char *)a->out[ARC_AAR].data;
	out->ams = (const char *)a->out[ARC_AMS].data;
	out->as = (const char *)a->out[ARC_AS].data;
	out->instance = a->n + 1;
	out->cv = a->n == 0 ? SIGNET_RESULT_NONE : pass ? SIGNET_RESULT_PASS : SIGNET_RESULT_FAIL;
	return SIGNET_OK;
}
