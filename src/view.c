#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "memledger/parse.h"
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

bool view_texts_collide(const void *rows, size_t n, size_t size,
                        const char *(*text)(const void *row, const struct colinfo *c),
                        const struct colinfo *c)
{
	const char **texts = malloc((n + 1) * sizeof(*texts));
	size_t k = 0;
	bool same = false;

	if (!texts)
		return true; /* out of memory: telling apart costs a column, not a wrong row */
	for (size_t i = 0; i < n; i++) {
		const char *t = text((const char *)rows + i * size, c);
		if (t)
			texts[k++] = t;
	}
	qsort(texts, k, sizeof(*texts), cmp_text);
	for (size_t i = 1; i < k && !same; i++)
		same = strcmp(texts[i - 1], texts[i]) == 0;
	free(texts);
	return same;
}

int view_add_columns(const struct view_cols *v, const struct colinfo **cols, int ncols,
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

int view_select_columns(const struct view_cols *v, const char *arg, const struct colinfo **cols)
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

int view_begin(const struct cli *cli, const struct view_cols *v, bool takes_operands,
               const struct colinfo **cols, int *ncols)
{
	if (cli->list_columns) {
		view_list_columns(v, stdout);
		return EXIT_OK;
	}
	if (!takes_operands && cli->noperands) {
		cli_warn("unexpected argument: '%s'", cli->operands[0]);
		return EXIT_USAGE;
	}
	*ncols = view_select_columns(v, cli->columns, cols);
	return *ncols < 0 ? EXIT_USAGE : -1;
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

void view_sort(struct view_rows *r, void *rows, const struct colinfo *key,
               const struct colinfo *tie, bool reverse)
{
	struct sort_ctx ctx = {r, key, tie, reverse};

	qsort_r(rows, r->n, r->size, compare_rows, &ctx);
}

int view_add_row(struct out_table *t, const struct view_rows *r, const void *row,
                 const struct colinfo **cols, int ncols)
{
	struct out_cell cells[VIEW_MAX_COLS];

	for (int c = 0; c < ncols; c++) {
		if (cols[c]->type == COL_STR)
			cells[c] = (struct out_cell){.str = r->text(row, cols[c])};
		else
			cells[c] = (struct out_cell){.num = r->number(row, cols[c]),
			                             .bound = r->bound && r->bound(row, cols[c])};
	}
	return out_table_add_row(t, cells);
}

struct out_table *view_table_new(const struct cli *cli, const char *name,
                                 const struct colinfo **cols, int ncols)
{
	struct out_col ocols[VIEW_MAX_COLS];

	view_out_cols(cols, ncols, ocols);
	return out_table_new(name, ocols, (size_t)ncols, &cli->out);
}

int view_table_totals(const struct cli *cli, struct out_table *t, const struct colinfo **cols,
                      int ncols, view_total_fn total, const void *ctx)
{
	struct out_cell cells[VIEW_MAX_COLS];

	if (!cli->totals)
		return 0;
	for (int i = 0; i < ncols; i++)
		cells[i] = total(cols[i], ctx);
	return out_table_add_totals(t, cells);
}

struct out_table *view_table(const struct cli *cli, const char *name, const struct view_rows *r,
                             const struct colinfo **cols, int ncols, view_total_fn total,
                             const void *ctx)
{
	struct out_table *t = view_table_new(cli, name, cols, ncols);
	int rc = t ? 0 : -ENOMEM;

	for (size_t i = 0; i < r->n && rc == 0; i++)
		rc = view_add_row(t, r, (const char *)r->rows + i * r->size, cols, ncols);
	if (rc == 0)
		rc = view_table_totals(cli, t, cols, ncols, total, ctx);
	if (rc < 0) {
		out_table_free(t);
		return NULL;
	}
	return t;
}

void view_out_cols(const struct colinfo **cols, int ncols, struct out_col *out)
{
	for (int i = 0; i < ncols; i++)
		out[i] = (struct out_col){cols[i]->name, cols[i]->type, cols[i]->flags};
}
