/*
 * retire.c - the dispatcher's side: cancel delivery, retirement in ready or
 * commit order, and the recycling of retired txns.
 *
 * Everything here runs on the dispatcher (its thread, or the thread inside
 * jt_runtime_poll), with no internal lock held while a user callback runs.
 * The dispatcher hands over a whole chain of posted txns at a time
 * (txn_run_chain), and the chain is one pass: retirements are counted in
 * the pass and published once at its end, with the single seq_cst RMW that
 * also pairs with blocked waiters (wait.c). A one-job txn that did not fail
 * is retired from its first two cache lines; everything else takes
 * txn_retire_general.
 *
 * Recycling is batched: retired txns wait in a limbo list per builder shard
 * and go back to their builders' cache (txn_cache.c) in groups of
 * LIMBO_BATCH. A txn object stays linked in the registry while it is
 * recycled, and introspection tells a live txn from a recycled one by its
 * `live` byte (txn.c, point 7). Only full groups go; a partial one waits,
 * or goes at jt_runtime_destroy.
 */
#include <errno.h>

#include "txn/txn_internal.h"

#define LIMBO_BATCH  64
#define SIGNAL_BATCH 64 /* wake a jt_txn_begin blocked at max_inflight this often */

/*
 * The clock for retire latency, read at the start of a pass and again every
 * NOW_REUSE retirements (an rdtsc costs 7-10 ns on the development VMs, as
 * much as the rest of a retirement's bookkeeping): every txn of a chain
 * was stamped before the chain was spliced, so a latency may read short by
 * the time the few retirements before it took, never long.
 */
#define NOW_REUSE 8

/* A pass: what its retirements leave to publish at its end. */
struct pass {
	uint64_t retired; /* retirements not yet published */
	uint64_t jobs;    /* their completed jobs */
	uint64_t now;     /* the clock */
	unsigned now_left;
	unsigned slot_batch;
};

static inline void record_latency(jt_runtime *rt, struct pass *p, uint64_t ready)
{
	if (--p->now_left == 0) {
		p->now = jt_clock_ticks();
		p->now_left = NOW_REUSE;
	}
	/* A TSC a few cycles behind another CPU's stamp reads 0, not 2^64. */
	jt_latency_histogram_record(&rt->latency, p->now > ready ? p->now - ready : 0);
}

/* Publish the pass so far: the counters, then the seq_cst RMW of
 * `retired`, which releases all of it to a waiter's seq_cst load and is the
 * Dekker store of the wake-up (wait.c). */
static void pass_publish(jt_runtime *rt, struct pass *p)
{
	counter_add(&rt->counters.jobs_completed, p->jobs);
	jt_fetch_add_seq_cst(&rt->retired, p->retired);
	p->retired = 0;
	p->jobs = 0;
}

static void deliver_cancels(jt_txn *t)
{
	jt_runtime *rt = t->rt;
	struct member_chunk *c;
	jt_job *j;
	uint64_t requested = 0;

	for_each_member(t, c, j)
	{
		/* relaxed: the state only chooses whom to ask, and the
		 * callback reads nothing the completer wrote. A job that
		 * completes right after this load still gets its cancel,
		 * which the contract allows (never after its done: the
		 * cancel request holds a unit of pending). */
		uint32_t state = jt_load_relaxed(&j->state);

		if (state != JOB_ARMED && state != JOB_ARMED_HOOKED)
			continue;
		requested++;
		if (j->ops != NULL && j->ops->cancel != NULL)
			j->ops->cancel(j->opaque);
		/* An adapter's hook (job_hook.h): its fields were written
		 * before the job was armed, by the builder, before the seal
		 * that the cancel request's post follows. */
		if (state == JOB_ARMED_HOOKED)
			j->u.hook.fn(j, j->u.hook.arg);
	}
	counter_add(&rt->counters.cancels, requested);
}

/*
 * The txn came as a cancel request (txn.c, point 4): deliver its cancels,
 * then give up the request's unit, the failing bit. True when that left
 * nothing pending: the txn is ready, and ours to retire.
 */
__attribute__((noinline, cold)) static bool deliver_cancel_request(jt_txn *t)
{
	deliver_cancels(t);
	/* Before the bit goes: jt_job_cancelled reads this after it. */
	jt_store_relaxed(&t->flags, jt_load_relaxed(&t->flags) | TXN_FAILING);
	/* acq_rel: pairs with every RMW on pending; a completer that takes
	 * the count to 0 later reads this and posts the txn. */
	if (jt_fetch_sub_acq_rel(&t->pending, TXN_FAILING_BIT) != TXN_FAILING_BIT)
		return false;
	t->ready_ticks = jt_clock_ticks();
	jt_trace_txn_ready(t);
	return true;
}

/* Send one shard's batch back to its builders' cache. */
static void limbo_flush_shard(jt_runtime *rt, struct limbo *l)
{
	if (l->head == NULL)
		return;
	txn_cache_give_batch(rt, l->head, l->tail, l->count);
	l->head = l->tail = NULL;
	l->count = 0;
}

void txn_limbo_flush(jt_runtime *rt)
{
	for (unsigned i = 0; i < JT_REGISTRY_SHARDS; i++)
		limbo_flush_shard(rt, &rt->limbo[i]);
}

/* The end of every retirement: no longer live (txn.c, point 7), counted,
 * queued for its builders' cache. */
static inline __attribute__((always_inline)) void retire_end(jt_runtime *rt, jt_txn *t,
                                                             struct pass *p)
{
	struct limbo *l = &rt->limbo[t->shard];

	/* relaxed: a walker that still reads the txn is covered by the
	 * give-back's RMW on `walkers` (txn_cache.c). */
	jt_store_relaxed(&t->live, 0);
	dead_link(t, l->head);
	l->head = t;
	if (++l->count == 1)
		l->tail = t;
	else if (l->count >= LIMBO_BATCH)
		limbo_flush_shard(rt, l);
	p->retired++;
}

static void finish_waiter(jt_runtime *rt, struct commit_waiter *w, int status, struct pass *p)
{
	w->status = status;
	/* release: pairs with the acquire load in waiter_done, which then
	 * reads w->status. */
	jt_store_release(&w->done, 1);
	/* The waiter is woken at once, not at the end of the pass. */
	pass_publish(rt, p);
	rt_signal_waiters(rt);
	/* acq_rel: the last of the waiter and the dispatcher frees it. */
	if (jt_fetch_sub_acq_rel(&w->refs, 1) == 1)
		jt_alloc_put(&rt->alloc, w, sizeof(*w));
}

/*
 * Every member's `done` (RETIRE_DONE), in registration order; returns how
 * many jobs failed. When nothing failed and every member has the same ops
 * (the common large txn), each ret is 0 and the callback is known: the loop
 * is a call per member.
 */
static uint64_t members_done(jt_txn *t, int status, unsigned ops)
{
	struct member_chunk *c;
	jt_job *j;
	uint64_t failed_jobs = 0;

	if (status == 0 && !(t->member_ops & MEMBER_MIXED)) {
		void (*done)(void *opaque, int ret, int status) = t->inline_member.ops->done;

		for_each_member(t, c, j) done(j->opaque, 0, 0);
		return 0;
	}
	for_each_member(t, c, j)
	{
		/* A job's ret stays 0 unless it failed (job.c). */
		int ret = j->ret;

		failed_jobs += ret != 0;
		if ((ops & RETIRE_DONE) && j->ops != NULL && j->ops->done != NULL)
			j->ops->done(j->opaque, ret, status);
	}
	return failed_jobs;
}

/* Every member's `destroy` (RETIRE_DESTROY), in registration order. */
static void members_destroy(jt_txn *t)
{
	struct member_chunk *c;
	jt_job *j;

	if (!(t->member_ops & MEMBER_MIXED)) {
		void (*destroy)(void *opaque) = t->inline_member.ops->destroy;

		for_each_member(t, c, j) destroy(j->opaque);
		return;
	}
	for_each_member(t, c, j)
	{
		if (j->ops != NULL && j->ops->destroy != NULL)
			j->ops->destroy(j->opaque);
	}
}

/* Every retirement but the common one: more members, a failure, destroy
 * callbacks, a commit_wait caller, a max_inflight slot. */
__attribute__((noinline)) static void txn_retire_general(jt_runtime *rt, jt_txn *t, int status,
                                                         struct pass *p)
{
	unsigned ops = t->retire_ops;
	uint64_t failed_jobs = 0;

	if ((ops & RETIRE_DONE) || status != 0)
		failed_jobs = members_done(t, status, ops);
	if (ops & RETIRE_TXN_DONE)
		t->done(t->done_opaque, status);
	if (ops & RETIRE_DESTROY)
		members_destroy(t);
	jt_trace_txn_retire(jt_load_relaxed(&t->id), t, status);
	p->jobs += (ops & RETIRE_MULTI) ? jt_load_relaxed(&t->armed) & ~TXN_ARMED_SEALED
	                                : (ops & RETIRE_ARMED1);
	if (status != 0) { /* a failed job always makes the status non-zero */
		counter_add(&rt->counters.jobs_failed, failed_jobs);
		counter_add(&rt->counters.failed, 1);
	}
	/* Spare chunks beyond what a cached txn keeps go now (introspection
	 * never reads members). */
	if (ops & RETIRE_MULTI)
		txn_cache_trim(t);
	/* t may be reused once retire_end gave it back. */
	struct commit_waiter *w = (ops & RETIRE_WAITER) ? t->waiter : NULL;

	/* The slot is free once the txn retired: a begin inside a later
	 * callback of this pass may take it. relaxed: published to a blocked
	 * begin by the next publishing RMW of `retired`. */
	if (ops & RETIRE_SLOT)
		jt_fetch_sub_relaxed(&rt->inflight, 1);
	retire_end(rt, t, p);
	if (w != NULL) {
		finish_waiter(rt, w, status, p);
	} else if (ops & RETIRE_SLOT) {
		/* A begin blocked at max_inflight can use a retirement before
		 * the pass ends (wait.c, rt_signal_slot_waiters). */
		if (++p->slot_batch >= SIGNAL_BATCH) {
			p->slot_batch = 0;
			pass_publish(rt, p);
			rt_signal_slot_waiters(rt);
		}
	}
}

/* Run every callback of `t` and take it out of the live set. Inline: the
 * common case, one member that did not fail, is a few dozen instructions. */
static inline __attribute__((always_inline)) void txn_retire(jt_runtime *rt, jt_txn *t,
                                                             struct pass *p)
{
	int status = jt_load_relaxed(&t->status);
	unsigned ops = t->retire_ops;
	jt_job *j = &t->inline_member;

	record_latency(rt, p, t->ready_ticks);
	if (status != 0 || (ops & RETIRE_GENERAL)) {
		txn_retire_general(rt, t, status, p);
		return;
	}
	/* One member, which succeeded or was never armed: ret 0, status 0;
	 * RETIRE_DONE says it has a done. */
	if (ops & RETIRE_DONE)
		j->ops->done(j->opaque, 0, 0);
	if (ops & RETIRE_TXN_DONE)
		t->done(t->done_opaque, 0);
	jt_trace_txn_retire(jt_load_relaxed(&t->id), t, 0);
	p->jobs += ops & RETIRE_ARMED1;
	retire_end(rt, t, p);
}

/* A posted txn: a cancel request or ready. Returns the retirements. */
static inline __attribute__((always_inline)) unsigned txn_dispatch(jt_runtime *rt, jt_txn *t,
                                                                   struct pass *p, bool ordered)
{
	/* relaxed: the post (the queue's release/acquire) published it. */
	if ((jt_load_relaxed(&t->pending) & TXN_FAILING_BIT) && !deliver_cancel_request(t))
		return 0;
	if (ordered) {
		t->ready = true; /* backlog_run retires it in turn */
		return 0;
	}
	txn_retire(rt, t, p);
	return 1;
}

static jt_txn *txn_of_order_node(struct jt_mpsc_node *n)
{
	return (jt_txn *)((char *)n - offsetof(jt_txn, order_node));
}

bool txn_backlog_ready(void *arg)
{
	jt_runtime *rt = arg;
	struct jt_mpsc_node *n;

	/* A dispatcher hook of ordered runtimes only (runtime_api.c). */
	n = jt_mpsc_peek(&rt->order_queue);
	return n != NULL && txn_of_order_node(n)->ready;
}

/* Ordered runtimes: retire the commit-order queue's head while it is
 * ready, at most `budget` (0: no limit). */
static unsigned backlog_run(jt_runtime *rt, unsigned budget, struct pass *p)
{
	unsigned done = 0;

	while ((budget == 0 || done < budget) && txn_backlog_ready(rt)) {
		/* The head is linked: popping it waits at most for the
		 * producer that is linking the node behind it. */
		txn_retire(rt, txn_of_order_node(jt_mpsc_pop_wait(&rt->order_queue)), p);
		done++;
	}
	return done;
}

/* Retirement reads the txn's first two lines (a one-job txn's all). */
static void prefetch_txn(struct jt_mpsc_node *n)
{
	if (n != NULL) {
		__builtin_prefetch(txn_of_node(n), 1);
		__builtin_prefetch(&txn_of_node(n)->inline_member, 0);
	}
}

/* One pass over a spliced chain (struct jt_dispatcher_hooks, run), in
 * ready order or, `ordered`, in commit order. */
static inline __attribute__((always_inline)) unsigned
run_chain_as(jt_runtime *rt, struct jt_mpsc_node *n, struct jt_mpsc_node *last, unsigned budget,
             struct jt_mpsc_node **rest, bool ordered)
{
	struct pass p = {.now = jt_clock_ticks(), .now_left = NOW_REUSE};
	unsigned done = 0;

	/* The first is read at once; its successor is worth warming. */
	if (n != last)
		prefetch_txn(jt_mpsc_chain_peek(n, last));
	while (n != NULL && (budget == 0 || done < budget)) {
		struct jt_mpsc_node *next;

		/* Commit order: the head retires as soon as it is ready,
		 * before the next item (a cancel request, say) runs. */
		if (ordered) {
			done += backlog_run(rt, budget == 0 ? 0 : budget - done, &p);
			if (budget != 0 && done >= budget)
				break;
		}
		next = jt_mpsc_chain_next(n, last);
		/* Two ahead: the item after next was linked by now, most
		 * likely, and one item's run is too short to hide a miss. */
		if (next != NULL)
			prefetch_txn(jt_mpsc_chain_peek(next, last));
		done += txn_dispatch(rt, txn_of_node(n), &p, ordered);
		n = next;
	}
	*rest = n;
	if (ordered && (budget == 0 || done < budget))
		done += backlog_run(rt, budget == 0 ? 0 : budget - done, &p);
	if (p.retired != 0) {
		pass_publish(rt, &p);
		rt_signal_pass_end(rt);
	}
	return done;
}

__attribute__((noinline)) static unsigned run_chain_ordered(jt_runtime *rt, struct jt_mpsc_node *n,
                                                            struct jt_mpsc_node *last,
                                                            unsigned budget,
                                                            struct jt_mpsc_node **rest)
{
	return run_chain_as(rt, n, last, budget, rest, true);
}

static inline __attribute__((always_inline)) unsigned run_chain(void *arg, struct jt_mpsc_node *n,
                                                                struct jt_mpsc_node *last,
                                                                unsigned budget,
                                                                struct jt_mpsc_node **rest)
{
	jt_runtime *rt = arg;

	if (rt->flags & JT_RUNTIME_ORDERED)
		return run_chain_ordered(rt, n, last, budget, rest);
	return run_chain_as(rt, n, last, budget, rest, false);
}

unsigned txn_run_chain(void *rt, struct jt_mpsc_node *first, struct jt_mpsc_node *last,
                       unsigned budget, struct jt_mpsc_node **rest)
{
	return run_chain(rt, first, last, budget, rest);
}

/* Here, not with the rest of the API: the poll and the pass are one
 * function, the serial stage of a poll-mode runtime. */
int jt_runtime_poll(jt_runtime *rt, unsigned max)
{
	if (rt == NULL || !(rt->flags & JT_RUNTIME_POLL))
		return -EINVAL;
	if (rt_inherited(rt))
		return -EOWNERDEAD;
	return jt_dispatcher_poll_run(&rt->disp, max, run_chain, rt);
}
