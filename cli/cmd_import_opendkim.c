/* cmd_import_opendkim.c: `signet import-opendkim [-o FILE] [CONF]`: reads
 * an OpenDKIM configuration (opendkim_conf.c), maps it (opendkim_map.c)
 * and writes the signetd.conf to stdout or to a new file. It checks the
 * result with signetd's own config reader before writing it. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "config.h"
#include "diag.h"
#include "opendkim_conf.h"
#include "opendkim_map.h"

#define IMPORT_EXIT_PARTIAL 1 /* some settings not carried over (comments say which) */
#define IMPORT_EXIT_INPUT 2   /* the input could not be read or parsed */

static const char usage[] = "usage: signet import-opendkim [-o FILE] [OPENDKIM_CONF]\n";

static const char help_text[] =
	"Print a signetd.conf equivalent to an OpenDKIM configuration (default\n" ODK_DEFAULT_FILE
	"), its KeyTable, SigningTable, InternalHosts and ExternalIgnoreList\n"
	"included. A setting signetd has no equivalent for becomes a comment\n"
	"'# not carried over: SETTING VALUE: why'. Key files are checked for the\n"
	"UserID user as signetd checks them; private keys are never printed.\n\n"
	"  -o, --output FILE  write to FILE (created, never overwritten), not stdout\n\n"
	"Exit status: 0 everything carried over, 1 some settings not carried over\n"
	"(the output says which), 2 the OpenDKIM configuration could not be read,\n"
	"64 usage error.\n";

/* The output must load in signetd (a failure here is a bug in the mapping,
 * reported rather than written). */
static bool self_check(const struct odk_map_result *r)
{
	struct signetd_config *cfg = NULL;
	struct diags d;

	diags_init(&d);
	bool ok = config_parse("generated signetd.conf", (const uint8_t *)r->text, r->len, &cfg,
			       &d) == SIGNET_OK;
	if (!ok) {
		diags_print(&d, stderr, "signet import-opendkim: ");
		cli_err("import-opendkim: the generated configuration does not load (a bug)");
	}
	config_free(cfg);
	diags_free(&d);
	return ok;
}

static bool write_out(const char *out, const struct odk_map_result *r)
{
	if (out == NULL)
		return cli_write(stdout, r->text, r->len) && cli_flush_stdout();
	int fd = open(out, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0640);
	if (fd < 0) {
		cli_err("cannot create %s: %s%s", out, strerror(errno),
			errno == EEXIST ? " (import-opendkim does not overwrite; remove it first)"
					: "");
		return false;
	}
	FILE *f = fdopen(fd, "w");
	if (f == NULL) {
		close(fd);
		cli_err("cannot write %s: %s", out, strerror(errno));
		return false;
	}
	bool ok = cli_write(f, r->text, r->len);
	if (fclose(f) != 0 && ok) {
		cli_err("cannot write %s: %s", out, strerror(errno));
		ok = false;
	}
	return ok;
}

int cmd_import_opendkim(int argc, char **argv)
{
	static const struct option longopts[] = {
		{"output", required_argument, NULL, 'o'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	const char *out = NULL, *path = ODK_DEFAULT_FILE;
	struct odk_conf c;
	struct odk_error e;
	struct odk_map_result r;
	int ch;

	optind = 0;
	while ((ch = getopt_long(argc, argv, ":o:h", longopts, NULL)) != -1) {
		switch (ch) {
		case 'o': out = optarg; break;
		case 'h': printf("%s\n%s", usage, help_text); return CLI_EXIT_OK;
		default: return cli_bad_option("import-opendkim", usage, ch, argv);
		}
	}
	if (argc - optind > 1)
		return cli_usage_error("import-opendkim", usage, "unexpected argument '%s'",
				       argv[optind + 1]);
	if (optind < argc)
		path = argv[optind];
	if (!odk_conf_load(path, &c, &e)) {
		cli_err("import-opendkim: %s", e.msg);
		return IMPORT_EXIT_INPUT;
	}
	bool ok = odk_map(&c, path, &r, &e);
	odk_conf_free(&c);
	if (!ok) {
		cli_err("import-opendkim: %s", e.msg);
		return IMPORT_EXIT_INPUT;
	}
	bool too_big = r.len > FILEREAD_MAX_CONFIG;
	if (too_big) /* signetd would refuse it whole: say so and hand it over to split */
		cli_warn("import-opendkim: the configuration is %zu bytes, more than signetd reads "
			 "from one file (UCL_MAX_INPUT, %u bytes); move domain { } entries into "
			 ".include files",
			 r.len, FILEREAD_MAX_CONFIG);
	ok = (too_big || self_check(&r)) && write_out(out, &r);
	free(r.text);
	if (!ok)
		return CLI_EXIT_FAIL;
	if (r.not_carried > 0)
		cli_warn("import-opendkim: %u %s not carried over (see the comments)",
			 r.not_carried, cli_plural(r.not_carried, "setting", "settings"));
	return r.not_carried > 0 || too_big ? IMPORT_EXIT_PARTIAL : CLI_EXIT_OK;
}
