/*
 * memledger export: the ledger as Prometheus metrics (the text exposition format), to
 * stdout or, with --textfile DIR, to DIR/memledger.prom for node_exporter's textfile
 * collector, written atomically.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "export.h"
#include "metrics.h"
#include "procs.h"

int export_textfile(const char *dir, const char *text, size_t len)
{
	char path[PATH_MAX], tmp[PATH_MAX];
	size_t done = 0;
	int fd, rc = 0;

	if ((size_t)snprintf(path, sizeof(path), "%s/memledger.prom", dir) >= sizeof(path) ||
	    (size_t)snprintf(tmp, sizeof(tmp), "%s/.memledger.prom.XXXXXX", dir) >= sizeof(tmp)) {
		cli_warn("%s: name too long", dir);
		return -ENAMETOOLONG;
	}
	/* the textfile collector must never read half a file: a temporary name, then rename */
	fd = mkostemp(tmp, O_CLOEXEC);
	if (fd < 0) {
		rc = -errno;
		cli_warn("cannot write in %s: %s", dir, strerror(errno));
		return rc;
	}
	if (fchmod(fd, 0644) < 0) /* node_exporter reads it as another user */
		rc = -errno;
	while (rc == 0 && done < len) {
		ssize_t w = write(fd, text + done, len - done);
		if (w < 0 && errno != EINTR)
			rc = -errno;
		else if (w > 0)
			done += (size_t)w;
	}
	if (rc == 0 && fsync(fd) < 0)
		rc = -errno;
	if (rc < 0)
		cli_warn("cannot write %s: %s", tmp, strerror(-rc));
	if (close(fd) < 0 && rc == 0) {
		rc = -errno;
		cli_warn("cannot write %s: %s", tmp, strerror(-rc));
	}
	if (rc == 0 && rename(tmp, path) < 0) {
		rc = -errno;
		cli_warn("cannot rename %s to %s: %s", tmp, path, strerror(-rc));
	}
	if (rc < 0)
		unlink(tmp);
	return rc;
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
	if (by < 0)
		return EXIT_USAGE;
	rc = metrics_read(cli, (enum group_key)by, cli->exact, &m);
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
