/*
 * Cancellation reaches the kernel (rule 2): a grouped txn whose job fails
 * cancels its sibling's blocked read with IORING_OP_ASYNC_CANCEL and no
 * user code, and retires with the root cause; an operation that has not
 * reached the kernel never does; a cancel that cannot go at once waits and
 * goes without the user; an operation that completes while its cancel is
 * on the way completes once.
 */
#include "uring_test_util.h"

#include <sys/ioctl.h>

TestSuite(uring_cancel, .timeout = 60);

static void fill_pipe_read(struct io_uring_sqe *sqe, int fd, void *buf)
{
	io_uring_prep_read(sqe, fd, buf, 16, 0);
}

/* Member 0 reads the pipe `rfd`, member 1 a bad fd; both submitted. */
static void prep_blocked_and_bad_reads(jt_uring *u, struct um *x, int rfd, char (*buf)[16])
{
	struct io_uring_sqe *sqe;

	ur_prep(u, x[0].m.job, NULL, NULL, &sqe);
	fill_pipe_read(sqe, rfd, buf[0]);
	ur_prep(u, x[1].m.job, NULL, NULL, &sqe);
	fill_pipe_read(sqe, 9999, buf[1]);
	cr_assert_eq(jt_uring_submit(u), 2);
}

/* After a cancelled read the pipe still holds what is written next. */
static void assert_read_was_cancelled(int rfd, int wfd)
{
	char c = 0;
	cr_assert_eq(write(wfd, "z", 1), 1);
	cr_assert_eq(fcntl(rfd, F_SETFL, O_NONBLOCK), 0);
	cr_assert_eq(read(rfd, &c, 1), 1, "the cancelled read took the byte");
	cr_assert_eq(c, 'z');
}

static void assert_pipe_empty(int rfd)
{
	int n = -1;
	cr_assert_eq(ioctl(rfd, FIONREAD, &n), 0);
	cr_assert_eq(n, 0, "the write of a failing txn reached the kernel (%d bytes)", n);
}

/*
 * Grouped txn: member 0 reads an empty pipe (it would wait forever),
 * member 1 reads a bad fd (-EBADF). The kernel cancels member 0's read;
 * the txn retires with -EBADF, not -ECANCELED.
 */
static void grouped_failure_cancels_blocked_read(unsigned rt_flags, unsigned ring_flags)
{
	static char buf[2][16];
	struct um x[2];
	struct tctx c;
	atomic_int retired = 0;
	struct jt_stats st;
	int p[2];

	cr_assert_eq(pipe(p), 0);
	jt_runtime *rt = rt_new(rt_flags, 0, 0);
	jt_uring *u = ur_new(rt, 0, ring_flags);
	jt_txn *t = txn_new(rt, JT_TXN_GROUPED);
	um_add_array(t, x, 2);
	prep_blocked_and_bad_reads(u, x, p[0], buf);
	ur_commit(t, &c, &retired);
	if (rt_flags & JT_RUNTIME_POLL)
		ur_drive(rt, (ring_flags & JT_URING_POLL) ? u : NULL, &retired, SEC(20));
	else
		cr_assert_eq(jt_runtime_drain(rt, SEC(20)), 0,
		             "the blocked read was not cancelled");
	cr_assert_eq(c.status, -EBADF, "status %d: not the root cause", c.status);
	cr_assert_eq(x[1].m.done_ret, -EBADF);
	cr_assert(x[0].m.done_ret == -ECANCELED || x[0].m.done_ret == -EINTR,
	          "the cancelled read completed with %d", x[0].m.done_ret);
	cr_assert_eq(atomic_load(&x[0].m.n_cancel), 1, "the member's own cancel did not run");
	cr_assert_eq(atomic_load(&x[0].m.n_done), 1);
	cr_assert_eq(atomic_load(&x[1].m.n_done), 1);
	jt_runtime_stats(rt, &st);
	cr_assert_eq(st.misuse, 0, "a CQE completed a job twice (the cancel's own?)");
	ur_free(u);
	rt_free(rt);
	assert_read_was_cancelled(p[0], p[1]);
	close(p[0]);
	close(p[1]);
}

Test(uring_cancel, threaded_grouped_failure_cancels_a_blocked_read_in_the_kernel)
{
	grouped_failure_cancels_blocked_read(0, 0);
}

Test(uring_cancel, poll_mode_grouped_failure_cancels_a_blocked_read_in_the_kernel)
{
	grouped_failure_cancels_blocked_read(JT_RUNTIME_POLL, JT_URING_POLL);
}

Test(uring_cancel, poll_runtime_threaded_ring_cancels_a_blocked_read_in_the_kernel)
{
	grouped_failure_cancels_blocked_read(JT_RUNTIME_POLL, 0);
}

/* A non-grouped txn lets its jobs run: nothing is cancelled. */
Test(uring_cancel, a_txn_that_is_not_grouped_cancels_nothing)
{
	static char buf[2][16];
	struct um x[2];
	struct tctx c;
	atomic_int retired = 0;
	int p[2];

	cr_assert_eq(pipe(p), 0);
	jt_runtime *rt = rt_new(JT_RUNTIME_POLL, 0, 0);
	jt_uring *u = ur_new(rt, 0, JT_URING_POLL);
	jt_txn *t = txn_new(rt, 0);
	um_add_array(t, x, 2);
	prep_blocked_and_bad_reads(u, x, p[0], buf);
	ur_commit(t, &c, &retired);
	for (int i = 0; i < 50; i++) {
		jt_uring_reap(u, 0);
		jt_runtime_poll(rt, 0);
		usleep(1000);
	}
	cr_assert_eq(atomic_load(&retired), 0, "the read was cancelled");
	cr_assert_eq(write(p[1], "abc", 3), 3);
	ur_drive(rt, u, &retired, SEC(20));
	cr_assert_eq(x[0].m.done_ret, 0);
	cr_assert_eq(memcmp(buf[0], "abc", 3), 0);
	cr_assert_eq(c.status, -EBADF);
	ur_free(u);
	rt_free(rt);
	close(p[0]);
	close(p[1]);
}

/*
 * The txn fails while its write is prepared but not yet submitted: the
 * write never reaches the kernel (it goes as a NOP) and its job completes
 * with -ECANCELED; the pipe stays empty.
 */
Test(uring_cancel, an_operation_not_yet_submitted_never_reaches_the_kernel)
{
	static const char data[] = "must not be written";
	struct um x[2];
	struct io_uring_sqe *sqe;
	struct tctx c;
	atomic_int retired = 0;
	int p[2];

	/* A pipe with room: a write the kernel gets completes inline. */
	cr_assert_eq(pipe(p), 0);
	jt_runtime *rt = rt_new(JT_RUNTIME_POLL, 0, 0);
	jt_uring *u = ur_new(rt, 0, 0);
	jt_txn *t = txn_new(rt, JT_TXN_GROUPED);
	um_add_array(t, x, 2);
	ur_prep(u, x[0].m.job, NULL, NULL, &sqe);
	io_uring_prep_write(sqe, p[1], data, sizeof(data), 0);
	tm_arm(&x[1].m);
	ur_commit(t, &c, &retired);
	tm_complete(&x[1].m, -EIO);
	cr_assert_eq(jt_runtime_poll(rt, 0), 0); /* cancel + hook: the write is staged */
	cr_assert_eq(atomic_load(&x[0].m.n_cancel), 1);
	cr_assert_eq(jt_uring_submit(u), 1);
	ur_drive(rt, NULL, &retired, SEC(20));
	cr_assert_eq(x[0].m.done_ret, -ECANCELED, "the write completed with %d", x[0].m.done_ret);
	cr_assert_eq(c.status, -EIO);
	assert_pipe_empty(p[0]);
	ur_free(u);
	rt_free(rt);
	close(p[0]);
	close(p[1]);
}

/* ---- a helper thread whose io_uring_enter submissions the kernel refuses ---- */

struct refused {
	void (*fn)(struct refused *r);
	jt_runtime *rt;
	jt_uring *u;
	struct um *x;
	int fd;
	int err;
	int seccomp_err;
	atomic_int *retired;
	const void *data;
};

static void *refused_main(void *arg)
{
	struct refused *r = arg;
	r->seccomp_err = ur_seccomp_refuse(__NR_io_uring_enter, EAGAIN, true);
	if (r->seccomp_err == 0)
		r->fn(r);
	return NULL;
}

static void run_refused(struct refused *r)
{
	pthread_t th;
	cr_assert_eq(pthread_create(&th, NULL, refused_main, r), 0);
	cr_assert_eq(pthread_join(th, NULL), 0);
	ur_seccomp_check(r->seccomp_err);
}

static void prep_write_refused(struct refused *r)
{
	struct io_uring_sqe *sqe;
	r->err = jt_uring_prep(r->u, r->x->m.job, NULL, NULL, &sqe);
	if (r->err == 0) {
		io_uring_prep_write(sqe, r->fd, r->data, 8, 0);
		r->err = jt_uring_submit(r->u);
	}
}

/*
 * The same when a refused submit left the write in the SQ: the next flush
 * turns it into a NOP before the kernel sees it.
 */
Test(uring_cancel, an_operation_left_in_the_sq_by_a_refused_submit_never_reaches_the_kernel)
{
	struct um x[2];
	struct tctx c;
	atomic_int retired = 0;
	int p[2];

	cr_assert_eq(pipe(p), 0);
	jt_runtime *rt = rt_new(JT_RUNTIME_POLL, 0, 0);
	jt_uring *u = ur_new(rt, 0, JT_URING_POLL);
	jt_txn *t = txn_new(rt, JT_TXN_GROUPED);
	um_add_array(t, x, 2);
	/* The builder hands the txn to a helper and back (join). */
	struct refused r = {
	        .fn = prep_write_refused, .u = u, .x = &x[0], .fd = p[1], .data = "12345678"};
	run_refused(&r);
	cr_assert_eq(r.err, -EAGAIN, "submit on the refused thread: %d", r.err);
	cr_assert_eq(jt_uring_destroy(u), -EBUSY, "a refused SQE does not count as prepared");
	tm_arm(&x[1].m);
	ur_commit(t, &c, &retired);
	tm_complete(&x[1].m, -EIO);
	cr_assert_eq(jt_runtime_poll(rt, 0), 0); /* the hook: the write waits in the SQ */
	cr_assert_eq(jt_uring_submit(u), 1, "the refused SQE did not go with the next submit");
	ur_drive(rt, u, &retired, SEC(20));
	cr_assert_eq(x[0].m.done_ret, -ECANCELED);
	assert_pipe_empty(p[0]);
	ur_free(u);
	rt_free(rt);
	close(p[0]);
	close(p[1]);
}

/* On the refused thread: poll the runtime (the hooks run here) until done. */
static void poll_until_retired(struct refused *r)
{
	for (int i = 0; i < 200000 && !atomic_load(r->retired); i++) {
		jt_runtime_poll(r->rt, 0);
		usleep(50);
	}
}

static void poll_once(struct refused *r)
{
	r->err = jt_runtime_poll(r->rt, 0);
}

/*
 * The cancels cannot go at once: the kernel refuses the hook's submit (the
 * hook runs on a thread whose io_uring_enter submissions fail), and with
 * entries = 1 only one cancel fits in the SQ. Threaded ring: the reaper
 * sends them without the user submitting again. Poll ring: the next reap
 * does.
 */
static void refused_cancels_still_go(unsigned ring_flags)
{
	enum { N = 3 };
	static char buf[N][16];
	struct um x[N + 1];
	struct io_uring_sqe *sqe;
	struct tctx c;
	atomic_int retired = 0;
	int p[N][2];

	jt_runtime *rt = rt_new(JT_RUNTIME_POLL, 0, 0);
	jt_uring *u = ur_new(rt, 1, ring_flags);
	jt_txn *t = txn_new(rt, JT_TXN_GROUPED);
	um_add_array(t, x, N + 1);
	for (int i = 0; i < N; i++) {
		cr_assert_eq(pipe(p[i]), 0);
		ur_prep(u, x[i].m.job, NULL, NULL, &sqe);
		fill_pipe_read(sqe, p[i][0], buf[i]);
		cr_assert_eq(jt_uring_submit(u), 1);
	}
	tm_arm(&x[N].m);
	ur_commit(t, &c, &retired);
	tm_complete(&x[N].m, -EIO);
	struct refused r = {.fn = poll_until_retired, .rt = rt, .retired = &retired};
	if (ring_flags & JT_URING_POLL) {
		/* One poll on the refused thread: the hooks queue, nothing goes. */
		r.fn = poll_once;
		run_refused(&r);
		cr_assert_eq(r.err, 0, "jt_runtime_poll on the refused thread: %d", r.err);
		for (int i = 0; i < 20; i++) {
			cr_assert_eq(jt_runtime_poll(rt, 0), 0);
			usleep(1000);
		}
		cr_assert_eq(atomic_load(&retired), 0, "cancelled without the refused cancels");
		ur_drive(rt, u, &retired, SEC(20)); /* reap flushes the backlog */
	} else {
		run_refused(&r); /* polls until retired: the reaper sent them */
	}
	cr_assert_eq(atomic_load(&retired), 1, "the refused cancels never reached the kernel");
	cr_assert_eq(c.status, -EIO);
	for (int i = 0; i < N; i++)
		cr_assert(x[i].m.done_ret == -ECANCELED || x[i].m.done_ret == -EINTR, "read %d: %d",
		          i, x[i].m.done_ret);
	ur_free(u);
	rt_free(rt);
	for (int i = 0; i < N; i++) {
		assert_read_was_cancelled(p[i][0], p[i][1]);
		close(p[i][0]);
		close(p[i][1]);
	}
}

Test(uring_cancel, threaded_refused_cancels_reach_the_kernel_without_the_user)
{
	refused_cancels_still_go(0);
}

Test(uring_cancel, poll_mode_refused_cancels_go_with_the_next_reap)
{
	refused_cancels_still_go(JT_URING_POLL);
}

/*
 * The operation completes at the moment its txn fails: each job completes
 * exactly once, with its data or -ECANCELED, and a late hook (the record
 * already reused) touches nothing.
 */
struct racer {
	int wfd;
	atomic_int go;
	ssize_t wrote;
};

static void *racer_main(void *arg)
{
	struct racer *r = arg;
	while (atomic_load(&r->go) == 0)
		;
	r->wrote = write(r->wfd, "q", 1);
	return NULL;
}

Test(uring_cancel, completion_and_cancel_at_the_same_moment_complete_once)
{
	enum { ITER = 300 };
	char buf[16];
	struct um x[2];
	struct io_uring_sqe *sqe;
	struct jt_stats st;
	int p[2], got_data = 0, got_cancel = 0;

	cr_assert_eq(pipe(p), 0);
	jt_runtime *rt = rt_new(0, 0, 0);
	jt_uring *u = ur_new(rt, 0, 0);
	for (int it = 0; it < ITER; it++) {
		struct racer r = {.wfd = p[1]};
		pthread_t th;
		int status = 1;
		jt_txn *t = txn_new(rt, JT_TXN_GROUPED);
		for (int i = 0; i < 2; i++) {
			memset(&x[i], 0, sizeof(x[i]));
			tm_init(&x[i].m, NULL, "", i);
			tm_add(t, &x[i].m, &TM_OPS_NOPREP);
		}
		ur_prep(u, x[0].m.job, NULL, NULL, &sqe);
		/* A poll-driven read: no data yet, so the kernel arms a poll. */
		io_uring_prep_read(sqe, p[0], buf, 1, 0);
		cr_assert_eq(jt_uring_submit(u), 1);
		tm_arm(&x[1].m);
		cr_assert_eq(pthread_create(&th, NULL, racer_main, &r), 0);
		atomic_store(&r.go, 1);
		tm_complete(&x[1].m, -EIO);
		cr_assert_eq(jt_txn_commit_wait(t, SEC(20), &status), 0);
		cr_assert_eq(pthread_join(th, NULL), 0);
		cr_assert_eq(r.wrote, 1);
		cr_assert_eq(status, -EIO);
		cr_assert_eq(atomic_load(&x[0].m.n_done), 1);
		if (x[0].m.done_ret == 0) {
			got_data++;
		} else {
			cr_assert(x[0].m.done_ret == -ECANCELED || x[0].m.done_ret == -EINTR,
			          "iteration %d: %d", it, x[0].m.done_ret);
			got_cancel++;
		}
		int left = 0; /* what a cancelled read left in the pipe */
		cr_assert_eq(ioctl(p[0], FIONREAD, &left), 0);
		if (left > 0)
			cr_assert_eq(read(p[0], buf, (size_t)left), left);
	}
	jt_runtime_stats(rt, &st);
	cr_assert_eq(st.misuse, 0, "a job was completed twice");
	cr_log_info("data %d, cancelled %d", got_data, got_cancel);
	ur_free(u);
	rt_free(rt);
	close(p[0]);
	close(p[1]);
}

/*
 * The cancel cannot reach its target yet: the blocked read is linked
 * (hard) behind a 30 ms timeout of another txn, so the kernel has not
 * issued it when the first ASYNC_CANCEL comes (-ENOENT), and issues it
 * after. The cancel is sent again until it lands.
 */
Test(uring_cancel, a_cancel_that_finds_its_target_not_yet_issued_is_sent_again)
{
	static char buf[16];
	struct __kernel_timespec ts = {.tv_sec = 0, .tv_nsec = 30000000};
	struct um x[3];
	struct io_uring_sqe *sqe;
	int st = 1, p[2];

	cr_assert_eq(pipe(p), 0);
	jt_runtime *rt = rt_new(0, 0, 0);
	jt_uring *u = ur_new(rt, 0, 0);
	jt_txn *ta = txn_new(rt, 0);
	jt_txn *tb = txn_new(rt, JT_TXN_GROUPED);
	for (int i = 0; i < 3; i++) {
		memset(&x[i], 0, sizeof(x[i]));
		tm_init(&x[i].m, NULL, "", i);
		tm_add(i == 0 ? ta : tb, &x[i].m, &TM_OPS_NOPREP);
	}
	ur_prep(u, x[0].m.job, NULL, NULL, &sqe);
	io_uring_prep_timeout(sqe, &ts, 0, 0);
	sqe->flags |= IOSQE_IO_HARDLINK;
	ur_prep(u, x[1].m.job, NULL, NULL, &sqe);
	fill_pipe_read(sqe, p[0], buf);
	cr_assert_eq(jt_uring_submit(u), 2);
	tm_arm(&x[2].m);
	tm_complete(&x[2].m, -EIO);
	cr_assert_eq(jt_txn_commit_wait(tb, SEC(20), &st), 0);
	cr_assert_eq(st, -EIO);
	cr_assert(x[1].m.done_ret == -ECANCELED || x[1].m.done_ret == -EINTR, "read: %d",
	          x[1].m.done_ret);
	cr_assert_eq(jt_txn_commit_wait(ta, SEC(20), &st), 0);
	cr_assert_eq(x[0].m.done_ret, -ETIME, "the timeout: %d", x[0].m.done_ret);
	ur_free(u);
	rt_free(rt);
	assert_read_was_cancelled(p[0], p[1]);
	close(p[0]);
	close(p[1]);
}
