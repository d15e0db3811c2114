/*
 * Memory cgroups: the tree of the memory controller (cgroup v2, or v1's memory hierarchy
 * where that is what is mounted), each cgroup's charge, limits and memory.stat in the
 * vocabulary of the system view. Read from the sys directory that goes with the source.
 */
#ifndef MEMLEDGER_CGROUP_H
#define MEMLEDGER_CGROUP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct ml_source;

/* One cgroup. Sizes in bytes; ML_UNKNOWN where the kernel gave none; a limit that is no
 * limit ("max", v1's PAGE_COUNTER_MAX) is ML_UNKNOWN too, with unlimited set. */
struct ml_cgroup {
	char *path;       /* "/" for the root, "/a/b" below it */
	unsigned depth;   /* 0 for the root */
	uint64_t current; /* v2 memory.current; v1 memory.usage_in_bytes (page cache included) */
	uint64_t max, high, low, min; /* v2; v1: max is limit_in_bytes */
	uint64_t soft;                /* v1 soft_limit_in_bytes */
	unsigned unlimited;           /* bits: 1 max, 2 high, 4 soft */
	uint64_t swap;                /* v2 memory.swap.current; v1 memsw.usage - usage */
	/* memory.stat (v1: the hierarchical total_* keys), as the system view names them: */
	uint64_t anon;          /* anonymous (v1 rss) */
	uint64_t file;          /* page cache, shmem and tmpfs left out (v1 cache - shmem) */
	uint64_t mapped;        /* of the page cache and shmem, what processes map (file_mapped) */
	uint64_t shmem;         /* shmem and tmpfs */
	uint64_t kernel;        /* slab, stacks, page tables, percpu, vmalloc (v1 kmem.usage) */
	uint64_t sock;          /* network buffers (v2) */
	uint64_t other;         /* current less the rows above; ML_UNKNOWN when they exceed it */
	uint64_t overlap;       /* how far the rows exceed current (the counters overlap), else 0;
	                           ML_UNKNOWN when a row or current is */
	uint64_t oom, oom_kill; /* v2 memory.events; v1 oom_control's oom_kill */
	double pressure;        /* v2 memory.pressure some avg10, percent; < 0 unknown */
	bool oom_group;         /* v2 memory.oom.group: the OOM killer kills it whole */
};

struct ml_cgroups {
	int version;         /* 1 or 2 */
	struct ml_cgroup *v; /* parents before children, siblings by name */
	size_t n;
};

/*
 * Reads the memory cgroup tree of src's sys directory (sys/fs/cgroup: v2 there or in
 * unified/, v1 in memory/) into out. Returns 0, -ENOENT when there is no memory cgroup
 * hierarchy, or -errno (out empty).
 */
int ml_cgroups_read(struct ml_source *src, struct ml_cgroups *out);

void ml_cgroups_free(struct ml_cgroups *c);

/* True when cgroup path p ("/a/b") is group g or below it; every path is below "/". */
bool ml_cgroup_inside(const char *p, const char *g);

/* Parses memory.stat's "key value" lines into g (v1: with_totals picks the total_* keys).
 * Returns 0 or -EINVAL. */
int ml_parse_memcg_stat(const char *buf, size_t len, int version, struct ml_cgroup *g);

#endif
