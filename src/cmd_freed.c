/* memledger freed PID...: what killing a set of processes would return, and what stays. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "commands.h"
#include "run.h"
#include "memledger.h"
#include "procs.h"
#include "view.h"

enum freed_field { F_NAME, F_SIZE };

static const struct colinfo infos[] = {
    {"NAME", COL_STR, OUT_TREE | OUT_TRUNC, F_NAME, "what is freed and what stays, and their parts",
     0, VIEW_TOTAL_NONE},
    {"SIZE", COL_SIZE, OUT_RIGHT, F_SIZE, "bytes", 0, VIEW_TOTAL_NONE},
};

static const char *const defaults[] = {"NAME", "SIZE"};

static const struct view_cols freed_cols = VIEW_COLS(infos, defaults);

/* A row of the breakdown. */
struct row {
	const char *name;
	uint64_t v;
};

static uint64_t row_number(const void *row, const struct colinfo *c)
{
	return c->id == F_SIZE ? ((const struct row *)row)->v : ML_UNKNOWN;
}

static const char *row_text(const void *row, const struct colinfo *c)
{
	return c->id == F_NAME ? ((const struct row *)row)->name : NULL;
}

#define KEPT_SHOWN 3 /* keepers named in a row: the rest are counted */

/* What else killing the set may free: the objects it shares with processes that keep
 * them alive. */
struct kept {
	struct ml_kept_object *v;
	long n;
	char **names;         /* "NAME, kept by PID comm, ..." per object */
	const char **objname; /* its name, as smaps names it (the ledger's) */
	uint64_t total;
};

static void kept_free(struct kept *k)
{
	for (long i = 0; k->names && i < k->n; i++)
		free(k->names[i]);
	free(k->names);
	free(k->objname);
	free(k->v);
}

/* Orders kept objects by size, largest first (then as the ledger lists them). */
static int larger_first(const void *a, const void *b)
{
	const struct ml_kept_object *x = a, *y = b;

	if (x->size != y->size)
		return x->size < y->size ? 1 : -1;
	return (x->object > y->object) - (x->object < y->object);
}

/* Finds the objects set 0 of set_of keeps with others, and names them. Returns 0 or
 * -ENOMEM. */
static int find_kept(const struct ml_pages *pg, const struct ml_scan *s, const uint32_t *set_of,
                     struct kept *k)
{
	*k = (struct kept){0};
	k->n = ml_pages_kept_objects(pg, set_of, 0, &k->v);
	if (k->n < 0 || !(k->names = calloc((size_t)k->n + 1, sizeof(*k->names))) ||
	    !(k->objname = calloc((size_t)k->n + 1, sizeof(*k->objname))))
		return -ENOMEM;
	if (k->n > 0)
		qsort(k->v, (size_t)k->n, sizeof(*k->v), larger_first);
	for (long i = 0; i < k->n; i++) {
		const struct ml_kept_object *o = &k->v[i];
		struct ml_shm_info info;
		char *text = NULL, *more;
		ml_pages_shm_info(pg, s, o->object, ML_OWNER_CREATOR, &info);
		k->objname[i] = info.name ? info.name : "?";
		if (asprintf(&text, "%s, kept by", k->objname[i]) < 0)
			return -ENOMEM;
		for (size_t j = 0; j < o->nkeepers && j < KEPT_SHOWN; j++) {
			const struct ml_proc *p = &s->procs[o->keepers[j]];
			char role[64];
			const char *what = procs_role(s, p, role, sizeof(role));
			if (asprintf(&more, "%s%s %d %s", text, j ? "," : "", (int)p->pid,
			             what && what[0] ? what : p->comm) < 0)
				return free(text), -ENOMEM;
			free(text);
			text = more;
		}
		if ((o->nkeepers > KEPT_SHOWN || o->more_keepers) &&
		    asprintf(&more, "%s and %s%zu more", text, o->more_keepers ? "over " : "",
		             o->nkeepers - (o->nkeepers < KEPT_SHOWN ? o->nkeepers : KEPT_SHOWN)) >=
		        0) {
			free(text);
			text = more;
		}
		k->names[i] = text;
		k->total = ml_add_u64(k->total, o->size);
	}
	return 0;
}

/* The breakdown as a table: what is freed, what stays, and what may also be freed (siblings
 * sorted by key, NULL: as here). Returns 0 or -errno. */
static int print_table(const struct cli *cli, const struct ml_freed *f, const struct kept *k,
                       const struct colinfo **cols, int ncols, const struct colinfo *key,
                       struct json *j)
{
	const struct row fixed[] = {
	    {f->exact ? "freed" : "freed, at least", ml_freed_total(f)},
	    {"anonymous", f->anon},
	    {"swap", f->swap},
	    {"shmem that dies with them", f->shmem},
	    {"page tables and kernel stacks", f->kernel},
	    {"stays", ml_add_u64(ml_add_u64(f->shared_out, f->cache), f->shmem_kept)},
	    {"shared with other processes", f->shared_out},
	    {"page cache", f->cache},
	    {"shmem that persists or others hold", f->shmem_kept},
	};
	static const unsigned fixed_depth[] = {0, 1, 1, 1, 1, 0, 1, 1, 1};
	size_t nfixed = sizeof(fixed) / sizeof(fixed[0]),
	       n = nfixed + (k->n ? 1 + (size_t)k->n : 0);
	struct row *rows = malloc(n * sizeof(*rows));
	unsigned *depth = malloc(n * sizeof(*depth));
	long *parent = malloc(n * sizeof(*parent));
	struct view_rows r = {
	    .rows = rows, .n = n, .size = sizeof(*rows), .number = row_number, .text = row_text};
	struct out_table *t = NULL;
	int rc = rows && depth && parent ? 0 : -ENOMEM;

	for (size_t i = 0; rc == 0 && i < n; i++) {
		long o = (long)i - (long)nfixed - 1; /* the kept objects after their heading */
		rows[i] = i < nfixed ? fixed[i]
		          : o < 0    ? (struct row){"may also be freed, if others let go", k->total}
		                     : (struct row){k->names[o], k->v[o].size};
		depth[i] = i < nfixed ? fixed_depth[i] : o < 0 ? 0 : 1;
	}
	if (rc == 0) {
		view_parents_of_depths(depth, n, parent);
		rc = view_tree_table(cli, "freed", "parts", &r, parent, -1, cols, ncols, key, &t);
	}
	free(rows);
	free(depth);
	free(parent);
	return rc < 0 ? rc : out_table_print_free(t, j);
}

/* The JSON document: {"pids", "freed", "exact", the parts, "stays", "unreadable",
 * "unreadable_pids"}. */
static void print_json(const struct cli *cli, const pid_t *pids, int n, const struct ml_freed *f,
                       const struct kept *k, const struct ml_scan *s)
{
	struct json j;

	json_init(&j, out_stream(&cli->out), cli->out.time);
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
	json_pair_u64(&j, "kernel", f->kernel);
	json_pair_u64(&j, "freed_max", ml_add_u64(ml_freed_total(f), k->total));
	json_key(&j, "may_also_be_freed");
	json_array_begin(&j);
	for (long i = 0; i < k->n; i++) {
		const struct ml_kept_object *o = &k->v[i];
		json_object_begin(&j);
		json_key(&j, "name");
		json_string(&j, k->objname[i]);
		json_pair_u64(&j, "size", o->size);
		json_key(&j, "kept_by");
		json_array_begin(&j);
		for (size_t q = 0; q < o->nkeepers; q++)
			json_u64(&j, (uint64_t)s->procs[o->keepers[q]].pid);
		json_array_end(&j);
		json_object_end(&j);
	}
	json_array_end(&j);
	json_key(&j, "stays");
	json_object_begin(&j);
	json_pair_u64(&j, "shared_out", f->shared_out);
	json_pair_u64(&j, "page_cache", f->cache);
	json_pair_u64(&j, "shmem", f->shmem_kept);
	json_object_end(&j);
	procs_json_unreadable(&j, s);
	json_object_end(&j);
	json_finish(&j);
}

/* Prints the set's processes above the table: "1234 (name), ...". */
static void print_heading(const struct cli *cli, const struct ml_scan *s, const pid_t *pids, int n)
{
	fputs("processes:", out_stream(&cli->out));
	for (int i = 0; i < n; i++)
		fprintf(out_stream(&cli->out), "%s %d (%s)", i ? "," : "", (int)pids[i],
		        s->procs[ml_scan_find(s, pids[i])].comm);
	fputs("\n\n", out_stream(&cli->out));
}

int cmd_freed(struct run *run)
{
	struct cli *cli = run->cli;
	const struct colinfo *cols[VIEW_MAX_COLS], *key;
	const pid_t *pids = cli->pids;
	int n = (int)cli->npids;
	uint32_t *set_of = NULL;
	struct ml_pages *pg = NULL;
	struct ml_scan s = {0};
	struct kept kept = {0};
	struct ml_freed f;
	struct json j;
	int ncols, rc;

	rc = view_begin(cli, &freed_cols, false, NULL, NULL, cols, &ncols, &key);
	if (rc != EXIT_GO_ON)
		return rc;
	if (cli->out.format == OUT_JSON && (cli->columns || cli->sort || cli->reverse)) {
		cli_warn("freed's JSON document has fixed members: -o, -s and -r are for tables");
		return EXIT_USAGE;
	}
	if (n == 0) {
		cli_warn("freed needs a PID");
		return EXIT_USAGE;
	}
	rc = procs_scan_pages(run, ML_NEED_PAGEMAP | ML_NEED_CMDLINE, &s, &pg); /* roles */
	if (rc != EXIT_GO_ON)
		goto out;
	rc = EXIT_ERROR;
	set_of = malloc((s.nprocs + 1) * sizeof(*set_of));
	if (!set_of) {
		cli_warn("out of memory");
		goto out;
	}
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
	if (ml_pages_freed(pg, set_of, 1, &f) < 0 || find_kept(pg, &s, set_of, &kept) < 0) {
		cli_warn("out of memory");
		goto out;
	}
	procs_report_unreadable(run, &s);
	json_init(&j, out_stream(&cli->out), cli->out.time);
	if (cli->out.format == OUT_JSON) {
		print_json(cli, pids, n, &f, &kept, &s);
	} else {
		if (cli->out.format == OUT_TABLE)
			print_heading(cli, &s, pids, n);
		if ((rc = print_table(cli, &f, &kept, cols, ncols, key, &j)) < 0) {
			out_failed(&cli->out, -rc);
			rc = EXIT_ERROR;
			goto out;
		}
	}
	rc = EXIT_OK;
out:
	kept_free(&kept);
	free(set_of);
	ml_pages_free(pg);
	ml_scan_free(&s);
	return rc;
}
