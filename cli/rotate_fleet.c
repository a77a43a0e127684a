/* rotate_fleet.c: signet rotate with the state and keys in Redis
 * (rotate_fleet.h). The steps of cmd_rotate.c's rotate(), with Redis in
 * place of the state file and the keys directory; conf/rotation.h still
 * decides every rule, conf/rotation_redis.h makes the change atomic. */
#include "rotate_fleet.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <signet/key.h>

#include "cli.h"
#include "redis_client.h"
#include "rotation_redis.h"
#include "run.h"

struct rotate_fleet {
	struct redis_client *c;
	char key_prefix[REDIS_CLIENT_KEY_NAME_MAX + 1];
	char selector_prefix[REDIS_CLIENT_KEY_NAME_MAX + 1]; /* "" when none */
	char state_key[REDIS_CLIENT_KEY_NAME_MAX + 1];
	char path[REDIS_CLIENT_KEY_NAME_MAX + 8]; /* "redis:KEY_PREFIX" */
	char where[REDIS_CLIENT_NAME_MAX + REDIS_CLIENT_KEY_NAME_MAX + 16];
	/* the credentials c was opened with: keygen (make_key) gets them too */
	char username[REDIS_CLIENT_CRED_MAX], password[REDIS_CLIENT_CRED_MAX];
	int db;
};

bool rotate_fleet_wanted(const struct signetd_config *cfg, const char *url)
{
	return url != NULL || (cfg != NULL && cfg->signing.use_redis);
}

static bool names(struct rotate_fleet *f, const struct signetd_config *cfg,
		  const struct rotate_fleet_names *n)
{
	const char *kp = n->key_prefix, *sp = n->selector_prefix;
	if (kp == NULL)
		kp = cfg != NULL && cfg->signing.key_prefix ? cfg->signing.key_prefix
							    : CONFIG_DEFAULT_KEY_PREFIX;
	if (sp == NULL && cfg != NULL)
		sp = cfg->signing.selector_prefix;
	const char *sk = cfg != NULL && cfg->rotation_redis_key ? cfg->rotation_redis_key
								: ROTATION_DEFAULT_REDIS_KEY;
	const char *check[] = {kp, sp, sk};
	for (size_t k = 0; k < 3; k++)
		if (check[k] != NULL && !redis_client_key_name_ok(check[k])) {
			cli_err("'%s' is not a Redis hash name: 1..%d printable characters, no "
				"spaces",
				check[k], REDIS_CLIENT_KEY_NAME_MAX);
			return false;
		}
	snprintf(f->key_prefix, sizeof f->key_prefix, "%s", kp);
	snprintf(f->selector_prefix, sizeof f->selector_prefix, "%s", sp ? sp : "");
	snprintf(f->state_key, sizeof f->state_key, "%s", sk);
	snprintf(f->path, sizeof f->path, ROTATION_REDIS_PATH "%s", kp);
	return true;
}

static struct redis_client *connect_to(struct rotate_fleet *f, const struct signetd_config *cfg,
				       const char *url)
{
	char why[REDIS_CLIENT_ERROR_MAX];
	struct redis_url u;
	struct redis_auth auth = {NULL, NULL, 0};
	const char *one[] = {u.server};
	const char *const *list = one;
	size_t n = 1;
	double timeout = CONFIG_DEFAULT_REDIS_TIMEOUT;
	if (cfg != NULL) {
		const struct config_redis *r = config_signing_redis(cfg);
		timeout = r->timeout;
		list = (const char *const *)r->servers;
		n = r->n_servers;
		auth = redis_client_auth_of(r);
	}
	if (url != NULL) {
		if (!redis_client_parse_url(url, &u)) {
			cli_err("--redis is not " REDIS_CLIENT_URL_FORMS);
			return NULL;
		}
		list = one, n = 1;
		auth = redis_client_url_auth(&u); /* the URL's server, the URL's password */
	}
	if (n == 0) {
		cli_err("fleet rotation: no Redis server: give --redis URL, or set redis { servers "
			"} in signetd.conf");
		return NULL;
	}
	struct redis_client *c = redis_client_connect(list, n, timeout, &auth, why, sizeof why);
	snprintf(f->username, sizeof f->username, "%s", auth.username ? auth.username : "");
	snprintf(f->password, sizeof f->password, "%s", auth.password ? auth.password : "");
	f->db = auth.db;
	if (url != NULL)
		explicit_bzero(&u, sizeof u);
	if (c == NULL)
		cli_err("%s", why);
	return c;
}

struct rotate_fleet *rotate_fleet_open(const struct signetd_config *cfg,
				       const struct rotate_fleet_names *n, bool need_selectors)
{
	struct rotate_fleet *f = calloc(1, sizeof *f);
	if (f == NULL) {
		cli_err("out of memory");
		return NULL;
	}
	if (!names(f, cfg, n)) {
		free(f);
		return NULL;
	}
	if (need_selectors && f->selector_prefix[0] == '\0') {
		cli_err("fleet rotation needs a selector hash: every signetd learns the selector "
			"to "
			"sign with from it, and the switch changes it there. Set dkim_signing { "
			"selector_prefix = \"DKIM_SELECTORS\"; } in signetd.conf (or give "
			"--selector-prefix HASH)");
		free(f);
		return NULL;
	}
	f->c = connect_to(f, cfg, n->url);
	if (f->c == NULL) {
		free(f);
		return NULL;
	}
	snprintf(f->where, sizeof f->where, "Redis %s key %s", redis_client_server(f->c),
		 f->state_key);
	return f;
}

void rotate_fleet_free(struct rotate_fleet *f)
{
	if (f == NULL)
		return;
	redis_client_free(f->c);
	explicit_bzero(f->password, sizeof f->password);
	free(f);
}

const char *rotate_fleet_where(const struct rotate_fleet *f)
{
	return f->where;
}

bool rotate_fleet_load(struct rotate_fleet *f, struct rotation *r)
{
	struct diags d;
	diags_init(&d);
	bool ok = rotation_redis_load(f->c, f->state_key, r, &d);
	diags_print(&d, stderr, "signet: ");
	diags_free(&d);
	return ok;
}

/* The key of selector for domain in hash, parsed; NULL (quietly) if absent. */
static struct signet_key *fetch_key(struct rotate_fleet *f, const char *hash, const char *domain,
				    const char *selector)
{
	char field[ROTATION_REDIS_FIELD_MAX], *pem = NULL;
	size_t len = 0;
	struct signet_key *key = NULL;
	struct signet_error err = {0};
	snprintf(field, sizeof field, "%s.%s", selector, domain);
	if (redis_client_hget(f->c, hash, field, CLI_MAX_KEYFILE, "CLI_MAX_KEYFILE", &pem, &len) !=
	    REDIS_R_OK)
		return NULL;
	if (signet_key_parse((const uint8_t *)pem, len, &key, &err) != SIGNET_OK)
		key = NULL;
	explicit_bzero(pem, len);
	free(pem);
	return key;
}

bool rotate_fleet_record(struct rotate_fleet *f, const struct rotation_entry *e, char *out,
			 size_t cap)
{
	const char *hash = rotation_key_hash(e);
	struct signet_key *key = hash ? fetch_key(f, hash, e->domain, e->selector) : NULL;
	size_t len = 0;
	struct signet_error err = {0};
	bool ok = key != NULL && signet_key_dns_record(key, out, cap, &len, &err) == SIGNET_OK;
	signet_key_free(key);
	return ok;
}

/* ---- signet rotate -d DOMAIN in fleet mode -------------------------------- */

/* HGET selector_prefix DOMAIN: the selector the fleet signs with ("" none). */
static bool current_selector(struct rotate_fleet *f, const char *domain, char *out, size_t cap)
{
	char *sel = NULL;
	size_t len = 0;
	out[0] = '\0';
	enum redis_result r = redis_client_hget(f->c, f->selector_prefix, domain, 63,
						"a selector's 63", &sel, &len);
	if (r == REDIS_R_MISSING)
		return true;
	if (r != REDIS_R_OK) {
		cli_err("%s", redis_client_error(f->c));
		return false;
	}
	bool ok = cli_valid_dns_name("selector", sel);
	if (ok)
		snprintf(out, cap, "%s", sel);
	else
		cli_err("Redis %s: %s %s does not hold a selector", redis_client_server(f->c),
			f->selector_prefix, domain);
	free(sel);
	return ok;
}

struct taken_arg {
	struct rotate_fleet *f;
	const struct rotation *r;
	const char *domain, *current;
};

/* In the state, the fleet's selector, or a key already in the hash. */
static bool taken(const char *sel, void *arg)
{
	const struct taken_arg *a = arg;
	char field[ROTATION_REDIS_FIELD_MAX];
	for (size_t k = 0; k < a->r->n; k++)
		if (strcasecmp(a->r->v[k].domain, a->domain) == 0 &&
		    strcasecmp(a->r->v[k].selector, sel) == 0)
			return true;
	if (strcasecmp(sel, a->current) == 0)
		return true;
	snprintf(field, sizeof field, "%s.%s", sel, a->domain);
	return redis_client_hexists(a->f->c, a->f->key_prefix, field) != REDIS_R_MISSING;
}

static bool pick_selector(struct taken_arg *a, const struct rotate_fleet_req *q, const char *type,
			  char *out, size_t cap)
{
	if (q->selector != NULL) {
		snprintf(out, cap, "%s", q->selector);
		if (!taken(out, a))
			return true;
		cli_err("%s already has a selector %s (in the rotation, or a key in Redis hash %s)",
			q->domain, out, a->f->key_prefix);
		return false;
	}
	if (rotation_dated_selector(type, q->now, taken, a, out, cap))
		return true;
	cli_err("%s: 26 selectors for today already; give --selector", q->domain);
	return false;
}

struct change {
	const char *domain, *selector, *current, *path;
	uint64_t now;
};

/* The pending entry (and the fleet's current selector as the active one
 * when the domain has no entry yet), applied to the state as stored now. */
static enum rotation_redis_change add_pending(struct rotation *r, struct rotation_redis_tx *tx,
					      void *arg, struct diags *d)
{
	const struct change *ch = arg;
	(void)tx;
	if (ch->current[0] != '\0' &&
	    !rotation_adopt_active(r, ch->domain, ch->current, ch->path, ch->now, d))
		return ROT_REDIS_ABORT;
	if (!rotation_add_pending(r, ch->domain, ch->selector, ch->path, ch->now, d))
		return ROT_REDIS_ABORT;
	return ROT_REDIS_WRITE;
}

/* The same rules on the state read now, before a key is made for nothing. */
static bool dry_run(struct rotation *r, const struct change *ch)
{
	struct diags d;
	diags_init(&d);
	bool ok = add_pending(r, NULL, (void *)ch, &d) == ROT_REDIS_WRITE;
	diags_print(&d, stderr, "signet: ");
	diags_free(&d);
	return ok;
}

/* s percent-encoded (RFC 3986 2.1: all but unreserved characters). */
static void percent_encode(const char *s, char *out, size_t cap)
{
	size_t o = 0;
	for (; *s && o + 4 < cap; s++) {
		unsigned char c = (unsigned char)*s;
		if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		    c == '-' || c == '.' || c == '_' || c == '~')
			out[o++] = (char)c;
		else
			o += (size_t)snprintf(out + o, cap - o, "%%%02X", c);
	}
	out[o] = '\0';
}

/* The URL keygen is given: the server, user and db in use; the password
 * goes in REDIS_CLIENT_PASSWORD_ENV ("USER:@": from there), never on a
 * command line (ps shows it). */
static void keygen_url(const struct rotate_fleet *f, char *url, size_t cap)
{
	char user[3 * REDIS_CLIENT_CRED_MAX];
	percent_encode(f->username, user, sizeof user);
	snprintf(url, cap, "redis://%s%s%s/%d", user, f->password[0] ? ":@" : "",
		 redis_client_server(f->c), f->db);
}

/* signet keygen --redis: refuses an existing field, prints the zone line. */
static bool make_key(struct rotate_fleet *f, const struct rotate_fleet_req *q, const char *type,
		     const char *sel, char *zone, size_t cap)
{
	char self[PATH_MAX], url[3 * REDIS_CLIENT_CRED_MAX + REDIS_CLIENT_NAME_MAX + 32];
	ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
	self[n > 0 ? n : 0] = '\0';
	keygen_url(f, url, sizeof url);
	if (f->password[0] != '\0' && setenv(REDIS_CLIENT_PASSWORD_ENV, f->password, 1) != 0) {
		fprintf(stderr, "signet: cannot pass the Redis password to keygen\n");
		return false;
	}
	char *argv[24] = {n > 0 ? self : (char *)"signet",
			  (char *)"keygen",
			  (char *)"-d",
			  (char *)q->domain,
			  (char *)"-s",
			  (char *)sel,
			  (char *)"-t",
			  (char *)type,
			  (char *)"--redis",
			  url,
			  (char *)"--key-prefix",
			  f->key_prefix,
			  (char *)"--format",
			  (char *)"zone",
			  NULL};
	size_t k = 14;
	if (q->bits != NULL)
		argv[k++] = (char *)"-b", argv[k++] = (char *)q->bits;
	if (q->config != NULL)
		argv[k++] = (char *)"-c", argv[k++] = (char *)q->config;
	argv[k] = NULL;
	struct run_result r;
	bool ok = run_capture(argv, RUN_TIMEOUT_S, &r) && r.status == 0;
	if (!ok)
		fprintf(stderr, "%s", r.err);
	else
		snprintf(zone, cap, "%s", r.out);
	run_result_free(&r);
	return ok;
}

static void print_plan(const struct rotate_fleet *f, const struct rotate_fleet_req *q,
		       const char *cur, const char *sel, const char *zone, const char *value)
{
	printf("%s: new selector %s (key in Redis %s, hash %s, field %s.%s)\n", q->domain, sel,
	       redis_client_server(f->c), f->key_prefix, sel, q->domain);
	printf("publish this record (zone file):\n%s", zone);
	printf("or in a DNS host's web form:\n  name:  %s._domainkey  (in the zone %s)\n"
	       "  value: %s\n",
	       sel, q->domain, value);
	if (cur[0] != '\0')
		printf("the fleet keeps signing with %s until the record is visible in DNS and has "
		       "matched the key for its TTL; then the first signetd to see it sets %s %s = "
		       "%s, and every signetd signs with %s after its next check.\n",
		       cur, f->selector_prefix, q->domain, sel, sel);
	else
		printf("the fleet starts signing %s with %s once the record is visible in DNS and "
		       "has matched the key for its TTL (the first signetd to see it sets %s "
		       "%s).\n",
		       q->domain, sel, f->selector_prefix, q->domain);
	printf("signetd checks every dns.health_interval (`systemctl reload signetd` checks now);\n"
	       "the state: signet rotate --status (%s).\n"
	       "Check the record yourself: signet dnscheck -d %s -s %s\n",
	       f->where, q->domain, sel);
}

static bool record_for(struct rotate_fleet *f, const char *domain, const char *sel, char *out,
		       size_t cap)
{
	struct rotation_entry e;
	memset(&e, 0, sizeof e);
	snprintf(e.domain, sizeof e.domain, "%s", domain);
	snprintf(e.selector, sizeof e.selector, "%s", sel);
	snprintf(e.path, sizeof e.path, "%s", f->path);
	if (rotate_fleet_record(f, &e, out, cap))
		return true;
	cli_err("Redis %s: the key just stored for %s.%s cannot be read back",
		redis_client_server(f->c), sel, domain);
	return false;
}

/* The state: the new selector pending; the key is removed again if not. */
static bool record_pending(struct rotate_fleet *f, const struct change *ch)
{
	struct diags d;
	diags_init(&d);
	bool ok = rotation_redis_update(f->c, f->state_key, add_pending, (void *)ch, NULL, &d);
	diags_print(&d, stderr, "signet: ");
	diags_free(&d);
	return ok;
}

static const char *key_type(struct rotate_fleet *f, const struct rotate_fleet_req *q,
			    const char *cur)
{
	if (q->type != NULL)
		return q->type;
	struct signet_key *key = cur[0] ? fetch_key(f, f->key_prefix, q->domain, cur) : NULL;
	const char *t =
		key != NULL && signet_key_type(key) == SIGNET_KEY_ED25519 ? "ed25519" : "rsa";
	signet_key_free(key);
	return t;
}

int rotate_fleet_rotate(struct rotate_fleet *f, const struct rotate_fleet_req *q,
			struct rotate_fleet_made *made)
{
	char cur[64], sel[64], zone[ROTATE_FLEET_RECORD_MAX + 128], value[ROTATE_FLEET_RECORD_MAX];
	char field[ROTATION_REDIS_FIELD_MAX];
	struct rotation r;
	if (!current_selector(f, q->domain, cur, sizeof cur) || !rotate_fleet_load(f, &r))
		return CLI_EXIT_FAIL;
	const char *type = key_type(f, q, cur);
	struct taken_arg a = {f, &r, q->domain, cur};
	struct change ch = {q->domain, sel, cur, f->path, q->now};
	bool ok = pick_selector(&a, q, type, sel, sizeof sel) && dry_run(&r, &ch);
	rotation_free(&r);
	if (!ok || !make_key(f, q, type, sel, zone, sizeof zone))
		return CLI_EXIT_FAIL;
	snprintf(field, sizeof field, "%s.%s", sel, q->domain);
	if (!record_for(f, q->domain, sel, value, sizeof value) || !record_pending(f, &ch)) {
		/* no rotation recorded: the key would be an orphan */
		(void)redis_client_hdel(f->c, f->key_prefix, field);
		return CLI_EXIT_FAIL;
	}
	print_plan(f, q, cur, sel, zone, value);
	snprintf(made->selector, sizeof made->selector, "%s", sel);
	snprintf(made->value, sizeof made->value, "%s", value);
	return CLI_EXIT_OK;
}
