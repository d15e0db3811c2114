#include <errno.h>
#include <stdlib.h>

#include "memledger/gpu.h"
#include "memledger/ledger.h"
#include "util.h"

unsigned ml_metric_needs(enum ml_metric m)
{
	switch (m) {
	case ML_VSS:
	case ML_FOOTPRINT:
	case ML_PAGETABLES:
	case ML_THREADS: return ML_NEED_STATUS;
	case ML_COMMIT: return ML_NEED_SMAPS;
	case ML_GPU:
	case ML_VRAM:
	case ML_DMABUF: return ML_NEED_GPU;
	default: return ML_NEED_ROLLUP;
	}
}

static uint64_t mem_sum(const struct ml_mem *mem, enum ml_mem_field a, enum ml_mem_field b)
{
	return ml_add(mem->v[a], mem->v[b]);
}

uint64_t ml_mem_metric(const struct ml_mem *mem, enum ml_metric m)
{
	switch (m) {
	case ML_VSS: return mem->v[ML_MEM_SIZE];
	case ML_RSS: return mem->v[ML_MEM_RSS];
	case ML_PSS: return mem->v[ML_MEM_PSS];
	case ML_USS: return mem_sum(mem, ML_MEM_PRIVATE_CLEAN, ML_MEM_PRIVATE_DIRTY);
	case ML_SHARED: return mem_sum(mem, ML_MEM_SHARED_CLEAN, ML_MEM_SHARED_DIRTY);
	case ML_SWAP: return mem->v[ML_MEM_SWAP];
	case ML_SWAPPSS: return mem->v[ML_MEM_SWAP_PSS];
	case ML_DIRTY: return mem_sum(mem, ML_MEM_SHARED_DIRTY, ML_MEM_PRIVATE_DIRTY);
	case ML_ANON: return mem->v[ML_MEM_PSS_ANON];
	case ML_FILE: return mem->v[ML_MEM_PSS_FILE];
	case ML_SHMEM: return mem->v[ML_MEM_PSS_SHMEM];
	case ML_LAZYFREE: return mem->v[ML_MEM_LAZYFREE];
	case ML_LOCKED: return mem->v[ML_MEM_LOCKED];
	case ML_THP:
		return ml_add(mem_sum(mem, ML_MEM_ANON_HUGE, ML_MEM_SHMEM_PMD),
		              mem->v[ML_MEM_FILE_PMD]);
	case ML_HUGETLB: return mem_sum(mem, ML_MEM_SHARED_HUGETLB, ML_MEM_PRIVATE_HUGETLB);
	case ML_KSM: return mem->v[ML_MEM_KSM];
	case ML_REFERENCED: return mem->v[ML_MEM_REFERENCED];
	default: return ML_UNKNOWN;
	}
}

/* A metric read from status. */
static uint64_t status_metric(const struct ml_status *st, enum ml_metric m)
{
	switch (m) {
	case ML_VSS: return st->vm_size;
	case ML_FOOTPRINT: return ml_add(st->rss_anon, st->vm_swap);
	case ML_PAGETABLES: return st->vm_pte;
	case ML_THREADS: return st->threads;
	default: return ML_UNKNOWN;
	}
}

uint64_t ml_proc_metric(const struct ml_proc *p, enum ml_metric m)
{
	unsigned need = ml_metric_needs(m);

	if (!(p->have & need))
		return ML_UNKNOWN;
	switch (need) {
	case ML_NEED_STATUS: return status_metric(&p->status, m);
	case ML_NEED_SMAPS: return p->commit;
	case ML_NEED_GPU:
		if (!p->gpu)
			return ML_UNKNOWN;
		return m == ML_GPU ? p->gpu->gpu : m == ML_VRAM ? p->gpu->vram : p->gpu->dmabuf;
	default: return ml_mem_metric(&p->mem, m);
	}
}

uint64_t ml_metric_total(const struct ml_proc *procs, size_t n, enum ml_metric m)
{
	uint64_t sum = 0;

	for (size_t i = 0; i < n; i++)
		sum = ml_add(sum, ml_proc_metric(&procs[i], m));
	return sum;
}

uint64_t ml_proc_uid(const struct ml_proc *p)
{
	return (p->have & ML_NEED_STATUS) ? p->status.uid : ML_UNKNOWN;
}

static int compare_groups(const void *a, const void *b)
{
	uint64_t x = ((const struct ml_group *)a)->key, y = ((const struct ml_group *)b)->key;

	return (x > y) - (x < y);
}

/* The group of key in groups[0..n), or NULL. */
static struct ml_group *find_group(struct ml_group *groups, size_t n, uint64_t key)
{
	for (size_t i = 0; i < n; i++)
		if (groups[i].key == key)
			return &groups[i];
	return NULL;
}

long ml_group_by(const struct ml_proc *procs, size_t n, ml_group_key_fn key,
                 struct ml_group **groups)
{
	struct ml_group *v = calloc(n ? n : 1, sizeof(*v)), *g;
	size_t ngroups = 0;

	if (!v)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		uint64_t k = key(&procs[i]);
		g = find_group(v, ngroups, k);
		if (!g) {
			g = &v[ngroups++];
			g->key = k;
		}
		g->nprocs++;
		for (int m = 0; m < ML_NMETRICS; m++)
			g->totals[m] =
			    ml_add(g->totals[m], ml_proc_metric(&procs[i], (enum ml_metric)m));
	}
	if (ngroups)
		qsort(v, ngroups, sizeof(*v), compare_groups);
	*groups = v;
	return (long)ngroups;
}
