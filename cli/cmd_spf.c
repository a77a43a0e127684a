/* cmd_spf.c: `signet spf`: evaluates SPF (RFC 7208) for a client address,
 * MAIL FROM and HELO with libsignet's evaluator, answering its DNS questions
 * from a ZONEFILE or from DNS, and prints the result word; --explain walks
 * every term with its lookups and the running counts against the limits,
 * --json prints one object. Exit 0 pass; 1 fail, softfail, neutral or
 * permerror; 2 none; 3 temperror; 4 the check could not run. */
#include <arpa/inet.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli.h"

static const char usage[] =
	"usage: signet spf --ip ADDR (--mail-from ADDR | --helo NAME) [--helo NAME]\n"
	"                  (--zone ZONEFILE | --dns [--server IP[@PORT]]) [--json] [--explain]\n";

static const char help_text[] =
	"Check whether ADDR may send mail for the domain of MAIL FROM (or of HELO)\n"
	"by its SPF record (RFC 7208).\n\n"
	"  --ip ADDR              the SMTP client's address (IPv4 or IPv6)\n"
	"  --mail-from ADDR       the MAIL FROM address; \"\" is the null sender, checked\n"
	"                         as postmaster@HELO\n"
	"  --helo NAME            the HELO/EHLO name; alone, the HELO identity is checked\n"
	"  --zone ZONEFILE        answer DNS questions from ZONEFILE (offline; see signet(1))\n"
	"  --dns                  ask DNS (the system resolver, or --server)\n"
	"  --server IP[@PORT]     the DNS server to ask\n"
	"  --default-explanation TEXT\n"
	"                         explanation for a fail whose record has no exp=\n"
	"                         (macros as in exp= text: \"%{i} may not send for %{d}\")\n"
	"  --explain              every term evaluated, its lookups and the counts\n"
	"  --json                 one JSON object\n\n"
	"Exit status: 0 pass; 1 fail, softfail, neutral or permerror; 2 none;\n"
	"3 temperror; 4 the check could not run; 64 usage error.\n";

#define SPF_EXIT_NONE 2
#define SPF_EXIT_TEMPERROR 3
#define SPF_EXIT_ERROR 4    /* the check could not run (zone file, resolver, memory) */
#define SPF_MAX_ANSWER 1024 /* records passed on from one answer */

struct spf_opts {
	const char *ip, *mail_from, *helo, *zone, *server, *default_exp;
	bool dns, json, explain;
};

static int parse_opts(int argc, char **argv, struct spf_opts *o)
{
	static const struct option longopts[] = {
		{"ip", required_argument, NULL, 'i'},
		{"mail-from", required_argument, NULL, 'm'},
		{"helo", required_argument, NULL, 'H'},
		{"zone", required_argument, NULL, 'z'},
		{"dns", no_argument, NULL, 'D'},
		{"server", required_argument, NULL, 'S'},
		{"default-explanation", required_argument, NULL, 'E'},
		{"json", no_argument, NULL, 'j'},
		{"explain", no_argument, NULL, 'x'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	int c;
	memset(o, 0, sizeof *o);
	optind = 0;
	while ((c = getopt_long(argc, argv, ":h", longopts, NULL)) != -1) {
		switch (c) {
		case 'i': o->ip = optarg; break;
		case 'm': o->mail_from = optarg; break;
		case 'H': o->helo = optarg; break;
		case 'z': o->zone = optarg; break;
		case 'D': o->dns = true; break;
		case 'S': o->server = optarg; break;
		case 'E': o->default_exp = optarg; break;
		case 'j': o->json = true; break;
		case 'x': o->explain = true; break;
		case 'h': printf("%s\n%s", usage, help_text); return CLI_EXIT_OK;
		default: return cli_bad_option("spf", usage, c, argv);
		}
	}
	if (optind < argc)
		return cli_usage_error("spf", usage, "unexpected argument '%s'", argv[optind]);
	if (o->ip == NULL)
		return cli_usage_error("spf", usage, "--ip ADDR is required");
	if (o->mail_from == NULL && o->helo == NULL)
		return cli_usage_error("spf", usage, "give --mail-from ADDR or --helo NAME");
	if (o->mail_from != NULL && o->mail_from[0] == '\0' && o->helo == NULL)
		return cli_usage_error(
			"spf", usage,
			"a null sender (--mail-from \"\") is checked as postmaster@HELO: "
			"give --helo NAME");
	if ((o->zone != NULL) == o->dns)
		return cli_usage_error("spf", usage, "give one of --zone ZONEFILE and --dns");
	if (o->server != NULL && !o->dns)
		return cli_usage_error("spf", usage, "--server goes with --dns");
	return -1;
}

/* The DNS the evaluator talks to: a zone file or the resolver. */
struct spf_dns {
	struct zonefile *zone;
	struct dns_resolver *r;
};

/* Answers one question. False only on a local error (already printed). */
static bool answer(struct signet_spf *s, struct spf_dns *d, const struct signet_spf_query *q)
{
	static struct signet_rr rr[SPF_MAX_ANSWER];
	struct signet_error err;
	size_t n = 0;
	enum signet_status st;
	if (d->zone != NULL) {
		enum signet_dns_status ds =
			zonefile_lookup(d->zone, q->name, q->type, rr, SPF_MAX_ANSWER, &n);
		st = signet_spf_answer(s, q->id, ds, rr, n < SPF_MAX_ANSWER ? n : SPF_MAX_ANSWER,
				       &err);
	} else {
		struct dns_answer a;
		if (!dns_query(d->r, q->name, dns_query_type(q->type), &a))
			return false;
		for (n = 0; n < a.n && n < SPF_MAX_ANSWER; n++)
			rr[n] = (struct signet_rr){a.rr[n].data, a.rr[n].len, a.rr[n].pref};
		st = signet_spf_answer(s, q->id, a.n == 0 ? a.status : SIGNET_DNS_OK, rr, n, &err);
		dns_answer_free(&a);
	}
	if (st != SIGNET_OK) {
		cli_err("spf: %s", err.msg);
		return false;
	}
	return true;
}

void spf_print_json(const struct signet_spf_outcome *o)
{
	printf("{\"result\":\"%s\",\"domain\":", signet_spf_result_name(o->result));
	json_string(stdout, o->domain);
	printf(",\"identity\":\"%s\",\"lookups\":%u,\"void_lookups\":%u,\"explanation\":",
	       o->identity == SIGNET_SPF_HELO ? "helo" : "mailfrom", o->lookups, o->void_lookups);
	if (o->explanation != NULL)
		json_string(stdout, o->explanation);
	else
		fputs("null", stdout);
	fputs(",\"reason\":", stdout);
	json_string(stdout, o->reason);
	fputs(",\"trace\":[", stdout);
	for (size_t k = 0; k < o->ntrace; k++) {
		if (k > 0)
			fputc(',', stdout);
		json_string(stdout, o->trace[k]);
	}
	fputs("]}", stdout);
}

void spf_print_text(const struct signet_spf_outcome *o, bool explain)
{
	printf("%s\n", signet_spf_result_name(o->result));
	if (!explain)
		return;
	printf("identity: %s %s (domain %s)\n",
	       o->identity == SIGNET_SPF_HELO ? "HELO" : "MAIL FROM", o->sender, o->domain);
	for (size_t k = 0; k < o->ntrace; k++)
		printf("  %s\n", o->trace[k]);
	if (o->trace_dropped > 0)
		printf("  (%zu more steps not shown: SIGNET_SPF_MAX_TRACE is %d)\n",
		       o->trace_dropped, SIGNET_SPF_MAX_TRACE);
	printf("DNS-querying terms: %u of %d; void lookups: %u of %d\n", o->lookups,
	       SIGNET_SPF_MAX_DNS_TERMS, o->void_lookups, SIGNET_SPF_MAX_VOID_LOOKUPS);
	if (o->explanation != NULL)
		printf("explanation: %s\n", o->explanation);
	printf("why: %s\n", o->reason);
}

static int exit_code(enum signet_spf_result r)
{
	switch (r) {
	case SIGNET_SPF_PASS: return CLI_EXIT_OK;
	case SIGNET_SPF_NONE: return SPF_EXIT_NONE;
	case SIGNET_SPF_TEMPERROR: return SPF_EXIT_TEMPERROR;
	default: return 1;
	}
}

static bool parse_ip(const char *text, struct signet_spf_request *req)
{
	req->ipv6 = strchr(text, ':') != NULL;
	return inet_pton(req->ipv6 ? AF_INET6 : AF_INET, text, req->ip) == 1;
}

int cmd_spf(int argc, char **argv)
{
	struct spf_opts o;
	int rc = parse_opts(argc, argv, &o);
	if (rc >= 0)
		return rc;
	struct signet_spf_request req = {0};
	if (!parse_ip(o.ip, &req))
		return cli_usage_error("spf", usage, "--ip '%s' is not an IPv4 or IPv6 address",
				       o.ip);
	req.mail_from = o.mail_from;
	req.helo = o.helo;
	req.identity = o.mail_from != NULL ? SIGNET_SPF_MAILFROM : SIGNET_SPF_HELO;
	req.default_explanation = o.default_exp;
	req.now = (uint64_t)time(NULL);
	req.trace = o.explain || o.json;
	struct spf_dns d = {NULL, NULL};
	if (o.zone != NULL && (d.zone = zonefile_load(o.zone, "zone file")) == NULL)
		return SPF_EXIT_ERROR;
	if (o.dns && (d.r = dns_open(o.server)) == NULL)
		return SPF_EXIT_ERROR;
	struct signet_spf *s = NULL;
	struct signet_error err;
	rc = SPF_EXIT_ERROR;
	if (signet_spf_new(&req, &s, &err) != SIGNET_OK) {
		cli_err("spf: %s", err.msg);
		goto out;
	}
	while (!signet_spf_done(s)) {
		struct signet_spf_query q[SIGNET_SPF_MAX_NAMES + 2];
		size_t nq = 0;
		while (nq < sizeof q / sizeof q[0] && signet_spf_next_query(s, &q[nq]))
			nq++;
		if (nq == 0) {
			cli_err("spf: the evaluator waits for an answer it did not ask for");
			goto out;
		}
		/* One at a time here; signetd asks them in parallel. */
		for (size_t k = 0; k < nq; k++)
			if (!answer(s, &d, &q[k]))
				goto out;
	}
	const struct signet_spf_outcome *out = signet_spf_outcome(s);
	if (o.json) {
		spf_print_json(out);
		putchar('\n');
	} else {
		spf_print_text(out, o.explain);
	}
	rc = cli_flush_stdout() ? exit_code(out->result) : SPF_EXIT_ERROR;
out:
	signet_spf_free(s);
	zonefile_free(d.zone);
	dns_close(d.r);
	return rc;
}
