/* canon.c: DKIM canonicalization (RFC 6376 3.4) of header fields and of the
 * body, one implementation for signing and verifying. The body is a streaming
 * state machine in O(1) memory with a fast path for runs of bytes that come
 * out unchanged. It does no hashing itself: canonical bytes go to a sink. */
#include <string.h>

#include "canon.h"
#include "canon_scan.h"
#include "error.h"

/* Runs at least this long go to the sink straight from the caller's chunk
 * (after flushing out[]); shorter ones are batched in out[]. */
#define CANON_DIRECT_MIN 256
_Static_assert(CANON_DIRECT_MIN <= sizeof((struct canon_body *)0)->out, "short runs fit in out[]");

/* Long runs go to the sink in slices of about this many bytes (run_end). */
#ifndef CANON_SLICE
#define CANON_SLICE 4096
#endif
_Static_assert(CANON_SLICE >= CANON_DIRECT_MIN, "slices go to the sink directly");

/* 64 CRLF pairs: pending empty lines are emitted from here, 64 at a time. */
static const uint8_t crlf_block[] =
	"\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n"
	"\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n"
	"\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n"
	"\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n";
#define CRLF_BLOCK_PAIRS ((sizeof crlf_block - 1) / 2)

/* ---- Header fields (3.4.1, 3.4.2) ---- */

/* DKIM-CANON-01 (RFC 6376 3.4.1): the field exactly as written, except that
 * a bare LF in a folded value becomes CRLF (DKIM-CANON-05). */
static enum signet_status header_simple(struct signet_span name, struct signet_span value,
					struct signet_buf *out)
{
	SIGNET_TRY(buf_append(out, name.p, name.len));
	SIGNET_TRY(buf_append_byte(out, ':'));
	size_t from = 0;
	for (size_t k = 0; k < value.len; k++) {
		if (value.p[k] != LF || (k > 0 && value.p[k - 1] == CR))
			continue;
		SIGNET_TRY(buf_append(out, value.p + from, k - from));
		SIGNET_TRY(buf_append_byte(out, CR));
		from = k; /* the LF itself goes out with the next run */
	}
	SIGNET_TRY(buf_append(out, value.p + from, value.len - from));
	return buf_append(out, "\r\n", 2);
}

/* Length of the line break (CRLF or bare LF) at k, or 0. */
static size_t line_break_at(struct signet_span v, size_t k)
{
	if (v.p[k] == LF)
		return 1;
	return (v.p[k] == CR && k + 1 < v.len && v.p[k + 1] == LF) ? 2 : 0;
}

/* Length of a line break followed by WSP at k, or 0: exactly what RFC 5322
 * unfolding deletes (3.4.2; a bare LF counts, DKIM-CANON-05). */
static size_t fold_at(struct signet_span v, size_t k)
{
	size_t n = line_break_at(v, k);
	if (n == 0 || k + n >= v.len || !is_wsp(v.p[k + n]))
		return 0;
	return n;
}

/* Appends the relaxed value: unfolded, WSP runs as one SP, no WSP at either
 * end. Other bytes (8-bit, NUL, a lone CR) are copied in runs. */
static enum signet_status value_relaxed(struct signet_span v, struct signet_buf *out)
{
	bool started = false, space = false;
	size_t k = 0;
	while (k < v.len) {
		size_t fold = fold_at(v, k);
		if (fold > 0 || is_wsp(v.p[k])) {
			k += fold > 0 ? fold : 1;
			space = true;
			continue;
		}
		if (space && started)
			SIGNET_TRY(buf_append_byte(out, ' '));
		space = false;
		started = true;
		/* A line break without WSP after it is no fold: not valid inside
		 * a field; kept as CRLF rather than silently dropped. */
		size_t brk = line_break_at(v, k);
		if (brk > 0) {
			SIGNET_TRY(buf_append(out, "\r\n", 2));
			k += brk;
			continue;
		}
		size_t from = k++;
		while (k < v.len && !is_wsp(v.p[k]) && v.p[k] != CR && v.p[k] != LF)
			k++;
		SIGNET_TRY(buf_append(out, v.p + from, k - from));
	}
	return SIGNET_OK;
}

/* DKIM-CANON-02, -12, -13 (RFC 6376 3.4.2): name lowercased (ASCII only)
 * and trimmed of the WSP (or fold) before the colon; value relaxed; CRLF. */
static enum signet_status header_relaxed(struct signet_span name, struct signet_span value,
					 struct signet_buf *out)
{
	while (name.len > 0 && (is_wsp(name.p[name.len - 1]) || name.p[name.len - 1] == CR ||
				name.p[name.len - 1] == LF))
		name.len--;
	uint8_t low[64];
	for (size_t k = 0; k < name.len; k += sizeof low) {
		size_t n = name.len - k < sizeof low ? name.len - k : sizeof low;
		for (size_t j = 0; j < n; j++)
			low[j] = ascii_lower(name.p[k + j]);
		SIGNET_TRY(buf_append(out, low, n));
	}
	SIGNET_TRY(buf_append_byte(out, ':'));
	SIGNET_TRY(value_relaxed(value, out));
	return buf_append(out, "\r\n", 2);
}

enum signet_status canon_header(enum signet_canon c, struct signet_span name,
				struct signet_span value, struct signet_buf *out)
{
	size_t len0 = out->len;
	enum signet_status st = c == SIGNET_CANON_RELAXED ? header_relaxed(name, value, out)
							  : header_simple(name, value, out);
	if (st != SIGNET_OK)
		out->len = len0; /* all or nothing, like buf_append */
	return st;
}

/* ---- Body output: batching, l= and the sink ---- */

static enum signet_status flush(struct canon_body *cb)
{
	if (cb->outlen == 0)
		return SIGNET_OK;
	size_t n = cb->outlen;
	cb->outlen = 0;
	enum signet_status st = cb->sink(cb->ctx, cb->out, n);
	if (st != SIGNET_OK)
		cb->failed = st;
	return st;
}

/* Every canonical byte passes here. total counts it; at most limit bytes
 * reach the sink (DKIM-CANON-08, RFC 6376 3.5 l=), cut exactly there. */
static enum signet_status emit_slow(struct canon_body *cb, const uint8_t *p, size_t n)
{
	cb->total += n;
	if (cb->emitted >= cb->limit)
		return SIGNET_OK;
	if ((uint64_t)n > cb->limit - cb->emitted)
		n = (size_t)(cb->limit - cb->emitted);
	cb->emitted += n;
	if (n >= CANON_DIRECT_MIN) {
		SIGNET_TRY(flush(cb));
		enum signet_status st = cb->sink(cb->ctx, p, n);
		if (st != SIGNET_OK)
			cb->failed = st;
		return st;
	}
	if (n > sizeof cb->out - cb->outlen)
		SIGNET_TRY(flush(cb));
	memcpy(cb->out + cb->outlen, p, n);
	cb->outlen += n;
	return SIGNET_OK;
}

/* The common case inline: a short piece that fits in out[] and under l=. */
static inline enum signet_status emit(struct canon_body *cb, const uint8_t *p, size_t n)
{
	if (n >= CANON_DIRECT_MIN || n > sizeof cb->out - cb->outlen ||
	    (uint64_t)n > cb->limit - cb->emitted)
		return emit_slow(cb, p, n);
	cb->total += n;
	cb->emitted += n;
	memcpy(cb->out + cb->outlen, p, n);
	cb->outlen += n;
	return SIGNET_OK;
}

/* Content is about to follow on the current line: the empty lines held back
 * were not trailing after all (DKIM-CANON-10), and in relaxed mode the WSP
 * run before this content becomes one SP (3.4.4). */
static enum signet_status open_line_slow(struct canon_body *cb)
{
	while (cb->empty_lines > 0) {
		size_t n = CRLF_BLOCK_PAIRS;
		if (cb->empty_lines < n)
			n = (size_t)cb->empty_lines;
		cb->empty_lines -= n;
		SIGNET_TRY(emit(cb, crlf_block, n * 2));
	}
	if (cb->pending_wsp) {
		cb->pending_wsp = false;
		SIGNET_TRY(emit(cb, (const uint8_t *)" ", 1));
	}
	return SIGNET_OK;
}

static inline enum signet_status open_line(struct canon_body *cb)
{
	if (cb->empty_lines == 0 && !cb->pending_wsp)
		return SIGNET_OK;
	return open_line_slow(cb);
}

/* A line ends (CRLF or bare LF). Trailing WSP is dropped (relaxed, 3.4.4);
 * an empty line is only counted, since it may turn out to be trailing
 * (DKIM-CANON-03, -04, -09). */
static enum signet_status line_end(struct canon_body *cb)
{
	cb->pending_wsp = false;
	if (!cb->line_has_data) {
		cb->empty_lines++;
		return SIGNET_OK;
	}
	cb->line_has_data = false;
	return emit(cb, crlf_block, 2);
}

/* One content byte handled outside a run (a CR that is data). */
static enum signet_status content_byte(struct canon_body *cb, const uint8_t *p)
{
	SIGNET_TRY(open_line(cb));
	cb->line_has_data = true;
	return emit(cb, p, 1);
}

/* ---- Body scanning: where does the current pass-through run end? ----
 *
 * A run starts at a byte that is not CR or LF (nor WSP, in relaxed mode) and
 * continues while the canonical output equals the input, so it can be passed
 * on as is. It stops before the first "special" byte:
 *   both:    a bare LF; a CR that is the last byte of the chunk (its LF may
 *            follow); the CR of an empty line (LF CR LF) unless a content
 *            byte follows it in this chunk (see below);
 *   relaxed: any TAB; a SP followed by WSP, CR or LF, or last in the chunk;
 *            a CR not followed by LF (data, handled one byte at a time).
 * Single SPs between words and CRLF after content stay inside the run, so a
 * typical text body is one run per chunk (given to the sink in slices). An
 * empty line only needs holding back when it may be trailing (DKIM-CANON-03,
 * -04, -10); one followed by a byte that starts a non-empty line (not CR or
 * LF; in relaxed mode not WSP either, since a WSP-only line is empty there,
 * DKIM-CANON-09) is not, so paragraph breaks stay inside the run too. */

/* Scanning state within one chunk: the last 64-byte window that held
 * candidates, and their bits, so that the runs between close specials
 * (short lines, double spaces) do not recompute it. */
struct scan {
	bool relaxed;
	enum canon_scan impl;
	const uint8_t *end;
	const uint8_t *win;      /* NULL: none yet */
	uint64_t bits;           /* candidate lanes of win[0..64), lane 0 = bit 0 */
	const uint64_t *emitted; /* the canon_body's: what the sink has had */
	bool paused;             /* run_end stopped at the end of a slice */
};

/* The vector scanners and the byte tests are in canon_scan.c and .h. */
static const uint8_t *skip_windows(const struct scan *sc, const uint8_t *p, size_t n,
				   uint64_t *bits)
{
	return canon_scan_skip(sc->impl, sc->relaxed, p, n, sc->end, bits);
}

/* The first special byte flagged by the lanes of m (block at p), or NULL. */
static inline const uint8_t *first_special(bool relaxed, v16m m, const uint8_t *p,
					   const uint8_t *end)
{
	const uint8_t *q;
	for (unsigned bits = lane_bits(m); bits != 0; bits &= bits - 1)
		if ((q = special_pair(relaxed, p + __builtin_ctz(bits), end)) != NULL)
			return q;
	return NULL;
}

static inline const uint8_t *first_special64(const struct scan *sc, const uint8_t *p, uint64_t bits)
{
	const uint8_t *q;
	for (; bits != 0; bits &= bits - 1)
		if ((q = special_pair(sc->relaxed, p + __builtin_ctzll(bits), sc->end)) != NULL)
			return q;
	return NULL;
}

/* Scans a run on from p (every lane before p is clear) to its first special
 * byte, or the end of the chunk, or the end of the slice that starts at from
 * (see run_end). */
static inline __attribute__((always_inline)) const uint8_t *scan_on(struct scan *sc,
								    const uint8_t *p,
								    const uint8_t *from)
{
	const uint8_t *q, *end = sc->end;
	bool relaxed = sc->relaxed;
	for (;;) {
		/* Windows that fit (each reads p[64]), and those left in the slice. */
		size_t n = (size_t)(end - p - 1) / 64, done = (size_t)(p - from);
		size_t left = done >= CANON_SLICE ? 0 : (CANON_SLICE - done + 63) / 64;
		uint64_t bits;
		p = skip_windows(sc, p, left < n ? left : n, &bits);
		if (bits != 0) {
			sc->win = p;
			sc->bits = bits;
			if ((q = first_special64(sc, p, bits)) != NULL)
				return q;
			p += 64;
			continue;
		}
		if (left < n) {
			sc->paused = true;
			return p - ((*sc->emitted + (uint64_t)(p - from)) & 63);
		}
		break;
	}
	/* The last 64 bytes or less: blocks read p[-1..16]. */
	for (; end - p > 16; p += 16)
		if ((q = first_special(relaxed, candidates(relaxed, p), p, end)) != NULL)
			return q;
	for (; p < end && !special_at(relaxed, p, end); p++)
		;
	return p;
}

/* Where the run that starts at s (an ordinary byte) ends: at its first
 * special byte, or at the end of the chunk. A long run goes to the sink in
 * slices while it is scanned: the scan stops once it is CANON_SLICE bytes
 * past s, or past from for run_resume (where the bytes not yet given to the
 * sink start), and returns a point up to 63 bytes back with sc->paused set;
 * every byte before it is in the run, and the caller hands them to the sink
 * and calls run_resume from that point (the lanes of the windows scanned so
 * far are clear, so the scan can go on from anywhere in them as if it never
 * stopped). Why: SHA-256 reads each slice from the cache, and the hardware
 * prefetcher, following the hash along the chunk, brings in the bytes the
 * scan reads next: a body that is not in the cache makes the scan wait for
 * memory far less than when the whole chunk is scanned before any of it is
 * hashed (bench/signet-bench, 10 MiB, relaxed: 0.90 -> 0.92 of SHA-256's
 * speed). The point is where the sink has had a multiple of 64 bytes, so
 * that SHA-256 hashes every slice in whole blocks straight from the chunk. */
static const uint8_t *run_end(struct scan *sc, const uint8_t *s)
{
	const uint8_t *p = s + 1, *q, *end = sc->end;
	sc->paused = false;
	/* A lane covers its byte and the next, so the first byte after s,
	 * which no lane scanned here covers, is checked on its own. */
	if (p == end || special_at(sc->relaxed, p, end))
		return p;
	if (sc->win != NULL && p > sc->win && p < sc->win + 64) {
		if ((q = first_special64(sc, p, sc->bits >> (p - sc->win))) != NULL)
			return q;
		p = sc->win + 64;
	}
	return scan_on(sc, p, s);
}

static __attribute__((noinline)) const uint8_t *run_resume(struct scan *sc, const uint8_t *from)
{
	sc->paused = false;
	return scan_on(sc, from, from);
}

/* ---- Body state machine ---- */

void canon_body_init(struct canon_body *cb, enum signet_canon c, uint64_t limit, canon_sink sink,
		     void *ctx)
{
	cb->c = c;
	cb->limit = limit;
	cb->emitted = 0;
	cb->total = 0;
	cb->sink = sink;
	cb->ctx = ctx;
	cb->empty_lines = 0;
	cb->pending_wsp = false;
	cb->cr_pending = false;
	cb->line_has_data = false;
	cb->finished = false;
	cb->failed = SIGNET_OK;
	cb->outlen = 0;
	cb->scan = canon_scan_best();
}

bool canon_body_set_scan(struct canon_body *cb, enum canon_scan s)
{
	if (!canon_scan_available(s))
		return false;
	cb->scan = s;
	return true;
}

/* A CR ended the previous chunk: it was a line end if this chunk starts with
 * LF, else data (DKIM-CANON-05, -06). Returns bytes consumed (0 or 1). */
static enum signet_status resolve_cr(struct canon_body *cb, const uint8_t *p, size_t *used)
{
	static const uint8_t cr = CR;
	cb->cr_pending = false;
	*used = 0;
	if (*p == LF) {
		*used = 1;
		return line_end(cb);
	}
	return content_byte(cb, &cr);
}

/* One step at p (< end) outside a run; returns bytes consumed. */
static enum signet_status step(struct canon_body *cb, struct scan *sc, const uint8_t *p,
			       size_t *used)
{
	const uint8_t *end = sc->end;
	*used = 1;
	if (*p == CR) {
		if (p + 1 == end) {
			cb->cr_pending = true; /* decided by the next chunk or final */
			return SIGNET_OK;
		}
		if (p[1] != LF)
			return content_byte(cb, p); /* DKIM-CANON-05: a bare CR is data */
		*used = 2;
		return line_end(cb);
	}
	if (*p == LF)
		return line_end(cb); /* DKIM-CANON-05: bare LF ends a line as CRLF */
	if (sc->relaxed && is_wsp(*p)) {
		/* DKIM-CANON-04: the whole run is one SP, if content follows. */
		while (p + *used < end && is_wsp(p[*used]))
			(*used)++;
		cb->pending_wsp = true;
		return SIGNET_OK;
	}
	SIGNET_TRY(open_line(cb));
	const uint8_t *from = p, *q = run_end(sc, p);
	while (sc->paused) {
		SIGNET_TRY(emit(cb, from, (size_t)(q - from)));
		from = q;
		q = run_resume(sc, from);
	}
	SIGNET_TRY(emit(cb, from, (size_t)(q - from)));
	cb->line_has_data = q[-1] != LF;
	*used = (size_t)(q - p);
	return SIGNET_OK;
}

enum signet_status canon_body_update(struct canon_body *cb, const uint8_t *p, size_t len)
{
	if (cb->failed != SIGNET_OK)
		return cb->failed;
	if (cb->finished)
		return SIGNET_ERR_STATE;
	if (len == 0)
		return SIGNET_OK;
	struct scan sc = {
		cb->c == SIGNET_CANON_RELAXED, cb->scan, p + len, NULL, 0, &cb->emitted, false};
	size_t used;
	if (cb->cr_pending) {
		SIGNET_TRY(resolve_cr(cb, p, &used));
		p += used;
	}
	while (p < sc.end) {
		SIGNET_TRY(step(cb, &sc, p, &used));
		p += used;
	}
	return SIGNET_OK;
}

enum signet_status canon_body_final(struct canon_body *cb)
{
	static const uint8_t cr = CR;
	if (cb->failed != SIGNET_OK)
		return cb->failed;
	if (cb->finished)
		return SIGNET_ERR_STATE;
	cb->finished = true;
	if (cb->cr_pending) {
		cb->cr_pending = false;
		SIGNET_TRY(content_byte(cb, &cr)); /* a CR as the last byte is data */
	}
	/* The last line, if unterminated, is a line like the others: relaxed
	 * drops its trailing WSP (as Mail::DKIM does), and a line left empty
	 * adds nothing. Pending empty lines are trailing: dropped. */
	cb->pending_wsp = false;
	cb->empty_lines = 0;
	if (cb->line_has_data) {
		/* DKIM-CANON-07: add the missing final CRLF. */
		cb->line_has_data = false;
		SIGNET_TRY(emit(cb, crlf_block, 2));
	} else if (cb->c == SIGNET_CANON_SIMPLE && cb->total == 0) {
		/* DKIM-CANON-03 (RFC 6376 3.4.3): an empty body is one CRLF. */
		SIGNET_TRY(emit(cb, crlf_block, 2));
	}
	return flush(cb);
}
