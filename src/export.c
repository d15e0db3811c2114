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

#include "export.h"
#include "file.h"
#include "metrics.h"
#include "procs.h"

/* DIR/memledger.prom in path. Returns 0, or -ENAMETOOLONG after a message. */
static int textfile_name(const char *dir, char path[PATH_MAX])
{
	if ((size_t)snprintf(path, PATH_MAX, "%s/memledger.prom", dir) >= PATH_MAX) {
		cli_warn("--textfile: name too long: '%s'", dir);
		return -ENAMETOOLONG;
	}
	return 0;
}

int export_textfile_check(const char *dir)
{
	char path[PATH_MAX];
	struct stat st;
	const char *why;

	if (!dir)
		return EXIT_OK;
	why = !dir[0]                ? "is empty"
	      : stat(dir, &st) < 0   ? (errno == ENOENT ? "does not exist" : strerror(errno))
	      : !S_ISDIR(st.st_mode) ? "is not a directory"
	                             : NULL;
	if (why) {
		cli_warn("--textfile takes a directory: '%s': %s", dir, why);
		return EXIT_USAGE;
	}
	if (textfile_name(dir, path) < 0)
		return EXIT_USAGE;
	return file_check_output("--textfile", path);
}

int export_textfile(const char *dir, const char *text, size_t len)
{
	char path[PATH_MAX];

	if (textfile_name(dir, path) < 0)
		return -ENAMETOOLONG;
	/* the textfile collector must never read half a file; it reads as another user */
	return file_write_atomic(path, text, len, 0644);
}

int export_run(struct cli *cli)
{
	int by = grouping_key(cli->group_by);
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
	if (by < 0 || export_textfile_check(cli->textfile) != EXIT_OK)
		return EXIT_USAGE;
	rc = metrics_read(cli, (enum group_key)by, cli->exact, 0, &m);
	if (rc != EXIT_GO_ON)
		return rc;
	if (cli->exact && metrics_keep_exact(&m, &ex) < 0) {
		cli_warn("out of memory");
		metrics_free(&m);
		return EXIT_ERROR;
	}
	if (!cli->textfile) {
		metrics_write(stdout, &m, &ex, cli->top ? cli->top : 20, false);
	} else if (!(f = open_memstream(&text, &len))) {
		cli_warn("out of memory");
		rc = EXIT_ERROR;
	} else {
		metrics_write(f, &m, &ex, cli->top ? cli->top : 20, false);
		if (fclose(f) != 0) {
			cli_warn("out of memory");
			rc = EXIT_ERROR;
		} else if (export_textfile(cli->textfile, text, len) < 0) {
			rc = EXIT_ERROR;
		}
	}
	procs_report_unreadable(cli, &m.scan);
	free(text);
	metrics_exact_free(&ex);
	metrics_free(&m);
	return rc == EXIT_GO_ON ? EXIT_OK : rc;
}
