/*
 * alloc.c - the default allocator.
 */
#include "runtime/alloc.h"

#include <stdlib.h>

#include <stdint.h>

#ifdef JOBTXN_ALLOCATOR_JEMALLOC
#include <jemalloc/jemalloc.h>

/*
 * mallocx with MALLOCX_ALIGN leaves jemalloc's fast path (~400 instructions
 * against ~50). Size classes that are multiples of 64 come out aligned
 * anyway (regions sit at multiples of their size in page-aligned slabs), so
 * try the fast path first and keep the aligned call for the rare miss.
 */
static void *default_alloc_aligned(size_t size)
{
	void *p = mallocx(size, 0);

	if (p == NULL || ((uintptr_t)p & (JT_ALLOC_ALIGN - 1)) == 0)
		return p;
	sdallocx(p, size, 0);
	return mallocx(size, MALLOCX_ALIGN(JT_ALLOC_ALIGN));
}

static void default_free_aligned(void *p, size_t size)
{
	/* Both kinds of block come from the same size class: plain sdallocx
	 * frees either. */
	sdallocx(p, size, 0);
}

static void *default_alloc(void *ctx, size_t size)
{
	(void)ctx;
	return mallocx(size, 0);
}

static void default_free(void *ctx, void *p, size_t size)
{
	(void)ctx;
	sdallocx(p, size, 0);
}
#else
static void *default_alloc_aligned(size_t size)
{
	return aligned_alloc(JT_ALLOC_ALIGN,
	                     (size + JT_ALLOC_ALIGN - 1) & ~(size_t)(JT_ALLOC_ALIGN - 1));
}

static void default_free_aligned(void *p, size_t size)
{
	(void)size;
	free(p);
}

static void *default_alloc(void *ctx, size_t size)
{
	(void)ctx;
	return malloc(size);
}

static void default_free(void *ctx, void *p, size_t size)
{
	(void)ctx;
	(void)size;
	free(p);
}
#endif

void jt_alloc_init(struct jt_alloc *a, const struct jt_allocator *user)
{
	if (user != NULL) {
		a->alloc = user->alloc;
		a->free = user->free;
		a->ctx = user->ctx;
		a->user = true;
	} else {
		a->alloc = default_alloc;
		a->free = default_free;
		a->ctx = NULL;
		a->user = false;
	}
}

/*
 * A user hook promises only ordinary alignment: take JT_ALLOC_ALIGN more
 * bytes and keep the distance back to the block's start in the byte before
 * the aligned address (1..JT_ALLOC_ALIGN, so it always exists).
 */
void *jt_alloc_get_aligned(const struct jt_alloc *a, size_t size)
{
	unsigned char *raw, *p;

	if (!a->user)
		return default_alloc_aligned(size);
	raw = jt_alloc_get(a, size + JT_ALLOC_ALIGN);
	if (raw == NULL)
		return NULL;
	p = (unsigned char *)(((uintptr_t)raw + JT_ALLOC_ALIGN) & ~(uintptr_t)(JT_ALLOC_ALIGN - 1));
	p[-1] = (unsigned char)(p - raw - 1);
	return p;
}

void jt_alloc_put_aligned(const struct jt_alloc *a, void *p, size_t size)
{
	unsigned char *q = p;

	if (q == NULL)
		return;
	if (!a->user) {
		default_free_aligned(q, size);
		return;
	}
	jt_alloc_put(a, q - q[-1] - 1, size + JT_ALLOC_ALIGN);
}
