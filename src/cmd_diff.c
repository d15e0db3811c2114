/*
 * memledger diff A B: what changed between two snapshots, or a snapshot and the live
 * system. Processes are matched by PID and start time (a reused PID is a new process);
 * --by compares groups, --by system the system's rows, -p PID --mappings one process's
 * mappings by name. The size columns are changes, B - A, growth first.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "commands.h"
#include "run.h"
#include "memledger.h"
#include "json.h"
#include "memledger/ledger.h"
#include "memledger/maps.h"
#include "memledger/system.h"
#include "procs.h"
#include "memledger/group.h"
#include "view.h"

/* The figures a row compares, each on both sides. */
enum { M_PSS, M_USS, M_RSS, M_SWAP, M_FOOTPRINT, M_SIZE, NM };

static const enum ml_metric metric_of[NM] = {ML_PSS, ML_USS, ML_RSS, ML_SWAP, ML_FOOTPRINT, ML_VSS};

enum field {
	F_PID,
	F_NAME,
	F_STATE,
	F_KIND,
	F_ROLE,
	F_COUNT_A,
	F_COUNT_B,
	F_DELTA,
	F_A = 20,
	F_B = 40
};

/* One row: a process, a group, a mapping name or a system row, as it was in A and in B. */
struct row {
	pid_t pid;
	char *name;
	const char *kind;
	char role[ML_ROLE_LEN]; /* a process's, as B has it where it has it; "" none */
	uint64_t start;         /* a process's start time (stat), to match B's processes by */
	uint64_t count[2]; /* processes (groups), mappings (--mappings); 0 on a side without it */
	uint64_t v[2][NM]; /* ML_UNKNOWN where unknown; 0 on a side without it */
	bool in[2];        /* on side A, on side B */
	bool unread[2];    /* a process that side could not read: not gone, not new */
};

#define DELTA_COL(name, m, help)                                                                   \
	{                                                                                          \
		name, COL_DELTA, OUT_RIGHT, F_DELTA + (m), help, 0, VIEW_TOTAL_SUM                 \
	}
#define SIDE_COL(name, side, m, help)                                                              \
	{                                                                                          \
		name, COL_SIZE, OUT_RIGHT, (side) + (m), help, 0, VIEW_TOTAL_SUM                   \
	}

static const struct colinfo infos[] = {
    {"PID", COL_COUNT, OUT_RIGHT, F_PID, "process ID (processes match by PID and start time)", 0,
     VIEW_TOTAL_NONE},
    {"STATE", COL_STR, 0, F_STATE,
     "new: only in B; gone: only in A; unreadable: refused on one side (in no total); "
     "blank: in both",
     0, VIEW_TOTAL_NONE},
    {"PROCS-A", COL_COUNT, OUT_RIGHT, F_COUNT_A, "--by: processes in the group in A", 0,
     VIEW_TOTAL_SUM},
    {"PROCS-B", COL_COUNT, OUT_RIGHT, F_COUNT_B, "--by: processes in the group in B", 0,
     VIEW_TOTAL_SUM},
    {"COUNT-A", COL_COUNT, OUT_RIGHT, F_COUNT_A, "--mappings: mappings of the name in A", 0,
     VIEW_TOTAL_SUM},
    {"COUNT-B", COL_COUNT, OUT_RIGHT, F_COUNT_B, "--mappings: mappings of the name in B", 0,
     VIEW_TOTAL_SUM},
    {"KIND", COL_STR, 0, F_KIND, "--mappings: what the mapping is (code, heap, shmem:memfd...)", 0,
     VIEW_TOTAL_NONE},
    {"ROLE", COL_STR, 0, F_ROLE,
     "a process's role in a multi-process app: browser, renderer... (shown when one has it)", 0,
     VIEW_TOTAL_NONE},
    DELTA_COL("PSS", M_PSS, "change of PSS, B - A"),
    DELTA_COL("USS", M_USS, "change of USS (Private_Clean + Private_Dirty)"),
    DELTA_COL("RSS", M_RSS, "change of RSS"),
    DELTA_COL("SWAP", M_SWAP, "change of swap"),
    DELTA_COL("FOOTPRINT", M_FOOTPRINT, "change of RssAnon + VmSwap (not with --mappings)"),
    DELTA_COL("SIZE", M_SIZE, "change of the address space reserved (VmSize; a mapping's size)"),
    SIDE_COL("PSS-A", F_A, M_PSS, "PSS in A"),
    SIDE_COL("PSS-B", F_B, M_PSS, "PSS in B"),
    SIDE_COL("RSS-A", F_A, M_RSS, "RSS in A"),
    SIDE_COL("RSS-B", F_B, M_RSS, "RSS in B"),
    {"NAME", COL_STR, OUT_KEY | OUT_PATHS, F_NAME,
     "the command line; --by: the group; --mappings: the mapping's name", 0, VIEW_TOTAL_NONE},
};
static const char *const proc_defaults[] = {"PID",  "STATE",     "PSS",   "USS", "RSS",
                                            "SWAP", "FOOTPRINT", "PSS-B", "NAME"};
static const char *const group_defaults[] = {"NAME", "PROCS-A", "PROCS-B",   "PSS",  "USS",
                                             "RSS",  "SWAP",    "FOOTPRINT", "PSS-B"};
static const char *const map_defaults[] = {"NAME", "KIND", "COUNT-A", "COUNT-B", "SIZE",
                                           "RSS",  "PSS",  "USS",     "SWAP",    "RSS-B"};
static const struct view_cols proc_cols = VIEW_COLS(infos, proc_defaults);
static const struct view_cols group_cols = VIEW_COLS(infos, group_defaults);
static const struct view_cols map_cols = VIEW_COLS(infos, map_defaults);

/* system: a row of the RAM breakdown in A and B. */
static const struct colinfo sys_infos[] = {
    {"NAME", COL_STR, OUT_TREE | OUT_KEY, F_NAME, "where RAM goes (the rows of memledger system)",
     0, VIEW_TOTAL_NONE},
    {"A", COL_SIZE, OUT_RIGHT, F_A + M_SIZE, "bytes in A", 0, VIEW_TOTAL_NONE},
    {"B", COL_SIZE, OUT_RIGHT, F_B + M_SIZE, "bytes in B", 0, VIEW_TOTAL_NONE},
    {"CHANGE", COL_DELTA, OUT_RIGHT, F_DELTA + M_SIZE, "B - A", 0, VIEW_TOTAL_NONE},
};
static const char *const sys_defaults[] = {"NAME", "A", "B", "CHANGE"};
static const struct view_cols sys_cols = VIEW_COLS(sys_infos, sys_defaults);

static uint64_t delta(const struct row *r, int m)
{
	uint64_t a = r->v[0][m], b = r->v[1][m];

	return a == ML_UNKNOWN || b == ML_UNKNOWN ? ML_UNKNOWN : b - a;
}

static uint64_t row_number(const void *p, const struct colinfo *c)
{
	const struct row *r = p;

	switch (c->id) {
	case F_PID: return r->pid > 0 ? (uint64_t)r->pid : ML_UNKNOWN;
	case F_COUNT_A: return r->count[0];
	case F_COUNT_B: return r->count[1];
	default: break;
	}
	if (c->id >= F_B)
		return r->unread[1] ? ML_UNKNOWN : r->in[1] ? r->v[1][c->id - F_B] : 0;
	if (c->id >= F_A)
		return r->unread[0] ? ML_UNKNOWN : r->in[0] ? r->v[0][c->id - F_A] : 0;
	return r->unread[0] || r->unread[1] ? ML_UNKNOWN : delta(r, c->id - F_DELTA);
}

static const char *row_text(const void *p, const struct colinfo *c)
{
	const struct row *r = p;

	if (c->id == F_NAME)
		return r->name;
	if (c->id == F_KIND)
		return r->kind;
	if (c->id == F_ROLE)
		return r->role;
	if (r->unread[0] || r->unread[1])
		return "unreadable";
	return r->in[0] && r->in[1] ? "" : r->in[1] ? "new" : "gone";
}

/* A process one side could not read is in no total: its change is unknown. */
static bool untotalled(const void *p)
{
	const struct row *r = p;

	return r->unread[0] || r->unread[1];
}

/* The rows, growing. */
struct rows {
	struct row *v;
	size_t n, cap;
};

static void rows_free(struct rows *rs)
{
	for (size_t i = 0; i < rs->n; i++)
		free(rs->v[i].name);
	free(rs->v);
}

/* A new row named name (copied), every figure 0 on both sides. NULL when out of memory. */
static struct row *add_row(struct rows *rs, const char *name)
{
	struct row *r;

	if (rs->n == rs->cap) {
		size_t cap = rs->cap ? rs->cap * 2 : 64;
		struct row *v = realloc(rs->v, cap * sizeof(*v));
		if (!v)
			return NULL;
		rs->v = v;
		rs->cap = cap;
	}
	r = &rs->v[rs->n];
	memset(r, 0, sizeof(*r));
	r->name = strdup(name ? name : "");
	if (!r->name)
		return NULL;
	rs->n++;
	return r;
}

/* The row named name (and kind), or a new one. NULL when out of memory. */
static struct row *row_named(struct rows *rs, const char *name, const char *kind)
{
	for (size_t i = rs->n; i-- > 0;)
		if (strcmp(rs->v[i].name, name ? name : "") == 0 &&
		    (!kind || strcmp(rs->v[i].kind, kind) == 0))
			return &rs->v[i];
	struct row *r = add_row(rs, name);
	if (r)
		r->kind = kind;
	return r;
}

/* Adds figures v to side s of r: a sum; unknown stays unknown. */
static void book(struct row *r, int s, const uint64_t v[NM], uint64_t count)
{
	for (int m = 0; m < NM; m++)
		r->v[s][m] = r->in[s] ? ml_add_u64(r->v[s][m], v[m]) : v[m];
	r->count[s] += count;
	r->in[s] = true;
}

/* A side that lacks the row has 0 of it: what came or went is all change. */
static void zero_missing_sides(struct rows *rs)
{
	for (size_t i = 0; i < rs->n; i++)
		for (int s = 0; s < 2; s++)
			if (!rs->v[i].in[s])
				memset(rs->v[i].v[s], 0, sizeof(rs->v[i].v[s]));
}

/* The --by keys diff compares groups by. */
enum by { BY_PROCESS, BY_COMM, BY_EXE, BY_USER, BY_CGROUP, BY_SYSTEM };
static const char *const by_names[] = {"process", "comm", "exe", "user", "cgroup", "system"};

struct diff {
	struct cli *cli;
	struct run *run;
	struct run side[2];  /* A and B, each its source opened once */
	const char *path[2]; /* NULL: live */
	enum by by;
	struct ml_user_cache users;
	struct rows rows;
	size_t unreadable[2];
	pid_t *unreadable_pids[2]; /* each side's, ascending */
	size_t marked[2];          /* rows marked unreadable on that side */
};

/* The group key of p, or NULL (unknown). */
static const char *group_key(struct diff *d, const struct ml_proc *p)
{
	switch (d->by) {
	case BY_COMM: return p->comm[0] ? p->comm : NULL;
	case BY_EXE: return p->exe;
	case BY_USER: return ml_user_name(&d->users, ml_proc_uid(p));
	case BY_CGROUP: return p->cgroup;
	default: return NULL;
	}
}

/* The row of p of side s: its process's (matched by PID and start time), or its group's. */
static struct row *row_of(struct diff *d, const struct ml_proc *p, int s)
{
	struct row *r;
	char *cmd;

	if (d->by != BY_PROCESS)
		return row_named(&d->rows, group_key(d, p) ? group_key(d, p) : "-", NULL);
	for (size_t i = 0; s == 1 && i < d->rows.n; i++) {
		r = &d->rows.v[i];
		if (r->pid == p->pid && r->in[0] && !r->in[1] && r->start == p->stat.starttime)
			return r;
	}
	cmd = procs_command(p);
	r = cmd ? add_row(&d->rows, cmd) : NULL;
	free(cmd);
	if (r) {
		r->pid = p->pid;
		r->start = p->stat.starttime;
	}
	return r;
}

/* Scans side s and books its processes. Returns EXIT_GO_ON or an exit status. */
static int scan_side(struct diff *d, int s)
{
	unsigned needs = ML_NEED_STAT | ML_NEED_STATUS | ML_NEED_CMDLINE | ML_NEED_ROLLUP |
	                 (d->by == BY_EXE ? ML_NEED_EXE : 0) |
	                 (d->by == BY_CGROUP ? ML_NEED_CGROUP : 0);
	struct ml_scan scan;
	struct ml_roles roles = {0};
	int rc;

	rc = procs_scan(&d->side[s], needs | procs_filter_needs(d->cli), NULL, NULL, &scan);
	if (rc != EXIT_GO_ON)
		return rc;
	d->unreadable[s] = scan.unreadable;
	d->users.android |= scan.android; /* a phone's snapshots: Android's user names */
	d->unreadable_pids[s] = scan.unreadable_pids; /* taken */
	scan.unreadable_pids = NULL;
	if (d->by == BY_PROCESS && ml_roles_make(&roles, &scan) < 0)
		rc = EXIT_ERROR;
	for (size_t i = 0; i < scan.nprocs && rc == EXIT_GO_ON; i++) {
		const struct ml_proc *p = &scan.procs[i];
		struct row *r = row_of(d, p, s);
		const char *role = ml_roles_get(&roles, i);
		uint64_t v[NM];
		if (!r) {
			rc = EXIT_ERROR;
			break;
		}
		if (role && (s == 1 || !r->role[0]))
			snprintf(r->role, sizeof(r->role), "%s", role);
		for (int m = 0; m < NM; m++)
			v[m] = ml_proc_metric(p, metric_of[m]);
		book(r, s, v, 1);
	}
	ml_roles_free(&roles);
	ml_scan_free(&scan);
	if (rc != EXIT_GO_ON)
		cli_warn("out of memory");
	return rc;
}

/* Marks the processes that one side has and the other could not read: their change is
 * unknown, not a process that came or went. */
static void mark_unreadable(struct diff *d)
{
	for (size_t i = 0; i < d->rows.n; i++) {
		struct row *r = &d->rows.v[i];
		int other = r->in[0] ? 1 : 0;
		if (r->in[0] == r->in[1] ||
		    !procs_pid_listed(d->unreadable_pids[other], d->unreadable[other], r->pid))
			continue;
		r->unread[other] = true;
		d->marked[other]++;
	}
}

/* Says what the figures leave out: processes a side could not read. */
static void say_unreadable(const struct diff *d)
{
	for (int s = 0; s < 2; s++) {
		if (!d->unreadable[s])
			continue;
		if (d->by == BY_PROCESS)
			cli_warn("%s: %zu process%s could not be read: %zu of them marked "
			         "unreadable, in no total",
			         s ? "B" : "A", d->unreadable[s], d->unreadable[s] == 1 ? "" : "es",
			         d->marked[s]);
		else
			cli_warn("%s: %zu process%s could not be read: in no group's figures",
			         s ? "B" : "A", d->unreadable[s],
			         d->unreadable[s] == 1 ? "" : "es");
	}
}

/* Books the mappings of PID on side s by name and kind. Returns EXIT_GO_ON or a status. */
static int maps_side(struct diff *d, int s, pid_t pid, uint64_t *start)
{
	struct ml_source *src = run_source(&d->side[s], ML_NEED_SMAPS, true); /* -p PID's */
	struct ml_maps maps = {0};
	struct ml_stat st;
	int rc = EXIT_GO_ON;
	long n;

	if (!src)
		return EXIT_ERROR;
	if (ml_scan_read_stat(src, pid, &st) == 0)
		start[s] = st.starttime;
	n = ml_maps_read(src, pid, &maps);
	if (n < 0) {
		cli_warn("%s: PID %d: %s", d->path[s] ? d->path[s] : "live", (int)pid,
		         ml_source_strerror((int)n));
		rc = EXIT_ERROR;
	}
	for (size_t i = 0; rc == EXIT_GO_ON && i < maps.n; i++) {
		const struct ml_map *m = &maps.v[i];
		struct row *r = row_named(&d->rows, m->name, ml_kind_name(m->kind));
		uint64_t v[NM];
		if (!r) {
			rc = EXIT_ERROR;
			break;
		}
		for (int k = 0; k < NM; k++)
			v[k] = ml_mem_metric(&m->mem, metric_of[k]);
		v[M_SIZE] = m->end - m->start;
		v[M_FOOTPRINT] = ML_UNKNOWN;
		book(r, s, v, 1);
	}
	ml_maps_free(&maps);
	return rc;
}

/* Books the system's rows of side s. Returns EXIT_GO_ON or an exit status. */
static int system_side(struct diff *d, int s)
{
	struct ml_source *src = run_source(&d->side[s], 0, false);
	struct ml_system sys;
	int rc;

	if (!src)
		return EXIT_ERROR;
	rc = ml_system_read(src, &sys);
	if (rc < 0) {
		cli_warn("%s: meminfo: %s", d->path[s] ? d->path[s] : "live",
		         ml_source_strerror(rc));
		return EXIT_ERROR;
	}
	for (size_t i = 0, top = 0; i < sys.nrows; i++) {
		uint64_t v[NM];
		struct row *r;
		for (int m = 0; m < NM; m++)
			v[m] = sys.rows[i].bytes;
		if (sys.rows[i].depth == 0)
			top = i;
		/* "mapped by processes" is a child of two rows: matched under its parent */
		r = row_named(&d->rows, sys.rows[i].name,
		              sys.rows[i].depth ? sys.rows[top].name : "");
		if (!r)
			return EXIT_ERROR;
		r->pid = sys.rows[i].depth; /* the row's depth, for the tree */
		book(r, s, v, 1);
	}
	return EXIT_GO_ON;
}

static void print_header(const struct diff *d, struct json *j)
{
	for (int s = 0; s < 2; s++) {
		json_key(j, s ? "b" : "a");
		json_string(j, d->path[s] ? d->path[s] : "live");
	}
}

/* The document around the table; JSON: {"a", "b", KEY: [...], "totals", "unreadable_a",
 * "unreadable_b"} (a view_def's print). Frees t. Returns 0 or -errno. */
static int diff_print(struct view_run *run, struct out_table *t)
{
	const struct diff *d = run->state;
	struct json j;
	int rc;

	json_init(&j, out_stream(&d->cli->out), d->cli->out.time);
	if (d->cli->out.format != OUT_JSON)
		return out_table_print_free(t, &j);
	json_object_begin(&j);
	print_header(d, &j);
	rc = out_table_print_free(t, &j);
	for (int s = 0; s < 2 && d->by != BY_SYSTEM; s++) {
		json_key(&j, s ? "unreadable_b" : "unreadable_a");
		json_u64(&j, d->unreadable[s]);
	}
	json_object_end(&j);
	json_finish(&j);
	return rc;
}

/* The sides: "live" or a snapshot. Returns EXIT_GO_ON or EXIT_USAGE. */
static int sides(struct diff *d)
{
	if (d->cli->noperands != 2) {
		cli_warn("diff takes two snapshots (or live): A B");
		return EXIT_USAGE;
	}
	for (int s = 0; s < 2; s++) {
		d->path[s] = strcmp(d->cli->operands[s], "live") == 0 ? NULL : d->cli->operands[s];
		run_side(&d->side[s], d->run, d->path[s]);
	}
	if (!d->path[0] && !d->path[1])
		cli_warn("diff live live: both sides are read now, one after the other");
	return EXIT_GO_ON;
}

/* Books the mappings of -p's process on both sides. Returns EXIT_GO_ON or a status. */
static int book_mappings(struct diff *d)
{
	uint64_t start[2] = {ML_UNKNOWN, ML_UNKNOWN};
	int rc = maps_side(d, 0, d->cli->pids[0], start);

	if (rc == EXIT_GO_ON)
		rc = maps_side(d, 1, d->cli->pids[0], start);
	if (rc != EXIT_GO_ON)
		return rc;
	if (start[0] != start[1])
		cli_warn("PID %d is another process in B (it started at another time): its "
		         "mappings are compared all the same",
		         (int)d->cli->pids[0]);
	return EXIT_GO_ON;
}

/* Books the processes (or groups) of both sides. Returns EXIT_GO_ON or a status. */
static int book_processes(struct diff *d)
{
	int rc = scan_side(d, 0);

	if (rc == EXIT_GO_ON)
		rc = scan_side(d, 1);
	if (rc == EXIT_GO_ON && d->by == BY_PROCESS)
		mark_unreadable(d);
	return rc;
}

/* The key of --by (BY_PROCESS without it), or -1 after a message. */
static int by_key(const struct cli *cli)
{
	return cli->group_by ? cli_choice("--by", by_names, sizeof(by_names) / sizeof(by_names[0]),
	                                  cli->group_by)
	                     : BY_PROCESS;
}

/* The sides and what is compared (a view_def's begin). Returns EXIT_GO_ON or a status. */
static int diff_begin(struct view_run *run)
{
	struct diff *d = calloc(1, sizeof(*d));

	run->state = d;
	if (!d) {
		cli_warn("out of memory");
		return EXIT_ERROR;
	}
	*d = (struct diff){.cli = run->cli, .run = run->run, .by = (enum by)by_key(run->cli)};
	if (run->cli->mappings && run->cli->npids != 1) {
		cli_warn("diff --mappings takes one process: -p PID");
		return EXIT_USAGE;
	}
	return sides(d);
}

/* Reads both sides into rows, a row per thing either has (a view_def's rows). Returns 0
 * or -errno. */
static int diff_rows(struct view_run *run)
{
	struct diff *d = run->state;
	int rc = d->cli->mappings     ? book_mappings(d)
	         : d->by == BY_SYSTEM ? system_side(d, 0)
	                              : book_processes(d);

	if (rc == EXIT_GO_ON && d->by == BY_SYSTEM && !d->cli->mappings)
		rc = system_side(d, 1);
	if (rc != EXIT_GO_ON)
		return -EIO; /* said */
	zero_missing_sides(&d->rows);
	run->rows = (struct view_rows){.rows = d->rows.v,
	                               .n = d->rows.n,
	                               .size = sizeof(struct row),
	                               .number = row_number,
	                               .text = row_text,
	                               .untotalled = untotalled};
	if (d->by == BY_SYSTEM) { /* the system's rows keep their order, children under parents */
		unsigned depth[ML_SYSTEM_MAX_ROWS];
		run->parent = malloc((d->rows.n + 1) * sizeof(*run->parent));
		if (!run->parent)
			return -ENOMEM;
		for (size_t i = 0; i < d->rows.n && i < ML_SYSTEM_MAX_ROWS; i++) {
			depth[i] = (unsigned)d->rows.v[i].pid;
			d->rows.v[i].pid = 0;
		}
		view_parents_of_depths(depth, d->rows.n, run->parent);
	}
	return 0;
}

static void diff_end(struct view_run *run)
{
	struct diff *d = run->state;

	if (!d)
		return;
	if (d->by != BY_SYSTEM && !d->cli->mappings)
		say_unreadable(d);
	run_close(&d->side[0]);
	run_close(&d->side[1]);
	free(d->unreadable_pids[0]);
	free(d->unreadable_pids[1]);
	rows_free(&d->rows);
	ml_user_cache_free(&d->users);
	free(d);
}

/* The views diff runs: a change column sorts largest first, -r smallest first. */
#define DIFF_VIEW(key_name, columns, sort_by)                                                      \
	{                                                                                          \
		.name = key_name, .cols = &(columns), .sort = sort_by, .tie = "NAME",              \
		.takes_operands = true, .own_scan = true, .descending = 1u << COL_DELTA,           \
		.children_key = "children", .when_any = "ROLE", .begin = diff_begin,               \
		.rows = diff_rows, .print = diff_print, .end = diff_end,                           \
	}
static const struct view_def process_view = DIFF_VIEW("processes", proc_cols, "PSS");
static const struct view_def group_view = DIFF_VIEW("groups", group_cols, "PSS");
static const struct view_def system_view = DIFF_VIEW("system", sys_cols, NULL);
static const struct view_def mapping_view = DIFF_VIEW("mappings", map_cols, "PSS");

int cmd_diff(struct run *run)
{
	struct cli *cli = run->cli;
	int by = by_key(cli);

	if (by < 0)
		return EXIT_USAGE;
	if ((by == BY_SYSTEM || cli->mappings) && (cli->have_uid || cli->have_regex)) {
		cli_warn("diff %s does not use -u or -P",
		         cli->mappings ? "--mappings" : "--by system");
		return EXIT_USAGE;
	}
	if (by == BY_SYSTEM && (cli->npids || cli->mappings)) {
		cli_warn("diff --by system does not use %s", cli->mappings ? "--mappings" : "-p");
		return EXIT_USAGE;
	}
	if (cli->mappings && cli->group_by) {
		cli_warn("diff --mappings does not use --by");
		return EXIT_USAGE;
	}
	return view_run(run, cli->mappings      ? &mapping_view
	                     : by == BY_SYSTEM  ? &system_view
	                     : by == BY_PROCESS ? &process_view
	                                        : &group_view);
}
