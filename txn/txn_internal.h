/*
 * txn_internal.h - the objects behind jt_runtime, jt_txn and jt_job.
 *
 * Layout follows who touches what. A txn's first cache line holds what
 * completers touch (the pending count, the status, the flags, the hand-off
 * item), its second the first member; the other two are the builder's
 * before commit and the dispatcher's after. Per-member state is 64 bytes;
 * members live in chunks (1 inline, then 15, 63, 127, 127 ... members), so
 * a txn makes one allocation per chunk, not per member, and jt_job pointers
 * never move.
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

#define TXN_INLINE_MEMBERS 1

/* pending's bias while the builder holds the txn (txn.c, point 1). */
#define TXN_HOLD (UINT64_C(1) << 62)

/* jt_txn.member_ops: callbacks some member has (the others cost nothing) */
#define MEMBER_SETUP   0x1u /* prepare, commit, abort or clean */
#define MEMBER_DONE    0x2u
#define MEMBER_DESTROY 0x4u

/* jt_txn.flags */
#define TXN_GROUPED 0x1u /* set at begin, constant */
#define TXN_SEALED  0x2u /* the builder's hold was given up */
#define TXN_FAILING 0x4u /* siblings are being cancelled */

struct jt_job {
	jt_txn *txn;
	const struct jt_member_ops *ops;
	void *opaque;
	_Atomic uint32_t state;
	int ret; /* written by the completer after it won `state` */
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

struct member_chunk {
	struct member_chunk *next;
	uint32_t count, cap;
	jt_job jobs[];
};

/* Blocks a jt_txn_commit_wait caller; shared with the dispatcher. */
struct commit_waiter {
	_Atomic uint32_t done;
	_Atomic uint32_t refs; /* the waiter's and the dispatcher's */
	int status;
};

struct jt_txn {
	/* --- completers' lines: the countdown, then the first member --- */
	jt_cacheline_aligned _Atomic uint64_t pending;
	_Atomic int status;
	_Atomic uint32_t flags;
	jt_runtime *rt;
	uint64_t ready_ticks; /* by whoever brought pending to 0 */
	struct jt_work work;  /* the hand-off to the dispatcher */
	/* The first member lives in the txn: a one-job txn is one object, and
	 * its job shares the aligned pair of lines of the countdown (the
	 * lines a completer writes and the dispatcher reads first). Chunks
	 * after it are kept when the txn is recycled. */
	struct member_chunk chunk;
	jt_job inline_member[TXN_INLINE_MEMBERS];
	/* --- builder until sealed, dispatcher after --- */
	jt_cacheline_aligned struct jt_registry_node reg; /* linked while allocated */
	/* Non-zero while the txn is live (begin to the end of retirement):
	 * introspection's proof of a consistent snapshot (txn.c, point 7). */
	_Atomic uint64_t id;
	struct member_chunk *last;            /* the chunk being filled */
	const struct jt_member_ops *last_ops; /* builder: the last added */
	_Atomic size_t members;               /* read by introspection */
	_Atomic int phase;                    /* JT_TXN_OPEN / RUNNING / RETIRING */
	_Atomic uint32_t armed;               /* builder: load + store; introspection reads */
	bool committing;                      /* builder: inside the setup pass */
	uint8_t member_ops;                   /* MEMBER_*: what some member's ops have */
	_Atomic bool cancel_delivered;        /* dispatcher writes, introspection reads */
	bool ready;                           /* dispatcher, ordered mode */
	_Atomic uint64_t begin_ns;            /* coarse clock: introspection's age */
	union {
		struct { /* until retired */
			void (*done)(void *opaque, int status);
			void *done_opaque;
			struct commit_waiter *waiter;
			struct jt_mpsc_node order_node; /* JT_RUNTIME_ORDERED */
		} live;
		/* After: a batch back to the cache, or freed. */
		struct {
			jt_txn *next; /* in its batch, then in a cache */
			/* The first txn of a batch only: */
			struct jt_work reclaim; /* frees it after a grace period */
			jt_txn *batch_tail;
			uint32_t batch_count;
		} dead;
	} u;
};

/* Builder-side counters, one set per registry shard (per builder thread). */
struct builder_counters {
	jt_cacheline_aligned _Atomic uint64_t begun;
	_Atomic uint64_t committed;
	_Atomic uint64_t jobs_armed;
};

/*
 * Retired txns come back for reuse instead of being freed cold (one cache
 * per registry shard, i.e. per builder thread). The reclaimer pushes onto
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
	unsigned unsignalled; /* retirements waiters have not been woken for */
	unsigned slot_batch;  /* retirements since the last mid-pass slot signal */
	uint64_t now_ticks;   /* the clock, read again every few retirements */
	unsigned now_reuse;   /* retirements left before now_ticks is read again */
	struct limbo {        /* per shard: the batch being filled */
		jt_txn *head, *tail;
		uint32_t count;
	} limbo[JT_REGISTRY_SHARDS];
	struct jt_reclaimer reclaimer;

	/* Threads inside jt_runtime_foreach_txn (txn_cache.c, release_batch). */
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

/* The chunk after `c`, NULL past the one being filled (kept spares follow). */
static inline struct member_chunk *chunk_next(const jt_txn *t, const struct member_chunk *c)
{
	return c == t->last ? NULL : c->next;
}

/* Walk every member in registration order. */
#define for_each_member(t, c, j)                                                                   \
	for ((c) = &(t)->chunk; (c) != NULL; (c) = chunk_next((t), (c)))                           \
		for (jt_job *end_ = ((j) = (c)->jobs) + (c)->count; (j) < end_; (j)++)

static inline void counter_add(_Atomic uint64_t *c, uint64_t n)
{
	/* Single writer: relaxed load + store, read relaxed by stats. */
	jt_store_relaxed(c, jt_load_relaxed(c) + n);
}

/* txn.c */
void txn_hand_off(jt_txn *t);
void txn_ready_hand_off(jt_txn *t);
bool txn_record_failure(jt_txn *t, int ret, bool from_prepare);
void txn_free(jt_txn *t);
void txn_free_chunks(jt_txn *t, struct member_chunk *first);

/* Drop n units of pending; the last one hands the txn to the dispatcher
 * (txn.c, point 3). Inline: every completion comes through here. */
static inline void txn_put_n(jt_txn *t, uint64_t n)
{
	/* acq_rel: release our writes (the job's ret, anything before the
	 * completion) into the chain; the last decrementer acquires them all.
	 * Pairs with every other fetch_sub on `pending`. */
	if (jt_fetch_sub_acq_rel(&t->pending, n) == n)
		txn_ready_hand_off(t);
}

static inline void txn_put(jt_txn *t)
{
	txn_put_n(t, 1);
}

/* txn_cache.c */
jt_txn *txn_cache_take(jt_runtime *rt, unsigned shard);
void txn_cache_give_batch(jt_runtime *rt, jt_txn *first);
void txn_cache_trim(jt_txn *t);
void txn_cache_fini(jt_runtime *rt);

/* setup_pass.c: prepare, commit or abort, clean. Returns the prepare error. */
int txn_setup_pass(jt_txn *t);

/* retire.c: dispatcher side */
unsigned txn_dispatch(struct jt_work *w);
void txn_prefetch(struct jt_work *next);
unsigned txn_backlog_run(void *rt, unsigned budget);
bool txn_backlog_ready(void *rt);
void txn_pass_done(void *rt);
void txn_limbo_flush(jt_runtime *rt);

/* wait.c */
void rt_signal_waiters(jt_runtime *rt);
void rt_signal_pass_end(jt_runtime *rt);
bool rt_signal_slot_waiters(jt_runtime *rt);
uint64_t rt_retired_sync(jt_runtime *rt);
int rt_wait(jt_runtime *rt, bool (*pred)(jt_runtime *rt, void *arg), void *arg, int64_t timeout_ns);
uint64_t rt_committed(jt_runtime *rt);
uint64_t rt_begun(jt_runtime *rt);

#endif /* JT_TXN_INTERNAL_H */
