/* Exact page accounting from pagemap, kpagecount and kpageflags (DESIGN.md, FREED). */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "memledger/ledger.h"
#include "memledger/pages.h"
#include "memledger/system.h"
#include "util.h"

/* pagemap entry bits (Documentation/admin-guide/mm/pagemap.rst) */
#define PM_PFN_MASK  ((1ull << 55) - 1)
#define PM_EXCLUSIVE (1ull << 56) /* the page is mapped once: by this process, here */
#define PM_FILE      (1ull << 61) /* a file or shmem page (not anonymous) */
#define PM_SWAP      (1ull << 62)
#define PM_PRESENT   (1ull << 63)

/* kpageflags bits */
#define KPF_ANON      12
#define KPF_HUGE      17
#define KPF_ZERO_PAGE 24

#define KEY_SWAP (1ull << 63) /* a key with this bit is a swap entry, else a frame number */

/* The swap area of a swap entry's key: pagemap's bits 0-4, the area's type (its index
 * in the kernel's swap_info, which /proc/swaps lists in order). */
static unsigned swap_type(uint64_t key)
{
	return (unsigned)(key & 31);
}
#define NO_SET UINT32_MAX

/* One page table entry of a scanned process: a frame it maps or a swap slot it holds. */
struct ref {
	uint64_t key;
	uint32_t proc;     /* a PID while booking; the scan's index after ml_pages_resolve */
	uint32_t obj : 24; /* a shmem page: its object's booking id (struct obj_key), else
	                      REF_NO_OBJ (16 bytes a page: the engine's peak memory) */
	uint32_t kind : 7; /* enum ml_kind of the mapping */
	uint32_t file : 1; /* pagemap's file bit: a page of a file or of shmem */
};

#define REF_NO_OBJ 0xFFFFFFu
_Static_assert(sizeof(struct ref) == 16, "a booked page takes 16 bytes");

#define NO_OBJ UINT32_MAX

/* A shmem object as pages are booked: its id is its index in ml_pages.okeys. */
struct obj_key {
	unsigned dev_major, dev_minor;
	uint64_t inode;
};

/* Exclusive pages of one process in one shmem object (its booking id). */
struct xshm {
	uint32_t proc; /* as in struct ref */
	uint32_t obj;
	uint64_t pages;
};

/* One shmem mapping of a scanned process. */
struct shm_map {
	uint64_t inode, start, end, resident; /* resident: Rss + Swap of the mapping */
	uint64_t rss;                         /* Rss of the mapping (0 where unknown) */
	uint64_t pss, swap_pss; /* ML_UNKNOWN where smaps lacks them (SwapPss before 4.3) */
	char *name;
	unsigned dev_major, dev_minor;
	uint32_t proc; /* as in struct ref */
	uint8_t kind;
};

/* A shmem object: the mappings of one device and inode, and its fate. */
struct shm_object {
	size_t first, n;   /* its mappings in shm_maps, after sorting; n 0: SysV no one maps */
	uint64_t size;     /* resident + swapped bytes of the whole object */
	uint64_t length;   /* its length: a SysV segment's size, else the inode's size */
	long sysv;         /* its segment in sysv, or -1 */
	uint32_t *holders; /* processes holding it open by fd (memfd) */
	size_t nholders, holders_cap;
	bool dies; /* it dies when its mappers and holders do (DESIGN.md) */
};

/* Pages a process maps that no other mapping maps (pagemap's exclusive bit): booked to it
 * without a frame lookup, since their map count is 1. Counts of pages, by what they are. */
struct excl {
	uint32_t proc; /* as in struct ref */
	uint64_t anon, file, shmem;
};

/* What smaps alone says a process would surely free: the lower bound without frames. */
struct bound {
	uint32_t proc;
	uint64_t anon, swap;
};

struct ml_pages {
	pthread_mutex_t lock;
	struct ref *refs;
	size_t nrefs, refs_cap;
	struct shm_map *maps;
	size_t nmaps, maps_cap;
	struct bound *bounds;
	size_t nbounds, bounds_cap;
	struct excl *excl; /* one per batch of pages booked; per process after resolving */
	size_t nexcl, excl_cap;
	struct obj_key *okeys; /* the shmem objects pages were booked in, by booking id */
	size_t nokeys, okeys_cap;
	uint32_t *obj_of_key; /* after resolving: each booking id's object, or NO_OBJ */
	struct xshm *xshm;    /* exclusive shmem pages, by process and object */
	size_t nxshm, xshm_cap;
	bool no_frames; /* a present page came without its frame number */
	/* after ml_pages_resolve */
	size_t nprocs;
	uint64_t page;
	uint64_t *counts, *flags; /* per distinct frame, in key order */
	struct shm_object *objects;
	size_t nobjects;
	struct ml_sysv_shm *sysv; /* /proc/sysvipc/shm */
	size_t nsysv, sysv_cap;
	uint64_t *kernel;      /* per process: its page tables and kernel stacks, or ML_UNKNOWN */
	uint32_t zram_types;   /* bit t: swap area t (its line in /proc/swaps) is a zram device */
	bool swap_types_known; /* every swap entry's area is a line of /proc/swaps */
	long *parent;          /* the scan index of each process's parent, or -1 */
	size_t *depth;         /* how many ancestors each process has */
	uint64_t *cow;         /* per process: see ml_pages_cow */
	bool *unbooked;        /* per process: its smaps was not read (a capture lacks it), so its
	                          pages are booked nowhere and what touches them is unknown */
	bool exact;
};

struct ml_pages *ml_pages_new(void)
{
	struct ml_pages *pg = calloc(1, sizeof(*pg));

	if (!pg)
		return NULL;
	pthread_mutex_init(&pg->lock, NULL);
	pg->page = (uint64_t)sysconf(_SC_PAGESIZE);
	return pg;
}

void ml_pages_free(struct ml_pages *pg)
{
	if (!pg)
		return;
	for (size_t i = 0; i < pg->nobjects; i++)
		free(pg->objects[i].holders);
	free(pg->objects);
	free(pg->refs);
	for (size_t i = 0; i < pg->nmaps; i++)
		free(pg->maps[i].name);
	free(pg->maps);
	free(pg->sysv);
	free(pg->bounds);
	free(pg->excl);
	free(pg->kernel);
	free(pg->okeys);
	free(pg->obj_of_key);
	free(pg->xshm);
	free(pg->counts);
	free(pg->flags);
	free(pg->parent);
	free(pg->depth);
	free(pg->cow);
	free(pg->unbooked);
	pthread_mutex_destroy(&pg->lock);
	free(pg);
}

/* The booking id of mapping m's shmem object into *id (a new one for an object not seen
 * yet; few objects, so a linear search). Called with the lock held. Returns 0 or -ENOMEM. */
static int booking_id(struct ml_pages *pg, const struct ml_mapping *m, uint32_t *id)
{
	for (size_t i = pg->nokeys; i-- > 0;) {
		const struct obj_key *k = &pg->okeys[i];
		if (k->inode == m->inode && k->dev_major == m->dev_major &&
		    k->dev_minor == m->dev_minor) {
			*id = (uint32_t)i;
			return 0;
		}
	}
	if (ml_grow((void **)&pg->okeys, &pg->okeys_cap, pg->nokeys, 1, sizeof(struct obj_key)))
		return -ENOMEM;
	pg->okeys[pg->nokeys] = (struct obj_key){m->dev_major, m->dev_minor, m->inode};
	*id = (uint32_t)pg->nokeys++;
	return 0;
}

int ml_pages_on_pages(const struct ml_proc *p, const struct ml_mapping *m, uint64_t vaddr,
                      const uint64_t *entries, size_t n, void *pages)
{
	struct ml_pages *pg = pages;
	enum ml_kind kind = ml_mapping_kind(m);
	struct excl x = {(uint32_t)p->pid, 0, 0, 0};
	bool no_frames = false, shmem = ml_kind_is_shmem(kind);
	uint32_t obj = NO_OBJ;
	int rc = 0;

	(void)vaddr;
	pthread_mutex_lock(&pg->lock);
	if (shmem)
		rc = booking_id(pg, m, &obj);
	if (rc == 0)
		rc = ml_grow((void **)&pg->refs, &pg->refs_cap, pg->nrefs, n, sizeof(struct ref));
	for (size_t i = 0; rc == 0 && i < n; i++) {
		uint64_t e = entries[i], key;
		if (e & PM_PRESENT) {
			key = e & PM_PFN_MASK;
			if (key == 0) {
				no_frames = true; /* frame numbers are hidden from us */
				continue;
			}
			if (e & PM_EXCLUSIVE) { /* mapped once: no frame to look up */
				if (!(e & PM_FILE))
					x.anon++;
				else if (shmem)
					x.shmem++;
				else
					x.file++;
				continue;
			}
		} else if (e & PM_SWAP) {
			key = KEY_SWAP | (e & PM_PFN_MASK);
		} else {
			continue;
		}
		pg->refs[pg->nrefs++] = (struct ref){.key = key,
		                                     .proc = (uint32_t)p->pid,
		                                     .obj = obj < REF_NO_OBJ ? obj : REF_NO_OBJ,
		                                     .kind = (uint32_t)kind,
		                                     .file = (e & PM_FILE) != 0};
	}
	if (rc == 0 && (x.anon || x.file || x.shmem)) {
		rc = ml_grow((void **)&pg->excl, &pg->excl_cap, pg->nexcl, 1, sizeof(x));
		if (rc == 0)
			pg->excl[pg->nexcl++] = x;
	}
	if (rc == 0 && x.shmem) {
		rc = ml_grow((void **)&pg->xshm, &pg->xshm_cap, pg->nxshm, 1, sizeof(struct xshm));
		if (rc == 0)
			pg->xshm[pg->nxshm++] = (struct xshm){(uint32_t)p->pid, obj, x.shmem};
	}
	pg->no_frames |= no_frames;
	pthread_mutex_unlock(&pg->lock);
	return rc;
}

/* The value of a field, 0 when unknown. */
static uint64_t known(uint64_t v)
{
	return v == ML_UNKNOWN ? 0 : v;
}

int ml_pages_on_mapping(const struct ml_proc *p, const struct ml_mapping *m, void *pages)
{
	struct ml_pages *pg = pages;
	enum ml_kind kind = ml_mapping_kind(m);
	const uint64_t *v = m->mem.v;
	struct bound b = {(uint32_t)p->pid, 0, known(v[ML_MEM_SWAP_PSS])};
	int rc = 0;

	/* Without frames: private pages of anonymous memory, and a private file mapping's
	 * written pages (at most its Anonymous pages), surely die with the process. */
	if (kind == ML_KIND_ANON || kind == ML_KIND_HEAP || kind == ML_KIND_STACK)
		b.anon = known(v[ML_MEM_PRIVATE_CLEAN]) + known(v[ML_MEM_PRIVATE_DIRTY]);
	else if (kind == ML_KIND_DATA || kind == ML_KIND_CODE || kind == ML_KIND_RODATA)
		b.anon = known(v[ML_MEM_ANONYMOUS]) < known(v[ML_MEM_PRIVATE_DIRTY])
		             ? known(v[ML_MEM_ANONYMOUS])
		             : known(v[ML_MEM_PRIVATE_DIRTY]);
	pthread_mutex_lock(&pg->lock);
	if (b.anon || b.swap) {
		rc = ml_grow((void **)&pg->bounds, &pg->bounds_cap, pg->nbounds, 1, sizeof(b));
		if (rc == 0)
			pg->bounds[pg->nbounds++] = b;
	}
	if (rc == 0 && ml_kind_is_shmem(kind)) {
		char *name = strdup(m->name);
		rc = name ? ml_grow((void **)&pg->maps, &pg->maps_cap, pg->nmaps, 1,
		                    sizeof(struct shm_map))
		          : -ENOMEM;
		if (rc == 0)
			pg->maps[pg->nmaps++] = (struct shm_map){
			    .inode = m->inode,
			    .start = m->start,
			    .end = m->end,
			    .resident = v[ML_MEM_RSS] == ML_UNKNOWN
			                    ? ML_UNKNOWN
			                    : v[ML_MEM_RSS] + known(v[ML_MEM_SWAP]),
			    .rss = known(v[ML_MEM_RSS]),
			    .pss = v[ML_MEM_PSS],
			    .swap_pss = v[ML_MEM_SWAP_PSS],
			    .name = name,
			    .dev_major = m->dev_major,
			    .dev_minor = m->dev_minor,
			    .proc = (uint32_t)p->pid,
			    .kind = (uint8_t)kind};
		else
			free(name);
	}
	pthread_mutex_unlock(&pg->lock);
	return rc;
}

/* The scan index of pid, or NO_SET when the scan has no such process. */
static uint32_t index_of(const struct ml_scan *scan, uint32_t pid)
{
	long i = ml_scan_find(scan, (pid_t)pid);

	return i < 0 ? NO_SET : (uint32_t)i;
}

static int cmp_ref(const void *a, const void *b)
{
	const struct ref *x = a, *y = b;

	if (x->key != y->key)
		return x->key < y->key ? -1 : 1;
	return (x->proc > y->proc) - (x->proc < y->proc);
}

/* The end of the group of refs that share refs[i]'s key. */
static size_t group_end(const struct ml_pages *pg, size_t i)
{
	size_t j = i + 1;

	while (j < pg->nrefs && pg->refs[j].key == pg->refs[i].key)
		j++;
	return j;
}

/*
 * Reads the uint64_t of each frame in frames[0..n) (ascending) from fd (kpagecount or
 * kpageflags) into out: one pread for each run of frames less than GAP apart. The frames
 * are those mapped more than once (exclusive pages need no lookup): few, and scattered,
 * so a small gap reads little more than the answers (4096 read 13.6 MB for 1.3 MB).
 */
static int read_frames(int fd, const uint64_t *frames, size_t n, uint64_t *out)
{
	enum { GAP = 16, MAX_RUN = 65536 };
	uint64_t *buf = malloc(MAX_RUN * sizeof(*buf));
	size_t i = 0;

	if (!buf)
		return -ENOMEM;
	while (i < n) {
		size_t j = i + 1, len;
		ssize_t r;
		while (j < n && frames[j] - frames[j - 1] < GAP && frames[j] - frames[i] < MAX_RUN)
			j++;
		len = (size_t)(frames[j - 1] - frames[i] + 1);
		r = pread(fd, buf, len * 8, (off_t)(frames[i] * 8));
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			free(buf);
			return -errno;
		}
		for (size_t k = i; k < j; k++) {
			size_t off = (size_t)(frames[k] - frames[i]);
			out[k] = off < (size_t)r / 8 ? buf[off] : 0;
		}
		i = j;
	}
	free(buf);
	return 0;
}

/* Reads the map count and flags of every distinct frame booked. Returns 0 or -errno. */
static int resolve_frames(struct ml_pages *pg, struct ml_source *src)
{
	uint64_t *frames = malloc((pg->nrefs + 1) * sizeof(*frames));
	size_t n = 0;
	int count_fd, flags_fd, rc = -ENOMEM;

	if (!frames)
		return -ENOMEM;
	for (size_t i = 0; i < pg->nrefs; i = group_end(pg, i))
		if (!(pg->refs[i].key & KEY_SWAP))
			frames[n++] = pg->refs[i].key;
	pg->counts = calloc(n + 1, sizeof(uint64_t));
	pg->flags = calloc(n + 1, sizeof(uint64_t));
	if (!pg->counts || !pg->flags)
		goto out;
	count_fd = ml_source_open(src, "kpagecount");
	flags_fd = ml_source_open(src, "kpageflags");
	rc = count_fd < 0 ? count_fd : flags_fd < 0 ? flags_fd : 0;
	if (rc == 0)
		rc = read_frames(count_fd, frames, n, pg->counts);
	if (rc == 0)
		rc = read_frames(flags_fd, frames, n, pg->flags);
	if (count_fd >= 0)
		close(count_fd);
	if (flags_fd >= 0)
		close(flags_fd);
out:
	free(frames);
	return rc;
}

static bool flag(uint64_t flags, int bit)
{
	return flags >> bit & 1;
}

/* True when process proc maps a frame of the group refs[i..end) (sorted by process). */
static bool group_has(const struct ml_pages *pg, size_t i, size_t end, uint32_t proc)
{
	while (i < end) {
		size_t mid = i + (end - i) / 2;
		if (pg->refs[mid].proc == proc)
			return true;
		if (pg->refs[mid].proc < proc)
			i = mid + 1;
		else
			end = mid;
	}
	return false;
}

/* Books to each process the anonymous pages its parent maps too: the fork effect. */
static void compute_cow(struct ml_pages *pg)
{
	size_t frame = 0;

	for (size_t i = 0, end; i < pg->nrefs; i = end) {
		end = group_end(pg, i);
		if (pg->refs[i].key & KEY_SWAP)
			continue;
		if (!flag(pg->flags[frame++], KPF_ANON))
			continue;
		for (size_t k = i; k < end; k++) {
			long parent = pg->parent[pg->refs[k].proc];
			if (parent >= 0 && group_has(pg, i, end, (uint32_t)parent))
				pg->cow[pg->refs[k].proc] += pg->page;
		}
	}
}

static int cmp_shm_map(const void *a, const void *b)
{
	const struct shm_map *x = a, *y = b;

	if (x->dev_major != y->dev_major)
		return x->dev_major < y->dev_major ? -1 : 1;
	if (x->dev_minor != y->dev_minor)
		return x->dev_minor < y->dev_minor ? -1 : 1;
	if (x->inode != y->inode)
		return x->inode < y->inode ? -1 : 1;
	return (x->proc > y->proc) - (x->proc < y->proc);
}

/* The resident and swapped bytes of the object that mapping m belongs to, from the
 * inode's allocated blocks (/proc/PID/map_files), and its length (the inode's size); the
 * largest mapping's Rss + Swap and length when that cannot be read (unknown without smaps). */
static void object_size(struct ml_source *src, const struct ml_scan *scan, const struct shm_map *m,
                        size_t n, struct shm_object *obj)
{
	char name[64];
	struct stat st;
	int dirfd = ml_source_open_pid(src, scan->procs[m->proc].pid);

	obj->size = obj->length = 0;
	for (size_t i = 0; i < n; i++) {
		obj->size = m[i].resident == ML_UNKNOWN || obj->size == ML_UNKNOWN
		                ? ML_UNKNOWN /* no smaps figures (exact mode reads none) */
		            : m[i].resident > obj->size ? m[i].resident
		                                        : obj->size;
		obj->length =
		    m[i].end - m[i].start > obj->length ? m[i].end - m[i].start : obj->length;
	}
	if (dirfd < 0)
		return;
	snprintf(name, sizeof(name), "map_files/%llx-%llx", (unsigned long long)m->start,
	         (unsigned long long)m->end);
	if (ml_source_stat_at(src, dirfd, name, &st) == 0 && (uint64_t)st.st_ino == m->inode) {
		obj->size = (uint64_t)st.st_blocks * 512;
		obj->length = (uint64_t)st.st_size;
	}
	close(dirfd);
}

/* Adds process proc as a holder of the memfd object with st's device and inode. */
static int add_holder(struct ml_pages *pg, const struct stat *st, uint32_t proc)
{
	for (size_t o = 0; o < pg->nobjects; o++) {
		struct shm_object *obj = &pg->objects[o];
		const struct shm_map *m = &pg->maps[obj->first];
		if (m->inode != (uint64_t)st->st_ino || m->kind != ML_KIND_SHMEM_MEMFD ||
		    st->st_dev != makedev(m->dev_major, m->dev_minor))
			continue;
		if (ml_grow((void **)&obj->holders, &obj->holders_cap, obj->nholders, 1,
		            sizeof(proc)))
			return -ENOMEM;
		obj->holders[obj->nholders++] = proc;
	}
	return 0;
}

/* Finds who holds each memfd open: a memfd lives on while any fd to it does. */
static int find_holders(struct ml_pages *pg, struct ml_source *src, const struct ml_scan *scan)
{
	int rc = 0;

	for (size_t i = 0; i < scan->nprocs && rc == 0; i++) {
		struct ml_fd_link *links = NULL;
		size_t n = 0;
		if (ml_source_memfd_links(src, scan->procs[i].pid, &links, &n) < 0)
			continue; /* gone, or not ours to read */
		for (size_t k = 0; k < n && rc == 0; k++)
			rc = add_holder(pg, &links[k].st, (uint32_t)i);
		free(links);
	}
	return rc;
}

static int keep_segment(const struct ml_sysv_shm *seg, void *ctx)
{
	struct ml_pages *pg = ctx;

	if (ml_grow((void **)&pg->sysv, &pg->sysv_cap, pg->nsysv, 1, sizeof(*seg)) < 0)
		return -ENOMEM;
	pg->sysv[pg->nsysv++] = *seg;
	return 0;
}

/* The SysV segments (/proc/sysvipc/shm; none when it cannot be read). */
static int read_sysv(struct ml_pages *pg, struct ml_source *src)
{
	struct ml_buf buf = {0};
	long n = 0;

	if (ml_source_read(src, "sysvipc/shm", &buf) == 0)
		n = ml_parse_sysv_shm(buf.data, buf.len, keep_segment, pg);
	ml_buf_free(&buf);
	return n == -ENOMEM ? -ENOMEM : 0; /* a malformed table: no segments known */
}

/* The index in pg->sysv of segment shmid, or -1. */
static long find_sysv(const struct ml_pages *pg, uint64_t shmid)
{
	for (size_t i = 0; i < pg->nsysv; i++)
		if (pg->sysv[i].shmid == shmid)
			return (long)i;
	return -1;
}

/* Appends an object for each SysV segment that no scanned process maps: its mappers,
 * if any, are hidden (another PID namespace, hidepid) or were not read, so the segment's
 * own SHM_DEST says whether it dies with them. */
static void add_unmapped_segments(struct ml_pages *pg)
{
	for (size_t k = 0; k < pg->nsysv; k++) {
		bool mapped = false;
		for (size_t o = 0; o < pg->nobjects && !mapped; o++)
			mapped = pg->objects[o].sysv == (long)k;
		if (!mapped)
			pg->objects[pg->nobjects++] =
			    (struct shm_object){.size = ml_add(pg->sysv[k].rss, pg->sysv[k].swap),
			                        .length = pg->sysv[k].size,
			                        .sysv = (long)k,
			                        .dies = (pg->sysv[k].mode & 01000) != 0};
	}
}

/* Groups the shmem mappings into objects and decides which die with their mappers. */
static int resolve_objects(struct ml_pages *pg, struct ml_source *src, const struct ml_scan *scan)
{
	bool memfds = false;
	size_t n = 0;

	if (pg->nmaps)
		qsort(pg->maps, pg->nmaps, sizeof(*pg->maps), cmp_shm_map);
	if (read_sysv(pg, src) < 0)
		return -ENOMEM;
	pg->objects = calloc(pg->nmaps + pg->nsysv + 1, sizeof(*pg->objects));
	if (!pg->objects)
		return -ENOMEM;
	for (size_t i = 0, j; i < pg->nmaps; i = j) {
		struct shm_object *obj = &pg->objects[n++];
		const struct shm_map *m = &pg->maps[i];
		for (j = i + 1;
		     j < pg->nmaps && pg->maps[j].inode == m->inode &&
		     pg->maps[j].dev_major == m->dev_major && pg->maps[j].dev_minor == m->dev_minor;
		     j++)
			;
		obj->first = i;
		obj->n = j - i;
		object_size(src, scan, m, j - i, obj);
		obj->sysv = m->kind == ML_KIND_SHMEM_SYSV ? find_sysv(pg, m->inode) : -1;
		if (m->kind == ML_KIND_SHMEM_SYSV) /* SHM_DEST: marked for removal */
			obj->dies = obj->sysv >= 0 && (pg->sysv[obj->sysv].mode & 01000);
		else
			obj->dies = m->kind == ML_KIND_SHMEM_ANON || m->kind == ML_KIND_SHMEM_MEMFD;
		if (obj->sysv >= 0)
			obj->length = pg->sysv[obj->sysv].size;
		memfds |= m->kind == ML_KIND_SHMEM_MEMFD;
	}
	pg->nobjects = n;
	add_unmapped_segments(pg);
	return memfds ? find_holders(pg, src, scan) : 0;
}

/* The scan index of each process's parent, or -1, and its depth: for COW and subtrees. */
static int resolve_parents(struct ml_pages *pg, const struct ml_scan *scan)
{
	pg->parent = malloc((scan->nprocs + 1) * sizeof(long));
	pg->depth = malloc((scan->nprocs + 1) * sizeof(size_t));
	if (!pg->parent || !pg->depth)
		return -ENOMEM;
	return ml_scan_parents(scan, pg->parent, pg->depth);
}

/* Turns the PIDs booked into scan indexes, dropping what the scan did not keep. */
static void index_procs(struct ml_pages *pg, const struct ml_scan *scan)
{
	size_t n = 0;

	for (size_t i = 0; i < pg->nrefs; i++) {
		uint32_t k = index_of(scan, pg->refs[i].proc);
		if (k != NO_SET) {
			pg->refs[n] = pg->refs[i];
			pg->refs[n++].proc = k;
		}
	}
	pg->nrefs = n;
	n = 0;
	for (size_t i = 0; i < pg->nmaps; i++) {
		uint32_t k = index_of(scan, pg->maps[i].proc);
		if (k != NO_SET) {
			pg->maps[n] = pg->maps[i];
			pg->maps[n++].proc = k;
		}
	}
	pg->nmaps = n;
	for (size_t i = 0; i < pg->nbounds; i++)
		pg->bounds[i].proc = index_of(scan, pg->bounds[i].proc);
}

/* Folds the batches of exclusive pages into one record per process of scan (index i
 * holds process i's). Returns 0 or -ENOMEM. */
static int fold_exclusive(struct ml_pages *pg, const struct ml_scan *scan)
{
	struct excl *per = calloc(scan->nprocs + 1, sizeof(*per));

	if (!per)
		return -ENOMEM;
	for (size_t i = 0; i < pg->nexcl; i++) {
		uint32_t k = index_of(scan, pg->excl[i].proc);
		if (k == NO_SET)
			continue;
		per[k].anon += pg->excl[i].anon;
		per[k].file += pg->excl[i].file;
		per[k].shmem += pg->excl[i].shmem;
	}
	free(pg->excl);
	pg->excl = per;
	pg->nexcl = scan->nprocs;
	return 0;
}

/*
 * Which swap areas are zram devices: /proc/swaps lists the areas in the order of their
 * type, the number each swap entry carries. A type past its lines (an area turned off
 * before another was turned on leaves a hole in the numbering) or an unreadable file
 * leaves the split unknown.
 */
static void read_swap_types(struct ml_pages *pg, struct ml_source *src)
{
	struct ml_swap_device areas[32];
	struct ml_buf buf = {0};
	size_t n = 0;

	pg->swap_types_known = ml_source_read(src, "swaps", &buf) == 0;
	if (pg->swap_types_known)
		n = ml_parse_swaps(buf.data, buf.len, areas, 32);
	ml_buf_free(&buf);
	for (size_t t = 0; t < n; t++)
		if (strncmp(areas[t].name, "/dev/zram", 9) == 0)
			pg->zram_types |= 1u << t;
	for (size_t i = 0; i < pg->nrefs; i++)
		if ((pg->refs[i].key & KEY_SWAP) && swap_type(pg->refs[i].key) >= n)
			pg->swap_types_known = false;
}

/* Each booking id's object (the objects are the shmem mappings' devices and inodes), and
 * each process's exclusive shmem pages under its scan index. Returns 0 or -ENOMEM. */
static int resolve_object_keys(struct ml_pages *pg, const struct ml_scan *scan)
{
	pg->obj_of_key = malloc((pg->nokeys + 1) * sizeof(*pg->obj_of_key));
	if (!pg->obj_of_key)
		return -ENOMEM;
	for (size_t i = 0; i < pg->nokeys; i++) {
		const struct obj_key *k = &pg->okeys[i];
		pg->obj_of_key[i] = NO_OBJ;
		for (size_t o = 0; o < pg->nobjects && pg->obj_of_key[i] == NO_OBJ; o++) {
			const struct shm_map *m =
			    pg->objects[o].n ? &pg->maps[pg->objects[o].first] : NULL;
			if (m && m->inode == k->inode && m->dev_major == k->dev_major &&
			    m->dev_minor == k->dev_minor)
				pg->obj_of_key[i] = (uint32_t)o;
		}
	}
	for (size_t i = 0; i < pg->nxshm; i++)
		pg->xshm[i].proc = index_of(scan, pg->xshm[i].proc);
	return 0;
}

#define STACK_SIZE_DEFAULT (16 * 1024) /* THREAD_SIZE on x86-64 and arm64 */

/* The size of a task's kernel stack: KernelStack over the tasks the kernel runs (every
 * task has one, of the same size; tasks: the scan's loadavg count), rounded to whole
 * pages; 16 KiB where they are not known (a capture, a scan of some PIDs). */
static uint64_t stack_size(const struct ml_pages *pg, struct ml_source *src, uint64_t tasks)
{
	struct ml_buf buf = {0};
	uint64_t stacks = 0, size = STACK_SIZE_DEFAULT;

	if (tasks > 0 && ml_source_read(src, "meminfo", &buf) == 0 &&
	    ml_parse_kb_field(buf.data, buf.len, "KernelStack", &stacks) == 0 && stacks > 0)
		size = (stacks / tasks + pg->page / 2) / pg->page * pg->page;
	ml_buf_free(&buf);
	return size ? size : STACK_SIZE_DEFAULT;
}

/* Each process's kernel memory that dies with it: its page tables (VmPTE) and a kernel
 * stack per thread. Unknown where status was not read. Returns 0 or -ENOMEM. */
static int resolve_kernel(struct ml_pages *pg, struct ml_source *src, const struct ml_scan *scan)
{
	uint64_t stack = stack_size(pg, src, scan->tasks);

	pg->kernel = malloc((scan->nprocs + 1) * sizeof(*pg->kernel));
	if (!pg->kernel)
		return -ENOMEM;
	for (size_t i = 0; i < scan->nprocs; i++) {
		const struct ml_status *st = &scan->procs[i].status;
		bool known = (scan->procs[i].have & ML_NEED_STATUS) && st->vm_pte != ML_UNKNOWN &&
		             st->threads != ML_UNKNOWN;
		uint64_t stacks = 0;
		if (known && __builtin_mul_overflow(st->threads, stack, &stacks))
			known =
			    false; /* an impossible thread count: no figure, not a wrapped one */
		pg->kernel[i] = known ? ml_add(st->vm_pte, stacks) : ML_UNKNOWN;
	}
	return 0;
}

int ml_pages_resolve(struct ml_pages *pg, struct ml_source *src, const struct ml_scan *scan)
{
	int rc;

	pg->nprocs = scan->nprocs;
	pg->exact = !pg->no_frames;
	for (size_t i = 0; i < scan->nprocs; i++)
		pg->exact &= !scan->procs[i].pagemap_refused;
	index_procs(pg, scan);
	if (pg->nrefs)
		qsort(pg->refs, pg->nrefs, sizeof(*pg->refs), cmp_ref);
	pg->cow = calloc(scan->nprocs + 1, sizeof(*pg->cow));
	pg->unbooked = calloc(scan->nprocs + 1, sizeof(*pg->unbooked));
	if (!pg->cow || !pg->unbooked || fold_exclusive(pg, scan) < 0)
		return -ENOMEM;
	for (size_t i = 0; i < scan->nprocs; i++)
		pg->unbooked[i] = !(scan->procs[i].have & ML_NEED_SMAPS);
	rc = resolve_parents(pg, scan);
	if (rc == 0)
		read_swap_types(pg, src);
	if (rc == 0)
		rc = resolve_kernel(pg, src, scan);
	if (rc == 0 && pg->exact && resolve_frames(pg, src) < 0)
		pg->exact = false; /* no kpagecount: not root, or a capture */
	if (rc == 0 && pg->exact)
		compute_cow(pg);
	if (rc == 0)
		rc = resolve_objects(pg, src, scan);
	if (rc == 0)
		rc = resolve_object_keys(pg, scan);
	return rc;
}

bool ml_pages_exact(const struct ml_pages *pg)
{
	return pg->exact;
}

uint64_t ml_pages_cow(const struct ml_pages *pg, size_t i)
{
	return i < pg->nprocs && pg->exact && !pg->unbooked[i] ? pg->cow[i] : ML_UNKNOWN;
}

#define U ML_UNKNOWN
const struct ml_freed ml_freed_unknown = {.anon = U,
                                          .swap = U,
                                          .shmem = U,
                                          .kernel = U,
                                          .shared_out = U,
                                          .cache = U,
                                          .shmem_kept = U,
                                          .rss = U,
                                          .uss = U,
                                          .pss = U,
                                          .swap_held = U,
                                          .swap_zram = U};
#undef U

uint64_t ml_freed_total(const struct ml_freed *f)
{
	return ml_add(ml_add(ml_add(f->anon, f->swap), f->shmem), f->kernel);
}

/* Where a group of refs (one frame or one swap slot) goes: the set every holder is in
 * (for a tree: the nearest common ancestor), or NO_SET. */
typedef uint32_t (*owner_fn)(const struct ml_pages *pg, const uint32_t *procs, size_t n,
                             const void *ctx);

static uint32_t partition_owner(const struct ml_pages *pg, const uint32_t *procs, size_t n,
                                const void *ctx)
{
	const uint32_t *set_of = ctx;
	uint32_t s = set_of[procs[0]];

	(void)pg;
	for (size_t k = 1; k < n; k++)
		if (set_of[procs[k]] != s)
			return NO_SET;
	return s;
}

static uint32_t tree_owner(const struct ml_pages *pg, const uint32_t *procs, size_t n,
                           const void *ctx)
{
	const long *parent = pg->parent;
	long a = procs[0];
	size_t da = pg->depth[a];

	(void)ctx;
	for (size_t k = 1; k < n && a >= 0; k++) {
		long b = procs[k];
		size_t db = pg->depth[b];
		for (; db > da; db--)
			b = parent[b];
		for (; da > db; da--)
			a = parent[a];
		while (a != b && a >= 0 && b >= 0) {
			a = parent[a];
			b = parent[b];
			da--;
		}
		if (a != b)
			return NO_SET;
	}
	return a < 0 ? NO_SET : (uint32_t)a;
}

/* A kill sequence's: the place of the last of the holders to die, or NO_SET while one of
 * them never does. */
static uint32_t order_owner(const struct ml_pages *pg, const uint32_t *procs, size_t n,
                            const void *ctx)
{
	const uint32_t *rank = ctx;
	uint32_t last = 0;

	(void)pg;
	for (size_t k = 0; k < n; k++) {
		if (rank[procs[k]] == UINT32_MAX)
			return NO_SET;
		last = rank[procs[k]] > last ? rank[procs[k]] : last;
	}
	return last;
}

/* What freed_exact keeps per set of a partition while it walks the pages. */
struct set_walk {
	const uint32_t *set_of;
	size_t *stamp;           /* per set: the last group of refs it was seen in, plus one */
	uint64_t *pss_fp;        /* per set: Σ page / map count, in 1/4096ths of a byte */
	const uint32_t *obj_set; /* per shmem object: the set all its mappers and holders are in */
};

/* True when a shmem page of booking id key that set s alone maps is booked with its whole
 * object (s holds the object alone: it dies with s, or persists); false when the object
 * is others' too, so that the page stays with them. */
static bool object_is_sets(const struct ml_pages *pg, const struct set_walk *w, uint32_t key,
                           uint32_t s)
{
	uint32_t o = key == NO_OBJ || key == REF_NO_OBJ ? NO_OBJ : pg->obj_of_key[key];

	return o != NO_OBJ && w->obj_set[o] == s;
}

#define PSS_SHIFT 12 /* as the kernel's smaps adds up PSS */

/* Books one group of refs (a frame, or with count 0 a swap slot) to each set of a
 * partition that its holders belong to: PSS, distinct RSS or swap, USS and what stays.
 * owner is the set every holder is in, or NO_SET. */
static void add_to_sets(const struct ml_pages *pg, struct set_walk *w, size_t group,
                        const uint32_t *procs, size_t n, uint32_t owner, uint64_t count,
                        uint64_t flags, const struct ref *r, struct ml_freed *out)
{
	bool swap = count == 0, inside = owner != NO_SET && count <= n;
	bool zram = swap && (pg->zram_types >> swap_type(r->key) & 1);
	uint8_t kind = r->kind;

	for (size_t k = 0; k < n; k++) {
		uint32_t s = w->set_of[procs[k]];
		struct ml_freed *f;
		if (s == NO_SET)
			continue;
		f = &out[s];
		if (!swap)
			w->pss_fp[s] += (pg->page << PSS_SHIFT) / count;
		if (w->stamp[s] == group + 1)
			continue; /* the set's first holder booked the page */
		w->stamp[s] = group + 1;
		if (swap) {
			f->swap_held += pg->page;
			if (zram)
				f->swap_zram += f->swap_zram != ML_UNKNOWN ? pg->page : 0;
			continue;
		}
		f->rss += pg->page;
		if (inside) {
			f->uss += pg->page;
			if (!flag(flags, KPF_ANON) && !ml_kind_is_shmem((enum ml_kind)kind))
				f->cache += pg->page;
			else if (!flag(flags, KPF_ANON) && !object_is_sets(pg, w, r->obj, s))
				f->shmem_kept += pg->page; /* its object lives on in others */
		} else if (flag(flags, KPF_ANON))
			f->shared_out += pg->page;
		else if (ml_kind_is_shmem((enum ml_kind)kind))
			f->shmem_kept += pg->page;
		else
			f->cache += pg->page;
	}
}

/* For a tree: the owner's share of a page that stays (mapped outside its subtree). */
static void add_staying(const struct ml_pages *pg, uint32_t owner, struct ml_freed *out,
                        uint64_t flags, uint8_t kind)
{
	if (owner == NO_SET)
		return;
	if (flag(flags, KPF_ANON))
		out[owner].shared_out += pg->page;
	else if (ml_kind_is_shmem((enum ml_kind)kind))
		out[owner].shmem_kept += pg->page;
	else
		out[owner].cache += pg->page;
}

/* The refs of group [i, end) (one frame or swap slot), as process indexes in *procs. */
static int group_procs(const struct ml_pages *pg, size_t i, size_t end, uint32_t **procs,
                       size_t *cap)
{
	size_t n = end - i;

	if (n > *cap) {
		uint32_t *more = realloc(*procs, 2 * n * sizeof(**procs));
		if (!more)
			return -ENOMEM;
		*procs = more;
		*cap = 2 * n;
	}
	for (size_t k = 0; k < n; k++)
		(*procs)[k] = pg->refs[i + k].proc;
	return 0;
}

/* Books the groups of refs to their owners: the exact FREED, and with a partition w
 * (else NULL) each set's own pages. */
static int freed_exact(const struct ml_pages *pg, owner_fn owner, const void *ctx,
                       struct set_walk *w, struct ml_freed *out)
{
	size_t frame = 0, cap = 64, group = 0;
	uint32_t *procs = malloc(cap * sizeof(*procs));

	if (!procs)
		return -ENOMEM;
	for (size_t i = 0, end; i < pg->nrefs; i = end, group++) {
		const struct ref *r = &pg->refs[i];
		uint64_t count = 0, flags = 0;
		bool swap = r->key & KEY_SWAP;
		uint32_t s;
		end = group_end(pg, i);
		if (group_procs(pg, i, end, &procs, &cap) < 0) {
			free(procs);
			return -ENOMEM;
		}
		if (!swap) {
			count = pg->counts[frame];
			flags = pg->flags[frame++];
			if (flag(flags, KPF_ZERO_PAGE) || flag(flags, KPF_HUGE))
				continue;
			/* Neither anonymous nor a file's: the zero page, or memory mapped by frame
			 * number ([vvar], a device) that has no page to count, as smaps counts
			 * none. */
			if (!flag(flags, KPF_ANON) && !r->file)
				continue;
			if (count == 0) /* unmapped since pagemap was read */
				count = end - i;
		}
		s = owner(pg, procs, end - i, ctx);
		if (w)
			add_to_sets(pg, w, group, procs, end - i, s, count, flags, r, out);
		if (swap) {
			if (s != NO_SET)
				out[s].swap += pg->page;
		} else if (s != NO_SET && count <= end - i) { /* every mapping is inside */
			if (flag(flags, KPF_ANON))
				out[s].anon += pg->page;
			else if (!w && !ml_kind_is_shmem((enum ml_kind)r->kind))
				out[s].cache += pg->page; /* a shmem page: its object decides */
		} else if (!w) {
			add_staying(pg, s, out, flags, r->kind);
		}
	}
	free(procs);
	return 0;
}

/*
 * Books each process's exclusive pages (mapped once: by it alone) to its owner, as
 * freed_exact books a frame of map count 1: anonymous ones are freed, file ones stay in
 * the page cache, shmem ones go with their object; with a partition w, each is also the
 * set's own (RSS, USS, a whole page of PSS).
 */
static void freed_exclusive(const struct ml_pages *pg, owner_fn owner, const void *ctx,
                            struct set_walk *w, struct ml_freed *out)
{
	for (uint32_t i = 0; i < pg->nexcl; i++) {
		const struct excl *x = &pg->excl[i];
		uint64_t pages = x->anon + x->file + x->shmem;
		uint32_t s = pages ? owner(pg, &i, 1, ctx) : NO_SET;
		if (s == NO_SET)
			continue;
		out[s].anon += x->anon * pg->page;
		out[s].cache += x->file * pg->page;
		if (!w)
			continue;
		out[s].rss += pages * pg->page;
		out[s].uss += pages * pg->page;
		w->pss_fp[s] += (pages * pg->page) << PSS_SHIFT;
	}
	for (size_t i = 0; w && i < pg->nxshm; i++) { /* shmem pages of objects others hold */
		const struct xshm *x = &pg->xshm[i];
		uint32_t s = x->proc == NO_SET ? NO_SET : owner(pg, &x->proc, 1, ctx);
		if (s != NO_SET && !object_is_sets(pg, w, x->obj, s))
			out[s].shmem_kept += x->pages * pg->page;
	}
}

/* Books the smaps-based lower bounds of each process to its owner. */
static void freed_bounds(const struct ml_pages *pg, owner_fn owner, const void *ctx,
                         struct ml_freed *out)
{
	for (size_t i = 0; i < pg->nbounds; i++) {
		uint32_t proc = pg->bounds[i].proc, s;
		if (proc == NO_SET || (s = owner(pg, &proc, 1, ctx)) == NO_SET)
			continue;
		out[s].anon += pg->bounds[i].anon;
		out[s].swap += pg->bounds[i].swap;
	}
}

/*
 * Books each shmem object that all of whose mappers and holders one owner holds: to what it
 * frees when it dies with them, else (a /dev/shm or tmpfs file, a live SysV segment) to what
 * stays. (An object others also map is booked page by page, as staying.)
 */
static void freed_objects(const struct ml_pages *pg, const uint32_t *obj_set, struct ml_freed *out)
{
	for (size_t o = 0; o < pg->nobjects; o++) {
		const struct shm_object *obj = &pg->objects[o];
		uint32_t s = obj_set[o];
		if (obj->dies && s != NO_SET)
			out[s].shmem = ml_add(out[s].shmem, obj->size);
		else if (s != NO_SET && out[s].exact)
			out[s].shmem_kept = ml_add(out[s].shmem_kept, obj->size);
	}
}

/* The owner (owner()) of each shmem object, from all its mappers and holders, into
 * obj_set; NO_SET for a SysV segment no one maps (it persists). Returns 0 or -ENOMEM. */
static int object_owners(const struct ml_pages *pg, owner_fn owner, const void *ctx,
                         uint32_t *obj_set)
{
	for (size_t o = 0; o < pg->nobjects; o++) {
		const struct shm_object *obj = &pg->objects[o];
		size_t n = obj->n + obj->nholders;
		uint32_t *procs;
		obj_set[o] = NO_SET;
		if (obj->n == 0)
			continue;
		procs = malloc(n * sizeof(*procs));
		if (!procs)
			return -ENOMEM;
		for (size_t k = 0; k < obj->n; k++)
			procs[k] = pg->maps[obj->first + k].proc;
		if (obj->nholders)
			memcpy(procs + obj->n, obj->holders, obj->nholders * sizeof(*procs));
		obj_set[o] = owner(pg, procs, n, ctx);
		free(procs);
	}
	return 0;
}

/* FREED for the owners that owner() gives; with set_of, each set's own pages too. */
static int freed(const struct ml_pages *pg, owner_fn owner, const void *ctx, const uint32_t *set_of,
                 size_t nsets, struct ml_freed *out)
{
	uint32_t *obj_set = malloc((pg->nobjects + 1) * sizeof(*obj_set));
	struct set_walk w = {set_of, NULL, NULL, obj_set};
	int rc = obj_set ? object_owners(pg, owner, ctx, obj_set) : -ENOMEM;

	for (size_t s = 0; s < nsets; s++) {
		out[s] = (struct ml_freed){.exact = pg->exact};
		if (!pg->exact || !set_of) /* smaps cannot tell; a tree does not say */
			out[s].rss = out[s].uss = out[s].pss = out[s].swap_held = ML_UNKNOWN;
		out[s].swap_zram =
		    out[s].swap_held == ML_UNKNOWN || !pg->swap_types_known ? ML_UNKNOWN : 0;
		if (!pg->exact)
			out[s].shared_out = out[s].cache = out[s].shmem_kept = ML_UNKNOWN;
	}
	if (pg->exact && set_of) {
		w.stamp = calloc(nsets + 1, sizeof(*w.stamp));
		w.pss_fp = calloc(nsets + 1, sizeof(*w.pss_fp));
		rc = rc < 0 || !w.stamp || !w.pss_fp ? -ENOMEM : 0;
	}
	if (rc == 0 && pg->exact)
		rc = freed_exact(pg, owner, ctx, set_of ? &w : NULL, out);
	if (rc == 0 && pg->exact)
		freed_exclusive(pg, owner, ctx, set_of ? &w : NULL, out);
	else if (rc == 0)
		freed_bounds(pg, owner, ctx, out);
	for (size_t s = 0; rc == 0 && w.pss_fp && s < nsets; s++)
		out[s].pss = w.pss_fp[s] >> PSS_SHIFT;
	free(w.stamp);
	free(w.pss_fp);
	if (rc == 0)
		freed_objects(pg, obj_set, out);
	free(obj_set);
	for (uint32_t i = 0; rc == 0 && i < pg->nprocs; i++) { /* its kernel memory dies */
		uint32_t s = owner(pg, &i, 1, ctx);
		if (s != NO_SET)
			out[s].kernel = ml_add(out[s].kernel, pg->kernel[i]);
	}
	for (uint32_t i = 0; rc == 0 && i < pg->nprocs; i++) { /* a member's pages unbooked */
		uint32_t set = owner(pg, &i, 1, ctx);          /* its set, subtree or place */
		if (pg->unbooked[i] && set != NO_SET && set < nsets)
			out[set].anon = out[set].swap = out[set].shmem = ML_UNKNOWN;
	}
	return rc;
}

int ml_pages_freed(const struct ml_pages *pg, const uint32_t *set_of, size_t nsets,
                   struct ml_freed *out)
{
	return freed(pg, partition_owner, set_of, set_of, nsets, out);
}

int ml_pages_freed_order(const struct ml_pages *pg, const uint32_t *rank, size_t nranks,
                         struct ml_freed *out)
{
	return freed(pg, order_owner, rank, NULL, nranks, out);
}

int ml_pages_freed_tree(const struct ml_pages *pg, struct ml_freed *out)
{
	const long *parent = pg->parent;
	size_t n = pg->nprocs, *order = malloc((n + 1) * sizeof(*order));
	int rc = order ? freed(pg, tree_owner, NULL, NULL, n, out) : -ENOMEM;

	if (rc == 0)
		rc = ml_order_deepest_first(pg->depth, n, order);
	if (rc < 0) {
		free(order);
		return rc;
	}
	/* What a process owns, each of its ancestors' subtrees frees too: add each to its
	 * parent, deepest first. */
	for (size_t k = 0; k < n; k++) {
		size_t i = order[k];
		struct ml_freed *f = &out[i], *p;
		if (parent[i] < 0)
			continue;
		p = &out[parent[i]];
		p->anon = ml_add(p->anon, f->anon);
		p->swap = ml_add(p->swap, f->swap);
		p->shmem = ml_add(p->shmem, f->shmem);
		p->kernel = ml_add(p->kernel, f->kernel);
	}
	free(order);
	return 0;
}

size_t ml_pages_shm_count(const struct ml_pages *pg)
{
	return pg->nobjects;
}

/* Σ over process proc's mappings of obj (from k on: the maps are sorted by process) of
 * field: Pss, or Rss with rss. */
static uint64_t mapper_sum(const struct shm_map *m, size_t k, size_t n, bool rss)
{
	uint64_t v = 0;

	for (size_t q = k; q < n && m[q].proc == m[k].proc; q++)
		v = ml_add(v, rss ? m[q].rss : m[q].pss);
	return v;
}

/* True when process i descends from process top (or is it), by the parents the page
 * ledger took from the scan (ml_scan_parents: no cycle). */
static bool descends(const struct ml_pages *pg, long i, long top)
{
	for (; i >= 0; i = pg->parent[i])
		if (i == top)
			return true;
	return false;
}

/*
 * The ancestor obj was inherited from through fork: the oldest of its mappers when every
 * other one descends from it (PostgreSQL's postmaster and its backends, a pre-forking
 * server's master and workers); -1 when one mapper is unrelated to it (a memfd sent over
 * a socket to a sibling: the canvas) or it has one mapper alone.
 */
static long fork_ancestor(const struct ml_pages *pg, const struct shm_map *m, size_t n,
                          const struct ml_scan *scan)
{
	long oldest = -1;
	size_t procs = 0;

	for (size_t k = 0; k < n; k++) {
		uint32_t proc = m[k].proc;
		procs += k == 0 || proc != m[k - 1].proc;
		if (oldest < 0 ||
		    scan->procs[proc].stat.starttime < scan->procs[oldest].stat.starttime ||
		    (scan->procs[proc].stat.starttime == scan->procs[oldest].stat.starttime &&
		     (long)proc < oldest))
			oldest = (long)proc;
	}
	if (procs < 2)
		return -1;
	for (size_t k = 0; k < n; k++)
		if (!descends(pg, m[k].proc, oldest))
			return -1;
	return oldest;
}

/*
 * The owner of object obj under policy: a scan index, or -1 when none of its mappers
 * (nor its SysV creator) was scanned. The mapper with the largest figure wins: its PSS
 * of the object (largest), its resident pages of it (resident; ties to the oldest), or
 * how early it started (oldest, creator's fallback); further ties to the lowest PID.
 */
static long shm_owner(const struct ml_pages *pg, const struct ml_scan *scan,
                      const struct shm_object *obj, enum ml_owner policy)
{
	const struct shm_map *m = obj->n ? &pg->maps[obj->first] : NULL;
	long best = -1;
	uint64_t best_v = 0, best_age = 0;

	if ((policy == ML_OWNER_CREATOR || policy == ML_OWNER_RESIDENT) && obj->sysv >= 0) {
		long i = ml_scan_find(scan, pg->sysv[obj->sysv].cpid);
		if (i >= 0)
			return i; /* the creator, alive */
	}
	if (policy == ML_OWNER_RESIDENT && (best = fork_ancestor(pg, m, obj->n, scan)) >= 0)
		return best; /* shared through fork: the ancestor that mapped it */
	for (size_t k = 0; k < obj->n; k++) {
		uint32_t proc = m[k].proc;
		uint64_t age = UINT64_MAX - scan->procs[proc].stat.starttime; /* older: larger */
		uint64_t v = policy == ML_OWNER_LARGEST    ? mapper_sum(m, k, obj->n, false)
		             : policy == ML_OWNER_RESIDENT ? mapper_sum(m, k, obj->n, true)
		                                           : age;
		if (v == ML_UNKNOWN)
			v = 0;
		if (best < 0 || v > best_v ||
		    (v == best_v && (age > best_age || (age == best_age && (long)proc < best)))) {
			best = (long)proc;
			best_v = v;
			best_age = age;
		}
	}
	return best;
}

void ml_pages_shm_info(const struct ml_pages *pg, const struct ml_scan *scan, size_t o,
                       enum ml_owner policy, struct ml_shm_info *out)
{
	const struct shm_object *obj = &pg->objects[o];
	const struct shm_map *m = obj->n ? &pg->maps[obj->first] : NULL;
	const struct ml_sysv_shm *seg = obj->sysv >= 0 ? &pg->sysv[obj->sysv] : NULL;

	*out = (struct ml_shm_info){.kind = m ? (enum ml_kind)m->kind : ML_KIND_SHMEM_SYSV,
	                            .name = m ? m->name : NULL,
	                            .dev_major = m ? m->dev_major : 0,
	                            .dev_minor = m ? m->dev_minor : 0,
	                            .inode = m ? m->inode : seg->shmid,
	                            .length = obj->length,
	                            .resident = m ? 0 : seg->rss,
	                            .swap = m ? 0 : seg->swap,
	                            .owner = shm_owner(pg, scan, obj, policy),
	                            .persists = !obj->dies,
	                            .sysv_key = seg ? seg->key : 0,
	                            .sysv = seg != NULL};
	for (size_t k = 0; k < obj->n; k++) {
		out->resident = ml_add(out->resident, m[k].pss);
		out->swap = ml_add(out->swap, m[k].swap_pss);
		out->mappers += k == 0 || m[k].proc != m[k - 1].proc;
	}
	if (!m && seg->nattch != ML_UNKNOWN)
		out->mappers =
		    (size_t)seg->nattch; /* none visible: the kernel's count of attaches */
}

size_t ml_pages_owned(const struct ml_pages *pg, const struct ml_scan *scan, enum ml_owner policy,
                      uint64_t *owned)
{
	size_t contradictions = 0;

	for (size_t i = 0; i < scan->nprocs; i++)
		owned[i] = ml_proc_metric(&scan->procs[i], ML_PSS);
	for (size_t o = 0; o < pg->nobjects; o++) {
		const struct shm_object *obj = &pg->objects[o];
		const struct shm_map *m = obj->n ? &pg->maps[obj->first] : NULL;
		long owner = shm_owner(pg, scan, obj, policy);
		if (owner < 0 || owned[owner] == ML_UNKNOWN)
			continue;
		for (size_t k = 0; k < obj->n; k++) {
			uint64_t *from = &owned[m[k].proc];
			if (*from == ML_UNKNOWN || m[k].pss == ML_UNKNOWN)
				continue;       /* a PSS that is unknown: nothing to move */
			if (m[k].pss > *from) { /* smaps holds more than smaps_rollup: no figure */
				*from = ML_UNKNOWN;
				contradictions++;
			} else {
				*from -= m[k].pss;
			}
			owned[owner] = ml_add(owned[owner], m[k].pss);
		}
	}
	return contradictions;
}

/* Adds user i (a scan index) of an object to k: inside the set or a keeper outside (each
 * once). */
static void add_user(struct ml_kept_object *k, uint32_t i, bool inside, bool *in, bool *out)
{
	if (inside) {
		*in = true;
		return;
	}
	*out = true;
	for (size_t j = 0; j < k->nkeepers; j++)
		if (k->keepers[j] == i)
			return;
	if (k->nkeepers < ML_KEPT_MAX)
		k->keepers[k->nkeepers++] = i;
	else
		k->more_keepers = true;
}

long ml_pages_kept_objects(const struct ml_pages *pg, const uint32_t *set_of, uint32_t set,
                           struct ml_kept_object **out)
{
	size_t n = 0;

	*out = calloc(pg->nobjects + 1, sizeof(**out));
	if (!*out)
		return -ENOMEM;
	for (size_t o = 0; o < pg->nobjects; o++) {
		const struct shm_object *obj = &pg->objects[o];
		struct ml_kept_object *k = &(*out)[n];
		bool inside = false, outside = false;
		if (!obj->dies || obj->n == 0)
			continue; /* it outlives every mapper: nothing more to free */
		for (size_t q = 0; q < obj->n; q++) { /* its mappers, then who holds it open */
			uint32_t i = pg->maps[obj->first + q].proc;
			add_user(k, i, set_of[i] == set, &inside, &outside);
		}
		for (size_t q = 0; q < obj->nholders; q++)
			add_user(k, obj->holders[q], set_of[obj->holders[q]] == set, &inside,
			         &outside);
		if (!inside || !outside) {
			*k = (struct ml_kept_object){0};
			continue;
		}
		k->object = o;
		k->size = obj->size;
		n++;
	}
	return (long)n;
}
