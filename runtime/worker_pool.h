/*
 * worker_pool.h - N threads `jt-worker-N` running queued work items.
 *
 * Each worker owns an MPSC queue. A submitter pushes a whole chain of items
 * onto one worker's queue with one exchange, picking workers round-robin (a
 * per-thread cursor, no shared counter). A worker takes its queue a splice
 * at a time. Two kinds of stealing keep every worker busy however the
 * chains were dealt, and keep an item that blocks (I/O, a wait on another
 * item) from holding back the items behind it:
 *   queues  a worker that finds its own queue empty takes another's.
 *           Taking a queue, owner or thief, is exclusive: a worker wins
 *           the queue's `taking` flag with one exchange per splice, not
 *           per item.
 *   chains  while a worker runs every JT_STEAL_EVERY-th item of its
 *           chain, the rest of the chain waits in its `rest` slot, where
 *           an idle worker takes it with one exchange once it saw it
 *           there on two looks in a row (the item is slow: I/O, or a
 *           wait); the owner takes it back with one after the item.
 * Idle workers follow a searching protocol (worker_pool.c), as Go's and
 * Tokio's schedulers do: at most one worker searches (spins over every
 * queue and chain) at a time, for as long as a wake-up costs on this
 * machine (atomics/parking.h: jt_wake_cost); the others sleep at once.
 * A searcher that finds work wakes a sleeper to search in its place; a
 * submitter wakes a worker only when none searches and one sleeps.
 */
#ifndef JT_WORKER_POOL_H
#define JT_WORKER_POOL_H

#include <pthread.h>
#include <stdbool.h>

#include "runtime/alloc.h"
#include "runtime/dispatcher.h"

struct jt_worker_pool;

struct jt_worker {
	struct jt_mpsc_queue queue; /* batch style (mpsc_queue.h) */
	/* Each line below has its own writers (false sharing measured: a
	 * submitter reading `wake` beside a per-splice `taking`). */
	jt_cacheline_aligned _Atomic uint32_t wake; /* submitters read it */
	_Atomic bool stop;
	struct jt_wake_stamp stamp;                   /* its wakers stamp it */
	jt_cacheline_aligned _Atomic uint32_t taking; /* a worker is splicing the queue */
	/* The rest of the chain the worker is running, for thieves. */
	jt_cacheline_aligned struct jt_mpsc_node *_Atomic rest;
	/* The worker's own: a rest it saw as a thief, and when. */
	jt_cacheline_aligned struct jt_mpsc_node *seen_rest;
	uint64_t seen_ns;
	unsigned index;
	struct jt_worker_pool *pool;
	pthread_t thread;
};

struct jt_worker_pool {
	struct jt_worker *workers;
	unsigned count;
	const struct jt_alloc *alloc;
	/* Optional: a chain's items ran on this worker (an owner that defers
	 * work across the items of a chain does it now). */
	void (*chain_done)(void);
	unsigned batch; /* the owner's: jobs a submitter gathers per chain */
	/* The idle protocol's line, written only when a worker starts or
	 * stops searching or sleeping (never per job): workers searching
	 * (0 or 1), workers asleep or about to be, and the spin. */
	jt_cacheline_aligned _Atomic uint32_t searching;
	_Atomic uint32_t sleepers;
	struct jt_wake_cost wake_cost;
};

/*
 * jt_worker_pool_start: start `count` workers (0: an empty pool), calling
 * chain_done (may be NULL) on a worker after each chain it ran. Returns 0,
 * -ENOMEM, or the negated thread-creation error (nothing left running).
 */
int jt_worker_pool_start(struct jt_worker_pool *p, unsigned count, const struct jt_alloc *alloc,
                         void (*chain_done)(void));

/* jt_worker_pool_stop: run what is queued, stop and join every worker. */
void jt_worker_pool_stop(struct jt_worker_pool *p);

/*
 * jt_worker_pool_submit_chain: run w->run(w) for every jt_work item of the
 * chain first .. last (linked through their nodes, in order) on the pool's
 * workers. Any thread; the pool must have workers. Everything written
 * before is visible to each run. Items of one chain start in order on one
 * worker, unless another steals what is still queued.
 */
void jt_worker_pool_submit_chain(struct jt_worker_pool *p, struct jt_mpsc_node *first,
                                 struct jt_mpsc_node *last);

/*
 * jt_worker_pool_next_asleep: whether the worker the calling thread's next
 * chain goes to sleeps (a hint: a submitter holding back a batch pushes it
 * at once to a sleeping worker, whose wake-up it pays anyway).
 */
bool jt_worker_pool_next_asleep(const struct jt_worker_pool *p);

#endif /* JT_WORKER_POOL_H */
