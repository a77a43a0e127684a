/* canon.c: DKIM canonicalization (RFC 6376 3.4) of header fields and of the
 * body, one implementation for signing and verifying. The body is a streaming
 * state machine in O(1) memory with a fast path for runs of bytes that come
 * out unchanged. It does no hashing itself: canonical bytes go to a sink. */
#include <string.h>

#include "canon.h"
#include "error.h"

#define CR '\r'
#define LF '\n'

/* Runs at least this long go to the sink straight from the caller's chunk
 * (after flushing out[]); shorter ones are batched in out[]. */
#define CANON_DIRECT_MIN 256

/* 64 CRLF pairs: pending empty lines are emitted from here, 64 at a time. */
static const uint8_t crlf_block[] = "\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n"
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

/* Length of a line break (CRLF or bare LF) followed by WSP at k, or 0:
 * exactly what RFC 5322 unfolding deletes (3.4.2, DKIM-CANON-05). */
static size_t fold_at(struct signet_span v, size_t k)
{
	size_t n = 0;
	if (v.p[k] == CR && k + 1 < v.len && v.p[k + 1] == LF)
		n = 2;
	else if (v.p[k] == LF)
		n = 1;
	if (n == 0 || k + n >= v.len || !is_wsp(v.p[k + n]))
		return 0;
	return n;
}

/* Appends the relaxed value: unfolded, WSP runs as one SP, no WSP at either
 * end. Bytes other than WSP and folds are copied in runs. */
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
		size_t from = k;
		/* A line break not followed by WSP is not a fold: not valid inside
		 * a field, kept as CRLF (a bare LF becomes CRLF, DKIM-CANON-05). */
		size_t brk = v.p[k] == LF ? 1 : (v.p[k] == CR && k + 1 < v.len && v.p[k + 1] == LF) ? 2 : 0;
		if (brk > 0) {
			SIGNET_TRY(buf_append(out, "\r\n", 2));
			k += brk;
			continue;
		}
		k++;
		while (k < v.len && !is_wsp(v.p[k]) && v.p[k] != CR && v.p[k] != LF)
			k++;
		SIGNET_TRY(buf_append(out, v.p + from, k - from));
	}
	return SIGNET_OK;
}

/* DKIM-CANON-02, -12, -13 (RFC 6376 3.4.2): name lowercased (ASCII only)
 * and trimmed of the WSP before the colon; value relaxed; then CRLF. */
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
static enum signet_status emit(struct canon_body *cb, const uint8_t *p, size_t n)
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

/* Content is about to follow on the current line: the empty lines held back
 * were not trailing after all (DKIM-CANON-10), and in relaxed mode the WSP
 * run before this content becomes one SP (3.4.4). */
static enum signet_status open_line(struct canon_body *cb)
{
	while (cb->empty_lines > 0) {
		uint64_t n = cb->empty_lines < CRLF_BLOCK_PAIRS ? cb->empty_lines : CRLF_BLOCK_PAIRS;
		cb->empty_lines -= n;
		SIGNET_TRY(emit(cb, crlf_block, (size_t)n * 2));
	}
	if (cb->pending_wsp) {
		cb->pending_wsp = false;
		SIGNET_TRY(emit(cb, (const uint8_t *)" ", 1));
	}
	return SIGNET_OK;
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
 *   both:    a bare LF; the CR of an empty line ("\n" before "\r\n");
 *            a CR that is the last byte of the chunk (its LF may follow);
 *   relaxed: any TAB; a SP followed by WSP, CR or LF, or last in the chunk;
 *            a CR not followed by LF (data, handled one byte at a time).
 * Single SPs between words and CRLF after content stay inside the run, so a
 * typical text body is one run per chunk. */

/* Is q special? prev = q[-1] (always inside the run); next = q[1] or -1 when
 * q is the last byte of the chunk. Returns how many bytes before q the run
 * ends (0 = at q, 1 = at q-1), or -1 if q is not special. */
static int special_relaxed(int prev, uint8_t c, int next)
{
	switch (c) {
	case '\t':
		return 0;
	case ' ':
		return (next < 0 || next == ' ' || next == '\t' || next == CR || next == LF) ? 0 : -1;
	case CR:
		return (next != LF || prev == LF) ? 0 : -1;
	case LF:
		return prev != CR ? 0 : -1;
	default:
		return -1;
	}
}

/* Simple: only line ends matter. q[-2] is read only when q[-1] is a CR,
 * which cannot be the run's first byte, so q - 2 >= run start. */
static int special_simple(const uint8_t *q, int next)
{
	if (*q == CR)
		return next < 0 ? 0 : -1;
	if (*q != LF)
		return -1;
	if (q[-1] != CR)
		return 0;
	return q[-2] == LF ? 1 : -1;
}

typedef uint8_t v16u __attribute__((vector_size(16)));
typedef int8_t v16m __attribute__((vector_size(16)));

static inline v16u load16(const uint8_t *p)
{
	v16u v;
	memcpy(&v, p, sizeof v);
	return v;
}

/* Lane masks (0xFF/0x00 per byte) as two words, lane 0 in the low byte. */
static inline void mask_words(v16m m, uint64_t w[2])
{
	memcpy(w, &m, 16);
	if (__BYTE_ORDER__ == __ORDER_BIG_ENDIAN__) {
		w[0] = __builtin_bswap64(w[0]);
		w[1] = __builtin_bswap64(w[1]);
	}
}

/* Candidate lanes of a 16-byte block at p: a superset of the special bytes,
 * cheap to compute (GCC vector extensions: SSE2 on x86-64, NEON on arm64).
 * Relaxed: a control byte other than SP, or SP before a byte <= SP.
 * Simple: LF. */
static inline v16m candidates(bool relaxed, const uint8_t *p)
{
	v16u x = load16(p);
	if (!relaxed)
		return (v16m)(x == LF);
	v16u xn = load16(p + 1);
	v16u ctl = (v16u)(x <= ' ');
	v16u sp = (v16u)(x == ' ');
	return (v16m)((ctl & ~sp) | (sp & (v16u)(xn <= ' ')));
}

static int special_at(bool relaxed, const uint8_t *q, const uint8_t *end)
{
	int next = q + 1 < end ? q[1] : -1;
	return relaxed ? special_relaxed(q[-1], *q, next) : special_simple(q, next);
}

/* First special byte after the run start s (s itself is ordinary), or end. */
static const uint8_t *run_end(bool relaxed, const uint8_t *s, const uint8_t *end)
{
	const uint8_t *p = s + 1;
	/* Blocks read p[0..16]: p[16] is the next byte of lane 15. */
	while (end - p > 16) {
		uint64_t w[2];
		mask_words(candidates(relaxed, p), w);
		for (int h = 0; h < 2; h++) {
			while (w[h] != 0) {
				int lane = __builtin_ctzll(w[h]) / 8;
				const uint8_t *q = p + h * 8 + lane;
				int back = special_at(relaxed, q, end);
				if (back >= 0)
					return q - back;
				w[h] &= ~((uint64_t)0xFF << (lane * 8));
			}
		}
		p += 16;
	}
	for (; p < end; p++) {
		int back = special_at(relaxed, p, end);
		if (back >= 0)
			return p - back;
	}
	return end;
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
static enum signet_status step(struct canon_body *cb, const uint8_t *p, const uint8_t *end,
			       size_t *used)
{
	bool relaxed = cb->c == SIGNET_CANON_RELAXED;
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
	if (relaxed && is_wsp(*p)) {
		cb->pending_wsp = true; /* DKIM-CANON-04: emitted as one SP if content follows */
		return SIGNET_OK;
	}
	const uint8_t *q = run_end(relaxed, p, end);
	SIGNET_TRY(open_line(cb));
	SIGNET_TRY(emit(cb, p, (size_t)(q - p)));
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
	const uint8_t *end = p + len;
	size_t used;
	if (cb->cr_pending) {
		SIGNET_TRY(resolve_cr(cb, p, &used));
		p += used;
	}
	while (p < end) {
		SIGNET_TRY(step(cb, p, end, &used));
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
