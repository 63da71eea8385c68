/*
 * txn.c - building a txn, the countdown and the hand-off.
 *
 * Why every callback runs exactly once, after every armed job, and never
 * before commit:
 *
 * 1. `pending` counts the builder's hold plus the armed jobs not yet
 *    completed; its top bit (TXN_FAILING_BIT) is the unit of a cancel
 *    request not yet delivered (point 4). From begin to seal the hold is a
 *    bias, TXN_HOLD, larger than any number of jobs: pending starts there,
 *    arming touches only the builder's own count `armed` (no
 *    read-modify-write per job), and each completion subtracts one, so the
 *    count stays far above 0. The seal gives up the hold with one fetch_sub
 *    of TXN_HOLD - armed, which leaves the armed jobs not yet completed.
 *    Arming happens only before the seal, on the builder's thread, so after
 *    the seal the count only falls.
 * 2. Each armed job's state moves ARMED -> COMPLETED by a single
 *    compare-and-swap, so each job gives up its unit exactly once; a second
 *    completion loses the CAS and touches nothing else.
 * 3. Whoever takes pending to 0 (fetch_sub, acq_rel) is unique and owns the
 *    txn from then on: it stamps the ready time and posts the txn to the
 *    dispatcher; after that it never touches the txn. The acq_rel chain of
 *    RMWs on pending, then the queue's release/acquire, make every
 *    completer's writes visible to the dispatcher (contract rule 5). The
 *    word is 0 only with the failing bit clear, so "the last one" is the
 *    RMW that returns exactly 1: a completion is one locked subtract and a
 *    branch on its result.
 * 4. Failure: the first non-zero status of a grouped txn (or a failed
 *    prepare) sets the failing bit with one CAS on pending; a failing job
 *    drops its own unit in the same CAS. Cancels must run on the
 *    dispatcher, after the seal, before the txn can retire, exactly once.
 *    The seal's fetch_sub and the failing CAS are RMWs of one word, so one
 *    of them comes second and sees the other: a failing CAS that finds the
 *    count still biased leaves the post to the seal, which finds the bit;
 *    one that finds the txn sealed posts the cancel request itself. Either
 *    way exactly one request is posted, and the bit is its unit: while it
 *    is set the word cannot be 0, so no completer can hand the txn over.
 *    The dispatcher delivers the cancels, sets TXN_FAILING in `flags`
 *    (jt_job_cancelled stays true), then clears the bit with a fetch_sub;
 *    if that leaves 0 it retires the txn itself, else the completer that
 *    later takes the count to 0 posts it. So no cancel runs after a done.
 * 5. The txn is therefore queued at most twice in sequence (cancel, then
 *    ready) and never twice at once: the ready post needs the word at 0,
 *    which needs the dispatcher to have taken the cancel request and
 *    cleared the bit.
 * 6. The runtime outlives the hand-off: the poster holds an RCU read-side
 *    section around the post, and jt_runtime_destroy waits for a grace
 *    period after the last retirement before it frees anything.
 * 7. Introspection reads txns that may retire and be reused under it, yet
 *    neither begin nor retirement touches a shared list or a shared line: a
 *    txn object is linked in the registry from its allocation to its free
 *    (which waits for a grace period), and `live` says whether it is in
 *    use. Begin writes the fields, then sets `live` (release); retirement
 *    clears it (relaxed). A retired txn goes back for reuse in a batch, and
 *    the batch's give-back makes a seq_cst RMW on `walkers`, which a walker
 *    increments (seq_cst) inside its RCU read-side section and decrements
 *    (release) before leaving it. If the RMW reads 0, every earlier walker
 *    is done (its decrement is read) and every later one follows the RMW
 *    in the order of `walkers`, so it sees `live` cleared, or set again by
 *    a later begin together with that begin's fields; the batch is reused
 *    at once. Otherwise some walker's read-side section began before the
 *    RMW, and the batch is reused only after a grace period (the
 *    reclaimer). So a walker never mixes two uses of one object, and never
 *    reads freed memory (txn_cache.c frees by the same rule).
 */
#include <errno.h>
#include <stddef.h>

#include "txn/txn_internal.h"

/*
 * Chunk capacities after the inline member: 15, 63, then 127 each. Each
 * fills a jemalloc size class (32 + n x 64 bytes: 992 of 1 KiB, 4064 of
 * 4 KiB, 8160 of 8 KiB; a 48-member chunk, 3.5 KiB class, made growth at
 * G=256 25 % slower). A recycled txn keeps the 15 (txn_cache.c keeps 16
 * members) and allocates one chunk more up to 79 members. 256 members in
 * one chunk made 16400 bytes, a large class (20 KiB, extent allocator, page
 * purges and faults when many large txns come and go).
 */
#define CHUNK_SECOND_MEMBERS 15
#define CHUNK_THIRD_MEMBERS  63
#define CHUNK_MAX_MEMBERS    127

_Static_assert(sizeof(jt_job) <= 64, "a member is at most 64 bytes");
_Static_assert(sizeof(jt_txn) <= 256, "a txn is at most 256 bytes");
_Static_assert(offsetof(jt_txn, inline_member) == JT_CACHELINE,
               "the first member is the txn's second line");
_Static_assert(offsetof(jt_txn, id) + sizeof(uint64_t) <= JT_CACHELINE,
               "retirement reads the txn's first line only");
_Static_assert(offsetof(jt_txn, node) == 0, "txn_of_node is a cast");

void txn_hand_off(jt_txn *t)
{
	jt_rcu_read_lock();
	jt_dispatcher_post(&t->rt->disp, &t->node);
	jt_rcu_read_unlock();
}

/* Returns 0 (txn_put). */
int txn_ready_hand_off(jt_txn *t)
{
	t->ready_ticks = jt_clock_ticks();
	jt_trace_txn_ready(t);
	txn_hand_off(t);
	return 0;
}

/*
 * Apply the status rule for `ret` != 0, and make the txn fail where it
 * must (point 4). `unit`: the caller is a completing job, which holds one
 * unit of pending. Returns true when that unit was dropped here (the caller
 * must then not drop it).
 */
bool txn_record_failure(jt_txn *t, int ret, bool unit)
{
	int seen = jt_load_relaxed(&t->status);
	bool first = false, sealed;
	uint64_t old, new;

	for (;;) {
		if (seen != 0 && !(seen == -ECANCELED && ret != -ECANCELED))
			break;
		/* relaxed: the status is published to the dispatcher by the
		 * pending/queue chain, to jt_job_cancelled by the failing CAS. */
		if (jt_cas_weak_relaxed(&t->status, &seen, ret)) {
			first = seen == 0;
			break;
		}
	}
	/* A failed prepare fails the txn whatever its flags; a job failure
	 * only a grouped txn, and only the first one. */
	if (unit && !(first && (jt_load_relaxed(&t->flags) & TXN_GROUPED)))
		return false;
	/* acquire (and the CAS's on failure): a word the dispatcher's
	 * clearing RMW wrote comes with the TXN_FAILING it stored before. */
	old = jt_load_acquire(&t->pending);
	do {
		/* Already failing: a failed prepare and a job's first failure
		 * raced and the other one set the bit, or its request was even
		 * delivered already (the bit cleared, the flag set). */
		if ((old & TXN_FAILING_BIT) || (jt_load_relaxed(&t->flags) & TXN_FAILING))
			return false;
		sealed = pending_sealed(old);
		new = (old | TXN_FAILING_BIT) - (unit ? 1 : 0);
		/* acq_rel: one of this CAS and the seal's fetch_sub reads the
		 * other (point 4); the release publishes the status to
		 * jt_job_cancelled's acquire load. */
	} while (!jt_cas_weak_acq_rel(&t->pending, &old, new));
	if (sealed)
		txn_hand_off(t); /* the cancel request; the bit is its unit */
	return unit;
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
__attribute__((noinline)) static int reserve_slot(jt_runtime *rt, unsigned flags)
{
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
 * Txn ids: unique in the process, never 0. Each thread takes a block of ids
 * at a time.
 */
#define ID_BLOCK (1u << 16)

static _Atomic uint64_t id_blocks_taken;
static _Thread_local uint64_t next_id, id_block_end;

__attribute__((noinline, cold)) static void take_id_block(void)
{
	/* relaxed: only uniqueness matters. */
	uint64_t base = jt_fetch_add_relaxed(&id_blocks_taken, ID_BLOCK);

	next_id = base + 1;
	id_block_end = base + ID_BLOCK + 1;
}

static uint64_t txn_next_id(void)
{
	if (next_id == id_block_end)
		take_id_block();
	return next_id++;
}

__attribute__((noinline)) static jt_txn *txn_alloc_new(jt_runtime *rt, unsigned shard)
{
	jt_txn *t = jt_alloc_get_aligned(&rt->alloc, sizeof(*t));

	if (t == NULL)
		return NULL;
	t->rt = rt;
	t->shard = (uint8_t)shard;
	t->head.next = NULL;
	t->head.cap = 1;
	t->last_ops = NULL;
	t->last_bits = 0;
	t->kept_bytes = 0;
	jt_store_relaxed(&t->live, 0);
	/* Linked until freed (point 7); the link's release store publishes
	 * live = 0. */
	jt_registry_add(&rt->registry, shard, &t->reg);
	return t;
}

int jt_txn_begin(jt_runtime *rt, unsigned flags, jt_txn **out)
{
	unsigned shard;
	jt_txn *t;
	uint64_t id;

	if (rt == NULL || out == NULL || (flags & ~(JT_TXN_GROUPED | JT_TXN_NOWAIT)) != 0)
		return -EINVAL;
	if (rt_inherited(rt))
		return -EOWNERDEAD;
	if (rt->max_inflight != 0) {
		int err = reserve_slot(rt, flags);

		if (err != 0)
			return err;
	}
	shard = jt_registry_this_shard();
	t = txn_cache_take(rt, shard);
	if (t == NULL && (t = txn_alloc_new(rt, shard)) == NULL) {
		release_slot(rt);
		return -ENOMEM;
	}
	/* Line 1: what completers and retirement read. */
	jt_store_relaxed(&t->pending, TXN_HOLD);
	jt_store_relaxed(&t->status, 0);
	t->done = NULL;
	t->done_opaque = NULL;
	id = txn_next_id();
	jt_store_relaxed(&t->id, id);
	/* Lines 3 and 4: the builder's. */
	t->u.build.fill = &t->inline_member;
	t->u.build.fill_end = &t->inline_member + 1;
	t->last = &t->head;
	jt_store_relaxed(&t->members, 0);
	jt_store_relaxed(&t->flags, (flags & JT_TXN_GROUPED) ? TXN_GROUPED : 0u);
	jt_store_relaxed(&t->armed, 0);
	jt_store_relaxed(&t->begin_ns, jt_clock_coarse_ns());
	/* The bits of the last ops of the previous use: right if the first
	 * member has those ops, replaced by note_ops if not. */
	t->member_ops = t->last_bits;
	t->committing = false;
	/* release: publishes the fields above to walkers, whose acquire load
	 * of `live` pairs with it (point 7). */
	jt_store_release(&t->live, 1);
	jt_trace_txn_begin(id, t, flags);
	jt_fetch_add_relaxed(&rt->builders[shard].begun, 1);
	*out = t;
	return 0;
}

/* The chunk after the full one being filled: a kept spare, or a new one. */
static struct member_chunk *chunk_advance(jt_txn *t)
{
	struct member_chunk *last = t->last, *c = last->next;
	uint32_t cap;

	if (c == NULL) {
		cap = last == &t->head                    ? CHUNK_SECOND_MEMBERS
		      : last->cap == CHUNK_SECOND_MEMBERS ? CHUNK_THIRD_MEMBERS
		                                          : CHUNK_MAX_MEMBERS;
		c = jt_alloc_get(&t->rt->alloc, sizeof(*c) + cap * sizeof(jt_job));
		if (c == NULL)
			return NULL;
		c->next = NULL;
		c->cap = cap;
		last->next = c;
	}
	last->count = last->cap;
	t->last = c;
	t->u.build.fill = c->jobs;
	t->u.build.fill_end = c->jobs + c->cap;
	return c;
}

/* A member with other ops than the one before: what they add (the first
 * member's replace what begin assumed). */
static void note_ops(jt_txn *t, const struct jt_member_ops *ops)
{
	unsigned m = 0;

	if (ops != NULL) {
		if (ops->prepare || ops->commit || ops->abort || ops->clean)
			m |= MEMBER_SETUP;
		if (ops->done)
			m |= MEMBER_DONE;
		if (ops->destroy)
			m |= MEMBER_DESTROY;
	}
	t->last_ops = ops;
	t->last_bits = (uint8_t)m;
	if (jt_load_relaxed(&t->members) == 0)
		t->member_ops = (uint8_t)m;
	else
		t->member_ops |= (uint8_t)(m | MEMBER_MIXED);
}

/* Out of line, so that jt_txn_add's common path saves no registers: the
 * current chunk is full, or the setup pass runs (it empties the cursor). */
__attribute__((noinline, cold)) static int add_slow(jt_txn *t, const struct jt_member_ops *ops,
                                                    void *opaque, jt_job **out)
{
	if (t->committing)
		return -EBUSY;
	if (chunk_advance(t) == NULL)
		return -ENOMEM;
	return jt_txn_add(t, ops, opaque, out);
}

int jt_txn_add(jt_txn *t, const struct jt_member_ops *ops, void *opaque, jt_job **out)
{
	jt_job *j;

	if (t == NULL)
		return -EINVAL;
	j = t->u.build.fill;
	if (j == t->u.build.fill_end)
		return add_slow(t, ops, opaque, out);
	t->u.build.fill = j + 1;
	j->txn = t;
	j->ops = ops;
	j->opaque = opaque;
	j->ret = 0;
	jt_store_relaxed(&j->state, JOB_IDLE);
	if (ops != t->last_ops) /* a run of members with the same ops: once */
		note_ops(t, ops);
	/* relaxed: introspection reads a snapshot. */
	jt_store_relaxed(&t->members, jt_load_relaxed(&t->members) + 1);
	if (out != NULL)
		*out = j;
	return 0;
}

/* What retirement must do, known at the seal (txn_internal.h). */
static uint8_t retire_ops_of(const jt_txn *t)
{
	size_t members = jt_load_relaxed(&t->members);
	unsigned r = t->member_ops & (MEMBER_DONE | MEMBER_DESTROY);

	if (members == 0)
		r = RETIRE_EMPTY; /* member_ops still holds begin's guess */
	else if (members > 1)
		r |= RETIRE_MULTI;
	else if (jt_load_relaxed(&t->armed) != 0)
		r |= RETIRE_ARMED1;
	if (t->rt->max_inflight != 0)
		r |= RETIRE_SLOT;
	if (t->done != NULL)
		r |= RETIRE_TXN_DONE;
	return (uint8_t)r;
}

/* Give up the builder's hold (points 1 and 4 of the file comment). */
static inline __attribute__((always_inline)) void txn_seal(jt_txn *t, uint8_t retire_ops)
{
	jt_runtime *rt = t->rt;
	struct builder_counters *bc = &rt->builders[t->shard];
	uint32_t armed = jt_load_relaxed(&t->armed);
	uint64_t hold = TXN_HOLD - armed, old;

	t->committing = false;
	t->retire_ops = retire_ops;
	jt_fetch_add_relaxed(&bc->jobs_armed, armed);
	/* Counted before the hold drops, so committed >= retired always; the
	 * seq_cst RMW of `retired` at a pass end carries it to drain. */
	jt_fetch_add_relaxed(&bc->committed, 1);
	/* release: as job_arm_as's store, for introspection's acquire load
	 * of `armed` that reads this value. */
	jt_store_release(&t->armed, armed | TXN_ARMED_SEALED); /* jt_job_arm refuses */
	if (rt->flags & JT_RUNTIME_ORDERED) {
		t->ready = false;
		jt_mpsc_push(&rt->order_queue, &t->order_node);
	}
	txn_submits_flush();
	/* acq_rel: pairs with every RMW on pending; one of this and a failing
	 * CAS reads the other (point 4). */
	old = jt_fetch_sub_acq_rel(&t->pending, hold);
	if (old & TXN_FAILING_BIT)
		txn_hand_off(t); /* the cancel request a failure left to us */
	else if (old == hold)
		txn_ready_hand_off(t);
}

/* The setup pass counts and walks the members: close the last chunk, and
 * empty the cursor so that jt_txn_add inside it takes the slow path. */
static void close_members(jt_txn *t)
{
	struct member_chunk *last = t->last;

	last->count = (uint32_t)(t->u.build.fill - chunk_jobs(t, last));
	t->u.build.fill_end = t->u.build.fill;
}

/* Setup pass and seal; `retire_extra` adds RETIRE_WAITER for commit_wait. */
static inline __attribute__((always_inline)) int
txn_commit(jt_txn *t, void (*done)(void *opaque, int status), void *opaque, uint8_t retire_extra)
{
	int err;

	t->done = done;
	t->done_opaque = opaque;
	t->committing = true;
	close_members(t);
	err = (t->member_ops & MEMBER_SETUP) ? txn_setup_pass(t) : 0;
	jt_trace_txn_commit(jt_load_relaxed(&t->id), t, jt_load_relaxed(&t->armed), err);
	txn_seal(t, retire_ops_of(t) | retire_extra);
	return err;
}

int jt_txn_commit(jt_txn *t, void (*done)(void *opaque, int status), void *opaque)
{
	if (t == NULL || t->committing)
		return -EINVAL;
	if (rt_inherited(t->rt))
		return -EOWNERDEAD; /* no callback may run in the child */
	return txn_commit(t, done, opaque, 0);
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
	if (t->kept_bytes != 0)
		jt_fetch_sub_relaxed(&t->rt->caches[t->shard].kept_bytes, t->kept_bytes);
	txn_free_chunks(t, t->head.next);
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
	t->waiter = w;
	err = txn_commit(t, NULL, NULL, RETIRE_WAITER);
	waited = rt_wait(rt, waiter_done, w, timeout_ns);
	if (waited == 0 && status != NULL)
		*status = w->status;
	/* acq_rel: the last of the waiter and the dispatcher frees it. */
	if (jt_fetch_sub_acq_rel(&w->refs, 1) == 1)
		jt_alloc_put(&rt->alloc, w, sizeof(*w));
	return waited != 0 ? waited : err;
}
