/*
 * report.c - results on stdout: a table (default), JSON or CSV. Units are
 * in the field names; ops are jobs.
 */
#include <sched.h>
#include <stdio.h>
#include <unistd.h>

#include "bench.h"
#include "git_commit.h"

#define ULL(x) ((unsigned long long)(x))

const char *bench_workload_name(enum bench_workload w)
{
	static const char *const names[WL_COUNT] = {"fanin",  "pool", "build", "latency", "scaling",
	                                            "growth", "idle", "soak",  "uring"};

	return names[w];
}

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

static void print_text(const struct bench_opts *o, const struct config_result *r, size_t n)
{
	unsigned errors = total_errors(r, n), runs = 0;
	unsigned long long txns = 0;
	bool any_thr = false, any_lat = false, any_stats = false;

	printf("jt-bench: jobtxn %d.%d.%d, commit %s, %ld CPUs online, %d usable\nmode %s: %u runs "
	       "x %.2f s per configuration and implementation, threads %u, max threads %u, "
	       "inflight %u jobs, soak %.1f s, workloads ",
	       JOBTXN_VERSION_MAJOR, JOBTXN_VERSION_MINOR, JOBTXN_VERSION_PATCH,
	       JT_BENCH_GIT_COMMIT, cpus_online(), cpus_usable(), mode_name(o), o->runs, o->seconds,
	       o->threads, o->max_threads, o->inflight_jobs, o->soak_seconds);
	print_workloads(stdout, o, "", ",");
	printf("\npeers: \"mutex\", the same contract with one pthread mutex + condition "
	       "variables (bench/mutex_peer.c);\n\"libuv\", uv_queue_work with a countdown in "
	       "after_work_cb (bench/libuv_peer.c, UV_THREADPOOL_SIZE = threads);\nruns alternate "
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

			if (!is_throughput(r[i].workload))
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
	if (any_lat) {
		printf("\nLatency: last job completion -> the txn's first member done, dispatcher "
		       "idle %d us before each sample\n(ratio = jobtxn/mutex of median p50, < 1: "
		       "jobtxn faster)\n\n",
		       BENCH_LAT_GAP_NS / 1000);
		printf("%-8s %-7s %12s %9s %9s %9s %9s %7s\n", "workload", "impl", "samples",
		       "p50 ns", "p99 ns", "p999 ns", "max ns", "ratio");
		for (size_t i = 0; i < n; i++) {
			char samples[32], ratio[16] = "";

			if (r[i].workload != WL_LATENCY)
				continue;
			snprintf(samples, sizeof(samples), "%ux%u", r[i].runs, r[i].lat_samples);
			if (r[i].has_ratio)
				snprintf(ratio, sizeof(ratio), "%.2f", r[i].ratio);
			printf("%-8s %-7s %12s %9llu %9llu %9llu %9llu %7s%s\n",
			       bench_workload_name(r[i].workload), r[i].impl, samples,
			       ULL(r[i].lat_p50_ns), ULL(r[i].lat_p99_ns), ULL(r[i].lat_p999_ns),
			       ULL(r[i].lat_max_ns), ratio, r[i].errors ? "  ERROR" : "");
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
	       "\"soak_seconds\": %g, \"pool_max_inflight_txns\": %d, \"workloads\": [",
	       JOBTXN_VERSION_MAJOR, JOBTXN_VERSION_MINOR, JOBTXN_VERSION_PATCH,
	       JT_BENCH_GIT_COMMIT, cpus_online(), cpus_usable(), mode_name(o), o->seconds, o->runs,
	       o->threads, o->max_threads, o->inflight_jobs, o->soak_seconds, POOL_MAX_INFLIGHT);
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
		else if (r[i].workload == WL_IDLE)
			printf(",\n     \"cpu_ms_per_s\": %.4f", r[i].cpu_ms_per_s);
		else
			printf(",\n     \"ops_per_s\": %.0f, \"ops_per_s_min\": %.0f, "
			       "\"ops_per_s_max\": %.0f, \"ns_per_op\": %.2f",
			       r[i].ops_per_s, r[i].ops_per_s_min, r[i].ops_per_s_max,
			       r[i].ns_per_op);
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
		if (r[i].has_ratio)
			printf(", \"peer\": \"%s\", \"ratio_jobtxn_over_peer\": %.4f, "
			       "\"ratio_of\": \"%s\"",
			       r[i].peer, r[i].ratio,
			       r[i].workload == WL_LATENCY ? "lat_p50_ns" : "ops_per_s");
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
	        "soak_seconds %g\n",
	        JOBTXN_VERSION_MAJOR, JOBTXN_VERSION_MINOR, JOBTXN_VERSION_PATCH,
	        JT_BENCH_GIT_COMMIT, cpus_online(), cpus_usable(), mode_name(o), o->runs,
	        o->seconds, o->threads, o->max_threads, o->inflight_jobs, o->soak_seconds);
	fprintf(f, "workload,impl,group_jobs,threads,runs,errors,txns_verified,ops_per_s,"
	           "ops_per_s_min,ops_per_s_max,ns_per_op,lat_p50_ns,lat_p99_ns,lat_p999_ns,"
	           "lat_max_ns,peer,ratio_jobtxn_over_peer,cpu_ms_per_s,txns_inflight,"
	           "mem_bytes_per_txn,mem_bytes_per_member,rss_max_kib,stats_txns_retired,"
	           "stats_retire_latency_p50_ns,stats_retire_latency_p99_ns\n");
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
			fprintf(f, "%llu,%llu,%llu\n", ULL(r[i].stats.txns_retired),
			        ULL(r[i].stats.retire_latency_p50_ns),
			        ULL(r[i].stats.retire_latency_p99_ns));
		else
			fprintf(f, ",,\n");
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
