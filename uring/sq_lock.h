/*
 * sq_lock.h - the submission side's lock: a futex mutex (states 0 free,
 * 1 held, 2 held with possible sleepers; Drepper, "Futexes Are Tricky",
 * mutex 2) whose try and release are seq_cst.
 *
 * Why seq_cst: a thread that must not wait (the cancel hook, the reaper)
 * publishes a request (a seq_cst store to flush_wanted), then tries the
 * lock; the holder releases, then loads flush_wanted (submit.c,
 * uring_unlock). In the single total order either the try comes after the
 * release and takes the lock, or the holder's load comes after the
 * request's store and serves it: no request is left behind.
 * jt_futex_lock (atomics/futex_lock.h) releases with acq_rel, which does
 * not give that.
 */
#ifndef JT_URING_SQ_LOCK_H
#define JT_URING_SQ_LOCK_H

#include <stdbool.h>
#include <stdint.h>

#include "atomics/atomic_ops.h"
#include "atomics/cacheline.h"
#include "atomics/futex.h"

struct sq_lock {
	_Atomic uint32_t state;
};

static inline void sq_lock_init(struct sq_lock *l)
{
	jt_store_relaxed(&l->state, 0);
}

/* sq_lock_try: take it if free; never waits. */
static inline bool sq_lock_try(struct sq_lock *l)
{
	uint32_t free_state = 0;

	/* seq_cst, failure included: the Dekker pair with sq_lock_release
	 * (file comment). */
	return atomic_compare_exchange_strong_explicit(&l->state, &free_state, 1,
	                                               memory_order_seq_cst, memory_order_seq_cst);
}

static inline void sq_lock_acquire(struct sq_lock *l)
{
	if (sq_lock_try(l))
		return;
	for (int i = 0; i < 100; i++) {
		jt_cpu_relax();
		if (jt_load_relaxed(&l->state) == 0 && sq_lock_try(l))
			return;
	}
	/* acq_rel: pairs with the release exchange; announce a sleeper (2)
	 * and sleep until we take it as 0 -> 2. */
	while (jt_xchg_acq_rel(&l->state, 2) != 0)
		jt_futex_wait(&l->state, 2, -1);
}

static inline void sq_lock_release(struct sq_lock *l)
{
	/* seq_cst: releases the critical section, and the Dekker pair with
	 * sq_lock_try (file comment). */
	if (jt_xchg_seq_cst(&l->state, 0) == 2)
		jt_futex_wake(&l->state, 1);
}

#endif /* JT_URING_SQ_LOCK_H */
