/* memledger heaps [PID...]: what kind of memory each process holds, a row per class
 * (dumpsys meminfo's rows: Native Heap, Stack, Code...), and how many heaps it has. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "commands.h"
#include "json.h"
#include "memledger.h"
#include "memledger/category.h"
#include "procs.h"
#include "run.h"
#include "view.h"

enum {
	F_NAME,
	F_PID,
	F_PROCS,
	F_PRIVDIRTY,
	F_PRIVCLEAN,
	F_COUNT,
	F_HEAPS,
	F_COMPRESSED,
	F_COMMAND
};

static const struct colinfo infos[] = {
    {"NAME", COL_STR, OUT_TREE | OUT_KEY, F_NAME,
     "the process's name (with --by the group's); under it, each class that holds memory", 0,
     VIEW_TOTAL_NONE},
    {"PID", COL_COUNT, OUT_RIGHT, F_PID, "process ID (with --by: its largest instance's top)", 0,
     VIEW_TOTAL_NONE},
    {"PROCS", COL_COUNT, OUT_RIGHT, F_PROCS, "with --by: the processes in the group", 0,
     VIEW_TOTAL_SUM},
    VIEW_SIZE_COL("PSS", ML_PSS, "proportional set size (Σ Pss of the class's mappings)"),
    {"PRIVDIRTY", COL_SIZE, OUT_RIGHT, F_PRIVDIRTY,
     "private dirty: written, only here (Private_Dirty): freed when it exits", 0, VIEW_TOTAL_SUM},
    {"PRIVCLEAN", COL_SIZE, OUT_RIGHT, F_PRIVCLEAN,
     "private clean: read from a file, only here (Private_Clean)", 0, VIEW_TOTAL_SUM},
    VIEW_SIZE_COL("SWAPPSS", ML_SWAPPSS, "swap divided among its sharers (SwapPss)"),
    VIEW_SIZE_COL("RSS", ML_RSS, "resident (Rss)"),
    {"COMPRESSED", COL_SIZE, OUT_RIGHT, F_COMPRESSED,
     "the RAM its swap costs: SWAPPSS x zram's or zswap's compression ratio; 0 on a disk", 0,
     VIEW_TOTAL_SUM},
    VIEW_SIZE_COL("SWAP", ML_SWAP, "swapped out (Swap)"),
    VIEW_SIZE_COL("SIZE", ML_VSS, "address space (Size)"),
    {"COUNT", COL_COUNT, OUT_RIGHT, F_COUNT, "mappings", 0, VIEW_TOTAL_SUM},
    {"HEAPS", COL_COUNT, OUT_RIGHT, F_HEAPS,
     "distinct heaps: glibc's brk and each arena heap, each named Dalvik space, each "
     "PartitionAlloc pool and V8 cage, ...",
     0, VIEW_TOTAL_SUM},
    {"COMMAND", COL_STR, OUT_KEY | OUT_PATHS, F_COMMAND, "the process's command line", 0,
     VIEW_TOTAL_NONE},
};

static const char *const defaults[] = {"NAME",    "PID", "PSS",   "PRIVDIRTY", "PRIVCLEAN",
                                       "SWAPPSS", "RSS", "HEAPS", "COMMAND"};
static const char *const group_defaults[] = {"NAME",      "PROCS",   "PSS", "PRIVDIRTY",
                                             "PRIVCLEAN", "SWAPPSS", "RSS", "HEAPS"};

static const struct view_cols heaps_cols = VIEW_COLS(infos, defaults);
static const struct view_cols group_cols = VIEW_COLS(infos, group_defaults);

/* A row: a process or a group (with its classes under it), or a class. */
struct heaps_row {
	char *name;    /* malloc'ed: a process's name or a group's; NULL for a class */
	char *command; /* malloc'ed: a process's command line; NULL for a group or class */
	const char *class_name;
	pid_t pid;
	uint64_t procs; /* ML_UNKNOWN for a process or a class */
	struct ml_mem mem;
	uint64_t count, heaps;
	uint64_t compressed;     /* ML_UNKNOWN unless COMPRESSED is shown */
	size_t first_kid, nkids; /* into kids */
};

struct heaps_state {
	int by; /* enum ml_group_key, or -1: a row per process */
	struct ml_grouping g;
	struct heaps_row *rows, *kids;
	size_t nrows, nkids;
	struct ml_swap_cost cost;
	bool have_cost; /* COMPRESSED is shown, and the cost of swap was read */
};

/* The RAM row r's swap costs, when COMPRESSED is shown. */
static void row_compressed(const struct heaps_state *st, struct heaps_row *r)
{
	r->compressed =
	    st->have_cost ? ml_swap_compressed(&st->cost, r->mem.v[ML_MEM_SWAP_PSS]) : ML_UNKNOWN;
}

static uint64_t row_number(const void *row, const struct colinfo *c)
{
	const struct heaps_row *r = row;

	switch (c->id) {
	case F_PID: return r->pid ? (uint64_t)r->pid : ML_UNKNOWN;
	case F_PROCS: return r->procs;
	case F_PRIVDIRTY: return r->mem.v[ML_MEM_PRIVATE_DIRTY];
	case F_PRIVCLEAN: return r->mem.v[ML_MEM_PRIVATE_CLEAN];
	case F_COUNT: return r->count;
	case F_HEAPS: return r->heaps;
	case F_COMPRESSED: return r->compressed;
	case F_NAME: return ML_UNKNOWN;
	default: return ml_mem_metric(&r->mem, (enum ml_metric)(c->id - VIEW_METRIC));
	}
}

static const char *row_text(const void *row, const struct colinfo *c)
{
	const struct heaps_row *r = row;

	if (c->id == F_COMMAND)
		return r->command;
	return c->id == F_NAME ? (r->class_name ? r->class_name : r->name) : NULL;
}

/* A class row has no PID, PROCS nor COMMAND of its own. */
static bool kid_blank(const void *row, const struct colinfo *c)
{
	(void)row;
	return c->id == F_PID || c->id == F_PROCS || c->id == F_COMMAND;
}

/* Adds process p's finished classes into row r (its mappings, heaps and sums). */
static void add_proc(struct heaps_row *r, const struct ml_heaps *h)
{
	for (int c = 0; c < ML_CLASS_COUNT; c++) {
		ml_mem_add(&r->mem, &h->cls[c].mem);
		r->count += h->cls[c].count;
	}
	for (size_t i = 0; i < h->nheaps; i++)
		r->heaps += h->heaps[i].count;
}

/* The classes of one parent row, as class rows (those holding memory) from kids[at]. */
static size_t class_rows(const struct heaps_state *st, const struct ml_heaps *const *hs, size_t n,
                         struct heaps_row *kids)
{
	size_t k = 0;

	for (int c = 0; c < ML_CLASS_COUNT; c++) {
		struct heaps_row r = {.class_name = ml_class_name((enum ml_class)c),
		                      .procs = ML_UNKNOWN};
		for (size_t i = 0; i < n; i++) {
			ml_mem_add(&r.mem, &hs[i]->cls[c].mem);
			r.count += hs[i]->cls[c].count;
			for (size_t j = 0; j < hs[i]->nheaps; j++)
				r.heaps += hs[i]->heaps[j].cls == (enum ml_class)c
				               ? hs[i]->heaps[j].count
				               : 0;
		}
		row_compressed(st, &r);
		if (r.count && (r.mem.v[ML_MEM_RSS] || r.mem.v[ML_MEM_SWAP]))
			kids[k++] = r;
	}
	return k;
}

/* The parent rows: a process each, or a group each with --by. Returns 0 or -ENOMEM. */
static int make_rows(struct view_run *run, struct heaps_state *st)
{
	const struct ml_scan *s = &run->scan;
	size_t nparents = st->by >= 0 ? st->g.ngroups : s->nprocs;
	const struct ml_heaps **hs = calloc(s->nprocs + 1, sizeof(*hs));

	st->rows = calloc(nparents + 1, sizeof(*st->rows));
	st->kids = calloc((nparents + 1) * ML_CLASS_COUNT, sizeof(*st->kids));
	if (!hs || !st->rows || !st->kids) {
		free(hs);
		return -ENOMEM;
	}
	for (size_t gi = 0; gi < nparents; gi++) {
		struct heaps_row *r = &st->rows[st->nrows];
		size_t n = 0;
		*r = (struct heaps_row){.procs = ML_UNKNOWN};
		for (size_t i = 0; i < s->nprocs; i++) {
			if (st->by >= 0 ? st->g.set_of[i] != gi : i != gi)
				continue;
			if (!s->procs[i].heaps)
				continue; /* no address space */
			hs[n++] = s->procs[i].heaps;
			add_proc(r, s->procs[i].heaps);
		}
		if (!n)
			continue;
		if (st->by >= 0) {
			r->name = strdup(st->g.groups[gi].name ? st->g.groups[gi].name : "-");
			r->procs = n;
			r->pid = st->g.groups[gi].pid;
		} else {
			r->name = strdup(s->procs[gi].comm);
			r->command = procs_command(&s->procs[gi]);
			r->pid = s->procs[gi].pid;
		}
		if (!r->name || (st->by < 0 && !r->command)) {
			free(hs);
			return -ENOMEM;
		}
		r->first_kid = st->nkids;
		row_compressed(st, r);
		r->nkids = class_rows(st, hs, n, &st->kids[st->nkids]);
		st->nkids += r->nkids;
		st->nrows++;
	}
	free(hs);
	return 0;
}

void heaps_say(const struct cli *cli, const char *prefix, const struct ml_heaps *h)
{
	FILE *f = out_stream(&cli->out);
	uint64_t n = 0;
	char a[32];

	for (size_t i = 0; i < h->nheaps; i++)
		n += h->heaps[i].count;
	fprintf(f, "%sheaps: %llu", prefix, (unsigned long long)n);
	for (size_t i = 0; i < h->nheaps; i++)
		fprintf(f, "%s %s %llu (%s resident)", i ? "," : ":", h->heaps[i].heap,
		        (unsigned long long)h->heaps[i].count,
		        out_size_text(&cli->out, h->heaps[i].mem.v[ML_MEM_RSS], a, sizeof(a)));
	fputc('\n', f);
	if (!h->shape_stacks)
		return;
	if (h->stacks_doubtful)
		fprintf(f,
		        "%sthread stacks: %llu regions shaped like one for %llu threads: not told "
		        "apart, booked as Other Anon\n",
		        prefix, (unsigned long long)h->shape_stacks,
		        (unsigned long long)h->threads);
	else
		fprintf(f, "%sthread stacks: %llu found by their guard page (%s threads)\n", prefix,
		        (unsigned long long)h->shape_stacks,
		        h->threads == ML_UNKNOWN
		            ? "?"
		            : (snprintf(a, sizeof(a), "%llu", (unsigned long long)h->threads), a));
}

void heaps_json(struct json *j, const struct ml_heaps *h)
{
	json_key(j, "classes");
	json_array_begin(j);
	for (int c = 0; c < ML_CLASS_COUNT; c++) {
		const struct ml_mem *m = &h->cls[c].mem;
		if (!h->cls[c].count)
			continue;
		json_object_begin(j);
		json_key(j, "class");
		json_string(j, ml_class_name((enum ml_class)c));
		json_pair_u64(j, "mappings", h->cls[c].count);
		json_pair_u64(j, "size", m->v[ML_MEM_SIZE]);
		json_pair_u64(j, "rss", m->v[ML_MEM_RSS]);
		json_pair_u64(j, "pss", m->v[ML_MEM_PSS]);
		json_pair_u64(j, "private_dirty", m->v[ML_MEM_PRIVATE_DIRTY]);
		json_pair_u64(j, "private_clean", m->v[ML_MEM_PRIVATE_CLEAN]);
		json_pair_u64(j, "swap", m->v[ML_MEM_SWAP]);
		json_pair_u64(j, "swap_pss", m->v[ML_MEM_SWAP_PSS]);
		json_object_end(j);
	}
	json_array_end(j);
	json_key(j, "heaps");
	json_array_begin(j);
	for (size_t i = 0; i < h->nheaps; i++) {
		json_object_begin(j);
		json_key(j, "heap");
		json_string(j, h->heaps[i].heap);
		json_key(j, "class");
		json_string(j, ml_class_name(h->heaps[i].cls));
		json_pair_u64(j, "count", h->heaps[i].count);
		json_pair_u64(j, "rss", h->heaps[i].mem.v[ML_MEM_RSS]);
		json_pair_u64(j, "pss", h->heaps[i].mem.v[ML_MEM_PSS]);
		json_object_end(j);
	}
	json_array_end(j);
	json_pair_u64(j, "thread_stacks_by_shape", h->shape_stacks);
	json_key(j, "thread_stacks_doubtful");
	json_bool(j, h->stacks_doubtful);
}

static int heaps_begin(struct view_run *run)
{
	struct heaps_state *st = calloc(1, sizeof(*st));

	run->state = st;
	if (!st) {
		cli_warn("out of memory");
		return EXIT_ERROR;
	}
	st->by = -1;
	if (run->cli->group_by && (st->by = cli_group_key(run->cli->group_by)) < 0)
		return EXIT_USAGE;
	if (st->by >= 0)
		run->needs |= ml_grouping_needs((enum ml_group_key)st->by);
	return EXIT_GO_ON;
}

static int heaps_rows(struct view_run *run)
{
	struct heaps_state *st = run->state;
	size_t missing = 0;
	int rc;

	st->have_cost = view_shows(run, F_COMPRESSED) &&
	                ml_swap_cost_read(run_source(run->run, 0, false), &st->cost) == 0;
	if (st->by >= 0 &&
	    (rc = ml_grouping_make(&st->g, &run->scan, (enum ml_group_key)st->by, NULL)) < 0)
		return rc;
	if ((rc = make_rows(run, st)) < 0)
		return rc;
	for (size_t i = 0; i < run->scan.nprocs; i++)
		missing += !run->scan.procs[i].heaps;
	if (missing) /* a capture that lacks their smaps */
		run_warn(run->run, "%zu process%s without smaps: not shown", missing,
		         missing == 1 ? "" : "es");
	run->rows = (struct view_rows){.rows = st->rows,
	                               .n = st->nrows,
	                               .size = sizeof(*st->rows),
	                               .number = row_number,
	                               .text = row_text};
	return 0;
}

static int heaps_children(struct view_run *run, const void *row, struct view_rows *kids)
{
	const struct heaps_row *r = row;
	struct heaps_state *st = run->state;

	*kids = (struct view_rows){.rows = &st->kids[r->first_kid],
	                           .n = r->nkids,
	                           .size = sizeof(*st->kids),
	                           .number = row_number,
	                           .text = row_text,
	                           .blank = kid_blank};
	return 0;
}

static void heaps_end(struct view_run *run)
{
	struct heaps_state *st = run->state;

	if (!st)
		return;
	for (size_t i = 0; st->rows && i <= st->nrows; i++) {
		free(st->rows[i].name);
		free(st->rows[i].command);
	}
	free(st->rows);
	free(st->kids);
	if (st->by >= 0)
		ml_grouping_free(&st->g);
	free(st);
}

/* The table, then with PIDs given (-p or operands) each process's heaps in one line, as
 * maps says them (a view_def's print). Returns 0 or -errno. */
static int heaps_print(struct view_run *run, struct out_table *t)
{
	const struct cli *cli = run->cli;
	int rc = procs_print_document(cli, t, &run->scan, NULL);

	if (rc < 0 || !cli->npids || cli->out.format != OUT_TABLE)
		return rc;
	for (size_t i = 0; i < run->scan.nprocs; i++) {
		const struct ml_heaps *h = run->scan.procs[i].heaps;
		if (!h)
			continue;
		char prefix[32];
		snprintf(prefix, sizeof(prefix), "PID %d: ", (int)run->scan.procs[i].pid);
		fputs(i ? "" : "\n", out_stream(&cli->out));
		heaps_say(cli, prefix, h);
	}
	return 0;
}

/* A row per process, or per group with --by; each with its classes under it. */
#define HEAPS_VIEW(rows_name, columns, tie_column)                                                 \
	{                                                                                          \
		.name = rows_name, .cols = &(columns), .sort = "PSS", .tie = tie_column,           \
		.needs = ML_NEED_CLASSES | ML_NEED_STATUS | ML_NEED_CMDLINE, .begin = heaps_begin, \
		.rows = heaps_rows, .children = heaps_children, .children_key = "classes",         \
		.print = heaps_print, .end = heaps_end,                                            \
	}
static const struct view_def heaps_view = HEAPS_VIEW("processes", heaps_cols, "PID");
static const struct view_def groups_view = HEAPS_VIEW("groups", group_cols, "NAME");

int cmd_heaps(struct run *run)
{
	return view_run(run, run->cli->group_by ? &groups_view : &heaps_view);
}
