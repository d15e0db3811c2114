#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "memledger.h"
#include "procs.h"
#include "view.h"

const struct colinfo *view_column(const struct view_cols *v, const char *name, size_t len)
{
	for (size_t i = 0; i < v->ninfos; i++)
		if (strlen(v->infos[i].name) == len &&
		    strncasecmp(v->infos[i].name, name, len) == 0)
			return &v->infos[i];
	return NULL;
}

/* Orders texts for view_texts_collide. */
static int cmp_text(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/*
 * True when two of r's rows have the same text in column c (NULL texts aside): rows that
 * look alike, to be told apart.
 */
static bool view_texts_collide(const struct view_rows *r, const struct colinfo *c)
{
	const char **texts = malloc((r->n + 1) * sizeof(*texts));
	size_t k = 0;
	bool same = false;

	if (!texts)
		return true; /* out of memory: telling apart costs a column, not a wrong row */
	for (size_t i = 0; i < r->n; i++) {
		const char *t = r->text((const char *)r->rows + i * r->size, c);
		if (t)
			texts[k++] = t;
	}
	if (k)
		qsort(texts, k, sizeof(*texts), cmp_text);
	for (size_t i = 1; i < k && !same; i++)
		same = strcmp(texts[i - 1], texts[i]) == 0;
	free(texts);
	return same;
}

/* Appends to cols (ncols of them) each column of names that v has and cols lacks, while
 * room is left. Returns the new count. */
static int view_add_columns(const struct view_cols *v, const struct colinfo **cols, int ncols,
                            const char *const *names, size_t n)
{
	for (size_t k = 0; k < n && ncols < VIEW_MAX_COLS; k++) {
		const struct colinfo *c = view_column(v, names[k], strlen(names[k]));
		bool shown = false;
		for (int i = 0; i < ncols; i++)
			shown |= cols[i] == c;
		if (c && !shown)
			cols[ncols++] = c;
	}
	return ncols;
}

/*
 * The columns of -o (arg; NULL: the defaults; "+A,B": the defaults and more) into cols
 * (VIEW_MAX_COLS). Returns their count, or -1 after a message.
 */
static int view_select_columns(const struct view_cols *v, const char *arg,
                               const struct colinfo **cols)
{
	size_t n = 0;

	if (!arg || arg[0] == '+') {
		for (size_t i = 0; i < v->ndefaults; i++)
			cols[n++] = view_column(v, v->defaults[i], strlen(v->defaults[i]));
		if (!arg)
			return (int)n;
		arg++;
	}
	for (const char *p = arg; *p;) {
		size_t len = strcspn(p, ",");
		const struct colinfo *c = view_column(v, p, len);

		if (!c || n == VIEW_MAX_COLS) {
			cli_warn(c ? "too many columns" : "unknown column: '%.*s'", (int)len, p);
			return -1;
		}
		cols[n++] = c;
		p += len + (p[len] == ',');
	}
	if (n == 0) {
		cli_warn("no columns to show");
		return -1;
	}
	return (int)n;
}

void view_list_columns(const struct view_cols *v, FILE *f)
{
	for (size_t i = 0; i < v->ninfos; i++)
		fprintf(f, " %11s  %s\n", v->infos[i].name, v->infos[i].help);
}

/* The sort column (see view_begin), or NULL; *bad after a message for an unknown -s. */
static const struct colinfo *sort_column(const struct view_cols *v, const char *arg,
                                         const char *fallback, const char *tie,
                                         const struct colinfo **cols, int ncols, bool *bad)
{
	*bad = false;
	if (arg) {
		const struct colinfo *c = view_column(v, arg, strlen(arg));
		if (!c) {
			cli_warn("unknown sort column: '%s'", arg);
			*bad = true;
		}
		return c;
	}
	if (!fallback)
		return NULL;
	for (int i = 0; i < ncols; i++)
		if (strcasecmp(cols[i]->name, fallback) == 0)
			return cols[i];
	for (int i = 0; i < ncols; i++)
		if (cols[i]->type == COL_SIZE)
			return cols[i];
	return tie ? view_column(v, tie, strlen(tie)) : NULL;
}

int view_begin(const struct cli *cli, const struct view_cols *v, bool takes_operands,
               const char *sort, const char *tie, const struct colinfo **cols, int *ncols,
               const struct colinfo **key)
{
	bool bad;

	if (cli->list_columns) {
		view_list_columns(v, out_stream(&cli->out));
		return EXIT_OK;
	}
	if (!takes_operands && cli->noperands) {
		cli_warn("unexpected argument: '%s'", cli->operands[0]);
		return EXIT_USAGE;
	}
	*ncols = view_select_columns(v, cli->columns, cols);
	if (*ncols < 0)
		return EXIT_USAGE;
	*key = sort_column(v, cli->sort, sort, tie, cols, *ncols, &bad);
	return bad ? EXIT_USAGE : EXIT_GO_ON;
}

struct sort_ctx {
	const struct view_rows *r;
	const struct colinfo *key, *tie;
	bool reverse;
};

static int compare_by(const struct view_rows *r, const void *a, const void *b,
                      const struct colinfo *c)
{
	if (c->type == COL_STR) {
		const char *s = r->text(a, c), *t = r->text(b, c);
		return strcmp(s ? s : "", t ? t : "");
	}
	uint64_t u = r->number(a, c), v = r->number(b, c);
	if (c->type == COL_DELTA && u != ML_UNKNOWN && v != ML_UNKNOWN)
		return ((int64_t)u > (int64_t)v) - ((int64_t)u < (int64_t)v);
	u = u == ML_UNKNOWN ? 0 : u + 1; /* unknown first */
	v = v == ML_UNKNOWN ? 0 : v + 1;
	return (u > v) - (u < v);
}

static int compare_rows(const void *a, const void *b, void *arg)
{
	const struct sort_ctx *ctx = arg;
	int cmp = compare_by(ctx->r, a, b, ctx->key);

	if (cmp == 0 && ctx->tie)
		cmp = compare_by(ctx->r, a, b, ctx->tie);
	return ctx->reverse ? -cmp : cmp;
}

void view_sort(struct view_rows *r, const struct colinfo *key, const struct colinfo *tie,
               bool reverse)
{
	struct sort_ctx ctx = {r, key, tie, reverse};

	if (key && r->n) /* rows is NULL when none: not for qsort_r */
		qsort_r(r->rows, r->n, r->size, compare_rows, &ctx);
}

/* Orders row indexes for view_tree_order: by key, then by index. */
static int compare_indexes(const void *a, const void *b, void *arg)
{
	const struct sort_ctx *ctx = arg;
	size_t i = *(const size_t *)a, j = *(const size_t *)b;
	const char *rows = ctx->r->rows;
	int cmp = 0;

	if (ctx->key)
		cmp =
		    compare_by(ctx->r, rows + i * ctx->r->size, rows + j * ctx->r->size, ctx->key);
	if (cmp == 0)
		cmp = (i > j) - (i < j);
	return ctx->reverse ? -cmp : cmp;
}

long view_tree_order(const struct view_rows *r, const long *parent, const struct colinfo *key,
                     bool reverse, size_t *order, unsigned *depth)
{
	size_t n = r->n, k = 0, *sorted = malloc((n + 1) * sizeof(size_t));
	size_t *first = calloc(n + 1, sizeof(size_t)), *next = calloc(n + 1, sizeof(size_t));
	size_t *last = calloc(n + 1, sizeof(size_t)), roots = 0, last_root = 0;
	struct sort_ctx ctx = {r, key, NULL, reverse};

	if (!sorted || !first || !next || !last) {
		free(sorted), free(first), free(next), free(last);
		return -ENOMEM;
	}
	for (size_t i = 0; i < n; i++)
		sorted[i] = i;
	if (key || reverse)
		qsort_r(sorted, n, sizeof(*sorted), compare_indexes, &ctx);
	for (size_t s = 0; s < n; s++) { /* each child list in sorted order (index + 1; 0: end) */
		size_t i = sorted[s];
		size_t *head = parent[i] < 0 ? &roots : &first[parent[i]];
		size_t *tail = parent[i] < 0 ? &last_root : &last[parent[i]];
		if (*tail)
			next[*tail - 1] = i + 1;
		else
			*head = i + 1;
		*tail = i + 1;
	}
	for (size_t root = roots; root; root = next[root - 1]) { /* each subtree, parents first */
		size_t i = root - 1;
		unsigned d = 0;
		for (;;) {
			order[k] = i;
			depth[k++] = d;
			if (first[i]) {
				i = first[i] - 1;
				d++;
				continue;
			}
			while (i != root - 1 && !next[i]) {
				i = (size_t)parent[i];
				d--;
			}
			if (i == root - 1)
				break;
			i = next[i] - 1;
		}
	}
	free(sorted), free(first), free(next), free(last);
	return (long)k;
}

/* The ML_NEED_* files (and VIEW_NEED_LEDGER) column c reads; of_processes: its metric is a
 * process's (ml_proc_metric), which reads what ml_metric_needs says. */
static unsigned view_column_needs(const struct colinfo *c, bool of_processes)
{
	if (of_processes && c->id >= VIEW_METRIC)
		return c->needs | ml_metric_needs((enum ml_metric)(c->id - VIEW_METRIC));
	return c->needs;
}

/* The cells of row (read through r) under each column, into cells. */
static void view_row_cells(const struct view_rows *r, const void *row, const struct colinfo **cols,
                           int ncols, struct out_cell *cells)
{
	for (int c = 0; c < ncols; c++) {
		if (r->blank && r->blank(row, cols[c]))
			cells[c] = (struct out_cell){.blank = true};
		else if (cols[c]->type == COL_STR)
			cells[c] = (struct out_cell){.str = r->text(row, cols[c])};
		else
			cells[c] = (struct out_cell){.num = r->number(row, cols[c]),
			                             .bound = r->bound && r->bound(row, cols[c]),
			                             .upper = r->upper && r->upper(row, cols[c])};
	}
}

int view_add_row(struct out_table *t, const struct view_rows *r, const void *row,
                 const struct colinfo **cols, int ncols)
{
	struct out_cell cells[VIEW_MAX_COLS];

	view_row_cells(r, row, cols, ncols, cells);
	return out_table_add_row(t, cells);
}

struct out_table *view_table_new(const struct cli *cli, const char *name,
                                 const struct colinfo **cols, int ncols, bool tree)
{
	struct out_col ocols[VIEW_MAX_COLS];

	view_out_cols(cols, ncols, tree, ocols);
	return out_table_new(name, ocols, (size_t)ncols, &cli->out);
}

void view_total_add(struct out_cell *sum, const struct view_rows *r, const void *row,
                    const struct colinfo *c)
{
	if (c->total != VIEW_TOTAL_SUM) {
		*sum = (struct out_cell){.blank = true};
		return;
	}
	if (r->blank && r->blank(row, c))
		return;
	if (c->type == COL_DELTA) { /* signed: two's complement adds as it is */
		uint64_t v = r->number(row, c);
		sum->num = sum->num == ML_UNKNOWN || v == ML_UNKNOWN ? ML_UNKNOWN : sum->num + v;
	} else {
		sum->num = ml_add_u64(sum->num, r->number(row, c));
	}
	sum->bound |= r->bound && r->bound(row, c);
}

int view_table_totals(const struct cli *cli, struct out_table *t, const struct view_rows *r,
                      const struct colinfo **cols, int ncols)
{
	struct out_cell cells[VIEW_MAX_COLS];

	if (!cli->totals)
		return 0;
	for (int i = 0; i < ncols; i++) {
		cells[i] = (struct out_cell){.blank = cols[i]->total != VIEW_TOTAL_SUM};
		for (size_t k = 0; k < r->n && !cells[i].blank; k++)
			if (!r->untotalled || !r->untotalled((const char *)r->rows + k * r->size))
				view_total_add(&cells[i], r, (const char *)r->rows + k * r->size,
				               cols[i]);
	}
	return out_table_add_totals(t, cells);
}

struct out_table *view_table(const struct cli *cli, const char *name, const struct view_rows *r,
                             const struct colinfo **cols, int ncols)
{
	struct out_table *t = view_table_new(cli, name, cols, ncols, false);
	int rc = t ? 0 : -ENOMEM;

	for (size_t i = 0; i < r->n && rc == 0; i++)
		rc = view_add_row(t, r, (const char *)r->rows + i * r->size, cols, ncols);
	if (rc == 0)
		rc = view_table_totals(cli, t, r, cols, ncols);
	if (rc < 0) {
		out_table_free(t);
		return NULL;
	}
	return t;
}

void view_out_cols(const struct colinfo **cols, int ncols, bool tree, struct out_col *out)
{
	bool drawn = false;

	for (int i = 0; i < ncols; i++) {
		out[i] = (struct out_col){cols[i]->name, cols[i]->type, cols[i]->flags};
		drawn |= cols[i]->flags & OUT_TREE;
	}
	if (tree && !drawn && ncols) /* the tree stays drawn whatever -o shows */
		out[0].flags = (out[0].flags | OUT_TREE) & ~OUT_RIGHT;
}

bool view_shows(const struct view_run *run, int id)
{
	for (int i = 0; i < run->ncols; i++)
		if (run->cols[i]->id == id)
			return true;
	return run->key && run->key->id == id;
}

/* What run reads: the view's needs, its columns', the sort column's and the filters'. */
static unsigned run_needs(const struct view_run *run)
{
	unsigned needs = run->def->needs | procs_filter_needs(run->cli);

	bool procs = run->def->proc_metrics;

	for (int i = 0; i < run->ncols; i++)
		needs |= view_column_needs(run->cols[i], procs);
	return needs | (run->key ? view_column_needs(run->key, procs) : 0);
}

/* Scans what run needs: with the page ledger, every process; else as the filters say.
 * Returns EXIT_GO_ON or an exit status after a message. */
static int run_scan(struct view_run *run)
{
	unsigned needs = run->needs & ~VIEW_NEED_LEDGER;

	if (run->needs & VIEW_NEED_LEDGER) /* each shared object's Pss, mapping by mapping */
		needs |= ML_NEED_SMAPS;
	if (run->needs & (VIEW_NEED_LEDGER | ML_NEED_PAGEMAP))
		return procs_scan_pages(run->run, needs, &run->scan, &run->pages);
	return procs_scan(run->run, needs, run->def->on_mapping, run->state, &run->scan);
}

/* Adds DEV and INODE (the view's apart columns) to the default columns, or to "+COLS",
 * when two rows look alike: two /dev/zero (deleted) objects, two memfds named alike. */
static void tell_apart(struct view_run *run)
{
	const struct view_def *d = run->def;
	const struct colinfo *alike =
	    d->alike ? view_column(d->cols, d->alike, strlen(d->alike)) : NULL;

	if (!alike || (run->cli->columns && run->cli->columns[0] != '+') ||
	    !view_texts_collide(&run->rows, alike))
		return;
	run->ncols = view_add_columns(d->cols, run->cols, run->ncols, d->apart, 2);
}

/* True when a row of r has text (not empty) in column c. */
static bool any_text(const struct view_rows *r, const struct colinfo *c)
{
	for (size_t i = 0; i < r->n; i++) {
		const char *t = r->text((const char *)r->rows + i * r->size, c);
		if (t && t[0])
			return true;
	}
	return false;
}

void view_add_when_any(const struct view_cols *v, const char *name, const struct cli *cli,
                       const struct view_rows *r, const struct colinfo **cols, int *ncols)
{
	const struct colinfo *c = name ? view_column(v, name, strlen(name)) : NULL;
	int at = *ncols;

	if (!c || *ncols == VIEW_MAX_COLS || (cli->columns && cli->columns[0] != '+') ||
	    !any_text(r, c))
		return;
	for (int i = 0; i < *ncols; i++)
		if (cols[i] == c)
			return; /* shown already */
	if (at > 0 && (cols[at - 1]->flags & OUT_TRUNC))
		at--;
	memmove(cols + at + 1, cols + at, (size_t)(*ncols - at) * sizeof(*cols));
	cols[at] = c;
	(*ncols)++;
}

/* The table of run's rows (each followed by its children) and totals; NULL when out of
 * memory. */
static struct out_table *run_table(struct view_run *run)
{
	const struct view_rows *r = &run->rows;
	struct out_col ocols[VIEW_MAX_COLS];
	struct out_table *t;
	int rc = 0;

	view_out_cols(run->cols, run->ncols, run->def->children != NULL, ocols);
	t = out_table_new(run->def->name, ocols, (size_t)run->ncols, &run->cli->out);
	for (size_t i = 0; t && i < r->n && rc == 0; i++) {
		const void *row = (const char *)r->rows + i * r->size;
		rc = view_add_row(t, r, row, run->cols, run->ncols);
		if (rc == 0 && run->def->children)
			rc = run->def->children(run, t, row);
	}
	if (t && rc == 0)
		rc = view_table_totals(run->cli, t, r, run->cols, run->ncols);
	if (rc < 0) {
		out_table_free(t);
		return NULL;
	}
	return t;
}

/* Makes, orders and prints the rows of a scan. Returns an exit status. */
static int run_print(struct view_run *run)
{
	const struct colinfo *tie = NULL;
	struct out_table *t;
	int rc;

	int made = run->def->rows(run);

	if (made < 0) {
		if (made == -ENOMEM) /* any other error the view has said */
			run_warn(run->run, "out of memory");
		return EXIT_ERROR;
	}
	tell_apart(run);
	view_add_when_any(run->def->cols, run->def->when_any, run->cli, &run->rows, run->cols,
	                  &run->ncols);
	if (run->def->tie)
		tie = view_column(run->def->cols, run->def->tie, strlen(run->def->tie));
	view_sort(&run->rows, run->key, tie, run->cli->reverse);
	t = run_table(run);
	rc = t ? procs_print_document(run->cli, t, &run->scan,
	                              (run->needs & ML_NEED_PAGEMAP) ? run->pages : NULL)
	       : -ENOMEM;
	if (rc < 0) {
		out_failed(&run->cli->out, -rc);
		return EXIT_ERROR;
	}
	return EXIT_OK;
}

int view_run(struct run *r, const struct view_def *def)
{
	struct cli *cli = r->cli;
	struct view_run run = {.cli = cli, .run = r, .def = def};
	int rc =
	    view_begin(cli, def->cols, false, def->sort, def->tie, run.cols, &run.ncols, &run.key);

	if (rc != EXIT_GO_ON)
		return rc;
	run.needs = run_needs(&run);
	rc = def->begin ? def->begin(&run) : EXIT_GO_ON;
	if (rc == EXIT_GO_ON)
		rc = run_scan(&run);
	if (rc == EXIT_GO_ON) {
		procs_report_unreadable(r, &run.scan);
		rc = run_print(&run);
		if (procs_none_of_the_pids(r, &run.scan)) /* as ps -p: exit status 1 */
			rc = EXIT_ERROR;
	}
	if (def->end)
		def->end(&run);
	ml_pages_free(run.pages);
	ml_scan_free(&run.scan);
	return rc;
}

void view_parents_of_depths(const unsigned *depth, size_t n, long *parent)
{
	for (size_t i = 0; i < n; i++) {
		long p = (long)i - 1; /* climb from the row before to one shallower */
		while (p >= 0 && depth[p] >= depth[i])
			p = parent[p];
		parent[i] = p;
	}
}

/* Adds to out the rows laid out in order (n of them, each at depth), all of them or the
 * subtree of row root. Returns 0 or -errno. */
static int add_nested(struct out_table *out, const char *children_key, const struct view_rows *r,
                      const size_t *order, const unsigned *depth, size_t n, long root,
                      const struct colinfo **cols, int ncols)
{
	struct out_cell cells[VIEW_MAX_COLS];
	size_t k = 0, end = n;
	unsigned top = 0;
	int rc = 0;

	if (root >= 0) { /* the root's row, then its descendants: all deeper, in a run */
		while (k < n && order[k] != (size_t)root)
			k++;
		top = k < n ? depth[k] : 0;
		for (end = k + (k < n); end < n && depth[end] > top; end++)
			;
	}
	for (; k < end && rc == 0; k++) {
		view_row_cells(r, (const char *)r->rows + order[k] * r->size, cols, ncols, cells);
		rc = out_table_add_nested(out, depth[k] - top, cells, children_key);
	}
	return rc;
}

int view_tree_table(const struct cli *cli, const char *name, const char *children_key,
                    const struct view_rows *r, const long *parent, long root,
                    const struct colinfo **cols, int ncols, const struct colinfo *key,
                    struct out_table **t)
{
	size_t *order = malloc((r->n + 1) * sizeof(*order));
	unsigned *depth = malloc((r->n + 1) * sizeof(*depth));
	long n = -ENOMEM;
	int rc = -ENOMEM;

	*t = view_table_new(cli, name, cols, ncols, true);
	if (order && depth && *t)
		n = view_tree_order(r, parent, key, cli->reverse, order, depth);
	if (n >= 0)
		rc = add_nested(*t, children_key, r, order, depth, (size_t)n, root, cols, ncols);
	free(order);
	free(depth);
	if (rc < 0) {
		out_table_free(*t);
		*t = NULL;
	}
	return rc;
}
