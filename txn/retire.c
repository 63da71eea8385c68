/*
 * retire.c - the dispatcher's side: cancel delivery, retirement in ready or
 * commit order, and reclamation after a grace period.
 *
 * Everything here runs on the dispatcher (its thread, or the thread inside
 * jt_runtime_poll), one item at a time, with no internal lock held while a
 * user callback runs. Recycling is batched: retired txns wait in a limbo
 * list per builder shard and go back to their builders' cache
 * (txn_cache.c) in groups of LIMBO_BATCH, with no grace period: a txn object
 * stays linked in the registry while it is recycled, and introspection
 * tells a live txn from a recycled one by its id (txn.c, point 7). Only
 * full groups go; a partial one waits, or goes at jt_runtime_destroy.
 */
#include "txn/txn_internal.h"

#define LIMBO_BATCH  64
#define SIGNAL_BATCH 64 /* wake blocked waiters at least this often */

static jt_txn *txn_of_work(struct jt_work *w)
{
	return (jt_txn *)((char *)w - offsetof(jt_txn, work));
}

static jt_txn *txn_of_order_node(struct jt_mpsc_node *n)
{
	return (jt_txn *)((char *)n - offsetof(jt_txn, u.live.order_node));
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

/* Send one shard's batch back to its builders' cache. */
static void limbo_flush_shard(jt_runtime *rt, struct limbo *l)
{
	jt_txn *first = l->head;

	if (first == NULL)
		return;
	first->u.dead.batch_tail = l->tail;
	first->u.dead.batch_count = l->count;
	l->head = l->tail = NULL;
	l->count = 0;
	txn_cache_give_batch(rt, first);
}

void txn_limbo_flush(jt_runtime *rt)
{
	for (unsigned i = 0; i < JT_REGISTRY_SHARDS; i++)
		limbo_flush_shard(rt, &rt->limbo[i]);
}

/* Retired: free spare chunks now (introspection never reads members), and
 * queue the txn itself for its builders' cache. */
static void limbo_add(jt_runtime *rt, jt_txn *t)
{
	struct limbo *l = &rt->limbo[t->reg.shard];

	if (t->chunk.next != NULL)
		txn_cache_trim(t);
	t->u.dead.next = l->head; /* t->u.live is dead from here */
	if (l->head == NULL)
		l->tail = t;
	l->head = t;
	if (++l->count >= LIMBO_BATCH)
		limbo_flush_shard(rt, l);
}

/*
 * The clock for retire latency, read once per NOW_REUSE retirements of a
 * pass (an rdtsc costs about 10 ns on the development VM, as much as the
 * rest of a retirement's bookkeeping): a latency may read short by the time
 * the few retirements before it took, never long. Read afresh for the first
 * retirement of each pass (txn_pass_done) and whenever `ready` is newer.
 */
#define NOW_REUSE 8

static uint64_t retire_now(jt_runtime *rt, uint64_t ready)
{
	if (rt->now_reuse == 0 || rt->now_ticks < ready) {
		rt->now_ticks = jt_clock_ticks();
		rt->now_reuse = NOW_REUSE;
	}
	rt->now_reuse--;
	return rt->now_ticks < ready ? ready : rt->now_ticks;
}

static void finish_waiter(jt_txn *t, int status)
{
	struct commit_waiter *w = t->u.live.waiter;

	if (w == NULL)
		return;
	w->status = status;
	/* release: pairs with the acquire load in waiter_done, which then
	 * reads w->status. */
	jt_store_release(&w->done, 1);
}

static void drop_waiter(jt_runtime *rt, struct commit_waiter *w)
{
	/* acq_rel: the last of the waiter and the dispatcher frees it. */
	if (w != NULL && jt_fetch_sub_acq_rel(&w->refs, 1) == 1)
		jt_alloc_put(&rt->alloc, w, sizeof(*w));
}

/* Run every callback of `t` and take it out of the live set. */
static void txn_retire(jt_txn *t)
{
	jt_runtime *rt = t->rt;
	int status = jt_load_relaxed(&t->status);
	struct commit_waiter *waiter = t->u.live.waiter;
	struct member_chunk *c;
	jt_job *j;
	uint64_t failed_jobs = 0;

	jt_store_relaxed(&t->phase, JT_TXN_RETIRING);
	jt_latency_histogram_record(&rt->latency, retire_now(rt, t->ready_ticks) - t->ready_ticks);
	for_each_member(t, c, j)
	{
		/* A job's ret stays 0 unless it completed (job.c). */
		int ret = j->ret;

		failed_jobs += ret != 0;
		if ((t->member_ops & MEMBER_DONE) && j->ops != NULL && j->ops->done != NULL)
			j->ops->done(j->opaque, ret, status);
	}
	if (t->u.live.done != NULL)
		t->u.live.done(t->u.live.done_opaque, status);
	if (t->member_ops & MEMBER_DESTROY) {
		for_each_member(t, c, j)
		{
			if (j->ops != NULL && j->ops->destroy != NULL)
				j->ops->destroy(j->opaque);
		}
	}
	jt_trace_txn_retire(jt_load_relaxed(&t->id), t, status);
	/* acq_rel: no longer live for introspection; pairs with a walker's
	 * fetch_add of 0 on the id (txn.c, point 7). */
	jt_xchg_acq_rel(&t->id, 0);
	counter_add(&rt->counters.jobs_completed, jt_load_relaxed(&t->armed));
	if (status != 0) { /* a failed job always makes the status non-zero */
		counter_add(&rt->counters.jobs_failed, failed_jobs);
		counter_add(&rt->counters.failed, 1);
	}
	if (rt->max_inflight != 0)
		jt_fetch_sub_relaxed(&rt->inflight, 1); /* published by `retired` */
	finish_waiter(t, status);
	/* release, not seq_cst: a full barrier per retirement would wait for
	 * every store above to reach memory. The Dekker pair with waiters
	 * uses the seq_cst RMW in rt_signal_waiters (wait.c). */
	jt_store_release(&rt->retired, jt_load_relaxed(&rt->retired) + 1);
	/* Waiters are woken at the end of each pass (txn_pass_done), a
	 * commit_wait caller at once, and a begin at max_inflight also every
	 * SIGNAL_BATCH retirements (wait.c, rt_signal_slot_waiters): a drain
	 * is not woken in the middle of a pass it cannot finish in. */
	rt->unsignalled++;
	if (waiter != NULL) {
		rt->unsignalled = 0;
		rt_signal_waiters(rt);
	} else if (rt->max_inflight != 0 && ++rt->slot_batch >= SIGNAL_BATCH) {
		rt->slot_batch = 0;
		if (rt_signal_slot_waiters(rt))
			rt->unsignalled = 0;
	}
	drop_waiter(rt, waiter);

	limbo_add(rt, t);
}

/* `t` has no pending unit left: retire now, or in commit order. */
static unsigned txn_ready(jt_txn *t)
{
	if (t->rt->flags & JT_RUNTIME_ORDERED) {
		t->ready = true; /* txn_backlog_run retires it in turn */
		return 0;
	}
	txn_retire(t);
	return 1;
}

void txn_prefetch(struct jt_work *next)
{
	jt_txn *t = txn_of_work(next);

	/* Retirement reads and writes every line of the txn. */
	for (size_t off = 0; off < sizeof(*t); off += JT_CACHELINE)
		__builtin_prefetch((char *)t + off, 1);
}

unsigned txn_dispatch(struct jt_work *w)
{
	jt_txn *t = txn_of_work(w);

	/* acquire: pairs with the FAILING/SEALED fetch_or of the poster. */
	if ((jt_load_acquire(&t->flags) & TXN_FAILING) && !jt_load_relaxed(&t->cancel_delivered)) {
		jt_store_relaxed(&t->cancel_delivered, true);
		deliver_cancels(t);
		/* Drop the unit the cancel request carried (txn.c, point 4). */
		if (jt_fetch_sub_acq_rel(&t->pending, 1) != 1)
			return 0;
		t->ready_ticks = jt_clock_ticks();
		jt_trace_txn_ready(t);
	}
	return txn_ready(t);
}

bool txn_backlog_ready(void *arg)
{
	jt_runtime *rt = arg;
	struct jt_mpsc_node *n;

	/* A dispatcher hook of ordered runtimes only (runtime_api.c). */
	n = jt_mpsc_peek(&rt->order_queue);
	return n != NULL && txn_of_order_node(n)->ready;
}

unsigned txn_backlog_run(void *arg, unsigned budget)
{
	jt_runtime *rt = arg;
	unsigned done = 0;

	while ((budget == 0 || done < budget) && txn_backlog_ready(rt)) {
		/* The head is linked: popping it waits at most for the
		 * producer that is linking the node behind it. */
		jt_txn *t = txn_of_order_node(jt_mpsc_pop_wait(&rt->order_queue));

		txn_retire(t);
		done++;
	}
	return done;
}

void txn_pass_done(void *arg)
{
	jt_runtime *rt = arg;

	rt->now_reuse = 0;
	if (rt->unsignalled != 0) {
		rt->unsignalled = 0;
		rt_signal_pass_end(rt);
	}
}
