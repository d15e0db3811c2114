/*
 * Every command of memledger: src/cmd_NAME.c is `memledger NAME`, and its entry point is
 * cmd_NAME (git's builtin.h). main.c's table maps names to these; nothing else does.
 */
#ifndef MEMLEDGER_COMMANDS_H
#define MEMLEDGER_COMMANDS_H

#include <stdio.h>

#include "cli.h"
#include "run.h"

/* Each runs one command as run->cli says and returns its exit status (EXIT_OK, EXIT_ERROR,
 * EXIT_USAGE), having said why on stderr when it is not 0. */
int cmd_ps(struct run *run);      /* one row per process; the default command */
int cmd_maps(struct run *run);    /* one row per mapping of each PID; --merge by object */
int cmd_users(struct run *run);   /* one row per user */
int cmd_libs(struct run *run);    /* one row per shared object mapped; --procs its mappers */
int cmd_system(struct run *run);  /* where RAM went: every page of meminfo booked once */
int cmd_freed(struct run *run);   /* what killing the PIDs gives back, and what stays */
int cmd_tree(struct run *run);    /* the process tree with each subtree's figures */
int cmd_groups(struct run *run);  /* processes grouped --by KEY, pages booked once */
int cmd_wss(struct run *run);     /* the working set: what each PID touched in -i SECS */
int cmd_cgroups(struct run *run); /* memory cgroups: the kernel's charge and ours */
int cmd_gpu(struct run *run);     /* GPU memory: DRM, NVML, dma-buf */
int cmd_oom(struct run *run);     /* who dies first when memory runs out, and what it frees */
int cmd_heaps(struct run *run);   /* each process's memory by class: heaps, stacks, code */
int cmd_shm(struct run *run);     /* shared memory objects and who owns them */
int cmd_diff(struct run *run);    /* what changed between two snapshots A B */
int cmd_export(struct run *run);  /* Prometheus text exposition, to stdout or --textfile */
int cmd_serve(struct run *run);   /* /metrics over HTTP, a reading every -i SECS */
int cmd_report(struct run *run);  /* one self-contained HTML page, or --chart as SVG */
int cmd_capture(struct run *run); /* a snapshot archive of /proc for --source */

/* memledger top: its own arguments (argv[0] is "top"), top(1)'s -b, -n, -d beside
 * memledger's options; the first write error into *write_errno. Returns an exit
 * status. */
int cmd_top(int argc, char **argv, int *write_errno);

/* top's i-th option for completion (uses: unused), into *d; false past the last. */
bool top_option(size_t i, unsigned uses, struct cli_option_desc *d);

/* A view as completion offers it. */
struct completion_view {
	const char *name, *purpose;
	unsigned uses; /* enum cli_option, for options */
	bool pids;     /* its operands are PIDs */
	bool (*options)(size_t i, unsigned uses, struct cli_option_desc *d);
};

/* Writes the completion script of shell (bash, zsh or fish) for views[0..n). Returns 0,
 * or -1 for a shell it does not know. */
int completion_write(FILE *f, const char *shell, const struct completion_view *views, size_t n);

struct ml_heaps;
struct json;

/* Says a process's heaps in one line ("heaps: 3: brk 1 (388K resident), glibc-arena 2
 * (1.2M resident)"), and its thread stacks found by shape in another, each line after
 * prefix ("" or "PID 42: "), to cli's output. */
void heaps_say(const struct cli *cli, const char *prefix, const struct ml_heaps *h);

/* Writes "classes": [...], "heaps": [...] and the thread stacks' fields of h into the
 * open JSON object. */
void heaps_json(struct json *j, const struct ml_heaps *h);

/* What top answers, as --help's list of views says it. */
extern const char top_purpose[];

/* ps's table with wss's default columns (PID, REFERENCED, RSS, PSS, COMMAND), of the
 * run's processes: wss's, after it waited. Returns an exit status. */
int ps_wss(struct run *run);

/* The address serve listens on without --listen: loopback only. */
#define SERVE_DEFAULT_LISTEN "127.0.0.1:9781"

#endif
