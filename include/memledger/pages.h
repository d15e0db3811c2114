/*
 * Exact page accounting: which processes map each resident page, who holds each swap
 * slot, and which shmem objects die with a set of processes (DESIGN.md, FREED).
 *
 * Use: ml_pages_new(); a scan with ML_NEED_PAGEMAP whose on_pages and on_mapping are
 * ml_pages_on_pages and ml_pages_on_mapping with the ml_pages as context; then
 * ml_pages_resolve() with the scan; then the queries.
 */
#ifndef MEMLEDGER_PAGES_H
#define MEMLEDGER_PAGES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "memledger/maps.h"
#include "memledger/scan.h"
#include "memledger/source.h"

struct ml_pages;

/* An empty ledger of pages, or NULL when out of memory. */
struct ml_pages *ml_pages_new(void);

void ml_pages_free(struct ml_pages *pg);

/* The scan's ml_proc_pages_fn: books each resident page and swap slot. Thread-safe. */
int ml_pages_on_pages(const struct ml_proc *p, const struct ml_mapping *m, uint64_t vaddr,
                      const uint64_t *entries, size_t n, void *pages);

/* The scan's ml_proc_mapping_fn: books shmem mappings and smaps-based bounds. Thread-safe. */
int ml_pages_on_mapping(const struct ml_proc *p, const struct ml_mapping *m, void *pages);

/*
 * Reads the map count and flags of every frame booked (/proc/kpagecount and
 * /proc/kpageflags, in runs of neighbouring frames), the SysV segments
 * (/proc/sysvipc/shm), the size of each shmem object (/proc/PID/map_files) and who holds
 * a memfd open (/proc/PID/fd), for the processes of scan. Returns 0 or -errno (-ENOMEM);
 * what it cannot read leaves the ledger inexact (ml_pages_exact), not failed.
 */
int ml_pages_resolve(struct ml_pages *pg, struct ml_source *src, const struct ml_scan *scan);

/*
 * True when every figure below is exact: frame numbers were readable (root or
 * CAP_SYS_ADMIN) for every process scanned. Otherwise FREED is a lower bound from smaps.
 */
bool ml_pages_exact(const struct ml_pages *pg);

/*
 * COW of process i of the scan: its resident anonymous pages that its parent maps too
 * (still shared since fork, the zygote effect). ML_UNKNOWN without frame numbers, or
 * when its smaps was not read.
 */
uint64_t ml_pages_cow(const struct ml_pages *pg, size_t i);

/* What killing a set of processes would return, and what would stay. Bytes. */
struct ml_freed {
	uint64_t anon;       /* resident anonymous pages mapped only inside the set */
	uint64_t swap;       /* swap slots held only inside the set */
	uint64_t shmem;      /* shmem objects that die with the set: resident and swapped */
	uint64_t kernel;     /* the set's page tables (VmPTE) and kernel stacks (a page-rounded
	                        KernelStack / tasks each thread): kernel memory that dies too */
	uint64_t shared_out; /* stays: resident pages that processes outside the set map too */
	uint64_t cache;      /* stays: file pages (clean or dirty) in the page cache */
	uint64_t shmem_kept; /* stays: pages of shmem objects that persist or others hold */
	bool exact;          /* false: from smaps alone, a lower bound; what stays is unknown */
	/* The set's own pages: exact mode and ml_pages_freed only, else ML_UNKNOWN. */
	uint64_t rss;       /* distinct resident pages the set maps */
	uint64_t uss;       /* resident pages that no process outside the set maps */
	uint64_t pss;       /* Σ page size / map count over the set's mappings, truncated once */
	uint64_t swap_held; /* distinct swap slots the set holds */
	uint64_t swap_zram; /* of swap_held, the slots on zram devices (compressed in RAM);
	                       ML_UNKNOWN also when /proc/swaps cannot tell the areas apart */
};

/* Every figure unknown: a set without a page ledger. */
extern const struct ml_freed ml_freed_unknown;

/* anon + swap + shmem + kernel: the FREED figure. */
uint64_t ml_freed_total(const struct ml_freed *f);

/*
 * FREED of every set of a partition of the scan's processes: set_of[i] (< nsets) is the
 * set of process i, or UINT32_MAX for a process in no set (it survives). out has nsets
 * entries; a set with a member whose smaps was not read (a capture lacks it) has anon,
 * swap and shmem unknown. Returns 0 or -ENOMEM.
 */
int ml_pages_freed(const struct ml_pages *pg, const uint32_t *set_of, size_t nsets,
                   struct ml_freed *out);

/*
 * FREED of each subtree of the scan's process tree (ml_scan_parents): out[i] (one per
 * process) is what killing process i and all its descendants would return; unknown, as
 * in ml_pages_freed, for a subtree with a process whose smaps was not read. Returns 0 or
 * -ENOMEM.
 */
int ml_pages_freed_tree(const struct ml_pages *pg, struct ml_freed *out);

/*
 * FREED of each kill of a sequence: rank[i] is process i's place in the order it dies
 * (0 first, UINT32_MAX: it never does), and out[k] (one per place, nranks of them) what
 * the kill at place k returns once those before it are dead: a page or swap slot, or a
 * shared object, at the kill of its last holder, never while one that does not die holds
 * it. Σ out[0..k] is what the first k + 1 kills return together. Returns 0 or -ENOMEM.
 */
int ml_pages_freed_order(const struct ml_pages *pg, const uint32_t *rank, size_t nranks,
                         struct ml_freed *out);

#define ML_KEPT_MAX 8

/* A shmem object that a set maps or holds, that would die with it, but that processes
 * outside the set keep alive: what killing the set may also free, if they let go of it
 * (a renderer's canvas memfd that the GPU process maps, and unmaps when it dies). */
struct ml_kept_object {
	size_t object;                 /* for ml_pages_shm_info */
	uint64_t size;                 /* its resident and swapped bytes */
	uint32_t keepers[ML_KEPT_MAX]; /* scan indexes of the processes outside that keep it */
	size_t nkeepers;
	bool more_keepers; /* more than ML_KEPT_MAX */
};

/*
 * The objects that set `set` of the partition set_of keeps alive together with processes
 * outside it, into *out (malloc'ed, to be freed). Returns their count, or -ENOMEM.
 */
long ml_pages_kept_objects(const struct ml_pages *pg, const uint32_t *set_of, uint32_t set,
                           struct ml_kept_object **out);

/* Who a shmem object is charged to wholly, for OWNED (DESIGN.md). */
enum ml_owner {
	ML_OWNER_CREATOR,  /* SysV: the creator (cpid) while it lives; else as oldest */
	ML_OWNER_OLDEST,   /* the mapper that started first (stat starttime) */
	ML_OWNER_LARGEST,  /* the mapper with the largest PSS of it */
	ML_OWNER_RESIDENT, /* SysV: the creator while it lives; memory shared through fork
	                      (every other mapper descends from the oldest): that ancestor
	                      (PostgreSQL's postmaster, not the backend that touched most of
	                      its shared buffers); else, passed between unrelated processes,
	                      the mapper holding the most of its pages resident (a canvas: the
	                      renderer that drew it, not the GPU process that maps it too);
	                      ties to the oldest */
};

/* One shmem object: a device and inode that processes map, or a SysV segment. */
struct ml_shm_info {
	enum ml_kind kind;
	const char *name; /* as its first mapper's smaps names it; NULL: no one maps it */
	unsigned dev_major, dev_minor;
	uint64_t inode;    /* SysV: the shmid */
	uint64_t length;   /* its size: a SysV segment's, else the inode's (map_files) */
	uint64_t resident; /* Σ Pss of its mappings: its mapped resident pages, once */
	uint64_t swap;     /* Σ SwapPss of its mappings */
	size_t mappers;    /* processes that map it; for a SysV segment none visibly maps,
	                      its nattch (the kernel's count of attaches) */
	long owner;        /* scan index of its owner, -1: none scanned */
	bool persists;     /* outlives its mappers and holders (SysV not marked, tmpfs, /dev/shm) */
	bool sysv;         /* a SysV segment: sysv_key holds its key */
	int64_t sysv_key;
};

/* The number of shmem objects: those scanned processes map, and SysV segments no one
 * maps (from /proc/sysvipc/shm). Valid after ml_pages_resolve. */
size_t ml_pages_shm_count(const struct ml_pages *pg);

/* Object o (< ml_pages_shm_count) of pg, resolved with scan, its owner under policy
 * (the scan must hold stat for every policy but ML_OWNER_LARGEST). */
void ml_pages_shm_info(const struct ml_pages *pg, const struct ml_scan *scan, size_t o,
                       enum ml_owner policy, struct ml_shm_info *out);

/*
 * OWNED of each process of scan into owned[]: its PSS (smaps_rollup), less the Pss of its
 * mappings of shmem objects, plus the Pss of every mapping of the objects it owns, so
 * that Σ OWNED = Σ PSS. ML_UNKNOWN where PSS is unknown, and where a process's mappings
 * of objects hold more PSS than its total (files read at different instants, or a
 * malformed capture). Returns how many processes the latter made unknown.
 */
size_t ml_pages_owned(const struct ml_pages *pg, const struct ml_scan *scan, enum ml_owner policy,
                      uint64_t *owned);

#endif
