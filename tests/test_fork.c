/*
 * fork(): a runtime inherited by the child is unusable there (-EOWNERDEAD,
 * nothing changes, no callback runs); a fresh runtime in the child works,
 * grace periods included, even when the fork landed while a parent thread
 * was inside an RCU read-side section (liburcu-bp's fork handlers); the
 * parent's runtime keeps working.
 *
 * The child reports through its exit status: 0, or the number of the check
 * that failed (CHILD_CHECK). A hang (a grace period waiting for a reader
 * that did not survive the fork) ends in SIGALRM. Release builds only:
 * tests/CMakeLists.txt says why not under AddressSanitizer.
 */
#include "test_util.h"

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

TestSuite(fork, .timeout = 60);

#define CHILD_ALARM_S 20
#define FORKS         4

#define CHILD_CHECK(n, cond)                                                                       \
	do {                                                                                       \
		if (!(cond))                                                                       \
			return (n);                                                                \
	} while (0)

static atomic_uint child_dones;

static void count_done(void *opaque, int ret, int status)
{
	(void)opaque;
	(void)ret;
	(void)status;
	atomic_fetch_add(&child_dones, 1);
}

static const struct jt_member_ops counting_ops = {.done = count_done};

static int return_zero(jt_job *j, void *arg)
{
	(void)j;
	(void)arg;
	return 0;
}

static void *complete_later(void *job)
{
	const struct timespec pause = {0, 1000 * 1000};

	nanosleep(&pause, NULL);
	jt_job_complete(job, -EIO);
	return NULL;
}

/* In the child: what the inherited runtime answers, then a fresh one. */
static int child_main(jt_runtime *inherited, jt_runtime *inherited_poll, jt_txn *inherited_open)
{
	struct jt_runtime_opts o;
	jt_runtime *rt;
	jt_txn *t;
	jt_job *j;
	pthread_t th;
	int status = 1;

	/* The inherited runtimes: every call fails and changes nothing. */
	CHILD_CHECK(2, jt_txn_begin(inherited, 0, &t) == -EOWNERDEAD);
	CHILD_CHECK(3, jt_runtime_drain(inherited, 0) == -EOWNERDEAD);
	CHILD_CHECK(4, jt_runtime_destroy(inherited) == -EOWNERDEAD);
	CHILD_CHECK(5, jt_runtime_fd(inherited_poll) == -EOWNERDEAD);
	CHILD_CHECK(6, jt_runtime_poll(inherited_poll, 0) == -EOWNERDEAD);
	CHILD_CHECK(7, jt_txn_commit(inherited_open, NULL, NULL) == -EOWNERDEAD);
	CHILD_CHECK(8, jt_txn_commit_wait(inherited_open, 0, NULL) == -EOWNERDEAD);
	CHILD_CHECK(9, jt_runtime_destroy(inherited_poll) == -EOWNERDEAD);
	CHILD_CHECK(10, strstr(jt_strerror(-EOWNERDEAD), "fork") != NULL);

	/* A fresh runtime with a dispatcher, a worker and jt-reclaim. */
	jt_runtime_opts_init(&o);
	o.workers = 1;
	CHILD_CHECK(11, jt_runtime_create(&o, &rt) == 0);
	CHILD_CHECK(12, jt_txn_begin(rt, 0, &t) == 0);
	CHILD_CHECK(13, jt_txn_add(t, &counting_ops, NULL, &j) == 0);
	CHILD_CHECK(14, jt_job_submit(j, return_zero, NULL) == 0);
	CHILD_CHECK(15, jt_txn_add(t, &counting_ops, NULL, &j) == 0);
	CHILD_CHECK(16, jt_job_arm(j) == 0);
	CHILD_CHECK(17, pthread_create(&th, NULL, complete_later, j) == 0);
	CHILD_CHECK(18, jt_txn_commit_wait(t, -1, &status) == 0);
	pthread_join(th, NULL);
	CHILD_CHECK(19, status == -EIO && atomic_load(&child_dones) == 2);
	/* Many txns, so retired ones go through grace periods and reuse. */
	for (int i = 0; i < 2000; i++) {
		CHILD_CHECK(20, jt_txn_begin(rt, 0, &t) == 0);
		CHILD_CHECK(21, jt_txn_add(t, &counting_ops, NULL, NULL) == 0);
		CHILD_CHECK(22, jt_txn_commit(t, NULL, NULL) == 0);
	}
	CHILD_CHECK(23, jt_runtime_drain(rt, -1) == 0);
	CHILD_CHECK(24, atomic_load(&child_dones) == 2002);
	CHILD_CHECK(25, jt_runtime_destroy(rt) == 0); /* waits for a grace period */
	return 0;
}

/* Keeps a parent thread inside RCU read-side sections most of the time.
 * Static: a failed assertion leaves the test function while it runs. */
static struct walker {
	jt_runtime *rt;
	atomic_bool stop;
} w;

static int slow_visit(const struct jt_txn_info *i, void *arg)
{
	const struct timespec pause = {0, 200 * 1000};

	(void)i;
	(void)arg;
	nanosleep(&pause, NULL); /* inside the read-side section */
	return 0;
}

static void *walk(void *arg)
{
	(void)arg;
	while (!atomic_load(&w.stop))
		jt_runtime_foreach_txn(w.rt, slow_visit, NULL);
	return NULL;
}

static int run_child(jt_runtime *rt, jt_runtime *prt, jt_txn *open)
{
	pid_t pid = fork();
	int wstatus;

	cr_assert_neq(pid, -1, "fork: %s", strerror(errno));
	if (pid == 0) {
		alarm(CHILD_ALARM_S);
		_exit(child_main(rt, prt, open));
	}
	cr_assert_eq(waitpid(pid, &wstatus, 0), pid);
	cr_assert(!WIFSIGNALED(wstatus), "child killed by signal %d (a hang ends in SIGALRM)",
	          WTERMSIG(wstatus));
	return WEXITSTATUS(wstatus);
}

Test(fork, child_runs_a_fresh_runtime_parent_keeps_working)
{
	struct jt_runtime_opts o;
	jt_runtime *rt, *prt;
	jt_txn *open, *inflight, *t;
	jt_job *held;
	struct mem m;
	pthread_t walker;
	int status = 1;

	cr_assert_eq(jt_runtime_create(NULL, &rt), 0);
	jt_runtime_opts_init(&o);
	o.flags = JT_RUNTIME_POLL;
	cr_assert_eq(jt_runtime_create(&o, &prt), 0);
	/* Live txns at the fork: one open (begun in the parent, committed
	 * in the child), one committed with a job still armed. */
	cr_assert_eq(jt_txn_begin(prt, 0, &open), 0);
	tm_init(&m, NULL, "", 0);
	tm_add(open, &m, &TM_OPS_NOPREP);
	cr_assert_eq(jt_txn_begin(rt, 0, &inflight), 0);
	cr_assert_eq(jt_txn_add(inflight, NULL, NULL, &held), 0);
	cr_assert_eq(jt_job_arm(held), 0);
	cr_assert_eq(jt_txn_commit(inflight, NULL, NULL), 0);

	w.rt = rt;
	atomic_store(&w.stop, false);
	cr_assert_eq(pthread_create(&walker, NULL, walk, NULL), 0);
	for (int i = 0; i < FORKS; i++) {
		int code = run_child(rt, prt, open);

		cr_assert_eq(code, 0, "fork %d: child check %d failed", i, code);
	}
	atomic_store(&w.stop, true);
	pthread_join(walker, NULL);

	/* The parent's runtimes kept working. */
	cr_assert_eq(jt_job_complete(held, 0), 0);
	cr_assert_eq(jt_txn_begin(rt, 0, &t), 0);
	cr_assert_eq(jt_txn_commit_wait(t, -1, &status), 0);
	cr_assert_eq(status, 0);
	cr_assert_eq(jt_runtime_drain(rt, -1), 0);
	cr_assert_eq(jt_runtime_destroy(rt), 0);
	cr_assert_eq(jt_txn_commit(open, NULL, NULL), 0);
	cr_assert_geq(jt_runtime_fd(prt), 0);
	cr_assert_eq(jt_runtime_poll(prt, 0), 1);
	cr_assert_eq(atomic_load(&m.n_done), 1);
	cr_assert_eq(atomic_load(&m.n_destroy), 1);
	cr_assert_eq(jt_runtime_destroy(prt), 0);
}
