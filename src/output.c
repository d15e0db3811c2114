#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <langinfo.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>
#include <wchar.h>

#include "json.h"
#include "memledger/parse.h"
#include "memledger/role.h"
#include "output.h"

/*
 * A table is kept as its cells' final texts, in an arena: one allocation per 64 KiB, not
 * one per cell, and each row in one piece (its links, 8 bytes a cell, then the texts), so
 * that a 60,000-row table costs little more than its text.
 */
struct out_block {
	struct out_block *next;
	size_t used, size;
	char data[];
};

/*
 * One cell as it will be printed: the length and display width of its text, already
 * escaped for the format. The texts follow a row's cells, in their order, each ended by
 * a NUL (row_texts).
 */
struct out_text {
	uint32_t len;
	uint32_t width : 30;
	uint32_t unknown : 1; /* the kernel gave nothing: "-" in tables, null in JSON, "" in CSV */
	uint32_t blank : 1;   /* nothing to show (left out of JSON); its text is "" */
};

struct out_row {
	struct out_row *next; /* the next sibling */
	struct out_row *parent, *children, *last_child;
	unsigned depth;
	struct out_text cells[];
};

#define OUT_DRAW_DEPTH 60 /* rows deeper are drawn at this depth; the tree stays whole */
#define OUT_SLACK      16 /* bytes readable after a text, writable after a line's end */
#define OUT_SIZE_WIDTH 6  /* "999.9M" */

struct out_table {
	FILE *f;              /* where it is printed */
	struct out_state *st; /* the run's: --delta's frames, the first write error; NULL */
	bool delta;   /* the last column is --delta's STATE, which the caller does not give */
	size_t index; /* of the frame's tables */
	const struct out_col *cols;
	struct out_col *own_cols; /* cols: a copy, so that the caller's may go */
	size_t ncols;
	struct out_opts opts;
	struct out_block *blocks;
	struct out_row *rows, *last_row; /* the top-level rows */
	struct out_row *last_added;      /* where the next nested row's parent is found */
	struct out_row *totals;
	const char *children_key; /* the JSON key of children */
	uint32_t *widest;         /* each column's widest cell so far, tree art included */
	char *scratch;            /* the texts of the row being added */
	size_t scratch_len, scratch_size;
	char *name;
	bool utf8; /* the locale's encoding: multibyte text is shown as is */
};

/* size bytes from the table's arena, 8-byte aligned; NULL when out of memory. */
static void *arena_alloc(struct out_table *t, size_t size)
{
	struct out_block *b = t->blocks;

	size = (size + 7) & ~(size_t)7;
	if (!b || b->size - b->used < size) {
		size_t bsize = size > 65536 ? size : 65536;
		b = malloc(sizeof(*b) + bsize + OUT_SLACK); /* put_text reads past a text */
		if (!b)
			return NULL;
		b->used = 0;
		b->size = bsize;
		b->next = t->blocks;
		t->blocks = b;
	}
	b->used += size;
	return b->data + b->used - size;
}

/* Lowers an upper-case column name into a JSON key; '%' is 'p' (%MEM: "pmem", as ps
 * names it), a key a jq path can spell. */
static void out_json_key(const char *name, char *key, size_t len)
{
	size_t i = 0;

	for (; name[i] && i + 1 < len; i++)
		key[i] = name[i] == '%' ? 'p' : (char)tolower((unsigned char)name[i]);
	key[i] = '\0';
}

/* Writes v in decimal at d (at most 20 digits); returns the end. Faster than snprintf,
 * which mattered for 60,000-row tables. */
static char *put_dec(char *d, uint64_t v)
{
	char tmp[20];
	int n = 0;

	do
		tmp[n++] = (char)('0' + v % 10);
	while ((v /= 10) != 0);
	while (n > 0)
		*d++ = tmp[--n];
	return d;
}

/* Writes v in hex, at least 8 digits as /proc/PID/maps writes addresses; returns the end. */
static char *put_hex8(char *d, uint64_t v)
{
	static const char hex[] = "0123456789abcdef";
	int digits = 8;

	while (digits < 16 && v >> (4 * digits))
		digits++;
	for (int i = digits - 1; i >= 0; i--)
		*d++ = hex[(v >> (4 * i)) & 15];
	return d;
}

/* Copies the text tmp[0..end) into buf (len bytes, NUL-terminated, cut if it must be). */
static void put_text(char *buf, size_t len, const char *tmp, const char *end)
{
	size_t n = (size_t)(end - tmp) < len ? (size_t)(end - tmp) : len - 1;

	memcpy(buf, tmp, n);
	buf[n] = '\0';
}

/* Writes bytes as "12.4M" at d (at most 24 bytes); returns the end. */
static char *put_size(char *d, uint64_t bytes)
{
	static const char units[] = "BKMGTPE";
	uint64_t div = 1, whole;
	int exp = 0, tenths;

	while (exp < 6 && bytes / div >= 1024) {
		div *= 1024;
		exp++;
	}
	/* Whole units and tenths, rounded half up; 1023.96K becomes 1024.0K, as util-linux does. */
	whole = bytes / div;
	tenths = exp ? (int)(((bytes % div) * 10 + div / 2) / div) : 0;
	if (tenths == 10) {
		whole++;
		tenths = 0;
	}
	d = put_dec(d, whole);
	if (tenths) {
		*d++ = '.';
		*d++ = (char)('0' + tenths);
	}
	*d++ = units[exp];
	return d;
}

void out_format_size(uint64_t bytes, char *buf, size_t len)
{
	char tmp[32];

	put_text(buf, len, tmp, put_size(tmp, bytes));
}

const char *out_size_text(const struct out_opts *opts, uint64_t v, char *buf, size_t len)
{
	if (v == ML_UNKNOWN)
		return "-";
	if (opts->bytes) {
		char tmp[32];
		put_text(buf, len, tmp, put_dec(tmp, v));
	} else
		out_format_size(v, buf, len);
	return buf;
}

/* Appends "\xHH" for byte c at d; returns the next position. */
static char *hex_escape(char *d, unsigned char c)
{
	static const char hex[] = "0123456789abcdef";

	*d++ = '\\';
	*d++ = 'x';
	*d++ = hex[c >> 4];
	*d++ = hex[c & 15];
	return d;
}

/*
 * The display width of the valid UTF-8 sequence s[0..len), or -1 when it is not a
 * printable character.
 */
static int utf8_width(const char *s, size_t len)
{
	mbstate_t st = {0};
	wchar_t wc;

	if (mbrtowc(&wc, s, len, &st) != len)
		return -1;
	return wcwidth(wc);
}

/* Grows *buf (*size bytes) to hold need bytes: twice need, floor at least. Returns 0 or
 * -ENOMEM. */
static int grow_chars(char **buf, size_t *size, size_t need, size_t floor)
{
	if (need > *size) {
		size_t n = 2 * need > floor ? 2 * need : floor;
		char *b = realloc(*buf, n);
		if (!b)
			return -ENOMEM;
		*buf = b;
		*size = n;
	}
	return 0;
}

/* Makes room for n more bytes of the row's texts. Returns 0 or -ENOMEM. */
static int scratch_reserve(struct out_table *t, size_t n)
{
	return grow_chars(&t->scratch, &t->scratch_size, t->scratch_len + n, 4096);
}

/*
 * Appends s to the row's texts as a table shows it, as util-linux does: control bytes,
 * invalid UTF-8 and unprintable characters as \xHH, and in raw output also spaces,
 * backslashes and every non-ASCII byte, so that a raw line splits on spaces. Sets the
 * text's length and display width. Returns 0 or -ENOMEM.
 */
static int encode_for_table(struct out_table *t, const char *s, struct out_text *out)
{
	bool raw = t->opts.format == OUT_RAW;
	size_t n = strlen(s), width = 0;
	char *d, *start;

	if (scratch_reserve(t, 4 * n + 1) < 0)
		return -ENOMEM;
	d = start = t->scratch + t->scratch_len;
	for (size_t i = 0, len; i < n; i += len) {
		unsigned char c = (unsigned char)s[i];
		int w = -1;

		len = 1;
		if (c > 0x20 && c < 0x7f && !(raw && c == '\\'))
			w = 1;
		else if (c == ' ' && !raw)
			w = 1;
		else if (c >= 0x80 && !raw && t->utf8) {
			len = utf8_seq_len((const unsigned char *)s + i, n - i);
			w = len ? utf8_width(s + i, len) : -1;
			len = len ? len : 1;
		}
		if (w < 0) {
			for (size_t k = 0; k < len; k++)
				d = hex_escape(d, (unsigned char)s[i + k]);
			width += 4 * len;
		} else {
			memcpy(d, s + i, len);
			d += len;
			width += (size_t)w;
		}
	}
	*d = '\0';
	out->len = (uint32_t)(d - start);
	out->width = (uint32_t)width;
	t->scratch_len += out->len + 1;
	return 0;
}

/* Appends s to the row's texts unchanged: numbers, and text for JSON and CSV (which make
 * it valid UTF-8). Returns 0 or -ENOMEM. */
static int copy_text(struct out_table *t, const char *s, struct out_text *out)
{
	size_t n = strlen(s) + 1;

	if (scratch_reserve(t, n) < 0)
		return -ENOMEM;
	memcpy(t->scratch + t->scratch_len, s, n);
	t->scratch_len += n;
	out->len = out->width = (uint32_t)(n - 1);
	return 0;
}

/* The texts of row r: cell 0's, then each next one after the NUL of the one before. */
static const char *row_texts(const struct out_table *t, const struct out_row *r)
{
	return (const char *)&r->cells[t->ncols];
}

/* Writes s as one RFC 4180 field: each control byte (ESC, CR, LF, ...) as \xHH, as tables
 * show it, so that a field never moves a terminal's cursor nor splits a line; each
 * invalid UTF-8 byte as U+FFFD; quoted when it holds a comma or a quote. */
/* RFC 4180's escape inside a field: a quote doubled. */
static const char *csv_escape(unsigned char c)
{
	return c == '"' ? "\"\"" : NULL;
}

static void csv_field(FILE *f, const char *s)
{
	bool quote = strpbrk(s, ",\"") != NULL;

	if (quote)
		fputc('"', f);
	text_write(f, s, csv_escape);
	if (quote)
		fputc('"', f);
}

/* Writes one known number at d as the output format shows it (at most 24 bytes); returns
 * the end. */
static char *put_number(const struct out_table *t, const struct out_col *col, uint64_t v, char *d)
{
	bool machine = t->opts.format == OUT_JSON || t->opts.format == OUT_CSV;

	if (col->type == COL_SIZE && !machine && !t->opts.bytes)
		return put_size(d, v);
	if (col->type == COL_DELTA) {
		int64_t s = (int64_t)v;
		uint64_t mag = s < 0 ? -v : v;
		if (s < 0)
			*d++ = '-';
		else if (s > 0 && !machine)
			*d++ = '+';
		return !machine && !t->opts.bytes ? put_size(d, mag) : put_dec(d, mag);
	}
	if (col->type == COL_PERCENT) { /* tenths: 123 is 12.3 */
		d = put_dec(d, v / 10);
		*d++ = '.';
		*d++ = (char)('0' + v % 10);
		if (!machine)
			*d++ = '%';
		return d;
	}
	if (col->type == COL_INT) { /* offset binary: out_int */
		int64_t x = (int64_t)(v ^ (1ull << 63));
		if (x < 0)
			*d++ = '-';
		v = x < 0 ? -(uint64_t)x : (uint64_t)x;
	}
	return col->type == COL_HEX ? put_hex8(d, v) : put_dec(d, v);
}

/* Sets out to cell c as the table's format shows it. Returns 0 or -ENOMEM. */
static int cell_text(struct out_table *t, const struct out_col *col, const struct out_cell *c,
                     struct out_text *out)
{
	bool machine = t->opts.format == OUT_JSON || t->opts.format == OUT_CSV;
	const char *text;
	char buf[32];

	*out = (struct out_text){0};
	if (c->blank) {
		out->blank =
		    true; /* raw: "-", so that every line has as many fields as the header */
		return copy_text(t, t->opts.format == OUT_RAW ? "-" : "", out);
	}
	if (col->type != COL_STR && !c->str && c->num != ML_UNKNOWN && !c->bound && !c->upper) {
		char *d; /* a plain number, the most of a large table: written in place */
		if (scratch_reserve(t, 32) < 0)
			return -ENOMEM;
		d = t->scratch + t->scratch_len;
		out->len = out->width = (uint32_t)(put_number(t, col, c->num, d) - d);
		d[out->len] = '\0';
		t->scratch_len += out->len + 1;
		return 0;
	}
	if (col->type == COL_STR || c->str) /* a label may stand in any column */
		text = c->str;
	else if (c->num == ML_UNKNOWN)
		text = NULL;
	else {
		*put_number(t, col, c->num, buf) = '\0';
		text = buf;
	}
	if (!text) {
		out->unknown = true;
		text = machine ? "" : "-";
	}
	if ((c->bound || c->upper) && !out->unknown && !machine) {
		char marked[40];
		snprintf(marked, sizeof(marked), "%s%s",
		         c->bound ? (t->utf8 ? "\u2265" : ">=") : (t->utf8 ? "\u2264" : "<="),
		         text);
		return encode_for_table(t, marked, out);
	}
	if (t->opts.format == OUT_RAW && !*text)
		text = "-";            /* every raw line has as many fields as the header */
	if (machine || text != c->str) /* numbers, "-" and "": plain ASCII, nothing to escape */
		return copy_text(t, text, out);
	return encode_for_table(t, text, out);
}

/* --delta: a row of a frame, its key and what it held. */
struct out_delta_row {
	char *key;
	struct out_cell *cells; /* strings copied */
	size_t ncols;
	bool matched; /* a row of the next frame had its key */
	bool totals;  /* the totals row: never gone */
};

static void delta_rows_free(struct out_delta_row *v, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		for (size_t k = 0; k < v[i].ncols; k++)
			free((char *)v[i].cells[k].str);
		free(v[i].cells);
		free(v[i].key);
	}
	free(v);
}

void out_delta_frame(struct out_state *st, unsigned long n)
{
	delta_rows_free(st->prev, st->nprev);
	st->prev = n ? st->cur : NULL;
	st->nprev = n ? st->ncur : 0;
	if (!n)
		delta_rows_free(st->cur, st->ncur);
	st->cur = NULL;
	st->ncur = st->capcur = 0;
	st->frame = n;
	st->tables = 0;
}

void out_failed(const struct out_opts *opts, int err)
{
	if (opts->state && !opts->state->write_errno)
		opts->state->write_errno = err;
}

FILE *out_stream(const struct out_opts *opts)
{
	return opts->state ? opts->state->f : stdout;
}

void out_state_free(struct out_state *st)
{
	out_delta_frame(st, 0);
}

/* A row's key: the table's place in the frame, its depth, whether it is the totals, its
 * text and count cells (the caller's cells: column i is the table's i + 1, after STATE). */
static char *delta_key(const struct out_table *t, const struct out_cell *cells, unsigned depth,
                       bool totals)
{
	size_t len = 32, at;
	char *key;

	for (size_t i = 0; i + 1 < t->ncols; i++)
		len += (cells[i].str ? strlen(cells[i].str) : 0) + 24;
	key = malloc(len);
	if (!key)
		return NULL;
	at = (size_t)snprintf(key, len, "%zu\x1f%u\x1f%c", t->index, depth, totals ? 'T' : 'R');
	for (size_t i = 0; i + 1 < t->ncols; i++) {
		enum col_type type = t->cols[i + 1].type;
		if (type == COL_STR)
			at += (size_t)snprintf(key + at, len - at, "\x1f%s",
			                       cells[i].str ? cells[i].str : "");
		else if (type == COL_COUNT || type == COL_HEX || type == COL_INT)
			at += (size_t)snprintf(key + at, len - at, "\x1f%llu",
			                       (unsigned long long)cells[i].num);
	}
	return key;
}

/* Notes a row of this frame for the next. Returns 0 or -ENOMEM. */
static int delta_keep(const struct out_table *t, const struct out_cell *cells, char *key,
                      bool totals)
{
	struct out_delta_row *r;

	if (t->st->ncur == t->st->capcur) {
		size_t cap = t->st->capcur ? t->st->capcur * 2 : 64;
		struct out_delta_row *v = realloc(t->st->cur, cap * sizeof(*v));
		if (!v)
			return -ENOMEM;
		t->st->cur = v;
		t->st->capcur = cap;
	}
	r = &t->st->cur[t->st->ncur];
	*r = (struct out_delta_row){.key = key, .ncols = t->ncols - 1, .totals = totals};
	r->cells = calloc(r->ncols ? r->ncols : 1, sizeof(*r->cells));
	if (!r->cells)
		return -ENOMEM;
	t->st->ncur++;
	for (size_t i = 0; i < r->ncols; i++) {
		r->cells[i] = cells[i];
		if (cells[i].str && !(r->cells[i].str = strdup(cells[i].str)))
			return -ENOMEM;
	}
	return 0;
}

/* The change of a size from was to now; unknown when either is. */
static uint64_t change(uint64_t now, uint64_t was)
{
	return now == ML_UNKNOWN || was == ML_UNKNOWN ? ML_UNKNOWN : now - was;
}

/* With --delta, cells (ncols - 1 of the caller's) of a row at depth into out (ncols): sizes
 * as changes since the row with the same key in the frame before (rows alike match in
 * order), STATE first. Returns 0 or -ENOMEM. */
static int delta_cells(struct out_table *t, const struct out_cell *cells, unsigned depth,
                       bool totals, struct out_cell *out)
{
	char *key = delta_key(t, cells, depth, totals);
	struct out_delta_row *was = NULL;

	if (!key)
		return -ENOMEM;
	for (size_t i = 0; i < t->st->nprev && !was; i++)
		if (!t->st->prev[i].matched && strcmp(t->st->prev[i].key, key) == 0)
			was = &t->st->prev[i];
	memcpy(out + 1, cells, (t->ncols - 1) * sizeof(*out));
	out[0] = totals ? (struct out_cell){.blank = true}
	                : (struct out_cell){.str = !t->st->frame || was ? "" : "new"};
	if (was) {
		was->matched = true;
		for (size_t i = 0; i + 1 < t->ncols; i++)
			if (t->cols[i + 1].type == COL_DELTA && !cells[i].str && !cells[i].blank)
				out[i + 1].num = change(cells[i].num, was->cells[i].num);
	}
	if (delta_keep(t, cells, key, totals) < 0)
		return -ENOMEM;
	return 0;
}

struct out_table *out_table_new(const char *name, const struct out_col *cols, size_t ncols,
                                const struct out_opts *opts)
{
	struct out_table *t = calloc(1, sizeof(*t));
	const char *codeset = nl_langinfo(CODESET);

	if (!t)
		return NULL;
	t->st = opts->state;
	t->f = t->st ? t->st->f : stdout;
	t->delta = opts->delta && t->st;
	t->index = t->st ? t->st->tables++ : 0;
	t->cols = t->own_cols = malloc((ncols + 1) * sizeof(*cols));
	if (!t->own_cols) {
		free(t);
		return NULL;
	}
	/* --delta: STATE first (a command line cut to fit stays last, unpadded in a pipe),
	 * then the caller's columns, sizes as changes after the first frame */
	memcpy(t->own_cols + t->delta, cols, ncols * sizeof(*cols));
	if (t->delta) {
		t->own_cols[0] = (struct out_col){"STATE", COL_STR, 0};
		for (size_t i = 1; i <= ncols && t->st->frame; i++)
			if (t->own_cols[i].type == COL_SIZE)
				t->own_cols[i].type = COL_DELTA;
		ncols++;
	}
	t->widest = calloc(ncols ? ncols : 1, sizeof(*t->widest));
	t->ncols = ncols;
	t->opts = *opts;
	t->utf8 = codeset && strcmp(codeset, "UTF-8") == 0;
	t->name = strdup(name);
	if (!t->name || !t->widest) {
		out_table_free(t);
		return NULL;
	}
	return t;
}

/* The width of the tree art before a row at depth: two columns a level, drawn to
 * OUT_DRAW_DEPTH. */
static uint32_t art_width(unsigned depth)
{
	return 2 * (depth < OUT_DRAW_DEPTH ? depth : OUT_DRAW_DEPTH);
}

/* A new row of the table's cells, not yet linked. NULL when out of memory. */
static struct out_row *new_row(struct out_table *t, const struct out_cell *cells, unsigned depth)
{
	struct out_text texts[t->ncols ? t->ncols : 1];
	size_t head = offsetof(struct out_row, cells) + t->ncols * sizeof(texts[0]);
	struct out_row *r;

	t->scratch_len = 0;
	for (size_t i = 0; i < t->ncols; i++)
		if (cell_text(t, &t->cols[i], &cells[i], &texts[i]) < 0)
			return NULL;
	r = arena_alloc(t, head + t->scratch_len);
	if (!r)
		return NULL;
	*r = (struct out_row){.depth = depth};
	memcpy(r->cells, texts, t->ncols * sizeof(texts[0]));
	for (size_t i = 0; i < t->ncols; i++) {
		uint32_t w =
		    texts[i].width + ((t->cols[i].flags & OUT_TREE) ? art_width(depth) : 0);
		if (w > t->widest[i])
			t->widest[i] = w;
	}
	memcpy((char *)r + head, t->scratch, t->scratch_len);
	return r;
}

int out_table_add_nested(struct out_table *t, unsigned depth, const struct out_cell *given,
                         const char *children_key)
{
	struct out_row *parent = t->last_added, *r;
	struct out_cell with_state[t->ncols ? t->ncols : 1];
	const struct out_cell *cells = given;

	if (t->delta) {
		if (delta_cells(t, given, depth, false, with_state) < 0)
			return -ENOMEM;
		cells = with_state;
	}

	while (parent && parent->depth >= depth) /* written parent first: climb to depth - 1 */
		parent = parent->parent;
	if (depth && (!parent || parent->depth != depth - 1))
		return -EINVAL;
	r = new_row(t, cells, depth);
	if (!r)
		return -ENOMEM;
	r->parent = parent;
	if (parent) {
		t->children_key = children_key;
		if (parent->last_child)
			parent->last_child->next = r;
		else
			parent->children = r;
		parent->last_child = r;
	} else {
		if (t->last_row)
			t->last_row->next = r;
		else
			t->rows = r;
		t->last_row = r;
	}
	t->last_added = r;
	return 0;
}

int out_table_add_row(struct out_table *t, const struct out_cell *cells)
{
	return out_table_add_nested(t, 0, cells, NULL);
}

int out_table_add_child(struct out_table *t, const struct out_cell *cells, const char *children_key)
{
	return out_table_add_nested(t, 1, cells, children_key);
}

int out_table_add_totals(struct out_table *t, const struct out_cell *cells)
{
	struct out_cell labelled[t->ncols];

	if (t->opts.format == OUT_CSV || t->opts.format == OUT_RAW)
		return 0; /* a machine sums the rows itself: no row that is not one */
	if (t->delta) {   /* the totals' changes, as a row's; the label in STATE */
		if (delta_cells(t, cells, 0, true, labelled) < 0)
			return -ENOMEM;
	} else {
		memcpy(labelled, cells, sizeof(labelled));
	}
	for (size_t i = 0; i < t->ncols && t->opts.format != OUT_JSON; i++) {
		if (labelled[i].blank) { /* the label goes in the first blank cell */
			labelled[i] = (struct out_cell){.str = "TOTAL"};
			break;
		}
	}
	t->totals = new_row(t, labelled, 0);
	return t->totals ? 0 : -ENOMEM;
}

/* The rows in print order: parent first, then its children; the totals last. Records
 * the rows it goes down through in drawn[] (OUT_DRAW_DEPTH entries) for tree_art. */
static const struct out_row *next_row(const struct out_table *t, const struct out_row *r,
                                      const struct out_row **drawn)
{
	if (!r)
		return t->rows ? t->rows : t->totals;
	if (r == t->totals)
		return NULL;
	if (r->children) {
		if (r->depth < OUT_DRAW_DEPTH)
			drawn[r->depth] = r;
		return r->children;
	}
	while (!r->next && r->parent)
		r = r->parent;
	return r->next ? r->next : t->totals;
}

/* The tree art before a row's text: "│ " or "  " per ancestor, then "├─" or "└─"; a row
 * deeper than OUT_DRAW_DEPTH is drawn at that depth. */
static size_t tree_art(const struct out_table *t, const struct out_row *r,
                       const struct out_row **drawn, char *buf)
{
	const char *bar = t->utf8 ? "\u2502 " : "| ";
	const char *mid = t->utf8 ? "\u251c\u2500" : "|-";
	const char *last = t->utf8 ? "\u2514\u2500" : "`-";
	unsigned depth = r->depth < OUT_DRAW_DEPTH ? r->depth : OUT_DRAW_DEPTH;
	size_t n = 0;

	for (unsigned d = 1; d < depth; d++) {
		const char *s = drawn[d]->next ? bar : "  ";
		n += (size_t)(stpcpy(buf + n, s) - (buf + n));
	}
	if (depth)
		n += (size_t)(stpcpy(buf + n, r->next ? mid : last) - (buf + n));
	buf[n] = '\0';
	return n;
}

/* The width of the terminal f writes to, or 0 when it is not a terminal. */
static size_t terminal_width(FILE *f)
{
	struct winsize ws;
	const char *env = getenv("COLUMNS");
	int fd = fileno(f); /* -1 for a memory stream */

	if (fd < 0 || !isatty(fd))
		return 0;
	if (env && atoi(env) > 0)
		return (size_t)atoi(env);
	if (ioctl(fd, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0)
		return ws.ws_col;
	return 80;
}

#define OUT_HIDDEN SIZE_MAX /* a column's width when it goes to fit a narrow terminal */

/* The width of a table line with these column widths: hidden columns take none. */
static size_t line_width(const struct out_table *t, const size_t *widths)
{
	size_t total = 0, shown = 0;

	for (size_t i = 0; i < t->ncols; i++)
		if (widths[i] != OUT_HIDDEN)
			total += widths[i] + (shown++ ? 1 : 0);
	return total;
}

/* The least width column i is cut to: least columns, or its widest cell when narrower, or
 * its header when wider. */
static size_t col_floor(const struct out_table *t, size_t i, size_t least)
{
	size_t head = strlen(t->cols[i].name), want = t->widest[i] < least ? t->widest[i] : least;

	return head > want ? head : want;
}

/*
 * Cuts text columns, the key one (OUT_KEY) or the others, a column at a time, the widest
 * first, until the line fits term or each is down to its header, or to least columns when
 * its cells are wider. Returns the line's width.
 */
static size_t cut_columns(const struct out_table *t, size_t *widths, size_t total, size_t term,
                          bool key, size_t least)
{
	while (total > term) {
		size_t best = t->ncols, most = 0;
		for (size_t i = 0; i < t->ncols; i++) {
			if (widths[i] == OUT_HIDDEN || t->cols[i].type != COL_STR ||
			    !(t->cols[i].flags & OUT_KEY) != !key)
				continue;
			if (widths[i] > col_floor(t, i, least) && widths[i] > most) {
				best = i;
				most = widths[i];
			}
		}
		if (best == t->ncols)
			break;
		widths[best]--;
		total--;
	}
	return total;
}

/* What cutting the key columns down to least columns (their header, if wider) would save. */
static size_t key_slack(const struct out_table *t, const size_t *widths, size_t least)
{
	size_t slack = 0;

	for (size_t i = 0; i < t->ncols; i++) {
		size_t floor = col_floor(t, i, least);
		if (widths[i] != OUT_HIDDEN && (t->cols[i].flags & OUT_KEY) && widths[i] > floor)
			slack += widths[i] - floor;
	}
	return slack;
}

/*
 * Each column's width: its widest cell or its header. On a terminal too narrow for that
 * (or opts.width), the other text columns are cut first, down to 12 columns, then
 * spare columns (OUT_SPARE) go, from the right, then the key column is cut, down to 20,
 * then the others to their headers, then the key to its header. A hidden column's width
 * is OUT_HIDDEN.
 */
static void column_widths(const struct out_table *t, size_t *widths)
{
	size_t total, term;

	for (size_t i = 0; i < t->ncols; i++) {
		widths[i] = t->opts.noheadings ? 0 : strlen(t->cols[i].name);
		if ((t->cols[i].type == COL_SIZE || t->cols[i].type == COL_DELTA) &&
		    widths[i] < OUT_SIZE_WIDTH)
			widths[i] = OUT_SIZE_WIDTH; /* sizes line up from one run to the next */
		if (t->widest[i] > widths[i])
			widths[i] = t->widest[i];
	}
	term = t->opts.format != OUT_TABLE ? 0
	       : t->opts.width             ? t->opts.width
	                                   : terminal_width(t->f);
	total = line_width(t, widths);
	if (!term || total <= term)
		return;
	total = cut_columns(t, widths, total, term, false, 12);
	for (size_t i = t->ncols; total - key_slack(t, widths, 20) > term && i-- > 0;)
		if (t->cols[i].flags & OUT_SPARE) {
			widths[i] = OUT_HIDDEN;
			total = line_width(t, widths);
		}
	total = cut_columns(t, widths, total, term, true, 20);
	total = cut_columns(t, widths, total, term, false, 0);
	cut_columns(t, widths, total, term, true, 0);
}

/* The length of the character at s[i] (of n bytes), its display width in *cw. */
static size_t char_at(const struct out_table *t, const char *s, size_t i, size_t n, size_t *cw)
{
	size_t len = 1;
	int w = 1;

	if ((unsigned char)s[i] >= 0x80 && t->utf8) {
		len = utf8_seq_len((const unsigned char *)s + i, n - i);
		len = len ? len : 1;
		w = utf8_width(s + i, len);
		w = w < 0 ? 1 : w;
	}
	*cw = (size_t)w;
	return len;
}

/* How many bytes of the text c fit in width columns; *used gets their width. */
static size_t fit_text(const struct out_table *t, const char *s, const struct out_text *c,
                       size_t width, size_t *used)
{
	size_t n = c->len, i = 0, w = 0, len, cw;

	if (c->width <= width) {
		*used = c->width;
		return n;
	}
	for (; i < n; i += len) {
		len = char_at(t, s, i, n, &cw);
		if (w + cw > width)
			break;
		w += cw;
	}
	*used = w;
	return i;
}

/* How many bytes at the start of the text c to skip so that what is left fits in width
 * columns: the tail of a path. *used gets the width of what is left. */
static size_t tail_text(const struct out_table *t, const char *s, const struct out_text *c,
                        size_t width, size_t *used)
{
	size_t n = c->len, i = 0, w = c->width, cw;

	while (i < n && w > width) {
		i += char_at(t, s, i, n, &cw);
		w = w > cw ? w - cw : 0;
	}
	*used = w;
	return i;
}

/*
 * A command line too wide for width, with the directories of its program dropped
 * ("/usr/lib/chromium/chromium --type=renderer" → "chromium --type=renderer"): the
 * flags that tell processes apart outlast the path when the rest is cut. Returns where
 * the shortened text starts in s, with its length and width in *out ({0}: unchanged, the
 * text fits or its program has no ASCII directory to drop).
 */
static const char *shorten_path(const char *s, const struct out_text *c, size_t width,
                                struct out_text *out)
{
	size_t end = 0, cut = 0;

	*out = (struct out_text){0};
	if (c->width <= width)
		return s;
	while (end < c->len && s[end] != ' ') {
		if ((unsigned char)s[end] >= 0x80)
			return s; /* a path of other than ASCII: its width is not its length */
		if (s[end] == '/')
			cut = end + 1;
		end++;
	}
	if (cut == 0 || cut == end)
		return s;
	*out = *c;
	out->len -= cut;
	out->width -= cut;
	return s + cut;
}

/*
 * s (as shorten_path left it, c) still too wide for width, without the words that
 * ml_role_flag names (the ROLE column says them), into buf (size bytes): "chromium
 * --type=renderer --lang=en" → "chromium --lang=en". Returns buf with its length and
 * width in *out, or s unchanged (out untouched) when it fits, holds no such word, is not
 * all ASCII (its width is not its length) or is longer than buf.
 */
static const char *drop_role_flags(const char *s, const struct out_text *c, size_t width, char *buf,
                                   size_t size, struct out_text *out)
{
	size_t len = 0;

	if (c->width <= width || c->len >= size || c->width != c->len)
		return s;
	for (size_t at = 0; at < c->len;) {
		size_t w = strcspn(s + at, " ");
		w = w < c->len - at ? w : c->len - at;
		if (at == 0 || !ml_role_flag(s + at, w)) {
			if (len)
				buf[len++] = ' ';
			memcpy(buf + len, s + at, w);
			len += w;
		}
		at += w;
		while (at < c->len && s[at] == ' ')
			at++;
	}
	if (len == c->len)
		return s;
	buf[len] = '\0';
	*out = *c;
	out->len = out->width = len;
	return buf;
}

/*
 * The lines of a table, built in one buffer and written 16 KiB at a time: no stdio call
 * per line or per cell.
 */
struct line {
	FILE *f; /* where it goes */
	char *buf;
	size_t len, size;
	size_t start;   /* where the current line starts */
	size_t content; /* the end of the line's last text: padding after it is not printed */
	size_t cells;   /* the line's cells so far */
};

#define LINE_FLUSH 16384

/* Makes room for n more bytes, and OUT_SLACK after them. Returns 0 or -ENOMEM. */
static int line_reserve(struct line *l, size_t n)
{
	return grow_chars(&l->buf, &l->size, l->len + n + OUT_SLACK, 2 * LINE_FLUSH);
}

/*
 * Writes s[0..n) at d and returns the end. Up to 16 bytes are moved as 16, with no call:
 * s has OUT_SLACK readable bytes after it (the arena's, or a header's buffer) and d as
 * many writable (line_reserve's), whose garbage later writes cover or end_line drops.
 * This and put_spaces keep a 60,000-row table off the end of memledger maps.
 */
static char *put_bytes(char *d, const char *s, size_t n)
{
	if (n <= OUT_SLACK)
		memcpy(d, s, OUT_SLACK);
	else
		memcpy(d, s, n);
	return d + n;
}

/* Writes n spaces at d and returns the end; as put_bytes, short runs as 16 bytes. */
static char *put_spaces(char *d, size_t n)
{
	static const char spaces[OUT_SLACK] = "                ";

	if (n <= OUT_SLACK)
		memcpy(d, spaces, OUT_SLACK);
	else
		memset(d, ' ', n);
	return d + n;
}

/* Ends the line without the padding after its last text; writes out what is buffered
 * once it passes LINE_FLUSH. */
static void end_line(struct line *l)
{
	l->len = l->content;
	l->buf[l->len++] = '\n';
	if (l->len >= LINE_FLUSH) {
		fwrite(l->buf, 1, l->len, l->f);
		l->len = 0;
	}
	l->start = l->content = l->len;
	l->cells = 0;
}

/* The tree art before a cell's text, and its length and width. */
struct art {
	char s[8 * OUT_DRAW_DEPTH];
	size_t len, width;
};

/* Whether the text s (len bytes) is a path: a '/' first, no space but " (deleted)"'s. */
static bool is_path(const char *s, size_t len)
{
	static const char deleted[] = " (deleted)";
	size_t n = sizeof(deleted) - 1;

	if (len > n && memcmp(s + len - n, deleted, n) == 0)
		len -= n;
	return len > 0 && s[0] == '/' && !memchr(s, ' ', len);
}

/*
 * Appends cell i of a table line, text s, with art before it, padded to width unless it
 * is the last one; nothing for a hidden column. A text too wide is cut, with a mark
 * where it was cut ("…", "~" outside UTF-8): a command line after its program's
 * directories go, a path in the key column (OUT_KEY) at its start, keeping its tail
 * ("…/15/bin/postgres"), any other text at its end. The line has room for the widths,
 * the art, the marks and the separators.
 */
static void put_cell(const struct out_table *t, struct line *l, size_t i, const struct art *art,
                     const char *s, const struct out_text *c, size_t width)
{
	bool right = t->cols[i].flags & OUT_RIGHT, last = i + 1 == t->ncols;
	const char *mark = t->utf8 ? "\u2026" : "~";
	char *d = l->buf + l->len;
	size_t used = 0, n = 0, pad, room, skip = 0;
	struct out_text shortened = {0};
	const struct out_text *text = c;
	bool cut = false, tail = false;
	char scratch[1024];

	if (width == OUT_HIDDEN)
		return;
	if (t->opts.format == OUT_RAW ? i > 0 : l->cells > 0)
		*d++ = ' ';
	l->cells++;
	if (t->opts.format == OUT_RAW) {
		d = put_bytes(d, s, c->len);
		l->len = l->content = (size_t)(d - l->buf);
		return;
	}
	room = width > art->width ? width - art->width : 0;
	if (!c->blank && (t->cols[i].flags & OUT_PATHS)) {
		s = shorten_path(s, c, room, &shortened);
		text = shortened.len ? &shortened : c;
		if (t->cols[i].flags & OUT_ROLE_SAID) {
			s = drop_role_flags(s, text, room, scratch, sizeof(scratch), &shortened);
			text = shortened.len ? &shortened : c;
		}
	}
	if (!c->blank && text->width > room && room > 0) {
		cut = true;
		tail = (t->cols[i].flags & OUT_KEY) && !(t->cols[i].flags & OUT_PATHS) &&
		       is_path(s, text->len);
		if (tail) {
			skip = tail_text(t, s, text, room - 1, &used);
			n = text->len - skip;
		} else {
			n = fit_text(t, s, text, room - 1, &used);
		}
		used++;
	} else if (!c->blank) {
		n = fit_text(t, s, text, room, &used);
	}
	pad = width > art->width + used ? width - art->width - used : 0;
	if (right)
		d = put_spaces(d, pad);
	if (art->len) {
		memcpy(d, art->s, art->len);
		d += art->len;
	}
	if (cut && tail)
		d = stpcpy(d, mark);
	d = put_bytes(d, s + skip, n);
	if (cut && !tail)
		d = stpcpy(d, mark);
	l->len = (size_t)(d - l->buf);
	if (n || art->len || cut)
		l->content = l->len;
	if (!right && !last)
		l->len = (size_t)(put_spaces(d, pad) - l->buf);
}

/*
 * Appends the cells of a top-level row, texts s, when no column is cut to fit the
 * terminal: no cell needs fitting and no art goes before one. The common case, in one
 * loop; the line has room as for put_cell.
 */
static void put_plain_row(const struct out_table *t, struct line *l, const struct out_row *r,
                          const char *s, const size_t *widths)
{
	char *d = l->buf + l->len, *content = l->buf + l->content;

	for (size_t i = 0; i < t->ncols; s += r->cells[i].len + 1, i++) {
		const struct out_text *c = &r->cells[i];
		size_t pad = widths[i] - c->width;
		if (i)
			*d++ = ' ';
		if (t->cols[i].flags & OUT_RIGHT)
			d = put_spaces(d, pad);
		d = put_bytes(d, s, c->len);
		if (c->len)
			content = d;
		if (!(t->cols[i].flags & OUT_RIGHT) && i + 1 < t->ncols)
			d = put_spaces(d, pad);
	}
	l->len = (size_t)(d - l->buf);
	l->content = (size_t)(content - l->buf);
}

/* The most bytes a line of row r can take: texts, padding, art and separators. */
static size_t line_room(const struct out_table *t, const struct out_row *r, const size_t *widths,
                        const struct art *art)
{
	size_t n = 4 * t->ncols + art->len + 1; /* separators and cut marks */

	for (size_t i = 0; i < t->ncols; i++)
		if (widths[i] != OUT_HIDDEN)
			n += widths[i] + (r ? r->cells[i].len : strlen(t->cols[i].name));
	return n;
}

/* Prints the table or raw columns: a header line unless --noheadings, then the rows. */
static int print_table(struct out_table *t)
{
	const struct out_row *stack[OUT_DRAW_DEPTH];
	size_t widths[t->ncols];
	struct art art = {0}, none = {0};
	struct line l = {.f = t->f};
	bool plain = t->opts.format == OUT_TABLE;                        /* no cell is cut to fit */
	bool depth_field = t->opts.format == OUT_RAW && t->children_key; /* a tree, flat */
	int rc = 0;

	column_widths(t, widths);
	for (size_t i = 0; i < t->ncols; i++)
		plain = plain && widths[i] != OUT_HIDDEN && widths[i] >= t->widest[i];
	if (!t->opts.noheadings) {
		rc = line_reserve(&l, line_room(t, NULL, widths, &none) + 8);
		if (rc == 0 && depth_field)
			l.len = l.content = (size_t)(stpcpy(l.buf + l.len, "DEPTH ") - l.buf);
		for (size_t i = 0; i < t->ncols && rc == 0; i++) {
			char name[64 + OUT_SLACK] = {0}; /* put_bytes reads past it */
			size_t n = strnlen(t->cols[i].name, 64);
			struct out_text head = {.len = (uint32_t)n, .width = (uint32_t)n};
			memcpy(name, t->cols[i].name, n);
			put_cell(t, &l, i, &none, name, &head, widths[i]);
		}
		if (rc == 0)
			end_line(&l);
	}
	for (const struct out_row *r = next_row(t, NULL, stack); r && rc == 0;
	     r = next_row(t, r, stack)) {
		const char *s = row_texts(t, r);
		if (t->opts.format == OUT_TABLE) {
			art.len = tree_art(t, r, stack, art.s);
			art.width = art_width(r->depth);
		}
		rc = line_reserve(&l, line_room(t, r, widths, &art) + 16);
		if (rc == 0 && depth_field)
			l.len = l.content = l.len + (size_t)sprintf(l.buf + l.len, "%u ", r->depth);
		if (rc == 0 && plain && r->depth == 0)
			put_plain_row(t, &l, r, s, widths);
		for (size_t i = 0; i < t->ncols && rc == 0 && !(plain && r->depth == 0);
		     s += r->cells[i].len + 1, i++)
			put_cell(t, &l, i, (t->cols[i].flags & OUT_TREE) ? &art : &none, s,
			         &r->cells[i], widths[i]);
		if (rc == 0)
			end_line(&l);
	}
	if (l.len)
		fwrite(l.buf, 1, l.len, l.f);
	free(l.buf);
	return rc;
}

/* Prints the table as RFC 4180 CSV, a header line first unless --noheadings. */
static void print_csv(struct out_table *t)
{
	const struct out_row *stack[OUT_DRAW_DEPTH];

	bool depth_field = t->children_key != NULL; /* a tree, flat: each row's depth first */

	if (!t->opts.noheadings) {
		fputs(t->opts.time ? "TIME," : "", t->f);
		fputs(depth_field ? "DEPTH," : "", t->f);
		for (size_t i = 0; i < t->ncols; i++) {
			fputs(i ? "," : "", t->f);
			csv_field(t->f, t->cols[i].name);
		}
		fputs("\r\n", t->f);
	}
	for (const struct out_row *r = next_row(t, NULL, stack); r; r = next_row(t, r, stack)) {
		const char *s = row_texts(t, r);
		if (t->opts.time)
			printf("%s,", t->opts.time);
		if (depth_field)
			printf("%u,", r->depth);
		for (size_t i = 0; i < t->ncols; s += r->cells[i].len + 1, i++) {
			fputs(i ? "," : "", t->f);
			csv_field(t->f, s);
		}
		fputs("\r\n", t->f);
	}
}

/* Writes the cells of one row as the members of a JSON object that j has open: numbers
 * bare (null when unknown), text as strings. */
static void json_cells(struct out_table *t, const struct out_row *r, struct json *j, bool totals)
{
	const char *s = row_texts(t, r);
	char key[64];

	for (size_t i = 0; i < t->ncols; s += r->cells[i].len + 1, i++) {
		const struct out_text *c = &r->cells[i];
		enum col_type type = t->cols[i].type;
		if (c->blank)
			continue; /* nothing to show here */
		if (totals && (type == COL_STR || type == COL_HEX))
			continue; /* the totals object holds the sums only */
		out_json_key(t->cols[i].name, key, sizeof(key));
		json_key(j, key);
		if (c->unknown)
			json_null(j);
		else if (type == COL_STR || type == COL_HEX)
			json_string(j, s);
		else
			json_number_text(j, s);
	}
}

/* Writes the top-level row r and its subtree, children in an array under the table's
 * children key: walked without recursion, however deep. */
static void json_subtree(struct out_table *t, const struct out_row *r, struct json *j)
{
	for (;;) {
		json_object_begin(j);
		json_cells(t, r, j, false);
		if (r->children) {
			json_key(j, t->children_key ? t->children_key : "children");
			json_array_begin(j);
			r = r->children;
			continue;
		}
		json_object_end(j);
		while (!r->next && r->parent) {
			r = r->parent;
			json_array_end(j);
			json_object_end(j);
		}
		if (!r->parent)
			return;
		r = r->next;
	}
}

/* Writes "NAME": [rows] and "totals": {...} into the object j has open. */
static void print_json(struct out_table *t, struct json *j)
{
	json_key(j, t->name);
	json_array_begin(j);
	for (const struct out_row *r = t->rows; r; r = r->next)
		json_subtree(t, r, j);
	json_array_end(j);
	if (t->totals) {
		json_key(j, "totals");
		json_object_begin(j);
		json_cells(t, t->totals, j, true);
		json_object_end(j);
	}
}

/* --delta: the rows of this table in the frame before that no row of this frame had,
 * last, as "gone": what they held, negative. Returns 0 or -ENOMEM. */
static int add_gone(struct out_table *t)
{
	char prefix[32];
	size_t plen = (size_t)snprintf(prefix, sizeof(prefix), "%zu\x1f", t->index);

	/* a gone child comes at the top: its parent may be there still */

	for (size_t i = 0; i < t->st->nprev && t->st->frame; i++) {
		struct out_delta_row *was = &t->st->prev[i];
		struct out_cell cells[t->ncols];
		if (was->matched || was->totals || was->ncols + 1 != t->ncols ||
		    strncmp(was->key, prefix, plen))
			continue;
		was->matched = true;
		cells[0] = (struct out_cell){.str = "gone"};
		for (size_t k = 0; k + 1 < t->ncols; k++) {
			cells[k + 1] = was->cells[k];
			if (t->cols[k + 1].type == COL_DELTA && !cells[k + 1].str &&
			    !cells[k + 1].blank)
				cells[k + 1].num = change(0, cells[k + 1].num);
		}
		struct out_row *r = new_row(t, cells, 0);
		if (!r)
			return -ENOMEM;
		if (t->last_row)
			t->last_row->next = r;
		else
			t->rows = r;
		t->last_row = r;
	}
	return 0;
}

int out_table_print_free(struct out_table *t, struct json *j)
{
	int rc = t->delta ? add_gone(t) : 0;

	if (t->opts.format == OUT_CSV)
		print_csv(t);
	else if (t->opts.format == OUT_JSON)
		print_json(t, j);
	else
		rc = print_table(t);
	if (fflush(t->f) != 0 || ferror(t->f))
		rc = -errno ? -errno : -EIO;
	if (rc < 0)
		out_failed(&t->opts, -rc);
	out_table_free(t);
	return rc;
}

void out_table_free(struct out_table *t)
{
	if (!t)
		return;
	while (t->blocks) {
		struct out_block *next = t->blocks->next;
		free(t->blocks);
		t->blocks = next;
	}
	free(t->scratch);
	free(t->widest);
	free(t->name);
	free(t->own_cols);
	free(t);
}
