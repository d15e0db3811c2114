/* memledger tree [PID]: the process tree, each process's figures and its subtree's. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "memledger.h"
#include "procs.h"
#include "commands.h"
#include "run.h"
#include "view.h"

enum tree_field {
	F_PID,
	F_PPID,
	F_ROLE,
	F_COMMAND,
	F_RSS,
	F_PSS,
	F_USS,
	F_SWAP,
	F_COW,
	F_SUBPSS,
	F_FREED,
	F_GPU,
	F_VRAM,
	F_DMABUF
};

static const struct colinfo infos[] = {
    {"PID", COL_COUNT, OUT_RIGHT, F_PID, "process ID", 0, VIEW_TOTAL_NONE},
    {"PPID", COL_COUNT, OUT_RIGHT, F_PPID, "parent process ID", 0, VIEW_TOTAL_NONE},
    {"ROLE", COL_STR, 0, F_ROLE,
     "what a multi-process app makes of it: Chromium's --type (renderer, gpu-process...)", 0,
     VIEW_TOTAL_NONE},
    {"COMMAND", COL_STR, OUT_TREE | OUT_KEY | OUT_PATHS, F_COMMAND,
     "command line, under its parent; [COMM] when it is empty", 0, VIEW_TOTAL_NONE},
    {"RSS", COL_SIZE, OUT_RIGHT, F_RSS, "the process's resident memory (Rss)", 0, VIEW_TOTAL_SUM},
    {"PSS", COL_SIZE, OUT_RIGHT, F_PSS, "the process's proportional set (Pss)", 0, VIEW_TOTAL_SUM},
    {"USS", COL_SIZE, OUT_RIGHT, F_USS, "the process's unique pages (Private_Clean+Private_Dirty)",
     0, VIEW_TOTAL_SUM},
    {"SWAP", COL_SIZE, OUT_RIGHT, F_SWAP, "the process's swapped-out memory (Swap)", 0,
     VIEW_TOTAL_SUM},
    {"COW", COL_SIZE, OUT_RIGHT, F_COW,
     "anonymous memory still shared with the parent since fork (exact mode)", 0, VIEW_TOTAL_NONE},
    {"SUBPSS", COL_SIZE, OUT_RIGHT, F_SUBPSS, "Σ PSS of the process and its descendants", 0,
     VIEW_TOTAL_NONE},
    {"FREED", COL_SIZE, OUT_RIGHT, F_FREED,
     "what killing the process and all its descendants would give back", 0, VIEW_TOTAL_NONE},
    {"GPU", COL_SIZE, OUT_RIGHT, F_GPU,
     "the process's share of GPU buffers in system memory (RAM; DRM fdinfo)", ML_NEED_GPU,
     VIEW_TOTAL_SUM},
    {"VRAM", COL_SIZE, OUT_RIGHT, F_VRAM,
     "the process's share of GPU device memory, not RAM (DRM fdinfo, NVML)", ML_NEED_GPU,
     VIEW_TOTAL_SUM},
    {"DMABUF", COL_SIZE, OUT_RIGHT, F_DMABUF,
     "the process's share of the dma-bufs it holds by fd or mapping", ML_NEED_GPU, VIEW_TOTAL_SUM},
};

/* COMMAND, drawn as a tree, last: a line is as long as its own command line. */
static const char *const default_columns[] = {"PID", "PSS", "COW", "SUBPSS", "FREED", "COMMAND"};

static const struct view_cols tree_cols = VIEW_COLS(infos, default_columns);

/* What the tree knows of each process, by scan index. */
struct tree {
	const struct ml_scan *scan;
	long *parent;  /* scan index of the parent, or -1 */
	size_t *depth; /* how many ancestors */
	uint64_t *subpss;
	struct ml_freed *freed;
	const struct ml_pages *pages;
};

/* A row: one process of the tree, its command line and role. */
struct tree_row {
	const struct tree *t;
	size_t i;
	char *command;
	char role[80];
};

static void tree_free(struct tree *t)
{
	free(t->parent);
	free(t->depth);
	free(t->subpss);
	free(t->freed);
}

/* Finds each process's parent and sums each subtree's PSS, deepest first: linear however
 * deep the tree. Returns 0 or -ENOMEM. */
static int build_tree(struct tree *t, const struct ml_pages *pg)
{
	size_t n = t->scan->nprocs, *order = malloc((n + 1) * sizeof(size_t));
	int rc = -ENOMEM;

	t->parent = calloc(n + 1, sizeof(long));
	t->depth = calloc(n + 1, sizeof(size_t));
	t->subpss = calloc(n + 1, sizeof(uint64_t));
	t->freed = calloc(n + 1, sizeof(struct ml_freed));
	t->pages = pg;
	if (!order || !t->parent || !t->depth || !t->subpss || !t->freed ||
	    ml_scan_parents(t->scan, t->parent, t->depth) < 0 ||
	    ml_order_deepest_first(t->depth, n, order) < 0)
		goto out;
	for (size_t i = 0; i < n; i++)
		t->subpss[i] = ml_proc_metric(&t->scan->procs[i], ML_PSS);
	for (size_t k = 0; k < n; k++) { /* each subtree into its parent's, deepest first */
		size_t i = order[k];
		long up = t->parent[i];
		if (up < 0)
			continue;
		t->subpss[up] = ml_add_u64(t->subpss[up], t->subpss[i]);
	}
	rc = ml_pages_freed_tree(pg, t->freed);
out:
	free(order);
	return rc;
}

static uint64_t row_number(const void *row, const struct colinfo *c)
{
	const struct tree_row *r = row;
	const struct tree *t = r->t;
	const struct ml_proc *p = &t->scan->procs[r->i];

	switch (c->id) {
	case F_PID: return (uint64_t)p->pid;
	case F_PPID: return p->status.ppid >= 0 ? (uint64_t)p->status.ppid : ML_UNKNOWN;
	case F_RSS: return ml_proc_metric(p, ML_RSS);
	case F_PSS: return ml_proc_metric(p, ML_PSS);
	case F_USS: return ml_proc_metric(p, ML_USS);
	case F_SWAP: return ml_proc_metric(p, ML_SWAP);
	case F_GPU: return ml_proc_metric(p, ML_GPU);
	case F_VRAM: return ml_proc_metric(p, ML_VRAM);
	case F_DMABUF: return ml_proc_metric(p, ML_DMABUF);
	case F_COW: return ml_pages_cow(t->pages, r->i);
	case F_SUBPSS: return t->subpss[r->i];
	case F_FREED: return ml_freed_total(&t->freed[r->i]);
	default: return ML_UNKNOWN;
	}
}

/* Without frame numbers FREED is a lower bound. */
static bool row_bound(const void *row, const struct colinfo *c)
{
	const struct tree_row *r = row;

	return c->id == F_FREED && !r->t->freed[r->i].exact;
}

static const char *row_text(const void *row, const struct colinfo *c)
{
	const struct tree_row *r = row;

	return c->id == F_COMMAND ? r->command : c->id == F_ROLE ? r->role : NULL;
}

static void free_rows(struct tree_row *rows, size_t n)
{
	for (size_t i = 0; rows && i < n; i++)
		free(rows[i].command);
	free(rows);
}

/* A row per process of t, by scan index. Returns NULL when out of memory. */
static struct tree_row *build_rows(const struct tree *t)
{
	size_t n = t->scan->nprocs;
	struct tree_row *rows = calloc(n + 1, sizeof(*rows));
	struct ml_roles roles;

	if (ml_roles_make(&roles, t->scan) < 0) {
		ml_roles_free(&roles);
		free(rows);
		return NULL;
	}
	for (size_t i = 0; rows && i < n; i++) {
		const char *role = ml_roles_get(&roles, i);
		rows[i] = (struct tree_row){t, i, procs_command(&t->scan->procs[i]), ""};
		snprintf(rows[i].role, sizeof(rows[i].role), "%s", role ? role : "");
		if (!rows[i].command) {
			free_rows(rows, i);
			rows = NULL;
		}
	}
	ml_roles_free(&roles);
	return rows;
}

/* The tree and its rows: a view_def's state. */
struct tree_state {
	struct tree t;
	struct tree_row *rows;
};

/* The process tree of the scan, with each subtree's figures; with a PID, its subtree
 * alone (a view_def's rows). Returns 0 or -errno. */
static int tree_rows(struct view_run *run)
{
	struct tree_state *st = calloc(1, sizeof(*st));
	const struct cli *cli = run->cli;

	run->state = st;
	if (!st)
		return -ENOMEM;
	st->t.scan = &run->scan;
	if (cli->npids && (run->root = ml_scan_find(&run->scan, cli->pids[0])) < 0) {
		run_warn(run->run, "no process %d (or it has no user memory, or cannot be read)",
		         (int)cli->pids[0]);
		return -ENOENT;
	}
	if (build_tree(&st->t, run->pages) < 0 || !(st->rows = build_rows(&st->t)))
		return -ENOMEM;
	run->parent = st->t.parent; /* the driver's now */
	st->t.parent = NULL;
	run->rows = (struct view_rows){.rows = st->rows,
	                               .n = run->scan.nprocs,
	                               .size = sizeof(*st->rows),
	                               .number = row_number,
	                               .text = row_text,
	                               .bound = row_bound};
	return 0;
}

static int tree_begin(struct view_run *run)
{
	if (run->cli->npids > 1) {
		cli_warn("tree takes one PID at most");
		return EXIT_USAGE;
	}
	return EXIT_GO_ON;
}

static void tree_end(struct view_run *run)
{
	struct tree_state *st = run->state;

	if (!st)
		return;
	free_rows(st->rows, run->scan.nprocs);
	tree_free(&st->t);
	free(st);
}

static const struct view_def tree_view = {
    .name = "processes",
    .cols = &tree_cols,
    .needs = ML_NEED_PAGEMAP | ML_NEED_STATUS | ML_NEED_CMDLINE | ML_NEED_ROLLUP,
    .when_any = "ROLE",
    .children_key = "children",
    .begin = tree_begin,
    .rows = tree_rows,
    .end = tree_end,
};

int cmd_tree(struct run *run)
{
	return view_run(run, &tree_view);
}
