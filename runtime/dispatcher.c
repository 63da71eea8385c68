/*
 * dispatcher.c - the consumer side of the hand-off.
 *
 * Thread mode parks on `wake` (atomics/parking.h argues why no wake-up is
 * lost: jt_mpsc_push's seq_cst tail exchange is the publication, and
 * jt_mpsc_empty's seq_cst tail load the re-check). Poll mode uses the same
 * Dekker pair with CLEAR/SIGNALLED and an eventfd write in place of the
 * futex wake.
 */
#include "runtime/dispatcher.h"

#include <errno.h>
#include <stddef.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "atomics/parking.h"
#include "runtime/thread_start.h"

enum { POLL_CLEAR = 0, POLL_SIGNALLED = 1 };

/*
 * The dispatcher spins on pause instructions only, never yielding: one
 * that yielded through its spin was woken about 20 us late (p50, against
 * 3 us) when the completing thread kept its CPU busy afterwards (a loop
 * that completes, then spins on a flag the done sets; 4000 samples on the
 * 2-vCPU VM); throughput was the same either way (fanin, pool).
 */
#define DEFAULT_SPIN_NS 50000

static _Thread_local const struct jt_dispatcher *current_dispatcher;

bool jt_dispatcher_is_current(const struct jt_dispatcher *d)
{
	return current_dispatcher == d;
}

static bool backlog_ready(struct jt_dispatcher *d)
{
	return d->hooks.backlog_ready != NULL && d->hooks.backlog_ready(d->hooks.ctx);
}

static bool has_work(struct jt_dispatcher *d)
{
	return d->batch != NULL || !jt_mpsc_empty(&d->queue) || backlog_ready(d);
}

static void prefetch(struct jt_dispatcher *d, struct jt_mpsc_node *n)
{
	if (n != NULL && d->hooks.prefetch != NULL)
		d->hooks.prefetch(jt_work_of(n));
}

/*
 * Run items and backlog until `budget` units ran (0 = no limit). Items come
 * from the queue a spliced batch at a time; with `once`, at most one batch
 * is spliced (a poll runs what was pending when it started, not what keeps
 * arriving). What a budget leaves of a batch runs first next time.
 */
static unsigned run_some(struct jt_dispatcher *d, unsigned budget, bool once)
{
	unsigned done = 0;
	bool spliced = false;

	while (budget == 0 || done < budget) {
		struct jt_mpsc_node *n;

		if (backlog_ready(d)) {
			done += d->hooks.backlog_run(d->hooks.ctx, budget ? budget - done : 0);
			continue;
		}
		if (d->batch == NULL) {
			if ((once && spliced) ||
			    !jt_mpsc_splice(&d->queue, &d->batch, &d->batch_last))
				break;
			spliced = true;
			prefetch(d, d->batch);
		}
		n = d->batch;
		d->batch = jt_mpsc_chain_next(n, d->batch_last);
		/* Two ahead: the item after next was linked by now, most likely,
		 * and one item's run is too short to hide a miss. */
		if (d->batch != NULL)
			prefetch(d, jt_mpsc_chain_peek(d->batch, d->batch_last));
		done += jt_work_of(n)->run(jt_work_of(n));
	}
	return done;
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

static void signal_poller(struct jt_dispatcher *d)
{
	/* seq_cst: the Dekker pair with clear_poll_signal (file comment). */
	if (jt_load_seq_cst(&d->wake) == POLL_CLEAR &&
	    jt_xchg_seq_cst(&d->wake, POLL_SIGNALLED) == POLL_CLEAR)
		(void)eventfd_write(d->efd, 1);
}

static void clear_poll_signal(struct jt_dispatcher *d)
{
	eventfd_t value;

	if (jt_load_relaxed(&d->wake) == POLL_CLEAR)
		return;
	(void)eventfd_read(d->efd, &value); /* non-blocking: drains the counter */
	jt_store_seq_cst(&d->wake, POLL_CLEAR);
	if (has_work(d))
		signal_poller(d);
}

void jt_dispatcher_post(struct jt_dispatcher *d, struct jt_work *w)
{
	jt_mpsc_push(&d->queue, &w->node);
	if (d->poll_mode) {
		signal_poller(d);
		return;
	}
	jt_unpark(&d->wake);
}

/* Thread mode, idle (no batch left): something queued, or asked to stop
 * (seq_cst loads). */
static bool thread_has_work(void *arg)
{
	struct jt_dispatcher *d = arg;

	return !jt_mpsc_empty(&d->queue) || jt_load_seq_cst(&d->stop);
}

static void *dispatcher_main(void *arg)
{
	struct jt_dispatcher *d = arg;

	current_dispatcher = d;
	for (;;) {
		run_some(d, 0, false);
		if (!jt_mpsc_empty(&d->queue))
			continue;
		d->hooks.pass_done(d->hooks.ctx);
		if (jt_load_seq_cst(&d->stop))
			break;
		if (jt_spin_for(d->spin_ns, d->spin_ns, thread_has_work, d))
			continue;
		jt_park(&d->wake, thread_has_work, d);
	}
	current_dispatcher = NULL;
	return NULL;
}

int jt_dispatcher_start(struct jt_dispatcher *d, bool poll_mode, int64_t spin_ns,
                        const struct jt_dispatcher_hooks *hooks)
{
	jt_mpsc_init(&d->queue);
	d->batch = d->batch_last = NULL;
	jt_store_relaxed(&d->wake, 0);
	jt_store_relaxed(&d->polling, 0);
	jt_store_relaxed(&d->stop, false);
	d->poll_mode = poll_mode;
	d->spin_ns = spin_ns == 0 ? DEFAULT_SPIN_NS : spin_ns;
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

int jt_dispatcher_poll(struct jt_dispatcher *d, unsigned max)
{
	const struct jt_dispatcher *outer = current_dispatcher;
	uint32_t idle = 0;
	unsigned done;

	/* acquire: pairs with the release store below, so that one poller's
	 * effects are visible to the next. */
	if (!jt_cas_acq_rel(&d->polling, &idle, 1))
		return -EBUSY;
	current_dispatcher = d;
	/* Lazy clear: a poll that finds nothing to do clears the signal, so an
	 * event loop pays one empty poll per wake-up, and a busy one no
	 * eventfd system call at all. */
	if (!has_work(d))
		clear_poll_signal(d);
	done = run_some(d, max, max == 0);
	d->hooks.pass_done(d->hooks.ctx);
	current_dispatcher = outer;
	jt_store_release(&d->polling, 0);
	return (int)done;
}
