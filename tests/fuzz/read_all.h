/* What the fuzz targets do with a source: read it as every view reads it. The scan with
 * every file, the page engine (FREED per process and per subtree, OWNED, shm objects),
 * the system breakdown and the maps of process 1 with their summary. Checks that sums
 * never wrap and that OWNED adds up to PSS whenever both are known. */
#ifndef MEMLEDGER_FUZZ_READ_ALL_H
#define MEMLEDGER_FUZZ_READ_ALL_H

#include <stdlib.h>

#include "memledger/ledger.h"
#include "memledger/maps.h"
#include "memledger/pages.h"
#include "memledger/scan.h"
#include "memledger/system.h"

#define CHECK(cond)                                                                                \
	do {                                                                                       \
		if (!(cond))                                                                       \
			abort();                                                                   \
	} while (0)

static int count_map(const struct ml_map *m, void *ctx)
{
	ml_maps_summary_add(ctx, m);
	return 0;
}

static void read_pages(struct ml_source *src, const struct ml_scan *s, struct ml_pages *pg)
{
	size_t n = s->nprocs;
	struct ml_freed *tree = calloc(n + 1, sizeof(*tree));
	uint64_t *owned = calloc(n + 1, sizeof(*owned)), sum_owned = 0, sum_pss = 0;
	struct ml_shm_info info;
	bool known = true;

	if (ml_pages_resolve(pg, src, s) == 0 && tree && owned &&
	    ml_pages_freed_tree(pg, tree) == 0) {
		for (size_t i = 0; i < n; i++) {
			uint64_t total = ml_freed_total(&tree[i]);
			CHECK(total == ML_UNKNOWN ||
			      (total >= tree[i].anon && total >= tree[i].swap));
		}
		if (ml_pages_owned(pg, s, ML_OWNER_OLDEST, owned) == 0) {
			for (size_t i = 0; i < n; i++) {
				uint64_t pss = ml_proc_metric(&s->procs[i], ML_PSS);
				known &= owned[i] != ML_UNKNOWN && pss != ML_UNKNOWN;
				sum_owned += known ? owned[i] : 0;
				sum_pss += known ? pss : 0;
			}
			CHECK(!known || sum_owned == sum_pss || sum_pss > UINT64_MAX / 4);
		}
		for (size_t o = 0; o < ml_pages_shm_count(pg); o++)
			ml_pages_shm_info(pg, s, o, ML_OWNER_LARGEST, &info);
	}
	free(tree);
	free(owned);
}

static void read_all(struct ml_source *src)
{
	struct ml_scan_opts opts = {.needs = ML_NEED_STAT | ML_NEED_STATUS | ML_NEED_CMDLINE |
	                                     ML_NEED_ROLLUP | ML_NEED_SMAPS | ML_NEED_PAGEMAP |
	                                     ML_NEED_CGROUP | ML_NEED_EXE,
	                            .threads = 1,
	                            .on_mapping = ml_pages_on_mapping,
	                            .on_pages = ml_pages_on_pages};
	struct ml_maps_summary summary;
	struct ml_maps_limits lim;
	struct ml_system sys;
	struct ml_pages *pg = ml_pages_new();
	struct ml_scan s;

	if (!pg)
		abort();
	opts.mapping_ctx = opts.pages_ctx = pg;
	if (ml_scan_run(src, &opts, &s) == 0)
		read_pages(src, &s, pg);
	ml_scan_free(&s);
	ml_pages_free(pg);
	(void)ml_system_read(src, &sys);
	ml_maps_limits_read(src, &lim);
	ml_maps_summary_init(&summary, &lim);
	if (ml_maps_read_each(src, 1, count_map, &summary) >= 0)
		ml_maps_summary_finish(&summary);
}

#endif
