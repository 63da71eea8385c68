/*
 * txn.c - building a txn, the countdown and the hand-off.
 *
 * Why every callback runs exactly once, after every armed job, and never
 * before commit:
 *
 * 1. `pending` counts the builder's hold plus the armed jobs not yet
 *    completed. From begin to seal the hold is a bias, TXN_HOLD, larger
 *    than any number of jobs: pending starts there, arming touches only the
 *    builder's own count `armed` (no read-modify-write per job), and each
 *    completion subtracts one, so pending stays far above 0. The seal gives
 *    up the hold by subtracting TXN_HOLD - armed, which leaves the armed
 *    jobs not yet completed (or, when the hold becomes a cancel request's
 *    unit, point 4, TXN_HOLD - armed - 1: one unit stays). Arming happens
 *    only before the seal, on the builder's thread, so after the seal
 *    pending only falls.
 * 2. Each armed job's state moves ARMED -> COMPLETED by a single
 *    compare-and-swap, so each job gives up its unit exactly once; a second
 *    completion loses the CAS and touches nothing else.
 * 3. Whoever takes pending from 1 to 0 (fetch_sub, acq_rel) is unique and
 *    owns the txn from then on: it stamps the ready time and posts the txn's
 *    work item to the dispatcher; after that it never touches the txn. The
 *    acq_rel chain of decrements, then the queue's release/acquire, make
 *    every completer's writes visible to the dispatcher (contract rule 5).
 * 4. Failure: the first non-zero status of a grouped txn (or a failed
 *    prepare) sets FAILING. Cancels must run on the dispatcher, after the
 *    seal, and before the txn can retire. Whichever of the seal and the
 *    FAILING fetch_or comes second sees both bits and posts the txn for
 *    cancel delivery, *transferring* its own unit of pending (the builder's
 *    hold, or the failing job's unit) instead of dropping it. The dispatcher
 *    delivers the cancels and then drops that unit, so the txn cannot retire
 *    before its cancels ran, and no cancel runs after a done.
 * 5. The txn's work item is therefore queued at most twice in sequence
 *    (cancel, then ready) and never twice at once: the ready post needs
 *    pending = 0, which needs the cancel unit dropped by the dispatcher.
 * 6. The runtime outlives the hand-off: the poster holds an RCU read-side
 *    section around the post, and jt_runtime_destroy waits for a grace
 *    period after the last retirement before it frees anything.
 * 7. Introspection reads txns that may retire and be reused under it, yet
 *    neither begin nor retirement touches a shared list: a txn object is
 *    linked in the registry from its allocation to its free (which waits
 *    for a grace period), and `id` says whether it is live. Begin writes
 *    the fields, then publishes the id (release). Retirement ends with an
 *    exchange of the id to 0 (acq_rel). A walker loads the id (acquire; 0:
 *    skip), reads the fields (atomics), and confirms the id unchanged with
 *    a fetch_add of 0 (acq_rel). If the retiring exchange follows that RMW
 *    it reads from it, so the walker's reads happen before the txn is
 *    retired and reused; if it precedes it, the walker sees another id and
 *    drops its snapshot (runtime_api.c, visit_txn).
 */
#include <errno.h>
#include <stddef.h>

#include "txn/txn_internal.h"

/*
 * Chunk capacities after the inline member: 15, 63, then 127 each. Each
 * fills a jemalloc size class (16 + n x 64 bytes: 976 of 1 KiB, 4048 of
 * 4 KiB, 8144 of 8 KiB; a 48-member chunk, 3088 bytes in the 3.5 KiB class,
 * made growth at G=256 25 % slower). A recycled txn keeps the 15
 * (txn_cache.c keeps 16 members) and allocates one chunk more up to 79
 * members. 256 members in one chunk made 16400 bytes, a large class
 * (20 KiB, extent allocator, page purges and faults when many large txns
 * come and go).
 */
#define CHUNK_SECOND_MEMBERS 15
#define CHUNK_THIRD_MEMBERS  63
#define CHUNK_MAX_MEMBERS    127

/* The inline first member is the first chunk's storage. */
_Static_assert(offsetof(jt_txn, inline_member) ==
                       offsetof(jt_txn, chunk) + offsetof(struct member_chunk, jobs),
               "inline member must follow the first chunk's header");
_Static_assert(sizeof(jt_job) <= 64, "a member is at most 64 bytes");
_Static_assert(sizeof(jt_txn) <= 256, "a txn is at most 256 bytes");
_Static_assert(offsetof(jt_txn, inline_member) == JT_CACHELINE,
               "the first member is the txn's second line");

void txn_hand_off(jt_txn *t)
{
	jt_runtime *rt = t->rt;

	jt_rcu_read_lock();
	jt_dispatcher_post(&rt->disp, &t->work);
	jt_rcu_read_unlock();
}

void txn_ready_hand_off(jt_txn *t)
{
	t->ready_ticks = jt_clock_ticks();
	jt_trace_txn_ready(t);
	txn_hand_off(t);
}

/*
 * Apply the status rule for `ret` != 0. Returns true when the caller's unit
 * of pending was transferred to a cancel request (point 4 above): the
 * caller must then not drop it.
 */
bool txn_record_failure(jt_txn *t, int ret, bool from_prepare)
{
	int seen = jt_load_relaxed(&t->status);
	bool first = false;
	uint32_t old;

	for (;;) {
		if (seen != 0 && !(seen == -ECANCELED && ret != -ECANCELED))
			break;
		/* relaxed: the status is published to the dispatcher by the
		 * pending/queue chain, to jt_job_cancelled by FAILING. */
		if (jt_cas_weak_relaxed(&t->status, &seen, ret)) {
			first = seen == 0;
			break;
		}
	}
	/* A failed prepare fails the txn whatever its flags; a job failure
	 * only a grouped txn, and only the first one. */
	if (!from_prepare && !(first && (jt_load_relaxed(&t->flags) & TXN_GROUPED)))
		return false;
	/* acq_rel: pairs with the seal's fetch_or; the second of the two sees
	 * both bits and posts the cancel request. */
	old = jt_fetch_or_acq_rel(&t->flags, TXN_FAILING);
	if ((old & TXN_FAILING) || !(old & TXN_SEALED))
		return false;
	txn_hand_off(t);
	return true;
}

static void release_slot(jt_runtime *rt)
{
	if (rt->max_inflight != 0)
		jt_fetch_sub_relaxed(&rt->inflight, 1);
}

static bool slot_available(jt_runtime *rt, void *arg)
{
	(void)arg;
	rt_retired_sync(rt); /* makes the retirements' decrements visible */
	return jt_load_relaxed(&rt->inflight) < rt->max_inflight;
}

/* Take one of max_inflight slots; 0, -EAGAIN, or a wait error. */
static int reserve_slot(jt_runtime *rt, unsigned flags)
{
	if (rt->max_inflight == 0)
		return 0;
	for (;;) {
		uint64_t cur = jt_load_relaxed(&rt->inflight);
		int err;

		while (cur < rt->max_inflight) {
			/* relaxed: the counter orders nothing else. */
			if (jt_cas_relaxed(&rt->inflight, &cur, cur + 1))
				return 0;
		}
		if ((flags & JT_TXN_NOWAIT) || jt_dispatcher_is_current(&rt->disp))
			return -EAGAIN;
		/* seq_cst: the Dekker pair with rt_signal_slot_waiters (wait.c);
		 * slot_available's first load of `retired` comes after it. */
		jt_fetch_add_seq_cst(&rt->slot_waiters, 1);
		err = rt_wait(rt, slot_available, NULL, -1);
		/* relaxed: a stale non-zero count costs one spurious wake. */
		jt_fetch_sub_relaxed(&rt->slot_waiters, 1);
		if (err != 0)
			return err;
	}
}

/*
 * Txn ids: unique in the process, never 0 (0 marks a txn that is not live,
 * point 7). Each thread takes a block of ids at a time.
 */
#define ID_BLOCK (1u << 16)

static _Atomic uint64_t id_blocks_taken;
static _Thread_local uint64_t next_id, id_block_end;

static uint64_t txn_next_id(void)
{
	if (next_id == id_block_end) {
		/* relaxed: only uniqueness matters. */
		uint64_t base = jt_fetch_add_relaxed(&id_blocks_taken, ID_BLOCK);

		next_id = base + 1;
		id_block_end = base + ID_BLOCK + 1;
	}
	return next_id++;
}

static jt_txn *txn_alloc(jt_runtime *rt, unsigned shard)
{
	jt_txn *t = txn_cache_take(rt, shard);

	if (t != NULL)
		return t;
	t = jt_alloc_get_aligned(&rt->alloc, sizeof(*t));
	if (t != NULL) {
		t->chunk.next = NULL;
		t->chunk.cap = TXN_INLINE_MEMBERS;
		jt_store_relaxed(&t->id, 0);
		/* Linked until freed (point 7); the link's release store
		 * publishes id = 0. */
		jt_registry_add(&rt->registry, &t->reg);
	}
	return t;
}

int jt_txn_begin(jt_runtime *rt, unsigned flags, jt_txn **out)
{
	jt_txn *t;
	uint64_t id;
	int err;

	if (rt == NULL || out == NULL || (flags & ~(JT_TXN_GROUPED | JT_TXN_NOWAIT)) != 0)
		return -EINVAL;
	if (rt_inherited(rt))
		return -EOWNERDEAD;
	err = reserve_slot(rt, flags);
	if (err != 0)
		return err;
	t = txn_alloc(rt, jt_registry_this_shard());
	if (t == NULL) {
		release_slot(rt);
		return -ENOMEM;
	}
	jt_store_relaxed(&t->pending, TXN_HOLD);
	jt_store_relaxed(&t->status, 0);
	jt_store_relaxed(&t->flags, (flags & JT_TXN_GROUPED) ? TXN_GROUPED : 0u);
	t->rt = rt;
	t->ready_ticks = 0;
	t->work.run = txn_dispatch;
	jt_store_relaxed(&t->begin_ns, jt_clock_coarse_ns());
	t->last = &t->chunk;
	t->chunk.count = 0;
	jt_store_relaxed(&t->members, 0);
	jt_store_relaxed(&t->phase, JT_TXN_OPEN);
	jt_store_relaxed(&t->armed, 0);
	t->committing = false;
	t->member_ops = 0;
	t->last_ops = NULL;
	jt_store_relaxed(&t->cancel_delivered, false);
	t->ready = false;
	t->u.live.done = NULL;
	t->u.live.done_opaque = NULL;
	t->u.live.waiter = NULL;
	id = txn_next_id();
	/* release: publishes the fields above to walkers, whose acquire load
	 * of the id pairs with it (point 7). */
	jt_store_release(&t->id, id);
	jt_trace_txn_begin(id, t, flags);
	jt_fetch_add_relaxed(&rt->builders[t->reg.shard].begun, 1);
	*out = t;
	return 0;
}

/* The next chunk to fill: a kept spare, or a new one. Out of line, so that
 * jt_txn_add's common path saves no registers. */
__attribute__((noinline, cold)) static struct member_chunk *chunk_advance(jt_txn *t)
{
	struct member_chunk *c = t->last->next;
	uint32_t cap;

	if (c == NULL) {
		cap = t->last == &t->chunk                   ? CHUNK_SECOND_MEMBERS
		      : t->last->cap == CHUNK_SECOND_MEMBERS ? CHUNK_THIRD_MEMBERS
		                                             : CHUNK_MAX_MEMBERS;
		c = jt_alloc_get(&t->rt->alloc, sizeof(*c) + cap * sizeof(jt_job));
		if (c == NULL)
			return NULL;
		c->next = NULL;
		c->cap = cap;
		t->last->next = c;
	}
	c->count = 0;
	t->last = c;
	return c;
}

static unsigned member_ops_of(const struct jt_member_ops *ops)
{
	unsigned m = 0;

	if (ops == NULL)
		return 0;
	if (ops->prepare || ops->commit || ops->abort || ops->clean)
		m |= MEMBER_SETUP;
	if (ops->done)
		m |= MEMBER_DONE;
	if (ops->destroy)
		m |= MEMBER_DESTROY;
	return m;
}

int jt_txn_add(jt_txn *t, const struct jt_member_ops *ops, void *opaque, jt_job **out)
{
	struct member_chunk *c;
	jt_job *j;

	if (t == NULL)
		return -EINVAL;
	if (t->committing)
		return -EBUSY;
	c = t->last;
	if (c->count == c->cap) {
		c = chunk_advance(t);
		if (c == NULL)
			return -ENOMEM;
	}
	j = &c->jobs[c->count++];
	j->txn = t;
	j->ops = ops;
	j->opaque = opaque;
	j->ret = 0;
	jt_store_relaxed(&j->state, JOB_IDLE);
	if (ops != t->last_ops) /* a run of members with the same ops: once */
		t->member_ops |= member_ops_of(t->last_ops = ops);
	/* relaxed: introspection reads a snapshot. */
	jt_store_relaxed(&t->members, jt_load_relaxed(&t->members) + 1);
	if (out != NULL)
		*out = j;
	return 0;
}

/* Give up the builder's hold (point 4 of the file comment). */
static void txn_seal(jt_txn *t)
{
	jt_runtime *rt = t->rt;
	struct builder_counters *bc = &rt->builders[t->reg.shard];
	uint32_t armed = jt_load_relaxed(&t->armed);
	uint32_t old;

	t->committing = false;
	jt_fetch_add_relaxed(&bc->jobs_armed, armed);
	/* Counted before the hold drops, so committed >= retired always; the
	 * release store of `retired` at retirement carries it to drain. */
	jt_fetch_add_relaxed(&bc->committed, 1);
	jt_store_relaxed(&t->phase, JT_TXN_RUNNING);
	if (rt->flags & JT_RUNTIME_ORDERED)
		jt_mpsc_push(&rt->order_queue, &t->u.live.order_node);
	/* acq_rel: pairs with the FAILING fetch_or in txn_record_failure. */
	old = jt_fetch_or_acq_rel(&t->flags, TXN_SEALED);
	if (old & TXN_FAILING) {
		/* The hold becomes the cancel request's unit: make it one unit
		 * before the dispatcher can drop it. relaxed: it leaves
		 * armed - completed + 1 >= 1, so it never hands the txn off;
		 * the post publishes. */
		jt_fetch_sub_relaxed(&t->pending, TXN_HOLD - armed - 1);
		txn_hand_off(t);
	} else {
		/* Convert the bias and give up the hold in one RMW (point 1).
		 * A cancel request posted after the seal carries a failing
		 * job's unit, which it has not dropped: pending cannot reach
		 * 0 before its cancels ran, whichever RMW comes first. */
		txn_put_n(t, TXN_HOLD - armed);
	}
}

int jt_txn_commit(jt_txn *t, void (*done)(void *opaque, int status), void *opaque)
{
	int err;

	if (t == NULL || t->committing)
		return -EINVAL;
	if (rt_inherited(t->rt))
		return -EOWNERDEAD; /* no callback may run in the child */
	t->u.live.done = done;
	t->u.live.done_opaque = opaque;
	t->committing = true;
	err = (t->member_ops & MEMBER_SETUP) ? txn_setup_pass(t) : 0;
	jt_trace_txn_commit(jt_load_relaxed(&t->id), t, jt_load_relaxed(&t->armed), err);
	txn_seal(t);
	return err;
}

void txn_free_chunks(jt_txn *t, struct member_chunk *c)
{
	while (c != NULL) {
		struct member_chunk *next = c->next;

		jt_alloc_put(&t->rt->alloc, c, sizeof(*c) + c->cap * sizeof(jt_job));
		c = next;
	}
}

void txn_free(jt_txn *t)
{
	txn_free_chunks(t, t->chunk.next);
	jt_alloc_put_aligned(&t->rt->alloc, t, sizeof(*t));
}

static bool waiter_done(jt_runtime *rt, void *arg)
{
	struct commit_waiter *w = arg;

	rt_retired_sync(rt); /* the Dekker pair with the dispatcher's wake */
	/* acquire: pairs with the release store in finish_waiter. */
	return jt_load_acquire(&w->done) != 0;
}

int jt_txn_commit_wait(jt_txn *t, int64_t timeout_ns, int *status)
{
	jt_runtime *rt;
	struct commit_waiter *w;
	int err, waited;

	if (t == NULL)
		return -EINVAL;
	rt = t->rt;
	if (rt_inherited(rt))
		return -EOWNERDEAD;
	if (jt_dispatcher_is_current(&rt->disp))
		return -EDEADLK;
	if (t->committing)
		return -EINVAL;
	w = jt_alloc_get(&rt->alloc, sizeof(*w));
	if (w == NULL)
		return -ENOMEM;
	jt_store_relaxed(&w->done, 0);
	jt_store_relaxed(&w->refs, 2);
	w->status = 0;
	t->u.live.waiter = w;
	err = jt_txn_commit(t, NULL, NULL);
	waited = rt_wait(rt, waiter_done, w, timeout_ns);
	if (waited == 0 && status != NULL)
		*status = w->status;
	/* acq_rel: the last of the waiter and the dispatcher frees it. */
	if (jt_fetch_sub_acq_rel(&w->refs, 1) == 1)
		jt_alloc_put(&rt->alloc, w, sizeof(*w));
	return waited != 0 ? waited : err;
}
