/* Where all of RAM goes: /proc/meminfo and friends, rows that add up to physical memory. */
#ifndef MEMLEDGER_SYSTEM_H
#define MEMLEDGER_SYSTEM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "memledger/source.h"

/* The /proc/meminfo fields memledger uses, in bytes; ML_UNKNOWN when absent. */
enum ml_meminfo_field {
	ML_MI_MEMTOTAL,
	ML_MI_MEMFREE,
	ML_MI_MEMAVAILABLE,
	ML_MI_BUFFERS,
	ML_MI_CACHED,
	ML_MI_SWAPCACHED,
	ML_MI_ANONPAGES,
	ML_MI_MAPPED,
	ML_MI_SHMEM,
	ML_MI_SRECLAIMABLE,
	ML_MI_SUNRECLAIM,
	ML_MI_KERNELSTACK,
	ML_MI_PAGETABLES,
	ML_MI_SECPAGETABLES,
	ML_MI_VMALLOCUSED,
	ML_MI_PERCPU,
	ML_MI_HUGETLB,
	ML_MI_ZSWAP,
	ML_MI_SWAPTOTAL,
	ML_MI_SWAPFREE,
	ML_MI_COMMITLIMIT,
	ML_MI_COMMITTED_AS,
	ML_MI_UNEVICTABLE,
	ML_MI_MLOCKED,
	ML_MI_DIRTY,
	ML_MI_WRITEBACK,
	ML_MI_KRECLAIMABLE, /* SReclaimable and the kernel's other reclaimable pages (4.20) */
	ML_MI_COUNT
};

/* The kernel's name of a meminfo field ("MemTotal"). */
const char *ml_meminfo_name(enum ml_meminfo_field f);

/* Parses a whole /proc/meminfo text. Returns 0, or -EINVAL when a used field is malformed or
 * MemTotal is missing. */
int ml_parse_meminfo(const char *buf, size_t len, uint64_t v[ML_MI_COUNT]);

#define ML_SYSTEM_MAX_ROWS  32
#define ML_SYSTEM_MAX_SWAPS 8

/* How sure a row's figure is. */
enum ml_bound { ML_EXACT, ML_AT_LEAST, ML_AT_MOST };

/* One row of the RAM breakdown; a child (depth 1) is part of the row above it. */
struct ml_system_row {
	const char *name;
	int depth;
	uint64_t bytes; /* ML_UNKNOWN when unknown */
	enum ml_bound bound;
};

/*
 * What processes map of the page cache and of shmem: Σ Pss_File and Σ Pss_Shmem over the
 * processes read (a page mapped by k processes adds 1/k to each, so the sums count each
 * mapped page once). Lower bounds when some process could not be read.
 */
struct ml_mapped {
	uint64_t file, shmem; /* bytes, ML_UNKNOWN when unknown */
	bool partial;         /* some processes were not read */
};

struct ml_swap_device {
	char name[256];
	char type[16];
	uint64_t size, used; /* bytes */
	long priority;
};

/*
 * Parses /proc/swaps ("Filename Type Size Used Priority", sizes in kB) into out, at most
 * max areas, in the file's order (the order of the areas' type numbers). Lines that are no
 * area are skipped. Returns how many.
 */
size_t ml_parse_swaps(const char *buf, size_t len, struct ml_swap_device *out, size_t max);

/* What swapped memory costs in RAM: zswap's pool, and the zram devices that are swap
 * areas (a disk or a file costs none). */
struct ml_swap_cost {
	uint64_t swap_used;              /* SwapTotal - SwapFree */
	uint64_t zswap, zswapped;        /* meminfo: the pool's RAM, and what it holds */
	uint64_t zram_used, zram_stored; /* Σ mm_stat mem_used_total and orig_data_size (the
	                                    same-filled pages in it) of the zram swap areas */
	size_t areas, zram_areas;        /* swap areas, and how many of them are zram */
	bool zram_unreadable;            /* a zram swap area's mm_stat could not be read */
};

/* The whole system's memory. */
struct ml_system {
	uint64_t mi[ML_MI_COUNT];
	uint64_t physical; /* online memory blocks, ML_UNKNOWN without /sys */
	struct ml_system_row rows[ML_SYSTEM_MAX_ROWS];
	size_t nrows;         /* top-level rows add up to physical (or MemTotal) exactly */
	uint64_t unexplained; /* MemTotal less every counted row; ML_UNKNOWN when negative */
	uint64_t
	    overcounted; /* how far the counters overlap when unexplained is negative, else 0 */
	struct ml_mapped
	    mapped;          /* splits page cache and shmem; unknown until ml_system_book_mapped */
	uint64_t zram;       /* Σ mem_used_total of /sys/block/zram*, ML_UNKNOWN without /sys */
	uint64_t heap_pools; /* Android's dma-buf and ION heaps' page pools (total_pools_kb, in
	                        KReclaimable); ML_UNKNOWN where the kernel has no such heaps */
	uint64_t ion_heaps;  /* ION's buffers (ion/total_heaps_kb); ML_UNKNOWN without ION */
	uint64_t gpu_driver, gpu_heaps; /* GPU buffers in RAM no meminfo row counts: unknown
	                                   (no row) until ml_system_book_gpu */
	bool gpu_partial;   /* some process's or client's GPU memory is unknown: lower bounds */
	uint64_t swap_used; /* SwapTotal - SwapFree */
	struct ml_swap_cost swap_cost; /* what swap costs in RAM, from the same files; its
	                                  swap_used unknown when swap_used is */
	struct ml_swap_device swaps[ML_SYSTEM_MAX_SWAPS];
	size_t nswaps;
	int overcommit;                            /* vm.overcommit_memory, -1 unknown */
	double pressure_some[3], pressure_full[3]; /* avg10, avg60, avg300; < 0 unknown */
	const char *inconsistent[4]; /* counters found to contradict others, each once (the
	                                figure each spoils is unknown) */
	size_t ninconsistent;
};

/*
 * Reads meminfo, swaps, vm.overcommit_memory and pressure/memory from src, and the
 * memory blocks and zram devices from the sys directory beside it (/sys for /proc).
 * Returns 0, or -errno when meminfo cannot be read or is malformed.
 */
int ml_system_read(struct ml_source *src, struct ml_system *sys);

/* MemTotal of src's meminfo into *bytes. Returns 0, or -errno when meminfo cannot be read,
 * is malformed or has no MemTotal. */
int ml_system_mem_total(struct ml_source *src, uint64_t *bytes);

/* MemTotal and SwapTotal of src's meminfo into *ram and *swap (0 without swap): the OOM
 * killer's totalpages. Returns 0 or -errno as ml_system_mem_total. */
int ml_system_ram_swap(struct ml_source *src, uint64_t *ram, uint64_t *swap);

/* Reads the cost of swap from src's meminfo, swaps and zram devices (/sys beside /proc).
 * Returns 0, or -errno when meminfo or swaps cannot be read or are malformed. */
int ml_swap_cost_read(struct ml_source *src, struct ml_swap_cost *c);

/*
 * The RAM that swap bytes of a process's swap cost, in bytes: its share of the zswap pool
 * (swap x Zswap / swap used) and of its zram devices' compressed memory (what is not in
 * zswap x mem_used_total / orig_data_size, procrank's ratio), 0 on a disk or a file; ML_UNKNOWN
 * when swap is unknown, or when zram and other swap areas are on together (smaps does not say which
 * holds a process's pages).
 */
uint64_t ml_swap_compressed(const struct ml_swap_cost *c, uint64_t swap);

/* ml_system_read with the physical memory known from an earlier read (ML_UNKNOWN: read
 * it): memory blocks rarely go on- or offline, and each costs a file (top reads them once). */
int ml_system_reread(struct ml_source *src, struct ml_system *sys, uint64_t physical);

/*
 * Splits the page cache and shmem rows of sys into what processes map and what they do not,
 * from m. The rows sum as before.
 */
void ml_system_book_mapped(struct ml_system *sys, const struct ml_mapped *m);

/*
 * Books in sys the GPU buffers in RAM that no meminfo row counts, taken from what was
 * unexplained (ml_gpu_totals: sys_own and dmabuf_own): driver, the pages of TTM drivers'
 * clients; heaps, dma-bufs of heaps (held by processes or by the kernel alone); partial
 * when some of it is unknown (a process not read, a driver without usage stats): the rows
 * are then lower bounds and unexplained an upper one. The rows sum as before.
 */
void ml_system_book_gpu(struct ml_system *sys, uint64_t driver, uint64_t heaps, bool partial);

/* "heuristic", "always", "never (strict)", or "?". */
const char *ml_overcommit_name(int mode);

#endif
