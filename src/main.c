/* memledger: the command-line tool. Parses options and hands over to a view. */
#include <locale.h>

#include "cli.h"
#include "ps.h"

int main(int argc, char **argv)
{
	struct cli cli;
	int rc;

	setlocale(LC_ALL, "");
	rc = cli_parse(argc, argv, &cli);

	if (rc < 0)
		rc = ps_run(&cli);
	cli_free(&cli);
	return rc;
}
