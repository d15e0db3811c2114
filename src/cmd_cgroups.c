/*
 * memledger cgroups: each memory cgroup's charge (memory.current; v1 usage_in_bytes), its
 * limits, memory.stat in the system view's words (the rows add up to the charge, or
 * OVERLAP says by how much the counters overlap), and its processes: Σ PSS and Σ USS of
 * those inside it or below, and what it is charged for beyond its processes' PSS.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "commands.h"
#include "run.h"
#include "memledger.h"
#include "memledger/cgroup.h"
#include "memledger/pages.h"
#include "memledger/source.h"
#include "procs.h"
#include "view.h"

enum cg_field {
	F_CGROUP,
	F_PROCS,
	F_CURRENT,
	F_MAX,
	F_HIGH,
	F_LOW,
	F_MIN,
	F_SOFT,
	F_SWAP,
	F_ANON,
	F_FILE,
	F_MAPPED,
	F_SHMEM,
	F_KERNEL,
	F_SOCK,
	F_OTHER,
	F_OVERLAP,
	F_OOM,
	F_OOM_KILL,
	F_PSS,
	F_USS,
	F_BEYOND_PSS,
	F_RSS,
	F_FREED
};

#define SIZE(name, id, text)                                                                       \
	{                                                                                          \
		name, COL_SIZE, OUT_RIGHT, id, text, 0, VIEW_TOTAL_NONE                            \
	}
/* A size that goes first on a narrow terminal, before CGROUP is cut below 20 columns. */
#define SPARE(name, id, text)                                                                      \
	{                                                                                          \
		name, COL_SIZE, OUT_RIGHT | OUT_SPARE, id, text, 0, VIEW_TOTAL_NONE                \
	}

static const struct colinfo infos[] = {
    {"CGROUP", COL_STR, OUT_KEY, F_CGROUP,
     "the memory cgroup's path (v2, or v1's memory hierarchy)", 0, VIEW_TOTAL_NONE},
    {"PROCS", COL_COUNT, OUT_RIGHT, F_PROCS, "processes in it or below it", 0, VIEW_TOTAL_NONE},
    SIZE("CURRENT", F_CURRENT, "what it is charged for: memory.current (v1 usage_in_bytes)"),
    SPARE("MAX", F_MAX, "its hard limit (v1 limit_in_bytes); - when it has none"),
    SIZE("HIGH", F_HIGH, "v2 memory.high, where reclaim throttles it; - when none"),
    SIZE("LOW", F_LOW, "v2 memory.low, protection best-effort"),
    SIZE("MIN", F_MIN, "v2 memory.min, protection"),
    SIZE("SOFT", F_SOFT, "v1 soft_limit_in_bytes; - when none"),
    SIZE("SWAP", F_SWAP, "swap charged to it (v2 memory.swap.current; v1 memsw - usage)"),
    SIZE("ANON", F_ANON, "anonymous memory (memory.stat anon; v1 total_rss)"),
    SIZE("FILE", F_FILE, "page cache, shmem and tmpfs left out (file - shmem)"),
    SIZE("MAPPED", F_MAPPED, "of the page cache and shmem, what processes map (file_mapped)"),
    SIZE("SHMEM", F_SHMEM, "shmem and tmpfs, mapped or not"),
    SIZE("KERNEL", F_KERNEL,
         "kernel memory: slab, stacks, page tables, percpu, vmalloc (v1 kmem.usage_in_bytes)"),
    SIZE("SOCK", F_SOCK, "network buffers (v2; v1 counts them in KERNEL)"),
    SPARE("OTHER", F_OTHER,
          "CURRENT less ANON, FILE, SHMEM, KERNEL and SOCK; - when they exceed it (OVERLAP)"),
    SIZE("OVERLAP", F_OVERLAP, "how far those rows exceed CURRENT: counters that overlap"),
    {"OOM", COL_COUNT, OUT_RIGHT, F_OOM, "times it hit its limit and the OOM killer was asked", 0,
     VIEW_TOTAL_NONE},
    {"OOM-KILL", COL_COUNT, OUT_RIGHT, F_OOM_KILL, "processes the OOM killer killed in it", 0,
     VIEW_TOTAL_NONE},
    SIZE("PSS", F_PSS, "Σ PSS of its processes (in it or below)"),
    {"USS", COL_SIZE, OUT_RIGHT, F_USS,
     "resident pages no process outside it maps (reads page frames; without them Σ USS, a "
     "lower bound)",
     ML_NEED_PAGEMAP, VIEW_TOTAL_NONE},
    {"RSS", COL_SIZE, OUT_RIGHT, F_RSS,
     "distinct resident pages its processes map, each once (exact mode: page frames)",
     ML_NEED_PAGEMAP, VIEW_TOTAL_NONE},
    {"FREED", COL_SIZE, OUT_RIGHT, F_FREED,
     "what killing all its processes would give back (exact mode; else a lower bound)",
     ML_NEED_PAGEMAP, VIEW_TOTAL_NONE},
    SPARE("BEYOND-PSS", F_BEYOND_PSS,
          "CURRENT less KERNEL, SOCK and its processes' PSS: page cache, tmpfs and shmem no "
          "process of it maps, and what processes that left were charged for"),
};

static const char *const defaults[] = {"CGROUP", "PROCS",  "CURRENT", "MAX", "ANON",      "FILE",
                                       "SHMEM",  "KERNEL", "OTHER",   "PSS", "BEYOND-PSS"};

static const struct view_cols cg_cols = VIEW_COLS(infos, defaults);

/* A row: a cgroup and its processes' sums; with the page ledger, their own pages. */
struct cg_row {
	const struct ml_cgroup *g;
	size_t procs;
	uint64_t pss, uss;
	struct ml_freed pages; /* exact false: from smaps alone (rss unknown) */
};

static uint64_t minus(uint64_t a, uint64_t b)
{
	return a == ML_UNKNOWN || b == ML_UNKNOWN || b > a ? ML_UNKNOWN : a - b;
}

static uint64_t row_number(const void *row, const struct colinfo *c)
{
	const struct cg_row *r = row;
	const struct ml_cgroup *g = r->g;

	switch (c->id) {
	case F_PROCS: return r->procs;
	case F_CURRENT: return g->current;
	case F_MAX: return g->max;
	case F_HIGH: return g->high;
	case F_LOW: return g->low;
	case F_MIN: return g->min;
	case F_SOFT: return g->soft;
	case F_SWAP: return g->swap;
	case F_ANON: return g->anon;
	case F_FILE: return g->file;
	case F_MAPPED: return g->mapped;
	case F_SHMEM: return g->shmem;
	case F_KERNEL: return g->kernel;
	case F_SOCK: return g->sock;
	case F_OTHER: return g->other;
	case F_OVERLAP: return g->overlap;
	case F_OOM: return g->oom;
	case F_OOM_KILL: return g->oom_kill;
	case F_PSS: return r->pss;
	case F_USS: return r->pages.exact ? r->pages.uss : r->uss;
	case F_RSS: return r->pages.exact ? r->pages.rss : ML_UNKNOWN;
	case F_FREED: return ml_freed_total(&r->pages);
	case F_BEYOND_PSS: return minus(minus(minus(g->current, g->kernel), g->sock), r->pss);
	default: return ML_UNKNOWN;
	}
}

/* Without frame numbers USS and FREED are lower bounds. */
static bool row_bound(const void *row, const struct colinfo *c)
{
	return !((const struct cg_row *)row)->pages.exact && (c->id == F_USS || c->id == F_FREED);
}

static const char *row_text(const void *row, const struct colinfo *c)
{
	return c->id == F_CGROUP ? ((const struct cg_row *)row)->g->path : NULL;
}

/* What a run of cgroups makes. */
struct cg_state {
	struct ml_cgroups cgroups;
	struct cg_row *rows;
};

/*
 * The pages of each cgroup's processes (in it or below), from the page ledger: cgroups of
 * one depth are disjoint, so each depth is one partition of the processes (a process
 * whose cgroup is unknown is in none). Returns 0 or -ENOMEM.
 */
static int book_pages(struct cg_state *st, const struct ml_scan *s, const struct ml_pages *pg)
{
	const struct ml_cgroups *cg = &st->cgroups;
	uint32_t *set_of = malloc((s->nprocs + 1) * sizeof(*set_of));
	uint32_t *set_row = malloc((cg->n + 1) * sizeof(*set_row));
	struct ml_freed *out = calloc(cg->n + 1, sizeof(*out));
	unsigned deepest = 0;
	int rc = set_of && set_row && out ? 0 : -ENOMEM;

	for (size_t k = 0; k < cg->n; k++)
		deepest = cg->v[k].depth > deepest ? cg->v[k].depth : deepest;
	for (unsigned d = 0; rc == 0 && d <= deepest; d++) {
		uint32_t nsets = 0;
		for (size_t k = 0; k < cg->n; k++)
			if (cg->v[k].depth == d)
				set_row[nsets++] = (uint32_t)k;
		for (size_t i = 0; i < s->nprocs; i++) {
			set_of[i] = UINT32_MAX;
			for (uint32_t j = 0; s->procs[i].cgroup && j < nsets; j++)
				if (ml_cgroup_inside(s->procs[i].cgroup, cg->v[set_row[j]].path))
					set_of[i] = j;
		}
		rc = ml_pages_freed(pg, set_of, nsets, out);
		for (uint32_t j = 0; rc == 0 && j < nsets; j++)
			st->rows[set_row[j]].pages = out[j];
	}
	free(set_of);
	free(set_row);
	free(out);
	return rc;
}

/* Reads the cgroup tree and sums each one's processes (a view_def's rows). */
static int cgroups_rows(struct view_run *run)
{
	struct cg_state *st = calloc(1, sizeof(*st));
	struct ml_source *src;
	int rc;

	run->state = st;
	if (!st)
		return -ENOMEM;
	src = run_source(run->run, 0, false);
	if (!src)
		return -EIO;
	rc = ml_cgroups_read(src, &st->cgroups);
	if (rc == -ENOENT) {
		cli_warn("no memory cgroup hierarchy here (v2 with the memory controller, or v1's "
		         "memory/)");
		return -ENOENT;
	}
	if (rc < 0 || !(st->rows = calloc(st->cgroups.n + 1, sizeof(*st->rows))))
		return rc < 0 ? rc : -ENOMEM;
	for (size_t k = 0; k < st->cgroups.n; k++) {
		struct cg_row *r = &st->rows[k];
		r->g = &st->cgroups.v[k];
		for (size_t i = 0; i < run->scan.nprocs; i++) {
			const struct ml_proc *p = &run->scan.procs[i];
			if (!p->cgroup || !ml_cgroup_inside(p->cgroup, r->g->path))
				continue;
			r->procs++;
			r->pss = ml_add_u64(r->pss, ml_proc_metric(p, ML_PSS));
			r->uss = ml_add_u64(r->uss, ml_proc_metric(p, ML_USS));
		}
		r->pages = ml_freed_unknown;
	}
	if (run->pages && (rc = book_pages(st, &run->scan, run->pages)) < 0)
		return rc;
	run->rows = (struct view_rows){.rows = st->rows,
	                               .n = st->cgroups.n,
	                               .size = sizeof(*st->rows),
	                               .number = row_number,
	                               .text = row_text,
	                               .bound = row_bound};
	return 0;
}

static void cgroups_end(struct view_run *run)
{
	struct cg_state *st = run->state;

	if (!st)
		return;
	ml_cgroups_free(&st->cgroups);
	free(st->rows);
	free(st);
}

static const struct view_def cgroups_view = {
    .name = "cgroups",
    .cols = &cg_cols,
    .sort = "CGROUP",
    .tie = "CGROUP",
    .needs = ML_NEED_CGROUP | ML_NEED_ROLLUP,
    .rows = cgroups_rows,
    .end = cgroups_end,
};

int cmd_cgroups(struct run *run)
{
	return view_run(run, &cgroups_view);
}
