/* What kind of memory a mapping holds: its class and the allocator behind it. */
#include <string.h>
#include <strings.h>

#include "memledger/category.h"
#include "memledger/maps.h"

static const char *const class_names[ML_CLASS_COUNT] = {
    "Native Heap",   "Managed Heap", "Stack",      "Code",     "Graphics",
    "Shared Memory", "Mapped Files", "Other Anon", "Reserved",
};

static const char *const class_keys[ML_CLASS_COUNT] = {
    "native_heap",   "managed_heap", "stack",      "code",     "graphics",
    "shared_memory", "mapped_files", "other_anon", "reserved",
};

const char *ml_class_name(enum ml_class c)
{
	return (unsigned)c < ML_CLASS_COUNT ? class_names[c] : "?";
}

const char *ml_class_key(enum ml_class c)
{
	return (unsigned)c < ML_CLASS_COUNT ? class_keys[c] : "?";
}

int ml_class_of_name(const char *name)
{
	for (int c = 0; c < ML_CLASS_COUNT; c++)
		if (strcasecmp(name, class_names[c]) == 0 || strcasecmp(name, class_keys[c]) == 0)
			return c;
	return -1;
}

static bool starts(const char *s, const char *prefix)
{
	return strncmp(s, prefix, strlen(prefix)) == 0;
}

/* True when name[0..len) ends with suffix. */
static bool ends(const char *name, size_t len, const char *suffix)
{
	size_t n = strlen(suffix);

	return len > n && memcmp(name + len - n, suffix, n) == 0;
}

#define CAT(c, h, r) ((struct ml_category){ML_CLASS_##c, h, r})

/* Android's Dalvik/ART regions ([anon:dalvik-NAME], /dev/ashmem/dalvik-NAME before
 * Android 8), as android_os_Debug.cpp books them: the heap spaces, the rest "other". */
static struct ml_category dalvik(const char *space)
{
	static const char *const heap_spaces[] = {
	    "alloc space",      "main space",  "large object space", "free list large object space",
	    "non moving space", "zygote space"};

	for (size_t i = 0; i < sizeof(heap_spaces) / sizeof(heap_spaces[0]); i++)
		if (starts(space, heap_spaces[i]))
			return CAT(MANAGED_HEAP, "dalvik", "android");
	return CAT(MANAGED_HEAP, "dalvik-other", "android");
}

/* The category Android's rules give a name (android_os_Debug.cpp, in its order), with
 * " (deleted)" taken off; false when they give none (Other mmap or Unknown). */
static bool android_rule(const char *name, size_t len, struct ml_category *c)
{
	if (starts(name, "[anon:libc_malloc]") || starts(name, "/dev/ashmem/libc malloc"))
		*c = CAT(NATIVE_HEAP, "libc_malloc", "android");
	else if (starts(name, "[anon:scudo:"))
		*c = CAT(NATIVE_HEAP, "scudo", "android");
	else if (starts(name, "[anon:GWP-ASan"))
		*c = CAT(NATIVE_HEAP, "gwp-asan", "android");
	else if (starts(name, "[anon:stack_and_tls:"))
		*c = CAT(STACK, "thread", "android");
	else if (ends(name, len, ".so"))
		*c = CAT(CODE, ".so", "android");
	else if (ends(name, len, ".jar"))
		*c = CAT(FILES, ".jar", "android");
	else if (ends(name, len, ".apk"))
		*c = CAT(FILES, ".apk", "android");
	else if (ends(name, len, ".ttf"))
		*c = CAT(FILES, ".ttf", "android");
	else if (ends(name, len, ".odex") || (len > 4 && strstr(name, ".dex")))
		*c = CAT(CODE, ".dex", "android");
	else if (ends(name, len, ".vdex"))
		*c = CAT(CODE, ".vdex", "android");
	else if (ends(name, len, ".oat"))
		*c = CAT(CODE, ".oat", "android");
	else if (ends(name, len, ".art") || ends(name, len, ".art]"))
		*c = CAT(CODE, ".art", "android");
	else if (starts(name, "/dev/kgsl-3d0"))
		*c = CAT(GRAPHICS, "kgsl", "android");
	else if (starts(name, "/dev/ashmem/CursorWindow"))
		*c = CAT(SHMEM, "cursor-window", "android");
	else if (starts(name, "/dev/ashmem/jit-zygote-cache") || starts(name, "/memfd:jit-cache") ||
	         starts(name, "/memfd:jit-zygote-cache"))
		*c = CAT(MANAGED_HEAP, "dalvik-other", "android");
	else if (starts(name, "/dev/ashmem/dalvik-"))
		*c = dalvik(name + strlen("/dev/ashmem/dalvik-"));
	else if (starts(name, "/dev/ashmem"))
		*c = CAT(SHMEM, "ashmem", "android");
	else if (starts(name, "[anon:dalvik-"))
		*c = dalvik(name + strlen("[anon:dalvik-"));
	else
		return false;
	return true;
}

/* The category other runtimes' names give: glibc's (glibc.mem.decorate_maps, 2.39),
 * Go's, Chromium's (PartitionAlloc, V8, Oilpan) and other allocators'. */
static bool runtime_rule(const char *name, struct ml_category *c)
{
	if (starts(name, "[anon: glibc: malloc"))
		*c = CAT(NATIVE_HEAP, "glibc", "glibc");
	else if (starts(name, "[anon: glibc: pthread stack"))
		*c = CAT(STACK, "thread", "glibc");
	else if (starts(name, "[anon: glibc: "))
		*c = CAT(OTHER_ANON, "glibc", "glibc");
	else if (starts(name, "[anon: Go: heap"))
		*c = CAT(MANAGED_HEAP, "go", "go");
	else if (starts(name, "[anon: Go: "))
		*c = CAT(OTHER_ANON, "go", "go");
	else if (starts(name, "[anon:partition_alloc"))
		*c = CAT(NATIVE_HEAP, "partition_alloc", "chromium");
	else if (starts(name, "[anon:v8"))
		*c = CAT(MANAGED_HEAP, "v8", "chromium");
	else if (starts(name, "[anon:blink_gc") || starts(name, "[anon:oilpan"))
		*c = CAT(MANAGED_HEAP, "oilpan", "chromium");
	else if (starts(name, "[anon:jemalloc") || starts(name, "[anon:je_"))
		*c = CAT(NATIVE_HEAP, "jemalloc", "name");
	else if (starts(name, "[anon:snmalloc"))
		*c = CAT(NATIVE_HEAP, "snmalloc", "name");
	else if (starts(name, "[anon:mimalloc"))
		*c = CAT(NATIVE_HEAP, "mimalloc", "name");
	else if (starts(name, "[anon:tcmalloc"))
		*c = CAT(NATIVE_HEAP, "tcmalloc", "name");
	else
		return false;
	return true;
}

/* The category of a device file's mapping. */
static struct ml_category device(const char *name)
{
	if (starts(name, "/dev/dri/") || starts(name, "/dev/nvidia") || starts(name, "/dev/kgsl") ||
	    starts(name, "/dev/mali") || starts(name, "/dev/accel/"))
		return CAT(GRAPHICS, "gpu", "name");
	if (strstr(name, "dmabuf") || starts(name, "/dev/dma_heap/") ||
	    starts(name, "/dev/udmabuf"))
		return CAT(GRAPHICS, "dma-buf", "name");
	return CAT(FILES, "device", "name");
}

/* The category of a named mapping that no runtime's rule names. */
static struct ml_category named(const struct ml_category_in *m, const char *name, size_t len)
{
	enum ml_kind k = (enum ml_kind)m->kind;

	if (m->heap || starts(name, "[heap]"))
		return CAT(NATIVE_HEAP, "brk", "name");
	if (starts(name, "[stack:"))
		return CAT(STACK, "thread", "name"); /* Linux 3.4-4.4 named thread stacks */
	if (starts(name, "[stack"))
		return CAT(STACK, "main", "name");
	if (starts(name, "[vdso]") || starts(name, "[vsyscall]"))
		return CAT(CODE, "vdso", "name");
	if (ml_kind_is_shmem(k) || (k == ML_KIND_HUGETLB && m->shared)) {
		const char *kn = ml_kind_name(k);
		return (struct ml_category){ML_CLASS_SHMEM, starts(kn, "shmem:") ? kn + 6 : kn,
		                            "name"};
	}
	if (k == ML_KIND_DEVICE)
		return device(name);
	if (name[0] == '[')
		return starts(name, "[anon") ? CAT(OTHER_ANON, "named", "name")
		                             : CAT(OTHER_ANON, "kernel", "name"); /* [vvar] */
	if (ends(name, len, ".pak"))
		return CAT(FILES, ".pak", "name");
	return CAT(FILES, "file", "name");
}

/* True when a private file mapping is part of an ELF object mapped as code: executable,
 * or contiguous with an executable mapping of the same file (its header before, its
 * data after). */
static bool elf_part(const struct ml_category_ctx *ctx, const struct ml_category_in *m,
                     const struct ml_category_in *next)
{
	if (m->perms[2] == 'x')
		return true;
	if (ctx->any && ctx->prev_cls == ML_CLASS_CODE && ctx->prev_end == m->start &&
	    ctx->prev_inode == m->inode && ctx->prev_dev_major == m->dev_major &&
	    ctx->prev_dev_minor == m->dev_minor)
		return true;
	return m->offset == 0 && next && next->start == m->end && next->inode == m->inode &&
	       next->dev_major == m->dev_major && next->dev_minor == m->dev_minor &&
	       next->perms[2] == 'x';
}

#define PA_SUPER_PAGE (2ull << 20) /* PartitionAlloc's kSuperPageSize */
#define PA_METADATA                                                                                \
	0x2000ull            /* its metadata page, after a guard, in the first partition           \
	                         page (kPartitionPageSize 16 KiB) */
#define PA_PAYLOAD 0x4000ull /* its slot spans, or a direct map, from the second */

/* The PartitionAlloc super page a mapping's start is in. */
static uint64_t super_page(uint64_t addr)
{
	return addr & ~(PA_SUPER_PAGE - 1);
}

/* True for PartitionAlloc's memory (Chromium's malloc, ArrayBuffers, Blink's partitions),
 * by the layout of its super pages: a 4 KiB read-write metadata page at 8 KiB into a 2 MiB
 * boundary, and the slot spans of the same super page from 16 KiB into it (a direct map's
 * from exactly there, of any size). */
static bool partition_alloc(const struct ml_category_ctx *ctx, const struct ml_category_in *m)
{
	uint64_t base = super_page(m->start);

	if (m->start - base == PA_METADATA && m->end - m->start == 4096)
		return true;
	if (m->start - base == PA_PAYLOAD && ctx->any && ctx->prev_none &&
	    ctx->prev_end == m->start)
		return true; /* a pool whose metadata lives apart (V8's sandbox): the payload alone
		              */
	return ctx->pa_super_page && base == ctx->pa_super_page && m->start - base >= PA_PAYLOAD &&
	       (m->start - base == PA_PAYLOAD || m->end <= base + PA_SUPER_PAGE);
}

#define V8_CAGE (4ull << 30)   /* V8's pointer compression cage: 4 GiB, so aligned */
#define V8_PAGE (256ull << 10) /* its heap's pages (kRegularPageSize), so aligned */

/* True for V8's heap: read-write pages at 256 KiB boundaries in the 4 GiB pointer cage
 * that begins with a read-only mapping at a 4 GiB boundary (its read-only space). */
static bool v8_heap(const struct ml_category_ctx *ctx, const struct ml_category_in *m)
{
	return ctx->v8_cage && m->start >= ctx->v8_cage && m->end <= ctx->v8_cage + V8_CAGE &&
	       m->start % V8_PAGE == 0;
}

/* The category of unnamed anonymous memory, from its shape. */
static struct ml_category shaped(const struct ml_category_ctx *ctx, const struct ml_category_in *m)
{
	bool after = ctx->any && ctx->prev_end == m->start;

	if (strncmp(m->perms, "rw-p", 4) == 0 && partition_alloc(ctx, m))
		return CAT(NATIVE_HEAP, "partition_alloc", "shape:partition_alloc");
	if ((strncmp(m->perms, "r--p", 4) == 0 && m->start % V8_CAGE == 0) ||
	    ((strncmp(m->perms, "rw-p", 4) == 0 || strncmp(m->perms, "r--p", 4) == 0) &&
	     v8_heap(ctx, m)))
		return CAT(MANAGED_HEAP, "v8", "shape:v8");
	if (m->heap)
		return CAT(NATIVE_HEAP, "glibc-arena", "shape:arena");
	if (m->perms[2] == 'x')
		return CAT(CODE, "jit", "shape:jit");
	if (after && ctx->prev_cls == ML_CLASS_CODE &&
	    (strcmp(ctx->prev_heap, ".so") == 0 || strcmp(ctx->prev_heap, "elf") == 0))
		return CAT(CODE, "bss", "shape:bss"); /* as Android books a library's bss */
	if (after && ctx->prev_guard && strncmp(m->perms, "rw-p", 4) == 0)
		return CAT(STACK, "thread", "shape:guard");
	return CAT(OTHER_ANON, "anon", "kind");
}

/* True when the mapping holds no memory: nothing resident, nothing swapped. */
static bool holds_nothing(const struct ml_mem *mem)
{
	uint64_t rss = mem->v[ML_MEM_RSS], swap = mem->v[ML_MEM_SWAP];

	return (rss == 0 || rss == ML_UNKNOWN) && (swap == 0 || swap == ML_UNKNOWN);
}

/* The category, before ctx learns of m. */
static struct ml_category category(const struct ml_category_ctx *ctx,
                                   const struct ml_category_in *m,
                                   const struct ml_category_in *next)
{
	const char *name = m->name;
	size_t len = strlen(name);
	struct ml_category c;
	bool none = m->perms[0] == '-' && m->perms[1] == '-' && m->perms[2] == '-';

	if (ends(name, len, " (deleted)"))
		len -= strlen(" (deleted)");
	if (!name[0] && (none || (!m->heap && holds_nothing(m->mem))))
		return CAT(RESERVED, none ? "guard" : "untouched", "shape:reserved");
	if (!name[0])
		return none ? CAT(OTHER_ANON, "anon", "kind") : shaped(ctx, m);
	if (starts(name, "[heap]"))
		return CAT(NATIVE_HEAP, "brk", "name");
	if (android_rule(name, len, &c) || runtime_rule(name, &c))
		return c;
	if (!m->shared && m->inode && name[0] == '/' && (enum ml_kind)m->kind != ML_KIND_DEVICE &&
	    elf_part(ctx, m, next))
		return strstr(name, ".so.") ? CAT(CODE, ".so", "shape:elf")
		                            : CAT(CODE, "elf", "shape:elf");
	return named(m, name, len);
}

void ml_category_of(struct ml_category_ctx *ctx, const struct ml_category_in *m,
                    const struct ml_category_in *next, struct ml_category *out)
{
	uint64_t pa = ctx->pa_super_page, cage = ctx->v8_cage;

	*out = category(ctx, m, next);
	if (strcmp(out->rule, "shape:partition_alloc") == 0 &&
	    m->start - super_page(m->start) == PA_METADATA)
		pa = super_page(m->start); /* a super page's metadata: its slot spans follow */
	if (strcmp(out->rule, "shape:v8") == 0 && m->start % V8_CAGE == 0)
		cage = m->start; /* the cage's first page: its heap follows */
	*ctx = (struct ml_category_ctx){.pa_super_page = pa,
	                                .v8_cage = cage,
	                                .prev_none = strncmp(m->perms, "---", 3) == 0,
	                                .prev_end = m->end,
	                                .prev_inode = m->inode,
	                                .prev_dev_major = m->dev_major,
	                                .prev_dev_minor = m->dev_minor,
	                                .prev_cls = out->cls,
	                                .prev_heap = out->heap,
	                                .prev_guard = !m->name[0] &&
	                                              strncmp(m->perms, "---p", 4) == 0 &&
	                                              m->end - m->start <= (64u << 10),
	                                .any = true};
}

void ml_heaps_init(struct ml_heaps *h)
{
	memset(h, 0, sizeof(*h));
	for (int c = 0; c < ML_CLASS_COUNT; c++)
		memset(&h->cls[c].mem, 0, sizeof(h->cls[c].mem));
	h->threads = ML_UNKNOWN;
}

bool ml_heap_is_heap(enum ml_class cls, const char *heap)
{
	return cls == ML_CLASS_NATIVE_HEAP ||
	       (cls == ML_CLASS_MANAGED_HEAP && strcmp(heap, "dalvik-other") != 0);
}

static uint64_t name_hash(const char *s)
{
	uint64_t h = 1469598103934665603ull; /* FNV-1a */

	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 1099511628211ull;
	return h | 1; /* never 0: 0 is an empty slot */
}

/* What tells one heap of allocator c apart from another: its name; for PartitionAlloc's
 * and V8's found by shape, the pool (16 GiB, kPoolMaxSize) or the cage (4 GiB) it is in;
 * 0 for every mapping a heap of its own (brk, each glibc arena heap). */
static uint64_t heap_key(const struct ml_category *c, const char *name, uint64_t start)
{
	if (strcmp(c->rule, "shape:partition_alloc") == 0)
		return (start >> 34) | 1;
	if (strcmp(c->rule, "shape:v8") == 0)
		return (start >> 32) | 1;
	return name[0] && strcmp(name, "[heap]") != 0 ? name_hash(name) : 0;
}

/* Counts a heap of allocator c->heap: every mapping of an unnamed one (each glibc arena
 * heap is its own mapping), each distinct key (heap_key) of the others. */
static void count_heap(struct ml_heaps *h, const struct ml_category *c, const char *name,
                       uint64_t start, const struct ml_mem *mem)
{
	struct ml_heap_count *hc = NULL;
	uint64_t hash = heap_key(c, name, start);

	for (size_t i = 0; i < h->nheaps && !hc; i++)
		if (h->heaps[i].cls == c->cls && strcmp(h->heaps[i].heap, c->heap) == 0)
			hc = &h->heaps[i];
	if (!hc && h->nheaps == ML_HEAPS_MAX)
		return;
	if (!hc) {
		hc = &h->heaps[h->nheaps++];
		hc->cls = c->cls;
		hc->heap = c->heap;
	}
	ml_mem_add(&hc->mem, mem);
	if (!hash) {
		hc->count++;
		return;
	}
	for (size_t i = 0; i < sizeof(hc->names) / sizeof(hc->names[0]); i++) {
		if (hc->names[i] == hash)
			return;
		if (hc->names[i] == 0) {
			hc->names[i] = hash;
			break;
		}
	}
	hc->count++;
}

void ml_heaps_add(struct ml_heaps *h, const struct ml_category *c, const char *name, uint64_t start,
                  const struct ml_mem *mem)
{
	h->cls[c->cls].count++;
	ml_mem_add(&h->cls[c->cls].mem, mem);
	if (c->cls == ML_CLASS_STACK && strcmp(c->rule, "shape:guard") == 0) {
		h->shape_stacks++;
		ml_mem_add(&h->shape_stack_mem, mem);
	}
	if (ml_heap_is_heap(c->cls, c->heap))
		count_heap(h, c, name, start, mem);
}

/* a -= b, field by field; unknown stays unknown. */
static void mem_sub(struct ml_mem *a, const struct ml_mem *b)
{
	for (int i = 0; i < ML_MEM_NFIELDS; i++)
		if (a->v[i] != ML_UNKNOWN && b->v[i] != ML_UNKNOWN)
			a->v[i] -= b->v[i];
}

bool ml_stacks_doubtful(uint64_t shape_stacks, uint64_t threads)
{
	return threads != ML_UNKNOWN && shape_stacks > 0 &&
	       shape_stacks > (threads ? threads - 1 : 0);
}

void ml_heaps_finish(struct ml_heaps *h, uint64_t threads)
{
	h->threads = threads;
	h->stacks_doubtful = ml_stacks_doubtful(h->shape_stacks, threads);
	if (!h->stacks_doubtful)
		return;
	h->cls[ML_CLASS_STACK].count -= h->shape_stacks;
	mem_sub(&h->cls[ML_CLASS_STACK].mem, &h->shape_stack_mem);
	h->cls[ML_CLASS_OTHER_ANON].count += h->shape_stacks;
	ml_mem_add(&h->cls[ML_CLASS_OTHER_ANON].mem, &h->shape_stack_mem);
}

enum ml_class ml_heaps_class(const struct ml_heaps *h, const struct ml_category *c)
{
	if (h->stacks_doubtful && c->cls == ML_CLASS_STACK && strcmp(c->rule, "shape:guard") == 0)
		return ML_CLASS_OTHER_ANON;
	return c->cls;
}
