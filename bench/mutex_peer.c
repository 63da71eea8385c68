/*
 * mutex_peer.c - the obvious design of the same contract, as a yardstick:
 * ONE pthread mutex per runtime guards every txn's pending count and status,
 * the ready list and the in-flight count; a dispatcher thread sleeps on a
 * condition variable until the ready list is non-empty and runs the
 * callbacks with the mutex released; drain waits on a second condvar.
 *
 * Subset: members have `done` and `destroy` (no setup pass, no cancel), one
 * malloc per txn and per member (glibc malloc; jobtxn uses its own default
 * allocator). Poll mode: no dispatcher, mp_poll runs the callbacks.
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>

#include "bench.h"

struct mp_runtime;

struct mp_job {
	struct mp_job *next; /* registration order */
	struct mp_txn *txn;
	const struct jt_member_ops *ops;
	void *opaque;
	int ret;
	bool armed, completed; /* under the runtime lock */
};

struct mp_txn {
	struct mp_txn *next; /* ready list */
	struct mp_runtime *rt;
	struct mp_job *head, *tail;
	long pending; /* under the runtime lock; 1 = the builder's hold */
	int status;   /* under the runtime lock until ready */
	void (*done)(void *opaque, int status);
	void *opaque;
};

struct mp_runtime {
	pthread_mutex_t lock;
	pthread_cond_t ready_cond; /* dispatcher: ready list non-empty, or stop */
	pthread_cond_t drain_cond; /* drainers: inflight == 0 */
	struct mp_txn *ready_head, *ready_tail;
	size_t inflight; /* committed, not retired */
	bool poll, stop;
	pthread_t dispatcher;
};

/* Called with rt->lock held. */
static void mp_make_ready_locked(struct mp_runtime *rt, struct mp_txn *t)
{
	bool was_empty = rt->ready_head == NULL;

	t->next = NULL;
	if (was_empty)
		rt->ready_head = t;
	else
		rt->ready_tail->next = t;
	rt->ready_tail = t;
	if (was_empty && !rt->poll)
		pthread_cond_signal(&rt->ready_cond);
}

/* Runs the callbacks of a detached ready list, without the lock. */
static size_t mp_retire_list(struct mp_txn *t)
{
	size_t n = 0;

	while (t) {
		struct mp_txn *next = t->next;
		struct mp_job *j, *jn;

		for (j = t->head; j; j = j->next)
			if (j->ops && j->ops->done)
				j->ops->done(j->opaque, j->ret, t->status);
		if (t->done)
			t->done(t->opaque, t->status);
		for (j = t->head; j; j = jn) {
			jn = j->next;
			if (j->ops && j->ops->destroy)
				j->ops->destroy(j->opaque);
			free(j);
		}
		free(t);
		t = next;
		n++;
	}
	return n;
}

static void mp_account_retired(struct mp_runtime *rt, size_t n)
{
	pthread_mutex_lock(&rt->lock);
	rt->inflight -= n;
	if (rt->inflight == 0)
		pthread_cond_broadcast(&rt->drain_cond);
	pthread_mutex_unlock(&rt->lock);
}

static void *mp_dispatch_main(void *arg)
{
	struct mp_runtime *rt = arg;

	for (;;) {
		struct mp_txn *list;

		pthread_mutex_lock(&rt->lock);
		while (!rt->ready_head && !rt->stop)
			pthread_cond_wait(&rt->ready_cond, &rt->lock);
		list = rt->ready_head;
		rt->ready_head = rt->ready_tail = NULL;
		pthread_mutex_unlock(&rt->lock);
		if (!list)
			return NULL; /* stop, and nothing left */
		mp_account_retired(rt, mp_retire_list(list));
	}
}

static int mp_rt_create(const struct bench_rt_opts *o, void **out)
{
	struct mp_runtime *rt;
	pthread_condattr_t ca;
	int rc;

	if (o->workers || o->max_inflight)
		return -ENOTSUP;
	rt = calloc(1, sizeof(*rt));
	if (!rt)
		return -ENOMEM;
	pthread_mutex_init(&rt->lock, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&rt->ready_cond, &ca);
	pthread_cond_init(&rt->drain_cond, &ca);
	pthread_condattr_destroy(&ca);
	rt->poll = o->poll;
	if (!rt->poll) {
		rc = pthread_create(&rt->dispatcher, NULL, mp_dispatch_main, rt);
		if (rc) {
			free(rt);
			return -rc;
		}
		pthread_setname_np(rt->dispatcher, "mp-dispatch");
	}
	*out = rt;
	return 0;
}

static int mp_rt_poll(void *arg)
{
	struct mp_runtime *rt = arg;
	struct mp_txn *list;
	size_t n;

	if (!rt->poll)
		return -EINVAL;
	pthread_mutex_lock(&rt->lock);
	list = rt->ready_head;
	rt->ready_head = rt->ready_tail = NULL;
	pthread_mutex_unlock(&rt->lock);
	if (!list)
		return 0;
	n = mp_retire_list(list);
	mp_account_retired(rt, n);
	return (int)n;
}

static int mp_rt_drain(void *arg, int64_t timeout_ns)
{
	struct mp_runtime *rt = arg;
	uint64_t deadline =
	        bench_now_ns() + (uint64_t)(timeout_ns < 0 ? INT64_MAX / 2 : timeout_ns);
	struct timespec ts = {.tv_sec = (time_t)(deadline / 1000000000u),
	                      .tv_nsec = (long)(deadline % 1000000000u)};
	int rc = 0;

	if (rt->poll) {
		for (;;) {
			pthread_mutex_lock(&rt->lock);
			bool idle = rt->inflight == 0;
			pthread_mutex_unlock(&rt->lock);
			if (idle)
				return 0;
			if (mp_rt_poll(rt) == 0 && bench_now_ns() > deadline)
				return -ETIMEDOUT;
		}
	}
	pthread_mutex_lock(&rt->lock);
	while (rt->inflight && rc == 0)
		rc = pthread_cond_timedwait(&rt->drain_cond, &rt->lock, &ts);
	rc = rt->inflight ? -ETIMEDOUT : 0;
	pthread_mutex_unlock(&rt->lock);
	return rc;
}

static int mp_rt_destroy(void *arg)
{
	struct mp_runtime *rt = arg;
	int rc = mp_rt_drain(rt, -1);

	if (rc)
		return rc;
	if (!rt->poll) {
		pthread_mutex_lock(&rt->lock);
		rt->stop = true;
		pthread_cond_signal(&rt->ready_cond);
		pthread_mutex_unlock(&rt->lock);
		pthread_join(rt->dispatcher, NULL);
	}
	pthread_cond_destroy(&rt->ready_cond);
	pthread_cond_destroy(&rt->drain_cond);
	pthread_mutex_destroy(&rt->lock);
	free(rt);
	return 0;
}

static int mp_txn_begin(void *rt, void **out)
{
	struct mp_txn *t = calloc(1, sizeof(*t));

	if (!t)
		return -ENOMEM;
	t->rt = rt;
	t->pending = 1;
	*out = t;
	return 0;
}

static int mp_txn_add(void *txn, const struct jt_member_ops *ops, void *opaque, void **out)
{
	struct mp_txn *t = txn;
	struct mp_job *j = calloc(1, sizeof(*j));

	if (!j)
		return -ENOMEM;
	j->txn = t;
	j->ops = ops;
	j->opaque = opaque;
	if (t->tail)
		t->tail->next = j;
	else
		t->head = j;
	t->tail = j;
	*out = j;
	return 0;
}

static int mp_job_arm(void *job)
{
	struct mp_job *j = job;
	struct mp_runtime *rt = j->txn->rt;
	int rc = -EALREADY;

	pthread_mutex_lock(&rt->lock);
	if (!j->armed) {
		j->armed = true;
		j->txn->pending++;
		rc = 0;
	}
	pthread_mutex_unlock(&rt->lock);
	return rc;
}

static int mp_job_complete(void *job, int ret)
{
	struct mp_job *j = job;
	struct mp_txn *t = j->txn;
	struct mp_runtime *rt = t->rt;
	int rc = 0;

	pthread_mutex_lock(&rt->lock);
	if (!j->armed) {
		rc = -EINVAL;
	} else if (j->completed) {
		rc = -EALREADY;
	} else {
		j->completed = true;
		j->ret = ret;
		if (ret && (t->status == 0 || (t->status == -ECANCELED && ret != -ECANCELED)))
			t->status = ret;
		if (--t->pending == 0)
			mp_make_ready_locked(rt, t);
	}
	pthread_mutex_unlock(&rt->lock);
	return rc;
}

static int mp_txn_commit(void *txn, void (*done)(void *opaque, int status), void *opaque)
{
	struct mp_txn *t = txn;
	struct mp_runtime *rt = t->rt;

	t->done = done;
	t->opaque = opaque;
	pthread_mutex_lock(&rt->lock);
	rt->inflight++;
	if (--t->pending == 0)
		mp_make_ready_locked(rt, t);
	pthread_mutex_unlock(&rt->lock);
	return 0;
}

const struct bench_impl bench_impl_mutex = {
        .name = "mutex",
        .dispatcher_thread = "mp-dispatch",
        .rt_create = mp_rt_create,
        .rt_destroy = mp_rt_destroy,
        .rt_drain = mp_rt_drain,
        .rt_poll = mp_rt_poll,
        .rt_stats = NULL,
        .txn_begin = mp_txn_begin,
        .txn_add = mp_txn_add,
        .job_arm = mp_job_arm,
        .job_complete = mp_job_complete,
        .txn_commit = mp_txn_commit,
};
