/*
 * stress_txn.c - randomized multi-threaded stress test of jobtxn, meant to
 * run under ThreadSanitizer (a plain executable: Criterion's fork-based
 * runner does not mix with TSan).
 *
 *   stress_txn [--seconds N] [--seed S] [--threads T] [--builders B] [-v]
 *
 * Runtime configurations cycle in epochs (each about a second, shorter when
 * --seconds is under 4 so that every configuration runs): threaded default,
 * threaded JT_RUNTIME_ORDERED, JT_RUNTIME_POLL driven by a poller thread
 * (poll(2) on jt_runtime_fd + jt_runtime_poll), and a 2-worker pool with
 * max_inflight and a dispatcher that never spins. Each epoch:
 *   run      builder threads build and commit random txns (workload.c),
 *            completer threads complete their jobs, main walks the live txns
 *            and now and then drains with a short timeout (racing builders)
 *   quiesce  builders pause, jt_runtime_drain, every shadow record verified,
 *            jt_runtime_stats compared with the harness's own counts
 *   tail     an open txn makes jt_runtime_destroy say -EBUSY; then a burst
 *            of txns and, at once, jt_runtime_destroy while completers are
 *            still completing (and returning from jt_job_complete)
 * Ends with "N passed, M failed": N txns verified, M failed checks.
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include "stress.h"

struct options g_opt = {.seconds = 3, .seed = 0, .threads = 2, .builders = 2};
atomic_ullong g_failed;
atomic_ullong g_passed;

_Thread_local int tl_role;
_Thread_local int tl_in_commit;
_Thread_local int tl_in_wait;
_Thread_local int tl_in_complete;
_Thread_local int tl_in_newcb;
_Thread_local int tl_in_callback;

#define QUIESCE_TIMEOUT_NS (120LL * 1000000000LL)
#define TAIL_TXNS          8

struct config {
	const char *name;
	unsigned flags;
	unsigned workers;
	size_t max_inflight;
	int64_t spin_ns;
};

static const struct config g_configs[] = {
        {"threaded", 0, 0, 0, 0},
        {"ordered", JT_RUNTIME_ORDERED, 0, 0, 0},
        {"poll", JT_RUNTIME_POLL, 0, 0, 0},
        {"pool", 0, 2, 24, -1},
};
#define NCONFIGS (sizeof(g_configs) / sizeof(g_configs[0]))

/* ------------------------------------------------------------------ */
/* Time, watchdog                                                      */
/* ------------------------------------------------------------------ */

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void sleep_ns(uint64_t ns)
{
	struct timespec ts = {.tv_sec = (time_t)(ns / 1000000000ull),
	                      .tv_nsec = (long)(ns % 1000000000ull)};

	nanosleep(&ts, NULL);
}

static void print_result(void)
{
	printf("%llu passed, %llu failed\n", (unsigned long long)atomic_load(&g_passed),
	       (unsigned long long)atomic_load(&g_failed));
	fflush(stdout);
}

static _Noreturn void give_up(const char *why)
{
	stress_fail("%s", why);
	fflush(stderr);
	print_result();
	_exit(1);
}

/* Watchdog: a phase that overruns by WATCHDOG_SLACK_NS is a hang inside the
 * library (a lost wake-up, a lost job): report it instead of hanging. */
#define WATCHDOG_SLACK_NS (90ull * 1000000000ull)
static _Atomic(const char *) g_phase = "start";
static atomic_ullong g_phase_deadline;
static _Atomic(struct hrt *) g_watch_rt;

static int dump_fn(const struct jt_txn_info *i, void *arg);

static void phase(const char *name, uint64_t expected_ns)
{
	atomic_store(&g_phase_deadline, now_ns() + expected_ns + WATCHDOG_SLACK_NS);
	atomic_store(&g_phase, name);
}

static void *watchdog_main(void *arg)
{
	(void)arg;
	pthread_setname_np(pthread_self(), "stress-watchdog");
	for (;;) {
		struct hrt *h;

		sleep_ns(1000000000ull);
		if (now_ns() < atomic_load(&g_phase_deadline))
			continue;
		h = atomic_load(&g_watch_rt);
		fprintf(stderr, "watchdog: phase '%s' overran by 90 s (runtime %s)\n",
		        atomic_load(&g_phase), h != NULL ? h->name : "-");
		if (h != NULL) {
			int n = 0;

			/* Racy by nature, but we are about to _exit anyway. */
			jt_runtime_foreach_txn(h->rt, dump_fn, &n);
			fprintf(stderr,
			        "watchdog: %d live txns; begun %llu committed %llu "
			        "callbacks done %llu\n",
			        n, (unsigned long long)atomic_load(&h->begun),
			        (unsigned long long)atomic_load(&h->committed),
			        (unsigned long long)atomic_load(&h->retired_obs));
		}
		give_up("stall: a thread stayed blocked inside jobtxn (lost wake-up or lost job)");
	}
	return NULL;
}

/* ------------------------------------------------------------------ */
/* Builders                                                            */
/* ------------------------------------------------------------------ */

static pthread_mutex_t g_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t g_cv = PTHREAD_COND_INITIALIZER;
static struct hrt *g_cur;
static unsigned g_gen, g_idle;
static bool g_exit;
static atomic_int g_run;

static void *builder_main(void *arg)
{
	int id = (int)(intptr_t)arg;
	uint64_t rng = rng_seed(g_opt.seed, 100 + (uint64_t)id);
	uint64_t commit_no = 0;
	unsigned seen = 0;
	char name[16];

	tl_role = ROLE_BUILDER;
	snprintf(name, sizeof(name), "stress-bld-%d", id);
	pthread_setname_np(pthread_self(), name);
	pthread_mutex_lock(&g_mu);
	for (;;) {
		struct hrt *h;

		while (!g_exit && g_gen == seen)
			pthread_cond_wait(&g_cv, &g_mu);
		if (g_exit)
			break;
		seen = g_gen;
		h = g_cur;
		commit_no = 0;
		pthread_mutex_unlock(&g_mu);
		while (atomic_load_explicit(&g_run, memory_order_relaxed)) {
			/* Keep the shadow backlog bounded (completers may lag). */
			if (atomic_load_explicit(&h->outstanding, memory_order_relaxed) >
			    64ull * g_opt.builders) {
				sleep_ns(100000);
				continue;
			}
			build_txn(h, &rng, id, &commit_no, 0, false);
		}
		pthread_mutex_lock(&g_mu);
		g_idle++;
		pthread_cond_broadcast(&g_cv);
	}
	pthread_mutex_unlock(&g_mu);
	return NULL;
}

static void builders_go(struct hrt *h)
{
	pthread_mutex_lock(&g_mu);
	g_cur = h;
	g_idle = 0;
	atomic_store(&g_run, 1);
	g_gen++;
	pthread_cond_broadcast(&g_cv);
	pthread_mutex_unlock(&g_mu);
}

static void builders_pause(void)
{
	atomic_store(&g_run, 0);
	pthread_mutex_lock(&g_mu);
	while (g_idle < g_opt.builders)
		pthread_cond_wait(&g_cv, &g_mu);
	pthread_mutex_unlock(&g_mu);
}

/* ------------------------------------------------------------------ */
/* Poller (JT_RUNTIME_POLL)                                            */
/* ------------------------------------------------------------------ */

static int g_stopfd = -1;

static void *poller_main(void *arg)
{
	struct hrt *h = arg;
	int fd = jt_runtime_fd(h->rt);
	uint64_t rng = rng_seed(g_opt.seed, 4242);

	tl_role = ROLE_POLLER;
	pthread_setname_np(pthread_self(), "stress-poll");
	CHECK(fd >= 0, "jt_runtime_fd -> %d", fd);
	for (;;) {
		struct pollfd p[2] = {{.fd = fd, .events = POLLIN},
		                      {.fd = g_stopfd, .events = POLLIN}};
		int pr = poll(p, 2, 2000);
		int n;

		if (pr > 0 && (p[1].revents & POLLIN))
			break;
		if (pr == 0) {
			/* Nothing signalled for 2 s: anything ready now was missed. */
			struct pollfd q = {.fd = fd, .events = POLLIN};
			int again = poll(&q, 1, 0);

			n = jt_runtime_poll(h->rt, 0);
			if (again == 0 && n > 0)
				stress_fail("poll mode: %d txns retired although jt_runtime_fd was "
				            "not readable for 2 s (missed wake-up)",
				            n);
			continue;
		}
		n = jt_runtime_poll(h->rt, rng_below(&rng, 4));
		if (n == -EBUSY) { /* a builder in commit_wait, or main, is polling */
			sleep_ns(200000);
			continue;
		}
		CHECK(n >= 0, "jt_runtime_poll -> %d", n);
	}
	return NULL;
}

/* ------------------------------------------------------------------ */
/* Introspection                                                       */
/* ------------------------------------------------------------------ */

struct walk {
	int stop_after;
	int count;
	unsigned long long over;
};

static bool status_ok(int s)
{
	return s == 0 || s == -EIO || s == -ENOSPC || s == -EPERM || s == -ECANCELED;
}

static int walk_fn(const struct jt_txn_info *i, void *arg)
{
	struct walk *w = arg;

	CHECK(i->state == JT_TXN_OPEN || i->state == JT_TXN_RUNNING || i->state == JT_TXN_RETIRING,
	      "foreach: txn %llu state %d", (unsigned long long)i->id, i->state);
	CHECK(i->members <= MAX_MEMBERS, "foreach: txn %llu has %zu members",
	      (unsigned long long)i->id, i->members);
	/* A racy snapshot (pending and flags read apart) may count the
	 * builder's hold once; beyond that it is wrong. */
	CHECK(i->jobs_pending <= i->members + 1, "foreach: txn %llu: %zu jobs pending, %zu members",
	      (unsigned long long)i->id, i->jobs_pending, i->members);
	if (i->jobs_pending > i->members)
		w->over++;
	CHECK(status_ok(i->status), "foreach: txn %llu status %d", (unsigned long long)i->id,
	      i->status);
	w->count++;
	return w->stop_after != 0 && w->count >= w->stop_after;
}

/* ------------------------------------------------------------------ */
/* Epochs                                                              */
/* ------------------------------------------------------------------ */

static unsigned long long ld(atomic_ullong *p)
{
	return atomic_load(p);
}

static void wait_outstanding(struct hrt *h, const char *phase)
{
	uint64_t deadline = now_ns() + QUIESCE_TIMEOUT_NS;

	while (ld(&h->outstanding) != 0) {
		if (now_ns() > deadline) {
			fprintf(stderr, "%s: %s: %llu txn records still referenced\n", h->name,
			        phase, ld(&h->outstanding));
			give_up("stall: shadow records never released (a job or callback lost)");
		}
		sleep_ns(200000);
	}
}

static void dump_live(struct hrt *h);

static int dump_fn(const struct jt_txn_info *i, void *arg)
{
	int *n = arg;

	if ((*n)++ < 20)
		fprintf(stderr,
		        "  live txn %llu state %d members %zu pending %zu status %d age %llu ms\n",
		        (unsigned long long)i->id, i->state, i->members, i->jobs_pending, i->status,
		        (unsigned long long)(i->age_ns / 1000000));
	return 0;
}

static void dump_live(struct hrt *h)
{
	int n = 0;

	jt_runtime_foreach_txn(h->rt, dump_fn, &n);
	fprintf(stderr, "%s: %d live txns; begun %llu committed %llu retired(obs) %llu\n", h->name,
	        n, ld(&h->begun), ld(&h->committed), ld(&h->retired_obs));
}

static void check_stats(struct hrt *h)
{
	struct jt_stats s;
	unsigned long long cancels = ld(&h->cancels);

	jt_runtime_stats(h->rt, &s);
#define EQ(field, mine)                                                                            \
	CHECK(s.field == (mine), "%s: stats." #field " = %llu, harness counted %llu", h->name,     \
	      (unsigned long long)s.field, (unsigned long long)(mine))
	EQ(txns_begun, ld(&h->begun));
	EQ(txns_committed, ld(&h->committed));
	EQ(txns_retired, ld(&h->committed));
	EQ(txns_failed, ld(&h->status_failed));
	EQ(jobs_armed, ld(&h->armed));
	EQ(jobs_completed, ld(&h->armed));
	EQ(jobs_failed, ld(&h->jobs_failed));
	EQ(misuse, ld(&h->misuse_expected));
#undef EQ
	CHECK(s.cancels_requested >= cancels &&
	              s.cancels_requested <= cancels + ld(&h->null_armed_failing),
	      "%s: stats.cancels_requested = %llu, harness saw %llu cancel callbacks (+ up to %llu "
	      "armed members without ops)",
	      h->name, (unsigned long long)s.cancels_requested, cancels,
	      ld(&h->null_armed_failing));
	CHECK(s.retire_latency_p50_ns <= s.retire_latency_p99_ns &&
	              s.retire_latency_p99_ns <= s.retire_latency_max_ns,
	      "%s: latency p50 %llu p99 %llu max %llu", h->name,
	      (unsigned long long)s.retire_latency_p50_ns,
	      (unsigned long long)s.retire_latency_p99_ns,
	      (unsigned long long)s.retire_latency_max_ns);
}

static void run_epoch(unsigned epoch, const struct config *cfg, uint64_t run_ns)
{
	struct hrt *h = calloc(1, sizeof(*h));
	struct jt_runtime_opts o;
	pthread_t poller;
	uint64_t rng = rng_seed(g_opt.seed, 5000 + epoch), main_commit_no = 0, end;
	unsigned long long walks = 0, walk_over = 0, drains[2] = {0, 0};
	int r;

	if (h == NULL)
		abort();
	h->name = cfg->name;
	h->rt_flags = cfg->flags;
	h->workers = cfg->workers;
	h->max_inflight = cfg->max_inflight;
	h->poll_mode = (cfg->flags & JT_RUNTIME_POLL) != 0;
	h->cb_rng = rng_seed(g_opt.seed, 9000 + epoch);
	jt_runtime_opts_init(&o);
	o.flags = cfg->flags;
	o.workers = cfg->workers;
	o.max_inflight = cfg->max_inflight;
	o.dispatch_spin_ns = cfg->spin_ns;
	r = jt_runtime_create(&o, &h->rt);
	if (r != 0) {
		fprintf(stderr, "jt_runtime_create(%s) -> %d\n", cfg->name, r);
		give_up("jt_runtime_create failed");
	}
	if (h->poll_mode && pthread_create(&poller, NULL, poller_main, h) != 0)
		give_up("pthread_create(poller) failed");

	atomic_store(&g_watch_rt, h);
	phase("run", run_ns);
	builders_go(h);
	end = now_ns() + run_ns;
	while (now_ns() < end) {
		struct walk w = {.stop_after = (int)rng_below(&rng, 6)};

		r = jt_runtime_foreach_txn(h->rt, walk_fn, &w);
		CHECK(r == w.count, "foreach returned %d, visited %d", r, w.count);
		walks++;
		walk_over += w.over;
		if (rng_pct(&rng, 10)) {
			/* drain racing builders and completers: it may time out
			 * (builders keep committing), nothing else */
			tl_in_wait++;
			r = jt_runtime_drain(h->rt, 2000000);
			tl_in_wait--;
			CHECK(r == 0 || r == -ETIMEDOUT, "%s: jt_runtime_drain under load -> %d",
			      h->name, r);
			drains[r == 0]++;
		}
		sleep_ns(3000000);
	}
	phase("pause builders", 0);
	builders_pause();

	/* quiesce: drain, every record verified, stats */
	phase("quiesce", 0);
	tl_in_wait++;
	r = jt_runtime_drain(h->rt, QUIESCE_TIMEOUT_NS);
	tl_in_wait--;
	if (r != 0) {
		dump_live(h);
		give_up("stall: jt_runtime_drain did not finish (lost wake-up or lost job)");
	}
	CHECK(ld(&h->retired_obs) == ld(&h->committed),
	      "%s: drain returned with %llu of %llu committed txns' callbacks done", h->name,
	      ld(&h->retired_obs), ld(&h->committed));
	wait_outstanding(h, "quiesce");
	check_stats(h);

	/* tail: -EBUSY on an open txn, then destroy racing the completers */
	phase("tail", 0);
	tl_in_wait++; /* poll mode: the -EBUSY destroy and begin may poll */
	build_txn(h, &rng, (int)g_opt.builders, &main_commit_no, 0, true);
	for (unsigned i = 0; i < TAIL_TXNS; i++)
		build_txn(h, &rng, (int)g_opt.builders, &main_commit_no, 0, false);
	tl_in_wait--;
	if (h->poll_mode) {
		/* destroy wants no other user of rt: stop the poller first */
		if (eventfd_write(g_stopfd, 1) != 0)
			give_up("eventfd_write");
		pthread_join(poller, NULL);
		{
			eventfd_t v;

			(void)eventfd_read(g_stopfd, &v);
		}
	}
	phase("destroy", 0);
	tl_in_wait++;
	for (unsigned tries = 0;; tries++) {
		/* A done callback may be building a nested txn right now: -EBUSY
		 * is then the contract's answer; try again. */
		r = jt_runtime_destroy(h->rt);
		if (r != -EBUSY || h->poll_mode || tries > 100000)
			break;
		sleep_ns(50000);
	}
	tl_in_wait--;
	CHECK(r == 0, "%s: jt_runtime_destroy -> %d", h->name, r);
	if (r != 0)
		give_up("jt_runtime_destroy failed");
	CHECK(ld(&h->retired_obs) == ld(&h->committed),
	      "%s: destroy returned with %llu of %llu committed txns' callbacks done", h->name,
	      ld(&h->retired_obs), ld(&h->committed));
	wait_outstanding(h, "after destroy");
	atomic_store(&g_watch_rt, NULL);
	CHECK(ld(&h->verified) == ld(&h->committed) && ld(&h->committed) == ld(&h->begun),
	      "%s: begun %llu committed %llu verified %llu", h->name, ld(&h->begun),
	      ld(&h->committed), ld(&h->verified));
	if (g_opt.verbose)
		fprintf(stderr,
		        "epoch %u %-8s: %llu txns verified (%llu nested, %llu commit_wait), "
		        "%llu failed status, %llu jobs, %llu failed jobs, %llu cancels, %llu "
		        "eagain, "
		        "%llu walks (%llu over-count), %llu drains under load (%llu timed out)\n",
		        epoch, h->name, ld(&h->verified), ld(&h->nested), ld(&h->waited),
		        ld(&h->status_failed), ld(&h->armed), ld(&h->jobs_failed), ld(&h->cancels),
		        ld(&h->eagain), walks, walk_over, drains[0] + drains[1], drains[0]);
	free(h);
}

/* ------------------------------------------------------------------ */
/* main                                                                */
/* ------------------------------------------------------------------ */

static _Noreturn void usage(const char *argv0)
{
	fprintf(stderr,
	        "usage: %s [--seconds N] [--seed S] [--threads T] [--builders B] [-v]\n"
	        "  --threads  completer threads (default 2), --builders  builder threads "
	        "(default 2)\n",
	        argv0);
	exit(2);
}

static void parse_args(int argc, char **argv)
{
	bool have_seed = false;

	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];

		if (strcmp(a, "-v") == 0 || strcmp(a, "--verbose") == 0) {
			g_opt.verbose = 1;
			continue;
		}
		if (i + 1 >= argc)
			usage(argv[0]);
		if (strcmp(a, "--seconds") == 0) {
			g_opt.seconds = strtod(argv[++i], NULL);
		} else if (strcmp(a, "--seed") == 0) {
			g_opt.seed = strtoull(argv[++i], NULL, 0);
			have_seed = true;
		} else if (strcmp(a, "--threads") == 0) {
			g_opt.threads = (unsigned)strtoul(argv[++i], NULL, 0);
		} else if (strcmp(a, "--builders") == 0) {
			g_opt.builders = (unsigned)strtoul(argv[++i], NULL, 0);
		} else {
			usage(argv[0]);
		}
	}
	if (g_opt.seconds <= 0 || g_opt.threads < 1 || g_opt.threads > MAX_COMPLETERS ||
	    g_opt.builders < 1 || g_opt.builders > MAX_BUILDERS)
		usage(argv[0]);
	if (!have_seed)
		g_opt.seed = now_ns() ^ (uint64_t)getpid();
	if (g_opt.seed == 0)
		g_opt.seed = 1; /* xorshift needs a non-zero state */
}

int main(int argc, char **argv)
{
	pthread_t builders[MAX_BUILDERS];
	uint64_t start, deadline, epoch_ns;
	unsigned epoch;

	parse_args(argc, argv);
	tl_role = ROLE_MAIN;
	printf("stress_txn: seed %llu, %.1f s, %u completers, %u builders\n",
	       (unsigned long long)g_opt.seed, g_opt.seconds, g_opt.threads, g_opt.builders);
	fflush(stdout);
	g_stopfd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (g_stopfd < 0)
		give_up("eventfd failed");
	phase("start", 0);
	{
		pthread_t wd;

		if (pthread_create(&wd, NULL, watchdog_main, NULL) != 0)
			give_up("pthread_create(watchdog) failed");
		pthread_detach(wd);
	}
	completers_start(g_opt.threads);
	for (unsigned i = 0; i < g_opt.builders; i++)
		if (pthread_create(&builders[i], NULL, builder_main, (void *)(intptr_t)i) != 0)
			give_up("pthread_create(builder) failed");

	/* Every configuration runs at least once; epochs of ~1 s after that. */
	start = now_ns();
	deadline = start + (uint64_t)(g_opt.seconds * 1e9);
	epoch_ns = g_opt.seconds >= (double)NCONFIGS ? 1000000000ull
	                                             : (uint64_t)(g_opt.seconds * 1e9 / NCONFIGS);
	for (epoch = 0; epoch < NCONFIGS || now_ns() < deadline; epoch++) {
		uint64_t now = now_ns(), run = epoch_ns;

		if (epoch >= NCONFIGS && deadline - now < run)
			run = deadline - now;
		run_epoch(epoch, &g_configs[epoch % NCONFIGS], run);
	}

	phase("exit", 0);
	pthread_mutex_lock(&g_mu);
	g_exit = true;
	pthread_cond_broadcast(&g_cv);
	pthread_mutex_unlock(&g_mu);
	for (unsigned i = 0; i < g_opt.builders; i++)
		pthread_join(builders[i], NULL);
	completers_stop();
	close(g_stopfd);
	if (g_opt.verbose)
		fprintf(stderr, "%u epochs in %.2f s\n", epoch, (double)(now_ns() - start) / 1e9);
	print_result();
	return atomic_load(&g_failed) != 0 ? 1 : 0;
}
