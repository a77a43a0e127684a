/* fuzz.h: what the libFuzzer targets share: a small PRNG seeded from the
 * input (so a crash reproduces from its file alone), chunked feeding, and a
 * check that aborts with a message. Fuzzing code only; not in libsignet. */
#ifndef SIGNET_FUZZ_H
#define SIGNET_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* A failed invariant is a finding: print why and abort, so libFuzzer saves
 * the input as a crash. */
#define FUZZ_CHECK(cond)                                                                           \
	do {                                                                                       \
		if (!(cond)) {                                                                     \
			fprintf(stderr, "%s:%d: invariant failed: %s\n", __FILE__, __LINE__,       \
				#cond);                                                            \
			abort();                                                                   \
		}                                                                                  \
	} while (0)

/* xorshift64*: deterministic chunk sizes from a seed taken from the input. */
struct fuzz_rng {
	uint64_t s;
};

static inline void fuzz_rng_init(struct fuzz_rng *r, const uint8_t *p, size_t n)
{
	uint64_t s = 0x9E3779B97F4A7C15ull;
	for (size_t k = 0; k < n; k++)
		s = (s ^ p[k]) * 0x100000001B3ull;
	r->s = s ? s : 1;
}

static inline uint64_t fuzz_rng_next(struct fuzz_rng *r)
{
	r->s ^= r->s >> 12;
	r->s ^= r->s << 25;
	r->s ^= r->s >> 27;
	return r->s * 0x2545F4914F6CDD1Dull;
}

/* Next chunk length in 1..max (mostly short, sometimes long, so both the
 * byte-at-a-time paths and the bulk paths are reached). */
static inline size_t fuzz_chunk(struct fuzz_rng *r, size_t left)
{
	uint64_t x = fuzz_rng_next(r);
	size_t n;
	switch (x & 3) {
	case 0: n = 1; break;
	case 1: n = 1 + (size_t)((x >> 8) % 8); break;
	case 2: n = 1 + (size_t)((x >> 8) % 300); break;
	default: n = 1 + (size_t)((x >> 8) % 5000); break;
	}
	return n < left ? n : left;
}

/* A growable byte buffer for what a target records (traces, outputs to
 * compare); zero-initialise it, free(b.p) when done. */
struct fuzz_bytes {
	uint8_t *p;
	size_t len, cap;
};

static inline void fuzz_put(struct fuzz_bytes *b, const void *p, size_t n)
{
	if (b->len + n > b->cap) {
		size_t c = (b->cap ? b->cap * 2 : 256) + n;
		uint8_t *nb = realloc(b->p, c);
		FUZZ_CHECK(nb != NULL);
		b->p = nb;
		b->cap = c;
	}
	if (n > 0)
		memcpy(b->p + b->len, p, n);
	b->len += n;
}

/* The first occurrence of needle in p[0..n), or NULL. */
static inline const uint8_t *fuzz_find(const uint8_t *p, size_t n, const char *needle)
{
	size_t m = strlen(needle);
	for (size_t k = 0; m <= n && k <= n - m; k++)
		if (memcmp(p + k, needle, m) == 0)
			return p + k;
	return NULL;
}

/* Bytes the process has allocated now (malloc minus free), from the
 * sanitizer's allocator; 0 when there is none (then bounds on it hold
 * trivially). The one #if of the fuzzers: it wraps the toolchain. */
#if defined(__has_feature)
#if __has_feature(address_sanitizer)
#define FUZZ_HAVE_ALLOCATOR_STATS 1
#endif
#elif defined(__SANITIZE_ADDRESS__)
#define FUZZ_HAVE_ALLOCATOR_STATS 1
#endif
#ifdef FUZZ_HAVE_ALLOCATOR_STATS
#include <sanitizer/allocator_interface.h>
#endif
static inline size_t fuzz_live_bytes(void)
{
#ifdef FUZZ_HAVE_ALLOCATOR_STATS
	return __sanitizer_get_current_allocated_bytes();
#else
	return 0;
#endif
}

#endif
