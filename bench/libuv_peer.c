/*
 * libuv_peer.c - the pool workload on libuv's threadpool, what a C user
 * would write today: G uv_queue_work requests per txn, a work_cb that does
 * nothing (the trivial job), and an after_work_cb on the loop thread that
 * counts the txn down; the last one runs the member dones, the txn done and
 * the destroys, in that order, on the loop thread. One malloc per txn (its
 * requests inline). At most POOL_MAX_INFLIGHT txns are in flight, as for
 * jobtxn's max_inflight: each txn's done submits the next one until the time
 * is up, then the loop runs dry. The bench thread runs the loop (libuv
 * requests must be queued on the loop thread), so callbacks on it are
 * expected here. The pool's size is UV_THREADPOOL_SIZE, which main sets to
 * --threads before libuv starts its pool (once per process).
 */
#include <errno.h>
#include <stdlib.h>

#include <uv.h>

#include "bench.h"
#include "bench_verify.h"

struct uv_peer_run {
	uv_loop_t loop;
	unsigned group;
	uint64_t next_id, deadline_ns;
	struct expect e;
};

struct uv_peer_txn {
	struct uv_peer_run *run;
	uint64_t id;
	unsigned left; /* requests not yet through after_work_cb */
	uv_work_t reqs[];
};

static void uv_peer_work(uv_work_t *req)
{
	(void)req;
}

static void uv_peer_submit(struct uv_peer_run *r);

static void uv_peer_after_work(uv_work_t *req, int status)
{
	struct uv_peer_txn *t = req->data;
	void *opaque = (void *)(uintptr_t)t->id;

	if (status != 0)
		bench_fatal(__FILE__, __LINE__, "uv_queue_work's after_work_cb status", status);
	if (--t->left != 0)
		return;
	for (unsigned g = 0; g < t->run->group; g++)
		chk_member_done(opaque, 0, 0);
	chk_txn_done(opaque, 0);
	for (unsigned g = 0; g < t->run->group; g++)
		chk_destroy(opaque);
	if (bench_now_ns() < t->run->deadline_ns)
		uv_peer_submit(t->run);
	free(t);
}

static void uv_peer_submit(struct uv_peer_run *r)
{
	struct uv_peer_txn *t = malloc(sizeof(*t) + r->group * sizeof(t->reqs[0]));

	if (!t)
		bench_fatal(__FILE__, __LINE__, "malloc", -ENOMEM);
	t->run = r;
	t->id = r->next_id++;
	t->left = r->group;
	for (unsigned g = 0; g < r->group; g++) {
		t->reqs[g].data = t;
		BENCH_CHECK(uv_queue_work(&r->loop, &t->reqs[g], uv_peer_work, uv_peer_after_work));
	}
	expect_add(&r->e, t->id, r->group);
}

static void uv_peer_pool(const struct wl_params *p, struct run_result *out)
{
	struct uv_peer_run r = {.group = p->group};
	uint64_t t0;

	chk_reset(p->group);
	BENCH_CHECK(uv_loop_init(&r.loop));
	t0 = bench_now_ns();
	r.deadline_ns = t0 + (uint64_t)(p->seconds * 1e9);
	for (unsigned i = 0; i < POOL_MAX_INFLIGHT; i++)
		uv_peer_submit(&r);
	BENCH_CHECK(uv_run(&r.loop, UV_RUN_DEFAULT));
	out->elapsed_ns = bench_now_ns() - t0;
	out->ops = r.e.txns * p->group;
	BENCH_CHECK(uv_loop_close(&r.loop));
	finish(&bench_impl_libuv, NULL, out, p, &r.e);
}

const struct bench_impl bench_impl_libuv = {
        .name = "libuv",
        .pool = uv_peer_pool,
};
