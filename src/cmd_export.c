/*
 * memledger export: the ledger as Prometheus metrics (the text exposition format), to
 * stdout or, with --textfile DIR, to DIR/memledger.prom for node_exporter's textfile
 * collector, written atomically.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "commands.h"
#include "run.h"
#include "memledger.h"
#include "file.h"
#include "metrics.h"
#include "procs.h"

int cmd_export(struct run *run)
{
	struct cli *cli = run->cli;
	int by = cli_group_key(cli->group_by);
	struct metrics_exact ex = {0};
	struct metrics m;
	char *text = NULL;
	size_t len = 0;
	FILE *f;
	int rc;

	if (cli->noperands) {
		cli_warn("export takes no operands: '%s'", cli->operands[0]);
		return EXIT_USAGE;
	}
	if (by < 0 || metrics_textfile_check(cli->textfile) != EXIT_OK)
		return EXIT_USAGE;
	rc = metrics_read(run, (enum ml_group_key)by, cli->exact, 0, &m);
	if (rc != EXIT_GO_ON)
		return rc;
	if (cli->exact && metrics_keep_exact(&m, &ex) < 0) {
		cli_warn("out of memory");
		metrics_free(&m);
		return EXIT_ERROR;
	}
	/* written whole, then out at once: a failed write's errno is the one said (user name
	 * lookups between a buffer's writes would change it) */
	if (!(f = open_memstream(&text, &len))) {
		cli_warn("out of memory");
		rc = EXIT_ERROR;
	} else {
		metrics_write(f, &m, &ex, cli->top ? cli->top : 20, false);
		if (fclose(f) != 0) {
			cli_warn("out of memory");
			rc = EXIT_ERROR;
		} else if (!cli->textfile) {
			FILE *out = out_stream(&cli->out);
			if (fwrite(text, 1, len, out) != len || fflush(out) != 0)
				out_failed(&cli->out, errno ? errno : EIO);
		} else if (metrics_textfile(cli->textfile, text, len) < 0) {
			rc = EXIT_ERROR;
		}
	}
	procs_report_unreadable(run, &m.scan);
	free(text);
	metrics_exact_free(&ex);
	metrics_free(&m);
	return rc == EXIT_GO_ON ? EXIT_OK : rc;
}
