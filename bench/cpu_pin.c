/*
 * cpu_pin.c - the two CPUs of the pinned workloads (dispatch, latency): the
 * dispatcher's CPU, where the thread under test runs alone, and the bench's
 * CPU, where the bench thread and every other thread of the process run.
 *
 * pin_begin pins the calling (bench) thread to the bench CPU before the
 * workload creates its runtime: the runtime's threads inherit that mask
 * (jt-reclaim, workers), and pin_dispatcher then moves the one thread named
 * impl->dispatcher_thread (found through /proc/self/task/N/comm) to the
 * dispatcher's CPU. pin_end restores the bench thread's mask; the runtime's
 * threads end with the runtime. With fewer than 2 usable CPUs, or with
 * jt-bench --no-pin, nothing is pinned (pin->on is false).
 */
#include <dirent.h>
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "bench.h"
#include "cpu_pin.h"

static void set_affinity(pid_t tid, int cpu)
{
	cpu_set_t set;

	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	if (sched_setaffinity(tid, sizeof(set), &set))
		bench_fatal(__FILE__, __LINE__, "sched_setaffinity", -errno);
}

void pin_begin(struct bench_pin *pin, bool enable)
{
	int first = -1, last = -1;

	*pin = (struct bench_pin){.on = false};
	if (sched_getaffinity(0, sizeof(pin->saved), &pin->saved))
		bench_fatal(__FILE__, __LINE__, "sched_getaffinity", -errno);
	for (int c = 0; c < CPU_SETSIZE; c++) {
		if (CPU_ISSET(c, &pin->saved)) {
			first = first < 0 ? c : first;
			last = c;
		}
	}
	if (!enable || first == last)
		return;
	pin->on = true;
	pin->cpu_bench = first;
	pin->cpu_dispatch = last;
	set_affinity(0, pin->cpu_bench);
}

void pin_end(struct bench_pin *pin)
{
	if (pin->on && sched_setaffinity(0, sizeof(pin->saved), &pin->saved))
		bench_fatal(__FILE__, __LINE__, "sched_setaffinity", -errno);
	pin->on = false;
}

/* Pins every thread of this process named `comm`; returns how many. */
static int pin_named(const char *comm, int cpu)
{
	DIR *d = opendir("/proc/self/task");
	struct dirent *e;
	int n = 0;

	if (!d)
		bench_fatal(__FILE__, __LINE__, "opendir /proc/self/task", -errno);
	while ((e = readdir(d))) {
		char path[300], name[32] = "";
		FILE *f;

		if (e->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "/proc/self/task/%s/comm", e->d_name);
		f = fopen(path, "r");
		if (!f)
			continue; /* the thread ended */
		if (fgets(name, sizeof(name), f))
			name[strcspn(name, "\n")] = '\0';
		fclose(f);
		if (strcmp(name, comm) == 0) {
			set_affinity((pid_t)atoi(e->d_name), cpu);
			n++;
		}
	}
	closedir(d);
	return n;
}

void pin_dispatcher(const struct bench_pin *pin, const char *comm)
{
	const struct timespec ms = {.tv_sec = 0, .tv_nsec = 1000000};

	if (!pin->on)
		return;
	/* The creator may name the thread after it started: up to 1 s. */
	for (int tries = 0; pin_named(comm, pin->cpu_dispatch) == 0; tries++) {
		if (tries == 1000) {
			fprintf(stderr, "jt-bench: no thread named %s in /proc/self/task\n", comm);
			bench_fatal(__FILE__, __LINE__, "pin_dispatcher", -ESRCH);
		}
		nanosleep(&ms, NULL);
	}
}

void pin_thread(const struct bench_pin *pin, pthread_t t)
{
	cpu_set_t set;
	int rc;

	if (!pin->on)
		return;
	CPU_ZERO(&set);
	CPU_SET(pin->cpu_dispatch, &set);
	rc = pthread_setaffinity_np(t, sizeof(set), &set);
	if (rc)
		bench_fatal(__FILE__, __LINE__, "pthread_setaffinity_np", -rc);
}
