/*
 * trace.h - USDT probes, provider `jobtxn` (perf probe, bpftrace, SystemTap).
 *
 * Each probe is one `nop` in the instruction stream plus a note in
 * .note.stapsdt naming where its arguments live; a tracer that attaches
 * turns the nop into a breakpoint. Untraced, a probe costs the nop and
 * keeping its arguments in registers or memory: the completer-side probes
 * (job_complete, txn_ready) therefore take only values the code already
 * holds (pointers, ret), never a load of another cache line. A txn pointer
 * names the same txn from its txn_begin to its txn_retire (memory is
 * reused after that), so tracers map pointers to ids at txn_begin.
 *
 *   probe          thread            arguments
 *   txn_begin      builder           id, txn, flags (JT_TXN_*)
 *   txn_commit     builder           id, txn, armed jobs, setup-pass result (0/-errno)
 *   job_complete   completer         txn, job, ret (the job's own 0/-errno)
 *   txn_ready      last completer    txn (pending reached 0: callbacks may run)
 *                  or dispatcher
 *   txn_retire     dispatcher        id, txn, status (every callback returned)
 *
 * Compiled out (each macro is ((void)0), its arguments not evaluated) when
 * the build does not define JOBTXN_USDT (CMake option JOBTXN_USDT=OFF) or
 * <sys/sdt.h> (Debian systemtap-sdt-dev) is missing. Arguments must
 * therefore have no side effects. tests/usdt/check_probes.sh keeps this
 * table and the notes in libjobtxn.so in step.
 */
#ifndef JT_TRACE_H
#define JT_TRACE_H

#if defined(JOBTXN_USDT) && defined(__has_include)
#if __has_include(<sys/sdt.h>)
#include <sys/sdt.h>
#define JT_TRACE_ENABLED 1
#endif
#endif

#ifdef JT_TRACE_ENABLED
#define jt_trace_txn_begin(id, txn, flags) STAP_PROBE3(jobtxn, txn_begin, id, txn, flags)
#define jt_trace_txn_commit(id, txn, armed, err)                                                   \
	STAP_PROBE4(jobtxn, txn_commit, id, txn, armed, err)
#define jt_trace_job_complete(txn, job, ret) STAP_PROBE3(jobtxn, job_complete, txn, job, ret)
#define jt_trace_txn_ready(txn)              STAP_PROBE1(jobtxn, txn_ready, txn)
#define jt_trace_txn_retire(id, txn, status) STAP_PROBE3(jobtxn, txn_retire, id, txn, status)
#else
#define jt_trace_txn_begin(id, txn, flags)       ((void)0)
#define jt_trace_txn_commit(id, txn, armed, err) ((void)0)
#define jt_trace_job_complete(txn, job, ret)     ((void)0)
#define jt_trace_txn_ready(txn)                  ((void)0)
#define jt_trace_txn_retire(id, txn, status)     ((void)0)
#endif

#endif /* JT_TRACE_H */
