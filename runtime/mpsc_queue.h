/*
 * mpsc_queue.h - intrusive multi-producer single-consumer queue (Vyukov).
 *
 * Producers: wait-free, one exchange and one store, any number of threads,
 *            no registration. A node may be pushed again once popped
 *            (jt_mpsc_push re-initialises it).
 * Consumer:  one thread at a time (the caller serialises), in one of two
 *            styles per queue, never both:
 *            - node by node: jt_mpsc_peek / jt_mpsc_pop(_wait);
 *            - by batch: jt_mpsc_splice takes everything queued with one
 *              exchange, and jt_mpsc_chain_next walks it.
 *            Lock-free except for one window: a producer that has swung the
 *            tail but not yet linked its node. The consumer then spins (then
 *            yields) until the link appears; it never sleeps on a timer.
 *
 * Ordering: everything a producer wrote before jt_mpsc_push is visible to
 * the consumer after the pop that returns that node (push's release store
 * of the link pairs with pop's acquire load of it).
 */
#ifndef JT_MPSC_QUEUE_H
#define JT_MPSC_QUEUE_H

#include <stdbool.h>
#include <stddef.h>

#include "atomics/atomic_ops.h"
#include "atomics/cacheline.h"

struct jt_mpsc_node {
	struct jt_mpsc_node *_Atomic next;
};

struct jt_mpsc_queue {
	/* Producers' line: every push exchanges it. */
	jt_cacheline_aligned struct jt_mpsc_node *_Atomic tail;
	/* Consumer's line. */
	jt_cacheline_aligned struct jt_mpsc_node *head;
	struct jt_mpsc_node stub;
};

/* Returned by jt_mpsc_pop while a producer is between its two steps. */
#define JT_MPSC_BUSY ((struct jt_mpsc_node *)1)

void jt_mpsc_init(struct jt_mpsc_queue *q);

/*
 * jt_mpsc_push: append `n`. Any thread. Sequentially consistent on the tail
 * exchange, so that a following seq_cst load of a sleep flag and the
 * consumer's seq_cst store of that flag followed by jt_mpsc_empty form a
 * Dekker pair: either the consumer sees the node or the producer sees the
 * consumer asleep.
 */
static inline void jt_mpsc_push(struct jt_mpsc_queue *q, struct jt_mpsc_node *n)
{
	struct jt_mpsc_node *prev;

	jt_store_relaxed(&n->next, NULL);
	prev = jt_xchg_seq_cst(&q->tail, n);
	/* Pairs with the acquire loads of `next` in jt_mpsc_pop. */
	jt_store_release(&prev->next, n);
}

/*
 * jt_mpsc_push_chain: append the chain first .. last, already linked by
 * the caller (links relaxed or plain: the exchange and the release store
 * below publish them), in one exchange. Any thread; as jt_mpsc_push.
 */
static inline void jt_mpsc_push_chain(struct jt_mpsc_queue *q, struct jt_mpsc_node *first,
                                      struct jt_mpsc_node *last)
{
	struct jt_mpsc_node *prev;

	jt_store_relaxed(&last->next, NULL);
	prev = jt_xchg_seq_cst(&q->tail, last);
	/* Pairs with the acquire loads of `next` in the consumer; it makes
	 * the chain's own links, stored before, visible with it. */
	jt_store_release(&prev->next, first);
}

/*
 * jt_mpsc_pop: the oldest node, NULL when empty, or JT_MPSC_BUSY when a push
 * is half done. Consumer only.
 */
struct jt_mpsc_node *jt_mpsc_pop(struct jt_mpsc_queue *q);

/* jt_mpsc_pop_wait: as jt_mpsc_pop, but waits out JT_MPSC_BUSY. */
struct jt_mpsc_node *jt_mpsc_pop_wait(struct jt_mpsc_queue *q);

/*
 * jt_mpsc_peek: the oldest node without removing it, NULL when empty or a
 * push is half done. Consumer only.
 */
struct jt_mpsc_node *jt_mpsc_peek(struct jt_mpsc_queue *q);

/* jt_mpsc_wait_link: n's link once its producer stored it (out of line). */
struct jt_mpsc_node *jt_mpsc_wait_link(struct jt_mpsc_node *n);

/*
 * jt_mpsc_splice: take every node queued so far as a chain, oldest first:
 * *first .. *last. False (and nothing taken) when the queue is empty.
 * Consumer only, batch style. Costs one exchange per batch, not per node.
 *
 * Batch style keeps `head` at the stub: the stub's link is the first node.
 * Unhook it, then swing the tail back to the stub: pushes before the
 * exchange belong to the chain (their links lead to the node the exchange
 * returns), pushes after it link to the stub again. The unhooking store is
 * ordered before any such link by the exchange, which the next pusher's
 * exchange reads (both seq_cst RMWs of the tail).
 */
static inline bool jt_mpsc_splice(struct jt_mpsc_queue *q, struct jt_mpsc_node **first,
                                  struct jt_mpsc_node **last)
{
	struct jt_mpsc_node *n;

	/* relaxed: only says whether to look; the acquire load of the stub's
	 * link is what publishes the chain. */
	if (jt_load_relaxed(&q->tail) == &q->stub)
		return false;
	/* Pairs with the release store of the link in jt_mpsc_push. */
	n = jt_load_acquire(&q->stub.next);
	*first = n != NULL ? n : jt_mpsc_wait_link(&q->stub);
	jt_store_relaxed(&q->stub.next, NULL);
	*last = jt_xchg_seq_cst(&q->tail, &q->stub);
	return true;
}

/*
 * jt_mpsc_chain_next: the node after `n` in a spliced chain that ends at
 * `last`, NULL when n == last; waits while the producer that pushed the next
 * node is between its two steps. Read it before handing `n` on: whoever
 * gets `n` may push it again, which rewrites its link.
 */
static inline struct jt_mpsc_node *jt_mpsc_chain_next(struct jt_mpsc_node *n,
                                                      struct jt_mpsc_node *last)
{
	struct jt_mpsc_node *next;

	if (n == last)
		return NULL;
	/* Pairs with the release store of the link in jt_mpsc_push. */
	next = jt_load_acquire(&n->next);
	return next != NULL ? next : jt_mpsc_wait_link(n);
}

/*
 * jt_mpsc_chain_peek: as jt_mpsc_chain_next, but NULL instead of waiting
 * for a link still being stored. For prefetching: the link is loaded
 * relaxed, so the node's contents are not yet ordered for the caller.
 */
static inline struct jt_mpsc_node *jt_mpsc_chain_peek(struct jt_mpsc_node *n,
                                                      struct jt_mpsc_node *last)
{
	return n == last ? NULL : jt_load_relaxed(&n->next);
}

/*
 * jt_mpsc_empty: true when no node is queued, not even half pushed.
 * Consumer only; seq_cst load of the tail (see jt_mpsc_push).
 */
static inline bool jt_mpsc_empty(struct jt_mpsc_queue *q)
{
	return q->head == &q->stub && jt_load_seq_cst(&q->tail) == &q->stub;
}

#endif /* JT_MPSC_QUEUE_H */
