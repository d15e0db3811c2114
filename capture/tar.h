/* A tar writer on a file descriptor: POSIX ustar, with pax headers for long names. libc
 * alone, for memledger-capture. */
#ifndef MEMLEDGER_TAR_H
#define MEMLEDGER_TAR_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

struct tar {
	int fd;
	time_t mtime;   /* of every entry */
	uint64_t bytes; /* written so far */
};

/* Starts an archive on fd. */
void tar_init(struct tar *t, int fd, time_t mtime);

/* Adds a regular file (mode 0444) of len bytes. Returns 0 or -errno. */
int tar_file(struct tar *t, const char *path, const void *data, size_t len);

/* Adds a symbolic link. Returns 0 or -errno. */
int tar_link(struct tar *t, const char *path, const char *target);

/* Ends the archive: two zero blocks. Returns 0 or -errno. */
int tar_finish(struct tar *t);

#endif
