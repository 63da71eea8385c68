/*
 * latency_histogram.c - bucket arithmetic.
 */
#include "runtime/latency_histogram.h"

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
