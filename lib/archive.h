/* A snapshot archive read into memory: the files of a tar, found by their path. */
#ifndef MEMLEDGER_ARCHIVE_H
#define MEMLEDGER_ARCHIVE_H

#include <stdbool.h>
#include <stddef.h>

/* One file (or symbolic link) of an archive. */
struct ml_archive_file {
	char *path; /* as in the archive, without a leading "./" or "/" */
	char *data; /* the contents, NUL-terminated; a link's target */
	size_t len;
	bool link;
	size_t seq; /* its place in the archive */
};

struct ml_archive;

/*
 * Reads the tar archive at path (compressed or not, as libarchive recognises it) in one
 * pass, keeping the files that keep(path, ctx) accepts (all when keep is NULL); keep sees
 * the paths in archive order. Returns 0 and *out, or -errno with a message in err:
 * -EINVAL for what is no tar archive, a truncated or corrupt one.
 */
typedef bool (*ml_archive_keep_fn)(const char *path, void *ctx);
int ml_archive_read(const char *path, ml_archive_keep_fn keep, void *ctx, struct ml_archive **out,
                    char *err, size_t errlen);

/* Frees what ml_archive_read kept; NULL is allowed. */
void ml_archive_free(struct ml_archive *ar);

/* The file at path, or NULL. */
const struct ml_archive_file *ml_archive_find(const struct ml_archive *ar, const char *path);

/*
 * Calls fn once for each name directly below directory dir ("" for the top), in byte
 * order. Returns 0, or what fn returned when it was not 0.
 */
int ml_archive_each_child(const struct ml_archive *ar, const char *dir,
                          int (*fn)(const char *name, size_t len, void *ctx), void *ctx);

#endif
