/*
 * jt_runtime_stats after a known workload: each counter, when it is counted
 * (jobs_armed at commit, jobs_completed/failed at retirement), and the
 * retire latency quantiles.
 */
#include "test_util.h"

TestSuite(stats, .timeout = 30);

static struct jt_stats stats(jt_runtime *rt)
{
	struct jt_stats s;
	memset(&s, 0xab, sizeof(s));
	jt_runtime_stats(rt, &s);
	return s;
}

Test(stats, zero_after_create)
{
	jt_runtime *rt = rt_poll_new();
	struct jt_stats s = stats(rt);
	cr_assert_eq(s.txns_begun, 0);
	cr_assert_eq(s.txns_committed, 0);
	cr_assert_eq(s.txns_retired, 0);
	cr_assert_eq(s.txns_failed, 0);
	cr_assert_eq(s.jobs_armed, 0);
	cr_assert_eq(s.jobs_completed, 0);
	cr_assert_eq(s.jobs_failed, 0);
	cr_assert_eq(s.cancels_requested, 0);
	cr_assert_eq(s.misuse, 0);
	cr_assert_eq(s.retire_latency_max_ns, 0);
	rt_free(rt);
}

Test(stats, known_workload)
{
	struct mem a[3], b[3];
	tm_init_array(a, 3, NULL, "A");
	tm_init_array(b, 3, NULL, "B");
	jt_runtime *rt = rt_poll_new();

	/* txn A: 3 armed jobs, all succeed */
	jt_txn *ta = txn_new(rt, 0);
	tm_add_array(ta, a, 3, &TM_OPS_NOPREP);
	for (int i = 0; i < 3; i++)
		tm_arm(&a[i]);
	struct jt_stats s = stats(rt);
	cr_assert_eq(s.txns_begun, 1);
	cr_assert_eq(s.jobs_armed, 0, "jobs_armed is counted at commit");
	cr_assert_eq(jt_txn_commit(ta, NULL, NULL), 0);
	s = stats(rt);
	cr_assert_eq(s.txns_committed, 1);
	cr_assert_eq(s.jobs_armed, 3);
	for (int i = 0; i < 3; i++)
		tm_complete(&a[i], 0);
	s = stats(rt);
	cr_assert_eq(s.jobs_completed, 0, "jobs_completed is counted at retirement");
	cr_assert_eq(s.txns_retired, 0);
	cr_assert_eq(jt_runtime_poll(rt, 0), 1);
	s = stats(rt);
	cr_assert_eq(s.txns_retired, 1);
	cr_assert_eq(s.jobs_completed, 3);
	cr_assert_eq(s.jobs_failed, 0);
	cr_assert_eq(s.txns_failed, 0);

	/* txn B: grouped, 2 of 3 armed; one fails, the other gets cancelled */
	jt_txn *tb = txn_new(rt, JT_TXN_GROUPED);
	tm_add_array(tb, b, 3, &TM_OPS_NOPREP);
	tm_arm(&b[0]);
	tm_arm(&b[1]);
	cr_assert_eq(jt_txn_commit(tb, NULL, NULL), 0);
	tm_complete(&b[0], -EIO);
	s = stats(rt);
	cr_assert_eq(s.jobs_failed, 0, "jobs_failed is counted at retirement");
	cr_assert_eq(jt_runtime_poll(rt, 0), 0);
	s = stats(rt);
	cr_assert_eq(s.cancels_requested, 1);
	/* double completion: misuse, nothing else changes */
	cr_assert_eq(jt_job_complete(b[0].job, 0), -EALREADY);
	s = stats(rt);
	cr_assert_eq(s.misuse, 1);
	tm_complete(&b[1], -ECANCELED);
	cr_assert_eq(jt_runtime_poll(rt, 0), 1);

	/* txn C: empty */
	jt_txn *tc = txn_new(rt, 0);
	cr_assert_eq(jt_txn_commit(tc, NULL, NULL), 0);
	cr_assert_eq(jt_runtime_poll(rt, 0), 1);

	s = stats(rt);
	cr_assert_eq(s.txns_begun, 3);
	cr_assert_eq(s.txns_committed, 3);
	cr_assert_eq(s.txns_retired, 3);
	cr_assert_eq(s.txns_failed, 1);
	cr_assert_eq(s.jobs_armed, 5);
	cr_assert_eq(s.jobs_completed, 5);
	cr_assert_eq(s.jobs_failed, 2);
	cr_assert_eq(s.cancels_requested, 1);
	cr_assert_eq(s.misuse, 1);
	cr_assert_geq(s.retire_latency_max_ns, s.retire_latency_p99_ns);
	cr_assert_geq(s.retire_latency_p99_ns, s.retire_latency_p50_ns);
	rt_free(rt);
}

Test(stats, failed_prepare_counts_as_failed_txn)
{
	struct mem m[2];
	tm_init_array(m, 2, NULL, "");
	m[1].prepare_ret = -EIO;
	jt_runtime *rt = rt_poll_new();
	jt_txn *t = txn_new(rt, 0);
	tm_add_array(t, m, 2, NULL);
	cr_assert_eq(jt_txn_commit(t, NULL, NULL), -EIO);
	cr_assert_eq(jt_runtime_poll(rt, 0), 1);
	struct jt_stats s = stats(rt);
	cr_assert_eq(s.txns_begun, 1);
	cr_assert_eq(s.txns_retired, 1);
	cr_assert_eq(s.txns_failed, 1);
	cr_assert_eq(s.jobs_armed, 0);
	cr_assert_eq(s.jobs_failed, 0);
	rt_free(rt);
}

Test(stats, misuse_counts_each_rejected_double_completion)
{
	struct mem m[2];
	tm_init_array(m, 2, NULL, "");
	jt_runtime *rt = rt_poll_new();
	jt_txn *t = txn_new(rt, 0);
	tm_add_array(t, m, 2, &TM_OPS_NOPREP);
	tm_arm(&m[0]);
	tm_arm(&m[1]);
	cr_assert_eq(jt_txn_commit(t, NULL, NULL), 0);
	tm_complete(&m[0], 0);
	for (int i = 0; i < 3; i++)
		cr_assert_eq(jt_job_complete(m[0].job, -EIO), -EALREADY);
	struct jt_stats s = stats(rt);
	cr_assert_eq(s.misuse, 3);
	tm_complete(&m[1], 0);
	cr_assert_eq(jt_runtime_poll(rt, 0), 1);
	s = stats(rt);
	cr_assert_eq(s.jobs_completed, 2);
	cr_assert_eq(s.jobs_failed, 0, "a rejected completion counted as a failure");
	cr_assert_eq(s.txns_failed, 0);
	rt_free(rt);
}

/* Latency: last completion -> first done. A poll 5 ms after the last
 * completion gives a latency of at least ~5 ms (lower bound only). */
Test(stats, retire_latency_quantiles)
{
	jt_runtime *rt = rt_poll_new();
	for (int k = 0; k < 50; k++) {
		struct mem m;
		tm_init(&m, NULL, "", 0);
		jt_txn *t = txn_new(rt, 0);
		tm_add(t, &m, &TM_OPS_NOPREP);
		tm_arm(&m);
		cr_assert_eq(jt_txn_commit(t, NULL, NULL), 0);
		tm_complete(&m, 0);
		if (k == 49)
			sleep_ms(5);
		cr_assert_eq(jt_runtime_poll(rt, 0), 1);
	}
	struct jt_stats s = stats(rt);
	cr_assert_eq(s.txns_retired, 50);
	cr_assert_geq(s.retire_latency_max_ns, s.retire_latency_p99_ns);
	cr_assert_geq(s.retire_latency_p99_ns, s.retire_latency_p50_ns);
	cr_assert_geq(s.retire_latency_max_ns, 1000000ull, "max %llu ns after a 5 ms delay",
	              (unsigned long long)s.retire_latency_max_ns);
	rt_free(rt);
}

Test(stats, threaded_counters)
{
	enum { N = 50 };
	jt_runtime *rt = rt_new(0, 0, 0);
	for (int k = 0; k < N; k++) {
		struct mem m[2];
		tm_init_array(m, 2, NULL, "");
		jt_txn *t = txn_new(rt, 0);
		tm_add_array(t, m, 2, &TM_OPS_NOPREP);
		tm_arm(&m[0]);
		tm_arm(&m[1]);
		tm_complete(&m[0], k % 5 == 0 ? -EIO : 0);
		tm_complete(&m[1], 0);
		cr_assert_eq(jt_txn_commit_wait(t, SEC(30), NULL), 0);
	}
	struct jt_stats s = stats(rt);
	cr_assert_eq(s.txns_begun, N);
	cr_assert_eq(s.txns_committed, N);
	cr_assert_eq(s.txns_retired, N);
	cr_assert_eq(s.txns_failed, N / 5);
	cr_assert_eq(s.jobs_armed, 2 * N);
	cr_assert_eq(s.jobs_completed, 2 * N);
	cr_assert_eq(s.jobs_failed, N / 5);
	cr_assert_geq(s.retire_latency_max_ns, s.retire_latency_p99_ns);
	cr_assert_geq(s.retire_latency_p99_ns, s.retire_latency_p50_ns);
	rt_free(rt);
}

Test(stats, null_is_noop)
{
	struct jt_stats s;
	memset(&s, 0x5a, sizeof(s));
	jt_runtime_stats(NULL, &s);
	cr_assert_eq(s.txns_begun, 0x5a5a5a5a5a5a5a5aull, "stats(NULL rt) wrote into out");
	jt_runtime *rt = rt_poll_new();
	jt_runtime_stats(rt, NULL);
	rt_free(rt);
}
