/*
 * callgrind_lifecycle.c - the job lifecycle, nothing else, for
 * `valgrind --tool=callgrind` (bench/callgrind.sh): one thread, poll mode,
 * TXNS txns of G jobs each: begin, G x (add, arm), commit, G x complete,
 * and a poll that retires what is ready (the callbacks run there) after
 * every P txns (default 1: a poll per txn). With TXNS = 0 it creates and
 * destroys the runtime only: the empty run that callgrind.sh subtracts.
 *
 *   callgrind_lifecycle [--mutex] G TXNS [P]
 *
 * --mutex runs the same loop on the one-mutex peer of the contract
 * (bench/mutex_peer.c, through its bench_impl table); jobtxn itself is
 * called directly, with no table in between.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jobtxn.h>

#include "bench.h"

static unsigned long long dones;

static void member_done(void *opaque, int ret, int status)
{
	(void)opaque;
	dones += (ret == 0 && status == 0);
}

static const struct jt_member_ops ops = {.done = member_done};

#define CHECK(call)                                                                                \
	do {                                                                                       \
		int rc_ = (call);                                                                  \
		if (rc_ < 0) {                                                                     \
			fprintf(stderr, "callgrind_lifecycle: %s failed: %d\n", #call, rc_);       \
			exit(2);                                                                   \
		}                                                                                  \
	} while (0)

static void run_jobtxn(unsigned long g, unsigned long txns, unsigned long every, jt_job **jobs)
{
	struct jt_runtime_opts o;
	jt_runtime *rt;
	unsigned long left = every;

	jt_runtime_opts_init(&o);
	o.flags = JT_RUNTIME_POLL;
	CHECK(jt_runtime_create(&o, &rt));
	for (unsigned long k = 0; k < txns; k++) {
		jt_txn *t;

		CHECK(jt_txn_begin(rt, 0, &t));
		for (unsigned long i = 0; i < g; i++) {
			CHECK(jt_txn_add(t, &ops, NULL, &jobs[i]));
			CHECK(jt_job_arm(jobs[i]));
		}
		CHECK(jt_txn_commit(t, NULL, NULL));
		for (unsigned long i = 0; i < g; i++)
			CHECK(jt_job_complete(jobs[i], 0));
		if (--left == 0 || k + 1 == txns) {
			CHECK(jt_runtime_poll(rt, 0));
			left = every;
		}
	}
	CHECK(jt_runtime_destroy(rt));
}

static void run_peer(const struct bench_impl *impl, unsigned long g, unsigned long txns,
                     unsigned long every, void **jobs)
{
	struct bench_rt_opts o = {.poll = true};
	void *rt;
	unsigned long left = every;

	CHECK(impl->rt_create(&o, &rt));
	for (unsigned long k = 0; k < txns; k++) {
		void *t;

		CHECK(impl->txn_begin(rt, &t));
		for (unsigned long i = 0; i < g; i++) {
			CHECK(impl->txn_add(t, &ops, NULL, &jobs[i]));
			CHECK(impl->job_arm(jobs[i]));
		}
		CHECK(impl->txn_commit(t, NULL, NULL));
		for (unsigned long i = 0; i < g; i++)
			CHECK(impl->job_complete(jobs[i], 0));
		if (--left == 0 || k + 1 == txns) {
			CHECK(impl->rt_poll(rt));
			left = every;
		}
	}
	CHECK(impl->rt_destroy(rt));
}

int main(int argc, char **argv)
{
	bool mutex = argc > 1 && strcmp(argv[1], "--mutex") == 0;
	unsigned long g, txns, every = 1;
	void **jobs;

	argc -= mutex;
	argv += mutex;
	if (argc < 3 || argc > 4 || (g = strtoul(argv[1], NULL, 10)) == 0 || g > 1u << 20 ||
	    (argc == 4 && (every = strtoul(argv[3], NULL, 10)) == 0)) {
		fprintf(stderr, "usage: callgrind_lifecycle [--mutex] G TXNS [P]\n");
		return 64;
	}
	txns = strtoul(argv[2], NULL, 10);
	jobs = malloc(g * sizeof(*jobs));
	if (!jobs)
		return 2;
	if (mutex)
		run_peer(&bench_impl_mutex, g, txns, every, jobs);
	else
		run_jobtxn(g, txns, every, (jt_job **)jobs);
	free(jobs);
	if (dones != g * txns) {
		fprintf(stderr, "callgrind_lifecycle: %llu member dones for %lu jobs\n", dones,
		        g * txns);
		return 1;
	}
	return 0;
}
