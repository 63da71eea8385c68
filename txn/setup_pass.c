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
	for (struct member_chunk *c = &t->head; c != NULL && n > 0; c = chunk_next(t, c)) {
		for (uint32_t i = 0; i < c->count && n > 0; i++, n--) {
			member_fn *fn = pick(chunk_jobs(t, c)[i].ops);

			if (fn != NULL)
				fn(chunk_jobs(t, c)[i].opaque);
		}
	}
}

/*
 * Call abort on the members of `c` and the chunks after it that are among
 * the first `n` of the txn (`before` members precede `c`), last one first.
 * Chunks are singly linked: recurse to the end first (depth: the number of
 * chunks, a few dozen for a million members).
 */
static void call_abort_backward(jt_txn *t, struct member_chunk *c, size_t before, size_t n)
{
	if (c == NULL || before >= n)
		return;
	call_abort_backward(t, chunk_next(t, c), before + c->count, n);
	for (uint32_t i = c->count; i-- > 0;) {
		member_fn *fn = before + i < n ? op_abort(chunk_jobs(t, c)[i].ops) : NULL;

		if (fn != NULL)
			fn(chunk_jobs(t, c)[i].opaque);
	}
}

int txn_setup_pass(jt_txn *t)
{
	size_t prepared = 0;
	int err = 0;

	for (struct member_chunk *c = &t->head; c != NULL && err == 0; c = chunk_next(t, c)) {
		for (uint32_t i = 0; i < c->count && err == 0; i++) {
			jt_job *j = &chunk_jobs(t, c)[i];

			prepared++;
			if (j->ops != NULL && j->ops->prepare != NULL)
				err = j->ops->prepare(j, j->opaque);
		}
	}
	if (err == 0) {
		call_forward(t, prepared, op_commit);
	} else {
		/* Failing from now on: jt_job_cancelled turns true. */
		txn_record_failure(t, err, false); /* no unit: a prepare is no job */
		call_abort_backward(t, &t->head, 0, prepared);
	}
	call_forward(t, prepared, op_clean);
	return err;
}
