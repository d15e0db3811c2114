/*
 * memledger top: memory over time, refresh after refresh. Each refresh reads status of
 * every process (cheap counters: the footprint, RSS) and smaps_rollup (PSS) only every
 * --pss-every refreshes; GROWTH is the least-squares slope of each process's footprint
 * over a sliding window, and a process that grew steadily over it is a leak suspect.
 * Batch mode (-b) writes frames as text or NDJSON, as top -b does.
 */
#define NCURSES_NOMACROS /* every call through the table below: ncurses is loaded */
#include <curses.h>
#include <dirent.h>
#include <errno.h>
#include <stddef.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "dl.h"
#include "json.h"
#include "commands.h"
#include "memledger.h"
#include "memledger/ledger.h"
#include "memledger/system.h"
#include "memledger/trend.h"
#include "procs.h"
#include "memledger/group.h"
#include "view.h"

/* A process followed from refresh to refresh (matched by PID and start time). */
struct tracked {
	pid_t pid;
	uint64_t start;
	struct ml_trend trend;                /* of its footprint */
	uint64_t footprint, before, at_start; /* now, at the refresh before, when first seen */
	uint64_t rss, pss;                    /* pss: the last read, ML_UNKNOWN before one */
	uint64_t swap;                        /* VmSwap, as status said it last */
	uint64_t uid;
	pid_t ppid;
	char comm[ML_COMM_MAX];
	char *command;
	char role[ML_ROLE_LEN]; /* ml_role_of_cmdline's, "browser" from its children; "" none */
	unsigned procs;         /* a group's processes; 0 for a process */
	bool pss_partial;       /* a group's PSS: Σ of those whose PSS is known, a lower bound */
	size_t group;           /* a process's group in the frame (by comm, user, role) */
	struct ml_trend_fit fit;
	bool seen; /* in this refresh */
};

/* What the rows are: processes, groups of them, or the process tree. */
enum top_mode { MODE_PROCS, MODE_COMM, MODE_USER, MODE_ROLE, MODE_TREE, MODE_COUNT };

static const char *const mode_names[] = {"processes", "by comm", "by user", "by role", "tree"};

/* Whether the rows are groups of processes. */
static bool grouped(enum top_mode m)
{
	return m == MODE_COMM || m == MODE_USER || m == MODE_ROLE;
}

struct top {
	struct cli cli;
	struct run run;        /* its source (a replayed snapshot's), its output, its messages */
	size_t first_row;      /* the screen: lines before the table's first row */
	size_t nrows;          /* the screen: rows in the last frame */
	struct view_sel sel;   /* the last frame's columns and sort column */
	struct top_row *rows;  /* the frame's rows, made by the driver's rows function */
	char when[40];         /* the frame's time */
	unsigned long nframes; /* frames printed */
	enum top_mode mode;
	char filter[128];       /* rows whose command holds this, "" all */
	const char *sort_name;  /* the sort column's, for the header */
	uint64_t physical;      /* from the first refresh's memory blocks; 0 before */
	size_t max_rows;        /* the full-screen view: the rows that fit; 0: all */
	const char *source;     /* --source: a snapshot, or a directory of them (a series) */
	char **series;          /* the snapshots, in time order (replay), NULL: live */
	size_t nseries, at;     /* how many; the next to read */
	double taken;           /* replay: when the snapshot shown was taken; < 0 unknown */
	struct tracked *groups; /* grouped(): one per key, sums of its processes */
	size_t ngroups;
	bool batch;
	bool screen;    /* the full-screen view: PSS of the rows on screen alone */
	pid_t *visible; /* the PIDs on screen at the last draw */
	size_t nvisible;
	unsigned long frames; /* -n: 0 until interrupted */
	double delay, window, floor;
	unsigned pss_every;
	struct tracked *v;
	size_t n, cap;
	struct ml_user_cache users;
	pid_t *unread; /* ascending: refused at the last reading of every PSS (batch) */
	size_t nunread;
	unsigned long refresh;
};

enum field {
	F_PID,
	F_PROCS,
	F_USER,
	F_FOOTPRINT,
	F_CHANGE,
	F_SINCE,
	F_GROWTH,
	F_LEAK,
	F_RSS,
	F_PSS,
	F_ROLE,
	F_CMD
};

/* The columns after PID, of processes and of groups alike. */
#define TOP_COLUMNS                                                                                  \
	{"USER", COL_STR, 0, F_USER, "effective user", 0, VIEW_TOTAL_NONE},                          \
	    {"FOOTPRINT",                                                                            \
	     COL_SIZE,                                                                               \
	     OUT_RIGHT,                                                                              \
	     F_FOOTPRINT,                                                                            \
	     "anonymous resident + swap (RssAnon+VmSwap)",                                           \
	     0,                                                                                      \
	     VIEW_TOTAL_SUM},                                                                        \
	    {"CHANGE", COL_DELTA,     OUT_RIGHT, F_CHANGE, "FOOTPRINT since the refresh before",     \
	     0,        VIEW_TOTAL_SUM},                                                              \
	    {"SINCE", COL_DELTA,     OUT_RIGHT, F_SINCE, "FOOTPRINT since top first saw it",         \
	     0,       VIEW_TOTAL_SUM},                                                               \
	    {"GROWTH",                                                                               \
	     COL_DELTA,                                                                              \
	     OUT_RIGHT,                                                                              \
	     F_GROWTH,                                                                               \
	     "FOOTPRINT's least-squares slope over the window, per minute",                          \
	     0,                                                                                      \
	     VIEW_TOTAL_SUM},                                                                        \
	    {"LEAK",                                                                                 \
	     COL_STR,                                                                                \
	     0,                                                                                      \
	     F_LEAK,                                                                                 \
	     "-: no verdict yet (5 samples over half the window: 15 s with --window 30); leak?: "    \
	     "grew steadily over the window (a line fits, no sawtooth, above --floor); LEAK: "       \
	     "its lowest point rose across three windows by more than it ever fell (from 3¼ "       \
	     "windows on: 98 s)",                                                                    \
	     0,                                                                                      \
	     VIEW_TOTAL_NONE},                                                                       \
	    {"RSS", COL_SIZE, OUT_RIGHT, F_RSS, "resident (status VmRSS)", 0, VIEW_TOTAL_SUM},       \
	    {"PSS",                                                                                  \
	     COL_SIZE,                                                                               \
	     OUT_RIGHT,                                                                              \
	     F_PSS,                                                                                  \
	     "proportional (smaps_rollup, every --pss-every refreshes; a group's: ≥ while one of " \
	     "its processes is not read yet)",                                                       \
	     0,                                                                                      \
	     VIEW_TOTAL_SUM},                                                                        \
	    {"ROLE",                                                                                 \
	     COL_STR,                                                                                \
	     0,                                                                                      \
	     F_ROLE,                                                                                 \
	     "what a multi-process app makes of it: browser, renderer, gpu-process... (shown "       \
	     "when "                                                                                 \
	     "one has it)",                                                                          \
	     0,                                                                                      \
	     VIEW_TOTAL_NONE},                                                                       \
	{                                                                                            \
		"COMMAND", COL_STR, OUT_KEY | OUT_PATHS, F_CMD, "command line", 0, VIEW_TOTAL_NONE   \
	}

static const struct colinfo infos[] = {
    {"PID", COL_COUNT, OUT_RIGHT, F_PID, "process ID", 0, VIEW_TOTAL_NONE},
    TOP_COLUMNS,
};
static const char *const defaults[] = {"PID",    "USER", "FOOTPRINT", "CHANGE", "SINCE",
                                       "GROWTH", "LEAK", "RSS",       "PSS",    "COMMAND"};
/* By comm or user (g): PROCS where PID stands; PID stays a name -o may give (blank). */
static const struct colinfo group_infos[] = {
    {"PROCS", COL_COUNT, OUT_RIGHT, F_PROCS, "processes in the group", 0, VIEW_TOTAL_SUM},
    {"PID", COL_COUNT, OUT_RIGHT, F_PID, "process ID", 0, VIEW_TOTAL_NONE},
    TOP_COLUMNS,
};
static const char *const group_defaults[] = {"PROCS",  "USER", "FOOTPRINT", "CHANGE", "SINCE",
                                             "GROWTH", "LEAK", "RSS",       "PSS",    "COMMAND"};
static const struct view_cols group_cols = VIEW_COLS(group_infos, group_defaults);
static const struct view_cols top_cols = VIEW_COLS(infos, defaults);

static uint64_t delta(uint64_t now, uint64_t then)
{
	return now == ML_UNKNOWN || then == ML_UNKNOWN ? ML_UNKNOWN : now - then;
}

/* A row of a frame: the process or group, and the top it belongs to (for user names). */
struct top_row {
	struct tracked *t;
	struct top *tp;
};

static uint64_t row_number(const void *row, const struct colinfo *c)
{
	const struct tracked *p = ((const struct top_row *)row)->t;

	switch (c->id) {
	case F_PID: return (uint64_t)p->pid;
	case F_PROCS: return p->procs;
	case F_FOOTPRINT: return p->footprint;
	case F_CHANGE: return delta(p->footprint, p->before);
	case F_SINCE: return delta(p->footprint, p->at_start);
	case F_GROWTH: return p->fit.n >= 2 ? (uint64_t)(int64_t)(p->fit.slope * 60) : ML_UNKNOWN;
	case F_RSS: return p->rss;
	case F_PSS: return p->pss;
	default: return ML_UNKNOWN;
	}
}

/* A group has no PID and no one user: blank, not unknown. */
static bool row_blank(const void *row, const struct colinfo *c)
{
	const struct tracked *p = ((const struct top_row *)row)->t;

	return p->procs && (c->id == F_PID || (c->id == F_USER && p->uid == ML_UNKNOWN));
}

/* A group's PSS while one of its processes is not read yet: a lower bound. */
static bool row_bound(const void *row, const struct colinfo *c)
{
	return c->id == F_PSS && ((const struct top_row *)row)->t->pss_partial;
}

static const char *row_text(const void *row, const struct colinfo *c)
{
	const struct top_row *r = row;
	const struct tracked *p = r->t;

	switch (c->id) {
	case F_USER: return ml_user_name(&r->tp->users, p->uid);
	case F_LEAK:
		return p->fit.leak      ? "LEAK"
		       : p->fit.suspect ? "leak?"
		       : p->fit.verdict ? ""
		                        : NULL;      /* too few samples yet */
	case F_ROLE: return p->procs ? "" : p->role; /* by role: the group's name says it */
	case F_CMD: return p->command;
	default: return NULL;
	}
}

/* The tracked process pid started at start, made when new. NULL when out of memory. */
static struct tracked *track(struct top *tp, const struct ml_proc *p)
{
	struct tracked *t;

	for (size_t i = 0; i < tp->n; i++)
		if (tp->v[i].pid == p->pid && tp->v[i].start == p->stat.starttime)
			return &tp->v[i];
	if (tp->n == tp->cap) {
		size_t cap = tp->cap ? tp->cap * 2 : 256;
		struct tracked *v = realloc(tp->v, cap * sizeof(*v));
		if (!v)
			return NULL;
		tp->v = v;
		tp->cap = cap;
	}
	t = &tp->v[tp->n];
	memset(t, 0, sizeof(*t));
	t->pid = p->pid;
	t->start = p->stat.starttime;
	t->pss = t->before = t->at_start = t->swap = ML_UNKNOWN;
	if (p->have & ML_NEED_CMDLINE) {
		t->command = procs_command(p);
		if (!t->command)
			return NULL;
		ml_role_of_cmdline(p->cmdline ? p->cmdline : "", t->role, sizeof(t->role));
	} /* else name_new reads it */
	ml_trend_init(&t->trend);
	tp->n++;
	return t;
}

/* Forgets the processes this refresh did not see: gone. */
static void forget_gone(struct top *tp)
{
	size_t out = 0;

	for (size_t i = 0; i < tp->n; i++) {
		if (!tp->v[i].seen) {
			free(tp->v[i].command);
			continue;
		}
		tp->v[out++] = tp->v[i];
	}
	tp->n = out;
}

static double now_seconds(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Takes p's figures into tr, a sample of its trend at time t: from status when it was
 * read (swap, the user), else from statm (the cheap counters) with the swap status gave
 * last: FOOTPRINT = RssAnon + VmSwap either way (statm's resident - shared is RssAnon). */
static void sample(struct top *tp, struct tracked *tr, const struct ml_proc *p, double t)
{
	uint64_t anon = ML_UNKNOWN;

	if (p->have & ML_NEED_STATUS) {
		tr->swap = p->status.vm_swap;
		tr->uid = ml_proc_uid(p);
		tr->rss = p->status.vm_rss;
		anon = p->status.rss_anon;
	} else if (p->have & ML_NEED_STATM) {
		tr->rss = p->statm.resident;
		anon = p->statm.resident - p->statm.shared;
	}
	tr->before = tr->trend.n ? tr->footprint : ML_UNKNOWN;
	tr->footprint = ml_add_u64(anon, tr->swap);
	if (tr->at_start == ML_UNKNOWN)
		tr->at_start = tr->footprint;
	ml_trend_add(&tr->trend, t, tr->footprint, tp->window);
	ml_trend_fit(&tr->trend, tp->window, tp->floor, &tr->fit);
}

/* Reads the command lines and status of the processes that came since the refresh
 * before, and takes their first sample at time t. */
static int name_new(struct top *tp, double t)
{
	size_t n = 0;
	struct ml_scan s;
	pid_t *pids = malloc((tp->n + 1) * sizeof(*pids));

	if (!pids)
		return -ENOMEM;
	for (size_t i = 0; i < tp->n; i++)
		if (!tp->v[i].command)
			pids[n++] = tp->v[i].pid;
	if (n && procs_scan_pids(&tp->run, ML_NEED_STAT | ML_NEED_STATUS | ML_NEED_CMDLINE, pids, n,
	                         &s) == EXIT_GO_ON) {
		for (size_t i = 0; i < s.nprocs; i++)
			for (size_t k = 0; k < tp->n; k++)
				if (!tp->v[k].command && tp->v[k].pid == s.procs[i].pid &&
				    tp->v[k].start == s.procs[i].stat.starttime) {
					tp->v[k].command = procs_command(&s.procs[i]);
					ml_role_of_cmdline(s.procs[i].cmdline ? s.procs[i].cmdline
					                                      : "",
					                   tp->v[k].role, sizeof(tp->v[k].role));
					if (!tp->v[k].trend.n) /* not sampled yet in this refresh */
						sample(tp, &tp->v[k], &s.procs[i], t);
				}
		ml_scan_free(&s);
	}
	free(pids);
	for (size_t i = 0; i < tp->n; i++) /* gone before its command line was read */
		if (!tp->v[i].command && !(tp->v[i].command = strdup("-")))
			return -ENOMEM;
	return 0;
}

/* The full-screen view's PSS: smaps_rollup of the rows on screen alone. */
static void read_visible_pss(struct top *tp)
{
	struct ml_scan s;

	if (procs_scan_pids(&tp->run, ML_NEED_STAT | ML_NEED_STATUS | ML_NEED_ROLLUP, tp->visible,
	                    tp->nvisible, &s) != EXIT_GO_ON)
		return;
	for (size_t i = 0; i < s.nprocs; i++)
		for (size_t k = 0; k < tp->n; k++)
			if (tp->v[k].pid == s.procs[i].pid &&
			    tp->v[k].start == s.procs[i].stat.starttime)
				tp->v[k].pss = ml_proc_metric(&s.procs[i], ML_PSS);
	ml_scan_free(&s);
}

/* One refresh: status of every process, smaps_rollup every pss_every. Returns EXIT_GO_ON
 * or an exit status. */
static int read_refresh(struct top *tp)
{
	bool pss = tp->series || tp->refresh % tp->pss_every == 0, all_pss = pss && !tp->screen;
	/* statm (cheap) each refresh, status (swap, the user) with PSS; command lines of the
	 * processes new since the refresh before alone (name_new) */
	unsigned needs = ML_NEED_STAT | (pss || !tp->refresh ? ML_NEED_STATUS : ML_NEED_STATM) |
	                 (tp->refresh ? 0 : ML_NEED_CMDLINE) | (all_pss ? ML_NEED_ROLLUP : 0);
	double t = now_seconds();
	struct ml_scan s;
	int rc;

	if (tp->series) { /* replay: the next snapshot, opened once for all it is asked */
		run_set_path(&tp->run, tp->series[tp->at]);
		run_want(&tp->run, ML_NEED_STAT | ML_NEED_STATUS | ML_NEED_CMDLINE | ML_NEED_ROLLUP,
		         false);
		needs |= ML_NEED_CMDLINE;
	}
	rc = procs_scan(&tp->run, needs | procs_filter_needs(&tp->cli), NULL, NULL, &s);

	if (rc != EXIT_GO_ON)
		return rc;
	tp->users.android = s.android;
	if (tp->series) { /* at the time it was taken */
		t = ml_source_time(tp->run.src);
		tp->taken = t;
		if (t < 0)
			t = (double)tp->at * tp->delay; /* no manifest: one delay apart */
		tp->at++;
	}
	for (size_t i = 0; i < tp->n; i++)
		tp->v[i].seen = false;
	for (size_t i = 0; i < s.nprocs && rc == EXIT_GO_ON; i++) {
		const struct ml_proc *p = &s.procs[i];
		struct tracked *tr;
		if (!all_pss && procs_pid_listed(tp->unread, tp->nunread, p->pid))
			continue; /* its PSS is refused: the same set in every frame */
		tr = track(tp, p);
		if (!tr) {
			run_warn(&tp->run, "out of memory");
			rc = EXIT_ERROR;
			break;
		}
		tr->seen = true;
		tr->ppid = (p->have & ML_NEED_STAT) || !(p->have & ML_NEED_STATUS) ? p->stat.ppid
		                                                                   : p->status.ppid;
		if (p->comm[0])
			memcpy(tr->comm, p->comm, sizeof(tr->comm));
		if (all_pss)
			tr->pss = ml_proc_metric(p, ML_PSS);
		if (tr->command || (p->have & ML_NEED_STATUS))
			sample(tp, tr, p, t); /* a new one's first sample comes with its status */
	}
	if (!tp->screen)
		procs_report_unreadable(&tp->run, &s);
	if (all_pss) { /* who could not be read: left out of the frames between too */
		free(tp->unread);
		tp->unread = s.unreadable_pids; /* taken */
		tp->nunread = s.unreadable_pids ? s.unreadable : 0;
		s.unreadable_pids = NULL;
	}
	ml_scan_free(&s);
	forget_gone(tp);
	if (rc == EXIT_GO_ON && name_new(tp, t) < 0) {
		run_warn(&tp->run, "out of memory");
		rc = EXIT_ERROR;
	}
	if (rc == EXIT_GO_ON && pss && tp->screen && tp->nvisible)
		read_visible_pss(tp);
	tp->refresh++;
	return rc;
}

/* The system's main rows, as the header says them. */
struct header {
	uint64_t anon, cache, shmem, kernel, free, swap, compressed;
	double some10;
	bool known;
};

static void read_header(struct top *tp, struct header *h)
{
	struct ml_system sys;
	struct ml_source *src = run_source(&tp->run, 0, true); /* the system's files alone */

	memset(h, 0, sizeof(*h));
	if (!src)
		return;
	if (ml_system_reread(src, &sys, tp->physical ? tp->physical : ML_UNKNOWN) == 0) {
		tp->physical = sys.physical != ML_UNKNOWN ? sys.physical : 0;
		h->known = true;
		for (size_t i = 0; i < sys.nrows; i++) {
			const struct ml_system_row *r = &sys.rows[i];
			uint64_t *slot = !strcmp(r->name, "anonymous")    ? &h->anon
			                 : !strcmp(r->name, "page cache") ? &h->cache
			                 : !strcmp(r->name, "shmem")      ? &h->shmem
			                 : !strcmp(r->name, "kernel")     ? &h->kernel
			                 : !strcmp(r->name, "free")       ? &h->free
			                 : !strcmp(r->name, "compressed") ? &h->compressed
			                                                  : NULL;
			if (slot && r->depth == 0)
				*slot = r->bytes;
		}
		h->swap = sys.swap_used;
		h->some10 = sys.pressure_some[0];
	}
}

static void print_header_text(FILE *f, const struct top *tp, const struct header *h,
                              const char *when)
{
	char b[7][16];
	const uint64_t v[7] = {h->anon, h->cache, h->shmem,     h->kernel,
	                       h->free, h->swap,  h->compressed};

	if (tp->series)
		fprintf(f, "replay: snapshot %zu of %zu, %s%s\n", tp->at, tp->nseries,
		        strrchr(tp->series[tp->at - 1], '/')
		            ? strrchr(tp->series[tp->at - 1], '/') + 1
		            : tp->series[tp->at - 1],
		        tp->screen ? " (left, right: the one before, after)" : "");
	fprintf(f, "memledger top - %s, refresh %lu, window %gs, %s, sort %s%s%s%s%s\n", when,
	        tp->refresh, tp->window, mode_names[tp->mode], tp->sort_name,
	        tp->cli.reverse ? " reversed" : "", tp->filter[0] ? ", filter '" : "", tp->filter,
	        tp->filter[0] ? "'" : "");
	if (!h->known)
		return;
	for (int i = 0; i < 7; i++)
		out_size_text(&tp->cli.out, v[i], b[i], sizeof(b[i]));
	fprintf(f, "Mem: %s anonymous, %s page cache, %s shmem, %s kernel, %s free\n", b[0], b[1],
	        b[2], b[3], b[4]);
	if (h->some10 >= 0)
		fprintf(f, "Swap: %s used, %s compressed; pressure some avg10 %.2f%%\n\n", b[5],
		        b[6], h->some10);
	else
		fprintf(f, "Swap: %s used, %s compressed\n\n", b[5], b[6]);
}

static void print_header_json(struct json *j, const struct header *h)
{
	const char *names[] = {"anonymous", "page_cache", "shmem",     "kernel",
	                       "free",      "swap_used",  "compressed"};
	const uint64_t v[7] = {h->anon, h->cache, h->shmem,     h->kernel,
	                       h->free, h->swap,  h->compressed};

	json_key(j, "system");
	json_object_begin(j);
	for (int i = 0; i < 7; i++)
		json_pair_u64(j, names[i], h->known ? v[i] : ML_UNKNOWN);
	json_object_end(j);
}

/* Adds process p's figures into group g. */
static void add_to_group(struct tracked *g, const struct tracked *p)
{
	g->footprint = ml_add_u64(g->footprint, p->footprint);
	g->before = ml_add_u64(g->before, p->before);
	g->at_start = ml_add_u64(g->at_start, p->at_start);
	g->rss = ml_add_u64(g->rss, p->rss);
	if (p->pss != ML_UNKNOWN) /* Σ of those read; unknown when none is */
		g->pss = g->pss == ML_UNKNOWN ? p->pss : ml_add_u64(g->pss, p->pss);
	g->pss_partial |= p->pss == ML_UNKNOWN;
	g->fit.slope += p->fit.slope;
	g->fit.n = g->fit.n > p->fit.n ? g->fit.n : p->fit.n;
	g->fit.suspect |= p->fit.suspect;
	g->fit.leak |= p->fit.leak;
	g->fit.verdict |= p->fit.verdict;
	g->procs++;
}

/* Marks "browser" each process without a role whose child carries a browser child's role
 * (ml_role_is_child), as ml_roles_make does for a scan. */
static void find_browsers(struct top *tp)
{
	for (size_t i = 0; i < tp->n; i++)
		if (ml_role_is_child(tp->v[i].role))
			for (size_t k = 0; k < tp->n; k++)
				if (tp->v[k].pid == tp->v[i].ppid && !tp->v[k].role[0] &&
				    tp->v[k].command)
					snprintf(tp->v[k].role, sizeof(tp->v[k].role), "browser");
}

/* The key of process p's group in the mode: its command name, its user, its role (its
 * command name where it has none); "-" unknown. */
static const char *group_key(struct top *tp, const struct tracked *p)
{
	const char *key = tp->mode == MODE_USER                 ? ml_user_name(&tp->users, p->uid)
	                  : tp->mode == MODE_ROLE && p->role[0] ? p->role
	                                                        : p->comm;
	return key ? key : "-";
}

/* The groups of the processes shown, by command name, user or role. Returns 0 or
 * -ENOMEM. */
static int make_groups(struct top *tp, const struct top_row *shown, size_t n)
{
	for (size_t i = 0; i < tp->ngroups; i++)
		free(tp->groups[i].command);
	free(tp->groups);
	tp->groups = calloc(n + 1, sizeof(*tp->groups));
	tp->ngroups = 0;
	if (!tp->groups)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		struct tracked *p = shown[i].t, *g = NULL;
		const char *key = group_key(tp, p);
		for (size_t k = 0; k < tp->ngroups && !g; k++)
			if (strcmp(tp->groups[k].command, key) == 0)
				g = &tp->groups[k];
		if (!g) {
			g = &tp->groups[tp->ngroups++];
			g->command = strdup(key);
			if (!g->command)
				return -ENOMEM;
			g->uid = tp->mode == MODE_USER ? p->uid : ML_UNKNOWN;
			g->pss = ML_UNKNOWN;
			if (tp->mode == MODE_ROLE && p->role[0])
				snprintf(g->role, sizeof(g->role), "%s", p->role);
		}
		p->group = (size_t)(g - tp->groups);
		add_to_group(g, p);
	}
	return 0;
}

/* The rows of the frame, as the mode and the filter say, into *rows (malloc'ed), with
 * each one's parent row (-1: none) into *parent in tree mode. Returns how many, or -1. */
static long make_rows(struct top *tp, struct top_row **rows, long **parent)
{
	struct top_row *shown = malloc((tp->n + 1) * sizeof(*shown));
	size_t n = 0;

	*rows = NULL;
	*parent = NULL;
	if (!shown)
		return -1;
	for (size_t i = 0; i < tp->n; i++)
		if (!tp->filter[0] || strstr(tp->v[i].command, tp->filter))
			shown[n++] = (struct top_row){&tp->v[i], tp};
	find_browsers(tp);
	if (grouped(tp->mode)) {
		if (make_groups(tp, shown, n) < 0) {
			free(shown);
			return -1;
		}
		n = tp->ngroups;
		for (size_t i = 0; i < n; i++)
			shown[i] = (struct top_row){&tp->groups[i], tp};
	} else if (tp->mode == MODE_TREE) {
		*parent = malloc((n + 1) * sizeof(**parent));
		if (!*parent) {
			free(shown);
			return -1;
		}
		for (size_t i = 0; i < n; i++) {
			(*parent)[i] = -1;
			for (size_t k = 0; k < n; k++)
				if (k != i && shown[k].t->pid == shown[i].t->ppid)
					(*parent)[i] = (long)k;
		}
	}
	*rows = shown;
	return (long)n;
}

/* The screen: the PIDs of the rows drawn, in the order drawn (n rows of r; tree mode: the
 * order view_tree_order lays them out in), and the line of the first. */
static void note_visible(struct top *tp, const struct view_rows *r, const long *parent,
                         const struct colinfo *key, const struct header *h)
{
	const struct top_row *rows = r->rows;
	size_t *order = malloc((r->n + 1) * sizeof(*order));
	unsigned *depth = malloc((r->n + 1) * sizeof(*depth));
	long n = !order || !depth ? -1
	         : parent         ? view_tree_order(r, parent, key, tp->cli.reverse, order, depth)
	                          : (long)r->n;

	free(tp->visible);
	tp->nvisible = 0;
	tp->visible = calloc(tp->n + r->n + 1, sizeof(*tp->visible));
	for (long k = 0; tp->visible && k < n; k++) {
		const struct tracked *p = rows[parent ? order[k] : (size_t)k].t;
		if (!p->procs) /* a group is no process: its processes are */
			tp->visible[tp->nvisible++] = p->pid;
		else
			for (size_t i = 0; i < tp->n; i++)
				if (tp->v[i].group == (size_t)(p - tp->groups) &&
				    (!tp->filter[0] || strstr(tp->v[i].command, tp->filter)))
					tp->visible[tp->nvisible++] = tp->v[i].pid;
	}
	tp->nrows = n > 0 ? (size_t)n : 0;
	tp->first_row = (tp->series ? 1 : 0) + 1 + (h->known ? 3 : 0) + 1; /* and the header */
	free(order);
	free(depth);
}

/* The top a view's run belongs to. */
static struct top *top_of(const struct view_run *run)
{
	return (struct top *)((char *)run->run - offsetof(struct top, run));
}

/* The frame's state and what fits the screen (a view_def's begin). */
static int top_begin(struct view_run *run)
{
	struct top *tp = top_of(run);

	run->state = tp;
	if (tp->max_rows && !tp->cli.totals) /* -t: of every row */
		run->limit = tp->max_rows;   /* the full-screen view lays out what fits */
	return EXIT_GO_ON;
}

/* The rows of the frame, as the mode and the filter say; in tree mode each one's parent
 * (a view_def's rows). Returns 0 or -ENOMEM. */
static int top_rows(struct view_run *run)
{
	struct top *tp = run->state;
	long n = make_rows(tp, &tp->rows, &run->parent);

	if (n < 0)
		return -ENOMEM;
	run->rows = (struct view_rows){.rows = tp->rows,
	                               .n = (size_t)n,
	                               .size = sizeof(*tp->rows),
	                               .number = row_number,
	                               .text = row_text,
	                               .bound = row_bound,
	                               .blank = row_blank};
	return 0;
}

/* The frame: the header and the table; a document a frame in JSON (NDJSON); the rows
 * alone in CSV (TIME first) and raw (a view_def's print). Frees t. Returns 0 or -errno. */
static int top_print(struct view_run *run, struct out_table *t)
{
	struct top *tp = run->state;
	FILE *f = out_stream(&tp->cli.out);
	struct header h;
	struct json j;
	int rc;

	tp->sel = run->sel;
	tp->sort_name = run->sel.key ? run->sel.key->name : "none";
	read_header(tp, &h);
	if (tp->screen)
		note_visible(tp, &run->rows, run->parent, run->sel.key, &h);
	json_init(&j, f, tp->cli.out.time);
	if (tp->cli.out.format == OUT_JSON) {
		json_object_begin(&j);
		json_pair_u64(&j, "refresh", tp->refresh);
		print_header_json(&j, &h);
		rc = out_table_print_free(t, &j);
		json_object_end(&j);
		json_finish(&j);
	} else if (tp->cli.out.format == OUT_TABLE) {
		print_header_text(f, tp, &h, tp->when);
		rc = out_table_print_free(t, &j);
		fputc('\n', f);
	} else {
		rc = out_table_print_free(t, &j);
	}
	fflush(f);
	return rc;
}

static void top_end(struct view_run *run)
{
	struct top *tp = run->state;

	free(tp->rows);
	tp->rows = NULL;
}

/* The frames' views: the change columns and the sizes sort largest first, -r smallest. */
#define TOP_VIEW(key_name, columns)                                                                \
	{                                                                                          \
		.name = key_name, .cols = columns, .sort = "GROWTH", .tie = "FOOTPRINT",           \
		.own_scan = true, .descending = 1u << COL_DELTA | 1u << COL_SIZE,                  \
		.children_key = "children", .when_any = "ROLE", .begin = top_begin,                \
		.rows = top_rows, .print = top_print, .end = top_end,                              \
	}
static const struct view_def procs_view = TOP_VIEW("processes", &top_cols);
static const struct view_def groups_view = TOP_VIEW("groups", &group_cols);

/* One frame, through the driver, to the run's stream (stdout, or the screen's buffer).
 * Returns EXIT_OK or EXIT_ERROR. */
static int print_frame(struct top *tp)
{
	time_t now = time(NULL);
	int rc;

	if (tp->series && tp->taken >= 0)
		now = (time_t)tp->taken; /* replay: the snapshot's time */
	strftime(tp->when, sizeof(tp->when), "%Y-%m-%dT%H:%M:%SZ", gmtime(&now));
	tp->cli.out.time = tp->cli.out.format == OUT_JSON || tp->cli.out.format == OUT_CSV
	                       ? tp->when
	                       : NULL; /* NDJSON's "time", CSV's TIME */
	tp->cli.out.noheadings = tp->cli.out.format == OUT_CSV && tp->nframes; /* the header once */
	rc = view_run(&tp->run, grouped(tp->mode) ? &groups_view : &procs_view);
	tp->nframes++;
	return rc;
}

const char top_purpose[] =
    "memory over time, full screen: who grows, and how fast"; /* as usage says */

static void usage(FILE *f)
{
	fprintf(f, "Memory over time, full screen: who grows, and how fast.\n"
	           "Example: memledger top --by comm -d 5\n\n");
	fputs("Usage:\n memledger top [-b] [-n N] [-d SECS] [options]\n\n"
	      "Memory over time: each refresh reads every process's status (footprint, RSS),\n"
	      "smaps_rollup (PSS) every --pss-every refreshes; GROWTH is the slope of the\n"
	      "footprint over the window, per minute; LEAK marks steady growth (leak?) and\n"
	      "confirms it (LEAK) when the footprint's floor rose across three windows.\n\n"
	      "Options:\n"
	      " -b, --batch            write frames as text (or -J: NDJSON), as top -b;\n"
	      "                          without it, a full-screen view: q quit, h keys,\n"
	      "                          g groups (comm, user), t tree, s sort, < > sort\n"
	      "                          column, r reverse, / filter, arrows, p: mappings,\n"
	      "                          k: send the selected process a signal\n"
	      "     --by <key>         rows: process (default), comm, user, role or tree\n"
	      "     --source <path>    replay: a directory of snapshots (capture -i SECS -o\n"
	      "                          DIR/), a frame each, in time order; left and right\n"
	      "                          step through them (a snapshot: one frame)\n"
	      " -n, --iterations <n>   so many frames (default: until interrupted)\n"
	      " -d, --delay <secs>     between refreshes (default 2)\n"
	      "     --window <secs>    GROWTH's window (default 30); LEAK: leak? from half a\n"
	      "                        window on, LEAK (confirmed) from 3¼ windows on\n"
	      "     --floor <bytes>    LEAK: growth per minute above this (default 1048576)\n"
	      "     --pss-every <n>    read PSS every n refreshes (default 5)\n"
	      " -p, --pid <list>       only these processes\n"
	      " -o, --output <list>    columns (+COL adds); -s, --sort <column>; -r, --reverse\n"
	      " -J, --json             NDJSON: a document a frame, with \"time\"\n"
	      "     --csv, --raw, -t (totals), --bytes, --list-columns\n"
	      " -h, --help             this help\n\n"
	      "Columns:\n",
	      f);
	view_list_columns(&top_cols, f, true);
	fputs("\nSizes: K, M, G, T are KiB, MiB, GiB, TiB (powers of 1024); --bytes: bytes. A '-'\n"
	      "is a figure the kernel did not give: unknown, not 0. See memledger(1).\n",
	      f);
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* True when name ends as a snapshot's does. */
static bool snapshot_name(const char *name)
{
	static const char *const ends[] = {".tar",     ".tar.gz", ".tgz",
	                                   ".tar.zst", ".tar.xz", ".tar.bz2"};
	size_t len = strlen(name);

	for (size_t i = 0; i < sizeof(ends) / sizeof(ends[0]); i++)
		if (len > strlen(ends[i]) && strcmp(name + len - strlen(ends[i]), ends[i]) == 0)
			return true;
	return false;
}

/* --source: a directory of snapshots (capture -i -o DIR/) is a series, in name order
 * (their names hold the time); a snapshot, or a directory laid out like /proc, one
 * frame. Returns 0 or -errno. */
static int list_series(struct top *tp)
{
	struct stat st;
	struct dirent *de;
	size_t cap = 0;
	DIR *d;

	if (stat(tp->source, &st) < 0)
		return -errno;
	if (!S_ISDIR(st.st_mode) && !S_ISREG(st.st_mode))
		return -ENODEV; /* a FIFO's open() would wait for a writer */
	if (!S_ISDIR(st.st_mode) || !(d = opendir(tp->source))) {
		tp->series = calloc(1, sizeof(*tp->series));
		if (!tp->series || !(tp->series[0] = strdup(tp->source)))
			return -ENOMEM;
		tp->nseries = 1;
		return 0;
	}
	while ((de = readdir(d))) {
		char *path;
		if (!snapshot_name(de->d_name))
			continue;
		if (tp->nseries == cap) {
			char **v = realloc(tp->series, (cap = cap ? cap * 2 : 16) * sizeof(*v));
			if (!v)
				break;
			tp->series = v;
		}
		if (asprintf(&path, "%s/%s", tp->source, de->d_name) < 0)
			break;
		tp->series[tp->nseries++] = path;
	}
	closedir(d);
	if (!tp->nseries) { /* no snapshot in it: a directory laid out like /proc */
		free(tp->series);
		tp->series = calloc(1, sizeof(*tp->series));
		if (!tp->series || !(tp->series[0] = strdup(tp->source)))
			return -ENOMEM;
		tp->nseries = 1;
		return 0;
	}
	if (tp->nseries)
		qsort(tp->series, tp->nseries, sizeof(*tp->series), cmp_str);
	return 0;
}

static void rewind_series(struct top *tp);

/* Replay: the first frame (step 0), the one after (1) or the one before (-1), which the
 * trends need read again from the start. Returns EXIT_GO_ON or an exit status. */
static int step_series(struct top *tp, int step)
{
	size_t target;
	int rc = EXIT_GO_ON;

	if (step == 0 && tp->at == 0)
		return read_refresh(tp);
	if (step > 0)
		return tp->at < tp->nseries ? read_refresh(tp) : EXIT_GO_ON;
	if (step == 0 || tp->at < 2)
		return EXIT_GO_ON;
	target = tp->at - 1; /* frames to read again: the one before the shown one is the last */
	rewind_series(tp);
	while (rc == EXIT_GO_ON && tp->at < target)
		rc = read_refresh(tp);
	return rc;
}

/* Replay: forgets what the frames before said, to read the series again from its start. */
static void rewind_series(struct top *tp)
{
	for (size_t i = 0; i < tp->n; i++)
		free(tp->v[i].command);
	tp->n = 0;
	tp->at = 0;
	tp->refresh = 0;
}

/* Parses top's own options: top(1)'s -b, -n and -d, and memledger's where they do not
 * clash (-b is --bytes and -n --noheadings elsewhere). Returns EXIT_GO_ON or a status. */
/* The name of option c as a message says it: "-n (--iterations)" or "--window". */
static const char *option_name(const struct option *longopts, int c, char name[64])
{
	for (const struct option *o = longopts; o->name; o++) {
		if (o->val != c)
			continue;
		if (c < 256)
			snprintf(name, 64, "-%c (--%s)", c, o->name);
		else
			snprintf(name, 64, "--%s", o->name);
		return name;
	}
	return "an option";
}

/* top's options: getopt's table, and what --completion offers. */
enum { O_WINDOW = 256, O_FLOOR, O_PSS, O_CSV, O_RAW, O_BYTES, O_BY, O_SOURCE, O_LIST };
static const struct option longopts[] = {{"by", required_argument, NULL, O_BY},
                                         {"source", required_argument, NULL, O_SOURCE},
                                         {"batch", no_argument, NULL, 'b'},
                                         {"iterations", required_argument, NULL, 'n'},
                                         {"delay", required_argument, NULL, 'd'},
                                         {"window", required_argument, NULL, O_WINDOW},
                                         {"floor", required_argument, NULL, O_FLOOR},
                                         {"pss-every", required_argument, NULL, O_PSS},
                                         {"pid", required_argument, NULL, 'p'},
                                         {"output", required_argument, NULL, 'o'},
                                         {"sort", required_argument, NULL, 's'},
                                         {"reverse", no_argument, NULL, 'r'},
                                         {"json", no_argument, NULL, 'J'},
                                         {"csv", no_argument, NULL, O_CSV},
                                         {"raw", no_argument, NULL, O_RAW},
                                         {"bytes", no_argument, NULL, O_BYTES},
                                         {"totals", no_argument, NULL, 't'},
                                         {"list-columns", no_argument, NULL, O_LIST},
                                         {"help", no_argument, NULL, 'h'},
                                         {NULL, 0, NULL, 0}};

bool top_option(size_t i, unsigned uses, struct cli_option_desc *d)
{
	(void)uses;
	if (i >= sizeof(longopts) / sizeof(longopts[0]) - 1)
		return false;
	*d = (struct cli_option_desc){.name = longopts[i].name,
	                              .letter = longopts[i].val < 256 ? longopts[i].val : 0,
	                              .arg = longopts[i].has_arg == required_argument,
	                              .help = ""};
	return true;
}

static int parse(struct top *tp, int argc, char **argv)
{
	static const char *const bys[] = {"process", "comm", "user", "role", "tree"}; /* top_mode */
	char *end, name[64];
	int c;

	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":bn:d:p:o:s:rJth", longopts, NULL)) != -1) {
		double v;
		errno = 0;
		switch (c) {
		case 'b': tp->batch = true; break;
		case 'n':
			tp->frames = strtoul(optarg, &end, 10);
			if (*end || !tp->frames || optarg[0] == '-' || errno)
				goto bad;
			break;
		case 'd':
		case O_WINDOW:
		case O_FLOOR:
			v = strtod(optarg, &end);
			if (end == optarg || *end || !(v > 0 && v <= 86400.0 * 365))
				goto bad;
			*(c == 'd' ? &tp->delay : c == O_WINDOW ? &tp->window : &tp->floor) = v;
			break;
		case O_PSS:
			v = (double)strtoul(optarg, &end, 10);
			if (end == optarg || *end || optarg[0] == '-' || errno ||
			    !(v >= 1 && v <= 1e6))
				goto bad;
			tp->pss_every = (unsigned)v;
			break;
		case 'p':
			if (cli_add_pids(&tp->cli, optarg) < 0)
				goto bad;
			break;
		case 'o': tp->cli.columns = optarg; break;
		case 's': tp->cli.sort = optarg; break;
		case 'r': tp->cli.reverse = true; break;
		case 't': tp->cli.totals = true; break;
		case 'J': tp->cli.out.format = OUT_JSON; break;
		case O_CSV: tp->cli.out.format = OUT_CSV; break;
		case O_RAW: tp->cli.out.format = OUT_RAW; break;
		case O_BYTES: tp->cli.out.bytes = true; break;
		case O_SOURCE: tp->source = optarg; break;
		case O_LIST: tp->cli.list_columns = true; break;
		case O_BY: {
			int by = cli_choice("--by", bys, sizeof(bys) / sizeof(bys[0]), optarg);
			if (by < 0)
				return EXIT_USAGE;
			tp->mode = (enum top_mode)by;
			break;
		}
		case 'h': usage(stdout); return EXIT_OK;
		default:
			cli_warn("top: unknown option or missing argument: '%s'", argv[optind - 1]);
			fputs("Try 'memledger top --help' for more information.\n", stderr);
			return EXIT_USAGE;
		}
		continue;
	bad:
		cli_warn("top: bad value for %s: '%s'", option_name(longopts, c, name), optarg);
		return EXIT_USAGE;
	}
	if (optind < argc) {
		cli_warn("top takes no operands: '%s' (-p PIDS)", argv[optind]);
		return EXIT_USAGE;
	}
	return EXIT_GO_ON;
}

/* What fn writes to the run's stream, as a malloc'ed string: the run's output goes to a
 * buffer for the screen (the table engine fits it to the screen's width). NULL when out
 * of memory. */
static char *render(int (*fn)(struct top *, void *), struct top *tp, void *arg)
{
	char *buf = NULL;
	size_t n = 0;
	FILE *mem = open_memstream(&buf, &n);

	if (!mem)
		return NULL;
	tp->run.out.f = mem;
	fn(tp, arg);
	tp->run.out.f = stdout;
	fclose(mem);
	return buf;
}

/* What a frame of the full-screen view shows. */
struct screen {
	int cursor;             /* the selected row, from 0 */
	pid_t maps_of;          /* 'p': the maps of this process, 0: the rows */
	bool help;              /* 'h' or '?': the keys, until the next key */
	int step;               /* replay: the arrow pressed, -1 or 1; 0: none */
	const struct curses *c; /* ncurses's functions */
	char message[128];
};

static int draw_rows(struct top *tp, void *arg)
{
	(void)arg;
	return print_frame(tp);
}

static int draw_maps(struct top *tp, void *arg)
{
	struct screen *sc = arg;
	struct cli c = {.command = "maps", .pids = &sc->maps_of, .npids = 1, .out = tp->cli.out};
	struct run r;
	int rc;

	run_side(&r, &tp->run, tp->run.path); /* its messages to the status line, too */
	r.cli = &c;
	r.pids = c.pids;
	r.npids = c.npids;
	fprintf(tp->run.out.f, "maps of %d (p: back to the rows)\n\n", (int)sc->maps_of);
	rc = cmd_maps(&r);
	run_close(&r);
	return rc;
}

/* The keys, as the help screen shows them. */
static int draw_help(struct top *tp, void *arg)
{
	(void)arg;
	fputs("memledger top: the keys (any key: back to the rows)\n\n"
	      "  q          quit (SIGINT and SIGTERM too)\n"
	      "  h, ?       these keys\n"
	      "  g          group the rows by command name, by user, by role, then back\n"
	      "  t          the process tree, and back\n"
	      "  s          sort by a column, asked for by name\n"
	      "  < >        sort by the column before or after the sort column\n"
	      "  r          reverse the order\n"
	      "  /          keep the rows whose command line holds a text ('' all)\n"
	      "  up, down   select a row\n"
	      "  p          the mappings of the selected process, and back\n"
	      "  k          send the selected process a signal: asks which (TERM), then y/n\n"
	      "  left right a replayed series (--source DIR): the snapshot before, after\n\n"
	      "GROWTH is FOOTPRINT's least-squares slope over --window per minute; LEAK marks\n"
	      "steady growth above --floor. PSS is read for the rows on screen.\n",
	      tp->run.out.f);
	return EXIT_OK;
}

/* ncurses, loaded when the full-screen view starts (dl.h): top -b and every other command
 * never map it. */
struct curses {
	void *handle;
	WINDOW **stdscr;
	int *LINES, *COLS;
	__typeof__(newterm) *newterm;
	__typeof__(endwin) *endwin;
	__typeof__(delscreen) *delscreen;
	__typeof__(cbreak) *cbreak;
	__typeof__(nocbreak) *nocbreak;
	__typeof__(echo) *echo;
	__typeof__(noecho) *noecho;
	__typeof__(keypad) *keypad;
	__typeof__(curs_set) *curs_set;
	__typeof__(wtimeout) *wtimeout;
	__typeof__(wgetch) *wgetch;
	__typeof__(wgetnstr) *wgetnstr;
	__typeof__(werase) *werase;
	__typeof__(wattron) *wattron;
	__typeof__(wattroff) *wattroff;
	__typeof__(wmove) *wmove;
	__typeof__(waddnstr) *waddnstr;
	__typeof__(wclrtoeol) *wclrtoeol;
	__typeof__(wrefresh) *wrefresh;
};

/* Loads ncurses. Returns 0, or -1 after a message. */
static int load_curses(struct curses *c)
{
	static const char *const sonames[] = {"libncursesw.so.6", "libncursesw.so", NULL};
#define CURSES_SYM(s)                                                                              \
	{                                                                                          \
#s, (void **)&c->s                                                                 \
	}
	const struct dl_sym syms[] = {
	    CURSES_SYM(stdscr),   CURSES_SYM(LINES),    CURSES_SYM(COLS),
	    CURSES_SYM(newterm),  CURSES_SYM(endwin),   CURSES_SYM(delscreen),
	    CURSES_SYM(cbreak),   CURSES_SYM(nocbreak), CURSES_SYM(echo),
	    CURSES_SYM(noecho),   CURSES_SYM(keypad),   CURSES_SYM(curs_set),
	    CURSES_SYM(wtimeout), CURSES_SYM(wgetch),   CURSES_SYM(wgetnstr),
	    CURSES_SYM(werase),   CURSES_SYM(wattron),  CURSES_SYM(wattroff),
	    CURSES_SYM(wmove),    CURSES_SYM(waddnstr), CURSES_SYM(wclrtoeol),
	    CURSES_SYM(wrefresh)};
#undef CURSES_SYM

	return dl_load(&c->handle, sonames, syms, sizeof(syms) / sizeof(syms[0]), "top",
	               "libncursesw6");
}

/* Writes s[0..n) at row y, column x. */
static void put_at(const struct screen *sc, int y, int x, const char *s, int n)
{
	sc->c->wmove(*sc->c->stdscr, y, x);
	sc->c->waddnstr(*sc->c->stdscr, s, n);
}

/* Draws the frame's text on the screen, the cursor's row reversed: the rows are where
 * print_frame put them (tp->first_row on), in the order it noted (tp->visible). */
static void draw(struct top *tp, struct screen *sc, const char *text)
{
	const char *line = text;
	int y = 0, lines = *sc->c->LINES - 1;
	size_t drawn = 0;

	sc->c->werase(*sc->c->stdscr);
	while (line && *line && y < lines) {
		const char *nl = strchr(line, '\n');
		int len = nl ? (int)(nl - line) : (int)strlen(line);
		bool row = !sc->maps_of && !sc->help && (size_t)y >= tp->first_row &&
		           (size_t)y - tp->first_row < tp->nrows;
		if (row && sc->cursor >= 0 && (size_t)y - tp->first_row == (size_t)sc->cursor)
			sc->c->wattron(*sc->c->stdscr, A_REVERSE);
		drawn += row;
		put_at(sc, y++, 0, line, len < *sc->c->COLS ? len : *sc->c->COLS);
		sc->c->wattroff(*sc->c->stdscr, A_REVERSE);
		line = nl ? nl + 1 : NULL;
	}
	if (tp->nvisible > drawn) /* PSS for the rows on screen alone */
		tp->nvisible = drawn;
	if (sc->cursor >= (int)drawn && drawn > 0)
		sc->cursor = (int)drawn - 1;
	sc->c->wattron(*sc->c->stdscr, A_REVERSE);
	put_at(sc, *sc->c->LINES - 1, 0,
	       sc->message[0] ? sc->message
	                      : "q quit  h help  g groups  t tree  s sort  < > sort column  "
	                        "r reverse  / filter  p maps  k signal  arrows select",
	       *sc->c->COLS);
	sc->c->wattroff(*sc->c->stdscr, A_REVERSE);
	sc->c->wrefresh(*sc->c->stdscr);
}

/* Reads a line at the bottom after prompt, into buf. */
static void prompt(const struct screen *sc, const char *what, char *buf, int size)
{
	sc->c->wmove(*sc->c->stdscr, *sc->c->LINES - 1, 0);
	sc->c->wclrtoeol(*sc->c->stdscr);
	sc->c->waddnstr(*sc->c->stdscr, what, -1);
	sc->c->echo();
	sc->c->nocbreak();
	sc->c->cbreak();
	sc->c->wtimeout(*sc->c->stdscr, -1);
	sc->c->curs_set(1);
	sc->c->wgetnstr(*sc->c->stdscr, buf, size - 1);
	sc->c->curs_set(0);
	sc->c->noecho();
}

/* The PID on the cursor's row, 0 when none. */
static pid_t selected(const struct top *tp, const struct screen *sc)
{
	return sc->cursor >= 0 && (size_t)sc->cursor < tp->nvisible ? tp->visible[sc->cursor] : 0;
}

/* The signal called name ("TERM", "SIGTERM", "15", any case), or 0. */
static int signal_number(const char *name)
{
	char *end;
	long n = strtol(name, &end, 10);

	if (end != name && !*end)
		return n > 0 && n < NSIG ? (int)n : 0;
	if (strncasecmp(name, "SIG", 3) == 0)
		name += 3;
	for (int sig = 1; sig < NSIG; sig++)
		if (sigabbrev_np(sig) && strcasecmp(sigabbrev_np(sig), name) == 0)
			return sig;
	return 0;
}

/* 'k': asks which signal (TERM when none is typed), then whether to send it, and sends
 * it through a pidfd taken before the questions: a PID reused while they are asked is
 * not the one signalled. What came of it goes to the status line. */
static void signal_selected(struct top *tp, struct screen *sc)
{
	pid_t pid = selected(tp, sc);
	char buf[32], question[96];
	int sig, fd;

	if (tp->source || !pid) {
		snprintf(sc->message, sizeof(sc->message), "%s",
		         tp->source ? "a replay: no process to signal"
		                    : "select a process first (PID shown)");
		return;
	}
	fd = (int)syscall(SYS_pidfd_open, pid, 0);
	if (fd < 0 && errno != ENOSYS) {
		snprintf(sc->message, sizeof(sc->message), "cannot signal %d: %s", (int)pid,
		         strerror(errno));
		return;
	}
	snprintf(question, sizeof(question), "signal to send %d [TERM]: ", (int)pid);
	prompt(sc, question, buf, sizeof(buf));
	sig = buf[0] ? signal_number(buf) : SIGTERM;
	if (!sig)
		snprintf(sc->message, sizeof(sc->message), "no signal '%.20s': nothing sent", buf);
	if (sig) {
		snprintf(question, sizeof(question), "send SIG%s to %d? [y/N] ", sigabbrev_np(sig),
		         (int)pid);
		prompt(sc, question, buf, sizeof(buf));
	}
	if (sig && buf[0] != 'y' && buf[0] != 'Y')
		snprintf(sc->message, sizeof(sc->message), "nothing sent");
	else if (sig &&
	         (fd >= 0 ? syscall(SYS_pidfd_send_signal, fd, sig, NULL, 0) : kill(pid, sig)))
		snprintf(sc->message, sizeof(sc->message), "cannot send SIG%s to %d: %s",
		         sigabbrev_np(sig), (int)pid, strerror(errno));
	else if (sig)
		snprintf(sc->message, sizeof(sc->message), "sent SIG%s to %d", sigabbrev_np(sig),
		         (int)pid);
	if (fd >= 0)
		close(fd);
}

/* Handles one key. Returns true when the frame must be drawn again. */
static bool on_key(struct top *tp, struct screen *sc, int ch)
{
	const struct view_sel *sel = &tp->sel;
	int at = 0;
	char buf[128];

	sc->message[0] = '\0';
	if (sc->help && ch != KEY_RESIZE) { /* any key: back to the rows */
		sc->help = false;
		return true;
	}
	for (int i = 0; i < sel->ncols; i++)
		if (sel->cols[i] == sel->key)
			at = i;
	switch (ch) {
	case 'q': run_stop = 1; return false;
	case 'h':
	case '?': sc->help = true; break;
	case 'g':
		tp->mode = tp->mode == MODE_COMM   ? MODE_USER
		           : tp->mode == MODE_USER ? MODE_ROLE
		           : tp->mode == MODE_ROLE ? MODE_PROCS
		                                   : MODE_COMM;
		break;
	case 't': tp->mode = tp->mode == MODE_TREE ? MODE_PROCS : MODE_TREE; break;
	case 'r': tp->cli.reverse = !tp->cli.reverse; break;
	case '<': tp->cli.sort = sel->cols[at > 0 ? at - 1 : 0]->name; break;
	case '>': tp->cli.sort = sel->cols[at + 1 < sel->ncols ? at + 1 : at]->name; break;
	case 's':
		prompt(sc, "sort by column: ", buf, sizeof(buf));
		if (view_column(&top_cols, buf, strlen(buf)))
			tp->cli.sort = view_column(&top_cols, buf, strlen(buf))->name;
		else
			snprintf(sc->message, sizeof(sc->message), "no column '%.60s'", buf);
		break;
	case '/': prompt(sc, "filter (command holds): ", tp->filter, sizeof(tp->filter)); break;
	case 'p':
		sc->maps_of = sc->maps_of ? 0 : selected(tp, sc);
		if (!sc->maps_of && ch == 'p' && !selected(tp, sc))
			snprintf(sc->message, sizeof(sc->message),
			         "select a process first (PID shown)");
		break;
	case 'k': signal_selected(tp, sc); break;
	case KEY_UP: sc->cursor = sc->cursor > 0 ? sc->cursor - 1 : 0; break;
	case KEY_DOWN: sc->cursor++; break;
	case KEY_RESIZE: break;
	default: return false;
	}
	return true;
}

/* The run's messages while the screen is up: the last one on the status line. */
static void to_status_line(const char *msg, void *ctx)
{
	struct screen *sc = ctx;

	snprintf(sc->message, sizeof(sc->message), "%s", msg);
}

/* The full-screen view: a refresh every delay, keys between. Returns an exit status. */
static int top_screen(struct top *tp)
{
	struct curses c = {0};
	struct screen sc = {.c = &c};
	int rc = EXIT_OK;
	SCREEN *term;

	tp->screen = true;
	/* newterm, not initscr: initscr exits by itself on a terminal terminfo lacks */
	if (load_curses(&c) < 0 || !(term = c.newterm(NULL, stdout, stdin))) {
		cli_warn("top: cannot drive the terminal '%s' (TERM; not in terminfo?): use -b",
		         getenv("TERM") ? getenv("TERM") : "");
		return EXIT_ERROR;
	}
	/* messages would scribble over the screen: the status line shows them */
	tp->run.sink = to_status_line;
	tp->run.sink_ctx = &sc;
	c.cbreak();
	c.noecho();
	c.keypad(*c.stdscr, TRUE);
	c.curs_set(0);
	while (!run_stop && rc == EXIT_OK) {
		/* a replay stays on its frame until an arrow moves it */
		double due = now_seconds() + (tp->series ? 1e9 : tp->delay);
		bool redraw = true;
		rc = tp->series ? step_series(tp, sc.step) : read_refresh(tp);
		sc.step = 0;
		if (rc == EXIT_GO_ON)
			rc = EXIT_OK;
		while (rc == EXIT_OK && !run_stop) {
			double left = due - now_seconds();
			int ch;
			if (redraw) {
				char *text;
				bool first = tp->refresh == 1 && !tp->nvisible;
				tp->cli.out.width = (size_t)*c.COLS;
				tp->max_rows = *c.LINES > 6 ? (size_t)*c.LINES - 6 : 1;
				text = render(sc.help      ? draw_help
				              : sc.maps_of ? draw_maps
				                           : draw_rows,
				              tp, &sc);
				draw(tp, &sc, text ? text : "out of memory\n");
				free(text);
				redraw = first &&
				         tp->nvisible; /* PSS of the first rows drawn, at once */
				if (redraw)
					read_visible_pss(tp);
			}
			if (left <= 0)
				break;
			c.wtimeout(*c.stdscr,
			           left > 0.2 ? 200
			                      : (int)(left * 1000) + 1); /* SIGTERM is seen soon */
			ch = c.wgetch(*c.stdscr);
			if (ch != ERR && tp->series && (ch == KEY_LEFT || ch == KEY_RIGHT)) {
				sc.step = ch == KEY_LEFT ? -1 : 1;
				break; /* to the frame before or after */
			}
			if (ch != ERR)
				redraw = on_key(tp, &sc, ch);
		}
	}
	c.endwin(); /* the terminal as it was: after q, SIGINT and SIGTERM alike */
	c.delscreen(term);
	tp->run.sink = NULL;
	return rc;
}

int cmd_top(int argc, char **argv, int *write_errno)
{
	struct top tp = {.delay = 2, .window = 30, .floor = 1 << 20, .pss_every = 5};
	struct timespec next;
	int rc;

	memset(&tp.cli, 0, sizeof(tp.cli));
	tp.cli.command = "top";
	rc = parse(&tp, argc, argv);
	run_init(&tp.run, &tp.cli, stdout); /* with -p's PIDs */
	if (rc == EXIT_GO_ON) /* -o and -s checked, or --list-columns, before any frame */
		rc = view_begin(&tp.cli, &top_cols, false, "GROWTH", "FOOTPRINT", &tp.sel);
	if (rc == EXIT_GO_ON && !tp.batch && (!isatty(0) || !isatty(1))) {
		cli_warn("top: the full-screen view needs a terminal: use -b (batch) in a pipe");
		rc = EXIT_USAGE;
	}
	if (rc != EXIT_GO_ON) {
		free(tp.cli.pids);
		return rc;
	}
	if (tp.source && (rc = list_series(&tp)) < 0) {
		cli_warn("top: cannot read %s: %s", tp.source,
		         rc == -ENODEV ? "neither a snapshot archive nor a directory"
		                       : strerror(-rc));
		free(tp.cli.pids);
		return EXIT_ERROR;
	}
	if (tp.series && (!tp.frames || tp.frames > tp.nseries))
		tp.frames = tp.nseries; /* batch: a frame a snapshot */
	run_catch_stop();               /* before initscr: ncurses's own would exit 1 */
	if (!tp.batch) {
		rc = top_screen(&tp);
		goto out;
	}
	clock_gettime(CLOCK_MONOTONIC, &next);
	rc = EXIT_OK;
	for (unsigned long f = 0; !run_stop && (!tp.frames || f < tp.frames); f++) {
		long step = (long)(tp.delay * 1e9);
		if (f && !tp.series) {
			next.tv_sec += step / 1000000000L;
			next.tv_nsec += step % 1000000000L;
			if (next.tv_nsec >= 1000000000L) {
				next.tv_sec++;
				next.tv_nsec -= 1000000000L;
			}
			while (!run_stop && clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &next,
			                                    NULL) == EINTR)
				;
			if (run_stop)
				break;
		}
		rc = read_refresh(&tp);
		if (rc == EXIT_GO_ON)
			rc = print_frame(&tp);
		if (rc != EXIT_OK)
			break;
	}
out:
	for (size_t i = 0; i < tp.n; i++)
		free(tp.v[i].command);
	free(tp.v);
	for (size_t i = 0; i < tp.ngroups; i++)
		free(tp.groups[i].command);
	free(tp.groups);
	free(tp.visible);
	for (size_t i = 0; i < tp.nseries; i++)
		free(tp.series[i]);
	free(tp.series);
	ml_user_cache_free(&tp.users);
	free(tp.unread);
	free(tp.cli.pids);
	*write_errno = tp.run.out.write_errno;
	run_free(&tp.run);
	return rc;
}
