/* memledger maps PID...: the mappings of each process, and a summary of its address space. */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "commands.h"
#include "run.h"
#include "memledger.h"
#include "procs.h"
#include "view.h"

enum maps_field {
	F_PID,
	F_START,
	F_END,
	F_PERMS,
	F_OFFSET,
	F_DEV,
	F_INODE,
	F_KIND,
	F_NAME,
	F_FLAGS,
	F_COUNT,
	F_COMMIT,
	F_CATEGORY,
	F_HEAP,
	F_RULE,
};

static const struct colinfo infos[] = {
    {"PID", COL_COUNT, OUT_RIGHT, F_PID, "process ID", 0, VIEW_TOTAL_NONE},
    {"START", COL_HEX, OUT_RIGHT, F_START, "start address (hex)", 0, VIEW_TOTAL_NONE},
    {"END", COL_HEX, OUT_RIGHT, F_END, "end address, exclusive (hex)", 0, VIEW_TOTAL_NONE},
    {"PERMS", COL_STR, 0, F_PERMS, "permissions: read, write, execute, private or shared", 0,
     VIEW_TOTAL_NONE},
    {"OFFSET", COL_HEX, OUT_RIGHT, F_OFFSET, "offset in the file (hex)", 0, VIEW_TOTAL_NONE},
    {"DEV", COL_STR, OUT_SPARE, F_DEV, "device of the file, major:minor (hex)", 0, VIEW_TOTAL_NONE},
    {"INODE", COL_COUNT, OUT_RIGHT | OUT_SPARE, F_INODE,
     "inode of the file (a SysV segment's: its shmid)", 0, VIEW_TOTAL_NONE},
    {"KIND", COL_STR, 0, F_KIND,
     "code, rodata, data, heap, stack, anon, shmem:*, file-shared, guard, special, hugetlb, "
     "device",
     0, VIEW_TOTAL_NONE},
    {"CATEGORY", COL_STR, 0, F_CATEGORY,
     "what kind of memory: Native Heap, Managed Heap, Stack, Code, Graphics, Shared Memory, "
     "Mapped Files, Other Anon, Reserved (RULE says what told)",
     0, VIEW_TOTAL_NONE},
    {"HEAP", COL_STR, 0, F_HEAP,
     "the allocator or runtime behind it: brk, glibc-arena, scudo, dalvik, v8, .so, jit, ...", 0,
     VIEW_TOTAL_NONE},
    {"RULE", COL_STR, 0, F_RULE,
     "what told its CATEGORY: a name (name, android, glibc, go, chromium) or a shape "
     "(shape:arena, shape:guard, shape:jit, shape:bss, shape:elf, shape:partition_alloc, "
     "shape:v8, shape:reserved), or its kind",
     0, VIEW_TOTAL_NONE},
    VIEW_SIZE_COL("SIZE", ML_VSS, "address space the mapping reserves (Size)"),
    VIEW_SIZE_COL("RSS", ML_RSS, "resident (Rss)"),
    VIEW_SIZE_COL("PSS", ML_PSS,
                  "proportional: each shared page divided among its mappers (Pss, kB-truncated)"),
    VIEW_SIZE_COL("USS", ML_USS,
                  "resident pages no other process maps (Private_Clean+Private_Dirty)"),
    VIEW_SIZE_COL("SHARED", ML_SHARED,
                  "resident pages other processes map too (Shared_Clean+Shared_Dirty)"),
    VIEW_SIZE_COL("SWAP", ML_SWAP, "swapped out (Swap)"),
    VIEW_SIZE_COL("SWAPPSS", ML_SWAPPSS, "swap divided among its sharers (SwapPss)"),
    VIEW_SIZE_COL("DIRTY", ML_DIRTY, "written since read (Shared_Dirty+Private_Dirty)"),
    VIEW_SIZE_COL("LAZYFREE", ML_LAZYFREE, "freed with MADV_FREE, droppable (LazyFree)"),
    VIEW_SIZE_COL("LOCKED", ML_LOCKED, "locked in RAM (Locked)"),
    VIEW_SIZE_COL("THP", ML_THP,
                  "in transparent huge pages (AnonHugePages+ShmemPmdMapped+FilePmdMapped)"),
    VIEW_SIZE_COL("HUGETLB", ML_HUGETLB, "hugetlbfs pages (Shared_Hugetlb+Private_Hugetlb)"),
    {"COMMIT", COL_SIZE, OUT_RIGHT, F_COMMIT, "charged to the commit limit: SIZE when flagged 'ac'",
     0, VIEW_TOTAL_SUM},
    {"FLAGS", COL_STR, 0, F_FLAGS, "VmFlags, as smaps writes them", 0, VIEW_TOTAL_NONE},
    {"COUNT", COL_COUNT, OUT_RIGHT, F_COUNT, "mappings in the row (with --merge)", 0,
     VIEW_TOTAL_SUM},
    {"NAME", COL_STR, OUT_KEY, F_NAME,
     "file or tag ([heap], [anon:NAME]), whole, ' (deleted)' included", 0, VIEW_TOTAL_NONE},
};

static const char *const defaults[] = {"START", "PERMS", "KIND", "SIZE", "RSS",
                                       "PSS",   "USS",   "SWAP", "NAME"};
static const char *const merged_defaults[] = {"KIND", "COUNT", "SIZE", "RSS",
                                              "PSS",  "USS",   "SWAP", "NAME"};
static const char *const category_defaults[] = {"CATEGORY", "HEAP", "COUNT", "SIZE",   "RSS",
                                                "PSS",      "USS",  "SWAP",  "SWAPPSS"};

static const struct view_cols maps_cols = VIEW_COLS(infos, defaults);
static const struct view_cols merged_cols = VIEW_COLS(infos, merged_defaults);
static const struct view_cols category_cols = VIEW_COLS(infos, category_defaults);

/* A row: one mapping, or with --merge all the mappings of one name and kind. */
struct map_row {
	pid_t pid;
	const struct ml_map *map; /* the first mapping of the row */
	const struct ml_mem *mem; /* the mapping's, or with --merge the sum of the row's */
	uint64_t commit, count;
	bool reserved;    /* --merge: the row of address space reserved (ml_reserved) */
	bool by_category; /* --by category: the row of a category (class and heap) */
	char dev[24];     /* formatted only when DEV is shown */
};

static uint64_t row_number(const void *row, const struct colinfo *c)
{
	const struct map_row *r = row;
	bool merged = r->count > 1;

	switch (c->id) {
	case F_PID: return (uint64_t)r->pid;
	case F_START: return merged ? ML_UNKNOWN : r->map->start;
	case F_END: return merged ? ML_UNKNOWN : r->map->end;
	case F_OFFSET: return merged ? ML_UNKNOWN : r->map->offset;
	case F_INODE: return r->map->inode;
	case F_COUNT: return r->count;
	case F_COMMIT: return r->commit;
	case F_PERMS:
	case F_DEV:
	case F_KIND:
	case F_NAME:
	case F_FLAGS:
	case F_CATEGORY:
	case F_HEAP:
	case F_RULE: return ML_UNKNOWN;
	default: return ml_mem_metric(r->mem, (enum ml_metric)(c->id - VIEW_METRIC));
	}
}

static const char *row_text(const void *row, const struct colinfo *c)
{
	const struct map_row *r = row;
	bool merged = r->count > 1;

	switch (c->id) {
	case F_PERMS: return merged ? NULL : r->map->perms;
	case F_DEV: return r->dev;
	case F_KIND:
		return r->by_category ? NULL
		                      : ml_kind_name(r->reserved ? ML_KIND_GUARD : r->map->kind);
	case F_NAME: return r->by_category ? NULL : r->reserved ? "[reserved]" : r->map->name;
	case F_CATEGORY: return ml_class_name(r->map->cat.cls);
	case F_HEAP: return r->map->cat.heap;
	case F_RULE: return r->by_category ? NULL : r->map->cat.rule;
	case F_FLAGS: return merged || !r->map->vmflags[0] ? NULL : r->map->vmflags;
	default: return NULL;
	}
}

static bool keep_map(const struct cli *cli, const struct ml_map *m)
{
	uint64_t uss = ml_mem_metric(&m->mem, ML_USS);

	if (cli->private_only && (uss == 0 || uss == ML_UNKNOWN))
		return false;
	return !cli->have_map_regex || regexec(&cli->map_regex, m->name, 0, NULL, 0) == 0;
}

/* The rows of --merge by name and kind: open addressing, index + 1 (0: empty). */
struct merge_index {
	size_t *slots;
	size_t mask; /* slots - 1, a power of two at least twice the mappings */
};

/* True for a mapping --merge books as "[reserved]". */
static bool reserved(const struct ml_map *m)
{
	return ml_reserved(m->kind, m->name, &m->mem);
}

static uint64_t merge_hash(const struct ml_map *m, bool by_category)
{
	uint64_t h = 1469598103934665603ull ^ (uint64_t)(reserved(m) ? ML_KIND_GUARD : m->kind);
	const char *p = m->name;

	if (by_category) {
		h = 1469598103934665603ull ^ (uint64_t)m->cat.cls;
		p = m->cat.heap;
	}
	for (; *p; p++) /* FNV-1a */
		h = (h ^ (unsigned char)*p) * 1099511628211ull;
	return h;
}

/* True when m belongs in row r of --merge: the same name and kind, or with --by category
 * the same class and heap. */
static bool same_row(const struct map_row *r, const struct ml_map *m)
{
	if (r->by_category)
		return r->map->cat.cls == m->cat.cls && strcmp(r->map->cat.heap, m->cat.heap) == 0;
	return r->reserved
	           ? reserved(m)
	           : !reserved(m) && r->map->kind == m->kind && strcmp(r->map->name, m->name) == 0;
}

/*
 * The row of m among rows to merge it into (same name and kind), or NULL after noting
 * that row n will be m's. Each mapping costs one probe or a few, not a pass over the rows.
 */
static struct map_row *merge_target(struct merge_index *ix, struct map_row *rows, size_t n,
                                    const struct ml_map *m, bool by_category)
{
	size_t slot = merge_hash(m, by_category) & ix->mask;

	for (; ix->slots[slot]; slot = (slot + 1) & ix->mask) {
		struct map_row *r = &rows[ix->slots[slot] - 1];
		if (same_row(r, m))
			return r;
	}
	ix->slots[slot] = n + 1;
	return NULL;
}

/* The row of mapping m alone. DEV is formatted only with with_dev. */
static void make_row(struct map_row *r, pid_t pid, const struct ml_map *m, bool with_dev)
{
	*r = (struct map_row){
	    .pid = pid, .map = m, .mem = &m->mem, .commit = ml_map_commit(m), .count = 1};
	if (with_dev)
		snprintf(r->dev, sizeof(r->dev), "%02x:%02x", m->dev_major, m->dev_minor);
}

/*
 * The rows of one process: its mappings as filtered, merged with --merge (their sums in
 * *sums, which the caller frees). DEV is formatted only with with_dev.
 */
static struct map_row *build_rows(const struct cli *cli, const struct ml_maps *maps, bool with_dev,
                                  size_t *n, struct ml_mem **sums)
{
	bool by_category = cli->group_by != NULL; /* maps_begin let "category" alone by */
	size_t cap = maps->n ? maps->n : 1, nslots = 2;
	struct map_row *rows = calloc(cap, sizeof(*rows)), *r;
	struct merge_index ix = {NULL, 0};

	*n = 0;
	while (cli->merge && nslots < 2 * cap)
		nslots *= 2;
	*sums = cli->merge ? calloc(cap, sizeof(**sums)) : NULL;
	ix.slots = cli->merge ? calloc(nslots, sizeof(*ix.slots)) : NULL;
	ix.mask = nslots - 1;
	if (cli->merge && (!*sums || !ix.slots)) {
		free(rows);
		free(*sums);
		free(ix.slots);
		return NULL;
	}
	for (size_t i = 0; rows && i < maps->n; i++) {
		const struct ml_map *m = &maps->v[i];
		if (!keep_map(cli, m))
			continue;
		r = cli->merge ? merge_target(&ix, rows, *n, m, by_category) : NULL;
		if (r) {
			ml_mem_add(&(*sums)[r - rows], &m->mem);
			r->commit = ml_add_u64(r->commit, ml_map_commit(m));
			r->count++;
			continue;
		}
		r = &rows[*n];
		make_row(r, maps->pid, m, with_dev);
		r->reserved = cli->merge && !by_category && reserved(m);
		r->by_category = by_category;
		if (cli->merge) {
			(*sums)[*n] = m->mem;
			r->mem = &(*sums)[*n];
		}
		(*n)++;
	}
	free(ix.slots);
	return rows;
}

/*
 * Rows made as the mappings are read: the table is laid out while the kernel writes the
 * rest of smaps. Only when rows are shown in address order, one per mapping.
 */
struct stream {
	const struct cli *cli;
	const struct view_sel *sel;
	bool with_dev;
	pid_t pid;
	struct out_table *t;
	struct out_cell sums[VIEW_MAX_COLS]; /* of the shown rows, for -t */
	struct ml_maps_summary *summary;     /* of every mapping, shown or not */
};

static const struct view_rows stream_rows = {
    .n = 0, .size = sizeof(struct map_row), .number = row_number, .text = row_text};

/* Adds mapping m to the table, unless filtered out (an ml_map_fn). */
static int stream_map(const struct ml_map *m, void *ctx)
{
	struct stream *s = ctx;
	struct map_row r;

	ml_maps_summary_add(s->summary, m);
	if (!keep_map(s->cli, m))
		return 0;
	make_row(&r, s->pid, m, s->with_dev);
	for (int c = 0; c < s->sel->ncols && s->cli->totals; c++)
		view_total_add(&s->sums[c], &stream_rows, &r, s->sel->cols[c]);
	return view_add_row(s->t, &stream_rows, &r, s->sel);
}

/* The summary's table of kinds: KIND COUNT SIZE RSS PSS USS SWAP. */
static int print_kinds(const struct cli *cli, const struct ml_maps_summary *s, struct json *j)
{
	static const struct out_col cols[] = {
	    {"KIND", COL_STR, 0},          {"COUNT", COL_COUNT, OUT_RIGHT},
	    {"SIZE", COL_SIZE, OUT_RIGHT}, {"RSS", COL_SIZE, OUT_RIGHT},
	    {"PSS", COL_SIZE, OUT_RIGHT},  {"USS", COL_SIZE, OUT_RIGHT},
	    {"SWAP", COL_SIZE, OUT_RIGHT},
	};
	static const enum ml_metric metrics[] = {ML_VSS, ML_RSS, ML_PSS, ML_USS, ML_SWAP};
	struct out_table *t = out_table_new("kinds", cols, 7, &cli->out);
	int rc = t ? 0 : -ENOMEM;

	for (int k = 0; rc == 0 && k < ML_KIND_COUNT; k++) {
		struct out_cell cells[7] = {{.str = ml_kind_name((enum ml_kind)k)},
		                            {.num = s->kinds[k].count}};
		if (!s->kinds[k].count)
			continue;
		for (int i = 0; i < 5; i++)
			cells[2 + i].num = ml_mem_metric(&s->kinds[k].mem, metrics[i]);
		rc = out_table_add_row(t, cells);
	}
	return t ? (rc ? rc : out_table_print_free(t, j)) : rc;
}

/* The summary's table of backing x sharing x state: BACKING PRIVATE SHARED SWAPPED. */
static int print_backing(const struct cli *cli, const struct ml_maps_summary *s, struct json *j)
{
	static const struct out_col cols[] = {
	    {"BACKING", COL_STR, 0},
	    {"PRIVATE", COL_SIZE, OUT_RIGHT},
	    {"SHARED", COL_SIZE, OUT_RIGHT},
	    {"SWAPPED", COL_SIZE, OUT_RIGHT},
	};
	struct out_table *t = out_table_new("backing", cols, 4, &cli->out);
	int rc = t ? 0 : -ENOMEM;

	for (int b = 0; rc == 0 && b < ML_BACKING_COUNT; b++) {
		struct out_cell cells[4] = {{.str = ml_backing_name((enum ml_backing)b)},
		                            {.num = s->backing[b].private_resident},
		                            {.num = s->backing[b].shared_resident},
		                            {.num = s->backing[b].swapped}};
		rc = out_table_add_row(t, cells);
	}
	return t ? (rc ? rc : out_table_print_free(t, j)) : rc;
}

static const char *count_text(uint64_t v, char *buf, size_t len)
{
	if (v == ML_UNKNOWN)
		return "-";
	snprintf(buf, len, "%" PRIu64, v);
	return buf;
}

/* The summary's single figures, as lines of text. */
static void print_facts_text(const struct cli *cli, const struct ml_maps_summary *s)
{
	char a[32], b[32], c[32];

	fprintf(out_stream(&cli->out), "mappings: %s of vm.max_map_count %s\n",
	        count_text(s->vmas, a, sizeof(a)), count_text(s->max_map_count, b, sizeof(b)));
	if (s->largest_gap == ML_UNKNOWN)
		fprintf(out_stream(&cli->out),
		        "largest free gap: - (smaps is not in address order)\n");
	else
		fprintf(out_stream(&cli->out),
		        "largest free gap: %s at %08" PRIx64 " (%" PRIu64
		        "-bit user address space)\n",
		        out_size_text(&cli->out, s->largest_gap, a, sizeof(a)),
		        s->largest_gap_start, s->address_bits);
	fprintf(out_stream(&cli->out), "guard regions: %" PRIu64 ", %s\n", s->guard_count,
	        out_size_text(&cli->out, s->guard_size, a, sizeof(a)));
	fprintf(out_stream(&cli->out), "discardable (LazyFree): %s; locked: %s\n",
	        out_size_text(&cli->out, s->lazyfree, a, sizeof(a)),
	        out_size_text(&cli->out, s->locked, b, sizeof(b)));
	fprintf(out_stream(&cli->out),
	        "commit charge: %s (system: Committed_AS %s of CommitLimit %s)\n",
	        out_size_text(&cli->out, s->commit, a, sizeof(a)),
	        out_size_text(&cli->out, s->committed_as, b, sizeof(b)),
	        out_size_text(&cli->out, s->commit_limit, c, sizeof(c)));
}

static void print_facts_json(const struct ml_maps_summary *s, struct json *j)
{
	char hex[24];

	json_pair_u64(j, "lazyfree", s->lazyfree);
	json_pair_u64(j, "locked", s->locked);
	json_pair_u64(j, "vmas", s->vmas);
	json_pair_u64(j, "max_map_count", s->max_map_count);
	json_pair_u64(j, "address_bits", s->address_bits);
	json_pair_u64(j, "largest_gap", s->largest_gap);
	snprintf(hex, sizeof(hex), "%08" PRIx64, s->largest_gap_start);
	json_key(j, "largest_gap_start");
	if (s->largest_gap_start == ML_UNKNOWN)
		json_null(j);
	else
		json_string(j, hex);
	json_pair_u64(j, "guard_count", s->guard_count);
	json_pair_u64(j, "guard_size", s->guard_size);
	json_pair_u64(j, "commit", s->commit);
	json_pair_u64(j, "committed_as", s->committed_as);
	json_pair_u64(j, "commit_limit", s->commit_limit);
}

/* The summary: kinds, backing, the single figures and the heaps. */
static int print_summary(const struct cli *cli, const struct ml_maps_summary *s, struct json *j)
{
	bool json = cli->out.format == OUT_JSON;
	int rc;

	if (json) {
		json_key(j, "summary");
		json_object_begin(j);
	} else {
		fputc('\n', out_stream(&cli->out));
	}
	rc = print_kinds(cli, s, j);
	if (!json)
		fputc('\n', out_stream(&cli->out));
	rc = rc ? rc : print_backing(cli, s, j);
	if (json) {
		print_facts_json(s, j);
		heaps_json(j, &s->heaps);
		json_object_end(j);
	} else {
		fputc('\n', out_stream(&cli->out));
		print_facts_text(cli, s);
		heaps_say(cli, "", &s->heaps);
	}
	return rc;
}

/* Orders --by category's rows by class (as heaps lists them), then by heap. */
static int compare_categories(const void *a, const void *b)
{
	const struct ml_category *x = &((const struct map_row *)a)->map->cat,
	                         *y = &((const struct map_row *)b)->map->cat;

	return x->cls != y->cls ? (x->cls > y->cls) - (x->cls < y->cls) : strcmp(x->heap, y->heap);
}

/* The mappings table of one process, from its rows sorted as asked. NULL when out of
 * memory. */
static struct out_table *mappings_table(const struct cli *cli, const struct ml_maps *maps,
                                        const struct view_sel *sel, bool with_dev)
{
	struct ml_mem *sums = NULL;
	struct view_rows r;
	struct map_row *rows;
	struct out_table *t;
	size_t n;

	rows = build_rows(cli, maps, with_dev, &n, &sums);
	if (!rows)
		return NULL;
	if (cli->group_by)
		qsort(rows, n, sizeof(*rows), compare_categories); /* then -s's order, stable */
	r = (struct view_rows){
	    .rows = rows, .n = n, .size = sizeof(*rows), .number = row_number, .text = row_text};
	view_sort(&r, sel->key, &infos[1], cli->reverse); /* ties: in address order */
	t = view_table(cli, "mappings", &r, sel);
	free(rows);
	free(sums);
	return t;
}

/* Everything memledger maps prints for process pid: its mappings table t, then the
 * summary (of its mappings so far: finished here). Frees t. */
static int print_process(const struct cli *cli, pid_t pid, const char *role, struct out_table *t,
                         struct ml_maps_summary *summary, struct json *j)
{
	int rc;

	if (cli->out.format == OUT_JSON) {
		json_object_begin(j);
		json_pair_u64(j, "pid", (uint64_t)pid);
		json_key(j, "role");
		if (role)
			json_string(j, role);
		else
			json_null(j);
	}
	rc = out_table_print_free(t, j);
	ml_maps_summary_finish(summary);
	if (rc == 0 && (cli->out.format == OUT_TABLE || cli->out.format == OUT_JSON))
		rc = print_summary(cli, summary, j); /* raw and CSV carry the rows alone */
	if (cli->out.format == OUT_JSON)
		json_object_end(j);
	return rc;
}

/* What maps's document is read from and written to. */
struct maps_doc {
	const struct cli *cli;
	struct ml_source *src;
	struct ml_maps_limits lim; /* the system's, read once whatever the number of PIDs */
	struct view_sel sel;       /* the driver's, PID first when the rows are flat */
	struct json j;
	struct ml_scan named; /* the processes' command lines, for their roles */
};

/* The role pid's command line gives it ("" none), NULL when it was not read. The browser,
 * which only its children tell, is ps's and tree's to say: maps reads no other process. */
static const char *role_of(const struct maps_doc *doc, pid_t pid, char *buf, size_t len)
{
	long i = ml_scan_find(&doc->named, pid);

	if (i < 0 || !doc->named.procs[i].cmdline)
		return NULL;
	ml_role_of_cmdline(doc->named.procs[i].cmdline, buf, len);
	return buf;
}

/* The threads of pid (its stat), ML_UNKNOWN when not read. */
static uint64_t threads_of(const struct maps_doc *doc, pid_t pid)
{
	long i = ml_scan_find(&doc->named, pid);

	if (i >= 0 && (doc->named.procs[i].have & ML_NEED_STATUS))
		return doc->named.procs[i].status.threads;
	return i < 0 || !(doc->named.procs[i].have & ML_NEED_STAT)
	           ? ML_UNKNOWN
	           : doc->named.procs[i].stat.threads;
}

/* A thread stack by shape in a process whose stacks are doubtful (more of them than its
 * threads): Other Anon, as its summary books it. */
static void doubt_stack(const struct ml_heaps *h, struct ml_category *c)
{
	if (ml_heaps_class(h, c) != c->cls)
		*c = (struct ml_category){ML_CLASS_OTHER_ANON, "stack?", c->rule};
}

/*
 * Reads the mappings of pid, lays out their table into *t and adds them to *summary
 * (within the system's limits, its heaps finished): as they are read when the rows keep
 * address order and show no category, else once all are read. Returns the number of mappings (0: no
 * user address space) or -errno.
 */
static long read_process(struct maps_doc *doc, pid_t pid, struct out_table **t,
                         struct ml_maps_summary *summary)
{
	const struct cli *cli = doc->cli;
	const struct view_sel *sel = &doc->sel;
	struct stream s = {cli, sel, sel->key && sel->key->id == F_DEV, pid, NULL, {{0}}, summary};
	struct ml_maps maps;
	long n;

	bool categories = cli->group_by != NULL; /* a category's rows: read whole first */

	for (int i = 0; i < sel->ncols; i++) {
		s.with_dev = s.with_dev || sel->cols[i]->id == F_DEV;
		categories |= sel->cols[i]->id >= F_CATEGORY && sel->cols[i]->id <= F_RULE;
	}
	*t = NULL;
	ml_maps_summary_init(summary, &doc->lim);
	if (cli->merge || sel->key || cli->reverse || categories) {
		n = ml_maps_read(doc->src, pid, &maps);
		for (size_t i = 0; n == 0 && i < maps.n; i++)
			ml_maps_summary_add(summary, &maps.v[i]);
		ml_heaps_finish(&summary->heaps, threads_of(doc, pid));
		for (size_t i = 0; n == 0 && i < maps.n; i++)
			doubt_stack(&summary->heaps, &maps.v[i].cat);
		if (n == 0 && maps.n && !(*t = mappings_table(cli, &maps, sel, s.with_dev)))
			n = -ENOMEM;
		n = n < 0 ? n : (long)maps.n;
		ml_maps_free(&maps);
		return n;
	}
	s.t = view_table_new(cli, "mappings", sel, false);
	if (!s.t)
		return -ENOMEM;
	n = ml_maps_read_each(doc->src, pid, stream_map, &s);
	ml_heaps_finish(&summary->heaps, threads_of(doc, pid));
	if (n > 0) {
		int rc = cli->totals ? out_table_add_totals(s.t, s.sums) : 0;
		n = rc < 0 ? rc : n;
	}
	if (n <= 0)
		out_table_free(s.t);
	else
		*t = s.t;
	return n;
}

/* Why pid shows no mapping, as its stat tells: " (a zombie)" and so on. */
static const char *why_empty(struct ml_source *src, pid_t pid)
{
	struct ml_stat st;

	if (ml_scan_read_stat(src, pid, &st) < 0)
		return " (it has exited)";
	if (st.flags & ML_PF_KTHREAD)
		return " (a kernel thread)";
	if (st.state == 'Z' || st.state == 'X')
		return " (a zombie)";
	return " now (it may be in the middle of exec())";
}

/* Reads and prints one process. Returns 0, or -1 after a message. */
static int one_process(struct view_run *run, struct maps_doc *doc, pid_t pid)
{
	const struct cli *cli = doc->cli;
	struct ml_maps_summary summary;
	struct out_table *t;
	long n = read_process(doc, pid, &t, &summary);
	int rc = n < 0 ? (int)n : 0;
	bool empty = n == 0;
	char role[ML_ROLE_LEN];

	if (rc == -ESRCH || rc == -ENOENT)
		run_warn(run->run, "no process %d", (int)pid);
	else if (rc == -EACCES || rc == -EPERM)
		run_warn(run->run, "cannot read %s/%d/smaps: %s%s", ml_source_path(doc->src),
		         (int)pid, strerror(-rc), geteuid() != 0 ? " (run as root)" : "");
	else if (rc < 0)
		run_warn(run->run, "%s/%d/smaps: %s", ml_source_path(doc->src), (int)pid,
		         ml_source_strerror(rc));
	else if (empty)
		run_warn(run->run, "process %d has no user address space%s", (int)pid,
		         why_empty(doc->src, pid));
	else if ((rc = print_process(cli, pid, role_of(doc, pid, role, sizeof(role)), t, &summary,
	                             &doc->j)) < 0)
		out_failed(&cli->out, -rc);
	return rc < 0 || empty ? -1 : 0;
}

/* Puts the PID column first in sel (moving it there when shown). */
static void with_pid_first(const struct view_cols *v, struct view_sel *sel)
{
	const struct colinfo *pid = view_column(v, "PID", 3);
	const struct colinfo **cols = sel->cols;
	int at = sel->ncols;

	for (int i = 0; i < sel->ncols; i++)
		if (cols[i] == pid)
			at = i;
	if (at == sel->ncols && sel->ncols == VIEW_MAX_COLS)
		return;
	memmove(cols + 1, cols, (size_t)at * sizeof(*cols));
	cols[0] = pid;
	sel->ncols += at == sel->ncols;
}

static int maps_begin(struct view_run *run)
{
	if (run->cli->npids == 0) {
		cli_warn("maps needs a PID");
		return EXIT_USAGE;
	}
	return EXIT_GO_ON;
}

/* The document: a table and a summary a process, in the order given, each once; in CSV
 * and raw of several, one table of every process's rows, each saying whose it is (a
 * view_def's print: maps has no table of its own). Returns 0 or -errno. */
static int maps_print(struct view_run *run, struct out_table *none)
{
	struct cli *cli = run->cli;
	struct maps_doc doc = {.cli = cli, .sel = run->sel};
	bool named = cli->out.format == OUT_TABLE || cli->out.format == OUT_JSON;
	bool flat = cli->npids > 1 && (cli->out.format == OUT_CSV || cli->out.format == OUT_RAW);
	bool noheadings = cli->out.noheadings;
	int failed = 0;

	(void)none;
	/* the command lines (roles) first: a snapshot is opened once for both, and the
	 * source the smaps come from stays open while they are read */
	run_want(run->run,
	         ML_NEED_SMAPS | (named ? ML_NEED_STAT | ML_NEED_STATUS | ML_NEED_CMDLINE : 0),
	         false);
	if (named && procs_scan_pids(run->run, ML_NEED_STAT | ML_NEED_STATUS | ML_NEED_CMDLINE,
	                             cli->pids, cli->npids, &doc.named) != EXIT_GO_ON)
		memset(&doc.named, 0, sizeof(doc.named)); /* said; no roles */
	doc.src = run_source(run->run, ML_NEED_SMAPS, true);
	if (!doc.src) {
		ml_scan_free(&doc.named);
		return -EIO; /* said */
	}
	ml_maps_limits_read(doc.src, &doc.lim);
	json_init(&doc.j, out_stream(&cli->out), cli->out.time);
	if (cli->out.format == OUT_JSON) {
		json_object_begin(&doc.j);
		json_key(&doc.j, "processes");
		json_array_begin(&doc.j);
	}
	if (flat)
		with_pid_first(run->def->cols, &doc.sel);
	for (size_t i = 0; i < cli->npids; i++) {
		char role[ML_ROLE_LEN];
		const char *r = role_of(&doc, cli->pids[i], role, sizeof(role));
		if ((cli->npids > 1 || (r && r[0])) && cli->out.format == OUT_TABLE)
			fprintf(out_stream(&cli->out), "%sPID %d%s%s\n", i ? "\n" : "",
			        (int)cli->pids[i], r && r[0] ? ": " : "", r && r[0] ? r : "");
		failed |= one_process(run, &doc, cli->pids[i]) < 0;
		if (flat)
			cli->out.noheadings = true; /* the header once */
	}
	cli->out.noheadings = noheadings;
	ml_scan_free(&doc.named);
	if (cli->out.format == OUT_JSON) {
		json_array_end(&doc.j);
		json_object_end(&doc.j);
		json_finish(&doc.j);
	}
	return failed ? -EIO : 0; /* said */
}

static const struct view_def maps_view = {
    .name = "mappings",
    .cols = &maps_cols,
    .own_scan = true,
    .begin = maps_begin,
    .print = maps_print,
};

static const struct view_def merged_view = {
    .name = "mappings",
    .cols = &merged_cols,
    .own_scan = true,
    .begin = maps_begin,
    .print = maps_print,
};

static const struct view_def category_view = {
    .name = "categories",
    .cols = &category_cols,
    .own_scan = true,
    .begin = maps_begin,
    .print = maps_print,
};

int cmd_maps(struct run *run)
{
	static const char *const keys[] = {"name", "category"};
	struct cli *cli = run->cli;

	if (cli->group_by) { /* --by category: the rows of each category, merged */
		int k = cli_choice("--by", keys, 2, cli->group_by);
		if (k < 0)
			return EXIT_USAGE;
		cli->group_by = k == 1 ? keys[1] : NULL;
		cli->merge = true;
	}
	return view_run(run, cli->group_by ? &category_view
	                     : cli->merge  ? &merged_view
	                                   : &maps_view);
}
