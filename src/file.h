/* Files written whole or not at all. */
#ifndef MEMLEDGER_FILE_H
#define MEMLEDGER_FILE_H

#include <stddef.h>
#include <sys/types.h>

/* Writes text[0..len) to path through a temporary file beside it (".NAME.XXXXXX"),
 * fsync'ed, given mode and renamed over path: a reader sees the old file or the new one,
 * never half of one. Returns 0, or -errno after a message; nothing is left behind. */
int file_write_atomic(const char *path, const char *text, size_t len, mode_t mode);

#endif
