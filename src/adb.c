/*
 * memledger capture --adb: the static capture built for the device's ABI pushed to
 * /data/local/tmp over adb, run there (through su -c with --root), its tar pulled into -o
 * and what was pushed removed, whatever happened. Debian's adb does the talking; every
 * command is an argument vector (no shell here); what runs on the device is memledger's
 * own fixed command line.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netinet/in.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "adb.h"
#include "msg.h"
#include "run.h"
#include "memledger/redact.h"
#include "memledger/outfile.h"

#ifndef MEMLEDGER_LIBEXECDIR
#define MEMLEDGER_LIBEXECDIR "/usr/local/libexec/memledger"
#endif

extern char **environ;

struct adb {
	const char *serial; /* -s SERIAL, or NULL: adb's choice (ANDROID_SERIAL, the only one) */
	char remote[96];    /* the capture pushed: /data/local/tmp/memledger-capture-PID */
	char remote_tar[96];
	bool pushed;
};

/* Runs adb [-s SERIAL] ARGS...: its standard output into out (len bytes, NUL-terminated,
 * cut) when out is given, else to fd out_fd (-1: /dev/null); its standard error passed
 * through. Returns its exit status, or -errno when it could not be run. */
static int adb_run(const struct adb *a, const char *const *args, char *out, size_t len, int out_fd)
{
	const char *argv[16];
	size_t n = 0;
	posix_spawn_file_actions_t fa;
	int pipefd[2] = {-1, -1}, status, rc;
	pid_t pid;

	argv[n++] = "adb";
	if (a->serial) {
		argv[n++] = "-s";
		argv[n++] = a->serial;
	}
	for (size_t i = 0; args[i] && n < 15; i++)
		argv[n++] = args[i];
	argv[n] = NULL;
	if (out && pipe2(pipefd, O_CLOEXEC) < 0)
		return -errno;
	posix_spawn_file_actions_init(&fa);
	if (out)
		posix_spawn_file_actions_adddup2(&fa, pipefd[1], 1);
	else if (out_fd >= 0)
		posix_spawn_file_actions_adddup2(&fa, out_fd, 1);
	else
		posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
	rc = posix_spawnp(&pid, "adb", &fa, NULL, (char *const *)argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	if (out)
		close(pipefd[1]);
	if (rc != 0) {
		if (out)
			close(pipefd[0]);
		return -rc;
	}
	if (out) {
		size_t got = 0;
		ssize_t r;
		char sink[512];
		while ((r = read(pipefd[0], got + 1 < len ? out + got : sink,
		                 got + 1 < len ? len - 1 - got : sizeof(sink))) != 0) {
			if (r < 0 && errno == EINTR)
				continue;
			if (r < 0)
				break;
			if (got + 1 < len)
				got += (size_t)r;
		}
		out[got] = '\0';
		close(pipefd[0]);
	}
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return -errno;
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

/* True when an adb server listens (ANDROID_ADB_SERVER_PORT, else 5037 on loopback): one
 * that memledger does not start, it does not stop. */
static bool server_running(void)
{
	const char *port = getenv("ANDROID_ADB_SERVER_PORT");
	struct sockaddr_in sa = {.sin_family = AF_INET,
	                         .sin_port =
	                             htons(port && atoi(port) > 0 ? (uint16_t)atoi(port) : 5037),
	                         .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	bool up = fd >= 0 && connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0;

	if (fd >= 0)
		close(fd);
	return up;
}

/* The capture built for an Android ABI (ro.product.cpu.abi), beside this program (a build
 * directory) or in the installed libexec directory, into path. Returns 0, -ENOTSUP for an
 * ABI it is not built for, -ENOENT when not built. */
static int capture_for(const char *abi, char *path, size_t len)
{
	static const struct {
		const char *abi, *file;
	} builds[] = {{"arm64-v8a", "memledger-capture-arm64"},
	              {"armeabi-v7a", "memledger-capture-armv7"},
	              {"armeabi", "memledger-capture-armv7"},
	              {"x86_64", "memledger-capture-static"}};
	char self[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	const char *file = NULL;

	for (size_t i = 0; i < sizeof(builds) / sizeof(builds[0]); i++)
		if (strcmp(abi, builds[i].abi) == 0)
			file = builds[i].file;
	if (!file)
		return -ENOTSUP;
	if (n > 0) {
		self[n] = '\0';
		*strrchr(self, '/') = '\0';
		if ((size_t)snprintf(path, len, "%.*s/%s", (int)(len > 64 ? len - 64 : 0), self,
		                     file) < len &&
		    access(path, R_OK) == 0)
			return 0;
	}
	snprintf(path, len, "%s/%s", MEMLEDGER_LIBEXECDIR, file);
	return access(path, R_OK) == 0 ? 0 : -ENOENT;
}

/* Removes what was pushed (the capture and its tar), whatever happened. */
static void clean_device(struct adb *a)
{
	if (!a->pushed)
		return;
	adb_run(a, (const char *[]){"shell", "rm", "-f", a->remote, a->remote_tar, NULL}, NULL, 0,
	        -1);
	a->pushed = false;
}

/* Pulls the device's tar into a private temporary directory and has opts->write_out write
 * it to the open output o; the directory is removed after. Returns 0, or 1 with the reason
 * said. */
static int pull_into(struct adb *a, struct ml_outfile *o, const struct adb_capture *opts)
{
	char dir[] = "/tmp/memledger-adb-XXXXXX", file[64];
	int rc = 1;

	if (!mkdtemp(dir)) {
		cli_warn("capture --adb: no temporary directory: %s", strerror(errno));
		return 1;
	}
	snprintf(file, sizeof(file), "%s/snapshot.tar", dir);
	if (adb_run(a, (const char *[]){"pull", a->remote_tar, file, NULL}, NULL, 0, -1) != 0) {
		cli_warn("capture --adb: adb pull %s failed", a->remote_tar);
	} else {
		rc = opts->write_out(file, o->fd, opts->write_ctx);
	}
	unlink(file);
	rmdir(dir);
	return rc;
}

/* Asks the device its ABI and pushes the capture built for it. Returns 0, or 1 with the
 * reason said. */
static int push_capture(struct adb *a)
{
	char abi[64], local[PATH_MAX];
	int rc;

	rc = adb_run(a, (const char *[]){"shell", "getprop", "ro.product.cpu.abi", NULL}, abi,
	             sizeof(abi), -1);
	abi[strcspn(abi, "\r\n")] = '\0';
	if (rc != 0 || !abi[0]) {
		cli_warn("capture --adb: the device does not say its ABI "
		         "(getprop ro.product.cpu.abi)");
		return 1;
	}
	rc = capture_for(abi, local, sizeof(local));
	if (rc == -ENOTSUP) {
		cli_warn("capture --adb: no capture is built for %s", abi);
		return 1;
	}
	if (rc < 0) {
		cli_warn("capture --adb: %s is not built (make capture-cross builds the "
		         "captures for arm64-v8a and armeabi-v7a)",
		         local);
		return 1;
	}
	a->pushed = true; /* from here on, whatever happens, rm -f */
	if (adb_run(a, (const char *[]){"push", local, a->remote, NULL}, NULL, 0, -1) != 0 ||
	    adb_run(a, (const char *[]){"shell", "chmod", "755", a->remote, NULL}, NULL, 0, -1) !=
	        0) {
		cli_warn("capture --adb: cannot push %s to %s", local, a->remote);
		return 1;
	}
	cli_warn("capture --adb: %s (%s) pushed to %s", local, abi, a->remote);
	return 0;
}

/* Runs the pushed capture on the device (as root through su -c with root). Returns 0, or
 * 1 with the reason said (the capture says its own on standard error). */
static int run_capture(struct adb *a, const struct adb_capture *opts)
{
	char cmd[512];
	int rc;

	snprintf(cmd, sizeof(cmd), "%s%s%s -o %s", a->remote, opts->exact ? " --exact" : "",
	         opts->redact ? " --redact" : "", a->remote_tar);
	if (opts->redact && opts->redact_key) { /* as hex: no text of the user's on the device */
		uint8_t key[ML_REDACT_KEY_LEN];
		char hex[33];
		ml_redact_key_parse(opts->redact_key, key);
		ml_redact_key_hex(key, hex);
		snprintf(cmd + strlen(cmd), sizeof(cmd) - strlen(cmd), " --redact-key %s", hex);
	}
	rc = opts->root ? adb_run(a, (const char *[]){"shell", "su", "-c", cmd, NULL}, NULL, 0, -1)
	                : adb_run(a, (const char *[]){"shell", cmd, NULL}, NULL, 0, -1);
	if (rc != 0) {
		cli_warn("capture --adb: the capture failed on the device%s",
		         opts->root ? " (su -c: is the device rooted?)" : "");
		return 1;
	}
	return 0;
}

int adb_capture(const struct adb_capture *opts)
{
	struct adb a = {.serial = opts->serial};
	struct ml_outfile o = {.fd = -1};
	bool started = !server_running();
	const char *why = NULL;
	char state[64];
	int rc;

	run_catch_stop(); /* Ctrl-C ends the step adb is in (its own SIGINT), not the cleanup */
	snprintf(a.remote, sizeof(a.remote), "/data/local/tmp/memledger-capture-%d", (int)getpid());
	snprintf(a.remote_tar, sizeof(a.remote_tar), "%s.tar", a.remote);
	rc = adb_run(&a, (const char *[]){"get-state", NULL}, state, sizeof(state), -1);
	if (rc == -ENOENT) {
		cli_warn("capture --adb needs adb (Debian's package adb): not "
		         "found");
		return 1;
	}
	if (rc != 0 || strncmp(state, "device", 6) != 0) {
		cli_warn("capture --adb: no Android device%s%s is ready (adb get-state: "
		         "%s): connect one with USB debugging allowed",
		         opts->serial ? " " : "", opts->serial ? opts->serial : "",
		         rc < 0     ? strerror(-rc)
		         : state[0] ? strtok(state, "\r\n")
		                    : "none");
		rc = 1;
		goto out;
	}
	rc = ml_outfile_open(&o, opts->output, 0600, &why);
	if (rc < 0) {
		if (why)
			cli_warn("-o '%s': it %s", opts->output, why);
		else
			cli_warn("cannot write %s: %s", opts->output, strerror(-rc));
		rc = why ? 2 : 1;
		goto out;
	}
	rc = push_capture(&a);
	if (rc == 0 && !run_stop)
		rc = run_capture(&a, opts);
	if (rc == 0 && !run_stop)
		rc = pull_into(&a, &o, opts);
	if (rc == 0 && run_stop)
		rc = 1; /* interrupted: no snapshot */
	if (rc == 0 && (rc = ml_outfile_commit(&o)) < 0) {
		cli_warn("cannot write %s: %s", opts->output, strerror(-rc));
		rc = 1;
	}
	if (rc == 0)
		cli_warn("wrote %s from the device%s%s", opts->output, opts->serial ? " " : "",
		         opts->serial ? opts->serial : "");
out:
	clean_device(&a);
	ml_outfile_abort(&o);
	if (started) /* a server this run started: stopped, as it was */
		adb_run(&a, (const char *[]){"kill-server", NULL}, NULL, 0, -1);
	return rc;
}
