/* memledger: the command-line tool. Parses options and hands over to a view. */
#include <ctype.h>
#include <errno.h>
#include <locale.h>
#include <signal.h>
#include <time.h>
#include <stdio.h>
#include <string.h>

#include "commands.h"
#include "cli.h"
#include "run.h"
#include "memledger/group.h"
#include "json.h"

/* Every view: the one list that dispatch and usage read (util-linux blkzone's commands[]). */
#define OUTPUT          (CLI_FORMAT | CLI_NOHEADINGS | CLI_BYTES | CLI_SOURCE | CLI_INTERVAL | CLI_DELTA)
#define TABLE_NO_TOTALS (OUTPUT | CLI_COLUMNS | CLI_LIST | CLI_SORT | CLI_REVERSE)
#define TABLE           (TABLE_NO_TOTALS | CLI_TOTALS)
#define FILTER          (CLI_PID | CLI_USER | CLI_PROCESS)

static const struct command {
	const char *name;
	int (*run)(struct run *run);
	const char *synopsis; /* what follows "memledger NAME" in the usage */
	const char *purpose;  /* what it answers, one line of --help's list */
	const char *example;  /* a command line that shows it at work */
	unsigned uses;        /* enum cli_option: any other option is an error */
	bool pid_operands;    /* its operands are PIDs, as -p gives them */
	bool own_interval;    /* -i is its own cadence (serve's readings), not frames */
} commands[] = {
    {"ps", cmd_ps, "[options] [PID...]",
     "how much memory each process uses, and what killing it frees (default)",
     "memledger ps -P nginx -s FREED -t", TABLE | FILTER | CLI_OWNER | CLI_THREADS, true, false},
    {"maps", cmd_maps, "[--merge [--by category]] [options] PID...",
     "where one process's memory is: each mapping, as pmap -X shows it",
     "memledger maps --merge 1234",
     TABLE | CLI_PID | CLI_MAPPING | CLI_MERGE | CLI_PRIVATE | CLI_BY, true, false},
    {"users", cmd_users, "[options] [PID...]", "how much memory each user's processes use",
     "memledger users -t", TABLE | FILTER | CLI_THREADS, true, false},
    {"libs", cmd_libs, "[--by category] [--procs] [options] [PID...]",
     "the shared libraries and files mapped: by how many, at what cost", "memledger libs -M libc",
     TABLE | FILTER | CLI_MAPPING | CLI_PROCS | CLI_ALL | CLI_BY | CLI_THREADS, true, false},
    {"system", cmd_system, "[options]",
     "where all of RAM went: processes, kernel, caches, the rest", "memledger system",
     TABLE | CLI_THREADS, false, false},
    {"freed", cmd_freed, "[options] PID... | -u USER | -P REGEX",
     "what killing these processes would give back, all at once", "memledger freed -P '^postgres'",
     TABLE | FILTER | CLI_THREADS, true, false},
    {"tree", cmd_tree, "[options] [PID]", "each process with what its descendants use",
     "memledger tree 1234", TABLE | CLI_PID | CLI_THREADS, true, false},
    {"groups", cmd_groups, "[--by KEY] [options]",
     "groups of processes (command, user, cgroup, app...): pages once", "memledger groups --by app",
     TABLE | CLI_BY | CLI_THREADS, false, false},
    {"wss", cmd_wss, "PID... [-i SECS] [-c N] [options]",
     "how much memory a process touches: its working set over -i seconds",
     "memledger wss 1234 -i 10", TABLE | CLI_PID | CLI_INTERVAL | CLI_THREADS, true, true},
    {"cgroups", cmd_cgroups, "[options]",
     "what the kernel charges each memory cgroup, beside its PSS", "memledger cgroups -t",
     TABLE | CLI_THREADS, false, false},
    {"gpu", cmd_gpu, "[options]", "the GPU memory each process holds: DRM, dma-buf, NVIDIA",
     "memledger gpu", TABLE | CLI_THREADS, false, false},
    {"heaps", cmd_heaps, "[--by KEY] [options] [PID...]",
     "what kind of memory: heaps, stacks, code, graphics, and how many heaps",
     "memledger heaps 1234", TABLE | FILTER | CLI_BY | CLI_THREADS, true, false},
    {"oom", cmd_oom, "[--policy kernel|lmkd] [--cgroup PATH] [--need SIZE] [options]",
     "who dies first when memory runs out, and what each death gives back",
     "memledger oom --need 2G", TABLE | CLI_OOM | CLI_THREADS, false, false},
    {"shm", cmd_shm, "[--owner POLICY] [options]",
     "shared memory objects: who maps them, who they are charged to",
     "memledger shm --owner creator", TABLE | CLI_OWNER | CLI_THREADS, false, false},
    {"diff", cmd_diff, "A B [--by KEY] [-p PID --mappings] [options]",
     "what changed between two snapshots, or a snapshot and now",
     "memledger diff before.tar.zst live", TABLE | FILTER | CLI_BY | CLI_MAPPINGS | CLI_THREADS,
     false, false},
    {"export", cmd_export, "[--textfile DIR] [--top N] [--by KEY] [--exact]",
     "Prometheus metrics, once: to stdout or a textfile directory",
     "memledger export --textfile /var/lib/prometheus/node-exporter",
     CLI_EXPORT | CLI_BY | CLI_EXACT | CLI_CLASSES | CLI_SOURCE | CLI_THREADS | CLI_INTERVAL, false,
     false},
    {"serve", cmd_serve, "[--listen HOST:PORT] [-i SECS] [--top N] [--by KEY] [options]",
     "a Prometheus exporter: metrics over HTTP (127.0.0.1:9781)", "memledger serve -i 15",
     CLI_SERVE | CLI_EXPORT | CLI_BY | CLI_EXACT | CLI_CLASSES | CLI_SOURCE | CLI_THREADS |
         CLI_INTERVAL,
     false, true},
    {"report", cmd_report, "[-o FILE] [--by KEY] [--exact] [--chart NAME | --diff A B]",
     "an HTML page of charts: treemap, bars, where RAM went", "memledger report -o memory.html",
     CLI_COLUMNS | CLI_OUTFILE | CLI_BY | CLI_EXACT | CLI_CLASSES | CLI_SOURCE | CLI_THREADS |
         CLI_REPORT,
     false, false},
    {"capture", cmd_capture, "[-o FILE] [--exact] [--redact] [--adb [SERIAL] [--root]]",
     "a snapshot of what the views read, to look at later with --source",
     "memledger capture -o snap.tar.zst",
     CLI_COLUMNS | CLI_OUTFILE | CLI_EXACT | CLI_REDACT | CLI_INTERVAL, false, false},
};

/* Adds the operands of a view that takes PIDs to cli->pids, comma- or space-separated,
 * as -p takes them. Returns EXIT_GO_ON, or EXIT_USAGE. */
static int pid_operands(const struct command *cmd, struct cli *cli)
{
	if (!cmd->pid_operands)
		return EXIT_GO_ON;
	for (int i = 0; i < cli->noperands; i++) {
		if (cli_add_pids(cli, cli->operands[i]) < 0) {
			cli_warn("not a PID: '%s'", cli->operands[i]);
			return EXIT_USAGE;
		}
	}
	cli->noperands = 0;
	return EXIT_GO_ON;
}

/* Says which option given the view cmd does not use. Returns EXIT_GO_ON, or
 * EXIT_USAGE: no option is silently ignored. */
static int check_options(const struct command *cmd, const struct cli *cli)
{
	unsigned unused = cli->given & ~cmd->uses;
	char name[32];

	if (!unused)
		return EXIT_GO_ON;
	cli_warn("%s does not use %s", cmd->name,
	         cli_option_name((enum cli_option)(unused & -unused), name));
	return EXIT_USAGE;
}

/* The view called name, or NULL. */
static const struct command *name_to_command(const char *name)
{
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		if (strcmp(commands[i].name, name) == 0)
			return &commands[i];
	return NULL;
}

/* The last lines of every --help: what the sizes are. */
static void usage_end(FILE *f)
{
	fputs("Sizes: K, M, G, T are KiB, MiB, GiB, TiB (powers of 1024); -b: bytes. A '-' is\n"
	      "a figure the kernel did not give: unknown, not 0. See memledger(1).\n",
	      f);
}

/* The end of memledger --help: the sizes, and shell completion. */
static void usage_end_top(FILE *f)
{
	usage_end(f);
	fputs("Shell completion: memledger --completion bash|zsh|fish (make install puts it).\n",
	      f);
}

/* memledger --help: what it is, every view in a line, every option. */
static void usage(FILE *f)
{
	fputs("Usage: memledger [VIEW] [options] [PID...]\n"
	      "\n"
	      "How much memory each process uses, as the kernel counts it, and what killing\n"
	      "it would give back. memledger leaves itself out of every process view.\n"
	      "\n"
	      "Views (memledger VIEW --help: its options, columns and an example):\n",
	      f);
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		fprintf(f, " %-8s %s\n", commands[i].name, commands[i].purpose);
	fprintf(f, " %-8s %s\n", "top", top_purpose);
	cli_print_options(f, ~0u);
	usage_end_top(f);
}

/* memledger VIEW --help: what the view answers, an example, its synopsis, the options it
 * uses and its columns (the view lists them itself, as --list-columns). Returns an exit
 * status. */
static int view_usage(const struct command *cmd, struct run *run)
{
	struct cli *cli = run->cli;
	int rc = EXIT_OK;

	printf("%c%s.\nExample: %s\n\nUsage:\n memledger %s %s\n", toupper(cmd->purpose[0]),
	       cmd->purpose + 1, cmd->example, cmd->name, cmd->synopsis);
	cli_print_options(stdout, cmd->uses);
	if (cmd->uses & CLI_LIST) {
		fputs("Columns:\n", stdout);
		fflush(stdout);
		cli->list_columns = true;
		cli->noperands = 0;
		rc = cmd->run(run);
		fputs("\n", stdout);
	}
	usage_end(stdout);
	return rc;
}

/* The time of a frame: ISO 8601, UTC, to the millisecond. */
static void frame_time(char *buf, size_t len)
{
	struct timespec ts;
	struct tm tm;

	char secs[32];

	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	strftime(secs, sizeof(secs), "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(buf, len, "%.20s.%03dZ", secs, (int)(ts.tv_nsec / 1000000));
}

/* Runs the view once, or with -i every interval (-c times, or until SIGINT or SIGTERM,
 * which end it with exit status 0): like vmstat 1, a frame at each tick of the monotonic
 * clock, however long a frame took. Returns the exit status. */
static int run_frames(const struct command *cmd, struct run *run)
{
	struct cli *cli = run->cli;
	struct timespec next;
	char when[40];
	int rc = EXIT_OK;

	if (cli->interval <= 0 || cmd->own_interval)
		return cmd->run(run);
	run_catch_stop();
	clock_gettime(CLOCK_MONOTONIC, &next);
	for (unsigned long n = 0; !run_stop && (!cli->count || n < cli->count); n++) {
		long step = (long)(cli->interval * 1e9);
		frame_time(when, sizeof(when));
		if ((cli->out.format == OUT_TABLE || cli->out.format == OUT_RAW) &&
		    (cmd->uses & CLI_FORMAT)) /* capture prints no table: no time line either */
			printf("%s%s\n", n ? "\n" : "", when);
		cli->out.time = when;
		out_delta_frame(&run->out, n);
		rc = cmd->run(run);
		fflush(stdout);
		if (rc != EXIT_OK || (cli->count && n + 1 == cli->count))
			break;
		if (cli->out.format == OUT_CSV)
			cli->out.noheadings = true; /* the header once */
		next.tv_sec += step / 1000000000L;
		next.tv_nsec += step % 1000000000L;
		if (next.tv_nsec >= 1000000000L) {
			next.tv_sec++;
			next.tv_nsec -= 1000000000L;
		}
		while (!run_stop &&
		       clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &next, NULL) == EINTR)
			;
	}
	cli->out.time = NULL;
	return rc;
}

/* As gnulib's close_stdout: output lost (a full disk, a closed pipe) is an error whoever
 * wrote it, said once. Returns the exit status. */
static int finish_output(int rc, int write_errno)
{
	int err = fflush(stdout) != 0 ? errno
	          : write_errno       ? write_errno
	          : ferror(stdout)    ? EIO
	                              : 0;

	if (!err)
		return rc;
	cli_warn("cannot write the output: %s", strerror(err));
	return rc == EXIT_OK ? EXIT_ERROR : rc;
}

/* memledger --completion SHELL: the script, from the tables above. Returns an exit
 * status. */
static int completion(const char *shell)
{
	struct completion_view v[sizeof(commands) / sizeof(commands[0]) + 1];
	size_t n = 0;

	for (; n < sizeof(commands) / sizeof(commands[0]); n++)
		v[n] = (struct completion_view){commands[n].name, commands[n].purpose,
		                                commands[n].uses, commands[n].pid_operands,
		                                cli_view_option};
	v[n++] = (struct completion_view){"top", top_purpose, 0, false, top_option};
	if (completion_write(stdout, shell, v, n) < 0) {
		cli_warn("--completion takes bash, zsh or fish: '%s'", shell);
		return EXIT_USAGE;
	}
	return EXIT_OK;
}

int main(int argc, char **argv)
{
	const struct command *cmd;
	struct cli cli;
	struct run run = {0};
	int rc, err = 0;

	setlocale(LC_ALL, "");
	if (argc > 1 && strcmp(argv[1], "top") == 0) { /* top(1)'s -b, -n and -d: its own */
		rc = cmd_top(argc - 1, argv + 1, &err);
		return finish_output(rc, err);
	}
	if (argc > 1 && strcmp(argv[1], "--completion") == 0) {
		if (argc != 3) {
			cli_warn("--completion takes a shell: bash, zsh or fish");
			return EXIT_USAGE;
		}
		return finish_output(completion(argv[2]), 0);
	}
	rc = cli_parse(argc, argv, &cli);
	if (rc == EXIT_GO_ON && cli.help && !cli.command_given) {
		usage(stdout);
		rc = EXIT_OK;
	} else if (rc == EXIT_GO_ON && !(cmd = name_to_command(cli.command))) {
		cli_warn("unknown command: '%s'", cli.command);
		fprintf(stderr,
		        "Processes by name: 'memledger -P %s'. Try 'memledger --help' for "
		        "the commands.\n",
		        cli.command);
		rc = EXIT_USAGE;
	} else if (rc == EXIT_GO_ON && cli.help) {
		run_init(&run, &cli, stdout);
		rc = view_usage(cmd, &run);
	} else if (rc == EXIT_GO_ON && (rc = check_options(cmd, &cli)) == EXIT_GO_ON &&
	           (rc = pid_operands(cmd, &cli)) == EXIT_GO_ON) {
		run_init(&run, &cli, stdout); /* after the PID operands: its scans read them */
		rc = run_frames(cmd, &run);
	}
	err = run.out.write_errno;
	run_free(&run);
	cli_free(&cli);
	return finish_output(rc, err);
}
