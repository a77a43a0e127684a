/* cmd_sign.c: `signet sign`: reads a message (file or stdin, LF or CRLF),
 * signs it with libsignet and writes the DKIM-Signature field followed by
 * the message bytes unchanged. The message is kept in memory (bounded by
 * CLI_MAX_MESSAGE) because it is written out after signing. */
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <signet/message.h>
#include <signet/signer.h>

#include "cli.h"

static const char usage[] =
	"usage: signet sign -d DOMAIN -s SELECTOR -k KEYFILE [-a rsa-sha256|ed25519-sha256]\n"
	"                   [-c HDR/BODY] [--headers h1:h2:...] [--oversign] [--time UNIX]\n"
	"                   [--expire SECONDS] [-i AUID] [--idn-labels auto|a-labels] [FILE]\n";

static const char help_text[] =
	"Sign a message (FILE or standard input) and write it with a DKIM-Signature\n"
	"field on top to standard output.\n\n"
	"  -d, --domain DOMAIN      signing domain (d=)\n"
	"  -s, --selector SELECTOR  selector (s=)\n"
	"  -k, --key KEYFILE        private key (PEM)\n"
	"  -a, --algorithm ALG      rsa-sha256 or ed25519-sha256; must match the key\n"
	"  -c, --canon HDR/BODY     simple or relaxed each (default relaxed/relaxed)\n"
	"      --headers LIST       colon-separated header fields to sign (h=)\n"
	"      --oversign           with --headers: list each field once more than present\n"
	"      --time UNIX          signature time t= (default: now)\n"
	"      --expire SECONDS     add x= = t + SECONDS\n"
	"  -i, --auid AUID          agent or user identifier (i=), within DOMAIN\n"
	"      --idn-labels FORM    auto (default): an internationalized DOMAIN, SELECTOR\n"
	"                           or i= domain is written as U-labels when the message\n"
	"                           has UTF-8 header fields, else as A-labels (RFC 8616);\n"
	"                           a-labels: always A-labels\n";

struct sign_opts {
	struct signet_sign_params p;
	const char *keyfile, *alg, *file;
	uint64_t expire_after;
};

static int parse_opt(int c, struct sign_opts *o, char **argv)
{
	struct signet_error err = { 0 };

	switch (c) {
	case 'd': o->p.domain = optarg; break;
	case 's': o->p.selector = optarg; break;
	case 'k': o->keyfile = optarg; break;
	case 'a':
		o->alg = optarg;
		if (signet_alg_parse(optarg, strlen(optarg)) == SIGNET_ALG_UNKNOWN)
			return cli_usage_error("sign", usage,
					       "-a %s: give rsa-sha256 or ed25519-sha256", optarg);
		break;
	case 'i': o->p.auid = optarg; break;
	case 'H': o->p.headers = optarg; break;
	case 'O': o->p.oversign = true; break;
	case 'I':
		if (strcmp(optarg, "auto") == 0)
			o->p.idn = SIGNET_IDN_AUTO;
		else if (strcmp(optarg, "a-labels") == 0)
			o->p.idn = SIGNET_IDN_ALABELS;
		else
			return cli_usage_error("sign", usage,
					       "--idn-labels %s: give auto or a-labels", optarg);
		break;
	case 'T':
		if (!cli_parse_time(optarg, &o->p.timestamp))
			return cli_usage_error("sign", usage,
					       "--time %s: give unix seconds from 0 to %llu (RFC "
					       "6376 3.5: t= and x= have at most 12 digits)",
					       optarg, CLI_MAX_TIME);
		break;
	case 'X':
		if (!cli_parse_u64(optarg, &o->expire_after) || o->expire_after == 0)
			return cli_usage_error("sign", usage,
					       "--expire %s: give a number of seconds "
					       "(at least 1)",
					       optarg);
		break;
	case 'c':
		if (signet_canon_parse(optarg, strlen(optarg), &o->p.hdr_canon, &o->p.body_canon,
				       &err) != SIGNET_OK)
			return cli_usage_error("sign", usage,
					       "-c %s: %s (give e.g. relaxed/relaxed)", optarg,
					       err.msg);
		break;
	case 'h': printf("%s\n%s", usage, help_text); return CLI_EXIT_OK;
	default: return cli_bad_option("sign", usage, c, argv);
	}
	return -1;
}

static int parse_opts(int argc, char **argv, struct sign_opts *o)
{
	static const struct option longopts[] = {
		{ "domain", required_argument, NULL, 'd' },
		{ "selector", required_argument, NULL, 's' },
		{ "key", required_argument, NULL, 'k' },
		{ "algorithm", required_argument, NULL, 'a' },
		{ "canon", required_argument, NULL, 'c' },
		{ "auid", required_argument, NULL, 'i' },
		{ "headers", required_argument, NULL, 'H' },
		{ "oversign", no_argument, NULL, 'O' },
		{ "time", required_argument, NULL, 'T' },
		{ "expire", required_argument, NULL, 'X' },
		{ "idn-labels", required_argument, NULL, 'I' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int c, rc;

	memset(o, 0, sizeof(*o));
	o->p.hdr_canon = o->p.body_canon = SIGNET_CANON_RELAXED;
	o->p.timestamp = (uint64_t)time(NULL);
	optind = 0;
	while ((c = getopt_long(argc, argv, ":d:s:k:a:c:i:h", longopts, NULL)) != -1)
		if ((rc = parse_opt(c, o, argv)) >= 0)
			return rc;
	if (optind < argc)
		o->file = argv[optind++];
	if (optind < argc)
		return cli_usage_error("sign", usage, "unexpected argument '%s'", argv[optind]);
	if (o->p.domain == NULL || o->p.selector == NULL || o->keyfile == NULL)
		return cli_usage_error("sign", usage,
				       "-d DOMAIN, -s SELECTOR and -k KEYFILE are "
				       "required");
	if (o->expire_after > 0) {
		/* RFC 6376 3.5: x= is 1*12DIGIT too */
		if (o->expire_after > CLI_MAX_TIME - o->p.timestamp)
			return cli_usage_error("sign", usage,
					       "--expire %llu is too large: t= + %llu is past %llu "
					       "(RFC 6376 3.5: x= has at most 12 digits)",
					       (unsigned long long)o->expire_after,
					       (unsigned long long)o->expire_after, CLI_MAX_TIME);
		o->p.expire = o->p.timestamp + o->expire_after;
	}
	return -1;
}

/* -a must name the algorithm the key makes (DKIM-SIGN-04: never rsa-sha1). */
static bool check_alg(const struct sign_opts *o, const struct signet_key *key)
{
	enum signet_alg want, have = signet_key_alg(key);
	char desc[64];

	if (signet_key_type(key) == SIGNET_KEY_RSA && signet_key_bits(key) < 2048)
		cli_warn("%s is %s: the minimum verifiers accept (RFC 8301 3.2); use 2048 bits",
			 o->keyfile, keyfile_describe(key, desc, sizeof(desc)));
	if (o->alg == NULL)
		return true;
	want = signet_alg_parse(o->alg, strlen(o->alg));
	if (want == SIGNET_ALG_RSA_SHA1) {
		cli_err("-a rsa-sha1: signing with SHA-1 is not allowed (RFC 8301 3.1); use "
			"rsa-sha256");
		return false;
	}
	if (want != have) {
		cli_err("-a %s does not match %s, which is %s (it signs %s); leave out -a or give "
			"-a %s",
			o->alg, o->keyfile, keyfile_describe(key, desc, sizeof(desc)),
			signet_alg_name(have), signet_alg_name(have));
		return false;
	}
	return true;
}

static enum signet_status on_header(void *ctx, const uint8_t *name, size_t nlen,
				    const uint8_t *value, size_t vlen, struct signet_error *err)
{
	return signet_signer_header(ctx, name, nlen, value, vlen, err);
}

static enum signet_status on_eoh(void *ctx, struct signet_error *err)
{
	return signet_signer_end_of_headers(ctx, err);
}

static enum signet_status on_body(void *ctx, const uint8_t *p, size_t len, struct signet_error *err)
{
	return signet_signer_body(ctx, p, len, err);
}

static bool run_signer(struct signet_signer *s, const struct signet_sign_params *p,
		       const uint8_t *msg, size_t len, struct signet_error *err)
{
	static const struct signet_message_handler h = { on_header, on_eoh, on_body };
	struct signet_message *m = NULL;
	bool ok;

	if (signet_signer_add(s, p, err) != SIGNET_OK)
		return false;
	if (signet_message_new(&h, s, &m, err) != SIGNET_OK)
		return false;
	ok = signet_message_feed(m, msg, len, err) == SIGNET_OK &&
	     signet_message_finish(m, err) == SIGNET_OK &&
	     signet_signer_finish(s, err) == SIGNET_OK;
	signet_message_free(m);
	return ok && signet_signer_count(s) == 1;
}

/* The message's line end, from its first line: CRLF or LF. */
static bool uses_crlf(const uint8_t *msg, size_t len)
{
	const uint8_t *nl = memchr(msg, '\n', len);

	return nl != NULL && nl > msg && nl[-1] == '\r';
}

/* "DKIM-Signature:" + value + line end; the value's CRLF folds become LF
 * when the message uses LF, so the output has one line-end style. */
static bool write_signature(const char *value, bool crlf)
{
	static const char name[] = "DKIM-Signature:";
	size_t vlen = strlen(value), n = sizeof(name) - 1, i;
	char *line = malloc(n + vlen + 3);
	bool ok;

	if (line == NULL) {
		cli_err("cannot write the signature: out of memory");
		return false;
	}
	memcpy(line, name, n);
	for (i = 0; i < vlen; i++)
		if (crlf || value[i] != '\r' || value[i + 1] != '\n')
			line[n++] = value[i];
	if (crlf)
		line[n++] = '\r';
	line[n++] = '\n';
	ok = cli_write(stdout, line, n);
	free(line);
	return ok;
}

static int sign_message(const struct sign_opts *o, const uint8_t *msg, size_t len)
{
	struct signet_error err = { 0 };
	struct signet_signer *s = NULL;
	int rc = CLI_EXIT_FAIL;

	if (signet_signer_new(&s, &err) != SIGNET_OK) {
		cli_err("cannot sign: %s", err.msg);
		return CLI_EXIT_FAIL;
	}
	if (!run_signer(s, &o->p, msg, len, &err))
		cli_err("cannot sign %s: %s%s%s%s", o->file ? o->file : "(standard input)",
			err.msg[0] ? err.msg : "no signature was made", err.spec ? " (" : "",
			err.spec ? err.spec : "", err.spec ? ")" : "");
	else if (write_signature(signet_signer_signature(s, 0), uses_crlf(msg, len)) &&
		 cli_write(stdout, msg, len) && cli_flush_stdout())
		rc = CLI_EXIT_OK;
	signet_signer_free(s);
	return rc;
}

int cmd_sign(int argc, char **argv)
{
	struct sign_opts o;
	struct signet_key *key;
	uint8_t *msg = NULL;
	size_t len = 0;
	int rc = parse_opts(argc, argv, &o);

	if (rc >= 0)
		return rc;
	if (!cli_valid_dns_name("domain", o.p.domain) ||
	    !cli_valid_dns_name("selector", o.p.selector))
		return CLI_EXIT_FAIL;
	key = keyfile_load(o.keyfile);
	if (key == NULL)
		return CLI_EXIT_FAIL;
	o.p.key = key;
	if (check_alg(&o, key) && io_read_file(o.file, "message", FILEREAD_CAP(CLI_MAX_MESSAGE), &msg, &len))
		rc = sign_message(&o, msg, len);
	else
		rc = CLI_EXIT_FAIL;
	free(msg);
	signet_key_free(key);
	return rc;
}
