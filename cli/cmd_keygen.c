/* cmd_keygen.c: `signet keygen`: makes a private key, writes it as PEM (mode
 * 0600, never over an existing file) and prints the public DNS record as a
 * zone-file line or as the bare value a registrar's web form wants. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"

static const char usage[] =
	"usage: signet keygen -d DOMAIN -s SELECTOR [-t rsa|ed25519] [-b BITS] -k KEYFILE\n"
	"                     [--format zone|txt]\n";

static const char help_text[] =
	"Make a DKIM key pair: write the private key to KEYFILE (PEM, mode 0600; an\n"
	"existing file is never overwritten) and print the DNS record to publish.\n\n"
	"  -d, --domain DOMAIN     signing domain (d=)\n"
	"  -s, --selector SELECTOR selector (s=); the record goes at SELECTOR._domainkey.DOMAIN\n"
	"  -t, --type rsa|ed25519  key type (default rsa)\n"
	"  -b, --bits BITS         RSA modulus size, 1024..4096 (default 2048)\n"
	"  -k, --key KEYFILE       where to write the private key\n"
	"      --format zone|txt   zone: a zone-file line (default); txt: the bare value\n";

struct keygen_opts {
	const char *domain, *selector, *keyfile;
	enum signet_keytype type;
	unsigned bits;        /* 0 until check_bits: -b not given */
	const char *bits_arg; /* -b as given, for messages; NULL if not given */
	bool txt;
};

static int parse_opts(int argc, char **argv, struct keygen_opts *o)
{
	static const struct option longopts[] = {
		{ "domain", required_argument, NULL, 'd' },
		{ "selector", required_argument, NULL, 's' },
		{ "type", required_argument, NULL, 't' },
		{ "bits", required_argument, NULL, 'b' },
		{ "key", required_argument, NULL, 'k' },
		{ "format", required_argument, NULL, 'F' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	uint64_t bits = 0;
	int c;

	memset(o, 0, sizeof(*o));
	o->type = SIGNET_KEY_RSA;
	optind = 0;
	while ((c = getopt_long(argc, argv, ":d:s:t:b:k:h", longopts, NULL)) != -1) {
		switch (c) {
		case 'd': o->domain = optarg; break;
		case 's': o->selector = optarg; break;
		case 'k': o->keyfile = optarg; break;
		case 't':
			if (strcmp(optarg, "rsa") == 0)
				o->type = SIGNET_KEY_RSA;
			else if (strcmp(optarg, "ed25519") == 0)
				o->type = SIGNET_KEY_ED25519;
			else
				return cli_usage_error("keygen", usage,
						       "-t %s: give rsa or ed25519", optarg);
			break;
		case 'b':
			if (optarg[0] != '\0' && strspn(optarg, "0123456789") == strlen(optarg) &&
			    !cli_parse_u64(optarg, &bits))
				bits = UINT64_MAX; /* digits past 2^64: out of range below */
			else if (!cli_parse_u64(optarg, &bits))
				return cli_usage_error("keygen", usage,
						       "-b %s: give a number of bits", optarg);
			/* out of range: check_bits says so; no wrap-around to a valid size */
			o->bits = bits > UINT_MAX ? UINT_MAX : (unsigned)bits;
			o->bits_arg = optarg;
			break;
		case 'F':
			if (strcmp(optarg, "zone") != 0 && strcmp(optarg, "txt") != 0)
				return cli_usage_error("keygen", usage,
						       "--format %s: give zone or txt", optarg);
			o->txt = strcmp(optarg, "txt") == 0;
			break;
		case 'h': printf("%s\n%s", usage, help_text); return CLI_EXIT_OK;
		default: return cli_bad_option("keygen", usage, c, argv);
		}
	}
	if (optind < argc)
		return cli_usage_error("keygen", usage, "unexpected argument '%s'", argv[optind]);
	if (o->domain == NULL || o->selector == NULL || o->keyfile == NULL)
		return cli_usage_error("keygen", usage,
				       "-d DOMAIN, -s SELECTOR and -k KEYFILE are "
				       "required");
	return -1;
}

/* DKIM-SIGN-04 (RFC 8301 3.2): 1024..4096 bits, 2048 when -b is not given.
 * A given -b outside the range is refused, -b 0 included (issue #19: it
 * silently meant 2048). */
static bool check_bits(struct keygen_opts *o)
{
	if (o->type == SIGNET_KEY_ED25519) {
		if (o->bits_arg != NULL && o->bits != 256) {
			cli_err("-b %s: ed25519 keys are always 256 bits; leave out -b", o->bits_arg);
			return false;
		}
		o->bits = 0;
		return true;
	}
	if (o->bits_arg == NULL)
		o->bits = 2048;
	if (o->bits < SIGNET_MIN_RSA_BITS || o->bits > SIGNET_MAX_RSA_BITS) {
		cli_err("-b %s: RSA keys must have %d to %d bits (RFC 8301 3.2); use 2048",
			o->bits_arg, SIGNET_MIN_RSA_BITS, SIGNET_MAX_RSA_BITS);
		return false;
	}
	if (o->bits < 2048)
		cli_warn("%u-bit RSA: verifiers accept 1024 bits and more, but signers should use "
			 "at least 2048 (RFC 8301 3.2)",
			 o->bits);
	return true;
}

static int create_keyfile(const char *path)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);

	if (fd >= 0)
		return fd;
	if (errno == EEXIST)
		cli_err("%s already exists; signet never overwrites a key: remove it or choose "
			"another name",
			path);
	else if (errno == EACCES)
		cli_err("cannot create %s: %s (signet runs as uid %u; check the directory's owner "
			"and mode)",
			path, strerror(errno), (unsigned)geteuid());
	else
		cli_err("cannot create %s: %s", path, strerror(errno));
	return -1;
}

static bool write_all(int fd, const char *path, const char *p, size_t len)
{
	while (len > 0) {
		ssize_t w = write(fd, p, len);

		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0) {
			cli_err("cannot write %s: %s", path, strerror(errno));
			return false;
		}
		p += w;
		len -= (size_t)w;
	}
	if (fsync(fd) != 0) {
		cli_err("cannot write %s: %s", path, strerror(errno));
		return false;
	}
	return true;
}

/* Generates the key and stores it in the already created file. */
static struct signet_key *make_key(const struct keygen_opts *o, int fd)
{
	struct signet_error err = { 0 };
	struct signet_key *key = NULL;
	char pem[16384];
	size_t len = 0;
	bool ok;

	if (signet_key_generate(o->type, o->bits, &key, &err) != SIGNET_OK) {
		cli_err("cannot generate the key: %s", err.msg);
		return NULL;
	}
	if (signet_key_write_pem(key, pem, sizeof(pem), &len, &err) != SIGNET_OK) {
		cli_err("cannot encode the key: %s", err.msg);
		signet_key_free(key);
		return NULL;
	}
	ok = write_all(fd, o->keyfile, pem, len);
	explicit_bzero(pem, sizeof(pem));
	if (!ok) {
		signet_key_free(key);
		return NULL;
	}
	return key;
}

static bool print_record(const struct keygen_opts *o, const struct signet_key *key)
{
	char rec[CLI_RECORD_MAX];

	if (!record_for_key(key, rec, sizeof(rec)))
		return false;
	if (o->txt)
		printf("%s\n", rec);
	else
		record_print_zone(stdout, o->selector, o->domain, rec);
	return cli_flush_stdout();
}

int cmd_keygen(int argc, char **argv)
{
	struct keygen_opts o;
	struct signet_key *key;
	int rc = parse_opts(argc, argv, &o), fd;

	if (rc >= 0)
		return rc;
	if (!cli_valid_dns_name("domain", o.domain) ||
	    !cli_valid_dns_name("selector", o.selector) || !check_bits(&o))
		return CLI_EXIT_FAIL;
	fd = create_keyfile(o.keyfile);
	if (fd < 0)
		return CLI_EXIT_FAIL;
	key = make_key(&o, fd);
	if (close(fd) != 0 && key != NULL) {
		cli_err("cannot write %s: %s", o.keyfile, strerror(errno));
		signet_key_free(key);
		key = NULL;
	}
	if (key == NULL) {
		unlink(o.keyfile); /* ours: created with O_EXCL above */
		return CLI_EXIT_FAIL;
	}
	rc = print_record(&o, key) ? CLI_EXIT_OK : CLI_EXIT_FAIL;
	signet_key_free(key);
	if (rc == CLI_EXIT_OK)
		fprintf(stderr,
			"signet: wrote private key %s (mode 0600); publish the record above "
			"at %s._domainkey.%s\n",
			o.keyfile, o.selector, o.domain);
	return rc;
}
