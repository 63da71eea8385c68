/*
 * report.c - results on stdout: a table (default), JSON or CSV. Units are
 * in the field names; ops are jobs.
 */
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "bench.h"
#include "git_commit.h"

#define ULL(x) ((unsigned long long)(x))

static long cpus_online(void)
{
	return sysconf(_SC_NPROCESSORS_ONLN);
}

static int cpus_usable(void)
{
	cpu_set_t set;

	return sched_getaffinity(0, sizeof(set), &set) ? -1 : CPU_COUNT(&set);
}

static const char *mode_name(const struct bench_opts *o)
{
	return o->quick ? "quick" : "full";
}

static void print_workloads(FILE *f, const struct bench_opts *o, const char *quote, const char *sep)
{
	const char *s = "";

	for (unsigned w = 0; w < WL_COUNT; w++) {
		if (o->workloads & (1u << w)) {
			fprintf(f, "%s%s%s%s", s, quote, bench_workload_name(w), quote);
			s = sep;
		}
	}
}

static bool is_throughput(enum bench_workload w)
{
	return w != WL_LATENCY && w != WL_IDLE;
}

static bool is_dispatch(enum bench_workload w)
{
	return w == WL_DISPATCH || w == WL_DISPATCH_POLL;
}

static double bytes_per_member(const struct config_result *r)
{
	return r->group ? r->mem_bytes_per_txn / r->group : 0;
}

static unsigned total_errors(const struct config_result *r, size_t n)
{
	unsigned e = 0;

	for (size_t i = 0; i < n; i++)
		e += r[i].errors;
	return e;
}

/* ---- text ---- */

static void rate(char *buf, size_t len, double v)
{
	if (v >= 1e6)
		snprintf(buf, len, "%.2f M", v / 1e6);
	else
		snprintf(buf, len, "%.1f k", v / 1e3);
}

static void print_stats_line(const struct config_result *r)
{
	const struct jt_stats *s = &r->stats;
	char cfg[32];

	snprintf(cfg, sizeof(cfg), "%s G=%u T=%u", bench_workload_name(r->workload), r->group,
	         r->threads);
	printf("%-18s %12llu %11llu %7llu %7llu %7llu %10.2f %9.2f %9.2f\n", cfg,
	       ULL(s->txns_retired), ULL(s->jobs_completed), ULL(s->txns_failed + s->jobs_failed),
	       ULL(s->cancels_requested), ULL(s->misuse), s->retire_latency_p50_ns / 1e3,
	       s->retire_latency_p99_ns / 1e3, s->retire_latency_max_ns / 1e3);
}

/* idle, memory (growth), soak */
static void print_text_extra(const struct config_result *r, size_t n)
{
	bool head_idle = false, head_mem = false;

	for (size_t i = 0; i < n; i++) {
		if (r[i].workload == WL_IDLE) {
			if (!head_idle)
				printf("\nIdle: CPU time of the whole process per second of wall "
				       "time, "
				       "runtime with nothing to do (median)\n\n%-7s %7s %14s\n",
				       "impl", "threads", "CPU ms per s");
			head_idle = true;
			printf("%-7s %7u %14.3f%s\n", r[i].impl, r[i].threads, r[i].cpu_ms_per_s,
			       r[i].errors ? "  ERROR" : "");
		}
	}
	for (size_t i = 0; i < n; i++) {
		if (r[i].workload == WL_GROWTH && r[i].mem_bytes_per_txn > 0) {
			if (!head_mem)
				printf("\nMemory: jobtxn's allocations while txns of G armed jobs "
				       "are "
				       "in flight (counting allocator)\n\n%7s %14s %17s\n",
				       "G", "bytes per txn", "bytes per member");
			head_mem = true;
			printf("%7u %14.1f %17.1f\n", r[i].group, r[i].mem_bytes_per_txn,
			       bytes_per_member(&r[i]));
		}
	}
	for (size_t i = 0; i < n; i++) {
		if (r[i].workload != WL_SOAK)
			continue;
		printf("\nSoak: %zu samples; most txns in flight %llu, largest RSS %llu KiB\n\n"
		       "%8s %14s %16s %12s\n",
		       r[i].nseries, ULL(r[i].txns_inflight), ULL(r[i].rss_max_kib), "t s",
		       "jobs/s", "txns in flight", "RSS KiB");
		for (size_t k = 0; k < r[i].nseries; k++)
			printf("%8.1f %14.0f %16llu %12llu\n", r[i].series[k].t_s,
			       r[i].series[k].ops_per_s, ULL(r[i].series[k].txns_inflight),
			       ULL(r[i].series[k].rss_kib));
	}
}

/* dispatch, dispatch-poll: in txns, both phases */
static const char dispatch_head[] =
        "\nDispatcher saturation: txns/s retired by ONE dispatcher, alone on a CPU\n"
        "(the bench thread, which completes, and every other thread on the other CPU);\n"
        "batches of %u jobs in txns of G, built before the timing\n"
        "  full queue: the first done waits until every job of the batch completed;\n"
        "              timed from that release to the last done\n"
        "  streaming:  completions run concurrently; first completion -> last done\n"
        "  completer:  alone, the full phase's completions, first to last (dispatcher held)\n"
        "  dispatch: the runtime's dispatcher thread; dispatch-poll: a bench thread in\n"
        "  jt_runtime_poll. ratio = jobtxn/mutex of the full-queue medians\n"
        "  (target: >= 25 M txns/s at G = 1, full queue)\n\n";

static void print_dispatch(const struct config_result *r, size_t n)
{
	bool head = false;

	for (size_t i = 0; i < n; i++) {
		const double g = r[i].group;
		char full[32], lo[32], hi[32], stream[32], alone[32], range[72], ratio[16] = "";

		if (!is_dispatch(r[i].workload))
			continue;
		if (!head) {
			printf(dispatch_head, DISPATCH_BATCH_JOBS);
			printf("%-13s %-7s %5s %11s %7s %21s %11s %7s %11s %6s\n", "workload",
			       "impl", "G", "full txns/s", "ns/txn", "min .. max", "strm txns/s",
			       "ns/txn", "completer", "ratio");
		}
		head = true;
		rate(full, sizeof(full), r[i].ops_per_s / g);
		rate(lo, sizeof(lo), r[i].ops_per_s_min / g);
		rate(hi, sizeof(hi), r[i].ops_per_s_max / g);
		snprintf(range, sizeof(range), "%s .. %s", lo, hi);
		rate(stream, sizeof(stream), r[i].stream_ops_per_s / g);
		rate(alone, sizeof(alone), r[i].compl_ops_per_s / g);
		if (r[i].has_ratio)
			snprintf(ratio, sizeof(ratio), "%.2f", r[i].ratio);
		printf("%-13s %-7s %5u %11s %7.1f %21s %11s %7.1f %11s %6s%s\n",
		       bench_workload_name(r[i].workload), r[i].impl, r[i].group, full,
		       r[i].ops_per_s > 0 ? 1e9 * g / r[i].ops_per_s : 0, range, stream,
		       r[i].stream_ops_per_s > 0 ? 1e9 * g / r[i].stream_ops_per_s : 0, alone,
		       ratio, r[i].errors ? "  ERROR" : "");
	}
}

/* Throughput ratios of every round of runs: is a target met in each run? */
static void print_run_ratios(const struct config_result *r, size_t n)
{
	bool head = false;

	for (size_t i = 0; i < n; i++) {
		if (!r[i].has_ratio || !is_throughput(r[i].workload))
			continue;
		if (!head)
			printf("\nRatio per round of runs (jobtxn's run k / the peer's run k, run "
			       "alternately; > 1: jobtxn faster)\n\n%-13s %-7s %5s %7s %-6s %7s "
			       "%7s "
			       " "
			       "%s\n",
			       "workload", "impl", "G", "threads", "peer", "min", "max",
			       "run 1, 2, ...");
		head = true;
		printf("%-13s %-7s %5u %7u %-6s %7.2f %7.2f ", bench_workload_name(r[i].workload),
		       r[i].impl, r[i].group, r[i].threads, r[i].peer, r[i].ratio_min,
		       r[i].ratio_max);
		for (unsigned k = 0; k < r[i].runs; k++)
			printf(" %.2f", r[i].run_ratios[k]);
		printf("\n");
	}
}

/* ---- the targets, where this run measured them ---- */

static const struct config_result *find(const struct config_result *r, size_t n,
                                        enum bench_workload w, const char *impl, unsigned g)
{
	for (size_t i = 0; i < n; i++)
		if (r[i].workload == w && r[i].group == g && strcmp(r[i].impl, impl) == 0)
			return &r[i];
	return NULL;
}

/* jobtxn's row of workload w at G against `peer` (pool has one per peer). */
static const struct config_result *find_vs(const struct config_result *r, size_t n,
                                           enum bench_workload w, unsigned g, const char *peer)
{
	for (size_t i = 0; i < n; i++)
		if (r[i].workload == w && r[i].group == g && strcmp(r[i].impl, "jobtxn") == 0 &&
		    r[i].has_ratio && strcmp(r[i].peer, peer) == 0)
			return &r[i];
	return NULL;
}

/* A ratio target: met by the median, and in every run? */
static void target_ratio(const struct config_result *c, const char *what, double goal)
{
	char got[64];

	if (!c || !c->has_ratio)
		return;
	snprintf(got, sizeof(got), "median %.2fx, min %.2fx", c->ratio, c->ratio_min);
	printf("%-46s %-30s %s\n", what, got,
	       c->ratio_min >= goal ? "yes, every run"
	       : c->ratio >= goal   ? "median only"
	                            : "no");
}

/* A dispatch workload's streaming phase has no per-run ratio: the ratio of
 * the medians, against the mutex peer's run of the same configuration. */
static void target_stream(const struct config_result *r, size_t n, enum bench_workload w,
                          const char *what, double goal)
{
	const struct config_result *j = find(r, n, w, "jobtxn", 1), *m = find(r, n, w, "mutex", 1);
	char got[64];
	double ratio;

	if (!j || !m || m->stream_ops_per_s <= 0)
		return;
	ratio = j->stream_ops_per_s / m->stream_ops_per_s;
	snprintf(got, sizeof(got), "median %.2fx", ratio);
	printf("%-46s %-30s %s\n", what, got, ratio >= goal ? "median (no per-run ratio)" : "no");
}

/* The one-job txn: every G = 1 workload >= 1.5x the mutex peer in every
 * run, and <= 128 bytes per one-job txn in flight, its member included. */
static void print_one_job_targets(const struct config_result *r, size_t n)
{
	const struct config_result *g = find(r, n, WL_GROWTH, "jobtxn", 1);
	char got[64];

	target_ratio(find(r, n, WL_FANIN, "jobtxn", 1), "fanin G=1: >= 1.5x mutex in every run",
	             1.5);
	target_ratio(find(r, n, WL_BUILD, "jobtxn", 1), "build G=1: >= 1.5x mutex in every run",
	             1.5);
	target_ratio(find(r, n, WL_GROWTH, "jobtxn", 1), "growth G=1: >= 1.5x mutex in every run",
	             1.5);
	target_ratio(find(r, n, WL_DISPATCH, "jobtxn", 1),
	             "dispatch G=1 full: >= 1.5x mutex in every run", 1.5);
	target_ratio(find(r, n, WL_DISPATCH_POLL, "jobtxn", 1),
	             "dispatch-poll G=1 full: >= 1.5x in every run", 1.5);
	target_stream(r, n, WL_DISPATCH, "dispatch G=1 streaming: >= 1.5x mutex", 1.5);
	target_stream(r, n, WL_DISPATCH_POLL, "dispatch-poll G=1 streaming: >= 1.5x mutex", 1.5);
	if (g && g->mem_bytes_per_txn > 0) {
		snprintf(got, sizeof(got), "%.0f B per txn", g->mem_bytes_per_txn);
		printf("%-46s %-30s %s\n", "growth G=1: <= 128 B per one-job txn", got,
		       g->mem_bytes_per_txn <= 128 ? "yes" : "no");
	}
}

static void print_targets(const struct config_result *r, size_t n)
{
	const struct config_result *d = find(r, n, WL_DISPATCH, "jobtxn", 1);
	const struct config_result *lat = find(r, n, WL_LATENCY, "jobtxn", 1);
	char got[64];

	printf("\nTimed targets, as measured in this run (medians over the runs; the "
	       "instruction\ncounts are bench/callgrind.sh's)\n\n%-46s %-30s %s\n",
	       "target", "measured", "met");
	if (d) {
		snprintf(got, sizeof(got), "%.2f M txns/s (%.1f ns/txn)", d->ops_per_s / 1e6,
		         d->ns_per_op);
		printf("%-46s %-30s %s\n", "dispatch G=1: one dispatcher >= 25 M txns/s", got,
		       d->ops_per_s >= 25e6 ? "yes" : "no");
	}
	target_ratio(find(r, n, WL_FANIN, "jobtxn", 1), "fanin G=1: >= 3x mutex", 3);
	target_ratio(find(r, n, WL_FANIN, "jobtxn", 64), "fanin G=64: >= 3x mutex", 3);
	target_ratio(find_vs(r, n, WL_POOL, 64, "libuv"), "pool G=64: >= 6x libuv in every run", 6);
	target_ratio(find_vs(r, n, WL_POOL, 64, "tbb"), "pool G=64: >= 5x oneTBB in every run", 5);
	target_ratio(find_vs(r, n, WL_POOL, 4096, "tbb"), "pool G=4096: >= 5x oneTBB in every run",
	             5);
	if (lat) {
		snprintf(got, sizeof(got), "%.2fx (%llu / %llu ns)", lat->floor_ratio_p50,
		         ULL(lat->lat_p50_ns), ULL(lat->floor_p50_ns));
		printf("%-46s %-30s %s\n", "latency p50: <= 1.10x the futex floor", got,
		       lat->floor_ratio_p50 <= 1.10 ? "yes" : "no");
		snprintf(got, sizeof(got), "%.2fx (%llu / %llu ns)", lat->floor_ratio_p99,
		         ULL(lat->lat_p99_ns), ULL(lat->floor_p99_ns));
		printf("%-46s %-30s %s\n", "latency p99: <= 1.25x the futex floor", got,
		       lat->floor_ratio_p99 <= 1.25 ? "yes" : "no");
		snprintf(got, sizeof(got), "%.2fx (%llu / %llu ns)", lat->ufloor_ratio_p50,
		         ULL(lat->lat_p50_ns), ULL(lat->ufloor_p50_ns));
		printf("%-46s %-30s %s\n", "latency p50: <= 1.25x the unpinned floor", got,
		       lat->ufloor_ratio_p50 <= 1.25 ? "yes" : "no");
	}
	print_one_job_targets(r, n);
}

static void print_text(const struct bench_opts *o, const struct config_result *r, size_t n)
{
	unsigned errors = total_errors(r, n), runs = 0;
	unsigned long long txns = 0;
	bool any_thr = false, any_lat = false, any_stats = false;

	printf("jt-bench: jobtxn %d.%d.%d, commit %s, %ld CPUs online, %d usable\nmode %s: %u runs "
	       "x %.2f s per configuration and implementation, threads %u, max threads %u, "
	       "inflight %u jobs, soak %.1f s, pinning %s, workloads ",
	       JOBTXN_VERSION_MAJOR, JOBTXN_VERSION_MINOR, JOBTXN_VERSION_PATCH,
	       JT_BENCH_GIT_COMMIT, cpus_online(), cpus_usable(), mode_name(o), o->runs, o->seconds,
	       o->threads, o->max_threads, o->inflight_jobs, o->soak_seconds,
	       o->pin ? "on" : "off");
	print_workloads(stdout, o, "", ",");
	printf("\npeers: \"mutex\", the same contract with one pthread mutex + condition "
	       "variables (bench/mutex_peer.c);\n\"libuv\", uv_queue_work with a countdown in "
	       "after_work_cb (bench/libuv_peer.c, UV_THREADPOOL_SIZE = threads);\n\"tbb\", oneTBB "
	       "task_group::run per job in a task_arena of T threads, the last task runs the "
	       "callbacks (bench/tbb_peer.cc);\nruns alternate "
	       "jobtxn, peer, jobtxn, ...; medians over runs\n");
	for (size_t i = 0; i < n; i++) {
		any_lat |= r[i].workload == WL_LATENCY;
		any_thr |= is_throughput(r[i].workload);
		any_stats |= r[i].has_stats;
		runs += r[i].runs;
		txns += r[i].txns;
	}
	if (any_thr) {
		printf("\nThroughput (ops = jobs; ratio = jobtxn/peer of median jobs/s, > 1: "
		       "jobtxn faster)\n"
		       "  fanin:   T threads complete prebuilt, armed jobs (built outside the "
		       "timing); first completion -> drain\n"
		       "  pool:    trivial jobs on T workers (jt_job_submit; libuv: "
		       "uv_queue_work), "
		       "%d txns in flight; first begin -> drain\n"
		       "  build:   one thread, poll mode: begin, add, arm, commit, complete, poll\n"
		       "  scaling: fanin with T = 1..%u completer threads\n"
		       "  growth:  one thread, poll mode: build %u jobs in txns of G (all in "
		       "flight), complete all, poll\n"
		       "  soak:    mixed sizes, pool and user-thread completions, %.1f s\n\n",
		       POOL_MAX_INFLIGHT, o->max_threads, o->inflight_jobs, o->soak_seconds);
		printf("%-8s %-7s %5s %7s %14s %9s %23s %7s\n", "workload", "impl", "G", "threads",
		       "median jobs/s", "ns/job", "min .. max jobs/s", "ratio");
		for (size_t i = 0; i < n; i++) {
			char med[32], lo[32], hi[32], range[72], ratio[16] = "";

			if (!is_throughput(r[i].workload) || is_dispatch(r[i].workload))
				continue;
			rate(med, sizeof(med), r[i].ops_per_s);
			rate(lo, sizeof(lo), r[i].ops_per_s_min);
			rate(hi, sizeof(hi), r[i].ops_per_s_max);
			snprintf(range, sizeof(range), "%s .. %s", lo, hi);
			if (r[i].has_ratio)
				snprintf(ratio, sizeof(ratio), "%.2f", r[i].ratio);
			printf("%-8s %-7s %5u %7u %14s %9.1f %23s %7s%s\n",
			       bench_workload_name(r[i].workload), r[i].impl, r[i].group,
			       r[i].threads, med, r[i].ns_per_op, range, ratio,
			       r[i].errors ? "  ERROR" : "");
		}
	}
	print_dispatch(r, n);
	if (any_thr)
		print_run_ratios(r, n);
	if (any_lat) {
		printf("\nLatency: last job completion -> the txn's first member done, dispatcher "
		       "idle %d us before each sample\nfutex floor: after each sample, the same "
		       "idle gap, then one FUTEX_WAKE of a bare thread asleep in FUTEX_WAIT\n"
		       "(same run; both sleepers pinned to one CPU, the bench thread to another, "
		       "when 2 CPUs are usable);\nfutex-u: the same with a sleeper on every "
		       "usable CPU, never pinned (the floor of a --no-pin run)\nratio = "
		       "jobtxn/mutex of median p50, < 1: jobtxn "
		       "faster; /floor = median over runs of each run's p50 (p99) over its floor's "
		       "(target: <= 1.10 at p50, <= 1.25 at p99)\n\n",
		       BENCH_LAT_GAP_NS / 1000);
		printf("%-8s %-7s %12s %9s %9s %9s %9s %7s %10s %10s\n", "workload", "impl",
		       "samples", "p50 ns", "p99 ns", "p999 ns", "max ns", "ratio", "p50/floor",
		       "p99/floor");
		for (size_t i = 0; i < n; i++) {
			char samples[32], ratio[16] = "";

			if (r[i].workload != WL_LATENCY)
				continue;
			snprintf(samples, sizeof(samples), "%ux%u", r[i].runs, r[i].lat_samples);
			if (r[i].has_ratio)
				snprintf(ratio, sizeof(ratio), "%.2f", r[i].ratio);
			printf("%-8s %-7s %12s %9llu %9llu %9llu %9llu %7s %10.2f %10.2f%s\n",
			       bench_workload_name(r[i].workload), r[i].impl, samples,
			       ULL(r[i].lat_p50_ns), ULL(r[i].lat_p99_ns), ULL(r[i].lat_p999_ns),
			       ULL(r[i].lat_max_ns), ratio, r[i].floor_ratio_p50,
			       r[i].floor_ratio_p99, r[i].errors ? "  ERROR" : "");
			printf("%-8s %-7s %12s %9llu %9llu %9llu %9llu   (in the %s runs)\n", "",
			       "futex", samples, ULL(r[i].floor_p50_ns), ULL(r[i].floor_p99_ns),
			       ULL(r[i].floor_p999_ns), ULL(r[i].floor_max_ns), r[i].impl);
			printf("%-8s %-7s %12s %9llu %9llu   (the unpinned floor; p50/it: %.2f)\n",
			       "", "futex-u", samples, ULL(r[i].ufloor_p50_ns),
			       ULL(r[i].ufloor_p99_ns), r[i].ufloor_ratio_p50);
		}
	}
	print_text_extra(r, n);
	if (any_stats) {
		printf("\nWhat the jobtxn runtime did: jt_runtime_stats after the first jobtxn run "
		       "of "
		       "each configuration\n(checked against what the run built: begun = committed "
		       "= "
		       "retired, armed = completed, 0 failed/cancels/misuse)\nretire latency = "
		       "last job "
		       "completion -> the txn's first done, in us\n\n");
		printf("%-18s %12s %11s %7s %7s %7s %10s %9s %9s\n", "config", "txns retired",
		       "jobs done", "failed", "cancels", "misuse", "retire p50", "p99", "max");
		for (size_t i = 0; i < n; i++)
			if (r[i].has_stats)
				print_stats_line(&r[i]);
	}
	print_targets(r, n);
	printf("\nVerification: %u runs, %llu txns; each txn's done ran exactly once, after all "
	       "its member dones, status 0, never inline: %s\n",
	       runs, txns, errors ? "FAILED (see stderr)" : "OK");
}

/* ---- JSON ---- */

static void print_json_stats(const struct jt_stats *s)
{
	printf(",\n     \"runtime_stats\": {\"txns_begun\": %llu, \"txns_committed\": %llu, "
	       "\"txns_retired\": %llu, \"txns_failed\": %llu, \"jobs_armed\": %llu, "
	       "\"jobs_completed\": %llu, \"jobs_failed\": %llu, \"cancels_requested\": %llu, "
	       "\"misuse\": %llu, \"retire_latency_p50_ns\": %llu, \"retire_latency_p99_ns\": "
	       "%llu, \"retire_latency_max_ns\": %llu}",
	       ULL(s->txns_begun), ULL(s->txns_committed), ULL(s->txns_retired),
	       ULL(s->txns_failed), ULL(s->jobs_armed), ULL(s->jobs_completed), ULL(s->jobs_failed),
	       ULL(s->cancels_requested), ULL(s->misuse), ULL(s->retire_latency_p50_ns),
	       ULL(s->retire_latency_p99_ns), ULL(s->retire_latency_max_ns));
}

static void print_json(const struct bench_opts *o, const struct config_result *r, size_t n)
{
	printf("{\n  \"tool\": \"jt-bench\",\n  \"jobtxn_version\": \"%d.%d.%d\",\n"
	       "  \"git_commit\": \"%s\",\n"
	       "  \"cpus_online\": %ld,\n  \"cpus_usable\": %d,\n"
	       "  \"options\": {\"mode\": \"%s\", \"seconds_per_run\": %g, \"runs\": %u, "
	       "\"threads\": %u, \"max_threads\": %u, \"inflight_jobs\": %u, "
	       "\"soak_seconds\": %g, \"pool_max_inflight_txns\": %d, \"pin\": %s, "
	       "\"workloads\": [",
	       JOBTXN_VERSION_MAJOR, JOBTXN_VERSION_MINOR, JOBTXN_VERSION_PATCH,
	       JT_BENCH_GIT_COMMIT, cpus_online(), cpus_usable(), mode_name(o), o->seconds, o->runs,
	       o->threads, o->max_threads, o->inflight_jobs, o->soak_seconds, POOL_MAX_INFLIGHT,
	       o->pin ? "true" : "false");
	print_workloads(stdout, o, "\"", ", ");
	printf("], \"latency_samples_per_run\": %u, \"latency_gap_ns\": %d},\n  \"results\": [",
	       o->latency_samples, BENCH_LAT_GAP_NS);
	for (size_t i = 0; i < n; i++) {
		printf("%s\n    {\"workload\": \"%s\", \"impl\": \"%s\", \"group_jobs\": %u, "
		       "\"threads\": %u, \"runs\": %u, \"errors\": %u, \"txns_verified\": %llu",
		       i ? "," : "", bench_workload_name(r[i].workload), r[i].impl, r[i].group,
		       r[i].threads, r[i].runs, r[i].errors, ULL(r[i].txns));
		if (r[i].workload == WL_LATENCY)
			printf(",\n     \"lat_samples_per_run\": %u, \"lat_p50_ns\": %llu, "
			       "\"lat_p99_ns\": %llu, \"lat_p999_ns\": %llu, \"lat_max_ns\": %llu",
			       r[i].lat_samples, ULL(r[i].lat_p50_ns), ULL(r[i].lat_p99_ns),
			       ULL(r[i].lat_p999_ns), ULL(r[i].lat_max_ns));
		if (r[i].workload == WL_LATENCY)
			printf(",\n     \"floor_lat_p50_ns\": %llu, \"floor_lat_p99_ns\": %llu, "
			       "\"floor_lat_p999_ns\": %llu, \"floor_lat_max_ns\": %llu, "
			       "\"lat_p50_over_floor\": %.4f, \"lat_p99_over_floor\": %.4f",
			       ULL(r[i].floor_p50_ns), ULL(r[i].floor_p99_ns),
			       ULL(r[i].floor_p999_ns), ULL(r[i].floor_max_ns),
			       r[i].floor_ratio_p50, r[i].floor_ratio_p99);
		else if (r[i].workload == WL_IDLE)
			printf(",\n     \"cpu_ms_per_s\": %.4f", r[i].cpu_ms_per_s);
		else
			printf(",\n     \"ops_per_s\": %.0f, \"ops_per_s_min\": %.0f, "
			       "\"ops_per_s_max\": %.0f, \"ns_per_op\": %.2f",
			       r[i].ops_per_s, r[i].ops_per_s_min, r[i].ops_per_s_max,
			       r[i].ns_per_op);
		if (is_dispatch(r[i].workload))
			printf(", \"txns_per_s\": %.0f, \"ns_per_txn\": %.2f, "
			       "\"stream_ops_per_s\": %.0f, \"stream_ops_per_s_min\": %.0f, "
			       "\"stream_ops_per_s_max\": %.0f, \"stream_txns_per_s\": %.0f",
			       r[i].ops_per_s / r[i].group, r[i].ns_per_op * r[i].group,
			       r[i].stream_ops_per_s, r[i].stream_ops_per_s_min,
			       r[i].stream_ops_per_s_max, r[i].stream_ops_per_s / r[i].group);
		if (is_dispatch(r[i].workload))
			printf(", \"compl_ops_per_s\": %.0f", r[i].compl_ops_per_s);
		if (r[i].workload == WL_GROWTH || r[i].workload == WL_SOAK)
			printf(", \"txns_inflight\": %llu", ULL(r[i].txns_inflight));
		if (r[i].mem_bytes_per_txn > 0)
			printf(", \"mem_bytes_per_txn\": %.1f, \"mem_bytes_per_member\": %.1f",
			       r[i].mem_bytes_per_txn, bytes_per_member(&r[i]));
		if (r[i].workload == WL_SOAK) {
			printf(", \"rss_max_kib\": %llu,\n     \"series\": [",
			       ULL(r[i].rss_max_kib));
			for (size_t k = 0; k < r[i].nseries; k++)
				printf("%s{\"t_s\": %.2f, \"ops_per_s\": %.0f, \"txns_inflight\": "
				       "%llu, \"rss_kib\": %llu}",
				       k ? ", " : "", r[i].series[k].t_s, r[i].series[k].ops_per_s,
				       ULL(r[i].series[k].txns_inflight),
				       ULL(r[i].series[k].rss_kib));
			printf("]");
		}
		if (r[i].has_ratio) {
			printf(", \"peer\": \"%s\", \"ratio_jobtxn_over_peer\": %.4f, "
			       "\"ratio_of\": \"%s\",\n     \"ratio_min\": %.4f, \"ratio_max\": "
			       "%.4f, \"ratio_per_run\": [",
			       r[i].peer, r[i].ratio,
			       r[i].workload == WL_LATENCY ? "lat_p50_ns" : "ops_per_s",
			       r[i].ratio_min, r[i].ratio_max);
			for (unsigned k = 0; k < r[i].runs; k++)
				printf("%s%.4f", k ? ", " : "", r[i].run_ratios[k]);
			printf("]");
		}
		if (r[i].has_stats)
			print_json_stats(&r[i].stats);
		printf("}");
	}
	printf("\n  ],\n  \"errors\": %u\n}\n", total_errors(r, n));
}

/* ---- CSV ---- */

static void print_csv(FILE *f, const struct bench_opts *o, const struct config_result *r, size_t n)
{
	fprintf(f,
	        "# jt-bench jobtxn %d.%d.%d commit %s; %ld CPUs online, %d usable; mode %s, runs "
	        "%u, seconds_per_run %g, threads %u, max_threads %u, inflight_jobs %u, "
	        "soak_seconds %g, pin %s\n",
	        JOBTXN_VERSION_MAJOR, JOBTXN_VERSION_MINOR, JOBTXN_VERSION_PATCH,
	        JT_BENCH_GIT_COMMIT, cpus_online(), cpus_usable(), mode_name(o), o->runs,
	        o->seconds, o->threads, o->max_threads, o->inflight_jobs, o->soak_seconds,
	        o->pin ? "on" : "off");
	fprintf(f, "workload,impl,group_jobs,threads,runs,errors,txns_verified,ops_per_s,"
	           "ops_per_s_min,ops_per_s_max,ns_per_op,lat_p50_ns,lat_p99_ns,lat_p999_ns,"
	           "lat_max_ns,peer,ratio_jobtxn_over_peer,cpu_ms_per_s,txns_inflight,"
	           "mem_bytes_per_txn,mem_bytes_per_member,rss_max_kib,stats_txns_retired,"
	           "stats_retire_latency_p50_ns,stats_retire_latency_p99_ns,ratio_min,ratio_max,"
	           "floor_lat_p50_ns,floor_lat_p99_ns,lat_p50_over_floor,lat_p99_over_floor,"
	           "stream_ops_per_s,compl_ops_per_s\n");
	for (size_t i = 0; i < n; i++) {
		fprintf(f, "%s,%s,%u,%u,%u,%u,%llu,", bench_workload_name(r[i].workload), r[i].impl,
		        r[i].group, r[i].threads, r[i].runs, r[i].errors, ULL(r[i].txns));
		if (is_throughput(r[i].workload))
			fprintf(f, "%.0f,%.0f,%.0f,%.2f,", r[i].ops_per_s, r[i].ops_per_s_min,
			        r[i].ops_per_s_max, r[i].ns_per_op);
		else
			fprintf(f, ",,,,");
		if (r[i].workload == WL_LATENCY)
			fprintf(f, "%llu,%llu,%llu,%llu,", ULL(r[i].lat_p50_ns),
			        ULL(r[i].lat_p99_ns), ULL(r[i].lat_p999_ns), ULL(r[i].lat_max_ns));
		else
			fprintf(f, ",,,,");
		if (r[i].has_ratio)
			fprintf(f, "%s,%.4f,", r[i].peer, r[i].ratio);
		else
			fprintf(f, ",,");
		if (r[i].workload == WL_IDLE)
			fprintf(f, "%.4f,", r[i].cpu_ms_per_s);
		else
			fprintf(f, ",");
		if (r[i].workload == WL_GROWTH || r[i].workload == WL_SOAK)
			fprintf(f, "%llu,", ULL(r[i].txns_inflight));
		else
			fprintf(f, ",");
		if (r[i].mem_bytes_per_txn > 0)
			fprintf(f, "%.1f,%.1f,", r[i].mem_bytes_per_txn, bytes_per_member(&r[i]));
		else
			fprintf(f, ",,");
		if (r[i].workload == WL_SOAK)
			fprintf(f, "%llu,", ULL(r[i].rss_max_kib));
		else
			fprintf(f, ",");
		if (r[i].has_stats)
			fprintf(f, "%llu,%llu,%llu,", ULL(r[i].stats.txns_retired),
			        ULL(r[i].stats.retire_latency_p50_ns),
			        ULL(r[i].stats.retire_latency_p99_ns));
		else
			fprintf(f, ",,,");
		if (r[i].has_ratio)
			fprintf(f, "%.4f,%.4f,", r[i].ratio_min, r[i].ratio_max);
		else
			fprintf(f, ",,");
		if (r[i].workload == WL_LATENCY)
			fprintf(f, "%llu,%llu,%.4f,%.4f,", ULL(r[i].floor_p50_ns),
			        ULL(r[i].floor_p99_ns), r[i].floor_ratio_p50, r[i].floor_ratio_p99);
		else
			fprintf(f, ",,,,");
		if (is_dispatch(r[i].workload))
			fprintf(f, "%.0f,%.0f\n", r[i].stream_ops_per_s, r[i].compl_ops_per_s);
		else
			fprintf(f, ",\n");
	}
}

void report_print(const struct bench_opts *o, const struct config_result *r, size_t n)
{
	switch (o->format) {
	case FMT_JSON:
		print_json(o, r, n);
		break;
	case FMT_CSV:
		print_csv(stdout, o, r, n);
		break;
	default:
		print_text(o, r, n);
		break;
	}
	fflush(stdout);
	if (o->csv_file) {
		FILE *f = fopen(o->csv_file, "w");

		if (!f || (print_csv(f, o, r, n), fclose(f) != 0))
			fprintf(stderr, "jt-bench: cannot write %s\n", o->csv_file);
	}
}
