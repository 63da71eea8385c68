/*
 * The setup pass inside jt_txn_commit: prepare in registration order, then
 * commit in order (all prepares succeeded) or abort in REVERSE order for every
 * member whose prepare ran (failing one included), then clean in order,
 * exactly once. Poll mode: nothing but the setup pass runs inside commit.
 */
#include "test_util.h"

TestSuite(setup_pass, .timeout = 30);

Test(setup_pass, all_prepares_succeed_commit_in_order)
{
	struct rec r;
	struct mem m[3];
	struct tctx c;
	rec_init(&r);
	tm_init_array(m, 3, &r, "");
	tctx_init(&c, &r, "");
	jt_runtime *rt = rt_poll_new();
	jt_txn *t = txn_new(rt, 0);
	tm_add_array(t, m, 3, NULL);

	REC_EQ(&r, "");
	cr_assert_eq(jt_txn_commit(t, tctx_done, &c), 0);
	REC_EQ(&r,
	       "prepare:0 prepare:1 prepare:2 commit:0 commit:1 commit:2 clean:0 clean:1 clean:2");
	for (int i = 0; i < 3; i++) {
		cr_assert_eq(atomic_load(&m[i].n_abort), 0);
		cr_assert_eq(atomic_load(&m[i].n_clean), 1);
	}

	rec_clear(&r);
	cr_assert_eq(jt_runtime_poll(rt, 0), 1);
	REC_EQ(&r, "done:0 done:1 done:2 txn_done destroy:0 destroy:1 destroy:2");
	cr_assert_eq(c.status, 0);
	rt_free(rt);
	for (int i = 0; i < 3; i++) {
		cr_assert_eq(atomic_load(&m[i].n_prepare), 1);
		cr_assert_eq(atomic_load(&m[i].n_commit), 1);
		cr_assert_eq(atomic_load(&m[i].n_clean), 1);
		cr_assert_eq(atomic_load(&m[i].n_done), 1);
		cr_assert_eq(atomic_load(&m[i].n_destroy), 1);
	}
}

Test(setup_pass, failing_prepare_aborts_in_reverse_and_skips_later_members)
{
	struct rec r;
	struct mem m[5];
	struct tctx c;
	rec_init(&r);
	tm_init_array(m, 5, &r, "");
	tctx_init(&c, &r, "");
	m[2].prepare_ret = -EIO;
	jt_runtime *rt = rt_poll_new();
	jt_txn *t = txn_new(rt, 0);
	tm_add_array(t, m, 5, NULL);

	cr_assert_eq(jt_txn_commit(t, tctx_done, &c), -EIO,
	             "commit returns the failing prepare's error");
	REC_EQ(&r, "prepare:0 prepare:1 prepare:2 abort:2 abort:1 abort:0 clean:0 clean:1 clean:2");
	for (int i = 3; i < 5; i++) {
		cr_assert_eq(atomic_load(&m[i].n_prepare), 0, "later member %d prepared", i);
		cr_assert_eq(atomic_load(&m[i].n_abort), 0);
		cr_assert_eq(atomic_load(&m[i].n_clean), 0);
		cr_assert_eq(atomic_load(&m[i].n_commit), 0);
	}

	/* The txn still belongs to the runtime: every member's done/destroy. */
	rec_clear(&r);
	cr_assert_eq(jt_runtime_poll(rt, 0), 1);
	REC_EQ(&r, "done:0 done:1 done:2 done:3 done:4 txn_done destroy:0 destroy:1 destroy:2 "
	           "destroy:3 "
	           "destroy:4");
	cr_assert_eq(c.status, -EIO);
	for (int i = 0; i < 5; i++)
		cr_assert_eq(m[i].done_status, -EIO, "member %d status", i);
	/* Never-armed members that did not fail report ret 0. */
	cr_assert_eq(m[0].done_ret, 0);
	cr_assert_eq(m[1].done_ret, 0);
	cr_assert_eq(m[3].done_ret, 0);
	cr_assert_eq(m[4].done_ret, 0);
	rt_free(rt);
}

Test(setup_pass, first_prepare_fails)
{
	struct rec r;
	struct mem m[3];
	rec_init(&r);
	tm_init_array(m, 3, &r, "");
	m[0].prepare_ret = -ENOSPC;
	jt_runtime *rt = rt_poll_new();
	jt_txn *t = txn_new(rt, 0);
	tm_add_array(t, m, 3, NULL);

	cr_assert_eq(jt_txn_commit(t, NULL, NULL), -ENOSPC);
	REC_EQ(&r, "prepare:0 abort:0 clean:0");
	cr_assert_eq(jt_runtime_poll(rt, 0), 1);
	rt_free(rt);
	for (int i = 0; i < 3; i++) {
		cr_assert_eq(atomic_load(&m[i].n_done), 1);
		cr_assert_eq(atomic_load(&m[i].n_destroy), 1);
	}
}

Test(setup_pass, last_prepare_fails)
{
	struct rec r;
	struct mem m[3];
	rec_init(&r);
	tm_init_array(m, 3, &r, "");
	m[2].prepare_ret = -EPERM;
	jt_runtime *rt = rt_poll_new();
	jt_txn *t = txn_new(rt, 0);
	tm_add_array(t, m, 3, NULL);

	cr_assert_eq(jt_txn_commit(t, NULL, NULL), -EPERM);
	REC_EQ(&r, "prepare:0 prepare:1 prepare:2 abort:2 abort:1 abort:0 clean:0 clean:1 clean:2");
	cr_assert_eq(jt_runtime_poll(rt, 0), 1);
	rt_free(rt);
}

Test(setup_pass, member_without_prepare_counts_as_prepared_on_success)
{
	struct rec r;
	struct mem m[3];
	rec_init(&r);
	tm_init_array(m, 3, &r, "");
	jt_runtime *rt = rt_poll_new();
	jt_txn *t = txn_new(rt, 0);
	tm_add(t, &m[0], &TM_OPS_NOPREP);
	tm_add(t, &m[1], &TM_OPS);
	tm_add(t, &m[2], &TM_OPS_NOPREP);

	cr_assert_eq(jt_txn_commit(t, NULL, NULL), 0);
	REC_EQ(&r, "prepare:1 commit:0 commit:1 commit:2 clean:0 clean:1 clean:2");
	cr_assert_eq(jt_runtime_poll(rt, 0), 1);
	rt_free(rt);
}

Test(setup_pass, member_without_prepare_counts_as_prepared_on_failure)
{
	struct rec r;
	struct mem m[4];
	rec_init(&r);
	tm_init_array(m, 4, &r, "");
	m[2].prepare_ret = -EIO;
	jt_runtime *rt = rt_poll_new();
	jt_txn *t = txn_new(rt, 0);
	tm_add(t, &m[0], &TM_OPS_NOPREP);
	tm_add(t, &m[1], &TM_OPS);
	tm_add(t, &m[2], &TM_OPS);
	tm_add(t, &m[3], &TM_OPS_NOPREP); /* after the failure: not "prepared" */

	cr_assert_eq(jt_txn_commit(t, NULL, NULL), -EIO);
	REC_EQ(&r, "prepare:1 prepare:2 abort:2 abort:1 abort:0 clean:0 clean:1 clean:2");
	cr_assert_eq(atomic_load(&m[3].n_abort), 0);
	cr_assert_eq(atomic_load(&m[3].n_clean), 0);
	cr_assert_eq(atomic_load(&m[3].n_commit), 0);
	cr_assert_eq(jt_runtime_poll(rt, 0), 1);
	rt_free(rt);
}

Test(setup_pass, null_ops_member)
{
	struct rec r;
	struct mem m;
	struct tctx c;
	rec_init(&r);
	tm_init(&m, &r, "", 1);
	tctx_init(&c, &r, "");
	jt_runtime *rt = rt_poll_new();
	jt_txn *t = txn_new(rt, 0);
	jt_job *j = NULL;
	cr_assert_eq(jt_txn_add(t, NULL, NULL, &j), 0);
	cr_assert_not_null(j);
	cr_assert_eq(jt_txn_add(t, NULL, NULL, NULL), 0, "out may be NULL");
	tm_add(t, &m, NULL);
	cr_assert_eq(jt_job_arm(j), 0);
	cr_assert_eq(jt_txn_commit(t, tctx_done, &c), 0);
	REC_EQ(&r, "prepare:1 commit:1 clean:1");
	cr_assert_eq(jt_runtime_poll(rt, 0), 0, "armed job pending: not ready");
	cr_assert_eq(jt_job_complete(j, -EIO), 0);
	cr_assert_eq(jt_runtime_poll(rt, 0), 1);
	cr_assert_eq(c.status, -EIO);
	cr_assert_eq(m.done_status, -EIO);
	cr_assert_eq(m.done_ret, 0);
	rt_free(rt);
}

Test(setup_pass, commit_with_null_done)
{
	struct rec r;
	struct mem m;
	rec_init(&r);
	tm_init(&m, &r, "", 0);
	jt_runtime *rt = rt_poll_new();
	jt_txn *t = txn_new(rt, 0);
	tm_add(t, &m, NULL);
	cr_assert_eq(jt_txn_commit(t, NULL, NULL), 0);
	cr_assert_eq(jt_runtime_poll(rt, 0), 1);
	REC_EQ(&r, "prepare:0 commit:0 clean:0 done:0 destroy:0");
	rt_free(rt);
}

/* prepare may arm its job; the txn then waits for it. */
Test(setup_pass, prepare_and_commit_may_arm)
{
	struct rec r;
	struct mem m[2];
	rec_init(&r);
	tm_init_array(m, 2, &r, "");
	m[0].arm_in_prepare = true;
	m[1].arm_in_commit = true;
	jt_runtime *rt = rt_poll_new();
	jt_txn *t = txn_new(rt, 0);
	tm_add_array(t, m, 2, NULL);
	cr_assert_eq(jt_txn_commit(t, NULL, NULL), 0);

	struct jt_txn_info i;
	cr_assert(first_txn_info(rt, &i));
	cr_assert_eq(i.jobs_pending, 2);
	cr_assert_eq(jt_runtime_poll(rt, 0), 0);
	tm_complete(&m[1], 0);
	cr_assert_eq(jt_runtime_poll(rt, 0), 0);
	tm_complete(&m[0], 0);
	cr_assert_eq(jt_runtime_poll(rt, 0), 1);
	cr_assert_eq(atomic_load(&m[0].n_done), 1);
	cr_assert_eq(atomic_load(&m[1].n_done), 1);
	rt_free(rt);
}

/* A job armed by an earlier member's prepare still has to complete when a
 * later prepare fails; the txn retires only then. */
Test(setup_pass, prepare_failure_waits_for_jobs_armed_earlier)
{
	struct rec r;
	struct mem m[2];
	struct tctx c;
	rec_init(&r);
	tm_init_array(m, 2, &r, "");
	tctx_init(&c, &r, "");
	m[0].arm_in_prepare = true;
	m[1].prepare_ret = -EBADF;
	jt_runtime *rt = rt_poll_new();
	jt_txn *t = txn_new(rt, 0);
	tm_add_array(t, m, 2, NULL);
	cr_assert_eq(jt_txn_commit(t, tctx_done, &c), -EBADF);
	REC_EQ(&r, "prepare:0 prepare:1 abort:1 abort:0 clean:0 clean:1");

	rec_clear(&r);
	jt_runtime_poll(rt, 0); /* may deliver a cancel for member 0 */
	cr_assert_eq(atomic_load(&c.n_done), 0, "retired with an armed job pending");
	cr_assert_eq(atomic_load(&m[0].n_done), 0);
	tm_complete(&m[0], 0);
	cr_assert_eq(jt_runtime_poll(rt, 0), 1);
	cr_assert_eq(atomic_load(&c.n_done), 1);
	cr_assert_eq(c.status, -EBADF);
	cr_assert_eq(m[0].done_ret, 0);
	rt_free(rt);
}

/* jt_txn_add (and a nested commit) from inside the setup pass are rejected
 * and change nothing. */
static jt_txn *g_txn;
static int g_add_ret = 1, g_commit_ret = 1;

static void add_during_prepare(struct mem *m, jt_job *job)
{
	(void)m;
	(void)job;
	g_add_ret = jt_txn_add(g_txn, NULL, NULL, NULL);
	g_commit_ret = jt_txn_commit(g_txn, NULL, NULL);
}

Test(setup_pass, add_during_prepare_is_ebusy)
{
	struct rec r;
	struct mem m[2];
	rec_init(&r);
	tm_init_array(m, 2, &r, "");
	m[0].on_prepare = add_during_prepare;
	jt_runtime *rt = rt_poll_new();
	g_txn = txn_new(rt, 0);
	tm_add_array(g_txn, m, 2, NULL);
	cr_assert_eq(jt_txn_commit(g_txn, NULL, NULL), 0);
	cr_assert_eq(g_add_ret, -EBUSY);
	cr_assert_eq(g_commit_ret, -EINVAL, "nested commit inside the setup pass");
	REC_EQ(&r, "prepare:0 prepare:1 commit:0 commit:1 clean:0 clean:1");

	struct jt_txn_info i;
	cr_assert(first_txn_info(rt, &i));
	cr_assert_eq(i.members, 2, "the rejected add changed the member count");
	cr_assert_eq(jt_runtime_poll(rt, 0), 1);
	REC_EQ(&r, "prepare:0 prepare:1 commit:0 commit:1 clean:0 clean:1 done:0 done:1 destroy:0 "
	           "destroy:1");
	rt_free(rt);
}

/* Exactly one of commit/abort for every member whose prepare ran, in a
 * larger txn with the failure at each position. */
Test(setup_pass, exactly_one_of_commit_or_abort)
{
	enum { N = 12 };
	for (int fail = -1; fail < N; fail++) {
		struct mem m[N];
		tm_init_array(m, N, NULL, "");
		if (fail >= 0)
			m[fail].prepare_ret = -EIO;
		jt_runtime *rt = rt_poll_new();
		jt_txn *t = txn_new(rt, 0);
		tm_add_array(t, m, N, NULL);
		cr_assert_eq(jt_txn_commit(t, NULL, NULL), fail >= 0 ? -EIO : 0);
		for (int i = 0; i < N; i++) {
			bool ran = fail < 0 || i <= fail;
			cr_assert_eq(atomic_load(&m[i].n_prepare), ran ? 1 : 0, "fail=%d i=%d",
			             fail, i);
			cr_assert_eq(atomic_load(&m[i].n_commit) + atomic_load(&m[i].n_abort),
			             ran ? 1 : 0, "fail=%d i=%d", fail, i);
			cr_assert_eq(atomic_load(&m[i].n_abort), (fail >= 0 && ran) ? 1 : 0);
			cr_assert_eq(atomic_load(&m[i].n_clean), ran ? 1 : 0, "fail=%d i=%d", fail,
			             i);
		}
		cr_assert_eq(jt_runtime_poll(rt, 0), 1);
		rt_free(rt);
		for (int i = 0; i < N; i++) {
			cr_assert_eq(atomic_load(&m[i].n_done), 1);
			cr_assert_eq(atomic_load(&m[i].n_destroy), 1);
			cr_assert_eq(atomic_load(&m[i].n_clean), (fail < 0 || i <= fail) ? 1 : 0,
			             "clean ran again after commit");
		}
	}
}
