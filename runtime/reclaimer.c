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

	return !jt_mpsc_empty(&r->queue) || jt_load_seq_cst(&r->stop);
}

/* Take everything queued now, wait one grace period, run it. */
static bool reclaim_round(struct jt_reclaimer *r)
{
	struct jt_mpsc_node *n, *taken = NULL, *last = NULL;

	/* `next` of a popped node is ours again: chain the round through it
	 * (relaxed: this thread alone reads it back). */
	while ((n = jt_mpsc_pop_wait(&r->queue)) != NULL) {
		jt_store_relaxed(&n->next, NULL);
		if (last != NULL)
			jt_store_relaxed(&last->next, n);
		else
			taken = n;
		last = n;
	}
	if (taken == NULL)
		return false;
	jt_rcu_synchronize();
	while (taken != NULL) {
		n = taken;
		taken = jt_load_relaxed(&n->next);
		jt_work_of(n)->run(jt_work_of(n));
	}
	return true;
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
