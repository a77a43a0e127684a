/* cmd_keygen.c: `signet keygen`: makes a private key, writes it as PEM (mode
 * 0600, never over an existing file) and/or stores it in Redis the way
 * rspamd and signetd's use_redis read it (HSET key_prefix "SELECTOR.DOMAIN"
 * PEM, never over an existing field without --force), and prints the
 * public DNS record as a zone-file line or as the bare value a registrar's
 * web form wants. The private key is never printed. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "config.h"
#include "redis_client.h"

static const char usage[] =
	"usage: signet keygen -d DOMAIN -s SELECTOR [-t rsa|ed25519] [-b BITS] -k KEYFILE\n"
	"                     [--format zone|txt]\n"
	"       signet keygen -d DOMAIN -s SELECTOR [-t rsa|ed25519] [-b BITS] [-k KEYFILE]\n"
	"                     --redis URL [-c signetd.conf] [--key-prefix HASH]\n"
	"                     [--selector-prefix HASH] [--force] [--format zone|txt]\n";

static const char help_text[] =
	"Make a DKIM key pair: write the private key to KEYFILE (PEM, mode 0600; an\n"
	"existing file is never overwritten) and print the DNS record to publish.\n\n"
	"  -d, --domain DOMAIN     signing domain (d=)\n"
	"  -s, --selector SELECTOR selector (s=); the record goes at SELECTOR._domainkey.DOMAIN\n"
	"  -t, --type rsa|ed25519  key type (default rsa)\n"
	"  -b, --bits BITS         RSA modulus size, 1024..4096 (default 2048)\n"
	"  -k, --key KEYFILE       where to write the private key\n"
	"      --format zone|txt   zone: a zone-file line (default); txt: the bare value\n"
	"      --redis URL         store the key in Redis (redis://ADDRESS:PORT,\n"
	"                          redis://[IPV6]:PORT): HSET HASH \"SELECTOR.DOMAIN\" PEM,\n"
	"                          as signetd (dkim_signing.use_redis) and rspamd read it;\n"
	"                          no file unless -k is given too\n"
	"  -c, --config FILE       signetd.conf: the default --key-prefix and the timeout\n"
	"      --key-prefix HASH   the hash of keys (default: the config's key_prefix,\n"
	"                          else " CONFIG_DEFAULT_KEY_PREFIX ")\n"
	"      --selector-prefix HASH  also HSET HASH DOMAIN SELECTOR: signetd signs with\n"
	"                          this key as soon as it refreshes; publish the record first\n"
	"      --force             replace a key already stored for SELECTOR.DOMAIN\n";

struct keygen_opts {
	const char *domain, *selector, *keyfile;
	enum signet_keytype type;
	unsigned bits;        /* 0 until check_bits: -b not given */
	const char *bits_arg; /* -b as given, for messages; NULL if not given */
	bool txt;
	/* --redis (issue #17): where and under which names the key is stored */
	const char *redis, *config, *key_prefix, *selector_prefix;
	bool force;
	double timeout;                                    /* seconds: connect and each reply */
	char config_prefix[REDIS_CLIENT_KEY_NAME_MAX + 1]; /* -c's key_prefix */
};

/* --redis and the options that only make sense with it. */
static int check_redis_opts(const struct keygen_opts *o)
{
	struct redis_url u;
	if (o->redis == NULL && (o->config || o->key_prefix || o->selector_prefix || o->force))
		return cli_usage_error("keygen", usage,
				       "-c, --key-prefix, --selector-prefix and --force go with "
				       "--redis URL");
	if (o->redis != NULL && !redis_client_parse_url(o->redis, &u))
		return cli_usage_error("keygen", usage, "--redis is not " REDIS_CLIENT_URL_FORMS);
	const char *names[] = {o->key_prefix, o->selector_prefix};
	for (size_t k = 0; k < 2; k++)
		if (names[k] != NULL && !redis_client_key_name_ok(names[k]))
			return cli_usage_error("keygen", usage,
					       "'%s' is not a Redis hash name: 1..%d printable "
					       "characters, no spaces",
					       names[k], REDIS_CLIENT_KEY_NAME_MAX);
	return -1;
}

static int parse_opts(int argc, char **argv, struct keygen_opts *o)
{
	static const struct option longopts[] = {
		{"domain", required_argument, NULL, 'd'},
		{"selector", required_argument, NULL, 's'},
		{"type", required_argument, NULL, 't'},
		{"bits", required_argument, NULL, 'b'},
		{"key", required_argument, NULL, 'k'},
		{"format", required_argument, NULL, 'F'},
		{"redis", required_argument, NULL, 'R'},
		{"config", required_argument, NULL, 'c'},
		{"key-prefix", required_argument, NULL, 'P'},
		{"selector-prefix", required_argument, NULL, 'S'},
		{"force", no_argument, NULL, 'f'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	uint64_t bits = 0;
	int c;

	memset(o, 0, sizeof(*o));
	o->type = SIGNET_KEY_RSA;
	optind = 0;
	while ((c = getopt_long(argc, argv, ":d:s:t:b:k:c:h", longopts, NULL)) != -1) {
		switch (c) {
		case 'R': o->redis = optarg; break;
		case 'c': o->config = optarg; break;
		case 'P': o->key_prefix = optarg; break;
		case 'S': o->selector_prefix = optarg; break;
		case 'f': o->force = true; break;
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
	if (o->domain == NULL || o->selector == NULL || (o->keyfile == NULL && o->redis == NULL))
		return cli_usage_error("keygen", usage,
				       "-d DOMAIN, -s SELECTOR and -k KEYFILE (or --redis URL) are "
				       "required");
	return check_redis_opts(o);
}

/* DKIM-SIGN-04 (RFC 8301 3.2): 1024..4096 bits, 2048 when -b is not given.
 * A given -b outside the range is refused, -b 0 included (issue #19: it
 * silently meant 2048). */
static bool check_bits(struct keygen_opts *o)
{
	if (o->type == SIGNET_KEY_ED25519) {
		if (o->bits_arg != NULL && o->bits != 256) {
			cli_err("-b %s: ed25519 keys are always 256 bits; leave out -b",
				o->bits_arg);
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

/* Generates the key and its PEM text (pem[0..*len), which the caller wipes). */
static struct signet_key *make_key(const struct keygen_opts *o, char *pem, size_t cap, size_t *len)
{
	struct signet_error err = {0};
	struct signet_key *key = NULL;

	if (signet_key_generate(o->type, o->bits, &key, &err) != SIGNET_OK) {
		cli_err("cannot generate the key: %s", err.msg);
		return NULL;
	}
	if (signet_key_write_pem(key, pem, cap, len, &err) != SIGNET_OK) {
		cli_err("cannot encode the key: %s", err.msg);
		signet_key_free(key);
		return NULL;
	}
	return key;
}

/* -k KEYFILE: created (O_EXCL), written, closed; removed again on failure. */
static bool write_keyfile(const char *path, const char *pem, size_t len)
{
	int fd = create_keyfile(path);
	if (fd < 0)
		return false;
	bool ok = write_all(fd, path, pem, len);
	if (close(fd) != 0 && ok) {
		cli_err("cannot write %s: %s", path, strerror(errno));
		ok = false;
	}
	if (!ok)
		unlink(path); /* ours: created with O_EXCL above */
	return ok;
}

/* -c: the config's key_prefix and Redis timeout (NULL cfg: defaults). */
static bool redis_defaults(struct keygen_opts *o)
{
	struct signetd_config *cfg = NULL;
	o->timeout = CONFIG_DEFAULT_REDIS_TIMEOUT;
	if (o->config != NULL) {
		struct diags d;
		diags_init(&d);
		bool ok = config_load(o->config, &cfg, &d) == SIGNET_OK;
		diags_print(&d, stderr, "signet: ");
		diags_free(&d);
		if (!ok) {
			cli_err("%s: configuration not usable (see above)", o->config);
			return false;
		}
	}
	if (o->key_prefix == NULL && cfg != NULL && cfg->signing.key_prefix != NULL) {
		snprintf(o->config_prefix, sizeof o->config_prefix, "%s", cfg->signing.key_prefix);
		o->key_prefix = o->config_prefix;
	}
	if (o->key_prefix == NULL)
		o->key_prefix = CONFIG_DEFAULT_KEY_PREFIX;
	if (cfg != NULL)
		o->timeout = config_signing_redis(cfg)->timeout;
	config_free(cfg);
	return true;
}

/* Connects; unless --force, refuses a field that already holds a key. */
static struct redis_client *redis_open(const struct keygen_opts *o, const char *field)
{
	char why[REDIS_CLIENT_ERROR_MAX];
	struct redis_url u;
	if (!redis_client_parse_url(o->redis, &u))
		return NULL; /* checked by parse_opts */
	const char *list[] = {u.server};
	struct redis_auth auth = redis_client_url_auth(&u);
	struct redis_client *c = redis_client_connect(list, 1, o->timeout, &auth, why, sizeof why);
	explicit_bzero(&u, sizeof u);
	if (c == NULL) {
		cli_err("%s", why);
		return NULL;
	}
	enum redis_result r =
		o->force ? REDIS_R_MISSING : redis_client_hexists(c, o->key_prefix, field);
	if (r == REDIS_R_MISSING)
		return c;
	if (r == REDIS_R_OK)
		cli_err("Redis %s: hash %s already holds a key for %s; signet never overwrites a "
			"key: choose another selector, or give --force to replace it",
			redis_client_server(c), o->key_prefix, field);
	else
		cli_err("%s", redis_client_error(c));
	redis_client_free(c);
	return NULL;
}

/* HSET(NX) key_prefix "SELECTOR.DOMAIN" PEM, then the selector if asked. */
static bool redis_store(const struct keygen_opts *o, struct redis_client *c, const char *field,
			const char *pem, size_t len)
{
	enum redis_result r = redis_client_hset(c, o->key_prefix, field, pem, len, !o->force);
	if (r == REDIS_R_EXISTS)
		cli_err("Redis %s: hash %s already holds a key for %s (stored just now by "
			"someone else); nothing changed",
			redis_client_server(c), o->key_prefix, field);
	else if (r != REDIS_R_OK)
		cli_err("%s", redis_client_error(c));
	if (r != REDIS_R_OK)
		return false;
	if (o->selector_prefix != NULL &&
	    redis_client_hset(c, o->selector_prefix, o->domain, o->selector, strlen(o->selector),
			      false) != REDIS_R_OK) {
		cli_err("%s (the key is stored; the selector is not)", redis_client_error(c));
		return false;
	}
	return true;
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

static void report_stored(const struct keygen_opts *o, const struct redis_client *c,
			  const char *field)
{
	if (o->keyfile != NULL)
		fprintf(stderr, "signet: wrote private key %s (mode 0600)\n", o->keyfile);
	if (c != NULL)
		fprintf(stderr, "signet: stored the private key in Redis %s, hash %s, field %s%s\n",
			redis_client_server(c), o->key_prefix, field,
			o->force ? " (replacing any key there)" : "");
	if (c != NULL && o->selector_prefix != NULL)
		fprintf(stderr,
			"signet: set %s %s = %s: signetd signs %s with this key as soon as it "
			"refreshes its keys (dkim_signing.redis_refresh); publish the record above "
			"first, or mail fails verification until it is visible\n",
			o->selector_prefix, o->domain, o->selector, o->domain);
	else
		fprintf(stderr, "signet: publish the record above at %s._domainkey.%s\n",
			o->selector, o->domain);
}

/* The key to its places: the file first (it can be removed again), then Redis. */
static bool store_key(const struct keygen_opts *o, struct redis_client *c, const char *field,
		      const char *pem, size_t len)
{
	if (o->keyfile != NULL && !write_keyfile(o->keyfile, pem, len))
		return false;
	if (c != NULL && !redis_store(o, c, field, pem, len)) {
		if (o->keyfile != NULL)
			unlink(o->keyfile); /* ours: created with O_EXCL */
		return false;
	}
	return true;
}

int cmd_keygen(int argc, char **argv)
{
	struct keygen_opts o;
	struct redis_client *c = NULL;
	char field[320], pem[16384];
	size_t len = 0;
	int rc = parse_opts(argc, argv, &o);

	if (rc >= 0)
		return rc;
	if (!cli_valid_dns_name("domain", o.domain) ||
	    !cli_valid_dns_name("selector", o.selector) || !check_bits(&o))
		return CLI_EXIT_FAIL;
	snprintf(field, sizeof field, "%s.%s", o.selector, o.domain); /* rspamd's field */
	if (o.redis != NULL && (!redis_defaults(&o) || (c = redis_open(&o, field)) == NULL))
		return CLI_EXIT_FAIL;
	struct signet_key *key = make_key(&o, pem, sizeof pem, &len);
	bool ok = key != NULL && store_key(&o, c, field, pem, len);
	explicit_bzero(pem, sizeof pem);
	rc = ok && print_record(&o, key) ? CLI_EXIT_OK : CLI_EXIT_FAIL;
	signet_key_free(key);
	if (rc == CLI_EXIT_OK)
		report_stored(&o, c, field);
	redis_client_free(c);
	return rc;
}
