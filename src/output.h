/* Renders a view's rows as a table, raw columns, JSON or CSV. The one place that prints data. */
#ifndef MEMLEDGER_OUTPUT_H
#define MEMLEDGER_OUTPUT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "json.h"

enum out_format { OUT_TABLE, OUT_RAW, OUT_JSON, OUT_CSV };

struct out_state;

struct out_opts {
	enum out_format format;
	struct out_state *state; /* the run's: its stream, --delta's frames; NULL: stdout */
	bool bytes;              /* sizes as plain bytes in tables too */
	bool noheadings;
	size_t width;     /* columns to fit tables to; 0: the terminal's, when stdout is one */
	const char *time; /* interval mode: CSV rows start with this TIME */
	bool delta;       /* --delta: sizes are changes since the frame before (out_delta_frame) */
};

enum col_type {
	COL_STR,     /* text */
	COL_SIZE,    /* bytes: human-readable in tables unless --bytes */
	COL_COUNT,   /* an integer: PID, UID, threads */
	COL_HEX,     /* an integer shown in hex, as /proc writes addresses; a string in JSON */
	COL_PERCENT, /* tenths of a percent: "12.3%" in tables, the number 12.3 in JSON and CSV */
	COL_DELTA,   /* a change in bytes, an int64_t in the uint64_t: "+1.2M", "-4K", "0B";
	                -1 is ML_UNKNOWN (sizes change by whole kB, never by one byte) */
	COL_INT,     /* a signed integer (oom_score_adj: -800) in offset binary, out_int(x):
	                unsigned order is signed order, and ML_UNKNOWN no value it holds */
};

/* A COL_INT cell's number: x in offset binary (its sign bit flipped). */
static inline uint64_t out_int(int64_t x)
{
	return (uint64_t)x ^ (1ull << 63);
}

/* How a column is laid out in tables. */
enum out_col_flags {
	OUT_RIGHT = 1 << 0, /* right-aligned */
	OUT_KEY = 1 << 1,   /* the text that tells rows apart: on a terminal too narrow, cut after
	                       the other texts and OUT_SPARE columns; a path keeps its tail */
	OUT_TREE = 1 << 2,  /* children are drawn indented under their parent in this column */
	OUT_PATHS = 1 << 3, /* a command line: cut to fit, its program's path goes first */
	OUT_SPARE = 1 << 4, /* goes on a terminal too narrow before the key column is cut below 20
	                       columns: an identifier (device, inode), a limit */
	OUT_ROLE_SAID = 1 << 5, /* OUT_PATHS beside a ROLE column: cut to fit, the flags the role
	                           says (--type=renderer) go after the program's path */
};

struct out_col {
	const char *name; /* upper case; JSON keys are its lower case */
	enum col_type type;
	int flags; /* enum out_col_flags */
};

/* One cell: str for COL_STR (NULL: unknown), num otherwise (ML_UNKNOWN: unknown). */
struct out_cell {
	const char *str;
	uint64_t num;
	bool blank; /* nothing to show (a PID in a totals row): not the same as unknown */
	bool bound; /* num is a lower bound: "≥" before it in tables; JSON says "exact" */
	bool upper; /* num is an upper bound: "≤" before it in tables */
};

struct out_table;

/*
 * Starts a table named name (the JSON key of its rows) with ncols columns (copied; the
 * names must outlive it). Returns NULL on allocation failure.
 */
struct out_table *out_table_new(const char *name, const struct out_col *cols, size_t ncols,
                                const struct out_opts *opts);

/* Adds one row of ncols cells. Returns 0 or -ENOMEM. */
int out_table_add_row(struct out_table *t, const struct out_cell *cells);

/*
 * Adds a row under the last row added with out_table_add_row: a tree in tables (give one
 * column OUT_TREE), an array under children_key in that row's JSON object.
 * Returns 0, -EINVAL without a parent or -ENOMEM.
 */
int out_table_add_child(struct out_table *t, const struct out_cell *cells,
                        const char *children_key);

/*
 * Adds a row at depth (0: the top, as out_table_add_row) under the last row added at
 * depth - 1, for trees of any depth written parent first. Returns 0, -EINVAL without a
 * parent or -ENOMEM.
 */
int out_table_add_nested(struct out_table *t, unsigned depth, const struct out_cell *cells,
                         const char *children_key);

/* Adds the totals row: labelled TOTAL in its first blank cell; a "totals" object in JSON. */
int out_table_add_totals(struct out_table *t, const struct out_cell *cells);

/*
 * Prints the table to its stream (the run's, else stdout) and frees it. In JSON it writes the
 * members "NAME": [rows] (and "totals") into the object that j has open; j is unused otherwise.
 * Returns 0 or -errno.
 */
int out_table_print_free(struct out_table *t, struct json *j);

/* Frees the table unprinted; NULL is allowed. */
void out_table_free(struct out_table *t);

/* A size as tables show it: "12.4M", plain bytes with --bytes, "-" when unknown. */
const char *out_size_text(const struct out_opts *opts, uint64_t v, char *buf, size_t len);

/*
 * --delta: starts frame n (0 the first). The tables of a frame with opts.delta remember
 * their top-level rows, keyed by their text and count cells (PID, USER, COMMAND...) and
 * their place among the frame's tables; in the frames after, each size is the change since
 * the row of the frame before with that key, a STATE column (first) says "new" for a row it did
 * not have and the rows it had that are gone come last as "gone", their sizes negative.
 */
void out_delta_frame(struct out_state *st, unsigned long n);

struct out_delta_row;

/* What a run's output keeps between its tables and frames (struct run holds it). */
struct out_state {
	FILE *f;             /* where tables are printed: stdout for a command, a buffer for top */
	int write_errno;     /* the first failed write's errno (stdio forgets it once dropped) */
	unsigned long frame; /* --delta: the frame, 0 the first */
	size_t tables;       /* the frame's tables so far */
	struct out_delta_row *prev, *cur;
	size_t nprev, ncur, capcur;
};

/* Notes that writing the output failed with err (an errno), for the one message at the
 * end (main); the first error is the one said. */
void out_failed(const struct out_opts *opts, int err);

/* The stream tables of opts are printed to: its run's, else stdout. */
FILE *out_stream(const struct out_opts *opts);

/* Frees what st keeps of its frames. */
void out_state_free(struct out_state *st);

/* Formats bytes as "12.4M" (1024-based, one decimal when it matters). */
void out_format_size(uint64_t bytes, char *buf, size_t len);

#endif
