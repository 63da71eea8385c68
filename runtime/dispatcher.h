/*
 * dispatcher.h - a single consumer that runs queued work items.
 *
 * Generic: an item is an MPSC node; the owner's run hook gets a whole chain
 * of them at a time and the dispatcher knows nothing of what they are. Two
 * modes:
 *   thread mode  a thread named `jt-dispatch` runs items as they arrive.
 *                Idle, it spins (for spin_ns, or by default as long as
 *                a wake-up of it costs, measured: dispatcher.c), then
 *                sleeps on a futex; a poster issues the wake system call
 *                only if it finds it asleep.
 *   poll mode    no thread: jt_dispatcher_poll runs items on the caller's
 *                thread; an eventfd is readable whenever work is pending.
 *                The eventfd is written once per idle->busy transition and
 *                cleared lazily, by a poll that finds nothing to do: a
 *                readable fd may then be spurious, never a missed one.
 *
 * The owner may keep work that no item carries (a backlog that becomes
 * runnable as items run, e.g. commit-order retirement): its run hook runs
 * it, and backlog_ready tells a poller it is there.
 */
#ifndef JT_DISPATCHER_H
#define JT_DISPATCHER_H

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "atomics/parking.h"
#include "runtime/mpsc_queue.h"

struct jt_work {
	struct jt_mpsc_node node;
	/* Runs on the consumer; returns the units of work it completed. */
	unsigned (*run)(struct jt_work *w);
};

static inline struct jt_work *jt_work_of(struct jt_mpsc_node *n)
{
	return (struct jt_work *)((char *)n - offsetof(struct jt_work, node));
}

/*
 * jt_work_run_chain: run every work item of a chain that jt_mpsc_splice
 * took, in order, reading each link before the item runs (a run may free
 * its item, recycle it or queue it again). Returns how many items ran. For
 * queues of jt_work items (the workers', the reclaimer's).
 */
unsigned jt_work_run_chain(struct jt_mpsc_node *first, struct jt_mpsc_node *last);

struct jt_dispatcher_hooks {
	void *ctx;
	/*
	 * Required: run the items of a chain spliced from the queue, first
	 * .. last in order (first may be NULL: backlog only), and whatever
	 * backlog the owner keeps, at most `budget` units (0: no limit).
	 * Returns the units run and leaves in *rest the first item it did
	 * not run (NULL when the chain ran out); the dispatcher hands that
	 * rest back first next time. One call is one pass: the owner does
	 * its per-pass bookkeeping before it returns. Every item it reads
	 * was written before its post (the queue's release/acquire).
	 */
	unsigned (*run)(void *ctx, struct jt_mpsc_node *first, struct jt_mpsc_node *last,
	                unsigned budget, struct jt_mpsc_node **rest);
	/* Optional: backlog work is runnable without a new item (it became
	 * so in an earlier pass whose budget ran out). */
	bool (*backlog_ready)(void *ctx);
};

/* jt_dispatcher.wake in poll mode (thread mode: JT_PARK_AWAKE/ASLEEP) */
enum { JT_POLL_CLEAR = 0, JT_POLL_SIGNALLED = 1 };

struct jt_dispatcher {
	struct jt_mpsc_queue queue; /* batch style (mpsc_queue.h) */
	/* Poll mode, consumer only: what a budget left of the last chain. */
	struct jt_mpsc_node *rest, *rest_last;
	/* Thread mode: JT_PARK_AWAKE/ASLEEP; poll mode: JT_POLL_*. */
	jt_cacheline_aligned _Atomic uint32_t wake;
	_Atomic uint32_t polling; /* poll mode: a thread is inside poll */
	_Atomic bool stop;
	bool poll_mode;
	int efd;
	int64_t spin_ns; /* 0: the measured wake cost */
	struct jt_wake_stamp stamp;
	struct jt_wake_cost wake_cost;
	pthread_t thread;
	struct jt_dispatcher_hooks hooks;
};

/*
 * jt_dispatcher_start: init and, in thread mode, start the thread. Returns
 * 0 or a negative errno (thread creation, eventfd creation).
 */
int jt_dispatcher_start(struct jt_dispatcher *d, bool poll_mode, int64_t spin_ns,
                        const struct jt_dispatcher_hooks *hooks);

/*
 * jt_dispatcher_stop: thread mode: run what is queued, then stop and join.
 * Both modes: release the resources. The caller ensures nothing is posted
 * any more.
 */
void jt_dispatcher_stop(struct jt_dispatcher *d);

/* Poll mode: make the eventfd readable (out of line; the post's half). */
void jt_dispatcher_signal_poller(struct jt_dispatcher *d);

/*
 * jt_dispatcher_post: queue `n` (any thread, wait-free but for the wake-up
 * system call when the dispatcher sleeps or the eventfd write when a poller
 * was idle). `n` must not be queued already. Everything the caller wrote
 * before is visible to the run hook. The caller must keep `d` alive until
 * the call returns (the runtime covers that with an RCU read-side section).
 */
static inline void jt_dispatcher_post(struct jt_dispatcher *d, struct jt_mpsc_node *n)
{
	/* The push's seq_cst tail exchange publishes; see atomics/parking.h
	 * and, for poll mode, dispatcher.c. */
	jt_mpsc_push(&d->queue, n);
	if (d->poll_mode) {
		/* seq_cst: the Dekker pair with the poller's clear. */
		if (jt_load_seq_cst(&d->wake) == JT_POLL_CLEAR)
			jt_dispatcher_signal_poller(d);
		return;
	}
	jt_unpark_stamped(&d->wake, &d->stamp);
}

/* The dispatcher whose callbacks this thread runs (thread or poll), if any. */
extern _Thread_local const struct jt_dispatcher *jt_current_dispatcher
        __attribute__((visibility("hidden")));

/* jt_dispatcher_is_current: true on d's thread or inside d's poll. */
static inline bool jt_dispatcher_is_current(const struct jt_dispatcher *d)
{
	return jt_current_dispatcher == d;
}

/* The rest of a poll beyond its first fresh chain (out of line):
 * dispatcher.c. */
unsigned jt_dispatcher_poll_on(struct jt_dispatcher *d, unsigned max, unsigned done, bool spliced);

typedef unsigned jt_dispatcher_run_fn(void *ctx, struct jt_mpsc_node *first,
                                      struct jt_mpsc_node *last, unsigned budget,
                                      struct jt_mpsc_node **rest);

/*
 * jt_dispatcher_poll_run: jt_dispatcher_poll with the owner's run hook
 * given again (`run` and `ctx` must be d->hooks.run and d->hooks.ctx), so
 * that an owner whose hook is an inline function gets the whole poll as
 * one function: the serial stage of a poll-mode runtime, once per poll.
 */
static inline int jt_dispatcher_poll_run(struct jt_dispatcher *d, unsigned max,
                                         jt_dispatcher_run_fn *run, void *ctx)
{
	const struct jt_dispatcher *outer = jt_current_dispatcher;
	struct jt_mpsc_node *first, *last;
	uint32_t idle = 0;
	unsigned done;

	/* acquire: pairs with the release store below, so that one poller's
	 * effects are visible to the next. */
	if (!jt_cas_acq_rel(&d->polling, &idle, 1))
		return -EBUSY;
	jt_current_dispatcher = d;
	if (d->rest == NULL && jt_mpsc_splice(&d->queue, &first, &last)) {
		done = run(ctx, first, last, max, &d->rest);
		d->rest_last = last;
		/* A budget with room left takes what arrived meanwhile. */
		if (max != 0 && done < max)
			done = jt_dispatcher_poll_on(d, max, done, true);
	} else {
		done = jt_dispatcher_poll_on(d, max, 0, false);
	}
	jt_current_dispatcher = outer;
	jt_store_release(&d->polling, 0);
	return (int)done;
}

/*
 * jt_dispatcher_poll: poll mode: run items and backlog on this thread, at
 * most `max` units (0 = what is pending when the call starts). Returns the
 * units run, or -EBUSY when a thread (this one included) is inside poll.
 */
static inline int jt_dispatcher_poll(struct jt_dispatcher *d, unsigned max)
{
	return jt_dispatcher_poll_run(d, max, d->hooks.run, d->hooks.ctx);
}

#endif /* JT_DISPATCHER_H */
