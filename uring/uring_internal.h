/*
 * uring_internal.h - the objects behind jt_uring: the ring and its
 * operations (struct uring_op), shared by the files of uring/.
 *
 * Files: lifecycle.c (create, destroy), op_pool.c (operation records and
 * their references), prep.c (jt_uring_prep), submit.c (the SQ side: the
 * lock, copying staged SQEs, the kernel's consumption, flushes), cancel.c
 * (the core's cancel hook and the pending-cancel stack), reap.c (the CQ
 * side: CQEs to job completions, the reaper thread, jt_uring_reap).
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
 * user_data: the record's address, with UD_CANCEL for the record's
 * ASYNC_CANCEL, UD_TIMER for the timeout a retried cancel waits behind, and
 * UD_NOP for a target that was sent as a NOP; 0 is the reaper's multishot
 * poll on its wake-up eventfd (reap.c).
 */
#ifndef JT_URING_INTERNAL_H
#define JT_URING_INTERNAL_H

#include <liburing.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "atomics/atomic_ops.h"
#include "jobtxn_uring.h"
#include "uring/sq_lock.h"

#define UD_CANCEL ((uintptr_t)1)
#define UD_NOP    ((uintptr_t)2)
#define UD_TIMER  ((uintptr_t)3) /* the delay before a retried cancel */
#define UD_TAGS   ((uintptr_t)3)

#define URING_DEFAULT_ENTRIES 256u
#define URING_MAX_ENTRIES     16384u /* twice that is the kernel's maximum */

/* uring_op.st: one read-modify-write moves each bit. */
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
	/* The cancel's tries (the reaper counts, cancel.c; the lock holder
	 * reads) and the delay of the next (written by the lock holder, read
	 * by the kernel). */
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

	/* Submission side: under `lock`. */
	struct sq_lock lock;
	struct uring_op *staged_head, *staged_tail;
	unsigned staged;     /* on the staged list */
	unsigned user_in_sq; /* caller SQEs written to the SQ, not yet taken */
	unsigned sq_seen;    /* the kernel's SQ head when last accounted */
	bool closing;        /* jt_uring_destroy began: no more prep */
	struct uring_op *free_list;
	struct uring_op *cancel_backlog; /* cancels waiting for an SQ slot */
	struct uring_op *all_ops;

	/* Any thread, lock-free. */
	_Atomic(struct uring_op *) returned; /* records whose last ref went */
	_Atomic(struct uring_op *) cancels;  /* cancels to queue (cancel.c) */
	_Atomic uint32_t flush_wanted;       /* submit.c, uring_request_flush */
	_Atomic uint32_t backlog;            /* the SQ or the backlog holds work */
	_Atomic uint64_t live;               /* prepared ops whose job is incomplete */
	_Atomic uint32_t hooks_active;       /* cancel hooks running (cancel.c) */
	_Atomic uint32_t closed;             /* the ring is gone: hooks do nothing */
	_Atomic uint32_t stop;               /* the reaper exits once live is 0 */
	_Atomic uint32_t reaping;            /* a thread is inside the CQ side */
	_Atomic uint32_t wake_armed;         /* the reaper's poll on wake_fd is armed */

	/* Per kernel SQ slot: the tagged record whose SQE it holds. */
	uintptr_t sq_owner[];
};

/* op_pool.c */
struct uring_op *uring_op_get(struct jt_uring *u);            /* under lock; NULL: -ENOMEM */
void uring_op_unget(struct jt_uring *u, struct uring_op *op); /* under lock, never published */
void uring_op_publish(struct uring_op *op, unsigned refs);
bool uring_op_tryget(struct uring_op *op);
void uring_op_ref(struct uring_op *op);
void uring_op_put(struct uring_op *op);
void uring_op_free_all(struct jt_uring *u);

/* submit.c */
void uring_lock(struct jt_uring *u);
void uring_unlock(struct jt_uring *u);
int uring_flush_locked(struct jt_uring *u, unsigned *taken);
void uring_request_flush(struct jt_uring *u);
bool uring_has_backlog(struct jt_uring *u);
void uring_wake_reaper(struct jt_uring *u);

/* cancel.c */
void uring_cancel_hook(jt_job *j, void *arg);
void uring_queue_cancel(struct uring_op *op); /* caller holds a ref */
void uring_retry_cancel(struct uring_op *op); /* reaper: the cancel missed */
struct uring_op *uring_take_cancels(struct jt_uring *u);

/* reap.c */
unsigned uring_reap_cqes(struct jt_uring *u, unsigned max);
void uring_wait_cqe(struct jt_uring *u);
bool uring_reaping_here(const struct jt_uring *u);
/* Become the CQ's one consumer (-EBUSY, or wait for it); *prev restored by end. */
int uring_reap_begin(struct jt_uring *u, bool wait, const struct jt_uring **prev);
void uring_reap_end(struct jt_uring *u, const struct jt_uring *prev);
void *uring_reaper_main(void *arg);

#endif /* JT_URING_INTERNAL_H */
