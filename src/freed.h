/* memledger freed PID...: what killing a set of processes would return. */
#ifndef MEMLEDGER_FREED_H
#define MEMLEDGER_FREED_H

#include "cli.h"
#include "memledger.h"

/*
 * Scans every process (whatever -p, -u, -P say: FREED and OWNED need to know who else
 * maps a page or an object) with needs, their shmem mappings, and with ML_NEED_PAGEMAP
 * their pages, and resolves them. With ML_NEED_PAGEMAP, says once on stderr when frame
 * numbers are hidden and the figures are lower bounds. Returns -1 to go on (s and *pg
 * to be freed), or an exit status after a message.
 */
int pages_scan(const struct cli *cli, unsigned needs, struct ml_scan *s, struct ml_pages **pg);

int freed_run(struct cli *cli);

#endif
