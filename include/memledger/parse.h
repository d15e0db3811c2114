/* Pure parsers from /proc text to structs: no I/O, no allocation. */
#ifndef MEMLEDGER_PARSE_H
#define MEMLEDGER_PARSE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* A value the kernel did not give. Never printed as 0. */
#define ML_UNKNOWN UINT64_MAX

/* a + b, unknown when either is. */
uint64_t ml_add_u64(uint64_t a, uint64_t b);

/* The kB fields of smaps and smaps_rollup, in bytes. */
enum ml_mem_field {
	ML_MEM_SIZE,
	ML_MEM_RSS,
	ML_MEM_PSS,
	ML_MEM_PSS_DIRTY,
	ML_MEM_PSS_ANON,
	ML_MEM_PSS_FILE,
	ML_MEM_PSS_SHMEM,
	ML_MEM_SHARED_CLEAN,
	ML_MEM_SHARED_DIRTY,
	ML_MEM_PRIVATE_CLEAN,
	ML_MEM_PRIVATE_DIRTY,
	ML_MEM_REFERENCED,
	ML_MEM_ANONYMOUS,
	ML_MEM_KSM,
	ML_MEM_LAZYFREE,
	ML_MEM_ANON_HUGE,
	ML_MEM_SHMEM_PMD,
	ML_MEM_FILE_PMD,
	ML_MEM_SHARED_HUGETLB,
	ML_MEM_PRIVATE_HUGETLB,
	ML_MEM_SWAP,
	ML_MEM_SWAP_PSS,
	ML_MEM_LOCKED,
	ML_MEM_NFIELDS
};

/* Memory counters of one mapping or one process; ML_UNKNOWN where absent. */
struct ml_mem {
	uint64_t v[ML_MEM_NFIELDS];
};

/* Sets every counter to ML_UNKNOWN. */
void ml_mem_init(struct ml_mem *m);

/* Adds b into a field by field; a field unknown in either becomes unknown. */
void ml_mem_add(struct ml_mem *a, const struct ml_mem *b);

/*
 * Parses one "Key:   123 kB" line of smaps or smaps_rollup into m. Returns 0 when the
 * line was stored or is a field memledger does not use (VmFlags, THPeligible, Android's
 * Name, ...), -EINVAL when it is no field line or a known field's number is malformed.
 */
int ml_parse_mem_line(const char *line, size_t len, struct ml_mem *m);

#define ML_VMFLAGS_MAX 128
#define ML_NAME_MAX    4352 /* PATH_MAX and a " (deleted)" or "[anon:...]" tail */

/* One mapping of smaps: its maps line, counters and VmFlags. */
struct ml_mapping {
	uint64_t start, end; /* [start, end) virtual addresses */
	uint64_t offset;     /* file offset */
	uint64_t inode;
	unsigned dev_major, dev_minor;
	char perms[5];                /* "r-xp" */
	const char *name;             /* NUL-terminated, "" for anonymous */
	size_t name_len;              /* may hold " (deleted)" */
	struct ml_mem mem;            /* ML_UNKNOWN where smaps had no line */
	char vmflags[ML_VMFLAGS_MAX]; /* "rd wr mr mw me ac", "" when absent */
	bool has_vmflags;
};

/* True when the mapping's VmFlags holds the two-letter flag (e.g. "ac"). */
bool ml_mapping_has_flag(const struct ml_mapping *m, const char flag[2]);

/* True when a VmFlags value ("rd wr ac") holds the two-letter flag. */
bool ml_vmflags_has(const char *vmflags, const char flag[2]);

/*
 * Finds the "Key:   123 kB" line of key in a meminfo-like text and parses it into bytes.
 * Returns 0, -ENOENT when there is no such line, or -EINVAL when it is malformed.
 */
int ml_parse_kb_field(const char *buf, size_t len, const char *key, uint64_t *bytes);

/*
 * Parses the header line of a mapping ("start-end perms offset dev inode name") into m,
 * copying the name into name_buf (ML_NAME_MAX bytes). Returns 0 or -EINVAL.
 */
int ml_parse_maps_line(const char *line, size_t len, struct ml_mapping *m, char *name_buf);

/* Called once for each complete mapping; a non-zero return stops the parse with it. */
typedef int (*ml_mapping_fn)(const struct ml_mapping *m, void *ctx);

/* Streaming smaps parser: feed it whole lines, in order, then finish it. */
#define ML_SMAPS_ORDER_MAX 48

struct ml_smaps_parser {
	struct ml_mapping cur;
	bool have_cur;
	ml_mapping_fn emit;
	void *ctx;
	char name[ML_NAME_MAX];
	/* The field of each line of the last mapping (-1: not a field): the kernel writes
	 * the same keys in the same order each time, so the next line's key is a guess that
	 * one comparison confirms. */
	signed char order[ML_SMAPS_ORDER_MAX];
	unsigned line; /* lines of the current mapping so far */
};

/* Prepares p to call emit(mapping, ctx) for each mapping fed to it. */
void ml_smaps_parser_init(struct ml_smaps_parser *p, ml_mapping_fn emit, void *ctx);

/*
 * Feeds one line (without its newline). Returns 0, -EINVAL for a malformed line or a
 * field before the first mapping, or what emit returned when it was not 0.
 */
int ml_smaps_parser_feed(struct ml_smaps_parser *p, const char *line, size_t len);

/* Emits the last mapping. Returns 0 or what emit returned. */
int ml_smaps_parser_finish(struct ml_smaps_parser *p);

/* Parses a whole smaps text. Returns 0, -EINVAL, or what emit returned. */
int ml_parse_smaps(const char *buf, size_t len, ml_mapping_fn emit, void *ctx);

/*
 * Parses a whole smaps_rollup text into m (which it initialises). Returns 0, or -EINVAL
 * when a line is malformed or Rss or Pss is missing (a truncated or foreign file).
 */
int ml_parse_smaps_rollup(const char *buf, size_t len, struct ml_mem *m);

/* One SysV shared memory segment, as /proc/sysvipc/shm lists it. Bytes for sizes. */
struct ml_sysv_shm {
	int64_t key;
	uint64_t shmid;
	unsigned mode; /* perms, SHM_DEST (01000) and SHM_LOCKED (02000) included */
	uint64_t size, nattch, rss, swap;
	pid_t cpid;
};

/* Called with each segment; a non-zero return stops the parse and is returned. */
typedef int (*ml_sysv_shm_fn)(const struct ml_sysv_shm *seg, void *ctx);

/*
 * Hands each segment of a /proc/sysvipc/shm text to fn, each column found by its name in
 * the header (rss and swap, absent from old kernels, are ML_UNKNOWN then). Returns the
 * number of segments, -EINVAL when a line or the header is malformed, or fn's return.
 */
long ml_parse_sysv_shm(const char *buf, size_t len, ml_sysv_shm_fn fn, void *ctx);

#define ML_COMM_MAX 64

/* What memledger uses of /proc/PID/status; sizes in bytes, ML_UNKNOWN when absent. */
struct ml_status {
	char name[ML_COMM_MAX]; /* Name:, as the kernel escapes it */
	pid_t ppid;             /* -1 when absent */
	uint64_t uid;           /* effective UID (ps's USER), ML_UNKNOWN when absent */
	uint64_t threads;
	uint64_t vm_size, vm_rss, rss_anon, rss_file, rss_shmem, vm_swap, vm_pte, hugetlb;
	bool has_mm; /* VmSize present: the task has a user address space */
};

/*
 * Parses a whole status text into s (which it initialises). Returns 0, or -EINVAL when a
 * field memledger uses is malformed or Name is missing.
 */
int ml_parse_status(const char *buf, size_t len, struct ml_status *s);

#define ML_PF_KTHREAD 0x00200000u

/*
 * The memory cgroup path in a /proc/PID/cgroup text: the line of cgroup v1's memory
 * controller where there is one (a hybrid machine: memory accounting lives there), else
 * the unified (v2) hierarchy's "0::PATH", else the first line's path. Sets *path and *len
 * to it within buf. Returns 0, or -EINVAL when no line has the form ID:CONTROLLERS:PATH.
 */
int ml_parse_cgroup(const char *buf, size_t len, const char **path, size_t *plen);

/* What memledger uses of /proc/PID/stat. */
struct ml_stat {
	pid_t pid;
	char comm[ML_COMM_MAX]; /* raw, may hold spaces and parentheses */
	char state;
	pid_t ppid, pgid, session;
	unsigned flags; /* PF_* */
	uint64_t threads;
	uint64_t starttime;          /* clock ticks after boot */
	uint64_t vsize;              /* bytes */
	uint64_t arg_start, arg_end; /* the argument area (fields 48, 49); 0 when not shown */
};

/* The length of a command line of len bytes as it may be shown: never past the end of
 * the argument area st gives (a program that overwrote its last NUL makes the kernel go
 * on into the environment), len when st does not give it. */
size_t ml_cmdline_len(const struct ml_stat *st, size_t len);

/* What memledger uses of /proc/PID/statm, in bytes: the cheap counters. */
struct ml_statm {
	uint64_t size, resident, shared; /* VmSize, VmRSS, RssFile + RssShmem */
};

/* Parses a statm text ("size resident shared text lib data dt", pages) into s, with
 * page the page size. Returns 0 or -EINVAL. */
int ml_parse_statm(const char *buf, size_t len, uint64_t page, struct ml_statm *s);

/* The number of threads the kernel runs (the T of "R/T", /proc/loadavg's fourth field,
 * which no PID namespace narrows) into *threads. Returns 0 or -EINVAL. */
int ml_parse_loadavg_threads(const char *buf, size_t len, uint64_t *threads);

/*
 * True when the mountinfo text shows a proc mount at mountpoint with hidepid=2 or
 * hidepid=invisible: other users' processes are not listed there.
 */
bool ml_parse_mountinfo_hidepid(const char *buf, size_t len, const char *mountpoint);

/* Parses a whole stat line into s. Returns 0 or -EINVAL. */
int ml_parse_stat(const char *buf, size_t len, struct ml_stat *s);

/*
 * Turns a cmdline (NUL-separated arguments) into one line in place: inner NULs become
 * spaces, trailing NULs go. Returns the new length (the caller terminates the string).
 */
size_t ml_parse_cmdline(char *buf, size_t len);

#endif
