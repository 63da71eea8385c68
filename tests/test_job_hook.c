/*
 * The core's private hook for the io_uring adapter (txn/job_hook.h): a job
 * armed with a cancel hook gets the hook, once, on the dispatcher, right
 * after its member's cancel, when its txn starts failing while it is
 * armed and incomplete; only the hooked completion completes it.
 */
#include "test_util.h"
#include "txn/job_hook.h"

TestSuite(job_hook, .timeout = 30);

struct hook_log {
	struct rec *rec;
	int idx;
	atomic_int calls;
	pthread_t thread;
};

static void log_hook(jt_job *j, void *arg)
{
	struct hook_log *h = arg;

	(void)j;
	atomic_fetch_add(&h->calls, 1);
	h->thread = pthread_self();
	rec_log(h->rec, "hook:%d", h->idx);
}

Test(job_hook, failing_txn_calls_the_hook_after_cancel_for_incomplete_hooked_jobs)
{
	struct rec r;
	struct mem m[4];
	struct hook_log h[4];
	rec_init(&r);
	tm_init_array(m, 4, &r, "");
	jt_runtime *rt = rt_poll_new();
	jt_txn *t = txn_new(rt, JT_TXN_GROUPED);
	tm_add_array(t, m, 4, &TM_OPS_NOPREP);
	for (int i = 0; i < 4; i++)
		h[i] = (struct hook_log){.rec = &r, .idx = i};
	/* 0: hooked, completes before the failure; 1: plain, fails;
	 * 2: hooked, still in flight; 3: plain, still in flight. */
	cr_assert_eq(jt_private_job_arm_hooked(m[0].job, log_hook, &h[0]), 0);
	tm_arm(&m[1]);
	cr_assert_eq(jt_private_job_arm_hooked(m[2].job, log_hook, &h[2]), 0);
	tm_arm(&m[3]);
	cr_assert_eq(jt_txn_commit(t, NULL, NULL), 0);
	cr_assert_eq(jt_private_job_complete_hooked(m[0].job, 0), 0);
	rec_clear(&r);
	tm_complete(&m[1], -EIO);
	REC_EQ(&r, "");
	cr_assert_eq(jt_runtime_poll(rt, 0), 0);
	REC_EQ(&r, "cancel:2 hook:2 cancel:3");
	cr_assert_eq(atomic_load(&h[0].calls), 0, "hook of a completed job");
	cr_assert(pthread_equal(h[2].thread, pthread_self()), "hook not on the polling thread");
	cr_assert_eq(jt_runtime_poll(rt, 0), 0);
	cr_assert_eq(atomic_load(&h[2].calls), 1);

	rec_clear(&r);
	cr_assert_eq(jt_private_job_complete_hooked(m[2].job, -ECANCELED), 0);
	tm_complete(&m[3], -ECANCELED);
	cr_assert_eq(jt_runtime_poll(rt, 0), 1);
	REC_EQ(&r, "done:0 done:1 done:2 done:3 destroy:0 destroy:1 destroy:2 destroy:3");
	cr_assert_eq(m[1].done_status, -EIO);
	cr_assert_eq(m[2].done_ret, -ECANCELED);
	rt_free(rt);
}

Test(job_hook, hooked_and_plain_completions_do_not_mix)
{
	struct mem m[2];
	struct hook_log h = {0};
	struct jt_stats st;
	tm_init_array(m, 2, NULL, "");
	jt_runtime *rt = rt_poll_new();
	jt_txn *t = txn_new(rt, 0);
	tm_add_array(t, m, 2, &TM_OPS_NOPREP);
	cr_assert_eq(jt_private_job_arm_hooked(m[0].job, NULL, &h), -EINVAL);
	cr_assert_eq(jt_private_job_arm_hooked(NULL, log_hook, &h), -EINVAL);
	cr_assert_eq(jt_private_job_complete_hooked(m[0].job, 0), -EINVAL, "never armed");
	cr_assert_eq(jt_private_job_arm_hooked(m[0].job, log_hook, &h), 0);
	cr_assert_eq(jt_private_job_arm_hooked(m[0].job, log_hook, &h), -EALREADY);
	cr_assert_eq(jt_job_arm(m[0].job), -EALREADY);
	tm_arm(&m[1]);
	cr_assert_eq(jt_private_job_arm_hooked(m[1].job, log_hook, &h), -EALREADY);
	cr_assert_eq(jt_private_job_runtime(m[0].job), rt);
	cr_assert_not(jt_private_runtime_on_dispatcher(rt));
	cr_assert_eq(jt_txn_commit(t, NULL, NULL), 0);
	cr_assert_eq(jt_private_job_arm_hooked(m[0].job, log_hook, &h), -EINVAL, "after commit");

	cr_assert_eq(jt_job_complete(m[0].job, 0), -EALREADY, "a hooked job is the adapter's");
	cr_assert_eq(jt_private_job_complete_hooked(m[1].job, 0), -EINVAL, "a plain job");
	cr_assert_eq(jt_runtime_poll(rt, 0), 0, "a stray completion retired the txn");
	cr_assert_eq(jt_private_job_complete_hooked(m[0].job, 0), 0);
	cr_assert_eq(jt_private_job_complete_hooked(m[0].job, 0), -EALREADY);
	tm_complete(&m[1], 0);
	cr_assert_eq(jt_runtime_poll(rt, 0), 1);
	cr_assert_eq(atomic_load(&h.calls), 0, "hook of a txn that never failed");
	jt_runtime_stats(rt, &st);
	cr_assert_eq(st.misuse, 8, "misuse %llu", (unsigned long long)st.misuse);
	rt_free(rt);
}
