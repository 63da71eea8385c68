/*
 * jt_bench.c - jt-bench: options, the list of configurations, alternating
 * runs (jobtxn, peer, jobtxn, ...), medians. Progress goes to stderr,
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
	const struct bench_impl *peer;  /* also run on it, alternately; NULL: jobtxn only */
	const struct bench_impl *peer2; /* and on this one in the same rounds (pool: TBB) */
};

typedef void wl_fn(const struct bench_impl *impl, const struct wl_params *p,
                   struct run_result *out);

/* The workloads: --workload name, and the function that runs one run. */
static const struct {
	const char *name;
	wl_fn *run;
} workloads[WL_COUNT] = {
        /* user threads complete prebuilt txns */
        [WL_FANIN] = {"fanin", wl_fanin},
        /* jt_job_submit on the workers; libuv */
        [WL_POOL] = {"pool", wl_pool},
        /* one thread, poll mode, begin..retire */
        [WL_BUILD] = {"build", wl_build},
        /* idle dispatcher: completion -> done */
        [WL_LATENCY] = {"latency", wl_latency},
        /* fanin, 1..max_threads completers */
        [WL_SCALING] = {"scaling", wl_fanin},
        /* 10^6 txns in flight; memory */
        [WL_GROWTH] = {"growth", wl_growth},
        /* CPU of a runtime with nothing to do */
        [WL_IDLE] = {"idle", wl_idle},
        /* long mixed run, series per second */
        [WL_SOAK] = {"soak", wl_soak},
        /* one dispatcher's txns/s */
        [WL_DISPATCH] = {"dispatch", wl_dispatch},
        /* the same, poll mode */
        [WL_DISPATCH_POLL] = {"dispatch-poll", wl_dispatch_poll},
        /* io_uring group commit: its own runs and table (main, wl_uring.c) */
        [WL_URING] = {"uring", NULL},
};

const char *bench_workload_name(enum bench_workload w)
{
	return workloads[w].name;
}

_Noreturn void bench_fatal(const char *file, int line, const char *what, int err)
{
	fprintf(stderr, "jt-bench: %s:%d: %s failed: %s (%d)\n", file, line, what, strerror(-err),
	        err);
	fflush(stdout);
	_exit(2);
}

uint64_t bench_rss_kib(void)
{
	unsigned long long size, resident;
	FILE *f = fopen("/proc/self/statm", "r");
	int n;

	if (!f)
		return 0;
	n = fscanf(f, "%llu %llu", &size, &resident);
	fclose(f);
	return n == 2 ? resident * (uint64_t)sysconf(_SC_PAGESIZE) / 1024 : 0;
}

static void usage(FILE *f)
{
	fprintf(f,
	        "usage: jt-bench [--quick] [--seconds S] [--runs N] [--threads T]\n"
	        "                [--max-threads N] [--inflight JOBS] [--soak-seconds S]\n"
	        "                [--workload NAME[,NAME]] [--json|--csv] [--csv-file PATH]\n"
	        "                [--no-peers] [--no-pin] [--group G]\n"
	        "  --quick          short demo: 3 runs x 0.1 s per configuration\n"
	        "  --seconds S      timed seconds per run (default 1; quick 0.1)\n"
	        "  --runs N         runs per configuration and implementation (default 5; quick "
	        "3)\n"
	        "  --threads T      fanin completer threads and pool workers (default 2)\n"
	        "  --max-threads N  scaling: 1..N completer threads (default 2 x CPUs online,\n"
	        "                   at most 32)\n"
	        "  --inflight JOBS  growth: jobs in flight per round (default 1048576; quick "
	        "65536)\n"
	        "  --soak-seconds S length of the soak run (default 20; quick 1)\n"
	        "  --workload       fanin, pool, build, latency, scaling, growth, idle, soak,\n"
	        "                   dispatch, dispatch-poll, uring\n"
	        "                   (default: all but uring; bench/wl_uring.c)\n"
	        "  --json, --csv    machine-readable results on stdout instead of the table\n"
	        "  --csv-file PATH  also write the CSV to PATH\n"
	        "  --no-peers       run jobtxn only (strace -c of jobtxn alone)\n"
	        "  --no-pin         latency, dispatch: pin no thread (default: the thread\n"
	        "                   under test alone on one CPU, the bench on another)\n"
	        "  --group G        fanin, build, growth, dispatch: jobs per txn G only\n"
	        "                   (default: the sweeps 1,64,4096 / 1,64 / 1,16,256,4096,65536;\n"
	        "                   dispatch 1)\n");
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
	        {"max-threads", required_argument, NULL, 'm'},
	        {"inflight", required_argument, NULL, 'i'},
	        {"soak-seconds", required_argument, NULL, 'k'},
	        {"csv-file", required_argument, NULL, 'f'},
	        {"no-peers", no_argument, NULL, 'n'},
	        {"no-pin", no_argument, NULL, 'p'},
	        {"group", required_argument, NULL, 'g'},
	        {"json", no_argument, NULL, 'j'},
	        {"csv", no_argument, NULL, 'c'},
	        {"help", no_argument, NULL, 'h'},
	        {NULL, 0, NULL, 0},
	};
	double seconds = 0, soak = 0;
	unsigned runs = 0, inflight = 0;
	long cpus = sysconf(_SC_NPROCESSORS_ONLN);
	int c;

	*o = (struct bench_opts){.threads = 2,
	                         .max_threads = cpus > 0 && cpus <= 16 ? 2 * (unsigned)cpus : 32,
	                         .workloads = ((1u << WL_COUNT) - 1) & ~(1u << WL_URING),
	                         .pin = true};
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
		case 'm':
			o->max_threads = (unsigned)parse_ulong(optarg, 1, 32,
			                                       "bad --max-threads '%s' (1..32)");
			break;
		case 'i':
			inflight = (unsigned)parse_ulong(optarg, 1, 1u << 24,
			                                 "bad --inflight '%s' (1..16777216)");
			break;
		case 'k':
			soak = strtod(optarg, &end);
			if (end == optarg || *end || !(soak > 0 && soak <= 86400))
				bad_usage("bad --soak-seconds '%s' (0 < S <= 86400)", optarg);
			break;
		case 'f':
			o->csv_file = optarg;
			break;
		case 'n':
			o->no_peers = true;
			break;
		case 'p':
			o->pin = false;
			break;
		case 'g':
			o->group = (unsigned)parse_ulong(optarg, 1, 1u << 20,
			                                 "bad --group '%s' (1..1048576)");
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
	o->inflight_jobs = inflight ? inflight : o->quick ? 1u << 16 : 1u << 20;
	o->soak_seconds = soak > 0 ? soak : o->quick ? 1 : 20;
	/* ~250 us per sample (gap + timer slack); at least 1000 per run */
	o->latency_samples = (unsigned)(o->seconds / 250e-6);
	if (o->latency_samples < 1000)
		o->latency_samples = 1000;
}

#define MAX_CONFIGS 64

static size_t list_configs(const struct bench_opts *o, struct config *c)
{
	static const unsigned fanin_sweep[] = {1, 64, 4096}, build_sweep[] = {1, 64},
	                      growth_sweep[] = {1, 16, 256, 4096, 65536};
	const unsigned *fanin_g = fanin_sweep, *build_g = build_sweep, *growth_g = growth_sweep;
	size_t nfanin = 3, nbuild = 2, ngrowth = 5;
	const struct bench_impl *mutex = &bench_impl_mutex;
#ifdef JT_BENCH_TBB
	const struct bench_impl *pool_peer2 = &bench_impl_tbb;
#else
	const struct bench_impl *pool_peer2 = NULL;
#endif
	size_t n = 0;

	if (o->group != 0) { /* --group: one G instead of each sweep */
		fanin_g = build_g = growth_g = &o->group;
		nfanin = nbuild = ngrowth = 1;
	}
	if (o->workloads & (1u << WL_FANIN))
		for (size_t i = 0; i < nfanin; i++)
			c[n++] = (struct config){WL_FANIN, fanin_g[i], o->threads, mutex, NULL};
	if (o->workloads & (1u << WL_POOL))
		for (unsigned g = 64; g <= 4096; g *= 64)
			c[n++] = (struct config){WL_POOL, g, o->threads, &bench_impl_libuv,
			                         pool_peer2};
	if (o->workloads & (1u << WL_BUILD))
		for (size_t i = 0; i < nbuild; i++)
			c[n++] = (struct config){WL_BUILD, build_g[i], 1, mutex, NULL};
	if (o->workloads & (1u << WL_LATENCY))
		c[n++] = (struct config){WL_LATENCY, 1, 1, mutex, NULL};
	if (o->workloads & (1u << WL_DISPATCH))
		c[n++] = (struct config){WL_DISPATCH, o->group ? o->group : 1, 1, mutex, NULL};
	if (o->workloads & (1u << WL_DISPATCH_POLL))
		c[n++] = (struct config){WL_DISPATCH_POLL, o->group ? o->group : 1, 1, mutex, NULL};
	if (o->workloads & (1u << WL_SCALING))
		for (unsigned t = 1; t <= o->max_threads && n < MAX_CONFIGS - 8; t++)
			c[n++] = (struct config){WL_SCALING, 64, t, mutex, NULL};
	if (o->workloads & (1u << WL_GROWTH))
		for (size_t i = 0; i < ngrowth; i++)
			if (growth_g[i] <= o->inflight_jobs)
				c[n++] = (struct config){WL_GROWTH, growth_g[i], 1, mutex, NULL};
	if (o->workloads & (1u << WL_IDLE))
		c[n++] = (struct config){WL_IDLE, 0, o->threads, mutex, NULL};
	if (o->workloads & (1u << WL_SOAK))
		c[n++] = (struct config){WL_SOAK, 0, o->threads, NULL, NULL};
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

static double median_of(const struct run_result *rr, unsigned runs, double *v,
                        double (*field)(const struct run_result *r))
{
	for (unsigned r = 0; r < runs; r++)
		v[r] = field(&rr[r]);
	return median(v, runs);
}

static double f_ops(const struct run_result *r)
{
	return r->ops_per_s;
}
static double f_p50(const struct run_result *r)
{
	return (double)r->lat_p50_ns;
}
static double f_p99(const struct run_result *r)
{
	return (double)r->lat_p99_ns;
}
static double f_p999(const struct run_result *r)
{
	return (double)r->lat_p999_ns;
}
static double f_max(const struct run_result *r)
{
	return (double)r->lat_max_ns;
}
static double f_floor_p50(const struct run_result *r)
{
	return (double)r->floor_p50_ns;
}
static double f_floor_p99(const struct run_result *r)
{
	return (double)r->floor_p99_ns;
}
static double f_floor_p999(const struct run_result *r)
{
	return (double)r->floor_p999_ns;
}
static double f_floor_max(const struct run_result *r)
{
	return (double)r->floor_max_ns;
}
static double f_over_floor_p50(const struct run_result *r)
{
	return (double)r->lat_p50_ns / (double)r->floor_p50_ns;
}
static double f_over_floor_p99(const struct run_result *r)
{
	return (double)r->lat_p99_ns / (double)r->floor_p99_ns;
}
static double f_ufloor_p50(const struct run_result *r)
{
	return (double)r->ufloor_p50_ns;
}
static double f_ufloor_p99(const struct run_result *r)
{
	return (double)r->ufloor_p99_ns;
}
static double f_over_ufloor_p50(const struct run_result *r)
{
	return (double)r->lat_p50_ns / (double)r->ufloor_p50_ns;
}
static double f_stream(const struct run_result *r)
{
	return r->stream_ops_per_s;
}
static double f_compl(const struct run_result *r)
{
	return r->compl_ops_per_s;
}
static double f_cpu(const struct run_result *r)
{
	return r->cpu_ms_per_s;
}
static double f_mem(const struct run_result *r)
{
	return r->mem_bytes_per_txn;
}

static void aggregate(const struct config *c, const char *impl, unsigned runs,
                      struct run_result *rr, struct config_result *cr)
{
	double *v = malloc(runs * sizeof(*v));

	if (!v)
		bench_fatal(__FILE__, __LINE__, "malloc", -ENOMEM);
	*cr = (struct config_result){.workload = c->workload,
	                             .impl = impl,
	                             .group = c->group,
	                             .threads = c->threads,
	                             .runs = runs,
	                             .has_stats = rr[0].has_stats,
	                             .stats = rr[0].stats,
	                             .txns_inflight = rr[0].txns_inflight,
	                             .rss_max_kib = rr[0].rss_max_kib,
	                             .series = rr[0].series,
	                             .nseries = rr[0].nseries};
	for (unsigned r = 0; r < runs; r++) {
		cr->errors += rr[r].errors;
		cr->txns += rr[r].txns;
		if (r > 0)
			free(rr[r].series);
	}
	if (c->workload == WL_LATENCY) {
		cr->lat_p50_ns = (uint64_t)median_of(rr, runs, v, f_p50);
		cr->lat_p99_ns = (uint64_t)median_of(rr, runs, v, f_p99);
		cr->lat_p999_ns = (uint64_t)median_of(rr, runs, v, f_p999);
		cr->lat_max_ns = (uint64_t)median_of(rr, runs, v, f_max);
		cr->floor_p50_ns = (uint64_t)median_of(rr, runs, v, f_floor_p50);
		cr->floor_p99_ns = (uint64_t)median_of(rr, runs, v, f_floor_p99);
		cr->floor_p999_ns = (uint64_t)median_of(rr, runs, v, f_floor_p999);
		cr->floor_max_ns = (uint64_t)median_of(rr, runs, v, f_floor_max);
		cr->floor_ratio_p50 = median_of(rr, runs, v, f_over_floor_p50);
		cr->ufloor_p50_ns = (uint64_t)median_of(rr, runs, v, f_ufloor_p50);
		cr->ufloor_p99_ns = (uint64_t)median_of(rr, runs, v, f_ufloor_p99);
		cr->ufloor_ratio_p50 = median_of(rr, runs, v, f_over_ufloor_p50);
		cr->floor_ratio_p99 = median_of(rr, runs, v, f_over_floor_p99);
	} else if (c->workload == WL_IDLE) {
		cr->cpu_ms_per_s = median_of(rr, runs, v, f_cpu);
	} else {
		cr->ops_per_s = median_of(rr, runs, v, f_ops);
		cr->ops_per_s_min = v[0];
		cr->ops_per_s_max = v[runs - 1];
		cr->ns_per_op = cr->ops_per_s > 0 ? 1e9 / cr->ops_per_s : 0;
		cr->mem_bytes_per_txn = median_of(rr, runs, v, f_mem);
		cr->stream_ops_per_s = median_of(rr, runs, v, f_stream);
		cr->stream_ops_per_s_min = v[0];
		cr->stream_ops_per_s_max = v[runs - 1];
		cr->compl_ops_per_s = median_of(rr, runs, v, f_compl);
	}
	free(v);
}

/* The ratio of one pair of runs, jobtxn's run r over the peer's: ops/s, or p50 for latency. */
static double run_ratio(const struct config *c, const struct run_result *jx,
                        const struct run_result *peer)
{
	if (c->workload == WL_LATENCY)
		return (double)jx->lat_p50_ns / (double)peer->lat_p50_ns;
	return jx->ops_per_s / peer->ops_per_s;
}

/* `pair`: jobtxn's run of this round, when `r` is the peer's; else NULL. */
static void progress(const struct config *c, const char *impl, unsigned run, unsigned runs,
                     const struct run_result *r, const struct run_result *pair)
{
	fprintf(stderr,
	        "jt-bench: %-7s G=%-5u T=%-2u %-6s run %u/%u: ", bench_workload_name(c->workload),
	        c->group, c->threads, impl, run + 1, runs);
	if (c->workload == WL_LATENCY)
		fprintf(stderr,
		        "p50 %.1f us, p99 %.1f us; futex floor p50 %.1f us, p99 %.1f us; "
		        "unpinned floor p50 %.1f us, p99 %.1f us",
		        r->lat_p50_ns / 1e3, r->lat_p99_ns / 1e3, r->floor_p50_ns / 1e3,
		        r->floor_p99_ns / 1e3, r->ufloor_p50_ns / 1e3, r->ufloor_p99_ns / 1e3);
	else if (c->workload == WL_IDLE)
		fprintf(stderr, "%.2f ms CPU per s", r->cpu_ms_per_s);
	else if (c->workload == WL_DISPATCH || c->workload == WL_DISPATCH_POLL)
		fprintf(stderr,
		        "full queue %.2f M txns/s (%.1f ns/txn), streaming %.2f M, completer "
		        "alone %.2f M",
		        r->ops_per_s / c->group / 1e6, 1e9 * c->group / r->ops_per_s,
		        r->stream_ops_per_s / c->group / 1e6, r->compl_ops_per_s / c->group / 1e6);
	else
		fprintf(stderr, "%.2f M jobs/s", r->ops_per_s / 1e6);
	if (pair && c->workload != WL_IDLE)
		fprintf(stderr, " (jobtxn/%s this run: %.2f)", impl, run_ratio(c, pair, r));
	fprintf(stderr, "%s\n", r->errors ? "  ** ERROR **" : "");
}

/* The per-round ratios of jobtxn (runs jr) over a peer (runs pr) into `jx`. */
static void round_ratios(const struct config *c, unsigned runs, const struct run_result *jr,
                         const struct config_result *peer, const struct run_result *pr,
                         struct config_result *jx)
{
	jx->peer = peer->impl;
	jx->has_ratio = true;
	jx->ratio = c->workload == WL_LATENCY ? (double)jx->lat_p50_ns / (double)peer->lat_p50_ns
	                                      : jx->ops_per_s / peer->ops_per_s;
	jx->run_ratios = malloc(runs * sizeof(double));
	if (!jx->run_ratios)
		bench_fatal(__FILE__, __LINE__, "malloc", -ENOMEM);
	for (unsigned r = 0; r < runs; r++) {
		double x = run_ratio(c, &jr[r], &pr[r]);

		jx->run_ratios[r] = x;
		jx->ratio_min = r == 0 || x < jx->ratio_min ? x : jx->ratio_min;
		jx->ratio_max = r == 0 || x > jx->ratio_max ? x : jx->ratio_max;
	}
}

/*
 * Runs one configuration: jobtxn, peer[, peer2], jobtxn, peer[, peer2], ...
 * Fills 1, 2 or (with peer2) 4 results: jobtxn with its ratios to peer,
 * peer, then jobtxn again with its ratios to peer2, and peer2.
 */
static size_t run_config(const struct bench_opts *o, const struct config *c,
                         struct config_result *out)
{
	const struct bench_impl *impls[3] = {&bench_impl_jobtxn, c->peer, c->peer2};
	const size_t nimpl = !c->peer || o->no_peers ? 1 : c->peer2 ? 3 : 2;
	const unsigned runs = c->workload == WL_SOAK ? 1 : o->runs;
	struct run_result *rr = calloc(3 * (size_t)runs, sizeof(*rr));
	struct config_result agg[3];
	char tag[3][96];
	size_t nout = 0;

	if (!rr)
		bench_fatal(__FILE__, __LINE__, "calloc", -ENOMEM);
	for (unsigned r = 0; r < runs; r++) {
		for (size_t i = 0; i < nimpl; i++) {
			struct wl_params p = {.group = c->group,
			                      .threads = c->threads,
			                      .seconds = c->workload == WL_SOAK ? o->soak_seconds
			                                                        : o->seconds,
			                      .samples = o->latency_samples,
			                      .inflight_jobs = o->inflight_jobs,
			                      .pin = o->pin,
			                      .tag = tag[i]};

			snprintf(tag[i], sizeof(tag[i]), "%s/%s G=%u T=%u run %u",
			         bench_workload_name(c->workload), impls[i]->name, c->group,
			         c->threads, r + 1);
			workloads[c->workload].run(impls[i], &p, &rr[i * runs + r]);
			progress(c, impls[i]->name, r, runs, &rr[i * runs + r], i ? &rr[r] : NULL);
		}
	}
	for (size_t i = 0; i < nimpl; i++) {
		aggregate(c, impls[i]->name, runs, &rr[i * runs], &agg[i]);
		if (c->workload == WL_LATENCY)
			agg[i].lat_samples = o->latency_samples;
	}
	out[nout] = agg[0];
	if (nimpl >= 2 && c->workload != WL_IDLE)
		round_ratios(c, runs, rr, &agg[1], &rr[runs], &out[nout]);
	nout++;
	for (size_t i = 1; i < nimpl; i++) {
		if (i == 2) { /* jobtxn's row again, against peer2 (its series stays in row 0) */
			out[nout] = agg[0];
			out[nout].series = NULL;
			out[nout].nseries = 0;
			out[nout].errors = 0;
			round_ratios(c, runs, rr, &agg[2], &rr[2 * runs], &out[nout]);
			nout++;
		}
		out[nout++] = agg[i];
	}
	free(rr);
	return nout;
}

int main(int argc, char **argv)
{
	struct bench_opts o;
	struct config configs[MAX_CONFIGS];
	struct config_result results[3 * MAX_CONFIGS];
	size_t nconf, nres = 0;
	unsigned errors = 0;
	uint64_t t0 = bench_now_ns();
	char uv_threads[16];

	parse_opts(argc, argv, &o);
	if (o.workloads & (1u << WL_URING)) { /* its own runs and table (wl_uring.c) */
#ifdef JT_BENCH_URING
		errors = (unsigned)bench_uring_run(&o);
#else
		fprintf(stderr, "jt-bench: built without liburing: no uring workload\n");
		return 64;
#endif
		if (o.workloads == (1u << WL_URING))
			return errors ? 1 : 0;
	}
	/* libuv reads it once, when its pool starts: our worker count */
	snprintf(uv_threads, sizeof(uv_threads), "%u", o.threads);
	setenv("UV_THREADPOOL_SIZE", uv_threads, 1);
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
	for (size_t i = 0; i < nres; i++) {
		free(results[i].series);
		free(results[i].run_ratios);
	}
	return errors ? 1 : 0;
}
