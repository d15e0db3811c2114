/* memledger tree [PID]: the process tree, each process's figures and its subtree's. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "memledger.h"
#include "procs.h"
#include "tree.h"
#include "view.h"

enum tree_field { F_PID, F_PPID, F_COMMAND, F_RSS, F_PSS, F_USS, F_SWAP, F_COW, F_SUBPSS, F_FREED };

static const struct colinfo infos[] = {
    {"PID", COL_COUNT, OUT_RIGHT, F_PID, "process ID"},
    {"PPID", COL_COUNT, OUT_RIGHT, F_PPID, "parent process ID"},
    {"COMMAND", COL_STR, OUT_TREE | OUT_TRUNC, F_COMMAND,
     "command line, under its parent; [COMM] when it is empty"},
    {"RSS", COL_SIZE, OUT_RIGHT, F_RSS, "the process's resident memory (Rss)"},
    {"PSS", COL_SIZE, OUT_RIGHT, F_PSS, "the process's proportional set (Pss)"},
    {"USS", COL_SIZE, OUT_RIGHT, F_USS, "the process's unique pages (Private_Clean+Private_Dirty)"},
    {"SWAP", COL_SIZE, OUT_RIGHT, F_SWAP, "the process's swapped-out memory (Swap)"},
    {"COW", COL_SIZE, OUT_RIGHT, F_COW,
     "anonymous memory still shared with the parent since fork (exact mode)"},
    {"SUBPSS", COL_SIZE, OUT_RIGHT, F_SUBPSS, "Σ PSS of the process and its descendants"},
    {"FREED", COL_SIZE, OUT_RIGHT, F_FREED,
     "what killing the process and all its descendants would give back"},
};

/* COMMAND, drawn as a tree, last: a line is as long as its own command line. */
static const char *const default_columns[] = {"PID", "PSS", "COW", "SUBPSS", "FREED", "COMMAND"};

static const struct view_cols tree_cols = VIEW_COLS(infos, default_columns);

/* What the tree knows of each process, by scan index. */
struct tree {
	const struct ml_scan *scan;
	long *parent;        /* scan index of the parent, or -1 */
	size_t *depth;       /* how many ancestors */
	size_t *first_child; /* scan index + 1 of the first child, 0: none */
	size_t *next;        /* scan index + 1 of the next sibling, 0: none */
	uint64_t *subpss;
	struct ml_freed *freed;
	const struct ml_pages *pages;
};

static void tree_free(struct tree *t)
{
	free(t->parent);
	free(t->depth);
	free(t->first_child);
	free(t->next);
	free(t->subpss);
	free(t->freed);
}

/* Links each process under its parent (siblings by PID) and sums each subtree's PSS,
 * deepest first: linear however deep the tree. Returns 0 or -ENOMEM. */
static int build_tree(struct tree *t, const struct ml_pages *pg)
{
	size_t n = t->scan->nprocs, *last = calloc(n + 1, sizeof(size_t));
	size_t *order = malloc((n + 1) * sizeof(size_t));
	int rc = -ENOMEM;

	t->parent = calloc(n + 1, sizeof(long));
	t->depth = calloc(n + 1, sizeof(size_t));
	t->first_child = calloc(n + 1, sizeof(size_t));
	t->next = calloc(n + 1, sizeof(size_t));
	t->subpss = calloc(n + 1, sizeof(uint64_t));
	t->freed = calloc(n + 1, sizeof(struct ml_freed));
	t->pages = pg;
	if (!last || !order || !t->parent || !t->depth || !t->first_child || !t->next ||
	    !t->subpss || !t->freed || ml_scan_parents(t->scan, t->parent, t->depth) < 0 ||
	    ml_order_deepest_first(t->depth, n, order) < 0)
		goto out;
	for (size_t i = 0; i < n; i++) {
		long k = t->parent[i];
		if (k < 0)
			continue;
		if (last[k])
			t->next[last[k] - 1] = i + 1;
		else
			t->first_child[k] = i + 1;
		last[k] = i + 1;
	}
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
	free(last);
	free(order);
	return rc;
}

/* One cell of process i; command is its COMMAND text. */
static struct out_cell cell(const struct tree *t, size_t i, const struct colinfo *c,
                            const char *command)
{
	const struct ml_proc *p = &t->scan->procs[i];

	switch (c->id) {
	case F_PID: return (struct out_cell){.num = (uint64_t)p->pid};
	case F_PPID:
		return (struct out_cell){.num = p->status.ppid >= 0 ? (uint64_t)p->status.ppid
		                                                    : ML_UNKNOWN};
	case F_COMMAND: return (struct out_cell){.str = command};
	case F_RSS: return (struct out_cell){.num = ml_proc_metric(p, ML_RSS)};
	case F_PSS: return (struct out_cell){.num = ml_proc_metric(p, ML_PSS)};
	case F_USS: return (struct out_cell){.num = ml_proc_metric(p, ML_USS)};
	case F_SWAP: return (struct out_cell){.num = ml_proc_metric(p, ML_SWAP)};
	case F_COW: return (struct out_cell){.num = ml_pages_cow(t->pages, i)};
	case F_SUBPSS: return (struct out_cell){.num = t->subpss[i]};
	default:
		return (struct out_cell){.num = ml_freed_total(&t->freed[i]),
		                         .bound = !t->freed[i].exact}; /* without frames: ≥ */
	}
}

/* Adds process i to the table at depth. Returns 0 or -errno. */
static int add_process(struct out_table *out, const struct tree *t, size_t i, unsigned depth,
                       const struct colinfo **cols, int ncols)
{
	struct out_cell cells[VIEW_MAX_COLS];
	char *command = procs_command(&t->scan->procs[i]); /* the table keeps a copy */
	int rc;

	if (!command)
		return -ENOMEM;
	for (int c = 0; c < ncols; c++)
		cells[c] = cell(t, i, cols[c], command);
	rc = out_table_add_nested(out, depth, cells, "children");
	free(command);
	return rc;
}

/* Adds process root and its subtree, parents first, walking down first children and
 * back up through parents: no recursion, however deep the tree. Returns 0 or -errno. */
static int add_subtree(struct out_table *out, const struct tree *t, size_t root,
                       const struct colinfo **cols, int ncols)
{
	size_t i = root;
	unsigned depth = 0;
	int rc = add_process(out, t, i, depth, cols, ncols);

	while (rc == 0) {
		if (t->first_child[i]) {
			i = t->first_child[i] - 1;
			depth++;
		} else {
			while (i != root && !t->next[i]) {
				i = (size_t)t->parent[i];
				depth--;
			}
			if (i == root)
				break;
			i = t->next[i] - 1;
		}
		rc = add_process(out, t, i, depth, cols, ncols);
	}
	return rc;
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

/* Prints the table, and in JSON the exact flag and the unreadable count. Returns 0 or
 * -errno. */
static int print_tree(const struct cli *cli, const struct tree *t, long root,
                      const struct ml_pages *pg, const struct colinfo **cols, int ncols)
{
	struct out_table *out = view_table_new(cli, "processes", cols, ncols);
	int rc = out ? 0 : -ENOMEM;

	for (size_t i = 0; i < t->scan->nprocs && rc == 0; i++)
		if (root >= 0 ? (long)i == root : t->parent[i] < 0)
			rc = add_subtree(out, t, i, cols, ncols);
	if (rc < 0) {
		out_table_free(out);
		return rc;
	}
	return procs_print_document(cli, out, t->scan, pg);
}

int tree_run(struct cli *cli)
{
	const struct colinfo *cols[VIEW_MAX_COLS];
	struct ml_pages *pg = NULL;
	struct ml_scan s = {0};
	struct tree t = {.scan = &s};
	long pid, root = -1;
	int ncols, rc;

	rc = view_begin(cli, &tree_cols, true, cols, &ncols);
	if (rc >= 0)
		return rc;
	pid = root_pid(cli);
	if (pid < 0)
		return EXIT_USAGE;
	rc = procs_scan_pages(
	    cli, ML_NEED_PAGEMAP | ML_NEED_STATUS | ML_NEED_CMDLINE | ML_NEED_ROLLUP, &s, &pg);
	if (rc >= 0)
		goto out;
	rc = EXIT_ERROR;
	if (pid && (root = ml_scan_find(&s, (pid_t)pid)) < 0) {
		cli_warn("no process %ld (or it has no user memory, or cannot be read)", pid);
		goto out;
	}
	if (build_tree(&t, pg) < 0) {
		cli_warn("out of memory");
		goto out;
	}
	procs_report_unreadable(cli, &s);
	if (print_tree(cli, &t, root, pg, cols, ncols) < 0) {
		cli_warn("cannot write the output");
		goto out;
	}
	rc = EXIT_OK;
out:
	tree_free(&t);
	ml_pages_free(pg);
	ml_scan_free(&s);
	return rc;
}
