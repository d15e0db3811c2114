/* What every view shares: a column table, column selection, sorting, and filling a table. */
#ifndef MEMLEDGER_VIEW_H
#define MEMLEDGER_VIEW_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "cli.h"
#include "memledger/scan.h"
#include "output.h"
#include "run.h"

#define VIEW_MAX_COLS 64

/* Column ids from VIEW_METRIC on are a metric (enum ml_metric) each: VIEW_METRIC + m. */
#define VIEW_METRIC 100

/* A need beyond the ML_NEED_* files: the page ledger of every process (procs_scan_pages),
 * for what depends on who else maps a page or an object (FREED, COW, OWNED, shm). */
#define VIEW_NEED_LEDGER (1u << 30)

/* How the totals row (-t) shows a column. */
enum view_total {
	VIEW_TOTAL_NONE, /* blank: a sum would mean nothing (an ID, a name, distinct pages) */
	VIEW_TOTAL_SUM,  /* Σ of the rows shown; a lower bound when one of them is */
};

/* A size column showing metric m: it reads what the metric needs, and totals. */
#define VIEW_SIZE_COL(name, m, help)                                                               \
	{                                                                                          \
		name, COL_SIZE, OUT_RIGHT, VIEW_METRIC + (m), help, 0, VIEW_TOTAL_SUM              \
	}

/* A view's columns and defaults from two arrays. */
#define VIEW_COLS(infos, defaults)                                                                 \
	{                                                                                          \
		infos, sizeof(infos) / sizeof((infos)[0]), defaults,                               \
		    sizeof(defaults) / sizeof((defaults)[0])                                       \
	}

/*
 * One column: drives -o, -s, --list-columns, --help, what is read, the totals and the
 * output. Its type is also its JSON type: a string for COL_STR and COL_HEX, a number else.
 */
struct colinfo {
	const char *name;
	enum col_type type;
	int flags; /* enum out_col_flags */
	int id;    /* the view's own meaning */
	const char *help;
	unsigned needs; /* ML_NEED_* files (and VIEW_NEED_LEDGER) it reads (view_column_needs) */
	enum view_total total;
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
	void *rows;
	size_t n, size; /* count and size of one row */
	uint64_t (*number)(const void *row, const struct colinfo *c);  /* ML_UNKNOWN: unknown */
	const char *(*text)(const void *row, const struct colinfo *c); /* NULL: unknown */
	bool (*bound)(const void *row, const struct colinfo *c); /* a lower bound; may be NULL */
	bool (*blank)(const void *row, const struct colinfo *c); /* nothing to show; may be NULL */
	bool (*upper)(const void *row, const struct colinfo *c); /* an upper bound; may be NULL */
	bool (*untotalled)(const void *row); /* left out of the totals; may be NULL */
};

/* The column called name[0..len), case-insensitive, or NULL. */
const struct colinfo *view_column(const struct view_cols *v, const char *name, size_t len);

/* Prints each column's name and one-line definition. */
void view_list_columns(const struct view_cols *v, FILE *f);

/*
 * The start every view shares: --list-columns, operands where the view takes none
 * (takes_operands false), -o into cols and the sort column into key: -s, else the column
 * named sort when it is shown, else the first size shown, else the column named tie; NULL
 * with neither -s nor sort (the view's own order). Returns EXIT_GO_ON with *ncols and *key set, or
 * an exit status after printing the list or a message.
 */
int view_begin(const struct cli *cli, const struct view_cols *v, bool takes_operands,
               const char *sort, const char *tie, const struct colinfo **cols, int *ncols,
               const struct colinfo **key);

/*
 * Sorts r's rows in place by key (unknown first, then ascending; text by strcmp), ties by
 * the column tie, all reversed with reverse.
 */
void view_sort(struct view_rows *r, const struct colinfo *key, const struct colinfo *tie,
               bool reverse);

/*
 * Lays out rows that form a forest (parent[i]: the index of row i's parent, or -1; no
 * cycle) parents first, each row's children after it sorted by key, ties by index (all
 * reversed with reverse), without recursion however deep. Writes the order into order and
 * each row's depth into depth (room for r->n each). Returns how many rows it laid out (a
 * row in a cycle is left out) or -ENOMEM.
 */
long view_tree_order(const struct view_rows *r, const long *parent, const struct colinfo *key,
                     bool reverse, size_t *order, unsigned *depth);

/* The parent of each of n rows given parents first with their depth (0: the top), into
 * parent (-1: none). */
void view_parents_of_depths(const unsigned *depth, size_t n, long *parent);

/*
 * A table named name of r's rows drawn as a tree (parent as for view_tree_order; JSON
 * nests children under children_key), all of them or, with root >= 0, the subtree of row
 * root; siblings sorted by key (NULL: by index), reversed with -r. Returns 0 with *t to
 * print, or -errno.
 */
int view_tree_table(const struct cli *cli, const char *name, const char *children_key,
                    const struct view_rows *r, const long *parent, long root,
                    const struct colinfo **cols, int ncols, const struct colinfo *key,
                    struct out_table **t);

/* Adds row's cell under c to the running total *sum (which starts as {0}); a column that
 * does not total leaves it blank. */
void view_total_add(struct out_cell *sum, const struct view_rows *r, const void *row,
                    const struct colinfo *c);

/*
 * A table named name with a row per row of r, one cell per column, and with -t a totals
 * row. Returns it, to print, or NULL when out of memory.
 */
struct out_table *view_table(const struct cli *cli, const char *name, const struct view_rows *r,
                             const struct colinfo **cols, int ncols);

/* An empty table named name, one column per selected column (tree: its rows are nested,
 * see view_out_cols); NULL when out of memory. */
struct out_table *view_table_new(const struct cli *cli, const char *name,
                                 const struct colinfo **cols, int ncols, bool tree);

/* Adds row (read through r) to t, one cell per column. Returns 0 or -ENOMEM. */
int view_add_row(struct out_table *t, const struct view_rows *r, const void *row,
                 const struct colinfo **cols, int ncols);

/* With -t, adds to t the totals row of r's rows. Returns 0 or -ENOMEM. */
int view_table_totals(const struct cli *cli, struct out_table *t, const struct view_rows *r,
                      const struct colinfo **cols, int ncols);

/* The out_col of each selected column, into out (VIEW_MAX_COLS). When children are drawn
 * (tree) and no column selected is the one they are drawn in, the first is. */
void view_out_cols(const struct colinfo **cols, int ncols, bool tree, struct out_col *out);

struct ml_pages;
struct view_run;

/*
 * A view declared: view_run does the rest. Adding a view is a column table, a rows
 * function and one of these.
 */
struct view_def {
	const char *name;             /* the JSON key of its rows */
	const struct view_cols *cols; /* its columns and default selection */
	const char *sort;             /* the default sort column (see view_sort_column) */
	const char *tie;              /* the column that breaks ties */
	unsigned needs;               /* what it reads whatever the columns */
	bool proc_metrics;            /* its metric columns are each process's (ps, users) */
	const char *when_any;         /* a column shown by default when any row has text in it,
	                                 before the last column when that one is cut to fit */
	const char *alike;            /* rows alike in this column get apart's columns */
	const char *apart[2];
	/* Before the scan: the view's own options and state. Returns EXIT_GO_ON or an exit
	 * status after a message. May be NULL. */
	int (*begin)(struct view_run *run);
	/* Each mapping, with ML_NEED_SMAPS in needs (ctx: run->state). May be NULL. */
	ml_proc_mapping_fn on_mapping;
	/* Makes run->rows from the scan. Returns 0 or -errno: -ENOMEM is said by the driver,
	 * any other error by the view itself. */
	int (*rows)(struct view_run *run);
	/* Adds under the row just added the rows it holds (libs --procs); may be NULL. Returns
	 * 0 or -errno. */
	int (*children)(struct view_run *run, struct out_table *t, const void *row);
	/* Frees what begin and rows made. May be NULL. */
	void (*end)(struct view_run *run);
};

/* One run of a view: what view_run hands the view's functions. */
struct view_run {
	struct cli *cli; /* run->cli */
	struct run *run; /* the command's: its source, its messages */
	const struct view_def *def;
	const struct colinfo *cols[VIEW_MAX_COLS];
	int ncols;
	const struct colinfo *key; /* the sort column */
	unsigned needs;            /* of the view, its columns, the sort and the filters */
	struct ml_scan scan;
	struct ml_pages *pages; /* with VIEW_NEED_LEDGER or ML_NEED_PAGEMAP; else NULL */
	struct view_rows rows;  /* made by def->rows */
	void *state;            /* the view's own */
};

/* Adds v's column called name (NULL: none) to cols (the defaults, or "+COLS") when a row of
 * r has text in it (ROLE where a process has one), before a last column that is cut to fit
 * (COMMAND). */
void view_add_when_any(const struct view_cols *v, const char *name, const struct cli *cli,
                       const struct view_rows *r, const struct colinfo **cols, int *ncols);

/* True when column id is shown or sorted by in run. */
bool view_shows(const struct view_run *run, int id);

/*
 * Runs a view: --list-columns and -o, -s, the scan of what the columns need, the rows,
 * their order, the table (JSON, CSV) with its totals, what could not be read, and the
 * exit status of ps -p when none of the PIDs asked for exists. Returns an exit status.
 */
int view_run(struct run *run, const struct view_def *def);

#endif
