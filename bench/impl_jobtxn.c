/*
 * impl_jobtxn.c - struct bench_impl over the public jobtxn API.
 */
#include "bench.h"

static int jx_rt_create(const struct bench_rt_opts *o, void **rt)
{
	struct jt_runtime_opts jo;
	jt_runtime *r;
	int rc;

	jt_runtime_opts_init(&jo);
	jo.workers = o->workers;
	jo.flags = o->poll ? JT_RUNTIME_POLL : 0;
	jo.max_inflight = o->max_inflight;
	rc = jt_runtime_create(&jo, &r);
	if (rc == 0)
		*rt = r;
	return rc;
}

static int jx_rt_destroy(void *rt)
{
	return jt_runtime_destroy(rt);
}

static int jx_rt_drain(void *rt, int64_t timeout_ns)
{
	return jt_runtime_drain(rt, timeout_ns);
}

static int jx_rt_poll(void *rt)
{
	return jt_runtime_poll(rt, 0);
}

static void jx_rt_stats(void *rt, struct jt_stats *out)
{
	jt_runtime_stats(rt, out);
}

static int jx_txn_begin(void *rt, void **txn)
{
	jt_txn *t;
	int rc = jt_txn_begin(rt, 0, &t);

	if (rc == 0)
		*txn = t;
	return rc;
}

static int jx_txn_add(void *txn, const struct jt_member_ops *ops, void *opaque, void **job)
{
	jt_job *j;
	int rc = jt_txn_add(txn, ops, opaque, &j);

	if (rc == 0)
		*job = j;
	return rc;
}

static int jx_job_arm(void *job)
{
	return jt_job_arm(job);
}

static int jx_job_complete(void *job, int ret)
{
	return jt_job_complete(job, ret);
}

static int jx_txn_commit(void *txn, void (*done)(void *opaque, int status), void *opaque)
{
	return jt_txn_commit(txn, done, opaque);
}

const struct bench_impl bench_impl_jobtxn = {
        .name = "jobtxn",
        .dispatcher_thread = "jt-dispatch",
        .rt_create = jx_rt_create,
        .rt_destroy = jx_rt_destroy,
        .rt_drain = jx_rt_drain,
        .rt_poll = jx_rt_poll,
        .rt_stats = jx_rt_stats,
        .txn_begin = jx_txn_begin,
        .txn_add = jx_txn_add,
        .job_arm = jx_job_arm,
        .job_complete = jx_job_complete,
        .txn_commit = jx_txn_commit,
};
