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
#include "ps.h"
#include "users.h"
#include "view.h"

enum ps_field { F_PID, F_PPID, F_UID, F_USER, F_COMM, F_COMMAND, F_FREED, F_COW, F_OWNED };

static const struct colinfo infos[] = {
    {"PID", COL_COUNT, OUT_RIGHT, F_PID, "process ID"},
    {"PPID", COL_COUNT, OUT_RIGHT, F_PPID, "parent process ID"},
    {"UID", COL_COUNT, OUT_RIGHT, F_UID, "effective user ID"},
    {"USER", COL_STR, 0, F_USER, "effective user"},
    {"COMM", COL_STR, 0, F_COMM, "command name (status Name)"},
    {"COMMAND", COL_STR, OUT_TRUNC, F_COMMAND, "command line; [COMM] when it is empty"},
    VIEW_SIZE_COL("VSS", ML_VSS, "virtual size: address space reserved (status VmSize)"),
    VIEW_SIZE_COL("RSS", ML_RSS, "resident: in RAM now, shared pages counted whole (Rss)"),
    VIEW_SIZE_COL(
        "PSS", ML_PSS,
        "proportional: resident, each shared page divided among its mappers (Pss); adds up"),
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
    {"THREADS", COL_COUNT, OUT_RIGHT, VIEW_METRIC + ML_THREADS, "threads (status Threads)"},
    {"FREED", COL_SIZE, OUT_RIGHT, F_FREED,
     "what killing the process would give back (reads pagemap of every process)"},
    {"COW", COL_SIZE, OUT_RIGHT, F_COW,
     "anonymous memory still shared with the parent since fork (exact mode)"},
    {"OWNED", COL_SIZE, OUT_RIGHT, F_OWNED,
     "PSS with each shared memory object charged wholly to its owner (--owner)"},
};

/* COMMAND last, as ps and top put it: a line is as long as its own command line. */
static const char *const default_columns[] = {"PID", "USER", "SWAP",   "USS",
                                              "PSS", "RSS",  "COMMAND"};

static const struct view_cols ps_cols = VIEW_COLS(infos, default_columns);

void ps_list_columns(FILE *f)
{
	view_list_columns(&ps_cols, f);
}

static unsigned column_needs(const struct colinfo *c)
{
	switch (c->id) {
	case F_PID: return 0;
	case F_COMMAND: return ML_NEED_CMDLINE | ML_NEED_STATUS; /* [Name] for an empty cmdline */
	case F_PPID:
	case F_UID:
	case F_USER:
	case F_COMM: return ML_NEED_STATUS;
	case F_FREED:
	case F_COW: return ML_NEED_PAGEMAP;
	case F_OWNED: return ML_NEED_ROLLUP | ML_NEED_STAT; /* and the shmem ledger */
	default: return ml_metric_needs((enum ml_metric)(c->id - VIEW_METRIC));
	}
}

/* True when column id is shown or sorted by. */
static bool shows(const struct colinfo **cols, int n, const struct colinfo *key, int id)
{
	for (int i = 0; i < n; i++)
		if (cols[i]->id == id)
			return true;
	return key->id == id;
}

/* The sort column: -s, else PSS when shown, else the first size shown, else PID. */
static const struct colinfo *sort_column(const char *arg, const struct colinfo **cols, int n)
{
	if (arg) {
		const struct colinfo *c = view_column(&ps_cols, arg, strlen(arg));
		if (!c)
			cli_warn("unknown sort column: '%s'", arg);
		return c;
	}
	for (int i = 0; i < n; i++)
		if (cols[i]->id == VIEW_METRIC + ML_PSS)
			return cols[i];
	for (int i = 0; i < n; i++)
		if (cols[i]->type == COL_SIZE)
			return cols[i];
	return &infos[0];
}

/* A row of the view: the process and the texts derived from it. */
struct row {
	const struct ml_proc *proc;
	const char *user;
	char *command;
	uint64_t freed, cow, owned; /* with the page columns; else unknown */
	bool inexact;               /* FREED is a lower bound */
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
	case F_COMMAND: return ML_UNKNOWN;
	case F_FREED: return ((const struct row *)row)->freed;
	case F_COW: return ((const struct row *)row)->cow;
	case F_OWNED: return ((const struct row *)row)->owned;
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
	case F_COMMAND: return r->command;
	default: return NULL;
	}
}

/* The totals cell of a column: sums of the rows for sizes and threads, blank for the
 * rest. */
static struct out_cell total_cell(const struct colinfo *c, const void *ctx)
{
	const struct view_rows *r = ctx;
	const struct row *rows = r->rows;
	struct out_cell cell = {0};

	if (c->id < VIEW_METRIC && c->id != F_FREED && c->id != F_COW && c->id != F_OWNED)
		return (struct out_cell){.blank = true};
	for (size_t i = 0; i < r->n; i++) {
		cell.num = ml_add_u64(cell.num, row_number(&rows[i], c));
		cell.bound |= row_bound(&rows[i], c);
	}
	return cell;
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
                              const struct ledger_figures *f, struct user_cache *users,
                              unsigned needs, size_t *n)
{
	struct row *rows = calloc(s->nprocs ? s->nprocs : 1, sizeof(*rows));

	*n = 0;
	for (size_t i = 0; rows && i < s->nprocs; i++) {
		const struct ml_proc *p = &s->procs[i];
		struct row *r = &rows[*n];
		/* A process whose smaps a capture lacks has no FREED to give. */
		if (f->pg && (!cli_wants_pid(cli, p->pid) || !procs_keep(p, (void *)cli)))
			continue;
		*r = (struct row){.proc = p,
		                  .freed = f->freed ? ml_freed_total(&f->freed[i]) : ML_UNKNOWN,
		                  .inexact = f->freed && !f->freed[i].exact,
		                  .cow = f->freed ? ml_pages_cow(f->pg, i) : ML_UNKNOWN,
		                  .owned = f->owned ? f->owned[i] : ML_UNKNOWN};
		if (needs & ML_NEED_STATUS)
			r->user = user_cache_name(users, p->status.uid);
		(*n)++;
		if ((needs & ML_NEED_CMDLINE) && !(r->command = procs_command(p))) {
			free_rows(rows, *n);
			rows = NULL;
		}
	}
	return rows;
}

/* Prints the rows (and totals) of a scan. Returns an exit status. */
static int print_rows(const struct cli *cli, const struct ml_scan *s, const struct ml_pages *pg,
                      const struct view_rows *r, const struct colinfo **cols, int ncols)
{
	struct out_table *t = view_table(cli, "processes", r, cols, ncols, total_cell, r);
	int rc = t ? procs_print_document(cli, t, s, pg) : -ENOMEM;

	if (rc < 0) {
		cli_warn("cannot write the output: %s", strerror(-rc));
		return EXIT_ERROR;
	}
	return EXIT_OK;
}

int ps_run(struct cli *cli)
{
	const struct colinfo *cols[VIEW_MAX_COLS], *key;
	struct user_cache users = {0};
	struct ledger_figures f = {0};
	struct ml_pages *pg = NULL;
	struct ml_scan s = {0};
	struct row *rows;
	unsigned needs = 0;
	bool owned;
	size_t n = 0;
	int ncols, rc;

	rc = view_begin(cli, &ps_cols, false, cols, &ncols);
	if (rc >= 0)
		return rc;
	key = sort_column(cli->sort, cols, ncols);
	if (!key)
		return EXIT_USAGE;
	for (int i = 0; i < ncols; i++)
		needs |= column_needs(cols[i]);
	needs |= column_needs(key);
	needs |= procs_filter_needs(cli);
	owned = shows(cols, ncols, key, F_OWNED);
	if (owned || (needs & ML_NEED_PAGEMAP)) /* every process, filtered after */
		rc = procs_scan_pages(cli, needs, &s, &pg);
	else
		rc = procs_scan(cli, needs, NULL, NULL, &s);
	if (rc >= 0) {
		ml_pages_free(pg);
		ml_scan_free(&s);
		return rc;
	}
	procs_report_unreadable(cli, &s);
	rc = EXIT_ERROR;
	rows = NULL;
	if (!pg || ledger_figures(cli, &s, pg, needs & ML_NEED_PAGEMAP, owned, &f) == 0)
		rows = build_rows(cli, &s, &f, &users, needs, &n);
	if (rows) {
		struct view_rows r = {rows, n, sizeof(*rows), row_number, row_text, row_bound};
		view_sort(&r, rows, key, &infos[0], cli->reverse);
		rc = print_rows(cli, &s, (needs & ML_NEED_PAGEMAP) ? pg : NULL, &r, cols, ncols);
	}
	if (procs_none_of_the_pids(cli, &s)) /* as ps -p: the header, then exit status 1 */
		rc = EXIT_ERROR;
	free_rows(rows, n);
	free_figures(&f);
	ml_pages_free(pg);
	user_cache_free(&users);
	ml_scan_free(&s);
	return rc;
}
