/*
 * countdown.pml - the countdown, the seal, and the failing bit that stands
 * for the unit of the cancel request (one txn, N members).
 *
 * Models the countdown as the code has it (txn/txn.c, points 1-5): bit 63
 * of `pending` is the failing bit, and while it is set it is the cancel
 * request's unit; the seal is one fetch_sub. Step by step:
 *
 *   builder()      jt_txn_begin (txn/txn.c): P = HOLD, armed = 0
 *                  jt_job_arm (txn/job.c, job_arm_as): state IDLE ->
 *                    ARMED, armed += 1, then the user hands the job to a
 *                    completer (run)
 *                  txn_setup_pass (txn/setup_pass.c): prepares in order; a
 *                    prepare may arm its job, the first failure stops the
 *                    pass: txn_record_failure(t, err, false): status CAS,
 *                    then CAS P |= F (no unit)
 *                  txn_seal (txn/txn.c): fetch_sub(P, HOLD - armed); the
 *                    old value's F says a failure came first: post the
 *                    cancel request; else a count of 0 posts "ready"
 *   completer(i)   jt_job_complete -> job_complete_as (CAS ARMED ->
 *                  COMPLETED), job_finish; a failure: job_finish_failed
 *                  (j->ret = ret), txn_record_failure (status CAS, then for
 *                  a grouped txn's first failure one CAS on P that sets F
 *                  and drops the job's unit; if the count was already
 *                  sealed it posts the cancel request); txn_put
 *                  (fetch_sub(P, 1) == 1: the word 0 means the last unit)
 *   dispatcher()   jt_dispatcher_post / txn_run_chain as a queue of this
 *                  one txn's work item; txn_dispatch: F set means a cancel
 *                  request: deliver_cancel_request (deliver_cancels, then
 *                  TXN_FAILING in flags, then fetch_sub(P, F): 0 left means
 *                  ready now); txn_retire
 *
 * P is one word: count(P) is `cnt`, the failing bit is `F`, and the word
 * is 0 only when both are; every CAS loop on P is one atomic step (a
 * failed CAS only retries). TXN_HOLD is scaled down to HOLD = 8 > 2 * N, so
 * "unsealed" = count > HOLD / 2 holds exactly as with 2^62. The
 * interleaving is sequentially consistent: the memory orders on the real
 * code are ThreadSanitizer's job (README.md).
 *
 * Every configuration is explored in one run: grouped or not; each member
 * not armed, armed before commit, or armed in its prepare; no prepare
 * failure or the prepare of member k fails (after arming, if it arms);
 * each completion succeeds, fails (-EIO) or is cancelled (-ECANCELED).
 *
 * Checked (assertions, and the LTL claims at the end):
 *   - every member's done runs exactly once, after every armed job
 *     completed, never before the seal; done gets the job's own ret;
 *   - the status is the first failure, -ECANCELED replaced by the first
 *     later failure that is not -ECANCELED;
 *   - a cancel runs only after the seal, never after its member's done,
 *     at most once per job, for every job still armed at delivery; a
 *     failing txn delivers its cancels before it retires;
 *   - the txn's work item is queued at most once at a time, and a "ready"
 *     post finds the word at 0: no cancel request outstanding;
 *   - pending never underflows; the txn always retires (no invalid end
 *     state: the dispatcher's wait is not an end state; LTL `retires`).
 *
 * Injected bugs (the check must then fail):
 *   -DINJECT_BUG=1  a drop tests the count alone for "the last unit",
 *                   forgetting that the failing bit is the cancel
 *                   request's unit (a ready post beside the request)
 *   -DINJECT_BUG=2  the seal ignores a failure that came first: it posts
 *                   no cancel request (the txn is never retired)
 *   -DINJECT_BUG=3  the dispatcher clears the bit without setting
 *                   TXN_FAILING first: a job's first failure that raced a
 *                   failed prepare sets the bit again and posts a second
 *                   cancel request (found by this model in the first
 *                   version of the code)
 */

#ifndef N
#define N 3 /* members (and completers): -DN=2 for the LTL runs */
#endif
#define HOLD 8 /* TXN_HOLD, scaled: > 2 * N */

/* ret values: 0 or one of these (any non-zero is a failure) */
#define EOK       0
#define EIO       1
#define ECANCELED 2
#define EPREP     3 /* the failing prepare's error */
#define NOTSET    7 /* ghost: armed, its ret not yet written */

/* jt_job.state */
#define IDLE      0
#define ARMED     1
#define COMPLETED 2

/* how the builder arms member i */
#define ARM_NONE    0
#define ARM_BEFORE  1 /* jt_job_arm before jt_txn_commit */
#define ARM_PREPARE 2 /* jt_job_arm inside the member's prepare */

/* the txn: P, status, flags */
byte cnt = HOLD;
bool F = false;
byte status = EOK;
bool grouped;
byte armed = 0; /* builder-private: jobs armed so far */

/* members */
byte state[N];
byte ret[N]; /* j->ret: 0 at jt_txn_add, NOTSET (a ghost) once armed */

/* dispatcher: the txn's work item and the cancel request */
byte queued = 0; /* the work item is in the queue */
bool flag_failing = false; /* TXN_FAILING in flags, from delivery on */

/* ghosts */
bool failing = false; /* F was set at some point */
bool delivered = false; /* the cancel request ran */

bool sealed = false;
bool retired = false;
bool prep_failed = false;
byte first_real = EOK; /* first failure that is not -ECANCELED */
bool any_failure = false;
byte cancels[N];
byte done[N];

/* jt_dispatcher_post: push the work item. The poster never touches the txn
 * after this step (txn.c, point 3). */
inline post()
{
	atomic {
		assert(queued == 0); /* queued at most once at a time */
		queued++
	}
}

/* The status rule (txn_record_failure's CAS loop; one atomic step). */
inline record_status(r, first)
{
	atomic {
		any_failure = true;
		if
		:: status == EOK || (status == ECANCELED && r != ECANCELED) ->
			first = (status == EOK);
			status = r
		:: else ->
			skip
		fi;
		if
		:: r != ECANCELED && first_real == EOK ->
			first_real = r
		:: else ->
			skip
		fi
	}
}

/* txn_put: fetch_sub(P, 1) == 1, i.e. the word is 0 after it: the last
 * unit posts "ready". */
inline drop_unit(last)
{
	atomic {
		assert(cnt > 0); /* no underflow */
		cnt--;
#if INJECT_BUG == 1
		last = (cnt == 0);
#else
		last = (cnt == 0 && !F);
#endif
		/* a ready post needs the cancel request gone first */
		assert(!last || !F)
	}
}

proctype completer(byte i)
{
	byte r;
	bool first = false;
	bool last = false;
	bool cancel_post = false;

	/* the completion value: the work's own result, or its reaction to
	 * jt_job_cancelled / the cancel callback */
	if
	:: r = EOK
	:: r = EIO
	:: r = ECANCELED
	fi;
	/* job_claim: CAS ARMED -> COMPLETED (one completer per job here: a
	 * second completion loses this CAS and touches nothing else), and
	 * job_finish's j->ret = ret, in the same step: nobody reads ret before
	 * this thread's drop of its unit */
	atomic {
		assert(state[i] == ARMED);
		state[i] = COMPLETED;
		ret[i] = r
	}
	if
	:: r != EOK ->
		record_status(r, first)
	:: else ->
		skip
	fi;
	if
	:: first && grouped ->
		/* the CAS loop on P (a grouped txn's first failure) */
		atomic {
			assert(cnt > 0);
			if
			:: F ->
				/* a failed prepare set it: a plain drop */
				cnt--;
				last = false /* F is set: the word is not 0 */
			:: !F && flag_failing ->
				/* a failed prepare's request was delivered
				 * already: a plain drop */
				cnt--;
				last = (cnt == 0)
			:: !F && !flag_failing ->
				/* set F and drop our unit in one CAS; the bit
				 * is the cancel request's unit. Unsealed: the
				 * seal posts the request; sealed: we do. */
				cancel_post = cnt <= HOLD / 2;
				F = true;
				failing = true;
				cnt--
			fi
		}
	:: else ->
		drop_unit(last)
	fi;
	if
	:: last || cancel_post ->
		post()
	:: else ->
		skip
	fi
}

active proctype builder()
{
	byte i;
	byte mode[N];
	byte fail_at; /* N: no prepare fails */
	byte first = false;
	bool last = false;
	bool cancel_post = false;

	/* the configuration, in one step; jt_txn_begin: P = HOLD (the
	 * initialiser), armed = 0, the flags */
	atomic {
		if
		:: grouped = true
		:: grouped = false
		fi;
		for (i : 0 .. N - 1) {
			if
			:: mode[i] = ARM_NONE
			:: mode[i] = ARM_BEFORE
			:: mode[i] = ARM_PREPARE
			fi
		}
		if
		:: fail_at = N
		:: fail_at = 0
		:: fail_at = 1
		:: fail_at = N - 1
		fi
	}
	/* jt_job_arm before commit, handing each job to its completer */
	for (i : 0 .. N - 1) {
		if
		:: mode[i] == ARM_BEFORE ->
			atomic {
				state[i] = ARMED;
				ret[i] = NOTSET;
				armed++;
				run completer(i)
			}
		:: else ->
			skip
		fi
	}
	/* jt_txn_commit -> txn_setup_pass: prepare in registration order */
	i = 0;
	do
	:: i < N ->
		if
		:: mode[i] == ARM_PREPARE ->
			atomic {
				state[i] = ARMED;
				ret[i] = NOTSET;
				armed++;
				run completer(i)
			}
		:: else ->
			skip
		fi;
		if
		:: i == fail_at ->
			/* txn_record_failure(t, err, true): the status, then
			 * CAS P |= F (no unit to drop) */
			record_status(EPREP, first);
			atomic {
				prep_failed = true;
				if
				:: !F ->
					F = true;
					failing = true
				:: else ->
					skip /* a job's failure set it first */
				fi
			}
			break
		:: else ->
			i++
		fi
	:: else ->
		break
	od;
	/* commit or abort, clean: no effect on the protocol */
	/* txn_seal: one fetch_sub on P; the old value's F decides */
	atomic {
		assert(cnt > HOLD / 2); /* unsealed until now */
		sealed = true;
		cnt = cnt - (HOLD - armed);
		if
#if INJECT_BUG == 2
		:: true ->
			last = (cnt == 0 && !F)
#else
		:: F ->
			/* a failure came first: post its cancel request */
			cancel_post = true
		:: else ->
			last = (cnt == 0)
#endif
		fi
	}
	if
	:: last || cancel_post ->
		post()
	:: else ->
		skip
	fi
}

/* txn_retire: every done in registration order (then the txn's done and
 * every destroy, which add nothing to the protocol). */
inline retire()
{
	atomic {
		assert(sealed);
		assert(queued == 0);
		assert(!F); /* no cancel request outstanding */
		assert(!failing || delivered); /* a failing txn's cancels ran first */
		for (i : 0 .. N - 1) {
			/* every armed job completed, its ret written */
			assert(state[i] != ARMED);
			assert(ret[i] != NOTSET);
			assert(cancels[i] <= 1);
			done[i]++;
			assert(done[i] == 1)
		}
		/* the status rule */
		if
		:: first_real != EOK ->
			assert(status == first_real)
		:: first_real == EOK && any_failure ->
			assert(status == ECANCELED)
		:: else ->
			assert(status == EOK)
		fi;
		retired = true
	}
}

active proctype dispatcher()
{
	byte i;
	bool last;

	do
	:: atomic {
		queued > 0 ->
		/* run_some: the link is read before the item runs; from here
		 * the item may be posted again */
		queued--
	}
		/* txn_dispatch: F set: a cancel request */
		if
		:: F ->
			assert(!delivered); /* one request per txn */
			delivered = true;
			/* deliver_cancels: each job's state, one load each */
			for (i : 0 .. N - 1) {
				atomic {
					if
					:: state[i] == ARMED ->
						assert(sealed);
						assert(done[i] == 0);
						cancels[i]++;
						assert(cancels[i] == 1)
					:: else ->
						skip
					fi
				}
			}
			/* TXN_FAILING in flags, then fetch_sub(P, F): the
			 * request's unit goes; 0 left: ready, ours */
#if INJECT_BUG != 3
			flag_failing = true;
#endif
			atomic {
				F = false;
				last = (cnt == 0)
			}
			if
			:: last ->
				retire();
				break
			:: else ->
				skip /* a later completer posts it "ready" */
			fi
		:: else ->
			retire();
			break
		fi
	od
}

/* Every run retires the txn (with weak fairness: ./pan -a -f -N retires). */
ltl retires { <> retired }
/* A failing txn always gets its cancels delivered. */
ltl cancels_delivered { [] (failing -> <> delivered) }
