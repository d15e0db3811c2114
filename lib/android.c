/* Android's user IDs, app process names and oom_score_adj buckets (libc alone: the static
 * capture uses them too). */
#include <stdio.h>
#include <string.h>

#include "memledger/android.h"
#include "util.h"

/* android_filesystem_config.h: the AIDs below the first app's, those a process runs as. */
static const struct {
	unsigned id;
	const char *name;
} aids[] = {
    {0, "root"},
    {1000, "system"},
    {1001, "radio"},
    {1002, "bluetooth"},
    {1003, "graphics"},
    {1004, "input"},
    {1005, "audio"},
    {1006, "camera"},
    {1007, "log"},
    {1010, "wifi"},
    {1012, "install"},
    {1013, "media"},
    {1014, "dhcp"},
    {1016, "vpn"},
    {1017, "keystore"},
    {1018, "usb"},
    {1019, "drm"},
    {1020, "mdnsr"},
    {1021, "gps"},
    {1023, "media_rw"},
    {1024, "mtp"},
    {1026, "drmrpc"},
    {1027, "nfc"},
    {1029, "clat"},
    {1031, "mediadrm"},
    {1036, "logd"},
    {1037, "shared_relro"},
    {1040, "mediaex"},
    {1041, "audioserver"},
    {1045, "debuggerd"},
    {1046, "mediacodec"},
    {1047, "cameraserver"},
    {1048, "firewall"},
    {1049, "trunks"},
    {1050, "nvram"},
    {1051, "dns"},
    {1052, "dns_tether"},
    {1053, "webview_zygote"},
    {1058, "tombstoned"},
    {1060, "ese"},
    {1061, "ota_update"},
    {1062, "automotive_evs"},
    {1063, "lowpan"},
    {1064, "hsm"},
    {1066, "statsd"},
    {1067, "incidentd"},
    {1068, "secure_element"},
    {1069, "lmkd"},
    {1070, "llkd"},
    {1071, "iorapd"},
    {1072, "gpu_service"},
    {1073, "network_stack"},
    {1074, "gsid"},
    {1076, "credstore"},
    {1077, "external_storage"},
    {1080, "context_hub"},
    {1081, "virtualizationservice"},
    {1082, "artd"},
    {1083, "uwb"},
    {1084, "thread_network"},
    {1085, "diced"},
    {1086, "dmesgd"},
    {1090, "sdk_sandbox"},
    {1091, "security_log_writer"},
    {1092, "prng_seeder"},
    {2000, "shell"},
    {2001, "cache"},
    {2002, "diag"},
    {3003, "inet"},
    {3009, "readproc"},
    {9997, "everybody"},
    {9998, "misc"},
    {9999, "nobody"},
};

#define PER_USER 100000u /* AID_USER_OFFSET */

bool ml_android_user_name(uint64_t uid, char *buf, size_t len)
{
	unsigned user, app;

	if (len)
		buf[0] = '\0';
	if (uid >= 0xffffffffull || !len)
		return false;
	user = (unsigned)(uid / PER_USER);
	app = (unsigned)(uid % PER_USER);
	if (app >= 10000 && app <= 19999) /* AID_APP_START..AID_APP_END */
		snprintf(buf, len, "u%u_a%u", user, app - 10000);
	else if (app >= 90000 && app <= 99999) /* AID_ISOLATED_START..END */
		snprintf(buf, len, "u%u_i%u", user, app - 90000);
	else if (app >= 20000 && app <= 29999) /* AID_SDK_SANDBOX_PROCESS_START..END */
		snprintf(buf, len, "u%u_s%u", user, app - 20000);
	else {
		for (size_t i = 0; i < ML_ARRAY_SIZE(aids); i++) {
			if (aids[i].id != app)
				continue;
			if (user)
				snprintf(buf, len, "u%u_%s", user, aids[i].name);
			else
				snprintf(buf, len, "%s", aids[i].name);
			return true;
		}
		return false;
	}
	return true;
}

const char *ml_android_bucket(int adj)
{
	/* ProcessList.java: NATIVE_ADJ -1000, SYSTEM_ADJ -900, PERSISTENT_PROC_ADJ -800,
	 * PERSISTENT_SERVICE_ADJ -700, FOREGROUND_APP_ADJ 0, VISIBLE_APP_ADJ 100 (up to
	 * VISIBLE_APP_LAYER_MAX 99 above it), PERCEPTIBLE_APP_ADJ 200 (its LOW and MEDIUM
	 * between), BACKUP_APP_ADJ 300, HEAVY_WEIGHT_APP_ADJ 400, SERVICE_ADJ 500,
	 * HOME_APP_ADJ 600, PREVIOUS_APP_ADJ 700, SERVICE_B_ADJ 800, CACHED_APP_MIN_ADJ 900 up
	 * to CACHED_APP_MAX_ADJ 999 (and 1000, UNKNOWN_ADJ). */
	static const struct {
		int below;
		const char *name;
	} buckets[] = {{-999, "native"},          {-800, "system"},    {-700, "persistent"},
	               {0, "persistent-service"}, {100, "foreground"}, {200, "visible"},
	               {300, "perceptible"},      {400, "backup"},     {500, "heavy-weight"},
	               {600, "service"},          {700, "home"},       {800, "previous"},
	               {900, "service-b"},        {1001, "cached"}};

	if (adj < -1000 || adj > 1000)
		return NULL;
	for (size_t i = 0; i < ML_ARRAY_SIZE(buckets); i++)
		if (adj < buckets[i].below)
			return buckets[i].name;
	return NULL;
}

bool ml_android_zygote(const char *comm)
{
	size_t n = comm ? strlen(comm) : 0;

	return n && (strcmp(comm, "zygote") == 0 || strcmp(comm, "zygote64") == 0 ||
	             strcmp(comm, "usap32") == 0 || strcmp(comm, "usap64") == 0 ||
	             strcmp(comm, "webview_zygote") == 0 ||
	             (n > 7 && strcmp(comm + n - 7, "_zygote") == 0));
}

size_t ml_android_package_len(const char *name)
{
	return strcspn(name, ": ");
}
