/*
 * stress_uring: several builder threads submit txns of io_uring operations
 * to one ring at once (a standalone executable, not Criterion: Criterion
 * cannot start under ThreadSanitizer). Built with -DJOBTXN_SANITIZE=thread
 * it is the race detector of the io_uring adapter.
 *
 * Each txn has 1..6 members drawn from: a NOP, a 64-byte write (checked;
 * sometimes linked to the next SQE), an fsync, a read of a bad fd (fails:
 * -EBADF), a read of a
 * pipe that never gets data (only in grouped txns that fail: the kernel
 * must cancel it), a read of a pipe the builder feeds right after the
 * submit (completes or is cancelled: the race of rule 3), and a plain job
 * (jt_job_arm, completed by the builder with 0 or -EIO). Some txns are
 * committed before their SQEs are submitted, so that cancels find
 * operations staged. Every member's done checks its result against what
 * its operation may return, each member's done and each txn's done must
 * run exactly once, and a failing txn's status must be its root cause.
 *
 * Modes, one after the other: threaded runtime and ring; poll-mode runtime
 * and ring driven by a poller thread.
 *
 * Usage: stress_uring [--seconds S] [--threads T] [--seed N]
 * Prints "N passed, N failed"; exit status 0 when nothing failed.
 */
#include <errno.h>
#include <fcntl.h>
#include <jobtxn_uring.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define MAX_MEMBERS  6
#define MAX_THREADS  16
#define MAX_INFLIGHT 8 /* txns per builder */

enum kind { K_NOP, K_WRITE, K_FSYNC, K_BAD_READ, K_DEAD_READ, K_FED_READ, K_PLAIN, K_COUNT };

static atomic_long checks_passed, checks_failed;

#define CHECK(cond, ...)                                                                           \
	do {                                                                                       \
		if (cond) {                                                                        \
			atomic_fetch_add(&checks_passed, 1);                                       \
		} else {                                                                           \
			atomic_fetch_add(&checks_failed, 1);                                       \
			fprintf(stderr, "stress_uring: %s:%d: ", __FILE__, __LINE__);              \
			fprintf(stderr, __VA_ARGS__);                                              \
			fputc('\n', stderr);                                                       \
		}                                                                                  \
	} while (0)

struct builder;

struct hmember {
	struct htxn *tx;
	enum kind kind;
	int plain_ret;
	unsigned char wbuf[64];
	char rbuf[8];
	atomic_int dones;
	jt_job *job;
};

struct htxn {
	struct builder *b;
	bool grouped;
	bool has_ebadf, has_eio; /* the failures the builder planted */
	unsigned n;
	struct hmember m[MAX_MEMBERS];
	atomic_int dones;
};

struct builder {
	unsigned id;
	uint64_t rng;
	jt_runtime *rt;
	jt_uring *u;
	int fd;      /* the shared data file */
	int dead[2]; /* a pipe that never gets data */
	int fed[2];  /* a pipe fed after each submit */
	atomic_int inflight;
	long txns;
	uint64_t off;
	int err;
};

static double seconds_arg = 2.0;
static unsigned threads_arg = 4;
static uint64_t seed_arg = 1;
static atomic_long txns_retired;

static uint32_t rnd(struct builder *b, uint32_t n)
{
	b->rng ^= b->rng << 13;
	b->rng ^= b->rng >> 7;
	b->rng ^= b->rng << 17;
	return (uint32_t)(b->rng % n);
}

static int check_64(void *arg, int res)
{
	(void)arg;
	return res < 0 ? res : res == 64 ? 0 : -EIO;
}

static void member_done(void *opaque, int ret, int status)
{
	struct hmember *m = opaque;
	struct htxn *t = m->tx;
	bool failing = t->has_ebadf || t->has_eio;

	CHECK(atomic_fetch_add(&m->dones, 1) == 0, "member done twice");
	switch (m->kind) {
	case K_NOP:
	case K_WRITE:
	case K_FSYNC:
		/* A failing grouped txn cancels, or sends an unsent op as a
		 * NOP; a linked predecessor's cancel fails its successor. */
		CHECK(ret == 0 || (t->grouped && failing && (ret == -ECANCELED || ret == -EINTR)),
		      "kind %d: ret %d", m->kind, ret);
		break;
	case K_BAD_READ:
		CHECK(ret == -EBADF || (t->grouped && ret == -ECANCELED), "bad read: ret %d", ret);
		break;
	case K_DEAD_READ:
		CHECK(ret == -ECANCELED || ret == -EINTR, "dead read: ret %d", ret);
		break;
	case K_FED_READ:
		CHECK(ret == 0 || ret == -ECANCELED || ret == -EINTR, "fed read: ret %d", ret);
		break;
	case K_PLAIN:
		CHECK(ret == m->plain_ret, "plain: ret %d, completed with %d", ret, m->plain_ret);
		break;
	default:
		CHECK(false, "kind %d", m->kind);
	}
	/* The status is a planted failure (whichever came first), never
	 * -ECANCELED, its consequence. */
	if (failing)
		CHECK((t->has_ebadf && status == -EBADF) || (t->has_eio && status == -EIO),
		      "status %d (planted: EBADF %d, EIO %d)", status, t->has_ebadf, t->has_eio);
	else
		CHECK(status == 0, "status %d without a failure", status);
}

static const struct jt_member_ops member_ops = {.done = member_done};

static void txn_done(void *opaque, int status)
{
	struct htxn *t = opaque;
	(void)status;
	CHECK(atomic_fetch_add(&t->dones, 1) == 0, "txn done twice");
	for (unsigned i = 0; i < t->n; i++)
		CHECK(atomic_load(&t->m[i].dones) == 1, "member %u: done %d times before the txn's",
		      i, atomic_load(&t->m[i].dones));
	atomic_fetch_add(&txns_retired, 1);
	/* release: the builder reuses nothing of t; it only counts. */
	atomic_fetch_sub(&t->b->inflight, 1);
	free(t);
}

/* jt_uring_prep, submitting when the queue is full. */
static int prep(struct builder *b, jt_job *j, jt_uring_check_fn *check, struct io_uring_sqe **sqe)
{
	for (;;) {
		int r = jt_uring_prep(b->u, j, check, NULL, sqe);
		if (r != -EAGAIN)
			return r;
		r = jt_uring_submit(b->u);
		if (r < 0 && r != -EAGAIN && r != -EBUSY)
			return r;
		sched_yield(); /* the queue may be full of other builders' SQEs */
	}
}

static int build_one(struct builder *b)
{
	struct htxn *t = calloc(1, sizeof(*t));
	struct io_uring_sqe *sqe;
	jt_txn *tx;
	bool dead = false, submit_after = rnd(b, 4) == 0;
	int fed = 0;
	int r;

	if (t == NULL)
		return -ENOMEM;
	t->b = b;
	t->grouped = rnd(b, 2) == 0;
	t->n = 1 + rnd(b, MAX_MEMBERS);
	if ((r = jt_txn_begin(b->rt, t->grouped ? JT_TXN_GROUPED : 0, &tx)) != 0)
		return r;
	for (unsigned i = 0; i < t->n; i++) {
		struct hmember *m = &t->m[i];
		m->tx = t;
		m->kind = (enum kind)rnd(b, K_COUNT);
		if (m->kind == K_DEAD_READ && !t->grouped)
			m->kind = K_NOP;
		if ((r = jt_txn_add(tx, &member_ops, m, &m->job)) != 0)
			return r;
	}
	/* A dead read needs a failure in its grouped txn to end. */
	for (unsigned i = 0; i < t->n; i++)
		dead |= t->m[i].kind == K_DEAD_READ;
	if (dead && t->m[0].kind != K_BAD_READ) {
		t->m[0].kind = rnd(b, 2) ? K_BAD_READ : K_PLAIN;
		t->m[0].plain_ret = -EIO;
	}
	for (unsigned i = 0; i < t->n; i++) {
		struct hmember *m = &t->m[i];
		switch (m->kind) {
		case K_PLAIN:
			if (m->plain_ret == 0)
				m->plain_ret = rnd(b, 5) == 0 ? -EIO : 0;
			t->has_eio |= m->plain_ret != 0;
			if ((r = jt_job_arm(m->job)) != 0)
				return r;
			break;
		case K_NOP:
			if ((r = prep(b, m->job, NULL, &sqe)) != 0)
				return r;
			io_uring_prep_nop(sqe);
			break;
		case K_WRITE:
			memset(m->wbuf, (int)(b->id * 16 + i), sizeof(m->wbuf));
			if ((r = prep(b, m->job, check_64, &sqe)) != 0)
				return r;
			io_uring_prep_write(sqe, b->fd, m->wbuf, 64, b->off);
			b->off += 64;
			if (rnd(b, 3) == 0)
				sqe->flags |= IOSQE_IO_LINK; /* to the txn's next SQE */
			break;
		case K_FSYNC:
			if ((r = prep(b, m->job, NULL, &sqe)) != 0)
				return r;
			io_uring_prep_fsync(sqe, b->fd, IORING_FSYNC_DATASYNC);
			break;
		case K_BAD_READ:
			t->has_ebadf = true;
			if ((r = prep(b, m->job, NULL, &sqe)) != 0)
				return r;
			io_uring_prep_read(sqe, 9999, m->rbuf, 1, 0);
			break;
		case K_DEAD_READ:
			if ((r = prep(b, m->job, NULL, &sqe)) != 0)
				return r;
			io_uring_prep_read(sqe, b->dead[0], m->rbuf, 1, 0);
			break;
		case K_FED_READ:
			if ((r = prep(b, m->job, NULL, &sqe)) != 0)
				return r;
			io_uring_prep_read(sqe, b->fed[0], m->rbuf, 1, 0);
			fed++;
			break;
		default:
			break;
		}
	}
	atomic_fetch_add(&b->inflight, 1);
	if (!submit_after && (r = jt_uring_submit(b->u)) < 0 && r != -EAGAIN && r != -EBUSY)
		return r;
	/* Plain failures after the submit: cancels find ops in the kernel;
	 * before the commit with submit_after: they find them staged. */
	for (unsigned i = 0; i < t->n; i++)
		if (t->m[i].kind == K_PLAIN)
			if ((r = jt_job_complete(t->m[i].job, t->m[i].plain_ret)) != 0)
				return r;
	if ((r = jt_txn_commit(tx, txn_done, t)) != 0)
		return r;
	/* t may be gone from here on (its done may have run). */
	if (submit_after) {
		usleep(rnd(b, 50));
		if ((r = jt_uring_submit(b->u)) < 0 && r != -EAGAIN && r != -EBUSY)
			return r;
	}
	if (fed > 0 && write(b->fed[1], "ffffff", (size_t)fed) != fed)
		return -errno;
	b->txns++;
	return 0;
}

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static double deadline;

static void *builder_main(void *arg)
{
	struct builder *b = arg;
	while (now_s() < deadline && b->err == 0) {
		while (atomic_load(&b->inflight) >= MAX_INFLIGHT)
			usleep(50);
		b->err = build_one(b);
	}
	while (atomic_load(&b->inflight) > 0 && b->err == 0)
		usleep(100);
	return NULL;
}

struct poller {
	jt_runtime *rt;
	jt_uring *u;
	atomic_int stop;
};

static void *poller_main(void *arg)
{
	struct poller *p = arg;
	while (!atomic_load(&p->stop)) {
		int n = jt_uring_reap(p->u, 0);
		int m = jt_runtime_poll(p->rt, 0);
		CHECK(n >= 0 && m >= 0, "reap %d, poll %d", n, m);
		if (n == 0 && m == 0)
			usleep(20);
	}
	return NULL;
}

static int run_mode(bool poll, const char *dir)
{
	struct builder b[MAX_THREADS];
	pthread_t th[MAX_THREADS], pth;
	struct poller pl;
	struct jt_runtime_opts ro;
	struct jt_uring_opts uo;
	struct jt_stats st;
	char path[512];
	long total = 0;
	int r, fd;

	jt_runtime_opts_init(&ro);
	ro.flags = poll ? JT_RUNTIME_POLL : 0;
	jt_uring_opts_init(&uo);
	uo.flags = poll ? JT_URING_POLL : 0;
	uo.entries = 16; /* small: -EAGAIN and the cancel slots get exercised */
	memset(b, 0, sizeof(b));
	snprintf(path, sizeof(path), "%s/data-%d", dir, poll);
	fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0)
		return -errno;
	jt_runtime *rt;
	jt_uring *u;
	if ((r = jt_runtime_create(&ro, &rt)) != 0)
		return r;
	if ((r = jt_uring_create(rt, &uo, &u)) != 0) {
		jt_runtime_destroy(rt);
		close(fd);
		unlink(path);
		return r;
	}
	pl = (struct poller){.rt = rt, .u = u};
	if (poll)
		pthread_create(&pth, NULL, poller_main, &pl);
	deadline = now_s() + seconds_arg / 2;
	for (unsigned i = 0; i < threads_arg; i++) {
		b[i].id = i;
		b[i].rng = seed_arg * 0x9e3779b97f4a7c15ull + i + 1;
		b[i].rt = rt;
		b[i].u = u;
		b[i].fd = fd;
		b[i].off = (uint64_t)i << 32;
		if (pipe(b[i].dead) != 0 || pipe(b[i].fed) != 0)
			return -errno;
		pthread_create(&th[i], NULL, builder_main, &b[i]);
	}
	for (unsigned i = 0; i < threads_arg; i++) {
		pthread_join(th[i], NULL);
		CHECK(b[i].err == 0, "builder %u: %d (%s)", i, b[i].err, jt_strerror(b[i].err));
		total += b[i].txns;
	}
	if (poll) {
		atomic_store(&pl.stop, 1);
		pthread_join(pth, NULL);
	}
	CHECK(jt_uring_destroy(u) == 0, "jt_uring_destroy");
	if (poll)
		jt_runtime_poll(rt, 0); /* the ring's own txn */
	else
		CHECK(jt_runtime_drain(rt, -1) == 0, "drain");
	jt_runtime_stats(rt, &st);
	CHECK(st.misuse == 0, "misuse %llu", (unsigned long long)st.misuse);
	CHECK(st.txns_retired == (uint64_t)total + 1, "retired %llu, built %ld + the ring's",
	      (unsigned long long)st.txns_retired, total);
	CHECK(jt_runtime_destroy(rt) == 0, "jt_runtime_destroy");
	for (unsigned i = 0; i < threads_arg; i++) {
		close(b[i].dead[0]);
		close(b[i].dead[1]);
		close(b[i].fed[0]);
		close(b[i].fed[1]);
	}
	close(fd);
	unlink(path);
	printf("stress_uring: %s: %u builders, %ld txns\n", poll ? "poll mode" : "threaded",
	       threads_arg, total);
	return 0;
}

/* A hang (a job that never completes) fails the run instead of the CI's timeout. */
static void *watchdog_main(void *arg)
{
	double limit = *(double *)arg;
	while (now_s() < limit)
		usleep(100000);
	fprintf(stderr, "stress_uring: hang: txns still in flight %.0f s after the deadline\n",
	        limit - deadline);
	printf("%ld passed, %ld failed\n", atomic_load(&checks_passed),
	       atomic_load(&checks_failed) + 1);
	fflush(stdout);
	_exit(1);
}

int main(int argc, char **argv)
{
	char dir[] = "/tmp/jt-stress-uring-XXXXXX";
	int r;

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--seconds") && i + 1 < argc)
			seconds_arg = atof(argv[++i]);
		else if (!strcmp(argv[i], "--threads") && i + 1 < argc)
			threads_arg = (unsigned)atoi(argv[++i]);
		else if (!strcmp(argv[i], "--seed") && i + 1 < argc)
			seed_arg = strtoull(argv[++i], NULL, 0);
		else {
			fprintf(stderr,
			        "usage: stress_uring [--seconds S] [--threads T] [--seed N]\n");
			return 64;
		}
	}
	if (threads_arg < 1 || threads_arg > MAX_THREADS)
		threads_arg = 4;
	if (mkdtemp(dir) == NULL) {
		perror("mkdtemp");
		return 1;
	}
	static double limit;
	pthread_t wd;
	limit = now_s() + seconds_arg + 60;
	pthread_create(&wd, NULL, watchdog_main, &limit);
	pthread_detach(wd);
	for (int poll = 0; poll < 2; poll++) {
		r = run_mode(poll, dir);
		if (r == -ENOSYS || r == -EPERM) {
			printf("stress_uring: io_uring unavailable here (%s): skipped\n",
			       jt_strerror(r));
			rmdir(dir);
			return 77;
		}
		CHECK(r == 0, "mode %d: %d (%s)", poll, r, jt_strerror(r));
	}
	rmdir(dir);
	printf("%ld passed, %ld failed\n", atomic_load(&checks_passed),
	       atomic_load(&checks_failed));
	return atomic_load(&checks_failed) ? 1 : 0;
}
