/*
 * event_loop_epoll.c - jobtxn inside an epoll event loop (poll mode).
 *
 * A runtime created with JT_RUNTIME_POLL has no dispatcher thread. Its
 * eventfd (jt_runtime_fd) polls readable while txns are ready to retire or
 * cancel requests are pending; the loop thread then calls jt_runtime_poll,
 * which runs the callbacks right there. So every done/destroy/cancel runs on
 * the loop thread, next to the loop's other state, without locks.
 *
 * The loop thread builds TXNS txns of JOBS jobs each; two "device" threads
 * complete the jobs (every fifth txn has one job failing with -EIO). The
 * loop sleeps in epoll_wait on the runtime's fd only: a missed wake-up would
 * show up as the watchdog timeout. Every callback asserts that it runs on
 * the loop thread; the program checks every txn's status and exits non-zero
 * on any mismatch.
 *
 * Uses only <jobtxn.h>, epoll and pthreads.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <jobtxn.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <time.h>
#include <unistd.h>

#define TXNS        40
#define JOBS        4 /* per txn */
#define COMPLETERS  2
#define FAIL_EVERY  5    /* txn i with i % FAIL_EVERY == 0 has a failing job */
#define WATCHDOG_MS 5000 /* epoll_wait timeout: a missed wake-up fails */

#define CHECK(cond)                                                                                \
	do {                                                                                       \
		if (!(cond)) {                                                                     \
			fprintf(stderr, "event_loop_epoll: check failed at line %d: %s\n",         \
			        __LINE__, #cond);                                                  \
			exit(1);                                                                   \
		}                                                                                  \
	} while (0)

static pthread_t loop_thread;
static jt_job *jobs[TXNS * JOBS]; /* handed to the completers */
static int statuses[TXNS];        /* written by the txns' done, on the loop */
static unsigned retired;          /* likewise: only the loop thread touches it */
static unsigned member_dones;

/* A member's done: on the loop thread, in registration order. */
static void member_done(void *opaque, int ret, int status)
{
	(void)opaque;
	(void)ret;
	(void)status;
	CHECK(pthread_equal(pthread_self(), loop_thread));
	member_dones++;
}

static const struct jt_member_ops member_ops = {.done = member_done};

/* The txn's done: on the loop thread, after its members' dones. */
static void txn_done(void *opaque, int status)
{
	unsigned i = (unsigned)(uintptr_t)opaque;

	CHECK(pthread_equal(pthread_self(), loop_thread));
	statuses[i] = status;
	retired++;
}

/* A device thread: complete every COMPLETERS-th job, a little later. */
static void *completer(void *arg)
{
	unsigned first = (unsigned)(uintptr_t)arg;
	const struct timespec pause = {0, 20 * 1000};

	for (unsigned k = first; k < TXNS * JOBS; k += COMPLETERS) {
		unsigned txn = k / JOBS;
		int ret = txn % FAIL_EVERY == 0 && k % JOBS == JOBS - 1 ? -EIO : 0;

		nanosleep(&pause, NULL);
		jt_job_complete(jobs[k], ret); /* lock-free, from any thread */
	}
	return NULL;
}

int main(void)
{
	struct jt_runtime_opts opts;
	struct epoll_event ev = {.events = EPOLLIN};
	pthread_t dev[COMPLETERS];
	jt_runtime *rt;
	int ep, fd;

	loop_thread = pthread_self();
	jt_runtime_opts_init(&opts);
	opts.flags = JT_RUNTIME_POLL; /* callbacks run inside jt_runtime_poll */
	CHECK(jt_runtime_create(&opts, &rt) == 0);
	fd = jt_runtime_fd(rt);
	CHECK(fd >= 0);
	ep = epoll_create1(EPOLL_CLOEXEC);
	CHECK(ep >= 0);
	CHECK(epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev) == 0); /* level-triggered */

	/* Build every txn on the loop thread; the devices complete them. */
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

	/* The loop: sleep on the fd, run whatever is ready. */
	while (retired < TXNS) {
		int n = epoll_wait(ep, &ev, 1, WATCHDOG_MS);

		if (n < 0 && errno == EINTR)
			continue;
		CHECK(n == 1); /* 0: the watchdog fired, a wake-up was missed */
		CHECK(jt_runtime_poll(rt, 0) >= 0);
	}

	for (unsigned c = 0; c < COMPLETERS; c++)
		pthread_join(dev[c], NULL);
	CHECK(member_dones == TXNS * JOBS);
	for (unsigned i = 0; i < TXNS; i++)
		CHECK(statuses[i] == (i % FAIL_EVERY == 0 ? -EIO : 0));
	close(ep);
	CHECK(jt_runtime_destroy(rt) == 0);
	printf("epoll loop: %u txns retired on the loop thread, %u failed with EIO as injected\n",
	       retired, (TXNS + FAIL_EVERY - 1) / FAIL_EVERY);
	return 0;
}
