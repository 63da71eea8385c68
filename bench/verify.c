/*
 * verify.c - what every run checks, shared by the workloads and the peers.
 *
 * Every member callback and every txn `done` feeds a checker that runs on
 * the callback thread. It checks that each txn's member dones run
 * contiguously and before the txn's done, that every ret and status is 0,
 * that all callbacks run on one thread and never on a bench thread
 * (completer, builder: never inline), and, at the end, that the txn dones
 * ran exactly once per txn (count, sum and sum of squares of the txn ids),
 * as did member dones and destroys. jobtxn runs also check
 * jt_runtime_stats against what was built. The checker's fields are plain:
 * callbacks never run concurrently, and the bench reads them after drain,
 * which orders them. A txn that never retires ends the process (exit 3).
 */
#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bench.h"
#include "bench_verify.h"

/* ---- verification ---------------------------------------------------- */

struct checker chk;
_Thread_local bool tls_no_callbacks; /* a bench thread: callbacks here run inline */

void chk_reset(unsigned group)
{
	memset(&chk, 0, sizeof(chk));
	chk.group = group;
}

void chk_reset_mixed(unsigned (*group_of)(uint64_t id))
{
	chk_reset(0);
	chk.group_of = group_of;
}

void expect_add(struct expect *e, uint64_t id, unsigned group)
{
	e->txns++;
	e->jobs += group;
	e->id_sum += id;
	e->id_sq_sum += id * id;
}

static void chk_thread(void)
{
	pthread_t self = pthread_self();

	if (tls_no_callbacks)
		chk.bad_thread++;
	if (!chk.cb_thread_set) {
		chk.cb_thread = self;
		chk.cb_thread_set = true;
	} else if (!pthread_equal(chk.cb_thread, self)) {
		chk.bad_thread++;
	}
}

void chk_member_done(void *opaque, int ret, int status)
{
	uint64_t id = (uintptr_t)opaque;

	chk_thread();
	if (chk.cur_members && chk.cur_id != id)
		chk.bad_order++;
	chk.cur_id = id;
	chk.cur_members++;
	chk.members++;
	if (ret || status)
		chk.bad_result++;
}

void chk_txn_done(void *opaque, int status)
{
	uint64_t id = (uintptr_t)opaque;

	chk_thread();
	if (chk.cur_members != (chk.group_of ? chk.group_of(id) : chk.group) || chk.cur_id != id)
		chk.bad_order++;
	chk.cur_members = 0;
	chk.txns++;
	chk.id_sum += id;
	chk.id_sq_sum += id * id;
	if (status)
		chk.bad_result++;
}

void chk_destroy(void *opaque)
{
	(void)opaque;
	chk_thread();
	chk.destroys++;
}

const struct jt_member_ops chk_ops = {
        .done = chk_member_done,
        .destroy = chk_destroy,
};

void fail(struct run_result *out, const struct wl_params *p, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "jt-bench: %s: ERROR: ", p->tag);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	out->errors++;
}

static void chk_verify(struct run_result *out, const struct wl_params *p, const struct expect *e)
{
	unsigned long long members = e->jobs;

	if (chk.txns != e->txns || chk.id_sum != e->id_sum || chk.id_sq_sum != e->id_sq_sum)
		fail(out, p, "txn done ran %llu times for %llu txns%s",
		     (unsigned long long)chk.txns, (unsigned long long)e->txns,
		     chk.txns == e->txns ? " (id sums differ: some ran twice, some never)" : "");
	if (chk.members != members || chk.destroys != members)
		fail(out, p, "member done ran %llu times, destroy %llu times, for %llu members",
		     (unsigned long long)chk.members, (unsigned long long)chk.destroys, members);
	if (chk.bad_result)
		fail(out, p, "%llu callbacks got a non-zero ret or status",
		     (unsigned long long)chk.bad_result);
	if (chk.bad_order)
		fail(out, p,
		     "%llu callbacks out of order (a txn's member dones not contiguous or "
		     "not all before its done)",
		     (unsigned long long)chk.bad_order);
	if (chk.bad_thread)
		fail(out, p,
		     "%llu callbacks on a wrong thread (inline on a bench thread, or not "
		     "all on one thread)",
		     (unsigned long long)chk.bad_thread);
}

static void stats_verify(const struct bench_impl *impl, void *rt, struct run_result *out,
                         const struct wl_params *p, uint64_t txns, uint64_t jobs)
{
	struct jt_stats *s = &out->stats;

	if (!impl->rt_stats)
		return;
	impl->rt_stats(rt, s);
	out->has_stats = true;
	if (s->txns_begun != txns || s->txns_committed != txns || s->txns_retired != txns ||
	    s->jobs_armed != jobs || s->jobs_completed != jobs || s->txns_failed ||
	    s->jobs_failed || s->cancels_requested || s->misuse)
		fail(out, p,
		     "jt_runtime_stats after drain: txns begun %llu committed %llu retired %llu "
		     "(built %llu), jobs armed %llu completed %llu (built %llu), failed txns %llu "
		     "jobs %llu, cancels %llu, misuse %llu",
		     (unsigned long long)s->txns_begun, (unsigned long long)s->txns_committed,
		     (unsigned long long)s->txns_retired, (unsigned long long)txns,
		     (unsigned long long)s->jobs_armed, (unsigned long long)s->jobs_completed,
		     (unsigned long long)jobs, (unsigned long long)s->txns_failed,
		     (unsigned long long)s->jobs_failed, (unsigned long long)s->cancels_requested,
		     (unsigned long long)s->misuse);
}

/* ---- hangs: a txn that never retires ends the process ---------------- */

static int print_stuck(const struct jt_txn_info *i, void *arg)
{
	unsigned *left = arg;

	fprintf(stderr,
	        "  live txn id %llu state %d members %zu jobs_pending %zu status %d age %llu ns\n",
	        (unsigned long long)i->id, i->state, i->members, i->jobs_pending, i->status,
	        (unsigned long long)i->age_ns);
	return --*left == 0;
}

_Noreturn void hang(const struct bench_impl *impl, void *rt, const struct wl_params *p,
                    const char *what)
{
	unsigned left = 8;

	fprintf(stderr, "jt-bench: %s: ERROR: %s\n", p->tag, what);
	if (impl == &bench_impl_jobtxn)
		jt_runtime_foreach_txn(rt, print_stuck, &left);
	fflush(stdout);
	_exit(3);
}

void drain(const struct bench_impl *impl, void *rt, const struct wl_params *p)
{
	int rc = impl->rt_drain(rt, DRAIN_TIMEOUT_NS);

	if (rc == -ETIMEDOUT)
		hang(impl, rt, p, "drain timed out after 30 s: a committed txn never retired");
	BENCH_CHECK(rc);
}

void *create_rt(const struct bench_impl *impl, bool poll, unsigned workers, size_t max_inflight)
{
	struct bench_rt_opts o = {.poll = poll, .workers = workers, .max_inflight = max_inflight};
	void *rt;

	BENCH_CHECK(impl->rt_create(&o, &rt));
	return rt;
}

void finish(const struct bench_impl *impl, void *rt, struct run_result *out,
            const struct wl_params *p, const struct expect *e)
{
	chk_verify(out, p, e);
	stats_verify(impl, rt, out, p, e->txns, e->jobs);
	if (impl->rt_destroy)
		BENCH_CHECK(impl->rt_destroy(rt));
	tls_no_callbacks = false;
	out->txns = e->txns;
	if (out->elapsed_ns && out->ops)
		out->ops_per_s = (double)out->ops * 1e9 / (double)out->elapsed_ns;
}
