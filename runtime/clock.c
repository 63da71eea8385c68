/*
 * clock.c - tick calibration.
 */
#include "runtime/clock.h"

#include <time.h>

void jt_clock_calib_init(struct jt_clock_calib *c)
{
	c->ns0 = jt_monotonic_ns();
	c->ticks0 = jt_clock_ticks();
}

double jt_clock_ticks_per_ns(const struct jt_clock_calib *c)
{
#if defined(__x86_64__)
	uint64_t ns = jt_monotonic_ns();
	uint64_t ticks = jt_clock_ticks();

	if (ns - c->ns0 < 1000000) {
		/* Too young for a precise ratio: measure over 1 ms now. */
		struct timespec ms = {0, 1000000};

		nanosleep(&ms, NULL);
		ns = jt_monotonic_ns();
		ticks = jt_clock_ticks();
	}
	return (double)(ticks - c->ticks0) / (double)(ns - c->ns0);
#else
	(void)c;
	return 1.0;
#endif
}
