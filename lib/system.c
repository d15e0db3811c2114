/* Where all of RAM goes, from /proc/meminfo, the memory blocks, zram, swaps and PSI. */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "memledger/system.h"
#include "util.h"

static const char *const mi_names[ML_MI_COUNT] = {
    [ML_MI_MEMTOTAL] = "MemTotal",
    [ML_MI_MEMFREE] = "MemFree",
    [ML_MI_MEMAVAILABLE] = "MemAvailable",
    [ML_MI_BUFFERS] = "Buffers",
    [ML_MI_CACHED] = "Cached",
    [ML_MI_SWAPCACHED] = "SwapCached",
    [ML_MI_ANONPAGES] = "AnonPages",
    [ML_MI_MAPPED] = "Mapped",
    [ML_MI_SHMEM] = "Shmem",
    [ML_MI_SRECLAIMABLE] = "SReclaimable",
    [ML_MI_SUNRECLAIM] = "SUnreclaim",
    [ML_MI_KERNELSTACK] = "KernelStack",
    [ML_MI_PAGETABLES] = "PageTables",
    [ML_MI_SECPAGETABLES] = "SecPageTables",
    [ML_MI_VMALLOCUSED] = "VmallocUsed",
    [ML_MI_PERCPU] = "Percpu",
    [ML_MI_HUGETLB] = "Hugetlb",
    [ML_MI_ZSWAP] = "Zswap",
    [ML_MI_SWAPTOTAL] = "SwapTotal",
    [ML_MI_SWAPFREE] = "SwapFree",
    [ML_MI_COMMITLIMIT] = "CommitLimit",
    [ML_MI_COMMITTED_AS] = "Committed_AS",
    [ML_MI_UNEVICTABLE] = "Unevictable",
    [ML_MI_MLOCKED] = "Mlocked",
    [ML_MI_DIRTY] = "Dirty",
    [ML_MI_WRITEBACK] = "Writeback",
    [ML_MI_KRECLAIMABLE] = "KReclaimable",
};

const char *ml_meminfo_name(enum ml_meminfo_field f)
{
	return (unsigned)f < ML_MI_COUNT ? mi_names[f] : NULL;
}

int ml_parse_meminfo(const char *buf, size_t len, uint64_t v[ML_MI_COUNT])
{
	for (int i = 0; i < ML_MI_COUNT; i++) {
		int rc = ml_parse_kb_field(buf, len, mi_names[i], &v[i]);
		if (rc == -ENOENT)
			v[i] = ML_UNKNOWN;
		else if (rc < 0)
			return rc;
	}
	return v[ML_MI_MEMTOTAL] == ML_UNKNOWN ? -EINVAL : 0;
}

const char *ml_overcommit_name(int mode)
{
	switch (mode) {
	case 0: return "heuristic";
	case 1: return "always";
	case 2: return "never (strict)";
	default: return "?";
	}
}

/* Calls fn for each entry of a sys directory whose name starts with prefix. Returns 0 or -errno. */
struct sys_entries {
	struct ml_source *src;
	const char *dir, *prefix;
	void (*fn)(struct ml_source *src, const char *dir, const char *name, void *ctx);
	void *ctx;
};

static int sys_entry(const char *name, void *ctx)
{
	struct sys_entries *e = ctx;

	if (strncmp(name, e->prefix, strlen(e->prefix)) == 0)
		e->fn(e->src, e->dir, name, e->ctx);
	return 0;
}

static int each_sys_entry(struct ml_source *src, const char *dir, const char *prefix,
                          void (*fn)(struct ml_source *src, const char *dir, const char *name,
                                     void *ctx),
                          void *ctx)
{
	struct sys_entries e = {src, dir, prefix, fn, ctx};

	return ml_source_each_sys(src, dir, sys_entry, &e);
}

struct blocks {
	struct ml_buf buf;
	uint64_t online;
};

static void count_online_block(struct ml_source *src, const char *dir, const char *name, void *ctx)
{
	struct blocks *b = ctx;
	char path[512];

	snprintf(path, sizeof(path), "%s/%s/state", dir, name);
	if (ml_source_read_sys(src, path, &b->buf) == 0 && strncmp(b->buf.data, "online", 6) == 0)
		b->online++;
}

/* Physical memory: online memory blocks times the block size. */
static uint64_t physical_memory(struct ml_source *src)
{
	struct blocks b = {.online = 0};
	const char *p;
	uint64_t size = ML_UNKNOWN;

	if (ml_source_read_sys(src, "devices/system/memory/block_size_bytes", &b.buf) == 0) {
		p = b.buf.data;
		if (ml_parse_u64(&p, b.buf.data + b.buf.len, 16, &size) < 0)
			size = ML_UNKNOWN;
	}
	if (size != ML_UNKNOWN &&
	    each_sys_entry(src, "devices/system/memory", "memory", count_online_block, &b) < 0)
		size = ML_UNKNOWN;
	ml_buf_free(&b.buf);
	return size == ML_UNKNOWN || b.online == 0 ? ML_UNKNOWN : size * b.online;
}

/* The zram devices: Σ mem_used_total of all, and with cost, the swap areas' among them. */
struct zram {
	struct ml_buf buf;
	uint64_t used;
	bool any;
	const struct ml_swap_device *areas; /* the swap areas, with cost */
	size_t nareas;
	struct ml_swap_cost *cost;
};

/* Reads the first three fields of zram device name's mm_stat (orig_data_size,
 * compr_data_size, mem_used_total) into v. Returns 0, or -errno when it cannot be read or
 * is malformed. */
static int read_mm_stat(struct ml_source *src, const char *dir, const char *name,
                        struct ml_buf *buf, uint64_t v[3])
{
	char path[512];
	const char *p, *end;
	int rc;

	snprintf(path, sizeof(path), "%s/%s/mm_stat", dir, name);
	if ((rc = ml_source_read_sys(src, path, buf)) < 0)
		return rc;
	p = buf->data;
	end = p + buf->len;
	for (int field = 0; field < 3; field++) {
		while (p < end && (*p == ' ' || *p == '\t'))
			p++;
		if (ml_parse_u64(&p, end, 10, &v[field]) < 0)
			return -EINVAL;
	}
	return 0;
}

/* True when zram device name is one of z's swap areas. */
static bool zram_area(const struct zram *z, const char *name)
{
	char dev[300];

	snprintf(dev, sizeof(dev), "/dev/%s", name);
	for (size_t i = 0; i < z->nareas; i++)
		if (strcmp(z->areas[i].name, dev) == 0)
			return true;
	return false;
}

/* Adds a zram device's mem_used_total (mm_stat's third field), and when it is a swap
 * area, its used and stored bytes to the cost of swap. */
static void add_zram(struct ml_source *src, const char *dir, const char *name, void *ctx)
{
	struct zram *z = ctx;
	bool area = zram_area(z, name);
	uint64_t v[3];

	if (read_mm_stat(src, dir, name, &z->buf, v) < 0) {
		if (area)
			z->cost->zram_unreadable = true;
		return;
	}
	z->used += v[2];
	z->any = true;
	/* orig_data_size counts the same-filled pages too (pages_stored), whatever the
	 * kernel's zram.rst says: 256 pages of one byte each stored 1 MiB and used 12 KiB */
	if (area) {
		z->cost->zram_used += v[2];
		z->cost->zram_stored += v[0];
	}
}

/* Σ mem_used_total of the zram devices (0: none; ML_UNKNOWN without /sys), and the cost
 * of swap on those of them that are swap areas areas[0..nareas). With used false, only
 * the cost is asked for: no device is read where no area is zram. */
static uint64_t read_zram(struct ml_source *src, const struct ml_swap_device *areas, size_t nareas,
                          struct ml_swap_cost *cost, bool used)
{
	struct zram z = {.areas = areas, .nareas = nareas, .cost = cost};
	int rc;

	cost->areas = nareas;
	for (size_t i = 0; i < nareas; i++)
		cost->zram_areas += strncmp(areas[i].name, "/dev/zram", 9) == 0;
	if (!used && !cost->zram_areas)
		return 0;
	rc = each_sys_entry(src, "block", "zram", add_zram, &z);
	if (rc < 0 && cost->zram_areas)
		cost->zram_unreadable = true;
	ml_buf_free(&z.buf);
	return rc < 0 ? ML_UNKNOWN : z.used;
}

/* The zswap pool of a meminfo text into c: Zswap and Zswapped, 0 without them (a kernel
 * without zswap, or before 6.5's Zswapped: nothing in its pool). */
static void zswap_of(const char *buf, size_t len, struct ml_swap_cost *c)
{
	if (ml_parse_kb_field(buf, len, "Zswap", &c->zswap) < 0 ||
	    ml_parse_kb_field(buf, len, "Zswapped", &c->zswapped) < 0)
		c->zswap = c->zswapped = 0;
}

/* Copies src[0..len) into dst, turning the kernel's \040-style escapes back into bytes. */
static void unescape_octal(char *dst, size_t cap, const char *src, size_t len)
{
	size_t o = 0;

	for (size_t i = 0; i < len && o + 1 < cap; i++) {
		if (src[i] == '\\' && i + 3 < len && src[i + 1] >= '0' && src[i + 1] <= '3' &&
		    src[i + 2] >= '0' && src[i + 2] <= '7' && src[i + 3] >= '0' &&
		    src[i + 3] <= '7') {
			dst[o++] = (char)((src[i + 1] - '0') * 64 + (src[i + 2] - '0') * 8 +
			                  (src[i + 3] - '0'));
			i += 3;
		} else {
			dst[o++] = src[i];
		}
	}
	dst[o] = '\0';
}

size_t ml_parse_swaps(const char *buf, size_t len, struct ml_swap_device *out, size_t max)
{
	struct ml_line_iter it;
	const char *line;
	size_t n, count = 0;
	bool header = true;

	ml_line_iter_init(&it, buf, len);
	while (ml_line_iter_next(&it, &line, &n) && count < max) {
		struct ml_swap_device *d = &out[count];
		char copy[512];
		long prio;
		unsigned long long size, used;
		int name_len = 0;

		if (header || n == 0 || n >= sizeof(copy)) {
			header = false;
			continue;
		}
		memcpy(copy, line, n);
		copy[n] = '\0';
		if (sscanf(copy, "%*s%n %15s %llu %llu %ld", &name_len, d->type, &size, &used,
		           &prio) != 4)
			continue; /* not a device line */
		unescape_octal(d->name, sizeof(d->name), copy, (size_t)name_len);
		d->size = size * 1024;
		d->used = used * 1024;
		d->priority = prio;
		count++;
	}
	return count;
}

/* Parses "some avg10=0.00 avg60=0.00 avg300=0.00 total=0" lines. */
static void parse_pressure(const char *buf, struct ml_system *sys)
{
	const char *some = strstr(buf, "some "), *full = strstr(buf, "full ");

	for (int i = 0; i < 3; i++)
		sys->pressure_some[i] = sys->pressure_full[i] = -1;
	if (some)
		sscanf(some, "some avg10=%lf avg60=%lf avg300=%lf", &sys->pressure_some[0],
		       &sys->pressure_some[1], &sys->pressure_some[2]);
	if (full)
		sscanf(full, "full avg10=%lf avg60=%lf avg300=%lf", &sys->pressure_full[0],
		       &sys->pressure_full[1], &sys->pressure_full[2]);
	for (int i = 0; i < 3; i++) { /* a share of time: nan, inf or 1e308 is no figure */
		if (!(sys->pressure_some[i] >= 0 && sys->pressure_some[i] <= 100))
			sys->pressure_some[i] = -1;
		if (!(sys->pressure_full[i] >= 0 && sys->pressure_full[i] <= 100))
			sys->pressure_full[i] = -1;
	}
}

/* Notes a counter that contradicts another, once; the figure it spoils is unknown. */
static void inconsistent(struct ml_system *sys, const char *what)
{
	for (size_t i = 0; i < sys->ninconsistent; i++)
		if (sys->inconsistent[i] == what)
			return;
	if (sys->ninconsistent < ML_ARRAY_SIZE(sys->inconsistent))
		sys->inconsistent[sys->ninconsistent++] = what;
}

static void add_row(struct ml_system *sys, const char *name, int depth, uint64_t bytes)
{
	if (sys->nrows < ML_SYSTEM_MAX_ROWS)
		sys->rows[sys->nrows++] = (struct ml_system_row){name, depth, bytes, ML_EXACT};
}

/*
 * Adds the two children of a row of whole bytes: the part processes map (mapped, a lower
 * bound when partial) and the rest (then an upper bound). Both are unknown when mapped is,
 * or when it exceeds the whole (the counters were read at different instants).
 */
static void add_mapped_split(struct ml_system *sys, uint64_t whole, uint64_t mapped, bool partial,
                             const char *mapped_name, const char *rest_name)
{
	bool known_split = whole != ML_UNKNOWN && mapped != ML_UNKNOWN && mapped <= whole;

	add_row(sys, mapped_name, 1, known_split ? mapped : ML_UNKNOWN);
	if (partial)
		sys->rows[sys->nrows - 1].bound = ML_AT_LEAST;
	add_row(sys, rest_name, 1, known_split ? whole - mapped : ML_UNKNOWN);
	if (partial)
		sys->rows[sys->nrows - 1].bound = ML_AT_MOST;
}

/* A counter for a sum: a counter this kernel does not have is 0 there (it has no such memory). */
static uint64_t known(uint64_t v)
{
	return v == ML_UNKNOWN ? 0 : v;
}

/*
 * Adds a parent row and its children; the parent is the sum of the children it knows
 * (unknown when it knows none). Returns the sum for MemTotal's accounting.
 */
static uint64_t add_group(struct ml_system *sys, const char *name, const char *const *names,
                          const uint64_t *values, int n)
{
	uint64_t sum = 0;
	bool any = false;

	for (int i = 0; i < n; i++) {
		sum = ml_add(sum, known(values[i]));
		any = any || values[i] != ML_UNKNOWN;
	}
	add_row(sys, name, 0, any ? sum : ML_UNKNOWN); /* no part known: the whole is not 0 */
	for (int i = 0; i < n; i++)
		add_row(sys, names[i], 1, values[i]);
	return sum;
}

/* KReclaimable less SReclaimable: the kernel's reclaimable pages outside the slab
 * (NR_KERNEL_MISC_RECLAIMABLE: the dma-buf and ION heaps' page pools on Android); unknown
 * before 4.20 (no KReclaimable) or where the two contradict. */
static uint64_t other_reclaimable(const uint64_t *mi)
{
	uint64_t k = mi[ML_MI_KRECLAIMABLE], s = mi[ML_MI_SRECLAIMABLE];

	return k == ML_UNKNOWN || s == ML_UNKNOWN || k < s ? ML_UNKNOWN : k - s;
}

/* The rows of RAM: each top-level row a part of MemTotal, the remainder unexplained. */
static void build_rows(struct ml_system *sys)
{
	const uint64_t *mi = sys->mi;
	static const char *const kernel_names[] = {"slab, reclaimable",
	                                           "slab, unreclaimable",
	                                           "kernel stacks",
	                                           "page tables",
	                                           "secondary page tables",
	                                           "vmalloc",
	                                           "percpu",
	                                           "other reclaimable"};
	const uint64_t kernel[] = {mi[ML_MI_SRECLAIMABLE],  mi[ML_MI_SUNRECLAIM],
	                           mi[ML_MI_KERNELSTACK],   mi[ML_MI_PAGETABLES],
	                           mi[ML_MI_SECPAGETABLES], mi[ML_MI_VMALLOCUSED],
	                           mi[ML_MI_PERCPU],        other_reclaimable(mi)};
	static const char *const compressed_names[] = {"zswap pool", "zram"};
	const uint64_t compressed[] = {mi[ML_MI_ZSWAP], sys->zram};
	uint64_t counted = 0, cache = ml_add(known(mi[ML_MI_BUFFERS]), mi[ML_MI_CACHED]);

	if (sys->physical != ML_UNKNOWN && sys->physical >= mi[ML_MI_MEMTOTAL])
		add_row(sys, "firmware, reserved", 0, sys->physical - mi[ML_MI_MEMTOTAL]);
	counted = ml_add(counted, add_group(sys, "kernel", kernel_names, kernel, 8));
	add_row(sys, "anonymous", 0, mi[ML_MI_ANONPAGES]);
	if (cache != ML_UNKNOWN && known(mi[ML_MI_SHMEM]) > cache) {
		inconsistent(sys, "meminfo's Shmem exceeds Buffers + Cached: page cache unknown");
		cache = ML_UNKNOWN;
	} else if (cache != ML_UNKNOWN) {
		cache -= known(mi[ML_MI_SHMEM]); /* shmem is in Cached: a row of its own */
	}
	add_row(sys, "page cache", 0, cache);
	add_mapped_split(sys, cache, sys->mapped.file, sys->mapped.partial, "mapped by processes",
	                 "not mapped");
	add_row(sys, "shmem", 0, mi[ML_MI_SHMEM]);
	add_mapped_split(sys, mi[ML_MI_SHMEM], sys->mapped.shmem, sys->mapped.partial,
	                 "mapped by processes", "not mapped (tmpfs, SysV, memfd)");
	add_row(sys, "swap cache", 0, mi[ML_MI_SWAPCACHED]);
	counted =
	    ml_add(counted, ml_add(ml_add(known(mi[ML_MI_ANONPAGES]), known(cache)),
	                           ml_add(known(mi[ML_MI_SHMEM]), known(mi[ML_MI_SWAPCACHED]))));
	counted = ml_add(counted, add_group(sys, "compressed", compressed_names, compressed, 2));
	if (sys->gpu_driver != ML_UNKNOWN || sys->gpu_heaps != ML_UNKNOWN) {
		static const char *const gpu_names[] = {"GPU drivers' pages (TTM: amdgpu, xe...)",
		                                        "dma-buf heaps"};
		const uint64_t gpu[] = {sys->gpu_driver, sys->gpu_heaps};
		counted = ml_add(counted, add_group(sys, "GPU buffers", gpu_names, gpu, 2));
		for (size_t i = sys->nrows - 3; sys->gpu_partial && i < sys->nrows; i++)
			sys->rows[i].bound = ML_AT_LEAST;
	}
	add_row(sys, "hugetlb pool", 0, mi[ML_MI_HUGETLB]);
	add_row(sys, "free", 0, mi[ML_MI_MEMFREE]);
	counted = ml_add(counted, ml_add(known(mi[ML_MI_HUGETLB]), known(mi[ML_MI_MEMFREE])));
	if (counted == ML_UNKNOWN) {
		inconsistent(sys, "meminfo's counters add up past 2^64 bytes: unexplained unknown");
		sys->unexplained = sys->overcounted = ML_UNKNOWN;
	} else if (counted <= mi[ML_MI_MEMTOTAL]) {
		sys->unexplained = mi[ML_MI_MEMTOTAL] - counted;
		sys->overcounted = 0;
	} else {
		sys->unexplained = ML_UNKNOWN;
		sys->overcounted = counted - mi[ML_MI_MEMTOTAL];
	}
	add_row(sys, "unexplained", 0, sys->unexplained);
	if (sys->gpu_partial && sys->unexplained != ML_UNKNOWN)
		sys->rows[sys->nrows - 1].bound = ML_AT_MOST;
}

void ml_system_book_gpu(struct ml_system *sys, uint64_t driver, uint64_t heaps, bool partial)
{
	sys->gpu_partial = partial;
	sys->gpu_driver = driver;
	sys->gpu_heaps = heaps;
	sys->nrows = 0;
	build_rows(sys);
}

void ml_system_book_mapped(struct ml_system *sys, const struct ml_mapped *m)
{
	sys->mapped = *m;
	sys->nrows = 0;
	build_rows(sys);
}

/* A /sys file holding one number of kB, in bytes; ML_UNKNOWN when absent or no number. */
static uint64_t sys_kb(struct ml_source *src, const char *path)
{
	struct ml_buf b = {0};
	const char *p;
	uint64_t v = ML_UNKNOWN;

	if (ml_source_read_sys(src, path, &b) == 0) {
		p = b.data;
		if (ml_parse_u64(&p, b.data + b.len, 10, &v) < 0 || v > UINT64_MAX / 1024)
			v = ML_UNKNOWN;
		else
			v *= 1024;
	}
	ml_buf_free(&b);
	return v;
}

/* Android's heap totals (dumpsys meminfo's ION line): the DMA-BUF heaps' pools (5.10 on)
 * and ION's pools and buffers (before). */
static void read_heap_totals(struct ml_source *src, struct ml_system *sys)
{
	uint64_t dma_pools = sys_kb(src, "kernel/dma_heap/total_pools_kb");
	uint64_t ion_pools = sys_kb(src, "kernel/ion/total_pools_kb");

	sys->heap_pools = dma_pools == ML_UNKNOWN   ? ion_pools
	                  : ion_pools == ML_UNKNOWN ? dma_pools
	                                            : ml_add(dma_pools, ion_pools);
	sys->ion_heaps = sys_kb(src, "kernel/ion/total_heaps_kb");
}

int ml_system_read(struct ml_source *src, struct ml_system *sys)
{
	return ml_system_reread(src, sys, ML_UNKNOWN);
}

int ml_system_ram_swap(struct ml_source *src, uint64_t *ram, uint64_t *swap)
{
	struct ml_buf b = {0};
	uint64_t mi[ML_MI_COUNT];
	int rc = ml_source_read(src, "meminfo", &b);

	if (rc == 0)
		rc = ml_parse_meminfo(b.data, b.len, mi);
	ml_buf_free(&b);
	if (rc == 0 && (mi[ML_MI_MEMTOTAL] == ML_UNKNOWN || mi[ML_MI_MEMTOTAL] == 0))
		rc = -ENODATA;
	*ram = rc == 0 ? mi[ML_MI_MEMTOTAL] : ML_UNKNOWN;
	*swap = rc == 0 && mi[ML_MI_SWAPTOTAL] != ML_UNKNOWN ? mi[ML_MI_SWAPTOTAL] : 0;
	return rc;
}

int ml_system_mem_total(struct ml_source *src, uint64_t *bytes)
{
	uint64_t swap;

	return ml_system_ram_swap(src, bytes, &swap);
}

int ml_system_reread(struct ml_source *src, struct ml_system *sys, uint64_t physical)
{
	struct ml_buf b = {0};
	uint64_t v;
	int rc;

	memset(sys, 0, sizeof(*sys));
	sys->gpu_driver = sys->gpu_heaps = ML_UNKNOWN;
	rc = ml_source_read(src, "meminfo", &b);
	if (rc == 0)
		rc = ml_parse_meminfo(b.data, b.len, sys->mi);
	if (rc < 0) {
		ml_buf_free(&b);
		return rc;
	}
	sys->physical = physical != ML_UNKNOWN ? physical : physical_memory(src);
	if (sys->physical != ML_UNKNOWN && sys->physical < sys->mi[ML_MI_MEMTOTAL])
		sys->physical =
		    ML_UNKNOWN; /* blocks that do not hold MemTotal are no count to trust */
	zswap_of(b.data, b.len, &sys->swap_cost);
	if (ml_source_read(src, "swaps", &b) == 0)
		sys->nswaps = ml_parse_swaps(b.data, b.len, sys->swaps, ML_SYSTEM_MAX_SWAPS);
	sys->zram = read_zram(src, sys->swaps, sys->nswaps, &sys->swap_cost, true);
	read_heap_totals(src, sys);
	v = ml_source_read_u64(src, "sys/vm/overcommit_memory");
	sys->overcommit = v <= 2 ? (int)v : -1;
	if (ml_source_read(src, "pressure/memory", &b) == 0)
		parse_pressure(b.data, sys);
	else
		parse_pressure("", sys);
	sys->swap_used = ML_UNKNOWN;
	if (sys->mi[ML_MI_SWAPTOTAL] == ML_UNKNOWN || sys->mi[ML_MI_SWAPFREE] == ML_UNKNOWN)
		;
	else if (sys->mi[ML_MI_SWAPFREE] > sys->mi[ML_MI_SWAPTOTAL])
		inconsistent(sys, "meminfo's SwapFree exceeds SwapTotal: swap used unknown");
	else
		sys->swap_used = sys->mi[ML_MI_SWAPTOTAL] - sys->mi[ML_MI_SWAPFREE];
	sys->swap_cost.swap_used = sys->swap_used;
	sys->mapped = (struct ml_mapped){ML_UNKNOWN, ML_UNKNOWN, false};
	build_rows(sys);
	ml_buf_free(&b);
	return 0;
}

int ml_swap_cost_read(struct ml_source *src, struct ml_swap_cost *c)
{
	struct ml_swap_device areas[ML_SYSTEM_MAX_SWAPS];
	struct ml_buf b = {0};
	uint64_t total, free_;
	size_t nareas;
	int rc;

	memset(c, 0, sizeof(*c));
	rc = ml_source_read(src, "meminfo", &b);
	if (rc < 0)
		goto out;
	if (ml_parse_kb_field(b.data, b.len, "SwapTotal", &total) < 0 ||
	    ml_parse_kb_field(b.data, b.len, "SwapFree", &free_) < 0 || free_ > total) {
		rc = -EINVAL;
		goto out;
	}
	c->swap_used = total - free_;
	zswap_of(b.data, b.len, c);
	if ((rc = ml_source_read(src, "swaps", &b)) < 0)
		goto out;
	nareas = ml_parse_swaps(b.data, b.len, areas, ML_SYSTEM_MAX_SWAPS);
	read_zram(src, areas, nareas, c, false);
out:
	ml_buf_free(&b);
	return rc;
}

/* a * b / d without overflow; 0 when d is 0. */
static uint64_t mul_div(uint64_t a, uint64_t b, uint64_t d)
{
	return d ? (uint64_t)((unsigned __int128)a * b / d) : 0;
}

uint64_t ml_swap_compressed(const struct ml_swap_cost *c, uint64_t swap)
{
	uint64_t in_zswap, on_devices;

	if (swap == ML_UNKNOWN || c->swap_used == ML_UNKNOWN)
		return ML_UNKNOWN;
	if (swap == 0 || c->swap_used == 0)
		return 0;
	/* zswap holds Zswapped of the swapped bytes in Zswap of RAM: a swapped byte is there
	 * with the odds Zswapped / swap used */
	in_zswap = mul_div(swap, c->zswap, c->swap_used);
	on_devices = swap - mul_div(swap, c->zswapped < c->swap_used ? c->zswapped : c->swap_used,
	                            c->swap_used);
	if (c->zram_areas == 0 || on_devices == 0)
		return in_zswap; /* a disk or a file holds it: no RAM */
	if (c->zram_areas < c->areas || c->zram_unreadable)
		return ML_UNKNOWN; /* on zram or on a disk: which, smaps does not say */
	return in_zswap + mul_div(on_devices, c->zram_used, c->zram_stored);
}
