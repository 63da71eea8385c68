/*
 * walker.pml - the introspection walker against retirement, reuse and
 * free: a walker never mixes two incarnations of a txn object and never
 * reads freed memory.
 *
 * Models the walker as the code has it (txn/txn.c, point 7): a `live`
 * byte in the txn's first line and a `walkers` count; no id exchange per
 * retirement, no confirmation by the walker:
 *
 *   builder()     jt_txn_begin (txn/txn.c): txn_cache_take (txn/txn_cache.c),
 *                   the fields (relaxed stores), then live = 1 (release)
 *   dispatcher()  txn_retire (txn/retire.c): retire_end, live = 0
 *                   (relaxed), the limbo; the batch's give
 *                   (txn_cache_give_batch, walk_in_progress):
 *                   fetch_add(walkers, 0) (seq_cst): 0 -> the builders'
 *                   cache at once, else the reclaimer (push_batch). The last incarnation
 *                   goes beyond the cache's bound: release_batch unlinks it
 *                   from the registry first, then the same rule frees it
 *   reclaimer()   runtime/reclaimer.c: jt_rcu_synchronize, then the batch
 *                   goes to the cache (or is freed)
 *   walker(w)     jt_runtime_foreach_txn (txn/runtime_api.c):
 *                   jt_rcu_read_lock; fetch_add(walkers, 1) (seq_cst); the
 *                   registry walk (runtime/registry.c) reaches the object
 *                   while it is linked (visit_txn): live (acquire); skip
 *                   unless set; read the fields (relaxed); fetch_sub(walkers, 1)
 *                   (release); jt_rcu_read_unlock
 *
 * One txn object, INCS incarnations (begin .. retirement) one after the
 * other; a batch is one txn (batching only delays a give). Two fields,
 * each holding the number of the incarnation whose begin wrote it: a
 * snapshot mixes incarnations when they differ or differ from the
 * incarnation whose `live` store the walker's load read. RCU (urcu-bp):
 * synchronize waits until every read-side section open when it started has
 * closed. Sequentially consistent.
 *
 * Checked: every read of the object by a walker finds it not freed; every
 * snapshot is of one incarnation; LTL `progresses` (weak fairness): every
 * incarnation is built, and every walk ends.
 *
 * Injected bugs (the check must then fail):
 *   -DINJECT_BUG=1  the give puts the batch in the cache without looking at
 *                   `walkers` (reuse with a walker inside the object)
 *   -DINJECT_BUG=2  the batch beyond the bound is freed at once, without
 *                   looking at `walkers` (no grace period)
 */

#define INCS    3 /* incarnations of the object */
#define WALKERS 2
#ifndef WALKS
#define WALKS 2 /* walks per walker */
#endif

/* the txn object */
bool live = false; /* jt_txn.live */
byte live_inc = 0; /* ghost: the incarnation whose begin stored live */
byte fld[2];       /* fields written by begin: the incarnation's number */
bool linked = true; /* in the registry, from allocation to free */
bool freed = false;
bool in_cache = true; /* the builders' cache holds it (first: a fresh alloc) */

/* the runtime */
byte walkers = 0;
byte to_reclaim = 0; /* 0: nothing; 1: to the cache after a GP; 2: free */
bool in_cs[WALKERS];

/* ghosts */
byte built = 0;
byte walks_done = 0;

active proctype builder()
{
	byte k;

	for (k : 1 .. INCS) {
		/* txn_cache_take */
		atomic {
			in_cache ->
			assert(!freed);
			in_cache = false
		}
		/* jt_txn_begin: the fields, then live = 1 (release) */
		fld[0] = k;
		fld[1] = k;
		atomic {
			live_inc = k;
			live = true
		}
		built++
		/* add, commit; the dispatcher retires it */
	}
}

active proctype dispatcher()
{
	byte k, r;

	for (k : 1 .. INCS) {
		/* the txn retires after its callbacks */
		live;
		live = false; /* retire_end: live = 0 (relaxed) */
		if
		:: k < INCS ->
			/* limbo batch -> txn_cache_give_batch */
#if INJECT_BUG == 1
			r = 0;
#else
			r = walkers; /* fetch_add(walkers, 0), seq_cst */
#endif
			if
			:: r == 0 ->
				in_cache = true
			:: else ->
				to_reclaim = 1 /* jt_reclaimer_post */
			fi
		:: else ->
			/* beyond the cache's bound: release_batch */
			linked = false; /* jt_registry_remove_chain */
#if INJECT_BUG == 2
			r = 0;
#else
			r = walkers;
#endif
			if
			:: r == 0 ->
				freed = true
			:: else ->
				to_reclaim = 2
			fi
		fi
	}
}

active proctype reclaimer()
{
	byte i;
	bool snap[WALKERS];

end:
	do
	:: to_reclaim != 0 ->
		/* jt_rcu_synchronize */
		atomic {
			for (i : 0 .. WALKERS - 1) {
				snap[i] = in_cs[i]
			}
		}
		for (i : 0 .. WALKERS - 1) {
			!(snap[i] && in_cs[i])
		}
		snap[0] = false;
		snap[1] = false;
		/* then run the batch's work */
		atomic {
			if
			:: to_reclaim == 1 ->
				in_cache = true
			:: else ->
				freed = true
			fi;
			to_reclaim = 0
		}
	od
}

proctype walker(byte w)
{
	bool reach, f;
	byte n, inc, a, b;

	for (n : 1 .. WALKS) {
	in_cs[w] = true; /* jt_rcu_read_lock */
	walkers++;       /* seq_cst */
	/* jt_registry_foreach: the link to the object (acquire) */
	atomic {
		reach = linked;
		assert(!reach || !freed)
	}
	if
	:: reach ->
		/* visit: flags (acquire) */
		atomic {
			assert(!freed);
			f = live;
			inc = live_inc
		}
		if
		:: f ->
			atomic {
				assert(!freed);
				a = fld[0]
			}
			atomic {
				assert(!freed);
				b = fld[1]
			}
			/* the snapshot is one incarnation's */
			assert(a == inc && b == inc)
		:: else ->
			skip /* not live: in a cache, or being set up */
		fi
	:: else ->
		skip
	fi;
	walkers--;        /* release */
	in_cs[w] = false; /* jt_rcu_read_unlock */
	walks_done++
	}
}

init
{
	byte w;

	atomic {
		for (w : 0 .. WALKERS - 1) {
			run walker(w)
		}
	}
}

/* Every incarnation is built and every walk ends
 * (./pan -a -f -N progresses). */
ltl progresses { <> (built == INCS && walks_done == WALKERS * WALKS) }
