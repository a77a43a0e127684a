/* test_message.c: the message splitter (lib/message.c): fields, folding,
 * end of headers, LF and CRLF, any chunking, malformed lines, limits. */
#include "testutil.h"

struct rec {
	char log[8192];
	size_t body;
	int eoh;
};

static enum signet_status r_header(void *ctx, const uint8_t *n, size_t nl, const uint8_t *v,
				   size_t vl, struct signet_error *e)
{
	(void)e;
	struct rec *r = ctx;
	size_t l = strlen(r->log);
	if (v == NULL)
		snprintf(r->log + l, sizeof r->log - l, "[%.*s|NOCOLON]", (int)nl, (const char *)n);
	else
		snprintf(r->log + l, sizeof r->log - l, "[%.*s|%.*s]", (int)nl, (const char *)n,
			 (int)vl, (const char *)v);
	return SIGNET_OK;
}
static enum signet_status r_eoh(void *ctx, struct signet_error *e)
{
	(void)e;
	struct rec *r = ctx;
	r->eoh++;
	strcat(r->log, "<EOH>");
	return SIGNET_OK;
}
static enum signet_status r_body(void *ctx, const uint8_t *p, size_t l, struct signet_error *e)
{
	(void)e;
	(void)p;
	((struct rec *)ctx)->body += l;
	return SIGNET_OK;
}
static const struct signet_message_handler handler = {r_header, r_eoh, r_body};

static void split(const char *msg, size_t chunk, struct rec *r)
{
	memset(r, 0, sizeof *r);
	struct signet_error err = {0};
	assert_int_equal(tu_feed(&handler, r, (const uint8_t *)msg, strlen(msg), chunk, &err),
			 SIGNET_OK);
}

static void fields_and_folding(void **state)
{
	(void)state;
	struct rec r;
	const char *m = "Subject: a\r\n b\r\nFrom:x\r\n\r\nbody\r\n";
	for (size_t chunk = 0; chunk < 8; chunk++) {
		split(m, chunk, &r);
		assert_string_equal(r.log, "[Subject| a\r\n b][From|x]<EOH>");
		assert_int_equal(r.body, 6);
	}
}

static void bare_lf_input(void **state)
{
	/* DKIM-CANON-05: the CLI gives bare LF; line ends are kept for canonicalization. */
	(void)state;
	struct rec r;
	split("A: 1\n\tfold\nB: 2\n\nbody\n", 0, &r);
	assert_string_equal(r.log, "[A| 1\n\tfold][B| 2]<EOH>");
	assert_int_equal(r.body, 5);
}

static void DKIM_HDR_07_line_without_colon(void **state)
{
	/* DKIM-HDR-07: the header block ends at the first empty line; a line without a colon is
	 * passed as not-a-field and does not crash. */
	(void)state;
	struct rec r;
	split("A: 1\r\ngarbage line\r\nB: 2\r\n\r\n", 0, &r);
	assert_string_equal(r.log, "[A| 1][garbage line|NOCOLON][B| 2]<EOH>");
}

static void no_body_no_empty_line(void **state)
{
	(void)state;
	struct rec r;
	split("A: 1\r\nB: 2", 0, &r);
	assert_string_equal(r.log, "[A| 1][B| 2]<EOH>");
	assert_int_equal(r.eoh, 1);
	assert_int_equal(r.body, 0);
	split("", 0, &r);
	assert_string_equal(r.log, "<EOH>");
}

static void nul_bytes_are_data(void **state)
{
	(void)state;
	struct rec r;
	memset(&r, 0, sizeof r);
	const uint8_t m[] = "X-N: a\0b\r\n\r\n\0\0";
	struct signet_error err = {0};
	assert_int_equal(tu_feed(&handler, &r, m, sizeof m - 1, 1, &err), SIGNET_OK);
	assert_int_equal(r.eoh, 1);
	assert_int_equal(r.body, 2);
}

static void oversized_field_is_limit_error(void **state)
{
	/* Bounds: a field over the splitter's cap is SIGNET_ERR_LIMIT naming the limit. */
	(void)state;
	size_t n = 2 * SIGNET_MAX_HEADER_BYTES + 16;
	size_t total = n + 3 + 5;
	char *m = malloc(total);
	assert_non_null(m);
	/* Fill first, then write the name: gcc's -Warray-bounds misjudges
	 * memset at an offset into a fresh malloc under ASan. */
	memset(m, 'a', total);
	memcpy(m, "X: ", 3);
	memcpy(m + total - 5, "\r\n\r\n", 5);
	struct rec r;
	memset(&r, 0, sizeof r);
	struct signet_error err = {0};
	assert_int_equal(tu_feed(&handler, &r, (uint8_t *)m, strlen(m), 65536, &err),
			 SIGNET_ERR_LIMIT);
	assert_non_null(strstr(err.msg, "longer than"));
	free(m);
}

static void feed_after_finish_is_state_error(void **state)
{
	(void)state;
	struct signet_message *m = NULL;
	struct rec r;
	memset(&r, 0, sizeof r);
	struct signet_error err = {0};
	assert_int_equal(signet_message_new(&handler, &r, &m, &err), SIGNET_OK);
	assert_int_equal(signet_message_finish(m, &err), SIGNET_OK);
	assert_int_equal(signet_message_feed(m, (const uint8_t *)"x", 1, &err), SIGNET_ERR_STATE);
	assert_int_equal(signet_message_finish(m, &err), SIGNET_ERR_STATE);
	signet_message_free(m);
	signet_message_free(NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(fields_and_folding),
		cmocka_unit_test(bare_lf_input),
		cmocka_unit_test(DKIM_HDR_07_line_without_colon),
		cmocka_unit_test(no_body_no_empty_line),
		cmocka_unit_test(nul_bytes_are_data),
		cmocka_unit_test(oversized_field_is_limit_error),
		cmocka_unit_test(feed_after_finish_is_state_error),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
