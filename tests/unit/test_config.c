/* test_config.c: signetd.conf loading (conf/config.c): DESIGN.md's
 * example, every default, each key's bad values with the exact message,
 * rspamd dkim_signing compatibility (supported, unsupported-and-warned,
 * unknown-with-suggestion), includes of real files, the local_addrs
 * matcher and the --dump-config round trip. */
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

#include "config.h"
#include "report_store.h"

static struct diags g_d;

static struct signetd_config *load_ok(const char *text)
{
	struct signetd_config *cfg = NULL;
	diags_free(&g_d);
	diags_init(&g_d);
	enum signet_status st = config_parse("/etc/signet/signetd.conf", (const uint8_t *)text,
					     strlen(text), &cfg, &g_d);
	if (st != SIGNET_OK) {
		diags_print(&g_d, stderr, "  ");
		fail_msg("config did not load");
	}
	return cfg;
}

/* Loads text expecting failure; returns the first error message. */
static const char *load_err(const char *text)
{
	struct signetd_config *cfg = NULL;
	diags_free(&g_d);
	diags_init(&g_d);
	enum signet_status st = config_parse("/etc/signet/signetd.conf", (const uint8_t *)text,
					     strlen(text), &cfg, &g_d);
	assert_int_not_equal(st, SIGNET_OK);
	assert_null(cfg);
	assert_true(g_d.nerrors >= 1);
	for (size_t k = 0; k < g_d.n; k++)
		if (g_d.v[k].level == DIAG_ERROR)
			return g_d.v[k].msg;
	fail_msg("no error message");
	return NULL;
}

static void assert_err(const char *text, const char *want)
{
	assert_string_equal(load_err(text), want);
}

static int teardown(void **state)
{
	(void)state;
	diags_free(&g_d);
	return 0;
}

static const char design_example[] =
	"# /etc/signet/signetd.conf (UCL)\n"
	"socket = \"inet:8891@127.0.0.1\";        # or \"unix:/run/signetd/signetd.sock\"\n"
	"user = \"signet\";                        # drop privileges to this user after start\n"
	"authserv_id = \"mx.example.com\";         # default: the MTA's macro j\n"
	"local_addrs = [\"127.0.0.0/8\", \"::1\"];  # these clients' mail is signed\n"
	"on_error { sign = \"tempfail\"; verify = \"accept\"; }\n"
	"dns {\n"
	"  forwarders = [\"127.0.0.1@5353\"];      # default: the system resolver\n"
	"  timeout = 5s;\n"
	"  # trust_anchor_file = \"/usr/share/dns/root.key\";\n"
	"}\n"
	"log { target = \"syslog\"; }              # or \"stderr\"\n"
	"dkim_signing {                          # rspamd dkim_signing key names\n"
	"  sign_authenticated = true;\n"
	"  sign_local = true;\n"
	"  use_domain = \"header\";                # header | envelope | auth\n"
	"  domain {\n"
	"    example.com {\n"
	"      selectors = [\n"
	"        { selector = \"rsa2024\"; path = \"/etc/signet/keys/example.com.rsa2024.key\"; "
	"},\n"
	"        { selector = \"ed2024\";  path = \"/etc/signet/keys/example.com.ed2024.key\"; }\n"
	"      ];\n"
	"    }\n"
	"    example.org { selector = \"s1\"; path = \"/etc/signet/keys/example.org.s1.key\"; }\n"
	"  }\n"
	"}\n";

static void config_design_example(void **state)
{
	(void)state;
	struct signetd_config *cfg = load_ok(design_example);
	assert_int_equal(g_d.n, 0);
	assert_string_equal(cfg->file, "/etc/signet/signetd.conf");
	assert_int_equal(cfg->socket.family, CONFIG_SOCK_INET);
	assert_string_equal(cfg->socket.address, "127.0.0.1");
	assert_int_equal(cfg->socket.port, 8891);
	assert_string_equal(cfg->user, "signet");
	assert_string_equal(cfg->authserv_id, "mx.example.com");
	assert_int_equal(cfg->local_addrs.n, 2);
	assert_int_equal(cfg->on_error_sign, CONFIG_TEMPFAIL);
	assert_int_equal(cfg->on_error_verify, CONFIG_ACCEPT);
	assert_int_equal(cfg->n_dns_forwarders, 1);
	assert_string_equal(cfg->dns_forwarders[0], "127.0.0.1@5353");
	assert_true(cfg->dns_timeout == 5.0);
	assert_null(cfg->dns_trust_anchor_file);
	assert_int_equal(cfg->log_target, CONFIG_LOG_SYSLOG);
	const struct config_signing *sg = &cfg->signing;
	assert_true(sg->sign_authenticated && sg->sign_local);
	assert_int_equal(sg->use_domain, USE_DOMAIN_HEADER);
	assert_int_equal(sg->ndomains, 2);
	assert_string_equal(sg->domains[0].name, "example.com");
	assert_int_equal(sg->domains[0].nkeys, 2);
	assert_string_equal(sg->domains[0].keys[0].selector, "rsa2024");
	assert_string_equal(sg->domains[0].keys[0].path,
			    "/etc/signet/keys/example.com.rsa2024.key");
	assert_string_equal(sg->domains[0].keys[1].selector, "ed2024");
	assert_string_equal(sg->domains[0].keys[1].path, "/etc/signet/keys/example.com.ed2024.key");
	assert_int_equal(sg->domains[0].keys[1].line, 21);
	assert_string_equal(sg->domains[1].name, "example.org");
	assert_int_equal(sg->domains[1].nkeys, 1);
	assert_string_equal(sg->domains[1].keys[0].selector, "s1");
	assert_string_equal(sg->domains[1].keys[0].path, "/etc/signet/keys/example.org.s1.key");
	config_free(cfg);
}

static void config_defaults(void **state)
{
	(void)state;
	struct signetd_config *cfg = load_ok("");
	assert_string_equal(cfg->socket.spec, CONFIG_DEFAULT_SOCKET);
	assert_int_equal(cfg->socket.family, CONFIG_SOCK_INET);
	assert_int_equal(cfg->socket.port, 8891);
	assert_int_equal(cfg->socket_mode, 0660);
	assert_null(cfg->user);
	assert_null(cfg->group);
	assert_null(cfg->pidfile);
	assert_null(cfg->authserv_id);
	assert_true(config_addr_str_is_local(cfg, "127.0.0.1"));
	assert_true(config_addr_str_is_local(cfg, "127.255.0.9"));
	assert_true(config_addr_str_is_local(cfg, "::1"));
	assert_false(config_addr_str_is_local(cfg, "192.0.2.7"));
	assert_int_equal(cfg->on_error_sign, CONFIG_TEMPFAIL);
	assert_int_equal(cfg->on_error_verify, CONFIG_ACCEPT);
	assert_int_equal(cfg->n_dns_forwarders, 0);
	assert_true(cfg->dns_timeout == 5.0);
	assert_int_equal(cfg->log_target, CONFIG_LOG_SYSLOG);
	assert_string_equal(cfg->log_facility, "mail");
	long cpus = sysconf(_SC_NPROCESSORS_ONLN);
	assert_int_equal(cfg->workers, cpus < 1 ? 1 : cpus);
	const struct config_signing *sg = &cfg->signing;
	assert_true(sg->enabled);
	assert_true(sg->sign_authenticated);
	assert_true(sg->sign_local);
	assert_int_equal(sg->use_domain, USE_DOMAIN_HEADER);
	assert_int_equal(sg->use_domain_sign_local, 0);
	assert_int_equal(sg->use_domain_sign_networks, 0);
	assert_false(sg->allow_hdrfrom_mismatch);
	assert_false(sg->allow_hdrfrom_mismatch_local);
	assert_false(sg->allow_hdrfrom_mismatch_sign_networks);
	assert_false(sg->allow_username_mismatch);
	assert_true(sg->allow_envfrom_empty);
	assert_true(sg->use_esld);
	assert_true(sg->try_fallback);
	assert_string_equal(sg->selector, "dkim");
	assert_null(sg->path);
	assert_null(sg->sign_headers);
	assert_int_equal(sg->sign_networks.n, 0);
	assert_int_equal(sg->ndomains, 0);
	config_free(cfg);
}

static void config_socket_forms(void **state)
{
	(void)state;
	struct signetd_config *cfg = load_ok("socket = \"inet:8891@[::1]\"");
	assert_int_equal(cfg->socket.family, CONFIG_SOCK_INET6);
	assert_string_equal(cfg->socket.address, "::1");
	assert_int_equal(cfg->socket.port, 8891);
	config_free(cfg);
	cfg = load_ok("socket = \"inet6:12345@::1\"");
	assert_int_equal(cfg->socket.family, CONFIG_SOCK_INET6);
	assert_string_equal(cfg->socket.address, "::1");
	assert_int_equal(cfg->socket.port, 12345);
	config_free(cfg);
	cfg = load_ok("socket = \"inet:8891\"");
	assert_int_equal(cfg->socket.family, CONFIG_SOCK_INET);
	assert_null(cfg->socket.address);
	config_free(cfg);
	cfg = load_ok("socket = \"inet:25@localhost\"");
	assert_string_equal(cfg->socket.address, "localhost");
	config_free(cfg);
	cfg = load_ok("socket = \"unix:/run/signetd/signetd.sock\"; socket_mode = 0600");
	assert_int_equal(cfg->socket.family, CONFIG_SOCK_UNIX);
	assert_string_equal(cfg->socket.path, "/run/signetd/signetd.sock");
	assert_int_equal(cfg->socket_mode, 0600);
	config_free(cfg);
	cfg = load_ok("socket = \"local:/s\"; socket_mode = \"0640\"");
	assert_int_equal(cfg->socket.family, CONFIG_SOCK_UNIX);
	assert_int_equal(cfg->socket_mode, 0640);
	config_free(cfg);
	const char *want = "/etc/signet/signetd.conf:1:1: socket '%s' is not inet:PORT@ADDRESS, "
			   "inet6:PORT@ADDRESS, inet:PORT@[IPV6] or unix:/PATH (e.g. "
			   "\"inet:8891@127.0.0.1\")";
	const char *bad[] = {"inet:0@127.0.0.1", "inet:65536@x", "inet:@x",      "tcp:25@x",
			     "unix:relative",    "inet:25@",     "inet:25@[::1", "inet6:1@[zz::]"};
	for (size_t k = 0; k < sizeof bad / sizeof bad[0]; k++) {
		char text[128], msg[512];
		snprintf(text, sizeof text, "socket = \"%s\"", bad[k]);
		snprintf(msg, sizeof msg, want, bad[k]);
		assert_err(text, msg);
	}
	assert_err("socket_mode = 0999", "/etc/signet/signetd.conf:1:1: socket_mode must be an "
					 "octal file mode like 0660");
	assert_err("socket = [1]", "/etc/signet/signetd.conf:1:1: socket must be a string, not an "
				   "array");
}

/* AR-SYN-03 "we only emit a hostname-like token (letters, digits, ., -);
 * config with anything else is refused at load time" */
static void AR_SYN_03_authserv_id_refused(void **state)
{
	(void)state;
	assert_err("authserv_id = \"my host\"",
		   "/etc/signet/signetd.conf:1:1: authserv_id 'my host' is not a host-name-like "
		   "token (letters, digits, '.', '-'; RFC 8601 2.5), e.g. \"mx.example.com\"");
	assert_err("authserv_id = \"mx;example\"",
		   "/etc/signet/signetd.conf:1:1: authserv_id 'mx;example' is not a host-name-like "
		   "token (letters, digits, '.', '-'; RFC 8601 2.5), e.g. \"mx.example.com\"");
	struct signetd_config *cfg = load_ok("authserv_id = \"mx-1.example.com\"");
	assert_string_equal(cfg->authserv_id, "mx-1.example.com");
	config_free(cfg);
	cfg = load_ok("authserv_id = \"\""); /* empty: the MTA's macro j */
	assert_null(cfg->authserv_id);
	config_free(cfg);
}

static void config_local_addrs_matcher(void **state)
{
	(void)state;
	struct signetd_config *cfg;
	assert_err("local_addrs = [\"10.0.0.0/8\"]\nlocal_addrs = \"::1\"",
		   "/etc/signet/signetd.conf:2:1: 'local_addrs' is set 2 times (first at "
		   "/etc/signet/signetd.conf:1:1); keep one");
	cfg = load_ok("local_addrs = [\"192.0.2.0/24\", \"10.1.2.3\", \"2001:db8::/32\", \"::1\", "
		      "\"198.51.100.0/23\"]");
	assert_true(config_addr_str_is_local(cfg, "192.0.2.0"));
	assert_true(config_addr_str_is_local(cfg, "192.0.2.255"));
	assert_false(config_addr_str_is_local(cfg, "192.0.3.0"));
	assert_true(config_addr_str_is_local(cfg, "10.1.2.3"));
	assert_false(config_addr_str_is_local(cfg, "10.1.2.4"));
	assert_true(config_addr_str_is_local(cfg, "198.51.101.200"));
	assert_false(config_addr_str_is_local(cfg, "198.51.102.1"));
	assert_true(config_addr_str_is_local(cfg, "2001:db8:ffff::1"));
	assert_true(config_addr_str_is_local(cfg, "IPv6:2001:db8::5"));
	assert_true(config_addr_str_is_local(cfg, "[::1]"));
	assert_false(config_addr_str_is_local(cfg, "2001:db9::1"));
	assert_true(config_addr_str_is_local(cfg, "::ffff:192.0.2.9")); /* v4-mapped */
	assert_false(config_addr_str_is_local(cfg, "127.0.0.1"));       /* not default now */
	assert_false(config_addr_str_is_local(cfg, "localhost"));
	assert_false(config_addr_str_is_local(cfg, ""));
	assert_false(config_addr_str_is_local(cfg, NULL));
	struct sockaddr_in in = {.sin_family = AF_INET};
	inet_pton(AF_INET, "192.0.2.77", &in.sin_addr);
	assert_true(config_addr_is_local(cfg, (struct sockaddr *)&in));
	inet_pton(AF_INET, "192.0.4.77", &in.sin_addr);
	assert_false(config_addr_is_local(cfg, (struct sockaddr *)&in));
	struct sockaddr_in6 in6 = {.sin6_family = AF_INET6};
	inet_pton(AF_INET6, "::ffff:10.1.2.3", &in6.sin6_addr);
	assert_true(config_addr_is_local(cfg, (struct sockaddr *)&in6));
	inet_pton(AF_INET6, "2001:db8::1", &in6.sin6_addr);
	assert_true(config_addr_is_local(cfg, (struct sockaddr *)&in6));
	struct sockaddr un = {.sa_family = AF_UNIX};
	assert_false(config_addr_is_local(cfg, &un));
	config_free(cfg);
	cfg = load_ok("local_addrs = []");
	assert_false(config_addr_str_is_local(cfg, "127.0.0.1"));
	config_free(cfg);
	const char *bad[] = {"10.0.0.0/33", "::/129",      "10.0.0.0/", "10.0.0.0/8x",
			     "10.0.0",      "example.com", "/8"};
	for (size_t k = 0; k < sizeof bad / sizeof bad[0]; k++) {
		char text[128], msg[512];
		snprintf(text, sizeof text, "local_addrs = [\"127.0.0.1\", \"%s\"]", bad[k]);
		snprintf(msg, sizeof msg,
			 "/etc/signet/signetd.conf:1:29: '%s' is not an address or "
			 "CIDR network (e.g. \"192.0.2.0/24\", \"2001:db8::/32\", "
			 "\"::1\")",
			 bad[k]);
		assert_err(text, msg);
	}
	struct cidr c;
	assert_true(cidr_parse("0.0.0.0/0", &c));
	assert_int_equal(c.prefix, 0);
}

static void config_on_error_dns_log_workers(void **state)
{
	(void)state;
	struct signetd_config *cfg = load_ok(
		"on_error { sign = accept; verify = tempfail }\n"
		"dns { forwarders = \"::1\"; timeout = 1500ms; trust_anchor_file = "
		"\"/usr/share/dns/root.key\" }\n"
		"log { target = stderr; facility = local3 }\nworkers = 3\npidfile = /run/s.pid\n"
		"user = signet; group = mail");
	assert_int_equal(cfg->on_error_sign, CONFIG_ACCEPT);
	assert_int_equal(cfg->on_error_verify, CONFIG_TEMPFAIL);
	assert_int_equal(cfg->n_dns_forwarders, 1);
	assert_string_equal(cfg->dns_forwarders[0], "::1");
	assert_true(cfg->dns_timeout == 1.5);
	assert_string_equal(cfg->dns_trust_anchor_file, "/usr/share/dns/root.key");
	assert_int_equal(cfg->log_target, CONFIG_LOG_STDERR);
	assert_string_equal(cfg->log_facility, "local3");
	assert_int_equal(cfg->workers, 3);
	assert_string_equal(cfg->pidfile, "/run/s.pid");
	assert_string_equal(cfg->group, "mail");
	config_free(cfg);
	const char *P = "/etc/signet/signetd.conf:1:";
	char msg[512];
#define ERR(text, col, tail)                                                                       \
	do {                                                                                       \
		snprintf(msg, sizeof msg, "%s%s: %s", P, col, tail);                               \
		assert_err(text, msg);                                                             \
	} while (0)
	ERR("on_error { sign = reject }", "12",
	    "on_error.sign must be \"tempfail\" or \"accept\", "
	    "not 'reject'");
	ERR("dns { forwarders = [\"8.8.8.8@53x\"] }", "21",
	    "dns.forwarders: '8.8.8.8@53x' is not ADDRESS or ADDRESS@PORT (numeric, e.g. "
	    "\"127.0.0.1@5353\")");
	ERR("dns { forwarders = [\"dns.example\"] }", "21",
	    "dns.forwarders: 'dns.example' is not ADDRESS or ADDRESS@PORT (numeric, e.g. "
	    "\"127.0.0.1@5353\")");
	ERR("dns { timeout = 0 }", "7", "dns.timeout must be more than 0 and at most 300s");
	ERR("dns { timeout = 301s }", "7", "dns.timeout must be more than 0 and at most 300s");
	ERR("dns { timeout = soon }", "7",
	    "dns.timeout must be a time (e.g. 5s, 500ms), not a "
	    "string");
	ERR("dns { trust_anchor_file = root.key }", "7",
	    "dns.trust_anchor_file must be an absolute path (starting with '/')");
	ERR("log { target = file }", "7",
	    "log.target must be \"syslog\" or \"stderr\", not 'file'");
	ERR("log { facility = kern }", "7",
	    "log.facility must be mail, daemon, user or local0..local7, not 'kern'");
	ERR("workers = 0", "1", "workers must be a whole number from 1 to 256");
	ERR("workers = 257", "1", "workers must be a whole number from 1 to 256");
	ERR("workers = 2.5", "1", "workers must be a whole number from 1 to 256");
	ERR("user = \"a:b\"", "1", "user 'a:b' is not a user name");
	ERR("on_error = tempfail", "1", "'on_error' must be a section ({ ... }), not a string");
#undef ERR
	cfg = load_ok("workers = 256");
	assert_int_equal(cfg->workers, 256);
	config_free(cfg);
	cfg = load_ok("workers = 1; dns { timeout = 300s }");
	assert_int_equal(cfg->workers, 1);
	config_free(cfg);
}

/* Unknown keys are errors with a suggestion when one is close. */
static void config_unknown_keys_suggest(void **state)
{
	(void)state;
	assert_err("dkim_signing {\n  selecter = \"x\";\n}",
		   "/etc/signet/signetd.conf:2:3: unknown key 'selecter' in dkim_signing (did you "
		   "mean 'selector'?)");
	assert_err("sockett = \"inet:1@x\"", "/etc/signet/signetd.conf:1:1: unknown key 'sockett' "
					     "in the top level (did you mean 'socket'?)");
	assert_err("frobnicate = 1", "/etc/signet/signetd.conf:1:1: unknown key 'frobnicate' in "
				     "the top level");
	assert_err("dns { forwarder = \"::1\" }", "/etc/signet/signetd.conf:1:7: unknown key "
						  "'forwarder' in dns (did you mean "
						  "'forwarders'?)");
	assert_err("dkim_signing { domain { a.example { selectr = s; path = /k } } }",
		   "/etc/signet/signetd.conf:1:37: unknown key 'selectr' in domain a.example (did "
		   "you mean 'selector'?)");
	assert_err("dkim_signing { domain { a.example { selectors = [ { pth = /k } ] } } }",
		   "/etc/signet/signetd.conf:1:53: unknown key 'pth' in selectors of domain "
		   "a.example (did you mean 'path'?)");
	/* all problems are reported, not only the first */
	load_err("a1 = 1\nb1 = 2\nworkers = 0\n");
	assert_int_equal(g_d.nerrors, 3);
}

/* rspamd keys signet does not implement are warnings naming the key. */
static void config_unsupported_rspamd_keys_warned(void **state)
{
	(void)state;
	struct signetd_config *cfg = load_ok("dkim_signing {\n"
					     "  read_servers = \"127.0.0.1\";\n"
					     "  use_vault = true;\n"
					     "  sign_inbound = true;\n"
					     "  check_pubkey = true;\n"
					     "  use_http_headers = false;\n"
					     "  symbol = \"DKIM_SIGNED\";\n"
					     "  allow_hdrfrom_multiple = false;\n"
					     "}\n");
	assert_int_equal(g_d.nerrors, 0);
	assert_int_equal(g_d.nwarnings, 7);
	assert_string_equal(
		g_d.v[0].msg,
		"/etc/signet/signetd.conf:2:3: 'dkim_signing.read_servers' (an rspamd key) "
		"is not supported by signet and is ignored: list the servers in servers");
	assert_string_equal(g_d.v[2].msg,
			    "/etc/signet/signetd.conf:4:3: 'dkim_signing.sign_inbound' (an rspamd "
			    "key) is not supported by signet and is ignored: signet signs only "
			    "authenticated, local and sign_networks mail");
	assert_string_equal(
		g_d.v[3].msg,
		"/etc/signet/signetd.conf:5:3: 'dkim_signing.check_pubkey' (an rspamd "
		"key) is not supported by signet and is ignored: check the published key "
		"with: signet dnscheck -d DOMAIN -s SELECTOR -k KEYFILE");
	assert_non_null(diags_find(&g_d, "'dkim_signing.allow_hdrfrom_multiple' (an rspamd key) "
					 "is not supported by signet and is ignored: signet never "
					 "signs a message with several From fields"));
	config_free(cfg);
}

static void config_type_errors(void **state)
{
	(void)state;
	assert_err(
		"dkim_signing { sign_local = \"true\" }",
		"/etc/signet/signetd.conf:1:16: dkim_signing.sign_local must be a boolean: write "
		"true without quotes");
	assert_err("dkim_signing { sign_local = 1 }",
		   "/etc/signet/signetd.conf:1:16: dkim_signing.sign_local must be a boolean (true "
		   "or false), not an integer");
	assert_err(
		"dkim_signing { use_domain = recipient }",
		"/etc/signet/signetd.conf:1:16: dkim_signing.use_domain = \"recipient\" (an rspamd "
		"value for inbound signing) is not supported; use header, envelope or auth");
	assert_err("dkim_signing { use_domain = from }",
		   "/etc/signet/signetd.conf:1:16: dkim_signing.use_domain must be \"header\", "
		   "\"envelope\" or \"auth\", not 'from'");
	assert_err(
		"dkim_signing { selector = a; selector = b; }",
		"/etc/signet/signetd.conf:1:30: 'dkim_signing.selector' is set 2 times (first at "
		"/etc/signet/signetd.conf:1:16); keep one");
}

static void config_dkim_signing_flags(void **state)
{
	(void)state;
	struct signetd_config *cfg = load_ok(
		"dkim_signing { enabled = false; auth_only = false; sign_local = no;\n"
		"use_domain = envelope; use_domain_sign_networks = auth; use_domain_sign_local = "
		"header;\n allow_hdrfrom_mismatch = yes; allow_hdrfrom_mismatch_local = on;\n"
		"allow_hdrfrom_mismatch_sign_networks = true; allow_username_mismatch = true;\n"
		"allow_envfrom_empty = false; use_esld = false; try_fallback = false;\n"
		"sign_networks = [\"192.0.2.0/24\", \"2001:db8::/32\"] }");
	const struct config_signing *sg = &cfg->signing;
	assert_false(sg->enabled);
	assert_false(sg->sign_authenticated);
	assert_false(sg->sign_local);
	assert_int_equal(sg->use_domain, USE_DOMAIN_ENVELOPE);
	assert_int_equal(sg->use_domain_sign_networks, USE_DOMAIN_AUTH);
	assert_int_equal(sg->use_domain_sign_local, USE_DOMAIN_HEADER);
	assert_true(sg->allow_hdrfrom_mismatch && sg->allow_hdrfrom_mismatch_local &&
		    sg->allow_hdrfrom_mismatch_sign_networks && sg->allow_username_mismatch);
	assert_false(sg->allow_envfrom_empty || sg->use_esld || sg->try_fallback);
	assert_int_equal(sg->sign_networks.n, 2);
	assert_true(cidr_list_match_str(&sg->sign_networks, "192.0.2.1"));
	config_free(cfg);
	assert_err(
		"dkim_signing { sign_networks = \"/etc/rspamd/sign_networks.map\" }",
		"/etc/signet/signetd.conf:1:16: dkim_signing.sign_networks: maps (files and URLs "
		"such as '/etc/rspamd/sign_networks.map') are not supported; list the networks "
		"inline: sign_networks = [\"192.0.2.0/24\", \"2001:db8::/32\"]");
}

static void config_sign_headers(void **state)
{
	(void)state;
	struct signetd_config *cfg = load_ok(
		"dkim_signing { sign_headers = \"(o)from:(x)sender:(o)subject: to :date\" }");
	assert_string_equal(cfg->signing.sign_headers, "from:from:sender:subject:subject:to:date");
	config_free(cfg);
	assert_err(
		"dkim_signing { sign_headers = \"to:subject\" }",
		"/etc/signet/signetd.conf:1:16: dkim_signing.sign_headers must include from (RFC "
		"6376 5.4: the From field is always signed)");
	assert_err("dkim_signing { sign_headers = \"from::to\" }",
		   "/etc/signet/signetd.conf:1:16: dkim_signing.sign_headers must be header field "
		   "names separated by ':' (e.g. \"from:to:subject:date\")");
}

/* rspamd's per-domain forms, top-level selector/path with $domain and
 * $selector, and the fallbacks between them. */
static void config_domains_rspamd_forms(void **state)
{
	(void)state;
	struct signetd_config *cfg = load_ok(
		"dkim_signing {\n"
		"  path = \"/var/lib/rspamd/dkim/$domain.$selector.key\";\n"
		"  selector = 2019;\n"
		"  domain {\n"
		"    Example.NET. { selector = \"mail\"; }\n"
		"    b.example { path = \"/k/${domain}-${selector}.pem\"; }\n"
		"    c.example { selector = s1; path = /k/c.key; selectors [ { selector = ed; "
		"algorithm = ed25519-sha256; } ] }\n"
		"  }\n"
		"}\n");
	const struct config_signing *sg = &cfg->signing;
	assert_string_equal(sg->selector, "2019");
	assert_string_equal(sg->path, "/var/lib/rspamd/dkim/$domain.$selector.key");
	assert_int_equal(sg->ndomains, 3);
	assert_string_equal(sg->domains[0].name, "b.example");
	assert_string_equal(sg->domains[0].keys[0].selector, "2019");
	assert_string_equal(sg->domains[0].keys[0].path, "/k/b.example-2019.pem");
	assert_string_equal(sg->domains[1].name, "c.example");
	assert_int_equal(sg->domains[1].nkeys, 2);
	assert_string_equal(sg->domains[1].keys[0].selector, "ed");
	assert_string_equal(sg->domains[1].keys[0].path, "/var/lib/rspamd/dkim/c.example.ed.key");
	assert_int_equal(sg->domains[1].keys[0].alg, SIGNET_ALG_ED25519_SHA256);
	assert_string_equal(sg->domains[1].keys[1].selector, "s1");
	assert_string_equal(sg->domains[1].keys[1].path, "/k/c.key");
	assert_int_equal(sg->domains[1].keys[1].alg, SIGNET_ALG_UNKNOWN);
	assert_string_equal(sg->domains[2].name, "example.net");
	assert_string_equal(sg->domains[2].keys[0].path,
			    "/var/lib/rspamd/dkim/example.net.mail.key");
	config_free(cfg);
	/* relative paths are relative to the file that names them */
	cfg = load_ok("dkim_signing { domain { a.example { selector = s; path = keys/a.key } } }");
	assert_string_equal(cfg->signing.domains[0].keys[0].path, "/etc/signet/keys/a.key");
	config_free(cfg);
}

static void config_domain_errors(void **state)
{
	(void)state;
	const char *P = "/etc/signet/signetd.conf:1:";
	char msg[600];
#define ERR(text, col, tail)                                                                       \
	do {                                                                                       \
		snprintf(msg, sizeof msg, "%s%s: %s", P, col, tail);                               \
		assert_err(text, msg);                                                             \
	} while (0)
	ERR("dkim_signing { domain { a.example { selector = s } } }", "25",
	    "domain a.example, selector s: no path (set path here, or a top-level "
	    "dkim_signing.path such as \"/etc/signet/keys/$domain.$selector.key\")");
	ERR("dkim_signing { domain { a.example { path = \"${DBDIR}/dkim/a.key\" } } }", "25",
	    "domain a.example, selector dkim: key path '${DBDIR}/dkim/a.key' contains '${DBDIR}', "
	    "which signet does not expand (only $domain and $selector; write rspamd's ${DBDIR} as "
	    "/var/lib/rspamd)");
	ERR("dkim_signing { domain { \"*.example\" { path = /k } } }", "25",
	    "'*.example' under dkim_signing.domain is not a domain name (wildcards are not "
	    "supported; use the top-level path with $domain, or use_esld)");
	ERR("dkim_signing { domain { a..b { path = /k } } }", "25",
	    "'a..b' under dkim_signing.domain is not a domain name");
	ERR("dkim_signing { domain { a.example { } } }", "25",
	    "domain a.example has no key: add selector = \"...\"; path = \"...\"; or selectors = "
	    "[ ... ]");
	ERR("dkim_signing { domain { a.example = \"x\" } }", "25",
	    "domain a.example must be { selector = ...; path = ...; }, not a string");
	ERR("dkim_signing { domain { a.example { selectors = [ \"s1\" ] } } }", "51",
	    "domain a.example: each element of selectors must be { selector = ...; path = ...; }, "
	    "not a string");
	ERR("dkim_signing { domain { a.example { selector = \"s 1\"; path = /k } } }", "25",
	    "domain a.example: selector 's 1' is not a valid selector (letters, digits, '-', '_', "
	    "dot-separated; RFC 6376 3.1)");
	ERR("dkim_signing { domain { a.example { algorithm = rsa-sha1; path = /k } } }", "37",
	    "algorithm must be \"rsa-sha256\" or \"ed25519-sha256\", not 'rsa-sha1'");
	ERR("dkim_signing { domain { a.example { selectors = [ {selector = x; path = /1}, "
	    "{selector = X; path = /2} ] } } }",
	    "78",
	    "domain a.example: selector X is configured twice (also at "
	    "/etc/signet/signetd.conf:1:51)");
	ERR("dkim_signing { path = \"$DBDIR/$domain.key\" }", "16",
	    "dkim_signing.path '$DBDIR/$domain.key' contains '$DBDIR', which signet does not "
	    "expand (only $domain and $selector; write rspamd's ${DBDIR} as /var/lib/rspamd)");
#undef ERR
	/* SIGNET_MAX_SIGNERS keys per domain: 8 fine, 9 refused */
	char text[2048] = "dkim_signing { domain { a.example { selectors = [";
	for (int k = 0; k < SIGNET_MAX_SIGNERS; k++)
		snprintf(text + strlen(text), sizeof text - strlen(text),
			 "{selector = s%d; path = /k%d},", k, k);
	char nine[2200];
	snprintf(nine, sizeof nine, "%s{selector = s9; path = /k9}] } } }", text);
	strcat(text, "] } } }");
	struct signetd_config *cfg = load_ok(text);
	assert_int_equal(cfg->signing.domains[0].nkeys, SIGNET_MAX_SIGNERS);
	config_free(cfg);
	assert_err(nine, "/etc/signet/signetd.conf:1:25: domain a.example has 9 keys; at most "
			 "SIGNET_MAX_SIGNERS (8) signatures are made per message");
}

/* A temp dir with files, for includes and config_load. */
static char g_dir[64];

static void write_file(const char *name, const char *text)
{
	char path[256];
	snprintf(path, sizeof path, "%s/%s", g_dir, name);
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

static void make_dir(void)
{
	strcpy(g_dir, "/tmp/signet-config-XXXXXX");
	assert_non_null(mkdtemp(g_dir));
}

static void remove_dir(void)
{
	char cmd[128];
	snprintf(cmd, sizeof cmd, "rm -rf %s", g_dir);
	assert_int_equal(system(cmd), 0);
}

/* FLEET-KEYS-01: rspamd's use_redis, key_prefix, selector_prefix and the
 * module-level servers are read; domain { } entries need no path then. */
static void config_use_redis_keys(void **state)
{
	(void)state;
	struct signetd_config *cfg = load_ok("redis { servers = [\"127.0.0.1:6390\"]; }\n"
					     "dkim_signing {\n"
					     "  use_redis = true;\n"
					     "  key_prefix = \"DKIM_KEYS\";\n"
					     "  selector_prefix = \"DKIM_SELECTORS\";\n"
					     "  domain { example.com { selector = \"s1\"; } }\n"
					     "}\n");
	assert_int_equal(g_d.nerrors, 0);
	assert_int_equal(g_d.nwarnings, 0);
	assert_true(cfg->signing.use_redis);
	assert_string_equal(cfg->signing.key_prefix, "DKIM_KEYS");
	assert_string_equal(cfg->signing.selector_prefix, "DKIM_SELECTORS");
	assert_true(cfg->signing.redis_refresh == CONFIG_DEFAULT_REDIS_REFRESH);
	assert_int_equal(cfg->signing.ndomains, 1);
	assert_string_equal(cfg->signing.domains[0].keys[0].selector, "s1");
	assert_null(cfg->signing.domains[0].keys[0].path);
	assert_ptr_equal(config_signing_redis(cfg), &cfg->redis);
	config_free(cfg);
	/* defaults: rspamd's hash name, no selector hash; dkim_signing's own
	 * servers (a bare address means port 6379) win over redis { } */
	cfg = load_ok("redis { servers = [\"127.0.0.1:6390\"]; }\n"
		      "dkim_signing { use_redis = true; servers = \"127.0.0.2\"; timeout = 3s;\n"
		      "  redis_refresh = 300s; path = \"/k/$domain.key\"; }\n");
	assert_string_equal(cfg->signing.key_prefix, "dkim_keys");
	assert_null(cfg->signing.selector_prefix);
	assert_true(cfg->signing.redis_refresh == 300.0);
	assert_ptr_equal(config_signing_redis(cfg), &cfg->signing.redis);
	assert_string_equal(cfg->signing.redis.servers[0], "127.0.0.2:6379");
	assert_true(cfg->signing.redis.timeout == 3.0);
	assert_non_null(diags_find(&g_d, "dkim_signing.path is ignored with use_redis"));
	config_free(cfg);
	/* ARC sealing needs key files: said at load */
	cfg = load_ok("redis { servers = [\"127.0.0.1:6390\"]; }\n"
		      "arc { seal = \"forwarded\"; }\n"
		      "dkim_signing { use_redis = true; }\n");
	assert_non_null(diags_find(&g_d, "arc.seal = \"forwarded\" seals with key files, and "
					 "dkim_signing.use_redis loads none"));
	config_free(cfg);
	/* no server to ask is an error, as are bad values */
	assert_non_null(strstr(load_err("dkim_signing { use_redis = true; }\n"),
			       "dkim_signing.use_redis needs Redis servers"));
	assert_non_null(
		strstr(load_err("redis { servers = [\"127.0.0.1:6379\"]; }\n"
				"dkim_signing { use_redis = true; key_prefix = \"a b\"; }\n"),
		       "dkim_signing.key_prefix must be a Redis key name"));
	assert_non_null(
		strstr(load_err("redis { servers = [\"127.0.0.1:6379\"]; }\n"
				"dkim_signing { use_redis = true; redis_refresh = 0.5s; }\n"),
		       "dkim_signing.redis_refresh must be at least 1 s"));
	assert_non_null(strstr(load_err("dkim_signing { servers = \"redis.example\"; }\n"),
			       "dkim_signing.servers: 'redis.example' is not a numeric ADDRESS"));
}

static char *dump_to_string(const struct signetd_config *cfg);

/* ROT-FLEET-01: rotation.redis_key names the Redis key of the fleet's
 * rotation state; default "signet_rotation"; dumped and read back; a name
 * Redis would not take is refused. */
static void ROT_FLEET_01_rotation_redis_key(void **state)
{
	(void)state;
	struct signetd_config *cfg = load_ok("");
	assert_null(cfg->rotation_redis_key);
	char *d = dump_to_string(cfg);
	assert_non_null(strstr(d, "redis_key = \"signet_rotation\"; }"));
	free(d);
	config_free(cfg);
	cfg = load_ok("rotation { redis_key = \"fleet:rotation\"; }\n");
	assert_string_equal(cfg->rotation_redis_key, "fleet:rotation");
	d = dump_to_string(cfg);
	assert_non_null(strstr(d, "redis_key = \"fleet:rotation\"; }"));
	struct signetd_config *back = load_ok(d);
	assert_string_equal(back->rotation_redis_key, "fleet:rotation");
	free(d);
	config_free(back);
	config_free(cfg);
	assert_non_null(strstr(load_err("rotation { redis_key = \"a b\"; }\n"),
			       "rotation.redis_key must be a Redis key name"));
	assert_non_null(strstr(load_err("rotation { redis_key = \"\"; }\n"),
			       "rotation.redis_key must be a Redis key name"));
}

/* An rspamd user includes their local.d/dkim_signing.conf as it is. */
static void config_include_rspamd_file(void **state)
{
	(void)state;
	make_dir();
	assert_int_equal(mkdir(strcat(strcpy((char[128]){0}, g_dir), "/local.d"), 0755), 0);
	write_file("local.d/dkim_signing.conf",
		   "allow_username_mismatch = true;\n"
		   "domain {\n"
		   "  example.com {\n"
		   "    selectors [\n"
		   "      { path: \"/var/lib/rspamd/dkim/example.com.2019.key\"; selector: "
		   "\"2019\"; }\n"
		   "    ]\n"
		   "  }\n"
		   "}\n"
		   "use_vault = false;\n");
	write_file("signetd.conf", "socket = \"unix:/run/signetd.sock\"\n"
				   "dkim_signing {\n"
				   "  .include \"local.d/dkim_signing.conf\"\n"
				   "  .include(try=true) \"local.d/missing.conf\"\n"
				   "}\n");
	char path[256];
	snprintf(path, sizeof path, "%s/signetd.conf", g_dir);
	struct signetd_config *cfg = NULL;
	diags_free(&g_d);
	diags_init(&g_d);
	assert_int_equal(config_load(path, &cfg, &g_d), SIGNET_OK);
	assert_true(cfg->signing.allow_username_mismatch);
	assert_int_equal(cfg->signing.ndomains, 1);
	assert_string_equal(cfg->signing.domains[0].keys[0].selector, "2019");
	assert_int_equal(g_d.nwarnings, 1);
	char want[512];
	snprintf(want, sizeof want, "%s/local.d/dkim_signing.conf:9:1: 'dkim_signing.use_vault'",
		 g_dir);
	assert_non_null(strstr(g_d.v[0].msg, want));
	config_free(cfg);
	/* an include error names both files */
	write_file("local.d/dkim_signing.conf", "domain {\n");
	assert_int_equal(config_load(path, &cfg, &g_d), SIGNET_ERR_SYNTAX);
	snprintf(want, sizeof want,
		 "%s/local.d/dkim_signing.conf:2:1: expected '}' to close "
		 "'domain' opened at 1:8 (included from %s:3:3)",
		 g_dir, path);
	assert_non_null(diags_find(&g_d, want));
	/* a missing main file */
	snprintf(path, sizeof path, "%s/nope.conf", g_dir);
	assert_int_equal(config_load(path, &cfg, &g_d), SIGNET_ERR_INVAL);
	snprintf(want, sizeof want, "cannot read config file %s: No such file or directory", path);
	assert_non_null(diags_find(&g_d, want));
	remove_dir();
}

static char *dump_to_string(const struct signetd_config *cfg)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	assert_non_null(f);
	config_dump(cfg, f);
	fclose(f);
	return buf;
}

/* --dump-config prints every default; the parser reads it back to the same config. */
/* verify { l_policy } (RFC 6376 8.2: the l= attack) and dns.health_interval
 * (the periodic key record check): defaults, each value, bad values. */
static void config_verify_l_policy_and_health_interval(void **state)
{
	(void)state;
	struct signetd_config *cfg = load_ok("");
	assert_int_equal(cfg->l_policy, SIGNET_L_POLICY_UNSIGNED);
	assert_true(cfg->dns_health_interval == 3600.0);
	config_free(cfg);
	cfg = load_ok("verify { l_policy = honour }\ndns { health_interval = 10min }");
	assert_int_equal(cfg->l_policy, SIGNET_L_HONOUR);
	assert_true(cfg->dns_health_interval == 600.0);
	config_free(cfg);
	cfg = load_ok("verify { l_policy = \"unsigned-content-is-policy\" }\n"
		      "dns { health_interval = 0 }");
	assert_int_equal(cfg->l_policy, SIGNET_L_POLICY_UNSIGNED);
	assert_true(cfg->dns_health_interval == 0);
	config_free(cfg);
	cfg = load_ok("dns { health_interval = 7d }");
	assert_true(cfg->dns_health_interval == 7 * 86400.0);
	config_free(cfg);
	assert_err("verify { l_policy = ignore }",
		   "/etc/signet/signetd.conf:1:10: verify.l_policy must be "
		   "\"unsigned-content-is-policy\" or \"honour\", not 'ignore'");
	assert_err("dns { health_interval = 8d }",
		   "/etc/signet/signetd.conf:1:7: dns.health_interval must be more than 0 and at "
		   "most 604800s");
	assert_err("dns { health_interval = -1 }",
		   "/etc/signet/signetd.conf:1:7: dns.health_interval must be more than 0 and at "
		   "most 604800s");
	assert_err("verify { l_policy = honour; bogus = 1 }",
		   "/etc/signet/signetd.conf:1:29: unknown key 'bogus' in verify");
}

/* spf { enabled; helo; } (DESIGN.md "signetd config additions"): both on
 * by default, each off on its own, and what is not a boolean refused. */
static void config_spf_section(void **state)
{
	(void)state;
	struct signetd_config *cfg = load_ok("");
	assert_true(cfg->spf_enabled);
	assert_true(cfg->spf_helo);
	config_free(cfg);
	cfg = load_ok("spf { helo = false }");
	assert_true(cfg->spf_enabled);
	assert_false(cfg->spf_helo);
	config_free(cfg);
	cfg = load_ok("spf { enabled = false; helo = true }");
	assert_false(cfg->spf_enabled);
	assert_true(cfg->spf_helo);
	config_free(cfg);
	assert_err("spf { enabled = \"yes\" }",
		   "/etc/signet/signetd.conf:1:7: spf.enabled must be a boolean (true or false), "
		   "not a string");
	assert_err("spf { helo = true; mfrom = 1 }",
		   "/etc/signet/signetd.conf:1:20: unknown key 'mfrom' in spf");
}

/* dmarc { } (DESIGN.md "signetd config additions", issue #14): the
 * defaults signetd.conf(5) states, every key set, and each bad value
 * refused with the key's name. */
static void config_dmarc_section(void **state)
{
	(void)state;
	struct signetd_config *cfg = load_ok("");
	const struct config_dmarc *d = &cfg->dmarc;
	assert_true(d->enabled);
	assert_int_equal(d->discovery, SIGNET_DMARC_RFC9989);
	assert_true(d->enforce);
	assert_int_equal(d->quarantine, CONFIG_QUARANTINE_HEADER);
	assert_int_equal(d->on_temperror, CONFIG_ACCEPT);
	assert_int_equal(d->n_trusted_arc_sealers, 0);
	assert_false(d->reports_enabled);
	assert_null(d->reports_db);
	config_free(cfg);
	cfg = load_ok("dmarc { enabled = false; discovery = psl; enforce = false; quarantine = "
		      "hold; on_temperror = tempfail; trusted_arc_sealers = [\"Google.COM.\", "
		      "\"lists.example.org\"]; reports { enabled = false; db = "
		      "\"/var/lib/signet/dmarc.db\"; org_name = \"Example Org\"; from = "
		      "\"dmarc-noreply@example.org\"; } }");
	d = &cfg->dmarc;
	assert_false(d->enabled);
	assert_int_equal(d->discovery, SIGNET_DMARC_RFC7489);
	assert_false(d->enforce);
	assert_int_equal(d->quarantine, CONFIG_QUARANTINE_HOLD);
	assert_int_equal(d->on_temperror, CONFIG_TEMPFAIL);
	assert_int_equal(d->n_trusted_arc_sealers, 2);
	assert_string_equal(d->trusted_arc_sealers[0], "google.com");
	assert_string_equal(d->trusted_arc_sealers[1], "lists.example.org");
	assert_string_equal(d->reports_db, "/var/lib/signet/dmarc.db");
	assert_string_equal(d->reports_org_name, "Example Org");
	assert_string_equal(d->reports_from, "dmarc-noreply@example.org");
	assert_int_equal(g_d.n, 0);
	config_free(cfg);
	/* one sealer as a string; reports on, with their retention and scope */
	cfg = load_ok("dmarc { trusted_arc_sealers = google.com; reports { enabled = true; "
		      "retention_days = 7; only_authenticated = false; } }");
	assert_int_equal(cfg->dmarc.n_trusted_arc_sealers, 1);
	assert_true(cfg->dmarc.reports_enabled);
	assert_int_equal(cfg->dmarc.reports_retention, 7);
	assert_false(cfg->dmarc.reports_only_authenticated);
	assert_int_equal(g_d.n, 0);
	config_free(cfg);
	cfg = load_ok("");
	assert_int_equal(cfg->dmarc.reports_retention, REPORT_STORE_RETENTION_DAYS);
	assert_true(cfg->dmarc.reports_only_authenticated);
	config_free(cfg);
	assert_err("dmarc { reports { retention_days = 0 } }",
		   "/etc/signet/signetd.conf:1:19: dmarc.reports.retention_days must be a whole "
		   "number of days, 1 to 3660");
	assert_err("dmarc { reports { retention_days = 3661 } }",
		   "/etc/signet/signetd.conf:1:19: dmarc.reports.retention_days must be a whole "
		   "number of days, 1 to 3660");
	assert_err("dmarc { discovery = \"org-domain\" }",
		   "/etc/signet/signetd.conf:1:9: dmarc.discovery must be \"tree-walk\" (RFC 9989) "
		   "or \"psl\" (RFC 7489, the public suffix list), not 'org-domain'");
	assert_err("dmarc { quarantine = reject }",
		   "/etc/signet/signetd.conf:1:9: dmarc.quarantine must be \"header\" or \"hold\" "
		   "(Postfix's hold queue), not 'reject'");
	assert_err("dmarc { on_temperror = reject }",
		   "/etc/signet/signetd.conf:1:9: dmarc.on_temperror must be \"accept\" or "
		   "\"tempfail\", not 'reject'");
	assert_err("dmarc { enforce = \"yes\" }",
		   "/etc/signet/signetd.conf:1:9: dmarc.enforce must be a boolean (true or false), "
		   "not a string");
	assert_err("dmarc { enabled = 1 }",
		   "/etc/signet/signetd.conf:1:9: dmarc.enabled must be a boolean (true or false), "
		   "not an integer");
	assert_err(
		"dmarc { trusted_arc_sealers = [\"google.com\", \"bad domain\"] }",
		"/etc/signet/signetd.conf:1:46: dmarc.trusted_arc_sealers: 'bad domain' is not a "
		"domain name with at least two labels (the d= of the forwarder's ARC-Seal, in "
		"A-labels, e.g. \"google.com\")");
	assert_err(
		"dmarc { trusted_arc_sealers = com }",
		"/etc/signet/signetd.conf:1:9: dmarc.trusted_arc_sealers: 'com' is not a domain "
		"name with at least two labels (the d= of the forwarder's ARC-Seal, in A-labels, "
		"e.g. \"google.com\")");
	assert_err("dmarc { trusted_arc_sealers = \"\" }",
		   "/etc/signet/signetd.conf:1:9: dmarc.trusted_arc_sealers: '' is not a domain "
		   "name");
	assert_err("dmarc { trusted_arc_sealers = [{ a = 1 }] }",
		   "/etc/signet/signetd.conf:1:32: dmarc.trusted_arc_sealers must be a string, not "
		   "an object");
	assert_err("dmarc { reports { db = \"dmarc.db\" } }",
		   "/etc/signet/signetd.conf:1:19: dmarc.reports.db must be an absolute file name, "
		   "not 'dmarc.db'");
	assert_err("dmarc { reports { from = \"noreply\" } }",
		   "/etc/signet/signetd.conf:1:19: dmarc.reports.from must be an address "
		   "local@domain (e.g. \"dmarc-noreply@example.com\"), not 'noreply'");
	assert_err("dmarc { reports { from = \"a b@example.com\" } }",
		   "/etc/signet/signetd.conf:1:19: dmarc.reports.from must be an address "
		   "local@domain (e.g. \"dmarc-noreply@example.com\"), not 'a b@example.com'");
	assert_err("dmarc { reports { org_name = \"\" } }",
		   "/etc/signet/signetd.conf:1:19: dmarc.reports.org_name must be a non-empty line "
		   "of text");
	assert_err("dmarc { reports { rua = x } }",
		   "/etc/signet/signetd.conf:1:19: unknown key 'rua' in dmarc.reports");
	assert_err("dmarc { enforced = true }",
		   "/etc/signet/signetd.conf:1:9: unknown key 'enforced' in dmarc (did you mean "
		   "'enforce'?)");
	assert_err("dmarc = true", "/etc/signet/signetd.conf:1:1: 'dmarc' must be a section "
				   "({ ... }), not a boolean");
}

/* arc { enabled; seal; selector; local_domains; } (DESIGN.md "signetd
 * config additions", signetd.conf(5)): verification on and sealing off by
 * default; each key on its own; bad values refused with the key's name. */
static void config_arc_section(void **state)
{
	(void)state;
	struct signetd_config *cfg = load_ok("");
	assert_true(cfg->arc.enabled);
	assert_int_equal(cfg->arc.seal, CONFIG_ARC_SEAL_NONE);
	assert_null(cfg->arc.selector);
	assert_int_equal(cfg->arc.n_local_domains, 0);
	config_free(cfg);
	cfg = load_ok("arc { enabled = false }");
	assert_false(cfg->arc.enabled);
	config_free(cfg);
	cfg = load_ok("arc { seal = forwarded }");
	assert_int_equal(cfg->arc.seal, CONFIG_ARC_SEAL_FORWARDED);
	config_free(cfg);
	cfg = load_ok(
		"arc { seal = \"all\"; selector = Arc2026; local_domains = [\"Example.ORG.\", "
		"\"lists.example.net\"] }");
	assert_int_equal(cfg->arc.seal, CONFIG_ARC_SEAL_ALL);
	assert_string_equal(cfg->arc.selector, "arc2026");
	assert_int_equal(cfg->arc.n_local_domains, 2);
	assert_string_equal(cfg->arc.local_domains[0], "example.org");
	assert_true(config_arc_local_domain(&cfg->arc, "example.org"));
	assert_true(config_arc_local_domain(&cfg->arc, "EXAMPLE.org."));
	assert_true(config_arc_local_domain(&cfg->arc, "mx.example.org"));
	assert_true(config_arc_local_domain(&cfg->arc, "lists.example.net"));
	assert_false(config_arc_local_domain(&cfg->arc, "badexample.org"));
	assert_false(config_arc_local_domain(&cfg->arc, "example.net"));
	assert_false(config_arc_local_domain(&cfg->arc, "org"));
	config_free(cfg);
	cfg = load_ok("arc { local_domains = \"example.com\" }");
	assert_int_equal(cfg->arc.n_local_domains, 1);
	config_free(cfg);
	assert_err("arc { seal = sometimes }",
		   "/etc/signet/signetd.conf:1:7: arc.seal must be \"none\", \"forwarded\" or "
		   "\"all\", not 'sometimes'");
	assert_err("arc { enabled = 1 }",
		   "/etc/signet/signetd.conf:1:7: arc.enabled must be a boolean (true or false), "
		   "not an integer");
	assert_err("arc { selector = \"a b\" }",
		   "/etc/signet/signetd.conf:1:7: arc.selector: 'a b' is not a valid selector");
	assert_err("arc { local_domains = [\"exa mple.org\"] }",
		   "/etc/signet/signetd.conf:1:24: arc.local_domains: 'exa mple.org' is not a "
		   "domain name");
	assert_err("arc { local_domains = [\".\"] }",
		   "/etc/signet/signetd.conf:1:24: arc.local_domains: '.' is not a domain name");
	assert_err(
		"arc { seal = all; sael = 1 }",
		"/etc/signet/signetd.conf:1:19: unknown key 'sael' in arc (did you mean 'seal'?)");
	assert_err("arc = true", "/etc/signet/signetd.conf:1:1: 'arc' must be a section ({ ... }), "
				 "not a boolean");
}

/* The enum-choice key kind (conf/config_walk.c K_CHOICE): every listed word
 * stored as its value, an alias accepted but not listed, a hint shown in the
 * message, a refused rspamd word named, a non-string refused like any string key. */
static void config_choice_keys(void **state)
{
	(void)state;
	struct signetd_config *cfg =
		load_ok("verify { l_policy = honor; on_temperror = tempfail }\n"
			"on_error { sign = accept; verify = tempfail }\n"
			"log { target = stderr }\n"
			"dkim_signing { use_domain_sign_local = envelope; "
			"idn_labels = a-labels }");
	assert_int_equal(cfg->l_policy, SIGNET_L_HONOUR);
	assert_int_equal(cfg->verify_on_temperror, CONFIG_TEMPFAIL);
	assert_int_equal(cfg->verify_on_fail, CONFIG_ACCEPT);
	assert_int_equal(cfg->on_error_sign, CONFIG_ACCEPT);
	assert_int_equal(cfg->on_error_verify, CONFIG_TEMPFAIL);
	assert_int_equal(cfg->log_target, CONFIG_LOG_STDERR);
	assert_int_equal(cfg->signing.use_domain_sign_local, USE_DOMAIN_ENVELOPE);
	assert_int_equal(cfg->signing.use_domain, USE_DOMAIN_HEADER);
	assert_int_equal(cfg->signing.idn_labels, SIGNET_IDN_ALABELS);
	config_free(cfg);
	assert_err("dkim_signing { idn_labels = u-labels }",
		   "/etc/signet/signetd.conf:1:16: dkim_signing.idn_labels must be \"auto\" "
		   "(U-labels in messages with UTF-8 headers) or \"a-labels\", not 'u-labels'");
	assert_err("verify { on_temperror = reject }",
		   "/etc/signet/signetd.conf:1:10: verify.on_temperror must be \"accept\" or "
		   "\"tempfail\", not 'reject'");
	assert_err("dkim_signing { use_domain_sign_networks = recipient }",
		   "/etc/signet/signetd.conf:1:16: dkim_signing.use_domain_sign_networks = "
		   "\"recipient\" (an rspamd value for inbound signing) is not supported; use "
		   "header, envelope or auth");
	assert_err("log { target = [stderr] }",
		   "/etc/signet/signetd.conf:1:7: log.target must be a string, not an array");
}

static void config_dump_round_trip(void **state)
{
	(void)state;
	const char *inputs[] = {
		"",
		design_example,
		"socket = \"unix:/run/s.sock\"; socket_mode = 0600; user = u; group = g; pidfile = "
		"\"/run/p\\\"q\"; local_addrs = [\"10.0.0.0/8\", \"2001:db8::/32\"]; on_error { "
		"sign = accept "
		"}\ndns { timeout = 0.25s; trust_anchor_file = /k }\nlog { target = stderr }\n"
		"dkim_signing { path = \"/k/$domain.$selector.key\"; selector = \"q-x_1.y\"; "
		"sign_headers = \"(o)from:to\"; use_domain_sign_local = auth; sign_networks = "
		"\"192.0.2.0/24\"; domain { a.example { algorithm = ed25519-sha256 } } }",
		"verify { l_policy = honour }\ndns { health_interval = 0 }",
		"dns { health_interval = 90s }",
		"dmarc { enabled = false; discovery = psl; enforce = false; quarantine = hold; "
		"on_temperror = tempfail; trusted_arc_sealers = [\"google.com\", \"a.example\"]; "
		"reports { enabled = false; db = \"/var/lib/d.db\"; org_name = \"O \\\"x\\\"\"; "
		"from = \"r@example.org\" } }",
		"arc { enabled = false; seal = forwarded; selector = arc; local_domains = "
		"[\"example.org\", \"example.net\"] }",
		"redis { servers = [\"127.0.0.1:6379\", \"[::1]:6380\"]; timeout = 0.5s }",
		"redis { servers = \"127.0.0.1:6379\"; password = p; username = u; db = 9 }\n"
		"dkim_signing { servers = \"127.0.0.1:6380\"; password = q; dbname = 2 }",
	};
	for (size_t k = 0; k < sizeof inputs / sizeof inputs[0]; k++) {
		struct signetd_config *cfg = load_ok(inputs[k]);
		char *d1 = dump_to_string(cfg);
		struct signetd_config *cfg2 = load_ok(d1);
		assert_int_equal(g_d.n, 0);
		char *d2 = dump_to_string(cfg2);
		assert_string_equal(d1, d2);
		free(d1), free(d2);
		config_free(cfg), config_free(cfg2);
	}
	struct signetd_config *cfg = load_ok(design_example);
	char *d = dump_to_string(cfg);
	assert_non_null(strstr(d, "socket = \"inet:8891@127.0.0.1\";\n"));
	assert_non_null(strstr(d, "  sign_local = true;\n"));
	assert_non_null(strstr(d, "  use_esld = true;\n"));
	assert_non_null(strstr(d,
			       "    \"example.org\" {\n      selectors = [\n        { selector = "
			       "\"s1\"; path = \"/etc/signet/keys/example.org.s1.key\"; },\n"));
	assert_non_null(strstr(d, "local_addrs = [\"127.0.0.0/8\", \"::1\"];\n"));
	assert_non_null(strstr(d, "  timeout = 5s;\n"));
	assert_non_null(strstr(d, "  health_interval = 3600s;\n"));
	assert_non_null(strstr(d, "verify { l_policy = \"unsigned-content-is-policy\"; }\n"));
	free(d);
	config_free(cfg);
}

/* redis { } (issue #15 "Fleets", DMARC-RPT-01): servers and timeout. */
static void config_redis_section(void **state)
{
	(void)state;
	struct signetd_config *cfg = load_ok("");
	assert_int_equal(cfg->redis.n_servers, 0);
	assert_true(cfg->redis.timeout == CONFIG_DEFAULT_REDIS_TIMEOUT);
	config_free(cfg);
	cfg = load_ok("redis { servers = [\"127.0.0.1:6379\", \"[::1]:6380\"]; timeout = 2s; }");
	assert_int_equal(cfg->redis.n_servers, 2);
	assert_string_equal(cfg->redis.servers[1], "[::1]:6380");
	assert_true(cfg->redis.timeout == 2.0);
	config_free(cfg);
	char host[64];
	unsigned port = 0;
	assert_true(config_redis_server("[::1]:6380", host, sizeof host, &port));
	assert_string_equal(host, "::1");
	assert_int_equal(port, 6380);
	assert_true(config_redis_server("127.0.0.1:1", host, sizeof host, &port));
	assert_string_equal(host, "127.0.0.1");
	assert_false(config_redis_server("127.0.0.1", host, sizeof host, &port));
	assert_false(config_redis_server("127.0.0.1:6379", host, 4, &port));
	assert_err("redis { servers = \"redis.example:6379\" }",
		   "/etc/signet/signetd.conf:1:9: redis.servers: 'redis.example:6379' is not a "
		   "numeric ADDRESS, ADDRESS:PORT or [IPV6]:PORT (e.g. \"127.0.0.1:6379\")");
	const char *e =
		load_err("redis { servers = [\"127.0.0.1:1\", \"127.0.0.1:2\", \"127.0.0.1:3\", "
			 "\"127.0.0.1:4\", \"127.0.0.1:5\", \"127.0.0.1:6\", \"127.0.0.1:7\", "
			 "\"127.0.0.1:8\", \"127.0.0.1:9\"] }");
	assert_non_null(strstr(e, "redis.servers: more than 8 servers"));
	e = load_err("redis { timeout = 61s }");
	assert_non_null(strstr(e, "redis.timeout"));
}

/* No diagnostic of cfg's load holds s. */
static void assert_no_diag_has(const char *s)
{
	for (size_t k = 0; k < g_d.n; k++)
		if (strstr(g_d.v[k].msg, s) != NULL)
			fail_msg("a message shows '%s': %s", s, g_d.v[k].msg);
}

/* REDIS-AUTH-01: rspamd's password, username (Redis 6 ACL), db and its
 * older name dbname, in redis { } and in dkim_signing; dkim_signing's go
 * with dkim_signing's servers (as rspamd), else redis { }'s are used. */
static void REDIS_AUTH_01_config_keys(void **state)
{
	(void)state;
	struct signetd_config *cfg = load_ok("redis { servers = \"127.0.0.1:6379\"; password = "
					     "\"s3cret\"; username = \"signet\"; db = 3; }\n"
					     "dkim_signing { use_redis = true; }\n");
	assert_int_equal(g_d.n, 0);
	const struct config_redis *r = config_signing_redis(cfg);
	assert_ptr_equal(r, &cfg->redis);
	assert_string_equal(r->password, "s3cret");
	assert_string_equal(r->username, "signet");
	assert_int_equal(r->db, 3);
	config_free(cfg);
	cfg = load_ok("redis { servers = \"127.0.0.1:6379\"; password = 12345; dbname = \"5\"; }");
	assert_int_equal(g_d.n, 0);
	assert_string_equal(cfg->redis.password, "12345");
	assert_null(cfg->redis.username);
	assert_int_equal(cfg->redis.db, 5);
	config_free(cfg);
	cfg = load_ok("redis { db = 2147483647; }");
	assert_int_equal(cfg->redis.db, 2147483647); /* Redis says if it has it */
	config_free(cfg);
	/* dkim_signing's own servers take its own password and db */
	cfg = load_ok("redis { servers = \"127.0.0.1:6379\"; password = \"q\"; db = 1; }\n"
		      "dkim_signing { use_redis = true; servers = \"127.0.0.1:6380\"; password = "
		      "\"p\"; username = \"u\"; dbname = 2; }\n");
	assert_int_equal(g_d.n, 0);
	r = config_signing_redis(cfg);
	assert_ptr_equal(r, &cfg->signing.redis);
	assert_string_equal(r->password, "p");
	assert_string_equal(r->username, "u");
	assert_int_equal(r->db, 2);
	assert_string_equal(cfg->redis.password, "q"); /* DMARC reports: redis { }'s */
	config_free(cfg);
	/* without its servers, dkim_signing's password would be ignored: said so */
	cfg = load_ok("redis { servers = \"127.0.0.1:6379\"; }\n"
		      "dkim_signing { use_redis = true; password = \"p\"; db = 4; }\n");
	assert_int_equal(g_d.nwarnings, 1);
	assert_non_null(diags_find(&g_d, "/etc/signet/signetd.conf: dkim_signing.password / db "
					 "are used only with dkim_signing.servers"));
	assert_null(config_signing_redis(cfg)->password);
	assert_no_diag_has("\"p\"");
	config_free(cfg);
	assert_err("redis { db = -1 }", "/etc/signet/signetd.conf:1:9: redis.db must be a database "
					"number, 0 to 2147483647 (not '-1')");
	assert_err("redis { dbname = \"x3\" }",
		   "/etc/signet/signetd.conf:1:9: redis.dbname must be "
		   "a database number, 0 to 2147483647 (not 'x3')");
	assert_err("dkim_signing { db = 2147483648 }",
		   "/etc/signet/signetd.conf:1:16: dkim_signing.db must be a database number, 0 to "
		   "2147483647 (not '2147483648')");
	assert_err(
		"redis { password = \"\" }",
		"/etc/signet/signetd.conf:1:9: redis.password must be 1..511 bytes, without NUL");
	assert_err("redis { servers = \"127.0.0.1:6379\"; username = \"u\" }",
		   "/etc/signet/signetd.conf: redis.username is set without redis.password (Redis "
		   "AUTH needs both)");
	const char *e = load_err("redis { password = [\"s3cret\"] }");
	assert_non_null(strstr(e, "redis.password must be a string"));
	assert_no_diag_has("s3cret");
}

/* REDIS-AUTH-06: a password in a file every local user can read is warned
 * about, naming that file (the main one or an .include) and the fix. */
static void REDIS_AUTH_06_password_file_mode(void **state)
{
	(void)state;
	char path[128], inc[128], want[1024];
	make_dir();
	snprintf(path, sizeof path, "%s/signetd.conf", g_dir);
	snprintf(inc, sizeof inc, "%s/redis.conf", g_dir);
	write_file("signetd.conf",
		   "redis { servers = \"127.0.0.1:6379\"; password = \"s3cret\"; }\n");
	struct signetd_config *cfg = NULL;
	assert_int_equal(chmod(path, 0644), 0);
	diags_free(&g_d);
	diags_init(&g_d);
	assert_int_equal(config_load(path, &cfg, &g_d), SIGNET_OK);
	snprintf(want, sizeof want,
		 "%s:1:37: redis.password is set in %s, which every local user can read: chmod "
		 "640 %s (owner root, group of the signetd user)",
		 path, path, path);
	assert_int_equal(g_d.nwarnings, 1);
	assert_string_equal(g_d.v[0].msg, want);
	assert_no_diag_has("s3cret");
	config_free(cfg);
	assert_int_equal(chmod(path, 0640), 0);
	diags_free(&g_d);
	diags_init(&g_d);
	assert_int_equal(config_load(path, &cfg, &g_d), SIGNET_OK);
	assert_int_equal(g_d.n, 0);
	config_free(cfg);
	/* in an .include: that file is named */
	write_file("signetd.conf", "redis { .include \"redis.conf\" }\n");
	write_file("redis.conf", "servers = \"127.0.0.1:6379\";\npassword = \"s3cret\";\n");
	assert_int_equal(chmod(path, 0644), 0);
	assert_int_equal(chmod(inc, 0604), 0);
	diags_free(&g_d);
	diags_init(&g_d);
	assert_int_equal(config_load(path, &cfg, &g_d), SIGNET_OK);
	assert_int_equal(g_d.nwarnings, 1);
	snprintf(want, sizeof want, "%s:2:1: redis.password is set in %s, which every", inc, inc);
	assert_non_null(strstr(g_d.v[0].msg, want));
	config_free(cfg);
	assert_int_equal(chmod(inc, 0600), 0);
	diags_free(&g_d);
	diags_init(&g_d);
	assert_int_equal(config_load(path, &cfg, &g_d), SIGNET_OK);
	assert_int_equal(g_d.n, 0); /* the main file holds no password */
	config_free(cfg);
	remove_dir();
}

/* REDIS-AUTH-05: the password is a secret: --dump-config shows that one is
 * set, never its value; username and db are shown. */
static void REDIS_AUTH_05_dump_hides_the_password(void **state)
{
	(void)state;
	struct signetd_config *cfg =
		load_ok("redis { servers = \"127.0.0.1:6379\"; password = \"s3cret-r\"; db = 7; }\n"
			"dkim_signing { servers = \"127.0.0.1:6380\"; password = \"s3cret-d\"; "
			"username = \"acl-user\"; }\n");
	char *d = dump_to_string(cfg);
	assert_null(strstr(d, "s3cret"));
	assert_non_null(strstr(d, "redis { servers = [\"127.0.0.1:6379\"]; timeout = 1s; password "
				  "= \"(hidden)\"; db = 7; }\n"));
	assert_non_null(strstr(d, "  timeout = 1s;\n  password = \"(hidden)\";\n  username = "
				  "\"acl-user\";\n  db = 0;\n"));
	free(d);
	config_free(cfg);
	cfg = load_ok("redis { servers = \"127.0.0.1:6379\"; }");
	d = dump_to_string(cfg);
	assert_null(strstr(d, "password"));
	free(d);
	config_free(cfg);
}

/* diag.c: the list keeps every message and counts levels. */
static void config_diags_list(void **state)
{
	(void)state;
	struct diags d;
	diags_init(&d);
	for (int k = 0; k < DIAG_MAX_COUNT + 2; k++)
		diags_add(&d, k % 2 ? DIAG_WARNING : DIAG_ERROR, "m%d", k);
	assert_int_equal(d.n, DIAG_MAX_COUNT);
	assert_int_equal(d.dropped, 2);
	assert_int_equal(d.nerrors + d.nwarnings, DIAG_MAX_COUNT + 2);
	assert_string_equal(diags_find(&d, "m99"), "m99");
	assert_null(diags_find(&d, "m1000"));
	char big[DIAG_MAX_MSG + 100];
	memset(big, 'x', sizeof big - 1);
	big[sizeof big - 1] = '\0';
	diags_free(&d);
	diags_init(&d);
	diags_add(&d, DIAG_ERROR, "%s", big);
	assert_int_equal(strlen(d.v[0].msg), DIAG_MAX_MSG);
	assert_string_equal(d.v[0].msg + DIAG_MAX_MSG - 3, "..."); /* cut visibly */
	diags_free(&d);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_teardown(config_design_example, teardown),
		cmocka_unit_test_teardown(config_defaults, teardown),
		cmocka_unit_test_teardown(config_use_redis_keys, teardown),
		cmocka_unit_test_teardown(ROT_FLEET_01_rotation_redis_key, teardown),
		cmocka_unit_test_teardown(config_socket_forms, teardown),
		cmocka_unit_test_teardown(AR_SYN_03_authserv_id_refused, teardown),
		cmocka_unit_test_teardown(config_local_addrs_matcher, teardown),
		cmocka_unit_test_teardown(config_on_error_dns_log_workers, teardown),
		cmocka_unit_test_teardown(config_unknown_keys_suggest, teardown),
		cmocka_unit_test_teardown(config_unsupported_rspamd_keys_warned, teardown),
		cmocka_unit_test_teardown(config_type_errors, teardown),
		cmocka_unit_test_teardown(config_dkim_signing_flags, teardown),
		cmocka_unit_test_teardown(config_sign_headers, teardown),
		cmocka_unit_test_teardown(config_domains_rspamd_forms, teardown),
		cmocka_unit_test_teardown(config_domain_errors, teardown),
		cmocka_unit_test_teardown(config_include_rspamd_file, teardown),
		cmocka_unit_test_teardown(config_verify_l_policy_and_health_interval, teardown),
		cmocka_unit_test_teardown(config_choice_keys, teardown),
		cmocka_unit_test_teardown(config_spf_section, teardown),
		cmocka_unit_test_teardown(config_dmarc_section, teardown),
		cmocka_unit_test_teardown(config_arc_section, teardown),
		cmocka_unit_test_teardown(config_dump_round_trip, teardown),
		cmocka_unit_test_teardown(config_redis_section, teardown),
		cmocka_unit_test_teardown(REDIS_AUTH_01_config_keys, teardown),
		cmocka_unit_test_teardown(REDIS_AUTH_05_dump_hides_the_password, teardown),
		cmocka_unit_test_teardown(REDIS_AUTH_06_password_file_mode, teardown),
		cmocka_unit_test_teardown(config_diags_list, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
