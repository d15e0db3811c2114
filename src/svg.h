/*
 * Charts as SVG, laid out here so that they render with JavaScript off: a squarified
 * treemap, a stacked bar, horizontal bars. Every text is escaped for XML; invalid UTF-8
 * becomes U+FFFD.
 */
#ifndef MEMLEDGER_SVG_H
#define MEMLEDGER_SVG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* Writes s as XML text or attribute value: &, <, >, " and ' escaped, control bytes and
 * invalid UTF-8 as U+FFFD. NULL writes nothing. */
void xml_text(FILE *f, const char *s);

/* A cell of a treemap; an inner node's value is the sum of its children's. */
struct tm_node {
	char *label; /* malloc'ed: shown when the cell has room, and in its tooltip */
	char *info;  /* malloc'ed or NULL: more for the tooltip */
	uint64_t value;
	unsigned hue;   /* 0-359: the colour of the cell and of what it holds */
	unsigned shade; /* 0, 1, 2: darker to lighter, for the leaves' kinds */
	struct tm_node *kids;
	size_t nkids;
	double x, y, w, h; /* set by tm_layout */
};

/* Lays out n and what it holds in the rectangle (x, y, w, h), each level squarified
 * (Bruls, Huizing, van Wijk): children, largest first, in rows along the shorter side,
 * area in proportion to value. Sorts each node's children, largest first. */
void tm_layout(struct tm_node *n, double x, double y, double w, double h);

/* Frees what n holds (not n). */
void tm_free(struct tm_node *n);

/* Writes root, laid out in w x h, as an <svg> element with id: a <rect> per leaf (class
 * "leaf", data-value its value) with a <title>, each node of the first level outlined
 * (class "group", data-name) with its label where it fits. */
void svg_treemap(FILE *f, const struct tm_node *root, double w, double h, const char *id);

/* One part of a stacked bar. */
struct svg_part {
	const char *name;
	uint64_t bytes;
};

/* A stacked bar of parts, w wide, in proportion to whole (their sum when 0), with a
 * legend below it: name and size of each part. */
void svg_stacked_bar(FILE *f, const struct svg_part *parts, size_t n, uint64_t whole, double w,
                     const char *id);

/* One row of horizontal bars: own (USS), shared (PSS - USS), swap; mark (FREED) as a line,
 * ML_UNKNOWN for none. */
struct svg_hbar {
	const char *label;
	uint64_t own, shared, swap, mark;
};

/* Horizontal bars, one a row, on one scale, w wide. */
void svg_hbars(FILE *f, const struct svg_hbar *rows, size_t n, double w, const char *id);

/* One kill of an order: what it gives back and what all kills up to it give. */
struct svg_kill {
	const char *label;
	uint64_t freed, cum; /* ML_UNKNOWN: unknown */
};

/* "If memory runs out": a bar a kill, its length what the kills up to it give back (the
 * earlier kills' part light, this one's dark), against a line at ram (ML_UNKNOWN: none),
 * labelled with the RAM that would be free after it (free + cum), w wide. */
void svg_kills(FILE *f, const struct svg_kill *rows, size_t n, uint64_t free_now, uint64_t ram,
               double w, const char *id);

/* One row of a comparison: its change, in bytes (ML_UNKNOWN: unknown). */
struct svg_delta {
	const char *label;
	int64_t delta;
	bool known;
};

/* Bars of changes about a middle line, growth to the right (red), shrinking to the left
 * (green), on one scale, w wide. */
void svg_delta_bars(FILE *f, const struct svg_delta *rows, size_t n, double w, const char *id);

#endif
