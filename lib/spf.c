/* spf.c: check_host() (RFC 7208 4) as a state machine that asks its caller
 * for DNS answers. An include pushes a frame; a redirect replaces the frame
 * (so the target's exp= is the one used, 6.1, 6.2). temperror and permerror
 * end the whole check at once: include passes both up unchanged (5.2). */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <signet/spf.h>

#include "error.h"
#include "spf_macro.h"
#include "spf_record.h"

#define SPF_NAME_MAX 253
#define SPF_MAX_FRAMES (SIGNET_SPF_MAX_DNS_TERMS + 2) /* each include is a counted term */
#define SPF_MAX_PENDING (SIGNET_SPF_MAX_NAMES + 2)
#define SPF_TRACE_LINE 400

struct frame {
	char domain[SPF_NAME_MAX + 1];
	uint8_t *text; /* the record, owned */
	struct spf_record rec;
	bool have_record;
	bool redirected; /* reached through redirect=: no record is permerror (6.1) */
	size_t pos;      /* the term being evaluated */
};

enum purpose { P_RECORD, P_ADDR, P_MX, P_MXADDR, P_EXISTS, P_PTR, P_PTRADDR, P_EXP };

struct pending {
	unsigned id;
	enum signet_rrtype type;
	enum purpose purpose;
	char name[SPF_NAME_MAX + 1];
	size_t index; /* P_MXADDR, P_PTRADDR: which name */
	bool used, issued;
};

/* Where the term in progress stands. */
enum term_state { T_START, T_LOOKUP, T_WAIT, T_CHILD };

/* Explaining a fail (6.2). */
enum exp_state { E_NONE, E_START, E_WAIT_TXT, E_TEXT, E_DEFAULT, E_DONE };

/* The validated-name walk of 5.5 (ptr and %{p}). */
enum ptrv_state { PV_IDLE, PV_WAIT_PTR, PV_WAIT_ADDR, PV_DONE };

struct signet_spf {
	struct signet_spf_request req;
	char *mail_from, *helo, *default_exp, *receiver; /* owned copies */
	char sender[600], local[520], sender_domain[SPF_NAME_MAX + 2];
	char ip_macro[80], ip_text[48], time_text[24];

	struct frame frames[SPF_MAX_FRAMES];
	size_t depth;
	enum term_state tstate;

	struct pending q[SPF_MAX_PENDING];
	size_t nq;
	unsigned next_id;

	/* mx: the exchange names and what their addresses gave */
	char names[SIGNET_SPF_MAX_NAMES][SPF_NAME_MAX + 1];
	size_t nnames, nanswered;
	bool any_match, any_tempfail;
	unsigned step_voids;

	/* ptr validation (5.5), done at most once per check */
	enum ptrv_state ptrv;
	char ptr_names[SIGNET_SPF_MAX_NAMES][SPF_NAME_MAX + 1];
	bool ptr_valid[SIGNET_SPF_MAX_NAMES];
	size_t nptr, ptr_answered;

	enum exp_state exp;
	bool done;
	unsigned lookups, voids;
	struct signet_spf_outcome out;
	char reason[400], *mechanism;
	char explanation[SIGNET_SPF_MAX_EXPLANATION + 1];
	char exp_domain[SPF_MACRO_MAX + 1];
	char *exp_text; /* the exp= TXT, owned, once fetched */
	size_t exp_len;
	char **trace;
	size_t ntrace, trace_dropped;
	char expand_buf[SPF_MACRO_MAX + 1];
};

const char *signet_spf_result_name(enum signet_spf_result r)
{
	switch (r) {
	case SIGNET_SPF_NONE: return "none";
	case SIGNET_SPF_NEUTRAL: return "neutral";
	case SIGNET_SPF_PASS: return "pass";
	case SIGNET_SPF_FAIL: return "fail";
	case SIGNET_SPF_SOFTFAIL: return "softfail";
	case SIGNET_SPF_TEMPERROR: return "temperror";
	case SIGNET_SPF_PERMERROR: return "permerror";
	}
	return "unknown";
}

/* ---- trace and finishing -------------------------------------------------- */

static void trace(struct signet_spf *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void trace(struct signet_spf *s, const char *fmt, ...)
{
	if (!s->req.trace)
		return;
	if (s->ntrace >= SIGNET_SPF_MAX_TRACE) {
		s->trace_dropped++;
		return;
	}
	char line[SPF_TRACE_LINE];
	size_t indent = s->depth > 1 ? 2 * (s->depth - 1) : 0;
	memset(line, ' ', indent);
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(line + indent, sizeof line - indent, fmt, ap);
	va_end(ap);
	char **v = realloc(s->trace, (s->ntrace + 1) * sizeof *v);
	if (v == NULL)
		return; /* the trace is a help, not the result: a line lost to NOMEM */
	s->trace = v;
	if ((v[s->ntrace] = strdup(line)) != NULL)
		s->ntrace++;
}

static void finish(struct signet_spf *s, enum signet_spf_result r, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static void finish(struct signet_spf *s, enum signet_spf_result r, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(s->reason, sizeof s->reason, fmt, ap);
	va_end(ap);
	/* One printable line: record text quoted in it may hold control bytes. */
	for (char *c = s->reason; *c; c++)
		if ((unsigned char)*c < 0x20 || (unsigned char)*c > 0x7e)
			*c = '?';
	s->out.result = r;
	s->done = true;
	s->nq = 0;
	memset(s->q, 0, sizeof s->q);
	trace(s, "result: %s (%s)", signet_spf_result_name(r), s->reason);
}

static void set_mechanism(struct signet_spf *s, struct signet_span text)
{
	free(s->mechanism);
	s->mechanism = strndup((const char *)text.p, text.len);
}

/* ---- queries ------------------------------------------------------------ */

static struct pending *ask(struct signet_spf *s, enum signet_rrtype type, const char *name,
			   enum purpose purpose, size_t index)
{
	/* Slots never move, so a name handed out stays valid until answered. */
	struct pending *p = NULL;
	for (size_t k = 0; k < SPF_MAX_PENDING && p == NULL; k++)
		if (!s->q[k].used)
			p = &s->q[k];
	if (p == NULL)
		return NULL; /* cannot happen: at most SIGNET_SPF_MAX_NAMES at once */
	s->nq++;
	memset(p, 0, sizeof *p);
	p->used = true;
	p->id = ++s->next_id;
	p->type = type;
	p->purpose = purpose;
	p->index = index;
	snprintf(p->name, sizeof p->name, "%s", name);
	return p;
}

const char *signet_rrtype_name(enum signet_rrtype t)
{
	switch (t) {
	case SIGNET_RR_A: return "A";
	case SIGNET_RR_AAAA: return "AAAA";
	case SIGNET_RR_MX: return "MX";
	case SIGNET_RR_PTR: return "PTR";
	case SIGNET_RR_TXT: return "TXT";
	}
	return "?";
}

/* RFC 7208 4.6.4: the 11th DNS-querying term is permerror. */
static bool count_lookup(struct signet_spf *s, struct signet_span term)
{
	if (++s->lookups <= SIGNET_SPF_MAX_DNS_TERMS)
		return true;
	set_mechanism(s, term);
	finish(s, SIGNET_SPF_PERMERROR,
	       "%.*s is DNS-querying term %u: more than %d (RFC 7208 4.6.4)", (int)term.len, term.p,
	       s->lookups, SIGNET_SPF_MAX_DNS_TERMS);
	return false;
}

/* RFC 7208 4.6.4: more than two lookups that return no records is permerror. */
static bool count_void(struct signet_spf *s, const char *name)
{
	if (++s->voids <= SIGNET_SPF_MAX_VOID_LOOKUPS)
		return true;
	finish(s, SIGNET_SPF_PERMERROR, "%s is void lookup %u: more than %d (RFC 7208 4.6.4)", name,
	       s->voids, SIGNET_SPF_MAX_VOID_LOOKUPS);
	return false;
}

/* ---- names and addresses ------------------------------------------------ */

/* A name we may query: labels of 1..63 octets, at most 253 in all. */
static bool name_ok(const char *n)
{
	size_t len = strlen(n), label = 0;
	if (len == 0 || len > SPF_NAME_MAX)
		return false;
	for (size_t k = 0; k < len; k++) {
		if (n[k] == '.') {
			if (label == 0)
				return false;
			label = 0;
		} else if (++label > 63) {
			return false;
		}
	}
	return label > 0;
}

/* RFC 7208 4.3: a domain that is malformed or not multi-label gives none.
 * Its last label must be a toplabel (letters, digits, hyphens; not all
 * digits), which also refuses domain literals such as "[192.0.2.1]". */
static bool domain_checkable(const char *d)
{
	const char *why;
	struct signet_span sp = {(const uint8_t *)d, strlen(d)};
	if (!name_ok(d) || strchr(d, '.') == NULL)
		return false;
	for (size_t k = 0; k < sp.len; k++)
		if (d[k] == '%')
			return false;
	return spf_macro_domain_spec_valid(sp, &why);
}

static bool cidr_match(const uint8_t *a, const uint8_t *b, unsigned bits)
{
	size_t whole = bits / 8;
	if (memcmp(a, b, whole) != 0)
		return false;
	if (bits % 8 == 0)
		return true;
	uint8_t mask = (uint8_t)(0xff << (8 - bits % 8));
	return (a[whole] & mask) == (b[whole] & mask);
}

/* Does any A/AAAA record of the answer fall in the client's network? */
static bool addr_match(const struct signet_spf *s, const struct signet_rr *rrs, size_t n,
		       unsigned cidr4, unsigned cidr6)
{
	size_t want = s->req.ipv6 ? 16 : 4;
	for (size_t k = 0; k < n; k++)
		if (rrs[k].len == want &&
		    cidr_match(rrs[k].p, s->req.ip, s->req.ipv6 ? cidr6 : cidr4))
			return true;
	return false;
}

static bool name_from_rr(const struct signet_rr *rr, char out[SPF_NAME_MAX + 1])
{
	size_t len = rr->len;
	if (len > 0 && rr->p[len - 1] == '.')
		len--;
	if (len == 0 || len > SPF_NAME_MAX || memchr(rr->p, '\0', len) != NULL)
		return false;
	memcpy(out, rr->p, len);
	out[len] = '\0';
	return name_ok(out);
}

/* ---- macros ------------------------------------------------------------- */

/* %{p} (7.3): the validated name that is d, else one ending in ".d", else
 * any validated name, else "unknown". */
static const char *p_value(const struct signet_spf *s, const char *d)
{
	const char *any = NULL;
	size_t dl = strlen(d);
	for (size_t k = 0; k < s->nptr; k++) {
		if (!s->ptr_valid[k])
			continue;
		const char *n = s->ptr_names[k];
		size_t nl = strlen(n);
		if (strcasecmp(n, d) == 0)
			return n;
		if (nl > dl && n[nl - dl - 1] == '.' && strcasecmp(n + nl - dl, d) == 0)
			return n;
		if (any == NULL)
			any = n;
	}
	return any ? any : "unknown";
}

static void macro_ctx(const struct signet_spf *s, const char *d, struct spf_macro_ctx *ctx)
{
	ctx->s = s->sender;
	ctx->l = s->local;
	ctx->o = s->sender_domain;
	ctx->d = d;
	ctx->i = s->ip_macro;
	ctx->p = s->ptrv == PV_DONE ? p_value(s, d) : NULL;
	ctx->v = s->req.ipv6 ? "ip6" : "in-addr";
	ctx->h = s->helo ? s->helo : "";
	ctx->c = s->ip_text;
	ctx->r = s->receiver ? s->receiver : "unknown";
	ctx->t = s->time_text;
}

static void ptrv_start(struct signet_spf *s);

/* True when spec can be expanded now; otherwise starts what %{p} needs. */
static bool p_ready(struct signet_spf *s, struct signet_span spec)
{
	if (!spf_macro_uses_p(spec) || s->ptrv == PV_DONE)
		return true;
	if (s->ptrv == PV_IDLE)
		ptrv_start(s);
	return false;
}

/* Expands a domain-spec (empty: d itself) into s->expand_buf, fitted for a
 * query (7.3). False (permerror set) when the expansion fails. */
static bool expand_domain(struct signet_spf *s, struct signet_span spec, const char *d,
			  struct signet_span term)
{
	struct spf_macro_ctx ctx;
	const char *why;
	size_t len;
	if (spec.len == 0) {
		snprintf(s->expand_buf, sizeof s->expand_buf, "%s", d);
		return true;
	}
	macro_ctx(s, d, &ctx);
	if (!spf_macro_expand(spec, &ctx, false, s->expand_buf, &len, &why)) {
		set_mechanism(s, term);
		finish(s, SIGNET_SPF_PERMERROR, "%.*s: %s", (int)term.len, term.p, why);
		return false;
	}
	spf_macro_fit_domain(s->expand_buf, &len);
	return true;
}

/* ---- ptr validation (5.5) ----------------------------------------------- */

static void reverse_name(const struct signet_spf *s, char *out, size_t cap)
{
	const uint8_t *ip = s->req.ip;
	if (!s->req.ipv6) {
		snprintf(out, cap, "%u.%u.%u.%u.in-addr.arpa", ip[3], ip[2], ip[1], ip[0]);
		return;
	}
	static const char hex[] = "0123456789abcdef";
	size_t n = 0;
	for (int k = 15; k >= 0 && n + 4 < cap; k--) {
		out[n++] = hex[ip[k] & 15];
		out[n++] = '.';
		out[n++] = hex[ip[k] >> 4];
		out[n++] = '.';
	}
	snprintf(out + n, cap - n, "ip6.arpa");
}

static void ptrv_start(struct signet_spf *s)
{
	char rev[SPF_NAME_MAX + 1];
	reverse_name(s, rev, sizeof rev);
	s->ptrv = PV_WAIT_PTR;
	(void)ask(s, SIGNET_RR_PTR, rev, P_PTR, 0);
	trace(s, "PTR %s (validated names for ptr and %%{p})", rev);
}

static void ptrv_answer_ptr(struct signet_spf *s, enum signet_dns_status st,
			    const struct signet_rr *rrs, size_t n, const char *name)
{
	/* 5.5: a DNS error on the PTR lookup makes the mechanism not match. */
	if (st == SIGNET_DNS_OK && n == 0 && !count_void(s, name))
		return;
	if (st == SIGNET_DNS_NXDOMAIN && !count_void(s, name))
		return;
	s->nptr = 0;
	for (size_t k = 0; st == SIGNET_DNS_OK && k < n && s->nptr < SIGNET_SPF_MAX_NAMES; k++)
		if (name_from_rr(&rrs[k], s->ptr_names[s->nptr]))
			s->ptr_valid[s->nptr++] = false;
	if (n > SIGNET_SPF_MAX_NAMES)
		trace(s, "%zu PTR names: the first %d are used (RFC 7208 4.6.4)", n,
		      SIGNET_SPF_MAX_NAMES);
	s->ptr_answered = 0;
	s->ptrv = s->nptr ? PV_WAIT_ADDR : PV_DONE;
	for (size_t k = 0; k < s->nptr; k++)
		(void)ask(s, s->req.ipv6 ? SIGNET_RR_AAAA : SIGNET_RR_A, s->ptr_names[k], P_PTRADDR,
			  k);
}

static void ptrv_answer_addr(struct signet_spf *s, const struct pending *p,
			     enum signet_dns_status st, const struct signet_rr *rrs, size_t n)
{
	/* 5.5: an error on one name's lookup skips that name. */
	if (st == SIGNET_DNS_OK)
		s->ptr_valid[p->index] = addr_match(s, rrs, n, 32, 128);
	if (++s->ptr_answered == s->nptr) {
		s->ptrv = PV_DONE;
		for (size_t k = 0; k < s->nptr; k++)
			trace(s, "  %s: %s", s->ptr_names[k],
			      s->ptr_valid[k] ? "validated" : "not validated");
	}
}

/* ---- frames ------------------------------------------------------------- */

static struct frame *top(struct signet_spf *s)
{
	return &s->frames[s->depth - 1];
}

static void frame_clear(struct frame *f)
{
	spf_record_free(&f->rec);
	free(f->text);
	memset(f, 0, sizeof *f);
}

/* Copies a name that name_ok() accepted (so it fits). */
static void copy_name(char out[SPF_NAME_MAX + 1], const char *name)
{
	size_t len = strnlen(name, SPF_NAME_MAX);
	memcpy(out, name, len);
	out[len] = '\0';
}

static void frame_start(struct frame *f, const char *domain, bool redirected)
{
	frame_clear(f);
	copy_name(f->domain, domain);
	f->redirected = redirected;
}

static void explain_step(struct signet_spf *s);

/* The frame's result: for an include, what its parent's term does with it
 * (5.2); for the check itself, the end (with an explanation for fail). */
static void frame_result(struct signet_spf *s, enum signet_spf_result r, struct signet_span mech)
{
	if (s->depth > 1) {
		frame_clear(top(s));
		s->depth--;
		struct frame *f = top(s);
		struct spf_term *t = &f->rec.terms[f->pos];
		s->tstate = T_START;
		if (r == SIGNET_SPF_PASS) {
			trace(s, "%.*s: matches (the included record passes)", (int)t->text.len,
			      t->text.p);
			set_mechanism(s, t->text);
			frame_result(s,
				     t->qualifier == '-'   ? SIGNET_SPF_FAIL
				     : t->qualifier == '~' ? SIGNET_SPF_SOFTFAIL
				     : t->qualifier == '?' ? SIGNET_SPF_NEUTRAL
							   : SIGNET_SPF_PASS,
				     t->text);
			return;
		}
		if (r == SIGNET_SPF_NONE) {
			set_mechanism(s, t->text);
			finish(s, SIGNET_SPF_PERMERROR,
			       "%.*s: the included domain has no SPF record "
			       "(RFC 7208 5.2)",
			       (int)t->text.len, t->text.p);
			return;
		}
		trace(s, "%.*s: no match (the included record gives %s)", (int)t->text.len,
		      t->text.p, signet_spf_result_name(r));
		f->pos++;
		return;
	}
	if (mech.len > 0)
		set_mechanism(s, mech);
	s->out.result = r;
	if (r == SIGNET_SPF_FAIL) {
		s->exp = E_START;
		explain_step(s);
		if (s->exp != E_DONE)
			return; /* run() finishes once the explanation is in */
	}
	if (mech.len > 0)
		finish(s, r, "%.*s matched", (int)mech.len, mech.p);
	else
		finish(s, r, "no term matched and there is no redirect= (RFC 7208 4.7)");
}

static enum signet_spf_result qualifier_result(uint8_t q)
{
	switch (q) {
	case '-': return SIGNET_SPF_FAIL;
	case '~': return SIGNET_SPF_SOFTFAIL;
	case '?': return SIGNET_SPF_NEUTRAL;
	default: return SIGNET_SPF_PASS;
	}
}

static void term_matched(struct signet_spf *s, struct spf_term *t, const char *how)
{
	trace(s, "%.*s: matches%s%s", (int)t->text.len, t->text.p, how[0] ? ": " : "", how);
	frame_result(s, qualifier_result(t->qualifier), t->text);
}

static void term_no_match(struct signet_spf *s, struct spf_term *t, const char *how)
{
	trace(s, "%.*s: no match%s%s", (int)t->text.len, t->text.p, how[0] ? ": " : "", how);
	top(s)->pos++;
	s->tstate = T_START;
}

/* ---- the record --------------------------------------------------------- */

static void record_answer(struct signet_spf *s, enum signet_dns_status st,
			  const struct signet_rr *rrs, size_t n)
{
	struct frame *f = top(s);
	if (st == SIGNET_DNS_TEMPFAIL) {
		finish(s, SIGNET_SPF_TEMPERROR,
		       "DNS lookup of TXT %s failed temporarily (RFC 7208 4.4)", f->domain);
		return;
	}
	const struct signet_rr *rec = NULL;
	size_t nspf = 0;
	for (size_t k = 0; st == SIGNET_DNS_OK && k < n; k++)
		if (spf_record_is_spf(rrs[k].p, rrs[k].len) && nspf++ == 0)
			rec = &rrs[k];
	if (nspf > 1) {
		finish(s, SIGNET_SPF_PERMERROR,
		       "%s has %zu SPF records; exactly one is allowed "
		       "(RFC 7208 4.5)",
		       f->domain, nspf);
		return;
	}
	if (rec == NULL) {
		trace(s, "%s: no SPF record", f->domain);
		if (f->redirected)
			finish(s, SIGNET_SPF_PERMERROR,
			       "redirect=%s: no SPF record there (RFC 7208 6.1)", f->domain);
		else if (s->depth == 1)
			finish(s, SIGNET_SPF_NONE, "%s publishes no SPF record (RFC 7208 4.5)",
			       f->domain);
		else
			frame_result(s, SIGNET_SPF_NONE, (struct signet_span){NULL, 0});
		return;
	}
	if (rec->len > SIGNET_SPF_MAX_RECORD) {
		finish(s, SIGNET_SPF_PERMERROR,
		       "the SPF record of %s is %zu bytes, more than "
		       "SIGNET_SPF_MAX_RECORD (%d)",
		       f->domain, rec->len, SIGNET_SPF_MAX_RECORD);
		return;
	}
	if ((f->text = malloc(rec->len ? rec->len : 1)) == NULL) {
		finish(s, SIGNET_SPF_TEMPERROR, "out of memory");
		return;
	}
	memcpy(f->text, rec->p, rec->len);
	trace(s, "%s: \"%.*s\"", f->domain, (int)rec->len, (const char *)rec->p);
	const char *why = NULL;
	struct signet_span bad = {NULL, 0};
	enum signet_status ps = spf_record_parse(f->text, rec->len, &f->rec, &why, &bad);
	if (ps == SIGNET_ERR_NOMEM) {
		finish(s, SIGNET_SPF_TEMPERROR, "out of memory");
		return;
	}
	if (ps != SIGNET_OK) {
		set_mechanism(s, bad);
		finish(s, SIGNET_SPF_PERMERROR, "%s: syntax error in \"%.*s\": %s", f->domain,
		       (int)(bad.len > 200 ? 200 : bad.len), (const char *)bad.p, why);
		return;
	}
	f->have_record = true;
	f->pos = 0;
	s->tstate = T_START;
}

/* ---- mechanisms --------------------------------------------------------- */

static void term_lookup(struct signet_spf *s, struct frame *f, struct spf_term *t)
{
	if (!p_ready(s, t->domain))
		return;
	if (!expand_domain(s, t->domain, f->domain, t->text))
		return;
	const char *name = s->expand_buf;
	if (!name_ok(name)) {
		/* An expansion that is no valid name finds nothing (no query). */
		if (t->mech == SPF_INCLUDE) {
			set_mechanism(s, t->text);
			finish(s, SIGNET_SPF_PERMERROR, "%.*s: '%s' is not a valid domain name",
			       (int)t->text.len, t->text.p, name);
		} else {
			term_no_match(s, t, "not a valid domain name");
		}
		return;
	}
	s->tstate = T_WAIT;
	s->nnames = s->nanswered = 0;
	s->any_match = s->any_tempfail = false;
	switch (t->mech) {
	case SPF_INCLUDE:
		trace(s, "%.*s [lookup %u/%d]: TXT %s", (int)t->text.len, t->text.p, s->lookups,
		      SIGNET_SPF_MAX_DNS_TERMS, name);
		s->tstate = T_CHILD;
		frame_start(&s->frames[s->depth++], name, false);
		return;
	default: break;
	}
	/* exists looks up A whatever the client's address family (5.7). */
	enum signet_rrtype type = t->mech == SPF_MX                       ? SIGNET_RR_MX
				  : t->mech == SPF_EXISTS || !s->req.ipv6 ? SIGNET_RR_A
									  : SIGNET_RR_AAAA;
	(void)ask(s, type, name,
		  t->mech == SPF_MX       ? P_MX
		  : t->mech == SPF_EXISTS ? P_EXISTS
					  : P_ADDR,
		  0);
	trace(s, "%.*s [lookup %u/%d]: %s %s", (int)t->text.len, t->text.p, s->lookups,
	      SIGNET_SPF_MAX_DNS_TERMS, signet_rrtype_name(type), name);
}

/* ptr (5.5): a validated name equal to the target or under it matches. */
static void term_ptr(struct signet_spf *s, struct frame *f, struct spf_term *t)
{
	if (s->ptrv != PV_DONE) {
		if (s->ptrv == PV_IDLE)
			ptrv_start(s);
		return;
	}
	if (!p_ready(s, t->domain) || !expand_domain(s, t->domain, f->domain, t->text))
		return;
	const char *target = s->expand_buf;
	size_t tl = strlen(target);
	for (size_t k = 0; k < s->nptr; k++) {
		const char *n = s->ptr_names[k];
		size_t nl = strlen(n);
		if (s->ptr_valid[k] &&
		    (strcasecmp(n, target) == 0 ||
		     (nl > tl && n[nl - tl - 1] == '.' && strcasecmp(n + nl - tl, target) == 0))) {
			term_matched(s, t, n);
			return;
		}
	}
	term_no_match(s, t, "no validated name in the domain");
}

static void eval_term(struct signet_spf *s, struct frame *f, struct spf_term *t)
{
	if (s->tstate == T_START) {
		switch (t->mech) {
		case SPF_ALL: term_matched(s, t, ""); return;
		case SPF_IP4:
		case SPF_IP6: {
			bool six = t->mech == SPF_IP6;
			if (six == s->req.ipv6 &&
			    cidr_match(t->addr, s->req.ip, six ? t->cidr6 : t->cidr4))
				term_matched(s, t, "");
			else
				term_no_match(s, t, "");
			return;
		}
		default:
			if (!count_lookup(s, t->text))
				return;
			s->tstate = T_LOOKUP;
		}
	}
	if (s->tstate == T_LOOKUP) {
		if (t->mech == SPF_PTR)
			term_ptr(s, f, t);
		else
			term_lookup(s, f, t);
	}
}

/* No term matched: redirect= if there is one and no "all" (6.1), else neutral. */
static void end_of_terms(struct signet_spf *s, struct frame *f)
{
	struct spf_record *r = &f->rec;
	if (!r->has_redirect || r->has_all) {
		frame_result(s, SIGNET_SPF_NEUTRAL, (struct signet_span){NULL, 0});
		return;
	}
	if (s->tstate == T_START) {
		if (!count_lookup(s, r->redirect_text))
			return;
		s->tstate = T_LOOKUP;
	}
	if (!p_ready(s, r->redirect) || !expand_domain(s, r->redirect, f->domain, r->redirect_text))
		return;
	if (!name_ok(s->expand_buf)) {
		set_mechanism(s, r->redirect_text);
		finish(s, SIGNET_SPF_PERMERROR, "redirect=: '%s' is not a valid domain name",
		       s->expand_buf);
		return;
	}
	trace(s, "%.*s [lookup %u/%d]: TXT %s", (int)r->redirect_text.len, r->redirect_text.p,
	      s->lookups, SIGNET_SPF_MAX_DNS_TERMS, s->expand_buf);
	char target[SPF_NAME_MAX + 1];
	copy_name(target, s->expand_buf);
	frame_start(f, target, true);
	s->tstate = T_START;
}

/* ---- explanation (6.2) -------------------------------------------------- */

static void set_explanation(struct signet_spf *s, const uint8_t *text, size_t len)
{
	struct spf_macro_ctx ctx;
	const char *why;
	size_t n = 0;
	macro_ctx(s, top(s)->domain, &ctx);
	if (!spf_macro_valid((struct signet_span){text, len}, true, &why) ||
	    !spf_macro_expand((struct signet_span){text, len}, &ctx, true, s->expand_buf, &n,
			      &why) ||
	    n > SIGNET_SPF_MAX_EXPLANATION) {
		trace(s, "explanation not used: %s",
		      n > SIGNET_SPF_MAX_EXPLANATION ? "longer than SIGNET_SPF_MAX_EXPLANATION"
						     : why);
		return;
	}
	memcpy(s->explanation, s->expand_buf, n + 1);
	s->out.explanation = s->explanation;
}

static void default_explanation(struct signet_spf *s)
{
	if (s->default_exp != NULL)
		set_explanation(s, (const uint8_t *)s->default_exp, strlen(s->default_exp));
}

/* Explaining a fail (6.2): exp= of the record that decided, fetched and
 * expanded (waiting for %{p} where a macro needs it), or the default. */
static void explain_step(struct signet_spf *s)
{
	struct frame *f = top(s);
	struct spf_macro_ctx ctx;
	const char *why;
	size_t n = 0;
	struct signet_span def = {(const uint8_t *)s->default_exp,
				  s->default_exp ? strlen(s->default_exp) : 0};
	switch (s->exp) {
	case E_START:
		if (!f->rec.has_exp) {
			if (!p_ready(s, def))
				return;
			default_explanation(s);
			s->exp = E_DONE;
			return;
		}
		if (!p_ready(s, f->rec.exp))
			return;
		macro_ctx(s, f->domain, &ctx);
		if (spf_macro_expand(f->rec.exp, &ctx, false, s->exp_domain, &n, &why)) {
			spf_macro_fit_domain(s->exp_domain, &n);
			if (name_ok(s->exp_domain)) {
				(void)ask(s, SIGNET_RR_TXT, s->exp_domain, P_EXP, 0);
				trace(s, "exp=: TXT %s", s->exp_domain);
				s->exp = E_WAIT_TXT;
				return;
			}
		}
		s->exp = E_DEFAULT; /* 6.2: an exp= that cannot be used is ignored */
		return;
	case E_TEXT:
		if (!p_ready(s, (struct signet_span){(const uint8_t *)s->exp_text, s->exp_len}))
			return;
		set_explanation(s, (const uint8_t *)s->exp_text, s->exp_len);
		if (s->out.explanation == NULL)
			s->exp = E_DEFAULT;
		else
			s->exp = E_DONE;
		return;
	case E_DEFAULT:
		if (!p_ready(s, def))
			return;
		default_explanation(s);
		s->exp = E_DONE;
		return;
	default: return;
	}
}

static void exp_answer(struct signet_spf *s, enum signet_dns_status st, const struct signet_rr *rrs,
		       size_t n)
{
	/* 6.2: exactly one TXT record, else the default explanation. */
	s->exp = E_DEFAULT;
	if (st != SIGNET_DNS_OK || n != 1)
		return;
	if (rrs[0].len > SIGNET_SPF_MAX_RECORD) {
		trace(s, "explanation not used: TXT longer than SIGNET_SPF_MAX_RECORD");
		return;
	}
	if ((s->exp_text = malloc(rrs[0].len + 1)) == NULL)
		return; /* out of memory: the default explanation */
	memcpy(s->exp_text, rrs[0].p, rrs[0].len);
	s->exp_len = rrs[0].len;
	s->exp = E_TEXT;
}

/* ---- answers ------------------------------------------------------------ */

static void mx_answer(struct signet_spf *s, struct spf_term *t, enum signet_dns_status st,
		      const struct signet_rr *rrs, size_t n, const char *name)
{
	if (st == SIGNET_DNS_TEMPFAIL) {
		set_mechanism(s, t->text);
		finish(s, SIGNET_SPF_TEMPERROR, "%.*s: DNS lookup of MX %s failed temporarily",
		       (int)t->text.len, t->text.p, name);
		return;
	}
	if (st == SIGNET_DNS_NXDOMAIN || n == 0) {
		if (count_void(s, name))
			term_no_match(s, t, "no MX records");
		return;
	}
	if (n > SIGNET_SPF_MAX_NAMES) {
		set_mechanism(s, t->text);
		finish(s, SIGNET_SPF_PERMERROR,
		       "%.*s: %s has %zu MX records, more than %d "
		       "(RFC 7208 4.6.4)",
		       (int)t->text.len, t->text.p, name, n, SIGNET_SPF_MAX_NAMES);
		return;
	}
	s->nnames = 0;
	for (size_t k = 0; k < n; k++)
		if (name_from_rr(&rrs[k], s->names[s->nnames]))
			s->nnames++;
	if (s->nnames == 0) {
		term_no_match(s, t, "no usable MX names");
		return;
	}
	s->nanswered = 0;
	s->step_voids = 0;
	for (size_t k = 0; k < s->nnames; k++)
		(void)ask(s, s->req.ipv6 ? SIGNET_RR_AAAA : SIGNET_RR_A, s->names[k], P_MXADDR, k);
}

/* Every address lookup of an mx is in before it decides (the order of
 * answers must not change the result): a temporary error is temperror,
 * otherwise a match is a match (5.4). */
static void mxaddr_answer(struct signet_spf *s, struct spf_term *t, enum signet_dns_status st,
			  const struct signet_rr *rrs, size_t n)
{
	if (st == SIGNET_DNS_TEMPFAIL)
		s->any_tempfail = true;
	else if (st == SIGNET_DNS_NXDOMAIN || n == 0)
		s->step_voids++;
	else if (addr_match(s, rrs, n, t->cidr4, t->cidr6))
		s->any_match = true;
	if (++s->nanswered < s->nnames)
		return;
	if (s->any_tempfail) {
		set_mechanism(s, t->text);
		finish(s, SIGNET_SPF_TEMPERROR,
		       "%.*s: an MX host's address lookup failed "
		       "temporarily",
		       (int)t->text.len, t->text.p);
		return;
	}
	for (unsigned k = 0; k < s->step_voids; k++)
		if (!count_void(s, "an MX host"))
			return;
	if (s->any_match)
		term_matched(s, t, "an MX host's address");
	else
		term_no_match(s, t, "no MX host address in range");
}

static void addr_answer(struct signet_spf *s, struct spf_term *t, enum signet_dns_status st,
			const struct signet_rr *rrs, size_t n, const char *name)
{
	if (st == SIGNET_DNS_TEMPFAIL) {
		set_mechanism(s, t->text);
		finish(s, SIGNET_SPF_TEMPERROR, "%.*s: DNS lookup of %s failed temporarily",
		       (int)t->text.len, t->text.p, name);
		return;
	}
	if (st == SIGNET_DNS_NXDOMAIN || n == 0) {
		if (count_void(s, name))
			term_no_match(s, t, "no records");
		return;
	}
	bool hit = t->mech == SPF_EXISTS ? true : addr_match(s, rrs, n, t->cidr4, t->cidr6);
	if (hit)
		term_matched(s, t, t->mech == SPF_EXISTS ? "the name exists" : "address in range");
	else
		term_no_match(s, t, "no address in range");
}

static void dispatch(struct signet_spf *s, const struct pending *p, enum signet_dns_status st,
		     const struct signet_rr *rrs, size_t n)
{
	struct frame *f = top(s);
	struct spf_term *t =
		f->have_record && f->pos < f->rec.nterms ? &f->rec.terms[f->pos] : NULL;
	switch (p->purpose) {
	case P_RECORD: record_answer(s, st, rrs, n); return;
	case P_EXP: exp_answer(s, st, rrs, n); return;
	case P_PTR: ptrv_answer_ptr(s, st, rrs, n, p->name); return;
	case P_PTRADDR: ptrv_answer_addr(s, p, st, rrs, n); return;
	case P_MX:
		if (t != NULL)
			mx_answer(s, t, st, rrs, n, p->name);
		return;
	case P_MXADDR:
		if (t != NULL)
			mxaddr_answer(s, t, st, rrs, n);
		return;
	case P_ADDR:
	case P_EXISTS:
		if (t != NULL)
			addr_answer(s, t, st, rrs, n, p->name);
		return;
	}
}

/* ---- the machine -------------------------------------------------------- */

static bool waiting(const struct signet_spf *s)
{
	return s->nq > 0;
}

static void run(struct signet_spf *s)
{
	while (!s->done && !waiting(s)) {
		struct frame *f = top(s);
		if (s->exp != E_NONE) {
			explain_step(s);
			if (s->exp == E_DONE)
				finish(s, SIGNET_SPF_FAIL, "%s matched",
				       s->mechanism ? s->mechanism : "a term");
			continue;
		}
		if (!f->have_record) {
			(void)ask(s, SIGNET_RR_TXT, f->domain, P_RECORD, 0);
			continue;
		}
		if (s->tstate == T_WAIT || s->tstate == T_CHILD) {
			/* Our own invariant: a waiting term has a question open. */
			finish(s, SIGNET_SPF_TEMPERROR, "internal error: waiting with no question");
			return;
		}
		if (f->pos < f->rec.nterms)
			eval_term(s, f, &f->rec.terms[f->pos]);
		else
			end_of_terms(s, f);
	}
}

enum signet_status signet_spf_answer(struct signet_spf *s, unsigned id,
				     enum signet_dns_status status, const struct signet_rr *rrs,
				     size_t n, struct signet_error *err)
{
	if (s == NULL || (n > 0 && rrs == NULL))
		return error_set(err, SIGNET_ERR_INVAL, NULL, "signet_spf_answer: bad arguments");
	if (s->done)
		return SIGNET_OK; /* a late answer after the result is known */
	size_t k = 0;
	while (k < SPF_MAX_PENDING && !(s->q[k].used && s->q[k].id == id))
		k++;
	if (k == SPF_MAX_PENDING || !s->q[k].issued)
		return error_set(err, SIGNET_ERR_INVAL, NULL,
				 "signet_spf_answer: no open question %u", id);
	struct pending p = s->q[k];
	s->q[k].used = false;
	s->nq--;
	dispatch(s, &p, status, rrs, n);
	run(s);
	return SIGNET_OK;
}

bool signet_spf_next_query(struct signet_spf *s, struct signet_spf_query *q)
{
	for (size_t k = 0; s != NULL && k < SPF_MAX_PENDING; k++)
		if (s->q[k].used && !s->q[k].issued) {
			s->q[k].issued = true;
			q->id = s->q[k].id;
			q->name = s->q[k].name;
			q->type = s->q[k].type;
			return true;
		}
	return false;
}

bool signet_spf_done(const struct signet_spf *s)
{
	return s == NULL || s->done;
}

const struct signet_spf_outcome *signet_spf_outcome(const struct signet_spf *s)
{
	if (s == NULL || !s->done)
		return NULL;
	struct signet_spf_outcome *o = (struct signet_spf_outcome *)&s->out;
	o->lookups = s->lookups;
	o->void_lookups = s->voids;
	o->mechanism = s->mechanism;
	o->reason = s->reason;
	o->explanation = s->out.result == SIGNET_SPF_FAIL ? s->out.explanation : NULL;
	o->trace = (const char *const *)s->trace;
	o->ntrace = s->ntrace;
	o->trace_dropped = s->trace_dropped;
	return o;
}

/* ---- set-up ------------------------------------------------------------- */

/* %{i} (7.3): dotted quad, or 32 dot-separated nibbles for IPv6; %{c}: the
 * address as usually written. */
static void ip_strings(struct signet_spf *s)
{
	const uint8_t *ip = s->req.ip;
	if (!s->req.ipv6) {
		snprintf(s->ip_macro, sizeof s->ip_macro, "%u.%u.%u.%u", ip[0], ip[1], ip[2],
			 ip[3]);
		snprintf(s->ip_text, sizeof s->ip_text, "%u.%u.%u.%u", ip[0], ip[1], ip[2], ip[3]);
		return;
	}
	/* Upper-case nibbles, as in RFC 7208 7.4's example for 2001:db8::cb01
	 * ("1.0.B.C.0.0...8.B.D.0.1.0.0.2.ip6._spf.example.com"). */
	static const char hex[] = "0123456789ABCDEF";
	size_t n = 0;
	for (int k = 0; k < 16; k++) {
		s->ip_macro[n++] = hex[ip[k] >> 4];
		s->ip_macro[n++] = '.';
		s->ip_macro[n++] = hex[ip[k] & 15];
		s->ip_macro[n++] = k < 15 ? '.' : '\0';
	}
	/* %{c}: RFC 5952 text, as inet_ntop writes it */
	char *o = s->ip_text;
	size_t best = 0, bestlen = 0;
	for (size_t k = 0; k < 8;) {
		size_t run = 0;
		while (k + run < 8 && ip[2 * (k + run)] == 0 && ip[2 * (k + run) + 1] == 0)
			run++;
		if (run > bestlen) {
			best = k;
			bestlen = run;
		}
		k += run ? run : 1;
	}
	if (bestlen < 2)
		bestlen = 0;
	for (size_t k = 0; k < 8; k++) {
		if (bestlen && k == best) {
			o += sprintf(o, "::");
			k += bestlen - 1;
			continue;
		}
		o += sprintf(o, "%s%x", (k == 0 || (bestlen && k == best + bestlen)) ? "" : ":",
			     (unsigned)(ip[2 * k] << 8 | ip[2 * k + 1]));
	}
}

static char *dup_or_null(const char *p, bool *nomem)
{
	if (p == NULL)
		return NULL;
	char *c = strdup(p);
	*nomem = *nomem || c == NULL;
	return c;
}

/* The <sender> (4.3, 2.4): MAIL FROM, or postmaster@HELO for a null sender
 * or the HELO identity; a missing local part is "postmaster". */
static bool sender_parts(struct signet_spf *s)
{
	const char *from = s->req.identity == SIGNET_SPF_HELO || s->mail_from == NULL ||
					   s->mail_from[0] == '\0'
				   ? NULL
				   : s->mail_from;
	const char *domain;
	if (from == NULL) {
		snprintf(s->local, sizeof s->local, "postmaster");
		domain = s->helo ? s->helo : "";
	} else {
		const char *at = strrchr(from, '@');
		size_t ll = at ? (size_t)(at - from) : 0;
		if (ll == 0 || ll >= sizeof s->local)
			snprintf(s->local, sizeof s->local, "postmaster");
		else
			snprintf(s->local, sizeof s->local, "%.*s", (int)ll, from);
		domain = at ? at + 1 : from;
	}
	if (strlen(domain) > SPF_NAME_MAX + 1)
		return false;
	snprintf(s->sender_domain, sizeof s->sender_domain, "%s", domain);
	size_t dl = strlen(s->sender_domain);
	if (dl > 0 && s->sender_domain[dl - 1] == '.')
		s->sender_domain[dl - 1] = '\0';
	snprintf(s->sender, sizeof s->sender, "%s@%s", s->local, s->sender_domain);
	return true;
}

enum signet_status signet_spf_new(const struct signet_spf_request *req, struct signet_spf **out,
				  struct signet_error *err)
{
	if (req == NULL || out == NULL)
		return error_set(err, SIGNET_ERR_INVAL, NULL, "signet_spf_new: bad arguments");
	*out = NULL;
	struct signet_spf *s = calloc(1, sizeof *s);
	if (s == NULL)
		return error_set(err, SIGNET_ERR_NOMEM, NULL, "out of memory");
	bool nomem = false;
	s->req = *req;
	s->mail_from = dup_or_null(req->mail_from, &nomem);
	s->helo = dup_or_null(req->helo, &nomem);
	s->default_exp = dup_or_null(req->default_explanation, &nomem);
	s->receiver = dup_or_null(req->receiver, &nomem);
	if (nomem) {
		signet_spf_free(s);
		return error_set(err, SIGNET_ERR_NOMEM, NULL, "out of memory");
	}
	/* An IPv4-mapped IPv6 address is checked as the IPv4 address. */
	static const uint8_t mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
	if (s->req.ipv6 && memcmp(s->req.ip, mapped, 12) == 0) {
		memmove(s->req.ip, s->req.ip + 12, 4);
		s->req.ipv6 = false;
	}
	ip_strings(s);
	snprintf(s->time_text, sizeof s->time_text, "%llu", (unsigned long long)req->now);
	s->out.identity = req->identity;
	s->depth = 1;
	bool sane = sender_parts(s);
	s->out.domain = s->sender_domain;
	s->out.sender = s->sender;
	if (!sane || !domain_checkable(s->sender_domain)) {
		finish(s, SIGNET_SPF_NONE, "'%.60s' is not a domain SPF can check (RFC 7208 4.3)",
		       s->sender_domain);
	} else {
		frame_start(&s->frames[0], s->sender_domain, false);
		run(s);
	}
	*out = s;
	return SIGNET_OK;
}

void signet_spf_free(struct signet_spf *s)
{
	if (s == NULL)
		return;
	for (size_t k = 0; k < SPF_MAX_FRAMES; k++)
		frame_clear(&s->frames[k]);
	for (size_t k = 0; k < s->ntrace; k++)
		free(s->trace[k]);
	free(s->trace);
	free(s->mechanism);
	free(s->exp_text);
	free(s->mail_from);
	free(s->helo);
	free(s->default_exp);
	free(s->receiver);
	free(s);
}
