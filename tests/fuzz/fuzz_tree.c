/*
 * libFuzzer target for the --source reader of a whole tree: the input is cut at each
 * "\0\1" into the files of a directory laid out like /proc (two processes, meminfo,
 * SysV segments, pressure), written to /dev/shm, then read as every view reads it: the
 * scan with every file, the page engine (FREED per process and per subtree, OWNED, shm
 * objects), the system breakdown and the maps of process 1 with their summary. Checks
 * that sums never wrap and that OWNED adds up to PSS whenever both are known.
 */
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

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

static const char *const files[] = {
    "1/status", "1/stat", "1/smaps_rollup", "1/smaps",         "1/cmdline",
    "2/status", "2/stat", "2/smaps_rollup", "2/smaps",         "2/cgroup",
    "meminfo",  "swaps",  "sysvipc/shm",    "pressure/memory", "sys/vm/max_map_count",
};
#define NFILES (sizeof(files) / sizeof(files[0]))

static char root[256];

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	static const char *const dirs[] = {"",          "/1",   "/2",     "/sysvipc",
	                                   "/pressure", "/sys", "/sys/vm"};
	char path[320];

	(void)argc;
	(void)argv;
	const char *dir = getenv("MEMLEDGER_FUZZ_DIR"); /* fuzz.sh's own: no other run's */

	snprintf(root, sizeof(root), "%s/memledger-fuzz-%d", dir ? dir : "/dev/shm", (int)getpid());
	for (size_t i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++) {
		snprintf(path, sizeof(path), "%s%s", root, dirs[i]);
		if (mkdir(path, 0700) < 0 && i == 0)
			abort();
	}
	return 0;
}

/* Writes chunk i of the input as files[i], or removes the file when there is none. */
static void lay_out(const uint8_t *data, size_t size)
{
	const uint8_t *p = data, *end = data + size;
	char path[320];

	for (size_t i = 0; i < NFILES; i++) {
		const uint8_t *cut = p;
		while (cut + 1 < end && !(cut[0] == 0 && cut[1] == 1))
			cut++;
		if (cut + 1 >= end)
			cut = end;
		snprintf(path, sizeof(path), "%s/%s", root, files[i]);
		if (p >= end) {
			unlink(path);
			continue;
		}
		int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
		if (fd < 0 || write(fd, p, (size_t)(cut - p)) != cut - p)
			abort();
		close(fd);
		p = cut + 2;
	}
}

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

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ml_scan_opts opts = {.needs = ML_NEED_STAT | ML_NEED_STATUS | ML_NEED_CMDLINE |
	                                     ML_NEED_ROLLUP | ML_NEED_SMAPS | ML_NEED_PAGEMAP |
	                                     ML_NEED_CGROUP,
	                            .threads = 1,
	                            .on_mapping = ml_pages_on_mapping,
	                            .on_pages = ml_pages_on_pages};
	struct ml_maps_summary summary;
	struct ml_maps_limits lim;
	struct ml_system sys;
	struct ml_source *src;
	struct ml_pages *pg;
	struct ml_scan s;

	lay_out(data, size);
	src = ml_source_new(root);
	pg = ml_pages_new();
	if (!src || !pg)
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
	ml_source_free(src);
	return 0;
}
