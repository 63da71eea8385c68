/*
 * worker_pool.h - N threads `jt-worker-N` running queued work items.
 *
 * Each worker owns an MPSC queue; a submitter picks a worker round-robin
 * (a per-thread cursor, no shared counter) and pushes wait-free. An idle
 * worker spins briefly, then parks on its futex word; a submitter wakes it
 * only if it sleeps. No work stealing: items are short by contract.
 */
#ifndef JT_WORKER_POOL_H
#define JT_WORKER_POOL_H

#include <pthread.h>
#include <stdbool.h>

#include "runtime/alloc.h"
#include "runtime/dispatcher.h"

struct jt_worker {
	struct jt_mpsc_queue queue; /* batch style (mpsc_queue.h) */
	jt_cacheline_aligned _Atomic uint32_t wake;
	_Atomic bool stop;
	pthread_t thread;
};

struct jt_worker_pool {
	struct jt_worker *workers;
	unsigned count;
	const struct jt_alloc *alloc;
};

/*
 * jt_worker_pool_start: start `count` workers (0: an empty pool). Returns 0,
 * -ENOMEM, or the negated thread-creation error (nothing left running).
 */
int jt_worker_pool_start(struct jt_worker_pool *p, unsigned count, const struct jt_alloc *alloc);

/* jt_worker_pool_stop: run what is queued, stop and join every worker. */
void jt_worker_pool_stop(struct jt_worker_pool *p);

/*
 * jt_worker_pool_submit: run w->run(w) on some worker. Any thread; the pool
 * must have workers. Everything written before is visible to w->run.
 */
void jt_worker_pool_submit(struct jt_worker_pool *p, struct jt_work *w);

#endif /* JT_WORKER_POOL_H */
