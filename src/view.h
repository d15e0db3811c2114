/* What every view shares: a column table, column selection, sorting, and filling a table. */
#ifndef MEMLEDGER_VIEW_H
#define MEMLEDGER_VIEW_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "cli.h"
#include "output.h"

#define VIEW_MAX_COLS 64

/* Column ids from VIEW_METRIC on are a metric (enum ml_metric) each: VIEW_METRIC + m. */
#define VIEW_METRIC 100

/* A size column showing metric m. */
#define VIEW_SIZE_COL(name, m, help)                                                               \
	{                                                                                          \
		name, COL_SIZE, OUT_RIGHT, VIEW_METRIC + (m), help                                 \
	}

/* A view's columns and defaults from two arrays. */
#define VIEW_COLS(infos, defaults)                                                                 \
	{                                                                                          \
		infos, sizeof(infos) / sizeof((infos)[0]), defaults,                               \
		    sizeof(defaults) / sizeof((defaults)[0])                                       \
	}

/* One column: drives -o, --list-columns, --help, sorting and the output. */
struct colinfo {
	const char *name;
	enum col_type type;
	int flags; /* enum out_col_flags */
	int id;    /* the view's own meaning */
	const char *help;
};

/* A view's columns and its default selection. */
struct view_cols {
	const struct colinfo *infos;
	size_t ninfos;
	const char *const *defaults;
	size_t ndefaults;
};

/* How a view reads a cell of one of its rows. */
struct view_rows {
	const void *rows;
	size_t n, size; /* count and size of one row */
	uint64_t (*number)(const void *row, const struct colinfo *c);  /* ML_UNKNOWN: unknown */
	const char *(*text)(const void *row, const struct colinfo *c); /* NULL: unknown */
	bool (*bound)(const void *row, const struct colinfo *c); /* a lower bound; may be NULL */
};

/*
 * True when two of the n rows (size bytes each) have the same text in column c (NULL
 * texts aside): rows that look alike, to be told apart.
 */
bool view_texts_collide(const void *rows, size_t n, size_t size,
                        const char *(*text)(const void *row, const struct colinfo *c),
                        const struct colinfo *c);

/* Appends to cols (ncols of them) each column of names that v has and cols lacks, while
 * room is left. Returns the new count. */
int view_add_columns(const struct view_cols *v, const struct colinfo **cols, int ncols,
                     const char *const *names, size_t n);

/* The column called name[0..len), case-insensitive, or NULL. */
const struct colinfo *view_column(const struct view_cols *v, const char *name, size_t len);

/*
 * The columns of -o (arg; NULL: the defaults; "+A,B": the defaults and more) into cols
 * (VIEW_MAX_COLS). Returns their count, or -1 after a message.
 */
int view_select_columns(const struct view_cols *v, const char *arg, const struct colinfo **cols);

/* Prints each column's name and one-line definition. */
void view_list_columns(const struct view_cols *v, FILE *f);

/*
 * The start every view shares: --list-columns, operands where the view takes none
 * (takes_operands false), and -o into cols. Returns -1 to go on with *ncols set, or an
 * exit status after printing the list or a message.
 */
int view_begin(const struct cli *cli, const struct view_cols *v, bool takes_operands,
               const struct colinfo **cols, int *ncols);

/*
 * Sorts rows in place by key (unknown first, then ascending; text by strcmp), ties by
 * the column tie, all reversed with reverse.
 */
void view_sort(struct view_rows *r, void *rows, const struct colinfo *key,
               const struct colinfo *tie, bool reverse);

/* The cell of the totals row under column c (blank where a sum means nothing). */
typedef struct out_cell (*view_total_fn)(const struct colinfo *c, const void *ctx);

/*
 * A table named name with a row per row of r, one cell per column, and with -t a totals
 * row of total(column, ctx). Returns it, to print, or NULL when out of memory.
 */
struct out_table *view_table(const struct cli *cli, const char *name, const struct view_rows *r,
                             const struct colinfo **cols, int ncols, view_total_fn total,
                             const void *ctx);

/* An empty table named name, one column per selected column; NULL when out of memory. */
struct out_table *view_table_new(const struct cli *cli, const char *name,
                                 const struct colinfo **cols, int ncols);

/* Adds row (read through r's number and text) to t, one cell per column. Returns 0 or
 * -ENOMEM. */
int view_add_row(struct out_table *t, const struct view_rows *r, const void *row,
                 const struct colinfo **cols, int ncols);

/* With -t, adds to t a totals row of total(column, ctx). Returns 0 or -ENOMEM. */
int view_table_totals(const struct cli *cli, struct out_table *t, const struct colinfo **cols,
                      int ncols, view_total_fn total, const void *ctx);

/* The out_col of each selected column, into out (VIEW_MAX_COLS). */
void view_out_cols(const struct colinfo **cols, int ncols, struct out_col *out);

#endif
