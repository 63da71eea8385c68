/*
 * Ordering guarantees: the builder's hold, no callback inside jt_txn_commit
 * or jt_job_complete, within-txn order, and across-txn order (ready order by
 * default, commit order under JT_RUNTIME_ORDERED).
 */
#include "test_util.h"

TestSuite(ordering, .timeout = 30);

Test(ordering, builders_hold_keeps_callbacks_back_until_commit)
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
	for (int i = 0; i < 3; i++)
		tm_arm(&m[i]);
	/* every job completes before commit, one of them failing */
	tm_complete(&m[0], 0);
	tm_complete(&m[1], -EIO);
	tm_complete(&m[2], 0);
	cr_assert_eq(jt_runtime_poll(rt, 0), 0, "a txn retired before commit");
	cr_assert_eq(jt_runtime_poll(rt, 0), 0);
	REC_EQ(&r, "");
	cr_assert_eq(live_txns(rt), 1);

	cr_assert_eq(jt_txn_commit(t, tctx_done, &c), 0);
	REC_EQ(&r, "commit:0 commit:1 commit:2 clean:0 clean:1 clean:2");
	cr_assert_eq(jt_runtime_poll(rt, 0), 1);
	REC_EQ(&r,
	       "commit:0 commit:1 commit:2 clean:0 clean:1 clean:2 done:0 done:1 done:2 txn_done "
	       "destroy:0 destroy:1 destroy:2");
	cr_assert_eq(c.status, -EIO);
	rt_free(rt);
}

/* A committed txn with no armed job retires, but not inside commit. */
Test(ordering, no_armed_job_retires_after_commit_not_inside)
{
	struct rec r;
	struct mem m[2];
	struct tctx c;
	rec_init(&r);
	tm_init_array(m, 2, &r, "");
	tctx_init(&c, &r, "");
	jt_runtime *rt = rt_poll_new();
	jt_txn *t = txn_new(rt, 0);
	tm_add_array(t, m, 2, NULL);
	cr_assert_eq(jt_txn_commit(t, tctx_done, &c), 0);
	REC_EQ(&r, "prepare:0 prepare:1 commit:0 commit:1 clean:0 clean:1");
	cr_assert_eq(atomic_load(&c.n_done), 0);
	cr_assert_eq(atomic_load(&m[0].n_done), 0);
	cr_assert_eq(jt_runtime_poll(rt, 0), 1);
	cr_assert_eq(atomic_load(&c.n_done), 1);
	cr_assert_eq(c.status, 0);
	rt_free(rt);
}

/* jt_job_complete never runs callbacks, even the one that makes the txn
 * ready. */
Test(ordering, complete_never_runs_callbacks_inline)
{
	struct rec r;
	struct mem m[2];
	rec_init(&r);
	tm_init_array(m, 2, &r, "");
	jt_runtime *rt = rt_poll_new();
	jt_txn *t = txn_new(rt, JT_TXN_GROUPED);
	tm_add_array(t, m, 2, &TM_OPS_NOPREP);
	tm_arm(&m[0]);
	tm_arm(&m[1]);
	cr_assert_eq(jt_txn_commit(t, NULL, NULL), 0);
	rec_clear(&r);
	tm_complete(&m[0], -EIO); /* would trigger a cancel for m[1] */
	REC_EQ(&r, "");
	tm_complete(&m[1], 0); /* last job: txn ready */
	REC_EQ(&r, "");
	cr_assert_eq(jt_runtime_poll(rt, 0), 1);
	cr_assert_neq(rec_count(&r), 0);
	rt_free(rt);
}

Test(ordering, within_txn_registration_order_regardless_of_completion_order)
{
	enum { N = 40 };
	struct rec r;
	struct mem m[N];
	struct tctx c;
	rec_init(&r);
	tm_init_array(m, N, &r, "");
	tctx_init(&c, &r, "");
	jt_runtime *rt = rt_poll_new();
	jt_txn *t = txn_new(rt, 0);
	tm_add_array(t, m, N, &TM_OPS_NOPREP);
	for (int i = 0; i < N; i++)
		tm_arm(&m[i]);
	cr_assert_eq(jt_txn_commit(t, tctx_done, &c), 0);
	rec_clear(&r);
	/* a scrambled completion order */
	for (int k = 0; k < N; k++)
		tm_complete(&m[(k * 17 + 5) % N], 0);
	cr_assert_eq(jt_runtime_poll(rt, 0), 1);

	char expected[REC_MAX] = "";
	size_t len = 0;
	for (int i = 0; i < N; i++)
		len += (size_t)snprintf(expected + len, sizeof(expected) - len, "done:%d ", i);
	len += (size_t)snprintf(expected + len, sizeof(expected) - len, "txn_done");
	for (int i = 0; i < N; i++)
		len += (size_t)snprintf(expected + len, sizeof(expected) - len, " destroy:%d", i);
	REC_EQ(&r, expected);
	rt_free(rt);
}

/* Helper: two txns A and B, one armed member each, committed A then B. */
struct two {
	struct rec r;
	struct mem a, b;
	struct tctx ca, cb;
	jt_runtime *rt;
};

static void two_setup(struct two *s, unsigned rt_flags)
{
	rec_init(&s->r);
	tm_init(&s->a, &s->r, "A", 0);
	tm_init(&s->b, &s->r, "B", 0);
	tctx_init(&s->ca, &s->r, "A");
	tctx_init(&s->cb, &s->r, "B");
	s->rt = rt_new(JT_RUNTIME_POLL | rt_flags, 0, 0);
	jt_txn *ta = txn_new(s->rt, 0);
	jt_txn *tb = txn_new(s->rt, 0);
	tm_add(ta, &s->a, &TM_OPS_NOPREP);
	tm_add(tb, &s->b, &TM_OPS_NOPREP);
	tm_arm(&s->a);
	tm_arm(&s->b);
	cr_assert_eq(jt_txn_commit(ta, tctx_done, &s->ca), 0);
	cr_assert_eq(jt_txn_commit(tb, tctx_done, &s->cb), 0);
	rec_clear(&s->r);
}

Test(ordering, across_txns_ready_order_by_default)
{
	struct two s;
	two_setup(&s, 0);
	tm_complete(&s.b, 0); /* B ready first */
	tm_complete(&s.a, 0);
	cr_assert_eq(jt_runtime_poll(s.rt, 0), 2);
	REC_EQ(&s.r, "done:B0 txn_done:B destroy:B0 done:A0 txn_done:A destroy:A0");
	rt_free(s.rt);
}

Test(ordering, across_txns_ready_one_retires_without_the_other)
{
	struct two s;
	two_setup(&s, 0);
	tm_complete(&s.b, 0);
	cr_assert_eq(jt_runtime_poll(s.rt, 0), 1, "B is ready, A is not: B retires alone");
	REC_EQ(&s.r, "done:B0 txn_done:B destroy:B0");
	tm_complete(&s.a, 0);
	cr_assert_eq(jt_runtime_poll(s.rt, 0), 1);
	rt_free(s.rt);
}

Test(ordering, across_txns_commit_order_when_ordered)
{
	struct two s;
	two_setup(&s, JT_RUNTIME_ORDERED);
	tm_complete(&s.b, 0); /* B ready first, but A was committed first */
	cr_assert_eq(jt_runtime_poll(s.rt, 0), 0, "B retired before A under JT_RUNTIME_ORDERED");
	REC_EQ(&s.r, "");
	tm_complete(&s.a, 0);
	cr_assert_eq(jt_runtime_poll(s.rt, 0), 2);
	REC_EQ(&s.r, "done:A0 txn_done:A destroy:A0 done:B0 txn_done:B destroy:B0");
	rt_free(s.rt);
}

/* Ordered: a head that becomes ready retires before the next queued item
 * runs, here another txn's cancel request, as in ready order. (Found by
 * the fuzzer: a pass once marked a whole chain before it retired.) */
Test(ordering, ordered_head_retires_before_a_later_cancel_request)
{
	struct rec r;
	struct mem a, b[2];
	struct tctx ca;
	rec_init(&r);
	tm_init(&a, &r, "A", 0);
	tm_init_array(b, 2, &r, "B");
	tctx_init(&ca, &r, "A");
	jt_runtime *rt = rt_new(JT_RUNTIME_POLL | JT_RUNTIME_ORDERED, 0, 0);
	jt_txn *ta = txn_new(rt, 0);
	jt_txn *tb = txn_new(rt, JT_TXN_GROUPED);
	tm_add(ta, &a, &TM_OPS_NOPREP);
	tm_add_array(tb, b, 2, &TM_OPS_NOPREP);
	tm_arm(&a);
	tm_arm(&b[0]);
	tm_arm(&b[1]);
	cr_assert_eq(jt_txn_commit(ta, tctx_done, &ca), 0);
	cr_assert_eq(jt_txn_commit(tb, NULL, NULL), 0);
	rec_clear(&r);
	tm_complete(&a, 0);       /* A ready: queued first */
	tm_complete(&b[0], -EIO); /* B failing: its cancel request queued second */
	cr_assert_eq(jt_runtime_poll(rt, 0), 1);
	REC_EQ(&r, "done:A0 txn_done:A destroy:A0 cancel:B1");
	tm_complete(&b[1], -ECANCELED);
	cr_assert_eq(jt_runtime_poll(rt, 0), 1);
	rt_free(rt);
}

/* Ordered: commit order, not begin order. */
Test(ordering, ordered_uses_commit_order_not_begin_order)
{
	struct rec r;
	struct mem a, b;
	rec_init(&r);
	tm_init(&a, &r, "A", 0);
	tm_init(&b, &r, "B", 0);
	jt_runtime *rt = rt_new(JT_RUNTIME_POLL | JT_RUNTIME_ORDERED, 0, 0);
	jt_txn *ta = txn_new(rt, 0); /* begun first */
	jt_txn *tb = txn_new(rt, 0);
	tm_add(ta, &a, &TM_OPS_NOPREP);
	tm_add(tb, &b, &TM_OPS_NOPREP);
	tm_arm(&a);
	tm_arm(&b);
	cr_assert_eq(jt_txn_commit(tb, NULL, NULL), 0); /* committed first */
	cr_assert_eq(jt_txn_commit(ta, NULL, NULL), 0);
	rec_clear(&r);
	tm_complete(&a, 0);
	cr_assert_eq(jt_runtime_poll(rt, 0), 0);
	tm_complete(&b, 0);
	cr_assert_eq(jt_runtime_poll(rt, 0), 2);
	REC_EQ(&r, "done:B0 destroy:B0 done:A0 destroy:A0");
	rt_free(rt);
}

/* Ordered: an open (uncommitted) txn does not hold back committed ones. */
Test(ordering, ordered_open_txn_does_not_block)
{
	struct rec r;
	struct mem a;
	rec_init(&r);
	tm_init(&a, &r, "A", 0);
	jt_runtime *rt = rt_new(JT_RUNTIME_POLL | JT_RUNTIME_ORDERED, 0, 0);
	jt_txn *open = txn_new(rt, 0);
	jt_txn *ta = txn_new(rt, 0);
	tm_add(ta, &a, &TM_OPS_NOPREP);
	cr_assert_eq(jt_txn_commit(ta, NULL, NULL), 0);
	cr_assert_eq(jt_runtime_poll(rt, 0), 1);
	cr_assert_eq(atomic_load(&a.n_done), 1);
	cr_assert_eq(jt_txn_commit(open, NULL, NULL), 0);
	cr_assert_eq(jt_runtime_poll(rt, 0), 1);
	rt_free(rt);
}

Test(ordering, many_txns_ready_order)
{
	enum { N = 16 };
	struct rec r;
	struct mem m[N];
	rec_init(&r);
	jt_runtime *rt = rt_poll_new();
	for (int i = 0; i < N; i++) {
		tm_init(&m[i], &r, "T", i);
		jt_txn *t = txn_new(rt, 0);
		tm_add(t, &m[i], &TM_OPS_NOPREP);
		tm_arm(&m[i]);
		cr_assert_eq(jt_txn_commit(t, NULL, NULL), 0);
	}
	rec_clear(&r);
	int perm[N];
	for (int k = 0; k < N; k++)
		perm[k] = (k * 7 + 3) % N;
	for (int k = 0; k < N; k++)
		tm_complete(&m[perm[k]], 0);
	cr_assert_eq(jt_runtime_poll(rt, 0), N);
	for (int k = 0; k + 1 < N; k++) {
		char e1[32], e2[32];
		snprintf(e1, sizeof(e1), "done:T%d", perm[k]);
		snprintf(e2, sizeof(e2), "done:T%d", perm[k + 1]);
		cr_assert_lt(rec_index(&r, e1), rec_index(&r, e2), "%s not before %s", e1, e2);
	}
	rt_free(rt);
}

Test(ordering, many_txns_commit_order_when_ordered)
{
	enum { N = 16 };
	struct rec r;
	struct mem m[N];
	rec_init(&r);
	jt_runtime *rt = rt_new(JT_RUNTIME_POLL | JT_RUNTIME_ORDERED, 0, 0);
	for (int i = 0; i < N; i++) {
		tm_init(&m[i], &r, "T", i);
		jt_txn *t = txn_new(rt, 0);
		tm_add(t, &m[i], &TM_OPS_NOPREP);
		tm_arm(&m[i]);
		cr_assert_eq(jt_txn_commit(t, NULL, NULL), 0);
	}
	rec_clear(&r);
	for (int k = N - 1; k >= 0; k--)
		tm_complete(&m[k], 0);
	cr_assert_eq(jt_runtime_poll(rt, 0), N);
	for (int i = 0; i + 1 < N; i++) {
		char e1[32], e2[32];
		snprintf(e1, sizeof(e1), "done:T%d", i);
		snprintf(e2, sizeof(e2), "done:T%d", i + 1);
		cr_assert_lt(rec_index(&r, e1), rec_index(&r, e2), "%s not before %s", e1, e2);
	}
	rt_free(rt);
}

/* Threaded: the hold also applies when worker-pool jobs finish before
 * commit; no callback may run until commit. */
static int quick_fn(jt_job *j, void *arg)
{
	(void)j;
	atomic_fetch_add((atomic_int *)arg, 1);
	return 0;
}

static int pending_cb(const struct jt_txn_info *i, void *arg)
{
	*(size_t *)arg = i->jobs_pending;
	return 1;
}

Test(ordering, threaded_hold_with_jobs_done_before_commit)
{
	struct mem m[4];
	atomic_int ran;
	atomic_init(&ran, 0);
	tm_init_array(m, 4, NULL, "");
	/* submit_batch 1: each job goes to a worker at once, so all run
	 * before the commit (jobtxn.h, jt_job_submit). */
	struct jt_runtime_opts o;
	jt_runtime *rt;
	jt_runtime_opts_init(&o);
	o.workers = 2;
	o.submit_batch = 1;
	cr_assert_eq(jt_runtime_create(&o, &rt), 0);
	jt_txn *t = txn_new(rt, 0);
	tm_add_array(t, m, 4, &TM_OPS_NOPREP);
	for (int i = 0; i < 4; i++)
		cr_assert_eq(jt_job_submit(m[i].job, quick_fn, &ran), 0);
	cr_assert(wait_atomic_geq(&ran, 4));
	/* wait until every job has completed (pending back to 0) */
	size_t pending = 1;
	for (int k = 0; k < 20000 && pending != 0; k++) {
		pending = 99;
		cr_assert_eq(jt_runtime_foreach_txn(rt, pending_cb, &pending), 1);
		if (pending)
			sleep_ms(1);
	}
	cr_assert_eq(pending, 0);
	sleep_ms(20); /* give a buggy dispatcher the chance to run callbacks */
	for (int i = 0; i < 4; i++)
		cr_assert_eq(atomic_load(&m[i].n_done), 0, "done before commit");
	int st = 1;
	cr_assert_eq(jt_txn_commit_wait(t, SEC(20), &st), 0);
	cr_assert_eq(st, 0);
	for (int i = 0; i < 4; i++)
		cr_assert_eq(atomic_load(&m[i].n_done), 1);
	rt_free(rt);
}
