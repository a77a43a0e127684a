/* test_psl.c: the public suffix list (lib/psl.c) for DKIM-VER-17: the
 * matcher on small lists (rules, wildcards, exceptions, ICANN and private
 * sections, case, a final dot, U-labels and A-labels, what is no name),
 * malformed lists and the limits, Debian's real list, the verifier's note
 * and the Authentication-Results comment, and signetd's
 * verify.public_suffix_list (conf/config.c: a missing or malformed file
 * is a warning and the check is off). */
#include "testutil.h"

#include <unistd.h>

#include <signet/ar.h>
#include <signet/psl.h>

#include "config.h"
#include "diag.h"

static struct signet_psl *parse_ok(const char *text)
{
	struct signet_psl *psl = NULL;
	struct signet_error err = {0};
	if (signet_psl_parse((const uint8_t *)text, strlen(text), &psl, &err) != SIGNET_OK)
		fail_msg("psl parse: %s", err.msg);
	assert_non_null(psl);
	return psl;
}

static void expect_refused(const char *text, size_t len, enum signet_status st, const char *msg)
{
	struct signet_psl *psl = (struct signet_psl *)1;
	struct signet_error err = {0};
	assert_int_equal(signet_psl_parse((const uint8_t *)text, len, &psl, &err), st);
	assert_null(psl);
	if (strstr(err.msg, msg) == NULL)
		fail_msg("error '%s' does not contain '%s'", err.msg, msg);
}

static bool suffix(const struct signet_psl *psl, const char *d)
{
	return signet_psl_is_suffix(psl, d, strlen(d));
}

static const char small_list[] =
	"// a comment line\n"
	"// ===BEGIN ICANN DOMAINS===\n"
	"com\n"
	"uk\n"
	"co.uk\n"
	"jp\n"
	"*.kawasaki.jp\n"
	"!city.kawasaki.jp\n"
	"*.ck\n"
	"!www.ck\n"
	"\xe5\x85\xac\xe5\x8f\xb8.cn\n" /* 公司.cn */
	"io\n"
	"// ===END ICANN DOMAINS===\n"
	"// ===BEGIN PRIVATE DOMAINS===\n"
	"github.io\n"
	"*.compute.example\n"
	"// ===END PRIVATE DOMAINS===\n";

static void psl_exact_rules(void **state)
{
	(void)state;
	struct signet_psl *psl = parse_ok(small_list);
	assert_true(suffix(psl, "com"));
	assert_true(suffix(psl, "co.uk"));
	assert_true(suffix(psl, "uk"));
	assert_false(suffix(psl, "example.com"));
	assert_false(suffix(psl, "example.co.uk"));
	assert_false(suffix(psl, "a.b.example.co.uk"));
	/* the length is what counts, not a NUL */
	assert_true(signet_psl_is_suffix(psl, "co.ukXYZ", 5));
	/* 10 names: com uk co.uk jp kawasaki.jp city.kawasaki.jp ck www.ck xn--55qx5d.cn io */
	assert_int_equal(signet_psl_rules(psl), 10);
	signet_psl_free(psl);
}

static void psl_not_a_suffix(void **state)
{
	/* No rule at that depth: registrable names and names below them. */
	(void)state;
	struct signet_psl *psl = parse_ok(small_list);
	assert_false(suffix(psl, "mail.example.com"));
	assert_false(suffix(psl, "kawasaki.jp.example"));
	assert_false(suffix(psl, "jp.com"));
	signet_psl_free(psl);
}

static void psl_wildcard(void **state)
{
	/* "*.kawasaki.jp": every name one label below is a public suffix. */
	(void)state;
	struct signet_psl *psl = parse_ok(small_list);
	assert_true(suffix(psl, "foo.kawasaki.jp"));
	assert_true(suffix(psl, "foo.ck"));
	assert_false(suffix(psl, "bar.foo.kawasaki.jp"));
	/* no rule "kawasaki.jp" in this list: under "jp" it is registrable */
	assert_false(suffix(psl, "kawasaki.jp"));
	/* "ck" itself: the implicit "*" rule */
	assert_true(suffix(psl, "ck"));
	signet_psl_free(psl);
}

static void psl_exception(void **state)
{
	/* "!city.kawasaki.jp" wins over "*.kawasaki.jp": registrable, and so is
	 * everything below it. */
	(void)state;
	struct signet_psl *psl = parse_ok(small_list);
	assert_false(suffix(psl, "city.kawasaki.jp"));
	assert_false(suffix(psl, "www.city.kawasaki.jp"));
	assert_false(suffix(psl, "www.ck"));
	assert_false(suffix(psl, "a.www.ck"));
	assert_true(suffix(psl, "town.kawasaki.jp"));
	signet_psl_free(psl);
}

static void psl_private_section_not_used(void **state)
{
	/* github.io is run by one company, which may sign with it: not implausible. */
	(void)state;
	struct signet_psl *psl = parse_ok(small_list);
	assert_true(suffix(psl, "io"));
	assert_false(suffix(psl, "github.io"));
	assert_false(suffix(psl, "x.compute.example"));
	signet_psl_free(psl);
	/* without section markers every rule counts */
	psl = parse_ok("github.io\n");
	assert_true(suffix(psl, "github.io"));
	signet_psl_free(psl);
}

static void psl_trailing_dot_and_case(void **state)
{
	(void)state;
	struct signet_psl *psl = parse_ok(small_list);
	assert_true(suffix(psl, "co.uk."));
	assert_true(suffix(psl, "CO.UK"));
	assert_true(suffix(psl, "Co.Uk."));
	assert_true(suffix(psl, "FOO.KAWASAKI.JP"));
	assert_false(suffix(psl, "CITY.Kawasaki.JP"));
	assert_false(suffix(psl, "co.uk.."));
	assert_false(suffix(psl, "."));
	assert_false(suffix(psl, ""));
	assert_false(signet_psl_is_suffix(psl, NULL, 0));
	assert_false(signet_psl_is_suffix(NULL, "com", 3));
	signet_psl_free(psl);
	/* rules in upper case match too */
	psl = parse_ok("Co.UK\n");
	assert_true(suffix(psl, "co.uk"));
	signet_psl_free(psl);
}

static void psl_idn(void **state)
{
	/* A U-label rule (公司.cn) matches its A-label, in any case, and the U-label. */
	(void)state;
	struct signet_psl *psl = parse_ok(small_list);
	assert_true(suffix(psl, "xn--55qx5d.cn"));
	assert_true(suffix(psl, "XN--55QX5D.CN"));
	assert_true(suffix(psl, "\xe5\x85\xac\xe5\x8f\xb8.cn"));
	assert_false(suffix(psl, "example.xn--55qx5d.cn"));
	assert_false(suffix(psl, "b\xc3\xbc" "cher.com"));
	signet_psl_free(psl);
	/* an A-label rule matches a U-label domain */
	psl = parse_ok("xn--bcher-kva.example\n");
	assert_true(suffix(psl, "b\xc3\xbc" "cher.example"));
	signet_psl_free(psl);
}

static void psl_not_a_name(void **state)
{
	/* What is no domain name is never a public suffix. */
	(void)state;
	struct signet_psl *psl = parse_ok(small_list);
	assert_false(suffix(psl, "co..uk"));
	assert_false(suffix(psl, ".co.uk"));
	assert_false(suffix(psl, "c_o.uk"));
	assert_false(suffix(psl, "co uk"));
	assert_false(signet_psl_is_suffix(psl, "co\0uk", 5));
	assert_false(suffix(psl, "\xff.uk"));
	char label[80];
	memset(label, 'a', 64);
	strcpy(label + 64, ".uk");
	assert_false(suffix(psl, label)); /* a 64-octet label */
	signet_psl_free(psl);
}

static void psl_format_details(void **state)
{
	/* A line is read up to its first whitespace; CRLF, a BOM, blank and
	 * indented lines. */
	(void)state;
	struct signet_psl *psl = parse_ok("\xef\xbb\xbf" "com trailing words\r\n"
					  "\r\n"
					  "   indented.example\n"
					  "\tx.example\n"
					  "net\t// comment\n"
					  "org");
	assert_true(suffix(psl, "com"));
	assert_true(suffix(psl, "net"));
	assert_true(suffix(psl, "org"));
	assert_false(suffix(psl, "indented.example"));
	assert_false(suffix(psl, "x.example"));
	assert_int_equal(signet_psl_rules(psl), 3);
	signet_psl_free(psl);
}

static void psl_malformed_lines(void **state)
{
	/* A malformed rule refuses the whole list, naming its line. */
	(void)state;
	static const char *const bad[][2] = {
		{"com\nfoo..bar\n", "line 2: 'foo..bar' is not a domain name"},
		{"com\n.foo\n", "line 2: '.foo' is not a domain name"},
		{"com\nfoo.\n", "line 2: 'foo.' is not a domain name"},
		{"*.*.foo\n", "line 1: '*' may only be the whole leftmost label"},
		{"a.*.foo\n", "line 1: '*' may only be the whole leftmost label"},
		{"*foo.bar\n", "line 1: '*' may only be the whole leftmost label"},
		{"!*.foo\n", "line 1: '*' may only be the whole leftmost label"},
		{"!com\n", "line 1: an exception rule needs at least two labels"},
		{"!\n", "line 1: '' is not a domain name"},
		{"*.\n", "line 1: '' is not a domain name"},
		{"foo/bar\n", "line 1: 'foo/bar' is not a domain name"},
		{"under_score.com\n", "is not a domain name"},
		{"// ===BEGIN PRIVATE DOMAINS===\nb\xc3.example\n", "line 2:"},
	};
	for (size_t k = 0; k < sizeof bad / sizeof bad[0]; k++)
		expect_refused(bad[k][0], strlen(bad[k][0]), SIGNET_ERR_SYNTAX, bad[k][1]);
	expect_refused("com\nco\0m\n", 9, SIGNET_ERR_SYNTAX, "line 2: NUL byte");
	/* a label of 63 octets is fine, 64 is not; a name of 253 is, 254 not */
	char line[600];
	memset(line, 'a', 63);
	strcpy(line + 63, ".com\n");
	signet_psl_free(parse_ok(line));
	memset(line, 'a', 64);
	strcpy(line + 64, ".com\n");
	expect_refused(line, strlen(line), SIGNET_ERR_SYNTAX, "line 1:");
	size_t n = 0;
	for (int k = 0; k < 63; k++) { /* 63 x "abc." = 252, + "d" = 253 */
		memcpy(line + n, "abc.", 4);
		n += 4;
	}
	strcpy(line + n, "d\n");
	signet_psl_free(parse_ok(line));
	strcpy(line + n, "de\n");
	expect_refused(line, strlen(line), SIGNET_ERR_SYNTAX, "line 1:");
}

static void psl_empty_or_not_a_list(void **state)
{
	(void)state;
	expect_refused("", 0, SIGNET_ERR_SYNTAX, "no ICANN rules");
	expect_refused("// only comments\n\n", 18, SIGNET_ERR_SYNTAX, "no ICANN rules");
	const char priv[] = "// ===BEGIN PRIVATE DOMAINS===\ngithub.io\n";
	expect_refused(priv, strlen(priv), SIGNET_ERR_SYNTAX, "no ICANN rules");
	struct signet_psl *psl = NULL;
	struct signet_error err = {0};
	assert_int_equal(signet_psl_parse(NULL, 1, &psl, &err), SIGNET_ERR_INVAL);
	assert_int_equal(signet_psl_parse((const uint8_t *)"com", 3, NULL, &err), SIGNET_ERR_INVAL);
	signet_psl_free(NULL);
	assert_int_equal(signet_psl_rules(NULL), 0);
}

static void psl_limits(void **state)
{
	/* SIGNET_PSL_MAX_BYTES: at the limit parses, one byte over is refused.
	 * SIGNET_PSL_MAX_RULES: the same for rules. */
	(void)state;
	size_t max = SIGNET_PSL_MAX_BYTES;
	char *text = malloc(max + 1);
	assert_non_null(text);
	memset(text, '\n', max + 1);
	memcpy(text, "com", 3);
	struct signet_psl *psl = NULL;
	struct signet_error err = {0};
	assert_int_equal(signet_psl_parse((const uint8_t *)text, max, &psl, &err), SIGNET_OK);
	assert_true(suffix(psl, "com"));
	signet_psl_free(psl);
	expect_refused(text, max + 1, SIGNET_ERR_LIMIT, "SIGNET_PSL_MAX_BYTES");
	free(text);

	size_t rules = SIGNET_PSL_MAX_RULES;
	text = malloc((rules + 1) * 9 + 1);
	assert_non_null(text);
	size_t n = 0;
	for (size_t k = 0; k < rules; k++)
		n += (size_t)sprintf(text + n, "r%06zu\n", k);
	assert_int_equal(signet_psl_parse((const uint8_t *)text, n, &psl, &err), SIGNET_OK);
	assert_int_equal(signet_psl_rules(psl), rules);
	assert_true(suffix(psl, "r000000"));
	assert_true(suffix(psl, "r199999."));
	assert_false(suffix(psl, "x.r123456"));
	signet_psl_free(psl);
	n += (size_t)sprintf(text + n, "q%06zu\n", rules);
	expect_refused(text, n, SIGNET_ERR_LIMIT, "SIGNET_PSL_MAX_RULES");
	free(text);
}

static void psl_debian_list(void **state)
{
	/* Debian's publicsuffix package, as signetd and signet verify read it. */
	(void)state;
	if (access(SIGNET_PSL_DEFAULT_FILE, R_OK) != 0) {
		print_message("SKIP: %s absent (install the publicsuffix package, "
			      "scripts/deps.sh)\n", SIGNET_PSL_DEFAULT_FILE);
		skip();
	}
	size_t len;
	uint8_t *text = read_file(SIGNET_PSL_DEFAULT_FILE, &len);
	struct signet_psl *psl = NULL;
	struct signet_error err = {0};
	if (signet_psl_parse(text, len, &psl, &err) != SIGNET_OK)
		fail_msg("%s: %s", SIGNET_PSL_DEFAULT_FILE, err.msg);
	free(text);
	assert_true(signet_psl_rules(psl) > 5000);
	assert_true(suffix(psl, "com"));
	assert_true(suffix(psl, "co.uk"));
	assert_true(suffix(psl, "xn--55qx5d.cn"));
	assert_true(suffix(psl, "foo.kawasaki.jp"));
	assert_false(suffix(psl, "city.kawasaki.jp"));
	assert_false(suffix(psl, "example.com"));
	assert_false(suffix(psl, "example.co.uk"));
	assert_false(suffix(psl, "github.io")); /* private section */
	signet_psl_free(psl);
}

/* ---- the verifier and Authentication-Results ------------------------------ */

static const char msg[] = "From: Joe <joe@co.uk>\r\n"
			  "To: Sue <sue@example.net>\r\n"
			  "Subject: suffix\r\n"
			  "\r\n"
			  "Hello.\r\n";

static char *sign_as(const struct signet_key *key, const char *domain)
{
	struct signet_sign_params p = {.domain = domain, .selector = "sel", .key = key,
				       .hdr_canon = SIGNET_CANON_RELAXED,
				       .body_canon = SIGNET_CANON_RELAXED, .timestamp = 1700000000};
	struct signet_error err = {0};
	char *out = tu_sign(&p, 1, (const uint8_t *)msg, strlen(msg), &err);
	if (out == NULL)
		fail_msg("sign: %s", err.msg);
	return out;
}

static void keys_for(const struct signet_key *key, const char *domain, char *out, size_t cap)
{
	char rec[1800];
	size_t len;
	struct signet_error err = {0};
	assert_int_equal(signet_key_dns_record(key, rec, sizeof rec, &len, &err), SIGNET_OK);
	snprintf(out, cap, "sel._domainkey.%s %s\n", domain, rec);
}

static void DKIM_VER_17_public_suffix_d_noted(void **state)
{
	/* DKIM-VER-17: "we verify them but add the note "d= is a public suffix"
	 * so DMARC never aligns on it. Test: d=co.uk signature → result + note." */
	(void)state;
	struct signet_key *key = NULL;
	struct signet_error err = {0};
	assert_int_equal(signet_key_generate(SIGNET_KEY_RSA, 2048, &key, &err), SIGNET_OK);
	struct signet_psl *psl = parse_ok(small_list);
	struct signet_verify_options o = {.now = 1700000100, .psl = psl};
	char keys[2048], ar[2048];
	size_t arlen;

	char *signed_msg = sign_as(key, "co.uk");
	keys_for(key, "co.uk", keys, sizeof keys);
	struct signet_verifier *v =
		tu_verify_opts((const uint8_t *)signed_msg, strlen(signed_msg), keys, &o, 0);
	const struct signet_sig_result *r = signet_verifier_result(v, 0);
	assert_int_equal(r->result, SIGNET_RESULT_PASS);
	assert_true(r->public_suffix);
	assert_string_equal(r->notes, "d= is a public suffix");
	assert_string_equal(r->d, "co.uk");
	const struct signet_sig_result *rs[1] = {r};
	assert_int_equal(signet_ar_format("mx.example", rs, 1, ar, sizeof ar, &arlen, &err),
			 SIGNET_OK);
	/* unfolded (RFC 5322 2.2.3: a fold is CRLF before WSP), TAB as SP */
	char *w = ar;
	for (char *c = ar; *c != '\0'; c++)
		if (*c != '\r' && *c != '\n')
			*w++ = *c == '\t' ? ' ' : *c;
	*w = '\0';
	if (strstr(ar, "; dkim=pass (2048-bit key; d= is a public suffix) header.d=co.uk ") == NULL)
		fail_msg("AR: %s", ar);
	signet_verifier_free(v);

	/* the same signature without a list: no note */
	v = tu_verify_opts((const uint8_t *)signed_msg, strlen(signed_msg), keys,
			   &(struct signet_verify_options){.now = 1700000100}, 0);
	r = signet_verifier_result(v, 0);
	assert_int_equal(r->result, SIGNET_RESULT_PASS);
	assert_false(r->public_suffix);
	assert_string_equal(r->notes, "");
	signet_verifier_free(v);
	free(signed_msg);

	/* a registrable d= under it: no note; a failing one keeps its note */
	signed_msg = sign_as(key, "example.co.uk");
	keys_for(key, "example.co.uk", keys, sizeof keys);
	v = tu_verify_opts((const uint8_t *)signed_msg, strlen(signed_msg), keys, &o, 0);
	r = signet_verifier_result(v, 0);
	assert_int_equal(r->result, SIGNET_RESULT_PASS);
	assert_false(r->public_suffix);
	assert_string_equal(r->notes, "");
	signet_verifier_free(v);
	free(signed_msg);

	signed_msg = sign_as(key, "CO.UK");
	char *body = strstr(signed_msg, "Hello.");
	body[0] = 'J'; /* the body changed: fail, still noted */
	keys_for(key, "CO.UK", keys, sizeof keys);
	v = tu_verify_opts((const uint8_t *)signed_msg, strlen(signed_msg), keys, &o, 0);
	r = signet_verifier_result(v, 0);
	assert_int_equal(r->result, SIGNET_RESULT_FAIL);
	assert_true(r->public_suffix);
	assert_string_equal(r->notes, "d= is a public suffix");
	signet_verifier_free(v);
	free(signed_msg);
	signet_psl_free(psl);
	signet_key_free(key);
}

/* ---- signetd: verify.public_suffix_list ---------------------------------- */

static char g_dir[64];

static char *write_tmp(const char *name, const char *text)
{
	static char path[160];
	snprintf(path, sizeof path, "%s/%s", g_dir, name);
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
	return path;
}

static struct signetd_config *load_conf(const char *text, struct diags *d)
{
	char *path = write_tmp("signetd.conf", text);
	struct signetd_config *cfg = NULL;
	diags_init(d);
	assert_int_equal(config_load(path, &cfg, d), SIGNET_OK);
	return cfg;
}

static void DKIM_VER_17_signetd_list_config(void **state)
{
	/* DKIM-VER-17 in signetd: verify.public_suffix_list is read by
	 * config_load; missing or malformed is a warning and the check is off,
	 * never an error; "" turns it off. */
	(void)state;
	strcpy(g_dir, "/tmp/signet-psl-XXXXXX");
	assert_non_null(mkdtemp(g_dir));
	char conf[512];
	struct diags d;

	char list_path[200];
	snprintf(list_path, sizeof list_path, "%s", write_tmp("list.dat", small_list));
	snprintf(conf, sizeof conf, "verify { public_suffix_list = \"%s\"; }\n", list_path);
	struct signetd_config *cfg = load_conf(conf, &d);
	assert_int_equal(d.n, 0);
	assert_non_null(cfg->psl);
	assert_true(suffix(cfg->psl, "co.uk"));
	assert_string_equal(cfg->psl_file, list_path);
	config_free(cfg);
	diags_free(&d);

	/* missing */
	snprintf(conf, sizeof conf, "verify { public_suffix_list = \"%s/nope.dat\"; }\n", g_dir);
	cfg = load_conf(conf, &d);
	assert_null(cfg->psl);
	assert_int_equal(d.nerrors, 0);
	assert_int_equal(d.nwarnings, 1);
	char want[400];
	snprintf(want, sizeof want,
		 "verify.public_suffix_list: cannot read %s/nope.dat: No such file or directory; "
		 "the public suffix check of d= (DKIM-VER-17) is off",
		 g_dir);
	assert_string_equal(d.v[0].msg, want);
	config_free(cfg);
	diags_free(&d);

	/* malformed */
	snprintf(list_path, sizeof list_path, "%s", write_tmp("bad.dat", "com\n*.*.uk\n"));
	snprintf(conf, sizeof conf, "verify { public_suffix_list = \"%s\"; }\n", list_path);
	cfg = load_conf(conf, &d);
	assert_null(cfg->psl);
	assert_int_equal(d.nerrors, 0);
	assert_int_equal(d.nwarnings, 1);
	assert_non_null(diags_find(&d, "line 2: '*' may only be the whole leftmost label; the "
				       "public suffix check of d= (DKIM-VER-17) is off"));
	config_free(cfg);
	diags_free(&d);

	/* off */
	cfg = load_conf("verify { public_suffix_list = \"\"; }\n", &d);
	assert_int_equal(d.n, 0);
	assert_null(cfg->psl);
	assert_null(cfg->psl_file);
	config_free(cfg);
	diags_free(&d);

	/* a relative path is a config error */
	char *path = write_tmp("signetd.conf", "verify { public_suffix_list = \"list.dat\"; }\n");
	diags_init(&d);
	assert_int_equal(config_load(path, &cfg, &d), SIGNET_ERR_SYNTAX);
	assert_non_null(diags_find(&d, "verify.public_suffix_list must be an absolute path"));
	diags_free(&d);

	/* the default is Debian's file */
	assert_int_equal(config_parse("t", (const uint8_t *)"", 0, &cfg, &d), SIGNET_OK);
	assert_string_equal(cfg->psl_file, SIGNET_PSL_DEFAULT_FILE);
	assert_null(cfg->psl); /* config_parse reads no list */
	config_free(cfg);
	diags_free(&d);

	char cmd[128];
	snprintf(cmd, sizeof cmd, "rm -rf %s", g_dir);
	assert_int_equal(system(cmd), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(psl_exact_rules),
		cmocka_unit_test(psl_not_a_suffix),
		cmocka_unit_test(psl_wildcard),
		cmocka_unit_test(psl_exception),
		cmocka_unit_test(psl_private_section_not_used),
		cmocka_unit_test(psl_trailing_dot_and_case),
		cmocka_unit_test(psl_idn),
		cmocka_unit_test(psl_not_a_name),
		cmocka_unit_test(psl_format_details),
		cmocka_unit_test(psl_malformed_lines),
		cmocka_unit_test(psl_empty_or_not_a_list),
		cmocka_unit_test(psl_limits),
		cmocka_unit_test(psl_debian_list),
		cmocka_unit_test(DKIM_VER_17_public_suffix_d_noted),
		cmocka_unit_test(DKIM_VER_17_signetd_list_config),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
