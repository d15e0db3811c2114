/*
 * Captures a directory laid out like /proc (and its sys beside it) as memledger capture
 * captures /proc, for the test that reads such a snapshot back:
 *   capture_tree OUT PROCDIR SYSDIR [ROOTDIR]
 * ROOTDIR stands for / (its etc/passwd, system/build.prop, etc/lsb-release).
 */
#include <fcntl.h>
#include <stdio.h>
#include <unistd.h>

#include "memledger/capture.h"
#include "tar.h"

static int w_file(void *ctx, const char *path, const void *data, size_t len)
{
	return tar_file(ctx, path, data, len);
}

static int w_link(void *ctx, const char *path, const char *target)
{
	return tar_link(ctx, path, target);
}

int main(int argc, char **argv)
{
	struct ml_capture_opts opts = {.writer = "tests/snapshot/capture_tree"};
	struct ml_capture_stats stats;
	struct tar t;
	int fd, rc;

	if (argc != 4 && argc != 5)
		return 2;
	opts.root = argc == 5 ? argv[4] : NULL;
	opts.proc = argv[2];
	opts.sys = argv[3];
	fd = open(argv[1], O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		return 1;
	tar_init(&t, fd, 1700000000);
	rc = ml_capture(&opts, &(struct ml_capture_writer){w_file, w_link, &t}, &stats);
	if (rc == 0)
		rc = tar_finish(&t);
	close(fd);
	if (rc < 0)
		fprintf(stderr, "capture_tree: %d\n", rc);
	return rc < 0;
}
