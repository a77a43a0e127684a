/* test_rfc5322.c: lib/rfc5322.c, the one RFC 5322 lexer: CFWS and comments
 * (3.2.2) strict and lenient, quoted-string (3.2.4), dot-atom (3.2.3),
 * addr-spec, mailbox, mailbox-list and group (3.4), the domains of a From
 * field as DMARC will take them (signet_rfc5322_from_domains, public). Each test is named after its production;
 * negative cases follow the positive ones. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "rfc5322.h"

#define KEPT 16 /* domains the tests look at */

static struct {
	size_t n;
	struct signet_rfc5322_domain domain[KEPT];
} a;
static struct signet_error err;

static enum signet_status from_n(const char *v, size_t n)
{
	memset(&err, 0, sizeof err);
	return signet_rfc5322_from_domains((const uint8_t *)v, n, a.domain, KEPT, &a.n, &err);
}

static enum signet_status from(const char *v)
{
	return from_n(v, strlen(v));
}

/* The domains found, comma-separated, as written. */
static const char *domains(void)
{
	static char got[1024];
	got[0] = '\0';
	for (size_t k = 0; k < a.n && k < KEPT; k++)
		snprintf(got + strlen(got), sizeof got - strlen(got), "%s%.*s", k ? "," : "",
			 (int)a.domain[k].len, (const char *)a.domain[k].p);
	return got;
}

static void assert_domains(const char *v, const char *want)
{
	if (from(v) != SIGNET_OK)
		fail_msg("'%s' did not parse: %s", v, err.msg);
	assert_string_equal(domains(), want);
}

static void assert_error(const char *v, size_t n, enum signet_status st, const char *msg)
{
	assert_int_equal(from_n(v, n), st);
	assert_string_equal(err.msg, msg);
}

static enum signet_status cfws(const char *v, size_t n, unsigned flags, size_t *pos)
{
	memset(&err, 0, sizeof err);
	*pos = 0;
	return rfc5322_cfws((const uint8_t *)v, n, pos, flags, &err);
}

/* "CFWS = (1*([FWS] comment) [FWS]) / FWS" (3.2.2) */
static void RFC5322_CFWS_skips_fws_and_comments(void **state)
{
	(void)state;
	size_t pos;
	const char *v = " \t(a comment)\r\n (another (nested \\) one)) token";
	assert_int_equal(cfws(v, strlen(v), 0, &pos), SIGNET_OK);
	assert_string_equal(v + pos, "token");
	assert_int_equal(cfws("token", 5, 0, &pos), SIGNET_OK); /* nothing to skip */
	assert_int_equal(pos, 0);
	assert_int_equal(cfws("  ", 2, 0, &pos), SIGNET_OK); /* all of it */
	assert_int_equal(pos, 2);
}

/* "comment = "(" *([FWS] ccontent) [FWS] ")"": one that never closes. */
static void RFC5322_comment_unterminated(void **state)
{
	(void)state;
	size_t pos;
	assert_int_equal(cfws(" (open (nested)", 15, 0, &pos), SIGNET_ERR_SYNTAX);
	assert_string_equal(err.msg, "comment not closed (missing ')')");
	assert_string_equal(err.spec, "RFC 5322 3.2.2");
	assert_int_equal(pos, 1); /* at the '(' */
	assert_int_equal(cfws("(escaped \\)", 11, 0, &pos), SIGNET_ERR_SYNTAX);
	assert_int_equal(cfws("(trailing \\", 11, 0, &pos), SIGNET_ERR_SYNTAX);
	assert_int_equal(cfws("(open", 5, RFC5322_LENIENT, &pos), SIGNET_ERR_SYNTAX);
	assert_error("(open user@example.com", 22, SIGNET_ERR_SYNTAX,
		     "comment not closed (missing ')')");
}

/* Nesting at SIGNET_RFC5322_MAX_COMMENT_DEPTH -1, =, +1; lenient has no limit. */
static void RFC5322_comment_nesting_limit(void **state)
{
	(void)state;
	char v[2 * SIGNET_RFC5322_MAX_COMMENT_DEPTH + 8];
	size_t pos;
	for (size_t d = SIGNET_RFC5322_MAX_COMMENT_DEPTH - 1;
	     d <= SIGNET_RFC5322_MAX_COMMENT_DEPTH + 1; d++) {
		memset(v, '(', d);
		memset(v + d, ')', d);
		enum signet_status want =
			d <= SIGNET_RFC5322_MAX_COMMENT_DEPTH ? SIGNET_OK : SIGNET_ERR_LIMIT;
		assert_int_equal(cfws(v, 2 * d, 0, &pos), want);
		assert_int_equal(pos, want == SIGNET_OK ? 2 * d : 0);
		assert_int_equal(cfws(v, 2 * d, RFC5322_LENIENT, &pos), SIGNET_OK);
		assert_int_equal(pos, 2 * d);
	}
	assert_string_equal(err.msg, "");
	assert_int_equal(cfws(v, 2 * (SIGNET_RFC5322_MAX_COMMENT_DEPTH + 1), 0, &pos),
			 SIGNET_ERR_LIMIT);
	assert_string_equal(err.msg,
			    "comments nested deeper than SIGNET_RFC5322_MAX_COMMENT_DEPTH (32)");
}

/* ctext and obs-ctext exclude NUL (3.2.2, 4.1): strict refuses it;
 * lenient (AR removal, AR-PARSE-02) skips it. */
static void RFC5322_comment_NUL_inside(void **state)
{
	(void)state;
	size_t pos;
	static const char v[] = "(a\0b) x";
	assert_int_equal(cfws(v, sizeof v - 1, 0, &pos), SIGNET_ERR_SYNTAX);
	assert_string_equal(err.msg, "NUL inside a comment");
	assert_int_equal(cfws(v, sizeof v - 1, RFC5322_LENIENT, &pos), SIGNET_OK);
	assert_int_equal(pos, 6);
	static const char f[] = "user@example.com (x\0y)";
	assert_error(f, sizeof f - 1, SIGNET_ERR_SYNTAX, "NUL inside a comment");
}

/* "quoted-string = [CFWS] DQUOTE *([FWS] qcontent) [FWS] DQUOTE";
 * qcontent = qtext / quoted-pair (3.2.4). */
static void RFC5322_quoted_string_with_escapes(void **state)
{
	(void)state;
	assert_domains("\"a \\\"quoted\\\" \\\\ local\"@example.com", "example.com");
	assert_domains("\"Doe, John (not a comment) <x@y>\" <john@example.org>", "example.org");
	assert_error("\"open@example.com", 17, SIGNET_ERR_SYNTAX,
		     "quoted string not closed (missing '\"')");
	assert_error("\"escaped end\\\"@example.com", 26, SIGNET_ERR_SYNTAX,
		     "quoted string not closed (missing '\"')");
	static const char nul[] = "\"a\0b\"@example.com";
	assert_error(nul, sizeof nul - 1, SIGNET_ERR_SYNTAX, "NUL inside a quoted string");
}

/* "dot-atom-text = 1*atext *("." 1*atext)" (3.2.3) as the domain. */
static void RFC5322_dot_atom_domain(void **state)
{
	(void)state;
	assert_domains("u@sub.Example.COM", "sub.Example.COM"); /* as written */
	assert_error("u@a..example", 12, SIGNET_ERR_SYNTAX, "'a..example' is not a domain name");
	assert_error("u@.example", 10, SIGNET_ERR_SYNTAX, "'.example' is not a domain name");
	assert_error("u@example.", 10, SIGNET_ERR_SYNTAX, "'example.' is not a domain name");
	assert_error("u@[192.0.2.1]", 13, SIGNET_ERR_SYNTAX,
		     "address literal [192.0.2.1] has no domain name");
	char v[300] = "u@";
	memset(v + 2, 'a', 254);
	v[2 + 254] = '\0';
	for (size_t k = 2 + 50; k < 2 + 254; k += 51)
		v[k] = '.';
	assert_int_equal(from_n(v, 2 + 253), SIGNET_OK); /* DNSNAME_MAX */
	assert_int_equal(a.domain[0].len, 253);
	assert_int_equal(from_n(v, 2 + 254), SIGNET_ERR_SYNTAX);
}

/* "addr-spec = local-part "@" domain" (3.4.1), with CFWS between. */
static void RFC5322_addr_spec(void **state)
{
	(void)state;
	assert_domains("(lead) user (mid) @ (x) example.com (trail)", "example.com");
	assert_domains("first.last@example.com", "example.com");
	assert_error("undisclosed", 11, SIGNET_ERR_SYNTAX, "no '@' in 'undisclosed'");
	assert_error("@example.com", 12, SIGNET_ERR_SYNTAX,
		     "no local part before '@' in '@example.com'");
	assert_error("user@", 5, SIGNET_ERR_SYNTAX, "no domain after '@' in 'user@'");
	static const char nul[] = "a@x.exa\0mple";
	assert_error(nul, sizeof nul - 1, SIGNET_ERR_SYNTAX, "unexpected byte 0x00");
}

/* "mailbox = name-addr / addr-spec"; "name-addr = [display-name]
 * angle-addr"; obs-angle-addr with obs-route (3.4, 4.4). */
static void RFC5322_mailbox(void **state)
{
	(void)state;
	assert_domains("Name <user@example.com>", "example.com");
	assert_domains("Name\r\n <user@example.com>", "example.com"); /* folded */
	assert_domains("<@route.example,@r2.example:user@example.com>", "example.com");
	assert_error("Name <user@example.com", 22, SIGNET_ERR_SYNTAX,
		     "'<' without '>' in 'Name <user@example.com'");
	assert_error("<user@example.com> x", 20, SIGNET_ERR_SYNTAX,
		     "text after '>' in '<user@example.com> x'");
	assert_error("<>", 2, SIGNET_ERR_SYNTAX, "empty address <> in '<>'");
	assert_error("a@b <c@example.com>", 19, SIGNET_ERR_SYNTAX, "'a@b' is not a display name");
}

/* "mailbox-list = (mailbox *("," mailbox)) / obs-mbox-list": DMARC takes
 * the author domain from one mailbox; with several, all are reported. */
static void RFC5322_mailbox_list_all_domains(void **state)
{
	(void)state;
	const char *v = "Joe <joe@one.example>";
	assert_int_equal(from(v), SIGNET_OK);
	assert_int_equal(a.n, 1);
	assert_ptr_equal(a.domain[0].p, (const uint8_t *)v + 9); /* borrowed from the value */
	assert_domains("a@one.example, B <b@two.example>,,", "one.example,two.example");
	assert_int_equal(a.n, 2);
	assert_domains("", "");
	assert_int_equal(a.n, 0);
	char many[1024] = "";
	for (int k = 0; k < KEPT + 2; k++)
		snprintf(many + strlen(many), sizeof many - strlen(many), "u%d@d%d.example,", k, k);
	assert_int_equal(from(many), SIGNET_OK);
	assert_int_equal(a.n, KEPT + 2); /* counted beyond the caller's cap */
	assert_memory_equal(a.domain[KEPT - 1].p, "d15.example", 11);
	size_t n = 99; /* cap 0: only counted */
	assert_int_equal(
		signet_rfc5322_from_domains((const uint8_t *)many, strlen(many), NULL, 0, &n, &err),
		SIGNET_OK);
	assert_int_equal(n, KEPT + 2);
	assert_error("a@x.example; b@y.example", 24, SIGNET_ERR_SYNTAX, "unexpected ';'");
}

/* "group = display-name ":" [group-list] ";" [CFWS]" (3.4). */
static void RFC5322_group(void **state)
{
	(void)state;
	assert_domains("undisclosed:;", "");
	assert_int_equal(a.n, 0);
	assert_domains("undisclosed-recipients: ;", "");
	assert_domains("Team: a@one.example, b@two.example; c@three.example",
		       "one.example,two.example,three.example");
	assert_error("G: a@x.example", 14, SIGNET_ERR_SYNTAX, "group without its closing ';'");
	assert_error("G: H: a@x.example;;", 19, SIGNET_ERR_SYNTAX, "a group inside a group");
	assert_error("undisclosed:", 12, SIGNET_ERR_SYNTAX, "group without its closing ';'");
}

/* RFC 6532 3.2: UTF-8 is atext; an IDN domain stays UTF-8 as written. */
static void RFC5322_idn_domain_left_as_utf8(void **state)
{
	(void)state;
	assert_domains("J\xc3\xb6rg <j@B\xc3\xbc"
		       "cher.example>",
		       "B\xc3\xbc"
		       "cher.example");
	assert_domains("user@xn--bcher-kva.example", "xn--bcher-kva.example");
}

/* SIGNET_RFC5322_MAX_TOKENS -1, =, +1 (empty elements: one ',' a token). */
static void RFC5322_token_limit(void **state)
{
	(void)state;
	char *v = malloc(SIGNET_RFC5322_MAX_TOKENS + 2);
	assert_non_null(v);
	memset(v, ',', SIGNET_RFC5322_MAX_TOKENS + 1);
	v[SIGNET_RFC5322_MAX_TOKENS + 1] = ' ';
	assert_int_equal(from_n(v, SIGNET_RFC5322_MAX_TOKENS - 1), SIGNET_OK);
	assert_int_equal(from_n(v, SIGNET_RFC5322_MAX_TOKENS), SIGNET_OK);
	assert_int_equal(from_n(v + 1, SIGNET_RFC5322_MAX_TOKENS + 1),
			 SIGNET_OK); /* + trailing FWS */
	assert_error(v, SIGNET_RFC5322_MAX_TOKENS + 1, SIGNET_ERR_LIMIT,
		     "more than SIGNET_RFC5322_MAX_TOKENS (4096) tokens");
	free(v);
}

/* Every truncation of a valid value, each copied to a block of its exact
 * size (ASan catches a read past the end), and NULL arguments. */
static void RFC5322_truncated_input(void **state)
{
	(void)state;
	const char *v = "\"J (x)\" (c (d)) <@r.example:joe@example.com>, G: b@c.example;";
	size_t len = strlen(v);
	for (size_t k = 0; k <= len; k++) {
		char *copy = malloc(k ? k : 1);
		assert_non_null(copy);
		memcpy(copy, v, k);
		enum signet_status st = from_n(copy, k);
		assert_true(st == SIGNET_OK || st == SIGNET_ERR_SYNTAX);
		assert_true(st == SIGNET_OK || err.msg[0] != '\0');
		free(copy);
	}
	assert_int_equal(from_n(v, len), SIGNET_OK);
	assert_string_equal(domains(), "example.com,c.example");
	size_t n;
	assert_int_equal(signet_rfc5322_from_domains(NULL, 1, a.domain, KEPT, &n, &err),
			 SIGNET_ERR_INVAL);
	assert_int_equal(signet_rfc5322_from_domains((const uint8_t *)"", 0, NULL, 1, &n, &err),
			 SIGNET_ERR_INVAL);
	assert_int_equal(signet_rfc5322_from_domains((const uint8_t *)"", 0, NULL, 0, NULL, &err),
			 SIGNET_ERR_INVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(RFC5322_CFWS_skips_fws_and_comments),
		cmocka_unit_test(RFC5322_comment_unterminated),
		cmocka_unit_test(RFC5322_comment_nesting_limit),
		cmocka_unit_test(RFC5322_comment_NUL_inside),
		cmocka_unit_test(RFC5322_quoted_string_with_escapes),
		cmocka_unit_test(RFC5322_dot_atom_domain),
		cmocka_unit_test(RFC5322_addr_spec),
		cmocka_unit_test(RFC5322_mailbox),
		cmocka_unit_test(RFC5322_mailbox_list_all_domains),
		cmocka_unit_test(RFC5322_group),
		cmocka_unit_test(RFC5322_idn_domain_left_as_utf8),
		cmocka_unit_test(RFC5322_token_limit),
		cmocka_unit_test(RFC5322_truncated_input),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
