/*
 * GPU and dma-buf memory as the kernel reports it per open file: /proc/PID/fdinfo/FD of
 * a DRM device (Documentation/gpu/drm-usage-stats.rst) and of a dma-buf
 * (Documentation/filesystems/proc.rst). The parse layer: no I/O.
 */
#ifndef MEMLEDGER_GPU_H
#define MEMLEDGER_GPU_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct ml_scan;
struct ml_source;
struct ml_buf;

#define ML_DRM_MAX_REGIONS 8

/* One memory region of a DRM client ("vram", "gtt", "system0", "local0", "memory"): bytes,
 * ML_UNKNOWN where the driver gives no such key. */
struct ml_drm_region {
	char name[32];
	bool vram;         /* not RAM: device memory (vram*, local*), or stolen* (RAM that
	                      firmware set aside for the GPU, outside MemTotal) */
	uint64_t total;    /* drm-total-: all buffers the client's handles reference */
	uint64_t shared;   /* drm-shared-: of total, shared with other clients */
	uint64_t resident; /* drm-resident- (the older drm-memory-): backed by memory */
	uint64_t purgeable;
	uint64_t active;
};

/* A DRM client: one open of a DRM device, however many fds share it. */
struct ml_drm_client {
	char driver[32];    /* drm-driver (mandatory) */
	char pdev[32];      /* drm-pdev: the PCI address, "" when the device has none */
	uint64_t client_id; /* drm-client-id: unique per open while it lives; ML_UNKNOWN */
	struct ml_drm_region regions[ML_DRM_MAX_REGIONS];
	size_t nregions; /* regions past ML_DRM_MAX_REGIONS are left out */
};

/* What an fd's link names, as far as GPU memory goes. */
enum ml_gpu_fd { ML_FD_OTHER, ML_FD_DRM, ML_FD_DMABUF };

/* The kind of the fd whose link is target[0..len): a DRM device (/dev/dri/, /dev/accel/),
 * a dma-buf (/dmabuf:, an older kernel's anon_inode:dmabuf), or another file. */
enum ml_gpu_fd ml_gpu_fd_kind(const char *target, size_t len);

/* True when a and b are one client: one open of one device (a client whose driver gives
 * no id is no other's). */
bool ml_drm_same_client(const struct ml_drm_client *a, const struct ml_drm_client *b);

/*
 * Parses the fdinfo of a DRM fd into c. Returns 0, -ENOENT when it has no drm-driver (not
 * a DRM client), or -EINVAL for a malformed value (a size without a number, an unknown
 * unit).
 */
int ml_parse_drm_fdinfo(const char *buf, size_t len, struct ml_drm_client *c);

/* A dma-buf as its fdinfo shows it. */
struct ml_dmabuf {
	uint64_t ino;      /* the buffer's identity */
	uint64_t size;     /* bytes */
	uint64_t count;    /* references to its file */
	char exp_name[64]; /* the exporter ("system-heap", "i915", ...) */
};

/* Parses the fdinfo of a dma-buf fd into b. Returns 0, -ENOENT when it has no exp_name
 * (not a dma-buf), or -EINVAL when size or ino is missing or malformed. */
int ml_parse_dmabuf_fdinfo(const char *buf, size_t len, struct ml_dmabuf *b);

/* --- The scan layer: what each process holds, booked once across processes. --- */

/* A DRM client as one process holds it. */
struct ml_gpu_client {
	struct ml_drm_client c;
	bool stats;    /* the driver reports memory (drm-usage-stats); else all unknown */
	bool first;    /* this process is its first holder (lowest PID), which counts it */
	uint64_t vram; /* Σ resident of its device regions; ML_UNKNOWN (ml_gpu_book) */
	uint64_t sys;  /* Σ resident of its system-memory regions; ML_UNKNOWN */
};

/* A dma-buf as one process holds it: by fd, by mapping, or both. */
struct ml_gpu_buf {
	uint64_t ino;
	uint64_t size;     /* bytes, from fdinfo; ML_UNKNOWN for a buffer only mapped */
	char exp_name[64]; /* "" when only mapped (ml_gpu_book: another holder's) */
	uint64_t mapped;   /* bytes of it the process maps */
	bool first;        /* this process is its first holder (lowest PID), which counts it */
};

/* What one process holds of GPU and dma-buf memory. */
struct ml_proc_gpu {
	struct ml_gpu_client *clients;
	size_t nclients;
	struct ml_gpu_buf *bufs;
	size_t nbufs;
	bool maps_unread; /* its maps could not be read: what it maps alone is unknown */
	/* Its shares, booked by ml_gpu_book: each client's and each buffer's bytes divided
	 * among the processes holding it, the remainder of the division to the first. */
	uint64_t vram;   /* device memory of its DRM clients, and NVML's used memory */
	uint64_t gpu;    /* system memory (RAM) of its DRM clients */
	uint64_t dmabuf; /* dma-bufs it holds by fd or mapping */
};

/*
 * Reads the GPU memory of the process of dirfd (ml_source_open_pid): the fdinfo of each
 * DRM fd (links to /dev/dri/ or /dev/accel/) and dma-buf fd ("/dmabuf:",
 * "anon_inode:dmabuf"), and the maps lines of mapped dma-bufs, into *out (malloc'ed,
 * freed with ml_gpu_free; shares not yet booked). An fd closed meanwhile is skipped.
 * Returns 0, -ENOENT when the fds were not captured (or the process is gone), -EINVAL for
 * a malformed fdinfo, or -errno (-EACCES; what ml_source_open_at refuses); the file that
 * failed is named in bad (32 bytes).
 */
int ml_gpu_read_proc(struct ml_source *src, int dirfd, struct ml_buf *buf, struct ml_proc_gpu **out,
                     char *bad);

/* Frees what ml_gpu_read_proc allocated; NULL is allowed. */
void ml_gpu_free(struct ml_proc_gpu *g);

/*
 * Books the GPU memory of the scan's processes: counts each client (by driver, device and
 * client id) and each dma-buf (by inode) once, divides it among its holders, and sets
 * each process's vram, gpu and dmabuf (ML_UNKNOWN where a figure is unknown). Holders are
 * the processes of the scan: a scan of some PIDs divides among those. Returns 0 or
 * -ENOMEM.
 */
int ml_gpu_book(struct ml_scan *s);

/* The GPU buffers in RAM that no meminfo row counts, from a scan and the kernel's list. */
struct ml_gpu_totals {
	uint64_t sys_own;    /* TTM drivers' clients' system memory (not shmem-backed) */
	uint64_t dmabuf_own; /* dma-bufs of heaps, not of a DRM driver nor udmabuf (memfd
	                        pages), held by processes or by the kernel alone */
	bool partial; /* a client's figures or a process's fds unknown: left out of the sums */
};

/* Sums the distinct clients and buffers of a booked scan s, and the buffers that src's
 * kernel lists and no process holds, into t: each once; what is unknown is left out, and
 * said by t->partial. Returns 0 or -ENOMEM. */
int ml_gpu_totals(struct ml_source *src, const struct ml_scan *s, struct ml_gpu_totals *t);

/* True when src's machine has a GPU or a dma-buf heap (sys/class/drm, sys/class/dma_heap,
 * sys/kernel/dmabuf/buffers list something): where GPU buffers are worth looking for. */
bool ml_gpu_present(struct ml_source *src);

/*
 * The dma-bufs that the kernel lists (/sys/kernel/dmabuf/buffers/INO: size,
 * exporter_name; CONFIG_DMABUF_SYSFS_STATS) and that no process of the booked scan s
 * holds: kernel-held, into a malloc'ed array. Returns how many (0 where the kernel lists
 * none), or -ENOMEM.
 */
long ml_gpu_kernel_bufs(struct ml_source *src, const struct ml_scan *s, struct ml_dmabuf **out);

#endif
