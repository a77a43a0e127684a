/* config_redis.c: the top-level redis { } section (issue #15 "Fleets",
 * DESIGN.md): servers = ["127.0.0.1:6379"]; timeout = 1s. With servers
 * set and dmarc.reports.enabled, signetd writes its DMARC observations to
 * Redis (conf/report_redis_codec.h) instead of the SQLite store, so that
 * several signetd share one store; the first server that answers is used.
 * password / username / db (rspamd's, also in dkim_signing; dbname is
 * rspamd's older name of db) are sent as AUTH and SELECT on every
 * connection. No TLS (hiredis 0.14): the password crosses the network in
 * clear; keep Redis on loopback or a private network (signetd.conf(5)
 * REDIS, SECURITY.md). */
#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "config.h"
#include "config_walk.h"
#include "hostport.h"
#include "redis_client.h"

bool config_redis_server(const char *spec, char *host, size_t cap, unsigned *port)
{
	struct sockaddr_storage ss;
	socklen_t sl;
	const char *colon = spec ? strrchr(spec, ':') : NULL;
	if (colon == NULL || !hostport_sockaddr(spec, &ss, &sl))
		return false;
	const char *h = spec;
	size_t len = (size_t)(colon - spec);
	if (h[0] == '[') /* [IPV6]:PORT */
		h++, len -= 2;
	if (len == 0 || len >= cap)
		return false;
	memcpy(host, h, len);
	host[len] = '\0';
	return hostport_port(colon + 1, strlen(colon + 1), port);
}

#define REDIS_DEFAULT_PORT 6379

const struct config_redis *config_signing_redis(const struct signetd_config *cfg)
{
	return cfg->signing.redis.n_servers > 0 ? &cfg->signing.redis : &cfg->redis;
}

void config_redis_free(struct config_redis *r)
{
	for (size_t k = 0; k < r->n_servers; k++)
		free(r->servers[k]);
	free(r->servers);
	r->servers = NULL;
	r->n_servers = 0;
	if (r->password != NULL)
		explicit_bzero(r->password, strlen(r->password));
	free(r->password);
	free(r->username);
	r->password = r->username = NULL;
}

struct servers_arg {
	struct config_redis *r;
	const char *where; /* "redis.servers" or "dkim_signing.servers" */
};

static void add_server(struct ctx *c, const struct ucl_node *n, const char *s, void *arg)
{
	const struct servers_arg *a = arg;
	struct config_redis *r = a->r;
	char host[64], withport[80];
	unsigned port;
	uint8_t addr[16];
	/* rspamd's servers = "127.0.0.1" means Redis's default port */
	if (inet_pton(AF_INET, s, addr) == 1)
		snprintf(withport, sizeof withport, "%s:%d", s, REDIS_DEFAULT_PORT), s = withport;
	else if (strlen(s) < 64 && inet_pton(AF_INET6, s, addr) == 1)
		snprintf(withport, sizeof withport, "[%s]:%d", s, REDIS_DEFAULT_PORT), s = withport;
	if (!config_redis_server(s, host, sizeof host, &port)) {
		cfg_node_error(c, n,
			       "%s: '%s' is not a numeric ADDRESS, ADDRESS:PORT or [IPV6]:PORT "
			       "(e.g. \"127.0.0.1:6379\")",
			       a->where, s);
		return;
	}
	if (r->n_servers == CONFIG_MAX_REDIS_SERVERS) {
		cfg_node_error(c, n, "%s: more than %d servers", a->where,
			       CONFIG_MAX_REDIS_SERVERS);
		return;
	}
	char **v = realloc(r->servers, (r->n_servers + 1) * sizeof *v);
	if (v == NULL) {
		diags_add(c->d, DIAG_ERROR, "out of memory");
		return;
	}
	r->servers = v;
	if ((v[r->n_servers] = cfg_xstrdup(c, s)) != NULL)
		r->n_servers++;
}

void cfg_redis_servers(struct ctx *c, const struct ucl_node *n, const char *where,
		       struct config_redis *r)
{
	struct servers_arg a = {r, where};
	config_redis_free(r);
	cfg_each_str(c, n, where, &a, add_server);
}

/* A password in a file others may read (SECURITY.md): a warning naming
 * the file and the fix. A file that cannot be stat'ed (a config given as
 * text) is not checked. */
static void warn_readable(struct ctx *c, const struct ucl_node *n, const char *where)
{
	struct stat st;
	if (n->file == NULL || stat(n->file, &st) != 0 || (st.st_mode & S_IROTH) == 0)
		return;
	cfg_node_warn(c, n,
		      "%s is set in %s, which every local user can read: chmod 640 %s (owner "
		      "root, group of the signetd user)",
		      where, n->file, n->file);
}

/* One credential: a string of 1..REDIS_CLIENT_CRED_MAX - 1 bytes without
 * NUL; the value is never in a message. */
static void set_cred(struct ctx *c, const struct ucl_node *n, const char *where, char **slot)
{
	char buf[32];
	const char *s;
	if (!cfg_want_str(c, n, where, buf, sizeof buf, &s))
		return;
	size_t len = n->type == UCL_STRING ? n->len : strlen(s);
	if (len == 0 || len >= REDIS_CLIENT_CRED_MAX || strlen(s) != len) {
		cfg_node_error(c, n, "%s must be 1..%d bytes, without NUL", where,
			       REDIS_CLIENT_CRED_MAX - 1);
		return;
	}
	if (*slot != NULL)
		explicit_bzero(*slot, strlen(*slot));
	cfg_set_str(c, slot, s);
}

void cfg_redis_password(struct ctx *c, const struct ucl_node *n, const char *where,
			struct config_redis *r)
{
	set_cred(c, n, where, &r->password);
	warn_readable(c, n, where);
}

void cfg_redis_username(struct ctx *c, const struct ucl_node *n, const char *where,
			struct config_redis *r)
{
	set_cred(c, n, where, &r->username);
}

/* db (or dbname): 0..INT_MAX, as a number or its decimal text; Redis
 * refuses an index it does not have, with its own message. */
void cfg_redis_db(struct ctx *c, const struct ucl_node *n, const char *where,
		  struct config_redis *r)
{
	char buf[32];
	const char *s;
	if (!cfg_want_str(c, n, where, buf, sizeof buf, &s))
		return;
	char *end;
	errno = 0;
	long long v = strtoll(s, &end, 10);
	if (s[0] < '0' || s[0] > '9' || *end != '\0' || errno != 0 || v > INT_MAX) {
		cfg_node_error(c, n, "%s must be a database number, 0 to %d (not '%.40s')", where,
			       INT_MAX, s);
		return;
	}
	r->db = (int)v;
}

/* username without password: AUTH needs a password (Redis 6 ACL). */
void cfg_check_redis_auth(struct ctx *c, const struct config_redis *r, const char *section)
{
	if (r->username != NULL && r->password == NULL)
		diags_add(c->d, DIAG_ERROR,
			  "%s: %s.username is set without %s.password (Redis AUTH needs both)",
			  c->cfg->file, section, section);
}

static void k_servers(struct ctx *c, const struct ucl_node *n, void *base)
{
	cfg_redis_servers(c, n, "redis.servers", base);
}

static void k_timeout(struct ctx *c, const struct ucl_node *n, void *base)
{
	struct config_redis *r = base;
	(void)cfg_want_duration(c, n, "redis.timeout", CONFIG_MAX_REDIS_TIMEOUT, &r->timeout);
}

static void k_password(struct ctx *c, const struct ucl_node *n, void *base)
{
	cfg_redis_password(c, n, "redis.password", base);
}

static void k_username(struct ctx *c, const struct ucl_node *n, void *base)
{
	cfg_redis_username(c, n, "redis.username", base);
}

static void k_db(struct ctx *c, const struct ucl_node *n, void *base)
{
	cfg_redis_db(c, n,
		     n->key != NULL && strcmp(n->key, "dbname") == 0 ? "redis.dbname" : "redis.db",
		     base);
}

static const struct keydef redis_keys[] = {
	{"servers", K_FN, 0, k_servers, {NULL}},
	{"timeout", K_FN, 0, k_timeout, {NULL}},
	{"password", K_FN, 0, k_password, {NULL}},
	{"username", K_FN, 0, k_username, {NULL}},
	{"db", K_FN, 0, k_db, {NULL}},
	{"dbname", K_FN, 0, k_db, {NULL}},
};

void cfg_s_redis(struct ctx *c, const struct ucl_node *n, void *base)
{
	(void)base;
	cfg_walk(c, n, "redis", redis_keys, NKEYS(redis_keys), &c->cfg->redis);
	cfg_check_redis_auth(c, &c->cfg->redis, "redis");
}
