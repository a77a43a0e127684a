/* test_dns.c: daemon/dns.c's RDATA decoding for the SPF lookups (A, AAAA,
 * MX, PTR, TXT), without the network: DNS answers are hostile input, so
 * every malformed shape is refused (left out of the answer), never read
 * past. Each input is copied to an exact-size heap block, so ASan sees a
 * byte read too far. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "dns.h"

#define NAME_BUF 254 /* any name as text, with the NUL */

static bool decode(enum signet_rrtype t, const void *rdata, size_t len, char *out, size_t cap,
		   struct signet_rr *rr)
{
	unsigned char *p = malloc(len ? len : 1);
	assert_non_null(p);
	memcpy(p, rdata, len);
	bool ok = dns_rr_decode(t, p, len, out, cap, rr);
	/* A/AAAA point into rdata: compare before it is freed. */
	static unsigned char keep[16];
	if (ok && (t == SIGNET_RR_A || t == SIGNET_RR_AAAA)) {
		memcpy(keep, rr->p, rr->len);
		rr->p = keep;
	}
	free(p);
	return ok;
}

static bool name(const void *wire, size_t len, char *out, size_t cap)
{
	unsigned char *p = malloc(len ? len : 1);
	assert_non_null(p);
	memcpy(p, wire, len);
	bool ok = dns_name_decode(p, len, out, cap);
	free(p);
	return ok;
}

/* RFC 1035 3.4.1 / RFC 3596 2.2: A is 4 bytes, AAAA 16; any other size is
 * not an address (spf.h: "a record of the wrong size ... is ignored"). */
static void DNS_RR_A_AAAA_exact_size(void **state)
{
	(void)state;
	struct signet_rr rr;
	const unsigned char a[4] = {192, 0, 2, 1}, a6[16] = {0x20, 0x01, 0x0d, 0xb8, [15] = 1};
	assert_true(decode(SIGNET_RR_A, a, 4, NULL, 0, &rr));
	assert_int_equal(rr.len, 4);
	assert_memory_equal(rr.p, a, 4);
	assert_true(decode(SIGNET_RR_AAAA, a6, 16, NULL, 0, &rr));
	assert_int_equal(rr.len, 16);
	assert_memory_equal(rr.p, a6, 16);
	assert_false(decode(SIGNET_RR_A, a, 3, NULL, 0, &rr));
	assert_false(decode(SIGNET_RR_A, a6, 5, NULL, 0, &rr));
	assert_false(decode(SIGNET_RR_A, a, 0, NULL, 0, &rr));
	assert_false(decode(SIGNET_RR_AAAA, a6, 15, NULL, 0, &rr));
	assert_false(decode(SIGNET_RR_AAAA, a, 4, NULL, 0, &rr));
}

/* RFC 1035 3.3.9: MX is PREFERENCE (16 bits) then EXCHANGE, a name. */
static void DNS_RR_MX_pref_and_name(void **state)
{
	(void)state;
	char out[NAME_BUF];
	struct signet_rr rr;
	const unsigned char mx[] = "\x01\x02\x04mail\x07"
				   "example\x03"
				   "com";
	assert_true(decode(SIGNET_RR_MX, mx, sizeof mx, out, sizeof out, &rr));
	assert_int_equal(rr.pref, 0x0102);
	assert_int_equal(rr.len, strlen("mail.example.com"));
	assert_memory_equal(rr.p, "mail.example.com", rr.len);
	/* RFC 7505: a null MX ("." as exchange) is the empty name */
	const unsigned char null_mx[] = {0, 0, 0};
	assert_true(decode(SIGNET_RR_MX, null_mx, 3, out, sizeof out, &rr));
	assert_int_equal(rr.len, 0);
	/* truncated: no name, or the name cut short */
	assert_false(decode(SIGNET_RR_MX, mx, 2, out, sizeof out, &rr));
	assert_false(decode(SIGNET_RR_MX, mx, sizeof mx - 1, out, sizeof out, &rr));
	assert_false(decode(SIGNET_RR_MX, mx, 5, out, sizeof out, &rr));
}

/* RFC 1035 3.3.12: PTRDNAME; the whole RDATA is the name, nothing after. */
static void DNS_RR_PTR_name(void **state)
{
	(void)state;
	char out[NAME_BUF];
	struct signet_rr rr;
	const unsigned char ptr[] = "\x02mx\x07"
				    "example\x03"
				    "net";
	assert_true(decode(SIGNET_RR_PTR, ptr, sizeof ptr, out, sizeof out, &rr));
	assert_int_equal(rr.len, strlen("mx.example.net"));
	assert_string_equal(out, "mx.example.net");
	const unsigned char trailing[] = "\x02mx\x00junk";
	assert_false(decode(SIGNET_RR_PTR, trailing, sizeof trailing, out, sizeof out, &rr));
	assert_false(decode(SIGNET_RR_PTR, "", 0, out, sizeof out, &rr));
}

/* Hostile names: a compression pointer (RFC 1035 4.1.4; libunbound hands
 * names uncompressed, so one here is forged), the reserved label types, a
 * label running past the end, a '.' or NUL or control byte inside a label
 * (it would change which name the evaluator asks for next). */
static void DNS_NAME_hostile_refused(void **state)
{
	(void)state;
	char out[NAME_BUF];
	assert_false(name("\xc0\x0c", 2, out, sizeof out));
	assert_false(name("\x40"
			  "a",
			  2, out, sizeof out));
	assert_false(name("\x80"
			  "a",
			  2, out, sizeof out));
	assert_false(name("\x05"
			  "ab\x00",
			  4, out, sizeof out));
	assert_false(name("\x03"
			  "a.b\x00",
			  5, out, sizeof out));
	assert_false(name("\x03"
			  "a\x00"
			  "b\x00",
			  5, out, sizeof out));
	assert_false(name("\x03"
			  "a b\x00",
			  5, out, sizeof out));
	assert_false(name("\x03"
			  "a\x7f"
			  "b\x00",
			  5, out, sizeof out));
	assert_false(name("\x03"
			  "abc",
			  4, out, sizeof out)); /* no root label */
	assert_true(name("\x03"
			 "a_b\x00",
			 5, out, sizeof out));
	assert_string_equal(out, "a_b");
}

/* RFC 1035 2.3.4: labels of 63 octets at most, names of 255 on the wire
 * (253 characters as text): limit-1, limit, limit+1. */
static void DNS_NAME_length_limits(void **state)
{
	(void)state;
	char out[NAME_BUF];
	unsigned char w[300];
	/* one label: 63 accepted, 64 refused */
	w[0] = 63;
	memset(w + 1, 'a', 63);
	w[64] = 0;
	assert_true(name(w, 65, out, sizeof out));
	assert_int_equal(strlen(out), 63);
	w[0] = 64;
	memset(w + 1, 'a', 64);
	w[65] = 0;
	assert_false(name(w, 66, out, sizeof out));
	/* text length 252, 253, 254: labels of 63 (x3) then one of n */
	for (size_t last = 60; last <= 62; last++) {
		size_t pos = 0;
		for (int k = 0; k < 3; k++) {
			w[pos++] = 63;
			memset(w + pos, 'b', 63);
			pos += 63;
		}
		w[pos++] = (unsigned char)last;
		memset(w + pos, 'c', last);
		pos += last;
		w[pos++] = 0;
		size_t text = 3 * 64 + last; /* 252, 253, 254 */
		char big[400];               /* the bound is the name's, not the buffer's */
		assert_int_equal(name(w, pos, big, sizeof big), text <= 253);
		if (text <= 253)
			assert_int_equal(strlen(big), text);
	}
	/* an output buffer too small is a refusal, never a cut name */
	assert_false(name("\x04mail\x00", 6, out, 4));
	assert_true(name("\x04mail\x00", 6, out, 5));
}

/* TXT: the strings joined (RFC 7208 3.3); a length past the end refused. */
static void DNS_RR_TXT_joined(void **state)
{
	(void)state;
	char out[64];
	struct signet_rr rr;
	const unsigned char txt[] = "\x07v=spf1 \x04-all";
	assert_true(decode(SIGNET_RR_TXT, txt, sizeof txt - 1, out, sizeof out, &rr));
	assert_int_equal(rr.len, 11);
	assert_memory_equal(rr.p, "v=spf1 -all", 11);
	assert_false(decode(SIGNET_RR_TXT, "\x09v=spf1", 7, out, sizeof out, &rr));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(DNS_RR_A_AAAA_exact_size),
		cmocka_unit_test(DNS_RR_MX_pref_and_name),
		cmocka_unit_test(DNS_RR_PTR_name),
		cmocka_unit_test(DNS_NAME_hostile_refused),
		cmocka_unit_test(DNS_NAME_length_limits),
		cmocka_unit_test(DNS_RR_TXT_joined),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
