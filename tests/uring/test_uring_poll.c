/*
 * Poll mode: an event loop watches jt_uring_fd next to jt_runtime_fd and
 * does everything on its own thread; the ring's fd is readable while
 * completions wait (no missed wake-up), also when a reap with `max` left
 * some behind. The loop's epoll_wait may return EINTR: io_uring runs its
 * task work on the submitting thread by interrupting it (jobtxn_uring.h).
 */
#include "uring_test_util.h"

#include <poll.h>
#include <sys/epoll.h>

TestSuite(uring_poll, .timeout = 60);

struct feeder {
	int wfd;
	ssize_t wrote;
};

static void *feeder_main(void *arg)
{
	struct feeder *f = arg;
	usleep(30000);
	f->wrote = write(f->wfd, "fed!", 4);
	return NULL;
}

Test(uring_poll, an_epoll_loop_runs_everything_on_its_thread)
{
	enum { NW = 4 };
	static char wbuf[NW][64], rbuf[8];
	char dir[256];
	const char *names[] = {"f"};
	struct um x[NW + 1];
	struct io_uring_sqe *sqe;
	struct tctx c;
	atomic_int retired = 0;
	struct feeder f;
	pthread_t th;
	int p[2], wakeups = 0, eintr = 0;

	ur_mkdir(dir, sizeof(dir));
	int fd = ur_open(dir, "f", O_RDWR | O_CREAT);
	cr_assert_eq(pipe(p), 0);
	jt_runtime *rt = rt_new(JT_RUNTIME_POLL, 0, 0);
	jt_uring *u = ur_new(rt, 0, JT_URING_POLL);
	int ep = epoll_create1(EPOLL_CLOEXEC);
	struct epoll_event ev = {.events = EPOLLIN, .data.u32 = 1};
	cr_assert_eq(epoll_ctl(ep, EPOLL_CTL_ADD, jt_uring_fd(u), &ev), 0);
	ev.data.u32 = 2;
	cr_assert_eq(epoll_ctl(ep, EPOLL_CTL_ADD, jt_runtime_fd(rt), &ev), 0);

	jt_txn *t = txn_new(rt, JT_TXN_GROUPED);
	um_add_array(t, x, NW + 1);
	for (int i = 0; i < NW; i++) {
		memset(wbuf[i], 'a' + i, sizeof(wbuf[i]));
		x[i].expect = sizeof(wbuf[i]);
		ur_prep(u, x[i].m.job, um_check_len, &x[i], &sqe);
		io_uring_prep_write(sqe, fd, wbuf[i], sizeof(wbuf[i]), (uint64_t)i * 64);
	}
	x[NW].expect = 4;
	ur_prep(u, x[NW].m.job, um_check_len, &x[NW], &sqe);
	io_uring_prep_read(sqe, p[0], rbuf, 4, 0); /* completes when the feeder writes */
	cr_assert_eq(jt_uring_submit(u), NW + 1);
	ur_commit(t, &c, &retired);
	f.wfd = p[1];
	cr_assert_eq(pthread_create(&th, NULL, feeder_main, &f), 0);
	while (!atomic_load(&retired)) {
		struct epoll_event got[2];
		int n = epoll_wait(ep, got, 2, 5000);
		if (n < 0 && errno == EINTR) {
			eintr++;
			continue;
		}
		cr_assert_gt(n, 0, "no wake-up in 5 s: one was missed (%d, %s)", n,
		             strerror(errno));
		wakeups++;
		for (int i = 0; i < n; i++) {
			if (got[i].data.u32 == 1)
				cr_assert_geq(jt_uring_reap(u, 0), 0);
			else
				cr_assert_geq(jt_runtime_poll(rt, 0), 0);
		}
	}
	cr_assert_eq(pthread_join(th, NULL), 0);
	cr_assert_eq(f.wrote, 4);
	cr_assert_eq(c.status, 0);
	cr_assert(pthread_equal(c.thread, pthread_self()), "done not on the loop's thread");
	for (int i = 0; i <= NW; i++) {
		cr_assert_eq(x[i].m.done_ret, 0, "job %d: %d", i, x[i].m.done_ret);
		cr_assert(pthread_equal(x[i].check_thread, pthread_self()), "check %d elsewhere",
		          i);
		cr_assert(pthread_equal(x[i].m.done_thread, pthread_self()), "done %d elsewhere",
		          i);
	}
	cr_assert_eq(memcmp(rbuf, "fed!", 4), 0);
	for (int i = 0; i < NW; i++) {
		char got[64];
		cr_assert_eq(pread(fd, got, 64, (off_t)i * 64), 64);
		cr_assert_eq(memcmp(got, wbuf[i], 64), 0);
	}
	cr_log_info("%d wake-ups, %d EINTR", wakeups, eintr);
	close(ep);
	ur_free(u);
	rt_free(rt);
	close(fd);
	close(p[0]);
	close(p[1]);
	ur_rmdir(dir, names, 1);
}

static bool readable(int fd, int timeout_ms)
{
	struct pollfd pfd = {.fd = fd, .events = POLLIN};
	return poll(&pfd, 1, timeout_ms) == 1 && (pfd.revents & POLLIN);
}

Test(uring_poll, the_fd_stays_readable_while_completions_wait)
{
	enum { N = 3 };
	struct mem m[N];
	struct io_uring_sqe *sqe;
	int st = 1;

	jt_runtime *rt = rt_new(0, 0, 0);
	jt_uring *u = ur_new(rt, 0, JT_URING_POLL);
	int fd = jt_uring_fd(u);
	cr_assert_not(readable(fd, 0), "readable before anything completed");
	jt_txn *t = txn_new(rt, 0);
	tm_init_array(m, N, NULL, "");
	for (int i = 0; i < N; i++) {
		tm_add(t, &m[i], &TM_OPS_NOPREP);
		ur_prep(u, m[i].job, NULL, NULL, &sqe);
		io_uring_prep_nop(sqe);
	}
	cr_assert_eq(jt_uring_submit(u), N);
	cr_assert(readable(fd, 5000), "completions wait, the fd is not readable");
	/* A reap that leaves some behind leaves the fd readable. */
	for (int i = 0; i < N; i++) {
		cr_assert(readable(fd, 0), "after %d of %d reaped: a missed wake-up", i, N);
		cr_assert_eq(jt_uring_reap(u, 1), 1);
	}
	cr_assert_eq(jt_uring_reap(u, 0), 0);
	cr_assert_eq(jt_txn_commit_wait(t, SEC(20), &st), 0);
	ur_free(u);
	rt_free(rt);
}
