/* memledger libs: one row per mapped object across all processes, with who maps it. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "libs_view.h"
#include "memledger.h"
#include "procs.h"
#include "view.h"

enum { F_NAME, F_KIND, F_PROCS, F_MAPPINGS, F_AVGPSS, F_DEV, F_INODE, F_PID };

static const struct colinfo infos[] = {
    {"NAME", COL_STR, 0, F_NAME,
     "file, shared memory object, or [anon] [heap] [stack]; with --procs a process"},
    {"KIND", COL_STR, 0, F_KIND, "the object's kind, as in maps (a library: code)"},
    {"PROCS", COL_COUNT, OUT_RIGHT, F_PROCS, "processes mapping it"},
    {"MAPPINGS", COL_COUNT, OUT_RIGHT, F_MAPPINGS, "mappings of it, in all those processes"},
    {"PID", COL_COUNT, OUT_RIGHT, F_PID, "with --procs: the process of the row"},
    VIEW_SIZE_COL("SIZE", ML_VSS, "Σ address space its mappings reserve"),
    VIEW_SIZE_COL("RSS", ML_RSS, "Σ resident, counted in every process that maps it"),
    VIEW_SIZE_COL("PSS", ML_PSS, "Σ proportional set size (kB-truncated per mapping, as smem -m)"),
    VIEW_SIZE_COL("USS", ML_USS, "Σ pages only one process maps"),
    VIEW_SIZE_COL("SHARED", ML_SHARED, "Σ pages more than one process maps"),
    VIEW_SIZE_COL("SWAP", ML_SWAP, "Σ swapped out"),
    VIEW_SIZE_COL("SWAPPSS", ML_SWAPPSS, "Σ swap divided among its sharers"),
    {"AVGPSS", COL_SIZE, OUT_RIGHT, F_AVGPSS, "PSS / PROCS"},
    {"DEV", COL_STR, 0, F_DEV, "shared memory: the object's device (major:minor, hex)"},
    {"INODE", COL_COUNT, OUT_RIGHT, F_INODE, "shared memory: the object's inode (SysV: shmid)"},
};

static const char *const defaults[] = {"NAME", "KIND", "PROCS", "SIZE",  "RSS",
                                       "PSS",  "USS",  "SWAP",  "AVGPSS"};
static const char *const proc_defaults[] = {"NAME", "PID", "KIND", "PROCS", "SIZE",
                                            "RSS",  "PSS", "USS",  "SWAP",  "AVGPSS"};

static const struct view_cols libs_cols = VIEW_COLS(infos, defaults);
static const struct view_cols procs_cols = VIEW_COLS(infos, proc_defaults);

/* A row: an object, and its device text. */
struct lib_row {
	const struct ml_lib *lib;
	char dev[24];
};

static uint64_t row_number(const void *row, const struct colinfo *c)
{
	const struct ml_lib *l = ((const struct lib_row *)row)->lib;
	uint64_t pss;

	switch (c->id) {
	case F_PROCS: return l->nuses;
	case F_MAPPINGS: return l->mappings;
	case F_INODE: return l->uses[0].inode ? l->uses[0].inode : ML_UNKNOWN;
	case F_AVGPSS:
		pss = l->mem.v[ML_MEM_PSS];
		return pss == ML_UNKNOWN ? ML_UNKNOWN : pss / l->nuses;
	case F_NAME:
	case F_KIND:
	case F_DEV:
	case F_PID: return ML_UNKNOWN;
	default: return ml_mem_metric(&l->mem, (enum ml_metric)(c->id - VIEW_METRIC));
	}
}

static const char *row_text(const void *row, const struct colinfo *c)
{
	const struct lib_row *r = row;

	switch (c->id) {
	case F_NAME: return r->lib->uses[0].name;
	case F_KIND: return ml_kind_name(r->lib->uses[0].kind);
	case F_DEV: return r->lib->uses[0].inode ? r->dev : NULL;
	default: return NULL;
	}
}

/* The process of a use, from the scan (ascending by PID), or NULL. */
static const struct ml_proc *find_proc(const struct ml_scan *s, pid_t pid)
{
	size_t lo = 0, hi = s->nprocs;

	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		if (s->procs[mid].pid == pid)
			return &s->procs[mid];
		if (s->procs[mid].pid < pid)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

/* A child row's cell: one process's use of the object. */
static struct out_cell use_cell(const struct ml_lib_use *u, const struct colinfo *c,
                                const char *command)
{
	switch (c->id) {
	case F_NAME: return (struct out_cell){.str = command};
	case F_PID: return (struct out_cell){.num = (uint64_t)u->pid};
	case F_MAPPINGS: return (struct out_cell){.num = u->mappings};
	case F_AVGPSS: return (struct out_cell){.num = u->mem.v[ML_MEM_PSS]};
	case F_KIND:
	case F_DEV:
	case F_PROCS:
	case F_INODE: return (struct out_cell){.blank = true};
	default:
		return (struct out_cell){
		    .num = ml_mem_metric(&u->mem, (enum ml_metric)(c->id - VIEW_METRIC))};
	}
}

/* Adds one row per process under the object's row (--procs). Returns 0 or -errno. */
static int add_uses(struct out_table *t, const struct ml_scan *s, const struct ml_lib *l,
                    const struct colinfo **cols, int ncols)
{
	struct out_cell cells[VIEW_MAX_COLS];
	int rc = 0;

	for (size_t i = 0; i < l->nuses && rc == 0; i++) {
		const struct ml_proc *p = find_proc(s, l->uses[i].pid);
		char *command = NULL;
		if (p && p->cmdline && p->cmdline[0])
			command = strdup(p->cmdline);
		else if (asprintf(&command, "[%s]", p ? p->comm : "?") < 0)
			command = NULL;
		if (!command)
			return -ENOMEM;
		for (int c = 0; c < ncols; c++)
			cells[c] = use_cell(&l->uses[i], cols[c], command);
		rc = out_table_add_child(t, cells, "processes");
		free(command);
	}
	return rc;
}

static struct out_cell total_cell(const struct lib_row *rows, size_t n, const struct colinfo *c)
{
	uint64_t sum = 0;

	if (c->id < VIEW_METRIC && c->id != F_MAPPINGS)
		return (struct out_cell){.blank = true};
	for (size_t i = 0; i < n; i++)
		sum = ml_add_u64(sum, row_number(&rows[i], c));
	return (struct out_cell){.num = sum};
}

/* An object row's cell; PID is the child rows' column only. */
static struct out_cell lib_cell(const struct lib_row *r, const struct colinfo *c)
{
	if (c->id == F_PID)
		return (struct out_cell){.blank = true};
	if (c->type == COL_STR)
		return (struct out_cell){.str = row_text(r, c)};
	return (struct out_cell){.num = row_number(r, c)};
}

/* Prints the objects (and with --procs their processes). Returns 0 or -errno. */
/* A row's NAME, for view_texts_collide. */
static const char *row_name(const void *row, const struct colinfo *c)
{
	return lib_cell(row, c).str;
}

/* Adds DEV and INODE to the default columns (or to "+COLS") when two rows have the same
 * name: two /dev/zero (deleted) objects, two memfds named alike. Returns the new count. */
static int tell_apart(const struct cli *cli, const struct lib_row *rows, size_t n,
                      const struct colinfo **cols, int ncols)
{
	static const char *const apart[] = {"DEV", "INODE"};
	const struct colinfo *name = view_column(&libs_cols, "NAME", 4);

	if ((cli->columns && cli->columns[0] != '+') ||
	    !view_texts_collide(rows, n, sizeof(*rows), row_name, name))
		return ncols;
	return view_add_columns(&libs_cols, cols, ncols, apart, 2);
}

static int print_libs(const struct cli *cli, const struct ml_scan *s, const struct lib_row *rows,
                      size_t n, const struct colinfo **cols, int ncols)
{
	struct out_col ocols[VIEW_MAX_COLS];
	struct out_cell cells[VIEW_MAX_COLS];
	struct out_table *t;
	int rc = 0;

	view_out_cols(cols, ncols, ocols);
	for (int i = 0; cli->procs && i < ncols; i++)
		if (cols[i]->id == F_NAME)
			ocols[i].flags |= OUT_TREE;
	t = out_table_new("libraries", ocols, (size_t)ncols, &cli->out);
	if (!t)
		return -ENOMEM;
	for (size_t r = 0; r < n && rc == 0; r++) {
		for (int i = 0; i < ncols; i++)
			cells[i] = lib_cell(&rows[r], cols[i]);
		rc = out_table_add_row(t, cells);
		if (rc == 0 && cli->procs)
			rc = add_uses(t, s, rows[r].lib, cols, ncols);
	}
	if (rc == 0 && cli->totals) {
		for (int i = 0; i < ncols; i++)
			cells[i] = total_cell(rows, n, cols[i]);
		rc = out_table_add_totals(t, cells);
	}
	return rc ? rc : procs_print_document(cli, t, s, NULL);
}

/* The rows that -M keeps, sorted. Returns NULL on allocation failure. */
static struct lib_row *build_rows(const struct cli *cli, const struct ml_lib *libs, long nlibs,
                                  size_t *n, const struct colinfo *key)
{
	struct lib_row *rows = calloc(nlibs ? (size_t)nlibs : 1, sizeof(*rows));

	*n = 0;
	for (long i = 0; rows && i < nlibs; i++) {
		const struct ml_lib_use *u = libs[i].uses;
		if (cli->have_map_regex && regexec(&cli->map_regex, u->name, 0, NULL, 0) != 0)
			continue;
		rows[*n].lib = &libs[i];
		snprintf(rows[*n].dev, sizeof(rows[*n].dev), "%02x:%02x", u->dev_major,
		         u->dev_minor);
		(*n)++;
	}
	if (rows) {
		struct view_rows r = {rows, *n, sizeof(*rows), row_number, row_text, NULL};
		view_sort(&r, rows, key, &infos[0], cli->reverse);
	}
	return rows;
}

static int on_mapping(const struct ml_proc *p, const struct ml_mapping *m, void *ctx)
{
	return ml_libs_add(ctx, p->pid, m);
}

/* Scans every process's smaps into the table of uses, then prints. Returns an exit status. */
static int report(struct cli *cli, const struct colinfo **cols, int ncols,
                  const struct colinfo *key)
{
	unsigned needs = ML_NEED_SMAPS | procs_filter_needs(cli) |
	                 (cli->procs ? ML_NEED_CMDLINE | ML_NEED_STATUS : 0);
	struct ml_libs *uses = ml_libs_new(cli->each_anon);
	struct ml_scan s = {0};
	struct ml_lib *libs = NULL;
	struct lib_row *rows = NULL;
	long nlibs = -ENOMEM;
	size_t n = 0;
	int rc;

	if (!uses)
		return EXIT_ERROR;
	rc = procs_scan(cli, needs, on_mapping, uses, &s);
	if (rc < 0) {
		procs_report_unreadable(cli, &s);
		nlibs = ml_libs_fold(uses, &libs);
		rows = nlibs >= 0 ? build_rows(cli, libs, nlibs, &n, key) : NULL;
		rc = rows
		         ? print_libs(cli, &s, rows, n, cols, tell_apart(cli, rows, n, cols, ncols))
		         : -ENOMEM;
		if (rc < 0)
			cli_warn("cannot write the output: %s", strerror(-rc));
		rc = rc < 0 || procs_none_of_the_pids(cli, &s) ? EXIT_ERROR : EXIT_OK;
	}
	free(rows);
	free(libs);
	ml_libs_free(uses);
	ml_scan_free(&s);
	return rc;
}

int libs_run(struct cli *cli)
{
	const struct view_cols *v = cli->procs ? &procs_cols : &libs_cols;
	const struct colinfo *cols[VIEW_MAX_COLS], *key;
	const char *sort = cli->sort ? cli->sort : "PSS";
	int ncols, rc;

	rc = view_begin(cli, v, false, cols, &ncols);
	if (rc >= 0)
		return rc;
	key = view_column(v, sort, strlen(sort));
	if (!key) {
		cli_warn("unknown sort column: '%s'", sort);
		return EXIT_USAGE;
	}
	return report(cli, cols, ncols, key);
}
