/* memledger serve: the metrics of export over HTTP, for Prometheus to scrape. */
#ifndef MEMLEDGER_SERVE_H
#define MEMLEDGER_SERVE_H

#include "cli.h"

/* The address serve listens on without --listen: loopback only. */
#define SERVE_DEFAULT_LISTEN "127.0.0.1:9781"

/* Reads the ledger every --interval seconds (the page ledger every --exact-interval with
 * --exact) and serves the latest reading at /metrics until SIGINT or SIGTERM; with
 * --textfile DIR also writes DIR/memledger.prom at each reading. Returns an exit status:
 * 0 after a signal, 1 when it cannot listen or the first reading fails. */
int serve_run(struct cli *cli);

#endif
