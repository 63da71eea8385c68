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
 */
#include "runtime/worker_pool.h"

#include <errno.h>
#include <stdio.h>

#include "atomics/parking.h"
#include "runtime/thread_start.h"

#define WORKER_SPIN_NS 20000

/*
 * An idle worker pauses this long, then yields between checks: on 2 vCPUs
 * the pool workload runs a submitter, 2 workers and the dispatcher, and a
 * worker that only paused held the submitter off its CPU (pool 2.8-9.7 ->
 * 11.1-13.4 M jobs/s with yielding, 5 alternating runs).
 */
#define WORKER_PAUSE_NS 500

/*
 * A worker that took a short batch lingers this long before it takes the
 * next one. Taking a batch moves the queue's tail line (and the last
 * node's) to the worker; the submitter's next push moves them back. One
 * job per batch pays both transfers per job: the pool workload (one
 * submitter, two workers) ran 12.5-13 M jobs/s that way, 20-24 M with this
 * linger after batches of fewer than WORKER_SHORT_BATCH.
 * The cost: a job submitted just after a short batch may wait that long.
 */
#define WORKER_LINGER_NS   1000
#define WORKER_SHORT_BATCH 16

/*
 * A rest that stayed in place this long: its owner is in a slow item, and
 * the items behind it are worth another worker. Stealing every rest at
 * once split the chains of fast items between the workers, each steal
 * moving their lines to the other CPU (pool workload 30-36 -> 21 M
 * jobs/s).
 */
#define STEAL_AGE_NS 2000

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

	if (take_queue(self, first, last))
		return true;
	for (unsigned i = 1; i < p->count; i++) {
		if (take_queue(&p->workers[(self->index + i) % p->count], first, last))
			return true;
	}
	return false;
}

/* Spin: work is queued anywhere, a rest aged, or stop (seq_cst loads of
 * the own queue and flag: the Dekker pair; the others' are hints). */
static bool worker_has_work(void *arg)
{
	struct jt_worker *w = arg;
	struct jt_worker_pool *p = w->pool;
	bool aged = false;

	if (!jt_mpsc_empty(&w->queue) || jt_load_seq_cst(&w->stop))
		return true;
	for (unsigned i = 0; i < p->count; i++) {
		struct jt_worker *o = &p->workers[i];

		/* relaxed: a hint; a missed one is its owner's to run. */
		if (jt_load_relaxed(&o->queue.tail) != &o->queue.stub)
			return true;
		if (o != w && jt_load_relaxed(&o->rest) != NULL)
			aged = true;
	}
	return aged && w->seen_rest != NULL && jt_monotonic_ns() - w->seen_ns >= STEAL_AGE_NS;
}

/*
 * The re-check of a worker going to sleep: its own queue (a push wakes it),
 * stop, and every other worker's rest (run_chain wakes a sleeper after it
 * publishes one): seq_cst loads, the Dekker pairs of atomics/parking.h.
 * Another's queue is its own worker's to run.
 */
static bool parks_on(void *arg)
{
	struct jt_worker *w = arg;
	struct jt_worker_pool *p = w->pool;

	if (!jt_mpsc_empty(&w->queue) || jt_load_seq_cst(&w->stop))
		return true;
	for (unsigned i = 0; i < p->count; i++) {
		if (&p->workers[i] != w && jt_load_seq_cst(&p->workers[i].rest) != NULL)
			return true;
	}
	return false;
}

static void linger(void)
{
	uint64_t end = jt_monotonic_ns() + WORKER_LINGER_NS;

	do {
		for (int i = 0; i < 8; i++)
			jt_cpu_relax();
	} while (jt_monotonic_ns() < end);
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

/* Wake a sleeping worker to look at our rest (rare: only while workers
 * sleep; a submitter's push wakes its target the same way). */
__attribute__((noinline)) static void wake_a_sleeper(struct jt_worker *self)
{
	struct jt_worker_pool *p = self->pool;

	for (unsigned i = 1; i < p->count; i++) {
		struct jt_worker *o = &p->workers[(self->index + i) % p->count];

		/* seq_cst: after the exchange of our `rest` (run_chain). */
		if (jt_load_seq_cst(&o->wake) == JT_PARK_ASLEEP) {
			jt_unpark(&o->wake);
			return;
		}
	}
}

/*
 * Run a chain, first .. its CHAIN_END. Before every STEAL_EVERY-th item
 * (the first included) the rest of the chain waits in `rest` (release)
 * and is taken back (exchange) after that item: an idle worker may take it
 * meanwhile (steal_rest), so an item that blocks (I/O, a wait on another
 * item) holds at most STEAL_EVERY - 1 of the items behind it. An exchange
 * per item cost the pool workload a third of its throughput.
 */
#define STEAL_EVERY 16

static unsigned run_chain(struct jt_worker *w, struct jt_mpsc_node *n)
{
	unsigned ran = 0;

	for (; n != NULL; ran++) {
		struct jt_mpsc_node *next = chain_after(n);

		if (next == NULL || ran % STEAL_EVERY != 0) {
			jt_work_of(n)->run(jt_work_of(n));
			n = next;
			continue;
		}
		/* seq_cst: a thief's exchange acquires the items and links;
		 * and the Dekker pair with a worker going to sleep (parks_on):
		 * either it sees this rest, or we see it asleep and wake it. */
		jt_xchg_seq_cst(&w->rest, next);
		if (jt_load_seq_cst(&w->pool->sleepers) != 0)
			wake_a_sleeper(w);
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
 * has stayed STEAL_AGE_NS, or, `now`, at once (before going to sleep). The
 * thief's `seen_*` note a rest the first time it looks.
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
			self->seen_ns = jt_monotonic_ns();
			continue;
		}
		if (!now && jt_monotonic_ns() - self->seen_ns < STEAL_AGE_NS)
			continue;
		if ((*first = jt_xchg_acq_rel(&v->rest, (struct jt_mpsc_node *)NULL)) != NULL)
			return true;
	}
	return false;
}

static void *worker_main(void *arg)
{
	struct jt_worker *w = arg;

	for (;;) {
		struct jt_mpsc_node *first, *last;

		if (take_any(w, &first, &last)) {
			if (run_spliced(w, first, last) < WORKER_SHORT_BATCH)
				linger();
			continue;
		}
		if (steal_rest(w, false, &first)) {
			run_chain(w, first);
			continue;
		}
		if (jt_load_seq_cst(&w->stop))
			return NULL;
		if (jt_spin_for(WORKER_SPIN_NS, WORKER_PAUSE_NS, worker_has_work, w))
			continue;
		/* About to sleep: a rest still there is worth taking now. */
		if (steal_rest(w, true, &first)) {
			run_chain(w, first);
			continue;
		}
		/* seq_cst: before the park's own Dekker store (parks_on). */
		jt_fetch_add_seq_cst(&w->pool->sleepers, 1);
		jt_park(&w->wake, parks_on, w);
		jt_fetch_sub_relaxed(&w->pool->sleepers, 1);
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
		w->seen_ns = 0;
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

	/* The push's seq_cst tail exchange publishes; see atomics/parking.h. */
	jt_mpsc_push_chain(&w->queue, first, last);
	jt_unpark(&w->wake);
}
