/*
 * The ring allocates through its runtime's jt_allocator (the ring, its
 * operation records, its own txn) and gives everything back; failing
 * every allocation in turn makes exactly the call that needed it fail
 * with -ENOMEM and change nothing, and leaks nothing (ASan checks too).
 */
#include "uring_test_util.h"

TestSuite(uring_alloc, .timeout = 120);

/* A block: [size][payload]; free checks the size it gets. */
struct ledger {
	atomic_long calls, live, bad_size, failures;
	long fail_at; /* 0 = never; else fail the Nth alloc call */
};

static void *l_alloc(void *ctx, size_t size)
{
	struct ledger *l = ctx;
	long n = atomic_fetch_add(&l->calls, 1) + 1;
	if (l->fail_at != 0 && n == l->fail_at) {
		atomic_fetch_add(&l->failures, 1);
		return NULL;
	}
	size_t *p = malloc(size + 16);
	if (p == NULL)
		return NULL;
	*p = size;
	atomic_fetch_add(&l->live, 1);
	return (char *)p + 16;
}

static void l_free(void *ctx, void *ptr, size_t size)
{
	struct ledger *l = ctx;
	if (ptr == NULL)
		return;
	size_t *p = (size_t *)((char *)ptr - 16);
	if (*p != size)
		atomic_fetch_add(&l->bad_size, 1);
	atomic_fetch_sub(&l->live, 1);
	free(p);
}

static int rt_with(struct ledger *l, unsigned flags, jt_runtime **rt)
{
	struct jt_allocator a = {.alloc = l_alloc, .free = l_free, .ctx = l};
	struct jt_runtime_opts o;
	jt_runtime_opts_init(&o);
	o.flags = flags;
	o.allocator = &a;
	return jt_runtime_create(&o, rt);
}

static int ring_with(jt_runtime *rt, unsigned flags, jt_uring **u)
{
	struct jt_uring_opts o;
	jt_uring_opts_init(&o);
	o.flags = flags;
	o.entries = 8;
	return jt_uring_create(rt, &o, u);
}

Test(uring_alloc, the_ring_allocates_through_the_hook_and_gives_everything_back)
{
	struct ledger l = {0};
	jt_runtime *rt = NULL;
	struct mem m[16];
	struct io_uring_sqe *sqe;
	int st = 1;

	cr_assert_eq(rt_with(&l, 0, &rt), 0);
	long before = atomic_load(&l.calls);
	jt_uring *u = NULL;
	int r = ring_with(rt, 0, &u);
	if (r == -ENOSYS || r == -EPERM) {
		rt_free(rt);
		cr_skip_test("io_uring unavailable here");
	}
	cr_assert_eq(r, 0);
	cr_assert_gt(atomic_load(&l.calls), before, "the ring did not allocate through the hook");
	before = atomic_load(&l.calls);
	jt_txn *t = txn_new(rt, 0);
	tm_init_array(m, 16, NULL, "");
	for (int i = 0; i < 16; i++) {
		tm_add(t, &m[i], &TM_OPS_NOPREP);
		ur_prep(u, m[i].job, NULL, NULL, &sqe);
		io_uring_prep_nop(sqe);
		if (i % 8 == 7)
			cr_assert_eq(jt_uring_submit(u), 8);
	}
	cr_assert_gt(atomic_load(&l.calls), before + 8, "operation records not from the hook");
	cr_assert_eq(jt_txn_commit_wait(t, SEC(20), &st), 0);
	ur_free(u);
	rt_free(rt);
	cr_assert_eq(atomic_load(&l.live), 0, "%ld blocks leaked", atomic_load(&l.live));
	cr_assert_eq(atomic_load(&l.bad_size), 0, "free got another size than alloc");
}

/* The txn with `members` members (the ring's own has none). */
struct find {
	size_t members;
	struct jt_txn_info info;
	bool found;
};

static int find_cb(const struct jt_txn_info *i, void *arg)
{
	struct find *f = arg;
	if (i->members != f->members)
		return 0;
	f->info = *i;
	f->found = true;
	return 1;
}

static size_t jobs_armed(jt_runtime *rt, size_t members)
{
	struct find f = {.members = members};
	jt_runtime_foreach_txn(rt, find_cb, &f);
	cr_assert(f.found);
	return f.info.jobs_pending;
}

struct report {
	int rt_create, ring_create, begin, add, prep, commit;
};

enum { SM = 3 };

/* One scenario with the Nth allocation failing; true when none failed. */
static bool scenario(long fail_at, unsigned rt_flags, unsigned ring_flags, struct report *rep)
{
	static const char data[] = "allocator scenario";
	static char rbuf[sizeof(data)];
	struct ledger l = {.fail_at = fail_at};
	struct mem m[SM];
	struct io_uring_sqe *sqe = NULL;
	struct jt_stats s0, s1;
	struct tctx c;
	atomic_int retired = 0;
	jt_runtime *rt = NULL;
	jt_uring *u = NULL;
	jt_txn *t = NULL;
	int p[2], r;

	cr_assert_eq(pipe(p), 0);
	if ((r = rt_with(&l, rt_flags, &rt)) != 0) {
		cr_assert_eq(r, -ENOMEM, "N=%ld: runtime create: %d", fail_at, r);
		cr_assert_eq(atomic_load(&l.live), 0);
		rep->rt_create++;
		cr_assert_eq(rt_with(&l, rt_flags, &rt), 0);
	}
	jt_runtime_stats(rt, &s0);
	long live = atomic_load(&l.live);
	if ((r = ring_with(rt, ring_flags, &u)) != 0) {
		if (r == -ENOSYS || r == -EPERM) {
			rt_free(rt);
			cr_skip_test("io_uring unavailable here");
		}
		cr_assert_eq(r, -ENOMEM, "N=%ld: ring create: %d", fail_at, r);
		cr_assert_eq(atomic_load(&l.live), live, "N=%ld: a failed create kept memory",
		             fail_at);
		jt_runtime_stats(rt, &s1);
		cr_assert_eq(s1.txns_begun, s0.txns_begun, "N=%ld: a failed create began", fail_at);
		rep->ring_create++;
		cr_assert_eq(ring_with(rt, ring_flags, &u), 0);
	}
	if ((r = jt_txn_begin(rt, JT_TXN_GROUPED, &t)) != 0) {
		cr_assert_eq(r, -ENOMEM, "N=%ld: begin: %d", fail_at, r);
		rep->begin++;
		cr_assert_eq(jt_txn_begin(rt, JT_TXN_GROUPED, &t), 0);
	}
	tm_init_array(m, SM, NULL, "");
	for (int i = 0; i < SM; i++) {
		if ((r = jt_txn_add(t, &TM_OPS_NOPREP, &m[i], &m[i].job)) != 0) {
			cr_assert_eq(r, -ENOMEM, "N=%ld: add: %d", fail_at, r);
			rep->add++;
			cr_assert_eq(jt_txn_add(t, &TM_OPS_NOPREP, &m[i], &m[i].job), 0);
		}
	}
	for (int i = 0; i < SM; i++) {
		sqe = NULL;
		if ((r = jt_uring_prep(u, m[i].job, NULL, NULL, &sqe)) != 0) {
			cr_assert_eq(r, -ENOMEM, "N=%ld: prep %d: %d", fail_at, i, r);
			cr_assert_null(sqe);
			cr_assert_eq(jobs_armed(rt, SM), (size_t)i, "N=%ld: a failed prep armed",
			             fail_at);
			rep->prep++;
			cr_assert_eq(jt_uring_prep(u, m[i].job, NULL, NULL, &sqe), 0);
		}
		if (i == 0) {
			io_uring_prep_write(sqe, p[1], data, sizeof(data), 0);
			sqe->flags |= IOSQE_IO_LINK;
		} else if (i == 1) {
			io_uring_prep_read(sqe, p[0], rbuf, sizeof(rbuf), 0);
		} else {
			io_uring_prep_nop(sqe);
		}
	}
	cr_assert_eq(jt_uring_submit(u), SM);
	tctx_init(&c, NULL, "");
	c.user = &retired;
	if ((r = jt_txn_commit(t, ur_flag_done, &c)) != 0)
		cr_assert_fail("N=%ld: commit: %d", fail_at, r);
	if (ring_flags & JT_URING_POLL)
		ur_drive(rt, u, &retired, SEC(20));
	else if (rt_flags & JT_RUNTIME_POLL)
		ur_drive(rt, NULL, &retired, SEC(20));
	else
		cr_assert_eq(jt_runtime_drain(rt, SEC(20)), 0);
	cr_assert_eq(c.status, 0, "N=%ld: status %d", fail_at, c.status);
	cr_assert_eq(memcmp(rbuf, data, sizeof(data)), 0);
	for (int i = 0; i < SM; i++)
		cr_assert_eq(atomic_load(&m[i].n_done), 1);
	ur_free(u);
	rt_free(rt);
	cr_assert_eq(atomic_load(&l.live), 0, "N=%ld: %ld blocks leaked", fail_at,
	             atomic_load(&l.live));
	cr_assert_eq(atomic_load(&l.bad_size), 0);
	close(p[0]);
	close(p[1]);
	return atomic_load(&l.failures) == 0;
}

static void fail_every_site(unsigned rt_flags, unsigned ring_flags)
{
	struct report rep = {0};
	bool clean = false;
	long n;

	for (n = 1; n < 5000 && !clean; n++)
		clean = scenario(n, rt_flags, ring_flags, &rep);
	cr_assert(clean, "the scenario never ran without the injected failure");
	cr_log_info("%ld allocations; -ENOMEM from runtime create %d, ring create %d, begin %d, "
	            "add %d, prep %d",
	            n - 2, rep.rt_create, rep.ring_create, rep.begin, rep.add, rep.prep);
	cr_assert_geq(rep.ring_create, 2, "ring create: the ring and its txn both allocate");
	cr_assert_geq(rep.prep, 1, "prep never allocated an operation record");
}

Test(uring_alloc, every_allocation_site_fails_in_turn_threaded)
{
	fail_every_site(0, 0);
}

Test(uring_alloc, every_allocation_site_fails_in_turn_poll_mode)
{
	fail_every_site(JT_RUNTIME_POLL, JT_URING_POLL);
}
