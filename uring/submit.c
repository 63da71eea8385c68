/*
 * submit.c - the submission side: the SQ lock, the copy of a thread's
 * staged SQEs into the kernel's SQ, cancels, io_uring_enter, and the
 * accounting of what the kernel took.
 *
 * Everything that touches the SQ (liburing's sq fields, the SQ memory,
 * sq_owner, the staged list) runs under `lock`. The kernel takes SQEs only
 * inside an io_uring_enter with to_submit > 0 (no SQPOLL), and only a lock
 * holder makes one, so the SQ's unconsumed entries can be rewritten under
 * the lock (nopify) until then.
 *
 * Slots: at most `entries` caller SQEs are staged or in the SQ (prep.c);
 * cancels and the reaper's wake-up poll use the other sq_slots - entries
 * slots (cancel_room). A copy therefore always finds a slot.
 *
 * Threads that must not wait (the cancel hook on the dispatcher, the
 * reaper, jt_uring_reap) ask for a flush with uring_request_flush: they
 * take the lock if it is free; otherwise its holder serves them when it
 * lets go (uring_unlock; sq_lock.h argues why no request is missed).
 *
 * A refused io_uring_enter leaves its SQEs in the SQ (liburing published
 * the tail; the kernel's head did not move): the next flush sends them
 * first, in order. The consumption is read from the kernel's SQ head, one
 * entry at a time, so partial submissions are accounted exactly.
 */
#include <errno.h>
#include <poll.h>
#include <string.h>
#include <sys/eventfd.h>

#include "uring/uring_internal.h"

void uring_lock(struct jt_uring *u)
{
	sq_lock_acquire(&u->lock);
}

void uring_unlock(struct jt_uring *u)
{
	for (;;) {
		sq_lock_release(&u->lock);
		/* seq_cst: the Dekker pair with uring_request_flush's store
		 * (sq_lock.h). */
		if (jt_load_seq_cst(&u->flush_wanted) == 0)
			return;
		if (!sq_lock_try(&u->lock))
			return; /* the new holder serves it when it lets go */
		/* Taken before the flush: a request that comes during it sets
		 * the flag again and is served on the next round. */
		jt_xchg_seq_cst(&u->flush_wanted, 0);
		(void)uring_flush_locked(u, NULL);
	}
}

void uring_request_flush(struct jt_uring *u)
{
	/* seq_cst: the Dekker pair with the load in uring_unlock. */
	jt_store_seq_cst(&u->flush_wanted, 1);
	if (!sq_lock_try(&u->lock))
		return;
	jt_xchg_seq_cst(&u->flush_wanted, 0);
	(void)uring_flush_locked(u, NULL);
	uring_unlock(u);
}

bool uring_has_backlog(struct jt_uring *u)
{
	/* acquire: pairs with the release store at the end of a flush (only
	 * decides whether to ask for one; the flush reads under the lock). */
	return jt_load_acquire(&u->backlog) != 0 || jt_load_relaxed(&u->cancels) != NULL;
}

static unsigned sq_index(struct jt_uring *u, struct io_uring_sqe *sqe)
{
	return (unsigned)(sqe - u->ring.sq.sqes);
}

static unsigned cancel_room(struct jt_uring *u)
{
	unsigned others = io_uring_sq_ready(&u->ring) - u->user_in_sq;
	unsigned room = u->sq_slots - u->entries;

	return room > others ? room - others : 0;
}

/* Copy the calling thread's staged SQEs into the SQ, in prep order. */
static void copy_own_staged(struct jt_uring *u)
{
	pthread_t self = pthread_self();
	struct uring_op **link = &u->staged_head, *op, *prev = NULL;
	struct io_uring_sqe *sqe = NULL;

	while ((op = *link) != NULL) {
		if (!pthread_equal(op->owner, self)) {
			prev = op;
			link = &op->next;
			continue;
		}
		*link = op->next;
		if (u->staged_tail == op)
			u->staged_tail = prev;
		u->staged--;
		sqe = io_uring_get_sqe(&u->ring); /* a slot is reserved (file comment) */
		memcpy(sqe, &op->sqe, sizeof(*sqe));
		sqe->flags &= (uint8_t)~IOSQE_CQE_SKIP_SUCCESS; /* one CQE per operation */
		sqe->user_data = (uintptr_t)op;
		u->sq_owner[sq_index(u, sqe)] = (uintptr_t)op;
		u->user_in_sq++;
	}
	/* A chain ends with the thread's batch, as it would at the end of a
	 * submission: the next thread's SQEs must not join it. */
	if (sqe != NULL)
		sqe->flags &= (uint8_t) ~(IOSQE_IO_LINK | IOSQE_IO_HARDLINK);
}

/* Queue what cancels fit; drop those whose target completed meanwhile. */
static void write_cancels(struct jt_uring *u)
{
	struct uring_op *op = uring_take_cancels(u), *next, **link;

	for (; op != NULL; op = next) {
		next = op->cancel_next;
		op->cancel_next = u->cancel_backlog;
		u->cancel_backlog = op;
	}
	link = &u->cancel_backlog;
	while ((op = *link) != NULL) {
		struct io_uring_sqe *sqe;
		uint32_t tries;

		/* acquire: pairs with the reaper's fetch_or of OP_DONE. */
		if (jt_load_acquire(&op->st) & OP_DONE) {
			*link = op->cancel_next;
			uring_op_put(op); /* the cancel's reference */
			continue;
		}
		tries = jt_load_relaxed(&op->cancel_tries); /* cancel.c, uring_retry_cancel */
		if (cancel_room(u) < (tries ? 2u : 1u))
			break; /* the rest wait in the backlog */
		*link = op->cancel_next;
		if (tries != 0) { /* a retry (cancel.c): wait first */
			unsigned shift = tries - 1 < 6 ? tries - 1 : 6;

			op->retry_ts.tv_sec = 0;
			op->retry_ts.tv_nsec = 1000000LL << shift;
			sqe = io_uring_get_sqe(&u->ring);
			io_uring_prep_timeout(sqe, &op->retry_ts, 0, 0);
			sqe->flags |= IOSQE_IO_HARDLINK; /* the cancel follows the expiry */
			sqe->user_data = (uintptr_t)op | UD_TIMER;
			u->sq_owner[sq_index(u, sqe)] = (uintptr_t)op | UD_TIMER;
		}
		sqe = io_uring_get_sqe(&u->ring);
		io_uring_prep_cancel64(sqe, (uintptr_t)op, 0);
		sqe->user_data = (uintptr_t)op | UD_CANCEL;
		u->sq_owner[sq_index(u, sqe)] = (uintptr_t)op | UD_CANCEL;
		/* release: our last use of op->cancel_next and cancel_tries
		 * happens before the reaper's acquire load of st when this
		 * cancel's CQE comes back (reap.c), after which it may queue
		 * the record again: the kernel's CQE orders the two, but it is
		 * no edge of the C11 model (nor of ThreadSanitizer's). */
		jt_fetch_or_acq_rel(&op->st, OP_SENT);
	}
}

/*
 * An operation whose txn is failing and that the kernel has not taken yet
 * never reaches it: its SQE becomes a NOP with the same link flags, and
 * its job completes with -ECANCELED (reap.c, UD_NOP).
 */
static void nopify_unconsumed(struct jt_uring *u)
{
	unsigned pos = io_uring_smp_load_acquire(u->ring.sq.khead);
	unsigned tail = u->ring.sq.sqe_tail, mask = u->ring.sq.ring_mask;

	for (; pos != tail; pos++) {
		uintptr_t owner = u->sq_owner[pos & mask];
		struct io_uring_sqe *sqe = &u->ring.sq.sqes[pos & mask];
		struct uring_op *op = (struct uring_op *)owner;
		uint8_t keep;

		if (owner == 0 || (owner & UD_TAGS) != 0)
			continue;
		/* acquire: pairs with the hook's fetch_or of OP_WANTED. */
		if (!(jt_load_acquire(&op->st) & OP_WANTED))
			continue;
		keep = sqe->flags & (IOSQE_IO_LINK | IOSQE_IO_HARDLINK | IOSQE_IO_DRAIN);
		io_uring_prep_nop(sqe);
		sqe->flags = keep;
		sqe->user_data = owner | UD_NOP;
		u->sq_owner[pos & mask] = owner | UD_NOP;
		jt_fetch_or_acq_rel(&op->st, OP_NOPIFIED);
	}
}

/* What the kernel took since the last look; returns the caller SQEs. */
static unsigned account_taken(struct jt_uring *u)
{
	unsigned head = io_uring_smp_load_acquire(u->ring.sq.khead);
	unsigned mask = u->ring.sq.ring_mask, taken = 0;

	for (; u->sq_seen != head; u->sq_seen++) {
		uintptr_t owner = u->sq_owner[u->sq_seen & mask];
		struct uring_op *op = (struct uring_op *)(owner & ~UD_TAGS);
		uint32_t old;

		u->sq_owner[u->sq_seen & mask] = 0;
		if (owner == 0 || (owner & UD_CANCEL))
			continue; /* the wake-up, or a cancel (its ref goes at its CQE) */
		taken++;
		u->user_in_sq--;
		/* acq_rel: the pair with the hook's fetch_or of OP_WANTED:
		 * whichever comes second queues the cancel (cancel.c). */
		old = jt_fetch_or_acq_rel(&op->st, OP_SUBMITTED);
		if ((old & OP_WANTED) && !(owner & UD_NOP))
			uring_queue_cancel(op);
		uring_op_put(op); /* the way to the kernel is over */
	}
	return taken;
}

void uring_wake_reaper(struct jt_uring *u)
{
	/* A plain eventfd write, which no io_uring refusal can stop: the
	 * reaper's multishot poll on it posts a CQE (reap.c). */
	(void)eventfd_write(u->wake_fd, 1);
}

/* The reaper only: (re)arm its multishot poll on wake_fd, so that its
 * task runs the poll's task work. */
static void arm_wake_poll(struct jt_uring *u)
{
	struct io_uring_sqe *sqe;

	if (u->wake_fd < 0 || !uring_reaping_here(u) || jt_load_relaxed(&u->wake_armed) ||
	    cancel_room(u) == 0)
		return;
	sqe = io_uring_get_sqe(&u->ring);
	io_uring_prep_poll_multishot(sqe, u->wake_fd, POLLIN);
	sqe->user_data = 0;
	u->sq_owner[sq_index(u, sqe)] = 0;
	jt_store_relaxed(&u->wake_armed, 1); /* the reaper's own flag */
}

int uring_flush_locked(struct jt_uring *u, unsigned *taken)
{
	unsigned user = 0;
	bool backlog;
	int err = 0;

	arm_wake_poll(u);
	for (;;) {
		int ret;

		write_cancels(u);
		nopify_unconsumed(u);
		if (io_uring_sq_ready(&u->ring) == 0)
			break;
		ret = io_uring_submit(&u->ring);
		user += account_taken(u);
		if (ret <= 0) {
			err = ret;
			break;
		}
		/* The accounting may have queued cancels of its own. */
		if (jt_load_relaxed(&u->cancels) == NULL &&
		    (u->cancel_backlog == NULL || cancel_room(u) == 0) &&
		    io_uring_sq_ready(&u->ring) == 0)
			break;
	}
	backlog = io_uring_sq_ready(&u->ring) != 0 || u->cancel_backlog != NULL;
	/* release: pairs with uring_has_backlog's acquire. */
	jt_store_release(&u->backlog, backlog);
	/* Threaded mode: the reaper retries what the kernel refused; it may
	 * be asleep in the kernel, so wake it. */
	if (backlog && u->wake_fd >= 0 && !uring_reaping_here(u))
		uring_wake_reaper(u);
	if (taken != NULL)
		*taken = user;
	return err;
}

int jt_uring_submit(jt_uring *u)
{
	unsigned taken;
	int err;

	if (u == NULL)
		return -EINVAL;
	uring_lock(u);
	copy_own_staged(u);
	err = uring_flush_locked(u, &taken);
	uring_unlock(u);
	/* The caller's SQEs went if the kernel took any; a refusal of a
	 * later round (cancels) is the backlog's, retried by the next flush. */
	return taken > 0 || err == 0 ? (int)taken : err;
}
