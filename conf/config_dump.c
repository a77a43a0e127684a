/* config_dump.c: `signetd --dump-config`: the effective config as UCL that
 * signetd reads back to the same config. */
#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>

#include "rotation.h"
#include "config.h"
#include "config_walk.h"

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

/* dmarc { } (config_dmarc.c); reports { } keys only when set. */
static void dump_dmarc(const struct config_dmarc *d, FILE *f)
{
	fputs("dmarc {\n", f);
	put_bool(f, "enabled", d->enabled);
	put_kv(f, "  ", "discovery", d->discovery == SIGNET_DMARC_RFC7489 ? "psl" : "tree-walk");
	put_bool(f, "enforce", d->enforce);
	put_kv(f, "  ", "quarantine", d->quarantine == CONFIG_QUARANTINE_HOLD ? "hold" : "header");
	put_kv(f, "  ", "on_temperror", d->on_temperror == CONFIG_TEMPFAIL ? "tempfail" : "accept");
	fputs("  trusted_arc_sealers = [", f);
	for (size_t k = 0; k < d->n_trusted_arc_sealers; k++) {
		fputs(k ? ", " : "", f);
		put_str(f, d->trusted_arc_sealers[k]);
	}
	fputs("];\n  reports {\n", f);
	fprintf(f, "    enabled = %s;\n", d->reports_enabled ? "true" : "false");
	fprintf(f, "    retention_days = %u;\n    only_authenticated = %s;\n", d->reports_retention,
		d->reports_only_authenticated ? "true" : "false");
	if (d->reports_db)
		put_kv(f, "    ", "db", d->reports_db);
	if (d->reports_org_name)
		put_kv(f, "    ", "org_name", d->reports_org_name);
	if (d->reports_from)
		put_kv(f, "    ", "from", d->reports_from);
	fputs("  }\n}\n", f);
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
			if (cd->keys[j].path != NULL) { /* none with use_redis */
				fputs("; path = ", f);
				put_str(f, cd->keys[j].path);
			}
			if (cd->keys[j].alg != SIGNET_ALG_UNKNOWN)
				fprintf(f, "; algorithm = \"%s\"",
					signet_alg_name(cd->keys[j].alg));
			fputs("; },\n", f);
		}
		fputs("      ];\n    }\n", f);
	}
	fputs("  }\n", f);
}

/* username and db as set; the password never: "(hidden)" says one is set
 * (signetd --dump-config is shown and pasted around). */
/* servers = ["a:1", "b:2"]; (redis { } and dkim_signing's own) */
static void put_servers(const struct config_redis *r, FILE *f)
{
	fputs("servers = [", f);
	for (size_t k = 0; k < r->n_servers; k++) {
		fputs(k ? ", " : "", f);
		put_str(f, r->servers[k]);
	}
	fputs("];", f);
}

static void dump_redis_auth(const struct config_redis *r, const char *pre, const char *post,
			    FILE *f)
{
	if (r->password != NULL)
		fprintf(f, "%spassword = \"(hidden)\"%s", pre, post);
	if (r->username != NULL) {
		fprintf(f, "%susername = ", pre);
		put_str(f, r->username);
		fputs(post, f);
	}
	fprintf(f, "%sdb = %d%s", pre, r->db, post);
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
	put_bool(f, "use_redis", sg->use_redis);
	put_kv(f, "  ", "key_prefix", sg->key_prefix);
	if (sg->selector_prefix)
		put_kv(f, "  ", "selector_prefix", sg->selector_prefix);
	fprintf(f, "  redis_refresh = %gs;\n", sg->redis_refresh);
	if (sg->redis.n_servers > 0) {
		fputs("  ", f);
		put_servers(&sg->redis, f);
		fprintf(f, "\n  timeout = %gs;\n", sg->redis.timeout);
		dump_redis_auth(&sg->redis, "  ", ";\n", f);
	}
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
	fprintf(f,
		"connections {\n  max = %u;\n  idle_timeout = %gs;\n  packet_timeout = %gs;\n}\n",
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
	fprintf(f, "spf { enabled = %s; helo = %s; }\n", cfg->spf_enabled ? "true" : "false",
		cfg->spf_helo ? "true" : "false");
	cfg_arc_dump(&cfg->arc, f);
	dump_dmarc(&cfg->dmarc, f);
	fputs("rotation { state = ", f);
	put_str(f, cfg->rotation_state ? cfg->rotation_state : ROTATION_DEFAULT_STATE);
	fprintf(f, "; retire_after = %gs; redis_key = ", cfg->rotation_retire_after);
	put_str(f, cfg->rotation_redis_key ? cfg->rotation_redis_key : ROTATION_DEFAULT_REDIS_KEY);
	fputs("; }\n", f);
	fputs("metrics { listen = ", f);
	put_str(f, cfg->metrics_listen ? cfg->metrics_listen : "");
	fputs("; }\n", f);
	if (!cfg->metrics_listen)
		fputs("# metrics.listen \"\": no metrics listener\n", f);
	fprintf(f, "metrics { max_connections = %u; request_timeout = %gs; }\n",
		cfg->metrics_max_connections, cfg->metrics_request_timeout);
	fputs("redis { ", f);
	put_servers(&cfg->redis, f);
	fprintf(f, " timeout = %gs;", cfg->redis.timeout);
	dump_redis_auth(&cfg->redis, " ", ";", f);
	fputs(" }\n", f);
	dump_signing(&cfg->signing, f);
}
