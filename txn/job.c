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
	 * point 1). */
	jt_store_relaxed(&t->armed, n + 1);
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

static unsigned run_submitted(struct jt_work *w)
{
	jt_job *j = (jt_job *)((char *)w - offsetof(jt_job, u.submit.work));

	jt_job_complete(j, j->u.submit.fn(j, j->u.submit.arg));
	return 1;
}

int jt_job_submit(jt_job *j, int (*fn)(jt_job *j, void *arg), void *arg)
{
	int err;

	if (j == NULL || fn == NULL)
		return -EINVAL;
	if (j->txn->rt->pool.count == 0)
		return -ENOTSUP;
	err = jt_job_arm(j);
	if (err != 0)
		return err;
	j->u.submit.fn = fn;
	j->u.submit.arg = arg;
	j->u.submit.work.run = run_submitted;
	jt_worker_pool_submit(&j->txn->rt->pool, &j->u.submit.work);
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
