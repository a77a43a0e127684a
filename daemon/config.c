/* config.c: signetd.conf → struct signetd_config (see config.h). Walks the
 * UCL tree section by section against tables of known keys: supported keys
 * are type-checked, rspamd keys signet lacks are warned about by name,
 * anything else is an error with a "did you mean" suggestion. The file
 * I/O here is reading the config, its includes and the public suffix
 * list, nothing else. */
#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include <signet/ar.h>

#include "config.h"
#include "metrics.h"
#include "ucl.h"

struct raw_key;
struct raw_domain;

struct ctx {
	struct signetd_config *cfg;
	struct diags *d;
	struct raw_domain *doms; /* domain { } entries as read, resolved at the end */
	size_t ndoms;
	const struct ucl_node *top_path; /* where dkim_signing.path was set */
	const struct ucl_node *signing;  /* the (first) dkim_signing section */
};

/* ---- small helpers ------------------------------------------------------ */

static char *xstrdup(struct ctx *c, const char *s)
{
	char *p = strdup(s);
	if (p == NULL)
		diags_add(c->d, DIAG_ERROR, "out of memory");
	return p;
}

static void set_str(struct ctx *c, char **slot, const char *s)
{
	char *p = xstrdup(c, s);
	if (p == NULL)
		return;
	free(*slot);
	*slot = p;
}

/* "file:line:col: " prefix of a node's messages. */
#define AT(n) "%s:%u:%u: "
#define ATV(n) (n)->file, (n)->line, (n)->col

static void node_error(struct ctx *c, const struct ucl_node *n, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static void node_error(struct ctx *c, const struct ucl_node *n, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	diags_add(c->d, DIAG_ERROR, AT(n) "%s", ATV(n), msg);
}

static void node_warn(struct ctx *c, const struct ucl_node *n, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static void node_warn(struct ctx *c, const struct ucl_node *n, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	diags_add(c->d, DIAG_WARNING, AT(n) "%s", ATV(n), msg);
}

/* Levenshtein distance, for "did you mean". Names are short (< 64). */
static size_t edit_distance(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b), row[64];
	if (la >= 63 || lb >= 63)
		return SIZE_MAX;
	for (size_t j = 0; j <= lb; j++)
		row[j] = j;
	for (size_t i = 1; i <= la; i++) {
		size_t diag = row[0];
		row[0] = i;
		for (size_t j = 1; j <= lb; j++) {
			size_t up = row[j];
			size_t best = diag + (a[i - 1] != b[j - 1]);
			if (up + 1 < best)
				best = up + 1;
			if (row[j - 1] + 1 < best)
				best = row[j - 1] + 1;
			row[j] = best;
			diag = up;
		}
	}
	return row[lb];
}

static bool is_ldh(char ch)
{
	return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
	       ch == '-' || ch == '_';
}

/* A domain name or selector: dot-separated labels of letters, digits, '-'
 * and '_' (RFC 6376 3.1 selectors; RFC 1035 names), 1..63 bytes a label. */
static bool dns_name_ok(const char *s)
{
	size_t len = strlen(s), label = 0;
	if (len == 0 || len > 253)
		return false;
	for (size_t k = 0; k < len; k++) {
		if (s[k] == '.') {
			if (label == 0)
				return false;
			label = 0;
		} else if (!is_ldh(s[k]) || ++label > 63) {
			return false;
		}
	}
	return label > 0;
}

static void lower(char *s)
{
	for (; *s; s++)
		if (*s >= 'A' && *s <= 'Z')
			*s = (char)(*s + 32);
}

/* ---- CIDR --------------------------------------------------------------- */

bool cidr_parse(const char *s, struct cidr *out)
{
	char buf[INET6_ADDRSTRLEN + 8];
	const char *slash = strchr(s, '/');
	size_t alen = slash ? (size_t)(slash - s) : strlen(s);
	if (alen == 0 || alen >= sizeof buf)
		return false;
	memcpy(buf, s, alen);
	buf[alen] = '\0';
	memset(out, 0, sizeof *out);
	unsigned max;
	if (inet_pton(AF_INET, buf, out->addr) == 1) {
		out->family = AF_INET;
		max = 32;
	} else if (inet_pton(AF_INET6, buf, out->addr) == 1) {
		out->family = AF_INET6;
		max = 128;
	} else {
		return false;
	}
	out->prefix = max;
	if (slash != NULL) {
		const char *p = slash + 1;
		unsigned v = 0;
		if (*p == '\0' || strlen(p) > 3)
			return false;
		for (; *p; p++) {
			if (*p < '0' || *p > '9')
				return false;
			v = v * 10 + (unsigned)(*p - '0');
		}
		if (v > max)
			return false;
		out->prefix = v;
	}
	return true;
}

static bool cidr_match(const struct cidr *c, int family, const uint8_t *addr)
{
	if (c->family != family)
		return false;
	unsigned full = c->prefix / 8, rest = c->prefix % 8;
	if (memcmp(c->addr, addr, full) != 0)
		return false;
	if (rest == 0)
		return true;
	uint8_t mask = (uint8_t)(0xff << (8 - rest));
	return (c->addr[full] & mask) == (addr[full] & mask);
}

static bool match_raw(const struct cidr_list *l, int family, const uint8_t *addr)
{
	static const uint8_t v4mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
	if (family == AF_INET6 && memcmp(addr, v4mapped, 12) == 0) {
		family = AF_INET;
		addr += 12;
	}
	for (size_t k = 0; k < l->n; k++)
		if (cidr_match(&l->v[k], family, addr))
			return true;
	return false;
}

bool cidr_list_match_sa(const struct cidr_list *l, const struct sockaddr *sa)
{
	if (l == NULL || sa == NULL)
		return false;
	if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *in = (const struct sockaddr_in *)sa;
		return match_raw(l, AF_INET, (const uint8_t *)&in->sin_addr);
	}
	if (sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)sa;
		return match_raw(l, AF_INET6, in6->sin6_addr.s6_addr);
	}
	return false;
}

bool cidr_list_match_str(const struct cidr_list *l, const char *addr)
{
	char buf[INET6_ADDRSTRLEN + 2];
	uint8_t raw[16];
	if (l == NULL || addr == NULL)
		return false;
	if (strncasecmp(addr, "IPv6:", 5) == 0) /* Postfix's form of a v6 client */
		addr += 5;
	size_t len = strlen(addr);
	if (len >= 2 && addr[0] == '[' && addr[len - 1] == ']') {
		addr++;
		len -= 2;
	}
	if (len == 0 || len >= sizeof buf)
		return false;
	memcpy(buf, addr, len);
	buf[len] = '\0';
	if (inet_pton(AF_INET, buf, raw) == 1)
		return match_raw(l, AF_INET, raw);
	if (inet_pton(AF_INET6, buf, raw) == 1)
		return match_raw(l, AF_INET6, raw);
	return false;
}

bool config_addr_is_local(const struct signetd_config *cfg, const struct sockaddr *sa)
{
	return cfg != NULL && cidr_list_match_sa(&cfg->local_addrs, sa);
}

bool config_addr_str_is_local(const struct signetd_config *cfg, const char *addr)
{
	return cfg != NULL && cidr_list_match_str(&cfg->local_addrs, addr);
}

/* ---- value accessors ---------------------------------------------------- */

static bool want_bool(struct ctx *c, const struct ucl_node *n, const char *where, bool *out)
{
	if (n->type == UCL_BOOL) {
		*out = n->v.b;
		return true;
	}
	if (n->type == UCL_STRING &&
	    (strcmp(n->str, "true") == 0 || strcmp(n->str, "false") == 0))
		node_error(c, n, "%s must be a boolean: write %s without quotes", where, n->str);
	else
		node_error(c, n, "%s must be a boolean (true or false), not %s %s", where,
			   n->type == UCL_INT ? "an" : "a", ucl_type_name(n->type));
	return false;
}

/* A string; a plain integer is taken as its decimal text (selector = 2019). */
static bool want_str(struct ctx *c, const struct ucl_node *n, const char *where, char *buf,
		     size_t cap, const char **out)
{
	if (n->type == UCL_INT) {
		snprintf(buf, cap, "%lld", (long long)n->v.i);
		*out = buf;
		return true;
	}
	if (n->type != UCL_STRING) {
		node_error(c, n, "%s must be a string, not %s %s", where,
			   n->type == UCL_ARRAY || n->type == UCL_OBJECT || n->type == UCL_INT
				   ? "an" : "a",
			   ucl_type_name(n->type));
		return false;
	}
	if (memchr(n->str, '\0', n->len) != NULL) {
		node_error(c, n, "%s contains a NUL byte", where);
		return false;
	}
	*out = n->str;
	return true;
}

static bool want_duration(struct ctx *c, const struct ucl_node *n, const char *where, double max,
			  double *out)
{
	double v;
	if (n->type == UCL_INT)
		v = (double)n->v.i;
	else if (n->type == UCL_FLOAT || n->type == UCL_TIME)
		v = n->v.d;
	else {
		node_error(c, n, "%s must be a time (e.g. 5s, 500ms), not a %s", where,
			   ucl_type_name(n->type));
		return false;
	}
	if (!(v > 0 && v <= max)) {
		node_error(c, n, "%s must be more than 0 and at most %gs", where, max);
		return false;
	}
	*out = v;
	return true;
}

/* A string, or an array of strings: calls fn on each. */
static void each_str(struct ctx *c, const struct ucl_node *n, const char *where, void *arg,
		     void (*fn)(struct ctx *, const struct ucl_node *, const char *, void *))
{
	char buf[32];
	const char *s;
	if (n->type != UCL_ARRAY) {
		if (want_str(c, n, where, buf, sizeof buf, &s))
			fn(c, n, s, arg);
		return;
	}
	if (n->nkids > CONFIG_MAX_LIST) {
		node_error(c, n, "%s has %zu entries, more than CONFIG_MAX_LIST (%d)", where,
			   n->nkids, CONFIG_MAX_LIST);
		return;
	}
	for (size_t k = 0; k < n->nkids; k++)
		if (want_str(c, n->kids[k], where, buf, sizeof buf, &s))
			fn(c, n->kids[k], s, arg);
}

/* ---- key tables and the walker ------------------------------------------ */

enum kind { K_BOOL = 1, K_STR, K_FN, K_SECTION, K_UNSUPPORTED };

typedef void (*key_fn)(struct ctx *c, const struct ucl_node *n, void *base);

struct keydef {
	const char *name;
	enum kind kind;
	size_t off;       /* K_BOOL, K_STR: field in base */
	key_fn fn;        /* K_FN, K_SECTION */
	const char *note; /* K_UNSUPPORTED: what to do instead */
};

static const struct keydef *keydef_find(const struct keydef *t, size_t n, const char *name)
{
	for (size_t k = 0; k < n; k++)
		if (strcmp(t[k].name, name) == 0)
			return &t[k];
	return NULL;
}

static void unknown_key(struct ctx *c, const struct ucl_node *n, const char *section,
			const struct keydef *t, size_t nt)
{
	const char *best = NULL;
	size_t bestd = SIZE_MAX;
	for (size_t k = 0; k < nt; k++) {
		size_t dist = edit_distance(n->key, t[k].name);
		if (dist < bestd) {
			bestd = dist;
			best = t[k].name;
		}
	}
	if (best != NULL && bestd <= 2 && bestd < strlen(n->key))
		node_error(c, n, "unknown key '%s' in %s (did you mean '%s'?)", n->key, section,
			   best);
	else
		node_error(c, n, "unknown key '%s' in %s", n->key, section);
}

static void walk_one(struct ctx *c, const struct ucl_node *n, const char *section,
		     const struct keydef *kd, void *base)
{
	char where[160];
	snprintf(where, sizeof where, "%s%s%s", section, strcmp(section, "the top level") ? "." : "",
		 n->key);
	if (strcmp(section, "the top level") == 0)
		snprintf(where, sizeof where, "%s", n->key);
	if (kd->kind == K_UNSUPPORTED) {
		node_warn(c, n, "'%s' (an rspamd key) is not supported by signet and is ignored: %s",
			  where, kd->note);
		return;
	}
	if (kd->kind == K_SECTION) {
		for (const struct ucl_node *m = n; m != NULL; m = m->next) {
			if (m->type != UCL_OBJECT)
				node_error(c, m, "'%s' must be a section ({ ... }), not a %s", where,
					   ucl_type_name(m->type));
			else
				kd->fn(c, m, base);
		}
		return;
	}
	if (n->next != NULL) {
		node_error(c, n->next, "'%s' is set %zu times (first at %s:%u:%u); keep one", where,
			   ucl_count(n), ATV(n));
		return;
	}
	char buf[32];
	const char *s;
	if (kd->kind == K_BOOL)
		(void)want_bool(c, n, where, (bool *)((char *)base + kd->off));
	else if (kd->kind == K_STR && want_str(c, n, where, buf, sizeof buf, &s))
		set_str(c, (char **)((char *)base + kd->off), s);
	else if (kd->kind == K_FN)
		kd->fn(c, n, base);
}

static void walk(struct ctx *c, const struct ucl_node *obj, const char *section,
		 const struct keydef *t, size_t nt, void *base)
{
	for (size_t k = 0; k < obj->nkids; k++) {
		const struct ucl_node *n = obj->kids[k];
		const struct keydef *kd = keydef_find(t, nt, n->key);
		if (kd == NULL)
			unknown_key(c, n, section, t, nt);
		else
			walk_one(c, n, section, kd, base);
	}
}

#define NKEYS(t) (sizeof(t) / sizeof((t)[0]))
#define CFG(f) offsetof(struct signetd_config, f)
#define SGN(f) offsetof(struct config_signing, f)

/* ---- top level ---------------------------------------------------------- */

static bool port_parse(const char *s, size_t len, unsigned *out)
{
	unsigned v = 0;
	if (len == 0 || len > 5)
		return false;
	for (size_t k = 0; k < len; k++) {
		if (s[k] < '0' || s[k] > '9')
			return false;
		v = v * 10 + (unsigned)(s[k] - '0');
	}
	*out = v;
	return v >= 1 && v <= 65535;
}

/* inet:PORT[@HOST], inet6:PORT[@HOST] (HOST may be [v6]), unix:/PATH, local:/PATH */
static bool socket_parse(const char *spec, struct config_socket *out)
{
	memset(out, 0, sizeof *out);
	if (strncmp(spec, "unix:", 5) == 0 || strncmp(spec, "local:", 6) == 0) {
		const char *p = strchr(spec, ':') + 1;
		if (p[0] != '/')
			return false;
		out->family = CONFIG_SOCK_UNIX;
		out->path = strdup(p);
		return out->path != NULL;
	}
	bool six = strncmp(spec, "inet6:", 6) == 0;
	if (!six && strncmp(spec, "inet:", 5) != 0)
		return false;
	const char *p = spec + (six ? 6 : 5);
	const char *at = strchr(p, '@');
	if (!port_parse(p, at ? (size_t)(at - p) : strlen(p), &out->port))
		return false;
	out->family = six ? CONFIG_SOCK_INET6 : CONFIG_SOCK_INET;
	if (at == NULL)
		return true;
	const char *host = at + 1;
	size_t hlen = strlen(host);
	if (hlen >= 2 && host[0] == '[' && host[hlen - 1] == ']') {
		host++;
		hlen -= 2;
		out->family = CONFIG_SOCK_INET6;
	}
	if (hlen == 0)
		return false;
	out->address = strndup(host, hlen);
	if (out->address == NULL)
		return false;
	uint8_t raw[16];
	if (strchr(out->address, ':') != NULL) {
		out->family = CONFIG_SOCK_INET6;
		return inet_pton(AF_INET6, out->address, raw) == 1;
	}
	return true;
}

static void socket_free(struct config_socket *s)
{
	free(s->spec);
	free(s->address);
	free(s->path);
	memset(s, 0, sizeof *s);
}

static void k_socket(struct ctx *c, const struct ucl_node *n, void *base)
{
	(void)base;
	char buf[32];
	const char *s;
	if (!want_str(c, n, "socket", buf, sizeof buf, &s))
		return;
	struct config_socket sock;
	if (!socket_parse(s, &sock) || (sock.spec = strdup(s)) == NULL) {
		socket_free(&sock);
		node_error(c, n,
			   "socket '%s' is not inet:PORT@ADDRESS, inet6:PORT@ADDRESS, "
			   "inet:PORT@[IPV6] or unix:/PATH (e.g. \"inet:8891@127.0.0.1\")",
			   s);
		return;
	}
	socket_free(&c->cfg->socket);
	c->cfg->socket = sock;
}

/* socket_mode = 0660 (UCL reads 0660 as the integer 660: its digits are
 * taken as octal) or "0660". */
static void k_socket_mode(struct ctx *c, const struct ucl_node *n, void *base)
{
	(void)base;
	char buf[32];
	const char *s = buf;
	if (n->type == UCL_INT && n->v.i >= 0)
		snprintf(buf, sizeof buf, "%lld", (long long)n->v.i);
	else if (n->type != UCL_STRING || !want_str(c, n, "socket_mode", buf, sizeof buf, &s))
		s = "";
	unsigned v = 0;
	size_t len = strlen(s);
	bool ok = len > 0 && len <= 4;
	for (size_t k = 0; ok && k < len; k++) {
		ok = s[k] >= '0' && s[k] <= '7';
		v = v * 8 + (unsigned)(s[k] - '0');
	}
	if (!ok || v > 0777) {
		node_error(c, n, "socket_mode must be an octal file mode like 0660");
		return;
	}
	c->cfg->socket_mode = v;
}

static void k_authserv_id(struct ctx *c, const struct ucl_node *n, void *base)
{
	(void)base;
	char buf[32];
	const char *s;
	if (!want_str(c, n, "authserv_id", buf, sizeof buf, &s))
		return;
	if (s[0] == '\0') { /* empty: the default, the MTA's macro j */
		free(c->cfg->authserv_id);
		c->cfg->authserv_id = NULL;
		return;
	}
	/* AR-SYN-03 (RFC 8601 2.2, 2.5) */
	if (!signet_ar_authserv_id_valid(s)) {
		node_error(c, n,
			   "authserv_id '%s' is not a host-name-like token (letters, digits, '.', "
			   "'-'; RFC 8601 2.5), e.g. \"mx.example.com\"",
			   s);
		return;
	}
	set_str(c, &c->cfg->authserv_id, s);
}

static void add_cidr(struct ctx *c, const struct ucl_node *n, const char *s, void *arg)
{
	struct cidr_list *l = arg;
	struct cidr ci;
	if (!cidr_parse(s, &ci)) {
		node_error(c, n, "'%s' is not an address or CIDR network (e.g. \"192.0.2.0/24\", "
				 "\"2001:db8::/32\", \"::1\")",
			   s);
		return;
	}
	struct cidr *v = realloc(l->v, (l->n + 1) * sizeof *v);
	if (v == NULL) {
		diags_add(c->d, DIAG_ERROR, "out of memory");
		return;
	}
	l->v = v;
	l->v[l->n++] = ci;
}

static void k_local_addrs(struct ctx *c, const struct ucl_node *n, void *base)
{
	(void)base;
	c->cfg->local_addrs.n = 0;
	each_str(c, n, "local_addrs", &c->cfg->local_addrs, add_cidr);
}

static void k_workers(struct ctx *c, const struct ucl_node *n, void *base)
{
	(void)base;
	if (n->type != UCL_INT || n->v.i < 1 || n->v.i > CONFIG_MAX_WORKERS) {
		node_error(c, n, "workers must be a whole number from 1 to %d", CONFIG_MAX_WORKERS);
		return;
	}
	c->cfg->workers = (unsigned)n->v.i;
}

static void k_path_str(struct ctx *c, const struct ucl_node *n, const char *where, char **slot)
{
	char buf[32];
	const char *s;
	if (!want_str(c, n, where, buf, sizeof buf, &s))
		return;
	if (s[0] != '/') {
		node_error(c, n, "%s must be an absolute path (starting with '/')", where);
		return;
	}
	set_str(c, slot, s);
}

static void k_pidfile(struct ctx *c, const struct ucl_node *n, void *base)
{
	(void)base;
	k_path_str(c, n, "pidfile", &c->cfg->pidfile);
}

static void k_user_group(struct ctx *c, const struct ucl_node *n, void *base)
{
	(void)base;
	char buf[32];
	const char *s;
	bool user = strcmp(n->key, "user") == 0;
	if (!want_str(c, n, n->key, buf, sizeof buf, &s))
		return;
	if (s[0] == '\0' || strchr(s, ':') != NULL || strchr(s, '/') != NULL) {
		node_error(c, n, "%s '%s' is not a %s name", n->key, s, user ? "user" : "group");
		return;
	}
	set_str(c, user ? &c->cfg->user : &c->cfg->group, s);
}

/* on_error { sign = tempfail|accept; verify = accept|tempfail; } */
static void k_on_error_value(struct ctx *c, const struct ucl_node *n, void *base)
{
	(void)base;
	char buf[32], where[32];
	const char *s;
	bool sign = strcmp(n->key, "sign") == 0;
	snprintf(where, sizeof where, "on_error.%s", n->key);
	if (!want_str(c, n, where, buf, sizeof buf, &s))
		return;
	enum config_on_error v;
	if (strcmp(s, "tempfail") == 0)
		v = CONFIG_TEMPFAIL;
	else if (strcmp(s, "accept") == 0)
		v = CONFIG_ACCEPT;
	else {
		node_error(c, n, "%s must be \"tempfail\" or \"accept\", not '%s'", where, s);
		return;
	}
	if (sign)
		c->cfg->on_error_sign = v;
	else
		c->cfg->on_error_verify = v;
}

static const struct keydef on_error_keys[] = {
	{"sign", K_FN, 0, k_on_error_value, NULL},
	{"verify", K_FN, 0, k_on_error_value, NULL},
};

static void s_on_error(struct ctx *c, const struct ucl_node *n, void *base)
{
	walk(c, n, "on_error", on_error_keys, NKEYS(on_error_keys), base);
}

/* dns { forwarders = ["127.0.0.1@5353"]; timeout = 5s; trust_anchor_file = ...; } */
static void add_forwarder(struct ctx *c, const struct ucl_node *n, const char *s, void *arg)
{
	(void)arg;
	char host[INET6_ADDRSTRLEN + 1];
	uint8_t raw[16];
	unsigned port;
	const char *at = strchr(s, '@');
	size_t hlen = at ? (size_t)(at - s) : strlen(s);
	bool ok = hlen > 0 && hlen < sizeof host;
	if (ok) {
		memcpy(host, s, hlen);
		host[hlen] = '\0';
		ok = inet_pton(AF_INET, host, raw) == 1 || inet_pton(AF_INET6, host, raw) == 1;
	}
	if (ok && at != NULL)
		ok = port_parse(at + 1, strlen(at + 1), &port);
	if (!ok) {
		node_error(c, n, "dns.forwarders: '%s' is not ADDRESS or ADDRESS@PORT (numeric, e.g. "
				 "\"127.0.0.1@5353\")",
			   s);
		return;
	}
	struct signetd_config *cfg = c->cfg;
	char **v = realloc(cfg->dns_forwarders, (cfg->n_dns_forwarders + 1) * sizeof *v);
	if (v == NULL || (v[cfg->n_dns_forwarders] = strdup(s)) == NULL) {
		if (v != NULL)
			cfg->dns_forwarders = v;
		diags_add(c->d, DIAG_ERROR, "out of memory");
		return;
	}
	cfg->dns_forwarders = v;
	cfg->n_dns_forwarders++;
}

static void k_forwarders(struct ctx *c, const struct ucl_node *n, void *base)
{
	(void)base;
	each_str(c, n, "dns.forwarders", NULL, add_forwarder);
}

static void k_dns_timeout(struct ctx *c, const struct ucl_node *n, void *base)
{
	(void)base;
	(void)want_duration(c, n, "dns.timeout", CONFIG_MAX_DNS_TIMEOUT, &c->cfg->dns_timeout);
}

static void k_trust_anchor(struct ctx *c, const struct ucl_node *n, void *base)
{
	(void)base;
	k_path_str(c, n, "dns.trust_anchor_file", &c->cfg->dns_trust_anchor_file);
}

/* dns.health_interval: 0 turns the periodic key record check off. */
static void k_health_interval(struct ctx *c, const struct ucl_node *n, void *base)
{
	(void)base;
	if ((n->type == UCL_INT && n->v.i == 0) ||
	    ((n->type == UCL_FLOAT || n->type == UCL_TIME) && n->v.d == 0)) {
		c->cfg->dns_health_interval = 0;
		return;
	}
	(void)want_duration(c, n, "dns.health_interval", CONFIG_MAX_HEALTH_INTERVAL,
			    &c->cfg->dns_health_interval);
}

static const struct keydef dns_keys[] = {
	{"forwarders", K_FN, 0, k_forwarders, NULL},
	{"health_interval", K_FN, 0, k_health_interval, NULL},
	{"timeout", K_FN, 0, k_dns_timeout, NULL},
	{"trust_anchor_file", K_FN, 0, k_trust_anchor, NULL},
};

static void s_dns(struct ctx *c, const struct ucl_node *n, void *base)
{
	walk(c, n, "dns", dns_keys, NKEYS(dns_keys), base);
}

/* log { target = syslog|stderr; facility = mail; } */
static void k_log_target(struct ctx *c, const struct ucl_node *n, void *base)
{
	(void)base;
	char buf[32];
	const char *s;
	if (!want_str(c, n, "log.target", buf, sizeof buf, &s))
		return;
	if (strcmp(s, "syslog") == 0)
		c->cfg->log_target = CONFIG_LOG_SYSLOG;
	else if (strcmp(s, "stderr") == 0)
		c->cfg->log_target = CONFIG_LOG_STDERR;
	else
		node_error(c, n, "log.target must be \"syslog\" or \"stderr\", not '%s'", s);
}

static void k_log_facility(struct ctx *c, const struct ucl_node *n, void *base)
{
	(void)base;
	static const char *const names[] = {"mail",   "daemon", "user",   "local0",
					    "local1", "local2", "local3", "local4",
					    "local5", "local6", "local7"};
	char buf[32];
	const char *s;
	if (!want_str(c, n, "log.facility", buf, sizeof buf, &s))
		return;
	for (size_t k = 0; k < NKEYS(names); k++)
		if (strcmp(s, names[k]) == 0) {
			set_str(c, &c->cfg->log_facility, s);
			return;
		}
	node_error(c, n, "log.facility must be mail, daemon, user or local0..local7, not '%s'", s);
}

static const struct keydef log_keys[] = {
	{"target", K_FN, 0, k_log_target, NULL},
	{"facility", K_FN, 0, k_log_facility, NULL},
};

static void s_log(struct ctx *c, const struct ucl_node *n, void *base)
{
	walk(c, n, "log", log_keys, NKEYS(log_keys), base);
}

/* verify { l_policy = "unsigned-content-is-policy" | "honour"; } (RFC 6376 8.2) */
static void k_l_policy(struct ctx *c, const struct ucl_node *n, void *base)
{
	(void)base;
	char buf[32];
	const char *s;
	if (!want_str(c, n, "verify.l_policy", buf, sizeof buf, &s))
		return;
	if (strcmp(s, "unsigned-content-is-policy") == 0)
		c->cfg->l_policy = SIGNET_L_POLICY_UNSIGNED;
	else if (strcmp(s, "honour") == 0 || strcmp(s, "honor") == 0)
		c->cfg->l_policy = SIGNET_L_HONOUR;
	else
		node_error(c, n,
			   "verify.l_policy must be \"unsigned-content-is-policy\" or \"honour\", "
			   "not '%s'",
			   s);
}

/* verify { public_suffix_list = "/path"; } ("" = off): DKIM-VER-17. The
 * file is read by config_load, after the whole config is known. */
static void k_public_suffix_list(struct ctx *c, const struct ucl_node *n, void *base)
{
	(void)base;
	char buf[32];
	const char *s;
	if (!want_str(c, n, "verify.public_suffix_list", buf, sizeof buf, &s))
		return;
	if (s[0] == '\0') {
		free(c->cfg->psl_file);
		c->cfg->psl_file = NULL;
		return;
	}
	k_path_str(c, n, "verify.public_suffix_list", &c->cfg->psl_file);
}

/* verify { on_fail = "accept" | "reject"; on_temperror = "accept" | "tempfail"; }
 * DKIM-VER-16 (RFC 6376 6.3): a failed signature may be rejected, never
 * deferred; only a temporary key lookup failure may be deferred. */
static void k_verify_action(struct ctx *c, const struct ucl_node *n, void *base)
{
	(void)base;
	char buf[32], where[32];
	const char *s;
	bool fail = strcmp(n->key, "on_fail") == 0;
	const char *other = fail ? "reject" : "tempfail";
	snprintf(where, sizeof where, "verify.%s", n->key);
	if (!want_str(c, n, where, buf, sizeof buf, &s))
		return;
	enum config_on_error v;
	if (strcmp(s, "accept") == 0)
		v = CONFIG_ACCEPT;
	else if (strcmp(s, other) == 0)
		v = fail ? CONFIG_REJECT : CONFIG_TEMPFAIL;
	else {
		node_error(c, n, "%s must be \"accept\" or \"%s\", not '%s'", where, other, s);
		return;
	}
	if (fail)
		c->cfg->verify_on_fail = v;
	else
		c->cfg->verify_on_temperror = v;
}

static const struct keydef verify_keys[] = {
	{"l_policy", K_FN, 0, k_l_policy, NULL},
	{"on_fail", K_FN, 0, k_verify_action, NULL},
	{"on_temperror", K_FN, 0, k_verify_action, NULL},
	{"public_suffix_list", K_FN, 0, k_public_suffix_list, NULL},
};

static void s_verify(struct ctx *c, const struct ucl_node *n, void *base)
{
	walk(c, n, "verify", verify_keys, NKEYS(verify_keys), base);
}

/* metrics { listen = "127.0.0.1:9187"; } ("" = off, the default) */
static void k_metrics_listen(struct ctx *c, const struct ucl_node *n, void *base)
{
	(void)base;
	char buf[32];
	const char *s;
	struct sockaddr_storage ss;
	socklen_t len;
	if (!want_str(c, n, "metrics.listen", buf, sizeof buf, &s))
		return;
	if (s[0] == '\0') {
		free(c->cfg->metrics_listen);
		c->cfg->metrics_listen = NULL;
		return;
	}
	if (!metrics_parse_listen(s, &ss, &len)) {
		node_error(c, n,
			   "metrics.listen '%s' is not a numeric ADDRESS:PORT or [IPV6]:PORT "
			   "(e.g. \"127.0.0.1:9187\")",
			   s);
		return;
	}
	set_str(c, &c->cfg->metrics_listen, s);
}

static const struct keydef metrics_keys[] = {
	{"listen", K_FN, 0, k_metrics_listen, NULL},
};

static void s_metrics(struct ctx *c, const struct ucl_node *n, void *base)
{
	walk(c, n, "metrics", metrics_keys, NKEYS(metrics_keys), base);
}

/* connections { max = 1000; idle_timeout = 7210s; packet_timeout = 300s; }
 * (server.c enforces them; signetd.conf(5) says why these defaults). */
static void k_conn_max(struct ctx *c, const struct ucl_node *n, void *base)
{
	(void)base;
	if (n->type != UCL_INT || n->v.i < 1 || n->v.i > CONFIG_MAX_CONN_MAX) {
		node_error(c, n, "connections.max must be a whole number from 1 to %d",
			   CONFIG_MAX_CONN_MAX);
		return;
	}
	c->cfg->conn_max = (unsigned)n->v.i;
}

static void k_conn_idle(struct ctx *c, const struct ucl_node *n, void *base)
{
	(void)base;
	(void)want_duration(c, n, "connections.idle_timeout", CONFIG_MAX_CONN_TIMEOUT,
			    &c->cfg->conn_idle_timeout);
}

static void k_conn_packet(struct ctx *c, const struct ucl_node *n, void *base)
{
	(void)base;
	(void)want_duration(c, n, "connections.packet_timeout", CONFIG_MAX_CONN_TIMEOUT,
			    &c->cfg->conn_packet_timeout);
}

static const struct keydef connections_keys[] = {
	{"idle_timeout", K_FN, 0, k_conn_idle, NULL},
	{"max", K_FN, 0, k_conn_max, NULL},
	{"packet_timeout", K_FN, 0, k_conn_packet, NULL},
};

static void s_connections(struct ctx *c, const struct ucl_node *n, void *base)
{
	walk(c, n, "connections", connections_keys, NKEYS(connections_keys), base);
}

static void s_dkim_signing(struct ctx *c, const struct ucl_node *n, void *base);

static const struct keydef top_keys[] = {
	{"socket", K_FN, 0, k_socket, NULL},
	{"socket_mode", K_FN, 0, k_socket_mode, NULL},
	{"user", K_FN, 0, k_user_group, NULL},
	{"group", K_FN, 0, k_user_group, NULL},
	{"pidfile", K_FN, 0, k_pidfile, NULL},
	{"authserv_id", K_FN, 0, k_authserv_id, NULL},
	{"local_addrs", K_FN, 0, k_local_addrs, NULL},
	{"workers", K_FN, 0, k_workers, NULL},
	{"connections", K_SECTION, 0, s_connections, NULL},
	{"on_error", K_SECTION, 0, s_on_error, NULL},
	{"dns", K_SECTION, 0, s_dns, NULL},
	{"log", K_SECTION, 0, s_log, NULL},
	{"verify", K_SECTION, 0, s_verify, NULL},
	{"metrics", K_SECTION, 0, s_metrics, NULL},
	{"dkim_signing", K_SECTION, 0, s_dkim_signing, NULL},
};

/* ---- dkim_signing ------------------------------------------------------- */

static void k_use_domain(struct ctx *c, const struct ucl_node *n, void *base)
{
	struct config_signing *sg = base;
	char buf[32], where[64];
	const char *s;
	snprintf(where, sizeof where, "dkim_signing.%s", n->key);
	if (!want_str(c, n, where, buf, sizeof buf, &s))
		return;
	enum config_use_domain v;
	if (strcmp(s, "header") == 0)
		v = USE_DOMAIN_HEADER;
	else if (strcmp(s, "envelope") == 0)
		v = USE_DOMAIN_ENVELOPE;
	else if (strcmp(s, "auth") == 0)
		v = USE_DOMAIN_AUTH;
	else {
		if (strcmp(s, "recipient") == 0)
			node_error(c, n, "%s = \"recipient\" (an rspamd value for inbound signing) is "
					 "not supported; use header, envelope or auth",
				   where);
		else
			node_error(c, n, "%s must be \"header\", \"envelope\" or \"auth\", not '%s'",
				   where, s);
		return;
	}
	if (strcmp(n->key, "use_domain_sign_networks") == 0)
		sg->use_domain_sign_networks = v;
	else if (strcmp(n->key, "use_domain_sign_local") == 0)
		sg->use_domain_sign_local = v;
	else
		sg->use_domain = v;
}

/* dkim_signing.idn_labels = "auto" | "a-labels" (DKIM-EAI-04, RFC 8616 5). */
static void k_idn_labels(struct ctx *c, const struct ucl_node *n, void *base)
{
	struct config_signing *sg = base;
	char buf[32];
	const char *s;
	if (!want_str(c, n, "dkim_signing.idn_labels", buf, sizeof buf, &s))
		return;
	if (strcmp(s, "auto") == 0)
		sg->idn_labels = SIGNET_IDN_AUTO;
	else if (strcmp(s, "a-labels") == 0)
		sg->idn_labels = SIGNET_IDN_ALABELS;
	else
		node_error(c, n,
			   "dkim_signing.idn_labels must be \"auto\" (U-labels in messages with "
			   "UTF-8 headers) or \"a-labels\", not '%s'",
			   s);
}

static void k_sign_networks(struct ctx *c, const struct ucl_node *n, void *base)
{
	struct config_signing *sg = base;
	if (n->type == UCL_STRING && (n->str[0] == '/' || strstr(n->str, "://") != NULL)) {
		node_error(c, n, "dkim_signing.sign_networks: maps (files and URLs such as '%s') are "
				 "not supported; list the networks inline: sign_networks = "
				 "[\"192.0.2.0/24\", \"2001:db8::/32\"]",
			   n->str);
		return;
	}
	sg->sign_networks.n = 0;
	each_str(c, n, "dkim_signing.sign_networks", &sg->sign_networks, add_cidr);
}

/* rspamd's sign_headers: "from:to:..." with optional (o) (oversign) and
 * (x) (sign if present) prefixes. (o)name becomes name:name (listed once
 * more, which oversigns the one From signet requires); (x) is dropped. */
static void k_sign_headers(struct ctx *c, const struct ucl_node *n, void *base)
{
	struct config_signing *sg = base;
	char buf[32];
	const char *s;
	if (!want_str(c, n, "dkim_signing.sign_headers", buf, sizeof buf, &s))
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
			node_error(c, n, "dkim_signing.sign_headers must be header field names "
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
		node_error(c, n, "dkim_signing.sign_headers must include from (RFC 6376 5.4: the "
				 "From field is always signed)");
		free(out);
		return;
	}
	free(sg->sign_headers);
	sg->sign_headers = out;
}

/* A key entry being read (selector/path may come from the top level later). */
struct raw_key {
	char *selector;       /* owned, or NULL */
	const char *path;     /* borrowed from the tree, or NULL */
	enum signet_alg alg;
	const struct ucl_node *at;
	const char *path_file; /* the file path was written in (relative paths) */
};

static void k_algorithm(struct ctx *c, const struct ucl_node *n, struct raw_key *rk)
{
	char buf[32];
	const char *s;
	if (!want_str(c, n, "algorithm", buf, sizeof buf, &s))
		return;
	enum signet_alg a = signet_alg_parse(s, strlen(s));
	if (a == SIGNET_ALG_RSA_SHA256 || a == SIGNET_ALG_ED25519_SHA256)
		rk->alg = a;
	else
		node_error(c, n, "algorithm must be \"rsa-sha256\" or \"ed25519-sha256\", not '%s'",
			   s);
}

static const char *const key_entry_names[] = {"selector", "path", "algorithm", "selectors"};

/* selector / path / algorithm members of a domain or a selectors element. */
static bool key_entry_member(struct ctx *c, const struct ucl_node *m, struct raw_key *rk)
{
	char buf[32];
	const char *s;
	if (m->next != NULL) {
		node_error(c, m->next, "'%s' is set %zu times (first at %s:%u:%u); keep one", m->key,
			   ucl_count(m), ATV(m));
		return true;
	}
	if (strcmp(m->key, "selector") == 0) {
		if (want_str(c, m, "selector", buf, sizeof buf, &s)) {
			free(rk->selector);
			rk->selector = xstrdup(c, s); /* selector = 2019 is the number 2019 */
		}
	} else if (strcmp(m->key, "path") == 0) {
		if (want_str(c, m, "path", buf, sizeof buf, &s)) {
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
		node_error(c, e, "domain %s: each element of selectors must be { selector = ...; "
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
			struct keydef t[3] = {{"selector", K_STR, 0, NULL, NULL},
					      {"path", K_STR, 0, NULL, NULL},
					      {"algorithm", K_STR, 0, NULL, NULL}};
			char section[300];
			snprintf(section, sizeof section, "selectors of domain %s", rd->name);
			unknown_key(c, m, section, t, 3);
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

static struct raw_domain *raw_domain_get(struct ctx *c, const char *name,
					 const struct ucl_node *at)
{
	for (size_t k = 0; k < c->ndoms; k++)
		if (strcmp(c->doms[k].name, name) == 0)
			return &c->doms[k];
	if (c->ndoms >= CONFIG_MAX_DOMAINS) {
		node_error(c, at, "more than CONFIG_MAX_DOMAINS (%d) domains", CONFIG_MAX_DOMAINS);
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
	if ((rd->name = xstrdup(c, name)) == NULL)
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
	lower(name);
	if (len >= sizeof name || !dns_name_ok(name)) {
		node_error(c, dn, "'%s' under dkim_signing.domain is not a domain name%s", dn->key,
			   strchr(dn->key, '*') ? " (wildcards are not supported; use the top-level "
						  "path with $domain, or use_esld)"
						: "");
		return;
	}
	if (dn->type != UCL_OBJECT) {
		node_error(c, dn, "domain %s must be { selector = ...; path = ...; }, not a %s", name,
			   ucl_type_name(dn->type));
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
				t[j] = (struct keydef){key_entry_names[j], K_STR, 0, NULL, NULL};
			char section[300];
			snprintf(section, sizeof section, "domain %s", name);
			unknown_key(c, m, section, t, 4);
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
		node_error(c, dn, "domain %s has no key: add selector = \"...\"; path = \"...\"; or "
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
	if (!want_str(c, n, "dkim_signing.path", buf, sizeof buf, &s))
		return;
	set_str(c, &sg->path, s);
	c->top_path = n;
}

#define REDIS_NOTE "keys come from files; Redis key storage is not implemented yet"
#define HTTP_NOTE "it belongs to rspamd's HTTP protocol, which a milter does not have"
#define VAULT_NOTE "Vault is not supported; keep keys in files"
#define MAPS_NOTE "maps are not supported; list the keys under domain { }"
#define INBOUND_NOTE "signet signs only authenticated, local and sign_networks mail"

static const struct keydef signing_keys[] = {
	{"enabled", K_BOOL, SGN(enabled), NULL, NULL},
	{"sign_authenticated", K_BOOL, SGN(sign_authenticated), NULL, NULL},
	{"auth_only", K_BOOL, SGN(sign_authenticated), NULL, NULL},
	{"sign_local", K_BOOL, SGN(sign_local), NULL, NULL},
	{"sign_networks", K_FN, 0, k_sign_networks, NULL},
	{"use_domain", K_FN, 0, k_use_domain, NULL},
	{"use_domain_sign_networks", K_FN, 0, k_use_domain, NULL},
	{"use_domain_sign_local", K_FN, 0, k_use_domain, NULL},
	{"allow_hdrfrom_mismatch", K_BOOL, SGN(allow_hdrfrom_mismatch), NULL, NULL},
	{"allow_hdrfrom_mismatch_local", K_BOOL, SGN(allow_hdrfrom_mismatch_local), NULL, NULL},
	{"allow_hdrfrom_mismatch_sign_networks", K_BOOL,
	 SGN(allow_hdrfrom_mismatch_sign_networks), NULL, NULL},
	{"allow_username_mismatch", K_BOOL, SGN(allow_username_mismatch), NULL, NULL},
	{"allow_envfrom_empty", K_BOOL, SGN(allow_envfrom_empty), NULL, NULL},
	{"use_esld", K_BOOL, SGN(use_esld), NULL, NULL},
	{"try_fallback", K_BOOL, SGN(try_fallback), NULL, NULL},
	{"selector", K_STR, SGN(selector), NULL, NULL},
	{"path", K_FN, 0, k_top_path, NULL},
	{"sign_headers", K_FN, 0, k_sign_headers, NULL},
	{"idn_labels", K_FN, 0, k_idn_labels, NULL},
	{"domain", K_SECTION, 0, s_domain, NULL},
	{"sign_inbound", K_UNSUPPORTED, 0, NULL, INBOUND_NOTE},
	{"use_domain_sign_inbound", K_UNSUPPORTED, 0, NULL, INBOUND_NOTE},
	{"use_domain_custom", K_UNSUPPORTED, 0, NULL, "signet has no Lua"},
	{"allow_hdrfrom_multiple", K_UNSUPPORTED, 0, NULL,
	 "signet never signs a message with several From fields (RFC 6376 5.4, DKIM-SIGN-07)"},
	{"check_pubkey", K_UNSUPPORTED, 0, NULL,
	 "check the published key with: signet dnscheck -d DOMAIN -s SELECTOR -k KEYFILE"},
	{"allow_pubkey_mismatch", K_UNSUPPORTED, 0, NULL,
	 "check the published key with: signet dnscheck -d DOMAIN -s SELECTOR -k KEYFILE"},
	{"use_redis", K_UNSUPPORTED, 0, NULL, REDIS_NOTE},
	{"key_prefix", K_UNSUPPORTED, 0, NULL, REDIS_NOTE},
	{"selector_prefix", K_UNSUPPORTED, 0, NULL, REDIS_NOTE},
	{"servers", K_UNSUPPORTED, 0, NULL, REDIS_NOTE},
	{"read_servers", K_UNSUPPORTED, 0, NULL, REDIS_NOTE},
	{"write_servers", K_UNSUPPORTED, 0, NULL, REDIS_NOTE},
	{"password", K_UNSUPPORTED, 0, NULL, REDIS_NOTE},
	{"db", K_UNSUPPORTED, 0, NULL, REDIS_NOTE},
	{"dbname", K_UNSUPPORTED, 0, NULL, REDIS_NOTE},
	{"timeout", K_UNSUPPORTED, 0, NULL, REDIS_NOTE},
	{"use_http_headers", K_UNSUPPORTED, 0, NULL, HTTP_NOTE},
	{"allow_headers_fallback", K_UNSUPPORTED, 0, NULL, HTTP_NOTE},
	{"http_sign_header", K_UNSUPPORTED, 0, NULL, HTTP_NOTE},
	{"http_sign_on_reject_header_header", K_UNSUPPORTED, 0, NULL, HTTP_NOTE},
	{"http_domain_header", K_UNSUPPORTED, 0, NULL, HTTP_NOTE},
	{"http_selector_header", K_UNSUPPORTED, 0, NULL, HTTP_NOTE},
	{"http_key_header", K_UNSUPPORTED, 0, NULL, HTTP_NOTE},
	{"use_vault", K_UNSUPPORTED, 0, NULL, VAULT_NOTE},
	{"vault_url", K_UNSUPPORTED, 0, NULL, VAULT_NOTE},
	{"vault_token", K_UNSUPPORTED, 0, NULL, VAULT_NOTE},
	{"vault_domains", K_UNSUPPORTED, 0, NULL, VAULT_NOTE},
	{"http_timeout", K_UNSUPPORTED, 0, NULL, VAULT_NOTE},
	{"no_ssl_verify", K_UNSUPPORTED, 0, NULL, VAULT_NOTE},
	{"signing_table", K_UNSUPPORTED, 0, NULL,
	 "OpenDKIM-style tables are not supported; list the keys under domain { }"},
	{"key_table", K_UNSUPPORTED, 0, NULL,
	 "OpenDKIM-style tables are not supported; list the keys under domain { }"},
	{"selector_map", K_UNSUPPORTED, 0, NULL, MAPS_NOTE},
	{"path_map", K_UNSUPPORTED, 0, NULL, MAPS_NOTE},
	{"symbol", K_UNSUPPORTED, 0, NULL, "signet has no rspamd symbols"},
	{"symbol_signed", K_UNSUPPORTED, 0, NULL, "signet has no rspamd symbols"},
	{"check_violation", K_UNSUPPORTED, 0, NULL, "signet has no rspamd symbols"},
	{"sign_condition", K_UNSUPPORTED, 0, NULL, "signet has no Lua"},
};

static void s_dkim_signing(struct ctx *c, const struct ucl_node *n, void *base)
{
	(void)base;
	if (c->signing == NULL)
		c->signing = n;
	walk(c, n, "dkim_signing", signing_keys, NKEYS(signing_keys), &c->cfg->signing);
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
	if (!dns_name_ok(sel)) {
		node_error(c, rk->at, "domain %s: selector '%s' is not a valid selector (letters, "
				      "digits, '-', '_', dot-separated; RFC 6376 3.1)",
			   rd->name, sel);
		return;
	}
	if (tmpl == NULL) {
		node_error(c, rk->at, "domain %s, selector %s: no path (set path here, or a "
				      "top-level dkim_signing.path such as \"/etc/signet/keys/"
				      "$domain.$selector.key\")",
			   rd->name, sel);
		return;
	}
	if (!substitute(tmpl, rd->name, sel, sub, sizeof sub) ||
	    !absolutize(sub, tfile, abs, sizeof abs)) {
		node_error(c, rk->at, "domain %s, selector %s: key path is too long", rd->name, sel);
		return;
	}
	const char *dollar = strchr(sub, '$');
	if (dollar != NULL) {
		node_error(c, rk->at, "domain %s, selector %s: key path '%s' contains '%.*s', which "
				      "signet does not expand (only $domain and $selector; write "
				      "rspamd's ${DBDIR} as /var/lib/rspamd)",
			   rd->name, sel, sub, (int)strcspn(dollar, "/."), dollar);
		return;
	}
	out->selector = xstrdup(c, sel);
	out->path = xstrdup(c, abs);
	out->alg = rk->alg;
	out->file = rk->at->file;
	out->line = rk->at->line;
	out->col = rk->at->col;
}

static void resolve_domain(struct ctx *c, const struct raw_domain *rd, struct config_domain *cd)
{
	cd->name = xstrdup(c, rd->name);
	if (rd->n > SIGNET_MAX_SIGNERS) {
		node_error(c, rd->at, "domain %s has %zu keys; at most SIGNET_MAX_SIGNERS (%d) "
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
		if (ck->selector == NULL || ck->path == NULL) {
			free(ck->selector), free(ck->path);
			memset(ck, 0, sizeof *ck);
			continue;
		}
		cd->nkeys++;
		for (size_t j = 0; j + 1 < cd->nkeys; j++)
			if (strcasecmp(cd->keys[j].selector, ck->selector) == 0)
				node_error(c, rd->keys[k].at, "domain %s: selector %s is configured "
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

static void resolve_domains(struct ctx *c)
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

static void raw_domains_free(struct ctx *c)
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

/* The top-level path template, checked once: it is used for fallback. */
static void check_top_path(struct ctx *c)
{
	struct config_signing *sg = &c->cfg->signing;
	char sub[PATH_MAX], abs[PATH_MAX];
	if (sg->path == NULL || c->top_path == NULL)
		return;
	if (!substitute(sg->path, "d", sg->selector, sub, sizeof sub) ||
	    !absolutize(sg->path, c->top_path->file, abs, sizeof abs)) {
		node_error(c, c->top_path, "dkim_signing.path is too long");
		return;
	}
	const char *dollar = strchr(sub, '$');
	if (dollar != NULL)
		node_error(c, c->top_path, "dkim_signing.path '%s' contains '%.*s', which signet "
					   "does not expand (only $domain and $selector; write "
					   "rspamd's ${DBDIR} as /var/lib/rspamd)",
			   sg->path, (int)strcspn(dollar, "/."), dollar);
	if (!dns_name_ok(sg->selector))
		node_error(c, c->top_path, "dkim_signing.selector '%s' is not a valid selector",
			   sg->selector);
	set_str(c, &sg->path, abs);
}

/* ---- loading ------------------------------------------------------------ */

static unsigned online_cpus(void)
{
	long n = sysconf(_SC_NPROCESSORS_ONLN);
	if (n < 1)
		return 1;
	return n > CONFIG_MAX_WORKERS ? CONFIG_MAX_WORKERS : (unsigned)n;
}

static bool config_defaults(struct signetd_config *cfg, struct ctx *c)
{
	static const char *const local[] = {"127.0.0.0/8", "::1"};
	cfg->socket_mode = CONFIG_DEFAULT_SOCKET_MODE;
	cfg->on_error_sign = CONFIG_TEMPFAIL;
	cfg->on_error_verify = CONFIG_ACCEPT;
	cfg->dns_timeout = CONFIG_DEFAULT_DNS_TIMEOUT;
	cfg->dns_health_interval = CONFIG_DEFAULT_HEALTH_INTERVAL;
	cfg->l_policy = SIGNET_L_POLICY_UNSIGNED; /* the l= attack (RFC 6376 8.2) */
	cfg->verify_on_fail = CONFIG_ACCEPT;	  /* DMARC, not DKIM alone, decides */
	cfg->verify_on_temperror = CONFIG_ACCEPT;
	cfg->log_target = CONFIG_LOG_SYSLOG;
	cfg->workers = online_cpus();
	cfg->conn_max = CONFIG_DEFAULT_CONN_MAX;
	cfg->conn_idle_timeout = CONFIG_DEFAULT_CONN_IDLE_TIMEOUT;
	cfg->conn_packet_timeout = CONFIG_DEFAULT_CONN_PACKET_TIMEOUT;
	cfg->log_facility = xstrdup(c, "mail");
	cfg->psl_file = xstrdup(c, SIGNET_PSL_DEFAULT_FILE);
	struct config_signing *sg = &cfg->signing;
	sg->enabled = sg->sign_authenticated = sg->sign_local = true;
	sg->allow_envfrom_empty = sg->use_esld = sg->try_fallback = true;
	sg->use_domain = USE_DOMAIN_HEADER;
	sg->selector = xstrdup(c, CONFIG_DEFAULT_SELECTOR);
	if (!socket_parse(CONFIG_DEFAULT_SOCKET, &cfg->socket) ||
	    (cfg->socket.spec = xstrdup(c, CONFIG_DEFAULT_SOCKET)) == NULL)
		return false;
	cfg->local_addrs.v = calloc(2, sizeof *cfg->local_addrs.v);
	if (cfg->local_addrs.v == NULL)
		return false;
	for (size_t k = 0; k < 2; k++)
		(void)cidr_parse(local[k], &cfg->local_addrs.v[cfg->local_addrs.n++]);
	return cfg->log_facility != NULL && sg->selector != NULL && cfg->psl_file != NULL;
}

/* Reads a whole regular file, at most max bytes. */
static enum ucl_include_status read_whole(const char *path, size_t max, uint8_t **text,
					  size_t *len, char *why, size_t whycap)
{
	FILE *f = fopen(path, "rb");
	if (f == NULL) {
		snprintf(why, whycap, "%s", strerror(errno));
		return errno == ENOENT ? UCL_INCLUDE_NOT_FOUND : UCL_INCLUDE_FAILED;
	}
	struct stat st;
	if (fstat(fileno(f), &st) != 0 || !S_ISREG(st.st_mode)) {
		snprintf(why, whycap, "not a regular file");
		fclose(f);
		return UCL_INCLUDE_FAILED;
	}
	size_t cap = (size_t)st.st_size < max ? (size_t)st.st_size + 1 : max + 1;
	uint8_t *p = malloc(cap ? cap : 1);
	if (p == NULL) {
		snprintf(why, whycap, "out of memory");
		fclose(f);
		return UCL_INCLUDE_FAILED;
	}
	size_t n = fread(p, 1, cap, f);
	bool err = ferror(f);
	fclose(f);
	if (err) {
		snprintf(why, whycap, "read error");
		free(p);
		return UCL_INCLUDE_FAILED;
	}
	*text = p;
	*len = n; /* n > max is reported by the parser as UCL_MAX_INPUT */
	return UCL_INCLUDE_OK;
}

static enum ucl_include_status include_cb(void *ctx, const char *path, bool try_,
					  struct ucl_include_result *res)
{
	(void)ctx, (void)try_;
	enum ucl_include_status st =
		read_whole(path, UCL_MAX_INPUT, &res->text, &res->len, res->why, sizeof res->why);
	if (st == UCL_INCLUDE_OK)
		res->canonical = realpath(path, NULL); /* loops through other names */
	return st;
}

static void config_from_doc(struct ctx *c, const struct ucl_doc *doc)
{
	walk(c, doc->root, "the top level", top_keys, NKEYS(top_keys), c->cfg);
	check_top_path(c);
	resolve_domains(c);
	raw_domains_free(c);
	if (c->cfg->socket.family != CONFIG_SOCK_UNIX)
		c->cfg->socket_mode = CONFIG_DEFAULT_SOCKET_MODE;
}

enum signet_status config_parse(const char *name, const uint8_t *text, size_t len,
				struct signetd_config **out, struct diags *d)
{
	*out = NULL;
	size_t errors = d->nerrors;
	struct signetd_config *cfg = calloc(1, sizeof *cfg);
	struct ctx c = {.cfg = cfg, .d = d};
	if (cfg == NULL || !config_defaults(cfg, &c) || (cfg->file = strdup(name)) == NULL) {
		diags_add(d, DIAG_ERROR, "out of memory");
		config_free(cfg);
		return SIGNET_ERR_NOMEM;
	}
	struct ucl_opts o = {.include = include_cb};
	struct ucl_doc *doc = NULL;
	enum signet_status st = ucl_parse(&o, name, text, len, &doc, d);
	if (st != SIGNET_OK) {
		config_free(cfg);
		return st;
	}
	config_from_doc(&c, doc);
	/* the nodes' file names live on in config_key.file */
	cfg->files = doc->files;
	cfg->nfiles = doc->nfiles;
	doc->files = NULL;
	doc->nfiles = 0;
	ucl_doc_free(doc);
	if (d->nerrors > errors) {
		config_free(cfg);
		return SIGNET_ERR_SYNTAX;
	}
	*out = cfg;
	return SIGNET_OK;
}

/* DKIM-VER-17: reads and parses the public suffix list. Verifying goes
 * on without it, so a missing or malformed list is a warning only. */
static void load_psl(struct signetd_config *cfg, struct diags *d)
{
	static const char off[] = "the public suffix check of d= (DKIM-VER-17) is off";
	uint8_t *text = NULL;
	size_t len = 0;
	char why[256];
	if (cfg->psl_file == NULL)
		return;
	if (read_whole(cfg->psl_file, SIGNET_PSL_MAX_BYTES, &text, &len, why, sizeof why) !=
	    UCL_INCLUDE_OK) {
		diags_add(d, DIAG_WARNING, "verify.public_suffix_list: cannot read %s: %s; %s",
			  cfg->psl_file, why, off);
		return;
	}
	struct signet_error err = {0};
	if (signet_psl_parse(text, len, &cfg->psl, &err) != SIGNET_OK)
		diags_add(d, DIAG_WARNING, "verify.public_suffix_list: %s: %s; %s", cfg->psl_file,
			  err.msg, off);
	free(text);
}

enum signet_status config_load(const char *path, struct signetd_config **out, struct diags *d)
{
	*out = NULL;
	if (path == NULL)
		path = CONFIG_DEFAULT_FILE;
	uint8_t *text = NULL;
	size_t len = 0;
	char why[256];
	if (read_whole(path, UCL_MAX_INPUT, &text, &len, why, sizeof why) != UCL_INCLUDE_OK) {
		diags_add(d, DIAG_ERROR, "cannot read config file %s: %s", path, why);
		return SIGNET_ERR_INVAL;
	}
	enum signet_status st = config_parse(path, text, len, out, d);
	free(text);
	if (st == SIGNET_OK)
		load_psl(*out, d);
	return st;
}

static void cidr_list_free(struct cidr_list *l)
{
	free(l->v);
	l->v = NULL;
	l->n = 0;
}

void config_free(struct signetd_config *cfg)
{
	if (cfg == NULL)
		return;
	free(cfg->file);
	socket_free(&cfg->socket);
	free(cfg->user), free(cfg->group), free(cfg->pidfile), free(cfg->authserv_id);
	cidr_list_free(&cfg->local_addrs);
	for (size_t k = 0; k < cfg->n_dns_forwarders; k++)
		free(cfg->dns_forwarders[k]);
	free(cfg->dns_forwarders);
	free(cfg->dns_trust_anchor_file);
	free(cfg->log_facility);
	free(cfg->metrics_listen);
	free(cfg->psl_file);
	signet_psl_free(cfg->psl);
	struct config_signing *sg = &cfg->signing;
	free(sg->selector), free(sg->path), free(sg->sign_headers);
	cidr_list_free(&sg->sign_networks);
	for (size_t k = 0; k < sg->ndomains; k++) {
		for (size_t j = 0; j < sg->domains[k].nkeys; j++) {
			free(sg->domains[k].keys[j].selector);
			free(sg->domains[k].keys[j].path);
		}
		free(sg->domains[k].keys);
		free(sg->domains[k].name);
	}
	free(sg->domains);
	for (size_t k = 0; k < cfg->nfiles; k++)
		free(cfg->files[k]);
	free(cfg->files);
	free(cfg);
}

/* ---- dump --------------------------------------------------------------- */

const char *config_use_domain_name(enum config_use_domain u)
{
	switch (u) {
	case USE_DOMAIN_HEADER: return "header";
	case USE_DOMAIN_ENVELOPE: return "envelope";
	case USE_DOMAIN_AUTH: return "auth";
	}
	return "unset";
}

/* A UCL double-quoted string. */
static void put_str(FILE *f, const char *s)
{
	fputc('"', f);
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		if (*p == '"' || *p == '\\')
			fprintf(f, "\\%c", *p);
		else if (*p < 0x20 || *p == 0x7f)
			fprintf(f, "\\u%04x", *p);
		else
			fputc(*p, f);
	}
	fputc('"', f);
}

static void put_kv(FILE *f, const char *indent, const char *key, const char *val)
{
	fprintf(f, "%s%s = ", indent, key);
	put_str(f, val);
	fputs(";\n", f);
}

static void put_bool(FILE *f, const char *key, bool v)
{
	fprintf(f, "  %s = %s;\n", key, v ? "true" : "false");
}

static void put_cidrs(FILE *f, const char *indent, const char *key, const struct cidr_list *l)
{
	fprintf(f, "%s%s = [", indent, key);
	for (size_t k = 0; k < l->n; k++) {
		char a[INET6_ADDRSTRLEN];
		inet_ntop(l->v[k].family, l->v[k].addr, a, sizeof a);
		unsigned host = l->v[k].family == AF_INET ? 32 : 128;
		if (l->v[k].prefix == host)
			fprintf(f, "%s\"%s\"", k ? ", " : "", a);
		else
			fprintf(f, "%s\"%s/%u\"", k ? ", " : "", a, l->v[k].prefix);
	}
	fputs("];\n", f);
}

static void dump_domains(const struct config_signing *sg, FILE *f)
{
	fputs("  domain {\n", f);
	for (size_t k = 0; k < sg->ndomains; k++) {
		const struct config_domain *cd = &sg->domains[k];
		fprintf(f, "    ");
		put_str(f, cd->name);
		fputs(" {\n      selectors = [\n", f);
		for (size_t j = 0; j < cd->nkeys; j++) {
			fputs("        { selector = ", f);
			put_str(f, cd->keys[j].selector);
			fputs("; path = ", f);
			put_str(f, cd->keys[j].path);
			if (cd->keys[j].alg != SIGNET_ALG_UNKNOWN)
				fprintf(f, "; algorithm = \"%s\"", signet_alg_name(cd->keys[j].alg));
			fputs("; },\n", f);
		}
		fputs("      ];\n    }\n", f);
	}
	fputs("  }\n", f);
}

static void dump_signing(const struct config_signing *sg, FILE *f)
{
	fputs("dkim_signing {\n", f);
	put_bool(f, "enabled", sg->enabled);
	put_bool(f, "sign_authenticated", sg->sign_authenticated);
	put_bool(f, "sign_local", sg->sign_local);
	put_cidrs(f, "  ", "sign_networks", &sg->sign_networks);
	put_kv(f, "  ", "use_domain", config_use_domain_name(sg->use_domain));
	if (sg->use_domain_sign_networks)
		put_kv(f, "  ", "use_domain_sign_networks",
		       config_use_domain_name(sg->use_domain_sign_networks));
	if (sg->use_domain_sign_local)
		put_kv(f, "  ", "use_domain_sign_local",
		       config_use_domain_name(sg->use_domain_sign_local));
	put_bool(f, "allow_hdrfrom_mismatch", sg->allow_hdrfrom_mismatch);
	put_bool(f, "allow_hdrfrom_mismatch_local", sg->allow_hdrfrom_mismatch_local);
	put_bool(f, "allow_hdrfrom_mismatch_sign_networks",
		 sg->allow_hdrfrom_mismatch_sign_networks);
	put_bool(f, "allow_username_mismatch", sg->allow_username_mismatch);
	put_bool(f, "allow_envfrom_empty", sg->allow_envfrom_empty);
	put_bool(f, "use_esld", sg->use_esld);
	put_bool(f, "try_fallback", sg->try_fallback);
	put_kv(f, "  ", "selector", sg->selector);
	if (sg->path)
		put_kv(f, "  ", "path", sg->path);
	else
		fputs("  # path: not set (no fallback key path)\n", f);
	if (sg->sign_headers)
		put_kv(f, "  ", "sign_headers", sg->sign_headers);
	else
		fputs("  # sign_headers: not set (the library's default list, oversigned)\n", f);
	put_kv(f, "  ", "idn_labels", sg->idn_labels == SIGNET_IDN_ALABELS ? "a-labels" : "auto");
	dump_domains(sg, f);
	fputs("}\n", f);
}

void config_dump(const struct signetd_config *cfg, FILE *f)
{
	fputs("# signetd effective configuration (signetd --dump-config)\n", f);
	put_kv(f, "", "socket", cfg->socket.spec);
	if (cfg->socket.family == CONFIG_SOCK_UNIX)
		fprintf(f, "socket_mode = \"0%03o\";\n", cfg->socket_mode);
	if (cfg->user)
		put_kv(f, "", "user", cfg->user);
	else
		fputs("# user: not set (signetd keeps the user it was started as)\n", f);
	if (cfg->group)
		put_kv(f, "", "group", cfg->group);
	if (cfg->pidfile)
		put_kv(f, "", "pidfile", cfg->pidfile);
	put_kv(f, "", "authserv_id", cfg->authserv_id ? cfg->authserv_id : "");
	if (!cfg->authserv_id)
		fputs("# authserv_id \"\": the MTA's host name (macro j)\n", f);
	put_cidrs(f, "", "local_addrs", &cfg->local_addrs);
	fprintf(f, "on_error { sign = \"%s\"; verify = \"%s\"; }\n",
		cfg->on_error_sign == CONFIG_TEMPFAIL ? "tempfail" : "accept",
		cfg->on_error_verify == CONFIG_TEMPFAIL ? "tempfail" : "accept");
	fputs("dns {\n  forwarders = [", f);
	for (size_t k = 0; k < cfg->n_dns_forwarders; k++) {
		fputs(k ? ", " : "", f);
		put_str(f, cfg->dns_forwarders[k]);
	}
	fprintf(f, "];\n  timeout = %gs;\n  health_interval = %gs;\n", cfg->dns_timeout,
		cfg->dns_health_interval);
	if (cfg->dns_trust_anchor_file)
		put_kv(f, "  ", "trust_anchor_file", cfg->dns_trust_anchor_file);
	else
		fputs("  # trust_anchor_file: not set (no DNSSEC validation)\n", f);
	fprintf(f, "}\nlog { target = \"%s\"; facility = ",
		cfg->log_target == CONFIG_LOG_STDERR ? "stderr" : "syslog");
	put_str(f, cfg->log_facility);
	fprintf(f, "; }\nworkers = %u;\n", cfg->workers);
	fprintf(f, "connections {\n  max = %u;\n  idle_timeout = %gs;\n  packet_timeout = %gs;\n}\n",
		cfg->conn_max, cfg->conn_idle_timeout, cfg->conn_packet_timeout);
	fprintf(f, "verify { l_policy = \"%s\"; }\n",
		cfg->l_policy == SIGNET_L_HONOUR ? "honour" : "unsigned-content-is-policy");
	fprintf(f, "verify { on_fail = \"%s\"; on_temperror = \"%s\"; }\n",
		cfg->verify_on_fail == CONFIG_REJECT ? "reject" : "accept",
		cfg->verify_on_temperror == CONFIG_TEMPFAIL ? "tempfail" : "accept");
	fputs("verify { public_suffix_list = ", f);
	put_str(f, cfg->psl_file ? cfg->psl_file : "");
	fputs("; }\n", f);
	if (!cfg->psl_file)
		fputs("# verify.public_suffix_list \"\": no public suffix check of d=\n", f);
	fputs("metrics { listen = ", f);
	put_str(f, cfg->metrics_listen ? cfg->metrics_listen : "");
	fputs("; }\n", f);
	if (!cfg->metrics_listen)
		fputs("# metrics.listen \"\": no metrics listener\n", f);
	dump_signing(&cfg->signing, f);
}
