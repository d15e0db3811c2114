#include <errno.h>
#include <stdlib.h>

#include "util.h"

static int digit_value(char c)
{
	unsigned d = (unsigned)(c - '0'), letter = (unsigned)((c | 0x20) - 'a');

	if (d < 10)
		return (int)d;
	return letter < 6 ? (int)letter + 10 : 99;
}

/* The decimal case, which every kB field takes: no table, no division. */
static int parse_decimal(const char **p, const char *end, uint64_t *out)
{
	const char *s = *p;
	uint64_t v = 0;

	while (s < end && s - *p < 19 && (unsigned)(*s - '0') < 10) /* < 10^19: no overflow */
		v = v * 10 + (unsigned)(*s++ - '0');
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
	const uint64_t b = (uint64_t)base,
	               limit = UINT64_MAX / b; /* one division, not one a digit */
	const char *s = *p;
	uint64_t v = 0;
	int d;

	if (base == 10)
		return parse_decimal(p, end, out);
	if (base == 16) { /* addresses: up to 16 digits cannot overflow */
		while (s < end && s - *p < 16 && (d = digit_value(*s)) < 16)
			v = (v << 4) | (uint64_t)d, s++;
	}
	while (s < end && (d = digit_value(*s)) < base) {
		if (v > limit || v * b > UINT64_MAX - (uint64_t)d)
			return -EINVAL;
		v = v * b + (uint64_t)d;
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

/* The errors a snapshot names in memledger-unreadable. */
static const struct {
	const char *name;
	int err;
} errnames[] = {{"EACCES", EACCES}, {"EPERM", EPERM},   {"ESRCH", ESRCH},
                {"EISDIR", EISDIR}, {"EINVAL", EINVAL}, {"EFBIG", EFBIG},
                {"EIO", EIO},       {"ENOENT", ENOENT}, {"ENOMEM", ENOMEM}};

const char *ml_errno_name(int err)
{
	for (size_t i = 0; i < ML_ARRAY_SIZE(errnames); i++)
		if (errnames[i].err == (err < 0 ? -err : err))
			return errnames[i].name;
	return "EIO";
}

int ml_errno_of_name(const char *name, size_t len)
{
	for (size_t i = 0; i < ML_ARRAY_SIZE(errnames); i++)
		if (strlen(errnames[i].name) == len && memcmp(name, errnames[i].name, len) == 0)
			return errnames[i].err;
	return EIO;
}
