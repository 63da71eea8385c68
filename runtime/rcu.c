/*
 * rcu.c - grace periods and deferred frees, annotated for TSan.
 */
#include "runtime/rcu.h"

#include <stddef.h>

#ifdef JT_TSAN
char jt_rcu_tsan_sync;
#endif

void jt_rcu_synchronize(void)
{
	synchronize_rcu();
	/* Every read section that ended released the sync object. */
	jt_tsan_acquire(&jt_rcu_tsan_sync);
}

static void deferred_trampoline(struct rcu_head *head)
{
	struct jt_rcu_deferred *d =
	        (struct jt_rcu_deferred *)((char *)head - offsetof(struct jt_rcu_deferred, head));

	/* Pairs with the release in jt_rcu_defer (the caller's writes) and
	 * with every jt_rcu_read_unlock (the readers' accesses). */
	jt_tsan_acquire(d);
	jt_tsan_acquire(&jt_rcu_tsan_sync);
	d->fn(d);
}

void jt_rcu_defer(struct jt_rcu_deferred *d, void (*fn)(struct jt_rcu_deferred *d))
{
	d->fn = fn;
	jt_tsan_release(d);
	call_rcu(&d->head, deferred_trampoline);
}

void jt_rcu_barrier(void)
{
	rcu_barrier();
	jt_tsan_acquire(&jt_rcu_tsan_sync);
}
