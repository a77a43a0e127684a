/* canon_scan.h: the byte tests and vector scanners of the canonicalizer's
 * body fast path (canon.c). Internal to libsignet. The tests are inline here
 * because the scanners (canon_scan.c, the one file with platform #ifs) and
 * the state machine (canon.c) both run them per byte. */
#ifndef SIGNET_CANON_SCAN_H
#define SIGNET_CANON_SCAN_H

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "buf.h"
#include "canon.h"

#define CR '\r'
#define LF '\n'

/* Does next2 (-1: past the chunk) start a line that is not empty whatever
 * follows? Then the empty line before it is not trailing (DKIM-CANON-10). */
static inline bool content_follows(bool relaxed, int next2)
{
	return next2 >= 0 && next2 != CR && next2 != LF && !(relaxed && is_wsp((uint8_t)next2));
}

/* Is q special? prev = q[-1] (always inside the run); next = q[1] and
 * next2 = q[2], or -1 past the end of the chunk. */
static inline bool special_relaxed(uint8_t prev, uint8_t c, int next, int next2)
{
	switch (c) {
	case '\t': return true;
	case ' ': return next < 0 || next == ' ' || next == '\t' || next == CR || next == LF;
	case CR: return next != LF || (prev == LF && !content_follows(true, next2));
	case LF: return prev != CR;
	default: return false;
	}
}

static inline bool special_simple(uint8_t prev, uint8_t c, int next, int next2)
{
	if (c == CR)
		return next < 0 || (next == LF && prev == LF && !content_follows(false, next2));
	return c == LF && prev != CR;
}

static inline bool special_at(bool relaxed, const uint8_t *q, const uint8_t *end)
{
	int next = q + 1 < end ? q[1] : -1, next2 = q + 2 < end ? q[2] : -1;
	return relaxed ? special_relaxed(q[-1], *q, next, next2)
		       : special_simple(q[-1], *q, next, next2);
}

/* The commonest candidate lane in text by far: a paragraph break, an empty
 * line that content follows in this chunk (DKIM-CANON-10). Its lane is that
 * of the empty line's CR: q[0..2] = CR, LF, a byte that starts a non-empty
 * line. Neither byte of the lane is special, which these bytes alone show.
 * The CRLF is compared as one word: most candidates are no paragraph break,
 * and a test per byte would mispredict on them. */
static inline bool paragraph_break(bool relaxed, const uint8_t *q, const uint8_t *end)
{
	static const uint8_t crlf[2] = {CR, LF};
	uint16_t w, want;
	if (end - q <= 2)
		return false;
	memcpy(&w, q, sizeof w);
	memcpy(&want, crlf, sizeof want);
	return w == want && content_follows(relaxed, q[2]);
}

/* For a candidate lane at q: q or q + 1 if special (in that order), else
 * NULL. q + 1 < end holds for every lane of a block. */
static inline const uint8_t *special_pair(bool relaxed, const uint8_t *q, const uint8_t *end)
{
	if (paragraph_break(relaxed, q, end))
		return NULL;
	if (special_at(relaxed, q, end))
		return q;
	if (special_at(relaxed, q + 1, end))
		return q + 1;
	return NULL;
}

/* The lanes of bits (a window at p) from the first that is not a paragraph
 * break on: the scanners call it before they stop at a window, so that plain
 * text, whose only candidates are its paragraph breaks, is scanned without a
 * stop. It stops at the first other lane, which needs special_pair() anyway:
 * a window full of candidates costs one test more, not one per lane. */
static inline uint64_t drop_paragraphs(bool relaxed, const uint8_t *p, const uint8_t *end,
				       uint64_t bits)
{
	while (bits != 0 && paragraph_break(relaxed, p + __builtin_ctzll(bits), end))
		bits &= bits - 1;
	return bits;
}

/* ---- Vector scanners: where is the next candidate? ----
 *
 * A candidate is a lane k (bytes k and k + 1 of a block) that may hold a
 * special byte; special_pair() decides. A special byte at q always makes
 * lane q or lane q - 1 a candidate. The lanes come from the block and its
 * copies shifted by one byte each way, so that a CR and an LF are matched
 * as a pair: a lone CR, or a byte before a bare LF. Plus the CR of an empty
 * line (LF before it), and in relaxed mode any TAB and a SP before a byte
 * <= SP. Plain text (words, single spaces, CRLF) has no candidates but its
 * paragraph breaks, which drop_paragraphs() clears without stopping. (A
 * cheaper test, "two bytes <= SP, the first no CR", also flags the LF of
 * every line that starts with WSP: with AVX2 it scanned plain text 15 %
 * faster and indented text 40 % slower, so it is not used.)
 *
 * Three implementations, chosen per canon_body (canon_body_set_scan; the
 * unit tests and the fuzzer run each one against the reference):
 *   generic: GCC vector extensions in 16-byte blocks, any architecture
 *            (NEON on arm64, plain integer code where there is no SIMD); it
 *            also scans the last 64 bytes of a chunk for the others;
 *   sse2:    x86-64 baseline intrinsics;
 *   avx2:    32-byte blocks, two 64-byte windows per test, if the CPU has
 *            AVX2 (checked at run time): twice the speed of the others.
 * Each has a skip function that scans at most n 64-byte windows from p and
 * returns the first one that holds a candidate (not a paragraph break), its
 * lanes in *bits (lane 0 = bit 0); or, with *bits = 0, p + 64 * n. A window
 * reads p[-1..64] (p[64] is the next byte of lane 63), so p - 1 and p + 64
 * must be inside the chunk. */

typedef uint8_t v16u __attribute__((vector_size(16)));
typedef int8_t v16m __attribute__((vector_size(16)));
typedef uint64_t v2w __attribute__((vector_size(16)));

static inline v16u load16(const uint8_t *p)
{
	v16u v;
	memcpy(&v, p, sizeof v);
	return v;
}

/* Candidate lanes of the 16-byte block at p (0xFF per lane). Reads p[-1..16]. */
static inline v16m candidates(bool relaxed, const uint8_t *p)
{
	v16u x = load16(p), xn = load16(p + 1), xp = load16(p - 1);
	v16u cr = (v16u)(x == CR);
	v16u m = (cr ^ (v16u)(xn == LF)) | (cr & (v16u)(xp == LF));
	if (!relaxed)
		return (v16m)m;
	v16u sp = (v16u)(x == ' ');
	return (v16m)(m | (v16u)(x == '\t') | (sp & (v16u)(xn <= ' ')));
}

/* Nonzero if any lane of m is set (element access keeps it in registers). */
static inline uint64_t any_lane(v16m m)
{
	v2w v = (v2w)m;
	return v[0] | v[1];
}

/* The 16 lanes of m as bits, lane 0 in bit 0 (a portable movemask: the
 * multiply gathers the top bit of each byte into the top byte). */
static inline unsigned lane_bits(v16m m)
{
	v2w v = (v2w)m;
	uint64_t lo = v[0], hi = v[1];
	if (__BYTE_ORDER__ == __ORDER_BIG_ENDIAN__) {
		lo = __builtin_bswap64(lo);
		hi = __builtin_bswap64(hi);
	}
	const uint64_t top = 0x8080808080808080ULL, gather = 0x0002040810204081ULL;
	unsigned bits_lo = (unsigned)(((lo & top) * gather) >> 56);
	unsigned bits_hi = (unsigned)(((hi & top) * gather) >> 56);
	return bits_lo | bits_hi << 8;
}

/* Scans at most n 64-byte windows from p with scanner impl (see above);
 * p - 1 and p + 64 * n must be inside the chunk that ends at end. */
const uint8_t *canon_scan_skip(enum canon_scan impl, bool relaxed, const uint8_t *p, size_t n,
			       const uint8_t *end, uint64_t *bits);

/* The fastest scanner this build and CPU have. */
enum canon_scan canon_scan_best(void);

/* Whether scanner s exists in this build and runs on this CPU. */
bool canon_scan_available(enum canon_scan s);

#endif
