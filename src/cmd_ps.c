/* The process view: picks columns, filters, sorts, and hands rows to the output. */
#include <errno.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "memledger.h"
#include "procs.h"
#include "commands.h"
#include "run.h"
#include "memledger/group.h"
#include "view.h"

enum ps_field {
	F_PID,
	F_PPID,
	F_UID,
	F_USER,
	F_COMM,
	F_COMMAND,
	F_FREED,
	F_COW,
	F_OWNED,
	F_SWAP_ZRAM,
	F_COMPRESSED,
	F_ROLE,
	F_CONTEXT
};

static const struct colinfo infos[] = {
    {"PID", COL_COUNT, OUT_RIGHT, F_PID, "process ID", 0, VIEW_TOTAL_NONE},
    {"PPID", COL_COUNT, OUT_RIGHT, F_PPID, "parent process ID", ML_NEED_STATUS, VIEW_TOTAL_NONE},
    {"UID", COL_COUNT, OUT_RIGHT, F_UID, "effective user ID", ML_NEED_STATUS, VIEW_TOTAL_NONE},
    {"USER", COL_STR, 0, F_USER, "effective user", ML_NEED_STATUS, VIEW_TOTAL_NONE},
    {"COMM", COL_STR, 0, F_COMM, "command name (status Name)", ML_NEED_STATUS, VIEW_TOTAL_NONE},
    {"ROLE", COL_STR, 0, F_ROLE,
     "what a multi-process app makes of it: Chromium's --type (renderer, gpu-process...)",
     ML_NEED_CMDLINE | ML_NEED_STATUS, VIEW_TOTAL_NONE},
    {"CONTEXT", COL_STR, 0, F_CONTEXT,
     "security context (attr/current): SELinux's u:r:untrusted_app:s0, as ps -Z", ML_NEED_CONTEXT,
     VIEW_TOTAL_NONE},
    {"COMMAND", COL_STR, OUT_KEY | OUT_PATHS, F_COMMAND, "command line; [COMM] when it is empty",
     ML_NEED_CMDLINE | ML_NEED_STATUS, VIEW_TOTAL_NONE}, /* [Name] for an empty cmdline */
    VIEW_SIZE_COL("VSS", ML_VSS, "virtual size: address space reserved (status VmSize)"),
    VIEW_SIZE_COL("RSS", ML_RSS, "resident: in RAM now, shared pages counted whole (Rss)"),
    VIEW_SIZE_COL(
        "PSS", ML_PSS,
        "proportional: resident, each shared page divided among its mappers (Pss); adds up"),
    VIEW_PMEM_COL,
    VIEW_SIZE_COL("USS", ML_USS,
                  "unique: resident pages no other process maps (Private_Clean+Private_Dirty)"),
    VIEW_SIZE_COL("SHARED", ML_SHARED,
                  "resident pages other processes map too (Shared_Clean+Shared_Dirty)"),
    VIEW_SIZE_COL("SWAP", ML_SWAP, "swapped out to swap, zram or zswap (Swap)"),
    VIEW_SIZE_COL("SWAPPSS", ML_SWAPPSS, "swap divided among the processes sharing it (SwapPss)"),
    VIEW_SIZE_COL("DIRTY", ML_DIRTY,
                  "resident pages written since read (Shared_Dirty+Private_Dirty)"),
    VIEW_SIZE_COL("ANON", ML_ANON, "PSS of anonymous memory (Pss_Anon)"),
    VIEW_SIZE_COL("FILE", ML_FILE, "PSS of file-backed memory (Pss_File)"),
    VIEW_SIZE_COL("SHMEM", ML_SHMEM,
                  "PSS of shared memory: shm, memfd, tmpfs, MAP_SHARED anonymous (Pss_Shmem)"),
    VIEW_SIZE_COL("FOOTPRINT", ML_FOOTPRINT,
                  "private footprint: anonymous resident plus swap (RssAnon+VmSwap)"),
    VIEW_SIZE_COL("COMMIT", ML_COMMIT,
                  "charged to the commit limit: mappings flagged 'ac' (reads smaps)"),
    VIEW_SIZE_COL("LAZYFREE", ML_LAZYFREE,
                  "freed with MADV_FREE, the kernel may drop it (LazyFree)"),
    VIEW_SIZE_COL("LOCKED", ML_LOCKED, "locked in RAM (Locked)"),
    VIEW_SIZE_COL("THP", ML_THP,
                  "in transparent huge pages (AnonHugePages+ShmemPmdMapped+FilePmdMapped)"),
    VIEW_SIZE_COL("HUGETLB", ML_HUGETLB,
                  "hugetlbfs pages, not part of RSS (Shared_Hugetlb+Private_Hugetlb)"),
    VIEW_SIZE_COL("KSM", ML_KSM, "merged by kernel samepage merging (KSM)"),
    VIEW_SIZE_COL("REFERENCED", ML_REFERENCED, "resident and recently accessed (Referenced)"),
    VIEW_SIZE_COL("PAGETABLES", ML_PAGETABLES,
                  "page tables, paid by each process for itself (VmPTE)"),
    {"THREADS", COL_COUNT, OUT_RIGHT, VIEW_METRIC + ML_THREADS, "threads (status Threads)", 0,
     VIEW_TOTAL_SUM},
    VIEW_SIZE_COL("GPU", ML_GPU,
                  "its share of GPU buffers in system memory, RAM (DRM fdinfo; reads its fds)"),
    VIEW_SIZE_COL("VRAM", ML_VRAM,
                  "its share of GPU device memory, not RAM (DRM fdinfo, NVML; reads its fds)"),
    VIEW_SIZE_COL("DMABUF", ML_DMABUF,
                  "its share of the dma-bufs it holds by fd or mapping (reads its fds)"),
    {"FREED", COL_SIZE, OUT_RIGHT, F_FREED,
     "what killing the process would give back (reads pagemap of every process)", ML_NEED_PAGEMAP,
     VIEW_TOTAL_SUM},
    {"COW", COL_SIZE, OUT_RIGHT, F_COW,
     "anonymous memory still shared with the parent since fork (exact mode)", ML_NEED_PAGEMAP,
     VIEW_TOTAL_SUM},
    {"SWAP-ZRAM", COL_SIZE, OUT_RIGHT, F_SWAP_ZRAM,
     "of SWAP, what is on zram: compressed, still in RAM (exact mode)", ML_NEED_PAGEMAP,
     VIEW_TOTAL_SUM},
    {"COMPRESSED", COL_SIZE, OUT_RIGHT, F_COMPRESSED,
     "the RAM its swap costs: its share of zram's compressed memory and of zswap's pool "
     "(SWAPPSS x their ratio); 0 on a disk; - when zram and a disk both swap",
     ML_NEED_ROLLUP, VIEW_TOTAL_SUM},
    {"OWNED", COL_SIZE, OUT_RIGHT, F_OWNED,
     "PSS with each shared memory object charged wholly to its owner (--owner)",
     ML_NEED_ROLLUP | ML_NEED_STAT | VIEW_NEED_LEDGER, VIEW_TOTAL_SUM},
};

/* COMMAND last, as ps and top put it: a line is as long as its own command line. */
static const char *const default_columns[] = {"PID", "USER", "SWAP",   "USS",
                                              "PSS", "RSS",  "COMMAND"};

static const struct view_cols ps_cols = VIEW_COLS(infos, default_columns);

/* A row of the view: the process and the texts derived from it. */
struct row {
	const struct ml_proc *proc;
	const char *user;
	char *command;
	char role[80]; /* procs_role: "" for none */
	bool role_known;
	uint64_t freed, cow, owned, swap_zram; /* with the page columns; else unknown */
	uint64_t compressed;                   /* with COMPRESSED; else unknown */
	bool inexact;                          /* FREED is a lower bound */
};

static uint64_t row_number(const void *row, const struct colinfo *c)
{
	const struct ml_proc *p = ((const struct row *)row)->proc;

	switch (c->id) {
	case F_PID: return (uint64_t)p->pid;
	case F_PPID: return p->status.ppid >= 0 ? (uint64_t)p->status.ppid : ML_UNKNOWN;
	case F_UID: return p->status.uid;
	case F_USER:
	case F_COMM:
	case F_CONTEXT:
	case F_COMMAND: return ML_UNKNOWN;
	case F_FREED: return ((const struct row *)row)->freed;
	case F_COW: return ((const struct row *)row)->cow;
	case F_OWNED: return ((const struct row *)row)->owned;
	case F_SWAP_ZRAM: return ((const struct row *)row)->swap_zram;
	case F_COMPRESSED: return ((const struct row *)row)->compressed;
	default: return ml_proc_metric(p, (enum ml_metric)(c->id - VIEW_METRIC));
	}
}

static bool row_bound(const void *row, const struct colinfo *c)
{
	return c->id == F_FREED && ((const struct row *)row)->inexact;
}

static const char *row_text(const void *row, const struct colinfo *c)
{
	const struct row *r = row;

	switch (c->id) {
	case F_USER: return r->user;
	case F_COMM: return r->proc->comm;
	case F_CONTEXT: return r->proc->context;
	case F_COMMAND: return r->command;
	case F_ROLE: return r->role_known ? r->role : NULL;
	default: return NULL;
	}
}

static void free_rows(struct row *rows, size_t n)
{
	for (size_t i = 0; rows && i < n; i++)
		free(rows[i].command);
	free(rows);
}

/* The page-ledger figures of every process of a scan, each computed only when shown. */
struct ledger_figures {
	const struct ml_pages *pg; /* NULL: no ledger column, the scan was filtered */
	struct ml_freed *freed;    /* with FREED or COW: each process alone, a partition */
	uint64_t *owned;           /* with OWNED */
};

/* Fills f from pg for the columns asked: FREED and COW with pages, OWNED with owned.
 * Returns 0 or -ENOMEM (f to be freed with free_figures in either case). */
static int ledger_figures(const struct cli *cli, const struct ml_scan *s, const struct ml_pages *pg,
                          bool pages, bool owned, struct ledger_figures *f)
{
	uint32_t *set_of = NULL;
	int rc = 0;

	*f = (struct ledger_figures){.pg = pg};
	if (pages) {
		f->freed = calloc(s->nprocs + 1, sizeof(*f->freed));
		set_of = malloc((s->nprocs + 1) * sizeof(*set_of));
		for (size_t i = 0; set_of && i < s->nprocs; i++)
			set_of[i] = (uint32_t)i;
		rc = f->freed && set_of ? ml_pages_freed(pg, set_of, s->nprocs, f->freed) : -ENOMEM;
		free(set_of);
	}
	if (rc == 0 && owned) {
		f->owned = malloc((s->nprocs + 1) * sizeof(*f->owned));
		if (f->owned && ml_pages_owned(pg, s, (enum ml_owner)cli->owner, f->owned))
			cli_warn("a process's shared objects hold more PSS than its smaps_rollup: "
			         "its OWNED is unknown");
		rc = f->owned ? 0 : -ENOMEM;
	}
	return rc;
}

static void free_figures(struct ledger_figures *f)
{
	free(f->freed);
	free(f->owned);
}

/*
 * Builds the rows of a scan into *n rows. With a ledger (f->pg: the scan then holds every
 * process), -p, -u and -P apply here. Returns NULL on allocation failure.
 */
static struct row *build_rows(const struct cli *cli, const struct ml_scan *s,
                              const struct ledger_figures *f, struct ml_user_cache *users,
                              unsigned needs, const struct ml_swap_cost *cost, size_t *n)
{
	struct row *rows = calloc(s->nprocs ? s->nprocs : 1, sizeof(*rows));
	struct ml_roles roles;

	*n = 0;
	if (ml_roles_make(&roles, s) < 0) {
		ml_roles_free(&roles);
		free(rows);
		return NULL;
	}
	for (size_t i = 0; rows && i < s->nprocs; i++) {
		const char *role = ml_roles_get(&roles, i);
		const struct ml_proc *p = &s->procs[i];
		struct row *r = &rows[*n];
		/* A process whose smaps a capture lacks has no FREED to give. */
		if (f->pg && (!cli_wants_pid(cli, p->pid) || !procs_keep(p, (void *)cli)))
			continue;
		*r = (struct row){.proc = p,
		                  .freed = f->freed ? ml_freed_total(&f->freed[i]) : ML_UNKNOWN,
		                  .inexact = f->freed && !f->freed[i].exact,
		                  .cow = f->freed ? ml_pages_cow(f->pg, i) : ML_UNKNOWN,
		                  .swap_zram = f->freed ? f->freed[i].swap_zram : ML_UNKNOWN,
		                  .owned = f->owned ? f->owned[i] : ML_UNKNOWN,
		                  .compressed =
		                      cost ? ml_swap_compressed(cost, ml_proc_metric(p, ML_SWAPPSS))
		                           : ML_UNKNOWN};
		if (needs & ML_NEED_STATUS)
			r->user = ml_user_name(users, p->status.uid);
		r->role_known = role != NULL;
		snprintf(r->role, sizeof(r->role), "%s", role ? role : "");
		(*n)++;
		if ((needs & ML_NEED_CMDLINE) && !(r->command = procs_command(p))) {
			free_rows(rows, *n);
			rows = NULL;
		}
	}
	ml_roles_free(&roles);
	return rows;
}

/* What a run of ps makes: its rows and what they are made from. */
struct ps_state {
	struct ml_user_cache users;
	struct ledger_figures figures;
	struct row *rows;
	size_t n;
};

/* Makes the rows of run's scan (a view_def's rows). Returns 0 or -ENOMEM. */
static int ps_rows(struct view_run *run)
{
	struct ps_state *st = calloc(1, sizeof(*st));
	bool pages = run->needs & ML_NEED_PAGEMAP;
	struct ml_swap_cost cost;
	bool compressed = view_shows(run, F_COMPRESSED) &&
	                  ml_swap_cost_read(run_source(run->run, 0, false), &cost) == 0;

	run->state = st;
	if (!st || (run->pages && ledger_figures(run->cli, &run->scan, run->pages, pages,
	                                         view_shows(run, F_OWNED), &st->figures) < 0))
		return -ENOMEM;
	st->users.android = run->scan.android;
	st->rows = build_rows(run->cli, &run->scan, &st->figures, &st->users, run->needs,
	                      compressed ? &cost : NULL, &st->n);
	run->rows = (struct view_rows){.rows = st->rows,
	                               .n = st->n,
	                               .size = sizeof(*st->rows),
	                               .number = row_number,
	                               .text = row_text,
	                               .bound = row_bound};
	return st->rows ? 0 : -ENOMEM;
}

static void ps_end(struct view_run *run)
{
	struct ps_state *st = run->state;

	if (!st)
		return;
	free_rows(st->rows, st->n);
	free_figures(&st->figures);
	ml_user_cache_free(&st->users);
	free(st);
}

/* The process view with columns: ps's, or wss's (the working set first among its
 * defaults); the same rows. */
#define PS_VIEW(columns)                                                                           \
	{                                                                                          \
		.name = "processes", .cols = &(columns), .sort = "PSS", .tie = "PID",              \
		.when_any = "ROLE", .proc_metrics = true, .rows = ps_rows, .end = ps_end,          \
	}
static const char *const wss_columns[] = {"PID", "REFERENCED", "RSS", "PSS", "COMMAND"};
static const struct view_cols wss_cols = VIEW_COLS(infos, wss_columns);
static const struct view_def ps_view = PS_VIEW(ps_cols);
static const struct view_def wss_view = PS_VIEW(wss_cols);

int cmd_ps(struct run *run)
{
	return view_run(run, &ps_view);
}

int ps_wss(struct run *run)
{
	return view_run(run, &wss_view);
}
