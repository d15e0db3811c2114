/* memledger system: rows that add up to physical RAM, then swap, commit, pressure. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "memledger.h"
#include "memledger/gpu.h"
#include "procs.h"
#include "commands.h"
#include "run.h"

#include "view.h"

enum system_field { F_NAME, F_SIZE, F_PERCENT };

static const struct colinfo infos[] = {
    {"NAME", COL_STR, OUT_TREE | OUT_KEY, F_NAME,
     "where the memory is: a meminfo counter, or a part of one under it", 0, VIEW_TOTAL_NONE},
    {"SIZE", COL_SIZE, OUT_RIGHT, F_SIZE, "bytes; a lower bound after ≥, an upper after ≤", 0,
     VIEW_TOTAL_NONE},
    {"PERCENT", COL_PERCENT, OUT_RIGHT, F_PERCENT, "of physical memory (else of MemTotal)", 0,
     VIEW_TOTAL_NONE},
};

static const char *const defaults[] = {"NAME", "SIZE", "PERCENT"};

static const struct view_cols system_cols = VIEW_COLS(infos, defaults);

/* A row: one of the system's rows, and its share of the whole. */
struct row {
	const struct ml_system_row *r;
	uint64_t permille;
};

/* part of whole in tenths of a percent, rounded; unknown when either is. */
static uint64_t permille(uint64_t part, uint64_t whole)
{
	if (part == ML_UNKNOWN || whole == ML_UNKNOWN || whole == 0)
		return ML_UNKNOWN;
	return (uint64_t)(1000.0 * (double)part / (double)whole + 0.5);
}

static uint64_t row_number(const void *row, const struct colinfo *c)
{
	const struct row *r = row;

	return c->id == F_SIZE ? r->r->bytes : c->id == F_PERCENT ? r->permille : ML_UNKNOWN;
}

static const char *row_text(const void *row, const struct colinfo *c)
{
	return c->id == F_NAME ? ((const struct row *)row)->r->name : NULL;
}

static bool row_bound(const void *row, const struct colinfo *c)
{
	return c->id == F_SIZE && ((const struct row *)row)->r->bound == ML_AT_LEAST;
}

static bool row_upper(const void *row, const struct colinfo *c)
{
	return c->id == F_SIZE && ((const struct row *)row)->r->bound == ML_AT_MOST;
}

/* The whole the rows are parts of: physical memory, else MemTotal. */
static uint64_t whole_of(const struct ml_system *sys)
{
	return sys->physical != ML_UNKNOWN ? sys->physical : sys->mi[ML_MI_MEMTOTAL];
}

/* The totals row: physical memory, 100% (a view_def's totals; ctx: the state's system). */
static void system_totals(const struct view_sel *sel, const void *ctx, struct out_cell *cells)
{
	const struct ml_system *sys = ctx;

	for (int i = 0; i < sel->ncols; i++)
		cells[i] = sel->cols[i]->id == F_SIZE      ? (struct out_cell){.num = whole_of(sys)}
		           : sel->cols[i]->id == F_PERCENT ? (struct out_cell){.num = 1000}
		                                           : (struct out_cell){.blank = true};
}

/* A PSI average (0 to 100) as "12.34", or "-" when unknown (negative). */
static void percent_text(double v, char buf[16])
{
	if (v < 0)
		snprintf(buf, 16, "-");
	else
		snprintf(buf, 16, "%.2f", v);
}

/* What system reads and shows (a view_def's state; the system first, for its totals):
 * the rows, and Σ PSS of every readable process against what meminfo says processes map. */
struct system_state {
	struct ml_system sys;
	struct row rows[ML_SYSTEM_MAX_ROWS];
	bool gpu;                      /* the machine has GPU memory: the processes' fds are read */
	uint64_t pss, mapped;          /* Σ PSS; AnonPages + Mapped */
	uint64_t swap_pss, compressed; /* Σ SwapPss, and the RAM it costs (COMPRESSED) */
};

static void print_facts_text(const struct cli *cli, const struct system_state *st,
                             const struct ml_scan *s)
{
	const struct ml_system *sys = &st->sys;
	const uint64_t *mi = sys->mi;
	char a[32], b[32], c[32];

	fprintf(out_stream(&cli->out), "\nphysical memory: %s (MemTotal %s)\n",
	        out_size_text(&cli->out, sys->physical, a, sizeof(a)),
	        out_size_text(&cli->out, mi[ML_MI_MEMTOTAL], b, sizeof(b)));
	if (sys->overcounted && sys->overcounted != ML_UNKNOWN)
		fprintf(out_stream(&cli->out),
		        "the kernel's counters overlap by %s, so nothing is left unexplained\n",
		        out_size_text(&cli->out, sys->overcounted, a, sizeof(a)));
	fprintf(out_stream(&cli->out), "available: %s\n",
	        out_size_text(&cli->out, mi[ML_MI_MEMAVAILABLE], a, sizeof(a)));
	fprintf(out_stream(&cli->out), "swap: %s used of %s%s\n",
	        out_size_text(&cli->out, sys->swap_used, a, sizeof(a)),
	        out_size_text(&cli->out, mi[ML_MI_SWAPTOTAL], b, sizeof(b)),
	        sys->nswaps ? "" : " (no swap device)");
	for (size_t i = 0; i < sys->nswaps; i++)
		fprintf(out_stream(&cli->out), "  %s (%s, priority %ld): %s used of %s\n",
		        sys->swaps[i].name, sys->swaps[i].type, sys->swaps[i].priority,
		        out_size_text(&cli->out, sys->swaps[i].used, a, sizeof(a)),
		        out_size_text(&cli->out, sys->swaps[i].size, b, sizeof(b)));
	fprintf(out_stream(&cli->out),
	        "commit: Committed_AS %s of CommitLimit %s; overcommit: %s\n",
	        out_size_text(&cli->out, mi[ML_MI_COMMITTED_AS], a, sizeof(a)),
	        out_size_text(&cli->out, mi[ML_MI_COMMITLIMIT], b, sizeof(b)),
	        ml_overcommit_name(sys->overcommit));
	if (sys->pressure_some[0] >= 0) {
		char p[6][16];
		for (int i = 0; i < 3; i++) {
			percent_text(sys->pressure_some[i], p[i]);
			percent_text(sys->pressure_full[i], p[3 + i]);
		}
		fprintf(out_stream(&cli->out),
		        "pressure: some %s %s %s, full %s %s %s (%% of 10 s, 60 s, 300 s)\n", p[0],
		        p[1], p[2], p[3], p[4], p[5]);
	}
	fprintf(out_stream(&cli->out),
	        "userspace: Σ PSS of %zu processes %s; AnonPages + Mapped %s\n", s->nprocs,
	        out_size_text(&cli->out, st->pss, a, sizeof(a)),
	        out_size_text(&cli->out, st->mapped, b, sizeof(b)));
	if (sys->heap_pools != ML_UNKNOWN || sys->ion_heaps != ML_UNKNOWN)
		fprintf(out_stream(&cli->out),
		        "dma-buf and ION heaps: pools %s (in other reclaimable); ION buffers %s\n",
		        out_size_text(&cli->out, sys->heap_pools, a, sizeof(a)),
		        out_size_text(&cli->out, sys->ion_heaps, b, sizeof(b)));
	if (sys->nswaps)
		fprintf(
		    out_stream(&cli->out),
		    "swapped: Σ SwapPss %s; Σ COMPRESSED %s (zswap and zram hold %s)\n",
		    out_size_text(&cli->out, st->swap_pss, a, sizeof(a)),
		    out_size_text(&cli->out, st->compressed, b, sizeof(b)),
		    out_size_text(&cli->out, ml_add_u64(mi[ML_MI_ZSWAP], sys->zram), c, sizeof(c)));
	fprintf(
	    out_stream(&cli->out), "mapped files and shmem: Σ Pss_File + Pss_Shmem %s; Mapped %s\n",
	    out_size_text(&cli->out, ml_add_u64(sys->mapped.file, sys->mapped.shmem), a, sizeof(a)),
	    out_size_text(&cli->out, mi[ML_MI_MAPPED], b, sizeof(b)));
	if (s->unreadable)
		fprintf(
		    out_stream(&cli->out),
		    "  (%zu process%s not read: what processes map and swap is a lower bound)\n",
		    s->unreadable, s->unreadable == 1 ? "" : "es");
	if (s->hidden[0])
		fprintf(out_stream(&cli->out), "  (%s: what processes map is a lower bound)\n",
		        s->hidden);
}

/* PSI averages as JSON numbers (percent of time), null when unknown. */
static void json_pressure(struct json *j, const char *key, const double avg[3])
{
	static const char *const names[] = {"avg10", "avg60", "avg300"};
	char num[32];

	json_key(j, key);
	json_object_begin(j);
	for (int i = 0; i < 3; i++) {
		json_key(j, names[i]);
		if (avg[i] < 0) {
			json_null(j);
		} else {
			snprintf(num, sizeof(num), "%.2f", avg[i]);
			json_number_text(j, num);
		}
	}
	json_object_end(j);
}

static void print_facts_json(const struct system_state *st, const struct ml_scan *s, struct json *j)
{
	const struct ml_system *sys = &st->sys;
	json_pair_u64(j, "physical", sys->physical);
	json_pair_u64(j, "unexplained", sys->unexplained);
	json_pair_u64(j, "overcounted", sys->overcounted);
	json_pair_u64(j, "heap_pools", sys->heap_pools);
	json_pair_u64(j, "ion_heaps", sys->ion_heaps);
	json_key(j, "meminfo");
	json_object_begin(j);
	for (int i = 0; i < ML_MI_COUNT; i++)
		json_pair_u64(j, ml_meminfo_name((enum ml_meminfo_field)i), sys->mi[i]);
	json_object_end(j);
	json_key(j, "swaps");
	json_array_begin(j);
	for (size_t i = 0; i < sys->nswaps; i++) {
		json_object_begin(j);
		json_key(j, "name");
		json_string(j, sys->swaps[i].name);
		json_key(j, "type");
		json_string(j, sys->swaps[i].type);
		json_pair_u64(j, "size", sys->swaps[i].size);
		json_pair_u64(j, "used", sys->swaps[i].used);
		json_object_end(j);
	}
	json_array_end(j);
	json_pair_u64(j, "swap_used", sys->swap_used);
	json_key(j, "overcommit");
	json_string(j, ml_overcommit_name(sys->overcommit));
	json_pressure(j, "pressure_some", sys->pressure_some);
	json_pressure(j, "pressure_full", sys->pressure_full);
	json_pair_u64(j, "pss_total", st->pss);
	json_pair_u64(j, "swap_pss_total", st->swap_pss);
	json_pair_u64(j, "compressed_total", st->compressed);
	json_pair_u64(j, "anon_and_mapped", st->mapped);
	json_pair_u64(j, "pss_file_total", sys->mapped.file);
	json_pair_u64(j, "pss_shmem_total", sys->mapped.shmem);
	json_key(j, "mapped_exact");
	if (sys->mapped.file == ML_UNKNOWN)
		json_null(j); /* no process read: nothing to be exact about */
	else
		json_bool(j, !sys->mapped.partial);
	json_pair_u64(j, "processes", s->nprocs);
	procs_json_unreadable(j, s);
	json_key(j, "hidden");
	if (s->hidden[0])
		json_string(j, s->hidden);
	else
		json_null(j);
}

/* Books the GPU buffers in RAM that no meminfo row counts. Returns 0 or -ENOMEM. */
static int book_gpu(struct ml_source *src, const struct ml_scan *s, struct ml_system *sys)
{
	struct ml_gpu_totals t;
	int rc = ml_gpu_totals(src, s, &t);

	if (rc == 0) /* processes not read hold buffers unseen: lower bounds, as mapped is */
		ml_system_book_gpu(sys, t.sys_own, t.dmabuf_own, t.partial);
	return rc;
}

/* Reads the system's counters before the scan, and whether its processes' GPU fds are
 * worth reading (a view_def's begin). Returns EXIT_GO_ON or an exit status after a
 * message. */
static int system_begin(struct view_run *run)
{
	struct system_state *st = calloc(1, sizeof(*st));
	struct ml_source *src;
	int rc;

	run->state = st;
	if (!st) {
		cli_warn("out of memory");
		return EXIT_ERROR;
	}
	run_want(run->run, ML_NEED_ROLLUP | ML_NEED_GPU, true); /* the scan's: one open */
	src = run_source(run->run, 0, false);
	if (!src)
		return EXIT_ERROR;
	rc = ml_system_read(src, &st->sys);
	if (rc < 0) {
		cli_warn("%s/meminfo: %s", ml_source_path(src), ml_source_strerror(rc));
		return EXIT_ERROR;
	}
	st->gpu = ml_gpu_present(src); /* else no fd of any process is worth reading */
	run->needs |= ML_NEED_ROLLUP | (st->gpu ? ML_NEED_GPU : 0);
	return EXIT_GO_ON;
}

/* Σ SwapPss of the processes, and the RAM it costs in zram and zswap (COMPRESSED), from
 * the cost of swap the system's files gave. */
static void book_swap(const struct ml_scan *s, struct system_state *st)
{
	st->swap_pss = ml_metric_total(s->procs, s->nprocs, ML_SWAPPSS);
	st->compressed = 0;
	for (size_t i = 0; i < s->nprocs; i++)
		st->compressed = ml_add_u64(
		    st->compressed, ml_swap_compressed(&st->sys.swap_cost,
		                                       ml_proc_metric(&s->procs[i], ML_SWAPPSS)));
}

/* Books what the processes map (Σ PSS against AnonPages + Mapped, and GPU buffers), then
 * makes the rows, children under their parents (a view_def's rows). Returns 0 or -errno. */
static int system_rows(struct view_run *run)
{
	struct system_state *st = run->state;
	const struct ml_scan *s = &run->scan;
	struct ml_system *sys = &st->sys;
	unsigned depth[ML_SYSTEM_MAX_ROWS];
	struct ml_mapped m;

	st->pss = ml_metric_total(s->procs, s->nprocs, ML_PSS);
	book_swap(s, st);
	st->mapped = ml_add_u64(sys->mi[ML_MI_ANONPAGES], sys->mi[ML_MI_MAPPED]);
	m.file = s->nprocs ? ml_metric_total(s->procs, s->nprocs, ML_FILE) : ML_UNKNOWN;
	m.shmem = s->nprocs ? ml_metric_total(s->procs, s->nprocs, ML_SHMEM) : ML_UNKNOWN;
	m.partial = s->unreadable > 0 || s->hidden[0];
	ml_system_book_mapped(sys, &m);
	if (st->gpu && book_gpu(run->run->src, s, sys) < 0)
		return -ENOMEM;
	run->parent = malloc((sys->nrows + 1) * sizeof(*run->parent));
	if (!run->parent)
		return -ENOMEM;
	for (size_t i = 0; i < sys->nrows; i++) {
		st->rows[i] =
		    (struct row){&sys->rows[i], permille(sys->rows[i].bytes, whole_of(sys))};
		depth[i] = (unsigned)sys->rows[i].depth;
	}
	view_parents_of_depths(depth, sys->nrows, run->parent);
	run->rows = (struct view_rows){.rows = st->rows,
	                               .n = sys->nrows,
	                               .size = sizeof(*st->rows),
	                               .number = row_number,
	                               .text = row_text,
	                               .bound = row_bound,
	                               .upper = row_upper};
	return 0;
}

/* Prints the rows, then the facts: sentences in a table, members in JSON; raw and CSV
 * carry the rows alone (a view_def's print). Frees t. Returns 0 or -errno. */
static int system_print(struct view_run *run, struct out_table *t)
{
	const struct cli *cli = run->cli;
	const struct system_state *st = run->state;
	struct json j;
	int rc;

	for (size_t i = 0; i < st->sys.ninconsistent; i++)
		cli_warn("%s", st->sys.inconsistent[i]);
	json_init(&j, out_stream(&cli->out), cli->out.time);
	if (cli->out.format == OUT_JSON)
		json_object_begin(&j);
	rc = out_table_print_free(t, &j);
	if (cli->out.format == OUT_JSON) {
		print_facts_json(st, &run->scan, &j);
		json_object_end(&j);
		json_finish(&j);
	} else if (cli->out.format == OUT_TABLE) {
		print_facts_text(cli, st, &run->scan);
	}
	return rc;
}

static void system_end(struct view_run *run)
{
	free(run->state);
}

static const struct view_def system_view = {
    .name = "system",
    .cols = &system_cols,
    .children_key = "children",
    .begin = system_begin,
    .rows = system_rows,
    .totals = system_totals,
    .print = system_print,
    .end = system_end,
};

int cmd_system(struct run *run)
{
	return view_run(run, &system_view);
}
