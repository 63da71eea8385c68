/*
 * runtime_api.c - jt_runtime_*: creation, shutdown, draining, poll mode,
 * statistics and introspection.
 */
#include <errno.h>
#include <string.h>

#include "txn/txn_internal.h"

#define MAX_WORKERS         1024
#define MAX_SUBMIT_BATCH    1024
#define SUBMIT_BATCH        16 /* the default: job.c, submits_add */
#define KNOWN_RUNTIME_FLAGS (JT_RUNTIME_POLL | JT_RUNTIME_ORDERED)

void jt_runtime_opts_init(struct jt_runtime_opts *o)
{
	if (o == NULL)
		return;
	memset(o, 0, sizeof(*o));
}

static int check_opts(const struct jt_runtime_opts *o)
{
	if ((o->flags & ~KNOWN_RUNTIME_FLAGS) != 0 || o->workers > MAX_WORKERS ||
	    o->submit_batch > MAX_SUBMIT_BATCH)
		return -EINVAL;
	if (o->allocator != NULL && (o->allocator->alloc == NULL || o->allocator->free == NULL))
		return -EINVAL;
	return 0;
}

static void runtime_init_fields(jt_runtime *rt, const struct jt_runtime_opts *o)
{
	rt->flags = o->flags;
	rt->fork_generation = jt_fork_generation();
	rt->max_inflight = o->max_inflight;
	jt_clock_calib_init(&rt->clock);
	jt_registry_init(&rt->registry);
	jt_latency_histogram_init(&rt->latency);
	jt_mpsc_init(&rt->order_queue);
	for (unsigned i = 0; i < JT_REGISTRY_SHARDS; i++) {
		jt_store_relaxed(&rt->caches[i].returned, NULL);
		jt_store_relaxed(&rt->caches[i].given, 0);
		jt_store_relaxed(&rt->caches[i].taken, 0);
		jt_store_relaxed(&rt->caches[i].busy, 0);
		jt_store_relaxed(&rt->caches[i].kept_bytes, 0);
		rt->caches[i].local = NULL;
		jt_store_relaxed(&rt->builders[i].begun, 0);
		jt_store_relaxed(&rt->builders[i].committed, 0);
		jt_store_relaxed(&rt->builders[i].jobs_armed, 0);
	}
	jt_store_relaxed(&rt->inflight, 0);
	jt_store_relaxed(&rt->misuse, 0);
	jt_store_relaxed(&rt->walkers, 0);
	jt_store_relaxed(&rt->retired, 0);
	jt_store_relaxed(&rt->counters.failed, 0);
	jt_store_relaxed(&rt->counters.jobs_completed, 0);
	jt_store_relaxed(&rt->counters.jobs_failed, 0);
	jt_store_relaxed(&rt->counters.cancels, 0);
	memset(rt->limbo, 0, sizeof(rt->limbo));
	jt_store_relaxed(&rt->retire_epoch, 0);
	jt_store_relaxed(&rt->epoch_waiters, 0);
	jt_store_relaxed(&rt->slot_waiters, 0);
}

int jt_runtime_create(const struct jt_runtime_opts *o, jt_runtime **out)
{
	struct jt_runtime_opts opts;
	struct jt_dispatcher_hooks hooks;
	struct jt_alloc alloc;
	jt_runtime *rt;
	int err;

	if (out == NULL)
		return -EINVAL;
	jt_runtime_opts_init(&opts);
	if (o != NULL)
		opts = *o;
	err = check_opts(&opts);
	if (err == 0)
		err = jt_fork_register();
	if (err != 0)
		return err;
	jt_alloc_init(&alloc, opts.allocator);
	rt = jt_alloc_get_aligned(&alloc, sizeof(*rt));
	if (rt == NULL)
		return -ENOMEM;
	rt->alloc = alloc;
	runtime_init_fields(rt, &opts);
	err = jt_reclaimer_start(&rt->reclaimer);
	if (err != 0)
		goto fail_reclaimer;
	err = jt_worker_pool_start(&rt->pool, opts.workers, &rt->alloc, txn_submitted_chain_done);
	rt->pool.batch = opts.submit_batch != 0 ? opts.submit_batch : SUBMIT_BATCH;
	if (err != 0)
		goto fail_pool;
	/* The commit-order backlog exists only in ordered runtimes: the
	 * others skip its check (an indirect call per queued txn). */
	hooks = (struct jt_dispatcher_hooks){
	        .ctx = rt,
	        .run = txn_run_chain,
	        .backlog_ready = (opts.flags & JT_RUNTIME_ORDERED) ? txn_backlog_ready : NULL,
	};
	err = jt_dispatcher_start(&rt->disp, (opts.flags & JT_RUNTIME_POLL) != 0,
	                          opts.dispatch_spin_ns, &hooks);
	if (err != 0)
		goto fail_dispatcher;
	*out = rt;
	return 0;

fail_dispatcher:
	jt_worker_pool_stop(&rt->pool);
fail_pool:
	jt_reclaimer_stop(&rt->reclaimer);
fail_reclaimer:
	jt_alloc_put_aligned(&alloc, rt, sizeof(*rt));
	return err;
}

static bool all_retired(jt_runtime *rt, void *arg)
{
	/* retired first: committed >= retired at every instant, so equal
	 * values mean none in flight at the time committed was read. */
	uint64_t retired = rt_retired_sync(rt);

	(void)arg;
	return retired == rt_committed(rt);
}

int jt_runtime_destroy(jt_runtime *rt)
{
	struct jt_alloc alloc;

	if (rt == NULL)
		return -EINVAL;
	if (rt_inherited(rt))
		return -EOWNERDEAD; /* its threads are the parent's: leave it */
	/* A callback of this runtime, or inside a read-side section (the
	 * grace periods below would wait for ourselves). */
	if (jt_dispatcher_is_current(&rt->disp) || jt_rcu_read_ongoing())
		return -EDEADLK;
	if (rt_begun(rt) != rt_committed(rt))
		return -EBUSY;
	rt_wait(rt, all_retired, NULL, -1);
	/* Every txn retired, but the completer that handed the last one over
	 * may still be inside jt_dispatcher_post (waking the dispatcher, or
	 * writing the poll-mode eventfd) within its read-side section: wait
	 * for it before the dispatcher and its eventfd go. */
	jt_rcu_synchronize();
	jt_dispatcher_stop(&rt->disp);
	jt_worker_pool_stop(&rt->pool);
	/* The reclaimer's last round recycles every retired txn; then the
	 * caches are freed before the allocator goes. */
	txn_limbo_flush(rt);
	jt_reclaimer_stop(&rt->reclaimer);
	txn_cache_fini(rt);
	alloc = rt->alloc;
	jt_alloc_put_aligned(&alloc, rt, sizeof(*rt));
	return 0;
}

int jt_runtime_drain(jt_runtime *rt, int64_t timeout_ns)
{
	if (rt == NULL)
		return -EINVAL;
	if (rt_inherited(rt))
		return -EOWNERDEAD;
	if (jt_dispatcher_is_current(&rt->disp))
		return -EDEADLK;
	return rt_wait(rt, all_retired, NULL, timeout_ns);
}

int jt_runtime_fd(jt_runtime *rt)
{
	if (rt == NULL || !(rt->flags & JT_RUNTIME_POLL))
		return -EINVAL;
	if (rt_inherited(rt))
		return -EOWNERDEAD;
	return rt->disp.efd;
}

void jt_runtime_stats(jt_runtime *rt, struct jt_stats *out)
{
	double ticks_per_ns;

	if (rt == NULL || out == NULL)
		return;
	memset(out, 0, sizeof(*out));
	for (unsigned i = 0; i < JT_REGISTRY_SHARDS; i++) {
		out->txns_begun += jt_load_relaxed(&rt->builders[i].begun);
		out->txns_committed += jt_load_relaxed(&rt->builders[i].committed);
		out->jobs_armed += jt_load_relaxed(&rt->builders[i].jobs_armed);
	}
	out->txns_retired = jt_load_relaxed(&rt->retired);
	out->txns_failed = jt_load_relaxed(&rt->counters.failed);
	out->jobs_completed = jt_load_relaxed(&rt->counters.jobs_completed);
	out->jobs_failed = jt_load_relaxed(&rt->counters.jobs_failed);
	out->cancels_requested = jt_load_relaxed(&rt->counters.cancels);
	out->misuse = jt_load_relaxed(&rt->misuse);
	ticks_per_ns = jt_clock_ticks_per_ns(&rt->clock);
	out->retire_latency_p50_ns =
	        (uint64_t)((double)jt_latency_histogram_quantile(&rt->latency, 0.50) /
	                   ticks_per_ns);
	out->retire_latency_p99_ns =
	        (uint64_t)((double)jt_latency_histogram_quantile(&rt->latency, 0.99) /
	                   ticks_per_ns);
	out->retire_latency_max_ns =
	        (uint64_t)((double)jt_latency_histogram_max(&rt->latency) / ticks_per_ns);
}

struct foreach_ctx {
	int (*fn)(const struct jt_txn_info *i, void *arg);
	void *arg;
	uint64_t now_ns;
	int visited;
};

/* Armed jobs not yet completed, from the countdown word (txn.c, point 1)
 * and the armed count read before it. */
static size_t jobs_pending(uint64_t pending, uint32_t armed)
{
	uint64_t count = pending_count(pending);

	if (pending_sealed(pending))
		return (size_t)count; /* the failing bit is not a job */
	/* Still a bias: completions came off TXN_HOLD, arming did not. A
	 * completion of a job armed after `armed` was read makes this an
	 * underestimate, clamped at 0. */
	uint64_t completed = TXN_HOLD - count;

	return armed > completed ? (size_t)(armed - completed) : 0;
}

/* One registry node: a live txn, or a recycled one (txn.c, point 7). */
static int visit_txn(struct jt_registry_node *n, void *arg)
{
	struct foreach_ctx *ctx = arg;
	jt_txn *t = (jt_txn *)((char *)n - offsetof(jt_txn, reg));
	struct jt_txn_info info;
	uint64_t pending, begin_ns;
	uint32_t armed;

	/* acquire: pairs with the release store of `live` in jt_txn_begin,
	 * so the fields below are this use's, not the previous one's; no
	 * later use can begin before this walk ends (point 7). */
	if (!jt_load_acquire(&t->live))
		return 0; /* not live: in a cache, or being set up */
	info.id = jt_load_relaxed(&t->id);
	/* A snapshot never counts more pending jobs than members: `armed`
	 * first (acquire: pairs with the release store in job_arm_as, so
	 * every member it counts is in `members` below); then `pending`
	 * (acquire: pairs with the seal's acq_rel RMW, whose release sequence
	 * every later RMW on `pending` continues, so a sealed count comes with
	 * the final `members`). */
	armed = jt_load_acquire(&t->armed) & ~TXN_ARMED_SEALED;
	pending = jt_load_acquire(&t->pending);
	if (!pending_sealed(pending))
		info.state = JT_TXN_OPEN;
	else if (pending_count(pending) == 0)
		info.state = JT_TXN_RETIRING; /* its callbacks are about to run */
	else
		info.state = JT_TXN_RUNNING;
	info.members = jt_load_relaxed(&t->members);
	info.jobs_pending = jobs_pending(pending, armed);
#if defined(JOBTXN_TEST_INJECT_RACE) && JOBTXN_TEST_INJECT_RACE == 2
	/* Test-only known race (tests/race/): read a builder-private flag,
	 * which jt_txn_commit writes with no ordering. */
	info.jobs_pending = t->committing;
#endif
	info.status = jt_load_relaxed(&t->status);
	begin_ns = jt_load_relaxed(&t->begin_ns);
	/* The begin stamp is coarse (at most a kernel tick early): ages read
	 * a few ms long, never short, and grow between walks. */
	info.age_ns = ctx->now_ns > begin_ns ? ctx->now_ns - begin_ns : 0;
	ctx->visited++;
	return ctx->fn(&info, ctx->arg);
}

int jt_runtime_foreach_txn(jt_runtime *rt, int (*fn)(const struct jt_txn_info *i, void *arg),
                           void *arg)
{
	struct foreach_ctx ctx;

	if (rt == NULL || fn == NULL)
		return -EINVAL;
	if (rt_inherited(rt))
		return -EOWNERDEAD;
	ctx.fn = fn;
	ctx.arg = arg;
	ctx.now_ns = jt_monotonic_ns();
	ctx.visited = 0;
	jt_rcu_read_lock();
	/* seq_cst, inside the read-side section: the pair with the RMW of a
	 * batch's give-back or free (txn_cache.c, txn.c point 7): either it
	 * sees this walker and waits a grace period, which this section
	 * holds off, or this walk sees what it retired or unlinked. */
	jt_fetch_add_seq_cst(&rt->walkers, 1);
	jt_registry_foreach(&rt->registry, visit_txn, &ctx);
	/* release: the walk's reads happen before a reuse or free whose RMW
	 * reads the count dropped. */
	jt_fetch_sub_acq_rel(&rt->walkers, 1);
	jt_rcu_read_unlock();
	return ctx.visited;
}
