/*
 * parking.pml - the dispatcher's sleep and wake-up (thread mode): no lost
 * wake-up, at most one futex_wake per sleep and none for a word the
 * dispatcher left AWAKE.
 *
 * Models today's code:
 *
 *   producer()    jt_dispatcher_post (runtime/dispatcher.c): jt_mpsc_push
 *                   (runtime/mpsc_queue.h: the seq_cst exchange of the tail
 *                   is the publication), then jt_unpark (atomics/parking.h):
 *                   seq_cst load of the word, seq_cst exchange to AWAKE,
 *                   jt_futex_wake for the one that read ASLEEP
 *   dispatcher()  dispatcher_main (runtime/dispatcher.c): run_some (splice
 *                   and run the chain), the jt_mpsc_empty re-check, the
 *                   stop check, jt_spin_for (thread_has_work), jt_park
 *                   (atomics/parking.h): seq_cst store ASLEEP, the
 *                   thread_has_work re-check (seq_cst loads of the tail and
 *                   of stop), jt_futex_wait, relaxed store AWAKE
 *   stopper()     jt_runtime_destroy's wait until every item ran, then
 *                   jt_dispatcher_stop: seq_cst store of stop, jt_unpark,
 *                   pthread_join
 *
 * The queue is abstracted to its tail: `qlen` counts the nodes whose tail
 * exchange is done and that no splice took yet (the link store that
 * follows the exchange only makes the splice wait; mpsc_queue.c). A futex
 * is a kernel compare-and-sleep: futex_wait(word, ASLEEP) sleeps only if
 * the word is ASLEEP (the kernel reads it under its bucket lock, after this
 * CPU's own stores), futex_wake wakes a thread that sleeps, if any. No
 * spurious wake-ups are modelled: they could only hide a lost wake-up.
 *
 * Memory model: x86-TSO for the dispatcher's stores to the word. Each
 * thread's plain (relaxed or release) stores go to a one-entry store
 * buffer that drains at any later moment (flusher()); its later loads of
 * other locations may read memory before that. seq_cst stores and every
 * read-modify-write (lock-prefixed: xchg) drain the buffer first. All else
 * is sequentially consistent (README.md: weak memory on the real code is
 * ThreadSanitizer's job).
 *
 * Checked:
 *   - no deadlock: every item runs and the dispatcher stops (the sleep is
 *     not an end state; pan reports an invalid end state otherwise);
 *   - every futex_wake comes from the producer whose exchange took the word
 *     from ASLEEP to AWAKE, at most one per ASLEEP store;
 *   - LTL (./pan -a -f, weak fairness): no_lost_wakeup, stops.
 *
 * Injected bugs (the check must then fail):
 *   -DINJECT_BUG=1  jt_park stores ASLEEP relaxed (a plain mov on x86):
 *                   it sits in the store buffer while the re-check loads
 *                   the tail, so the producer can read AWAKE and skip the
 *                   wake while the dispatcher then sleeps
 *   -DINJECT_BUG=2  jt_mpsc_push publishes with a plain store, not the
 *                   seq_cst exchange: the producer's load of the word
 *                   passes its buffered publication
 */

#define PRODUCERS 2
#define POSTS     2 /* per producer */
#define TOTAL     (PRODUCERS * POSTS)

#define AWAKE  0
#define ASLEEP 1

/* the queue */
byte qlen = 0; /* published (tail exchanged), not yet spliced */
byte ran = 0;  /* items the dispatcher ran */

/* d->wake in memory, and the dispatcher's store buffer for it */
bit wake = AWAKE;
bool dsb_full = false;
bit dsb_val;

/* INJECT_BUG=2: each producer's buffered publication */
byte psb[PRODUCERS];

bool stop = false;
bool in_kernel = false; /* the dispatcher sleeps in futex_wait */
bool exited = false;

/* ghosts: sleep episodes (ASLEEP stores that reached memory) */
byte episode = 0;
byte woken_episode = 0; /* the last episode a producer's exchange ended */
byte parks = 0;
byte wakes = 0; /* futex_wake system calls */

/* The dispatcher's store to the word reaching memory. */
inline word_to_memory(v)
{
	wake = v;
	if
	:: v == ASLEEP ->
		episode++
	:: else ->
		skip
	fi
}

/* A seq_cst store: drain the buffer, then store. */
inline store_seq_cst(v)
{
	atomic {
		if
		:: dsb_full ->
			word_to_memory(dsb_val);
			dsb_full = false
		:: else ->
			skip
		fi;
		word_to_memory(v)
	}
}

/* A relaxed store: into the buffer (draining an older entry first). */
inline store_relaxed(v)
{
	atomic {
		if
		:: dsb_full ->
			word_to_memory(dsb_val)
		:: else ->
			skip
		fi;
		dsb_full = true;
		dsb_val = v
	}
}

/* jt_unpark, after a publication. */
inline unpark()
{
	if
	:: wake == ASLEEP -> /* seq_cst load */
		atomic {
			/* seq_cst exchange (drains this thread's buffer) */
			publish_buffered();
			if
			:: wake == ASLEEP ->
				wake = AWAKE;
				assert(woken_episode != episode);
				woken_episode = episode;
				mine = true
			:: else ->
				skip
			fi
		}
		if
		:: mine ->
			/* jt_futex_wake(word, 1) */
			atomic {
				wakes++;
				assert(wakes <= parks);
				in_kernel = false
			}
			mine = false
		:: else ->
			skip
		fi
	:: else ->
		skip
	fi
}

/* Drain this producer's buffered publication (INJECT_BUG=2 only). */
inline publish_buffered()
{
	qlen = qlen + psb[p];
	psb[p] = 0
}

proctype producer(byte p)
{
	byte k;
	bool mine = false;

	for (k : 1 .. POSTS) {
		/* jt_mpsc_push */
#if INJECT_BUG == 2
		psb[p]++;
#else
		qlen++; /* the seq_cst tail exchange */
#endif
		unpark()
	}
}

/* The dispatcher's wake-up condition: thread_has_work, seq_cst loads. */
#define thread_has_work (qlen > 0 || stop)

active proctype dispatcher()
{
	do
	:: /* run_some: splice the queue and run the chain, until empty */
		do
		:: atomic {
			qlen > 0 ->
			ran = ran + qlen;
			qlen = 0
		}
		:: else ->
			break
		od;
		if
		:: qlen > 0 ->
			goto again /* !jt_mpsc_empty: continue */
		:: else ->
			skip
		fi;
		/* pass_done; then the stop check */
		if
		:: stop ->
			break
		:: else ->
			skip
		fi;
		/* jt_spin_for: sees work, or times out (with or without) */
		if
		:: thread_has_work ->
			goto again
		:: true ->
			skip
		fi;
		/* jt_park */
		parks++;
#if INJECT_BUG == 1
		store_relaxed(ASLEEP);
#else
		store_seq_cst(ASLEEP);
#endif
		if
		:: thread_has_work ->
			skip
		:: else ->
			/* jt_futex_wait(word, ASLEEP, -1): the kernel drains
			 * our buffer (its bucket lock) and compares */
			atomic {
				if
				:: dsb_full ->
					word_to_memory(dsb_val);
					dsb_full = false
				:: else ->
					skip
				fi;
				if
				:: wake == ASLEEP ->
					in_kernel = true
				:: else ->
					skip
				fi
			}
			!in_kernel /* asleep until a futex_wake */
		fi;
		store_relaxed(AWAKE);
again:
		skip
	od;
	exited = true
}

/* jt_runtime_destroy: all retired (every item ran), then
 * jt_dispatcher_stop. */
active proctype stopper()
{
	bool mine = false;

	ran == TOTAL;
	stop = true; /* seq_cst store */
	/* jt_unpark, with no buffered publication of its own */
	if
	:: wake == ASLEEP ->
		atomic {
			if
			:: wake == ASLEEP ->
				wake = AWAKE;
				assert(woken_episode != episode);
				woken_episode = episode;
				mine = true
			:: else ->
				skip
			fi
		}
		if
		:: mine ->
			atomic {
				wakes++;
				assert(wakes <= parks);
				in_kernel = false
			}
		:: else ->
			skip
		fi
	:: else ->
		skip
	fi;
	exited; /* pthread_join */
	assert(qlen == 0 && ran == TOTAL)
}

/* Store buffers drain at any moment. */
active proctype flusher()
{
	byte q;

end:
	do
	:: atomic {
		dsb_full ->
		word_to_memory(dsb_val);
		dsb_full = false
	}
	:: atomic {
		psb[0] + psb[1] > 0 ->
		for (q : 0 .. PRODUCERS - 1) {
			qlen = qlen + psb[q];
			psb[q] = 0
		}
	} /* only INJECT_BUG=2 fills psb */
	od
}

init
{
	byte p;

	atomic {
		for (p : 0 .. PRODUCERS - 1) {
			run producer(p)
		}
	}
}

/* Work that is queued is eventually run (./pan -a -f -N no_lost_wakeup). */
ltl no_lost_wakeup { [] ((qlen > 0) -> <> (qlen == 0)) }
/* The dispatcher eventually stops (./pan -a -f -N stops). */
ltl stops { <> exited }
