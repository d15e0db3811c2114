/* Captures what every view reads into a snapshot, through a writer the caller gives. */
#ifndef MEMLEDGER_CAPTURE_H
#define MEMLEDGER_CAPTURE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

/*
 * The snapshot layout (doc/snapshot.md): the manifest first, the /proc files below
 * "proc/", the /sys ones below "sys/", and last memledger-unreadable: "PATH ENAME" for
 * each file that could not be read. Besides the kernel's files, a process directory
 * may hold memledger.fds ("FD MAJOR:MINOR INODE TARGET": its memfds), memledger.map_files
 * ("START-END INODE SIZE BLOCKS": its shared mappings' files), and with --exact pagemap
 * (ML_SNAPSHOT_PAGEMAP_MAGIC, then records: first page, count, count entries; u64 each,
 * little-endian); "proc/kpages" holds the frames seen (ML_SNAPSHOT_FRAMES_MAGIC, then
 * frame, map count, flags per frame, ascending).
 */
#define ML_SNAPSHOT_MANIFEST      "memledger-manifest"
#define ML_SNAPSHOT_UNREADABLE    "memledger-unreadable"
#define ML_SNAPSHOT_PAGEMAP_MAGIC "MLPAGES1"
#define ML_SNAPSHOT_FRAMES_MAGIC  "MLFRAME1"

/* Where the captured files go: a tar writer (libarchive's, or memledger-capture's own). */
struct ml_capture_writer {
	/* Adds a regular file of len bytes. Returns 0 or -errno (the capture stops). */
	int (*file)(void *ctx, const char *path, const void *data, size_t len);
	/* Adds a symbolic link. Returns 0 or -errno. */
	int (*link)(void *ctx, const char *path, const char *target);
	void *ctx;
};

struct ml_capture_opts {
	const char *proc;          /* "/proc" when NULL */
	const char *sys;           /* "/sys" when NULL */
	const char *root;          /* where /etc and /system are: "/" when NULL */
	const char *writer;        /* the capturing program and its version, for the manifest */
	bool exact;                /* pagemap of the populated ranges, and the frames seen */
	bool redact;               /* every user-chosen string a stable keyed hash (lib/redact.h) */
	const uint8_t *redact_key; /* with redact: its 16 bytes */
	/* Called after each process with how many are done of how many; may be NULL. */
	void (*progress)(size_t done, size_t total, void *ctx);
	void *progress_ctx;
};

/* What a capture did. */
struct ml_capture_stats {
	size_t processes;        /* captured */
	size_t unreadable;       /* files that could not be read, named in memledger-unreadable */
	size_t frames;           /* with exact: page frames recorded */
	int frames_error;        /* with exact: 0, or the errno that kept kpagecount and kpageflags
	                            from being read (EACCES: Android's shell, SELinux; EPERM) */
	size_t pagemaps_refused; /* with exact: processes whose pagemap could not be read */
	uint64_t bytes;          /* handed to the writer */
};

/*
 * Reads the live /proc and /sys and hands the snapshot to w in the layout that
 * doc/snapshot.md describes: the manifest first (ML_SNAPSHOT_MANIFEST), the system's
 * files, each process's files (never environ, never memory contents), with exact the
 * frames, and last memledger-unreadable, the files that could not be read and why
 * ("PATH ENAME" lines). The manifest says who captured (uid, user: its name, context: its
 * security context) and on what (android:, device:, chromeos:). Processes that exit while read are
 * left out. Returns 0, or the writer's -errno, or -ENOMEM; stats are filled in either case.
 */
int ml_capture(const struct ml_capture_opts *opts, const struct ml_capture_writer *w,
               struct ml_capture_stats *stats);

/*
 * What --exact could not do, as a sentence for its user into buf (len bytes): the page
 * frames it could not read and why, the pagemaps refused, and what that means for the
 * snapshot (FREED and COW from smaps: bounds). "" when it did all it was asked.
 */
void ml_capture_exact_note(const struct ml_capture_opts *opts, const struct ml_capture_stats *stats,
                           char *buf, size_t len);

#endif
