/*
 * NVIDIA GPUs through NVML (libnvidia-ml.so.1, the driver's own library), loaded at run
 * time with dlopen when present: never a build dependency. NVIDIA's driver reports no
 * DRM fdinfo; NVML is where its per-process device memory is.
 */
#ifndef MEMLEDGER_NVML_H
#define MEMLEDGER_NVML_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* A device. */
struct ml_nvml_dev {
	char name[96];
	char bus_id[32];      /* the PCI address, as drm-pdev writes it where known */
	uint64_t total, used; /* device memory, bytes; ML_UNKNOWN */
};

/* A process using a device: its compute or graphics context. */
struct ml_nvml_proc {
	size_t dev;    /* index in devs */
	pid_t pid;     /* in the PID namespace NVML answers in */
	uint64_t used; /* device memory, bytes; ML_UNKNOWN where NVML cannot tell (MIG, WDDM) */
};

struct ml_nvml {
	struct ml_nvml_dev *devs;
	size_t ndevs;
	struct ml_nvml_proc *procs; /* one per device and process */
	size_t nprocs;
};

/*
 * Reads the devices and the processes on them into out (freed with ml_nvml_free).
 * Returns 0; -ENOENT when the library is absent (no NVIDIA driver), with out empty;
 * -EIO when it fails (its message in err); -ENOMEM.
 */
int ml_nvml_read(struct ml_nvml *out, char *err, size_t errlen);

/* Frees what ml_nvml_read filled; a zeroed struct is allowed. */
void ml_nvml_free(struct ml_nvml *n);

#endif
