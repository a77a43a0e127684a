/* test_policy.c: the signing decision (conf/policy.c), table-driven over
 * rspamd's dkim_signing rules (eligibility, From checks, envelope and
 * auth-user mismatches, use_domain, eSLD, fallback, selectors) with the
 * exact reason text of each outcome, and the RFC 5322 From address parser. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/stat.h>
#include <cmocka.h>
#include <libpsl.h>

#include <signet/psl.h>

#include "policy.h"

static char g_dir[64];

static void put_key(const char *rel, enum signet_keytype t)
{
	struct signet_key *k = NULL;
	struct signet_error err = {0};
	char pem[4096], path[256];
	size_t len;
	assert_int_equal(signet_key_generate(t, 1024, &k, &err), SIGNET_OK);
	assert_int_equal(signet_key_write_pem(k, pem, sizeof pem, &len, &err), SIGNET_OK);
	signet_key_free(k);
	snprintf(path, sizeof path, "%s/%s", g_dir, rel);
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fputs(pem, f);
	fclose(f);
	assert_int_equal(chmod(path, 0600), 0);
}

static int group_setup(void **state)
{
	(void)state;
	char sub[128];
	strcpy(g_dir, "/tmp/signet-policy-XXXXXX");
	if (mkdtemp(g_dir) == NULL)
		return -1;
	snprintf(sub, sizeof sub, "%s/fb", g_dir);
	if (mkdir(sub, 0700) != 0)
		return -1;
	put_key("rsa.key", SIGNET_KEY_RSA);
	put_key("ed.key", SIGNET_KEY_ED25519);
	put_key("fb/fb.example.dkim.key", SIGNET_KEY_ED25519);
	return 0;
}

static int group_teardown(void **state)
{
	(void)state;
	char cmd[128];
	snprintf(cmd, sizeof cmd, "rm -rf %s", g_dir);
	return system(cmd) == 0 ? 0 : -1;
}

struct row {
	const char *name;
	const char *top;  /* top-level config lines ("" = defaults below) */
	const char *opts; /* dkim_signing options */
	bool non_smtp;
	const char *client;
	const char *auth;
	const char *env;
	const char *from[3];
	size_t nfrom;
	/* expected */
	const char *domain;    /* NULL: not signed */
	const char *selectors; /* "rsa2024,ed2024" */
	const char *reason;
};

/* %1$s = the key dir */
static const char cfg_fmt[] =
	"local_addrs = [\"127.0.0.0/8\", \"::1\"];\n"
	"%2$s\n"
	"dkim_signing {\n"
	"  %3$s\n"
	"  domain {\n"
	"    example.com { selectors = [ { selector = rsa2024; path = \"%1$s/rsa.key\"; },\n"
	"                                { selector = ed2024; path = \"%1$s/ed.key\"; } ] }\n"
	"    example.org { selector = s1; path = \"%1$s/ed.key\"; }\n"
	"    parent.example { selector = p; path = \"%1$s/ed.key\"; }\n"
	"  }\n"
	"}\n";

struct loaded {
	struct signetd_config *cfg;
	struct keystore *ks;
};

static struct loaded load_row(const struct row *r)
{
	char text[4096];
	snprintf(text, sizeof text, cfg_fmt, g_dir, r->top ? r->top : "", r->opts ? r->opts : "");
	struct diags d;
	diags_init(&d);
	struct loaded l = {NULL, NULL};
	if (config_parse("/etc/signet/signetd.conf", (const uint8_t *)text, strlen(text), &l.cfg,
			 &d) != SIGNET_OK ||
	    keystore_load(l.cfg, &l.ks, &d) != SIGNET_OK) {
		diags_print(&d, stderr, "  ");
		fail_msg("row '%s': config or keys did not load", r->name);
	}
	diags_free(&d);
	return l;
}

static void check_row(const struct row *r, const struct policy_decision *dec)
{
	char want[700];
	snprintf(want, sizeof want, r->reason, g_dir);
	if (strcmp(dec->reason, want) != 0 || dec->sign != (r->domain != NULL))
		fail_msg("row '%s':\n  got  [%s] %s\n  want [%s] %s", r->name,
			 dec->sign ? "sign" : "verify", dec->reason, r->domain ? "sign" : "verify",
			 want);
	if (r->domain == NULL) {
		assert_int_equal(dec->nsigs, 0);
		return;
	}
	assert_string_equal(dec->domain, r->domain);
	char sels[200] = "";
	for (size_t j = 0; j < dec->nsigs; j++) {
		snprintf(sels + strlen(sels), sizeof sels - strlen(sels), "%s%s", j ? "," : "",
			 dec->sigs[j].selector);
		assert_non_null(dec->sigs[j].key);
	}
	if (strcmp(sels, r->selectors) != 0)
		fail_msg("row '%s': selectors %s, want %s", r->name, sels, r->selectors);
}

static void run_rows(const struct row *rows, size_t n)
{
	for (size_t k = 0; k < n; k++) {
		const struct row *r = &rows[k];
		struct loaded l = load_row(r);
		struct policy_facts f = {.non_smtp = r->non_smtp,
					 .client_addr = r->client,
					 .auth_user = r->auth,
					 .env_from = r->env,
					 .from = r->from,
					 .n_from = r->nfrom};
		struct policy_decision dec;
		assert_int_equal(policy_decide(l.cfg, l.ks, &f, &dec), SIGNET_OK);
		check_row(r, &dec); /* selectors and keys are borrowed from ks */
		keystore_free(l.ks);
		config_free(l.cfg);
	}
}

#define ROWS(t) run_rows(t, sizeof(t) / sizeof((t)[0]))
#define FROM1(a) {a}, 1

static void policy_eligibility(void **state)
{
	(void)state;
	static const struct row rows[] = {
		{"authenticated", NULL, NULL, false, "192.0.2.7", "joe@example.com",
		 "joe@example.com", FROM1("Joe <joe@example.com>"), "example.com", "rsa2024,ed2024",
		 "sender authenticated as joe@example.com; d=example.com (from the From header), "
		 "selectors rsa2024, ed2024"},
		{"remote unauthenticated", NULL, NULL, false, "192.0.2.7", NULL, "joe@example.com",
		 FROM1("joe@example.com"), NULL, NULL,
		 "sender not authenticated and client 192.0.2.7 not in local_addrs"},
		{"empty auth is none", NULL, NULL, false, "192.0.2.7", "", "joe@example.com",
		 FROM1("joe@example.com"), NULL, NULL,
		 "sender not authenticated and client 192.0.2.7 not in local_addrs"},
		{"unknown client", NULL, NULL, false, NULL, NULL, "joe@example.com",
		 FROM1("joe@example.com"), NULL, NULL,
		 "sender not authenticated and client (unknown address) not in local_addrs"},
		{"local client", NULL, NULL, false, "127.0.0.1", NULL, "joe@example.com",
		 FROM1("joe@example.com"), "example.com", "rsa2024,ed2024",
		 "client in local_addrs: 127.0.0.1; d=example.com (from the From header), "
		 "selectors "
		 "rsa2024, ed2024"},
		{"local IPv6 in Postfix form", NULL, NULL, false, "IPv6:::1", NULL, NULL,
		 FROM1("joe@example.org"), "example.org", "s1",
		 "client in local_addrs: IPv6:::1; d=example.org (from the From header), selector "
		 "s1"},
		{"sign_local off", NULL, "sign_local = false;", false, "127.0.0.1", NULL, NULL,
		 FROM1("joe@example.com"), NULL, NULL,
		 "client 127.0.0.1 is in local_addrs but sign_local is off"},
		{"sign_authenticated off, remote", NULL, "sign_authenticated = false;", false,
		 "192.0.2.7", "joe@example.com", NULL, FROM1("joe@example.com"), NULL, NULL,
		 "sender authenticated as joe@example.com but sign_authenticated is off, and "
		 "client "
		 "192.0.2.7 is not in local_addrs"},
		{"sign_authenticated off, local", NULL, "sign_authenticated = false;", false,
		 "127.0.0.1", "joe@example.com", NULL, FROM1("joe@example.com"), "example.com",
		 "rsa2024,ed2024",
		 "client in local_addrs: 127.0.0.1; d=example.com (from the From header), "
		 "selectors "
		 "rsa2024, ed2024"},
		{"both off, local+auth", NULL, "sign_authenticated = false; sign_local = false;",
		 false, "127.0.0.1", "joe@example.com", NULL, FROM1("joe@example.com"), NULL, NULL,
		 "sender authenticated as joe@example.com but sign_authenticated is off, and "
		 "127.0.0.1 is local but sign_local is off"},
		{"sign_networks", NULL, "sign_networks = [\"198.51.100.0/24\"];", false,
		 "198.51.100.5", NULL, NULL, FROM1("joe@example.com"), "example.com",
		 "rsa2024,ed2024",
		 "client in sign_networks: 198.51.100.5; d=example.com (from the From header), "
		 "selectors rsa2024, ed2024"},
		{"disabled", NULL, "enabled = false;", false, "127.0.0.1", "joe@example.com", NULL,
		 FROM1("joe@example.com"), NULL, NULL,
		 "signing is off (dkim_signing.enabled = false)"},
	};
	ROWS(rows);
}

/* MILTER-PFX-01 "non_smtpd_milters covers sendmail(1)/pickup/local
 * submission ... signetd must treat this as local mail and sign" */
static void MILTER_PFX_01_non_smtp_is_signed(void **state)
{
	(void)state;
	static const struct row rows[] = {
		{"non-SMTP", NULL, NULL, true, "127.0.0.1", NULL, "root@example.com",
		 FROM1("root@example.com"), "example.com", "rsa2024,ed2024",
		 "local submission: non-SMTP; d=example.com (from the From header), selectors "
		 "rsa2024, ed2024"},
		{"non-SMTP, sign_local off", NULL, "sign_local = false;", true, "127.0.0.1", NULL,
		 NULL, FROM1("root@example.org"), NULL, NULL,
		 "the non-SMTP submission is local but sign_local is off"},
	};
	ROWS(rows);
	/* even with nothing in local_addrs and no client address: a config
	 * without the default local_addrs line */
	char text[4096];
	snprintf(text, sizeof text, cfg_fmt, g_dir, "", "");
	char *line_end = strchr(text, '\n');
	memmove(text, line_end + 1, strlen(line_end + 1) + 1);
	strcat(text, "local_addrs = [];\n");
	struct diags d;
	diags_init(&d);
	struct signetd_config *cfg = NULL;
	struct keystore *ks = NULL;
	assert_int_equal(config_parse("t", (const uint8_t *)text, strlen(text), &cfg, &d),
			 SIGNET_OK);
	assert_int_equal(keystore_load(cfg, &ks, &d), SIGNET_OK);
	const char *from[] = {"root@example.org"};
	struct policy_facts f = {.non_smtp = true, .from = from, .n_from = 1};
	struct policy_decision dec;
	assert_int_equal(policy_decide(cfg, ks, &f, &dec), SIGNET_OK);
	assert_true(dec.sign);
	assert_string_equal(dec.reason, "local submission: non-SMTP; d=example.org (from the From "
					"header), selector s1");
	f.non_smtp = false;
	f.client_addr = "127.0.0.1";
	assert_int_equal(policy_decide(cfg, ks, &f, &dec), SIGNET_OK);
	assert_false(dec.sign);
	keystore_free(ks);
	config_free(cfg);
	diags_free(&d);
}

/* DKIM-SIGN-07 "Refuse to sign when From is absent, repeated, or has no
 * parseable domain; log why" */
static void DKIM_SIGN_07_from_field_checks(void **state)
{
	(void)state;
	static const struct row rows[] = {
		{"no From",
		 NULL,
		 NULL,
		 false,
		 "127.0.0.1",
		 NULL,
		 NULL,
		 {NULL},
		 0,
		 NULL,
		 NULL,
		 "From header missing"},
		{"two From",
		 NULL,
		 NULL,
		 false,
		 "127.0.0.1",
		 NULL,
		 NULL,
		 {"a@example.com", "b@example.com"},
		 2,
		 NULL,
		 NULL,
		 "From header repeated (2 From fields)"},
		{"two addresses", NULL, NULL, false, "127.0.0.1", NULL, NULL,
		 FROM1("a@example.com, B <b@example.com>"), NULL, NULL,
		 "From header has 2 addresses"},
		{"no @", NULL, NULL, false, "127.0.0.1", NULL, NULL, FROM1(" undisclosed"), NULL,
		 NULL, "From header has no parseable address: no '@' in 'undisclosed'"},
		{"empty group", NULL, NULL, false, "127.0.0.1", NULL, NULL,
		 FROM1("Undisclosed recipients:;"), NULL, NULL, "From header has no address"},
		{"empty value", NULL, NULL, false, "127.0.0.1", NULL, NULL, FROM1(""), NULL, NULL,
		 "From header has no address"},
		{"address literal", NULL, NULL, false, "127.0.0.1", NULL, NULL,
		 FROM1("root@[192.0.2.1]"), NULL, NULL,
		 "From header has no parseable address: address literal [192.0.2.1] has no domain "
		 "name"},
		{"comments and quotes", NULL, NULL, false, "127.0.0.1", NULL, NULL,
		 FROM1("\"Joe (not a comment)\" (c1) <\"joe.q x\"@Example.COM> (c2 (nested))"),
		 "example.com", "rsa2024,ed2024",
		 "client in local_addrs: 127.0.0.1; d=example.com (from the From header), "
		 "selectors "
		 "rsa2024, ed2024"},
		{"group of one", NULL, NULL, false, "127.0.0.1", NULL, NULL,
		 FROM1("Team: Joe <joe@example.org>;"), "example.org", "s1",
		 "client in local_addrs: 127.0.0.1; d=example.org (from the From header), selector "
		 "s1"},
	};
	ROWS(rows);
}

static void policy_mismatch_rules(void **state)
{
	(void)state;
	static const struct row rows[] = {
		{"auth user other domain", NULL, NULL, false, "192.0.2.7", "joe@example.net",
		 "joe@example.com", FROM1("joe@example.com"), NULL, NULL,
		 "auth user joe@example.net's domain differs from From domain example.com and "
		 "allow_username_mismatch is off"},
		{"auth user other domain allowed", NULL, "allow_username_mismatch = true;", false,
		 "192.0.2.7", "joe@example.net", "joe@example.com", FROM1("joe@example.com"),
		 "example.com", "rsa2024,ed2024",
		 "sender authenticated as joe@example.net; d=example.com (from the From header), "
		 "selectors rsa2024, ed2024"},
		{"auth user without domain", NULL, NULL, false, "192.0.2.7", "joe", NULL,
		 FROM1("joe@example.com"), NULL, NULL,
		 "auth user joe has no domain and allow_username_mismatch is off"},
		{"auth user in a subdomain (eSLD)", NULL, NULL, false, "192.0.2.7",
		 "joe@mail.example.com", NULL, FROM1("joe@example.com"), "example.com",
		 "rsa2024,ed2024",
		 "sender authenticated as joe@mail.example.com; d=example.com (from the From "
		 "header), selectors rsa2024, ed2024"},
		{"auth user in a subdomain, no eSLD", NULL, "use_esld = false;", false, "192.0.2.7",
		 "joe@mail.example.com", NULL, FROM1("joe@example.com"), NULL, NULL,
		 "auth user joe@mail.example.com's domain differs from From domain example.com and "
		 "allow_username_mismatch is off"},
		{"envelope differs", NULL, NULL, false, "127.0.0.1", NULL, "bounce@example.net",
		 FROM1("joe@example.com"), NULL, NULL,
		 "envelope sender domain example.net differs from From domain example.com and "
		 "allow_hdrfrom_mismatch is off"},
		{"envelope differs, allowed", NULL, "allow_hdrfrom_mismatch = true;", false,
		 "127.0.0.1", NULL, "<bounce@example.net>", FROM1("joe@example.com"), "example.com",
		 "rsa2024,ed2024",
		 "client in local_addrs: 127.0.0.1; d=example.com (from the From header), "
		 "selectors "
		 "rsa2024, ed2024"},
		{"envelope differs, allowed for local", NULL,
		 "allow_hdrfrom_mismatch_local = true;", false, "127.0.0.1", NULL,
		 "bounce@example.net", FROM1("joe@example.com"), "example.com", "rsa2024,ed2024",
		 "client in local_addrs: 127.0.0.1; d=example.com (from the From header), "
		 "selectors "
		 "rsa2024, ed2024"},
		{"envelope differs, local-only allowance, remote", NULL,
		 "allow_hdrfrom_mismatch_local = true;", false, "192.0.2.7", "joe@example.com",
		 "bounce@example.net", FROM1("joe@example.com"), NULL, NULL,
		 "envelope sender domain example.net differs from From domain example.com and "
		 "allow_hdrfrom_mismatch is off"},
		{"envelope differs, sign_networks allowance", NULL,
		 "sign_networks = [\"198.51.100.0/24\"]; allow_hdrfrom_mismatch_sign_networks = "
		 "true;",
		 false, "198.51.100.9", NULL, "bounce@example.net", FROM1("joe@example.com"),
		 "example.com", "rsa2024,ed2024",
		 "client in sign_networks: 198.51.100.9; d=example.com (from the From header), "
		 "selectors rsa2024, ed2024"},
		{"envelope in a subdomain (eSLD)", NULL, NULL, false, "127.0.0.1", NULL,
		 "bounce@lists.example.com", FROM1("joe@example.com"), "example.com",
		 "rsa2024,ed2024",
		 "client in local_addrs: 127.0.0.1; d=example.com (from the From header), "
		 "selectors "
		 "rsa2024, ed2024"},
		{"envelope in a subdomain, no eSLD", NULL, "use_esld = false;", false, "127.0.0.1",
		 NULL, "bounce@lists.example.com", FROM1("joe@example.com"), NULL, NULL,
		 "envelope sender domain lists.example.com differs from From domain example.com "
		 "and "
		 "allow_hdrfrom_mismatch is off"},
		{"envelope without domain is not compared", NULL, NULL, false, "127.0.0.1", NULL,
		 "root", FROM1("joe@example.org"), "example.org", "s1",
		 "client in local_addrs: 127.0.0.1; d=example.org (from the From header), selector "
		 "s1"},
		{"null sender allowed by default", NULL, NULL, false, "127.0.0.1", NULL, "",
		 FROM1("joe@example.org"), "example.org", "s1",
		 "client in local_addrs: 127.0.0.1; d=example.org (from the From header), selector "
		 "s1"},
		{"null sender refused", NULL, "allow_envfrom_empty = false;", false, "127.0.0.1",
		 NULL, "<>", FROM1("joe@example.org"), NULL, NULL,
		 "empty envelope sender (MAIL FROM:<>) and allow_envfrom_empty is off"},
	};
	ROWS(rows);
}

static void policy_use_domain(void **state)
{
	(void)state;
	static const struct row rows[] = {
		{"envelope", NULL, "use_domain = envelope; allow_hdrfrom_mismatch = true;", false,
		 "127.0.0.1", NULL, "x@example.org", FROM1("joe@example.com"), "example.org", "s1",
		 "client in local_addrs: 127.0.0.1; d=example.org (from the envelope sender), "
		 "selector s1"},
		{"envelope empty", NULL, "use_domain = envelope;", false, "127.0.0.1", NULL, "",
		 FROM1("joe@example.com"), NULL, NULL,
		 "use_domain = envelope but the envelope sender has no domain"},
		{"auth", NULL, "use_domain = auth;", false, "192.0.2.7", "joe@example.org", NULL,
		 FROM1("joe@example.com"), "example.org", "s1",
		 "sender authenticated as joe@example.org; d=example.org (from the authenticated "
		 "user), selector s1"},
		{"auth, not authenticated", NULL, "use_domain = auth;", false, "127.0.0.1", NULL,
		 NULL, FROM1("joe@example.com"), NULL, NULL,
		 "use_domain = auth but the sender is not authenticated"},
		{"auth user without domain", NULL,
		 "use_domain = auth; allow_username_mismatch = true;", false, "192.0.2.7", "joe",
		 NULL, FROM1("joe@example.com"), NULL, NULL,
		 "use_domain = auth but auth user joe has no domain"},
		{"sign_local variant", NULL, "use_domain_sign_local = envelope;", false,
		 "127.0.0.1", NULL, "x@example.com", FROM1("joe@example.com"), "example.com",
		 "rsa2024,ed2024",
		 "client in local_addrs: 127.0.0.1; d=example.com (from the envelope sender), "
		 "selectors rsa2024, ed2024"},
		{"sign_networks variant", NULL,
		 "sign_networks = [\"198.51.100.0/24\"]; use_domain_sign_networks = envelope; "
		 "allow_hdrfrom_mismatch = true;",
		 false, "198.51.100.1", NULL, "x@example.org", FROM1("joe@example.com"),
		 "example.org", "s1",
		 "client in sign_networks: 198.51.100.1; d=example.org (from the envelope sender), "
		 "selector s1"},
		{"auth user's domain must match the envelope domain", NULL,
		 "use_domain = envelope;", false, "192.0.2.7", "joe@example.com",
		 "joe@mail.example.org", FROM1("joe@example.org"), NULL, NULL,
		 "auth user joe@example.com's domain differs from envelope domain "
		 "mail.example.org and allow_username_mismatch is off"},
	};
	ROWS(rows);
}

static void policy_key_lookup(void **state)
{
	(void)state;
	static const struct row rows[] = {
		{"no key", NULL, NULL, false, "127.0.0.1", NULL, NULL, FROM1("joe@example.net"),
		 NULL, NULL, "no key for domain example.net (from the From header)"},
		{"no key, envelope", NULL, "use_domain = envelope; allow_hdrfrom_mismatch = true;",
		 false, "127.0.0.1", NULL, "a@example.net", FROM1("joe@example.com"), NULL, NULL,
		 "no key for domain example.net (from the envelope sender)"},
		{"eSLD: the configured parent", NULL, NULL, false, "127.0.0.1", NULL, NULL,
		 FROM1("joe@mail.parent.example"), "parent.example", "p",
		 "client in local_addrs: 127.0.0.1; d=parent.example (from the From header), "
		 "selector p"},
		{"eSLD off", NULL, "use_esld = false;", false, "127.0.0.1", NULL, NULL,
		 FROM1("joe@mail.parent.example"), NULL, NULL,
		 "no key for domain mail.parent.example (from the From header)"},
		{"fallback by template", NULL, "path = \"%s/fb/$domain.$selector.key\";", false,
		 "127.0.0.1", NULL, NULL, FROM1("joe@FB.example"), "fb.example", "dkim",
		 "client in local_addrs: 127.0.0.1; d=fb.example (from the From header), selector "
		 "dkim"},
		{"fallback by template, subdomain", NULL, "path = \"%s/fb/$domain.$selector.key\";",
		 false, "127.0.0.1", NULL, NULL, FROM1("joe@a.fb.example"), "fb.example", "dkim",
		 "client in local_addrs: 127.0.0.1; d=fb.example (from the From header), selector "
		 "dkim"},
		{"fallback off", NULL,
		 "try_fallback = false; path = \"%s/fb/$domain.$selector.key\";", false,
		 "127.0.0.1", NULL, NULL, FROM1("joe@fb.example"), NULL, NULL,
		 "no key for domain fb.example (from the From header)"},
		{"domain key wins over fallback", NULL, "path = \"%s/fb/$domain.$selector.key\";",
		 false, "127.0.0.1", NULL, NULL, FROM1("joe@example.org"), "example.org", "s1",
		 "client in local_addrs: 127.0.0.1; d=example.org (from the From header), selector "
		 "s1"},
		{"one key for all domains", NULL, "selector = any; path = \"%s/ed.key\";", false,
		 "127.0.0.1", NULL, NULL, FROM1("joe@a.b.Other.example"), "other.example", "any",
		 "client in local_addrs: 127.0.0.1; d=other.example (from the From header), "
		 "selector "
		 "any"},
		{"one key for all domains, no eSLD", NULL,
		 "use_esld = false; selector = any; path = \"%s/ed.key\";", false, "127.0.0.1",
		 NULL, NULL, FROM1("joe@a.b.other.example"), "a.b.other.example", "any",
		 "client in local_addrs: 127.0.0.1; d=a.b.other.example (from the From header), "
		 "selector any"},
	};
	/* rows whose opts hold %s for the key dir */
	for (size_t k = 0; k < sizeof rows / sizeof rows[0]; k++) {
		struct row r = rows[k];
		char opts[512];
		if (r.opts != NULL && strstr(r.opts, "%s") != NULL) {
			snprintf(opts, sizeof opts, r.opts, g_dir);
			r.opts = opts;
		}
		run_rows(&r, 1);
	}
}

static void policy_client_sockaddr(void **state)
{
	(void)state;
	char text[4096];
	snprintf(text, sizeof text, cfg_fmt, g_dir, "", "");
	struct diags d;
	diags_init(&d);
	struct signetd_config *cfg = NULL;
	struct keystore *ks = NULL;
	assert_int_equal(config_parse("t", (const uint8_t *)text, strlen(text), &cfg, &d),
			 SIGNET_OK);
	assert_int_equal(keystore_load(cfg, &ks, &d), SIGNET_OK);
	const char *from[] = {"joe@example.org"};
	size_t from_len[] = {strlen(from[0])};
	struct sockaddr_in6 in6 = {.sin6_family = AF_INET6};
	inet_pton(AF_INET6, "::1", &in6.sin6_addr);
	struct policy_facts f = {.client_sa = (struct sockaddr *)&in6,
				 .from = from,
				 .from_len = from_len,
				 .n_from = 1};
	struct policy_decision dec;
	assert_int_equal(policy_decide(cfg, ks, &f, &dec), SIGNET_OK);
	assert_true(dec.sign);
	assert_string_equal(dec.reason, "client in local_addrs: ::1; d=example.org (from the From "
					"header), selector s1");
	assert_non_null(dec.sigs[0].key);
	assert_int_equal(signet_key_type(dec.sigs[0].key), SIGNET_KEY_ED25519);
	struct sockaddr_in in = {.sin_family = AF_INET};
	inet_pton(AF_INET, "203.0.113.9", &in.sin_addr);
	f.client_sa = (struct sockaddr *)&in;
	assert_int_equal(policy_decide(cfg, ks, &f, &dec), SIGNET_OK);
	assert_false(dec.sign);
	assert_string_equal(dec.reason,
			    "sender not authenticated and client 203.0.113.9 not in local_addrs");
	/* no keys at all, and bad arguments */
	assert_int_equal(policy_decide(cfg, NULL, &f, &dec), SIGNET_OK);
	assert_int_equal(policy_decide(NULL, ks, &f, &dec), SIGNET_ERR_INVAL);
	assert_int_equal(policy_decide(cfg, ks, &f, NULL), SIGNET_ERR_INVAL);
	keystore_free(ks);
	config_free(cfg);
	diags_free(&d);
}

/* ---- the From address parser -------------------------------------------- */

static void assert_addrs(const char *value, const char *want)
{
	struct policy_addrs a;
	char why[200] = "";
	if (!policy_from_addrs(value, strlen(value), &a, why, sizeof why))
		fail_msg("'%s' did not parse: %s", value, why);
	char got[600] = "";
	for (size_t k = 0; k < a.n && k < POLICY_MAX_ADDRS; k++)
		snprintf(got + strlen(got), sizeof got - strlen(got), "%s%s", k ? "," : "",
			 a.domain[k]);
	assert_string_equal(got, want);
}

static void assert_addr_error(const char *value, size_t len, const char *want)
{
	struct policy_addrs a;
	char why[200] = "";
	assert_false(policy_from_addrs(value, len, &a, why, sizeof why));
	assert_string_equal(why, want);
}

static void policy_from_address_forms(void **state)
{
	(void)state;
	assert_addrs("user@example.com", "example.com");
	assert_addrs(" Name <user@Example.COM>", "example.com");
	assert_addrs("\"Last, First\" <first.last@example.com>", "example.com");
	assert_addrs("\"quoted local\"@example.com", "example.com");
	assert_addrs("\"esc \\\" quote\"@example.com (comment, with @ and <>)", "example.com");
	assert_addrs("(lead) user (mid) @ (x) example.com (trail)", "example.com");
	assert_addrs("Name\r\n <user@example.com>", "example.com"); /* folded */
	assert_addrs("<@route.example,@r2.example:user@example.com>",
		     "example.com"); /* obs-route */
	assert_addrs("a@one.example, B <b@two.example>,,", "one.example,two.example");
	assert_addrs("Team: a@one.example, b@two.example; c@three.example",
		     "one.example,two.example,three.example");
	assert_addrs("Empty:;", "");
	assert_addrs("", "");
	assert_addrs("user@b\xc3\xbc"
		     "cher.example",
		     "b\xc3\xbc"
		     "cher.example"); /* RFC 6532 UTF-8 */
	struct policy_addrs a;
	char why[200];
	char many[1024] = "";
	for (int k = 0; k < POLICY_MAX_ADDRS + 2; k++)
		snprintf(many + strlen(many), sizeof many - strlen(many), "u%d@d%d.example,", k, k);
	assert_true(policy_from_addrs(many, strlen(many), &a, why, sizeof why));
	assert_int_equal(a.n, POLICY_MAX_ADDRS + 2); /* counted beyond what is kept */
}

static void policy_from_address_errors(void **state)
{
	(void)state;
	assert_addr_error("undisclosed", 11, "no '@' in 'undisclosed'");
	assert_addr_error("@example.com", 12, "no local part before '@' in '@example.com'");
	assert_addr_error("user@", 5, "no domain after '@' in 'user@'");
	assert_addr_error("user@a..example", 15, "'a..example' is not a domain name");
	assert_addr_error("Name <user@example.com", 22,
			  "'<' without '>' in 'Name "
			  "<user@example.com'");
	assert_addr_error("<user@example.com> x", 20, "text after '>' in '<user@example.com> x'");
	assert_addr_error("<>", 2, "empty address <> in '<>'");
	assert_addr_error("(open user@example.com", 22, "comment not closed (missing ')')");
	assert_addr_error("\"open@example.com", 17, "quoted string not closed (missing '\"')");
	assert_addr_error("user@[1.2.3.4", 13, "domain literal not closed (missing ']')");
	assert_addr_error("G: a@x.example", 14, "group without its closing ';'");
	assert_addr_error("G: H: a@x.example;;", 19, "a group inside a group");
	assert_addr_error("a@x.example; b@y.example", 24, "unexpected ';'");
	assert_addr_error("a@example.com.", 14, "'example.com.' is not a domain name");
	assert_addr_error("a<b>c@example.com", 17, "text after '>' in 'a<b>c@example.com'");
	assert_addr_error("a@b <c@example.com>", 19, "'a@b' is not a display name");
	assert_addr_error("a:b@example.com", 15, "group without its closing ';'");
	/* a NUL in the middle, and every truncation of a valid value */
	assert_addr_error("a@x.exa\0mple", 12, "unexpected byte 0x00");
	const char *v = "\"J (x)\" (c) <@r.example:joe@example.com>, G: b@c.example;";
	size_t len = strlen(v);
	for (size_t k = 0; k <= len; k++) {
		char *copy = malloc(k ? k : 1); /* exact size: ASan catches a read past it */
		assert_non_null(copy);
		memcpy(copy, v, k);
		struct policy_addrs a;
		char why[200];
		(void)policy_from_addrs(copy, k, &a, why, sizeof why);
		free(copy);
	}
	char *big = malloc(POLICY_MAX_FIELD + 1);
	assert_non_null(big);
	memset(big, 'a', POLICY_MAX_FIELD + 1);
	struct policy_addrs a;
	char why[200];
	assert_false(policy_from_addrs(big, POLICY_MAX_FIELD - 1, &a, why, sizeof why));
	assert_string_equal(why, "no '@' in "
				 "'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa'");
	assert_false(policy_from_addrs(big, POLICY_MAX_FIELD, &a, why, sizeof why));
	assert_false(policy_from_addrs(big, POLICY_MAX_FIELD + 1, &a, why, sizeof why));
	assert_string_equal(why, "longer than POLICY_MAX_FIELD (65536 bytes)");
	free(big);
}

static struct signet_psl *small_psl(void)
{
	static const char list[] = "// ===BEGIN ICANN DOMAINS===\ncom\nuk\nco.uk\nexample\n"
				   "// ===END ICANN DOMAINS===\n";
	FILE *f = tmpfile();
	assert_non_null(f);
	assert_int_equal(fwrite(list, 1, sizeof list - 1, f), sizeof list - 1);
	rewind(f);
	psl_ctx_t *ctx = psl_load_fp(f);
	fclose(f);
	assert_non_null(ctx);
	struct signet_psl *psl = NULL;
	struct signet_error err;
	if (signet_psl_new(ctx, true, &psl, &err) != SIGNET_OK)
		fail_msg("psl: %s", err.msg);
	return psl;
}

/* The decision borrows the config's strings: it lives until the next call. */
static struct signetd_config *g_redis_cfg;

static struct policy_decision redis_decide(const char *opts, bool with_psl, const char *from,
					   const char *env)
{
	config_free(g_redis_cfg);
	g_redis_cfg = NULL;
	char text[1024];
	snprintf(text, sizeof text,
		 "local_addrs = [\"127.0.0.0/8\"];\n"
		 "redis { servers = [\"127.0.0.1:6379\"]; }\n"
		 "dkim_signing {\n  use_redis = true;\n  %s\n"
		 "  domain { parent.example { selectors = [ { selector = a; }, { selector = b; } "
		 "]; } }\n"
		 "}\n",
		 opts);
	struct diags d;
	diags_init(&d);
	struct signetd_config *cfg = NULL;
	if (config_parse("/etc/signet/signetd.conf", (const uint8_t *)text, strlen(text), &cfg,
			 &d) != SIGNET_OK) {
		diags_print(&d, stderr, "  ");
		fail_msg("config did not load");
	}
	diags_free(&d);
	if (with_psl)
		cfg->psl = small_psl(); /* config_free frees it */
	const char *froms[1] = {from};
	struct policy_facts f = {
		.client_addr = "127.0.0.1", .env_from = env, .from = froms, .n_from = 1};
	struct policy_decision dec;
	assert_int_equal(policy_decide(cfg, NULL, &f, &dec), SIGNET_OK);
	g_redis_cfg = cfg;
	return dec;
}

/* FLEET-KEYS-01: with use_redis the decision names the selectors (the
 * domain's domain { } entry, else the top-level selector, else Redis's
 * with selector_prefix) and no key; use_esld takes the organizational
 * domain from the public suffix list when one is loaded (rspamd's
 * get_tld), so mail.example.co.uk signs as example.co.uk, not co.uk. */
static void policy_use_redis_selectors_and_esld(void **state)
{
	(void)state;
	struct policy_decision d =
		redis_decide("", true, "a@mail.example.co.uk", "a@mail.example.co.uk");
	assert_true(d.sign && d.from_redis);
	assert_string_equal(d.domain, "example.co.uk");
	assert_int_equal(d.nsigs, 1);
	assert_string_equal(d.sigs[0].selector, "dkim");
	assert_null(d.sigs[0].key);
	/* without a list: the last two labels, as before */
	d = redis_decide("", false, "a@mail.example.co.uk", "a@mail.example.co.uk");
	assert_string_equal(d.domain, "co.uk");
	/* the mismatch check compares eSLDs by the list too */
	d = redis_decide("", true, "a@a.example.co.uk", "b@other.co.uk");
	assert_false(d.sign);
	assert_int_equal(d.code, POLICY_MISMATCH);
	d = redis_decide("", false, "a@a.example.co.uk", "b@other.co.uk");
	assert_true(d.sign); /* the guess that the list corrects */
	/* a configured parent domain and its selectors */
	d = redis_decide("", true, "a@x.parent.example", NULL);
	assert_true(d.sign);
	assert_string_equal(d.domain, "parent.example");
	assert_int_equal(d.nsigs, 2);
	assert_string_equal(d.sigs[1].selector, "b");
	/* selector_prefix: one signature, its selector from Redis */
	d = redis_decide("selector_prefix = \"SEL\";", true, "a@x.parent.example", NULL);
	assert_int_equal(d.nsigs, 1);
	assert_string_equal(d.sigs[0].selector, "");
	assert_non_null(strstr(d.reason, "selector from Redis hash SEL (key from Redis)"));
	/* no domain entry and no fallback: not signed */
	d = redis_decide("try_fallback = false;", true, "a@example.com", NULL);
	assert_false(d.sign);
	assert_int_equal(d.code, POLICY_NO_KEY);
	config_free(g_redis_cfg);
	g_redis_cfg = NULL;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(policy_eligibility),
		cmocka_unit_test(MILTER_PFX_01_non_smtp_is_signed),
		cmocka_unit_test(DKIM_SIGN_07_from_field_checks),
		cmocka_unit_test(policy_mismatch_rules),
		cmocka_unit_test(policy_use_domain),
		cmocka_unit_test(policy_key_lookup),
		cmocka_unit_test(policy_use_redis_selectors_and_esld),
		cmocka_unit_test(policy_client_sockaddr),
		cmocka_unit_test(policy_from_address_forms),
		cmocka_unit_test(policy_from_address_errors),
	};
	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
