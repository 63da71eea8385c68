/*
 * parking.h - spin briefly, then sleep on a futex; wake only sleepers.
 *
 * One consumer parks on a 32-bit word; any number of producers unpark it
 * after making work visible with a seq_cst store or read-modify-write.
 *
 * Why no wake-up is lost: the consumer stores ASLEEP (seq_cst), then
 * re-checks for work with a seq_cst load; a producer publishes work with a
 * seq_cst store/RMW, then loads the word (seq_cst). In the single total
 * order one of the two stores comes first, so either the consumer sees the
 * work and does not sleep, or the producer sees ASLEEP and wakes it. The
 * exchange back to AWAKE elects one waker: at most one futex_wake per
 * ASLEEP store, and none while the word says AWAKE (a consumer that stored
 * ASLEEP and then found work in its re-check may still get one wasted wake;
 * tests/model/parking.pml checks both).
 */
#ifndef JT_PARKING_H
#define JT_PARKING_H

#include <sched.h>
#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include "atomics/atomic_ops.h"
#include "atomics/cacheline.h"
#include "atomics/futex.h"

enum { JT_PARK_AWAKE = 0, JT_PARK_ASLEEP = 1 };

/* jt_monotonic_ns: CLOCK_MONOTONIC in nanoseconds (vDSO, no system call). */
static inline uint64_t jt_monotonic_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/*
 * jt_spin_for: wait until has_work(arg) or spin_ns elapsed (spin_ns < 0:
 * not at all), without sleeping. True when work arrived.
 *
 * The first pause_ns spin on pause instructions: a producer on another CPU
 * is seen within a fraction of a microsecond. After that (pause_ns below
 * spin_ns), each check is followed by sched_yield: when threads outnumber
 * CPUs, a spinner that only paused keeps the thread it waits for off its
 * CPU for a whole time slice; yielding lets it run, and the spinner still
 * needs no wake-up. Which to use is the caller's measurement to make
 * (worker_pool.c, dispatcher.c).
 */
static inline bool jt_spin_for(int64_t spin_ns, int64_t pause_ns, bool (*has_work)(void *arg),
                               void *arg)
{
	uint64_t start, now;

	if (spin_ns < 0)
		return false;
	start = now = jt_monotonic_ns();
	for (;;) {
		for (int i = 0; i < 64; i++) {
			if (has_work(arg))
				return true;
			if (now - start < (uint64_t)pause_ns)
				jt_cpu_relax();
			else
				sched_yield();
		}
		now = jt_monotonic_ns();
		if (now - start >= (uint64_t)spin_ns)
			return false;
	}
}

/*
 * jt_park: sleep on `word` unless has_work(arg), whose loads must be
 * seq_cst. Returns awake, after a wake-up, a spurious one, or none.
 */
static inline void jt_park(_Atomic uint32_t *word, bool (*has_work)(void *arg), void *arg)
{
	jt_store_seq_cst(word, JT_PARK_ASLEEP);
	if (!has_work(arg))
		jt_futex_wait(word, JT_PARK_ASLEEP, -1);
	jt_store_relaxed(word, JT_PARK_AWAKE);
}

/* jt_unpark: wake the consumer if it sleeps. After a seq_cst publication. */
static inline void jt_unpark(_Atomic uint32_t *word)
{
	if (jt_load_seq_cst(word) == JT_PARK_ASLEEP &&
	    jt_xchg_seq_cst(word, JT_PARK_AWAKE) == JT_PARK_ASLEEP)
		jt_futex_wake(word, 1);
}

/*
 * How long a consumer spins before it sleeps: as long as its wake-up costs.
 *
 * A consumer that found nothing either spins, paying CPU time until work
 * comes, or sleeps, and the producer that finds it asleep pays a wake-up
 * (its system call, then the consumer's latency). Spinning exactly as
 * long as a wake-up takes never costs more than twice the better of the
 * two choices, whatever the arrival pattern (the ski-rental argument), and
 * the wake-up's cost is what differs from one machine to the next (3 to
 * 46 us on the VM types measured: docs/performance.md). So it is measured,
 * not configured: the waker stamps the time before its futex_wake, the
 * consumer reads the stamp when it runs again, and the mean of the recent
 * samples (a moving average, 1/8 weight to each new one) is the spin.
 * Before the first sample the spin is 0: the first idle consumer sleeps.
 *
 * Only a hint: the words are relaxed; a lost or odd sample moves the spin,
 * never a wake-up (the Dekker pair above decides those).
 */
struct jt_wake_cost {
	_Atomic uint64_t mean_ns; /* the spin; any thread reads it */
};

/* Per consumer: the waker's stamp, and when the consumer went to sleep. */
struct jt_wake_stamp {
	_Atomic uint64_t woken_ns; /* the waker's */
	uint64_t parked_ns;        /* the consumer's own */
};

static inline uint64_t jt_wake_cost_ns(const struct jt_wake_cost *c)
{
	/* relaxed: a hint (block comment) */
	return jt_load_relaxed(&c->mean_ns);
}

/* jt_unpark_stamped: jt_unpark that stamps the wake-up for its cost. */
static inline void jt_unpark_stamped(_Atomic uint32_t *word, struct jt_wake_stamp *s)
{
	if (jt_load_seq_cst(word) == JT_PARK_ASLEEP &&
	    jt_xchg_seq_cst(word, JT_PARK_AWAKE) == JT_PARK_ASLEEP) {
		/* relaxed: read after the futex_wake below returns the
		 * sleeper to its CPU; a stale stamp is discarded there. */
		jt_store_relaxed(&s->woken_ns, jt_monotonic_ns());
		jt_futex_wake(word, 1);
	}
}

/*
 * jt_park_stamped: jt_park that notes the cost of the wake-up it got in
 * `c`. A stamp older than this sleep (a waker that lost the exchange, or
 * stamped after an earlier sleep ended) is none of this sleep's.
 */
static inline void jt_park_stamped(_Atomic uint32_t *word, struct jt_wake_stamp *s,
                                   struct jt_wake_cost *c, bool (*has_work)(void *arg), void *arg)
{
	uint64_t woken, now;

	s->parked_ns = jt_monotonic_ns();
	jt_park(word, has_work, arg);
	/* acq_rel exchange: takes the stamp once (the order is relaxed's
	 * for the hint; the exchange only empties the word). */
	woken = jt_xchg_acq_rel(&s->woken_ns, 0);
	if (woken < s->parked_ns)
		return;
	now = jt_monotonic_ns();
	if (now > woken) {
		uint64_t mean = jt_load_relaxed(&c->mean_ns), sample = now - woken;

		/* A sample counts for at most twice the mean: a sleeper that
		 * was descheduled once (a loaded machine) moves the spin by
		 * 1/8 of the mean, not by its whole delay; a real change of
		 * the cost is followed within a few dozen wake-ups. */
		if (mean != 0 && sample > 2 * mean)
			sample = 2 * mean;
		/* relaxed: racing updates lose a sample, no more */
		jt_store_relaxed(&c->mean_ns, mean == 0 ? sample : mean - mean / 8 + sample / 8);
	}
}

#endif /* JT_PARKING_H */
