/*
 * Drives the table engine (src/output.c) from a file, the way libsmartcols tests itself:
 *
 *     test_output SPEC
 *
 * SPEC, one directive a line ('#' starts a comment):
 *     opts FORMAT WIDTH [bytes] [noheadings]   table, raw, json or csv; WIDTH 0: no fitting
 *     col NAME TYPE FLAGS                      str size count hex percent; right,trunc,tree,
 *                                              paths or -
 *     row DEPTH CELL|CELL|...                  under the last row a level up; see cell()
 *     totals CELL|CELL|...
 *     repeat N DEPTHS TEXT                     N rows, depth cycling through 0..DEPTHS-1, the
 *                                              first cell "TEXT I" and the others I
 * Prints the table (in JSON, inside an object); exits 1 with a message when writing fails,
 * 2 on a bad SPEC.
 */
#include <errno.h>
#include <locale.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"
#include "memledger/parse.h"
#include "output.h"

#define MAX_COLS 16

struct spec {
	struct out_opts opts;
	struct out_col cols[MAX_COLS];
	char *names[MAX_COLS];
	size_t ncols;
	struct out_table *t;
};

static int fail(const char *what, const char *line)
{
	fprintf(stderr, "test_output: %s: %s\n", what, line);
	return 2;
}

/* A cell: "-" unknown, "~" blank, ">N" a lower bound, "<N" an upper one, else a number
 * (text in a str column). */
static struct out_cell cell(const struct out_col *c, char *text)
{
	struct out_cell v = {0};

	if (strcmp(text, "~") == 0)
		return (struct out_cell){.blank = true};
	if (c->type == COL_STR) {
		v.str = strcmp(text, "-") == 0 ? NULL : text;
		return v;
	}
	if (strcmp(text, "-") == 0)
		return (struct out_cell){.num = ML_UNKNOWN};
	v.bound = text[0] == '>';
	v.upper = text[0] == '<';
	v.num = strtoull(text + (v.bound || v.upper), NULL, 0);
	return v;
}

/* Splits CELL|CELL|... into cells, one per column. Returns 0 or -1. */
static int cells(struct spec *s, char *text, struct out_cell *out)
{
	for (size_t i = 0; i < s->ncols; i++) {
		char *bar = text ? strchr(text, '|') : NULL;
		if (!text)
			return -1;
		if (bar)
			*bar = '\0';
		out[i] = cell(&s->cols[i], text);
		text = bar ? bar + 1 : NULL;
	}
	return 0;
}

static int add_col(struct spec *s, char *args)
{
	static const char *const types[] = {"str", "size", "count", "hex", "percent"};
	char name[64], type[16], flags[64];
	struct out_col *c = &s->cols[s->ncols];

	if (s->ncols == MAX_COLS || sscanf(args, "%63s %15s %63s", name, type, flags) != 3)
		return -1;
	s->names[s->ncols] = strdup(name);
	*c = (struct out_col){s->names[s->ncols], COL_STR, 0};
	for (int k = 0; k < 5; k++)
		if (strcmp(type, types[k]) == 0)
			c->type = (enum col_type)k;
	c->flags = (strstr(flags, "right") ? OUT_RIGHT : 0) | (strstr(flags, "key") ? OUT_KEY : 0) |
	           (strstr(flags, "spare") ? OUT_SPARE : 0) |
	           (strstr(flags, "tree") ? OUT_TREE : 0) |
	           (strstr(flags, "paths") ? OUT_PATHS : 0);
	s->ncols++;
	return 0;
}

static int set_opts(struct spec *s, char *args)
{
	static const char *const formats[] = {"table", "raw", "json", "csv"};
	char format[16];
	unsigned width;

	if (sscanf(args, "%15s %u", format, &width) != 2)
		return -1;
	s->opts.width = width;
	s->opts.bytes = strstr(args, "bytes") != NULL;
	s->opts.noheadings = strstr(args, "noheadings") != NULL;
	for (int k = 0; k < 4; k++)
		if (strcmp(format, formats[k]) == 0)
			s->opts.format = (enum out_format)k;
	return 0;
}

/* Adds n rows, depths cycling through 0..depths-1. */
static int repeat(struct spec *s, char *args)
{
	struct out_cell v[MAX_COLS];
	unsigned long n, depths;
	char text[256], first[300];
	int rc = 0;

	if (sscanf(args, "%lu %lu %255[^\n]", &n, &depths, text) != 3 || depths == 0)
		return -1;
	for (unsigned long i = 0; i < n && rc == 0; i++) {
		snprintf(first, sizeof(first), "%s %lu", text, i);
		for (size_t c = 0; c < s->ncols; c++)
			v[c] = s->cols[c].type == COL_STR ? (struct out_cell){.str = first}
			                                  : (struct out_cell){.num = i};
		rc = out_table_add_nested(s->t, (unsigned)(i % depths), v, "children");
	}
	return rc;
}

/* Applies one line of the spec. Returns 0, or 2 after a message. */
static int apply(struct spec *s, char *line)
{
	struct out_cell v[MAX_COLS];
	char *args = strchr(line, ' ');
	unsigned depth;

	if (line[0] == '#' || line[0] == '\0')
		return 0;
	args = args ? args + 1 : line + strlen(line);
	if (strncmp(line, "opts ", 5) == 0)
		return set_opts(s, args) < 0 ? fail("bad opts", line) : 0;
	if (strncmp(line, "col ", 4) == 0)
		return add_col(s, args) < 0 ? fail("bad col", line) : 0;
	if (!s->t && !(s->t = out_table_new("rows", s->cols, s->ncols, &s->opts)))
		return fail("out of memory", line);
	if (strncmp(line, "row ", 4) == 0) {
		char *text = strchr(args, ' ');
		if (sscanf(args, "%u", &depth) != 1 || !text || cells(s, text + 1, v) < 0)
			return fail("bad row", line);
		return out_table_add_nested(s->t, depth, v, "children") < 0
		           ? fail("no parent", line)
		           : 0;
	}
	if (strncmp(line, "totals ", 7) == 0)
		return cells(s, args, v) < 0 || out_table_add_totals(s->t, v) < 0
		           ? fail("bad totals", line)
		           : 0;
	if (strncmp(line, "repeat ", 7) == 0)
		return repeat(s, args) < 0 ? fail("bad repeat", line) : 0;
	return fail("unknown directive", line);
}

int main(int argc, char **argv)
{
	struct spec s = {.opts = {.format = OUT_TABLE}};
	char line[4096];
	struct json j;
	FILE *f;
	int rc = 0;

	setlocale(LC_ALL, "");
	if (argc != 2 || !(f = fopen(argv[1], "r")))
		return fail("usage", "test_output SPEC");
	while (rc == 0 && fgets(line, sizeof(line), f)) {
		line[strcspn(line, "\n")] = '\0';
		rc = apply(&s, line);
	}
	fclose(f);
	if (rc == 0 && !s.t && !(s.t = out_table_new("rows", s.cols, s.ncols, &s.opts)))
		rc = fail("out of memory", argv[1]);
	if (rc == 0) {
		json_init(&j, stdout, NULL);
		if (s.opts.format == OUT_JSON)
			json_object_begin(&j);
		rc = out_table_print_free(s.t, &j);
		s.t = NULL;
		if (s.opts.format == OUT_JSON) {
			json_object_end(&j);
			json_finish(&j);
		}
		if (rc == 0 && (fflush(stdout) != 0 || ferror(stdout)))
			rc = -EIO;
		if (rc < 0)
			fprintf(stderr, "test_output: cannot write the output: %s\n",
			        strerror(-rc));
		rc = rc < 0 ? 1 : 0;
	}
	out_table_free(s.t);
	for (size_t i = 0; i < s.ncols; i++)
		free(s.names[i]);
	return rc;
}
