/*
 * io_uring operations as jobs: writes and reads checked byte for byte (the
 * kernel's writes visible to the txn's callbacks, rule 5), `check`, the
 * default result mapping, fsync as a job, linked SQEs (each its own job).
 */
#include "uring_test_util.h"

TestSuite(uring_io, .timeout = 60);

enum { NBLK = 8, BLK = 4096 };

static unsigned char pattern(int blk, int k)
{
	return (unsigned char)(blk * 31 + k * 7 + 1);
}

struct rd {
	struct um x;
	unsigned char buf[BLK];
	int blk;
	atomic_int mismatches; /* counted in done, on the dispatcher */
};

static void rd_on_done(struct mem *m)
{
	struct rd *r = (struct rd *)m;
	int bad = 0;
	for (int k = 0; k < BLK; k++)
		bad += r->buf[k] != pattern(r->blk, k);
	atomic_store(&r->mismatches, bad);
}

/* Write NBLK blocks, then read them back; done checks the read buffers. */
static void write_read_back(unsigned rt_flags, unsigned ring_flags)
{
	static unsigned char wbuf[NBLK][BLK];
	static struct rd rds[NBLK];
	static struct um ws[NBLK];
	char dir[256];
	const char *names[] = {"data"};
	struct io_uring_sqe *sqe;
	struct tctx c1, c2;
	atomic_int retired1 = 0, retired2 = 0;
	bool poll = ring_flags & JT_URING_POLL;

	ur_mkdir(dir, sizeof(dir));
	int fd = ur_open(dir, "data", O_RDWR | O_CREAT);
	jt_runtime *rt = rt_new(rt_flags, 0, 0);
	jt_uring *u = ur_new(rt, 64, ring_flags);

	/* Writes, one job each. */
	jt_txn *t = txn_new(rt, JT_TXN_GROUPED);
	for (int i = 0; i < NBLK; i++) {
		memset(&ws[i], 0, sizeof(ws[i]));
		tm_init(&ws[i].m, NULL, "w", i);
		ws[i].expect = BLK;
		tm_add(t, &ws[i].m, &TM_OPS_NOPREP);
		for (int k = 0; k < BLK; k++)
			wbuf[i][k] = pattern(i, k);
		ur_prep(u, ws[i].m.job, um_check_len, &ws[i], &sqe);
		io_uring_prep_write(sqe, fd, wbuf[i], BLK, (uint64_t)i * BLK);
	}
	cr_assert_eq(jt_uring_submit(u), NBLK);
	ur_commit(t, &c1, &retired1);
	if (poll)
		ur_drive(rt, u, &retired1, SEC(20));
	else
		cr_assert_eq(jt_runtime_drain(rt, SEC(20)), 0);
	cr_assert_eq(c1.status, 0, "write txn status %d", c1.status);
	for (int i = 0; i < NBLK; i++) {
		cr_assert_eq(ws[i].m.done_ret, 0);
		cr_assert_eq(ws[i].check_res, BLK);
		cr_assert_eq(atomic_load(&ws[i].checks), 1);
		if (poll)
			cr_assert(pthread_equal(ws[i].check_thread, pthread_self()),
			          "poll mode: check not on the reaping thread");
		else
			cr_assert_str_eq(ws[i].check_tname, "jt-uring");
	}
	/* What the kernel wrote, byte for byte. */
	cr_assert_eq(ur_size(fd), NBLK * BLK);
	for (int i = 0; i < NBLK; i++) {
		unsigned char got[BLK];
		cr_assert_eq(pread(fd, got, BLK, (off_t)i * BLK), BLK);
		cr_assert_eq(memcmp(got, wbuf[i], BLK), 0, "block %d differs on disk", i);
	}

	/* Reads; every member's done (dispatcher) compares its buffer. */
	t = txn_new(rt, JT_TXN_GROUPED);
	for (int i = 0; i < NBLK; i++) {
		memset(&rds[i], 0, sizeof(rds[i]));
		tm_init(&rds[i].x.m, NULL, "r", i);
		rds[i].x.m.on_done = rd_on_done;
		rds[i].x.expect = BLK;
		rds[i].blk = NBLK - 1 - i;
		atomic_store(&rds[i].mismatches, -1);
		tm_add(t, &rds[i].x.m, &TM_OPS_NOPREP);
		ur_prep(u, rds[i].x.m.job, um_check_len, &rds[i].x, &sqe);
		io_uring_prep_read(sqe, fd, rds[i].buf, BLK, (uint64_t)rds[i].blk * BLK);
	}
	cr_assert_eq(jt_uring_submit(u), NBLK);
	ur_commit(t, &c2, &retired2);
	if (poll)
		ur_drive(rt, u, &retired2, SEC(20));
	else
		cr_assert_eq(jt_runtime_drain(rt, SEC(20)), 0);
	cr_assert_eq(c2.status, 0);
	for (int i = 0; i < NBLK; i++) {
		cr_assert_eq(rds[i].x.m.done_ret, 0);
		cr_assert_eq(atomic_load(&rds[i].mismatches), 0, "read %d: %d bytes differ in done",
		             i, atomic_load(&rds[i].mismatches));
	}
	struct jt_stats st;
	jt_runtime_stats(rt, &st);
	cr_assert_eq(st.misuse, 0, "a job was completed twice");
	ur_free(u);
	rt_free(rt);
	close(fd);
	ur_rmdir(dir, names, 1);
}

Test(uring_io, threaded_writes_and_reads_byte_for_byte)
{
	write_read_back(0, 0);
}

Test(uring_io, poll_mode_writes_and_reads_byte_for_byte)
{
	write_read_back(JT_RUNTIME_POLL, JT_URING_POLL);
}

Test(uring_io, threaded_ring_on_a_poll_runtime)
{
	write_read_back(JT_RUNTIME_POLL, 0);
}

/* One job of a one-member txn; returns the txn's status. */
static int one_job(jt_runtime *rt, jt_uring *u, struct um *x, jt_uring_check_fn *check,
                   void (*fill)(struct io_uring_sqe *sqe, void *arg), void *arg)
{
	struct io_uring_sqe *sqe;
	int st = 1;
	jt_txn *t = txn_new(rt, 0);
	tm_add(t, &x->m, &TM_OPS_NOPREP);
	ur_prep(u, x->m.job, check, x, &sqe);
	fill(sqe, arg);
	cr_assert_eq(jt_uring_submit(u), 1);
	cr_assert_eq(jt_txn_commit_wait(t, SEC(20), &st), 0);
	return st;
}

struct rd_args {
	int fd;
	void *buf;
	unsigned len;
};

static void fill_read(struct io_uring_sqe *sqe, void *arg)
{
	struct rd_args *a = arg;
	io_uring_prep_read(sqe, a->fd, a->buf, a->len, 0);
}

static void fill_fsync(struct io_uring_sqe *sqe, void *arg)
{
	io_uring_prep_fsync(sqe, *(int *)arg, 0);
}

Test(uring_io, check_maps_a_short_read_to_eio)
{
	static unsigned char buf[4096];
	char dir[256], content[100];
	const char *names[] = {"short"};
	struct um x;

	ur_mkdir(dir, sizeof(dir));
	int fd = ur_open(dir, "short", O_RDWR | O_CREAT);
	memset(content, 'x', sizeof(content));
	cr_assert_eq(write(fd, content, sizeof(content)), (ssize_t)sizeof(content));
	jt_runtime *rt = rt_new(0, 0, 0);
	jt_uring *u = ur_new(rt, 0, 0);

	memset(&x, 0, sizeof(x));
	tm_init(&x.m, NULL, "", 0);
	x.expect = sizeof(buf);
	struct rd_args a = {fd, buf, sizeof(buf)};
	cr_assert_eq(one_job(rt, u, &x, um_check_len, fill_read, &a), -EIO);
	cr_assert_eq(x.check_res, 100, "check got res %d", x.check_res);
	cr_assert_eq(x.m.done_ret, -EIO);
	cr_assert_eq(memcmp(buf, content, sizeof(content)), 0);

	/* The same read with the length it can have: check says 0. */
	memset(&x, 0, sizeof(x));
	tm_init(&x.m, NULL, "", 1);
	x.expect = 100;
	cr_assert_eq(one_job(rt, u, &x, um_check_len, fill_read, &a), 0);
	cr_assert_eq(x.m.done_ret, 0);
	ur_free(u);
	rt_free(rt);
	close(fd);
	ur_rmdir(dir, names, 1);
}

Test(uring_io, without_check_a_negative_res_is_the_result_and_a_count_is_zero)
{
	static unsigned char buf[64];
	struct um x;
	int p[2];

	cr_assert_eq(pipe(p), 0);
	cr_assert_eq(write(p[1], "hello", 5), 5);
	jt_runtime *rt = rt_new(0, 0, 0);
	jt_uring *u = ur_new(rt, 0, 0);
	memset(&x, 0, sizeof(x));
	tm_init(&x.m, NULL, "", 0);
	struct rd_args ok = {p[0], buf, sizeof(buf)};
	cr_assert_eq(one_job(rt, u, &x, NULL, fill_read, &ok), 0);
	cr_assert_eq(x.m.done_ret, 0, "a read of 5 bytes is 0, got %d", x.m.done_ret);
	cr_assert_eq(memcmp(buf, "hello", 5), 0);

	memset(&x, 0, sizeof(x));
	tm_init(&x.m, NULL, "", 1);
	struct rd_args bad = {9999, buf, sizeof(buf)};
	cr_assert_eq(one_job(rt, u, &x, NULL, fill_read, &bad), -EBADF);
	cr_assert_eq(x.m.done_ret, -EBADF);
	ur_free(u);
	rt_free(rt);
	close(p[0]);
	close(p[1]);
}

Test(uring_io, fsync_is_a_job_with_the_kernels_result)
{
	char dir[256];
	const char *names[] = {"f"};
	struct um x;
	int p[2];

	ur_mkdir(dir, sizeof(dir));
	int fd = ur_open(dir, "f", O_RDWR | O_CREAT);
	cr_assert_eq(write(fd, "data", 4), 4);
	cr_assert_eq(pipe(p), 0);
	jt_runtime *rt = rt_new(0, 0, 0);
	jt_uring *u = ur_new(rt, 0, 0);
	memset(&x, 0, sizeof(x));
	tm_init(&x.m, NULL, "", 0);
	cr_assert_eq(one_job(rt, u, &x, NULL, fill_fsync, &fd), 0);
	cr_assert_eq(x.m.done_ret, 0);
	/* fsync of a pipe: the kernel says -EINVAL, and so does the job. */
	memset(&x, 0, sizeof(x));
	tm_init(&x.m, NULL, "", 1);
	cr_assert_eq(one_job(rt, u, &x, NULL, fill_fsync, &p[1]), -EINVAL);
	cr_assert_eq(x.m.done_ret, -EINVAL);
	ur_free(u);
	rt_free(rt);
	close(fd);
	close(p[0]);
	close(p[1]);
	ur_rmdir(dir, names, 1);
}

/*
 * A chain write -> fsync -> read: three jobs, in order, each with its own
 * result; a chain whose head fails: the kernel fails the rest with
 * -ECANCELED, each job its own result, the status names the head's error.
 */
Test(uring_io, linked_sqes_are_one_job_each)
{
	static unsigned char wbuf[512], rbuf[512];
	char dir[256];
	const char *names[] = {"chain"};
	struct um x[3];
	struct io_uring_sqe *sqe;
	int st = 1;

	ur_mkdir(dir, sizeof(dir));
	int fd = ur_open(dir, "chain", O_RDWR | O_CREAT);
	jt_runtime *rt = rt_new(0, 0, 0);
	jt_uring *u = ur_new(rt, 0, 0);
	for (int k = 0; k < 512; k++)
		wbuf[k] = (unsigned char)(k ^ 0x5a);

	jt_txn *t = txn_new(rt, 0);
	for (int i = 0; i < 3; i++) {
		memset(&x[i], 0, sizeof(x[i]));
		tm_init(&x[i].m, NULL, "", i);
		x[i].expect = 512;
		tm_add(t, &x[i].m, &TM_OPS_NOPREP);
	}
	ur_prep(u, x[0].m.job, um_check_len, &x[0], &sqe);
	io_uring_prep_write(sqe, fd, wbuf, 512, 0);
	sqe->flags |= IOSQE_IO_LINK;
	ur_prep(u, x[1].m.job, NULL, NULL, &sqe);
	io_uring_prep_fsync(sqe, fd, 0);
	sqe->flags |= IOSQE_IO_LINK;
	ur_prep(u, x[2].m.job, um_check_len, &x[2], &sqe);
	io_uring_prep_read(sqe, fd, rbuf, 512, 0);
	cr_assert_eq(jt_uring_submit(u), 3);
	cr_assert_eq(jt_txn_commit_wait(t, SEC(20), &st), 0);
	cr_assert_eq(st, 0);
	for (int i = 0; i < 3; i++)
		cr_assert_eq(x[i].m.done_ret, 0, "job %d: %d", i, x[i].m.done_ret);
	cr_assert_eq(memcmp(rbuf, wbuf, 512), 0, "the linked read ran before the write");

	/* Head fails: the linked rest is cancelled by the kernel. */
	t = txn_new(rt, 0);
	um_add_array(t, x, 3);
	ur_prep(u, x[0].m.job, NULL, NULL, &sqe);
	io_uring_prep_read(sqe, 9999, rbuf, 512, 0);
	sqe->flags |= IOSQE_IO_LINK;
	ur_prep(u, x[1].m.job, NULL, NULL, &sqe);
	io_uring_prep_nop(sqe);
	sqe->flags |= IOSQE_IO_LINK;
	ur_prep(u, x[2].m.job, NULL, NULL, &sqe);
	io_uring_prep_nop(sqe);
	cr_assert_eq(jt_uring_submit(u), 3);
	cr_assert_eq(jt_txn_commit_wait(t, SEC(20), &st), 0);
	cr_assert_eq(st, -EBADF, "status %d", st);
	cr_assert_eq(x[0].m.done_ret, -EBADF);
	cr_assert_eq(x[1].m.done_ret, -ECANCELED);
	cr_assert_eq(x[2].m.done_ret, -ECANCELED);
	ur_free(u);
	rt_free(rt);
	close(fd);
	ur_rmdir(dir, names, 1);
}
