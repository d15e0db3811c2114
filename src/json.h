/* A small streaming JSON writer: valid output for any input string. */
#ifndef MEMLEDGER_JSON_H
#define MEMLEDGER_JSON_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#define JSON_MAX_INDENT 32 /* deeper values are indented as at this depth */

struct json {
	FILE *f;
	unsigned long depth;
	bool has_member; /* the open object or array has a value: a comma goes before the next */
	bool after_key;
	const char *frame_time; /* interval mode: one line a document, "time" its first member */
};

/* Starts a writer on f. Values nest to any depth; indentation stops at JSON_MAX_INDENT
 * levels, so that a deep tree's output grows linearly. With frame_time (interval mode)
 * the document is one line (NDJSON) with "time": frame_time its first member. */
void json_init(struct json *j, FILE *f, const char *frame_time);

void json_object_begin(struct json *j); /* as a value: after a key, in an array, or at the top */
void json_object_end(struct json *j);
void json_array_begin(struct json *j);
void json_array_end(struct json *j);

/* Writes "key": and leaves the writer expecting its value. */
void json_key(struct json *j, const char *key);

/* A string value: escaped, with each invalid UTF-8 byte replaced by U+FFFD. */
void json_string(struct json *j, const char *s);

/* An integer value; ML_UNKNOWN (UINT64_MAX) is written as null. */
void json_u64(struct json *j, uint64_t v);

void json_null(struct json *j);

void json_bool(struct json *j, bool v);

/* Writes "key": v (null when v is ML_UNKNOWN). */
void json_pair_u64(struct json *j, const char *key, uint64_t v);

/* A number already written as decimal digits. */
void json_number_text(struct json *j, const char *digits);

/* Ends the document with a newline. */
void json_finish(struct json *j);

/* Length of the valid UTF-8 sequence at s (at most n bytes), or 0 when invalid. */
size_t utf8_seq_len(const unsigned char *s, size_t n);

/*
 * Writes s (NULL: nothing) to f by the one rule for text that leaves the program
 * (memledger(1), TEXT): every byte of an invalid UTF-8 sequence as U+FFFD, an ASCII byte
 * as escape(c) says when that is not NULL (escape may be NULL), every other control byte
 * as the text \xHH, its backslash as escape('\\') gives it.
 */
void text_write(FILE *f, const char *s, const char *(*escape)(unsigned char c));

#endif
