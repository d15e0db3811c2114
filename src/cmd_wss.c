/*
 * memledger wss PID...: the memory each process touched in an interval, as procrank -w
 * and -W measure it: clear the Referenced bits of its pages (/proc/PID/clear_refs, the
 * one write to /proc memledger makes, and only here, where the command asks for it), wait,
 * read Referenced back from smaps_rollup. The table is ps's, with REFERENCED (the working
 * set), RSS and PSS by default.
 */
#include <errno.h>
#include <signal.h>
#include <string.h>
#include <time.h>

#include "memledger/source.h"
#include "commands.h"
#include "run.h"
#include "memledger.h"

/* Clears the Referenced bits of -p's processes, and leaves out of -p (so out of the table,
 * where Referenced would be no working set) those whose bits could not be cleared.
 * Returns how many were cleared, or -1 after a message when none could be. */
static long clear_all(struct cli *cli, struct ml_source *src)
{
	size_t cleared = 0;

	for (size_t i = 0; i < cli->npids; i++) {
		int rc = ml_source_clear_refs(src, cli->pids[i]);
		if (rc == 0)
			cli->pids[cleared++] = cli->pids[i];
		else
			cli_warn("cannot clear the Referenced bits of %d: %s", (int)cli->pids[i],
			         rc == -ESRCH ? "no such process" : strerror(-rc));
	}
	cli->npids = cleared;
	return cleared ? (long)cleared : -1;
}

int cmd_wss(struct run *run)
{
	struct cli *cli = run->cli;
	double window = cli->interval > 0 ? cli->interval : 1;
	unsigned long frames = cli->count ? cli->count : 1;
	struct ml_source *src;
	int rc = EXIT_OK;

	if (!cli->npids) {
		cli_warn("wss takes the PIDs to measure");
		return EXIT_USAGE;
	}
	if (cli->source) {
		cli_warn(
		    "wss measures live processes: a snapshot cannot clear their Referenced bits");
		return EXIT_USAGE;
	}
	if (!cli->columns)
		cli->columns = "PID,REFERENCED,RSS,PSS,COMMAND";
	src = run_source(run, 0, false);
	if (!src)
		return EXIT_ERROR;
	cli_warn("wss clears the Referenced bits of the processes' pages (/proc/PID/clear_refs): "
	         "reclaim sees their pages as idle until touched again");
	run_catch_stop();
	for (unsigned long n = 0; n < frames && !run_stop && rc == EXIT_OK; n++) {
		struct timespec t = {(time_t)window,
		                     (long)((window - (double)(time_t)window) * 1e9)};
		if (clear_all(cli, src) < 0) {
			rc = EXIT_ERROR;
			break;
		}
		while (!run_stop && nanosleep(&t, &t) < 0 && errno == EINTR)
			;
		if (run_stop)
			break;
		if (n)
			fputs("\n", out_stream(&cli->out));
		rc = cmd_ps(run);
	}
	return rc;
}
