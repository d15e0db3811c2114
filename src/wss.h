/* memledger wss PID...: the working set, what each process touched in an interval. */
#ifndef MEMLEDGER_WSS_H
#define MEMLEDGER_WSS_H

#include "cli.h"

/* Clears the processes' Referenced bits, waits -i SECS (1), prints their REFERENCED (the
 * pages touched since) with RSS and PSS; with -c N, N windows one after another. Returns
 * an exit status. */
int wss_run(struct cli *cli);

#endif
