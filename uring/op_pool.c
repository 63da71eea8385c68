/*
 * op_pool.c - operation records: the ring's pool and their references
 * (uring_internal.h explains who holds which).
 *
 * A record whose last reference goes is pushed on `returned` (a Treiber
 * stack: any thread pushes, only the lock holder takes, and it takes the
 * whole stack with one exchange, so there is no ABA). jt_uring_prep, under
 * the lock, reuses from `free_list`, refilled from `returned`; it allocates
 * through the runtime's allocator only when both are empty. Records go
 * back to the allocator only with the ring's memory (uring_op_free_all).
 */
#include "txn/job_hook.h"
#include "uring/uring_internal.h"

struct uring_op *uring_op_get(struct jt_uring *u)
{
	struct uring_op *op = u->free_list;

	if (op == NULL) {
		/* acquire: pairs with the release CAS in uring_op_put; the
		 * putters' last uses of the records happen before. */
		op = jt_xchg_acq_rel(&u->returned, NULL);
	}
	if (op == NULL) {
		op = jt_private_runtime_alloc(u->rt, sizeof(*op));
		if (op == NULL)
			return NULL;
		op->u = u;
		op->next = NULL;
		jt_store_relaxed(&op->refs, 0);
		jt_store_relaxed(&op->st, 0);
		op->all_next = u->all_ops;
		u->all_ops = op;
	}
	u->free_list = op->next;
	return op;
}

void uring_op_unget(struct jt_uring *u, struct uring_op *op)
{
	op->next = u->free_list;
	u->free_list = op;
}

void uring_op_publish(struct uring_op *op, unsigned refs)
{
	/* release: what jt_uring_prep wrote (job, check, the reset st)
	 * happens before the use of any thread that takes a reference with
	 * uring_op_tryget's acquiring CAS. */
	jt_store_release(&op->refs, refs);
}

bool uring_op_tryget(struct uring_op *op)
{
	uint32_t refs = jt_load_relaxed(&op->refs);

	while (refs != 0) {
		/* acq_rel: acquire pairs with uring_op_publish (the record's
		 * fields are its current user's); release keeps the count's
		 * release sequence for the next acquirer. */
		if (jt_cas_acq_rel(&op->refs, &refs, refs + 1))
			return true;
	}
	return false;
}

void uring_op_ref(struct uring_op *op)
{
	/* relaxed: the caller holds a reference, so the count is not 0 and
	 * the record is not reused; ordering comes with the put. */
	jt_fetch_add_relaxed(&op->refs, 1);
}

void uring_op_put(struct uring_op *op)
{
	struct jt_uring *u = op->u;
	struct uring_op *head;

	/* acq_rel: every holder's uses happen before the last put, which
	 * then hands the record to the pool. */
	if (jt_fetch_sub_acq_rel(&op->refs, 1) != 1)
		return;
	head = jt_load_relaxed(&u->returned);
	do
		op->next = head;
	/* release: op->next and the last uses happen before the record is
	 * taken (the acquire exchange in uring_op_get). */
	while (!jt_cas_weak_release(&u->returned, &head, op));
}

void uring_op_free_all(struct jt_uring *u)
{
	struct uring_op *op = u->all_ops, *next;

	for (; op != NULL; op = next) {
		next = op->all_next;
		jt_private_runtime_free(u->rt, op, sizeof(*op));
	}
	u->all_ops = NULL;
}
