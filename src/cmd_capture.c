/* memledger capture: the live system into a snapshot archive, through libarchive. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "adb.h"
#include "commands.h"
#include "run.h"
#include "memledger.h"
#include "memledger/libarchive.h"
#include "memledger/capture.h"
#include "memledger/outfile.h"
#include "memledger/redact.h"

#ifndef MEMLEDGER_VERSION
#define MEMLEDGER_VERSION "unknown"
#endif

/* The archive being written, for the writer's callbacks. */
struct tar_out {
	struct archive *a;
	time_t now;
};

/* The archive's error as -errno. */
static int archive_rc(struct archive *a)
{
	return ml_la.archive_errno(a) > 0 ? -ml_la.archive_errno(a) : -EIO;
}

/* Writes the header of an entry of len bytes, whose data the caller writes next. Returns 0
 * or -errno. */
static int entry_header(struct tar_out *t, const char *path, unsigned type, size_t len,
                        const char *target)
{
	struct archive_entry *e = ml_la.archive_entry_new();
	int rc = 0;

	if (!e)
		return -ENOMEM;
	ml_la.archive_entry_set_pathname(e, path);
	ml_la.archive_entry_set_filetype(e, type);
	ml_la.archive_entry_set_perm(e, type == AE_IFLNK ? 0777 : 0444);
	ml_la.archive_entry_set_mtime(e, t->now, 0);
	if (target)
		ml_la.archive_entry_set_symlink(e, target);
	ml_la.archive_entry_set_size(e, (la_int64_t)len);
	if (ml_la.archive_write_header(t->a, e) != ARCHIVE_OK)
		rc = archive_rc(t->a);
	ml_la.archive_entry_free(e);
	return rc;
}

static int add_entry(struct tar_out *t, const char *path, unsigned type, const void *data,
                     size_t len, const char *target)
{
	int rc = entry_header(t, path, type, len, target);

	if (rc == 0 && len && ml_la.archive_write_data(t->a, data, len) != (la_ssize_t)len)
		rc = archive_rc(t->a);
	return rc;
}

static int tar_file(void *ctx, const char *path, const void *data, size_t len)
{
	return add_entry(ctx, path, AE_IFREG, data, len, NULL);
}

static int tar_link(void *ctx, const char *path, const char *target)
{
	return add_entry(ctx, path, AE_IFLNK, NULL, 0, target);
}

/* The compression that a file name's ending asks for, as a libarchive filter; -1 when
 * the name says no tar. */
static int filter_of(const char *name)
{
	static const struct {
		const char *end;
		int filter;
	} ends[] = {{".tar", ARCHIVE_FILTER_NONE},  {".tar.gz", ARCHIVE_FILTER_GZIP},
	            {".tgz", ARCHIVE_FILTER_GZIP},  {".tar.zst", ARCHIVE_FILTER_ZSTD},
	            {".tar.xz", ARCHIVE_FILTER_XZ}, {".tar.bz2", ARCHIVE_FILTER_BZIP2}};
	size_t len = strlen(name);

	if (strcmp(name, "-") == 0)
		return ARCHIVE_FILTER_NONE;
	for (size_t i = 0; i < sizeof(ends) / sizeof(ends[0]); i++) {
		size_t elen = strlen(ends[i].end);
		if (len > elen && strcmp(name + len - elen, ends[i].end) == 0)
			return ends[i].filter;
	}
	return -1;
}

/* The signals whose default action ends the process: each would leave the temporary file.
 * They are blocked while it exists, and looked for between processes (no handler, no
 * state for one). */
static const int fatal_signals[] = {SIGINT,  SIGTERM, SIGHUP,  SIGQUIT, SIGPIPE,   SIGUSR1,
                                    SIGUSR2, SIGALRM, SIGXCPU, SIGXFSZ, SIGVTALRM, SIGPROF};
#define NFATAL (sizeof(fatal_signals) / sizeof(fatal_signals[0]))

/* The archive being written and what may end it. */
struct writing {
	struct ml_outfile out; /* its temporary file, removed if a signal ends the capture */
	sigset_t fatal, old;   /* fatal_signals, blocked; the mask before */
	bool series;           /* capture -i: SIGINT and SIGTERM end the series with 0 */
	bool ended;            /* the series was ended: the frame being written is not one */
	bool tty;              /* progress on stderr */
};

/* Blocks the fatal signals before the temporary file exists: none can be left. */
static void block_fatal(struct writing *w)
{
	sigemptyset(&w->fatal);
	for (size_t i = 0; i < NFATAL; i++)
		sigaddset(&w->fatal, fatal_signals[i]);
	sigprocmask(SIG_BLOCK, &w->fatal, &w->old);
}

/* A fatal signal that came while the file was written: the temporary file removed, then
 * the signal takes its course (the process ends by it), or in a series SIGINT and SIGTERM
 * end the series (run_stop) with the frame not written. Returns true when it ended. */
static bool signalled(struct writing *w)
{
	struct timespec now = {0, 0};
	sigset_t pending;

	if (w->ended || sigpending(&pending) < 0)
		return w->ended;
	for (size_t i = 0; i < NFATAL; i++) {
		int sig = fatal_signals[i];
		sigset_t one;
		if (!sigismember(&pending, sig))
			continue;
		ml_outfile_abort(&w->out);
		sigemptyset(&one);
		sigaddset(&one, sig);
		if (w->series && (sig == SIGINT || sig == SIGTERM)) {
			sigtimedwait(&one, NULL, &now); /* taken: the series ends with 0 */
			run_stop = 1;
			w->ended = true;
			return true;
		}
		signal(sig, SIG_DFL);
		sigprocmask(SIG_UNBLOCK, &one, NULL); /* ends the process, as it would have */
	}
	return false;
}

static void progress(size_t done, size_t total, void *ctx)
{
	struct writing *w = ctx;

	if (w->tty && (done == total || done % 16 == 0))
		fprintf(stderr, "\rmemledger: capturing: %zu of %zu processes", done, total);
	signalled(w);
}

/* Opens the archive on fd with the filter. Returns it, or NULL after a message. */
static struct archive *open_archive(int fd, int filter, const char *name)
{
	char err[512];
	struct archive *a;

	if (ml_libarchive_load(err, sizeof(err)) < 0) {
		cli_warn("capture: %s", err);
		return NULL;
	}
	a = ml_la.archive_write_new();

	/* GNU tar's format: names are bytes, stored as they are; pax would convert them to
	 * UTF-8 through the locale, which fails on a name that is none (a cgroup's) */
	if (!a || ml_la.archive_write_set_format_gnutar(a) != ARCHIVE_OK ||
	    ml_la.archive_write_add_filter(a, filter) != ARCHIVE_OK ||
	    (filter == ARCHIVE_FILTER_GZIP &&
	     ml_la.archive_write_set_filter_option(a, NULL, "compression-level", "1") !=
	         ARCHIVE_OK) ||
	    ml_la.archive_write_set_bytes_in_last_block(a, 1) != ARCHIVE_OK ||
	    ml_la.archive_write_open_fd(a, fd) != ARCHIVE_OK) {
		cli_warn("cannot write %s: %s", name,
		         a && ml_la.archive_error_string(a) ? ml_la.archive_error_string(a)
		                                            : strerror(ENOMEM));
		if (a)
			ml_la.archive_write_free(a);
		return NULL;
	}
	return a;
}

/* Opens the archive's file (w->out), the fatal signals blocked until it is whole. Returns
 * an exit status after a message. */
static int open_output(const char *name, struct writing *w)
{
	const char *why;
	int rc;

	block_fatal(w);
	rc = ml_outfile_open(&w->out, name, 0600 /* it names every process: the user's alone */,
	                     &why);
	if (rc == 0)
		return EXIT_OK;
	sigprocmask(SIG_SETMASK, &w->old, NULL);
	if (why) {
		cli_warn("-o '%s': it %s", name, why);
		return EXIT_USAGE;
	}
	cli_warn("cannot write %s: %s", name, strerror(-rc));
	return EXIT_ERROR;
}

/* memledger-WHO-UTC.tar.zst in dir ("" here), into buf: capture's default name (WHO the
 * host, or with --adb the device). */
static void default_name(char *buf, size_t len, const char *dir, const char *who)
{
	struct timespec now;
	struct tm tm;

	clock_gettime(CLOCK_REALTIME, &now);
	gmtime_r(&now.tv_sec, &tm);
	snprintf(buf, len, "%.3900smemledger-%.64s-%04d%02d%02d-%02d%02d%02d.%03d.tar.zst", dir,
	         who, tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min,
	         tm.tm_sec, (int)(now.tv_nsec / 1000000));
}

/* The key of --redact: --redact-key's, or random and said, so that a later capture can
 * take it. Returns 0, or -1 after a message. */
static int redact_key(const struct cli *cli, uint8_t key[ML_REDACT_KEY_LEN])
{
	char hex[33];

	if (cli->redact_key) {
		ml_redact_key_parse(cli->redact_key, key);
		return 0;
	}
	if (getrandom(key, ML_REDACT_KEY_LEN, 0) != ML_REDACT_KEY_LEN) {
		cli_warn("--redact: no random key: %s", strerror(errno));
		return -1;
	}
	ml_redact_key_hex(key, hex);
	cli_warn("redacted with a random key; --redact-key %s redacts another capture alike", hex);
	return 0;
}

/* Writes the snapshot to fd (of wr, whose signals are looked for). Returns an exit status. */
static int write_snapshot(struct run *run, struct writing *wr, int fd, int filter, const char *name,
                          struct ml_capture_stats *stats)
{
	const struct cli *cli = run->cli;
	struct tar_out t = {.a = open_archive(fd, filter, name), .now = time(NULL)};
	struct ml_capture_writer w = {tar_file, tar_link, &t};
	struct ml_capture_opts opts = {.writer = "memledger " MEMLEDGER_VERSION,
	                               .exact = cli->exact,
	                               .redact = cli->redact,
	                               .progress = progress,
	                               .progress_ctx = wr};
	char note[256];
	int rc;

	if (cli->redact && !run->redact_keyed) { /* one key for every frame of capture -i */
		if (redact_key(cli, run->redact_key) < 0) {
			ml_la.archive_write_free(t.a);
			return EXIT_ERROR;
		}
		run->redact_keyed = true;
	}
	opts.redact_key = run->redact_key;
	if (!t.a)
		return EXIT_ERROR;
	rc = ml_capture(&opts, &w, stats);
	if (wr->tty)
		fputc('\n', stderr);
	if (ml_la.archive_write_close(t.a) != ARCHIVE_OK && rc == 0)
		rc = ml_la.archive_errno(t.a) > 0 ? -ml_la.archive_errno(t.a) : -EIO;
	ml_la.archive_write_free(t.a);
	if (rc < 0) {
		cli_warn("cannot write %s: %s", name, strerror(-rc));
		return EXIT_ERROR;
	}
	ml_capture_exact_note(&opts, stats, note, sizeof(note));
	if (note[0] && !run->said_pages) { /* capture -i: once */
		cli_warn("%s", note);
		run->said_pages = true;
	}
	return EXIT_OK;
}

/* What capture --adb writes its -o with: the name and its compression. */
struct adb_out {
	const char *name;
	int filter;
};

/* Copies entry e of the archive r into the snapshot t: a file's data streamed, a link as a
 * link. Returns 0, or -errno. */
static int copy_entry(struct archive *r, struct archive_entry *e, struct tar_out *t)
{
	const char *path = ml_la.archive_entry_pathname(e);
	unsigned type = ml_la.archive_entry_filetype(e);
	la_int64_t size = ml_la.archive_entry_size(e), done = 0;
	char buf[65536];
	int rc;

	if (type == AE_IFLNK)
		return tar_link(t, path, ml_la.archive_entry_symlink(e));
	if (type != AE_IFREG)
		return 0; /* directories: implied by the paths */
	if (size < 0)
		return -EINVAL;
	rc = entry_header(t, path, AE_IFREG, (size_t)size, NULL);
	while (rc == 0 && done < size) {
		la_ssize_t got = ml_la.archive_read_data(r, buf, sizeof(buf));
		if (got <= 0)
			return -EIO; /* the device's tar ends inside an entry */
		if (ml_la.archive_write_data(t->a, buf, (size_t)got) != got)
			rc = archive_rc(t->a);
		done += got;
	}
	return rc;
}

/* capture --adb's writer: the device's uncompressed tar (the file at tar) rewritten to fd
 * compressed as the name asks (or not), entry by entry in its order. Returns 0, or 1 after
 * a message. */
static int adb_write_out(const char *tar, int fd, void *ctx)
{
	const struct adb_out *o = ctx;
	struct tar_out t = {.a = open_archive(fd, o->filter, o->name), .now = time(NULL)};
	struct archive *r = ml_la.archive_read_new();
	struct archive_entry *e;
	int in = open(tar, O_RDONLY | O_CLOEXEC), rc = 0, h;

	if (!t.a || !r || in < 0 || ml_la.archive_read_support_format_gnutar(r) != ARCHIVE_OK ||
	    ml_la.archive_read_support_format_tar(r) != ARCHIVE_OK ||
	    ml_la.archive_read_open_fd(r, in, 65536) != ARCHIVE_OK)
		rc = -EIO;
	while (rc == 0 && (h = ml_la.archive_read_next_header(r, &e)) != ARCHIVE_EOF)
		rc = h == ARCHIVE_OK ? copy_entry(r, e, &t) : -EIO;
	if (t.a && ml_la.archive_write_close(t.a) != ARCHIVE_OK && rc == 0)
		rc = -EIO;
	if (rc < 0)
		cli_warn("capture --adb: cannot rewrite the device's tar as %s: %s", o->name,
		         r && ml_la.archive_error_string(r) ? ml_la.archive_error_string(r)
		                                            : strerror(-rc));
	if (t.a)
		ml_la.archive_write_free(t.a);
	if (r)
		ml_la.archive_read_free(r);
	if (in >= 0)
		close(in);
	return rc < 0 ? 1 : 0;
}

/* capture --adb [SERIAL]: the device's snapshot into -o, compressed as its name says
 * (memledger-SERIAL-TIME.tar.zst here by default; the device writes an uncompressed tar,
 * rewritten here entry by entry). --redact-key without --redact is cmd_capture's error. */
static int capture_adb(struct run *run)
{
	const struct cli *cli = run->cli;
	struct adb_capture a = {.root = cli->root,
	                        .exact = cli->exact,
	                        .redact = cli->redact,
	                        .redact_key = cli->redact_key,
	                        .output = cli->columns};
	char deflt[PATH_MAX], err[512];
	struct adb_out out;

	if (!cli->adb) {
		cli_warn("--root is capture --adb's: it runs the device's capture through su -c");
		return EXIT_USAGE;
	}
	if (cli->noperands > 1) {
		cli_warn("capture --adb takes one device serial: '%s'", cli->operands[1]);
		return EXIT_USAGE;
	}
	if (cli->interval > 0) {
		cli_warn("capture --adb takes one snapshot: no -i");
		return EXIT_USAGE;
	}
	a.serial = cli->noperands ? cli->operands[0] : NULL;
	if (!a.output || (a.output[0] && a.output[strlen(a.output) - 1] == '/')) {
		default_name(deflt, sizeof(deflt), a.output ? a.output : "",
		             a.serial ? a.serial : "android");
		a.output = deflt;
	}
	out = (struct adb_out){.name = a.output, .filter = filter_of(a.output)};
	if (out.filter < 0 || strcmp(a.output, "-") == 0) {
		cli_warn("capture --adb: -o takes a name that ends in .tar, .tar.gz, .tar.zst, "
		         ".tar.xz or .tar.bz2: '%s'",
		         a.output);
		return EXIT_USAGE;
	}
	if (ml_libarchive_load(err, sizeof(err)) < 0) {
		cli_warn("capture: %s", err);
		return EXIT_ERROR;
	}
	a.write_out = adb_write_out;
	a.write_ctx = &out;
	return adb_capture(&a);
}

int cmd_capture(struct run *run)
{
	struct cli *cli = run->cli;
	char deflt[PATH_MAX], host[64] = "host";
	const char *name = cli->columns; /* -o: the file */
	struct writing w = {.out = {.fd = -1}, .series = cli->interval > 0, .tty = isatty(2)};
	struct ml_capture_stats stats;
	int filter, rc;

	if (cli->redact_key && !cli->redact) {
		cli_warn("--redact-key needs --redact");
		return EXIT_USAGE;
	}
	if (cli->adb || cli->root)
		return capture_adb(run);
	if (cli->noperands) {
		cli_warn("capture takes no operands: '%s'", cli->operands[0]);
		return EXIT_USAGE;
	}
	if (!name || (name[0] && name[strlen(name) - 1] == '/')) {
		/* memledger-HOST-UTC.tar.zst here, or in the directory -o names (a series with
		 * -i: one a frame, in time order by name; top --source DIR replays them) */
		gethostname(host, sizeof(host) - 1);
		default_name(deflt, sizeof(deflt), name ? name : "", host);
		name = deflt;
	}
	if (strcmp(name, "-") == 0 && cli->interval > 0) {
		cli_warn("capture -i writes a snapshot a frame: -o DIR/, not -o -");
		return EXIT_USAGE;
	}
	if (!name[0]) {
		cli_warn("-o '': it is an empty name");
		return EXIT_USAGE;
	}
	filter = filter_of(name);
	if (filter < 0) {
		cli_warn(
		    "-o takes a name that ends in .tar, .tar.gz, .tar.zst, .tar.xz or .tar.bz2, "
		    "or -: '%s'",
		    name);
		return EXIT_USAGE;
	}
	if (strcmp(name, "-") == 0) {
		if (isatty(1)) {
			cli_warn("capture -o - writes a tar archive: not to a terminal");
			return EXIT_USAGE;
		}
		fflush(stdout);
		return write_snapshot(run, &w, 1, filter, "standard output", &stats);
	}
	rc = open_output(name, &w);
	if (rc != EXIT_OK)
		return rc;
	rc = write_snapshot(run, &w, w.out.fd, filter, name, &stats);
	if (signalled(&w)) /* the series ended: no frame, and exit status 0 */
		rc = EXIT_GO_ON;
	else if (rc == EXIT_OK && (rc = ml_outfile_commit(&w.out)) < 0) {
		cli_warn("cannot write %s: %s", name, strerror(-rc));
		rc = EXIT_ERROR;
	}
	ml_outfile_abort(&w.out);
	sigprocmask(SIG_SETMASK, &w.old, NULL); /* a signal after the commit: the file is whole */
	if (rc == EXIT_GO_ON)
		return EXIT_OK;
	if (rc == EXIT_OK)
		fprintf(stderr,
		        "memledger: wrote %s: %zu processes, %zu files could not be read%s\n", name,
		        stats.processes, stats.unreadable,
		        stats.unreadable ? " (see memledger-unreadable in it)" : "");
	return rc;
}
