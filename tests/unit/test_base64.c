/* test_base64.c: base64 as DKIM uses it (lib/base64.c): RFC 4648 test
 * vectors, FWS skipped anywhere, strict rejection of bad characters,
 * padding and lengths, and the output caps. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "base64.h"

static enum signet_status dec(const char *s, size_t len, uint8_t *out, size_t cap, size_t *n,
			      struct signet_error *err)
{
	struct signet_span in = {(const uint8_t *)s, len};
	memset(err, 0, sizeof *err);
	return base64_decode(in, out, cap, n, err);
}

static void assert_decodes(const char *in, const char *want)
{
	uint8_t out[64];
	size_t n = 99;
	struct signet_error err;
	assert_int_equal(dec(in, strlen(in), out, sizeof out, &n, &err), SIGNET_OK);
	assert_int_equal(n, strlen(want));
	assert_memory_equal(out, want, n);
}

static void assert_rejects(const char *in, const char *msg)
{
	uint8_t out[64];
	size_t n;
	struct signet_error err;
	assert_int_equal(dec(in, strlen(in), out, sizeof out, &n, &err), SIGNET_ERR_SYNTAX);
	assert_string_equal(err.msg, msg);
}

/* RFC 4648 10 test vectors, both ways. */
static void base64_rfc4648_vectors(void **state)
{
	(void)state;
	static const char *const plain[] = {"", "f", "fo", "foo", "foob", "fooba", "foobar"};
	static const char *const enc[] = {"",         "Zg==",     "Zm8=",    "Zm9v",
					  "Zm9vYg==", "Zm9vYmE=", "Zm9vYmFy"};
	for (size_t k = 0; k < 7; k++) {
		assert_decodes(enc[k], plain[k]);
		char s[16];
		assert_int_equal(
			base64_encode_str((const uint8_t *)plain[k], strlen(plain[k]), s, sizeof s),
			SIGNET_OK);
		assert_string_equal(s, enc[k]);
		struct signet_buf b;
		buf_init(&b, 100);
		assert_int_equal(base64_encode((const uint8_t *)plain[k], strlen(plain[k]), &b),
				 SIGNET_OK);
		assert_int_equal(b.len, strlen(enc[k]));
		if (b.len > 0)
			assert_memory_equal(b.data, enc[k], b.len);
		buf_free(&b);
	}
}

/* DKIM-SIG-04 "b= and bh= are base64; FWS inside is ignored" */
static void DKIM_SIG_04_fws_skipped_anywhere(void **state)
{
	(void)state;
	assert_decodes(" Zm9v\r\n\tYmFy ", "foobar");
	assert_decodes("Z m 9 v Y g = =", "foob");
	assert_decodes("Zm9vYg=\r\n =", "foob");
	assert_decodes("Zm9vYmE\n=", "fooba");
	/* Empty DNS-SHA256 body hash of RFC 6376 3.4.4 (DKIM-CANON-04). */
	uint8_t out[64];
	size_t n;
	struct signet_error err;
	const char *bh = "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=";
	assert_int_equal(dec(bh, strlen(bh), out, sizeof out, &n, &err), SIGNET_OK);
	assert_int_equal(n, 32);
	assert_int_equal(out[0], 0xe3);
	assert_int_equal(out[31], 0x55);
}

/* DKIM-SIG-04 "invalid base64 → permerror": characters outside the alphabet. */
static void DKIM_SIG_04_bad_characters(void **state)
{
	(void)state;
	assert_rejects("abc$", "invalid base64 character 0x24 at offset 3");
	assert_rejects("Zm9v-Ymy", "invalid base64 character 0x2d at offset 4"); /* base64url */
	assert_rejects("Zm9v\vYmFy", "invalid base64 character 0x0b at offset 4");
	assert_rejects("Zm9v\xc3\xa9", "invalid base64 character 0xc3 at offset 4");
}

/* "missing padding, or '=' in the middle is an error (we decide strictness once: reject)" */
static void DKIM_SIG_04_bad_padding_and_length(void **state)
{
	(void)state;
	assert_rejects("Zg", "base64 length is not a multiple of 4");
	assert_rejects("Zm9", "base64 length is not a multiple of 4");
	assert_rejects("Zg=", "base64 length is not a multiple of 4");
	assert_rejects("Z", "base64 length is not a multiple of 4");
	assert_rejects("Zg==Zm9v", "base64 data after padding at offset 4");
	assert_rejects("Zm=9", "base64 data after padding at offset 3");
	assert_rejects("Zm9v=", "misplaced base64 padding at offset 4");
	assert_rejects("Z===", "misplaced base64 padding at offset 1");
	assert_rejects("Zm9===", "misplaced base64 padding at offset 4");
	assert_rejects("Zg===", "misplaced base64 padding at offset 4");
	assert_rejects("=", "misplaced base64 padding at offset 0");
}

/* A NUL in the middle is a bad character, not the end. */
static void DKIM_SIG_04_nul_in_middle(void **state)
{
	(void)state;
	uint8_t out[16];
	size_t n;
	struct signet_error err;
	assert_int_equal(dec("Zm9v\0Ymy", 9, out, sizeof out, &n, &err), SIGNET_ERR_SYNTAX);
	assert_string_equal(err.msg, "invalid base64 character 0x00 at offset 4");
}

/* Truncations of a valid string: only the multiples of 4 decode. */
static void DKIM_SIG_04_truncated_input(void **state)
{
	(void)state;
	static const char full[] = "Zm9vYmFyYg==";
	uint8_t out[16];
	size_t n;
	struct signet_error err;
	for (size_t len = 0; len <= sizeof full - 1; len++) {
		char *copy = test_malloc(len ? len : 1);
		memcpy(copy, full, len);
		enum signet_status st = dec(copy, len, out, sizeof out, &n, &err);
		assert_int_equal(st, len % 4 == 0 ? SIGNET_OK : SIGNET_ERR_SYNTAX);
		test_free(copy);
	}
}

/* Output cap at limit-1, limit, limit+1: the decoder never writes past cap. */
static void base64_decode_cap(void **state)
{
	(void)state;
	uint8_t out[8];
	size_t n;
	struct signet_error err;
	/* "foobar" is 6 bytes. */
	assert_int_equal(dec("Zm9vYmFy", 8, out, 7, &n, &err), SIGNET_OK);
	assert_int_equal(n, 6);
	assert_int_equal(dec("Zm9vYmFy", 8, out, 6, &n, &err), SIGNET_OK);
	assert_int_equal(n, 6);
	memset(out, 0xaa, sizeof out);
	assert_int_equal(dec("Zm9vYmFy", 8, out, 5, &n, &err), SIGNET_ERR_LIMIT);
	assert_int_equal(out[5], 0xaa);
	assert_int_equal(n, 0);
	/* The padded tail counts too: "foob" is 4 bytes. */
	assert_int_equal(dec("Zm9vYg==", 8, out, 3, &n, &err), SIGNET_ERR_LIMIT);
	assert_int_equal(dec("Zm9vYg==", 8, out, 4, &n, &err), SIGNET_OK);
}

/* Encoder caps: the string form needs room for the NUL; the buffer form its max. */
static void base64_encode_caps(void **state)
{
	(void)state;
	char s[9];
	const uint8_t *foobar = (const uint8_t *)"foobar";
	assert_int_equal(base64_encode_str(foobar, 6, s, 9), SIGNET_OK); /* 8 + NUL */
	assert_string_equal(s, "Zm9vYmFy");
	assert_int_equal(base64_encode_str(foobar, 6, s, 8), SIGNET_ERR_LIMIT);
	assert_int_equal(base64_encode_str(foobar, 6, s, 0), SIGNET_ERR_LIMIT);
	assert_int_equal(base64_encode_str(foobar, 0, s, 1), SIGNET_OK);
	assert_string_equal(s, "");
	struct signet_buf b;
	buf_init(&b, 8);
	assert_int_equal(base64_encode(foobar, 6, &b), SIGNET_OK);
	assert_int_equal(base64_encode(foobar, 1, &b), SIGNET_ERR_LIMIT);
	assert_int_equal(b.len, 8); /* nothing half-written */
	buf_free(&b);
	buf_init(&b, 7);
	assert_int_equal(base64_encode(foobar, 6, &b), SIGNET_ERR_LIMIT);
	assert_int_equal(b.len, 0);
	buf_free(&b);
}

/* Every byte value survives encode then decode. */
static void base64_round_trip_all_bytes(void **state)
{
	(void)state;
	uint8_t in[256], out[256];
	char enc[400];
	size_t n;
	struct signet_error err;
	for (size_t k = 0; k < 256; k++)
		in[k] = (uint8_t)(255 - k);
	for (size_t len = 250; len <= 256; len++) {
		assert_int_equal(base64_encode_str(in, len, enc, sizeof enc), SIGNET_OK);
		assert_int_equal(dec(enc, strlen(enc), out, sizeof out, &n, &err), SIGNET_OK);
		assert_int_equal(n, len);
		assert_memory_equal(in, out, len);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(base64_rfc4648_vectors),
		cmocka_unit_test(DKIM_SIG_04_fws_skipped_anywhere),
		cmocka_unit_test(DKIM_SIG_04_bad_characters),
		cmocka_unit_test(DKIM_SIG_04_bad_padding_and_length),
		cmocka_unit_test(DKIM_SIG_04_nul_in_middle),
		cmocka_unit_test(DKIM_SIG_04_truncated_input),
		cmocka_unit_test(base64_decode_cap),
		cmocka_unit_test(base64_encode_caps),
		cmocka_unit_test(base64_round_trip_all_bytes),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
