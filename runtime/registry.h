/*
 * registry.h - the object registry: RCU-protected intrusive lists.
 *
 * It holds objects for as long as they exist in memory, not only while they
 * are in use: an owner that recycles objects links each one once, when it
 * is allocated, and unlinks it when it is freed (after which the memory
 * must outlive a grace period). Whether an object is in use is the owner's
 * business (txn.c marks it in the object itself), so the hot path of using
 * and recycling an object never touches the lists.
 *
 * Writers (add, remove) serialise per shard on a futex lock that guards a
 * few pointer stores and never a callback; a thread always adds to the same
 * shard, so threads on different shards rarely meet. Readers (foreach) take
 * no lock: they walk inside an RCU read-side section and never block a
 * writer. A removed node stays readable (its `next` intact) until the
 * caller frees it after a grace period.
 *
 * Ordering: add publishes the node with a release store of the link that
 * makes it reachable; readers load links with acquire, so everything written
 * to the object before jt_registry_add is visible to a reader that finds it.
 */
#ifndef JT_REGISTRY_H
#define JT_REGISTRY_H

#include "atomics/cacheline.h"
#include "atomics/futex_lock.h"

#define JT_REGISTRY_SHARDS 16

struct jt_registry_node {
	struct jt_registry_node *_Atomic next; /* readers follow it */
	struct jt_registry_node *prev;         /* shard writers only */
};

struct jt_registry_shard {
	jt_cacheline_aligned struct jt_futex_lock lock;
	struct jt_registry_node head; /* circular list sentinel */
};

struct jt_registry {
	struct jt_registry_shard shards[JT_REGISTRY_SHARDS];
};

void jt_registry_init(struct jt_registry *r);

/* jt_registry_this_shard: this thread's shard (threads are spread over the
 * shards round-robin; the owner keeps the shard it added a node to). */
unsigned jt_registry_this_shard(void);

/* jt_registry_add: link `n` into `shard`. Any thread. */
void jt_registry_add(struct jt_registry *r, unsigned shard, struct jt_registry_node *n);

/*
 * jt_registry_remove_chain: unlink every node of a chain in one shard, a
 * few per lock acquisition: from `first`, next_of(node) gives the following
 * node, NULL after the last. Any thread. Free them after a grace period.
 */
void jt_registry_remove_chain(struct jt_registry *r, unsigned shard, struct jt_registry_node *first,
                              struct jt_registry_node *(*next_of)(struct jt_registry_node *n));

/*
 * jt_registry_foreach: call fn(n, arg) for each linked node until fn returns
 * non-zero. The caller holds an RCU read-side section.
 */
void jt_registry_foreach(struct jt_registry *r, int (*fn)(struct jt_registry_node *n, void *arg),
                         void *arg);

#endif /* JT_REGISTRY_H */
