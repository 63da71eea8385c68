/*
 * jt_runtime_destroy: waits for every committed txn (all callbacks ran),
 * -EBUSY with an open txn (nothing changed), -EDEADLK from a callback, and
 * joins its threads.
 */
#include "test_util.h"

#include <dirent.h>

TestSuite(destroy, .timeout = 60);

static int count_threads(void)
{
	DIR *d = opendir("/proc/self/task");
	cr_assert_not_null(d);
	int n = 0;
	struct dirent *e;
	while ((e = readdir(d)) != NULL)
		if (e->d_name[0] != '.')
			n++;
	closedir(d);
	return n;
}

struct later {
	jt_job *job;
	long delay_ms;
	int ret;
};

static void *complete_later(void *arg)
{
	struct later *l = arg;
	sleep_ms(l->delay_ms);
	jt_job_complete(l->job, l->ret);
	return NULL;
}

static void run_destroy_waits(unsigned flags)
{
	enum { N = 5 };
	struct mem m[N];
	struct tctx c[N];
	struct later l[N];
	pthread_t th[N];
	jt_runtime *rt = rt_new(flags, 1, 0);
	for (int i = 0; i < N; i++) {
		tm_init(&m[i], NULL, "", i);
		tctx_init(&c[i], NULL, "");
		jt_txn *t = txn_new(rt, 0);
		tm_add(t, &m[i], &TM_OPS_NOPREP);
		tm_arm(&m[i]);
		cr_assert_eq(jt_txn_commit(t, tctx_done, &c[i]), 0);
		l[i] = (struct later){
		        .job = m[i].job, .delay_ms = 5 + 5 * i, .ret = i % 2 ? -EIO : 0};
		cr_assert_eq(pthread_create(&th[i], NULL, complete_later, &l[i]), 0);
	}
	rt_free(rt);
	for (int i = 0; i < N; i++) {
		cr_assert_eq(atomic_load(&m[i].n_done), 1, "destroy returned before txn %d retired",
		             i);
		cr_assert_eq(atomic_load(&m[i].n_destroy), 1);
		cr_assert_eq(atomic_load(&c[i].n_done), 1);
		cr_assert_eq(c[i].status, i % 2 ? -EIO : 0);
	}
	for (int i = 0; i < N; i++)
		pthread_join(th[i], NULL);
}

Test(destroy, waits_for_committed_txns_threaded)
{
	run_destroy_waits(0);
}

Test(destroy, waits_for_committed_txns_poll_mode)
{
	run_destroy_waits(JT_RUNTIME_POLL);
}

Test(destroy, ebusy_with_open_txn_then_works)
{
	struct mem m;
	tm_init(&m, NULL, "", 0);
	jt_runtime *rt = rt_new(0, 0, 0);
	jt_txn *t = txn_new(rt, 0);
	tm_add(t, &m, &TM_OPS_NOPREP);
	tm_arm(&m);
	cr_assert_eq(jt_runtime_destroy(rt), -EBUSY);
	/* begin and the dispatcher still work */
	jt_txn *t2 = txn_new(rt, 0);
	int st = 1;
	cr_assert_eq(jt_txn_commit_wait(t2, SEC(30), &st), 0);
	cr_assert_eq(st, 0);
	cr_assert_eq(jt_txn_commit(t, NULL, NULL), 0);
	tm_complete(&m, 0);
	rt_free(rt);
	cr_assert_eq(atomic_load(&m.n_destroy), 1);
}

Test(destroy, joins_all_threads)
{
	int before = count_threads();
	jt_runtime *rt = rt_new(0, 4, 0);
	int during = count_threads();
	cr_assert_geq(during, before + 5, "dispatcher + 4 workers: %d -> %d threads", before,
	              during);
	rt_free(rt);
	/* the library may keep a process-wide helper (RCU reclaim) alive */
	int after = count_threads();
	cr_assert_leq(after, before + 1, "threads left behind: %d -> %d", before, after);
	for (int i = 0; i < 5; i++)
		rt_free(rt_new(0, 4, 0));
	cr_assert_leq(count_threads(), after, "threads leak across create/destroy");
}

Test(destroy, poll_mode_has_no_dispatcher_thread)
{
	int before = count_threads();
	jt_runtime *rt = rt_poll_new();
	cr_assert_leq(count_threads(), before + 1);
	rt_free(rt);
}

/* Destroy with a grouped txn whose cancel requests are still pending: the
 * cancels run (and complete the jobs), then the txn retires. */
Test(destroy, destroy_delivers_pending_cancels)
{
	struct mem m[3];
	tm_init_array(m, 3, NULL, "");
	for (int i = 0; i < 3; i++)
		m[i].complete_on_cancel = -ECANCELED;
	jt_runtime *rt = rt_poll_new();
	jt_txn *t = txn_new(rt, JT_TXN_GROUPED);
	tm_add_array(t, m, 3, &TM_OPS_NOPREP);
	for (int i = 0; i < 3; i++)
		tm_arm(&m[i]);
	cr_assert_eq(jt_txn_commit(t, NULL, NULL), 0);
	tm_complete(&m[0], -EIO);
	rt_free(rt);
	cr_assert_eq(atomic_load(&m[1].n_cancel), 1);
	cr_assert_eq(atomic_load(&m[2].n_cancel), 1);
	for (int i = 0; i < 3; i++)
		cr_assert_eq(atomic_load(&m[i].n_destroy), 1);
	cr_assert_eq(m[1].done_status, -EIO);
}

static jt_runtime *g_rt;
static int g_ret = 1;

static void destroy_from_destroy_cb(struct mem *m)
{
	(void)m;
	g_ret = jt_runtime_destroy(g_rt);
}

Test(destroy, edeadlk_from_done_threaded)
{
	struct mem m;
	tm_init(&m, NULL, "", 0);
	m.on_done = destroy_from_destroy_cb;
	g_rt = rt_new(0, 0, 0);
	jt_txn *t = txn_new(g_rt, 0);
	tm_add(t, &m, &TM_OPS_NOPREP);
	cr_assert_eq(jt_txn_commit(t, NULL, NULL), 0);
	cr_assert_eq(jt_runtime_drain(g_rt, SEC(30)), 0);
	rt_free(g_rt);
	cr_assert_eq(g_ret, -EDEADLK);
	cr_assert_eq(atomic_load(&m.n_destroy), 1);
}
