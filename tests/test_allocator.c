/*
 * The allocator hook: every internal allocation goes through it and is
 * returned (with its size) by destroy; an allocation failure makes exactly
 * the call that needed it fail with -ENOMEM, changing nothing.
 */
#include "test_util.h"

TestSuite(allocator, .timeout = 120);

/* Each block carries a 16-byte header with its size, to check that free()
 * gets the size passed to alloc(). */
struct counting {
	atomic_long allocs, frees;
	atomic_long bytes;
	atomic_long size_mismatch;
	atomic_long fail_at; /* 0 = never; else fail the Nth alloc call */
	atomic_long calls;
	atomic_long failures;
};

static void *c_alloc(void *ctx, size_t size)
{
	struct counting *c = ctx;
	long n = atomic_fetch_add(&c->calls, 1) + 1;
	long fail_at = atomic_load(&c->fail_at);
	if (fail_at && n == fail_at) {
		atomic_fetch_add(&c->failures, 1);
		return NULL;
	}
	unsigned char *p = malloc(size + 16);
	if (!p)
		return NULL;
	memcpy(p, &size, sizeof(size));
	atomic_fetch_add(&c->allocs, 1);
	atomic_fetch_add(&c->bytes, (long)size);
	return p + 16;
}

static void c_free(void *ctx, void *ptr, size_t size)
{
	struct counting *c = ctx;
	if (!ptr)
		return;
	unsigned char *p = (unsigned char *)ptr - 16;
	size_t got;
	memcpy(&got, p, sizeof(got));
	if (got != size)
		atomic_fetch_add(&c->size_mismatch, 1);
	atomic_fetch_add(&c->frees, 1);
	atomic_fetch_sub(&c->bytes, (long)got);
	free(p);
}

static void counting_init(struct counting *c, long fail_at)
{
	atomic_init(&c->allocs, 0);
	atomic_init(&c->frees, 0);
	atomic_init(&c->bytes, 0);
	atomic_init(&c->size_mismatch, 0);
	atomic_init(&c->fail_at, fail_at);
	atomic_init(&c->calls, 0);
	atomic_init(&c->failures, 0);
}

static int create_with(struct counting *c, unsigned flags, unsigned workers, jt_runtime **rt)
{
	struct jt_allocator a = {.alloc = c_alloc, .free = c_free, .ctx = c};
	struct jt_runtime_opts o;
	jt_runtime_opts_init(&o);
	o.flags = flags;
	o.workers = workers;
	o.allocator = &a; /* copied by create: goes out of scope on return */
	return jt_runtime_create(&o, rt);
}

static void assert_balanced(struct counting *c)
{
	cr_assert_eq(atomic_load(&c->allocs), atomic_load(&c->frees), "allocs %ld != frees %ld",
	             atomic_load(&c->allocs), atomic_load(&c->frees));
	cr_assert_eq(atomic_load(&c->bytes), 0, "%ld bytes leaked", atomic_load(&c->bytes));
	cr_assert_eq(atomic_load(&c->size_mismatch), 0, "free got another size than alloc");
}

static int add_job_fn(jt_job *j, void *arg)
{
	(void)j;
	return arg ? -EIO : 0;
}

static void workload(jt_runtime *rt, bool with_workers)
{
	enum { TX = 20, M = 100 };
	static struct mem m[M];
	for (int k = 0; k < TX; k++) {
		tm_init_array(m, M, NULL, "");
		jt_txn *t = txn_new(rt, k % 2 ? JT_TXN_GROUPED : 0);
		tm_add_array(t, m, M, &TM_OPS_NOPREP);
		for (int i = 0; i < M; i += 3) {
			if (with_workers && i % 2)
				cr_assert_eq(jt_job_submit(m[i].job, add_job_fn, NULL), 0);
			else {
				tm_arm(&m[i]);
				tm_complete(&m[i], i == 30 ? -EIO : 0);
			}
		}
		cr_assert_eq(jt_txn_commit_wait(t, SEC(60), NULL), 0);
		for (int i = 0; i < M; i++)
			cr_assert_eq(atomic_load(&m[i].n_destroy), 1);
	}
}

Test(allocator, counting_poll_mode_balances)
{
	struct counting c;
	counting_init(&c, 0);
	jt_runtime *rt = NULL;
	cr_assert_eq(create_with(&c, JT_RUNTIME_POLL, 0, &rt), 0);
	workload(rt, false);
	cr_assert_gt(atomic_load(&c.allocs), 0, "the allocator hook was never used");
	rt_free(rt);
	assert_balanced(&c);
}

Test(allocator, counting_threaded_with_workers_balances)
{
	struct counting c;
	counting_init(&c, 0);
	jt_runtime *rt = NULL;
	cr_assert_eq(create_with(&c, 0, 3, &rt), 0);
	workload(rt, true);
	cr_assert_gt(atomic_load(&c.allocs), 0);
	rt_free(rt);
	assert_balanced(&c);
}

Test(allocator, create_destroy_only_balances)
{
	struct counting c;
	counting_init(&c, 0);
	jt_runtime *rt = NULL;
	cr_assert_eq(create_with(&c, 0, 2, &rt), 0);
	rt_free(rt);
	assert_balanced(&c);
}

Test(allocator, allocator_without_functions_is_einval)
{
	struct jt_allocator a = {.alloc = NULL, .free = c_free, .ctx = NULL};
	struct jt_allocator b = {.alloc = c_alloc, .free = NULL, .ctx = NULL};
	struct jt_runtime_opts o;
	jt_runtime *rt = (jt_runtime *)0x1;
	jt_runtime_opts_init(&o);
	o.allocator = &a;
	cr_assert_eq(jt_runtime_create(&o, &rt), -EINVAL);
	o.allocator = &b;
	cr_assert_eq(jt_runtime_create(&o, &rt), -EINVAL);
}

/*
 * Fail the Nth allocation, N = 1, 2, ... until the whole scenario runs
 * without hitting it. Every call that fails must fail with -ENOMEM, change
 * nothing, and run no callback; retrying it then succeeds.
 */
enum { SCEN_MEMBERS = 100 };

struct fail_report {
	int create, begin, add, commit_wait;
};

static size_t members_of_only_txn(jt_runtime *rt)
{
	struct jt_txn_info i;
	cr_assert(first_txn_info(rt, &i));
	return i.members;
}

/* Returns true when the scenario ran without the injected failure. */
static bool scenario(long fail_at, struct fail_report *rep, unsigned flags, unsigned workers)
{
	struct counting c;
	struct rec r;
	static struct mem m[SCEN_MEMBERS];
	counting_init(&c, fail_at);
	rec_init(&r);
	tm_init_array(m, SCEN_MEMBERS, &r, "");

	jt_runtime *rt = (jt_runtime *)0x1;
	int ret = create_with(&c, flags, workers, &rt);
	if (ret != 0) {
		cr_assert_eq(ret, -ENOMEM, "N=%ld: create: %d", fail_at, ret);
		cr_assert_eq(atomic_load(&c.failures), 1);
		assert_balanced(&c); /* nothing left behind */
		rep->create++;
		ret = create_with(&c, flags, workers, &rt);
		cr_assert_eq(ret, 0, "N=%ld: create retry: %d", fail_at, ret);
	}

	struct jt_stats s0, s1;
	jt_runtime_stats(rt, &s0);
	jt_txn *t = NULL;
	ret = jt_txn_begin(rt, 0, &t);
	if (ret != 0) {
		cr_assert_eq(ret, -ENOMEM, "N=%ld: begin: %d", fail_at, ret);
		jt_runtime_stats(rt, &s1);
		cr_assert_eq(s1.txns_begun, s0.txns_begun, "failed begin counted");
		cr_assert_eq(live_txns(rt), 0, "failed begin left a txn");
		rep->begin++;
		ret = jt_txn_begin(rt, 0, &t);
		cr_assert_eq(ret, 0, "N=%ld: begin retry: %d", fail_at, ret);
	}

	for (int i = 0; i < SCEN_MEMBERS; i++) {
		jt_job *j = NULL;
		ret = jt_txn_add(t, &TM_OPS, &m[i], &j);
		if (ret != 0) {
			cr_assert_eq(ret, -ENOMEM, "N=%ld: add %d: %d", fail_at, i, ret);
			cr_assert_eq(members_of_only_txn(rt), (size_t)i,
			             "failed add changed the member count");
			rep->add++;
			ret = jt_txn_add(t, &TM_OPS, &m[i], &j);
			cr_assert_eq(ret, 0, "N=%ld: add %d retry: %d", fail_at, i, ret);
		}
		cr_assert_not_null(j);
		m[i].job = j;
		cr_assert_eq(members_of_only_txn(rt), (size_t)i + 1);
		if (i % 4 == 0) {
			cr_assert_eq(jt_job_arm(j), 0);
			cr_assert_eq(jt_job_complete(j, i == 40 ? -EIO : 0), 0);
		}
	}

	int st = 1;
	ret = jt_txn_commit_wait(t, SEC(30), &st);
	if (ret == -ENOMEM) {
		/* nothing happened: the txn is still the builder's */
		REC_EQ(&r, "");
		struct jt_txn_info i;
		cr_assert(first_txn_info(rt, &i));
		cr_assert_eq(i.state, JT_TXN_OPEN);
		cr_assert_eq(i.members, SCEN_MEMBERS);
		rep->commit_wait++;
		ret = jt_txn_commit_wait(t, SEC(30), &st);
	}
	cr_assert_eq(ret, 0, "N=%ld: commit_wait: %d", fail_at, ret);
	cr_assert_eq(st, -EIO);
	for (int i = 0; i < SCEN_MEMBERS; i++) {
		cr_assert_eq(atomic_load(&m[i].n_prepare), 1, "N=%ld member %d", fail_at, i);
		cr_assert_eq(atomic_load(&m[i].n_done), 1, "N=%ld member %d", fail_at, i);
		cr_assert_eq(atomic_load(&m[i].n_destroy), 1, "N=%ld member %d", fail_at, i);
	}
	rt_free(rt);
	assert_balanced(&c);
	return atomic_load(&c.failures) == 0;
}

static void fail_nth_loop(unsigned flags, unsigned workers)
{
	struct fail_report rep = {0};
	long n;
	bool clean = false;
	for (n = 1; n < 20000 && !clean; n++)
		clean = scenario(n, &rep, flags, workers);
	cr_assert(clean, "the scenario never ran without hitting the injected failure");
	cr_log_info("allocations in scenario: %ld; -ENOMEM seen: create %d, begin %d, add %d, "
	            "commit_wait %d",
	            n - 2, rep.create, rep.begin, rep.add, rep.commit_wait);
	cr_assert_gt(n, 2, "the scenario made no allocation through the hook");
	cr_assert_gt(rep.add, 0, "%d members never needed an allocation in jt_txn_add",
	             SCEN_MEMBERS);
}

Test(allocator, fail_nth_allocation_poll_mode)
{
	fail_nth_loop(JT_RUNTIME_POLL, 0);
}

Test(allocator, fail_nth_allocation_threaded)
{
	fail_nth_loop(0, 0);
}

/* The same with a worker pool: its allocation in create fails in turn too. */
Test(allocator, fail_nth_allocation_with_workers)
{
	fail_nth_loop(0, 2);
}

/* jt_job_complete never allocates. */
Test(allocator, complete_does_not_allocate)
{
	enum { M = 64 };
	struct counting c;
	static struct mem m[M];
	counting_init(&c, 0);
	tm_init_array(m, M, NULL, "");
	jt_runtime *rt = NULL;
	cr_assert_eq(create_with(&c, JT_RUNTIME_POLL, 0, &rt), 0);
	jt_txn *t = txn_new(rt, JT_TXN_GROUPED);
	tm_add_array(t, m, M, &TM_OPS_NOPREP);
	for (int i = 0; i < M; i++)
		tm_arm(&m[i]);
	cr_assert_eq(jt_txn_commit(t, NULL, NULL), 0);
	long before = atomic_load(&c.calls);
	tm_complete(&m[5], -EIO); /* failing: cancel requests become pending */
	for (int i = 0; i < M; i++)
		if (i != 5)
			tm_complete(&m[i], 0);
	cr_assert_eq(atomic_load(&c.calls), before, "jt_job_complete allocated");
	cr_assert_eq(jt_runtime_poll(rt, 0), 1);
	rt_free(rt);
	assert_balanced(&c);
}
