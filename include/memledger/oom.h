/* Who dies first when memory runs out: the kernel's OOM killer's badness and order
 * (mm/oom_kill.c), and Android's lmkd's. */
#ifndef MEMLEDGER_OOM_H
#define MEMLEDGER_OOM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct ml_scan;
struct ml_proc;

/* Whose order: the kernel's OOM killer, or Android's low memory killer daemon. */
enum ml_oom_policy { ML_OOM_KERNEL, ML_OOM_LMKD };

/* A badness the killer skips (oom_badness()'s LONG_MIN). */
#define ML_OOM_SKIP INT64_MIN

/*
 * oom_badness() of process p, in pages: its resident pages (RssAnon + RssFile +
 * RssShmem), swap entries (VmSwap) and page tables (VmPTE) in pages, plus oom_score_adj
 * times totalpages / 1000. ML_OOM_SKIP where the kernel skips it: adj -1000, global init
 * (PID 1), a process exiting (a zombie, or dead), unknown adj or status.
 */
int64_t ml_oom_badness(const struct ml_proc *p, uint64_t page, uint64_t totalpages);

/* /proc/PID/oom_score from a badness, as proc_oom_score() scales it: (1000 + badness *
 * 1000 / totalpages) * 2 / 3; 0 for a process skipped. */
long ml_oom_score(int64_t badness, uint64_t totalpages);

/* One victim of an order. */
struct ml_oom_victim {
	size_t proc;     /* scan index */
	int64_t badness; /* pages; the lmkd policy: its size in pages, the same sum */
};

/*
 * The processes of s that the killer would pick, in the order it would pick them, into
 * *out (malloc'ed, *n of them): with ML_OOM_KERNEL by badness, largest first, ties to the
 * one started last (the kernel's task walk keeps the last of equal badness); with
 * ML_OOM_LMKD the highest oom_score_adj first, down to min_adj, within one the largest
 * first. keep (NULL: all) leaves out processes outside the killer's reach (another
 * cgroup's). Returns 0 or -ENOMEM.
 */
int ml_oom_order(const struct ml_scan *s, enum ml_oom_policy policy, uint64_t page,
                 uint64_t totalpages, int min_adj, const bool *keep, struct ml_oom_victim **out,
                 size_t *n);

#endif
