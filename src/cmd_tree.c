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
    {"COMMAND", COL_STR, OUT_TREE | OUT_TRUNC | OUT_PATHS, F_COMMAND,
     "command line, under its parent; [COMM] when it is empty", 0, VIEW_TOTAL_NONE},
    {"RSS", COL_SIZE, OUT_RIGHT, F_RSS, "the process's resident memory (Rss)", 0, VIEW_TOTAL_NONE},
    {"PSS", COL_SIZE, OUT_RIGHT, F_PSS, "the process's proportional set (Pss)", 0, VIEW_TOTAL_NONE},
    {"USS", COL_SIZE, OUT_RIGHT, F_USS, "the process's unique pages (Private_Clean+Private_Dirty)",
     0, VIEW_TOTAL_NONE},
    {"SWAP", COL_SIZE, OUT_RIGHT, F_SWAP, "the process's swapped-out memory (Swap)", 0,
     VIEW_TOTAL_NONE},
    {"COW", COL_SIZE, OUT_RIGHT, F_COW,
     "anonymous memory still shared with the parent since fork (exact mode)", 0, VIEW_TOTAL_NONE},
    {"SUBPSS", COL_SIZE, OUT_RIGHT, F_SUBPSS, "Σ PSS of the process and its descendants", 0,
     VIEW_TOTAL_NONE},
    {"FREED", COL_SIZE, OUT_RIGHT, F_FREED,
     "what killing the process and all its descendants would give back", 0, VIEW_TOTAL_NONE},
    {"GPU", COL_SIZE, OUT_RIGHT, F_GPU,
     "the process's share of GPU buffers in system memory (RAM; DRM fdinfo)", ML_NEED_GPU,
     VIEW_TOTAL_NONE},
    {"VRAM", COL_SIZE, OUT_RIGHT, F_VRAM,
     "the process's share of GPU device memory, not RAM (DRM fdinfo, NVML)", ML_NEED_GPU,
     VIEW_TOTAL_NONE},
    {"DMABUF", COL_SIZE, OUT_RIGHT, F_DMABUF,
     "the process's share of the dma-bufs it holds by fd or mapping", ML_NEED_GPU, VIEW_TOTAL_NONE},
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

	for (size_t i = 0; rows && i < n; i++) {
		rows[i] = (struct tree_row){t, i, procs_command(&t->scan->procs[i]), ""};
		procs_role(t->scan, &t->scan->procs[i], rows[i].role, sizeof(rows[i].role));
		if (!rows[i].command) {
			free_rows(rows, i);
			return NULL;
		}
	}
	return rows;
}

/* The optional PID whose subtree is shown. Returns it, 0 for none, or -1 after a message. */
static long root_pid(const struct cli *cli)
{
	if (cli->npids > 1) {
		cli_warn("tree takes one PID at most");
		return -1;
	}
	return cli->npids ? cli->pids[0] : 0;
}

/* Prints the tree (or root's subtree), siblings ordered by key (NULL: by PID). Returns 0
 * or -errno. */
static int print_tree(const struct cli *cli, struct view_rows *r, const struct tree *t, long root,
                      const struct colinfo **cols, int ncols, const struct colinfo *key)
{
	struct out_table *out = NULL;
	int rc = view_tree_table(cli, "processes", "children", r, t->parent, root, cols, ncols, key,
	                         &out);

	return rc < 0 ? rc : procs_print_document(cli, out, t->scan, t->pages);
}

int cmd_tree(struct run *run)
{
	struct cli *cli = run->cli;
	const struct colinfo *cols[VIEW_MAX_COLS], *key;
	struct ml_pages *pg = NULL;
	struct ml_scan s = {0};
	struct tree t = {.scan = &s};
	struct tree_row *rows = NULL;
	long pid, root = -1;
	int ncols, rc;

	rc = view_begin(cli, &tree_cols, true, NULL, NULL, cols, &ncols, &key);
	if (rc != EXIT_GO_ON)
		return rc;
	pid = root_pid(cli);
	if (pid < 0)
		return EXIT_USAGE;
	unsigned needs = ML_NEED_PAGEMAP | ML_NEED_STATUS | ML_NEED_CMDLINE | ML_NEED_ROLLUP;
	for (int i = 0; i < ncols; i++)
		needs |= cols[i]->needs;
	rc = procs_scan_pages(run, needs | (key ? key->needs : 0), &s, &pg);
	if (rc != EXIT_GO_ON)
		goto out;
	rc = EXIT_ERROR;
	if (pid && (root = ml_scan_find(&s, (pid_t)pid)) < 0) {
		cli_warn("no process %ld (or it has no user memory, or cannot be read)", pid);
		goto out;
	}
	if (build_tree(&t, pg) < 0 || !(rows = build_rows(&t))) {
		cli_warn("out of memory");
		goto out;
	}
	procs_report_unreadable(run, &s);
	{
		struct view_rows r = {.rows = rows,
		                      .n = s.nprocs,
		                      .size = sizeof(*rows),
		                      .number = row_number,
		                      .text = row_text,
		                      .bound = row_bound};
		view_add_when_any(&tree_cols, "ROLE", cli, &r, cols, &ncols);
		rc = print_tree(cli, &r, &t, root, cols, ncols, key);
	}
	if (rc < 0) {
		out_failed(&cli->out, -rc);
		rc = EXIT_ERROR;
		goto out;
	}
	rc = EXIT_OK;
out:
	free_rows(rows, s.nprocs);
	tree_free(&t);
	ml_pages_free(pg);
	ml_scan_free(&s);
	return rc;
}
