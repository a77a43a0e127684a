/* test_canon.c: unit tests for lib/canon.c (RFC 6376 3.4), one test per
 * DKIM-CANON requirement. The streaming body canonicalizer is compared with
 * a plain one-shot reference written below (simple loops over a whole
 * buffer) over fixtures and thousands of random bodies and chunkings. */
#include <dirent.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <cmocka.h>
#include <openssl/evp.h>

#include "buf.h"
#include "canon.h"

#define BIG (64u * 1024 * 1024)

/* ---- helpers ---- */

static struct signet_span sp(const char *s)
{
	return span_from_str(s);
}

static struct signet_span spn(const void *p, size_t n)
{
	struct signet_span s = {(const uint8_t *)p, n};
	return s;
}

static void assert_bytes(const struct signet_buf *b, const void *want, size_t n)
{
	if (b->len != n || (n > 0 && memcmp(b->data, want, n) != 0)) {
		print_error("got %zu bytes: \"%.*s\"\nwant %zu bytes: \"%.*s\"\n", b->len,
			    (int)b->len, b->len ? (const char *)b->data : "", n, (int)n,
			    (const char *)want);
		fail();
	}
}

static void header_is(enum signet_canon c, struct signet_span name, struct signet_span value,
		      const void *want, size_t wlen)
{
	struct signet_buf out;
	buf_init(&out, 4096);
	assert_int_equal(canon_header(c, name, value, &out), SIGNET_OK);
	assert_bytes(&out, want, wlen);
	buf_free(&out);
}

#define HEADER_IS(c, name, value, want) header_is(c, sp(name), sp(value), want, sizeof(want) - 1)

/* The sink of the tests: collects bytes; fails on call number fail_at. */
struct collect {
	struct signet_buf b;
	size_t calls;
	size_t fail_at; /* 0 = never */
};

static enum signet_status collect_sink(void *ctx, const uint8_t *p, size_t len)
{
	struct collect *c = ctx;
	c->calls++;
	if (c->fail_at != 0 && c->calls == c->fail_at)
		return SIGNET_ERR_CRYPTO;
	assert_true(len > 0);
	return buf_append(&c->b, p, len);
}

struct feed {
	enum { FEED_ONE, FEED_BYTES, FEED_RANDOM, FEED_SPLIT } how;
	uint64_t seed; /* FEED_RANDOM: the splits; FEED_SPLIT: where the 2nd chunk starts */
};

static uint64_t rnd(uint64_t *s)
{
	/* xorshift64*: fixed seeds, so every run feeds the same splits. */
	*s ^= *s >> 12;
	*s ^= *s << 25;
	*s ^= *s >> 27;
	return *s * 0x2545F4914F6CDD1DULL;
}

/* The vector scanners of canon.c this build and CPU have (canon_body_set_scan);
 * every differential test runs with each. Filled in by main. */
static enum canon_scan scanners[3];
static size_t nscanners;
#define SCAN_DEFAULT (-1) /* canon_body_init's choice */

/* Canonicalizes body with canon_body (scanner scan) in the chunks of f;
 * returns the bytes in out (caller frees) and the final counters. */
static void stream_with(enum signet_canon c, uint64_t limit, const uint8_t *body, size_t len,
			struct feed f, int scan, struct signet_buf *out, uint64_t *total)
{
	struct collect col = {.calls = 0, .fail_at = 0};
	buf_init(&col.b, BIG);
	struct canon_body *cb = malloc(sizeof *cb);
	assert_non_null(cb);
	canon_body_init(cb, c, limit, collect_sink, &col);
	if (scan != SCAN_DEFAULT)
		assert_true(canon_body_set_scan(cb, (enum canon_scan)scan));
	static const uint64_t split_max[] = {8, 8, 200, 2000};
	size_t off = 0;
	uint64_t s = f.seed | 1;
	while (off < len) {
		size_t n = len - off;
		if (f.how == FEED_BYTES)
			n = 1;
		else if (f.how == FEED_RANDOM) /* mostly tiny, some past the 64-byte windows */
			n = 1 + (size_t)(rnd(&s) % split_max[rnd(&s) % 4]);
		else if (f.how == FEED_SPLIT && off < f.seed)
			n = (size_t)f.seed - off;
		if (n > len - off)
			n = len - off;
		/* Empty updates are allowed anywhere and change nothing. */
		if (f.how == FEED_RANDOM && rnd(&s) % 16 == 0)
			assert_int_equal(canon_body_update(cb, body + off, 0), SIGNET_OK);
		/* Each chunk in its own exact-size allocation: ASan catches any
		 * read before or after it (the vector scan reads p[-1..16]). */
		uint8_t *chunk = malloc(n);
		assert_non_null(chunk);
		memcpy(chunk, body + off, n);
		assert_int_equal(canon_body_update(cb, chunk, n), SIGNET_OK);
		free(chunk);
		off += n;
	}
	assert_int_equal(canon_body_final(cb), SIGNET_OK);
	assert_int_equal(cb->emitted, col.b.len);
	assert_true(cb->emitted <= limit);
	*total = cb->total;
	*out = col.b;
	free(cb);
}

static void stream(enum signet_canon c, uint64_t limit, const uint8_t *body, size_t len,
		   struct feed f, struct signet_buf *out, uint64_t *total)
{
	stream_with(c, limit, body, len, f, SCAN_DEFAULT, out, total);
}

static void body_is(enum signet_canon c, const char *in, size_t inlen, const char *want,
		    size_t wlen)
{
	static const struct feed feeds[] = {{FEED_ONE, 0}, {FEED_BYTES, 0}, {FEED_RANDOM, 7}};
	assert_true(nscanners > 0);
	for (size_t s = 0; s < nscanners; s++) {
		for (size_t k = 0; k < sizeof feeds / sizeof feeds[0]; k++) {
			struct signet_buf out;
			uint64_t total;
			stream_with(c, UINT64_MAX, (const uint8_t *)in, inlen, feeds[k],
				    (int)scanners[s], &out, &total);
			assert_bytes(&out, want, wlen);
			assert_int_equal(total, wlen);
			buf_free(&out);
		}
	}
}

#define BODY_IS(c, in, want) body_is(c, in, sizeof(in) - 1, want, sizeof(want) - 1)
#define SIMPLE SIGNET_CANON_SIMPLE
#define RELAXED SIGNET_CANON_RELAXED

static void b64_sha(const EVP_MD *md, const struct signet_buf *b, char *out)
{
	uint8_t d[EVP_MAX_MD_SIZE];
	unsigned int dlen = 0;
	assert_int_equal(
		EVP_Digest(b->len ? b->data : (const uint8_t *)"", b->len, d, &dlen, md, NULL), 1);
	EVP_EncodeBlock((unsigned char *)out, d, (int)dlen);
}

static void body_hash_is(enum signet_canon c, const uint8_t *in, size_t len, const EVP_MD *md,
			 const char *want)
{
	struct signet_buf out;
	uint64_t total;
	char got[128];
	stream(c, UINT64_MAX, in, len, (struct feed){FEED_ONE, 0}, &out, &total);
	b64_sha(md, &out, got);
	assert_string_equal(got, want);
	buf_free(&out);
}

/* ---- the reference: RFC 6376 3.4.3 / 3.4.4 read literally, whole body ---- */

/* Appends line [p, p+n) to out as the algorithm c makes it, without CRLF. */
static void ref_line(enum signet_canon c, const uint8_t *p, size_t n, struct signet_buf *out)
{
	for (size_t k = 0; k < n; k++) {
		bool wsp = p[k] == ' ' || p[k] == '\t';
		if (c == RELAXED && wsp) {
			size_t e = k;
			while (e < n && (p[e] == ' ' || p[e] == '\t'))
				e++;
			if (e < n) /* WSP at the end of the line is deleted */
				assert_int_equal(buf_append_byte(out, ' '), SIGNET_OK);
			k = e - 1;
			continue;
		}
		assert_int_equal(buf_append_byte(out, p[k]), SIGNET_OK);
	}
}

static void ref_body(enum signet_canon c, const uint8_t *in, size_t len, uint64_t limit,
		     struct signet_buf *out)
{
	struct signet_buf all, line;
	buf_init(&all, BIG);
	buf_init(&line, BIG);
	size_t keep = 0; /* length of all up to the last non-empty line */
	size_t start = 0;
	for (size_t k = 0; k <= len; k++) {
		bool eol = k < len && in[k] == '\n';
		if (!eol && k < len)
			continue;
		size_t end = k;
		if (eol && end > start && in[end - 1] == '\r')
			end--; /* CRLF; a bare LF ends a line the same way */
		buf_reset(&line);
		ref_line(c, in + start, end - start, &line);
		if (!eol && line.len == 0)
			break; /* nothing after the last line end */
		assert_int_equal(buf_append(&all, line.data, line.len), SIGNET_OK);
		assert_int_equal(buf_append(&all, "\r\n", 2), SIGNET_OK);
		if (line.len > 0)
			keep = all.len;
		start = k + 1;
	}
	all.len = keep; /* trailing empty lines go */
	if (c == SIMPLE && all.len == 0)
		assert_int_equal(buf_append(&all, "\r\n", 2), SIGNET_OK);
	buf_init(out, BIG);
	size_t n = (uint64_t)all.len < limit ? all.len : (size_t)limit;
	assert_int_equal(buf_append(out, all.data, n), SIGNET_OK);
	buf_free(&all);
	buf_free(&line);
}

/* Streams body with scanner scan in chunking f; fails unless the output is
 * want and the canonical length full_len. */
static void check_stream(enum signet_canon c, const uint8_t *in, size_t len, uint64_t limit,
			 struct feed f, int scan, const struct signet_buf *want, size_t full_len)
{
	struct signet_buf got;
	uint64_t total;
	stream_with(c, limit, in, len, f, scan, &got, &total);
	if (got.len != want->len || (got.len > 0 && memcmp(got.data, want->data, got.len) != 0)) {
		print_error(
			"canon %d feed %d/%llu scanner %d limit %llu len %zu: got %zu want %zu\n",
			(int)c, (int)f.how, (unsigned long long)f.seed, scan,
			(unsigned long long)limit, len, got.len, want->len);
		fail();
	}
	assert_int_equal(total, full_len);
	buf_free(&got);
}

/* Streams body in every kind of chunking, with every scanner, and compares
 * with the reference. */
static void check_against_ref(enum signet_canon c, const uint8_t *in, size_t len, uint64_t limit,
			      uint64_t seed)
{
	struct signet_buf want, full;
	ref_body(c, in, len, limit, &want);
	ref_body(c, in, len, UINT64_MAX, &full);
	const struct feed feeds[] = {
		{FEED_ONE, 0}, {FEED_BYTES, 0}, {FEED_RANDOM, seed}, {FEED_RANDOM, seed * 31 + 1}};
	assert_true(nscanners > 0);
	for (size_t s = 0; s < nscanners; s++) {
		for (size_t k = 0; k < sizeof feeds / sizeof feeds[0]; k++) {
			/* 1-byte chunks never reach a scanner: once is enough. */
			if (feeds[k].how == FEED_BYTES && (len > 20000 || s > 0))
				continue;
			check_stream(c, in, len, limit, feeds[k], (int)scanners[s], &want,
				     full.len);
		}
	}
	buf_free(&want);
	buf_free(&full);
}

/* The reference itself must be right, or the differential tests prove
 * nothing: pin it on the rules' own examples. */
static void ref_is(enum signet_canon c, const char *in, const char *want)
{
	struct signet_buf out;
	ref_body(c, (const uint8_t *)in, strlen(in), UINT64_MAX, &out);
	assert_bytes(&out, want, strlen(want));
	buf_free(&out);
}

static void reference_selfcheck(void **state)
{
	(void)state;
	ref_is(SIMPLE, "", "\r\n");
	ref_is(RELAXED, "", "");
	ref_is(SIMPLE, "abc", "abc\r\n");
	ref_is(RELAXED, " C \r\nD \t E\r\n\r\n\r\n", " C\r\nD E\r\n");
	ref_is(SIMPLE, " C \r\nD \t E\r\n\r\n\r\n", " C \r\nD \t E\r\n");
	ref_is(RELAXED, "a\r\n \r\n\t\r\n", "a\r\n");
	ref_is(SIMPLE, "a\r\n \r\n\t\r\n", "a\r\n \r\n\t\r\n");
	ref_is(SIMPLE, "a\rb\nc", "a\rb\r\nc\r\n");
}

/* ---- header fields ---- */

static void DKIM_CANON_01_simple_header(void **state)
{
	/* "simple header: the field exactly as in the message - name case, WSP,
	 * folding, all kept - with its CRLF (3.4.1)." */
	(void)state;
	HEADER_IS(SIMPLE, "SUBJECT ", "  Hi ", "SUBJECT :  Hi \r\n");
	HEADER_IS(SIMPLE, "Subject", " a\r\n\tb  \r\n c", "Subject: a\r\n\tb  \r\n c\r\n");
	HEADER_IS(SIMPLE, "X", "", "X:\r\n");
	/* DKIM-CANON-05: a bare LF in a fold becomes CRLF; a bare CR is data. */
	HEADER_IS(SIMPLE, "Subject", " a\n\tb\r\n c\rd", "Subject: a\r\n\tb\r\n c\rd\r\n");
	HEADER_IS(SIMPLE, "S", "\n\n x\n", "S:\r\n\r\n x\r\n\r\n");
}

static void DKIM_CANON_02_relaxed_header(void **state)
{
	/* "relaxed header: lowercase the name only; unfold; turn every WSP run
	 * into one SP; delete WSP at the end of the value; delete WSP just before
	 * and just after the colon; end with CRLF (3.4.2; erratum 5839)." */
	(void)state;
	HEADER_IS(RELAXED, "SubJect ", " \tA  \r\n  B ", "subject:A B\r\n");
	HEADER_IS(RELAXED, "To", "A\r\n B\r\n\tC", "to:A B C\r\n");
	HEADER_IS(RELAXED, "To", "A\n B\n\tC", "to:A B C\r\n"); /* bare-LF folds */
	HEADER_IS(RELAXED, "To", "\r\n A", "to:A\r\n");         /* fold right after the colon */
	HEADER_IS(RELAXED, "To", "A \r\n ", "to:A\r\n");        /* fold at the end */
	HEADER_IS(RELAXED, "X", "", "x:\r\n");
	HEADER_IS(RELAXED, "X", " \t \r\n\t ", "x:\r\n");
	HEADER_IS(RELAXED, "X", "a\tb", "x:a b\r\n"); /* a lone TAB is a run too */
	HEADER_IS(RELAXED, "X", "VALUE Case", "x:VALUE Case\r\n");
	/* A CR not starting a fold is data; a break with no WSP after is kept
	 * as CRLF (not a fold, not valid inside a field, but not dropped). */
	HEADER_IS(RELAXED, "X", "a\rb \r c", "x:a\rb \r c\r\n");
	HEADER_IS(RELAXED, "X", "a\r\nb\nc", "x:a\r\nb\r\nc\r\n");
	/* Truncated: a value ending in a lone CR keeps it as data. */
	HEADER_IS(RELAXED, "X", "a \r", "x:a \r\r\n");
	HEADER_IS(SIMPLE, "X", "a \r", "X:a \r\r\n");
}

static void DKIM_CANON_12_header_name_trailing_wsp(void **state)
{
	/* "the field name is what precedes the colon with trailing WSP removed;
	 * relaxed output uses that trimmed lowercase name (3.4.2)." */
	(void)state;
	HEADER_IS(RELAXED, "Subject ", "x", "subject:x\r\n");
	HEADER_IS(RELAXED, "Subject \t ", "x", "subject:x\r\n");
	HEADER_IS(SIMPLE, "Subject ", "x", "Subject :x\r\n"); /* simple keeps it */
	/* A name longer than the 64-byte lowercase block. */
	char name[201], want[220];
	memset(name, 'A', 200);
	name[200] = '\0';
	memset(want, 'a', 200);
	memcpy(want + 200, ":v\r\n", 5);
	header_is(RELAXED, sp(name), sp("v"), want, 204);
}

static void DKIM_CANON_13_header_octets(void **state)
{
	/* "Header values with 8-bit/UTF-8 octets are processed as octets;
	 * lowercasing (relaxed) applies to the ASCII name only (3.4.2, RFC 8616 5)." */
	(void)state;
	/* "Gr\303\274\303\237e" is "Grüße" in UTF-8 (octal escapes). */
	HEADER_IS(RELAXED, "Subject", " Gr\303\274\303\237e  X",
		  "subject:Gr\303\274\303\237e X\r\n");
	HEADER_IS(SIMPLE, "Subject", " Gr\303\274\303\237e", "Subject: Gr\303\274\303\237e\r\n");
	/* Only A-Z are lowered: the UTF-8 "Ä" (C3 84) in a name is left alone. */
	HEADER_IS(RELAXED, "X-\xc3\x84Z", "v", "x-\xc3\x84z:v\r\n");
	/* A NUL inside the value (and the name) is a byte like any other. */
	header_is(RELAXED, spn("X\0Y", 3), spn(" a\0  b ", 7), "x\0y:a\0 b\r\n", 10);
	header_is(SIMPLE, spn("X\0Y", 3), spn(" a\0  b ", 7), "X\0Y: a\0  b \r\n", 13);
}

/* Output cap: with room for exactly "pre" + the field it fits; one byte
 * less is SIGNET_ERR_LIMIT and leaves the buffer as it was (no partial
 * field); one more fits too. */
static void cap_case(enum signet_canon c, const char *want)
{
	size_t need = 3 + strlen(want);
	for (size_t max = need - 1; max <= need + 1; max++) {
		struct signet_buf out;
		buf_init(&out, max);
		assert_int_equal(buf_append(&out, "pre", 3), SIGNET_OK);
		enum signet_status st = canon_header(c, sp("SubJect "), sp(" A \r\n B "), &out);
		if (max < need) {
			assert_int_equal(st, SIGNET_ERR_LIMIT);
			assert_bytes(&out, "pre", 3);
		} else {
			assert_int_equal(st, SIGNET_OK);
			assert_int_equal(out.len, need);
			assert_memory_equal(out.data + 3, want, need - 3);
		}
		buf_free(&out);
	}
}

static void canon_header_buffer_cap(void **state)
{
	(void)state;
	cap_case(RELAXED, "subject:A B\r\n");
	cap_case(SIMPLE, "SubJect : A \r\n B \r\n");
}

/* ---- body ---- */

static void DKIM_CANON_03_simple_body(void **state)
{
	/* "simple body: delete all empty lines at the end; if the body is empty
	 * or lacks a final CRLF, add CRLF - so an empty body hashes as \r\n
	 * (3.4.3). Test: empty body sha256 = frcCV1k9oG9oKj3dpUqdJg1PxRT2RSN/XKdLCPjaYaY=" */
	(void)state;
	body_hash_is(SIMPLE, (const uint8_t *)"", 0, EVP_sha256(),
		     "frcCV1k9oG9oKj3dpUqdJg1PxRT2RSN/XKdLCPjaYaY=");
	body_hash_is(SIMPLE, (const uint8_t *)"", 0, EVP_sha1(), "uoq1oCgLlTqpdDX/iUbLy7J1Wic=");
	BODY_IS(SIMPLE, "", "\r\n");
	BODY_IS(SIMPLE, "\r\n", "\r\n");
	BODY_IS(SIMPLE, "\r\n\r\n\r\n", "\r\n");
	BODY_IS(SIMPLE, "a\r\n\r\n\r\n", "a\r\n");
	BODY_IS(SIMPLE, "a \r\n\r\n", "a \r\n"); /* WSP is kept by simple */
	BODY_IS(SIMPLE, "a\r\n", "a\r\n");
	/* More trailing empty lines than one 64-pair block. */
	char in[2 + 300 * 2 + 1];
	memcpy(in, "a\r\n", 3);
	for (int k = 0; k < 299; k++)
		memcpy(in + 3 + 2 * k, "\r\n", 2);
	body_is(SIMPLE, in, 3 + 299 * 2, "a\r\n", 3);
}

static void DKIM_CANON_04_relaxed_body(void **state)
{
	/* "relaxed body: delete WSP at line ends; turn WSP runs inside lines into
	 * one SP; delete all empty lines at the end; a non-empty body that does
	 * not end in CRLF gets one; an empty body stays empty (3.4.4). Test:
	 * empty body sha256 = 47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=" */
	(void)state;
	body_hash_is(RELAXED, (const uint8_t *)"", 0, EVP_sha256(),
		     "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=");
	body_hash_is(RELAXED, (const uint8_t *)"", 0, EVP_sha1(), "2jmj7l5rSw0yVb/vlWAYkK/YBwk=");
	BODY_IS(RELAXED, "", "");
	BODY_IS(RELAXED, " \r\n\t\r\n", "");
	BODY_IS(RELAXED, "\r\n\r\n", "");
	BODY_IS(RELAXED, "a \t\r\n", "a\r\n");
	BODY_IS(RELAXED, "a  \t b\r\n", "a b\r\n");
	BODY_IS(RELAXED, "\t\ta\r\n", " a\r\n"); /* leading WSP: one SP, kept */
	BODY_IS(RELAXED, "a b c\r\n", "a b c\r\n");
	/* The last line, unterminated, is a line too: its trailing WSP goes. */
	BODY_IS(RELAXED, "a b \t", "a b\r\n");
	BODY_IS(RELAXED, "a\r\n  ", "a\r\n");
	BODY_IS(RELAXED, " ", "");
}

static void DKIM_CANON_05_bare_lf(void **state)
{
	/* "Bare LF from the MTA/CLI is converted to CRLF before canonicalization;
	 * a bare CR not followed by LF is data, not a line end. Test: LF and CRLF
	 * copies of a message give the same bh; a\rb\r\n keeps the CR." */
	(void)state;
	BODY_IS(SIMPLE, "a\rb\r\n", "a\rb\r\n");
	BODY_IS(RELAXED, "a\rb\r\n", "a\rb\r\n");
	BODY_IS(SIMPLE, "a\nb \n\n\n", "a\r\nb \r\n");
	BODY_IS(RELAXED, "a\nb \n\n\n", "a\r\nb\r\n");
	BODY_IS(SIMPLE, "a\n\r\nb\n", "a\r\n\r\nb\r\n"); /* mixed line ends */
	/* A CR at the very end is data: the line gets its CRLF after it. */
	BODY_IS(SIMPLE, "a\r", "a\r\r\n");
	BODY_IS(RELAXED, "a \r", "a \r\r\n");
	BODY_IS(SIMPLE, "\r", "\r\r\n");
	BODY_IS(SIMPLE, "a\r\r\n", "a\r\r\n");       /* CR CR LF: the first CR is data */
	BODY_IS(SIMPLE, "a\n\r\r\n", "a\r\n\r\r\n"); /* a line holding only a CR is not empty */
	BODY_IS(RELAXED, "a\n\r\r\n", "a\r\n\r\r\n");
	BODY_IS(RELAXED, "a \r \r\n", "a \r\r\n");
	/* The same text with LF and with CRLF line ends. */
	static const char lf[] = "Hi.\n\nWe lost the game.  Are you hungry yet?\n\nJoe.\n\n\n";
	static const char crlf[] =
		"Hi.\r\n\r\nWe lost the game.  Are you hungry yet?\r\n\r\nJoe.\r\n\r\n\r\n";
	for (int c = 0; c < 2; c++) {
		struct signet_buf a, b;
		uint64_t ta, tb;
		stream((enum signet_canon)c, UINT64_MAX, (const uint8_t *)lf, sizeof lf - 1,
		       (struct feed){FEED_ONE, 0}, &a, &ta);
		stream((enum signet_canon)c, UINT64_MAX, (const uint8_t *)crlf, sizeof crlf - 1,
		       (struct feed){FEED_RANDOM, 3}, &b, &tb);
		assert_bytes(&a, b.data, b.len);
		buf_free(&a);
		buf_free(&b);
	}
}

static void DKIM_CANON_07_missing_final_crlf(void **state)
{
	/* "Missing final CRLF on the body: simple adds one; relaxed adds one if
	 * non-empty (3.4.3, 3.4.4). Test: body abc -> simple and relaxed both
	 * hash abc\r\n." */
	(void)state;
	BODY_IS(SIMPLE, "abc", "abc\r\n");
	BODY_IS(RELAXED, "abc", "abc\r\n");
	BODY_IS(SIMPLE, "a\r\n\r\nb", "a\r\n\r\nb\r\n");
	BODY_IS(RELAXED, "a\r\n\r\nb", "a\r\n\r\nb\r\n");
	BODY_IS(SIMPLE, "a\r\n ", "a\r\n \r\n");
}

static void DKIM_CANON_09_wsp_only_lines(void **state)
{
	/* "relaxed body treats a line of only WSP as empty (trailing WSP removed
	 * first), so it is dropped at the end of the body (3.4.4). Test: body
	 * a\r\n \r\n\t\r\n relaxed -> a\r\n; simple keeps them." */
	(void)state;
	BODY_IS(RELAXED, "a\r\n \r\n\t\r\n", "a\r\n");
	BODY_IS(SIMPLE, "a\r\n \r\n\t\r\n", "a\r\n \r\n\t\r\n");
	/* In the middle, a WSP-only line is an empty line that is kept. */
	BODY_IS(RELAXED, "a\r\n \t \r\nb\r\n", "a\r\n\r\nb\r\n");
}

static void DKIM_CANON_10_middle_empty_lines(void **state)
{
	/* "Empty lines in the middle of the body are kept by both algorithms;
	 * only the trailing run goes (3.4.3, 3.4.4). Test: a\r\n\r\nb\r\n." */
	(void)state;
	BODY_IS(SIMPLE, "a\r\n\r\nb\r\n", "a\r\n\r\nb\r\n");
	BODY_IS(RELAXED, "a\r\n\r\nb\r\n", "a\r\n\r\nb\r\n");
	BODY_IS(SIMPLE, "\r\n\r\nb\r\n\r\n", "\r\n\r\nb\r\n");
	BODY_IS(RELAXED, "\r\n \r\nb\r\n\r\n", "\r\n\r\nb\r\n");
	/* 200 empty lines in the middle: more than one block of pending CRLFs. */
	static char in[1 + 201 * 2 + 1 + 2];
	memset(in, 0, sizeof in);
	in[0] = 'a';
	for (int k = 0; k < 201; k++)
		memcpy(in + 1 + 2 * k, "\r\n", 2);
	memcpy(in + 1 + 201 * 2, "b\r\n", 3);
	for (int c = 0; c < 2; c++)
		body_is((enum signet_canon)c, in, sizeof in, in, sizeof in);
}

static void DKIM_CANON_14_rfc6376_example(void **state)
{
	/* "Worked example of 3.4.5 reproduced as a unit test: relaxed header
	 * gives a:X and b:Y Z; relaxed body gives ' C' and 'D E'; simple body
	 * keeps the inner spacing and drops only the trailing empty lines." */
	(void)state;
	HEADER_IS(RELAXED, "A", " X", "a:X\r\n");
	HEADER_IS(RELAXED, "B ", " Y\t\r\n\tZ  ", "b:Y Z\r\n");
	HEADER_IS(SIMPLE, "A", " X", "A: X\r\n");
	HEADER_IS(SIMPLE, "B ", " Y\t\r\n\tZ  ", "B : Y\t\r\n\tZ  \r\n");
	BODY_IS(RELAXED, " C \r\nD \t E\r\n\r\n\r\n", " C\r\nD E\r\n");
	BODY_IS(SIMPLE, " C \r\nD \t E\r\n\r\n\r\n", " C \r\nD \t E\r\n");
}

static void DKIM_CANON_08_length_limit(void **state)
{
	/* "l= counts octets of the canonicalized body; hashing stops exactly
	 * there even mid-line (3.5 l=, 5.3.1). Test: l= that cuts inside a CRLF
	 * pair." */
	(void)state;
	static const char in[] = "ab  c\r\n\r\nd\r\n\r\n";
	/* relaxed: "ab c\r\n\r\nd\r\n" = 11 octets; simple "ab  c\r\n\r\nd\r\n" = 12 */
	static const char rel[] = "ab c\r\n\r\nd\r\n";
	static const uint64_t limits[] = {0, 1, 3, 4, 5, 6, 7, 9, 10, 11, 12, 100};
	for (size_t k = 0; k < sizeof limits / sizeof limits[0]; k++) {
		struct signet_buf out;
		uint64_t total;
		uint64_t l = limits[k];
		stream(RELAXED, l, (const uint8_t *)in, sizeof in - 1, (struct feed){FEED_BYTES, 0},
		       &out, &total);
		size_t n = l < 11 ? (size_t)l : 11;
		assert_bytes(&out, rel, n);
		assert_int_equal(total, 11);
		buf_free(&out);
	}
	/* l= 5 ends between the CR and the LF of the first line (relaxed). */
	struct signet_buf out;
	uint64_t total;
	stream(RELAXED, 5, (const uint8_t *)in, sizeof in - 1, (struct feed){FEED_ONE, 0}, &out,
	       &total);
	assert_bytes(&out, "ab c\r", 5);
	buf_free(&out);
	/* Around the exact canonical length, simple: 11, 12, 13. */
	for (uint64_t l = 11; l <= 13; l++) {
		stream(SIMPLE, l, (const uint8_t *)in, sizeof in - 1, (struct feed){FEED_RANDOM, l},
		       &out, &total);
		assert_bytes(&out, "ab  c\r\n\r\nd\r\n", l < 12 ? (size_t)l : 12);
		assert_int_equal(total, 12);
		buf_free(&out);
	}
	/* l=0 on the empty simple body: nothing hashed, total still 2. */
	stream(SIMPLE, 0, (const uint8_t *)"", 0, (struct feed){FEED_ONE, 0}, &out, &total);
	assert_int_equal(out.len, 0);
	assert_int_equal(total, 2);
	buf_free(&out);
	/* A limit inside a long run that goes to the sink directly. */
	static uint8_t big[5000];
	memset(big, 'x', sizeof big);
	for (uint64_t l = 299; l <= 301; l++)
		check_against_ref(RELAXED, big, sizeof big, l, l);
}

/* Reads a whole file; NULL if it cannot be read. */
static uint8_t *slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	if (f == NULL)
		return NULL;
	struct signet_buf b;
	buf_init(&b, BIG);
	uint8_t tmp[8192];
	size_t n;
	while ((n = fread(tmp, 1, sizeof tmp, f)) > 0)
		assert_int_equal(buf_append(&b, tmp, n), SIGNET_OK);
	fclose(f);
	assert_int_equal(buf_terminate(&b), SIGNET_OK);
	*len = b.len;
	return b.data;
}

/* Offset of the body: after the first empty line (CRLF or LF form). */
static size_t body_offset(const uint8_t *m, size_t len)
{
	for (size_t k = 0; k + 1 < len; k++) {
		if (m[k] != '\n')
			continue;
		if (m[k + 1] == '\n')
			return k + 2;
		if (k + 2 < len && m[k + 1] == '\r' && m[k + 2] == '\n')
			return k + 3;
	}
	return len;
}

static size_t check_dir(const char *dir, uint64_t *seed)
{
	DIR *d = opendir(dir);
	if (d == NULL)
		return 0;
	size_t files = 0;
	struct dirent *e;
	while ((e = readdir(d)) != NULL) {
		if (e->d_name[0] == '.')
			continue;
		char path[1024];
		int n = snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
		assert_true(n > 0 && (size_t)n < sizeof path);
		struct stat st;
		if (stat(path, &st) != 0)
			continue;
		if (S_ISDIR(st.st_mode)) {
			files += check_dir(path, seed);
			continue;
		}
		size_t len = strlen(e->d_name);
		if (len < 4 || strcmp(e->d_name + len - 4, ".eml") != 0)
			continue;
		size_t mlen;
		uint8_t *m = slurp(path, &mlen);
		assert_non_null(m);
		size_t off = body_offset(m, mlen);
		for (int c = 0; c < 2; c++) {
			/* The body, and the whole file read as if it were a body. */
			check_against_ref((enum signet_canon)c, m + off, mlen - off, UINT64_MAX,
					  ++*seed);
			check_against_ref((enum signet_canon)c, m, mlen, UINT64_MAX, ++*seed);
			check_against_ref((enum signet_canon)c, m + off, mlen - off, mlen / 3,
					  ++*seed);
		}
		free(m);
		files++;
	}
	closedir(d);
	return files;
}

/* A random body over a small alphabet rich in what matters: CR, LF, SP,
 * TAB, runs of empty lines, NUL and 8-bit bytes; "texty" bodies are long
 * lines with single spaces, which take the vector fast path. */
static size_t random_body(uint64_t *s, uint8_t *out, size_t max)
{
	static const uint8_t dense[] = {'a', 'b', ' ', ' ', '\t', '\r', '\n', '\n', 0, 0xc3};
	size_t len = (size_t)(rnd(s) % (rnd(s) % 8 == 0 ? max : 64));
	bool texty = rnd(s) % 2 == 0;
	for (size_t k = 0; k < len; k++) {
		uint64_t r = rnd(s);
		if (!texty) {
			out[k] = dense[r % sizeof dense];
		} else if (r % 97 == 0 && k + 1 < len) {
			out[k++] = '\r';
			out[k] = '\n';
		} else {
			static const uint8_t t[] = "abcdefghij  \t\r\n\x01";
			out[k] = (r % 23 == 0) ? t[(r >> 8) % (sizeof t - 1)]
					       : (uint8_t)('a' + r % 26);
			if (r % 7 == 0)
				out[k] = ' ';
		}
	}
	return len;
}

static void DKIM_CANON_06_streaming_equivalence(void **state)
{
	/* "Streaming equivalence: same hashes whatever the chunking - splits
	 * between CR and LF, inside a WSP run, inside a run of trailing empty
	 * lines, and 1-byte chunks (3.4, design). Test: property test over
	 * random splits of every fixture." */
	(void)state;
	uint64_t seed = 20240601;
	uint8_t *body = malloc(4096);
	assert_non_null(body);
	for (int i = 0; i < 4000; i++) {
		size_t len = random_body(&seed, body, 4096);
		enum signet_canon c = (enum signet_canon)(i % 2);
		uint64_t limit = rnd(&seed) % 3 == 0 ? rnd(&seed) % (len + 8) : UINT64_MAX;
		check_against_ref(c, body, len, limit, (uint64_t)i + 1);
	}
	free(body);
}

static void DKIM_CANON_06_fixtures(void **state)
{
	/* "property test over random splits of every fixture." Every .eml of
	 * the shared test data; and the relaxed body hash of RFC 8463 A.3. */
	(void)state;
	DIR *d = opendir(SIGNET_TESTDATA);
	if (d == NULL) {
		print_message("skipping: %s not found\n", SIGNET_TESTDATA);
		skip();
	}
	closedir(d);
	uint64_t seed = 99;
	size_t files = check_dir(SIGNET_TESTDATA, &seed);
	assert_true(files >= 7);
	size_t len;
	uint8_t *m = slurp(SIGNET_TESTDATA "/rfc8463/signed.eml", &len);
	assert_non_null(m);
	size_t off = body_offset(m, len);
	body_hash_is(RELAXED, m + off, len - off, EVP_sha256(),
		     "2jUSOH9NhtVGCQWNr9BrIAPreKQjO6Sn7XIkfJVOzv8=");
	free(m);
}

/* Text with lines of words and mostly CRLF ends, where the fast path keeps
 * many lines (and paragraph breaks) in one run; what starts each line and
 * what ends the body are drawn from the cases that must still end a run:
 * runs of empty lines, WSP-only lines, lines starting with WSP, trailing
 * WSP, bare LF and CR, empty lines at the end. */
static size_t multiline_body(uint64_t *s, uint8_t *out, size_t max)
{
	static const char *const starts[] = {"",         "",   "",   "",      "",       "",
					     " ",        "\t", "  ", " \r\n", "\t\r\n", "\r\n",
					     "\r\n\r\n", "\n", "\r", "x"};
	static const char *const ends[] = {"\r\n",
					   "\r\n",
					   "\r\n",
					   "\r\n",
					   "\r\n\r\n",
					   "\r\n\r\n",
					   "\r\n\r\n\r\n",
					   " \r\n",
					   "\n",
					   "\n\n",
					   "\r\n\n",
					   "\n\r\n",
					   "\r\n\r\n \r\n",
					   "\r\n\r\n\t\r\n\r\n",
					   "\r\n\r\n\n",
					   "\r\n\r\n\n\r\n",
					   "\r\n\r\n\r",
					   "\r\n\r\n \t"};
	size_t want = (size_t)(rnd(s) % max), k = 0;
	while (k < want) {
		const char *st = starts[rnd(s) % (sizeof starts / sizeof starts[0])];
		size_t words = 1 + (size_t)(rnd(s) % 12);
		for (size_t j = 0; st[j] != '\0' && k < max; j++)
			out[k++] = (uint8_t)st[j];
		for (size_t w = 0; w < words && k < max; w++) {
			size_t wl = 1 + (size_t)(rnd(s) % 9);
			for (size_t j = 0; j < wl && k < max; j++)
				out[k++] = (uint8_t)('a' + rnd(s) % 26);
			if (w + 1 < words && k < max)
				out[k++] = ' ';
		}
		const char *en = ends[rnd(s) % (sizeof ends / sizeof ends[0])];
		for (size_t j = 0; en[j] != '\0' && k < max; j++)
			out[k++] = (uint8_t)en[j];
	}
	return k;
}

static void DKIM_CANON_06_multiline_runs(void **state)
{
	/* "Streaming equivalence: same hashes whatever the chunking" - here
	 * for long runs spanning many lines and paragraph breaks, against the
	 * line-by-line reference, with and without l=. */
	(void)state;
	uint64_t seed = 20261125;
	uint8_t *body = malloc(4096);
	assert_non_null(body);
	for (int i = 0; i < 3000; i++) {
		size_t len = multiline_body(&seed, body, 4096);
		enum signet_canon c = (enum signet_canon)(i % 2);
		uint64_t limit = rnd(&seed) % 3 == 0 ? rnd(&seed) % (len + 8) : UINT64_MAX;
		check_against_ref(c, body, len, limit, (uint64_t)i + 7);
	}
	free(body);
}

/* Long runs that take the vector path, with every special byte placed at
 * every offset of a 16-byte block and next to the block edge. */
static void DKIM_CANON_06_fast_path_offsets(void **state)
{
	(void)state;
	static const char *specials[] = {"\t",  "  ",   " \r\n", "\r\n\r\n", "\n",   "\r",   "\rx",
					 " \t", "\n\n", " ",     "\r\n",     "\x01", " \x01"};
	uint8_t in[128];
	for (size_t s = 0; s < sizeof specials / sizeof specials[0]; s++) {
		size_t sl = strlen(specials[s]);
		for (size_t at = 1; at + sl <= 80; at++) {
			memset(in, 'q', sizeof in);
			memcpy(in + at, specials[s], sl);
			for (size_t len = at + sl; len <= at + sl + 18; len += 17) {
				check_against_ref(RELAXED, in, len, UINT64_MAX, at);
				check_against_ref(SIMPLE, in, len, UINT64_MAX, at);
			}
		}
	}
}

/* Ordinary bytes around the patterns of the vector tests: plain text
 * (words, single spaces, CRLF line ends; one run for the fast path) or a
 * single letter repeated. */
static void filler(uint8_t *out, size_t n, bool text)
{
	static const char t[] = "ab cde fg hij\r\nklm nop q\r\n";
	for (size_t k = 0; k < n; k++)
		out[k] = text ? (uint8_t)t[k % (sizeof t - 1)] : 'q';
}

struct pattern {
	const char *p;
	size_t n;
};
#define PAT(s)                                                                                     \
	{                                                                                          \
		s, sizeof(s) - 1                                                                   \
	}

/* Whatever can end a run or only looks like it could (candidates that are
 * not special: paragraph breaks, a SP or TAB before a control byte, NUL,
 * 8-bit bytes), including long WSP runs that cross 16/32/64-byte blocks. */
static const struct pattern vector_patterns[] = {
	PAT("\t"),
	PAT("  "),
	PAT(" \t"),
	PAT("\t "),
	PAT(" \r\n"),
	PAT(" \n"),
	PAT("\t\r\n"),
	PAT("\r\n\r\n"),
	PAT("\r\n\r\nx"),
	PAT("\r\n\r\n "),
	PAT("\r\n\r\n\t"),
	PAT("\r\n\r\n\r\n"),
	PAT("\r\n\r\n\n"),
	PAT("\n\r\n"),
	PAT("\n"),
	PAT("\n\n"),
	PAT("\r"),
	PAT("\rx"),
	PAT("\r\r\n"),
	PAT("\r \r\n"),
	PAT("\r\n \r\n"),
	PAT(" "),
	PAT("\r\n"),
	PAT("                                        "),
	PAT("\t\t\t\t\t\t\t\t\t\t\t\t\t\t\t\t\t\t\t\t\t\t\t\t\t\t\t\t\t\t\t\t\t"),
	PAT(" \t \t \t\t   \t"),
	PAT("\0"),
	PAT(" \0"),
	PAT("\0 "),
	PAT("\r\0\n"),
	PAT("\x01"),
	PAT(" \x01"),
	PAT("\x1f "),
	PAT("\x0b\x0c"),
	PAT(" \x7f"),
	PAT("\x80"),
	PAT("\xff"),
	PAT(" \xff"),
	PAT("\xc3\xa9 \xc3\xa9"),
	PAT("\xa0\x0d\x0a\xa0"),
};

/* Streams in one piece and split in two at each of splits[] (chunk ends
 * inside or right after the pattern: a CR last in a chunk, an LF first),
 * with every scanner, against the reference. */
static void check_splits(enum signet_canon c, const uint8_t *in, size_t len, const size_t *splits,
			 size_t nsplits)
{
	struct signet_buf want;
	ref_body(c, in, len, UINT64_MAX, &want);
	assert_true(nscanners > 0);
	for (size_t s = 0; s < nscanners; s++) {
		check_stream(c, in, len, UINT64_MAX, (struct feed){FEED_ONE, 0}, (int)scanners[s],
			     &want, want.len);
		for (size_t k = 0; k < nsplits; k++)
			if (splits[k] > 0 && splits[k] < len)
				check_stream(c, in, len, UINT64_MAX,
					     (struct feed){FEED_SPLIT, splits[k]}, (int)scanners[s],
					     &want, want.len);
	}
	buf_free(&want);
}

/* Every pattern at every offset of the first 144 bytes of a run: every lane
 * of 16-, 32- and 64-byte blocks, and both windows of the 128 bytes the AVX2
 * scanner tests at once; then nothing, 3 bytes (paragraph breaks are judged
 * on the next 3) or 70 bytes (more windows) of the same filler. */
static void DKIM_CANON_06_vector_positions(void **state)
{
	/* "Streaming equivalence: same hashes whatever the chunking" - here for
	 * the vector fast path and chunks that end inside or next to what ends
	 * a run, with each scanner against the reference. */
	(void)state;
	static const size_t tails[] = {0, 3, 70};
	uint8_t in[144 + 64 + 70];
	for (size_t pt = 0; pt < sizeof vector_patterns / sizeof vector_patterns[0]; pt++) {
		const struct pattern *pat = &vector_patterns[pt];
		for (int text = 0; text < 2; text++) {
			for (size_t at = 0; at < 144; at++) {
				for (size_t t = 0; t < sizeof tails / sizeof tails[0]; t++) {
					size_t len = at + pat->n + tails[t];
					filler(in, len, text);
					memcpy(in + at, pat->p, pat->n);
					const size_t splits[] = {at + 1, at + pat->n - 1,
								 at + pat->n};
					check_splits(RELAXED, in, len, splits, 3);
					check_splits(SIMPLE, in, len, splits, 3);
				}
			}
		}
	}
}

/* Runs longer than a slice (canon.c gives a long run to the sink every 4 KiB
 * or so while it scans on, ending each slice up to 63 bytes early where the
 * sink has had a multiple of 64 bytes; then the next slice ends right at the
 * end of a window): a pattern at every offset around the ends of the first
 * two slices of a run, after a first line ended by a bare LF or a double SP
 * (relaxed: one byte less out than in) at 0..64 bytes, which moves those
 * ends; CRLFs of the filler cut by slice ends; chunk ends next to the
 * pattern; l= cuts at the slice ends. */
static void DKIM_CANON_06_long_runs(void **state)
{
	/* "Streaming equivalence: same hashes whatever the chunking" - here
	 * for runs that the canonicalizer itself hands on in slices. */
	(void)state;
	static const struct pattern pats[] = {PAT("\r\n\r\n\r\n"), PAT("  "), PAT("\r\n\r\n"),
					      PAT("\t"),           PAT("\n"), PAT("\r")};
	static const struct pattern breaks[] = {PAT(""), PAT("\n"), PAT("  ")};
	static const size_t around[] = {4096, 8192}, first[] = {1, 17, 62, 64};
	const size_t len = 8192 + 200;
	uint8_t *in = malloc(len);
	assert_non_null(in);
	for (size_t pt = 0; pt < sizeof pats / sizeof pats[0]; pt++) {
		for (size_t br = 0; br < sizeof breaks / sizeof breaks[0]; br++) {
			for (size_t f = 0; f < (br == 0 ? 1 : sizeof first / sizeof first[0]);
			     f++) {
				for (size_t a = 0; a < 2; a++) {
					size_t step = br == 0 || f == 2 ? 1 : 5;
					for (size_t at = around[a] - 70; at <= around[a] + 70;
					     at += step) {
						filler(in, len, true);
						memcpy(in + first[f], breaks[br].p, breaks[br].n);
						memcpy(in + at, pats[pt].p, pats[pt].n);
						const size_t splits[] = {at, at + pats[pt].n, 5000};
						check_splits(RELAXED, in, len, splits, 3);
						check_splits(SIMPLE, in, len, splits, 3);
					}
				}
			}
		}
	}
	/* One run of plain text, cut by l= around the first slice end. */
	filler(in, len, true);
	for (uint64_t l = 4020; l <= 4100; l += 4) {
		check_against_ref(RELAXED, in, len, l, l);
		check_against_ref(SIMPLE, in, len, l, l);
	}
	free(in);
}

/* canon_body_init picks the fastest scanner of this build and CPU (AVX2 if
 * the CPU has it, else SSE2 on x86-64; the portable one elsewhere), and
 * canon_body_set_scan takes exactly those that are there. */
static void canon_body_scanner_choice(void **state)
{
	(void)state;
	struct canon_body *cb = malloc(sizeof *cb);
	assert_non_null(cb);
	canon_body_init(cb, RELAXED, UINT64_MAX, collect_sink, NULL);
#if defined(__x86_64__)
	bool avx2 = __builtin_cpu_supports("avx2");
	assert_int_equal(cb->scan, avx2 ? CANON_SCAN_AVX2 : CANON_SCAN_SSE2);
	assert_true(canon_body_set_scan(cb, CANON_SCAN_SSE2));
	assert_int_equal(cb->scan, CANON_SCAN_SSE2);
	assert_int_equal(canon_body_set_scan(cb, CANON_SCAN_AVX2), avx2);
	assert_int_equal(cb->scan, avx2 ? CANON_SCAN_AVX2 : CANON_SCAN_SSE2);
#else
	assert_int_equal(cb->scan, CANON_SCAN_GENERIC);
	assert_false(canon_body_set_scan(cb, CANON_SCAN_SSE2));
	assert_false(canon_body_set_scan(cb, CANON_SCAN_AVX2));
#endif
	assert_true(canon_body_set_scan(cb, CANON_SCAN_GENERIC));
	assert_int_equal(cb->scan, CANON_SCAN_GENERIC);
	assert_false(canon_body_set_scan(cb, (enum canon_scan)99));
	assert_int_equal(cb->scan, CANON_SCAN_GENERIC);
	free(cb);
}

/* A sink error stops the canonicalizer and is returned from then on. */
static void canon_body_sink_error(void **state)
{
	(void)state;
	static uint8_t big[1000];
	memset(big, 'x', sizeof big);
	struct collect col = {.calls = 0, .fail_at = 1};
	buf_init(&col.b, BIG);
	struct canon_body *cb = malloc(sizeof *cb);
	assert_non_null(cb);
	canon_body_init(cb, RELAXED, UINT64_MAX, collect_sink, &col);
	/* 1000 bytes go to the sink directly: the first call fails. */
	assert_int_equal(canon_body_update(cb, big, sizeof big), SIGNET_ERR_CRYPTO);
	assert_int_equal(canon_body_update(cb, big, 1), SIGNET_ERR_CRYPTO);
	assert_int_equal(canon_body_final(cb), SIGNET_ERR_CRYPTO);
	/* Small output is batched: the error comes at final's flush. */
	col.calls = 0;
	canon_body_init(cb, SIMPLE, UINT64_MAX, collect_sink, &col);
	assert_int_equal(canon_body_update(cb, (const uint8_t *)"a\r\n", 3), SIGNET_OK);
	assert_int_equal(canon_body_final(cb), SIGNET_ERR_CRYPTO);
	assert_int_equal(canon_body_final(cb), SIGNET_ERR_CRYPTO);
	/* Short lines fill out[] (4096): the flush fails inside an update. */
	col.calls = 0;
	canon_body_init(cb, SIMPLE, UINT64_MAX, collect_sink, &col);
	enum signet_status st = SIGNET_OK;
	int k;
	for (k = 0; k < 2000 && st == SIGNET_OK; k++)
		st = canon_body_update(cb, (const uint8_t *)"a\r\n", 3);
	assert_int_equal(st, SIGNET_ERR_CRYPTO);
	assert_true(k > 1000 && k < 1400); /* 4096 / 3 lines fit before the flush */
	assert_int_equal(canon_body_update(cb, (const uint8_t *)"a", 1), SIGNET_ERR_CRYPTO);
	assert_int_equal(canon_body_final(cb), SIGNET_ERR_CRYPTO);
	/* Calls after final are refused. */
	col.fail_at = 0;
	canon_body_init(cb, SIMPLE, UINT64_MAX, collect_sink, &col);
	assert_int_equal(canon_body_final(cb), SIGNET_OK);
	assert_int_equal(canon_body_update(cb, (const uint8_t *)"a", 1), SIGNET_ERR_STATE);
	assert_int_equal(canon_body_final(cb), SIGNET_ERR_STATE);
	free(cb);
	buf_free(&col.b);
}

int main(void)
{
	/* Every scanner this build and CPU have runs every differential test. */
	struct canon_body probe;
	canon_body_init(&probe, RELAXED, UINT64_MAX, collect_sink, NULL);
	static const enum canon_scan all[] = {CANON_SCAN_GENERIC, CANON_SCAN_SSE2, CANON_SCAN_AVX2};
	static const char *const names[] = {"generic", "sse2", "avx2"};
	for (size_t k = 0; k < sizeof all / sizeof all[0]; k++) {
		if (canon_body_set_scan(&probe, all[k])) {
			scanners[nscanners++] = all[k];
			print_message("# canon scanner %s: tested\n", names[k]);
		} else {
			print_message("# canon scanner %s: not in this build or CPU, not tested\n",
				      names[k]);
		}
	}
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(reference_selfcheck),
		cmocka_unit_test(DKIM_CANON_01_simple_header),
		cmocka_unit_test(DKIM_CANON_02_relaxed_header),
		cmocka_unit_test(DKIM_CANON_12_header_name_trailing_wsp),
		cmocka_unit_test(DKIM_CANON_13_header_octets),
		cmocka_unit_test(canon_header_buffer_cap),
		cmocka_unit_test(DKIM_CANON_03_simple_body),
		cmocka_unit_test(DKIM_CANON_04_relaxed_body),
		cmocka_unit_test(DKIM_CANON_05_bare_lf),
		cmocka_unit_test(DKIM_CANON_07_missing_final_crlf),
		cmocka_unit_test(DKIM_CANON_08_length_limit),
		cmocka_unit_test(DKIM_CANON_09_wsp_only_lines),
		cmocka_unit_test(DKIM_CANON_10_middle_empty_lines),
		cmocka_unit_test(DKIM_CANON_14_rfc6376_example),
		cmocka_unit_test(DKIM_CANON_06_streaming_equivalence),
		cmocka_unit_test(DKIM_CANON_06_fixtures),
		cmocka_unit_test(DKIM_CANON_06_fast_path_offsets),
		cmocka_unit_test(DKIM_CANON_06_multiline_runs),
		cmocka_unit_test(DKIM_CANON_06_vector_positions),
		cmocka_unit_test(DKIM_CANON_06_long_runs),
		cmocka_unit_test(canon_body_scanner_choice),
		cmocka_unit_test(canon_body_sink_error),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
