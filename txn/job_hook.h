/*
 * job_hook.h - the core's one hook for adapters inside this project (the
 * io_uring adapter, uring/): a job armed with a cancel hook.
 *
 * Not public API. The functions are exported from libjobtxn.so under the
 * version node JOBTXN_PRIVATE_0 (cmake/jobtxn.map) so that an adapter built
 * as its own shared library can call them; no header of include/ declares
 * them, and no program outside this project may rely on them.
 *
 * A hooked job is armed like any other (it counts in pending, it gets the
 * member's `cancel` and `done` as the contract says), and in addition, when
 * its txn starts failing while the job is armed and not yet complete, the
 * dispatcher calls hook(j, arg) right after the member's own `cancel`, on
 * the dispatcher thread, once. The hook runs under no internal lock; it must
 * not block for long (it runs in the serial stage) and must not complete the
 * job itself: the adapter completes it later, from whatever thread sees the
 * operation end, with jt_private_job_complete_hooked. Jobs that are never
 * hooked pay nothing: the hook is only looked at while cancels are
 * delivered, and a hooked job's completion takes the same path as any other.
 *
 * A hooked job can only be completed through jt_private_job_complete_hooked:
 * the public jt_job_complete and a second hooked completion return -EALREADY
 * (counted in `misuse`) and change nothing, so the adapter's exactly-once
 * completion cannot be broken by a stray user call.
 */
#ifndef JT_JOB_HOOK_H
#define JT_JOB_HOOK_H

#include <stdbool.h>
#include <stddef.h>

#include "jobtxn.h"

typedef void jt_job_cancel_hook(jt_job *j, void *arg);

/*
 * jt_private_job_arm_hooked: jt_job_arm's rules and return codes (the
 * builder, before commit returns, inside prepare/commit too), plus the hook.
 * -EINVAL also when `hook` is NULL.
 */
JT_API int jt_private_job_arm_hooked(jt_job *j, jt_job_cancel_hook *hook, void *arg);

/*
 * jt_private_job_complete_hooked: jt_job_complete for a hooked job: any
 * thread, lock-free. -EALREADY (misuse) if completed before, -EINVAL if the
 * job was not armed with a hook.
 */
JT_API int jt_private_job_complete_hooked(jt_job *j, int ret);

/* jt_private_job_runtime: the runtime of j's txn. Valid while j is. */
JT_API jt_runtime *jt_private_job_runtime(const jt_job *j);

/*
 * jt_private_runtime_on_dispatcher: true on rt's dispatcher thread or inside
 * its jt_runtime_poll, i.e. inside a callback of rt (blocking there would
 * deadlock: -EDEADLK for the adapter's own blocking calls).
 */
JT_API bool jt_private_runtime_on_dispatcher(const jt_runtime *rt);

/*
 * jt_private_runtime_alloc / jt_private_runtime_free: allocate and free
 * through rt's allocator (the user's jt_allocator, or the library default),
 * so that an adapter's memory follows the same rules as the core's. Any
 * thread. alloc returns NULL on failure; free takes the size passed to
 * alloc (NULL p allowed).
 */
JT_API void *jt_private_runtime_alloc(jt_runtime *rt, size_t size);
JT_API void jt_private_runtime_free(jt_runtime *rt, void *p, size_t size);

#endif /* JT_JOB_HOOK_H */
