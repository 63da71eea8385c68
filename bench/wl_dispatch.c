/*
 * wl_dispatch.c - dispatcher saturation: how many txns per second ONE
 * dispatcher retires (the target: >= 25 M one-job txns/s here).
 *
 * The dispatcher runs alone on one CPU: `dispatch` pins the runtime's
 * dispatcher thread (impl->dispatcher_thread), `dispatch-poll` a bench
 * thread that calls impl->rt_poll on a poll-mode runtime. The bench thread,
 * which builds and completes, and every other thread of the process run on
 * the other CPU (cpu_pin.c). A batch is DISPATCH_BATCH_JOBS jobs in txns of
 * G armed jobs (at least 2 txns), built and committed before the timing; the
 * bench thread then completes them in txn order, and the batches alternate
 * between two phases:
 *
 *   full    the first txn's done (on the dispatcher) spins until the bench
 *           thread has completed every job of the batch: the rest of the
 *           batch is then in the dispatcher's queue, and the bench thread is
 *           idle. Timed on the dispatcher, from that release to the batch's
 *           last txn done; counted, the txns retired after the release. In
 *           poll mode the poller waits for the same point, then polls. This
 *           is the dispatcher's rate alone (ops_per_s).
 *   stream  no spin: the dispatcher retires while the bench thread is still
 *           completing. Timed from the bench thread's first completion to
 *           the batch's last txn done (the wake of the sleeping dispatcher
 *           included): the rate of completer and dispatcher together, the
 *           slower of the two and what their shared lines cost
 *           (stream_ops_per_s).
 *
 * Also measured in the full phase: the completer alone, from its first
 * completion to its last, while the dispatcher is held in the first done
 * (compl_ops_per_s; the wake of the sleeping dispatcher included). A
 * streaming rate below both the full-queue rate and this one is what the
 * completer and the dispatcher cost each other.
 *
 * Batches repeat, in pairs, until the two phases' timed sum reaches --seconds
 * (building takes longer than either: a run lasts about 2.5 x that). Every
 * callback feeds the checker (verify.c): each txn's done ran exactly once.
 */
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdlib.h>

#include "bench.h"
#include "bench_verify.h"
#include "cpu_pin.h"

#if defined(__x86_64__) || defined(__i386__)
#define cpu_relax() __builtin_ia32_pause()
#else
#define cpu_relax() atomic_signal_fence(memory_order_seq_cst)
#endif

enum phase { PHASE_FULL, PHASE_STREAM };

/*
 * The state of the batch in progress. The bench thread writes the plain
 * fields of the first group before it completes the batch's first job; the
 * completions hand them to the callbacks (a completion's earlier writes are
 * visible to the callbacks it leads to: the contract), or in poll mode the
 * poller's start lock does. The second group is the dispatcher's (callbacks
 * and the poller); the bench thread reads it after drain (threaded) or after
 * an acquire of `retired_gen` (poll mode).
 */
static struct dispatch_state {
	uint64_t batch_txns;
	unsigned gen; /* the batch: 1, 2, ... */
	enum phase phase;
	bool spin_in_done;              /* threaded full phase: the first done waits */
	_Atomic unsigned completed_gen; /* gen, once every job of the batch completed */

	uint64_t retired, retired_at_release;
	uint64_t t_release_ns, t_end_ns;
	_Atomic unsigned retired_gen; /* gen, once the batch's last txn done ran */
} ds;

/* Until the bench thread has completed every job of the current batch. */
static void wait_completed(void)
{
	unsigned spins = 0;

	/* acquire: pairs with the bench thread's release store */
	while (atomic_load_explicit(&ds.completed_gen, memory_order_acquire) != ds.gen)
		if (++spins % 4096 == 0)
			sched_yield(); /* only one usable CPU: let the bench thread run */
		else
			cpu_relax();
}

static void dispatch_txn_done(void *opaque, int status)
{
	chk_txn_done(opaque, status);
	if (ds.retired++ == 0 && ds.spin_in_done) {
		wait_completed();
		ds.t_release_ns = bench_now_ns();
		ds.retired_at_release = 1;
	}
	if (ds.retired == ds.batch_txns) {
		ds.t_end_ns = bench_now_ns();
		/* release: t_end_ns and the rest before retired_gen; pairs with
		 * the bench thread's acquire (poll mode) */
		atomic_store_explicit(&ds.retired_gen, ds.gen, memory_order_release);
	}
}

/* ---- dispatch-poll: the poller thread ---------------------------------- */

struct poller {
	const struct bench_impl *impl;
	void *rt;
	pthread_t tid;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	unsigned gen;                 /* under lock: the batch to retire */
	bool quit;                    /* under lock */
	_Atomic unsigned polling_gen; /* gen, once the poller started on it */
};

static void *poller_main(void *arg)
{
	struct poller *pl = arg;
	unsigned seen = 0;

	for (;;) {
		bool quit;

		pthread_mutex_lock(&pl->lock);
		while (pl->gen == seen && !pl->quit)
			pthread_cond_wait(&pl->cond, &pl->lock);
		quit = pl->quit;
		seen = pl->gen;
		pthread_mutex_unlock(&pl->lock);
		if (quit)
			return NULL;
		atomic_store_explicit(&pl->polling_gen, seen, memory_order_relaxed);
		if (ds.phase == PHASE_FULL) {
			wait_completed();
			ds.t_release_ns = bench_now_ns();
			ds.retired_at_release = 0;
		}
		/* acquire: the batch's callbacks ran (on this thread anyway) */
		while (atomic_load_explicit(&ds.retired_gen, memory_order_acquire) != seen)
			BENCH_CHECK(pl->impl->rt_poll(pl->rt));
	}
}

static void poller_start(struct poller *pl, const struct bench_impl *impl, void *rt,
                         const struct bench_pin *pin)
{
	*pl = (struct poller){.impl = impl, .rt = rt};
	pthread_mutex_init(&pl->lock, NULL);
	pthread_cond_init(&pl->cond, NULL);
	BENCH_CHECK(-pthread_create(&pl->tid, NULL, poller_main, pl));
	pthread_setname_np(pl->tid, "jtb-poller");
	pin_thread(pin, pl->tid);
}

/* Hands batch `gen` to the poller; returns once it is on it. */
static void poller_go(struct poller *pl, unsigned gen)
{
	pthread_mutex_lock(&pl->lock);
	pl->gen = gen;
	pthread_cond_signal(&pl->cond);
	pthread_mutex_unlock(&pl->lock);
	while (atomic_load_explicit(&pl->polling_gen, memory_order_relaxed) != gen)
		sched_yield();
}

static void poller_stop(struct poller *pl)
{
	pthread_mutex_lock(&pl->lock);
	pl->quit = true;
	pthread_cond_signal(&pl->cond);
	pthread_mutex_unlock(&pl->lock);
	pthread_join(pl->tid, NULL);
	pthread_cond_destroy(&pl->cond);
	pthread_mutex_destroy(&pl->lock);
}

/* ---- the workload -------------------------------------------------------- */

/* Poll mode: until the poller retired batch `gen` (a hang ends the process). */
static void wait_retired(const struct bench_impl *impl, void *rt, const struct wl_params *p,
                         unsigned gen)
{
	uint64_t t0 = bench_now_ns();
	unsigned spins = 0;

	while (atomic_load_explicit(&ds.retired_gen, memory_order_acquire) != gen) {
		sched_yield();
		if (++spins % 4096 == 0 && bench_now_ns() - t0 > DRAIN_TIMEOUT_NS)
			hang(impl, rt, p, "the poller did not retire the batch in 30 s");
	}
}

static void dispatch_run(const struct bench_impl *impl, const struct wl_params *p, bool poll,
                         struct run_result *out)
{
	const unsigned G = p->group;
	const uint64_t B = DISPATCH_BATCH_JOBS / G >= 2 ? DISPATCH_BATCH_JOBS / G : 2;
	const uint64_t timed_ns = (uint64_t)(p->seconds * 1e9);
	void **jobs = malloc(B * G * sizeof(void *));
	uint64_t full_ns = 0, stream_ns = 0, compl_ns = 0, id = 0;
	uint64_t full_jobs = 0, stream_jobs = 0, compl_jobs = 0;
	struct expect e = {0};
	struct poller pl;
	struct bench_pin pin;
	void *rt;

	if (!jobs)
		bench_fatal(__FILE__, __LINE__, "malloc", -ENOMEM);
	pin_begin(&pin, p->pin);
	rt = create_rt(impl, poll, 0, 0);
	if (poll)
		poller_start(&pl, impl, rt, &pin);
	else
		pin_dispatcher(&pin, impl->dispatcher_thread);
	chk_reset(G);
	ds = (struct dispatch_state){.batch_txns = B};
	tls_no_callbacks = true;
	for (unsigned gen = 1; full_ns + stream_ns < timed_ns || gen % 2 == 0; gen++) {
		const enum phase ph = gen % 2 ? PHASE_FULL : PHASE_STREAM;
		uint64_t t0, t1;

		for (uint64_t k = 0; k < B; k++, id++) {
			void *txn;

			BENCH_CHECK(impl->txn_begin(rt, &txn));
			for (unsigned g = 0; g < G; g++) {
				BENCH_CHECK(impl->txn_add(txn, &chk_ops, (void *)(uintptr_t)id,
				                          &jobs[k * G + g]));
				BENCH_CHECK(impl->job_arm(jobs[k * G + g]));
			}
			BENCH_CHECK(
			        impl->txn_commit(txn, dispatch_txn_done, (void *)(uintptr_t)id));
			expect_add(&e, id, G);
		}
		ds.gen = gen;
		ds.phase = ph;
		ds.spin_in_done = ph == PHASE_FULL && !poll;
		ds.retired = 0;
		if (poll)
			poller_go(&pl, gen);
		t0 = bench_now_ns();
		for (uint64_t j = 0; j < B * G; j++)
			BENCH_CHECK(impl->job_complete(jobs[j], 0));
		t1 = bench_now_ns();
		/* release: every completion before it; pairs with wait_completed */
		atomic_store_explicit(&ds.completed_gen, gen, memory_order_release);
		if (poll)
			wait_retired(impl, rt, p, gen);
		else
			drain(impl, rt, p);
		if (ph == PHASE_FULL) {
			full_ns += ds.t_end_ns - ds.t_release_ns;
			full_jobs += (B - ds.retired_at_release) * G;
			compl_ns += t1 - t0;
			compl_jobs += B * G;
		} else {
			stream_ns += ds.t_end_ns - t0;
			stream_jobs += B * G;
		}
	}
	if (poll)
		poller_stop(&pl);
	drain(impl, rt, p); /* nothing left: the poller retired every batch */
	out->ops = full_jobs;
	out->elapsed_ns = full_ns;
	out->stream_ops_per_s = (double)stream_jobs * 1e9 / (double)stream_ns;
	out->compl_ops_per_s = (double)compl_jobs * 1e9 / (double)compl_ns;
	free(jobs);
	finish(impl, rt, out, p, &e);
	pin_end(&pin);
}

void wl_dispatch(const struct bench_impl *impl, const struct wl_params *p, struct run_result *out)
{
	dispatch_run(impl, p, false, out);
}

void wl_dispatch_poll(const struct bench_impl *impl, const struct wl_params *p,
                      struct run_result *out)
{
	dispatch_run(impl, p, true, out);
}
