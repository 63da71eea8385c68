/*
 * jt_job_wrap: hand (new_cb, new_opaque) to any callback-based API; when it
 * fires, the intercepted cb runs first on that thread, then the job
 * completes with ret. A second call while the txn is in flight is caught.
 */
#include "test_util.h"

TestSuite(wrap, .timeout = 30);

struct inner {
	atomic_int calls;
	int ret;
	void *opaque_seen;
	pthread_t thread;
	size_t pending_seen; /* txn's pending jobs while cb runs */
	jt_runtime *rt;
};

static int pending_cb(const struct jt_txn_info *i, void *arg)
{
	*(size_t *)arg = i->jobs_pending;
	return 1;
}

static struct inner g_in;

static void inner_cb(void *opaque, int ret)
{
	g_in.opaque_seen = opaque;
	g_in.ret = ret;
	g_in.thread = pthread_self();
	g_in.pending_seen = 999;
	jt_runtime_foreach_txn(g_in.rt, pending_cb, &g_in.pending_seen);
	atomic_fetch_add(&g_in.calls, 1);
}

struct caller {
	jt_complete_fn *fn;
	void *opaque;
	int ret;
	pthread_t self;
};

static void *call_on_thread(void *arg)
{
	struct caller *c = arg;
	c->self = pthread_self();
	c->fn(c->opaque, c->ret);
	return NULL;
}

static void inner_reset(jt_runtime *rt)
{
	memset(&g_in, 0, sizeof(g_in));
	atomic_init(&g_in.calls, 0);
	g_in.rt = rt;
}

Test(wrap, cb_runs_first_on_calling_thread_then_job_completes)
{
	struct mem m;
	struct rec r;
	rec_init(&r);
	tm_init(&m, &r, "", 0);
	jt_runtime *rt = rt_poll_new();
	inner_reset(rt);
	jt_txn *t = txn_new(rt, 0);
	tm_add(t, &m, &TM_OPS_NOPREP);
	jt_complete_fn *ncb = NULL;
	void *nop = NULL;
	int cookie = 42;
	cr_assert_eq(jt_job_wrap(m.job, inner_cb, &cookie, &ncb, &nop), 0);
	cr_assert_not_null(ncb);
	cr_assert_eq(jt_txn_commit(t, NULL, NULL), 0);
	cr_assert_eq(jt_runtime_poll(rt, 0), 0, "wrapped job counts as armed");

	struct caller c = {.fn = ncb, .opaque = nop, .ret = -EIO};
	pthread_t th;
	cr_assert_eq(pthread_create(&th, NULL, call_on_thread, &c), 0);
	pthread_join(th, NULL);
	cr_assert_eq(atomic_load(&g_in.calls), 1);
	cr_assert_eq(g_in.opaque_seen, &cookie);
	cr_assert_eq(g_in.ret, -EIO);
	cr_assert(pthread_equal(g_in.thread, c.self), "cb not on the thread that called new_cb");
	cr_assert_eq(g_in.pending_seen, 1, "the job completed before cb ran");
	cr_assert_eq(atomic_load(&m.n_done), 0, "done ran inline");
	cr_assert_eq(jt_runtime_poll(rt, 0), 1);
	cr_assert_eq(m.done_ret, -EIO);
	cr_assert_eq(m.done_status, -EIO);
	rt_free(rt);
}

Test(wrap, null_cb_allowed)
{
	struct mem m;
	tm_init(&m, NULL, "", 0);
	jt_runtime *rt = rt_poll_new();
	jt_txn *t = txn_new(rt, 0);
	tm_add(t, &m, &TM_OPS_NOPREP);
	jt_complete_fn *ncb = NULL;
	void *nop = NULL;
	cr_assert_eq(jt_job_wrap(m.job, NULL, NULL, &ncb, &nop), 0);
	cr_assert_not_null(ncb);
	cr_assert_eq(jt_txn_commit(t, NULL, NULL), 0);
	ncb(nop, -ENOSPC);
	cr_assert_eq(jt_runtime_poll(rt, 0), 1);
	cr_assert_eq(m.done_ret, -ENOSPC);
	rt_free(rt);
}

Test(wrap, second_call_while_in_flight_is_caught)
{
	struct mem m[2];
	tm_init_array(m, 2, NULL, "");
	jt_runtime *rt = rt_poll_new();
	inner_reset(rt);
	jt_txn *t = txn_new(rt, 0);
	tm_add_array(t, m, 2, &TM_OPS_NOPREP);
	jt_complete_fn *ncb = NULL;
	void *nop = NULL;
	cr_assert_eq(jt_job_wrap(m[0].job, inner_cb, NULL, &ncb, &nop), 0);
	tm_arm(&m[1]); /* keeps the txn in flight */
	cr_assert_eq(jt_txn_commit(t, NULL, NULL), 0);
	ncb(nop, 0);
	struct jt_stats s0, s1;
	jt_runtime_stats(rt, &s0);
	ncb(nop, -EIO); /* second call: misuse */
	jt_runtime_stats(rt, &s1);
	cr_assert_eq(atomic_load(&g_in.calls), 1, "cb ran twice");
	cr_assert_eq(g_in.ret, 0);
	cr_assert_eq(s1.misuse, s0.misuse + 1);
	struct jt_txn_info i;
	cr_assert(first_txn_info(rt, &i));
	cr_assert_eq(i.jobs_pending, 1);
	cr_assert_eq(i.status, 0, "the rejected second call changed the status");
	cr_assert_eq(jt_runtime_poll(rt, 0), 0);
	tm_complete(&m[1], 0);
	cr_assert_eq(jt_runtime_poll(rt, 0), 1);
	cr_assert_eq(m[0].done_ret, 0);
	cr_assert_eq(m[0].done_status, 0);
	rt_free(rt);
}

Test(wrap, wrap_unarmed_only)
{
	struct mem m;
	tm_init(&m, NULL, "", 0);
	jt_runtime *rt = rt_poll_new();
	jt_txn *t = txn_new(rt, 0);
	tm_add(t, &m, &TM_OPS_NOPREP);
	jt_complete_fn *ncb = NULL, *ncb2 = NULL;
	void *nop = NULL, *nop2 = NULL;
	cr_assert_eq(jt_job_wrap(m.job, NULL, NULL, &ncb, &nop), 0);
	cr_assert_eq(jt_job_wrap(m.job, NULL, NULL, &ncb2, &nop2), -EALREADY);
	cr_assert_eq(jt_job_arm(m.job), -EALREADY);
	cr_assert_eq(jt_txn_commit(t, NULL, NULL), 0);
	ncb(nop, 0);
	cr_assert_eq(jt_runtime_poll(rt, 0), 1, "the rejected second wrap armed the job twice");
	rt_free(rt);
}

/* Threaded: writes made before calling new_cb are visible in done; done
 * runs on the dispatcher. */
struct payload {
	int value;
};

static void check_payload(struct mem *m)
{
	struct payload *p = m->user;
	if (p->value != 0x5eed)
		atomic_store(&m->cb_err, 1);
}

struct wcall {
	jt_complete_fn *fn;
	void *opaque;
	struct payload *p;
};

static void *writer(void *arg)
{
	struct wcall *w = arg;
	sleep_ms(5);
	w->p->value = 0x5eed;
	w->fn(w->opaque, 0);
	return NULL;
}

Test(wrap, threaded_visibility_and_dispatcher)
{
	enum { N = 8 };
	struct mem m[N];
	struct payload p[N];
	struct wcall w[N];
	pthread_t th[N];
	tm_init_array(m, N, NULL, "");
	memset(p, 0, sizeof(p));
	jt_runtime *rt = rt_new(0, 0, 0);
	jt_txn *t = txn_new(rt, 0);
	tm_add_array(t, m, N, &TM_OPS_NOPREP);
	for (int i = 0; i < N; i++) {
		m[i].user = &p[i];
		m[i].on_done = check_payload;
		w[i].p = &p[i];
		cr_assert_eq(jt_job_wrap(m[i].job, NULL, NULL, &w[i].fn, &w[i].opaque), 0);
	}
	for (int i = 0; i < N; i++)
		cr_assert_eq(pthread_create(&th[i], NULL, writer, &w[i]), 0);
	cr_assert_eq(jt_txn_commit_wait(t, SEC(30), NULL), 0);
	for (int i = 0; i < N; i++) {
		pthread_join(th[i], NULL);
		cr_assert_eq(atomic_load(&m[i].cb_err), 0,
		             "write before new_cb not visible in done");
		cr_assert_str_eq(m[i].done_tname, "jt-dispatch");
	}
	rt_free(rt);
}

/* wrap inside prepare. */
static jt_complete_fn *g_ncb;
static void *g_nop;

static void wrap_in_prepare(struct mem *m, jt_job *job)
{
	if (jt_job_wrap(job, NULL, NULL, &g_ncb, &g_nop) != 0)
		atomic_store(&m->cb_err, 1);
}

Test(wrap, wrap_inside_prepare)
{
	struct mem m;
	tm_init(&m, NULL, "", 0);
	m.on_prepare = wrap_in_prepare;
	jt_runtime *rt = rt_poll_new();
	jt_txn *t = txn_new(rt, 0);
	tm_add(t, &m, NULL);
	cr_assert_eq(jt_txn_commit(t, NULL, NULL), 0);
	cr_assert_eq(atomic_load(&m.cb_err), 0);
	cr_assert_eq(jt_runtime_poll(rt, 0), 0);
	g_ncb(g_nop, -EPIPE);
	cr_assert_eq(jt_runtime_poll(rt, 0), 1);
	cr_assert_eq(m.done_ret, -EPIPE);
	rt_free(rt);
}
