/*
 * Redaction for snapshots (capture --redact): every user-chosen string becomes a stable
 * keyed hash, "<h:" and 10 hex digits ">", so that two snapshots redacted with one key
 * still diff, and nothing of the string can be read back without the key. SipHash-2-4
 * keyed with 128 bits. libc alone: memledger-capture links it too.
 *
 * Kept as they are: program names (argv[0]'s and exe's last component, comm unless it
 * lies within a hashed word and is not the program's name), Chromium's roles (--type=,
 * --utility-sub-type=), paths below system directories (/usr, /lib, /opt, /system, ...), and what
 * the kernel names
 * ([heap], anon_inode:..., /dmabuf:...). Hashed: every other argument and word of a
 * rewritten title, argv[0]'s directory outside system directories, other file paths,
 * memfd names, cgroup path components below the service level, SysV keys.
 */
#ifndef MEMLEDGER_REDACT_H
#define MEMLEDGER_REDACT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define ML_REDACT_KEY_LEN   16
#define ML_REDACT_TOKEN_LEN 14 /* "<h:0123456789>" */

struct ml_redact {
	uint64_t k0, k1;
};

/* A growing text the redaction appends to. */
struct ml_bytes {
	char *data; /* NUL-terminated */
	size_t len, cap;
};

/* Appends len bytes of data to b. Returns 0 or -ENOMEM. */
int ml_bytes_append(struct ml_bytes *b, const void *data, size_t len);

/* Sets r up with the 16-byte key. */
void ml_redact_init(struct ml_redact *r, const uint8_t key[ML_REDACT_KEY_LEN]);

/* The key that text names into key: 32 hex digits are the key itself (as
 * ml_redact_key_hex writes it); any other text is hashed into one. */
void ml_redact_key_parse(const char *text, uint8_t key[ML_REDACT_KEY_LEN]);

/* key as 32 hex digits and a NUL. */
void ml_redact_key_hex(const uint8_t key[ML_REDACT_KEY_LEN], char out[33]);

/* The token of data[0..len) into out (ML_REDACT_TOKEN_LEN characters and a NUL). */
void ml_redact_token(const struct ml_redact *r, const void *data, size_t len, char *out);

/* A SysV key as redaction writes it: 0 (IPC_PRIVATE) stays 0. */
uint32_t ml_redact_sysv_key(const struct ml_redact *r, uint32_t key);

/* True when path[0..len) lies below a system directory, whose names are no one's. */
bool ml_redact_system_path(const char *path, size_t len);

/*
 * The command line cmd[0..len) (NUL-separated, as /proc gives it) redacted into out
 * (emptied first), NUL-separated too. Sets *comm_hidden when comm (the process's name,
 * NULL: not checked) is not the program's name (argv[0]'s last component) and lies within
 * a word that is hashed: then it must be hashed too. Returns 0 or -ENOMEM.
 */
int ml_redact_cmdline(const struct ml_redact *r, const char *cmd, size_t len, const char *comm,
                      bool *comm_hidden, struct ml_bytes *out);

/* A program's path (argv[0], exe's target): its directory hashed unless a system one,
 * its name kept; appended to out. Returns 0 or -ENOMEM. */
int ml_redact_program(const struct ml_redact *r, const char *w, size_t len, struct ml_bytes *out);

/* A mapping's or an fd's name (a path, "/memfd:NAME (deleted)", "/SYSV0000002a (deleted)",
 * "[heap]", ...) redacted, appended to out. Returns 0 or -ENOMEM. */
int ml_redact_name(const struct ml_redact *r, const char *name, size_t len, struct ml_bytes *out);

/* Each line of text (without its newline) handed to line_fn, which appends what it makes
 * of it to out, each newline kept; out emptied first. Returns 0 or -ENOMEM (line_fn's). */
int ml_redact_lines(const char *text, size_t len, struct ml_bytes *out,
                    int (*line_fn)(const char *line, size_t n, void *ctx, struct ml_bytes *out),
                    void *ctx);

/* An smaps (or maps) text with each mapping's name redacted, into out (emptied first).
 * Returns 0 or -ENOMEM. */
int ml_redact_smaps(const struct ml_redact *r, const char *text, size_t len, struct ml_bytes *out);

/* A cgroup path ("/system.slice/foo.service/x") with each component below the first
 * service or scope, and every component that is no systemd unit, hashed; appended to out.
 * Returns 0 or -ENOMEM. */
int ml_redact_cgroup_path(const struct ml_redact *r, const char *path, size_t len,
                          struct ml_bytes *out);

/* A /proc/PID/cgroup text ("ID:CONTROLLERS:PATH" lines) redacted into out (emptied
 * first). Returns 0 or -ENOMEM. */
int ml_redact_cgroup_file(const struct ml_redact *r, const char *text, size_t len,
                          struct ml_bytes *out);

/* /proc/sysvipc/shm with its keys redacted (ml_redact_sysv_key) into out (emptied first).
 * Returns 0 or -ENOMEM. */
int ml_redact_sysvipc(const struct ml_redact *r, const char *text, size_t len,
                      struct ml_bytes *out);

#endif
