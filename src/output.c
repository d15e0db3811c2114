#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <libsmartcols.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "memledger/parse.h"
#include "json.h"
#include "output.h"

/* The userdata of a cell with nothing to show: JSON leaves it out (unknown cells are null). */
static const char blank_marker;

struct out_table {
	const struct out_col *cols;
	size_t ncols;
	struct out_opts opts;
	struct libscols_table *tb;    /* the rows as text, for every format */
	struct libscols_line *totals; /* the totals line, kept apart in JSON */
	struct libscols_line *last;   /* the last top-level line: the parent of children */
	const char *children_key;     /* the JSON key of children */
	char *name;
};

const char *out_size_text(const struct out_opts *opts, uint64_t v, char *buf, size_t len)
{
	if (v == ML_UNKNOWN)
		return "-";
	if (opts->bytes)
		snprintf(buf, len, "%" PRIu64, v);
	else
		out_format_size(v, buf, len);
	return buf;
}

/* Lowers an upper-case column name into a JSON key. */
static void out_json_key(const char *name, char *key, size_t len)
{
	size_t i = 0;

	for (; name[i] && i + 1 < len; i++)
		key[i] = (char)tolower((unsigned char)name[i]);
	key[i] = '\0';
}

void out_format_size(uint64_t bytes, char *buf, size_t len)
{
	static const char units[] = "BKMGTPE";
	uint64_t div = 1;
	int exp = 0, tenths;

	while (exp < 6 && bytes / div >= 1024) {
		div *= 1024;
		exp++;
	}
	if (exp == 0) {
		snprintf(buf, len, "%" PRIu64 "B", bytes);
		return;
	}
	/* Whole units and tenths, rounded half up; 1023.96K becomes 1024.0K, as util-linux does. */
	tenths = (int)(((bytes % div) * 10 + div / 2) / div);
	if (tenths == 10)
		snprintf(buf, len, "%" PRIu64 "%c", bytes / div + 1, units[exp]);
	else if (tenths == 0)
		snprintf(buf, len, "%" PRIu64 "%c", bytes / div, units[exp]);
	else
		snprintf(buf, len, "%" PRIu64 ".%d%c", bytes / div, tenths, units[exp]);
}

/* A malloc'ed copy of s with each byte of an invalid UTF-8 sequence replaced by U+FFFD. */
static char *utf8_sanitize(const char *s)
{
	size_t n = strlen(s), o = 0, len;
	char *out = malloc(3 * n + 1);

	if (!out)
		return NULL;
	for (size_t i = 0; i < n; i += len) {
		len = utf8_seq_len((const unsigned char *)s + i, n - i);
		if (len) {
			memcpy(out + o, s + i, len);
			o += len;
		} else {
			memcpy(out + o, "\xef\xbf\xbd", 3);
			o += 3;
			len = 1;
		}
	}
	out[o] = '\0';
	return out;
}

/* Writes s as one RFC 4180 field: quoted when it holds a comma, quote, CR, LF or control. */
static void csv_field(FILE *f, const char *s)
{
	bool quote = false;

	for (const char *p = s; *p; p++)
		if (*p == ',' || *p == '"' || iscntrl((unsigned char)*p))
			quote = true;
	if (!quote) {
		fputs(s, f);
		return;
	}
	fputc('"', f);
	for (const char *p = s; *p; p++) {
		if (*p == '"')
			fputc('"', f);
		fputc(*p, f);
	}
	fputc('"', f);
}

/* Formats one cell as the output format shows it; returns buf or the cell's string. */
static const char *cell_text(const struct out_table *t, const struct out_col *col,
                             const struct out_cell *c, char *buf, size_t len)
{
	bool machine = t->opts.format == OUT_JSON || t->opts.format == OUT_CSV;

	if (col->type == COL_STR || c->str) /* a label may stand in any column */
		return c->str ? c->str : (machine ? "" : "-");
	if (c->num == ML_UNKNOWN)
		return machine ? "" : "-"; /* JSON: null */
	if (col->type == COL_HEX)
		snprintf(buf, len, "%08" PRIx64, c->num);
	else if (col->type == COL_SIZE && !machine && !t->opts.bytes)
		out_format_size(c->num, buf, len);
	else
		snprintf(buf, len, "%" PRIu64, c->num);
	return buf;
}

struct out_table *out_table_new(const char *name, const struct out_col *cols, size_t ncols,
                                const struct out_opts *opts)
{
	struct out_table *t = calloc(1, sizeof(*t));

	if (!t)
		return NULL;
	t->cols = cols;
	t->ncols = ncols;
	t->opts = *opts;
	t->name = strdup(name);
	t->tb = scols_new_table();
	if (!t->name || !t->tb)
		goto err;
	scols_table_set_name(t->tb, t->name);
	scols_table_enable_raw(t->tb, opts->format == OUT_RAW);
	scols_table_enable_noheadings(t->tb, opts->noheadings);
	for (size_t i = 0; i < ncols; i++) {
		struct libscols_column *cl =
		    scols_table_new_column(t->tb, cols[i].name, cols[i].whint, cols[i].flags);
		if (!cl)
			goto err;
		scols_column_set_json_type(cl, cols[i].type == COL_STR ? SCOLS_JSON_STRING
		                                                       : SCOLS_JSON_NUMBER);
	}
	return t;
err:
	scols_unref_table(t->tb);
	free(t->name);
	free(t);
	return NULL;
}

/* Fills a new line (under parent, or at the top) with the cells' texts. Returns 0 or -ENOMEM. */
static int add_line(struct out_table *t, const struct out_cell *cells, struct libscols_line *parent,
                    struct libscols_line **line)
{
	struct libscols_line *ln = scols_table_new_line(t->tb, parent);

	if (line)
		*line = ln;
	bool machine = t->opts.format == OUT_JSON || t->opts.format == OUT_CSV;
	char buf[32];

	if (!ln)
		return -ENOMEM;
	for (size_t i = 0; i < t->ncols; i++) {
		const char *text =
		    cells[i].blank ? "" : cell_text(t, &t->cols[i], &cells[i], buf, sizeof(buf));
		char *clean = machine ? utf8_sanitize(text) : NULL;
		int rc;

		if (machine && !clean)
			return -ENOMEM;
		rc = scols_line_set_data(ln, i, clean ? clean : text);
		free(clean);
		if (rc < 0)
			return -ENOMEM;
		if (cells[i].blank)
			scols_cell_set_userdata(scols_line_get_cell(ln, i), (void *)&blank_marker);
	}
	return 0;
}

int out_table_add_row(struct out_table *t, const struct out_cell *cells)
{
	return add_line(t, cells, NULL, &t->last);
}

int out_table_add_child(struct out_table *t, const struct out_cell *cells, const char *children_key)
{
	t->children_key = children_key;
	return t->last ? add_line(t, cells, t->last, NULL) : -EINVAL;
}

int out_table_add_totals(struct out_table *t, const struct out_cell *cells)
{
	struct out_cell labelled[t->ncols];

	memcpy(labelled, cells, sizeof(labelled));
	for (size_t i = 0; i < t->ncols && t->opts.format != OUT_JSON; i++) {
		if (labelled[i].blank) { /* the label goes in the first blank cell */
			labelled[i] = (struct out_cell){.str = "TOTAL"};
			break;
		}
	}
	return add_line(t, labelled, NULL, &t->totals);
}

/* Prints the table as RFC 4180 CSV, a header line first unless --noheadings. */
static void print_csv(struct out_table *t)
{
	struct libscols_iter *itr = scols_new_iter(SCOLS_ITER_FORWARD);
	struct libscols_line *ln;

	if (!t->opts.noheadings) {
		for (size_t i = 0; i < t->ncols; i++) {
			fputs(i ? "," : "", stdout);
			csv_field(stdout, t->cols[i].name);
		}
		fputs("\r\n", stdout);
	}
	while (itr && scols_table_next_line(t->tb, itr, &ln) == 0) {
		for (size_t i = 0; i < t->ncols; i++) {
			const char *data = scols_cell_get_data(scols_line_get_cell(ln, i));
			fputs(i ? "," : "", stdout);
			csv_field(stdout, data ? data : "");
		}
		fputs("\r\n", stdout);
	}
	scols_free_iter(itr);
}

static void json_children(struct out_table *t, struct libscols_line *ln, struct json *j);

/* Writes one line as a JSON object: numbers bare (null when unknown), text as strings. */
static void json_line(struct out_table *t, struct libscols_line *ln, struct json *j, bool totals)
{
	char key[64];

	json_object_begin(j);
	for (size_t i = 0; i < t->ncols; i++) {
		struct libscols_cell *cell = scols_line_get_cell(ln, i);
		const char *data = scols_cell_get_data(cell);
		if (scols_cell_get_userdata(cell) == &blank_marker)
			continue; /* nothing to show here */
		if (totals && (t->cols[i].type == COL_STR || t->cols[i].type == COL_HEX))
			continue; /* the totals object holds the sums only */
		out_json_key(t->cols[i].name, key, sizeof(key));
		json_key(j, key);
		if (t->cols[i].type == COL_STR || (t->cols[i].type == COL_HEX && data && *data))
			json_string(j, data ? data : "");
		else if (data && *data)
			json_number_text(j, data);
		else
			json_null(j);
	}
	if (!totals && scols_line_has_children(ln))
		json_children(t, ln, j);
	json_object_end(j);
}

/* Writes the children of ln as an array under the children key. */
static void json_children(struct out_table *t, struct libscols_line *ln, struct json *j)
{
	struct libscols_iter *itr = scols_new_iter(SCOLS_ITER_FORWARD);
	struct libscols_line *child;

	json_key(j, t->children_key ? t->children_key : "children");
	json_array_begin(j);
	while (itr && scols_line_next_child(ln, itr, &child) == 0)
		json_line(t, child, j, false);
	json_array_end(j);
	scols_free_iter(itr);
}

/* Writes "NAME": [rows] and "totals": {...} into the object j has open. */
static void print_json(struct out_table *t, struct json *j)
{
	struct libscols_iter *itr = scols_new_iter(SCOLS_ITER_FORWARD);
	struct libscols_line *ln;

	json_key(j, t->name);
	json_array_begin(j);
	while (itr && scols_table_next_line(t->tb, itr, &ln) == 0)
		if (ln != t->totals && !scols_line_get_parent(ln))
			json_line(t, ln, j, false);
	json_array_end(j);
	if (t->totals) {
		json_key(j, "totals");
		json_line(t, t->totals, j, true);
	}
	scols_free_iter(itr);
}

int out_table_print_free(struct out_table *t, struct json *j)
{
	int rc = 0;

	if (t->opts.format == OUT_CSV)
		print_csv(t);
	else if (t->opts.format == OUT_JSON)
		print_json(t, j);
	else
		rc = scols_print_table(t->tb);
	if (fflush(stdout) != 0 || ferror(stdout))
		rc = -errno ? -errno : -EIO;
	scols_unref_table(t->tb);
	free(t->name);
	free(t);
	return rc;
}
