/*
 * futex_lock.h - a small mutex: one compare-and-swap to take it and one
 * exchange to give it back when uncontended, a futex sleep otherwise
 * (Drepper, "Futexes Are Tricky", mutex 2). For short critical sections
 * that never run user code.
 *
 * States: 0 free, 1 held, 2 held with (possible) sleepers.
 *
 * The try (jt_futex_lock_try, the CAS that takes a free lock) and the
 * release are seq_cst, so that the lock can carry a Dekker pair: a thread
 * that must not wait publishes a request with a seq_cst store, then tries
 * the lock; the holder releases, then loads the request with seq_cst. In
 * the single total order either the try comes after the release and takes
 * the lock, or the holder's load comes after the request's store and
 * serves it (uring/submit.c, flush requests). On x86-64 and AArch64 a
 * seq_cst read-modify-write is the same instruction as an acq_rel one, so
 * the other users (runtime/registry.c) pay nothing for it.
 */
#ifndef JT_FUTEX_LOCK_H
#define JT_FUTEX_LOCK_H

#include <stdbool.h>
#include <stdint.h>

#include "atomics/atomic_ops.h"
#include "atomics/cacheline.h"
#include "atomics/futex.h"

/* Polls (a jt_cpu_relax each) of a held lock before sleeping in the futex.
 * A running holder of these short sections lets go within that; a sleep
 * costs a wait and a wake system call and a context switch. The bound
 * keeps a waiter from burning its CPU when the holder was preempted. */
#define JT_FUTEX_LOCK_SPINS 100

struct jt_futex_lock {
	_Atomic uint32_t state;
};

static inline void jt_futex_lock_init(struct jt_futex_lock *l)
{
	jt_store_relaxed(&l->state, 0);
}

/* jt_futex_lock_try: take it if it is free; never waits. */
static inline bool jt_futex_lock_try(struct jt_futex_lock *l)
{
	uint32_t free_state = 0;

	/* seq_cst, failure included: acquire pairs with the release exchange
	 * in jt_futex_lock_release; seq_cst for the Dekker pair (file
	 * comment). */
	return atomic_compare_exchange_strong_explicit(&l->state, &free_state, 1,
	                                               memory_order_seq_cst, memory_order_seq_cst);
}

static inline void jt_futex_lock_acquire(struct jt_futex_lock *l)
{
	if (jt_futex_lock_try(l))
		return;
	for (int i = 0; i < JT_FUTEX_LOCK_SPINS; i++) {
		jt_cpu_relax();
		if (jt_load_relaxed(&l->state) == 0 && jt_futex_lock_try(l))
			return;
	}
	/* acq_rel: pairs with the release exchange; announce a sleeper (2)
	 * and sleep until we take it as 0 -> 2. */
	while (jt_xchg_acq_rel(&l->state, 2) != 0)
		jt_futex_wait(&l->state, 2, -1);
}

static inline void jt_futex_lock_release(struct jt_futex_lock *l)
{
	/* seq_cst: releases the critical section (pairs with the acquiring
	 * CAS and exchange above), and the Dekker pair with a try (file
	 * comment). */
	if (jt_xchg_seq_cst(&l->state, 0) == 2)
		jt_futex_wake(&l->state, 1);
}

#endif /* JT_FUTEX_LOCK_H */
