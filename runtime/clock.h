/*
 * clock.h - a cheap timestamp for latency figures.
 *
 * jt_clock_ticks reads the TSC on x86-64 (invariant on every machine this
 * project targets; about 20 cycles, no system call) and CLOCK_MONOTONIC
 * nanoseconds elsewhere. Ticks become nanoseconds through a calibration
 * taken at runtime creation and refined on every conversion: no start-up
 * delay, and the ratio sharpens as the runtime ages.
 */
#ifndef JT_CLOCK_H
#define JT_CLOCK_H

#include <stdint.h>

#include "atomics/parking.h"
#if defined(__x86_64__)
#include <x86intrin.h>
#endif

static inline uint64_t jt_clock_ticks(void)
{
#if defined(__x86_64__)
	return __rdtsc();
#else
	return jt_monotonic_ns();
#endif
}

struct jt_clock_calib {
	uint64_t ticks0;
	uint64_t ns0;
};

/* jt_clock_calib_init: record the reference pair. */
void jt_clock_calib_init(struct jt_clock_calib *c);

/*
 * jt_clock_ticks_per_ns: ticks per nanosecond measured since the reference
 * pair (1.0 without a TSC). Any thread; reads the clocks, never waits.
 */
double jt_clock_ticks_per_ns(const struct jt_clock_calib *c);

#endif /* JT_CLOCK_H */
