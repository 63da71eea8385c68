/*
 * prep.c - prepare: jt_uring_prep arms a job with the ring's cancel hook
 * (lifecycle.c; the core's hook interface, txn/job_hook.h) and stages a
 * cleared SQE for it on the calling thread's batch. It calls lifecycle.c
 * (the hook's address), submit.c (the SQ lock) and op_pool.c.
 *
 * The SQE is staged in the operation record, not in the kernel's SQ: the
 * caller fills it after this returns, while other threads may submit, and
 * only its own thread's jt_uring_submit copies it into the SQ (submit.c).
 * The queue's capacity is counted here, under the lock: staged SQEs plus
 * the caller SQEs in the SQ that the kernel has not taken stay at most
 * `entries`, so a copy always finds a slot, and the other half of the
 * kernel's SQ is left for cancels.
 */
#include <errno.h>
#include <string.h>

#include "txn/job_hook.h"
#include "uring/uring_internal.h"

int jt_uring_prep(jt_uring *u, jt_job *j, jt_uring_check_fn *check, void *arg,
                  struct io_uring_sqe **sqe)
{
	struct uring_op *op;
	int err = 0;

	if (u == NULL || j == NULL || sqe == NULL)
		return -EINVAL;
	/* The cancel hook and the ring's lifetime rely on the ring's own
	 * runtime delivering the job's cancel (lifecycle.c). */
	if (jt_private_job_runtime(j) != u->rt)
		return -EINVAL;
	uring_lock(u);
	if (u->closing) {
		err = -EINVAL;
		goto out;
	}
	if (u->staged + u->user_in_sq >= u->entries) {
		err = -EAGAIN;
		goto out;
	}
	op = uring_op_get(u);
	if (op == NULL) {
		err = -ENOMEM;
		goto out;
	}
	op->job = j;
	op->check = check;
	op->check_arg = arg;
	op->owner = pthread_self();
	op->has_more_res = false;
	jt_store_relaxed(&op->cancel_tries, 0);
	op->next = NULL;
	memset(&op->sqe, 0, sizeof(op->sqe));
	/* The hook cannot run before the txn is sealed, which its builder
	 * (this thread) does after this returns. */
	err = jt_private_job_arm_hooked(j, uring_cancel_hook, op);
	if (err != 0) {
		uring_op_unget(u, op);
		goto out;
	}
	if (u->staged_tail != NULL)
		u->staged_tail->next = op;
	else
		u->staged_head = op;
	u->staged_tail = op;
	u->staged++;
	/* relaxed: read by the reaper and destroy after completions, which
	 * order it (uring_reap_cqes). */
	jt_fetch_add_relaxed(&u->incomplete_ops, 1);
	/* release: the fields above happen before the reaper's and the
	 * accounting's acquire loads of st (uring_reap_cqes, submit.c). */
	jt_store_release(&op->st, 0);
	/* Two references: the completion's and the way to the kernel's. */
	uring_op_publish(op, 2);
	*sqe = &op->sqe;
out:
	uring_unlock(u);
	return err;
}
