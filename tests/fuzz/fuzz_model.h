/*
 * fuzz_model.h - reference model of the jobtxn contract for the fuzz target
 * (fuzz_txn.c), for one poll-mode runtime driven from one thread.
 *
 * Single-threaded, the library is deterministic: the model keeps the same
 * pending counts, status rule, failing flag and dispatcher queue (a READY or
 * CANCEL event per hand-off, in push order; commit order under
 * JT_RUNTIME_ORDERED) and derives from them the exact callback sequence the
 * dispatcher must produce. Observed callbacks are matched against that
 * sequence lazily: the model runs one unit of dispatcher work whenever it
 * has no expected callback left and the library ran one.
 */
#ifndef FUZZ_MODEL_H
#define FUZZ_MODEL_H

#include <jobtxn.h>
#include <stdbool.h>
#include <stdint.h>

#define FZ_TXNS    6
#define FZ_MEMBERS 10
#define FZ_QUEUE   64
#define FZ_EXPECT  256

enum fz_txn_state { TX_FREE, TX_OPEN, TX_SEALED, TX_RETIRED };
enum fz_cb { CB_CANCEL = 1, CB_DONE, CB_TXN_DONE, CB_DESTROY };

struct fz_txn;

struct fz_member {
	struct fz_txn *tx;
	unsigned idx;
	jt_job *job;
	bool full_ops; /* every callback set; else ops NULL */
	int prep_ret;
	bool arm_in_prepare;
	int prep_arm_ret; /* what jt_job_arm in prepare must return */
	bool nested;      /* done re-enters the runtime */
	bool armed, completed, wrapped;
	int ret;
	jt_complete_fn *new_cb;
	void *new_opaque;
	int wrap_calls;
	int cancels, dones, destroys;
};

struct fz_txn {
	unsigned slot;
	jt_txn *t;
	int state;
	bool grouped;
	unsigned n;
	struct fz_member m[FZ_MEMBERS];
	int status;
	bool failing, cancel_delivered, ready;
	bool holds_slot; /* retired, callbacks still running: max_inflight slot held */
	int pending;
	unsigned armed;
	bool has_done;
	int txn_dones;
	unsigned cb_left; /* expected callbacks not yet run */
	int setup_log[4 * FZ_MEMBERS];
	int setup_n;
};

struct fz_event {
	struct fz_txn *tx;
	bool cancel;
	uint64_t seq;
};

struct fz_expect {
	int cb;
	struct fz_txn *tx;
	unsigned idx;
};

struct fz_model {
	bool ordered;
	unsigned max_inflight;
	struct fz_txn tx[FZ_TXNS];
	struct fz_event q[FZ_QUEUE];
	unsigned qhead, qlen;
	uint64_t pushed;
	struct fz_txn *olist[FZ_TXNS]; /* commit order (ordered runtimes) */
	unsigned olen;
	struct fz_expect e[FZ_EXPECT];
	unsigned ehead, elen;
	unsigned inflight;
	unsigned retired_in_call;
	/* what jt_runtime_stats must say */
	uint64_t begun, committed, retired, failed, jobs_armed, jobs_completed, jobs_failed,
	        cancels, misuse;
};

void fz_fail(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
#define FZ_CHECK(cond, ...)                                                                        \
	do {                                                                                       \
		if (!(cond))                                                                       \
			fz_fail(__VA_ARGS__);                                                      \
	} while (0)

void model_init(struct fz_model *md, bool ordered, unsigned max_inflight);
struct fz_txn *model_free_slot(struct fz_model *md);
void model_begin(struct fz_model *md, struct fz_txn *tx, bool grouped);
void model_arm(struct fz_txn *tx, struct fz_member *m);
/* The setup pass ran: arms in prepare, status rule for a failed prepare. */
int model_setup_pass(struct fz_model *md, struct fz_txn *tx);
void model_seal(struct fz_model *md, struct fz_txn *tx);
void model_complete(struct fz_model *md, struct fz_member *m, int ret);
/* A callback ran: it must be the next one the model expects. */
void model_observe(struct fz_model *md, int cb, struct fz_txn *tx, unsigned idx);
/* A dispatching call returned: nothing expected may be left half-done. With
 * `all`, every event queued before `snap` (and the ordered backlog) must
 * have been run, and none of them may owe a callback. */
void model_after_dispatch(struct fz_model *md, bool all, uint64_t snap);
bool model_can_drain(const struct fz_model *md);
/* One unit of dispatcher work (run_some); false when there is none. Only
 * events pushed up to `snap`. */
bool model_step(struct fz_model *md, uint64_t snap);

#endif /* FUZZ_MODEL_H */
