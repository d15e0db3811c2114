/* memledger oom: who dies first when memory runs out, and what each death gives back. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "commands.h"
#include "json.h"
#include "memledger.h"
#include "memledger/cgroup.h"
#include "procs.h"
#include "run.h"
#include "view.h"

enum oom_field {
	F_ORDER,
	F_PID,
	F_USER,
	F_ADJ,
	F_SCORE,
	F_BADNESS,
	F_RSS,
	F_FREED,
	F_CUM,
	F_ROLE,
	F_COMMAND
};

static const struct colinfo infos[] = {
    {"ORDER", COL_COUNT, OUT_RIGHT, F_ORDER, "the place in the killer's order: 1 dies first", 0,
     VIEW_TOTAL_NONE},
    {"PID", COL_COUNT, OUT_RIGHT, F_PID, "process ID", 0, VIEW_TOTAL_NONE},
    {"USER", COL_STR, 0, F_USER, "effective user", 0, VIEW_TOTAL_NONE},
    {"ADJ", COL_INT, OUT_RIGHT, F_ADJ, "oom_score_adj, -1000 to 1000", 0, VIEW_TOTAL_NONE},
    {"SCORE", COL_COUNT, OUT_RIGHT, F_SCORE,
     "the kernel's /proc/PID/oom_score, read (a check of BADNESS: (1000 + BADNESS in pages "
     "x 1000 / totalpages) x 2 / 3)",
     0, VIEW_TOTAL_NONE},
    {"BADNESS", COL_SIZE, OUT_RIGHT, F_BADNESS,
     "what the kernel ranks by (oom_badness()): resident + swap + page tables, shared pages "
     "whole, plus ADJ x totalpages / 1000; lmkd: the same less ADJ",
     0, VIEW_TOTAL_NONE},
    {"RSS", COL_SIZE, OUT_RIGHT, F_RSS, "resident (status VmRSS), shared pages whole", 0,
     VIEW_TOTAL_NONE},
    {"FREED", COL_SIZE, OUT_RIGHT, F_FREED,
     "what this kill gives back once the ones above it are dead: shared memory at the kill of "
     "its last mapper",
     0, VIEW_TOTAL_SUM},
    {"CUM-FREED", COL_SIZE, OUT_RIGHT, F_CUM, "FREED of this kill and of all above it", 0,
     VIEW_TOTAL_NONE},
    {"ROLE", COL_STR, 0, F_ROLE, "what a multi-process app makes of it (shown when one has it)", 0,
     VIEW_TOTAL_NONE},
    {"COMMAND", COL_STR, OUT_KEY | OUT_PATHS, F_COMMAND, "command line", 0, VIEW_TOTAL_NONE},
};

static const char *const defaults[] = {"ORDER",   "PID",   "ADJ",       "SCORE",
                                       "BADNESS", "FREED", "CUM-FREED", "COMMAND"};

static const struct view_cols oom_cols = VIEW_COLS(infos, defaults);

/* A row: one victim, in the killer's order. */
struct row {
	size_t order; /* 1 first */
	const struct ml_proc *proc;
	uint64_t badness; /* bytes: oom_badness() times the page size; 0 below 0 */
	uint64_t freed;   /* bytes; ML_UNKNOWN */
	uint64_t cum;     /* bytes */
	bool bound;       /* FREED and CUM-FREED are lower bounds (no frame numbers) */
	bool companion;   /* killed with the row above (memory.oom.group): FREED is that row's */
	const char *user; /* NULL unknown */
	char *command;    /* malloc'ed */
	char role[ML_ROLE_LEN];
	bool role_known;
};

/* What oom keeps between its rows and its document. */
struct oom_state {
	struct row *rows;
	size_t n, shown; /* rows made; shown: up to --need's */
	uint64_t page, totalpages;
	bool reached; /* --need: some row's CUM-FREED reaches it */
	struct ml_user_cache users;
	struct ml_roles roles;
	const char *scope;         /* "the system", or the cgroup's path */
	struct ml_cgroups cg;      /* the memory cgroup tree: --cgroup's limit, memory.oom.group */
	int cg_rc;                 /* how its reading went: 0, or -errno */
	enum ml_oom_policy policy; /* --policy's; without it lmkd on Android or with --min-adj,
	                              else the kernel */
	/* The scan the order is made from: the view's, or where it could not read some
	 * processes' memory (Android's shell, not root), a second of every process's status,
	 * which is all the killers rank by; their FREED is then unknown, never 0. */
	const struct ml_scan *os;
	struct ml_scan order; /* the second, when made */
	bool rescanned;
};

/* What the order reads of each process: the killers' inputs, ROLE's and --cgroup's. */
#define ORDER_NEEDS                                                                                \
	(ML_NEED_STATUS | ML_NEED_STAT | ML_NEED_CMDLINE | ML_NEED_OOM | ML_NEED_OOM_SCORE |       \
	 ML_NEED_CGROUP)

static uint64_t row_number(const void *row, const struct colinfo *c)
{
	const struct row *r = row;

	switch (c->id) {
	case F_ORDER: return r->order;
	case F_BADNESS: return r->badness;
	case F_PID: return (uint64_t)r->proc->pid;
	case F_ADJ:
		return r->proc->oom_adj == ML_OOM_ADJ_UNKNOWN ? ML_UNKNOWN
		                                              : out_int(r->proc->oom_adj);
	case F_SCORE: return r->proc->oom_score < 0 ? ML_UNKNOWN : (uint64_t)r->proc->oom_score;
	case F_RSS: return r->proc->status.vm_rss;
	case F_FREED: return r->freed;
	case F_CUM: return r->cum;
	default: return ML_UNKNOWN;
	}
}

static const char *row_text(const void *row, const struct colinfo *c)
{
	const struct row *r = row;

	switch (c->id) {
	case F_USER: return r->user;
	case F_ROLE: return r->role_known ? r->role : NULL;
	case F_COMMAND: return r->command;
	default: return NULL;
	}
}

/* A process killed with its group's victim: the kill's FREED stands on the victim's row. */
static bool row_blank(const void *row, const struct colinfo *c)
{
	return ((const struct row *)row)->companion && c->id == F_FREED;
}

static bool row_bound(const void *row, const struct colinfo *c)
{
	return ((const struct row *)row)->bound && (c->id == F_FREED || c->id == F_CUM);
}

/* The memory cgroup --cgroup names: its limit into *limit (ML_UNKNOWN: none), from the
 * tree st holds (st->cg_rc: how its reading went). Returns 0, or -ENOENT after a message. */
static int cgroup_limit(struct view_run *run, const struct oom_state *st, const char *path,
                        uint64_t *limit)
{
	*limit = ML_UNKNOWN;
	if (st->cg_rc < 0) {
		run_warn(run->run, "--cgroup %s: no memory cgroup hierarchy to read (%s)", path,
		         strerror(-st->cg_rc));
		return -ENOENT;
	}
	for (size_t i = 0; i < st->cg.n; i++)
		if (strcmp(st->cg.v[i].path, path) == 0) {
			*limit = st->cg.v[i].max;
			return 0;
		}
	run_warn(run->run, "--cgroup %s: no such memory cgroup (memledger cgroups lists them)",
	         path);
	return -ENOENT;
}

/* totalpages, and which processes the killer may pick: all, or --cgroup's. Returns 0 or
 * -errno after a message. */
static int scope(struct view_run *run, struct oom_state *st, bool **keep)
{
	const struct ml_scan *s = st->os;
	uint64_t ram, swap, limit = ML_UNKNOWN;
	struct ml_source *src = run_source(run->run, 0, false);

	*keep = NULL;
	st->page = (uint64_t)sysconf(_SC_PAGESIZE);
	if (!src || ml_system_ram_swap(src, &ram, &swap) < 0) {
		run_warn(run->run, "cannot read meminfo: the OOM killer's totalpages is unknown");
		return -EIO;
	}
	st->totalpages = (ram + swap) / st->page;
	st->scope = "the system";
	if (!run->cli->oom_cgroup)
		return 0;
	if (cgroup_limit(run, st, run->cli->oom_cgroup, &limit) < 0)
		return -ENOENT;
	if (limit != ML_UNKNOWN && limit / st->page < st->totalpages)
		st->totalpages = limit / st->page; /* mem_cgroup_get_max() */
	st->scope = run->cli->oom_cgroup;
	*keep = calloc(s->nprocs + 1, sizeof(**keep));
	if (!*keep)
		return -ENOMEM;
	for (size_t i = 0; i < s->nprocs; i++)
		(*keep)[i] = s->procs[i].cgroup &&
		             ml_cgroup_inside(s->procs[i].cgroup, run->cli->oom_cgroup);
	return 0;
}

/* Where process i of the order's scan is in the view's (the page ledger's), or -1 when it
 * could not be read there: the same PID, started at the same time. */
static long ledger_index(const struct view_run *run, const struct oom_state *st, size_t i)
{
	const struct ml_proc *p = &st->os->procs[i];
	long m;

	if (st->os == &run->scan)
		return (long)i;
	m = ml_scan_find(&run->scan, p->pid);
	if (m >= 0 && (p->have & ML_NEED_STAT) && (run->scan.procs[m].have & ML_NEED_STAT) &&
	    p->stat.starttime != run->scan.procs[m].stat.starttime)
		m = -1; /* the PID came back as another process */
	return m;
}

/* Fills the rows of the victims v[0..n): their FREED one kill after another. Returns 0 or
 * -ENOMEM. */
static int fill_rows(struct view_run *run, struct oom_state *st, const struct ml_oom_victim *v,
                     size_t n, const uint32_t *kill, size_t nkills)
{
	const struct ml_scan *s = st->os;
	uint32_t *rank = malloc((run->scan.nprocs + 1) * sizeof(*rank));
	struct ml_freed *f = calloc(nkills + 1, sizeof(*f));
	bool *unread = calloc(nkills + 1, sizeof(*unread)); /* a kill of one not read */
	uint64_t cum = 0;
	bool bound = false;
	int rc = !rank || !f || !unread ? -ENOMEM : 0;

	for (size_t i = 0; rank && i < run->scan.nprocs; i++)
		rank[i] = UINT32_MAX;
	for (size_t k = 0; rc == 0 && k < n; k++) {
		long m = ledger_index(run, st, v[k].proc);
		if (m >= 0)
			rank[m] = kill[k];
		else
			unread[kill[k]] = true;
	}
	if (rc == 0)
		rc = ml_pages_freed_order(run->pages, rank, nkills, f);
	st->rows = rc == 0 ? calloc(n + 1, sizeof(*st->rows)) : NULL;
	if (rc == 0 && !st->rows)
		rc = -ENOMEM;
	for (size_t k = 0; rc == 0 && k < n; k++) {
		struct row *r = &st->rows[k];
		const struct ml_proc *p = &s->procs[v[k].proc];
		const char *role = ml_roles_get(&st->roles, v[k].proc);
		bool companion = k > 0 && kill[k] == kill[k - 1];
		uint64_t freed = unread[kill[k]] ? ML_UNKNOWN : ml_freed_total(&f[kill[k]]);
		bound |= !f[kill[k]].exact;
		if (!companion)
			cum = ml_add_u64(cum, freed);
		*r = (struct row){.order = kill[k] + 1,
		                  .companion = companion,
		                  .proc = p,
		                  .badness =
		                      v[k].badness > 0 ? (uint64_t)v[k].badness * st->page : 0,
		                  .freed = freed,
		                  .cum = cum,
		                  .bound = bound,
		                  .user = ml_user_name(&st->users, p->status.uid),
		                  .command = procs_command(p),
		                  .role_known = role != NULL};
		snprintf(r->role, sizeof(r->role), "%s", role ? role : "");
		st->n++;
		if (!r->command)
			rc = -ENOMEM;
	}
	free(rank);
	free(f);
	free(unread);
	return rc;
}

/* The highest memory cgroup with memory.oom.group set among cgroup path p and its
 * ancestors, up to the OOM domain (--cgroup's, or the root): the kernel kills it whole
 * (mem_cgroup_get_oom_group); NULL for none. */
static const char *oom_group_of(const struct ml_cgroups *cg, const char *p, const char *domain)
{
	const char *top = NULL;

	for (size_t i = 0; p && i < cg->n; i++)
		if (cg->v[i].oom_group && ml_cgroup_inside(p, cg->v[i].path) &&
		    ml_cgroup_inside(cg->v[i].path, domain) &&
		    (!top || strlen(cg->v[i].path) < strlen(top)))
			top = cg->v[i].path;
	return top;
}

/*
 * The kills of the order v[0..n): one a victim, or with memory.oom.group (cgroup v2) the
 * victim's group whole, its other processes moved up to follow it. Sets kill[k], the place
 * of the kill that takes v[k], and *nkills. Returns 0 or -ENOMEM.
 */
static int group_kills(struct view_run *run, const struct oom_state *st, struct ml_oom_victim *v,
                       size_t n, uint32_t *kill, size_t *nkills)
{
	const struct ml_scan *s = st->os;
	const struct ml_cgroups *cg = &st->cg;
	struct ml_oom_victim *out = malloc((n + 1) * sizeof(*out));
	bool *used = calloc(n + 1, sizeof(*used));
	const char *domain = run->cli->oom_cgroup ? run->cli->oom_cgroup : "/";
	size_t m = 0;

	*nkills = 0;
	if (!out || !used) {
		free(out);
		free(used);
		return -ENOMEM;
	}
	bool groups = st->policy == ML_OOM_KERNEL && st->cg_rc == 0 &&
	              cg->version == 2; /* else a kill a process */
	for (size_t k = 0; k < n; k++) {
		const char *group;
		if (used[k])
			continue;
		group = groups ? oom_group_of(cg, s->procs[v[k].proc].cgroup, domain) : NULL;
		for (size_t j = k; j < n; j++)
			if (!used[j] &&
			    (j == k || (group && s->procs[v[j].proc].cgroup &&
			                ml_cgroup_inside(s->procs[v[j].proc].cgroup, group)))) {
				used[j] = true;
				kill[m] = (uint32_t)*nkills;
				out[m++] = v[j];
			}
		(*nkills)++;
	}
	memcpy(v, out, n * sizeof(*v));
	free(out);
	free(used);
	return 0;
}

/* Says which processes the order leaves out because their oom_score_adj or status is
 * unknown (a snapshot older than oom, a hostile value): none of them is shown as 0. */
static void say_unknown(const struct view_run *run, const struct oom_state *st, const bool *keep)
{
	const struct ml_scan *s = st->os;
	char list[256] = "";
	size_t n = 0, at = 0;

	for (size_t i = 0; i < s->nprocs; i++) {
		const struct ml_proc *p = &s->procs[i];
		if (p->pid == 1 || (keep && !keep[i]) ||
		    (p->oom_adj != ML_OOM_ADJ_UNKNOWN && (p->have & ML_NEED_STATUS)))
			continue;
		if (n++ < 8 && at < sizeof(list))
			at += (size_t)snprintf(list + at, sizeof(list) - at, "%s%d",
			                       n > 1 ? ", " : "", (int)p->pid);
	}
	if (n)
		run_warn(run->run,
		         "%zu process%s left out of the order: %s oom_score_adj or status is "
		         "unknown (%s%s)",
		         n, n == 1 ? "" : "es", n == 1 ? "its" : "their", list,
		         n > 8 ? ", ..." : "");
}

/* True when some process the view could not read may be a candidate: its order is made
 * again from every process's status (PID 1 is never one). */
static bool order_rescan(const struct ml_scan *s)
{
	for (size_t i = 0; s->unreadable_pids && i < s->unreadable; i++)
		if (s->unreadable_pids[i] != 1)
			return true;
	return false;
}

/* The victims in order, each kill's FREED (a view_def's rows). Returns 0 or -errno. */
static int oom_rows(struct view_run *run)
{
	struct oom_state *st = calloc(1, sizeof(*st));
	struct ml_oom_victim *v = NULL;
	uint32_t *kill = NULL;
	bool *keep = NULL;
	size_t n = 0, nkills = 0;
	struct ml_source *src;
	int rc;

	run->state = st;
	if (!st)
		return -ENOMEM;
	st->policy = run->cli->oom_policy >= 0 ? (enum ml_oom_policy)run->cli->oom_policy
	             : run->scan.android || run->cli->oom_min_adj ? ML_OOM_LMKD
	                                                          : ML_OOM_KERNEL;
	st->os = &run->scan;
	if (order_rescan(&run->scan)) {
		if (procs_scan(run->run, ORDER_NEEDS, NULL, NULL, &st->order) != EXIT_GO_ON)
			return -EIO; /* said */
		st->rescanned = true;
		st->os = &st->order;
	}
	st->users.android = st->os->android; /* Android's names on a phone's snapshot */
	src = run_source(run->run, 0, false); /* the cgroup tree, read once for both uses */
	st->cg_rc = src ? ml_cgroups_read(src, &st->cg) : -EIO;
	if ((rc = scope(run, st, &keep)) < 0)
		return rc;
	rc = ml_roles_make(&st->roles, st->os) < 0 ||
	             ml_oom_order(st->os, st->policy, st->page, st->totalpages,
	                          run->cli->oom_min_adj, keep, &v, &n) < 0 ||
	             !(kill = malloc((n + 1) * sizeof(*kill))) ||
	             group_kills(run, st, v, n, kill, &nkills) < 0
	         ? -ENOMEM
	         : fill_rows(run, st, v, n, kill, nkills);
	free(kill);
	if (rc == 0)
		say_unknown(run, st, keep);
	free(keep);
	free(v);
	st->shown = st->n;
	for (size_t k = 0; rc == 0 && run->cli->oom_need && k < st->n; k++)
		if (st->rows[k].cum != ML_UNKNOWN && st->rows[k].cum >= run->cli->oom_need) {
			st->shown = k + 1; /* --need: up to the kill that reaches it */
			st->reached = true;
			break;
		}
	run->rows = (struct view_rows){.rows = st->rows,
	                               .n = st->shown,
	                               .size = sizeof(*st->rows),
	                               .number = row_number,
	                               .text = row_text,
	                               .blank = row_blank,
	                               .bound = row_bound};
	return rc;
}

/* --need's line: how many die and what comes back, or that all of them are not enough. */
static void need_line(const struct view_run *run, FILE *f)
{
	const struct oom_state *st = run->state;
	const struct row *last = st->shown ? &st->rows[st->shown - 1] : NULL;
	uint64_t back = last ? last->cum : 0;
	char a[32], b[32];
	const char *need = out_size_text(&run->cli->out, run->cli->oom_need, a, sizeof(a));
	const char *got = back == ML_UNKNOWN ? "an unknown amount (a process's FREED is)"
	                                     : out_size_text(&run->cli->out, back, b, sizeof(b));
	const char *least = last && last->bound && back != ML_UNKNOWN ? "at least " : "";

	if (st->reached)
		fprintf(f, "\nto get %s back, the %s would kill %zu process%s: %s%s comes back\n",
		        need, st->policy == ML_OOM_LMKD ? "lmkd" : "kernel", st->shown,
		        st->shown == 1 ? "" : "es", least, got);
	else
		fprintf(f, "\n%s may not come back: killing all %zu candidates of %s gives %s%s\n",
		        need, st->n, st->scope, least, got);
}

/* Says under the table which rows tie on BADNESS (the kernel's policy): the kernel keeps
 * the last of equal badness in its task walk, the one started last, so that one is
 * ranked first. */
static void tie_line(const struct view_run *run, FILE *f)
{
	const struct oom_state *st = run->state;

	size_t prev = 0;

	if (st->policy != ML_OOM_KERNEL)
		return;
	for (size_t k = 0; k < st->shown; k++)
		if (st->rows[k].companion)
			fprintf(f,
			        "%s%d dies with %d: their memory cgroup has memory.oom.group set\n",
			        k == 1 || !st->rows[k - 1].companion ? "\n" : "",
			        (int)st->rows[k].proc->pid, (int)st->rows[prev].proc->pid);
		else
			prev = k;
	for (size_t k = 1; k < st->shown; k++)
		if (!st->rows[k].companion && !st->rows[k - 1].companion &&
		    st->rows[k].badness == st->rows[k - 1].badness) {
			fprintf(f,
			        "\n%d and %d tie on BADNESS: the kernel kills the one started last "
			        "first "
			        "(its task\nwalk keeps the last of equal badness), here %d%s\n",
			        (int)st->rows[k - 1].proc->pid, (int)st->rows[k].proc->pid,
			        (int)st->rows[k - 1].proc->pid, "");
			return;
		}
}

/* The table, then --need's line; JSON: the rows with "totalpages", "policy", and with
 * --need "need", "reached" (a view_def's print). Frees t. Returns 0 or -errno. */
static int oom_print(struct view_run *run, struct out_table *t)
{
	const struct cli *cli = run->cli;
	const struct oom_state *st = run->state;
	FILE *out = out_stream(&cli->out);
	struct json j;
	int rc;

	json_init(&j, out, cli->out.time);
	if (cli->out.format != OUT_JSON) {
		rc = out_table_print_free(t, &j);
		if (rc == 0 && cli->out.format == OUT_TABLE)
			tie_line(run, out);
		if (rc == 0 && cli->oom_need && cli->out.format == OUT_TABLE)
			need_line(run, out);
		return rc;
	}
	json_object_begin(&j);
	json_key(&j, "policy");
	json_string(&j, st->policy == ML_OOM_LMKD ? "lmkd" : "kernel");
	json_key(&j, "scope");
	json_string(&j, st->scope);
	json_pair_u64(&j, "totalpages", st->totalpages);
	json_pair_u64(&j, "page", st->page);
	if (cli->oom_need) {
		json_pair_u64(&j, "need", cli->oom_need);
		json_key(&j, "reached");
		json_bool(&j, st->reached);
	}
	rc = out_table_print_free(t, &j);
	procs_json_unreadable(&j, &run->scan);
	json_object_end(&j);
	json_finish(&j);
	return rc;
}

static void oom_end(struct view_run *run)
{
	struct oom_state *st = run->state;

	if (!st)
		return;
	for (size_t k = 0; k < st->n; k++)
		free(st->rows[k].command);
	free(st->rows);
	ml_user_cache_free(&st->users);
	ml_roles_free(&st->roles);
	ml_cgroups_free(&st->cg);
	if (st->rescanned)
		ml_scan_free(&st->order);
	free(st);
}

static int oom_begin(struct view_run *run)
{
	run->needs |= ML_NEED_CGROUP; /* --cgroup's processes; memory.oom.group's */
	if (run->cli->oom_min_adj && run->cli->oom_policy == ML_OOM_KERNEL) {
		cli_warn("--min-adj is lmkd's: use it with --policy lmkd");
		return EXIT_USAGE;
	}
	return EXIT_GO_ON;
}

static const struct view_def oom_view = {
    .name = "victims",
    .cols = &oom_cols,
    .needs = ML_NEED_PAGEMAP | ML_NEED_STATUS | ML_NEED_STAT | ML_NEED_CMDLINE | ML_NEED_OOM |
             ML_NEED_OOM_SCORE,
    .when_any = "ROLE",
    .begin = oom_begin,
    .rows = oom_rows,
    .print = oom_print,
    .end = oom_end,
};

int cmd_oom(struct run *run)
{
	return view_run(run, &oom_view);
}
