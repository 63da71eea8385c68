/*
 * uring_group_commit.c - group commit of a write-ahead log through io_uring.
 *
 * A log file and a manifest live in a fresh temporary directory. Writer
 * threads append batches of records; each batch is one grouped jobtxn
 * transaction of kernel operations on one io_uring:
 *
 *   - the writer reserves log space for the batch and prepares one write
 *     per record, linked in a chain that ends with an fsync of the log
 *     (IOSQE_IO_LINK: the fsync starts after every write finished); every
 *     SQE is one job of the txn;
 *   - the txn's `done` runs once, on jobtxn's dispatcher thread, after the
 *     kernel completed every operation: on success it publishes a new
 *     manifest naming the batch (write, fsync, rename: atomic), which is
 *     what makes the batch visible; on failure it publishes nothing.
 *
 * One batch meets an injected failure: one of its writes goes to a bad fd
 * (-EBADF). The kernel cancels the rest of its chain, the txn fails with
 * the root cause (-EBADF, not -ECANCELED), and nothing is published. The
 * program then checks that the manifest names every other batch, never the
 * failed one, and that the log holds each named batch's records byte for
 * byte. It exits non-zero on any mismatch, 77 where io_uring is
 * unavailable.
 *
 * Uses only <jobtxn.h>, <jobtxn_uring.h> (and liburing's io_uring_prep_*),
 * POSIX and pthreads.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <jobtxn.h>
#include <jobtxn_uring.h>
#include <pthread.h>
#include <semaphore.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define WRITERS      3
#define BATCHES      5  /* per writer */
#define RECORDS      8  /* per batch */
#define RECORD_SIZE  64 /* fixed-size records keep the check simple */
#define FAIL_WRITER  1  /* this writer's ... */
#define FAIL_BATCH   2  /* ... batch fails ... */
#define FAIL_RECORD  5  /* ... on this record's write */
#define MAX_BATCHES  (WRITERS * BATCHES)
#define MANIFEST_MAX (MAX_BATCHES * 48)

#define CHECK(cond)                                                                                \
	do {                                                                                       \
		if (!(cond)) {                                                                     \
			fprintf(stderr, "uring_group_commit: check failed at line %d: %s\n",       \
			        __LINE__, #cond);                                                  \
			exit(1);                                                                   \
		}                                                                                  \
	} while (0)

struct batch {
	unsigned writer, seq;
	off_t offset; /* the log space reserved for it */
	char records[RECORDS][RECORD_SIZE];
	int status; /* set by done, before it posts `retired` */
	sem_t retired;
};

static struct {
	char dir[64];
	int fd;
	jt_runtime *rt;
	jt_uring *ring;
	atomic_llong tail; /* log space reserved so far */
	/* The dispatcher's alone (done callbacks run one at a time). */
	struct batch *published[MAX_BATCHES];
	unsigned npublished;
} wal;

static void path_of(char *out, size_t len, const char *name)
{
	snprintf(out, len, "%s/%s", wal.dir, name);
}

/* The manifest names every published batch: write, fsync, rename. */
static void publish_manifest(void)
{
	char text[MANIFEST_MAX], tmp[128], final[128];
	size_t len = 0;

	for (unsigned i = 0; i < wal.npublished; i++) {
		const struct batch *b = wal.published[i];
		len += (size_t)snprintf(text + len, sizeof(text) - len, "batch %u.%u at %lld\n",
		                        b->writer, b->seq, (long long)b->offset);
	}
	path_of(tmp, sizeof(tmp), "MANIFEST.tmp");
	path_of(final, sizeof(final), "MANIFEST");
	int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	CHECK(fd >= 0);
	CHECK(write(fd, text, len) == (ssize_t)len);
	CHECK(fsync(fd) == 0);
	CHECK(close(fd) == 0);
	CHECK(rename(tmp, final) == 0);
}

/* The txn's done: on the dispatcher, after every operation completed. */
static void batch_done(void *opaque, int status)
{
	struct batch *b = opaque;

	b->status = status;
	if (status != 0) {
		printf("batch %u.%u failed (%s): nothing published\n", b->writer, b->seq,
		       jt_strerror(status));
	} else {
		wal.published[wal.npublished++] = b;
		publish_manifest();
	}
	sem_post(&b->retired); /* the writer's next batch may go */
}

/* A short write is an I/O error for a log. */
static int whole_record(void *arg, int res)
{
	(void)arg;
	return res < 0 ? res : res == RECORD_SIZE ? 0 : -EIO;
}

/* One batch: RECORDS writes and an fsync, one chain, one grouped txn. */
static int commit_batch(struct batch *b, bool inject)
{
	struct io_uring_sqe *sqe;
	jt_txn *t;
	jt_job *j;
	int err;

	b->offset = (off_t)atomic_fetch_add(&wal.tail, (long long)sizeof(b->records));
	if ((err = jt_txn_begin(wal.rt, JT_TXN_GROUPED, &t)) != 0)
		return err;
	for (unsigned r = 0; r <= RECORDS; r++) {
		if ((err = jt_txn_add(t, NULL, NULL, &j)) != 0)
			return err;
		/* The queue is full: send what is prepared, then retry. */
		while ((err = jt_uring_prep(wal.ring, j, r < RECORDS ? whole_record : NULL, NULL,
		                            &sqe)) == -EAGAIN)
			(void)jt_uring_submit(wal.ring);
		if (err != 0)
			return err;
		if (r == RECORDS) { /* the chain's end: make it durable */
			io_uring_prep_fsync(sqe, wal.fd, IORING_FSYNC_DATASYNC);
			break;
		}
		int fd = inject && r == FAIL_RECORD ? -1 : wal.fd;
		io_uring_prep_write(sqe, fd, b->records[r], RECORD_SIZE,
		                    (uint64_t)(b->offset + r * RECORD_SIZE));
		sqe->flags |= IOSQE_IO_LINK;
	}
	if ((err = jt_uring_submit(wal.ring)) < 0)
		return err;
	if ((err = jt_txn_commit(t, batch_done, b)) != 0)
		return err;
	while (sem_wait(&b->retired) != 0) /* EINTR: io_uring's task work */
		;
	return b->status;
}

static void *writer_main(void *arg)
{
	unsigned w = (unsigned)(uintptr_t)arg;

	for (unsigned s = 0; s < BATCHES; s++) {
		struct batch *b = calloc(1, sizeof(*b));
		bool inject = w == FAIL_WRITER && s == FAIL_BATCH;

		CHECK(b != NULL);
		CHECK(sem_init(&b->retired, 0, 0) == 0);
		b->writer = w;
		b->seq = s;
		for (unsigned r = 0; r < RECORDS; r++)
			snprintf(b->records[r], RECORD_SIZE, "writer %u batch %u record %u", w, s,
			         r);
		int status = commit_batch(b, inject);
		if (inject) {
			CHECK(status == -EBADF); /* the root cause, not -ECANCELED */
			free(b);
		} else {
			CHECK(status == 0);
		}
	}
	return NULL;
}

/* Every named batch is in the log byte for byte; the failed one is not named. */
static void check_outcome(void)
{
	char path[128], line[128];
	unsigned named = 0;

	path_of(path, sizeof(path), "MANIFEST");
	FILE *f = fopen(path, "r");
	CHECK(f != NULL);
	while (fgets(line, sizeof(line), f)) {
		unsigned w, s;
		long long off;
		CHECK(sscanf(line, "batch %u.%u at %lld", &w, &s, &off) == 3);
		CHECK(!(w == FAIL_WRITER && s == FAIL_BATCH));
		for (unsigned r = 0; r < RECORDS; r++) {
			char want[RECORD_SIZE] = {0}, got[RECORD_SIZE];
			snprintf(want, RECORD_SIZE, "writer %u batch %u record %u", w, s, r);
			CHECK(pread(wal.fd, got, RECORD_SIZE, off + r * RECORD_SIZE) ==
			      RECORD_SIZE);
			CHECK(memcmp(got, want, RECORD_SIZE) == 0);
		}
		named++;
	}
	fclose(f);
	CHECK(named == MAX_BATCHES - 1);
	printf("manifest: %u batches of %d records, all in the log; the failed batch is not "
	       "named\n",
	       named, RECORDS);
}

int main(void)
{
	pthread_t th[WRITERS];
	char path[128];
	int err;

	snprintf(wal.dir, sizeof(wal.dir), "/tmp/jt-uring-wal-XXXXXX");
	CHECK(mkdtemp(wal.dir) != NULL);
	path_of(path, sizeof(path), "log");
	wal.fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	CHECK(wal.fd >= 0);
	CHECK(jt_runtime_create(NULL, &wal.rt) == 0);
	err = jt_uring_create(wal.rt, NULL, &wal.ring);
	if (err == -ENOSYS || err == -EPERM) {
		printf("io_uring unavailable here (%s): skipped\n", jt_strerror(err));
		return 77;
	}
	CHECK(err == 0);
	for (unsigned w = 0; w < WRITERS; w++)
		CHECK(pthread_create(&th[w], NULL, writer_main, (void *)(uintptr_t)w) == 0);
	for (unsigned w = 0; w < WRITERS; w++)
		CHECK(pthread_join(th[w], NULL) == 0);
	CHECK(jt_uring_destroy(wal.ring) == 0);
	CHECK(jt_runtime_destroy(wal.rt) == 0);
	check_outcome();
	for (unsigned i = 0; i < wal.npublished; i++)
		free(wal.published[i]);
	close(wal.fd);
	const char *names[] = {"log", "MANIFEST"};
	for (unsigned i = 0; i < 2; i++) {
		path_of(path, sizeof(path), names[i]);
		unlink(path);
	}
	rmdir(wal.dir);
	return 0;
}
