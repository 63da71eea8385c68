/*
 * setup_pass.c - the all-or-nothing setup of jt_txn_commit.
 *
 * prepare in registration order until the first failure; then commit (all
 * succeeded, registration order) or abort (reverse order, every member whose
 * prepare ran, the failing one included); then clean (registration order,
 * the same members). A member without a prepare callback counts as
 * prepared. Runs on the committing thread with no lock held.
 */
#include "txn/txn_internal.h"

typedef void member_fn(void *opaque);

static member_fn *op_commit(const struct jt_member_ops *ops)
{
	return ops != NULL ? ops->commit : NULL;
}

static member_fn *op_abort(const struct jt_member_ops *ops)
{
	return ops != NULL ? ops->abort : NULL;
}

static member_fn *op_clean(const struct jt_member_ops *ops)
{
	return ops != NULL ? ops->clean : NULL;
}

/* Call pick(ops) on the first `n` members, in registration order. */
static void call_forward(jt_txn *t, size_t n, member_fn *(*pick)(const struct jt_member_ops *))
{
	for (struct member_chunk *c = t->first; c != NULL && n > 0; c = c->next) {
		for (uint32_t i = 0; i < c->count && n > 0; i++, n--) {
			member_fn *fn = pick(c->jobs[i].ops);

			if (fn != NULL)
				fn(c->jobs[i].opaque);
		}
	}
}

/* Call abort on the first `n` members, last one first. */
static void call_abort_backward(jt_txn *t, size_t n)
{
	size_t before = jt_load_relaxed(&t->members);

	for (struct member_chunk *c = t->last; c != NULL; c = c->prev) {
		before -= c->count; /* members in the chunks before c */
		for (uint32_t i = c->count; i-- > 0;) {
			member_fn *fn;

			if (before + i >= n)
				continue;
			fn = op_abort(c->jobs[i].ops);
			if (fn != NULL)
				fn(c->jobs[i].opaque);
		}
	}
}

int txn_setup_pass(jt_txn *t)
{
	size_t prepared = 0;
	int err = 0;

	for (struct member_chunk *c = t->first; c != NULL && err == 0; c = c->next) {
		for (uint32_t i = 0; i < c->count && err == 0; i++) {
			jt_job *j = &c->jobs[i];

			prepared++;
			if (j->ops != NULL && j->ops->prepare != NULL)
				err = j->ops->prepare(j, j->opaque);
		}
	}
	if (err == 0) {
		call_forward(t, prepared, op_commit);
	} else {
		/* Failing from now on: jt_job_cancelled turns true. */
		txn_record_failure(t, err, true);
		call_abort_backward(t, prepared);
	}
	call_forward(t, prepared, op_clean);
	return err;
}
