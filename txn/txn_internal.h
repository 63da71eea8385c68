/*
 * txn_internal.h - the objects behind jt_runtime, jt_txn and jt_job.
 *
 * Layout follows who touches what. A txn is four cache lines:
 *   1  the countdown and everything retirement reads: pending, status, the
 *      hand-off link, the ready stamp, the txn's own done, the id. The last
 *      completer writes it, the dispatcher reads it.
 *   2  the first member (a one-job txn is retired from lines 1 and 2 alone).
 *   3  the builder's: fill cursor, counts, flags (introspection reads some).
 *   4  the head of the member chunk list, the registry link, a commit_wait
 *      waiter, the commit-order link.
 * Per-member state is 64 bytes; members after the first live in chunks
 * (15, 63, then 127 members each), so a txn makes one allocation per chunk,
 * not per member, and jt_job pointers never move.
 */
#ifndef JT_TXN_INTERNAL_H
#define JT_TXN_INTERNAL_H

#include <stdbool.h>
#include <stdint.h>

#include "atomics/cacheline.h"
#include "jobtxn.h"
#include "runtime/alloc.h"
#include "runtime/clock.h"
#include "runtime/dispatcher.h"
#include "runtime/fork.h"
#include "runtime/latency_histogram.h"
#include "runtime/rcu.h"
#include "runtime/reclaimer.h"
#include "runtime/registry.h"
#include "runtime/worker_pool.h"
#include "txn/trace.h"

/* jt_job.state: one read-modify-write moves it forward. A hooked job
 * (job_hook.h) is armed as JOB_ARMED_HOOKED, which only
 * jt_private_job_complete_hooked completes. */
enum { JOB_IDLE = 0, JOB_ARMED = 1, JOB_COMPLETED = 2, JOB_ARMED_HOOKED = 3 };

/*
 * jt_txn.pending (txn.c, point 1): bit 63 says "failing, cancels not yet
 * delivered"; the rest counts units. While the txn is built the count holds
 * the builder's bias TXN_HOLD, so the count is above TXN_HOLD / 2 exactly
 * until the seal.
 */
#define TXN_FAILING_BIT (UINT64_C(1) << 63)
#define TXN_HOLD        (UINT64_C(1) << 62)

static inline uint64_t pending_count(uint64_t p)
{
	return p & ~TXN_FAILING_BIT;
}

static inline bool pending_sealed(uint64_t p)
{
	return pending_count(p) < TXN_HOLD / 2;
}

/* jt_txn.flags: GROUPED from begin; FAILING from cancel delivery on
 * (dispatcher), when pending's bit is cleared. One writer at a time, each
 * ordered after the previous by the hand-offs. */
#define TXN_GROUPED 0x1u
#define TXN_FAILING 0x4u

/* jt_txn.armed: the jobs armed so far, and from the seal on this bit, so
 * that jt_job_arm checks both with one load. */
#define TXN_ARMED_SEALED (UINT32_C(1) << 31)

/* jt_txn.member_ops: callbacks some member has (the others cost nothing) */
#define MEMBER_SETUP   0x1u /* prepare, commit, abort or clean */
#define MEMBER_DONE    0x2u
#define MEMBER_DESTROY 0x4u
#define MEMBER_MIXED   0x8u /* not every member has the same ops */

/* jt_txn.retire_ops, set at the seal: what retirement must do, in one byte
 * of the txn's first line, so that the common case costs one test. */
#define RETIRE_ARMED1   0x01u /* one member, armed: one job completed */
#define RETIRE_DONE     MEMBER_DONE
#define RETIRE_DESTROY  MEMBER_DESTROY
#define RETIRE_EMPTY    0x08u /* no member at all */
#define RETIRE_MULTI    0x10u /* members in chunks after the inline one */
#define RETIRE_WAITER   0x20u /* a jt_txn_commit_wait caller */
#define RETIRE_SLOT     0x40u /* holds one of max_inflight slots */
#define RETIRE_TXN_DONE 0x80u /* the txn's own done */
/* Any of these: retire.c's general path. */
#define RETIRE_GENERAL (RETIRE_DESTROY | RETIRE_EMPTY | RETIRE_MULTI | RETIRE_WAITER | RETIRE_SLOT)

struct jt_job {
	jt_txn *txn;
	const struct jt_member_ops *ops;
	void *opaque;
	_Atomic uint32_t state;
	int ret; /* written by a failing completer after it won `state` */
	union {
		struct {
			jt_complete_fn *cb;
			void *cb_opaque;
		} wrap;
		struct {
			struct jt_work work;
			int (*fn)(jt_job *j, void *arg);
			void *arg;
		} submit;
		struct { /* job_hook.h */
			void (*fn)(jt_job *j, void *arg);
			void *arg;
		} hook;
	} u;
};

/* Members in registration order: the txn's head chunk is its inline
 * member; the others carry their members after the header. */
struct member_chunk {
	struct member_chunk *next;
	uint32_t count; /* members in use: cap, but in the last chunk (set at commit) */
	uint32_t cap;
	jt_job jobs[]; /* none in the head chunk (chunk_jobs) */
};

/* Blocks a jt_txn_commit_wait caller; shared with the dispatcher. */
struct commit_waiter {
	_Atomic uint32_t done;
	_Atomic uint32_t refs; /* the waiter's and the dispatcher's */
	int status;
};

struct jt_txn {
	/* --- line 1: completers and the dispatcher --- */
	/* The hand-off to the dispatcher; after retirement, the link of the
	 * dead lists (limbo, cache). First: a node is its txn. */
	jt_cacheline_aligned struct jt_mpsc_node node;
	_Atomic uint64_t pending;
	_Atomic int status;
	uint8_t retire_ops;   /* RETIRE_*: the builder at the seal */
	uint8_t shard;        /* registry shard and cache: constant */
	_Atomic uint8_t live; /* begin to retirement (txn.c, point 7) */
	jt_runtime *rt;
	uint64_t ready_ticks; /* by whoever brought pending to 0 */
	void (*done)(void *opaque, int status);
	void *done_opaque;
	_Atomic uint64_t id;
	/* --- line 2: the first member --- */
	jt_job inline_member;
	/* --- line 3: the builder's until the seal --- */
	jt_cacheline_aligned union {
		struct {
			jt_job *fill, *fill_end; /* free slots of the chunk being filled */
		} build;
		/* After retirement, the first txn of a dead batch only: */
		struct {
			struct jt_work work; /* recycles or frees it after a grace period */
			jt_txn *tail;
		} batch;
	} u;
	struct member_chunk *last; /* the chunk being filled, then the last one used */
	_Atomic size_t members;    /* read by introspection */
	_Atomic uint32_t flags;    /* TXN_GROUPED | TXN_FAILING */
	_Atomic uint32_t armed;    /* | TXN_ARMED_SEALED; builder: load + store */
	_Atomic uint64_t begin_ns; /* introspection's age: coarse clock */
	uint8_t member_ops;        /* MEMBER_*: what some member's ops have */
	uint8_t last_bits;         /* MEMBER_* of last_ops */
	bool committing;           /* builder: inside the setup pass */
	/* --- line 4 --- */
	jt_cacheline_aligned struct member_chunk head; /* the inline member */
	struct jt_registry_node reg;                   /* linked while allocated */
	struct commit_waiter *waiter;                  /* RETIRE_WAITER */
	/* The last member's ops, kept across uses: a txn recycled by a builder
	 * that uses one ops table for its members skips computing its bits. */
	const struct jt_member_ops *last_ops;
	struct jt_mpsc_node order_node; /* JT_RUNTIME_ORDERED */
	uint32_t kept_bytes;            /* txn_cache_trim */
	bool ready;                     /* dispatcher, ordered mode */
};

/* Builder-side counters, one set per registry shard (per builder thread). */
struct builder_counters {
	jt_cacheline_aligned _Atomic uint64_t begun;
	_Atomic uint64_t committed;
	_Atomic uint64_t jobs_armed;
};

/*
 * Retired txns come back for reuse instead of being freed cold (one cache
 * per registry shard, i.e. per builder thread). The dispatcher pushes onto
 * `returned` (lock-free stack, pushes only); a builder that wins `busy`
 * pops from `local`, refilling it by taking the whole `returned` stack
 * with one exchange. Pops are serialised by `busy`, so no ABA; a builder
 * that finds `busy` taken allocates instead of waiting.
 */
struct txn_cache {
	jt_cacheline_aligned _Atomic(jt_txn *) returned;
	/* given - taken: about how many are cached, bounds the cache. Each
	 * has one writer at a time (load + store, no RMW): `given` the
	 * dispatcher, `taken` whoever holds busy. */
	_Atomic uint32_t given;
	_Atomic uint32_t busy;
	_Atomic uint32_t taken;
	jt_txn *local; /* owned by whoever holds busy */
	/* Bytes of spare chunks cached txns keep (txn_cache_trim). */
	_Atomic size_t kept_bytes;
};

/* Dispatcher-written counters: one writer, relaxed load + store. */
struct dispatcher_counters {
	_Atomic uint64_t failed;
	_Atomic uint64_t jobs_completed;
	_Atomic uint64_t jobs_failed;
	_Atomic uint64_t cancels;
};

struct jt_runtime {
	struct jt_dispatcher disp;
	struct jt_worker_pool pool;
	struct jt_registry registry;
	struct jt_alloc alloc;
	struct jt_clock_calib clock;
	unsigned flags;
	uint32_t fork_generation; /* at create; another one: inherited (fork.h) */
	size_t max_inflight;
	struct jt_mpsc_queue order_queue; /* JT_RUNTIME_ORDERED */

	struct builder_counters builders[JT_REGISTRY_SHARDS];
	struct txn_cache caches[JT_REGISTRY_SHARDS];
	jt_cacheline_aligned _Atomic uint64_t inflight; /* with max_inflight only */
	jt_cacheline_aligned _Atomic uint64_t misuse;

	/* Dispatcher-written. */
	jt_cacheline_aligned _Atomic uint64_t retired;
	struct dispatcher_counters counters;
	struct jt_latency_histogram latency;
	struct limbo { /* per shard: the batch being filled */
		jt_txn *head, *tail;
		uint32_t count;
	} limbo[JT_REGISTRY_SHARDS];
	struct jt_reclaimer reclaimer;

	/* Threads inside jt_runtime_foreach_txn (txn.c, point 7). */
	jt_cacheline_aligned _Atomic uint64_t walkers;

	/* Threads blocked in drain, begin, commit_wait or destroy. */
	jt_cacheline_aligned _Atomic uint32_t retire_epoch;
	_Atomic uint32_t epoch_waiters;
	_Atomic uint32_t slot_waiters; /* of those, in jt_txn_begin at max_inflight */
};

/* A runtime inherited across fork() is unusable in the child (fork.h). */
static inline bool rt_inherited(const jt_runtime *rt)
{
	return rt->fork_generation != jt_fork_generation();
}

/* The txn of a queue node: the node is its first member, so a NULL node is
 * no txn. */
static inline jt_txn *txn_of_node(struct jt_mpsc_node *n)
{
	return (jt_txn *)n;
}

/* A dead list's link (limbo, cache), in the hand-off node. */
static inline jt_txn *dead_next(jt_txn *t)
{
	return txn_of_node(jt_load_relaxed(&t->node.next));
}

static inline void dead_link(jt_txn *t, jt_txn *next)
{
	/* A pointer to a struct converts to one to its first member (C11
	 * 6.7.2.1), NULL to NULL. */
	jt_store_relaxed(&t->node.next, (struct jt_mpsc_node *)next);
}

/* The members of chunk `c` of `t`. */
static inline jt_job *chunk_jobs(jt_txn *t, struct member_chunk *c)
{
	return c == &t->head ? &t->inline_member : c->jobs;
}

/* The chunk after `c`, NULL past the last one used (kept spares follow). */
static inline struct member_chunk *chunk_next(const jt_txn *t, const struct member_chunk *c)
{
	return c == t->last ? NULL : c->next;
}

/* Walk every member in registration order (chunk counts are set at commit). */
#define for_each_member(t, c, j)                                                                   \
	for ((c) = &(t)->head; (c) != NULL; (c) = chunk_next((t), (c)))                            \
		for (jt_job *end_ = ((j) = chunk_jobs((t), (c))) + (c)->count; (j) < end_; (j)++)

static inline void counter_add(_Atomic uint64_t *c, uint64_t n)
{
	/* Single writer: relaxed load + store, read relaxed by stats. */
	jt_store_relaxed(c, jt_load_relaxed(c) + n);
}

/* txn.c */
void txn_hand_off(jt_txn *t);
int txn_ready_hand_off(jt_txn *t);
bool txn_record_failure(jt_txn *t, int ret, bool unit);
void txn_free(jt_txn *t);
void txn_free_chunks(jt_txn *t, struct member_chunk *first);

/*
 * Drop one unit of pending; the last one hands the txn to the dispatcher
 * (txn.c, point 3). Inline: every completion comes through here. The count
 * can reach 0 only with the failing bit clear (point 4), so the drop that
 * leaves the word 0 is the last. Returns 0, as txn_ready_hand_off does, so
 * that a completion tail-calls the hand-off.
 */
static inline int txn_put(jt_txn *t)
{
	/* acq_rel: release our writes (anything before the completion) into
	 * the chain; the last decrementer acquires them all. Pairs with every
	 * other RMW on `pending`. */
	if (jt_fetch_sub_acq_rel(&t->pending, 1) == 1)
		return txn_ready_hand_off(t);
	return 0;
}

/* job.c: jobs submitted on this thread, not yet on a worker's queue. */
struct txn_submits {
	struct jt_worker_pool *pool;
	struct jt_mpsc_node *first, *last;
	unsigned count;
};
extern _Thread_local struct txn_submits txn_submits __attribute__((visibility("hidden")));
void txn_submits_flush_now(void);
void txn_submitted_chain_done(void);

/* Hand this thread's submitted jobs to the pool: at every seal, and
 * before the library blocks this thread (a job it waits for may be here). */
static inline void txn_submits_flush(void)
{
	if (txn_submits.count != 0)
		txn_submits_flush_now();
}

/* txn_cache.c */
jt_txn *txn_cache_take(jt_runtime *rt, unsigned shard);
void txn_cache_give_batch(jt_runtime *rt, jt_txn *first, jt_txn *tail, uint32_t count);
void txn_cache_trim(jt_txn *t);
void txn_cache_fini(jt_runtime *rt);

/* setup_pass.c: prepare, commit or abort, clean. Returns the prepare error. */
int txn_setup_pass(jt_txn *t);

/* retire.c: dispatcher side (struct jt_dispatcher_hooks) */
unsigned txn_run_chain(void *rt, struct jt_mpsc_node *first, struct jt_mpsc_node *last,
                       unsigned budget, struct jt_mpsc_node **rest);
bool txn_backlog_ready(void *rt);
void txn_limbo_flush(jt_runtime *rt);

/* wait.c */
void rt_signal_waiters(jt_runtime *rt);
void rt_wake_at_pass_end(jt_runtime *rt);

/* The end of a pass, after the publishing RMW (the Dekker store): wake the
 * waiters if there are any and one can be done (wait.c). */
static inline void rt_signal_pass_end(jt_runtime *rt)
{
	if (jt_load_seq_cst(&rt->epoch_waiters) != 0)
		rt_wake_at_pass_end(rt);
}
void rt_signal_slot_waiters(jt_runtime *rt);
uint64_t rt_retired_sync(jt_runtime *rt);
int rt_wait(jt_runtime *rt, bool (*pred)(jt_runtime *rt, void *arg), void *arg, int64_t timeout_ns);
uint64_t rt_committed(jt_runtime *rt);
uint64_t rt_begun(jt_runtime *rt);

#endif /* JT_TXN_INTERNAL_H */
