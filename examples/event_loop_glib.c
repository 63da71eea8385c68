/*
 * event_loop_glib.c - jobtxn inside a GLib main loop (poll mode), the way
 * QEMU and other GLib programs plug an event source into their main context.
 *
 * A custom GSource watches jt_runtime_fd (g_source_add_unix_fd, G_IO_IN);
 * GLib dispatches it on the thread that runs the main context, and its
 * dispatch function calls jt_runtime_poll, so every jobtxn callback (cancel,
 * done, destroy, the txn's done) runs on that thread, beside the loop's other
 * sources, without locks. A second GSource is the watchdog: a ready time
 * pushed WATCHDOG_MS ahead at every jobtxn dispatch, so that if no wake-up
 * comes for that long while txns are in flight, a wake-up was missed and the
 * program fails.
 *
 * The loop thread builds TXNS txns of JOBS jobs; two device threads complete
 * them. Every fifth txn is grouped (JT_TXN_GROUPED) and its first job fails
 * with -EIO: the runtime asks its siblings still in flight to cancel (their
 * `cancel` runs on the loop thread; the device sees jt_job_cancelled and
 * completes them with -ECANCELED) and the txn's status is the root cause,
 * -EIO. Every callback asserts it runs on the loop thread and that this
 * thread owns the main context; the program checks every txn's status, every
 * member's result and the runtime's statistics, and exits non-zero on any
 * mismatch.
 *
 * Uses only <jobtxn.h>, <glib.h> and pthreads.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <glib.h>
#include <jobtxn.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#define TXNS        40
#define JOBS        4 /* per txn */
#define COMPLETERS  2
#define FAIL_EVERY  5    /* txn i with i % FAIL_EVERY == 0: grouped, job 0 fails */
#define WATCHDOG_MS 5000 /* longest wait for a wake-up while txns are in flight */

#define CHECK(cond)                                                                                \
	do {                                                                                       \
		if (!(cond)) {                                                                     \
			fprintf(stderr, "event_loop_glib: check failed at line %d: %s\n",          \
			        __LINE__, #cond);                                                  \
			exit(1);                                                                   \
		}                                                                                  \
	} while (0)

/* The jobtxn source: a GSource plus the runtime it polls. */
struct jt_gsource {
	GSource source;
	jt_runtime *rt;
};

static pthread_t loop_thread;
static GMainContext *context;
static GMainLoop *loop;
static GSource *watchdog;
static jt_job *jobs[TXNS * JOBS]; /* handed to the completers */
/* Written by callbacks, so on the loop thread only. */
static int statuses[TXNS];
static int rets[TXNS * JOBS];
static unsigned retired;
static unsigned member_dones;
static unsigned member_destroys;
static unsigned cancels;

static int failing(unsigned txn)
{
	return txn % FAIL_EVERY == 0;
}

/* Every jobtxn callback checks this first. */
static void on_loop_thread(void)
{
	CHECK(pthread_equal(pthread_self(), loop_thread));
	CHECK(g_main_context_is_owner(context));
}

/* opaque: the job's index in jobs[]. */
static void member_cancel(void *opaque)
{
	unsigned k = (unsigned)(uintptr_t)opaque;

	on_loop_thread();
	CHECK(failing(k / JOBS) && k % JOBS != 0); /* only the failing job's siblings */
	cancels++;
}

static void member_done(void *opaque, int ret, int status)
{
	unsigned k = (unsigned)(uintptr_t)opaque;

	on_loop_thread();
	CHECK(status == (failing(k / JOBS) ? -EIO : 0));
	rets[k] = ret;
	member_dones++;
}

static void member_destroy(void *opaque)
{
	(void)opaque;
	on_loop_thread();
	member_destroys++;
}

static const struct jt_member_ops member_ops = {
        .cancel = member_cancel,
        .done = member_done,
        .destroy = member_destroy,
};

static void txn_done(void *opaque, int status)
{
	unsigned i = (unsigned)(uintptr_t)opaque;

	on_loop_thread();
	statuses[i] = status;
	retired++;
}

/*
 * The jobtxn source's dispatch: GLib calls it on the context's thread when
 * the fd polled readable (no prepare or check is needed: a source with a unix
 * fd is dispatched when that fd has events). A wake-up may be spurious
 * (jt_runtime_poll then returns 0), never missed.
 */
static gboolean jt_gsource_dispatch(GSource *source, GSourceFunc callback, gpointer user_data)
{
	struct jt_gsource *js = (struct jt_gsource *)source;

	on_loop_thread();
	CHECK(jt_runtime_poll(js->rt, 0) >= 0);
	g_source_set_ready_time(watchdog, g_get_monotonic_time() +
	                                          (gint64)WATCHDOG_MS * G_TIME_SPAN_MILLISECOND);
	return callback != NULL ? callback(user_data) : G_SOURCE_CONTINUE;
}

static GSourceFuncs jt_gsource_funcs = {.dispatch = jt_gsource_dispatch};

/* A GSource on rt's fd, attached to ctx; the caller owns the reference. */
static GSource *jt_gsource_new(jt_runtime *rt, GMainContext *ctx)
{
	GSource *source = g_source_new(&jt_gsource_funcs, sizeof(struct jt_gsource));
	int fd = jt_runtime_fd(rt);

	CHECK(fd >= 0);
	((struct jt_gsource *)source)->rt = rt;
	g_source_set_name(source, "jobtxn");
	g_source_add_unix_fd(source, fd, G_IO_IN);
	g_source_attach(source, ctx);
	return source;
}

/* The jobtxn source's callback, after each poll: stop once all retired. */
static gboolean after_poll(gpointer user_data)
{
	(void)user_data;
	if (retired == TXNS)
		g_main_loop_quit(loop);
	return G_SOURCE_CONTINUE;
}

static gboolean watchdog_dispatch(GSource *source, GSourceFunc callback, gpointer user_data)
{
	(void)source;
	(void)callback;
	(void)user_data;
	fprintf(stderr, "event_loop_glib: watchdog: no wake-up for %d ms, %u of %u txns retired\n",
	        WATCHDOG_MS, retired, TXNS);
	exit(1);
}

static GSourceFuncs watchdog_funcs = {.dispatch = watchdog_dispatch};

/* A device thread: complete every COMPLETERS-th job, a little later. */
static void *completer(void *arg)
{
	unsigned first = (unsigned)(uintptr_t)arg;
	const struct timespec pause = {0, 20 * 1000};

	for (unsigned k = first; k < TXNS * JOBS; k += COMPLETERS) {
		int ret = 0;

		nanosleep(&pause, NULL);
		if (failing(k / JOBS) && k % JOBS == 0)
			ret = -EIO;
		else if (jt_job_cancelled(jobs[k])) /* a sibling failed: stop early */
			ret = -ECANCELED;
		jt_job_complete(jobs[k], ret); /* lock-free, from any thread */
	}
	return NULL;
}

int main(void)
{
	struct jt_runtime_opts opts;
	struct jt_stats stats;
	pthread_t dev[COMPLETERS];
	GSource *jt_source;
	jt_runtime *rt;
	unsigned failed = 0;

	/* The loop thread owns a context of its own, as a QEMU iothread does. */
	loop_thread = pthread_self();
	context = g_main_context_new();
	g_main_context_push_thread_default(context);
	loop = g_main_loop_new(context, FALSE);

	jt_runtime_opts_init(&opts);
	opts.flags = JT_RUNTIME_POLL; /* callbacks run inside jt_runtime_poll */
	CHECK(jt_runtime_create(&opts, &rt) == 0);
	jt_source = jt_gsource_new(rt, context);
	g_source_set_callback(jt_source, after_poll, NULL, NULL);
	watchdog = g_source_new(&watchdog_funcs, sizeof(GSource));
	g_source_set_name(watchdog, "jobtxn watchdog");
	g_source_set_ready_time(watchdog, g_get_monotonic_time() +
	                                          (gint64)WATCHDOG_MS * G_TIME_SPAN_MILLISECOND);
	g_source_attach(watchdog, context);

	/* Build every txn on the loop thread; the devices complete them. */
	for (unsigned i = 0; i < TXNS; i++) {
		jt_txn *txn;

		CHECK(jt_txn_begin(rt, failing(i) ? JT_TXN_GROUPED : 0, &txn) == 0);
		for (unsigned j = 0; j < JOBS; j++) {
			unsigned k = i * JOBS + j;

			CHECK(jt_txn_add(txn, &member_ops, (void *)(uintptr_t)k, &jobs[k]) == 0);
			CHECK(jt_job_arm(jobs[k]) == 0);
		}
		CHECK(jt_txn_commit(txn, txn_done, (void *)(uintptr_t)i) == 0);
	}
	for (unsigned c = 0; c < COMPLETERS; c++)
		CHECK(pthread_create(&dev[c], NULL, completer, (void *)(uintptr_t)c) == 0);

	g_main_loop_run(loop); /* until after_poll saw every txn retired */

	for (unsigned c = 0; c < COMPLETERS; c++)
		pthread_join(dev[c], NULL);
	CHECK(retired == TXNS && member_dones == TXNS * JOBS && member_destroys == TXNS * JOBS);
	for (unsigned i = 0; i < TXNS; i++) {
		CHECK(statuses[i] == (failing(i) ? -EIO : 0));
		failed += statuses[i] != 0;
		for (unsigned j = 0; j < JOBS; j++) {
			int ret = rets[i * JOBS + j];

			if (!failing(i))
				CHECK(ret == 0);
			else if (j == 0)
				CHECK(ret == -EIO);
			else
				CHECK(ret == 0 || ret == -ECANCELED);
		}
	}
	jt_runtime_stats(rt, &stats);
	CHECK(stats.txns_retired == TXNS && stats.txns_failed == failed);
	CHECK(stats.cancels_requested == cancels); /* each request: one cancel callback */

	g_source_destroy(jt_source);
	g_source_unref(jt_source);
	g_source_destroy(watchdog);
	g_source_unref(watchdog);
	g_main_loop_unref(loop);
	g_main_context_pop_thread_default(context);
	g_main_context_unref(context);
	CHECK(jt_runtime_destroy(rt) == 0);
	printf("glib loop: %u txns retired on the loop thread, %u failed with EIO as injected, "
	       "%u cancel requests\n",
	       retired, failed, cancels);
	return 0;
}
