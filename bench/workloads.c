/*
 * workloads.c - fanin, pool, build, idle; each run verifies what it ran
 * (verify.c).
 */
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bench.h"
#include "bench_verify.h"

#define FANIN_BATCH_JOBS (1u << 17) /* jobs built per batch, outside the timed section */

/* ---- fanin --------------------------------------------------------------
 * The builder (this thread) builds a batch of committed txns, each job armed,
 * and deals the jobs round-robin to T completer threads (the jobs of one
 * txn land on different threads, so they hit its countdown concurrently).
 * Timed: from releasing the completers (all waiting, spinning) to drain
 * returning, i.e. every completion and every callback. Building is outside
 * the timed section. Batches repeat until the timed sum reaches --seconds.
 */

struct fanin_ctx {
	const struct bench_impl *impl;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	unsigned gen; /* under lock: the batch on offer */
	bool quit;    /* under lock */
	atomic_uint checked_in, finished, go;
};

struct fanin_thread {
	struct fanin_ctx *ctx;
	pthread_t tid;
	void **jobs;
	size_t n;
};

static void *fanin_completer(void *arg)
{
	struct fanin_thread *th = arg;
	struct fanin_ctx *c = th->ctx;
	unsigned seen = 0;

	tls_no_callbacks = true;
	for (;;) {
		bool quit;

		pthread_mutex_lock(&c->lock);
		while (c->gen == seen && !c->quit)
			pthread_cond_wait(&c->cond, &c->lock);
		quit = c->quit;
		seen = c->gen;
		pthread_mutex_unlock(&c->lock);
		if (quit)
			return NULL;
		atomic_fetch_add(&c->checked_in, 1);
		while (atomic_load_explicit(&c->go, memory_order_acquire) != seen)
			sched_yield();
		for (size_t i = 0; i < th->n; i++)
			BENCH_CHECK(c->impl->job_complete(th->jobs[i], 0));
		atomic_fetch_add_explicit(&c->finished, 1, memory_order_release);
	}
}

void wl_fanin(const struct bench_impl *impl, const struct wl_params *p, struct run_result *out)
{
	const unsigned T = p->threads, G = p->group;
	const size_t batch_txns = G >= FANIN_BATCH_JOBS ? 1 : FANIN_BATCH_JOBS / G;
	struct fanin_ctx c = {.impl = impl};
	struct fanin_thread *th = calloc(T, sizeof(*th));
	struct expect e = {0};
	uint64_t id = 0;
	unsigned gen = 0, next = 0;
	void *rt;

	if (!th)
		bench_fatal(__FILE__, __LINE__, "calloc", -ENOMEM);
	pthread_mutex_init(&c.lock, NULL);
	pthread_cond_init(&c.cond, NULL);
	rt = create_rt(impl, false, 0, 0);
	chk_reset(G);
	tls_no_callbacks = true;
	for (unsigned t = 0; t < T; t++) {
		char name[24]; /* the kernel keeps 15 characters */

		th[t].ctx = &c;
		th[t].jobs = malloc((batch_txns * G / T + 1) * sizeof(void *));
		if (!th[t].jobs)
			bench_fatal(__FILE__, __LINE__, "malloc", -ENOMEM);
		BENCH_CHECK(-pthread_create(&th[t].tid, NULL, fanin_completer, &th[t]));
		snprintf(name, sizeof(name), "jtb-compl-%u", t);
		pthread_setname_np(th[t].tid, name);
	}
	do {
		uint64_t t0, t1;

		for (unsigned t = 0; t < T; t++)
			th[t].n = 0;
		for (size_t k = 0; k < batch_txns; k++, id++) {
			void *txn, *job;

			BENCH_CHECK(impl->txn_begin(rt, &txn));
			for (unsigned g = 0; g < G; g++) {
				BENCH_CHECK(
				        impl->txn_add(txn, &chk_ops, (void *)(uintptr_t)id, &job));
				BENCH_CHECK(impl->job_arm(job));
				th[next].jobs[th[next].n++] = job;
				next = next + 1 == T ? 0 : next + 1;
			}
			BENCH_CHECK(impl->txn_commit(txn, chk_txn_done, (void *)(uintptr_t)id));
			expect_add(&e, id, G);
		}
		atomic_store(&c.checked_in, 0);
		atomic_store(&c.finished, 0);
		pthread_mutex_lock(&c.lock);
		c.gen = ++gen;
		pthread_cond_broadcast(&c.cond);
		pthread_mutex_unlock(&c.lock);
		while (atomic_load(&c.checked_in) != T)
			sched_yield();
		t0 = bench_now_ns();
		atomic_store_explicit(&c.go, gen, memory_order_release);
		drain(impl, rt, p);
		t1 = bench_now_ns();
		while (atomic_load_explicit(&c.finished, memory_order_acquire) != T)
			sched_yield();
		out->elapsed_ns += t1 - t0;
		out->ops += batch_txns * G;
	} while (out->elapsed_ns < (uint64_t)(p->seconds * 1e9));

	pthread_mutex_lock(&c.lock);
	c.quit = true;
	pthread_cond_broadcast(&c.cond);
	pthread_mutex_unlock(&c.lock);
	for (unsigned t = 0; t < T; t++) {
		pthread_join(th[t].tid, NULL);
		free(th[t].jobs);
	}
	free(th);
	pthread_cond_destroy(&c.cond);
	pthread_mutex_destroy(&c.lock);
	finish(impl, rt, out, p, &e);
}

/* ---- pool ---------------------------------------------------------------
 * jobtxn only: trivial jobs (fn returns 0) on the built-in pool, `workers`
 * = T, G jobs per txn, max_inflight bounds the builder. Timed: the whole
 * pipeline, from the first begin to drain returning.
 */

static int pool_fn(jt_job *j, void *arg)
{
	(void)j;
	(void)arg;
	return 0;
}

void wl_pool(const struct bench_impl *impl, const struct wl_params *p, struct run_result *out)
{
	const unsigned G = p->group;
	struct expect e = {0};
	uint64_t id = 0, t0, deadline;
	void *rt;

	if (impl->pool) {
		impl->pool(p, out);
		return;
	}
	rt = create_rt(impl, false, p->threads, POOL_MAX_INFLIGHT);
	chk_reset(G);
	tls_no_callbacks = true;
	t0 = bench_now_ns();
	deadline = t0 + (uint64_t)(p->seconds * 1e9);
	do {
		void *txn, *job;

		BENCH_CHECK(impl->txn_begin(rt, &txn));
		for (unsigned g = 0; g < G; g++) {
			BENCH_CHECK(impl->txn_add(txn, &chk_ops, (void *)(uintptr_t)id, &job));
			BENCH_CHECK(jt_job_submit(job, pool_fn, NULL));
		}
		BENCH_CHECK(impl->txn_commit(txn, chk_txn_done, (void *)(uintptr_t)id));
		expect_add(&e, id++, G);
	} while (bench_now_ns() < deadline);
	drain(impl, rt, p);
	out->elapsed_ns = bench_now_ns() - t0;
	out->ops = e.txns * G;
	finish(impl, rt, out, p, &e);
}

/* ---- build --------------------------------------------------------------
 * One thread, poll mode, per txn: begin, G x (add, arm), commit, G x
 * complete, poll to retire it (its callbacks run here). Timed: all of it,
 * up to the final drain.
 */

void wl_build(const struct bench_impl *impl, const struct wl_params *p, struct run_result *out)
{
	const unsigned G = p->group;
	const unsigned per_clock = G >= 64 ? 1 : 64 / G; /* txns between clock reads */
	void **jobs = malloc(G * sizeof(void *));
	struct expect e = {0};
	uint64_t id = 0, t0, deadline;
	void *rt = create_rt(impl, true, 0, 0);

	if (!jobs)
		bench_fatal(__FILE__, __LINE__, "malloc", -ENOMEM);
	chk_reset(G);
	t0 = bench_now_ns();
	deadline = t0 + (uint64_t)(p->seconds * 1e9);
	do {
		for (unsigned k = 0; k < per_clock; k++, id++) {
			void *txn;

			BENCH_CHECK(impl->txn_begin(rt, &txn));
			for (unsigned g = 0; g < G; g++) {
				BENCH_CHECK(impl->txn_add(txn, &chk_ops, (void *)(uintptr_t)id,
				                          &jobs[g]));
				BENCH_CHECK(impl->job_arm(jobs[g]));
			}
			BENCH_CHECK(impl->txn_commit(txn, chk_txn_done, (void *)(uintptr_t)id));
			for (unsigned g = 0; g < G; g++)
				BENCH_CHECK(impl->job_complete(jobs[g], 0));
			BENCH_CHECK(impl->rt_poll(rt));
			expect_add(&e, id, G);
		}
	} while (bench_now_ns() < deadline);
	drain(impl, rt, p);
	out->elapsed_ns = bench_now_ns() - t0;
	out->ops = e.txns * G;
	free(jobs);
	finish(impl, rt, out, p, &e);
}

/* ---- idle ---------------------------------------------------------------
 * A threaded runtime (jobtxn: T workers too) with nothing to do. One txn
 * retires first, so the dispatcher has been awake; after a 10 ms settle (its
 * spin is one wake-up's cost, tens of us) the bench sleeps --seconds between two reads of the
 * process CPU clock: CPU ms per wall second, every thread of the process
 * (bench threads sleep).
 */

static uint64_t cpu_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

void wl_idle(const struct bench_impl *impl, const struct wl_params *p, struct run_result *out)
{
	const struct timespec settle = {.tv_sec = 0, .tv_nsec = 10000000};
	struct timespec nap;
	struct expect e = {0};
	void *rt = create_rt(impl, false, impl == &bench_impl_jobtxn ? p->threads : 0, 0);
	void *txn, *job;
	uint64_t cpu0, w0;

	chk_reset(1);
	tls_no_callbacks = true;
	BENCH_CHECK(impl->txn_begin(rt, &txn));
	BENCH_CHECK(impl->txn_add(txn, &chk_ops, (void *)(uintptr_t)0, &job));
	BENCH_CHECK(impl->job_arm(job));
	BENCH_CHECK(impl->txn_commit(txn, chk_txn_done, (void *)(uintptr_t)0));
	expect_add(&e, 0, 1);
	BENCH_CHECK(impl->job_complete(job, 0));
	drain(impl, rt, p);
	nanosleep(&settle, NULL);
	nap.tv_sec = (time_t)p->seconds;
	nap.tv_nsec = (long)((p->seconds - (double)nap.tv_sec) * 1e9);
	cpu0 = cpu_now_ns();
	w0 = bench_now_ns();
	while (nanosleep(&nap, &nap) != 0)
		;
	out->elapsed_ns = bench_now_ns() - w0;
	out->cpu_ms_per_s = (double)(cpu_now_ns() - cpu0) / 1e6 / ((double)out->elapsed_ns / 1e9);
	finish(impl, rt, out, p, &e);
	out->ops_per_s = 0; /* not a throughput */
}
