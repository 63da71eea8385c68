/*
 * lifecycle.c - the ring's life: jt_uring_create and jt_uring_destroy, the
 * reaper thread's start and stop, and the core's cancel hook, whose part
 * here is to be safe however late it runs (what it asks for is cancel.c's
 * protocol). It calls reap.c, submit.c, cancel.c and op_pool.c.
 *
 * The hook runs late, by design of the core, when it read the job's state
 * just before the job completed (txn/job_hook.h): the record may then be
 * back in the pool, or reused by another job, and jt_uring_destroy may be
 * running. Three things make that safe:
 *   - the record: type-stable memory; uring_op_tryget takes a reference
 *     only while the count is not zero, and the op->job check leaves a
 *     record reused by another job alone (uring_internal.h);
 *   - a hook that has begun: it counts itself in hooks_active before it
 *     reads `closed`, and jt_uring_destroy sets `closed` before it waits
 *     for hooks_active to drop to 0 (seq_cst both sides: one of the two
 *     sees the other) and closes the ring;
 *   - a hook that the dispatcher has decided to call but not yet entered:
 *     the ring's memory is freed by a txn's done. Such a hook belongs to a
 *     cancel request that the dispatcher took before the barrier txn's
 *     retirement, which jt_uring_destroy queues only after every job
 *     completed, so the request is run to its end first (one item at a
 *     time, in order); a request it takes after the barrier reads the
 *     job's state after the completion, sees it complete, and calls no
 *     hook. The barrier is begun at create (so destroy cannot fail for
 *     want of memory or of a max_inflight slot) and committed, with no
 *     member, at destroy; its done frees the records and the ring on the
 *     dispatcher.
 */
#include <errno.h>
#include <sched.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "txn/job_hook.h"
#include "uring/uring_internal.h"

void jt_uring_opts_init(struct jt_uring_opts *o)
{
	if (o == NULL)
		return;
	o->entries = URING_DEFAULT_ENTRIES;
	o->flags = 0;
}

static unsigned pow2_at_least(unsigned n)
{
	unsigned p = 1;

	while (p < n)
		p <<= 1;
	return p;
}

static int ring_setup(struct jt_uring *u)
{
	struct io_uring_params p;
	int err;

	/* SUBMIT_ALL (5.18): a bad SQE fails alone (its own CQE) instead of
	 * stopping the batch. COOP_TASKRUN is not asked for: a submitter
	 * asleep in a futex (jt_txn_commit_wait) must still get its task
	 * work run, or its completions would wait for its next system call.
	 * SINGLE_ISSUER does not fit: any thread submits. */
	memset(&p, 0, sizeof(p));
	p.flags = IORING_SETUP_SUBMIT_ALL;
	err = io_uring_queue_init_params(u->sq_slots, &u->ring, &p);
	if (err == -EINVAL) { /* older kernel */
		memset(&p, 0, sizeof(p));
		err = io_uring_queue_init_params(u->sq_slots, &u->ring, &p);
	}
	if (err != 0)
		return err;
	if (u->ring.sq.ring_entries != u->sq_slots) { /* sq_owner is sized for sq_slots */
		io_uring_queue_exit(&u->ring);
		return -EINVAL;
	}
	/* The accounting reads slot (position & mask): make the SQ's index
	 * array the identity, whatever liburing did. */
	for (unsigned i = 0; i < u->sq_slots; i++)
		u->ring.sq.array[i] = i;
	u->ext_arg = (p.features & IORING_FEAT_EXT_ARG) != 0;
	return 0;
}

static int poll_setup(struct jt_uring *u)
{
	int err;

	u->efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (u->efd < 0)
		return -errno;
	err = io_uring_register_eventfd(&u->ring, u->efd);
	if (err != 0) {
		close(u->efd);
		u->efd = -1;
	}
	return err;
}

static int reaper_start(struct jt_uring *u)
{
	int err;

	u->wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (u->wake_fd < 0)
		return -errno;
	err = pthread_create(&u->reaper, NULL, uring_reaper_main, u);
	if (err != 0) {
		close(u->wake_fd);
		u->wake_fd = -1;
		return -err;
	}
	pthread_setname_np(u->reaper, "jt-uring");
	u->reaper_started = true;
	return 0;
}

/* Threaded mode: let the reaper finish (once incomplete_ops is 0) and join it. */
static void reaper_stop(struct jt_uring *u)
{
	/* seq_cst: pairs with the reaper's load (reap.c). */
	jt_store_seq_cst(&u->stop, 1);
	/* If its poll is not armed yet, the reaper sleeps 1 ms at most. */
	uring_wake_reaper(u);
	pthread_join(u->reaper, NULL);
	u->reaper_started = false;
}

static void ring_close(struct jt_uring *u)
{
	io_uring_queue_exit(&u->ring);
	if (u->efd >= 0)
		close(u->efd);
	if (u->wake_fd >= 0)
		close(u->wake_fd);
	u->efd = u->wake_fd = -1;
}

static void ring_free(struct jt_uring *u)
{
	jt_runtime *rt = u->rt;

	uring_op_free_all(u);
	jt_private_runtime_free(rt, u, u->alloc_size);
}

void uring_cancel_hook(jt_job *j, void *arg)
{
	struct uring_op *op = arg;
	struct jt_uring *u = op->u; /* constant: records stay with their ring */

	/* seq_cst: the Dekker pair with jt_uring_destroy (file comment). */
	jt_fetch_add_seq_cst(&u->hooks_active, 1);
	if (jt_load_seq_cst(&u->closed) == 0 && uring_op_tryget(op)) {
		/* The record is not reused while we hold it; still j's? */
		if (op->job == j && uring_cancel_wanted(op))
			uring_request_flush(u);
		uring_op_put(op);
	}
	/* release: the hook's uses of the ring happen before destroy sees
	 * the count drop to 0. */
	jt_fetch_sub_acq_rel(&u->hooks_active, 1);
}

static void barrier_done(void *opaque, int status)
{
	(void)status;
	ring_free(opaque);
}

int jt_uring_create(jt_runtime *rt, const struct jt_uring_opts *o, jt_uring **out)
{
	struct jt_uring_opts opts;
	struct jt_uring *u;
	unsigned slots;
	size_t size;
	int err;

	if (rt == NULL || out == NULL)
		return -EINVAL;
	jt_uring_opts_init(&opts);
	if (o != NULL)
		opts = *o;
	if (opts.entries == 0)
		opts.entries = URING_DEFAULT_ENTRIES;
	if ((opts.flags & ~JT_URING_POLL) != 0 || opts.entries > URING_MAX_ENTRIES)
		return -EINVAL;
	slots = pow2_at_least(2 * opts.entries);
	size = sizeof(*u) + slots * sizeof(u->sq_owner[0]);
	u = jt_private_runtime_alloc(rt, size);
	if (u == NULL)
		return -ENOMEM;
	memset(u, 0, size);
	u->rt = rt;
	u->flags = opts.flags;
	u->entries = opts.entries;
	u->sq_slots = slots;
	u->efd = u->wake_fd = -1;
	u->alloc_size = size;
	jt_futex_lock_init(&u->lock);
	err = ring_setup(u);
	if (err != 0)
		goto fail_free;
	err = (u->flags & JT_URING_POLL) ? poll_setup(u) : reaper_start(u);
	if (err != 0)
		goto fail_ring;
	/* Last: a begun txn cannot be taken back. */
	err = jt_txn_begin(rt, JT_TXN_NOWAIT, &u->barrier);
	if (err != 0)
		goto fail_started;
	*out = u;
	return 0;

fail_started:
	if (u->reaper_started)
		reaper_stop(u);
fail_ring:
	ring_close(u);
fail_free:
	jt_private_runtime_free(rt, u, size);
	return err;
}

/* Poll mode: reap on this thread until every submitted operation completed. */
static void poll_drain(struct jt_uring *u)
{
	const struct jt_uring *prev;

	(void)uring_reap_begin(u, true, &prev); /* waits out a reap that is ending */
	for (;;) {
		uring_reap_cqes(u, 0);
		if (uring_has_backlog(u))
			uring_request_flush(u);
		/* acquire: pairs with the reaping decrement (ours, here). */
		if (jt_load_acquire(&u->incomplete_ops) == 0)
			break;
		uring_wait_cqe(u);
	}
	uring_reap_end(u, prev);
}

int jt_uring_destroy(jt_uring *u)
{
	if (u == NULL)
		return -EINVAL;
	if (jt_private_runtime_on_dispatcher(u->rt) || uring_reaping_here(u))
		return -EDEADLK;
	uring_lock(u);
	if (u->staged != 0 || u->user_in_sq != 0) {
		uring_unlock(u);
		return -EBUSY;
	}
	u->closing = true;
	uring_unlock(u);
	if (u->flags & JT_URING_POLL)
		poll_drain(u);
	else
		reaper_stop(u);
	/* seq_cst: the Dekker pair with the cancel hook (file comment). */
	jt_store_seq_cst(&u->closed, 1);
	while (jt_load_seq_cst(&u->hooks_active) != 0)
		sched_yield();
	ring_close(u);
	/* A txn with no member: commit cannot fail, and its done runs on the
	 * dispatcher after any hook in flight (file comment). */
	(void)jt_txn_commit(u->barrier, barrier_done, u);
	return 0;
}
