/*
 * wl_uring.c - jt-bench --workload uring: group commit of a log through
 * io_uring with jobtxn, against the classic leader/follower group commit
 * (pwrite + fdatasync by one leader at a time, as RocksDB's WriteThread
 * and MySQL's binlog group commit do it), in the same process, runs
 * alternating (jobtxn, classic, jobtxn, ...), medians over runs.
 *
 * Both serve W writer threads (JT_BENCH_URING_WRITERS, default 128), each
 * appending one 128-byte record at a time and waiting until it is durable
 * (closed loop), as a storage engine's client connections do. Records are
 * committed in batches of at most B (--group, default 16): one write and
 * one fdatasync per batch. Latency: a record's commit call to its durable
 * acknowledgement; records/s: records acknowledged in the timed window.
 * Each writer waits on its own futex word and is woken once, in both.
 *
 *   classic  leader/follower: the writer that finds no leader leads: it
 *            takes up to B queued records, writes them with one pwritev at
 *            the log's tail, fdatasyncs, wakes their writers, and hands the
 *            leadership to the first writer that queued meanwhile. One batch
 *            is in flight at a time.
 *   jobtxn   records fill an open batch; it goes when full, or at once when
 *            fewer than D batches (JT_BENCH_URING_DEPTH, default 8) are in
 *            flight. A batch is one grouped txn of two jobs on one io_uring:
 *            a write of its records at its reserved offset, linked to an
 *            fdatasync. The txn's done (the dispatcher) wakes the batch's
 *            writers and sends the batch that filled meanwhile. D = 8:
 *            io_uring runs each fdatasync in an io-wq worker, of which it
 *            starts 4 per CPU (8 here); a deeper pipeline only queues them
 *            and sends smaller batches, i.e. more fdatasyncs (measured on
 *            ext4, 2 CPUs: D = 8 2.0x classic, 16 1.8x, 32 1.4x, 64 1.0x).
 *
 * The log goes to a fresh file in each directory of JT_BENCH_URING_DIRS
 * (colon-separated; default /dev/shm, tmpfs, and $TMPDIR or /tmp, which
 * here is a disk). Verification: every acknowledged record's status is 0,
 * and the last record of every writer is in the file byte for byte.
 *
 * Uses only <jobtxn.h>, <jobtxn_uring.h> (liburing's io_uring_prep_*) and
 * POSIX.
 */
#include <errno.h>
#include <fcntl.h>
#include <jobtxn_uring.h>
#include <linux/futex.h>
#include <linux/magic.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <unistd.h>

#include "bench.h"
#include "git_commit.h"

#define REC_SIZE    128
#define MAX_CLIENTS 1024
#define MAX_DIRS    4
#define HIST_SUB    8 /* buckets per power of two: ~9% wide */
#define HIST_N      (64 * HIST_SUB)

/* ---- latency histogram (log-linear), one writer ---- */

struct hist {
	uint64_t n;
	uint64_t b[HIST_N];
};

static unsigned hist_index(uint64_t ns)
{
	unsigned msb;

	if (ns < HIST_SUB)
		return (unsigned)ns;
	msb = 63u - (unsigned)__builtin_clzll(ns);
	return msb * HIST_SUB + (unsigned)((ns >> (msb - 3)) & (HIST_SUB - 1));
}

static uint64_t hist_value(unsigned i)
{
	unsigned msb = i / HIST_SUB, sub = i % HIST_SUB;

	if (i < HIST_SUB)
		return i;
	/* the bucket's middle */
	return ((uint64_t)(HIST_SUB + sub) << (msb - 3)) + ((uint64_t)1 << (msb - 3)) / 2;
}

static void hist_add(struct hist *h, uint64_t ns)
{
	h->b[hist_index(ns)]++;
	h->n++;
}

static void hist_merge(struct hist *into, const struct hist *h)
{
	for (unsigned i = 0; i < HIST_N; i++)
		into->b[i] += h->b[i];
	into->n += h->n;
}

static uint64_t hist_quantile(const struct hist *h, double q)
{
	uint64_t want = (uint64_t)(q * (double)h->n), seen = 0;

	for (unsigned i = 0; i < HIST_N; i++) {
		seen += h->b[i];
		if (seen > want)
			return hist_value(i);
	}
	return 0;
}

/* ---- what both designs share ---- */

struct params {
	const char *dir;
	unsigned writers, records, depth;
	double seconds;
};

struct outcome {
	uint64_t records; /* acknowledged in the timed window */
	double records_per_s;
	uint64_t p50_ns, p99_ns;
	unsigned errors;
};

static void fill_record(char *rec, unsigned writer, uint64_t seq)
{
	memset(rec, (int)('a' + (writer + seq) % 26), REC_SIZE);
	snprintf(rec, 40, "w%u s%llu", writer, (unsigned long long)seq);
}

/* The last acknowledged record of each writer is in the log as written. */
static unsigned verify_log(int fd, unsigned writers, const off_t *off, const uint64_t *seq,
                           const char *tag)
{
	unsigned errors = 0;

	for (unsigned w = 0; w < writers; w++) {
		char want[REC_SIZE], got[REC_SIZE];

		if (off[w] < 0)
			continue;
		fill_record(want, w, seq[w]);
		if (pread(fd, got, REC_SIZE, off[w]) != REC_SIZE || memcmp(got, want, REC_SIZE)) {
			fprintf(stderr, "jt-bench: %s: writer %u's record %llu is not in the log\n",
			        tag, w, (unsigned long long)seq[w]);
			errors++;
		}
	}
	return errors;
}

static int open_log(const char *dir, char *path, size_t len)
{
	int fd;

	snprintf(path, len, "%s/jt-bench-uring-%d.log", dir, (int)getpid());
	fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0)
		bench_fatal(__FILE__, __LINE__, "open(log)", -errno);
	return fd;
}

static void close_log(int fd, const char *path)
{
	close(fd);
	unlink(path);
}

/*
 * A writer's wait, the same in both designs: a futex word per writer, set
 * and woken once per record by whoever completes its group (one FUTEX_WAKE
 * per writer, as RocksDB's WriteThread and MySQL's stage queues wake each
 * follower).
 */
enum { W_WAIT = 0, W_DONE = 1, W_LEAD = 2 };

struct writer {
	struct writer *next;    /* classic: the queue */
	_Atomic uint32_t state; /* W_* */
	int status;             /* written before state */
	off_t off;              /* the record's place in the log */
	char rec[REC_SIZE];
	/* the writer's own */
	unsigned id;
	uint64_t seq;
	struct hist hist;
	uint64_t acked;
	off_t last_off;
	uint64_t last_seq;
	unsigned errors;
};

static uint32_t writer_wait(struct writer *w)
{
	uint32_t s;

	while ((s = atomic_load(&w->state)) == W_WAIT)
		syscall(SYS_futex, (uint32_t *)&w->state, FUTEX_WAIT_PRIVATE, W_WAIT, NULL, NULL,
		        0);
	return s;
}

static void writer_post(struct writer *w, uint32_t state)
{
	atomic_store(&w->state, state);
	syscall(SYS_futex, (uint32_t *)&w->state, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0);
}

/* The loop of a writer thread: one record at a time, durably. */
struct design {
	int (*commit)(void *ctx, struct writer *w); /* returns the record's status */
	void *ctx;
	uint64_t deadline;
};

struct wthread {
	struct design *d;
	struct writer *w;
};

static void *writer_main(void *arg)
{
	struct wthread *t = arg;
	struct writer *w = t->w;

	w->last_off = -1;
	for (;;) {
		uint64_t t0 = bench_now_ns(), t1;

		if (t0 >= t->d->deadline)
			break;
		fill_record(w->rec, w->id, w->seq);
		atomic_store(&w->state, W_WAIT);
		int st = t->d->commit(t->d->ctx, w);
		t1 = bench_now_ns();
		if (st != 0)
			w->errors++;
		if (t1 <= t->d->deadline) {
			hist_add(&w->hist, t1 - t0);
			w->acked++;
		}
		w->last_off = w->off;
		w->last_seq = w->seq++;
	}
	return NULL;
}

/* Run `writers` writer threads on a design; collect the outcome. */
static void run_writers(const struct params *p, struct design *d, int fd, const char *tag,
                        struct outcome *out)
{
	struct writer *w = calloc(p->writers, sizeof(*w));
	struct wthread *t = calloc(p->writers, sizeof(*t));
	pthread_t *th = calloc(p->writers, sizeof(*th));
	struct hist all = {0};
	off_t *off = calloc(p->writers, sizeof(*off));
	uint64_t *seq = calloc(p->writers, sizeof(*seq));

	if (!w || !t || !th || !off || !seq)
		bench_fatal(__FILE__, __LINE__, "calloc", -ENOMEM);
	d->deadline = bench_now_ns() + (uint64_t)(p->seconds * 1e9);
	for (unsigned i = 0; i < p->writers; i++) {
		w[i].id = i;
		t[i] = (struct wthread){d, &w[i]};
		BENCH_CHECK(-pthread_create(&th[i], NULL, writer_main, &t[i]));
	}
	*out = (struct outcome){0};
	for (unsigned i = 0; i < p->writers; i++) {
		pthread_join(th[i], NULL);
		hist_merge(&all, &w[i].hist);
		out->records += w[i].acked;
		out->errors += w[i].errors;
		off[i] = w[i].last_off;
		seq[i] = w[i].last_seq;
	}
	out->records_per_s = (double)out->records / p->seconds;
	out->p50_ns = hist_quantile(&all, 0.50);
	out->p99_ns = hist_quantile(&all, 0.99);
	out->errors += verify_log(fd, p->writers, off, seq, tag);
	free(w);
	free(t);
	free(th);
	free(off);
	free(seq);
}

/* ---- classic: leader/follower, pwritev + fdatasync ---- */

struct classic {
	pthread_mutex_t mu;
	struct writer *head, *tail;
	bool leader_active;
	int fd;
	off_t tail_off;
	unsigned records; /* a group takes at most this many */
};

/* The leader: one group of at most `records` writers, then hand over. */
static void classic_lead(struct classic *g, struct writer *self)
{
	struct writer *group[MAX_CLIENTS], *next, *w;
	struct iovec iov[MAX_CLIENTS];
	unsigned n = 0;
	off_t off;
	int status = 0;

	pthread_mutex_lock(&g->mu);
	for (w = g->head; w && n < g->records; w = w->next) {
		group[n] = w;
		iov[n] = (struct iovec){w->rec, REC_SIZE};
		n++;
	}
	g->head = w;
	if (!w)
		g->tail = NULL;
	off = g->tail_off;
	g->tail_off += (off_t)n * REC_SIZE;
	pthread_mutex_unlock(&g->mu);
	if (pwritev(g->fd, iov, (int)n, off) != (ssize_t)n * REC_SIZE)
		status = -EIO;
	else if (fdatasync(g->fd) != 0)
		status = -errno;
	pthread_mutex_lock(&g->mu);
	next = g->head; /* the first writer that queued meanwhile leads next */
	if (!next)
		g->leader_active = false;
	pthread_mutex_unlock(&g->mu);
	for (unsigned i = 0; i < n; i++) {
		group[i]->off = off + (off_t)i * REC_SIZE;
		group[i]->status = status;
		if (group[i] != self)
			writer_post(group[i], W_DONE);
	}
	if (next)
		writer_post(next, W_LEAD);
}

static int classic_commit(void *ctx, struct writer *w)
{
	struct classic *g = ctx;
	bool lead = false;

	pthread_mutex_lock(&g->mu);
	w->next = NULL;
	if (g->tail)
		g->tail->next = w;
	else
		g->head = w;
	g->tail = w;
	if (!g->leader_active)
		lead = g->leader_active = true;
	pthread_mutex_unlock(&g->mu);
	if (lead || writer_wait(w) == W_LEAD)
		classic_lead(g, w); /* w is the head: its own record is in the group */
	return w->status;
}

static void run_classic(const struct params *p, struct outcome *out)
{
	struct classic g = {.mu = PTHREAD_MUTEX_INITIALIZER, .records = p->records};
	struct design d = {.commit = classic_commit, .ctx = &g};
	char path[512];

	g.fd = open_log(p->dir, path, sizeof(path));
	run_writers(p, &d, g.fd, "uring/classic", out);
	close_log(g.fd, path);
}

/* ---- jobtxn + io_uring: pipelined group commit ---- */

struct jbatch {
	struct jgc *gc;
	unsigned n;
	off_t off;
	struct writer *w[MAX_CLIENTS];
	char *buf;
};

struct jgc {
	pthread_mutex_t mu;
	struct jbatch *open; /* filling */
	unsigned inflight;   /* committed, not yet done */
	unsigned records, depth;
	jt_runtime *rt;
	jt_uring *u;
	int fd;
	_Atomic long long tail;
};

static struct jbatch *jbatch_new(struct jgc *gc)
{
	struct jbatch *b = calloc(1, sizeof(*b));

	if (!b || !(b->buf = malloc((size_t)gc->records * REC_SIZE)))
		bench_fatal(__FILE__, __LINE__, "malloc", -ENOMEM);
	b->gc = gc;
	return b;
}

static int whole_batch(void *arg, int res)
{
	struct jbatch *b = arg;
	return res < 0 ? res : res == (int)(b->n * REC_SIZE) ? 0 : -EIO;
}

static void prep_retry(struct jgc *gc, jt_job *j, jt_uring_check_fn *check, void *arg,
                       struct io_uring_sqe **sqe)
{
	int r;

	while ((r = jt_uring_prep(gc->u, j, check, arg, sqe)) == -EAGAIN)
		BENCH_CHECK(jt_uring_submit(gc->u));
	BENCH_CHECK(r);
}

static void jbatch_done(void *opaque, int status);

/* One batch, one grouped txn: a write of its records -> fdatasync. */
static void jbatch_commit(struct jbatch *b)
{
	struct jgc *gc = b->gc;
	size_t len = (size_t)b->n * REC_SIZE;
	struct io_uring_sqe *sqe;
	jt_job *wj, *fj;
	jt_txn *t;

	b->off = (off_t)atomic_fetch_add(&gc->tail, (long long)len);
	BENCH_CHECK(jt_txn_begin(gc->rt, JT_TXN_GROUPED, &t));
	BENCH_CHECK(jt_txn_add(t, NULL, NULL, &wj));
	BENCH_CHECK(jt_txn_add(t, NULL, NULL, &fj));
	prep_retry(gc, wj, whole_batch, b, &sqe);
	io_uring_prep_write(sqe, gc->fd, b->buf, (unsigned)len, (uint64_t)b->off);
	sqe->flags |= IOSQE_IO_LINK;
	prep_retry(gc, fj, NULL, NULL, &sqe);
	io_uring_prep_fsync(sqe, gc->fd, IORING_FSYNC_DATASYNC);
	BENCH_CHECK(jt_txn_commit(t, jbatch_done, b));
	BENCH_CHECK(jt_uring_submit(gc->u));
}

/* The txn's done, on the dispatcher: acknowledge, and send what waits. */
static void jbatch_done(void *opaque, int status)
{
	struct jbatch *b = opaque, *next = NULL;
	struct jgc *gc = b->gc;

	for (unsigned i = 0; i < b->n; i++) {
		b->w[i]->off = b->off + (off_t)i * REC_SIZE;
		b->w[i]->status = status;
		writer_post(b->w[i], W_DONE);
	}
	pthread_mutex_lock(&gc->mu);
	gc->inflight--;
	if (gc->open && gc->open->n > 0) {
		next = gc->open;
		gc->open = NULL;
		gc->inflight++;
	}
	pthread_mutex_unlock(&gc->mu);
	if (next)
		jbatch_commit(next);
	free(b->buf);
	free(b);
}

static int jobtxn_commit(void *ctx, struct writer *w)
{
	struct jgc *gc = ctx;
	struct jbatch *b, *send = NULL;

	pthread_mutex_lock(&gc->mu);
	if (!gc->open)
		gc->open = jbatch_new(gc);
	b = gc->open;
	memcpy(b->buf + (size_t)b->n * REC_SIZE, w->rec, REC_SIZE);
	b->w[b->n++] = w;
	/* Full, or a slot of the pipeline is free: it goes now. Else the
	 * next batch's done sends it. */
	if (b->n == gc->records || gc->inflight < gc->depth) {
		send = b;
		gc->open = NULL;
		gc->inflight++;
	}
	pthread_mutex_unlock(&gc->mu);
	if (send)
		jbatch_commit(send);
	writer_wait(w);
	return w->status;
}

static void run_jobtxn(const struct params *p, struct outcome *out)
{
	struct jgc gc = {.mu = PTHREAD_MUTEX_INITIALIZER, .records = p->records, .depth = p->depth};
	struct design d = {.commit = jobtxn_commit, .ctx = &gc};
	struct jt_uring_opts uo;
	char path[512];
	int r;

	gc.fd = open_log(p->dir, path, sizeof(path));
	BENCH_CHECK(jt_runtime_create(NULL, &gc.rt));
	jt_uring_opts_init(&uo);
	uo.entries = 4 * p->depth + 16;
	if ((r = jt_uring_create(gc.rt, &uo, &gc.u)) != 0)
		bench_fatal(__FILE__, __LINE__, "jt_uring_create", r);
	run_writers(p, &d, gc.fd, "uring/jobtxn", out);
	BENCH_CHECK(jt_uring_destroy(gc.u));
	BENCH_CHECK(jt_runtime_drain(gc.rt, -1));
	BENCH_CHECK(jt_runtime_destroy(gc.rt));
	close_log(gc.fd, path);
}

/* ---- runs, medians, report ---- */

static const char *fs_name(const char *dir)
{
	struct statfs s;

	if (statfs(dir, &s) != 0)
		return "?";
	switch ((unsigned long)s.f_type) {
	case TMPFS_MAGIC:
		return "tmpfs";
	case EXT4_SUPER_MAGIC:
		return "ext4";
	case XFS_SUPER_MAGIC:
		return "xfs";
	case BTRFS_SUPER_MAGIC:
		return "btrfs";
	default:
		return "other";
	}
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

static uint64_t median_u64(uint64_t *v, unsigned n)
{
	qsort(v, n, sizeof(*v), cmp_u64);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

struct summary {
	uint64_t rec_s, p50, p99, rec_min, rec_max;
	unsigned errors;
};

static void summarize(const struct outcome *o, unsigned runs, struct summary *s)
{
	uint64_t v[3][1000];

	*s = (struct summary){0};
	for (unsigned r = 0; r < runs; r++) {
		v[0][r] = (uint64_t)o[r].records_per_s;
		v[1][r] = o[r].p50_ns;
		v[2][r] = o[r].p99_ns;
		s->errors += o[r].errors;
	}
	s->rec_s = median_u64(v[0], runs);
	s->rec_min = v[0][0];
	s->rec_max = v[0][runs - 1];
	s->p50 = median_u64(v[1], runs);
	s->p99 = median_u64(v[2], runs);
}

static unsigned env_unsigned(const char *name, unsigned dflt, unsigned lo, unsigned hi)
{
	const char *s = getenv(name);
	char *end;
	unsigned long v;

	if (!s || !*s)
		return dflt;
	v = strtoul(s, &end, 10);
	if (*end || v < lo || v > hi) {
		fprintf(stderr, "jt-bench: %s='%s': want %u..%u\n", name, s, lo, hi);
		exit(64);
	}
	return (unsigned)v;
}

static void progress(const struct params *p, const char *impl, unsigned run, unsigned runs,
                     const struct outcome *o)
{
	fprintf(stderr,
	        "jt-bench: uring   %s W=%u B=%u D=%u %s run %u/%u: %.0f records/s, p50 %.0f us, "
	        "p99 %.0f us%s\n",
	        p->dir, p->writers, p->records, p->depth, impl, run + 1, runs, o->records_per_s,
	        o->p50_ns / 1e3, o->p99_ns / 1e3, o->errors ? "  ** ERROR **" : "");
}

int bench_uring_run(const struct bench_opts *o)
{
	char dirs_buf[1024], *dirs[MAX_DIRS], *save = NULL;
	const char *env = getenv("JT_BENCH_URING_DIRS"), *tmp = getenv("TMPDIR");
	struct params p = {.writers = env_unsigned("JT_BENCH_URING_WRITERS", 128, 1, MAX_CLIENTS),
	                   .records = o->group ? o->group : 16,
	                   .depth = env_unsigned("JT_BENCH_URING_DEPTH", 8, 1, 64),
	                   .seconds = o->seconds};
	struct summary sj[MAX_DIRS], sc[MAX_DIRS];
	unsigned ndirs = 0, errors = 0;

	if (env && *env)
		snprintf(dirs_buf, sizeof(dirs_buf), "%s", env);
	else
		snprintf(dirs_buf, sizeof(dirs_buf), "/dev/shm:%s", tmp && *tmp ? tmp : "/tmp");
	for (char *d = strtok_r(dirs_buf, ":", &save); d && ndirs < MAX_DIRS;
	     d = strtok_r(NULL, ":", &save))
		if (access(d, W_OK) == 0)
			dirs[ndirs++] = d;
	if (p.records * REC_SIZE > (1u << 30)) {
		fprintf(stderr, "jt-bench: uring: --group %u is too large\n", p.records);
		return 1;
	}
	for (unsigned d = 0; d < ndirs; d++) {
		struct outcome *oj = calloc(o->runs, sizeof(*oj)),
		               *oc = calloc(o->runs, sizeof(*oc));

		if (!oj || !oc || o->runs > 1000)
			bench_fatal(__FILE__, __LINE__, "calloc", -ENOMEM);
		p.dir = dirs[d];
		for (unsigned r = 0; r < o->runs; r++) {
			run_jobtxn(&p, &oj[r]);
			progress(&p, "jobtxn ", r, o->runs, &oj[r]);
			run_classic(&p, &oc[r]);
			progress(&p, "classic", r, o->runs, &oc[r]);
		}
		summarize(oj, o->runs, &sj[d]);
		summarize(oc, o->runs, &sc[d]);
		errors += sj[d].errors + sc[d].errors;
		free(oj);
		free(oc);
	}
	printf("jt-bench --workload uring: jobtxn %d.%d.%d, commit %s\n"
	       "group commit: %u writer threads, one %d-byte record each at a time, durably; "
	       "batches of at most %u records,\none write + one fdatasync per batch (jobtxn: one "
	       "grouped txn per batch on one io_uring, %u batches in flight at\nmost; classic: "
	       "leader/follower, one batch at a time, pwritev + fdatasync); runs alternate jobtxn, "
	       "classic;\nmedians of %u runs x %.2f s\n\n",
	       JOBTXN_VERSION_MAJOR, JOBTXN_VERSION_MINOR, JOBTXN_VERSION_PATCH,
	       JT_BENCH_GIT_COMMIT, p.writers, REC_SIZE, p.records, p.depth, o->runs, o->seconds);
	printf("%-18s %-6s %-8s %12s %23s %9s %9s %9s %8s\n", "dir", "fs", "impl", "records/s",
	       "min .. max records/s", "p50 us", "p99 us", "x rec/s", "x p99");
	for (unsigned d = 0; d < ndirs; d++) {
		char range[2][64];

		snprintf(range[0], sizeof(range[0]), "%llu .. %llu",
		         (unsigned long long)sj[d].rec_min, (unsigned long long)sj[d].rec_max);
		snprintf(range[1], sizeof(range[1]), "%llu .. %llu",
		         (unsigned long long)sc[d].rec_min, (unsigned long long)sc[d].rec_max);
		printf("%-18s %-6s %-8s %12llu %23s %9.1f %9.1f %9.2f %8.2f%s\n", dirs[d],
		       fs_name(dirs[d]), "jobtxn", (unsigned long long)sj[d].rec_s, range[0],
		       sj[d].p50 / 1e3, sj[d].p99 / 1e3,
		       sc[d].rec_s ? (double)sj[d].rec_s / (double)sc[d].rec_s : 0,
		       sc[d].p99 ? (double)sj[d].p99 / (double)sc[d].p99 : 0,
		       sj[d].errors ? "  ERROR" : "");
		printf("%-18s %-6s %-8s %12llu %23s %9.1f %9.1f %9s %8s%s\n", dirs[d],
		       fs_name(dirs[d]), "classic", (unsigned long long)sc[d].rec_s, range[1],
		       sc[d].p50 / 1e3, sc[d].p99 / 1e3, "", "", sc[d].errors ? "  ERROR" : "");
	}
	printf("\nx rec/s = jobtxn/classic of median records/s (> 1: jobtxn commits more); x p99 = "
	       "jobtxn/classic of median p99 (< 1: jobtxn's is lower)\nVerification: every "
	       "acknowledged record succeeded, each writer's last record is in the log: %s\n",
	       errors ? "FAILED (see stderr)" : "OK");
	return errors ? 1 : 0;
}
