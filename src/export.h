/* memledger export: the ledger as Prometheus metrics, for node_exporter's textfile collector. */
#ifndef MEMLEDGER_EXPORT_H
#define MEMLEDGER_EXPORT_H

#include "cli.h"

/* Writes the metrics in the text exposition format to stdout, or with --textfile DIR to
 * DIR/memledger.prom through a temporary name in DIR. Returns an exit status. */
int export_run(struct cli *cli);

#endif
