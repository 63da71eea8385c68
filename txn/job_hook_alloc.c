/*
 * job_hook_alloc.c - the runtime's allocator for this project's adapters
 * (job_hook.h): the io_uring adapter's allocations go through the user's
 * jt_allocator like the core's own.
 */
#include "txn/job_hook.h"
#include "txn/txn_internal.h"

void *jt_private_runtime_alloc(jt_runtime *rt, size_t size)
{
	return jt_alloc_get(&rt->alloc, size);
}

void jt_private_runtime_free(jt_runtime *rt, void *p, size_t size)
{
	jt_alloc_put(&rt->alloc, p, size);
}
