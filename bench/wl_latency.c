/*
 * wl_latency.c - hand-off latency after idle: the last completion of a txn
 * to its first member done, with the dispatcher asleep.
 *
 * Threaded runtime, one txn of one armed job at a time. After commit the
 * bench sleeps BENCH_LAT_GAP_NS (the dispatcher has nothing to do and, past its
 * spin, sleeps), then takes t0 and completes the job; the member's done
 * takes t1 on the dispatcher. Sample = t1 - t0, CLOCK_MONOTONIC both. The
 * bench then waits for the done with sched_yield (the completer moves on).
 *
 * The floor, in the same run: after each sample, the same gap, then the
 * bench takes t0 and wakes, with one FUTEX_WAKE, a bare thread asleep in
 * FUTEX_WAIT, which takes t1 as it returns; the bench waits for it the same
 * way. That is the least any hand-off to a sleeping thread costs on this
 * machine: the target is jobtxn within 10 % of it at p50 and 25 % at p99.
 * Both sleepers, the dispatcher and the floor's thread, are pinned to one
 * CPU, the bench thread (and the runtime's other threads) to another
 * (cpu_pin.c): every wake crosses CPUs, as the floor does. (Left
 * unpinned, --no-pin, the scheduler may wake either sleeper on the bench's
 * CPU, as it yields, or on the other: not the same hand-off for both.)
 *
 * A second floor, the unpinned one, in the same run: a second bare
 * sleeper, on every CPU the process may use whatever the pinning, sampled
 * after the same gap. It is the floor of a hand-off the scheduler places
 * (the wakee may run on the waker's CPU, or on an idle one that leaves a
 * shallow sleep), which is what a --no-pin run of the runtime gets; the
 * pinned floor is the cross-CPU deep-idle wake.
 */
#include <errno.h>
#include <linux/futex.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "bench.h"
#include "bench_verify.h"
#include "cpu_pin.h"

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

/* ---- the futex floor ---------------------------------------------------- */

#define PING_QUIT UINT32_MAX

struct ping {
	pthread_t tid;
	_Atomic uint32_t word;             /* futex word: the sample asked for, or PING_QUIT */
	_Atomic uint64_t done_id, done_ns; /* the sample the sleeper woke for, and when */
};

static long futex(_Atomic uint32_t *word, int op, uint32_t val)
{
	return syscall(SYS_futex, word, op, val, NULL, NULL, 0);
}

static void *ping_sleeper(void *arg)
{
	struct ping *pg = arg;
	uint32_t seen = 0;

	for (;;) {
		/* acquire: pairs with the bench's release store of the word */
		uint32_t w = atomic_load_explicit(&pg->word, memory_order_acquire);
		uint64_t now = bench_now_ns();

		if (w == seen) {
			futex(&pg->word, FUTEX_WAIT_PRIVATE, seen);
			continue;
		}
		if (w == PING_QUIT)
			return NULL;
		seen = w;
		atomic_store_explicit(&pg->done_ns, now, memory_order_relaxed);
		/* release: done_ns before done_id; pairs with the bench's acquire */
		atomic_store_explicit(&pg->done_id, w, memory_order_release);
	}
}

/* One floor sample: wake the sleeper for sample `id`, wait for it. */
static uint64_t ping_sample(struct ping *pg, uint32_t id, const struct bench_impl *impl, void *rt,
                            const struct wl_params *p)
{
	uint64_t t0 = bench_now_ns();
	unsigned spins = 0;

	atomic_store_explicit(&pg->word, id, memory_order_release);
	futex(&pg->word, FUTEX_WAKE_PRIVATE, 1);
	while (atomic_load_explicit(&pg->done_id, memory_order_acquire) != id) {
		sched_yield();
		if (++spins % 4096 == 0 && bench_now_ns() - t0 > DRAIN_TIMEOUT_NS)
			hang(impl, rt, p, "the futex floor's sleeper never woke (30 s)");
	}
	return atomic_load_explicit(&pg->done_ns, memory_order_relaxed) - t0;
}

/* ---- the workload -------------------------------------------------------- */

static void percentiles(uint64_t *v, size_t n, uint64_t *p50, uint64_t *p99, uint64_t *p999,
                        uint64_t *max)
{
	qsort(v, n, sizeof(*v), cmp_u64);
	*p50 = percentile(v, n, 50, 100);
	*p99 = percentile(v, n, 99, 100);
	*p999 = percentile(v, n, 999, 1000);
	*max = v[n - 1];
}

void wl_latency(const struct bench_impl *impl, const struct wl_params *p, struct run_result *out)
{
	const size_t n = p->samples;
	const struct timespec gap = {.tv_sec = 0, .tv_nsec = BENCH_LAT_GAP_NS};
	uint64_t *samples = malloc(n * sizeof(*samples));
	uint64_t *floor = malloc(n * sizeof(*floor));
	uint64_t *ufloor = malloc(n * sizeof(*ufloor));
	struct ping pg = {.word = 0}, upg = {.word = 0};
	cpu_set_t all;
	struct expect e = {0};
	struct bench_pin pin;
	uint64_t t_start = bench_now_ns();
	void *rt;

	if (!samples || !floor || !ufloor)
		bench_fatal(__FILE__, __LINE__, "malloc", -ENOMEM);
	if (sched_getaffinity(0, sizeof(all), &all) != 0)
		bench_fatal(__FILE__, __LINE__, "sched_getaffinity", -errno);
	pin_begin(&pin, p->pin);
	rt = create_rt(impl, false, 0, 0);
	pin_dispatcher(&pin, impl->dispatcher_thread);
	BENCH_CHECK(-pthread_create(&pg.tid, NULL, ping_sleeper, &pg));
	pthread_setname_np(pg.tid, "jtb-futex-floor");
	pin_thread(&pin, pg.tid);
	BENCH_CHECK(-pthread_create(&upg.tid, NULL, ping_sleeper, &upg));
	pthread_setname_np(upg.tid, "jtb-futex-free");
	BENCH_CHECK(-pthread_setaffinity_np(upg.tid, sizeof(all), &all));
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
		nanosleep(&gap, NULL);
		floor[id] = ping_sample(&pg, (uint32_t)(id + 1), impl, rt, p);
		nanosleep(&gap, NULL);
		ufloor[id] = ping_sample(&upg, (uint32_t)(id + 1), impl, rt, p);
	}
	atomic_store_explicit(&pg.word, PING_QUIT, memory_order_release);
	futex(&pg.word, FUTEX_WAKE_PRIVATE, 1);
	pthread_join(pg.tid, NULL);
	atomic_store_explicit(&upg.word, PING_QUIT, memory_order_release);
	futex(&upg.word, FUTEX_WAKE_PRIVATE, 1);
	pthread_join(upg.tid, NULL);
	drain(impl, rt, p);
	out->elapsed_ns = bench_now_ns() - t_start;
	percentiles(samples, n, &out->lat_p50_ns, &out->lat_p99_ns, &out->lat_p999_ns,
	            &out->lat_max_ns);
	percentiles(floor, n, &out->floor_p50_ns, &out->floor_p99_ns, &out->floor_p999_ns,
	            &out->floor_max_ns);
	percentiles(ufloor, n, &out->ufloor_p50_ns, &out->ufloor_p99_ns, &out->ufloor_p999_ns,
	            &out->ufloor_max_ns);
	free(samples);
	free(floor);
	free(ufloor);
	finish(impl, rt, out, p, &e);
	pin_end(&pin);
}
