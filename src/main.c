/* memledger: the command-line tool. Parses options and hands over to a view. */
#include <locale.h>

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
#include <string.h>

/* Hands over to the view the command names. */
static int run_view(struct cli *cli)
{
	if (strcmp(cli->command, "maps") == 0)
		return maps_run(cli);
	if (strcmp(cli->command, "users") == 0)
		return users_run(cli);
	if (strcmp(cli->command, "libs") == 0)
		return libs_run(cli);
	if (strcmp(cli->command, "system") == 0)
		return system_run(cli);
	if (strcmp(cli->command, "freed") == 0)
		return freed_run(cli);
	if (strcmp(cli->command, "tree") == 0)
		return tree_run(cli);
	if (strcmp(cli->command, "groups") == 0)
		return groups_run(cli);
	if (strcmp(cli->command, "shm") == 0)
		return shm_run(cli);
	return ps_run(cli);
}

int main(int argc, char **argv)
{
	struct cli cli;
	int rc;

	setlocale(LC_ALL, "");
	rc = cli_parse(argc, argv, &cli);

	if (rc < 0)
		rc = run_view(&cli);
	cli_free(&cli);
	return rc;
}
