/*
 * fuzz_model.c - the reference model (fuzz_model.h): the contract's status
 * rule, failing rule, hand-offs and callback order, replayed exactly for
 * one thread.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_model.h"

void fz_fail(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fputs("fuzz_txn: contract violated: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
	abort();
}

void model_init(struct fz_model *md, bool ordered, unsigned max_inflight)
{
	memset(md, 0, sizeof(*md));
	md->ordered = ordered;
	md->max_inflight = max_inflight;
	for (unsigned i = 0; i < FZ_TXNS; i++)
		md->tx[i].slot = i;
}

struct fz_txn *model_free_slot(struct fz_model *md)
{
	for (unsigned i = 0; i < FZ_TXNS; i++)
		if (md->tx[i].state == TX_FREE ||
		    (md->tx[i].state == TX_RETIRED && md->tx[i].cb_left == 0))
			return &md->tx[i];
	return NULL;
}

void model_begin(struct fz_model *md, struct fz_txn *tx, bool grouped)
{
	unsigned slot = tx->slot;

	memset(tx, 0, sizeof(*tx));
	tx->slot = slot;
	tx->state = TX_OPEN;
	tx->grouped = grouped;
	tx->pending = 1; /* the builder's hold */
	md->begun++;
	md->inflight++;
}

static void push(struct fz_model *md, struct fz_txn *tx, bool cancel)
{
	FZ_CHECK(md->qlen < FZ_QUEUE, "model queue overflow");
	md->q[(md->qhead + md->qlen++) % FZ_QUEUE] =
	        (struct fz_event){.tx = tx, .cancel = cancel, .seq = ++md->pushed};
}

static void expect(struct fz_model *md, int cb, struct fz_txn *tx, unsigned idx)
{
	FZ_CHECK(md->elen < FZ_EXPECT, "model expectation overflow");
	md->e[(md->ehead + md->elen++) % FZ_EXPECT] =
	        (struct fz_expect){.cb = cb, .tx = tx, .idx = idx};
	tx->cb_left++;
}

void model_arm(struct fz_txn *tx, struct fz_member *m)
{
	m->armed = true;
	tx->armed++;
	tx->pending++;
}

/* Status rule and failing rule; true when the caller's unit went to a
 * cancel request. */
static bool record_failure(struct fz_model *md, struct fz_txn *tx, int ret, bool from_prepare)
{
	bool first = tx->status == 0;
	bool was_failing = tx->failing;

	if (tx->status == 0 || (tx->status == -ECANCELED && ret != -ECANCELED))
		tx->status = ret;
	if (!from_prepare && !(first && tx->grouped))
		return false;
	tx->failing = true;
	if (was_failing || tx->state != TX_SEALED)
		return false;
	push(md, tx, true);
	return true;
}

int model_setup_pass(struct fz_model *md, struct fz_txn *tx)
{
	int err = 0;
	int upto = (int)tx->n - 1;

	for (unsigned i = 0; i < tx->n; i++) {
		struct fz_member *m = &tx->m[i];

		if (!m->full_ops)
			continue;
		if (m->arm_in_prepare) {
			m->prep_arm_ret = m->armed ? -EALREADY : 0;
			if (m->armed)
				md->misuse++;
			else
				model_arm(tx, m);
		}
		if (m->prep_ret != 0) {
			err = m->prep_ret;
			upto = (int)i;
			break;
		}
	}
	/* expected setup log: prepare.., commit.. or abort (reverse).., clean.. */
	tx->setup_n = 0;
	for (int i = 0; i <= upto; i++)
		if (tx->m[i].full_ops)
			tx->setup_log[tx->setup_n++] = 1 << 8 | i;
	if (err == 0) {
		for (int i = 0; i < (int)tx->n; i++)
			if (tx->m[i].full_ops)
				tx->setup_log[tx->setup_n++] = 2 << 8 | i;
	} else {
		for (int i = upto; i >= 0; i--)
			if (tx->m[i].full_ops)
				tx->setup_log[tx->setup_n++] = 3 << 8 | i;
	}
	for (int i = 0; i <= upto; i++)
		if (tx->m[i].full_ops)
			tx->setup_log[tx->setup_n++] = 4 << 8 | i;
	if (err != 0)
		record_failure(md, tx, err, true);
	return err;
}

void model_seal(struct fz_model *md, struct fz_txn *tx)
{
	tx->state = TX_SEALED;
	md->committed++;
	md->jobs_armed += tx->armed;
	if (md->ordered)
		md->olist[md->olen++] = tx;
	if (tx->failing) {
		push(md, tx, true); /* the hold becomes the cancel request's unit */
		return;
	}
	if (--tx->pending == 0)
		push(md, tx, false);
}

void model_complete(struct fz_model *md, struct fz_member *m, int ret)
{
	struct fz_txn *tx = m->tx;

	m->completed = true;
	m->ret = ret;
	if (ret != 0 && record_failure(md, tx, ret, false))
		return;
	if (--tx->pending == 0)
		push(md, tx, false);
}

static void retire(struct fz_model *md, struct fz_txn *tx)
{
	for (unsigned i = 0; i < tx->n; i++)
		if (tx->m[i].full_ops)
			expect(md, CB_DONE, tx, i);
	if (tx->has_done)
		expect(md, CB_TXN_DONE, tx, 0);
	for (unsigned i = 0; i < tx->n; i++)
		if (tx->m[i].full_ops)
			expect(md, CB_DESTROY, tx, i);
	tx->state = TX_RETIRED;
	md->retired++;
	md->retired_in_call++;
	/* the library gives the max_inflight slot back after the callbacks */
	if (tx->cb_left == 0)
		md->inflight--;
	else
		tx->holds_slot = true;
	md->jobs_completed += tx->armed;
	for (unsigned i = 0; i < tx->n; i++)
		md->jobs_failed += tx->m[i].armed && tx->m[i].ret != 0;
	md->failed += tx->status != 0;
	if (md->ordered) {
		FZ_CHECK(md->olen > 0 && md->olist[0] == tx, "ordered: retiring a non-head txn");
		memmove(md->olist, md->olist + 1, --md->olen * sizeof(md->olist[0]));
	}
}

static void ready(struct fz_model *md, struct fz_txn *tx)
{
	if (md->ordered)
		tx->ready = true;
	else
		retire(md, tx);
}

static bool backlog_ready(const struct fz_model *md)
{
	return md->ordered && md->olen > 0 && md->olist[0]->ready;
}

bool model_step(struct fz_model *md, uint64_t snap)
{
	struct fz_event ev;
	struct fz_txn *tx;

	if (backlog_ready(md)) {
		retire(md, md->olist[0]);
		return true;
	}
	if (md->qlen == 0 || md->q[md->qhead].seq > snap)
		return false;
	ev = md->q[md->qhead];
	md->qhead = (md->qhead + 1) % FZ_QUEUE;
	md->qlen--;
	tx = ev.tx;
	if (tx->failing && !tx->cancel_delivered) {
		tx->cancel_delivered = true;
		for (unsigned i = 0; i < tx->n; i++) {
			struct fz_member *m = &tx->m[i];

			if (!m->armed || m->completed)
				continue;
			md->cancels++;
			if (m->full_ops)
				expect(md, CB_CANCEL, tx, i);
		}
		if (--tx->pending != 0)
			return true;
	}
	ready(md, tx);
	return true;
}

static const char *cb_name(int cb)
{
	return cb == CB_CANCEL     ? "cancel"
	       : cb == CB_DONE     ? "done"
	       : cb == CB_TXN_DONE ? "txn done"
	                           : "destroy";
}

void model_observe(struct fz_model *md, int cb, struct fz_txn *tx, unsigned idx)
{
	struct fz_expect *e;

	while (md->elen == 0)
		FZ_CHECK(model_step(md, UINT64_MAX),
		         "%s of txn slot %u m%u, but the model expects no callback", cb_name(cb),
		         tx->slot, idx);
	e = &md->e[md->ehead];
	FZ_CHECK(e->cb == cb && e->tx == tx && (cb == CB_TXN_DONE || e->idx == idx),
	         "%s of txn slot %u m%u, but the model expects %s of txn slot %u m%u", cb_name(cb),
	         tx->slot, idx, cb_name(e->cb), e->tx->slot, e->idx);
	md->ehead = (md->ehead + 1) % FZ_EXPECT;
	md->elen--;
	if (--tx->cb_left == 0 && tx->holds_slot) {
		tx->holds_slot = false;
		md->inflight--;
	}
}

void model_after_dispatch(struct fz_model *md, bool all, uint64_t snap)
{
	FZ_CHECK(md->elen == 0, "dispatch returned with %u expected callbacks not run (next: %s)",
	         md->elen, cb_name(md->e[md->ehead].cb));
	if (!all)
		return;
	while (model_step(md, snap))
		FZ_CHECK(md->elen == 0, "dispatch returned but left %s of txn slot %u ready to run",
		         cb_name(md->e[md->ehead].cb), md->e[md->ehead].tx->slot);
}

bool model_can_drain(const struct fz_model *md)
{
	for (unsigned i = 0; i < FZ_TXNS; i++) {
		const struct fz_txn *tx = &md->tx[i];

		if (tx->state != TX_SEALED)
			continue;
		for (unsigned k = 0; k < tx->n; k++)
			if (tx->m[k].armed && !tx->m[k].completed)
				return false;
	}
	return true;
}
