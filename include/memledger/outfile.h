/*
 * Output files that never replace what is not ours (libc alone: memledger-capture links
 * it too).
 *
 * A regular file, or a name that does not exist yet, is written through a temporary name
 * beside it and renamed over it once whole: a reader sees the old file or the new one.
 * A character device or a FIFO (/dev/null, a terminal, a named pipe) is written in place,
 * never renamed over. A symlink is followed to what it names, and that rule applied there;
 * a symlink to nothing is refused, and so are an empty name, a directory, a block device,
 * a socket and a name in a directory that does not exist.
 */
#ifndef MEMLEDGER_OUTFILE_H
#define MEMLEDGER_OUTFILE_H

#include <limits.h>
#include <stdbool.h>
#include <sys/types.h>

struct ml_outfile {
	int fd;              /* where to write; -1 when closed */
	bool in_place;       /* a device or FIFO: written as it is, nothing to rename */
	char path[PATH_MAX]; /* what is written: the name, or its symlink's target */
	char tmp[PATH_MAX];  /* the temporary name until renamed; "" when there is none */
};

/*
 * Opens path for writing a whole output (mode: the new file's permissions). Returns 0;
 * -EINVAL with *why set to a phrase saying why what path names is refused ("is a
 * directory", "is a symlink to nothing", ...): a usage error; or another -errno with *why
 * NULL when the system refused (strerror says it). Nothing is left behind on failure.
 */
int ml_outfile_open(struct ml_outfile *o, const char *path, mode_t mode, const char **why);

/*
 * Checks that path could be opened by ml_outfile_open without creating anything: for
 * options, before the work. Returns 0, or -errno with *why as ml_outfile_open's.
 */
int ml_outfile_check(const char *path, const char **why);

/* Finishes: fsync, close and rename a regular file into place; close a device. Returns
 * 0, or -errno with the temporary file removed. */
int ml_outfile_commit(struct ml_outfile *o);

/* Gives up: closes and removes the temporary file. Safe to call twice. */
void ml_outfile_abort(struct ml_outfile *o);

#endif
