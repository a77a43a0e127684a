/* doctor_dns.c: what receivers will find in DNS for each signing domain.
 * The judgments are the ones the dedicated commands make (signet dnscheck
 * for key records, signet spf, signet dmarc check): doctor runs them and
 * turns each outcome into one line, so there is one judgment and one
 * wording per problem. */
#include <arpa/nameser.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "doctor.h"
#include "config.h"
#include "redis_client.h"
#include "run.h"

#define DNS_AREA "dns"
#define DNS_SUMMARY_MAX 400           /* characters of a sub-command's output quoted in a finding */
#define DOCTOR_MAX_REDIS_DOMAINS 1000 /* domains of the selector hash checked */

/* The sub-command's output, one line, for the finding. */
static void summary(const struct run_result *r, char *out, size_t cap)
{
	/* an error (stderr) is its first line; findings (stdout) are joined */
	bool findings = r->out_len > 0;
	const char *src = findings ? r->out : r->err;
	size_t n = 0;
	for (const char *p = src;
	     *p != '\0' && (findings || *p != '\n') && n + 1 < cap && n < DNS_SUMMARY_MAX; p++)
		out[n++] = *p == '\n' ? (p[1] != '\0' ? ';' : '\0') : *p;
	out[n] = '\0';
	while (n > 0 && (out[n - 1] == '\0' || out[n - 1] == ';' || out[n - 1] == ' '))
		out[--n] = '\0';
}

/* Runs `signet ARGS... [--server S]`; the exit code, -1 if it did not run. */
static int run_self(struct doctor *d, const char **args, size_t nargs, char *text, size_t cap)
{
	char *argv[24];
	size_t n = 0;
	argv[n++] = (char *)d->self;
	for (size_t k = 0; k < nargs && n < 21; k++)
		argv[n++] = (char *)args[k];
	if (d->server != NULL) {
		argv[n++] = (char *)"--server";
		argv[n++] = (char *)d->server;
	}
	argv[n] = NULL;
	struct run_result r;
	bool ran = run_capture(argv, RUN_TIMEOUT_S, &r);
	summary(&r, text, cap);
	int rc = ran ? r.status : -1;
	run_result_free(&r);
	return rc;
}

static void check_key(struct doctor *d, const char *domain, const struct config_key *k)
{
	char text[DNS_SUMMARY_MAX + 1], fix[512];
	const char *args[] = {"dnscheck", "-d", domain, "-s", k->selector, "-k", k->path};
	int rc = run_self(d, args, 7, text, sizeof text);
	if (rc == 0) {
		doctor_say(d, DOCTOR_OK, DNS_AREA, NULL, "%s._domainkey.%s matches %s", k->selector,
			   domain, k->path);
		return;
	}
	snprintf(fix, sizeof fix,
		 "publish the record `signet dnscheck -d %s -s %s -k %s` asks for (signet "
		 "keygen printed it)",
		 domain, k->selector, k->path);
	doctor_say(d, rc == 3 ? DOCTOR_WARN : DOCTOR_FAIL, DNS_AREA, rc == 3 ? NULL : fix,
		   "%s._domainkey.%s: %s", k->selector, domain, text);
}

/* dkim_signing.use_redis: the key signetd would fetch (HGET key_prefix
 * SELECTOR.DOMAIN, the selector from selector_prefix when set), checked
 * against DNS by `signet dnscheck` through a private temporary copy. */
static void check_redis_key(struct doctor *d, struct redis_client *rc,
			    const struct config_signing *sg, const char *domain, const char *sel)
{
	char *val = NULL, field[320], selbuf[64];
	size_t len = 0;
	if (sel == NULL) { /* selector_prefix */
		enum redis_result rr = redis_client_hget(rc, sg->selector_prefix, domain, 63,
							 "a selector's length", &val, &len);
		if (rr != REDIS_R_OK) {
			doctor_say(
				d, DOCTOR_FAIL, DNS_AREA,
				rr == REDIS_R_MISSING ? "set it once the record is published: "
							"redis-cli HSET <selector_prefix> DOMAIN "
							"SELECTOR"
						      : NULL,
				"%s: %s", domain,
				rr == REDIS_R_MISSING ? "no selector in Redis (HGET of the "
							"selector_prefix hash is nil): not signed"
						      : redis_client_error(rc));
			return;
		}
		snprintf(selbuf, sizeof selbuf, "%s", val);
		free(val);
		sel = selbuf;
	}
	snprintf(field, sizeof field, "%s.%s", sel, domain);
	enum redis_result rr =
		redis_client_hget(rc, sg->key_prefix, field, CONFIG_MAX_REDIS_KEY_BYTES,
				  "KEYFETCH_MAX_KEY_BYTES", &val, &len);
	if (rr != REDIS_R_OK) {
		doctor_say(d, DOCTOR_FAIL, DNS_AREA,
			   rr == REDIS_R_MISSING ? "store one: signet keygen -d DOMAIN -s SELECTOR "
						   "--redis URL"
						 : NULL,
			   "%s: %s", field,
			   rr == REDIS_R_MISSING
				   ? "no key in Redis (HGET of the key_prefix hash is nil)"
				   : redis_client_error(rc));
		return;
	}
	char tmpl[] = "/tmp/signet-doctor-key.XXXXXX"; /* mkstemp: mode 0600 */
	int fd = mkstemp(tmpl);
	bool ok = fd >= 0 && write(fd, val, len) == (ssize_t)len;
	explicit_bzero(val, len);
	free(val);
	if (fd >= 0)
		close(fd);
	if (!ok) {
		doctor_say(d, DOCTOR_FAIL, DNS_AREA, NULL, "%s: cannot write a temporary copy",
			   field);
		if (fd >= 0)
			unlink(tmpl);
		return;
	}
	char text[DNS_SUMMARY_MAX + 1], fix[512];
	const char *args[] = {"dnscheck", "-d", domain, "-s", sel, "-k", tmpl};
	int st = run_self(d, args, 7, text, sizeof text);
	unlink(tmpl);
	if (st == 0) {
		doctor_say(d, DOCTOR_OK, DNS_AREA, NULL,
			   "%s._domainkey.%s matches the key in Redis (%s %s)", sel, domain,
			   sg->key_prefix, field);
		return;
	}
	snprintf(fix, sizeof fix,
		 "publish the record of the key in Redis (%s %s): signet keygen printed it",
		 sg->key_prefix, field);
	doctor_say(d, st == 3 ? DOCTOR_WARN : DOCTOR_FAIL, DNS_AREA, st == 3 ? NULL : fix,
		   "%s._domainkey.%s: %s", sel, domain, text);
}

/* The domains whose keys are in Redis: domain { } entries, and with
 * selector_prefix every domain the selector hash names (at most
 * DOCTOR_MAX_REDIS_DOMAINS). */
static void check_redis_keys(struct doctor *d, const struct signetd_config *cfg)
{
	const struct config_signing *sg = &cfg->signing;
	const struct config_redis *r = config_signing_redis(cfg);
	char why[REDIS_CLIENT_ERROR_MAX];
	struct redis_auth auth = redis_client_auth_of(r);
	struct redis_client *rc = redis_client_connect(
		(const char *const *)r->servers, r->n_servers, r->timeout, &auth, why, sizeof why);
	if (rc == NULL) {
		doctor_say(
			d, DOCTOR_FAIL, DNS_AREA,
			"start Redis, or fix redis { servers; password; db } (or dkim_signing's)",
			"keys in Redis: %s; signetd signs only with keys it fetched before", why);
		return;
	}
	for (size_t i = 0; i < sg->ndomains; i++)
		for (size_t k = 0; k < sg->domains[i].nkeys; k++)
			check_redis_key(d, rc, sg, sg->domains[i].name,
					sg->selector_prefix ? NULL
							    : sg->domains[i].keys[k].selector);
	char **names = NULL;
	size_t n = 0;
	if (sg->selector_prefix != NULL) {
		enum redis_result rr = redis_client_hkeys(rc, sg->selector_prefix,
							  DOCTOR_MAX_REDIS_DOMAINS, &names, &n);
		if (rr == REDIS_R_ERROR)
			doctor_say(d, DOCTOR_WARN, DNS_AREA, NULL, "%s", redis_client_error(rc));
	}
	for (size_t k = 0; k < n; k++) {
		bool configured = false;
		for (size_t i = 0; i < sg->ndomains && !configured; i++)
			configured = strcmp(sg->domains[i].name, names[k]) == 0;
		if (!configured)
			check_redis_key(d, rc, sg, names[k], NULL);
		free(names[k]);
	}
	free(names);
	if (sg->ndomains == 0 && n == 0)
		doctor_say(d, DOCTOR_WARN, DNS_AREA,
			   "store keys with signet keygen --redis, or list the domains under "
			   "dkim_signing { domain { } }",
			   "keys in Redis: no domain to check (no domain { } entries%s)",
			   sg->selector_prefix ? " and an empty selector hash" : "");
	redis_client_free(rc);
}

static void check_spf_record(struct doctor *d, struct dns_resolver *res, const char *domain)
{
	struct dns_answer a = {0};
	size_t found = 0;
	if (res != NULL && dns_txt(res, domain, &a))
		for (size_t k = 0; k < a.n; k++)
			if (a.rr[k].len >= 6 &&
			    strncasecmp((const char *)a.rr[k].data, "v=spf1", 6) == 0 &&
			    (a.rr[k].len == 6 || a.rr[k].data[6] == ' '))
				found++;
	if (a.status == SIGNET_DNS_TEMPFAIL)
		doctor_say(d, DOCTOR_WARN, DNS_AREA, NULL, "%s: SPF lookup failed: %s", domain,
			   a.why);
	else if (found == 1)
		doctor_say(
			d, DOCTOR_OK, DNS_AREA, NULL,
			"%s publishes an SPF record (give --ip to check it authorizes this host)",
			domain);
	else
		doctor_say(d, DOCTOR_FAIL, DNS_AREA,
			   found == 0 ? "publish one TXT record \"v=spf1 mx -all\" (or the "
					"addresses that send for the domain)"
				      : "merge them into one record",
			   "%s: %zu SPF records (RFC 7208 4.5: receivers need exactly one; "
			   "otherwise the result is %s)",
			   domain, found, found == 0 ? "none" : "permerror");
	dns_answer_free(&a);
}

static void check_spf_ip(struct doctor *d, const char *domain, const char *ip)
{
	char text[DNS_SUMMARY_MAX + 1], sender[300], fix[512];
	snprintf(sender, sizeof sender, "postmaster@%s", domain);
	const char *args[] = {"spf", "--ip", ip, "--mail-from", sender, "--dns"};
	int rc = run_self(d, args, 6, text, sizeof text);
	if (rc == 0) {
		doctor_say(d, DOCTOR_OK, DNS_AREA, NULL, "%s: SPF authorizes %s", domain, ip);
		return;
	}
	snprintf(fix, sizeof fix,
		 "add ip4:/ip6:%s to %s's SPF record; `signet spf --ip %s --mail-from %s --dns "
		 "--explain` shows each term",
		 ip, domain, ip, sender);
	doctor_say(d, rc == 3 ? DOCTOR_WARN : DOCTOR_FAIL, DNS_AREA, rc == 3 ? NULL : fix,
		   "%s: SPF for this host (%s): %s", domain, ip, text);
}

static void check_dmarc(struct doctor *d, const char *domain)
{
	char text[DNS_SUMMARY_MAX + 1];
	const char *args[] = {"dmarc", "check", domain, "--dns"};
	int rc = run_self(d, args, 4, text, sizeof text);
	if (rc == 0)
		doctor_say(d, DOCTOR_OK, DNS_AREA, NULL, "%s: DMARC record is sound", domain);
	else if (rc == 2)
		doctor_say(d, DOCTOR_WARN, DNS_AREA,
			   "publish _dmarc TXT \"v=DMARC1; p=none; rua=mailto:...\" and tighten "
			   "it once reports look right",
			   "%s: no DMARC record: receivers apply no policy to mail forged as %s",
			   domain, domain);
	else
		doctor_say(d, rc == 3 ? DOCTOR_WARN : DOCTOR_FAIL, DNS_AREA,
			   rc == 3 ? NULL : "see `signet dmarc check` for each problem",
			   "%s: DMARC: %s", domain, text);
}

static void check_mx(struct doctor *d, struct dns_resolver *res, const char *domain)
{
	struct dns_answer a = {0};
	if (res == NULL || !dns_query(res, domain, ns_t_mx, &a)) {
		dns_answer_free(&a);
		return;
	}
	if (a.status == SIGNET_DNS_OK && a.n > 0)
		doctor_say(d, DOCTOR_OK, DNS_AREA, NULL, "%s has %zu MX record%s", domain, a.n,
			   a.n == 1 ? "" : "s");
	else if (a.status == SIGNET_DNS_TEMPFAIL)
		doctor_say(d, DOCTOR_WARN, DNS_AREA, NULL, "%s: MX lookup failed: %s", domain,
			   a.why);
	else
		doctor_say(
			d, DOCTOR_WARN, DNS_AREA, "publish an MX record for the domain",
			"%s has no MX record: replies, bounces and DMARC reports to it go to its "
			"A record or nowhere",
			domain);
	dns_answer_free(&a);
}

void doctor_dns(struct doctor *d, const struct signetd_config *cfg)
{
	struct dns_resolver *res = dns_open(d->server);
	if (cfg->signing.use_redis)
		check_redis_keys(d, cfg);
	for (size_t i = 0; i < cfg->signing.ndomains; i++) {
		const struct config_domain *dom = &cfg->signing.domains[i];
		for (size_t k = 0; k < dom->nkeys && !cfg->signing.use_redis; k++)
			check_key(d, dom->name, &dom->keys[k]);
		check_spf_record(d, res, dom->name);
		for (size_t k = 0; k < d->nips; k++)
			check_spf_ip(d, dom->name, d->ips[k]);
		check_dmarc(d, dom->name);
		check_mx(d, res, dom->name);
	}
	if (cfg->signing.ndomains == 0 && !cfg->signing.use_redis)
		doctor_say(d, DOCTOR_WARN, DNS_AREA, "add dkim_signing { domain { ... } }",
			   "no signing domain configured: nothing to check in DNS");
	if (res != NULL)
		dns_close(res);
}
