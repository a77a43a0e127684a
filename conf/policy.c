/* policy.c: who is signed and with which key (see policy.h), following
 * rspamd's dkim_signing (lualib/lua_dkim_tools.lua prepare_dkim_signing):
 * eligibility, envelope and From checks, the signing domain, mismatch
 * checks, then the key: exact domain, eSLD, fallback. From's domains come
 * from libsignet's RFC 5322 lexer (lib/rfc5322.c). Pure: no I/O, no globals. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <signet/rfc5322.h>

#include "policy.h"

/* ---- RFC 5322 From addresses -------------------------------------------- */

/* libsignet's one RFC 5322 lexer (signet_rfc5322_from_domains) gives the
 * domains as written; the policy keeps them ASCII lower-cased. */
bool policy_from_addrs(const char *value, size_t len, struct policy_addrs *out, char *why,
		       size_t whycap)
{
	struct signet_rfc5322_domain d[POLICY_MAX_ADDRS];
	struct signet_error err = {0};
	memset(out, 0, sizeof *out);
	if (len > POLICY_MAX_FIELD) {
		snprintf(why, whycap, "longer than POLICY_MAX_FIELD (%d bytes)", POLICY_MAX_FIELD);
		return false;
	}
	if (signet_rfc5322_from_domains((const uint8_t *)value, len, d, POLICY_MAX_ADDRS, &out->n,
					&err) != SIGNET_OK) {
		snprintf(why, whycap, "%s", err.msg);
		return false;
	}
	for (size_t k = 0; k < out->n && k < POLICY_MAX_ADDRS; k++) {
		/* at most 253 octets (the lexer's dot-atom bound), domain[k] holds 256 */
		size_t n = d[k].len < sizeof out->domain[k] ? d[k].len : sizeof out->domain[k] - 1;
		for (size_t j = 0; j < n; j++)
			out->domain[k][j] =
				(char)(d[k].p[j] >= 'A' && d[k].p[j] <= 'Z' ? d[k].p[j] + 32
									    : d[k].p[j]);
		out->domain[k][n] = '\0';
	}
	return true;
}

/* ---- the decision ------------------------------------------------------- */

struct facts {
	const struct signetd_config *cfg;
	const struct config_signing *sg;
	const struct keystore *ks;
	char client[64]; /* for messages */
	bool non_smtp, is_local, in_networks;
	const char *auth; /* NULL when not authenticated */
	enum { VIA_AUTH = 1, VIA_NETWORKS, VIA_LOCAL } via;
	char hdom[256]; /* From domain */
	char edom[256]; /* envelope domain, "" if none */
	char udom[256]; /* auth user's domain, "" if none */
	bool env_empty;
};

static bool no(struct policy_decision *out, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static bool no(struct policy_decision *out, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(out->reason, sizeof out->reason, fmt, ap);
	va_end(ap);
	out->sign = false;
	out->code = POLICY_OTHER; /* callers with a more precise code set it after */
	return false;
}

const char *policy_reason_label(enum policy_reason r)
{
	static const char *const names[POLICY_NREASONS] = {
		[POLICY_SIGNED] = "signed",
		[POLICY_NOT_LOCAL_NOT_AUTH] = "not_local_not_authenticated",
		[POLICY_NO_KEY] = "no_key",
		[POLICY_FROM_MISSING] = "from_missing",
		[POLICY_FROM_REPEATED] = "from_repeated",
		[POLICY_MISMATCH] = "mismatch",
		[POLICY_OTHER] = "other",
	};
	return (unsigned)r < POLICY_NREASONS ? names[r] : "other";
}

static void copy_lower(char *out, size_t cap, const char *s, size_t len)
{
	if (len >= cap)
		len = 0; /* too long to be a domain: treated as none */
	for (size_t k = 0; k < len; k++)
		out[k] = (char)(s[k] >= 'A' && s[k] <= 'Z' ? s[k] + 32 : s[k]);
	out[len] = '\0';
	if (len > 0 && out[len - 1] == '.')
		out[len - 1] = '\0';
}

/* The domain after the last '@' of an address, lower case; "" if none. */
static void addr_domain(const char *addr, char *out, size_t cap)
{
	out[0] = '\0';
	if (addr == NULL)
		return;
	size_t len = strlen(addr);
	if (len >= 2 && addr[0] == '<' && addr[len - 1] == '>')
		addr++, len -= 2;
	const char *at = NULL;
	for (size_t k = 0; k < len; k++)
		if (addr[k] == '@')
			at = addr + k;
	if (at != NULL)
		copy_lower(out, cap, at + 1, len - (size_t)(at + 1 - addr));
}

static void client_text(const struct policy_facts *f, char *out, size_t cap)
{
	snprintf(out, cap, "(unknown address)");
	if (f->client_addr != NULL && f->client_addr[0] != '\0') {
		snprintf(out, cap, "%s", f->client_addr);
	} else if (f->client_sa != NULL && f->client_sa->sa_family == AF_INET) {
		inet_ntop(AF_INET, &((const struct sockaddr_in *)f->client_sa)->sin_addr, out,
			  (socklen_t)cap);
	} else if (f->client_sa != NULL && f->client_sa->sa_family == AF_INET6) {
		inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)f->client_sa)->sin6_addr, out,
			  (socklen_t)cap);
	}
}

/* Eligibility, in rspamd's order: authenticated, sign_networks, local. */
static bool eligible(struct facts *x, const struct policy_facts *f, struct policy_decision *out)
{
	const struct config_signing *sg = x->sg;
	if (f->client_addr != NULL) {
		x->is_local = cidr_list_match_str(&x->cfg->local_addrs, f->client_addr);
		x->in_networks = cidr_list_match_str(&sg->sign_networks, f->client_addr);
	} else if (f->client_sa != NULL) {
		x->is_local = cidr_list_match_sa(&x->cfg->local_addrs, f->client_sa);
		x->in_networks = cidr_list_match_sa(&sg->sign_networks, f->client_sa);
	}
	if (f->non_smtp) { /* MILTER-PFX-01: sendmail(1)/pickup mail is local */
		x->non_smtp = x->is_local = true;
		x->in_networks = false;
		snprintf(x->client, sizeof x->client, "non-SMTP");
	}
	if (x->auth && sg->sign_authenticated)
		x->via = VIA_AUTH;
	else if (x->in_networks)
		x->via = VIA_NETWORKS;
	else if (x->is_local && sg->sign_local)
		x->via = VIA_LOCAL;
	if (x->via != 0)
		return true;
	const char *where = f->non_smtp ? "the non-SMTP submission" : x->client;
	if (x->auth && x->is_local)
		return no(out,
			  "sender authenticated as %s but sign_authenticated is off, and %s "
			  "is local but sign_local is off",
			  x->auth, where);
	if (x->auth)
		return no(out,
			  "sender authenticated as %s but sign_authenticated is off, and "
			  "client %s is not in local_addrs",
			  x->auth, x->client);
	if (x->is_local)
		return no(out,
			  f->non_smtp ? "%s is local but sign_local is off"
				      : "client %s is in local_addrs but sign_local is off",
			  where);
	no(out, "sender not authenticated and client %s not in local_addrs", x->client);
	out->code = POLICY_NOT_LOCAL_NOT_AUTH;
	return false;
}

/* DKIM-SIGN-07 (RFC 6376 5.4, RFC 5322 3.6): exactly one From with one
 * mailbox that has a domain. */
static bool from_domain(struct facts *x, const struct policy_facts *f, struct policy_decision *out)
{
	if (f->n_from == 0 || f->from == NULL) {
		no(out, "From header missing");
		out->code = POLICY_FROM_MISSING;
		return false;
	}
	if (f->n_from > 1) {
		no(out, "From header repeated (%zu From fields)", f->n_from);
		out->code = POLICY_FROM_REPEATED;
		return false;
	}
	const char *v = f->from[0] ? f->from[0] : "";
	size_t len = f->from_len ? f->from_len[0] : strlen(v);
	struct policy_addrs a;
	char why[200];
	if (!policy_from_addrs(v, len, &a, why, sizeof why))
		return no(out, "From header has no parseable address: %s", why);
	if (a.n == 0)
		return no(out, "From header has no address");
	if (a.n > 1)
		return no(out, "From header has %zu addresses", a.n);
	snprintf(x->hdom, sizeof x->hdom, "%s", a.domain[0]);
	return true;
}

/* rspamd's eSLD (use_esld): the nearest configured domain that d is
 * within (domain { } or fallback keys), else the organizational domain by
 * the public suffix list (verify.public_suffix_list, as rspamd's
 * get_tld), else, with no list loaded, the last two labels. */
static void esld(const struct facts *x, const char *d, char *out, size_t cap)
{
	const struct keystore *ks = x->ks;
	size_t n;
	for (const char *p = d; p != NULL; p = strchr(p, '.') ? strchr(p, '.') + 1 : NULL) {
		const struct keystore_key *fb = keystore_find_fallback(ks, p);
		if (keystore_find(ks, p, &n) != NULL ||
		    (fb != NULL && strcmp(fb->domain, p) == 0)) {
			snprintf(out, cap, "%s", p);
			return;
		}
	}
	const char *org = x->cfg->psl ? signet_psl_org_domain(x->cfg->psl, d, strlen(d)) : NULL;
	if (org != NULL) {
		snprintf(out, cap, "%s", org);
		return;
	}
	const char *last = strrchr(d, '.');
	const char *two = d;
	if (last != NULL)
		for (const char *p = d; p < last; p++)
			if (*p == '.')
				two = p + 1;
	snprintf(out, cap, "%s", two);
}

static bool same_domain(const struct facts *x, const char *a, const char *b)
{
	char ea[256], eb[256];
	if (!x->sg->use_esld)
		return strcmp(a, b) == 0;
	esld(x, a, ea, sizeof ea);
	esld(x, b, eb, sizeof eb);
	return strcmp(ea, eb) == 0;
}

static const char *source_name(enum config_use_domain u)
{
	return u == USE_DOMAIN_ENVELOPE ? "the envelope sender"
	       : u == USE_DOMAIN_AUTH   ? "the authenticated user"
					: "the From header";
}

static bool signing_domain(struct facts *x, enum config_use_domain *mode, char *dom, size_t cap,
			   struct policy_decision *out)
{
	const struct config_signing *sg = x->sg;
	*mode = sg->use_domain;
	if (x->via == VIA_NETWORKS && sg->use_domain_sign_networks)
		*mode = sg->use_domain_sign_networks;
	else if (x->is_local && sg->use_domain_sign_local)
		*mode = sg->use_domain_sign_local;
	if (*mode == USE_DOMAIN_ENVELOPE && x->edom[0] == '\0')
		return no(out, "use_domain = envelope but the envelope sender has no domain");
	if (*mode == USE_DOMAIN_AUTH && x->udom[0] == '\0')
		return no(out,
			  x->auth ? "use_domain = auth but auth user %s has no domain"
				  : "use_domain = auth but the sender is not authenticated%s",
			  x->auth ? x->auth : "");
	snprintf(dom, cap, "%s",
		 *mode == USE_DOMAIN_ENVELOPE ? x->edom
		 : *mode == USE_DOMAIN_AUTH   ? x->udom
					      : x->hdom);
	return true;
}

/* rspamd's sanity checks: envelope vs From, and the auth user's domain. */
static bool mismatch_checks(const struct facts *x, enum config_use_domain mode, const char *dom,
			    struct policy_decision *out)
{
	const struct config_signing *sg = x->sg;
	if (x->edom[0] && !sg->allow_hdrfrom_mismatch && !same_domain(x, x->hdom, x->edom) &&
	    !(sg->allow_hdrfrom_mismatch_local && x->is_local) &&
	    !(sg->allow_hdrfrom_mismatch_sign_networks && x->via == VIA_NETWORKS))
		return no(out,
			  "envelope sender domain %s differs from From domain %s and "
			  "allow_hdrfrom_mismatch is off",
			  x->edom, x->hdom);
	if (x->auth && !sg->allow_username_mismatch) {
		if (x->udom[0] == '\0')
			return no(out,
				  "auth user %s has no domain and allow_username_mismatch is "
				  "off",
				  x->auth);
		if (!same_domain(x, x->udom, dom))
			return no(out,
				  "auth user %s's domain differs from %s domain %s and "
				  "allow_username_mismatch is off",
				  x->auth,
				  mode == USE_DOMAIN_ENVELOPE ? "envelope"
				  : mode == USE_DOMAIN_AUTH   ? "auth"
							      : "From",
				  dom);
	}
	return true;
}

static void take_keys(struct policy_decision *out, const char *d, const struct keystore_key *k,
		      size_t n)
{
	snprintf(out->domain, sizeof out->domain, "%s", d);
	out->nsigs = 0;
	for (size_t j = 0; j < n && out->nsigs < SIGNET_MAX_SIGNERS; j++)
		out->sigs[out->nsigs++] = (struct policy_sig){k[j].selector, k[j].key, k[j].path};
	out->sign = true;
}

static int domain_name_cmp(const void *key, const void *elem)
{
	return strcmp(key, ((const struct config_domain *)elem)->name);
}

/* rspamd's use_redis (lua_dkim_tools prepare_dkim_signing): the selectors
 * of the domain's domain { } entry (or a parent's with use_esld), else,
 * with try_fallback, the top-level selector; selector_prefix replaces them
 * with the one Redis names. The keys themselves are HGET at signing. */
static bool redis_selectors(const struct facts *x, const char *dom, struct policy_decision *out)
{
	const struct config_signing *sg = x->sg;
	const struct config_domain *cd = NULL;
	for (const char *p = dom; cd == NULL && p != NULL && sg->ndomains > 0;
	     p = sg->use_esld && strchr(p, '.') ? strchr(p, '.') + 1 : NULL)
		cd = bsearch(p, sg->domains, sg->ndomains, sizeof *sg->domains, domain_name_cmp);
	if (cd == NULL && !sg->try_fallback)
		return false;
	if (cd != NULL)
		snprintf(out->domain, sizeof out->domain, "%s", cd->name);
	else if (sg->use_esld)
		esld(x, dom, out->domain, sizeof out->domain);
	else
		snprintf(out->domain, sizeof out->domain, "%s", dom);
	out->nsigs = 0;
	if (sg->selector_prefix != NULL)
		out->sigs[out->nsigs++] = (struct policy_sig){"", NULL, NULL};
	else if (cd != NULL)
		for (size_t j = 0; j < cd->nkeys && out->nsigs < SIGNET_MAX_SIGNERS; j++)
			out->sigs[out->nsigs++] =
				(struct policy_sig){cd->keys[j].selector, NULL, NULL};
	else
		out->sigs[out->nsigs++] = (struct policy_sig){sg->selector, NULL, NULL};
	out->from_redis = out->sign = true;
	return true;
}

/* The key: the domain's own, then (use_esld) a parent's, then the fallback. */
static bool find_keys(const struct facts *x, const char *dom, struct policy_decision *out)
{
	size_t n;
	if (x->sg->use_redis)
		return redis_selectors(x, dom, out);
	const struct keystore_key *k = keystore_find(x->ks, dom, &n);
	const char *p = dom;
	while (k == NULL && x->sg->use_esld && (p = strchr(p, '.')) != NULL)
		k = keystore_find(x->ks, ++p, &n);
	if (k != NULL) {
		take_keys(out, k->domain, k, n);
		return true;
	}
	if (!x->sg->try_fallback)
		return false;
	k = keystore_find_fallback(x->ks, dom);
	for (p = dom; (k == NULL || strcmp(k->domain, "*") == 0) && x->sg->use_esld &&
		      (p = strchr(p, '.')) != NULL;) {
		const struct keystore_key *pk = keystore_find_fallback(x->ks, ++p);
		if (pk != NULL && strcmp(pk->domain, "*") != 0)
			k = pk;
	}
	if (k == NULL)
		return false;
	char d[256];
	if (strcmp(k->domain, "*") != 0)
		snprintf(d, sizeof d, "%s", k->domain);
	else if (x->sg->use_esld)
		esld(x, dom, d, sizeof d);
	else
		snprintf(d, sizeof d, "%s", dom);
	take_keys(out, d, k, 1);
	return true;
}

static void sign_reason(const struct facts *x, enum config_use_domain mode,
			struct policy_decision *out)
{
	char sels[200] = "";
	for (size_t k = 0; k < out->nsigs; k++)
		snprintf(sels + strlen(sels), sizeof sels - strlen(sels), "%s%s", k ? ", " : "",
			 out->sigs[k].selector);
	const char *via = x->via == VIA_AUTH       ? "sender authenticated as "
			  : x->via == VIA_NETWORKS ? "client in sign_networks: "
			  : x->non_smtp            ? "local submission: "
						   : "client in local_addrs: ";
	if (out->from_redis && x->sg->selector_prefix != NULL)
		snprintf(sels, sizeof sels, "from Redis hash %s", x->sg->selector_prefix);
	snprintf(out->reason, sizeof out->reason, "%s%s; d=%s (from %s), selector%s %s%s", via,
		 x->via == VIA_AUTH ? x->auth : x->client, out->domain, source_name(mode),
		 out->nsigs > 1 ? "s" : "", sels, out->from_redis ? " (key from Redis)" : "");
}

enum signet_status policy_decide(const struct signetd_config *cfg, const struct keystore *ks,
				 const struct policy_facts *f, struct policy_decision *out)
{
	if (out == NULL)
		return SIGNET_ERR_INVAL;
	memset(out, 0, sizeof *out);
	if (cfg == NULL || f == NULL) {
		snprintf(out->reason, sizeof out->reason, "internal error: no config or facts");
		out->code = POLICY_OTHER;
		return SIGNET_ERR_INVAL;
	}
	struct facts x = {.cfg = cfg, .sg = &cfg->signing, .ks = ks};
	x.auth = f->auth_user != NULL && f->auth_user[0] != '\0' ? f->auth_user : NULL;
	client_text(f, x.client, sizeof x.client);
	if (!x.sg->enabled) {
		no(out, "signing is off (dkim_signing.enabled = false)");
		return SIGNET_OK;
	}
	if (!eligible(&x, f, out))
		return SIGNET_OK;
	x.env_empty =
		f->env_from != NULL && (f->env_from[0] == '\0' || strcmp(f->env_from, "<>") == 0);
	if (x.env_empty && !x.sg->allow_envfrom_empty) {
		no(out, "empty envelope sender (MAIL FROM:<>) and allow_envfrom_empty is off");
		return SIGNET_OK;
	}
	if (!from_domain(&x, f, out))
		return SIGNET_OK;
	addr_domain(f->env_from, x.edom, sizeof x.edom);
	addr_domain(x.auth, x.udom, sizeof x.udom);
	enum config_use_domain mode;
	char dom[256];
	if (!signing_domain(&x, &mode, dom, sizeof dom, out))
		return SIGNET_OK;
	if (!mismatch_checks(&x, mode, dom, out)) {
		out->code = POLICY_MISMATCH;
		return SIGNET_OK;
	}
	if (!find_keys(&x, dom, out)) {
		no(out, "no key for domain %s (from %s)", dom, source_name(mode));
		out->code = POLICY_NO_KEY;
		return SIGNET_OK;
	}
	sign_reason(&x, mode, out);
	return SIGNET_OK;
}
