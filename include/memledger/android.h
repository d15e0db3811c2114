/* What Android names that Linux does not: its fixed user IDs, its apps' process names and
 * the process-state buckets ActivityManager gives them through oom_score_adj. */
#ifndef MEMLEDGER_ANDROID_H
#define MEMLEDGER_ANDROID_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * The name Android gives uid (bionic's getpwuid: android_filesystem_config.h's AIDs, and
 * for apps u<USER>_a<N>, isolated processes u<USER>_i<N>, AIDs of a secondary user
 * u<USER>_<NAME>) into buf (len bytes). Returns true, or false (buf "") for a uid it does
 * not name.
 */
bool ml_android_user_name(uint64_t uid, char *buf, size_t len);

/*
 * The process-state bucket that an app's oom_score_adj puts it in, as ActivityManager
 * sets the values (ProcessList.java) and lmkd kills by them: "native", "system",
 * "persistent", "persistent-service", "foreground", "visible", "perceptible", "backup",
 * "heavy-weight", "service", "home", "previous", "service-b", "cached". NULL for a value
 * outside -1000..1000.
 */
const char *ml_android_bucket(int oom_score_adj);

/* True for the comm of a process that forks Android apps: zygote, zygote64, an unspecialized
 * app process (usap32, usap64), webview_zygote, an app zygote (NAME_zygote). */
bool ml_android_zygote(const char *comm);

/* The length of the package an app process name names: "com.example:remote" → 11 (the
 * name before its first ':'), the whole name when it has none. */
size_t ml_android_package_len(const char *name);

#endif
