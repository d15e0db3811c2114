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
    {"NAME", COL_STR, OUT_TREE | OUT_KEY, F_NAME, "what is freed and what stays, and their parts",
     0, VIEW_TOTAL_NONE},
    {"SIZE", COL_SIZE, OUT_RIGHT, F_SIZE, "bytes; its total (-t): freed + stays, the set's pages",
     0, VIEW_TOTAL_SUM},
};

static const char *const defaults[] = {"NAME", "SIZE"};

static const struct view_cols freed_cols = VIEW_COLS(infos, defaults);

/* A row of the breakdown. */
struct row {
	const char *name;
	uint64_t v;
	bool part; /* a part of the row above it: not in the totals, which add freed and stays */
};

static uint64_t row_number(const void *row, const struct colinfo *c)
{
	return c->id == F_SIZE ? ((const struct row *)row)->v : ML_UNKNOWN;
}

static const char *row_text(const void *row, const struct colinfo *c)
{
	return c->id == F_NAME ? ((const struct row *)row)->name : NULL;
}

static bool row_untotalled(const void *row)
{
	return ((const struct row *)row)->part;
}

#define KEPT_SHOWN 3     /* keepers named in a row: the rest are counted */
#define KEPT_FEW   3     /* an object kept by more is not one the set's death frees */
#define KEPT_SMALL 65536 /* nor is one below this worth a row of its own */
#define KEPT_ROWS  8     /* rows of each class; the rest are counted */

/* What an object kept alive by others is, for the rows: kept by a few other processes
 * (a peer tab), by the app's long-lived processes alone (the browser, the GPU process),
 * or the rest (small, or kept by many), counted in one row. */
enum kept_class { KEPT_OTHERS, KEPT_LONG_LIVED, KEPT_REST, KEPT_NCLASSES };

static const char *const kept_class_names[] = {"others", "long-lived", "rest"};

/* What else killing the set may free: the objects it shares with processes that keep
 * them alive. */
struct kept {
	struct ml_kept_object *v;
	long n;
	char **names;         /* "NAME, kept by PID comm, ..." per object */
	const char **objname; /* its name, as smaps names it (the ledger's) */
	enum kept_class *cls;
	uint64_t total, class_total[KEPT_NCLASSES];
	size_t class_n[KEPT_NCLASSES];
	char long_lived[96]; /* the long-lived keepers' roles: "gpu-process, browser" */
};

/* True when role is one of an app's long-lived processes: any role but a renderer's (a
 * tab) and an Android app's name (a zygote's child has a dotted name). */
static bool long_lived(const char *role)
{
	return role && role[0] && strncmp(role, "renderer", 8) != 0 && !strchr(role, '.');
}

/* The class of kept object o, adding its keepers' roles to k->long_lived. */
static enum kept_class classify(const struct ml_kept_object *o, const struct ml_roles *roles,
                                struct kept *k)
{
	bool all_long = o->nkeepers > 0;

	if (o->more_keepers || o->nkeepers > KEPT_FEW || o->size < KEPT_SMALL)
		return KEPT_REST;
	for (size_t j = 0; j < o->nkeepers; j++)
		all_long &= long_lived(ml_roles_get(roles, o->keepers[j]));
	for (size_t j = 0; all_long && j < o->nkeepers; j++) {
		const char *role = ml_roles_get(roles, o->keepers[j]);
		size_t n = strlen(k->long_lived);
		if (!strstr(k->long_lived, role))
			snprintf(k->long_lived + n, sizeof(k->long_lived) - n, "%s%s",
			         n ? ", " : "", role);
	}
	return all_long ? KEPT_LONG_LIVED : KEPT_OTHERS;
}

static void kept_free(struct kept *k)
{
	for (long i = 0; k->names && i < k->n; i++)
		free(k->names[i]);
	free(k->names);
	free(k->objname);
	free(k->cls);
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
                     const struct ml_roles *roles, struct kept *k)
{
	*k = (struct kept){0};
	k->n = ml_pages_kept_objects(pg, set_of, 0, &k->v);
	if (k->n < 0 || !(k->names = calloc((size_t)k->n + 1, sizeof(*k->names))) ||
	    !(k->objname = calloc((size_t)k->n + 1, sizeof(*k->objname))) ||
	    !(k->cls = calloc((size_t)k->n + 1, sizeof(*k->cls))))
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
			const char *what = ml_roles_get(roles, o->keepers[j]);
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
		k->cls[i] = classify(o, roles, k);
		if (k->cls[i] != KEPT_REST && k->class_n[k->cls[i]] == KEPT_ROWS)
			k->cls[i] = KEPT_REST; /* the largest KEPT_ROWS of a class have rows */
		k->class_n[k->cls[i]]++;
		k->class_total[k->cls[i]] = ml_add_u64(k->class_total[k->cls[i]], o->size);
	}
	return 0;
}

/* What freed keeps between its rows and its document. */
struct freed_state {
	uint32_t *set_of; /* the set: 0 for its processes */
	pid_t *pids;      /* its processes: -p's in the order given, or those -u and -P keep */
	size_t npids;
	struct ml_freed f;
	struct kept kept;
	struct ml_roles roles;
	struct row *rows;
	char long_heading[160], rest[128]; /* rows' texts */
	pid_t browser; /* a renderer's browser, when the set holds one; 0: none */
};

/* Adds the rows of what may also be freed to rows and depth from *n on: a heading, then
 * the objects kept by a few other processes, those kept by the app's long-lived
 * processes alone (under headings of their own when there are some of those), and one
 * row for the rest. */
static void kept_rows(struct freed_state *st, struct row *rows, unsigned *depth, size_t *n)
{
	const struct kept *k = &st->kept;
	bool headings = k->class_n[KEPT_LONG_LIVED] > 0;

	if (!k->n)
		return;
	rows[*n] = (struct row){"may also be freed, if others let go", k->total, true};
	depth[(*n)++] = 0;
	for (int c = KEPT_OTHERS; c <= KEPT_LONG_LIVED; c++) {
		if (!k->class_n[c])
			continue;
		if (headings) {
			rows[*n] = (struct row){c == KEPT_OTHERS ? "kept by other processes"
			                                         : st->long_heading,
			                        k->class_total[c], true};
			depth[(*n)++] = 1;
		}
		for (long i = 0; i < k->n; i++)
			if (k->cls[i] == (enum kept_class)c) {
				rows[*n] = (struct row){k->names[i], k->v[i].size, true};
				depth[(*n)++] = headings ? 2 : 1;
			}
	}
	if (k->class_n[KEPT_REST]) {
		rows[*n] = (struct row){st->rest, k->class_total[KEPT_REST], true};
		depth[(*n)++] = 1;
	}
}

/* The browser of a renderer in the set (the first), through its ancestors that have a
 * role (a renderer's parent is the zygote, the zygote's the browser); 0 when none. */
static pid_t browser_of_set(const struct ml_scan *s, const struct freed_state *st)
{
	for (size_t i = 0; i < s->nprocs; i++) {
		const char *role = ml_roles_get(&st->roles, i);
		long up = (long)i;
		if (st->set_of[i] != 0 || !role || strncmp(role, "renderer", 8) != 0)
			continue;
		for (int hops = 0; hops < 8 && up >= 0; hops++) {
			const struct ml_proc *p = &s->procs[up];
			role = ml_roles_get(&st->roles, (size_t)up);
			if (role && strcmp(role, "browser") == 0)
				return p->pid;
			if (!role || !role[0] || !(p->have & ML_NEED_STATUS))
				break;
			up = ml_scan_find(s, (pid_t)p->status.ppid);
		}
	}
	return 0;
}

/* The set: -p's processes (and the PID operands), each found. Returns 0, or -errno after a
 * message. */
static int find_set(struct view_run *run, struct freed_state *st)
{
	const struct cli *cli = run->cli;
	const struct ml_scan *s = &run->scan;

	st->set_of = malloc((s->nprocs + 1) * sizeof(*st->set_of));
	st->pids = malloc((s->nprocs + 1) * sizeof(*st->pids));
	if (!st->set_of || !st->pids)
		return -ENOMEM;
	for (size_t i = 0; i < s->nprocs; i++) /* without -p, every process to begin with */
		st->set_of[i] = cli->npids ? UINT32_MAX : 0;
	for (size_t i = 0; i < cli->npids; i++) {
		pid_t pid = cli->pids[i];
		long k = ml_scan_find(s, pid);
		if (k < 0 && procs_pid_listed(s->unreadable_pids, s->unreadable, pid)) {
			run_warn(run->run,
			         "cannot tell what killing %d gives back: it could not be "
			         "read (see above)",
			         (int)pid);
			return -ENOENT;
		}
		if (k < 0) {
			run_warn(run->run, "no process %d (or it has no user memory)", (int)pid);
			return -ENOENT;
		}
		st->set_of[k] = 0;
	}
	for (size_t i = 0; i < s->nprocs; i++) /* and those -u and -P keep, as ps takes them */
		if (st->set_of[i] == 0 && !procs_keep(&s->procs[i], (void *)cli))
			st->set_of[i] = UINT32_MAX;
	for (size_t i = 0; i < (cli->npids ? cli->npids : s->nprocs); i++) { /* -p's order */
		long k = cli->npids ? ml_scan_find(s, cli->pids[i]) : (long)i;
		if (st->set_of[k] == 0)
			st->pids[st->npids++] = s->procs[k].pid;
	}
	if (st->npids == 0) {
		run_warn(run->run, "no process matches %s", cli->have_uid ? "-u" : "-P");
		return -ENOENT;
	}
	return 0;
}

/* The breakdown: what is freed, what stays, and what may also be freed, as a tree (a
 * view_def's rows). Returns 0 or -errno. */
static int freed_rows(struct view_run *run)
{
	struct freed_state *st = calloc(1, sizeof(*st));
	const struct ml_freed *f = &st->f;
	static const unsigned fixed_depth[] = {0, 1, 1, 1, 1, 0, 1, 1, 1};
	size_t nfixed = sizeof(fixed_depth) / sizeof(fixed_depth[0]), n;
	unsigned *depth;
	int rc;

	run->state = st;
	if (!st)
		return -ENOMEM;
	if ((rc = find_set(run, st)) < 0)
		return rc;
	if (ml_pages_freed(run->pages, st->set_of, 1, &st->f) < 0 ||
	    ml_roles_make(&st->roles, &run->scan) < 0 ||
	    find_kept(run->pages, &run->scan, st->set_of, &st->roles, &st->kept) < 0)
		return -ENOMEM;
	const struct row fixed[] = {
	    {f->exact ? "freed" : "freed, at least", ml_freed_total(f), false},
	    {"anonymous", f->anon, true},
	    {"swap", f->swap, true},
	    {"shmem that dies with them", f->shmem, true},
	    {"page tables and kernel stacks", f->kernel, true},
	    {"stays", ml_add_u64(ml_add_u64(f->shared_out, f->cache), f->shmem_kept), false},
	    {"shared with other processes", f->shared_out, true},
	    {"page cache", f->cache, true},
	    {"shmem that persists or others hold", f->shmem_kept, true},
	};
	n = nfixed + (st->kept.n ? 1 + 2 + (size_t)st->kept.n : 0); /* at most */
	st->rows = malloc(n * sizeof(*st->rows));
	depth = malloc(n * sizeof(*depth));
	run->parent = malloc(n * sizeof(*run->parent));
	if (!st->rows || !depth || !run->parent) {
		free(depth);
		return -ENOMEM;
	}
	snprintf(st->long_heading, sizeof(st->long_heading),
	         "kept by the app's long-lived processes (%s)", st->kept.long_lived);
	snprintf(st->rest, sizeof(st->rest),
	         "%zu more: each under %dK, or kept by more than %d processes",
	         st->kept.class_n[KEPT_REST], KEPT_SMALL / 1024, KEPT_FEW);
	for (n = 0; n < nfixed; n++) {
		st->rows[n] = fixed[n];
		depth[n] = fixed_depth[n];
	}
	kept_rows(st, st->rows, depth, &n);
	st->browser = browser_of_set(&run->scan, st);
	view_parents_of_depths(depth, n, run->parent);
	free(depth);
	run->rows = (struct view_rows){.rows = st->rows,
	                               .n = n,
	                               .size = sizeof(*st->rows),
	                               .number = row_number,
	                               .text = row_text,
	                               .untotalled = row_untotalled};
	return 0;
}

/* The JSON document: {"pids", "freed", "exact", the parts, "freed_max",
 * "may_also_be_freed", "stays", "breakdown" (the table's rows) and its "totals",
 * "unreadable", "unreadable_pids"}. Frees t. Returns 0 or -errno. */
static int print_json(const struct view_run *run, struct out_table *t)
{
	const struct cli *cli = run->cli;
	const struct freed_state *st = run->state;
	const struct ml_freed *f = &st->f;
	const struct kept *k = &st->kept;
	const struct ml_scan *s = &run->scan;
	struct json j;
	int rc;

	json_init(&j, out_stream(&cli->out), cli->out.time);
	json_object_begin(&j);
	json_key(&j, "pids");
	json_array_begin(&j);
	for (size_t i = 0; i < st->npids; i++)
		json_u64(&j, (uint64_t)st->pids[i]);
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
		json_key(&j, "class");
		json_string(&j, kept_class_names[k->cls[i]]);
		json_object_end(&j);
	}
	json_array_end(&j);
	json_key(&j, "browser"); /* of a renderer of the set: it may hold more for it */
	if (st->browser)
		json_u64(&j, (uint64_t)st->browser);
	else
		json_null(&j);
	json_key(&j, "stays");
	json_object_begin(&j);
	json_pair_u64(&j, "shared_out", f->shared_out);
	json_pair_u64(&j, "page_cache", f->cache);
	json_pair_u64(&j, "shmem", f->shmem_kept);
	json_object_end(&j);
	rc = out_table_print_free(t, &j);
	procs_json_unreadable(&j, s);
	json_object_end(&j);
	json_finish(&j);
	return rc;
}

/* The document: the set's processes above the table ("processes: 1234 (name), ..."), or
 * JSON's members around it (a view_def's print). Frees t. Returns 0 or -errno. */
static int freed_print(struct view_run *run, struct out_table *t)
{
	const struct cli *cli = run->cli;
	const struct freed_state *st = run->state;
	const struct ml_scan *s = &run->scan;
	FILE *out = out_stream(&cli->out);
	struct json j;
	int rc;

	if (cli->out.format == OUT_JSON)
		return print_json(run, t);
	if (cli->out.format == OUT_TABLE) {
		fputs("processes:", out);
		for (size_t i = 0; i < st->npids; i++)
			fprintf(out, "%s %d (%s)", i ? "," : "", (int)st->pids[i],
			        s->procs[ml_scan_find(s, st->pids[i])].comm);
		fputs("\n\n", out);
	}
	json_init(&j, out, NULL);
	rc = out_table_print_free(t, &j);
	if (rc == 0 && st->browser && cli->out.format == OUT_TABLE)
		fprintf(
		    out,
		    "\nnot in these figures: what the browser process (%d) holds for this "
		    "renderer\n"
		    "(Blobs, caches): no page of the renderer shows it, and closing its tab may\n"
		    "give that back too.\n",
		    (int)st->browser);
	return rc;
}

static int freed_begin(struct view_run *run)
{
	if (run->cli->npids == 0 && !run->cli->have_uid && !run->cli->have_regex) {
		cli_warn("freed needs the processes: PIDs, or -u USER, -P REGEX");
		return EXIT_USAGE;
	}
	return EXIT_GO_ON;
}

static void freed_end(struct view_run *run)
{
	struct freed_state *st = run->state;

	if (!st)
		return;
	kept_free(&st->kept);
	ml_roles_free(&st->roles);
	free(st->set_of);
	free(st->pids);
	free(st->rows);
	free(st);
}

static const struct view_def freed_view = {
    .name = "breakdown",
    .cols = &freed_cols,
    .needs = ML_NEED_PAGEMAP | ML_NEED_CMDLINE, /* the page ledger; the keepers' roles */
    .children_key = "parts",
    .begin = freed_begin,
    .rows = freed_rows,
    .print = freed_print,
    .end = freed_end,
};

int cmd_freed(struct run *run)
{
	return view_run(run, &freed_view);
}
