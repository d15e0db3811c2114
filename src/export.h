/* memledger export: the ledger as Prometheus metrics, for node_exporter's textfile collector. */
#ifndef MEMLEDGER_EXPORT_H
#define MEMLEDGER_EXPORT_H

#include <stddef.h>

#include "cli.h"

/* Writes the metrics (metrics.h) in the text exposition format to stdout, or with
 * --textfile DIR to DIR/memledger.prom. Returns an exit status. */
int export_run(struct cli *cli);

/* Writes text[0..len) to DIR/memledger.prom as the textfile collector needs it: whole or
 * not at all (file_write_atomic), mode 0644. Returns 0, or -errno after a message. */
int export_textfile(const char *dir, const char *text, size_t len);

/* Checks --textfile DIR before any work (NULL: none): an existing directory, and a
 * memledger.prom there that file_write_atomic may write. Returns EXIT_OK, or EXIT_USAGE
 * after a message. */
int export_textfile_check(const char *dir);

#endif
