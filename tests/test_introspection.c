/*
 * jt_runtime_foreach_txn: sees OPEN and RUNNING txns with their member
 * count, pending jobs and status; distinct ids; stops on a non-zero return;
 * returns how many were visited; retired txns disappear.
 */
#include "test_util.h"

TestSuite(introspection, .timeout = 30);

#define MAXI 64
struct infos {
	int n;
	int stop_after; /* 0 = never */
	struct jt_txn_info i[MAXI];
};

static int collect(const struct jt_txn_info *i, void *arg)
{
	struct infos *s = arg;
	if (s->n < MAXI)
		s->i[s->n] = *i;
	s->n++;
	return s->stop_after && s->n >= s->stop_after ? 1 : 0;
}

static int walk(jt_runtime *rt, struct infos *s)
{
	memset(s, 0, sizeof(*s));
	int r = jt_runtime_foreach_txn(rt, collect, s);
	cr_assert_eq(r, s->n, "foreach returned %d, fn called %d times", r, s->n);
	return r;
}

Test(introspection, empty_runtime)
{
	struct infos s;
	jt_runtime *rt = rt_poll_new();
	cr_assert_eq(walk(rt, &s), 0);
	rt_free(rt);
}

Test(introspection, open_txn_visible)
{
	struct infos s;
	jt_runtime *rt = rt_poll_new();
	jt_txn *t = txn_new(rt, 0);
	cr_assert_eq(walk(rt, &s), 1);
	cr_assert_eq(s.i[0].state, JT_TXN_OPEN);
	cr_assert_eq(s.i[0].members, 0);
	cr_assert_eq(s.i[0].status, 0);
	for (int k = 0; k < 3; k++)
		cr_assert_eq(jt_txn_add(t, NULL, NULL, NULL), 0);
	cr_assert_eq(walk(rt, &s), 1);
	cr_assert_eq(s.i[0].state, JT_TXN_OPEN);
	cr_assert_eq(s.i[0].members, 3);
	cr_assert_eq(s.i[0].jobs_pending, 0);
	cr_assert_eq(jt_txn_commit(t, NULL, NULL), 0);
	cr_assert_eq(jt_runtime_poll(rt, 0), 1);
	cr_assert_eq(walk(rt, &s), 0, "retired txn still listed after poll");
	rt_free(rt);
}

Test(introspection, running_txn_pending_and_status)
{
	struct infos s;
	struct mem m[4];
	tm_init_array(m, 4, NULL, "");
	jt_runtime *rt = rt_poll_new();
	jt_txn *t = txn_new(rt, 0);
	tm_add_array(t, m, 4, &TM_OPS_NOPREP);
	tm_arm(&m[0]);
	tm_arm(&m[1]);
	tm_arm(&m[3]);
	cr_assert_eq(walk(rt, &s), 1);
	cr_assert_eq(s.i[0].state, JT_TXN_OPEN);
	cr_assert_eq(s.i[0].jobs_pending, 3, "armed, not yet completed (the hold excluded)");
	cr_assert_eq(jt_txn_commit(t, NULL, NULL), 0);

	cr_assert_eq(walk(rt, &s), 1);
	cr_assert_eq(s.i[0].state, JT_TXN_RUNNING);
	cr_assert_eq(s.i[0].members, 4);
	cr_assert_eq(s.i[0].jobs_pending, 3);
	cr_assert_eq(s.i[0].status, 0);

	tm_complete(&m[1], -EIO);
	cr_assert_eq(walk(rt, &s), 1);
	cr_assert_eq(s.i[0].state, JT_TXN_RUNNING);
	cr_assert_eq(s.i[0].jobs_pending, 2);
	cr_assert_eq(s.i[0].status, -EIO);

	tm_complete(&m[0], 0);
	cr_assert_eq(walk(rt, &s), 1);
	cr_assert_eq(s.i[0].jobs_pending, 1);
	cr_assert_eq(jt_runtime_poll(rt, 0), 0);
	cr_assert_eq(walk(rt, &s), 1);

	tm_complete(&m[3], 0);
	cr_assert_eq(walk(rt, &s), 1, "ready, not yet retired (poll mode): still live");
	cr_assert_eq(s.i[0].jobs_pending, 0);
	cr_assert_eq(s.i[0].state, JT_TXN_RETIRING);
	cr_assert_eq(jt_runtime_poll(rt, 0), 1);
	cr_assert_eq(walk(rt, &s), 0);
	rt_free(rt);
}

Test(introspection, ids_distinct_and_states_mixed)
{
	enum { N = 6 };
	struct infos s;
	struct mem m[N];
	tm_init_array(m, N, NULL, "");
	jt_runtime *rt = rt_poll_new();
	jt_txn *t[N];
	for (int i = 0; i < N; i++) {
		t[i] = txn_new(rt, 0);
		for (int k = 0; k <= i; k++)
			cr_assert_eq(jt_txn_add(t[i], NULL, NULL, NULL), 0);
		tm_add(t[i], &m[i], &TM_OPS_NOPREP);
		tm_arm(&m[i]);
	}
	/* commit the even ones */
	for (int i = 0; i < N; i += 2)
		cr_assert_eq(jt_txn_commit(t[i], NULL, NULL), 0);
	cr_assert_eq(walk(rt, &s), N);
	int open = 0, running = 0;
	for (int a = 0; a < N; a++) {
		for (int b = a + 1; b < N; b++)
			cr_assert_neq(s.i[a].id, s.i[b].id, "duplicate txn id");
		cr_assert_geq(s.i[a].members, 2);
		cr_assert_leq(s.i[a].members, N + 1);
		if (s.i[a].state == JT_TXN_OPEN)
			open++;
		else if (s.i[a].state == JT_TXN_RUNNING)
			running++;
		cr_assert_eq(s.i[a].jobs_pending, 1);
	}
	cr_assert_eq(open, N / 2);
	cr_assert_eq(running, N / 2);
	/* member counts are 2..N+1, each exactly once */
	for (size_t want = 2; want <= N + 1; want++) {
		int seen = 0;
		for (int a = 0; a < N; a++)
			seen += s.i[a].members == want;
		cr_assert_eq(seen, 1, "members=%zu seen %d times", want, seen);
	}
	for (int i = 1; i < N; i += 2)
		cr_assert_eq(jt_txn_commit(t[i], NULL, NULL), 0);
	for (int i = 0; i < N; i++)
		tm_complete(&m[i], 0);
	cr_assert_eq(jt_runtime_poll(rt, 0), N);
	cr_assert_eq(walk(rt, &s), 0);
	rt_free(rt);
}

Test(introspection, stop_on_nonzero_return)
{
	enum { N = 5 };
	struct infos s;
	jt_runtime *rt = rt_poll_new();
	jt_txn *t[N];
	for (int i = 0; i < N; i++)
		t[i] = txn_new(rt, 0);
	memset(&s, 0, sizeof(s));
	s.stop_after = 2;
	cr_assert_eq(jt_runtime_foreach_txn(rt, collect, &s), 2);
	cr_assert_eq(s.n, 2);
	memset(&s, 0, sizeof(s));
	s.stop_after = 1;
	cr_assert_eq(jt_runtime_foreach_txn(rt, collect, &s), 1);
	cr_assert_eq(s.n, 1);
	cr_assert_eq(walk(rt, &s), N);
	for (int i = 0; i < N; i++)
		cr_assert_eq(jt_txn_commit(t[i], NULL, NULL), 0);
	cr_assert_eq(jt_runtime_poll(rt, 0), N);
	rt_free(rt);
}

Test(introspection, ids_not_reused)
{
	struct infos s;
	jt_runtime *rt = rt_poll_new();
	uint64_t ids[8];
	for (int i = 0; i < 8; i++) {
		jt_txn *t = txn_new(rt, 0);
		cr_assert_eq(walk(rt, &s), 1);
		ids[i] = s.i[0].id;
		cr_assert_eq(jt_txn_commit(t, NULL, NULL), 0);
		cr_assert_eq(jt_runtime_poll(rt, 0), 1);
	}
	for (int a = 0; a < 8; a++)
		for (int b = a + 1; b < 8; b++)
			cr_assert_neq(ids[a], ids[b]);
	rt_free(rt);
}

/* A txn sees itself RETIRING from inside its own done callback. */
static jt_runtime *g_rt;
static struct infos g_in_cb;
static int g_in_cb_ret = -1;

static void walk_from_done(struct mem *m)
{
	(void)m;
	memset(&g_in_cb, 0, sizeof(g_in_cb));
	g_in_cb_ret = jt_runtime_foreach_txn(g_rt, collect, &g_in_cb);
}

Test(introspection, walk_from_callback_sees_retiring)
{
	struct mem m;
	tm_init(&m, NULL, "", 0);
	m.on_done = walk_from_done;
	g_rt = rt_poll_new();
	jt_txn *t = txn_new(g_rt, 0);
	tm_add(t, &m, &TM_OPS_NOPREP);
	cr_assert_eq(jt_txn_commit(t, NULL, NULL), 0);
	cr_assert_eq(jt_runtime_poll(g_rt, 0), 1);
	cr_assert_eq(g_in_cb_ret, 1);
	cr_assert_eq(g_in_cb.i[0].state, JT_TXN_RETIRING);
	cr_assert_eq(g_in_cb.i[0].members, 1);
	rt_free(g_rt);
}

Test(introspection, walk_from_callback_threaded)
{
	struct mem m;
	tm_init(&m, NULL, "", 0);
	m.on_done = walk_from_done;
	g_rt = rt_new(0, 0, 0);
	jt_txn *open = txn_new(g_rt, 0);
	jt_txn *t = txn_new(g_rt, 0);
	tm_add(t, &m, &TM_OPS_NOPREP);
	cr_assert_eq(jt_txn_commit_wait(t, SEC(30), NULL), 0);
	cr_assert_eq(g_in_cb_ret, 2, "the open txn and the retiring one");
	int retiring = 0, opened = 0;
	for (int i = 0; i < 2; i++) {
		retiring += g_in_cb.i[i].state == JT_TXN_RETIRING;
		opened += g_in_cb.i[i].state == JT_TXN_OPEN;
	}
	cr_assert_eq(retiring, 1);
	cr_assert_eq(opened, 1);
	cr_assert_eq(jt_txn_commit(open, NULL, NULL), 0);
	rt_free(g_rt);
}

/* jt_runtime_destroy from inside foreach: -EDEADLK, nothing changed. */
static int destroy_inside(const struct jt_txn_info *i, void *arg)
{
	(void)i;
	*(int *)arg = jt_runtime_destroy(g_rt);
	return 1;
}

Test(introspection, destroy_inside_foreach_is_edeadlk)
{
	g_rt = rt_poll_new();
	jt_txn *t = txn_new(g_rt, 0);
	cr_assert_eq(jt_txn_commit(t, NULL, NULL), 0);
	int r = 1;
	cr_assert_eq(jt_runtime_foreach_txn(g_rt, destroy_inside, &r), 1);
	cr_assert_eq(r, -EDEADLK);
	cr_assert_eq(jt_runtime_poll(g_rt, 0), 1);
	rt_free(g_rt);
}

Test(introspection, foreach_einval)
{
	jt_runtime *rt = rt_poll_new();
	cr_assert_eq(jt_runtime_foreach_txn(NULL, collect, NULL), -EINVAL);
	cr_assert_eq(jt_runtime_foreach_txn(rt, NULL, NULL), -EINVAL);
	rt_free(rt);
}

/* age_ns grows (never goes back) between two walks of the same txn. */
Test(introspection, age_monotonic)
{
	struct infos s;
	jt_runtime *rt = rt_poll_new();
	jt_txn *t = txn_new(rt, 0);
	cr_assert_eq(walk(rt, &s), 1);
	uint64_t a1 = s.i[0].age_ns;
	sleep_ms(2);
	cr_assert_eq(walk(rt, &s), 1);
	cr_assert_gt(s.i[0].age_ns, a1, "age did not grow across 2 ms");
	cr_assert_eq(jt_txn_commit(t, NULL, NULL), 0);
	rt_free(rt);
}

/*
 * More retired txns than the cache keeps (4096 per builder thread) are
 * unlinked and freed while another thread walks: the walk must never read
 * a freed txn (ASan reports a use after free) and must see only live ones.
 * Thread mode (frees on the reclaimer) and poll mode (frees on the poller).
 */
#define OVERFLOW_TXNS 20000

struct walker {
	jt_runtime *rt;
	atomic_bool stop;
	atomic_ulong walks;
	atomic_int bad;
};

static int check_live(const struct jt_txn_info *i, void *arg)
{
	struct walker *w = arg;

	if (i->id == 0 || i->state < JT_TXN_OPEN || i->state > JT_TXN_RETIRING || i->members > 1)
		atomic_fetch_add(&w->bad, 1);
	return 0;
}

static void *walk_loop(void *arg)
{
	struct walker *w = arg;

	while (!atomic_load(&w->stop)) {
		if (jt_runtime_foreach_txn(w->rt, check_live, w) < 0)
			atomic_fetch_add(&w->bad, 1);
		atomic_fetch_add(&w->walks, 1);
	}
	return NULL;
}

static void overflow_while_walking(unsigned flags)
{
	static jt_job *jobs[OVERFLOW_TXNS];
	struct walker w = {.rt = rt_new(flags, 0, 0)};
	pthread_t tid;

	cr_assert_eq(pthread_create(&tid, NULL, walk_loop, &w), 0);
	for (int round = 0; round < 3; round++) {
		for (int k = 0; k < OVERFLOW_TXNS; k++) {
			jt_txn *t = txn_new(w.rt, 0);

			cr_assert_eq(jt_txn_add(t, NULL, NULL, &jobs[k]), 0);
			cr_assert_eq(jt_job_arm(jobs[k]), 0);
			cr_assert_eq(jt_txn_commit(t, NULL, NULL), 0);
		}
		for (int k = 0; k < OVERFLOW_TXNS; k++)
			cr_assert_eq(jt_job_complete(jobs[k], 0), 0);
		cr_assert_eq(jt_runtime_drain(w.rt, -1), 0);
	}
	while (atomic_load(&w.walks) < 3)
		sched_yield();
	atomic_store(&w.stop, true);
	pthread_join(tid, NULL);
	cr_assert_eq(atomic_load(&w.bad), 0, "a walk saw a txn that is not live");
	cr_assert_eq(live_txns(w.rt), 0);
	rt_free(w.rt);
}

Test(introspection, cache_overflow_while_walking_thread_mode)
{
	overflow_while_walking(0);
}

Test(introspection, cache_overflow_while_walking_poll_mode)
{
	overflow_while_walking(JT_RUNTIME_POLL);
}
