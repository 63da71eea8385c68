/*
 * wl_growth.c - cost growth with the group size G and with the number of
 * txns in flight, and jobtxn's memory per txn and per member.
 *
 * One thread, poll mode. A round builds inflight_jobs / G txns of G armed
 * jobs each and commits them all (with the default 2^20 jobs, 1,048,576 txns
 * of one job are in flight at once), then completes every job, then polls
 * once, which retires them all. Timed: whole rounds, until --seconds; ns/job
 * should stay flat from G = 1 to G = 65536 if nothing scans all txns or all
 * members.
 *
 * Memory (jobtxn only, untimed, once per run): a poll-mode runtime with a
 * counting allocator (malloc underneath) holds MEM_JOBS jobs in txns of G,
 * committed and armed; live bytes after building, less live bytes before,
 * divided by the txns (bytes per txn, its members included) and by the jobs
 * (bytes per member). Every internal allocation goes through the allocator.
 */
#include <errno.h>
#include <stdatomic.h>
#include <stdlib.h>

#include "bench.h"
#include "bench_verify.h"

#define MEM_JOBS (1u << 16)

static atomic_size_t mem_live; /* bytes the counting allocator handed out, not freed */

static void *count_alloc(void *ctx, size_t size)
{
	void *p = malloc(size);

	(void)ctx;
	if (p)
		atomic_fetch_add_explicit(&mem_live, size, memory_order_relaxed);
	return p;
}

static void count_free(void *ctx, void *p, size_t size)
{
	(void)ctx;
	atomic_fetch_sub_explicit(&mem_live, size, memory_order_relaxed);
	free(p);
}

static void measure_memory(unsigned G, struct run_result *out)
{
	static const struct jt_allocator counting = {.alloc = count_alloc, .free = count_free};
	const size_t txns = MEM_JOBS / G > 0 ? MEM_JOBS / G : 1;
	struct jt_runtime_opts o;
	jt_job **jobs = malloc(txns * G * sizeof(*jobs));
	jt_runtime *rt;
	size_t before, n = 0;

	if (!jobs)
		bench_fatal(__FILE__, __LINE__, "malloc", -ENOMEM);
	jt_runtime_opts_init(&o);
	o.flags = JT_RUNTIME_POLL;
	o.allocator = &counting;
	BENCH_CHECK(jt_runtime_create(&o, &rt));
	before = atomic_load_explicit(&mem_live, memory_order_relaxed);
	for (size_t k = 0; k < txns; k++) {
		jt_txn *t;

		BENCH_CHECK(jt_txn_begin(rt, 0, &t));
		for (unsigned g = 0; g < G; g++) {
			BENCH_CHECK(jt_txn_add(t, NULL, NULL, &jobs[n]));
			BENCH_CHECK(jt_job_arm(jobs[n++]));
		}
		BENCH_CHECK(jt_txn_commit(t, NULL, NULL));
	}
	out->mem_bytes_per_txn =
	        (double)(atomic_load_explicit(&mem_live, memory_order_relaxed) - before) /
	        (double)txns;
	for (size_t i = 0; i < n; i++)
		BENCH_CHECK(jt_job_complete(jobs[i], 0));
	BENCH_CHECK(jt_runtime_drain(rt, DRAIN_TIMEOUT_NS));
	BENCH_CHECK(jt_runtime_destroy(rt));
	free(jobs);
}

void wl_growth(const struct bench_impl *impl, const struct wl_params *p, struct run_result *out)
{
	const unsigned G = p->group;
	const size_t txns = p->inflight_jobs / G > 0 ? p->inflight_jobs / G : 1;
	void **jobs = malloc(txns * G * sizeof(void *));
	struct expect e = {0};
	uint64_t id = 0;
	void *rt = create_rt(impl, true, 0, 0);

	if (!jobs)
		bench_fatal(__FILE__, __LINE__, "malloc", -ENOMEM);
	chk_reset(G);
	do {
		uint64_t t0 = bench_now_ns();
		size_t n = 0;

		for (size_t k = 0; k < txns; k++, id++) {
			void *txn;

			BENCH_CHECK(impl->txn_begin(rt, &txn));
			for (unsigned g = 0; g < G; g++) {
				BENCH_CHECK(impl->txn_add(txn, &chk_ops, (void *)(uintptr_t)id,
				                          &jobs[n]));
				BENCH_CHECK(impl->job_arm(jobs[n++]));
			}
			BENCH_CHECK(impl->txn_commit(txn, chk_txn_done, (void *)(uintptr_t)id));
			expect_add(&e, id, G);
		}
		for (size_t i = 0; i < n; i++)
			BENCH_CHECK(impl->job_complete(jobs[i], 0));
		BENCH_CHECK(impl->rt_poll(rt));
		out->elapsed_ns += bench_now_ns() - t0;
		out->ops += n;
	} while (out->elapsed_ns < (uint64_t)(p->seconds * 1e9));
	drain(impl, rt, p);
	free(jobs);
	out->txns_inflight = txns;
	finish(impl, rt, out, p, &e);
	if (impl == &bench_impl_jobtxn)
		measure_memory(G, out);
}
