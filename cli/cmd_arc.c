/* cmd_arc.c: `signet arc seal`: evaluates a message as `signet verify`
 * does (DKIM, SPF with --ip/--mail-from/--helo, the ARC chain, DMARC; see
 * evaluate.h), writes our Authentication-Results value into the
 * ARC-Authentication-Results (RFC 8617 4.1.1) and adds one ARC set on top
 * of the message (5.1). The chain validation status cv= is the library's
 * own: a failed chain is never sealed as pass. */
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <signet/ar.h>
#include <signet/arc.h>
#include <signet/psl.h>

#include "cli.h"
#include "evaluate.h"

static const char usage[] =
	"usage: signet arc seal -d DOMAIN -s SELECTOR -k KEYFILE\n"
	"                       [--ip ADDR [--mail-from ADDR] [--helo NAME]]\n"
	"                       [--zone ZONEFILE | --dns [--server IP[@PORT]]]\n"
	"                       [--authserv-id ID] [--time UNIX] [--rfc7489] [--psl FILE]\n"
	"                       [FILE]\n";

static const char help_text[] =
	"Check a message (FILE or standard input) as `signet verify --arc` does and\n"
	"write it to standard output with one more ARC set on top: ARC-Seal,\n"
	"ARC-Message-Signature and ARC-Authentication-Results (RFC 8617). cv= is the\n"
	"chain's own validation: none for the first set, pass or fail after.\n\n"
	"  -d, --domain DOMAIN      sealing domain (d=)\n"
	"  -s, --selector SELECTOR  selector (s=)\n"
	"  -k, --key KEYFILE        private key (PEM; RSA or ed25519)\n"
	"      --ip ADDR            the SMTP client's address (SPF and DMARC)\n"
	"      --mail-from ADDR     the MAIL FROM address (\"\" null sender; give --helo)\n"
	"      --helo NAME          the HELO/EHLO name\n"
	"      --zone ZONEFILE      answer DNS questions from ZONEFILE (see signet(1))\n"
	"      --dns                ask DNS (the default; --server picks the server)\n"
	"      --authserv-id ID     authserv-id of the ARC-Authentication-Results\n"
	"                           (default: this host's name)\n"
	"      --time UNIX          t= of the seal and the clock for x= (default: now)\n"
	"      --rfc7489            DMARC as RFC 7489 (public suffix list, pct=)\n"
	"      --psl FILE           public suffix list (default\n"
	"                           " SIGNET_PSL_DEFAULT_FILE ")\n\n"
	"Exit status: 0 sealed (or, when the newest seal already says cv=fail, the\n"
	"message written unchanged, RFC 8617 5.1.2), 1 not sealed, 64 usage error.\n";

#define ARC_MAX_AUTHSERV_ID 256 /* a host name (RFC 1035: 255 octets) */

struct arc_opts {
	const char *domain, *selector, *keyfile, *zone, *server, *file, *authserv_id;
	bool dns, rfc7489;
	struct eval_opts eo;
	char host[ARC_MAX_AUTHSERV_ID];
};

static int parse_opt(int c, struct arc_opts *o, char **argv)
{
	switch (c) {
	case 'd': o->domain = optarg; break;
	case 's': o->selector = optarg; break;
	case 'k': o->keyfile = optarg; break;
	case 'z': o->zone = optarg; break;
	case 'D': o->dns = true; break;
	case 'S':
		o->server = optarg;
		o->dns = true;
		break;
	case 'i': o->eo.ip = optarg; break;
	case 'm': o->eo.mail_from = optarg; break;
	case 'H': o->eo.helo = optarg; break;
	case '7': o->rfc7489 = true; break;
	case 'P': o->eo.psl_file = optarg; break;
	case 'A':
		if (!signet_ar_authserv_id_valid(optarg))
			return cli_usage_error("arc seal", usage,
					       "--authserv-id %s: an authserv-id is a host name "
					       "(letters, digits, '.', '-')",
					       optarg);
		o->authserv_id = optarg;
		break;
	case 'T':
		if (!cli_parse_time(optarg, &o->eo.vo.now))
			return cli_usage_error("arc seal", usage,
					       "--time %s: give unix seconds from 0 to %llu",
					       optarg, CLI_MAX_TIME);
		break;
	case 'h': printf("%s\n%s", usage, help_text); return CLI_EXIT_OK;
	default: return cli_bad_option("arc seal", usage, c, argv);
	}
	return -1;
}

static int check_opts(struct arc_opts *o)
{
	if (o->domain == NULL || o->selector == NULL || o->keyfile == NULL)
		return cli_usage_error("arc seal", usage,
				       "-d DOMAIN, -s SELECTOR and -k KEYFILE are required");
	if (o->zone != NULL && o->dns)
		return cli_usage_error("arc seal", usage, "give either --zone or --dns, not both");
	if ((o->eo.mail_from != NULL || o->eo.helo != NULL) && o->eo.ip == NULL)
		return cli_usage_error("arc seal", usage, "--mail-from and --helo go with --ip");
	if (o->eo.ip != NULL && o->eo.mail_from == NULL && o->eo.helo == NULL)
		return cli_usage_error("arc seal", usage, "--ip goes with --mail-from or --helo");
	if (o->eo.mail_from != NULL && o->eo.mail_from[0] == '\0' && o->eo.helo == NULL)
		return cli_usage_error("arc seal", usage,
				       "a null sender is checked as postmaster@HELO: give --helo");
	if (o->authserv_id == NULL) {
		if (gethostname(o->host, sizeof o->host - 1) != 0 ||
		    !signet_ar_authserv_id_valid(o->host))
			return cli_usage_error("arc seal", usage,
					       "this host's name is not a usable authserv-id: give "
					       "--authserv-id ID");
		o->authserv_id = o->host;
	}
	return -1;
}

static int parse_opts(int argc, char **argv, struct arc_opts *o)
{
	static const struct option longopts[] = {
		{"domain", required_argument, NULL, 'd'},
		{"selector", required_argument, NULL, 's'},
		{"key", required_argument, NULL, 'k'},
		{"zone", required_argument, NULL, 'z'},
		{"dns", no_argument, NULL, 'D'},
		{"server", required_argument, NULL, 'S'},
		{"ip", required_argument, NULL, 'i'},
		{"mail-from", required_argument, NULL, 'm'},
		{"helo", required_argument, NULL, 'H'},
		{"authserv-id", required_argument, NULL, 'A'},
		{"time", required_argument, NULL, 'T'},
		{"rfc7489", no_argument, NULL, '7'},
		{"psl", required_argument, NULL, 'P'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	int c, rc;

	memset(o, 0, sizeof(*o));
	eval_options_init(&o->eo);
	optind = 0;
	while ((c = getopt_long(argc, argv, ":d:s:k:h", longopts, NULL)) != -1)
		if ((rc = parse_opt(c, o, argv)) >= 0)
			return rc;
	if (optind < argc)
		o->file = argv[optind++];
	if (optind < argc)
		return cli_usage_error("arc seal", usage, "unexpected argument '%s'", argv[optind]);
	o->eo.dmarc = o->eo.arc = true;
	o->eo.mode = o->rfc7489 ? SIGNET_DMARC_RFC7489 : SIGNET_DMARC_RFC9989;
	return check_opts(o);
}

/* The message's line end, from its first line: CRLF or LF. */
static bool uses_crlf(const uint8_t *msg, size_t len)
{
	const uint8_t *nl = memchr(msg, '\n', len);

	return nl != NULL && nl > msg && nl[-1] == '\r';
}

/* "NAME:" + value + line end; the value's CRLF folds become LF when the
 * message uses LF, so the output has one line-end style. */
static bool write_field(const char *name, const char *value, bool crlf)
{
	bool ok = cli_write(stdout, name, strlen(name)) && cli_write(stdout, ":", 1);

	for (const char *p = value; ok && *p != '\0'; p++)
		if (crlf || p[0] != '\r' || p[1] != '\n')
			ok = cli_write(stdout, p, 1);
	return ok && cli_write(stdout, crlf ? "\r\n" : "\n", crlf ? 2 : 1);
}

static int seal(struct evaluation *ev, const struct arc_opts *o, const struct signet_key *key,
		const uint8_t *msg, size_t len)
{
	static char ar[SIGNET_ARC_MAX_AAR + 1];
	struct signet_error err = {0};
	struct signet_arc_seal out = {0};
	struct signet_arc_seal_params p = {o->domain,    o->selector,       key, ar, NULL,
					   o->eo.vo.now, SIGNET_RESULT_NONE};
	bool crlf = uses_crlf(msg, len);

	if (!eval_feed(ev, msg, len) || !eval_finish(ev) ||
	    !eval_format_ar(ev, o->authserv_id, ar, sizeof ar))
		return CLI_EXIT_FAIL;
	if (signet_arc_seal(ev->arc, &p, &out, &err) != SIGNET_OK) {
		cli_err("cannot seal %s: %s%s%s%s", o->file ? o->file : "(standard input)", err.msg,
			err.spec ? " (" : "", err.spec ? err.spec : "", err.spec ? ")" : "");
		return CLI_EXIT_FAIL;
	}
	if (out.as == NULL)
		cli_warn("the newest ARC-Seal already says cv=fail: the message is written "
			 "unchanged (RFC 8617 5.1.2)");
	else if (!write_field("ARC-Seal", out.as, crlf) ||
		 !write_field("ARC-Message-Signature", out.ams, crlf) ||
		 !write_field("ARC-Authentication-Results", out.aar, crlf))
		return CLI_EXIT_FAIL;
	return cli_write(stdout, msg, len) && cli_flush_stdout() ? CLI_EXIT_OK : CLI_EXIT_FAIL;
}

static int arc_seal(int argc, char **argv)
{
	struct arc_opts o;
	struct evaluation ev;
	struct eval_dns dns = {NULL, NULL};
	struct signet_key *key = NULL;
	struct signet_psl *psl = NULL;
	uint8_t *msg = NULL;
	size_t len = 0;
	int rc = parse_opts(argc, argv, &o);

	if (rc >= 0)
		return rc;
	if (!cli_valid_dns_name("domain", o.domain) || !cli_valid_dns_name("selector", o.selector))
		return CLI_EXIT_FAIL;
	memset(&ev, 0, sizeof ev);
	rc = CLI_EXIT_FAIL;
	if ((key = keyfile_load(o.keyfile)) == NULL)
		goto out;
	if (o.zone != NULL)
		dns.zone = zonefile_load(o.zone, "zone file");
	else
		dns.r = dns_open(o.server);
	if (dns.zone == NULL && dns.r == NULL)
		goto out;
	if (eval_options_load_psl(&o.eo, &psl) &&
	    io_read_file(o.file, "message", FILEREAD_CAP(CLI_MAX_MESSAGE), &msg, &len) &&
	    eval_start(&ev, &o.eo, &dns))
		rc = seal(&ev, &o, key, msg, len);
out:
	eval_free(&ev);
	free(msg);
	signet_psl_free(psl);
	signet_key_free(key);
	zonefile_free(dns.zone);
	dns_close(dns.r);
	return rc;
}

int cmd_arc(int argc, char **argv)
{
	if (argc >= 2 && strcmp(argv[1], "seal") == 0)
		return arc_seal(argc - 1, argv + 1);
	if (argc >= 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
		printf("%s\n%s", usage, help_text);
		return cli_flush_stdout() ? CLI_EXIT_OK : CLI_EXIT_FAIL;
	}
	return cli_usage_error("arc", usage, "give a subcommand: seal");
}
