/* test_ucl.c: the UCL subset parser of signetd (conf/ucl.c): every syntax
 * element, errors with file:line:col, each limit at limit-1, limit and
 * limit+1, includes through the callback (relative paths, try, priority,
 * merge, loops), implicit arrays, NUL and truncated input, and an
 * rspamd-style dkim_signing.conf. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "ucl.h"

/* ---- helpers ------------------------------------------------------------ */

/* Compact text of a tree: {k:v,...} [v,...] "str" 1 1.5 t:2.5 true null;
 * an implicit array shows as k:<v|v>. */
static void dump(const struct ucl_node *n, char *out, size_t cap);

static void dump_append(char *out, size_t cap, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static void dump_append(char *out, size_t cap, const char *fmt, ...)
{
	size_t l = strlen(out);
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(out + l, cap - l, fmt, ap);
	va_end(ap);
}

static void dump_one(const struct ucl_node *n, char *out, size_t cap)
{
	switch (n->type) {
	case UCL_NULL: dump_append(out, cap, "null"); break;
	case UCL_BOOL: dump_append(out, cap, n->v.b ? "true" : "false"); break;
	case UCL_INT: dump_append(out, cap, "%lld", (long long)n->v.i); break;
	case UCL_FLOAT: dump_append(out, cap, "%g", n->v.d); break;
	case UCL_TIME: dump_append(out, cap, "t:%g", n->v.d); break;
	case UCL_STRING: dump_append(out, cap, "\"%s\"", n->str); break;
	case UCL_ARRAY:
		dump_append(out, cap, "[");
		for (size_t k = 0; k < n->nkids; k++) {
			dump_append(out, cap, k ? "," : "");
			dump(n->kids[k], out, cap);
		}
		dump_append(out, cap, "]");
		break;
	case UCL_OBJECT:
		dump_append(out, cap, "{");
		for (size_t k = 0; k < n->nkids; k++) {
			dump_append(out, cap, "%s%s:", k ? "," : "", n->kids[k]->key);
			dump(n->kids[k], out, cap);
		}
		dump_append(out, cap, "}");
		break;
	}
}

static void dump(const struct ucl_node *n, char *out, size_t cap)
{
	if (n->next == NULL) {
		dump_one(n, out, cap);
		return;
	}
	dump_append(out, cap, "<");
	for (const struct ucl_node *m = n; m != NULL; m = m->next) {
		dump_one(m, out, cap);
		dump_append(out, cap, m->next ? "|" : ">");
	}
}

/* Files for the include callback: name → text. */
struct fake_fs {
	const char *names[24];
	const char *texts[24];
	size_t lens[24]; /* 0: strlen */
	size_t n;
	char seen[8][128]; /* paths asked for */
	size_t nseen;
};

static enum ucl_include_status fake_include(void *ctx, const char *path, bool try_,
					    struct ucl_include_result *res)
{
	struct fake_fs *fs = ctx;
	(void)try_;
	if (fs->nseen < 8)
		snprintf(fs->seen[fs->nseen++], 128, "%s", path);
	for (size_t k = 0; k < fs->n; k++) {
		if (strcmp(fs->names[k], path) != 0)
			continue;
		if (fs->texts[k] == NULL) {
			snprintf(res->why, sizeof res->why, "Permission denied");
			return UCL_INCLUDE_FAILED;
		}
		res->len = fs->lens[k] ? fs->lens[k] : strlen(fs->texts[k]);
		res->text = malloc(res->len + 1);
		assert_non_null(res->text);
		memcpy(res->text, fs->texts[k], res->len);
		return UCL_INCLUDE_OK;
	}
	snprintf(res->why, sizeof res->why, "No such file or directory");
	return UCL_INCLUDE_NOT_FOUND;
}

static char g_dump[65536];
static char g_err[8192];

/* Parses text; returns the status; fills g_dump (tree) or g_err (message). */
static enum signet_status parse_opts(const struct ucl_opts *o, const char *name, const char *text,
				     size_t len)
{
	struct diags d;
	struct ucl_doc *doc = NULL;
	diags_init(&d);
	g_dump[0] = g_err[0] = '\0';
	enum signet_status st = ucl_parse(o, name, (const uint8_t *)text, len, &doc, &d);
	if (st == SIGNET_OK) {
		assert_non_null(doc);
		assert_int_equal(d.n, 0);
		dump(doc->root, g_dump, sizeof g_dump);
	} else {
		assert_null(doc);
		assert_int_equal(d.nerrors, 1);
		snprintf(g_err, sizeof g_err, "%s", d.v[0].msg);
	}
	ucl_doc_free(doc);
	diags_free(&d);
	return st;
}

static enum signet_status parse(const char *text)
{
	return parse_opts(NULL, "t.conf", text, strlen(text));
}

static void assert_tree(const char *text, const char *want)
{
	if (parse(text) != SIGNET_OK)
		fail_msg("parse failed: %s", g_err);
	assert_string_equal(g_dump, want);
}

static void assert_error(const char *text, const char *want)
{
	assert_int_not_equal(parse(text), SIGNET_OK);
	assert_string_equal(g_err, want);
}

/* ---- syntax ------------------------------------------------------------- */

/* `key = value;`, `key: value`, `key value`, separators ; , or newline. */
static void ucl_assignment_forms(void **state)
{
	(void)state;
	assert_tree("a = 1; b: 2, c 3\nd = \"x\"\ne=4", "{a:1,b:2,c:3,d:\"x\",e:4}");
	assert_tree("a=1;;b=2;", "{a:1,b:2}");
	assert_tree("", "{}");
	assert_tree("  # only a comment\n", "{}");
	assert_tree("a = 1 # trailing comment\nb = 2 // another\n", "{a:1,b:2}");
}

static void ucl_nested_objects(void **state)
{
	(void)state;
	assert_tree("o { a = 1; p { b = \"x\"; } }", "{o:{a:1,p:{b:\"x\"}}}");
	assert_tree("o = { a = 1 }\nq: {}", "{o:{a:1},q:{}}");
	assert_tree("o\n{\n a = 1\n}\n", "{o:{a:1}}");
	/* libucl nested keys: `worker "normal" { }` is worker { normal { } } */
	assert_tree("worker \"normal\" { count = 2; }", "{worker:{normal:{count:2}}}");
	assert_tree("domain example.com { selector = s1; }",
		    "{domain:{example.com:{selector:\"s1\"}}}");
	/* the whole file in braces */
	assert_tree("{ a = 1; b { c = 2 } }\n", "{a:1,b:{c:2}}");
}

static void ucl_arrays(void **state)
{
	(void)state;
	assert_tree("a = [1, 2, 3]", "{a:[1,2,3]}");
	assert_tree("a = [1, 2, 3,]", "{a:[1,2,3]}");
	assert_tree("a = [\n \"x\"\n \"y\"\n]", "{a:[\"x\",\"y\"]}");
	assert_tree("a = []; b [ [1], {c = 2;}, ]", "{a:[],b:[[1],{c:2}]}");
	assert_tree("sel [ { s = 1; }, { s = 2; } ]", "{sel:[{s:1},{s:2}]}");
	assert_error("a = [1 2]", "t.conf:1:8: expected ',' or ']' in the array opened at 1:5, "
				  "found '2'");
	assert_error("a = [1,\n2", "t.conf:1:5: expected ']' to close 'a' opened here");
}

static void ucl_comments(void **state)
{
	(void)state;
	assert_tree("# hash\n// slashes\n/* block */ a = 1", "{a:1}");
	assert_tree("/* outer /* inner */ still comment */ a = 1", "{a:1}");
	assert_tree("a = /* here */ 1", "{a:1}");
	assert_tree("path = /var//lib/x", "{path:\"/var//lib/x\"}"); /* '//' inside a value */
	assert_error("a = 1\n/* open /* nested */\n", "t.conf:2:1: comment opened here is not "
						      "closed (missing '*/')");
}

static void ucl_double_quoted_strings(void **state)
{
	(void)state;
	assert_tree("a = \"x\\ty\\n\\\"q\\\" \\\\ \\/\"", "{a:\"x\ty\n\"q\" \\ /\"}");
	assert_tree("a = \"caf\\u00e9 \\u20AC\"", "{a:\"caf\xc3\xa9 \xe2\x82\xac\"}");
	assert_tree("a = \"\\uD83D\\uDE00\"", "{a:\"\xf0\x9f\x98\x80\"}");
	assert_tree("a = \"\"", "{a:\"\"}");
	assert_tree("a = \"semi;colon, # not a comment\"", "{a:\"semi;colon, # not a comment\"}");
	assert_error("a = \"\\q\"", "t.conf:1:6: unknown escape '\\' followed by 'q' in a string");
	assert_error("a = \"\\u12G4\"", "t.conf:1:7: \\u must be followed by 4 hex digits");
	assert_error("a = \"\\uD83D\"", "t.conf:1:7: \\uD83D is a high surrogate without its "
					"low half");
	assert_error("a = \"\\uDE00\"", "t.conf:1:7: \\uDE00 is a lone low surrogate");
	assert_error("a = \"open", "t.conf:1:5: string opened here is not closed (missing '\"')");
	assert_error("a = \"line\nb = 2\"",
		     "t.conf:1:5: string opened here is not closed on its line (missing '\"'; use "
		     "\\n or a <<EOD heredoc for several lines)");
	/* a NUL from \u0000 is kept and counted */
	struct diags d;
	struct ucl_doc *doc = NULL;
	diags_init(&d);
	const char *t = "a = \"x\\u0000y\"";
	assert_int_equal(ucl_parse(NULL, "t", (const uint8_t *)t, strlen(t), &doc, &d), SIGNET_OK);
	const struct ucl_node *a = ucl_find(doc->root, "a");
	assert_int_equal(a->len, 3);
	assert_memory_equal(a->str, "x\0y", 3);
	ucl_doc_free(doc);
	diags_free(&d);
}

static void ucl_single_quoted_strings(void **state)
{
	(void)state;
	assert_tree("a = 'it\\'s'", "{a:\"it's\"}");
	assert_tree("a = 'back\\slash \\n kept'", "{a:\"back\\slash \\n kept\"}");
	assert_tree("a = 'multi\nline'", "{a:\"multi\nline\"}");
	assert_error("a = 'open", "t.conf:1:5: string opened here is not closed (missing \"'\")");
}

static void ucl_unquoted_atoms(void **state)
{
	(void)state;
	assert_tree("socket = inet:8891@127.0.0.1; p = /etc/signet/k.key",
		    "{socket:\"inet:8891@127.0.0.1\",p:\"/etc/signet/k.key\"}");
	assert_tree("path = /var/lib/rspamd/dkim/$domain.$selector.key",
		    "{path:\"/var/lib/rspamd/dkim/$domain.$selector.key\"}");
	assert_tree("ip = 127.0.0.1; v = 1.2.3; net = ::1; w = *.example.com",
		    "{ip:\"127.0.0.1\",v:\"1.2.3\",net:\"::1\",w:\"*.example.com\"}");
	assert_tree("a = 5x; b = 0xZZ", "{a:\"5x\",b:\"0xZZ\"}");
	assert_error("a = ;", "t.conf:1:5: expected a value for 'a', found ';'");
	assert_error("a = ", "t.conf:1:5: expected a value for 'a', found the end of the file");
	assert_error("a;", "t.conf:1:2: key 'a' has no value");
	assert_error("a = 1 2", "t.conf:1:7: expected ';' or a new line after the value of 'a', "
				"found '2'");
	assert_error("= 1", "t.conf:1:1: expected a key, found '='");
}

static void ucl_numbers(void **state)
{
	(void)state;
	assert_tree("a = 42; b = -7; c = +3; d = 0", "{a:42,b:-7,c:3,d:0}");
	assert_tree("a = 1.5; b = -0.25; c = 1e3; d = 2.5E-1", "{a:1.5,b:-0.25,c:1000,d:0.25}");
	assert_tree("a = 0x1F; b = 9223372036854775807", "{a:31,b:9223372036854775807}");
	assert_error("a = 9223372036854775808", "t.conf:1:5: number 9223372036854775808 is out of "
						"range");
	assert_error("a = 9223372036854775807k", "t.conf:1:5: number 9223372036854775807k is out "
						 "of range");
}

static void ucl_booleans_and_null(void **state)
{
	(void)state;
	assert_tree("a = true; b = yes; c = on; d = TRUE", "{a:true,b:true,c:true,d:true}");
	assert_tree("a = false; b = no; c = off; d = Off", "{a:false,b:false,c:false,d:false}");
	assert_tree("a = null; b = \"true\"", "{a:null,b:\"true\"}");
	assert_tree("a = truex", "{a:\"truex\"}");
}

static void ucl_time_suffixes(void **state)
{
	(void)state;
	assert_tree(
		"a = 250ms; b = 5s; c = 2min; d = 1h; e = 1d; f = 1w; g = 1y; h = 1.5s",
		"{a:t:0.25,b:t:5,c:t:120,d:t:3600,e:t:86400,f:t:604800,g:t:3.1536e+07,h:t:1.5}");
	assert_tree("a = 5S; b = 2MIN", "{a:t:5,b:t:120}");
}

static void ucl_size_suffixes(void **state)
{
	(void)state;
	assert_tree("a = 1k; b = 1kb; c = 2m; d = 1mb; e = 1g; f = 1gb; g = 1.5k",
		    "{a:1000,b:1024,c:2000000,d:1048576,e:1000000000,f:1073741824,g:1500}");
	assert_tree("a = 0x10k", "{a:\"0x10k\"}"); /* no suffix on hex */
}

static void ucl_heredoc(void **state)
{
	(void)state;
	assert_tree("a = <<EOD\nline 1\n  line \"2\"\nEOD\nb = 1",
		    "{a:\"line 1\n  line \"2\"\",b:1}");
	assert_tree("a = <<EOD\nEOD;", "{a:\"\"}");
	assert_tree("a = <<EOD\r\nx\r\nEOD\r\n", "{a:\"x\"}");
	assert_tree("a = <<END\nEOD\nnot yet END\nEND", "{a:\"EOD\nnot yet END\"}");
	assert_error("a = <<EOD\nno end\n", "t.conf:1:5: heredoc <<EOD opened here has no closing "
					    "EOD line");
	assert_error("a = <<eod\n", "t.conf:1:5: heredoc must be '<<' then capital letters then a "
				    "line end (<<EOD)");
}

static void ucl_quoted_keys(void **state)
{
	(void)state;
	assert_tree("\"a b\" = 1; 'c' = 2; \"x.y\" { z = 3 }", "{a b:1,c:2,x.y:{z:3}}");
	assert_error("\"\" = 1", "t.conf:1:1: empty key");
	assert_error("\"a\\u0000b\" = 1", "t.conf:1:1: key contains a NUL byte");
}

/* Duplicate keys become an implicit array (libucl; rspamd relies on it). */
static void ucl_duplicate_keys_implicit_array(void **state)
{
	(void)state;
	assert_tree("a = 1; a = 2; b = x; a = 3", "{a:<1|2|3>,b:\"x\"}");
	assert_tree("d { x = 1 } d { y = 2 }", "{d:<{x:1}|{y:2}>}");
	struct diags d;
	struct ucl_doc *doc = NULL;
	diags_init(&d);
	const char *t = "a = 1\na = 2\n";
	assert_int_equal(ucl_parse(NULL, "t", (const uint8_t *)t, strlen(t), &doc, &d), SIGNET_OK);
	const struct ucl_node *a = ucl_find(doc->root, "a");
	assert_int_equal(ucl_count(a), 2);
	assert_int_equal(a->line, 1);
	assert_int_equal(a->next->line, 2);
	assert_null(ucl_find(doc->root, "b"));
	assert_null(ucl_find(a, "x")); /* not an object */
	ucl_doc_free(doc);
	diags_free(&d);
}

static void ucl_positions_of_nodes(void **state)
{
	(void)state;
	struct diags d;
	struct ucl_doc *doc = NULL;
	diags_init(&d);
	const char *t = "a = 1\n  dkim {\n\tpath = \"x\"\n  }\n";
	assert_int_equal(ucl_parse(NULL, "f.conf", (const uint8_t *)t, strlen(t), &doc, &d),
			 SIGNET_OK);
	const struct ucl_node *dk = ucl_find(doc->root, "dkim");
	assert_int_equal(dk->line, 2);
	assert_int_equal(dk->col, 3);
	const struct ucl_node *p = ucl_find(dk, "path");
	assert_int_equal(p->line, 3);
	assert_int_equal(p->col, 2);
	assert_string_equal(p->file, "f.conf");
	assert_string_equal(ucl_type_name(p->type), "string");
	ucl_doc_free(doc);
	diags_free(&d);
}

/* ---- errors ------------------------------------------------------------- */

static void ucl_error_unclosed_object_names_opener(void **state)
{
	(void)state;
	assert_error("a = 1\ndkim_signing {\n  domain {\n    x = 1;\n",
		     "t.conf:5:1: expected '}' "
		     "to close 'domain' opened at 3:10");
	assert_error("a { b = 1 } }", "t.conf:1:13: unexpected '}' (no object is open)");
	assert_error("a { b = 1 ]", "t.conf:1:11: unexpected ']' in 'a' opened at 1:3");
	assert_error("{ a = 1 } b", "t.conf:1:11: unexpected 'b' after the top-level object");
}

/* Every parser gets a truncated input: each prefix of a valid file either
 * parses or fails with a message, never crashes or reads past the end. */
static void ucl_truncated_input_every_prefix(void **state)
{
	(void)state;
	const char *t = "a = \"x\\u00e9\"; b { c = [1, 'q', <<EOD\nhere\nEOD\n] } /* c */ d = 5s";
	size_t len = strlen(t);
	for (size_t k = 0; k <= len; k++) {
		char *copy = malloc(k ? k : 1); /* exact size: ASan catches a read past it */
		assert_non_null(copy);
		memcpy(copy, t, k);
		enum signet_status st = parse_opts(NULL, "t.conf", copy, k);
		assert_true(st == SIGNET_OK || st == SIGNET_ERR_SYNTAX);
		if (st != SIGNET_OK)
			assert_non_null(strstr(g_err, "t.conf:"));
		free(copy);
	}
	assert_int_equal(parse_opts(NULL, "t.conf", t, len), SIGNET_OK);
}

static void ucl_nul_in_the_middle(void **state)
{
	(void)state;
	const char t[] = "a = 1\nb = \"x\0y\"\n";
	assert_int_equal(parse_opts(NULL, "t.conf", t, sizeof t - 1), SIGNET_ERR_SYNTAX);
	assert_string_equal(g_err, "t.conf:2:7: NUL byte in the file");
}

static void ucl_unknown_macro(void **state)
{
	(void)state;
	assert_error(".load \"x\"", "t.conf:1:1: unknown macro '.load' (only .include and "
				    ".try_include)");
	assert_error(".include", "t.conf:1:9: .include needs a file name");
	assert_error(".include \"x\"", "t.conf:1:1: .include is not available here");
}

/* ---- limits ------------------------------------------------------------- */

static char *nested(size_t levels)
{
	char *t = malloc(levels * 8 + 16);
	assert_non_null(t);
	t[0] = '\0';
	for (size_t k = 0; k < levels; k++)
		strcat(t, "a { ");
	for (size_t k = 0; k < levels; k++)
		strcat(t, "} ");
	return t;
}

/* UCL_MAX_DEPTH counts the top object: 63 nested braces make depth 64. */
static void ucl_limit_depth(void **state)
{
	(void)state;
	char *t = nested(UCL_MAX_DEPTH - 2);
	assert_int_equal(parse(t), SIGNET_OK);
	free(t);
	t = nested(UCL_MAX_DEPTH - 1);
	assert_int_equal(parse(t), SIGNET_OK);
	free(t);
	t = nested(UCL_MAX_DEPTH);
	assert_int_equal(parse(t), SIGNET_ERR_LIMIT);
	assert_string_equal(g_err, "t.conf:1:255: objects and arrays nested deeper than "
				   "UCL_MAX_DEPTH (64)");
	free(t);
	/* arrays count the same */
	char arr[256] = "a = ";
	for (int k = 0; k < UCL_MAX_DEPTH; k++)
		strcat(arr, "[");
	assert_int_equal(parse(arr), SIGNET_ERR_LIMIT);
}

static char *string_of(size_t n, bool quoted)
{
	char *t = malloc(n + 16);
	assert_non_null(t);
	strcpy(t, quoted ? "a = \"" : "a = ");
	size_t off = strlen(t);
	memset(t + off, 'x', n);
	strcpy(t + off + n, quoted ? "\"" : "");
	return t;
}

static void ucl_limit_string(void **state)
{
	(void)state;
	for (int q = 0; q < 2; q++) {
		char *t = string_of(UCL_MAX_STRING - 1, q);
		assert_int_equal(parse(t), SIGNET_OK);
		free(t);
		t = string_of(UCL_MAX_STRING, q);
		assert_int_equal(parse(t), SIGNET_OK);
		free(t);
		t = string_of(UCL_MAX_STRING + 1, q);
		assert_int_equal(parse(t), SIGNET_ERR_LIMIT);
		assert_string_equal(g_err, "t.conf:1:5: string longer than UCL_MAX_STRING (65536 "
					   "bytes)");
		free(t);
	}
	/* keys too */
	char *k = malloc(UCL_MAX_STRING + 8);
	assert_non_null(k);
	memset(k, 'k', UCL_MAX_STRING + 1);
	strcpy(k + UCL_MAX_STRING + 1, " = 1");
	assert_int_equal(parse(k), SIGNET_ERR_LIMIT);
	strcpy(k + UCL_MAX_STRING, " = 1");
	assert_int_equal(parse(k), SIGNET_OK);
	free(k);
}

static void ucl_limit_input(void **state)
{
	(void)state;
	char *t = malloc(UCL_MAX_INPUT + 1);
	assert_non_null(t);
	memset(t, '\n', UCL_MAX_INPUT + 1);
	assert_int_equal(parse_opts(NULL, "t.conf", t, UCL_MAX_INPUT - 1), SIGNET_OK);
	assert_int_equal(parse_opts(NULL, "t.conf", t, UCL_MAX_INPUT), SIGNET_OK);
	assert_int_equal(parse_opts(NULL, "t.conf", t, UCL_MAX_INPUT + 1), SIGNET_ERR_LIMIT);
	assert_string_equal(g_err, "t.conf:1:1: 1048577 bytes is larger than UCL_MAX_INPUT "
				   "(1048576 bytes)");
	free(t);
}

/* A chain of files: f0 includes f1 includes ... f<n>. */
static enum signet_status include_chain(size_t n)
{
	static char names[40][16], texts[40][48];
	struct fake_fs fs = {.n = 0};
	for (size_t k = 0; k <= n && k < 40; k++) {
		snprintf(names[k], sizeof names[k], "f%zu", k);
		if (k < n)
			snprintf(texts[k], sizeof texts[k], "v%zu = %zu\n.include \"f%zu\"\n", k, k,
				 k + 1);
		else
			snprintf(texts[k], sizeof texts[k], "last = %zu\n", k);
		fs.names[fs.n] = names[k];
		fs.texts[fs.n] = texts[k];
		if (fs.n < 23)
			fs.n++;
	}
	struct ucl_opts o = {.include = fake_include, .include_ctx = &fs};
	return parse_opts(&o, "f0", texts[0], strlen(texts[0]));
}

static void ucl_limit_include_depth(void **state)
{
	(void)state;
	assert_int_equal(include_chain(UCL_MAX_INCLUDE_DEPTH - 1), SIGNET_OK);
	assert_int_equal(include_chain(UCL_MAX_INCLUDE_DEPTH), SIGNET_OK);
	assert_non_null(strstr(g_dump, "last:16"));
	assert_int_equal(include_chain(UCL_MAX_INCLUDE_DEPTH + 1), SIGNET_ERR_LIMIT);
	assert_non_null(strstr(g_err, "f16:2:1: includes nested deeper than "
				      "UCL_MAX_INCLUDE_DEPTH (16) (included from f15:2:1)"));
}

static void ucl_limit_includes_count(void **state)
{
	(void)state;
	struct fake_fs fs = {.names = {"x"}, .texts = {"v = 1\n"}, .n = 1};
	struct ucl_opts o = {.include = fake_include, .include_ctx = &fs, .max_includes = 3};
	const char *two = ".include \"x\"\n.include \"x\"\n";
	const char *three = ".include \"x\"\n.include \"x\"\n.include \"x\"\n";
	const char *four = ".include \"x\"\n.include \"x\"\n.include \"x\"\n.include \"x\"\n";
	assert_int_equal(parse_opts(&o, "m", two, strlen(two)), SIGNET_OK);
	assert_int_equal(parse_opts(&o, "m", three, strlen(three)), SIGNET_OK);
	assert_string_equal(g_dump, "{v:<1|1|1>}");
	assert_int_equal(parse_opts(&o, "m", four, strlen(four)), SIGNET_ERR_LIMIT);
	assert_string_equal(g_err, "m:4:1: more than UCL_MAX_INCLUDES (3) includes");
}

static void ucl_limit_total_input(void **state)
{
	(void)state;
	struct fake_fs fs = {.names = {"x"}, .texts = {"v = 12345678\n"}, .n = 1}; /* 13 bytes */
	const char *main_text = ".include \"x\"";                                  /* 12 bytes */
	struct ucl_opts o = {.include = fake_include, .include_ctx = &fs, .max_total_input = 25};
	assert_int_equal(parse_opts(&o, "m", main_text, strlen(main_text)), SIGNET_OK);
	o.max_total_input = 24;
	assert_int_equal(parse_opts(&o, "m", main_text, strlen(main_text)), SIGNET_ERR_LIMIT);
	assert_string_equal(g_err, "m:1:1: all files together are larger than "
				   "UCL_MAX_TOTAL_INPUT (24 bytes)");
	o.max_total_input = 0;
	o.max_input = 13;
	assert_int_equal(parse_opts(&o, "m", main_text, strlen(main_text)), SIGNET_OK);
	o.max_input = 12;
	assert_int_equal(parse_opts(&o, "m", main_text, strlen(main_text)), SIGNET_ERR_LIMIT);
	assert_string_equal(g_err, "m:1:1: x: 13 bytes is larger than UCL_MAX_INPUT (12 bytes)");
}

/* ---- includes ----------------------------------------------------------- */

static void ucl_include_relative_to_including_file(void **state)
{
	(void)state;
	struct fake_fs fs = {
		.names = {"/etc/signet/sub/a.conf", "/etc/signet/sub/b.conf", "/abs/c.conf"},
		.texts = {"a = 1\n.include \"b.conf\"\n", "b = 2\n", "c = 3"},
		.n = 3};
	struct ucl_opts o = {.include = fake_include, .include_ctx = &fs};
	const char *t = "top { .include \"sub/a.conf\"; z = 9 }\n.include \"/abs/c.conf\"\n";
	assert_int_equal(parse_opts(&o, "/etc/signet/signetd.conf", t, strlen(t)), SIGNET_OK);
	assert_string_equal(g_dump, "{top:{a:1,b:2,z:9},c:3}");
	assert_string_equal(fs.seen[0], "/etc/signet/sub/a.conf");
	assert_string_equal(fs.seen[1], "/etc/signet/sub/b.conf");
	assert_string_equal(fs.seen[2], "/abs/c.conf");
}

static void ucl_include_try_and_missing(void **state)
{
	(void)state;
	struct fake_fs fs = {.names = {"locked"}, .texts = {NULL}, .n = 1};
	struct ucl_opts o = {.include = fake_include, .include_ctx = &fs};
	const char *t1 = "a = 1\n.include(try=true) \"nope.conf\"\n.try_include \"n2\"\nb = 2";
	assert_int_equal(parse_opts(&o, "m", t1, strlen(t1)), SIGNET_OK);
	assert_string_equal(g_dump, "{a:1,b:2}");
	const char *t2 = "a = 1\n  .include \"nope.conf\"\n";
	assert_int_equal(parse_opts(&o, "m", t2, strlen(t2)), SIGNET_ERR_INVAL);
	assert_string_equal(g_err, "m:2:3: cannot include nope.conf: No such file or directory");
	/* try does not hide a file that exists but cannot be read */
	const char *t3 = ".include(try=true) \"locked\"\n";
	assert_int_equal(parse_opts(&o, "m", t3, strlen(t3)), SIGNET_ERR_INVAL);
	assert_string_equal(g_err, "m:1:1: cannot include locked: Permission denied");
	const char *t4 = ".include(glob=true) \"x\"\n";
	assert_int_equal(parse_opts(&o, "m", t4, strlen(t4)), SIGNET_ERR_SYNTAX);
	assert_string_equal(g_err, "m:1:10: include parameter 'glob' is not supported (only try, "
				   "priority, duplicate)");
	const char *t5 = ".include(priority=16) \"x\"\n";
	assert_int_equal(parse_opts(&o, "m", t5, strlen(t5)), SIGNET_ERR_SYNTAX);
	assert_non_null(strstr(g_err, "bad value for include parameter 'priority'"));
}

/* libucl priorities: higher replaces, lower is dropped, equal appends. */
static void ucl_include_priority(void **state)
{
	(void)state;
	struct fake_fs fs = {.names = {"hi", "lo", "eq"},
			     .texts = {"sel = \"high\"\n", "sel = \"low\"\n", "sel = \"same\"\n"},
			     .n = 3};
	struct ucl_opts o = {.include = fake_include, .include_ctx = &fs};
	const char *t =
		"sel = \"base\"\n.include(priority=10) \"hi\"\n.include(priority=1) \"lo\"\n";
	assert_int_equal(parse_opts(&o, "m", t, strlen(t)), SIGNET_OK);
	assert_string_equal(g_dump, "{sel:\"high\"}");
	const char *t2 = "sel = \"base\"\n.include \"eq\"\n";
	assert_int_equal(parse_opts(&o, "m", t2, strlen(t2)), SIGNET_OK);
	assert_string_equal(g_dump, "{sel:<\"base\"|\"same\">}");
}

static void ucl_include_duplicate_strategies(void **state)
{
	(void)state;
	struct fake_fs fs = {.names = {"local"}, .texts = {"d { y = 2; x = 3 }\nk = 1\n"}, .n = 1};
	struct ucl_opts o = {.include = fake_include, .include_ctx = &fs};
	const char *t = "d { x = 1 }\n.include(duplicate=merge) \"local\"\n";
	assert_int_equal(parse_opts(&o, "m", t, strlen(t)), SIGNET_OK);
	assert_string_equal(g_dump, "{d:{x:<1|3>,y:2},k:1}");
	const char *t2 = "d { x = 1 }\n.include(duplicate=rewrite) \"local\"\n";
	assert_int_equal(parse_opts(&o, "m", t2, strlen(t2)), SIGNET_OK);
	assert_string_equal(g_dump, "{d:{y:2,x:3},k:1}");
	const char *t3 = "d { x = 1 }\n.include(duplicate=error) \"local\"\n";
	assert_int_equal(parse_opts(&o, "m", t3, strlen(t3)), SIGNET_ERR_SYNTAX);
	assert_string_equal(g_err, "local:1:1: duplicate key 'd' (first given at m:1:1) (included "
				   "from m:2:1)");
}

static void ucl_include_loop_detected(void **state)
{
	(void)state;
	struct fake_fs fs = {.names = {"a.conf", "b.conf", "self.conf"},
			     .texts = {"x = 1\n.include \"b.conf\"\n",
				       "y = 2\n.include \"a.conf\"\n", ".include \"self.conf\"\n"},
			     .n = 3};
	struct ucl_opts o = {.include = fake_include, .include_ctx = &fs};
	const char *t = ".include \"a.conf\"\n";
	assert_int_equal(parse_opts(&o, "main.conf", t, strlen(t)), SIGNET_ERR_SYNTAX);
	assert_string_equal(g_err, "b.conf:2:1: include loop: a.conf is already being read (it "
				   "includes itself, directly or through other files) (included "
				   "from a.conf:2:1) (included from main.conf:1:1)");
	assert_int_equal(parse_opts(&o, "self.conf", fs.texts[2], strlen(fs.texts[2])),
			 SIGNET_ERR_SYNTAX);
	assert_non_null(strstr(g_err, "self.conf:1:1: include loop: self.conf"));
}

static void ucl_include_error_inside_names_both_files(void **state)
{
	(void)state;
	struct fake_fs fs = {.names = {"inc.conf"}, .texts = {"ok = 1\nbad = [1,\n"}, .n = 1};
	struct ucl_opts o = {.include = fake_include, .include_ctx = &fs};
	const char *t = "a = 1\n\n.include \"inc.conf\"\n";
	assert_int_equal(parse_opts(&o, "main.conf", t, strlen(t)), SIGNET_ERR_SYNTAX);
	assert_string_equal(g_err, "inc.conf:2:7: expected ']' to close 'bad' opened here "
				   "(included from main.conf:3:1)");
	/* braces around an included file are allowed (libucl) */
	fs.texts[0] = "{ k = 2 }";
	assert_int_equal(parse_opts(&o, "main.conf", t, strlen(t)), SIGNET_OK);
	assert_string_equal(g_dump, "{a:1,k:2}");
	const char nul[] = "k = 1\nv = \"a\0b\"\n";
	fs.texts[0] = nul;
	fs.lens[0] = sizeof nul - 1;
	assert_int_equal(parse_opts(&o, "main.conf", t, strlen(t)), SIGNET_ERR_SYNTAX);
	assert_string_equal(g_err, "inc.conf:2:7: NUL byte in the file (included from "
				   "main.conf:3:1)");
}

/* rspamd's local.d/dkim_signing.conf, in the style of its documentation. */
static void ucl_rspamd_dkim_signing_conf(void **state)
{
	(void)state;
	const char *t =
		"# local.d/dkim_signing.conf\n"
		"allow_username_mismatch = true;\n"
		"path = \"/var/lib/rspamd/dkim/$domain.$selector.key\";\n"
		"selector = \"dkim\";\n"
		"domain {\n"
		"  example.com {\n"
		"    selectors [\n"
		"      {\n"
		"        path: \"/var/lib/rspamd/dkim/example.com.2019.key\";\n"
		"        selector: \"2019\";\n"
		"      },\n"
		"      { # multiple dkim signature\n"
		"        path = \"/var/lib/rspamd/dkim/eddsa.key\";\n"
		"        selector = \"eddsa\";\n"
		"      }\n"
		"    ]\n"
		"  }\n"
		"  example.net {\n"
		"    path = \"/var/lib/rspamd/dkim/example.net.key\";\n"
		"    selector = \"mail\";\n"
		"  }\n"
		"}\n"
		".include(try=true,priority=10) \"$LOCAL_CONFDIR/override.d/dkim_signing.conf\"\n";
	struct fake_fs fs = {.n = 0};
	struct ucl_opts o = {.include = fake_include, .include_ctx = &fs};
	assert_int_equal(parse_opts(&o, "/etc/rspamd/local.d/dkim_signing.conf", t, strlen(t)),
			 SIGNET_OK);
	assert_string_equal(
		g_dump,
		"{allow_username_mismatch:true,path:\"/var/lib/rspamd/dkim/$domain.$selector.key\","
		"selector:\"dkim\",domain:{example.com:{selectors:[{path:\"/var/lib/rspamd/dkim/"
		"example.com.2019.key\",selector:\"2019\"},{path:\"/var/lib/rspamd/dkim/"
		"eddsa.key\","
		"selector:\"eddsa\"}]},example.net:{path:\"/var/lib/rspamd/dkim/example.net.key\","
		"selector:\"mail\"}}}");
	/* variables are not expanded: the path is passed on as written */
	assert_string_equal(fs.seen[0], "/etc/rspamd/local.d/$LOCAL_CONFDIR/override.d/"
					"dkim_signing.conf");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(ucl_assignment_forms),
		cmocka_unit_test(ucl_nested_objects),
		cmocka_unit_test(ucl_arrays),
		cmocka_unit_test(ucl_comments),
		cmocka_unit_test(ucl_double_quoted_strings),
		cmocka_unit_test(ucl_single_quoted_strings),
		cmocka_unit_test(ucl_unquoted_atoms),
		cmocka_unit_test(ucl_numbers),
		cmocka_unit_test(ucl_booleans_and_null),
		cmocka_unit_test(ucl_time_suffixes),
		cmocka_unit_test(ucl_size_suffixes),
		cmocka_unit_test(ucl_heredoc),
		cmocka_unit_test(ucl_quoted_keys),
		cmocka_unit_test(ucl_duplicate_keys_implicit_array),
		cmocka_unit_test(ucl_positions_of_nodes),
		cmocka_unit_test(ucl_error_unclosed_object_names_opener),
		cmocka_unit_test(ucl_truncated_input_every_prefix),
		cmocka_unit_test(ucl_nul_in_the_middle),
		cmocka_unit_test(ucl_unknown_macro),
		cmocka_unit_test(ucl_limit_depth),
		cmocka_unit_test(ucl_limit_string),
		cmocka_unit_test(ucl_limit_input),
		cmocka_unit_test(ucl_limit_include_depth),
		cmocka_unit_test(ucl_limit_includes_count),
		cmocka_unit_test(ucl_limit_total_input),
		cmocka_unit_test(ucl_include_relative_to_including_file),
		cmocka_unit_test(ucl_include_try_and_missing),
		cmocka_unit_test(ucl_include_priority),
		cmocka_unit_test(ucl_include_duplicate_strategies),
		cmocka_unit_test(ucl_include_loop_detected),
		cmocka_unit_test(ucl_include_error_inside_names_both_files),
		cmocka_unit_test(ucl_rspamd_dkim_signing_conf),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
