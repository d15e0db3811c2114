/*
 * libFuzzer target for the snapshot reader: the input is a snapshot archive (a tar,
 * compressed or not), written to a file and read with --source as every view reads it
 * (read_all.h). Seeds: archives of the fixture trees and a real capture, whole, truncated
 * and corrupted (fuzz.sh).
 */
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "read_all.h"

static char path[256];

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	const char *dir = getenv("MEMLEDGER_FUZZ_DIR"); /* fuzz.sh's own: no other run's */

	(void)argc;
	(void)argv;
	snprintf(path, sizeof(path), "%s/memledger-fuzz-%d.tar", dir ? dir : "/dev/shm",
	         (int)getpid());
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	struct ml_source *src;

	if (fd < 0 || write(fd, data, size) != (ssize_t)size)
		abort();
	close(fd);
	src = ml_source_new(path);
	if (src) /* else a clear error: what the CLI says */
		read_all(src);
	ml_source_free(src);
	return 0;
}
