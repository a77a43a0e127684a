/* util.c: error and warning messages, usage errors, number parsing and
 * checked writes for the signet CLI. No DKIM logic here. */
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "dnsname.h" /* lib/: the one DNS-name check */

static void vmsg(const char *prefix, const char *fmt, va_list ap)
{
	fprintf(stderr, "signet: %s", prefix);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
}

void cli_err(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vmsg("", fmt, ap);
	va_end(ap);
}

void cli_warn(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vmsg("warning: ", fmt, ap);
	va_end(ap);
}

int cli_usage_error(const char *cmd, const char *usage, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "signet %s: ", cmd);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\n%sTry 'signet %s --help' for more.\n", usage, cmd);
	return CLI_EXIT_USAGE;
}

/* getopt_long with a leading ':' in optstring returns ':' for a missing
 * value and '?' for an unknown option; optopt is 0 for long options. */
int cli_bad_option(const char *cmd, const char *usage, int c, char **argv)
{
	const char *opt = argv[optind - 1];

	if (c == ':') {
		if (optopt != 0)
			return cli_usage_error(cmd, usage, "option -%c needs a value", optopt);
		return cli_usage_error(cmd, usage, "option %s needs a value", opt);
	}
	if (optopt != 0)
		return cli_usage_error(cmd, usage, "unknown option -%c", optopt);
	return cli_usage_error(cmd, usage, "unknown option %s", opt);
}

bool cli_parse_u64(const char *s, uint64_t *out)
{
	char *end = NULL;
	unsigned long long v;

	if (s == NULL || *s < '0' || *s > '9')
		return false; /* strtoull would accept "-1", " 1" and "" */
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno != 0 || *end != '\0')
		return false;
	*out = (uint64_t)v;
	return true;
}

bool cli_parse_time(const char *s, uint64_t *out)
{
	uint64_t v;

	if (!cli_parse_u64(s, &v) || v > CLI_MAX_TIME)
		return false;
	*out = v;
	return true;
}

const char *cli_plural(size_t n, const char *one, const char *many)
{
	return n == 1 ? one : many;
}

bool cli_write(FILE *f, const void *p, size_t len)
{
	if (len == 0)
		return true;
	if (fwrite(p, 1, len, f) != len) {
		cli_err("cannot write output: %s", strerror(errno));
		return false;
	}
	return true;
}

bool cli_flush_stdout(void)
{
	if (fflush(stdout) != 0 || ferror(stdout)) {
		cli_err("cannot write output: %s", strerror(errno));
		return false;
	}
	return true;
}

/* A domain or selector as DKIM needs it: libsignet's one DNS-name check
 * (base/dnsname.c, RFC 6376 3.5, RFC 1035 2.3.4), its reason printed. ASCII
 * only: the CLI asks for A-labels. */
bool cli_valid_dns_name(const char *what, const char *name)
{
	size_t at = 0;
	enum dnsname_problem pr = dnsname_check((const uint8_t *)name, strlen(name), 0, &at);

	if (pr == DNSNAME_OK)
		return true;
	if (pr == DNSNAME_BAD_CHAR)
		cli_err("%s '%s' contains '%c'; use letters, digits, '-', '_' and '.'", what,
			name, name[at]);
	else
		cli_err("%s '%s' %s", what, name, dnsname_reason(pr));
	return false;
}
