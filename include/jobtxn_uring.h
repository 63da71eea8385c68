/*
 * jobtxn_uring.h - kernel I/O as jobs: every operation queued on an io_uring
 * is one armed job of a jobtxn txn, the kernel's completion completes it,
 * and a txn that starts failing cancels its operations in the kernel.
 *
 * Life cycle of an operation
 * --------------------------
 *   jt_uring_prep     the job's builder: arms the job (jt_job_arm's rules)
 *                     and hands out a cleared SQE, staged in the library
 *   io_uring_prep_*   the caller fills the SQE (any opcode, links allowed)
 *   jt_uring_submit   the same thread: its staged SQEs go to the kernel, in
 *                     the order they were prepared, as one batch
 *   the kernel        completes the operation and posts its CQE
 *   the reaper        the `jt-uring` thread, or jt_uring_reap in poll
 *                     mode: check(arg, res), then the job completes; the
 *                     txn's callbacks run on its runtime's dispatcher as
 *                     usual (jobtxn.h)
 *
 * Cancellation reaches the kernel. When a txn starts failing (a grouped
 * txn's first failed job, or a failed prepare: jobtxn.h), each of its
 * operations gets, with no user code, after the member's own `cancel`:
 *   - in the kernel already: an IORING_OP_ASYNC_CANCEL by user_data; the
 *     job then completes with the operation's own result (-ECANCELED,
 *     -EINTR, or its result if it finished first);
 *   - not in the kernel yet (staged, or left in the SQ by a refused
 *     submit): it never reaches the kernel. It goes as an IORING_OP_NOP
 *     that keeps its place and its link flags, and its job completes with
 *     -ECANCELED (an operation of another, healthy txn linked behind it
 *     then runs; the kernel's own cancel would have failed it).
 * The cancel hook runs on the dispatcher and never blocks: a cancel that
 * finds the SQ lock taken or the SQ full is queued and goes with the next
 * submission, which in threaded mode the reaper makes itself without
 * waiting for the user.
 *
 * Exactly one completion per prepared operation: a refused submit loses
 * nothing (the SQEs stay queued and go with the next successful one), and
 * the CQE of an internal cancel or wake-up completes no job. A CQE with
 * IORING_CQE_F_MORE (multishot, zero-copy send) completes nothing; the
 * job completes at the operation's last CQE (for a zero-copy send, with
 * the result of its first one).
 *
 * Synchronization table
 * ---------------------
 *   call                   who may call it                     may block
 *   jt_uring_opts_init     any thread                          no
 *   jt_uring_create        any thread                          no
 *   jt_uring_destroy       any thread but a callback of its    yes: until every
 *                          runtime, or `check` (-EDEADLK)      submitted op completed
 *   jt_uring_prep          the job's builder (jt_job_arm's     SQ lock, briefly
 *                          rules), any thread
 *   jt_uring_submit        any thread; submits its own SQEs    SQ lock (the kernel
 *                                                              takes inline work)
 *   jt_uring_fd            any thread (poll mode)              no
 *   jt_uring_reap          one thread at a time (-EBUSY)       no (runs `check`)
 *
 *   Submission (prep, submit, the cancel hook's flush) shares one short
 *   internal lock, never held while user code runs; the cancel hook only
 *   ever tries it. Completion (reaping, check, completing jobs) takes no
 *   lock. `check` runs on the reaping thread, before the job completes.
 *
 * Why an SQE is submitted by the thread that prepared it: an SQE another
 * thread is still filling must not reach the kernel, and a chain
 * (IOSQE_IO_LINK) must reach it whole. jt_uring_submit therefore takes the
 * calling thread's staged SQEs (plus whatever a refused submit left in the
 * SQ and the pending cancels); a chain ends at the end of each thread's
 * batch (the link flag of its last SQE is cleared, as the kernel ends a
 * chain at the end of a submission). An SQE that its thread never submits
 * stays prepared: jt_uring_destroy returns -EBUSY.
 *
 * Memory: rule 5 of jobtxn.h holds for the kernel's writes: everything the
 * kernel wrote into a read buffer before posting the CQE is visible to
 * `check` and to every callback of the txn (the CQ tail is read with
 * acquire, and the completion releases). The library allocates through
 * the runtime's allocator (struct jt_allocator): one block per ring, one
 * per operation in flight at the peak (kept for reuse until destroy).
 *
 * A ring keeps one txn of its runtime begun (not committed) from create
 * to destroy, with no member: jt_runtime_foreach_txn lists it,
 * txns_begun/committed/retired count it, it takes one max_inflight slot,
 * and jt_runtime_destroy returns -EBUSY while a ring of the runtime
 * exists. jt_uring_destroy commits it; its done frees the ring's memory on
 * the dispatcher, after any cancel hook that could still be running.
 *
 * Operations are tied to the thread that submitted them: io_uring runs
 * their task work there, interrupting the thread, so that its blocking
 * system calls (epoll_wait, poll, read) may return EINTR, and a thread
 * that exits may see its operations still in flight complete with
 * -ECANCELED. IOSQE_IO_DRAIN holds back
 * every later SQE, the library's cancels included: avoid it on a ring
 * whose txns may fail. SQPOLL, registered files and buffers are not
 * offered. A ring inherited across fork() must not be used in the child.
 */
#ifndef JOBTXN_URING_H
#define JOBTXN_URING_H

#include <liburing.h>

#include "jobtxn.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct jt_uring jt_uring;

/* Ring flags. */
#define JT_URING_POLL 0x1u /* no reaper thread: the caller runs jt_uring_reap */

/*
 * struct jt_uring_opts: fill with jt_uring_opts_init, then adjust. A zeroed
 * struct is valid too and means the defaults.
 *   entries  the submission queue: at most this many SQEs prepared and not
 *            yet taken by the kernel (default 256, at most 16384); the
 *            kernel ring gets twice as many slots, the rest for cancels
 *   flags    JT_URING_POLL
 */
struct jt_uring_opts {
	unsigned entries;
	unsigned flags;
};

/*
 * jt_uring_check_fn: maps an operation's CQE result to its job's result
 * (0 or -errno), e.g. a short read to -EIO. Runs on the reaping thread,
 * before the job completes; it must not complete the job itself.
 */
typedef int jt_uring_check_fn(void *arg, int res);

/*
 * jt_uring_opts_init: fill `o` with the defaults.
 * Context: any thread. No-op when `o` is NULL.
 */
JT_API void jt_uring_opts_init(struct jt_uring_opts *o);

/*
 * jt_uring_create: set up one io_uring bound to `rt` and, without
 * JT_URING_POLL, start its reaper thread `jt-uring`, which sleeps in the
 * kernel while no completion is due.
 * Context: any thread. `o` NULL = defaults; `o` is copied.
 * Returns 0 and *out, -EINVAL (NULL rt or out, unknown flag, entries above
 * 16384), -ENOMEM, -EAGAIN (rt is at max_inflight: the ring's own txn
 * could not be begun), the ring set-up's error (-ENOSYS or -EPERM where
 * io_uring is unavailable or disabled, -EMFILE, ...), or the negated
 * thread-creation error. On failure nothing is left behind.
 */
JT_API int jt_uring_create(jt_runtime *rt, const struct jt_uring_opts *o, jt_uring **out);

/*
 * jt_uring_destroy: wait until every submitted operation completed (its
 * job completed: its txn may still be retiring), stop the reaper, close
 * the ring. Its memory is freed on the runtime's dispatcher shortly after
 * (in poll mode at the next jt_runtime_poll), before jt_runtime_destroy
 * returns. In poll mode the caller reaps (runs `check`) while it waits.
 * Context: any thread but a callback of the ring's runtime or a `check` of
 * this ring. Must be called before jt_runtime_destroy of its runtime, and
 * with no other call on `u` running or to come.
 * Returns 0, -EINVAL (NULL), -EBUSY (an operation is prepared but not
 * submitted: submit it first; nothing changed), -EDEADLK (from a callback
 * of its runtime or a `check`; nothing changed).
 */
JT_API int jt_uring_destroy(jt_uring *u);

/*
 * jt_uring_prep: arm `j` (the rules of jt_job_arm: its builder, before
 * commit or inside prepare/commit) and stage a cleared SQE for it in *sqe.
 * Fill it with any io_uring_prep_* call; the library sets its user_data
 * and clears IOSQE_CQE_SKIP_SUCCESS when it is submitted. The SQE is the
 * caller's until its thread's next jt_uring_submit on `u`, which sends it.
 * The job completes with check(arg, res) or, when `check` is NULL, with
 * `res` if it is negative and 0 otherwise. j's txn must belong to the
 * ring's runtime.
 * Context: any thread (the job's builder). Takes the SQ lock briefly.
 * Returns 0, -EINVAL (NULL u, j or sqe; j of another runtime; the txn is
 * sealed; the ring is being destroyed), -EALREADY (j already armed),
 * -EAGAIN (the submission queue is full: `entries` SQEs prepared and not
 * yet taken by the kernel; submit, then retry), -ENOMEM. On failure
 * nothing changed: j is not armed.
 */
JT_API int jt_uring_prep(jt_uring *u, jt_job *j, jt_uring_check_fn *check, void *arg,
                         struct io_uring_sqe **sqe);

/*
 * jt_uring_submit: send to the kernel, in one io_uring_enter, every SQE
 * the calling thread prepared on `u` and has not yet submitted, after
 * whatever a refused earlier submit (of any thread) left in the SQ, and
 * the pending cancels.
 * Context: any thread. Takes the SQ lock while the kernel takes the SQEs
 * (the kernel may run buffered I/O inline).
 * Returns how many prepared operations the kernel took (the caller's and
 * any an earlier refused call left), or io_uring_enter's error (-EAGAIN,
 * -EBUSY, -EINTR, ...): then nothing is lost, the same SQEs stay queued
 * in order and go with the next successful call (or, in threaded mode,
 * with the reaper's next flush), and none is ever completed twice.
 * -EINVAL for NULL.
 */
JT_API int jt_uring_submit(jt_uring *u);

/*
 * jt_uring_fd: JT_URING_POLL only: an eventfd that polls readable while
 * completions wait to be reaped (registered with io_uring_register_eventfd).
 * A hint: spurious wake-ups are allowed, missed ones are not. Owned by the
 * ring: do not close, read or write it. Watch it next to jt_runtime_fd.
 * Returns the fd, or -EINVAL (NULL, or not a poll-mode ring).
 */
JT_API int jt_uring_fd(jt_uring *u);

/*
 * jt_uring_reap: JT_URING_POLL only: on the calling thread, run `check`
 * and complete the job of up to `max` completed operations (0 = every
 * completion there now), then flush what a refused submit left and the
 * pending cancels. Never blocks. Ordering: as jt_job_complete, for each.
 * Returns how many jobs it completed, -EINVAL (NULL, not a poll-mode
 * ring), -EBUSY (another thread, or this one from a `check`, is inside).
 */
JT_API int jt_uring_reap(jt_uring *u, unsigned max);

#ifdef __cplusplus
}
#endif

#endif /* JOBTXN_URING_H */
