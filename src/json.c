#include <inttypes.h>
#include <string.h>

#include "json.h"

void json_init(struct json *j, FILE *f, const char *frame_time)
{
	memset(j, 0, sizeof(*j));
	j->f = f;
	j->frame_time = frame_time;
}

/* Indents a new line for a value or key at the current depth. */
static void newline(struct json *j)
{
	if (j->frame_time)
		return; /* one line a document */
	fputc('\n', j->f);
	for (unsigned long i = 0; i < j->depth && i < JSON_MAX_INDENT; i++)
		fputs("   ", j->f);
}

/* What goes before a value: nothing after a key, else a comma if needed and a new line. */
static void before_value(struct json *j)
{
	if (j->after_key) {
		j->after_key = false;
		return;
	}
	if (j->depth == 0)
		return;
	if (j->has_member)
		fputc(',', j->f);
	j->has_member = true;
	newline(j);
}

static void open(struct json *j, char c)
{
	bool top = j->depth == 0;

	before_value(j);
	fputc(c, j->f);
	j->depth++;
	j->has_member = false;
	if (top && c == '{' && j->frame_time) {
		json_key(j, "time");
		json_string(j, j->frame_time);
	}
}

static void close(struct json *j, char c)
{
	bool empty = !j->has_member;

	if (j->depth > 0)
		j->depth--;
	if (!empty)
		newline(j);
	fputc(c, j->f);
	j->has_member = true; /* the closed value is a member of the one around it */
}

void json_object_begin(struct json *j)
{
	open(j, '{');
}

void json_object_end(struct json *j)
{
	close(j, '}');
}

void json_array_begin(struct json *j)
{
	open(j, '[');
}

void json_array_end(struct json *j)
{
	close(j, ']');
}

size_t utf8_seq_len(const unsigned char *s, size_t n)
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

void text_write(FILE *f, const char *s, const char *(*escape)(unsigned char c))
{
	size_t n = s ? strlen(s) : 0, len;
	const char *e, *backslash = escape ? escape('\\') : NULL;

	for (size_t i = 0; i < n; i += len) {
		unsigned char c = (unsigned char)s[i];
		len = utf8_seq_len((const unsigned char *)s + i, n - i);
		if (!len) {
			fputs("\xef\xbf\xbd", f); /* U+FFFD */
			len = 1;
		} else if (c < 0x80 && escape && (e = escape(c))) {
			fputs(e, f);
		} else if (c < 0x20 || c == 0x7f) { /* the text \xHH, its \ escaped as s's */
			fprintf(f, "%sx%02x", backslash ? backslash : "\\", c);
		} else {
			fwrite(s + i, 1, len, f);
		}
	}
}

/* Writes s between quotes with JSON's escapes. */
static void quoted(FILE *f, const char *s)
{
	size_t n = strlen(s), len;

	fputc('"', f);
	for (size_t i = 0; i < n; i += len) {
		unsigned char c = (unsigned char)s[i];
		len = utf8_seq_len((const unsigned char *)s + i, n - i);
		if (len == 0) {
			fputs("\xef\xbf\xbd", f);
			len = 1;
		} else if (c == '"' || c == '\\') {
			fputc('\\', f);
			fputc(c, f);
		} else if (c == '\n') {
			fputs("\\n", f);
		} else if (c == '\t') {
			fputs("\\t", f);
		} else if (c < 0x20 || c == 0x7f) {
			fprintf(f, "\\u%04x", c);
		} else {
			fwrite(s + i, 1, len, f);
		}
	}
	fputc('"', f);
}

void json_key(struct json *j, const char *key)
{
	before_value(j);
	quoted(j->f, key);
	fputs(": ", j->f);
	j->after_key = true;
}

void json_string(struct json *j, const char *s)
{
	before_value(j);
	quoted(j->f, s);
}

void json_u64(struct json *j, uint64_t v)
{
	before_value(j);
	if (v == UINT64_MAX)
		fputs("null", j->f);
	else
		fprintf(j->f, "%" PRIu64, v);
}

void json_null(struct json *j)
{
	before_value(j);
	fputs("null", j->f);
}

void json_bool(struct json *j, bool v)
{
	before_value(j);
	fputs(v ? "true" : "false", j->f);
}

void json_pair_u64(struct json *j, const char *key, uint64_t v)
{
	json_key(j, key);
	json_u64(j, v);
}

void json_number_text(struct json *j, const char *digits)
{
	before_value(j);
	fputs(digits, j->f);
}

void json_finish(struct json *j)
{
	fputc('\n', j->f);
}
