/* Files written whole or not at all, never over what is not ours (memledger/outfile.h). */
#ifndef MEMLEDGER_FILE_H
#define MEMLEDGER_FILE_H

#include <stddef.h>
#include <sys/types.h>

/*
 * Writes text[0..len) to path: a regular file (or a new one) through a temporary file
 * beside it, fsync'ed, given mode and renamed over it, so that a reader sees the old file
 * or the new one, never half of one; a character device or FIFO in place. Returns 0, or
 * -errno after one message naming path; nothing is left behind.
 */
int file_write_atomic(const char *path, const char *text, size_t len, mode_t mode);

/*
 * Checks, before any work, that option's value path is a name file_write_atomic may
 * write. Returns 0, or EXIT_USAGE after a message naming the option and what path is.
 */
int file_check_output(const char *option, const char *path);

/* Writes len bytes to fd, retrying short writes and EINTR. Returns 0 or -errno. */
int file_write_all(int fd, const char *text, size_t len);

#endif
