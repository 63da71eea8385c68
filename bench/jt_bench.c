/*
 * jt_bench.c - jt-bench: options, the list of configurations, alternating
 * runs (jobtxn, mutex peer, jobtxn, ...), medians. Progress goes to stderr,
 * results to stdout (report.c). Exit status: 0, 1 if any run failed its
 * verification, 2 on a failed call, 3 on a hang, 64 on a usage error.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bench.h"

struct config {
	enum bench_workload workload;
	unsigned group, threads;
	bool peer; /* also run on the mutex peer, alternately */
};

typedef void wl_fn(const struct bench_impl *impl, const struct wl_params *p,
                   struct run_result *out);

static wl_fn *const wl_fns[WL_COUNT] = {wl_fanin, wl_pool, wl_build, wl_latency};

_Noreturn void bench_fatal(const char *file, int line, const char *what, int err)
{
	fprintf(stderr, "jt-bench: %s:%d: %s failed: %s (%d)\n", file, line, what, strerror(-err),
	        err);
	fflush(stdout);
	_exit(2);
}

static void usage(FILE *f)
{
	fprintf(f,
	        "usage: jt-bench [--quick] [--seconds S] [--runs N] [--threads T]\n"
	        "                [--workload NAME[,NAME]] [--json|--csv]\n"
	        "  --quick       short demo: 3 runs x 0.1 s per configuration (about 10 s)\n"
	        "  --seconds S   timed seconds per run (default 1; quick 0.1)\n"
	        "  --runs N      runs per configuration and implementation (default 5; quick 3)\n"
	        "  --threads T   fanin completer threads and pool workers (default 2)\n"
	        "  --workload    fanin, pool, build, latency (default: all)\n"
	        "  --json, --csv machine-readable results on stdout instead of the table\n");
}

static _Noreturn void bad_usage(const char *fmt, const char *arg)
{
	fprintf(stderr, "jt-bench: ");
	fprintf(stderr, fmt, arg);
	fputc('\n', stderr);
	usage(stderr);
	exit(64);
}

static unsigned long parse_ulong(const char *s, unsigned long lo, unsigned long hi,
                                 const char *what)
{
	char *end;
	unsigned long v;

	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno || end == s || *end || s[0] == '-' || v < lo || v > hi)
		bad_usage(what, s);
	return v;
}

static unsigned parse_workloads(const char *s)
{
	unsigned mask = 0;
	char *copy = strdup(s), *save = NULL;

	if (!copy)
		bench_fatal(__FILE__, __LINE__, "strdup", -ENOMEM);
	for (char *tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		unsigned w;

		for (w = 0; w < WL_COUNT && strcmp(tok, bench_workload_name(w)); w++)
			;
		if (w == WL_COUNT)
			bad_usage("unknown workload '%s'", tok);
		mask |= 1u << w;
	}
	free(copy);
	if (!mask)
		bad_usage("no workload in '%s'", s);
	return mask;
}

static void parse_opts(int argc, char **argv, struct bench_opts *o)
{
	static const struct option longopts[] = {
	        {"quick", no_argument, NULL, 'q'},
	        {"seconds", required_argument, NULL, 's'},
	        {"runs", required_argument, NULL, 'r'},
	        {"threads", required_argument, NULL, 't'},
	        {"workload", required_argument, NULL, 'w'},
	        {"json", no_argument, NULL, 'j'},
	        {"csv", no_argument, NULL, 'c'},
	        {"help", no_argument, NULL, 'h'},
	        {NULL, 0, NULL, 0},
	};
	double seconds = 0;
	unsigned runs = 0;
	int c;

	*o = (struct bench_opts){.threads = 2, .workloads = (1u << WL_COUNT) - 1};
	while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		char *end;

		switch (c) {
		case 'q':
			o->quick = true;
			break;
		case 's':
			seconds = strtod(optarg, &end);
			if (end == optarg || *end || !(seconds > 0 && seconds <= 3600))
				bad_usage("bad --seconds '%s' (0 < S <= 3600)", optarg);
			break;
		case 'r':
			runs = (unsigned)parse_ulong(optarg, 1, 1000, "bad --runs '%s' (1..1000)");
			break;
		case 't':
			o->threads = (unsigned)parse_ulong(optarg, 1, 1024,
			                                   "bad --threads '%s' (1..1024)");
			break;
		case 'w':
			o->workloads = parse_workloads(optarg);
			break;
		case 'j':
			o->format = FMT_JSON;
			break;
		case 'c':
			o->format = FMT_CSV;
			break;
		case 'h':
			usage(stdout);
			exit(0);
		default:
			usage(stderr);
			exit(64);
		}
	}
	if (optind < argc)
		bad_usage("unexpected argument '%s'", argv[optind]);
	o->seconds = seconds > 0 ? seconds : o->quick ? 0.1 : 1.0;
	o->runs = runs ? runs : o->quick ? 3 : 5;
	/* ~250 us per sample (gap + timer slack); at least 1000 per run */
	o->latency_samples = (unsigned)(o->seconds / 250e-6);
	if (o->latency_samples < 1000)
		o->latency_samples = 1000;
}

static size_t list_configs(const struct bench_opts *o, struct config *c)
{
	static const unsigned fanin_g[] = {1, 64, 4096}, build_g[] = {1, 64};
	size_t n = 0;

	if (o->workloads & (1u << WL_FANIN))
		for (size_t i = 0; i < sizeof(fanin_g) / sizeof(fanin_g[0]); i++)
			c[n++] = (struct config){WL_FANIN, fanin_g[i], o->threads, true};
	if (o->workloads & (1u << WL_POOL))
		c[n++] = (struct config){WL_POOL, 64, o->threads, false};
	if (o->workloads & (1u << WL_BUILD))
		for (size_t i = 0; i < sizeof(build_g) / sizeof(build_g[0]); i++)
			c[n++] = (struct config){WL_BUILD, build_g[i], 1, true};
	if (o->workloads & (1u << WL_LATENCY))
		c[n++] = (struct config){WL_LATENCY, 1, 1, true};
	return n;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static double median(double *v, unsigned n)
{
	qsort(v, n, sizeof(*v), cmp_double);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

static void aggregate(const struct bench_opts *o, const struct config *c, const char *impl,
                      const struct run_result *rr, struct config_result *cr)
{
	double *v = malloc(o->runs * sizeof(*v));
	uint64_t *const lat[4] = {&cr->lat_p50_ns, &cr->lat_p99_ns, &cr->lat_p999_ns,
	                          &cr->lat_max_ns};

	if (!v)
		bench_fatal(__FILE__, __LINE__, "malloc", -ENOMEM);
	*cr = (struct config_result){.workload = c->workload,
	                             .impl = impl,
	                             .group = c->group,
	                             .threads = c->threads,
	                             .runs = o->runs,
	                             .has_stats = rr[0].has_stats,
	                             .stats = rr[0].stats};
	for (unsigned r = 0; r < o->runs; r++) {
		cr->errors += rr[r].errors;
		cr->txns += rr[r].txns;
	}
	if (c->workload == WL_LATENCY) {
		cr->lat_samples = o->latency_samples;
		for (unsigned k = 0; k < 4; k++) {
			for (unsigned r = 0; r < o->runs; r++)
				v[r] = (double)(k == 0   ? rr[r].lat_p50_ns
				                : k == 1 ? rr[r].lat_p99_ns
				                : k == 2 ? rr[r].lat_p999_ns
				                         : rr[r].lat_max_ns);
			*lat[k] = (uint64_t)median(v, o->runs);
		}
	} else {
		for (unsigned r = 0; r < o->runs; r++)
			v[r] = rr[r].ops_per_s;
		cr->ops_per_s = median(v, o->runs);
		cr->ops_per_s_min = v[0];
		cr->ops_per_s_max = v[o->runs - 1];
		cr->ns_per_op = cr->ops_per_s > 0 ? 1e9 / cr->ops_per_s : 0;
	}
	free(v);
}

static void progress(const struct config *c, const char *impl, unsigned run, unsigned runs,
                     const struct run_result *r)
{
	fprintf(stderr,
	        "jt-bench: %-7s G=%-4u T=%u %-6s run %u/%u: ", bench_workload_name(c->workload),
	        c->group, c->threads, impl, run + 1, runs);
	if (c->workload == WL_LATENCY)
		fprintf(stderr, "p50 %.1f us, p99 %.1f us", r->lat_p50_ns / 1e3,
		        r->lat_p99_ns / 1e3);
	else
		fprintf(stderr, "%.2f M jobs/s", r->ops_per_s / 1e6);
	fprintf(stderr, "%s\n", r->errors ? "  ** ERROR **" : "");
}

/* Runs one configuration: jobtxn, peer, jobtxn, peer, ... Fills 1 or 2 results. */
static size_t run_config(const struct bench_opts *o, const struct config *c,
                         struct config_result *out)
{
	const struct bench_impl *impls[2] = {&bench_impl_jobtxn, &bench_impl_mutex};
	const size_t nimpl = c->peer ? 2 : 1;
	struct run_result *rr = calloc(2 * (size_t)o->runs, sizeof(*rr));
	char tag[2][96];

	if (!rr)
		bench_fatal(__FILE__, __LINE__, "calloc", -ENOMEM);
	for (unsigned r = 0; r < o->runs; r++) {
		for (size_t i = 0; i < nimpl; i++) {
			struct wl_params p = {.group = c->group,
			                      .threads = c->threads,
			                      .seconds = o->seconds,
			                      .samples = o->latency_samples,
			                      .tag = tag[i]};

			snprintf(tag[i], sizeof(tag[i]), "%s/%s G=%u T=%u run %u",
			         bench_workload_name(c->workload), impls[i]->name, c->group,
			         c->threads, r + 1);
			wl_fns[c->workload](impls[i], &p, &rr[i * o->runs + r]);
			progress(c, impls[i]->name, r, o->runs, &rr[i * o->runs + r]);
		}
	}
	for (size_t i = 0; i < nimpl; i++)
		aggregate(o, c, impls[i]->name, &rr[i * o->runs], &out[i]);
	if (nimpl == 2) {
		out[0].has_ratio = true;
		out[0].ratio = c->workload == WL_LATENCY
		                       ? (double)out[0].lat_p50_ns / (double)out[1].lat_p50_ns
		                       : out[0].ops_per_s / out[1].ops_per_s;
	}
	free(rr);
	return nimpl;
}

int main(int argc, char **argv)
{
	struct bench_opts o;
	struct config configs[16];
	struct config_result results[32];
	size_t nconf, nres = 0;
	unsigned errors = 0;
	uint64_t t0 = bench_now_ns();

	parse_opts(argc, argv, &o);
	nconf = list_configs(&o, configs);
	fprintf(stderr, "jt-bench: %zu configurations, %u runs x %.2f s each, per implementation\n",
	        nconf, o.runs, o.seconds);
	for (size_t i = 0; i < nconf; i++)
		nres += run_config(&o, &configs[i], &results[nres]);
	for (size_t i = 0; i < nres; i++)
		errors += results[i].errors;
	fprintf(stderr, "jt-bench: done in %.1f s, %u verification errors\n",
	        (double)(bench_now_ns() - t0) / 1e9, errors);
	report_print(&o, results, nres);
	return errors ? 1 : 0;
}
