/*
 * memledger export: the ledger as Prometheus metrics (the text exposition format), to
 * stdout or, with --textfile DIR, to DIR/memledger.prom for node_exporter's textfile
 * collector, written atomically. Gauges in bytes, named as node_exporter and
 * process-exporter name theirs; per process only the top --top N by PSS and an "other"
 * row, so that cardinality stays bounded.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "export.h"
#include "memledger/ledger.h"
#include "memledger/system.h"
#include "procs.h"
#include "users.h"

#ifndef MEMLEDGER_VERSION
#define MEMLEDGER_VERSION "unknown"
#endif

/* The memtypes of the group and process metrics, with their metric. */
static const struct {
	const char *name;
	enum ml_metric metric;
} memtypes[] = {{"pss", ML_PSS},   {"uss", ML_USS},         {"rss", ML_RSS},
                {"swap", ML_SWAP}, {"swappss", ML_SWAPPSS}, {"footprint", ML_FOOTPRINT},
                {"anon", ML_ANON}, {"file", ML_FILE},       {"shmem", ML_SHMEM}};
#define NMEMTYPES (sizeof(memtypes) / sizeof(memtypes[0]))

/* A label value as the exposition format escapes it: \\, \" and \n. */
static void label(FILE *f, const char *s)
{
	for (; s && *s; s++) {
		if (*s == '\\' || *s == '"')
			fputc('\\', f);
		if (*s == '\n')
			fputs("\\n", f);
		else
			fputc(*s, f);
	}
}

static void help(FILE *f, const char *name, const char *text)
{
	fprintf(f, "# HELP %s %s\n# TYPE %s gauge\n", name, text, name);
}

/* One group: its name, processes and sums. */
struct group {
	const char *name;
	size_t procs;
	uint64_t sum[NMEMTYPES];
};

static int cmp_pss_desc(const void *a, const void *b, void *ctx)
{
	const struct ml_proc *pa = *(const struct ml_proc *const *)a,
	                     *pb = *(const struct ml_proc *const *)b;
	uint64_t x = ml_proc_metric(pa, ML_PSS), y = ml_proc_metric(pb, ML_PSS);

	(void)ctx;
	x = x == ML_UNKNOWN ? 0 : x;
	y = y == ML_UNKNOWN ? 0 : y;
	return (x < y) - (x > y);
}

/* The groups by command name: Σ of each memtype, unknown when unknown for a member. */
static struct group *make_groups(const struct ml_scan *s, size_t *n)
{
	struct group *g = calloc(s->nprocs + 1, sizeof(*g));

	*n = 0;
	for (size_t i = 0; g && i < s->nprocs; i++) {
		const struct ml_proc *p = &s->procs[i];
		const char *key = p->comm[0] ? p->comm : "-";
		size_t k = 0;
		while (k < *n && strcmp(g[k].name, key) != 0)
			k++;
		if (k == *n)
			g[(*n)++].name = key;
		g[k].procs++;
		for (size_t m = 0; m < NMEMTYPES; m++)
			g[k].sum[m] =
			    ml_add_u64(g[k].sum[m], ml_proc_metric(p, memtypes[m].metric));
	}
	return g;
}

static void value(FILE *f, uint64_t v)
{
	if (v == ML_UNKNOWN)
		fputs("NaN\n", f); /* unknown is no 0: the exposition format's NaN */
	else
		fprintf(f, "%llu\n", (unsigned long long)v);
}

static void write_groups(FILE *f, const struct ml_scan *s)
{
	size_t n;
	struct group *g = make_groups(s, &n);

	if (!g)
		return;
	help(f, "memledger_group_memory_bytes",
	     "Memory of the processes of a group (by command name), by memtype: pss, uss, rss, "
	     "swap, swappss, footprint (RssAnon+VmSwap), anon, file, shmem (PSS of each).");
	for (size_t k = 0; k < n; k++)
		for (size_t m = 0; m < NMEMTYPES; m++) {
			fputs("memledger_group_memory_bytes{group=\"", f);
			label(f, g[k].name);
			fprintf(f, "\",by=\"comm\",memtype=\"%s\"} ", memtypes[m].name);
			value(f, g[k].sum[m]);
		}
	help(f, "memledger_group_processes", "Processes in the group.");
	for (size_t k = 0; k < n; k++) {
		fputs("memledger_group_processes{group=\"", f);
		label(f, g[k].name);
		fprintf(f, "\",by=\"comm\"} %zu\n", g[k].procs);
	}
	free(g);
}

static void write_processes(FILE *f, const struct ml_scan *s, size_t top)
{
	const struct ml_proc **order = malloc((s->nprocs + 1) * sizeof(*order));
	struct user_cache users = {0};
	uint64_t other[NMEMTYPES] = {0};

	if (!order)
		return;
	for (size_t i = 0; i < s->nprocs; i++)
		order[i] = &s->procs[i];
	qsort_r(order, s->nprocs, sizeof(*order), cmp_pss_desc, NULL);
	help(f, "memledger_process_memory_bytes",
	     "Memory of one process, by memtype as the group metric: the top processes by PSS, "
	     "the rest summed in pid=\"other\".");
	for (size_t i = 0; i < s->nprocs; i++) {
		const struct ml_proc *p = order[i];
		const char *user = user_cache_name(&users, ml_proc_uid(p));
		for (size_t m = 0; m < NMEMTYPES; m++) {
			uint64_t v = ml_proc_metric(p, memtypes[m].metric);
			if (i >= top) {
				other[m] = ml_add_u64(other[m], v);
				continue;
			}
			fprintf(f, "memledger_process_memory_bytes{pid=\"%d\",comm=\"",
			        (int)p->pid);
			label(f, p->comm);
			fputs("\",user=\"", f);
			label(f, user ? user : "");
			fprintf(f, "\",memtype=\"%s\"} ", memtypes[m].name);
			value(f, v);
		}
	}
	for (size_t m = 0; m < NMEMTYPES && s->nprocs > top; m++) {
		fprintf(f,
		        "memledger_process_memory_bytes{pid=\"other\",comm=\"\",user=\"\",memtype="
		        "\"%s\"} ",
		        memtypes[m].name);
		value(f, other[m]);
	}
	user_cache_free(&users);
	free(order);
}

static void write_system(FILE *f, const struct cli *cli)
{
	struct ml_source *src = cli_open_source(cli, 0, false);
	struct ml_system sys;

	if (!src)
		return;
	if (ml_system_read(src, &sys) == 0) {
		help(f, "memledger_system_memory_bytes",
		     "Where all of RAM goes, the rows of memledger system (they add up to physical "
		     "memory); swap_used; committed_as and commit_limit.");
		for (size_t i = 0; i < sys.nrows; i++) {
			if (sys.rows[i].depth)
				continue; /* the top rows: they add up */
			fputs("memledger_system_memory_bytes{kind=\"", f);
			label(f, sys.rows[i].name);
			fputs("\"} ", f);
			value(f, sys.rows[i].bytes);
		}
		fputs("memledger_system_memory_bytes{kind=\"swap_used\"} ", f);
		value(f, sys.swap_used);
		fputs("memledger_system_memory_bytes{kind=\"committed_as\"} ", f);
		value(f, sys.mi[ML_MI_COMMITTED_AS]);
		fputs("memledger_system_memory_bytes{kind=\"commit_limit\"} ", f);
		value(f, sys.mi[ML_MI_COMMITLIMIT]);
		if (sys.pressure_some[0] >= 0) {
			help(f, "memledger_memory_pressure_ratio",
			     "Share of time tasks stalled on memory over 10 s (PSI some avg10, 0 "
			     "to 1).");
			fprintf(f, "memledger_memory_pressure_ratio{kind=\"some\"} %g\n",
			        sys.pressure_some[0] / 100);
			if (sys.pressure_full[0] >= 0)
				fprintf(f, "memledger_memory_pressure_ratio{kind=\"full\"} %g\n",
				        sys.pressure_full[0] / 100);
		}
	}
	ml_source_free(src);
}

/* Writes every metric to f. Returns an exit status. */
static int write_metrics(FILE *f, struct cli *cli, size_t top)
{
	struct timespec t0, t1;
	struct ml_scan s;
	int rc;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	rc = procs_scan(cli, ML_NEED_STAT | ML_NEED_STATUS | ML_NEED_ROLLUP, NULL, NULL, &s);
	if (rc != EXIT_GO_ON)
		return rc;
	write_groups(f, &s);
	write_processes(f, &s, top);
	write_system(f, cli);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	help(f, "memledger_unreadable_processes", "Processes whose files could not be read.");
	fprintf(f, "memledger_unreadable_processes %zu\n", s.unreadable);
	help(f, "memledger_refresh_duration_seconds", "How long reading the ledger took.");
	fprintf(f, "memledger_refresh_duration_seconds %.6f\n",
	        (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9);
	help(f, "memledger_refresh_timestamp_seconds", "When the ledger was read (Unix time).");
	fprintf(f, "memledger_refresh_timestamp_seconds %lld\n", (long long)time(NULL));
	help(f, "memledger_build_info", "memledger's version, as a label; the value is 1.");
	fprintf(f, "memledger_build_info{version=\"%s\"} 1\n", MEMLEDGER_VERSION);
	ml_scan_free(&s);
	return EXIT_OK;
}

int export_run(struct cli *cli)
{
	char path[PATH_MAX], tmp[PATH_MAX];
	FILE *f;
	int fd, rc;

	if (cli->noperands) {
		cli_warn("export takes no operands: '%s'", cli->operands[0]);
		return EXIT_USAGE;
	}
	if (!cli->textfile)
		return write_metrics(stdout, cli, cli->top ? cli->top : 20);
	/* the textfile collector must never read half a file: a temporary name, then rename */
	if ((size_t)snprintf(path, sizeof(path), "%s/memledger.prom", cli->textfile) >=
	        sizeof(path) ||
	    (size_t)snprintf(tmp, sizeof(tmp), "%s/.memledger.prom.XXXXXX", cli->textfile) >=
	        sizeof(tmp)) {
		cli_warn("%s: name too long", cli->textfile);
		return EXIT_USAGE;
	}
	fd = mkostemp(tmp, O_CLOEXEC);
	if (fd < 0 || !(f = fdopen(fd, "w"))) {
		cli_warn("cannot write in %s: %s", cli->textfile, strerror(errno));
		if (fd >= 0) {
			close(fd);
			unlink(tmp);
		}
		return EXIT_ERROR;
	}
	fchmod(fd, 0644); /* node_exporter reads it as another user */
	rc = write_metrics(f, cli, cli->top ? cli->top : 20);
	if (fflush(f) != 0 || ferror(f) || fsync(fd) != 0) {
		if (rc == EXIT_OK)
			cli_warn("cannot write %s: %s", tmp, strerror(errno));
		rc = EXIT_ERROR;
	}
	fclose(f);
	if (rc == EXIT_OK && rename(tmp, path) < 0) {
		cli_warn("cannot rename %s to %s: %s", tmp, path, strerror(errno));
		rc = EXIT_ERROR;
	}
	if (rc != EXIT_OK)
		unlink(tmp);
	return rc;
}
