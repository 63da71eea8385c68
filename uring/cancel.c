/*
 * cancel.c - kernel-side cancellation: the core's cancel hook
 * (txn/job_hook.h) for every job armed by jt_uring_prep.
 *
 * The core calls uring_cancel_hook(j, op) on the dispatcher, once, right
 * after the member's own cancel, when j's txn starts failing while j is
 * armed and not complete. It runs in the dispatcher's serial stage: it
 * never waits. What it does depends on where the operation is, and each
 * case is decided by one read-modify-write on op->st, so that the hook
 * and the thread that moves the operation agree on who acts:
 *
 *   staged, or in the SQ (a refused submit): the hook sets OP_WANTED; the
 *     next flush, before it enters the kernel, turns the SQE into a NOP
 *     (submit.c, nopify_unconsumed) and the job completes with -ECANCELED.
 *   being taken by the kernel right now: the accounting's fetch_or of
 *     OP_SUBMITTED and the hook's fetch_or of OP_WANTED are ordered; the
 *     second one sees both bits and queues the cancel (submit.c,
 *     account_taken).
 *   in the kernel: the hook queues an IORING_OP_ASYNC_CANCEL by user_data
 *     on the `cancels` stack and asks for a flush, which it makes itself
 *     when the SQ lock is free, or which the lock's holder makes when it
 *     lets go. A cancel that finds no SQ slot waits in the backlog; the
 *     reaper (threaded mode: it sleeps at most 1 ms while a backlog
 *     waits) or the next submit or reap flushes it.
 *   completed (OP_DONE): nothing; a cancel that was queued before the
 *     completion is dropped unsent, or reaches the kernel and finds
 *     nothing (-ENOENT). The target record cannot be reused meanwhile,
 *     so the cancel can never hit another operation: the cancel holds a
 *     reference until its own last CQE.
 *   in the kernel but out of the cancel's reach: an SQE linked behind
 *     another that has not finished is not issued yet, and ASYNC_CANCEL
 *     does not find it (-ENOENT; the kernel issues it later, and a read
 *     of an empty pipe would then wait forever); a request running in an
 *     io-wq worker may go on (-EALREADY). While the target has not
 *     completed, the reaper sends the cancel again, each time behind an
 *     IORING_OP_TIMEOUT hard-linked to it: 1 ms, then 2, 4, ... 64 ms,
 *     without a thread waiting.
 *
 * The hook runs late, by design of the core, when it read the job's state
 * just before the job completed: the record may then be back in the pool,
 * or reused by another job. uring_op_tryget and the op->job check sort
 * that out (uring_internal.h). The ring itself outlives every hook: the
 * hook counts itself in hooks_active before it reads `closed`, and
 * jt_uring_destroy sets `closed` before it waits for hooks_active to
 * drop to 0 (seq_cst both sides: one of the two sees the other) and closes
 * the ring; the memory goes later still (lifecycle.c).
 */
#include "uring/uring_internal.h"

static void push_cancel(struct uring_op *op)
{
	struct jt_uring *u = op->u;
	struct uring_op *head = jt_load_relaxed(&u->cancels);

	do
		op->cancel_next = head;
	/* release: op->cancel_next (and cancel_tries) happen before the
	 * flush's acquire exchange (uring_take_cancels). */
	while (!jt_cas_weak_release(&u->cancels, &head, op));
}

void uring_queue_cancel(struct uring_op *op)
{
	uint32_t old;

	/* acq_rel: one cancel per operation, and none after its completion
	 * or for a NOP (pairs with the reaper's and nopify's fetch_or). */
	old = jt_fetch_or_acq_rel(&op->st, OP_QUEUED);
	if (old & (OP_QUEUED | OP_DONE | OP_NOPIFIED))
		return;
	uring_op_ref(op); /* the cancel's, dropped at its last CQE */
	push_cancel(op);
}

void uring_retry_cancel(struct uring_op *op)
{
	/* relaxed: only the reaper changes it (0 since jt_uring_prep); the
	 * flush that reads it takes op from the stack with acquire, and the
	 * last one released it (OP_SENT, submit.c) before this CQE. */
	jt_fetch_add_relaxed(&op->cancel_tries, 1); /* the next waits (submit.c) */
	push_cancel(op);                            /* with the cancel's reference */
}

struct uring_op *uring_take_cancels(struct jt_uring *u)
{
	/* acquire: pairs with the release CAS of uring_queue_cancel. */
	return jt_xchg_acq_rel(&u->cancels, NULL);
}

void uring_cancel_hook(jt_job *j, void *arg)
{
	struct uring_op *op = arg;
	struct jt_uring *u = op->u; /* constant: records stay with their ring */

	/* seq_cst: the Dekker pair with jt_uring_destroy (file comment). */
	jt_fetch_add_seq_cst(&u->hooks_active, 1);
	if (jt_load_seq_cst(&u->closed) == 0 && uring_op_tryget(op)) {
		/* The record is not reused while we hold it; still j's? */
		if (op->job == j) {
			/* acq_rel: the pair with account_taken (file comment). */
			uint32_t old = jt_fetch_or_acq_rel(&op->st, OP_WANTED);

			if ((old & (OP_SUBMITTED | OP_DONE)) == OP_SUBMITTED) {
				uring_queue_cancel(op);
				uring_request_flush(u);
			}
		}
		uring_op_put(op);
	}
	/* release: the hook's uses of the ring happen before destroy sees
	 * the count drop to 0. */
	jt_fetch_sub_acq_rel(&u->hooks_active, 1);
}
