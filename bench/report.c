/*
 * report.c - results on stdout: a table (default), JSON or CSV. Units are
 * in the field names; ops are jobs.
 */
#include <sched.h>
#include <stdio.h>
#include <unistd.h>

#include "bench.h"

#define ULL(x) ((unsigned long long)(x))

const char *bench_workload_name(enum bench_workload w)
{
	static const char *const names[WL_COUNT] = {"fanin", "pool", "build", "latency"};

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

static void print_text(const struct bench_opts *o, const struct config_result *r, size_t n)
{
	unsigned errors = total_errors(r, n), runs = 0;
	unsigned long long txns = 0;
	bool any_thr = false, any_lat = false, any_stats = false;

	printf("jt-bench: jobtxn %d.%d.%d, %ld CPUs online, %d usable; mode %s: %u runs x %.2f s "
	       "per configuration and implementation, threads %u, workloads ",
	       JOBTXN_VERSION_MAJOR, JOBTXN_VERSION_MINOR, JOBTXN_VERSION_PATCH, cpus_online(),
	       cpus_usable(), mode_name(o), o->runs, o->seconds, o->threads);
	print_workloads(stdout, o, "", ",");
	printf("\npeer \"mutex\": the same contract with one pthread mutex + condition variables "
	       "(bench/mutex_peer.c);\nruns alternate jobtxn, mutex, jobtxn, ...; medians over "
	       "runs\n");
	for (size_t i = 0; i < n; i++) {
		any_lat |= r[i].workload == WL_LATENCY;
		any_thr |= r[i].workload != WL_LATENCY;
		any_stats |= r[i].has_stats;
		runs += r[i].runs;
		txns += r[i].txns;
	}
	if (any_thr) {
		printf("\nThroughput (ops = jobs; ratio = jobtxn/mutex of median jobs/s, > 1: "
		       "jobtxn "
		       "faster)\n"
		       "  fanin: T threads complete prebuilt, armed jobs (built outside the "
		       "timing); "
		       "first completion -> drain\n"
		       "  pool:  jt_job_submit of trivial jobs, T workers; first begin -> drain\n"
		       "  build: one thread, poll mode: begin, add, arm, commit, complete, "
		       "poll\n\n");
		printf("%-8s %-7s %5s %7s %14s %9s %23s %7s\n", "workload", "impl", "G", "threads",
		       "median jobs/s", "ns/job", "min .. max jobs/s", "ratio");
		for (size_t i = 0; i < n; i++) {
			char med[32], lo[32], hi[32], range[72], ratio[16] = "";

			if (r[i].workload == WL_LATENCY)
				continue;
			rate(med, sizeof(med), r[i].ops_per_s);
			rate(lo, sizeof(lo), r[i].ops_per_s_min);
			rate(hi, sizeof(hi), r[i].ops_per_s_max);
			snprintf(range, sizeof(range), "%s .. %s", lo, hi);
			if (r[i].has_ratio)
				snprintf(ratio, sizeof(ratio), "%.2f", r[i].ratio);
			else if (r[i].workload == WL_POOL)
				snprintf(ratio, sizeof(ratio), "-");
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
	       "  \"cpus_online\": %ld,\n  \"cpus_usable\": %d,\n"
	       "  \"options\": {\"mode\": \"%s\", \"seconds_per_run\": %g, \"runs\": %u, "
	       "\"threads\": %u, \"workloads\": [",
	       JOBTXN_VERSION_MAJOR, JOBTXN_VERSION_MINOR, JOBTXN_VERSION_PATCH, cpus_online(),
	       cpus_usable(), mode_name(o), o->seconds, o->runs, o->threads);
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
		else
			printf(",\n     \"ops_per_s\": %.0f, \"ops_per_s_min\": %.0f, "
			       "\"ops_per_s_max\": %.0f, \"ns_per_op\": %.2f",
			       r[i].ops_per_s, r[i].ops_per_s_min, r[i].ops_per_s_max,
			       r[i].ns_per_op);
		if (r[i].has_ratio)
			printf(", \"ratio_jobtxn_over_peer\": %.4f, \"ratio_of\": \"%s\"",
			       r[i].ratio,
			       r[i].workload == WL_LATENCY ? "lat_p50_ns" : "ops_per_s");
		if (r[i].has_stats)
			print_json_stats(&r[i].stats);
		printf("}");
	}
	printf("\n  ],\n  \"errors\": %u\n}\n", total_errors(r, n));
}

/* ---- CSV ---- */

static void print_csv(const struct config_result *r, size_t n)
{
	printf("workload,impl,group_jobs,threads,runs,errors,txns_verified,ops_per_s,ops_per_s_min,"
	       "ops_per_s_max,ns_per_op,lat_p50_ns,lat_p99_ns,lat_p999_ns,lat_max_ns,"
	       "ratio_jobtxn_over_peer,stats_txns_retired,stats_retire_latency_p50_ns,"
	       "stats_retire_latency_p99_ns\n");
	for (size_t i = 0; i < n; i++) {
		printf("%s,%s,%u,%u,%u,%u,%llu,", bench_workload_name(r[i].workload), r[i].impl,
		       r[i].group, r[i].threads, r[i].runs, r[i].errors, ULL(r[i].txns));
		if (r[i].workload == WL_LATENCY)
			printf(",,,,%llu,%llu,%llu,%llu,", ULL(r[i].lat_p50_ns),
			       ULL(r[i].lat_p99_ns), ULL(r[i].lat_p999_ns), ULL(r[i].lat_max_ns));
		else
			printf("%.0f,%.0f,%.0f,%.2f,,,,,", r[i].ops_per_s, r[i].ops_per_s_min,
			       r[i].ops_per_s_max, r[i].ns_per_op);
		if (r[i].has_ratio)
			printf("%.4f", r[i].ratio);
		if (r[i].has_stats)
			printf(",%llu,%llu,%llu\n", ULL(r[i].stats.txns_retired),
			       ULL(r[i].stats.retire_latency_p50_ns),
			       ULL(r[i].stats.retire_latency_p99_ns));
		else
			printf(",,,\n");
	}
}

void report_print(const struct bench_opts *o, const struct config_result *r, size_t n)
{
	switch (o->format) {
	case FMT_JSON:
		print_json(o, r, n);
		break;
	case FMT_CSV:
		print_csv(r, n);
		break;
	default:
		print_text(o, r, n);
		break;
	}
	fflush(stdout);
}
