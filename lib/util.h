/* Small helpers shared by the library's modules (not part of the public API). */
#ifndef MEMLEDGER_UTIL_H
#define MEMLEDGER_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "memledger/parse.h"

#define ML_ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/*
 * Makes room in *v, an array of cap items of size bytes holding n, for more items,
 * doubling. Returns 0 or -ENOMEM (*v unchanged).
 */
int ml_grow(void **v, size_t *cap, size_t n, size_t more, size_t size);

/* a + b, unknown when either is unknown or the sum does not fit: a sum that wraps is
 * no figure, and one that stops just below 2^64 would be shown as 16E. */
static inline uint64_t ml_add(uint64_t a, uint64_t b)
{
	if (a == ML_UNKNOWN || b == ML_UNKNOWN || a + b < a)
		return ML_UNKNOWN;
	return a + b;
}

/* Skips spaces and tabs. The kernel pads numbers with runs of spaces: eight at a time. */
static inline const char *ml_skip_blanks(const char *p, const char *end)
{
	uint64_t word;

	while (end - p >= 8 && (memcpy(&word, p, 8), word == 0x2020202020202020ull))
		p += 8;
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
	if (end - p >= 8) /* the first byte that is no space, without a loop */
		p += __builtin_ctzll(word ^ 0x2020202020202020ull) / 8;
	/* The name of an errno ("EACCES") as a snapshot writes it; "EIO" for one it does not name.
	 */
	const char *ml_errno_name(int err);

	/* The errno that name[0..len) names; EIO for a name it does not know. */
	int ml_errno_of_name(const char *name, size_t len);

#endif
	while (p < end && (*p == ' ' || *p == '\t'))
		p++;
	return p;
}

/* True when key[0..len) is exactly the NUL-terminated word. */
static inline bool ml_key_is(const char *key, size_t len, const char *word)
{
	return strlen(word) == len && memcmp(key, word, len) == 0;
}

/*
 * Parses an unsigned number in base 10 or 16 at *p (no sign, no blanks, at least one
 * digit) and advances *p past it. Returns 0, or -EINVAL on no digit or overflow.
 */
int ml_parse_u64(const char **p, const char *end, int base, uint64_t *out);

/* Walks a buffer line by line; the last line may lack its newline. */
struct ml_line_iter {
	const char *p, *end;
};

static inline void ml_line_iter_init(struct ml_line_iter *it, const char *buf, size_t len)
{
	it->p = buf;
	it->end = buf + len;
}

/* Sets *line and *len to the next line without its newline; false at the end. */
static inline bool ml_line_iter_next(struct ml_line_iter *it, const char **line, size_t *len)
{
	const char *nl;

	if (it->p >= it->end)
		return false;
	nl = memchr(it->p, '\n', (size_t)(it->end - it->p));
	*line = it->p;
	*len = (size_t)((nl ? nl : it->end) - it->p);
	it->p = nl ? nl + 1 : it->end;
	return true;
}

/* The name of an errno ("EACCES") as a snapshot writes it; "EIO" for one it does not name. */
const char *ml_errno_name(int err);

/* The errno that name[0..len) names; EIO for a name it does not know. */
int ml_errno_of_name(const char *name, size_t len);

#endif
