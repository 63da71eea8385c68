/*
 * futex_lock.h - a small mutex: one compare-and-swap to take it and one
 * exchange to give it back when uncontended, a futex sleep otherwise
 * (Drepper, "Futexes Are Tricky", mutex 2). For short critical sections
 * that never run user code.
 *
 * States: 0 free, 1 held, 2 held with (possible) sleepers.
 */
#ifndef JT_FUTEX_LOCK_H
#define JT_FUTEX_LOCK_H

#include "atomics/atomic_ops.h"
#include "atomics/cacheline.h"
#include "atomics/futex.h"

struct jt_futex_lock {
	_Atomic uint32_t state;
};

static inline void jt_futex_lock_init(struct jt_futex_lock *l)
{
	jt_store_relaxed(&l->state, 0);
}

static inline void jt_futex_lock_acquire(struct jt_futex_lock *l)
{
	uint32_t seen = 0;

	/* acquire: pairs with the release exchange in jt_futex_lock_release. */
	if (jt_cas_acq_rel(&l->state, &seen, 1))
		return;
	for (int i = 0; i < 100 && seen != 0; i++) {
		jt_cpu_relax();
		seen = jt_load_relaxed(&l->state);
		if (seen == 0 && jt_cas_acq_rel(&l->state, &seen, 1))
			return;
	}
	/* Announce a sleeper (2) and sleep until we take it as 0 -> 2. */
	while (jt_xchg_acq_rel(&l->state, 2) != 0)
		jt_futex_wait(&l->state, 2, -1);
}

static inline void jt_futex_lock_release(struct jt_futex_lock *l)
{
	/* release: pairs with the acquiring CAS/exchange above. */
	if (jt_xchg_acq_rel(&l->state, 0) == 2)
		jt_futex_wake(&l->state, 1);
}

#endif /* JT_FUTEX_LOCK_H */
