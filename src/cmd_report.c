/*
 * memledger report: one self-contained HTML page of where memory goes (the system's rows
 * as a stacked bar, a treemap of PSS by group, process and kind, the top groups and
 * processes as bars, sortable tables, the manifest), or one chart alone as SVG. The
 * charts are laid out here (svg.c), so the page renders with JavaScript off; the figures
 * are embedded once as one JSON block; nothing is fetched from anywhere.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#include "file.h"
#include "json.h"
#include "memledger/ledger.h"
#include "memledger/maps.h"
#include "memledger/source.h"
#include "metrics.h"
#include "procs.h"
#include "commands.h"
#include "run.h"
#include "memledger.h"
#include "svg.h"
#include "memledger/group.h"

#ifndef MEMLEDGER_VERSION
#define MEMLEDGER_VERSION "unknown"
#endif

#define WIDTH          1100.0
#define TREEMAP_HEIGHT 620.0
#define TOP_ROWS       15

enum chart { CHART_NONE = -1, CHART_TREEMAP, CHART_BAR, CHART_SYSTEM };
static const char *const chart_names[] = {"treemap", "bar", "system"};

/* Where the figures were read: the manifest of a snapshot, or this machine now. */
struct origin {
	char host[256], kernel[512], time[64];
	bool snapshot;
};

/* The value of "key: " in a manifest, into buf. */
static void manifest_value(const char *text, const char *key, char *buf, size_t len)
{
	size_t klen = strlen(key);

	for (const char *p = text; p && *p; p = strchr(p, '\n') ? strchr(p, '\n') + 1 : NULL) {
		if (strncmp(p, key, klen) == 0 && p[klen] == ':' && p[klen + 1] == ' ') {
			const char *v = p + klen + 2;
			size_t n = strcspn(v, "\n");
			snprintf(buf, len, "%.*s", (int)n, v);
			return;
		}
	}
}

/* Where the figures come from: a snapshot's manifest (read alone, not the archive again),
 * this machine now, or the directory given. */
static void read_origin(const struct run *run, struct origin *o)
{
	size_t len;
	const char *manifest = run->src
	                           ? ml_source_archive_file(run->src, "memledger-manifest", &len)
	                           : NULL; /* of the source read: not opened again */

	memset(o, 0, sizeof(*o));
	if (run->path && manifest) {
		o->snapshot = true;
		manifest_value(manifest, "hostname", o->host, sizeof(o->host));
		manifest_value(manifest, "kernel", o->kernel, sizeof(o->kernel));
		manifest_value(manifest, "time", o->time, sizeof(o->time));
	} else if (!run->path) {
		struct utsname u;
		struct tm tm;
		time_t now = time(NULL);
		if (uname(&u) == 0) {
			snprintf(o->host, sizeof(o->host), "%s", u.nodename);
			snprintf(o->kernel, sizeof(o->kernel), "%s %s", u.release, u.version);
		}
		gmtime_r(&now, &tm);
		strftime(o->time, sizeof(o->time), "%Y-%m-%dT%H:%M:%SZ", &tm);
	} else {
		snprintf(o->host, sizeof(o->host), "%s", run->path);
	}
}

static uint64_t pss_or_0(uint64_t v)
{
	return v == ML_UNKNOWN ? 0 : v;
}

static int cmp_proc_pss(const void *a, const void *b, void *ctx)
{
	const struct ml_scan *s = ctx;
	const struct ml_proc *p = &s->procs[*(const size_t *)a], *q = &s->procs[*(const size_t *)b];
	uint64_t x = pss_or_0(ml_proc_metric(p, ML_PSS)), y = pss_or_0(ml_proc_metric(q, ML_PSS));

	if (x != y)
		return (x < y) - (x > y);
	return (p->pid > q->pid) - (p->pid < q->pid);
}

/* Process indexes of the scan, most PSS first (PID breaks ties); NULL when out of memory. */
static size_t *by_pss(const struct ml_scan *s)
{
	size_t *order = malloc((s->nprocs + 1) * sizeof(*order));

	for (size_t i = 0; order && i < s->nprocs; i++)
		order[i] = i;
	if (order)
		qsort_r(order, s->nprocs, sizeof(*order), cmp_proc_pss, (void *)s);
	return order;
}

static int cmp_group_pss(const void *a, const void *b, void *ctx)
{
	const struct ml_grouping *g = ctx;
	struct ml_group_figures x, y;

	ml_group_figures(&g->groups[*(const size_t *)a], &x);
	ml_group_figures(&g->groups[*(const size_t *)b], &y);
	x.pss = pss_or_0(x.pss);
	y.pss = pss_or_0(y.pss);
	if (x.pss != y.pss)
		return (x.pss < y.pss) - (x.pss > y.pss);
	return (*(const size_t *)a > *(const size_t *)b) -
	       (*(const size_t *)a < *(const size_t *)b);
}

/* Group indexes, most PSS first; NULL when out of memory. */
static size_t *groups_by_pss(const struct ml_grouping *g)
{
	size_t *order = malloc((g->ngroups + 1) * sizeof(*order));

	for (size_t k = 0; order && k < g->ngroups; k++)
		order[k] = k;
	if (order)
		qsort_r(order, g->ngroups, sizeof(*order), cmp_group_pss, (void *)g);
	return order;
}

/* "comm PID" of process i of m, with its role when it has one ("chromium 412 renderer"):
 * malloc'ed, NULL when out of memory. */
static char *role_label(const struct metrics *m, size_t i)
{
	const struct ml_proc *p = &m->scan.procs[i];
	const char *role = ml_roles_get(&m->roles, i);
	char *text = NULL;

	if (asprintf(&text, "%s %d%s%s", p->comm[0] ? p->comm : "-", (int)p->pid,
	             role && role[0] ? " " : "", role ? role : "") < 0)
		return NULL;
	return text;
}

/* The third level of process p's treemap: its PSS by class (--classes), else by kind
 * (smaps_rollup's Pss_Anon, Pss_File, Pss_Shmem). Returns 0 or -ENOMEM. */
static int process_parts(const struct ml_proc *p, struct tm_node *pn, unsigned hue)
{
	static const char *const kinds[] = {"anon", "file", "shmem"};
	static const enum ml_metric kind_metric[] = {ML_ANON, ML_FILE, ML_SHMEM};
	size_t n = p->heaps ? ML_CLASS_COUNT : 3;

	if (!(pn->kids = calloc(n, sizeof(*pn->kids))))
		return -ENOMEM;
	for (size_t t = 0; t < n; t++) {
		uint64_t v = p->heaps ? p->heaps->cls[t].mem.v[ML_MEM_PSS]
		                      : ml_proc_metric(p, kind_metric[t]);
		if (v == ML_UNKNOWN || v == 0)
			continue;
		struct tm_node *kn = &pn->kids[pn->nkids++];
		kn->label = strdup(p->heaps ? ml_class_name((enum ml_class)t) : kinds[t]);
		kn->value = v;
		kn->hue = hue;
		kn->shade = (unsigned)t;
		if (!kn->label)
			return -ENOMEM;
		pn->value += v;
	}
	return 0;
}

/* The treemap: groups, their processes, each process's PSS by class or by kind
 * (process_parts). Returns 0 or -ENOMEM. */
static int make_treemap(const struct metrics *m, struct tm_node *root)
{
	const struct ml_grouping *g = &m->groups;
	size_t *fill = calloc(g->ngroups + 1, sizeof(*fill));

	memset(root, 0, sizeof(*root));
	root->kids = calloc(g->ngroups + 1, sizeof(*root->kids));
	if (!fill || !root->kids) {
		free(fill);
		return -ENOMEM;
	}
	root->nkids = g->ngroups;
	for (size_t k = 0; k < g->ngroups; k++) {
		struct tm_node *gn = &root->kids[k];
		gn->label = strdup(g->groups[k].name ? g->groups[k].name : "-");
		gn->hue = (unsigned)((k * 137) % 360); /* the golden angle: neighbours differ */
		gn->kids = calloc(g->groups[k].nprocs + 1, sizeof(*gn->kids));
		if (!gn->label || !gn->kids)
			goto nomem;
	}
	for (size_t i = 0; i < m->scan.nprocs; i++) {
		const struct ml_proc *p = &m->scan.procs[i];
		struct tm_node *gn = &root->kids[g->set_of[i]],
		               *pn = &gn->kids[fill[g->set_of[i]]++];
		uint64_t pss = ml_proc_metric(p, ML_PSS);
		char pid[24];
		gn->nkids++;
		snprintf(pid, sizeof(pid), "%d", (int)p->pid);
		pn->hue = gn->hue;
		pn->label = role_label(m, i);
		if (!pn->label || process_parts(p, pn, gn->hue) < 0)
			goto nomem;
		if (!pn->nkids && pss != ML_UNKNOWN) /* no split by kind: PSS whole */
			pn->value = pss;
		gn->value += pn->value;
		root->value += pn->value;
	}
	free(fill);
	return 0;
nomem:
	free(fill);
	return -ENOMEM;
}

static void chart_treemap(FILE *f, const struct metrics *m)
{
	struct tm_node root;

	if (make_treemap(m, &root) == 0) {
		tm_layout(&root, 0, 0, WIDTH, TREEMAP_HEIGHT);
		svg_treemap(f, &root, WIDTH, TREEMAP_HEIGHT, "treemap");
	}
	tm_free(&root);
}

static void chart_system(FILE *f, const struct metrics *m)
{
	struct svg_part parts[ML_SYSTEM_MAX_ROWS];
	size_t n = 0;

	for (size_t i = 0; i < m->sys.nrows; i++)
		if (!m->sys.rows[i].depth)
			parts[n++] = (struct svg_part){m->sys.rows[i].name, m->sys.rows[i].bytes};
	svg_stacked_bar(f, parts, n,
	                m->sys.physical != ML_UNKNOWN ? m->sys.physical : m->sys.mi[ML_MI_MEMTOTAL],
	                WIDTH, "system-bar");
}

/* Bars of the top groups and of the top processes: USS, shared (PSS - USS), swap
 * (SwapPss), FREED (exact). */
static void chart_bars(FILE *f, const struct metrics *m, bool groups)
{
	struct svg_hbar rows[TOP_ROWS];
	char labels[TOP_ROWS][96];
	size_t n = 0, *order = groups ? groups_by_pss(&m->groups) : by_pss(&m->scan);
	size_t total = groups ? m->groups.ngroups : m->scan.nprocs;

	for (size_t j = 0; order && j < total && n < TOP_ROWS; j++, n++) {
		uint64_t pss, uss, swap, mark = ML_UNKNOWN;
		if (groups) {
			const struct ml_named_group *g = &m->groups.groups[order[j]];
			struct ml_group_figures fig;
			ml_group_figures(g, &fig);
			pss = fig.pss;
			uss = fig.uss;
			swap = ML_UNKNOWN;
			mark = g->freed.exact ? fig.freed : ML_UNKNOWN;
			snprintf(labels[n], sizeof(labels[n]), "%s (%zu)", g->name ? g->name : "-",
			         g->nprocs);
		} else {
			const struct ml_proc *p = &m->scan.procs[order[j]];
			const char *role = ml_roles_get(&m->roles, order[j]);
			pss = ml_proc_metric(p, ML_PSS);
			uss = ml_proc_metric(p, ML_USS);
			swap = ml_proc_metric(p, ML_SWAPPSS);
			snprintf(labels[n], sizeof(labels[n]), "%d %s%s%s", (int)p->pid, p->comm,
			         role && role[0] ? " " : "", role ? role : "");
		}
		rows[n] = (struct svg_hbar){
		    labels[n], uss,
		    pss == ML_UNKNOWN || uss == ML_UNKNOWN || uss > pss ? ML_UNKNOWN : pss - uss,
		    swap, mark};
	}
	svg_hbars(f, rows, n, WIDTH, groups ? "top-groups" : "top-processes");
	free(order);
}

/* "If memory runs out": the kernel OOM killer's first victims (memledger oom's order over
 * the whole system), what the kills up to each give back, and the RAM then free. Needs
 * the page ledger (--exact) for what each kill gives back; says so without it. */
static void chart_oom(FILE *f, const struct metrics *m)
{
	size_t nprocs = m->scan.nprocs, n = 0;
	uint32_t *rank = malloc((nprocs + 1) * sizeof(*rank));
	size_t *who = calloc(nprocs + 1, sizeof(*who));
	struct ml_freed *out = NULL;
	struct svg_kill rows[TOP_ROWS];
	char *labels[TOP_ROWS] = {0};
	uint64_t cum = 0;

	for (size_t i = 0; rank && who && i < nprocs; i++) {
		rank[i] = m->oom_place[i] ? m->oom_place[i] - 1 : UINT32_MAX;
		if (m->oom_place[i]) {
			who[m->oom_place[i] - 1] = i;
			n++;
		}
	}
	if (rank && who && n && m->pages && (out = calloc(n + 1, sizeof(*out))) &&
	    ml_pages_freed_order(m->pages, rank, n, out) < 0) {
		free(out);
		out = NULL;
	}
	if (!out) {
		fputs("<p>What each kill gives back needs the page frames: <code>memledger report "
		      "--exact</code> (root), or <code>memledger oom</code>.</p>\n",
		      f);
	} else {
		size_t shown = n < TOP_ROWS ? n : TOP_ROWS;
		for (size_t k = 0; k < shown; k++) {
			uint64_t freed = ml_freed_total(&out[k]);
			cum = ml_add_u64(cum, freed);
			labels[k] = role_label(m, who[k]);
			rows[k] = (struct svg_kill){labels[k] ? labels[k] : "-", freed, cum};
		}
		svg_kills(f, rows, shown, m->have_sys ? m->sys.mi[ML_MI_MEMFREE] : ML_UNKNOWN,
		          m->have_sys ? m->sys.mi[ML_MI_MEMTOTAL] : ML_UNKNOWN, WIDTH, "oom");
		for (size_t k = 0; k < shown; k++)
			free(labels[k]);
	}
	free(out);
	free(rank);
	free(who);
}

/* The figures, once, as one JSON document. */
static void write_data(FILE *f, const struct metrics *m, const struct origin *o, bool exact)
{
	const struct ml_scan *s = &m->scan;
	struct ml_user_cache users = {.android = s->android};
	struct json j;

	json_init(&j, f, NULL);
	json_object_begin(&j);
	json_key(&j, "memledger");
	json_string(&j, MEMLEDGER_VERSION);
	json_key(&j, "manifest");
	json_object_begin(&j);
	json_key(&j, "host");
	json_string(&j, o->host);
	json_key(&j, "kernel");
	json_string(&j, o->kernel);
	json_key(&j, "time");
	json_string(&j, o->time);
	json_key(&j, "snapshot");
	json_bool(&j, o->snapshot);
	json_object_end(&j);
	json_key(&j, "by");
	json_string(&j, ml_group_key_name(m->groups.by));
	json_key(&j, "exact");
	json_bool(&j, exact && m->pages && ml_pages_exact(m->pages));
	json_key(&j, "system");
	json_object_begin(&j);
	json_pair_u64(&j, "physical",
	              m->sys.physical != ML_UNKNOWN ? m->sys.physical : m->sys.mi[ML_MI_MEMTOTAL]);
	json_key(&j, "rows");
	json_array_begin(&j);
	for (size_t i = 0; m->have_sys && i < m->sys.nrows; i++) {
		if (m->sys.rows[i].depth)
			continue;
		json_object_begin(&j);
		json_key(&j, "name");
		json_string(&j, m->sys.rows[i].name);
		json_pair_u64(&j, "bytes", m->sys.rows[i].bytes);
		json_object_end(&j);
	}
	json_array_end(&j);
	json_pair_u64(&j, "swap_total", m->sys.mi[ML_MI_SWAPTOTAL]);
	json_pair_u64(&j, "swap_used", m->sys.swap_used);
	json_pair_u64(&j, "zram", m->sys.zram);
	json_pair_u64(&j, "committed_as", m->sys.mi[ML_MI_COMMITTED_AS]);
	json_pair_u64(&j, "commit_limit", m->sys.mi[ML_MI_COMMITLIMIT]);
	json_object_end(&j);
	json_key(&j, "groups");
	json_array_begin(&j);
	for (size_t k = 0; k < m->groups.ngroups; k++) {
		const struct ml_named_group *g = &m->groups.groups[k];
		struct ml_group_figures fig;
		ml_group_figures(g, &fig);
		json_object_begin(&j);
		json_key(&j, "name");
		if (g->name)
			json_string(&j, g->name);
		else
			json_null(&j);
		json_pair_u64(&j, "procs", g->nprocs);
		json_pair_u64(&j, "pss", fig.pss);
		json_pair_u64(&j, "uss", fig.uss);
		json_pair_u64(&j, "freed", fig.freed);
		json_pair_u64(&j, "shared-out", fig.shared_out);
		json_pair_u64(&j, "footprint", fig.footprint);
		json_object_end(&j);
	}
	json_array_end(&j);
	json_key(&j, "processes");
	json_array_begin(&j);
	for (size_t i = 0; i < s->nprocs; i++) {
		const struct ml_proc *p = &s->procs[i];
		const char *user = ml_user_name(&users, ml_proc_uid(p));
		char *command = procs_command(p);
		json_object_begin(&j);
		json_pair_u64(&j, "pid", (uint64_t)p->pid);
		json_key(&j, "user");
		if (user)
			json_string(&j, user);
		else
			json_null(&j);
		json_pair_u64(&j, "pss", ml_proc_metric(p, ML_PSS));
		json_pair_u64(&j, "uss", ml_proc_metric(p, ML_USS));
		json_pair_u64(&j, "rss", ml_proc_metric(p, ML_RSS));
		json_pair_u64(&j, "swap", ml_proc_metric(p, ML_SWAP));
		json_pair_u64(&j, "footprint", ml_proc_metric(p, ML_FOOTPRINT));
		json_pair_u64(&j, "anon", ml_proc_metric(p, ML_ANON));
		json_pair_u64(&j, "file", ml_proc_metric(p, ML_FILE));
		json_pair_u64(&j, "shmem", ml_proc_metric(p, ML_SHMEM));
		json_key(&j, "role");
		if (ml_roles_get(&m->roles, i))
			json_string(&j, ml_roles_get(&m->roles, i));
		else
			json_null(&j);
		json_key(&j, "command");
		json_string(&j, command ? command : "");
		json_object_end(&j);
		free(command);
	}
	json_array_end(&j);
	procs_json_unreadable(&j, s);
	json_object_end(&j);
	json_finish(&j);
	ml_user_cache_free(&users);
}

/* The JSON document made safe inside <script>: <, > and & as \u escapes (JSON strings
 * and the document's structure stay as they were). */
static void script_json(FILE *f, const char *text, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		if (text[i] == '<')
			fputs("\\u003c", f);
		else if (text[i] == '>')
			fputs("\\u003e", f);
		else if (text[i] == '&')
			fputs("\\u0026", f);
		else
			fputc(text[i], f);
	}
}

static void size_cell(FILE *f, uint64_t v)
{
	char buf[32];

	if (v == ML_UNKNOWN) {
		fputs("<td class=\"num\" data-v=\"\">-</td>", f);
		return;
	}
	out_format_size(v, buf, sizeof(buf));
	fprintf(f, "<td class=\"num\" data-v=\"%llu\">%s</td>", (unsigned long long)v, buf);
}

static void heading(FILE *f, const char *const *names, size_t n)
{
	fputs("<thead><tr>", f);
	for (size_t i = 0; i < n; i++)
		fprintf(f, "<th>%s</th>", names[i]);
	fputs("</tr></thead>\n<tbody>\n", f);
}

static void table_groups(FILE *f, const struct metrics *m)
{
	static const char *const cols[] = {"NAME",  "PROCS",      "PSS",      "USS",
	                                   "FREED", "SHARED-OUT", "FOOTPRINT"};
	size_t *order = groups_by_pss(&m->groups);

	fputs("<table id=\"groups\" class=\"sortable\">\n", f);
	heading(f, cols, sizeof(cols) / sizeof(cols[0]));
	for (size_t j = 0; order && j < m->groups.ngroups; j++) {
		const struct ml_named_group *g = &m->groups.groups[order[j]];
		struct ml_group_figures fig;
		ml_group_figures(g, &fig);
		fputs("<tr><td>", f);
		xml_text(f, g->name ? g->name : "-");
		fprintf(f, "</td><td class=\"num\" data-v=\"%zu\">%zu</td>", g->nprocs, g->nprocs);
		size_cell(f, fig.pss);
		size_cell(f, fig.uss);
		size_cell(f, fig.freed);
		size_cell(f, fig.shared_out);
		size_cell(f, fig.footprint);
		fputs("</tr>\n", f);
	}
	fputs("</tbody></table>\n", f);
	free(order);
}

static void table_processes(FILE *f, const struct metrics *m)
{
	static const char *const cols[] = {"PID",  "USER",      "PSS",  "USS",    "RSS",
	                                   "SWAP", "FOOTPRINT", "ROLE", "COMMAND"};
	size_t *order = by_pss(&m->scan);
	struct ml_user_cache users = {.android = m->scan.android};

	fputs("<table id=\"processes\" class=\"sortable\">\n", f);
	heading(f, cols, sizeof(cols) / sizeof(cols[0]));
	for (size_t j = 0; order && j < m->scan.nprocs; j++) {
		const struct ml_proc *p = &m->scan.procs[order[j]];
		const char *user = ml_user_name(&users, ml_proc_uid(p));
		char *command = procs_command(p);
		fprintf(f, "<tr><td class=\"num\" data-v=\"%d\">%d</td><td>", (int)p->pid,
		        (int)p->pid);
		xml_text(f, user ? user : "-");
		fputs("</td>", f);
		size_cell(f, ml_proc_metric(p, ML_PSS));
		size_cell(f, ml_proc_metric(p, ML_USS));
		size_cell(f, ml_proc_metric(p, ML_RSS));
		size_cell(f, ml_proc_metric(p, ML_SWAP));
		size_cell(f, ml_proc_metric(p, ML_FOOTPRINT));
		fputs("<td>", f);
		xml_text(f, ml_roles_get(&m->roles, order[j]) ? ml_roles_get(&m->roles, order[j])
		                                              : "-");
		fputs("</td><td class=\"cmd\">", f);
		xml_text(f, command ? command : "");
		fputs("</td></tr>\n", f);
		free(command);
	}
	fputs("</tbody></table>\n", f);
	ml_user_cache_free(&users);
	free(order);
}

/* The shared memory objects of the page ledger (an --exact report), owners as shm's
 * default policy gives them. */
static void table_shm(FILE *f, const struct metrics *m)
{
	static const char *const cols[] = {"KIND", "NAME",    "SIZE",  "RESIDENT",
	                                   "SWAP", "MAPPERS", "OWNER", "PERSISTS"};
	size_t count = ml_pages_shm_count(m->pages);

	fputs("<table id=\"shm\" class=\"sortable\">\n", f);
	heading(f, cols, sizeof(cols) / sizeof(cols[0]));
	for (size_t o = 0; o < count; o++) {
		struct ml_shm_info info;
		char sysv[32], *owner = NULL;
		ml_pages_shm_info(m->pages, &m->scan, o, ML_OWNER_RESIDENT, &info);
		snprintf(sysv, sizeof(sysv), "/SYSV%08x", (unsigned)info.sysv_key);
		if (info.owner >= 0)
			owner = ml_scan_pid_label(&m->scan, m->scan.procs[info.owner].pid);
		fputs("<tr><td>", f);
		xml_text(f, ml_kind_name(info.kind));
		fputs("</td><td>", f);
		xml_text(f, info.name ? info.name : sysv);
		fputs("</td>", f);
		size_cell(f, info.length);
		size_cell(f, info.resident);
		size_cell(f, info.swap);
		fprintf(f, "<td class=\"num\" data-v=\"%zu\">%zu</td><td>", info.mappers,
		        info.mappers);
		xml_text(f, owner ? owner : "-");
		fprintf(f, "</td><td>%s</td></tr>\n", info.persists ? "yes" : "no");
		free(owner);
	}
	fputs("</tbody></table>\n", f);
}

static const char style[] =
    "body{font:14px/1.4 system-ui,sans-serif;margin:1.5em auto;max-width:1140px;color:#222}"
    "h1{font-size:1.5em}h2{font-size:1.15em;margin-top:1.8em;border-bottom:1px solid #ccc}"
    "table{border-collapse:collapse;width:100%;font-size:13px}"
    "th,td{padding:2px 6px;border-bottom:1px solid #eee;text-align:left}"
    "th{cursor:pointer;background:#f4f4f4;position:sticky;top:0}"
    "td.num{text-align:right;font-variant-numeric:tabular-nums}"
    "td.cmd{max-width:420px;overflow:hidden;text-overflow:ellipsis;white-space:nowrap}"
    ".treemap rect.group{cursor:zoom-in}.facts span{margin-right:2em}"
    "dl{display:grid;grid-template-columns:max-content auto;gap:2px 1em}dt{font-weight:600}"
    "svg{max-width:100%;height:auto}";

/* Sorting by a click on a heading (data-v: the number; #sort=TABLE:COLUMN[:up] in the
 * address sorts at load, descending unless :up), and zooming the treemap into a group by
 * a click on it (a click on the zoomed group, or Escape, zooms out). */
static const char script[] =
    "(function(){'use strict';"
    "document.querySelectorAll('table.sortable th').forEach(function(th){var col=th.cellIndex;"
    "th.addEventListener('click',function(){"
    "var body=th.closest('table').tBodies[0],rows=Array.from(body.rows),"
    "up=th.dataset.dir!=='up';th.dataset.dir=up?'up':'down';"
    "rows.sort(function(a,b){var x=a.cells[col],y=b.cells[col];"
    "if('v' in x.dataset){var p=x.dataset.v===''?-1:+x.dataset.v,"
    "q=y.dataset.v===''?-1:+y.dataset.v;return up?p-q:q-p}"
    "return up?x.textContent.localeCompare(y.textContent):"
    "y.textContent.localeCompare(x.textContent)});"
    "rows.forEach(function(r){body.appendChild(r)})})});"
    "var m=/^#sort=(\\w+):(\\d+)(:up)?$/.exec(location.hash),"
    "th=m&&document.querySelectorAll('#'+m[1]+' th')[+m[2]];"
    "if(th){if(!m[3])th.dataset.dir='up';th.click()}"
    "var tm=document.getElementById('treemap');if(!tm)return;"
    "var whole=tm.getAttribute('viewBox'),zoomed=null;"
    "function out(){tm.setAttribute('viewBox',whole);zoomed=null}"
    "tm.querySelectorAll('rect.group').forEach(function(g){"
    "g.style.pointerEvents='all';g.addEventListener('click',function(){"
    "if(zoomed===g){out();return}zoomed=g;"
    "tm.setAttribute('viewBox',[g.getAttribute('x'),g.getAttribute('y'),"
    "g.getAttribute('width'),g.getAttribute('height')].join(' '))})});"
    "document.addEventListener('keydown',function(e){if(e.key==='Escape')out()});"
    "})();";

static void fact(FILE *f, const char *name, uint64_t v)
{
	char buf[32];

	fprintf(f, "<span>%s: ", name);
	if (v == ML_UNKNOWN)
		fputs("-", f);
	else {
		out_format_size(v, buf, sizeof(buf));
		fputs(buf, f);
	}
	fputs("</span>", f);
}

/* The page up to its first heading's text: the <head> with the style, <h1>. */
static void page_begin(FILE *f, const char *title_host, const char *title_time)
{
	fputs("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n"
	      "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; "
	      "style-src 'unsafe-inline'; script-src 'unsafe-inline'\">\n"
	      "<meta name=\"viewport\" content=\"width=device-width\">\n<title>memledger: ",
	      f);
	xml_text(f, title_host);
	fputs(" ", f);
	xml_text(f, title_time);
	fprintf(f, "</title>\n<style>%s</style>\n</head><body>\n<h1>Memory of ", style);
	xml_text(f, title_host[0] ? title_host : "this machine");
}

/* The data block (data[0..len), JSON) and the script; the end of the page. */
static void page_end(FILE *f, const char *data, size_t len)
{
	fputs("<script type=\"application/json\" id=\"memledger-data\">", f);
	if (data)
		script_json(f, data, len);
	fprintf(f, "</script>\n<script>%s</script>\n</body></html>\n", script);
}

static void write_html(FILE *f, const struct metrics *m, const struct origin *o, bool exact)
{
	char *data = NULL;
	size_t len = 0;
	FILE *d = open_memstream(&data, &len);

	if (d) {
		write_data(d, m, o, exact);
		fclose(d);
	}
	page_begin(f, o->host, o->time);
	fputs("</h1>\n<p class=\"facts\">", f);
	xml_text(f, o->time);
	fprintf(f, " &middot; %zu processes &middot; %zu unreadable &middot; groups by %s%s</p>\n",
	        m->scan.nprocs, m->scan.unreadable, ml_group_key_name(m->groups.by),
	        exact ? " &middot; exact (page frames)" : "");
	fputs("<h2>System: where all of RAM goes</h2>\n", f);
	if (m->have_sys) {
		chart_system(f, m);
		fputs("<p class=\"facts\">", f);
		fact(f, "swap used", m->sys.swap_used);
		fact(f, "of swap", m->sys.mi[ML_MI_SWAPTOTAL]);
		fact(f, "zram (compressed, in RAM)", m->sys.zram);
		fact(f, "committed", m->sys.mi[ML_MI_COMMITTED_AS]);
		fact(f, "commit limit", m->sys.mi[ML_MI_COMMITLIMIT]);
		if (m->sys.pressure_some[0] >= 0)
			fprintf(f, "<span>pressure (some, avg10): %.2f%%</span>",
			        m->sys.pressure_some[0]);
		fputs("</p>\n", f);
	}
	fputs("<h2>Who holds memory: PSS by group, process and kind</h2>\n"
	      "<p>Area is PSS; a group is outlined (click it to zoom, again or Escape to zoom "
	      "out); within a process, darker is anonymous, lighter file, in between shmem. "
	      "Hover a cell for its figures.</p>\n",
	      f);
	chart_treemap(f, m);
	fputs("<h2>Top groups</h2>\n<p>Dark: USS; light: shared (PSS &minus; USS)", f);
	fputs(exact ? "; red line: FREED, what killing the group gives back</p>\n" : "</p>\n", f);
	chart_bars(f, m, true);
	fputs("<h2>Top processes</h2>\n<p>Dark: USS; light: shared (PSS &minus; USS); grey: "
	      "swap (SwapPss)</p>\n",
	      f);
	chart_bars(f, m, false);
	fputs("<h2>If memory runs out</h2>\n<p>Whom the kernel's OOM killer would kill first "
	      "(its order over the whole system, as <code>memledger oom</code> gives it), and "
	      "what the kills up to each give back once the ones before are dead (dark: this "
	      "kill; shared memory at the kill of its last mapper), with the RAM then free "
	      "(MemFree and what came back).</p>\n",
	      f);
	chart_oom(f, m);
	fputs("<h2>Groups</h2>\n", f);
	table_groups(f, m);
	fputs("<h2>Processes</h2>\n", f);
	table_processes(f, m);
	if (m->pages && ml_pages_exact(m->pages)) {
		fputs(
		    "<h2>Shared memory</h2>\n<p>Each object once: RESIDENT is its mapped "
		    "resident pages; OWNER the ancestor it was shared from through fork, else the "
		    "mapper holding most of it resident (SysV: its creator); PERSISTS: it outlives "
		    "its mappers. Read from the page frames "
		    "without "
		    "smaps, RESIDENT and SWAP show - (unknown): memledger shm gives them.</p>\n",
		    f);
		table_shm(f, m);
	}
	fputs("<h2>Manifest</h2>\n<dl><dt>host</dt><dd>", f);
	xml_text(f, o->host);
	fputs("</dd><dt>kernel</dt><dd>", f);
	xml_text(f, o->kernel);
	fputs("</dd><dt>time</dt><dd>", f);
	xml_text(f, o->time);
	fprintf(f, "</dd><dt>source</dt><dd>%s</dd><dt>memledger</dt><dd>%s</dd>",
	        o->snapshot ? "snapshot" : "live", MEMLEDGER_VERSION);
	fprintf(f, "<dt>unreadable processes</dt><dd>%zu", m->scan.unreadable);
	for (size_t i = 0; m->scan.unreadable_pids && i < m->scan.unreadable; i++)
		fprintf(f, "%s%d", i ? ", " : ": PID ", (int)m->scan.unreadable_pids[i]);
	fputs("</dd></dl>\n", f);
	page_end(f, data, len);
	free(data);
}

/* One row of a comparison: a process (matched by PID and start time, as diff matches
 * them) or a group (by name). */
struct delta_row {
	const char *name; /* a group's name; a process's comm */
	const char *role; /* a process's (B's where it is in B); NULL unknown */
	const struct ml_proc *proc[2];
	pid_t pid; /* 0: a group */
	size_t procs[2];
	uint64_t pss[2], uss[2];
	bool in[2];
};

/* b - a as a signed number; false when either is unknown. */
static bool delta_of(const uint64_t v[2], const bool in[2], int64_t *d)
{
	uint64_t a = in[0] ? v[0] : 0, b = in[1] ? v[1] : 0;

	if (a == ML_UNKNOWN || b == ML_UNKNOWN)
		return false;
	*d = (int64_t)(b - a);
	return true;
}

static int cmp_delta(const void *x, const void *y)
{
	const struct delta_row *a = x, *b = y;
	int64_t da = 0, db = 0;
	bool ka = delta_of(a->pss, a->in, &da), kb = delta_of(b->pss, b->in, &db);
	uint64_t ua = ka ? (uint64_t)(da < 0 ? -da : da) : 0,
	         ub = kb ? (uint64_t)(db < 0 ? -db : db) : 0;

	if (ka != kb)
		return kb - ka;
	if (ua != ub)
		return (ua < ub) - (ua > ub);
	if (a->pid != b->pid)
		return (a->pid > b->pid) - (a->pid < b->pid);
	return strcmp(a->name ? a->name : "", b->name ? b->name : "");
}

/* The processes of m[0] and m[1], matched by PID and start time, most changed first.
 * Returns the rows (malloc'ed, *n of them) or NULL when out of memory. */
static struct delta_row *process_deltas(const struct metrics m[2], size_t *n)
{
	struct delta_row *rows = calloc(m[0].scan.nprocs + m[1].scan.nprocs + 1, sizeof(*rows));
	size_t count = 0;

	for (int side = 0; rows && side < 2; side++)
		for (size_t i = 0; i < m[side].scan.nprocs; i++) {
			const struct ml_proc *p = &m[side].scan.procs[i];
			struct delta_row *r = NULL;
			for (size_t k = 0; side == 1 && k < count && !r; k++)
				if (rows[k].pid == p->pid && rows[k].in[0] &&
				    rows[k].proc[0]->stat.starttime == p->stat.starttime)
					r = &rows[k];
			if (!r) {
				r = &rows[count++];
				r->pid = p->pid;
			}
			r->in[side] = true;
			r->proc[side] = p;
			r->name = p->comm;
			r->role = ml_roles_get(&m[side].roles, i);
			r->pss[side] = ml_proc_metric(p, ML_PSS);
			r->uss[side] = ml_proc_metric(p, ML_USS);
		}
	if (rows)
		qsort(rows, count, sizeof(*rows), cmp_delta);
	*n = count;
	return rows;
}

/* The groups of m[0] and m[1], matched by name, most changed first. */
static struct delta_row *group_deltas(const struct metrics m[2], size_t *n)
{
	struct delta_row *rows =
	    calloc(m[0].groups.ngroups + m[1].groups.ngroups + 1, sizeof(*rows));
	size_t count = 0;

	for (int side = 0; rows && side < 2; side++)
		for (size_t k = 0; k < m[side].groups.ngroups; k++) {
			const struct ml_named_group *g = &m[side].groups.groups[k];
			const char *name = g->name ? g->name : "-";
			struct ml_group_figures fig;
			struct delta_row *r = NULL;
			for (size_t j = 0; side == 1 && j < count && !r; j++)
				if (strcmp(rows[j].name, name) == 0)
					r = &rows[j];
			if (!r)
				r = &rows[count++];
			ml_group_figures(g, &fig);
			r->name = name;
			r->in[side] = true;
			r->procs[side] = g->nprocs;
			r->pss[side] = fig.pss;
			r->uss[side] = fig.uss;
		}
	if (rows)
		qsort(rows, count, sizeof(*rows), cmp_delta);
	*n = count;
	return rows;
}

/* A cell of a side's figure: "-" where the row was not on that side or is unknown. */
static void side_cell(FILE *f, const struct delta_row *r, const uint64_t v[2], int side)
{
	size_cell(f, r->in[side] ? v[side] : ML_UNKNOWN);
}

static void delta_cell(FILE *f, const struct delta_row *r, const uint64_t v[2])
{
	char buf[32];
	int64_t d;

	if (!delta_of(v, r->in, &d)) {
		fputs("<td class=\"num\" data-v=\"\">-</td>", f);
		return;
	}
	out_format_size(d < 0 ? (uint64_t)-d : (uint64_t)d, buf, sizeof(buf));
	fprintf(f, "<td class=\"num\" data-v=\"%lld\">%s%s</td>", (long long)d,
	        d < 0   ? "-"
	        : d > 0 ? "+"
	                : "",
	        buf);
}

static const char *state_of(const struct delta_row *r)
{
	return !r->in[0] ? "new" : !r->in[1] ? "gone" : "";
}

static void diff_tables(FILE *f, const struct delta_row *g, size_t ng, const struct delta_row *p,
                        size_t np)
{
	static const char *const gcols[] = {"NAME",  "STATE", "PROCS A", "PROCS B", "PSS A",
	                                    "PSS B", "PSS Δ", "USS A",   "USS B",   "USS Δ"};
	static const char *const pcols[] = {"PID",   "STATE", "PSS A", "PSS B", "PSS Δ",
	                                    "USS A", "USS B", "USS Δ", "ROLE",  "COMMAND"};

	fputs("<h2>Groups</h2>\n<table id=\"groups\" class=\"sortable\">\n", f);
	heading(f, gcols, sizeof(gcols) / sizeof(gcols[0]));
	for (size_t j = 0; j < ng; j++) {
		fputs("<tr><td>", f);
		xml_text(f, g[j].name);
		fprintf(f,
		        "</td><td>%s</td><td class=\"num\" data-v=\"%zu\">%zu</td>"
		        "<td class=\"num\" data-v=\"%zu\">%zu</td>",
		        state_of(&g[j]), g[j].procs[0], g[j].procs[0], g[j].procs[1],
		        g[j].procs[1]);
		side_cell(f, &g[j], g[j].pss, 0);
		side_cell(f, &g[j], g[j].pss, 1);
		delta_cell(f, &g[j], g[j].pss);
		side_cell(f, &g[j], g[j].uss, 0);
		side_cell(f, &g[j], g[j].uss, 1);
		delta_cell(f, &g[j], g[j].uss);
		fputs("</tr>\n", f);
	}
	fputs("</tbody></table>\n<h2>Processes</h2>\n<table id=\"processes\" class=\"sortable\">\n",
	      f);
	heading(f, pcols, sizeof(pcols) / sizeof(pcols[0]));
	for (size_t j = 0; j < np; j++) {
		char *command = procs_command(p[j].proc[p[j].in[1] ? 1 : 0]);
		fprintf(f, "<tr><td class=\"num\" data-v=\"%d\">%d</td><td>%s</td>", (int)p[j].pid,
		        (int)p[j].pid, state_of(&p[j]));
		side_cell(f, &p[j], p[j].pss, 0);
		side_cell(f, &p[j], p[j].pss, 1);
		delta_cell(f, &p[j], p[j].pss);
		side_cell(f, &p[j], p[j].uss, 0);
		side_cell(f, &p[j], p[j].uss, 1);
		delta_cell(f, &p[j], p[j].uss);
		fputs("<td>", f);
		xml_text(f, p[j].role ? p[j].role : "-");
		fputs("</td><td class=\"cmd\">", f);
		xml_text(f, command ? command : "");
		fputs("</td></tr>\n", f);
		free(command);
	}
	fputs("</tbody></table>\n", f);
}

/* The system's rows of both sides: a bar each, on one scale, and a table. */
static void diff_system(FILE *f, const struct metrics m[2], const char *const label[2])
{
	static const char *const cols[] = {"NAME", "A", "B", "Δ"};

	for (int side = 0; side < 2; side++) {
		struct svg_part parts[ML_SYSTEM_MAX_ROWS];
		size_t n = 0;
		const struct ml_system *sys = &m[side].sys;
		fprintf(f, "<p>%s: ", side ? "B" : "A");
		xml_text(f, label[side]);
		fputs("</p>\n", f);
		for (size_t i = 0; i < sys->nrows; i++)
			if (!sys->rows[i].depth)
				parts[n++] =
				    (struct svg_part){sys->rows[i].name, sys->rows[i].bytes};
		svg_stacked_bar(f, parts, n,
		                sys->physical != ML_UNKNOWN ? sys->physical
		                                            : sys->mi[ML_MI_MEMTOTAL],
		                WIDTH, side ? "system-b" : "system-a");
	}
	fputs("<table id=\"system\">\n", f);
	heading(f, cols, 4);
	for (size_t i = 0; i < m[1].sys.nrows; i++) {
		const struct ml_system_row *rb = &m[1].sys.rows[i];
		struct delta_row r = {.name = rb->name, .in = {false, true}};
		if (rb->depth)
			continue;
		r.pss[1] = rb->bytes;
		for (size_t k = 0; k < m[0].sys.nrows; k++)
			if (!m[0].sys.rows[k].depth &&
			    strcmp(m[0].sys.rows[k].name, rb->name) == 0) {
				r.in[0] = true;
				r.pss[0] = m[0].sys.rows[k].bytes;
			}
		fputs("<tr><td>", f);
		xml_text(f, rb->name);
		fputs("</td>", f);
		side_cell(f, &r, r.pss, 0);
		side_cell(f, &r, r.pss, 1);
		delta_cell(f, &r, r.pss);
		fputs("</tr>\n", f);
	}
	fputs("</tbody></table>\n", f);
}

/* The comparison page of m[0] (A) and m[1] (B). */
static void write_diff_html(FILE *f, const struct metrics m[2], const struct origin o[2],
                            const char *const label[2], bool exact)
{
	struct svg_delta bars[TOP_ROWS];
	size_t ng = 0, np = 0, nbars = 0;
	struct delta_row *g = group_deltas(m, &ng), *p = process_deltas(m, &np);
	char *data = NULL, title[160];
	size_t len = 0;
	FILE *d = open_memstream(&data, &len);

	if (d) {
		fputs("{\"a\": ", d);
		write_data(d, &m[0], &o[0], exact);
		fputs(", \"b\": ", d);
		write_data(d, &m[1], &o[1], exact);
		fputs("}\n", d);
		fclose(d);
	}
	snprintf(title, sizeof(title), "%s \xe2\x86\x92 %s", o[0].time, o[1].time);
	page_begin(f, o[1].host, title);
	fputs(": what changed</h1>\n<p class=\"facts\">A: ", f);
	xml_text(f, label[0]);
	fputs(" (", f);
	xml_text(f, o[0].time);
	fputs(") &rarr; B: ", f);
	xml_text(f, label[1]);
	fputs(" (", f);
	xml_text(f, o[1].time);
	fprintf(f, ") &middot; processes %zu &rarr; %zu &middot; groups by %s</p>\n",
	        m[0].scan.nprocs, m[1].scan.nprocs, ml_group_key_name(m[1].groups.by));
	fputs("<h2>System: where all of RAM goes, A and B</h2>\n", f);
	diff_system(f, m, label);
	fputs("<h2>What changed most: PSS of groups, B &minus; A</h2>\n", f);
	for (size_t j = 0; g && j < ng && nbars < TOP_ROWS; j++) {
		int64_t dd;
		bool known = delta_of(g[j].pss, g[j].in, &dd);
		bars[nbars++] = (struct svg_delta){g[j].name, known ? dd : 0, known};
	}
	svg_delta_bars(f, bars, nbars, WIDTH, "group-deltas");
	if (g && p)
		diff_tables(f, g, ng, p, np);
	page_end(f, data, len);
	free(data);
	free(g);
	free(p);
}

/* The default file name: memledger-HOST-UTC.EXT. */
static void default_name(char *buf, size_t len, const char *ext)
{
	char host[256] = "";
	struct timespec now;
	struct tm tm;

	clock_gettime(CLOCK_REALTIME, &now);
	gethostname(host, sizeof(host) - 1);
	gmtime_r(&now.tv_sec, &tm);
	snprintf(buf, len, "memledger-%.64s-%04d%02d%02d-%02d%02d%02d.%s", host, tm.tm_year + 1900,
	         tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, ext);
}

/* Reads side A and B of --diff (operands: snapshots, or "live") into m and o. Returns
 * EXIT_GO_ON (both to be freed) or an exit status after a message (none to free). */
static int read_both(struct run *run, enum ml_group_key by, struct metrics m[2], struct origin o[2])
{
	const struct cli *cli = run->cli;
	int rc = EXIT_GO_ON;

	for (int side = 0; side < 2 && rc == EXIT_GO_ON; side++) {
		struct run r;
		run_side(&r, run,
		         strcmp(cli->operands[side], "live") == 0 ? NULL : cli->operands[side]);
		rc = metrics_read(&r, by, cli->exact, ML_NEED_CMDLINE, &m[side]);
		if (rc == EXIT_GO_ON)
			read_origin(&r, &o[side]);
		else if (side == 1)
			metrics_free(&m[0]);
		run_close(&r);
	}
	return rc;
}

/* Checks what report was given. Returns the chart (CHART_NONE: the page), or less than
 * CHART_NONE after a message. */
static int report_usage(const struct cli *cli)
{
	int chart = CHART_NONE;

	if (cli->diff && cli->noperands != 2) {
		cli_warn("report --diff takes two snapshots (or live): A B");
		return CHART_NONE - 1;
	}
	if (cli->diff && (cli->chart || cli->source)) {
		cli_warn("report --diff takes its sources as operands, and draws no --chart");
		return CHART_NONE - 1;
	}
	if (!cli->diff && cli->noperands) {
		cli_warn("report takes no operands: '%s'", cli->operands[0]);
		return CHART_NONE - 1;
	}
	if (cli->chart &&
	    (chart = cli_choice("--chart", chart_names,
	                        sizeof(chart_names) / sizeof(chart_names[0]), cli->chart)) < 0)
		return CHART_NONE - 1;
	return chart;
}

/* Writes text[0..len) where -o says. Returns an exit status. */
static int write_out(const struct cli *cli, const char *name, const char *text, size_t len)
{
	if (strcmp(name, "-") == 0) {
		int rc = fflush(stdout) != 0 ? -errno : file_write_all(1, text, len);
		if (rc < 0) {
			out_failed(&cli->out, -rc); /* said once, at the end */
			return EXIT_ERROR;
		}
		return EXIT_OK;
	}
	if (file_write_atomic(name, text, len, 0644) < 0)
		return EXIT_ERROR;
	cli_warn("wrote %s (%zu KiB)", name, (len + 1023) / 1024); /* as capture says it */
	return EXIT_OK;
}

int cmd_report(struct run *run)
{
	struct cli *cli = run->cli;
	int by = cli_group_key(cli->group_by), chart = report_usage(cli), rc;
	const char *name = cli->columns, *label[2]; /* -o: the file */
	struct origin origin[2];
	struct metrics m[2];
	char deflt[400], *text = NULL;
	size_t len = 0;
	FILE *f;

	if (by < 0 || chart < CHART_NONE)
		return EXIT_USAGE;
	if (!name) {
		default_name(deflt, sizeof(deflt), chart == CHART_NONE ? "html" : "svg");
		name = deflt;
	}
	if (strcmp(name, "-") == 0 && isatty(1)) {
		cli_warn("report -o - writes HTML to stdout, not to a terminal: redirect it");
		return EXIT_USAGE;
	}
	if (strcmp(name, "-") != 0 && file_check_output("-o", name) != 0)
		return EXIT_USAGE;
	if (cli->diff) {
		rc = read_both(run, (enum ml_group_key)by, m, origin);
	} else {
		rc = metrics_read(run, (enum ml_group_key)by, cli->exact, ML_NEED_CMDLINE, &m[0]);
		if (rc == EXIT_GO_ON)
			read_origin(run, &origin[0]);
	}
	if (rc != EXIT_GO_ON)
		return rc;
	f = open_memstream(&text, &len);
	if (f && cli->diff) {
		label[0] = cli->operands[0];
		label[1] = cli->operands[1];
		write_diff_html(f, m, origin, label, cli->exact);
	} else if (f) {
		switch (chart) {
		case CHART_TREEMAP: chart_treemap(f, &m[0]); break;
		case CHART_BAR: chart_bars(f, &m[0], true); break;
		case CHART_SYSTEM: chart_system(f, &m[0]); break;
		default: write_html(f, &m[0], &origin[0], cli->exact); break;
		}
	}
	if (!f || fclose(f) != 0 || !text) {
		cli_warn("out of memory");
		rc = EXIT_ERROR;
	} else {
		rc = write_out(cli, name, text, len);
	}
	for (int side = 0; side < (cli->diff ? 2 : 1); side++) {
		procs_report_unreadable(run, &m[side].scan);
		metrics_free(&m[side]);
	}
	free(text);
	return rc;
}
