/* cmd_dnscheck.c: `signet dnscheck`: fetches SELECTOR._domainkey.DOMAIN (or
 * takes --record), shows how the TXT records are split, and runs the
 * record checks of recordcheck.c; on NXDOMAIN it looks for the record at
 * the names people publish by mistake. Exit 0 all well, 1 problems, 3 DNS
 * temporarily failed. */
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

static const char usage[] =
	"usage: signet dnscheck -d DOMAIN -s SELECTOR [-k KEYFILE] [--record TEXT]...\n"
	"                       [--server IP[@PORT]]\n";

static const char help_text[] =
	"Check the DKIM key record published at SELECTOR._domainkey.DOMAIN.\n\n"
	"  -d, --domain DOMAIN      signing domain\n"
	"  -s, --selector SELECTOR  selector\n"
	"  -k, --key KEYFILE        also check that the record matches this private key\n"
	"      --record TEXT        check TEXT instead of asking DNS; give it more than once\n"
	"                           to pass the record's character-strings one by one\n"
	"      --server IP[@PORT]   ask this DNS server instead of /etc/resolv.conf's\n"
	"                           (IPv6: ::1, ::1@5353, [::1] or [::1]:5353)\n\n"
	"Exit status: 0 no problem, 1 a problem was found, 3 DNS failed temporarily,\n"
	"64 usage error.\n";

#define DNSCHECK_EXIT_TEMPFAIL 3
#define DNSCHECK_MAX_STRINGS 64
#define DNSCHECK_NAME_MAX 1024

struct dnscheck_opts {
	const char *domain, *selector, *keyfile, *server;
	const char *strings[DNSCHECK_MAX_STRINGS];
	size_t nstrings;
	bool have_record;
};

static int parse_opts(int argc, char **argv, struct dnscheck_opts *o)
{
	static const struct option longopts[] = {
		{ "domain", required_argument, NULL, 'd' },
		{ "selector", required_argument, NULL, 's' },
		{ "key", required_argument, NULL, 'k' },
		{ "record", required_argument, NULL, 'R' },
		{ "server", required_argument, NULL, 'S' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int c;

	memset(o, 0, sizeof(*o));
	optind = 0;
	while ((c = getopt_long(argc, argv, ":d:s:k:h", longopts, NULL)) != -1) {
		switch (c) {
		case 'd': o->domain = optarg; break;
		case 's': o->selector = optarg; break;
		case 'k': o->keyfile = optarg; break;
		case 'S': o->server = optarg; break;
		case 'R':
			if (o->nstrings == DNSCHECK_MAX_STRINGS)
				return cli_usage_error("dnscheck", usage,
						       "at most %d --record strings",
						       DNSCHECK_MAX_STRINGS);
			o->strings[o->nstrings++] = optarg;
			o->have_record = true;
			break;
		case 'h': printf("%s\n%s", usage, help_text); return CLI_EXIT_OK;
		default: return cli_bad_option("dnscheck", usage, c, argv);
		}
	}
	if (optind < argc)
		return cli_usage_error("dnscheck", usage, "unexpected argument '%s'", argv[optind]);
	if (o->domain == NULL || o->selector == NULL)
		return cli_usage_error("dnscheck", usage, "-d DOMAIN and -s SELECTOR are required");
	if (o->have_record && o->server != NULL)
		return cli_usage_error("dnscheck", usage, "--record and --server do not mix");
	return -1;
}

/* --record strings → one RR, as DNS would have returned it. */
static bool record_from_args(const struct dnscheck_opts *o, struct dns_answer *a)
{
	size_t total = 0, i;

	memset(a, 0, sizeof(*a));
	a->rr = calloc(1, sizeof(*a->rr));
	if (a->rr == NULL)
		return false;
	a->n = 1; /* so dns_answer_free frees what was allocated */
	for (i = 0; i < o->nstrings; i++)
		total += strlen(o->strings[i]);
	a->rr->data = malloc(total + 1);
	a->rr->lens = calloc(o->nstrings, sizeof(size_t));
	if (a->rr->data == NULL || a->rr->lens == NULL)
		return false;
	for (i = 0; i < o->nstrings; i++) {
		a->rr->lens[i] = strlen(o->strings[i]);
		memcpy(a->rr->data + a->rr->len, o->strings[i], a->rr->lens[i]);
		a->rr->len += a->rr->lens[i];
	}
	a->rr->data[total] = '\0';
	a->rr->nstrings = o->nstrings;
	a->status = SIGNET_DNS_OK;
	return true;
}

static bool looks_like_dkim(const struct dns_answer *a)
{
	size_t i;

	for (i = 0; i < a->n; i++)
		if (strstr((const char *)a->rr[i].data, "p=") != NULL)
			return true;
	return false;
}

/* NXDOMAIN: the usual wrong names. A DNS host that appends the zone turns
 * "s._domainkey.example.com" into "s._domainkey.example.com.example.com";
 * a forgotten "._domainkey" gives "s.example.com". */
static void probe_wrong_names(struct dns_resolver *r, const struct dnscheck_opts *o,
			      const char *name, struct check_report *rep)
{
	char probe[2][DNSCHECK_NAME_MAX];
	struct dns_answer a;
	int n0 = snprintf(probe[0], sizeof(probe[0]), "%s.%s", name, o->domain);
	int n1 = snprintf(probe[1], sizeof(probe[1]), "%s.%s", o->selector, o->domain);
	size_t i;

	for (i = 0; i < 2; i++) {
		if ((i == 0 ? n0 : n1) >= DNSCHECK_NAME_MAX)
			continue; /* longer than any DNS name: cannot exist */
		if (!dns_txt(r, probe[i], &a))
			return;
		if (a.status == SIGNET_DNS_OK && looks_like_dkim(&a))
			check_problem(rep,
				      i == 0 ? "enter the host name as the DNS host expects it, "
					       "probably without the domain part"
					     : "publish it under the name with ._domainkey",
				      "a DKIM-like record exists at the wrong name %s", probe[i]);
		dns_answer_free(&a);
	}
}

static void print_layout(const char *name, const struct dns_answer *a)
{
	size_t i, k;

	printf("  %zu TXT record%s at %s\n", a->n, a->n == 1 ? "" : "s", name);
	for (i = 0; i < a->n; i++) {
		printf("  record %zu: %zu string%s (length%s", i + 1, a->rr[i].nstrings,
		       a->rr[i].nstrings == 1 ? "" : "s", a->rr[i].nstrings == 1 ? "" : "s");
		for (k = 0; k < a->rr[i].nstrings; k++)
			printf("%s%zu", k ? ", " : " ", a->rr[i].lens[k]);
		printf("), %zu %s joined\n", a->rr[i].len, cli_plural(a->rr[i].len, "octet", "octets"));
	}
}

static void check_answer(const char *name, const struct dns_answer *a, const struct signet_key *key,
			 const char *keyfile, struct check_report *rep)
{
	size_t i;

	if (a->n == 0)
		return; /* NXDOMAIN/NODATA: already reported by lookup() */
	print_layout(name, a);
	if (a->n > 1)
		check_problem(rep, "delete all but one record at this name",
			      "%zu TXT records at %s: verifiers may use any one of them (RFC 6376 "
			      "3.6.2.2)",
			      a->n, name);
	for (i = 0; i < a->n; i++) {
		if (a->n > 1)
			printf("  record %zu:\n", i + 1);
		recordcheck_run(&a->rr[i], key, keyfile, rep);
	}
}

/* Looks the record up; returns false (exit 3) on a temporary failure. */
static bool lookup(const struct dnscheck_opts *o, const char *name, struct dns_answer *a,
		   struct check_report *rep, int *rc)
{
	struct dns_resolver *r;

	if (o->have_record) {
		if (record_from_args(o, a))
			return true;
		cli_err("out of memory");
		*rc = CLI_EXIT_FAIL;
		return false;
	}
	r = dns_open(o->server);
	if (r == NULL || !dns_txt(r, name, a)) {
		*rc = CLI_EXIT_FAIL;
		dns_close(r);
		return false;
	}
	if (a->status == SIGNET_DNS_TEMPFAIL) {
		printf("  cannot look up %s: %s\n", name, a->why);
		printf("  try again later; if it persists, check the DNS servers of %s\n",
		       o->domain);
		*rc = DNSCHECK_EXIT_TEMPFAIL;
		dns_close(r);
		return false;
	}
	if (a->status == SIGNET_DNS_NXDOMAIN) {
		check_problem(rep,
			      "publish the record made by 'signet keygen' (with -k KEYFILE, "
			      "dnscheck prints it below)",
			      "no TXT record at %s: %s", name, a->why);
		probe_wrong_names(r, o, name, rep);
	}
	dns_close(r);
	return true;
}

static void advise(const struct dnscheck_opts *o, const struct signet_key *key,
		   const struct check_report *rep)
{
	char rec[CLI_RECORD_MAX];

	if (rep->problems == 0) {
		printf("ok: no problems found%s\n",
		       rep->warnings ? " (see the warnings above)" : "");
		return;
	}
	printf("%u problem%s found\n", rep->problems, rep->problems == 1 ? "" : "s");
	if (key == NULL || !record_for_key(key, rec, sizeof(rec)))
		return;
	printf("publish this record (zone-file form):\n");
	record_print_zone(stdout, o->selector, o->domain, rec);
	printf("or, for a web form, name %s._domainkey and value:\n%s\n", o->selector, rec);
}

int cmd_dnscheck(int argc, char **argv)
{
	struct dnscheck_opts o;
	struct check_report rep = { 0, 0 };
	struct dns_answer a = { 0 };
	struct signet_key *key = NULL;
	char name[DNSCHECK_NAME_MAX];
	int rc = parse_opts(argc, argv, &o);

	if (rc >= 0)
		return rc;
	if (!cli_valid_dns_name("domain", o.domain) || !cli_valid_dns_name("selector", o.selector))
		return CLI_EXIT_FAIL;
	if (o.keyfile != NULL && (key = keyfile_load(o.keyfile)) == NULL)
		return CLI_EXIT_FAIL;
	if (snprintf(name, sizeof(name), "%s._domainkey.%s", o.selector, o.domain) >=
	    (int)sizeof(name))
		return CLI_EXIT_FAIL; /* not reached: both parts are valid DNS names */
	printf("checking %s%s\n", name, o.have_record ? " (record from --record)" : "");
	if (lookup(&o, name, &a, &rep, &rc)) {
		check_answer(name, &a, key, o.keyfile, &rep);
		advise(&o, key, &rep);
		rc = rep.problems ? CLI_EXIT_FAIL : CLI_EXIT_OK;
	}
	dns_answer_free(&a);
	signet_key_free(key);
	if (!cli_flush_stdout())
		rc = CLI_EXIT_FAIL;
	return rc;
}
