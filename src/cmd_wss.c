/*
 * memledger wss PID...: the memory each process touched in an interval, as procrank -w
 * and -W measure it: clear the Referenced bits of its pages (/proc/PID/clear_refs, the
 * one write to /proc memledger makes, and only here, where the command asks for it), wait,
 * read Referenced back from smaps_rollup. The table is ps's, with REFERENCED (the working
 * set), RSS and PSS by default.
 */
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "memledger/source.h"
#include "commands.h"
#include "run.h"
#include "memledger.h"

/* Clears the Referenced bits of the run's processes, and leaves out of its scans (so out
 * of the table, where Referenced would be no working set) those whose bits could not be
 * cleared. Returns how many were cleared, or -1 after a message when none could be. */
static long clear_all(struct run *run, struct ml_source *src)
{
	size_t cleared = 0;

	for (size_t i = 0; i < run->npids; i++) {
		int rc = ml_source_clear_refs(src, run->pids[i]);
		if (rc == 0)
			run->pids[cleared++] = run->pids[i];
		else
			cli_warn("cannot clear the Referenced bits of %d: %s", (int)run->pids[i],
			         rc == -ESRCH ? "no such process" : strerror(-rc));
	}
	run->npids = cleared;
	return cleared ? (long)cleared : -1;
}

int cmd_wss(struct run *run)
{
	struct cli *cli = run->cli;
	double window = cli->interval > 0 ? cli->interval : 1;
	unsigned long frames = cli->count ? cli->count : 1;
	struct ml_source *src;
	int rc = EXIT_OK;

	if (cli->list_columns)
		return ps_wss(run); /* --list-columns, --help: nothing to clear */
	if (!cli->npids) {
		cli_warn("wss takes the PIDs to measure");
		return EXIT_USAGE;
	}
	if (cli->source) {
		cli_warn(
		    "wss measures live processes: a snapshot cannot clear their Referenced bits");
		return EXIT_USAGE;
	}
	run->pids = malloc(cli->npids * sizeof(*run->pids)); /* narrowed: -p is as given */
	if (!run->pids) {
		cli_warn("out of memory");
		return EXIT_ERROR;
	}
	memcpy(run->pids, cli->pids, cli->npids * sizeof(*run->pids));
	src = run_source(run, 0, false);
	if (!src)
		return EXIT_ERROR;
	cli_warn("wss clears the Referenced bits of the processes' pages (/proc/PID/clear_refs): "
	         "reclaim sees their pages as idle until touched again");
	run_catch_stop();
	for (unsigned long n = 0; n < frames && !run_stop && rc == EXIT_OK; n++) {
		struct timespec t = {(time_t)window,
		                     (long)((window - (double)(time_t)window) * 1e9)};
		if (clear_all(run, src) < 0) {
			rc = EXIT_ERROR;
			break;
		}
		while (!run_stop && nanosleep(&t, &t) < 0 && errno == EINTR)
			;
		if (run_stop)
			break;
		if (n)
			fputs("\n", out_stream(&cli->out));
		rc = ps_wss(run);
	}
	free(run->pids);
	run->pids = NULL;
	run->npids = 0;
	return rc;
}
