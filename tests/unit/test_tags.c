/* test_tags.c: the tag-list parser (lib/tags.c, RFC 6376 3.2), checked
 * against the DKIM-TAG items of spec/dkim.md: grammar, FWS, duplicates,
 * error offsets, the tag limit, NUL and truncated input. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "tags.h"

static enum signet_status parse(const char *s, size_t len, struct tag_list *l,
				struct signet_error *err)
{
	memset(err, 0, sizeof *err);
	return tag_list_parse((const uint8_t *)s, len, l, err);
}

static enum signet_status parse_str(const char *s, struct tag_list *l, struct signet_error *err)
{
	return parse(s, strlen(s), l, err);
}

static void assert_span(struct signet_span sp, const char *want)
{
	assert_int_equal(sp.len, strlen(want));
	assert_memory_equal(sp.p, want, sp.len);
}

static void assert_value(const struct tag_list *l, const char *name, const char *want)
{
	const struct tag *t = tag_list_find(l, name);
	assert_non_null(t);
	assert_span(t->value, want);
}

/* DKIM-TAG-01 "name=value pairs separated by ;; a trailing ; is allowed;
 * WSP/FWS allowed around names, =, and values, and it is not part of the value" */
static void DKIM_TAG_01_fws_around_names_and_values(void **state)
{
	(void)state;
	struct tag_list l;
	struct signet_error err;
	assert_int_equal(parse_str("v=1 ;a = rsa-sha256 ;", &l, &err), SIGNET_OK);
	assert_int_equal(l.count, 2);
	assert_value(&l, "v", "1");
	assert_value(&l, "a", "rsa-sha256");
	assert_span(l.tags[0].name, "v");
	assert_span(l.tags[1].name, "a");
	assert_span(l.tags[1].raw, " rsa-sha256 ");
	assert_span(l.tags[0].raw, "1 ");
}

/* DKIM-TAG-01: folded FWS (CRLF WSP) between tags and inside values; inner FWS is kept. */
static void DKIM_TAG_01_folded_values_keep_inner_fws(void **state)
{
	(void)state;
	struct tag_list l;
	struct signet_error err;
	assert_int_equal(parse_str("a=1;\r\n\tb = x\r\n y ;\r\n c\r\n =\r\n\t2", &l, &err),
			 SIGNET_OK);
	assert_int_equal(l.count, 3);
	assert_value(&l, "a", "1");
	assert_value(&l, "b", "x\r\n y");
	assert_span(tag_list_find(&l, "b")->raw, " x\r\n y ");
	assert_value(&l, "c", "2");
	assert_span(tag_list_find(&l, "c")->raw, "\r\n\t2");
}

/* DKIM-TAG-01 with the milter's bare LF in place of CRLF in a fold. */
static void DKIM_TAG_01_bare_lf_fold(void **state)
{
	(void)state;
	struct tag_list l;
	struct signet_error err;
	assert_int_equal(parse_str("a=1;\n\tb=x\n\ty", &l, &err), SIGNET_OK);
	assert_value(&l, "b", "x\n\ty");
	/* A line break must be followed by WSP to be FWS. */
	assert_int_equal(parse_str("a=1;\nb=2", &l, &err), SIGNET_ERR_SYNTAX);
	assert_int_equal(parse_str("a=1\r\n", &l, &err), SIGNET_ERR_SYNTAX);
	assert_non_null(strstr(err.msg, "0x0d"));
	assert_non_null(strstr(err.msg, "offset 3"));
	/* A bare CR is never a line break. */
	assert_int_equal(parse_str("a=1\r b=2", &l, &err), SIGNET_ERR_SYNTAX);
}

/* DKIM-TAG-02 "Tag names are case-sensitive; unknown tags are ignored" */
static void DKIM_TAG_02_names_case_sensitive(void **state)
{
	(void)state;
	struct tag_list l;
	struct signet_error err;
	assert_int_equal(parse_str("V=1; zz=1", &l, &err), SIGNET_OK);
	assert_null(tag_list_find(&l, "v"));
	assert_non_null(tag_list_find(&l, "V"));
	assert_value(&l, "zz", "1");
	/* "v" and "V" are different tags, so not duplicates. */
	assert_int_equal(parse_str("v=1; V=2", &l, &err), SIGNET_OK);
	assert_value(&l, "v", "1");
	assert_value(&l, "V", "2");
	assert_null(tag_list_find(&l, "z"));
}

/* DKIM-TAG-03 "The same tag twice makes the whole tag-list invalid" */
static void DKIM_TAG_03_duplicate_tag(void **state)
{
	(void)state;
	struct tag_list l;
	struct signet_error err;
	assert_int_equal(parse_str("d=a.example; s=x; d=b.example", &l, &err), SIGNET_ERR_SYNTAX);
	assert_int_equal(err.code, SIGNET_ERR_SYNTAX);
	assert_string_equal(err.msg, "duplicate tag d= at offset 18");
	assert_string_equal(err.spec, "RFC 6376 3.2");
	/* Same value twice is still a duplicate. */
	assert_int_equal(parse_str("b=; b=", &l, &err), SIGNET_ERR_SYNTAX);
}

/* DKIM-TAG-04 "Tag names: a letter then letters/digits/underscore; ... an
 * empty value is legal syntax" */
static void DKIM_TAG_04_names_and_empty_values(void **state)
{
	(void)state;
	struct tag_list l;
	struct signet_error err;
	assert_int_equal(parse_str("x_y=1; A9_=2; b=", &l, &err), SIGNET_OK);
	assert_value(&l, "x_y", "1");
	assert_value(&l, "A9_", "2");
	assert_value(&l, "b", "");
	assert_int_equal(parse_str("1x=1", &l, &err), SIGNET_ERR_SYNTAX);
	assert_string_equal(err.msg, "tag name expected at offset 0");
	assert_int_equal(parse_str("_x=1", &l, &err), SIGNET_ERR_SYNTAX);
	assert_int_equal(parse_str("a-b=1", &l, &err), SIGNET_ERR_SYNTAX);
	assert_string_equal(err.msg, "'=' expected after tag name a at offset 1");
	/* Empty value before ';' and with WSP only. */
	assert_int_equal(parse_str("a=;b= \t ;c=", &l, &err), SIGNET_OK);
	assert_value(&l, "a", "");
	assert_value(&l, "b", "");
	assert_span(tag_list_find(&l, "b")->raw, " \t ");
	assert_value(&l, "c", "");
}

/* DKIM-TAG-04 "a value is printable ASCII except ;": '=' and '"' are
 * VALCHARs; control octets and DEL are not. */
static void DKIM_TAG_04_value_characters(void **state)
{
	(void)state;
	struct tag_list l;
	struct signet_error err;
	assert_int_equal(parse_str("q=dns/txt=3A; n=\"hi\"!~", &l, &err), SIGNET_OK);
	assert_value(&l, "q", "dns/txt=3A");
	assert_value(&l, "n", "\"hi\"!~");
	assert_int_equal(parse_str("a=x\x01y", &l, &err), SIGNET_ERR_SYNTAX);
	assert_string_equal(err.msg, "invalid byte 0x01 in value of a= at offset 3");
	assert_int_equal(parse_str("a=x\x7f", &l, &err), SIGNET_ERR_SYNTAX);
	assert_int_equal(parse_str("a=x\x0b", &l, &err), SIGNET_ERR_SYNTAX); /* VT is not WSP */
}

/* DKIM-TAG-05 "A tag-list that fails the grammar (e.g. d with no =, stray
 * =) → permerror with a reason naming the position" */
static void DKIM_TAG_05_error_names_offset(void **state)
{
	(void)state;
	struct tag_list l;
	struct signet_error err;
	assert_int_equal(parse_str("v=1; d example.com", &l, &err), SIGNET_ERR_SYNTAX);
	assert_string_equal(err.msg, "'=' expected after tag name d at offset 7");
	assert_int_equal(parse_str("v=1; =x", &l, &err), SIGNET_ERR_SYNTAX);
	assert_string_equal(err.msg, "tag name expected at offset 5");
	assert_int_equal(parse_str("v=1;;", &l, &err), SIGNET_ERR_SYNTAX);
	assert_string_equal(err.msg, "tag name expected at offset 4");
}

/* DKIM-TAG-06 "Values are raw bytes after trimming; we never fix them" */
static void DKIM_TAG_06_values_kept_as_written(void **state)
{
	(void)state;
	struct tag_list l;
	struct signet_error err;
	assert_int_equal(parse_str("d=Example.COM; s=Sel", &l, &err), SIGNET_OK);
	assert_value(&l, "d", "Example.COM");
	assert_value(&l, "s", "Sel");
}

/* DKIM-EAI-01 "the dkim-safe-char set of tag values admits non-ASCII UTF-8" */
static void DKIM_EAI_01_utf8_in_values(void **state)
{
	(void)state;
	struct tag_list l;
	struct signet_error err;
	assert_int_equal(parse_str("d=b\xc3\xbc"
				   "cher.example; i=jos\xc3\xa9@b\xc3\xbc"
				   "cher.example",
				   &l, &err),
			 SIGNET_OK);
	assert_value(&l, "d",
		     "b\xc3\xbc"
		     "cher.example");
	assert_value(&l, "i",
		     "jos\xc3\xa9@b\xc3\xbc"
		     "cher.example");
	/* ...but never in a tag name. */
	assert_int_equal(parse_str("\xc3\xa9=1", &l, &err), SIGNET_ERR_SYNTAX);
}

/* RFC 6376 3.7: raw is what gets deleted from b= for the hash. */
static void DKIM_SIG_13_raw_span_of_b(void **state)
{
	(void)state;
	struct tag_list l;
	struct signet_error err;
	const char *in = "bh=x; b= AbC\r\n\t def ; d=e";
	assert_int_equal(parse_str(in, &l, &err), SIGNET_OK);
	const struct tag *b = tag_list_find(&l, "b");
	assert_span(b->raw, " AbC\r\n\t def ");
	assert_ptr_equal(b->raw.p, in + 8);
	assert_span(b->value, "AbC\r\n\t def");
	/* b= last without ';': raw runs to the end. */
	assert_int_equal(parse_str("bh=x; b=AbC ", &l, &err), SIGNET_OK);
	assert_span(tag_list_find(&l, "b")->raw, "AbC ");
	/* Empty b=: raw is empty and points right after '='. */
	assert_int_equal(parse_str("bh=x; b=", &l, &err), SIGNET_OK);
	assert_int_equal(tag_list_find(&l, "b")->raw.len, 0);
}

/* Each parser gets a NUL in the middle: it is data, and not allowed in a value. */
static void DKIM_TAG_04_nul_in_middle(void **state)
{
	(void)state;
	struct tag_list l;
	struct signet_error err;
	static const char in[] = "v=1\0; d=x";
	assert_int_equal(parse(in, sizeof in - 1, &l, &err), SIGNET_ERR_SYNTAX);
	assert_string_equal(err.msg, "invalid byte 0x00 in value of v= at offset 3");
	static const char in2[] = "v=1; \0d=x";
	assert_int_equal(parse(in2, sizeof in2 - 1, &l, &err), SIGNET_ERR_SYNTAX);
	assert_string_equal(err.msg, "tag name expected at offset 5");
}

/* Truncated input at every length: never a crash, and only the cut points
 * that leave a grammatical list parse. */
static void DKIM_TAG_05_truncated_input(void **state)
{
	(void)state;
	static const char full[] = "v=1; a=rsa-sha256; d=example.com";
	struct tag_list l;
	struct signet_error err;
	for (size_t n = 0; n <= sizeof full - 1; n++) {
		/* Copy to an exact-size heap block so ASan catches any over-read. */
		char *copy = test_malloc(n ? n : 1);
		memcpy(copy, full, n);
		enum signet_status st = parse(copy, n, &l, &err);
		/* A cut right after a tag name (v, a, d) leaves a name
		 * without '='; every other cut is a grammatical list. */
		bool in_name = n == 1 || n == 6 || n == 20;
		assert_int_equal(st, in_name ? SIGNET_ERR_SYNTAX : SIGNET_OK);
		test_free(copy);
	}
	assert_int_equal(parse(full, 6, &l, &err), SIGNET_ERR_SYNTAX); /* "v=1; a" */
	assert_int_equal(parse(full, 1, &l, &err), SIGNET_ERR_SYNTAX); /* "v" */
	assert_int_equal(parse(full, 7, &l, &err), SIGNET_OK);         /* "v=1; a=" */
	assert_int_equal(l.count, 2);
	assert_int_equal(parse(full, 4, &l, &err), SIGNET_OK); /* "v=1;" */
	assert_int_equal(l.count, 1);
	assert_int_equal(parse(full, 0, &l, &err), SIGNET_OK); /* empty list */
	assert_int_equal(l.count, 0);
	assert_int_equal(parse(" \r\n\t", 4, &l, &err), SIGNET_OK);
	assert_int_equal(l.count, 0);
	assert_int_equal(parse(";", 1, &l, &err), SIGNET_ERR_SYNTAX);
}

static void make_tags(char *out, size_t cap, size_t n)
{
	size_t w = 0;
	out[0] = '\0';
	for (size_t k = 0; k < n; k++)
		w += (size_t)snprintf(out + w, cap - w, "t%zu=%zu;", k, k);
}

/* SIGNET_MAX_TAGS at limit-1, limit, limit+1: more is SIGNET_ERR_LIMIT. */
static void DKIM_TAG_limit_max_tags(void **state)
{
	(void)state;
	static char in[4096];
	struct tag_list l;
	struct signet_error err;
	make_tags(in, sizeof in, SIGNET_MAX_TAGS - 1);
	assert_int_equal(parse_str(in, &l, &err), SIGNET_OK);
	assert_int_equal(l.count, SIGNET_MAX_TAGS - 1);
	make_tags(in, sizeof in, SIGNET_MAX_TAGS);
	assert_int_equal(parse_str(in, &l, &err), SIGNET_OK);
	assert_int_equal(l.count, SIGNET_MAX_TAGS);
	assert_value(&l, "t63", "63");
	make_tags(in, sizeof in, SIGNET_MAX_TAGS + 1);
	assert_int_equal(parse_str(in, &l, &err), SIGNET_ERR_LIMIT);
	assert_string_equal(err.msg, "more than SIGNET_MAX_TAGS (64) tags");
}

/* DKIM-ERR-03 "split q= on unencoded ':' only": the colon-list helper used
 * for h=, q= and the key record's h=, s=, t=. */
static void DKIM_ERR_03_colon_list_items(void **state)
{
	(void)state;
	static const char in[] = "dns/txt : foo/a=3Ab:\r\n\tbar:";
	struct signet_span list = {(const uint8_t *)in, sizeof in - 1}, item;
	size_t pos = 0;
	assert_true(tag_value_list_next(list, &pos, &item));
	assert_span(item, "dns/txt");
	assert_true(tag_value_list_next(list, &pos, &item));
	assert_span(item, "foo/a=3Ab");
	assert_true(tag_value_list_next(list, &pos, &item));
	assert_span(item, "bar");
	assert_true(tag_value_list_next(list, &pos, &item)); /* after the trailing ':' */
	assert_span(item, "");
	assert_false(tag_value_list_next(list, &pos, &item));
	/* An empty list is one empty element. */
	struct signet_span empty = {(const uint8_t *)"", 0};
	pos = 0;
	assert_true(tag_value_list_next(empty, &pos, &item));
	assert_int_equal(item.len, 0);
	assert_false(tag_value_list_next(empty, &pos, &item));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(DKIM_TAG_01_fws_around_names_and_values),
		cmocka_unit_test(DKIM_TAG_01_folded_values_keep_inner_fws),
		cmocka_unit_test(DKIM_TAG_01_bare_lf_fold),
		cmocka_unit_test(DKIM_TAG_02_names_case_sensitive),
		cmocka_unit_test(DKIM_TAG_03_duplicate_tag),
		cmocka_unit_test(DKIM_TAG_04_names_and_empty_values),
		cmocka_unit_test(DKIM_TAG_04_value_characters),
		cmocka_unit_test(DKIM_TAG_05_error_names_offset),
		cmocka_unit_test(DKIM_TAG_06_values_kept_as_written),
		cmocka_unit_test(DKIM_EAI_01_utf8_in_values),
		cmocka_unit_test(DKIM_SIG_13_raw_span_of_b),
		cmocka_unit_test(DKIM_TAG_04_nul_in_middle),
		cmocka_unit_test(DKIM_TAG_05_truncated_input),
		cmocka_unit_test(DKIM_TAG_limit_max_tags),
		cmocka_unit_test(DKIM_ERR_03_colon_list_items),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
