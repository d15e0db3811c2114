/* memledger groups --by KEY: processes grouped, with the pages each group holds alone. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "commands.h"
#include "run.h"
#include "memledger/group.h"
#include "memledger.h"
#include "procs.h"
#include "view.h"

enum group_field {
	F_NAME,
	F_PROCS,
	F_PID,
	F_INSTANCES,
	F_PSS,
	F_USS,
	F_FREED,
	F_SHARED_OUT,
	F_FOOTPRINT,
	F_SWAP,
	F_SWAP_ZRAM,
	F_COMPRESSED,
	F_RSS,
	F_GPU,
	F_VRAM,
	F_DMABUF
};

static const struct colinfo infos[] = {
    {"NAME", COL_STR, OUT_KEY, F_NAME,
     "the group: command, executable, user, cgroup, session, process group, tree root or app", 0,
     VIEW_TOTAL_NONE},
    {"PROCS", COL_COUNT, OUT_RIGHT, F_PROCS, "processes in the group", 0, VIEW_TOTAL_SUM},
    {"PID", COL_COUNT, OUT_RIGHT, F_PID,
     "--by app, tree, pid: the top process of its largest instance (shown with those keys)", 0,
     VIEW_TOTAL_NONE},
    {"INSTANCES", COL_COUNT, OUT_RIGHT, F_INSTANCES,
     "--by app: separate process trees running it (several browsers: one group)", 0,
     VIEW_TOTAL_NONE},
    {"PSS", COL_SIZE, OUT_RIGHT, F_PSS,
     "Σ PSS of its processes (exact mode: page by page, truncated once)", 0, VIEW_TOTAL_SUM},
    VIEW_PMEM_COL,
    {"USS", COL_SIZE, OUT_RIGHT, F_USS,
     "resident pages that no process outside the group maps (without frame numbers: Σ USS, "
     "a lower bound)",
     0, VIEW_TOTAL_SUM},
    {"FREED", COL_SIZE, OUT_RIGHT, F_FREED, "what killing the whole group would give back", 0,
     VIEW_TOTAL_SUM},
    {"SHARED-OUT", COL_SIZE, OUT_RIGHT, F_SHARED_OUT,
     "resident pages it maps that processes outside the group map too (exact mode)", 0,
     VIEW_TOTAL_NONE},
    {"FOOTPRINT", COL_SIZE, OUT_RIGHT, F_FOOTPRINT, "Σ RssAnon + VmSwap of its processes", 0,
     VIEW_TOTAL_SUM},
    {"SWAP", COL_SIZE, OUT_RIGHT, F_SWAP, "distinct swap slots it holds (exact mode)", 0,
     VIEW_TOTAL_NONE},
    {"SWAP-ZRAM", COL_SIZE, OUT_RIGHT, F_SWAP_ZRAM,
     "of SWAP, the slots on zram: compressed, still in RAM (exact mode)", 0, VIEW_TOTAL_NONE},
    {"COMPRESSED", COL_SIZE, OUT_RIGHT, F_COMPRESSED,
     "the RAM its swap costs: Σ SwapPss x zram's or zswap's ratio (as ps); 0 on a disk", 0,
     VIEW_TOTAL_SUM},
    {"RSS", COL_SIZE, OUT_RIGHT, F_RSS, "distinct resident pages it maps (exact mode)", 0,
     VIEW_TOTAL_NONE},
    {"GPU", COL_SIZE, OUT_RIGHT, F_GPU,
     "Σ its processes' shares of GPU buffers in system memory (RAM; DRM fdinfo)", ML_NEED_GPU,
     VIEW_TOTAL_SUM},
    {"VRAM", COL_SIZE, OUT_RIGHT, F_VRAM,
     "Σ its processes' shares of GPU device memory, not RAM (DRM fdinfo, NVML)", ML_NEED_GPU,
     VIEW_TOTAL_SUM},
    {"DMABUF", COL_SIZE, OUT_RIGHT, F_DMABUF,
     "Σ its processes' shares of the dma-bufs they hold by fd or mapping", ML_NEED_GPU,
     VIEW_TOTAL_SUM},
};

static const char *const default_columns[] = {"NAME",  "PROCS",      "PSS",      "USS",
                                              "FREED", "SHARED-OUT", "FOOTPRINT"};

static const struct view_cols groups_cols = VIEW_COLS(infos, default_columns);

static uint64_t row_number(const void *row, const struct colinfo *c)
{
	const struct ml_named_group *g = row;
	const struct ml_freed *f = &g->freed;
	struct ml_group_figures fig;

	ml_group_figures(g, &fig);
	switch (c->id) {
	case F_PROCS: return g->nprocs;
	case F_PID: return g->pid ? (uint64_t)g->pid : ML_UNKNOWN;
	case F_INSTANCES: return g->instances ? g->instances : ML_UNKNOWN;
	case F_PSS: return fig.pss;
	case F_USS: return fig.uss;
	case F_FREED: return fig.freed;
	case F_SHARED_OUT: return fig.shared_out;
	case F_FOOTPRINT: return fig.footprint;
	case F_SWAP: return f->swap_held;
	case F_SWAP_ZRAM: return f->swap_zram;
	case F_COMPRESSED: return g->compressed;
	case F_RSS: return f->rss;
	case F_GPU: return g->gpu;
	case F_VRAM: return g->vram;
	case F_DMABUF: return g->dmabuf;
	default: return ML_UNKNOWN;
	}
}

/* Without frame numbers USS and FREED are lower bounds. */
static bool row_bound(const void *row, const struct colinfo *c)
{
	return !((const struct ml_named_group *)row)->freed.exact &&
	       (c->id == F_USS || c->id == F_FREED);
}

static const char *row_text(const void *row, const struct colinfo *c)
{
	(void)c;
	return ((const struct ml_named_group *)row)->name;
}

/* Reads --by into run->state and adds what its key reads (a view_def's begin). Returns
 * EXIT_GO_ON or an exit status after a message. */
static int groups_begin(struct view_run *run)
{
	int by = cli_group_key(run->cli->group_by);
	struct ml_grouping *g;

	if (by < 0)
		return EXIT_USAGE;
	g = calloc(1, sizeof(*g));
	if (!g) {
		cli_warn("out of memory");
		return EXIT_ERROR;
	}
	g->by = (enum ml_group_key)by;
	run->state = g;
	run->needs |= ml_grouping_needs(g->by);
	return EXIT_GO_ON;
}

/* Groups run's scan and sums each group (a view_def's rows). Returns 0 or -ENOMEM. */
static int groups_rows(struct view_run *run)
{
	struct ml_grouping *g = run->state;

	struct ml_swap_cost cost;
	bool costed;

	if (ml_grouping_make(g, &run->scan, g->by, run->pages) < 0)
		return -ENOMEM;
	costed = view_shows(run, F_COMPRESSED) &&
	         ml_swap_cost_read(run_source(run->run, 0, false), &cost) == 0;
	for (size_t k = 0; k < g->ngroups; k++)
		g->groups[k].compressed =
		    costed ? ml_swap_compressed(&cost, g->groups[k].swap_pss) : ML_UNKNOWN;
	run->rows = (struct view_rows){.rows = g->groups,
	                               .n = g->ngroups,
	                               .size = sizeof(*g->groups),
	                               .number = row_number,
	                               .text = row_text,
	                               .bound = row_bound};
	return 0;
}

static void groups_end(struct view_run *run)
{
	if (run->state)
		ml_grouping_free(run->state);
	free(run->state);
}

static const struct view_def groups_view = {
    .name = "groups",
    .cols = &groups_cols,
    .sort = "PSS",
    .tie = "NAME",
    .needs = ML_NEED_PAGEMAP | ML_NEED_ROLLUP,
    .when_any = "PID,INSTANCES",
    .begin = groups_begin,
    .rows = groups_rows,
    .end = groups_end,
};

int cmd_groups(struct run *run)
{
	return view_run(run, &groups_view);
}
