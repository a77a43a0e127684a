/* test_keystore.c: signetd's key store (conf/keystore.c) with key files made at
 * test time in a temp dir: good RSA and ed25519 keys, and each problem with
 * its exact message and fix: missing file or directory, mode 0644, not
 * readable by the daemon user (stat-based, so it works as root), an
 * unreachable directory, not PEM, a directory, empty, too large, RSA 512,
 * RSA 1024, algorithm mismatch, unknown user; the fallback path template;
 * lookups; reference counting. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <grp.h>
#include <pwd.h>
#include <sys/stat.h>
#include <cmocka.h>

#include "keystore.h"

static char g_dir[64];
static char g_rsa_pem[4096], g_ed_pem[512], g_rsa1024_pem[2048];
static struct diags g_d;

static const char rsa512_pem[] =
	"-----BEGIN PRIVATE KEY-----\n"
	"MIIBVgIBADANBgkqhkiG9w0BAQEFAASCAUAwggE8AgEAAkEA2TCYpHHcA0urdLRR\n"
	"pFIVJUexmDTM49WOCn1pbcFI4Lh0/mVSmpJnZOe7Y+4FaBvqN5jaQiFqyfGVua1w\n"
	"HtsA0QIDAQABAkEAplEKctMmEff+Qg5bfqPEwZmXK+EzDT1Z2jqTY5LhxgLRbnGr\n"
	"oEXobgTEk4Sxr9/rc3SSp12NCAkbz6X20kNYAQIhAPPBVv+nd/53ZWM9fx8pXMzA\n"
	"hIhAMQXqR9gf/SV9rsfBAiEA5Bmg+mVox0bVCgLcxPFV3S9riX8wRFyjLnY1AfBW\n"
	"/RECIQCc8CcmVNmSEadKfOai1ou0HGN4IfQuPcfh476l68SjQQIgbGZFm1mgHrvp\n"
	"uHU9x5ZNUO0dNN2t6X8Aya7BaCd4n5ECIQCRKiUB0Ytul6S0Ue7+0f2Dcuq46vSm\n"
	"a2UdjRTAdm/0bA==\n"
	"-----END PRIVATE KEY-----\n";

static void gen_pem(enum signet_keytype t, unsigned bits, char *out, size_t cap)
{
	struct signet_key *k = NULL;
	struct signet_error err = {0};
	size_t len;
	assert_int_equal(signet_key_generate(t, bits, &k, &err), SIGNET_OK);
	assert_int_equal(signet_key_write_pem(k, out, cap, &len, &err), SIGNET_OK);
	signet_key_free(k);
}

static int group_setup(void **state)
{
	(void)state;
	gen_pem(SIGNET_KEY_RSA, 2048, g_rsa_pem, sizeof g_rsa_pem);
	gen_pem(SIGNET_KEY_RSA, 1024, g_rsa1024_pem, sizeof g_rsa1024_pem);
	gen_pem(SIGNET_KEY_ED25519, 0, g_ed_pem, sizeof g_ed_pem);
	return 0;
}

/* A fresh temp dir (mode 0755, so another user may pass) per test. */
static int setup(void **state)
{
	(void)state;
	strcpy(g_dir, "/tmp/signet-keys-XXXXXX");
	if (mkdtemp(g_dir) == NULL || chmod(g_dir, 0755) != 0)
		return -1;
	diags_init(&g_d);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	char cmd[128];
	snprintf(cmd, sizeof cmd, "rm -rf %s", g_dir);
	diags_free(&g_d);
	return system(cmd) == 0 ? 0 : -1;
}

static const char *path_of(const char *name, char *buf, size_t cap)
{
	snprintf(buf, cap, "%s/%s", g_dir, name);
	return buf;
}

static void put(const char *name, const void *data, size_t len, mode_t mode)
{
	char p[256];
	FILE *f = fopen(path_of(name, p, sizeof p), "w");
	assert_non_null(f);
	assert_int_equal(fwrite(data, 1, len, f), len);
	fclose(f);
	assert_int_equal(chmod(p, mode), 0);
}

static void put_str(const char *name, const char *text, mode_t mode)
{
	put(name, text, strlen(text), mode);
}

/* Loads a config whose text has %s for the temp dir (several times). */
static struct signetd_config *cfg_of(const char *fmt)
{
	char text[4096];
	snprintf(text, sizeof text, fmt, g_dir, g_dir, g_dir, g_dir);
	struct signetd_config *cfg = NULL;
	struct diags d;
	diags_init(&d);
	if (config_parse("/etc/signet/signetd.conf", (const uint8_t *)text, strlen(text), &cfg, &d) !=
	    SIGNET_OK) {
		diags_print(&d, stderr, "  ");
		fail_msg("config did not load");
	}
	diags_free(&d);
	return cfg;
}

static enum signet_status load(const char *fmt, struct keystore **ks)
{
	struct signetd_config *cfg = cfg_of(fmt);
	diags_free(&g_d);
	diags_init(&g_d);
	enum signet_status st = keystore_load(cfg, ks, &g_d);
	config_free(cfg);
	return st;
}

/* Expects one message of the level, equal to want with %s = the temp dir. */
static void assert_only(enum diag_level lvl, const char *want_fmt)
{
	char want[2048];
	snprintf(want, sizeof want, want_fmt, g_dir, g_dir, g_dir, g_dir, g_dir, g_dir);
	if (g_d.n != 1) {
		diags_print(&g_d, stderr, "  got ");
		fail_msg("expected exactly one message");
	}
	assert_int_equal(g_d.v[0].level, lvl);
	assert_string_equal(g_d.v[0].msg, want);
}

static const char one_key_cfg[] =
	"dkim_signing { domain { example.com { selector = s1; path = \"%s/k.key\"; } } }";
#define ONE_KEY_AT "/etc/signet/signetd.conf:1:25: "

static void keys_load_rsa_and_ed25519(void **state)
{
	(void)state;
	put_str("rsa.key", g_rsa_pem, 0600);
	put_str("ed.key", g_ed_pem, 0600);
	struct keystore *ks = NULL;
	assert_int_equal(load("dkim_signing { domain {\n"
			      " example.com { selectors = [ { selector = rsa2024; path = "
			      "\"%s/rsa.key\"; }, { selector = ed2024; path = \"%s/ed.key\"; "
			      "algorithm = ed25519-sha256 } ] }\n"
			      " example.org { selector = s1; path = \"%s/ed.key\"; } } }",
			      &ks),
			 SIGNET_OK);
	assert_int_equal(g_d.n, 0);
	assert_int_equal(keystore_count(ks), 3);
	size_t n;
	const struct keystore_key *k = keystore_find(ks, "EXAMPLE.com.", &n);
	assert_int_equal(n, 2);
	assert_string_equal(k[0].domain, "example.com");
	assert_string_equal(k[0].selector, "rsa2024");
	assert_int_equal(signet_key_type(k[0].key), SIGNET_KEY_RSA);
	assert_int_equal(signet_key_bits(k[0].key), 2048);
	assert_string_equal(k[1].selector, "ed2024");
	assert_int_equal(signet_key_type(k[1].key), SIGNET_KEY_ED25519);
	assert_false(k[1].fallback);
	k = keystore_find(ks, "example.org", &n);
	assert_int_equal(n, 1);
	assert_string_equal(k->selector, "s1");
	/* no parent, no child, no partial names */
	assert_null(keystore_find(ks, "sub.example.com", &n));
	assert_int_equal(n, 0);
	assert_null(keystore_find(ks, "example", &n));
	assert_null(keystore_find(ks, "", &n));
	assert_null(keystore_find(ks, NULL, &n));
	assert_null(keystore_find_fallback(ks, "example.com"));
	assert_non_null(keystore_at(ks, 2));
	assert_null(keystore_at(ks, 3));
	/* shared by reference: the last free frees (ASan sees a double free) */
	struct keystore *ref = keystore_ref(ks);
	assert_ptr_equal(ref, ks);
	keystore_free(ks);
	assert_int_equal(keystore_count(ref), 3);
	keystore_free(ref);
	keystore_free(NULL);
}

static void keys_missing_file_says_keygen(void **state)
{
	(void)state;
	struct keystore *ks = NULL;
	assert_int_equal(load(one_key_cfg, &ks), SIGNET_ERR_KEY);
	assert_null(ks);
	assert_only(DIAG_ERROR, ONE_KEY_AT "key file %s/k.key (domain example.com, selector s1): not "
					   "found — create it with: signet keygen -d example.com -s "
					   "s1 -k %s/k.key");
	assert_int_equal(load("dkim_signing { domain { example.com { selector = s1; path = "
			      "\"%s/no/dir/k.key\"; algorithm = ed25519-sha256; } } }",
			      &ks),
			 SIGNET_ERR_KEY);
	assert_only(DIAG_ERROR, ONE_KEY_AT "key file %s/no/dir/k.key (domain example.com, selector "
					   "s1): not found, and directory %s/no/dir does not exist "
					   "either — create them with: mkdir -p %s/no/dir && signet "
					   "keygen -t ed25519 -d example.com -s s1 -k %s/no/dir/k.key");
}

/* SECURITY.md "Private key files" (as OpenDKIM's RequireSafeKeys): a key
 * others may read or write is refused, so a reload keeps the old keys. */
static void keys_mode_0644_0666_refused(void **state)
{
	(void)state;
	struct keystore *ks = NULL;
	static const struct {
		mode_t mode;
		const char *what;
	} bad[] = {{0644, "readable by others (mode 0644): any local user could copy"},
		   {0666, "readable by others (mode 0666): any local user could copy"},
		   {0604, "readable by others (mode 0604): any local user could copy"},
		   {0602, "writable by others (mode 0602): any local user could replace"}};
	for (size_t k = 0; k < sizeof bad / sizeof bad[0]; k++) {
		char want[1024];
		put_str("k.key", g_ed_pem, bad[k].mode);
		assert_int_equal(load(one_key_cfg, &ks), SIGNET_ERR_KEY);
		assert_null(ks);
		snprintf(want, sizeof want,
			 ONE_KEY_AT "key file %%s/k.key (domain example.com, selector s1): %s the "
				    "private key, so it is refused — fix: chmod 600 %%s/k.key",
			 bad[k].what);
		assert_only(DIAG_ERROR, want);
	}
}

/* Group-readable with a group of only the daemon user (root here, group
 * root: no other member) stays a warning; 0600/0400 say nothing. */
static void keys_mode_0640_own_group_warns(void **state)
{
	(void)state;
	char p[256];
	struct keystore *ks = NULL;
	put_str("k.key", g_ed_pem, 0640);
	assert_int_equal(chown(path_of("k.key", p, sizeof p), 0, 0), 0);
	assert_int_equal(load(one_key_cfg, &ks), SIGNET_OK);
	assert_only(DIAG_WARNING, ONE_KEY_AT "key file %s/k.key (domain example.com, selector s1): "
					     "readable by group or others (mode 0640) — fix: chmod "
					     "600 %s/k.key");
	keystore_free(ks);
	put_str("k.key", g_ed_pem, 0600);
	assert_int_equal(load(one_key_cfg, &ks), SIGNET_OK);
	assert_int_equal(g_d.n, 0);
	keystore_free(ks);
	put_str("k.key", g_ed_pem, 0400);
	assert_int_equal(load(one_key_cfg, &ks), SIGNET_OK);
	assert_int_equal(g_d.n, 0);
	keystore_free(ks);
}

/* The users of group gid other than skip and root (members and primary). */
static size_t other_members(gid_t gid, uid_t skip)
{
	size_t n = 0;
	struct group *gr = getgrgid(gid);
	for (char **m = gr ? gr->gr_mem : NULL; m != NULL && *m != NULL; m++) {
		struct passwd *pw = getpwnam(*m);
		n += pw == NULL || (pw->pw_uid != skip && pw->pw_uid != 0);
	}
	struct passwd *pw;
	setpwent();
	while ((pw = getpwent()) != NULL)
		n += pw->pw_gid == gid && pw->pw_uid != skip && pw->pw_uid != 0;
	endpwent();
	return n;
}

/* A group holding users besides the daemon user is refused, whether the
 * daemon reads through it or not, and the message names those users. */
static void keys_mode_0640_group_with_others_refused(void **state)
{
	(void)state;
	struct group *gr = getgrnam("nogroup");
	struct passwd *pw = getpwnam("sync");
	if (gr == NULL || pw == NULL || pw->pw_gid != gr->gr_gid || geteuid() != 0) {
		print_message("SKIP: needs root, group nogroup and user sync in it\n");
		skip();
	}
	assert_true(other_members(gr->gr_gid, 0) > 0);
	char p[256];
	struct keystore *ks = NULL;
	put_str("k.key", g_ed_pem, 0640);
	assert_int_equal(chown(path_of("k.key", p, sizeof p), 0, gr->gr_gid), 0);
	assert_int_equal(load(one_key_cfg, &ks), SIGNET_ERR_KEY);
	assert_int_equal(g_d.n, 1);
	char head[512];
	snprintf(head, sizeof head,
		 ONE_KEY_AT "key file %s/k.key (domain example.com, selector s1): readable by "
			    "group nogroup (mode 0640), which also holds ",
		 g_dir);
	const char *msg = g_d.v[0].msg;
	assert_int_equal(strncmp(msg, head, strlen(head)), 0);
	assert_non_null(strstr(msg + strlen(head), "sync"));
	char tail[512];
	snprintf(tail, sizeof tail,
		 ": they could copy the private key, so it is refused — fix: chmod 600 %s/k.key",
		 g_dir);
	assert_string_equal(msg + strlen(msg) - strlen(tail), tail);
	/* group-writable only: "replace" */
	assert_int_equal(chmod(p, 0620), 0);
	assert_int_equal(load(one_key_cfg, &ks), SIGNET_ERR_KEY);
	assert_non_null(strstr(g_d.v[0].msg, "writable by group nogroup (mode 0620)"));
}

/* user = mail reading through group mail, which holds no one else: the
 * layout SECURITY.md recommends (root:GROUP 0640), no message. */
static void keys_group_of_only_daemon_user_ok(void **state)
{
	(void)state;
	struct passwd *pw = getpwnam("mail");
	if (pw == NULL || geteuid() != 0 || other_members(pw->pw_gid, pw->pw_uid) != 0) {
		print_message("SKIP: needs root and a user mail alone in its group\n");
		skip();
	}
	char p[256];
	struct keystore *ks = NULL;
	put_str("k.key", g_ed_pem, 0640);
	assert_int_equal(chown(path_of("k.key", p, sizeof p), 0, pw->pw_gid), 0);
	assert_int_equal(load("user = mail\ndkim_signing { domain { example.com { selector = s1; "
			      "path = \"%s/k.key\"; } } }",
			      &ks),
			 SIGNET_OK);
	assert_int_equal(g_d.n, 0);
	keystore_free(ks);
}

static const char nobody_cfg[] = "user = nobody\n"
				 "dkim_signing { domain { example.com { selector = s1; path = "
				 "\"%s/k.key\"; } } }";
#define NOBODY_AT "/etc/signet/signetd.conf:2:25: "

/* Checked for the configured user with stat(), so it works as root. */
static void keys_not_readable_by_daemon_user(void **state)
{
	(void)state;
	struct passwd *pw = getpwnam("nobody");
	if (pw == NULL) {
		print_message("SKIP: no user 'nobody'\n");
		skip();
	}
	char p[256];
	put_str("k.key", g_ed_pem, 0600);
	assert_int_equal(chown(path_of("k.key", p, sizeof p), 0, 0), 0);
	struct keystore *ks = NULL;
	assert_int_equal(load(nobody_cfg, &ks), SIGNET_ERR_KEY);
	char want[1024];
	snprintf(want, sizeof want, NOBODY_AT "key file %%s/k.key (domain example.com, selector s1): "
					      "not readable by user nobody (uid %u): Permission "
					      "denied; file is mode 0600 owned by root — fix: chown "
					      "nobody %%s/k.key",
		 (unsigned)pw->pw_uid);
	assert_only(DIAG_ERROR, want);
	/* readable only because others may: refused, the fix gives it to the user */
	assert_int_equal(chown(p, 0, 0), 0);
	assert_int_equal(chmod(p, 0644), 0);
	assert_int_equal(load(nobody_cfg, &ks), SIGNET_ERR_KEY);
	assert_only(DIAG_ERROR, NOBODY_AT "key file %s/k.key (domain example.com, selector s1): "
					  "readable by others (mode 0644): any local user could copy "
					  "the private key, so it is refused — fix: chown nobody "
					  "%s/k.key && chmod 600 %s/k.key");
	/* a directory on the way the user cannot pass */
	assert_int_equal(chmod(g_dir, 0700), 0);
	assert_int_equal(load(nobody_cfg, &ks), SIGNET_ERR_KEY);
	snprintf(want, sizeof want, NOBODY_AT "key file %%s/k.key (domain example.com, selector s1): "
					      "not readable by user nobody (uid %u): directory %%s "
					      "is mode 0700 owned by root, so the user cannot reach "
					      "the key — fix: chown nobody %%s (or chmod o+x %%s)",
		 (unsigned)pw->pw_uid);
	assert_only(DIAG_ERROR, want);
}

static void keys_unknown_user(void **state)
{
	(void)state;
	put_str("k.key", g_ed_pem, 0600);
	struct keystore *ks = NULL;
	assert_int_equal(load("user = \"no-such-user-signet\"\ndkim_signing { domain { example.com { "
			      "selector = s1; path = \"%s/k.key\"; } } }",
			      &ks),
			 SIGNET_ERR_KEY);
	assert_only(DIAG_ERROR, "/etc/signet/signetd.conf: user 'no-such-user-signet' does not exist "
				"— create it with: adduser --system --group --no-create-home "
				"no-such-user-signet");
}

static void keys_not_pem(void **state)
{
	(void)state;
	put_str("k.key", "this is not a key\n", 0600);
	struct keystore *ks = NULL;
	assert_int_equal(load(one_key_cfg, &ks), SIGNET_ERR_KEY);
	assert_only(DIAG_ERROR, ONE_KEY_AT "key file %s/k.key (domain example.com, selector s1): not "
					   "a PEM private key (expected -----BEGIN PRIVATE KEY-----, "
					   "or the base64 of a 32-byte Ed25519 seed) — fix: make a "
					   "new key with: signet keygen -d example.com -s s1 -k "
					   "%s/k.key (move the old file away first; keygen does not "
					   "overwrite), then publish its DNS record");
	/* a public key in the private key's place */
	put_str("k.key", "-----BEGIN PUBLIC KEY-----\nMCowBQYDK2VwAyEA\n-----END PUBLIC KEY-----\n",
		0600);
	assert_int_equal(load(one_key_cfg, &ks), SIGNET_ERR_KEY);
	assert_non_null(strstr(g_d.v[0].msg, "s1): this is a public key or certificate, not a "
					     "private key"));
	/* a NUL in the middle and a truncated PEM */
	char half[600];
	size_t hl = strlen(g_ed_pem) / 2;
	memcpy(half, g_ed_pem, hl);
	put("k.key", half, hl, 0600);
	assert_int_equal(load(one_key_cfg, &ks), SIGNET_ERR_KEY);
	assert_non_null(strstr(g_d.v[0].msg, "s1): PEM private key does not parse"));
	memcpy(half, g_ed_pem, strlen(g_ed_pem));
	half[30] = '\0';
	put("k.key", half, strlen(g_ed_pem), 0600);
	assert_int_equal(load(one_key_cfg, &ks), SIGNET_ERR_KEY);
	assert_int_equal(g_d.nerrors, 1);
}

static void keys_directory_empty_device(void **state)
{
	(void)state;
	char p[256];
	assert_int_equal(mkdir(path_of("k.key", p, sizeof p), 0700), 0);
	struct keystore *ks = NULL;
	assert_int_equal(load(one_key_cfg, &ks), SIGNET_ERR_KEY);
	assert_only(DIAG_ERROR, ONE_KEY_AT "key file %s/k.key (domain example.com, selector s1): is "
					   "a directory, not a key file — set path to the key file "
					   "itself, e.g. %s/k.key/example.com.s1.key (create it "
					   "with: signet keygen -d example.com -s s1 -k "
					   "%s/k.key/example.com.s1.key)");
	assert_int_equal(rmdir(p), 0);
	put_str("k.key", "", 0600);
	assert_int_equal(load(one_key_cfg, &ks), SIGNET_ERR_KEY);
	assert_only(DIAG_ERROR, ONE_KEY_AT "key file %s/k.key (domain example.com, selector s1): is "
					   "empty — remove it and create the key with: signet keygen "
					   "-d example.com -s s1 -k %s/k.key");
	assert_int_equal(load("dkim_signing { domain { example.com { selector = s1; path = "
			      "\"/dev/null\"; } } }",
			      &ks),
			 SIGNET_ERR_KEY);
	assert_only(DIAG_ERROR, ONE_KEY_AT "key file /dev/null (domain example.com, selector s1): is "
					   "a character device, not a regular file — set path to a "
					   "key file made with: signet keygen -d example.com -s s1 -k "
					   "/dev/null");
}

/* A FIFO as key path is refused by its type, never opened for a blocking
 * read (issue #12: `signet sign -k FIFO` hung). alarm() fails a hang. */
static void keys_fifo_refused_without_hang(void **state)
{
	(void)state;
	char p[256];
	struct keystore *ks = NULL;
	assert_int_equal(mkfifo(path_of("k.key", p, sizeof p), 0600), 0);
	alarm(10);
	assert_int_equal(load(one_key_cfg, &ks), SIGNET_ERR_KEY);
	alarm(0);
	assert_only(DIAG_ERROR, ONE_KEY_AT "key file %s/k.key (domain example.com, selector s1): is "
					   "a FIFO, not a regular file — set path to a key file made "
					   "with: signet keygen -d example.com -s s1 -k %s/k.key");
}

/* KEYS_MAX_FILE at limit-1 and limit reach the parser; limit+1 is refused unread. */
static void keys_limit_file_size(void **state)
{
	(void)state;
	char *big = malloc(KEYS_MAX_FILE + 1);
	assert_non_null(big);
	memset(big, 'A', KEYS_MAX_FILE + 1);
	struct keystore *ks = NULL;
	size_t sizes[] = {KEYS_MAX_FILE - 1, KEYS_MAX_FILE};
	for (size_t k = 0; k < 2; k++) {
		put("k.key", big, sizes[k], 0600);
		assert_int_equal(load(one_key_cfg, &ks), SIGNET_ERR_KEY);
		assert_non_null(strstr(g_d.v[0].msg, "s1): not a PEM private key"));
	}
	put("k.key", big, KEYS_MAX_FILE + 1, 0600);
	assert_int_equal(load(one_key_cfg, &ks), SIGNET_ERR_KEY);
	assert_only(DIAG_ERROR, ONE_KEY_AT "key file %s/k.key (domain example.com, selector s1): is "
					   "65537 bytes, more than KEYS_MAX_FILE (65536): not a "
					   "private key");
	free(big);
}

static void keys_rsa_sizes(void **state)
{
	(void)state;
	put_str("k.key", rsa512_pem, 0600);
	struct keystore *ks = NULL;
	assert_int_equal(load(one_key_cfg, &ks), SIGNET_ERR_KEY);
	assert_only(DIAG_ERROR, ONE_KEY_AT "key file %s/k.key (domain example.com, selector s1): RSA "
					   "key of 512 bits refused (RFC 8301: 1024 to 4096 bits; "
					   "make a 2048-bit key) — fix: make a new key with: signet "
					   "keygen -d example.com -s s1 -k %s/k.key (move the old "
					   "file away first; keygen does not overwrite), then "
					   "publish its DNS record");
	put_str("k.key", g_rsa1024_pem, 0600);
	assert_int_equal(load(one_key_cfg, &ks), SIGNET_OK);
	assert_only(DIAG_WARNING, ONE_KEY_AT "key file %s/k.key (domain example.com, selector s1): "
					     "is an RSA 1024-bit key; RFC 8301 3.2 asks signers for "
					     "at least 2048 bits — make a new key with: signet keygen "
					     "-b 2048 -d example.com -s NEWSELECTOR -k NEWFILE");
	keystore_free(ks);
}

static void keys_algorithm_mismatch(void **state)
{
	(void)state;
	put_str("k.key", g_rsa_pem, 0600);
	struct keystore *ks = NULL;
	assert_int_equal(load("dkim_signing { domain { example.com { selector = s1; path = "
			      "\"%s/k.key\"; algorithm = ed25519-sha256 } } }",
			      &ks),
			 SIGNET_ERR_KEY);
	assert_only(DIAG_ERROR, ONE_KEY_AT "key file %s/k.key (domain example.com, selector s1): is "
					   "an RSA 2048-bit key but algorithm = \"ed25519-sha256\" is "
					   "configured — fix: point path at an ed25519 key (signet "
					   "keygen -t ed25519 -d example.com -s s1 -k NEWFILE) or "
					   "change algorithm");
	put_str("k.key", g_ed_pem, 0600);
	assert_int_equal(load("dkim_signing { domain { example.com { selector = s1; path = "
			      "\"%s/k.key\"; algorithm = rsa-sha256 } } }",
			      &ks),
			 SIGNET_ERR_KEY);
	assert_non_null(strstr(g_d.v[0].msg, "s1): is an ed25519 key but algorithm = "
					     "\"rsa-sha256\" is configured"));
}

/* Every bad key is reported in one run, and nothing is loaded. */
static void keys_all_problems_reported(void **state)
{
	(void)state;
	put_str("good.key", g_ed_pem, 0600);
	put_str("bad.key", "x", 0600);
	struct keystore *ks = NULL;
	assert_int_equal(load("dkim_signing { domain { a.example { selector = s; path = "
			      "\"%s/good.key\" } b.example { selector = s; path = \"%s/bad.key\" } "
			      "c.example { selector = s; path = \"%s/none.key\" } } }",
			      &ks),
			 SIGNET_ERR_KEY);
	assert_null(ks);
	assert_int_equal(g_d.nerrors, 2);
	assert_non_null(diags_find(&g_d, "(domain b.example, selector s): not a PEM"));
	assert_non_null(diags_find(&g_d, "(domain c.example, selector s): not found"));
}

static void keys_no_keys_warns(void **state)
{
	(void)state;
	struct keystore *ks = NULL;
	assert_int_equal(load("", &ks), SIGNET_OK);
	assert_only(DIAG_WARNING, "/etc/signet/signetd.conf: no signing keys are configured "
				  "(dkim_signing { domain { ... } }): signetd will only verify");
	assert_int_equal(keystore_count(ks), 0);
	keystore_free(ks);
	assert_int_equal(load("dkim_signing { enabled = false }", &ks), SIGNET_OK);
	assert_int_equal(g_d.n, 0);
	keystore_free(ks);
}

/* rspamd's fallback: the top-level path template, $domain found by glob. */
static void keys_fallback_template(void **state)
{
	(void)state;
	put_str("a.example.dkim.key", g_ed_pem, 0600);
	put_str("B.Example.dkim.key", g_rsa_pem, 0600);
	put_str("c.example.other.key", g_ed_pem, 0600); /* another selector: not matched */
	put_str("x..dkim.key", "junk", 0600);           /* not a domain name: skipped */
	put_str("k.key", g_ed_pem, 0600);
	struct keystore *ks = NULL;
	assert_int_equal(load("dkim_signing { path = \"%s/$domain.$selector.key\"; domain { "
			      "example.com { selector = s1; path = \"%s/k.key\" } } }",
			      &ks),
			 SIGNET_OK);
	assert_int_equal(g_d.n, 0);
	assert_int_equal(keystore_count(ks), 3);
	const struct keystore_key *k = keystore_find_fallback(ks, "A.EXAMPLE");
	assert_non_null(k);
	assert_string_equal(k->domain, "a.example");
	assert_string_equal(k->selector, "dkim");
	assert_true(k->fallback);
	k = keystore_find_fallback(ks, "b.example.");
	assert_non_null(k);
	assert_int_equal(signet_key_type(k->key), SIGNET_KEY_RSA);
	assert_null(keystore_find_fallback(ks, "c.example"));
	size_t n;
	assert_null(keystore_find(ks, "a.example", &n)); /* fallback keys are not domain { } keys */
	keystore_free(ks);
	/* try_fallback = false: the template is not used */
	assert_int_equal(load("dkim_signing { try_fallback = false; path = "
			      "\"%s/$domain.$selector.key\"; domain { example.com { selector = s1; "
			      "path = \"%s/k.key\" } } }",
			      &ks),
			 SIGNET_OK);
	assert_int_equal(keystore_count(ks), 1);
	keystore_free(ks);
	/* a template without $domain: one key for every domain */
	assert_int_equal(load("dkim_signing { selector = mail; path = \"%s/k.key\" }", &ks),
			 SIGNET_OK);
	k = keystore_find_fallback(ks, "anything.example");
	assert_non_null(k);
	assert_string_equal(k->domain, "*");
	assert_string_equal(k->selector, "mail");
	keystore_free(ks);
	/* a template that matches nothing */
	assert_int_equal(load("dkim_signing { path = \"%s/none/$domain.key\"; domain { "
			      "example.com { selector = s1; path = \"%s/k.key\" } } }",
			      &ks),
			 SIGNET_OK);
	assert_only(DIAG_WARNING, "/etc/signet/signetd.conf: dkim_signing.path %s/none/$domain.key "
				  "matches no key file; only the domains under domain { } will be "
				  "signed");
	keystore_free(ks);
	/* a bad file the template matches is an error like any other */
	put_str("d.example.dkim.key", "junk", 0600);
	assert_int_equal(load("dkim_signing { path = \"%s/$domain.$selector.key\" }", &ks),
			 SIGNET_ERR_KEY);
	assert_non_null(diags_find(&g_d, "/etc/signet/signetd.conf: dkim_signing.path fallback: key "
					 "file "));
	assert_non_null(diags_find(&g_d, "/d.example.dkim.key (domain d.example, selector dkim): "
					 "not a PEM private key"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(keys_load_rsa_and_ed25519, setup, teardown),
		cmocka_unit_test_setup_teardown(keys_missing_file_says_keygen, setup, teardown),
		cmocka_unit_test_setup_teardown(keys_mode_0644_0666_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(keys_mode_0640_own_group_warns, setup, teardown),
		cmocka_unit_test_setup_teardown(keys_mode_0640_group_with_others_refused, setup,
						teardown),
		cmocka_unit_test_setup_teardown(keys_group_of_only_daemon_user_ok, setup, teardown),
		cmocka_unit_test_setup_teardown(keys_not_readable_by_daemon_user, setup, teardown),
		cmocka_unit_test_setup_teardown(keys_unknown_user, setup, teardown),
		cmocka_unit_test_setup_teardown(keys_not_pem, setup, teardown),
		cmocka_unit_test_setup_teardown(keys_directory_empty_device, setup, teardown),
		cmocka_unit_test_setup_teardown(keys_fifo_refused_without_hang, setup, teardown),
		cmocka_unit_test_setup_teardown(keys_limit_file_size, setup, teardown),
		cmocka_unit_test_setup_teardown(keys_rsa_sizes, setup, teardown),
		cmocka_unit_test_setup_teardown(keys_algorithm_mismatch, setup, teardown),
		cmocka_unit_test_setup_teardown(keys_all_problems_reported, setup, teardown),
		cmocka_unit_test_setup_teardown(keys_no_keys_warns, setup, teardown),
		cmocka_unit_test_setup_teardown(keys_fallback_template, setup, teardown),
	};
	return cmocka_run_group_tests(tests, group_setup, NULL);
}
