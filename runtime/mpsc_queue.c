/*
 * mpsc_queue.c - Vyukov's intrusive MPSC queue with a stub node.
 *
 * Invariant: the chain head -> ... -> tail is linked except for at most the
 * links that producers are about to store (one per producer between its
 * exchange and its store). `head` is the consumer's cursor: it points at the
 * stub or at the oldest unconsumed node.
 */
#include "runtime/mpsc_queue.h"

#include <sched.h>

void jt_mpsc_init(struct jt_mpsc_queue *q)
{
	jt_store_relaxed(&q->stub.next, NULL);
	jt_store_relaxed(&q->tail, &q->stub);
	q->head = &q->stub;
}

struct jt_mpsc_node *jt_mpsc_peek(struct jt_mpsc_queue *q)
{
	struct jt_mpsc_node *head = q->head;

	if (head == &q->stub) {
		/* Pairs with the release store of the link in jt_mpsc_push. */
		struct jt_mpsc_node *next = jt_load_acquire(&head->next);

		if (next == NULL)
			return NULL;
		q->head = next;
		head = next;
	}
	return head;
}

struct jt_mpsc_node *jt_mpsc_pop(struct jt_mpsc_queue *q)
{
	struct jt_mpsc_node *head = jt_mpsc_peek(q);
	struct jt_mpsc_node *next;

	if (head == NULL)
		return jt_load_seq_cst(&q->tail) == &q->stub ? NULL : JT_MPSC_BUSY;
	/* Pairs with the release store of the link in jt_mpsc_push. */
	next = jt_load_acquire(&head->next);
	if (next != NULL) {
		q->head = next;
		return head;
	}
	/* `head` is the last linked node: detach it by queueing the stub. */
	if (jt_load_seq_cst(&q->tail) != head)
		return JT_MPSC_BUSY;
	jt_mpsc_push(q, &q->stub);
	next = jt_load_acquire(&head->next);
	if (next == NULL)
		return JT_MPSC_BUSY; /* a producer slipped in before the stub */
	q->head = next;
	return head;
}

/* A producer is between its exchange and its link: let it finish. */
static void wait_for_producer(unsigned *spins)
{
	if (++*spins < 128)
		jt_cpu_relax();
	else
		sched_yield(); /* the producer may have been preempted */
}

struct jt_mpsc_node *jt_mpsc_pop_wait(struct jt_mpsc_queue *q)
{
	unsigned spins = 0;
	struct jt_mpsc_node *n;

	while ((n = jt_mpsc_pop(q)) == JT_MPSC_BUSY)
		wait_for_producer(&spins);
	return n;
}

/* Pairs with the release store of the link in jt_mpsc_push. */
struct jt_mpsc_node *jt_mpsc_wait_link(struct jt_mpsc_node *n)
{
	unsigned spins = 0;
	struct jt_mpsc_node *next;

	while ((next = jt_load_acquire(&n->next)) == NULL)
		wait_for_producer(&spins);
	return next;
}
