/*
 * jobtxn.h - lock-free job completion runtime: run a group's callbacks once,
 * after every job of the group has finished.
 *
 * Life cycle of a transaction (txn)
 * ---------------------------------
 *   jt_txn_begin      pending = 1: the builder's own hold
 *   jt_txn_add        register members (registration order = callback order)
 *   jt_job_arm/wrap/submit   pending += 1 per armed job
 *   jt_txn_commit     setup pass (prepare, commit or abort, clean), then the
 *                     builder's hold is dropped: the txn is *sealed*
 *   jt_job_complete   pending -= 1, from any thread, lock-free; the thread
 *                     that brings pending to 0 hands the txn to the dispatcher
 *   dispatcher        every member's done, the txn's done, every destroy;
 *                     then the txn is retired; after an RCU grace period
 *                     its memory is reused for a later txn
 *
 * Synchronization table
 * ---------------------
 *   call                           who may call it                      may block
 *   jt_runtime_opts_init           any thread                           no
 *   jt_runtime_create              any thread                           no
 *   jt_runtime_destroy             any thread but the runtime's         yes
 *                                  callbacks (-EDEADLK)
 *   jt_runtime_drain               same as destroy                      yes
 *   jt_runtime_fd                  any thread (poll mode)               no
 *   jt_runtime_poll                one thread at a time (-EBUSY)        no (runs callbacks)
 *   jt_runtime_stats               any thread, callbacks included       no
 *   jt_runtime_foreach_txn         any thread, callbacks included       no (RCU read side)
 *   jt_txn_begin                   any thread                           at max_inflight
 *   jt_txn_add, jt_txn_commit      the txn's builder, until commit      commit runs the
 *                                  returns                              setup callbacks
 *   jt_job_arm/wrap/submit         the builder, before commit returns   no
 *                                  (inside prepare/commit callbacks too)
 *   jt_job_complete, wrapped cb    any thread, no registration          never, lock-free
 *   jt_job_cancelled               any thread, until the job completed  no
 *   jt_txn_commit_wait             the builder, not on the dispatcher   yes
 *   jt_strerror                    any thread                           no
 *
 *   Callbacks: prepare/commit/abort/clean run on the committing thread inside
 *   jt_txn_commit; cancel/done/destroy and the txn's done run on the
 *   dispatcher (the `jt-dispatch` thread, or the thread inside
 *   jt_runtime_poll), one at a time, never while an internal lock is held.
 *
 * Error convention: 0 (or a count) on success, a negative errno on failure.
 * A call that fails has changed nothing and will never call any callback it
 * was handed. A NULL where a pointer is required, or an unknown flag, is
 * -EINVAL.
 *
 * fork(): the child has one thread; a runtime's threads stay in the parent.
 * A runtime inherited by the child is unusable there: jt_txn_begin,
 * jt_txn_commit, jt_txn_commit_wait, jt_runtime_destroy, jt_runtime_drain,
 * jt_runtime_fd, jt_runtime_poll and jt_runtime_foreach_txn on it (or on
 * its txns) return -EOWNERDEAD and change nothing, and none of its callbacks
 * ever runs in the child (its memory stays allocated there; the parent's
 * runtime is unaffected). jt_runtime_create of a fresh runtime in the child
 * works: the first jt_runtime_create registers liburcu-bp's fork handlers
 * (urcu_bp_before_fork / after_fork_parent / after_fork_child) with
 * pthread_atfork, so an application that uses liburcu-bp itself must not
 * register them again. Do not fork inside a jt_runtime_foreach_txn callback:
 * it is an RCU read-side section, and the fork handler waits for the
 * grace-period lock, which a grace period waiting for that section holds.
 */
#ifndef JOBTXN_H
#define JOBTXN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(JOBTXN_BUILDING) && defined(__GNUC__)
#define JT_API __attribute__((visibility("default")))
#else
#define JT_API
#endif

#define JOBTXN_VERSION_MAJOR 0
#define JOBTXN_VERSION_MINOR 1
#define JOBTXN_VERSION_PATCH 0

typedef struct jt_runtime jt_runtime;
typedef struct jt_txn jt_txn;
typedef struct jt_job jt_job;

/*
 * jt_complete_fn: the completion callback shared with the outside world.
 * `ret` is 0 or -errno; any non-zero value counts as a failure.
 */
typedef void jt_complete_fn(void *opaque, int ret);

/*
 * struct jt_member_ops: a member's callbacks; every field is optional.
 * The struct is read by pointer until the member's destroy returned: keep
 * it alive that long (a `static const` table is the usual choice).
 *
 *   prepare  jt_txn_commit, committing thread, registration order. May arm
 *            the job and launch its work. 0 or -errno; the first failure
 *            stops the prepare pass. A member without prepare counts as
 *            prepared successfully.
 *   commit   jt_txn_commit, after every prepare succeeded, registration order.
 *   abort    jt_txn_commit, after a prepare failed, for every member whose
 *            prepare ran (the failing one included), reverse order.
 *   clean    jt_txn_commit, after commit/abort, for every member whose
 *            prepare ran, registration order, exactly once.
 *   cancel   dispatcher, at most once, for an armed job not yet complete when
 *            the txn is failing; never after the member's done. A request:
 *            the job should finish early (typically with -ECANCELED).
 *   done     dispatcher, exactly once, after every armed job of the txn
 *            completed, registration order. `ret` is this member's result
 *            (0 when its job was never armed), `status` the txn's status.
 *   destroy  dispatcher, exactly once, after every done and the txn's done,
 *            registration order. Frees `opaque`.
 */
struct jt_member_ops {
	int (*prepare)(jt_job *job, void *opaque);
	void (*commit)(void *opaque);
	void (*abort)(void *opaque);
	void (*clean)(void *opaque);
	void (*cancel)(void *opaque);
	void (*done)(void *opaque, int ret, int status);
	void (*destroy)(void *opaque);
};

/*
 * struct jt_allocator: every internal allocation of a runtime goes through
 * it. Both functions may be called from any thread, concurrently (builders
 * allocate; the dispatcher, a poller, `jt-reclaim` and jt_runtime_destroy
 * free).
 * `free` gets the size passed to `alloc`. `alloc` returns NULL on failure;
 * the call that needed the memory then fails with -ENOMEM and changes
 * nothing.
 */
struct jt_allocator {
	void *(*alloc)(void *ctx, size_t size);
	void (*free)(void *ctx, void *p, size_t size);
	void *ctx;
};

/* Runtime flags. */
#define JT_RUNTIME_POLL    0x1u /* no dispatcher thread: the caller runs jt_runtime_poll */
#define JT_RUNTIME_ORDERED 0x2u /* txns retire in commit order */

/*
 * struct jt_runtime_opts: fill with jt_runtime_opts_init, then adjust.
 * A zeroed struct is valid too and means the defaults.
 *   workers         built-in worker threads for jt_job_submit (default 0)
 *   flags           JT_RUNTIME_POLL | JT_RUNTIME_ORDERED
 *   max_inflight    begun but not retired txns; 0 = unbounded
 *   allocator       NULL = the library default (jemalloc)
 *   dispatch_spin_ns  how long an idle dispatcher spins before it sleeps on
 *                   a futex: 0 = default (as long as a wake-up of it
 *                   costs, measured while it runs), negative = never spin
 *   submit_batch    jobs jt_job_submit gathers on a thread before they go to
 *                   a worker with one exchange (see jt_job_submit): 0 =
 *                   default (16), 1 = each at once; at most 1024
 */
struct jt_runtime_opts {
	unsigned workers;
	unsigned flags;
	size_t max_inflight;
	const struct jt_allocator *allocator;
	int64_t dispatch_spin_ns;
	unsigned submit_batch;
};

/*
 * struct jt_stats: counters since create.
 *   txns_begun, txns_committed      counted when begin/commit return
 *   txns_retired, txns_failed       counted at retirement (failed: status != 0)
 *   jobs_armed                      counted when the txn is committed
 *   jobs_completed, jobs_failed     counted when the job's txn retires
 *   cancels_requested               armed, incomplete jobs asked to cancel
 *   misuse                          double completions and other rejected calls
 *   retire_latency_*_ns             last job completion -> first done of that txn
 */
struct jt_stats {
	uint64_t txns_begun;
	uint64_t txns_committed;
	uint64_t txns_retired;
	uint64_t txns_failed;
	uint64_t jobs_armed;
	uint64_t jobs_completed;
	uint64_t jobs_failed;
	uint64_t cancels_requested;
	uint64_t misuse;
	uint64_t retire_latency_p50_ns;
	uint64_t retire_latency_p99_ns;
	uint64_t retire_latency_max_ns;
};

/* Transaction states seen by jt_runtime_foreach_txn. */
enum {
	JT_TXN_OPEN = 0,     /* begun, not yet sealed by commit */
	JT_TXN_RUNNING = 1,  /* sealed, armed jobs still pending */
	JT_TXN_RETIRING = 2, /* every job done: callbacks running or about to */
};

/* Transaction flags. */
#define JT_TXN_GROUPED 0x1u /* the first failed job cancels its siblings */
#define JT_TXN_NOWAIT  0x2u /* at max_inflight: -EAGAIN instead of blocking */

/* struct jt_txn_info: a snapshot of one live txn, for introspection. */
struct jt_txn_info {
	uint64_t id;
	int state;
	size_t members;
	size_t jobs_pending; /* armed, not yet completed */
	int status;
	uint64_t age_ns; /* since jt_txn_begin; may read a few ms long (coarse clock) */
};

/*
 * jt_runtime_opts_init: fill `o` with the defaults.
 * Context: any thread. No-op when `o` is NULL.
 */
JT_API void jt_runtime_opts_init(struct jt_runtime_opts *o);

/*
 * jt_runtime_create: start a runtime: the dispatcher thread `jt-dispatch`
 * (unless JT_RUNTIME_POLL), `workers` threads `jt-worker-N`, and
 * `jt-reclaim`, which frees retired txns beyond what the runtime keeps for
 * reuse, after an RCU grace period when an introspection walk may still
 * read them (it sleeps while there is nothing to free).
 * Context: any thread. `o` NULL = defaults; `o` is copied (the allocator
 * struct it points to is copied too).
 * Returns 0 and *out, -EINVAL (NULL out, unknown flag, allocator without
 * alloc/free, workers > 1024), -ENOMEM, or the negated thread-creation error.
 */
JT_API int jt_runtime_create(const struct jt_runtime_opts *o, jt_runtime **out);

/*
 * jt_runtime_destroy: wait until every committed txn retired (all callbacks
 * returned), stop and join all threads, free everything.
 * Context: any thread but a callback of this runtime. The caller guarantees
 * that no other thread uses `rt` concurrently, except completers of jobs
 * still in flight: those may still be returning from the library, which a
 * grace period covers. In poll mode the caller's thread runs the callbacks.
 * Returns 0, -EINVAL (NULL), -EBUSY (a txn is begun but not committed;
 * nothing changed), -EDEADLK (called from a callback of this runtime or
 * inside jt_runtime_foreach_txn; nothing changed).
 * -EOWNERDEAD: the runtime was inherited across fork() (fork rules: top of
 * this header, jobtxn(3)).
 */
JT_API int jt_runtime_destroy(jt_runtime *rt);

/*
 * jt_runtime_drain: wait until no committed txn is in flight.
 * Context: any thread but a callback of this runtime. `timeout_ns < 0`
 * waits forever. In poll mode the caller runs pending callbacks itself
 * unless another thread is inside jt_runtime_poll.
 * Returns 0, -EINVAL, -ETIMEDOUT, -EDEADLK (from a callback).
 * -EOWNERDEAD: the runtime was inherited across fork() (fork rules: top of
 * this header, jobtxn(3)).
 */
JT_API int jt_runtime_drain(jt_runtime *rt, int64_t timeout_ns);

/*
 * jt_runtime_fd: JT_RUNTIME_POLL only: an eventfd that polls readable while
 * txns are ready to retire or cancel requests are pending. A hint: spurious
 * wake-ups are allowed, missed ones are not. Owned by the runtime: do not
 * close, read or write it.
 * Returns the fd, or -EINVAL (NULL, or not a poll-mode runtime).
 * -EOWNERDEAD: the runtime was inherited across fork() (fork rules: top of
 * this header, jobtxn(3)).
 */
JT_API int jt_runtime_fd(jt_runtime *rt);

/*
 * jt_runtime_poll: JT_RUNTIME_POLL only: on the calling thread, deliver
 * pending cancel requests and retire up to `max` ready txns (0 = all that
 * are ready when the call starts). Callbacks run on this thread.
 * Returns how many txns retired, -EINVAL, or -EBUSY (another thread is
 * inside poll, or this thread is already inside poll).
 * -EOWNERDEAD: the runtime was inherited across fork() (fork rules: top of
 * this header, jobtxn(3)).
 */
JT_API int jt_runtime_poll(jt_runtime *rt, unsigned max);

/*
 * jt_runtime_stats: read the counters into `out`. Each counter is read
 * atomically; the set is not a single snapshot. Context: any thread.
 * No-op when `rt` or `out` is NULL.
 */
JT_API void jt_runtime_stats(jt_runtime *rt, struct jt_stats *out);

/*
 * jt_runtime_foreach_txn: call `fn` for each live txn (begun, not yet
 * removed after retirement) inside an RCU read-side section: no lock is
 * taken and no completion is ever blocked. `fn` must not block for long
 * (it delays memory reclamation) and must not call jt_runtime_destroy
 * (-EDEADLK). A non-zero return from `fn` stops the walk.
 * Ordering: each snapshot is of one use of one txn, taken while builders
 * and completers run: its fields may be a few steps apart, but
 * jobs_pending never exceeds members.
 * Returns how many txns `fn` was called for, or -EINVAL.
 * -EOWNERDEAD: the runtime was inherited across fork() (fork rules: top of
 * this header, jobtxn(3)).
 */
JT_API int jt_runtime_foreach_txn(jt_runtime *rt, int (*fn)(const struct jt_txn_info *i, void *arg),
                                  void *arg);

/*
 * jt_txn_begin: start building a txn (pending = 1, the builder's hold).
 * Context: any thread. At max_inflight it blocks until a txn retires, or
 * returns -EAGAIN with JT_TXN_NOWAIT, on the dispatcher thread, or inside
 * jt_runtime_poll (where blocking would deadlock).
 * Ownership: *out is the caller's until jt_txn_commit(_wait) returns.
 * Returns 0, -EINVAL (NULL, unknown flag), -EAGAIN, -ENOMEM.
 * -EOWNERDEAD: the runtime was inherited across fork() (fork rules: top of
 * this header, jobtxn(3)).
 */
JT_API int jt_txn_begin(jt_runtime *rt, unsigned flags, jt_txn **out);

/*
 * jt_txn_add: register a member. `ops` NULL means no callbacks; `out` may be
 * NULL. The jt_job handle stays valid until the member's done ran.
 * Context: the builder, before jt_txn_commit.
 * Returns 0, -EINVAL (NULL t), -EBUSY (the txn is inside its setup pass),
 * -ENOMEM.
 */
JT_API int jt_txn_add(jt_txn *t, const struct jt_member_ops *ops, void *opaque, jt_job **out);

/*
 * jt_job_arm: promise that this job will be completed exactly once by
 * jt_job_complete (pending += 1).
 * Context: the builder, before commit or inside prepare/commit callbacks.
 * Returns 0, -EINVAL (NULL, txn already sealed), -EALREADY (already armed).
 */
JT_API int jt_job_arm(jt_job *j);

/*
 * jt_job_wrap: arm the job and return a callback/closure pair to hand to any
 * API in place of (cb, cb_opaque). When that API calls
 * new_cb(new_opaque, ret), cb(cb_opaque, ret) runs first on that thread,
 * then the job completes with `ret`. `cb` may be NULL. A second call of
 * new_cb while the txn is in flight is caught (counted in misuse; cb does
 * not run again).
 * Context: as jt_job_arm. Returns 0, -EINVAL, -EALREADY.
 */
JT_API int jt_job_wrap(jt_job *j, jt_complete_fn *cb, void *cb_opaque, jt_complete_fn **new_cb,
                       void **new_opaque);

/*
 * jt_job_submit: arm the job and run fn(j, arg) on the built-in worker pool;
 * the job completes with fn's return value (fn must not complete it itself).
 * Jobs submitted on one thread travel to the workers in batches of up to
 * opts.submit_batch (default 16; one exchange per batch, not per job). A
 * batch goes when it is full, when the worker it goes to sleeps (its first
 * job), when this thread commits a txn, when it blocks in the library
 * (drain, commit_wait, a begin at max_inflight), or when it submits to
 * another runtime; so fn may start before the txn is committed, but its
 * builder must not wait for it before the commit unless submit_batch is 1.
 * The builder's hold still keeps every callback back until commit. An idle
 * worker steals other workers' queued batches, and the rest of a batch
 * whose first job has run for 2 us; a job that blocks further into its
 * batch may hold back the jobs after it in that batch (at most
 * submit_batch - 1) until it returns: jobs that wait for one another want
 * submit_batch 1.
 * Context: as jt_job_arm. Returns 0, -EINVAL, -EALREADY, -ENOTSUP (the
 * runtime has no workers).
 */
JT_API int jt_job_submit(jt_job *j, int (*fn)(jt_job *j, void *arg), void *arg);

/*
 * jt_job_complete: complete an armed job with `ret` (0 or -errno). Also the
 * way to undo an armed job that was never launched: jt_job_complete(j,
 * -ECANCELED).
 * Context: any thread, no registration. Lock-free, never blocks, never runs
 * user callbacks, no allocation; a system call only to wake a sleeping
 * dispatcher. Ordering: everything this thread wrote before the call is
 * visible to every callback of the txn. Completing is the last thing anyone
 * may do with `j`.
 * Returns 0, -EINVAL (NULL, never armed), -EALREADY (already completed:
 * counted in misuse, nothing else changes). A second completion is caught
 * only while the txn is in flight: one that may race the first (and so
 * the retirement the first may cause) can touch memory the runtime has
 * already reused; -EALREADY is a diagnostic, not a licence to complete
 * twice.
 */
JT_API int jt_job_complete(jt_job *j, int ret);

/*
 * jt_job_cancelled: true once the job's txn is failing (grouped txn with a
 * failed job, or a failed prepare): a cheap poll for long-running work.
 * Context: any thread, until the job completed. false for NULL.
 */
JT_API bool jt_job_cancelled(const jt_job *j);

/*
 * jt_txn_commit: run the setup pass (prepare / commit or abort / clean),
 * then seal the txn (drop the builder's hold).
 * Context: the builder. `done` may be NULL. Either way (0 or a prepare
 * error) the txn now belongs to the runtime: every member's done, then
 * done(opaque, status), then every destroy run exactly once on the
 * dispatcher after every armed job completed, never inside this call.
 * Returns 0, the failing prepare's error, -EINVAL (NULL t: nothing happens;
 * or the txn is already inside its setup pass: nothing changes).
 * -EOWNERDEAD: the runtime was inherited across fork() (fork rules: top of
 * this header, jobtxn(3)).
 */
JT_API int jt_txn_commit(jt_txn *t, void (*done)(void *opaque, int status), void *opaque);

/*
 * jt_txn_commit_wait: commit, then block until the txn retired (every
 * callback returned); *status (may be NULL) gets the txn's status.
 * Context: the builder; not on the dispatcher thread nor inside
 * jt_runtime_poll (-EDEADLK, before anything else happens). In poll mode the
 * caller runs pending callbacks while it waits, unless another thread polls.
 * `timeout_ns < 0` waits forever.
 * Returns 0 or the failing prepare's error once retired; -ETIMEDOUT (still in
 * flight: it will retire normally); -EINVAL; -EDEADLK; -ENOMEM (nothing
 * happened, the txn is still the builder's).
 * -EOWNERDEAD: the runtime was inherited across fork() (fork rules: top of
 * this header, jobtxn(3)).
 */
JT_API int jt_txn_commit_wait(jt_txn *t, int64_t timeout_ns, int *status);

/*
 * jt_strerror: a static message for any value this library returns (0, any
 * -errno). Context: any thread. Never NULL.
 */
JT_API const char *jt_strerror(int err);

#ifdef __cplusplus
}
#endif

#endif /* JOBTXN_H */
