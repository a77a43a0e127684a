/* cmd_rotate.c: signet rotate: a new key with a new dated selector, the
 * record to publish, and the pending rotation recorded for signetd, which
 * switches only once DNS shows the record (conf/rotation.h decides each
 * step). --status renders every domain's selectors and what to do next. */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <signet/key.h>

#include "cli.h"
#include "config.h"
#include "nsupdate.h"
#include "rotate_fleet.h"
#include "rotation.h"
#include "run.h"

#define ROTATE_DEFAULT_KEYS_DIR "/etc/signet/keys"
#define ROTATE_RECORD_MAX 2048    /* the TXT value of a 4096-bit RSA key fits */
#define ROTATE_EXIT_UNPUBLISHED 4 /* rotation recorded, the DNS update failed */

static const char usage[] =
	"usage: signet rotate -d DOMAIN [-t rsa|ed25519] [-b BITS] [--keys-dir DIR]\n"
	"                     [-c signetd.conf] [--state FILE] [--selector SEL] [--time UNIX]\n"
	"                     [--nsupdate SERVER --tsig FILE [--zone ZONE] [--ttl SECONDS]]\n"
	"       signet rotate --status [-c signetd.conf] [--state FILE] [--time UNIX]\n"
	"                     [--nsupdate SERVER --tsig FILE [--zone ZONE]]\n"
	"       fleet mode (state and keys in Redis): either of the above with --redis URL\n"
	"                     [--key-prefix HASH] [--selector-prefix HASH], or with -c FILE\n"
	"                     whose dkim_signing.use_redis is true";
static const char help_text[] =
	"Makes a new key for DOMAIN with a new dated selector, prints the record to\n"
	"publish and records the pending rotation. signetd keeps signing with the\n"
	"current key until the new record is visible in DNS and has matched for its\n"
	"TTL, then switches; the old selector stays valid for rotation.retire_after.\n"
	"  -d, --domain DOMAIN   the signing domain\n"
	"  -t, --type TYPE       rsa or ed25519 (default: the current key's type, else rsa)\n"
	"  -b, --bits BITS       RSA key size (default 2048)\n"
	"      --keys-dir DIR    where the key is written (default " ROTATE_DEFAULT_KEYS_DIR ")\n"
	"  -c, --config FILE     signetd.conf: the current key and rotation { } (default\n"
	"                        " CONFIG_DEFAULT_FILE ", if it exists)\n"
	"      --state FILE      the rotation state (default rotation.state of the config,\n"
	"                        else " ROTATION_DEFAULT_STATE ")\n"
	"      --selector SEL    the new selector (default: ed|rsa + YYYYMMDD)\n"
	"      --status          list every rotated domain's selectors and what to do\n"
	"      --time UNIX       the time to use instead of now (tests)\n"
	"      --redis URL       fleet mode: the state in Redis (rotation.redis_key), the key\n"
	"                        in the key_prefix hash (default: the config's servers when\n"
	"                        dkim_signing.use_redis is true)\n"
	"      --key-prefix HASH, --selector-prefix HASH  the hashes (default: the config's)\n"
	"      --nsupdate SERVER publish by RFC 2136 dynamic update to SERVER (ADDRESS[:PORT],\n"
	"                        [IPV6]:PORT): the new record, or with --status the revoked\n"
	"                        record (v=DKIM1; p=) of every retired selector\n"
	"      --tsig FILE       the TSIG key (BIND key statement or Knot keymgr -t output)\n"
	"      --zone ZONE       the zone to update (default: found by an SOA query)\n"
	"      --ttl SECONDS     of the published record (default 3600)\n"
	"Exit status: 0 done, 1 failed (nothing recorded), 4 the rotation is recorded but\n"
	"the DNS update failed (publish the record by hand), 64 usage error.\n";

struct rotate_opts {
	const char *domain, *type, *bits, *keys_dir, *config, *state, *selector;
	bool status, config_given;
	uint64_t now;
	struct rotate_fleet_names fleet; /* --redis, --key-prefix, --selector-prefix */
	const char *ns_server, *ns_tsig, *ns_zone, *ns_ttl; /* --nsupdate */
	struct nsupdate *ns;
};

static int parse_opts(int argc, char **argv, struct rotate_opts *o)
{
	static const struct option longopts[] = {
		{"domain", required_argument, NULL, 'd'},
		{"type", required_argument, NULL, 't'},
		{"bits", required_argument, NULL, 'b'},
		{"keys-dir", required_argument, NULL, 'K'},
		{"config", required_argument, NULL, 'c'},
		{"state", required_argument, NULL, 'S'},
		{"selector", required_argument, NULL, 's'},
		{"status", no_argument, NULL, 'A'},
		{"time", required_argument, NULL, 'T'},
		{"redis", required_argument, NULL, 'R'},
		{"key-prefix", required_argument, NULL, 'P'},
		{"selector-prefix", required_argument, NULL, 'Q'},
		{"nsupdate", required_argument, NULL, 'N'},
		{"tsig", required_argument, NULL, 'G'},
		{"zone", required_argument, NULL, 'Z'},
		{"ttl", required_argument, NULL, 'L'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	int c;
	optind = 1;
	while ((c = getopt_long(argc, argv, "+d:t:b:c:s:h", longopts, NULL)) != -1) {
		switch (c) {
		case 'd': o->domain = optarg; break;
		case 't': o->type = optarg; break;
		case 'b': o->bits = optarg; break;
		case 'K': o->keys_dir = optarg; break;
		case 'c': o->config = optarg, o->config_given = true; break;
		case 'S': o->state = optarg; break;
		case 's': o->selector = optarg; break;
		case 'A': o->status = true; break;
		case 'T':
			if (!cli_parse_time(optarg, &o->now))
				return cli_usage_error("rotate", usage,
						       "--time wants unix seconds");
			break;
		case 'R': o->fleet.url = optarg; break;
		case 'P': o->fleet.key_prefix = optarg; break;
		case 'Q': o->fleet.selector_prefix = optarg; break;
		case 'N': o->ns_server = optarg; break;
		case 'G': o->ns_tsig = optarg; break;
		case 'Z': o->ns_zone = optarg; break;
		case 'L': o->ns_ttl = optarg; break;
		case 'h': printf("%s\n%s", usage, help_text); return CLI_EXIT_OK;
		default: return cli_bad_option("rotate", usage, c, argv);
		}
	}
	if (optind < argc)
		return cli_usage_error("rotate", usage, "unexpected argument '%s'", argv[optind]);
	if (o->status && o->domain != NULL)
		return cli_usage_error("rotate", usage, "--status lists every domain; no -d");
	if (!o->status && o->domain == NULL)
		return cli_usage_error("rotate", usage, "give -d DOMAIN (or --status)");
	if (o->type != NULL && strcmp(o->type, "rsa") != 0 && strcmp(o->type, "ed25519") != 0)
		return cli_usage_error("rotate", usage, "-t is rsa or ed25519");
	if (o->domain != NULL && !cli_valid_dns_name("domain", o->domain))
		return CLI_EXIT_USAGE;
	if (o->selector != NULL && !cli_valid_dns_name("selector", o->selector))
		return CLI_EXIT_USAGE;
	if ((o->ns_server == NULL) != (o->ns_tsig == NULL))
		return cli_usage_error("rotate", usage, "--nsupdate and --tsig go together");
	if (o->ns_server == NULL && (o->ns_zone != NULL || o->ns_ttl != NULL))
		return cli_usage_error("rotate", usage, "--zone and --ttl need --nsupdate");
	if (o->status && o->ns_ttl != NULL)
		return cli_usage_error("rotate", usage,
				       "--status publishes revoked records; no --ttl");
	return -1;
}

/* signetd.conf when it exists (or was asked for): the current key and
 * rotation { }. NULL cfg without an error when the default file is absent. */
static bool load_config(const struct rotate_opts *o, struct signetd_config **cfg)
{
	*cfg = NULL;
	if (!o->config_given && access(o->config, F_OK) != 0)
		return true;
	struct diags d;
	diags_init(&d);
	bool ok = config_load(o->config, cfg, &d) == SIGNET_OK;
	diags_print(&d, stderr, "signet: ");
	diags_free(&d);
	if (!ok)
		cli_err("%s: configuration not usable (see above)", o->config);
	return ok;
}

static const char *state_path(const struct rotate_opts *o, const struct signetd_config *cfg)
{
	if (o->state != NULL)
		return o->state;
	return cfg != NULL && cfg->rotation_state != NULL ? cfg->rotation_state
							  : ROTATION_DEFAULT_STATE;
}

static bool load_state(const char *path, struct rotation *r)
{
	struct diags d;
	diags_init(&d);
	bool ok = rotation_load(path, r, &d);
	diags_print(&d, stderr, "signet: ");
	diags_free(&d);
	return ok;
}

static bool save_state(const char *path, const struct rotation *r)
{
	struct diags d;
	diags_init(&d);
	bool ok = rotation_save(path, r, &d);
	diags_print(&d, stderr, "signet: ");
	diags_free(&d);
	return ok;
}

static void utc(uint64_t t, char *out, size_t cap)
{
	time_t tt = (time_t)t;
	struct tm tm;
	gmtime_r(&tt, &tm);
	strftime(out, cap, "%Y-%m-%d %H:%M UTC", &tm);
}

/* The key at path, without private_key.c's mode warnings: a rotated key
 * is 0640 for signetd's group on purpose. NULL when it cannot be read. */
static struct signet_key *load_key(const char *path)
{
	struct fileread_file f;
	struct signet_key *key = NULL;
	struct signet_error err = {0};
	if (fileread(path, FILEREAD_CAP(CLI_MAX_KEYFILE), &f, NULL) != FILEREAD_OK)
		return NULL;
	if (signet_key_parse(f.data, f.len, &key, &err) != SIGNET_OK)
		key = NULL;
	fileread_free(&f);
	return key;
}

static bool record_value(const char *path, char *out, size_t cap)
{
	struct signet_key *key = load_key(path);
	size_t len = 0;
	struct signet_error err = {0};
	bool ok = key != NULL && signet_key_dns_record(key, out, cap, &len, &err) == SIGNET_OK;
	signet_key_free(key);
	return ok;
}

/* ---- signet rotate -d DOMAIN ---------------------------------------------- */

static const struct config_domain *config_domain(const struct signetd_config *cfg,
						 const char *domain)
{
	for (size_t k = 0; cfg != NULL && k < cfg->signing.ndomains; k++)
		if (strcasecmp(cfg->signing.domains[k].name, domain) == 0)
			return &cfg->signing.domains[k];
	return NULL;
}

/* The key that signs today becomes the rotation's active entry. */
static bool adopt_current(struct rotation *r, const struct config_domain *cd, uint64_t now,
			  const char **type)
{
	struct diags d;
	diags_init(&d);
	bool ok = true;
	if (cd != NULL && cd->nkeys > 1) {
		cli_err("%s signs with %zu keys in the config; signet rotate handles one key per "
			"domain: remove the others first, or rotate by hand",
			cd->name, cd->nkeys);
		ok = false;
	} else if (cd != NULL && cd->nkeys == 1) {
		ok = rotation_adopt_active(r, cd->name, cd->keys[0].selector, cd->keys[0].path, now,
					   &d);
		struct signet_key *key = *type == NULL ? load_key(cd->keys[0].path) : NULL;
		if (key != NULL && signet_key_type(key) == SIGNET_KEY_ED25519)
			*type = "ed25519";
		signet_key_free(key);
	}
	diags_print(&d, stderr, "signet: ");
	diags_free(&d);
	return ok;
}

static bool selector_taken(const struct rotation *r, const struct config_domain *cd,
			   const char *domain, const char *sel)
{
	for (size_t k = 0; k < r->n; k++)
		if (strcasecmp(r->v[k].domain, domain) == 0 &&
		    strcasecmp(r->v[k].selector, sel) == 0)
			return true;
	for (size_t k = 0; cd != NULL && k < cd->nkeys; k++)
		if (strcasecmp(cd->keys[k].selector, sel) == 0)
			return true;
	return false;
}

struct taken_arg {
	const struct rotation *r;
	const struct config_domain *cd;
	const char *domain;
};

static bool taken(const char *sel, void *arg)
{
	const struct taken_arg *a = arg;
	return selector_taken(a->r, a->cd, a->domain, sel);
}

/* "ed20261207", then "ed20261207b", ... for a second rotation that day. */
static bool new_selector(const struct rotate_opts *o, const struct rotation *r,
			 const struct config_domain *cd, const char *type, char *out, size_t cap)
{
	struct taken_arg a = {r, cd, o->domain};
	if (o->selector != NULL) {
		snprintf(out, cap, "%s", o->selector);
		if (!taken(out, &a))
			return true;
		cli_err("%s already has a selector %s", o->domain, out);
		return false;
	}
	if (rotation_dated_selector(type, o->now, taken, &a, out, cap))
		return true;
	cli_err("%s: 26 selectors for today already; give --selector", o->domain);
	return false;
}

/* signet keygen: refuses to overwrite, writes 0600, prints the zone line. */
static bool make_key(const struct rotate_opts *o, const char *type, const char *sel,
		     const char *path, char *zone, size_t cap)
{
	char self[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
	self[n > 0 ? n : 0] = '\0';
	char *argv[16] = {n > 0 ? self : (char *)"signet",
			  (char *)"keygen",
			  (char *)"-d",
			  (char *)o->domain,
			  (char *)"-s",
			  (char *)sel,
			  (char *)"-t",
			  (char *)type,
			  (char *)"-k",
			  (char *)path,
			  (char *)"--format",
			  (char *)"zone",
			  NULL};
	if (o->bits != NULL) {
		argv[12] = (char *)"-b";
		argv[13] = (char *)o->bits;
	}
	struct run_result r;
	bool ok = run_capture(argv, RUN_TIMEOUT_S, &r) && r.status == 0;
	if (!ok)
		fprintf(stderr, "%s", r.err);
	else
		snprintf(zone, cap, "%s", r.out); /* the zone line, as keygen folds it */
	run_result_free(&r);
	return ok;
}

/* Readable by the group of the keys directory (root:_signet 0750 from the
 * package): signetd re-reads its keys as that user on reload. A directory
 * of root's group leaves the key 0600. */
static bool share_with_group(const struct rotate_opts *o, const char *path)
{
	struct stat dir;
	if (stat(o->keys_dir, &dir) != 0 || dir.st_gid == 0)
		return true; /* root's group: the key stays 0600 */
	if (chown(path, (uid_t)-1, dir.st_gid) != 0 || chmod(path, 0640) != 0) {
		cli_err("%s: cannot give it the group of %s: %s", path, o->keys_dir,
			strerror(errno));
		return false;
	}
	return true;
}

static void print_plan(const struct rotate_opts *o, const struct rotation *r, const char *sel,
		       const char *path, const char *zone, const char *value)
{
	const struct rotation_entry *cur = rotation_active(r, o->domain);
	printf("%s: new selector %s (key %s)\n", o->domain, sel, path);
	printf("publish this record (zone file):\n%s", zone);
	printf("or in a DNS host's web form:\n  name:  %s._domainkey  (in the zone %s)\n"
	       "  value: %s\n",
	       sel, o->domain, value);
	if (cur != NULL)
		printf("signetd keeps signing with %s until the record is visible in DNS and has "
		       "matched the key for its TTL, then switches to %s.\n",
		       cur->selector, sel);
	else
		printf("signetd starts signing %s with %s once the record is visible in DNS and "
		       "has matched the key for its TTL.\n",
		       o->domain, sel);
	printf("It checks every dns.health_interval (`systemctl reload signetd` checks now).\n"
	       "Check it yourself: signet dnscheck -d %s -s %s -k %s\n",
	       o->domain, sel, path);
}

/* --nsupdate: the new record. A failure leaves the rotation pending: the
 * record printed above can still be published by hand. */
static int publish_new(const struct rotate_opts *o, const char *sel, const char *value)
{
	if (o->ns == NULL)
		return CLI_EXIT_OK;
	(void)fflush(stdout); /* the plan first, then any error of the update */
	if (!nsupdate_dkim_record(o->ns, o->domain, sel, value))
		return ROTATE_EXIT_UNPUBLISHED;
	printf("published by dynamic update to %s; signetd sees it at its next check\n",
	       nsupdate_server(o->ns));
	return CLI_EXIT_OK;
}

static int rotate(const struct rotate_opts *o, const struct signetd_config *cfg)
{
	const char *spath = state_path(o, cfg), *type = o->type;
	struct rotation r;
	if (!load_state(spath, &r))
		return CLI_EXIT_FAIL;
	const struct config_domain *cd = config_domain(cfg, o->domain);
	char sel[64], path[PATH_MAX], zone[ROTATE_RECORD_MAX + 128], value[ROTATE_RECORD_MAX];
	int rc = CLI_EXIT_FAIL;
	if (!adopt_current(&r, cd, o->now, &type))
		goto out;
	if (type == NULL)
		type = "rsa";
	if (!new_selector(o, &r, cd, type, sel, sizeof sel))
		goto out;
	if ((size_t)snprintf(path, sizeof path, "%s/%s.%s.key", o->keys_dir, o->domain, sel) >=
	    sizeof path) {
		cli_err("key path too long");
		goto out;
	}
	struct diags d;
	diags_init(&d);
	bool added = rotation_add_pending(&r, o->domain, sel, path, o->now, &d);
	diags_print(&d, stderr, "signet: ");
	diags_free(&d);
	if (!added)
		goto out;
	if (!make_key(o, type, sel, path, zone, sizeof zone))
		goto out;
	if (!record_value(path, value, sizeof value) || !share_with_group(o, path)) {
		unlink(path);
		goto out;
	}
	if (!save_state(spath, &r)) {
		unlink(path); /* no rotation recorded: the key would be an orphan */
		goto out;
	}
	print_plan(o, &r, sel, path, zone, value);
	rc = publish_new(o, sel, value);
	if (!cli_flush_stdout())
		rc = CLI_EXIT_FAIL;
out:
	rotation_free(&r);
	return rc;
}

/* ---- signet rotate --status ----------------------------------------------- */

/* The record of e's key: from its file, or (fleet mode) from Redis. */
static bool entry_record(const struct rotation_entry *e, struct rotate_fleet *fleet, char *out,
			 size_t cap)
{
	if (rotation_key_hash(e) != NULL)
		return fleet != NULL && rotate_fleet_record(fleet, e, out, cap);
	return record_value(e->path, out, cap);
}

static void status_line(const struct rotation_entry *e, uint64_t retire_after, uint64_t now,
			struct rotate_fleet *fleet)
{
	const char *hash = rotation_key_hash(e); /* fleet mode: the key is in Redis */
	char since[32], at[32];
	utc(e->since, since, sizeof since);
	printf("%s %s: %s since %s\n", e->domain, e->selector, rotation_state_name(e->state),
	       since);
	char value[ROTATE_RECORD_MAX];
	switch (e->state) {
	case ROT_PENDING:
		if (entry_record(e, fleet, value, sizeof value))
			printf("  publish %s._domainkey.%s. IN TXT \"%s\"\n", e->selector,
			       e->domain, value);
		else
			printf("  publish the record of %s (its key cannot be read here)\n",
			       e->path);
		break;
	case ROT_WRONG:
		printf("  the published record is wrong: %s\n  check: signet dnscheck -d %s -s %s%s"
		       "%s\n",
		       e->note, e->domain, e->selector, hash ? "" : " -k ", hash ? "" : e->path);
		break;
	case ROT_PUBLISHED:
		utc(e->wait_until, at, sizeof at);
		printf("  the record matches; signetd switches to it at %s (after its TTL)\n", at);
		break;
	case ROT_ACTIVE:
		printf("  signs (key %s%s)\n", hash ? "in Redis hash " : "", hash ? hash : e->path);
		break;
	case ROT_RETIRING:
		utc(e->since + retire_after, at, sizeof at);
		printf("  keep its record published until %s (mail in flight still verifies)%s\n",
		       at, now >= e->since + retire_after ? "; due now" : "");
		break;
	case ROT_RETIRED:
		printf("  replace its record with a revoked one: %s._domainkey.%s. IN TXT "
		       "\"v=DKIM1; p=\"; %s %s\n",
		       e->selector, e->domain,
		       hash ? "signetd deleted its key from Redis hash" : "then delete",
		       hash ? hash : e->path);
		break;
	}
}

/* --status --nsupdate, for a retired selector. RFC 6376 3.6.1: "An empty
 * value means that this public key has been revoked." Nothing is recorded:
 * replacing the RRset again on the next run changes nothing. */
static bool publish_revoked(const struct rotate_opts *o, const struct rotation_entry *e)
{
	if (o->ns == NULL || e->state != ROT_RETIRED)
		return true;
	(void)fflush(stdout);
	if (!nsupdate_dkim_record(o->ns, e->domain, e->selector, "v=DKIM1; p="))
		return false;
	printf("  published the revoked record by dynamic update to %s\n", nsupdate_server(o->ns));
	return true;
}

static int status(const struct rotate_opts *o, const struct signetd_config *cfg,
		  struct rotate_fleet *fleet)
{
	const char *spath = fleet ? rotate_fleet_where(fleet) : state_path(o, cfg);
	struct rotation r;
	if (fleet ? !rotate_fleet_load(fleet, &r) : !load_state(spath, &r))
		return CLI_EXIT_FAIL;
	uint64_t retire_after =
		cfg != NULL ? (uint64_t)cfg->rotation_retire_after : ROTATION_DEFAULT_RETIRE_AFTER;
	if (r.n == 0)
		printf("no key rotation recorded in %s\n", spath);
	/* retiring entries past retire_after are shown as retired, as signetd
	 * will record them at its next check */
	rotation_tick(&r, o->now, retire_after, NULL, NULL);
	int rc = CLI_EXIT_OK;
	for (size_t k = 0; k < r.n; k++) {
		status_line(&r.v[k], retire_after, o->now, fleet);
		if (!publish_revoked(o, &r.v[k]))
			rc = ROTATE_EXIT_UNPUBLISHED;
	}
	rotation_free(&r);
	return cli_flush_stdout() ? rc : CLI_EXIT_FAIL;
}

/* Single host (the state file) or fleet mode (rotate_fleet.h). */
static int run_mode(const struct rotate_opts *o, const struct signetd_config *cfg)
{
	bool names = o->fleet.key_prefix != NULL || o->fleet.selector_prefix != NULL;
	if (!rotate_fleet_wanted(cfg, o->fleet.url) && names)
		return cli_usage_error("rotate", usage,
				       "--key-prefix and --selector-prefix are for fleet mode "
				       "(--redis URL, or dkim_signing.use_redis in the config)");
	if (!rotate_fleet_wanted(cfg, o->fleet.url))
		return o->status ? status(o, cfg, NULL) : rotate(o, cfg);
	if (o->state != NULL)
		return cli_usage_error("rotate", usage,
				       "--state is the single-host state file; in fleet mode the "
				       "state is in Redis (rotation.redis_key)");
	struct rotate_fleet *fleet = rotate_fleet_open(cfg, &o->fleet, !o->status);
	if (fleet == NULL)
		return CLI_EXIT_FAIL;
	struct rotate_fleet_req q = {
		o->domain, o->type, o->bits, o->selector, cfg != NULL ? o->config : NULL, o->now};
	struct rotate_fleet_made made;
	int rc = o->status ? status(o, cfg, fleet) : rotate_fleet_rotate(fleet, &q, &made);
	if (!o->status && rc == CLI_EXIT_OK)
		rc = publish_new(o, made.selector, made.value);
	if (!o->status && !cli_flush_stdout())
		rc = CLI_EXIT_FAIL;
	rotate_fleet_free(fleet);
	return rc;
}

int cmd_rotate(int argc, char **argv)
{
	struct rotate_opts o = {.keys_dir = ROTATE_DEFAULT_KEYS_DIR, .config = CONFIG_DEFAULT_FILE};
	int rc = parse_opts(argc, argv, &o);
	if (rc >= 0)
		return rc;
	if (o.now == 0)
		o.now = (uint64_t)time(NULL);
	if (o.ns_server != NULL &&
	    (o.ns = nsupdate_new(o.ns_server, o.ns_tsig, o.ns_zone, o.ns_ttl)) == NULL)
		return CLI_EXIT_FAIL;
	struct signetd_config *cfg = NULL;
	rc = CLI_EXIT_FAIL;
	if (load_config(&o, &cfg))
		rc = run_mode(&o, cfg);
	config_free(cfg);
	nsupdate_free(o.ns);
	return rc;
}
