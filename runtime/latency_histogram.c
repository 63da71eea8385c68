/*
 * latency_histogram.c - bucket arithmetic.
 */
#include "runtime/latency_histogram.h"

#include "atomics/atomic_ops.h"

static unsigned bucket_of(uint64_t v)
{
	unsigned e;

	if (v < 16)
		return (unsigned)v;
	e = 63u - (unsigned)__builtin_clzll(v); /* e >= 4 */
	return 16u + (e - 4u) * 8u + (unsigned)((v >> (e - 3u)) & 7u);
}

/* The largest value that falls in bucket b. */
static uint64_t bucket_upper(unsigned b)
{
	unsigned e, sub;

	if (b < 16)
		return b;
	e = (b - 16u) / 8u + 4u;
	sub = (b - 16u) % 8u;
	return ((8ull + sub + 1ull) << (e - 3u)) - 1ull;
}

void jt_latency_histogram_init(struct jt_latency_histogram *h)
{
	for (unsigned i = 0; i < JT_HIST_BUCKETS; i++)
		jt_store_relaxed(&h->count[i], 0);
	jt_store_relaxed(&h->max, 0);
}

void jt_latency_histogram_record(struct jt_latency_histogram *h, uint64_t ticks)
{
	unsigned b = bucket_of(ticks);

	/* Single writer: relaxed load + store, no RMW needed. */
	jt_store_relaxed(&h->count[b], jt_load_relaxed(&h->count[b]) + 1);
	if (ticks > jt_load_relaxed(&h->max))
		jt_store_relaxed(&h->max, ticks);
}

uint64_t jt_latency_histogram_quantile(const struct jt_latency_histogram *h, double q)
{
	uint64_t counts[JT_HIST_BUCKETS];
	uint64_t total = 0, rank, seen = 0;
	uint64_t max = jt_load_relaxed(&h->max);

	for (unsigned i = 0; i < JT_HIST_BUCKETS; i++) {
		counts[i] = jt_load_relaxed(&h->count[i]);
		total += counts[i];
	}
	if (total == 0)
		return 0;
	rank = (uint64_t)(q * (double)total + 0.999999);
	if (rank == 0)
		rank = 1;
	for (unsigned i = 0; i < JT_HIST_BUCKETS; i++) {
		seen += counts[i];
		if (seen >= rank) {
			uint64_t upper = bucket_upper(i);

			return upper < max ? upper : max;
		}
	}
	return max;
}

uint64_t jt_latency_histogram_max(const struct jt_latency_histogram *h)
{
	return jt_load_relaxed(&h->max);
}
