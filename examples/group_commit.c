/*
 * group_commit.c - group commit for a storage engine's write-ahead log.
 *
 * A log file and a manifest live in a fresh temporary directory. Records
 * are appended in batches; each batch is one jobtxn transaction:
 *
 *   - the builder (main thread) reserves log space for the batch and hands
 *     one pwrite request per record to a pool of I/O threads; each request
 *     is one member of the txn, its job completed by the I/O thread with the
 *     pwrite result (0 or -errno);
 *   - the txn's `done` runs once, on jobtxn's dispatcher thread, after every
 *     record of the batch is written: on success it fsyncs the log and
 *     publishes a new manifest (write, fsync, rename: atomic), which is what
 *     makes the batch durable and visible; on failure it publishes nothing,
 *     and the log space is reused by the next batch.
 *
 * One batch meets an injected -ENOSPC on one of its records. The program
 * then checks that the manifest never named that batch, that the batches
 * around it were published, and that the log holds exactly the published
 * records. It exits non-zero on any mismatch.
 *
 * Uses only <jobtxn.h>, POSIX and pthreads.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <jobtxn.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define IO_THREADS     3
#define BATCHES        6
#define RECORDS        8   /* per batch */
#define RECORD_SIZE    64  /* fixed-size records keep the check simple */
#define ENOSPC_BATCH   2   /* this batch fails ... */
#define ENOSPC_RECORD  5   /* ... on this record */
#define MANIFEST_BYTES 128 /* enough for the manifest's one line */

#define CHECK(cond)                                                                                \
	do {                                                                                       \
		if (!(cond)) {                                                                     \
			fprintf(stderr, "group_commit: check failed at line %d: %s\n", __LINE__,   \
			        #cond);                                                            \
			exit(1);                                                                   \
		}                                                                                  \
	} while (0)

/* One pwrite request: what an I/O thread needs, and the job to complete. */
struct write_req {
	struct write_req *next;
	jt_job *job;
	off_t offset;
	bool inject_enospc;
	char data[RECORD_SIZE];
};

/* The I/O threads' request queue (a plain mutex queue: not jobtxn's job). */
static struct {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	struct write_req *head, *tail;
	bool stop;
} ioq = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, NULL, NULL, false};

/* The log: written by I/O threads, published by the dispatcher. */
static struct {
	char dir[64];
	int fd;
	off_t published;      /* durable length named by the manifest */
	unsigned batches;     /* batches the manifest names */
	pthread_mutex_t lock; /* hands a batch's outcome back to the builder */
	pthread_cond_t cond;
	bool batch_finished;
	int batch_status;
} log_state = {.lock = PTHREAD_MUTEX_INITIALIZER, .cond = PTHREAD_COND_INITIALIZER};

static void ioq_push(struct write_req *r)
{
	pthread_mutex_lock(&ioq.lock);
	r->next = NULL;
	if (ioq.tail != NULL)
		ioq.tail->next = r;
	else
		ioq.head = r;
	ioq.tail = r;
	pthread_cond_signal(&ioq.cond);
	pthread_mutex_unlock(&ioq.lock);
}

static struct write_req *ioq_pop(void)
{
	struct write_req *r;

	pthread_mutex_lock(&ioq.lock);
	while (ioq.head == NULL && !ioq.stop)
		pthread_cond_wait(&ioq.cond, &ioq.lock);
	r = ioq.head;
	if (r != NULL) {
		ioq.head = r->next;
		if (ioq.head == NULL)
			ioq.tail = NULL;
	}
	pthread_mutex_unlock(&ioq.lock);
	return r;
}

/* An I/O thread: pwrite each record, complete its job with the result. */
static void *io_thread(void *arg)
{
	struct write_req *r;

	(void)arg;
	while ((r = ioq_pop()) != NULL) {
		int ret = 0;

		if (r->inject_enospc) {
			ret = -ENOSPC; /* the disk is full: nothing written */
		} else {
			ssize_t n = pwrite(log_state.fd, r->data, RECORD_SIZE, r->offset);

			if (n < 0)
				ret = -errno;
			else if (n != RECORD_SIZE)
				ret = -EIO;
		}
		/* From any thread, lock-free; the txn's callbacks see the
		 * written record (everything before this call is visible). */
		jt_job_complete(r->job, ret);
	}
	return NULL;
}

/* A member's destroy: the request's memory goes with the member. */
static void req_destroy(void *opaque)
{
	free(opaque);
}

static const struct jt_member_ops record_ops = {.destroy = req_destroy};

/* Write the manifest to a temporary name, fsync it, rename it in place. */
static int publish_manifest(off_t length, unsigned batches)
{
	char tmp[96], final[96], line[MANIFEST_BYTES];
	int fd, len, ret = 0;

	snprintf(tmp, sizeof(tmp), "%s/manifest.tmp", log_state.dir);
	snprintf(final, sizeof(final), "%s/manifest", log_state.dir);
	len = snprintf(line, sizeof(line), "log-length %lld batches %u\n", (long long)length,
	               batches);
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	if (fd < 0)
		return -errno;
	if (write(fd, line, (size_t)len) != len || fsync(fd) != 0)
		ret = -EIO;
	close(fd);
	if (ret == 0 && rename(tmp, final) != 0)
		ret = -errno;
	return ret;
}

/* The batch's txn done: on the dispatcher, once, after every record. */
static void batch_done(void *opaque, int status)
{
	off_t end = *(off_t *)opaque; /* the log length with this batch */

	if (status == 0) {
		/* Group commit: one fsync makes the whole batch durable. It
		 * blocks the dispatcher meanwhile; an engine with other txns
		 * in flight would fsync on a thread of its own. */
		if (fsync(log_state.fd) != 0)
			status = -errno;
		else
			status = publish_manifest(end, log_state.batches + 1);
		if (status == 0) {
			log_state.published = end;
			log_state.batches++;
		}
	}
	/* On failure nothing is published: the manifest still names the
	 * previous length, and the next batch overwrites this one's space. */
	pthread_mutex_lock(&log_state.lock);
	log_state.batch_status = status;
	log_state.batch_finished = true;
	pthread_cond_signal(&log_state.cond);
	pthread_mutex_unlock(&log_state.lock);
}

/* A record names the attempt that wrote it, so stale data would show. */
static void fill_record(char *data, unsigned attempt, unsigned rec)
{
	memset(data, '.', RECORD_SIZE);
	snprintf(data, RECORD_SIZE, "attempt %u record %u", attempt, rec);
	data[RECORD_SIZE - 1] = '\n';
}

/* Build, commit and wait for one batch; returns the txn's status. */
static int run_batch(jt_runtime *rt, unsigned attempt)
{
	static off_t end; /* read by batch_done: one batch in flight at a time */
	jt_txn *txn;
	int err;

	CHECK(jt_txn_begin(rt, 0, &txn) == 0);
	for (unsigned rec = 0; rec < RECORDS; rec++) {
		struct write_req *r = calloc(1, sizeof(*r));

		CHECK(r != NULL);
		r->offset = log_state.published + (off_t)rec * RECORD_SIZE;
		r->inject_enospc = attempt == ENOSPC_BATCH && rec == ENOSPC_RECORD;
		fill_record(r->data, attempt, rec);
		err = jt_txn_add(txn, &record_ops, r, &r->job);
		if (err == 0)
			err = jt_job_arm(r->job);
		if (err != 0) { /* a member that failed to register owns nothing */
			fprintf(stderr, "group_commit: %s\n", jt_strerror(err));
			exit(1);
		}
		ioq_push(r); /* the I/O threads may complete it before commit */
	}
	end = log_state.published + RECORDS * RECORD_SIZE;
	log_state.batch_finished = false;
	/* No callback runs before this call, however fast the writes are. */
	CHECK(jt_txn_commit(txn, batch_done, &end) == 0);
	pthread_mutex_lock(&log_state.lock);
	while (!log_state.batch_finished)
		pthread_cond_wait(&log_state.cond, &log_state.lock);
	err = log_state.batch_status;
	pthread_mutex_unlock(&log_state.lock);
	return err;
}

static void read_manifest(off_t *length, unsigned *batches)
{
	char path[96];
	long long len;
	FILE *f;

	snprintf(path, sizeof(path), "%s/manifest", log_state.dir);
	f = fopen(path, "r");
	CHECK(f != NULL);
	CHECK(fscanf(f, "log-length %lld batches %u", &len, batches) == 2);
	fclose(f);
	*length = (off_t)len;
}

int main(void)
{
	pthread_t io[IO_THREADS];
	char path[96], expect[RECORD_SIZE], got[RECORD_SIZE];
	const char *tmpdir = getenv("TMPDIR");
	unsigned published_batch = 0;
	off_t length;
	unsigned batches;
	jt_runtime *rt;

	snprintf(log_state.dir, sizeof(log_state.dir), "%s/jt-group-commit-XXXXXX",
	         tmpdir != NULL && strlen(tmpdir) < 32 ? tmpdir : "/tmp");
	CHECK(mkdtemp(log_state.dir) != NULL);
	snprintf(path, sizeof(path), "%s/log", log_state.dir);
	log_state.fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0644);
	CHECK(log_state.fd >= 0);
	CHECK(publish_manifest(0, 0) == 0);

	CHECK(jt_runtime_create(NULL, &rt) == 0); /* dispatcher thread jt-dispatch */
	for (int i = 0; i < IO_THREADS; i++)
		CHECK(pthread_create(&io[i], NULL, io_thread, NULL) == 0);

	for (unsigned attempt = 0; attempt < BATCHES; attempt++) {
		int status = run_batch(rt, attempt);

		read_manifest(&length, &batches);
		if (attempt == ENOSPC_BATCH) {
			/* The failed batch: its status names the cause, and the
			 * manifest did not move. */
			CHECK(status == -ENOSPC);
			CHECK(batches == published_batch);
			printf("batch attempt %u: %s, nothing published\n", attempt,
			       jt_strerror(status));
			continue;
		}
		CHECK(status == 0);
		published_batch++;
		CHECK(batches == published_batch);
		CHECK(length == (off_t)published_batch * RECORDS * RECORD_SIZE);
		printf("batch attempt %u: published, log length %lld\n", attempt,
		       (long long)length);
	}

	pthread_mutex_lock(&ioq.lock);
	ioq.stop = true;
	pthread_cond_broadcast(&ioq.cond);
	pthread_mutex_unlock(&ioq.lock);
	for (int i = 0; i < IO_THREADS; i++)
		pthread_join(io[i], NULL);
	CHECK(jt_runtime_destroy(rt) == 0);

	/* The durable log: every published record, in order, nothing else:
	 * the failed attempt's records were overwritten by the next batch. */
	read_manifest(&length, &batches);
	CHECK(batches == BATCHES - 1);
	for (unsigned b = 0; b < batches; b++) {
		unsigned attempt = b < ENOSPC_BATCH ? b : b + 1;

		for (unsigned rec = 0; rec < RECORDS; rec++) {
			off_t off = (off_t)(b * RECORDS + rec) * RECORD_SIZE;

			fill_record(expect, attempt, rec);
			CHECK(pread(log_state.fd, got, RECORD_SIZE, off) == RECORD_SIZE);
			CHECK(memcmp(got, expect, RECORD_SIZE) == 0);
		}
	}
	CHECK(length == (off_t)batches * RECORDS * RECORD_SIZE);
	close(log_state.fd);

	unlink(path);
	snprintf(path, sizeof(path), "%s/manifest", log_state.dir);
	unlink(path);
	rmdir(log_state.dir);
	printf("group commit: %u batches published, 1 failed batch left no trace\n", batches);
	return 0;
}
