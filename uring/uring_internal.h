/*
 * uring_internal.h - the objects behind jt_uring: the ring and its
 * operations (struct uring_op), shared by the files of uring/.
 *
 * Files, each with one role, in the order they call (a file calls only
 * files after it; tests/docs/check_call_dag.sh checks it):
 *   prep.c       prepare: jt_uring_prep stages an SQE and arms its job
 *                with the ring's cancel hook (lifecycle.c);
 *   lifecycle.c  the ring's life: create, destroy, the reaper thread's
 *                start and stop, and the cancel hook, whose safety when
 *                it runs late is a matter of the ring's and the records'
 *                lifetimes;
 *   reap.c       reap: the CQ side (CQEs to job completions, the reaper's
 *                loop, jt_uring_reap);
 *   submit.c     submit: the SQ side (the lock and its flush requests,
 *                copying staged SQEs, io_uring_enter, what the kernel
 *                took);
 *   cancel.c     cancel: the io_uring cancel protocol, whole (its bits in
 *                uring_op.st, the NOPs, the ASYNC_CANCELs and their
 *                retries), called by the three above at its steps;
 *   op_pool.c    the operation records: pool and references.
 *
 * An operation record (struct uring_op) lives from jt_uring_prep until its
 * last reference is dropped; then it goes back to the ring's pool, never
 * to the allocator before the ring's memory is freed (type-stable memory,
 * as with SLAB_TYPESAFE_BY_RCU). References: one for the completion (the
 * reaper drops it after completing the job), one while the SQE is on its
 * way to the kernel (dropped once the kernel took it), one per queued
 * cancel (dropped at the cancel's CQE, or when the cancel is found
 * useless), one held by a running cancel hook. The hook finds its record
 * through the arg it was armed with, takes a reference only if the count
 * is not zero, and then checks that the record still belongs to its job:
 * a record reused by another job (the hook ran late, after the operation
 * completed) is left alone. A reference also keeps the record's address
 * from being reused as another operation's user_data while a cancel by
 * that user_data may still reach the kernel.
 *
 * user_data: the record's address with a tag in its low bits (enum
 * ud_tag), or UD_WAKE for the reaper's multishot poll on its wake-up
 * eventfd (reap.c).
 */
#ifndef JT_URING_INTERNAL_H
#define JT_URING_INTERNAL_H

#include <liburing.h>
#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "atomics/atomic_ops.h"
#include "atomics/futex_lock.h"
#include "jobtxn_uring.h"

#define URING_DEFAULT_ENTRIES 256u
#define URING_MAX_ENTRIES     16384u /* twice that is the kernel's maximum */

/* uring_op.st: one read-modify-write moves each bit (cancel.c, which
 * alone moves them; jt_uring_prep resets the word). */
enum {
	OP_SUBMITTED = 0x1u, /* the kernel took the SQE */
	OP_WANTED = 0x2u,    /* the txn is failing: cancel it */
	OP_QUEUED = 0x4u,    /* its ASYNC_CANCEL was queued (once) */
	OP_NOPIFIED = 0x8u,  /* it went to the kernel as a NOP */
	OP_DONE = 0x10u,     /* its CQE was reaped, its job completed */
	OP_SENT = 0x20u,     /* its cancel went to the SQ (the last time: release) */
};

struct uring_op {
	struct io_uring_sqe sqe; /* staged: the caller fills it */
	/* Written by jt_uring_prep before refs is published (release). */
	jt_job *job;
	jt_uring_check_fn *check;
	void *check_arg;
	pthread_t owner; /* the preparing thread */
	struct jt_uring *u;
	struct uring_op *next;        /* staged list, free list, returned stack */
	struct uring_op *cancel_next; /* pending-cancel stack and backlog */
	struct uring_op *all_next;    /* every record of the ring (destroy) */
	/* Reaper only: a CQE with IORING_CQE_F_MORE came first. */
	int more_res;
	bool has_more_res;
	/* The cancel's tries (the reaper counts; the lock holder reads) and
	 * the delay of the next (written by the lock holder, read by the
	 * kernel): cancel.c. */
	_Atomic uint32_t cancel_tries;
	struct __kernel_timespec retry_ts;
	_Atomic uint32_t st;
	_Atomic uint32_t refs;
};

struct jt_uring {
	struct io_uring ring;
	jt_runtime *rt;
	jt_txn *barrier; /* begun at create; its done frees this (lifecycle.c) */
	unsigned flags;
	unsigned entries;  /* the caller's submission queue */
	unsigned sq_slots; /* the kernel's SQ: >= 2 * entries */
	int efd;           /* poll mode: the CQ's eventfd; else -1 */
	int wake_fd;       /* threaded mode: wakes the reaper (reap.c); else -1 */
	bool ext_arg;      /* IORING_FEAT_EXT_ARG: timed waits need no SQE */
	bool reaper_started;
	pthread_t reaper;
	size_t alloc_size;

	/* Submission side: under `lock` (its try and release are seq_cst:
	 * flush requests, submit.c). */
	struct jt_futex_lock lock;
	struct uring_op *staged_head, *staged_tail;
	unsigned staged;     /* on the staged list */
	unsigned user_in_sq; /* caller SQEs written to the SQ, not yet taken */
	unsigned sq_seen;    /* the kernel's SQ head when last accounted */
	bool closing;        /* jt_uring_destroy began: no more prep */
	struct uring_op *free_list;
	struct uring_op *cancel_backlog; /* cancels waiting for an SQ slot (cancel.c) */
	struct uring_op *all_ops;

	/* Any thread, lock-free. */
	_Atomic(struct uring_op *) returned; /* records whose last ref went */
	_Atomic(struct uring_op *) cancels;  /* cancels to queue (cancel.c) */
	_Atomic uint32_t flush_wanted;       /* submit.c, uring_request_flush */
	_Atomic uint32_t backlog;            /* the SQ or the backlog holds work */
	_Atomic uint64_t incomplete_ops;     /* prepared ops whose job is not complete */
	_Atomic uint32_t hooks_active;       /* cancel hooks running (lifecycle.c) */
	_Atomic uint32_t closed;             /* the ring is gone: hooks do nothing */
	_Atomic uint32_t stop;               /* the reaper exits once incomplete_ops is 0 */
	_Atomic uint32_t reaping;            /* a thread is inside the CQ side */
	_Atomic uint32_t wake_armed;         /* the reaper's poll on wake_fd is armed */

	/* Per kernel SQ slot: the tagged record whose SQE it holds. */
	uintptr_t sq_owner[];
};

/*
 * user_data tags: the low bits of a record's address (the static assert
 * below), exact values, tested with ud_tag() == ..., never as bit masks.
 */
enum ud_tag {
	UD_OP = 0,     /* the operation's own SQE */
	UD_CANCEL = 1, /* its IORING_OP_ASYNC_CANCEL (cancel.c) */
	UD_NOP = 2,    /* its SQE, sent as a NOP: it never reached the kernel */
	UD_TIMER = 3,  /* the delay before a retried cancel (cancel.c) */
	UD_TAG_MASK = 3,
};
#define UD_WAKE ((uint64_t)0) /* the reaper's poll on wake_fd: no record */

/* Records come from the runtime's allocator, aligned as malloc's are (at
 * least _Alignof(max_align_t)); their type's alignment is no larger. */
_Static_assert(_Alignof(struct uring_op) > UD_TAG_MASK, "the tags live in a record's low bits");
_Static_assert(_Alignof(max_align_t) >= _Alignof(struct uring_op),
               "the allocator aligns records for their type");

static inline uint64_t ud_make(const struct uring_op *op, enum ud_tag tag)
{
	return (uint64_t)(uintptr_t)op | (uint64_t)tag;
}

static inline enum ud_tag ud_tag(uint64_t ud)
{
	return (enum ud_tag)(ud & UD_TAG_MASK);
}

static inline struct uring_op *ud_op(uint64_t ud)
{
	return (struct uring_op *)(uintptr_t)(ud & ~(uint64_t)UD_TAG_MASK);
}

/*
 * The kernel's SQ, under `lock`: slot geometry only (no protocol; the
 * callers are submit.c and cancel.c).
 */

/* Take the next SQ slot; the caller has checked there is one (submit.c's
 * file comment: slots). */
static inline struct io_uring_sqe *sq_next(struct jt_uring *u)
{
	return io_uring_get_sqe(&u->ring);
}

/* Record whose SQE a slot holds, and the SQE's user_data: the same. */
static inline void sq_own(struct jt_uring *u, struct io_uring_sqe *sqe, uint64_t ud)
{
	sqe->user_data = ud;
	u->sq_owner[sqe - u->ring.sq.sqes] = (uintptr_t)ud;
}

/* Free SQ slots beyond the `entries` that caller SQEs may take. */
static inline unsigned sq_cancel_room(struct jt_uring *u)
{
	unsigned others = io_uring_sq_ready(&u->ring) - u->user_in_sq;
	unsigned room = u->sq_slots - u->entries;

	return room > others ? room - others : 0;
}

/* prep.c: jt_uring_prep (public). */

/* lifecycle.c */
void uring_cancel_hook(jt_job *j, void *arg); /* the core's, on the dispatcher */

/* reap.c */
void *uring_reaper_main(void *arg);
/* Become the CQ's one consumer (-EBUSY, or wait for it); *prev restored by end. */
int uring_reap_begin(struct jt_uring *u, bool wait, const struct jt_uring **prev);
void uring_reap_end(struct jt_uring *u, const struct jt_uring *prev);
unsigned uring_reap_cqes(struct jt_uring *u, unsigned max); /* between begin and end */
void uring_wait_cqe(struct jt_uring *u);

/* submit.c */
bool uring_reaping_here(const struct jt_uring *u); /* this thread consumes u's CQ */
const struct jt_uring *uring_reaping_swap(const struct jt_uring *u); /* reap.c; returns the old */
void uring_lock(struct jt_uring *u);
void uring_unlock(struct jt_uring *u); /* serves flush requests */
void uring_request_flush(struct jt_uring *u);
bool uring_has_backlog(struct jt_uring *u);
void uring_wake_reaper(struct jt_uring *u);

/* cancel.c: the steps of the cancel protocol, each named by its caller. */
bool uring_cancel_wanted(struct uring_op *op);                 /* the hook: true: flush */
void uring_cancel_taken(struct uring_op *op, enum ud_tag tag); /* the kernel took it */
void uring_cancel_write(struct jt_uring *u);      /* under lock: queued cancels to the SQ */
void uring_cancel_nopify(struct jt_uring *u);     /* under lock: before io_uring_enter */
bool uring_cancel_writable(struct jt_uring *u);   /* under lock: a write would add SQEs */
bool uring_cancel_backlogged(struct jt_uring *u); /* under lock: cancels wait for room */
bool uring_cancel_queued(struct jt_uring *u);     /* any thread: cancels wait for a flush */
void uring_cancel_cqe(struct uring_op *op, enum ud_tag tag, int res); /* reaper */
void uring_cancel_completed(struct uring_op *op); /* reaper: before its job completes */

/* op_pool.c */
struct uring_op *uring_op_get(struct jt_uring *u);            /* under lock; NULL: -ENOMEM */
void uring_op_unget(struct jt_uring *u, struct uring_op *op); /* under lock, never published */
void uring_op_publish(struct uring_op *op, unsigned refs);
bool uring_op_tryget(struct uring_op *op);
void uring_op_ref(struct uring_op *op);
void uring_op_put(struct uring_op *op);
void uring_op_free_all(struct jt_uring *u);

#endif /* JT_URING_INTERNAL_H */
