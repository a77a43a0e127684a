/* cmd_doctor.c: signet doctor: the whole setup checked in one report, each
 * line OK, WARN or FAIL with the fix. The config and keys are loaded by
 * the same code signetd uses (conf/), Postfix is read with postconf, the
 * daemon is asked what Postfix asks it, and DNS is judged by the commands
 * that judge each record. */
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "doctor.h"

#define DOCTOR_MAX_IPS 16 /* --ip options */

static const char usage[] =
	"usage: signet doctor [-c signetd.conf] [--postfix-config DIR] [--ip ADDR]...\n"
	"                     [--server IP[@PORT]] [--no-dns]\n"
	"                     [--send-test ADDR [--mailbox DIR|FILE] [--maillog FILE]]";
static const char help_text[] =
	"Checks the Postfix wiring (postconf), signetd's config, keys and socket, and\n"
	"each signing domain's DKIM, SPF, DMARC and MX records. One line per finding:\n"
	"OK, WARN or FAIL, with the fix under it. Exit 0 when nothing fails.\n"
	"  -c FILE               signetd.conf (default " CONFIG_DEFAULT_FILE ")\n"
	"      --postfix-config DIR  Postfix's config directory (postconf -c DIR)\n"
	"      --ip ADDR         a public address of this host: SPF must authorize it\n"
	"      --server IP[@PORT]  DNS server for the record checks\n"
	"      --no-dns          skip the DNS checks\n"
	"      --send-test ADDR  send a test message to ADDR through Postfix's sendmail\n"
	"                        and follow it in Postfix's log\n"
	"      --mailbox DIR|FILE  the Maildir or mbox ADDR delivers to: verify the copy\n"
	"      --maillog FILE    Postfix's log (default: maillog_file, /var/log/mail.log)\n";

struct doctor_opts {
	const char *config;
	const char *ips[DOCTOR_MAX_IPS];
	size_t nips;
	bool no_dns;
	const char *send_to, *mailbox, *maillog;
};

static int parse_opts(int argc, char **argv, struct doctor_opts *o, struct doctor *d)
{
	static const struct option longopts[] = {
		{"config", required_argument, NULL, 'c'},
		{"postfix-config", required_argument, NULL, 'P'},
		{"ip", required_argument, NULL, 'i'},
		{"server", required_argument, NULL, 'S'},
		{"no-dns", no_argument, NULL, 'N'},
		{"send-test", required_argument, NULL, 'T'},
		{"mailbox", required_argument, NULL, 'M'},
		{"maillog", required_argument, NULL, 'L'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	int c;
	optind = 1;
	while ((c = getopt_long(argc, argv, "+c:h", longopts, NULL)) != -1) {
		switch (c) {
		case 'c': o->config = optarg; break;
		case 'P': d->postfix_config = optarg; break;
		case 'S': d->server = optarg; break;
		case 'N': o->no_dns = true; break;
		case 'T': o->send_to = optarg; break;
		case 'M': o->mailbox = optarg; break;
		case 'L': o->maillog = optarg; break;
		case 'i':
			if (o->nips == DOCTOR_MAX_IPS)
				return cli_usage_error("doctor", usage, "at most %d --ip options",
						       DOCTOR_MAX_IPS);
			o->ips[o->nips++] = optarg;
			break;
		case 'h': printf("%s\n%s", usage, help_text); return CLI_EXIT_OK;
		default: return cli_bad_option("doctor", usage, c, argv);
		}
	}
	if (optind < argc)
		return cli_usage_error("doctor", usage, "unexpected argument '%s'", argv[optind]);
	if ((o->mailbox != NULL || o->maillog != NULL) && o->send_to == NULL)
		return cli_usage_error("doctor", usage,
				       "--mailbox and --maillog go with --send-test");
	return -1;
}

/* Config and keys as signetd loads them; each problem one finding. */
static bool check_config(struct doctor *d, const char *path, struct signetd_config **cfg,
			 struct keystore **ks)
{
	struct diags dg;
	diags_init(&dg);
	bool ok = config_load(path, cfg, &dg) == SIGNET_OK &&
		  keystore_load(*cfg, ks, &dg) == SIGNET_OK;
	for (size_t k = 0; k < dg.n; k++)
		doctor_say(d, dg.v[k].level == DIAG_ERROR ? DOCTOR_FAIL : DOCTOR_WARN, "config",
			   NULL, "%s", dg.v[k].msg);
	if (dg.dropped > 0)
		doctor_say(d, DOCTOR_WARN, "config", NULL, "%zu more problems not shown",
			   dg.dropped);
	diags_free(&dg);
	if (!ok) {
		doctor_say(d, DOCTOR_FAIL, "config",
			   "fix the problems above; signetd -t -c FILE rechecks",
			   "%s cannot be used: signetd would not start", path);
		return false;
	}
	size_t nkeys = 0;
	for (size_t k = 0; k < (*cfg)->signing.ndomains; k++)
		nkeys += (*cfg)->signing.domains[k].nkeys;
	doctor_say(d, DOCTOR_OK, "config", NULL, "%s loads: %zu signing domain%s, %zu key%s", path,
		   (*cfg)->signing.ndomains, (*cfg)->signing.ndomains == 1 ? "" : "s", nkeys,
		   nkeys == 1 ? "" : "s");
	return true;
}

int cmd_doctor(int argc, char **argv)
{
	struct doctor_opts o = {.config = CONFIG_DEFAULT_FILE};
	struct doctor d = {0};
	int rc = parse_opts(argc, argv, &o, &d);
	if (rc >= 0)
		return rc;
	static char self[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
	self[n > 0 ? n : 0] = '\0';
	d.self = n > 0 ? self : "signet";
	d.ips = o.ips;
	d.nips = o.nips;

	struct signetd_config *cfg = NULL;
	struct keystore *ks = NULL;
	if (check_config(&d, o.config, &cfg, &ks)) {
		doctor_postfix(&d, cfg);
		doctor_signetd(&d, cfg);
		if (!o.no_dns)
			doctor_dns(&d, cfg);
		if (o.send_to != NULL)
			doctor_send_test(&d, cfg, o.send_to, o.mailbox, o.maillog);
	}
	keystore_free(ks);
	config_free(cfg);
	printf("%u OK, %u WARN, %u FAIL\n", d.count[DOCTOR_OK], d.count[DOCTOR_WARN],
	       d.count[DOCTOR_FAIL]);
	if (!cli_flush_stdout())
		return CLI_EXIT_FAIL;
	return d.count[DOCTOR_FAIL] > 0 ? CLI_EXIT_FAIL : CLI_EXIT_OK;
}
