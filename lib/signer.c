/* signer.c: the streaming DKIM signer (signer.h, RFC 6376 5). Fields are
 * kept until end of headers (to pick h= and count From); the body streams
 * through the shared body hashes; finish formats, hashes and signs each
 * signature. */
#include <stdlib.h>
#include <string.h>

#include <signet/signer.h>

#include "base64.h"
#include "bodyhash.h"
#include "canon.h"
#include "crypto.h"
#include "error.h"
#include "headers.h"
#include "idna.h"
#include "sig.h"

#define SIGNER_MAX_NAME 256
#define SIGNER_MAX_HLIST 16384 /* bytes of the h= value we write */
/* Instances of one field name signed (bottom-up, RFC 6376 5.4.2). Fields
 * that may repeat (References, List-*, Resent-*) rarely do more than this;
 * instances above are left unsigned, as the RFC allows, so that no message
 * can push h= past SIGNET_MAX_H_NAMES and make signing fail. */
#define SIGNER_MAX_INSTANCES 4

enum signer_state { SIGNER_ADDING, SIGNER_HEADERS, SIGNER_BODY, SIGNER_DONE };

/* A name in both forms (DKIM-EAI-04); end of headers decides which is written. */
struct idn_name {
	char a[SIGNER_MAX_NAME]; /* A-labels */
	char u[SIGNER_MAX_NAME]; /* U-labels */
};

struct sign_job {
	struct signet_sign_params p;
	struct idn_name domain, selector, auid; /* auid: the local part as given, '@', domain */
	char *headers;          /* owned copy of p.headers, or NULL */
	size_t bodyhash;        /* index in the signer's bodyhash_set */
	struct signet_buf hlist; /* h= value, colon-separated */
	struct signet_buf value; /* the finished DKIM-Signature value */
};

struct signet_signer {
	enum signer_state state;
	struct sign_job jobs[SIGNET_MAX_SIGNERS];
	size_t njobs;
	struct header_store hs;
	struct bodyhash_set bodies;
	bool eai; /* a header field holds UTF-8 (RFC 6532): U-labels may be written */
};

/* DKIM-HDR-04: the recommended set (RFC 6376 5.4.1) plus the MIME fields. */
static const char *const default_headers[] = {
	"from", "reply-to", "subject", "date", "to", "cc", "resent-date", "resent-from",
	"resent-to", "resent-cc", "in-reply-to", "references", "list-id", "list-help",
	"list-unsubscribe", "list-subscribe", "list-post", "list-owner", "list-archive",
	"message-id", "mime-version", "content-type", "content-transfer-encoding",
};

/* DKIM-HDR-04: listed once more than present, so none can be added later. */
static const char *const default_oversigned[] = {
	"from", "subject", "date", "to", "cc", "reply-to", "message-id", "mime-version",
	"content-type",
};

/* DKIM-HDR-05 (RFC 6376 5.4.1): fields relays add or change. */
static const char *const never_signed[] = {
	"return-path", "received", "dkim-signature", "authentication-results",
	"arc-seal", "arc-message-signature", "arc-authentication-results",
};

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

static bool in_list(const char *const *list, size_t n, struct signet_span name)
{
	for (size_t k = 0; k < n; k++)
		if (span_eq_nocase(name, list[k]))
			return true;
	return false;
}

enum signet_status signet_signer_new(struct signet_signer **out, struct signet_error *err)
{
	struct signet_signer *s = calloc(1, sizeof *s);
	if (s == NULL)
		return error_set(err, SIGNET_ERR_NOMEM, NULL, "out of memory");
	header_store_init(&s->hs);
	bodyhash_set_init(&s->bodies);
	*out = s;
	return SIGNET_OK;
}

void signet_signer_free(struct signet_signer *s)
{
	if (s == NULL)
		return;
	for (size_t k = 0; k < s->njobs; k++) {
		free(s->jobs[k].headers);
		buf_free(&s->jobs[k].hlist);
		buf_free(&s->jobs[k].value);
	}
	header_store_free(&s->hs);
	bodyhash_set_free(&s->bodies);
	free(s);
}

static enum signet_status copy_name(char *dst, const char *src, const char *what,
				    struct signet_error *err)
{
	size_t n = strlen(src);
	if (n == 0 || n >= SIGNER_MAX_NAME)
		return error_set(err, SIGNET_ERR_INVAL, "RFC 6376 3.5", "%s must be 1..%d bytes",
				 what, SIGNER_MAX_NAME - 1);
	for (size_t k = 0; k < n; k++) {
		unsigned char c = (unsigned char)src[k];
		/* Tag values may not hold ';', WSP or controls (RFC 6376 3.2). */
		if (c <= ' ' || c == ';' || c == 0x7f)
			return error_set(err, SIGNET_ERR_INVAL, "RFC 6376 3.2",
					 "%s contains a character not allowed in a tag value", what);
	}
	memcpy(dst, src, n + 1);
	return SIGNET_OK;
}

/* i= must be "local@domain" with domain equal to d= or below it (RFC 6376 3.5). */
static bool auid_within(const char *auid, const char *domain)
{
	const char *at = strrchr(auid, '@');
	if (at == NULL)
		return false;
	struct signet_span ad = span_from_str(at + 1), d = span_from_str(domain);
	if (ad.len == d.len)
		return span_eq_nocase_span(ad, d);
	if (ad.len < d.len + 1)
		return false;
	struct signet_span tail = {ad.p + ad.len - d.len, d.len};
	return ad.p[ad.len - d.len - 1] == '.' && span_eq_nocase_span(tail, d);
}

static enum signet_status check_params(const struct signet_sign_params *p, struct signet_error *err)
{
	if (p == NULL || p->key == NULL || p->domain == NULL || p->selector == NULL)
		return error_set(err, SIGNET_ERR_INVAL, NULL, "domain, selector and key are required");
	enum signet_alg alg = signet_key_alg(p->key);
	if (alg != SIGNET_ALG_RSA_SHA256 && alg != SIGNET_ALG_ED25519_SHA256)
		return error_set(err, SIGNET_ERR_KEY, "RFC 8301 3.1", "key cannot sign rsa-sha256 or ed25519-sha256");
	if (signet_key_type(p->key) == SIGNET_KEY_RSA && signet_key_bits(p->key) < SIGNET_MIN_RSA_BITS)
		return error_set(err, SIGNET_ERR_KEY, "RFC 8301 3.2",
				 "RSA key of %u bits refused: at least %d bits are required",
				 signet_key_bits(p->key), SIGNET_MIN_RSA_BITS);
	if (p->expire != 0 && p->expire <= p->timestamp)
		return error_set(err, SIGNET_ERR_INVAL, "RFC 6376 3.5", "x= must be after t=");
	if (p->idn != SIGNET_IDN_AUTO && p->idn != SIGNET_IDN_ALABELS)
		return error_set(err, SIGNET_ERR_INVAL, NULL, "unknown idn label form %d",
				 (int)p->idn);
	return SIGNET_OK;
}

/* DKIM-EAI-04 (RFC 8616 5): src (as given, either form) in A-label and
 * U-label form, each within SIGNER_MAX_NAME. */
static enum signet_status idn_forms(struct idn_name *dst, const char *src, const char *what,
				    struct signet_error *err)
{
	char given[SIGNER_MAX_NAME];
	struct signet_error ierr = {0};
	SIGNET_TRY(copy_name(given, src, what, err));
	if (idna_to_ascii(span_from_str(given), dst->a, sizeof dst->a, &ierr) != SIGNET_OK ||
	    idna_to_unicode(span_from_str(dst->a), dst->u, sizeof dst->u, &ierr) != SIGNET_OK)
		return error_set(err, SIGNET_ERR_INVAL, ierr.spec, "%s %s: %s", what, given,
				 ierr.msg);
	return SIGNET_OK;
}

/* i= "local@domain": the local part as given (RFC 8616 5 leaves it to the
 * message), the domain in both forms, which must be d= or below it in
 * A-label form (RFC 6376 3.5, DKIM-EAI-02). */
static enum signet_status auid_forms(struct sign_job *j, const char *auid, const char *domain,
				     struct signet_error *err)
{
	char given[SIGNER_MAX_NAME], probe[SIGNER_MAX_NAME + 1];
	struct idn_name ad;
	SIGNET_TRY(copy_name(given, auid, "i=", err));
	char *at = strrchr(given, '@');
	bool has_domain = at != NULL && at[1] != '\0';
	if (has_domain) {
		SIGNET_TRY(idn_forms(&ad, at + 1, "i= domain", err));
		probe[0] = '@';
		memcpy(probe + 1, ad.a, strlen(ad.a) + 1);
	}
	if (!has_domain || !auid_within(probe, j->domain.a))
		return error_set(err, SIGNET_ERR_INVAL, "RFC 6376 3.5",
				 "i= %s is not within d= %s", auid, domain);
	size_t local = (size_t)(at - given) + 1; /* with the '@' */
	size_t la = strlen(ad.a), lu = strlen(ad.u);
	if (local + la >= SIGNER_MAX_NAME || local + lu >= SIGNER_MAX_NAME)
		return error_set(err, SIGNET_ERR_INVAL, "RFC 6376 3.5", "i= must be 1..%d bytes",
				 SIGNER_MAX_NAME - 1);
	memcpy(j->auid.a, given, local);
	memcpy(j->auid.a + local, ad.a, la + 1);
	memcpy(j->auid.u, given, local);
	memcpy(j->auid.u + local, ad.u, lu + 1);
	return SIGNET_OK;
}

/* Checks a custom h= list: names only, none of DKIM-HDR-05's fields. */
static enum signet_status check_header_list(const char *list, struct signet_error *err)
{
	const char *p = list;
	size_t names = 0;
	while (*p != '\0') {
		if (++names >= SIGNET_MAX_H_NAMES)
			return error_set(err, SIGNET_ERR_INVAL, NULL,
					 "header list has more than %d names", SIGNET_MAX_H_NAMES - 1);
		const char *end = strchr(p, ':');
		size_t n = end ? (size_t)(end - p) : strlen(p);
		struct signet_span name = {(const uint8_t *)p, n};
		if (n == 0)
			return error_set(err, SIGNET_ERR_INVAL, NULL, "empty name in header list");
		for (size_t k = 0; k < n; k++)
			if (p[k] <= ' ' || p[k] == 0x7f)
				return error_set(err, SIGNET_ERR_INVAL, "RFC 5322 2.2",
						 "bad character in header name list");
		if (in_list(never_signed, COUNT(never_signed), name))
			return error_set(err, SIGNET_ERR_INVAL, "RFC 6376 5.4.1",
					 "refusing to sign %.*s: relays add or change it", (int)n, p);
		p += n;
		if (*p == ':')
			p++;
	}
	return SIGNET_OK;
}

enum signet_status signet_signer_add(struct signet_signer *s, const struct signet_sign_params *p,
				     struct signet_error *err)
{
	if (s->state != SIGNER_ADDING)
		return error_set(err, SIGNET_ERR_STATE, NULL, "signatures must be added before headers");
	if (s->njobs == SIGNET_MAX_SIGNERS)
		return error_set(err, SIGNET_ERR_LIMIT, NULL, "at most %d signatures per message",
				 SIGNET_MAX_SIGNERS);
	SIGNET_TRY(check_params(p, err));
	struct sign_job *j = &s->jobs[s->njobs];
	memset(j, 0, sizeof *j);
	j->p = *p;
	SIGNET_TRY(idn_forms(&j->domain, p->domain, "d=", err));
	SIGNET_TRY(idn_forms(&j->selector, p->selector, "s=", err));
	if (p->auid != NULL)
		SIGNET_TRY(auid_forms(j, p->auid, p->domain, err));
	if (p->headers != NULL) {
		SIGNET_TRY(check_header_list(p->headers, err));
		j->headers = strdup(p->headers);
		if (j->headers == NULL)
			return error_set(err, SIGNET_ERR_NOMEM, NULL, "out of memory");
	}
	buf_init(&j->hlist, SIGNER_MAX_HLIST);
	buf_init(&j->value, SIGNER_MAX_HLIST * 2);
	enum signet_status st = bodyhash_set_add(&s->bodies, p->body_canon, UINT64_MAX, &j->bodyhash, err);
	if (st != SIGNET_OK) {
		free(j->headers);
		return st;
	}
	s->njobs++;
	return SIGNET_OK;
}

enum signet_status signet_signer_header(struct signet_signer *s, const uint8_t *name, size_t nlen,
					const uint8_t *value, size_t vlen, struct signet_error *err)
{
	if (s->njobs == 0)
		return error_set(err, SIGNET_ERR_STATE, NULL, "no signature added");
	if (s->state == SIGNER_ADDING)
		s->state = SIGNER_HEADERS;
	if (s->state != SIGNER_HEADERS)
		return error_set(err, SIGNET_ERR_STATE, NULL, "header after end of headers");
	return header_store_add(&s->hs, name, nlen, value, vlen, err);
}

/* Adds `name` count times to h=. */
static enum signet_status hlist_add(struct signet_buf *h, struct signet_span name, size_t count,
				    struct signet_error *err)
{
	for (size_t k = 0; k < count; k++) {
		enum signet_status st = SIGNET_OK;
		if (h->len > 0)
			st = buf_append_byte(h, ':');
		for (size_t c = 0; st == SIGNET_OK && c < name.len; c++)
			st = buf_append_byte(h, ascii_lower(name.p[c]));
		if (st == SIGNET_ERR_NOMEM)
			return error_set(err, st, NULL, "out of memory");
		if (st != SIGNET_OK)
			return error_set(err, SIGNET_ERR_LIMIT, NULL, "h= longer than %d bytes",
					 SIGNER_MAX_HLIST);
	}
	return SIGNET_OK;
}

static bool hlist_has(const struct signet_buf *h, struct signet_span name)
{
	size_t start = 0;
	for (size_t k = 0; k <= h->len; k++) {
		if (k == h->len || h->data[k] == ':') {
			struct signet_span cur = {h->data + start, k - start};
			if (span_eq_nocase_span(cur, name))
				return true;
			start = k + 1;
		}
	}
	return false;
}

/* Instances of name to sign: as present, at most SIGNER_MAX_INSTANCES. */
static size_t present(const struct signet_signer *s, struct signet_span name)
{
	size_t n = header_count(&s->hs, name);
	return n < SIGNER_MAX_INSTANCES ? n : SIGNER_MAX_INSTANCES;
}

/* DKIM-HDR-04: the default set, oversigning the singletons. */
static enum signet_status build_default_hlist(struct signet_signer *s, struct sign_job *j,
					      struct signet_error *err)
{
	for (size_t k = 0; k < COUNT(default_headers); k++) {
		struct signet_span name = span_from_str(default_headers[k]);
		size_t n = present(s, name);
		if (in_list(default_oversigned, COUNT(default_oversigned), name))
			n++;
		SIGNET_TRY(hlist_add(&j->hlist, name, n, err));
	}
	return SIGNET_OK;
}

/* How often `name` appears in the custom list. */
static size_t times_listed(const char *list, struct signet_span name)
{
	size_t listed = 0;
	for (const char *q = list; *q != '\0';) {
		size_t m = strcspn(q, ":");
		struct signet_span other = {(const uint8_t *)q, m};
		listed += span_eq_nocase_span(other, name);
		q += m + (q[m] == ':');
	}
	return listed;
}

/* A custom list: as written (rspamd style "from:to:from"); with oversign,
 * each distinct name once more than present, or as often as listed. From
 * is always signed (RFC 6376 5.4). */
static enum signet_status build_custom_hlist(struct signet_signer *s, struct sign_job *j,
					     struct signet_error *err)
{
	struct signet_buf *h = &j->hlist;
	struct signet_span from = span_from_str("from");
	for (const char *p = j->headers; *p != '\0';) {
		size_t n = strcspn(p, ":");
		struct signet_span name = {(const uint8_t *)p, n};
		if (!j->p.oversign) {
			SIGNET_TRY(hlist_add(h, name, 1, err));
		} else if (!hlist_has(h, name)) {
			size_t count = present(s, name) + 1;
			size_t listed = times_listed(j->headers, name);
			SIGNET_TRY(hlist_add(h, name, listed > count ? listed : count, err));
		}
		p += n + (p[n] == ':');
	}
	if (times_listed(j->headers, from) == 0)
		SIGNET_TRY(hlist_add(h, from, j->p.oversign ? 2 : 1, err));
	return SIGNET_OK;
}

enum signet_status signet_signer_end_of_headers(struct signet_signer *s, struct signet_error *err)
{
	if (s->state != SIGNER_HEADERS && s->state != SIGNER_ADDING)
		return error_set(err, SIGNET_ERR_STATE, NULL, "end of headers given twice");
	if (s->njobs == 0)
		return error_set(err, SIGNET_ERR_STATE, NULL, "no signature added");
	if (s->hs.over_limit)
		return error_set(err, SIGNET_ERR_LIMIT, NULL, "refusing to sign: %s",
				 s->hs.over_limit_reason);
	/* DKIM-EAI-04 (RFC 8616 5): U-labels only in a message that already
	 * carries UTF-8 header fields; an all-ASCII message stays all ASCII. */
	for (size_t k = 0; k < s->hs.count && !s->eai; k++)
		s->eai = idna_has_utf8(header_value(&s->hs, k));
	/* DKIM-SIGN-07 (RFC 6376 5.4, RFC 5322 3.6): exactly one From. */
	size_t froms = header_count(&s->hs, span_from_str("from"));
	if (froms == 0)
		return error_set(err, SIGNET_ERR_SYNTAX, "RFC 6376 5.4",
				 "refusing to sign: the message has no From field");
	if (froms > 1)
		return error_set(err, SIGNET_ERR_SYNTAX, "RFC 5322 3.6",
				 "refusing to sign: the message has %zu From fields", froms);
	for (size_t k = 0; k < s->njobs; k++) {
		struct sign_job *j = &s->jobs[k];
		SIGNET_TRY(j->headers ? build_custom_hlist(s, j, err) : build_default_hlist(s, j, err));
		size_t names = 1;
		for (size_t c = 0; c < j->hlist.len; c++)
			names += j->hlist.data[c] == ':';
		/* Verifiers bound h= (ours at SIGNET_MAX_H_NAMES): stay inside. */
		if (names > SIGNET_MAX_H_NAMES)
			return error_set(err, SIGNET_ERR_LIMIT, NULL,
					 "h= would list %zu field names (limit %d)", names,
					 SIGNET_MAX_H_NAMES);
		if (buf_terminate(&j->hlist) != SIGNET_OK)
			return error_set(err, SIGNET_ERR_NOMEM, NULL, "out of memory");
	}
	s->state = SIGNER_BODY;
	return SIGNET_OK;
}

enum signet_status signet_signer_body(struct signet_signer *s, const uint8_t *p, size_t len,
				      struct signet_error *err)
{
	if (s->state != SIGNER_BODY)
		return error_set(err, SIGNET_ERR_STATE, NULL, "body before end of headers");
	return bodyhash_set_update(&s->bodies, p, len, err);
}

/* Splits the h= value into spans for header_select. */
static size_t split_hlist(const struct signet_buf *h, struct signet_span *names, size_t max)
{
	size_t n = 0, start = 0;
	for (size_t k = 0; k <= h->len && n < max; k++) {
		if (k == h->len || h->data[k] == ':') {
			names[n].p = h->data + start;
			names[n].len = k - start;
			n++;
			start = k + 1;
		}
	}
	return n;
}

/* A failed write of the DKIM-Signature field: no memory, or its cap. */
static enum signet_status field_error(enum signet_status st, struct signet_error *err)
{
	if (st == SIGNET_ERR_NOMEM)
		return error_set(err, st, NULL, "out of memory");
	return error_set(err, SIGNET_ERR_LIMIT, NULL, "DKIM-Signature too long");
}

static enum signet_status sign_one(struct signet_signer *s, struct sign_job *j,
				   struct signet_error *err)
{
	char bh64[64], b64[SIGNET_MAX_SIG_LEN * 2];
	const struct bodyhash *body = s->bodies.items[j->bodyhash];
	if (base64_encode_str(body->digest, sizeof body->digest, bh64, sizeof bh64) != SIGNET_OK)
		return error_set(err, SIGNET_ERR_LIMIT, NULL, "bh= too long");
	bool u = j->p.idn == SIGNET_IDN_AUTO && s->eai; /* DKIM-EAI-04 */
	struct sig_fields f = {
		.alg = signet_key_alg(j->p.key),
		.hdr_canon = j->p.hdr_canon,
		.body_canon = j->p.body_canon,
		.d = u ? j->domain.u : j->domain.a,
		.s = u ? j->selector.u : j->selector.a,
		.i = j->p.auid ? (u ? j->auid.u : j->auid.a) : NULL,
		.t = j->p.timestamp,
		.x = j->p.expire,
		.h = (const char *)j->hlist.data,
		.bh = bh64,
	};
	enum signet_status st = sig_format(&f, &j->value);
	if (st != SIGNET_OK)
		return field_error(st, err);

	/* RFC 6376 3.7: the selected fields, then this signature with b= empty
	 * and no final CRLF. */
	struct signet_span names[SIGNET_MAX_H_NAMES * 2];
	size_t n = split_hlist(&j->hlist, names, COUNT(names));
	struct signet_buf input;
	buf_init(&input, SIGNET_MAX_HEADER_BYTES * 2);
	st = header_select(&s->hs, names, n, j->p.hdr_canon, SIZE_MAX, &input);
	struct signet_span sname = span_from_str("DKIM-Signature");
	struct signet_span sval = {j->value.data, j->value.len};
	if (st == SIGNET_OK)
		st = canon_header(j->p.hdr_canon, sname, sval, &input);
	uint8_t digest[SIGNET_SHA256_LEN], sig[SIGNET_MAX_SIG_LEN];
	size_t siglen = 0;
	struct hash *h = NULL;
	if (st == SIGNET_OK)
		st = hash_new(&h);
	if (st == SIGNET_OK)
		st = hash_update(h, input.data, input.len - 2); /* drop the CRLF canon_header added */
	if (st == SIGNET_OK)
		st = hash_final(h, digest);
	hash_free(h);
	buf_free(&input);
	if (st != SIGNET_OK)
		return error_set(err, st, NULL, "header hashing failed");
	SIGNET_TRY(key_sign(j->p.key, digest, sig, sizeof sig, &siglen, err));
	st = base64_encode_str(sig, siglen, b64, sizeof b64);
	if (st == SIGNET_OK)
		st = sig_append_b(&j->value, b64);
	if (st == SIGNET_OK)
		st = buf_terminate(&j->value);
	if (st != SIGNET_OK)
		return field_error(st, err);
	return SIGNET_OK;
}

enum signet_status signet_signer_finish(struct signet_signer *s, struct signet_error *err)
{
	if (s->state != SIGNER_BODY)
		return error_set(err, SIGNET_ERR_STATE, NULL, "finish before end of headers");
	SIGNET_TRY(bodyhash_set_final(&s->bodies, err));
	for (size_t k = 0; k < s->njobs; k++)
		SIGNET_TRY(sign_one(s, &s->jobs[k], err));
	s->state = SIGNER_DONE;
	return SIGNET_OK;
}

size_t signet_signer_count(const struct signet_signer *s)
{
	return s->state == SIGNER_DONE ? s->njobs : 0;
}

const char *signet_signer_signature(const struct signet_signer *s, size_t idx)
{
	if (s->state != SIGNER_DONE || idx >= s->njobs)
		return NULL;
	return (const char *)s->jobs[idx].value.data;
}
