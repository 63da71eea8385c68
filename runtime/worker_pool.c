/*
 * worker_pool.c - the built-in workers.
 */
#include "runtime/worker_pool.h"

#include <errno.h>
#include <stdio.h>

#include "atomics/parking.h"
#include "runtime/thread_start.h"

#define WORKER_SPIN_NS 20000

/*
 * An idle worker pauses this long, then yields between checks: on 2 vCPUs
 * the pool workload runs a submitter, 2 workers and the dispatcher, and a
 * worker that only paused held the submitter off its CPU (pool 2.8-9.7 ->
 * 11.1-13.4 M jobs/s with yielding, 5 alternating runs).
 */
#define WORKER_PAUSE_NS 500

/*
 * A worker that took a short batch lingers this long before it takes the
 * next one. Taking a batch moves the queue's tail line (and the last
 * node's) to the worker; the submitter's next push moves them back. One
 * job per batch pays both transfers per job: the pool workload (one
 * submitter, two workers) ran 12.5-13 M jobs/s that way, 20-24 M with this
 * linger after batches of fewer than WORKER_SHORT_BATCH.
 * The cost: a job submitted just after a short batch may wait that long.
 */
#define WORKER_LINGER_NS   1000
#define WORKER_SHORT_BATCH 16

static _Thread_local unsigned submit_cursor;

static bool worker_has_work(void *arg)
{
	struct jt_worker *w = arg;

	return !jt_mpsc_empty(&w->queue) || jt_load_seq_cst(&w->stop);
}

static void linger(void)
{
	uint64_t end = jt_monotonic_ns() + WORKER_LINGER_NS;

	do {
		for (int i = 0; i < 8; i++)
			jt_cpu_relax();
	} while (jt_monotonic_ns() < end);
}

static void *worker_main(void *arg)
{
	struct jt_worker *w = arg;

	for (;;) {
		struct jt_mpsc_node *first, *last;

		if (jt_mpsc_splice(&w->queue, &first, &last)) {
			if (jt_work_run_chain(first, last) < WORKER_SHORT_BATCH)
				linger();
			continue;
		}
		if (jt_load_seq_cst(&w->stop))
			return NULL;
		if (!jt_spin_for(WORKER_SPIN_NS, WORKER_PAUSE_NS, worker_has_work, w))
			jt_park(&w->wake, worker_has_work, w);
	}
}

static void stop_workers(struct jt_worker_pool *p, unsigned started)
{
	for (unsigned i = 0; i < started; i++) {
		jt_store_seq_cst(&p->workers[i].stop, true);
		jt_unpark(&p->workers[i].wake);
	}
	for (unsigned i = 0; i < started; i++)
		pthread_join(p->workers[i].thread, NULL);
	jt_alloc_put_aligned(p->alloc, p->workers, sizeof(*p->workers) * p->count);
	p->workers = NULL;
}

int jt_worker_pool_start(struct jt_worker_pool *p, unsigned count, const struct jt_alloc *alloc)
{
	p->count = count;
	p->alloc = alloc;
	p->workers = NULL;
	if (count == 0)
		return 0;
	p->workers = jt_alloc_get_aligned(alloc, sizeof(*p->workers) * count);
	if (p->workers == NULL)
		return -ENOMEM;
	for (unsigned i = 0; i < count; i++) {
		struct jt_worker *w = &p->workers[i];
		char name[16];
		int err;

		jt_mpsc_init(&w->queue);
		jt_store_relaxed(&w->wake, JT_PARK_AWAKE);
		jt_store_relaxed(&w->stop, false);
		snprintf(name, sizeof(name), "jt-worker-%u", i % 10000u);
		err = jt_thread_start(&w->thread, name, worker_main, w);
		if (err != 0) {
			stop_workers(p, i);
			return err;
		}
	}
	return 0;
}

void jt_worker_pool_stop(struct jt_worker_pool *p)
{
	if (p->workers != NULL)
		stop_workers(p, p->count);
}

void jt_worker_pool_submit(struct jt_worker_pool *p, struct jt_work *item)
{
	struct jt_worker *w = &p->workers[submit_cursor++ % p->count];

	/* The push's seq_cst tail exchange publishes; see atomics/parking.h. */
	jt_mpsc_push(&w->queue, &item->node);
	jt_unpark(&w->wake);
}
