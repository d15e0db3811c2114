/* Processes grouped by a key (comm, exe, user, cgroup, session, pgid, tree, pid, app),
 * each group's figures summed and, with the page ledger, its pages booked once. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "memledger/android.h"
#include "memledger/group.h"
#include "memledger/ledger.h"
#include "memledger/scan.h"

const char *const ml_group_key_names[ML_BY_COUNT + 1] = {
    "comm", "exe", "user", "cgroup", "session", "pgid", "tree", "pid", "app", NULL};

/* True when processes a and b run the same executable (both known). */
static bool same_exe(const struct ml_scan *s, size_t a, size_t b)
{
	return s->procs[a].exe && s->procs[b].exe && strcmp(s->procs[a].exe, s->procs[b].exe) == 0;
}

/* The length of path's directory (up to its last '/'), 0 when it has none. */
static size_t dir_len(const char *path)
{
	const char *slash = strrchr(path, '/');

	return slash ? (size_t)(slash - path) : 0;
}

/* True for a directory of unrelated programs (/usr/bin, /usr/local/sbin...): never one
 * app's installation. */
static bool shared_dir(const char *path, size_t len)
{
	return len == 0 || (len >= 4 && memcmp(path + len - 4, "/bin", 4) == 0) ||
	       (len >= 5 && memcmp(path + len - 5, "/sbin", 5) == 0);
}

/* True when roots a and b run programs installed in one directory of their own (Chromium's
 * /usr/lib/chromium: the browser and its crashpad handler), not a shared one. */
static bool same_installation(const struct ml_scan *s, size_t a, size_t b)
{
	const char *x = s->procs[a].exe, *y = s->procs[b].exe;
	size_t n = x ? dir_len(x) : 0;

	return y && n && !shared_dir(x, n) && dir_len(y) == n && memcmp(x, y, n) == 0;
}

/*
 * ML_BY_APP: a process tree whose program lives in the installation directory of another
 * app's program that is not the same program (a crashpad handler beside its browser,
 * reparented or not) joins the app with the most processes there (ties: the first).
 * Returns 0 or -ENOMEM.
 */
static int join_installations(struct ml_grouping *g)
{
	const struct ml_scan *s = g->scan;
	size_t n = s->nprocs, *members = calloc(n + 1, sizeof(*members));
	size_t *to = malloc((n + 1) * sizeof(*to));

	if (!members || !to) {
		free(members);
		free(to);
		return -ENOMEM;
	}
	for (size_t i = 0; i < n; i++)
		members[g->root[i]]++;
	for (size_t r = 0; r < n; r++) {
		to[r] = r;
		if (g->root[r] != r || !s->procs[r].exe)
			continue;
		for (size_t q = 0; q < n; q++)
			if (g->root[q] == q && q != r && !same_exe(s, q, r) &&
			    same_installation(s, r, q) &&
			    (members[q] > members[to[r]] ||
			     (members[q] == members[to[r]] && q < to[r])))
				to[r] = q;
	}
	for (size_t i = 0; i < n; i++)
		g->root[i] = to[g->root[i]];
	free(members);
	free(to);
	return 0;
}

/* True when process i is an Android app: a child of a zygote (ml_android_zygote), its
 * command line the name the zygote gave it. */
static bool android_app(const struct ml_scan *s, size_t i, long parent)
{
	return parent >= 0 && s->procs[i].cmdline && s->procs[i].cmdline[0] &&
	       ml_android_zygote(s->procs[parent].comm);
}

/*
 * Sets each process's root, parents first so that each takes its parent's: ML_BY_TREE, its
 * ancestor just below PID 1 (or the topmost one read); ML_BY_APP, its topmost ancestor that
 * runs the same executable, through an unbroken line of them (browser, zygote, renderers;
 * a server's master and workers), so that a child that exec'd another program starts its
 * own. Returns 0 or -ENOMEM.
 */
static int find_roots(struct ml_grouping *g)
{
	const struct ml_scan *s = g->scan;
	size_t n = s->nprocs, *depth = malloc((n + 1) * sizeof(size_t));
	size_t *order = malloc((n + 1) * sizeof(size_t));
	long *parent = malloc((n + 1) * sizeof(long));
	int rc = -ENOMEM;

	g->root = malloc((n + 1) * sizeof(size_t));
	if (!depth || !order || !parent || !g->root || ml_scan_parents(s, parent, depth) < 0 ||
	    ml_order_deepest_first(depth, n, order) < 0)
		goto out;
	for (size_t k = n; k-- > 0;) { /* shallowest first */
		size_t i = order[k];
		long up = parent[i];
		bool joins = g->by == ML_BY_APP
		                 ? up >= 0 && same_exe(s, i, (size_t)up) &&
		                       !android_app(s, i, up) /* its own app */
		                 : up >= 0 && s->procs[up].pid != 1 && s->procs[i].pid != 1;
		g->root[i] = joins ? g->root[up] : i;
	}
	rc = g->by == ML_BY_APP ? join_installations(g) : 0;
out:
	free(depth);
	free(order);
	free(parent);
	return rc;
}

/* The group name of process i, malloc'ed in *name (NULL: unknown). Returns 0 or -ENOMEM. */
static int key_of(struct ml_grouping *g, size_t i, char **name)
{
	const struct ml_proc *p = &g->scan->procs[i];
	const char *text = NULL;

	*name = NULL;
	switch (g->by) {
	case ML_BY_COMM: text = p->comm; break;
	case ML_BY_EXE: text = p->exe; break;
	case ML_BY_CGROUP: text = p->cgroup; break;
	case ML_BY_USER: text = ml_user_name(&g->users, p->status.uid); break;
	case ML_BY_SESSION:
		*name = ml_scan_pid_label(g->scan, p->stat.session);
		return *name ? 0 : -ENOMEM;
	case ML_BY_PGID:
		*name = ml_scan_pid_label(g->scan, p->stat.pgid);
		return *name ? 0 : -ENOMEM;
	case ML_BY_APP: /* the name of its root's program, as process-exporter's namegroups */
		p = &g->scan->procs[g->root[i]];
		if (android_app(g->scan, g->root[i],
		                (p->have & ML_NEED_STATUS) && p->status.ppid > 0
		                    ? ml_scan_find(g->scan, (pid_t)p->status.ppid)
		                    : -1)) { /* an Android app: its package */
			*name = strndup(p->cmdline, ml_android_package_len(p->cmdline));
			return *name ? 0 : -ENOMEM;
		}
		text =
		    p->exe ? p->exe + dir_len(p->exe) + (p->exe[dir_len(p->exe)] == '/') : p->comm;
		break;
	case ML_BY_TREE: i = g->root[i]; /* fall through */
	case ML_BY_PID:
		*name = ml_scan_pid_label(g->scan, g->scan->procs[i].pid);
		return *name ? 0 : -ENOMEM;
	case ML_BY_COUNT: break;
	}
	if (text && !(*name = strdup(text)))
		return -ENOMEM;
	return 0;
}

/* Orders process indexes by group name, unknown last. */
static int cmp_key(const void *a, const void *b, void *ctx)
{
	char **key = ctx;
	const char *x = key[*(const size_t *)a], *y = key[*(const size_t *)b];

	if (!x || !y)
		return (x == NULL) - (y == NULL);
	return strcmp(x, y);
}

static bool same_key(const char *a, const char *b)
{
	return a == b || (a && b && strcmp(a, b) == 0);
}

/* Gives each process its group: one per distinct name; forked twins stay apart only by
 * name, never merged into one process. Returns 0 or -ENOMEM. */
static int assign_groups(struct ml_grouping *g)
{
	size_t n = g->scan->nprocs, *order = malloc((n + 1) * sizeof(*order));

	g->key = calloc(n + 1, sizeof(*g->key));
	g->set_of = malloc((n + 1) * sizeof(*g->set_of));
	g->groups = calloc(n + 1, sizeof(*g->groups));
	if (!order || !g->key || !g->set_of || !g->groups) {
		free(order);
		return -ENOMEM;
	}
	for (size_t i = 0; i < n; i++) {
		order[i] = i;
		if (key_of(g, i, &g->key[i]) < 0) {
			free(order);
			return -ENOMEM;
		}
	}
	if (n)
		qsort_r(order, n, sizeof(*order), cmp_key, g->key);
	for (size_t k = 0; k < n; k++) {
		size_t i = order[k];
		if (k == 0 || !same_key(g->key[i], g->key[order[k - 1]])) {
			g->groups[g->ngroups].name = g->key[i];
			g->ngroups++;
		}
		g->set_of[i] = (uint32_t)(g->ngroups - 1);
	}
	free(order);
	return 0;
}

/* --by app, tree, pid: each group's instances (its processes' roots) and the top process
 * of the one with the most processes (ties: the first). Returns 0 or -ENOMEM. */
static int top_processes(struct ml_grouping *g)
{
	size_t n = g->scan->nprocs, *members, *best;

	if (g->by != ML_BY_APP && g->by != ML_BY_TREE && g->by != ML_BY_PID)
		return 0;
	members = calloc(n + 1, sizeof(*members));
	best = calloc(g->ngroups + 1, sizeof(*best));
	if (!members || !best) {
		free(members);
		free(best);
		return -ENOMEM;
	}
	for (size_t i = 0; i < n; i++)
		members[g->root ? g->root[i] : i]++;
	for (size_t r = 0; r < n; r++) {
		struct ml_named_group *gr = &g->groups[g->set_of[r]];
		if (!members[r])
			continue; /* not a root */
		if (!gr->pid || members[r] > members[best[g->set_of[r]]])
			best[g->set_of[r]] = r;
		gr->instances += g->by == ML_BY_APP;
		gr->pid = g->scan->procs[best[g->set_of[r]]].pid;
	}
	free(members);
	free(best);
	return 0;
}

/* Sums each group's figures from its processes and from the page ledger (pg; NULL: its
 * figures unknown). */
static int sum_groups(struct ml_grouping *g, const struct ml_pages *pg)
{
	struct ml_freed *freed = calloc(g->ngroups + 1, sizeof(*freed));
	int rc = !freed ? -ENOMEM : pg ? ml_pages_freed(pg, g->set_of, g->ngroups, freed) : 0;

	for (size_t k = 0; rc == 0 && k < g->ngroups; k++) {
		g->groups[k].freed = freed[k];
		if (!pg) /* no page ledger: nothing of it known */
			g->groups[k].freed = ml_freed_unknown;
	}
	rc = rc ? rc : top_processes(g);
	for (size_t i = 0; rc == 0 && i < g->scan->nprocs; i++) {
		const struct ml_proc *p = &g->scan->procs[i];
		struct ml_named_group *gr = &g->groups[g->set_of[i]];
		gr->nprocs++;
		gr->pss = ml_add_u64(gr->pss, ml_proc_metric(p, ML_PSS));
		gr->footprint = ml_add_u64(gr->footprint, ml_proc_metric(p, ML_FOOTPRINT));
		gr->swap_pss = ml_add_u64(gr->swap_pss, ml_proc_metric(p, ML_SWAPPSS));
		gr->uss_bound = ml_add_u64(gr->uss_bound, ml_proc_metric(p, ML_USS));
		gr->gpu = ml_add_u64(gr->gpu, ml_proc_metric(p, ML_GPU));
		gr->vram = ml_add_u64(gr->vram, ml_proc_metric(p, ML_VRAM));
		gr->dmabuf = ml_add_u64(gr->dmabuf, ml_proc_metric(p, ML_DMABUF));
	}
	free(freed);
	return rc;
}

void ml_grouping_free(struct ml_grouping *g)
{
	if (!g->scan)
		return;
	for (size_t i = 0; g->key && i < g->scan->nprocs; i++)
		free(g->key[i]);
	free(g->key);
	free(g->set_of);
	free(g->groups);
	free(g->root);
	ml_user_cache_free(&g->users);
}

void ml_group_figures(const struct ml_named_group *g, struct ml_group_figures *out)
{
	const struct ml_freed *f = &g->freed;

	out->pss = f->exact ? f->pss : g->pss;
	out->uss = f->exact ? f->uss : g->uss_bound;
	out->freed = ml_freed_total(f);
	out->shared_out =
	    f->exact && f->rss != ML_UNKNOWN && f->uss != ML_UNKNOWN ? f->rss - f->uss : ML_UNKNOWN;
	out->footprint = g->footprint;
}

unsigned ml_grouping_needs(enum ml_group_key by)
{
	switch (by) {
	case ML_BY_EXE: return ML_NEED_EXE;
	case ML_BY_APP: return ML_NEED_EXE | ML_NEED_CMDLINE | ML_NEED_STATUS; /* Android's apps */
	case ML_BY_CGROUP: return ML_NEED_CGROUP;
	case ML_BY_SESSION:
	case ML_BY_PGID: return ML_NEED_STAT;
	default: return 0;
	}
}

const char *ml_group_key_name(enum ml_group_key by)
{
	return ml_group_key_names[by];
}

int ml_grouping_make(struct ml_grouping *g, const struct ml_scan *s, enum ml_group_key by,
                     const struct ml_pages *pg)
{
	*g = (struct ml_grouping){.scan = s, .by = by, .users = {.android = s->android}};
	if (((by == ML_BY_TREE || by == ML_BY_APP) && find_roots(g) < 0) || assign_groups(g) < 0 ||
	    sum_groups(g, pg) < 0)
		return -ENOMEM;
	return 0;
}
