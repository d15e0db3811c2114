/* The figures of a process, as DESIGN.md defines them, and their totals. */
#ifndef MEMLEDGER_LEDGER_H
#define MEMLEDGER_LEDGER_H

#include <stddef.h>
#include <stdint.h>

#include "memledger/scan.h"

enum ml_metric {
	ML_VSS,        /* address space reserved: status VmSize */
	ML_RSS,        /* resident: smaps_rollup Rss */
	ML_PSS,        /* proportional set: Rss with each shared page divided by its mappers */
	ML_USS,        /* unique: Private_Clean + Private_Dirty */
	ML_SHARED,     /* Shared_Clean + Shared_Dirty */
	ML_SWAP,       /* swapped out (swap, zram, zswap) */
	ML_SWAPPSS,    /* swap divided among the processes that share it */
	ML_DIRTY,      /* Shared_Dirty + Private_Dirty */
	ML_ANON,       /* PSS of anonymous memory: Pss_Anon */
	ML_FILE,       /* PSS of file-backed memory: Pss_File */
	ML_SHMEM,      /* PSS of shared memory: Pss_Shmem */
	ML_FOOTPRINT,  /* private footprint: status RssAnon + VmSwap */
	ML_COMMIT,     /* charged to the commit limit: Σ Size of mappings flagged "ac" */
	ML_LAZYFREE,   /* MADV_FREE pages the kernel may drop */
	ML_LOCKED,     /* mlocked */
	ML_THP,        /* transparent huge pages: AnonHugePages + ShmemPmdMapped + FilePmdMapped */
	ML_HUGETLB,    /* hugetlbfs: Shared_Hugetlb + Private_Hugetlb (not in RSS) */
	ML_KSM,        /* merged by KSM */
	ML_REFERENCED, /* recently accessed */
	ML_PAGETABLES, /* page tables: status VmPTE */
	ML_THREADS,    /* threads: status Threads (a count, not bytes) */
	ML_GPU,        /* its share of its GPU clients' buffers in system memory (RAM) */
	ML_VRAM,       /* its share of its GPU clients' device memory (not RAM), NVML's too */
	ML_DMABUF,     /* its share of the dma-bufs it holds by fd or mapping */
	ML_NMETRICS
};

/* The ML_NEED_* files a metric is computed from. */
unsigned ml_metric_needs(enum ml_metric m);

/*
 * A metric of smaps counters (a mapping's, or smaps_rollup's): ML_VSS is Size; metrics
 * that come from status or from flags (FOOTPRINT, COMMIT, ...) are ML_UNKNOWN here.
 */
uint64_t ml_mem_metric(const struct ml_mem *mem, enum ml_metric m);

/* The metric for p, in bytes (ML_THREADS: a count), or ML_UNKNOWN. */
uint64_t ml_proc_metric(const struct ml_proc *p, enum ml_metric m);

/* Σ of the metric over procs; unknown when it is unknown for any of them. */
uint64_t ml_metric_total(const struct ml_proc *procs, size_t n, enum ml_metric m);

/* Processes that share a key (a UID, ...), with the sums of their metrics. */
struct ml_group {
	uint64_t key;
	size_t nprocs;
	uint64_t totals[ML_NMETRICS]; /* Σ over the group; unknown when unknown for any member */
};

/* The key of a process for grouping. */
typedef uint64_t (*ml_group_key_fn)(const struct ml_proc *p);

/* The effective UID of a process (status), or ML_UNKNOWN. */
uint64_t ml_proc_uid(const struct ml_proc *p);

/*
 * Groups procs by key into a malloc'ed array, one group per distinct key, ascending by
 * key. Returns the number of groups, or -ENOMEM.
 */
long ml_group_by(const struct ml_proc *procs, size_t n, ml_group_key_fn key,
                 struct ml_group **groups);

#endif
