/*
 * job.c - arming and completing jobs: the completion path.
 *
 * jt_job_complete is the hot path: one compare-and-swap on the job's state
 * (catches a second completion) and one fetch_sub on the txn's pending
 * count; a failure (ret != 0) takes an out-of-line path with the status
 * rule. No lock, no allocation, no system call unless the dispatcher
 * sleeps (txn.c argues correctness).
 */
#include <errno.h>

#include "txn/job_hook.h"
#include "txn/txn_internal.h"

static void count_misuse(jt_job *j)
{
	jt_fetch_add_relaxed(&j->txn->rt->misuse, 1);
}

/* IDLE -> `armed` (JOB_ARMED or JOB_ARMED_HOOKED). */
static int job_arm_as(jt_job *j, uint32_t armed)
{
	jt_txn *t = j->txn;
	/* relaxed: written by the builder alone (here and at the seal);
	 * introspection reads a snapshot. */
	uint32_t n = jt_load_relaxed(&t->armed);

	if (n & TXN_ARMED_SEALED) {
		count_misuse(j);
		return -EINVAL;
	}
	/* relaxed: the builder alone arms, and nobody else moves a job out
	 * of IDLE (a completion needs ARMED), so a load and a store do; the
	 * user's own hand-over of `j` to a completer orders the store before
	 * the completion. */
	if (jt_load_relaxed(&j->state) != JOB_IDLE) {
		count_misuse(j);
		return -EALREADY;
	}
	jt_store_relaxed(&j->state, armed);
	/* The hold's bias covers the job until the seal counts it (txn.c,
	 * point 1). release: pairs with introspection's acquire load of
	 * `armed` (visit_txn), so the member jt_txn_add counted is visible
	 * with the count that includes it; a plain store on x86. */
	jt_store_release(&t->armed, n + 1);
	return 0;
}

int jt_job_arm(jt_job *j)
{
	if (j == NULL)
		return -EINVAL;
	return job_arm_as(j, JOB_ARMED);
}

int jt_private_job_arm_hooked(jt_job *j, jt_job_cancel_hook *hook, void *arg)
{
	int err;

	if (j == NULL || hook == NULL)
		return -EINVAL;
	err = job_arm_as(j, JOB_ARMED_HOOKED);
	if (err != 0)
		return err;
	/* Builder, before the seal: the dispatcher reads them after it (the
	 * seal's RMW and the cancel request's post order them). Nothing
	 * reads them before: a hooked job is completed by its adapter alone,
	 * and the completion path does not look at them. */
	j->u.hook.fn = hook;
	j->u.hook.arg = arg;
	return 0;
}

/* A failed job: its ret, the status rule, maybe the txn's failure.
 * Returns 0 (a completion tail-calls it). */
__attribute__((noinline)) static int job_finish_failed(jt_job *j, int ret)
{
	jt_txn *t = j->txn;

	j->ret = ret;
	if (!txn_record_failure(t, ret, true))
		txn_put(t);
	return 0;
}

/* The common tail: the state CAS was won; count down. Returns 0. */
static inline int job_finish(jt_job *j, int ret)
{
	jt_trace_job_complete(j->txn, j, ret);
	if (ret != 0)
		return job_finish_failed(j, ret);
#if defined(JOBTXN_TEST_INJECT_RACE) && JOBTXN_TEST_INJECT_RACE == 1
	/* Test-only known race (tests/race/): touch the job after giving up
	 * our unit; the dispatcher reads j->ret (of a failed txn's members)
	 * unordered with this store. */
	txn_put(j->txn);
	j->ret = 0;
	return 0;
#else
	return txn_put(j->txn);
#endif
}

/*
 * The error for a completion that found the job in state `found` instead of
 * `armed`: never armed (-EINVAL; a plain job's completion through the
 * hooked call, too), completed or owned by an adapter (-EALREADY).
 */
__attribute__((noinline)) static int claim_refused(jt_job *j, uint32_t armed, uint32_t found)
{
	count_misuse(j);
	if (found == JOB_IDLE || (armed == JOB_ARMED_HOOKED && found == JOB_ARMED))
		return -EINVAL;
	return -EALREADY;
}

/*
 * `armed` (JOB_ARMED or JOB_ARMED_HOOKED) -> COMPLETED, then count down;
 * 0, or the error. Every path ends in a tail call or a return, so the
 * completion needs no stack frame.
 */
static inline int job_complete_as(jt_job *j, uint32_t armed, int ret)
{
	uint32_t expected = armed;

	if (j == NULL)
		return -EINVAL;
	/* relaxed: only decides who completes; the pending fetch_sub that
	 * follows carries the ordering. */
	if (!jt_cas_relaxed(&j->state, &expected, JOB_COMPLETED))
		return claim_refused(j, armed, expected);
	return job_finish(j, ret);
}

int jt_job_complete(jt_job *j, int ret)
{
	return job_complete_as(j, JOB_ARMED, ret);
}

int jt_private_job_complete_hooked(jt_job *j, int ret)
{
	return job_complete_as(j, JOB_ARMED_HOOKED, ret);
}

jt_runtime *jt_private_job_runtime(const jt_job *j)
{
	return j->txn->rt;
}

bool jt_private_runtime_on_dispatcher(const jt_runtime *rt)
{
	return jt_dispatcher_is_current(&rt->disp);
}

static void wrapped_complete(void *opaque, int ret)
{
	jt_job *j = opaque;
	uint32_t expected = JOB_ARMED;

	/* relaxed: as in job_complete_as. */
	if (!jt_cas_relaxed(&j->state, &expected, JOB_COMPLETED)) {
		claim_refused(j, JOB_ARMED, expected);
		return;
	}
	if (j->u.wrap.cb != NULL)
		j->u.wrap.cb(j->u.wrap.cb_opaque, ret);
	job_finish(j, ret);
}

int jt_job_wrap(jt_job *j, jt_complete_fn *cb, void *cb_opaque, jt_complete_fn **new_cb,
                void **new_opaque)
{
	int err;

	if (j == NULL || new_cb == NULL || new_opaque == NULL)
		return -EINVAL;
	err = jt_job_arm(j);
	if (err != 0)
		return err;
	j->u.wrap.cb = cb;
	j->u.wrap.cb_opaque = cb_opaque;
	*new_cb = wrapped_complete;
	*new_opaque = j;
	return 0;
}

/*
 * Units of pending a worker owes one txn: the jobs of a chain that
 * succeeded one after another in the same txn, dropped with one fetch_sub
 * when the txn changes or the chain ends (txn_submitted_chain_done). Two
 * workers completing one txn's jobs each with its own locked subtract moved
 * the txn's line between them for every job.
 */
static _Thread_local struct {
	jt_txn *txn;
	uint64_t units;
} owed;

static void drop_owed(void)
{
	jt_txn *t = owed.txn;

	uint64_t units = owed.units;

	if (t == NULL)
		return;
	owed.txn = NULL;
	owed.units = 0;
	/* acq_rel, as txn_put: these jobs' writes go with it. */
	if (jt_fetch_sub_acq_rel(&t->pending, units) == units)
		txn_ready_hand_off(t);
}

void txn_submitted_chain_done(void)
{
	drop_owed();
}

static unsigned run_submitted(struct jt_work *w)
{
	jt_job *j = (jt_job *)((char *)w - offsetof(jt_job, u.submit.work));
	jt_txn *t = j->txn;
	uint32_t expected = JOB_ARMED;
	int ret;

	/* The members a submitter batched are most often the next ones of
	 * this chunk: their lines come from its CPU, so ask for them early
	 * rather than one miss per item (the chain's links say it too late). */
	__builtin_prefetch(j + 2, 1);
	__builtin_prefetch(j + 3, 1);
	/* Another txn's units go before this job runs: it may block. */
	if (owed.txn != t)
		drop_owed();
	ret = j->u.submit.fn(j, j->u.submit.arg);
	/* relaxed: as in job_complete_as (fn may not complete the job
	 * itself; if it did, this is a second completion). */
	if (!jt_cas_relaxed(&j->state, &expected, JOB_COMPLETED)) {
		claim_refused(j, JOB_ARMED, expected);
		return 1;
	}
	jt_trace_job_complete(t, j, ret);
	if (ret != 0) {
		drop_owed();
		job_finish_failed(j, ret);
		return 1;
	}
	owed.txn = t;
	owed.units++;
	return 1;
}

/*
 * Jobs submitted on this thread and not yet handed to the pool. A submit
 * links its job here; the chain goes to a worker with one exchange when it
 * holds the pool's batch (opts.submit_batch), when the worker it goes to
 * sleeps, when this thread seals a txn, before it blocks in the library,
 * or when a job of another runtime comes. One exchange per
 * job (a locked instruction after the job's stores) was two thirds of the
 * submitting thread's time in the pool workload.
 */
_Thread_local struct txn_submits txn_submits;

void txn_submits_flush_now(void)
{
	struct txn_submits *b = &txn_submits;

	jt_worker_pool_submit_chain(b->pool, b->first, b->last);
	b->count = 0;
}

static void submits_add(struct jt_worker_pool *pool, struct jt_mpsc_node *n)
{
	struct txn_submits *b = &txn_submits;

	if (b->count != 0 && b->pool != pool)
		txn_submits_flush_now();
	if (b->count++ == 0) {
		b->pool = pool;
		b->first = n;
	} else {
		/* relaxed: the chain's push publishes its links. */
		jt_store_relaxed(&b->last->next, n);
	}
	b->last = n;
	/* A sleeping worker is woken either way: let it start now (looked
	 * at for the first job of a batch only: its line is the worker's). */
	if (b->count == pool->batch || (b->count == 1 && jt_worker_pool_next_asleep(pool)))
		txn_submits_flush_now();
}

int jt_job_submit(jt_job *j, int (*fn)(jt_job *j, void *arg), void *arg)
{
	struct jt_worker_pool *pool;
	int err;

	if (j == NULL || fn == NULL)
		return -EINVAL;
	pool = &j->txn->rt->pool;
	if (pool->count == 0)
		return -ENOTSUP;
	err = jt_job_arm(j);
	if (err != 0)
		return err;
	j->u.submit.fn = fn;
	j->u.submit.arg = arg;
	j->u.submit.work.run = run_submitted;
	submits_add(pool, &j->u.submit.work.node);
	return 0;
}

bool jt_job_cancelled(const jt_job *j)
{
	if (j == NULL)
		return false;
	const jt_txn *t = j->txn;

	/* acquire: pairs with the CAS that set the failing bit (so the status
	 * that made the txn fail is visible), or with the dispatcher's RMW
	 * that cleared it after it stored TXN_FAILING, which the load of
	 * `flags` then sees (txn.c, point 4). */
	return (jt_load_acquire(&t->pending) & TXN_FAILING_BIT) != 0 ||
	       (jt_load_relaxed(&t->flags) & TXN_FAILING) != 0;
}
