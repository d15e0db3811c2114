/* memledger capture --adb: a snapshot of an Android device over adb. */
#ifndef MEMLEDGER_ADB_H
#define MEMLEDGER_ADB_H

#include <stdbool.h>

struct adb_capture {
	const char *serial;     /* adb -s SERIAL; NULL: adb's choice */
	const char *output;     /* the .tar to write */
	bool root;              /* run it through su -c */
	bool exact, redact;     /* memledger-capture's --exact, --redact */
	const char *redact_key; /* --redact-key, or NULL */
	/* Writes the device's tar (the file at tar) to fd as output's name asks (compressed or
	 * not); 0, or 1 after a message. */
	int (*write_out)(const char *tar, int fd, void *ctx);
	void *write_ctx;
};

/*
 * Pushes the static memledger-capture built for the device's ABI (getprop
 * ro.product.cpu.abi: arm64-v8a, armeabi-v7a, x86_64) to /data/local/tmp, runs it there
 * (su -c with root), pulls its tar and has write_out write it to output (through a
 * temporary name) and removes what
 * it pushed, and stops the adb server when it started it: nothing left behind, whatever
 * happened. Says why on standard error when it fails. Returns an exit status: 0, 1 (no
 * adb, no device, a failed step), 2 (an output name it refuses).
 */
int adb_capture(const struct adb_capture *opts);

#endif
