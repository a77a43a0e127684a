/* session_arc.c: ARC (RFC 8617) of one message in signetd (session_arc.h).
 * Verifies the chain of mail that is not signed, gives arc= to
 * Authentication-Results, and seals as arc.seal says. It judges only what
 * a seal needs (is the recipient outside? which of our keys seals?); the
 * chain itself is libsignet's (lib/arc.c). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "config.h"
#include "keystore.h"
#include "session_arc.h"

struct arc_lookup {
	unsigned query_id; /* the validator's */
	char name[600];
	bool handed_out, answered;
};

struct session_arc {
	const struct signetd_config *cfg;
	const struct keystore *ks;
	bool trusted, authenticated;
	char sender_domain[256]; /* "" for <> or no domain */
	bool rcpt_outside;       /* a recipient not in our domains */
	char rcpt_domain[256];   /* the first recipient domain of ours with a key */
	struct signet_arc *a;    /* NULL: not started, or dropped after an error */
	bool finished;
	struct arc_lookup lk[SESSION_ARC_MAX_LOOKUPS];
	size_t nlk;
	char *our_ar;                /* owned: our newest AR at EOH, CRLF-folded, or NULL */
	const char *our_ar_problem;  /* why a reception AR that is there was not kept */
	enum signet_result upstream; /* its arc= (NONE when absent) */
	struct signet_ar_arc entry;
	char sealed[400]; /* for the log: "sealed i=.. d=.. s=.. cv=.." or why not */
	bool did_seal;
	enum signet_result seal_cv;
};

/* The domain of an address ("<a@b>", "a@b"), lower-cased into out; "" if none. */
static void addr_domain(const uint8_t *p, size_t len, char *out, size_t cap)
{
	out[0] = '\0';
	while (len > 0 && (p[len - 1] == '\0' || p[len - 1] == '>' || p[len - 1] == ' '))
		len--;
	const uint8_t *at = NULL;
	for (size_t k = 0; k < len; k++)
		if (p[k] == '@')
			at = p + k;
	if (at == NULL)
		return;
	size_t n = len - (size_t)(at + 1 - p);
	if (n == 0 || n >= cap || memchr(at + 1, '\0', n) != NULL)
		return;
	for (size_t k = 0; k < n; k++) {
		uint8_t c = at[1 + k];
		out[k] = (char)(c >= 'A' && c <= 'Z' ? c + 32 : c);
	}
	out[n] = '\0';
	if (n > 0 && out[n - 1] == '.')
		out[n - 1] = '\0';
}

/* Ours: in arc.local_domains (or below), else a dkim_signing domain { }. */
static bool domain_ours(const struct session_arc *sa, const char *domain)
{
	size_t n = 0;
	if (domain[0] == '\0')
		return false;
	if (sa->cfg->arc.n_local_domains > 0)
		return config_arc_local_domain(&sa->cfg->arc, domain);
	return sa->ks != NULL && keystore_find(sa->ks, domain, &n) != NULL;
}

/* The dkim_signing key of domain that seals: arc.selector, else the first
 * configured one; the fallback (dkim_signing.path) key when try_fallback. */
static const struct keystore_key *seal_key(const struct session_arc *sa, const char *domain)
{
	const char *want = sa->cfg->arc.selector;
	size_t n = 0;
	if (sa->ks == NULL || domain[0] == '\0')
		return NULL;
	const struct keystore_key *k = keystore_find(sa->ks, domain, &n);
	for (size_t j = 0; k != NULL && j < n; j++)
		if (want == NULL || strcasecmp(k[j].selector, want) == 0)
			return &k[j];
	if (n == 0 && sa->cfg->signing.try_fallback) {
		k = keystore_find_fallback(sa->ks, domain);
		if (k != NULL && (want == NULL || strcasecmp(k->selector, want) == 0))
			return k;
	}
	return NULL;
}

struct session_arc *session_arc_new(const struct signetd_config *cfg, const struct keystore *ks,
				    bool trusted, bool authenticated, const uint8_t *sender,
				    size_t slen)
{
	if (!cfg->arc.enabled)
		return NULL;
	struct session_arc *sa = calloc(1, sizeof *sa);
	if (sa == NULL)
		return NULL;
	sa->cfg = cfg;
	sa->ks = ks;
	sa->trusted = trusted;
	sa->authenticated = authenticated;
	addr_domain(sender, slen, sa->sender_domain, sizeof sa->sender_domain);
	return sa;
}

void session_arc_free(struct session_arc *sa)
{
	if (sa == NULL)
		return;
	signet_arc_free(sa->a);
	free(sa->our_ar);
	free(sa);
}

void session_arc_rcpt(struct session_arc *sa, const uint8_t *addr, size_t len)
{
	char d[256];
	if (sa == NULL)
		return;
	addr_domain(addr, len, d, sizeof d);
	if (!domain_ours(sa, d)) {
		sa->rcpt_outside = true;
		return;
	}
	if (sa->rcpt_domain[0] == '\0' && seal_key(sa, d) != NULL)
		snprintf(sa->rcpt_domain, sizeof sa->rcpt_domain, "%s", d);
}

/* ARC-SEAL-03: the arc= of our Authentication-Results from reception,
 * skipping quoted strings and comments (RFC 8601 2.2): "arc=pass" after a
 * ';' or white space. NONE when absent. */
static enum signet_result ar_arc_result(const char *v)
{
	int depth = 0;
	bool quoted = false;
	for (const char *p = v; *p != '\0'; p++) {
		if (quoted) {
			if (*p == '\\' && p[1] != '\0')
				p++;
			else if (*p == '"')
				quoted = false;
			continue;
		}
		if (*p == '"' && depth == 0)
			quoted = true;
		else if (*p == '(')
			depth++;
		else if (*p == ')' && depth > 0)
			depth--;
		else if (depth == 0 && strncasecmp(p, "arc=", 4) == 0 &&
			 (p == v || strchr(" \t\r\n;", p[-1]) != NULL)) {
			const char *r = p + 4;
			size_t n = strcspn(r, " \t\r\n;(");
			if (n == 4 && strncasecmp(r, "pass", 4) == 0)
				return SIGNET_RESULT_PASS;
			if (n == 4 && strncasecmp(r, "fail", 4) == 0)
				return SIGNET_RESULT_FAIL;
			return SIGNET_RESULT_NONE;
		}
	}
	return SIGNET_RESULT_NONE;
}

/* A header value as an AAR payload: leading WSP dropped, every line end
 * (the MTA's bare LF or CRLF) made CRLF, at most SESSION_ARC_MAX_AR bytes
 * then. NULL (why set) when a line end is not a fold (no WSP after it), it
 * is too long, or out of memory. */
static char *aar_payload(const uint8_t *v, size_t len, const char **why)
{
	while (len > 0 && (*v == ' ' || *v == '\t'))
		v++, len--;
	while (len > 0 && (v[len - 1] == '\r' || v[len - 1] == '\n' || v[len - 1] == ' '))
		len--;
	*why = "our Authentication-Results from reception is over SESSION_ARC_MAX_AR bytes";
	if (len == 0 || len > SESSION_ARC_MAX_AR)
		return NULL;
	char *out = malloc(2 * len + 1), *w = out;
	*why = "out of memory";
	if (out == NULL)
		return NULL;
	for (size_t k = 0; k < len; k++) {
		if (v[k] == '\r' && k + 1 < len && v[k + 1] == '\n')
			continue; /* the LF writes the CRLF */
		if (v[k] == '\r' || v[k] == '\0' ||
		    (v[k] == '\n' && (k + 1 == len || (v[k + 1] != ' ' && v[k + 1] != '\t')))) {
			*why = "our Authentication-Results from reception has a bare CR, LF or NUL";
			free(out);
			return NULL;
		}
		if (v[k] == '\n')
			*w++ = '\r';
		*w++ = (char)v[k];
	}
	*w = '\0';
	if ((size_t)(w - out) > SESSION_ARC_MAX_AR) {
		*why = "our Authentication-Results from reception is over SESSION_ARC_MAX_AR bytes";
		free(out);
		return NULL;
	}
	return out;
}

/* Our newest (topmost) Authentication-Results, only from a trusted client:
 * at reception every one claiming our authserv-id is removed (AR-DEL-01),
 * so one that a local reinjection carries is the one we wrote. */
static void keep_our_ar(struct session_arc *sa, const struct header_store *hs, const char *id)
{
	if (!sa->trusted)
		return;
	for (size_t k = 0; k < hs->count; k++) {
		struct signet_span n = header_store_name(hs, k);
		if (n.len != 22 ||
		    strncasecmp((const char *)n.p, "Authentication-Results", 22) != 0)
			continue;
		struct signet_span v = header_store_value(hs, k);
		if (!signet_ar_is_ours(v.p, v.len, id))
			continue;
		sa->our_ar = aar_payload(v.p, v.len, &sa->our_ar_problem);
		if (sa->our_ar != NULL)
			sa->upstream = ar_arc_result(sa->our_ar);
		return;
	}
}

bool session_arc_start(struct session_arc *sa, const struct header_store *hs,
		       const char *authserv_id, char *why, size_t whycap)
{
	struct signet_error err = {0};
	struct signet_arc_options o = {.now = (uint64_t)time(NULL)};
	enum signet_status st = signet_arc_new(&o, &sa->a, &err);
	for (size_t k = 0; st == SIGNET_OK && k < hs->count; k++) {
		struct signet_span n = header_store_raw_name(hs, k), v = header_store_value(hs, k);
		st = signet_arc_header(sa->a, n.p, n.len, v.p, v.len, &err);
	}
	if (st == SIGNET_OK)
		st = signet_arc_end_of_headers(sa->a, &err);
	if (st != SIGNET_OK) {
		snprintf(why, whycap, "ARC not verified: %s", err.msg);
		signet_arc_free(sa->a);
		sa->a = NULL;
		return false;
	}
	keep_our_ar(sa, hs, authserv_id);
	struct signet_query q;
	while (sa->nlk < SESSION_ARC_MAX_LOOKUPS && signet_arc_next_query(sa->a, &q)) {
		struct arc_lookup *l = &sa->lk[sa->nlk++];
		l->query_id = q.id;
		snprintf(l->name, sizeof l->name, "%s", q.name);
	}
	return true;
}

bool session_arc_body(struct session_arc *sa, const uint8_t *p, size_t len, char *why,
		      size_t whycap)
{
	struct signet_error err = {0};
	if (sa == NULL || sa->a == NULL || sa->finished)
		return true;
	if (signet_arc_body(sa->a, p, len, &err) == SIGNET_OK)
		return true;
	snprintf(why, whycap, "ARC not verified: %s", err.msg);
	signet_arc_free(sa->a);
	sa->a = NULL;
	return false;
}

bool session_arc_next_lookup(struct session_arc *sa, unsigned *k, const char **name)
{
	for (size_t j = 0; sa != NULL && sa->a != NULL && j < sa->nlk; j++)
		if (!sa->lk[j].handed_out) {
			sa->lk[j].handed_out = true;
			*k = (unsigned)j;
			*name = sa->lk[j].name;
			return true;
		}
	return false;
}

bool session_arc_lookup_wanted(const struct session_arc *sa, unsigned k)
{
	return sa != NULL && sa->a != NULL && !sa->finished && k < sa->nlk && !sa->lk[k].answered;
}

void session_arc_answer(struct session_arc *sa, unsigned k, const struct dns_answer *a)
{
	struct signet_error err = {0};
	if (!session_arc_lookup_wanted(sa, k))
		return;
	sa->lk[k].answered = true;
	/* An error leaves the query unanswered: temperror at finish. */
	if (signet_arc_answer(sa->a, sa->lk[k].query_id, a->status, a->records, a->nrecords,
			      &err) != SIGNET_OK)
		snprintf(sa->sealed, sizeof sa->sealed, "ARC key answer for %s not taken: %s",
			 sa->lk[k].name, err.msg);
}

bool session_arc_lookups_done(const struct session_arc *sa)
{
	for (size_t j = 0; sa != NULL && sa->a != NULL && j < sa->nlk; j++)
		if (!sa->lk[j].answered)
			return false;
	return true;
}

void session_arc_finish(struct session_arc *sa)
{
	struct signet_error err = {0};
	if (sa == NULL || sa->a == NULL || sa->finished)
		return;
	if (signet_arc_finish(sa->a, &err) != SIGNET_OK) {
		snprintf(sa->sealed, sizeof sa->sealed, "ARC not verified: %s", err.msg);
		signet_arc_free(sa->a);
		sa->a = NULL;
		return;
	}
	sa->finished = true;
}

const struct signet_arc_result *session_arc_result(const struct session_arc *sa)
{
	return sa != NULL && sa->a != NULL && sa->finished ? signet_arc_result(sa->a) : NULL;
}

bool session_arc_sealer(const struct session_arc *sa, unsigned i, char *out, size_t cap)
{
	const uint8_t *d;
	size_t len;
	if (session_arc_result(sa) == NULL || !signet_arc_sealer(sa->a, i, &d, &len) || len >= cap)
		return false;
	memcpy(out, d, len);
	out[len] = '\0';
	return true;
}

const struct signet_ar_arc *session_arc_ar_entry(struct session_arc *sa, const char *remote_ip)
{
	const struct signet_arc_result *r = session_arc_result(sa);
	if (r == NULL)
		return NULL;
	sa->entry = (struct signet_ar_arc){.result = r, .remote_ip = remote_ip};
	return &sa->entry;
}

/* ARC-SEAL-02: does arc.seal ask for a seal of this (verified) message?
 * why says why not. */
static bool seal_wanted(const struct session_arc *sa, char *why, size_t whycap)
{
	switch (sa->cfg->arc.seal) {
	case CONFIG_ARC_SEAL_ALL: return true;
	case CONFIG_ARC_SEAL_FORWARDED:
		if (sa->authenticated)
			snprintf(why, whycap, "not sealed: from an authenticated sender");
		else if (sa->trusted && sa->our_ar == NULL && sa->our_ar_problem != NULL)
			snprintf(why, whycap, "not sealed: %s", sa->our_ar_problem);
		else if (sa->trusted && sa->our_ar == NULL)
			snprintf(why, whycap,
				 "not sealed: local mail without our Authentication-Results "
				 "from reception");
		else if (!sa->rcpt_outside)
			snprintf(why, whycap, "not sealed: no recipient outside our domains");
		else
			return true;
		return false;
	case CONFIG_ARC_SEAL_NONE: break;
	}
	why[0] = '\0';
	return false;
}

/* The sealing domain: a recipient domain of ours (rspamd's
 * use_domain_sign_inbound = "recipient"), else the envelope sender's (a
 * list's bounce address), else dkim_signing's first domain { }. */
static const struct keystore_key *seal_domain_key(const struct session_arc *sa)
{
	const struct keystore_key *k = NULL;
	if (sa->rcpt_domain[0] != '\0')
		k = seal_key(sa, sa->rcpt_domain);
	if (k == NULL && domain_ours(sa, sa->sender_domain))
		k = seal_key(sa, sa->sender_domain);
	for (size_t j = 0; k == NULL && sa->ks != NULL && j < keystore_count(sa->ks); j++) {
		const struct keystore_key *c = keystore_at(sa->ks, j);
		if (!c->fallback)
			k = seal_key(sa, c->domain);
	}
	return k;
}

static bool seal(struct session_arc *sa, const char *ar, const char **as, const char **ams,
		 const char **aar, char *why, size_t whycap)
{
	if (!seal_wanted(sa, why, whycap))
		return false;
	if (session_arc_result(sa) == NULL) {
		snprintf(why, whycap, "not sealed: no ARC result");
		return false;
	}
	const struct keystore_key *k = seal_domain_key(sa);
	if (k == NULL) {
		snprintf(why, whycap, "not sealed: no dkim_signing key%s%s to seal with",
			 sa->cfg->arc.selector ? " with arc.selector " : "",
			 sa->cfg->arc.selector ? sa->cfg->arc.selector : "");
		return false;
	}
	/* ARC-SEAL-03: a reinjected message carries what we saw at reception
	 * (kept only from a trusted client: keep_our_ar). */
	bool upstream = sa->our_ar != NULL;
	struct signet_arc_seal_params p = {
		.domain = k->domain,
		.selector = k->selector,
		.key = k->key,
		.authres = upstream ? sa->our_ar : ar,
		.timestamp = (uint64_t)time(NULL),
		.upstream = upstream ? sa->upstream : SIGNET_RESULT_NONE,
	};
	struct signet_arc_seal s;
	struct signet_error err = {0};
	if (signet_arc_seal(sa->a, &p, &s, &err) != SIGNET_OK) {
		snprintf(why, whycap, "not sealed: %s", err.msg);
		return false;
	}
	if (s.aar == NULL) {
		snprintf(why, whycap,
			 "not sealed: the newest ARC-Seal says cv=fail (RFC 8617 5.1.2)");
		return false;
	}
	snprintf(why, whycap, "sealed i=%u d=%s s=%s cv=%s%s", s.instance, k->domain, k->selector,
		 signet_result_name(s.cv), upstream ? " (results from reception)" : "");
	sa->did_seal = true;
	sa->seal_cv = s.cv;
	*as = s.as;
	*ams = s.ams;
	*aar = s.aar;
	return true;
}

bool session_arc_seal(struct session_arc *sa, const char *ar, const char **as, const char **ams,
		      const char **aar)
{
	*as = *ams = *aar = NULL;
	if (sa == NULL)
		return false;
	return seal(sa, ar, as, ams, aar, sa->sealed, sizeof sa->sealed);
}

bool session_arc_sealed(const struct session_arc *sa, enum signet_result *cv)
{
	if (sa == NULL || !sa->did_seal)
		return false;
	*cv = sa->seal_cv;
	return true;
}

void session_arc_describe(const struct session_arc *sa, char *line, size_t cap)
{
	const struct signet_arc_result *r = session_arc_result(sa);
	line[0] = '\0';
	if (r == NULL) {
		if (sa != NULL && sa->sealed[0] != '\0')
			snprintf(line, cap, "; %s", sa->sealed);
		return;
	}
	char extra[64] = "";
	if (r->result == SIGNET_RESULT_PASS && r->oldest_pass != 0)
		snprintf(extra, sizeof extra, " (oldest-pass=%u)", r->oldest_pass);
	snprintf(line, cap, "; arc=%s%s%s%s%s%s%s", signet_result_name(r->result), extra,
		 r->reason[0] ? " (" : "", r->reason, r->reason[0] ? ")" : "",
		 sa->sealed[0] ? "; " : "", sa->sealed);
}
