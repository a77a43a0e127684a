/* config_signing.c: the dkim_signing section (rspamd's key names): signing
 * switches, use_domain, sign_headers, domain { } entries with their keys and
 * selectors, and resolving them at the end of loading ($domain/$selector,
 * defaults, relative paths). */
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "redis_client.h"
#include "rotation.h"
#include "config.h"
#include "config_walk.h"

/* ---- dkim_signing ------------------------------------------------------- */

/* dkim_signing.idn_labels = "auto" | "a-labels" (DKIM-EAI-04, RFC 8616 5). */
static void k_sign_networks(struct ctx *c, const struct ucl_node *n, void *base)
{
	struct config_signing *sg = base;
	if (n->type == UCL_STRING && (n->str[0] == '/' || strstr(n->str, "://") != NULL)) {
		cfg_node_error(c, n,
			       "dkim_signing.sign_networks: maps (files and URLs such as '%s') are "
			       "not supported; list the networks inline: sign_networks = "
			       "[\"192.0.2.0/24\", \"2001:db8::/32\"]",
			       n->str);
		return;
	}
	sg->sign_networks.n = 0;
	cfg_each_str(c, n, "dkim_signing.sign_networks", &sg->sign_networks, cfg_add_cidr);
}

/* rspamd's sign_headers: "from:to:..." with optional (o) (oversign) and
 * (x) (sign if present) prefixes. (o)name becomes name:name (listed once
 * more, which oversigns the one From signet requires); (x) is dropped. */
static void k_sign_headers(struct ctx *c, const struct ucl_node *n, void *base)
{
	struct config_signing *sg = base;
	char buf[32];
	const char *s;
	if (!cfg_want_str(c, n, "dkim_signing.sign_headers", buf, sizeof buf, &s))
		return;
	size_t len = strlen(s);
	char *out = malloc(2 * len + 1);
	if (out == NULL) {
		diags_add(c->d, DIAG_ERROR, "out of memory");
		return;
	}
	size_t o = 0;
	bool has_from = false;
	const char *p = s;
	while (*p != '\0') {
		const char *end = strchr(p, ':');
		size_t flen = end ? (size_t)(end - p) : strlen(p);
		while (flen > 0 && (*p == ' ' || *p == '\t'))
			p++, flen--;
		while (flen > 0 && (p[flen - 1] == ' ' || p[flen - 1] == '\t'))
			flen--;
		bool twice = false;
		if (flen > 3 && p[0] == '(' && (p[1] == 'o' || p[1] == 'x') && p[2] == ')') {
			twice = p[1] == 'o';
			p += 3, flen -= 3;
		}
		bool ok = flen > 0;
		for (size_t k = 0; k < flen; k++) /* RFC 5322 ftext: %d33-57 / %d59-126 */
			ok = ok && p[k] >= 33 && p[k] <= 126 && p[k] != ':';
		if (!ok) {
			cfg_node_error(c, n,
				       "dkim_signing.sign_headers must be header field names "
				       "separated by ':' (e.g. \"from:to:subject:date\")");
			free(out);
			return;
		}
		if (flen == 4 && strncasecmp(p, "from", 4) == 0)
			has_from = true;
		for (int t = 0; t < (twice ? 2 : 1); t++) {
			if (o > 0)
				out[o++] = ':';
			memcpy(out + o, p, flen);
			o += flen;
		}
		p += flen;
		while (*p == ' ' || *p == '\t')
			p++;
		if (*p == ':')
			p++;
	}
	out[o] = '\0';
	if (!has_from) {
		cfg_node_error(c, n,
			       "dkim_signing.sign_headers must include from (RFC 6376 5.4: the "
			       "From field is always signed)");
		free(out);
		return;
	}
	free(sg->sign_headers);
	sg->sign_headers = out;
}

/* A key entry being read (selector/path may come from the top level later). */
struct raw_key {
	char *selector;   /* owned, or NULL */
	const char *path; /* borrowed from the tree, or NULL */
	enum signet_alg alg;
	const struct ucl_node *at;
	const char *path_file; /* the file path was written in (relative paths) */
};

static void k_algorithm(struct ctx *c, const struct ucl_node *n, struct raw_key *rk)
{
	char buf[32];
	const char *s;
	if (!cfg_want_str(c, n, "algorithm", buf, sizeof buf, &s))
		return;
	enum signet_alg a = signet_alg_parse(s, strlen(s));
	if (a == SIGNET_ALG_RSA_SHA256 || a == SIGNET_ALG_ED25519_SHA256)
		rk->alg = a;
	else
		cfg_node_error(c, n,
			       "algorithm must be \"rsa-sha256\" or \"ed25519-sha256\", not '%s'",
			       s);
}

static const char *const key_entry_names[] = {"selector", "path", "algorithm", "selectors"};

/* selector / path / algorithm members of a domain or a selectors element. */
static bool key_entry_member(struct ctx *c, const struct ucl_node *m, struct raw_key *rk)
{
	char buf[32];
	const char *s;
	if (m->next != NULL) {
		cfg_node_error(c, m->next, "'%s' is set %zu times (first at %s:%u:%u); keep one",
			       m->key, ucl_count(m), ATV(m));
		return true;
	}
	if (strcmp(m->key, "selector") == 0) {
		if (cfg_want_str(c, m, "selector", buf, sizeof buf, &s)) {
			free(rk->selector);
			rk->selector = cfg_xstrdup(c, s); /* selector = 2019 is the number 2019 */
		}
	} else if (strcmp(m->key, "path") == 0) {
		if (cfg_want_str(c, m, "path", buf, sizeof buf, &s)) {
			rk->path = s;
			rk->path_file = m->file;
		}
	} else if (strcmp(m->key, "algorithm") == 0) {
		k_algorithm(c, m, rk);
	} else {
		return false;
	}
	return true;
}

struct raw_domain {
	char *name; /* owned, lower case */
	const struct ucl_node *at;
	struct raw_key *keys; /* owned */
	size_t n;
};

static struct raw_key *raw_key_add(struct ctx *c, struct raw_domain *rd, const struct ucl_node *at)
{
	struct raw_key *v = realloc(rd->keys, (rd->n + 1) * sizeof *v);
	if (v == NULL) {
		diags_add(c->d, DIAG_ERROR, "out of memory");
		return NULL;
	}
	rd->keys = v;
	memset(&v[rd->n], 0, sizeof v[rd->n]);
	v[rd->n].at = at;
	return &v[rd->n++];
}

/* One element of selectors = [ { selector; path; algorithm; }, ... ]. */
static void selectors_element(struct ctx *c, struct raw_domain *rd, const struct ucl_node *e)
{
	if (e->type != UCL_OBJECT) {
		cfg_node_error(c, e,
			       "domain %s: each element of selectors must be { selector = ...; "
			       "path = ...; }, not a %s",
			       rd->name, ucl_type_name(e->type));
		return;
	}
	struct raw_key *rk = raw_key_add(c, rd, e);
	if (rk == NULL)
		return;
	for (size_t k = 0; k < e->nkids; k++) {
		const struct ucl_node *m = e->kids[k];
		if (strcmp(m->key, "selectors") == 0 || !key_entry_member(c, m, rk)) {
			struct keydef t[3] = {{"selector", K_STR, 0, NULL, {NULL}},
					      {"path", K_STR, 0, NULL, {NULL}},
					      {"algorithm", K_STR, 0, NULL, {NULL}}};
			char section[300];
			snprintf(section, sizeof section, "selectors of domain %s", rd->name);
			cfg_unknown_key(c, m, section, t, 3);
		}
	}
}

static void domain_selectors(struct ctx *c, struct raw_domain *rd, const struct ucl_node *m)
{
	for (const struct ucl_node *v = m; v != NULL; v = v->next) {
		if (v->type == UCL_ARRAY)
			for (size_t k = 0; k < v->nkids; k++)
				selectors_element(c, rd, v->kids[k]);
		else
			selectors_element(c, rd, v); /* selectors { ... } given as objects */
	}
}

static struct raw_domain *raw_domain_get(struct ctx *c, const char *name, const struct ucl_node *at)
{
	for (size_t k = 0; k < c->ndoms; k++)
		if (strcmp(c->doms[k].name, name) == 0)
			return &c->doms[k];
	if (c->ndoms >= CONFIG_MAX_DOMAINS) {
		cfg_node_error(c, at, "more than CONFIG_MAX_DOMAINS (%d) domains",
			       CONFIG_MAX_DOMAINS);
		return NULL;
	}
	struct raw_domain *v = realloc(c->doms, (c->ndoms + 1) * sizeof *v);
	if (v == NULL) {
		diags_add(c->d, DIAG_ERROR, "out of memory");
		return NULL;
	}
	c->doms = v;
	struct raw_domain *rd = &v[c->ndoms];
	memset(rd, 0, sizeof *rd);
	rd->at = at;
	if ((rd->name = cfg_xstrdup(c, name)) == NULL)
		return NULL;
	c->ndoms++;
	return rd;
}

/* domain { NAME { selector; path; algorithm; selectors = [...]; } } */
static void one_domain(struct ctx *c, const struct ucl_node *dn)
{
	char name[256];
	size_t len = strlen(dn->key);
	if (len > 0 && dn->key[len - 1] == '.')
		len--; /* a trailing dot (absolute name) means the same domain */
	snprintf(name, sizeof name, "%.*s", (int)len, dn->key);
	cfg_lower(name);
	if (len >= sizeof name || !cfg_dns_name_ok(name)) {
		cfg_node_error(
			c, dn, "'%s' under dkim_signing.domain is not a domain name%s", dn->key,
			strchr(dn->key, '*') ? " (wildcards are not supported; use the top-level "
					       "path with $domain, or use_esld)"
					     : "");
		return;
	}
	if (dn->type != UCL_OBJECT) {
		cfg_node_error(c, dn, "domain %s must be { selector = ...; path = ...; }, not a %s",
			       name, ucl_type_name(dn->type));
		return;
	}
	struct raw_domain *rd = raw_domain_get(c, name, dn);
	if (rd == NULL)
		return;
	struct raw_key direct = {.at = dn};
	bool has_direct = false;
	for (size_t k = 0; k < dn->nkids; k++) {
		const struct ucl_node *m = dn->kids[k];
		if (strcmp(m->key, "selectors") == 0)
			domain_selectors(c, rd, m);
		else if (key_entry_member(c, m, &direct))
			has_direct = true;
		else {
			struct keydef t[4];
			for (size_t j = 0; j < 4; j++)
				t[j] = (struct keydef){key_entry_names[j], K_STR, 0, NULL, {NULL}};
			char section[300];
			snprintf(section, sizeof section, "domain %s", name);
			cfg_unknown_key(c, m, section, t, 4);
		}
	}
	/* rspamd: the domain's own selector/path is one more key (old style). */
	if (has_direct) {
		struct raw_key *rk = raw_key_add(c, rd, dn);
		if (rk != NULL)
			*rk = direct;
		else
			free(direct.selector);
	} else if (rd->n == 0) {
		cfg_node_error(c, dn,
			       "domain %s has no key: add selector = \"...\"; path = \"...\"; or "
			       "selectors = [ ... ]",
			       name);
	}
}

static void s_domain(struct ctx *c, const struct ucl_node *n, void *base)
{
	(void)base;
	for (size_t k = 0; k < n->nkids; k++)
		for (const struct ucl_node *dn = n->kids[k]; dn != NULL; dn = dn->next)
			one_domain(c, dn);
}

static void k_top_path(struct ctx *c, const struct ucl_node *n, void *base)
{
	struct config_signing *sg = base;
	char buf[32];
	const char *s;
	if (!cfg_want_str(c, n, "dkim_signing.path", buf, sizeof buf, &s))
		return;
	cfg_set_str(c, &sg->path, s);
	c->top_path = n;
}

static void k_sg_servers(struct ctx *c, const struct ucl_node *n, void *base)
{
	struct config_signing *sg = base;
	cfg_redis_servers(c, n, "dkim_signing.servers", &sg->redis);
}

static void k_sg_timeout(struct ctx *c, const struct ucl_node *n, void *base)
{
	struct config_signing *sg = base;
	(void)cfg_want_duration(c, n, "dkim_signing.timeout", CONFIG_MAX_REDIS_TIMEOUT,
				&sg->redis.timeout);
}

static void k_sg_password(struct ctx *c, const struct ucl_node *n, void *base)
{
	struct config_signing *sg = base;
	cfg_redis_password(c, n, "dkim_signing.password", &sg->redis);
}

static void k_sg_username(struct ctx *c, const struct ucl_node *n, void *base)
{
	struct config_signing *sg = base;
	cfg_redis_username(c, n, "dkim_signing.username", &sg->redis);
}

static void k_sg_db(struct ctx *c, const struct ucl_node *n, void *base)
{
	struct config_signing *sg = base;
	bool old = n->key != NULL && strcmp(n->key, "dbname") == 0;
	cfg_redis_db(c, n, old ? "dkim_signing.dbname" : "dkim_signing.db", &sg->redis);
}

static void k_redis_refresh(struct ctx *c, const struct ucl_node *n, void *base)
{
	struct config_signing *sg = base;
	double v;
	if (!cfg_want_duration(c, n, "dkim_signing.redis_refresh", CONFIG_MAX_REDIS_REFRESH, &v))
		return;
	if (v < 1.0) {
		cfg_node_error(c, n, "dkim_signing.redis_refresh must be at least 1 s");
		return;
	}
	sg->redis_refresh = v;
}

/* key_prefix / selector_prefix (and rotation.redis_key): Redis key names
 * (any bytes but NUL are valid; a control character is surely a typo). */
void cfg_redis_key_name(struct ctx *c, const struct ucl_node *n, const char *where, char **slot)
{
	char buf[32];
	const char *s;
	if (!cfg_want_str(c, n, where, buf, sizeof buf, &s))
		return;
	if (!redis_client_key_name_ok(s)) {
		cfg_node_error(
			c, n, "%s must be a Redis key name: 1..256 printable characters, no spaces",
			where);
		return;
	}
	cfg_set_str(c, slot, s);
}

static void k_key_prefix(struct ctx *c, const struct ucl_node *n, void *base)
{
	cfg_redis_key_name(c, n, "dkim_signing.key_prefix",
			   &((struct config_signing *)base)->key_prefix);
}

static void k_selector_prefix(struct ctx *c, const struct ucl_node *n, void *base)
{
	cfg_redis_key_name(c, n, "dkim_signing.selector_prefix",
			   &((struct config_signing *)base)->selector_prefix);
}
#define HTTP_NOTE "it belongs to rspamd's HTTP protocol, which a milter does not have"
#define VAULT_NOTE "Vault is not supported; keep keys in files"
#define MAPS_NOTE "maps are not supported; list the keys under domain { }"
#define INBOUND_NOTE "signet signs only authenticated, local and sign_networks mail"

/* use_domain: which address gives the signing domain (rspamd's key). */
static const struct cfg_choice use_domains[] = {
	{.name = "header", .value = USE_DOMAIN_HEADER},
	{.name = "envelope", .value = USE_DOMAIN_ENVELOPE},
	{.name = "auth", .value = USE_DOMAIN_AUTH},
	{.name = "recipient",
	 .hint = "(an rspamd value for inbound signing) is not supported; use header, envelope or "
		 "auth",
	 .refused = true},
	{.name = NULL}};

/* dkim_signing.idn_labels = "auto" | "a-labels" (DKIM-EAI-04, RFC 8616 5). */
static const struct cfg_choice idn_labels[] = {{.name = "auto",
						.value = SIGNET_IDN_AUTO,
						.hint = "U-labels in messages with UTF-8 headers"},
					       {.name = "a-labels", .value = SIGNET_IDN_ALABELS},
					       {.name = NULL}};

_Static_assert(sizeof(enum config_use_domain) == sizeof(int), "K_CHOICE field");
_Static_assert(sizeof(enum signet_idn_labels) == sizeof(int), "K_CHOICE field");

static const struct keydef signing_keys[] = {
	{"enabled", K_BOOL, SGN(enabled), NULL, {NULL}},
	{"sign_authenticated", K_BOOL, SGN(sign_authenticated), NULL, {NULL}},
	{"auth_only", K_BOOL, SGN(sign_authenticated), NULL, {NULL}},
	{"sign_local", K_BOOL, SGN(sign_local), NULL, {NULL}},
	{"sign_networks", K_FN, 0, k_sign_networks, {NULL}},
	CHOICE("use_domain", SGN(use_domain), use_domains),
	CHOICE("use_domain_sign_networks", SGN(use_domain_sign_networks), use_domains),
	CHOICE("use_domain_sign_local", SGN(use_domain_sign_local), use_domains),
	{"allow_hdrfrom_mismatch", K_BOOL, SGN(allow_hdrfrom_mismatch), NULL, {NULL}},
	{"allow_hdrfrom_mismatch_local", K_BOOL, SGN(allow_hdrfrom_mismatch_local), NULL, {NULL}},
	{"allow_hdrfrom_mismatch_sign_networks",
	 K_BOOL,
	 SGN(allow_hdrfrom_mismatch_sign_networks),
	 NULL,
	 {NULL}},
	{"allow_username_mismatch", K_BOOL, SGN(allow_username_mismatch), NULL, {NULL}},
	{"allow_envfrom_empty", K_BOOL, SGN(allow_envfrom_empty), NULL, {NULL}},
	{"use_esld", K_BOOL, SGN(use_esld), NULL, {NULL}},
	{"try_fallback", K_BOOL, SGN(try_fallback), NULL, {NULL}},
	{"selector", K_STR, SGN(selector), NULL, {NULL}},
	{"path", K_FN, 0, k_top_path, {NULL}},
	{"sign_headers", K_FN, 0, k_sign_headers, {NULL}},
	CHOICE("idn_labels", SGN(idn_labels), idn_labels),
	{"domain", K_SECTION, 0, s_domain, {NULL}},
	{"sign_inbound", K_UNSUPPORTED, 0, NULL, {INBOUND_NOTE}},
	{"use_domain_sign_inbound", K_UNSUPPORTED, 0, NULL, {INBOUND_NOTE}},
	{"use_domain_custom", K_UNSUPPORTED, 0, NULL, {"signet has no Lua"}},
	{"allow_hdrfrom_multiple",
	 K_UNSUPPORTED,
	 0,
	 NULL,
	 {"signet never signs a message with several From fields (RFC 6376 5.4, DKIM-SIGN-07)"}},
	{"check_pubkey",
	 K_UNSUPPORTED,
	 0,
	 NULL,
	 {"check the published key with: signet dnscheck -d DOMAIN -s SELECTOR -k KEYFILE"}},
	{"allow_pubkey_mismatch",
	 K_UNSUPPORTED,
	 0,
	 NULL,
	 {"check the published key with: signet dnscheck -d DOMAIN -s SELECTOR -k KEYFILE"}},
	{"use_redis", K_BOOL, SGN(use_redis), NULL, {NULL}},
	{"key_prefix", K_FN, 0, k_key_prefix, {NULL}},
	{"selector_prefix", K_FN, 0, k_selector_prefix, {NULL}},
	{"redis_refresh", K_FN, 0, k_redis_refresh, {NULL}},
	{"servers", K_FN, 0, k_sg_servers, {NULL}},
	{"timeout", K_FN, 0, k_sg_timeout, {NULL}},
	{"read_servers", K_UNSUPPORTED, 0, NULL, {"list the servers in servers"}},
	{"write_servers", K_UNSUPPORTED, 0, NULL, {"list the servers in servers"}},
	{"password", K_FN, 0, k_sg_password, {NULL}},
	{"username", K_FN, 0, k_sg_username, {NULL}},
	{"db", K_FN, 0, k_sg_db, {NULL}},
	{"dbname", K_FN, 0, k_sg_db, {NULL}},
	{"use_http_headers", K_UNSUPPORTED, 0, NULL, {HTTP_NOTE}},
	{"allow_headers_fallback", K_UNSUPPORTED, 0, NULL, {HTTP_NOTE}},
	{"http_sign_header", K_UNSUPPORTED, 0, NULL, {HTTP_NOTE}},
	{"http_sign_on_reject_header_header", K_UNSUPPORTED, 0, NULL, {HTTP_NOTE}},
	{"http_domain_header", K_UNSUPPORTED, 0, NULL, {HTTP_NOTE}},
	{"http_selector_header", K_UNSUPPORTED, 0, NULL, {HTTP_NOTE}},
	{"http_key_header", K_UNSUPPORTED, 0, NULL, {HTTP_NOTE}},
	{"use_vault", K_UNSUPPORTED, 0, NULL, {VAULT_NOTE}},
	{"vault_url", K_UNSUPPORTED, 0, NULL, {VAULT_NOTE}},
	{"vault_token", K_UNSUPPORTED, 0, NULL, {VAULT_NOTE}},
	{"vault_domains", K_UNSUPPORTED, 0, NULL, {VAULT_NOTE}},
	{"http_timeout", K_UNSUPPORTED, 0, NULL, {VAULT_NOTE}},
	{"no_ssl_verify", K_UNSUPPORTED, 0, NULL, {VAULT_NOTE}},
	{"signing_table",
	 K_UNSUPPORTED,
	 0,
	 NULL,
	 {"OpenDKIM-style tables are not supported; list the keys under domain { }"}},
	{"key_table",
	 K_UNSUPPORTED,
	 0,
	 NULL,
	 {"OpenDKIM-style tables are not supported; list the keys under domain { }"}},
	{"selector_map", K_UNSUPPORTED, 0, NULL, {MAPS_NOTE}},
	{"path_map", K_UNSUPPORTED, 0, NULL, {MAPS_NOTE}},
	{"symbol", K_UNSUPPORTED, 0, NULL, {"signet has no rspamd symbols"}},
	{"symbol_signed", K_UNSUPPORTED, 0, NULL, {"signet has no rspamd symbols"}},
	{"check_violation", K_UNSUPPORTED, 0, NULL, {"signet has no rspamd symbols"}},
	{"sign_condition", K_UNSUPPORTED, 0, NULL, {"signet has no Lua"}},
};

void cfg_s_dkim_signing(struct ctx *c, const struct ucl_node *n, void *base)
{
	(void)base;
	if (c->signing == NULL)
		c->signing = n;
	cfg_walk(c, n, "dkim_signing", signing_keys, NKEYS(signing_keys), &c->cfg->signing);
}

/* ---- resolving keys: defaults, $domain/$selector, relative paths ---------- */

static bool sb_cat(char *out, size_t cap, size_t *len, const char *s, size_t n)
{
	if (n >= cap - *len)
		return false;
	memcpy(out + *len, s, n);
	*len += n;
	out[*len] = '\0';
	return true;
}

/* rspamd's lua_util.template: $domain, ${domain}, $selector, ${selector}. */
static bool substitute(const char *tmpl, const char *domain, const char *selector, char *out,
		       size_t cap)
{
	size_t len = 0;
	out[0] = '\0';
	for (const char *p = tmpl; *p;) {
		const char *val = NULL;
		size_t skip = 0;
		if (strncmp(p, "$domain", 7) == 0)
			val = domain, skip = 7;
		else if (strncmp(p, "${domain}", 9) == 0)
			val = domain, skip = 9;
		else if (strncmp(p, "$selector", 9) == 0)
			val = selector, skip = 9;
		else if (strncmp(p, "${selector}", 11) == 0)
			val = selector, skip = 11;
		if (val != NULL && !sb_cat(out, cap, &len, val, strlen(val)))
			return false;
		if (val == NULL && !sb_cat(out, cap, &len, p, 1))
			return false;
		p += val ? skip : 1;
	}
	return true;
}

/* A relative key path is taken relative to the file it was written in. */
static bool absolutize(const char *path, const char *file, char *out, size_t cap)
{
	if (path[0] == '/') {
		size_t n = strlen(path);
		if (n >= cap)
			return false;
		memcpy(out, path, n + 1);
		return true;
	}
	const char *slash = file ? strrchr(file, '/') : NULL;
	char cwd[PATH_MAX];
	int n;
	if (slash != NULL && file[0] == '/')
		n = snprintf(out, cap, "%.*s/%s", (int)(slash - file), file, path);
	else if (getcwd(cwd, sizeof cwd) != NULL)
		n = slash ? snprintf(out, cap, "%s/%.*s/%s", cwd, (int)(slash - file), file, path)
			  : snprintf(out, cap, "%s/%s", cwd, path);
	else
		return false;
	return n > 0 && (size_t)n < cap;
}

static void resolve_key(struct ctx *c, const struct raw_domain *rd, const struct raw_key *rk,
			struct config_key *out)
{
	const struct config_signing *sg = &c->cfg->signing;
	const char *sel = rk->selector ? rk->selector : sg->selector;
	const char *tmpl = rk->path ? rk->path : sg->path;
	const char *tfile = rk->path ? rk->path_file : c->top_path ? c->top_path->file : NULL;
	char sub[PATH_MAX], abs[PATH_MAX];
	if (!cfg_dns_name_ok(sel)) {
		cfg_node_error(c, rk->at,
			       "domain %s: selector '%s' is not a valid selector (letters, "
			       "digits, '-', '_', dot-separated; RFC 6376 3.1)",
			       rd->name, sel);
		return;
	}
	if (sg->use_redis) {
		/* rspamd: with use_redis the key is HGET key_prefix
		 * "selector.domain"; a path is not used. */
		if (rk->path != NULL)
			cfg_node_warn(
				c, rk->at,
				"domain %s, selector %s: path is ignored with use_redis (the key "
				"is read from Redis)",
				rd->name, sel);
		out->selector = cfg_xstrdup(c, sel);
		out->alg = rk->alg;
		out->file = rk->at->file;
		out->line = rk->at->line;
		out->col = rk->at->col;
		return;
	}
	if (tmpl == NULL) {
		cfg_node_error(c, rk->at,
			       "domain %s, selector %s: no path (set path here, or a "
			       "top-level dkim_signing.path such as \"/etc/signet/keys/"
			       "$domain.$selector.key\")",
			       rd->name, sel);
		return;
	}
	if (!substitute(tmpl, rd->name, sel, sub, sizeof sub) ||
	    !absolutize(sub, tfile, abs, sizeof abs)) {
		cfg_node_error(c, rk->at, "domain %s, selector %s: key path is too long", rd->name,
			       sel);
		return;
	}
	const char *dollar = strchr(sub, '$');
	if (dollar != NULL) {
		cfg_node_error(c, rk->at,
			       "domain %s, selector %s: key path '%s' contains '%.*s', which "
			       "signet does not expand (only $domain and $selector; write "
			       "rspamd's ${DBDIR} as /var/lib/rspamd)",
			       rd->name, sel, sub, (int)strcspn(dollar, "/."), dollar);
		return;
	}
	out->selector = cfg_xstrdup(c, sel);
	out->path = cfg_xstrdup(c, abs);
	out->alg = rk->alg;
	out->file = rk->at->file;
	out->line = rk->at->line;
	out->col = rk->at->col;
}

static void resolve_domain(struct ctx *c, const struct raw_domain *rd, struct config_domain *cd)
{
	cd->name = cfg_xstrdup(c, rd->name);
	if (rd->n > SIGNET_MAX_SIGNERS) {
		cfg_node_error(c, rd->at,
			       "domain %s has %zu keys; at most SIGNET_MAX_SIGNERS (%d) "
			       "signatures are made per message",
			       rd->name, rd->n, SIGNET_MAX_SIGNERS);
		return;
	}
	cd->keys = calloc(rd->n ? rd->n : 1, sizeof *cd->keys);
	if (cd->keys == NULL) {
		diags_add(c->d, DIAG_ERROR, "out of memory");
		return;
	}
	for (size_t k = 0; k < rd->n; k++) {
		struct config_key *ck = &cd->keys[cd->nkeys];
		resolve_key(c, rd, &rd->keys[k], ck);
		if (ck->selector == NULL || (ck->path == NULL && !c->cfg->signing.use_redis)) {
			free(ck->selector), free(ck->path);
			memset(ck, 0, sizeof *ck);
			continue;
		}
		cd->nkeys++;
		for (size_t j = 0; j + 1 < cd->nkeys; j++)
			if (strcasecmp(cd->keys[j].selector, ck->selector) == 0)
				cfg_node_error(c, rd->keys[k].at,
					       "domain %s: selector %s is configured "
					       "twice (also at %s:%u:%u)",
					       rd->name, ck->selector, cd->keys[j].file,
					       cd->keys[j].line, cd->keys[j].col);
	}
}

static int domain_cmp(const void *a, const void *b)
{
	return strcmp(((const struct config_domain *)a)->name,
		      ((const struct config_domain *)b)->name);
}

void cfg_resolve_domains(struct ctx *c)
{
	struct config_signing *sg = &c->cfg->signing;
	if (c->ndoms == 0)
		return;
	sg->domains = calloc(c->ndoms, sizeof *sg->domains);
	if (sg->domains == NULL) {
		diags_add(c->d, DIAG_ERROR, "out of memory");
		return;
	}
	for (size_t k = 0; k < c->ndoms; k++)
		resolve_domain(c, &c->doms[k], &sg->domains[sg->ndomains++]);
	qsort(sg->domains, sg->ndomains, sizeof *sg->domains, domain_cmp);
}

/* ---- key rotation (issue #17, rotation.h) ---------------------------------- */

static const char *rotation_path(const struct signetd_config *cfg)
{
	return cfg->rotation_state != NULL ? cfg->rotation_state : ROTATION_DEFAULT_STATE;
}

/* The domain's keys become the one rotation says signs. */
static bool set_rotated_key(struct ctx *c, struct config_domain *cd, const struct rotation_entry *e)
{
	struct config_key *k = calloc(1, sizeof *k);
	if (k == NULL) {
		diags_add(c->d, DIAG_ERROR, "out of memory");
		return false;
	}
	k->selector = cfg_xstrdup(c, e->selector);
	k->path = cfg_xstrdup(c, e->path);
	k->alg = SIGNET_ALG_UNKNOWN;
	k->file = rotation_path(c->cfg); /* owned by the config: rotation_state or static */
	for (size_t j = 0; j < cd->nkeys; j++)
		free(cd->keys[j].selector), free(cd->keys[j].path);
	free(cd->keys);
	cd->keys = k;
	cd->nkeys = 1;
	return true;
}

static struct config_domain *find_or_add_domain(struct ctx *c, const char *name)
{
	struct config_signing *sg = &c->cfg->signing;
	for (size_t k = 0; k < sg->ndomains; k++)
		if (strcasecmp(sg->domains[k].name, name) == 0)
			return &sg->domains[k];
	if (sg->ndomains == CONFIG_MAX_DOMAINS) {
		diags_add(c->d, DIAG_ERROR, "rotation: more than CONFIG_MAX_DOMAINS domains");
		return NULL;
	}
	struct config_domain *v = realloc(sg->domains, (sg->ndomains + 1) * sizeof *v);
	if (v == NULL) {
		diags_add(c->d, DIAG_ERROR, "out of memory");
		return NULL;
	}
	sg->domains = v;
	struct config_domain *cd = &v[sg->ndomains++];
	memset(cd, 0, sizeof *cd);
	cd->name = cfg_xstrdup(c, name);
	cfg_lower(cd->name);
	return cd;
}

/* A domain in rotation signs with its active selector, whatever
 * dkim_signing lists for it (signet rotate adopted that key when the
 * rotation began); a domain whose first selector is still waiting for DNS
 * does not sign yet. A missing state file is no rotation. */
void cfg_apply_rotation(struct ctx *c)
{
	struct rotation r;
	if (c->cfg->signing.use_redis)
		return; /* fleet mode: the signing selector is in Redis (selector_prefix) */
	if (!rotation_load(rotation_path(c->cfg), &r, c->d))
		return;
	bool changed = false;
	for (size_t k = 0; k < r.n; k++) {
		if (r.v[k].state != ROT_ACTIVE)
			continue;
		struct config_domain *cd = find_or_add_domain(c, r.v[k].domain);
		if (cd == NULL || !set_rotated_key(c, cd, &r.v[k]))
			break;
		changed = true;
	}
	if (changed)
		qsort(c->cfg->signing.domains, c->cfg->signing.ndomains,
		      sizeof *c->cfg->signing.domains, domain_cmp);
	rotation_free(&r);
}

void cfg_raw_domains_free(struct ctx *c)
{
	for (size_t k = 0; k < c->ndoms; k++) {
		for (size_t j = 0; j < c->doms[k].n; j++)
			free(c->doms[k].keys[j].selector);
		free(c->doms[k].keys);
		free(c->doms[k].name);
	}
	free(c->doms);
	c->doms = NULL;
	c->ndoms = 0;
}

/* use_redis needs a server to ask; a selector_prefix names the selector
 * itself, so a configured one would be silently ignored. */
void cfg_check_redis_signing(struct ctx *c)
{
	const struct config_signing *sg = &c->cfg->signing;
	const struct ucl_node *at = c->signing;
	const struct config_redis *own = &sg->redis;
	cfg_check_redis_auth(c, own, "dkim_signing");
	if (own->n_servers == 0 && (own->password != NULL || own->db != 0))
		diags_add(c->d, DIAG_WARNING,
			  "%s: dkim_signing.password / db are used only with dkim_signing.servers "
			  "(as rspamd: without them, redis { }'s servers, password and db are "
			  "used): set them in redis { }",
			  c->cfg->file);
	if (!sg->use_redis)
		return;
	if (config_signing_redis(c->cfg)->n_servers == 0) {
		if (at != NULL)
			cfg_node_error(c, at,
				       "dkim_signing.use_redis needs Redis servers: set redis { "
				       "servers = [\"127.0.0.1:6379\"]; } or dkim_signing.servers");
		else
			diags_add(c->d, DIAG_ERROR, "dkim_signing.use_redis needs Redis servers");
	}
	if (c->cfg->arc.seal != CONFIG_ARC_SEAL_NONE)
		diags_add(c->d, DIAG_WARNING,
			  "%s: arc.seal = \"%s\" seals with key files, and dkim_signing.use_redis "
			  "loads none: no message will be sealed (set arc.seal = \"none\", or keep "
			  "the sealing keys in files without use_redis)",
			  c->cfg->file, config_arc_seal_name(c->cfg->arc.seal));
	if (sg->path != NULL && at != NULL)
		cfg_node_warn(c, at,
			      "dkim_signing.path is ignored with use_redis (keys are read from "
			      "Redis hash %s)",
			      sg->key_prefix);
}

/* The top-level path template, checked once: it is used for fallback. */
void cfg_check_top_path(struct ctx *c)
{
	struct config_signing *sg = &c->cfg->signing;
	char sub[PATH_MAX], abs[PATH_MAX];
	if (sg->path == NULL || c->top_path == NULL)
		return;
	if (!substitute(sg->path, "d", sg->selector, sub, sizeof sub) ||
	    !absolutize(sg->path, c->top_path->file, abs, sizeof abs)) {
		cfg_node_error(c, c->top_path, "dkim_signing.path is too long");
		return;
	}
	const char *dollar = strchr(sub, '$');
	if (dollar != NULL)
		cfg_node_error(c, c->top_path,
			       "dkim_signing.path '%s' contains '%.*s', which signet "
			       "does not expand (only $domain and $selector; write "
			       "rspamd's ${DBDIR} as /var/lib/rspamd)",
			       sg->path, (int)strcspn(dollar, "/."), dollar);
	if (!cfg_dns_name_ok(sg->selector))
		cfg_node_error(c, c->top_path, "dkim_signing.selector '%s' is not a valid selector",
			       sg->selector);
	cfg_set_str(c, &sg->path, abs);
}
