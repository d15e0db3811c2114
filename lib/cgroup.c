/* Memory cgroups: the tree, each one's charge, limits and memory.stat. */
#include <errno.h>
#include <stdbool.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "memledger/cgroup.h"
#include "memledger/ledger.h"
#include "memledger/parse.h"
#include "memledger/source.h"
#include "util.h"

#define V1_UNLIMITED (1ULL << 62) /* limits at or above: PAGE_COUNTER_MAX pages */

/* "key value" of memory.stat, the value as a number: false for another key. */
static bool stat_value(const char *line, size_t n, const char *key, uint64_t *v)
{
	size_t k = strlen(key);
	char *end;

	if (n <= k + 1 || memcmp(line, key, k) != 0 || line[k] != ' ')
		return false;
	*v = strtoull(line + k + 1, &end, 10);
	return end > line + k + 1;
}

int ml_parse_memcg_stat(const char *buf, size_t len, int version, struct ml_cgroup *g)
{
	uint64_t cache = ML_UNKNOWN, slab = ML_UNKNOWN, stack = ML_UNKNOWN, pt = ML_UNKNOWN,
	         percpu = ML_UNKNOWN, vmalloc = ML_UNKNOWN, v;
	bool v1 = version == 1, any = false;
	struct ml_line_iter it;
	const char *l;
	size_t n;

	ml_line_iter_init(&it, buf, len);
	while (ml_line_iter_next(&it, &l, &n)) {
		if (!memchr(l, ' ', n))
			return -EINVAL;
		any = true;
		if (v1) {
			if (stat_value(l, n, "total_rss", &v))
				g->anon = v;
			else if (stat_value(l, n, "total_cache", &v))
				cache = v;
			else if (stat_value(l, n, "total_shmem", &v))
				g->shmem = v;
			else if (stat_value(l, n, "total_mapped_file", &v))
				g->mapped = v;
			continue;
		}
		if (stat_value(l, n, "anon", &v))
			g->anon = v;
		else if (stat_value(l, n, "file", &v))
			cache = v;
		else if (stat_value(l, n, "shmem", &v))
			g->shmem = v;
		else if (stat_value(l, n, "file_mapped", &v))
			g->mapped = v;
		else if (stat_value(l, n, "kernel", &v))
			g->kernel = v;
		else if (stat_value(l, n, "sock", &v))
			g->sock = v;
		else if (stat_value(l, n, "slab", &v))
			slab = v;
		else if (stat_value(l, n, "kernel_stack", &v))
			stack = v;
		else if (stat_value(l, n, "pagetables", &v))
			pt = v;
		else if (stat_value(l, n, "percpu", &v))
			percpu = v;
		else if (stat_value(l, n, "vmalloc", &v))
			vmalloc = v;
	}
	if (!any)
		return -EINVAL;
	/* the page cache without shmem: memory.stat counts shmem in file (v1: cache) */
	g->file = cache == ML_UNKNOWN || g->shmem == ML_UNKNOWN || g->shmem > cache
	              ? ML_UNKNOWN
	              : cache - g->shmem;
	if (!v1 && g->kernel == ML_UNKNOWN && slab != ML_UNKNOWN) /* before 5.18: no "kernel" */
		g->kernel = ml_add_u64(ml_add_u64(ml_add_u64(slab, stack), ml_add_u64(pt, percpu)),
		                       vmalloc == ML_UNKNOWN ? 0 : vmalloc);
	return 0;
}

/* A file of dir (below sys) whole into b. */
static int read_sys(struct ml_source *src, const char *dir, const char *name, struct ml_buf *b)
{
	char path[4096];
	int rc;

	b->len = 0;
	if ((size_t)snprintf(path, sizeof(path), "%s/%s", dir, name) >= sizeof(path))
		return -ENAMETOOLONG;
	rc = ml_source_read_sys(src, path, b);
	if (rc < 0)
		b->len = 0;
	return rc;
}

/* A number file ("123", or "max": unlimited). Returns the value, ML_UNKNOWN when missing
 * or unlimited (*unlimited set). */
static uint64_t read_number(struct ml_source *src, const char *dir, const char *name,
                            struct ml_buf *b, bool *unlimited)
{
	char *end;
	uint64_t v;

	*unlimited = false;
	if (read_sys(src, dir, name, b) < 0 || b->len == 0)
		return ML_UNKNOWN;
	if (b->len >= 3 && memcmp(b->data, "max", 3) == 0) {
		*unlimited = true;
		return ML_UNKNOWN;
	}
	v = strtoull(b->data, &end, 10);
	if (end == b->data)
		return ML_UNKNOWN;
	if (v >= V1_UNLIMITED) {
		*unlimited = true;
		return ML_UNKNOWN;
	}
	return v;
}

static uint64_t number(struct ml_source *src, const char *dir, const char *name, struct ml_buf *b)
{
	bool unlimited;

	return read_number(src, dir, name, b, &unlimited);
}

/* "key N" of a flat keyed file (memory.events, oom_control). */
static uint64_t keyed(const struct ml_buf *b, const char *key)
{
	struct ml_line_iter it;
	const char *l;
	size_t n;
	uint64_t v;

	ml_line_iter_init(&it, b->data, b->len);
	while (ml_line_iter_next(&it, &l, &n))
		if (stat_value(l, n, key, &v))
			return v;
	return ML_UNKNOWN;
}

/* Reads the cgroup at dir (below sys) into g. */
static void read_one(struct ml_source *src, const char *dir, int version, struct ml_cgroup *g,
                     struct ml_buf *b)
{
	bool un;
	uint64_t memsw, used;

	if (version == 2) {
		g->current = number(src, dir, "memory.current", b);
		g->max = read_number(src, dir, "memory.max", b, &un);
		g->unlimited |= un ? 1 : 0;
		g->high = read_number(src, dir, "memory.high", b, &un);
		g->unlimited |= un ? 2 : 0;
		g->low = number(src, dir, "memory.low", b);
		g->min = number(src, dir, "memory.min", b);
		g->swap = number(src, dir, "memory.swap.current", b);
		g->oom_group = number(src, dir, "memory.oom.group", b) == 1;
		if (read_sys(src, dir, "memory.events", b) == 0) {
			g->oom = keyed(b, "oom");
			g->oom_kill = keyed(b, "oom_kill");
		}
		if (read_sys(src, dir, "memory.pressure", b) == 0) {
			const char *p = memmem(b->data, b->len, "some avg10=", 11);
			if (p && p + 11 < b->data + b->len)
				g->pressure = strtod(p + 11, NULL);
		}
	} else {
		g->current = number(src, dir, "memory.usage_in_bytes", b);
		g->max = read_number(src, dir, "memory.limit_in_bytes", b, &un);
		g->unlimited |= un ? 1 : 0;
		g->soft = read_number(src, dir, "memory.soft_limit_in_bytes", b, &un);
		g->unlimited |= un ? 4 : 0;
		memsw = number(src, dir, "memory.memsw.usage_in_bytes", b);
		used = g->current;
		g->swap = memsw == ML_UNKNOWN || used == ML_UNKNOWN || memsw < used ? ML_UNKNOWN
		                                                                    : memsw - used;
		g->kernel = number(src, dir, "memory.kmem.usage_in_bytes", b);
		g->sock = 0; /* v1 charges sockets to kmem.tcp, within kmem */
		if (read_sys(src, dir, "memory.oom_control", b) == 0)
			g->oom_kill = keyed(b, "oom_kill");
	}
	if (read_sys(src, dir, "memory.stat", b) == 0)
		ml_parse_memcg_stat(b->data, b->len, version, g);
	/* the rows add up to current, or say by how much the counters overlap */
	uint64_t sum = 0;
	uint64_t parts[] = {g->anon, g->file, g->shmem, g->kernel, g->sock};
	bool known = g->current != ML_UNKNOWN;
	for (size_t i = 0; i < sizeof(parts) / sizeof(parts[0]); i++) {
		known = known && parts[i] != ML_UNKNOWN;
		sum += parts[i] == ML_UNKNOWN ? 0 : parts[i];
	}
	g->overlap = !known ? ML_UNKNOWN : sum > g->current ? sum - g->current : 0;
	g->other = known && sum <= g->current ? g->current - sum : ML_UNKNOWN;
}

/* The walk: the tree below dir, depth first. */
struct walk {
	struct ml_source *src;
	int version;
	struct ml_cgroups *out;
	size_t cap;
	struct ml_buf buf;
	char dir[4096]; /* below sys: "fs/cgroup/memory/a/b" */
	size_t base;    /* the hierarchy's root in dir */
	unsigned depth;
};

static int add(struct walk *w)
{
	struct ml_cgroup *g;
	const char *rel = w->dir + w->base;

	if (w->out->n == w->cap) {
		size_t cap = w->cap ? w->cap * 2 : 64;
		struct ml_cgroup *v = realloc(w->out->v, cap * sizeof(*v));
		if (!v)
			return -ENOMEM;
		w->out->v = v;
		w->cap = cap;
	}
	g = &w->out->v[w->out->n];
	memset(g, 0, sizeof(*g));
	g->anon = g->file = g->mapped = g->shmem = g->kernel = g->sock = ML_UNKNOWN;
	g->low = g->min = g->high = g->soft = g->oom = g->oom_kill = ML_UNKNOWN;
	g->pressure = -1;
	g->depth = w->depth;
	if (!(g->path = strdup(*rel ? rel : "/")))
		return -ENOMEM;
	w->out->n++;
	read_one(w->src, w->dir, w->version, g, &w->buf);
	return 0;
}

static int cmp_name(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The entries of dir, malloc'ed and sorted: those that are directories are cgroups. */
struct names {
	char **v;
	size_t n, cap;
};

static int collect(const char *name, void *ctx)
{
	struct names *ns = ctx;

	if (strncmp(name, "memory.", 7) == 0 || strncmp(name, "cgroup.", 7) == 0)
		return 0; /* the controller's files, the cheap way */
	if (ns->n == ns->cap) {
		size_t cap = ns->cap ? ns->cap * 2 : 16;
		char **v = realloc(ns->v, cap * sizeof(*v));
		if (!v)
			return -ENOMEM;
		ns->v = v;
		ns->cap = cap;
	}
	if (!(ns->v[ns->n] = strdup(name)))
		return -ENOMEM;
	ns->n++;
	return 0;
}

static int any_entry(const char *name, void *ctx)
{
	(void)name;
	(void)ctx;
	return 1; /* one is enough: a directory */
}

static int walk(struct walk *w)
{
	struct names ns = {0};
	size_t len = strlen(w->dir);
	int rc = add(w);

	if (rc == 0 && w->depth < 64)
		rc = ml_source_each_sys(w->src, w->dir, collect, &ns);
	if (rc == 0 && ns.n)
		qsort(ns.v, ns.n, sizeof(*ns.v), cmp_name);
	for (size_t i = 0; rc == 0 && i < ns.n; i++) {
		if ((size_t)snprintf(w->dir + len, sizeof(w->dir) - len, "/%s", ns.v[i]) >=
		        sizeof(w->dir) - len ||
		    ml_source_each_sys(w->src, w->dir, any_entry, NULL) != 1)
			continue; /* a file, not a cgroup (in an archive too) */
		w->depth++;
		rc = walk(w);
		w->depth--;
	}
	w->dir[len] = '\0';
	for (size_t i = 0; i < ns.n; i++)
		free(ns.v[i]);
	free(ns.v);
	return rc;
}

/* Which hierarchy holds the memory controller: its directory below sys and its version. */
static int find_hierarchy(struct ml_source *src, char *dir, size_t len, struct ml_buf *b)
{
	static const char *const v2[] = {"fs/cgroup", "fs/cgroup/unified"};

	if (read_sys(src, "fs/cgroup/memory", "memory.usage_in_bytes", b) == 0) {
		snprintf(dir, len, "fs/cgroup/memory");
		return 1;
	}
	for (size_t i = 0; i < sizeof(v2) / sizeof(v2[0]); i++) {
		if (read_sys(src, v2[i], "cgroup.controllers", b) < 0)
			continue;
		for (const char *p = b->data; p && p < b->data + b->len;) {
			const char *end = memchr(p, ' ', (size_t)(b->data + b->len - p));
			size_t n = (size_t)((end ? end : b->data + b->len) - p);
			while (n && (p[n - 1] == '\n' || p[n - 1] == ' '))
				n--;
			if (n == 6 && memcmp(p, "memory", 6) == 0) {
				snprintf(dir, len, "%s", v2[i]);
				return 2;
			}
			p = end ? end + 1 : NULL;
		}
	}
	return -ENOENT;
}

int ml_cgroups_read(struct ml_source *src, struct ml_cgroups *out)
{
	struct walk w = {.src = src, .out = out};
	int rc;

	memset(out, 0, sizeof(*out));
	w.version = find_hierarchy(src, w.dir, sizeof(w.dir), &w.buf);
	if (w.version < 0) {
		ml_buf_free(&w.buf);
		return w.version;
	}
	out->version = w.version;
	w.base = strlen(w.dir);
	rc = walk(&w);
	ml_buf_free(&w.buf);
	if (rc < 0)
		ml_cgroups_free(out);
	return rc;
}

bool ml_cgroup_inside(const char *p, const char *g)
{
	size_t n = strlen(g);

	if (strcmp(g, "/") == 0)
		return true;
	return strncmp(p, g, n) == 0 && (p[n] == '\0' || p[n] == '/');
}

void ml_cgroups_free(struct ml_cgroups *c)
{
	for (size_t i = 0; i < c->n; i++)
		free(c->v[i].path);
	free(c->v);
	memset(c, 0, sizeof(*c));
}
