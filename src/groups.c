/* memledger groups --by KEY: processes grouped, with the pages each group holds alone. */
#include <errno.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "groups.h"
#include "memledger.h"
#include "procs.h"
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
	F_RSS
};

static const struct colinfo infos[] = {
    {"NAME", COL_STR, OUT_TRUNC, F_NAME,
     "the group: command, executable, user, cgroup, session, process group, or tree root"},
    {"PROCS", COL_COUNT, OUT_RIGHT, F_PROCS, "processes in the group"},
    {"PSS", COL_SIZE, OUT_RIGHT, F_PSS,
     "Σ PSS of its processes (exact mode: page by page, truncated once)"},
    {"USS", COL_SIZE, OUT_RIGHT, F_USS,
     "resident pages that no process outside the group maps (without frame numbers: Σ USS, "
     "a lower bound)"},
    {"FREED", COL_SIZE, OUT_RIGHT, F_FREED, "what killing the whole group would give back"},
    {"SHARED-OUT", COL_SIZE, OUT_RIGHT, F_SHARED_OUT,
     "resident pages it maps that processes outside the group map too (exact mode)"},
    {"FOOTPRINT", COL_SIZE, OUT_RIGHT, F_FOOTPRINT, "Σ RssAnon + VmSwap of its processes"},
    {"SWAP", COL_SIZE, OUT_RIGHT, F_SWAP, "distinct swap slots it holds (exact mode)"},
    {"RSS", COL_SIZE, OUT_RIGHT, F_RSS, "distinct resident pages it maps (exact mode)"},
};

static const char *const default_columns[] = {"NAME",  "PROCS",      "PSS",      "USS",
                                              "FREED", "SHARED-OUT", "FOOTPRINT"};

static const struct view_cols groups_cols = VIEW_COLS(infos, default_columns);

enum group_key { BY_COMM, BY_EXE, BY_USER, BY_CGROUP, BY_SESSION, BY_PGID, BY_TREE, BY_PID };

static const char *const key_names[] = {"comm",    "exe",  "user", "cgroup",
                                        "session", "pgid", "tree", "pid"};

/* One group: its name and figures. */
struct group {
	char *name; /* NULL: the key is unknown (a hidden exe, an unreadable cgroup) */
	size_t nprocs;
	uint64_t pss, footprint, uss_bound;
	struct ml_freed freed;
};

/* What the groups are made of. */
struct grouping {
	const struct ml_scan *scan;
	enum group_key by;
	size_t *root;     /* BY_TREE only: each process's tree root (tree_roots) */
	char **key;       /* each process's group name (malloc'ed), NULL when unknown */
	uint32_t *set_of; /* each process's group */
	struct group *groups;
	size_t ngroups;
};

/* Sets each process's tree root: its ancestor just below PID 1 (or the topmost one
 * read), parents first so that each takes its parent's. Returns 0 or -ENOMEM. */
static int tree_roots(struct grouping *g)
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
		g->root[i] =
		    up < 0 || s->procs[up].pid == 1 || s->procs[i].pid == 1 ? i : g->root[up];
	}
	rc = 0;
out:
	free(depth);
	free(order);
	free(parent);
	return rc;
}

/* The group name of process i, malloc'ed in *name (NULL: unknown). Returns 0 or -ENOMEM. */
static int key_of(const struct grouping *g, size_t i, char **name)
{
	const struct ml_proc *p = &g->scan->procs[i];
	const char *text = NULL;
	struct passwd *pw;

	*name = NULL;
	switch (g->by) {
	case BY_COMM: text = p->comm; break;
	case BY_EXE: text = p->exe; break;
	case BY_CGROUP: text = p->cgroup; break;
	case BY_USER:
		if (p->status.uid == ML_UNKNOWN)
			return 0;
		pw = getpwuid((uid_t)p->status.uid);
		if (pw)
			text = pw->pw_name;
		else if (asprintf(name, "%llu", (unsigned long long)p->status.uid) < 0)
			return -ENOMEM;
		break;
	case BY_SESSION:
		*name = procs_pid_label(g->scan, p->stat.session);
		return *name ? 0 : -ENOMEM;
	case BY_PGID: *name = procs_pid_label(g->scan, p->stat.pgid); return *name ? 0 : -ENOMEM;
	case BY_TREE: i = g->root[i]; /* fall through */
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

/* Sums each group's figures from its processes and from the page ledger. */
static int sum_groups(struct grouping *g, const struct ml_pages *pg)
{
	struct ml_freed *freed = calloc(g->ngroups + 1, sizeof(*freed));
	int rc = freed ? ml_pages_freed(pg, g->set_of, g->ngroups, freed) : -ENOMEM;

	for (size_t k = 0; rc == 0 && k < g->ngroups; k++)
		g->groups[k].freed = freed[k];
	for (size_t i = 0; rc == 0 && i < g->scan->nprocs; i++) {
		const struct ml_proc *p = &g->scan->procs[i];
		struct group *gr = &g->groups[g->set_of[i]];
		gr->nprocs++;
		gr->pss = ml_add_u64(gr->pss, ml_proc_metric(p, ML_PSS));
		gr->footprint = ml_add_u64(gr->footprint, ml_proc_metric(p, ML_FOOTPRINT));
		gr->uss_bound = ml_add_u64(gr->uss_bound, ml_proc_metric(p, ML_USS));
	}
	free(freed);
	return rc;
}

static void grouping_free(struct grouping *g)
{
	for (size_t i = 0; g->key && i < g->scan->nprocs; i++)
		free(g->key[i]);
	free(g->key);
	free(g->set_of);
	free(g->groups);
	free(g->root);
}

static uint64_t row_number(const void *row, const struct colinfo *c)
{
	const struct group *g = row;
	const struct ml_freed *f = &g->freed;

	switch (c->id) {
	case F_PROCS: return g->nprocs;
	case F_PSS: return f->exact ? f->pss : g->pss;
	case F_USS: return f->exact ? f->uss : g->uss_bound;
	case F_FREED: return ml_freed_total(f);
	case F_SHARED_OUT: return f->exact ? f->rss - f->uss : ML_UNKNOWN;
	case F_FOOTPRINT: return g->footprint;
	case F_SWAP: return f->swap_held;
	case F_RSS: return f->rss;
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

/* Sums of the rows, for -t: only where a sum means something (distinct pages of
 * different groups may be the same page: RSS, SWAP and SHARED-OUT do not add up). */
static struct out_cell total_cell(const struct colinfo *c, const void *ctx)
{
	const struct view_rows *r = ctx;
	uint64_t sum = 0;
	bool bound = false;

	if (c->id == F_NAME || c->id == F_SHARED_OUT || c->id == F_RSS || c->id == F_SWAP)
		return (struct out_cell){.blank = true};
	for (size_t i = 0; i < r->n; i++) {
		sum = ml_add_u64(sum, row_number((const struct group *)r->rows + i, c));
		bound |= row_bound((const struct group *)r->rows + i, c);
	}
	return (struct out_cell){.num = sum, .bound = bound};
}

/* Sorts the groups by key, then by name. */
static void sort_groups(const struct cli *cli, struct grouping *g, const struct colinfo *key)
{
	struct view_rows r = {g->groups,  g->ngroups, sizeof(*g->groups),
	                      row_number, row_text,   NULL};

	view_sort(&r, g->groups, key, &infos[0], cli->reverse);
}

/* Parses --by. Returns the key, or -1 after a message. */
static int parse_by(const char *arg)
{
	for (size_t k = 0; k < sizeof(key_names) / sizeof(key_names[0]); k++)
		if (strcmp(arg, key_names[k]) == 0)
			return (int)k;
	cli_warn("--by takes comm, exe, user, cgroup, session, pgid, tree or pid: '%s'", arg);
	return -1;
}

/* The files a key needs beyond what the figures read. */
static unsigned key_needs(enum group_key by)
{
	switch (by) {
	case BY_EXE: return ML_NEED_EXE;
	case BY_CGROUP: return ML_NEED_CGROUP;
	case BY_SESSION:
	case BY_PGID: return ML_NEED_STAT;
	default: return 0;
	}
}

int groups_run(struct cli *cli)
{
	const struct colinfo *cols[VIEW_MAX_COLS], *key;
	const char *sort = cli->sort ? cli->sort : "PSS";
	struct grouping g = {0};
	struct ml_pages *pg = NULL;
	struct ml_scan s = {0};
	struct out_table *t;
	int ncols, rc, by;

	rc = view_begin(cli, &groups_cols, false, cols, &ncols);
	if (rc >= 0)
		return rc;
	by = parse_by(cli->group_by ? cli->group_by : "comm");
	if (by < 0)
		return EXIT_USAGE;
	key = view_column(&groups_cols, sort, strlen(sort));
	if (!key) {
		cli_warn("unknown sort column: '%s'", sort);
		return EXIT_USAGE;
	}
	rc = procs_scan_pages(cli, ML_NEED_PAGEMAP | ML_NEED_ROLLUP | key_needs((enum group_key)by),
	                      &s, &pg);
	if (rc >= 0)
		goto out;
	rc = EXIT_ERROR;
	g = (struct grouping){.scan = &s, .by = (enum group_key)by};
	if ((by == BY_TREE && tree_roots(&g) < 0) || assign_groups(&g) < 0 ||
	    sum_groups(&g, pg) < 0) {
		cli_warn("out of memory");
		goto out;
	}
	sort_groups(cli, &g, key);
	procs_report_unreadable(cli, &s);
	{
		struct view_rows r = {g.groups,   g.ngroups, sizeof(*g.groups),
		                      row_number, row_text,  row_bound};
		t = view_table(cli, "groups", &r, cols, ncols, total_cell, &r);
	}
	if (!t || procs_print_document(cli, t, &s, pg) < 0) {
		cli_warn("cannot write the output");
		goto out;
	}
	rc = EXIT_OK;
out:
	grouping_free(&g);
	ml_pages_free(pg);
	ml_scan_free(&s);
	return rc;
}
