/*
 * thread_start.h - start a named library thread.
 */
#ifndef JT_THREAD_START_H
#define JT_THREAD_START_H

#include <pthread.h>

/*
 * jt_thread_start: run fn(arg) on a new thread called `name` (at most 15
 * characters). The name is set before this returns, so before the runtime
 * that owns the thread can hand it any work. 0 or the negated pthread error.
 */
static inline int jt_thread_start(pthread_t *thread, const char *name, void *(*fn)(void *),
                                  void *arg)
{
	int err = pthread_create(thread, NULL, fn, arg);

	if (err != 0)
		return -err;
	pthread_setname_np(*thread, name);
	return 0;
}

#endif /* JT_THREAD_START_H */
