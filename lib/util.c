#include <errno.h>
#include <stdlib.h>

#include "util.h"

static int digit_value(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return 99;
}

/* The decimal case, which every kB field takes: no table, no division. */
static int parse_decimal(const char **p, const char *end, uint64_t *out)
{
	const char *s = *p;
	uint64_t v = 0;

	while (s < end && (unsigned)(*s - '0') < 10) {
		unsigned d = (unsigned)(*s - '0');
		if (v > (UINT64_MAX - d) / 10)
			return -EINVAL;
		v = v * 10 + d;
		s++;
	}
	if (s == *p)
		return -EINVAL;
	*p = s;
	*out = v;
	return 0;
}

int ml_parse_u64(const char **p, const char *end, int base, uint64_t *out)
{
	const char *s = *p;
	uint64_t v = 0;
	int d;

	if (base == 10)
		return parse_decimal(p, end, out);
	while (s < end && (d = digit_value(*s)) < base) {
		if (v > (UINT64_MAX - (uint64_t)d) / (uint64_t)base)
			return -EINVAL;
		v = v * (uint64_t)base + (uint64_t)d;
		s++;
	}
	if (s == *p)
		return -EINVAL;
	*p = s;
	*out = v;
	return 0;
}

int ml_grow(void **v, size_t *cap, size_t n, size_t more, size_t size)
{
	size_t c = *cap ? *cap : 16;
	void *p;

	if (n + more <= *cap)
		return 0;
	while (c < n + more)
		c *= 2;
	p = realloc(*v, c * size);
	if (!p)
		return -ENOMEM;
	*v = p;
	*cap = c;
	return 0;
}
