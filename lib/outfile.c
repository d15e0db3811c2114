/* Output files that never replace what is not ours: see outfile.h. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "memledger/outfile.h"

enum target { T_NEW, T_REPLACE, T_IN_PLACE };

/* Refuses with a reason: what the name is, not what the system said. */
static int refuse(const char **why, const char *reason)
{
	*why = reason;
	return -EINVAL;
}

/* The kind of target st describes, or a refusal. */
static int classify(const struct stat *st, const char **why)
{
	if (S_ISREG(st->st_mode))
		return T_REPLACE;
	if (S_ISCHR(st->st_mode) || S_ISFIFO(st->st_mode))
		return T_IN_PLACE;
	if (S_ISDIR(st->st_mode))
		return refuse(why, "is a directory");
	if (S_ISBLK(st->st_mode))
		return refuse(why, "is a block device (memledger writes no disk)");
	if (S_ISSOCK(st->st_mode))
		return refuse(why, "is a socket");
	return refuse(why, "is not a file memledger can write");
}

/* Sets target to what path names (a symlink followed) and says what to do with it. Returns
 * a target kind, or -errno with *why as ml_outfile_open's. */
static int resolve(const char *path, char target[PATH_MAX], const char **why)
{
	const char *slash;
	char dir[PATH_MAX];
	struct stat st;

	*why = NULL;
	if (!path[0])
		return refuse(why, "is an empty name");
	if (strlen(path) >= PATH_MAX)
		return -ENAMETOOLONG;
	if (lstat(path, &st) == 0) {
		if (!S_ISLNK(st.st_mode)) {
			strcpy(target, path);
			return classify(&st, why);
		}
		if (!realpath(path, target)) /* a symlink: what it names, wherever that is */
			return errno == ENOENT ? refuse(why, "is a symlink to nothing") : -errno;
		if (stat(target, &st) < 0)
			return -errno;
		return classify(&st, why);
	}
	if (errno == ENOTDIR)
		return refuse(why, "is below something that is not a directory");
	if (errno != ENOENT)
		return -errno;
	slash = strrchr(path, '/');
	if (slash) { /* a new name: its directory must be there */
		snprintf(dir, sizeof(dir), "%.*s", slash == path ? 1 : (int)(slash - path), path);
		if (stat(dir, &st) < 0)
			return errno == ENOENT
			           ? refuse(why, "is in a directory that does not exist")
			           : -errno;
		if (!S_ISDIR(st.st_mode))
			return refuse(why, "is below something that is not a directory");
	}
	strcpy(target, path);
	return T_NEW;
}

int ml_outfile_check(const char *path, const char **why)
{
	char target[PATH_MAX];
	int kind = resolve(path, target, why);

	return kind < 0 ? kind : 0;
}

/* Opens a device or FIFO where it is: a FIFO no one reads is refused, not waited for, and
 * what was opened must still be what was looked at. */
static int open_in_place(struct ml_outfile *o, const char **why)
{
	struct stat st;

	o->fd = open(o->path, O_WRONLY | O_NOCTTY | O_CLOEXEC | O_NONBLOCK);
	if (o->fd < 0)
		return errno == ENXIO ? refuse(why, "is a FIFO that nothing reads") : -errno;
	if (fstat(o->fd, &st) < 0 || !(S_ISCHR(st.st_mode) || S_ISFIFO(st.st_mode))) {
		close(o->fd);
		o->fd = -1;
		return refuse(why, "changed while it was opened");
	}
	fcntl(o->fd, F_SETFL, fcntl(o->fd, F_GETFL) & ~O_NONBLOCK);
	o->in_place = true;
	return 0;
}

int ml_outfile_open(struct ml_outfile *o, const char *path, mode_t mode, const char **why)
{
	const char *slash, *base;
	int kind, rc;

	o->fd = -1;
	o->in_place = false;
	o->tmp[0] = '\0';
	kind = resolve(path, o->path, why);
	if (kind < 0)
		return kind;
	if (kind == T_IN_PLACE)
		return open_in_place(o, why);
	slash = strrchr(o->path, '/');
	base = slash ? slash + 1 : o->path;
	if ((size_t)snprintf(o->tmp, sizeof(o->tmp), "%.*s.%s.XXXXXX", (int)(base - o->path),
	                     o->path, base) >= sizeof(o->tmp)) {
		o->tmp[0] = '\0';
		return -ENAMETOOLONG;
	}
	o->fd = mkostemp(o->tmp, O_CLOEXEC);
	if (o->fd < 0) {
		rc = -errno;
		o->tmp[0] = '\0';
		return rc;
	}
	if (fchmod(o->fd, mode) < 0) {
		rc = -errno;
		ml_outfile_abort(o);
		return rc;
	}
	return 0;
}

int ml_outfile_commit(struct ml_outfile *o)
{
	int rc = 0;

	if (!o->in_place && fsync(o->fd) < 0)
		rc = -errno;
	if (close(o->fd) < 0 && rc == 0)
		rc = -errno;
	o->fd = -1;
	if (rc == 0 && o->tmp[0] && rename(o->tmp, o->path) < 0)
		rc = -errno;
	if (rc < 0)
		ml_outfile_abort(o);
	o->tmp[0] = '\0';
	return rc;
}

void ml_outfile_abort(struct ml_outfile *o)
{
	if (o->fd >= 0)
		close(o->fd);
	o->fd = -1;
	if (o->tmp[0])
		unlink(o->tmp);
	o->tmp[0] = '\0';
}
