/* One process's mappings: read from smaps, classified, summarised. */
#ifndef MEMLEDGER_MAPS_H
#define MEMLEDGER_MAPS_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "memledger/category.h"
#include "memledger/parse.h"
#include "memledger/source.h"

/* What a mapping holds (DESIGN.md, "Mapping kinds"). */
enum ml_kind {
	ML_KIND_CODE,        /* file, private, executable */
	ML_KIND_RODATA,      /* file, private, read-only */
	ML_KIND_DATA,        /* file, private, writable */
	ML_KIND_HEAP,        /* [heap], and glibc malloc arenas */
	ML_KIND_STACK,       /* [stack] */
	ML_KIND_ANON,        /* private anonymous, [anon:NAME] */
	ML_KIND_SHMEM_SYSV,  /* /SYSV<key> */
	ML_KIND_SHMEM_MEMFD, /* /memfd:NAME */
	ML_KIND_SHMEM_POSIX, /* /dev/shm/NAME */
	ML_KIND_SHMEM_ANON,  /* MAP_SHARED|MAP_ANONYMOUS: /dev/zero (deleted), [anon_shmem:NAME] */
	ML_KIND_FILE_SHARED, /* file, MAP_SHARED */
	ML_KIND_GUARD,       /* no permission: ---p */
	ML_KIND_SPECIAL,     /* [vdso], [vvar], [vsyscall], [uprobes] */
	ML_KIND_HUGETLB,     /* hugetlbfs (VmFlags ht) */
	ML_KIND_DEVICE,      /* /dev/..., dma-buf, GPU */
	ML_KIND_COUNT
};

/* "code", "shmem:memfd", ... */
const char *ml_kind_name(enum ml_kind k);

/* True for the shmem kinds. */
bool ml_kind_is_shmem(enum ml_kind k);

/* True for address space reserved, not memory: an unnamed mapping without permission
 * (guard), or a private anonymous one never touched (no page resident or swapped: V8's
 * sandbox, PartitionAlloc's pools). libs and maps --merge book it as "[reserved]". */
bool ml_reserved(enum ml_kind k, const char *name, const struct ml_mem *mem);

/* A mapping kept for a view. */
struct ml_map {
	uint64_t start, end, offset, inode;
	unsigned dev_major, dev_minor;
	char perms[5];
	const char *name;    /* "" for anonymous memory; lives as long as the ml_maps */
	const char *vmflags; /* "" when smaps had no VmFlags; as long as the ml_maps */
	struct ml_mem mem;
	enum ml_kind kind;
	struct ml_category cat; /* its class and allocator (category.h) */
};

/* The kind of one mapping, from its name, permissions and flags alone. */
enum ml_kind ml_mapping_kind(const struct ml_mapping *m);

/*
 * glibc malloc arenas: an unnamed anonymous rw-p mapping at a 64 MiB boundary (the head)
 * followed at once by an unnamed anonymous ---p tail, the two exactly 64 MiB together.
 * ml_arena_head: the mapping could be a head. ml_arena_tail: the mapping after the head
 * [head_start, head_end) is its tail, which makes the head an arena (heap).
 */
bool ml_arena_head(uint64_t start, const char *perms, uint64_t inode, const char *name);
bool ml_arena_tail(uint64_t head_start, uint64_t head_end, uint64_t start, uint64_t end,
                   const char *perms, uint64_t inode, const char *name);

/* A process's mappings, ascending by address. */
struct ml_maps {
	pid_t pid;
	struct ml_map *v;
	size_t n, cap;
	struct ml_text_block *text; /* the names and flags, in blocks of 64 KiB */
};

/*
 * Reads /proc/PID/smaps of src into out and classifies each mapping, marking glibc
 * malloc arenas as heap. Returns 0 (n == 0: no user address space), -ESRCH when the
 * process is gone, -EACCES, -EINVAL for a malformed file, or another -errno.
 */
int ml_maps_read(struct ml_source *src, pid_t pid, struct ml_maps *out);

/* Called with each mapping of ml_maps_read_each, in address order, once its kind is
 * settled. m and its texts live until fn returns. Returns 0 or -errno, which stops the
 * reading. */
typedef int (*ml_map_fn)(const struct ml_map *m, void *ctx);

/*
 * Reads and classifies the mappings of pid as ml_maps_read does, handing each to fn as
 * it is read and keeping none: a caller works while the kernel writes the rest of the
 * file, in memory that does not grow with the mappings. An empty smaps of a live
 * process is read up to 32 more times (exec() empties it for an instant). Returns the number of
 * mappings (0: no user address space), an error as ml_maps_read, or fn's error.
 */
long ml_maps_read_each(struct ml_source *src, pid_t pid, ml_map_fn fn, void *ctx);

/*
 * The window ml_maps_read_each reads through, for a caller that parses smaps itself (a
 * scan's on_mapping): hand ml_maps_window_add (an ml_mapping_fn) each mapping of one
 * process in address order, and ml_maps_window_end after its last; fn gets each mapping
 * once its kind and category are settled (one mapping later). ml_maps_window_reset drops
 * a process's mappings not yet handed on (its read failed). NULL when out of memory.
 */
struct ml_maps_window;
struct ml_maps_window *ml_maps_window_new(ml_map_fn fn, void *ctx);
int ml_maps_window_add(const struct ml_mapping *m, void *ctx);
/* Hands on the last mapping; returns the mappings handed on since the start or reset, or
 * fn's error. Ready for the next process. */
long ml_maps_window_end(struct ml_maps_window *w);
void ml_maps_window_reset(struct ml_maps_window *w);
void ml_maps_window_free(struct ml_maps_window *w);

/* Called with each settled mapping of process pid (ml_maps_windows), and the process's
 * slot, NULL at its first mapping, for the caller's own per-process state. Returns 0 or
 * -errno, which fails the process's reading. */
typedef int (*ml_pid_map_fn)(pid_t pid, void **user, const struct ml_map *m, void *ctx);

/*
 * Windows over the mappings of processes read at once by a scan's reader threads: each
 * process's mappings settled as ml_maps_window settles them and handed to fn. Thread-safe;
 * 16 processes at most in flight. ml_maps_windows_add: one mapping of pid (in address
 * order). ml_maps_windows_end: after pid's last (rc 0), or when its read failed (rc < 0:
 * the rest is dropped); returns the mappings handed on (or rc, or fn's error) and the
 * process's slot in *user. NULL when out of memory.
 */
struct ml_maps_windows;
struct ml_maps_windows *ml_maps_windows_new(ml_pid_map_fn fn, void *ctx);
int ml_maps_windows_add(struct ml_maps_windows *w, pid_t pid, const struct ml_mapping *m);
long ml_maps_windows_end(struct ml_maps_windows *w, pid_t pid, int rc, void **user);
void ml_maps_windows_free(struct ml_maps_windows *w);

/* Frees what ml_maps_read allocated. */
void ml_maps_free(struct ml_maps *maps);

/* Where memory comes from, for the summary. */
enum ml_backing {
	ML_BACKING_ANON,
	ML_BACKING_FILE,
	ML_BACKING_SHMEM,
	ML_BACKING_OTHER,
	ML_BACKING_COUNT
};

/* "anonymous", "file", "shmem", "other" */
const char *ml_backing_name(enum ml_backing b);

/* A hole in the address space. */
struct ml_gap {
	uint64_t start, size;
};

/* A process's address space at a glance. Sizes in bytes; ML_UNKNOWN where unknown. */
struct ml_maps_summary {
	struct {
		uint64_t count;
		struct ml_mem mem; /* Σ of the kind's mappings, Size included */
	} kinds[ML_KIND_COUNT];
	struct {
		uint64_t private_resident, shared_resident, swapped;
	} backing[ML_BACKING_COUNT];
	uint64_t lazyfree, locked;
	uint64_t vmas, max_map_count;
	uint64_t address_bits; /* the ABI's user address space: 32, 47, 48 or 56 bits */
	uint64_t largest_gap, largest_gap_start;
	uint64_t guard_count, guard_size;
	uint64_t commit;                     /* Σ Size of mappings flagged "ac" */
	uint64_t committed_as, commit_limit; /* /proc/meminfo, system-wide */
	/* Followed mapping by mapping, for the largest gap: */
	uint64_t gap_prev, user_top; /* the highest end so far, from mmap_min_addr on */
	uint64_t last_start;         /* of the mapping before: smaps is in address order */
	bool unordered; /* a mapping came before the one above it (a malformed capture): the
	                   largest gap is unknown. Overlaps, which a live read shows when the
	                   address space changes under it, are followed. */
	struct ml_gap gap_any, gap_32; /* the largest so far, and as a 32-bit process sees it */
	struct ml_heaps heaps;         /* by class and heap (ml_heaps_finish is the caller's) */
};

/* What bounds every process's address space: the system's, read once for all of them. */
struct ml_maps_limits {
	uint64_t mmap_min_addr, max_map_count; /* /proc/sys/vm */
	uint64_t committed_as, commit_limit;   /* /proc/meminfo */
};

/* Reads the limits through src; what src lacks or cannot parse is ML_UNKNOWN. */
void ml_maps_limits_read(struct ml_source *src, struct ml_maps_limits *lim);

/*
 * Summarises the mappings of one process within the system's limits, in steps for a
 * caller that sees them as they are read: init, add each mapping in address order once
 * its kind is settled, then finish. No I/O; never fails.
 */
void ml_maps_summary_init(struct ml_maps_summary *s, const struct ml_maps_limits *lim);
void ml_maps_summary_add(struct ml_maps_summary *s, const struct ml_map *m);
void ml_maps_summary_finish(struct ml_maps_summary *s);

/*
 * Size of the mapping when its VmFlags hold "ac" (charged to the commit limit), else 0;
 * ML_UNKNOWN when smaps had no VmFlags (kernels before 3.8).
 */
uint64_t ml_map_commit(const struct ml_map *m);

#endif
