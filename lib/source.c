/* The one place that opens and reads /proc paths. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/openat2.h>
#include <sys/mman.h>
#include <sys/sendfile.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/vfs.h>
#include <unistd.h>

#include "archive.h"
#include "memledger/scan.h"
#include "memledger/source.h"
#include "util.h"

#define PROC_SUPER_MAGIC 0x9fa0

/*
 * A snapshot archive is held in memory. Its directories are handed out as fds like a
 * directory's (O_PATH fds of "/", never read), each noted in handles with the archive
 * directory it stands for; its files are handed out as memfds holding their contents.
 */
struct handle {
	char dir[24];                        /* "proc/PID", "proc", "" */
	const struct ml_archive_file *pages; /* a pagemap memfd: the captured ranges */
	size_t resume;       /* pages: the record where the last look began (0: the first) */
	uint64_t resume_end; /* ... and the address the look before that began at */
};

struct ml_source {
	int dirfd;
	char *path;
	bool procfs;
	struct ml_archive *ar;  /* a snapshot archive, else NULL */
	const char *root;       /* its /proc: "proc" (memledger's layout) or "" (smemcap's) */
	pthread_mutex_t lock;   /* handles: reader threads open files */
	struct handle *handles; /* indexed by fd */
	size_t nhandles;
	/* An extracted snapshot (a directory X/proc beside X/memledger-unreadable): */
	char *real;             /* the directory's real path */
	struct ml_buf recorded; /* memledger-unreadable: "proc/PID/FILE ENAME" lines */
	struct ml_buf manifest; /* X/memledger-manifest */
};

/* Notes that fd stands for dir of the archive (and, for a pagemap, its ranges). Returns
 * fd, or -ENOMEM (fd closed). */
static int note_handle(struct ml_source *src, int fd, const char *dir,
                       const struct ml_archive_file *pages)
{
	int rc = fd;

	pthread_mutex_lock(&src->lock);
	if ((size_t)fd >= src->nhandles) {
		size_t n = (size_t)fd * 2 + 16;
		struct handle *h = realloc(src->handles, n * sizeof(*h));
		if (!h) {
			rc = -ENOMEM;
		} else {
			memset(h + src->nhandles, 0, (n - src->nhandles) * sizeof(*h));
			src->handles = h;
			src->nhandles = n;
		}
	}
	if (rc >= 0) {
		snprintf(src->handles[fd].dir, sizeof(src->handles[fd].dir), "%s", dir);
		src->handles[fd].pages = pages;
		src->handles[fd].resume = 0;
		src->handles[fd].resume_end = 0;
	}
	pthread_mutex_unlock(&src->lock);
	if (rc < 0)
		close(fd);
	return rc;
}

/* What fd stands for in the archive (a copy: the table may move). */
static struct handle handle_of(struct ml_source *src, int fd)
{
	struct handle h = {.dir = "", .pages = NULL};

	pthread_mutex_lock(&src->lock);
	if (fd >= 0 && (size_t)fd < src->nhandles)
		h = src->handles[fd];
	pthread_mutex_unlock(&src->lock);
	return h;
}

static pid_t pid_of_name(const char *name);
static int any_child(const char *name, size_t len, void *ctx);

/* Which captured files a scan with these needs (ML_NEED_*) reads: the small ones always;
 * smaps, pagemap and the page frames only when asked for; with pids, of those processes
 * alone. What the source parses itself stays in memory; the rest may stay in place. */
struct keep_ctx {
	unsigned needs;
	const pid_t *pids;
	size_t npids;
	char rollup_of[24]; /* the process directory whose smaps_rollup came last */
};

static bool listed(const struct keep_ctx *k, const char *pid, size_t len)
{
	char buf[16];

	if (k->npids == 0)
		return true;
	if (len >= sizeof(buf))
		return false;
	memcpy(buf, pid, len);
	buf[len] = '\0';
	for (size_t i = 0; i < k->npids; i++)
		if (k->pids[i] == pid_of_name(buf))
			return true;
	return false;
}

/* True for a system file that a snapshot holds and a view reads (p: path without its
 * "proc/"): what lib/capture.c writes, and smemcap's files at the top. Anything else, as
 * a hostile archive's gigabytes of junk, is skipped unread. */
static bool system_file(const char *path, const char *p)
{
	static const char *const proc[] = {
	    "meminfo",         "vmstat",  "swaps",      "sysvipc/shm", "uptime",        "version",
	    "pressure/memory", "loadavg", "kpagecount", "kpageflags",  "self/mountinfo"};
	static const char *const sys[] = {
	    "sys/fs/cgroup/", "sys/vm/",        "sys/kernel/",        "sys/devices/system/memory/",
	    "sys/block/",     "sys/class/drm/", "sys/class/dma_heap/"};

	for (size_t i = 0; i < ML_ARRAY_SIZE(proc); i++)
		if (strcmp(p, proc[i]) == 0)
			return true;
	for (size_t i = 0; i < ML_ARRAY_SIZE(sys); i++)
		if (strncmp(path, sys[i], strlen(sys[i])) == 0 ||
		    (p != path && strncmp(p, sys[i], strlen(sys[i])) == 0)) /* proc/sys/vm/... */
			return true;
	return false;
}

static enum ml_archive_keep keep_path(const char *path, void *ctx)
{
	static const char *const small[] = {"stat",          "status",    "cmdline",
	                                    "comm",          "exe",       "smaps_rollup",
	                                    "oom_score_adj", "oom_score", "attr/current"};
	static const char *const parsed[] = {"memledger.fds", "memledger.map_files"};
	struct keep_ctx *k = ctx;
	const char *p = strncmp(path, "proc/", 5) == 0 ? path + 5 : path, *file;
	size_t dirlen = strspn(p, "0123456789");
	bool all = k->needs == ML_SOURCE_KEEP_ALL;

	if (dirlen == 0 || p[dirlen] != '/') {
		if (strcmp(p, "kpages") == 0)
			return all || (k->needs & ML_NEED_PAGEMAP) ? ML_ARCHIVE_IN_MEMORY
			                                           : ML_ARCHIVE_SKIP;
		if (strncmp(path, "memledger-", 10) == 0)
			return ML_ARCHIVE_IN_MEMORY;
		return system_file(path, p) ? ML_ARCHIVE_KEEP : ML_ARCHIVE_SKIP;
	}
	if (!listed(k, p, dirlen))
		return ML_ARCHIVE_SKIP;
	file = p + dirlen + 1;
	for (size_t i = 0; i < ML_ARRAY_SIZE(parsed); i++)
		if (strcmp(file, parsed[i]) == 0)
			return ML_ARCHIVE_IN_MEMORY;
	if (strcmp(file, "pagemap") == 0)
		return all || (k->needs & ML_NEED_PAGEMAP) ? ML_ARCHIVE_IN_MEMORY : ML_ARCHIVE_SKIP;
	if (all)
		return ML_ARCHIVE_KEEP;
	for (size_t i = 0; i < ML_ARRAY_SIZE(small); i++)
		if (strcmp(file, small[i]) == 0) {
			if (strcmp(file, "smaps_rollup") == 0 &&
			    (size_t)(file - path) < sizeof(k->rollup_of))
				snprintf(k->rollup_of, (size_t)(file - path) + 1, "%s", path);
			return ML_ARCHIVE_KEEP;
		}
	if (strcmp(file, "smaps") == 0) /* also for totals, where smaps_rollup was not captured */
		return (k->needs & (ML_NEED_SMAPS | ML_NEED_PAGEMAP | ML_NEED_CLASSES)) ||
		               ((k->needs & ML_NEED_ROLLUP) &&
		                strncmp(k->rollup_of, path, (size_t)(file - path)) != 0)
		           ? ML_ARCHIVE_KEEP
		           : ML_ARCHIVE_SKIP;
	if (strcmp(file, "cgroup") == 0)
		return k->needs & ML_NEED_CGROUP ? ML_ARCHIVE_KEEP : ML_ARCHIVE_SKIP;
	if (strncmp(file, "fd/", 3) == 0 || strncmp(file, "fdinfo/", 7) == 0 ||
	    strcmp(file, "maps") == 0 || strcmp(file, "memledger.dmabuf-maps") == 0)
		return k->needs & ML_NEED_GPU ? ML_ARCHIVE_IN_MEMORY : ML_ARCHIVE_SKIP;
	return ML_ARCHIVE_SKIP;
}

/* Reads the snapshot archive at src->path. Returns 0 or -errno with a message in err. */
static int open_archive(struct ml_source *src, const struct ml_source_want *want, char *err,
                        size_t errlen)
{
	struct keep_ctx keep = {.needs = want->needs, .pids = want->pids, .npids = want->npids};
	int rc = ml_archive_read(src->path, keep_path, &keep, &src->ar, err, errlen);

	if (rc < 0)
		return rc;
	src->root = ml_archive_find(src->ar, ML_SNAPSHOT_MANIFEST) ? "proc" : "";
	if (*src->root && !ml_archive_find(src->ar, ML_SNAPSHOT_UNREADABLE)) {
		snprintf(err, errlen, "truncated snapshot: it lacks its last file, %s",
		         ML_SNAPSHOT_UNREADABLE);
		return -EINVAL;
	}
	if (!*src->root && ml_archive_each_child(src->ar, "", any_child, NULL) != 1) {
		snprintf(err, errlen, "an empty archive: no snapshot in it");
		return -EINVAL;
	}
	src->dirfd = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (src->dirfd < 0)
		return -errno;
	return note_handle(src, src->dirfd, src->root, NULL) < 0 ? -ENOMEM : 0;
}

/* True when directory fd holds a process directory (a name of digits alone). */
static bool holds_processes(int fd)
{
	int dup_fd = fcntl(fd, F_DUPFD_CLOEXEC, 0);
	DIR *d = dup_fd >= 0 ? fdopendir(dup_fd) : NULL;
	struct dirent *de;
	bool found = false;

	if (!d) {
		if (dup_fd >= 0)
			close(dup_fd);
		return true; /* cannot tell: as it is */
	}
	while (!found && (de = readdir(d)))
		found = de->d_name[0] && strspn(de->d_name, "0123456789") == strlen(de->d_name);
	closedir(d);
	return found;
}

static void load_recorded(struct ml_source *src);

/* Opens src->path as a directory laid out like /proc; an extracted snapshot's root (a
 * directory that holds proc/ and no process) is read from its proc/. Returns 0 or
 * -errno. */
static int open_tree(struct ml_source *src)
{
	struct statfs fs;
	char *inner;
	int fd;

	src->dirfd = open(src->path, O_RDONLY | O_DIRECTORY | O_NONBLOCK | O_CLOEXEC);
	if (src->dirfd < 0)
		return -errno;
	src->procfs = fstatfs(src->dirfd, &fs) == 0 && fs.f_type == PROC_SUPER_MAGIC;
	if (src->procfs)
		return 0;
	if (!holds_processes(src->dirfd) &&
	    (fd = openat(src->dirfd, "proc", O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)) >=
	        0) {
		if (asprintf(&inner, "%s/proc", src->path) < 0) {
			close(fd);
			return -ENOMEM;
		}
		close(src->dirfd);
		src->dirfd = fd;
		free(src->path);
		src->path = inner;
	}
	load_recorded(src);
	return 0;
}

/* Reads X/name beside an extracted snapshot's X/proc into b, when there is one. */
static void load_beside(const struct ml_source *src, const char *name, struct ml_buf *b)
{
	char list[4096];
	int fd;

	if ((size_t)snprintf(list, sizeof(list), "%s/../%s", src->real, name) >= sizeof(list))
		return;
	fd = open(list, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0)
		return;
	if (ml_read_whole(fd, b) < 0)
		ml_buf_free(b);
	close(fd);
}

/* An extracted snapshot's X/proc: keeps X/memledger-unreadable, if there is one, so that a
 * file the capture could not read reads as the error it met, as in the archive, and
 * X/memledger-manifest (who captured it, and where). */
static void load_recorded(struct ml_source *src)
{
	src->real = realpath(src->path, NULL);
	if (!src->real)
		return;
	load_beside(src, ML_SNAPSHOT_UNREADABLE, &src->recorded);
	load_beside(src, ML_SNAPSHOT_MANIFEST, &src->manifest);
}

struct ml_source *ml_source_open_for(const char *path, const struct ml_source_want *want, char *err,
                                     size_t errlen)
{
	struct ml_source *src = calloc(1, sizeof(*src));
	struct stat st;
	int rc;

	if (!src || !(src->path = strdup(path ? path : "/proc"))) {
		free(src);
		snprintf(err, errlen, "%s", strerror(ENOMEM));
		errno = ENOMEM;
		return NULL;
	}
	pthread_mutex_init(&src->lock, NULL);
	src->dirfd = -1;
	if (stat(src->path, &st) == 0 && S_ISREG(st.st_mode)) {
		rc = open_archive(src, want, err, errlen);
	} else if (stat(src->path, &st) == 0 && !S_ISDIR(st.st_mode)) {
		/* a FIFO, device or socket: open() of a FIFO would wait for a writer */
		snprintf(err, errlen, "%s",
		         "neither a snapshot archive nor a directory laid out like /proc");
		rc = -ML_ENOTREG;
	} else {
		rc = open_tree(src);
		if (rc < 0)
			snprintf(err, errlen, "%s", strerror(-rc));
	}
	if (rc < 0) {
		ml_source_free(src);
		errno = -rc;
		return NULL;
	}
	return src;
}

struct ml_source *ml_source_new(const char *path)
{
	struct ml_source_want all = {.needs = ML_SOURCE_KEEP_ALL};
	char err[256];

	return ml_source_open_for(path, &all, err, sizeof(err));
}

void ml_source_free(struct ml_source *src)
{
	if (!src)
		return;
	if (src->dirfd >= 0)
		close(src->dirfd);
	ml_archive_free(src->ar);
	pthread_mutex_destroy(&src->lock);
	free(src->handles);
	free(src->path);
	free(src->real);
	ml_buf_free(&src->recorded);
	ml_buf_free(&src->manifest);
	free(src);
}

bool ml_source_is_archive(const struct ml_source *src)
{
	return src->ar != NULL;
}

const char *ml_source_archive_file(const struct ml_source *src, const char *path, size_t *len)
{
	const struct ml_archive_file *f = src->ar ? ml_archive_find(src->ar, path) : NULL;

	if (!f || f->link)
		return NULL;
	*len = f->len;
	return f->data;
}

bool ml_source_is_procfs(const struct ml_source *src)
{
	return src->procfs;
}

const char *ml_source_path(const struct ml_source *src)
{
	return src->path;
}

/* The PID an all-digits name stands for, or 0. */
static pid_t pid_of_name(const char *name)
{
	long v = 0;

	if (!*name)
		return 0;
	for (const char *p = name; *p; p++) {
		if (*p < '0' || *p > '9' || v > 0x3fffffff)
			return 0;
		v = v * 10 + (*p - '0');
	}
	return (pid_t)v;
}

static int cmp_pid(const void *a, const void *b)
{
	pid_t x = *(const pid_t *)a, y = *(const pid_t *)b;

	return (x > y) - (x < y);
}

struct pid_list {
	pid_t *v;
	size_t n, cap;
};

static int add_pid_name(const char *name, size_t len, void *ctx)
{
	struct pid_list *l = ctx;
	char buf[16];
	pid_t pid;

	if (len >= sizeof(buf))
		return 0;
	memcpy(buf, name, len);
	buf[len] = '\0';
	pid = pid_of_name(buf);
	if (!pid)
		return 0;
	if (ml_grow((void **)&l->v, &l->cap, l->n, 1, sizeof(*l->v)) < 0)
		return -ENOMEM;
	l->v[l->n++] = pid;
	return 0;
}

/* The processes of an archive: its numeric directories, ascending, each once. */
static int archive_pids(struct ml_source *src, pid_t **pids, size_t *npids)
{
	struct pid_list l = {NULL, 0, 0};
	size_t out = 0;
	int rc = ml_archive_each_child(src->ar, src->root, add_pid_name, &l);

	if (rc < 0) {
		free(l.v);
		return rc;
	}
	if (l.n)
		qsort(l.v, l.n, sizeof(*l.v), cmp_pid);
	for (size_t i = 0; i < l.n; i++)
		if (out == 0 || l.v[out - 1] != l.v[i])
			l.v[out++] = l.v[i];
	*pids = l.v ? l.v : malloc(sizeof(pid_t));
	*npids = out;
	return *pids ? 0 : -ENOMEM;
}

int ml_source_list_pids(struct ml_source *src, pid_t **pids, size_t *npids)
{
	size_t n = 0, cap = 256;
	pid_t *v = malloc(cap * sizeof(*v)), pid;
	struct dirent *de;
	DIR *dir;
	int fd;

	if (src->ar) {
		free(v);
		return archive_pids(src, pids, npids);
	}
	if (!v)
		return -ENOMEM;
	fd = openat(src->dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	dir = fd < 0 ? NULL : fdopendir(fd);
	if (!dir) {
		int rc = -errno;
		if (fd >= 0)
			close(fd);
		free(v);
		return rc;
	}
	while ((de = readdir(dir))) {
		pid = pid_of_name(de->d_name);
		if (!pid)
			continue;
		if (n == cap) {
			pid_t *grown = realloc(v, 2 * cap * sizeof(*v));
			if (!grown) {
				closedir(dir);
				free(v);
				return -ENOMEM;
			}
			v = grown;
			cap *= 2;
		}
		v[n++] = pid;
	}
	closedir(dir);
	qsort(v, n, sizeof(*v), cmp_pid);
	*pids = v;
	*npids = n;
	return 0;
}

static int any_child(const char *name, size_t len, void *ctx)
{
	(void)name, (void)len, (void)ctx;
	return 1;
}

/* An fd that stands for directory dir of the archive, or -ENOENT when it holds nothing. */
static int archive_dir(struct ml_source *src, const char *dir)
{
	int fd;

	if (ml_archive_each_child(src->ar, dir, any_child, NULL) != 1)
		return -ENOENT;
	fd = fcntl(src->dirfd, F_DUPFD_CLOEXEC, 0);
	return fd < 0 ? -errno : note_handle(src, fd, dir, NULL);
}

int ml_source_clear_refs(struct ml_source *src, pid_t pid)
{
	char name[48];
	int fd, rc = 0;

	if (!src->procfs)
		return -EROFS;
	snprintf(name, sizeof(name), "%d/clear_refs", (int)pid);
	fd = openat(src->dirfd, name, O_WRONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return errno == ENOENT ? -ESRCH : -errno;
	if (write(fd, "1", 1) != 1)
		rc = errno == ENOENT ? -ESRCH : -errno;
	close(fd);
	return rc;
}

int ml_source_open_pid(struct ml_source *src, pid_t pid)
{
	char name[24];
	int fd;

	if (src->ar) {
		snprintf(name, sizeof(name), "%s%s%d", src->root, *src->root ? "/" : "", (int)pid);
		return archive_dir(src, name);
	}
	snprintf(name, sizeof(name), "%d", (int)pid);
	fd = openat(src->dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0 && errno == ENOTDIR) { /* a symbolic link, not followed, or a file */
		struct stat st;
		bool link =
		    fstatat(src->dirfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISLNK(st.st_mode);
		return link ? -ELOOP : -ENOTDIR;
	}
	return fd < 0 ? -errno : fd;
}

int ml_source_open(struct ml_source *src, const char *path)
{
	return ml_source_open_at(src, src->dirfd, path);
}

/* openat(dirfd, path) walked a component at a time, none followed if it is a symbolic
 * link: the jail where the kernel has no openat2. Returns an fd or -errno. */
static int open_by_components(int dirfd, const char *path, int flags)
{
	char part[256];
	int fd = dirfd;

	for (const char *p = path;;) {
		size_t len = strcspn(p, "/");
		bool last = p[len] == '\0';
		int next;
		if (len == 0 || len >= sizeof(part) || (len == 2 && p[0] == '.' && p[1] == '.')) {
			next = -1;
			errno = len ? EXDEV : ENOENT;
		} else {
			memcpy(part, p, len);
			part[len] = '\0';
			next =
			    openat(fd, part,
			           last ? flags : O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		}
		if (fd != dirfd) {
			int saved = errno;
			close(fd);
			errno = saved;
		}
		if (next < 0 || last)
			return next < 0 ? -errno : next;
		fd = next;
		p += len + 1;
	}
}

/* Opens path below dirfd, resolved beneath it: neither "..", nor an absolute symbolic
 * link, nor one that leads out is followed. Returns an fd or -errno. */
static int open_beneath(int dirfd, const char *path, int flags)
{
	struct open_how how = {.flags = (uint64_t)flags,
	                       .resolve = RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS};
	long fd = syscall(SYS_openat2, dirfd, path, &how, sizeof(how));

	if (fd >= 0)
		return (int)fd;
	if (errno != ENOSYS && errno != EPERM) /* EPERM: a seccomp filter that does not know it */
		return -errno;
	return open_by_components(dirfd, path, flags);
}

/* A memfd holding len bytes of data, at offset 0. Returns it or -errno. */
static int memfd_of(const char *data, size_t len)
{
	int fd = memfd_create("memledger-snapshot", MFD_CLOEXEC);

	if (fd < 0)
		return -errno;
	for (size_t off = 0; off < len;) {
		ssize_t w = write(fd, data + off, len - off);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0) {
			int rc = w < 0 ? -errno : -EIO;
			close(fd);
			return rc;
		}
		off += (size_t)w;
	}
	lseek(fd, 0, SEEK_SET);
	return fd;
}

/* A memfd holding len bytes of fd from offset on (a file of an uncompressed snapshot, read
 * in place): the kernel copies, sendfile(). Returns it or -errno. */
static int memfd_in_place(int fd, uint64_t offset, size_t len)
{
	int out = memfd_create("memledger-snapshot", MFD_CLOEXEC);
	off_t off = (off_t)offset;

	if (out < 0)
		return -errno;
	while (len) {
		ssize_t n = sendfile(out, fd, &off, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) { /* the archive changed under us: it ends early */
			int rc = n < 0 ? -errno : -EINVAL;
			close(out);
			return rc;
		}
		len -= (size_t)n;
	}
	lseek(out, 0, SEEK_SET);
	return out;
}

/* pwrite()s all of buf at off. Returns 0 or -errno. */
static int pwrite_all(int fd, const void *buf, size_t len, off_t off)
{
	while (len) {
		ssize_t w = pwrite(fd, buf, len, off);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return w < 0 ? -errno : -EIO;
		buf = (const char *)buf + w;
		len -= (size_t)w;
		off += w;
	}
	return 0;
}

static uint64_t get_u64(const char *p)
{
	uint64_t v;

	memcpy(&v, p, 8);
	return v;
}

/* A captured pagemap (ML_SNAPSHOT_PAGEMAP_MAGIC, then records of first page, count and
 * count entries), checked whole, as an fd that stands for it: an empty memfd, read
 * through ml_source_pagemap_read and ml_source_pagemap_ranges from the records (a sparse
 * file of the entries cost a write and a read of each). */
static int pagemap_memfd(const struct ml_archive_file *f)
{
	size_t at = 8;
	int fd;

	if (f->len < 8 || memcmp(f->data, ML_SNAPSHOT_PAGEMAP_MAGIC, 8) != 0)
		return -EINVAL;
	while (at < f->len) {
		uint64_t first, n;
		if (f->len - at < 16)
			return -EINVAL;
		first = get_u64(f->data + at);
		n = get_u64(f->data + at + 8);
		if (n > (f->len - at - 16) / 8 || first > (UINT64_MAX >> 4) / 8)
			return -EINVAL;
		at += 16 + n * 8;
	}
	fd = memfd_create("memledger-pagemap", MFD_CLOEXEC);
	return fd < 0 ? -errno : fd;
}

/* The captured frames (ML_SNAPSHOT_FRAMES_MAGIC, then frame, map count and flags, one
 * record each, ascending) as kpagecount (field 1) or kpageflags (field 2). */
static int frames_memfd(const struct ml_archive_file *f, int field)
{
	uint64_t run[512], first = 0, prev = 0;
	size_t n = 0;
	int fd, rc = 0;

	if (f->len < 8 || memcmp(f->data, ML_SNAPSHOT_FRAMES_MAGIC, 8) != 0 || (f->len - 8) % 24)
		return -EINVAL;
	fd = memfd_create("memledger-frames", MFD_CLOEXEC);
	if (fd < 0)
		return -errno;
	for (size_t at = 8; rc == 0 && at < f->len; at += 24) {
		uint64_t frame = get_u64(f->data + at);
		if (frame > (UINT64_MAX >> 4) / 8 || (at > 8 && frame <= prev)) {
			rc = -EINVAL; /* not ascending: not memledger's */
			break;
		}
		if (n && (frame != prev + 1 || n == ML_ARRAY_SIZE(run))) {
			rc = pwrite_all(fd, run, n * 8, (off_t)(first * 8));
			n = 0;
		}
		if (n == 0)
			first = frame;
		run[n++] = get_u64(f->data + at + 8 * (size_t)field);
		prev = frame;
	}
	if (rc == 0 && n)
		rc = pwrite_all(fd, run, n * 8, (off_t)(first * 8));
	if (rc < 0) {
		close(fd);
		return rc;
	}
	return fd;
}

/* The error that a memledger-unreadable list (text[0..len), "PATH ENAME" lines) names for
 * path, as -errno; -ENOENT (not captured) when it names none. */
static int recorded_error(const char *text, size_t len, const char *path)
{
	size_t plen = strlen(path), n;
	struct ml_line_iter it;
	const char *l;

	ml_line_iter_init(&it, text, len);
	while (ml_line_iter_next(&it, &l, &n))
		if (n > plen + 1 && memcmp(l, path, plen) == 0 && l[plen] == ' ')
			return -ml_errno_of_name(l + plen + 1, n - plen - 1);
	return -ENOENT;
}

/* Why a file of the archive is missing: -errno of the capture's failed read that
 * memledger-unreadable names, else -ENOENT (not captured). */
static int missing(struct ml_source *src, const char *path)
{
	const struct ml_archive_file *m = ml_archive_find(src->ar, ML_SNAPSHOT_UNREADABLE);

	if (!m || m->link)
		return -ENOENT;
	return recorded_error(m->data, m->len, path);
}

/* Why name below dirfd of an extracted snapshot is missing: what memledger-unreadable
 * beside its proc directory says, else -ENOENT. */
static int extracted_missing(const struct ml_source *src, int dirfd, const char *name)
{
	char link[64], abs[4096], path[4096];
	const char *base = strrchr(src->real, '/');
	size_t rlen = strlen(src->real);
	ssize_t n;

	snprintf(link, sizeof(link), "/proc/self/fd/%d", dirfd);
	n = readlink(link, abs, sizeof(abs) - 1);
	if (n < 0 || !base)
		return -ENOENT;
	abs[n] = '\0';
	if (strncmp(abs, src->real, rlen) != 0 || (abs[rlen] && abs[rlen] != '/'))
		return -ENOENT;
	if ((size_t)snprintf(path, sizeof(path), "%s%s/%s", base + 1, abs + rlen, name) >=
	    sizeof(path))
		return -ENOENT;
	return recorded_error(src->recorded.data, src->recorded.len, path);
}

static int buf_reserve(struct ml_buf *b, size_t want);

/* The file name below archive directory dir into *f, its path in path. Returns 0, or the
 * error its reading would give: the capture's recorded one (missing), -ELOOP for a link,
 * -EFBIG for one too large to have been kept. */
static int archive_file(struct ml_source *src, const char *dir, const char *name, char path[4096],
                        const struct ml_archive_file **f)
{
	if ((size_t)snprintf(path, 4096, "%s%s%s", dir, *dir ? "/" : "", name) >= 4096)
		return -ENAMETOOLONG;
	*f = ml_archive_find(src->ar, path);
	if (!*f)
		return missing(src, path);
	if ((*f)->link)
		return -ELOOP;
	return (*f)->too_big ? -EFBIG : 0;
}

/* Reads name below archive directory dir whole into b straight from the archive (or its
 * spill file), without the memfd archive_open makes. Returns 0, -errno, or 1 when the
 * file is one archive_open makes up (the page frames, a pagemap). */
static int archive_read(struct ml_source *src, const char *dir, const char *name, struct ml_buf *b)
{
	char path[4096];
	const struct ml_archive_file *f;
	size_t done = 0;
	int rc;

	if (strcmp(name, "pagemap") == 0 || strncmp(name, "kpage", 5) == 0)
		return 1;
	if ((rc = archive_file(src, dir, name, path, &f)) < 0)
		return rc;
	b->len = 0;
	if ((rc = buf_reserve(b, f->len + 1)) < 0)
		return rc;
	if (f->data)
		memcpy(b->data, f->data, f->len);
	while (!f->data && done < f->len) {
		ssize_t n = pread(ml_archive_fd(src->ar), b->data + done, f->len - done,
		                  (off_t)(f->offset + done));
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return n < 0 ? -errno : -EINVAL; /* the archive changed under us */
		done += (size_t)n;
	}
	b->len = f->len;
	b->data[b->len] = '\0';
	return 0;
}

int ml_source_read_at(struct ml_source *src, int dirfd, const char *name, struct ml_buf *b)
{
	int fd, rc;

	if (src->ar && (rc = archive_read(src, handle_of(src, dirfd).dir, name, b)) <= 0)
		return rc;
	fd = ml_source_open_at(src, dirfd, name);
	if (fd < 0)
		return fd;
	rc = ml_read_whole(fd, b);
	close(fd);
	return rc;
}

/* Opens name below archive directory dir as the kernel's file would read. */
static int archive_open(struct ml_source *src, const char *dir, const char *name)
{
	char path[4096];
	const struct ml_archive_file *f;
	int fd;

	if (strcmp(dir, src->root) == 0 &&
	    (strcmp(name, "kpagecount") == 0 || strcmp(name, "kpageflags") == 0)) {
		snprintf(path, sizeof(path), "%s%skpages", dir, *dir ? "/" : "");
		f = ml_archive_find(src->ar, path);
		return !f || f->link ? missing(src, path) : frames_memfd(f, name[5] == 'c' ? 1 : 2);
	}
	if ((fd = archive_file(src, dir, name, path, &f)) < 0)
		return fd;
	if (!f->data)
		return memfd_in_place(ml_archive_fd(src->ar), f->offset, f->len);
	if (strcmp(name, "pagemap") != 0)
		return memfd_of(f->data, f->len);
	fd = pagemap_memfd(f);
	return fd < 0 ? fd : note_handle(src, fd, dir, f);
}

/* Notes where the look at fd's ranges for addresses from start began (record at), for
 * the next look: mappings come in address order, and each look would otherwise walk the
 * records from the first (a process of 300 mappings: 300 walks of 300 records). */
static void note_resume(struct ml_source *src, int fd, size_t at, uint64_t start)
{
	pthread_mutex_lock(&src->lock);
	if (fd >= 0 && (size_t)fd < src->nhandles) {
		src->handles[fd].resume = at;
		src->handles[fd].resume_end = start;
	}
	pthread_mutex_unlock(&src->lock);
}

long ml_source_pagemap_ranges(struct ml_source *src, int fd, uint64_t start, uint64_t end,
                              struct ml_page_range *v, size_t max)
{
	uint64_t page = (uint64_t)sysconf(_SC_PAGESIZE);
	struct handle h = handle_of(src, fd);
	const struct ml_archive_file *f = h.pages;
	size_t k = 0, at = 8, first_in = 0;

	if (!src->ar || !f)
		return -ENOTTY;
	if (h.resume && start >= h.resume_end)
		at = h.resume;       /* every record before it ends before the last look's start */
	for (; at + 16 <= f->len;) { /* checked whole when its memfd was made */
		uint64_t first = get_u64(f->data + at), n = get_u64(f->data + at + 8);
		if (first * page >= end)
			break; /* the capture writes records in address order: none further is in
			          range */
		if ((first + n) * page <= start) {
			at += 16 + n * 8; /* wholly before the range: its entries need no look */
			continue;
		}
		if (!first_in)
			first_in = at;
		for (uint64_t i = 0; i < n; i++) {
			uint64_t e = get_u64(f->data + at + 16 + i * 8), addr = (first + i) * page;
			if (!(e >> 62) || addr < start || addr >= end)
				continue; /* neither present (bit 63) nor swapped (bit 62) */
			if (k && v[k - 1].end == addr) {
				v[k - 1].end += page;
				continue;
			}
			if (k == max) {
				note_resume(src, fd, first_in, start);
				return (long)k;
			}
			v[k++] = (struct ml_page_range){addr, addr + page};
		}
		at += 16 + n * 8;
	}
	note_resume(src, fd, first_in ? first_in : at, start);
	return (long)k;
}

long ml_source_pagemap_read(struct ml_source *src, int fd, uint64_t first, size_t n, uint64_t *out)
{
	uint64_t page = (uint64_t)sysconf(_SC_PAGESIZE);
	struct handle h = handle_of(src, fd);
	const struct ml_archive_file *f = h.pages;
	size_t at = 8;

	if (!src->ar || !f)
		return -ENOTTY;
	memset(out, 0, n * 8); /* no record: neither present nor swapped */
	if (h.resume && first * page >= h.resume_end)
		at = h.resume; /* every record before it ends before: see note_resume */
	while (at + 16 <= f->len) {
		uint64_t rf = get_u64(f->data + at), rn = get_u64(f->data + at + 8), lo, hi;
		if (rf >= first + n)
			break; /* records come in address order */
		lo = rf > first ? rf : first;
		hi = rf + rn < first + n ? rf + rn : first + n;
		if (lo < hi)
			memcpy(out + (lo - first), f->data + at + 16 + (lo - rf) * 8,
			       (hi - lo) * 8);
		at += 16 + rn * 8;
	}
	return (long)n;
}

int ml_source_open_at(const struct ml_source *src, int dirfd, const char *name)
{
	int flags = O_RDONLY | O_NOFOLLOW | O_CLOEXEC, fd, rc;
	struct stat st;

	if (src->ar) {
		struct ml_source *s = (struct ml_source *)src; /* its handle table, behind a lock */
		return archive_open(s, handle_of(s, dirfd).dir, name);
	}
	if (src->procfs) { /* the kernel's own files: as they are */
		fd = openat(dirfd, name, flags);
		return fd < 0 ? -errno : fd;
	}
	/* A directory laid out like /proc is anybody's: a FIFO would block the open and the
	 * reads, a device would never end, a symbolic link could lead anywhere. */
	fd = open_beneath(dirfd, name, flags | O_NONBLOCK);
	if (fd == -ENOENT && src->recorded.len)
		return extracted_missing(src, dirfd, name);
	if (fd < 0)
		return fd;
	if (fstat(fd, &st) < 0)
		rc = -errno;
	else if (S_ISDIR(st.st_mode))
		rc = -EISDIR; /* what reading it would give: a file that could not be read */
	else if (!S_ISREG(st.st_mode))
		rc = -ML_ENOTREG;
	else if ((uint64_t)st.st_size > ml_source_max_size(name))
		rc = -EFBIG;
	else
		return fd;
	close(fd);
	return rc;
}

uint64_t ml_source_max_size(const char *path)
{
	static const char *const frames[] = {"kpages", "kpagecount", "kpageflags", "pagemap"};
	const char *slash = strrchr(path, '/'), *base = slash ? slash + 1 : path;

	for (size_t i = 0; i < ML_ARRAY_SIZE(frames); i++)
		if (strcmp(base, frames[i]) == 0)
			return ML_SOURCE_MAX_FILE;
	return ML_SOURCE_MAX_TEXT;
}

const char *ml_source_strerror(int err)
{
	switch (err < 0 ? -err : err) {
	case EINVAL: return "malformed file";
	case ML_ENOTREG: return "not a regular file";
	case EFBIG:
		return "larger than any real one (memledger reads at most 256 MiB of a text file)";
	case ELOOP: return "a symbolic link: not followed";
	case EXDEV: return "leads out of the source directory: not followed";
	default: return strerror(err < 0 ? -err : err);
	}
}

/* The line of the archive file dir/file whose first word is key, into line (no newline). */
static bool archive_line(struct ml_source *src, const char *dir, const char *file, const char *key,
                         char *line, size_t size)
{
	char path[4096];
	const struct ml_archive_file *f;
	struct ml_line_iter it;
	const char *l;
	size_t len, klen = strlen(key);

	snprintf(path, sizeof(path), "%s/%s", dir, file);
	f = ml_archive_find(src->ar, path);
	if (!f || f->link)
		return false;
	ml_line_iter_init(&it, f->data, f->len);
	while (ml_line_iter_next(&it, &l, &len))
		if (len > klen && len < size && l[klen] == ' ' && memcmp(l, key, klen) == 0) {
			memcpy(line, l, len);
			line[len] = '\0';
			return true;
		}
	return false;
}

int ml_source_stat_at(struct ml_source *src, int dirfd, const char *name, struct stat *st)
{
	char line[256];
	unsigned long long ino, size, blocks;

	if (!src->ar)
		return fstatat(dirfd, name, st, 0) < 0 ? -errno : 0;
	/* memledger.map_files: "START-END INODE SIZE BLOCKS" per shared mapping */
	if (strncmp(name, "map_files/", 10) != 0 ||
	    !archive_line(src, handle_of(src, dirfd).dir, "memledger.map_files", name + 10, line,
	                  sizeof(line)) ||
	    sscanf(line, "%*s %llu %llu %llu", &ino, &size, &blocks) != 3)
		return -ENOENT;
	memset(st, 0, sizeof(*st));
	st->st_ino = (ino_t)ino;
	st->st_size = (off_t)size;
	st->st_blocks = (blkcnt_t)blocks;
	return 0;
}

bool ml_source_has_at(struct ml_source *src, int dirfd, const char *name)
{
	char path[4096];

	if (!src->ar)
		return faccessat(dirfd, name, F_OK, 0) == 0;
	snprintf(path, sizeof(path), "%s/%s", handle_of(src, dirfd).dir, name);
	return ml_archive_find(src->ar, path) != NULL;
}

ssize_t ml_source_readlink_at(struct ml_source *src, int dirfd, const char *name, char *buf,
                              size_t size)
{
	char path[4096];
	const struct ml_archive_file *f;

	if (!src->ar) {
		ssize_t n = readlinkat(dirfd, name, buf, size);
		return n < 0 ? -errno : n;
	}
	snprintf(path, sizeof(path), "%s/%s", handle_of(src, dirfd).dir, name);
	f = ml_archive_find(src->ar, path);
	if (!f)
		return -ENOENT;
	if (!f->link)
		return -EINVAL;
	memcpy(buf, f->data, f->len < size ? f->len : size);
	return (ssize_t)(f->len < size ? f->len : size);
}

/* The memfds of a captured process: memledger.fds, "FD MAJOR:MINOR INODE TARGET" lines. */
static int archive_memfd_links(struct ml_source *src, pid_t pid, struct ml_fd_link **links,
                               size_t *n)
{
	char path[64];
	const struct ml_archive_file *f;
	struct ml_line_iter it;
	const char *l;
	size_t len, cap = 0;

	snprintf(path, sizeof(path), "%s%s%d/memledger.fds", src->root, *src->root ? "/" : "",
	         (int)pid);
	f = ml_archive_find(src->ar, path);
	if (!f || f->link)
		return -ENOENT;
	ml_line_iter_init(&it, f->data, f->len);
	while (ml_line_iter_next(&it, &l, &len)) {
		char line[512], target[8];
		unsigned maj, min;
		unsigned long long ino;
		int fd;
		struct ml_fd_link link;
		if (len >= sizeof(line))
			continue;
		memcpy(line, l, len);
		line[len] = '\0';
		if (sscanf(line, "%d %u:%u %llu %7s", &fd, &maj, &min, &ino, target) != 5 ||
		    strncmp(target, "/memfd:", 7) != 0)
			continue;
		memset(&link, 0, sizeof(link));
		link.fd = fd;
		link.st.st_dev = makedev(maj, min);
		link.st.st_ino = (ino_t)ino;
		if (ml_grow((void **)links, &cap, *n, 1, sizeof(**links)) < 0) {
			free(*links);
			*links = NULL;
			*n = 0;
			return -ENOMEM;
		}
		(*links)[(*n)++] = link;
	}
	return 0;
}

/* What a walk for memfds gathers: the process's directory, to stat each fd. */
struct memfd_walk {
	int piddir;
	struct ml_fd_link *links;
	size_t n, cap;
};

/* Appends the memfd that fd links to, if it is one. */
static int add_memfd_link(int fd, const char *target, size_t len, void *ctx)
{
	struct memfd_walk *w = ctx;
	char name[32];
	struct ml_fd_link l;

	if (len < 7 || memcmp(target, "/memfd:", 7) != 0)
		return 0;
	snprintf(name, sizeof(name), "fd/%d", fd);
	if (fstatat(w->piddir, name, &l.st, 0) < 0)
		return 0; /* closed since */
	l.fd = fd;
	if (ml_grow((void **)&w->links, &w->cap, w->n, 1, sizeof(*w->links)) < 0)
		return -ENOMEM;
	w->links[w->n++] = l;
	return 0;
}

int ml_source_memfd_links(struct ml_source *src, pid_t pid, struct ml_fd_link **links, size_t *n)
{
	struct memfd_walk w = {.piddir = ml_source_open_pid(src, pid)};
	int rc;

	*links = NULL;
	*n = 0;
	if (src->ar) {
		if (w.piddir >= 0)
			close(w.piddir);
		return archive_memfd_links(src, pid, links, n);
	}
	if (w.piddir < 0)
		return w.piddir;
	rc = ml_source_each_fd(src, w.piddir, add_memfd_link, &w);
	close(w.piddir);
	if (rc < 0) {
		free(w.links);
		return rc;
	}
	*links = w.links;
	*n = w.n;
	return 0;
}

/* The snapshot version the manifest of an archive names ("memledger-snapshot: N"), 0 when
 * none does (smemcap's, a tar of a directory). */
static unsigned archive_version(const struct ml_source *src)
{
	const struct ml_archive_file *f = ml_archive_find(src->ar, ML_SNAPSHOT_MANIFEST);
	unsigned v = 0;

	if (f && !f->link && f->len > 20 && strncmp(f->data, "memledger-snapshot: ", 20) == 0)
		v = (unsigned)strtoul(f->data + 20, NULL, 10);
	return v;
}

const char *ml_source_manifest(const struct ml_source *src)
{
	const struct ml_archive_file *f =
	    src->ar ? ml_archive_find(src->ar, ML_SNAPSHOT_MANIFEST) : NULL;

	if (!src->ar)
		return src->manifest.data && src->manifest.len ? src->manifest.data : NULL;
	return f && !f->link && f->data ? f->data : NULL;
}

bool ml_source_manifest_value(const struct ml_source *src, const char *key, char *buf, size_t len)
{
	const char *text = ml_source_manifest(src), *at = text;
	size_t klen = strlen(key);

	if (len)
		buf[0] = '\0';
	for (; at && *at; at = strchr(at, '\n'), at = at ? at + 1 : NULL) {
		if (strncmp(at, key, klen) == 0 && at[klen] == ':' && at[klen + 1] == ' ') {
			at += klen + 2;
			if (len)
				snprintf(buf, len, "%.*s", (int)strcspn(at, "\n"), at);
			return true;
		}
	}
	return false;
}

long ml_source_captured_uid(const struct ml_source *src)
{
	char v[24];

	return ml_source_manifest_value(src, "uid", v, sizeof(v)) ? strtol(v, NULL, 10) : -1;
}

bool ml_source_android(const struct ml_source *src)
{
	char v[8];

	if (ml_source_manifest(src))
		return ml_source_manifest_value(src, "android", v, sizeof(v));
	return src->procfs && access("/system/build.prop", F_OK) == 0;
}

/* The fds of a captured process, from memledger.fds ("FD MAJ:MIN INODE TARGET") of a
 * snapshot that records every GPU and dma-buf fd (version 3 on), else from the links of
 * its fd directory (a tar of a directory laid out like /proc). */
struct each_link {
	ml_fd_fn fn;
	void *ctx;
	struct ml_source *src;
	const char *dir;
};

static int archive_fd_link(const char *name, size_t len, void *ctx)
{
	struct each_link *e = ctx;
	char path[4096], fdname[16];
	const struct ml_archive_file *f;

	if (len == 0 || len >= sizeof(fdname) || strspn(name, "0123456789") < len)
		return 0;
	snprintf(path, sizeof(path), "%s/fd/%.*s", e->dir, (int)len, name);
	f = ml_archive_find(e->src->ar, path);
	if (!f || !f->link)
		return 0;
	memcpy(fdname, name, len);
	fdname[len] = '\0';
	return e->fn(atoi(fdname), f->data, f->len, e->ctx);
}

static int archive_each_fd(struct ml_source *src, const char *dir, ml_fd_fn fn, void *ctx)
{
	char path[4096];
	const struct ml_archive_file *f;
	struct each_link e = {fn, ctx, src, dir};
	struct ml_line_iter it;
	const char *l;
	size_t len;
	int rc = 0;

	snprintf(path, sizeof(path), "%s/memledger.fds", dir);
	f = ml_archive_find(src->ar, path);
	if (!f || f->link) {
		snprintf(path, sizeof(path), "%s/fd", dir);
		if (ml_archive_each_child(src->ar, path, any_child, NULL) != 1)
			return -ENOENT;
		return ml_archive_each_child(src->ar, path, archive_fd_link, &e);
	}
	if (archive_version(src) < 3)
		return -ENOENT; /* it recorded memfds alone */
	ml_line_iter_init(&it, f->data, f->len);
	while (rc == 0 && ml_line_iter_next(&it, &l, &len)) {
		const char *sp = l;
		int fd = atoi(l);
		for (int field = 0; field < 3 && sp; field++) {
			sp = memchr(sp, ' ', len - (size_t)(sp - l));
			sp = sp ? sp + 1 : NULL;
		}
		if (sp)
			rc = fn(fd, sp, len - (size_t)(sp - l), ctx);
	}
	return rc;
}

int ml_source_each_fd(struct ml_source *src, int dirfd, ml_fd_fn fn, void *ctx)
{
	int fddir, rc = 0;
	struct dirent *de;
	DIR *dir;

	if (src->ar)
		return archive_each_fd(src, handle_of(src, dirfd).dir, fn, ctx);
	fddir = openat(dirfd, "fd", O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fddir < 0)
		return -errno;
	dir = fdopendir(fddir);
	if (!dir) {
		rc = -errno;
		close(fddir);
		return rc;
	}
	while (rc == 0 && (de = readdir(dir))) {
		char target[512];
		ssize_t n;
		if (de->d_name[0] == '.')
			continue;
		n = readlinkat(fddir, de->d_name, target, sizeof(target));
		if (n > 0) /* a regular file in a directory is no fd: skipped (EINVAL) */
			rc = fn(atoi(de->d_name), target, (size_t)n, ctx);
	}
	closedir(dir);
	return rc;
}

void ml_buf_free(struct ml_buf *b)
{
	free(b->data);
	b->data = NULL;
	b->len = b->cap = 0;
}

/* Makes room for at least want bytes after b->len. Returns 0 or -ENOMEM. */
static int buf_reserve(struct ml_buf *b, size_t want)
{
	size_t cap = b->cap ? b->cap : 4096;
	char *data;

	if (b->cap - b->len >= want)
		return 0;
	if (b->len + want > ML_SOURCE_MAX_FILE)
		return -EFBIG; /* no /proc file holds this much: not one to read whole */
	while (cap - b->len < want)
		cap *= 2;
	data = realloc(b->data, cap);
	if (!data)
		return -ENOMEM;
	b->data = data;
	b->cap = cap;
	return 0;
}

/* One read() into b's free space, EINTR retried. Returns bytes read, 0 at end, or -errno. */
static ssize_t buf_read_once(int fd, struct ml_buf *b)
{
	ssize_t r;

	do
		r = read(fd, b->data + b->len, b->cap - b->len - 1);
	while (r < 0 && errno == EINTR);
	if (r < 0)
		return -errno;
	b->len += (size_t)r;
	return r;
}

int ml_read_whole(int fd, struct ml_buf *b)
{
	ssize_t r;

	b->len = 0;
	do {
		int rc = buf_reserve(b, 4096);
		if (rc < 0)
			return rc;
		r = buf_read_once(fd, b);
		if (r < 0)
			return (int)r;
	} while (r > 0);
	b->data[b->len] = '\0';
	return 0;
}

/* Calls fn for each whole line in b and moves the unfinished tail to its start. */
static int emit_lines(struct ml_buf *b, ml_line_fn fn, void *ctx)
{
	char *p = b->data, *end = b->data + b->len, *nl;
	int rc = 0;

	while (rc == 0 && (nl = memchr(p, '\n', (size_t)(end - p)))) {
		rc = fn(p, (size_t)(nl - p), ctx);
		p = nl + 1;
	}
	b->len = (size_t)(end - p);
	memmove(b->data, p, b->len);
	return rc;
}

int ml_read_lines(int fd, struct ml_buf *b, ml_line_fn fn, void *ctx)
{
	ssize_t r;
	int rc;

	b->len = 0;
	for (;;) {
		rc = buf_reserve(b, 65536);
		if (rc < 0)
			return rc; /* -EFBIG: a line longer than any file memledger reads */
		r = buf_read_once(fd, b);
		if (r < 0)
			return (int)r;
		if (r == 0)
			break;
		rc = emit_lines(b, fn, ctx);
		if (rc)
			return rc;
	}
	rc = b->len ? fn(b->data, b->len, ctx) : 0; /* a last line without newline */
	b->len = 0;
	return rc;
}

/*
 * Reading ahead: a second thread read()s the file into a ring of chunks while the caller
 * parses the ones before, so that the kernel's generation of the text and its parsing
 * overlap. Worth it for one large file (maps of a process with 60,000 mappings).
 *
 * A read() of a seq_file in /proc returns one page of text at most (3.6 KiB of smaps),
 * however much is asked: the reader fills a chunk with many before it hands it over, or
 * the two threads would wake each other 12,000 times for 44 MiB.
 */
#define AHEAD_CHUNKS 16
#define AHEAD_CHUNK  (64 * 1024)

struct ahead {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	int fd;
	char *chunk[AHEAD_CHUNKS];
	size_t len[AHEAD_CHUNKS];
	unsigned filled, used; /* chunks read and chunks parsed, ever: filled - used are ready */
	int err;               /* -errno from read() */
	bool eof, stop;        /* the reader reached the end; the parser wants no more */
};

/*
 * read()s fd into chunk (size bytes) until it is full, EINTR retried; *len gets the bytes
 * read. Returns 1 when full, 0 at the end of the file, or -errno.
 */
static int fill_chunk(int fd, char *chunk, size_t size, size_t *len)
{
	*len = 0;
	while (*len < size) {
		ssize_t r = read(fd, chunk + *len, size - *len);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return r < 0 ? -errno : 0;
		*len += (size_t)r;
	}
	return 1;
}

/* The reader thread: fills free chunks until the end, an error or a stop. */
static void *ahead_reader(void *arg)
{
	struct ahead *a = arg;

	for (;;) {
		unsigned slot;
		size_t len;
		bool stop;
		int r;

		pthread_mutex_lock(&a->lock);
		while (a->filled - a->used == AHEAD_CHUNKS && !a->stop)
			pthread_cond_wait(&a->cond, &a->lock);
		slot = a->filled % AHEAD_CHUNKS;
		stop = a->stop; /* read under the lock: the parser writes it */
		pthread_mutex_unlock(&a->lock);
		if (stop)
			return NULL;
		r = fill_chunk(a->fd, a->chunk[slot], AHEAD_CHUNK, &len);
		pthread_mutex_lock(&a->lock);
		if (len) {
			a->len[slot] = len;
			a->filled++;
		}
		if (r <= 0) {
			a->err = r;
			a->eof = true;
		}
		pthread_cond_broadcast(&a->cond);
		pthread_mutex_unlock(&a->lock);
		if (r <= 0)
			return NULL;
	}
}

/* Calls fn for each line that ends in data[0..len), the first one completed from the
 * partial line in carry; what is left unfinished goes to carry. */
static int ahead_lines(struct ml_buf *carry, const char *data, size_t len, ml_line_fn fn, void *ctx)
{
	const char *p = data, *end = data + len, *nl;
	int rc = 0;

	if (carry->len && (nl = memchr(p, '\n', len))) {
		if (buf_reserve(carry, (size_t)(nl - p) + 1) < 0)
			return -ENOMEM;
		memcpy(carry->data + carry->len, p, (size_t)(nl - p));
		carry->len += (size_t)(nl - p);
		rc = fn(carry->data, carry->len, ctx);
		carry->len = 0;
		p = nl + 1;
	}
	while (rc == 0 && carry->len == 0 && (nl = memchr(p, '\n', (size_t)(end - p)))) {
		rc = fn(p, (size_t)(nl - p), ctx);
		p = nl + 1;
	}
	if (rc == 0 && p < end) {
		if (buf_reserve(carry, (size_t)(end - p) + 1) < 0)
			return -ENOMEM;
		memcpy(carry->data + carry->len, p, (size_t)(end - p));
		carry->len += (size_t)(end - p);
	}
	return rc;
}

/* Parses the chunks as the reader fills them. Returns 0, -errno or what fn returned. */
static int ahead_parse(struct ahead *a, struct ml_buf *carry, ml_line_fn fn, void *ctx)
{
	int rc = 0;

	for (;;) {
		unsigned slot;

		pthread_mutex_lock(&a->lock);
		while (a->filled == a->used && !a->eof)
			pthread_cond_wait(&a->cond, &a->lock);
		if (a->filled == a->used) {
			pthread_mutex_unlock(&a->lock);
			return a->err;
		}
		slot = a->used % AHEAD_CHUNKS;
		pthread_mutex_unlock(&a->lock);
		rc = ahead_lines(carry, a->chunk[slot], a->len[slot], fn, ctx);
		pthread_mutex_lock(&a->lock);
		a->used++;
		a->stop = rc != 0;
		pthread_cond_broadcast(&a->cond);
		pthread_mutex_unlock(&a->lock);
		if (rc)
			return rc;
	}
}

int ml_read_lines_ahead(int fd, struct ml_buf *b, ml_line_fn fn, void *ctx)
{
	struct ahead a = {.fd = fd};
	char *ring = malloc((size_t)AHEAD_CHUNKS * AHEAD_CHUNK);
	pthread_t reader;
	int rc;

	if (!ring)
		return -ENOMEM;
	for (int i = 0; i < AHEAD_CHUNKS; i++)
		a.chunk[i] = ring + (size_t)i * AHEAD_CHUNK;
	pthread_mutex_init(&a.lock, NULL);
	pthread_cond_init(&a.cond, NULL);
	b->len = 0;
	if (pthread_create(&reader, NULL, ahead_reader, &a) != 0) {
		rc = ml_read_lines(fd, b, fn, ctx); /* no thread to spare: read in turn */
	} else {
		rc = ahead_parse(&a, b, fn, ctx);
		pthread_join(reader, NULL);
		if (rc == 0 && b->len)
			rc = fn(b->data, b->len, ctx); /* a last line without newline */
	}
	b->len = 0;
	pthread_cond_destroy(&a.cond);
	pthread_mutex_destroy(&a.lock);
	free(ring);
	return rc;
}

/* Counts mappings on their way to the caller's emit. */
struct smaps_reader {
	struct ml_smaps_parser parser;
	ml_mapping_fn emit;
	void *ctx;
	long count;
};

static int count_mapping(const struct ml_mapping *m, void *ctx)
{
	struct smaps_reader *r = ctx;

	r->count++;
	return r->emit(m, r->ctx);
}

static int feed_line(const char *line, size_t len, void *ctx)
{
	struct smaps_reader *r = ctx;

	return ml_smaps_parser_feed(&r->parser, line, len);
}

/* ml_read_smaps, reading ahead in a second thread or not. */
static long read_smaps(int fd, struct ml_buf *b, ml_mapping_fn emit, void *ctx, bool ahead)
{
	struct smaps_reader r = {.emit = emit, .ctx = ctx, .count = 0};
	int rc;

	ml_smaps_parser_init(&r.parser, count_mapping, &r);
	rc =
	    ahead ? ml_read_lines_ahead(fd, b, feed_line, &r) : ml_read_lines(fd, b, feed_line, &r);
	if (rc == 0)
		rc = ml_smaps_parser_finish(&r.parser);
	return rc < 0 ? rc : r.count;
}

long ml_read_smaps(int fd, struct ml_buf *b, ml_mapping_fn emit, void *ctx)
{
	return read_smaps(fd, b, emit, ctx, false);
}

long ml_read_smaps_ahead(int fd, struct ml_buf *b, ml_mapping_fn emit, void *ctx)
{
	return read_smaps(fd, b, emit, ctx, true);
}

struct each_sys {
	ml_name_fn fn;
	void *ctx;
};

static int call_with_name(const char *name, size_t len, void *ctx)
{
	struct each_sys *e = ctx;
	char buf[256];

	if (len >= sizeof(buf))
		return 0;
	memcpy(buf, name, len);
	buf[len] = '\0';
	return e->fn(buf, e->ctx);
}

int ml_source_each_sys(struct ml_source *src, const char *dir, ml_name_fn fn, void *ctx)
{
	struct each_sys e = {fn, ctx};
	struct dirent *de;
	char path[4096];
	int fd, rc = 0;
	DIR *d;

	if (src->ar) {
		snprintf(path, sizeof(path), "sys/%s", dir);
		if (ml_archive_each_child(src->ar, path, any_child, NULL) != 1)
			return -ENOENT;
		return ml_archive_each_child(src->ar, path, call_with_name, &e);
	}
	fd = ml_source_open_sys(src, dir, O_DIRECTORY);
	if (fd < 0)
		return fd;
	d = fdopendir(fd);
	if (!d) {
		close(fd);
		return -errno;
	}
	while (rc == 0 && (de = readdir(d)))
		if (de->d_name[0] != '.')
			rc = fn(de->d_name, ctx);
	closedir(d);
	return rc;
}

int ml_source_open_sys(struct ml_source *src, const char *path, int flags)
{
	char sys[4096];
	int dirfd, fd;

	if (src->ar) {
		if (flags & O_DIRECTORY)
			return -ENOTDIR;
		return archive_open(src, "sys", path);
	}
	if (strcmp(src->path, "/proc") == 0)
		snprintf(sys, sizeof(sys), "/sys");
	else
		snprintf(sys, sizeof(sys), "%s/../sys", src->path);
	dirfd = open(sys, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dirfd < 0)
		return -errno;
	if (flags & O_DIRECTORY)
		fd = open_beneath(dirfd, path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | flags);
	else
		fd = ml_source_open_at(src, dirfd, path);
	close(dirfd);
	return fd;
}

uint64_t ml_source_read_u64(struct ml_source *src, const char *path)
{
	struct ml_buf b = {0};
	const char *p;
	uint64_t v = ML_UNKNOWN;

	if (ml_source_read(src, path, &b) == 0) {
		p = b.data;
		if (ml_parse_u64(&p, b.data + b.len, 10, &v) < 0)
			v = ML_UNKNOWN;
	}
	ml_buf_free(&b);
	return v;
}

int ml_source_read(struct ml_source *src, const char *path, struct ml_buf *b)
{
	int fd = ml_source_open(src, path), rc;

	if (fd < 0)
		return fd;
	rc = ml_read_whole(fd, b);
	close(fd);
	return rc;
}

int ml_source_read_sys(struct ml_source *src, const char *path, struct ml_buf *b)
{
	int fd = ml_source_open_sys(src, path, 0), rc;

	if (fd < 0)
		return fd;
	rc = ml_read_whole(fd, b);
	close(fd);
	return rc;
}

int ml_snapshot_manifest(const char *path, char *buf, size_t len)
{
	return ml_archive_first(path, ML_SNAPSHOT_MANIFEST, buf, len) < 0 ? -ENOENT : 0;
}

/* The epoch a manifest's text says, or -1. */
static double manifest_epoch(const char *text)
{
	const char *at = text ? strstr(text, "\nepoch: ") : NULL;

	return at ? strtod(at + 8, NULL) : -1;
}

double ml_snapshot_time(const char *path)
{
	char buf[2048];

	if (ml_snapshot_manifest(path, buf, sizeof(buf)) < 0)
		return -1;
	return manifest_epoch(buf);
}

double ml_source_time(const struct ml_source *src)
{
	return manifest_epoch(ml_source_manifest(src));
}
