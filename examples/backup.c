/*
 * backup.c - a multi-volume incremental backup as one transaction, in
 * QEMU's grouped completion mode (JT_TXN_GROUPED).
 *
 * Each volume has a dirty bitmap: the blocks written since its last backup.
 * A backup of all volumes must be consistent: either every volume's dirty
 * blocks reach the target and every bitmap is cleared, or the backup fails
 * as a whole and every bitmap is restored so the next attempt copies the same
 * blocks again. One txn, one member per volume:
 *
 *   prepare  (committing thread) freezes the volume's dirty bitmap: the set
 *            to copy moves to `frozen`, and the live bitmap starts empty so
 *            new writes are tracked for the next backup (QEMU's "successor"
 *            bitmap). Then it submits the copy job to jobtxn's worker pool.
 *   job      (worker thread) copies every frozen block to the target,
 *            polling jt_job_cancelled between blocks; returns 0 or -errno.
 *   cancel   (dispatcher) a sibling failed: count the request (the job sees
 *            jt_job_cancelled and stops with -ECANCELED).
 *   abort    (committing thread) a later volume's prepare failed: merge the
 *            frozen bitmap back.
 *   done     (dispatcher) status 0: the backup is complete, drop the frozen
 *            bitmap; otherwise merge it back into the live one.
 *
 * Run 1 injects a read error in volume 1: the grouped txn cancels volumes 0
 * and 2, its status is -EIO, and every bitmap is restored. A guest write
 * between the runs dirties one more block. Run 2 succeeds: the target holds
 * every dirty block of every volume and every bitmap is empty. The
 * program checks all of it and exits non-zero on any mismatch.
 *
 * Uses only <jobtxn.h> and the C library.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <jobtxn.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define VOLUMES    3
#define BLOCKS     64 /* per volume: one uint64_t bitmap */
#define BLOCK_SIZE 512
#define BAD_VOLUME 1 /* run 1: reading this volume ... */
#define BAD_BLOCK  6 /* ... fails at this (dirty) block */

#define CHECK(cond)                                                                                \
	do {                                                                                       \
		if (!(cond)) {                                                                     \
			fprintf(stderr, "backup: check failed at line %d: %s\n", __LINE__, #cond); \
			exit(1);                                                                   \
		}                                                                                  \
	} while (0)

struct volume {
	unsigned char data[BLOCKS][BLOCK_SIZE];   /* the disk */
	unsigned char target[BLOCKS][BLOCK_SIZE]; /* the backup target */
	uint64_t dirty;  /* live bitmap: blocks written since the last backup */
	uint64_t frozen; /* the set this backup copies */
	bool inject_read_error;
	/* Outcome, written on the dispatcher, read after commit_wait. */
	int ret;
	atomic_uint cancels;
	unsigned copied;
};

static struct volume volumes[VOLUMES];

/* A guest write: new data, and the block is dirty for the next backup. */
static void guest_write(struct volume *v, unsigned block, unsigned char byte)
{
	memset(v->data[block], byte, BLOCK_SIZE);
	v->dirty |= UINT64_C(1) << block;
}

/* The copy job, on a jt-worker thread. */
static int copy_dirty_blocks(jt_job *job, void *arg)
{
	struct volume *v = arg;
	const struct timespec pause = {0, 200 * 1000}; /* a slow disk */

	v->copied = 0;
	for (unsigned b = 0; b < BLOCKS; b++) {
		if (!(v->frozen & (UINT64_C(1) << b)))
			continue;
		if (jt_job_cancelled(job)) /* a sibling failed: stop early */
			return -ECANCELED;
		if (v->inject_read_error && b == BAD_BLOCK)
			return -EIO;
		memcpy(v->target[b], v->data[b], BLOCK_SIZE);
		v->copied++;
		nanosleep(&pause, NULL);
	}
	return 0;
}

/* Freeze the bitmap and start the copy. */
static int vol_prepare(jt_job *job, void *opaque)
{
	struct volume *v = opaque;
	int err;

	v->frozen = v->dirty;
	v->dirty = 0;
	err = jt_job_submit(job, copy_dirty_blocks, v);
	if (err != 0)
		v->dirty |= v->frozen; /* not started: undo the freeze here */
	return err;
}

/* Merge the frozen set back: those blocks still need a backup. */
static void restore_bitmap(struct volume *v)
{
	v->dirty |= v->frozen;
	v->frozen = 0;
}

static void vol_abort(void *opaque)
{
	restore_bitmap(opaque);
}

static void vol_cancel(void *opaque)
{
	struct volume *v = opaque;

	atomic_fetch_add(&v->cancels, 1);
}

static void vol_done(void *opaque, int ret, int status)
{
	struct volume *v = opaque;

	v->ret = ret;
	if (status == 0)
		v->frozen = 0; /* backed up: the bitmap's job is done */
	else
		restore_bitmap(v);
}

static const struct jt_member_ops volume_ops = {
        .prepare = vol_prepare,
        .abort = vol_abort,
        .cancel = vol_cancel,
        .done = vol_done,
};

/* One backup of every volume: one grouped txn; returns its status. */
static int backup_all(jt_runtime *rt)
{
	jt_txn *txn;
	int status = 0, err;

	CHECK(jt_txn_begin(rt, JT_TXN_GROUPED, &txn) == 0);
	for (unsigned i = 0; i < VOLUMES; i++) {
		atomic_store(&volumes[i].cancels, 0);
		CHECK(jt_txn_add(txn, &volume_ops, &volumes[i], NULL) == 0);
	}
	/* Runs every prepare here, then blocks until every member's done
	 * ran on the dispatcher. */
	err = jt_txn_commit_wait(txn, -1, &status);
	CHECK(err == 0);
	return status;
}

int main(void)
{
	struct jt_runtime_opts opts;
	uint64_t before[VOLUMES];
	jt_runtime *rt;
	int status;

	for (unsigned i = 0; i < VOLUMES; i++) {
		for (unsigned b = 0; b < BLOCKS; b++)
			if (b % (i + 2) == 0) /* a different dirty set per volume */
				guest_write(&volumes[i], b, (unsigned char)('a' + i));
		before[i] = volumes[i].dirty;
	}

	jt_runtime_opts_init(&opts);
	opts.workers = 2; /* jt-worker-0, jt-worker-1 run the copy jobs */
	CHECK(jt_runtime_create(&opts, &rt) == 0);

	/* Run 1: volume 1 fails to read a block. */
	volumes[BAD_VOLUME].inject_read_error = true;
	status = backup_all(rt);
	printf("run 1: status %d (%s)\n", status, jt_strerror(status));
	CHECK(status == -EIO); /* the root cause, not the -ECANCELED it caused */
	CHECK(volumes[BAD_VOLUME].ret == -EIO);
	for (unsigned i = 0; i < VOLUMES; i++) {
		struct volume *v = &volumes[i];

		printf("  volume %u: ret %d, %u blocks copied, %u cancel requests\n", i, v->ret,
		       v->copied, atomic_load(&v->cancels));
		CHECK(v->dirty == before[i]); /* every bitmap restored */
		CHECK(v->frozen == 0);
		CHECK(v->ret == 0 || v->ret == -EIO || v->ret == -ECANCELED);
		CHECK(atomic_load(&v->cancels) <= 1); /* at most one per member */
		if (i != BAD_VOLUME)
			CHECK(v->ret != -EIO);
	}
	volumes[BAD_VOLUME].inject_read_error = false;

	/* A guest write between the runs: one more dirty block. */
	guest_write(&volumes[0], 1, 'z');
	before[0] |= UINT64_C(1) << 1;

	/* Run 2: every volume copies its dirty blocks. */
	status = backup_all(rt);
	printf("run 2: status %d (%s)\n", status, jt_strerror(status));
	CHECK(status == 0);
	for (unsigned i = 0; i < VOLUMES; i++) {
		struct volume *v = &volumes[i];

		CHECK(v->ret == 0);
		CHECK(v->dirty == 0 && v->frozen == 0);
		CHECK(v->copied == (unsigned)__builtin_popcountll(before[i]));
		for (unsigned b = 0; b < BLOCKS; b++)
			if (before[i] & (UINT64_C(1) << b))
				CHECK(memcmp(v->target[b], v->data[b], BLOCK_SIZE) == 0);
	}
	CHECK(jt_runtime_destroy(rt) == 0);
	printf("backup: run 1 failed and restored every bitmap, run 2 backed up %u volumes\n",
	       VOLUMES);
	return 0;
}
