/*
 * futex.h - sleep on and wake a 32-bit atomic word (Linux futex, private).
 *
 * jt_futex_wait: sleep while *word == expected, at most timeout_ns (< 0:
 *   forever). Returns 0 when woken or when *word already differed,
 *   -ETIMEDOUT, or -EINTR (spurious: callers re-check their condition).
 * jt_futex_wake: wake up to `count` sleepers of `word`.
 * Neither orders memory: the caller's atomics on `word` do that.
 */
#ifndef JT_FUTEX_H
#define JT_FUTEX_H

#include <errno.h>
#include <linux/futex.h>
#include <stdatomic.h>
#include <stdint.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

static inline int jt_futex_wait(_Atomic uint32_t *word, uint32_t expected, int64_t timeout_ns)
{
	struct timespec ts, *tsp = NULL;

	if (timeout_ns >= 0) {
		ts.tv_sec = (time_t)(timeout_ns / 1000000000);
		ts.tv_nsec = (long)(timeout_ns % 1000000000);
		tsp = &ts;
	}
	if (syscall(SYS_futex, (uint32_t *)word, FUTEX_WAIT_PRIVATE, expected, tsp, NULL, 0) == 0)
		return 0;
	if (errno == EAGAIN)
		return 0;
	return -errno;
}

static inline void jt_futex_wake(_Atomic uint32_t *word, int count)
{
	syscall(SYS_futex, (uint32_t *)word, FUTEX_WAKE_PRIVATE, count, NULL, NULL, 0);
}

#endif /* JT_FUTEX_H */
