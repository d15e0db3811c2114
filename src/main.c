/* memledger: the command-line tool. Parses options and hands over to a view. */
#include <locale.h>

#include "cli.h"
#include "maps.h"
#include "ps.h"
#include <string.h>

int main(int argc, char **argv)
{
	struct cli cli;
	int rc;

	setlocale(LC_ALL, "");
	rc = cli_parse(argc, argv, &cli);

	if (rc < 0)
		rc = strcmp(cli.command, "maps") == 0 ? maps_run(&cli) : ps_run(&cli);
	cli_free(&cli);
	return rc;
}
