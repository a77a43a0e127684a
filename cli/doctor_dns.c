/* doctor_dns.c: what receivers will find in DNS for each signing domain.
 * The judgments are the ones the dedicated commands make (signet dnscheck
 * for key records, signet spf, signet dmarc check): doctor runs them and
 * turns each outcome into one line, so there is one judgment and one
 * wording per problem. */
#include <arpa/nameser.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "doctor.h"
#include "run.h"

#define DNS_AREA "dns"
#define DNS_SUMMARY_MAX 400 /* characters of a sub-command's output quoted in a finding */

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
	for (size_t i = 0; i < cfg->signing.ndomains; i++) {
		const struct config_domain *dom = &cfg->signing.domains[i];
		for (size_t k = 0; k < dom->nkeys; k++)
			check_key(d, dom->name, &dom->keys[k]);
		check_spf_record(d, res, dom->name);
		for (size_t k = 0; k < d->nips; k++)
			check_spf_ip(d, dom->name, d->ips[k]);
		check_dmarc(d, dom->name);
		check_mx(d, res, dom->name);
	}
	if (cfg->signing.ndomains == 0)
		doctor_say(d, DOCTOR_WARN, DNS_AREA, "add dkim_signing { domain { ... } }",
			   "no signing domain configured: nothing to check in DNS");
	if (res != NULL)
		dns_close(res);
}
