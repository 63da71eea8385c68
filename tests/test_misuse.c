/*
 * Bad input and misuse: NULL pointers and unknown flags are -EINVAL, a
 * failing call changes nothing; arm/complete state errors; destroy with an
 * open txn; jt_strerror.
 */
#include "test_util.h"

#include <limits.h>

TestSuite(misuse, .timeout = 30);

static void noop_cb(void *opaque, int ret)
{
	(void)opaque;
	(void)ret;
}

static int noop_fn(jt_job *j, void *arg)
{
	(void)j;
	(void)arg;
	return 0;
}

static int noop_walk(const struct jt_txn_info *i, void *arg)
{
	(void)i;
	(void)arg;
	return 0;
}

Test(misuse, null_arguments_are_einval)
{
	jt_runtime *rt = NULL;
	jt_txn *t = NULL;
	jt_job *j = NULL;
	jt_complete_fn *ncb = NULL;
	void *nop = NULL;

	cr_assert_eq(jt_runtime_create(NULL, NULL), -EINVAL);
	struct jt_runtime_opts o;
	jt_runtime_opts_init(&o);
	cr_assert_eq(jt_runtime_create(&o, NULL), -EINVAL);
	jt_runtime_opts_init(NULL); /* no-op */

	cr_assert_eq(jt_runtime_destroy(NULL), -EINVAL);
	cr_assert_eq(jt_runtime_drain(NULL, 0), -EINVAL);
	cr_assert_eq(jt_runtime_fd(NULL), -EINVAL);
	cr_assert_eq(jt_runtime_poll(NULL, 0), -EINVAL);
	cr_assert_eq(jt_runtime_foreach_txn(NULL, noop_walk, NULL), -EINVAL);
	cr_assert_eq(jt_txn_begin(NULL, 0, &t), -EINVAL);
	cr_assert_null(t);
	cr_assert_eq(jt_txn_add(NULL, NULL, NULL, &j), -EINVAL);
	cr_assert_eq(jt_job_arm(NULL), -EINVAL);
	cr_assert_eq(jt_job_wrap(NULL, noop_cb, NULL, &ncb, &nop), -EINVAL);
	cr_assert_eq(jt_job_submit(NULL, noop_fn, NULL), -EINVAL);
	cr_assert_eq(jt_job_complete(NULL, 0), -EINVAL);
	cr_assert_not(jt_job_cancelled(NULL));
	cr_assert_eq(jt_txn_commit(NULL, NULL, NULL), -EINVAL);
	cr_assert_eq(jt_txn_commit_wait(NULL, 0, NULL), -EINVAL);
	jt_runtime_stats(NULL, NULL);

	/* with a live runtime: the remaining required pointers */
	rt = rt_new(JT_RUNTIME_POLL, 1, 0);
	cr_assert_eq(jt_txn_begin(rt, 0, NULL), -EINVAL);
	cr_assert_eq(jt_runtime_foreach_txn(rt, NULL, NULL), -EINVAL);
	t = txn_new(rt, 0);
	cr_assert_eq(jt_txn_add(t, NULL, NULL, &j), 0);
	cr_assert_eq(jt_job_wrap(j, noop_cb, NULL, NULL, &nop), -EINVAL);
	cr_assert_eq(jt_job_wrap(j, noop_cb, NULL, &ncb, NULL), -EINVAL);
	cr_assert_eq(jt_job_submit(j, NULL, NULL), -EINVAL);
	/* none of the failed calls armed the job */
	struct jt_txn_info i;
	cr_assert(first_txn_info(rt, &i));
	cr_assert_eq(i.jobs_pending, 0, "a failed call armed the job");
	cr_assert_eq(jt_job_complete(j, 0), -EINVAL, "never armed");
	cr_assert_eq(jt_txn_commit(t, NULL, NULL), 0);
	cr_assert_eq(jt_runtime_poll(rt, 0), 1);
	rt_free(rt);
}

Test(misuse, unknown_flags_are_einval)
{
	struct jt_runtime_opts o;
	jt_runtime *rt = NULL;
	jt_runtime_opts_init(&o);
	o.flags = 0x80;
	cr_assert_eq(jt_runtime_create(&o, &rt), -EINVAL);
	o.flags = JT_RUNTIME_POLL | 0x100;
	cr_assert_eq(jt_runtime_create(&o, &rt), -EINVAL);
	o.flags = 0;
	o.workers = 1025;
	cr_assert_eq(jt_runtime_create(&o, &rt), -EINVAL);

	rt = rt_poll_new();
	jt_txn *t = NULL;
	cr_assert_eq(jt_txn_begin(rt, 0x4, &t), -EINVAL);
	cr_assert_eq(jt_txn_begin(rt, JT_TXN_GROUPED | 0x8000, &t), -EINVAL);
	cr_assert_eq(jt_txn_begin(rt, 0x80000000u, &t), -EINVAL);
	struct jt_stats s;
	jt_runtime_stats(rt, &s);
	cr_assert_eq(s.txns_begun, 0, "a rejected begin was counted");
	cr_assert_eq(live_txns(rt), 0);
	rt_free(rt);
}

Test(misuse, zeroed_opts_are_defaults_and_null_opts_ok)
{
	struct jt_runtime_opts o;
	memset(&o, 0, sizeof(o));
	jt_runtime *rt = NULL;
	cr_assert_eq(jt_runtime_create(&o, &rt), 0);
	cr_assert_eq(jt_runtime_fd(rt), -EINVAL, "default runtime is threaded");
	rt_free(rt);
	rt = NULL;
	cr_assert_eq(jt_runtime_create(NULL, &rt), 0);
	cr_assert_not_null(rt);
	rt_free(rt);

	jt_runtime_opts_init(&o);
	cr_assert_eq(o.workers, 0);
	cr_assert_eq(o.flags, 0);
	cr_assert_eq(o.max_inflight, 0);
	cr_assert_null(o.allocator);
}

Test(misuse, complete_unarmed_is_einval)
{
	struct mem m;
	tm_init(&m, NULL, "", 0);
	jt_runtime *rt = rt_poll_new();
	jt_txn *t = txn_new(rt, 0);
	tm_add(t, &m, &TM_OPS_NOPREP);
	cr_assert_eq(jt_job_complete(m.job, 0), -EINVAL);
	cr_assert_eq(jt_job_complete(m.job, -EIO), -EINVAL);
	/* nothing changed: the job can still be armed and completed */
	tm_arm(&m);
	tm_complete(&m, 0);
	cr_assert_eq(jt_txn_commit(t, NULL, NULL), 0);
	cr_assert_eq(jt_runtime_poll(rt, 0), 1);
	cr_assert_eq(m.done_ret, 0);
	cr_assert_eq(m.done_status, 0, "the rejected -EIO completion leaked into the status");
	rt_free(rt);
}

Test(misuse, double_complete_is_ealready_and_counted)
{
	struct mem m[2];
	tm_init_array(m, 2, NULL, "");
	jt_runtime *rt = rt_poll_new();
	jt_txn *t = txn_new(rt, JT_TXN_GROUPED);
	tm_add_array(t, m, 2, &TM_OPS_NOPREP);
	tm_arm(&m[0]);
	tm_arm(&m[1]);
	cr_assert_eq(jt_txn_commit(t, NULL, NULL), 0);
	tm_complete(&m[0], 0);
	struct jt_stats s0, s1;
	jt_runtime_stats(rt, &s0);
	cr_assert_eq(jt_job_complete(m[0].job, -EIO), -EALREADY);
	jt_runtime_stats(rt, &s1);
	cr_assert_eq(s1.misuse, s0.misuse + 1);

	/* nothing else changed: pending count, status, cancellation */
	struct jt_txn_info i;
	cr_assert(first_txn_info(rt, &i));
	cr_assert_eq(i.jobs_pending, 1, "double completion decremented pending");
	cr_assert_eq(i.status, 0, "double completion changed the status");
	cr_assert_not(jt_job_cancelled(m[1].job), "double completion made the grouped txn fail");
	cr_assert_eq(jt_runtime_poll(rt, 0), 0, "txn retired with a job pending");
	cr_assert_eq(atomic_load(&m[1].n_cancel), 0);

	tm_complete(&m[1], 0);
	cr_assert_eq(jt_runtime_poll(rt, 0), 1);
	cr_assert_eq(m[0].done_ret, 0);
	cr_assert_eq(m[0].done_status, 0);
	rt_free(rt);
}

Test(misuse, double_complete_before_commit)
{
	struct mem m;
	tm_init(&m, NULL, "", 0);
	jt_runtime *rt = rt_poll_new();
	jt_txn *t = txn_new(rt, 0);
	tm_add(t, &m, &TM_OPS_NOPREP);
	tm_arm(&m);
	tm_complete(&m, -EIO);
	cr_assert_eq(jt_job_complete(m.job, 0), -EALREADY);
	struct jt_stats s;
	jt_runtime_stats(rt, &s);
	cr_assert_eq(s.misuse, 1);
	cr_assert_eq(jt_txn_commit(t, NULL, NULL), 0);
	cr_assert_eq(jt_runtime_poll(rt, 0), 1);
	cr_assert_eq(m.done_ret, -EIO);
	rt_free(rt);
}

Test(misuse, double_arm_is_ealready)
{
	struct mem m[2];
	tm_init_array(m, 2, NULL, "");
	jt_runtime *rt = rt_poll_new();
	jt_txn *t = txn_new(rt, 0);
	tm_add_array(t, m, 2, &TM_OPS_NOPREP);
	tm_arm(&m[0]);
	cr_assert_eq(jt_job_arm(m[0].job), -EALREADY);
	jt_complete_fn *ncb = NULL;
	void *nop = NULL;
	cr_assert_eq(jt_job_wrap(m[0].job, NULL, NULL, &ncb, &nop), -EALREADY);
	struct jt_txn_info i;
	cr_assert(first_txn_info(rt, &i));
	cr_assert_eq(i.jobs_pending, 1, "second arm counted");
	cr_assert_eq(jt_txn_commit(t, NULL, NULL), 0);
	tm_complete(&m[0], 0);
	cr_assert_eq(jt_runtime_poll(rt, 0), 1, "a phantom second arm kept the txn pending");
	rt_free(rt);
}

Test(misuse, arm_after_complete_is_ealready)
{
	struct mem m[2];
	tm_init_array(m, 2, NULL, "");
	jt_runtime *rt = rt_poll_new();
	jt_txn *t = txn_new(rt, 0);
	tm_add_array(t, m, 2, &TM_OPS_NOPREP);
	tm_arm(&m[0]);
	tm_complete(&m[0], 0);
	cr_assert_eq(jt_job_arm(m[0].job), -EALREADY);
	cr_assert_eq(jt_txn_commit(t, NULL, NULL), 0);
	cr_assert_eq(jt_runtime_poll(rt, 0), 1);
	rt_free(rt);
}

Test(misuse, arm_after_commit_is_einval)
{
	struct mem m[2];
	tm_init_array(m, 2, NULL, "");
	jt_runtime *rt = rt_poll_new();
	jt_txn *t = txn_new(rt, 0);
	tm_add_array(t, m, 2, &TM_OPS_NOPREP);
	tm_arm(&m[0]);
	cr_assert_eq(jt_txn_commit(t, NULL, NULL), 0);
	cr_assert_eq(jt_job_arm(m[1].job), -EINVAL, "arm on a sealed txn");
	struct jt_txn_info i;
	cr_assert(first_txn_info(rt, &i));
	cr_assert_eq(i.jobs_pending, 1);
	tm_complete(&m[0], 0);
	cr_assert_eq(jt_runtime_poll(rt, 0), 1);
	cr_assert_eq(m[1].done_ret, 0);
	rt_free(rt);
}

Test(misuse, destroy_with_open_txn_is_ebusy)
{
	struct mem m;
	tm_init(&m, NULL, "", 0);
	jt_runtime *rt = rt_poll_new();
	jt_txn *t = txn_new(rt, 0);
	tm_add(t, &m, &TM_OPS_NOPREP);
	cr_assert_eq(jt_runtime_destroy(rt), -EBUSY);
	cr_assert_eq(jt_runtime_destroy(rt), -EBUSY);
	/* the runtime still works */
	tm_arm(&m);
	cr_assert_eq(jt_txn_commit(t, NULL, NULL), 0);
	jt_txn *t2 = txn_new(rt, 0);
	cr_assert_eq(jt_txn_commit(t2, NULL, NULL), 0);
	tm_complete(&m, 0);
	cr_assert_eq(jt_runtime_poll(rt, 0), 2);
	cr_assert_eq(atomic_load(&m.n_done), 1);
	rt_free(rt);
}

Test(misuse, destroy_with_open_txn_is_ebusy_threaded)
{
	struct mem m;
	tm_init(&m, NULL, "", 0);
	jt_runtime *rt = rt_new(0, 2, 0);
	jt_txn *t = txn_new(rt, 0);
	tm_add(t, &m, &TM_OPS_NOPREP);
	cr_assert_eq(jt_runtime_destroy(rt), -EBUSY);
	tm_arm(&m);
	tm_complete(&m, -EIO);
	int st = 0;
	cr_assert_eq(jt_txn_commit_wait(t, SEC(30), &st), 0);
	cr_assert_eq(st, -EIO);
	cr_assert_eq(atomic_load(&m.n_done), 1);
	rt_free(rt);
}

static jt_runtime *g_rt;
static int g_destroy_ret = 1, g_drain_ret = 1;

static void deadlk_hook(struct tctx *c)
{
	(void)c;
	g_destroy_ret = jt_runtime_destroy(g_rt);
	g_drain_ret = jt_runtime_drain(g_rt, 0);
}

Test(misuse, destroy_and_drain_from_poll_callback_are_edeadlk)
{
	struct mem m;
	struct tctx c;
	tm_init(&m, NULL, "", 0);
	tctx_init(&c, NULL, "");
	c.on_done = deadlk_hook;
	g_rt = rt_poll_new();
	jt_txn *t = txn_new(g_rt, 0);
	tm_add(t, &m, &TM_OPS_NOPREP);
	cr_assert_eq(jt_txn_commit(t, tctx_done, &c), 0);
	cr_assert_eq(jt_runtime_poll(g_rt, 0), 1);
	cr_assert_eq(g_destroy_ret, -EDEADLK);
	cr_assert_eq(g_drain_ret, -EDEADLK);
	cr_assert_eq(atomic_load(&m.n_destroy), 1, "the txn did not finish after -EDEADLK");
	/* nothing changed: the runtime still works */
	jt_txn *t2 = txn_new(g_rt, 0);
	cr_assert_eq(jt_txn_commit(t2, NULL, NULL), 0);
	cr_assert_eq(jt_runtime_poll(g_rt, 0), 1);
	rt_free(g_rt);
}

static const int all_codes[] = {0,       -EINVAL,   -ENOMEM,  -EBUSY,     -EDEADLK, -ETIMEDOUT,
                                -EAGAIN, -EALREADY, -ENOTSUP, -ECANCELED, -EIO,     -EPERM,
                                -ENOSPC, -EPIPE,    -EEXIST,  -ENOENT,    -EINTR,   1,
                                -1,      -4095,     -100000,  INT_MAX};

Test(misuse, strerror_never_null)
{
	for (size_t k = 0; k < sizeof(all_codes) / sizeof(all_codes[0]); k++) {
		const char *s = jt_strerror(all_codes[k]);
		cr_assert_not_null(s, "jt_strerror(%d) is NULL", all_codes[k]);
		cr_assert_gt(strlen(s), 0, "jt_strerror(%d) is empty", all_codes[k]);
	}
	for (int e = -200; e <= 0; e++)
		cr_assert_not_null(jt_strerror(e));
	/* the library's own codes get distinct messages */
	const int own[] = {0,          -EINVAL, -ENOMEM,   -EBUSY,  -EDEADLK,
	                   -ETIMEDOUT, -EAGAIN, -EALREADY, -ENOTSUP};
	for (size_t a = 0; a < sizeof(own) / sizeof(own[0]); a++)
		for (size_t b = a + 1; b < sizeof(own) / sizeof(own[0]); b++)
			cr_assert_str_neq(jt_strerror(own[a]), jt_strerror(own[b]), "%d and %d",
			                  own[a], own[b]);
}

Test(misuse, strerror_thread_safe_static)
{
	const char *a = jt_strerror(-EINVAL);
	const char *b = jt_strerror(-ENOMEM);
	cr_assert_str_neq(a, b);
	cr_assert_str_eq(a, jt_strerror(-EINVAL), "message changed after another call");
}
