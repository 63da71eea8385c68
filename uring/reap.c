/*
 * reap.c - reap: the CQ side. CQEs to job completions, in batches, with
 * no lock; the reaper thread's loop; jt_uring_reap. It calls submit.c (to
 * flush a backlog), cancel.c (at a cancel's CQE, and at each operation's
 * completion) and op_pool.c. One thread at a time consumes the CQ: the reaper `jt-uring`
 * (threaded mode), or the thread inside jt_uring_reap or a poll-mode
 * jt_uring_destroy (the `reaping` flag).
 *
 * Ordering (rule 5 of the io_uring contract): the kernel writes a read's
 * buffer, then publishes the CQE with a release store of the CQ tail;
 * liburing reads the tail with acquire (io_uring_peek_batch_cqe); `check`
 * runs after, on this thread, and the job's completion is a release
 * (jt_job_complete's rule), which the dispatcher's acquire pairs with:
 * every callback of the txn sees the buffer.
 *
 * The reaper sleeps in io_uring_enter (GETEVENTS, min_complete 1) while no
 * completion is due: no spinning. It keeps a multishot poll on its own
 * eventfd (wake_fd) in the ring: a thread whose io_uring_enter the kernel
 * refused (threaded mode), and jt_uring_destroy, wake it with a plain
 * eventfd write. While a backlog waits (a refused submit, or cancels
 * without an SQ slot) it sleeps at most 1 ms between flushes, so a cancel
 * reaches the kernel without the user submitting again.
 */
#include <errno.h>
#include <sched.h>
#include <sys/eventfd.h>

#include "txn/job_hook.h"
#include "uring/uring_internal.h"

#define REAP_BATCH      64
#define BACKLOG_WAIT_NS 1000000

/* One CQE; returns 1 when it completed a job. */
static unsigned handle_cqe(struct jt_uring *u, const struct io_uring_cqe *cqe)
{
	uint64_t ud = cqe->user_data;
	struct uring_op *op = ud_op(ud);
	enum ud_tag tag = ud_tag(ud);
	jt_job *job;
	int res = cqe->res, ret;

	if (ud == UD_WAKE) { /* the reaper's poll on wake_fd */
		eventfd_t value;

		(void)eventfd_read(u->wake_fd, &value);
		if (!(cqe->flags & IORING_CQE_F_MORE))
			jt_store_relaxed(&u->wake_armed, 0); /* ended: re-armed by the next flush */
		return 0;
	}
	if (tag == UD_CANCEL || tag == UD_TIMER) {
		uring_cancel_cqe(op, tag, res);
		return 0;
	}
	/* UD_OP or UD_NOP. acquire: pairs with jt_uring_prep's release store
	 * of st (and the RMWs after it): job, check and check_arg are this
	 * operation's. */
	(void)jt_load_acquire(&op->st);
	if (cqe->flags & IORING_CQE_F_MORE) {
		/* More CQEs follow (multishot, or a zero-copy send's result
		 * before its notification): the job completes at the last. */
		if (!op->has_more_res) {
			op->more_res = res;
			op->has_more_res = true;
		}
		return 0;
	}
	if ((cqe->flags & IORING_CQE_F_NOTIF) && op->has_more_res)
		res = op->more_res;
	if (tag == UD_NOP)
		ret = -ECANCELED; /* it never reached the kernel (cancel.c) */
	else if (op->check != NULL)
		ret = op->check(op->check_arg, res);
	else
		ret = res < 0 ? res : 0;
	job = op->job;
	uring_cancel_completed(op); /* before the completion reference goes */
	(void)jt_private_job_complete_hooked(job, ret);
	/* release: the completion happens before destroy sees
	 * incomplete_ops reach 0 (its acquire loads). */
	jt_fetch_sub_acq_rel(&u->incomplete_ops, 1);
	uring_op_put(op); /* the completion's reference */
	return 1;
}

unsigned uring_reap_cqes(struct jt_uring *u, unsigned max)
{
	struct io_uring_cqe *cqes[REAP_BATCH];
	unsigned done = 0;

	for (;;) {
		unsigned want = REAP_BATCH, n;

		if (max != 0 && max - done < want)
			want = max - done;
		/* Flushes an overflowed CQ into the ring when it is empty. */
		n = io_uring_peek_batch_cqe(&u->ring, cqes, want);
		if (n == 0)
			break;
		for (unsigned i = 0; i < n; i++)
			done += handle_cqe(u, cqes[i]);
		io_uring_cq_advance(&u->ring, n);
		if (max != 0 && done >= max)
			break;
	}
	return done;
}

void uring_wait_cqe(struct jt_uring *u)
{
	/* Threaded mode, until the reaper's poll on wake_fd is armed. */
	bool unarmed = u->wake_fd >= 0 && !jt_load_relaxed(&u->wake_armed);
	struct io_uring_cqe *cqe;

	/* A backlog, or no wake-up yet: sleep 1 ms at most. Without
	 * IORING_FEAT_EXT_ARG a timed wait would take an SQE, which only the
	 * lock holder may: then wait for the next CQE. */
	if (u->ext_arg && (uring_has_backlog(u) || unarmed)) {
		struct __kernel_timespec ts = {.tv_sec = 0, .tv_nsec = BACKLOG_WAIT_NS};

		(void)io_uring_wait_cqe_timeout(&u->ring, &cqe, &ts);
		return;
	}
	(void)io_uring_wait_cqe(&u->ring, &cqe); /* -EINTR: the caller loops */
}

void *uring_reaper_main(void *arg)
{
	struct jt_uring *u = arg;

	(void)uring_reaping_swap(u);
	for (;;) {
		uring_reap_cqes(u, 0);
		/* The flush also (re)arms the wake-up poll, the reaper's. */
		if (uring_has_backlog(u) || !jt_load_relaxed(&u->wake_armed))
			uring_request_flush(u);
		/* seq_cst: pairs with destroy's store; then incomplete_ops'
		 * last decrement is ours (relaxed would do; acquire for
		 * clarity). */
		if (jt_load_seq_cst(&u->stop) && jt_load_acquire(&u->incomplete_ops) == 0)
			break;
		uring_wait_cqe(u);
	}
	(void)uring_reaping_swap(NULL);
	return NULL;
}

int uring_reap_begin(struct jt_uring *u, bool wait, const struct jt_uring **prev)
{
	uint32_t idle = 0;

	/* acquire: pairs with uring_reap_end's release: one reaper's CQ
	 * accesses happen before the next one's. */
	while (!jt_cas_acq_rel(&u->reaping, &idle, 1)) {
		if (!wait)
			return -EBUSY;
		idle = 0;
		sched_yield();
	}
	*prev = uring_reaping_swap(u); /* a `check` of another ring may reap this one */
	return 0;
}

void uring_reap_end(struct jt_uring *u, const struct jt_uring *prev)
{
	(void)uring_reaping_swap(prev);
	jt_store_release(&u->reaping, 0);
}

int jt_uring_reap(jt_uring *u, unsigned max)
{
	const struct jt_uring *prev;
	eventfd_t value;
	int n;

	if (u == NULL || !(u->flags & JT_URING_POLL))
		return -EINVAL;
	if (uring_reap_begin(u, false, &prev) != 0)
		return -EBUSY;
	/* Drain the eventfd first: a CQE posted after this read signals it
	 * again, so no wake-up is missed. */
	(void)eventfd_read(u->efd, &value);
	n = (int)uring_reap_cqes(u, max);
	/* `max` left completions behind: stay readable. */
	if (io_uring_cq_ready(&u->ring) != 0 ||
	    (IO_URING_READ_ONCE(*u->ring.sq.kflags) & IORING_SQ_CQ_OVERFLOW))
		(void)eventfd_write(u->efd, 1);
	if (uring_has_backlog(u))
		uring_request_flush(u);
	uring_reap_end(u, prev);
	return n;
}

int jt_uring_fd(jt_uring *u)
{
	if (u == NULL || !(u->flags & JT_URING_POLL))
		return -EINVAL;
	return u->efd;
}
