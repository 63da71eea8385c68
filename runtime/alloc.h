/*
 * alloc.h - the runtime's allocator: the user's hook or the library default
 * (jemalloc's mallocx/sdallocx, or malloc/free in system and sanitizer
 * builds). Every internal allocation goes through here.
 *
 * The jemalloc default uses the mallocx family only: inside a shared
 * library plain malloc binds to glibc while sdallocx binds to jemalloc, and
 * mixing them crashes.
 */
#ifndef JT_ALLOC_H
#define JT_ALLOC_H

#include <stdbool.h>
#include <stddef.h>

#include "jobtxn.h"

struct jt_alloc {
	void *(*alloc)(void *ctx, size_t size);
	void (*free)(void *ctx, void *p, size_t size);
	void *ctx;
	bool user; /* a user hook: aligned blocks are carved out of larger ones */
};

#define JT_ALLOC_ALIGN 64

/* jt_alloc_init: copy `user`, or install the default when it is NULL. */
void jt_alloc_init(struct jt_alloc *a, const struct jt_allocator *user);

/* jt_alloc_get: `size` bytes aligned for any object, or NULL. Any thread. */
static inline void *jt_alloc_get(const struct jt_alloc *a, size_t size)
{
	return a->alloc(a->ctx, size);
}

/* jt_alloc_put: give back `p` (NULL allowed) of `size` bytes. Any thread. */
static inline void jt_alloc_put(const struct jt_alloc *a, void *p, size_t size)
{
	if (p != NULL)
		a->free(a->ctx, p, size);
}

/*
 * jt_alloc_get_aligned: `size` bytes on a JT_ALLOC_ALIGN boundary, or NULL.
 * Give it back with jt_alloc_put_aligned and the same size.
 */
void *jt_alloc_get_aligned(const struct jt_alloc *a, size_t size);
void jt_alloc_put_aligned(const struct jt_alloc *a, void *p, size_t size);

#endif /* JT_ALLOC_H */
