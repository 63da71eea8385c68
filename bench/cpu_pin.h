/*
 * cpu_pin.h - pinning for the workloads that measure one thread alone on a
 * CPU (dispatch, latency): cpu_pin.c.
 */
#ifndef JT_BENCH_CPU_PIN_H
#define JT_BENCH_CPU_PIN_H

#include <pthread.h>
#include <sched.h>
#include <stdbool.h>

struct bench_pin {
	bool on;          /* false: --no-pin or fewer than 2 usable CPUs: nothing pinned */
	int cpu_bench;    /* the first usable CPU: the bench thread, and what it creates */
	int cpu_dispatch; /* the last usable CPU: the thread under test, alone */
	cpu_set_t saved;  /* the bench thread's mask before pin_begin */
};

/* Pins the calling thread to the bench CPU (if `enable`); threads it
 * creates inherit it. */
void pin_begin(struct bench_pin *pin, bool enable);
/* Pins the thread of this process named `comm` to the dispatcher CPU
 * (waits up to 1 s for it to get its name; fatal if none). */
void pin_dispatcher(const struct bench_pin *pin, const char *comm);
/* Pins `t` to the dispatcher CPU. */
void pin_thread(const struct bench_pin *pin, pthread_t t);
/* Restores the calling thread's mask from pin_begin. */
void pin_end(struct bench_pin *pin);

#endif /* JT_BENCH_CPU_PIN_H */
