/* A snapshot archive read into memory: the files of a tar, found by their path. */
#ifndef MEMLEDGER_ARCHIVE_H
#define MEMLEDGER_ARCHIVE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* One file (or symbolic link) of an archive. */
struct ml_archive_file {
	char *path; /* as in the archive, without a leading "./" or "/" */
	char *data; /* the contents, NUL-terminated; a link's target; NULL: in place */
	size_t len;
	uint64_t offset; /* in place: where the contents start in the archive's file */
	bool link;
	bool too_big; /* larger than ml_source_max_size allows: not read, an error to open */
	size_t seq;   /* its place in the archive */
};

struct ml_archive;

/* What to do with a file of the archive. */
enum ml_archive_keep {
	ML_ARCHIVE_SKIP,
	ML_ARCHIVE_KEEP,      /* in memory, or in place (data NULL) in an uncompressed tar */
	ML_ARCHIVE_IN_MEMORY, /* in memory whatever the archive */
};

/*
 * Reads the tar archive at path (compressed or not, as libarchive recognises it) in one
 * pass, keeping the files as keep(path, ctx) says (all in memory when keep is NULL); keep
 * sees the paths in archive order. An uncompressed tar stays open: of the files kept in
 * place only where they start is noted, and ml_archive_fd reads them. Returns 0 and
 * *out, or -errno with a message in err: -EINVAL for what is no tar archive, a truncated
 * or corrupt one.
 */
typedef enum ml_archive_keep (*ml_archive_keep_fn)(const char *path, void *ctx);
int ml_archive_read(const char *path, ml_archive_keep_fn keep, void *ctx, struct ml_archive **out,
                    char *err, size_t errlen);

/* The archive's file, for the files kept in place (pread at their offset); -1 when none is. */
int ml_archive_fd(const struct ml_archive *ar);

/* The first file of the archive at path, when it is called name, into buf (at most size -
 * 1 bytes, NUL-terminated), without reading the rest. Returns 0 or -errno (-ENOENT). */
int ml_archive_first(const char *path, const char *name, char *buf, size_t size);

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
