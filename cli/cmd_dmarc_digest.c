/* cmd_dmarc_digest.c: `signet dmarc digest`: options, then report_read
 * (files, archives, messages) -> report_parse (XML) -> report_digest
 * (counts, findings, text/JSON/HTML). Prints why each skipped input was
 * skipped; the modules it calls print nothing. */
#include <errno.h>
#include <getopt.h>
#include <stdlib.h>

#include "cli.h"
#include "cmd_dmarc_digest.h"
#include "report_digest.h"
#include "report_read.h"

static const char usage[] = "usage: signet dmarc digest [--json] [--html FILE] FILE|DIR...\n";

static const char help_text[] =
	"Reads DMARC aggregate reports you received (rua=): XML, .gz, .zip, whole\n"
	"messages carrying them, a Maildir, an mbox, or directories of these, and\n"
	"prints per reporting organisation and source IP how many messages passed\n"
	"and failed DKIM and SPF alignment, then what to fix.\n"
	"  --json       one JSON object on standard output instead of text\n"
	"  --html FILE  also write one self-contained HTML page (chart and table)\n"
	"Exit status: 0 every input read; 2 some inputs skipped (named on stderr);\n"
	"1 the output could not be written; 64 usage error.\n";

struct run {
	struct digest *d;
	bool skipped, nomem;
};

static void on_skip(void *ctx, const char *origin, const char *why)
{
	struct run *run = ctx;

	cli_err("dmarc digest: %s: skipped: %s", origin, why);
	run->skipped = true;
	if (!digest_skipped(run->d, origin, why))
		run->nomem = true;
}

static void on_xml(void *ctx, const char *origin, const uint8_t *p, size_t len)
{
	struct run *run = ctx;
	struct report *r;
	char why[512];
	const char *first = NULL;

	if (!report_parse(p, len, &r, why, sizeof(why))) {
		on_skip(ctx, origin, why);
		return;
	}
	for (size_t i = 0; i < r->nnotes; i++)
		cli_warn("dmarc digest: %s: %s", origin, r->notes[i]);
	switch (digest_add(run->d, r, origin, &first)) {
	case DIGEST_ADDED: break;
	case DIGEST_DUPLICATE:
		fprintf(stderr, "signet: dmarc digest: %s: the same report as %s: counted once\n",
			origin, first);
		break;
	case DIGEST_NOMEM: run->nomem = true; break;
	}
}

static bool write_html(const struct digest *d, const char *path)
{
	FILE *f = fopen(path, "w");
	bool ok;

	if (f == NULL) {
		io_open_error(path, "--html", errno);
		return false;
	}
	ok = digest_html(d, f) && !ferror(f);
	if (fclose(f) != 0 || !ok) {
		cli_err("dmarc digest: cannot write %s", path);
		return false;
	}
	return true;
}

static int digest_run(char **paths, int n, bool json, const char *html)
{
	struct run run = {.d = digest_new()};
	struct report_sink sink = {.ctx = &run, .xml = on_xml, .skip = on_skip};
	struct report_reader *rd = run.d ? report_reader_new(&sink) : NULL;
	bool ok;
	size_t none;

	if (rd == NULL) {
		digest_free(run.d);
		cli_err("dmarc digest: out of memory");
		return CLI_EXIT_FAIL;
	}
	for (int i = 0; i < n && report_read_path(rd, paths[i]); i++)
		;
	none = report_reader_no_report(rd);
	if (none > 0)
		fprintf(stderr, "signet: dmarc digest: %zu %s without a DMARC report\n", none,
			cli_plural(none, "message", "messages"));
	ok = !run.nomem && (json ? digest_json(run.d, stdout) : digest_text(run.d, stdout));
	if (!ok)
		cli_err("dmarc digest: out of memory");
	ok = ok && (html == NULL || write_html(run.d, html));
	report_reader_free(rd);
	digest_free(run.d);
	if (!cli_flush_stdout() || !ok)
		return CLI_EXIT_FAIL;
	return run.skipped ? DIGEST_EXIT_SKIPPED : CLI_EXIT_OK;
}

int cmd_dmarc_digest(int argc, char **argv)
{
	static const struct option longopts[] = {
		{"json", no_argument, NULL, 'j'},
		{"html", required_argument, NULL, 'H'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	const char *html = NULL;
	bool json = false;
	int c;

	optind = 0;
	while ((c = getopt_long(argc, argv, ":h", longopts, NULL)) != -1) {
		switch (c) {
		case 'j': json = true; break;
		case 'H': html = optarg; break;
		case 'h': printf("%s\n%s", usage, help_text); return CLI_EXIT_OK;
		default: return cli_bad_option("dmarc digest", usage, c, argv);
		}
	}
	if (optind >= argc)
		return cli_usage_error("dmarc digest", usage, "give at least one FILE or DIR");
	return digest_run(argv + optind, argc - optind, json, html);
}
