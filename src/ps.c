/* The process view: picks columns, filters, sorts, and hands rows to the output. */
#include <errno.h>
#include <libsmartcols.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "memledger.h"
#include "ps.h"

enum ps_field { F_PID, F_PPID, F_UID, F_USER, F_COMM, F_COMMAND, F_METRIC };

/* One column: drives -o, --list-columns, --help, the output and what is read. */
struct colinfo {
	const char *name;
	enum col_type type;
	double whint;
	int flags;
	enum ps_field field;
	enum ml_metric metric; /* with F_METRIC */
	const char *help;
};

#define SIZE_COL(n, m, h)                                                                          \
	{                                                                                          \
		n, COL_SIZE, 6, SCOLS_FL_RIGHT, F_METRIC, m, h                                     \
	}

static const struct colinfo infos[] = {
    {"PID", COL_COUNT, 6, SCOLS_FL_RIGHT, F_PID, 0, "process ID"},
    {"PPID", COL_COUNT, 6, SCOLS_FL_RIGHT, F_PPID, 0, "parent process ID"},
    {"UID", COL_COUNT, 6, SCOLS_FL_RIGHT, F_UID, 0, "effective user ID"},
    {"USER", COL_STR, 8, 0, F_USER, 0, "effective user"},
    {"COMM", COL_STR, 16, 0, F_COMM, 0, "command name (status Name)"},
    {"COMMAND", COL_STR, 0.5, SCOLS_FL_TRUNC, F_COMMAND, 0,
     "command line; [COMM] when it is empty"},
    SIZE_COL("VSS", ML_VSS, "virtual size: address space reserved (status VmSize)"),
    SIZE_COL("RSS", ML_RSS, "resident: in RAM now, shared pages counted whole (Rss)"),
    SIZE_COL("PSS", ML_PSS,
             "proportional: resident, each shared page divided among its mappers (Pss); adds up"),
    SIZE_COL("USS", ML_USS,
             "unique: resident pages no other process maps (Private_Clean+Private_Dirty)"),
    SIZE_COL("SHARED", ML_SHARED,
             "resident pages other processes map too (Shared_Clean+Shared_Dirty)"),
    SIZE_COL("SWAP", ML_SWAP, "swapped out to swap, zram or zswap (Swap)"),
    SIZE_COL("SWAPPSS", ML_SWAPPSS, "swap divided among the processes sharing it (SwapPss)"),
    SIZE_COL("DIRTY", ML_DIRTY, "resident pages written since read (Shared_Dirty+Private_Dirty)"),
    SIZE_COL("ANON", ML_ANON, "PSS of anonymous memory (Pss_Anon)"),
    SIZE_COL("FILE", ML_FILE, "PSS of file-backed memory (Pss_File)"),
    SIZE_COL("SHMEM", ML_SHMEM,
             "PSS of shared memory: shm, memfd, tmpfs, MAP_SHARED anonymous (Pss_Shmem)"),
    SIZE_COL("FOOTPRINT", ML_FOOTPRINT,
             "private footprint: anonymous resident plus swap (RssAnon+VmSwap)"),
    SIZE_COL("COMMIT", ML_COMMIT,
             "charged to the commit limit: mappings flagged 'ac' (reads smaps)"),
    SIZE_COL("LAZYFREE", ML_LAZYFREE, "freed with MADV_FREE, the kernel may drop it (LazyFree)"),
    SIZE_COL("LOCKED", ML_LOCKED, "locked in RAM (Locked)"),
    SIZE_COL("THP", ML_THP,
             "in transparent huge pages (AnonHugePages+ShmemPmdMapped+FilePmdMapped)"),
    SIZE_COL("HUGETLB", ML_HUGETLB,
             "hugetlbfs pages, not part of RSS (Shared_Hugetlb+Private_Hugetlb)"),
    SIZE_COL("KSM", ML_KSM, "merged by kernel samepage merging (KSM)"),
    SIZE_COL("REFERENCED", ML_REFERENCED, "resident and recently accessed (Referenced)"),
    SIZE_COL("PAGETABLES", ML_PAGETABLES, "page tables, paid by each process for itself (VmPTE)"),
    {"THREADS", COL_COUNT, 4, SCOLS_FL_RIGHT, F_METRIC, ML_THREADS, "threads (status Threads)"},
};

#define NCOLS    (sizeof(infos) / sizeof(infos[0]))
#define MAX_COLS 64

static const char *const default_columns[] = {"PID", "USER", "COMMAND", "SWAP",
                                              "USS", "PSS",  "RSS"};

void ps_list_columns(FILE *f)
{
	for (size_t i = 0; i < NCOLS; i++)
		fprintf(f, " %11s  %s\n", infos[i].name, infos[i].help);
}

static const struct colinfo *column_by_name(const char *name, size_t len)
{
	for (size_t i = 0; i < NCOLS; i++)
		if (strlen(infos[i].name) == len && strncasecmp(infos[i].name, name, len) == 0)
			return &infos[i];
	return NULL;
}

/* The columns to show, from -o (NULL: the defaults). Returns their count, or -1. */
static int select_columns(const char *arg, const struct colinfo **cols)
{
	size_t n = 0;

	if (!arg || arg[0] == '+') {
		for (size_t i = 0; i < sizeof(default_columns) / sizeof(default_columns[0]); i++)
			cols[n++] = column_by_name(default_columns[i], strlen(default_columns[i]));
		if (!arg)
			return (int)n;
		arg++;
	}
	for (const char *p = arg; *p;) {
		size_t len = strcspn(p, ",");
		const struct colinfo *c = column_by_name(p, len);

		if (!c || n == MAX_COLS) {
			cli_warn(c ? "too many columns" : "unknown column: '%.*s'", (int)len, p);
			return -1;
		}
		cols[n++] = c;
		p += len + (p[len] == ',');
	}
	if (n == 0) {
		cli_warn("no columns to show");
		return -1;
	}
	return (int)n;
}

static unsigned column_needs(const struct colinfo *c)
{
	switch (c->field) {
	case F_PID: return 0;
	case F_COMMAND: return ML_NEED_CMDLINE | ML_NEED_STATUS; /* [Name] for an empty cmdline */
	case F_METRIC: return ml_metric_needs(c->metric);
	default: return ML_NEED_STATUS;
	}
}

/* The sort column: -s, else PSS when shown, else the first size shown, else PID. */
static const struct colinfo *sort_column(const char *arg, const struct colinfo **cols, int n)
{
	if (arg) {
		const struct colinfo *c = column_by_name(arg, strlen(arg));
		if (!c)
			cli_warn("unknown sort column: '%s'", arg);
		return c;
	}
	for (int i = 0; i < n; i++)
		if (cols[i]->field == F_METRIC && cols[i]->metric == ML_PSS)
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
};

/* The command line, or "[Name]" when it is empty (a process that cleared its argv). */
static char *proc_command(const struct ml_proc *p)
{
	char *s = NULL;

	if (p->cmdline && p->cmdline[0])
		return strdup(p->cmdline);
	if (asprintf(&s, "[%s]", p->comm) < 0)
		return NULL;
	return s;
}

static bool keep_proc(const struct ml_proc *p, void *ctx)
{
	const struct cli *cli = ctx;
	bool keep = true;

	if (cli->have_uid)
		keep = p->status.uid == cli->uid;
	if (keep && cli->have_regex) {
		char *command = proc_command(p);
		keep = command && regexec(&cli->regex, command, 0, NULL, 0) == 0;
		free(command);
	}
	return keep;
}

/* User names by UID, looked up once each. */
struct user_cache {
	struct {
		uint64_t uid;
		char *name;
	} * v;
	size_t n;
};

static const char *user_name(struct user_cache *c, uint64_t uid)
{
	struct passwd *pw;
	char num[24];
	void *grown;

	if (uid == ML_UNKNOWN)
		return NULL;
	for (size_t i = 0; i < c->n; i++)
		if (c->v[i].uid == uid)
			return c->v[i].name;
	grown = realloc(c->v, (c->n + 1) * sizeof(*c->v));
	if (!grown)
		return NULL;
	c->v = grown;
	pw = getpwuid((uid_t)uid);
	snprintf(num, sizeof(num), "%llu", (unsigned long long)uid);
	c->v[c->n].uid = uid;
	c->v[c->n].name = strdup(pw ? pw->pw_name : num);
	return c->v[c->n++].name;
}

static void user_cache_free(struct user_cache *c)
{
	for (size_t i = 0; i < c->n; i++)
		free(c->v[i].name);
	free(c->v);
}

/* The number a column shows for a row (ML_UNKNOWN for text columns). */
static uint64_t row_number(const struct row *r, const struct colinfo *c)
{
	const struct ml_proc *p = r->proc;

	switch (c->field) {
	case F_PID: return (uint64_t)p->pid;
	case F_PPID: return p->status.ppid >= 0 ? (uint64_t)p->status.ppid : ML_UNKNOWN;
	case F_UID: return p->status.uid;
	case F_METRIC: return ml_proc_metric(p, c->metric);
	default: return ML_UNKNOWN;
	}
}

static const char *row_text(const struct row *r, const struct colinfo *c)
{
	switch (c->field) {
	case F_USER: return r->user;
	case F_COMM: return r->proc->comm;
	case F_COMMAND: return r->command;
	default: return NULL;
	}
}

struct sort_ctx {
	const struct colinfo *col;
	bool reverse;
};

/* Orders by the sort column (unknown first, then ascending), ties by PID. */
static int compare_rows(const void *a, const void *b, void *arg)
{
	const struct row *x = a, *y = b;
	const struct sort_ctx *ctx = arg;
	int cmp;

	if (ctx->col->type == COL_STR) {
		const char *s = row_text(x, ctx->col), *t = row_text(y, ctx->col);
		cmp = strcmp(s ? s : "", t ? t : "");
	} else {
		uint64_t u = row_number(x, ctx->col), v = row_number(y, ctx->col);
		u = u == ML_UNKNOWN ? 0 : u + 1;
		v = v == ML_UNKNOWN ? 0 : v + 1;
		cmp = (u > v) - (u < v);
	}
	if (cmp == 0)
		cmp = (x->proc->pid > y->proc->pid) - (x->proc->pid < y->proc->pid);
	return ctx->reverse ? -cmp : cmp;
}

static struct out_cell row_cell(const struct row *r, const struct colinfo *c)
{
	if (c->type == COL_STR)
		return (struct out_cell){.str = row_text(r, c)};
	return (struct out_cell){.num = row_number(r, c)};
}

/* The totals cell of a column: sums for sizes and threads, blank for the rest. */
static struct out_cell total_cell(const struct ml_scan *s, const struct colinfo *c)
{
	if (c->field != F_METRIC)
		return (struct out_cell){.blank = true};
	return (struct out_cell){.num = ml_metric_total(s->procs, s->nprocs, c->metric)};
}

/* Builds the rows of a scan, sorted. Returns NULL on allocation failure. */
static struct row *build_rows(const struct ml_scan *s, struct user_cache *users, unsigned needs,
                              const struct sort_ctx *order)
{
	struct row *rows = calloc(s->nprocs ? s->nprocs : 1, sizeof(*rows));

	if (!rows)
		return NULL;
	for (size_t i = 0; i < s->nprocs; i++) {
		rows[i].proc = &s->procs[i];
		if (needs & ML_NEED_STATUS)
			rows[i].user = user_name(users, s->procs[i].status.uid);
		if ((needs & ML_NEED_CMDLINE) && !(rows[i].command = proc_command(&s->procs[i]))) {
			for (size_t j = 0; j < i; j++)
				free(rows[j].command);
			free(rows);
			return NULL;
		}
	}
	qsort_r(rows, s->nprocs, sizeof(*rows), compare_rows, (void *)order);
	return rows;
}

/* Prints the table; in JSON, as {"processes": [...], "totals": {...}, "unreadable": N}. */
static int print_document(const struct cli *cli, struct out_table *t, const struct ml_scan *s)
{
	struct json j;
	int rc;

	json_init(&j, stdout);
	if (cli->out.format != OUT_JSON)
		return out_table_print_free(t, &j);
	json_object_begin(&j);
	rc = out_table_print_free(t, &j);
	json_key(&j, "unreadable");
	json_u64(&j, s->unreadable);
	json_object_end(&j);
	json_finish(&j);
	return rc;
}

/* Prints the rows (and totals) of a scan. Returns an exit status. */
static int print_rows(const struct cli *cli, const struct ml_scan *s, const struct row *rows,
                      const struct colinfo **cols, int ncols)
{
	struct out_col ocols[MAX_COLS];
	struct out_cell cells[MAX_COLS];
	struct out_table *t;
	int rc = 0;

	for (int i = 0; i < ncols; i++)
		ocols[i] =
		    (struct out_col){cols[i]->name, cols[i]->type, cols[i]->whint, cols[i]->flags};
	t = out_table_new("processes", ocols, (size_t)ncols, &cli->out);
	if (!t)
		return EXIT_ERROR;
	for (size_t r = 0; r < s->nprocs && rc == 0; r++) {
		for (int i = 0; i < ncols; i++)
			cells[i] = row_cell(&rows[r], cols[i]);
		rc = out_table_add_row(t, cells);
	}
	if (rc == 0 && cli->totals) {
		for (int i = 0; i < ncols; i++)
			cells[i] = total_cell(s, cols[i]);
		rc = out_table_add_totals(t, cells);
	}
	rc = rc ? rc : print_document(cli, t, s);
	if (rc < 0) {
		cli_warn("cannot write the output: %s", strerror(-rc));
		return EXIT_ERROR;
	}
	return EXIT_OK;
}

/* Says on stderr how many processes could not be read (JSON carries it as a field). */
static void report_unreadable(const struct cli *cli, const struct ml_scan *s)
{
	if (s->unreadable == 0 || cli->out.format == OUT_JSON)
		return;
	cli_warn("%zu process%s could not be read%s", s->unreadable, s->unreadable == 1 ? "" : "es",
	         geteuid() == 0 ? " (refused even to root)" : "; run as root to see them");
}

/* Scans the source for the needs of the view. Returns an exit status, or -1 to go on. */
static int scan(struct cli *cli, unsigned needs, struct ml_scan *s)
{
	struct ml_scan_opts opts = {
	    .needs = needs,
	    .pids = cli->pids,
	    .npids = cli->npids,
	    .keep = (cli->have_uid || cli->have_regex) ? keep_proc : NULL,
	    .keep_ctx = cli,
	    .threads = cli->threads,
	};
	struct ml_source *src = ml_source_new(cli->source);
	int rc;

	if (!src) {
		cli_warn("cannot open %s: %s", cli->source ? cli->source : "/proc",
		         strerror(errno));
		return EXIT_ERROR;
	}
	rc = ml_scan_run(src, &opts, s);
	if (rc < 0 && s->error_pid)
		cli_warn("%s/%d/%s: %s", ml_source_path(src), (int)s->error_pid, s->error_file,
		         rc == -EINVAL ? "malformed file" : strerror(-rc));
	else if (rc < 0)
		cli_warn("cannot read %s: %s", ml_source_path(src), strerror(-rc));
	ml_source_free(src);
	return rc < 0 ? EXIT_ERROR : -1;
}

int ps_run(struct cli *cli)
{
	const struct colinfo *cols[MAX_COLS];
	struct user_cache users = {0};
	struct ml_scan s = {0};
	struct sort_ctx order;
	struct row *rows;
	unsigned needs = 0;
	int ncols, rc;

	if (cli->list_columns) {
		ps_list_columns(stdout);
		return EXIT_OK;
	}
	ncols = select_columns(cli->columns, cols);
	order.col = ncols < 0 ? NULL : sort_column(cli->sort, cols, ncols);
	order.reverse = cli->reverse;
	if (!order.col)
		return EXIT_USAGE;
	for (int i = 0; i < ncols; i++)
		needs |= column_needs(cols[i]);
	needs |= column_needs(order.col);
	needs |= cli->have_uid ? ML_NEED_STATUS : 0;
	needs |= cli->have_regex ? ML_NEED_CMDLINE | ML_NEED_STATUS : 0;
	rc = scan(cli, needs, &s);
	if (rc >= 0) {
		ml_scan_free(&s);
		return rc;
	}
	report_unreadable(cli, &s);
	rows = build_rows(&s, &users, needs, &order);
	rc = rows ? print_rows(cli, &s, rows, cols, ncols) : EXIT_ERROR;
	for (size_t i = 0; rows && i < s.nprocs; i++)
		free(rows[i].command);
	free(rows);
	user_cache_free(&users);
	ml_scan_free(&s);
	return rc;
}
