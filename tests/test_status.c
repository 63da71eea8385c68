/*
 * The done pass and the txn's cumulative status: members' done in
 * registration order, then the txn's done, then every destroy; done's ret is
 * the member's own result (0 if never armed); status is the first non-zero
 * ret, with -ECANCELED replaced by the first later non-ECANCELED failure.
 */
#include "test_util.h"

TestSuite(status, .timeout = 30);

/* Run a non-grouped txn of n armed members, completing member order[k] with
 * rets[order[k]] in that order; returns the txn's status. */
static int run_txn(int n, const int *order, const int *rets, struct mem *m, unsigned flags)
{
	struct rec r;
	struct tctx c;
	rec_init(&r);
	tm_init_array(m, (size_t)n, &r, "");
	tctx_init(&c, &r, "");
	jt_runtime *rt = rt_poll_new();
	jt_txn *t = txn_new(rt, flags);
	tm_add_array(t, m, (size_t)n, NULL);
	for (int i = 0; i < n; i++)
		tm_arm(&m[i]);
	cr_assert_eq(jt_txn_commit(t, tctx_done, &c), 0);
	for (int k = 0; k < n; k++) {
		tm_complete(&m[order[k]], rets[order[k]]);
		jt_runtime_poll(rt, 0); /* deliver anything pending between completions */
	}
	cr_assert_eq(atomic_load(&c.n_done), 1);
	rt_free(rt);
	for (int i = 0; i < n; i++)
		cr_assert_eq(m[i].done_status, c.status, "member %d saw another status", i);
	return c.status;
}

Test(status, done_order_and_per_member_ret)
{
	struct rec r;
	struct mem m[4];
	struct tctx c;
	rec_init(&r);
	tm_init_array(m, 4, &r, "");
	tctx_init(&c, &r, "");
	jt_runtime *rt = rt_poll_new();
	jt_txn *t = txn_new(rt, 0);
	tm_add_array(t, m, 4, &TM_OPS_NOPREP);
	tm_arm(&m[0]);
	tm_arm(&m[2]);
	tm_arm(&m[3]);
	cr_assert_eq(jt_txn_commit(t, tctx_done, &c), 0);
	REC_EQ(&r, "commit:0 commit:1 commit:2 commit:3 clean:0 clean:1 clean:2 clean:3");
	rec_clear(&r);
	/* complete in reverse registration order */
	tm_complete(&m[3], -ENOSPC);
	tm_complete(&m[2], 0);
	cr_assert_eq(jt_runtime_poll(rt, 0), 0);
	tm_complete(&m[0], -EIO);
	cr_assert_eq(jt_runtime_poll(rt, 0), 1);
	REC_EQ(&r, "done:0 done:1 done:2 done:3 txn_done destroy:0 destroy:1 destroy:2 destroy:3");
	cr_assert_eq(m[0].done_ret, -EIO);
	cr_assert_eq(m[1].done_ret, 0, "never armed: ret 0");
	cr_assert_eq(m[2].done_ret, 0);
	cr_assert_eq(m[3].done_ret, -ENOSPC);
	cr_assert_eq(c.status, -ENOSPC, "first failure in time, not in registration order");
	for (int i = 0; i < 4; i++)
		cr_assert_eq(m[i].done_status, -ENOSPC);
	rt_free(rt);
}

Test(status, all_success_is_zero)
{
	struct mem m[3];
	int order[] = {1, 0, 2}, rets[] = {0, 0, 0};
	cr_assert_eq(run_txn(3, order, rets, m, 0), 0);
}

Test(status, first_failure_wins)
{
	struct mem m[3];
	int order[] = {2, 0, 1}, rets[] = {-EIO, -ENOSPC, -EPERM};
	cr_assert_eq(run_txn(3, order, rets, m, 0), -EPERM);
	cr_assert_eq(m[0].done_ret, -EIO);
	cr_assert_eq(m[1].done_ret, -ENOSPC);
	cr_assert_eq(m[2].done_ret, -EPERM);
}

Test(status, ecanceled_replaced_by_later_root_cause)
{
	struct mem m[4];
	int order[] = {0, 1, 2, 3}, rets[] = {-ECANCELED, 0, -EIO, -ENOSPC};
	cr_assert_eq(run_txn(4, order, rets, m, 0), -EIO);
	cr_assert_eq(m[0].done_ret, -ECANCELED, "a member keeps its own ret");
}

Test(status, ecanceled_replaced_in_grouped_txn)
{
	struct mem m[3];
	int order[] = {1, 0, 2}, rets[] = {-ETIMEDOUT, -ECANCELED, -ECANCELED};
	cr_assert_eq(run_txn(3, order, rets, m, JT_TXN_GROUPED), -ETIMEDOUT);
}

Test(status, ecanceled_only_stays_ecanceled)
{
	struct mem m[3];
	int order[] = {0, 1, 2}, rets[] = {-ECANCELED, 0, -ECANCELED};
	cr_assert_eq(run_txn(3, order, rets, m, 0), -ECANCELED);
}

Test(status, later_ecanceled_does_not_replace_root_cause)
{
	struct mem m[3];
	int order[] = {0, 1, 2}, rets[] = {-EIO, -ECANCELED, -ENOSPC};
	cr_assert_eq(run_txn(3, order, rets, m, 0), -EIO);
}

Test(status, positive_ret_counts_as_failure)
{
	struct mem m[2];
	int order[] = {0, 1}, rets[] = {0, 7};
	cr_assert_eq(run_txn(2, order, rets, m, 0), 7);
	cr_assert_eq(m[1].done_ret, 7);
}

Test(status, prepare_error_is_status)
{
	struct rec r;
	struct mem m[3];
	struct tctx c;
	rec_init(&r);
	tm_init_array(m, 3, &r, "");
	tctx_init(&c, NULL, "");
	m[0].arm_in_prepare = true;
	m[1].prepare_ret = -ENOSPC;
	jt_runtime *rt = rt_poll_new();
	jt_txn *t = txn_new(rt, 0);
	tm_add_array(t, m, 3, NULL);
	cr_assert_eq(jt_txn_commit(t, tctx_done, &c), -ENOSPC);
	jt_runtime_poll(rt, 0);
	tm_complete(&m[0], -EIO); /* after the prepare failure: not the root cause */
	cr_assert_eq(jt_runtime_poll(rt, 0), 1);
	cr_assert_eq(c.status, -ENOSPC);
	cr_assert_eq(m[0].done_ret, -EIO);
	cr_assert_eq(m[2].done_ret, 0);
	for (int i = 0; i < 3; i++)
		cr_assert_eq(m[i].done_status, -ENOSPC);
	rt_free(rt);
}

/* A job that failed (with -ECANCELED) before the prepare error: the prepare
 * error is the first non-ECANCELED failure, so it becomes the status. */
Test(status, prepare_error_replaces_earlier_ecanceled)
{
	struct mem m[2];
	struct tctx c;
	tm_init_array(m, 2, NULL, "");
	tctx_init(&c, NULL, "");
	m[1].prepare_ret = -EROFS;
	jt_runtime *rt = rt_poll_new();
	jt_txn *t = txn_new(rt, 0);
	tm_add_array(t, m, 2, NULL);
	tm_arm(&m[0]);
	tm_complete(&m[0], -ECANCELED);
	cr_assert_eq(jt_txn_commit(t, tctx_done, &c), -EROFS);
	cr_assert_eq(jt_runtime_poll(rt, 0), 1);
	cr_assert_eq(c.status, -EROFS);
	cr_assert_eq(m[0].done_ret, -ECANCELED);
	rt_free(rt);
}

/* A job that failed before commit is first: a later prepare error does not
 * replace it (only -ECANCELED gets replaced). */
Test(status, job_failure_before_prepare_error_stays)
{
	struct mem m[2];
	struct tctx c;
	tm_init_array(m, 2, NULL, "");
	tctx_init(&c, NULL, "");
	m[1].prepare_ret = -EROFS;
	jt_runtime *rt = rt_poll_new();
	jt_txn *t = txn_new(rt, 0);
	tm_add_array(t, m, 2, NULL);
	tm_arm(&m[0]);
	tm_complete(&m[0], -EIO);
	cr_assert_eq(jt_txn_commit(t, tctx_done, &c), -EROFS,
	             "commit still returns the prepare error");
	cr_assert_eq(jt_runtime_poll(rt, 0), 1);
	cr_assert_eq(c.status, -EIO);
	rt_free(rt);
}

/* No member at all: the txn retires with status 0, txn done still runs. */
Test(status, empty_txn)
{
	struct rec r;
	struct tctx c;
	rec_init(&r);
	tctx_init(&c, &r, "");
	jt_runtime *rt = rt_poll_new();
	jt_txn *t = txn_new(rt, 0);
	cr_assert_eq(jt_txn_commit(t, tctx_done, &c), 0);
	REC_EQ(&r, "");
	cr_assert_eq(jt_runtime_poll(rt, 0), 1);
	REC_EQ(&r, "txn_done");
	cr_assert_eq(c.status, 0);
	rt_free(rt);
}
