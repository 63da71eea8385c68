/*
 * cacheline.h - cache-line size, alignment and the spin-wait hint.
 */
#ifndef JT_CACHELINE_H
#define JT_CACHELINE_H

#include <stdalign.h>

#define JT_CACHELINE 64

/* Start the member on its own cache line (false sharing stays out). */
#define jt_cacheline_aligned alignas(JT_CACHELINE)

/* The body of a busy-wait loop: tells the core we spin. */
static inline void jt_cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
	__builtin_ia32_pause();
#elif defined(__aarch64__)
	__asm__ __volatile__("yield" ::: "memory");
#endif
}

#endif /* JT_CACHELINE_H */
