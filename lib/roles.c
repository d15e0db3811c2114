/* The role of every process of a scan: its command line's, and what the process tree
 * tells (the browser, an Android app). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "memledger/android.h"
#include "memledger/role.h"
#include "memledger/scan.h"

/* An Android app's role: the name its zygote gave it (its package, and after a ':' the
 * process), and the bucket its oom_score_adj puts it in where that was read:
 * "com.android.chrome:sandboxed_process0 (visible)". */
static void android_role(const struct ml_proc *p, char role[ML_ROLE_LEN])
{
	const char *bucket = (p->have & ML_NEED_OOM) && p->oom_adj != ML_OOM_ADJ_UNKNOWN
	                         ? ml_android_bucket(p->oom_adj)
	                         : NULL;
	int name = (int)strcspn(p->cmdline, " ");

	if (!bucket) {
		snprintf(role, ML_ROLE_LEN, "%.*s", name, p->cmdline);
		return;
	}
	if (name > ML_ROLE_LEN - 4 - (int)strlen(bucket)) /* the bucket stays whole */
		name = ML_ROLE_LEN - 4 - (int)strlen(bucket);
	snprintf(role, ML_ROLE_LEN, "%.*s (%s)", name, p->cmdline, bucket);
}

int ml_roles_make(struct ml_roles *r, const struct ml_scan *s)
{
	size_t n = s->nprocs;

	r->n = n;
	r->role = calloc(n + 1, sizeof(*r->role));
	r->known = calloc(n + 1, sizeof(*r->known));
	if (!r->role || !r->known)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		const struct ml_proc *p = &s->procs[i];
		if ((r->known[i] = p->cmdline != NULL))
			ml_role_of_cmdline(p->cmdline, r->role[i], ML_ROLE_LEN);
	}
	for (size_t i = 0; i < n; i++) { /* what the tree tells: the browser, an Android app */
		const struct ml_proc *p = &s->procs[i];
		long up = (p->have & ML_NEED_STATUS) && p->status.ppid > 0
		              ? ml_scan_find(s, (pid_t)p->status.ppid)
		              : -1;
		if (up < 0 || !r->known[i])
			continue;
		if (r->known[up] && !r->role[up][0] && ml_role_is_child(r->role[i]))
			snprintf(r->role[up], ML_ROLE_LEN, "browser");
		else if (!r->role[i][0] && p->cmdline[0] && ml_android_zygote(s->procs[up].comm))
			android_role(p, r->role[i]);
	}
	return 0;
}

const char *ml_roles_get(const struct ml_roles *r, size_t i)
{
	return i < r->n && r->known[i] ? r->role[i] : NULL;
}

void ml_roles_free(struct ml_roles *r)
{
	free(r->role);
	free(r->known);
	r->role = NULL;
	r->known = NULL;
	r->n = 0;
}
