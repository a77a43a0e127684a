/* cmd_policy.c: `signet policy`: runs signetd's signing decision offline for
 * one made-up message (From, auth user, client address, envelope sender)
 * and prints which key and selector would sign, or why none would. It
 * calls signetd's own config, key store and policy code (conf/), not
 * a copy. It reads no message and does no DNS. */
#include <getopt.h>
#include <string.h>

#include "cli.h"
#include "config.h"
#include "diag.h"
#include "keystore.h"
#include "policy.h"

#define POLICY_EXIT_CONFIG 78 /* EX_CONFIG, as signetd -t */

static const char usage[] =
	"usage: signet policy [-c CONF] --from ADDR [--auth USER] [--client IP]\n"
	"                     [--envelope ADDR] [--non-smtp]\n";

static const char help_text[] =
	"Show what signetd would do with a message: sign (with which d=, selectors and key\n"
	"files) or not (and why), using signetd's own configuration and policy code.\n\n"
	"  -c, --config CONF    signetd configuration (default " CONFIG_DEFAULT_FILE ")\n"
	"      --from ADDR      the From header value, e.g. 'Ann <ann@example.com>'\n"
	"      --auth USER      the SMTP AUTH user ({auth_authen}); default: not authenticated\n"
	"      --client IP      the SMTP client address; default: unknown\n"
	"      --envelope ADDR  the envelope sender (MAIL FROM); '<>' for the null sender\n"
	"      --non-smtp       mail submitted without SMTP (sendmail(1), Postfix pickup)\n\n"
	"Exit status: 0 would sign, 1 would not sign, 64 usage error,\n"
	"78 the configuration or a key is not usable (as signetd -t).\n";

struct policy_opts {
	const char *config, *from, *auth, *client, *envelope;
	bool non_smtp;
};

static int parse_opts(int argc, char **argv, struct policy_opts *o)
{
	static const struct option longopts[] = {
		{"config", required_argument, NULL, 'c'},
		{"from", required_argument, NULL, 'F'},
		{"auth", required_argument, NULL, 'A'},
		{"client", required_argument, NULL, 'C'},
		{"envelope", required_argument, NULL, 'E'},
		{"non-smtp", no_argument, NULL, 'N'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	int c;

	memset(o, 0, sizeof(*o));
	o->config = CONFIG_DEFAULT_FILE;
	optind = 0;
	while ((c = getopt_long(argc, argv, ":c:h", longopts, NULL)) != -1) {
		switch (c) {
		case 'c': o->config = optarg; break;
		case 'F': o->from = optarg; break;
		case 'A': o->auth = optarg; break;
		case 'C': o->client = optarg; break;
		case 'E': o->envelope = optarg; break;
		case 'N': o->non_smtp = true; break;
		case 'h': printf("%s\n%s", usage, help_text); return CLI_EXIT_OK;
		default: return cli_bad_option("policy", usage, c, argv);
		}
	}
	if (optind < argc)
		return cli_usage_error("policy", usage, "unexpected argument '%s'", argv[optind]);
	if (o->from == NULL)
		return cli_usage_error("policy", usage, "give --from (the From header value)");
	return -1;
}

/* Config and keys exactly as signetd loads them; problems printed as
 * signetd -t prints them. */
static bool load(const char *path, struct signetd_config **cfg, struct keystore **ks)
{
	struct diags d;
	bool ok;

	diags_init(&d);
	ok = config_load(path, cfg, &d) == SIGNET_OK && keystore_load(*cfg, ks, &d) == SIGNET_OK;
	diags_print(&d, stderr, "signet: ");
	diags_free(&d);
	if (!ok)
		cli_err("%s: configuration not usable (see above)", path);
	return ok;
}

static int decide(const struct policy_opts *o, const struct signetd_config *cfg,
		  const struct keystore *ks)
{
	const char *froms[1] = {o->from};
	struct policy_facts f = {
		.non_smtp = o->non_smtp,
		.client_addr = o->client,
		.auth_user = o->auth,
		.env_from = o->envelope,
		.from = froms,
		.n_from = 1,
	};
	struct policy_decision d;
	size_t i;

	if (policy_decide(cfg, ks, &f, &d) != SIGNET_OK) {
		cli_err("no signing decision possible: %s", d.reason);
		return POLICY_EXIT_CONFIG;
	}
	if (!d.sign) {
		printf("would not sign: %s\n", d.reason);
		return cli_flush_stdout() ? CLI_EXIT_FAIL : POLICY_EXIT_CONFIG;
	}
	for (i = 0; i < d.nsigs; i++) {
		const struct config_signing *sg = &cfg->signing;
		if (d.from_redis && d.sigs[i].selector[0] == '\0') /* selector_prefix */
			printf("would sign with d=%s, the selector of HGET %s %s, the key of HGET "
			       "%s SELECTOR.%s (Redis)\n",
			       d.domain, sg->selector_prefix, d.domain, sg->key_prefix, d.domain);
		else if (d.from_redis)
			printf("would sign with d=%s s=%s (key HGET %s %s.%s, Redis)\n", d.domain,
			       d.sigs[i].selector, sg->key_prefix, d.sigs[i].selector, d.domain);
		else
			printf("would sign with d=%s s=%s (key %s)\n", d.domain, d.sigs[i].selector,
			       d.sigs[i].path);
	}
	printf("because: %s\n", d.reason);
	return cli_flush_stdout() ? CLI_EXIT_OK : CLI_EXIT_FAIL;
}

int cmd_policy(int argc, char **argv)
{
	struct policy_opts o;
	struct signetd_config *cfg = NULL;
	struct keystore *ks = NULL;
	int rc = parse_opts(argc, argv, &o);

	if (rc >= 0)
		return rc;
	if (!load(o.config, &cfg, &ks))
		rc = POLICY_EXIT_CONFIG;
	else
		rc = decide(&o, cfg, ks);
	keystore_free(ks);
	config_free(cfg);
	return rc;
}
