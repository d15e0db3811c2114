/* memledger freed PID...: what killing a set of processes would return, and what stays. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "freed.h"
#include "procs.h"

static const struct out_col cols[] = {
    {"NAME", COL_STR, OUT_TREE},
    {"SIZE", COL_SIZE, OUT_RIGHT},
};

/* The breakdown as a table: what is freed, then what stays. */
static int print_table(const struct cli *cli, const struct ml_freed *f, struct json *j)
{
	struct out_table *t = out_table_new("freed", cols, 2, &cli->out);
	const struct {
		unsigned depth;
		const char *name;
		uint64_t v;
	} rows[] = {
	    {0, f->exact ? "freed" : "freed, at least", ml_freed_total(f)},
	    {1, "anonymous", f->anon},
	    {1, "swap", f->swap},
	    {1, "shmem that dies with them", f->shmem},
	    {0, "stays", ml_add_u64(ml_add_u64(f->shared_out, f->cache), f->shmem_kept)},
	    {1, "shared with other processes", f->shared_out},
	    {1, "page cache", f->cache},
	    {1, "shmem that persists or others hold", f->shmem_kept},
	};
	int rc = t ? 0 : -ENOMEM;

	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]) && rc == 0; i++) {
		struct out_cell cells[2] = {{.str = rows[i].name}, {.num = rows[i].v}};
		rc = out_table_add_nested(t, rows[i].depth, cells, "parts");
	}
	return t ? (rc ? rc : out_table_print_free(t, j)) : rc;
}

/* The JSON document: {"pids", "freed", "exact", the parts, "stays", "unreadable"}. */
static void print_json(const pid_t *pids, int n, const struct ml_freed *f, size_t unreadable)
{
	struct json j;

	json_init(&j, stdout);
	json_object_begin(&j);
	json_key(&j, "pids");
	json_array_begin(&j);
	for (int i = 0; i < n; i++)
		json_u64(&j, (uint64_t)pids[i]);
	json_array_end(&j);
	json_pair_u64(&j, "freed", ml_freed_total(f));
	json_key(&j, "exact");
	json_bool(&j, f->exact);
	json_pair_u64(&j, "anonymous", f->anon);
	json_pair_u64(&j, "swap", f->swap);
	json_pair_u64(&j, "shmem", f->shmem);
	json_key(&j, "stays");
	json_object_begin(&j);
	json_pair_u64(&j, "shared_out", f->shared_out);
	json_pair_u64(&j, "page_cache", f->cache);
	json_pair_u64(&j, "shmem", f->shmem_kept);
	json_object_end(&j);
	json_pair_u64(&j, "unreadable", unreadable);
	json_object_end(&j);
	json_finish(&j);
}

/* Prints the set's processes above the table: "1234 (name), ...". */
static void print_heading(const struct ml_scan *s, const pid_t *pids, int n)
{
	fputs("processes:", stdout);
	for (int i = 0; i < n; i++)
		printf("%s %d (%s)", i ? "," : "", (int)pids[i],
		       s->procs[ml_scan_find(s, pids[i])].comm);
	fputs("\n\n", stdout);
}

int freed_run(struct cli *cli)
{
	const pid_t *pids = cli->pids;
	int n = (int)cli->npids;
	uint32_t *set_of = NULL;
	struct ml_pages *pg = NULL;
	struct ml_scan s = {0};
	struct ml_freed f;
	struct json j;
	int rc = EXIT_ERROR;

	if (n == 0) {
		cli_warn("freed needs a PID");
		return EXIT_USAGE;
	}
	rc = procs_scan_pages(cli, ML_NEED_PAGEMAP, &s, &pg);
	if (rc >= 0)
		goto out;
	rc = EXIT_ERROR;
	set_of = malloc((s.nprocs + 1) * sizeof(*set_of));
	if (!set_of)
		goto out;
	for (size_t i = 0; i < s.nprocs; i++)
		set_of[i] = UINT32_MAX;
	for (int i = 0; i < n; i++) {
		long k = ml_scan_find(&s, pids[i]);
		if (k < 0) {
			cli_warn("no process %d (or it has no user memory, or cannot be read)",
			         (int)pids[i]);
			goto out;
		}
		set_of[k] = 0;
	}
	if (ml_pages_freed(pg, set_of, 1, &f) < 0)
		goto out;
	procs_report_unreadable(cli, &s);
	json_init(&j, stdout);
	if (cli->out.format == OUT_JSON) {
		print_json(pids, n, &f, s.unreadable);
	} else {
		if (cli->out.format == OUT_TABLE)
			print_heading(&s, pids, n);
		if (print_table(cli, &f, &j) < 0)
			goto out;
	}
	rc = EXIT_OK;
out:
	free(set_of);
	ml_pages_free(pg);
	ml_scan_free(&s);
	return rc;
}
