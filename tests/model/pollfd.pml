/*
 * pollfd.pml - poll mode's eventfd: readable whenever work is pending, so
 * an event loop that sleeps in poll(2)/epoll on jt_runtime_fd never misses
 * a wake-up (spurious ones are allowed).
 *
 * Models today's code (runtime/dispatcher.c):
 *
 *   producer()    jt_dispatcher_post: jt_mpsc_push (the seq_cst tail
 *                   exchange), then signal_poller: seq_cst load of the
 *                   word, seq_cst exchange CLEAR -> SIGNALLED, eventfd_write
 *                   by the one that read CLEAR
 *   event_loop()  a user loop: sleep until the fd is readable, then
 *                   jt_runtime_poll(rt, max) -> jt_dispatcher_poll, max 0
 *                   (what is pending now: one splice) or 1 (a budget that
 *                   leaves the rest of a batch in d->batch):
 *                   has_work (d->batch, seq_cst load of the tail), the lazy
 *                   clear_poll_signal (relaxed load of the word;
 *                   eventfd_read drains the counter; seq_cst store CLEAR;
 *                   the has_work re-check, signal_poller again if work
 *                   arrived), run_some, pass_done
 *
 * The queue is abstracted to its tail (`qlen`: published, not spliced) and
 * the spliced chain (`batch`). The eventfd is its counter; eventfd_read is
 * non-blocking and zeroes it. One poller (jt_dispatcher_poll's `polling`
 * CAS makes a second one return -EBUSY); no backlog (JT_RUNTIME_ORDERED's
 * backlog_ready changes only inside a poll). Sequentially consistent.
 *
 * Checked:
 *   - no deadlock: every item runs (the event loop's sleep is not an end
 *     state while items are outstanding: an invalid end state otherwise);
 *   - no busy loop: a poll that finds nothing to do and the word CLEAR
 *     never finds the fd readable (it would not drain it, and the event
 *     loop would spin until the next post);
 *   - LTL (./pan -a -f, weak fairness): pending work is eventually run.
 *
 * Injected bugs (the check must then fail):
 *   -DINJECT_BUG=1  lazy clear without the has_work re-check: a post
 *                   between the poll's first has_work and its CLEAR store
 *                   sees SIGNALLED and writes nothing; a budgeted run
 *                   leaves it in d->batch with the fd clear
 *   -DINJECT_BUG=2  eager clear: every poll drains the eventfd and stores
 *                   CLEAR before it runs anything, with no re-check
 *   -DINJECT_BUG=3  the eventfd drained after the CLEAR store and the
 *                   re-check: it eats the write of a post that came
 *                   between them
 */

#define PRODUCERS 2
#define POSTS     2 /* per producer */
#define TOTAL     (PRODUCERS * POSTS)

#define CLEAR     0
#define SIGNALLED 1

byte qlen = 0;  /* published (tail exchanged), not yet spliced */
byte batch = 0; /* d->batch: spliced, not yet run */
byte ran = 0;
bit wake = CLEAR; /* d->wake */
byte efd = 0;     /* the eventfd's counter: readable when > 0 */

#define has_work (batch > 0 || qlen > 0)

/* signal_poller: one eventfd_write per CLEAR -> SIGNALLED exchange. */
inline signal_poller()
{
	if
	:: wake == CLEAR -> /* seq_cst load */
		atomic {
			if
			:: wake == CLEAR -> /* seq_cst exchange */
				wake = SIGNALLED;
				mine = true
			:: else ->
				skip
			fi
		}
		if
		:: mine ->
			efd++; /* eventfd_write(efd, 1) */
			mine = false
		:: else ->
			skip
		fi
	:: else ->
		skip
	fi
}

proctype producer(byte p)
{
	byte k;
	bool mine = false;

	for (k : 1 .. POSTS) {
		qlen++; /* jt_mpsc_push: the seq_cst tail exchange */
		signal_poller()
	}
}

/* clear_poll_signal */
inline clear_poll_signal()
{
	if
	:: wake == CLEAR -> /* relaxed load */
		/* nothing to do and the word CLEAR: the fd must not stay
		 * readable, or the event loop would spin until the next post */
		assert(efd == 0 || has_work)
	:: else ->
#if INJECT_BUG == 3
		wake = CLEAR; /* seq_cst store */
		if
		:: has_work ->
			signal_poller()
		:: else ->
			skip
		fi;
		efd = 0 /* eventfd_read, too late */
#else
		efd = 0; /* eventfd_read: drains the counter */
		wake = CLEAR; /* seq_cst store */
#if INJECT_BUG != 1 && INJECT_BUG != 2
		if
		:: has_work -> /* the re-check */
			signal_poller()
		:: else ->
			skip
		fi
#endif
#endif
	fi
}

/* run_some(d, budget, once) */
inline run_some(budget, once)
{
	done = 0;
	spliced = false;
	do
	:: budget == 0 || done < budget ->
		if
		:: batch == 0 ->
			if
			:: once && spliced ->
				break
			:: else ->
				skip
			fi;
			/* jt_mpsc_splice: false when empty */
			atomic {
				if
				:: qlen == 0 ->
					break
				:: else ->
					batch = qlen;
					qlen = 0
				fi
			}
			spliced = true
		:: else ->
			skip
		fi;
		/* run one item */
		batch--;
		ran++;
		done++
	:: else ->
		break
	od
}

active proctype event_loop()
{
	byte max, done;
	bool spliced, mine = false;

	do
	:: efd > 0 -> /* poll(2) on jt_runtime_fd: readable */
		if
		:: max = 0
		:: max = 1
		fi;
		/* jt_dispatcher_poll(d, max) */
#if INJECT_BUG == 2
		clear_poll_signal();
#else
		if
		:: !has_work -> /* the lazy clear */
			clear_poll_signal()
		:: else ->
			skip
		fi;
#endif
		run_some(max, max == 0)
		/* pass_done */
	:: ran == TOTAL -> /* every item ran: nothing left to check */
		break
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

/* Pending work is eventually run (./pan -a -f -N no_missed_wakeup). */
ltl no_missed_wakeup { [] (has_work -> <> !has_work) }
