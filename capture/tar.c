/* A tar writer: POSIX ustar headers; a name or link target that does not fit goes in a
 * pax extended header before its entry ("path=", "linkpath="), as GNU tar and libarchive
 * both read. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "tar.h"

#define BLOCK 512

/* The ustar header, as POSIX lays it out. */
struct header {
	char name[100], mode[8], uid[8], gid[8], size[12], mtime[12], chksum[8], typeflag;
	char linkname[100], magic[6], version[2], uname[32], gname[32], devmajor[8], devminor[8];
	char prefix[155], pad[12];
};
_Static_assert(sizeof(struct header) == BLOCK, "a ustar header is one block");

static int write_all(struct tar *t, const void *data, size_t len)
{
	const char *p = data;

	while (len) {
		ssize_t w = write(t->fd, p, len);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return w < 0 ? -errno : -EIO;
		p += w;
		len -= (size_t)w;
		t->bytes += (uint64_t)w;
	}
	return 0;
}

/* Writes data and the zeros that fill its last block. */
static int write_padded(struct tar *t, const void *data, size_t len)
{
	static const char zeros[BLOCK];
	int rc = write_all(t, data, len);

	if (rc == 0 && len % BLOCK)
		rc = write_all(t, zeros, BLOCK - len % BLOCK);
	return rc;
}

static void octal(char *field, size_t size, uint64_t v)
{
	snprintf(field, size, "%0*llo", (int)size - 1, (unsigned long long)v);
}

/* A name field: NUL-terminated when it fits, ustar's rule; else its start (the pax
 * header before the entry holds the whole). */
static void field(char *f, size_t size, const char *s)
{
	size_t len = strlen(s);

	memcpy(f, s, len < size ? len : size);
}

static int write_header(struct tar *t, const char *name, char type, uint64_t size, const char *link)
{
	struct header h;
	unsigned sum = 0;

	memset(&h, 0, sizeof(h));
	field(h.name, sizeof(h.name), name);
	octal(h.mode, sizeof(h.mode), type == '2' ? 0777 : 0444);
	octal(h.uid, sizeof(h.uid), 0);
	octal(h.gid, sizeof(h.gid), 0);
	octal(h.size, sizeof(h.size), size);
	octal(h.mtime, sizeof(h.mtime), (uint64_t)t->mtime);
	h.typeflag = type;
	if (link)
		field(h.linkname, sizeof(h.linkname), link);
	memcpy(h.magic, "ustar", 6);
	memcpy(h.version, "00", 2);
	memcpy(h.uname, "root", 5);
	memcpy(h.gname, "root", 5);
	memset(h.chksum, ' ', sizeof(h.chksum));
	for (size_t i = 0; i < sizeof(h); i++)
		sum += ((unsigned char *)&h)[i];
	snprintf(h.chksum, sizeof(h.chksum), "%06o", sum);
	return write_all(t, &h, sizeof(h));
}

/* Appends one pax record "LEN key=value\n" (LEN counts itself) to buf at *len. */
static int pax_record(char *buf, size_t cap, size_t *len, const char *key, const char *value)
{
	size_t body = strlen(key) + strlen(value) + 3, n = body + 1; /* " =\n" and a digit */

	while ((size_t)snprintf(NULL, 0, "%zu", n) + body != n)
		n = (size_t)snprintf(NULL, 0, "%zu", n) + body;
	if (*len + n > cap)
		return -ENAMETOOLONG;
	*len += (size_t)snprintf(buf + *len, cap - *len + 1, "%zu %s=%s\n", n, key, value);
	return 0;
}

/* The header of an entry, after a pax header when its name or target does not fit. */
static int entry(struct tar *t, const char *path, char type, uint64_t size, const char *link)
{
	char pax[8192 + 1];
	size_t len = 0;
	int rc = 0;

	if (strlen(path) > sizeof(((struct header *)0)->name))
		rc = pax_record(pax, sizeof(pax) - 1, &len, "path", path);
	if (rc == 0 && link && strlen(link) > sizeof(((struct header *)0)->linkname))
		rc = pax_record(pax, sizeof(pax) - 1, &len, "linkpath", link);
	if (rc == 0 && len) {
		rc = write_header(t, "././@PaxHeader", 'x', len, NULL);
		if (rc == 0)
			rc = write_padded(t, pax, len);
	}
	return rc ? rc : write_header(t, path, type, size, link);
}

void tar_init(struct tar *t, int fd, time_t mtime)
{
	t->fd = fd;
	t->mtime = mtime;
	t->bytes = 0;
}

int tar_file(struct tar *t, const char *path, const void *data, size_t len)
{
	int rc = entry(t, path, '0', len, NULL);

	return rc ? rc : write_padded(t, data, len);
}

int tar_link(struct tar *t, const char *path, const char *target)
{
	return entry(t, path, '2', 0, target);
}

int tar_finish(struct tar *t)
{
	static const char zeros[2 * BLOCK];

	return write_all(t, zeros, sizeof(zeros));
}
