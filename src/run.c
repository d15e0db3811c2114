/* One run of a command: its source, opened once; its output's state; its messages. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "memledger/source.h"
#include "msg.h"
#include "run.h"

volatile sig_atomic_t run_stop;

static void on_stop(int sig)
{
	(void)sig;
	run_stop = 1;
}

void run_catch_stop(void)
{
	struct sigaction sa = {.sa_handler = on_stop};

	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
}

void run_init(struct run *run, struct cli *cli, FILE *out)
{
	*run =
	    (struct run){.cli = cli, .path = cli->source, .pids = cli->pids, .npids = cli->npids};
	run->out.f = out;
	cli->out.state = &run->out;
}

void run_side(struct run *side, const struct run *run, const char *path)
{
	*side = *run;
	side->src = NULL;
	side->src_needs = side->want_needs = 0;
	side->src_all = side->want_all = false;
	side->path = path;
}

void run_close(struct run *run)
{
	ml_source_free(run->src);
	run->src = NULL;
	run->src_needs = 0;
	run->src_all = false;
}

void run_set_path(struct run *run, const char *path)
{
	run_close(run);
	run->path = path;
}

void run_want(struct run *run, unsigned needs, bool all)
{
	run->want_needs |= needs;
	run->want_all |= all;
}

struct ml_source *run_source(struct run *run, unsigned needs, bool only_pids)
{
	bool all = !only_pids || run->want_all || !run->npids;
	struct ml_source_want want;
	char err[512];

	if (run->src && (!ml_source_is_archive(run->src) ||
	                 (!(needs & ~run->src_needs) && (run->src_all || !all))))
		return run->src; /* the live /proc and a directory read each file when asked */
	needs |= run->want_needs | (run->src ? run->src_needs : 0);
	all |= run->src && run->src_all;
	want = (struct ml_source_want){
	    .needs = needs, .pids = all ? NULL : run->pids, .npids = all ? 0 : run->npids};
	ml_source_free(run->src);
	run->src = ml_source_open_for(run->path, &want, err, sizeof(err));
	if (!run->src) {
		run_warn(run, "cannot open %s: %s", run->path ? run->path : "/proc", err);
		return NULL;
	}
	run->src_needs = needs;
	run->src_all = all;
	return run->src;
}

void run_warn(const struct run *run, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (run && run->sink)
		run->sink(msg, run->sink_ctx);
	else
		cli_warn("%s", msg);
}

void run_free(struct run *run)
{
	run_close(run);
	out_state_free(&run->out);
}
