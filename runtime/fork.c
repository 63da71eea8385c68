/*
 * fork.c - pthread_atfork handlers: liburcu-bp's, and the generation that
 * marks inherited runtimes (fork.h).
 */
#include <errno.h>
#include <pthread.h>

#include "runtime/fork.h"
#include "runtime/rcu.h"

_Atomic uint32_t jt_fork_generation_counter;

static pthread_once_t register_once = PTHREAD_ONCE_INIT;
static int register_err;

static void child_after_fork(void)
{
	jt_rcu_after_fork_child();
	/* relaxed: the child is single-threaded here (fork.h). */
	jt_store_relaxed(&jt_fork_generation_counter, jt_fork_generation() + 1);
}

static void register_handlers(void)
{
	register_err =
	        -pthread_atfork(jt_rcu_before_fork, jt_rcu_after_fork_parent, child_after_fork);
}

int jt_fork_register(void)
{
	pthread_once(&register_once, register_handlers);
	return register_err;
}
