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

#define ML_DRM_MAX_REGIONS 8

/* One memory region of a DRM client ("vram", "gtt", "system0", "local0", "memory"): bytes,
 * ML_UNKNOWN where the driver gives no such key. */
struct ml_drm_region {
	char name[32];
	bool vram;         /* device memory (vram*, local*), not RAM */
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

#endif
