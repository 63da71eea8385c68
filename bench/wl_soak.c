/*
 * wl_soak.c - a long mixed run on one jobtxn runtime: throughput, txns in
 * flight and RSS over time (a leak or a slowdown shows as a trend).
 *
 * A threaded runtime with T workers and max_inflight SOAK_MAX_INFLIGHT
 * (jt_txn_begin blocks when it is reached). The bench thread
 * builds txns whose size follows a fixed sequence (1, 4, 64, 1024 jobs:
 * soak_group), each with a done. Even txns submit their jobs to the pool
 * (jt_job_submit); odd txns arm theirs and the bench thread completes them
 * after commit (the user-thread completion path). Every SOAK_INTERVAL_NS the
 * bench thread samples jt_runtime_stats (jobs retired, txns committed less
 * retired) and the RSS, and prints the sample on stderr. One run only.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include "bench.h"
#include "bench_verify.h"

#define SOAK_MAX_INFLIGHT 4096
#define SOAK_INTERVAL_NS  1000000000ull

static unsigned soak_group(uint64_t id)
{
	static const unsigned sizes[8] = {1, 4, 1, 64, 1, 4, 1, 1024};

	return sizes[(id * 2654435761u >> 7) % 8];
}

static int soak_fn(jt_job *j, void *arg)
{
	(void)j;
	(void)arg;
	return 0;
}

void wl_soak(const struct bench_impl *impl, const struct wl_params *p, struct run_result *out)
{
	const uint64_t interval = p->seconds < 5 ? (uint64_t)(p->seconds * 1e8) : SOAK_INTERVAL_NS;
	struct jt_runtime_opts o;
	struct expect e = {0};
	struct jt_stats s;
	jt_job **armed = malloc(1024 * sizeof(*armed));
	jt_runtime *rt;
	uint64_t t0, next, deadline, last_jobs = 0, last_t;

	if (impl != &bench_impl_jobtxn)
		bench_fatal(__FILE__, __LINE__, "soak runs on jobtxn only", -EINVAL);
	out->series = calloc(SOAK_MAX_SAMPLES, sizeof(*out->series));
	if (!armed || !out->series)
		bench_fatal(__FILE__, __LINE__, "malloc", -ENOMEM);
	jt_runtime_opts_init(&o);
	o.workers = p->threads;
	o.max_inflight = SOAK_MAX_INFLIGHT;
	BENCH_CHECK(jt_runtime_create(&o, &rt));
	chk_reset_mixed(soak_group);
	tls_no_callbacks = true;
	t0 = last_t = bench_now_ns();
	next = t0 + interval;
	deadline = t0 + (uint64_t)(p->seconds * 1e9);
	for (uint64_t id = 0;; id++) {
		const unsigned G = soak_group(id);
		void *opaque = (void *)(uintptr_t)id;
		uint64_t now;
		jt_txn *t;

		BENCH_CHECK(jt_txn_begin(rt, 0, &t));
		for (unsigned g = 0; g < G; g++) {
			BENCH_CHECK(jt_txn_add(t, &chk_ops, opaque, &armed[g]));
			BENCH_CHECK(id % 2 ? jt_job_arm(armed[g])
			                   : jt_job_submit(armed[g], soak_fn, NULL));
		}
		BENCH_CHECK(jt_txn_commit(t, chk_txn_done, opaque));
		expect_add(&e, id, G);
		for (unsigned g = 0; id % 2 && g < G; g++)
			BENCH_CHECK(jt_job_complete(armed[g], 0));
		if ((now = bench_now_ns()) < next)
			continue;
		jt_runtime_stats(rt, &s);
		if (out->nseries < SOAK_MAX_SAMPLES) {
			struct soak_sample *x = &out->series[out->nseries++];

			x->t_s = (double)(now - t0) / 1e9;
			x->ops_per_s = (double)(s.jobs_completed - last_jobs) * 1e9 /
			               (double)(now - last_t);
			x->txns_inflight = s.txns_committed - s.txns_retired;
			x->rss_kib = bench_rss_kib();
			if (x->rss_kib > out->rss_max_kib)
				out->rss_max_kib = x->rss_kib;
			if (x->txns_inflight > out->txns_inflight)
				out->txns_inflight = x->txns_inflight;
			fprintf(stderr,
			        "jt-bench: soak %6.1f s: %6.2f M jobs/s, %5llu txns in flight, RSS "
			        "%llu KiB\n",
			        x->t_s, x->ops_per_s / 1e6, (unsigned long long)x->txns_inflight,
			        (unsigned long long)x->rss_kib);
		}
		last_jobs = s.jobs_completed;
		last_t = now;
		next += interval;
		if (now >= deadline)
			break;
	}
	drain(impl, rt, p);
	out->elapsed_ns = bench_now_ns() - t0;
	out->ops = e.jobs;
	free(armed);
	finish(impl, rt, out, p, &e);
}
