/* canon_scan.c: the vector scanners of the body fast path (canon_scan.h says
 * what they find): a portable one and, on x86-64, SSE2 and AVX2 (chosen at run
 * time). The one file of libsignet with platform #ifs (STYLE.md 9). */
#include "canon_scan.h"

#if defined(__x86_64__) && defined(__GNUC__)
#define CANON_X86 1
#include <immintrin.h>
#else
#define CANON_X86 0
#endif

static inline __attribute__((always_inline)) const uint8_t *skip_generic(bool relaxed,
									 const uint8_t *p, size_t n,
									 const uint8_t *end,
									 uint64_t *bits)
{
	for (; n > 0; n--, p += 64) {
		v16m m0 = candidates(relaxed, p), m1 = candidates(relaxed, p + 16);
		v16m m2 = candidates(relaxed, p + 32), m3 = candidates(relaxed, p + 48);
		if (any_lane(m0 | m1 | m2 | m3) == 0)
			continue;
		*bits = lane_bits(m0) | (uint64_t)lane_bits(m1) << 16 |
			(uint64_t)lane_bits(m2) << 32 | (uint64_t)lane_bits(m3) << 48;
		if ((*bits = drop_paragraphs(relaxed, p, end, *bits)) != 0)
			return p;
	}
	*bits = 0;
	return p;
}

#if CANON_X86
/* The x86 scanners compute the complement of the candidate lanes, in the
 * top bit of each byte only (the other bits are noise): set = no candidate.
 * That polarity saves operations: a lone CR or LF is where (x == CR) and
 * (next == LF) differ, so one compare of the two masks gives it, clear; and
 * adding 0x5F with saturation sets the top bit exactly for the bytes > SP,
 * one operation for "next <= SP" where an unsigned compare takes two. */
static inline __attribute__((always_inline)) __m128i clear_sse2(bool relaxed, const uint8_t *p)
{
	__m128i x = _mm_loadu_si128((const __m128i *)p);
	__m128i xn = _mm_loadu_si128((const __m128i *)(p + 1));
	__m128i xp = _mm_loadu_si128((const __m128i *)(p - 1));
	__m128i cr = _mm_cmpeq_epi8(x, _mm_set1_epi8(CR));
	__m128i paired = _mm_cmpeq_epi8(cr, _mm_cmpeq_epi8(xn, _mm_set1_epi8(LF)));
	__m128i bad = _mm_and_si128(cr, _mm_cmpeq_epi8(xp, _mm_set1_epi8(LF)));
	if (relaxed) {
		__m128i big = _mm_adds_epu8(xn, _mm_set1_epi8(0x7F - ' '));
		__m128i sp = _mm_andnot_si128(big, _mm_cmpeq_epi8(x, _mm_set1_epi8(' ')));
		bad = _mm_or_si128(bad, _mm_or_si128(sp, _mm_cmpeq_epi8(x, _mm_set1_epi8('\t'))));
	}
	return _mm_andnot_si128(bad, paired);
}

static inline __attribute__((always_inline)) const uint8_t *skip_sse2(bool relaxed,
								      const uint8_t *p, size_t n,
								      const uint8_t *end,
								      uint64_t *bits)
{
	for (; n > 0; n--, p += 64) {
		__m128i k0 = clear_sse2(relaxed, p), k1 = clear_sse2(relaxed, p + 16);
		__m128i k2 = clear_sse2(relaxed, p + 32), k3 = clear_sse2(relaxed, p + 48);
		__m128i all = _mm_and_si128(_mm_and_si128(k0, k1), _mm_and_si128(k2, k3));
		if (_mm_movemask_epi8(all) == 0xFFFF)
			continue;
		*bits = ~((uint64_t)(uint16_t)_mm_movemask_epi8(k0) |
			  (uint64_t)(uint16_t)_mm_movemask_epi8(k1) << 16 |
			  (uint64_t)(uint16_t)_mm_movemask_epi8(k2) << 32 |
			  (uint64_t)(uint16_t)_mm_movemask_epi8(k3) << 48);
		if ((*bits = drop_paragraphs(relaxed, p, end, *bits)) != 0)
			return p;
	}
	*bits = 0;
	return p;
}

#define AVX2 __attribute__((target("avx2")))

static inline __attribute__((always_inline)) AVX2 __m256i clear_avx2(bool relaxed, const uint8_t *p)
{
	__m256i x = _mm256_loadu_si256((const __m256i *)p);
	__m256i xn = _mm256_loadu_si256((const __m256i *)(p + 1));
	__m256i xp = _mm256_loadu_si256((const __m256i *)(p - 1));
	__m256i cr = _mm256_cmpeq_epi8(x, _mm256_set1_epi8(CR));
	__m256i paired = _mm256_cmpeq_epi8(cr, _mm256_cmpeq_epi8(xn, _mm256_set1_epi8(LF)));
	__m256i bad = _mm256_and_si256(cr, _mm256_cmpeq_epi8(xp, _mm256_set1_epi8(LF)));
	if (relaxed) {
		__m256i big = _mm256_adds_epu8(xn, _mm256_set1_epi8(0x7F - ' '));
		__m256i sp = _mm256_andnot_si256(big, _mm256_cmpeq_epi8(x, _mm256_set1_epi8(' ')));
		bad = _mm256_or_si256(
			bad, _mm256_or_si256(sp, _mm256_cmpeq_epi8(x, _mm256_set1_epi8('\t'))));
	}
	return _mm256_andnot_si256(bad, paired);
}

static inline __attribute__((always_inline)) AVX2 uint64_t bits_avx2(__m256i k0, __m256i k1)
{
	return ~((uint64_t)(uint32_t)_mm256_movemask_epi8(k0) |
		 (uint64_t)(uint32_t)_mm256_movemask_epi8(k1) << 32);
}

/* Two windows per step where there are two: one test for 128 bytes. */
static inline __attribute__((always_inline)) AVX2 const uint8_t *skip_avx2(
	bool relaxed, const uint8_t *p, size_t n, const uint8_t *end, uint64_t *bits)
{
	const __m256i top = _mm256_set1_epi8(-128);
	for (; n >= 2; n -= 2, p += 128) {
		__m256i k0 = clear_avx2(relaxed, p), k1 = clear_avx2(relaxed, p + 32);
		__m256i k2 = clear_avx2(relaxed, p + 64), k3 = clear_avx2(relaxed, p + 96);
		__m256i all = _mm256_and_si256(_mm256_and_si256(k0, k1), _mm256_and_si256(k2, k3));
		if (_mm256_testc_si256(all, top))
			continue; /* every top bit set */
		if ((*bits = drop_paragraphs(relaxed, p, end, bits_avx2(k0, k1))) != 0)
			return p;
		if ((*bits = drop_paragraphs(relaxed, p + 64, end, bits_avx2(k2, k3))) != 0)
			return p + 64;
	}
	if (n == 1) {
		*bits = bits_avx2(clear_avx2(relaxed, p), clear_avx2(relaxed, p + 32));
		if ((*bits = drop_paragraphs(relaxed, p, end, *bits)) != 0)
			return p;
		p += 64;
	}
	*bits = 0;
	return p;
}
#endif

/* One function per scanner and mode, the mode a constant in its loop. */
static const uint8_t *skip_generic_relaxed(const uint8_t *p, size_t n, const uint8_t *end,
					   uint64_t *bits)
{
	return skip_generic(true, p, n, end, bits);
}

static const uint8_t *skip_generic_simple(const uint8_t *p, size_t n, const uint8_t *end,
					  uint64_t *bits)
{
	return skip_generic(false, p, n, end, bits);
}

#if CANON_X86
static const uint8_t *skip_sse2_relaxed(const uint8_t *p, size_t n, const uint8_t *end,
					uint64_t *bits)
{
	return skip_sse2(true, p, n, end, bits);
}

static const uint8_t *skip_sse2_simple(const uint8_t *p, size_t n, const uint8_t *end,
				       uint64_t *bits)
{
	return skip_sse2(false, p, n, end, bits);
}

AVX2 static const uint8_t *skip_avx2_relaxed(const uint8_t *p, size_t n, const uint8_t *end,
					     uint64_t *bits)
{
	return skip_avx2(true, p, n, end, bits);
}

AVX2 static const uint8_t *skip_avx2_simple(const uint8_t *p, size_t n, const uint8_t *end,
					    uint64_t *bits)
{
	return skip_avx2(false, p, n, end, bits);
}
#endif

const uint8_t *canon_scan_skip(enum canon_scan impl, bool relaxed, const uint8_t *p, size_t n,
			       const uint8_t *end, uint64_t *bits)
{
	switch (impl) {
#if CANON_X86
	case CANON_SCAN_AVX2:
		return relaxed ? skip_avx2_relaxed(p, n, end, bits)
			       : skip_avx2_simple(p, n, end, bits);
	case CANON_SCAN_SSE2:
		return relaxed ? skip_sse2_relaxed(p, n, end, bits)
			       : skip_sse2_simple(p, n, end, bits);
#endif
	default:
		return relaxed ? skip_generic_relaxed(p, n, end, bits)
			       : skip_generic_simple(p, n, end, bits);
	}
}

/* The fastest scanner this build and CPU have. */
enum canon_scan canon_scan_best(void)
{
#if CANON_X86
	if (__builtin_cpu_supports("avx2"))
		return CANON_SCAN_AVX2;
	return CANON_SCAN_SSE2;
#else
	return CANON_SCAN_GENERIC;
#endif
}

bool canon_scan_available(enum canon_scan s)
{
	switch (s) {
	case CANON_SCAN_GENERIC: return true;
#if CANON_X86
	case CANON_SCAN_SSE2: return true;
	case CANON_SCAN_AVX2: return __builtin_cpu_supports("avx2");
#endif
	default: return false;
	}
}
