/* memledger users: one row per user (smem -u). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "memledger.h"
#include "procs.h"
#include "memledger/group.h"
#include "commands.h"
#include "run.h"
#include "view.h"

enum { F_USER, F_UID, F_PROCS };

static const struct colinfo infos[] = {
    {"USER", COL_STR, 0, F_USER, "effective user", 0, VIEW_TOTAL_NONE},
    {"UID", COL_COUNT, OUT_RIGHT, F_UID, "effective user ID", 0, VIEW_TOTAL_NONE},
    {"PROCS", COL_COUNT, OUT_RIGHT, F_PROCS, "processes of the user", 0, VIEW_TOTAL_SUM},
    VIEW_SIZE_COL("VSS", ML_VSS, "Σ address space reserved (VmSize)"),
    VIEW_SIZE_COL("RSS", ML_RSS,
                  "Σ resident: a page shared by two of the user's processes counts twice"),
    VIEW_SIZE_COL("PSS", ML_PSS, "Σ proportional set size: adds up across users"),
    VIEW_PMEM_COL,
    VIEW_SIZE_COL("USS", ML_USS, "Σ pages each process alone maps"),
    VIEW_SIZE_COL("SHARED", ML_SHARED, "Σ resident pages other processes map too"),
    VIEW_SIZE_COL("SWAP", ML_SWAP, "Σ swapped out"),
    VIEW_SIZE_COL("SWAPPSS", ML_SWAPPSS, "Σ swap divided among its sharers"),
    VIEW_SIZE_COL("ANON", ML_ANON, "Σ PSS of anonymous memory"),
    VIEW_SIZE_COL("FILE", ML_FILE, "Σ PSS of file-backed memory"),
    VIEW_SIZE_COL("SHMEM", ML_SHMEM, "Σ PSS of shared memory"),
    VIEW_SIZE_COL("FOOTPRINT", ML_FOOTPRINT, "Σ private footprint (RssAnon+VmSwap)"),
    VIEW_SIZE_COL("LOCKED", ML_LOCKED, "Σ locked in RAM"),
    VIEW_SIZE_COL("PAGETABLES", ML_PAGETABLES, "Σ page tables (VmPTE)"),
    {"THREADS", COL_COUNT, OUT_RIGHT, VIEW_METRIC + ML_THREADS, "Σ threads", 0, VIEW_TOTAL_SUM},
    VIEW_SIZE_COL("GPU", ML_GPU, "Σ shares of GPU buffers in system memory (RAM)"),
    VIEW_SIZE_COL("VRAM", ML_VRAM, "Σ shares of GPU device memory (not RAM)"),
    VIEW_SIZE_COL("DMABUF", ML_DMABUF, "Σ shares of dma-bufs held"),
};

static const char *const defaults[] = {"USER", "PROCS", "SWAP", "USS", "PSS", "RSS", "FOOTPRINT"};

static const struct view_cols users_cols = VIEW_COLS(infos, defaults);

/* A row: one user's group, and the user's name. */
struct user_row {
	const struct ml_group *group;
	const char *name;
};

static uint64_t row_number(const void *row, const struct colinfo *c)
{
	const struct ml_group *g = ((const struct user_row *)row)->group;

	switch (c->id) {
	case F_UID: return g->key;
	case F_PROCS: return g->nprocs;
	case F_USER: return ML_UNKNOWN;
	default: return g->totals[c->id - VIEW_METRIC];
	}
}

static const char *row_text(const void *row, const struct colinfo *c)
{
	return c->id == F_USER ? ((const struct user_row *)row)->name : NULL;
}

/* What a run of users makes: a group per user, a row per group. */
struct users_state {
	struct ml_user_cache names;
	struct ml_group *groups;
	struct user_row *rows;
};

/* Groups run's scan by user into rows (a view_def's rows). Returns 0 or -ENOMEM. */
static int users_rows(struct view_run *run)
{
	struct users_state *st = calloc(1, sizeof(*st));
	const struct ml_scan *s = &run->scan;
	long n = st ? ml_group_by(s->procs, s->nprocs, ml_proc_uid, &st->groups) : -ENOMEM;

	run->state = st;
	if (n >= 0)
		st->rows = calloc(n ? (size_t)n : 1, sizeof(*st->rows));
	if (n < 0 || !st->rows)
		return -ENOMEM;
	st->names.android = s->android;
	for (long i = 0; i < n; i++)
		st->rows[i] =
		    (struct user_row){&st->groups[i], ml_user_name(&st->names, st->groups[i].key)};
	run->rows = (struct view_rows){.rows = st->rows,
	                               .n = (size_t)n,
	                               .size = sizeof(*st->rows),
	                               .number = row_number,
	                               .text = row_text};
	return 0;
}

static void users_end(struct view_run *run)
{
	struct users_state *st = run->state;

	if (!st)
		return;
	free(st->rows);
	free(st->groups);
	ml_user_cache_free(&st->names);
	free(st);
}

static const struct view_def users_view = {
    .name = "users",
    .cols = &users_cols,
    .sort = "PSS",
    .tie = "UID",
    .proc_metrics = true,
    .needs = ML_NEED_STATUS, /* the UID */
    .rows = users_rows,
    .end = users_end,
};

int cmd_users(struct run *run)
{
	return view_run(run, &users_view);
}
