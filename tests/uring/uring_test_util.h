/*
 * uring_test_util.h - helpers for the io_uring adapter's Criterion tests:
 * rings that skip the test where io_uring is unavailable, a scratch
 * directory, files and pipes, a member that records its result, and a
 * loop that drives poll-mode rings and runtimes until a txn retired.
 */
#ifndef JT_URING_TEST_UTIL_H
#define JT_URING_TEST_UTIL_H

#include "test_util.h"

#include <fcntl.h>
#include <jobtxn_uring.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stddef.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

/* A ring on rt, or skip the test where the kernel has no io_uring. */
static inline jt_uring *ur_new(jt_runtime *rt, unsigned entries, unsigned flags)
{
	struct jt_uring_opts o;
	jt_uring *u = NULL;
	int r;

	jt_uring_opts_init(&o);
	o.entries = entries;
	o.flags = flags;
	r = jt_uring_create(rt, &o, &u);
	if (r == -ENOSYS || r == -EPERM) {
		jt_runtime_destroy(rt);
		cr_skip_test("io_uring unavailable here (jt_uring_create: %s)", jt_strerror(r));
	}
	cr_assert_eq(r, 0, "jt_uring_create: %d (%s)", r, jt_strerror(r));
	return u;
}

static inline void ur_free(jt_uring *u)
{
	int r = jt_uring_destroy(u);
	cr_assert_eq(r, 0, "jt_uring_destroy: %d (%s)", r, jt_strerror(r));
}

static inline int ur_prep(jt_uring *u, jt_job *j, jt_uring_check_fn *check, void *arg,
                          struct io_uring_sqe **sqe)
{
	int r = jt_uring_prep(u, j, check, arg, sqe);
	cr_assert_eq(r, 0, "jt_uring_prep: %d (%s)", r, jt_strerror(r));
	return r;
}

/* A scratch directory under $TMPDIR (or /tmp), removed by ur_rmdir. */
static inline void ur_mkdir(char *dir, size_t len)
{
	const char *base = getenv("TMPDIR");
	snprintf(dir, len, "%s/jt-uring-test-XXXXXX", base && base[0] ? base : "/tmp");
	cr_assert_not_null(mkdtemp(dir), "mkdtemp: %s", strerror(errno));
}

static inline int ur_open(const char *dir, const char *name, int flags)
{
	char path[512];
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	int fd = open(path, flags | O_CLOEXEC, 0600);
	cr_assert_geq(fd, 0, "open %s: %s", path, strerror(errno));
	return fd;
}

static inline void ur_rmdir(const char *dir, const char *const *names, size_t n)
{
	char path[512];
	for (size_t i = 0; i < n; i++) {
		snprintf(path, sizeof(path), "%s/%s", dir, names[i]);
		unlink(path);
	}
	rmdir(dir);
}

static inline off_t ur_size(int fd)
{
	struct stat st;
	cr_assert_eq(fstat(fd, &st), 0);
	return st.st_size;
}

/* Poll mode: reap and poll until `*flag` is set (a txn's done ran). */
static inline void ur_drive(jt_runtime *rt, jt_uring *u, atomic_int *flag, int64_t timeout_ns)
{
	struct timespec t0, now;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	while (!atomic_load(flag)) {
		if (u != NULL)
			cr_assert_geq(jt_uring_reap(u, 0), 0);
		if (rt != NULL)
			cr_assert_geq(jt_runtime_poll(rt, 0), 0);
		clock_gettime(CLOCK_MONOTONIC, &now);
		int64_t el = (now.tv_sec - t0.tv_sec) * 1000000000LL + (now.tv_nsec - t0.tv_nsec);
		cr_assert_lt(el, timeout_ns, "the txn did not retire in time");
		if (!atomic_load(flag))
			usleep(100);
	}
}

/*
 * Install, on the calling thread only (and the threads it creates from
 * now on), a seccomp filter that makes syscall `nr` fail with `err`;
 * with `only_submit`, only calls whose second argument (io_uring_enter's
 * to_submit) is not 0. The kernel's own refusal, as seen by user space.
 * Returns 0 or -errno (no Criterion assertion: helper threads call it;
 * the test thread passes the result to ur_seccomp_check).
 */
static inline int ur_seccomp_refuse(long nr, int err, bool only_submit)
{
	struct sock_filter submit_filter[] = {
	        BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
	        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, (unsigned)nr, 0, 3),
	        BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, args[1])),
	        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, 0, 1, 0),
	        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | ((unsigned)err & SECCOMP_RET_DATA)),
	        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
	};
	struct sock_filter all_filter[] = {
	        BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
	        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, (unsigned)nr, 0, 1),
	        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | ((unsigned)err & SECCOMP_RET_DATA)),
	        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
	};
	struct sock_fprog prog;
	if (only_submit) {
		prog.len = sizeof(submit_filter) / sizeof(submit_filter[0]);
		prog.filter = submit_filter;
	} else {
		prog.len = sizeof(all_filter) / sizeof(all_filter[0]);
		prog.filter = all_filter;
	}
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0)
		return -errno;
	if (syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &prog) != 0)
		return -errno;
	return 0;
}

/* On the test thread: skip where a helper could not install its filter. */
static inline void ur_seccomp_check(int err)
{
	if (err != 0)
		cr_skip_test("seccomp filters unavailable here: %s", strerror(-err));
}

/* A member that records its result and how often each callback ran. */
struct um {
	struct mem m; /* the generic test member (test_util.h) */
	atomic_int checks;
	int check_res;        /* what check got */
	char check_tname[16]; /* the thread check ran on */
	pthread_t check_thread;
	int expect;          /* check: the expected byte count */
	atomic_int *retired; /* set by the txn's done, when used */
};

/* Add n members x[0..n) to t, each zeroed, tm_init'ed (index i), TM_OPS_NOPREP. */
static inline void um_add_array(jt_txn *t, struct um *x, int n)
{
	for (int i = 0; i < n; i++) {
		memset(&x[i], 0, sizeof(x[i]));
		tm_init(&x[i].m, NULL, "", i);
		tm_add(t, &x[i].m, &TM_OPS_NOPREP);
	}
}

static inline int um_check_len(void *arg, int res)
{
	struct um *x = arg;
	atomic_fetch_add(&x->checks, 1);
	x->check_res = res;
	x->check_thread = pthread_self();
	pthread_getname_np(pthread_self(), x->check_tname, sizeof(x->check_tname));
	if (res < 0)
		return res;
	return res == x->expect ? 0 : -EIO;
}

static inline void ur_flag_done(void *opaque, int status)
{
	struct tctx *c = opaque;
	tctx_done(opaque, status);
	if (c->user)
		atomic_store((atomic_int *)c->user, 1);
}

/* Commit t with a txn done (c, tctx_init'ed) that sets *retired. */
static inline void ur_commit(jt_txn *t, struct tctx *c, atomic_int *retired)
{
	tctx_init(c, NULL, "");
	c->user = retired;
	cr_assert_eq(jt_txn_commit(t, ur_flag_done, c), 0);
}

#endif /* JT_URING_TEST_UTIL_H */
