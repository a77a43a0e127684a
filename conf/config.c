/* config.c: signetd.conf -> struct signetd_config (see config.h): the top
 * level and its small sections, then loading (defaults, the file and its
 * includes, the public suffix list, resolving keys) and freeing. The walker
 * is config_walk.c, dkim_signing config_signing.c, --dump-config
 * config_dump.c. The file I/O here is reading the config, its includes and
 * the public suffix list, nothing else. */
#include <arpa/inet.h>
#include <errno.h>
#include <libpsl.h>
#include <limits.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include <signet/ar.h>

#include "rotation.h"
#include "config.h"
#include "config_walk.h"
#include "fileread.h"
#include "hostport.h"
#include "psl_load.h"

/* K_CHOICE keys store an int into these enum fields. */
_Static_assert(sizeof(enum config_on_error) == sizeof(int), "K_CHOICE field");
_Static_assert(sizeof(enum config_log_target) == sizeof(int), "K_CHOICE field");
_Static_assert(sizeof(enum signet_l_policy) == sizeof(int), "K_CHOICE field");

/* ---- top level ---------------------------------------------------------- */

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
	if (!hostport_port(p, at ? (size_t)(at - p) : strlen(p), &out->port))
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
	if (!cfg_want_str(c, n, "socket", buf, sizeof buf, &s))
		return;
	struct config_socket sock;
	if (!socket_parse(s, &sock) || (sock.spec = strdup(s)) == NULL) {
		socket_free(&sock);
		cfg_node_error(c, n,
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
	else if (n->type != UCL_STRING || !cfg_want_str(c, n, "socket_mode", buf, sizeof buf, &s))
		s = "";
	unsigned v = 0;
	size_t len = strlen(s);
	bool ok = len > 0 && len <= 4;
	for (size_t k = 0; ok && k < len; k++) {
		ok = s[k] >= '0' && s[k] <= '7';
		v = v * 8 + (unsigned)(s[k] - '0');
	}
	if (!ok || v > 0777) {
		cfg_node_error(c, n, "socket_mode must be an octal file mode like 0660");
		return;
	}
	c->cfg->socket_mode = v;
}

static void k_authserv_id(struct ctx *c, const struct ucl_node *n, void *base)
{
	(void)base;
	char buf[32];
	const char *s;
	if (!cfg_want_str(c, n, "authserv_id", buf, sizeof buf, &s))
		return;
	if (s[0] == '\0') { /* empty: the default, the MTA's macro j */
		free(c->cfg->authserv_id);
		c->cfg->authserv_id = NULL;
		return;
	}
	/* AR-SYN-03 (RFC 8601 2.2, 2.5) */
	if (!signet_ar_authserv_id_valid(s)) {
		cfg_node_error(
			c, n,
			"authserv_id '%s' is not a host-name-like token (letters, digits, '.', "
			"'-'; RFC 8601 2.5), e.g. \"mx.example.com\"",
			s);
		return;
	}
	cfg_set_str(c, &c->cfg->authserv_id, s);
}

void cfg_add_cidr(struct ctx *c, const struct ucl_node *n, const char *s, void *arg)
{
	struct cidr_list *l = arg;
	struct cidr ci;
	if (!cidr_parse(s, &ci)) {
		cfg_node_error(c, n,
			       "'%s' is not an address or CIDR network (e.g. \"192.0.2.0/24\", "
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
	cfg_each_str(c, n, "local_addrs", &c->cfg->local_addrs, cfg_add_cidr);
}

static void k_workers(struct ctx *c, const struct ucl_node *n, void *base)
{
	(void)base;
	if (n->type != UCL_INT || n->v.i < 1 || n->v.i > CONFIG_MAX_WORKERS) {
		cfg_node_error(c, n, "workers must be a whole number from 1 to %d",
			       CONFIG_MAX_WORKERS);
		return;
	}
	c->cfg->workers = (unsigned)n->v.i;
}

static void k_path_str(struct ctx *c, const struct ucl_node *n, const char *where, char **slot)
{
	char buf[32];
	const char *s;
	if (!cfg_want_str(c, n, where, buf, sizeof buf, &s))
		return;
	if (s[0] != '/') {
		cfg_node_error(c, n, "%s must be an absolute path (starting with '/')", where);
		return;
	}
	cfg_set_str(c, slot, s);
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
	if (!cfg_want_str(c, n, n->key, buf, sizeof buf, &s))
		return;
	if (s[0] == '\0' || strchr(s, ':') != NULL || strchr(s, '/') != NULL) {
		cfg_node_error(c, n, "%s '%s' is not a %s name", n->key, s,
			       user ? "user" : "group");
		return;
	}
	cfg_set_str(c, user ? &c->cfg->user : &c->cfg->group, s);
}

/* on_error { sign = tempfail|accept; verify = accept|tempfail; } */
/* on_error { sign = tempfail|accept; verify = accept|tempfail; } */
static const struct cfg_choice tempfail_accept[] = {{.name = "tempfail", .value = CONFIG_TEMPFAIL},
						    {.name = "accept", .value = CONFIG_ACCEPT},
						    {.name = NULL}};

static const struct keydef on_error_keys[] = {
	CHOICE("sign", CFG(on_error_sign), tempfail_accept),
	CHOICE("verify", CFG(on_error_verify), tempfail_accept),
};

static void s_on_error(struct ctx *c, const struct ucl_node *n, void *base)
{
	cfg_walk(c, n, "on_error", on_error_keys, NKEYS(on_error_keys), base);
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
		ok = hostport_port(at + 1, strlen(at + 1), &port);
	if (!ok) {
		cfg_node_error(c, n,
			       "dns.forwarders: '%s' is not ADDRESS or ADDRESS@PORT (numeric, e.g. "
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
	cfg_each_str(c, n, "dns.forwarders", NULL, add_forwarder);
}

static void k_dns_timeout(struct ctx *c, const struct ucl_node *n, void *base)
{
	(void)base;
	(void)cfg_want_duration(c, n, "dns.timeout", CONFIG_MAX_DNS_TIMEOUT, &c->cfg->dns_timeout);
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
	(void)cfg_want_duration(c, n, "dns.health_interval", CONFIG_MAX_HEALTH_INTERVAL,
				&c->cfg->dns_health_interval);
}

static const struct keydef dns_keys[] = {
	{"forwarders", K_FN, 0, k_forwarders, {NULL}},
	{"health_interval", K_FN, 0, k_health_interval, {NULL}},
	{"timeout", K_FN, 0, k_dns_timeout, {NULL}},
	{"trust_anchor_file", K_FN, 0, k_trust_anchor, {NULL}},
};

static void s_dns(struct ctx *c, const struct ucl_node *n, void *base)
{
	cfg_walk(c, n, "dns", dns_keys, NKEYS(dns_keys), base);
}

/* log { target = syslog|stderr; facility = mail; } */
static void k_log_facility(struct ctx *c, const struct ucl_node *n, void *base)
{
	(void)base;
	static const char *const names[] = {"mail",   "daemon", "user",   "local0",
					    "local1", "local2", "local3", "local4",
					    "local5", "local6", "local7"};
	char buf[32];
	const char *s;
	if (!cfg_want_str(c, n, "log.facility", buf, sizeof buf, &s))
		return;
	for (size_t k = 0; k < NKEYS(names); k++)
		if (strcmp(s, names[k]) == 0) {
			cfg_set_str(c, &c->cfg->log_facility, s);
			return;
		}
	cfg_node_error(c, n, "log.facility must be mail, daemon, user or local0..local7, not '%s'",
		       s);
}

/* log { target = syslog|stderr; facility = mail; } */
static const struct cfg_choice log_targets[] = {{.name = "syslog", .value = CONFIG_LOG_SYSLOG},
						{.name = "stderr", .value = CONFIG_LOG_STDERR},
						{.name = NULL}};

static const struct keydef log_keys[] = {
	CHOICE("target", CFG(log_target), log_targets),
	{"facility", K_FN, 0, k_log_facility, {NULL}},
};

static void s_log(struct ctx *c, const struct ucl_node *n, void *base)
{
	cfg_walk(c, n, "log", log_keys, NKEYS(log_keys), base);
}

/* verify { l_policy = "unsigned-content-is-policy" | "honour"; } (RFC 6376 8.2) */
/* verify { public_suffix_list = "/path"; } ("" = off): DKIM-VER-17. The
 * file is read by config_load, after the whole config is known. */
static void k_public_suffix_list(struct ctx *c, const struct ucl_node *n, void *base)
{
	(void)base;
	char buf[32];
	const char *s;
	if (!cfg_want_str(c, n, "verify.public_suffix_list", buf, sizeof buf, &s))
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
/* verify { l_policy = "unsigned-content-is-policy" | "honour"; } (RFC 6376 8.2) */
static const struct cfg_choice l_policies[] = {
	{.name = "unsigned-content-is-policy", .value = SIGNET_L_POLICY_UNSIGNED},
	{.name = "honour", .value = SIGNET_L_HONOUR},
	{.name = "honor", .value = SIGNET_L_HONOUR, .alias = true},
	{.name = NULL}};

/* verify { on_fail = "accept" | "reject"; on_temperror = "accept" | "tempfail"; }
 * DKIM-VER-16 (RFC 6376 6.3): a failed signature may be rejected, never
 * deferred; only a temporary key lookup failure may be deferred. */
static const struct cfg_choice accept_reject[] = {{.name = "accept", .value = CONFIG_ACCEPT},
						  {.name = "reject", .value = CONFIG_REJECT},
						  {.name = NULL}};
static const struct cfg_choice accept_tempfail[] = {{.name = "accept", .value = CONFIG_ACCEPT},
						    {.name = "tempfail", .value = CONFIG_TEMPFAIL},
						    {.name = NULL}};

static const struct keydef verify_keys[] = {
	CHOICE("l_policy", CFG(l_policy), l_policies),
	CHOICE("on_fail", CFG(verify_on_fail), accept_reject),
	CHOICE("on_temperror", CFG(verify_on_temperror), accept_tempfail),
	{"public_suffix_list", K_FN, 0, k_public_suffix_list, {NULL}},
};

static void s_verify(struct ctx *c, const struct ucl_node *n, void *base)
{
	cfg_walk(c, n, "verify", verify_keys, NKEYS(verify_keys), base);
}

/* spf { enabled = true; helo = true; } (DESIGN.md): for mail not signed,
 * the SPF results of MAIL FROM and HELO (RFC 7208) go into
 * Authentication-Results. */
static const struct keydef spf_keys[] = {
	{"enabled", K_BOOL, CFG(spf_enabled), NULL, {NULL}},
	{"helo", K_BOOL, CFG(spf_helo), NULL, {NULL}},
};

static void s_spf(struct ctx *c, const struct ucl_node *n, void *base)
{
	cfg_walk(c, n, "spf", spf_keys, NKEYS(spf_keys), base);
}

/* rotation { state = PATH; retire_after = 7d; redis_key = "signet_rotation"; }
 * (issue #17, rotation.h):
 * where `signet rotate` records a new selector and signetd advances it. */
static void k_rotation_state(struct ctx *c, const struct ucl_node *n, void *base)
{
	(void)base;
	k_path_str(c, n, "rotation.state", &c->cfg->rotation_state);
}

static void k_retire_after(struct ctx *c, const struct ucl_node *n, void *base)
{
	(void)base;
	(void)cfg_want_duration(c, n, "rotation.retire_after", CONFIG_MAX_RETIRE_AFTER,
				&c->cfg->rotation_retire_after);
}

/* rotation.redis_key: where fleet mode (dkim_signing.use_redis) keeps the
 * state (conf/rotation_redis.h). */
static void k_rotation_redis_key(struct ctx *c, const struct ucl_node *n, void *base)
{
	(void)base;
	cfg_redis_key_name(c, n, "rotation.redis_key", &c->cfg->rotation_redis_key);
}

static const struct keydef rotation_keys[] = {
	{"redis_key", K_FN, 0, k_rotation_redis_key, {NULL}},
	{"retire_after", K_FN, 0, k_retire_after, {NULL}},
	{"state", K_FN, 0, k_rotation_state, {NULL}},
};

static void s_rotation(struct ctx *c, const struct ucl_node *n, void *base)
{
	cfg_walk(c, n, "rotation", rotation_keys, NKEYS(rotation_keys), base);
}

/* metrics { listen = "127.0.0.1:9187"; } ("" = off, the default) */
static void k_metrics_listen(struct ctx *c, const struct ucl_node *n, void *base)
{
	(void)base;
	char buf[32];
	const char *s;
	struct sockaddr_storage ss;
	socklen_t len;
	if (!cfg_want_str(c, n, "metrics.listen", buf, sizeof buf, &s))
		return;
	if (s[0] == '\0') {
		free(c->cfg->metrics_listen);
		c->cfg->metrics_listen = NULL;
		return;
	}
	if (!hostport_sockaddr(s, &ss, &len)) {
		cfg_node_error(c, n,
			       "metrics.listen '%s' is not a numeric ADDRESS:PORT or [IPV6]:PORT "
			       "(e.g. \"127.0.0.1:9187\")",
			       s);
		return;
	}
	cfg_set_str(c, &c->cfg->metrics_listen, s);
}

/* metrics.max_connections: 1 .. CONFIG_MAX_METRICS_CONNECTIONS. */
static void k_metrics_connections(struct ctx *c, const struct ucl_node *n, void *base)
{
	(void)base;
	if (n->type != UCL_INT || n->v.i < 1 || n->v.i > CONFIG_MAX_METRICS_CONNECTIONS) {
		cfg_node_error(c, n, "metrics.max_connections must be a whole number from 1 to %d",
			       CONFIG_MAX_METRICS_CONNECTIONS);
		return;
	}
	c->cfg->metrics_max_connections = (unsigned)n->v.i;
}

static void k_metrics_timeout(struct ctx *c, const struct ucl_node *n, void *base)
{
	(void)base;
	(void)cfg_want_duration(c, n, "metrics.request_timeout", CONFIG_MAX_METRICS_TIMEOUT,
				&c->cfg->metrics_request_timeout);
}

static const struct keydef metrics_keys[] = {
	{"listen", K_FN, 0, k_metrics_listen, {NULL}},
	{"max_connections", K_FN, 0, k_metrics_connections, {NULL}},
	{"request_timeout", K_FN, 0, k_metrics_timeout, {NULL}},
};

static void s_metrics(struct ctx *c, const struct ucl_node *n, void *base)
{
	cfg_walk(c, n, "metrics", metrics_keys, NKEYS(metrics_keys), base);
}

/* connections { max = 1000; idle_timeout = 7210s; packet_timeout = 300s; }
 * (server.c enforces them; signetd.conf(5) says why these defaults). */
static void k_conn_max(struct ctx *c, const struct ucl_node *n, void *base)
{
	(void)base;
	if (n->type != UCL_INT || n->v.i < 1 || n->v.i > CONFIG_MAX_CONN_MAX) {
		cfg_node_error(c, n, "connections.max must be a whole number from 1 to %d",
			       CONFIG_MAX_CONN_MAX);
		return;
	}
	c->cfg->conn_max = (unsigned)n->v.i;
}

static void k_conn_idle(struct ctx *c, const struct ucl_node *n, void *base)
{
	(void)base;
	(void)cfg_want_duration(c, n, "connections.idle_timeout", CONFIG_MAX_CONN_TIMEOUT,
				&c->cfg->conn_idle_timeout);
}

static void k_conn_packet(struct ctx *c, const struct ucl_node *n, void *base)
{
	(void)base;
	(void)cfg_want_duration(c, n, "connections.packet_timeout", CONFIG_MAX_CONN_TIMEOUT,
				&c->cfg->conn_packet_timeout);
}

static const struct keydef connections_keys[] = {
	{"idle_timeout", K_FN, 0, k_conn_idle, {NULL}},
	{"max", K_FN, 0, k_conn_max, {NULL}},
	{"packet_timeout", K_FN, 0, k_conn_packet, {NULL}},
};

static void s_connections(struct ctx *c, const struct ucl_node *n, void *base)
{
	cfg_walk(c, n, "connections", connections_keys, NKEYS(connections_keys), base);
}

static const struct keydef top_keys[] = {
	{"socket", K_FN, 0, k_socket, {NULL}},
	{"socket_mode", K_FN, 0, k_socket_mode, {NULL}},
	{"user", K_FN, 0, k_user_group, {NULL}},
	{"group", K_FN, 0, k_user_group, {NULL}},
	{"pidfile", K_FN, 0, k_pidfile, {NULL}},
	{"authserv_id", K_FN, 0, k_authserv_id, {NULL}},
	{"local_addrs", K_FN, 0, k_local_addrs, {NULL}},
	{"workers", K_FN, 0, k_workers, {NULL}},
	{"connections", K_SECTION, 0, s_connections, {NULL}},
	{"on_error", K_SECTION, 0, s_on_error, {NULL}},
	{"dns", K_SECTION, 0, s_dns, {NULL}},
	{"log", K_SECTION, 0, s_log, {NULL}},
	{"verify", K_SECTION, 0, s_verify, {NULL}},
	{"spf", K_SECTION, 0, s_spf, {NULL}},
	{"dmarc", K_SECTION, 0, cfg_s_dmarc, {NULL}},
	{"arc", K_SECTION, 0, cfg_s_arc, {NULL}},
	{"metrics", K_SECTION, 0, s_metrics, {NULL}},
	{"rotation", K_SECTION, 0, s_rotation, {NULL}},
	{"redis", K_SECTION, 0, cfg_s_redis, {NULL}},
	{"dkim_signing", K_SECTION, 0, cfg_s_dkim_signing, {NULL}},
};

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
	cfg->verify_on_fail = CONFIG_ACCEPT;      /* DMARC, not DKIM alone, decides */
	cfg->verify_on_temperror = CONFIG_ACCEPT;
	cfg->spf_enabled = true;
	cfg->spf_helo = true;
	cfg->rotation_retire_after = ROTATION_DEFAULT_RETIRE_AFTER;
	config_dmarc_defaults(&cfg->dmarc);
	cfg->redis.timeout = CONFIG_DEFAULT_REDIS_TIMEOUT;
	cfg_arc_defaults(&cfg->arc);
	cfg->log_target = CONFIG_LOG_SYSLOG;
	cfg->workers = online_cpus();
	cfg->conn_max = CONFIG_DEFAULT_CONN_MAX;
	cfg->conn_idle_timeout = CONFIG_DEFAULT_CONN_IDLE_TIMEOUT;
	cfg->conn_packet_timeout = CONFIG_DEFAULT_CONN_PACKET_TIMEOUT;
	cfg->metrics_max_connections = CONFIG_DEFAULT_METRICS_CONNECTIONS;
	cfg->metrics_request_timeout = CONFIG_DEFAULT_METRICS_TIMEOUT;
	cfg->log_facility = cfg_xstrdup(c, "mail");
	cfg->psl_file = cfg_xstrdup(c, SIGNET_PSL_DEFAULT_FILE);
	struct config_signing *sg = &cfg->signing;
	sg->enabled = sg->sign_authenticated = sg->sign_local = true;
	sg->allow_envfrom_empty = sg->use_esld = sg->try_fallback = true;
	sg->use_domain = USE_DOMAIN_HEADER;
	sg->selector = cfg_xstrdup(c, CONFIG_DEFAULT_SELECTOR);
	sg->key_prefix = cfg_xstrdup(c, CONFIG_DEFAULT_KEY_PREFIX);
	sg->redis_refresh = CONFIG_DEFAULT_REDIS_REFRESH;
	sg->redis.timeout = CONFIG_DEFAULT_REDIS_TIMEOUT;
	if (!socket_parse(CONFIG_DEFAULT_SOCKET, &cfg->socket) ||
	    (cfg->socket.spec = cfg_xstrdup(c, CONFIG_DEFAULT_SOCKET)) == NULL)
		return false;
	cfg->local_addrs.v = calloc(2, sizeof *cfg->local_addrs.v);
	if (cfg->local_addrs.v == NULL)
		return false;
	for (size_t k = 0; k < 2; k++)
		(void)cidr_parse(local[k], &cfg->local_addrs.v[cfg->local_addrs.n++]);
	return cfg->log_facility != NULL && sg->selector != NULL && sg->key_prefix != NULL &&
	       cfg->psl_file != NULL;
}

_Static_assert(FILEREAD_MAX_CONFIG == UCL_MAX_INPUT, "SECURITY.md gives one cap for both");

/* Reads a whole regular file, at most cap.max bytes, through fileread (no
 * FIFO, device or directory; SECURITY.md "Files read from a path"). why
 * gets the reason ("it is a FIFO, not a regular file"). */
static enum ucl_include_status read_whole(const char *path, struct fileread_cap cap, uint8_t **text,
					  size_t *len, char *why, size_t whycap)
{
	struct fileread_file f;
	struct fileread_error e;
	enum fileread_status st = fileread(path, cap, &f, &e);
	if (st != FILEREAD_OK) {
		snprintf(why, whycap, "%s", e.why);
		return st == FILEREAD_NOT_FOUND ? UCL_INCLUDE_NOT_FOUND : UCL_INCLUDE_FAILED;
	}
	*text = f.data; /* handed over: freed with free() */
	*len = f.len;
	return UCL_INCLUDE_OK;
}

static enum ucl_include_status include_cb(void *ctx, const char *path, bool try_,
					  struct ucl_include_result *res)
{
	(void)ctx, (void)try_;
	enum ucl_include_status st = read_whole(path, FILEREAD_CAP(UCL_MAX_INPUT), &res->text,
						&res->len, res->why, sizeof res->why);
	if (st == UCL_INCLUDE_OK)
		res->canonical = realpath(path, NULL); /* loops through other names */
	return st;
}

static void config_from_doc(struct ctx *c, const struct ucl_doc *doc)
{
	cfg_walk(c, doc->root, "the top level", top_keys, NKEYS(top_keys), c->cfg);
	cfg_check_top_path(c);
	cfg_resolve_domains(c);
	cfg_apply_rotation(c);
	cfg_check_redis_signing(c);
	cfg_raw_domains_free(c);
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

/* DKIM-VER-17: verifying goes on without the list, so a missing or
 * unusable one is a warning only. */
static void load_psl(struct signetd_config *cfg, struct diags *d)
{
	static const char off[] = "the public suffix check of d= (DKIM-VER-17) is off";
	char why[PATH_MAX + 128];
	if (cfg->psl_file == NULL)
		return;
	bool unreadable;
	if ((cfg->psl = conf_psl_load(cfg->psl_file, &unreadable, why, sizeof why)) == NULL)
		diags_add(d, DIAG_WARNING, "verify.public_suffix_list: %s%s: %s; %s",
			  unreadable ? "cannot read " : "", cfg->psl_file, why, off);
}

enum signet_status config_load(const char *path, struct signetd_config **out, struct diags *d)
{
	*out = NULL;
	if (path == NULL)
		path = CONFIG_DEFAULT_FILE;
	uint8_t *text = NULL;
	size_t len = 0;
	char why[256];
	if (read_whole(path, FILEREAD_CAP(UCL_MAX_INPUT), &text, &len, why, sizeof why) !=
	    UCL_INCLUDE_OK) {
		diags_add(d, DIAG_ERROR, "cannot read config file %s: %s", path, why);
		return SIGNET_ERR_INVAL;
	}
	enum signet_status st = config_parse(path, text, len, out, d);
	free(text);
	if (st == SIGNET_OK)
		load_psl(*out, d);
	/* dmarc.discovery = "psl" (RFC 7489) cannot work without the list. */
	if (st == SIGNET_OK && (*out)->dmarc.enabled &&
	    (*out)->dmarc.discovery == SIGNET_DMARC_RFC7489 && (*out)->psl == NULL)
		diags_add(d, DIAG_WARNING,
			  "dmarc.discovery = \"psl\" without a public suffix list "
			  "(verify.public_suffix_list): DMARC is not evaluated");
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
	free(cfg->rotation_state);
	free(cfg->rotation_redis_key);
	cidr_list_free(&cfg->local_addrs);
	for (size_t k = 0; k < cfg->n_dns_forwarders; k++)
		free(cfg->dns_forwarders[k]);
	free(cfg->dns_forwarders);
	free(cfg->dns_trust_anchor_file);
	free(cfg->log_facility);
	free(cfg->metrics_listen);
	free(cfg->psl_file);
	signet_psl_free(cfg->psl);
	config_dmarc_free(&cfg->dmarc);
	config_redis_free(&cfg->redis);
	cfg_arc_free(&cfg->arc);
	struct config_signing *sg = &cfg->signing;
	free(sg->selector), free(sg->path), free(sg->sign_headers);
	free(sg->key_prefix), free(sg->selector_prefix);
	config_redis_free(&sg->redis);
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
