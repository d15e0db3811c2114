/* memledger groups --by KEY: processes grouped, with the pages each group holds alone. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "groups.h"
#include "memledger.h"
#include "procs.h"
#include "users.h"
#include "view.h"

enum group_field {
	F_NAME,
	F_PROCS,
	F_PSS,
	F_USS,
	F_FREED,
	F_SHARED_OUT,
	F_FOOTPRINT,
	F_SWAP,
	F_SWAP_ZRAM,
	F_RSS,
	F_GPU,
	F_VRAM,
	F_DMABUF
};

static const struct colinfo infos[] = {
    {"NAME", COL_STR, OUT_TRUNC, F_NAME,
     "the group: command, executable, user, cgroup, session, process group, tree root or app", 0,
     VIEW_TOTAL_NONE},
    {"PROCS", COL_COUNT, OUT_RIGHT, F_PROCS, "processes in the group", 0, VIEW_TOTAL_SUM},
    {"PSS", COL_SIZE, OUT_RIGHT, F_PSS,
     "Σ PSS of its processes (exact mode: page by page, truncated once)", 0, VIEW_TOTAL_SUM},
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

static const char *const key_names[] = {"comm", "exe",  "user", "cgroup", "session",
                                        "pgid", "tree", "pid",  "app"};

/* True when processes a and b run the same executable (both known). */
static bool same_exe(const struct ml_scan *s, size_t a, size_t b)
{
	return s->procs[a].exe && s->procs[b].exe && strcmp(s->procs[a].exe, s->procs[b].exe) == 0;
}

/*
 * Sets each process's root, parents first so that each takes its parent's: BY_TREE, its
 * ancestor just below PID 1 (or the topmost one read); BY_APP, its topmost ancestor that
 * runs the same executable, through an unbroken line of them (browser, zygote, renderers;
 * a server's master and workers), so that a child that exec'd another program starts its
 * own. Returns 0 or -ENOMEM.
 */
static int find_roots(struct grouping *g)
{
	const struct ml_scan *s = g->scan;
	size_t n = s->nprocs, *depth = malloc((n + 1) * sizeof(size_t));
	size_t *order = malloc((n + 1) * sizeof(size_t));
	long *parent = malloc((n + 1) * sizeof(long));
	int rc = -ENOMEM;

	g->root = malloc((n + 1) * sizeof(size_t));
	if (!depth || !order || !parent || !g->root || ml_scan_parents(s, parent, depth) < 0 ||
	    ml_order_deepest_first(depth, n, order) < 0)
		goto out;
	for (size_t k = n; k-- > 0;) { /* shallowest first */
		size_t i = order[k];
		long up = parent[i];
		bool joins = g->by == BY_APP
		                 ? up >= 0 && same_exe(s, i, (size_t)up)
		                 : up >= 0 && s->procs[up].pid != 1 && s->procs[i].pid != 1;
		g->root[i] = joins ? g->root[up] : i;
	}
	rc = 0;
out:
	free(depth);
	free(order);
	free(parent);
	return rc;
}

/* The group name of process i, malloc'ed in *name (NULL: unknown). Returns 0 or -ENOMEM. */
static int key_of(struct grouping *g, size_t i, char **name)
{
	const struct ml_proc *p = &g->scan->procs[i];
	const char *text = NULL;

	*name = NULL;
	switch (g->by) {
	case BY_COMM: text = p->comm; break;
	case BY_EXE: text = p->exe; break;
	case BY_CGROUP: text = p->cgroup; break;
	case BY_USER: text = user_cache_name(&g->users, p->status.uid); break;
	case BY_SESSION:
		*name = procs_pid_label(g->scan, p->stat.session);
		return *name ? 0 : -ENOMEM;
	case BY_PGID: *name = procs_pid_label(g->scan, p->stat.pgid); return *name ? 0 : -ENOMEM;
	case BY_TREE:
	case BY_APP: i = g->root[i]; /* fall through */
	case BY_PID:
		*name = procs_pid_label(g->scan, g->scan->procs[i].pid);
		return *name ? 0 : -ENOMEM;
	}
	if (text && !(*name = strdup(text)))
		return -ENOMEM;
	return 0;
}

/* Orders process indexes by group name, unknown last. */
static int cmp_key(const void *a, const void *b, void *ctx)
{
	char **key = ctx;
	const char *x = key[*(const size_t *)a], *y = key[*(const size_t *)b];

	if (!x || !y)
		return (x == NULL) - (y == NULL);
	return strcmp(x, y);
}

static bool same_key(const char *a, const char *b)
{
	return a == b || (a && b && strcmp(a, b) == 0);
}

/* Gives each process its group: one per distinct name; forked twins stay apart only by
 * name, never merged into one process. Returns 0 or -ENOMEM. */
static int assign_groups(struct grouping *g)
{
	size_t n = g->scan->nprocs, *order = malloc((n + 1) * sizeof(*order));

	g->key = calloc(n + 1, sizeof(*g->key));
	g->set_of = malloc((n + 1) * sizeof(*g->set_of));
	g->groups = calloc(n + 1, sizeof(*g->groups));
	if (!order || !g->key || !g->set_of || !g->groups) {
		free(order);
		return -ENOMEM;
	}
	for (size_t i = 0; i < n; i++) {
		order[i] = i;
		if (key_of(g, i, &g->key[i]) < 0) {
			free(order);
			return -ENOMEM;
		}
	}
	if (n)
		qsort_r(order, n, sizeof(*order), cmp_key, g->key);
	for (size_t k = 0; k < n; k++) {
		size_t i = order[k];
		if (k == 0 || !same_key(g->key[i], g->key[order[k - 1]])) {
			g->groups[g->ngroups].name = g->key[i];
			g->ngroups++;
		}
		g->set_of[i] = (uint32_t)(g->ngroups - 1);
	}
	free(order);
	return 0;
}

/* Sums each group's figures from its processes and from the page ledger (pg; NULL: its
 * figures unknown). */
static int sum_groups(struct grouping *g, const struct ml_pages *pg)
{
	struct ml_freed *freed = calloc(g->ngroups + 1, sizeof(*freed));
	int rc = !freed ? -ENOMEM : pg ? ml_pages_freed(pg, g->set_of, g->ngroups, freed) : 0;

	for (size_t k = 0; rc == 0 && k < g->ngroups; k++) {
		g->groups[k].freed = freed[k];
		if (!pg) /* no page ledger: nothing of it known */
			g->groups[k].freed = ml_freed_unknown;
	}
	for (size_t i = 0; rc == 0 && i < g->scan->nprocs; i++) {
		const struct ml_proc *p = &g->scan->procs[i];
		struct group *gr = &g->groups[g->set_of[i]];
		gr->nprocs++;
		gr->pss = ml_add_u64(gr->pss, ml_proc_metric(p, ML_PSS));
		gr->footprint = ml_add_u64(gr->footprint, ml_proc_metric(p, ML_FOOTPRINT));
		gr->uss_bound = ml_add_u64(gr->uss_bound, ml_proc_metric(p, ML_USS));
		gr->gpu = ml_add_u64(gr->gpu, ml_proc_metric(p, ML_GPU));
		gr->vram = ml_add_u64(gr->vram, ml_proc_metric(p, ML_VRAM));
		gr->dmabuf = ml_add_u64(gr->dmabuf, ml_proc_metric(p, ML_DMABUF));
	}
	free(freed);
	return rc;
}

void grouping_free(struct grouping *g)
{
	if (!g->scan)
		return;
	for (size_t i = 0; g->key && i < g->scan->nprocs; i++)
		free(g->key[i]);
	free(g->key);
	free(g->set_of);
	free(g->groups);
	free(g->root);
	user_cache_free(&g->users);
}

void group_figures(const struct group *g, struct group_figures *out)
{
	const struct ml_freed *f = &g->freed;

	out->pss = f->exact ? f->pss : g->pss;
	out->uss = f->exact ? f->uss : g->uss_bound;
	out->freed = ml_freed_total(f);
	out->shared_out =
	    f->exact && f->rss != ML_UNKNOWN && f->uss != ML_UNKNOWN ? f->rss - f->uss : ML_UNKNOWN;
	out->footprint = g->footprint;
}

static uint64_t row_number(const void *row, const struct colinfo *c)
{
	const struct group *g = row;
	const struct ml_freed *f = &g->freed;
	struct group_figures fig;

	group_figures(g, &fig);
	switch (c->id) {
	case F_PROCS: return g->nprocs;
	case F_PSS: return fig.pss;
	case F_USS: return fig.uss;
	case F_FREED: return fig.freed;
	case F_SHARED_OUT: return fig.shared_out;
	case F_FOOTPRINT: return fig.footprint;
	case F_SWAP: return f->swap_held;
	case F_SWAP_ZRAM: return f->swap_zram;
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
	return !((const struct group *)row)->freed.exact && (c->id == F_USS || c->id == F_FREED);
}

static const char *row_text(const void *row, const struct colinfo *c)
{
	(void)c;
	return ((const struct group *)row)->name;
}

unsigned grouping_needs(enum group_key by)
{
	switch (by) {
	case BY_EXE:
	case BY_APP: return ML_NEED_EXE;
	case BY_CGROUP: return ML_NEED_CGROUP;
	case BY_SESSION:
	case BY_PGID: return ML_NEED_STAT;
	default: return 0;
	}
}

const char *grouping_key_name(enum group_key by)
{
	return key_names[by];
}

int grouping_key(const char *by)
{
	return cli_choice("--by", key_names, sizeof(key_names) / sizeof(key_names[0]),
	                  by ? by : "comm");
}

int grouping_make(struct grouping *g, const struct ml_scan *s, enum group_key by,
                  const struct ml_pages *pg)
{
	*g = (struct grouping){.scan = s, .by = by};
	if (((by == BY_TREE || by == BY_APP) && find_roots(g) < 0) || assign_groups(g) < 0 ||
	    sum_groups(g, pg) < 0)
		return -ENOMEM;
	return 0;
}

/* Reads --by into run->state and adds what its key reads (a view_def's begin). Returns
 * EXIT_GO_ON or an exit status after a message. */
static int groups_begin(struct view_run *run)
{
	int by = grouping_key(run->cli->group_by);
	struct grouping *g;

	if (by < 0)
		return EXIT_USAGE;
	g = calloc(1, sizeof(*g));
	if (!g) {
		cli_warn("out of memory");
		return EXIT_ERROR;
	}
	g->by = (enum group_key)by;
	run->state = g;
	run->needs |= grouping_needs(g->by);
	return EXIT_GO_ON;
}

/* Groups run's scan and sums each group (a view_def's rows). Returns 0 or -ENOMEM. */
static int groups_rows(struct view_run *run)
{
	struct grouping *g = run->state;

	if (grouping_make(g, &run->scan, g->by, run->pages) < 0)
		return -ENOMEM;
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
		grouping_free(run->state);
	free(run->state);
}

static const struct view_def groups_view = {
    .name = "groups",
    .cols = &groups_cols,
    .sort = "PSS",
    .tie = "NAME",
    .needs = ML_NEED_PAGEMAP | ML_NEED_ROLLUP,
    .begin = groups_begin,
    .rows = groups_rows,
    .end = groups_end,
};

int groups_run(struct cli *cli)
{
	return view_run(cli, &groups_view);
}
