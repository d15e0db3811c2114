/*
 * memledger-capture: a snapshot of /proc for memledger --source, from a small device
 * (adb shell memledger-capture > phone.tar). libc alone, static: the layout of
 * `memledger capture`, as an uncompressed tar, to stdout or a file.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "memledger/capture.h"
#include "memledger/outfile.h"
#include "memledger/redact.h"
#include "tar.h"

#ifndef MEMLEDGER_VERSION
#define MEMLEDGER_VERSION "unknown"
#endif

static struct ml_outfile out = {.fd = -1}; /* its temporary file removed on a signal */

static void on_signal(int sig)
{
	if (out.tmp[0])
		unlink(out.tmp);
	signal(sig, SIG_DFL);
	raise(sig);
}

/* Catches every signal whose default action ends the process: none leaves the temporary
 * file behind. */
static void catch_signals(void)
{
	static const int fatal[] = {SIGINT,  SIGTERM, SIGHUP,  SIGQUIT, SIGPIPE,   SIGUSR1,
	                            SIGUSR2, SIGALRM, SIGXCPU, SIGXFSZ, SIGVTALRM, SIGPROF};
	struct sigaction sa = {.sa_handler = on_signal};

	for (size_t i = 0; i < sizeof(fatal) / sizeof(fatal[0]); i++)
		sigaction(fatal[i], &sa, NULL);
}

static int w_file(void *ctx, const char *path, const void *data, size_t len)
{
	return tar_file(ctx, path, data, len);
}

static int w_link(void *ctx, const char *path, const char *target)
{
	return tar_link(ctx, path, target);
}

static void progress(size_t done, size_t total, void *ctx)
{
	(void)ctx;
	if (done == total || done % 16 == 0)
		fprintf(stderr, "\rmemledger-capture: %zu of %zu processes", done, total);
}

static void usage(FILE *f)
{
	fputs("Usage:\n memledger-capture [-o FILE] [--exact] [--redact]\n\n"
	      "Writes a snapshot of /proc and /sys for `memledger --source FILE`: an\n"
	      "uncompressed tar, to standard output unless -o names a file.\n\n"
	      "Options:\n"
	      " -o, --output <file>  write the snapshot here (through a temporary name)\n"
	      "     --exact          also pagemap and the page frames (as root)\n"
	      "     --redact         every argument, title word, file path outside system\n"
	      "                      directories, memfd name, cgroup below its service and\n"
	      "                      SysV key becomes a keyed hash <h:...>; program names\n"
	      "                      and Chromium roles stay\n"
	      "     --redact-key <key>  the hashes' key (32 hex digits, or any text), so that\n"
	      "                      snapshots diff; random (and said) when not given\n"
	      " -h, --help           this help\n"
	      " -V, --version        the version\n",
	      f);
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {{"output", required_argument, NULL, 'o'},
	                                         {"exact", no_argument, NULL, 'e'},
	                                         {"redact", no_argument, NULL, 'r'},
	                                         {"redact-key", required_argument, NULL, 'k'},
	                                         {"help", no_argument, NULL, 'h'},
	                                         {"version", no_argument, NULL, 'V'},
	                                         {NULL, 0, NULL, 0}};
	struct ml_capture_opts opts = {.writer = "memledger-capture " MEMLEDGER_VERSION};
	struct ml_capture_stats stats;
	const char *name = NULL, *key_text = NULL;
	uint8_t key[ML_REDACT_KEY_LEN];
	char hex[33], note[256];
	struct tar t;
	int c, fd = 1, rc;

	while ((c = getopt_long(argc, argv, "o:hV", longopts, NULL)) != -1) {
		switch (c) {
		case 'o': name = optarg; break;
		case 'e': opts.exact = true; break;
		case 'r': opts.redact = true; break;
		case 'k': key_text = optarg; break;
		case 'h': usage(stdout); return 0;
		case 'V': puts("memledger-capture " MEMLEDGER_VERSION); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "memledger-capture: no operands: '%s'\n", argv[optind]);
		return 2;
	}
	if (key_text && !opts.redact) {
		fputs("memledger-capture: --redact-key needs --redact\n", stderr);
		return 2;
	}
	if (opts.redact && key_text) {
		ml_redact_key_parse(key_text, key);
	} else if (opts.redact) {
		if (getrandom(key, sizeof(key), 0) != (ssize_t)sizeof(key)) {
			fprintf(stderr, "memledger-capture: no random key: %s\n", strerror(errno));
			return 1;
		}
		ml_redact_key_hex(key, hex);
		fprintf(stderr,
		        "memledger-capture: redacted with a random key; --redact-key %s redacts "
		        "another capture alike\n",
		        hex);
	}
	opts.redact_key = key;
	if (name && strcmp(name, "-") != 0) {
		const char *why;
		catch_signals();
		rc = ml_outfile_open(&out, name, 0600, &why);
		if (rc < 0) {
			if (why)
				fprintf(stderr, "memledger-capture: -o '%s': it %s\n", name, why);
			else
				fprintf(stderr, "memledger-capture: cannot write %s: %s\n", name,
				        strerror(-rc));
			return why ? 2 : 1;
		}
		fd = out.fd;
	} else if (isatty(1)) {
		fputs("memledger-capture: writes a tar archive: not to a terminal (use -o FILE)\n",
		      stderr);
		return 2;
	}
	if (isatty(2))
		opts.progress = progress;
	tar_init(&t, fd, time(NULL));
	rc = ml_capture(&opts, &(struct ml_capture_writer){w_file, w_link, &t}, &stats);
	if (opts.progress)
		fputc('\n', stderr);
	if (rc == 0)
		rc = tar_finish(&t);
	if (rc == 0 && out.fd >= 0)
		rc = ml_outfile_commit(&out);
	if (rc < 0) {
		fprintf(stderr, "memledger-capture: cannot write the snapshot: %s\n",
		        strerror(-rc));
		ml_outfile_abort(&out);
		return 1;
	}
	fprintf(stderr, "memledger-capture: %zu processes, %zu files could not be read\n",
	        stats.processes, stats.unreadable);
	ml_capture_exact_note(&opts, &stats, note, sizeof(note));
	if (note[0])
		fprintf(stderr, "memledger-capture: %s\n", note);
	return 0;
}
