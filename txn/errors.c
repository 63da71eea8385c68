/*
 * errors.c - jt_strerror.
 */
#include <errno.h>
#include <limits.h>
#include <string.h>

#include "jobtxn.h"

const char *jt_strerror(int err)
{
	const char *desc;

	switch (err) {
	case 0:
		return "success";
	case -EINVAL:
		return "invalid argument (NULL, unknown flag, or wrong state)";
	case -ENOMEM:
		return "out of memory";
	case -EBUSY:
		return "busy: a txn is still being built, or another thread is polling";
	case -EDEADLK:
		return "would deadlock: called from a callback of this runtime";
	case -ETIMEDOUT:
		return "timed out: still in flight";
	case -EAGAIN:
		return "too many txns in flight (max_inflight)";
	case -EALREADY:
		return "job already armed or already completed";
	case -ENOTSUP:
		return "the runtime has no worker threads";
	case -ECANCELED:
		return "cancelled";
	case -EOWNERDEAD:
		return "runtime inherited across fork(): unusable in the child";
	}
	if (err < 0 && err > INT_MIN && (desc = strerrordesc_np(-err)) != NULL)
		return desc;
	return "unknown error";
}
