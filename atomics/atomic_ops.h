/*
 * atomic_ops.h - C11 atomics with the memory order in the name.
 *
 * Every atomic access of the project goes through these macros so that each
 * ordering can be found with grep and read beside the comment naming its
 * pair. There are no fences: ThreadSanitizer does not model
 * atomic_thread_fence, so the ordering always sits on the access itself.
 */
#ifndef JT_ATOMIC_OPS_H
#define JT_ATOMIC_OPS_H

#include <stdatomic.h>

#define jt_load_relaxed(p)     atomic_load_explicit((p), memory_order_relaxed)
#define jt_load_acquire(p)     atomic_load_explicit((p), memory_order_acquire)
#define jt_load_seq_cst(p)     atomic_load_explicit((p), memory_order_seq_cst)
#define jt_store_relaxed(p, v) atomic_store_explicit((p), (v), memory_order_relaxed)
#define jt_store_release(p, v) atomic_store_explicit((p), (v), memory_order_release)
#define jt_store_seq_cst(p, v) atomic_store_explicit((p), (v), memory_order_seq_cst)

#define jt_xchg_acq_rel(p, v) atomic_exchange_explicit((p), (v), memory_order_acq_rel)
#define jt_xchg_seq_cst(p, v) atomic_exchange_explicit((p), (v), memory_order_seq_cst)

#define jt_fetch_add_relaxed(p, v) atomic_fetch_add_explicit((p), (v), memory_order_relaxed)
#define jt_fetch_add_acq_rel(p, v) atomic_fetch_add_explicit((p), (v), memory_order_acq_rel)
#define jt_fetch_add_seq_cst(p, v) atomic_fetch_add_explicit((p), (v), memory_order_seq_cst)
#define jt_fetch_sub_relaxed(p, v) atomic_fetch_sub_explicit((p), (v), memory_order_relaxed)
#define jt_fetch_sub_acq_rel(p, v) atomic_fetch_sub_explicit((p), (v), memory_order_acq_rel)
#define jt_fetch_sub_seq_cst(p, v) atomic_fetch_sub_explicit((p), (v), memory_order_seq_cst)
#define jt_fetch_or_acq_rel(p, v)  atomic_fetch_or_explicit((p), (v), memory_order_acq_rel)

/* Strong compare-and-swap; on failure *expected gets the current value. */
#define jt_cas_relaxed(p, expected, desired)                                                       \
	atomic_compare_exchange_strong_explicit((p), (expected), (desired), memory_order_relaxed,  \
	                                        memory_order_relaxed)
#define jt_cas_acq_rel(p, expected, desired)                                                       \
	atomic_compare_exchange_strong_explicit((p), (expected), (desired), memory_order_acq_rel,  \
	                                        memory_order_acquire)
#define jt_cas_weak_relaxed(p, expected, desired)                                                  \
	atomic_compare_exchange_weak_explicit((p), (expected), (desired), memory_order_relaxed,    \
	                                      memory_order_relaxed)
/* acq_rel on success, acquire on failure (the value read is acted on). */
#define jt_cas_weak_acq_rel(p, expected, desired)                                                  \
	atomic_compare_exchange_weak_explicit((p), (expected), (desired), memory_order_acq_rel,    \
	                                      memory_order_acquire)
#define jt_cas_weak_release(p, expected, desired)                                                  \
	atomic_compare_exchange_weak_explicit((p), (expected), (desired), memory_order_release,    \
	                                      memory_order_relaxed)

#endif /* JT_ATOMIC_OPS_H */
