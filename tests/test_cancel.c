/*
 * Grouped cancellation: once a JT_TXN_GROUPED txn (or any txn whose prepare
 * failed) is failing, jt_job_cancelled() turns true for every member and each
 * armed, not yet complete job gets exactly one cancel on the dispatcher,
 * never after its done. A non-grouped txn lets every job run to the end.
 */
#include "test_util.h"

TestSuite(cancel, .timeout = 30);

Test(cancel, grouped_failure_cancels_armed_incomplete_siblings)
{
	struct rec r;
	struct mem m[5];
	struct tctx c;
	rec_init(&r);
	tm_init_array(m, 5, &r, "");
	tctx_init(&c, &r, "");
	jt_runtime *rt = rt_poll_new();
	jt_txn *t = txn_new(rt, JT_TXN_GROUPED);
	tm_add_array(t, m, 5, &TM_OPS_NOPREP);
	/* 0: completes OK before the failure; 1: fails; 2, 4: armed, pending;
	 * 3: never armed. */
	tm_arm(&m[0]);
	tm_arm(&m[1]);
	tm_arm(&m[2]);
	tm_arm(&m[4]);
	cr_assert_eq(jt_txn_commit(t, tctx_done, &c), 0);
	rec_clear(&r);

	tm_complete(&m[0], 0);
	for (int i = 0; i < 5; i++)
		cr_assert_not(jt_job_cancelled(m[i].job), "cancelled before any failure (%d)", i);
	cr_assert_eq(jt_runtime_poll(rt, 0), 0);
	REC_EQ(&r, "");

	tm_complete(&m[1], -EIO);
	/* failing from the moment the status became non-zero */
	cr_assert(jt_job_cancelled(m[2].job));
	cr_assert(jt_job_cancelled(m[3].job));
	cr_assert(jt_job_cancelled(m[4].job));
	REC_EQ(&r, ""); /* cancel runs on the dispatcher (here: inside poll) */

	cr_assert_eq(jt_runtime_poll(rt, 0), 0);
	cr_assert_eq(atomic_load(&m[0].n_cancel), 0, "cancel for a completed job");
	cr_assert_eq(atomic_load(&m[1].n_cancel), 0, "cancel for the failed job");
	cr_assert_eq(atomic_load(&m[2].n_cancel), 1);
	cr_assert_eq(atomic_load(&m[3].n_cancel), 0, "cancel for an unarmed job");
	cr_assert_eq(atomic_load(&m[4].n_cancel), 1);
	cr_assert_eq(rec_count(&r), 2);
	cr_assert(pthread_equal(m[2].cancel_thread, pthread_self()),
	          "cancel not on the polling thread");

	/* no second cancel, however often we poll */
	cr_assert_eq(jt_runtime_poll(rt, 0), 0);
	cr_assert_eq(jt_runtime_poll(rt, 0), 0);
	cr_assert_eq(atomic_load(&m[2].n_cancel), 1);
	cr_assert_eq(atomic_load(&m[4].n_cancel), 1);

	rec_clear(&r);
	tm_complete(&m[4], -ECANCELED);
	tm_complete(&m[2], 0); /* finished anyway: keeps its own ret */
	cr_assert_eq(jt_runtime_poll(rt, 0), 1);
	REC_EQ(&r, "done:0 done:1 done:2 done:3 done:4 txn_done destroy:0 destroy:1 destroy:2 "
	           "destroy:3 "
	           "destroy:4");
	cr_assert_eq(c.status, -EIO);
	cr_assert_eq(m[0].done_ret, 0);
	cr_assert_eq(m[1].done_ret, -EIO);
	cr_assert_eq(m[2].done_ret, 0);
	cr_assert_eq(m[3].done_ret, 0);
	cr_assert_eq(m[4].done_ret, -ECANCELED);
	for (int i = 0; i < 5; i++)
		cr_assert_eq(atomic_load(&m[i].n_cancel), i == 2 || i == 4 ? 1 : 0);
	rt_free(rt);
}

Test(cancel, cancel_callback_may_complete_the_job)
{
	struct rec r;
	struct mem m[3];
	struct tctx c;
	rec_init(&r);
	tm_init_array(m, 3, &r, "");
	tctx_init(&c, &r, "");
	for (int i = 0; i < 3; i++)
		m[i].complete_on_cancel = -ECANCELED;
	jt_runtime *rt = rt_poll_new();
	jt_txn *t = txn_new(rt, JT_TXN_GROUPED);
	tm_add_array(t, m, 3, &TM_OPS_NOPREP);
	for (int i = 0; i < 3; i++)
		tm_arm(&m[i]);
	cr_assert_eq(jt_txn_commit(t, tctx_done, &c), 0);
	rec_clear(&r);
	tm_complete(&m[1], -EPIPE);
	int retired = 0;
	for (int k = 0; k < 3 && retired == 0; k++) {
		int n = jt_runtime_poll(rt, 0);
		cr_assert_geq(n, 0);
		retired += n;
	}
	cr_assert_eq(retired, 1);
	cr_assert_eq(rec_occurrences(&r, "cancel:0"), 1);
	cr_assert_eq(rec_occurrences(&r, "cancel:2"), 1);
	cr_assert_eq(rec_occurrences(&r, "cancel:1"), 0);
	cr_assert_lt(rec_index(&r, "cancel:0"), rec_index(&r, "done:0"));
	cr_assert_lt(rec_index(&r, "cancel:2"), rec_index(&r, "done:0"));
	cr_assert_eq(c.status, -EPIPE, "status names the root cause");
	cr_assert_eq(m[0].done_ret, -ECANCELED);
	cr_assert_eq(m[2].done_ret, -ECANCELED);
	rt_free(rt);
}

/* Jobs that complete before the dispatcher gets to the cancel: a cancel may
 * or may not be delivered, but at most once and never after the done. */
Test(cancel, never_after_done)
{
	enum { N = 8 };
	struct rec r;
	struct mem m[N];
	rec_init(&r);
	tm_init_array(m, N, &r, "");
	jt_runtime *rt = rt_poll_new();
	jt_txn *t = txn_new(rt, JT_TXN_GROUPED);
	tm_add_array(t, m, N, &TM_OPS_NOPREP);
	for (int i = 0; i < N; i++)
		tm_arm(&m[i]);
	cr_assert_eq(jt_txn_commit(t, NULL, NULL), 0);
	tm_complete(&m[3], -EIO);
	for (int i = 0; i < N; i++)
		if (i != 3)
			tm_complete(&m[i], -ECANCELED);
	cr_assert_eq(jt_runtime_poll(rt, 0), 1);
	cr_assert_eq(jt_runtime_poll(rt, 0), 0);
	for (int i = 0; i < N; i++) {
		char cev[32], dev[32];
		snprintf(cev, sizeof(cev), "cancel:%d", i);
		snprintf(dev, sizeof(dev), "done:%d", i);
		int nc = rec_occurrences(&r, cev);
		cr_assert_leq(nc, 1, "member %d cancelled %d times", i, nc);
		cr_assert_eq(rec_occurrences(&r, dev), 1);
		if (nc)
			cr_assert_lt(rec_index(&r, cev), rec_index(&r, dev),
			             "cancel after done (%d)", i);
	}
	cr_assert_eq(rec_occurrences(&r, "cancel:3"), 0);
	rt_free(rt);
}

Test(cancel, non_grouped_lets_every_job_run)
{
	struct rec r;
	struct mem m[3];
	struct tctx c;
	rec_init(&r);
	tm_init_array(m, 3, &r, "");
	tctx_init(&c, &r, "");
	jt_runtime *rt = rt_poll_new();
	jt_txn *t = txn_new(rt, 0);
	tm_add_array(t, m, 3, &TM_OPS_NOPREP);
	for (int i = 0; i < 3; i++)
		tm_arm(&m[i]);
	cr_assert_eq(jt_txn_commit(t, tctx_done, &c), 0);
	rec_clear(&r);
	tm_complete(&m[0], -EIO);
	cr_assert_not(jt_job_cancelled(m[1].job));
	cr_assert_not(jt_job_cancelled(m[2].job));
	cr_assert_eq(jt_runtime_poll(rt, 0), 0, "retired with jobs running");
	REC_EQ(&r, "");
	tm_complete(&m[1], 0);
	cr_assert_not(jt_job_cancelled(m[2].job));
	cr_assert_eq(jt_runtime_poll(rt, 0), 0);
	REC_EQ(&r, "");
	tm_complete(&m[2], 0);
	cr_assert_eq(jt_runtime_poll(rt, 0), 1);
	REC_EQ(&r, "done:0 done:1 done:2 txn_done destroy:0 destroy:1 destroy:2");
	cr_assert_eq(c.status, -EIO);
	cr_assert_eq(m[1].done_ret, 0);
	cr_assert_eq(m[2].done_ret, 0);

	struct jt_stats s;
	jt_runtime_stats(rt, &s);
	cr_assert_eq(s.cancels_requested, 0);
	rt_free(rt);
}

Test(cancel, failed_prepare_makes_non_grouped_txn_failing)
{
	struct rec r;
	struct mem m[3];
	struct tctx c;
	rec_init(&r);
	tm_init_array(m, 3, &r, "");
	tctx_init(&c, &r, "");
	m[0].arm_in_prepare = true;
	m[1].arm_in_prepare = true;
	m[2].prepare_ret = -ENOSPC;
	jt_runtime *rt = rt_poll_new();
	jt_txn *t = txn_new(rt, 0); /* not grouped */
	tm_add_array(t, m, 3, NULL);
	cr_assert_eq(jt_txn_commit(t, tctx_done, &c), -ENOSPC);
	for (int i = 0; i < 3; i++)
		cr_assert(jt_job_cancelled(m[i].job),
		          "member %d not cancelled after a failed prepare", i);
	rec_clear(&r);
	cr_assert_eq(jt_runtime_poll(rt, 0), 0);
	cr_assert_eq(atomic_load(&m[0].n_cancel), 1);
	cr_assert_eq(atomic_load(&m[1].n_cancel), 1);
	cr_assert_eq(atomic_load(&m[2].n_cancel), 0, "cancel for an unarmed job");
	tm_complete(&m[1], -ECANCELED);
	tm_complete(&m[0], -ECANCELED);
	cr_assert_eq(jt_runtime_poll(rt, 0), 1);
	cr_assert_eq(c.status, -ENOSPC);
	rt_free(rt);
}

/* A job armed while the txn is already failing gets its own cancel; cancels
 * are callbacks, so none runs before commit (builder's hold). */
Test(cancel, job_armed_while_failing_gets_its_own_cancel)
{
	struct rec r;
	struct mem m[3];
	struct tctx c;
	rec_init(&r);
	tm_init_array(m, 3, &r, "");
	tctx_init(&c, &r, "");
	jt_runtime *rt = rt_poll_new();
	jt_txn *t = txn_new(rt, JT_TXN_GROUPED);
	tm_add_array(t, m, 3, &TM_OPS_NOPREP);
	tm_arm(&m[0]);
	tm_arm(&m[1]);
	tm_complete(&m[0], -EIO); /* failing, still open */
	cr_assert(jt_job_cancelled(m[1].job));
	cr_assert(jt_job_cancelled(m[2].job));
	tm_arm(&m[2]); /* armed while failing */
	cr_assert_eq(jt_runtime_poll(rt, 0), 0);
	REC_EQ(&r, "");
	cr_assert_eq(jt_txn_commit(t, tctx_done, &c), 0);
	rec_clear(&r);
	cr_assert_eq(jt_runtime_poll(rt, 0), 0);
	cr_assert_eq(atomic_load(&m[0].n_cancel), 0);
	cr_assert_eq(atomic_load(&m[1].n_cancel), 1);
	cr_assert_eq(atomic_load(&m[2].n_cancel), 1);
	tm_complete(&m[2], -ECANCELED);
	tm_complete(&m[1], -ECANCELED);
	cr_assert_eq(jt_runtime_poll(rt, 0), 1);
	cr_assert_eq(c.status, -EIO);
	rt_free(rt);
}

/* Arming inside commit while the txn is already failing (an earlier job of
 * a grouped txn failed before commit). */
Test(cancel, job_armed_in_commit_while_failing)
{
	struct mem m[2];
	tm_init_array(m, 2, NULL, "");
	m[1].arm_in_commit = true;
	jt_runtime *rt = rt_poll_new();
	jt_txn *t = txn_new(rt, JT_TXN_GROUPED);
	tm_add_array(t, m, 2, &TM_OPS_NOPREP);
	tm_arm(&m[0]);
	tm_complete(&m[0], -EIO);
	cr_assert_eq(jt_txn_commit(t, NULL, NULL), 0);
	cr_assert_eq(jt_runtime_poll(rt, 0), 0);
	cr_assert_eq(atomic_load(&m[1].n_cancel), 1);
	tm_complete(&m[1], -ECANCELED);
	cr_assert_eq(jt_runtime_poll(rt, 0), 1);
	cr_assert_eq(m[1].done_status, -EIO);
	rt_free(rt);
}

Test(cancel, grouped_ecanceled_failure_also_cancels)
{
	struct mem m[2];
	tm_init_array(m, 2, NULL, "");
	jt_runtime *rt = rt_poll_new();
	jt_txn *t = txn_new(rt, JT_TXN_GROUPED);
	tm_add_array(t, m, 2, &TM_OPS_NOPREP);
	tm_arm(&m[0]);
	tm_arm(&m[1]);
	cr_assert_eq(jt_txn_commit(t, NULL, NULL), 0);
	tm_complete(&m[0], -ECANCELED); /* any non-zero ret is a failure */
	cr_assert(jt_job_cancelled(m[1].job));
	cr_assert_eq(jt_runtime_poll(rt, 0), 0);
	cr_assert_eq(atomic_load(&m[1].n_cancel), 1);
	tm_complete(&m[1], -ECANCELED);
	cr_assert_eq(jt_runtime_poll(rt, 0), 1);
	cr_assert_eq(m[1].done_status, -ECANCELED);
	rt_free(rt);
}

Test(cancel, cancels_requested_counted)
{
	struct mem m[4];
	tm_init_array(m, 4, NULL, "");
	for (int i = 0; i < 4; i++)
		m[i].complete_on_cancel = -ECANCELED;
	jt_runtime *rt = rt_poll_new();
	jt_txn *t = txn_new(rt, JT_TXN_GROUPED);
	tm_add_array(t, m, 4, &TM_OPS_NOPREP);
	for (int i = 0; i < 4; i++)
		tm_arm(&m[i]);
	cr_assert_eq(jt_txn_commit(t, NULL, NULL), 0);
	tm_complete(&m[0], -EIO);
	int retired = 0;
	for (int k = 0; k < 4 && !retired; k++)
		retired += jt_runtime_poll(rt, 0);
	cr_assert_eq(retired, 1);
	struct jt_stats s;
	jt_runtime_stats(rt, &s);
	cr_assert_eq(s.cancels_requested, 3);
	rt_free(rt);
}

Test(cancel, cancelled_null_is_false)
{
	cr_assert_not(jt_job_cancelled(NULL));
}

/* Threaded: cancels run on the dispatcher thread, not on the thread whose
 * job failed. */
Test(cancel, threaded_cancel_on_dispatcher)
{
	struct mem m[3];
	struct tctx c;
	tm_init_array(m, 3, NULL, "");
	tctx_init(&c, NULL, "");
	for (int i = 0; i < 3; i++) {
		m[i].complete_on_cancel = -ECANCELED;
	}
	jt_runtime *rt = rt_new(0, 0, 0);
	jt_txn *t = txn_new(rt, JT_TXN_GROUPED);
	tm_add_array(t, m, 3, &TM_OPS_NOPREP);
	for (int i = 0; i < 3; i++)
		tm_arm(&m[i]);
	cr_assert_eq(jt_txn_commit(t, tctx_done, &c), 0);
	tm_complete(&m[2], -EIO);
	cr_assert_eq(jt_runtime_drain(rt, SEC(20)), 0);
	cr_assert_eq(atomic_load(&c.n_done), 1);
	cr_assert_eq(c.status, -EIO);
	cr_assert_eq(atomic_load(&m[0].n_cancel), 1);
	cr_assert_eq(atomic_load(&m[1].n_cancel), 1);
	cr_assert_eq(atomic_load(&m[2].n_cancel), 0);
	cr_assert_str_eq(m[0].cancel_tname, "jt-dispatch");
	cr_assert_str_eq(m[1].cancel_tname, "jt-dispatch");
	for (int i = 0; i < 3; i++)
		cr_assert_eq(atomic_load(&m[i].cb_err), 0);
	rt_free(rt);
}
