/*
 * reclaimer.c - the grace-period thread.
 */
#include "runtime/reclaimer.h"

#include <time.h>

#include "atomics/parking.h"
#include "runtime/rcu.h"
#include "runtime/thread_start.h"

#define RECLAIM_NAP_NS 1000000

static bool reclaim_has_work(void *arg)
{
	struct jt_reclaimer *r = arg;

	return !jt_mpsc_empty(&r->queue) || !jt_mpsc_empty(&r->soon) || jt_load_seq_cst(&r->stop);
}

/* Run what is posted for soon, then take everything posted for after a
 * grace period, wait one, run it. */
static bool reclaim_round(struct jt_reclaimer *r)
{
	struct jt_mpsc_node *n, *last;
	bool ran = false;

	if (jt_mpsc_splice(&r->soon, &n, &last)) {
		jt_work_run_chain(n, last);
		ran = true;
	}
	if (jt_mpsc_splice(&r->queue, &n, &last)) {
		jt_rcu_synchronize();
		jt_work_run_chain(n, last);
		ran = true;
	}
	return ran;
}

static void *reclaimer_main(void *arg)
{
	struct jt_reclaimer *r = arg;
	struct timespec nap = {0, RECLAIM_NAP_NS};

	for (;;) {
		if (reclaim_round(r)) {
			nanosleep(&nap, NULL);
			continue;
		}
		if (jt_load_seq_cst(&r->stop))
			return NULL;
		jt_park(&r->wake, reclaim_has_work, r);
	}
}

int jt_reclaimer_start(struct jt_reclaimer *r)
{
	jt_mpsc_init(&r->queue);
	jt_mpsc_init(&r->soon);
	jt_store_relaxed(&r->wake, JT_PARK_AWAKE);
	jt_store_relaxed(&r->stop, false);
	return jt_thread_start(&r->thread, "jt-reclaim", reclaimer_main, r);
}

void jt_reclaimer_stop(struct jt_reclaimer *r)
{
	jt_store_seq_cst(&r->stop, true);
	jt_unpark(&r->wake);
	pthread_join(r->thread, NULL);
}

void jt_reclaimer_post(struct jt_reclaimer *r, struct jt_work *w)
{
	/* The push's seq_cst tail exchange publishes; see atomics/parking.h. */
	jt_mpsc_push(&r->queue, &w->node);
	jt_unpark(&r->wake);
}

void jt_reclaimer_post_soon(struct jt_reclaimer *r, struct jt_work *w)
{
	/* The push's seq_cst tail exchange publishes; see atomics/parking.h. */
	jt_mpsc_push(&r->soon, &w->node);
	jt_unpark(&r->wake);
}
