/*
 * The submission queue: -EAGAIN when full, changing nothing; a submit the
 * kernel refuses loses nothing and its SQEs go, once, with the next
 * successful one (or, threaded, with the reaper's flush); a chain ends
 * with its thread's batch; an overflowing CQ loses no completion (rule 3).
 *
 * The refusal is the kernel's: a helper thread runs under a seccomp filter
 * that fails its io_uring_enter calls that submit (to_submit != 0) with
 * EAGAIN, as the kernel does when it cannot allocate requests. (A full CQ
 * does not make kernels >= 5.19 refuse a submit: overflowing CQEs are
 * kept, IORING_FEAT_NODROP; cq_overflow_loses_nothing covers that path.)
 */
#include "uring_test_util.h"

#include <poll.h>
#include <sys/ioctl.h>

TestSuite(uring_queue, .timeout = 60);

Test(uring_queue, a_full_queue_is_eagain_and_changes_nothing_then_submit_makes_room)
{
	enum { ENTRIES = 4 };
	struct um x[ENTRIES + 1];
	struct io_uring_sqe *sqe = NULL, *none = (struct io_uring_sqe *)0x1;
	struct jt_stats s0, s1;
	int st = 1;

	jt_runtime *rt = rt_new(0, 0, 0);
	jt_uring *u = ur_new(rt, ENTRIES, 0);
	jt_txn *t = txn_new(rt, 0);
	um_add_array(t, x, ENTRIES + 1);
	for (int i = 0; i < ENTRIES; i++) {
		ur_prep(u, x[i].m.job, NULL, NULL, &sqe);
		io_uring_prep_nop(sqe);
	}
	jt_runtime_stats(rt, &s0);
	cr_assert_eq(jt_uring_prep(u, x[ENTRIES].m.job, NULL, NULL, &none), -EAGAIN);
	cr_assert_eq(none, (struct io_uring_sqe *)0x1, "a failed prep handed out an SQE");
	jt_runtime_stats(rt, &s1);
	cr_assert_eq(s1.misuse, s0.misuse);
	cr_assert_eq(jt_uring_submit(u), ENTRIES);
	/* The job was not armed by the failed call: prep arms it now. */
	ur_prep(u, x[ENTRIES].m.job, NULL, NULL, &sqe);
	io_uring_prep_nop(sqe);
	cr_assert_eq(jt_uring_submit(u), 1);
	cr_assert_eq(jt_txn_commit_wait(t, SEC(20), &st), 0);
	cr_assert_eq(st, 0);
	for (int i = 0; i <= ENTRIES; i++)
		cr_assert_eq(atomic_load(&x[i].m.n_done), 1);
	jt_runtime_stats(rt, &s1);
	cr_assert_eq(s1.misuse, 0);
	ur_free(u);
	rt_free(rt);
}

/* ---- a builder whose submissions the kernel refuses ---- */

struct refused_builder {
	jt_uring *u;
	struct um *x;
	int n;
	int wfd;
	int err;
	int seccomp_err;
	char sink[4];
};

static void *refused_builder_main(void *arg)
{
	static const char bytes[] = "abcdefgh";
	struct refused_builder *b = arg;
	struct io_uring_sqe *sqe;

	b->seccomp_err = ur_seccomp_refuse(__NR_io_uring_enter, EAGAIN, true);
	if (b->seccomp_err != 0)
		return NULL;
	for (int i = 0; i < b->n; i++) {
		b->err = jt_uring_prep(b->u, b->x[i].m.job, NULL, NULL, &sqe);
		if (b->err != 0)
			return NULL; /* asserted by the test thread */
		io_uring_prep_write(sqe, b->wfd, &bytes[i], 1, 0);
		sqe->flags |= IOSQE_IO_LINK;
	}
	/* The batch ends with a failing read whose link flag is cleared: an
	 * SQE that joined this chain would be failed with -ECANCELED. */
	b->err = jt_uring_prep(b->u, b->x[b->n].m.job, NULL, NULL, &sqe);
	if (b->err != 0)
		return NULL;
	io_uring_prep_read(sqe, 9999, b->sink, 1, 0);
	sqe->flags |= IOSQE_IO_LINK;
	b->err = jt_uring_submit(b->u);
	return NULL;
}

static void refused_submit(unsigned ring_flags)
{
	enum { N = 3 };
	char got[16] = {0};
	struct um x[N + 2];
	struct io_uring_sqe *sqe;
	struct tctx c;
	atomic_int retired = 0;
	pthread_t th;
	int p[2], n = -1;
	bool poll = ring_flags & JT_URING_POLL;

	cr_assert_eq(pipe(p), 0);
	jt_runtime *rt = rt_new(JT_RUNTIME_POLL, 0, 0);
	jt_uring *u = ur_new(rt, 8, ring_flags);
	jt_txn *t = txn_new(rt, 0);
	um_add_array(t, x, N + 2);
	/* The builder lends the txn to the refused thread (join orders it). */
	struct refused_builder b = {.u = u, .x = x, .n = N, .wfd = p[1]};
	cr_assert_eq(pthread_create(&th, NULL, refused_builder_main, &b), 0);
	cr_assert_eq(pthread_join(th, NULL), 0);
	ur_seccomp_check(b.seccomp_err);
	cr_assert_eq(b.err, -EAGAIN, "the refused submit returned %d", b.err);
	if (poll) {
		cr_assert_eq(jt_uring_destroy(u), -EBUSY, "refused SQEs count as not submitted");
		cr_assert_eq(ioctl(p[0], FIONREAD, &n), 0);
		cr_assert_eq(n, 0, "a refused write ran");
		/* This thread's own op goes after them, in the same
		 * io_uring_enter, and is not linked to them (the refused
		 * batch's chain ended with it). */
		ur_prep(u, x[N + 1].m.job, NULL, NULL, &sqe);
		io_uring_prep_nop(sqe);
		cr_assert_eq(jt_uring_submit(u), N + 2,
		             "the refused SQEs did not go with this submit");
	} else {
		/* Threaded: the reaper sends them, no user call needed. */
		for (int i = 0; i < 20000 && n != N; i++) {
			cr_assert_eq(ioctl(p[0], FIONREAD, &n), 0);
			usleep(100);
		}
		cr_assert_eq(n, N, "the reaper did not send the refused SQEs");
		ur_prep(u, x[N + 1].m.job, NULL, NULL, &sqe);
		io_uring_prep_nop(sqe);
		cr_assert_eq(jt_uring_submit(u), 1);
	}
	ur_commit(t, &c, &retired);
	ur_drive(rt, poll ? u : NULL, &retired, SEC(20));
	for (int i = 0; i < N; i++) {
		cr_assert_eq(atomic_load(&x[i].m.n_done), 1);
		cr_assert_eq(x[i].m.done_ret, 0, "write %d: %d", i, x[i].m.done_ret);
	}
	cr_assert_eq(x[N].m.done_ret, -EBADF);
	cr_assert_eq(x[N + 1].m.done_ret, 0, "joined the refused chain: %d", x[N + 1].m.done_ret);
	cr_assert_eq(c.status, -EBADF);
	for (int i = 0; i < N + 2; i++)
		cr_assert_eq(atomic_load(&x[i].m.n_done), 1);
	/* Each write ran exactly once, in order. */
	cr_assert_eq(ioctl(p[0], FIONREAD, &n), 0);
	cr_assert_eq(n, N, "%d bytes in the pipe, want %d", n, N);
	cr_assert_eq(read(p[0], got, sizeof(got)), N);
	cr_assert_eq(memcmp(got, "abc", N), 0, "got %.3s", got);
	ur_free(u);
	rt_free(rt);
	close(p[0]);
	close(p[1]);
}

Test(uring_queue, poll_mode_a_refused_submit_loses_nothing_and_goes_with_the_next)
{
	refused_submit(JT_URING_POLL);
}

Test(uring_queue, threaded_a_refused_submit_goes_with_the_reapers_flush)
{
	refused_submit(0);
}

/*
 * entries = 1: the kernel's CQ has 4 slots. 32 operations complete with
 * no reaping; the kernel keeps the overflow, and reaping then completes
 * every job exactly once.
 */
Test(uring_queue, an_overflowing_cq_loses_no_completion)
{
	enum { N = 32 };
	struct um x[N];
	struct io_uring_sqe *sqe;
	struct tctx c;
	atomic_int retired = 0;
	struct jt_stats st;

	jt_runtime *rt = rt_new(JT_RUNTIME_POLL, 0, 0);
	jt_uring *u = ur_new(rt, 1, JT_URING_POLL);
	jt_txn *t = txn_new(rt, 0);
	for (int i = 0; i < N; i++) {
		memset(&x[i], 0, sizeof(x[i]));
		tm_init(&x[i].m, NULL, "", i);
		tm_add(t, &x[i].m, &TM_OPS_NOPREP);
		ur_prep(u, x[i].m.job, NULL, NULL, &sqe);
		io_uring_prep_nop(sqe);
		cr_assert_eq(jt_uring_submit(u), 1, "submit %d", i);
	}
	struct pollfd pfd = {.fd = jt_uring_fd(u), .events = POLLIN};
	cr_assert_eq(poll(&pfd, 1, 5000), 1, "completions waiting, fd not readable");
	cr_assert_eq(jt_uring_reap(u, 0), N, "a completion was lost in the overflow");
	ur_commit(t, &c, &retired);
	ur_drive(rt, u, &retired, SEC(20));
	for (int i = 0; i < N; i++)
		cr_assert_eq(atomic_load(&x[i].m.n_done), 1);
	jt_runtime_stats(rt, &st);
	cr_assert_eq(st.misuse, 0);
	cr_assert_eq(st.jobs_completed, N);
	ur_free(u);
	rt_free(rt);
}
