/*
 * dispatcher.h - a single consumer that runs queued work items.
 *
 * Generic: an item is an MPSC node and a function pointer; the dispatcher
 * knows nothing of what the items are. Two modes:
 *   thread mode  a thread named `jt-dispatch` runs items as they arrive.
 *                Idle, it spins for spin_ns, then sleeps on a futex; a
 *                poster issues the wake system call only if it finds it
 *                asleep.
 *   poll mode    no thread: jt_dispatcher_poll runs items on the caller's
 *                thread; an eventfd is readable whenever work is pending.
 *                The eventfd is written once per idle->busy transition and
 *                cleared lazily, by a poll that finds nothing to do: a
 *                readable fd may then be spurious, never a missed one.
 *
 * Hooks let the owner keep work that no item carries (a backlog that
 * becomes runnable as items run, e.g. commit-order retirement) and act at
 * the end of each pass over the queue.
 */
#ifndef JT_DISPATCHER_H
#define JT_DISPATCHER_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "runtime/mpsc_queue.h"

struct jt_work {
	struct jt_mpsc_node node;
	/* Runs on the dispatcher; returns the units of work it completed. */
	unsigned (*run)(struct jt_work *w);
};

static inline struct jt_work *jt_work_of(struct jt_mpsc_node *n)
{
	return (struct jt_work *)((char *)n - offsetof(struct jt_work, node));
}

/*
 * jt_work_run_chain: run every item of a chain that jt_mpsc_splice took,
 * in order, reading each link before the item runs (a run may free its
 * item, recycle it or queue it again). Returns how many items ran.
 */
unsigned jt_work_run_chain(struct jt_mpsc_node *first, struct jt_mpsc_node *last);

struct jt_dispatcher_hooks {
	void *ctx;
	/* Optional, as a pair: run backlog work, at most `budget` units
	 * (0 = no limit); backlog_ready says when it has something to do. */
	unsigned (*backlog_run)(void *ctx, unsigned budget);
	bool (*backlog_ready)(void *ctx);
	/* Optional: the next queued item, about to run after the current
	 * one: warm its memory (the queue is drained in order, and a backlog
	 * of cold items is what makes a dispatcher slow). */
	void (*prefetch)(struct jt_work *next);
	/* Required: a pass over the queue ended (the queue was found empty,
	 * or a poll returns). Both modes. */
	void (*pass_done)(void *ctx);
};

struct jt_dispatcher {
	struct jt_mpsc_queue queue; /* batch style (mpsc_queue.h) */
	/* Consumer only: the rest of the last spliced chain, NULL when run. */
	struct jt_mpsc_node *batch, *batch_last;
	/* Thread mode: DISPATCHER_AWAKE/ASLEEP; poll mode: CLEAR/SIGNALLED. */
	jt_cacheline_aligned _Atomic uint32_t wake;
	_Atomic uint32_t polling; /* poll mode: a thread is inside poll */
	_Atomic bool stop;
	bool poll_mode;
	int efd;
	int64_t spin_ns;
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

/*
 * jt_dispatcher_post: queue `w` (any thread, wait-free but for the wake-up
 * system call when the dispatcher sleeps). `w` must not be queued already.
 * Everything the caller wrote before is visible to w->run. The caller must
 * keep `d` alive until the call returns (the runtime covers that with an RCU
 * read-side section).
 */
void jt_dispatcher_post(struct jt_dispatcher *d, struct jt_work *w);

/*
 * jt_dispatcher_poll: poll mode: run items and backlog on this thread, at
 * most `max` units (0 = what is pending when the call starts). Returns the
 * units run, or -EBUSY when a thread (this one included) is inside poll.
 */
int jt_dispatcher_poll(struct jt_dispatcher *d, unsigned max);

/* jt_dispatcher_is_current: true on d's thread or inside d's poll. */
bool jt_dispatcher_is_current(const struct jt_dispatcher *d);

#endif /* JT_DISPATCHER_H */
