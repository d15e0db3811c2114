/*
 * The ledger as Prometheus metrics. Gauges in bytes, named as node_exporter
 * (node_memory_<Field>_bytes) and process-exporter
 * (namedprocess_namegroup_memory_bytes{groupname,memtype}) name theirs; per process only
 * the top N by PSS and an "other" row, so that cardinality stays bounded. Unknown is NaN,
 * never 0.
 */
#include <errno.h>
#include <sys/stat.h>
#include <limits.h>
#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "memledger/category.h"
#include "memledger/ledger.h"
#include "memledger/gpu.h"
#include "json.h"
#include "file.h"
#include "metrics.h"
#include "procs.h"
#include "memledger/group.h"
#include "memledger/role.h"
#include "memledger/oom.h"
#include "memledger/system.h"

#ifndef MEMLEDGER_VERSION
#define MEMLEDGER_VERSION "unknown"
#endif

/* The memtypes of the group and process metrics, with their metric; the GPU ones (last)
 * only where GPU memory was read. */
static const struct {
	const char *name;
	enum ml_metric metric;
} memtypes[] = {{"pss", ML_PSS},   {"uss", ML_USS},         {"rss", ML_RSS},
                {"swap", ML_SWAP}, {"swappss", ML_SWAPPSS}, {"footprint", ML_FOOTPRINT},
                {"anon", ML_ANON}, {"file", ML_FILE},       {"shmem", ML_SHMEM},
                {"gpu", ML_GPU},   {"vram", ML_VRAM},       {"dmabuf", ML_DMABUF}};
#define NMEMTYPES (sizeof(memtypes) / sizeof(memtypes[0]))
#define USS       1 /* memtypes[USS] */

/* How many memtypes m has: all, or those before the GPU ones. */
static size_t nmemtypes(const struct metrics *m)
{
	size_t n = NMEMTYPES;

	while (!m->gpu && n && ml_metric_needs(memtypes[n - 1].metric) == ML_NEED_GPU)
		n--;
	return n;
}

static double now_unix(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static double since(const struct timespec *t0)
{
	struct timespec t1;

	clock_gettime(CLOCK_MONOTONIC, &t1);
	return (double)(t1.tv_sec - t0->tv_sec) + (double)(t1.tv_nsec - t0->tv_nsec) / 1e9;
}

/* Each process's place in the kernel OOM killer's order and its badness (totalpages: RAM +
 * swap, from the meminfo the system's figures read); none without them. Returns 0 or
 * -ENOMEM. */
static int oom_places(struct metrics *m)
{
	uint64_t ram = m->sys.mi[ML_MI_MEMTOTAL], swap = m->sys.mi[ML_MI_SWAPTOTAL];
	uint64_t page = (uint64_t)sysconf(_SC_PAGESIZE);
	struct ml_oom_victim *v = NULL;
	size_t n = 0;

	m->oom_place = calloc(m->scan.nprocs + 1, sizeof(*m->oom_place));
	m->oom_badness = calloc(m->scan.nprocs + 1, sizeof(*m->oom_badness));
	if (!m->oom_place || !m->oom_badness)
		return -ENOMEM;
	if (!m->have_sys || ram == ML_UNKNOWN)
		return 0;
	swap = swap == ML_UNKNOWN ? 0 : swap;
	if (ml_oom_order(&m->scan, ML_OOM_KERNEL, page, (ram + swap) / page, 0, NULL, &v, &n) < 0)
		return -ENOMEM;
	for (size_t k = 0; k < n; k++) {
		m->oom_place[v[k].proc] = (uint32_t)(k + 1);
		m->oom_badness[v[k].proc] = v[k].badness;
	}
	free(v);
	return 0;
}

int metrics_read(struct run *run, enum ml_group_key by, bool exact, unsigned extra,
                 struct metrics *m)
{
	unsigned needs =
	    ML_NEED_STAT | ML_NEED_STATUS | ML_NEED_ROLLUP | ML_NEED_CMDLINE | /* role */
	    ML_NEED_OOM | ml_grouping_needs(by) | extra | (run->cli->classes ? ML_NEED_CLASSES : 0);
	struct ml_source *src;
	struct timespec t0;
	int rc;

	memset(m, 0, sizeof(*m));
	clock_gettime(CLOCK_MONOTONIC, &t0);
	m->when = now_unix();
	/* the source opened once for the system's files and the scan, whatever it finds */
	run_want(run, needs | ML_NEED_GPU | (exact ? ML_NEED_PAGEMAP | ML_NEED_SMAPS : 0), true);
	src = run_source(run, 0, false);
	if (!src)
		return EXIT_ERROR;    /* said; the scan could not open it either */
	m->gpu = ml_gpu_present(src); /* else no process's fds are worth reading */
	needs |= m->gpu ? ML_NEED_GPU : 0;
	rc = exact ? procs_scan_pages(run, needs | ML_NEED_PAGEMAP, &m->scan, &m->pages)
	           : procs_scan(run, needs, NULL, NULL, &m->scan);
	if (rc == EXIT_GO_ON && (ml_grouping_make(&m->groups, &m->scan, by, m->pages) < 0 ||
	                         ml_roles_make(&m->roles, &m->scan) < 0)) {
		run_warn(run, "out of memory");
		rc = EXIT_ERROR;
	}
	if (rc != EXIT_GO_ON) {
		metrics_free(m); /* what the failed scan holds */
		return rc;
	}
	m->have_sys = ml_system_read(src, &m->sys) == 0;
	if (oom_places(m) < 0) {
		run_warn(run, "out of memory");
		metrics_free(m);
		return EXIT_ERROR;
	}
	if (m->have_sys && m->gpu) {
		struct ml_gpu_totals t;
		if (ml_gpu_totals(src, &m->scan, &t) == 0)
			ml_system_book_gpu(&m->sys, t.sys_own, t.dmabuf_own, t.partial);
	}
	m->seconds = since(&t0);
	return EXIT_GO_ON;
}

void metrics_free(struct metrics *m)
{
	ml_grouping_free(&m->groups);
	ml_roles_free(&m->roles);
	free(m->oom_place);
	free(m->oom_badness);
	ml_pages_free(m->pages);
	ml_scan_free(&m->scan);
	memset(m, 0, sizeof(*m));
}

static int cmp_name(const void *a, const void *b, void *ctx)
{
	const char *const *name = ctx;

	return strcmp(name[*(const size_t *)a], name[*(const size_t *)b]);
}

int metrics_keep_exact(const struct metrics *m, struct metrics_exact *ex)
{
	const struct ml_grouping *g = &m->groups;
	size_t *order = malloc((g->ngroups + 1) * sizeof(*order));
	char **names = malloc((g->ngroups + 1) * sizeof(*names));
	size_t n = 0;

	metrics_exact_free(ex);
	ex->name = calloc(g->ngroups + 1, sizeof(*ex->name));
	ex->freed = calloc(g->ngroups + 1, sizeof(*ex->freed));
	if (!order || !names || !ex->name || !ex->freed)
		goto nomem;
	for (size_t k = 0; k < g->ngroups; k++) {
		if (!g->groups[k].name)
			continue;
		order[n] = k;
		names[k] = g->groups[k].name;
		n++;
	}
	qsort_r(order, n, sizeof(*order), cmp_name, names);
	for (size_t j = 0; j < n; j++) {
		if (!(ex->name[j] = strdup(g->groups[order[j]].name)))
			goto nomem;
		ex->freed[j] = g->groups[order[j]].freed;
		ex->n = j + 1;
	}
	if (m->pages && ml_pages_exact(m->pages)) { /* else no exact figure is written */
		ex->when = m->when;
		ex->seconds = m->seconds;
	}
	free(order);
	free(names);
	return 0;
nomem:
	free(order);
	free(names);
	metrics_exact_free(ex);
	return -ENOMEM;
}

void metrics_exact_free(struct metrics_exact *ex)
{
	for (size_t j = 0; j < ex->n; j++)
		free(ex->name[j]);
	free(ex->name);
	free(ex->freed);
	memset(ex, 0, sizeof(*ex));
}

/* The page ledger figures of the group called name in ex, or NULL. */
static const struct ml_freed *exact_of(const struct metrics_exact *ex, const char *name)
{
	size_t lo = 0, hi = ex ? ex->n : 0;

	while (name && lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = strcmp(name, ex->name[mid]);
		if (c == 0)
			return ex->freed[mid].exact ? &ex->freed[mid] : NULL;
		if (c < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	return NULL;
}

/* The exposition format's escapes in a label value: \\, \" and \n. */
static const char *label_escape(unsigned char c)
{
	return c == '\\' ? "\\\\" : c == '"' ? "\\\"" : c == '\n' ? "\\n" : NULL;
}

/* A label value as both formats require it: escaped, valid UTF-8 (text_write). */
static void label(FILE *f, const char *s)
{
	text_write(f, s, label_escape);
}

/* A family's HELP, TYPE and, in OpenMetrics, UNIT (the suffix of its name). */
static void family(FILE *f, bool om, const char *name, const char *unit, const char *text)
{
	fprintf(f, "# HELP %s %s\n# TYPE %s gauge\n", name, text, name);
	if (om && unit)
		fprintf(f, "# UNIT %s %s\n", name, unit);
}

/* A family of one sample without labels, its value v written as fmt says. */
static void scalar(FILE *f, bool om, const char *name, const char *unit, const char *text,
                   const char *fmt, double v)
{
	family(f, om, name, unit, text);
	fprintf(f, "%s ", name);
	fprintf(f, fmt, v);
	fputc('\n', f);
}

static void value(FILE *f, uint64_t v)
{
	if (v == ML_UNKNOWN)
		fputs("NaN\n", f); /* unknown is no 0: the exposition format's NaN */
	else
		fprintf(f, "%llu\n", (unsigned long long)v);
}

static void group_sample(FILE *f, const char *name, const char *by, const char *memtype, uint64_t v)
{
	fputs("memledger_group_memory_bytes{group=\"", f);
	label(f, name ? name : "-");
	fprintf(f, "\",by=\"%s\",memtype=\"%s\"} ", by, memtype);
	value(f, v);
}

/* With --classes: each group's PSS by class (memtype native_heap, code, ...), as one more
 * set of memtypes of memledger_group_memory_bytes (its # HELP says so). */
static void write_group_classes(FILE *f, const struct metrics *m)
{
	const struct ml_grouping *g = &m->groups;
	const char *by = ml_group_key_name(g->by);
	uint64_t(*sum)[ML_CLASS_COUNT] = calloc(g->ngroups + 1, sizeof(*sum));
	bool any = false;

	if (!sum)
		return;
	for (size_t i = 0; i < m->scan.nprocs; i++) {
		const struct ml_heaps *h = m->scan.procs[i].heaps;
		any |= h != NULL;
		for (int c = 0; h && c < ML_CLASS_COUNT; c++)
			sum[g->set_of[i]][c] =
			    ml_add_u64(sum[g->set_of[i]][c], h->cls[c].mem.v[ML_MEM_PSS]);
	}
	for (size_t k = 0; any && k < g->ngroups; k++)
		for (int c = 0; c < ML_CLASS_COUNT; c++)
			group_sample(f, g->groups[k].name, by, ml_class_key((enum ml_class)c),
			             sum[k][c]);
	free(sum);
}

static void write_groups(FILE *f, const struct metrics *m, const struct metrics_exact *ex, bool om)
{
	const struct ml_grouping *g = &m->groups;
	const char *by = ml_group_key_name(g->by);
	uint64_t(*sum)[NMEMTYPES] = calloc(g->ngroups + 1, sizeof(*sum));

	if (!sum)
		return;
	for (size_t i = 0; i < m->scan.nprocs; i++)
		for (size_t t = 0; t < nmemtypes(m); t++)
			sum[g->set_of[i]][t] =
			    ml_add_u64(sum[g->set_of[i]][t],
			               ml_proc_metric(&m->scan.procs[i], memtypes[t].metric));
	family(f, om, "memledger_group_memory_bytes", "bytes",
	       "Memory of the processes of a group (the by label: comm, exe, user, cgroup, ...) "
	       "by memtype: the sums of pss, uss, rss, swap, swappss, footprint (RssAnon + "
	       "VmSwap), anon, file, shmem (the PSS of each kind); where there is a GPU, gpu "
	       "(GPU buffers in RAM), vram (device memory) and dmabuf, shares of what processes "
	       "hold; with --exact, uss is the "
	       "group's own pages (no process outside it maps them), freed what killing the "
	       "whole group would give back, shared_out its resident pages that others map too; "
	       "with --classes, the PSS of each class of memory (native_heap, managed_heap, "
	       "stack, code, graphics, shared_memory, mapped_files, other_anon, reserved).");
	for (size_t k = 0; k < g->ngroups; k++) {
		const struct ml_named_group *gr = &g->groups[k];
		const struct ml_freed *fr = exact_of(ex, gr->name);
		for (size_t t = 0; t < nmemtypes(m); t++)
			group_sample(f, gr->name, by, memtypes[t].name,
			             t == USS && fr ? fr->uss : sum[k][t]);
		if (fr) {
			group_sample(f, gr->name, by, "freed", ml_freed_total(fr));
			group_sample(f, gr->name, by, "shared_out",
			             fr->rss == ML_UNKNOWN || fr->uss == ML_UNKNOWN
			                 ? ML_UNKNOWN
			                 : fr->rss - fr->uss);
		}
	}
	write_group_classes(f, m);
	family(f, om, "memledger_group_processes", NULL, "Processes in the group.");
	for (size_t k = 0; k < g->ngroups; k++) {
		fputs("memledger_group_processes{group=\"", f);
		label(f, g->groups[k].name ? g->groups[k].name : "-");
		fprintf(f, "\",by=\"%s\"} %zu\n", by, g->groups[k].nprocs);
	}
	if (g->by == ML_BY_APP) {
		family(f, om, "memledger_group_instances", NULL,
		       "Separate process trees running the app (--by app): several browsers "
		       "started apart are one group.");
		for (size_t k = 0; k < g->ngroups; k++) {
			fputs("memledger_group_instances{group=\"", f);
			label(f, g->groups[k].name ? g->groups[k].name : "-");
			fprintf(f, "\",by=\"%s\"} %zu\n", by, g->groups[k].instances);
		}
	}
	free(sum);
}

static int cmp_pss_desc(const void *a, const void *b, void *ctx)
{
	const struct ml_proc *pa = *(const struct ml_proc *const *)a,
	                     *pb = *(const struct ml_proc *const *)b;
	uint64_t x = ml_proc_metric(pa, ML_PSS), y = ml_proc_metric(pb, ML_PSS);

	(void)ctx;
	x = x == ML_UNKNOWN ? 0 : x;
	y = y == ML_UNKNOWN ? 0 : y;
	if (x != y)
		return (x < y) - (x > y);
	return (pa->pid > pb->pid) - (pa->pid < pb->pid);
}

/* The labels of process p: pid, comm, user, role. */
static void process_labels(FILE *f, const struct metrics *m, const struct ml_proc *p,
                           struct ml_user_cache *users)
{
	const char *user = ml_user_name(users, ml_proc_uid(p));
	const char *role = ml_roles_get(&m->roles, (size_t)(p - m->scan.procs));

	fprintf(f, "{pid=\"%d\",comm=\"", (int)p->pid);
	label(f, p->comm);
	fputs("\",user=\"", f);
	label(f, user ? user : "");
	fputs("\",role=\"", f);
	label(f, role ? role : "");
	fputs("\"} ", f);
}

/* The kernel OOM killer's order of the top processes (by PSS, order[0..top)) that are
 * its candidates: their place, then their badness in bytes (0 below 0). */
static void write_oom(FILE *f, const struct metrics *m, const struct ml_proc **order, size_t top,
                      struct ml_user_cache *users, bool om)
{
	static const char *const names[] = {"memledger_process_oom_order",
	                                    "memledger_process_oom_badness_bytes"};
	static const char *const helps[] = {
	    "The place of the process in the order the kernel's OOM killer would kill in (1 "
	    "first; memledger oom), for the top processes by PSS that are its candidates.",
	    "What the kernel's OOM killer ranks the process by (oom_badness(): resident, swap "
	    "and page tables, plus oom_score_adj x totalpages / 1000), in bytes; 0 below 0."};
	uint64_t page = (uint64_t)sysconf(_SC_PAGESIZE);

	for (int which = 0; which < 2; which++) {
		family(f, om, names[which], which ? "bytes" : NULL, helps[which]);
		for (size_t i = 0; i < top && i < m->scan.nprocs; i++) {
			size_t k = (size_t)(order[i] - m->scan.procs);
			int64_t b = m->oom_badness[k];
			if (!m->oom_place[k])
				continue;
			fputs(names[which], f);
			process_labels(f, m, order[i], users);
			value(f, which ? (b > 0 ? (uint64_t)b * page : 0) : m->oom_place[k]);
		}
	}
}

static void write_processes(FILE *f, const struct metrics *m, size_t top, bool om)
{
	const struct ml_scan *s = &m->scan;
	const struct ml_proc **order = malloc((s->nprocs + 1) * sizeof(*order));
	struct ml_user_cache users = {.android = s->android};
	uint64_t other[NMEMTYPES] = {0};

	if (!order)
		return;
	for (size_t i = 0; i < s->nprocs; i++)
		order[i] = &s->procs[i];
	qsort_r(order, s->nprocs, sizeof(*order), cmp_pss_desc, NULL);
	family(f, om, "memledger_process_memory_bytes", "bytes",
	       "Memory of one process, by memtype as in the group metric: the top processes by "
	       "PSS, the rest summed as pid other; role: what a multi-process app makes of it "
	       "(browser, renderer, gpu-process; empty for none).");
	for (size_t i = 0; i < s->nprocs; i++) {
		const struct ml_proc *p = order[i];
		const char *user = i < top ? ml_user_name(&users, ml_proc_uid(p)) : NULL;
		const char *role = ml_roles_get(&m->roles, (size_t)(p - s->procs));
		for (size_t t = 0; t < nmemtypes(m); t++) {
			uint64_t v = ml_proc_metric(p, memtypes[t].metric);
			if (i >= top) {
				other[t] = ml_add_u64(other[t], v);
				continue;
			}
			fprintf(f, "memledger_process_memory_bytes{pid=\"%d\",comm=\"",
			        (int)p->pid);
			label(f, p->comm);
			fputs("\",user=\"", f);
			label(f, user ? user : "");
			fputs("\",role=\"", f);
			label(f, role ? role : "");
			fprintf(f, "\",memtype=\"%s\"} ", memtypes[t].name);
			value(f, v);
		}
	}
	for (size_t t = 0; t < nmemtypes(m) && s->nprocs > top; t++) {
		fprintf(
		    f,
		    "memledger_process_memory_bytes{pid=\"other\",comm=\"\",user=\"\",role=\"\","
		    "memtype=\"%s\"} ",
		    memtypes[t].name);
		value(f, other[t]);
	}
	write_oom(f, m, order, top, &users, om);
	ml_user_cache_free(&users);
	free(order);
}

static void system_sample(FILE *f, const char *kind, uint64_t v)
{
	fputs("memledger_system_memory_bytes{kind=\"", f);
	label(f, kind);
	fputs("\"} ", f);
	value(f, v);
}

static void write_system(FILE *f, const struct ml_system *sys, bool om)
{
	family(f, om, "memledger_system_memory_bytes", "bytes",
	       "Where all of RAM goes, the rows of memledger system (they add up to physical "
	       "memory); then swap_used, committed_as and commit_limit.");
	for (size_t i = 0; i < sys->nrows; i++)
		if (!sys->rows[i].depth) /* the top rows: they add up */
			system_sample(f, sys->rows[i].name, sys->rows[i].bytes);
	system_sample(f, "swap_used", sys->swap_used);
	system_sample(f, "committed_as", sys->mi[ML_MI_COMMITTED_AS]);
	system_sample(f, "commit_limit", sys->mi[ML_MI_COMMITLIMIT]);
	if (sys->pressure_some[0] < 0)
		return;
	family(f, om, "memledger_memory_pressure_ratio", "ratio",
	       "Share of time tasks stalled on memory over 10 s (PSI avg10, 0 to 1): some, full.");
	fprintf(f, "memledger_memory_pressure_ratio{kind=\"some\"} %g\n",
	        sys->pressure_some[0] / 100);
	if (sys->pressure_full[0] >= 0)
		fprintf(f, "memledger_memory_pressure_ratio{kind=\"full\"} %g\n",
		        sys->pressure_full[0] / 100);
}

void metrics_write(FILE *f, const struct metrics *m, const struct metrics_exact *ex, size_t top,
                   bool openmetrics)
{
	bool om = openmetrics;

	write_groups(f, m, ex, om);
	write_processes(f, m, top, om);
	if (m->have_sys)
		write_system(f, &m->sys, om);
	scalar(f, om, "memledger_unreadable_processes", NULL,
	       "Processes whose files could not be read (not in the sums).", "%.0f",
	       (double)m->scan.unreadable);
	scalar(f, om, "memledger_refresh_duration_seconds", "seconds",
	       "How long the last reading of the ledger took.", "%.6f", m->seconds);
	scalar(f, om, "memledger_refresh_timestamp_seconds", "seconds",
	       "When the last reading of the ledger was taken (Unix time).", "%.3f", m->when);
	if (m->serving) { /* a counter: OpenMetrics names its family without _total */
		const char *fam =
		    om ? "memledger_skipped_readings" : "memledger_skipped_readings_total";
		fprintf(f,
		        "# HELP %s Readings skipped because the one before took longer than -i.\n"
		        "# TYPE %s counter\nmemledger_skipped_readings_total %" PRIu64 "\n",
		        fam, fam, m->skipped);
	}
	if (ex && ex->when > 0) {
		scalar(f, om, "memledger_exact_refresh_timestamp_seconds", "seconds",
		       "When the page ledger (uss of groups, freed, shared_out) was last read.",
		       "%.3f", ex->when);
		scalar(f, om, "memledger_exact_refresh_duration_seconds", "seconds",
		       "How long the last reading of the page ledger took.", "%.6f", ex->seconds);
	}
	family(f, om, "memledger_build_info", NULL,
	       "memledger's version, as a label; the value is 1.");
	fprintf(f, "memledger_build_info{version=\"%s\"} 1\n", MEMLEDGER_VERSION);
	if (om)
		fputs("# EOF\n", f);
}

/* DIR/memledger.prom in path. Returns 0, or -ENAMETOOLONG after a message. */
static int textfile_name(const char *dir, char path[PATH_MAX])
{
	if ((size_t)snprintf(path, PATH_MAX, "%s/memledger.prom", dir) >= PATH_MAX) {
		cli_warn("--textfile: name too long: '%s'", dir);
		return -ENAMETOOLONG;
	}
	return 0;
}

int metrics_textfile_check(const char *dir)
{
	char path[PATH_MAX];
	struct stat st;
	const char *why;

	if (!dir)
		return EXIT_OK;
	why = !dir[0]                ? "is empty"
	      : stat(dir, &st) < 0   ? (errno == ENOENT ? "does not exist" : strerror(errno))
	      : !S_ISDIR(st.st_mode) ? "is not a directory"
	                             : NULL;
	if (why) {
		cli_warn("--textfile takes a directory: '%s': %s", dir, why);
		return EXIT_USAGE;
	}
	if (textfile_name(dir, path) < 0)
		return EXIT_USAGE;
	return file_check_output("--textfile", path);
}

int metrics_textfile(const char *dir, const char *text, size_t len)
{
	char path[PATH_MAX];

	if (textfile_name(dir, path) < 0)
		return -ENAMETOOLONG;
	/* the textfile collector must never read half a file; it reads as another user */
	return file_write_atomic(path, text, len, 0644);
}
