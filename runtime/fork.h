/*
 * fork.h - what a runtime does across fork().
 *
 * The child of a fork has one thread: the runtime's dispatcher, workers and
 * reclaimer did not survive, and any lock one of them held is frozen. So a
 * runtime inherited from the parent is unusable in the child: its calls
 * return -EOWNERDEAD and change nothing; no callback of it ever runs in the
 * child. Creating a fresh runtime in the child works.
 *
 * What makes the fresh runtime work: liburcu-bp's fork handlers, registered
 * once per process with pthread_atfork by the first jt_runtime_create.
 * Without them a grace period the parent had in progress at the fork would
 * leave liburcu-bp's lock held in the child, and the parent threads' reader
 * slots would block every grace period there. jobtxn does not use call_rcu,
 * so there is no call_rcu thread to stop and restart.
 *
 * How a runtime knows it was inherited: a process-wide generation, bumped
 * in the child handler; each runtime records it at creation.
 */
#ifndef JT_FORK_H
#define JT_FORK_H

#include <stdbool.h>
#include <stdint.h>

#include "atomics/atomic_ops.h"

/* hidden: a PC-relative load, no GOT indirection, in the shared library. */
extern _Atomic uint32_t jt_fork_generation_counter __attribute__((visibility("hidden")));

/*
 * jt_fork_register: register the fork handlers, once per process (later
 * calls return the first call's result). 0 or -ENOMEM.
 */
int jt_fork_register(void);

/* jt_fork_generation: how many forks this process descends from. */
static inline uint32_t jt_fork_generation(void)
{
	/* relaxed: written only in a child's atfork handler, while the child
	 * is single-threaded, before any of its own threads start. */
	return jt_load_relaxed(&jt_fork_generation_counter);
}

#endif /* JT_FORK_H */
