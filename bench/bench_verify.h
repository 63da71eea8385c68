/*
 * bench_verify.h - the run checker (verify.c) and the run helpers every
 * workload shares: create, drain (a hang ends the process), finish.
 */
#ifndef JT_BENCH_VERIFY_H
#define JT_BENCH_VERIFY_H

#include <pthread.h>

#include "bench.h"

#define DRAIN_TIMEOUT_NS (30ll * 1000000000)

struct checker {
	unsigned group;
	unsigned (*group_of)(uint64_t id); /* mixed sizes: G of txn `id` */
	uint64_t txns, id_sum, id_sq_sum;
	uint64_t members, destroys;
	uint64_t cur_id;
	unsigned cur_members;
	uint64_t bad_result, bad_order, bad_thread;
	bool cb_thread_set;
	pthread_t cb_thread;
};

/* What the builder issued: txn ids 0..txns-1, summed the same way. */
struct expect {
	uint64_t txns, id_sum, id_sq_sum;
	uint64_t jobs;
};

extern struct checker chk;
extern _Thread_local bool tls_no_callbacks; /* a bench thread: callbacks here run inline */
extern const struct jt_member_ops chk_ops;  /* chk_member_done, chk_destroy */

void chk_reset(unsigned group);                          /* every txn has `group` jobs */
void chk_reset_mixed(unsigned (*group_of)(uint64_t id)); /* txn `id` has group_of(id) */
void expect_add(struct expect *e, uint64_t id, unsigned group);
void chk_member_done(void *opaque, int ret, int status);
void chk_txn_done(void *opaque, int status);
void chk_destroy(void *opaque);
__attribute__((format(printf, 3, 4))) void fail(struct run_result *out, const struct wl_params *p,
                                                const char *fmt, ...);
_Noreturn void hang(const struct bench_impl *impl, void *rt, const struct wl_params *p,
                    const char *what);
void drain(const struct bench_impl *impl, void *rt, const struct wl_params *p);
void *create_rt(const struct bench_impl *impl, bool poll, unsigned workers, size_t max_inflight);
/* Checks the run, destroys rt, fills out->txns and out->ops_per_s. */
void finish(const struct bench_impl *impl, void *rt, struct run_result *out,
            const struct wl_params *p, const struct expect *e);

#endif /* JT_BENCH_VERIFY_H */
