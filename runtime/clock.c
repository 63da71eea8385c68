/*
 * clock.c - tick calibration.
 */
#include "runtime/clock.h"

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

	/* Never waits: right after creation the interval is short and the
	 * ratio rough (both clocks tick in nanoseconds or faster, so even a
	 * few microseconds give it to within a percent or so). */
	if (ns <= c->ns0 || ticks <= c->ticks0)
		return 1.0;
	return (double)(ticks - c->ticks0) / (double)(ns - c->ns0);
#else
	(void)c;
	return 1.0;
#endif
}
