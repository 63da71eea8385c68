/*
 * event_loop_uv.c - jobtxn inside a libuv loop (poll mode).
 *
 * The same integration as event_loop_epoll.c, through libuv: a uv_poll_t
 * watches jt_runtime_fd for UV_READABLE, and its callback calls
 * jt_runtime_poll, so every jobtxn callback runs on the loop thread like
 * any other libuv callback. A uv_timer_t is the watchdog: if it fires, a
 * wake-up was missed.
 *
 * The loop thread builds TXNS txns of JOBS jobs; two device threads
 * complete them (every fifth txn has one job failing with -EIO). When the
 * last txn retired the poll handle and the timer are closed and uv_run
 * returns. Every callback asserts it runs on the loop thread; the program
 * checks every txn's status and exits non-zero on any mismatch.
 *
 * Uses only <jobtxn.h>, <uv.h> and pthreads.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <jobtxn.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <uv.h>

#define TXNS        40
#define JOBS        4 /* per txn */
#define COMPLETERS  2
#define FAIL_EVERY  5    /* txn i with i % FAIL_EVERY == 0 has a failing job */
#define WATCHDOG_MS 5000 /* the whole run; a missed wake-up fails */

#define CHECK(cond)                                                                                \
	do {                                                                                       \
		if (!(cond)) {                                                                     \
			fprintf(stderr, "event_loop_uv: check failed at line %d: %s\n", __LINE__,  \
			        #cond);                                                            \
			exit(1);                                                                   \
		}                                                                                  \
	} while (0)

static pthread_t loop_thread;
static jt_runtime *rt;
static uv_poll_t jt_watcher;
static uv_timer_t watchdog;
static jt_job *jobs[TXNS * JOBS]; /* handed to the completers */
static int statuses[TXNS];        /* written on the loop thread only */
static unsigned retired;
static unsigned member_dones;

static void member_done(void *opaque, int ret, int status)
{
	(void)opaque;
	(void)ret;
	(void)status;
	CHECK(pthread_equal(pthread_self(), loop_thread));
	member_dones++;
}

static const struct jt_member_ops member_ops = {.done = member_done};

static void txn_done(void *opaque, int status)
{
	unsigned i = (unsigned)(uintptr_t)opaque;

	CHECK(pthread_equal(pthread_self(), loop_thread));
	statuses[i] = status;
	retired++;
}

/* The fd is readable: run what is ready; stop once everything retired. */
static void on_jobtxn_ready(uv_poll_t *handle, int status, int events)
{
	(void)events;
	CHECK(status == 0);
	CHECK(pthread_equal(pthread_self(), loop_thread));
	CHECK(jt_runtime_poll(rt, 0) >= 0);
	if (retired == TXNS) {
		uv_close((uv_handle_t *)handle, NULL);
		uv_close((uv_handle_t *)&watchdog, NULL);
	}
}

static void on_watchdog(uv_timer_t *timer)
{
	(void)timer;
	fprintf(stderr, "event_loop_uv: watchdog: %u of %u txns retired\n", retired, TXNS);
	exit(1);
}

static void *completer(void *arg)
{
	unsigned first = (unsigned)(uintptr_t)arg;
	const struct timespec pause = {0, 20 * 1000};

	for (unsigned k = first; k < TXNS * JOBS; k += COMPLETERS) {
		unsigned txn = k / JOBS;
		int ret = txn % FAIL_EVERY == 0 && k % JOBS == JOBS - 1 ? -EIO : 0;

		nanosleep(&pause, NULL);
		jt_job_complete(jobs[k], ret);
	}
	return NULL;
}

int main(void)
{
	struct jt_runtime_opts opts;
	pthread_t dev[COMPLETERS];
	uv_loop_t *loop = uv_default_loop();

	loop_thread = pthread_self();
	jt_runtime_opts_init(&opts);
	opts.flags = JT_RUNTIME_POLL;
	CHECK(jt_runtime_create(&opts, &rt) == 0);
	CHECK(uv_poll_init(loop, &jt_watcher, jt_runtime_fd(rt)) == 0);
	CHECK(uv_poll_start(&jt_watcher, UV_READABLE, on_jobtxn_ready) == 0);
	CHECK(uv_timer_init(loop, &watchdog) == 0);
	CHECK(uv_timer_start(&watchdog, on_watchdog, WATCHDOG_MS, 0) == 0);

	for (unsigned i = 0; i < TXNS; i++) {
		jt_txn *txn;

		CHECK(jt_txn_begin(rt, 0, &txn) == 0);
		for (unsigned j = 0; j < JOBS; j++) {
			CHECK(jt_txn_add(txn, &member_ops, NULL, &jobs[i * JOBS + j]) == 0);
			CHECK(jt_job_arm(jobs[i * JOBS + j]) == 0);
		}
		CHECK(jt_txn_commit(txn, txn_done, (void *)(uintptr_t)i) == 0);
	}
	for (unsigned c = 0; c < COMPLETERS; c++)
		CHECK(pthread_create(&dev[c], NULL, completer, (void *)(uintptr_t)c) == 0);

	CHECK(uv_run(loop, UV_RUN_DEFAULT) == 0); /* until both handles closed */

	for (unsigned c = 0; c < COMPLETERS; c++)
		pthread_join(dev[c], NULL);
	CHECK(retired == TXNS && member_dones == TXNS * JOBS);
	for (unsigned i = 0; i < TXNS; i++)
		CHECK(statuses[i] == (i % FAIL_EVERY == 0 ? -EIO : 0));
	CHECK(uv_loop_close(loop) == 0);
	CHECK(jt_runtime_destroy(rt) == 0);
	printf("libuv loop: %u txns retired on the loop thread, %u failed with EIO as injected\n",
	       retired, (TXNS + FAIL_EVERY - 1) / FAIL_EVERY);
	return 0;
}
