/* Enumerates processes and reads only the files that the requested figures need. */
#ifndef MEMLEDGER_SCAN_H
#define MEMLEDGER_SCAN_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "memledger/nvml.h"
#include "memledger/parse.h"
#include "memledger/source.h"

/* The per-process files a scan reads; a figure names the ones it needs. */
enum ml_need {
	ML_NEED_STAT = 1 << 0,    /* /proc/PID/stat */
	ML_NEED_STATUS = 1 << 1,  /* /proc/PID/status */
	ML_NEED_CMDLINE = 1 << 2, /* /proc/PID/cmdline */
	ML_NEED_ROLLUP = 1 << 3,  /* /proc/PID/smaps_rollup (smaps where it is missing) */
	ML_NEED_SMAPS = 1 << 4,   /* /proc/PID/smaps, walked mapping by mapping */
	ML_NEED_PAGEMAP = 1 << 5, /* /proc/PID/pagemap of the mappings smaps finds pages in */
	ML_NEED_EXE = 1 << 6,     /* the /proc/PID/exe link */
	ML_NEED_CGROUP = 1 << 7,  /* /proc/PID/cgroup */
	ML_NEED_STATM = 1 << 8,   /* /proc/PID/statm: RSS and anonymous RSS, cheaper than status */
	ML_NEED_GPU = 1 << 9,     /* the fd links, the fdinfo of DRM and dma-buf fds, and the maps
	                             lines of mapped dma-bufs (memledger/gpu.h) */
	ML_NEED_OOM = 1 << 10,    /* /proc/PID/oom_score_adj */
	ML_NEED_OOM_SCORE = 1 << 11, /* /proc/PID/oom_score (the kernel's, as a check) */
	ML_NEED_CLASSES = 1 << 12,   /* smaps, each mapping categorised (category.h): heaps */
	ML_NEED_CONTEXT = 1 << 13,   /* /proc/PID/attr/current: the security context */
};

/* struct ml_proc's oom_adj when it is unknown (not read, absent, out of range). */
#define ML_OOM_ADJ_UNKNOWN (-100000)

/* One process as read: only the parts its scan needed are filled. */
struct ml_proc {
	pid_t pid;
	unsigned have;          /* ML_NEED_* bits of the files read */
	char comm[ML_COMM_MAX]; /* status Name, else stat comm; "" when neither was read */
	char *cmdline;          /* malloc'ed, "" for an empty cmdline; NULL when not read */
	char *exe;     /* with ML_NEED_EXE: malloc'ed target of exe; NULL when hidden or absent */
	char *context; /* with ML_NEED_CONTEXT: malloc'ed attr/current (SELinux's
	                  u:r:untrusted_app:s0:c170,c256); NULL where none is known */
	char *cgroup;  /* with ML_NEED_CGROUP: malloc'ed cgroup v2 path (else the first
	                  hierarchy's); NULL when unreadable */
	struct ml_status status; /* with ML_NEED_STATUS */
	struct ml_stat stat;     /* with ML_NEED_STAT */
	struct ml_statm statm;   /* with ML_NEED_STATM */
	struct ml_mem mem;       /* with ML_NEED_ROLLUP: smaps_rollup's totals */
	uint64_t commit;         /* with ML_NEED_SMAPS: Σ Size of mappings flagged "ac" */
	bool pagemap_refused;    /* with ML_NEED_PAGEMAP: smaps read, pagemap not (EACCES) */
	struct ml_proc_gpu *gpu; /* with ML_NEED_GPU: its GPU clients and dma-bufs, booked
	                            across the scan; NULL when its fds could not be read */
	int oom_adj;    /* with ML_NEED_OOM: oom_score_adj, -1000..1000; ML_OOM_ADJ_UNKNOWN */
	long oom_score; /* with ML_NEED_OOM_SCORE: the kernel's oom_score; -1 unknown */
	struct ml_heaps *heaps; /* with ML_NEED_CLASSES: its memory by class and its heaps,
	                           finished with its threads (malloc'ed); NULL unless read */
};

/* Called for each mapping of a process whose smaps is read; from reader threads. */
typedef int (*ml_proc_mapping_fn)(const struct ml_proc *p, const struct ml_mapping *m, void *ctx);

/* Called after a process's last mapping handed to on_mapping (rc 0), or when its smaps
 * failed after some were (rc < 0: forget them); from reader threads. A non-zero return
 * fails the scan. */
typedef int (*ml_proc_mappings_end_fn)(const struct ml_proc *p, int rc, void *ctx);

/*
 * Called with the pagemap entries (one uint64_t per page, as the kernel documents them)
 * of pages [vaddr, vaddr + n pages) of mapping m, in chunks, for every mapping whose
 * smaps shows resident or swapped pages; from reader threads.
 */
typedef int (*ml_proc_pages_fn)(const struct ml_proc *p, const struct ml_mapping *m, uint64_t vaddr,
                                const uint64_t *entries, size_t n, void *ctx);

/* Decides, after the cheap files (stat, status, cmdline) are read, whether to go on. */
typedef bool (*ml_proc_filter_fn)(const struct ml_proc *p, void *ctx);

struct ml_scan_opts {
	unsigned needs;    /* ML_NEED_* */
	const pid_t *pids; /* only these processes, when npids > 0 */
	size_t npids;
	ml_proc_filter_fn keep; /* NULL keeps all; called from reader threads */
	void *keep_ctx;
	unsigned threads;    /* reader threads; 0 picks one per CPU, at most 2 */
	bool leave_out_self; /* in the live /proc: not the calling process, whose pages say
	                        nothing of the system's (a captured PID is another process) */
	ml_proc_mapping_fn
	    on_mapping; /* with ML_NEED_SMAPS: each mapping; a non-zero return fails the scan */
	void *mapping_ctx;
	ml_proc_mappings_end_fn on_mappings_end; /* with on_mapping, smaps read: (mapping_ctx) */
	ml_proc_pages_fn on_pages; /* with ML_NEED_PAGEMAP: a non-zero return fails the scan */
	void *pages_ctx;
	bool pages_without_smaps; /* with ML_NEED_PAGEMAP and no ML_NEED_SMAPS: the mappings
	                             from PROCMAP_QUERY (Linux 6.11), without their smaps
	                             figures (ml_mapping.mem unknown, no commit), and pagemap
	                             where PAGEMAP_SCAN finds pages; smaps where the kernel
	                             lacks either, for a capture, or a refused pagemap */
	bool whole_pagemap;       /* read pagemap over every page of a mapping with pages, not only
	                             where PAGEMAP_SCAN (Linux 6.7) finds them: the old path, for tests */
};

/* The result of a scan. */
struct ml_scan {
	struct ml_proc *procs; /* ascending PID */
	size_t nprocs;
	size_t unreadable;      /* processes whose files could not be read (EACCES, ...) */
	pid_t *unreadable_pids; /* their PIDs, ascending (malloc'ed; NULL when none) */
	size_t vanished;        /* processes that exited while read */
	uint64_t tasks;       /* the threads the kernel runs (loadavg), read with a live listing of
	                         every process; 0 when not read */
	char hidden[128];     /* why processes that exist are not listed (a PID namespace, or
	                         hidepid=2), "" when the live listing shows them all: then figures
	                         over every process are bounds */
	struct ml_nvml *nvml; /* with ML_NEED_GPU on the live /proc: NVIDIA's devices and the
	                         processes on them (NVML), each process's in its gpu->vram */
	char gpu_error[128];  /* why NVML could not be read, "" when it was or is absent */
	long captured_uid;    /* of a snapshot, the UID it was captured as; -1: live, or a
	                         snapshot that does not say */
	char captured_user[64]; /* ... and that user's name ("shell"), "" when it does not say */
	bool android;           /* the source is an Android device's (ml_source_android) */
	pid_t error_pid;        /* with a failed scan: where it failed (0: not a process) */
	char error_file[32];
};

/*
 * Reads the processes of src as opts asks into out. Kernel threads and zombies (no
 * user address space) are left out; processes that exit while read are dropped and
 * counted as vanished; ones whose files cannot be read are counted as unreadable; when
 * the live /proc hides some from memledger, out->hidden says why.
 * Returns 0, or -errno (-EINVAL for a malformed file, named by error_pid and
 * error_file). out is to be freed with ml_scan_free() in either case.
 */
int ml_scan_run(struct ml_source *src, const struct ml_scan_opts *opts, struct ml_scan *out);

/*
 * Reads the stat of one process of src into st, to tell why it has no address space
 * (a kernel thread, a zombie, or one in the middle of exec()). Returns 0, or -errno
 * (-ESRCH when it is gone, -EINVAL for a malformed stat).
 */
int ml_scan_read_stat(struct ml_source *src, pid_t pid, struct ml_stat *st);

/* The index of pid in s->procs (ascending by PID: a binary search), or -1. */
long ml_scan_find(const struct ml_scan *s, pid_t pid);

/* "PID comm" (the comm of a process in s), or "PID" when s has no such process or no
 * comm: malloc'ed, NULL when out of memory. */
char *ml_scan_pid_label(const struct ml_scan *s, pid_t pid);

/*
 * The index in s->procs of each process's parent (status PPid, else stat's), or -1 for a
 * process whose parent is no row (PID 1, a parent that could not be read), into parent
 * (s->nprocs entries), and with depth non-NULL each process's number of ancestors.
 * Parent links form a forest: a cycle (a process that is its own parent, two that are
 * each other's, as PID reuse or a capture can show) is broken where it closes, walking
 * up from each process in PID order, and the process whose link closed it becomes a
 * root. Linear in s->nprocs whatever the depth. Returns 0 or -ENOMEM.
 */
int ml_scan_parents(const struct ml_scan *s, long *parent, size_t *depth);

/*
 * Fills order (n entries) with 0..n-1 sorted by depth, deepest first (ties by index):
 * children come before their parents, for sums that climb a tree. Linear (a counting
 * sort). Returns 0 or -ENOMEM.
 */
int ml_order_deepest_first(const size_t *depth, size_t n, size_t *order);

/* Frees what a scan allocated. */
void ml_scan_free(struct ml_scan *s);

#endif
