/*
 * pool.pml - the worker pool's idle protocol: submission batches, per-worker
 * queues, stealing a chain's rest, owed units, searching, parking and
 * waking; a grouped failure while the txn's jobs are queued, stolen or
 * running.
 *
 * Models today's code:
 *
 *   submitter()  jt_job_submit's batches (txn/job.c submits_add: jobs
 *                  0 and 1 in one chain, job 2 in a second), each handed
 *                  over by jt_worker_pool_submit_chain (runtime/
 *                  worker_pool.c): the push (the queue's seq_cst tail
 *                  exchange), the seq_cst load of `searching`, then the
 *                  target's word (jt_unpark_stamped) or, if it is awake,
 *                  one sleeper (wake_a_sleeper); then jt_txn_commit's drop
 *                  of the builder's hold; after retirement, the pool's stop
 *                  (stop_workers: stop, jt_unpark)
 *   worker(me)   worker_main: take_any (own queue, then the other's:
 *                  take_queue), steal_rest (a rest stolen or not: its age
 *                  is a nondeterministic choice), start_search (the CAS of
 *                  `searching` from 0 to 1), search (passes until work
 *                  shows, or gives up at any moment: the spin's length),
 *                  steal_rest(now) of a searcher about to sleep,
 *                  sleep_worker (sleepers++, the searcher's store of 0,
 *                  jt_park: ASLEEP, parks_on re-check word by word, futex
 *                  wait), stop_search (store 0, sleepers and other_work,
 *                  wake_a_sleeper); run_chain: the first item of a chain
 *                  of more than one runs with the rest published in
 *                  `rest` (exchange), the rest-publication wake-up, the
 *                  exchange back; run_submitted's owed units and
 *                  drop_owed (txn/job.c), job_finish_failed's unit and
 *                  failing bit, the chain_done drop
 *
 * Sequentially consistent: every word of the protocol is accessed seq_cst
 * or by read-modify-write in the code (the Dekker pairs of the file comment
 * of worker_pool.c); weak memory is ThreadSanitizer's job (README.md).
 * A futex wait sleeps only while the word is ASLEEP; no spurious wake-up.
 * The txn's countdown is `pending`: 3 jobs + the builder's hold; it
 * retires when the last unit goes (countdown.pml checks the countdown's
 * own subtleties).
 *
 * Checked:
 *   - every job runs exactly once, the txn retires exactly once, after all
 *     its jobs ran, failed if and only if a job failed;
 *   - no deadlock (a worker asleep for ever while work is queued leaves
 *     the submitter waiting for retirement: an invalid end state);
 *   - LTL (weak fairness): retires (<> retired), stops (<> all stopped).
 *
 * Injected bugs (the check must then fail):
 *   -DINJECT_BUG=1  parks_on re-checks only the worker's own queue (the
 *                   rule before the protocol): a chain pushed to a
 *                   sleeping worker while another searched is left to a
 *                   searcher that then sleeps without seeing it
 *   -DINJECT_BUG=2  the searcher gives up its search (store of 0) after
 *                   its re-check, not before: a submitter that read 1 in
 *                   between wakes nobody
 *   -DINJECT_BUG=3  a thief's chain_done does not drop its owed units: the
 *                   txn never retires once a rest was stolen
 */

#define W    2 /* workers */
#define JOBS 3

#define AWAKE  0
#define ASLEEP 1

byte queue[W];  /* bitmask of the jobs queued on each worker */
byte rest[W];   /* bitmask: the rest of the chain the worker runs */
bit wake[W];    /* each worker's futex word */
bit stop;
bit searching;  /* workers searching: the protocol keeps it 0 or 1 */
byte sleepers;  /* workers asleep or about to be */
byte pending = JOBS + 1;
bit failing;    /* the txn's failing bit */
bit retired;
byte retirements;
byte ran[JOBS];
bit failed_job; /* a job returned an error */
byte stopped;

/* txn_put: the drop that leaves 0 retires the txn (drop_owed with
 * nothing owed drops nothing). */
inline put(n)
{
	d_step {
		assert(pending >= n);
		assert(retirements == 0 || n == 0);
		pending = pending - n;
		if
		:: pending == 0 && n != 0 ->
			retirements++;
			assert(retirements == 1);
			assert(ran[0] == 1 && ran[1] == 1 && ran[2] == 1);
			assert(failing == failed_job);
			retired = 1
		:: else
		fi
	}
}

/* jt_unpark: seq_cst load, then the exchange elects one waker. */
inline unpark(o)
{
	if
	:: wake[o] == ASLEEP ->
		atomic {
			if
			:: wake[o] == ASLEEP -> wake[o] = AWAKE
			:: else
			fi
		}
	:: else
	fi
}

/* wake_a_sleeper: the first worker seen ASLEEP (any but the caller). */
inline wake_a_sleeper(from)
{
	if
	:: wake[1 - from] == ASLEEP -> unpark(1 - from)
	:: else
	fi
}

/* other_work: every queue, the other's rest (word by word). */
inline other_work(me, res)
{
	res = 0;
	if
	:: queue[0] != 0 -> res = 1
	:: else
	fi;
	if
	:: queue[1] != 0 -> res = 1
	:: else
	fi;
	if
	:: rest[1 - me] != 0 -> res = 1
	:: else
	fi
}

inline stop_search(me)
{
	searching = 0;
	if
	:: sleepers != 0 ->
		other_work(me, seen);
		if
		:: seen -> wake_a_sleeper(me)
		:: else
		fi
	:: else
	fi
}

/* run_submitted: the job runs (job 0 may fail: a grouped failure), its
 * unit is owed, or on failure the owed ones and its own go now. */
inline run_job(j)
{
	d_step { assert(ran[j] == 0); ran[j]++ }
	if
	:: j == 0 ->
		if
		:: failed_job = 1
		:: skip
		fi
	:: else
	fi;
	if
	:: j == 0 && failed_job ->
		put(owed); owed = 0;
		failing = 1; /* job_finish_failed: the bit, then its unit */
		put(1)
	:: else -> owed++
	fi
}

/* The lowest job of a mask. */
inline first_of(m, j)
{
	if
	:: m & 1 -> j = 0
	:: else ->
		if
		:: m & 2 -> j = 1
		:: else -> j = 2
		fi
	fi
}

/* run_chain: a chain of more than one item runs its first with the rest
 * published, for a thief; the owner takes back what is left. */
inline run_chain(me, m, thief)
{
	do
	:: m == 0 -> break
	:: else ->
		skip;
		first_of(m, j);
		m = m & ~(1 << j);
		if
		:: m != 0 ->
			rest[me] = m; /* the seq_cst exchange */
			if
			:: searching == 0 ->
				if
				:: sleepers != 0 -> wake_a_sleeper(me)
				:: else
				fi
			:: else
			fi;
			run_job(j);
			d_step { m = rest[me]; rest[me] = 0 }
		:: else -> run_job(j)
		fi
	od;
	skip; /* break lands here, outside put's d_step */
	/* chain_done: drop_owed */
#if INJECT_BUG == 3
	if
	:: !thief -> put(owed); owed = 0
	:: else
	fi
#else
	put(owed);
	owed = 0
#endif
}

proctype worker(byte me)
{
	bit srch = 0, seen = 0;
	byte m = 0, j = 0, owed = 0;

loop:
	skip; /* a label for goto, outside the d_step */
	/* take_any: own queue first */
	d_step { m = queue[me]; queue[me] = 0 }
	if
	:: m == 0 -> d_step { m = queue[1 - me]; queue[1 - me] = 0 }
	:: else
	fi;
	if
	:: m != 0 ->
		if
		:: srch -> stop_search(me); srch = 0
		:: else
		fi;
		run_chain(me, m, 0);
		goto loop
	:: else
	fi;
	/* steal_rest(false): aged or not, a choice */
	if
	:: d_step { m = rest[1 - me]; rest[1 - me] = 0 }
	:: skip
	fi;
	if
	:: m != 0 ->
		if
		:: srch -> stop_search(me); srch = 0
		:: else
		fi;
		run_chain(me, m, 1);
		goto loop
	:: else
	fi;
	if
	:: stop ->
		if
		:: srch -> searching = 0
		:: else
		fi;
		goto done
	:: else
	fi;
	if
	:: !srch ->
		atomic {
			if
			:: searching == 0 -> searching = 1; srch = 1
			:: else
			fi
		}
	:: else
	fi;
	if
	:: srch ->
		/* search: until work shows (then loop), or it gives up */
		do
		:: queue[0] != 0 || queue[1] != 0 || rest[1 - me] != 0 || stop -> goto loop
		:: true -> break
		od;
		skip; /* break lands here, outside the d_step */
		/* steal_rest(true) */
		d_step { m = rest[1 - me]; rest[1 - me] = 0 }
		if
		:: m != 0 -> stop_search(me); srch = 0; run_chain(me, m, 1); goto loop
		:: else
		fi
	:: else
	fi;
	/* sleep_worker */
	sleepers++;
#if INJECT_BUG != 2
	if
	:: srch -> searching = 0
	:: else
	fi;
#endif
	wake[me] = ASLEEP;
	/* parks_on, word by word */
	if
	:: stop -> goto awake
	:: else
	fi;
#if INJECT_BUG == 1
	if
	:: queue[me] != 0 -> goto awake
	:: else
	fi;
#else
	if
	:: queue[0] != 0 -> goto awake
	:: else
	fi;
	if
	:: queue[1] != 0 -> goto awake
	:: else
	fi;
#endif
	if
	:: rest[1 - me] != 0 -> goto awake
	:: else
	fi;
#if INJECT_BUG == 2
	if
	:: srch -> searching = 0
	:: else
	fi;
#endif
	wake[me] == AWAKE; /* futex_wait: sleeps while ASLEEP */
awake:
	wake[me] = AWAKE;
	sleepers--;
	srch = 0;
	goto loop;
done:
	stopped++
}

/* jt_worker_pool_submit_chain(mask) to worker t */
inline submit(t, mask)
{
	d_step { queue[t] = queue[t] | mask };
	if
	:: searching != 0 -> skip
	:: else ->
		if
		:: wake[t] == ASLEEP -> unpark(t)
		:: else ->
			if
			:: sleepers != 0 -> wake_a_sleeper(t)
			:: else
			fi
		fi
	fi
}

active proctype submitter()
{

	submit(0, 3); /* jobs 0 and 1: one batch */
	submit(1, 4); /* job 2 */
	put(1);       /* jt_txn_commit: the builder's hold */
	retired == 1; /* jt_runtime_destroy: drain */
	stop = 1;
	unpark(0);
	unpark(1);
	stopped == W
}

init
{
	atomic {
		run worker(0);
		run worker(1)
	}
}

ltl retires { <> retired }
ltl stops { <> (stopped == W) }
