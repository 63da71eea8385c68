/*
 * worker_pool.c - the built-in workers.
 *
 * Why stealing is safe: an MPSC queue has one consumer at a time, and a
 * worker becomes that consumer by exchanging the queue's `taking` flag to
 * 1 (acquire) and gives it back with a release store after its splice; the
 * next taker, owner or thief, acquires what the last one left (the queue's
 * consumer-side state: its stub link). Producers never look at the flag.
 * The owner's sleep is unaffected: it parks only after its own queue
 * looked empty (the Dekker pair of atomics/parking.h on its own word and
 * queue), and a thief that empties the queue meanwhile only makes that
 * true sooner; a thief never parks on another's word. A chain's rest goes
 * from owner to thief by an exchange on the owner's `rest` slot, whichever
 * of the two exchanges it first (run_chain).
 *
 * The idle protocol (after Go's runtime/proc.go: nmspinning, wakep,
 * resetspinning, and Tokio's idle.rs: num_searching): a worker that finds
 * nothing becomes the searcher if there is none (a compare-and-swap of
 * `searching` from 0 to 1), else it sleeps at once. The searcher passes
 * over every queue and chain, yielding its CPU between passes, for as long
 * as a wake-up costs (jt_wake_cost), then sleeps too. At most one worker
 * spins, however many there are: idle CPU is one core's at most, for one
 * wake-up's time, and no shared line is written by more than one spinner.
 * Who wakes whom:
 *   submitter  after its push, nobody if a worker searches (the searcher
 *              will find the chain); else the worker pushed to if it
 *              sleeps, else one sleeper if any.
 *   searcher   that finds work stops searching, and wakes one sleeper if
 *              more work is visible than it took (so work spreads one
 *              worker at a time while there is more of it).
 *   owner      of a chain whose rest it published: one sleeper, if none
 *              searches (a thief for an item that may block).
 * Why no job waits for ever (every push is taken): a push is followed by a
 * seq_cst load of `searching`. If it saw 0, the target's own park is the
 * Dekker pair of atomics/parking.h, and a running target takes its queue
 * after its chain. If it saw 1, the searcher's store of 0 comes later in
 * the total order, and every path that stores it then loads every queue
 * (seq_cst): parks_on before sleeping, or other_work before waking one
 * more; either sees the push. A sleeper counted in `sleepers` re-checks
 * every queue after it counted itself; a waker that loads its word before
 * it stored ASLEEP is then before its re-check. tests/model/pool.pml
 * checks this protocol.
 */
#include "runtime/worker_pool.h"

#include <errno.h>
#include <stdio.h>

#include "atomics/parking.h"
#include "runtime/thread_start.h"

static _Thread_local unsigned submit_cursor;

/* Take everything queued on `w`, as its consumer of the moment. */
static bool take_queue(struct jt_worker *w, struct jt_mpsc_node **first, struct jt_mpsc_node **last)
{
	bool took;

	/* relaxed: only says whether to try; the splice's loads publish. */
	if (jt_load_relaxed(&w->queue.tail) == &w->queue.stub)
		return false;
	/* acquire: pairs with the release store below of the previous taker,
	 * whose consumer-side writes (the stub's link) this splice reads. */
	if (jt_xchg_acq_rel(&w->taking, 1) != 0)
		return false; /* another worker is taking it right now */
	took = jt_mpsc_splice(&w->queue, first, last);
	jt_store_release(&w->taking, 0);
	return took;
}

/* Own queue first, then the others' in turn from the next one. */
static bool take_any(struct jt_worker *self, struct jt_mpsc_node **first,
                     struct jt_mpsc_node **last)
{
	struct jt_worker_pool *p = self->pool;

	for (unsigned i = 0; i < p->count; i++) {
		if (take_queue(&p->workers[(self->index + i) % p->count], first, last))
			return true;
	}
	return false;
}

/*
 * One pass of the searcher: work is queued anywhere, another's rest stayed
 * in place since the last pass (its owner is in a slow item: I/O, a wait;
 * stealing fast items' rests split their chains between CPUs), or stop.
 * relaxed: hints; a missed one is its owner's to run, and the re-check
 * before sleeping (parks_on) is exact.
 */
static bool worker_has_work(struct jt_worker *w)
{
	struct jt_worker_pool *p = w->pool;

	if (jt_load_relaxed(&w->stop))
		return true;
	for (unsigned i = 0; i < p->count; i++) {
		struct jt_worker *o = &p->workers[i];
		struct jt_mpsc_node *r;

		if (jt_load_relaxed(&o->queue.tail) != &o->queue.stub)
			return true;
		if (o == w || (r = jt_load_relaxed(&o->rest)) == NULL)
			continue;
		if (r == w->seen_rest)
			return true;
		w->seen_rest = r;
	}
	return false;
}

/* Search: pass until work shows, or for as long as a wake-up costs. */
static bool search(struct jt_worker *w)
{
	uint64_t spin = jt_wake_cost_ns(&w->pool->wake_cost);
	uint64_t start = jt_monotonic_ns();

	for (;;) {
		if (worker_has_work(w))
			return true;
		if (jt_monotonic_ns() - start >= spin)
			return false;
		/* Between passes: when threads outnumber CPUs, a searcher
		 * that only paused held the submitter off its CPU for a time
		 * slice (docs/performance.md). */
		sched_yield();
	}
}

/*
 * Work to take: a queue, or a rest but self's. seq_cst loads: the second
 * half of the Dekker pairs of the file comment, after a store to
 * `searching` or `wake`.
 */
static bool other_work(const struct jt_worker *self)
{
	const struct jt_worker_pool *p = self->pool;

	for (unsigned i = 0; i < p->count; i++) {
		const struct jt_worker *o = &p->workers[i];

		/* The tail alone: the head is its consumer's (batch style:
		 * a queue is empty when its tail is the stub). */
		if (jt_load_seq_cst(&o->queue.tail) != &o->queue.stub)
			return true;
		if (o != self && jt_load_seq_cst(&o->rest) != NULL)
			return true;
	}
	return false;
}

/*
 * The re-check of a worker going to sleep: stop, every queue (a push may
 * have left it to a searcher that then gave up) and every other worker's
 * rest (run_chain wakes a sleeper after it publishes one): seq_cst loads,
 * the Dekker pairs of atomics/parking.h and of the file comment.
 */
static bool parks_on(void *arg)
{
	struct jt_worker *w = arg;

	if (jt_load_seq_cst(&w->stop))
		return true;
	return other_work(w);
}

/*
 * Marks the last item of a chain that a worker runs: a thief that took the
 * rest of the chain stops there, and a NULL link still means a producer
 * that has not stored it yet (jt_mpsc_wait_link). Nobody else writes the
 * last node's link once it was spliced: later pushes link to the stub.
 */
#define CHAIN_END ((struct jt_mpsc_node *)1)

/* The item after `n` in a chain that ends with CHAIN_END, or NULL. */
static struct jt_mpsc_node *chain_after(struct jt_mpsc_node *n)
{
	/* Pairs with the release store of the link in the push. */
	struct jt_mpsc_node *next = jt_load_acquire(&n->next);

	if (next == NULL)
		next = jt_mpsc_wait_link(n);
	return next == CHAIN_END ? NULL : next;
}

/* Wake one sleeping worker, from the one after `from` on (a worker that
 * has not stored ASLEEP yet re-checks after; atomics/parking.h). */
__attribute__((noinline)) static void wake_a_sleeper(struct jt_worker_pool *p, unsigned from)
{
	for (unsigned i = 1; i <= p->count; i++) {
		struct jt_worker *o = &p->workers[(from + i) % p->count];

		/* seq_cst: after the caller's publication (push, rest). */
		if (jt_load_seq_cst(&o->wake) == JT_PARK_ASLEEP) {
			jt_unpark_stamped(&o->wake, &o->stamp);
			return;
		}
	}
}

/* A worker becomes the searcher if none is (the cap: one at a time). */
static bool start_search(struct jt_worker_pool *p)
{
	uint32_t none = 0;

	/* relaxed load: most tries fail while one searches, without taking
	 * the line; acq_rel CAS: orders nothing more than the protocol's
	 * seq_cst store of 0 needs (file comment), which ends the search. */
	return jt_load_relaxed(&p->searching) == 0 && jt_cas_acq_rel(&p->searching, &none, 1);
}

/*
 * The searcher found work (and took it): it stops searching and wakes one
 * sleeper to search on if more work is there (seq_cst store then loads:
 * the file comment's Dekker pair).
 */
static void stop_search(struct jt_worker *w)
{
	struct jt_worker_pool *p = w->pool;

	jt_store_seq_cst(&p->searching, 0);
	if (jt_load_seq_cst(&p->sleepers) != 0 && other_work(w))
		wake_a_sleeper(p, w->index);
}

/*
 * Run a chain, first .. its CHAIN_END. Before every JT_STEAL_EVERY-th item
 * (the first included) the rest of the chain waits in `rest` (release)
 * and is taken back (exchange) after that item: an idle worker may take it
 * meanwhile (steal_rest), so an item that blocks (I/O, a wait on another
 * item) holds at most JT_STEAL_EVERY - 1 of the items behind it. An exchange
 * per item cost the pool workload a third of its throughput.
 */
#ifndef JT_STEAL_EVERY
#define JT_STEAL_EVERY 16
#endif
_Static_assert(JT_STEAL_EVERY >= 1, "a rest at least every chain");

static unsigned run_chain(struct jt_worker *w, struct jt_mpsc_node *n)
{
	unsigned ran = 0;

	for (; n != NULL; ran++) {
		struct jt_mpsc_node *next = chain_after(n);

		if (next == NULL || ran % JT_STEAL_EVERY != 0) {
			jt_work_of(n)->run(jt_work_of(n));
			n = next;
			continue;
		}
		/* seq_cst: a thief's exchange acquires the items and links;
		 * and the Dekker pair with a worker going to sleep (parks_on):
		 * either it sees this rest, or we see it asleep and wake it. */
		jt_xchg_seq_cst(&w->rest, next);
		if (jt_load_seq_cst(&w->pool->searching) == 0 &&
		    jt_load_seq_cst(&w->pool->sleepers) != 0)
			wake_a_sleeper(w->pool, w->index);
		jt_work_of(n)->run(jt_work_of(n));
		/* acq_rel: NULL when a thief took the rest; the pair of the
		 * thief's exchange in steal_rest. */
		n = jt_xchg_acq_rel(&w->rest, (struct jt_mpsc_node *)NULL);
	}
	if (w->pool->chain_done != NULL)
		w->pool->chain_done();
	return ran;
}

/* A chain spliced from a queue: mark its end, run it. */
static unsigned run_spliced(struct jt_worker *w, struct jt_mpsc_node *first,
                            struct jt_mpsc_node *last)
{
	/* relaxed: published to a thief by the release store of `rest`. */
	jt_store_relaxed(&last->next, CHAIN_END);
	return run_chain(w, first);
}

/*
 * An idle worker: take the rest of another's chain (see run_chain) once it
 * stayed in place from one look to the next (worker_has_work notes it
 * too), or, `now`, at once (before going to sleep).
 */
static bool steal_rest(struct jt_worker *self, bool now, struct jt_mpsc_node **first)
{
	struct jt_worker_pool *p = self->pool;

	for (unsigned i = 1; i < p->count; i++) {
		struct jt_worker *v = &p->workers[(self->index + i) % p->count];
		/* relaxed: a hint; the exchange decides. */
		struct jt_mpsc_node *r = jt_load_relaxed(&v->rest);

		if (r == NULL)
			continue;
		if (!now && r != self->seen_rest) {
			self->seen_rest = r;
			continue;
		}
		if ((*first = jt_xchg_acq_rel(&v->rest, (struct jt_mpsc_node *)NULL)) != NULL)
			return true;
	}
	return false;
}

/* Sleep (the searcher gives up its search first) until woken. */
static void sleep_worker(struct jt_worker *w, bool searching)
{
	struct jt_worker_pool *p = w->pool;

	/* seq_cst: counted before the re-check (parks_on), so that a
	 * publisher either sees it or is seen (file comment). */
	jt_fetch_add_seq_cst(&p->sleepers, 1);
	if (searching)
		jt_store_seq_cst(&p->searching, 0);
	jt_park_stamped(&w->wake, &w->stamp, &p->wake_cost, parks_on, w);
	jt_fetch_sub_relaxed(&p->sleepers, 1);
}

static void *worker_main(void *arg)
{
	struct jt_worker *w = arg;
	bool searching = false;

	for (;;) {
		struct jt_mpsc_node *first, *last;

		if (take_any(w, &first, &last)) {
			if (searching)
				stop_search(w);
			searching = false;
			run_spliced(w, first, last);
			continue;
		}
		if (steal_rest(w, false, &first)) {
			if (searching)
				stop_search(w);
			searching = false;
			run_chain(w, first);
			continue;
		}
		if (jt_load_seq_cst(&w->stop)) {
			if (searching)
				jt_store_seq_cst(&w->pool->searching, 0);
			return NULL;
		}
		if (!searching)
			searching = start_search(w->pool);
		if (searching && search(w))
			continue;
		/* The searcher about to sleep: a rest still there is worth
		 * taking now (no other worker looks for one). */
		if (searching && steal_rest(w, true, &first)) {
			stop_search(w);
			searching = false;
			run_chain(w, first);
			continue;
		}
		sleep_worker(w, searching);
		searching = false;
	}
}

static void stop_workers(struct jt_worker_pool *p, unsigned started)
{
	for (unsigned i = 0; i < started; i++) {
		jt_store_seq_cst(&p->workers[i].stop, true);
		jt_unpark(&p->workers[i].wake);
	}
	for (unsigned i = 0; i < started; i++)
		pthread_join(p->workers[i].thread, NULL);
	jt_alloc_put_aligned(p->alloc, p->workers, sizeof(*p->workers) * p->count);
	p->workers = NULL;
}

int jt_worker_pool_start(struct jt_worker_pool *p, unsigned count, const struct jt_alloc *alloc,
                         void (*chain_done)(void))
{
	p->count = count;
	p->alloc = alloc;
	p->chain_done = chain_done;
	jt_store_relaxed(&p->sleepers, 0);
	jt_store_relaxed(&p->searching, 0);
	jt_store_relaxed(&p->wake_cost.mean_ns, 0);
	p->workers = NULL;
	if (count == 0)
		return 0;
	p->workers = jt_alloc_get_aligned(alloc, sizeof(*p->workers) * count);
	if (p->workers == NULL)
		return -ENOMEM;
	/* Every queue exists before any worker can look at it. */
	for (unsigned i = 0; i < count; i++) {
		struct jt_worker *w = &p->workers[i];

		jt_mpsc_init(&w->queue);
		jt_store_relaxed(&w->wake, JT_PARK_AWAKE);
		jt_store_relaxed(&w->taking, 0);
		jt_store_relaxed(&w->rest, NULL);
		w->seen_rest = NULL;
		jt_store_relaxed(&w->stamp.woken_ns, 0);
		w->stamp.parked_ns = 0;
		jt_store_relaxed(&w->stop, false);
		w->index = i;
		w->pool = p;
	}
	for (unsigned i = 0; i < count; i++) {
		struct jt_worker *w = &p->workers[i];
		char name[16];
		int err;

		snprintf(name, sizeof(name), "jt-worker-%u", i % 10000u);
		err = jt_thread_start(&w->thread, name, worker_main, w);
		if (err != 0) {
			stop_workers(p, i);
			return err;
		}
	}
	return 0;
}

void jt_worker_pool_stop(struct jt_worker_pool *p)
{
	if (p->workers != NULL)
		stop_workers(p, p->count);
}

bool jt_worker_pool_next_asleep(const struct jt_worker_pool *p)
{
	/* relaxed: a hint for batching; the push's own wake-up is exact. */
	return jt_load_relaxed(&p->workers[submit_cursor % p->count].wake) == JT_PARK_ASLEEP;
}

void jt_worker_pool_submit_chain(struct jt_worker_pool *p, struct jt_mpsc_node *first,
                                 struct jt_mpsc_node *last)
{
	struct jt_worker *w = &p->workers[submit_cursor++ % p->count];

	/* The push's seq_cst tail exchange publishes; seq_cst loads after it:
	 * the Dekker pairs of the file comment and of atomics/parking.h. */
	jt_mpsc_push_chain(&w->queue, first, last);
	if (jt_load_seq_cst(&p->searching) != 0)
		return; /* the searcher will find it */
	if (jt_load_seq_cst(&w->wake) == JT_PARK_ASLEEP)
		jt_unpark_stamped(&w->wake, &w->stamp);
	else if (jt_load_seq_cst(&p->sleepers) != 0)
		wake_a_sleeper(p, w->index);
}
