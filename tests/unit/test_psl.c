/* test_psl.c: the public suffix list (lib/psl.c, a wrapper on libpsl)
 * for DKIM-VER-17: the matcher on small lists (rules, wildcards,
 * exceptions, ICANN and private sections, case, a final dot, U-labels and
 * A-labels, what is no name), lists that are no list, Debian's list in
 * both forms and libpsl's built-in one, the organizational domain
 * (DMARC-ORG-01) and through it the 78 official test cases
 * (../shared/testdata/psl), the verifier's note and the
 * Authentication-Results comment, and signetd's verify.public_suffix_list
 * (conf/config.c: a missing or unusable file is a warning and the check
 * is off). */
#include "testutil.h"

#include <libpsl.h>
#include <unistd.h>

#include <signet/ar.h>
#include <signet/psl.h>

#include "config.h"
#include "diag.h"

/* libpsl's own loader over the bytes of text, as the front ends use it. */
static psl_ctx_t *ctx_from(const char *text, size_t len)
{
	FILE *f = tmpfile();
	assert_non_null(f);
	assert_int_equal(fwrite(text, 1, len, f), len);
	rewind(f);
	psl_ctx_t *ctx = psl_load_fp(f);
	fclose(f);
	return ctx;
}

static struct signet_psl *parse_ok(const char *text)
{
	struct signet_psl *psl = NULL;
	struct signet_error err = {0};
	psl_ctx_t *ctx = ctx_from(text, strlen(text));
	assert_non_null(ctx);
	if (signet_psl_new(ctx, true, &psl, &err) != SIGNET_OK)
		fail_msg("signet_psl_new: %s", err.msg);
	assert_non_null(psl);
	return psl;
}

static bool suffix(const struct signet_psl *psl, const char *d)
{
	return signet_psl_is_suffix(psl, d, strlen(d));
}

static const char small_list[] = "// a comment line\n"
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
	/* libpsl counts rules and wildcards, not exceptions: com uk co.uk jp
	 * *.kawasaki.jp *.ck 公司.cn io github.io *.compute.example */
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
	/* ...but they are rules of the list */
	assert_true(signet_psl_is_suffix_any(psl, "github.io", 9));
	assert_true(signet_psl_is_suffix_any(psl, "x.compute.example", 17));
	assert_true(signet_psl_is_suffix_any(psl, "co.uk", 5));
	assert_false(signet_psl_is_suffix_any(psl, "example.github.io", 17));
	assert_false(signet_psl_is_suffix_any(NULL, "com", 3));
	signet_psl_free(psl);
	/* without section markers every rule counts */
	psl = parse_ok("github.io\n");
	assert_true(suffix(psl, "github.io"));
	assert_false(suffix(psl, "x.github.io"));
	signet_psl_free(psl);
}

static void psl_trailing_dot_and_case(void **state)
{
	/* libpsl wants lower case and no final dot; lib/psl.c gives it that. */
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
}

static void psl_idn(void **state)
{
	/* A U-label rule (公司.cn) matches its A-label, in any case, and the
	 * U-label; U-labels are mapped first (UTS #46: upper case, full width). */
	(void)state;
	struct signet_psl *psl = parse_ok(small_list);
	assert_true(suffix(psl, "xn--55qx5d.cn"));
	assert_true(suffix(psl, "XN--55QX5D.CN"));
	assert_true(suffix(psl, "\xe5\x85\xac\xe5\x8f\xb8.cn"));
	assert_true(suffix(psl, "\xe5\x85\xac\xe5\x8f\xb8.CN"));
	assert_false(suffix(psl, "example.xn--55qx5d.cn"));
	assert_false(suffix(psl, "b\xc3\xbc"
				 "cher.com"));
	assert_true(suffix(psl, "\xef\xbd\x83\xef\xbd\x8f.uk")); /* full-width "co" */
	signet_psl_free(psl);
	/* an A-label rule matches a U-label domain, in either case */
	psl = parse_ok("xn--bcher-kva.example\n");
	assert_true(suffix(psl, "b\xc3\xbc"
				"cher.example"));
	assert_true(suffix(psl, "B\xc3\x9c"
				"CHER.example"));
	signet_psl_free(psl);
}

static void psl_not_a_name(void **state)
{
	/* What is no domain name is never a public suffix (libpsl would say
	 * ".com" is one: lib/psl.c asks it only about names). */
	(void)state;
	struct signet_psl *psl = parse_ok(small_list);
	assert_false(suffix(psl, "co..uk"));
	assert_false(suffix(psl, ".co.uk"));
	assert_false(suffix(psl, ".com"));
	assert_false(suffix(psl, "c_o.uk"));
	assert_false(suffix(psl, "co uk"));
	assert_false(signet_psl_is_suffix(psl, "co\0uk", 5));
	assert_false(suffix(psl, "\xff.uk"));
	assert_false(suffix(psl, "\xf0\x9f\x92\xa9.uk")); /* U+1F4A9: IDNA2008 disallows it */
	/* IDNA_MAX_LABEL: a 63-octet label is a name, 64 is not */
	char label[80];
	memset(label, 'a', 64);
	strcpy(label + 64, ".uk");
	assert_false(suffix(psl, label));
	signet_psl_free(psl);
	psl = parse_ok("// ===BEGIN ICANN DOMAINS===\nuk\n*.uk\n");
	assert_true(suffix(psl, label + 1)); /* 63 octets under *.uk */
	assert_false(suffix(psl, label));    /* 64 */
	signet_psl_free(psl);
}

static void psl_line_format(void **state)
{
	/* A line is read up to its first whitespace; CRLF ends lines too. */
	(void)state;
	struct signet_psl *psl = parse_ok("com trailing words\r\n"
					  "\r\n"
					  "co.uk\t// comment\n"
					  "org");
	assert_true(suffix(psl, "co.uk"));
	assert_false(suffix(psl, "trailing.com"));
	assert_false(suffix(psl, "words.com"));
	assert_false(suffix(psl, "example.co.uk"));
	signet_psl_free(psl);
}

static void psl_not_a_list(void **state)
{
	/* A list libpsl read no rule from is refused, never used as an empty
	 * list; on failure an owned context is freed (ASan would see a leak). */
	(void)state;
	static const char *const none[] = {"// only comments\n\n", "\n\n\n", " \t \r\n"};
	for (size_t k = 0; k < sizeof none / sizeof none[0]; k++) {
		struct signet_psl *psl = (struct signet_psl *)1;
		struct signet_error err = {0};
		psl_ctx_t *ctx = ctx_from(none[k], strlen(none[k]));
		if (ctx == NULL)
			continue; /* libpsl refused it itself: the front ends say so */
		assert_int_equal(signet_psl_new(ctx, true, &psl, &err), SIGNET_ERR_SYNTAX);
		assert_string_equal(err.msg, "no rules: this is not a public suffix list");
		assert_string_equal(err.spec, "publicsuffix.org/list");
	}
	struct signet_psl *psl = NULL;
	struct signet_error err = {0};
	assert_int_equal(signet_psl_new(NULL, true, &psl, &err), SIGNET_ERR_INVAL);
	assert_null(psl);
	assert_int_equal(signet_psl_new(ctx_from("co.uk\n", 6), true, NULL, &err),
			 SIGNET_ERR_INVAL);
	signet_psl_free(NULL);
	assert_int_equal(signet_psl_rules(NULL), 0);
}

static void psl_builtin_list(void **state)
{
	/* psl_builtin(): libpsl's own copy, never freed by signet_psl_free. */
	(void)state;
	const psl_ctx_t *ctx = psl_builtin();
	if (ctx == NULL) {
		print_message("SKIP: this libpsl has no built-in list\n");
		skip();
	}
	struct signet_psl *psl = NULL, *again = NULL;
	struct signet_error err = {0};
	assert_int_equal(signet_psl_new(ctx, false, &psl, &err), SIGNET_OK);
	assert_int_equal(signet_psl_new(ctx, false, &again, &err), SIGNET_OK);
	assert_true(suffix(psl, "co.uk"));
	assert_false(suffix(psl, "github.io"));
	signet_psl_free(psl);
	assert_true(suffix(again, "co.uk")); /* the first free left the context alone */
	signet_psl_free(again);
}

static void need(const char *path)
{
	if (access(path, R_OK) != 0) {
		print_message("SKIP: %s absent (install the publicsuffix package, "
			      "scripts/deps.sh)\n",
			      path);
		skip();
	}
}

static void check_debian(struct signet_psl *psl)
{
	assert_true(suffix(psl, "com"));
	assert_true(suffix(psl, "co.uk"));
	assert_true(suffix(psl, "xn--55qx5d.cn"));
	assert_true(suffix(psl, "foo.kawasaki.jp"));
	assert_false(suffix(psl, "city.kawasaki.jp"));
	assert_false(suffix(psl, "example.com"));
	assert_false(suffix(psl, "example.co.uk"));
	assert_false(suffix(psl, "github.io")); /* private section */
	assert_false(suffix(psl, "uk.com"));
	assert_true(signet_psl_is_suffix_any(psl, "uk.com", 6));
}

static void psl_debian_list(void **state)
{
	/* Debian's publicsuffix package, as signetd and signet verify read it:
	 * the text form (rules counted) and the DAFSA form (not counted). */
	(void)state;
	need(SIGNET_PSL_DEFAULT_FILE);
	struct signet_psl *psl = NULL;
	struct signet_error err = {0};
	assert_int_equal(signet_psl_new(psl_load_file(SIGNET_PSL_DEFAULT_FILE), true, &psl, &err),
			 SIGNET_OK);
	assert_true(signet_psl_rules(psl) > 5000);
	check_debian(psl);
	signet_psl_free(psl);

	static const char dafsa[] = "/usr/share/publicsuffix/public_suffix_list.dafsa";
	need(dafsa);
	assert_int_equal(signet_psl_new(psl_load_file(dafsa), true, &psl, &err), SIGNET_OK);
	assert_int_equal(signet_psl_rules(psl), 0);
	check_debian(psl);
	signet_psl_free(psl);
}

/* ---- the organizational domain (DMARC-ORG-01) ----------------------------- */

static const char *org(const struct signet_psl *psl, const char *d)
{
	return signet_psl_org_domain(psl, d, strlen(d));
}

static void DMARC_ORG_01_longest_suffix_plus_one(void **state)
{
	/* DMARC-ORG-01: "Organizational Domain: longest matching public suffix
	 * from the Public Suffix List + one more label (3.2)." Multi-label
	 * suffixes (co.uk under uk) and PRIVATE rules count. The answer points
	 * into the name given. */
	(void)state;
	struct signet_psl *psl = parse_ok(small_list);
	static const char d1[] = "mail.example.com";
	assert_ptr_equal(org(psl, d1), d1 + 5);
	assert_string_equal(org(psl, "a.b.example.co.uk"), "example.co.uk");
	assert_string_equal(org(psl, "example.co.uk"), "example.co.uk");
	assert_string_equal(org(psl, "www.example.uk"), "example.uk");
	assert_string_equal(org(psl, "x.y.github.io"), "y.github.io");
	assert_string_equal(org(psl, "a.b.x.compute.example"), "b.x.compute.example");
	assert_string_equal(org(psl, "www.b\xc3\xbc"
				     "cher.\xe5\x85\xac\xe5\x8f\xb8.cn"),
			    "b\xc3\xbc"
			    "cher.\xe5\x85\xac\xe5\x8f\xb8.cn"); /* bücher.公司.cn */
	assert_string_equal(org(psl, "www.xn--bcher-kva.xn--55qx5d.cn"),
			    "xn--bcher-kva.xn--55qx5d.cn");
	signet_psl_free(psl);
}

static void DMARC_ORG_01_wildcard_and_exception(void **state)
{
	/* DMARC-ORG-01 with the list's wildcards and exceptions: under
	 * "*.kawasaki.jp" every x.kawasaki.jp is a suffix, so the answer has
	 * one label more; "!city.kawasaki.jp" makes city.kawasaki.jp
	 * registrable, so it is the answer for every name below it. */
	(void)state;
	struct signet_psl *psl = parse_ok(small_list);
	assert_string_equal(org(psl, "a.b.x.kawasaki.jp"), "b.x.kawasaki.jp");
	assert_string_equal(org(psl, "b.x.kawasaki.jp"), "b.x.kawasaki.jp");
	assert_string_equal(org(psl, "www.city.kawasaki.jp"), "city.kawasaki.jp");
	assert_string_equal(org(psl, "a.b.city.kawasaki.jp"), "city.kawasaki.jp");
	assert_string_equal(org(psl, "city.kawasaki.jp"), "city.kawasaki.jp");
	assert_string_equal(org(psl, "a.foo.ck"), "a.foo.ck");
	assert_string_equal(org(psl, "a.b.www.ck"), "www.ck");
	signet_psl_free(psl);
}

static void DMARC_ORG_01_suffix_is_its_own(void **state)
{
	/* DMARC-ORG-01: a name that is itself a public suffix (a rule, a
	 * wildcard's match, a single label by the implicit "*" rule) is its
	 * own answer: the pointer given, whole. */
	(void)state;
	struct signet_psl *psl = parse_ok(small_list);
	static const char *const own[] = {"co.uk",           "com",       "example",
					  "foo.kawasaki.jp", "github.io", "x.compute.example"};
	for (size_t k = 0; k < sizeof own / sizeof own[0]; k++)
		assert_ptr_equal(org(psl, own[k]), own[k]);
	signet_psl_free(psl);
}

static void DMARC_ORG_01_case_dot_and_length(void **state)
{
	/* DMARC-ORG-01: "lowercase and A-label compare": any case matches and
	 * one final dot is ignored; the answer keeps the caller's bytes. Only
	 * len bytes are read. */
	(void)state;
	struct signet_psl *psl = parse_ok(small_list);
	static const char d1[] = "Mail.Example.CO.UK.";
	assert_ptr_equal(org(psl, d1), d1 + 5);
	assert_string_equal(org(psl, "WWW.City.Kawasaki.JP"), "City.Kawasaki.JP");
	assert_string_equal(org(psl, "example.com."), "example.com.");
	static const char d2[] = "mail.example.co.ukXYZ";
	assert_ptr_equal(signet_psl_org_domain(psl, d2, 18), d2 + 5);      /* example.co.uk */
	assert_ptr_equal(signet_psl_org_domain(psl, d2, 15), d2 + 5);      /* example.co */
	assert_ptr_equal(signet_psl_org_domain(psl, d2, 12), d2);          /* mail.example */
	assert_ptr_equal(signet_psl_org_domain(psl, d2 + 13, 5), d2 + 13); /* co.uk */
	signet_psl_free(psl);
}

static void DMARC_ORG_01_no_list_and_no_name(void **state)
{
	/* No list, no answer; what is no name is not refused, but no label of
	 * it that is no name matches a rule (psl.h). */
	(void)state;
	struct signet_psl *psl = parse_ok(small_list);
	assert_null(signet_psl_org_domain(NULL, "example.com", 11));
	assert_null(signet_psl_org_domain(psl, NULL, 0));
	assert_string_equal(org(psl, ".com"), ".com");
	assert_string_equal(org(psl, "a..example.com"), "example.com");
	assert_string_equal(org(psl, "www.example.c_m"), "c_m");
	static const char empty[] = "";
	assert_ptr_equal(org(psl, empty), empty);
	assert_string_equal(signet_psl_org_domain(psl, "a.example\0com", 13), "example\0com");
	signet_psl_free(psl);
}

/* The registrable domain of d as the format's test cases define it: NULL
 * when d is a public suffix (any rule, as the test cases use the whole
 * list) or starts with a dot (no name); else its organizational domain. */
static const char *registrable(const struct signet_psl *psl, const char *d)
{
	if (d[0] == '.' || signet_psl_is_suffix_any(psl, d, strlen(d)))
		return NULL;
	return org(psl, d);
}

static void PSL_official_test_cases(void **state)
{
	/* publicsuffix/list tests/tests.txt: "input expected", "null" for none,
	 * on Debian's list, through signet_psl_org_domain (DMARC-ORG-01).
	 * Inputs in upper case give lower-case answers; Unicode inputs give
	 * Unicode answers. */
	(void)state;
	char path[512];
	snprintf(path, sizeof path, "%s/psl/tests.txt", SIGNET_TESTDATA);
	if (access(path, R_OK) != 0) {
		print_message("SKIP: %s absent (../shared/testdata)\n", path);
		skip();
	}
	need(SIGNET_PSL_DEFAULT_FILE);
	struct signet_psl *psl = NULL;
	struct signet_error err = {0};
	assert_int_equal(signet_psl_new(psl_load_file(SIGNET_PSL_DEFAULT_FILE), true, &psl, &err),
			 SIGNET_OK);
	FILE *f = fopen(path, "r");
	assert_non_null(f);
	char line[512], in[256], want[256], got[256];
	int cases = 0, failed = 0;
	while (fgets(line, sizeof line, f) != NULL) {
		if (strncmp(line, "//", 2) == 0 || sscanf(line, "%255s %255s", in, want) != 2)
			continue;
		const char *r = strcmp(in, "null") == 0 ? NULL : registrable(psl, in);
		snprintf(got, sizeof got, "%s", r != NULL ? r : "null");
		for (char *c = got; *c != '\0'; c++)
			*c = (char)(*c >= 'A' && *c <= 'Z' ? *c + 32 : *c);
		cases++;
		if (strcmp(got, want) != 0) {
			print_error("case %s: want %s, got %s\n", in, want, got);
			failed++;
		}
	}
	fclose(f);
	signet_psl_free(psl);
	assert_int_equal(failed, 0);
	assert_int_equal(cases, 78);
}

/* ---- the verifier and Authentication-Results ------------------------------ */

static const char msg[] = "From: Joe <joe@co.uk>\r\n"
			  "To: Sue <sue@example.net>\r\n"
			  "Subject: suffix\r\n"
			  "\r\n"
			  "Hello.\r\n";

static char *sign_as(const struct signet_key *key, const char *domain)
{
	struct signet_sign_params p = {.domain = domain,
				       .selector = "sel",
				       .key = key,
				       .hdr_canon = SIGNET_CANON_RELAXED,
				       .body_canon = SIGNET_CANON_RELAXED,
				       .timestamp = 1700000000};
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

	/* no list: libpsl reads no rule from it */
	snprintf(list_path, sizeof list_path, "%s", write_tmp("bad.dat", "// nothing\n"));
	snprintf(conf, sizeof conf, "verify { public_suffix_list = \"%s\"; }\n", list_path);
	cfg = load_conf(conf, &d);
	assert_null(cfg->psl);
	assert_int_equal(d.nerrors, 0);
	assert_int_equal(d.nwarnings, 1);
	snprintf(want, sizeof want,
		 "verify.public_suffix_list: %s: no rules: this is not a public suffix list; the "
		 "public suffix check of d= (DKIM-VER-17) is off",
		 list_path);
	assert_string_equal(d.v[0].msg, want);
	config_free(cfg);
	diags_free(&d);

	/* empty: libpsl loads nothing */
	snprintf(list_path, sizeof list_path, "%s", write_tmp("empty.dat", ""));
	snprintf(conf, sizeof conf, "verify { public_suffix_list = \"%s\"; }\n", list_path);
	cfg = load_conf(conf, &d);
	assert_null(cfg->psl);
	assert_int_equal(d.nwarnings, 1);
	assert_non_null(diags_find(&d, "libpsl could not load it"));
	config_free(cfg);
	diags_free(&d);

	/* a directory */
	snprintf(conf, sizeof conf, "verify { public_suffix_list = \"%s\"; }\n", g_dir);
	cfg = load_conf(conf, &d);
	assert_null(cfg->psl);
	snprintf(want, sizeof want,
		 "verify.public_suffix_list: cannot read %s: it is a directory, not a regular "
		 "file; the public "
		 "suffix check of d= (DKIM-VER-17) is off",
		 g_dir);
	assert_string_equal(d.v[0].msg, want);
	config_free(cfg);
	diags_free(&d);

	/* SIGNET_PSL_MAX_BYTES: a (sparse) file of the limit goes to libpsl,
	 * which finds no rule in it; one byte more is refused unread */
	snprintf(list_path, sizeof list_path, "%s", write_tmp("big.dat", ""));
	snprintf(conf, sizeof conf, "verify { public_suffix_list = \"%s\"; }\n", list_path);
	assert_int_equal(truncate(list_path, SIGNET_PSL_MAX_BYTES), 0);
	cfg = load_conf(conf, &d);
	assert_null(cfg->psl);
	assert_non_null(diags_find(&d, "no rules: this is not a public suffix list"));
	config_free(cfg);
	diags_free(&d);
	assert_int_equal(truncate(list_path, SIGNET_PSL_MAX_BYTES + 1), 0);
	cfg = load_conf(conf, &d);
	assert_null(cfg->psl);
	assert_non_null(diags_find(&d, "bytes, more than SIGNET_PSL_MAX_BYTES (8388608 bytes)"));
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
		cmocka_unit_test(psl_line_format),
		cmocka_unit_test(psl_not_a_list),
		cmocka_unit_test(psl_builtin_list),
		cmocka_unit_test(psl_debian_list),
		cmocka_unit_test(DMARC_ORG_01_longest_suffix_plus_one),
		cmocka_unit_test(DMARC_ORG_01_wildcard_and_exception),
		cmocka_unit_test(DMARC_ORG_01_suffix_is_its_own),
		cmocka_unit_test(DMARC_ORG_01_case_dot_and_length),
		cmocka_unit_test(DMARC_ORG_01_no_list_and_no_name),
		cmocka_unit_test(PSL_official_test_cases),
		cmocka_unit_test(DKIM_VER_17_public_suffix_d_noted),
		cmocka_unit_test(DKIM_VER_17_signetd_list_config),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
