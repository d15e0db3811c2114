/* NVML through dlopen: the few calls memledger makes, their types as nvml.h has them. */
#include <dlfcn.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "memledger/ledger.h"
#include "memledger/nvml.h"
#include "util.h"

typedef int nvml_return;              /* nvmlReturn_t: 0 is NVML_SUCCESS */
typedef struct nvml_dev *nvml_device; /* nvmlDevice_t */
#define NVML_ERROR_INSUFFICIENT_SIZE 7
#define NVML_VALUE_NOT_AVAILABLE     (~0ULL)

struct nvml_memory { /* nvmlMemory_t */
	unsigned long long total, free, used;
};

struct nvml_pci { /* nvmlPciInfo_t (v3) */
	char bus_id_legacy[16];
	unsigned domain, bus, device, pci_device_id, pci_subsystem_id;
	char bus_id[32];
};

struct nvml_process { /* nvmlProcessInfo_t of the _v2 and _v3 calls */
	unsigned pid;
	unsigned long long used;
	unsigned gpu_instance_id, compute_instance_id;
};

/* The library's calls. */
struct nvml_api {
	void *lib;
	nvml_return (*init)(void);
	nvml_return (*shutdown)(void);
	const char *(*error_string)(nvml_return);
	nvml_return (*count)(unsigned *);
	nvml_return (*handle)(unsigned, nvml_device *);
	nvml_return (*name)(nvml_device, char *, unsigned);
	nvml_return (*pci)(nvml_device, struct nvml_pci *);
	nvml_return (*memory)(nvml_device, struct nvml_memory *);
	nvml_return (*procs[2])(nvml_device, unsigned *, struct nvml_process *);
};

/* The first of the names that the library has, or NULL. */
static void *sym(void *lib, const char *a, const char *b)
{
	void *f = dlsym(lib, a);

	return f || !b ? f : dlsym(lib, b);
}

static int load(struct nvml_api *api)
{
	memset(api, 0, sizeof(*api));
	api->lib = dlopen("libnvidia-ml.so.1", RTLD_NOW | RTLD_LOCAL);
	if (!api->lib)
		return -ENOENT;
	*(void **)&api->init = sym(api->lib, "nvmlInit_v2", "nvmlInit");
	*(void **)&api->shutdown = sym(api->lib, "nvmlShutdown", NULL);
	*(void **)&api->error_string = sym(api->lib, "nvmlErrorString", NULL);
	*(void **)&api->count = sym(api->lib, "nvmlDeviceGetCount_v2", "nvmlDeviceGetCount");
	*(void **)&api->handle =
	    sym(api->lib, "nvmlDeviceGetHandleByIndex_v2", "nvmlDeviceGetHandleByIndex");
	*(void **)&api->name = sym(api->lib, "nvmlDeviceGetName", NULL);
	*(void **)&api->pci = sym(api->lib, "nvmlDeviceGetPciInfo_v3", NULL);
	*(void **)&api->memory = sym(api->lib, "nvmlDeviceGetMemoryInfo", NULL);
	*(void **)&api->procs[0] = sym(api->lib, "nvmlDeviceGetComputeRunningProcesses_v3",
	                               "nvmlDeviceGetComputeRunningProcesses_v2");
	*(void **)&api->procs[1] = sym(api->lib, "nvmlDeviceGetGraphicsRunningProcesses_v3",
	                               "nvmlDeviceGetGraphicsRunningProcesses_v2");
	if (!api->init || !api->shutdown || !api->count || !api->handle) {
		dlclose(api->lib);
		return -ENOENT;
	}
	return 0;
}

static int fail(const struct nvml_api *api, const char *call, nvml_return r, char *err,
                size_t errlen)
{
	snprintf(err, errlen, "NVML %s: %s", call,
	         api->error_string ? api->error_string(r) : "failed");
	return -EIO;
}

/* Adds (or, for a process in both lists, keeps the larger of) one process's use. */
static int add_proc(struct ml_nvml *out, size_t *cap, size_t dev, const struct nvml_process *p)
{
	uint64_t used = p->used == NVML_VALUE_NOT_AVAILABLE ? ML_UNKNOWN : p->used;

	for (size_t i = 0; i < out->nprocs; i++)
		if (out->procs[i].dev == dev && out->procs[i].pid == (pid_t)p->pid) {
			if (used != ML_UNKNOWN &&
			    (out->procs[i].used == ML_UNKNOWN || used > out->procs[i].used))
				out->procs[i].used = used;
			return 0;
		}
	if (ml_grow((void **)&out->procs, cap, out->nprocs, 1, sizeof(*out->procs)) < 0)
		return -ENOMEM;
	out->procs[out->nprocs++] = (struct ml_nvml_proc){dev, (pid_t)p->pid, used};
	return 0;
}

/* The processes with a compute and a graphics context on device d. */
static int read_procs(const struct nvml_api *api, nvml_device h, size_t d, struct ml_nvml *out,
                      size_t *cap)
{
	for (int k = 0; k < 2; k++) {
		struct nvml_process *v = NULL;
		unsigned n = 0, room = 0;
		nvml_return r;
		if (!api->procs[k])
			continue;
		do { /* the list may grow between the calls */
			free(v);
			room = n + 8;
			if (!(v = calloc(room, sizeof(*v))))
				return -ENOMEM;
			n = room;
			r = api->procs[k](h, &n, v);
		} while (r == NVML_ERROR_INSUFFICIENT_SIZE && room < 65536);
		for (unsigned i = 0; r == 0 && i < n && i < room; i++)
			if (add_proc(out, cap, d, &v[i]) < 0) {
				free(v);
				return -ENOMEM;
			}
		free(v);
	}
	return 0;
}

/* NVML's "00000000:65:00.0" as drm-pdev and sysfs write it: "0000:65:00.0". */
static void bus_id(const char *nv, char *out, size_t len)
{
	size_t n = strnlen(nv, 32);

	if (n == 16 && nv[8] == ':' && strncmp(nv, "0000", 4) == 0)
		nv += 4;
	snprintf(out, len, "%.*s", (int)strnlen(nv, 31), nv);
	for (char *c = out; *c; c++)
		if (*c >= 'A' && *c <= 'F')
			*c = (char)(*c - 'A' + 'a');
}

int ml_nvml_read(struct ml_nvml *out, char *err, size_t errlen)
{
	struct nvml_api api;
	unsigned count = 0;
	size_t pcap = 0;
	nvml_return r;
	int rc = 0;

	memset(out, 0, sizeof(*out));
	if (load(&api) < 0)
		return -ENOENT;
	if ((r = api.init()) != 0) {
		rc = fail(&api, "init", r, err, errlen);
		dlclose(api.lib);
		return rc;
	}
	if ((r = api.count(&count)) != 0)
		rc = fail(&api, "device count", r, err, errlen);
	if (rc == 0 && count > 64)
		count = 64;
	if (rc == 0 && count && !(out->devs = calloc(count, sizeof(*out->devs))))
		rc = -ENOMEM;
	for (unsigned i = 0; rc == 0 && i < count; i++) {
		struct ml_nvml_dev *d = &out->devs[out->ndevs];
		struct nvml_memory mem;
		struct nvml_pci pci;
		nvml_device h;
		if (api.handle(i, &h) != 0)
			continue; /* a device it cannot open (lost, no permission) */
		d->total = d->used = ML_UNKNOWN;
		if (api.name && api.name(h, d->name, sizeof(d->name)) != 0)
			d->name[0] = '\0';
		d->name[sizeof(d->name) - 1] = '\0';
		memset(&pci, 0, sizeof(pci));
		if (api.pci && api.pci(h, &pci) == 0)
			bus_id(pci.bus_id, d->bus_id, sizeof(d->bus_id));
		if (api.memory && api.memory(h, &mem) == 0) {
			d->total = mem.total;
			d->used = mem.used;
		}
		rc = read_procs(&api, h, out->ndevs, out, &pcap);
		out->ndevs++;
	}
	api.shutdown();
	dlclose(api.lib);
	if (rc < 0)
		ml_nvml_free(out);
	return rc;
}

void ml_nvml_free(struct ml_nvml *n)
{
	free(n->devs);
	free(n->procs);
	memset(n, 0, sizeof(*n));
}
