/*
 * The built-in worker pool: jt_job_submit arms the job and runs fn on a
 * "jt-worker-N" thread; the job completes with fn's return value.
 */
#include "test_util.h"

#include <ctype.h>

TestSuite(pool, .timeout = 60);

struct work {
	int idx;
	int ret;
	char tname[16];
	pthread_t thread;
	atomic_int runs;
	int payload;
};

static int work_fn(jt_job *j, void *arg)
{
	struct work *w = arg;
	(void)j;
	w->thread = pthread_self();
	pthread_getname_np(pthread_self(), w->tname, sizeof(w->tname));
	w->payload = w->idx * 3 + 1; /* plain write, read in done */
	atomic_fetch_add(&w->runs, 1);
	return w->ret;
}

static bool is_worker_name(const char *n)
{
	const char *p = "jt-worker-";
	if (strncmp(n, p, strlen(p)) != 0)
		return false;
	n += strlen(p);
	if (!*n)
		return false;
	for (; *n; n++)
		if (!isdigit((unsigned char)*n))
			return false;
	return true;
}

static struct work *g_works;

static void check_payload_in_done(struct mem *m)
{
	if (g_works[m->idx].payload != m->idx * 3 + 1)
		atomic_store(&m->cb_err, 2);
}

static void run_pool(unsigned flags)
{
	enum { N = 64 };
	struct mem m[N];
	struct work w[N];
	g_works = w;
	tm_init_array(m, N, NULL, "");
	memset(w, 0, sizeof(w));
	jt_runtime *rt = rt_new(flags, 4, 0);
	jt_txn *t = txn_new(rt, 0);
	tm_add_array(t, m, N, &TM_OPS_NOPREP);
	for (int i = 0; i < N; i++) {
		w[i].idx = i;
		w[i].ret = i % 5 == 2 ? -EIO : 0;
		atomic_init(&w[i].runs, 0);
		m[i].on_done = check_payload_in_done;
		cr_assert_eq(jt_job_submit(m[i].job, work_fn, &w[i]), 0);
	}
	int st = 0;
	cr_assert_eq(jt_txn_commit_wait(t, SEC(30), &st), 0);
	cr_assert_eq(st, -EIO);
	for (int i = 0; i < N; i++) {
		cr_assert_eq(atomic_load(&w[i].runs), 1, "fn %d ran %d times", i,
		             atomic_load(&w[i].runs));
		cr_assert(is_worker_name(w[i].tname), "fn ran on thread '%s'", w[i].tname);
		cr_assert_not(pthread_equal(w[i].thread, pthread_self()));
		cr_assert_eq(m[i].done_ret, w[i].ret, "member %d: done ret %d, fn returned %d", i,
		             m[i].done_ret, w[i].ret);
		cr_assert_eq(atomic_load(&m[i].cb_err), 0, "fn's writes not visible in done (%d)",
		             i);
		if (flags & JT_RUNTIME_POLL)
			cr_assert(pthread_equal(m[i].done_thread, pthread_self()));
		else
			cr_assert_str_eq(m[i].done_tname, "jt-dispatch");
	}
	rt_free(rt);
}

Test(pool, submit_runs_on_worker_threaded)
{
	run_pool(0);
}

Test(pool, submit_runs_on_worker_poll_mode)
{
	run_pool(JT_RUNTIME_POLL);
}

Test(pool, submit_without_workers_is_enotsup)
{
	struct mem m;
	struct work w;
	memset(&w, 0, sizeof(w));
	atomic_init(&w.runs, 0);
	tm_init(&m, NULL, "", 0);
	jt_runtime *rt = rt_poll_new();
	jt_txn *t = txn_new(rt, 0);
	tm_add(t, &m, &TM_OPS_NOPREP);
	cr_assert_eq(jt_job_submit(m.job, work_fn, &w), -ENOTSUP);
	cr_assert_eq(atomic_load(&w.runs), 0);
	/* nothing changed: the job is not armed */
	struct jt_txn_info i;
	cr_assert(first_txn_info(rt, &i));
	cr_assert_eq(i.jobs_pending, 0);
	tm_arm(&m);
	tm_complete(&m, 0);
	cr_assert_eq(jt_txn_commit(t, NULL, NULL), 0);
	cr_assert_eq(jt_runtime_poll(rt, 0), 1);
	rt_free(rt);
}

Test(pool, submit_on_armed_job_is_ealready)
{
	struct mem m;
	struct work w;
	memset(&w, 0, sizeof(w));
	atomic_init(&w.runs, 0);
	tm_init(&m, NULL, "", 0);
	jt_runtime *rt = rt_new(0, 1, 0);
	jt_txn *t = txn_new(rt, 0);
	tm_add(t, &m, &TM_OPS_NOPREP);
	tm_arm(&m);
	cr_assert_eq(jt_job_submit(m.job, work_fn, &w), -EALREADY);
	sleep_ms(10);
	cr_assert_eq(atomic_load(&w.runs), 0, "fn ran for a rejected submit");
	tm_complete(&m, 0);
	cr_assert_eq(jt_txn_commit_wait(t, SEC(30), NULL), 0);
	rt_free(rt);
}

/* submit from inside prepare: "as jt_job_arm". */
static struct work g_w;

static void submit_in_prepare(struct mem *m, jt_job *job)
{
	(void)m;
	if (jt_job_submit(job, work_fn, &g_w) != 0)
		atomic_store(&m->cb_err, 1);
}

Test(pool, submit_inside_prepare)
{
	struct mem m;
	memset(&g_w, 0, sizeof(g_w));
	atomic_init(&g_w.runs, 0);
	g_w.ret = -ENOSPC;
	tm_init(&m, NULL, "", 0);
	m.on_prepare = submit_in_prepare;
	jt_runtime *rt = rt_new(0, 2, 0);
	jt_txn *t = txn_new(rt, 0);
	tm_add(t, &m, NULL);
	int st = 0;
	cr_assert_eq(jt_txn_commit_wait(t, SEC(30), &st), 0);
	cr_assert_eq(atomic_load(&m.cb_err), 0);
	cr_assert_eq(st, -ENOSPC);
	cr_assert_eq(m.done_ret, -ENOSPC);
	cr_assert_eq(atomic_load(&g_w.runs), 1);
	rt_free(rt);
}

/* Every worker gets a distinct jt-worker-N name. */
static pthread_barrier_t g_bar;

static int barrier_fn(jt_job *j, void *arg)
{
	(void)j;
	struct work *w = arg;
	pthread_getname_np(pthread_self(), w->tname, sizeof(w->tname));
	pthread_barrier_wait(&g_bar); /* all workers busy at once */
	return 0;
}

Test(pool, workers_have_distinct_names)
{
	enum { W = 3 };
	struct mem m[W];
	struct work w[W];
	memset(w, 0, sizeof(w));
	tm_init_array(m, W, NULL, "");
	pthread_barrier_init(&g_bar, NULL, W);
	jt_runtime *rt = rt_new(0, W, 0);
	jt_txn *t = txn_new(rt, 0);
	tm_add_array(t, m, W, &TM_OPS_NOPREP);
	for (int i = 0; i < W; i++)
		cr_assert_eq(jt_job_submit(m[i].job, barrier_fn, &w[i]), 0);
	cr_assert_eq(jt_txn_commit_wait(t, SEC(30), NULL), 0);
	for (int a = 0; a < W; a++) {
		cr_assert(is_worker_name(w[a].tname), "'%s'", w[a].tname);
		for (int b = a + 1; b < W; b++)
			cr_assert_str_neq(w[a].tname, w[b].tname);
	}
	rt_free(rt);
	pthread_barrier_destroy(&g_bar);
}

/* A first job that blocks until the others of its batch ran: they are
 * stolen from its worker (they all travel as one chain, flushed at the
 * commit), or the txn never retires. */
struct blocker {
	atomic_int others;
	int need;
};

static int wait_for_others(jt_job *j, void *arg)
{
	struct blocker *b = arg;
	uint64_t end = now_ns() + SEC(20);
	(void)j;
	while (atomic_load(&b->others) < b->need && now_ns() < end)
		sched_yield();
	return atomic_load(&b->others) == b->need ? 0 : -ETIMEDOUT;
}

static int count_other(jt_job *j, void *arg)
{
	struct blocker *b = arg;
	(void)j;
	atomic_fetch_add(&b->others, 1);
	return 0;
}

Test(pool, blocked_first_job_does_not_hold_its_batch)
{
	enum { N = 8 };
	struct mem m[N];
	struct blocker b = {.need = N - 1};
	int status = 1;
	atomic_init(&b.others, 0);
	tm_init_array(m, N, NULL, "");
	jt_runtime *rt = rt_new(0, 3, 0);
	jt_txn *t = txn_new(rt, 0);
	tm_add_array(t, m, N, &TM_OPS_NOPREP);
	cr_assert_eq(jt_job_submit(m[0].job, wait_for_others, &b), 0);
	for (int i = 1; i < N; i++)
		cr_assert_eq(jt_job_submit(m[i].job, count_other, &b), 0);
	cr_assert_eq(jt_txn_commit_wait(t, SEC(30), &status), 0);
	cr_assert_eq(status, 0, "the first job gave up waiting for the others");
	rt_free(rt);
}

/*
 * The idle protocol (worker_pool.c): after a gap (none, shorter than a
 * wake-up, long enough for both workers to sleep), two jobs sent one at a
 * time (submit_batch 1) to the two workers, the first blocking until the
 * second ran: some worker must take the second while the first blocks
 * (its owner woken by the submitter, or the searcher, or a worker woken by
 * the searcher that took the first), or the first gives up and the txn
 * fails. Each wake rule alone is redundant here (removing one still passed
 * this test); tests/model/pool.pml checks the rules one by one.
 */
Test(pool, a_job_for_a_sleeping_worker_runs_while_the_other_blocks)
{
	static const long gap_us[] = {0, 100, 2000};
	struct jt_runtime_opts o;
	jt_runtime *rt;

	jt_runtime_opts_init(&o);
	o.workers = 2;
	o.submit_batch = 1;
	cr_assert_eq(jt_runtime_create(&o, &rt), 0);
	for (int round = 0; round < 60; round++) {
		struct mem m[2];
		struct blocker b = {.need = 1};
		int status = 1;

		atomic_init(&b.others, 0);
		struct timespec gap = {.tv_sec = 0, .tv_nsec = gap_us[round % 3] * 1000};

		nanosleep(&gap, NULL);
		tm_init_array(m, 2, NULL, "");
		jt_txn *t = txn_new(rt, 0);
		tm_add_array(t, m, 2, &TM_OPS_NOPREP);
		cr_assert_eq(jt_job_submit(m[0].job, wait_for_others, &b), 0);
		cr_assert_eq(jt_job_submit(m[1].job, count_other, &b), 0);
		cr_assert_eq(jt_txn_commit_wait(t, SEC(30), &status), 0);
		cr_assert_eq(status, 0, "round %d (gap %ld us): the second job never ran", round,
		             gap_us[round % 3]);
	}
	rt_free(rt);
}

/* A full batch goes before the commit: of 2B jobs, at least B (a whole
 * batch, besides any job sent alone to a sleeping worker) run before the
 * txn is committed; the rest go at the commit. */
static int count_run(jt_job *j, void *arg)
{
	(void)j;
	atomic_fetch_add((atomic_int *)arg, 1);
	return 0;
}

Test(pool, a_full_batch_goes_before_the_commit)
{
	enum { B = 4 };
	struct mem m[2 * B];
	struct jt_runtime_opts o;
	jt_runtime *rt;
	atomic_int ran;
	atomic_init(&ran, 0);
	tm_init_array(m, 2 * B, NULL, "");
	jt_runtime_opts_init(&o);
	o.workers = 2;
	o.submit_batch = B;
	cr_assert_eq(jt_runtime_create(&o, &rt), 0);
	jt_txn *t = txn_new(rt, 0);
	tm_add_array(t, m, 2 * B, &TM_OPS_NOPREP);
	for (int i = 0; i < 2 * B; i++)
		cr_assert_eq(jt_job_submit(m[i].job, count_run, &ran), 0);
	cr_assert(wait_atomic_geq(&ran, B), "a full batch waited for the commit");
	cr_assert_eq(jt_txn_commit_wait(t, SEC(20), NULL), 0);
	cr_assert_eq(atomic_load(&ran), 2 * B);
	rt_free(rt);
}

Test(pool, submit_batch_out_of_range_is_einval)
{
	struct jt_runtime_opts o;
	jt_runtime *rt = NULL;
	jt_runtime_opts_init(&o);
	o.workers = 1;
	o.submit_batch = 1025;
	cr_assert_eq(jt_runtime_create(&o, &rt), -EINVAL);
	cr_assert_null(rt);
}
