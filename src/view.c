#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "memledger.h"
#include "procs.h"
#include "view.h"
#include "memledger/system.h"

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

/* The edit distance between a[0..n) and b, case-insensitive, counted up to 9. */
static size_t distance(const char *a, size_t n, const char *b)
{
	size_t m = strlen(b), row[40];

	if (n >= 39 || m >= 39)
		return 9;
	for (size_t j = 0; j <= m; j++)
		row[j] = j;
	for (size_t i = 1; i <= n; i++) {
		size_t diag = row[0];
		row[0] = i;
		for (size_t j = 1; j <= m; j++) {
			size_t up = row[j], best = diag + (tolower((unsigned char)a[i - 1]) !=
			                                   tolower((unsigned char)b[j - 1]));
			best = up + 1 < best ? up + 1 : best;
			best = row[j - 1] + 1 < best ? row[j - 1] + 1 : best;
			diag = up;
			row[j] = best;
		}
	}
	return row[m] < 9 ? row[m] : 9;
}

/* Says that the view has no column called name[0..len), naming the nearest one when a
 * typo away, and where the columns are listed. */
static void say_unknown(const struct cli *cli, const struct view_cols *v, const char *what,
                        const char *name, size_t len)
{
	const char *near = NULL;
	size_t best = len < 6 ? 1 : 2; /* a typo away: PS for PSS, FOOTPRNT for FOOTPRINT */

	for (size_t i = 0; i < v->ninfos; i++) {
		size_t d = distance(name, len, v->infos[i].name);
		if (d <= best) {
			best = d;
			near = v->infos[i].name;
		}
	}
	cli_warn("unknown %s: '%.*s'%s%s%s ('memledger %s --list-columns' lists them)", what,
	         (int)len, name, near ? "; did you mean " : "", near ? near : "", near ? "?" : "",
	         cli->command ? cli->command : "ps");
}

/*
 * The columns of -o (arg; NULL: the defaults; "+A,B": the defaults and more) into cols
 * (VIEW_MAX_COLS). Returns their count, or -1 after a message.
 */
static int view_select_columns(const struct cli *cli, const struct view_cols *v, const char *arg,
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

		if (!c) {
			say_unknown(cli, v, "column", p, len);
			return -1;
		}
		if (n == VIEW_MAX_COLS) {
			cli_warn("too many columns");
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

/* text at column 15 of f, word-wrapped to end by column 80 (bytes counted: a UTF-8
 * character only makes a line shorter), the lines after the first indented 2 more. */
static void wrap_help(FILE *f, const char *text)
{
	const size_t first = 80 - 14, next = first - 2;
	size_t width = first;

	while (strlen(text) > width) {
		size_t cut = width;
		while (cut > 0 && text[cut] != ' ')
			cut--;
		if (cut == 0) /* one word longer than the line: as it is */
			cut = strcspn(text, " ");
		fprintf(f, "%.*s\n%16s", (int)cut, text, "");
		text += cut + (text[cut] == ' ');
		width = next;
	}
	fprintf(f, "%s\n", text);
}

void view_list_columns(const struct view_cols *v, FILE *f, bool wrap)
{
	for (size_t i = 0; i < v->ninfos; i++) {
		fprintf(f, " %11s  ", v->infos[i].name);
		if (wrap)
			wrap_help(f, v->infos[i].help);
		else
			fprintf(f, "%s\n", v->infos[i].help);
	}
}

/* The sort column when -s is not given (see view_begin), or NULL. */
static const struct colinfo *default_sort(const struct view_cols *v, const char *fallback,
                                          const char *tie, const struct view_sel *sel)
{
	if (!fallback)
		return NULL;
	for (int i = 0; i < sel->ncols; i++)
		if (strcasecmp(sel->cols[i]->name, fallback) == 0)
			return sel->cols[i];
	for (int i = 0; i < sel->ncols; i++)
		if (sel->cols[i]->type == COL_SIZE)
			return sel->cols[i];
	return tie ? view_column(v, tie, strlen(tie)) : NULL;
}

int view_begin(const struct cli *cli, const struct view_cols *v, bool takes_operands,
               const char *sort, const char *tie, struct view_sel *sel)
{
	if (cli->list_columns) {
		view_list_columns(v, out_stream(&cli->out), cli->help);
		return EXIT_OK;
	}
	if (!takes_operands && cli->noperands) {
		cli_warn("unexpected argument: '%s'", cli->operands[0]);
		return EXIT_USAGE;
	}
	sel->ncols = view_select_columns(cli, v, cli->columns, sel->cols);
	if (sel->ncols < 0)
		return EXIT_USAGE;
	if (!cli->sort) {
		sel->key = default_sort(v, sort, tie, sel);
		return EXIT_GO_ON;
	}
	sel->key = view_column(v, cli->sort, strlen(cli->sort));
	if (!sel->key) {
		say_unknown(cli, v, "sort column", cli->sort, strlen(cli->sort));
		return EXIT_USAGE;
	}
	return EXIT_GO_ON;
}

struct sort_ctx {
	const struct view_rows *r;
	const struct colinfo *key, *tie;
	bool reverse;
};

/* The number in row under column c, as r gives it; %MEM from PSS and MemTotal. */
static uint64_t row_number(const struct view_rows *r, const void *row, const struct colinfo *c)
{
	uint64_t pss;

	if (c->id != VIEW_PMEM)
		return r->number(row, c);
	pss = r->pss ? r->number(row, r->pss) : ML_UNKNOWN;
	if (pss == ML_UNKNOWN || r->ram == ML_UNKNOWN || r->ram == 0)
		return ML_UNKNOWN;
	return (uint64_t)((double)pss * 1000.0 / (double)r->ram + 0.5); /* tenths */
}

static int compare_by(const struct view_rows *r, const void *a, const void *b,
                      const struct colinfo *c)
{
	if (c->type == COL_STR) {
		const char *s = r->text(a, c), *t = r->text(b, c);
		return strcmp(s ? s : "", t ? t : "");
	}
	uint64_t u = row_number(r, a, c), v = row_number(r, b, c);
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
	if (cmp == 0 && ctx->tie)
		cmp =
		    compare_by(ctx->r, rows + i * ctx->r->size, rows + j * ctx->r->size, ctx->tie);
	if (cmp == 0)
		cmp = (i > j) - (i < j);
	return ctx->reverse ? -cmp : cmp;
}

/* Swaps rows i and j of r. */
static void swap_rows(struct view_rows *r, size_t i, size_t j)
{
	char *a = (char *)r->rows + i * r->size, *b = (char *)r->rows + j * r->size;

	for (size_t k = 0; k < r->size; k++) {
		char c = a[k];
		a[k] = b[k];
		b[k] = c;
	}
}

void view_sort(struct view_rows *r, const struct colinfo *key, const struct colinfo *tie,
               bool reverse)
{
	struct sort_ctx ctx = {r, key, tie, reverse};
	size_t *order = key && r->n ? malloc(r->n * sizeof(*order)) : NULL;
	char *sorted = order ? malloc(r->n * r->size) : NULL;

	if (!r->n) /* rows is NULL when none: not for qsort_r */
		return;
	if (!key) { /* the view's own order, reversed with -r */
		for (size_t i = 0; reverse && i < r->n / 2; i++)
			swap_rows(r, i, r->n - 1 - i);
		return;
	}
	if (!order || !sorted) { /* out of memory: in place, ties in no set order */
		qsort_r(r->rows, r->n, r->size, compare_rows, &ctx);
	} else { /* ties in the rows' order, -r reversing that too: exactly the rows reversed */
		for (size_t i = 0; i < r->n; i++)
			order[i] = i;
		qsort_r(order, r->n, sizeof(*order), compare_indexes, &ctx);
		for (size_t k = 0; k < r->n; k++)
			memcpy(sorted + k * r->size, (char *)r->rows + order[k] * r->size, r->size);
		memcpy(r->rows, sorted, r->n * r->size);
	}
	free(order);
	free(sorted);
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
static void view_row_cells(const struct view_rows *r, const void *row, const struct view_sel *sel,
                           struct out_cell *cells)
{
	const struct colinfo *const *cols = sel->cols;

	for (int c = 0; c < sel->ncols; c++) {
		if (r->blank && r->blank(row, cols[c]))
			cells[c] = (struct out_cell){.blank = true};
		else if (cols[c]->type == COL_STR)
			cells[c] = (struct out_cell){.str = r->text(row, cols[c])};
		else
			cells[c] = (struct out_cell){.num = row_number(r, row, cols[c]),
			                             .bound = r->bound && r->bound(row, cols[c]),
			                             .upper = r->upper && r->upper(row, cols[c])};
	}
}

int view_add_row(struct out_table *t, const struct view_rows *r, const void *row,
                 const struct view_sel *sel)
{
	struct out_cell cells[VIEW_MAX_COLS];

	view_row_cells(r, row, sel, cells);
	return out_table_add_row(t, cells);
}

struct out_table *view_table_new(const struct cli *cli, const char *name,
                                 const struct view_sel *sel, bool tree)
{
	struct out_col ocols[VIEW_MAX_COLS];

	view_out_cols(sel, tree, ocols);
	return out_table_new(name, ocols, (size_t)sel->ncols, &cli->out);
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

/* A tree's rows laid out: their order and depths (view_tree_order), and the run of them
 * shown: [first, end), the subtree of a root or all. */
struct laid_out {
	size_t *order;
	unsigned *depth;
	size_t first, end;
	unsigned top; /* the depth of the first */
};

/* With -t, adds to t the totals row of r's rows (those l shows, a tree's; NULL: all), or
 * the one tr->totals makes. Returns 0 or -ENOMEM. */
static int add_totals(const struct cli *cli, struct out_table *t, const struct view_rows *r,
                      const struct laid_out *l, const struct view_sel *sel,
                      const struct view_tree *tr)
{
	size_t n = l ? l->end - l->first : r->n;
	struct out_cell cells[VIEW_MAX_COLS];

	if (!cli->totals)
		return 0;
	if (tr && tr->totals) {
		tr->totals(sel, tr->totals_ctx, cells);
		return out_table_add_totals(t, cells);
	}
	for (int i = 0; i < sel->ncols; i++) {
		cells[i] = (struct out_cell){.blank = sel->cols[i]->total != VIEW_TOTAL_SUM};
		for (size_t k = 0; k < n && !cells[i].blank; k++) {
			const void *row =
			    (const char *)r->rows + (l ? l->order[l->first + k] : k) * r->size;
			if (!r->untotalled || !r->untotalled(row))
				view_total_add(&cells[i], r, row, sel->cols[i]);
		}
	}
	return out_table_add_totals(t, cells);
}

struct out_table *view_table(const struct cli *cli, const char *name, const struct view_rows *r,
                             const struct view_sel *sel)
{
	struct out_table *t = view_table_new(cli, name, sel, false);
	int rc = t ? 0 : -ENOMEM;

	for (size_t i = 0; i < r->n && rc == 0; i++)
		rc = view_add_row(t, r, (const char *)r->rows + i * r->size, sel);
	if (rc == 0)
		rc = add_totals(cli, t, r, NULL, sel, NULL);
	if (rc < 0) {
		out_table_free(t);
		return NULL;
	}
	return t;
}

void view_out_cols(const struct view_sel *sel, bool tree, struct out_col *out)
{
	bool drawn = false, role = false;

	for (int i = 0; i < sel->ncols; i++)
		role |= strcmp(sel->cols[i]->name, "ROLE") == 0;
	for (int i = 0; i < sel->ncols; i++) {
		const struct colinfo *c = sel->cols[i];
		out[i] = (struct out_col){c->name, c->type, c->flags};
		if (role && (c->flags & OUT_PATHS))
			out[i].flags |= OUT_ROLE_SAID;
		drawn |= c->flags & OUT_TREE;
	}
	if (tree && !drawn && sel->ncols) /* the tree stays drawn whatever -o shows */
		out[0].flags = (out[0].flags | OUT_TREE) & ~OUT_RIGHT;
}

bool view_shows(const struct view_run *run, int id)
{
	for (int i = 0; i < run->sel.ncols; i++)
		if (run->sel.cols[i]->id == id)
			return true;
	return run->sel.key && run->sel.key->id == id;
}

/* What run reads: the view's needs, its columns', the sort column's and the filters'. */
static unsigned run_needs(const struct view_run *run)
{
	unsigned needs = run->def->needs | procs_filter_needs(run->cli);

	bool procs = run->def->proc_metrics;

	for (int i = 0; i < run->sel.ncols; i++)
		needs |= view_column_needs(run->sel.cols[i], procs);
	return needs | (run->sel.key ? view_column_needs(run->sel.key, procs) : 0);
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
	return procs_scan_mappings(run->run, needs, run->def->on_mapping, run->def->on_mappings_end,
	                           run->state, &run->scan);
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
	run->sel.ncols = view_add_columns(d->cols, run->sel.cols, run->sel.ncols, d->apart, 2);
}

/* True when a row of r has text (not empty) in column c. */
static bool any_text(const struct view_rows *r, const struct colinfo *c)
{
	for (size_t i = 0; i < r->n; i++) {
		const void *row = (const char *)r->rows + i * r->size;
		const char *t = c->type == COL_STR ? r->text(row, c) : NULL;
		if ((t && t[0]) || (c->type != COL_STR && r->number(row, c) != ML_UNKNOWN))
			return true;
	}
	return false;
}

/* Adds column c to sel as view_add_when_any says. */
static void add_when_any(const struct colinfo *c, const struct cli *cli, const struct view_rows *r,
                         struct view_sel *sel)
{
	const struct colinfo **cols = sel->cols;
	int at = sel->ncols;

	if (!c || sel->ncols == VIEW_MAX_COLS || (cli->columns && cli->columns[0] != '+') ||
	    !any_text(r, c))
		return;
	for (int i = 0; i < sel->ncols; i++)
		if (cols[i] == c)
			return;                   /* shown already */
	if (at > 1 && (cols[0]->flags & OUT_KEY)) /* after a first key column (groups' NAME) */
		for (at = 1; at < sel->ncols && sel->cols[at]->type == COL_COUNT; at++)
			;
	else if (at > 0 && (cols[at - 1]->flags & OUT_KEY))
		at--;
	memmove(cols + at + 1, cols + at, (size_t)(sel->ncols - at) * sizeof(*cols));
	cols[at] = c;
	sel->ncols++;
}

void view_add_when_any(const struct view_cols *v, const char *names, const struct cli *cli,
                       const struct view_rows *r, struct view_sel *sel)
{
	for (const char *at = names; at && *at; at += strcspn(at, ","), at += *at == ',')
		add_when_any(view_column(v, at, strcspn(at, ",")), cli, r, sel);
}

/* Whether run's rows sort from the largest: -r, turned about for a sort column the view
 * sorts largest first. */
static bool view_reverse(const struct view_run *run)
{
	const struct colinfo *key = run->sel.key;

	return run->cli->reverse != (key && (run->def->descending & (1u << key->type)));
}

/* Adds under the row just added to t the rows def->children nests under it, sorted as
 * the rows are. Returns 0 or -errno. */
static int add_children(struct view_run *run, struct out_table *t, const void *row,
                        const struct colinfo *tie)
{
	struct out_cell cells[VIEW_MAX_COLS];
	struct view_rows kids = {0};
	int rc = run->def->children(run, row, &kids);

	if (rc < 0)
		return rc;
	view_sort(&kids, run->sel.key, tie, view_reverse(run));
	for (size_t i = 0; i < kids.n && rc == 0; i++) {
		view_row_cells(&kids, (const char *)kids.rows + i * kids.size, &run->sel, cells);
		rc = out_table_add_child(t, cells, run->def->children_key);
	}
	return rc;
}

/* The table of run's rows (each followed by the rows nested under it) and totals: the
 * rows sorted (by the sort column, ties by tie), or laid out as the tree run->parent
 * makes. NULL when out of memory. */
static struct out_table *run_table(struct view_run *run, const struct colinfo *tie)
{
	const struct view_rows *r = &run->rows;
	struct view_tree tr = {run->def->name, run->def->children_key, run->parent,
	                       run->root,      run->def->totals,       run->state};
	struct out_table *t;
	int rc = 0;

	if (run->parent) /* siblings sorted, the tree kept */
		return view_tree_table(run->cli, &tr, r, &run->sel, &t) < 0 ? NULL : t;
	view_sort(&run->rows, run->sel.key, tie, view_reverse(run));
	if (run->limit && run->rows.n > run->limit)
		run->rows.n = run->limit;
	t = view_table_new(run->cli, run->def->name, &run->sel, run->def->children != NULL);
	for (size_t i = 0; t && i < r->n && rc == 0; i++) {
		const void *row = (const char *)r->rows + i * r->size;
		rc = view_add_row(t, r, row, &run->sel);
		if (rc == 0 && run->def->children)
			rc = add_children(run, t, row, tie);
	}
	if (t && rc == 0)
		rc = add_totals(run->cli, t, r, NULL, &run->sel, &tr);
	if (rc < 0) {
		out_table_free(t);
		return NULL;
	}
	return t;
}

/* Makes, orders and prints the rows. Returns an exit status. */
static int run_print(struct view_run *run)
{
	const struct view_def *d = run->def;
	const struct colinfo *tie = d->tie ? view_column(d->cols, d->tie, strlen(d->tie)) : NULL;
	struct out_table *t;
	int rc, made = d->rows ? d->rows(run) : 0;

	if (!d->rows) /* no table of its own: its document is made of its tables (maps) */
		return d->print(run, NULL) < 0 ? EXIT_ERROR : EXIT_OK;
	if (made < 0) {
		if (made == -ENOMEM) /* any other error the view has said */
			run_warn(run->run, "out of memory");
		return EXIT_ERROR;
	}
	if (view_shows(run, VIEW_PMEM)) { /* %MEM: PSS over MemTotal, read once */
		run->rows.pss = view_column(d->cols, "PSS", 3);
		if (!run->run->src || ml_system_mem_total(run->run->src, &run->rows.ram) < 0)
			run->rows.ram = ML_UNKNOWN;
	}
	tell_apart(run);
	view_add_when_any(d->cols, d->when_any, run->cli, &run->rows, &run->sel);
	for (size_t i = 0; d->when_any && d->children && i < run->rows.n; i++) {
		struct view_rows kids; /* gpu's clients carry the roles, not their devices */
		if (d->children(run, (const char *)run->rows.rows + i * run->rows.size, &kids) == 0)
			view_add_when_any(d->cols, d->when_any, run->cli, &kids, &run->sel);
	}
	t = run_table(run, tie);
	rc = !t         ? -ENOMEM
	     : d->print ? d->print(run, t)
	                : procs_print_document(run->cli, t, &run->scan,
	                                       (run->needs & ML_NEED_PAGEMAP) ? run->pages : NULL);
	if (rc < 0) {
		out_failed(&run->cli->out, -rc);
		return EXIT_ERROR;
	}
	return EXIT_OK;
}

int view_run(struct run *r, const struct view_def *def)
{
	struct cli *cli = r->cli;
	struct view_run run = {.cli = cli, .run = r, .def = def, .root = -1};
	int rc = view_begin(cli, def->cols, def->takes_operands, def->sort, def->tie, &run.sel);

	if (rc != EXIT_GO_ON)
		return rc;
	run.needs = run_needs(&run);
	rc = def->begin ? def->begin(&run) : EXIT_GO_ON;
	if (rc == EXIT_GO_ON && !def->own_scan)
		rc = run_scan(&run);
	if (rc == EXIT_GO_ON) {
		if (!def->own_scan)
			procs_report_unreadable(r, &run.scan);
		rc = run_print(&run);
		if (rc == EXIT_OK && !def->own_scan && procs_none_of_the_pids(r, &run.scan))
			rc = EXIT_ERROR; /* as ps -p: none of the PIDs exists */
	}
	if (def->end)
		def->end(&run);
	free(run.parent);
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

/* The subtree of row root in l (all rows when root < 0): the root's row, then its
 * descendants, all deeper, in a run. */
static void shown_rows(struct laid_out *l, long root)
{
	size_t k = 0;

	if (root < 0)
		return;
	while (k < l->end && l->order[k] != (size_t)root)
		k++;
	l->top = k < l->end ? l->depth[k] : 0;
	l->first = k;
	for (k += k < l->end; k < l->end && l->depth[k] > l->top; k++)
		;
	l->end = k;
}

/* Adds to out the rows shown of l, nested under children_key. Returns 0 or -errno. */
static int add_nested(struct out_table *out, const char *children_key, const struct view_rows *r,
                      const struct laid_out *l, const struct view_sel *sel)
{
	struct out_cell cells[VIEW_MAX_COLS];
	int rc = 0;

	for (size_t k = l->first; k < l->end && rc == 0; k++) {
		view_row_cells(r, (const char *)r->rows + l->order[k] * r->size, sel, cells);
		rc = out_table_add_nested(out, l->depth[k] - l->top, cells, children_key);
	}
	return rc;
}

int view_tree_table(const struct cli *cli, const struct view_tree *tr, const struct view_rows *r,
                    const struct view_sel *sel, struct out_table **t)
{
	struct laid_out l = {.order = malloc((r->n + 1) * sizeof(*l.order)),
	                     .depth = malloc((r->n + 1) * sizeof(*l.depth))};
	long n = -ENOMEM;
	int rc = -ENOMEM;

	*t = view_table_new(cli, tr->name, sel, true);
	if (l.order && l.depth && *t)
		n = view_tree_order(r, tr->parent, sel->key, cli->reverse, l.order, l.depth);
	if (n >= 0) {
		l.end = (size_t)n;
		shown_rows(&l, tr->root);
		rc = add_nested(*t, tr->children_key, r, &l, sel);
	}
	if (rc == 0) /* of the rows shown */
		rc = add_totals(cli, *t, r, &l, sel, tr);
	free(l.order);
	free(l.depth);
	if (rc < 0) {
		out_table_free(*t);
		*t = NULL;
	}
	return rc;
}
