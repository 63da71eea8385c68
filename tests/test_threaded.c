/*
 * Threaded runtime: callbacks on the "jt-dispatch" thread, never inline on a
 * completing thread, never concurrently; concurrent completions; memory
 * visibility; commit_wait / drain / destroy and their -EDEADLK from callbacks;
 * callbacks that build new txns.
 */
#include "test_util.h"

TestSuite(threaded, .timeout = 60);

/* ------------------------------------------------------------------ */
/* Lightweight member used for the big txns                            */
/* ------------------------------------------------------------------ */

struct big {
	int idx;
	int expect_ret;
	int payload; /* written by the completing thread, plain memory */
	jt_job *job;
};

struct big_state {
	atomic_int next_done; /* registration-order check */
	atomic_int order_errors;
	atomic_int ret_errors;
	atomic_int payload_errors;
	atomic_int in_callback;
	atomic_int overlap;
	atomic_int n_done, n_destroy;
	pthread_t dispatcher;
	atomic_int dispatcher_set;
	atomic_int wrong_thread;
	char name[16];
};

static struct big_state g_bs;

static void note_thread(void)
{
	pthread_t self = pthread_self();
	int expected = 0;
	if (atomic_compare_exchange_strong(&g_bs.dispatcher_set, &expected, 1)) {
		g_bs.dispatcher = self;
		pthread_getname_np(self, g_bs.name, sizeof(g_bs.name));
		atomic_store(&g_bs.dispatcher_set, 2);
	} else {
		while (atomic_load(&g_bs.dispatcher_set) != 2) {
		}
		if (!pthread_equal(g_bs.dispatcher, self))
			atomic_fetch_add(&g_bs.wrong_thread, 1);
	}
}

static void enter_cb(void)
{
	if (atomic_fetch_add(&g_bs.in_callback, 1) != 0)
		atomic_fetch_add(&g_bs.overlap, 1);
	note_thread();
}

static void leave_cb(void)
{
	atomic_fetch_sub(&g_bs.in_callback, 1);
}

static void big_done(void *opaque, int ret, int status)
{
	struct big *b = opaque;
	(void)status;
	enter_cb();
	/* registration order within one txn; reset per txn by the txn done */
	if (atomic_fetch_add(&g_bs.next_done, 1) != b->idx)
		atomic_fetch_add(&g_bs.order_errors, 1);
	if (ret != b->expect_ret)
		atomic_fetch_add(&g_bs.ret_errors, 1);
	if (b->payload != b->idx * 7 + 1)
		atomic_fetch_add(&g_bs.payload_errors, 1);
	atomic_fetch_add(&g_bs.n_done, 1);
	leave_cb();
}

static void big_destroy(void *opaque)
{
	(void)opaque;
	enter_cb();
	atomic_fetch_add(&g_bs.n_destroy, 1);
	leave_cb();
}

static void big_txn_done(void *opaque, int status)
{
	enter_cb();
	*(int *)opaque = status;
	atomic_store(&g_bs.next_done, 0);
	leave_cb();
}

static const struct jt_member_ops BIG_OPS = {.done = big_done, .destroy = big_destroy};

static void bs_reset(void)
{
	memset(&g_bs, 0, sizeof(g_bs));
}

struct slice {
	struct big *b;
	int from, to;
	pthread_t self;
	atomic_int *go;
};

static void *complete_slice(void *arg)
{
	struct slice *s = arg;
	s->self = pthread_self();
	while (atomic_load(s->go) == 0) {
	}
	for (int i = s->from; i < s->to; i++) {
		s->b[i].payload = s->b[i].idx * 7 + 1; /* plain write before complete */
		jt_job_complete(s->b[i].job, s->b[i].expect_ret);
	}
	return NULL;
}

Test(threaded, many_threads_complete_jobs_of_one_txn)
{
	enum { T = 8, PER = 400, N = T * PER };
	bs_reset();
	struct big *b = calloc(N, sizeof(*b));
	cr_assert_not_null(b);
	jt_runtime *rt = rt_new(0, 0, 0);
	jt_txn *t = txn_new(rt, 0);
	for (int i = 0; i < N; i++) {
		b[i].idx = i;
		b[i].expect_ret = (i % 97 == 13) ? -EIO : 0;
		cr_assert_eq(jt_txn_add(t, &BIG_OPS, &b[i], &b[i].job), 0);
		cr_assert_eq(jt_job_arm(b[i].job), 0);
	}
	atomic_int go;
	atomic_init(&go, 0);
	struct slice s[T];
	pthread_t th[T];
	for (int k = 0; k < T; k++) {
		s[k] = (struct slice){.b = b, .from = k * PER, .to = (k + 1) * PER, .go = &go};
		cr_assert_eq(pthread_create(&th[k], NULL, complete_slice, &s[k]), 0);
	}
	int status = 1;
	cr_assert_eq(jt_txn_commit(t, big_txn_done, &status), 0);
	atomic_store(&go, 1);
	for (int k = 0; k < T; k++)
		pthread_join(th[k], NULL);
	cr_assert_eq(jt_runtime_drain(rt, SEC(30)), 0);

	cr_assert_eq(atomic_load(&g_bs.n_done), N);
	cr_assert_eq(atomic_load(&g_bs.n_destroy), N);
	cr_assert_eq(atomic_load(&g_bs.order_errors), 0, "done out of registration order");
	cr_assert_eq(atomic_load(&g_bs.ret_errors), 0, "wrong per-member ret");
	cr_assert_eq(atomic_load(&g_bs.payload_errors), 0,
	             "completer's writes not visible in done");
	cr_assert_eq(atomic_load(&g_bs.overlap), 0, "callbacks ran concurrently");
	cr_assert_eq(atomic_load(&g_bs.wrong_thread), 0, "callbacks on more than one thread");
	cr_assert_str_eq(g_bs.name, "jt-dispatch");
	cr_assert_not(pthread_equal(g_bs.dispatcher, pthread_self()));
	for (int k = 0; k < T; k++)
		cr_assert_not(pthread_equal(g_bs.dispatcher, s[k].self),
		              "callback inline on completer");
	cr_assert(status == -EIO, "status %d", status);
	rt_free(rt);
	free(b);
}

/* Many txns from several builder threads, completed by other threads: one
 * dispatcher, never concurrent, every callback exactly once. */
struct builder_arg {
	jt_runtime *rt;
	int txns;
	int members;
};

struct completer_job {
	struct big *b;
	int n;
};

static void *complete_all_reverse(void *arg)
{
	struct completer_job *cj = arg;
	for (int i = cj->n - 1; i >= 0; i--) {
		cj->b[i].payload = cj->b[i].idx * 7 + 1;
		jt_job_complete(cj->b[i].job, 0);
	}
	return NULL;
}

static void *builder(void *arg)
{
	struct builder_arg *a = arg;
	for (int k = 0; k < a->txns; k++) {
		struct big *b = calloc((size_t)a->members, sizeof(*b));
		jt_txn *t = NULL;
		if (!b || jt_txn_begin(a->rt, 0, &t) != 0)
			abort();
		for (int i = 0; i < a->members; i++) {
			b[i].idx = i;
			if (jt_txn_add(t, &BIG_OPS, &b[i], &b[i].job) != 0 ||
			    jt_job_arm(b[i].job) != 0)
				abort();
		}
		struct completer_job cj = {.b = b, .n = a->members};
		pthread_t th;
		pthread_create(&th, NULL, complete_all_reverse, &cj);
		if (jt_txn_commit_wait(t, -1, NULL) != 0)
			abort();
		pthread_join(th, NULL);
		free(b);
	}
	return NULL;
}

Test(threaded, concurrent_builders_and_completers)
{
	enum { B = 4, TX = 30, M = 5 };
	bs_reset();
	jt_runtime *rt = rt_new(0, 0, 0);
	struct builder_arg a = {.rt = rt, .txns = TX, .members = M};
	pthread_t th[B];
	for (int i = 0; i < B; i++)
		cr_assert_eq(pthread_create(&th[i], NULL, builder, &a), 0);
	for (int i = 0; i < B; i++)
		pthread_join(th[i], NULL);
	cr_assert_eq(jt_runtime_drain(rt, SEC(30)), 0);
	/* (next_done is never reset here: no txn done callback; the order
	 * within one txn is checked by the test above.) */
	cr_assert_eq(atomic_load(&g_bs.n_done), B * TX * M);
	cr_assert_eq(atomic_load(&g_bs.n_destroy), B * TX * M);
	cr_assert_eq(atomic_load(&g_bs.overlap), 0, "callbacks ran concurrently");
	cr_assert_eq(atomic_load(&g_bs.wrong_thread), 0, "callbacks on more than one thread");
	cr_assert_eq(atomic_load(&g_bs.payload_errors), 0);
	cr_assert_str_eq(g_bs.name, "jt-dispatch");
	struct jt_stats s;
	jt_runtime_stats(rt, &s);
	cr_assert_eq(s.txns_retired, B * TX);
	cr_assert_eq(s.jobs_completed, B * TX * M);
	rt_free(rt);
}

Test(threaded, commit_wait_returns_status)
{
	struct mem m[3];
	tm_init_array(m, 3, NULL, "");
	jt_runtime *rt = rt_new(0, 0, 0);
	jt_txn *t = txn_new(rt, 0);
	tm_add_array(t, m, 3, &TM_OPS_NOPREP);
	for (int i = 0; i < 3; i++)
		tm_arm(&m[i]);
	tm_complete(&m[0], 0);
	tm_complete(&m[1], -EXDEV);
	tm_complete(&m[2], 0);
	int st = 0;
	cr_assert_eq(jt_txn_commit_wait(t, SEC(30), &st), 0);
	cr_assert_eq(st, -EXDEV);
	/* retired: every callback returned */
	for (int i = 0; i < 3; i++) {
		cr_assert_eq(atomic_load(&m[i].n_done), 1);
		cr_assert_eq(atomic_load(&m[i].n_destroy), 1);
		cr_assert_str_eq(m[i].done_tname, "jt-dispatch");
	}
	rt_free(rt);
}

Test(threaded, commit_wait_returns_prepare_error)
{
	struct mem m[2];
	tm_init_array(m, 2, NULL, "");
	m[1].prepare_ret = -ENOTDIR;
	jt_runtime *rt = rt_new(0, 0, 0);
	jt_txn *t = txn_new(rt, 0);
	tm_add_array(t, m, 2, NULL);
	int st = 0;
	cr_assert_eq(jt_txn_commit_wait(t, -1, &st), -ENOTDIR);
	cr_assert_eq(st, -ENOTDIR);
	cr_assert_eq(atomic_load(&m[0].n_abort), 1);
	cr_assert_eq(atomic_load(&m[0].n_destroy), 1);
	cr_assert_eq(atomic_load(&m[1].n_destroy), 1);
	rt_free(rt);
}

Test(threaded, commit_wait_null_status)
{
	struct mem m;
	tm_init(&m, NULL, "", 0);
	jt_runtime *rt = rt_new(0, 0, 0);
	jt_txn *t = txn_new(rt, 0);
	tm_add(t, &m, &TM_OPS_NOPREP);
	cr_assert_eq(jt_txn_commit_wait(t, -1, NULL), 0);
	cr_assert_eq(atomic_load(&m.n_destroy), 1);
	rt_free(rt);
}

Test(threaded, commit_wait_timeout_then_retires)
{
	struct mem m;
	tm_init(&m, NULL, "", 0);
	jt_runtime *rt = rt_new(0, 0, 0);
	jt_txn *t = txn_new(rt, 0);
	tm_add(t, &m, &TM_OPS_NOPREP);
	tm_arm(&m);
	int st = 777;
	cr_assert_eq(jt_txn_commit_wait(t, MS(10), &st), -ETIMEDOUT);
	cr_assert_eq(atomic_load(&m.n_commit), 1);
	cr_assert_eq(atomic_load(&m.n_done), 0);
	tm_complete(&m, -EIO);
	cr_assert_eq(jt_runtime_drain(rt, SEC(30)), 0);
	cr_assert_eq(atomic_load(&m.n_done), 1);
	cr_assert_eq(atomic_load(&m.n_destroy), 1);
	cr_assert_eq(m.done_status, -EIO);
	rt_free(rt);
}

Test(threaded, drain_with_timeout)
{
	struct mem m;
	tm_init(&m, NULL, "", 0);
	jt_runtime *rt = rt_new(0, 0, 0);
	cr_assert_eq(jt_runtime_drain(rt, 0), 0, "nothing in flight");
	jt_txn *t = txn_new(rt, 0);
	tm_add(t, &m, &TM_OPS_NOPREP);
	tm_arm(&m);
	cr_assert_eq(jt_txn_commit(t, NULL, NULL), 0);
	cr_assert_eq(jt_runtime_drain(rt, MS(10)), -ETIMEDOUT);
	cr_assert_eq(atomic_load(&m.n_done), 0);
	tm_complete(&m, 0);
	cr_assert_eq(jt_runtime_drain(rt, -1), 0);
	cr_assert_eq(atomic_load(&m.n_done), 1);
	cr_assert_eq(atomic_load(&m.n_destroy), 1, "drain returned before destroy ran");
	rt_free(rt);
}

/* -EDEADLK for destroy / drain / commit_wait from a done callback. */
static jt_runtime *g_rt;
static int g_destroy_ret = 1, g_drain_ret = 1, g_cw_ret = 1, g_commit_after = 1;
static struct mem g_inner;

static void deadlk_from_done(struct mem *m)
{
	(void)m;
	g_destroy_ret = jt_runtime_destroy(g_rt);
	g_drain_ret = jt_runtime_drain(g_rt, -1);
	jt_txn *t = NULL;
	if (jt_txn_begin(g_rt, 0, &t) != 0)
		return;
	jt_txn_add(t, &TM_OPS, &g_inner, &g_inner.job);
	g_cw_ret = jt_txn_commit_wait(t, -1, NULL);
	if (g_cw_ret == -EDEADLK && atomic_load(&g_inner.n_prepare) == 0)
		g_commit_after = jt_txn_commit(t, NULL, NULL);
}

Test(threaded, edeadlk_from_done_callback)
{
	struct mem m;
	tm_init(&m, NULL, "", 0);
	tm_init(&g_inner, NULL, "", 1);
	m.on_done = deadlk_from_done;
	g_rt = rt_new(0, 0, 0);
	jt_txn *t = txn_new(g_rt, 0);
	tm_add(t, &m, &TM_OPS_NOPREP);
	cr_assert_eq(jt_txn_commit_wait(t, SEC(30), NULL), 0);
	cr_assert_eq(g_destroy_ret, -EDEADLK);
	cr_assert_eq(g_drain_ret, -EDEADLK);
	cr_assert_eq(g_cw_ret, -EDEADLK);
	cr_assert_eq(g_commit_after, 0, "commit_wait's -EDEADLK changed the txn");
	cr_assert_eq(jt_runtime_drain(g_rt, SEC(30)), 0);
	cr_assert_eq(atomic_load(&g_inner.n_prepare), 1);
	cr_assert_eq(atomic_load(&g_inner.n_done), 1);
	rt_free(g_rt);
}

static void deadlk_from_txn_done(struct tctx *c)
{
	(void)c;
	g_destroy_ret = jt_runtime_destroy(g_rt);
	g_drain_ret = jt_runtime_drain(g_rt, 0);
}

Test(threaded, edeadlk_from_txn_done_callback)
{
	struct tctx c;
	tctx_init(&c, NULL, "");
	c.on_done = deadlk_from_txn_done;
	g_rt = rt_new(0, 0, 0);
	jt_txn *t = txn_new(g_rt, 0);
	cr_assert_eq(jt_txn_commit(t, tctx_done, &c), 0);
	cr_assert_eq(jt_runtime_drain(g_rt, SEC(30)), 0);
	cr_assert_eq(g_destroy_ret, -EDEADLK);
	cr_assert_eq(g_drain_ret, -EDEADLK);
	rt_free(g_rt);
}

/* Callbacks may begin, fill and commit new txns, arm and complete jobs,
 * read stats: a chain of txns, each started from the previous one's done. */
#define CHAIN 25
static struct mem g_chain[CHAIN][2];
static atomic_int g_chain_len;
static int g_stats_seen_retired = -1;

static void chain_next(struct mem *m)
{
	if (m->idx != 0)
		return;
	int k = atomic_fetch_add(&g_chain_len, 1) + 1;
	struct jt_stats s;
	jt_runtime_stats(g_rt, &s);
	g_stats_seen_retired = (int)s.txns_retired;
	if (k >= CHAIN)
		return;
	jt_txn *t = NULL;
	if (jt_txn_begin(g_rt, JT_TXN_GROUPED, &t) != 0)
		return;
	for (int i = 0; i < 2; i++) {
		tm_init(&g_chain[k][i], NULL, "", i);
		g_chain[k][i].on_done = chain_next;
		if (jt_txn_add(t, &TM_OPS_NOPREP, &g_chain[k][i], &g_chain[k][i].job) != 0)
			return;
		jt_job_arm(g_chain[k][i].job);
	}
	jt_txn_commit(t, NULL, NULL);
	/* complete from the callback: lock-free, never runs callbacks inline */
	jt_job_complete(g_chain[k][1].job, 0);
	jt_job_complete(g_chain[k][0].job, 0);
}

Test(threaded, callbacks_begin_and_commit_new_txns)
{
	atomic_init(&g_chain_len, 0);
	g_rt = rt_new(0, 0, 0);
	jt_txn *t = txn_new(g_rt, 0);
	tm_init(&g_chain[0][0], NULL, "", 0);
	tm_init(&g_chain[0][1], NULL, "", 1);
	g_chain[0][0].on_done = chain_next;
	tm_add(t, &g_chain[0][0], &TM_OPS_NOPREP);
	tm_add(t, &g_chain[0][1], &TM_OPS_NOPREP);
	cr_assert_eq(jt_txn_commit(t, NULL, NULL), 0);
	for (int k = 0; k < 1000 && atomic_load(&g_chain_len) < CHAIN; k++) {
		cr_assert_eq(jt_runtime_drain(g_rt, SEC(30)), 0);
	}
	cr_assert_eq(jt_runtime_drain(g_rt, SEC(30)), 0);
	cr_assert_eq(atomic_load(&g_chain_len), CHAIN);
	for (int k = 0; k < CHAIN; k++)
		for (int i = 0; i < 2; i++) {
			cr_assert_eq(atomic_load(&g_chain[k][i].n_done), 1, "txn %d member %d", k,
			             i);
			cr_assert_eq(atomic_load(&g_chain[k][i].n_destroy), 1);
			cr_assert_str_eq(g_chain[k][i].done_tname, "jt-dispatch");
		}
	cr_assert_geq(g_stats_seen_retired, 0);
	rt_free(g_rt);
}

/* Same, in poll mode: a txn committed from a callback retires by a later
 * poll (or the same one). */
Test(threaded, poll_mode_callbacks_begin_new_txns)
{
	atomic_init(&g_chain_len, 0);
	g_rt = rt_poll_new();
	jt_txn *t = txn_new(g_rt, 0);
	tm_init(&g_chain[0][0], NULL, "", 0);
	tm_init(&g_chain[0][1], NULL, "", 1);
	g_chain[0][0].on_done = chain_next;
	tm_add(t, &g_chain[0][0], &TM_OPS_NOPREP);
	tm_add(t, &g_chain[0][1], &TM_OPS_NOPREP);
	cr_assert_eq(jt_txn_commit(t, NULL, NULL), 0);
	int total = 0;
	for (int k = 0; k < 10 * CHAIN && total < CHAIN; k++) {
		int n = jt_runtime_poll(g_rt, 0);
		cr_assert_geq(n, 0);
		total += n;
	}
	cr_assert_eq(total, CHAIN);
	cr_assert_eq(atomic_load(&g_chain_len), CHAIN);
	rt_free(g_rt);
}

/* destroy waits for every committed txn to retire. */
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

Test(threaded, destroy_waits_for_committed_txns)
{
	struct mem m[2];
	struct tctx c;
	tm_init_array(m, 2, NULL, "");
	tctx_init(&c, NULL, "");
	jt_runtime *rt = rt_new(0, 0, 0);
	jt_txn *t = txn_new(rt, 0);
	tm_add_array(t, m, 2, &TM_OPS_NOPREP);
	tm_arm(&m[0]);
	tm_arm(&m[1]);
	cr_assert_eq(jt_txn_commit(t, tctx_done, &c), 0);
	struct later l0 = {.job = m[0].job, .delay_ms = 30, .ret = 0};
	struct later l1 = {.job = m[1].job, .delay_ms = 5, .ret = 0};
	pthread_t th0, th1;
	pthread_create(&th0, NULL, complete_later, &l0);
	pthread_create(&th1, NULL, complete_later, &l1);
	rt_free(rt);
	cr_assert_eq(atomic_load(&c.n_done), 1);
	cr_assert_eq(atomic_load(&m[0].n_destroy), 1);
	cr_assert_eq(atomic_load(&m[1].n_destroy), 1);
	pthread_join(th0, NULL);
	pthread_join(th1, NULL);
}

/* Worker threads named jt-worker-N plus the dispatcher appear and are joined. */
Test(threaded, create_destroy_repeatedly)
{
	for (int i = 0; i < 30; i++) {
		jt_runtime *rt = rt_new(i % 2 ? JT_RUNTIME_ORDERED : 0, (unsigned)(i % 3), 0);
		if (i % 5 == 0) {
			struct mem m;
			tm_init(&m, NULL, "", 0);
			jt_txn *t = txn_new(rt, 0);
			tm_add(t, &m, &TM_OPS_NOPREP);
			cr_assert_eq(jt_txn_commit(t, NULL, NULL), 0);
			rt_free(rt);
			cr_assert_eq(atomic_load(&m.n_destroy), 1);
		} else {
			rt_free(rt);
		}
	}
}

/* Ordered threaded runtime: done order across txns follows commit order. */
static pthread_mutex_t g_order_mu = PTHREAD_MUTEX_INITIALIZER;
static int g_order[64];
static int g_order_n;

static void record_order(struct mem *m)
{
	pthread_mutex_lock(&g_order_mu);
	g_order[g_order_n++] = m->idx;
	pthread_mutex_unlock(&g_order_mu);
}

Test(threaded, ordered_runtime_commit_order)
{
	enum { N = 20 };
	struct mem m[N];
	tm_init_array(m, N, NULL, "");
	g_order_n = 0;
	jt_runtime *rt = rt_new(JT_RUNTIME_ORDERED, 0, 0);
	for (int i = 0; i < N; i++) {
		m[i].on_done = record_order;
		jt_txn *t = txn_new(rt, 0);
		tm_add(t, &m[i], &TM_OPS_NOPREP);
		tm_arm(&m[i]);
		cr_assert_eq(jt_txn_commit(t, NULL, NULL), 0);
	}
	for (int i = N - 1; i >= 0; i--)
		tm_complete(&m[i], 0);
	cr_assert_eq(jt_runtime_drain(rt, SEC(30)), 0);
	cr_assert_eq(g_order_n, N);
	for (int i = 0; i < N; i++)
		cr_assert_eq(g_order[i], i, "position %d retired txn %d", i, g_order[i]);
	rt_free(rt);
}
