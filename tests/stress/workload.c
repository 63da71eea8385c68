/*
 * workload.c - what the stress test does to a runtime: build random txns,
 * arm their jobs (jt_job_arm, jt_job_wrap, jt_job_submit; before commit,
 * inside prepare, inside commit), hand them to completer threads, and record
 * every callback in the shadow state for checker.c.
 *
 * Completer hand-off uses a lock-free grab-all stack per completer, so the
 * harness itself adds no happens-before edge from a completer to the
 * dispatcher (nor between builders): the only path TSan may use for contract
 * rule 5 is the library's own.
 */
#include <errno.h>
#include <sched.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "stress.h"

/* ------------------------------------------------------------------ */
/* Hand-off                                                            */
/* ------------------------------------------------------------------ */

/*
 * Producers push with a release CAS and write only their own node, so they
 * acquire nothing from each other or from the completer; the completer takes
 * everything with one acquire exchange (a release sequence: it synchronises
 * with every push). No pop of single nodes, hence no ABA.
 */
static void inbox_push(struct inbox *q, struct qnode *n)
{
	struct qnode *old = atomic_load_explicit(&q->head, memory_order_relaxed);

	do
		n->next = old;
	while (!atomic_compare_exchange_weak_explicit(&q->head, &old, n, memory_order_release,
	                                              memory_order_relaxed));
}

static struct qnode *inbox_take_all(struct inbox *q)
{
	return atomic_exchange_explicit(&q->head, NULL, memory_order_acquire);
}

/* ------------------------------------------------------------------ */
/* Completers                                                          */
/* ------------------------------------------------------------------ */

struct completer {
	pthread_t thr;
	unsigned id;
	struct inbox in;
	struct hmember *lhead, *ltail;
	unsigned llen;
	uint64_t rng;
};

static struct completer g_cpl[MAX_COMPLETERS];
static unsigned g_ncpl;
static atomic_int g_cpl_stop;

static _Thread_local struct htxn *tl_building; /* txn inside its setup pass */

static struct hmember *member_of(struct qnode *n)
{
	return n == NULL ? NULL : (struct hmember *)((char *)n - offsetof(struct hmember, node));
}

static void launch(struct hmember *m)
{
	struct htxn *tx = m->tx;
	struct completer *c = &g_cpl[(unsigned)((tx->uid * 31u + m->idx) % g_ncpl)];

	/* The launching thread holds a reference (builder or dispatcher). */
	atomic_fetch_add_explicit(&tx->refs, 1, memory_order_relaxed);
	inbox_push(&c->in, &m->node);
}

static void wrap_cb(void *opaque, int ret)
{
	struct hmember *m = opaque;

	CHECK(tl_in_newcb, "txn %llu m%u: intercepted cb not run inline inside new_cb",
	      (unsigned long long)m->tx->uid, m->idx);
	CHECK(atomic_fetch_add_explicit(&m->wrap_calls, 1, memory_order_relaxed) == 0,
	      "txn %llu m%u: intercepted cb ran twice", (unsigned long long)m->tx->uid, m->idx);
	CHECK(ret == m->actual_ret, "txn %llu m%u: intercepted cb got ret %d, completer passed %d",
	      (unsigned long long)m->tx->uid, m->idx, ret, m->actual_ret);
	m->wrap_ret = ret;
	m->wrap_payload = payload2_of(m);
}

/* Complete m's job with ret on this thread (completer or builder). */
static void complete_now(struct hmember *m, int ret, bool via_newcb)
{
	struct htxn *tx = m->tx;
	int r = 0;

	m->actual_ret = ret;
	m->payload = payload_of(m);
	m->completed = true;
	m->lo = atomic_fetch_add_explicit(&tx->seq, 1, memory_order_relaxed);
	tl_in_complete++;
	if (via_newcb) {
		m->expect_wrap_calls = 1;
		tl_in_newcb++;
		m->new_cb(m->new_opaque, ret);
		tl_in_newcb--;
	} else {
		r = jt_job_complete(m->job, ret);
	}
	tl_in_complete--;
	/* m is still ours: whoever called us holds a reference on tx. */
	atomic_store_explicit(&m->hi, atomic_fetch_add_explicit(&tx->seq, 1, memory_order_relaxed),
	                      memory_order_relaxed);
	CHECK(r == 0, "txn %llu m%u: jt_job_complete -> %d", (unsigned long long)tx->uid, m->idx,
	      r);
}

static void completer_finish(struct completer *c, struct hmember *m)
{
	struct htxn *tx = m->tx;
	bool cancelled = jt_job_cancelled(m->job);
	int ret = m->result;

	m->saw_cancelled = cancelled;
	if (cancelled)
		CHECK(tx->may_fail,
		      "txn %llu m%u: jt_job_cancelled() true on a txn that cannot fail",
		      (unsigned long long)tx->uid, m->idx);
	if (m->wait_cancel) {
		CHECK(cancelled, "txn %llu m%u: cancel ran but jt_job_cancelled() is false",
		      (unsigned long long)tx->uid, m->idx);
		ret = -ECANCELED;
	} else if (cancelled && (rng_next(&c->rng) & 1)) {
		ret = -ECANCELED; /* finish early, as a cancelled job would */
	}
	complete_now(m, ret, m->how == HOW_WRAP);
	tx_put(tx);
}

static void local_push(struct completer *c, struct hmember *m)
{
	m->lnext = NULL;
	if (c->ltail != NULL)
		c->ltail->lnext = m;
	else
		c->lhead = m;
	c->ltail = m;
	c->llen++;
}

static struct hmember *local_pop(struct completer *c)
{
	struct hmember *m = c->lhead;

	if (m == NULL)
		return NULL;
	c->lhead = m->lnext;
	if (c->lhead == NULL)
		c->ltail = NULL;
	c->llen--;
	return m;
}

static void nap_us(long us)
{
	struct timespec ts = {.tv_sec = 0, .tv_nsec = us * 1000};

	nanosleep(&ts, NULL);
}

static void *completer_main(void *arg)
{
	struct completer *c = arg;
	unsigned turn = 0, idle = 0;
	char name[16];

	tl_role = ROLE_COMPLETER;
	snprintf(name, sizeof(name), "stress-cpl-%u", c->id);
	pthread_setname_np(pthread_self(), name);
	for (;;) {
		struct hmember *m = NULL;

		turn++;
		/* Fresh work joins the tail of the local FIFO every few turns
		 * (and whenever the FIFO is empty), in push order. */
		if (c->lhead == NULL || turn % 4 == 0) {
			struct qnode *n = inbox_take_all(&c->in), *rev = NULL;

			while (n != NULL) {
				struct qnode *next = n->next;

				n->next = rev;
				rev = n;
				n = next;
			}
			for (; rev != NULL; rev = rev->next)
				local_push(c, member_of(rev));
		}
		m = local_pop(c);
		if (m == NULL) {
			if (atomic_load_explicit(&g_cpl_stop, memory_order_acquire))
				break;
			if (++idle > 16)
				nap_us(idle > 64 ? 200 : 20);
			else
				sched_yield();
			continue;
		}
		if (m->hops > 0) {
			m->hops--;
			local_push(c, m);
			continue;
		}
		if (m->wait_cancel &&
		    !atomic_load_explicit(&m->cancel_seen, memory_order_acquire)) {
			local_push(c, m);
			if (++idle > c->llen + 4)
				nap_us(idle > 256 ? 200 : 10);
			continue;
		}
		idle = 0;
		completer_finish(c, m);
	}
	return NULL;
}

void completers_start(unsigned n)
{
	g_ncpl = n;
	atomic_store(&g_cpl_stop, 0);
	for (unsigned i = 0; i < n; i++) {
		struct completer *c = &g_cpl[i];

		c->id = i;
		c->rng = rng_seed(g_opt.seed, 1000 + i);
		atomic_store_explicit(&c->in.head, NULL, memory_order_relaxed);
		if (pthread_create(&c->thr, NULL, completer_main, c) != 0) {
			fprintf(stderr, "pthread_create failed\n");
			exit(2);
		}
	}
}

void completers_stop(void)
{
	atomic_store_explicit(&g_cpl_stop, 1, memory_order_release);
	for (unsigned i = 0; i < g_ncpl; i++) {
		pthread_join(g_cpl[i].thr, NULL);
		CHECK(g_cpl[i].lhead == NULL, "completer %u stopped with work left", i);
	}
}

/* ------------------------------------------------------------------ */
/* Arming                                                              */
/* ------------------------------------------------------------------ */

static int submit_fn(jt_job *job, void *arg)
{
	struct hmember *m = arg;
	struct htxn *tx = m->tx;
	bool cancelled = jt_job_cancelled(job);
	int ret = m->result;

	CHECK(job == m->job, "txn %llu m%u: submit fn got another job", (unsigned long long)tx->uid,
	      m->idx);
	CHECK(is_library_thread("jt-worker-"), "txn %llu m%u: submit fn not on a jt-worker thread",
	      (unsigned long long)tx->uid, m->idx);
	if (cancelled)
		CHECK(tx->may_fail,
		      "txn %llu m%u: jt_job_cancelled() true on a txn that cannot fail",
		      (unsigned long long)tx->uid, m->idx);
	if (cancelled && ((tx->uid + m->idx) & 1))
		ret = -ECANCELED;
	m->saw_cancelled = cancelled;
	m->actual_ret = ret;
	m->payload = payload_of(m);
	m->completed = true;
	m->lo = atomic_fetch_add_explicit(&tx->seq, 1, memory_order_relaxed);
	return ret; /* the worker completes the job with it; hi stays unknown */
}

static void arm_member(struct hmember *m)
{
	struct htxn *tx = m->tx;
	int r;

	m->armed = true; /* before submit: the worker may run at once */
	switch (m->how) {
	case HOW_WRAP:
		r = jt_job_wrap(m->job, wrap_cb, m, &m->new_cb, &m->new_opaque);
		break;
	case HOW_SUBMIT:
		r = jt_job_submit(m->job, submit_fn, m);
		break;
	default:
		r = jt_job_arm(m->job);
		break;
	}
	CHECK(r == 0, "txn %llu m%u: arm (how %d) -> %d", (unsigned long long)tx->uid, m->idx,
	      m->how, r);
	if (r != 0)
		m->armed = false;
}

/* Arm and hand to a completer (submit runs by itself). */
static void arm_and_launch(struct hmember *m)
{
	arm_member(m);
	if (m->armed && m->how != HOW_SUBMIT)
		launch(m);
}

/* ------------------------------------------------------------------ */
/* Setup-pass callbacks (committing thread)                            */
/* ------------------------------------------------------------------ */

enum { LOG_PREPARE = 1, LOG_COMMIT, LOG_ABORT, LOG_CLEAN };

static void setup_log(struct hmember *m, int kind, const char *what)
{
	struct htxn *tx = m->tx;

	CHECK(tl_building == tx, "txn %llu m%u: %s outside its own jt_txn_commit",
	      (unsigned long long)tx->uid, m->idx, what);
	if (tx->setup_n < (int)(sizeof(tx->setup_log) / sizeof(tx->setup_log[0])))
		tx->setup_log[tx->setup_n++] = kind << 8 | (int)m->idx;
}

static int prepare_cb(jt_job *job, void *opaque)
{
	struct hmember *m = opaque;
	struct htxn *tx = m->tx;

	setup_log(m, LOG_PREPARE, "prepare");
	CHECK(job == m->job, "txn %llu m%u: prepare got another job", (unsigned long long)tx->uid,
	      m->idx);
	if (!tx->may_fail)
		CHECK(!jt_job_cancelled(job), "txn %llu m%u: cancelled during prepare",
		      (unsigned long long)tx->uid, m->idx);
	if (m->mode == ARM_IN_PREPARE)
		arm_and_launch(m);
	else if (m->mode == ARM_PREP_THEN_COMMIT)
		arm_member(m);
	if ((int)m->idx == tx->fail_idx) {
		tx->prep_lo = atomic_fetch_add_explicit(&tx->seq, 1, memory_order_relaxed);
		return m->prep_ret;
	}
	return 0;
}

static void commit_cb(void *opaque)
{
	struct hmember *m = opaque;

	setup_log(m, LOG_COMMIT, "commit");
	CHECK(m->tx->fail_idx < 0, "txn %llu m%u: commit after a failed prepare",
	      (unsigned long long)m->tx->uid, m->idx);
	if (m->mode == ARM_IN_COMMIT)
		arm_and_launch(m);
	else if (m->mode == ARM_PREP_THEN_COMMIT && m->armed)
		launch(m);
}

static void abort_cb(void *opaque)
{
	struct hmember *m = opaque;

	setup_log(m, LOG_ABORT, "abort");
	CHECK(m->tx->fail_idx >= 0, "txn %llu m%u: abort without a failed prepare",
	      (unsigned long long)m->tx->uid, m->idx);
	/* Undo a job armed in prepare but never launched. */
	if (m->mode == ARM_PREP_THEN_COMMIT && m->armed)
		complete_now(m, -ECANCELED, m->how == HOW_WRAP && m->undo_via_newcb);
}

static void clean_cb(void *opaque)
{
	setup_log(opaque, LOG_CLEAN, "clean");
}

/* ------------------------------------------------------------------ */
/* Dispatcher callbacks                                                */
/* ------------------------------------------------------------------ */

static void cb_enter(struct htxn *tx, const char *what, bool same_thread)
{
	struct hrt *h = tx->h;
	unsigned long long id = (unsigned long long)tx->uid;

	CHECK(atomic_exchange_explicit(&h->cb_active, 1, memory_order_relaxed) == 0,
	      "txn %llu: %s runs concurrently with another callback", id, what);
	CHECK(tl_in_callback == 0, "txn %llu: %s runs inside another callback", id, what);
	CHECK(tl_in_commit == 0, "txn %llu: %s runs inside jt_txn_commit", id, what);
	CHECK(tl_in_complete == 0, "txn %llu: %s runs inside a completion", id, what);
	CHECK(tl_role != ROLE_COMPLETER, "txn %llu: %s on a completer thread", id, what);
	if (h->poll_mode) {
		CHECK(tl_role == ROLE_POLLER || tl_in_wait,
		      "txn %llu: %s (poll mode) outside jt_runtime_poll/wait (role %d)", id, what,
		      tl_role);
	} else {
		CHECK(is_library_thread("jt-dispatch"), "txn %llu: %s not on jt-dispatch", id,
		      what);
		if (!atomic_load_explicit(&h->disp_thread_set, memory_order_relaxed)) {
			h->disp_thread = pthread_self();
			atomic_store_explicit(&h->disp_thread_set, 1, memory_order_relaxed);
		} else {
			CHECK(pthread_equal(h->disp_thread, pthread_self()),
			      "txn %llu: %s on a second dispatcher thread", id, what);
		}
	}
	if (same_thread) {
		if (!tx->cb_thread_set) {
			tx->cb_thread_set = true;
			tx->cb_thread = pthread_self();
		} else {
			CHECK(pthread_equal(tx->cb_thread, pthread_self()),
			      "txn %llu: %s not on the thread of the txn's other callbacks", id,
			      what);
		}
	}
	tl_in_callback++;
}

static void cb_leave(struct htxn *tx)
{
	tl_in_callback--;
	atomic_store_explicit(&tx->h->cb_active, 0, memory_order_relaxed);
}

/* First callback of the retirement: ordering across txns. */
static void retire_start(struct htxn *tx)
{
	struct hrt *h = tx->h;

	if (tx->retire_seq != 0)
		return;
	tx->retire_seq = atomic_fetch_add_explicit(&tx->seq, 1, memory_order_relaxed);
	if (h->rt_flags & JT_RUNTIME_ORDERED) {
		CHECK(tx->commit_no > h->ord_last[tx->builder_id],
		      "ordered runtime: txn %llu (builder %d commit #%llu) retired after commit "
		      "#%llu",
		      (unsigned long long)tx->uid, tx->builder_id,
		      (unsigned long long)tx->commit_no,
		      (unsigned long long)h->ord_last[tx->builder_id]);
		h->ord_last[tx->builder_id] = tx->commit_no;
	}
}

static void note_status(struct htxn *tx, int status, const char *what)
{
	if (!tx->status_known) {
		tx->status_known = true;
		tx->status_seen = status;
	} else {
		CHECK(tx->status_seen == status, "txn %llu: %s got status %d, earlier callbacks %d",
		      (unsigned long long)tx->uid, what, status, tx->status_seen);
	}
}

static void finish_dispatch(struct htxn *tx)
{
	atomic_fetch_add_explicit(&tx->h->retired_obs, 1, memory_order_relaxed);
	tx_put(tx);
}

static void cancel_cb(void *opaque)
{
	struct hmember *m = opaque;
	struct htxn *tx = m->tx;
	unsigned long long id = (unsigned long long)tx->uid;

	cb_enter(tx, "cancel", false);
	CHECK(m->armed, "txn %llu m%u: cancel for a job never armed", id, m->idx);
	CHECK(tx->may_fail, "txn %llu m%u: cancel on a txn that cannot fail (grouped=%d)", id,
	      m->idx, !!(tx->flags & JT_TXN_GROUPED));
	CHECK(m->cancel_calls == 0, "txn %llu m%u: cancel twice", id, m->idx);
	CHECK(m->done_calls == 0, "txn %llu m%u: cancel after done", id, m->idx);
	CHECK(jt_job_cancelled(m->job), "txn %llu m%u: cancel but jt_job_cancelled() false", id,
	      m->idx);
	m->cancel_calls++;
	atomic_fetch_add_explicit(&tx->h->cancels, 1, memory_order_relaxed);
	atomic_store_explicit(&m->cancel_seen, 1, memory_order_release);
	cb_leave(tx);
}

static void maybe_nested(struct hrt *h)
{
	uint64_t *rng = &h->cb_rng;
	struct htxn *saved = tl_building;

	if (rng_pct(rng, 2)) {
		CHECK(jt_runtime_drain(h->rt, 0) == -EDEADLK,
		      "drain from a callback is not -EDEADLK");
		CHECK(jt_runtime_destroy(h->rt) == -EDEADLK,
		      "destroy from a callback is not -EDEADLK");
	}
	if (rng_pct(rng, 2)) {
		struct jt_stats s;

		/* Allowed from a callback; the counters are no single snapshot,
		 * so only the histogram's own order is checked. */
		jt_runtime_stats(h->rt, &s);
		CHECK(s.retire_latency_p50_ns <= s.retire_latency_max_ns,
		      "stats from a callback: p50 %llu > max %llu",
		      (unsigned long long)s.retire_latency_p50_ns,
		      (unsigned long long)s.retire_latency_max_ns);
	}
	if (!rng_pct(rng, 4))
		return;
	if (build_txn(h, rng, (int)g_opt.builders + 1, &h->cb_commit_no, 1, false))
		atomic_fetch_add_explicit(&h->nested, 1, memory_order_relaxed);
	tl_building = saved;
}

static void done_cb(void *opaque, int ret, int status)
{
	struct hmember *m = opaque;
	struct htxn *tx = m->tx;
	unsigned long long id = (unsigned long long)tx->uid;
	int expect;

	cb_enter(tx, "done", true);
	retire_start(tx);
	CHECK(m->done_calls == 0, "txn %llu m%u: done twice", id, m->idx);
	CHECK(tx->txn_done_calls == 0, "txn %llu m%u: done after the txn's done", id, m->idx);
	CHECK(tx->destroys == 0, "txn %llu m%u: done after a destroy", id, m->idx);
	for (unsigned i = 0; i < tx->n; i++) {
		const struct hmember *o = &tx->m[i];

		if (o->ops_kind == OPS_NULL)
			continue;
		if (i < m->idx)
			CHECK(o->done_calls == 1, "txn %llu: done m%u before m%u", id, m->idx, i);
		else if (i > m->idx)
			CHECK(o->done_calls == 0, "txn %llu: done m%u after m%u", id, m->idx, i);
	}
	m->done_calls++;
	m->done_ret = ret;
	expect = m->armed ? m->actual_ret : 0;
	CHECK(ret == expect, "txn %llu m%u: done ret %d, expected %d (armed %d mode %d how %d)", id,
	      m->idx, ret, expect, m->armed, m->mode, m->how);
	if (m->armed) {
		CHECK(m->completed, "txn %llu m%u: done before its job's completer ran", id,
		      m->idx);
		CHECK(m->payload == payload_of(m),
		      "txn %llu m%u: completer's payload not visible in done (%d != %d)", id,
		      m->idx, m->payload, payload_of(m));
		CHECK(atomic_load_explicit(&m->wrap_calls, memory_order_relaxed) ==
		              m->expect_wrap_calls,
		      "txn %llu m%u: intercepted cb ran %d times, expected %d", id, m->idx,
		      atomic_load_explicit(&m->wrap_calls, memory_order_relaxed),
		      m->expect_wrap_calls);
		if (m->expect_wrap_calls)
			CHECK(m->wrap_ret == ret && m->wrap_payload == payload2_of(m),
			      "txn %llu m%u: intercepted cb's writes not visible in done", id,
			      m->idx);
	}
	note_status(tx, status, "done");
	if (tx->depth == 0)
		maybe_nested(tx->h);
	cb_leave(tx);
}

static void txn_done_cb(void *opaque, int status)
{
	struct htxn *tx = opaque;
	unsigned long long id = (unsigned long long)tx->uid;

	cb_enter(tx, "txn done", true);
	retire_start(tx);
	CHECK(tx->txn_done_calls == 0, "txn %llu: txn done twice", id);
	CHECK(tx->destroys == 0, "txn %llu: txn done after a destroy", id);
	for (unsigned i = 0; i < tx->n; i++)
		if (tx->m[i].ops_kind != OPS_NULL)
			CHECK(tx->m[i].done_calls == 1, "txn %llu: txn done before m%u's done", id,
			      i);
	tx->txn_done_calls++;
	note_status(tx, status, "txn done");
	cb_leave(tx);
	if (tx->last_cb < 0)
		finish_dispatch(tx);
}

static void destroy_cb(void *opaque)
{
	struct hmember *m = opaque;
	struct htxn *tx = m->tx;
	unsigned long long id = (unsigned long long)tx->uid;
	bool last;

	cb_enter(tx, "destroy", true);
	if (tx->has_txn_done)
		CHECK(tx->txn_done_calls == 1, "txn %llu m%u: destroy before the txn's done", id,
		      m->idx);
	CHECK(m->destroy_calls == 0, "txn %llu m%u: destroy twice", id, m->idx);
	for (unsigned i = 0; i < tx->n; i++) {
		const struct hmember *o = &tx->m[i];

		if (o->ops_kind == OPS_NULL)
			continue;
		CHECK(o->done_calls == 1, "txn %llu: destroy m%u before done m%u", id, m->idx, i);
		if (i < m->idx)
			CHECK(o->destroy_calls == 1, "txn %llu: destroy m%u before m%u", id, m->idx,
			      i);
		else if (i > m->idx)
			CHECK(o->destroy_calls == 0, "txn %llu: destroy m%u after m%u", id, m->idx,
			      i);
	}
	m->destroy_calls++;
	tx->destroys++;
	last = (int)m->idx == tx->last_cb;
	cb_leave(tx);
	if (last)
		finish_dispatch(tx);
}

static const struct jt_member_ops ops_full = {
        .prepare = prepare_cb,
        .commit = commit_cb,
        .abort = abort_cb,
        .clean = clean_cb,
        .cancel = cancel_cb,
        .done = done_cb,
        .destroy = destroy_cb,
};

static const struct jt_member_ops ops_nosetup = {
        .cancel = cancel_cb,
        .done = done_cb,
        .destroy = destroy_cb,
};

/* ------------------------------------------------------------------ */
/* Building                                                            */
/* ------------------------------------------------------------------ */

static atomic_ullong g_uid = 1;

static bool will_arm(const struct htxn *tx, const struct hmember *m)
{
	switch (m->mode) {
	case ARM_BEFORE:
		return true;
	case ARM_IN_PREPARE:
	case ARM_PREP_THEN_COMMIT:
		return tx->fail_idx < 0 || (int)m->idx <= tx->fail_idx;
	case ARM_IN_COMMIT:
		return tx->fail_idx < 0;
	default:
		return false;
	}
}

static void plan_members(struct htxn *tx, uint64_t *rng, bool pool)
{
	/* Half the txns have no failing job at all; the others 1 in 4. */
	unsigned fail_pct = rng_pct(rng, 50) ? 0 : 25;
	int source = -1;

	for (unsigned i = 0; i < tx->n; i++) {
		struct hmember *m = &tx->m[i];
		unsigned p = rng_below(rng, 100);

		m->tx = tx;
		m->idx = i;
		m->ops_kind = p < 80 ? OPS_FULL : p < 92 ? OPS_NOSETUP : OPS_NULL;
		p = rng_below(rng, 100);
		if (m->ops_kind == OPS_FULL)
			m->mode = p < 15   ? ARM_NONE
			          : p < 45 ? ARM_BEFORE
			          : p < 65 ? ARM_IN_PREPARE
			          : p < 75 ? ARM_PREP_THEN_COMMIT
			                   : ARM_IN_COMMIT;
		else
			m->mode = p < 30 ? ARM_NONE : ARM_BEFORE;
		p = rng_below(rng, 100);
		if (pool)
			m->how = p < 40 ? HOW_COMPLETE : p < 70 ? HOW_WRAP : HOW_SUBMIT;
		else
			m->how = p < 55 ? HOW_COMPLETE : HOW_WRAP;
		if (m->how == HOW_SUBMIT && m->mode == ARM_PREP_THEN_COMMIT)
			m->mode = ARM_IN_PREPARE; /* submit launches at once */
		p = rng_below(rng, 100);
		m->result = p >= fail_pct          ? 0
		            : p < fail_pct * 2 / 5 ? -EIO
		            : p < fail_pct * 3 / 5 ? -ENOSPC
		                                   : -ECANCELED;
		m->hops = (int)rng_below(rng, 4);
		m->undo_via_newcb = rng_below(rng, 2);
	}
	tx->fail_idx = -1;
	if (rng_pct(rng, 6)) {
		unsigned i = rng_below(rng, tx->n);

		if (tx->m[i].ops_kind == OPS_FULL) {
			tx->fail_idx = (int)i;
			tx->prep_err = rng_below(rng, 2) ? -EIO : -EPERM;
			tx->m[i].prep_ret = tx->prep_err;
		}
	}
	/* A grouped txn fails for sure when an armed job fails. */
	if (tx->flags & JT_TXN_GROUPED)
		for (unsigned i = 0; i < tx->n && source < 0; i++)
			if (will_arm(tx, &tx->m[i]) && tx->m[i].result != 0)
				source = (int)i;
	tx->may_fail = tx->fail_idx >= 0 || source >= 0;
	/* Jobs that finish only once cancelled: only where failure is certain. */
	if (!tx->may_fail)
		return;
	for (unsigned i = 0; i < tx->n; i++) {
		struct hmember *m = &tx->m[i];

		if ((int)i == source || !will_arm(tx, m) || m->how == HOW_SUBMIT ||
		    m->ops_kind == OPS_NULL ||
		    (m->mode == ARM_PREP_THEN_COMMIT && tx->fail_idx >= 0))
			continue;
		if (rng_pct(rng, 15)) {
			m->wait_cancel = true;
			m->result = -ECANCELED;
		}
	}
}

static bool check_setup_log(struct htxn *tx)
{
	int expect[4 * MAX_MEMBERS + 4];
	int n = 0;
	int upto = tx->fail_idx >= 0 ? tx->fail_idx : (int)tx->n - 1;

	for (int i = 0; i <= upto; i++)
		if (tx->m[i].ops_kind == OPS_FULL)
			expect[n++] = LOG_PREPARE << 8 | i;
	if (tx->fail_idx < 0) {
		for (int i = 0; i < (int)tx->n; i++)
			if (tx->m[i].ops_kind == OPS_FULL)
				expect[n++] = LOG_COMMIT << 8 | i;
	} else {
		for (int i = upto; i >= 0; i--)
			if (tx->m[i].ops_kind == OPS_FULL)
				expect[n++] = LOG_ABORT << 8 | i;
	}
	for (int i = 0; i <= upto; i++)
		if (tx->m[i].ops_kind == OPS_FULL)
			expect[n++] = LOG_CLEAN << 8 | i;
	if (n != tx->setup_n)
		return false;
	return memcmp(expect, tx->setup_log, (size_t)n * sizeof(int)) == 0;
}

/* Rejected calls while the txn is the builder's (counted in misuse). */
static void misuse_probe(struct htxn *tx, uint64_t *rng)
{
	struct hrt *h = tx->h;

	for (unsigned i = 0; i < tx->n; i++) {
		struct hmember *m = &tx->m[i];
		int r;

		if (m->mode == ARM_NONE && rng_pct(rng, 3)) {
			r = jt_job_complete(m->job, 0);
			CHECK(r == -EINVAL, "complete of a never-armed job -> %d, expected -EINVAL",
			      r);
			atomic_fetch_add_explicit(&h->misuse_expected, 1, memory_order_relaxed);
		} else if (m->mode == ARM_BEFORE && m->armed && m->how != HOW_SUBMIT &&
		           rng_pct(rng, 3)) {
			r = jt_job_arm(m->job);
			CHECK(r == -EALREADY, "second jt_job_arm -> %d, expected -EALREADY", r);
			atomic_fetch_add_explicit(&h->misuse_expected, 1, memory_order_relaxed);
		}
	}
}

bool build_txn(struct hrt *h, uint64_t *rng, int builder_id, uint64_t *commit_no, int depth,
               bool busy_check)
{
	jt_runtime *rt = h->rt;
	unsigned flags = rng_pct(rng, 35) ? JT_TXN_GROUPED : 0;
	struct htxn *saved = tl_building;
	struct htxn *tx;
	jt_txn *t;
	unsigned n;
	int r, st = 0, expect;

	if (h->max_inflight != 0 && rng_pct(rng, 30))
		flags |= JT_TXN_NOWAIT;
	if (h->poll_mode)
		tl_in_wait++;
	r = jt_txn_begin(rt, flags, &t);
	if (h->poll_mode)
		tl_in_wait--;
	if (r == -EAGAIN) {
		CHECK((flags & JT_TXN_NOWAIT) || depth > 0,
		      "jt_txn_begin -> -EAGAIN without NOWAIT");
		atomic_fetch_add_explicit(&h->eagain, 1, memory_order_relaxed);
		return false;
	}
	CHECK(r == 0, "jt_txn_begin -> %d", r);
	if (r != 0)
		return false;
	atomic_fetch_add_explicit(&h->begun, 1, memory_order_relaxed);
	n = depth > 0 ? 1 + rng_below(rng, 3) : 1 + rng_below(rng, MAX_MEMBERS);
	tx = calloc(1, sizeof(*tx) + n * sizeof(struct hmember));
	if (tx == NULL)
		abort();
	tx->h = h;
	tx->uid = atomic_fetch_add_explicit(&g_uid, 1, memory_order_relaxed);
	tx->n = n;
	tx->flags = flags;
	tx->depth = depth;
	tx->builder_id = builder_id;
	atomic_store_explicit(&tx->seq, 1, memory_order_relaxed);
	atomic_fetch_add_explicit(&h->outstanding, 1, memory_order_relaxed);
	plan_members(tx, rng, h->workers > 0);
	tx->commit_wait = depth == 0 && !busy_check && rng_pct(rng, 8);
	tx->has_txn_done = !tx->commit_wait;
	tx->last_cb = -1;
	for (unsigned i = 0; i < n; i++)
		if (tx->m[i].ops_kind != OPS_NULL)
			tx->last_cb = (int)i;
	tx->dispatcher_ref = tx->last_cb >= 0 || tx->has_txn_done;
	atomic_store_explicit(&tx->refs, 1 + (int)tx->dispatcher_ref, memory_order_relaxed);

	for (unsigned i = 0; i < n; i++) {
		struct hmember *m = &tx->m[i];
		const struct jt_member_ops *ops = m->ops_kind == OPS_FULL      ? &ops_full
		                                  : m->ops_kind == OPS_NOSETUP ? &ops_nosetup
		                                                               : NULL;

		r = jt_txn_add(t, ops, m, &m->job);
		CHECK(r == 0 && m->job != NULL, "jt_txn_add -> %d", r);
	}
	/* Jobs armed before commit; some completed right here, twice. */
	for (unsigned i = 0; i < n; i++) {
		struct hmember *m = &tx->m[i];

		if (m->mode != ARM_BEFORE)
			continue;
		if (m->how != HOW_SUBMIT && !m->wait_cancel && depth == 0 && rng_pct(rng, 8)) {
			arm_member(m);
			if (!m->armed)
				continue;
			m->self_completed = true;
			complete_now(m, m->result, m->how == HOW_WRAP);
			if (m->how == HOW_WRAP) {
				tl_in_newcb++;
				m->new_cb(m->new_opaque, m->result); /* caught: cb must not run */
				tl_in_newcb--;
			} else {
				r = jt_job_complete(m->job, m->result);
				CHECK(r == -EALREADY, "second completion -> %d, expected -EALREADY",
				      r);
			}
			atomic_fetch_add_explicit(&h->misuse_expected, 1, memory_order_relaxed);
		} else {
			arm_and_launch(m);
		}
	}
	if (depth == 0)
		misuse_probe(tx, rng);
	if (busy_check) {
		r = jt_runtime_destroy(rt);
		CHECK(r == -EBUSY, "jt_runtime_destroy with an open txn -> %d, expected -EBUSY", r);
	}

	expect = tx->fail_idx >= 0 ? tx->prep_err : 0;
	tx->commit_no = ++*commit_no;
	atomic_fetch_add_explicit(&h->committed, 1, memory_order_relaxed);
	tl_building = tx;
	if (depth > 0 && rng_pct(rng, 30)) {
		r = jt_txn_commit_wait(t, -1, NULL);
		CHECK(r == -EDEADLK, "jt_txn_commit_wait in a callback -> %d, expected -EDEADLK",
		      r);
	}
	if (tx->commit_wait) {
		bool finite = tx->last_cb >= 0 && rng_pct(rng, 30);

		atomic_fetch_add_explicit(&h->waited, 1, memory_order_relaxed);
		tl_in_wait++;
		r = jt_txn_commit_wait(t, finite ? 1000000 : -1, &st);
		tl_in_wait--;
		if (r == -ETIMEDOUT) {
			CHECK(finite, "jt_txn_commit_wait(-1) -> -ETIMEDOUT");
		} else {
			CHECK(r == expect, "txn %llu: jt_txn_commit_wait -> %d, expected %d",
			      (unsigned long long)tx->uid, r, expect);
			tx->wait_status = st;
			/* Every callback returned before commit_wait did. */
			for (unsigned i = 0; i < n; i++)
				if (tx->m[i].ops_kind != OPS_NULL)
					CHECK(tx->m[i].done_calls == 1 &&
					              tx->m[i].destroy_calls == 1,
					      "txn %llu: commit_wait returned before m%u's "
					      "done/destroy",
					      (unsigned long long)tx->uid, i);
			note_status(tx, st, "commit_wait");
			if (!tx->dispatcher_ref) {
				tx->retire_seq = atomic_fetch_add_explicit(&tx->seq, 1,
				                                           memory_order_relaxed);
				atomic_fetch_add_explicit(&h->retired_obs, 1, memory_order_relaxed);
			}
		}
	} else {
		tl_in_commit++;
		r = jt_txn_commit(t, txn_done_cb, tx);
		tl_in_commit--;
		CHECK(r == expect, "txn %llu: jt_txn_commit -> %d, expected %d",
		      (unsigned long long)tx->uid, r, expect);
	}
	tl_building = saved;
	tx->commit_ret = r;
	if (tx->fail_idx >= 0)
		tx->prep_hi = atomic_fetch_add_explicit(&tx->seq, 1, memory_order_relaxed);
	CHECK(check_setup_log(tx), "txn %llu: setup pass order wrong (fail_idx %d, %d entries)",
	      (unsigned long long)tx->uid, tx->fail_idx, tx->setup_n);
	tx_put(tx); /* the builder's reference */
	return true;
}
