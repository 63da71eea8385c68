/*
 * wl_latency.c - hand-off latency after idle: the last completion of a txn
 * to its first member done, with the dispatcher asleep.
 *
 * Threaded runtime, one txn of one armed job at a time. After commit the
 * bench sleeps BENCH_LAT_GAP_NS (the dispatcher has nothing to do and, past its
 * spin, sleeps), then takes t0 and completes the job; the member's done
 * takes t1 on the dispatcher. Sample = t1 - t0, CLOCK_MONOTONIC both. The
 * bench then waits for the done with sched_yield (the completer moves on).
 */
#include <errno.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <time.h>

#include "bench.h"
#include "bench_verify.h"

static _Atomic uint64_t lat_done_id, lat_done_ns;

static void lat_member_done(void *opaque, int ret, int status)
{
	uint64_t now = bench_now_ns();

	chk_member_done(opaque, ret, status);
	atomic_store_explicit(&lat_done_ns, now, memory_order_relaxed);
	atomic_store_explicit(&lat_done_id, (uintptr_t)opaque + 1, memory_order_release);
}

static const struct jt_member_ops lat_ops = {
        .done = lat_member_done,
        .destroy = chk_destroy,
};

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/* The smallest sample with at least num/den of the samples at or below it. */
static uint64_t percentile(const uint64_t *sorted, size_t n, unsigned num, unsigned den)
{
	size_t i = (n * num + den - 1) / den;

	return sorted[i ? (i > n ? n : i) - 1 : 0];
}

void wl_latency(const struct bench_impl *impl, const struct wl_params *p, struct run_result *out)
{
	const size_t n = p->samples;
	const struct timespec gap = {.tv_sec = 0, .tv_nsec = BENCH_LAT_GAP_NS};
	uint64_t *samples = malloc(n * sizeof(*samples));
	struct expect e = {0};
	uint64_t t_start = bench_now_ns();
	void *rt = create_rt(impl, false, 0, 0);

	if (!samples)
		bench_fatal(__FILE__, __LINE__, "malloc", -ENOMEM);
	chk_reset(1);
	atomic_store(&lat_done_id, 0);
	tls_no_callbacks = true;
	for (uint64_t id = 0; id < n; id++) {
		void *txn, *job;
		uint64_t t0;
		unsigned spins = 0;

		BENCH_CHECK(impl->txn_begin(rt, &txn));
		BENCH_CHECK(impl->txn_add(txn, &lat_ops, (void *)(uintptr_t)id, &job));
		BENCH_CHECK(impl->job_arm(job));
		BENCH_CHECK(impl->txn_commit(txn, chk_txn_done, (void *)(uintptr_t)id));
		expect_add(&e, id, 1);
		nanosleep(&gap, NULL);
		t0 = bench_now_ns();
		BENCH_CHECK(impl->job_complete(job, 0));
		/* Yield, not spin: a spinning completer on the CPU the dispatcher
		 * is woken on delays it by a whole time slice (ms tails). */
		while (atomic_load_explicit(&lat_done_id, memory_order_acquire) != id + 1) {
			sched_yield();
			if (++spins % 4096 == 0 && bench_now_ns() - t0 > DRAIN_TIMEOUT_NS)
				hang(impl, rt, p, "a member done never ran (30 s)");
		}
		samples[id] = atomic_load_explicit(&lat_done_ns, memory_order_relaxed) - t0;
	}
	drain(impl, rt, p);
	out->elapsed_ns = bench_now_ns() - t_start;
	qsort(samples, n, sizeof(*samples), cmp_u64);
	out->lat_p50_ns = percentile(samples, n, 50, 100);
	out->lat_p99_ns = percentile(samples, n, 99, 100);
	out->lat_p999_ns = percentile(samples, n, 999, 1000);
	out->lat_max_ns = samples[n - 1];
	free(samples);
	finish(impl, rt, out, p, &e);
}
