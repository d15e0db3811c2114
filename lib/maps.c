/* A process's mappings: read, classified by kind, and summarised. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "memledger/maps.h"
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

static bool starts(const char *s, const char *prefix)
{
	return strncmp(s, prefix, strlen(prefix)) == 0;
}

/* The kind of a mapping named from a path or a bracketed tag; -1 when the name says nothing. */
static int kind_of_name(const char *name, bool shared)
{
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

/* What ml_maps_read_each hands each mapping to. */
struct maps_reader {
	struct ml_maps *maps;
	ml_map_fn fn;
	void *ctx;
};

/* Settles the kind of mapping i, now that the next one is known (or there is none), and
 * hands it on. */
static int settle(struct maps_reader *r, size_t i)
{
	struct ml_map *m = &r->maps->v[i];

	if (i + 1 < r->maps->n && is_arena(m, m + 1))
		m->kind = ML_KIND_HEAP;
	return r->fn ? r->fn(r->maps, i, r->ctx) : 0;
}

/* Appends one parsed mapping to the list. */
static int keep_mapping(const struct ml_mapping *m, void *ctx)
{
	struct maps_reader *r = ctx;
	struct ml_maps *maps = r->maps;
	struct ml_map *d;

	if (ml_grow((void **)&maps->v, &maps->cap, maps->n, 1, sizeof(*maps->v)) < 0)
		return -ENOMEM;
	d = &maps->v[maps->n];
	*d = (struct ml_map){.start = m->start,
	                     .end = m->end,
	                     .offset = m->offset,
	                     .inode = m->inode,
	                     .dev_major = m->dev_major,
	                     .dev_minor = m->dev_minor,
	                     .mem = m->mem,
	                     .kind = ml_mapping_kind(m)};
	memcpy(d->perms, m->perms, sizeof(d->perms));
	d->mem.v[ML_MEM_SIZE] = m->end - m->start;
	d->name = keep_text(maps, m->name, m->name_len);
	d->vmflags = keep_text(maps, m->vmflags, strlen(m->vmflags));
	if (!d->name || !d->vmflags)
		return -ENOMEM;
	maps->n++;
	return maps->n > 1 ? settle(r, maps->n - 2) : 0;
}

int ml_maps_read_each(struct ml_source *src, pid_t pid, struct ml_maps *out, ml_map_fn fn,
                      void *ctx)
{
	struct maps_reader r = {out, fn, ctx};
	struct ml_buf buf = {0};
	int dirfd, fd;
	long n;

	memset(out, 0, sizeof(*out));
	out->pid = pid;
	dirfd = ml_source_open_pid(src, pid);
	if (dirfd < 0)
		return dirfd == -ENOENT ? -ESRCH : dirfd;
	fd = ml_source_open_at(dirfd, "smaps");
	close(dirfd);
	if (fd < 0)
		return fd == -ENOENT && ml_source_is_procfs(src) ? -ESRCH : fd;
	n = ml_read_smaps_ahead(fd, &buf, keep_mapping, &r);
	close(fd);
	ml_buf_free(&buf);
	if (n >= 0 && out->n)
		n = settle(&r, out->n - 1);
	return n < 0 ? (int)n : 0;
}

int ml_maps_read(struct ml_source *src, pid_t pid, struct ml_maps *out)
{
	return ml_maps_read_each(src, pid, out, NULL, NULL);
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

/* Reads one number (a sysctl) from the source, or ML_UNKNOWN. */
static uint64_t read_number(struct ml_source *src, const char *path, struct ml_buf *b)
{
	const char *p;
	uint64_t v;

	if (ml_source_read(src, path, b) < 0)
		return ML_UNKNOWN;
	p = b->data;
	return ml_parse_u64(&p, b->data + b->len, 10, &v) < 0 ? ML_UNKNOWN : v;
}

static uint64_t meminfo_field(const struct ml_buf *b, bool have, const char *key)
{
	uint64_t v;

	return have && ml_parse_kb_field(b->data, b->len, key, &v) == 0 ? v : ML_UNKNOWN;
}

/*
 * The user address space's bits, from where the mappings lie: 32 for a 32-bit process,
 * 56 with 5-level page tables, else 47 (x86-64) or 48 (aarch64). [vsyscall], above
 * 2^56, is no user mapping.
 */
static uint64_t address_bits(const struct ml_maps *maps)
{
#if defined(__aarch64__)
	const uint64_t native = 48;
#else
	const uint64_t native = 47;
#endif
	uint64_t top = 0;

	for (size_t i = 0; i < maps->n; i++)
		if (maps->v[i].start < (1ull << 56) && maps->v[i].end > top)
			top = maps->v[i].end;
	if (top > (1ull << native))
		return 56;
	return top <= (1ull << 32) ? 32 : native;
}

/* The largest hole between mmap_min_addr and the top of the user address space. */
static void largest_gap(const struct ml_maps *maps, uint64_t low, uint64_t bits,
                        struct ml_maps_summary *s)
{
	uint64_t limit = bits == 32 ? 0xffffe000ull : (1ull << bits) - 4096, prev = low;

	s->largest_gap = 0;
	s->largest_gap_start = low;
	for (size_t i = 0; i <= maps->n; i++) {
		uint64_t start = i < maps->n ? maps->v[i].start : limit;
		if (start > limit)
			start = limit; /* [vsyscall] lies above the user address space */
		if (start > prev && start - prev > s->largest_gap) {
			s->largest_gap = start - prev;
			s->largest_gap_start = prev;
		}
		if (i < maps->n && maps->v[i].end > prev)
			prev = maps->v[i].end;
	}
}

void ml_maps_summary_init(struct ml_maps_summary *s)
{
	memset(s, 0, sizeof(*s));
}

void ml_maps_summary_add(struct ml_maps_summary *s, const struct ml_map *m)
{
	s->kinds[m->kind].count++;
	ml_mem_add(&s->kinds[m->kind].mem, &m->mem);
	add_backing(s, m);
	s->lazyfree = ml_add(s->lazyfree, m->mem.v[ML_MEM_LAZYFREE]);
	s->locked = ml_add(s->locked, m->mem.v[ML_MEM_LOCKED]);
	s->commit = ml_add(s->commit, ml_map_commit(m));
	if (m->kind == ML_KIND_GUARD) {
		s->guard_count++;
		s->guard_size += m->end - m->start;
	}
	s->vmas++;
}

void ml_maps_summary_finish(struct ml_source *src, const struct ml_maps *maps,
                            struct ml_maps_summary *s)
{
	struct ml_buf b = {0};
	uint64_t low;
	bool have_meminfo;

	s->max_map_count = read_number(src, "sys/vm/max_map_count", &b);
	low = read_number(src, "sys/vm/mmap_min_addr", &b);
	s->address_bits = address_bits(maps);
	largest_gap(maps, low == ML_UNKNOWN ? 65536 : low, s->address_bits, s);
	have_meminfo = ml_source_read(src, "meminfo", &b) == 0;
	s->committed_as = meminfo_field(&b, have_meminfo, "Committed_AS");
	s->commit_limit = meminfo_field(&b, have_meminfo, "CommitLimit");
	ml_buf_free(&b);
}
