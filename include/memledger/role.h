/* The roles a multi-process application gives its processes (Chromium, Electron, CEF,
 * Android's zygote): what the views show as ROLE. */
#ifndef MEMLEDGER_ROLE_H
#define MEMLEDGER_ROLE_H

#include <stdbool.h>
#include <stddef.h>

struct ml_scan;

/* Room for a role, its terminating NUL included. */
#define ML_ROLE_LEN 80

/*
 * The role command line cmdline gives its process, into buf (len bytes): Chromium's,
 * Electron's and CEF's --type= ("renderer", "gpu-process", "zygote", "utility:SUB-TYPE"),
 * "renderer:webui" and "renderer:extension" where the renderer's flags say so,
 * "crashpad-handler" for a crashpad handler; "" for none. Leaves out what only the process
 * tree tells (the browser, an Android app): ml_roles_make.
 */
void ml_role_of_cmdline(const char *cmdline, char *buf, size_t len);

/* True when the command-line word w[0..len) is one ml_role_of_cmdline reads a role from
 * (--type=..., --extension-process...): kept by redaction, cut first where ROLE says it. */
bool ml_role_flag(const char *w, size_t len);

/* True when role is one that a browser's child carries (--type=...): its parent, without a
 * role of its own, is then the "browser". */
bool ml_role_is_child(const char *role);

/* Each process's role in a scan. */
struct ml_roles {
	char (*role)[ML_ROLE_LEN]; /* "" none */
	bool *known;               /* false: its command line was not read */
	size_t n;
};

/*
 * The role of every process of s into r: ml_role_of_cmdline's; "browser" for a process
 * without one whose child carries a browser child's role (ml_role_is_child); an Android
 * app's process name for a child of an Android zygote (ml_android_zygote), and where its
 * oom_score_adj was read the bucket it puts it in: "com.example (foreground)". Returns 0
 * or -ENOMEM; either way
 * ml_roles_free(r) frees it.
 */
int ml_roles_make(struct ml_roles *r, const struct ml_scan *s);

/* Process i's role: "" none, NULL unknown (its command line was not read). */
const char *ml_roles_get(const struct ml_roles *r, size_t i);

/* Frees what ml_roles_make made. */
void ml_roles_free(struct ml_roles *r);

#endif
