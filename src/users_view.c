/* memledger users: one row per user (smem -u). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "memledger.h"
#include "procs.h"
#include "users.h"
#include "users_view.h"
#include "view.h"

enum { F_USER, F_UID, F_PROCS };

static const struct colinfo infos[] = {
    {"USER", COL_STR, 0, F_USER, "effective user"},
    {"UID", COL_COUNT, OUT_RIGHT, F_UID, "effective user ID"},
    {"PROCS", COL_COUNT, OUT_RIGHT, F_PROCS, "processes of the user"},
    VIEW_SIZE_COL("VSS", ML_VSS, "Σ address space reserved (VmSize)"),
    VIEW_SIZE_COL("RSS", ML_RSS,
                  "Σ resident: a page shared by two of the user's processes counts twice"),
    VIEW_SIZE_COL("PSS", ML_PSS, "Σ proportional set size: adds up across users"),
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
    {"THREADS", COL_COUNT, OUT_RIGHT, VIEW_METRIC + ML_THREADS, "Σ threads"},
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

static struct out_cell total_cell(const struct colinfo *c, const void *ctx)
{
	const struct ml_scan *s = ctx;

	if (c->id == F_PROCS)
		return (struct out_cell){.num = s->nprocs};
	if (c->id < VIEW_METRIC)
		return (struct out_cell){.blank = true};
	return (struct out_cell){
	    .num = ml_metric_total(s->procs, s->nprocs, (enum ml_metric)(c->id - VIEW_METRIC))};
}

/* Prints the users' rows. Returns 0 or -errno. */
static int print_users(const struct cli *cli, const struct ml_scan *s, struct view_rows *r,
                       const struct colinfo **cols, int ncols)
{
	struct out_table *t = view_table(cli, "users", r, cols, ncols, total_cell, s);

	return t ? procs_print_document(cli, t, s, NULL) : -ENOMEM;
}

/* The sort column: -s, else PSS. */
static const struct colinfo *sort_column(const char *arg)
{
	const struct colinfo *c =
	    view_column(&users_cols, arg ? arg : "PSS", strlen(arg ? arg : "PSS"));

	if (!c)
		cli_warn("unknown sort column: '%s'", arg);
	return c;
}

static unsigned users_needs(const struct colinfo **cols, int ncols, const struct colinfo *key)
{
	unsigned needs = ML_NEED_STATUS; /* the UID */

	for (int i = 0; i <= ncols; i++) {
		const struct colinfo *c = i < ncols ? cols[i] : key;
		if (c->id >= VIEW_METRIC)
			needs |= ml_metric_needs((enum ml_metric)(c->id - VIEW_METRIC));
	}
	return needs;
}

/* Groups the scan by user and prints it. Returns an exit status. */
static int report(struct cli *cli, const struct ml_scan *s, const struct colinfo **cols, int ncols,
                  const struct colinfo *key)
{
	struct user_cache names = {0};
	struct ml_group *groups = NULL;
	struct user_row *rows = NULL;
	long n = ml_group_by(s->procs, s->nprocs, ml_proc_uid, &groups);
	int rc = -ENOMEM;

	if (n >= 0)
		rows = calloc(n ? (size_t)n : 1, sizeof(*rows));
	if (rows) {
		struct view_rows r = {rows, (size_t)n, sizeof(*rows), row_number, row_text, NULL};
		for (long i = 0; i < n; i++)
			rows[i] =
			    (struct user_row){&groups[i], user_cache_name(&names, groups[i].key)};
		view_sort(&r, rows, key, &infos[1], cli->reverse);
		rc = print_users(cli, s, &r, cols, ncols);
	}
	if (rc < 0)
		cli_warn("cannot write the output: %s", strerror(-rc));
	free(rows);
	free(groups);
	user_cache_free(&names);
	return rc < 0 ? EXIT_ERROR : EXIT_OK;
}

int users_run(struct cli *cli)
{
	const struct colinfo *cols[VIEW_MAX_COLS], *key;
	struct ml_scan s = {0};
	int ncols, rc;

	rc = view_begin(cli, &users_cols, false, cols, &ncols);
	if (rc >= 0)
		return rc;
	key = sort_column(cli->sort);
	if (!key)
		return EXIT_USAGE;
	rc = procs_scan(cli, users_needs(cols, ncols, key) | procs_filter_needs(cli), NULL, NULL,
	                &s);
	if (rc < 0) {
		procs_report_unreadable(cli, &s);
		rc = report(cli, &s, cols, ncols, key);
		if (procs_none_of_the_pids(cli, &s))
			rc = EXIT_ERROR;
	}
	ml_scan_free(&s);
	return rc;
}
