/*
 * rcu.c - grace periods, annotated for TSan.
 */
#include "runtime/rcu.h"

#ifdef JT_TSAN
char jt_rcu_tsan_sync;
#endif

void jt_rcu_synchronize(void)
{
	synchronize_rcu();
	/* Every read section that ended released the sync object. */
	jt_tsan_acquire(&jt_rcu_tsan_sync);
}
