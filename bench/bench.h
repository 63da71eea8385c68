/*
 * bench.h - jt-bench internals: options, one table per implementation of the
 * contract (jobtxn, and the one-mutex peer), workloads, results, report.
 *
 * Every workload but `pool`, `idle` and `soak` is written once against
 * struct bench_impl and runs unchanged on jobtxn and on the mutex peer: both
 * pay the same indirect call per operation, so their ratio is fair (absolute
 * jobtxn figures include it). `pool` runs on jobtxn's workers and on libuv's
 * threadpool (libuv_peer.c, its own loop: bench_impl.pool).
 */
#ifndef JT_BENCH_H
#define JT_BENCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include <jobtxn.h>

/* latency: idle gap before each sample, past the dispatcher's spin (one wake-up's cost) */
#define BENCH_LAT_GAP_NS 200000
/* pool: txns in flight at most (jobtxn max_inflight; the libuv peer's bound) */
#define POOL_MAX_INFLIGHT 256
/* dispatch: jobs per batch, built before the timing (at least 2 txns) */
#define DISPATCH_BATCH_JOBS (1u << 16)

enum bench_workload {
	WL_FANIN,
	WL_POOL,
	WL_BUILD,
	WL_LATENCY,
	WL_SCALING,       /* fanin G=64 with 1..max_threads completers */
	WL_GROWTH,        /* build with up to 10^6 txns in flight, G = 1..65536 */
	WL_IDLE,          /* CPU an idle runtime uses */
	WL_SOAK,          /* long mixed run: throughput, RSS, txns in flight over time */
	WL_DISPATCH,      /* txns/s one pinned dispatcher retires, queue kept full */
	WL_DISPATCH_POLL, /* the same, a pinned thread in jt_runtime_poll */
	WL_URING,         /* group commit through io_uring vs leader/follower (wl_uring.c) */
	WL_COUNT
};
enum bench_format { FMT_TEXT, FMT_JSON, FMT_CSV };

struct bench_opts {
	bool quick;
	double seconds;           /* timed seconds per run */
	unsigned runs;            /* runs per configuration and implementation */
	unsigned threads;         /* fanin completers, pool workers */
	unsigned max_threads;     /* scaling: 1..max_threads completers */
	unsigned inflight_jobs;   /* growth: jobs in flight per round */
	double soak_seconds;      /* soak: length of its one run */
	unsigned workloads;       /* mask of 1u << enum bench_workload */
	unsigned latency_samples; /* samples per latency run */
	enum bench_format format;
	const char *csv_file; /* also write the CSV there */
	bool no_peers;        /* jobtxn runs only */
	unsigned group;       /* fanin, build, growth, dispatch: this G only (0 = all) */
	bool pin;             /* latency, dispatch: pin (cpu_pin.c); --no-pin clears it */
};

struct wl_params;
struct run_result;

/* What a workload asks of a runtime. */
struct bench_rt_opts {
	bool poll;           /* no dispatcher thread: the caller polls */
	unsigned workers;    /* built-in pool (jobtxn only) */
	size_t max_inflight; /* 0 = unbounded */
};

/*
 * bench_impl: one implementation of the contract, the subset the workloads
 * use. Member callbacks: `done` and `destroy` of struct jt_member_ops.
 * Every call returns 0 (or a count) or a negative errno.
 */
struct bench_impl {
	const char *name;
	const char *dispatcher_thread; /* its dispatcher thread's name (pinned), or NULL */
	int (*rt_create)(const struct bench_rt_opts *o, void **rt);
	int (*rt_destroy)(void *rt);
	int (*rt_drain)(void *rt, int64_t timeout_ns);
	int (*rt_poll)(void *rt);                         /* poll mode: retire all ready */
	void (*rt_stats)(void *rt, struct jt_stats *out); /* NULL: none */
	int (*txn_begin)(void *rt, void **txn);
	int (*txn_add)(void *txn, const struct jt_member_ops *ops, void *opaque, void **job);
	int (*job_arm)(void *job);
	int (*job_complete)(void *job, int ret);
	int (*txn_commit)(void *txn, void (*done)(void *opaque, int status), void *opaque);
	/* A peer with its own pool workload (libuv); NULL: wl_pool's own. */
	void (*pool)(const struct wl_params *p, struct run_result *out);
};

extern const struct bench_impl bench_impl_jobtxn; /* impl_jobtxn.c */
extern const struct bench_impl bench_impl_mutex;  /* mutex_peer.c */
extern const struct bench_impl bench_impl_libuv;  /* libuv_peer.c: pool only */
#ifdef JT_BENCH_TBB
extern const struct bench_impl bench_impl_tbb; /* tbb_peer.cc: pool only */
#endif

/* Parameters of one run. */
struct wl_params {
	unsigned group;   /* G: jobs (members) per txn */
	unsigned threads; /* completer threads (fanin) or workers (pool) */
	double seconds;
	unsigned samples;       /* latency */
	unsigned inflight_jobs; /* growth */
	bool pin;               /* latency, dispatch: pin the threads (cpu_pin.c) */
	const char *tag;        /* "fanin/jobtxn G=64 run 2", for messages */
};

/* soak: one sample per interval */
struct soak_sample {
	double t_s;             /* since the start of the run */
	double ops_per_s;       /* jobs retired in the interval, per second */
	uint64_t txns_inflight; /* committed, not retired, at the sample */
	uint64_t rss_kib;
};

#define SOAK_MAX_SAMPLES 4096

/* Result of one run. ops are jobs. */
struct run_result {
	uint64_t ops;
	uint64_t txns;
	uint64_t elapsed_ns;
	double ops_per_s;
	uint64_t lat_p50_ns, lat_p99_ns, lat_p999_ns, lat_max_ns;
	/* latency: a bare futex wake of a sleeping thread, same run (the floor) */
	uint64_t floor_p50_ns, floor_p99_ns, floor_p999_ns, floor_max_ns;
	/* latency: the same, the sleeper unpinned (on every usable CPU) */
	uint64_t ufloor_p50_ns, ufloor_p99_ns, ufloor_p999_ns, ufloor_max_ns;
	double stream_ops_per_s; /* dispatch: the streaming phase (ops_per_s: full queue) */
	double compl_ops_per_s;  /* dispatch: the completer alone (full phase) */
	unsigned errors;         /* verification failures, each reported on stderr */
	bool has_stats;
	struct jt_stats stats;      /* jt_runtime_stats after drain (jobtxn) */
	double cpu_ms_per_s;        /* idle: process CPU time per second of wall time */
	uint64_t txns_inflight;     /* growth, soak: most txns in flight at once */
	double mem_bytes_per_txn;   /* growth: RSS growth / txns in flight (0 if none) */
	uint64_t rss_max_kib;       /* soak */
	struct soak_sample *series; /* soak: malloc'ed, nseries samples */
	size_t nseries;
};

/* workloads.c: each fills *out; API failures are fatal (bench_fatal). */
void wl_fanin(const struct bench_impl *impl, const struct wl_params *p, struct run_result *out);
void wl_pool(const struct bench_impl *impl, const struct wl_params *p, struct run_result *out);
void wl_build(const struct bench_impl *impl, const struct wl_params *p, struct run_result *out);
void wl_latency(const struct bench_impl *impl, const struct wl_params *p, struct run_result *out);
void wl_idle(const struct bench_impl *impl, const struct wl_params *p, struct run_result *out);
void wl_growth(const struct bench_impl *impl, const struct wl_params *p, struct run_result *out);
void wl_soak(const struct bench_impl *impl, const struct wl_params *p, struct run_result *out);
void wl_dispatch(const struct bench_impl *impl, const struct wl_params *p, struct run_result *out);
void wl_dispatch_poll(const struct bench_impl *impl, const struct wl_params *p,
                      struct run_result *out);

/* wl_uring.c: the whole uring workload (its own runs and table); 0 or 1 (a
 * verification failed). Only when named: it writes files, needs io_uring. */
int bench_uring_run(const struct bench_opts *o);

/* Resident set size of this process, KiB (/proc/self/statm); 0 if unknown. */
uint64_t bench_rss_kib(void);

/* Aggregate of the runs of one configuration on one implementation. */
struct config_result {
	enum bench_workload workload;
	const char *impl;
	unsigned group, threads, runs;
	unsigned errors;
	uint64_t txns; /* verified, all runs */
	double ops_per_s, ops_per_s_min, ops_per_s_max, ns_per_op;
	double stream_ops_per_s, stream_ops_per_s_min, stream_ops_per_s_max; /* dispatch */
	double compl_ops_per_s;                                              /* dispatch: median */
	uint64_t lat_p50_ns, lat_p99_ns, lat_p999_ns, lat_max_ns;            /* medians over runs */
	uint64_t floor_p50_ns, floor_p99_ns, floor_p999_ns, floor_max_ns;    /* the same */
	double floor_ratio_p50,
	        floor_ratio_p99; /* median over runs of the run's p50 (p99) / its floor's */
	uint64_t ufloor_p50_ns, ufloor_p99_ns; /* the unpinned floor's medians */
	double ufloor_ratio_p50;               /* median over runs of p50 / unpinned floor p50 */
	unsigned lat_samples;
	const char *peer; /* the ratio's peer */
	bool has_ratio;
	double ratio; /* jobtxn/peer of medians: ops/s, or p50 ns for latency */
	/* The same per round of runs: jobtxn's run r / the peer's run r, `runs`
	 * entries (malloc'ed), and their extremes. */
	double *run_ratios;
	double ratio_min, ratio_max;
	bool has_stats;
	struct jt_stats stats;      /* first run */
	double cpu_ms_per_s;        /* idle: median */
	uint64_t txns_inflight;     /* growth, soak */
	double mem_bytes_per_txn;   /* growth: median */
	uint64_t rss_max_kib;       /* soak */
	struct soak_sample *series; /* soak: first run's (owned) */
	size_t nseries;
};

/* jt_bench.c: the --workload name */
const char *bench_workload_name(enum bench_workload w);
/* report.c */
void report_print(const struct bench_opts *o, const struct config_result *r, size_t n);

/* jt_bench.c */
_Noreturn void bench_fatal(const char *file, int line, const char *what, int err);

#define BENCH_CHECK(call)                                                                          \
	do {                                                                                       \
		int bench_rc = (call);                                                             \
		if (bench_rc < 0)                                                                  \
			bench_fatal(__FILE__, __LINE__, #call, bench_rc);                          \
	} while (0)

static inline uint64_t bench_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

#endif /* JT_BENCH_H */
