/*
 * latency_histogram.h - log-linear histogram of durations in ticks.
 *
 * One writer (the dispatcher) records; any thread reads quantiles. Buckets
 * are exact below 16 ticks, then 8 sub-buckets per power of two (12.5%
 * resolution). Counters are atomics written with relaxed load + store
 * (single writer, no read-modify-write) and read relaxed: a reader sees
 * each counter whole, not all of them at one instant.
 */
#ifndef JT_LATENCY_HISTOGRAM_H
#define JT_LATENCY_HISTOGRAM_H

#include <stdint.h>

#include "atomics/atomic_ops.h"

#define JT_HIST_BUCKETS 512

struct jt_latency_histogram {
	_Atomic uint64_t count[JT_HIST_BUCKETS];
	_Atomic uint64_t max;
};

void jt_latency_histogram_init(struct jt_latency_histogram *h);

/*
 * The bucket of v, without a branch: with e the top bit of v | 8 (e >= 3),
 * v >> (e - 3) is v itself below 16, else 8 plus v's three bits after the
 * top one, and each power of two from 16 on starts 8 buckets later.
 */
static inline unsigned jt_latency_histogram_bucket(uint64_t v)
{
	unsigned e = 63u - (unsigned)__builtin_clzll(v | 8u);

	return ((e - 3u) << 3) + (unsigned)(v >> (e - 3u));
}

/* jt_latency_histogram_record: the single writer adds one sample (inline:
 * the dispatcher records every retirement). */
static inline void jt_latency_histogram_record(struct jt_latency_histogram *h, uint64_t ticks)
{
	unsigned b = jt_latency_histogram_bucket(ticks);

	/* Single writer: relaxed load + store, no RMW needed. */
	jt_store_relaxed(&h->count[b], jt_load_relaxed(&h->count[b]) + 1);
	if (ticks > jt_load_relaxed(&h->max))
		jt_store_relaxed(&h->max, ticks);
}

/*
 * jt_latency_histogram_quantile: the sample at quantile q (0 < q <= 1), as
 * the upper bound of its bucket (never above max); 0 when empty.
 */
uint64_t jt_latency_histogram_quantile(const struct jt_latency_histogram *h, double q);

/* jt_latency_histogram_max: the largest sample recorded. */
uint64_t jt_latency_histogram_max(const struct jt_latency_histogram *h);

#endif /* JT_LATENCY_HISTOGRAM_H */
