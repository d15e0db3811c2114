/* The roles a multi-process application gives its processes, from their command lines
 * and the process tree. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "memledger/role.h"

/* The value of flag name (such as "--type=") in cmdline into buf: true when present as a
 * word of its own. */
static bool flag_value(const char *cmdline, const char *name, char *buf, size_t len)
{
	size_t n = strlen(name);

	for (const char *at = cmdline; (at = strstr(at, name)); at += n) {
		size_t v;
		if (at != cmdline && at[-1] != ' ')
			continue; /* inside another argument */
		v = strcspn(at + n, " ");
		snprintf(buf, len, "%.*s", (int)(v < len ? v : len - 1), at + n);
		return true;
	}
	return false;
}

/* True when flag (a whole word, "--extension-process") is in cmdline. */
static bool has_flag(const char *cmdline, const char *flag)
{
	size_t n = strlen(flag);

	for (const char *at = cmdline; (at = strstr(at, flag)); at += n)
		if ((at == cmdline || at[-1] == ' ') &&
		    (at[n] == ' ' || at[n] == '\0' || at[n] == '='))
			return true;
	return false;
}

/* True when the program (the first word) of cmdline is named like a crashpad handler. */
static bool is_crashpad(const char *cmdline)
{
	size_t n = strcspn(cmdline, " ");
	const char *base = cmdline;

	for (size_t i = 0; i < n; i++)
		if (cmdline[i] == '/')
			base = cmdline + i + 1;
	return n > (size_t)(base - cmdline) &&
	       memmem(base, n - (size_t)(base - cmdline), "crashpad_handler", 16) != NULL;
}

void ml_role_of_cmdline(const char *cmdline, char *buf, size_t len)
{
	char sub[64];

	buf[0] = '\0';
	if (flag_value(cmdline, "--type=", buf, len)) { /* Chromium, Electron, CEF */
		if (strcmp(buf, "utility") == 0 &&
		    flag_value(cmdline, "--utility-sub-type=", sub, sizeof(sub)))
			snprintf(buf, len, "utility:%s", sub);
		else if (strcmp(buf, "renderer") == 0 && has_flag(cmdline, "--extension-process"))
			snprintf(buf, len, "renderer:extension");
		else if (strcmp(buf, "renderer") == 0 && (has_flag(cmdline, "--top-chrome-webui") ||
		                                          has_flag(cmdline, "--webui-renderer")))
			snprintf(buf, len, "renderer:webui");
		return;
	}
	if (is_crashpad(cmdline))
		snprintf(buf, len, "crashpad-handler");
}

bool ml_role_flag(const char *w, size_t len)
{
	static const char *const flags[] = {"--type=", "--utility-sub-type=", "--extension-process",
	                                    "--top-chrome-webui", "--webui-renderer"};

	for (size_t i = 0; i < sizeof(flags) / sizeof(flags[0]); i++) {
		size_t n = strlen(flags[i]);
		if (len >= n && memcmp(w, flags[i], n) == 0 &&
		    (flags[i][n - 1] == '=' || len == n || w[n] == '='))
			return true;
	}
	return false;
}

bool ml_role_is_child(const char *role)
{
	static const char *const kids[] = {"renderer", "gpu-process", "zygote", "utility",
	                                   "ppapi",    "broker",      NULL};

	for (size_t k = 0; kids[k]; k++) {
		size_t n = strlen(kids[k]);
		if (strncmp(role, kids[k], n) == 0 && (role[n] == '\0' || role[n] == ':'))
			return true;
	}
	return false;
}
