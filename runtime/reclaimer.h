/*
 * reclaimer.h - runs work items after an RCU grace period, on its own
 * thread `jt-reclaim`; also runs work that needs no grace period but should
 * not hold up the thread that posts it (freeing memory in bulk).
 *
 * Posting is wait-free (an MPSC push; a futex wake only when the reclaimer
 * sleeps). The reclaimer takes everything posted, waits for one grace period
 * (synchronize_rcu), then runs each item: every read-side section that
 * could have seen an item's object before it was posted has ended. After a
 * round it naps (RECLAIM_NAP_NS) before the next one, so a busy runtime pays
 * one grace period per nap, not one per post, and posters find it awake
 * (no system call). Idle, it sleeps until the next post.
 *
 * Why a thread of ours: liburcu's call_rcu thread batches for ~10 ms, long
 * enough at millions of txns per second to turn recycling into bursts; and
 * a grace period must never block the dispatcher (a slow introspection
 * callback would stall every retirement).
 */
#ifndef JT_RECLAIMER_H
#define JT_RECLAIMER_H

#include <pthread.h>
#include <stdbool.h>

#include "runtime/dispatcher.h"

struct jt_reclaimer {
	struct jt_mpsc_queue queue; /* after a grace period; batch style */
	struct jt_mpsc_queue soon;  /* no grace period; batch style */
	jt_cacheline_aligned _Atomic uint32_t wake;
	_Atomic bool stop;
	pthread_t thread;
};

/* jt_reclaimer_start: start the thread. 0 or the negated pthread error. */
int jt_reclaimer_start(struct jt_reclaimer *r);

/*
 * jt_reclaimer_stop: run everything posted (after a grace period), stop and
 * join. Not inside a read-side section. Nothing may be posted concurrently.
 */
void jt_reclaimer_stop(struct jt_reclaimer *r);

/*
 * jt_reclaimer_post: run w->run(w) on the reclaimer after a grace period
 * that starts after this call. Any thread; everything written before is
 * visible to w->run.
 */
void jt_reclaimer_post(struct jt_reclaimer *r, struct jt_work *w);

/*
 * jt_reclaimer_post_soon: run w->run(w) on the reclaimer, with no grace
 * period, within about a nap. Any thread; everything written before is
 * visible to w->run, which may post to either queue.
 */
void jt_reclaimer_post_soon(struct jt_reclaimer *r, struct jt_work *w);

#endif /* JT_RECLAIMER_H */
