/*
 * rcu.h - the one place that includes liburcu.
 *
 * Flavour: urcu-bp ("bulletproof"). Any thread may enter a read-side
 * section without registering, which is what the completion path needs:
 * completers are arbitrary user threads. With sys_membarrier a read section
 * costs two thread-local stores and compiler barriers.
 *
 * ThreadSanitizer cannot see liburcu's synchronisation (inline asm and
 * volatile accesses). Under __SANITIZE_THREAD__ the wrappers state it:
 * every read-unlock releases a common sync object, and every grace period
 * acquires it. That is exactly RCU's guarantee: each read section that
 * could see an object happens before its reclamation. (call_rcu is not
 * used: runtime/reclaimer.h says why.) liburcu's LGPL inline fast paths are used only outside
 * sanitizer builds: TSan cannot see them, and UBSan reports liburcu's own
 * under-aligned reader slots (128-byte type, 32-byte placement).
 */
#ifndef JT_RCU_H
#define JT_RCU_H

#if defined(__SANITIZE_THREAD__)
#define JT_TSAN 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define JT_TSAN 1
#endif
#endif

#if !defined(JT_TSAN) && !defined(JOBTXN_SANITIZED)
#define _LGPL_SOURCE
#endif
#include <urcu-bp.h>

#ifdef JT_TSAN
void __tsan_acquire(void *addr);
void __tsan_release(void *addr);
extern char jt_rcu_tsan_sync;
#define jt_tsan_acquire(p) __tsan_acquire(p)
#define jt_tsan_release(p) __tsan_release(p)
#else
#define jt_tsan_acquire(p) ((void)0)
#define jt_tsan_release(p) ((void)0)
#endif

/* jt_rcu_read_lock: enter a read-side section. Any thread; nests. */
static inline void jt_rcu_read_lock(void)
{
	rcu_read_lock();
}

/* jt_rcu_read_unlock: leave it (release for TSan). */
static inline void jt_rcu_read_unlock(void)
{
#ifdef JT_TSAN
	__tsan_release(&jt_rcu_tsan_sync);
#endif
	rcu_read_unlock();
}

/* jt_rcu_read_ongoing: true inside a read-side section on this thread. */
static inline int jt_rcu_read_ongoing(void)
{
	return rcu_read_ongoing();
}

/*
 * jt_rcu_synchronize: wait until every read section that began before the
 * call has ended. Not inside a read section.
 */
void jt_rcu_synchronize(void);

/*
 * jt_rcu_before_fork, jt_rcu_after_fork_parent, jt_rcu_after_fork_child:
 * liburcu-bp's fork handlers (runtime/fork.c registers them). Before: takes
 * liburcu-bp's grace-period and registry locks with every signal blocked,
 * so no grace period is half-way through at the fork. Parent: releases
 * them. Child: drops the reader slots of the threads that did not survive
 * the fork (their read sections would block every later grace period),
 * then releases them.
 */
static inline void jt_rcu_before_fork(void)
{
	urcu_bp_before_fork();
}

static inline void jt_rcu_after_fork_parent(void)
{
	urcu_bp_after_fork_parent();
}

static inline void jt_rcu_after_fork_child(void)
{
	urcu_bp_after_fork_child();
}

#endif /* JT_RCU_H */
