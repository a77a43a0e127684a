/* ar.c: Authentication-Results (RFC 8601) for dkim, spf, arc and dmarc: formats our
 * field value (folded, values quoted where the grammar needs it) and tells
 * whether an existing field claims our authserv-id. It does not parse the
 * results of other fields: removal only needs the authserv-id. */
#include <stdio.h>
#include <string.h>

#include <signet/ar.h>
#include <signet/psl.h>

#include "buf.h"
#include "error.h"
#include "rfc5322.h"

#define SPEC_AR "RFC 8601 2.2"
#define AR_PREFIX_LEN 23 /* "Authentication-Results:" starts the first line */
#define AR_LINE_MAX 78   /* RFC 5322 2.1.1 SHOULD, without the CRLF */
#define AR_B_MIN 8       /* RFC 6008 2: header.b is at least 8 characters */
#define AR_WORD_MAX 4096 /* one unfoldable word: a quoted reason or header.b, with escapes */

/* ---- reading: the authserv-id (RFC 8601 2.2, RFC 5322 3.2.2) --------- */

/* RFC 2045 5.1 token: any US-ASCII CHAR except SPACE, CTLs and tspecials. */
static bool is_token_char(uint8_t c)
{
	return c > 0x20 && c < 0x7f && strchr("()<>@,;:\\\"/[]?=", c) == NULL;
}

/* CFWS: white space, line folding and comments, by the one RFC 5322 lexer
 * (lib/rfc5322.c), lenient: a forged field must not escape removal by a
 * NUL or deep nesting in a comment (AR-PARSE-02). False on an unterminated
 * comment. */
static bool cfws(const uint8_t *p, size_t len, size_t *pos)
{
	return rfc5322_cfws(p, len, pos, RFC5322_LENIENT, NULL) == SIGNET_OK;
}

/* AR-DEL-01 (RFC 8601 2.5): the authserv-id is compared as a domain-like
 * name: ASCII case-insensitively, and one trailing dot (the root, as in
 * "mx.example.com.") does not make it another name. The length of id
 * without that dot. */
static size_t id_len_no_root(const char *id)
{
	size_t n = strlen(id);
	return n > 1 && id[n - 1] == '.' ? n - 1 : n;
}

/* quoted-string equal to id[0..idlen) (ASCII case-insensitive), optionally
 * with one trailing dot (AR-DEL-01); p[pos] is '"'. Quoted-pairs are
 * unescaped and folding CRLFs dropped. An unterminated string holding
 * exactly id counts (AR-PARSE-02). */
static bool quoted_string_is(const uint8_t *p, size_t len, size_t pos, const char *id, size_t idlen)
{
	size_t k = 0;
	bool root = false; /* the one trailing dot was seen after all of id */
	for (pos++; pos < len; pos++) {
		uint8_t c = p[pos];
		if (c == '"')
			return k == idlen;
		if (c == '\r' || c == '\n')
			continue;
		if (c == '\\') {
			if (++pos == len)
				break;
			c = p[pos];
		}
		if (k == idlen && c == '.' && !root) {
			root = true;
			continue;
		}
		if (k == idlen || root || ascii_lower(c) != ascii_lower((uint8_t)id[k]))
			return false;
		k++;
	}
	return k == idlen;
}

bool signet_ar_is_ours(const uint8_t *value, size_t len, const char *authserv_id)
{
	if (value == NULL || authserv_id == NULL || authserv_id[0] == '\0')
		return false;
	/* AR-DEL-03 (RFC 8601 2.2): [CFWS] authserv-id, where authserv-id is a
	 * value (token / quoted-string). The whole token is compared, so a
	 * look-alike with our id as prefix is not ours. */
	size_t pos = 0;
	if (!cfws(value, len, &pos) || pos == len)
		return false;
	size_t idlen = id_len_no_root(authserv_id);
	if (value[pos] == '"')
		return quoted_string_is(value, len, pos, authserv_id, idlen);
	size_t start = pos;
	while (pos < len && is_token_char(value[pos]))
		pos++;
	/* What follows does not change the answer: a well-formed field goes on
	 * with CFWS, an optional version and ';' (AR-SYN-04), and a malformed one
	 * whose first token is our id is removed as ours (AR-PARSE-02). */
	struct signet_span tok = {value + start, pos - start};
	if (tok.len > 1 && tok.p[tok.len - 1] == '.')
		tok.len--; /* AR-DEL-01: "mx.example.com." is mx.example.com */
	struct signet_span id = {(const uint8_t *)authserv_id, idlen};
	return span_eq_nocase_span(tok, id);
}

bool signet_ar_authserv_id_valid(const char *authserv_id)
{
	/* AR-SYN-03: we emit a hostname-like token only. */
	if (authserv_id == NULL || authserv_id[0] == '\0')
		return false;
	for (const char *c = authserv_id; *c != '\0'; c++) {
		bool alnum = (*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') ||
			     (*c >= '0' && *c <= '9');
		if (!alnum && *c != '.' && *c != '-')
			return false;
	}
	return true;
}

/* ---- writing ------------------------------------------------------------ */

/* A tag value of a result (borrowed, whole; NULL reads as absent). */
static const char *tag_str(const char *s)
{
	return s != NULL ? s : "";
}

#define FIELD(r, f) tag_str((r)->f), strlen(tag_str((r)->f))

/* RFC 5322 3.2.3 atext, with UTF-8 bytes as RFC 6532 3.2 allows (AR-SYN-10). */
static bool is_atext(uint8_t c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       c >= 0x80 || (c != 0 && strchr("!#$%&'*+-/=?^_`{|}~", c) != NULL);
}

static bool is_label_char(uint8_t c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       c == '-' || c == '_' || c >= 0x80;
}

/* dot-atom-text (accept(c) decides the atom characters): no empty atoms. */
static bool dot_atom(const char *s, size_t n, bool (*accept)(uint8_t))
{
	if (n == 0 || s[0] == '.' || s[n - 1] == '.')
		return false;
	for (size_t k = 0; k < n; k++) {
		uint8_t c = (uint8_t)s[k];
		if (c == '.' ? s[k - 1] == '.' : !accept(c))
			return false;
	}
	return true;
}

/* AR-SYN-07 (RFC 8601 2.2 pvalue): value / [ [ local-part ] "@" ] domain-name,
 * with a dot-atom local-part (a quoted local part is quoted whole instead). */
static bool plain_pvalue(const char *s, size_t n)
{
	bool token = n > 0;
	for (size_t k = 0; k < n && token; k++)
		token = is_token_char((uint8_t)s[k]);
	if (token)
		return true;
	const char *at = memchr(s, '@', n);
	if (at == NULL)
		return dot_atom(s, n, is_label_char);
	size_t local = (size_t)(at - s);
	return (local == 0 || dot_atom(s, local, is_atext)) &&
	       dot_atom(at + 1, n - local - 1, is_label_char);
}

/* quoted-string: '"' and '\' escaped; CR and LF dropped (unfolding), other
 * controls made '?', so a value from a message can never end the field.
 * In human text (reason=) '"' becomes '\'': Mail::AuthenticationResults
 * does not read quoted-pairs and would drop the whole field (AR-INTEROP-01). */
static enum signet_status quoted_string(struct signet_buf *w, const char *s, size_t n, bool human)
{
	SIGNET_TRY(buf_append_byte(w, '"'));
	for (size_t k = 0; k < n; k++) {
		uint8_t c = (uint8_t)s[k];
		if (c == '\r' || c == '\n')
			continue;
		if (c == '"' && human)
			c = '\'';
		else if (c == '"' || c == '\\')
			SIGNET_TRY(buf_append_byte(w, '\\'));
		else if ((c < 0x20 && c != '\t') || c == 0x7f)
			c = '?';
		SIGNET_TRY(buf_append_byte(w, c));
	}
	return buf_append_byte(w, '"');
}

/* Builds the field word by word, so a fold never lands inside one (AR-SYN-09). */
struct ar_writer {
	struct signet_buf out;  /* the field value */
	struct signet_buf word; /* the word being built */
	size_t col;             /* octets on the current line so far */
};

static enum signet_status flush_word(struct ar_writer *w)
{
	if (w->word.len == 0)
		return SIGNET_OK;
	bool fold = w->out.len > 0 && w->col + 1 + w->word.len > AR_LINE_MAX;
	SIGNET_TRY(fold ? buf_append(&w->out, "\r\n\t", 3) : buf_append_byte(&w->out, ' '));
	w->col = fold ? 1 : w->col + 1; /* after a fold the TAB is the line's first octet */
	/* A word longer than a line (a long reason="..." or comment) is folded
	 * before one of its own spaces: every SP in our words stands where the
	 * grammar allows FWS (inside a quoted-string or comment, or before a
	 * comment), and unfolding gives the same text back (RFC 5322 2.2.3). */
	const uint8_t *p = w->word.data;
	size_t left = w->word.len;
	while (w->col + left > AR_LINE_MAX) {
		size_t room = AR_LINE_MAX - w->col, cut = 0;
		for (size_t k = 1; k <= room && k < left; k++)
			if (p[k] == ' ')
				cut = k;
		if (cut == 0)
			break; /* no space to fold at: the line stays long */
		SIGNET_TRY(buf_append(&w->out, p, cut));
		SIGNET_TRY(buf_append(&w->out, "\r\n", 2));
		p += cut;
		left -= cut;
		w->col = 0;
	}
	SIGNET_TRY(buf_append(&w->out, p, left));
	w->col += left;
	buf_reset(&w->word);
	return SIGNET_OK;
}

/* Starts a new word: the previous one is written out first. */
static enum signet_status word(struct ar_writer *w, const char *s)
{
	SIGNET_TRY(flush_word(w));
	return buf_append_str(&w->word, s);
}

/* One "ptype.x=value" (AR-DKIM-06: nothing when the value is empty). */
static enum signet_status ptype_property(struct ar_writer *w, const char *ptype, const char *name,
					 const char *v, size_t n)
{
	if (n == 0)
		return SIGNET_OK;
	SIGNET_TRY(word(w, ptype));
	SIGNET_TRY(buf_append_str(&w->word, name));
	SIGNET_TRY(buf_append_byte(&w->word, '='));
	if (plain_pvalue(v, n))
		return buf_append(&w->word, v, n);
	return quoted_string(&w->word, v, n, false);
}

static enum signet_status property(struct ar_writer *w, const char *name, const char *v, size_t n)
{
	return ptype_property(w, "header.", name, v, n);
}

static size_t common_prefix(const char *a, size_t an, const char *b, size_t bn)
{
	size_t k = 0;
	while (k < an && k < bn && a[k] == b[k])
		k++;
	return k;
}

/* AR-DKIM-04 (RFC 6008 2): the first 8 characters of b=, more while another
 * signature's b= starts the same way. Identical b= values cannot differ. */
static size_t b_prefix(const struct signet_sig_result *const *rs, size_t n, size_t j)
{
	const char *b = tag_str(rs[j]->b);
	size_t blen = strlen(b), need = AR_B_MIN;
	for (size_t k = 0; k < n; k++) {
		const char *o = tag_str(rs[k]->b);
		size_t olen = strlen(o);
		if (k == j || (olen == blen && memcmp(b, o, blen) == 0))
			continue;
		size_t c = common_prefix(b, blen, o, olen);
		if (c + 1 > need)
			need = c + 1;
	}
	return need < blen ? need : blen;
}

/* AR-DKIM-07, -08, AR-INTEROP-03: human facts go in one comment after the
 * result word (SpamAssassin's AuthRes skips only one comment there). */
static enum signet_status comments(struct ar_writer *w, const struct signet_sig_result *r)
{
	bool rsa = r->alg == SIGNET_ALG_RSA_SHA256 || r->alg == SIGNET_ALG_RSA_SHA1;
	bool bits = rsa && r->key_bits > 0;
	if (!bits && !r->testing && !r->public_suffix)
		return SIGNET_OK;
	char c[96]; /* "(4294967295-bit key; test mode; d= is a public suffix)" fits */
	size_t n = 0;
	c[n++] = '(';
	if (bits)
		n += (size_t)snprintf(c + n, sizeof c - n, "%u-bit key", r->key_bits);
	if (r->testing)
		n += (size_t)snprintf(c + n, sizeof c - n, "%stest mode", n > 1 ? "; " : "");
	/* DKIM-VER-17: a reader doing DMARC must not align on this d=. */
	if (r->public_suffix)
		n += (size_t)snprintf(c + n, sizeof c - n, "%s" SIGNET_PSL_NOTE, n > 1 ? "; " : "");
	snprintf(c + n, sizeof c - n, ")");
	return word(w, c);
}

/* header.i: i= whole, whatever its length; AR-DKIM-04: no i= means the AUID
 * is "@" + d= (RFC 6376 3.5 i= default). */
static enum signet_status auid(struct ar_writer *w, const struct signet_sig_result *r)
{
	const char *i = tag_str(r->i), *d = tag_str(r->d);
	if (i[0] != '\0' || d[0] == '\0')
		return property(w, "i", i, strlen(i));
	struct signet_buf at;
	buf_init(&at, AR_WORD_MAX);
	enum signet_status st = buf_append_byte(&at, '@');
	if (st == SIGNET_OK)
		st = buf_append_str(&at, d);
	if (st == SIGNET_OK)
		st = property(w, "i", (const char *)at.data, at.len);
	buf_free(&at);
	return st;
}

/* One resinfo: dkim=<result> [comment] [reason] header.d i s a b (AR-DKIM-05). */
static enum signet_status resinfo(struct ar_writer *w, const struct signet_sig_result *const *rs,
				  size_t n, size_t j)
{
	const struct signet_sig_result *r = rs[j];
	SIGNET_TRY(word(w, "dkim="));
	SIGNET_TRY(buf_append_str(&w->word, signet_result_name(r->result)));
	SIGNET_TRY(comments(w, r));
	size_t rlen = strnlen(r->reason, sizeof r->reason);
	/* AR-SYN-06: reason right after the result, always a quoted-string
	 * (AR-INTEROP-03); a pass needs none. */
	if (r->result != SIGNET_RESULT_PASS && rlen > 0) {
		SIGNET_TRY(word(w, "reason="));
		SIGNET_TRY(quoted_string(&w->word, r->reason, rlen, true));
	}
	SIGNET_TRY(property(w, "d", FIELD(r, d)));
	SIGNET_TRY(auid(w, r));
	SIGNET_TRY(property(w, "s", FIELD(r, s)));
	SIGNET_TRY(property(w, "a", FIELD(r, a)));
	return property(w, "b", tag_str(r->b), b_prefix(rs, n, j));
}

/* SPF-RES-02 (RFC 7208 9.2, RFC 8601 2.7.2): spf=<result> [reason]
 * smtp.mailfrom= or smtp.helo=. */
static enum signet_status spf_resinfo(struct ar_writer *w, const struct signet_ar_spf *r)
{
	SIGNET_TRY(word(w, "spf="));
	SIGNET_TRY(buf_append_str(&w->word, signet_spf_result_name(r->result)));
	size_t rlen = r->reason != NULL ? strlen(r->reason) : 0;
	if (r->result != SIGNET_SPF_PASS && rlen > 0) {
		SIGNET_TRY(word(w, "reason="));
		SIGNET_TRY(quoted_string(&w->word, r->reason, rlen, true));
	}
	bool helo = r->identity == SIGNET_SPF_HELO;
	return ptype_property(w, "smtp.", helo ? "helo" : "mailfrom", r->value, strlen(r->value));
}

/* ARC-AR-01 (RFC 8617 6, IANA Email Authentication Methods): arc=<result>
 * [reason] header.oldest-pass= smtp.remote-ip=. */
static enum signet_status arc_resinfo(struct ar_writer *w, const struct signet_ar_arc *a)
{
	const struct signet_arc_result *r = a->result;
	SIGNET_TRY(word(w, "arc="));
	SIGNET_TRY(buf_append_str(&w->word, signet_result_name(r->result)));
	size_t rlen = strnlen(r->reason, sizeof r->reason);
	if (r->result != SIGNET_RESULT_PASS && rlen > 0) {
		SIGNET_TRY(word(w, "reason="));
		SIGNET_TRY(quoted_string(&w->word, r->reason, rlen, true));
	}
	if (r->result == SIGNET_RESULT_PASS) {
		char k[16];
		int n = snprintf(k, sizeof k, "%u", r->oldest_pass);
		SIGNET_TRY(ptype_property(w, "header.", "oldest-pass", k, (size_t)n));
	}
	const char *ip = a->remote_ip != NULL ? a->remote_ip : "";
	return ptype_property(w, "smtp.", "remote-ip", ip, strlen(ip));
}

/* RFC 9989's "sp defaults to p" for the comment: what a subdomain gets. */
static enum signet_dmarc_policy effective_sp(const struct signet_dmarc_record *rec)
{
	return rec->sp != SIGNET_DMARC_POLICY_UNSET ? rec->sp : rec->p;
}

/* DMARC-RES-03: "(p=reject sp=reject dis=none arc-override)", nothing
 * when no record was found. */
static enum signet_status dmarc_comment(struct ar_writer *w, const struct signet_dmarc_outcome *o)
{
	const struct signet_dmarc_record *rec = o->record;
	if (rec == NULL || !rec->usable)
		return SIGNET_OK;
	char c[96];
	size_t n = (size_t)snprintf(c, sizeof c, "(p=%s sp=%s", signet_dmarc_policy_name(rec->p),
				    signet_dmarc_policy_name(effective_sp(rec)));
	if (o->disposition != SIGNET_DMARC_POLICY_UNSET)
		n += (size_t)snprintf(c + n, sizeof c - n, " dis=%s",
				      signet_dmarc_policy_name(o->disposition));
	if (o->override != SIGNET_DMARC_OVERRIDE_NONE)
		n += (size_t)snprintf(c + n, sizeof c - n, " %s",
				      signet_dmarc_override_name(o->override));
	snprintf(c + n, sizeof c - n, ")");
	return word(w, c);
}

/* DMARC-RES-03 (RFC 9989 registry: header.from, polrec.p, polrec.domain). */
static enum signet_status dmarc_resinfo(struct ar_writer *w, const struct signet_ar_dmarc *d)
{
	const struct signet_dmarc_outcome *o = d->outcome;
	SIGNET_TRY(word(w, "dmarc="));
	SIGNET_TRY(buf_append_str(&w->word, signet_dmarc_result_name(o->result)));
	SIGNET_TRY(dmarc_comment(w, o));
	const char *reason = d->reason != NULL && d->reason[0] != '\0' ? d->reason : o->reason;
	if (o->result != SIGNET_DMARC_PASS && reason != NULL && reason[0] != '\0') {
		SIGNET_TRY(word(w, "reason="));
		SIGNET_TRY(quoted_string(&w->word, reason, strlen(reason), true));
	}
	const char *from = o->author_domain != NULL ? o->author_domain : "";
	SIGNET_TRY(property(w, "from", from, strlen(from)));
	if (o->record == NULL || !o->record->usable)
		return SIGNET_OK;
	const char *p = signet_dmarc_policy_name(o->record->p);
	SIGNET_TRY(ptype_property(w, "polrec.", "p", p, strlen(p)));
	const char *pd = o->policy_domain;
	if (pd == NULL || (o->author_domain != NULL && strcmp(pd, o->author_domain) == 0))
		return SIGNET_OK;
	return ptype_property(w, "polrec.", "domain", pd, strlen(pd));
}

static enum signet_status format(struct ar_writer *w, const char *id,
				 const struct signet_ar_results *r)
{
	SIGNET_TRY(word(w, id));
	SIGNET_TRY(buf_append_byte(&w->word, ';'));
	if (r->ndkim == 0) /* AR-SYN-02: "dkim=none", never the bare "none" */
		SIGNET_TRY(word(w, "dkim=none"));
	for (size_t j = 0; j < r->ndkim; j++) {
		if (j > 0)
			SIGNET_TRY(buf_append_byte(&w->word, ';'));
		SIGNET_TRY(resinfo(w, r->dkim, r->ndkim, j));
	}
	/* AR-POS-02: SPF in the same field, after DKIM. */
	for (size_t j = 0; j < r->nspf; j++) {
		SIGNET_TRY(buf_append_byte(&w->word, ';'));
		SIGNET_TRY(spf_resinfo(w, &r->spf[j]));
	}
	/* ARC before DMARC: a trusted chain is one input of the DMARC outcome. */
	if (r->arc != NULL) {
		SIGNET_TRY(buf_append_byte(&w->word, ';'));
		SIGNET_TRY(arc_resinfo(w, r->arc));
	}
	if (r->dmarc != NULL) {
		SIGNET_TRY(buf_append_byte(&w->word, ';'));
		SIGNET_TRY(dmarc_resinfo(w, r->dmarc));
	}
	return SIGNET_OK;
}

static enum signet_status check_results(const struct signet_ar_results *r, struct signet_error *err)
{
	if (r == NULL || (r->dkim == NULL && r->ndkim > 0) || (r->spf == NULL && r->nspf > 0))
		return error_set(err, SIGNET_ERR_INVAL, NULL, "signet_ar_format: NULL argument");
	for (size_t j = 0; j < r->ndkim; j++)
		if (r->dkim[j] == NULL)
			return error_set(err, SIGNET_ERR_INVAL, NULL,
					 "signet_ar_format: NULL result");
	for (size_t j = 0; j < r->nspf; j++)
		if (r->spf[j].value == NULL)
			return error_set(err, SIGNET_ERR_INVAL, NULL,
					 "signet_ar_format: NULL SPF identity");
	if ((r->arc != NULL && r->arc->result == NULL) ||
	    (r->dmarc != NULL && r->dmarc->outcome == NULL))
		return error_set(err, SIGNET_ERR_INVAL, NULL,
				 "signet_ar_format: NULL ARC result or DMARC outcome");
	return SIGNET_OK;
}

enum signet_status signet_ar_format(const char *authserv_id,
				    const struct signet_sig_result *const *results, size_t n,
				    char *out, size_t cap, size_t *len, struct signet_error *err)
{
	struct signet_ar_results r = {.dkim = results, .ndkim = n};
	return signet_ar_format_results(authserv_id, &r, out, cap, len, err);
}

enum signet_status signet_ar_format_results(const char *authserv_id,
					    const struct signet_ar_results *r, char *out,
					    size_t cap, size_t *len, struct signet_error *err)
{
	if (out == NULL || len == NULL)
		return error_set(err, SIGNET_ERR_INVAL, NULL, "signet_ar_format: NULL argument");
	if (!signet_ar_authserv_id_valid(authserv_id))
		return error_set(err, SIGNET_ERR_INVAL, SPEC_AR,
				 "authserv-id must be a host name (letters, digits, '.', '-')");
	SIGNET_TRY(check_results(r, err));
	struct ar_writer w;
	buf_init(&w.out, cap > 0 ? cap - 1 : 0);
	buf_init(&w.word, AR_WORD_MAX);
	w.col = AR_PREFIX_LEN;
	enum signet_status st = format(&w, authserv_id, r);
	if (st == SIGNET_OK)
		st = flush_word(&w);
	if (st == SIGNET_OK && cap > 0) {
		if (w.out.len > 0)
			memcpy(out, w.out.data, w.out.len);
		out[w.out.len] = '\0';
		*len = w.out.len;
	}
	buf_free(&w.out);
	buf_free(&w.word);
	if (st == SIGNET_ERR_LIMIT || (st == SIGNET_OK && cap == 0))
		return error_set(err, SIGNET_ERR_LIMIT, SPEC_AR,
				 "Authentication-Results does not fit in %zu bytes", cap);
	if (st != SIGNET_OK)
		return error_set(err, st, NULL, "formatting Authentication-Results: %s",
				 signet_status_name(st));
	return SIGNET_OK;
}
