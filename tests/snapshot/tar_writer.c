/*
 * Drives memledger-capture's tar writer from the command line, for the test that reads
 * its archives with GNU tar and libarchive:
 *   tar_writer OUT PATH=CONTENT... LINK->TARGET...
 */
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "tar.h"

int main(int argc, char **argv)
{
	struct tar t;
	int fd, rc = 0;

	if (argc < 2)
		return 2;
	fd = open(argv[1], O_WRONLY | O_CREAT | O_TRUNC, 0644);
	if (fd < 0)
		return 1;
	tar_init(&t, fd, 1700000000);
	for (int i = 2; i < argc && rc == 0; i++) {
		char *arrow = strstr(argv[i], "->"), *eq = strchr(argv[i], '=');
		if (arrow) {
			*arrow = '\0';
			rc = tar_link(&t, argv[i], arrow + 2);
		} else if (eq) {
			*eq = '\0';
			rc = tar_file(&t, argv[i], eq + 1, strlen(eq + 1));
		}
	}
	if (rc == 0)
		rc = tar_finish(&t);
	close(fd);
	return rc == 0 ? 0 : 1;
}
