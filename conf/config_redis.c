/* config_redis.c: the top-level redis { } section (issue #15 "Fleets",
 * DESIGN.md): servers = ["127.0.0.1:6379"]; timeout = 1s. With servers
 * set and dmarc.reports.enabled, signetd writes its DMARC observations to
 * Redis (conf/report_redis_codec.h) instead of the SQLite store, so that
 * several signetd share one store; the first server that answers is used.
 * No AUTH, no TLS: bind Redis to loopback or a private network
 * (signetd.conf(5) REDIS). */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "config_walk.h"
#include "hostport.h"

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

static void k_servers(struct ctx *c, const struct ucl_node *n, void *base)
{
	cfg_redis_servers(c, n, "redis.servers", base);
}

static void k_timeout(struct ctx *c, const struct ucl_node *n, void *base)
{
	struct config_redis *r = base;
	(void)cfg_want_duration(c, n, "redis.timeout", CONFIG_MAX_REDIS_TIMEOUT, &r->timeout);
}

static const struct keydef redis_keys[] = {
	{"servers", K_FN, 0, k_servers, {NULL}},
	{"timeout", K_FN, 0, k_timeout, {NULL}},
};

void cfg_s_redis(struct ctx *c, const struct ucl_node *n, void *base)
{
	(void)base;
	cfg_walk(c, n, "redis", redis_keys, NKEYS(redis_keys), &c->cfg->redis);
}
