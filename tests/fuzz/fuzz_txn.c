/*
 * fuzz_txn.c - libFuzzer target: decodes bytes into a sequence of jobtxn
 * calls on one poll-mode runtime (begin, add, arm, wrap, submit, complete,
 * commit, commit_wait with and without a timeout, cancelled, poll, drain,
 * introspection, stats, calls with bad arguments, allocation failures,
 * callbacks that re-enter the runtime) and checks every return code and
 * every callback against the reference model (fuzz_model.c). Any mismatch
 * aborts.
 *
 * Input: byte 0 picks the runtime (bit 0 JT_RUNTIME_ORDERED, bits 1-2
 * max_inflight 0/1/2/4); then one opcode byte per step followed by its
 * argument bytes. At the end every open txn is committed, every armed job
 * completed, the runtime destroyed, and the allocator must hold nothing.
 */
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_model.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_STEPS 256

static struct fz_model g_md;
static jt_runtime *g_rt;
static const uint8_t *g_in;
static size_t g_left;
static int g_in_dispatch; /* inside poll, drain or destroy */
static int g_in_commit;
static struct fz_txn *g_building;
static int g_building_want; /* setup callbacks its commit must run */
static int g_fail_alloc;    /* fail the next allocation on the fuzzing thread */
static _Thread_local bool tl_fuzz_thread;
static int g_fail_hit;
static long g_live;

/* ---- input ---- */
static unsigned next(unsigned bound)
{
	unsigned v;

	if (g_left == 0)
		return 0;
	v = *g_in++;
	g_left--;
	return v % bound;
}

/* ---- allocator: counts live blocks, fails on request ---- */
static void *fz_alloc(void *ctx, size_t size)
{
	void *p;

	(void)ctx;
	if (tl_fuzz_thread && g_fail_alloc) {
		g_fail_alloc = 0;
		g_fail_hit = 1;
		return NULL;
	}
	p = malloc(size);
	if (p != NULL)
		__atomic_add_fetch(&g_live, 1, __ATOMIC_RELAXED);
	return p;
}

static void fz_free(void *ctx, void *p, size_t size)
{
	(void)ctx;
	(void)size;
	if (p == NULL)
		return;
	__atomic_sub_fetch(&g_live, 1, __ATOMIC_RELAXED);
	free(p);
}

/* ---- callbacks ---- */
static void setup_log(struct fz_member *m, int kind, const char *what)
{
	struct fz_txn *tx = m->tx;

	FZ_CHECK(g_in_commit && g_building == tx, "%s of txn slot %u outside its own commit", what,
	         tx->slot);
	FZ_CHECK(tx->setup_n < (int)(sizeof(tx->setup_log) / sizeof(tx->setup_log[0])) &&
	                 tx->setup_log[tx->setup_n] == (kind << 8 | (int)m->idx),
	         "setup pass of txn slot %u: step %d is %s of m%u, not the expected %#x", tx->slot,
	         tx->setup_n, what, m->idx, tx->setup_log[tx->setup_n]);
	tx->setup_n++;
}

static int prepare_cb(jt_job *job, void *opaque)
{
	struct fz_member *m = opaque;

	setup_log(m, 1, "prepare");
	FZ_CHECK(job == m->job, "prepare got another job");
	if (m->arm_in_prepare) {
		int r = jt_job_arm(job);

		FZ_CHECK(r == m->prep_arm_ret, "jt_job_arm in prepare -> %d, expected %d", r,
		         m->prep_arm_ret);
	}
	return m->prep_ret;
}

static void commit_cb(void *opaque)
{
	setup_log(opaque, 2, "commit");
}

static void abort_cb(void *opaque)
{
	setup_log(opaque, 3, "abort");
}

static void clean_cb(void *opaque)
{
	setup_log(opaque, 4, "clean");
}

static void dispatch_cb(struct fz_txn *tx, int cb, unsigned idx, const char *what)
{
	FZ_CHECK(g_in_dispatch, "%s of txn slot %u outside poll/drain/destroy", what, tx->slot);
	/* inside jt_txn_commit_wait only once the setup pass is over */
	FZ_CHECK(!g_in_commit || g_building->setup_n == g_building_want,
	         "%s of txn slot %u inside jt_txn_commit's setup pass", what, tx->slot);
	model_observe(&g_md, cb, tx, idx);
}

static void cancel_cb(void *opaque)
{
	struct fz_member *m = opaque;

	dispatch_cb(m->tx, CB_CANCEL, m->idx, "cancel");
	FZ_CHECK(m->cancels == 0 && m->dones == 0, "cancel twice or after done");
	FZ_CHECK(jt_job_cancelled(m->job), "cancel, but jt_job_cancelled() is false");
	m->cancels++;
}

static void nested_calls(struct fz_member *m);

static void done_cb(void *opaque, int ret, int status)
{
	struct fz_member *m = opaque;
	int expect = m->armed ? m->ret : 0;

	dispatch_cb(m->tx, CB_DONE, m->idx, "done");
	FZ_CHECK(m->dones == 0, "done twice");
	FZ_CHECK(ret == expect, "txn slot %u m%u: done ret %d, expected %d", m->tx->slot, m->idx,
	         ret, expect);
	FZ_CHECK(status == m->tx->status, "txn slot %u m%u: done status %d, expected %d",
	         m->tx->slot, m->idx, status, m->tx->status);
	m->dones++;
	if (m->nested)
		nested_calls(m);
}

static void txn_done_cb(void *opaque, int status)
{
	struct fz_txn *tx = opaque;

	dispatch_cb(tx, CB_TXN_DONE, 0, "txn done");
	FZ_CHECK(status == tx->status, "txn slot %u: txn done status %d, expected %d", tx->slot,
	         status, tx->status);
	tx->txn_dones++;
}

static void destroy_cb(void *opaque)
{
	struct fz_member *m = opaque;

	dispatch_cb(m->tx, CB_DESTROY, m->idx, "destroy");
	m->destroys++;
}

static void wrapped_cb(void *opaque, int ret)
{
	struct fz_member *m = opaque;

	FZ_CHECK(ret == m->ret, "intercepted callback got %d, expected %d", ret, m->ret);
	m->wrap_calls++;
}

static const struct jt_member_ops g_ops = {
        .prepare = prepare_cb,
        .commit = commit_cb,
        .abort = abort_cb,
        .clean = clean_cb,
        .cancel = cancel_cb,
        .done = done_cb,
        .destroy = destroy_cb,
};

static int submit_fn(jt_job *j, void *arg)
{
	(void)j;
	(void)arg;
	fz_fail("submit ran on a runtime without workers");
}

/* ---- steps ---- */
static void verify_retired(const struct fz_txn *tx)
{
	if (tx->state != TX_RETIRED)
		return;
	FZ_CHECK(tx->cb_left == 0, "txn slot %u: %u callbacks never ran", tx->slot, tx->cb_left);
	FZ_CHECK(!tx->has_done || tx->txn_dones == 1, "txn slot %u: txn done ran %d times",
	         tx->slot, tx->txn_dones);
	for (unsigned i = 0; i < tx->n; i++) {
		const struct fz_member *m = &tx->m[i];

		FZ_CHECK(!m->armed || m->completed, "txn slot %u m%u retired uncompleted", tx->slot,
		         i);
		FZ_CHECK(m->cancels <= 1, "txn slot %u m%u: %d cancels", tx->slot, i, m->cancels);
		if (m->full_ops)
			FZ_CHECK(m->dones == 1 && m->destroys == 1,
			         "txn slot %u m%u: done %d, destroy %d times", tx->slot, i,
			         m->dones, m->destroys);
		if (m->wrapped && m->completed)
			FZ_CHECK(m->wrap_calls == 1, "txn slot %u m%u: intercepted cb ran %d times",
			         tx->slot, i, m->wrap_calls);
	}
}

static struct fz_txn *pick_txn(int state)
{
	struct fz_txn *tx = &g_md.tx[next(FZ_TXNS)];

	return tx->state == state ? tx : NULL;
}

static struct fz_txn *pick_live_txn(void)
{
	struct fz_txn *tx = &g_md.tx[next(FZ_TXNS)];

	return tx->state == TX_OPEN || tx->state == TX_SEALED ? tx : NULL;
}

static int begin(struct fz_txn **out, bool grouped, bool nowait, bool fail_alloc)
{
	struct fz_txn *tx = model_free_slot(&g_md);
	bool full = g_md.max_inflight != 0 && g_md.inflight >= g_md.max_inflight;
	jt_txn *t = NULL;
	int r;

	if (tx == NULL || (full && !nowait && !g_in_dispatch))
		return 1; /* would block forever: nobody else completes jobs */
	verify_retired(tx);
	g_fail_alloc = fail_alloc;
	g_fail_hit = 0;
	r = jt_txn_begin(g_rt, (grouped ? JT_TXN_GROUPED : 0) | (nowait ? JT_TXN_NOWAIT : 0), &t);
	g_fail_alloc = 0;
	if (full) {
		FZ_CHECK(r == -EAGAIN, "jt_txn_begin at max_inflight -> %d, expected -EAGAIN", r);
		return r;
	}
	if (g_fail_hit) {
		FZ_CHECK(r == -ENOMEM, "jt_txn_begin: allocation failed, returned %d", r);
		return r;
	}
	FZ_CHECK(r == 0 && t != NULL, "jt_txn_begin -> %d", r);
	model_begin(&g_md, tx, grouped);
	tx->t = t;
	*out = tx;
	return 0;
}

static void add(struct fz_txn *tx, bool full, int prep, bool arm_in_prepare, bool nested,
                bool fail_alloc)
{
	struct fz_member *m = &tx->m[tx->n];
	jt_job *job = NULL;
	int r;

	memset(m, 0, sizeof(*m));
	m->tx = tx;
	m->idx = tx->n;
	m->full_ops = full;
	m->prep_ret = full ? prep : 0;
	m->arm_in_prepare = full && arm_in_prepare;
	m->nested = full && nested;
	g_fail_alloc = fail_alloc;
	g_fail_hit = 0;
	r = jt_txn_add(tx->t, full ? &g_ops : NULL, m, &job);
	g_fail_alloc = 0;
	if (g_fail_hit) {
		FZ_CHECK(r == -ENOMEM && job == NULL, "jt_txn_add: allocation failed, returned %d",
		         r);
		return;
	}
	FZ_CHECK(r == 0 && job != NULL, "jt_txn_add -> %d", r);
	m->job = job;
	tx->n++;
}

/* True when every job armed so far has completed: the txn retires in the
 * first poll round after its seal (not under JT_RUNTIME_ORDERED, where an
 * earlier txn may hold it back). */
static bool retires_at_seal(const struct fz_txn *tx)
{
	if (g_md.ordered)
		return false;
	for (unsigned i = 0; i < tx->n; i++)
		if (tx->m[i].armed && !tx->m[i].completed)
			return false;
	return true;
}

/* wait 0: jt_txn_commit; 1: jt_txn_commit_wait with a zero timeout; 2: and
 * no timeout when the txn is sure to retire (the wait polls). */
static void commit(struct fz_txn *tx, int wait, bool fail_alloc)
{
	int expect, r, st = 12345;
	struct fz_model saved;
	struct fz_txn *outer = g_building; /* a commit_wait around a callback */
	int outer_want = g_building_want;
	uint64_t snap;

	/* The setup pass arms in prepare; the model decides the return. */
	saved = g_md;
	tx->has_done = wait == 0;
	expect = model_setup_pass(&g_md, tx);
	if (wait == 2 && !retires_at_seal(tx))
		wait = 1;
	g_building_want = tx->setup_n;
	tx->setup_n = 0;
	/* Sealed in the model first: a waiting commit runs callbacks. */
	model_seal(&g_md, tx);
	snap = g_md.pushed;
	g_building = tx;
	g_in_commit++;
	if (wait != 0) {
		g_fail_alloc = fail_alloc;
		g_fail_hit = 0;
		g_in_dispatch += wait == 2;
		r = jt_txn_commit_wait(tx->t, wait == 2 ? -1 : 0, &st);
		g_in_dispatch -= wait == 2;
		g_fail_alloc = 0;
		g_in_commit--;
		if (g_fail_hit) {
			FZ_CHECK(r == -ENOMEM && tx->setup_n == 0,
			         "jt_txn_commit_wait: allocation failed, returned %d after %d "
			         "setup steps",
			         r, tx->setup_n);
			g_md = saved; /* nothing happened: the txn is still open */
			g_building = outer;
			g_building_want = outer_want;
			return;
		}
		if (wait == 2) {
			/* one poll round: everything queued up to the seal */
			model_after_dispatch(&g_md, true, snap);
			FZ_CHECK(r == expect && st == tx->status && tx->state == TX_RETIRED &&
			                 tx->cb_left == 0,
			         "jt_txn_commit_wait(-1) -> %d (status %d), expected %d (status "
			         "%d), "
			         "txn state %d",
			         r, st, expect, tx->status, tx->state);
		} else {
			/* timeout 0: no poll happens, the txn cannot have retired */
			FZ_CHECK(r == -ETIMEDOUT && st == 12345,
			         "jt_txn_commit_wait(timeout 0) -> %d (status %d), expected "
			         "-ETIMEDOUT",
			         r, st);
		}
	} else {
		r = jt_txn_commit(tx->t, txn_done_cb, tx);
		g_in_commit--;
		FZ_CHECK(r == expect, "jt_txn_commit -> %d, expected %d", r, expect);
	}
	FZ_CHECK(tx->setup_n == g_building_want, "txn slot %u: %d setup callbacks, expected %d",
	         tx->slot, tx->setup_n, g_building_want);
	g_building = outer;
	g_building_want = outer_want;
	if (wait != 2)
		for (int i = 0; i < (int)tx->n; i++)
			FZ_CHECK(tx->m[i].dones == 0 && tx->m[i].cancels == 0,
			         "a dispatcher callback ran inside commit");
}

static void arm(struct fz_txn *tx, struct fz_member *m, unsigned how)
{
	int r, expect;

	if (how == 2) { /* no workers */
		r = jt_job_submit(m->job, submit_fn, NULL);
		FZ_CHECK(r == -ENOTSUP, "jt_job_submit without workers -> %d", r);
		return;
	}
	expect = tx->state == TX_SEALED ? -EINVAL : m->armed ? -EALREADY : 0;
	if (how == 1)
		r = jt_job_wrap(m->job, wrapped_cb, m, &m->new_cb, &m->new_opaque);
	else
		r = jt_job_arm(m->job);
	FZ_CHECK(r == expect, "arm (how %u) -> %d, expected %d", how, r, expect);
	if (r != 0) {
		g_md.misuse++;
		return;
	}
	m->wrapped = how == 1;
	model_arm(tx, m);
}

static void complete(struct fz_member *m, int ret)
{
	int r, expect = !m->armed ? -EINVAL : m->completed ? -EALREADY : 0;

	if (m->wrapped) {
		int calls = m->wrap_calls;
		bool first = !m->completed;

		if (first)
			m->ret = ret; /* what the intercepted callback must see */
		m->new_cb(m->new_opaque, ret);
		FZ_CHECK(m->wrap_calls == calls + first,
		         "intercepted callback ran %d times for one new_cb call (first %d)",
		         m->wrap_calls - calls, first);
		r = first ? 0 : -EALREADY;
	} else {
		r = jt_job_complete(m->job, ret);
		FZ_CHECK(r == expect, "jt_job_complete -> %d, expected %d", r, expect);
	}
	if (r != 0) {
		g_md.misuse++;
		return;
	}
	model_complete(&g_md, m, ret);
}

static void poll_once(unsigned max)
{
	uint64_t snap = g_md.pushed;
	int n;

	g_md.retired_in_call = 0;
	g_in_dispatch++;
	n = jt_runtime_poll(g_rt, max);
	g_in_dispatch--;
	FZ_CHECK(n >= 0 && (max == 0 || n <= (int)max), "jt_runtime_poll(%u) -> %d", max, n);
	while (g_md.retired_in_call < (unsigned)n && model_step(&g_md, UINT64_MAX))
		;
	model_after_dispatch(&g_md, max == 0 || (unsigned)n < max, max == 0 ? snap : UINT64_MAX);
	FZ_CHECK(g_md.retired_in_call == (unsigned)n,
	         "jt_runtime_poll(%u) -> %d, the model retired %u", max, n, g_md.retired_in_call);
}

static void drain_all(void)
{
	int r;

	g_in_dispatch++;
	r = jt_runtime_drain(g_rt, -1);
	g_in_dispatch--;
	FZ_CHECK(r == 0, "jt_runtime_drain(-1) -> %d", r);
	model_after_dispatch(&g_md, true, UINT64_MAX);
	FZ_CHECK(g_md.committed == g_md.retired, "drain returned with %llu of %llu retired",
	         (unsigned long long)g_md.retired, (unsigned long long)g_md.committed);
}

struct walk {
	bool matched[FZ_TXNS];
	int visited;
};

static int walk_fn(const struct jt_txn_info *i, void *arg)
{
	struct walk *w = arg;

	w->visited++;
	for (unsigned k = 0; k < FZ_TXNS; k++) {
		const struct fz_txn *tx = &g_md.tx[k];
		int state = tx->state == TX_OPEN ? JT_TXN_OPEN : JT_TXN_RUNNING;

		size_t pending = 0;

		for (unsigned m = 0; m < tx->n; m++)
			pending += tx->m[m].armed && !tx->m[m].completed;
		if (w->matched[k] || (tx->state != TX_OPEN && tx->state != TX_SEALED) ||
		    i->members != tx->n || i->status != tx->status || i->jobs_pending != pending)
			continue;
		/* RETIRING: sealed with no job left (queued for the dispatcher) */
		if (i->state != state &&
		    !(state == JT_TXN_RUNNING && i->state == JT_TXN_RETIRING && pending == 0))
			continue;
		w->matched[k] = true;
		return 0;
	}
	fz_fail("foreach: txn %llu (state %d, %zu members, %zu jobs pending, status %d) matches "
	        "no live txn",
	        (unsigned long long)i->id, i->state, i->members, i->jobs_pending, i->status);
}

static void check_foreach(void)
{
	struct walk w;
	int live = 0, r;

	memset(&w, 0, sizeof(w));
	for (unsigned k = 0; k < FZ_TXNS; k++)
		live += g_md.tx[k].state == TX_OPEN || g_md.tx[k].state == TX_SEALED;
	r = jt_runtime_foreach_txn(g_rt, walk_fn, &w);
	FZ_CHECK(r == live && w.visited == live, "foreach -> %d (visited %d), %d txns live", r,
	         w.visited, live);
}

static void check_stats(void)
{
	struct jt_stats s;

	jt_runtime_stats(g_rt, &s);
#define EQ(f, v)                                                                                   \
	FZ_CHECK(s.f == (v), "stats." #f " = %llu, model %llu", (unsigned long long)s.f,           \
	         (unsigned long long)(v))
	EQ(txns_begun, g_md.begun);
	EQ(txns_committed, g_md.committed);
	EQ(txns_retired, g_md.retired);
	EQ(txns_failed, g_md.failed);
	EQ(jobs_armed, g_md.jobs_armed);
	EQ(jobs_completed, g_md.jobs_completed);
	EQ(jobs_failed, g_md.jobs_failed);
	EQ(cancels_requested, g_md.cancels);
	EQ(misuse, g_md.misuse);
#undef EQ
}

static int noop_walk(const struct jt_txn_info *i, void *arg)
{
	(void)i;
	(void)arg;
	return 0;
}

/* Calls with bad arguments: a clear error, nothing changes. */
static void bad_call(unsigned which, struct fz_txn *open)
{
	jt_txn *t = NULL;
	jt_complete_fn *cb;
	void *op;
	int r = 0, expect = -EINVAL;

	switch (which) {
	case 0:
		r = jt_txn_begin(NULL, 0, &t);
		break;
	case 1:
		r = jt_txn_begin(g_rt, 0x80, &t);
		break;
	case 2:
		r = jt_txn_begin(g_rt, 0, NULL);
		break;
	case 3:
		r = jt_txn_add(NULL, NULL, NULL, NULL);
		break;
	case 4:
		r = jt_job_arm(NULL);
		break;
	case 5:
		r = jt_job_complete(NULL, 0);
		break;
	case 6:
		r = jt_txn_commit(NULL, NULL, NULL);
		break;
	case 7:
		r = jt_txn_commit_wait(NULL, 0, NULL);
		break;
	case 8:
		r = jt_runtime_poll(NULL, 0);
		break;
	case 9:
		r = jt_runtime_drain(NULL, 0);
		break;
	case 10:
		r = jt_runtime_fd(NULL);
		break;
	case 11:
		r = jt_runtime_foreach_txn(g_rt, NULL, NULL);
		break;
	case 12:
		r = jt_runtime_foreach_txn(NULL, noop_walk, NULL);
		break;
	case 13:
		r = jt_job_wrap(NULL, NULL, NULL, &cb, &op);
		break;
	case 14:
		r = jt_job_submit(NULL, submit_fn, NULL);
		break;
	case 15:
		r = jt_runtime_destroy(NULL);
		break;
	case 16:
		r = jt_runtime_fd(g_rt);
		FZ_CHECK(r >= 0, "jt_runtime_fd on a poll-mode runtime -> %d", r);
		return;
	case 17:
		FZ_CHECK(jt_strerror(-(int)next(256)) != NULL && jt_strerror(0) != NULL,
		         "jt_strerror returned NULL");
		return;
	case 18:
		FZ_CHECK(!jt_job_cancelled(NULL), "jt_job_cancelled(NULL) is true");
		return;
	default:
		if (open == NULL)
			return;
		r = jt_runtime_destroy(g_rt);
		expect = -EBUSY;
		break;
	}
	FZ_CHECK(r == expect && t == NULL, "bad call %u -> %d, expected %d", which, r, expect);
}

static void nested_calls(struct fz_member *m)
{
	struct fz_txn *tx = NULL;
	int r;

	r = jt_runtime_poll(g_rt, 0);
	FZ_CHECK(r == -EBUSY, "jt_runtime_poll inside a callback -> %d", r);
	r = jt_runtime_drain(g_rt, -1);
	FZ_CHECK(r == -EDEADLK, "jt_runtime_drain inside a callback -> %d", r);
	r = jt_runtime_destroy(g_rt);
	FZ_CHECK(r == -EDEADLK, "jt_runtime_destroy inside a callback -> %d", r);
	/* begin, fill and commit a txn from the callback */
	if (begin(&tx, m->idx & 1, false, false) != 0)
		return;
	r = jt_txn_commit_wait(tx->t, -1, NULL);
	FZ_CHECK(r == -EDEADLK, "jt_txn_commit_wait inside a callback -> %d", r);
	add(tx, true, 0, false, false, false);
	commit(tx, 0, false);
}

static void finish(void)
{
	int r;

	for (unsigned k = 0; k < FZ_TXNS; k++)
		if (g_md.tx[k].state == TX_OPEN)
			commit(&g_md.tx[k], 0, false);
	for (unsigned k = 0; k < FZ_TXNS; k++) {
		struct fz_txn *tx = &g_md.tx[k];

		if (tx->state != TX_SEALED)
			continue;
		for (unsigned i = 0; i < tx->n; i++)
			if (tx->m[i].armed && !tx->m[i].completed)
				complete(&tx->m[i], 0);
	}
	check_stats();
	g_in_dispatch++;
	r = jt_runtime_destroy(g_rt);
	g_in_dispatch--;
	FZ_CHECK(r == 0, "jt_runtime_destroy -> %d", r);
	model_after_dispatch(&g_md, true, UINT64_MAX);
	for (unsigned k = 0; k < FZ_TXNS; k++) {
		FZ_CHECK(g_md.tx[k].state != TX_OPEN && g_md.tx[k].state != TX_SEALED,
		         "txn slot %u never retired", k);
		verify_retired(&g_md.tx[k]);
	}
	FZ_CHECK(g_live == 0, "%ld allocations leaked", g_live);
}

static void step(void)
{
	struct fz_txn *tx;
	struct fz_member *m;

	switch (next(14)) {
	case 0: {
		unsigned f = next(16);

		begin(&tx, f & 1, f & 2, f & 4);
		break;
	}
	case 1: {
		unsigned f = next(64);

		tx = pick_txn(TX_OPEN);
		if (tx != NULL && tx->n < FZ_MEMBERS)
			add(tx, f & 1,
			    (f & 6) == 6   ? -EIO
			    : (f & 6) == 4 ? -EPERM
			                   : 0,
			    f & 8, f & 16, f & 32);
		break;
	}
	case 2:
		tx = pick_live_txn();
		if (tx == NULL || tx->n == 0)
			break;
		m = &tx->m[next(tx->n)];
		if (tx->state == TX_SEALED && m->armed)
			break; /* its handle may be gone after completion */
		arm(tx, m, next(3));
		break;
	case 3: {
		static const int rets[] = {0, 0, -EIO, -ENOSPC, -ECANCELED};

		tx = pick_live_txn();
		if (tx == NULL || tx->n == 0)
			break;
		complete(&tx->m[next(tx->n)], rets[next(5)]);
		break;
	}
	case 4:
		tx = pick_live_txn();
		if (tx == NULL || tx->n == 0)
			break;
		m = &tx->m[next(tx->n)];
		if (!m->completed)
			FZ_CHECK(jt_job_cancelled(m->job) == tx->failing,
			         "jt_job_cancelled() %d, txn failing %d", !tx->failing,
			         tx->failing);
		break;
	case 5:
	case 6:
		tx = pick_txn(TX_OPEN);
		if (tx != NULL)
			commit(tx, 0, false);
		break;
	case 7: {
		unsigned f = next(4);

		tx = pick_txn(TX_OPEN);
		if (tx != NULL)
			commit(tx, 1 + (f & 1), f & 2);
		break;
	}
	case 8:
	case 9:
		poll_once(next(3));
		break;
	case 10: {
		int r = jt_runtime_drain(g_rt, 0);
		int expect = g_md.committed == g_md.retired ? 0 : -ETIMEDOUT;

		FZ_CHECK(r == expect, "jt_runtime_drain(0) -> %d, expected %d", r, expect);
		if (model_can_drain(&g_md) && next(2))
			drain_all();
		break;
	}
	case 11:
		check_foreach();
		break;
	case 12:
		check_stats();
		break;
	default: {
		struct fz_txn *open = NULL;

		for (unsigned k = 0; k < FZ_TXNS && open == NULL; k++)
			if (g_md.tx[k].state == TX_OPEN)
				open = &g_md.tx[k];
		bad_call(next(20), open);
		break;
	}
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const unsigned max_inflight[] = {0, 1, 2, 4};
	struct jt_allocator al = {.alloc = fz_alloc, .free = fz_free, .ctx = NULL};
	struct jt_runtime_opts o;
	unsigned cfg;
	int r;

	tl_fuzz_thread = true; /* jt-reclaim may allocate too: never fail it */
	g_in = data;
	g_left = size;
	cfg = next(8);
	model_init(&g_md, cfg & 1, max_inflight[(cfg >> 1) & 3]);
	jt_runtime_opts_init(&o);
	o.flags = JT_RUNTIME_POLL | ((cfg & 1) ? JT_RUNTIME_ORDERED : 0);
	o.max_inflight = g_md.max_inflight;
	o.allocator = &al;
	r = jt_runtime_create(&o, &g_rt);
	FZ_CHECK(r == 0, "jt_runtime_create -> %d", r);
	for (unsigned i = 0; i < MAX_STEPS && g_left > 0; i++)
		step();
	finish();
	return 0;
}
