/*
 * txn_cache.c - recycling retired txns into their builders' shards.
 *
 * Producer: the dispatcher, a batch of retired txns of one shard at a time
 * (retire.c); the reclaimer, for a batch that had to wait a grace period
 * because an introspection walk was in progress. Consumer: jt_txn_begin on
 * a thread of the same registry shard. A batch goes back with one CAS,
 * touching only its first and last txn.
 * See struct txn_cache for the protocol; nothing here ever waits. The
 * bounds keep what a burst leaves behind small: at most CACHE_MAX_TXNS
 * txns per shard, each keeping chunks for CACHE_KEEP_MEMBERS members
 * (1.2 KiB with its chunk; 1 MiB per shard for one-job txns), and spare
 * chunks beyond those while the shard's CACHE_KEEP_BYTES allow (so that a
 * txn of a few hundred members reuses its chunks: G=64, one txn in flight,
 * paid 10 instructions per job allocating and freeing its 63-member chunk
 * each time). A batch beyond them is unlinked from the registry and freed
 * by the reclaimer (release_batch).
 */
#include "txn/txn_internal.h"

#define CACHE_MAX_TXNS     4096         /* per shard; beyond it, retired txns are freed */
#define CACHE_KEEP_MEMBERS 16           /* member capacity a cached txn always keeps */
#define CACHE_KEEP_BYTES   (256 * 1024) /* per shard: spare chunks kept beyond that */

static size_t chunk_bytes(const struct member_chunk *c)
{
	return sizeof(*c) + c->cap * sizeof(jt_job);
}

/*
 * A retired txn with more members than the inline one: keep its chunks
 * for the next use while the shard's budget allows, else free all but the
 * first CACHE_KEEP_MEMBERS members' worth. t->kept_bytes is what of its
 * spares the budget counts (relaxed RMWs: the budget is a bound on memory,
 * not a protocol, and an overshoot by a concurrent retirement is fine).
 */
void txn_cache_trim(jt_txn *t)
{
	_Atomic size_t *budget = &t->rt->caches[t->shard].kept_bytes;
	struct member_chunk *c = &t->head, *first_spare;
	uint32_t kept = c->cap;
	size_t spare = 0;

	while (c->next != NULL && kept + c->next->cap <= CACHE_KEEP_MEMBERS) {
		c = c->next;
		kept += c->cap;
	}
	first_spare = c->next;
	for (struct member_chunk *s = first_spare; s != NULL; s = s->next)
		spare += chunk_bytes(s);
	if (spare == t->kept_bytes)
		return;
	if (spare > t->kept_bytes &&
	    jt_load_relaxed(budget) + (spare - t->kept_bytes) <= CACHE_KEEP_BYTES) {
		jt_fetch_add_relaxed(budget, spare - t->kept_bytes);
		t->kept_bytes = (uint32_t)spare;
		return;
	}
	jt_fetch_sub_relaxed(budget, t->kept_bytes);
	t->kept_bytes = 0;
	txn_free_chunks(t, first_spare);
	c->next = NULL;
}

/* Free a list of dead txns linked through their nodes (txn_internal.h). */
static void free_list(jt_txn *t)
{
	while (t != NULL) {
		jt_txn *next = dead_next(t);

		txn_free(t);
		t = next;
	}
}

static jt_txn *batch_of(struct jt_work *w)
{
	return (jt_txn *)((char *)w - offsetof(jt_txn, u.batch.work));
}

/* The reclaimer, a grace period after the batch was unlinked. */
static unsigned free_batch(struct jt_work *w)
{
	free_list(batch_of(w));
	return 0;
}

static struct jt_registry_node *next_in_batch(struct jt_registry_node *n)
{
	jt_txn *next = dead_next((jt_txn *)((char *)n - offsetof(jt_txn, reg)));

	return next != NULL ? &next->reg : NULL;
}

/*
 * Whether an introspection walk may still read what was retired or
 * unlinked before this call (txn.c, point 7). A walker increments
 * `walkers` (seq_cst RMW) inside its RCU read-side section and decrements
 * it (release) before it leaves. If this RMW reads 0, every walker that
 * had started is done (its decrement is read) and a later walker's
 * increment follows this RMW in the RMW order of `walkers`, so everything
 * before this call happens before its walk. Otherwise a walker's read-side
 * section began before this call, and a grace period after it covers the
 * walk. Cost: one RMW per batch.
 */
static bool walk_in_progress(jt_runtime *rt)
{
	return jt_fetch_add_seq_cst(&rt->walkers, 0) != 0;
}

/*
 * A batch beyond the cache's bounds (on the reclaimer, or on a poller):
 * unlink it and free it, at once when no introspection walk is in progress
 * (the common case), else after a grace period.
 */
static unsigned release_batch(struct jt_work *w)
{
	jt_txn *first = batch_of(w);
	jt_runtime *rt = first->rt;

	jt_registry_remove_chain(&rt->registry, first->shard, &first->reg, next_in_batch);
	if (!walk_in_progress(rt))
		return free_batch(w);
	first->u.batch.work.run = free_batch;
	jt_reclaimer_post(&rt->reclaimer, &first->u.batch.work);
	return 0;
}

/* Push a batch onto its shard's cache (lock-free, any thread). */
static void cache_push(jt_runtime *rt, jt_txn *first, jt_txn *tail)
{
	struct txn_cache *cache = &rt->caches[first->shard];
	jt_txn *head = jt_load_relaxed(&cache->returned);

	do
		dead_link(tail, head);
	/* release: pairs with the acquire exchange in txn_cache_take, which
	 * then sees every txn of the chain and its links. */
	while (!jt_cas_weak_release(&cache->returned, &head, first));
}

/* The reclaimer, a grace period after a walker could still read the batch. */
static unsigned push_batch(struct jt_work *w)
{
	jt_txn *first = batch_of(w);

	cache_push(first->rt, first, first->u.batch.tail);
	return 0;
}

void txn_cache_give_batch(jt_runtime *rt, jt_txn *first, jt_txn *tail, uint32_t count)
{
	struct txn_cache *cache = &rt->caches[first->shard];

	first->u.batch.tail = tail;
	if (jt_load_relaxed(&cache->given) - jt_load_relaxed(&cache->taken) + count >
	    CACHE_MAX_TXNS) {
		/* A dispatcher thread is the runtime's one serial stage:
		 * unlinking and freeing a batch there cost as much as retiring
		 * it (fanin G=1: 10-14 -> 13-14 M jobs/s with the reclaimer
		 * doing it). A poller is often the builder, whose allocator
		 * cache then gets the memory back (growth G=1: 5-6 -> 7 M
		 * jobs/s freeing inline). */
		first->u.batch.work.run = release_batch;
		if (rt->flags & JT_RUNTIME_POLL)
			release_batch(&first->u.batch.work);
		else
			jt_reclaimer_post_soon(&rt->reclaimer, &first->u.batch.work);
		return;
	}
	/* Counted now even when the push waits for a grace period: the
	 * count bounds what the cache will hold. */
	jt_store_relaxed(&cache->given, jt_load_relaxed(&cache->given) + count);
	if (walk_in_progress(rt)) {
		first->u.batch.work.run = push_batch;
		jt_reclaimer_post(&rt->reclaimer, &first->u.batch.work);
		return;
	}
	cache_push(rt, first, tail);
}

jt_txn *txn_cache_take(jt_runtime *rt, unsigned shard)
{
	struct txn_cache *cache = &rt->caches[shard];
	jt_txn *t;

	/* acquire: pairs with the release store below from the previous
	 * holder, which hands `local` over. */
	if (jt_xchg_acq_rel(&cache->busy, 1) != 0)
		return NULL; /* another builder of this shard: allocate instead */
	t = cache->local;
	if (t == NULL)
		t = jt_xchg_acq_rel(&cache->returned, (jt_txn *)NULL);
	if (t != NULL) {
		cache->local = dead_next(t);
		jt_store_relaxed(&cache->taken, jt_load_relaxed(&cache->taken) + 1);
	}
	jt_store_release(&cache->busy, 0);
	return t;
}

void txn_cache_fini(jt_runtime *rt)
{
	for (unsigned i = 0; i < JT_REGISTRY_SHARDS; i++) {
		struct txn_cache *cache = &rt->caches[i];

		free_list(cache->local);
		cache->local = NULL;
		free_list(jt_xchg_acq_rel(&cache->returned, (jt_txn *)NULL));
	}
}
