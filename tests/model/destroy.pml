/*
 * destroy.pml - jt_runtime_destroy against a completer that is still
 * returning from the hand-off: destroy frees nothing a completer touches.
 *
 * Models the code, with its countdown as countdown.pml has it:
 *
 *   completer(i)  jt_job_complete (txn/job.c): job_claim, job_finish,
 *                   txn_record_failure / txn_put (the countdown; one txn,
 *                   JT_TXN_GROUPED, two jobs: a failure posts a cancel
 *                   request, the last unit a "ready" post), then
 *                   txn_hand_off (txn/txn.c): t->rt, jt_rcu_read_lock,
 *                   jt_dispatcher_post (runtime/dispatcher.c: jt_mpsc_push,
 *                   then jt_unpark's load, exchange and futex_wake on
 *                   d->wake, or poll mode's signal_poller and its
 *                   eventfd_write on d->efd), jt_rcu_read_unlock
 *   builder()     jt_txn_begin, jt_job_arm x 2, jt_txn_commit (txn_seal:
 *                   committed += 1, the seal's fetch_sub, maybe a post), then
 *                   jt_runtime_destroy (txn/runtime_api.c): rt_wait until
 *                   all_retired (in poll mode it polls: retires on its own
 *                   thread), jt_rcu_synchronize, jt_dispatcher_stop (thread
 *                   mode: stop, unpark, join; poll mode: close the eventfd),
 *                   txn_limbo_flush / txn_cache_fini (frees the txn), frees
 *                   the runtime
 *   dispatcher()  thread mode: dispatcher_main runs posted items
 *                   (txn_dispatch: cancel delivery, the failing bit's clear,
 *                   txn_retire: the callbacks, `retired` += 1, then limbo
 *                   and waiter bookkeeping on the runtime) until stopped
 *
 * Each access to the runtime or the txn after it may have been handed
 * over asserts that it was not freed. Sleep and wake-up are abstracted to
 * blocking guards (parking.pml and pollfd.pml check them): the dispatcher
 * waits for `qlen > 0 || stop`, rt_wait for its predicate. RCU (urcu-bp):
 * synchronize_rcu waits until every read-side section that was open when
 * it started has closed; each thread opens at most one here.
 * Sequentially consistent.
 *
 * Checked: no access to freed memory; destroy returns (no deadlock;
 * LTL `destroys` with weak fairness); both thread and poll mode, the job
 * results 0 or a failure each.
 *
 * Injected bugs (the check must then fail):
 *   -DINJECT_BUG=1  destroy frees without jt_rcu_synchronize
 *   -DINJECT_BUG=2  txn_hand_off closes its read-side section after the
 *                   push, before the wake-up (jt_unpark / signal_poller)
 */

#define JOBS 2
#define HOLD 8

#define IDLE      0
#define ARMED     1
#define COMPLETED 2

bool poll_mode;

/* the txn (the countdown, as in countdown.pml) */
byte cnt = HOLD;
bool F = false;
bool failed = false; /* status != 0 */
bool delivered = false;
byte state[JOBS];

/* the runtime */
byte begun = 0, committed = 0, retired = 0;
byte qlen = 0; /* d->queue */
bit wake = 0;  /* d->wake: ASLEEP 1 / SIGNALLED 1 */
bool stop = false;
bool exited = false;

/* memory */
bool rt_freed = false;
bool txn_freed = false;
bool efd_closed = false;

/* RCU read-side sections: one reader slot per completer, one for the
 * builder (which posts from the seal) */
bool in_cs[JOBS + 1];

bool destroyed = false;

#define touch_rt()  assert(!rt_freed)
#define touch_txn() assert(!txn_freed)

/* txn_hand_off(t): thread `me` posts the txn's work item. */
inline hand_off(me)
{
	touch_txn(); /* t->rt */
	in_cs[me] = true; /* jt_rcu_read_lock */
	/* jt_dispatcher_post: jt_mpsc_push (t->work, d->queue) */
	atomic {
		touch_rt();
		touch_txn();
		qlen++
	}
#if INJECT_BUG == 2
	in_cs[me] = false;
#endif
	touch_rt(); /* d->poll_mode */
	if
	:: !poll_mode ->
		/* jt_unpark: load, exchange, futex_wake on d->wake */
		touch_rt();
		if
		:: wake == 1 ->
			atomic {
				touch_rt();
				mine = (wake == 1);
				wake = 0
			}
			if
			:: mine ->
				touch_rt() /* futex_wake(&d->wake) */
			:: else ->
				skip
			fi
		:: else ->
			skip
		fi
	:: poll_mode ->
		/* signal_poller: load, exchange, eventfd_write(d->efd) */
		touch_rt();
		if
		:: wake == 0 ->
			atomic {
				touch_rt();
				mine = (wake == 0);
				wake = 1
			}
			if
			:: mine ->
				touch_rt();
				assert(!efd_closed)
			:: else ->
				skip
			fi
		:: else ->
			skip
		fi
	fi;
	in_cs[me] = false /* jt_rcu_read_unlock */
}

proctype completer(byte i)
{
	bool fail, first = false, post = false, mine = false;

	if
	:: fail = false
	:: fail = true
	fi;
	atomic { /* job_claim; j->ret */
		touch_txn();
		assert(state[i] == ARMED);
		state[i] = COMPLETED
	}
	if
	:: fail ->
		atomic { /* the status CAS */
			touch_txn();
			first = !failed;
			failed = true
		}
	:: else ->
		skip
	fi;
	atomic { /* the CAS loop on P, or txn_put's fetch_sub */
		touch_txn();
		assert(cnt > 0);
		if
		:: first && !F && !delivered ->
			/* set the bit (the cancel request's unit) and drop
			 * ours; sealed: post the request, else the seal does */
			post = cnt <= HOLD / 2;
			F = true;
			cnt--
		:: else ->
			cnt--;
			post = (cnt == 0 && !F)
		fi
	}
	if
	:: post ->
		hand_off(i)
	:: else ->
		skip
	fi
	/* jt_job_complete returns: nothing touched after this */
}

/* txn_dispatch on the dispatcher (or inside a poll): one posted item. */
inline dispatch()
{
	atomic {
		touch_rt();
		touch_txn();
		assert(qlen > 0);
		qlen--
	}
	touch_txn();
	if
	:: F ->
		delivered = true; /* deliver_cancels, TXN_FAILING in flags */
		atomic { /* fetch_sub(P, F): the request's unit */
			touch_txn();
			F = false;
			last = (cnt == 0)
		}
	:: else ->
		last = true
	fi;
	if
	:: last ->
		/* txn_retire: the callbacks, then `retired` += 1 */
		touch_txn();
		retired++;
		/* ... then limbo_add, signals: the txn and the runtime */
		touch_txn();
		touch_rt()
	:: else ->
		skip
	fi
}

proctype dispatcher()
{
	bool last;

	do
	:: qlen > 0 ->
		dispatch()
	:: qlen == 0 && stop -> /* asked to stop, nothing queued */
		break
	:: qlen == 0 && !stop -> /* jt_park: ASLEEP until work or stop */
		wake = 1;
		qlen > 0 || stop;
		wake = 0
	od;
	touch_rt(); /* dispatcher_main's last loads */
	exited = true
}

proctype builder()
{
	byte i;
	bool post = false, mine = false, last;
	bool snap[JOBS + 1];

	/* jt_txn_begin; jt_job_arm x 2, handing each job to a completer */
	begun++;
	for (i : 0 .. JOBS - 1) {
		atomic {
			state[i] = ARMED;
			run completer(i)
		}
	}
	/* jt_txn_commit -> txn_seal */
	committed++;
	atomic {
		assert(cnt > HOLD / 2);
		cnt = cnt - (HOLD - JOBS);
		if
		:: F ->
			post = true /* a failure came first: its request */
		:: else ->
			post = (cnt == 0)
		fi
	}
	if
	:: post ->
		hand_off(JOBS)
	:: else ->
		skip
	fi;

	/* jt_runtime_destroy: begun == committed; rt_wait(all_retired) */
	assert(begun == committed);
	if
	:: !poll_mode ->
		retired == committed
	:: poll_mode ->
		/* rt_wait in poll mode: jt_dispatcher_poll on this thread,
		 * else a bounded nap on the eventfd */
		do
		:: retired == committed ->
			break
		:: qlen > 0 ->
			dispatch()
		od
	fi;
#if INJECT_BUG != 1
	/* jt_rcu_synchronize */
	atomic {
		for (i : 0 .. JOBS) {
			snap[i] = in_cs[i]
		}
	}
	for (i : 0 .. JOBS) {
		!(snap[i] && in_cs[i])
	}
#endif
	/* jt_dispatcher_stop */
	if
	:: !poll_mode ->
		stop = true;
		exited /* jt_unpark, pthread_join */
	:: poll_mode ->
		efd_closed = true /* close(d->efd) */
	fi;
	/* txn_limbo_flush, jt_reclaimer_stop, txn_cache_fini: the txn */
	txn_freed = true;
	/* the runtime itself */
	rt_freed = true;
	destroyed = true
}

/* jt_runtime_create: thread mode (a dispatcher thread) or poll mode. */
init
{
	atomic {
		if
		:: poll_mode = false;
			run dispatcher()
		:: poll_mode = true
		fi;
		run builder()
	}
}

/* destroy returns (./pan -a -f -N destroys). */
ltl destroys { <> destroyed }
