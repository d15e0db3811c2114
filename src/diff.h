/* memledger diff A B: what changed between two snapshots, or a snapshot and live. */
#ifndef MEMLEDGER_DIFF_H
#define MEMLEDGER_DIFF_H

#include "cli.h"

/* Compares A and B (operands: snapshot paths or "live") per process (PID and start time),
 * per group (--by), per system row (--by system) or per mapping name (-p PID --mappings).
 * Returns an exit status. */
int diff_run(struct cli *cli);

#endif
