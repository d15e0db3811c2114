/* Reads each process's files, only those asked for, from one or two reader threads. */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "memledger/android.h"
#include "memledger/category.h"
#include "memledger/gpu.h"
#include "memledger/maps.h"
#include "memledger/scan.h"
#include "pagemap_scan.h"
#include "util.h"

/* What reading one process came to. */
enum outcome {
	ROW,        /* read: it is a row */
	SKIP,       /* no user address space (kernel thread, zombie) or vanished */
	VANISHED,   /* exited while read */
	UNREADABLE, /* refused (EACCES) or failed to read */
	FAILED,     /* a malformed file or no memory: the scan fails */
	UNCAPTURED, /* a captured directory lacks the file: its figures are unknown */
};

struct vma;
struct ml_page_region;

/* A reader's state: its buffer, and where a failure happened. */
struct reader {
	struct ml_source *src;
	bool count_threads;    /* to find hidden processes: add each one's threads below */
	uint64_t threads_seen; /* Σ threads of the processes this reader opened */
	struct ml_buf buf;
	uint64_t *pagemap; /* PAGEMAP_CHUNK entries, with ML_NEED_PAGEMAP */
	bool procfs;       /* the source is the live /proc */
	bool android;      /* ... an Android device's (ml_source_android) */
	bool no_scan;      /* pagemap has no PAGEMAP_SCAN (before 6.7, a capture): read whole */
	bool no_query;     /* maps has no PROCMAP_QUERY (before 6.11): pages through smaps */
	size_t user_end;   /* index in user_ends of the address space's end PAGEMAP_SCAN takes */
	struct vma *vmas;  /* the mappings of the process being read (read_vmas) */
	size_t vmas_cap;
	char *names; /* their names, NUL-separated */
	size_t names_cap;
	struct ml_page_region *regions; /* its populated ranges */
	size_t regions_cap;
	struct ml_maps_window *window; /* with ML_NEED_CLASSES: settles each mapping */
	struct ml_heaps *heaps;        /* of the process being read, with ML_NEED_CLASSES */
	int error;
	char error_file[32];
};

/* Records a failure of name in r (a malformed file, or one a source directory may not
 * hold) and returns FAILED. */
static enum outcome malformed(struct reader *r, const char *name, int rc)
{
	r->error = rc;
	snprintf(r->error_file, sizeof(r->error_file), "%s", name);
	return FAILED;
}

/* Maps a read of name's -errno to an outcome: a vanished process is no error of ours,
 * what a source directory may not hold (a FIFO, a link out) fails the scan. */
static enum outcome outcome_of_errno(struct reader *r, int rc, const char *name)
{
	if (rc == -ML_ENOTREG || rc == -EFBIG || rc == -ELOOP || rc == -EXDEV || rc == -ENOTDIR)
		return malformed(r, name, rc);
	if (rc == -ENOENT && !r->procfs)
		return UNCAPTURED;
	if (rc == -ENOENT || rc == -ESRCH)
		return VANISHED;
	if (rc == -ENOMEM)
		return FAILED;
	return UNREADABLE;
}

/* Reads dirfd/name whole into r->buf. Returns 0 or -errno. */
static int read_file(struct reader *r, int dirfd, const char *name)
{
	return ml_source_read_at(r->src, dirfd, name, &r->buf);
}

static enum outcome read_status(struct reader *r, int dirfd, struct ml_proc *p)
{
	int rc = read_file(r, dirfd, "status");

	if (rc < 0)
		return outcome_of_errno(r, rc, "status");
	if (ml_parse_status(r->buf.data, r->buf.len, &p->status) < 0)
		return malformed(r, "status", -EINVAL);
	if (!p->status.has_mm)
		return SKIP;
	memcpy(p->comm, p->status.name, sizeof(p->comm));
	p->have |= ML_NEED_STATUS;
	return ROW;
}

static enum outcome read_stat(struct reader *r, int dirfd, struct ml_proc *p)
{
	int rc = read_file(r, dirfd, "stat");

	if (rc < 0)
		return outcome_of_errno(r, rc, "stat");
	if (ml_parse_stat(r->buf.data, r->buf.len, &p->stat) < 0)
		return malformed(r, "stat", -EINVAL);
	if ((p->stat.flags & ML_PF_KTHREAD) || p->stat.vsize == 0)
		return SKIP;
	if (!p->comm[0])
		memcpy(p->comm, p->stat.comm, sizeof(p->comm));
	p->have |= ML_NEED_STAT;
	return ROW;
}

static enum outcome read_statm(struct reader *r, int dirfd, struct ml_proc *p)
{
	int rc = read_file(r, dirfd, "statm");

	if (rc < 0)
		return outcome_of_errno(r, rc, "statm");
	if (ml_parse_statm(r->buf.data, r->buf.len, (uint64_t)sysconf(_SC_PAGESIZE), &p->statm) < 0)
		return malformed(r, "statm", -EINVAL);
	if (p->statm.size == 0)
		return SKIP; /* no address space */
	p->have |= ML_NEED_STATM;
	return ROW;
}

/* A decimal number, maybe negative, and a newline, whole in buf[0..len), within [min,
 * max] into *out. Returns 0 or -EINVAL. */
static int parse_long(const char *buf, size_t len, long min, long max, long *out)
{
	char text[24], *end;
	long v;

	while (len && (buf[len - 1] == '\n' || buf[len - 1] == ' '))
		len--;
	if (len == 0 || len >= sizeof(text))
		return -EINVAL;
	memcpy(text, buf, len);
	text[len] = '\0';
	errno = 0;
	v = strtol(text, &end, 10);
	if (errno || *end || end == text || v < min || v > max)
		return -EINVAL;
	*out = v;
	return 0;
}

/* oom_score_adj and oom_score: unknown where absent (a snapshot older than them) or out of
 * range (a hostile one); a process gone is gone. */
static enum outcome read_oom(struct reader *r, int dirfd, struct ml_proc *p, unsigned needs)
{
	long v;
	int rc = read_file(r, dirfd, "oom_score_adj");

	if (rc == -ENOENT && r->procfs)
		return VANISHED;
	if (rc == 0 && parse_long(r->buf.data, r->buf.len, -1000, 1000, &v) == 0)
		p->oom_adj = (int)v;
	p->have |= ML_NEED_OOM;
	if (!(needs & ML_NEED_OOM_SCORE))
		return ROW;
	rc = read_file(r, dirfd, "oom_score");
	if (rc == -ENOENT && r->procfs)
		return VANISHED;
	if (rc == 0 && parse_long(r->buf.data, r->buf.len, 0, 1L << 40, &v) == 0)
		p->oom_score = v;
	p->have |= ML_NEED_OOM_SCORE;
	return ROW;
}

static enum outcome read_cmdline(struct reader *r, int dirfd, struct ml_proc *p)
{
	int rc = read_file(r, dirfd, "cmdline");
	size_t n;

	if (rc < 0)
		return outcome_of_errno(r, rc, "cmdline");
	if (p->have & ML_NEED_STAT) /* never the environment past the arguments */
		r->buf.len = ml_cmdline_len(&p->stat, r->buf.len);
	n = ml_parse_cmdline(r->buf.data, r->buf.len);
	p->cmdline = malloc(n + 1);
	if (!p->cmdline)
		return malformed(r, "cmdline", -ENOMEM);
	memcpy(p->cmdline, r->buf.data, n);
	p->cmdline[n] = '\0';
	p->have |= ML_NEED_CMDLINE;
	return ROW;
}

/* Reads smaps_rollup; *missing tells that it does not exist (as opposed to a vanished process). */
static enum outcome read_rollup(struct reader *r, int dirfd, struct ml_proc *p, bool *missing)
{
	int rc = read_file(r, dirfd, "smaps_rollup");

	*missing = rc == -ENOENT;
	if (rc < 0)
		return outcome_of_errno(r, rc, "smaps_rollup");
	if (r->buf.len == 0)
		return SKIP; /* no address space any more */
	if (ml_parse_smaps_rollup(r->buf.data, r->buf.len, &p->mem) < 0)
		return malformed(r, "smaps_rollup", -EINVAL);
	p->have |= ML_NEED_ROLLUP;
	return ROW;
}

/* The per-mapping walk of smaps: sums for kernels without smaps_rollup, and COMMIT. */
struct smaps_walk {
	struct ml_mem sum;
	uint64_t commit;
	const struct ml_proc *proc;
	const struct ml_scan_opts *opts;
	struct reader *reader;
	int pagemap_fd; /* -1: pagemap is not read */
	uint64_t *pagemap;
};

#define PAGEMAP_CHUNK 65536 /* entries per pread: 512 KiB, 256 MiB of address space */

/* True when smaps shows pages of m that pagemap can place: resident or swapped. */
static bool has_pages(const struct ml_mapping *m)
{
	uint64_t rss = m->mem.v[ML_MEM_RSS], swap = m->mem.v[ML_MEM_SWAP];

	if (ml_mapping_has_flag(m, "ht"))
		return false; /* hugetlbfs: not in Rss, and not pages of the page allocator */
	return (rss != ML_UNKNOWN && rss > 0) || (swap != ML_UNKNOWN && swap > 0);
}

/* What to do with a chunk of pagemap entries, pages [first, first + n), in w->pagemap. */
typedef int (*chunk_fn)(struct smaps_walk *w, uint64_t first, size_t n, void *ctx);

/* Reads the pagemap entries of pages [first, last) a chunk at a time and hands each chunk
 * to fn. Returns 0, fn's non-zero return, or -errno. */
static int read_chunks(struct smaps_walk *w, uint64_t first, uint64_t last, chunk_fn fn, void *ctx)
{
	while (first < last) {
		size_t n = last - first < PAGEMAP_CHUNK ? (size_t)(last - first) : PAGEMAP_CHUNK;
		long got =
		    ml_source_pagemap_read(w->reader->src, w->pagemap_fd, first, n, w->pagemap);
		ssize_t r = got >= 0 ? got * 8 /* a snapshot's, from its records */
		                     : pread(w->pagemap_fd, w->pagemap, n * 8, (off_t)(first * 8));
		int rc;
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return -errno;
		if (r < 8)
			return 0; /* the mapping went away under us: nothing more to see */
		n = (size_t)r / 8;
		rc = fn(w, first, n, ctx);
		if (rc)
			return rc;
		first += n;
	}
	return 0;
}

/* A chunk_fn: the entries of mapping ctx, to on_pages. */
static int to_mapping(struct smaps_walk *w, uint64_t first, size_t n, void *ctx)
{
	uint64_t page = (uint64_t)sysconf(_SC_PAGESIZE);

	return w->opts->on_pages(w->proc, ctx, first * page, w->pagemap, n, w->opts->pages_ctx);
}

/* Hands the pagemap entries of pages [first, last) of m to on_pages. Returns 0 or
 * -errno. */
static int read_pages(struct smaps_walk *w, const struct ml_mapping *m, uint64_t first,
                      uint64_t last)
{
	return read_chunks(w, first, last, to_mapping, (void *)m);
}

#define SCAN_REGIONS 512 /* at most the kernel's own buffer: see scan_pages */
#define SCAN_GAP     64  /* populated ranges closer than this many pages: one pread */

/* The populated ranges of [start, end) into v (SCAN_REGIONS at most): from a snapshot's
 * pagemap, else PAGEMAP_SCAN's. Returns as ml_pagemap_scan. */
static long populated(struct smaps_walk *w, uint64_t start, uint64_t end, struct ml_page_region *v)
{
	struct ml_page_range ranges[SCAN_REGIONS];
	long n;

	if (!w->reader->procfs) {
		n = ml_source_pagemap_ranges(w->reader->src, w->pagemap_fd, start, end, ranges,
		                             SCAN_REGIONS);
		for (long k = 0; k < n; k++)
			v[k] = (struct ml_page_region){ranges[k].start, ranges[k].end, 0};
		if (n != -ENOTTY)
			return n;
	}
	return ml_pagemap_scan(w->pagemap_fd, start, end, v, SCAN_REGIONS);
}

/*
 * Reads pagemap only where m has pages, as PAGEMAP_SCAN finds them: a mapping that
 * reserves a terabyte and holds two pages costs two entries, not 256 million. Ranges
 * less than SCAN_GAP pages apart are read in one pread. Returns 0, -ENOTTY when the
 * kernel (or a captured file) has no PAGEMAP_SCAN, or -errno.
 */
static int scan_pages(struct smaps_walk *w, const struct ml_mapping *m)
{
	uint64_t page = (uint64_t)sysconf(_SC_PAGESIZE), at = m->start, from = 0, to = 0;
	struct ml_page_region v[SCAN_REGIONS];
	int rc = 0;

	while (at < m->end && rc == 0) {
		long n = populated(w, at, m->end, v);
		if (n == -EINTR)
			continue;
		if (n < 0)
			return (int)n;
		for (long k = 0; k < n && rc == 0; k++) {
			uint64_t first = v[k].start / page, last = (v[k].end + page - 1) / page;
			if (to && first - to < SCAN_GAP) {
				to = last; /* close enough: one read */
				continue;
			}
			if (to)
				rc = read_pages(w, m, from, to);
			from = first;
			to = last;
		}
		/* Fewer regions than asked: the walk is done. Never resume from walk_end: on 6.18
		 * it is wrong once the result passes the kernel's 512-region buffer (regions came
		 * twice). A full vector resumes after its last region, which is whole. */
		if (n < SCAN_REGIONS)
			break;
		at = v[n - 1].end;
	}
	if (rc == 0 && to)
		rc = read_pages(w, m, from, to);
	return rc;
}

/* Hands the pagemap entries of m's pages to on_pages: where PAGEMAP_SCAN finds them, else
 * (an older kernel, a capture) over the whole mapping. Returns 0 or -errno. */
static int walk_pagemap(struct smaps_walk *w, const struct ml_mapping *m)
{
	uint64_t page = (uint64_t)sysconf(_SC_PAGESIZE);

	if (!w->reader->no_scan && !w->opts->whole_pagemap) {
		int rc = scan_pages(w, m);
		if (rc != -ENOTTY)
			return rc;
		w->reader->no_scan = true; /* not this kernel's, nor this source's */
	}
	return read_pages(w, m, m->start / page, m->end / page);
}

static int walk_mapping(const struct ml_mapping *m, void *ctx)
{
	struct smaps_walk *w = ctx;
	struct ml_mem mem = m->mem;
	int rc;

	mem.v[ML_MEM_SIZE] = m->end - m->start;
	ml_mem_add(&w->sum, &mem);
	if (!m->has_vmflags)
		w->commit = ML_UNKNOWN; /* a kernel before 3.8: no flags to tell */
	else if (ml_mapping_has_flag(m, "ac") && w->commit != ML_UNKNOWN)
		w->commit += m->end - m->start;
	if (w->pagemap_fd >= 0 && has_pages(m)) {
		rc = walk_pagemap(w, m);
		if (rc)
			return rc;
	}
	if ((w->opts->needs & ML_NEED_CLASSES) && (rc = ml_maps_window_add(m, w->reader->window)))
		return rc;
	return w->opts->on_mapping ? w->opts->on_mapping(w->proc, m, w->opts->mapping_ctx) : 0;
}

/* Books a settled mapping into the classes of the process being read (an ml_map_fn). */
static int book_class(const struct ml_map *m, void *ctx)
{
	struct reader *r = ctx;

	ml_heaps_add(r->heaps, &m->cat, m->name, m->start, &m->mem);
	return 0;
}

/* Starts the classes of p (ML_NEED_CLASSES) before its smaps is walked. Returns 0 or
 * -ENOMEM. */
static int classes_begin(struct reader *r, struct ml_proc *p)
{
	if (!r->window && !(r->window = ml_maps_window_new(book_class, r)))
		return -ENOMEM;
	ml_maps_window_reset(r->window);
	free(p->heaps);
	if (!(p->heaps = r->heaps = malloc(sizeof(*p->heaps))))
		return -ENOMEM;
	ml_heaps_init(p->heaps);
	return 0;
}

/* Finishes the classes of p once its smaps is walked (n: the walk's outcome). Returns 0 or
 * -errno. */
static int classes_end(struct reader *r, struct ml_proc *p, long n)
{
	long rc = n < 0 ? n : ml_maps_window_end(r->window);

	if (rc < 0) {
		free(p->heaps);
		p->heaps = NULL;
		return (int)rc;
	}
	ml_heaps_finish(p->heaps, (p->have & ML_NEED_STATUS) ? p->status.threads
	                          : (p->have & ML_NEED_STAT) ? p->stat.threads
	                                                     : ML_UNKNOWN);
	return 0;
}

/* Opens pagemap for the walk when the scan needs it; notes a refusal in p. */
static enum outcome open_pagemap(struct reader *r, int dirfd, struct ml_proc *p,
                                 struct smaps_walk *w, const struct ml_scan_opts *opts)
{
	w->pagemap_fd = -1;
	if (!(opts->needs & ML_NEED_PAGEMAP) || !opts->on_pages)
		return ROW;
	if (!r->pagemap && !(r->pagemap = malloc(PAGEMAP_CHUNK * sizeof(uint64_t))))
		return malformed(r, "pagemap", -ENOMEM);
	w->pagemap = r->pagemap;
	w->pagemap_fd = ml_source_open_at(r->src, dirfd, "pagemap");
	if (w->pagemap_fd == -EACCES || w->pagemap_fd == -EPERM || w->pagemap_fd == -ENOENT) {
		p->pagemap_refused = true; /* smaps alone gives the figures; pages stay unknown */
		w->pagemap_fd = -1;
		return ROW;
	}
	return w->pagemap_fd < 0 ? outcome_of_errno(r, w->pagemap_fd, "pagemap") : ROW;
}

/*
 * Exact mode without smaps (Linux 6.11): the mappings from PROCMAP_QUERY, the /proc/PID/maps
 * ioctl, instead of the smaps text, and pagemap only where PAGEMAP_SCAN finds pages, over
 * the whole address space at once: populated ranges of neighbouring mappings less than
 * SCAN_GAP pages apart are one pread. The mappings carry no smaps figures (mem unknown),
 * so it serves scans that need none: the page engine's own.
 */
struct ml_procmap_query {
	uint64_t size, query_flags, query_addr;
	uint64_t vma_start, vma_end, vma_flags, vma_page_size, vma_offset, inode;
	uint32_t dev_major, dev_minor, vma_name_size, build_id_size;
	uint64_t vma_name_addr, build_id_addr;
};
#define ML_PROCMAP_QUERY          _IOWR('f', 17, struct ml_procmap_query)
#define ML_QUERY_READABLE         0x01
#define ML_QUERY_WRITABLE         0x02
#define ML_QUERY_EXECUTABLE       0x04
#define ML_QUERY_SHARED           0x08
#define ML_QUERY_COVERING_OR_NEXT 0x10
#define ML_QUERY_FILE_BACKED      0x20

/* One mapping as PROCMAP_QUERY gives it. */
struct vma {
	struct ml_mapping m; /* name: an offset into the reader's names until all are read */
	size_t name_at;
	bool hugetlb; /* pages larger than the base page: not the page allocator's */
};

/*
 * Reads the file-backed mappings of maps_fd into r->vmas (shmem is file-backed: shared
 * anonymous memory, memfds, SysV; so is hugetlb). The others need no query: a page there
 * is anonymous, and pagemap's file bit says so. Returns how many, -ENOTTY when the kernel
 * has no PROCMAP_QUERY, or -errno.
 */
static long query_vmas(struct reader *r, int maps_fd)
{
	uint64_t page = (uint64_t)sysconf(_SC_PAGESIZE), at = 0;
	size_t n = 0, used = 0;

	for (;;) {
		char name[4096];
		struct ml_procmap_query q = {.size = sizeof(q),
		                             .query_flags =
		                                 ML_QUERY_COVERING_OR_NEXT | ML_QUERY_FILE_BACKED,
		                             .query_addr = at,
		                             .vma_name_size = sizeof(name),
		                             .vma_name_addr = (uint64_t)(uintptr_t)name};
		struct vma *v;
		size_t len;
		if (ioctl(maps_fd, ML_PROCMAP_QUERY, &q) < 0) {
			if (errno == ENOENT)
				return (long)n; /* past the last mapping */
			if (errno == EINTR)
				continue;
			return errno == EINVAL || errno == ENOTTY || errno == EOPNOTSUPP ? -ENOTTY
			                                                                 : -errno;
		}
		len = q.vma_name_size ? strnlen(name, sizeof(name)) : 0;
		if (ml_grow((void **)&r->vmas, &r->vmas_cap, n, 1, sizeof(*r->vmas)) < 0 ||
		    ml_grow((void **)&r->names, &r->names_cap, used, len + 1, 1) < 0)
			return -ENOMEM;
		memcpy(r->names + used, name, len);
		r->names[used + len] = '\0';
		v = &r->vmas[n++];
		*v = (struct vma){.m = {.start = q.vma_start,
		                        .end = q.vma_end,
		                        .offset = q.vma_offset,
		                        .inode = q.inode,
		                        .dev_major = q.dev_major,
		                        .dev_minor = q.dev_minor,
		                        .name_len = len},
		                  .name_at = used,
		                  .hugetlb = q.vma_page_size > page};
		snprintf(v->m.perms, sizeof(v->m.perms), "%c%c%c%c",
		         q.vma_flags & ML_QUERY_READABLE ? 'r' : '-',
		         q.vma_flags & ML_QUERY_WRITABLE ? 'w' : '-',
		         q.vma_flags & ML_QUERY_EXECUTABLE ? 'x' : '-',
		         q.vma_flags & ML_QUERY_SHARED ? 's' : 'p');
		ml_mem_init(&v->m.mem);
		used += len + 1;
		if (q.vma_end <= at)
			return -EINVAL; /* no progress: never loop */
		at = q.vma_end;
	}
}

/* The populated ranges of [start, end) into r->regions. Returns how many, -ENOTTY
 * without PAGEMAP_SCAN, or -errno. See scan_pages for walk_end. */
static long query_regions(struct reader *r, int pagemap_fd, uint64_t start, uint64_t end)
{
	size_t n = 0;

	while (start < end) {
		long got;
		if (ml_grow((void **)&r->regions, &r->regions_cap, n, SCAN_REGIONS,
		            sizeof(*r->regions)) < 0)
			return -ENOMEM;
		got = ml_pagemap_scan(pagemap_fd, start, end, r->regions + n, SCAN_REGIONS);
		if (got == -EINTR)
			continue;
		if (got < 0)
			return got;
		n += (size_t)got;
		if (got < SCAN_REGIONS)
			break;
		start = r->regions[n - 1].end;
	}
	return (long)n;
}

/* Hands the entries of pages [a, b) of m (read into w->pagemap from page first on) to
 * on_pages. */
static int give(struct smaps_walk *w, const struct ml_mapping *m, uint64_t first, uint64_t a,
                uint64_t b)
{
	uint64_t page = (uint64_t)sysconf(_SC_PAGESIZE);

	if (a >= b)
		return 0;
	return w->opts->on_pages(w->proc, m, a * page, w->pagemap + (a - first), b - a,
	                         w->opts->pages_ctx);
}

/*
 * Hands the entries of pages [first, last) (read into w->pagemap from page first on)
 * to on_pages, split at the file-backed mappings they fall in (*k: the mapping to start
 * from, moved on); the pages between are anonymous memory's (or no mapping's, whose
 * entries are empty). Hugetlb mappings are left out, as smaps leaves them out of Rss.
 */
static int hand_out(struct smaps_walk *w, struct reader *r, size_t nvmas, size_t *k, uint64_t first,
                    uint64_t last)
{
	static const struct ml_mapping anon = {.perms = "rw-p", .name = ""};
	uint64_t page = (uint64_t)sysconf(_SC_PAGESIZE), at = first;
	int rc = 0;

	while (*k < nvmas && r->vmas[*k].m.end / page <= first)
		(*k)++;
	for (size_t j = *k; at < last && rc == 0; j++) {
		const struct vma *v = j < nvmas ? &r->vmas[j] : NULL;
		uint64_t start = v && v->m.start / page < last ? v->m.start / page : last;
		uint64_t end = v && v->m.end / page < last ? v->m.end / page : last;
		rc = give(w, &anon, first, at, start > at ? start : at);
		if (rc == 0 && v && !v->hugetlb)
			rc = give(w, &v->m, first, start > at ? start : at, end);
		at = end > at ? end : at;
	}
	return rc;
}

/* Where read_range's chunks go: the mappings, from the one at *k on. */
struct hand_ctx {
	struct reader *r;
	size_t nvmas, *k;
};

/* A chunk_fn: the entries to the mappings they fall in (hand_out). */
static int to_mappings(struct smaps_walk *w, uint64_t first, size_t n, void *ctx)
{
	struct hand_ctx *h = ctx;

	return hand_out(w, h->r, h->nvmas, h->k, first, first + n);
}

/* Reads pages [first, last) in chunks and hands them out. Returns 0 or -errno. */
static int read_range(struct smaps_walk *w, struct reader *r, size_t nvmas, size_t *k,
                      uint64_t first, uint64_t last)
{
	struct hand_ctx h = {r, nvmas, k};

	return read_chunks(w, first, last, to_mappings, &h);
}

/* The ends of the user address space PAGEMAP_SCAN may be asked for, widest first: 57-bit
 * (5-level page tables), 48-bit (arm64), 47-bit (x86-64); the first it takes is kept. */
static const uint64_t user_ends[] = {1ull << 56, 1ull << 48, 1ull << 47, 1ull << 39};

/* Reads the pages of the process's populated ranges and hands them out. Returns 0,
 * -ENOTTY without PAGEMAP_SCAN, or -errno. */
static int read_populated(struct smaps_walk *w, struct reader *r, size_t nvmas)
{
	uint64_t page = (uint64_t)sysconf(_SC_PAGESIZE), from = 0, to = 0;
	size_t k = 0, nends = sizeof(user_ends) / sizeof(user_ends[0]);
	long n = -EFAULT;
	int rc = 0;

	for (; r->user_end < nends; r->user_end++) { /* past the top: EFAULT, try lower */
		n = query_regions(r, w->pagemap_fd, 0, user_ends[r->user_end] - page);
		if (n != -EFAULT && n != -ENOTTY)
			break;
	}
	if (r->user_end == nends)
		n = -ENOTTY;

	for (long i = 0; i < n && rc == 0; i++) {
		uint64_t first = r->regions[i].start / page;
		uint64_t last = (r->regions[i].end + page - 1) / page;
		if (to && first - to < SCAN_GAP) {
			to = last;
			continue;
		}
		if (to)
			rc = read_range(w, r, nvmas, &k, from, to);
		from = first;
		to = last;
	}
	if (rc == 0 && to)
		rc = read_range(w, r, nvmas, &k, from, to);
	return n < 0 ? (int)n : rc;
}

/* True when a scan without smaps can be exact: the map counts of frames are readable. If
 * they are not (a container, a lockdown), FREED is a lower bound from smaps figures,
 * which pages alone do not give. */
static bool frames_readable(struct ml_source *src, const struct ml_scan_opts *opts)
{
	int fd;

	if (!opts->pages_without_smaps || !(opts->needs & ML_NEED_PAGEMAP))
		return false;
	fd = ml_source_open(src, "kpagecount");
	if (fd < 0)
		return false;
	close(fd);
	return true;
}

/* Why read_vmas left a process to smaps. */
enum fallback {
	NO_FALLBACK,
	FALLBACK_PROCESS, /* its pagemap was refused: smaps gives the bounds */
	FALLBACK_KERNEL,  /* the kernel lacks PROCMAP_QUERY or PAGEMAP_SCAN */
};

/*
 * Reads the process's mappings and pages without smaps (see struct ml_procmap_query).
 * Returns ROW, SKIP for no address space, or another outcome; sets *fallback (and
 * books nothing) when smaps must read it instead.
 */
static enum outcome read_vmas(struct reader *r, int dirfd, struct ml_proc *p,
                              const struct ml_scan_opts *opts, enum fallback *fallback)
{
	struct smaps_walk w = {.proc = p, .opts = opts, .reader = r};
	int maps_fd = ml_source_open_at(r->src, dirfd, "maps"), rc = 0;
	enum outcome o;
	long n;

	*fallback = NO_FALLBACK;
	if (maps_fd < 0)
		return outcome_of_errno(r, maps_fd, "maps");
	o = open_pagemap(r, dirfd, p, &w, opts);
	n = o == ROW && w.pagemap_fd >= 0 ? query_vmas(r, maps_fd) : 0;
	close(maps_fd);
	if (n >= 0) {
		for (long i = 0; i < n; i++)
			r->vmas[i].m.name = r->names + r->vmas[i].name_at;
		rc = read_populated(&w, r, (size_t)n);
	}
	for (long i = 0; n >= 0 && rc == 0 && i < n && opts->on_mapping; i++)
		rc = opts->on_mapping(p, &r->vmas[i].m, opts->mapping_ctx);
	if (w.pagemap_fd >= 0)
		close(w.pagemap_fd);
	if (o != ROW)
		return o;
	if (o == ROW && w.pagemap_fd < 0) {
		*fallback = FALLBACK_PROCESS;
		p->pagemap_refused = false; /* smaps opens it again, and says */
		return ROW;
	}
	if (n == -ENOTTY || rc == -ENOTTY) {
		*fallback = FALLBACK_KERNEL;
		return ROW;
	}
	if (n < 0 || rc < 0)
		return n == -ENOMEM || rc == -ENOMEM
		           ? malformed(r, "pagemap", -ENOMEM)
		           : outcome_of_errno(r, n < 0 ? (int)n : rc, "maps");
	if (rc > 0)
		return malformed(r, "pagemap", -ENOMEM); /* on_pages refused: out of memory */
	p->have |= ML_NEED_SMAPS; /* its mappings were read, for the page engine */
	return ROW;
}

/* Walks smaps: streamed from fd, or from r->buf, which holds it whole (fd < 0). Returns
 * ml_read_smaps's: the bytes read (0: empty), or -errno. */
static long walk_smaps(struct reader *r, int fd, struct smaps_walk *w)
{
	long n;

	if (fd < 0) {
		int rc = ml_parse_smaps(r->buf.data, r->buf.len, walk_mapping, w);
		return rc < 0 ? rc : (long)r->buf.len;
	}
	n = ml_read_smaps(fd, &r->buf, walk_mapping, w);
	close(fd);
	return n;
}

/* Walks smaps; with sum_mem, stores the sums in p->mem as smaps_rollup would hold them. */
static enum outcome read_smaps(struct reader *r, int dirfd, struct ml_proc *p, bool sum_mem,
                               const struct ml_scan_opts *opts)
{
	struct smaps_walk w = {.commit = 0, .proc = p, .opts = opts, .reader = r};
	bool whole = ml_source_is_archive(r->src); /* read whole, straight from the archive */
	int fd = whole ? ml_source_read_at(r->src, dirfd, "smaps", &r->buf)
	               : ml_source_open_at(r->src, dirfd, "smaps");
	enum outcome o;
	long n;

	if (fd < 0)
		return outcome_of_errno(r, fd, "smaps");
	if (whole)
		fd = -1; /* smaps is in r->buf */
	o = open_pagemap(r, dirfd, p, &w, opts);
	if (o != ROW) {
		if (fd >= 0)
			close(fd);
		return o;
	}
	memset(&w.sum, 0, sizeof(w.sum));
	n = (opts->needs & ML_NEED_CLASSES) ? classes_begin(r, p) : 0;
	if (n < 0 && fd >= 0)
		close(fd); /* out of memory: the walk is not made */
	n = n < 0 ? n : walk_smaps(r, fd, &w);
	if (w.pagemap_fd >= 0)
		close(w.pagemap_fd);
	if (opts->needs & ML_NEED_CLASSES) {
		int rc = classes_end(r, p, n);
		n = rc < 0 && n >= 0 ? rc : n;
	}
	if (opts->on_mapping && opts->on_mappings_end) {
		int rc = opts->on_mappings_end(p, n < 0 ? (int)n : 0, opts->mapping_ctx);
		n = rc < 0 && n >= 0 ? rc : n;
	}
	if (n == -EINVAL || n == -ENOMEM)
		return malformed(r, "smaps", (int)n);
	if (n < 0)
		return outcome_of_errno(r, (int)n, "smaps");
	if (n == 0)
		return SKIP; /* kernel thread, zombie: smaps is empty */
	p->have |= ML_NEED_SMAPS;
	p->commit = w.commit;
	if (sum_mem) {
		p->mem = w.sum;
		p->have |= ML_NEED_ROLLUP;
	}
	return ROW;
}

/* True when reading the process goes on: read, or a file a capture does not hold. */
static bool ok(enum outcome o)
{
	return o == ROW || o == UNCAPTURED;
}

/* Reads the memory files: smaps_rollup, else smaps summed; smaps for per-mapping figures. */
static enum outcome read_memory(struct reader *r, int dirfd, struct ml_proc *p,
                                const struct ml_scan_opts *opts, unsigned needs)
{
	enum outcome o = ROW;
	bool sum_smaps = false, missing;

	if (needs & ML_NEED_ROLLUP) {
		o = read_rollup(r, dirfd, p, &missing);
		if (missing && ml_source_has_at(r->src, dirfd, "smaps")) {
			sum_smaps = true; /* a kernel before 4.14, or a capture without it */
			o = ROW;
		} else if (o == UNCAPTURED && !(p->have & ML_NEED_STATUS) &&
		           read_status(r, dirfd, p) == SKIP) {
			return SKIP; /* a capture keeps no memory files of a kernel thread */
		}
	}
	if (ok(o) && !sum_smaps && (needs & ML_NEED_PAGEMAP) && opts->pages_without_smaps &&
	    r->procfs && !r->no_query && !opts->whole_pagemap) {
		enum fallback fallback;
		o = read_vmas(r, dirfd, p, opts, &fallback);
		if (fallback == NO_FALLBACK)
			return o;
		if (fallback == FALLBACK_KERNEL)
			r->no_query = true; /* this kernel's: smaps for every process after */
		return read_smaps(r, dirfd, p, false, opts);
	}
	if (ok(o) && ((needs & ML_NEED_SMAPS) || sum_smaps))
		o = read_smaps(r, dirfd, p, sum_smaps, opts);
	return o;
}

/* The exe link's target; a hidden or missing link leaves p->exe NULL (unknown). */
static enum outcome read_exe(struct reader *r, int dirfd, struct ml_proc *p)
{
	char target[4096];
	ssize_t n = ml_source_readlink_at(r->src, dirfd, "exe", target, sizeof(target));

	p->have |= ML_NEED_EXE;
	if (n < 0 || (size_t)n >= sizeof(target))
		return ROW;
	p->exe = strndup(target, (size_t)n);
	return p->exe ? ROW : malformed(r, "exe", -ENOMEM);
}

/* attr/current: the security context; unknown (NULL) without a security module (EINVAL),
 * not captured, or refused. */
static enum outcome read_context(struct reader *r, int dirfd, struct ml_proc *p)
{
	int rc = read_file(r, dirfd, "attr/current");
	size_t n;

	p->have |= ML_NEED_CONTEXT;
	if (rc == -ESRCH)
		return VANISHED;
	if (rc < 0)
		return ROW;
	n = strnlen(r->buf.data, r->buf.len); /* SELinux ends it with a NUL, AppArmor with \n */
	while (n && (r->buf.data[n - 1] == '\n' || r->buf.data[n - 1] == ' '))
		n--;
	if (n == 0)
		return ROW;
	p->context = strndup(r->buf.data, n);
	return p->context ? ROW : malformed(r, "attr/current", -ENOMEM);
}

static enum outcome read_cgroup(struct reader *r, int dirfd, struct ml_proc *p)
{
	int rc = read_file(r, dirfd, "cgroup");
	const char *path;
	size_t n;

	p->have |= ML_NEED_CGROUP;
	if (rc == -ESRCH || (rc == -ENOENT && r->procfs))
		return VANISHED;
	if (rc < 0) /* not captured, or hidden: unknown; what a source may not hold fails */
		return outcome_of_errno(r, rc, "cgroup") == FAILED ? FAILED : ROW;
	if (ml_parse_cgroup(r->buf.data, r->buf.len, &path, &n) < 0)
		return malformed(r, "cgroup", -EINVAL);
	p->cgroup = strndup(path, n);
	return p->cgroup ? ROW : malformed(r, "cgroup", -ENOMEM);
}

/* The GPU clients and dma-bufs it holds; fds that cannot be read leave p->gpu NULL
 * (unknown), as a snapshot that did not record them does. */
static enum outcome read_gpu(struct reader *r, int dirfd, struct ml_proc *p)
{
	char bad[32] = "";
	int rc = ml_gpu_read_proc(r->src, dirfd, &r->buf, &p->gpu, bad);

	p->have |= ML_NEED_GPU;
	if (rc == -EINVAL)
		return malformed(r, bad, rc);
	if (rc == -ESRCH || (rc == -ENOENT && r->procfs))
		return VANISHED;
	if (rc < 0 && outcome_of_errno(r, rc, bad) == FAILED)
		return FAILED; /* what a source may not hold (a FIFO, a link out), no memory */
	return ROW;            /* refused (EACCES), or not captured: unknown */
}

/* A status not read: every figure unknown, none 0 (UID 0 would be root). */
static void status_unknown(struct ml_status *s)
{
	memset(s, 0, sizeof(*s));
	s->ppid = -1;
	s->uid = s->threads = s->vm_size = s->vm_rss = s->rss_anon = s->rss_file = ML_UNKNOWN;
	s->rss_shmem = s->vm_swap = s->vm_pte = s->hugetlb = ML_UNKNOWN;
}

/* Reads one process into p as opts asks. */
static enum outcome scan_one(struct reader *r, struct ml_source *src,
                             const struct ml_scan_opts *opts, pid_t pid, struct ml_proc *p)
{
	unsigned needs = opts->needs;
	enum outcome o = ROW;
	int dirfd;

	memset(p, 0, sizeof(*p));
	p->pid = pid;
	p->commit = ML_UNKNOWN;
	p->oom_adj = ML_OOM_ADJ_UNKNOWN;
	p->oom_score = -1;
	ml_mem_init(&p->mem);
	status_unknown(&p->status);
	if ((needs & ML_NEED_PAGEMAP) &&
	    (!opts->pages_without_smaps || r->no_query || !r->procfs || opts->whole_pagemap))
		needs |= ML_NEED_SMAPS;
	if (needs & ML_NEED_CLASSES)
		needs |= ML_NEED_SMAPS;
	/* Something must tell a process from a kernel thread: stat is the cheapest. */
	if (!(needs & (ML_NEED_STATUS | ML_NEED_ROLLUP | ML_NEED_SMAPS)))
		needs |= ML_NEED_STAT;
	if (opts->leave_out_self && r->procfs && pid == getpid())
		return SKIP;
	dirfd = ml_source_open_pid(src, pid);
	if (dirfd < 0)
		return dirfd == -ENOENT ? VANISHED : outcome_of_errno(r, dirfd, "");
	if (r->count_threads) { /* a task directory links to each thread's: 2 + threads */
		struct stat st;
		if (fstatat(dirfd, "task", &st, 0) == 0 && st.st_nlink > 2)
			r->threads_seen += st.st_nlink - 2;
	}
	if (needs & ML_NEED_STATUS)
		o = read_status(r, dirfd, p);
	if (o == UNCAPTURED)
		needs |= ML_NEED_STAT; /* a capture without status (smemcap): stat tells threads */
	if (ok(o) && (needs & ML_NEED_STATM))
		o = read_statm(r, dirfd, p);
	if (needs & ML_NEED_CMDLINE)
		needs |= ML_NEED_STAT; /* its argument area bounds the command line */
	if ((needs & ML_NEED_CMDLINE) && r->android)
		needs |= ML_NEED_OOM; /* an app's role: its name and its oom_score_adj bucket */
	if (ok(o) && (needs & ML_NEED_STAT))
		o = read_stat(r, dirfd, p);
	if (ok(o) && (needs & ML_NEED_CMDLINE))
		o = read_cmdline(r, dirfd, p);
	if (ok(o) && (needs & ML_NEED_EXE))
		o = read_exe(r, dirfd, p);
	if (ok(o) && (needs & ML_NEED_CGROUP))
		o = read_cgroup(r, dirfd, p);
	if (ok(o) && (needs & ML_NEED_CONTEXT))
		o = read_context(r, dirfd, p);
	if (ok(o) && (needs & (ML_NEED_OOM | ML_NEED_OOM_SCORE)))
		o = read_oom(r, dirfd, p, needs);
	if (ok(o) && opts->keep && !opts->keep(p, opts->keep_ctx))
		o = SKIP;
	if (ok(o))
		o = read_memory(r, dirfd, p, opts, needs);
	if (ok(o) && (needs & ML_NEED_GPU))
		o = read_gpu(r, dirfd, p);
	close(dirfd);
	return ok(o) ? ROW : o;
}

/* Work shared by the reader threads: slot i of outcomes and procs belongs to pids[i]. */
struct scan_job {
	struct ml_source *src;
	const struct ml_scan_opts *opts;
	const pid_t *pids;
	size_t n;
	enum outcome *outcomes;
	struct ml_proc *procs;
	atomic_size_t next;
	pthread_mutex_t lock; /* guards the first failure below */
	int error;
	pid_t error_pid;
	char error_file[32];
};

struct worker_arg {
	struct scan_job *job;
	struct reader *reader;
};

static void *scan_worker(void *arg)
{
	struct worker_arg *w = arg;
	struct scan_job *job = w->job;
	size_t i;

	while ((i = atomic_fetch_add(&job->next, 1)) < job->n) {
		job->outcomes[i] =
		    scan_one(w->reader, job->src, job->opts, job->pids[i], &job->procs[i]);
		if (job->outcomes[i] == FAILED) {
			pthread_mutex_lock(&job->lock);
			if (!job->error) {
				job->error = w->reader->error ? w->reader->error : -EIO;
				job->error_pid = job->pids[i];
				memcpy(job->error_file, w->reader->error_file,
				       sizeof(job->error_file));
			}
			pthread_mutex_unlock(&job->lock);
			atomic_store(&job->next, job->n); /* stop the others early */
			break;
		}
	}
	return NULL;
}

static unsigned reader_count(const struct ml_scan_opts *opts, size_t n)
{
	unsigned t = opts->threads;

	if (t == 0) {
		long cpus = sysconf(_SC_NPROCESSORS_ONLN);
		t = cpus >= 2 ? 2 : 1;
	}
	if (t > 8)
		t = 8;
	return n < 64 ? 1 : t; /* a few processes are not worth a thread */
}

/* Runs the readers over the job, each with its own buffer; the calling thread is one. */
static void run_readers(struct scan_job *job, struct reader *readers, unsigned nreaders)
{
	struct worker_arg args[8];
	pthread_t tids[8];
	unsigned started = 1;

	for (unsigned t = 0; t < nreaders; t++)
		args[t] = (struct worker_arg){job, &readers[t]};
	for (unsigned t = 1; t < nreaders; t++, started++)
		if (pthread_create(&tids[t], NULL, scan_worker, &args[t]) != 0)
			break; /* fewer readers: still correct */
	scan_worker(&args[0]);
	for (unsigned t = 1; t < started; t++)
		pthread_join(tids[t], NULL);
}

/* Moves the rows into out, counts the rest, frees what the dropped ones held. */
static void collect(struct scan_job *job, struct ml_scan *out)
{
	size_t rows = 0, unreadable = 0;

	for (size_t i = 0; i < job->n; i++)
		unreadable += job->outcomes[i] == UNREADABLE;
	out->unreadable_pids = unreadable ? malloc(unreadable * sizeof(pid_t)) : NULL;

	for (size_t i = 0; i < job->n; i++) {
		if (job->outcomes[i] == ROW) {
			job->procs[rows++] = job->procs[i];
			continue;
		}
		if (job->outcomes[i] == UNREADABLE && out->unreadable_pids)
			out->unreadable_pids[out->unreadable] = job->pids[i];
		if (job->outcomes[i] == UNREADABLE)
			out->unreadable++;
		else if (job->outcomes[i] == VANISHED)
			out->vanished++;
		free(job->procs[i].cmdline);
		free(job->procs[i].exe);
		free(job->procs[i].cgroup);
		free(job->procs[i].context);
		free(job->procs[i].heaps);
		ml_gpu_free(job->procs[i].gpu);
	}
	out->procs = job->procs;
	out->nprocs = rows;
	out->error_pid = job->error_pid;
	memcpy(out->error_file, job->error_file, sizeof(out->error_file));
}

/*
 * Keeps the kernel's thread count in out->tasks, and says in out->hidden when the live
 * /proc lists fewer processes than the kernel runs: listed, the threads of the processes listed
 * (their task directories' link counts), against the kernel's count in loadavg, which no PID
 * namespace narrows, less what starts and ends meanwhile. Leaves why "" when none is hidden, or it
 * cannot tell.
 */
static void find_hidden(struct ml_source *src, uint64_t listed, struct ml_scan *out)
{
	char *why = out->hidden;
	size_t why_size = sizeof(out->hidden);
	struct ml_buf b = {0};
	uint64_t threads;

	if (ml_source_read(src, "loadavg", &b) == 0 &&
	    ml_parse_loadavg_threads(b.data, b.len, &threads) == 0)
		out->tasks = threads;
	if (out->tasks && threads > listed + 16 + threads / 16) {
		bool hidepid = geteuid() != 0 && ml_source_read(src, "self/mountinfo", &b) == 0 &&
		               ml_parse_mountinfo_hidepid(b.data, b.len, ml_source_path(src));
		snprintf(why, why_size, "/proc shows %llu of the kernel's %llu threads (%s)",
		         (unsigned long long)listed, (unsigned long long)threads,
		         hidepid ? "hidepid=2 hides other users' processes"
		                 : "processes in other PID namespaces are not shown");
	}
	ml_buf_free(&b);
}

/* Books the GPU memory of out's processes, with NVML's devices in the live /proc. */
/*
 * Books the GPU memory of a scan of some processes (PIDs, a filter) against every
 * process's: a client or buffer is divided among all that hold it, not only those asked
 * for. Reads the fds of the others, and moves each asked-for process's booked holdings
 * from that scan into out. (The asked-for ones were read first, by the scan of some: a
 * file of theirs that is malformed is named before any other process's.) Returns 0 or
 * -errno.
 */
static int book_gpu_among_all(struct ml_source *src, const struct ml_scan_opts *opts,
                              struct ml_scan *out)
{
	struct ml_scan_opts all = {
	    .needs = ML_NEED_GPU, .threads = opts->threads, .leave_out_self = opts->leave_out_self};
	struct ml_scan s;
	int rc = ml_scan_run(src, &all, &s);

	for (size_t i = 0; rc == 0 && i < out->nprocs; i++) {
		long k = ml_scan_find(&s, out->procs[i].pid);
		ml_gpu_free(out->procs[i].gpu);
		out->procs[i].gpu = k >= 0 ? s.procs[k].gpu : NULL; /* gone since: unknown */
		if (k >= 0)
			s.procs[k].gpu = NULL;
	}
	if (rc == 0) { /* the NVML reading goes with them */
		out->nvml = s.nvml;
		s.nvml = NULL;
		memcpy(out->gpu_error, s.gpu_error, sizeof(out->gpu_error));
	} else { /* another process's file, malformed: named as a scan of all would */
		out->error_pid = s.error_pid;
		memcpy(out->error_file, s.error_file, sizeof(out->error_file));
	}
	ml_scan_free(&s);
	return rc;
}

static int book_gpu(struct ml_source *src, const struct ml_scan_opts *opts, struct ml_scan *out)
{
	int rc;

	if (opts->npids || opts->keep)
		return book_gpu_among_all(src, opts, out);
	rc = ml_gpu_book(out);
	if (rc < 0 || !ml_source_is_procfs(src))
		return rc;
	if (!(out->nvml = calloc(1, sizeof(*out->nvml))))
		return -ENOMEM;
	rc = ml_nvml_read(out->nvml, out->gpu_error, sizeof(out->gpu_error));
	if (rc == -ENOMEM)
		return rc;
	for (size_t i = 0; i < out->nvml->nprocs; i++) {
		long k = ml_scan_find(out, out->nvml->procs[i].pid);
		if (k >= 0 && out->procs[k].gpu)
			out->procs[k].gpu->vram =
			    ml_add(out->procs[k].gpu->vram, out->nvml->procs[i].used);
	}
	return 0;
}

static int cmp_pid(const void *a, const void *b)
{
	pid_t x = *(const pid_t *)a, y = *(const pid_t *)b;

	return (x > y) - (x < y);
}

int ml_scan_run(struct ml_source *src, const struct ml_scan_opts *opts, struct ml_scan *out)
{
	struct scan_job job = {.src = src, .opts = opts};
	struct reader readers[8];
	uint64_t threads = 0; /* of the processes listed */
	pid_t *listed = NULL;
	unsigned nreaders;
	int rc = 0;

	memset(out, 0, sizeof(*out));
	out->captured_uid = ml_source_captured_uid(src);
	out->android = ml_source_android(src);
	if (!ml_source_manifest_value(src, "user", out->captured_user,
	                              sizeof(out->captured_user)) &&
	    out->android && out->captured_uid >= 0) /* a capture before user: was written */
		ml_android_user_name((uint64_t)out->captured_uid, out->captured_user,
		                     sizeof(out->captured_user));
	memset(readers, 0, sizeof(readers));
	if (opts->npids) { /* in PID order, as the rows are kept (ml_scan_find) */
		listed = malloc(opts->npids * sizeof(*listed));
		if (!listed)
			return -ENOMEM;
		memcpy(listed, opts->pids, opts->npids * sizeof(*listed));
		qsort(listed, opts->npids, sizeof(*listed), cmp_pid);
		job.pids = listed;
		job.n = opts->npids;
	} else {
		rc = ml_source_list_pids(src, &listed, &job.n);
		if (rc < 0)
			return rc;
		job.pids = listed;
	}
	job.procs = calloc(job.n ? job.n : 1, sizeof(*job.procs));
	job.outcomes = calloc(job.n ? job.n : 1, sizeof(*job.outcomes));
	if (!job.procs || !job.outcomes) {
		rc = -ENOMEM;
		goto out;
	}
	for (size_t i = 0; i < job.n; i++)
		job.outcomes[i] = SKIP; /* what a slot no reader reached counts as */
	for (unsigned t = 0; t < 8; t++) {
		readers[t].src = src;
		readers[t].procfs = ml_source_is_procfs(src);
		readers[t].android = out->android;
		readers[t].count_threads = readers[t].procfs && !opts->npids;
		readers[t].no_query = !frames_readable(src, opts); /* then smaps' bounds */
	}
	atomic_init(&job.next, 0);
	pthread_mutex_init(&job.lock, NULL);
	nreaders = reader_count(opts, job.n);
	run_readers(&job, readers, nreaders);
	pthread_mutex_destroy(&job.lock);
	rc = job.error;
	collect(&job, out);
	job.procs = NULL;
	for (unsigned t = 0; t < nreaders; t++) {
		threads += readers[t].threads_seen;
		ml_buf_free(&readers[t].buf);
		free(readers[t].pagemap);
		free(readers[t].vmas);
		free(readers[t].names);
		free(readers[t].regions);
		ml_maps_window_free(readers[t].window);
	}
	if (rc == 0 && readers[0].count_threads)
		find_hidden(src, threads, out);
	if (rc == 0 && (opts->needs & ML_NEED_GPU))
		rc = book_gpu(src, opts, out);
out:
	free(job.procs);
	free(job.outcomes);
	free(listed);
	return rc;
}

int ml_scan_read_stat(struct ml_source *src, pid_t pid, struct ml_stat *st)
{
	struct reader r = {.src = src, .procfs = ml_source_is_procfs(src)};
	int dirfd = ml_source_open_pid(src, pid), rc;

	if (dirfd < 0)
		return dirfd == -ENOENT ? -ESRCH : dirfd;
	rc = read_file(&r, dirfd, "stat");
	close(dirfd);
	if (rc == -ENOENT)
		rc = -ESRCH;
	if (rc == 0 && ml_parse_stat(r.buf.data, r.buf.len, st) < 0)
		rc = -EINVAL;
	ml_buf_free(&r.buf);
	return rc;
}

long ml_scan_find(const struct ml_scan *s, pid_t pid)
{
	size_t lo = 0, hi = s->nprocs;

	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		if (s->procs[mid].pid < pid)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < s->nprocs && s->procs[lo].pid == pid ? (long)lo : -1;
}

/* The index of process i's parent as its files give it, or -1. */
static long parent_link(const struct ml_scan *s, size_t i)
{
	const struct ml_proc *p = &s->procs[i];
	pid_t ppid = (p->have & ML_NEED_STATUS) ? p->status.ppid
	             : (p->have & ML_NEED_STAT) ? p->stat.ppid
	                                        : 0;

	return ppid > 0 ? ml_scan_find(s, ppid) : -1;
}

#define DEPTH_UNSEEN  SIZE_MAX       /* not reached yet */
#define DEPTH_ON_PATH (SIZE_MAX - 1) /* on the walk up from the current process */

/* Walks up from i to a process whose depth is known, or to a root, or back onto the
 * walk itself (a cycle: the last link is cut), then sets the depths on the way. */
static void settle_depths(long *parent, size_t *depth, size_t i)
{
	size_t len = 0, base = 0;
	long k = (long)i;

	while (k >= 0 && depth[k] == DEPTH_UNSEEN) {
		depth[k] = DEPTH_ON_PATH;
		len++;
		if (parent[k] >= 0 && depth[parent[k]] == DEPTH_ON_PATH)
			parent[k] = -1; /* this link closes a cycle: k becomes a root */
		k = parent[k];
	}
	if (k >= 0)
		base = depth[k] + 1;
	for (k = (long)i; len > 0; k = parent[k])
		depth[k] = base + --len;
}

int ml_scan_parents(const struct ml_scan *s, long *parent, size_t *depth)
{
	size_t n = s->nprocs, *own = depth ? NULL : malloc((n + 1) * sizeof(size_t));

	if (!depth && !own)
		return -ENOMEM;
	if (own)
		depth = own;
	for (size_t i = 0; i < n; i++) {
		parent[i] = parent_link(s, i);
		depth[i] = DEPTH_UNSEEN;
	}
	for (size_t i = 0; i < n; i++)
		if (depth[i] == DEPTH_UNSEEN)
			settle_depths(parent, depth, i);
	free(own);
	return 0;
}

int ml_order_deepest_first(const size_t *depth, size_t n, size_t *order)
{
	size_t deepest = 0, *start;

	for (size_t i = 0; i < n; i++)
		deepest = depth[i] > deepest ? depth[i] : deepest;
	start = calloc(deepest + 2, sizeof(size_t));
	if (!start)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) /* start[d]: rows deeper than d come first */
		start[deepest - depth[i] + 1]++;
	for (size_t d = 1; d <= deepest + 1; d++)
		start[d] += start[d - 1];
	for (size_t i = 0; i < n; i++)
		order[start[deepest - depth[i]]++] = i;
	free(start);
	return 0;
}

void ml_scan_free(struct ml_scan *s)
{
	for (size_t i = 0; i < s->nprocs; i++) {
		free(s->procs[i].cmdline);
		free(s->procs[i].exe);
		free(s->procs[i].cgroup);
		free(s->procs[i].context);
		free(s->procs[i].heaps);
		ml_gpu_free(s->procs[i].gpu);
	}
	free(s->procs);
	free(s->unreadable_pids);
	if (s->nvml)
		ml_nvml_free(s->nvml);
	free(s->nvml);
	memset(s, 0, sizeof(*s));
}

char *ml_scan_pid_label(const struct ml_scan *s, pid_t pid)
{
	long i = ml_scan_find(s, pid);
	const char *comm = i >= 0 ? s->procs[i].comm : "";
	char *label = NULL;

	return asprintf(&label, "%d%s%s", (int)pid, comm[0] ? " " : "", comm) < 0 ? NULL : label;
}
