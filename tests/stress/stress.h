/*
 * stress.h - shared state of the jobtxn stress test (stress_txn).
 *
 * The harness keeps a shadow record (struct htxn / struct hmember) for every
 * txn it builds. Records are reference counted (builder, the dispatcher side,
 * one per job launched to a completer thread); whoever drops the last
 * reference verifies the record against the contract (checker.c) and frees it.
 *
 * Threads: builders (workload.c), completers (workload.c, lock-free intrusive
 * queues, so that the harness adds as few happens-before edges as possible:
 * TSan must see the library's own ordering), the poller (poll-mode runtimes),
 * and main (stress_txn.c: epochs, introspection, drain, destroy, stats).
 */
#ifndef STRESS_H
#define STRESS_H

#include <jobtxn.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#define MAX_MEMBERS    20
#define MAX_BUILDERS   8
#define MAX_COMPLETERS 16
/* builder ids: 0..builders-1, then main, then the callback thread (nested) */
#define MAX_BUILDER_IDS (MAX_BUILDERS + 2)

/* ---- lock-free hand-off: a grab-all Treiber stack per completer ---- */
struct qnode {
	struct qnode *next; /* written by the pushing thread only */
};

struct inbox {
	_Atomic(struct qnode *) head;
};

/* ---- per-member shadow state ---- */
enum arm_mode { ARM_NONE, ARM_BEFORE, ARM_IN_PREPARE, ARM_PREP_THEN_COMMIT, ARM_IN_COMMIT };
enum arm_how { HOW_COMPLETE, HOW_WRAP, HOW_SUBMIT };
enum ops_kind { OPS_FULL, OPS_NOSETUP, OPS_NULL };

struct htxn;

struct hmember {
	struct qnode node;     /* completer queue link (first member) */
	struct hmember *lnext; /* completer-local retry list */
	struct htxn *tx;
	unsigned idx;
	/* plan: written by the builder before the job is armed */
	int ops_kind, mode, how;
	int result;       /* planned completion value */
	int prep_ret;     /* planned prepare return */
	bool wait_cancel; /* completer holds the job until cancel ran */
	bool undo_via_newcb;
	int hops; /* completer re-queues this many times first */
	jt_job *job;
	jt_complete_fn *new_cb;
	void *new_opaque;
	/* builder (also inside prepare/commit/abort) */
	bool armed;
	bool self_completed; /* completed by the builder before commit */
	int expect_wrap_calls;
	/* whoever completes, before completing */
	bool completed;
	int actual_ret;
	int payload;
	bool saw_cancelled;  /* jt_job_cancelled() was true at completion */
	uint64_t lo;         /* tx->seq before the completion */
	_Atomic uint64_t hi; /* tx->seq after it returned; 0 = unknown */
	/* intercepted (wrapped) callback */
	atomic_int wrap_calls;
	int wrap_ret;
	int wrap_payload;
	/* dispatcher */
	atomic_int cancel_seen;
	int cancel_calls;
	int done_calls, destroy_calls;
	int done_ret;
};

struct hrt;

struct htxn {
	struct hrt *h;
	uint64_t uid;
	unsigned n;
	unsigned flags;
	int depth;
	int builder_id;
	uint64_t commit_no;
	int fail_idx; /* member whose prepare fails, -1 none */
	int prep_err;
	bool may_fail; /* the txn may become failing at all */
	bool commit_wait;
	bool has_txn_done;
	bool dispatcher_ref;
	int last_cb; /* last member with ops (its destroy is the last callback) */
	_Atomic uint64_t seq;
	atomic_int refs;
	/* builder */
	int commit_ret;
	int wait_status;
	uint64_t prep_lo, prep_hi;
	int setup_log[4 * MAX_MEMBERS + 4];
	int setup_n;
	/* dispatcher */
	int txn_done_calls;
	int destroys;
	bool status_known;
	int status_seen;
	uint64_t retire_seq;
	bool cb_thread_set;
	pthread_t cb_thread;
	struct hmember m[];
};

/* One runtime's life (an epoch). */
struct hrt {
	jt_runtime *rt;
	const char *name;
	unsigned rt_flags;
	unsigned workers;
	size_t max_inflight;
	bool poll_mode;
	/* callbacks */
	atomic_int cb_active;
	atomic_int disp_thread_set;
	pthread_t disp_thread;
	uint64_t cb_rng;
	uint64_t cb_commit_no;
	uint64_t ord_last[MAX_BUILDER_IDS];
	/* harness counts */
	atomic_ullong begun, committed, retired_obs, verified, status_failed, armed, jobs_failed,
	        cancels, null_armed_failing, misuse_expected, outstanding, nested, waited, eagain,
	        cancel_waiters;
};

/* ---- globals (stress_txn.c) ---- */
struct options {
	double seconds;
	uint64_t seed;
	unsigned threads; /* completers */
	unsigned builders;
	int verbose;
};
extern struct options g_opt;
extern atomic_ullong g_failed;
extern atomic_ullong g_passed;

/* ---- thread-local context ---- */
enum role { ROLE_UNKNOWN = 0, ROLE_MAIN, ROLE_BUILDER, ROLE_COMPLETER, ROLE_POLLER };
extern _Thread_local int tl_role;
extern _Thread_local int tl_in_commit;   /* inside jt_txn_commit (setup pass) */
extern _Thread_local int tl_in_wait;     /* inside a call that may poll (poll mode) */
extern _Thread_local int tl_in_complete; /* inside jt_job_complete / new_cb */
extern _Thread_local int tl_in_newcb;    /* the harness called new_cb */
extern _Thread_local int tl_in_callback; /* inside a dispatcher callback */

/* ---- rng ---- */
static inline uint64_t rng_next(uint64_t *s)
{
	uint64_t x = *s;

	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	*s = x;
	return x * 0x2545F4914F6CDD1DULL;
}

/* A non-zero xorshift state for stream `tag` of the run's seed (splitmix64). */
static inline uint64_t rng_seed(uint64_t seed, uint64_t tag)
{
	uint64_t z = seed + tag * 0x9E3779B97F4A7C15ULL + 0x9E3779B97F4A7C15ULL;

	z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
	z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
	z ^= z >> 31;
	return z != 0 ? z : 1;
}

static inline unsigned rng_below(uint64_t *s, unsigned n)
{
	return (unsigned)(rng_next(s) % n);
}

static inline bool rng_pct(uint64_t *s, unsigned pct)
{
	return rng_below(s, 100) < pct;
}

/* ---- checker.c ---- */
void stress_fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
#define CHECK(cond, ...)                                                                           \
	do {                                                                                       \
		if (!(cond))                                                                       \
			stress_fail(__VA_ARGS__);                                                  \
	} while (0)
void verify_txn(struct htxn *tx);
void tx_put(struct htxn *tx);
int payload_of(const struct hmember *m);
int payload2_of(const struct hmember *m);
bool is_library_thread(const char *prefix);

/* ---- workload.c ---- */
void completers_start(unsigned n);
void completers_stop(void);
/* Build, fill and commit one txn. busy_check: call jt_runtime_destroy while it
 * is open (expects -EBUSY). Returns false when begin said -EAGAIN. */
bool build_txn(struct hrt *h, uint64_t *rng, int builder_id, uint64_t *commit_no, int depth,
               bool busy_check);

#endif /* STRESS_H */
