/*
 * callgrind_lifecycle.c - the job lifecycle, nothing else, for
 * `valgrind --tool=callgrind` (bench/callgrind.sh): one thread, poll mode,
 * TXNS txns of G jobs each: begin, G x (add, arm), commit, G x complete,
 * poll (retires the txn: its callbacks run here). With TXNS = 0 it creates
 * and destroys the runtime only: the empty run that callgrind.sh subtracts.
 *
 *   callgrind_lifecycle G TXNS
 */
#include <stdio.h>
#include <stdlib.h>

#include <jobtxn.h>

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

int main(int argc, char **argv)
{
	struct jt_runtime_opts o;
	jt_runtime *rt;
	jt_job **jobs;
	unsigned long g, txns;

	if (argc != 3 || (g = strtoul(argv[1], NULL, 10)) == 0 || g > 1u << 20) {
		fprintf(stderr, "usage: callgrind_lifecycle G TXNS\n");
		return 64;
	}
	txns = strtoul(argv[2], NULL, 10);
	jobs = malloc(g * sizeof(*jobs));
	if (!jobs)
		return 2;
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
		CHECK(jt_runtime_poll(rt, 0));
	}
	CHECK(jt_runtime_destroy(rt));
	free(jobs);
	if (dones != g * txns) {
		fprintf(stderr, "callgrind_lifecycle: %llu member dones for %lu jobs\n", dones,
		        g * txns);
		return 1;
	}
	return 0;
}
