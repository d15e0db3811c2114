/* Where /proc bytes come from: the live /proc, or a directory laid out like it. */
#ifndef MEMLEDGER_SOURCE_H
#define MEMLEDGER_SOURCE_H

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/types.h>

#include "memledger/capture.h"
#include "memledger/parse.h"

struct ml_source;

/*
 * Opens a source rooted at path ("/proc" when path is NULL): a directory, or a snapshot
 * archive (a regular file: a tar as `memledger capture` or smemcap writes it, compressed
 * or not), read in one pass, keeping of each process only the files that want says are
 * read: in memory from a compressed archive, in place (their offsets) in an uncompressed
 * one. Returns NULL, errno set and a message in err, when path can be neither.
 */
struct ml_source_want {
	unsigned needs;    /* ML_NEED_* of memledger/scan.h, or ML_SOURCE_KEEP_ALL */
	const pid_t *pids; /* of a snapshot, keep these processes' files alone, when npids > 0 */
	size_t npids;
};
struct ml_source *ml_source_open_for(const char *path, const struct ml_source_want *want, char *err,
                                     size_t errlen);
#define ML_SOURCE_KEEP_ALL (~0u)

/* ml_source_open_for keeping everything. */
struct ml_source *ml_source_new(const char *path);

/* The manifest of the snapshot at path, NUL-terminated into buf (cut to len), read alone:
 * the manifest comes first, so nothing else of the archive is read or decompressed.
 * Returns 0, or -ENOENT when path is no memledger snapshot. */
int ml_snapshot_manifest(const char *path, char *buf, size_t len);

/* When the snapshot at path was taken (its manifest's epoch, read alone: the manifest
 * comes first), in seconds; -1 when path is no memledger snapshot. */
double ml_snapshot_time(const char *path);

/* When the snapshot archive src reads was taken (its manifest's epoch), in seconds; -1
 * for a live or directory source, or a snapshot that does not say. */
double ml_source_time(const struct ml_source *src);

/* The UID a snapshot was captured as (its manifest's "uid:"), or -1: the live /proc, or a
 * snapshot (an archive, or an extracted one's proc/) that does not say. */
long ml_source_captured_uid(const struct ml_source *src);

/* The manifest of a snapshot (an archive's, or an extracted one's X/memledger-manifest
 * beside X/proc), NUL-terminated; NULL for the live /proc or a tree without one. */
const char *ml_source_manifest(const struct ml_source *src);

/* The value of the manifest's "KEY: VALUE" line into buf (cut to len). Returns true, or
 * false (buf "") when the source has no manifest or it no such line. */
bool ml_source_manifest_value(const struct ml_source *src, const char *key, char *buf, size_t len);

/* True when the source is an Android device's: a snapshot whose manifest says "android:",
 * or the live /proc of a system with /system/build.prop. */
bool ml_source_android(const struct ml_source *src);

/* True when the source is a snapshot archive. */
bool ml_source_is_archive(const struct ml_source *src);

/* The contents of the file at path of a snapshot archive ("memledger-manifest"), NUL
 * terminated, its length in *len; NULL when the source holds no such file. */
const char *ml_source_archive_file(const struct ml_source *src, const char *path, size_t *len);

/*
 * Clears the Referenced bits of every page of process pid (writes "1" to
 * /proc/PID/clear_refs), so that Referenced later counts the pages touched since: the
 * working set. A write, the one the library makes; only on the live /proc. Returns 0,
 * -EROFS for any other source, or -errno (-ESRCH: the process is gone).
 */
int ml_source_clear_refs(struct ml_source *src, pid_t pid);

/* Closes the source and frees it; NULL is allowed. */
void ml_source_free(struct ml_source *src);

/*
 * True when the source is a mounted procfs. There a missing per-process file means the
 * process exited; in a captured directory it means the file was not captured.
 */
bool ml_source_is_procfs(const struct ml_source *src);

/* The directory the source reads, as given (or "/proc"). */
const char *ml_source_path(const struct ml_source *src);

/*
 * Lists the numeric entries (process IDs) of the source's root, ascending, into a
 * malloc'ed array that the caller frees. Returns 0 or -errno.
 */
int ml_source_list_pids(struct ml_source *src, pid_t **pids, size_t *npids);

/*
 * Opens the directory of one process. Every later read of that process goes through the
 * returned fd, so that all of them come from the same process even if its PID is reused.
 * Returns the fd, or -errno (-ENOENT when the process is gone, -ELOOP for a symbolic link,
 * which is not followed, -ENOTDIR for a file).
 */
int ml_source_open_pid(struct ml_source *src, pid_t pid);

/* Opens path below the source's root (e.g. "kpagecount") for reading. Returns an fd or -errno. */
int ml_source_open(struct ml_source *src, const char *path);

/*
 * Opens name (a path: "sys/vm/max_map_count") below dirfd, a directory of src, for
 * reading. In the live /proc the kernel's files are opened as they are. A directory laid
 * out like /proc is read as a jail: name is resolved beneath dirfd (no "..", no symbolic
 * link leading out, none at all as its last part), opened without blocking, and must be
 * a regular file of at most ML_SOURCE_MAX_FILE bytes. Returns an fd or -errno:
 * -ML_ENOTREG for a FIFO, socket or device, -EISDIR for a directory (a file that could
 * not be read, as tests lay it out), -EFBIG, and -ELOOP or -EXDEV for a link.
 */
int ml_source_open_at(const struct ml_source *src, int dirfd, const char *name);

/* The most one file of a source may hold; a line read from it as well. */
#define ML_SOURCE_MAX_FILE (1ull << 30)

/* The most a text file (smaps, status, meminfo, ...) may hold: more than any real one (a
 * process of 65,530 mappings writes a 25 MiB smaps); only the page frame files (kpages,
 * pagemap, kpagecount, kpageflags) may hold up to ML_SOURCE_MAX_FILE. */
#define ML_SOURCE_MAX_TEXT (256ull << 20)

/* The most the file at path (as a source or snapshot names it) may hold. */
uint64_t ml_source_max_size(const char *path);

/* The error for a file of a source directory that is no regular file. */
#define ML_ENOTREG EMEDIUMTYPE

/* A message for an -errno of the source's calls: "malformed file" for -EINVAL, what the
 * jail refused, else strerror's. */
const char *ml_source_strerror(int err);

/* stat()s name below dirfd, following a symbolic link (map_files): from a snapshot, only
 * map_files entries, with their inode, size and blocks. Returns 0 or -errno. */
int ml_source_stat_at(struct ml_source *src, int dirfd, const char *name, struct stat *st);

/* True when name exists below dirfd, a directory of src. */
bool ml_source_has_at(struct ml_source *src, int dirfd, const char *name);

/* readlink() of name below dirfd, a directory of src. Returns the length (not
 * NUL-terminated, at most size) or -errno. */
ssize_t ml_source_readlink_at(struct ml_source *src, int dirfd, const char *name, char *buf,
                              size_t size);

/* A populated range of addresses, [start, end). */
struct ml_page_range {
	uint64_t start, end;
};

/*
 * The pagemap entries of pages [first, first + n) of a snapshot's pagemap fd (from
 * ml_source_open_at) into out, as pread of the kernel's file would give them (0 where no
 * page was captured). Returns n, or -ENOTTY when fd is not a snapshot's pagemap (then
 * pread it).
 */
long ml_source_pagemap_read(struct ml_source *src, int fd, uint64_t first, size_t n, uint64_t *out);

/*
 * For a pagemap opened from a snapshot: the ranges of [start, end) whose pages are present
 * or swapped, as the PAGEMAP_SCAN ioctl finds them, at most max into v. Returns how many,
 * or -ENOTTY when fd is no captured pagemap (then ask the kernel).
 */
long ml_source_pagemap_ranges(struct ml_source *src, int fd, uint64_t start, uint64_t end,
                              struct ml_page_range *v, size_t max);

/* A memfd that a process holds open. */
struct ml_fd_link {
	int fd;
	struct stat st; /* of the file: its device and inode */
};

/*
 * The memfds (links to "/memfd:...") that process pid holds open, from its fd directory,
 * into a malloc'ed array. Returns 0 or -errno.
 */
int ml_source_memfd_links(struct ml_source *src, pid_t pid, struct ml_fd_link **links, size_t *n);

/* Called with each open fd of a process and the target its link names (not
 * NUL-terminated); a non-zero return stops the walk with it. */
typedef int (*ml_fd_fn)(int fd, const char *target, size_t len, void *ctx);

/*
 * Calls fn for each fd that the process of dirfd (ml_source_open_pid) holds open: its fd
 * directory's links, or what a snapshot recorded of them (every memfd, DRM and dma-buf
 * fd, from version 3 of the layout). Returns 0, -errno (-ENOENT: not recorded; -EACCES:
 * refused), or what fn returned.
 */
int ml_source_each_fd(struct ml_source *src, int dirfd, ml_fd_fn fn, void *ctx);

/* A growable byte buffer, reused across reads. */
struct ml_buf {
	char *data;
	size_t len, cap;
};

void ml_buf_free(struct ml_buf *b);

/*
 * Reads name below dirfd of src whole into b, NUL-terminated: ml_source_open_at and
 * ml_read_whole, but straight from a snapshot archive's file, without a memfd between.
 * Returns 0 or -errno as ml_source_open_at.
 */
int ml_source_read_at(struct ml_source *src, int dirfd, const char *name, struct ml_buf *b);

/*
 * Reads fd to its end into b (replacing its contents, NUL-terminated), retrying EINTR
 * and short reads. Returns 0 or -errno; on error b's contents are undefined.
 */
int ml_read_whole(int fd, struct ml_buf *b);

/* Called once per line, without its newline; a non-zero return stops the read with it. */
typedef int (*ml_line_fn)(const char *line, size_t len, void *ctx);

/*
 * Reads fd to its end and calls fn for each line, holding only a chunk and one partial
 * line in b whatever the file's size. Returns 0, -errno, or what fn returned.
 */
int ml_read_lines(int fd, struct ml_buf *b, ml_line_fn fn, void *ctx);

/*
 * ml_read_lines with the reading done by a second thread, a few 256 KiB chunks ahead of
 * the parsing, so that both run at once: for one large file. fn runs in the caller's
 * thread. Falls back to ml_read_lines when no thread can be started.
 */
int ml_read_lines_ahead(int fd, struct ml_buf *b, ml_line_fn fn, void *ctx);

/*
 * Reads an smaps text from fd and calls emit for each mapping, holding one chunk in b.
 * Returns the number of mappings (0 for a kernel thread or a zombie), -EINVAL for a
 * malformed text, -errno, or what emit returned.
 */
long ml_read_smaps(int fd, struct ml_buf *b, ml_mapping_fn emit, void *ctx);

/* ml_read_smaps, reading ahead in a second thread (ml_read_lines_ahead). */
long ml_read_smaps_ahead(int fd, struct ml_buf *b, ml_mapping_fn emit, void *ctx);

/*
 * Opens path (a file, or a directory with O_DIRECTORY in flags) below the sys directory
 * that goes with the source: /sys for /proc, DIR/../sys for a captured DIR. Returns an
 * fd or -errno.
 */
int ml_source_open_sys(struct ml_source *src, const char *path, int flags);

/* Called with each name of a directory; a non-zero return stops the walk with it. */
typedef int (*ml_name_fn)(const char *name, void *ctx);

/* Calls fn for each entry of the sys directory dir ("block"), "." and ".." left out.
 * Returns 0, -errno, or what fn returned. */
int ml_source_each_sys(struct ml_source *src, const char *dir, ml_name_fn fn, void *ctx);

/*
 * Reads the file at path, relative to the source's root ("meminfo",
 * "sys/vm/max_map_count"), whole into b. Returns 0 or -errno.
 */
int ml_source_read(struct ml_source *src, const char *path, struct ml_buf *b);

/* Reads the file at path below the sys directory that goes with the source
 * ("block/zram0/mm_stat") whole into b. Returns 0 or -errno. */
int ml_source_read_sys(struct ml_source *src, const char *path, struct ml_buf *b);

/*
 * The decimal number that the file at path ("sys/vm/max_map_count", a sysctl) starts
 * with, or ML_UNKNOWN when the file cannot be read or holds none.
 */
uint64_t ml_source_read_u64(struct ml_source *src, const char *path);

#endif
