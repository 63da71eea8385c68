/*
 * dispatcher.c - the consumer side of the hand-off.
 *
 * Thread mode parks on `wake` (atomics/parking.h argues why no wake-up is
 * lost: jt_mpsc_push's seq_cst tail exchange is the publication, and
 * jt_mpsc_empty's seq_cst tail load the re-check). Poll mode uses the same
 * Dekker pair with CLEAR/SIGNALLED and an eventfd write in place of the
 * futex wake: a poster pushes (seq_cst), then loads `wake` (seq_cst) and
 * writes the eventfd if it was CLEAR; a poll that found nothing drains the
 * eventfd, stores CLEAR (seq_cst), then re-checks the queue (seq_cst), so
 * either the poster sees CLEAR or the re-check sees its item.
 */
#include "runtime/dispatcher.h"

#include <errno.h>
#include <stddef.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "atomics/parking.h"
#include "runtime/thread_start.h"

/*
 * The dispatcher's idle protocol: it is its queue's only consumer, so it
 * is always its searcher (worker_pool.c): idle, it spins for as long as a
 * wake-up of it costs (atomics/parking.h: jt_wake_cost, measured on this
 * machine, per runtime), unless the owner fixed a spin (spin_ns != 0),
 * then sleeps; a poster wakes it only if it sleeps (jt_dispatcher_post).
 * It spins on pause instructions only, never yielding: one that yielded
 * through its spin was woken about 20 us late (p50, against 3 us) when the
 * completing thread kept its CPU busy afterwards (a loop that completes,
 * then spins on a flag the done sets; 4000 samples on the 2-vCPU VM);
 * throughput was the same either way (fanin, pool).
 */
static int64_t idle_spin_ns(const struct jt_dispatcher *d)
{
	return d->spin_ns != 0 ? d->spin_ns : (int64_t)jt_wake_cost_ns(&d->wake_cost);
}

_Thread_local const struct jt_dispatcher *jt_current_dispatcher;

static bool backlog_ready(struct jt_dispatcher *d)
{
	return d->hooks.backlog_ready != NULL && d->hooks.backlog_ready(d->hooks.ctx);
}

/* Poll mode: work is pending (seq_cst load of the tail). */
static bool has_work(struct jt_dispatcher *d)
{
	return d->rest != NULL || !jt_mpsc_empty(&d->queue) || backlog_ready(d);
}

unsigned jt_work_run_chain(struct jt_mpsc_node *n, struct jt_mpsc_node *last)
{
	unsigned ran = 0;

	for (; n != NULL; ran++) {
		struct jt_mpsc_node *next = jt_mpsc_chain_next(n, last);

		jt_work_of(n)->run(jt_work_of(n));
		n = next;
	}
	return ran;
}

void jt_dispatcher_signal_poller(struct jt_dispatcher *d)
{
	/* seq_cst: the Dekker pair with clear_poll_signal (file comment);
	 * the exchange elects one writer per idle->busy transition. */
	if (jt_xchg_seq_cst(&d->wake, JT_POLL_SIGNALLED) == JT_POLL_CLEAR)
		(void)eventfd_write(d->efd, 1);
}

__attribute__((noinline, cold)) static void clear_poll_signal(struct jt_dispatcher *d)
{
	eventfd_t value;

	if (jt_load_relaxed(&d->wake) == JT_POLL_CLEAR)
		return;
	(void)eventfd_read(d->efd, &value); /* non-blocking: drains the counter */
	jt_store_seq_cst(&d->wake, JT_POLL_CLEAR);
	if (has_work(d))
		jt_dispatcher_signal_poller(d);
}

/* Thread mode, idle: something queued, or asked to stop (seq_cst loads). */
static bool thread_has_work(void *arg)
{
	struct jt_dispatcher *d = arg;

	return !jt_mpsc_empty(&d->queue) || jt_load_seq_cst(&d->stop);
}

/*
 * After a short chain the dispatcher waits a little before it splices
 * again: the wait doubles after each chain shorter than JT_BACKOFF_BATCH (up
 * to JT_BACKOFF_MAX pauses, 1.4 us on the development VM) and halves after one
 * of twice that. Splicing at once takes the queue's tail line (and the
 * last txn's) from the completers for a chain of one or two txns, and their
 * next push takes it back: a completer and a dispatcher on two CPUs then
 * move the lines for every txn (jt-bench dispatch, streaming: 4.7-4.9 M
 * txns/s without the wait, 11.6-12.2 M with it, in alternating runs; the
 * full-queue rate and the latency after idle are the same).
 */
#ifndef JT_BACKOFF_BATCH
#define JT_BACKOFF_BATCH 32
#endif
#ifndef JT_BACKOFF_MAX
#define JT_BACKOFF_MAX 128
#endif
_Static_assert(JT_BACKOFF_BATCH >= 1, "a chain of 2 x 0 would halve nothing");

static void backoff_pause(unsigned n)
{
	for (unsigned i = 0; i < n; i++)
		jt_cpu_relax();
}

static void *dispatcher_main(void *arg)
{
	struct jt_dispatcher *d = arg;
	unsigned backoff = 0;

	jt_current_dispatcher = d;
	for (;;) {
		struct jt_mpsc_node *first, *last, *rest;
		int64_t spin;

		if (jt_mpsc_splice(&d->queue, &first, &last)) {
			/* No budget: the whole chain and the backlog it made
			 * ready run, so nothing is left for backlog_ready. */
			unsigned ran = d->hooks.run(d->hooks.ctx, first, last, 0, &rest);

			if (ran >= 2 * JT_BACKOFF_BATCH)
				backoff /= 2;
			else if (ran < JT_BACKOFF_BATCH && backoff < JT_BACKOFF_MAX)
				backoff = backoff * 2 + 1;
			backoff_pause(backoff);
			continue;
		}
		if (jt_load_seq_cst(&d->stop))
			break;
		spin = idle_spin_ns(d);
		if (jt_spin_for(spin, spin, thread_has_work, d))
			continue;
		backoff = 0;
		jt_park_stamped(&d->wake, &d->stamp, &d->wake_cost, thread_has_work, d);
	}
	jt_current_dispatcher = NULL;
	return NULL;
}

int jt_dispatcher_start(struct jt_dispatcher *d, bool poll_mode, int64_t spin_ns,
                        const struct jt_dispatcher_hooks *hooks)
{
	jt_mpsc_init(&d->queue);
	d->rest = d->rest_last = NULL;
	jt_store_relaxed(&d->wake, 0);
	jt_store_relaxed(&d->polling, 0);
	jt_store_relaxed(&d->stop, false);
	d->poll_mode = poll_mode;
	d->spin_ns = spin_ns;
	jt_store_relaxed(&d->wake_cost.mean_ns, 0);
	jt_store_relaxed(&d->stamp.woken_ns, 0);
	d->stamp.parked_ns = 0;
	d->hooks = *hooks;
	d->efd = -1;
	if (poll_mode) {
		d->efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
		return d->efd < 0 ? -errno : 0;
	}
	return jt_thread_start(&d->thread, "jt-dispatch", dispatcher_main, d);
}

void jt_dispatcher_stop(struct jt_dispatcher *d)
{
	if (d->poll_mode) {
		close(d->efd);
		return;
	}
	jt_store_seq_cst(&d->stop, true);
	jt_unpark(&d->wake);
	pthread_join(d->thread, NULL);
}

/*
 * The part of a poll beyond its first fresh chain: what a budget left of an
 * earlier chain; with a budget (`max` != 0), more chains and backlog while
 * it has room (what keeps arriving, too); without one, at most one chain,
 * the one pending when the call started. `done`: what the call ran so far;
 * `spliced`: it took a chain already. A call that found nothing at all
 * clears the signal (lazily: an event loop pays one empty poll per
 * wake-up, a busy one no eventfd system call at all).
 */
unsigned jt_dispatcher_poll_on(struct jt_dispatcher *d, unsigned max, unsigned done, bool spliced)
{
	bool found = spliced;

	while (max == 0 || done < max) {
		unsigned budget = max == 0 ? 0 : max - done;
		struct jt_mpsc_node *first = NULL, *last = NULL;

		if (d->rest != NULL) {
			found = true;
			done += d->hooks.run(d->hooks.ctx, d->rest, d->rest_last, budget, &d->rest);
			continue;
		}
		if (max == 0 && spliced)
			break;
		if (jt_mpsc_splice(&d->queue, &first, &last)) {
			found = spliced = true;
			done += d->hooks.run(d->hooks.ctx, first, last, budget, &d->rest);
			d->rest_last = last;
			continue;
		}
		if (!backlog_ready(d))
			break;
		found = true;
		done += d->hooks.run(d->hooks.ctx, NULL, NULL, budget, &d->rest);
		if (max == 0)
			break;
	}
	if (!found)
		clear_poll_signal(d);
	return done;
}
