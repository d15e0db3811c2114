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

/* The id of %MEM: the driver computes it from the view's PSS column and MemTotal. */
#define VIEW_PMEM 99

/* %MEM: PSS as tenths of a percent of RAM (MemTotal), in a view that has a PSS column. */
#define VIEW_PMEM_COL                                                                              \
	{                                                                                          \
		"%MEM", COL_PERCENT, OUT_RIGHT, VIEW_PMEM,                                         \
		    "PSS as a percent of RAM (MemTotal), as smem -p: adds up, where ps's %MEM "    \
		    "(of RSS) does not",                                                           \
		    ML_NEED_ROLLUP, VIEW_TOTAL_NONE                                                \
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
	/* the driver's, for VIEW_PMEM: the view's PSS column and MemTotal (ML_UNKNOWN) */
	const struct colinfo *pss;
	uint64_t ram;
};

/* The columns a run shows, in order, and the one it sorts by (NULL: the view's order). */
struct view_sel {
	const struct colinfo *cols[VIEW_MAX_COLS];
	int ncols;
	const struct colinfo *key;
};

/* The column called name[0..len), case-insensitive, or NULL. */
const struct colinfo *view_column(const struct view_cols *v, const char *name, size_t len);

/* Prints each column's name and definition: one line each (--list-columns, for scripts),
 * or wrapped to 80 columns (--help). */
void view_list_columns(const struct view_cols *v, FILE *f, bool wrap);

/*
 * The start every view shares: --list-columns, operands where the view takes none
 * (takes_operands false), -o into sel's columns and the sort column into sel->key: -s,
 * else the column named sort when it is shown, else the first size shown, else the column
 * named tie; NULL with neither -s nor sort (the view's own order). Returns EXIT_GO_ON, or
 * an exit status after printing the list or a message.
 */
int view_begin(const struct cli *cli, const struct view_cols *v, bool takes_operands,
               const char *sort, const char *tie, struct view_sel *sel);

/*
 * Sorts r's rows in place by key (unknown first, then ascending; text by strcmp), ties by
 * the column tie, then by their order before (stable), all reversed with reverse: -r is
 * exactly the rows reversed. Without key, the rows keep their order, reversed with reverse.
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

/* What a table drawn as a tree is made of. */
struct view_tree {
	const char *name;         /* the JSON key of its rows */
	const char *children_key; /* JSON nests children under this key */
	const long *parent;       /* each row's parent, -1: a root (view_tree_order) */
	long root;                /* >= 0: the subtree of this row alone; -1: all */
	/* -t's row when it is no sum (system's: physical memory, 100%): its cells, one per
	 * column of sel; NULL: the sums of the rows shown */
	void (*totals)(const struct view_sel *sel, const void *ctx, struct out_cell *cells);
	const void *totals_ctx;
};

/*
 * A table of r's rows drawn as the tree tr says, siblings sorted by sel->key (NULL: by
 * index), reversed with -r; with -t a totals row of the rows shown. Returns 0 with *t to
 * print, or -errno.
 */
int view_tree_table(const struct cli *cli, const struct view_tree *tr, const struct view_rows *r,
                    const struct view_sel *sel, struct out_table **t);

/* Adds row's cell under c to the running total *sum (which starts as {0}); a column that
 * does not total leaves it blank. */
void view_total_add(struct out_cell *sum, const struct view_rows *r, const void *row,
                    const struct colinfo *c);

/*
 * A table named name with a row per row of r, one cell per column, and with -t a totals
 * row. Returns it, to print, or NULL when out of memory.
 */
struct out_table *view_table(const struct cli *cli, const char *name, const struct view_rows *r,
                             const struct view_sel *sel);

/* An empty table named name, one column per selected column (tree: its rows are nested,
 * see view_out_cols); NULL when out of memory. */
struct out_table *view_table_new(const struct cli *cli, const char *name,
                                 const struct view_sel *sel, bool tree);

/* Adds row (read through r) to t, one cell per column. Returns 0 or -ENOMEM. */
int view_add_row(struct out_table *t, const struct view_rows *r, const void *row,
                 const struct view_sel *sel);

/* The out_col of each selected column, into out (VIEW_MAX_COLS). When children are drawn
 * (tree) and no column selected is the one they are drawn in, the first is. */
void view_out_cols(const struct view_sel *sel, bool tree, struct out_col *out);

struct ml_pages;
struct view_run;

/*
 * A view declared: view_run does the rest. Adding a view is a column table, a rows
 * function and one of these. Its shape: a table; a tree (rows sets run->parent, or
 * children nests rows under each row); a document around the table (print).
 */
struct view_def {
	const char *name;             /* the JSON key of its rows */
	const struct view_cols *cols; /* its columns and default selection */
	const char *sort;             /* the default sort column (see view_sort_column) */
	const char *tie;              /* the column that breaks ties */
	unsigned needs;               /* what it reads whatever the columns */
	bool proc_metrics;            /* its metric columns are each process's (ps, users) */
	bool takes_operands;          /* it reads its operands itself (diff's A B) */
	bool own_scan;                /* it reads what it needs itself (diff's two sides) */
	unsigned descending;          /* 1 << COL_*: a sort column of these types sorts largest
	                                 first, -r smallest first (changes: growth first) */
	const char *when_any;         /* a column shown by default when any row has text in it,
	                                 before the last column when that one is cut to fit */
	const char *alike;            /* rows alike in this column get apart's columns */
	const char *apart[2];
	const char *children_key; /* a tree's: the JSON key of a row's children */
	/* Before the scan: the view's own options and state. Returns EXIT_GO_ON or an exit
	 * status after a message. May be NULL. */
	int (*begin)(struct view_run *run);
	/* Each mapping, with ML_NEED_SMAPS in needs (ctx: run->state). May be NULL. */
	ml_proc_mapping_fn on_mapping;
	/* After each process's mappings (ml_scan_opts.on_mappings_end). May be NULL. */
	ml_proc_mappings_end_fn on_mappings_end;
	/* Makes run->rows from the scan, and for a tree run->parent (malloc'ed, each row's
	 * parent or -1) and run->root. Returns 0 or -errno: -ENOMEM is said by the driver, any
	 * other error by the view itself. */
	int (*rows)(struct view_run *run);
	/* The rows nested under row (libs --procs, gpu's clients) into *kids, which the view
	 * keeps: the driver sorts them as it sorts the rows, and adds them. May be NULL.
	 * Returns 0 or -errno. */
	int (*children)(struct view_run *run, const void *row, struct view_rows *kids);
	/* -t's row when it is no sum of the rows (see view_tree; ctx: run->state); NULL: the
	 * sums. */
	void (*totals)(const struct view_sel *sel, const void *ctx, struct out_cell *cells);
	/* Prints the document around the table t (freed's parts, system's facts) and frees
	 * t; NULL: the rows with what could not be read (procs_print_document). Returns 0 or
	 * -errno. */
	int (*print)(struct view_run *run, struct out_table *t);
	/* Frees what begin and rows made. May be NULL. */
	void (*end)(struct view_run *run);
};

/* One run of a view: what view_run hands the view's functions. */
struct view_run {
	struct cli *cli; /* run->cli */
	struct run *run; /* the command's: its source, its messages */
	const struct view_def *def;
	struct view_sel sel; /* the columns and the sort column */
	unsigned needs;      /* of the view, its columns, the sort and the filters */
	struct ml_scan scan;
	struct ml_pages *pages; /* with VIEW_NEED_LEDGER or ML_NEED_PAGEMAP; else NULL */
	struct view_rows rows;  /* made by def->rows */
	long *parent;           /* a tree's, made by def->rows; NULL: a table */
	long root;              /* a tree's: the subtree shown, -1: all */
	size_t limit;           /* a table's: its first rows alone, once sorted; 0: all */
	void *state;            /* the view's own */
};

/* Adds each of v's columns that names lists ("ROLE", "PID,INSTANCES"; NULL: none) to sel
 * (the defaults, or "+COLS") when a row of r has text or a known number in it (ROLE where a
 * process has one): after a first key column and the counts beside it (groups' NAME,
 * PROCS), else before a last key column that is cut to fit (COMMAND), else last. */
void view_add_when_any(const struct view_cols *v, const char *names, const struct cli *cli,
                       const struct view_rows *r, struct view_sel *sel);

/* True when column id is shown or sorted by in run. */
bool view_shows(const struct view_run *run, int id);

/*
 * Runs a view: --list-columns and -o, -s, the scan of what the columns need, the rows,
 * their order (a tree's among siblings), the table (JSON, CSV) with its totals, the
 * document around it, what could not be read, and the exit status of ps -p when none of
 * the PIDs asked for exists. Returns an exit status.
 */
int view_run(struct run *run, const struct view_def *def);

#endif
