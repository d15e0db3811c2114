/*
 * libFuzzer target for the --source reader of a whole tree: the input is cut at each
 * "\0\1" into the files of a directory laid out like /proc (two processes, meminfo,
 * SysV segments, pressure), written to /dev/shm, then read as every view reads it
 * (read_all.h).
 */
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "read_all.h"

static const char *const files[] = {
    "1/status", "1/stat", "1/smaps_rollup", "1/smaps",         "1/cmdline",
    "2/status", "2/stat", "2/smaps_rollup", "2/smaps",         "2/cgroup",
    "meminfo",  "swaps",  "sysvipc/shm",    "pressure/memory", "sys/vm/max_map_count",
};
#define NFILES (sizeof(files) / sizeof(files[0]))

static char root[256];

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	static const char *const dirs[] = {"",          "/1",   "/2",     "/sysvipc",
	                                   "/pressure", "/sys", "/sys/vm"};
	char path[320];

	(void)argc;
	(void)argv;
	const char *dir = getenv("MEMLEDGER_FUZZ_DIR"); /* fuzz.sh's own: no other run's */

	snprintf(root, sizeof(root), "%s/memledger-fuzz-%d", dir ? dir : "/dev/shm", (int)getpid());
	for (size_t i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++) {
		snprintf(path, sizeof(path), "%s%s", root, dirs[i]);
		if (mkdir(path, 0700) < 0 && i == 0)
			abort();
	}
	return 0;
}

/* Writes chunk i of the input as files[i], or removes the file when there is none. */
static void lay_out(const uint8_t *data, size_t size)
{
	const uint8_t *p = data, *end = data + size;
	char path[320];

	for (size_t i = 0; i < NFILES; i++) {
		const uint8_t *cut = p;
		while (cut + 1 < end && !(cut[0] == 0 && cut[1] == 1))
			cut++;
		if (cut + 1 >= end)
			cut = end;
		snprintf(path, sizeof(path), "%s/%s", root, files[i]);
		if (p >= end) {
			unlink(path);
			continue;
		}
		int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
		if (fd < 0 || write(fd, p, (size_t)(cut - p)) != cut - p)
			abort();
		close(fd);
		p = cut + 2;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ml_source *src;

	lay_out(data, size);
	src = ml_source_new(root);
	if (!src)
		abort();
	read_all(src);
	ml_source_free(src);
	return 0;
}
