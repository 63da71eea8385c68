/*
 * tbb_peer.cc - the pool workload on oneTBB, what a C++ user would write
 * today: a task_arena of T worker threads (none reserved for the caller),
 * one task per job, and a countdown in each txn whose last task runs the
 * txn's callbacks inline, on that worker: the member dones, the txn done,
 * the destroys, then (until the time is up) the next txn. That is less work
 * than jobtxn's contract (no hand-off to one callback thread, callbacks of
 * different txns may run at once), so the peer is not weakened.
 *
 * Two ways to give TBB a job, JT_BENCH_TBB_MODE picks one (default "run",
 * the faster on the 2-vCPU VM: docs/performance.md):
 *   run      task_group::run from inside the arena: the txn's tasks go to
 *            the submitting worker's own deque, the others steal them;
 *   enqueue  task_arena::enqueue per job: the arena's shared FIFO.
 * At most POOL_MAX_INFLIGHT txns are in flight, as for jobtxn's
 * max_inflight: the bench thread enqueues the first ones, each finished
 * txn starts the next. Checked at the end: every txn's done ran once (count
 * and id sums), every member's done and destroy once.
 */
#include <oneapi/tbb/enumerable_thread_specific.h>
#include <oneapi/tbb/global_control.h>
#include <oneapi/tbb/task_arena.h>
#include <oneapi/tbb/task_group.h>

#include <atomic>
#include <cstdlib>
#include <cstring>

/* The C headers' C11 keywords, in C++ */
#define _Noreturn [[noreturn]]
#define _Thread_local thread_local
extern "C" {
#include "bench.h"
#include "bench_verify.h"
}

namespace
{

struct counts {
	uint64_t txns = 0, id_sum = 0, id_sq_sum = 0, members = 0, destroys = 0;
};

struct tbb_run;

struct tbb_txn {
	tbb_run *run;
	uint64_t id;
	std::atomic<unsigned> left; /* jobs not yet run */
};

struct tbb_run {
	oneapi::tbb::task_arena *arena;
	oneapi::tbb::task_group group;
	bool enqueue;
	unsigned jobs_per_txn;
	uint64_t deadline_ns;
	std::atomic<uint64_t> next_id{0};
	std::atomic<unsigned> live{0}; /* txns in flight */
	std::atomic<bool> all_done{false};
	oneapi::tbb::enumerable_thread_specific<counts> seen;
};

/* The callbacks, called as jobtxn's are (out of line, one call each). */
__attribute__((noinline)) void member_done(counts &c, uint64_t id)
{
	(void)id;
	c.members++;
}
__attribute__((noinline)) void txn_done(counts &c, uint64_t id)
{
	c.txns++;
	c.id_sum += id;
	c.id_sq_sum += id * id;
}
__attribute__((noinline)) void destroy(counts &c, uint64_t id)
{
	(void)id;
	c.destroys++;
}

/* The trivial job (pool_fn's TBB twin). */
__attribute__((noinline)) int job_fn(tbb_txn *t)
{
	(void)t;
	return 0;
}

void submit_txn(tbb_run *r);

void finish_txn(tbb_txn *t)
{
	tbb_run *r = t->run;
	counts &c = r->seen.local();

	for (unsigned g = 0; g < r->jobs_per_txn; g++)
		member_done(c, t->id);
	txn_done(c, t->id);
	for (unsigned g = 0; g < r->jobs_per_txn; g++)
		destroy(c, t->id);
	std::free(t);
	if (bench_now_ns() < r->deadline_ns) {
		submit_txn(r);
		return;
	}
	/* acq_rel: the last txn's counts are visible to the bench thread,
	 * which acquires all_done. */
	if (r->live.fetch_sub(1, std::memory_order_acq_rel) == 1) {
		r->all_done.store(true, std::memory_order_release);
		r->all_done.notify_one();
	}
}

void run_job(tbb_txn *t)
{
	if (job_fn(t) != 0)
		std::abort();
	/* acq_rel: the last decrement sees every job's effects. */
	if (t->left.fetch_sub(1, std::memory_order_acq_rel) == 1)
		finish_txn(t);
}

/* Inside the arena (a worker, or the first enqueued task). */
void submit_txn(tbb_run *r)
{
	tbb_txn *t = static_cast<tbb_txn *>(std::malloc(sizeof(tbb_txn)));

	if (!t)
		bench_fatal(__FILE__, __LINE__, "malloc", -ENOMEM);
	t->run = r;
	t->id = r->next_id.fetch_add(1, std::memory_order_relaxed);
	new (&t->left) std::atomic<unsigned>(r->jobs_per_txn);
	for (unsigned g = 0; g < r->jobs_per_txn; g++) {
		if (r->enqueue)
			r->arena->enqueue([t] { run_job(t); });
		else
			r->group.run([t] { run_job(t); });
	}
}

void tbb_peer_pool(const struct wl_params *p, struct run_result *out)
{
	const char *mode = std::getenv("JT_BENCH_TBB_MODE");
	/* T workers, and room for the bench thread's own slot in the market */
	oneapi::tbb::global_control gc(oneapi::tbb::global_control::max_allowed_parallelism,
	                               p->threads + 1);
	oneapi::tbb::task_arena arena((int)p->threads, 0);
	tbb_run r;
	counts sum;
	struct expect e = {};
	uint64_t t0;

	chk_reset(p->group);
	r.arena = &arena;
	r.enqueue = mode != nullptr && std::strcmp(mode, "enqueue") == 0;
	r.jobs_per_txn = p->group;
	r.live.store(POOL_MAX_INFLIGHT, std::memory_order_relaxed);
	arena.initialize();
	t0 = bench_now_ns();
	r.deadline_ns = t0 + (uint64_t)(p->seconds * 1e9);
	arena.enqueue([&r] {
		for (unsigned i = 0; i < POOL_MAX_INFLIGHT; i++)
			submit_txn(&r);
	});
	while (!r.all_done.load(std::memory_order_acquire))
		r.all_done.wait(false, std::memory_order_acquire);
	out->elapsed_ns = bench_now_ns() - t0;
	arena.execute([&r] { r.group.wait(); });
	for (const counts &c : r.seen) {
		sum.txns += c.txns;
		sum.id_sum += c.id_sum;
		sum.id_sq_sum += c.id_sq_sum;
		sum.members += c.members;
		sum.destroys += c.destroys;
	}
	/* What was issued: ids 0 .. next_id - 1, G jobs each. */
	for (uint64_t id = 0; id < r.next_id.load(std::memory_order_relaxed); id++)
		expect_add(&e, id, p->group);
	if (sum.txns != e.txns || sum.id_sum != e.id_sum || sum.id_sq_sum != e.id_sq_sum)
		fail(out, p, "tbb: txn done ran %llu times for %llu txns",
		     (unsigned long long)sum.txns, (unsigned long long)e.txns);
	if (sum.members != e.jobs || sum.destroys != e.jobs)
		fail(out, p, "tbb: member done ran %llu times, destroy %llu, for %llu members",
		     (unsigned long long)sum.members, (unsigned long long)sum.destroys,
		     (unsigned long long)e.jobs);
	out->ops = e.txns * p->group;
	out->txns = e.txns;
	if (out->elapsed_ns && out->ops)
		out->ops_per_s = (double)out->ops * 1e9 / (double)out->elapsed_ns;
}

} // namespace

/* Only the name and the pool: the other members are the C peers' (NULL). */
static struct bench_impl make_impl()
{
	struct bench_impl impl;

	std::memset(&impl, 0, sizeof(impl));
	impl.name = "tbb";
	impl.pool = tbb_peer_pool;
	return impl;
}

extern "C" const struct bench_impl bench_impl_tbb = make_impl();
