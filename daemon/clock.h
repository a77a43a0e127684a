/* clock.h: monotonic time for durations and expiry (log lines, metrics,
 * DNS TTLs, lookup timings). Never the wall clock: it may jump (NTP, an
 * administrator), and a duration must not go negative or leap. */
#ifndef SIGNETD_CLOCK_H
#define SIGNETD_CLOCK_H

#include <stdint.h>
#include <time.h>

/* Microseconds since an arbitrary fixed point (CLOCK_MONOTONIC). */
static inline uint64_t clock_us(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (uint64_t)t.tv_sec * 1000000u + (uint64_t)t.tv_nsec / 1000u;
}

static inline uint64_t clock_ms(void)
{
	return clock_us() / 1000u;
}

/* Microseconds from t0 (a clock_us() value) to now. */
static inline uint64_t clock_us_since(uint64_t t0)
{
	uint64_t now = clock_us();
	return now > t0 ? now - t0 : 0;
}

/* Milliseconds from t0 (a clock_us() value) to now, for log lines. */
static inline unsigned clock_ms_since(uint64_t t0)
{
	uint64_t ms = clock_us_since(t0) / 1000u;
	return ms > UINT32_MAX ? UINT32_MAX : (unsigned)ms;
}

#endif
