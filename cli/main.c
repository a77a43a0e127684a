/* main.c: the signet command line: picks the subcommand and handles the
 * global --help and --version. Each subcommand parses its own options in
 * its own file. */
#include <string.h>

#include "cli.h"

static const char usage[] =
	"usage: signet keygen -d DOMAIN -s SELECTOR [-t rsa|ed25519] [-b BITS] -k KEYFILE\n"
	"                     [--format zone|txt]\n"
	"       signet sign -d DOMAIN -s SELECTOR -k KEYFILE [-a rsa-sha256|ed25519-sha256]\n"
	"                   [-c HDR/BODY] [--headers h1:h2:...] [--oversign] [--time UNIX]\n"
	"                   [--expire SECONDS] [-i AUID] [--idn-labels auto|a-labels] [FILE]\n"
	"       signet verify [--keys KEYSFILE | --zone ZONEFILE |\n"
	"                      --dns [--server IP[@PORT]]]\n"
	"                     [--ip ADDR [--mail-from ADDR] [--helo NAME]] [--dmarc]\n"
	"                     [--rfc7489] [--arc] [--time UNIX] [--json] [--explain]\n"
	"                     [--l-policy unsigned|honour] [--ar ID] [--psl FILE] [FILE]\n"
	"       signet dnscheck -d DOMAIN -s SELECTOR [-k KEYFILE] [--record TEXT]...\n"
	"                       [--server IP[@PORT]]\n"
	"       signet spf --ip ADDR (--mail-from ADDR | --helo NAME) [--helo NAME]\n"
	"                  (--zone ZONEFILE | --dns [--server IP[@PORT]]) [--json] [--explain]\n"
	"       signet dmarc check DOMAIN [--zone ZONEFILE | --dns [--server IP[@PORT]]] [--json]\n"
	"       signet dmarc report (--send | --out DIR | --dry-run) --from ADDR [--db FILE]\n"
	"                     [--day YYYY-MM-DD] ...\n"
	"       signet arc seal -d DOMAIN -s SELECTOR -k KEYFILE [--ip ADDR ...] [FILE]\n"
	"       signet policy [-c CONF] --from ADDR [--auth USER] [--client IP]\n"
	"                     [--envelope ADDR] [--non-smtp]\n"
	"       signet doctor [-c signetd.conf] [--postfix-config DIR] [--ip ADDR]...\n"
	"                     [--server IP[@PORT]] [--no-dns]\n"
	"                     [--send-test ADDR [--mailbox DIR|FILE] [--maillog FILE]]\n"
	"       signet rotate -d DOMAIN [-t rsa|ed25519] [-b BITS] [--keys-dir DIR]\n"
	"                     [-c signetd.conf] [--state FILE] [--selector SEL]\n"
	"       signet rotate --status [-c signetd.conf] [--state FILE]\n"
	"       signet import-opendkim [-o FILE] [OPENDKIM_CONF]\n"
	"       signet --version | --help | help COMMAND\n";

struct command {
	const char *name;
	int (*run)(int argc, char **argv);
};

static const struct command commands[] = {
	{"keygen", cmd_keygen},
	{"sign", cmd_sign},
	{"verify", cmd_verify},
	{"dnscheck", cmd_dnscheck},
	{"policy", cmd_policy},
	{"spf", cmd_spf},
	{"dmarc", cmd_dmarc},
	{"doctor", cmd_doctor},
	{"rotate", cmd_rotate},
	{"arc", cmd_arc},
	{"import-opendkim", cmd_import_opendkim},
};

static const struct command *find(const char *name)
{
	size_t i;

	for (i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		if (strcmp(commands[i].name, name) == 0)
			return &commands[i];
	return NULL;
}

static int help(int argc, char **argv)
{
	const struct command *c;
	char help_opt[] = "--help";
	char *args[3] = {NULL, help_opt, NULL};

	if (argc < 3) {
		fputs(usage, stdout);
		fputs("\nSee signet(1) for details.\n", stdout);
		return cli_flush_stdout() ? CLI_EXIT_OK : CLI_EXIT_FAIL;
	}
	c = find(argv[2]);
	if (c == NULL) {
		fprintf(stderr, "signet: unknown command '%s'\n%s", argv[2], usage);
		return CLI_EXIT_USAGE;
	}
	args[0] = argv[2];
	return c->run(2, args);
}

int main(int argc, char **argv)
{
	const struct command *c;

	if (argc < 2) {
		fprintf(stderr, "signet: give a command\n%s", usage);
		return CLI_EXIT_USAGE;
	}
	if (strcmp(argv[1], "--version") == 0 || strcmp(argv[1], "-V") == 0) {
		printf("signet %s\n", signet_version());
		return cli_flush_stdout() ? CLI_EXIT_OK : CLI_EXIT_FAIL;
	}
	if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ||
	    strcmp(argv[1], "help") == 0)
		return help(argc, argv);
	c = find(argv[1]);
	if (c == NULL) {
		fprintf(stderr, "signet: unknown command '%s'\n%s", argv[1], usage);
		return CLI_EXIT_USAGE;
	}
	return c->run(argc - 1, argv + 1);
}
