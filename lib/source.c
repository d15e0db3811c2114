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
#include <sys/syscall.h>
#include <sys/vfs.h>
#include <unistd.h>

#include "memledger/source.h"
#include "util.h"

#define PROC_SUPER_MAGIC 0x9fa0

struct ml_source {
	int dirfd;
	char *path;
	bool procfs;
};

struct ml_source *ml_source_new(const char *path)
{
	struct ml_source *src = calloc(1, sizeof(*src));

	if (!src)
		return NULL;
	src->path = strdup(path ? path : "/proc");
	if (!src->path)
		goto err;
	struct statfs fs;

	src->dirfd = open(src->path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (src->dirfd < 0)
		goto err;
	src->procfs = fstatfs(src->dirfd, &fs) == 0 && fs.f_type == PROC_SUPER_MAGIC;
	return src;
err:
	free(src->path);
	free(src);
	return NULL;
}

void ml_source_free(struct ml_source *src)
{
	if (!src)
		return;
	close(src->dirfd);
	free(src->path);
	free(src);
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

int ml_source_list_pids(struct ml_source *src, pid_t **pids, size_t *npids)
{
	size_t n = 0, cap = 256;
	pid_t *v = malloc(cap * sizeof(*v)), pid;
	struct dirent *de;
	DIR *dir;
	int fd;

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

int ml_source_open_pid(struct ml_source *src, pid_t pid)
{
	char name[16];
	int fd;

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

int ml_source_open_at(const struct ml_source *src, int dirfd, const char *name)
{
	int flags = O_RDONLY | O_NOFOLLOW | O_CLOEXEC, fd, rc;
	struct stat st;

	if (src->procfs) { /* the kernel's own files: as they are */
		fd = openat(dirfd, name, flags);
		return fd < 0 ? -errno : fd;
	}
	/* A directory laid out like /proc is anybody's: a FIFO would block the open and the
	 * reads, a device would never end, a symbolic link could lead anywhere. */
	fd = open_beneath(dirfd, name, flags | O_NONBLOCK);
	if (fd < 0)
		return fd;
	if (fstat(fd, &st) < 0)
		rc = -errno;
	else if (S_ISDIR(st.st_mode))
		rc = -EISDIR; /* what reading it would give: a file that could not be read */
	else if (!S_ISREG(st.st_mode))
		rc = -ML_ENOTREG;
	else if ((uint64_t)st.st_size > ML_SOURCE_MAX_FILE)
		rc = -EFBIG;
	else
		return fd;
	close(fd);
	return rc;
}

const char *ml_source_strerror(int err)
{
	switch (err < 0 ? -err : err) {
	case EINVAL: return "malformed file";
	case ML_ENOTREG: return "not a regular file";
	case EFBIG: return "larger than memledger reads from a source directory";
	case ELOOP: return "a symbolic link: not followed";
	case EXDEV: return "leads out of the source directory: not followed";
	default: return strerror(err < 0 ? -err : err);
	}
}

int ml_source_stat_at(int dirfd, const char *name, struct stat *st)
{
	return fstatat(dirfd, name, st, 0) < 0 ? -errno : 0;
}

/* Appends the memfd that fd entry name of fddir links to, if it is one. */
static int add_memfd_link(int fddir, const char *name, struct ml_fd_link **links, size_t *n,
                          size_t *cap)
{
	char target[32];
	ssize_t len = readlinkat(fddir, name, target, sizeof(target) - 1);
	struct ml_fd_link l;

	if (len < 7 || memcmp(target, "/memfd:", 7) != 0)
		return 0;
	if (fstatat(fddir, name, &l.st, 0) < 0)
		return 0; /* closed since */
	l.fd = atoi(name);
	if (ml_grow((void **)links, cap, *n, 1, sizeof(**links)) < 0)
		return -ENOMEM;
	(*links)[(*n)++] = l;
	return 0;
}

int ml_source_memfd_links(struct ml_source *src, pid_t pid, struct ml_fd_link **links, size_t *n)
{
	int piddir = ml_source_open_pid(src, pid), fddir, rc = 0;
	size_t cap = 0;
	struct dirent *de;
	DIR *dir;

	*links = NULL;
	*n = 0;
	if (piddir < 0)
		return piddir;
	fddir = openat(piddir, "fd", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	close(piddir);
	if (fddir < 0)
		return -errno;
	dir = fdopendir(fddir);
	if (!dir) {
		rc = -errno;
		close(fddir);
		return rc;
	}
	while (rc == 0 && (de = readdir(dir)))
		if (de->d_name[0] != '.')
			rc = add_memfd_link(dirfd(dir), de->d_name, links, n, &cap);
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

int ml_source_open_sys(struct ml_source *src, const char *path, int flags)
{
	char sys[4096];
	int dirfd, fd;

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
