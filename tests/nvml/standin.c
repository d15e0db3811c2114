/*
 * A stand-in for NVIDIA's libnvidia-ml.so.1: the NVML calls memledger makes, answering
 * what the test says in the environment (this is test code, never installed):
 *   ML_NVML_STANDIN_PROCS  "DEV:PID:BYTES:KIND,..." (KIND c: a compute context, g: a
 *                          graphics one; BYTES "na": NVML_VALUE_NOT_AVAILABLE)
 *   ML_NVML_STANDIN_FAIL   "init": nvmlInit_v2 fails as with no driver loaded
 * Two devices: 0 at 00000000:65:00.0 (16 GiB, 1 GiB used), 1 at 00000000:B3:00.0
 * (8 GiB, 512 MiB used). Types as nvml.h declares them.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef int nvmlReturn_t;
typedef struct standin_dev *nvmlDevice_t;
typedef struct {
	unsigned long long total, free, used;
} nvmlMemory_t;
typedef struct {
	char busIdLegacy[16];
	unsigned int domain, bus, device, pciDeviceId, pciSubSystemId;
	char busId[32];
} nvmlPciInfo_t;
typedef struct {
	unsigned int pid;
	unsigned long long usedGpuMemory;
	unsigned int gpuInstanceId, computeInstanceId;
} nvmlProcessInfo_t;

#define NVML_SUCCESS                 0
#define NVML_ERROR_INVALID_ARGUMENT  2
#define NVML_ERROR_INSUFFICIENT_SIZE 7
#define NVML_ERROR_DRIVER_NOT_LOADED 9

struct standin_dev {
	const char *name, *bus;
	unsigned long long total, used;
};

static struct standin_dev devs[2] = {
    {"Stand-in GPU 0", "00000000:65:00.0", 16ULL << 30, 1ULL << 30},
    {"Stand-in GPU 1", "00000000:B3:00.0", 8ULL << 30, 512ULL << 20},
};

nvmlReturn_t nvmlInit_v2(void)
{
	const char *fail = getenv("ML_NVML_STANDIN_FAIL");

	return fail && strcmp(fail, "init") == 0 ? NVML_ERROR_DRIVER_NOT_LOADED : NVML_SUCCESS;
}

nvmlReturn_t nvmlShutdown(void)
{
	return NVML_SUCCESS;
}

const char *nvmlErrorString(nvmlReturn_t r)
{
	return r == NVML_ERROR_DRIVER_NOT_LOADED ? "Driver Not Loaded" : "Unknown Error";
}

nvmlReturn_t nvmlDeviceGetCount_v2(unsigned int *n)
{
	*n = 2;
	return NVML_SUCCESS;
}

nvmlReturn_t nvmlDeviceGetHandleByIndex_v2(unsigned int i, nvmlDevice_t *d)
{
	if (i >= 2)
		return NVML_ERROR_INVALID_ARGUMENT;
	*d = &devs[i];
	return NVML_SUCCESS;
}

nvmlReturn_t nvmlDeviceGetName(nvmlDevice_t d, char *name, unsigned int len)
{
	snprintf(name, len, "%s", d->name);
	return NVML_SUCCESS;
}

nvmlReturn_t nvmlDeviceGetPciInfo_v3(nvmlDevice_t d, nvmlPciInfo_t *pci)
{
	memset(pci, 0, sizeof(*pci));
	snprintf(pci->busId, sizeof(pci->busId), "%s", d->bus);
	return NVML_SUCCESS;
}

nvmlReturn_t nvmlDeviceGetMemoryInfo(nvmlDevice_t d, nvmlMemory_t *m)
{
	m->total = d->total;
	m->used = d->used;
	m->free = d->total - d->used;
	return NVML_SUCCESS;
}

/* The processes of kind on device d, as NVML hands them: the count when v is too small. */
static nvmlReturn_t procs(nvmlDevice_t d, char kind, unsigned int *n, nvmlProcessInfo_t *v)
{
	const char *spec = getenv("ML_NVML_STANDIN_PROCS");
	unsigned int room = *n, k = 0;
	char buf[4096], *save = NULL;

	snprintf(buf, sizeof(buf), "%s", spec ? spec : "");
	for (char *e = strtok_r(buf, ",", &save); e; e = strtok_r(NULL, ",", &save)) {
		unsigned dev, pid;
		char bytes[32], k2;
		if (sscanf(e, "%u:%u:%31[^:]:%c", &dev, &pid, bytes, &k2) != 4 ||
		    &devs[dev < 2 ? dev : 0] != d || dev >= 2 || k2 != kind)
			continue;
		if (k < room && v) {
			memset(&v[k], 0, sizeof(v[k]));
			v[k].pid = pid;
			v[k].usedGpuMemory =
			    strcmp(bytes, "na") == 0 ? ~0ULL : strtoull(bytes, NULL, 10);
		}
		k++;
	}
	*n = k;
	return k > room ? NVML_ERROR_INSUFFICIENT_SIZE : NVML_SUCCESS;
}

nvmlReturn_t nvmlDeviceGetComputeRunningProcesses_v3(nvmlDevice_t d, unsigned int *n,
                                                     nvmlProcessInfo_t *v)
{
	return procs(d, 'c', n, v);
}

nvmlReturn_t nvmlDeviceGetGraphicsRunningProcesses_v3(nvmlDevice_t d, unsigned int *n,
                                                      nvmlProcessInfo_t *v)
{
	return procs(d, 'g', n, v);
}
