/* memledger libs: one row per mapped object across all processes, with who maps it. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "commands.h"
#include "run.h"
#include "memledger.h"
#include "procs.h"
#include "view.h"

enum { F_NAME, F_KIND, F_PROCS, F_MAPPINGS, F_AVGPSS, F_DEV, F_INODE, F_PID };

static const struct colinfo infos[] = {
    {"NAME", COL_STR, OUT_TREE | OUT_KEY, F_NAME,
     "file, shared memory object, or [anon] [heap] [stack]; with --procs a process", 0,
     VIEW_TOTAL_NONE},
    {"KIND", COL_STR, 0, F_KIND, "the object's kind, as in maps (a library: code)", 0,
     VIEW_TOTAL_NONE},
    {"PROCS", COL_COUNT, OUT_RIGHT, F_PROCS, "processes mapping it", 0, VIEW_TOTAL_NONE},
    {"MAPPINGS", COL_COUNT, OUT_RIGHT, F_MAPPINGS, "mappings of it, in all those processes", 0,
     VIEW_TOTAL_SUM},
    {"PID", COL_COUNT, OUT_RIGHT, F_PID, "with --procs: the process of the row", 0,
     VIEW_TOTAL_NONE},
    VIEW_SIZE_COL("SIZE", ML_VSS, "Σ address space its mappings reserve"),
    VIEW_SIZE_COL("RSS", ML_RSS, "Σ resident, counted in every process that maps it"),
    VIEW_SIZE_COL("PSS", ML_PSS, "Σ proportional set size (kB-truncated per mapping, as smem -m)"),
    VIEW_SIZE_COL("USS", ML_USS, "Σ pages only one process maps"),
    VIEW_SIZE_COL("SHARED", ML_SHARED, "Σ pages more than one process maps"),
    VIEW_SIZE_COL("SWAP", ML_SWAP, "Σ swapped out"),
    VIEW_SIZE_COL("SWAPPSS", ML_SWAPPSS, "Σ swap divided among its sharers"),
    {"AVGPSS", COL_SIZE, OUT_RIGHT, F_AVGPSS, "PSS / PROCS", 0, VIEW_TOTAL_NONE},
    {"DEV", COL_STR, OUT_SPARE, F_DEV, "shared memory: the object's device (major:minor, hex)", 0,
     VIEW_TOTAL_NONE},
    {"INODE", COL_COUNT, OUT_RIGHT | OUT_SPARE, F_INODE,
     "shared memory: the object's inode (SysV: shmid)", 0, VIEW_TOTAL_NONE},
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

/* A child row (--procs): one process's use of the object, and its command line. */
struct use_row {
	const struct ml_lib_use *u;
	char *command;
};

static uint64_t use_number(const void *row, const struct colinfo *c)
{
	const struct ml_lib_use *u = ((const struct use_row *)row)->u;

	switch (c->id) {
	case F_PID: return (uint64_t)u->pid;
	case F_MAPPINGS: return u->mappings;
	case F_AVGPSS: return u->mem.v[ML_MEM_PSS];
	case F_NAME:
	case F_KIND:
	case F_DEV:
	case F_PROCS:
	case F_INODE: return ML_UNKNOWN;
	default: return ml_mem_metric(&u->mem, (enum ml_metric)(c->id - VIEW_METRIC));
	}
}

static const char *use_text(const void *row, const struct colinfo *c)
{
	return c->id == F_NAME ? ((const struct use_row *)row)->command : NULL;
}

/* What an object's own row has, a use's has not. */
static bool use_blank(const void *row, const struct colinfo *c)
{
	(void)row;
	return c->id == F_KIND || c->id == F_DEV || c->id == F_PROCS || c->id == F_INODE;
}

/* PID is the child rows' column only. */
static bool row_blank(const void *row, const struct colinfo *c)
{
	(void)row;
	return c->id == F_PID;
}

/* What a run of libs makes: the uses of each object, the objects, a row per object, and
 * the child rows of the object being drawn (--procs). */
struct libs_state {
	struct ml_libs *uses;
	struct ml_maps_windows *windows; /* --by category: each process's mappings, settled */
	struct ml_lib *libs;
	struct lib_row *rows;
	struct use_row *kids;
	size_t nkids;
};

/* Frees the child rows' command lines. */
static void kids_clear(struct libs_state *st)
{
	for (size_t i = 0; i < st->nkids; i++)
		free(st->kids[i].command);
	st->nkids = 0;
}

/* The rows under an object's row with --procs: one per process that maps it (a
 * view_def's children). Returns 0 or -ENOMEM. */
static int lib_children(struct view_run *run, const void *row, struct view_rows *kids)
{
	const struct ml_lib *l = ((const struct lib_row *)row)->lib;
	struct libs_state *st = run->state;
	struct use_row *v;

	kids_clear(st); /* the object's before: added already */
	v = realloc(st->kids, (l->nuses + 1) * sizeof(*v));
	if (!v)
		return -ENOMEM;
	st->kids = v;
	for (size_t i = 0; i < l->nuses; i++, st->nkids++) {
		long k = ml_scan_find(&run->scan, l->uses[i].pid);
		v[i] = (struct use_row){&l->uses[i], k >= 0 ? procs_command(&run->scan.procs[k])
		                                            : strdup("[?]")};
		if (!v[i].command)
			return -ENOMEM;
	}
	*kids = (struct view_rows){.rows = v,
	                           .n = st->nkids,
	                           .size = sizeof(*v),
	                           .number = use_number,
	                           .text = use_text,
	                           .blank = use_blank};
	return 0;
}

/* The table of uses, filled as the scan reads each mapping (a view_def's begin). */
static int libs_begin(struct view_run *run)
{
	struct libs_state *st = calloc(1, sizeof(*st));

	run->state = st;
	if (!st || !(st->uses = ml_libs_new(run->cli->each_anon))) {
		cli_warn("out of memory");
		return EXIT_ERROR;
	}
	return EXIT_GO_ON;
}

static int on_mapping(const struct ml_proc *p, const struct ml_mapping *m, void *ctx)
{
	return ml_libs_add(((struct libs_state *)ctx)->uses, p->pid, m);
}

/* --by category: a process's thread stacks found by shape, booked once its threads say
 * whether they can be stacks. */
struct shaped_stacks {
	uint64_t n;
	struct ml_mem mem;
};

/* The object a category is booked under: "Native Heap: glibc-arena". */
static void category_name(const struct ml_category *c, char *buf, size_t len)
{
	snprintf(buf, len, "%s: %s", ml_class_name(c->cls), c->heap);
}

/* Books a settled mapping under its category (an ml_pid_map_fn), a thread stack by shape
 * once its process is read. */
static int category_mapping(pid_t pid, void **user, const struct ml_map *m, void *ctx)
{
	struct libs_state *st = ctx;
	struct shaped_stacks *s = *user;
	char name[64];

	if (m->cat.cls == ML_CLASS_STACK && strcmp(m->cat.rule, "shape:guard") == 0) {
		if (!s && !(s = *user = calloc(1, sizeof(*s))))
			return -ENOMEM;
		s->n++;
		ml_mem_add(&s->mem, &m->mem);
		return 0;
	}
	category_name(&m->cat, name, sizeof(name));
	return ml_libs_add_named(st->uses, pid, name, m->kind, &m->mem, 1);
}

static int category_on_mapping(const struct ml_proc *p, const struct ml_mapping *m, void *ctx)
{
	return ml_maps_windows_add(((struct libs_state *)ctx)->windows, p->pid, m);
}

/* After a process's mappings: its thread stacks by shape, as Stack, or as Other Anon when
 * it has more of them than threads (ml_heaps_finish's rule). */
static int category_end(const struct ml_proc *p, int rc, void *ctx)
{
	struct libs_state *st = ctx;
	struct shaped_stacks *s;
	long n = ml_maps_windows_end(st->windows, p->pid, rc, (void **)&s);
	uint64_t threads = p->status.threads;

	if (n >= 0 && s) {
		int brc = ml_libs_add_named(st->uses, p->pid,
		                            ml_stacks_doubtful(s->n, threads) ? "Other Anon: stack?"
		                                                              : "Stack: thread",
		                            ML_KIND_ANON, &s->mem, s->n);
		n = brc < 0 ? brc : n;
	}
	free(s);
	return n < 0 && rc == 0 ? (int)n : 0;
}

static int category_begin(struct view_run *run)
{
	static const char *const keys[] = {"category"};
	int rc = libs_begin(run);
	struct libs_state *st = run->state;

	if (rc != EXIT_GO_ON)
		return rc;
	if (cli_choice("--by", keys, 1, run->cli->group_by) < 0)
		return EXIT_USAGE;
	if (run->cli->each_anon) { /* a category is no mapping: nothing to list one by one */
		cli_warn("libs --by category does not use --all");
		return EXIT_USAGE;
	}
	if (!(st->windows = ml_maps_windows_new(category_mapping, st))) {
		cli_warn("out of memory");
		return EXIT_ERROR;
	}
	return EXIT_GO_ON;
}

/* A row per object that -M keeps (a view_def's rows). Returns 0 or -ENOMEM. */
static int libs_rows(struct view_run *run)
{
	struct libs_state *st = run->state;
	long nlibs = ml_libs_fold(st->uses, &st->libs);
	size_t n = 0;

	if (nlibs < 0 || !(st->rows = calloc(nlibs ? (size_t)nlibs : 1, sizeof(*st->rows))))
		return -ENOMEM;
	for (long i = 0; i < nlibs; i++) {
		const struct ml_lib_use *u = st->libs[i].uses;
		if (run->cli->have_map_regex &&
		    regexec(&run->cli->map_regex, u->name, 0, NULL, 0) != 0)
			continue;
		st->rows[n].lib = &st->libs[i];
		snprintf(st->rows[n].dev, sizeof(st->rows[n].dev), "%02x:%02x", u->dev_major,
		         u->dev_minor);
		n++;
	}
	run->rows = (struct view_rows){.rows = st->rows,
	                               .n = n,
	                               .size = sizeof(*st->rows),
	                               .number = row_number,
	                               .text = row_text,
	                               .blank = row_blank};
	return 0;
}

static void libs_end(struct view_run *run)
{
	struct libs_state *st = run->state;

	if (!st)
		return;
	kids_clear(st);
	ml_maps_windows_free(st->windows);
	free(st->kids);
	free(st->rows);
	free(st->libs);
	ml_libs_free(st->uses);
	free(st);
}

static const struct view_def libs_view = {
    .name = "libraries",
    .cols = &libs_cols,
    .sort = "PSS",
    .tie = "NAME",
    .needs = ML_NEED_SMAPS,
    .alike = "NAME",
    .apart = {"DEV", "INODE"},
    .begin = libs_begin,
    .on_mapping = on_mapping,
    .rows = libs_rows,
    .end = libs_end,
};

/* libs --procs: each object's processes under it. */
static const struct view_def procs_view = {
    .name = "libraries",
    .cols = &procs_cols,
    .sort = "PSS",
    .tie = "NAME",
    .needs = ML_NEED_SMAPS | ML_NEED_CMDLINE | ML_NEED_STATUS,
    .alike = "NAME",
    .apart = {"DEV", "INODE"},
    .begin = libs_begin,
    .on_mapping = on_mapping,
    .rows = libs_rows,
    .children = lib_children,
    .children_key = "processes",
    .end = libs_end,
};

/* libs --by category: an object per category (class and heap), across processes. */
static const struct view_def category_view = {
    .name = "categories",
    .cols = &libs_cols,
    .sort = "PSS",
    .tie = "NAME",
    .needs = ML_NEED_SMAPS | ML_NEED_STATUS,
    .begin = category_begin,
    .on_mapping = category_on_mapping,
    .on_mappings_end = category_end,
    .rows = libs_rows,
    .end = libs_end,
};

static const struct view_def category_procs_view = {
    .name = "categories",
    .cols = &procs_cols,
    .sort = "PSS",
    .tie = "NAME",
    .needs = ML_NEED_SMAPS | ML_NEED_CMDLINE | ML_NEED_STATUS,
    .begin = category_begin,
    .on_mapping = category_on_mapping,
    .on_mappings_end = category_end,
    .rows = libs_rows,
    .children = lib_children,
    .children_key = "processes",
    .end = libs_end,
};

int cmd_libs(struct run *run)
{
	if (run->cli->group_by)
		return view_run(run, run->cli->procs ? &category_procs_view : &category_view);
	return view_run(run, run->cli->procs ? &procs_view : &libs_view);
}
