/* memledger: the command-line tool. Parses options and hands over to a view. */
#include <locale.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "freed.h"
#include "groups.h"
#include "libs_view.h"
#include "maps.h"
#include "ps.h"
#include "shm_view.h"
#include "system_view.h"
#include "tree.h"
#include "users_view.h"

/* Every view: the one list that dispatch and usage read (util-linux blkzone's commands[]). */
static const struct command {
	const char *name;
	int (*run)(struct cli *cli);
	const char *synopsis; /* what follows "memledger NAME" in the usage */
} commands[] = {
    {"ps", ps_run, "[options]"},
    {"maps", maps_run, "[options] PID..."},
    {"users", users_run, "[options]"},
    {"libs", libs_run, "[options]"},
    {"system", system_run, "[options]"},
    {"freed", freed_run, "[options] PID..."},
    {"tree", tree_run, "[options] [PID]"},
    {"groups", groups_run, "[--by KEY] [options]"},
    {"shm", shm_run, "[--owner POLICY] [options]"},
};

/* The view called name, or NULL. */
static const struct command *name_to_command(const char *name)
{
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		if (strcmp(commands[i].name, name) == 0)
			return &commands[i];
	return NULL;
}

static void usage(FILE *f)
{
	fputs("Usage:\n", f);
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		fprintf(f, " memledger %s%s%s %s\n", i ? "" : "[", commands[i].name, i ? "" : "]",
		        commands[i].synopsis);
	cli_print_options(f);
	fputs("Columns:\n", f);
	ps_list_columns(f);
	fputs("\nSizes are in bytes; a '-' is a figure the kernel did not give (unknown, not 0).\n"
	      "See memledger(1).\n",
	      f);
}

int main(int argc, char **argv)
{
	const struct command *cmd;
	struct cli cli;
	int rc;

	setlocale(LC_ALL, "");
	rc = cli_parse(argc, argv, &cli);
	if (rc < 0 && cli.help) {
		usage(stdout);
		rc = EXIT_OK;
	} else if (rc < 0 && !(cmd = name_to_command(cli.command))) {
		cli_warn("unknown command: '%s'", cli.command);
		fputs("Try 'memledger --help' for more information.\n", stderr);
		rc = EXIT_USAGE;
	} else if (rc < 0) {
		rc = cmd->run(&cli);
	}
	cli_free(&cli);
	return rc;
}
