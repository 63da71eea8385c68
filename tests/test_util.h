/*
 * test_util.h - shared helpers for the jobtxn Criterion tests.
 *
 * struct rec   a thread-safe event log: callbacks append "prepare:0",
 *              "done:A1", "txn_done:A", ... so a test can compare the whole
 *              sequence with one string assertion.
 * struct mem    a test member: logs every callback of struct jt_member_ops,
 *              records what done got, and offers hooks for custom behaviour.
 * struct tctx  a txn's own done: logs "txn_done" (or "txn_done:TAG").
 */
#ifndef JT_TEST_UTIL_H
#define JT_TEST_UTIL_H

#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif

#include <criterion/criterion.h>
#include <errno.h>
#include <jobtxn.h>
#include <poll.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define REC_MAX 16384

/* ------------------------------------------------------------------ */
/* Event recorder                                                      */
/* ------------------------------------------------------------------ */

struct rec {
	pthread_mutex_t mu;
	size_t len;
	unsigned n;
	char buf[REC_MAX];
};

static inline void rec_init(struct rec *r)
{
	pthread_mutex_init(&r->mu, NULL);
	r->len = 0;
	r->n = 0;
	r->buf[0] = '\0';
}

static inline void rec_clear(struct rec *r)
{
	pthread_mutex_lock(&r->mu);
	r->len = 0;
	r->n = 0;
	r->buf[0] = '\0';
	pthread_mutex_unlock(&r->mu);
}

__attribute__((format(printf, 2, 3))) static inline void rec_log(struct rec *r, const char *fmt,
                                                                 ...)
{
	char ev[128];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(ev, sizeof(ev), fmt, ap);
	va_end(ap);
	pthread_mutex_lock(&r->mu);
	size_t need = strlen(ev) + 1;
	if (r->len + need + 1 < REC_MAX) {
		if (r->len)
			r->buf[r->len++] = ' ';
		memcpy(r->buf + r->len, ev, need);
		r->len += need - 1;
	}
	r->n++;
	pthread_mutex_unlock(&r->mu);
}

/* Copy the log (space-separated events) into out (REC_MAX bytes). */
static inline void rec_copy(struct rec *r, char *out)
{
	pthread_mutex_lock(&r->mu);
	memcpy(out, r->buf, r->len + 1);
	pthread_mutex_unlock(&r->mu);
}

static inline unsigned rec_count(struct rec *r)
{
	pthread_mutex_lock(&r->mu);
	unsigned n = r->n;
	pthread_mutex_unlock(&r->mu);
	return n;
}

/* How many times the exact event `ev` occurs in the log. */
static inline int rec_occurrences(struct rec *r, const char *ev)
{
	char buf[REC_MAX];
	int n = 0;

	rec_copy(r, buf);
	for (char *save = NULL, *tok = strtok_r(buf, " ", &save); tok;
	     tok = strtok_r(NULL, " ", &save))
		if (strcmp(tok, ev) == 0)
			n++;
	return n;
}

/* Index (in events) of the first occurrence of `ev`, -1 if absent. */
static inline int rec_index(struct rec *r, const char *ev)
{
	char buf[REC_MAX];
	int i = 0;

	rec_copy(r, buf);
	for (char *save = NULL, *tok = strtok_r(buf, " ", &save); tok;
	     tok = strtok_r(NULL, " ", &save), i++)
		if (strcmp(tok, ev) == 0)
			return i;
	return -1;
}

#define REC_EQ(r, expected)                                                                        \
	do {                                                                                       \
		char rec_eq_buf_[REC_MAX];                                                         \
		rec_copy((r), rec_eq_buf_);                                                        \
		cr_assert_str_eq(rec_eq_buf_, (expected),                                          \
		                 "event log:\n  got:      %s\n  expected: %s", rec_eq_buf_,        \
		                 (expected));                                                      \
	} while (0)

/* ------------------------------------------------------------------ */
/* Test member                                                         */
/* ------------------------------------------------------------------ */

struct mem {
	struct rec *rec;
	const char *tag; /* prefix in event names: "done:<tag><idx>" */
	int idx;
	int prepare_ret;        /* what prepare returns */
	bool arm_in_prepare;    /* prepare arms the job */
	bool arm_in_commit;     /* commit arms the job */
	int complete_on_cancel; /* != 0: cancel completes the job with it */
	jt_job *job;
	atomic_int n_prepare, n_commit, n_abort, n_clean, n_cancel, n_done, n_destroy;
	int done_ret, done_status;
	pthread_t done_thread;
	pthread_t cancel_thread;
	char done_tname[16];   /* name of the thread that ran done */
	char cancel_tname[16]; /* name of the thread that ran cancel */
	atomic_int cb_err;     /* a library call inside a callback failed */
	void (*on_prepare)(struct mem *m, jt_job *job);
	void (*on_cancel)(struct mem *m);
	void (*on_done)(struct mem *m);
	void *user;
};

static inline void tm_init(struct mem *m, struct rec *r, const char *tag, int idx)
{
	memset(m, 0, sizeof(*m));
	m->rec = r;
	m->tag = tag ? tag : "";
	m->idx = idx;
	atomic_init(&m->n_prepare, 0);
	atomic_init(&m->n_commit, 0);
	atomic_init(&m->n_abort, 0);
	atomic_init(&m->n_clean, 0);
	atomic_init(&m->n_cancel, 0);
	atomic_init(&m->n_done, 0);
	atomic_init(&m->n_destroy, 0);
	atomic_init(&m->cb_err, 0);
}

static inline void tm_init_array(struct mem *m, size_t n, struct rec *r, const char *tag)
{
	for (size_t i = 0; i < n; i++)
		tm_init(&m[i], r, tag, (int)i);
}

static inline int tm_prepare(jt_job *job, void *opaque)
{
	struct mem *m = opaque;
	atomic_fetch_add(&m->n_prepare, 1);
	if (m->rec)
		rec_log(m->rec, "prepare:%s%d", m->tag, m->idx);
	m->job = job;
	if (m->arm_in_prepare)
		cr_assert_eq(jt_job_arm(job), 0, "arm inside prepare");
	if (m->on_prepare)
		m->on_prepare(m, job);
	return m->prepare_ret;
}

static inline void tm_commit(void *opaque)
{
	struct mem *m = opaque;
	atomic_fetch_add(&m->n_commit, 1);
	if (m->rec)
		rec_log(m->rec, "commit:%s%d", m->tag, m->idx);
	if (m->arm_in_commit)
		cr_assert_eq(jt_job_arm(m->job), 0, "arm inside commit");
}

static inline void tm_abort(void *opaque)
{
	struct mem *m = opaque;
	atomic_fetch_add(&m->n_abort, 1);
	if (m->rec)
		rec_log(m->rec, "abort:%s%d", m->tag, m->idx);
}

static inline void tm_clean(void *opaque)
{
	struct mem *m = opaque;
	atomic_fetch_add(&m->n_clean, 1);
	if (m->rec)
		rec_log(m->rec, "clean:%s%d", m->tag, m->idx);
}

static inline void tm_cancel(void *opaque)
{
	struct mem *m = opaque;
	atomic_fetch_add(&m->n_cancel, 1);
	m->cancel_thread = pthread_self();
	pthread_getname_np(pthread_self(), m->cancel_tname, sizeof(m->cancel_tname));
	if (m->rec)
		rec_log(m->rec, "cancel:%s%d", m->tag, m->idx);
	if (m->on_cancel)
		m->on_cancel(m);
	/* may run on the dispatcher thread: record, the test asserts */
	if (m->complete_on_cancel && jt_job_complete(m->job, m->complete_on_cancel) != 0)
		atomic_store(&m->cb_err, 1);
}

static inline void tm_done(void *opaque, int ret, int status)
{
	struct mem *m = opaque;
	atomic_fetch_add(&m->n_done, 1);
	m->done_ret = ret;
	m->done_status = status;
	m->done_thread = pthread_self();
	pthread_getname_np(pthread_self(), m->done_tname, sizeof(m->done_tname));
	if (m->rec)
		rec_log(m->rec, "done:%s%d", m->tag, m->idx);
	if (m->on_done)
		m->on_done(m);
}

static inline void tm_destroy(void *opaque)
{
	struct mem *m = opaque;
	atomic_fetch_add(&m->n_destroy, 1);
	if (m->rec)
		rec_log(m->rec, "destroy:%s%d", m->tag, m->idx);
}

static const struct jt_member_ops TM_OPS = {
        .prepare = tm_prepare,
        .commit = tm_commit,
        .abort = tm_abort,
        .clean = tm_clean,
        .cancel = tm_cancel,
        .done = tm_done,
        .destroy = tm_destroy,
};

/* Same, but without prepare: such a member counts as prepared. */
static const struct jt_member_ops TM_OPS_NOPREP = {
        .commit = tm_commit,
        .abort = tm_abort,
        .clean = tm_clean,
        .cancel = tm_cancel,
        .done = tm_done,
        .destroy = tm_destroy,
};

/* Add member m with ops (TM_OPS when NULL); m->job gets the handle. */
static inline void tm_add(jt_txn *t, struct mem *m, const struct jt_member_ops *ops)
{
	int r = jt_txn_add(t, ops ? ops : &TM_OPS, m, &m->job);
	cr_assert_eq(r, 0, "jt_txn_add: %d", r);
	cr_assert_not_null(m->job);
}

static inline void tm_add_array(jt_txn *t, struct mem *m, size_t n, const struct jt_member_ops *ops)
{
	for (size_t i = 0; i < n; i++)
		tm_add(t, &m[i], ops);
}

static inline void tm_arm(struct mem *m)
{
	int r = jt_job_arm(m->job);
	cr_assert_eq(r, 0, "jt_job_arm(member %d): %d", m->idx, r);
}

static inline void tm_complete(struct mem *m, int ret)
{
	int r = jt_job_complete(m->job, ret);
	cr_assert_eq(r, 0, "jt_job_complete(member %d): %d", m->idx, r);
}

/* ------------------------------------------------------------------ */
/* Txn context (the txn's own done)                                    */
/* ------------------------------------------------------------------ */

struct tctx {
	struct rec *rec;
	const char *tag;
	int status;
	atomic_int n_done;
	pthread_t thread;
	void (*on_done)(struct tctx *c);
	void *user;
};

static inline void tctx_init(struct tctx *c, struct rec *r, const char *tag)
{
	memset(c, 0, sizeof(*c));
	c->rec = r;
	c->tag = tag;
	c->status = 0x7fffffff;
	atomic_init(&c->n_done, 0);
}

static inline void tctx_done(void *opaque, int status)
{
	struct tctx *c = opaque;
	c->status = status;
	c->thread = pthread_self();
	atomic_fetch_add(&c->n_done, 1);
	if (c->rec) {
		if (c->tag && c->tag[0])
			rec_log(c->rec, "txn_done:%s", c->tag);
		else
			rec_log(c->rec, "txn_done");
	}
	if (c->on_done)
		c->on_done(c);
}

/* ------------------------------------------------------------------ */
/* Runtime helpers                                                     */
/* ------------------------------------------------------------------ */

static inline jt_runtime *rt_new(unsigned flags, unsigned workers, size_t max_inflight)
{
	struct jt_runtime_opts o;
	jt_runtime *rt = NULL;

	jt_runtime_opts_init(&o);
	o.flags = flags;
	o.workers = workers;
	o.max_inflight = max_inflight;
	int r = jt_runtime_create(&o, &rt);
	cr_assert_eq(r, 0, "jt_runtime_create: %d (%s)", r, jt_strerror(r));
	cr_assert_not_null(rt);
	return rt;
}

static inline jt_runtime *rt_poll_new(void)
{
	return rt_new(JT_RUNTIME_POLL, 0, 0);
}

static inline void rt_free(jt_runtime *rt)
{
	int r = jt_runtime_destroy(rt);
	cr_assert_eq(r, 0, "jt_runtime_destroy: %d (%s)", r, jt_strerror(r));
}

static inline jt_txn *txn_new(jt_runtime *rt, unsigned flags)
{
	jt_txn *t = NULL;
	int r = jt_txn_begin(rt, flags, &t);
	cr_assert_eq(r, 0, "jt_txn_begin: %d (%s)", r, jt_strerror(r));
	cr_assert_not_null(t);
	return t;
}

static inline int count_cb_(const struct jt_txn_info *i, void *arg)
{
	(void)i;
	(*(int *)arg)++;
	return 0;
}

/* Number of live txns, checked against foreach's return value. */
static inline int live_txns(jt_runtime *rt)
{
	int n = 0;
	int r = jt_runtime_foreach_txn(rt, count_cb_, &n);
	cr_assert_eq(r, n, "foreach returned %d, visited %d", r, n);
	return n;
}

static inline int first_info_cb_(const struct jt_txn_info *i, void *arg)
{
	*(struct jt_txn_info *)arg = *i;
	return 1;
}

/* Snapshot of the (only / first) live txn; returns false if none. */
static inline bool first_txn_info(jt_runtime *rt, struct jt_txn_info *out)
{
	memset(out, 0, sizeof(*out));
	out->state = -1;
	int r = jt_runtime_foreach_txn(rt, first_info_cb_, out);
	cr_assert(r == 0 || r == 1, "foreach returned %d", r);
	return r == 1;
}

static inline bool fd_readable(int fd)
{
	struct pollfd p = {.fd = fd, .events = POLLIN};
	int r = poll(&p, 1, 0);
	cr_assert_geq(r, 0);
	return r == 1 && (p.revents & POLLIN);
}

static inline bool fd_wait_readable(int fd, int timeout_ms)
{
	struct pollfd p = {.fd = fd, .events = POLLIN};
	int r = poll(&p, 1, timeout_ms);
	cr_assert_geq(r, 0);
	return r == 1 && (p.revents & POLLIN);
}

static inline void sleep_ms(long ms)
{
	struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000L};
	while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
	}
}

static inline uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* Wait (bounded: 20 s) until *v >= want; true on success. */
static inline bool wait_atomic_geq(atomic_int *v, int want)
{
	uint64_t end = now_ns() + 20ull * 1000000000ull;
	while (atomic_load(v) < want) {
		if (now_ns() > end)
			return false;
		sleep_ms(1);
	}
	return true;
}

static inline void thread_name(char out[16])
{
	out[0] = '\0';
	cr_assert_eq(pthread_getname_np(pthread_self(), out, 16), 0);
}

#define MS(x)  ((int64_t)(x)*1000000LL)
#define SEC(x) ((int64_t)(x)*1000000000LL)

#endif /* JT_TEST_UTIL_H */
