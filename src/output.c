#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <libsmartcols.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "memledger/parse.h"
#include "output.h"

#define MAX_JSON_COUNTS 4

struct out_table {
	const struct out_col *cols;
	size_t ncols;
	struct out_opts opts;
	struct libscols_table *tb; /* table, raw and JSON */
	char *totals_json;         /* the "totals" object, in JSON */
	const char *count_keys[MAX_JSON_COUNTS];
	uint64_t count_values[MAX_JSON_COUNTS];
	size_t ncounts;
	char *name;
};

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

/* Length of the valid UTF-8 sequence at s (at most n bytes), or 0 if invalid. */
static size_t utf8_seq_len(const unsigned char *s, size_t n)
{
	size_t len;
	uint32_t cp;

	if (s[0] < 0x80)
		return 1;
	if ((s[0] & 0xe0) == 0xc0)
		len = 2, cp = s[0] & 0x1f;
	else if ((s[0] & 0xf0) == 0xe0)
		len = 3, cp = s[0] & 0x0f;
	else if ((s[0] & 0xf8) == 0xf0)
		len = 4, cp = s[0] & 0x07;
	else
		return 0;
	if (len > n)
		return 0;
	for (size_t i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = (cp << 6) | (s[i] & 0x3f);
	}
	if ((len == 2 && cp < 0x80) || (len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) ||
	    cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
		return 0; /* overlong, out of range, surrogate */
	return len;
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
	if (col->type == COL_SIZE && !machine && !t->opts.bytes)
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
	scols_table_enable_json(t->tb, opts->format == OUT_JSON);
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

/* Fills a new line of the table with the cells' texts. Returns 0 or -ENOMEM. */
static int add_line(struct out_table *t, const struct out_cell *cells)
{
	struct libscols_line *ln = scols_table_new_line(t->tb, NULL);
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
	}
	return 0;
}

int out_table_add_row(struct out_table *t, const struct out_cell *cells)
{
	return add_line(t, cells);
}

/* The "totals" JSON object of the numeric cells that are not blank. */
static char *totals_json(const struct out_table *t, const struct out_cell *cells)
{
	char *data = NULL, key[64];
	size_t size = 0, n = 0;
	FILE *f = open_memstream(&data, &size);

	if (!f)
		return NULL;
	fputs("   \"totals\": {", f);
	for (size_t i = 0; i < t->ncols; i++) {
		if (cells[i].blank || t->cols[i].type == COL_STR)
			continue;
		snprintf(key, sizeof(key), "%s", t->cols[i].name);
		for (char *k = key; *k; k++)
			*k = (char)tolower((unsigned char)*k);
		fprintf(f, "%s\n      \"%s\": ", n++ ? "," : "", key);
		if (cells[i].num == ML_UNKNOWN)
			fputs("null", f);
		else
			fprintf(f, "%" PRIu64, cells[i].num);
	}
	fputs("\n   }", f);
	if (fclose(f) != 0) {
		free(data);
		return NULL;
	}
	return data;
}

int out_table_add_totals(struct out_table *t, const struct out_cell *cells)
{
	struct out_cell labelled[t->ncols];

	if (t->opts.format == OUT_JSON) {
		t->totals_json = totals_json(t, cells);
		return t->totals_json ? 0 : -ENOMEM;
	}
	memcpy(labelled, cells, sizeof(labelled));
	for (size_t i = 0; i < t->ncols; i++) { /* the label goes in the first blank column */
		if (labelled[i].blank) {
			labelled[i] = (struct out_cell){.str = "TOTAL"};
			break;
		}
	}
	return add_line(t, labelled);
}

int out_table_add_json_count(struct out_table *t, const char *key, uint64_t value)
{
	if (t->ncounts == MAX_JSON_COUNTS)
		return -ENOSPC;
	t->count_keys[t->ncounts] = key;
	t->count_values[t->ncounts++] = value;
	return 0;
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

/*
 * Prints libsmartcols' JSON object with the totals and counts added after its array:
 * {"processes": [...], "totals": {...}, "unreadable": N}.
 */
static int print_json(struct out_table *t)
{
	char *data = NULL, *close;

	if (scols_print_table_to_string(t->tb, &data) < 0 || !data)
		return -ENOMEM;
	close = strrchr(data, ']');
	if (!close) {
		free(data);
		return -EINVAL;
	}
	fwrite(data, 1, (size_t)(close - data) + 1, stdout);
	if (t->totals_json)
		printf(",\n%s", t->totals_json);
	for (size_t i = 0; i < t->ncounts; i++)
		printf(",\n   \"%s\": %" PRIu64, t->count_keys[i], t->count_values[i]);
	fputs("\n}\n", stdout);
	free(data);
	return 0;
}

int out_table_print_free(struct out_table *t)
{
	int rc = 0;

	if (t->opts.format == OUT_CSV)
		print_csv(t);
	else if (t->opts.format == OUT_JSON)
		rc = print_json(t);
	else
		rc = scols_print_table(t->tb);
	if (fflush(stdout) != 0 || ferror(stdout))
		rc = -errno ? -errno : -EIO;
	scols_unref_table(t->tb);
	free(t->totals_json);
	free(t->name);
	free(t);
	return rc;
}
