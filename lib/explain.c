/* explain.c: where a body changed after signing, and which copied header
 * fields (z=) differ from the received ones (explain.h). Used only when the
 * caller asks for explain; the verdict never depends on it. */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "error.h"
#include "explain.h"

/* ---- the longest signed prefix ------------------------------------------ */

static enum signet_status compare_prefix(struct body_explain *e)
{
	uint8_t d[SIGNET_SHA256_LEN];
	struct hash *c = NULL;
	enum signet_status st = hash_clone(e->h, &c);
	if (st == SIGNET_OK)
		st = hash_final(c, d);
	hash_free(c);
	if (st != SIGNET_OK)
		return st;
	if (memcmp(d, e->want, sizeof d) != 0)
		return SIGNET_OK;
	e->r.prefix_found = true;
	e->r.prefix_lines = e->lines;
	e->r.prefix_bytes = e->bytes;
	/* The lines to show are the ones after the longest match. */
	e->r.nadded = 0;
	memset(e->r.added, 0, sizeof e->r.added);
	e->capture = true;
	return SIGNET_OK;
}

/* Copies one piece of a canonical line (ending at its LF, or not) into
 * the next added[] slot, without the final CRLF. */
static void capture(struct body_explain *e, const uint8_t *p, size_t n, bool eol)
{
	if (!e->capture || e->r.nadded == SIGNET_EXPLAIN_LINES)
		return;
	struct signet_explain_line *l = &e->r.added[e->r.nadded];
	if (eol) {
		n--; /* the LF; canonical lines end in CRLF */
		if (n > 0 && p[n - 1] == '\r')
			n--;
	}
	size_t room = SIGNET_EXPLAIN_LINE_MAX - l->len;
	if (n > room)
		l->cut = true;
	memcpy(l->p + l->len, p, n < room ? n : room);
	l->len += n < room ? n : room;
	if (!eol)
		return;
	/* The CR came with the previous piece. */
	if (n == 0 && l->len > 0 && !l->cut && l->p[l->len - 1] == '\r')
		l->len--;
	e->r.nadded++;
}

/* Canonical bytes: hashed, and at each line end compared with bh=. */
static enum signet_status main_sink(void *ctx, const uint8_t *p, size_t len)
{
	struct body_explain *e = ctx;
	while (len > 0) {
		/* After canonicalization a LF only ends a CRLF (DKIM-CANON-05). */
		const uint8_t *nl = memchr(p, '\n', len);
		size_t n = nl != NULL ? (size_t)(nl - p) + 1 : len;
		SIGNET_TRY(hash_update(e->h, p, n));
		capture(e, p, n, nl != NULL);
		e->bytes += n;
		if (nl != NULL) {
			e->lines++;
			SIGNET_TRY(compare_prefix(e));
		}
		p += n;
		len -= n;
	}
	return SIGNET_OK;
}

/* Before any line: the empty body. Relaxed makes it "", simple "CRLF"
 * (RFC 6376 3.4.3, 3.4.4). */
static enum signet_status compare_empty(struct body_explain *e, enum signet_canon c)
{
	if (c == SIGNET_CANON_RELAXED)
		return compare_prefix(e);
	struct hash *h = e->h;
	struct hash *t = NULL;
	SIGNET_TRY(hash_new(&t));
	enum signet_status st = hash_update(t, "\r\n", 2);
	e->h = t;
	if (st == SIGNET_OK)
		st = compare_prefix(e);
	e->h = h;
	hash_free(t);
	return st;
}

/* ---- relay changes undone ---------------------------------------------- */

static const char *xform_name(enum xform_kind k)
{
	switch (k) {
	case XF_STRIP_WSP: return "trailing whitespace stripped from each line (it was added after signing)";
	case XF_UNEXPAND: return "leading spaces turned back into tabs (a relay expanded tabs to 8 spaces)";
	case XF_BARE_CR: return "bare CRs removed (a relay turned line ends into CR CR LF)";
	case XF_DOTS: return "a doubled leading dot undone on each line (SMTP dot-stuffing was left in)";
	}
	return "?";
}

static enum signet_status sink_hash(void *ctx, const uint8_t *p, size_t len)
{
	return hash_update(ctx, p, len);
}

static enum signet_status stage_flush(struct xform *x)
{
	enum signet_status st = canon_body_update(&x->cb, x->stage, x->nstage);
	x->nstage = 0;
	return st;
}

static enum signet_status put(struct xform *x, const uint8_t *p, size_t n)
{
	for (size_t k = 0; k < n; k++) {
		if (x->nstage == sizeof x->stage)
			SIGNET_TRY(stage_flush(x));
		x->stage[x->nstage++] = p[k];
	}
	return SIGNET_OK;
}

static enum signet_status put1(struct xform *x, uint8_t b)
{
	return put(x, &b, 1);
}

static enum signet_status put_held(struct xform *x)
{
	enum signet_status st = put(x, x->held, x->nheld);
	x->nheld = 0;
	return st;
}

/* WSP right before a line end is dropped; runs longer than
 * EXPLAIN_MAX_HELD pass through (bounded memory, rare). */
static enum signet_status strip_wsp(struct xform *x, uint8_t b)
{
	if (x->cr) {
		x->cr = false;
		if (b == '\n') {
			x->nheld = 0;
			return put(x, (const uint8_t *)"\r\n", 2);
		}
		SIGNET_TRY(put_held(x));
		SIGNET_TRY(put1(x, '\r'));
	}
	if (b == ' ' || b == '\t') {
		if (x->nheld == sizeof x->held)
			SIGNET_TRY(put_held(x));
		x->held[x->nheld++] = b;
		return SIGNET_OK;
	}
	if (b == '\r') {
		x->cr = true;
		return SIGNET_OK;
	}
	if (b == '\n') {
		x->nheld = 0;
		return put1(x, b);
	}
	SIGNET_TRY(put_held(x));
	return put1(x, b);
}

/* Each run of 8 leading spaces becomes a tab. */
static enum signet_status unexpand(struct xform *x, uint8_t b)
{
	if (x->bol) {
		if (b == ' ') {
			if (++x->spaces == 8) {
				x->spaces = 0;
				return put1(x, '\t');
			}
			return SIGNET_OK;
		}
		for (; x->spaces > 0; x->spaces--)
			SIGNET_TRY(put1(x, ' '));
		if (b == '\t')
			return put1(x, b);
		x->bol = false;
	}
	if (b == '\n')
		x->bol = true;
	return put1(x, b);
}

/* A CR not followed by LF is dropped. */
static enum signet_status bare_cr(struct xform *x, uint8_t b)
{
	if (x->cr) {
		x->cr = false;
		if (b == '\n')
			return put(x, (const uint8_t *)"\r\n", 2);
	}
	if (b == '\r') {
		x->cr = true;
		return SIGNET_OK;
	}
	return put1(x, b);
}

/* ".." at the start of a line becomes "." (RFC 5321 4.5.2 undone). */
static enum signet_status dots(struct xform *x, uint8_t b)
{
	if (x->dot) {
		x->dot = false;
		x->bol = false;
		SIGNET_TRY(put1(x, '.'));
		if (b == '.')
			return SIGNET_OK;
	}
	if (x->bol && b == '.') {
		x->dot = true;
		return SIGNET_OK;
	}
	x->bol = b == '\n';
	return put1(x, b);
}

static enum signet_status xform_update(struct xform *x, const uint8_t *p, size_t len)
{
	for (size_t k = 0; k < len; k++) {
		switch (x->kind) {
		case XF_STRIP_WSP: SIGNET_TRY(strip_wsp(x, p[k])); break;
		case XF_UNEXPAND: SIGNET_TRY(unexpand(x, p[k])); break;
		case XF_BARE_CR: SIGNET_TRY(bare_cr(x, p[k])); break;
		case XF_DOTS: SIGNET_TRY(dots(x, p[k])); break;
		}
	}
	return stage_flush(x);
}

/* End of body: what each transform still holds back. */
static enum signet_status xform_final(struct xform *x, uint8_t digest[SIGNET_SHA256_LEN])
{
	if (x->kind == XF_STRIP_WSP && x->cr) {
		SIGNET_TRY(put_held(x));
		SIGNET_TRY(put1(x, '\r'));
	}
	for (; x->kind == XF_UNEXPAND && x->spaces > 0; x->spaces--)
		SIGNET_TRY(put1(x, ' '));
	if (x->kind == XF_DOTS && x->dot)
		SIGNET_TRY(put1(x, '.'));
	SIGNET_TRY(stage_flush(x));
	SIGNET_TRY(canon_body_final(&x->cb));
	return hash_final(x->h, digest);
}

/* ---- the stream --------------------------------------------------------- */

/* hash_new and the hashing helpers return a bare status: an allocation
 * failure stays SIGNET_ERR_NOMEM, anything else is OpenSSL's (CRYPTO). */
static enum signet_status hash_error(enum signet_status st, struct signet_error *err,
				     const char *what)
{
	if (st == SIGNET_ERR_NOMEM)
		return error_set(err, st, NULL, "out of memory");
	return error_set(err, SIGNET_ERR_CRYPTO, NULL, "%s", what);
}

enum signet_status explain_new(enum signet_canon c, uint64_t limit,
			       const uint8_t want[SIGNET_SHA256_LEN], struct body_explain **out,
			       struct signet_error *err)
{
	/* Simple keeps whitespace and tabs as they are; relaxed already
	 * ignores trailing WSP and makes every WSP run one SP. */
	static const enum xform_kind simple[] = { XF_STRIP_WSP, XF_UNEXPAND, XF_BARE_CR, XF_DOTS };
	static const enum xform_kind relaxed[] = { XF_BARE_CR, XF_DOTS };
	struct body_explain *e = calloc(1, sizeof *e);
	if (e == NULL)
		return error_set(err, SIGNET_ERR_NOMEM, NULL, "out of memory");
	*out = e;
	memcpy(e->want, want, sizeof e->want);
	e->capture = true; /* no prefix yet: show the first lines */
	enum signet_status st = hash_new(&e->h);
	if (st != SIGNET_OK)
		return hash_error(st, err, "cannot create SHA-256 context");
	canon_body_init(&e->cb, c, limit, main_sink, e);
	bool is_simple = c == SIGNET_CANON_SIMPLE;
	size_t n = is_simple ? sizeof simple / sizeof simple[0] : sizeof relaxed / sizeof relaxed[0];
	for (size_t k = 0; k < n; k++) {
		struct xform *x = &e->xf[e->nxf];
		st = hash_new(&x->h);
		if (st != SIGNET_OK)
			return hash_error(st, err, "cannot create SHA-256 context");
		e->nxf++;
		x->kind = is_simple ? simple[k] : relaxed[k];
		x->bol = true;
		canon_body_init(&x->cb, c, limit, sink_hash, x->h);
	}
	st = compare_empty(e, c);
	if (st != SIGNET_OK)
		return hash_error(st, err, "body hashing failed");
	return SIGNET_OK;
}

enum signet_status explain_update(struct body_explain *e, const uint8_t *p, size_t len,
				  struct signet_error *err)
{
	if (e->failed == SIGNET_OK)
		e->failed = canon_body_update(&e->cb, p, len);
	for (size_t k = 0; k < e->nxf && e->failed == SIGNET_OK; k++)
		e->failed = xform_update(&e->xf[k], p, len);
	if (e->failed != SIGNET_OK)
		return hash_error(e->failed, err, "explain: body hashing failed");
	return SIGNET_OK;
}

enum signet_status explain_final(struct body_explain *e, struct signet_error *err)
{
	uint8_t d[SIGNET_SHA256_LEN];
	if (e->failed == SIGNET_OK)
		e->failed = canon_body_final(&e->cb);
	for (size_t k = 0; k < e->nxf && e->failed == SIGNET_OK; k++) {
		e->failed = xform_final(&e->xf[k], d);
		if (e->failed == SIGNET_OK && e->r.transform == NULL &&
		    memcmp(d, e->want, sizeof d) == 0)
			e->r.transform = xform_name(e->xf[k].kind);
	}
	if (e->failed != SIGNET_OK)
		return hash_error(e->failed, err, "explain: body hashing failed");
	e->r.searched = true;
	e->r.total_lines = e->lines;
	e->r.total_bytes = e->bytes;
	if (e->r.nadded < SIGNET_EXPLAIN_LINES && e->r.added[e->r.nadded].len > 0)
		e->r.nadded++; /* a last line cut by l= */
	return SIGNET_OK;
}

void explain_free(struct body_explain *e)
{
	if (e == NULL)
		return;
	hash_free(e->h);
	for (size_t k = 0; k < e->nxf; k++)
		hash_free(e->xf[k].h);
	free(e);
}

/* ---- z= ----------------------------------------------------------------- */

#define ZVAL_MAX 2048 /* bytes of a value compared; longer values compare by prefix */

static bool is_ws(uint8_t c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

static int hexval(uint8_t c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

/* dkim-quoted-printable (RFC 6376 2.11): "=XX" is an octet, FWS is
 * ignored (literal whitespace in the value was encoded). */
static size_t dkim_quoted_printable(struct signet_span in, uint8_t *out, size_t cap)
{
	size_t n = 0;
	for (size_t k = 0; k < in.len && n < cap; k++) {
		uint8_t c = in.p[k];
		if (is_ws(c))
			continue;
		if (c == '=' && k + 2 < in.len && hexval(in.p[k + 1]) >= 0 &&
		    hexval(in.p[k + 2]) >= 0) {
			out[n++] = (uint8_t)(hexval(in.p[k + 1]) * 16 + hexval(in.p[k + 2]));
			k += 2;
			continue;
		}
		out[n++] = c;
	}
	return n;
}

/* Unfolded, WSP runs as one SP, no WSP at the ends. */
static size_t normalize(const uint8_t *p, size_t len, uint8_t *out, size_t cap)
{
	size_t n = 0;
	bool space = false;
	for (size_t k = 0; k < len && n < cap; k++) {
		if (is_ws(p[k])) {
			space = n > 0;
			continue;
		}
		if (space && n < cap)
			out[n++] = ' ';
		space = false;
		if (n < cap)
			out[n++] = p[k];
	}
	return n;
}

/* Display copy: NUL and control bytes as '?'; a value longer than cap - 1
 * is cut and ends in "..." (never cut silently, nor inside a UTF-8
 * sequence). */
static void show(char *dst, size_t cap, const uint8_t *p, size_t len)
{
	size_t n = len < cap ? len : cap - 4;
	if (n < len)
		while (n > 0 && (p[n] & 0xc0) == 0x80)
			n--;
	for (size_t k = 0; k < n; k++)
		dst[k] = p[k] < 0x20 || p[k] == 0x7f ? '?' : (char)p[k];
	if (n < len)
		memcpy(dst + n, "...", 3), n += 3;
	dst[n] = '\0';
}

/* One copied field: equal to some received field of its name, or a diff
 * against the first one (or missing). */
/* How many earlier z= copies had this name (pairs the k-th copy with the
 * k-th received field of a repeated name, e.g. Received). */
struct zseen {
	uint8_t name[32][64];
	size_t len[32], count[32], n;
};

static size_t occurrence(struct zseen *z, struct signet_span name)
{
	for (size_t k = 0; k < z->n; k++)
		if (z->len[k] == name.len && strncasecmp((const char *)z->name[k],
							 (const char *)name.p, name.len) == 0)
			return z->count[k]++;
	if (z->n < 32 && name.len <= sizeof z->name[0]) {
		memcpy(z->name[z->n], name.p, name.len);
		z->len[z->n] = name.len;
		z->count[z->n++] = 1;
	}
	return 0;
}

static void z_field(struct signet_span f, explain_field_fn get, void *ctx, struct zseen *seen,
		    struct signet_sig_explain *r)
{
	size_t colon = 0;
	while (colon < f.len && f.p[colon] != ':')
		colon++;
	if (colon == f.len)
		return;
	/* The name without FWS (z= may be folded anywhere, even inside it). */
	uint8_t nb[256];
	struct signet_span name = { nb, 0 };
	for (size_t k = 0; k < colon && name.len < sizeof nb; k++)
		if (!is_ws(f.p[k]))
			nb[name.len++] = f.p[k];
	struct signet_span qp = { f.p + colon + 1, f.len - colon - 1 };
	uint8_t dec[ZVAL_MAX], want[ZVAL_MAX], got[ZVAL_MAX], first[ZVAL_MAX];
	size_t wl = normalize(dec, dkim_quoted_printable(qp, dec, sizeof dec), want, sizeof want);
	size_t fl = 0, idx = 0, occ = occurrence(seen, name);
	struct signet_span v;
	r->nz_fields++;
	for (; get(ctx, name.p, name.len, idx, &v); idx++) {
		size_t gl = normalize(v.p, v.len, got, sizeof got);
		if (gl == wl && memcmp(got, want, wl) == 0)
			return;
		if (idx == 0 || idx == occ)
			memcpy(first, got, fl = gl);
	}
	if (r->nzdiff == SIGNET_EXPLAIN_ZDIFFS) {
		r->zdiff_more++;
		return;
	}
	struct signet_zdiff *z = &r->zdiff[r->nzdiff++];
	show(z->name, sizeof z->name, name.p, name.len);
	show(z->signed_value, sizeof z->signed_value, want, wl);
	show(z->received, sizeof z->received, first, fl);
	z->missing = idx == 0;
}

void explain_z(struct signet_span z, explain_field_fn get, void *ctx, struct signet_sig_explain *r)
{
	struct zseen seen = { .n = 0 };
	r->has_z = true;
	size_t start = 0;
	/* z= copy-hdr-fld *( *WSP "|" [FWS] copy-hdr-fld ); a '|' inside a
	 * value is encoded (=7C), so a raw '|' always separates. */
	for (size_t k = 0; k <= z.len; k++) {
		if (k < z.len && z.p[k] != '|')
			continue;
		struct signet_span f = { z.p + start, k - start };
		if (f.len > 0)
			z_field(f, get, ctx, &seen, r);
		start = k + 1;
	}
}
