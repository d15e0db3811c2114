/*
 * Captures the live /proc and /sys into a snapshot. libc alone (with the pure parsers):
 * memledger-capture builds it static for small devices. It reads each file once, whole,
 * and hands it to the writer as it is; it never reads environ or memory contents.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#include "memledger/android.h"
#include "memledger/capture.h"
#include "memledger/gpu.h"
#include "memledger/parse.h"
#include "pagemap_scan.h"
#include "memledger/redact.h"
#include "util.h"

/* Appends len bytes. Returns 0 or -ENOMEM. */
static int append(struct ml_bytes *b, const void *data, size_t len)
{
	return ml_bytes_append(b, data, len);
}

static int appendf(struct ml_bytes *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int appendf(struct ml_bytes *b, const char *fmt, ...)
{
	char line[1024];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	return append(b, line, n < (int)sizeof(line) ? (size_t)n : sizeof(line) - 1);
}

struct cap {
	const struct ml_capture_opts *opts;
	const struct ml_capture_writer *w;
	struct ml_capture_stats *stats;
	int procfd, sysfd;
	struct ml_bytes buf, out;   /* a file as read; a file as made (records, lines) */
	struct ml_bytes unreadable; /* "PATH ENAME" lines */
	uint64_t *frames;           /* with exact: the frames pagemap shows, many twice */
	size_t nframes, frames_cap;
	uint64_t *entries; /* a chunk of pagemap */
	/* with redact */
	struct ml_redact red;
	struct ml_bytes red_out;                  /* a file as redacted */
	char comm_token[ML_REDACT_TOKEN_LEN + 1]; /* the process's name hashed, or "" */
	const char *root;                         /* opts->root, "" for "/" */
	size_t cg_root;                           /* the length of the cgroup root's path */
};

/* How a file is redacted (with redact; as it is without). F_OPTIONAL: as it is, and a file
 * the kernel may not offer (attr/current without a security module: EINVAL, EOPNOTSUPP)
 * is missing, not refused. */
enum filter { F_NONE, F_OPTIONAL, F_STATUS, F_STAT, F_COMM, F_CGROUP, F_SMAPS, F_SYSV };

/* Reads dirfd/name whole into b. Returns 0 or -errno. */
static int read_at(int dirfd, const char *name, struct ml_bytes *b)
{
	int fd = openat(dirfd, name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW), rc = 0;

	b->len = 0;
	if (fd < 0)
		return -errno;
	for (;;) {
		ssize_t r;
		if (ml_grow((void **)&b->data, &b->cap, b->len, 65536, 1) < 0) {
			rc = -ENOMEM;
			break;
		}
		r = read(fd, b->data + b->len, b->cap - b->len - 1);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0) {
			rc = r < 0 ? -errno : 0;
			break;
		}
		b->len += (size_t)r;
	}
	close(fd);
	if (rc == 0)
		b->data[b->len] = '\0';
	return rc;
}

static int put(struct cap *c, const char *path, const void *data, size_t len)
{
	c->stats->bytes += len;
	return c->w->file(c->w->ctx, path, data, len);
}

/* Names path in memledger-unreadable with why it could not be read. */
static int note_unreadable(struct cap *c, const char *path, int err)
{
	c->stats->unreadable++;
	return appendf(&c->unreadable, "%s %s\n", path, ml_errno_name(err));
}

/*
 * Copies dirfd/name to the snapshot's path. A missing file (ENOENT, ESRCH: the process
 * went, or it has no such file) is returned as it is; a refused one is named in
 * memledger-unreadable and 0 returned. Returns 0, 1 when missing, or -errno of the writer.
 */
static int copy_as(struct cap *c, int dirfd, const char *name, const char *path, enum filter f);

static int copy(struct cap *c, int dirfd, const char *name, const char *path)
{
	return copy_as(c, dirfd, name, path, F_NONE);
}

/* A line of status: "Name:\t" with ctx, the token, for its value. */
static int status_line(const char *line, size_t n, void *ctx, struct ml_bytes *out)
{
	if (n < 5 || memcmp(line, "Name:", 5) != 0)
		return ml_bytes_append(out, line, n);
	if (ml_bytes_append(out, "Name:\t", 6) < 0)
		return -ENOMEM;
	return ml_bytes_append(out, ctx, strlen(ctx));
}

/* A stat text with the comm between its parentheses replaced by token. */
static int rename_stat(struct ml_bytes *out, const char *text, size_t len, const char *token)
{
	const char *open = memchr(text, '(', len), *close = memrchr(text, ')', len);

	out->len = 0;
	if (!open || !close || close < open)
		return ml_bytes_append(out, text, len);
	if (ml_bytes_append(out, text, (size_t)(open - text) + 1) < 0 ||
	    ml_bytes_append(out, token, strlen(token)) < 0 ||
	    ml_bytes_append(out, close, (size_t)(text + len - close)) < 0)
		return -ENOMEM;
	return 0;
}

/* c->buf (a file as read) as redaction makes it, in c->red_out. Returns 0 or -ENOMEM. */
static int redact_file(struct cap *c, enum filter f)
{
	const char *t = c->buf.data ? c->buf.data : "", *tok = c->comm_token;
	size_t len = c->buf.len;

	switch (f) {
	case F_STATUS: return ml_redact_lines(t, len, &c->red_out, status_line, (void *)tok);
	case F_STAT: return rename_stat(&c->red_out, t, len, tok);
	case F_COMM:
		c->red_out.len = 0;
		return ml_bytes_append(&c->red_out, tok, strlen(tok)) < 0 ||
		               ml_bytes_append(&c->red_out, "\n", 1) < 0
		           ? -ENOMEM
		           : 0;
	case F_CGROUP: return ml_redact_cgroup_file(&c->red, t, len, &c->red_out);
	case F_SMAPS: return ml_redact_smaps(&c->red, t, len, &c->red_out);
	case F_SYSV: return ml_redact_sysvipc(&c->red, t, len, &c->red_out);
	default: return 0;
	}
}

/* As copy, the file redacted as f says when the capture redacts (a process's name only
 * when it was hashed). c->buf keeps the file as read. */
static int copy_as(struct cap *c, int dirfd, const char *name, const char *path, enum filter f)
{
	int rc = read_at(dirfd, name, &c->buf);

	if (rc == -ENOENT || rc == -ESRCH ||
	    (f == F_OPTIONAL && (rc == -EINVAL || rc == -EOPNOTSUPP)))
		return 1;
	if (rc == -ENOMEM)
		return rc;
	if (rc < 0)
		return note_unreadable(c, path, rc);
	if (!c->opts->redact || f == F_NONE || f == F_OPTIONAL ||
	    ((f == F_STATUS || f == F_STAT || f == F_COMM) && !c->comm_token[0]))
		return put(c, path, c->buf.data, c->buf.len);
	if (redact_file(c, f) < 0)
		return -ENOMEM;
	return put(c, path, c->red_out.data ? c->red_out.data : "", c->red_out.len);
}

/* The files memledger cgroups reads of each memory cgroup, v1 and v2. */
static const char *const cgroup_files[] = {"memory.stat",
                                           "memory.usage_in_bytes",
                                           "memory.limit_in_bytes",
                                           "memory.soft_limit_in_bytes",
                                           "memory.memsw.usage_in_bytes",
                                           "memory.kmem.usage_in_bytes",
                                           "memory.oom_control",
                                           "memory.current",
                                           "memory.max",
                                           "memory.high",
                                           "memory.low",
                                           "memory.min",
                                           "memory.swap.current",
                                           "memory.events",
                                           "memory.pressure",
                                           "memory.oom.group",
                                           "cgroup.controllers"};

/* Copies the memory cgroup at dir (below sys) and those below it, depth first. */
static int capture_cgroup_tree(struct cap *c, char *dir, size_t len, unsigned depth)
{
	char name[4200], path[4300];
	int fd, rc = 0;
	size_t at = strlen(dir);
	struct dirent *de;
	DIR *d;

	const char *shown = dir; /* the directory as the snapshot names it */

	if (c->opts->redact && at > c->cg_root) {
		c->red_out.len = 0;
		if (ml_bytes_append(&c->red_out, dir, c->cg_root) < 0 ||
		    ml_redact_cgroup_path(&c->red, dir + c->cg_root, at - c->cg_root, &c->red_out) <
		        0)
			return -ENOMEM;
		snprintf(path, sizeof(path), "%s", c->red_out.data);
		shown = strdup(path);
		if (!shown)
			return -ENOMEM;
	}
	for (size_t i = 0; i < ML_ARRAY_SIZE(cgroup_files) && rc >= 0; i++) {
		snprintf(name, sizeof(name), "%s/%s", dir, cgroup_files[i]);
		snprintf(path, sizeof(path), "sys/%s/%s", shown, cgroup_files[i]);
		rc = copy(c, c->sysfd, name, path);
	}
	if (shown != dir)
		free((char *)shown);
	fd = depth < 64 ? openat(c->sysfd, dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC) : -1;
	d = fd < 0 ? NULL : fdopendir(fd);
	if (!d) {
		if (fd >= 0)
			close(fd);
		return rc < 0 ? rc : 0;
	}
	while (rc >= 0 && (de = readdir(d))) {
		if (de->d_type != DT_DIR || de->d_name[0] == '.' ||
		    at + 1 + strlen(de->d_name) >= len)
			continue;
		snprintf(dir + at, len - at, "/%s", de->d_name);
		rc = capture_cgroup_tree(c, dir, len, depth + 1);
		dir[at] = '\0';
	}
	closedir(d);
	return rc < 0 ? rc : 0;
}

/* The memory cgroup hierarchy: v1's memory/, or v2's where its root lists memory. */
static int capture_cgroups(struct cap *c)
{
	static const char *const roots[] = {"fs/cgroup/memory", "fs/cgroup", "fs/cgroup/unified"};
	char dir[4096];

	for (size_t i = 0; i < ML_ARRAY_SIZE(roots); i++) {
		bool v1 = i == 0;
		snprintf(dir, sizeof(dir), "%s/%s", roots[i],
		         v1 ? "memory.usage_in_bytes" : "cgroup.controllers");
		if (read_at(c->sysfd, dir, &c->buf) < 0 ||
		    (!v1 && !memmem(c->buf.data, c->buf.len, "memory", 6)))
			continue;
		snprintf(dir, sizeof(dir), "%s", roots[i]);
		c->cg_root = strlen(dir);
		return capture_cgroup_tree(c, dir, sizeof(dir), 0);
	}
	return 0;
}

/* The value of the first "KEY=" line of text into buf; "" when none has it. */
static void prop_value(const char *text, const char *key, char *buf, size_t len)
{
	size_t klen = strlen(key);

	buf[0] = '\0';
	for (const char *at = text; at && *at; at = strchr(at, '\n'), at = at ? at + 1 : NULL)
		if (strncmp(at, key, klen) == 0 && at[klen] == '=') {
			snprintf(buf, len, "%.*s", (int)strcspn(at + klen + 1, "\r\n"),
			         at + klen + 1);
			return;
		}
}

/* The files of files[] (below root) that can be read, one after another into out, each
 * read once. Returns 0 or -ENOMEM. */
static int read_files(struct cap *c, const char *const *files, struct ml_bytes *out)
{
	out->len = 0;
	for (size_t i = 0; files[i]; i++) {
		char path[512];
		snprintf(path, sizeof(path), "%s%s", c->root, files[i]);
		if (read_at(AT_FDCWD, path, &c->buf) < 0)
			continue;
		if (append(out, c->buf.data, c->buf.len) < 0 || append(out, "\n", 1) < 0)
			return -ENOMEM;
	}
	return append(out, "", 1); /* NUL-terminated, the first file's lines first */
}

/* The name of uid as the system names it: Android's AIDs there, else /etc/passwd's
 * (read as a file: a static program has no NSS). "" when neither names it. */
static void user_name(struct cap *c, uid_t uid, bool android, char *buf, size_t len)
{
	char path[512];
	const char *at;

	buf[0] = '\0';
	if (android) {
		ml_android_user_name(uid, buf, len);
		return;
	}
	snprintf(path, sizeof(path), "%s/etc/passwd", c->root);
	if (read_at(AT_FDCWD, path, &c->buf) < 0)
		return;
	for (at = c->buf.data; at && *at; at = strchr(at, '\n'), at = at ? at + 1 : NULL) {
		const char *colon = strchr(at, ':'), *id = colon ? strchr(colon + 1, ':') : NULL;
		char *end;
		if (id && strtoul(id + 1, &end, 10) == uid && *end == ':' && end > id + 1) {
			snprintf(buf, len, "%.*s", (int)(colon - at), at);
			return;
		}
	}
}

/* What the device is, for the manifest: "android: RELEASE (sdk N)" and "device: MODEL" on
 * Android, "chromeos: VERSION" on ChromeOS, each line only where the system says it. */
static int describe_system(struct cap *c, bool *android)
{
	static const char *const props[] = {"/system/build.prop", "/vendor/build.prop",
	                                    "/product/etc/build.prop", NULL};
	static const char *const lsb[] = {"/etc/lsb-release", NULL};
	static const char *const models[] = {"ro.product.model", "ro.product.vendor.model",
	                                     "ro.product.system.model"};
	char release[96], sdk[16], model[96] = "", cros[96];
	struct ml_bytes text = {0};
	int rc = read_files(c, props, &text);

	prop_value(text.data, "ro.build.version.release", release, sizeof(release));
	*android = release[0] != '\0';
	if (rc == 0 && *android) {
		prop_value(text.data, "ro.build.version.sdk", sdk, sizeof(sdk));
		for (size_t i = 0; i < ML_ARRAY_SIZE(models) && !model[0]; i++)
			prop_value(text.data, models[i], model, sizeof(model));
		rc = appendf(&c->out, "android: %s%s%s%s\n", release, sdk[0] ? " (sdk " : "", sdk,
		             sdk[0] ? ")" : "");
		if (rc == 0 && model[0])
			rc = appendf(&c->out, "device: %s\n", model);
	}
	if (rc == 0)
		rc = read_files(c, lsb, &text);
	prop_value(text.data, "CHROMEOS_RELEASE_VERSION", cros, sizeof(cros));
	if (rc == 0 && cros[0])
		rc = appendf(&c->out, "chromeos: %s\n", cros);
	free(text.data);
	return rc;
}

static int write_manifest(struct cap *c)
{
	struct utsname u;
	struct timespec ts;
	time_t now;
	struct tm tm;
	char when[32], user[64], context[256];
	bool android = false;
	int rc;

	if (uname(&u) < 0)
		memset(&u, 0, sizeof(u));
	clock_gettime(CLOCK_REALTIME, &ts);
	now = ts.tv_sec;
	gmtime_r(&now, &tm);
	strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm);
	c->out.len = 0;
	rc = appendf(&c->out,
	             "memledger-snapshot: 4\nwriter: %s\nkernel: %s %s\nmachine: %s\nhostname: %s\n"
	             "time: %s\nepoch: %lld.%03d\ncapture-pid: %d\nuid: %d\npage-size: %ld\n"
	             "exact: %s\nredacted: %s\n",
	             c->opts->writer ? c->opts->writer : "unknown", u.release, u.version, u.machine,
	             u.nodename, when, (long long)now, (int)(ts.tv_nsec / 1000000), (int)getpid(),
	             (int)geteuid(), sysconf(_SC_PAGESIZE), c->opts->exact ? "yes" : "no",
	             c->opts->redact ? "yes" : "no");
	if (rc == 0)
		rc = describe_system(c, &android);
	/* who it ran as: the user's name and its security context (u:r:shell:s0) */
	user_name(c, geteuid(), android, user, sizeof(user));
	if (rc == 0 && user[0])
		rc = appendf(&c->out, "user: %s\n", user);
	if (rc == 0 && read_at(c->procfd, "self/attr/current", &c->buf) == 0 && c->buf.len) {
		snprintf(context, sizeof(context), "%.*s", (int)strcspn(c->buf.data, "\n"),
		         c->buf.data);
		if (context[0])
			rc = appendf(&c->out, "context: %s\n", context);
	}
	return rc < 0 ? rc : put(c, ML_SNAPSHOT_MANIFEST, c->out.data, c->out.len);
}

/* The system's files, from /proc and /sys. */
static int capture_system(struct cap *c)
{
	static const char *const files[] = {"meminfo",
	                                    "vmstat",
	                                    "swaps",
	                                    "sysvipc/shm",
	                                    "pressure/memory",
	                                    "uptime",
	                                    "version",
	                                    "loadavg",
	                                    "sys/vm/max_map_count",
	                                    "sys/vm/overcommit_memory",
	                                    "sys/vm/overcommit_ratio",
	                                    "sys/vm/overcommit_kbytes",
	                                    "sys/kernel/osrelease"};
	char path[600];
	int rc = 0;

	for (size_t i = 0; i < ML_ARRAY_SIZE(files) && rc >= 0; i++) {
		snprintf(path, sizeof(path), "proc/%s", files[i]);
		rc = copy_as(c, c->procfd, files[i], path,
		             strcmp(files[i], "sysvipc/shm") == 0 ? F_SYSV : F_NONE);
	}
	if (rc < 0 || c->sysfd < 0)
		return rc < 0 ? rc : 0;
	rc = copy(c, c->sysfd, "devices/system/memory/block_size_bytes",
	          "sys/devices/system/memory/block_size_bytes");
	/* Android's ION and DMA-BUF heap totals (dumpsys meminfo's ION line), where present */
	static const char *const heaps[] = {"kernel/ion/total_heaps_kb",
	                                    "kernel/ion/total_pools_kb",
	                                    "kernel/dma_heap/total_pools_kb"};
	for (size_t i = 0; i < ML_ARRAY_SIZE(heaps) && rc >= 0; i++) {
		snprintf(path, sizeof(path), "sys/%s", heaps[i]);
		rc = copy_as(c, c->sysfd, heaps[i], path, F_OPTIONAL);
	}
	/* memory blocks, zram devices, the GPUs and dma-buf heaps there are (their dev
	 * files: memledger looks for GPU buffers where there are), and the dma-bufs */
	static const char *const each[][3] = {{"devices/system/memory", "memory", "state"},
	                                      {"block", "zram", "mm_stat"},
	                                      {"block", "zram", "backing_dev"},
	                                      {"block", "zram", "disksize"},
	                                      {"class/drm", "", "dev"},
	                                      {"class/dma_heap", "", "dev"},
	                                      {"kernel/dmabuf/buffers", "", "size"},
	                                      {"kernel/dmabuf/buffers", "", "exporter_name"}};
	for (size_t pass = 0; pass < ML_ARRAY_SIZE(each) && rc >= 0; pass++) {
		const char *dir = each[pass][0], *prefix = each[pass][1], *file = each[pass][2];
		int fd = openat(c->sysfd, dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		DIR *d = fd < 0 ? NULL : fdopendir(fd);
		struct dirent *de;
		if (!d) {
			if (fd >= 0)
				close(fd);
			continue;
		}
		while (rc >= 0 && (de = readdir(d))) {
			char name[512];
			if (de->d_name[0] == '.' ||
			    strncmp(de->d_name, prefix, strlen(prefix)) != 0)
				continue;
			snprintf(name, sizeof(name), "%s/%s/%s", dir, de->d_name, file);
			snprintf(path, sizeof(path), "sys/%s", name);
			rc = copy(c, c->sysfd, name, path);
		}
		closedir(d);
	}
	if (rc >= 0)
		rc = capture_cgroups(c);
	return rc < 0 ? rc : 0;
}

/* Whether memledger reads an fd of this target: a memfd, a DRM device, a dma-buf. */
static bool fd_recorded(const char *target, bool *gpu)
{
	*gpu = ml_gpu_fd_kind(target, strlen(target)) != ML_FD_OTHER;
	return *gpu || strncmp(target, "/memfd:", 7) == 0;
}

/* The memfds, DRM and dma-buf fds process dirfd holds open, "FD MAJOR:MINOR INODE TARGET"
 * lines, and the fdinfo of the DRM and dma-buf ones. */
static int capture_fds(struct cap *c, int dirfd, const char *pdir)
{
	char path[64];
	int fd = openat(dirfd, "fd", O_RDONLY | O_DIRECTORY | O_CLOEXEC), rc = 0;
	DIR *d = fd < 0 ? NULL : fdopendir(fd);
	struct dirent *de;

	snprintf(path, sizeof(path), "%s/memledger.fds", pdir);
	if (!d) {
		rc = errno == ENOENT || errno == ESRCH ? 0 : note_unreadable(c, path, errno);
		if (fd >= 0)
			close(fd);
		return rc;
	}
	c->out.len = 0;
	while (rc == 0 && (de = readdir(d))) {
		char target[512];
		struct stat st;
		ssize_t n = readlinkat(fd, de->d_name, target, sizeof(target) - 1);
		bool gpu;
		if (n < 0)
			continue;
		target[n] = '\0';
		if (!fd_recorded(target, &gpu))
			continue;
		if (fstatat(fd, de->d_name, &st, 0) < 0) {
			if (!gpu)
				continue; /* closed since: a memfd is known by its inode */
			memset(&st, 0, sizeof(st)); /* a GPU fd by its fdinfo */
		}
		if (c->opts->redact) { /* a memfd's name, a file's path */
			c->red_out.len = 0;
			if (ml_redact_name(&c->red, target, (size_t)n, &c->red_out) < 0) {
				rc = -ENOMEM;
				break;
			}
			snprintf(target, sizeof(target), "%s", c->red_out.data);
		}
		rc = appendf(&c->out, "%s %u:%u %llu %s\n", de->d_name, major(st.st_dev),
		             minor(st.st_dev), (unsigned long long)st.st_ino, target);
		if (rc == 0 && gpu) {
			char name[32], info[96];
			snprintf(name, sizeof(name), "fdinfo/%.16s", de->d_name);
			snprintf(info, sizeof(info), "%s/fdinfo/%.16s", pdir, de->d_name);
			rc = copy(c, dirfd, name, info); /* c->buf: c->out holds the lines */
			rc = rc > 0 ? 0 : rc;            /* closed since */
		}
	}
	closedir(d);
	return rc < 0 ? rc : put(c, path, c->out.data ? c->out.data : "", c->out.len);
}

/* Per mapping of smaps: what the snapshot records beside it. */
struct maps_walk {
	struct cap *c;
	int dirfd, pagemap_fd;
	const char *pdir;
	struct ml_bytes map_files;   /* "START-END INODE SIZE BLOCKS" */
	struct ml_bytes dmabuf_maps; /* the maps lines of mapped dma-bufs */
	bool map_files_refused;
	int err;
};

/* Appends the runs of non-zero entries of pages [first, first + n) to c->out as
 * records, and the frames of the present ones to c->frames. */
static int add_entries(struct cap *c, uint64_t first, const uint64_t *e, size_t n)
{
	for (size_t i = 0; i < n;) {
		size_t j = i;
		uint64_t head[2];
		if (!e[i]) {
			i++;
			continue;
		}
		while (j < n && e[j])
			j++;
		head[0] = first + i;
		head[1] = j - i;
		if (append(&c->out, head, 16) < 0 || append(&c->out, e + i, (j - i) * 8) < 0)
			return -ENOMEM;
		for (size_t k = i; k < j; k++) {
			uint64_t pfn = e[k] & ((1ull << 55) - 1);
			if (!(e[k] >> 63) || ((e[k] >> 62) & 1) || !pfn)
				continue; /* not present, swapped, or no frame shown (not root) */
			if (ml_grow((void **)&c->frames, &c->frames_cap, c->nframes, 1, 8) < 0)
				return -ENOMEM;
			c->frames[c->nframes++] = pfn;
		}
		i = j;
	}
	return 0;
}

#define CHUNK 65536 /* pagemap entries per pread */

/* The pagemap entries of pages [first, last). Returns 0 or -errno. */
static int read_range(struct maps_walk *mw, uint64_t first, uint64_t last)
{
	struct cap *c = mw->c;

	while (first < last) {
		size_t n = last - first < CHUNK ? (size_t)(last - first) : CHUNK;
		ssize_t r = pread(mw->pagemap_fd, c->entries, n * 8, (off_t)(first * 8));
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 8)
			return r < 0 ? -errno : 0;
		n = (size_t)r / 8;
		if (add_entries(c, first, c->entries, n) < 0)
			return -ENOMEM;
		first += n;
	}
	return 0;
}

#define REGIONS 512

/* The entries of m's present and swapped pages: where PAGEMAP_SCAN finds them, else
 * (before 6.7) over the whole mapping. Returns 0 or -errno. */
static int read_mapping_pages(struct maps_walk *mw, const struct ml_mapping *m)
{
	uint64_t page = (uint64_t)sysconf(_SC_PAGESIZE), at = m->start;
	struct ml_page_region v[REGIONS];
	int rc = 0;

	while (at < m->end && rc == 0) {
		long n = ml_pagemap_scan(mw->pagemap_fd, at, m->end, v, REGIONS);
		if (n == -EINTR)
			continue;
		if (n < 0) /* no PAGEMAP_SCAN: the whole mapping */
			return read_range(mw, at / page, m->end / page);
		for (long k = 0; k < n && rc == 0; k++)
			rc = read_range(mw, v[k].start / page, (v[k].end + page - 1) / page);
		if (n < REGIONS)
			break;
		at = v[n - 1].end; /* never walk_end: see lib/scan.c */
	}
	return rc;
}

static int on_mapping(const struct ml_mapping *m, void *ctx)
{
	struct maps_walk *mw = ctx;
	uint64_t rss = m->mem.v[ML_MEM_RSS], swap = m->mem.v[ML_MEM_SWAP];
	char name[64];
	struct stat st;

	if (m->perms[3] == 's' && m->inode && !mw->map_files_refused) {
		snprintf(name, sizeof(name), "map_files/%llx-%llx", (unsigned long long)m->start,
		         (unsigned long long)m->end);
		if (fstatat(mw->dirfd, name, &st, 0) == 0) {
			if (appendf(&mw->map_files, "%llx-%llx %llu %llu %llu\n",
			            (unsigned long long)m->start, (unsigned long long)m->end,
			            (unsigned long long)st.st_ino, (unsigned long long)st.st_size,
			            (unsigned long long)st.st_blocks) < 0)
				return -ENOMEM;
		} else if (errno == EACCES || errno == EPERM) {
			char path[64];
			mw->map_files_refused = true;
			snprintf(path, sizeof(path), "%s/memledger.map_files", mw->pdir);
			if (note_unreadable(mw->c, path, errno) < 0)
				return -ENOMEM;
		}
	}
	if ((strncmp(m->name, "/dmabuf:", 8) == 0 ||
	     strncmp(m->name, "anon_inode:dmabuf", 17) == 0) &&
	    appendf(&mw->dmabuf_maps, "%llx-%llx %s %08llx %02x:%02x %llu %s\n",
	            (unsigned long long)m->start, (unsigned long long)m->end, m->perms,
	            (unsigned long long)m->offset, m->dev_major, m->dev_minor,
	            (unsigned long long)m->inode, m->name) < 0)
		return -ENOMEM;
	if (mw->pagemap_fd < 0 || ml_mapping_has_flag(m, "ht"))
		return 0; /* hugetlbfs: not pages of the page allocator */
	if ((rss == ML_UNKNOWN || rss == 0) && (swap == ML_UNKNOWN || swap == 0))
		return 0;
	return read_mapping_pages(mw, m);
}

/* What smaps tells beside itself: the shared mappings' files, and with exact the
 * pagemap records of the populated pages. */
static int capture_mappings(struct cap *c, int dirfd, const char *pdir, const char *smaps,
                            size_t len)
{
	struct maps_walk mw = {.c = c, .dirfd = dirfd, .pagemap_fd = -1, .pdir = pdir};
	char path[64];
	int rc;

	c->out.len = 0;
	if (c->opts->exact) {
		static const char magic[8] = ML_SNAPSHOT_PAGEMAP_MAGIC;
		snprintf(path, sizeof(path), "%s/pagemap", pdir);
		mw.pagemap_fd = openat(dirfd, "pagemap", O_RDONLY | O_CLOEXEC);
		if (mw.pagemap_fd < 0 && errno != ENOENT && errno != ESRCH) {
			c->stats->pagemaps_refused++;
			if (note_unreadable(c, path, errno) < 0)
				return -ENOMEM;
		}
		if (append(&c->out, magic, 8) < 0)
			return -ENOMEM;
	}
	rc = ml_parse_smaps(smaps, len, on_mapping, &mw);
	if (mw.pagemap_fd >= 0) {
		close(mw.pagemap_fd);
		if (rc == 0)
			rc = put(c, path, c->out.data, c->out.len);
	}
	snprintf(path, sizeof(path), "%s/memledger.map_files", pdir);
	if (rc == 0 && !mw.map_files_refused)
		rc = put(c, path, mw.map_files.data ? mw.map_files.data : "", mw.map_files.len);
	free(mw.map_files.data);
	snprintf(path, sizeof(path), "%s/memledger.dmabuf-maps", pdir);
	if (rc == 0)
		rc = put(c, path, mw.dmabuf_maps.data ? mw.dmabuf_maps.data : "",
		         mw.dmabuf_maps.len);
	free(mw.dmabuf_maps.data);
	return rc == -EINVAL ? 0 : rc; /* smaps changed as it was read: it is as captured */
}

/* The memory files of a process with an address space. */
static int capture_memory(struct cap *c, int dirfd, const char *pdir)
{
	char path[64], target[4096];
	ssize_t n;
	int rc;

	snprintf(path, sizeof(path), "%s/smaps_rollup", pdir);
	rc = copy(c, dirfd, "smaps_rollup", path);
	if (rc < 0)
		return rc;
	snprintf(path, sizeof(path), "%s/smaps", pdir);
	rc = copy_as(c, dirfd, "smaps", path, F_SMAPS);
	if (rc < 0)
		return rc;
	if (rc == 0 && c->buf.len) { /* c->buf holds smaps: the mappings need no second read */
		rc = capture_mappings(c, dirfd, pdir, c->buf.data, c->buf.len);
		if (rc < 0)
			return rc;
	}
	snprintf(path, sizeof(path), "%s/exe", pdir);
	n = readlinkat(dirfd, "exe", target, sizeof(target) - 1);
	if (n >= 0) {
		target[n] = '\0';
		if (c->opts->redact) {
			c->red_out.len = 0;
			if (ml_redact_program(&c->red, target, (size_t)n, &c->red_out) < 0)
				return -ENOMEM;
			snprintf(target, sizeof(target), "%s", c->red_out.data);
		}
		rc = c->w->link(c->w->ctx, path, target);
	} else if (errno != ENOENT && errno != ESRCH) {
		rc = note_unreadable(c, path, errno);
	}
	return rc < 0 ? rc : capture_fds(c, dirfd, pdir);
}

/* A process's stat and command line, read before its other files: the argument area
 * bounds the command line, and redaction hashes the process's name where the command line
 * hides it. */
struct early {
	struct ml_bytes stat, cmdline;
	int stat_rc, cmdline_rc; /* read_at's */
};

/* Reads stat and cmdline into e: the command line cut at the argument area's end (never
 * the environment), redacted with redact (c->comm_token set when the name is hidden).
 * Returns 0 or -ENOMEM. */
static int read_early(struct cap *c, int dirfd, struct early *e)
{
	struct ml_stat st;
	bool hidden = false;

	c->comm_token[0] = '\0';
	e->stat_rc = read_at(dirfd, "stat", &e->stat);
	if (e->stat_rc < 0 || ml_parse_stat(e->stat.data, e->stat.len, &st) < 0)
		memset(&st, 0, sizeof(st));
	e->cmdline_rc = read_at(dirfd, "cmdline", &c->buf);
	if (e->cmdline_rc < 0)
		return e->cmdline_rc == -ENOMEM ? -ENOMEM : 0;
	c->buf.len = ml_cmdline_len(&st, c->buf.len);
	e->cmdline.len = 0;
	if (!c->opts->redact)
		return ml_bytes_append(&e->cmdline, c->buf.data, c->buf.len);
	if (ml_redact_cmdline(&c->red, c->buf.data, c->buf.len, st.comm, &hidden, &e->cmdline) < 0)
		return -ENOMEM;
	if (hidden)
		ml_redact_token(&c->red, st.comm, strlen(st.comm), c->comm_token);
	return 0;
}

/* Writes a file read early (rc: read_at's) to path as copy would. */
static int put_early(struct cap *c, const char *path, int rc, const struct ml_bytes *b)
{
	if (rc == -ENOENT || rc == -ESRCH)
		return 0;
	if (rc < 0)
		return rc == -ENOMEM ? rc : note_unreadable(c, path, rc);
	return put(c, path, b->data ? b->data : "", b->len);
}

/* One process. Returns 0 (captured, or gone) or -errno of the writer. */
static int capture_process(struct cap *c, pid_t pid, struct early *e)
{
	char name[16], pdir[32], path[64];
	struct ml_status status;
	int dirfd, rc;

	snprintf(name, sizeof(name), "%d", (int)pid);
	snprintf(pdir, sizeof(pdir), "proc/%d", (int)pid);
	dirfd = openat(c->procfd, name, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dirfd < 0)
		return 0; /* gone */
	rc = read_early(c, dirfd, e);
	snprintf(path, sizeof(path), "%s/status", pdir);
	if (rc == 0)
		rc = copy_as(c, dirfd, "status", path, F_STATUS);
	if (rc != 0) {
		close(dirfd);
		return rc < 0 ? rc : 0;
	}
	memset(&status, 0, sizeof(status));
	if (ml_parse_status(c->buf.data, c->buf.len, &status) < 0)
		status.has_mm = true; /* let the reader judge what the kernel wrote */
	snprintf(path, sizeof(path), "%s/stat", pdir);
	if (e->stat_rc == 0 && c->comm_token[0]) {
		rc = rename_stat(&c->red_out, e->stat.data, e->stat.len, c->comm_token);
		rc = rc < 0 ? rc : put(c, path, c->red_out.data, c->red_out.len);
	} else {
		rc = put_early(c, path, e->stat_rc, &e->stat);
	}
	snprintf(path, sizeof(path), "%s/comm", pdir);
	if (rc >= 0)
		rc = copy_as(c, dirfd, "comm", path, F_COMM);
	snprintf(path, sizeof(path), "%s/cgroup", pdir);
	if (rc >= 0)
		rc = copy_as(c, dirfd, "cgroup", path, F_CGROUP);
	snprintf(path, sizeof(path), "%s/cmdline", pdir);
	if (rc >= 0)
		rc = put_early(c, path, e->cmdline_rc, &e->cmdline);
	snprintf(path, sizeof(path), "%s/oom_score_adj", pdir); /* for memledger oom */
	if (rc >= 0 && status.has_mm)
		rc = copy_as(c, dirfd, "oom_score_adj", path, F_NONE);
	snprintf(path, sizeof(path), "%s/attr/current", pdir); /* the SELinux context */
	if (rc >= 0)
		rc = copy_as(c, dirfd, "attr/current", path, F_OPTIONAL);
	snprintf(path, sizeof(path), "%s/oom_score", pdir);
	if (rc >= 0 && status.has_mm)
		rc = copy_as(c, dirfd, "oom_score", path, F_NONE);
	if (rc >= 0 && status.has_mm)
		rc = capture_memory(c, dirfd, pdir);
	close(dirfd);
	if (rc >= 0)
		c->stats->processes++;
	return rc < 0 ? rc : 0;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return (x > y) - (x < y);
}

/* pread()s the 8-byte words of frames [first, first + n) of fd into out. */
static int read_words(int fd, uint64_t first, size_t n, uint64_t *out)
{
	ssize_t r;

	do
		r = pread(fd, out, n * 8, (off_t)(first * 8));
	while (r < 0 && errno == EINTR);
	if (r < 0)
		return -errno;
	if ((size_t)r < n * 8)
		memset((char *)out + r, 0, n * 8 - (size_t)r);
	return 0;
}

/* The frames seen, each once, with their map counts and flags: proc/kpages. */
static int capture_frames(struct cap *c)
{
	static const char magic[8] = ML_SNAPSHOT_FRAMES_MAGIC;
	int count_fd = openat(c->procfd, "kpagecount", O_RDONLY | O_CLOEXEC);
	int flags_fd = openat(c->procfd, "kpageflags", O_RDONLY | O_CLOEXEC), rc = 0;
	uint64_t counts[512], flags[512];
	size_t n = 0;

	if (count_fd < 0 || flags_fd < 0) {
		c->stats->frames_error = errno;
		rc = note_unreadable(c, "proc/kpages", errno);
		goto out;
	}
	if (c->nframes)
		qsort(c->frames, c->nframes, 8, cmp_u64);
	for (size_t i = 0; i < c->nframes; i++)
		if (n == 0 || c->frames[n - 1] != c->frames[i])
			c->frames[n++] = c->frames[i];
	c->stats->frames = n;
	c->out.len = 0;
	rc = append(&c->out, magic, 8);
	for (size_t i = 0; i < n && rc == 0;) {
		size_t run = 1; /* frames within 512 of the first: one pread each file */
		while (i + run < n && c->frames[i + run] - c->frames[i] < 512)
			run++;
		uint64_t first = c->frames[i], span = c->frames[i + run - 1] - first + 1;
		rc = read_words(count_fd, first, span, counts);
		if (rc == 0)
			rc = read_words(flags_fd, first, span, flags);
		for (size_t k = 0; k < run && rc == 0; k++) {
			uint64_t rec[3] = {c->frames[i + k], counts[c->frames[i + k] - first],
			                   flags[c->frames[i + k] - first]};
			rc = append(&c->out, rec, sizeof(rec));
		}
		i += run;
	}
	if (rc == 0)
		rc = put(c, "proc/kpages", c->out.data, c->out.len);
	else if (rc != -ENOMEM)
		rc = note_unreadable(c, "proc/kpages", rc);
out:
	if (count_fd >= 0)
		close(count_fd);
	if (flags_fd >= 0)
		close(flags_fd);
	return rc;
}

static int cmp_pid(const void *a, const void *b)
{
	pid_t x = *(const pid_t *)a, y = *(const pid_t *)b;

	return (x > y) - (x < y);
}

/* The PIDs of /proc, ascending, the caller's own left out. */
static int list_pids(struct cap *c, pid_t **pids, size_t *n)
{
	int fd = openat(c->procfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	DIR *d = fd < 0 ? NULL : fdopendir(fd);
	struct dirent *de;
	size_t cap = 0;

	*pids = NULL;
	*n = 0;
	if (!d) {
		if (fd >= 0)
			close(fd);
		return -errno;
	}
	while ((de = readdir(d))) {
		char *end;
		long pid = strtol(de->d_name, &end, 10);
		if (*end || pid <= 0 || pid == getpid())
			continue;
		if (ml_grow((void **)pids, &cap, *n, 1, sizeof(**pids)) < 0) {
			closedir(d);
			return -ENOMEM;
		}
		(*pids)[(*n)++] = (pid_t)pid;
	}
	closedir(d);
	if (*n)
		qsort(*pids, *n, sizeof(**pids), cmp_pid);
	return 0;
}

void ml_capture_exact_note(const struct ml_capture_opts *opts, const struct ml_capture_stats *stats,
                           char *buf, size_t len)
{
	size_t at = 0;

	buf[0] = '\0';
	if (!opts->exact || (!stats->frames_error && !stats->pagemaps_refused))
		return;
	if (stats->frames_error)
		at += (size_t)snprintf(buf, len,
		                       "--exact: the page frames (/proc/kpagecount) could "
		                       "not be read (%s)",
		                       ml_errno_name(stats->frames_error));
	if (stats->pagemaps_refused && at < len)
		at += (size_t)snprintf(buf + at, len - at,
		                       "%s%zu process%s pagemap could not be read",
		                       at ? "; " : "--exact: ", stats->pagemaps_refused,
		                       stats->pagemaps_refused == 1 ? "'s" : "es'");
	if (at < len)
		snprintf(buf + at, len - at,
		         ": FREED and COW from this snapshot are bounds from "
		         "smaps, not exact (capture as root)");
}

int ml_capture(const struct ml_capture_opts *opts, const struct ml_capture_writer *w,
               struct ml_capture_stats *stats)
{
	struct cap c = {.opts = opts, .w = w, .stats = stats, .root = opts->root ? opts->root : ""};
	struct early e = {.stat_rc = 0};
	pid_t *pids = NULL;
	size_t npids = 0;
	int rc;

	memset(stats, 0, sizeof(*stats));
	if (opts->redact)
		ml_redact_init(&c.red, opts->redact_key);
	c.procfd = open(opts->proc ? opts->proc : "/proc", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (c.procfd < 0)
		return -errno;
	c.sysfd = open(opts->sys ? opts->sys : "/sys", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (opts->exact && !(c.entries = malloc(CHUNK * 8))) {
		rc = -ENOMEM;
		goto out;
	}
	rc = write_manifest(&c);
	if (rc == 0)
		rc = capture_system(&c);
	if (rc == 0)
		rc = list_pids(&c, &pids, &npids);
	for (size_t i = 0; i < npids && rc == 0; i++) {
		rc = capture_process(&c, pids[i], &e);
		if (opts->progress)
			opts->progress(i + 1, npids, opts->progress_ctx);
	}
	if (rc == 0 && opts->exact)
		rc = capture_frames(&c);
	if (rc == 0)
		rc = put(&c, ML_SNAPSHOT_UNREADABLE, c.unreadable.data ? c.unreadable.data : "",
		         c.unreadable.len);
out:
	close(c.procfd);
	if (c.sysfd >= 0)
		close(c.sysfd);
	free(pids);
	free(c.buf.data);
	free(c.out.data);
	free(c.unreadable.data);
	free(c.red_out.data);
	free(e.stat.data);
	free(e.cmdline.data);
	free(c.frames);
	free(c.entries);
	return rc;
}
