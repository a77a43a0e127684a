/* cmd_verify.c: `signet verify`: parses the options, streams the message
 * through the evaluation (evaluate.h: DKIM, and SPF, DMARC and ARC when
 * asked) with a KEYSFILE, ZONEFILE or DNS answering, and prints one result
 * per DKIM-Signature, then the other checks (verify_render.h: text, JSON
 * lines, or step by step with --explain). The exit code sums up DKIM. */
#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <signet/psl.h>
#include <signet/verifier.h>

#include <signet/ar.h>

#include "cli.h"
#include "evaluate.h"
#include "verify_render.h"

static const char usage[] =
	"usage: signet verify [--keys KEYSFILE | --zone ZONEFILE |\n"
	"                      --dns [--server IP[@PORT]]]\n"
	"                     [--ip ADDR [--mail-from ADDR] [--helo NAME]] [--dmarc]\n"
	"                     [--rfc7489] [--arc] [--time UNIX] [--json] [--explain]\n"
	"                     [--l-policy unsigned|honour] [--ar ID] [--psl FILE] [FILE]\n";

static const char help_text[] =
	"Verify every DKIM-Signature of a message (FILE or standard input); with\n"
	"--ip, --mail-from, --helo, --dmarc or --arc also SPF, DMARC and ARC.\n\n"
	"  -K, --keys KEYSFILE      take key records from KEYSFILE instead of DNS\n"
	"      --zone ZONEFILE      answer every DNS question (keys, SPF, _dmarc) from\n"
	"                           ZONEFILE (see signet(1))\n"
	"      --dns                ask DNS (the default)\n"
	"      --server IP[@PORT]   ask this DNS server instead of /etc/resolv.conf's\n"
	"                           (IPv6: ::1, ::1@5353, [::1] or [::1]:5353)\n"
	"      --ip ADDR            the SMTP client's address: check SPF (RFC 7208)\n"
	"                           and DMARC\n"
	"      --mail-from ADDR     the MAIL FROM address (\"\" the null sender, checked as\n"
	"                           postmaster@HELO); its SPF result goes to DMARC\n"
	"      --helo NAME          the HELO/EHLO name; its SPF result is shown too\n"
	"      --dmarc              evaluate DMARC (implied by --ip, --mail-from, --helo)\n"
	"      --rfc7489            DMARC as RFC 7489: the public suffix list (--psl)\n"
	"                           gives the organizational domain, pct= applies\n"
	"                           (default: RFC 9989, DNS tree walk)\n"
	"      --arc                validate the ARC chain (RFC 8617)\n"
	"      --time UNIX          verification time for t= and x= (default: now)\n"
	"      --json               one JSON object per signature per line; with SPF,\n"
	"                           DMARC or ARC, one more line with their results\n"
	"      --explain            show each step, the header hash input and the body hash;\n"
	"                           on a body hash mismatch, where the body changed; with\n"
	"                           --json, the same as an \"explain\" object\n"
	"      --l-policy POLICY    unsigned (default, as signetd): content after l= makes\n"
	"                           the result policy; honour: verify the first l= octets\n"
	"      --ar ID              also print the Authentication-Results field signetd\n"
	"                           would add, with authserv-id ID (RFC 8601): dkim=,\n"
	"                           and spf=, arc=, dmarc= when checked\n"
	"      --psl FILE           public suffix list: a d= that is a public suffix (co.uk)\n"
	"                           gets the note \"d= is a public suffix\" (default\n"
	"                           " SIGNET_PSL_DEFAULT_FILE ";\n"
	"                           \"\" turns the check off)\n\n"
	"Exit status (DKIM only, whatever SPF, DMARC and ARC say): 0 a signature\n"
	"passes, 1 none passes, 2 no signature, 3 none passes and one had a\n"
	"temporary DNS error, 4 error, 64 usage error.\n";

#define VERIFY_EXIT_NOSIG 2
#define VERIFY_EXIT_TEMPERROR 3
#define VERIFY_EXIT_ERROR 4

struct verify_opts {
	const char *keys, *zone, *server, *file, *ar_id;
	bool dns, json, explain, rfc7489;
	struct eval_opts eo; /* eo.vo: the DKIM options */
};

static int parse_opt(int c, struct verify_opts *o, char **argv)
{
	switch (c) {
	case 'K': o->keys = optarg; break;
	case 'D': o->dns = true; break;
	case 'S':
		o->server = optarg;
		o->dns = true;
		break;
	case 'J': o->json = true; break;
	case 'E': o->explain = true; break;
	case 'T':
		if (!cli_parse_time(optarg, &o->eo.vo.now))
			return cli_usage_error("verify", usage,
					       "--time %s: give unix seconds from 0 to %llu (RFC "
					       "6376 3.5: t= and x= have at most 12 digits)",
					       optarg, CLI_MAX_TIME);
		break;
	case 'L':
		if (strcmp(optarg, "honour") == 0 || strcmp(optarg, "honor") == 0)
			o->eo.vo.l_policy = SIGNET_L_HONOUR;
		else if (strcmp(optarg, "unsigned") == 0 ||
			 strcmp(optarg, "unsigned-content-is-policy") == 0)
			o->eo.vo.l_policy = SIGNET_L_POLICY_UNSIGNED;
		else
			return cli_usage_error("verify", usage,
					       "--l-policy %s: give honour or unsigned", optarg);
		break;
	case 'A':
		if (!signet_ar_authserv_id_valid(optarg))
			return cli_usage_error("verify", usage,
					       "--ar %s: an authserv-id is a host name (letters, "
					       "digits, '.', '-')",
					       optarg);
		o->ar_id = optarg;
		break;
	case 'P': o->eo.psl_file = optarg; break;
	case 'z': o->zone = optarg; break;
	case 'i': o->eo.ip = optarg; break;
	case 'm': o->eo.mail_from = optarg; break;
	case 'H': o->eo.helo = optarg; break;
	case 'M': o->eo.dmarc = true; break;
	case '7': o->rfc7489 = o->eo.dmarc = true; break;
	case 'R': o->eo.arc = true; break;
	case 'h': printf("%s\n%s", usage, help_text); return CLI_EXIT_OK;
	default: return cli_bad_option("verify", usage, c, argv);
	}
	return -1;
}

static int parse_opts(int argc, char **argv, struct verify_opts *o)
{
	static const struct option longopts[] = {
		{"keys", required_argument, NULL, 'K'},
		{"dns", no_argument, NULL, 'D'},
		{"server", required_argument, NULL, 'S'},
		{"time", required_argument, NULL, 'T'},
		{"json", no_argument, NULL, 'J'},
		{"explain", no_argument, NULL, 'E'},
		{"l-policy", required_argument, NULL, 'L'},
		{"ar", required_argument, NULL, 'A'},
		{"psl", required_argument, NULL, 'P'},
		{"zone", required_argument, NULL, 'z'},
		{"ip", required_argument, NULL, 'i'},
		{"mail-from", required_argument, NULL, 'm'},
		{"helo", required_argument, NULL, 'H'},
		{"dmarc", no_argument, NULL, 'M'},
		{"rfc7489", no_argument, NULL, '7'},
		{"arc", no_argument, NULL, 'R'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	int c, rc;

	memset(o, 0, sizeof(*o));
	eval_options_init(&o->eo);
	optind = 0;
	while ((c = getopt_long(argc, argv, ":K:h", longopts, NULL)) != -1)
		if ((rc = parse_opt(c, o, argv)) >= 0)
			return rc;
	if (optind < argc)
		o->file = argv[optind++];
	if (optind < argc)
		return cli_usage_error("verify", usage, "unexpected argument '%s'", argv[optind]);
	if ((o->keys != NULL) + (o->zone != NULL) + o->dns > 1)
		return cli_usage_error("verify", usage,
				       "give one of --keys, --zone and --dns, not several");
	if ((o->eo.mail_from != NULL || o->eo.helo != NULL) && o->eo.ip == NULL)
		return cli_usage_error("verify", usage,
				       "--mail-from and --helo go with --ip ADDR (SPF needs the "
				       "client address)");
	if (o->eo.ip != NULL && o->eo.mail_from == NULL && o->eo.helo == NULL)
		return cli_usage_error("verify", usage, "--ip goes with --mail-from or --helo");
	if (o->eo.mail_from != NULL && o->eo.mail_from[0] == '\0' && o->eo.helo == NULL)
		return cli_usage_error("verify", usage,
				       "a null sender (--mail-from \"\") is checked as "
				       "postmaster@HELO: give --helo NAME");
	o->eo.vo.explain = o->explain;
	o->eo.spf_trace = o->explain || o->json;
	o->eo.dmarc |= o->eo.ip != NULL;
	o->eo.mode = o->rfc7489 ? SIGNET_DMARC_RFC7489 : SIGNET_DMARC_RFC9989;
	return -1;
}

/* Reads the message in chunks: memory does not grow with its size. A FILE
 * is a regular file of at most CLI_MAX_MESSAGE bytes (fileread_open); one
 * that grows past that while read is refused. Standard input has no cap. */
static bool feed_file(struct evaluation *ev, const char *file)
{
	uint8_t chunk[65536];
	int fd = io_open(file, "message", FILEREAD_CAP(CLI_MAX_MESSAGE));
	bool ok = fd >= 0;
	size_t total = 0;

	while (ok) {
		ssize_t r = read(fd, chunk, sizeof(chunk));

		if (r > 0 && fd != STDIN_FILENO && (total += (size_t)r) > CLI_MAX_MESSAGE) {
			cli_err("cannot read message %s: it grew while it was read, past "
				"CLI_MAX_MESSAGE (%u bytes)",
				file, CLI_MAX_MESSAGE);
			ok = false;
			break;
		}

		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			cli_err("cannot read message %s: %s", file ? file : "(standard input)",
				strerror(errno));
			ok = false;
		} else if (r == 0) {
			break;
		} else if (!eval_feed(ev, chunk, (size_t)r)) {
			ok = false;
		}
	}
	if (fd > STDIN_FILENO)
		close(fd);
	return ok;
}

static int report(const struct evaluation *ev, const struct verify_opts *o)
{
	const struct signet_verifier *v = ev->v;
	bool more = ev->o.dmarc || ev->o.arc || ev->o.ip != NULL;

	size_t n = signet_verifier_count(v), i, unchecked = signet_verifier_unchecked(v);
	bool pass = false, temp = false;

	if (o->explain && !o->json)
		render_spf_explain(ev);
	for (i = 0; i < n; i++) {
		const struct signet_sig_result *r = signet_verifier_result(v, i);
		const struct signet_sig_explain *x = signet_verifier_explain(v, i);

		render_dkim_result(i, r, x, o->json);
		if (x != NULL && !o->json)
			render_dkim_explain(r, x);
		pass |= r->result == SIGNET_RESULT_PASS;
		temp |= r->result == SIGNET_RESULT_TEMPERROR;
	}
	/* DKIM-VER-04: never drop the signatures over the limit silently; in
	 * JSON mode stdout holds results only, so the note goes to stderr. */
	if (unchecked > 0)
		fprintf(o->json ? stderr : stdout,
			"%s%zu more DKIM-Signature %s not checked (limit %d)\n",
			o->json ? "signet: note: " : "", unchecked,
			cli_plural(unchecked, "field", "fields"), SIGNET_MAX_SIGNATURES);
	if (n == 0 && unchecked == 0 && !o->json)
		printf("no DKIM-Signature\n");
	if (more && o->json)
		render_checks_json(ev);
	else if (more)
		render_checks_text(ev, o->explain);
	if (o->ar_id != NULL && !render_ar(ev, o->ar_id))
		return VERIFY_EXIT_ERROR;
	if (!cli_flush_stdout())
		return VERIFY_EXIT_ERROR;
	if (pass)
		return CLI_EXIT_OK;
	if (n == 0)
		return VERIFY_EXIT_NOSIG;
	return temp ? VERIFY_EXIT_TEMPERROR : CLI_EXIT_FAIL;
}

int cmd_verify(int argc, char **argv)
{
	struct verify_opts o;
	struct evaluation ev;
	struct eval_dns dns = {NULL, NULL};
	struct signet_psl *psl = NULL;
	int rc = parse_opts(argc, argv, &o);

	if (rc >= 0)
		return rc;
	if (o.keys != NULL || o.zone != NULL)
		dns.zone =
			zonefile_load(o.keys ? o.keys : o.zone, o.keys ? "keys file" : "zone file");
	else
		dns.r = dns_open(o.server);
	if (dns.zone == NULL && dns.r == NULL)
		return VERIFY_EXIT_ERROR;
	rc = VERIFY_EXIT_ERROR;
	memset(&ev, 0, sizeof ev);
	if (eval_options_load_psl(&o.eo, &psl) && eval_start(&ev, &o.eo, &dns) &&
	    feed_file(&ev, o.file) && eval_finish(&ev))
		rc = report(&ev, &o);
	eval_free(&ev);
	signet_psl_free(psl);
	zonefile_free(dns.zone);
	dns_close(dns.r);
	return rc;
}
