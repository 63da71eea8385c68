/*
 * cancel.c - the io_uring cancel protocol, whole: what happens to an
 * operation whose txn starts failing, wherever the operation is. The
 * other files call in at the protocol's steps and decide nothing of it:
 * the cancel hook (lifecycle.c) at the start, the flush (submit.c) before
 * it enters the kernel and when the kernel took an SQE, the reaper
 * (reap.c) at a cancel's CQE and at the operation's completion. This file
 * calls only op_pool.c.
 *
 * The core calls the hook on the dispatcher, once, right after the
 * member's own cancel, when j's txn starts failing while j is armed and
 * not complete (txn/job_hook.h). It runs in the dispatcher's serial
 * stage: it never waits. Each case is decided by one read-modify-write on
 * op->st, so that the hook and the thread that moves the operation agree
 * on who acts:
 *
 *   staged, or in the SQ (a refused submit): the hook sets OP_WANTED
 *     (uring_cancel_wanted); the next flush, before it enters the kernel,
 *     turns the SQE into a NOP with the same link flags (OP_NOPIFIED,
 *     uring_cancel_nopify), and the job completes with -ECANCELED (reap.c,
 *     UD_NOP).
 *   being taken by the kernel right now: the accounting's fetch_or of
 *     OP_SUBMITTED (uring_cancel_taken) and the hook's fetch_or of
 *     OP_WANTED are ordered; the second one sees both bits and queues the
 *     cancel.
 *   in the kernel: the hook queues an IORING_OP_ASYNC_CANCEL by user_data
 *     on the `cancels` stack (OP_QUEUED, once) and asks for a flush, which
 *     it makes itself when the SQ lock is free, or which the lock's holder
 *     makes when it lets go (submit.c). The flush writes what fits into
 *     the SQ's cancel slots (uring_cancel_write; OP_SENT); a cancel that
 *     finds no slot waits in `cancel_backlog`, and the reaper (threaded
 *     mode: it sleeps at most 1 ms while a backlog waits) or the next
 *     submit or reap flushes it.
 *   completed (OP_DONE, uring_cancel_completed): nothing; a cancel that
 *     was queued before the completion is dropped unsent, or reaches the
 *     kernel and finds nothing (-ENOENT). The target record cannot be
 *     reused meanwhile, so the cancel can never hit another operation: the
 *     cancel holds a reference until its own last CQE.
 *   in the kernel but out of the cancel's reach: an SQE linked behind
 *     another that has not finished is not issued yet, and ASYNC_CANCEL
 *     does not find it (-ENOENT; the kernel issues it later, and a read of
 *     an empty pipe would then wait forever); a request running in an
 *     io-wq worker may go on (-EALREADY). While the target has not
 *     completed, the reaper sends the cancel again (uring_cancel_cqe),
 *     each time behind an IORING_OP_TIMEOUT hard-linked to it, without a
 *     thread waiting: the delays below.
 */
#include <errno.h>

#include "uring/uring_internal.h"

/*
 * A retried cancel waits CANCEL_RETRY_FIRST_NS, then twice as long each
 * time, up to 2^CANCEL_RETRY_MAX_DOUBLINGS times that (1 ms .. 64 ms). Its
 * target waits either behind a linked SQE (an I/O's time, often under a
 * millisecond: the first retry comes soon) or for an io-wq worker's
 * blocking call (any time: doubling keeps the retries, two SQEs and two
 * CQEs each, few). The cap bounds how late the cancel comes once its
 * target is in reach.
 */
#define CANCEL_RETRY_FIRST_NS      1000000LL
#define CANCEL_RETRY_MAX_DOUBLINGS 6u

static void push_cancel(struct uring_op *op)
{
	struct jt_uring *u = op->u;
	struct uring_op *head = jt_load_relaxed(&u->cancels);

	do
		op->cancel_next = head;
	/* release: op->cancel_next (and cancel_tries) happen before the
	 * flush's acquire exchange (take_cancels). */
	while (!jt_cas_weak_release(&u->cancels, &head, op));
}

/* The caller holds a reference. */
static void queue_cancel(struct uring_op *op)
{
	uint32_t old;

	/* acq_rel: one cancel per operation, and none after its completion
	 * or for a NOP (pairs with uring_cancel_completed's and nopify's
	 * fetch_or). */
	old = jt_fetch_or_acq_rel(&op->st, OP_QUEUED);
	if (old & (OP_QUEUED | OP_DONE | OP_NOPIFIED))
		return;
	uring_op_ref(op); /* the cancel's, dropped at its last CQE */
	push_cancel(op);
}

static struct uring_op *take_cancels(struct jt_uring *u)
{
	/* acquire: pairs with push_cancel's release CAS. */
	return jt_xchg_acq_rel(&u->cancels, NULL);
}

bool uring_cancel_wanted(struct uring_op *op)
{
	/* acq_rel: the pair with uring_cancel_taken (file comment). */
	uint32_t old = jt_fetch_or_acq_rel(&op->st, OP_WANTED);

	if ((old & (OP_SUBMITTED | OP_DONE)) != OP_SUBMITTED)
		return false; /* not in the kernel: nopify or the accounting acts */
	queue_cancel(op);
	return true;
}

void uring_cancel_taken(struct uring_op *op, enum ud_tag tag)
{
	/* acq_rel: the pair with uring_cancel_wanted's fetch_or of OP_WANTED:
	 * whichever comes second queues the cancel (file comment). */
	uint32_t old = jt_fetch_or_acq_rel(&op->st, OP_SUBMITTED);

	if ((old & OP_WANTED) && tag != UD_NOP)
		queue_cancel(op);
}

void uring_cancel_write(struct jt_uring *u)
{
	struct uring_op *op = take_cancels(u), *next, **link;

	for (; op != NULL; op = next) {
		next = op->cancel_next;
		op->cancel_next = u->cancel_backlog;
		u->cancel_backlog = op;
	}
	link = &u->cancel_backlog;
	while ((op = *link) != NULL) {
		struct io_uring_sqe *sqe;
		uint32_t tries;

		/* acquire: pairs with uring_cancel_completed's fetch_or. */
		if (jt_load_acquire(&op->st) & OP_DONE) {
			*link = op->cancel_next;
			uring_op_put(op); /* the cancel's reference */
			continue;
		}
		tries = jt_load_relaxed(&op->cancel_tries); /* uring_cancel_cqe */
		if (sq_cancel_room(u) < (tries ? 2u : 1u))
			break; /* the rest wait in the backlog */
		*link = op->cancel_next;
		if (tries != 0) { /* a retry: wait first */
			unsigned doublings = tries - 1 < CANCEL_RETRY_MAX_DOUBLINGS
			                             ? tries - 1
			                             : CANCEL_RETRY_MAX_DOUBLINGS;

			op->retry_ts.tv_sec = 0;
			op->retry_ts.tv_nsec = CANCEL_RETRY_FIRST_NS << doublings;
			sqe = sq_next(u);
			io_uring_prep_timeout(sqe, &op->retry_ts, 0, 0);
			sqe->flags |= IOSQE_IO_HARDLINK; /* the cancel follows the expiry */
			sq_own(u, sqe, ud_make(op, UD_TIMER));
		}
		sqe = sq_next(u);
		io_uring_prep_cancel64(sqe, ud_make(op, UD_OP), 0);
		sq_own(u, sqe, ud_make(op, UD_CANCEL));
		/* release: our last use of op->cancel_next and cancel_tries
		 * happens before the reaper's acquire load of st when this
		 * cancel's CQE comes back (uring_cancel_cqe), after which it may
		 * queue the record again: the kernel's CQE orders the two, but
		 * it is no edge of the C11 model (nor of ThreadSanitizer's). */
		jt_fetch_or_acq_rel(&op->st, OP_SENT);
	}
}

void uring_cancel_nopify(struct jt_uring *u)
{
	unsigned pos = io_uring_smp_load_acquire(u->ring.sq.khead);
	unsigned tail = u->ring.sq.sqe_tail, mask = u->ring.sq.ring_mask;

	/* The kernel takes SQEs only inside a lock holder's io_uring_enter
	 * (submit.c): until then the unconsumed ones can be rewritten. */
	for (; pos != tail; pos++) {
		uint64_t owner = u->sq_owner[pos & mask];
		struct io_uring_sqe *sqe = &u->ring.sq.sqes[pos & mask];
		struct uring_op *op = ud_op(owner);
		uint8_t keep;

		if (owner == UD_WAKE || ud_tag(owner) != UD_OP)
			continue;
		/* acquire: pairs with uring_cancel_wanted's fetch_or. */
		if (!(jt_load_acquire(&op->st) & OP_WANTED))
			continue;
		keep = sqe->flags & (IOSQE_IO_LINK | IOSQE_IO_HARDLINK | IOSQE_IO_DRAIN);
		io_uring_prep_nop(sqe);
		sqe->flags = keep;
		sq_own(u, sqe, ud_make(op, UD_NOP));
		jt_fetch_or_acq_rel(&op->st, OP_NOPIFIED);
	}
}

bool uring_cancel_writable(struct jt_uring *u)
{
	return jt_load_relaxed(&u->cancels) != NULL ||
	       (u->cancel_backlog != NULL && sq_cancel_room(u) != 0);
}

bool uring_cancel_backlogged(struct jt_uring *u)
{
	return u->cancel_backlog != NULL;
}

bool uring_cancel_queued(struct jt_uring *u)
{
	/* relaxed: only decides whether to ask for a flush, which takes the
	 * stack with acquire (take_cancels). */
	return jt_load_relaxed(&u->cancels) != NULL;
}

void uring_cancel_cqe(struct uring_op *op, enum ud_tag tag, int res)
{
	if (tag == UD_TIMER)
		return; /* a retried cancel's delay; the cancel's CQE follows */
	/* The target may be out of reach for now (file comment): then again,
	 * later. acquire: pairs with uring_cancel_write's fetch_or of OP_SENT
	 * (its uses of the record are over), with jt_uring_prep's release
	 * store of st (cancel_tries is this operation's), and sees the
	 * reaper's own OP_DONE. */
	if ((res == -ENOENT || res == -EALREADY) && !(jt_load_acquire(&op->st) & OP_DONE)) {
		/* relaxed: only the reaper changes it (0 since jt_uring_prep);
		 * the flush that reads it takes op from the stack with acquire,
		 * and the last one released it (OP_SENT) before this CQE. */
		jt_fetch_add_relaxed(&op->cancel_tries, 1); /* the next waits */
		push_cancel(op);                            /* with the cancel's reference */
		return;
	}
	uring_op_put(op); /* the cancel's reference */
}

void uring_cancel_completed(struct uring_op *op)
{
	/* acq_rel: before the completion reference goes, so that a cancel
	 * queued from now on is dropped (queue_cancel, uring_cancel_write). */
	jt_fetch_or_acq_rel(&op->st, OP_DONE);
}
