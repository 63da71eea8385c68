/*
 * workloads.c - fanin, pool, build, latency; each run verifies what it ran.
 *
 * Verification (every run, both implementations): every member callback and
 * every txn `done` feeds a checker that runs on the callback thread. It
 * checks that each txn's member dones run contiguously and before the txn's
 * done, that every ret and status is 0, that all callbacks run on one thread
 * and never on a bench thread (completer, builder: never inline), and, at
 * the end, that the txn dones ran exactly once per txn (count, sum and sum of
 * squares of the txn ids), as did member dones and destroys. jobtxn runs also
 * check jt_runtime_stats against what was built. The checker's fields are
 * plain: callbacks never run concurrently, and the bench reads them after
 * drain, which orders them.
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

#define DRAIN_TIMEOUT_NS  (30ll * 1000000000)
#define FANIN_BATCH_JOBS  (1u << 17) /* jobs built per batch, outside the timed section */
#define POOL_MAX_INFLIGHT 256        /* bounds the pool builder's lead */

/* ---- verification ---------------------------------------------------- */

struct checker {
	unsigned group;
	uint64_t txns, id_sum, id_sq_sum;
	uint64_t members, destroys;
	uint64_t cur_id;
	unsigned cur_members;
	uint64_t bad_result, bad_order, bad_thread;
	bool cb_thread_set;
	pthread_t cb_thread;
};

/* What the builder issued: txn ids 0..txns-1, summed the same way. */
struct expect {
	uint64_t txns, id_sum, id_sq_sum;
};

static struct checker chk;
static _Thread_local bool tls_no_callbacks; /* a bench thread: callbacks here run inline */

static void chk_reset(unsigned group)
{
	memset(&chk, 0, sizeof(chk));
	chk.group = group;
}

static void expect_add(struct expect *e, uint64_t id)
{
	e->txns++;
	e->id_sum += id;
	e->id_sq_sum += id * id;
}

static void chk_thread(void)
{
	pthread_t self = pthread_self();

	if (tls_no_callbacks)
		chk.bad_thread++;
	if (!chk.cb_thread_set) {
		chk.cb_thread = self;
		chk.cb_thread_set = true;
	} else if (!pthread_equal(chk.cb_thread, self)) {
		chk.bad_thread++;
	}
}

static void chk_member_done(void *opaque, int ret, int status)
{
	uint64_t id = (uintptr_t)opaque;

	chk_thread();
	if (chk.cur_members && chk.cur_id != id)
		chk.bad_order++;
	chk.cur_id = id;
	chk.cur_members++;
	chk.members++;
	if (ret || status)
		chk.bad_result++;
}

static void chk_txn_done(void *opaque, int status)
{
	uint64_t id = (uintptr_t)opaque;

	chk_thread();
	if (chk.cur_members != chk.group || chk.cur_id != id)
		chk.bad_order++;
	chk.cur_members = 0;
	chk.txns++;
	chk.id_sum += id;
	chk.id_sq_sum += id * id;
	if (status)
		chk.bad_result++;
}

static void chk_destroy(void *opaque)
{
	(void)opaque;
	chk_thread();
	chk.destroys++;
}

static const struct jt_member_ops chk_ops = {
        .done = chk_member_done,
        .destroy = chk_destroy,
};

__attribute__((format(printf, 3, 4))) static void
fail(struct run_result *out, const struct wl_params *p, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "jt-bench: %s: ERROR: ", p->tag);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	out->errors++;
}

static void chk_verify(struct run_result *out, const struct wl_params *p, const struct expect *e)
{
	unsigned long long members = (unsigned long long)e->txns * chk.group;

	if (chk.txns != e->txns || chk.id_sum != e->id_sum || chk.id_sq_sum != e->id_sq_sum)
		fail(out, p, "txn done ran %llu times for %llu txns%s",
		     (unsigned long long)chk.txns, (unsigned long long)e->txns,
		     chk.txns == e->txns ? " (id sums differ: some ran twice, some never)" : "");
	if (chk.members != members || chk.destroys != members)
		fail(out, p, "member done ran %llu times, destroy %llu times, for %llu members",
		     (unsigned long long)chk.members, (unsigned long long)chk.destroys, members);
	if (chk.bad_result)
		fail(out, p, "%llu callbacks got a non-zero ret or status",
		     (unsigned long long)chk.bad_result);
	if (chk.bad_order)
		fail(out, p,
		     "%llu callbacks out of order (a txn's member dones not contiguous or "
		     "not all before its done)",
		     (unsigned long long)chk.bad_order);
	if (chk.bad_thread)
		fail(out, p,
		     "%llu callbacks on a wrong thread (inline on a bench thread, or not "
		     "all on one thread)",
		     (unsigned long long)chk.bad_thread);
}

static void stats_verify(const struct bench_impl *impl, void *rt, struct run_result *out,
                         const struct wl_params *p, uint64_t txns, uint64_t jobs)
{
	struct jt_stats *s = &out->stats;

	if (!impl->rt_stats)
		return;
	impl->rt_stats(rt, s);
	out->has_stats = true;
	if (s->txns_begun != txns || s->txns_committed != txns || s->txns_retired != txns ||
	    s->jobs_armed != jobs || s->jobs_completed != jobs || s->txns_failed ||
	    s->jobs_failed || s->cancels_requested || s->misuse)
		fail(out, p,
		     "jt_runtime_stats after drain: txns begun %llu committed %llu retired %llu "
		     "(built %llu), jobs armed %llu completed %llu (built %llu), failed txns %llu "
		     "jobs %llu, cancels %llu, misuse %llu",
		     (unsigned long long)s->txns_begun, (unsigned long long)s->txns_committed,
		     (unsigned long long)s->txns_retired, (unsigned long long)txns,
		     (unsigned long long)s->jobs_armed, (unsigned long long)s->jobs_completed,
		     (unsigned long long)jobs, (unsigned long long)s->txns_failed,
		     (unsigned long long)s->jobs_failed, (unsigned long long)s->cancels_requested,
		     (unsigned long long)s->misuse);
}

/* ---- hangs: a txn that never retires ends the process ---------------- */

static int print_stuck(const struct jt_txn_info *i, void *arg)
{
	unsigned *left = arg;

	fprintf(stderr,
	        "  live txn id %llu state %d members %zu jobs_pending %zu status %d age %llu ns\n",
	        (unsigned long long)i->id, i->state, i->members, i->jobs_pending, i->status,
	        (unsigned long long)i->age_ns);
	return --*left == 0;
}

_Noreturn static void hang(const struct bench_impl *impl, void *rt, const struct wl_params *p,
                           const char *what)
{
	unsigned left = 8;

	fprintf(stderr, "jt-bench: %s: ERROR: %s\n", p->tag, what);
	if (impl == &bench_impl_jobtxn)
		jt_runtime_foreach_txn(rt, print_stuck, &left);
	fflush(stdout);
	_exit(3);
}

static void drain(const struct bench_impl *impl, void *rt, const struct wl_params *p)
{
	int rc = impl->rt_drain(rt, DRAIN_TIMEOUT_NS);

	if (rc == -ETIMEDOUT)
		hang(impl, rt, p, "drain timed out after 30 s: a committed txn never retired");
	BENCH_CHECK(rc);
}

static void *create_rt(const struct bench_impl *impl, bool poll, unsigned workers,
                       size_t max_inflight)
{
	struct bench_rt_opts o = {.poll = poll, .workers = workers, .max_inflight = max_inflight};
	void *rt;

	BENCH_CHECK(impl->rt_create(&o, &rt));
	return rt;
}

static void finish(const struct bench_impl *impl, void *rt, struct run_result *out,
                   const struct wl_params *p, const struct expect *e)
{
	chk_verify(out, p, e);
	stats_verify(impl, rt, out, p, e->txns, e->txns * p->group);
	BENCH_CHECK(impl->rt_destroy(rt));
	tls_no_callbacks = false;
	out->txns = e->txns;
	if (out->elapsed_ns && out->ops)
		out->ops_per_s = (double)out->ops * 1e9 / (double)out->elapsed_ns;
}

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
			expect_add(&e, id);
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
	void *rt = create_rt(impl, false, p->threads, POOL_MAX_INFLIGHT);

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
		expect_add(&e, id++);
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
			expect_add(&e, id);
		}
	} while (bench_now_ns() < deadline);
	drain(impl, rt, p);
	out->elapsed_ns = bench_now_ns() - t0;
	out->ops = e.txns * G;
	free(jobs);
	finish(impl, rt, out, p, &e);
}

/* ---- latency ------------------------------------------------------------
 * Threaded runtime, one txn of one armed job at a time. After commit the
 * bench sleeps BENCH_LAT_GAP_NS (the dispatcher has nothing to do and, past its
 * spin, sleeps), then takes t0 and completes the job; the member's done
 * takes t1 on the dispatcher. Sample = t1 - t0, CLOCK_MONOTONIC both. The
 * bench then waits for the done with sched_yield (the completer moves on).
 */

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
		expect_add(&e, id);
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
