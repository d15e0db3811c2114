/* GPU and dma-buf memory per process: the fds and mappings each holds, booked once. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "memledger/gpu.h"
#include "memledger/ledger.h"
#include "memledger/scan.h"
#include "memledger/source.h"
#include "util.h"

void ml_gpu_free(struct ml_proc_gpu *g)
{
	if (!g)
		return;
	free(g->clients);
	free(g->bufs);
	free(g);
}

/* What a walk of one process's fds gathers. */
struct gpu_walk {
	struct ml_source *src;
	int dirfd;
	struct ml_buf *buf;
	struct ml_proc_gpu *g;
	size_t ccap, bcap;
	char *bad;
};

static int add_client(struct gpu_walk *w, const struct ml_drm_client *c, bool stats)
{
	struct ml_proc_gpu *g = w->g;

	for (size_t i = 0; stats && i < g->nclients; i++)
		if (ml_drm_same_client(&g->clients[i].c, c))
			return 0; /* another fd of it */
	if (ml_grow((void **)&g->clients, &w->ccap, g->nclients, 1, sizeof(*g->clients)) < 0)
		return -ENOMEM;
	memset(&g->clients[g->nclients], 0, sizeof(*g->clients));
	g->clients[g->nclients].c = *c;
	g->clients[g->nclients].stats = stats;
	g->nclients++;
	return 0;
}

/* The buffer ino of w's process, added when new. NULL when out of memory. */
static struct ml_gpu_buf *buf_of(struct gpu_walk *w, uint64_t ino)
{
	struct ml_proc_gpu *g = w->g;
	struct ml_gpu_buf *b;

	for (size_t i = 0; i < g->nbufs; i++)
		if (g->bufs[i].ino == ino)
			return &g->bufs[i];
	if (ml_grow((void **)&g->bufs, &w->bcap, g->nbufs, 1, sizeof(*g->bufs)) < 0)
		return NULL;
	b = &g->bufs[g->nbufs++];
	memset(b, 0, sizeof(*b));
	b->ino = ino;
	b->size = ML_UNKNOWN;
	return b;
}

/* Reads fdinfo/FD into w->buf. Returns 0, 1 when the fd is closed since, or -errno. */
static int read_fdinfo(struct gpu_walk *w, int fd)
{
	char name[32];
	int f, rc;

	snprintf(name, sizeof(name), "fdinfo/%d", fd);
	f = ml_source_open_at(w->src, w->dirfd, name);
	if (f == -ENOENT)
		return 1;
	snprintf(w->bad, 32, "%s", name);
	if (f < 0)
		return f;
	rc = ml_read_whole(f, w->buf);
	close(f);
	return rc;
}

/* Whether fd of the live process still links to a DRM device (else: any source). */
static bool still_drm(struct gpu_walk *w, int fd)
{
	char name[32], target[64];
	ssize_t n;

	if (!ml_source_is_procfs(w->src))
		return true;
	snprintf(name, sizeof(name), "fd/%d", fd);
	n = ml_source_readlink_at(w->src, w->dirfd, name, target, sizeof(target));
	return n > 0 && ml_gpu_fd_kind(target, (size_t)n) == ML_FD_DRM;
}

static int on_fd(int fd, const char *target, size_t len, void *ctx)
{
	struct gpu_walk *w = ctx;
	enum ml_gpu_fd kind = ml_gpu_fd_kind(target, len);
	int rc;

	if (kind == ML_FD_OTHER)
		return 0;
	rc = read_fdinfo(w, fd);
	if (rc != 0)
		return rc > 0 ? 0 : rc;
	if (kind == ML_FD_DRM) {
		struct ml_drm_client c;
		rc = ml_parse_drm_fdinfo(w->buf->data, w->buf->len, &c);
		if (rc == -ENOENT && !still_drm(w, fd))
			return 0;    /* closed and the number reused since its link was read */
		if (rc == -ENOENT) { /* a driver without usage stats: its memory is unknown */
			memset(&c, 0, sizeof(c));
			snprintf(c.driver, sizeof(c.driver), "?");
			c.client_id = ML_UNKNOWN;
		} else if (rc < 0) {
			snprintf(w->bad, 32, "fdinfo/%d", fd);
			return -EINVAL;
		}
		return add_client(w, &c, rc == 0);
	} else {
		struct ml_dmabuf d;
		struct ml_gpu_buf *b;
		rc = ml_parse_dmabuf_fdinfo(w->buf->data, w->buf->len, &d);
		if (rc == -ENOENT && ml_source_is_procfs(w->src))
			return 0; /* closed and the number reused since its link was read */
		if (rc < 0) {
			snprintf(w->bad, 32, "fdinfo/%d", fd);
			return -EINVAL;
		}
		if (!(b = buf_of(w, d.ino)))
			return -ENOMEM;
		b->size = d.size;
		memcpy(b->exp_name, d.exp_name, sizeof(b->exp_name));
		return 0;
	}
}

/* A maps line of a mapped dma-buf ("START-END PERMS OFFSET DEV INODE /dmabuf:..."). */
static int on_maps_line(const char *line, size_t len, void *ctx)
{
	struct gpu_walk *w = ctx;
	char buf[512];
	unsigned long long start, end, ino;
	int path = 0;
	struct ml_gpu_buf *b;

	if (len >= sizeof(buf) || !memmem(line, len, "dmabuf", 6))
		return 0;
	memcpy(buf, line, len);
	buf[len] = '\0';
	if (sscanf(buf, "%llx-%llx %*s %*s %*s %llu %n", &start, &end, &ino, &path) != 3 ||
	    path == 0 || end < start)
		return 0;
	if (strncmp(buf + path, "/dmabuf:", 8) != 0 &&
	    strncmp(buf + path, "anon_inode:dmabuf", 17) != 0)
		return 0;
	if (!(b = buf_of(w, ino)))
		return -ENOMEM;
	b->mapped += end - start;
	return 0;
}

/* The mapped dma-bufs: maps, or what a snapshot recorded of it. */
static int read_mapped(struct gpu_walk *w)
{
	int fd = ml_source_open_at(w->src, w->dirfd, "maps"), rc;

	snprintf(w->bad, 32, "maps");
	if (fd == -ENOENT && !ml_source_is_procfs(w->src)) {
		fd = ml_source_open_at(w->src, w->dirfd, "memledger.dmabuf-maps");
		snprintf(w->bad, 32, "memledger.dmabuf-maps");
	}
	if (fd < 0)
		return fd;
	rc = ml_read_lines(fd, w->buf, on_maps_line, w);
	close(fd);
	return rc;
}

int ml_gpu_read_proc(struct ml_source *src, int dirfd, struct ml_buf *buf, struct ml_proc_gpu **out,
                     char *bad)
{
	struct gpu_walk w = {.src = src, .dirfd = dirfd, .buf = buf, .bad = bad};
	int rc;

	*out = NULL;
	if (!(w.g = calloc(1, sizeof(*w.g))))
		return -ENOMEM;
	w.g->vram = w.g->gpu = w.g->dmabuf = ML_UNKNOWN;
	snprintf(bad, 32, "fd");
	rc = ml_source_each_fd(src, dirfd, on_fd, &w);
	if (rc == 0) {
		rc = read_mapped(&w);
		/* maps not captured, or refused: what it maps alone is unknown, not its fds */
		if (rc == -EACCES || (rc == -ENOENT && !ml_source_is_procfs(src))) {
			w.g->maps_unread = true;
			rc = 0;
		}
	}
	if (rc < 0) {
		ml_gpu_free(w.g);
		return rc;
	}
	*out = w.g;
	return 0;
}

/*
 * True when a driver's system-memory buffers are shmem pages (i915, msm, panfrost and the
 * other drm_gem_shmem drivers), which /proc/meminfo already counts in Shmem; false for
 * TTM's page pools (amdgpu, radeon, nouveau, xe), which no meminfo row counts.
 */
static bool driver_shmem(const char *driver)
{
	static const char *const shmem[] = {"i915", "msm",      "panfrost",   "panthor", "lima",
	                                    "v3d",  "vc4",      "virtio_gpu", "etnaviv", "asahi",
	                                    "vgem", "rockchip", "tegra",      "lsdc",    "udl"};

	for (size_t i = 0; i < ML_ARRAY_SIZE(shmem); i++)
		if (strcmp(driver, shmem[i]) == 0)
			return true;
	return false;
}

/* Σ resident of c's device (vram) or system-memory regions; ML_UNKNOWN when a region
 * gives no resident figure, or the driver no figures. */
static uint64_t client_bytes(const struct ml_gpu_client *c, bool vram)
{
	uint64_t sum = 0;

	if (!c->stats)
		return ML_UNKNOWN;
	for (size_t i = 0; i < c->c.nregions; i++)
		if (c->c.regions[i].vram == vram)
			sum = ml_add(sum, c->c.regions[i].resident);
	return sum;
}

/* One holding of a client or a buffer, to count holders across processes. */
struct holding {
	const struct ml_proc *p;
	size_t i; /* its index in p->gpu's clients or bufs */
};

static int cmp_client(const void *a, const void *b)
{
	const struct holding *x = a, *y = b;
	const struct ml_drm_client *c = &x->p->gpu->clients[x->i].c,
	                           *d = &y->p->gpu->clients[y->i].c;
	int r = strcmp(c->driver, d->driver);

	if (!r)
		r = strcmp(c->pdev, d->pdev);
	if (!r)
		r = (c->client_id > d->client_id) - (c->client_id < d->client_id);
	if (!r)
		r = (x->p->pid > y->p->pid) - (x->p->pid < y->p->pid);
	return r;
}

static int cmp_buf(const void *a, const void *b)
{
	const struct holding *x = a, *y = b;
	uint64_t i = x->p->gpu->bufs[x->i].ino, j = y->p->gpu->bufs[y->i].ino;

	if (i != j)
		return (i > j) - (i < j);
	return (x->p->pid > y->p->pid) - (x->p->pid < y->p->pid);
}

/* x's share of bytes among k holders, x the first (which takes the remainder) or not. */
static uint64_t share(uint64_t bytes, size_t k, bool first)
{
	if (bytes == ML_UNKNOWN)
		return ML_UNKNOWN;
	return bytes / k + (first ? bytes % k : 0);
}

/* The holdings of clients (bufs false) or buffers of the scan's processes, sorted so that
 * the holders of one are adjacent, lowest PID first. */
static long holdings(const struct ml_scan *s, bool bufs, struct holding **out)
{
	size_t n = 0, k = 0;

	for (size_t i = 0; i < s->nprocs; i++)
		if (s->procs[i].gpu)
			n += bufs ? s->procs[i].gpu->nbufs : s->procs[i].gpu->nclients;
	*out = malloc((n ? n : 1) * sizeof(**out));
	if (!*out)
		return -ENOMEM;
	for (size_t i = 0; i < s->nprocs; i++) {
		const struct ml_proc_gpu *g = s->procs[i].gpu;
		for (size_t j = 0; g && j < (bufs ? g->nbufs : g->nclients); j++)
			(*out)[k++] = (struct holding){&s->procs[i], j};
	}
	if (n)
		qsort(*out, n, sizeof(**out), bufs ? cmp_buf : cmp_client);
	return (long)n;
}

/* Whether holdings a and b are of one client (a client of unknown id is its own). */
static bool one_client(const struct holding *a, const struct holding *b)
{
	return ml_drm_same_client(&a->p->gpu->clients[a->i].c, &b->p->gpu->clients[b->i].c);
}

static bool one_buf(const struct holding *a, const struct holding *b)
{
	return a->p->gpu->bufs[a->i].ino == b->p->gpu->bufs[b->i].ino;
}

int ml_gpu_book(struct ml_scan *s)
{
	struct holding *h;
	long n;

	for (size_t i = 0; i < s->nprocs; i++)
		if (s->procs[i].gpu)
			s->procs[i].gpu->vram = s->procs[i].gpu->gpu = s->procs[i].gpu->dmabuf = 0;
	if ((n = holdings(s, false, &h)) < 0)
		return -ENOMEM;
	for (long a = 0, b; a < n; a = b) {
		for (b = a + 1; b < n && one_client(&h[a], &h[b]); b++)
			;
		for (long i = a; i < b; i++) {
			struct ml_proc_gpu *g = h[i].p->gpu;
			struct ml_gpu_client *c = &g->clients[h[i].i];
			c->first = i == a;
			c->vram = client_bytes(c, true);
			c->sys = client_bytes(c, false);
			g->vram = ml_add(g->vram, share(c->vram, (size_t)(b - a), i == a));
			g->gpu = ml_add(g->gpu, share(c->sys, (size_t)(b - a), i == a));
		}
	}
	free(h);
	if ((n = holdings(s, true, &h)) < 0)
		return -ENOMEM;
	for (long a = 0, b; a < n; a = b) {
		uint64_t size = ML_UNKNOWN, mapped = 0;
		const char *exp_name = "";
		for (b = a; b < n && one_buf(&h[a], &h[b]); b++) { /* what any holder knows */
			const struct ml_gpu_buf *x = &h[b].p->gpu->bufs[h[b].i];
			if (x->size != ML_UNKNOWN)
				size = x->size;
			if (x->exp_name[0])
				exp_name = x->exp_name;
			if (x->mapped > mapped)
				mapped = x->mapped;
		}
		if (size == ML_UNKNOWN) /* mapped, no fd open anywhere: at least what is mapped */
			size = mapped;
		for (long i = a; i < b; i++) {
			struct ml_proc_gpu *g = h[i].p->gpu;
			struct ml_gpu_buf *x = &g->bufs[h[i].i];
			x->first = i == a;
			x->size = size;
			if (x->exp_name != exp_name)
				snprintf(x->exp_name, sizeof(x->exp_name), "%s", exp_name);
			g->dmabuf = ml_add(g->dmabuf, share(size, (size_t)(b - a), i == a));
		}
	}
	free(h);
	for (size_t i = 0; i < s->nprocs; i++) /* its mapped dma-bufs unknown: the sum is */
		if (s->procs[i].gpu && s->procs[i].gpu->maps_unread)
			s->procs[i].gpu->dmabuf = ML_UNKNOWN;
	return 0;
}

/* True for an exporter whose buffers are pages no meminfo row and no client counts. */
static bool heap_exporter(const char *name, const struct ml_scan *s)
{
	if (!name[0] || strcmp(name, "udmabuf") == 0 || strcmp(name, "drm_prime") == 0 ||
	    driver_shmem(name))
		return false;
	for (size_t i = 0; i < s->nprocs; i++) /* a DRM driver's own buffers */
		for (size_t j = 0; s->procs[i].gpu && j < s->procs[i].gpu->nclients; j++)
			if (strcmp(s->procs[i].gpu->clients[j].c.driver, name) == 0)
				return false;
	static const char *const ttm[] = {"amdgpu", "radeon", "nouveau", "xe", "vmwgfx", "qxl"};
	for (size_t i = 0; i < ML_ARRAY_SIZE(ttm); i++)
		if (strcmp(name, ttm[i]) == 0)
			return false;
	return true;
}

int ml_gpu_totals(struct ml_source *src, const struct ml_scan *s, struct ml_gpu_totals *t)
{
	struct ml_dmabuf *kept = NULL;
	long nkept;

	memset(t, 0, sizeof(*t));
	t->partial = s->unreadable > 0 || s->hidden[0];
	for (size_t i = 0; i < s->nprocs; i++) {
		const struct ml_proc *p = &s->procs[i];
		if (!p->gpu || p->gpu->maps_unread)
			t->partial = true;
		for (size_t j = 0; p->gpu && j < p->gpu->nclients; j++) {
			const struct ml_gpu_client *c = &p->gpu->clients[j];
			if (!c->first || driver_shmem(c->c.driver))
				continue;
			if (c->sys == ML_UNKNOWN)
				t->partial = true;
			else
				t->sys_own = ml_add(t->sys_own, c->sys);
		}
		for (size_t j = 0; p->gpu && j < p->gpu->nbufs; j++) {
			const struct ml_gpu_buf *b = &p->gpu->bufs[j];
			if (b->first && heap_exporter(b->exp_name, s))
				t->dmabuf_own = ml_add(t->dmabuf_own, b->size);
		}
	}
	if ((nkept = ml_gpu_kernel_bufs(src, s, &kept)) < 0)
		return (int)nkept;
	for (long i = 0; i < nkept; i++)
		if (heap_exporter(kept[i].exp_name, s))
			t->dmabuf_own = ml_add(t->dmabuf_own, kept[i].size);
	free(kept);
	return 0;
}

static int any_name(const char *name, void *ctx)
{
	(void)name, (void)ctx;
	return 1;
}

bool ml_gpu_present(struct ml_source *src)
{
	return ml_source_each_sys(src, "class/drm", any_name, NULL) == 1 ||
	       ml_source_each_sys(src, "class/dma_heap", any_name, NULL) == 1 ||
	       ml_source_each_sys(src, "kernel/dmabuf/buffers", any_name, NULL) == 1;
}

/* What a walk of the kernel's dma-buf list gathers. */
struct kernel_walk {
	struct ml_source *src;
	const struct ml_scan *s;
	struct ml_dmabuf *v;
	size_t n, cap;
	struct ml_buf buf;
};

static bool held(const struct ml_scan *s, uint64_t ino)
{
	for (size_t i = 0; i < s->nprocs; i++)
		for (size_t j = 0; s->procs[i].gpu && j < s->procs[i].gpu->nbufs; j++)
			if (s->procs[i].gpu->bufs[j].ino == ino)
				return true;
	return false;
}

static int on_kernel_buf(const char *name, void *ctx)
{
	struct kernel_walk *w = ctx;
	char path[128];
	struct ml_dmabuf b = {0};
	char *end;

	b.ino = strtoull(name, &end, 10);
	if (*end || end == name || held(w->s, b.ino))
		return 0;
	snprintf(path, sizeof(path), "kernel/dmabuf/buffers/%s/size", name);
	if (ml_source_read_sys(w->src, path, &w->buf) < 0 ||
	    (b.size = strtoull(w->buf.data, &end, 10), end == w->buf.data))
		return 0; /* freed since listed */
	b.count = ML_UNKNOWN;
	snprintf(path, sizeof(path), "kernel/dmabuf/buffers/%s/exporter_name", name);
	if (ml_source_read_sys(w->src, path, &w->buf) == 0)
		snprintf(b.exp_name, sizeof(b.exp_name), "%.*s", (int)strcspn(w->buf.data, "\n"),
		         w->buf.data);
	if (ml_grow((void **)&w->v, &w->cap, w->n, 1, sizeof(*w->v)) < 0)
		return -ENOMEM;
	w->v[w->n++] = b;
	return 0;
}

long ml_gpu_kernel_bufs(struct ml_source *src, const struct ml_scan *s, struct ml_dmabuf **out)
{
	struct kernel_walk w = {.src = src, .s = s};
	int rc = ml_source_each_sys(src, "kernel/dmabuf/buffers", on_kernel_buf, &w);

	ml_buf_free(&w.buf);
	if (rc == -ENOMEM) {
		free(w.v);
		return -ENOMEM;
	}
	*out = w.v;
	return (long)w.n;
}
