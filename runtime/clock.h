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
#include <time.h>

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

/*
 * jt_clock_coarse_ns: CLOCK_MONOTONIC_COARSE in nanoseconds: about 4 ns
 * (half an rdtsc on the development VM) at the resolution of the kernel
 * tick (a few ms). For ages, not latencies: jt_txn_begin's stamp (an rdtsc
 * there made one-thread begin..retire 7 % slower, 7.9 against 8.5 M txns/s
 * in alternating runs, for 23 fewer instructions).
 */
static inline uint64_t jt_clock_coarse_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
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
