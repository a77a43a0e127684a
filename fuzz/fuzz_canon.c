/* fuzz_canon.c: body canonicalization (lib/canon.c, RFC 6376 3.4.3/3.4.4),
 * differential: the streaming canonicalizer fed in one piece, byte by byte
 * and in random pieces must equal a literal whole-body reference (the one
 * of tests/unit/test_canon.c); abort on any difference. Also runs
 * canon_header on the input split at its first colon.
 * Every vector scanner this build and CPU have (canon_body_set_scan) is run,
 * and each chunk is copied into an allocation of its own size, so that ASan
 * sees any read past the bytes the canonicalizer was given.
 * Input: [mode][limit hi][limit lo][rng seed] then the body. mode bit 0:
 * relaxed; bit 1: an l= limit of (hi << 8 | lo) octets; bit 2: the body is
 * repeated to TILE_MIN bytes or more (long runs: canon.c hands them to the
 * sink in slices of about 4 KiB, and inputs are rarely that long). */
#include "canon.h"
#include "fuzz.h"

static enum signet_status sink(void *ctx, const uint8_t *p, size_t len)
{
	fuzz_put(ctx, p, len);
	return SIGNET_OK;
}

/* RFC 6376 3.4.3/3.4.4 read literally over the whole body. */
static void ref_line(enum signet_canon c, const uint8_t *p, size_t n, struct fuzz_bytes *o)
{
	for (size_t k = 0; k < n; k++) {
		bool wsp = p[k] == ' ' || p[k] == '\t';
		if (c == SIGNET_CANON_RELAXED && wsp) {
			size_t e = k;
			while (e < n && (p[e] == ' ' || p[e] == '\t'))
				e++;
			if (e < n)
				fuzz_put(o, (const uint8_t *)" ", 1);
			k = e - 1;
			continue;
		}
		fuzz_put(o, p + k, 1);
	}
}

static void ref_body(enum signet_canon c, const uint8_t *in, size_t len, uint64_t limit,
		     struct fuzz_bytes *o, uint64_t *total)
{
	struct fuzz_bytes line = {0};
	size_t keep = 0, start = 0;
	for (size_t k = 0; k <= len; k++) {
		bool eol = k < len && in[k] == '\n';
		if (!eol && k < len)
			continue;
		size_t end = k;
		if (eol && end > start && in[end - 1] == '\r')
			end--;
		line.len = 0;
		ref_line(c, in + start, end - start, &line);
		if (!eol && line.len == 0)
			break;
		fuzz_put(o, line.p, line.len);
		fuzz_put(o, (const uint8_t *)"\r\n", 2);
		if (line.len > 0)
			keep = o->len;
		start = k + 1;
	}
	o->len = keep;
	if (c == SIGNET_CANON_SIMPLE && o->len == 0)
		fuzz_put(o, (const uint8_t *)"\r\n", 2);
	*total = o->len;
	if (o->len > limit)
		o->len = (size_t)limit;
	free(line.p);
}

#define TILE_MIN (3 * 4096 + 100)

/* how: 0 one piece, 1 byte by byte, 2 random pieces, 3 two pieces cut at a
 * random point. */
static void stream(enum signet_canon c, uint64_t limit, const uint8_t *in, size_t len, int how,
		   enum canon_scan scan, struct fuzz_rng *rng, struct fuzz_bytes *o,
		   uint64_t *total)
{
	struct canon_body cb;
	canon_body_init(&cb, c, limit, sink, o);
	FUZZ_CHECK(canon_body_set_scan(&cb, scan));
	size_t cut = len > 0 ? (size_t)(fuzz_rng_next(rng) % len) : 0;
	for (size_t off = 0; off < len;) {
		size_t n = how == 0    ? len - off
			   : how == 1  ? 1
			   : how == 2  ? fuzz_chunk(rng, len - off)
			   : off < cut ? cut - off
				       : len - off;
		uint8_t *chunk = malloc(n);
		FUZZ_CHECK(chunk != NULL);
		memcpy(chunk, in + off, n);
		FUZZ_CHECK(canon_body_update(&cb, chunk, n) == SIGNET_OK);
		free(chunk);
		off += n;
	}
	FUZZ_CHECK(canon_body_final(&cb) == SIGNET_OK);
	/* After final, more input is a state error, never a crash. */
	FUZZ_CHECK(canon_body_update(&cb, in, len) == SIGNET_ERR_STATE);
	FUZZ_CHECK(cb.emitted == o->len);
	*total = cb.total;
}

static void headers(const uint8_t *p, size_t n)
{
	const uint8_t *colon = memchr(p, ':', n);
	size_t nl = colon ? (size_t)(colon - p) : n;
	struct signet_span name = {p, nl},
			   value = {colon ? colon + 1 : p + n, colon ? n - nl - 1 : 0};
	for (int c = SIGNET_CANON_SIMPLE; c <= SIGNET_CANON_RELAXED; c++) {
		struct signet_buf out;
		buf_init(&out, 4 * n + 16);
		enum signet_status st = canon_header((enum signet_canon)c, name, value, &out);
		FUZZ_CHECK(st == SIGNET_OK || st == SIGNET_ERR_LIMIT);
		if (st == SIGNET_OK)
			FUZZ_CHECK(out.len >= 3 && memcmp(out.data + out.len - 2, "\r\n", 2) == 0);
		buf_free(&out);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 4)
		return 0;
	enum signet_canon c = (data[0] & 1) ? SIGNET_CANON_RELAXED : SIGNET_CANON_SIMPLE;
	uint64_t limit = (data[0] & 2) ? ((uint64_t)data[1] << 8 | data[2]) : UINT64_MAX;
	struct fuzz_rng rng;
	fuzz_rng_init(&rng, data, 4);
	const uint8_t *in = data + 4;
	size_t len = size - 4;
	uint8_t *tiled = NULL;
	if ((data[0] & 4) && len > 0) {
		size_t n = (TILE_MIN / len + 1) * len;
		tiled = malloc(n);
		FUZZ_CHECK(tiled != NULL);
		for (size_t k = 0; k < n; k += len)
			memcpy(tiled + k, in, len);
		in = tiled;
		len = n;
	}

	static const enum canon_scan all[] = {CANON_SCAN_GENERIC, CANON_SCAN_SSE2, CANON_SCAN_AVX2};
	struct canon_body probe;
	canon_body_init(&probe, c, limit, sink, NULL);
	struct fuzz_bytes want = {0};
	uint64_t want_total;
	ref_body(c, in, len, limit, &want, &want_total);
	for (size_t s = 0; s < sizeof all / sizeof all[0]; s++) {
		if (!canon_body_set_scan(&probe, all[s]))
			continue; /* not in this build or CPU */
		for (int how = 0; how < 4; how++) {
			/* 1-byte chunks never reach a scanner: once is enough. */
			if (how == 1 && (len > 20000 || s > 0))
				continue;
			struct fuzz_bytes got = {0};
			uint64_t total;
			stream(c, limit, in, len, how, all[s], &rng, &got, &total);
			if (got.len != want.len ||
			    (got.len > 0 && memcmp(got.p, want.p, got.len) != 0)) {
				fprintf(stderr,
					"canon %s feed %d scanner %d limit %llu: got %zu bytes, "
					"want %zu\n",
					signet_canon_name(c), how, (int)all[s],
					(unsigned long long)limit, got.len, want.len);
				abort();
			}
			FUZZ_CHECK(total == want_total);
			free(got.p);
		}
	}
	free(want.p);
	headers(data + 4, size - 4);
	free(tiled);
	return 0;
}
