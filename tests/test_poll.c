/*
 * Poll mode: jt_runtime_poll's count and max, jt_runtime_fd readiness,
 * -EINVAL on threaded runtimes, -EBUSY re-entrancy, commit_wait / drain /
 * destroy running callbacks on the caller's thread.
 */
#include "test_util.h"

TestSuite(poll_mode, .timeout = 30);

static void commit_empty(jt_runtime *rt, struct mem *m)
{
	jt_txn *t = txn_new(rt, 0);
	tm_add(t, m, &TM_OPS_NOPREP);
	cr_assert_eq(jt_txn_commit(t, NULL, NULL), 0);
}

Test(poll_mode, poll_returns_count_and_honors_max)
{
	struct mem m[5];
	tm_init_array(m, 5, NULL, "");
	jt_runtime *rt = rt_poll_new();
	cr_assert_eq(jt_runtime_poll(rt, 0), 0, "nothing ready");
	for (int i = 0; i < 5; i++)
		commit_empty(rt, &m[i]);
	cr_assert_eq(jt_runtime_poll(rt, 1), 1);
	cr_assert_eq(atomic_load(&m[0].n_done) + atomic_load(&m[1].n_done) +
	                     atomic_load(&m[2].n_done) + atomic_load(&m[3].n_done) +
	                     atomic_load(&m[4].n_done),
	             1);
	cr_assert_eq(jt_runtime_poll(rt, 2), 2);
	cr_assert_eq(jt_runtime_poll(rt, 0), 2, "0 = all ready");
	cr_assert_eq(jt_runtime_poll(rt, 0), 0);
	for (int i = 0; i < 5; i++) {
		cr_assert_eq(atomic_load(&m[i].n_done), 1);
		cr_assert_eq(atomic_load(&m[i].n_destroy), 1);
	}
	rt_free(rt);
}

Test(poll_mode, poll_max_larger_than_ready)
{
	struct mem m[3];
	tm_init_array(m, 3, NULL, "");
	jt_runtime *rt = rt_poll_new();
	for (int i = 0; i < 3; i++)
		commit_empty(rt, &m[i]);
	cr_assert_eq(jt_runtime_poll(rt, 100), 3);
	cr_assert_eq(jt_runtime_poll(rt, 100), 0);
	rt_free(rt);
}

/* A txn made ready by a callback during the poll: a budget with room left
 * retires it in the same call (what keeps arriving), max 0 only what was
 * ready when the call started. (Found by the fuzzer: a chain-at-a-time
 * poll once stopped after its first chain.) */
static jt_runtime *g_chain_rt;
static struct mem g_chain_m[2];

static void commit_next(void *opaque, int status)
{
	struct mem *m = opaque;
	(void)status;
	jt_txn *t = NULL;
	cr_assert_eq(jt_txn_begin(g_chain_rt, 0, &t), 0);
	tm_add(t, m, &TM_OPS_NOPREP);
	cr_assert_eq(jt_txn_commit(t, NULL, NULL), 0);
}

Test(poll_mode, budget_with_room_retires_what_became_ready_during_the_call)
{
	struct mem first[2];
	tm_init_array(first, 2, NULL, "");
	tm_init_array(g_chain_m, 2, NULL, "");
	jt_runtime *rt = g_chain_rt = rt_poll_new();

	jt_txn *t = txn_new(rt, 0);
	tm_add(t, &first[0], &TM_OPS_NOPREP);
	cr_assert_eq(jt_txn_commit(t, commit_next, &g_chain_m[0]), 0);
	cr_assert_eq(jt_runtime_poll(rt, 2), 2, "the txn committed by a done waited");
	cr_assert_eq(atomic_load(&g_chain_m[0].n_done), 1);

	t = txn_new(rt, 0);
	tm_add(t, &first[1], &TM_OPS_NOPREP);
	cr_assert_eq(jt_txn_commit(t, commit_next, &g_chain_m[1]), 0);
	cr_assert_eq(jt_runtime_poll(rt, 0), 1, "max 0 ran what became ready meanwhile");
	cr_assert_eq(jt_runtime_poll(rt, 0), 1);
	rt_free(rt);
}

Test(poll_mode, callbacks_run_on_polling_thread)
{
	struct mem m;
	tm_init(&m, NULL, "", 0);
	jt_runtime *rt = rt_poll_new();
	commit_empty(rt, &m);
	cr_assert_eq(jt_runtime_poll(rt, 0), 1);
	cr_assert(pthread_equal(m.done_thread, pthread_self()));
	rt_free(rt);
}

Test(poll_mode, fd_readable_when_txn_ready)
{
	struct mem m[2];
	tm_init_array(m, 2, NULL, "");
	jt_runtime *rt = rt_poll_new();
	int fd = jt_runtime_fd(rt);
	cr_assert_geq(fd, 0);
	cr_assert_eq(jt_runtime_fd(rt), fd, "the fd is stable");

	/* a committed txn with no armed job is ready at once */
	commit_empty(rt, &m[0]);
	cr_assert(fd_readable(fd), "fd not readable with a ready txn");
	cr_assert_eq(jt_runtime_poll(rt, 0), 1);

	/* ready after the last completion */
	jt_txn *t = txn_new(rt, 0);
	tm_add(t, &m[1], &TM_OPS_NOPREP);
	tm_arm(&m[1]);
	cr_assert_eq(jt_txn_commit(t, NULL, NULL), 0);
	jt_runtime_poll(rt, 0);
	tm_complete(&m[1], 0);
	cr_assert(fd_readable(fd), "fd not readable after the last completion");
	cr_assert_eq(jt_runtime_poll(rt, 0), 1);
	rt_free(rt);
}

Test(poll_mode, fd_readable_when_cancel_pending)
{
	struct mem m[2];
	tm_init_array(m, 2, NULL, "");
	jt_runtime *rt = rt_poll_new();
	int fd = jt_runtime_fd(rt);
	cr_assert_geq(fd, 0);
	jt_txn *t = txn_new(rt, JT_TXN_GROUPED);
	tm_add_array(t, m, 2, &TM_OPS_NOPREP);
	tm_arm(&m[0]);
	tm_arm(&m[1]);
	cr_assert_eq(jt_txn_commit(t, NULL, NULL), 0);
	jt_runtime_poll(rt, 0);
	tm_complete(&m[0], -EIO);
	cr_assert(fd_readable(fd), "fd not readable with a cancel request pending");
	cr_assert_eq(jt_runtime_poll(rt, 0), 0);
	cr_assert_eq(atomic_load(&m[1].n_cancel), 1);
	tm_complete(&m[1], -ECANCELED);
	cr_assert(fd_readable(fd));
	cr_assert_eq(jt_runtime_poll(rt, 0), 1);
	rt_free(rt);
}

struct completer {
	struct mem *m;
	int ret;
	long delay_ms;
};

static void *complete_later(void *arg)
{
	struct completer *c = arg;
	sleep_ms(c->delay_ms);
	jt_job_complete(c->m->job, c->ret);
	return NULL;
}

/* A completion on another thread wakes a poller sleeping on the fd. */
Test(poll_mode, fd_wakes_on_completion_from_other_thread)
{
	struct mem m;
	tm_init(&m, NULL, "", 0);
	jt_runtime *rt = rt_poll_new();
	int fd = jt_runtime_fd(rt);
	jt_txn *t = txn_new(rt, 0);
	tm_add(t, &m, &TM_OPS_NOPREP);
	tm_arm(&m);
	cr_assert_eq(jt_txn_commit(t, NULL, NULL), 0);
	cr_assert_eq(jt_runtime_poll(rt, 0), 0);
	struct completer c = {.m = &m, .ret = 0, .delay_ms = 20};
	pthread_t th;
	cr_assert_eq(pthread_create(&th, NULL, complete_later, &c), 0);
	int retired = 0;
	for (int k = 0; k < 100 && !retired; k++) {
		fd_wait_readable(fd, 200);
		retired = jt_runtime_poll(rt, 0);
	}
	pthread_join(th, NULL);
	cr_assert_eq(retired, 1);
	cr_assert_eq(atomic_load(&m.n_done), 1);
	rt_free(rt);
}

Test(poll_mode, fd_and_poll_einval_on_threaded)
{
	jt_runtime *rt = rt_new(0, 0, 0);
	cr_assert_eq(jt_runtime_fd(rt), -EINVAL);
	cr_assert_eq(jt_runtime_poll(rt, 0), -EINVAL);
	cr_assert_eq(jt_runtime_poll(rt, 1), -EINVAL);
	rt_free(rt);
}

/* Re-entrant poll from a callback: -EBUSY. */
static jt_runtime *g_rt;
static int g_reentrant_ret = 1;

static void poll_from_done(struct mem *m)
{
	(void)m;
	g_reentrant_ret = jt_runtime_poll(g_rt, 0);
}

Test(poll_mode, poll_reentered_from_callback_is_ebusy)
{
	struct mem m[2];
	tm_init_array(m, 2, NULL, "");
	m[0].on_done = poll_from_done;
	g_rt = rt_poll_new();
	commit_empty(g_rt, &m[0]);
	commit_empty(g_rt, &m[1]);
	cr_assert_eq(jt_runtime_poll(g_rt, 0), 2);
	cr_assert_eq(g_reentrant_ret, -EBUSY);
	cr_assert_eq(atomic_load(&m[1].n_done), 1, "second txn retired once");
	rt_free(g_rt);
}

/* Another thread inside poll: -EBUSY. */
static void *poll_thread(void *arg)
{
	(void)arg;
	g_reentrant_ret = jt_runtime_poll(g_rt, 0);
	return NULL;
}

static void poll_from_other_thread(struct mem *m)
{
	(void)m;
	pthread_t th;
	pthread_create(&th, NULL, poll_thread, NULL);
	pthread_join(th, NULL);
}

Test(poll_mode, poll_from_another_thread_while_polling_is_ebusy)
{
	struct mem m;
	tm_init(&m, NULL, "", 0);
	m.on_done = poll_from_other_thread;
	g_rt = rt_poll_new();
	commit_empty(g_rt, &m);
	cr_assert_eq(jt_runtime_poll(g_rt, 0), 1);
	cr_assert_eq(g_reentrant_ret, -EBUSY);
	rt_free(g_rt);
}

/* commit_wait in poll mode polls by itself. */
Test(poll_mode, commit_wait_polls_itself)
{
	struct rec r;
	struct mem m[2];
	rec_init(&r);
	tm_init_array(m, 2, &r, "");
	jt_runtime *rt = rt_poll_new();
	jt_txn *t = txn_new(rt, 0);
	tm_add_array(t, m, 2, &TM_OPS_NOPREP);
	tm_arm(&m[0]);
	tm_arm(&m[1]);
	tm_complete(&m[1], -EIO);
	struct completer c = {.m = &m[0], .ret = 0, .delay_ms = 10};
	pthread_t th;
	cr_assert_eq(pthread_create(&th, NULL, complete_later, &c), 0);
	int st = 1;
	cr_assert_eq(jt_txn_commit_wait(t, SEC(20), &st), 0);
	pthread_join(th, NULL);
	cr_assert_eq(st, -EIO);
	REC_EQ(&r, "commit:0 commit:1 clean:0 clean:1 done:0 done:1 destroy:0 destroy:1");
	cr_assert(pthread_equal(m[0].done_thread, pthread_self()));
	cr_assert_eq(live_txns(rt), 0);
	rt_free(rt);
}

Test(poll_mode, commit_wait_also_retires_other_ready_txns_or_leaves_them)
{
	/* other ready txns are not lost by commit_wait's own polling */
	struct mem a, b;
	tm_init(&a, NULL, "", 0);
	tm_init(&b, NULL, "", 1);
	jt_runtime *rt = rt_poll_new();
	commit_empty(rt, &a);
	jt_txn *t = txn_new(rt, 0);
	tm_add(t, &b, &TM_OPS_NOPREP);
	cr_assert_eq(jt_txn_commit_wait(t, SEC(20), NULL), 0);
	cr_assert_eq(atomic_load(&b.n_done), 1);
	int n = jt_runtime_poll(rt, 0);
	cr_assert(n == 0 || n == 1);
	cr_assert_eq(atomic_load(&a.n_done), 1, "the other txn never retired");
	rt_free(rt);
}

Test(poll_mode, commit_wait_timeout_then_retires_normally)
{
	struct mem m;
	tm_init(&m, NULL, "", 0);
	jt_runtime *rt = rt_poll_new();
	jt_txn *t = txn_new(rt, 0);
	tm_add(t, &m, &TM_OPS_NOPREP);
	tm_arm(&m);
	int st = 12345;
	cr_assert_eq(jt_txn_commit_wait(t, MS(5), &st), -ETIMEDOUT);
	cr_assert_eq(atomic_load(&m.n_commit), 1, "the setup pass ran");
	cr_assert_eq(atomic_load(&m.n_done), 0);
	tm_complete(&m, -EIO);
	cr_assert_eq(jt_runtime_poll(rt, 0), 1);
	cr_assert_eq(atomic_load(&m.n_done), 1);
	cr_assert_eq(m.done_status, -EIO);
	rt_free(rt);
}

/* commit_wait inside poll: -EDEADLK before anything else happens. */
static int g_cw_ret = 1;
static struct mem g_inner;

static void commit_wait_from_done(struct mem *m)
{
	(void)m;
	jt_txn *t = NULL;
	if (jt_txn_begin(g_rt, 0, &t) != 0)
		return;
	tm_init(&g_inner, NULL, "", 9);
	jt_txn_add(t, &TM_OPS, &g_inner, &g_inner.job);
	g_cw_ret = jt_txn_commit_wait(t, SEC(1), NULL);
	/* nothing happened: the txn is still ours, commit it normally */
	if (g_cw_ret == -EDEADLK && atomic_load(&g_inner.n_prepare) == 0)
		jt_txn_commit(t, NULL, NULL);
}

Test(poll_mode, commit_wait_inside_poll_is_edeadlk)
{
	struct mem m;
	tm_init(&m, NULL, "", 0);
	m.on_done = commit_wait_from_done;
	g_rt = rt_poll_new();
	commit_empty(g_rt, &m);
	cr_assert_eq(jt_runtime_poll(g_rt, 1), 1);
	cr_assert_eq(g_cw_ret, -EDEADLK);
	cr_assert_eq(atomic_load(&g_inner.n_prepare), 1, "txn was committed after -EDEADLK");
	cr_assert_eq(jt_runtime_poll(g_rt, 0), 1);
	cr_assert_eq(atomic_load(&g_inner.n_done), 1);
	rt_free(g_rt);
}

Test(poll_mode, drain_runs_pending_callbacks)
{
	struct mem m[3];
	tm_init_array(m, 3, NULL, "");
	jt_runtime *rt = rt_poll_new();
	for (int i = 0; i < 3; i++)
		commit_empty(rt, &m[i]);
	cr_assert_eq(jt_runtime_drain(rt, -1), 0);
	for (int i = 0; i < 3; i++) {
		cr_assert_eq(atomic_load(&m[i].n_done), 1);
		cr_assert(pthread_equal(m[i].done_thread, pthread_self()));
	}
	cr_assert_eq(jt_runtime_poll(rt, 0), 0);
	rt_free(rt);
}

Test(poll_mode, drain_timeout_with_job_pending)
{
	struct mem m;
	tm_init(&m, NULL, "", 0);
	jt_runtime *rt = rt_poll_new();
	jt_txn *t = txn_new(rt, 0);
	tm_add(t, &m, &TM_OPS_NOPREP);
	tm_arm(&m);
	cr_assert_eq(jt_txn_commit(t, NULL, NULL), 0);
	cr_assert_eq(jt_runtime_drain(rt, MS(5)), -ETIMEDOUT);
	cr_assert_eq(jt_runtime_drain(rt, 0), -ETIMEDOUT);
	tm_complete(&m, 0);
	cr_assert_eq(jt_runtime_drain(rt, SEC(20)), 0);
	cr_assert_eq(atomic_load(&m.n_done), 1);
	rt_free(rt);
}

Test(poll_mode, drain_ignores_open_txn)
{
	jt_runtime *rt = rt_poll_new();
	jt_txn *t = txn_new(rt, 0);
	cr_assert_eq(jt_runtime_drain(rt, SEC(5)), 0, "drain waits for committed txns only");
	cr_assert_eq(jt_txn_commit(t, NULL, NULL), 0);
	rt_free(rt);
}

Test(poll_mode, destroy_runs_pending_callbacks)
{
	struct mem m[2];
	struct tctx c;
	tm_init_array(m, 2, NULL, "");
	tctx_init(&c, NULL, "");
	jt_runtime *rt = rt_poll_new();
	jt_txn *t = txn_new(rt, 0);
	tm_add_array(t, m, 2, &TM_OPS_NOPREP);
	cr_assert_eq(jt_txn_commit(t, tctx_done, &c), 0);
	rt_free(rt);
	cr_assert_eq(atomic_load(&c.n_done), 1);
	cr_assert(pthread_equal(c.thread, pthread_self()));
	cr_assert_eq(atomic_load(&m[0].n_destroy), 1);
	cr_assert_eq(atomic_load(&m[1].n_destroy), 1);
}

/* destroy waits for a job completed by another thread later. */
Test(poll_mode, destroy_waits_for_inflight_job)
{
	struct mem m;
	tm_init(&m, NULL, "", 0);
	jt_runtime *rt = rt_poll_new();
	jt_txn *t = txn_new(rt, 0);
	tm_add(t, &m, &TM_OPS_NOPREP);
	tm_arm(&m);
	cr_assert_eq(jt_txn_commit(t, NULL, NULL), 0);
	struct completer c = {.m = &m, .ret = 0, .delay_ms = 20};
	pthread_t th;
	cr_assert_eq(pthread_create(&th, NULL, complete_later, &c), 0);
	rt_free(rt);
	cr_assert_eq(atomic_load(&m.n_done), 1);
	cr_assert_eq(atomic_load(&m.n_destroy), 1);
	pthread_join(th, NULL);
}

/*
 * Regression: a commit_wait caller sleeping on the eventfd while another
 * thread's poll retires its txn and then clears the fd with an empty poll
 * must still return (it used to sleep until its timeout: -ETIMEDOUT).
 * Which thread wins the race to poll varies, so it is tried many times; the
 * bug made nearly every round where the other thread won time out.
 */
struct waiting_committer {
	jt_txn *txn;
	atomic_int ret;
	atomic_bool started;
};

static void *commit_wait_thread(void *arg)
{
	struct waiting_committer *w = arg;

	atomic_store(&w->started, true);
	atomic_store(&w->ret, jt_txn_commit_wait(w->txn, SEC(5), NULL));
	return NULL;
}

Test(poll_mode, commit_wait_wakes_when_another_thread_retires_its_txn)
{
	jt_runtime *rt = rt_poll_new();

	for (int round = 0; round < 50; round++) {
		struct mem m;
		struct waiting_committer w = {.ret = 1};
		pthread_t th;

		tm_init(&m, NULL, "", 0);
		w.txn = txn_new(rt, 0);
		tm_add_array(w.txn, &m, 1, &TM_OPS_NOPREP);
		tm_arm(&m);
		cr_assert_eq(pthread_create(&th, NULL, commit_wait_thread, &w), 0);
		while (!atomic_load(&w.started))
			sched_yield();
		sleep_ms(2); /* let it find nothing to do and sleep */
		tm_complete(&m, 0);
		/* Retire it here if this thread wins the race, then poll again
		 * with nothing to do, which clears the eventfd. */
		while (jt_runtime_poll(rt, 0) == -EBUSY)
			sched_yield();
		while (jt_runtime_poll(rt, 0) == -EBUSY)
			sched_yield();
		pthread_join(th, NULL);
		cr_assert_eq(atomic_load(&w.ret), 0, "round %d: commit_wait returned %d", round,
		             atomic_load(&w.ret));
		cr_assert_eq(atomic_load(&m.n_done), 1);
	}
	rt_free(rt);
}
