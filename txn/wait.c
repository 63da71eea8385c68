/*
 * wait.c - blocking until the dispatcher has retired enough: drain,
 * destroy, jt_txn_begin at max_inflight, jt_txn_commit_wait.
 *
 * Waiters sleep on `retire_epoch`. Everything a waiter checks is written by
 * the dispatcher before it publishes a pass's retirements with a seq_cst
 * RMW of `retired` (retire.c, pass_publish), and every predicate starts
 * with a seq_cst load of `retired` (rt_retired_sync), which makes the rest
 * visible. That RMW is also the dispatcher's Dekker store: after it the
 * dispatcher loads `epoch_waiters` (seq_cst) and bumps the epoch and wakes
 * only when someone waits. A waiter increments `epoch_waiters` (seq_cst),
 * reads the epoch, then checks its predicate: by the Dekker argument of
 * atomics/parking.h either the dispatcher sees the waiter or the waiter
 * sees the new state, and a bump between the epoch read and the futex wait
 * fails the wait.
 * Signal points (each right after a publishing RMW): the end of each
 * dispatcher pass, when a waiter can be done (rt_signal_pass_end); a
 * commit_wait caller's txn (rt_signal_waiters); and, in the middle of a
 * pass, every SIGNAL_BATCH retirements only when a jt_txn_begin waits for
 * a slot (rt_signal_slot_waiters): waking a drain there costs the waiter
 * and the dispatcher a futex round trip for a predicate that cannot hold
 * before the queue runs empty.
 *
 * In poll mode nobody else may be polling, so a waiter runs the callbacks
 * itself (jt_runtime_poll on its own thread) and sleeps on the eventfd.
 * That sleep is bounded by POLL_MODE_NAP_NS: the eventfd signals new work,
 * not retirements made by another polling thread (which may clear the fd
 * again before this waiter looks), so a waiter re-checks at least every
 * millisecond while another thread polls.
 */
#include <errno.h>
#include <limits.h>
#include <poll.h>

#include "atomics/parking.h"
#include "txn/txn_internal.h"

#define POLL_MODE_NAP_NS 1000000 /* re-check bound in poll mode */

uint64_t rt_begun(jt_runtime *rt)
{
	uint64_t n = 0;

	for (unsigned i = 0; i < JT_REGISTRY_SHARDS; i++)
		n += jt_load_relaxed(&rt->builders[i].begun);
	return n;
}

uint64_t rt_committed(jt_runtime *rt)
{
	uint64_t n = 0;

	for (unsigned i = 0; i < JT_REGISTRY_SHARDS; i++)
		n += jt_load_relaxed(&rt->builders[i].committed);
	return n;
}

uint64_t rt_retired_sync(jt_runtime *rt)
{
	/* seq_cst: the Dekker pair with the publishing RMW of a pass
	 * (retire.c), whose release it also acquires. */
	return jt_load_seq_cst(&rt->retired);
}

/* Bump the epoch and wake every waiter; after a Dekker store. */
static void wake_epoch(jt_runtime *rt)
{
	jt_fetch_add_seq_cst(&rt->retire_epoch, 1);
	jt_futex_wake(&rt->retire_epoch, INT_MAX);
}

void rt_signal_waiters(jt_runtime *rt)
{
	/* After the Dekker store (the publishing RMW of `retired`). */
	if (jt_load_seq_cst(&rt->epoch_waiters) != 0)
		wake_epoch(rt);
}

/*
 * The end of a pass (rt_signal_pass_end found a waiter) wakes the waiters
 * only if one of them can be done: a
 * drain or destroy once every committed txn retired, a jt_txn_begin
 * waiting for a slot at once. A commit_wait caller was woken when its txn
 * retired. Checking costs 16 relaxed loads; a futile wake costs the waiter
 * a futex round trip and a CPU the completers could use (fanin, one run:
 * the dispatcher's futex calls 2,217 -> 1,286).
 */
void rt_wake_at_pass_end(jt_runtime *rt)
{
	/* A stale (lower) committed only wakes early; a txn committed after
	 * this read retires in a later pass, which looks again. */
	if (jt_load_seq_cst(&rt->slot_waiters) == 0 &&
	    jt_load_relaxed(&rt->retired) != rt_committed(rt))
		return;
	wake_epoch(rt);
}

/*
 * The mid-pass signal point. Only a jt_txn_begin blocked at max_inflight
 * can use a retirement while the dispatcher's pass goes on: drain and
 * destroy wait for none in flight, which holds only once the queue is
 * empty, and the pass end signals then. So in the middle of a pass wake
 * only when a slot waiter exists. Same Dekker pair as above, on
 * slot_waiters (incremented seq_cst in reserve_slot before its predicate's
 * seq_cst load of `retired`): a waiter this load misses sees the
 * retirements itself.
 */
void rt_signal_slot_waiters(jt_runtime *rt)
{
	if (jt_load_seq_cst(&rt->slot_waiters) != 0)
		rt_signal_waiters(rt);
}

static int64_t remaining_ns(uint64_t deadline)
{
	uint64_t now;

	if (deadline == UINT64_MAX)
		return -1;
	now = jt_monotonic_ns();
	return now >= deadline ? 0 : (int64_t)(deadline - now);
}

static int64_t cap_ns(int64_t remaining, int64_t cap)
{
	return remaining < 0 || remaining > cap ? cap : remaining;
}

static void wait_epoch(jt_runtime *rt, bool (*pred)(jt_runtime *rt, void *arg), void *arg,
                       int64_t timeout_ns)
{
	uint32_t epoch;

	jt_fetch_add_seq_cst(&rt->epoch_waiters, 1);
	epoch = jt_load_seq_cst(&rt->retire_epoch);
	if (!pred(rt, arg))
		jt_futex_wait(&rt->retire_epoch, epoch, timeout_ns);
	jt_fetch_sub_seq_cst(&rt->epoch_waiters, 1);
}

/* Poll mode: wait until the eventfd is readable, at most timeout_ns. */
static void wait_eventfd(jt_runtime *rt, int64_t timeout_ns)
{
	struct pollfd pfd = {.fd = rt->disp.efd, .events = POLLIN};
	int ms = timeout_ns < 0 ? -1 : (int)((timeout_ns + 999999) / 1000000);

	(void)poll(&pfd, 1, ms);
}

int rt_wait(jt_runtime *rt, bool (*pred)(jt_runtime *rt, void *arg), void *arg, int64_t timeout_ns)
{
	uint64_t deadline = timeout_ns < 0 ? UINT64_MAX : jt_monotonic_ns() + (uint64_t)timeout_ns;

	txn_submits_flush(); /* what we wait for may need them */

	for (;;) {
		int64_t left;

		if (pred(rt, arg))
			return 0;
		left = remaining_ns(deadline);
		if (left == 0)
			return -ETIMEDOUT;
		if (rt->flags & JT_RUNTIME_POLL) {
			int ran = jt_dispatcher_poll(&rt->disp, 0);

			if (ran > 0)
				continue;
			if (ran == 0) {
				/* Bounded: another thread's poll may retire what
				 * we wait for and then clear the fd before we see
				 * it readable. */
				if (!pred(rt, arg))
					wait_eventfd(rt, cap_ns(left, POLL_MODE_NAP_NS));
				continue;
			}
			wait_epoch(rt, pred, arg, cap_ns(left, POLL_MODE_NAP_NS));
			continue;
		}
		wait_epoch(rt, pred, arg, left);
	}
}
