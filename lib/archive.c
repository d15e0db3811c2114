/* Reads a snapshot archive (a tar, compressed or not) into memory through libarchive. */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "archive.h"
#include "memledger/libarchive.h"
#include "memledger/source.h"
#include "util.h"

struct ml_archive {
	struct ml_archive_file *files; /* sorted by path once read */
	size_t n, cap;
	int fd;           /* an uncompressed tar, or the spill file: the files in place; or -1 */
	bool spill;       /* fd is the spill file of a compressed archive, being written */
	uint64_t spilled; /* its length */
};

/* An unlinked file for what a compressed archive keeps in place, where $TMPDIR (else /tmp,
 * else /var/tmp) says: the snapshot's files stay on disk, not in memory. Returns an fd or
 * -errno. */
static int spill_file(void)
{
	const char *dirs[] = {getenv("TMPDIR"), "/tmp", "/var/tmp"};
	int fd = -ENOENT;

	for (size_t i = 0; i < ML_ARRAY_SIZE(dirs) && fd < 0; i++) {
		if (!dirs[i] || !*dirs[i])
			continue;
		fd = open(dirs[i], O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
		if (fd < 0)
			fd = -errno;
	}
	return fd;
}

/* Copies the current entry's data (at most max bytes) to the end of the spill file and
 * notes where in f. Returns 0, -EFBIG, -EINVAL for a corrupt archive, or -errno. */
static int spill_data(struct ml_archive *ar, struct archive *a, struct ml_archive_file *f,
                      uint64_t max)
{
	char buf[65536];

	f->offset = ar->spilled;
	for (;;) {
		la_ssize_t r = ml_la.archive_read_data(a, buf, sizeof(buf));
		if (r < 0)
			return -EINVAL;
		if (r == 0)
			return 0;
		if (f->len + (size_t)r > max)
			return -EFBIG;
		for (size_t done = 0; done < (size_t)r;) {
			ssize_t w = pwrite(ar->fd, buf + done, (size_t)r - done,
			                   (off_t)(ar->spilled + done));
			if (w < 0 && errno != EINTR)
				return -errno;
			if (w > 0)
				done += (size_t)w;
		}
		ar->spilled += (uint64_t)r;
		f->len += (size_t)r;
	}
}

/* Opens path without waiting (a FIFO's open() waits for a writer), and only if it is a
 * regular file. Returns an fd or -errno (-EMEDIUMTYPE: not a regular file). */
static int open_regular(const char *path)
{
	struct stat st;
	int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);

	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		return -EMEDIUMTYPE;
	}
	fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK);
	return fd;
}

/* The path without a leading "./" or "/" and without a trailing "/". */
static char *clean_path(const char *name)
{
	size_t len;

	for (;;) {
		if (name[0] == '/')
			name++;
		else if (name[0] == '.' && name[1] == '/')
			name += 2;
		else
			break;
	}
	len = strlen(name);
	while (len && name[len - 1] == '/')
		len--;
	return strndup(name, len);
}

/* Reads the data of the current entry into f (at most max bytes). */
static int read_data(struct archive *a, struct archive_entry *e, struct ml_archive_file *f,
                     uint64_t max)
{
	size_t cap = 4096;
	la_int64_t want = ml_la.archive_entry_size_is_set(e) ? ml_la.archive_entry_size(e) : 0;

	if (want < 0 || (uint64_t)want > max)
		return -EFBIG;
	if (ml_la.archive_entry_size_is_set(e) && want < (1 << 24)) /* a header may lie: grow past 16 MiB */
		cap = (size_t)want + 2; /* exactly: a few KiB each of thousands of small files */
	f->data = malloc(cap);
	if (!f->data)
		return -ENOMEM;
	for (;;) {
		la_ssize_t r;
		if (cap - f->len < 2) {
			char *grown;
			if (cap > max)
				return -EFBIG;
			grown = realloc(f->data, cap * 2);
			if (!grown)
				return -ENOMEM;
			f->data = grown;
			cap *= 2;
		}
		r = ml_la.archive_read_data(a, f->data + f->len, cap - f->len - 1);
		if (r < 0)
			return -EINVAL;
		if (r == 0)
			break;
		f->len += (size_t)r;
	}
	f->data[f->len] = '\0';
	return 0;
}

/* Keeps the current entry, a file or a link named path: in place when in_place (its
 * offset in the archive's file, or in the spill file of a compressed archive), else in
 * memory. */
static int keep_entry(struct ml_archive *ar, struct archive *a, struct archive_entry *e, char *path,
                      bool in_place)
{
	uint64_t max = ml_source_max_size(path);
	struct ml_archive_file *f;
	int rc = 0;

	if (ml_grow((void **)&ar->files, &ar->cap, ar->n, 1, sizeof(*ar->files)) < 0) {
		free(path);
		return -ENOMEM;
	}
	f = &ar->files[ar->n++];
	*f = (struct ml_archive_file){.path = path, .seq = ar->n - 1};
	if (ml_la.archive_entry_filetype(e) == AE_IFLNK) {
		const char *target = ml_la.archive_entry_symlink(e);
		f->link = true;
		f->data = strdup(target ? target : "");
		f->len = f->data ? strlen(f->data) : 0;
		rc = f->data ? 0 : -ENOMEM;
	} else if (ml_la.archive_entry_size_is_set(e) &&
	           (ml_la.archive_entry_size(e) < 0 || (uint64_t)ml_la.archive_entry_size(e) > max)) {
		rc = -EFBIG; /* said before a byte of it is read */
	} else if (in_place && ar->spill) {
		rc = spill_data(ar, a, f, max);
	} else if (in_place && ml_la.archive_entry_size_is_set(e)) {
		/* what the tar reader consumed: the headers of the entry, up to its data */
		f->offset = (uint64_t)ml_la.archive_filter_bytes(a, 0);
		f->len = (size_t)ml_la.archive_entry_size(e);
	} else {
		rc = read_data(a, e, f, max);
	}
	return rc;
}

static int cmp_file(const void *a, const void *b)
{
	const struct ml_archive_file *x = a, *y = b;
	int c = strcmp(x->path, y->path);

	return c ? c : (x->seq > y->seq) - (x->seq < y->seq);
}

/* Sorts the files by path; of two with one path the later one counts, as tar extracts. */
static void sort_files(struct ml_archive *ar)
{
	size_t out = 0;

	if (ar->n)
		qsort(ar->files, ar->n, sizeof(*ar->files), cmp_file);
	for (size_t i = 0; i < ar->n; i++) {
		if (out && strcmp(ar->files[out - 1].path, ar->files[i].path) == 0) {
			free(ar->files[out - 1].path);
			free(ar->files[out - 1].data);
			ar->files[out - 1] = ar->files[i];
			continue;
		}
		ar->files[out++] = ar->files[i];
	}
	ar->n = out;
}

/* True when the archive is a tar read as it is on disk: offsets in the stream are
 * offsets in the file. */
static bool in_place(struct archive *a)
{
	return ml_la.archive_filter_count(a) == 1 && ml_la.archive_filter_code(a, 0) == ARCHIVE_FILTER_NONE;
}

static int fail(struct archive *a, int rc, char *err, size_t errlen, const char *what)
{
	const char *msg = a ? ml_la.archive_error_string(a) : NULL;

	snprintf(err, errlen, "%s%s%s", what, msg && *msg ? ": " : "", msg ? msg : "");
	return rc;
}

int ml_archive_read(const char *path, ml_archive_keep_fn keep, void *ctx, struct ml_archive **out,
                    char *err, size_t errlen)
{
	struct ml_archive *ar = NULL;
	struct archive *a = NULL;
	struct archive_entry *e;
	int rc = ml_libarchive_load(err, errlen), r, fd = -1;

	*out = NULL;
	if (rc < 0)
		return rc;
	ar = calloc(1, sizeof(*ar));
	a = ml_la.archive_read_new();
	if (ar)
		ar->fd = -1;
	if (!ar || !a) {
		rc = fail(NULL, -ENOMEM, err, errlen, "out of memory");
		goto done;
	}
	ml_la.archive_read_support_filter_all(a);
	ml_la.archive_read_support_format_tar(a);
	ml_la.archive_read_support_format_gnutar(a);
	if ((fd = open_regular(path)) < 0) {
		rc = fail(NULL, fd, err, errlen,
		          fd == -EMEDIUMTYPE ? "not a regular file" : strerror(-fd));
		goto done;
	}
	if (ml_la.archive_read_open_fd(a, fd, 65536) != ARCHIVE_OK) {
		rc = fail(a, ml_la.archive_errno(a) > 0 ? -ml_la.archive_errno(a) : -EINVAL, err, errlen,
		          "not a tar archive, or a damaged one");
		goto done;
	}
	while ((r = ml_la.archive_read_next_header(a, &e)) == ARCHIVE_OK || r == ARCHIVE_WARN) {
		unsigned type = ml_la.archive_entry_filetype(e);
		enum ml_archive_keep how = ML_ARCHIVE_IN_MEMORY;
		char *name;
		if (type != AE_IFREG && type != AE_IFLNK)
			continue;
		name = clean_path(ml_la.archive_entry_pathname(e) ? ml_la.archive_entry_pathname(e) : "");
		if (!name) {
			rc = fail(NULL, -ENOMEM, err, errlen, "out of memory");
			goto done;
		}
		if (keep)
			how = keep(name, ctx);
		if (!*name || how == ML_ARCHIVE_SKIP) {
			free(name);
			continue;
		}
		if (how == ML_ARCHIVE_KEEP && !in_place(a) && ar->fd < 0 &&
		    (ar->fd = spill_file()) >= 0)
			ar->spill = true; /* else in memory, as before */
		rc = keep_entry(ar, a, e, name,
		                how == ML_ARCHIVE_KEEP && (in_place(a) || ar->spill));
		if (rc == -EFBIG) { /* kept as a file that cannot be read; the rest goes on */
			struct ml_archive_file *f = &ar->files[ar->n - 1];
			free(f->data);
			f->data = NULL;
			f->len = 0;
			f->too_big = true;
			rc = ml_la.archive_read_data_skip(a) == ARCHIVE_OK ? 0 : -EINVAL;
		}
		if (rc < 0) {
			rc = fail(a, rc, err, errlen, "corrupt archive");
			goto done;
		}
	}
	if (r != ARCHIVE_EOF)
		rc = fail(a, -EINVAL, err, errlen, "truncated or corrupt archive");
	else
		sort_files(ar);
	if (rc == 0 && !ar->spill && in_place(a) && (ar->fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		rc = fail(NULL, -errno, err, errlen, strerror(errno));
done:
	if (a)
		ml_la.archive_read_free(a);
	if (fd >= 0)
		close(fd);
	if (rc < 0)
		ml_archive_free(ar);
	else
		*out = ar;
	return rc;
}

int ml_archive_fd(const struct ml_archive *ar)
{
	return ar->fd;
}

void ml_archive_free(struct ml_archive *ar)
{
	if (!ar)
		return;
	if (ar->fd >= 0)
		close(ar->fd);
	for (size_t i = 0; i < ar->n; i++) {
		free(ar->files[i].path);
		free(ar->files[i].data);
	}
	free(ar->files);
	free(ar);
}

/* The index of the first file whose path is not below key in byte order. */
static size_t lower_bound(const struct ml_archive *ar, const char *key)
{
	size_t lo = 0, hi = ar->n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (strcmp(ar->files[mid].path, key) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

const struct ml_archive_file *ml_archive_find(const struct ml_archive *ar, const char *path)
{
	size_t i = lower_bound(ar, path);

	return i < ar->n && strcmp(ar->files[i].path, path) == 0 ? &ar->files[i] : NULL;
}

int ml_archive_each_child(const struct ml_archive *ar, const char *dir,
                          int (*fn)(const char *name, size_t len, void *ctx), void *ctx)
{
	char prefix[4096];
	size_t plen, i, last_len = 0;
	const char *last = NULL;

	plen = (size_t)snprintf(prefix, sizeof(prefix), "%s%s", dir, *dir ? "/" : "");
	if (plen >= sizeof(prefix))
		return 0;
	for (i = lower_bound(ar, prefix); i < ar->n; i++) {
		const char *p = ar->files[i].path, *name;
		size_t len;
		int rc;
		if (strncmp(p, prefix, plen) != 0)
			break;
		name = p + plen;
		len = strcspn(name, "/");
		if (len == 0 || (last && len == last_len && memcmp(name, last, len) == 0))
			continue;
		last = name;
		last_len = len;
		rc = fn(name, len, ctx);
		if (rc)
			return rc;
	}
	return 0;
}

int ml_archive_first(const char *path, const char *name, char *buf, size_t size)
{
	struct archive *a;
	struct archive_entry *e;
	int rc = -ENOENT, fd;
	char err[256];
	la_ssize_t n;

	if (ml_libarchive_load(err, sizeof(err)) < 0)
		return -ELIBACC;
	if (!(a = ml_la.archive_read_new()))
		return -ENOMEM;
	ml_la.archive_read_support_filter_all(a);
	ml_la.archive_read_support_format_tar(a);
	ml_la.archive_read_support_format_gnutar(a);
	if ((fd = open_regular(path)) >= 0 && ml_la.archive_read_open_fd(a, fd, 65536) == ARCHIVE_OK &&
	    ml_la.archive_read_next_header(a, &e) == ARCHIVE_OK && ml_la.archive_entry_pathname(e)) {
		char *clean = clean_path(ml_la.archive_entry_pathname(e));
		if (clean && strcmp(clean, name) == 0 &&
		    (n = ml_la.archive_read_data(a, buf, size - 1)) >= 0) {
			buf[n] = '\0';
			rc = 0;
		}
		free(clean);
	}
	ml_la.archive_read_free(a);
	if (fd >= 0)
		close(fd);
	return rc;
}
