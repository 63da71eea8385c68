/*
 * registry.c - sharded RCU lists of objects.
 */
#include "runtime/registry.h"

#include <limits.h>

#include "atomics/atomic_ops.h"

/* Unlinks per lock hold in jt_registry_remove_chain. */
#define REMOVE_CHAIN_HOLD 8

static _Atomic unsigned next_thread_shard;
static _Thread_local unsigned thread_shard = UINT_MAX;

unsigned jt_registry_this_shard(void)
{
	if (thread_shard == UINT_MAX)
		thread_shard = jt_fetch_add_relaxed(&next_thread_shard, 1) % JT_REGISTRY_SHARDS;
	return thread_shard;
}

void jt_registry_init(struct jt_registry *r)
{
	for (unsigned i = 0; i < JT_REGISTRY_SHARDS; i++) {
		struct jt_registry_shard *s = &r->shards[i];

		jt_futex_lock_init(&s->lock);
		jt_store_relaxed(&s->head.next, &s->head);
		s->head.prev = &s->head;
	}
}

void jt_registry_add(struct jt_registry *r, unsigned shard, struct jt_registry_node *n)
{
	struct jt_registry_shard *s = &r->shards[shard];

	jt_futex_lock_acquire(&s->lock);
	n->prev = s->head.prev;
	jt_store_relaxed(&n->next, &s->head);
	/* Publish: pairs with the acquire loads in jt_registry_foreach. */
	jt_store_release(&n->prev->next, n);
	s->head.prev = n;
	jt_futex_lock_release(&s->lock);
}

/* Under the shard's lock. */
static void unlink_node(struct jt_registry_node *n)
{
	struct jt_registry_node *next = jt_load_relaxed(&n->next);

	/* `next` was published by its own add; release keeps the chain a
	 * reader may follow from `prev` consistent (pairs with foreach). */
	jt_store_release(&n->prev->next, next);
	next->prev = n->prev;
}

void jt_registry_remove_chain(struct jt_registry *r, unsigned shard, struct jt_registry_node *first,
                              struct jt_registry_node *(*next_of)(struct jt_registry_node *n))
{
	struct jt_registry_shard *s = &r->shards[shard];
	unsigned held = 0;

	jt_futex_lock_acquire(&s->lock);
	for (struct jt_registry_node *n = first; n != NULL; n = next_of(n)) {
		/* Cold nodes make each unlink a few cache misses: let a builder
		 * of this shard in between, within its spin (futex_lock.h),
		 * instead of sending it to sleep. */
		if (++held > REMOVE_CHAIN_HOLD) {
			jt_futex_lock_release(&s->lock);
			jt_futex_lock_acquire(&s->lock);
			held = 1;
		}
		unlink_node(n);
	}
	jt_futex_lock_release(&s->lock);
}

void jt_registry_foreach(struct jt_registry *r, int (*fn)(struct jt_registry_node *n, void *arg),
                         void *arg)
{
	for (unsigned i = 0; i < JT_REGISTRY_SHARDS; i++) {
		struct jt_registry_node *head = &r->shards[i].head;
		struct jt_registry_node *n;

		/* Pairs with the release stores in add and remove. */
		for (n = jt_load_acquire(&head->next); n != head; n = jt_load_acquire(&n->next)) {
			if (fn(n, arg) != 0)
				return;
		}
	}
}
