/*
 * A ring's life: create's argument checks and its failure where io_uring
 * is unavailable; destroy waiting for operations in flight, -EBUSY while
 * an operation is prepared, -EDEADLK from callbacks; the runtime refusing
 * to go first; prep's errors changing nothing; the reaper thread (named,
 * asleep when idle) and poll mode's calls.
 */
#include "uring_test_util.h"

#include <dirent.h>
#include <sys/ioctl.h>

TestSuite(uring_lifecycle, .timeout = 60);

Test(uring_lifecycle, create_rejects_bad_arguments)
{
	struct jt_uring_opts o;
	jt_uring *u = (jt_uring *)0x1;

	jt_runtime *rt = rt_new(JT_RUNTIME_POLL, 0, 0);
	jt_uring_opts_init(&o);
	cr_assert_eq(o.entries, 256);
	cr_assert_eq(o.flags, 0);
	jt_uring_opts_init(NULL);
	cr_assert_eq(jt_uring_create(NULL, &o, &u), -EINVAL);
	cr_assert_eq(jt_uring_create(rt, &o, NULL), -EINVAL);
	o.flags = 0x2;
	cr_assert_eq(jt_uring_create(rt, &o, &u), -EINVAL);
	o.flags = 0;
	o.entries = 16385;
	cr_assert_eq(jt_uring_create(rt, &o, &u), -EINVAL);
	cr_assert_eq(u, (jt_uring *)0x1, "a failed create wrote *out");
	cr_assert_eq(live_txns(rt), 0, "a failed create left its txn");
	/* NULL opts and a zeroed struct mean the defaults. */
	u = ur_new(rt, 0, 0);
	ur_free(u);
	cr_assert_eq(jt_uring_create(rt, NULL, &u), 0);
	ur_free(u);
	cr_assert_eq(jt_runtime_poll(rt, 0), 2, "each ring's own txn retires after destroy");
	rt_free(rt);
}

/* ---- io_uring unavailable: the kernel refuses io_uring_setup ---- */

struct no_uring {
	jt_runtime *rt;
	int errno_value;
	int seccomp_err;
	int ret;
};

static void *no_uring_main(void *arg)
{
	struct no_uring *n = arg;
	jt_uring *u = NULL;

	n->seccomp_err = ur_seccomp_refuse(__NR_io_uring_setup, n->errno_value, false);
	if (n->seccomp_err == 0)
		n->ret = jt_uring_create(n->rt, NULL, &u);
	return NULL;
}

static void create_fails_with(int errno_value)
{
	struct no_uring n = {.errno_value = errno_value, .ret = 1};
	struct jt_stats st;
	pthread_t th;

	n.rt = rt_new(JT_RUNTIME_POLL, 0, 0);
	cr_assert_eq(pthread_create(&th, NULL, no_uring_main, &n), 0);
	cr_assert_eq(pthread_join(th, NULL), 0);
	ur_seccomp_check(n.seccomp_err);
	cr_assert_eq(n.ret, -errno_value, "jt_uring_create: %d, want %d", n.ret, -errno_value);
	cr_assert_str_neq(jt_strerror(n.ret), "", "no message for %d", n.ret);
	jt_runtime_stats(n.rt, &st);
	cr_assert_eq(st.txns_begun, 0, "a failed create began its txn");
	rt_free(n.rt); /* would be -EBUSY if the ring's txn were left begun */
}

Test(uring_lifecycle, create_where_io_uring_is_not_implemented_is_enosys)
{
	create_fails_with(ENOSYS);
}

Test(uring_lifecycle, create_where_io_uring_is_disabled_is_eperm)
{
	create_fails_with(EPERM);
}

/* ---- destroy ---- */

struct late_writer {
	int wfd;
	int delay_ms;
	ssize_t wrote;
};

static void *late_writer_main(void *arg)
{
	struct late_writer *w = arg;
	usleep((useconds_t)w->delay_ms * 1000);
	w->wrote = write(w->wfd, "late", 4);
	return NULL;
}

static void destroy_waits(unsigned flags)
{
	static char buf[8];
	struct um x;
	struct io_uring_sqe *sqe;
	struct late_writer w;
	pthread_t th;
	int p[2];

	cr_assert_eq(pipe(p), 0);
	jt_runtime *rt = rt_new(JT_RUNTIME_POLL, 0, 0);
	jt_uring *u = ur_new(rt, 0, flags);
	jt_txn *t = txn_new(rt, 0);
	memset(&x, 0, sizeof(x));
	tm_init(&x.m, NULL, "", 0);
	x.expect = 4;
	tm_add(t, &x.m, &TM_OPS_NOPREP);
	ur_prep(u, x.m.job, um_check_len, &x, &sqe);
	io_uring_prep_read(sqe, p[0], buf, 4, 0);
	cr_assert_eq(jt_uring_submit(u), 1);
	cr_assert_eq(jt_txn_commit(t, NULL, NULL), 0);
	w = (struct late_writer){.wfd = p[1], .delay_ms = 100};
	cr_assert_eq(pthread_create(&th, NULL, late_writer_main, &w), 0);
	int64_t t0 = (int64_t)now_ns();
	ur_free(u);
	int64_t waited = (int64_t)now_ns() - t0;
	cr_assert_eq(atomic_load(&x.checks), 1, "destroy returned before the read completed");
	cr_assert_geq(waited, MS(50), "destroy did not wait (%lld ns)", (long long)waited);
	cr_assert_eq(jt_runtime_poll(rt, 0), 2); /* the txn and the ring's own */
	cr_assert_eq(x.m.done_ret, 0);
	cr_assert_eq(memcmp(buf, "late", 4), 0);
	cr_assert_eq(pthread_join(th, NULL), 0);
	cr_assert_eq(w.wrote, 4);
	rt_free(rt);
	close(p[0]);
	close(p[1]);
}

Test(uring_lifecycle, threaded_destroy_waits_for_operations_in_flight)
{
	destroy_waits(0);
}

Test(uring_lifecycle, poll_mode_destroy_reaps_operations_in_flight)
{
	destroy_waits(JT_URING_POLL);
}

Test(uring_lifecycle, destroy_is_ebusy_while_an_operation_is_prepared_but_not_submitted)
{
	struct um x;
	struct io_uring_sqe *sqe;
	int st = 1;

	jt_runtime *rt = rt_new(0, 0, 0);
	jt_uring *u = ur_new(rt, 0, 0);
	jt_txn *t = txn_new(rt, 0);
	memset(&x, 0, sizeof(x));
	tm_init(&x.m, NULL, "", 0);
	tm_add(t, &x.m, &TM_OPS_NOPREP);
	ur_prep(u, x.m.job, NULL, NULL, &sqe);
	io_uring_prep_nop(sqe);
	cr_assert_eq(jt_uring_destroy(u), -EBUSY);
	/* Nothing changed: the ring still takes and completes it. */
	cr_assert_eq(jt_uring_submit(u), 1);
	cr_assert_eq(jt_txn_commit_wait(t, SEC(20), &st), 0);
	cr_assert_eq(x.m.done_ret, 0);
	ur_free(u);
	rt_free(rt);
}

Test(uring_lifecycle, the_runtime_cannot_be_destroyed_before_its_ring)
{
	jt_runtime *rt = rt_new(0, 0, 0);
	jt_uring *u = ur_new(rt, 0, 0);
	cr_assert_eq(jt_runtime_destroy(rt), -EBUSY);
	ur_free(u);
	rt_free(rt);
}

/* destroy from a callback of its runtime, or from a check: -EDEADLK. */
struct deadlk {
	jt_uring *u;
	atomic_int from_done, from_check;
};

static void deadlk_done(void *opaque, int status)
{
	struct deadlk *d = opaque;
	(void)status;
	atomic_store(&d->from_done, jt_uring_destroy(d->u));
}

static int deadlk_check(void *arg, int res)
{
	struct deadlk *d = arg;
	(void)res;
	atomic_store(&d->from_check, jt_uring_destroy(d->u));
	return 0;
}

static void destroy_deadlk(unsigned rt_flags, unsigned ring_flags)
{
	struct deadlk d;
	struct mem m;
	struct io_uring_sqe *sqe;
	atomic_int retired = 0;

	jt_runtime *rt = rt_new(rt_flags, 0, 0);
	d.u = ur_new(rt, 0, ring_flags);
	atomic_init(&d.from_done, 1);
	atomic_init(&d.from_check, 1);
	jt_txn *t = txn_new(rt, 0);
	tm_init(&m, NULL, "", 0);
	tm_add(t, &m, &TM_OPS_NOPREP);
	ur_prep(d.u, m.job, deadlk_check, &d, &sqe);
	io_uring_prep_nop(sqe);
	cr_assert_eq(jt_uring_submit(d.u), 1);
	cr_assert_eq(jt_txn_commit(t, deadlk_done, &d), 0);
	(void)retired;
	for (int i = 0; i < 20000 && atomic_load(&d.from_done) == 1; i++) {
		if (ring_flags & JT_URING_POLL)
			jt_uring_reap(d.u, 0);
		if (rt_flags & JT_RUNTIME_POLL)
			jt_runtime_poll(rt, 0);
		usleep(100);
	}
	cr_assert_eq(atomic_load(&d.from_check), -EDEADLK, "from check: %d",
	             atomic_load(&d.from_check));
	cr_assert_eq(atomic_load(&d.from_done), -EDEADLK, "from done: %d",
	             atomic_load(&d.from_done));
	ur_free(d.u); /* nothing changed */
	rt_free(rt);
}

Test(uring_lifecycle, threaded_destroy_is_edeadlk_from_callbacks_and_check)
{
	destroy_deadlk(0, 0);
}

Test(uring_lifecycle, poll_mode_destroy_is_edeadlk_from_callbacks_and_check)
{
	destroy_deadlk(JT_RUNTIME_POLL, JT_URING_POLL);
}

/* ---- prep ---- */

Test(uring_lifecycle, prep_errors_change_nothing)
{
	struct mem m[3];
	struct io_uring_sqe *sqe = NULL;
	struct jt_stats st;
	int status = 1;

	jt_runtime *rt = rt_new(0, 0, 0);
	jt_runtime *other = rt_new(0, 0, 0);
	jt_uring *u = ur_new(rt, 0, 0);
	jt_txn *t = txn_new(rt, 0);
	jt_txn *ot = txn_new(other, 0);
	tm_init_array(m, 3, NULL, "");
	tm_add(t, &m[0], &TM_OPS_NOPREP);
	tm_add(t, &m[1], &TM_OPS_NOPREP);
	tm_add(ot, &m[2], &TM_OPS_NOPREP);
	cr_assert_eq(jt_uring_prep(NULL, m[0].job, NULL, NULL, &sqe), -EINVAL);
	cr_assert_eq(jt_uring_prep(u, NULL, NULL, NULL, &sqe), -EINVAL);
	cr_assert_eq(jt_uring_prep(u, m[0].job, NULL, NULL, NULL), -EINVAL);
	cr_assert_eq(jt_uring_prep(u, m[2].job, NULL, NULL, &sqe), -EINVAL,
	             "job of another runtime");
	tm_arm(&m[1]);
	cr_assert_eq(jt_uring_prep(u, m[1].job, NULL, NULL, &sqe), -EALREADY);
	cr_assert_null(sqe);
	tm_complete(&m[1], 0);
	/* m[0] was never armed by the failures: prep works. */
	ur_prep(u, m[0].job, NULL, NULL, &sqe);
	io_uring_prep_nop(sqe);
	cr_assert_eq(jt_uring_submit(u), 1);
	cr_assert_eq(jt_txn_commit_wait(t, SEC(20), &status), 0);
	cr_assert_eq(status, 0);
	cr_assert_eq(atomic_load(&m[0].n_done), 1);
	jt_runtime_stats(rt, &st);
	cr_assert_eq(st.misuse, 1, "misuse %llu (the -EALREADY arm)",
	             (unsigned long long)st.misuse);
	/* A sealed txn's job: -EINVAL (jt_job_arm's rule). */
	tm_arm(&m[2]);
	cr_assert_eq(jt_txn_commit(ot, NULL, NULL), 0);
	tm_complete(&m[2], 0);
	cr_assert_eq(jt_runtime_drain(other, SEC(20)), 0);
	rt_free(other);
	ur_free(u);
	rt_free(rt);
}

Test(uring_lifecycle, prep_after_commit_is_einval)
{
	struct mem m[2];
	struct io_uring_sqe *sqe = NULL;

	jt_runtime *rt = rt_new(JT_RUNTIME_POLL, 0, 0);
	jt_uring *u = ur_new(rt, 0, JT_URING_POLL);
	jt_txn *t = txn_new(rt, 0);
	tm_init_array(m, 2, NULL, "");
	tm_add(t, &m[0], &TM_OPS_NOPREP);
	tm_add(t, &m[1], &TM_OPS_NOPREP);
	tm_arm(&m[1]);
	cr_assert_eq(jt_txn_commit(t, NULL, NULL), 0);
	cr_assert_eq(jt_uring_prep(u, m[0].job, NULL, NULL, &sqe), -EINVAL);
	cr_assert_null(sqe);
	cr_assert_eq(jt_uring_destroy(u), 0, "the failed prep left something prepared");
	tm_complete(&m[1], 0);
	cr_assert_eq(jt_runtime_poll(rt, 0), 2);
	rt_free(rt);
}

/* ---- the reaper thread, poll mode's calls ---- */

/* Threads of this process called `name`; their total CPU ticks in *ticks. */
static int threads_named(const char *name, unsigned long *ticks)
{
	DIR *d = opendir("/proc/self/task");
	struct dirent *e;
	int n = 0;

	cr_assert_not_null(d);
	if (ticks)
		*ticks = 0;
	while ((e = readdir(d)) != NULL) {
		char path[300], comm[32] = {0}, stat[1024];
		if (e->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "/proc/self/task/%s/comm", e->d_name);
		FILE *f = fopen(path, "r");
		if (!f)
			continue;
		if (fgets(comm, sizeof(comm), f))
			comm[strcspn(comm, "\n")] = 0;
		fclose(f);
		if (strcmp(comm, name) != 0)
			continue;
		n++;
		snprintf(path, sizeof(path), "/proc/self/task/%s/stat", e->d_name);
		f = fopen(path, "r");
		if (f && fgets(stat, sizeof(stat), f) && ticks) {
			/* fields 14 and 15: utime, stime (after the ")" of comm) */
			char *s = strrchr(stat, ')');
			unsigned long ut = 0, st = 0;
			if (s &&
			    sscanf(s + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu",
			           &ut, &st) == 2)
				*ticks += ut + st;
		}
		if (f)
			fclose(f);
	}
	closedir(d);
	return n;
}

Test(uring_lifecycle, threaded_ring_has_one_reaper_that_sleeps_when_idle)
{
	static char buf[8];
	struct mem m;
	struct io_uring_sqe *sqe;
	unsigned long ticks;
	int p[2];

	cr_assert_eq(pipe(p), 0);
	jt_runtime *rt = rt_new(JT_RUNTIME_POLL, 0, 0);
	int before = threads_named("jt-uring", NULL);
	jt_uring *u = ur_new(rt, 0, 0);
	cr_assert_eq(threads_named("jt-uring", NULL), before + 1);
	/* An operation in flight that does not complete: still no spinning. */
	jt_txn *t = txn_new(rt, 0);
	tm_init(&m, NULL, "", 0);
	tm_add(t, &m, &TM_OPS_NOPREP);
	ur_prep(u, m.job, NULL, NULL, &sqe);
	io_uring_prep_read(sqe, p[0], buf, 1, 0);
	cr_assert_eq(jt_uring_submit(u), 1);
	cr_assert_eq(jt_txn_commit(t, NULL, NULL), 0);
	usleep(50000);
	threads_named("jt-uring", &ticks);
	unsigned long t0 = ticks;
	usleep(400000);
	threads_named("jt-uring", &ticks);
	cr_assert_leq(ticks - t0, 2, "the idle reaper used %lu ticks in 0.4 s", ticks - t0);
	cr_assert_eq(write(p[1], "x", 1), 1);
	ur_free(u);
	cr_assert_eq(jt_runtime_poll(rt, 0), 2);
	cr_assert_eq(m.done_ret, 0);
	cr_assert_eq(threads_named("jt-uring", NULL), before, "the reaper outlived destroy");
	rt_free(rt);
	close(p[0]);
	close(p[1]);
}

Test(uring_lifecycle, poll_mode_ring_starts_no_thread)
{
	jt_runtime *rt = rt_new(JT_RUNTIME_POLL, 0, 0);
	int before = threads_named("jt-uring", NULL);
	jt_uring *u = ur_new(rt, 0, JT_URING_POLL);
	cr_assert_eq(threads_named("jt-uring", NULL), before);
	cr_assert_geq(jt_uring_fd(u), 0);
	cr_assert_eq(jt_uring_reap(u, 0), 0);
	ur_free(u);
	rt_free(rt);
}

Test(uring_lifecycle, fd_and_reap_are_poll_mode_only)
{
	jt_runtime *rt = rt_new(0, 0, 0);
	jt_uring *u = ur_new(rt, 0, 0);
	cr_assert_eq(jt_uring_fd(u), -EINVAL);
	cr_assert_eq(jt_uring_reap(u, 0), -EINVAL);
	cr_assert_eq(jt_uring_fd(NULL), -EINVAL);
	cr_assert_eq(jt_uring_reap(NULL, 0), -EINVAL);
	cr_assert_eq(jt_uring_submit(NULL), -EINVAL);
	cr_assert_eq(jt_uring_destroy(NULL), -EINVAL);
	ur_free(u);
	rt_free(rt);
}

/* jt_uring_reap from inside a check (the thread is already reaping): -EBUSY. */
struct nested {
	jt_uring *u;
	int ret;
};

static int nested_check(void *arg, int res)
{
	struct nested *n = arg;
	n->ret = jt_uring_reap(n->u, 0);
	return res < 0 ? res : 0;
}

Test(uring_lifecycle, reap_is_ebusy_from_inside_reap)
{
	struct nested n = {.ret = 1};
	struct mem m;
	struct io_uring_sqe *sqe;
	int st = 1;

	jt_runtime *rt = rt_new(0, 0, 0);
	n.u = ur_new(rt, 0, JT_URING_POLL);
	jt_txn *t = txn_new(rt, 0);
	tm_init(&m, NULL, "", 0);
	tm_add(t, &m, &TM_OPS_NOPREP);
	ur_prep(n.u, m.job, nested_check, &n, &sqe);
	io_uring_prep_nop(sqe);
	cr_assert_eq(jt_uring_submit(n.u), 1);
	for (int i = 0; i < 20000 && n.ret == 1; i++) {
		cr_assert_geq(jt_uring_reap(n.u, 0), 0);
		usleep(100);
	}
	cr_assert_eq(n.ret, -EBUSY);
	cr_assert_eq(jt_txn_commit_wait(t, SEC(20), &st), 0);
	ur_free(n.u);
	rt_free(rt);
}
