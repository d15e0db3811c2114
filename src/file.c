/* Files written whole or not at all, never over what is not ours. */
#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "file.h"
#include "memledger/outfile.h"
#include "msg.h"

int file_write_all(int fd, const char *text, size_t len)
{
	size_t done = 0;

	while (done < len) {
		ssize_t w = write(fd, text + done, len - done);
		if (w < 0 && errno != EINTR)
			return -errno;
		if (w > 0)
			done += (size_t)w;
	}
	return 0;
}

int file_write_atomic(const char *path, const char *text, size_t len, mode_t mode)
{
	struct ml_outfile o;
	const char *why;
	int rc = ml_outfile_open(&o, path, mode, &why);

	if (rc < 0) {
		if (why)
			cli_warn("refusing to write '%s': it %s", path, why);
		else
			cli_warn("cannot write %s: %s", path, strerror(-rc));
		return rc;
	}
	rc = file_write_all(o.fd, text, len);
	if (rc < 0)
		ml_outfile_abort(&o);
	else
		rc = ml_outfile_commit(&o);
	if (rc < 0)
		cli_warn("cannot write %s: %s", path, strerror(-rc));
	return rc;
}

int file_check_output(const char *option, const char *path)
{
	const char *why;
	int rc = ml_outfile_check(path, &why);

	if (rc == 0)
		return 0;
	if (why)
		cli_warn("%s '%s': it %s", option, path, why);
	else
		cli_warn("%s '%s': %s", option, path, strerror(-rc));
	return EXIT_USAGE;
}
