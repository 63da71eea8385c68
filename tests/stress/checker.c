/*
 * checker.c - per-txn verification, run by whoever drops a txn record's last
 * reference (every callback, completion and the builder's own checks are
 * over by then), plus failure reporting.
 *
 * Status rule (contract, "Status and failure"): the status is the first
 * non-zero ret of its jobs or the failing prepare's error, a -ECANCELED
 * status being replaced by the first later failure that is not -ECANCELED.
 * Completion order across threads is only known through the txn's atomic
 * sequence: each failure has a window [lo, hi] (sequence before the
 * completion call, after it returned) that contains the moment the library
 * recorded it. The checks are the ones that hold for every order consistent
 * with those windows:
 *   - status == 0 iff nothing failed;
 *   - the status is one of the recorded failures;
 *   - status == -ECANCELED only if every failure was -ECANCELED;
 *   - a status v != -ECANCELED has a failure e with value v such that no
 *     failure of another non-ECANCELED value certainly came before e.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "stress.h"

#define MAX_REPORTS 40

void stress_fail(const char *fmt, ...)
{
	unsigned long long n = atomic_fetch_add(&g_failed, 1);
	va_list ap;

	if (n >= MAX_REPORTS) {
		if (n == MAX_REPORTS)
			fprintf(stderr, "FAIL: (further failures not printed)\n");
		return;
	}
	va_start(ap, fmt);
	fputs("FAIL: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
}

int payload_of(const struct hmember *m)
{
	return (int)((m->tx->uid * 2654435761u) ^ (m->idx * 40503u)) | 1;
}

int payload2_of(const struct hmember *m)
{
	return payload_of(m) ^ 0x5a5a5a5a;
}

bool is_library_thread(const char *prefix)
{
	static _Thread_local char name[16];
	static _Thread_local bool have;

	if (!have) {
		if (pthread_getname_np(pthread_self(), name, sizeof(name)) != 0)
			name[0] = '\0';
		have = true;
	}
	return strncmp(name, prefix, strlen(prefix)) == 0;
}

struct failure {
	int val;
	uint64_t lo, hi;
};

static void check_status(const struct htxn *tx, int status, const struct failure *f, unsigned nf)
{
	unsigned long long id = (unsigned long long)tx->uid;
	bool any_real = false, found = false;

	if (nf == 0) {
		CHECK(status == 0, "txn %llu: status %d but nothing failed", id, status);
		return;
	}
	CHECK(status != 0, "txn %llu: status 0 but %u failures (first %d)", id, nf, f[0].val);
	for (unsigned i = 0; i < nf; i++) {
		any_real |= f[i].val != -ECANCELED;
		found |= f[i].val == status;
	}
	CHECK(found, "txn %llu: status %d is none of its %u failures", id, status, nf);
	if (any_real)
		CHECK(status != -ECANCELED,
		      "txn %llu: status -ECANCELED although a non-ECANCELED failure was recorded",
		      id);
	if (status == 0 || status == -ECANCELED || !found)
		return;
	for (unsigned i = 0; i < nf; i++) {
		bool beaten = false;

		if (f[i].val != status)
			continue;
		for (unsigned k = 0; k < nf && !beaten; k++)
			beaten = f[k].val != status && f[k].val != -ECANCELED && f[k].hi < f[i].lo;
		if (!beaten)
			return;
	}
	CHECK(false, "txn %llu: status %d, but a failure of another value certainly came first", id,
	      status);
}

void verify_txn(struct htxn *tx)
{
	struct hrt *h = tx->h;
	unsigned long long id = (unsigned long long)tx->uid;
	struct failure f[MAX_MEMBERS + 1];
	unsigned nf = 0;
	unsigned long long armed = 0, failed_jobs = 0, null_armed = 0;

	if (tx->has_txn_done)
		CHECK(tx->txn_done_calls == 1, "txn %llu: txn done ran %d times", id,
		      tx->txn_done_calls);
	for (unsigned i = 0; i < tx->n; i++) {
		const struct hmember *m = &tx->m[i];

		if (m->ops_kind != OPS_NULL) {
			CHECK(m->done_calls == 1, "txn %llu m%u: done ran %d times", id, i,
			      m->done_calls);
			CHECK(m->destroy_calls == 1, "txn %llu m%u: destroy ran %d times", id, i,
			      m->destroy_calls);
			if (m->wait_cancel && m->armed)
				CHECK(m->cancel_calls == 1,
				      "txn %llu m%u: job waited for cancel, cancel ran %d times",
				      id, i, m->cancel_calls);
		}
		if (!tx->may_fail) {
			CHECK(m->cancel_calls == 0,
			      "txn %llu m%u: cancel on a txn that cannot fail (grouped %d)", id, i,
			      !!(tx->flags & JT_TXN_GROUPED));
			CHECK(!m->saw_cancelled,
			      "txn %llu m%u: jt_job_cancelled() true on a txn that cannot fail", id,
			      i);
		}
		if (!m->armed)
			continue;
		armed++;
		CHECK(m->completed, "txn %llu m%u: armed job never completed but txn retired", id,
		      i);
		if (m->ops_kind == OPS_NULL && tx->may_fail)
			null_armed++;
		if (m->actual_ret != 0) {
			uint64_t hi = atomic_load_explicit(&m->hi, memory_order_relaxed);

			failed_jobs++;
			f[nf].val = m->actual_ret;
			f[nf].lo = m->lo;
			f[nf].hi = hi != 0 ? hi : tx->retire_seq != 0 ? tx->retire_seq : UINT64_MAX;
			nf++;
		}
	}
	if (tx->fail_idx >= 0) {
		f[nf].val = tx->prep_err;
		f[nf].lo = tx->prep_lo;
		f[nf].hi = tx->prep_hi;
		nf++;
	}
	if (tx->status_known) {
		check_status(tx, tx->status_seen, f, nf);
		if (tx->status_seen != 0)
			atomic_fetch_add_explicit(&h->status_failed, 1, memory_order_relaxed);
	} else {
		CHECK(false, "txn %llu: retired without any observed status", id);
	}
	atomic_fetch_add_explicit(&h->armed, armed, memory_order_relaxed);
	atomic_fetch_add_explicit(&h->jobs_failed, failed_jobs, memory_order_relaxed);
	atomic_fetch_add_explicit(&h->null_armed_failing, null_armed, memory_order_relaxed);
	atomic_fetch_add_explicit(&h->verified, 1, memory_order_relaxed);
	atomic_fetch_add_explicit(&g_passed, 1, memory_order_relaxed);
}

void tx_put(struct htxn *tx)
{
	struct hrt *h = tx->h;

	/* acq_rel: the last one sees every writer's shadow updates. */
	if (atomic_fetch_sub_explicit(&tx->refs, 1, memory_order_acq_rel) != 1)
		return;
	verify_txn(tx);
	free(tx);
	atomic_fetch_sub_explicit(&h->outstanding, 1, memory_order_release);
}
