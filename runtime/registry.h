/*
 * registry.h - the live-object registry: RCU-protected intrusive lists.
 *
 * Writers (add, remove) serialise per shard on a futex lock that guards a few
 * pointer stores and never a callback; a builder thread always uses the same
 * shard, so builders on different threads rarely meet. Readers (foreach)
 * take no lock: they walk inside an RCU read-side section and never block a
 * writer. A removed node stays readable (its `next` intact) until the
 * caller frees it after a grace period.
 *
 * Ordering: add publishes the node with a release store of the link that
 * makes it reachable; readers load links with acquire, so everything written
 * to the object before jt_registry_add is visible to a reader that finds it.
 */
#ifndef JT_REGISTRY_H
#define JT_REGISTRY_H

#include <stdint.h>

#include "atomics/cacheline.h"
#include "atomics/futex_lock.h"

#define JT_REGISTRY_SHARDS 16

struct jt_registry_node {
	struct jt_registry_node *_Atomic next; /* readers follow it */
	struct jt_registry_node *prev;         /* shard writers only */
	uint64_t id;                           /* set before publication */
	unsigned shard;
};

struct jt_registry_shard {
	jt_cacheline_aligned struct jt_futex_lock lock;
	struct jt_registry_node head; /* circular list sentinel */
	uint64_t added;               /* under lock */
};

struct jt_registry {
	struct jt_registry_shard shards[JT_REGISTRY_SHARDS];
};

void jt_registry_init(struct jt_registry *r);

/* jt_registry_this_shard: the shard jt_registry_add uses on this thread. */
unsigned jt_registry_this_shard(void);

/*
 * jt_registry_add: give `n` an id unique within the registry (never 0, in
 * n->id) and link it into the calling thread's shard. Any thread.
 */
void jt_registry_add(struct jt_registry *r, struct jt_registry_node *n);

/* jt_registry_remove: unlink `n`. Any thread. Free it after a grace period. */
void jt_registry_remove(struct jt_registry *r, struct jt_registry_node *n);

/*
 * jt_registry_foreach: call fn(n, arg) for each linked node until fn returns
 * non-zero. The caller holds an RCU read-side section. Returns how many
 * nodes fn was called for.
 */
int jt_registry_foreach(struct jt_registry *r, int (*fn)(struct jt_registry_node *n, void *arg),
                        void *arg);

#endif /* JT_REGISTRY_H */
