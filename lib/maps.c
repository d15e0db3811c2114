/* A process's mappings: read, classified by kind, and summarised. */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "memledger/maps.h"
#include "memledger/system.h"
#include "util.h"

static const char *const kind_names[ML_KIND_COUNT] = {
    [ML_KIND_CODE] = "code",
    [ML_KIND_RODATA] = "rodata",
    [ML_KIND_DATA] = "data",
    [ML_KIND_HEAP] = "heap",
    [ML_KIND_STACK] = "stack",
    [ML_KIND_ANON] = "anon",
    [ML_KIND_SHMEM_SYSV] = "shmem:sysv",
    [ML_KIND_SHMEM_MEMFD] = "shmem:memfd",
    [ML_KIND_SHMEM_POSIX] = "shmem:posix",
    [ML_KIND_SHMEM_ANON] = "shmem:shared-anon",
    [ML_KIND_FILE_SHARED] = "file-shared",
    [ML_KIND_GUARD] = "guard",
    [ML_KIND_SPECIAL] = "special",
    [ML_KIND_HUGETLB] = "hugetlb",
    [ML_KIND_DEVICE] = "device",
};

const char *ml_kind_name(enum ml_kind k)
{
	return (unsigned)k < ML_KIND_COUNT ? kind_names[k] : "?";
}

bool ml_kind_is_shmem(enum ml_kind k)
{
	return k == ML_KIND_SHMEM_SYSV || k == ML_KIND_SHMEM_MEMFD || k == ML_KIND_SHMEM_POSIX ||
	       k == ML_KIND_SHMEM_ANON;
}

bool ml_reserved(enum ml_kind k, const char *name, const struct ml_mem *mem)
{
	return name[0] == '\0' &&
	       (k == ML_KIND_GUARD ||
	        (k == ML_KIND_ANON && mem->v[ML_MEM_RSS] == 0 &&
	         (mem->v[ML_MEM_SWAP] == 0 || mem->v[ML_MEM_SWAP] == ML_UNKNOWN)));
}

static bool starts(const char *s, const char *prefix)
{
	return strncmp(s, prefix, strlen(prefix)) == 0;
}

/* The kind of a mapping named from a path or a bracketed tag; -1 when the name says nothing. */
static int kind_of_name(const char *name, bool shared)
{
	if (!name[0])
		return -1; /* most mappings of a large process: no name to look at */
	if (starts(name, "[vdso]") || starts(name, "[vvar") || starts(name, "[vsyscall]") ||
	    starts(name, "[uprobes]"))
		return ML_KIND_SPECIAL;
	if (starts(name, "[heap]"))
		return ML_KIND_HEAP;
	if (starts(name, "[stack"))
		return ML_KIND_STACK;
	if (starts(name, "[anon_shmem:"))
		return ML_KIND_SHMEM_ANON;
	if (starts(name, "/SYSV"))
		return ML_KIND_SHMEM_SYSV;
	if (starts(name, "/memfd:"))
		return ML_KIND_SHMEM_MEMFD;
	if (starts(name, "/dev/shm/"))
		return ML_KIND_SHMEM_POSIX;
	if (starts(name, "/dev/zero") || starts(name, "/dev/ashmem"))
		return shared ? ML_KIND_SHMEM_ANON : ML_KIND_ANON;
	if (starts(name, "/dev/") || starts(name, "/dmabuf") || strstr(name, "dmabuf") ||
	    strstr(name, "/dri/"))
		return ML_KIND_DEVICE;
	return -1;
}

enum ml_kind ml_mapping_kind(const struct ml_mapping *m)
{
	bool shared = m->perms[3] == 's';
	int k;

	if (ml_mapping_has_flag(m, "ht"))
		return ML_KIND_HUGETLB;
	if (m->perms[0] == '-' && m->perms[1] == '-' && m->perms[2] == '-')
		return ML_KIND_GUARD;
	k = kind_of_name(m->name, shared);
	if (k >= 0)
		return (enum ml_kind)k;
	if (m->name[0] == '/' || m->inode != 0) {
		if (shared)
			return ML_KIND_FILE_SHARED;
		if (m->perms[2] == 'x')
			return ML_KIND_CODE;
		return m->perms[1] == 'w' ? ML_KIND_DATA : ML_KIND_RODATA;
	}
	return ML_KIND_ANON; /* "", [anon:NAME] */
}

/* A block of the names and flags of a process's mappings: one malloc per 64 KiB of
 * text, not two per mapping. */
struct ml_text_block {
	struct ml_text_block *next;
	size_t used, size;
	char data[];
};

#define ARENA_SIZE (64ull << 20) /* glibc's HEAP_MAX_SIZE on 64-bit */

static bool is_plain_anon(const char *perms, uint64_t inode, const char *name, const char *want)
{
	return inode == 0 && name[0] == '\0' && strncmp(perms, want, 4) == 0;
}

bool ml_arena_head(uint64_t start, const char *perms, uint64_t inode, const char *name)
{
	return start % ARENA_SIZE == 0 && is_plain_anon(perms, inode, name, "rw-p");
}

bool ml_arena_tail(uint64_t head_start, uint64_t head_end, uint64_t start, uint64_t end,
                   const char *perms, uint64_t inode, const char *name)
{
	return start == head_end && end - head_start == ARENA_SIZE &&
	       is_plain_anon(perms, inode, name, "---p");
}

/* True when m, followed by tail, is a glibc malloc arena. */
static bool is_arena(const struct ml_map *m, const struct ml_map *tail)
{
	return ml_arena_head(m->start, m->perms, m->inode, m->name) &&
	       ml_arena_tail(m->start, m->end, tail->start, tail->end, tail->perms, tail->inode,
	                     tail->name);
}

/* What ml_maps_read_each hands each mapping to: a window of the last two mappings read,
 * for the mapping before is settled (an arena head or not, the header of an ELF file or
 * not) only once the next is known. */
struct ml_maps_window {
	struct ml_map win[2];
	char names[2][ML_NAME_MAX], vmflags[2][ML_VMFLAGS_MAX];
	long count; /* mappings read */
	struct ml_category_ctx cat;
	ml_map_fn fn;
	void *ctx;
};

/* The parts of m its category needs. */
static void category_in(const struct ml_map *m, struct ml_category_in *in)
{
	*in = (struct ml_category_in){.start = m->start,
	                              .end = m->end,
	                              .offset = m->offset,
	                              .inode = m->inode,
	                              .dev_major = m->dev_major,
	                              .dev_minor = m->dev_minor,
	                              .perms = m->perms,
	                              .name = m->name,
	                              .mem = &m->mem,
	                              .heap = m->kind == ML_KIND_HEAP,
	                              .shared = m->perms[3] == 's',
	                              .kind = (int)m->kind};
}

/* Settles the kind and category of the mapping before the one just read (next; NULL at
 * the end) and hands it on. */
static int settle(struct ml_maps_window *r, struct ml_map *m, const struct ml_map *next)
{
	struct ml_category_in in, next_in;

	if (next && is_arena(m, next))
		m->kind = ML_KIND_HEAP;
	category_in(m, &in);
	if (next)
		category_in(next, &next_in);
	ml_category_of(&r->cat, &in, next ? &next_in : NULL, &m->cat);
	return r->fn(m, r->ctx);
}

struct ml_maps_window *ml_maps_window_new(ml_map_fn fn, void *ctx)
{
	struct ml_maps_window *w = malloc(sizeof(*w)); /* 9 KiB of names: not on the stack */

	if (!w)
		return NULL;
	w->count = 0;
	memset(&w->cat, 0, sizeof(w->cat));
	w->fn = fn;
	w->ctx = ctx;
	return w;
}

int ml_maps_window_add(const struct ml_mapping *m, void *ctx)
{
	struct ml_maps_window *r = ctx;
	unsigned slot = (unsigned)(r->count & 1);
	struct ml_map *d = &r->win[slot];
	size_t flags_len = strlen(m->vmflags);

	*d = (struct ml_map){.start = m->start,
	                     .end = m->end,
	                     .offset = m->offset,
	                     .inode = m->inode,
	                     .dev_major = m->dev_major,
	                     .dev_minor = m->dev_minor,
	                     .mem = m->mem,
	                     .kind = ml_mapping_kind(m),
	                     .name = r->names[slot],
	                     .vmflags = r->vmflags[slot]};
	memcpy(d->perms, m->perms, sizeof(d->perms));
	d->mem.v[ML_MEM_SIZE] = m->end - m->start;
	memcpy(r->names[slot], m->name, m->name_len + 1); /* the parser keeps it NUL-ended */
	memcpy(r->vmflags[slot], m->vmflags, flags_len + 1);
	return r->count++ ? settle(r, &r->win[slot ^ 1], d) : 0;
}

long ml_maps_window_end(struct ml_maps_window *w)
{
	long n = w->count;
	int rc = n ? settle(w, &w->win[(n - 1) & 1], NULL) : 0;

	w->count = 0;
	memset(&w->cat, 0, sizeof(w->cat));
	return rc < 0 ? rc : n;
}

void ml_maps_window_reset(struct ml_maps_window *w)
{
	w->count = 0;
	memset(&w->cat, 0, sizeof(w->cat));
}

void ml_maps_window_free(struct ml_maps_window *w)
{
	free(w);
}

#define EXEC_RETRIES 32 /* reads of an empty smaps of a live process, after the first */

/* Reads pid's smaps once into r's window. Returns as ml_maps_read_each. */
static long read_smaps_once(struct ml_source *src, pid_t pid, struct ml_maps_window *r,
                            struct ml_buf *buf)
{
	int dirfd = ml_source_open_pid(src, pid), fd;
	long n;

	if (dirfd < 0)
		return dirfd == -ENOENT ? -ESRCH : dirfd;
	fd = ml_source_open_at(src, dirfd, "smaps");
	close(dirfd);
	if (fd < 0)
		return fd == -ENOENT && ml_source_is_procfs(src) ? -ESRCH : fd;
	ml_maps_window_reset(r);
	n = ml_read_smaps_ahead(fd, buf, ml_maps_window_add, r);
	close(fd);
	if (n < 0)
		return n;
	return ml_maps_window_end(r);
}

long ml_maps_read_each(struct ml_source *src, pid_t pid, ml_map_fn fn, void *ctx)
{
	struct ml_maps_window *r = ml_maps_window_new(fn, ctx);
	struct ml_buf buf = {0};
	long n;

	if (!r)
		return -ENOMEM;
	n = read_smaps_once(src, pid, r, &buf);
	/* A live process in the middle of exec() shows an empty smaps: the address space
	 * it had when the file was opened is gone by the first read. One that exec()s in a
	 * loop does so again and again: more tries, each opened afresh (a busy machine
	 * widens the window between the open and the first read). */
	for (int retry = 0; n == 0 && retry < EXEC_RETRIES && ml_source_is_procfs(src); retry++)
		n = read_smaps_once(src, pid, r, &buf);
	ml_buf_free(&buf);
	ml_maps_window_free(r);
	return n;
}

/* A copy of s[0..len) and a NUL in the maps' text blocks; NULL when out of memory. */
static const char *keep_text(struct ml_maps *maps, const char *s, size_t len)
{
	struct ml_text_block *b = maps->text;
	char *d;

	if (!b || b->size - b->used < len + 1) {
		size_t size = len + 1 > 65536 ? len + 1 : 65536;
		b = malloc(sizeof(*b) + size);
		if (!b)
			return NULL;
		*b = (struct ml_text_block){.next = maps->text, .size = size};
		maps->text = b;
	}
	d = b->data + b->used;
	memcpy(d, s, len);
	d[len] = '\0';
	b->used += len + 1;
	return d;
}

/* Appends one settled mapping to the list (an ml_map_fn). */
static int keep_map(const struct ml_map *m, void *ctx)
{
	struct ml_maps *maps = ctx;
	struct ml_map *d;

	if (ml_grow((void **)&maps->v, &maps->cap, maps->n, 1, sizeof(*maps->v)) < 0)
		return -ENOMEM;
	d = &maps->v[maps->n];
	*d = *m;
	d->name = keep_text(maps, m->name, strlen(m->name));
	d->vmflags = keep_text(maps, m->vmflags, strlen(m->vmflags));
	if (!d->name || !d->vmflags)
		return -ENOMEM;
	maps->n++;
	return 0;
}

int ml_maps_read(struct ml_source *src, pid_t pid, struct ml_maps *out)
{
	long n;

	memset(out, 0, sizeof(*out));
	out->pid = pid;
	n = ml_maps_read_each(src, pid, keep_map, out);
	return n < 0 ? (int)n : 0;
}

void ml_maps_free(struct ml_maps *maps)
{
	while (maps->text) {
		struct ml_text_block *next = maps->text->next;
		free(maps->text);
		maps->text = next;
	}
	free(maps->v);
	memset(maps, 0, sizeof(*maps));
}

uint64_t ml_map_commit(const struct ml_map *m)
{
	if (m->vmflags[0] == '\0')
		return ML_UNKNOWN;
	return ml_vmflags_has(m->vmflags, "ac") ? m->end - m->start : 0;
}

static const char *const backing_names[ML_BACKING_COUNT] = {"anonymous", "file", "shmem", "other"};

const char *ml_backing_name(enum ml_backing b)
{
	return (unsigned)b < ML_BACKING_COUNT ? backing_names[b] : "?";
}

static enum ml_backing backing_of(enum ml_kind k)
{
	switch (k) {
	case ML_KIND_CODE:
	case ML_KIND_RODATA:
	case ML_KIND_DATA:
	case ML_KIND_FILE_SHARED: return ML_BACKING_FILE;
	case ML_KIND_HEAP:
	case ML_KIND_STACK:
	case ML_KIND_ANON:
	case ML_KIND_GUARD: return ML_BACKING_ANON;
	case ML_KIND_SHMEM_SYSV:
	case ML_KIND_SHMEM_MEMFD:
	case ML_KIND_SHMEM_POSIX:
	case ML_KIND_SHMEM_ANON: return ML_BACKING_SHMEM;
	default: return ML_BACKING_OTHER;
	}
}

static uint64_t sub_or_unknown(uint64_t a, uint64_t b)
{
	return a == ML_UNKNOWN || b == ML_UNKNOWN || b > a ? ML_UNKNOWN : a - b;
}

static uint64_t min_u64(uint64_t a, uint64_t b)
{
	return a < b ? a : b;
}

/*
 * Books a mapping's resident and swapped pages to their backing. In a private file
 * mapping, the pages written since (Anonymous) are anonymous: they count as private up
 * to the mapping's private pages, the rest as shared (copies shared after fork).
 */
static void add_backing(struct ml_maps_summary *s, const struct ml_map *m)
{
	const uint64_t *v = m->mem.v;
	uint64_t priv = ml_add(v[ML_MEM_PRIVATE_CLEAN], v[ML_MEM_PRIVATE_DIRTY]);
	uint64_t shared = ml_add(v[ML_MEM_SHARED_CLEAN], v[ML_MEM_SHARED_DIRTY]);
	enum ml_backing b = backing_of(m->kind);

	if (b == ML_BACKING_FILE && m->perms[3] == 'p' && v[ML_MEM_ANONYMOUS] != 0) {
		uint64_t anon = v[ML_MEM_ANONYMOUS];
		uint64_t anon_priv =
		    anon == ML_UNKNOWN || priv == ML_UNKNOWN ? ML_UNKNOWN : min_u64(anon, priv);
		uint64_t anon_shared = sub_or_unknown(anon, anon_priv);
		s->backing[ML_BACKING_ANON].private_resident =
		    ml_add(s->backing[ML_BACKING_ANON].private_resident, anon_priv);
		s->backing[ML_BACKING_ANON].shared_resident =
		    ml_add(s->backing[ML_BACKING_ANON].shared_resident, anon_shared);
		s->backing[ML_BACKING_ANON].swapped =
		    ml_add(s->backing[ML_BACKING_ANON].swapped, v[ML_MEM_SWAP]);
		priv = sub_or_unknown(priv, anon_priv);
		shared = sub_or_unknown(shared, anon_shared);
	} else {
		s->backing[b].swapped = ml_add(s->backing[b].swapped, v[ML_MEM_SWAP]);
	}
	s->backing[b].private_resident = ml_add(s->backing[b].private_resident, priv);
	s->backing[b].shared_resident = ml_add(s->backing[b].shared_resident, shared);
}

void ml_maps_limits_read(struct ml_source *src, struct ml_maps_limits *lim)
{
	struct ml_buf b = {0};
	uint64_t mi[ML_MI_COUNT];

	lim->mmap_min_addr = ml_source_read_u64(src, "sys/vm/mmap_min_addr");
	lim->max_map_count = ml_source_read_u64(src, "sys/vm/max_map_count");
	if (ml_source_read(src, "meminfo", &b) < 0 || ml_parse_meminfo(b.data, b.len, mi) < 0)
		mi[ML_MI_COMMITTED_AS] = mi[ML_MI_COMMITLIMIT] = ML_UNKNOWN;
	lim->committed_as = mi[ML_MI_COMMITTED_AS];
	lim->commit_limit = mi[ML_MI_COMMITLIMIT];
	ml_buf_free(&b);
}

/* The top of the user address space for a process whose mappings end at or below top:
 * 32-bit when all lie below 4 GiB, 56 bits with 5-level page tables, else 47 (x86-64)
 * or 48 (aarch64). */
static uint64_t address_bits(uint64_t top)
{
#if defined(__aarch64__)
	const uint64_t native = 48;
#else
	const uint64_t native = 47;
#endif

	if (top > (1ull << native))
		return 56;
	return top <= (1ull << 32) ? 32 : native;
}

#define USER_TOP_32 0xffffe000ull /* the highest user address of a 32-bit process */
#define ABOVE_USER  (1ull << 56)  /* [vsyscall] lies here: no user mapping */

/* Notes the hole [start, end) as a candidate for the largest gap. */
static void gap_candidate(struct ml_gap *g, uint64_t start, uint64_t end)
{
	if (end > start && end - start > g->size) {
		g->size = end - start;
		g->start = start;
	}
}

void ml_maps_summary_init(struct ml_maps_summary *s, const struct ml_maps_limits *lim)
{
	memset(s, 0, sizeof(*s));
	s->max_map_count = lim->max_map_count;
	s->committed_as = lim->committed_as;
	s->commit_limit = lim->commit_limit;
	s->gap_prev = lim->mmap_min_addr == ML_UNKNOWN ? 65536 : lim->mmap_min_addr;
	s->gap_any.start = s->gap_32.start = s->gap_prev;
	ml_heaps_init(&s->heaps);
}

/* Follows the holes between user mappings, in address order: the largest of them as is,
 * and as a 32-bit process sees them (nothing above USER_TOP_32). */
static void add_gap(struct ml_maps_summary *s, const struct ml_map *m)
{
	s->unordered |= m->start < s->last_start;
	s->last_start = m->start;
	if (m->start >= ABOVE_USER)
		return;
	gap_candidate(&s->gap_any, s->gap_prev, m->start);
	gap_candidate(&s->gap_32, s->gap_prev, min_u64(m->start, USER_TOP_32));
	if (m->end > s->gap_prev)
		s->gap_prev = m->end;
	if (m->end > s->user_top)
		s->user_top = m->end;
}

void ml_maps_summary_add(struct ml_maps_summary *s, const struct ml_map *m)
{
	s->kinds[m->kind].count++;
	ml_mem_add(&s->kinds[m->kind].mem, &m->mem);
	ml_heaps_add(&s->heaps, &m->cat, m->name, m->start, &m->mem);
	add_backing(s, m);
	add_gap(s, m);
	s->lazyfree = ml_add(s->lazyfree, m->mem.v[ML_MEM_LAZYFREE]);
	s->locked = ml_add(s->locked, m->mem.v[ML_MEM_LOCKED]);
	s->commit = ml_add(s->commit, ml_map_commit(m));
	if (m->kind == ML_KIND_GUARD) {
		s->guard_count++;
		s->guard_size += m->end - m->start;
	}
	s->vmas++;
}

void ml_maps_summary_finish(struct ml_maps_summary *s)
{
	struct ml_gap g;
	uint64_t limit;

	s->address_bits = address_bits(s->user_top);
	limit = s->address_bits == 32 ? USER_TOP_32 : (1ull << s->address_bits) - 4096;
	g = s->address_bits == 32 ? s->gap_32 : s->gap_any;
	gap_candidate(&g, s->gap_prev, limit); /* after the last mapping */
	s->largest_gap = s->unordered ? ML_UNKNOWN : g.size;
	s->largest_gap_start = s->unordered ? ML_UNKNOWN : g.start;
}

/* A process being read by one of the scan's readers: its window and the caller's slot. */
struct windows_slot {
	pid_t pid; /* 0: free */
	void *user;
	struct ml_maps_windows *owner;
	struct ml_maps_window *w;
};

struct ml_maps_windows {
	pthread_mutex_t lock;
	struct windows_slot slot[16]; /* more than the scan's readers (8 at most) */
	ml_pid_map_fn fn;
	void *ctx;
};

/* Hands a settled mapping on with its process's PID and slot (an ml_map_fn). */
static int windows_settled(const struct ml_map *m, void *ctx)
{
	struct windows_slot *s = ctx;

	return s->owner->fn(s->pid, &s->user, m, s->owner->ctx);
}

struct ml_maps_windows *ml_maps_windows_new(ml_pid_map_fn fn, void *ctx)
{
	struct ml_maps_windows *w = calloc(1, sizeof(*w));

	if (!w)
		return NULL;
	pthread_mutex_init(&w->lock, NULL);
	w->fn = fn;
	w->ctx = ctx;
	for (size_t i = 0; i < sizeof(w->slot) / sizeof(w->slot[0]); i++)
		w->slot[i].owner = w;
	return w;
}

/* The slot of pid, or a free one taken for it; NULL when none is left or out of memory. */
static struct windows_slot *slot_of(struct ml_maps_windows *w, pid_t pid, bool take)
{
	struct windows_slot *free_slot = NULL;

	for (size_t i = 0; i < sizeof(w->slot) / sizeof(w->slot[0]); i++) {
		if (w->slot[i].pid == pid)
			return &w->slot[i];
		if (!w->slot[i].pid && !free_slot)
			free_slot = &w->slot[i];
	}
	if (!take || !free_slot)
		return NULL;
	if (!free_slot->w && !(free_slot->w = ml_maps_window_new(windows_settled, free_slot)))
		return NULL;
	free_slot->pid = pid;
	free_slot->user = NULL;
	return free_slot;
}

int ml_maps_windows_add(struct ml_maps_windows *w, pid_t pid, const struct ml_mapping *m)
{
	struct windows_slot *s;
	int rc = -ENOMEM;

	pthread_mutex_lock(&w->lock);
	if ((s = slot_of(w, pid, true)))
		rc = ml_maps_window_add(m, s->w);
	pthread_mutex_unlock(&w->lock);
	return rc;
}

long ml_maps_windows_end(struct ml_maps_windows *w, pid_t pid, int rc, void **user)
{
	struct windows_slot *s;
	long n = 0;

	pthread_mutex_lock(&w->lock);
	s = slot_of(w, pid, false);
	if (s && rc == 0)
		n = ml_maps_window_end(s->w);
	else if (s)
		ml_maps_window_reset(s->w);
	*user = s ? s->user : NULL;
	if (s)
		s->pid = 0;
	pthread_mutex_unlock(&w->lock);
	return rc < 0 ? rc : n;
}

void ml_maps_windows_free(struct ml_maps_windows *w)
{
	if (!w)
		return;
	for (size_t i = 0; i < sizeof(w->slot) / sizeof(w->slot[0]); i++)
		ml_maps_window_free(w->slot[i].w);
	pthread_mutex_destroy(&w->lock);
	free(w);
}
