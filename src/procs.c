/* What the process views share: scanning processes as the command line asks, the
 * document around their table, and what a scan could not read. Below every view. */
#include <errno.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "json.h"
#include "memledger.h"
#include "procs.h"
#include "run.h"

char *procs_command(const struct ml_proc *p)
{
	char *s = NULL;

	if (p->cmdline && p->cmdline[0])
		return strdup(p->cmdline);
	if (asprintf(&s, "[%s]", p->comm) < 0)
		return NULL;
	return s;
}

unsigned procs_filter_needs(const struct cli *cli)
{
	return (cli->have_uid ? ML_NEED_STATUS : 0) |
	       (cli->have_regex ? ML_NEED_CMDLINE | ML_NEED_STATUS : 0);
}

bool procs_keep(const struct ml_proc *p, void *ctx)
{
	const struct cli *cli = ctx;
	bool keep = true;

	if (cli->have_uid)
		keep = p->status.uid == cli->uid;
	if (keep && cli->have_regex) {
		char *command = procs_command(p);
		keep = command && regexec(&cli->regex, command, 0, NULL, 0) == 0;
		free(command);
	}
	return keep;
}

int procs_print_document(const struct cli *cli, struct out_table *t, const struct ml_scan *s,
                         const struct ml_pages *pg)
{
	struct json j;
	int rc;

	json_init(&j, out_stream(&cli->out), cli->out.time);
	if (cli->out.format != OUT_JSON)
		return out_table_print_free(t, &j);
	json_object_begin(&j);
	rc = out_table_print_free(t, &j);
	if (pg) {
		json_key(&j, "exact");
		json_bool(&j, ml_pages_exact(pg));
	}
	procs_json_unreadable(&j, s);
	json_key(&j, "hidden");
	if (s->hidden[0])
		json_string(&j, s->hidden);
	else
		json_null(&j);
	json_object_end(&j);
	json_finish(&j);
	return rc;
}

/* "1, 7, 42 and 3 more": the first few of n PIDs, into buf. */
static void pid_list_text(const pid_t *v, size_t n, char *buf, size_t size)
{
	size_t len = 0, shown = n < 5 ? n : 5;

	buf[0] = '\0';
	for (size_t i = 0; i < shown && len < size; i++)
		len += (size_t)snprintf(buf + len, size - len, "%s%d", i ? ", " : "", (int)v[i]);
	if (n > shown && len < size)
		snprintf(buf + len, size - len, " and %zu more", n - shown);
}

void procs_json_unreadable(struct json *j, const struct ml_scan *s)
{
	json_pair_u64(j, "unreadable", s->unreadable);
	json_key(j, "unreadable_pids");
	json_array_begin(j);
	for (size_t i = 0; s->unreadable_pids && i < s->unreadable; i++)
		json_u64(j, (uint64_t)s->unreadable_pids[i]);
	json_array_end(j);
}

/* Why processes could not be read, as the reader of the message can act on it: who read
 * them, live or when the snapshot was captured (its manifest's uid and user). */
static const char *refused_by(const struct run *run, const struct ml_scan *s, char *buf, size_t len)
{
	if (!run->path)
		return geteuid() == 0 ? " (refused even to root)" : "; run as root to see them";
	if (s->captured_uid < 0)
		return " when it was captured";
	if (s->captured_uid == 0)
		return " when it was captured (refused even to root)";
	snprintf(buf, len, " when it was captured, as uid %ld: capture as root to see them",
	         s->captured_uid);
	return buf;
}

/* Whether the unreadable processes are ones a user cannot do anything about: read as root
 * (live, or captured so) and refused even so, none asked for by -p, and no -v. */
static bool unreadable_expected(const struct run *run, const struct ml_scan *s)
{
	const struct cli *cli = run->cli;
	bool as_root = run->path ? s->captured_uid == 0 : geteuid() == 0;

	if (cli->verbose || !as_root)
		return false;
	for (size_t i = 0; i < cli->npids; i++)
		if (procs_pid_listed(s->unreadable_pids, s->unreadable, cli->pids[i]))
			return false;
	return true;
}

void procs_report_unreadable(struct run *run, const struct ml_scan *s)
{
	const struct cli *cli = run->cli;
	char pids[96], why[96], as[128] = "";

	if (run->said_unreadable || cli->out.format == OUT_JSON)
		return;
	run->said_unreadable = true; /* -i and serve read again and again: once a run */
	if (s->hidden[0])
		run_warn(run, "%s; sums over every process are lower bounds", s->hidden);
	if (s->unreadable == 0 || unreadable_expected(run, s))
		return;
	pid_list_text(s->unreadable_pids, s->unreadable_pids ? s->unreadable : 0, pids,
	              sizeof(pids));
	if (run->path && s->captured_uid > 0 && s->captured_user[0]) /* Android's shell */
		snprintf(as, sizeof(as), "captured as %s (uid %ld): ", s->captured_user,
		         s->captured_uid);
	run_warn(run, "%s%zu process%s could not be read%s: PID%s %s%s", as, s->unreadable,
	         s->unreadable == 1 ? "" : "es",
	         !as[0]       ? refused_by(run, s, why, sizeof(why))
	         : s->android ? "; capture as root to see them (memledger capture --adb --root)"
	                      : "; capture as root to see them",
	         s->unreadable == 1 ? "" : "s", pids,
	         run->pages_unread
	             ? "; FREED counts them as mapping none of its pages or swap slots"
	             : "");
}

static int cmp_pid(const void *a, const void *b)
{
	pid_t x = *(const pid_t *)a, y = *(const pid_t *)b;

	return (x > y) - (x < y);
}

bool procs_pid_listed(const pid_t *pids, size_t n, pid_t pid)
{
	return pids && n && bsearch(&pid, pids, n, sizeof(pid_t), cmp_pid);
}

bool procs_none_of_the_pids(const struct run *run, const struct ml_scan *s)
{
	const struct cli *cli = run->cli;
	size_t found = 0;

	for (size_t i = 0; i < cli->npids; i++) {
		if (ml_scan_find(s, cli->pids[i]) >= 0 ||
		    procs_pid_listed(s->unreadable_pids, s->unreadable, cli->pids[i]))
			found++;
		else
			run_warn(run, "no process %d (or it has no user memory)",
			         (int)cli->pids[i]);
	}
	return cli->npids > 0 && found == 0;
}

void procs_report_scan_error(const struct run *run, const struct ml_scan *s, int rc)
{
	const char *path = ml_source_path(run->src);

	if (s->error_pid)
		run_warn(run, "%s/%d/%s: %s", path, (int)s->error_pid, s->error_file,
		         ml_source_strerror(rc));
	else
		run_warn(run, "cannot read %s: %s", path, strerror(-rc));
}

/* A scan of the run's source as opts asks (needs, PIDs, the mapping callback), with -u, -P
 * and --threads. Returns EXIT_GO_ON or an exit status after a message, s empty. */
static int scan(struct run *run, struct ml_scan_opts *opts, struct ml_scan *s)
{
	const struct cli *cli = run->cli;
	/* a GPU share is divided among every holder: all processes' fds are read */
	struct ml_source *src = run_source(run, opts->needs, !(opts->needs & ML_NEED_GPU));
	int rc;

	opts->keep = (cli->have_uid || cli->have_regex) ? procs_keep : NULL;
	opts->keep_ctx = (void *)cli;
	opts->threads = cli->threads;
	opts->leave_out_self = true;
	memset(s, 0, sizeof(*s));
	if (!src)
		return EXIT_ERROR;
	rc = ml_scan_run(src, opts, s);
	if (rc < 0) {
		procs_report_scan_error(run, s, rc);
		ml_scan_free(s); /* what the failed scan holds: no caller need free it */
	}
	return rc < 0 ? EXIT_ERROR : EXIT_GO_ON;
}

int procs_scan(struct run *run, unsigned needs, ml_proc_mapping_fn on_mapping, void *mapping_ctx,
               struct ml_scan *s)
{
	return procs_scan_mappings(run, needs, on_mapping, NULL, mapping_ctx, s);
}

int procs_scan_mappings(struct run *run, unsigned needs, ml_proc_mapping_fn on_mapping,
                        ml_proc_mappings_end_fn on_end, void *mapping_ctx, struct ml_scan *s)
{
	struct ml_scan_opts opts = {.needs = needs,
	                            .pids = run->pids,
	                            .npids = run->npids,
	                            .on_mapping = on_mapping,
	                            .on_mappings_end = on_end,
	                            .mapping_ctx = mapping_ctx};

	return scan(run, &opts, s);
}

int procs_scan_pids(struct run *run, unsigned needs, const pid_t *pids, size_t npids,
                    struct ml_scan *s)
{
	struct ml_scan_opts opts = {.needs = needs, .pids = pids, .npids = npids};

	return scan(run, &opts, s);
}

int procs_scan_pages(struct run *run, unsigned needs, struct ml_scan *s, struct ml_pages **pg)
{
	const struct cli *cli = run->cli;
	bool pages = needs & ML_NEED_PAGEMAP;
	struct ml_scan_opts opts = {
	    /* Pages alone, as root: no smaps where the kernel has PROCMAP_QUERY (6.11) and
	     * PAGEMAP_SCAN (6.7); without frame numbers smaps gives the lower bounds. */
	    .needs = needs | ML_NEED_STATUS | (pages ? 0 : ML_NEED_SMAPS),
	    .pages_without_smaps = pages && !(needs & ML_NEED_SMAPS) && geteuid() == 0 &&
	                           !getenv("MEMLEDGER_SMAPS_PAGES"),
	    .leave_out_self = true, /* and a sanitizer build's terabytes of shadow */
	    .threads = cli->threads,
	    .on_mapping = ml_pages_on_mapping,
	    .on_pages = ml_pages_on_pages,
	    /* The tests compare the two ways of reading pagemap on the same processes. */
	    .whole_pagemap = getenv("MEMLEDGER_WHOLE_PAGEMAP") != NULL,
	};
	struct ml_source *src = run_source(run, opts.needs | ML_NEED_SMAPS, false);
	int rc;

	memset(s, 0, sizeof(*s));
	*pg = NULL;
	if (!src)
		return EXIT_ERROR;
	*pg = ml_pages_new();
	if (!*pg) {
		run_warn(run, "out of memory");
		return EXIT_ERROR;
	}
	opts.mapping_ctx = opts.pages_ctx = *pg;
	rc = ml_scan_run(src, &opts, s);
	if (rc < 0)
		procs_report_scan_error(run, s, rc);
	if (rc == 0 && (rc = ml_pages_resolve(*pg, src, s)) < 0)
		run_warn(run, "cannot account pages: %s", strerror(-rc));
	if (rc < 0)
		return EXIT_ERROR;
	if (run->said_pages) /* once a run: serve and -i read again and again */
		return EXIT_GO_ON;
	run->said_pages = needs & ML_NEED_PAGEMAP;
	if ((needs & ML_NEED_PAGEMAP) && !ml_pages_exact(*pg))
		run_warn(run, "frame numbers are not readable%s: FREED is a lower bound from smaps",
		         geteuid() == 0 ? "" : " (run as root)");
	else if (needs & ML_NEED_PAGEMAP)
		run->pages_unread = true; /* said with the unreadable processes, if at all */
	return EXIT_GO_ON;
}
