/*
 * submit.c - submit: the SQ side. The SQ lock and the flush requests it
 * serves, the copy of a thread's staged SQEs into the kernel's SQ,
 * io_uring_enter, and the accounting of what the kernel took. It calls
 * cancel.c at the cancel protocol's steps (before it enters the kernel,
 * and for each SQE the kernel took) and op_pool.c; nothing else.
 *
 * Everything that touches the SQ (liburing's sq fields, the SQ memory,
 * sq_owner, the staged list, the cancel backlog) runs under `lock`. The
 * kernel takes SQEs only inside an io_uring_enter with to_submit > 0 (no
 * SQPOLL), and only a lock holder makes one, so the SQ's unconsumed
 * entries can be rewritten under the lock (cancel.c, nopify) until then.
 *
 * Slots: at most `entries` caller SQEs are staged or in the SQ (prep.c);
 * cancels and the reaper's wake-up poll use the other sq_slots - entries
 * slots (sq_cancel_room). A copy therefore always finds a slot.
 *
 * Flush requests: threads that must not wait (the cancel hook on the
 * dispatcher, the reaper, jt_uring_reap) publish a request in
 * flush_wanted (a seq_cst store), then try the lock: they flush if it is
 * free; otherwise its holder serves them when it lets go (uring_unlock:
 * the release, then a seq_cst load of flush_wanted). The lock's try and
 * release are seq_cst (atomics/futex_lock.h): in the single total order
 * either the try comes after the release and takes the lock, or the
 * holder's load comes after the request's store and serves it. No request
 * is left behind.
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

static int flush_locked(struct jt_uring *u, unsigned *taken);

/* The ring whose CQ this thread consumes (reap.c, uring_reap_begin and
 * the reaper): the SQ side asks, because only the reaper arms its wake-up
 * poll, and it needs no waking. Kept here, with its reader, so that the
 * calls between the files go one way. */
static _Thread_local const struct jt_uring *reaping_ring;

const struct jt_uring *uring_reaping_swap(const struct jt_uring *u)
{
	const struct jt_uring *prev = reaping_ring;

	reaping_ring = u;
	return prev;
}

bool uring_reaping_here(const struct jt_uring *u)
{
	return reaping_ring == u;
}

void uring_lock(struct jt_uring *u)
{
	jt_futex_lock_acquire(&u->lock);
}

void uring_unlock(struct jt_uring *u)
{
	for (;;) {
		jt_futex_lock_release(&u->lock);
		/* seq_cst: the Dekker pair with uring_request_flush's store
		 * (file comment). */
		if (jt_load_seq_cst(&u->flush_wanted) == 0)
			return;
		if (!jt_futex_lock_try(&u->lock))
			return; /* the new holder serves it when it lets go */
		/* Taken before the flush: a request that comes during it sets
		 * the flag again and is served on the next round. */
		jt_xchg_seq_cst(&u->flush_wanted, 0);
		(void)flush_locked(u, NULL);
	}
}

void uring_request_flush(struct jt_uring *u)
{
	/* seq_cst: the Dekker pair with the load in uring_unlock. */
	jt_store_seq_cst(&u->flush_wanted, 1);
	if (!jt_futex_lock_try(&u->lock))
		return;
	jt_xchg_seq_cst(&u->flush_wanted, 0);
	(void)flush_locked(u, NULL);
	uring_unlock(u);
}

bool uring_has_backlog(struct jt_uring *u)
{
	/* acquire: pairs with the release store at the end of a flush (only
	 * decides whether to ask for one; the flush reads under the lock). */
	return jt_load_acquire(&u->backlog) != 0 || uring_cancel_queued(u);
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
		sqe = sq_next(u); /* a slot is reserved (file comment) */
		memcpy(sqe, &op->sqe, sizeof(*sqe));
		sqe->flags &= (uint8_t)~IOSQE_CQE_SKIP_SUCCESS; /* one CQE per operation */
		sq_own(u, sqe, ud_make(op, UD_OP));
		u->user_in_sq++;
	}
	/* A chain ends with the thread's batch, as it would at the end of a
	 * submission: the next thread's SQEs must not join it. */
	if (sqe != NULL)
		sqe->flags &= (uint8_t) ~(IOSQE_IO_LINK | IOSQE_IO_HARDLINK);
}

/* What the kernel took since the last look; returns the caller SQEs. */
static unsigned account_taken(struct jt_uring *u)
{
	unsigned head = io_uring_smp_load_acquire(u->ring.sq.khead);
	unsigned mask = u->ring.sq.ring_mask, taken = 0;

	for (; u->sq_seen != head; u->sq_seen++) {
		uint64_t owner = u->sq_owner[u->sq_seen & mask];
		enum ud_tag tag = ud_tag(owner);
		struct uring_op *op = ud_op(owner);

		u->sq_owner[u->sq_seen & mask] = 0;
		if (owner == UD_WAKE || tag == UD_CANCEL || tag == UD_TIMER)
			continue; /* the wake-up, or a cancel (its ref goes at its CQE) */
		taken++;          /* UD_OP or UD_NOP: a caller SQE */
		u->user_in_sq--;
		uring_cancel_taken(op, tag);
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
	    sq_cancel_room(u) == 0)
		return;
	sqe = sq_next(u);
	io_uring_prep_poll_multishot(sqe, u->wake_fd, POLLIN);
	sq_own(u, sqe, UD_WAKE);
	jt_store_relaxed(&u->wake_armed, 1); /* the reaper's own flag */
}

/* Under the lock: cancels, NOPs, io_uring_enter and its accounting, until
 * the SQ is empty or the kernel refuses. */
static int flush_locked(struct jt_uring *u, unsigned *taken)
{
	unsigned user = 0;
	bool backlog;
	int err = 0;

	arm_wake_poll(u);
	for (;;) {
		int ret;

		uring_cancel_write(u);
		uring_cancel_nopify(u);
		if (io_uring_sq_ready(&u->ring) == 0)
			break;
		ret = io_uring_submit(&u->ring);
		user += account_taken(u);
		if (ret <= 0) {
			err = ret;
			break;
		}
		/* The accounting may have queued cancels of its own. */
		if (!uring_cancel_writable(u) && io_uring_sq_ready(&u->ring) == 0)
			break;
	}
	backlog = io_uring_sq_ready(&u->ring) != 0 || uring_cancel_backlogged(u);
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
	err = flush_locked(u, &taken);
	uring_unlock(u);
	/* The caller's SQEs went if the kernel took any; a refusal of a
	 * later round (cancels) is the backlog's, retried by the next flush. */
	return taken > 0 || err == 0 ? (int)taken : err;
}
