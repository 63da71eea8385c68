/*
 * max_inflight: begun-but-not-retired txns are bounded. JT_TXN_NOWAIT gets
 * -EAGAIN at the limit, a blocking begin waits for a retirement, and the
 * dispatcher thread (or a poll callback) never blocks: -EAGAIN there.
 */
#include "test_util.h"

TestSuite(backpressure, .timeout = 60);

Test(backpressure, nowait_at_limit_is_eagain)
{
	jt_runtime *rt = rt_new(JT_RUNTIME_POLL, 0, 2);
	jt_txn *a = txn_new(rt, 0);
	jt_txn *b = txn_new(rt, JT_TXN_NOWAIT);
	jt_txn *c = (jt_txn *)0x1;
	cr_assert_eq(jt_txn_begin(rt, JT_TXN_NOWAIT, &c), -EAGAIN);
	cr_assert_eq(jt_txn_begin(rt, JT_TXN_NOWAIT | JT_TXN_GROUPED, &c), -EAGAIN);
	struct jt_stats s;
	jt_runtime_stats(rt, &s);
	cr_assert_eq(s.txns_begun, 2, "a failed begin changed the counters");
	cr_assert_eq(live_txns(rt), 2);

	/* committed but not retired: still counts */
	cr_assert_eq(jt_txn_commit(a, NULL, NULL), 0);
	cr_assert_eq(jt_txn_begin(rt, JT_TXN_NOWAIT, &c), -EAGAIN);

	/* retired: room for one more */
	cr_assert_eq(jt_runtime_poll(rt, 0), 1);
	c = NULL;
	cr_assert_eq(jt_txn_begin(rt, JT_TXN_NOWAIT, &c), 0);
	cr_assert_not_null(c);
	jt_txn *d = NULL;
	cr_assert_eq(jt_txn_begin(rt, JT_TXN_NOWAIT, &d), -EAGAIN);
	cr_assert_eq(jt_txn_commit(b, NULL, NULL), 0);
	cr_assert_eq(jt_txn_commit(c, NULL, NULL), 0);
	cr_assert_eq(jt_runtime_poll(rt, 0), 2);
	rt_free(rt);
}

/* Every kind of retirement gives its slot back: a commit_wait txn, a failed
 * one, one with destroy callbacks, one with many members. */
Test(backpressure, every_retirement_releases_its_slot)
{
	struct mem m[20];
	int status = 1;
	tm_init_array(m, 20, NULL, "");
	jt_runtime *rt = rt_new(JT_RUNTIME_POLL, 0, 1);
	jt_txn *t = txn_new(rt, JT_TXN_NOWAIT);
	cr_assert_eq(jt_txn_commit_wait(t, -1, &status), 0);
	cr_assert_eq(status, 0);
	t = txn_new(rt, JT_TXN_NOWAIT); /* would be -EAGAIN had the slot leaked */
	tm_add(t, &m[0], &TM_OPS_NOPREP);
	tm_arm(&m[0]);
	cr_assert_eq(jt_txn_commit(t, NULL, NULL), 0);
	tm_complete(&m[0], -EIO);
	cr_assert_eq(jt_runtime_poll(rt, 0), 1);
	t = txn_new(rt, JT_TXN_NOWAIT);
	tm_add_array(t, &m[1], 19, &TM_OPS_NOPREP);
	cr_assert_eq(jt_txn_commit(t, NULL, NULL), 0);
	cr_assert_eq(jt_runtime_poll(rt, 0), 1);
	t = txn_new(rt, JT_TXN_NOWAIT);
	cr_assert_eq(jt_txn_commit(t, NULL, NULL), 0);
	cr_assert_eq(jt_runtime_poll(rt, 0), 1);
	rt_free(rt);
}

/* A slot is free as soon as its txn retired, within the same pass: B's
 * done, after A retired in the same poll, begins a txn with NOWAIT at
 * max_inflight 2 (found by the fuzzer when slots were given back only at
 * the end of a pass). */
static jt_runtime *g_slot_rt;
static int g_slot_err = 1;
static jt_txn *g_slot_txn;

static void begin_in_done(void *opaque, int status)
{
	(void)opaque;
	(void)status;
	g_slot_err = jt_txn_begin(g_slot_rt, JT_TXN_NOWAIT, &g_slot_txn);
}

Test(backpressure, a_slot_is_free_once_its_txn_retired_in_the_same_pass)
{
	jt_runtime *rt = g_slot_rt = rt_new(JT_RUNTIME_POLL, 0, 2);
	jt_txn *a = txn_new(rt, 0);
	jt_txn *b = txn_new(rt, 0);
	cr_assert_eq(jt_txn_commit(a, NULL, NULL), 0);
	cr_assert_eq(jt_txn_commit(b, begin_in_done, NULL), 0);
	cr_assert_eq(jt_runtime_poll(rt, 0), 2);
	cr_assert_eq(g_slot_err, 0, "begin in B's done after A retired: %d", g_slot_err);
	cr_assert_eq(jt_txn_commit(g_slot_txn, NULL, NULL), 0);
	cr_assert_eq(jt_runtime_poll(rt, 0), 1);
	rt_free(rt);
}

Test(backpressure, unbounded_by_default)
{
	enum { N = 200 };
	jt_runtime *rt = rt_poll_new();
	jt_txn *t[N];
	for (int i = 0; i < N; i++)
		cr_assert_eq(jt_txn_begin(rt, JT_TXN_NOWAIT, &t[i]), 0, "begin %d", i);
	for (int i = 0; i < N; i++)
		cr_assert_eq(jt_txn_commit(t[i], NULL, NULL), 0);
	cr_assert_eq(jt_runtime_poll(rt, 0), N);
	rt_free(rt);
}

struct blocker {
	jt_runtime *rt;
	atomic_int returned;
	int ret;
	jt_txn *t;
};

static void *blocking_begin(void *arg)
{
	struct blocker *b = arg;
	b->ret = jt_txn_begin(b->rt, 0, &b->t);
	atomic_store(&b->returned, 1);
	return NULL;
}

/* Starts a thread whose jt_txn_begin must block at max_inflight. */
static pthread_t start_blocked_begin(struct blocker *bl, jt_runtime *rt)
{
	pthread_t th;

	bl->rt = rt;
	bl->ret = 1;
	bl->t = NULL;
	atomic_init(&bl->returned, 0);
	cr_assert_eq(pthread_create(&th, NULL, blocking_begin, bl), 0);
	sleep_ms(50);
	cr_assert_eq(atomic_load(&bl->returned), 0, "begin did not block at max_inflight");
	return th;
}

Test(backpressure, blocking_begin_unblocks_when_a_txn_retires)
{
	struct mem m;
	tm_init(&m, NULL, "", 0);
	jt_runtime *rt = rt_new(0, 0, 2);
	jt_txn *a = txn_new(rt, 0);
	jt_txn *b = txn_new(rt, 0);
	tm_add(a, &m, &TM_OPS_NOPREP);
	tm_arm(&m);
	struct blocker bl;
	pthread_t th = start_blocked_begin(&bl, rt);

	/* committing does not free a slot; retiring does */
	cr_assert_eq(jt_txn_commit(a, NULL, NULL), 0);
	sleep_ms(30);
	cr_assert_eq(atomic_load(&bl.returned), 0, "a committed, unretired txn freed a slot");
	tm_complete(&m, 0);
	pthread_join(th, NULL);
	cr_assert_eq(bl.ret, 0);
	cr_assert_not_null(bl.t);
	cr_assert_eq(atomic_load(&m.n_destroy), 1);

	cr_assert_eq(jt_txn_commit(b, NULL, NULL), 0);
	cr_assert_eq(jt_txn_commit(bl.t, NULL, NULL), 0);
	cr_assert_eq(jt_runtime_drain(rt, SEC(30)), 0);
	rt_free(rt);
}

Test(backpressure, many_blocked_builders_all_proceed)
{
	enum { N = 6 };
	jt_runtime *rt = rt_new(0, 0, 1);
	jt_txn *a = txn_new(rt, 0);
	struct blocker bl[N];
	pthread_t th[N];
	for (int i = 0; i < N; i++) {
		bl[i] = (struct blocker){.rt = rt, .ret = 1};
		atomic_init(&bl[i].returned, 0);
		cr_assert_eq(pthread_create(&th[i], NULL, blocking_begin, &bl[i]), 0);
	}
	cr_assert_eq(jt_txn_commit(a, NULL, NULL), 0);
	/* each builder that gets in commits at once, letting the next one in */
	int done = 0;
	bool seen[N] = {false};
	for (int spins = 0; done < N && spins < 20000; spins++) {
		for (int i = 0; i < N; i++) {
			if (!seen[i] && atomic_load(&bl[i].returned)) {
				seen[i] = true;
				done++;
				cr_assert_eq(bl[i].ret, 0);
				cr_assert_eq(jt_txn_commit(bl[i].t, NULL, NULL), 0);
			}
		}
		sleep_ms(1);
	}
	cr_assert_eq(done, N);
	for (int i = 0; i < N; i++)
		pthread_join(th[i], NULL);
	cr_assert_eq(jt_runtime_drain(rt, SEC(30)), 0);
	struct jt_stats s;
	jt_runtime_stats(rt, &s);
	cr_assert_eq(s.txns_retired, N + 1);
	rt_free(rt);
}

/* On the dispatcher thread, begin at the limit returns -EAGAIN even
 * without JT_TXN_NOWAIT. */
static jt_runtime *g_rt;
static int g_begin_ret = 1;

static void begin_from_done(struct mem *m)
{
	(void)m;
	jt_txn *t = NULL;
	g_begin_ret = jt_txn_begin(g_rt, 0, &t);
	if (g_begin_ret == 0)
		jt_txn_commit(t, NULL, NULL);
}

Test(backpressure, dispatcher_never_blocks_in_begin)
{
	struct mem m;
	tm_init(&m, NULL, "", 0);
	m.on_done = begin_from_done;
	g_rt = rt_new(0, 0, 1);
	jt_txn *t = txn_new(g_rt, 0);
	tm_add(t, &m, &TM_OPS_NOPREP);
	/* its own txn is still in flight while its done runs: at the limit */
	cr_assert_eq(jt_txn_commit_wait(t, SEC(30), NULL), 0);
	cr_assert_eq(g_begin_ret, -EAGAIN);
	rt_free(g_rt);
}

Test(backpressure, poll_callback_never_blocks_in_begin)
{
	struct mem m;
	tm_init(&m, NULL, "", 0);
	m.on_done = begin_from_done;
	g_rt = rt_new(JT_RUNTIME_POLL, 0, 1);
	jt_txn *t = txn_new(g_rt, 0);
	tm_add(t, &m, &TM_OPS_NOPREP);
	cr_assert_eq(jt_txn_commit(t, NULL, NULL), 0);
	cr_assert_eq(jt_runtime_poll(g_rt, 0), 1);
	cr_assert_eq(g_begin_ret, -EAGAIN);
	rt_free(g_rt);
}

/* Below the limit, a callback may begin new txns. */
Test(backpressure, dispatcher_begin_below_limit_succeeds)
{
	struct mem m;
	tm_init(&m, NULL, "", 0);
	m.on_done = begin_from_done;
	g_rt = rt_new(0, 0, 2);
	jt_txn *t = txn_new(g_rt, 0);
	tm_add(t, &m, &TM_OPS_NOPREP);
	cr_assert_eq(jt_txn_commit_wait(t, SEC(30), NULL), 0);
	cr_assert_eq(g_begin_ret, 0);
	cr_assert_eq(jt_runtime_drain(g_rt, SEC(30)), 0);
	rt_free(g_rt);
}

/*
 * A begin blocked at max_inflight gets a slot in the middle of a dispatcher
 * pass: the dispatcher wakes slot waiters every 64 retirements, not only
 * when its queue runs empty. Queue: held_a, 64 ready txns, held_b; each
 * held txn's member done spins until released. Releasing held_a lets 65
 * txns retire while the pass goes on (the dispatcher then sits in held_b's
 * done): the blocked begin must return before held_b is released.
 */
struct held {
	atomic_int entered, release;
};

static void held_done(void *opaque, int ret, int status)
{
	struct held *h = opaque;

	(void)ret;
	(void)status;
	atomic_store(&h->entered, 1);
	while (!atomic_load(&h->release))
		sleep_ms(1);
}

static const struct jt_member_ops HELD_OPS = {.done = held_done};

static int wait_flag(atomic_int *flag, int ms)
{
	for (int i = 0; i < ms && !atomic_load(flag); i++)
		sleep_ms(1);
	return atomic_load(flag);
}

Test(backpressure, blocked_begin_woken_in_the_middle_of_a_pass)
{
	enum { READY = 64 };
	struct held a = {0}, b = {0};
	jt_runtime *rt = rt_new(0, 0, READY + 2);
	jt_txn *ta = txn_new(rt, 0), *tb;

	cr_assert_eq(jt_txn_add(ta, &HELD_OPS, &a, NULL), 0);
	cr_assert_eq(jt_txn_commit(ta, NULL, NULL), 0);
	cr_assert(wait_flag(&a.entered, 10000), "the dispatcher never ran held_a's done");
	for (int i = 0; i < READY; i++)
		cr_assert_eq(jt_txn_commit(txn_new(rt, 0), NULL, NULL), 0);
	tb = txn_new(rt, 0);
	cr_assert_eq(jt_txn_add(tb, &HELD_OPS, &b, NULL), 0);
	cr_assert_eq(jt_txn_commit(tb, NULL, NULL), 0);

	struct blocker bl;
	pthread_t th = start_blocked_begin(&bl, rt);

	atomic_store(&a.release, 1);
	cr_assert(wait_flag(&b.entered, 10000), "the dispatcher never reached held_b");
	int woken = wait_flag(&bl.returned, 10000);
	atomic_store(&b.release, 1);
	cr_assert(woken, "the blocked begin waited for the end of the dispatcher's pass");
	pthread_join(th, NULL);
	cr_assert_eq(bl.ret, 0);
	cr_assert_eq(jt_txn_commit(bl.t, NULL, NULL), 0);
	cr_assert_eq(jt_runtime_drain(rt, SEC(30)), 0);
	rt_free(rt);
}
