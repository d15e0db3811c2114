/* memledger gpu: GPU devices and dma-buf exporters, each with its clients or buffers. */
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "commands.h"
#include "run.h"
#include "memledger.h"
#include "memledger/gpu.h"
#include "msg.h"
#include "procs.h"
#include "view.h"

enum gpu_field {
	F_DEVICE,
	F_DRIVER,
	F_NAME,
	F_ITEMS,
	F_PIDS,
	F_COMMAND,
	F_ROLE,
	F_VRAM,
	F_GPU,
	F_DMABUF,
	F_SHARED,
	F_PURGEABLE,
	F_ACTIVE,
	F_ALLOCATED,
};

static const struct colinfo infos[] = {
    {"DEVICE", COL_STR, OUT_TREE, F_DEVICE,
     "a GPU (its PCI address), or dma-buf; under it each client (DRM client id, NVML "
     "process) or buffer (inode)",
     0, VIEW_TOTAL_NONE},
    {"DRIVER", COL_STR, 0, F_DRIVER, "the DRM driver (drm-driver), nvidia, or the dma-buf exporter",
     0, VIEW_TOTAL_NONE},
    {"NAME", COL_STR, 0, F_NAME, "the device's name, where NVML gives it", 0, VIEW_TOTAL_NONE},
    {"ITEMS", COL_COUNT, OUT_RIGHT, F_ITEMS, "a device's clients, an exporter's buffers", 0,
     VIEW_TOTAL_SUM},
    {"PIDS", COL_STR, 0, F_PIDS,
     "the processes holding a client or buffer (kernel: a buffer no process holds; -: none "
     "of those read, some not read)",
     0, VIEW_TOTAL_NONE},
    {"COMMAND", COL_STR, OUT_KEY | OUT_PATHS, F_COMMAND, "the first holder's command line", 0,
     VIEW_TOTAL_NONE},
    {"ROLE", COL_STR, 0, F_ROLE,
     "the first holder's role in a multi-process app: gpu-process, renderer... (shown when "
     "one has it)",
     0, VIEW_TOTAL_NONE},
    {"VRAM", COL_SIZE, OUT_RIGHT, F_VRAM,
     "device memory, not RAM: resident in vram/local regions (NVML: used by the device or "
     "process)",
     0, VIEW_TOTAL_SUM},
    {"GPU", COL_SIZE, OUT_RIGHT, F_GPU, "system memory (RAM): resident in gtt/system/cpu regions",
     0, VIEW_TOTAL_SUM},
    {"DMABUF", COL_SIZE, OUT_RIGHT, F_DMABUF, "size of dma-bufs (fdinfo size)", 0, VIEW_TOTAL_SUM},
    {"SHARED", COL_SIZE, OUT_RIGHT, F_SHARED,
     "of a client's buffers, those shared with other clients (drm-shared)", 0, VIEW_TOTAL_NONE},
    {"PURGEABLE", COL_SIZE, OUT_RIGHT, F_PURGEABLE,
     "resident and marked purgeable by the client (drm-purgeable)", 0, VIEW_TOTAL_SUM},
    {"ACTIVE", COL_SIZE, OUT_RIGHT, F_ACTIVE, "in use by the GPU's engines now (drm-active)", 0,
     VIEW_TOTAL_SUM},
    {"ALLOCATED", COL_SIZE, OUT_RIGHT, F_ALLOCATED, "allocated, resident or not (drm-total)", 0,
     VIEW_TOTAL_SUM},
};

static const char *const default_columns[] = {"DEVICE", "DRIVER", "ITEMS",  "PIDS",
                                              "VRAM",   "GPU",    "DMABUF", "COMMAND"};

static const struct view_cols gpu_cols = VIEW_COLS(infos, default_columns);

/* What a row is of: a DRM device, an NVIDIA one, or a dma-buf exporter. */
enum gpu_kind { K_DRM, K_NVML, K_DMABUF };

/* A device (an exporter) or, under it, a client (a buffer). */
struct gpu_row {
	enum gpu_kind kind;
	char device[48];
	char driver[64];
	char name[96];
	char *pids;             /* malloc'ed; NULL for a device */
	char *command;          /* malloc'ed; NULL for a device */
	char role[ML_ROLE_LEN]; /* the first holder's; "" none */
	uint64_t items;         /* a device's clients or buffers; blank for a child */
	uint64_t vram, gpu, dmabuf, shared, purgeable, active, allocated;
	struct gpu_row *children;
	size_t nchildren, cap;
};

static uint64_t row_number(const void *row, const struct colinfo *c)
{
	const struct gpu_row *r = row;

	switch (c->id) {
	case F_ITEMS: return r->items;
	case F_VRAM: return r->vram;
	case F_GPU: return r->gpu;
	case F_DMABUF: return r->dmabuf;
	case F_SHARED: return r->shared;
	case F_PURGEABLE: return r->purgeable;
	case F_ACTIVE: return r->active;
	case F_ALLOCATED: return r->allocated;
	default: return ML_UNKNOWN;
	}
}

static const char *row_text(const void *row, const struct colinfo *c)
{
	const struct gpu_row *r = row;

	switch (c->id) {
	case F_DEVICE: return r->device;
	case F_DRIVER: return r->driver;
	case F_NAME: return r->name[0] ? r->name : NULL;
	case F_PIDS: return r->pids;
	case F_COMMAND: return r->command;
	case F_ROLE: return r->role;
	default: return NULL;
	}
}

/* A device row leaves the holders' columns blank, a child row the count; a buffer has
 * no client's figures, a client no buffer's size. */
static bool row_blank(const void *row, const struct colinfo *c)
{
	const struct gpu_row *r = row;

	if (r->kind == K_DMABUF && c->id >= F_VRAM && c->id != F_DMABUF)
		return true;
	if (r->kind != K_DMABUF && c->id == F_DMABUF)
		return true;
	if (r->kind == K_NVML && (c->id > F_DMABUF || c->id == F_GPU))
		return true; /* NVML tells device memory alone */
	if (c->id == F_NAME)
		return r->kind != K_NVML || r->pids; /* NVML names its devices */
	if (!r->pids)
		return c->id == F_PIDS || c->id == F_COMMAND;
	return c->id == F_ITEMS || c->id == F_DRIVER;
}

struct gpu_state {
	struct gpu_row *rows;
	size_t n, cap;
	struct ml_roles roles; /* of the scan's processes */
};

static struct gpu_row *new_row(struct gpu_row **v, size_t *n, size_t *cap)
{
	struct gpu_row *r;

	if (*n == *cap) {
		size_t want = *cap ? *cap * 2 : 8;
		struct gpu_row *grown = realloc(*v, want * sizeof(**v));
		if (!grown)
			return NULL;
		*v = grown;
		*cap = want;
	}
	r = &(*v)[(*n)++];
	memset(r, 0, sizeof(*r));
	r->vram = r->gpu = r->dmabuf = r->shared = r->purgeable = r->active = r->allocated =
	    ML_UNKNOWN;
	return r;
}

/* The device row of driver and device, added with zero sums when new. */
static struct gpu_row *device_row(struct gpu_state *st, enum gpu_kind kind, const char *device,
                                  const char *driver)
{
	struct gpu_row *r;

	for (size_t i = 0; i < st->n; i++)
		if (strcmp(st->rows[i].device, device) == 0 &&
		    strcmp(st->rows[i].driver, driver) == 0)
			return &st->rows[i];
	if (!(r = new_row(&st->rows, &st->n, &st->cap)))
		return NULL;
	snprintf(r->device, sizeof(r->device), "%s", device);
	snprintf(r->driver, sizeof(r->driver), "%s", driver);
	r->kind = kind;
	r->items = 0;
	return r;
}

/* "PID,PID,...": the processes of s holding what holds says, at most a line's worth. */
static char *holders(const struct ml_scan *s, bool (*holds)(const struct ml_proc *, const void *),
                     const void *what, const struct ml_proc **first)
{
	char buf[256];
	size_t at = 0;

	buf[0] = '\0';
	*first = NULL;
	for (size_t i = 0; i < s->nprocs; i++) {
		if (!s->procs[i].gpu || !holds(&s->procs[i], what))
			continue;
		if (!*first)
			*first = &s->procs[i];
		if (at + 16 >= sizeof(buf)) {
			snprintf(buf + at, sizeof(buf) - at, ",...");
			break;
		}
		at += (size_t)snprintf(buf + at, sizeof(buf) - at, "%s%d", at ? "," : "",
		                       (int)s->procs[i].pid);
	}
	return strdup(buf);
}

static bool holds_client(const struct ml_proc *p, const void *what)
{
	const struct ml_drm_client *c = what;

	for (size_t j = 0; j < p->gpu->nclients; j++)
		if (&p->gpu->clients[j].c == c || ml_drm_same_client(&p->gpu->clients[j].c, c))
			return true;
	return false;
}

static bool holds_buf(const struct ml_proc *p, const void *what)
{
	const uint64_t *ino = what;

	for (size_t j = 0; j < p->gpu->nbufs; j++)
		if (p->gpu->bufs[j].ino == *ino)
			return true;
	return false;
}

/* Fills a child row's holders; 0 or -ENOMEM. */
static int fill_holders(const struct gpu_state *st, struct gpu_row *r, const struct ml_scan *s,
                        bool (*holds)(const struct ml_proc *, const void *), const void *what)
{
	const struct ml_proc *first;
	const char *role;

	r->pids = holders(s, holds, what, &first);
	r->command = first ? procs_command(first) : strdup("");
	role = first ? ml_roles_get(&st->roles, (size_t)(first - s->procs)) : NULL;
	snprintf(r->role, sizeof(r->role), "%s", role ? role : "");
	return r->pids && r->command ? 0 : -ENOMEM;
}

/* Σ of one kind of a client's region figures (total, shared, ...) over the regions that
 * report it; unknown when none does. */
static uint64_t region_sum(const struct ml_gpu_client *c, size_t offset)
{
	uint64_t sum = ML_UNKNOWN;

	for (size_t i = 0; c->stats && i < c->c.nregions; i++) {
		uint64_t v = *(const uint64_t *)((const char *)&c->c.regions[i] + offset);
		if (v != ML_UNKNOWN)
			sum = sum == ML_UNKNOWN ? v : ml_add_u64(sum, v);
	}
	return sum;
}

/* Adds child's figures to the device row's sums: unknown when a child's is. */
static void add_up(struct gpu_row *d, const struct gpu_row *child)
{
	uint64_t *dv[] = {&d->vram,      &d->gpu,    &d->dmabuf,   &d->shared,
	                  &d->purgeable, &d->active, &d->allocated};
	const uint64_t cv[] = {child->vram,      child->gpu,    child->dmabuf,   child->shared,
	                       child->purgeable, child->active, child->allocated};

	for (size_t i = 0; i < sizeof(cv) / sizeof(cv[0]); i++)
		*dv[i] = d->items == 0 ? cv[i] : ml_add_u64(*dv[i], cv[i]);
	d->items++;
}

static int add_client(struct gpu_state *st, const struct ml_scan *s, const struct ml_gpu_client *c)
{
	struct gpu_row *d = device_row(st, K_DRM, c->c.pdev[0] ? c->c.pdev : "-", c->c.driver), *r;

	if (!d || !(r = new_row(&d->children, &d->nchildren, &d->cap)))
		return -ENOMEM;
	r->kind = K_DRM;
	if (c->c.client_id != ML_UNKNOWN)
		snprintf(r->device, sizeof(r->device), "client %llu",
		         (unsigned long long)c->c.client_id);
	else
		snprintf(r->device, sizeof(r->device), "client ?");
	r->vram = c->vram;
	r->gpu = c->sys;
	r->shared = region_sum(c, offsetof(struct ml_drm_region, shared));
	r->purgeable = region_sum(c, offsetof(struct ml_drm_region, purgeable));
	r->active = region_sum(c, offsetof(struct ml_drm_region, active));
	r->allocated = region_sum(c, offsetof(struct ml_drm_region, total));
	add_up(d, r);
	return fill_holders(st, r, s, holds_client, &c->c);
}

static int add_buf(struct gpu_state *st, const struct ml_scan *s, uint64_t ino, uint64_t size,
                   const char *exporter, bool partial)
{
	struct gpu_row *d = device_row(st, K_DMABUF, "dma-buf", exporter[0] ? exporter : "?"), *r;

	if (!d || !(r = new_row(&d->children, &d->nchildren, &d->cap)))
		return -ENOMEM;
	r->kind = K_DMABUF;
	snprintf(r->device, sizeof(r->device), "ino %llu", (unsigned long long)ino);
	r->dmabuf = size;
	add_up(d, r);
	if (!s || partial) { /* held by the kernel alone; or, some fds unread, by nobody seen */
		r->pids = strdup(partial ? "-" : "kernel");
		r->command = strdup("");
		return r->pids && r->command ? 0 : -ENOMEM;
	}
	return fill_holders(st, r, s, holds_buf, &ino);
}

static bool holds_pid(const struct ml_proc *p, const void *what)
{
	return p->pid == *(const pid_t *)what;
}

/* NVIDIA's devices: each one's used memory, and the processes NVML lists on it. */
static int add_nvml(struct gpu_state *st, const struct ml_scan *s)
{
	const struct ml_nvml *nv = s->nvml;

	for (size_t i = 0; nv && i < nv->ndevs; i++) {
		const struct ml_nvml_dev *dev = &nv->devs[i];
		struct gpu_row *d =
		    device_row(st, K_NVML, dev->bus_id[0] ? dev->bus_id : "-", "nvidia");
		if (!d)
			return -ENOMEM;
		snprintf(d->name, sizeof(d->name), "%s", dev->name);
		for (size_t k = 0; k < nv->nprocs; k++) {
			struct gpu_row *r;
			if (nv->procs[k].dev != i)
				continue;
			if (!(r = new_row(&d->children, &d->nchildren, &d->cap)))
				return -ENOMEM;
			r->kind = K_NVML;
			snprintf(r->device, sizeof(r->device), "process");
			r->vram = nv->procs[k].used;
			add_up(d, r);
			if (fill_holders(st, r, s, holds_pid, &nv->procs[k].pid) < 0)
				return -ENOMEM;
			if (!r->pids[0]) { /* a process memledger does not see (another namespace)
				            */
				free(r->pids);
				if (!(r->pids = malloc(16)))
					return -ENOMEM;
				snprintf(r->pids, 16, "%d", (int)nv->procs[k].pid);
			}
		}
		d->vram = dev->used; /* the device's own count: contexts and reservations too */
	}
	return 0;
}

/* Largest first, GPUs before dma-buf exporters; then by name. */
static int by_size(const void *a, const void *b)
{
	const struct gpu_row *x = a, *y = b;

	if ((x->kind == K_DMABUF) != (y->kind == K_DMABUF))
		return x->kind == K_DMABUF ? 1 : -1;
	uint64_t sx = ml_add_u64(
	    ml_add_u64(x->vram == ML_UNKNOWN ? 0 : x->vram, x->gpu == ML_UNKNOWN ? 0 : x->gpu),
	    x->dmabuf == ML_UNKNOWN ? 0 : x->dmabuf);
	uint64_t sy = ml_add_u64(
	    ml_add_u64(y->vram == ML_UNKNOWN ? 0 : y->vram, y->gpu == ML_UNKNOWN ? 0 : y->gpu),
	    y->dmabuf == ML_UNKNOWN ? 0 : y->dmabuf);

	if (sx != sy)
		return sx < sy ? 1 : -1;
	if (strcmp(x->device, y->device))
		return strcmp(x->device, y->device);
	return strcmp(x->driver, y->driver);
}

/* Orders n rows (devices, or one's children) without -s: largest first (the driver sorts
 * them by -s, and reverses them with -r). */
static void order(const struct view_run *run, struct gpu_row *v, size_t n)
{
	if (n && !run->sel.key)
		qsort(v, n, sizeof(*v), by_size);
}

/* The rows: devices and exporters from the scan's clients and buffers, NVML's devices, and
 * the buffers only the kernel holds (a view_def's rows). */
static int gpu_rows(struct view_run *run)
{
	struct gpu_state *st = calloc(1, sizeof(*st));
	const struct ml_scan *s = &run->scan;
	struct ml_dmabuf *kept = NULL;
	struct ml_source *src;
	size_t unknown = 0;
	long nkept = 0;
	int rc = 0;

	run->state = st;
	if (!st || ml_roles_make(&st->roles, s) < 0)
		return -ENOMEM;
	if (s->gpu_error[0])
		cli_warn("%s: NVIDIA's devices are left out", s->gpu_error);
	for (size_t i = 0; i < s->nprocs; i++)
		unknown += !s->procs[i].gpu;
	for (size_t i = 0; rc == 0 && i < s->nprocs; i++) {
		const struct ml_proc_gpu *g = s->procs[i].gpu;
		for (size_t j = 0; rc == 0 && g && j < g->nclients; j++)
			if (g->clients[j].first)
				rc = add_client(st, s, &g->clients[j]);
		for (size_t j = 0; rc == 0 && g && j < g->nbufs; j++)
			if (g->bufs[j].first)
				rc = add_buf(st, s, g->bufs[j].ino, g->bufs[j].size,
				             g->bufs[j].exp_name, false);
	}
	if (rc == 0)
		rc = add_nvml(st, s);
	if (rc == 0 && (src = run_source(run->run, 0, false))) {
		nkept = ml_gpu_kernel_bufs(src, s, &kept);
	}
	for (long i = 0; rc == 0 && i < nkept; i++)
		rc = add_buf(st, NULL, kept[i].ino, kept[i].size, kept[i].exp_name, unknown > 0);
	free(kept);
	if (rc == 0 && nkept < 0)
		rc = (int)nkept;
	order(run, st->rows, st->n);
	for (size_t i = 0; i < st->n; i++)
		order(run, st->rows[i].children, st->rows[i].nchildren);
	if (unknown) /* refused (another user's, without CAP_SYS_PTRACE), or not captured */
		cli_warn("%zu of %zu processes: their fds were not read (refused, or a snapshot "
		         "without them): what they hold is left out",
		         unknown, s->nprocs);
	if (rc == 0 && st->n == 0 && run->cli->out.format == OUT_TABLE)
		cli_warn("no process holds a GPU client or a dma-buf%s",
		         s->unreadable || unknown ? " (of the processes read)" : "");
	run->rows = (struct view_rows){.rows = st->rows,
	                               .n = st->n,
	                               .size = sizeof(*st->rows),
	                               .number = row_number,
	                               .text = row_text,
	                               .blank = row_blank};
	return rc;
}

/* The clients or buffers under a device (a view_def's children). */
static int gpu_children(struct view_run *run, const void *row, struct view_rows *kids)
{
	const struct gpu_row *d = row;

	*kids = run->rows; /* the same kind of row */
	kids->rows = d->children;
	kids->n = d->nchildren;
	return 0;
}

static void free_rows(struct gpu_row *v, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(v[i].pids);
		free(v[i].command);
		free_rows(v[i].children, v[i].nchildren);
	}
	free(v);
}

static void gpu_end(struct view_run *run)
{
	struct gpu_state *st = run->state;

	if (!st)
		return;
	free_rows(st->rows, st->n);
	ml_roles_free(&st->roles);
	free(st);
}

static const struct view_def gpu_view = {
    .name = "gpu",
    .cols = &gpu_cols,
    .tie = "DEVICE",
    .needs = ML_NEED_GPU | ML_NEED_CMDLINE | ML_NEED_STATUS,
    .rows = gpu_rows,
    .children = gpu_children,
    .children_key = "clients",
    .when_any = "ROLE",
    .end = gpu_end,
};

int cmd_gpu(struct run *run)
{
	return view_run(run, &gpu_view);
}
