/*
 * bench.h - jt-bench internals: options, one table per implementation of the
 * contract (jobtxn, and the one-mutex peer), workloads, results, report.
 *
 * Every workload but `pool` is written once against struct bench_impl and
 * runs unchanged on both implementations: both pay the same indirect call
 * per operation, so their ratio is fair (absolute jobtxn figures include it).
 */
#ifndef JT_BENCH_H
#define JT_BENCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include <jobtxn.h>

/* latency: idle gap before each sample, past the dispatcher's 50 us default spin */
#define BENCH_LAT_GAP_NS 200000

enum bench_workload { WL_FANIN, WL_POOL, WL_BUILD, WL_LATENCY, WL_COUNT };
enum bench_format { FMT_TEXT, FMT_JSON, FMT_CSV };

struct bench_opts {
	bool quick;
	double seconds;           /* timed seconds per run */
	unsigned runs;            /* runs per configuration and implementation */
	unsigned threads;         /* fanin completers, pool workers */
	unsigned workloads;       /* mask of 1u << enum bench_workload */
	unsigned latency_samples; /* samples per latency run */
	enum bench_format format;
};

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
};

extern const struct bench_impl bench_impl_jobtxn; /* impl_jobtxn.c */
extern const struct bench_impl bench_impl_mutex;  /* mutex_peer.c */

/* Parameters of one run. */
struct wl_params {
	unsigned group;   /* G: jobs (members) per txn */
	unsigned threads; /* completer threads (fanin) or workers (pool) */
	double seconds;
	unsigned samples; /* latency */
	const char *tag;  /* "fanin/jobtxn G=64 run 2", for messages */
};

/* Result of one run. ops are jobs. */
struct run_result {
	uint64_t ops;
	uint64_t txns;
	uint64_t elapsed_ns;
	double ops_per_s;
	uint64_t lat_p50_ns, lat_p99_ns, lat_p999_ns, lat_max_ns;
	unsigned errors; /* verification failures, each reported on stderr */
	bool has_stats;
	struct jt_stats stats; /* jt_runtime_stats after drain (jobtxn) */
};

/* workloads.c: each fills *out; API failures are fatal (bench_fatal). */
void wl_fanin(const struct bench_impl *impl, const struct wl_params *p, struct run_result *out);
void wl_pool(const struct bench_impl *impl, const struct wl_params *p, struct run_result *out);
void wl_build(const struct bench_impl *impl, const struct wl_params *p, struct run_result *out);
void wl_latency(const struct bench_impl *impl, const struct wl_params *p, struct run_result *out);

/* Aggregate of the runs of one configuration on one implementation. */
struct config_result {
	enum bench_workload workload;
	const char *impl;
	unsigned group, threads, runs;
	unsigned errors;
	uint64_t txns; /* verified, all runs */
	double ops_per_s, ops_per_s_min, ops_per_s_max, ns_per_op;
	uint64_t lat_p50_ns, lat_p99_ns, lat_p999_ns, lat_max_ns; /* medians over runs */
	unsigned lat_samples;
	bool has_ratio;
	double ratio; /* jobtxn/peer of medians: ops/s, or p50 ns for latency */
	bool has_stats;
	struct jt_stats stats; /* first run */
};

/* report.c */
const char *bench_workload_name(enum bench_workload w);
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
